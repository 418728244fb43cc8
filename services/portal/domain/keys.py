"""API keys: high-entropy, prefixed so a leaked one is recognisable, stored only as a SHA-256.

A key reads `wab_live_<key id>_<secret>`: the key id (public, shown in lists and
usable to revoke) and 32 random bytes. SHA-256 suffices for a key of that
entropy (no password stretching is needed: nobody can guess 256 bits).
"""

import hashlib
import re
import secrets
from dataclasses import dataclass

PREFIX = "wab_live_"
_SHAPE = re.compile(r"wab_live_(key_[0-9a-f]{12})_[A-Za-z0-9_-]{43}")
_ID_SHAPE = re.compile(r"key_[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    key: str  # shown once, never stored

    @property
    def hash(self) -> bytes:
        return hash_key(self.key)


def new_key() -> NewKey:
    key_id = f"key_{secrets.token_hex(6)}"
    return NewKey(key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}")


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def key_id_of(key_or_id: str) -> str | None:
    """The key id named by a whole key or by the id alone; None when it is neither."""
    whole = _SHAPE.fullmatch(key_or_id)
    if whole:
        return whole.group(1)
    return key_or_id if _ID_SHAPE.fullmatch(key_or_id) else None


def looks_like_key(text: str) -> bool:
    return _SHAPE.fullmatch(text) is not None
