"""The seller on every document, from settings; refused while anything EN 16931 or §14 UStG needs is missing."""

import json
from dataclasses import dataclass, fields

from shared.settings import SellerSettings


class SellerIncomplete(ValueError):
    """A field of the seller is missing: no document can be issued."""


@dataclass(frozen=True, slots=True)
class Seller:
    name: str
    street: str
    postcode: str
    city: str
    country: str
    vat_id: str
    tax_number: str
    commercial_register: str
    register_id: str
    managing_directors: str
    contact_name: str
    contact_phone: str
    contact_email: str
    bank_name: str
    iban: str
    bic: str
    payment_terms_days: int


def from_settings(settings: SellerSettings) -> Seller:
    """The seller, or SellerIncomplete naming every missing field and the variable that sets it."""
    values = settings.model_dump()
    missing = [f.name for f in fields(Seller) if values.get(f.name) in (None, "")]
    if missing:
        names = ", ".join(f"BILLING_INVOICING_SELLER__{m.upper()}" for m in missing)
        raise SellerIncomplete(f"the seller's {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                               f"missing: set {names} (docs/configuration.md)")
    return Seller(**{f.name: values[f.name] for f in fields(Seller)})


# A fictional German company for the local stack, the demo and the tests (never a real one).
EXAMPLE_SELLER = Seller(
    name="Example Messaging GmbH", street="Friedrichstraße 123", postcode="10117", city="Berlin",
    country="DE", vat_id="DE999999999", tax_number="37/123/45678", commercial_register="Amtsgericht Berlin "
    "(Charlottenburg), HRB 999999 B", register_id="HRB 999999 B", managing_directors="Erika Mustermann",
    contact_name="Max Mustermann", contact_phone="+49 30 1234567", contact_email="billing@example.com",
    bank_name="Example Bank AG", iban="DE02120300000000202051", bic="BYLADEM1001", payment_terms_days=14)


def example_env() -> dict[str, str]:
    """The fictional seller as the one variable that sets it (for the local stack and test processes)."""
    return {"BILLING_INVOICING_SELLER": json.dumps({f.name: getattr(EXAMPLE_SELLER, f.name)
                                                    for f in fields(Seller)})}
