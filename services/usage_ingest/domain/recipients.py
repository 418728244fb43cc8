"""From a recipient's phone number to what billing needs of it: its country.

The number is personal data (§4.1): it is turned into an ISO 3166-1 country
code as soon as a status is read, and only the country travels on. Google's
libphonenumber metadata (the `phonenumbers` package) knows which calling codes
and leading digits belong to which country (+1 is the US, Canada and 23 more).
"""

import hashlib
import os

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

# libphonenumber's bounds on a national number: outside them `parse` refuses the number.
_MIN_NATIONAL, _MAX_NATIONAL = 2, 17

# Parsed countries of recent numbers on shared calling codes (a message's statuses repeat its
# recipient), keyed by a keyed hash: the number itself is never kept, and the key lives only in
# this process's memory. Bounded: emptied when full.
_CACHE_KEY = os.urandom(16)
_CACHE_MAX = 50_000
_parsed: dict[bytes, str | None] = {}


def country_of(recipient_id: str) -> str | None:
    """The country of an E.164 number written without `+`, or None when it has none.

    Most calling codes belong to one country (+49 is Germany whatever follows): for those the
    answer is read off the calling code without parsing the number, which is what `parse` and
    `region_code_for_number` would answer too, at a fraction of the cost (this runs for every
    status). Shared calling codes (+1, +7, +44, …) and anything unusual take the full path, once
    per number while it is recent.
    """
    # Calling codes never start with 0.
    plain = recipient_id.isascii() and recipient_id.isdigit() and recipient_id[:1] != "0"
    for length in (1, 2, 3) if plain else ():
        regions = COUNTRY_CODE_TO_REGION_CODE.get(int(recipient_id[:length]))
        if regions is not None:
            national = len(recipient_id) - length
            if len(regions) == 1 and regions[0] != "001" and _MIN_NATIONAL <= national <= _MAX_NATIONAL:
                return regions[0]
            break
    key = hashlib.blake2b(recipient_id.encode(), key=_CACHE_KEY, digest_size=16).digest()
    try:
        return _parsed[key]
    except KeyError:
        pass
    if len(_parsed) >= _CACHE_MAX:
        _parsed.clear()
    country = _parsed[key] = _parsed_country_of(recipient_id)
    return country


def _parsed_country_of(recipient_id: str) -> str | None:
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
