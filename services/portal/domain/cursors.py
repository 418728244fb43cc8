"""Opaque cursors for lists (CONTRACT.md §6): where the previous page ended, in base64url JSON.

A cursor holds the sort key of the last row served; the next page starts
after it. It is opaque to clients and checked on the way in: anything that
is not one of ours is `invalid_cursor`, never a server error.
"""

import base64
import binascii
import json
from typing import Any

MIN_LIMIT, MAX_LIMIT, DEFAULT_LIMIT = 1, 100, 50


class CursorError(ValueError):
    """A cursor that this API did not write."""


def encode_cursor(kind: str, key: list[Any]) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, arity: int) -> list[Any]:
    """The sort key in `cursor`, which must have been written for a list of `kind` with `arity` values."""
    if len(cursor) > 512:
        raise CursorError("the cursor is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("the cursor is not one this API wrote") from None
    if (not isinstance(value, list) or len(value) != arity + 1 or value[0] != kind
            or not all(isinstance(v, str) and len(v) <= 128 for v in value[1:])):
        raise CursorError(f"the cursor does not belong to this list ({kind})")
    return value[1:]
