"""What a numbered document, as published, says: its id, its place in a number sequence, what it billed.

Numbers are `<PREFIX>-<year>-<6 digits>`, one gapless sequence per prefix and
year: `INV` for invoices, `CN` for credit notes (CONTRACT.md §3.7). Recovery
after a restore reads the published documents back through these functions
and knows nothing else of their kind.
"""

import json
import re
from dataclasses import dataclass

from shared.contracts import Invoice

NUMBER = re.compile(r"^(?P<prefix>[A-Z]+)-(?P<year>[0-9]{4})-(?P<n>[0-9]{6})$")
LICENSE_CODES = ("license", "license_prorated")
PLAN_CODES = ("partner_plan", "partner_plan_prorated")


@dataclass(frozen=True, slots=True)
class Numbered:
    """A numbered document as it was published."""

    document_id: str
    number: str
    prefix: str
    year: int
    n: int
    value: bytes  # the record's value, byte for byte

    @property
    def sequence(self) -> tuple[str, int]:
        return self.prefix, self.year


def numbered(value: bytes) -> Numbered | None:
    """The document's id and number; None for a record that is not a numbered document."""
    try:
        body = json.loads(value)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    number, document_id = body.get("number"), body.get("invoice_id")
    found = NUMBER.match(number) if isinstance(number, str) else None
    if found is None or not isinstance(document_id, str):
        return None
    return Numbered(document_id, number, found["prefix"], int(found["year"]), int(found["n"]), value)


def billed_by(invoice: Invoice) -> list[tuple[str, str, str]]:
    """The (item, subject, month) an invoice billed: a channel's license month, a partner's plan month."""
    items = []
    for line in invoice.lines:
        if line.code in LICENSE_CODES and line.channel_id and line.service_month:
            items.append(("license", line.channel_id, line.service_month))
        elif line.code in PLAN_CODES and line.service_month:
            items.append(("plan", invoice.partner_id, line.service_month))
    return items
