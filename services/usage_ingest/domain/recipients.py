"""From a recipient's phone number to what billing needs of it: its country.

The number is personal data (§4.1): it is turned into an ISO 3166-1 country
code as soon as a status is read, and only the country travels on. Google's
libphonenumber metadata (the `phonenumbers` package) knows which calling codes
and leading digits belong to which country (+1 is the US, Canada and 23 more).
"""

import phonenumbers


def country_of(recipient_id: str) -> str | None:
    """The country of an E.164 number written without `+`, or None when it has none.

    A number whose calling code is shared and whose leading digits are unknown
    still gets the calling code's main country; a calling code that belongs to
    no country (+800, +882, …) or an unparsable number gives None, which
    prices at the rate card's default market.
    """
    try:
        number = phonenumbers.parse("+" + recipient_id)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if region is None or region == phonenumbers.UNKNOWN_REGION or region == "001":
        region = phonenumbers.region_code_for_country_code(number.country_code)
    if region in (None, phonenumbers.UNKNOWN_REGION, "001"):
        return None
    return region
