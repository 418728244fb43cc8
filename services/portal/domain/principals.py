"""Who is asking: a partner, a client, or finance (CONTRACT.md §6).

A partner sees itself, its clients, their channels and every balance and
invoice of theirs; a client its own channels, their balances and its own
invoices; finance everything. The same rule is written three times on
purpose: here for people, in every query (`adapters/visibility.py`) and in
PostgreSQL's row-level security (`migrations/0003_row_level_security.sql`).
"""

from dataclasses import dataclass
from typing import Literal

Kind = Literal["partner", "client", "finance"]
KINDS: tuple[Kind, ...] = ("partner", "client", "finance")


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Kind
    id: str | None = None  # None for finance

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown principal kind {self.kind!r}")
        if (self.kind == "finance") != (self.id is None):
            raise ValueError("a partner or client principal has an id; finance has none")

    @property
    def label(self) -> str:
        """`partner:acmePA`, `client:bobCL` or `finance`: how logs and top-up requests name it."""
        return "finance" if self.id is None else f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, label: str) -> "Principal":
        if label == "finance":
            return cls("finance")
        kind, _, ident = label.partition(":")
        if kind not in ("partner", "client") or not ident:
            raise ValueError(f"not a principal: {label!r}")
        return cls(kind, ident)  # type: ignore[arg-type]

    def sees(self, partner_id: str | None, client_id: str | None) -> bool:
        """Whether a row owned by this partner (and client) is visible."""
        if self.kind == "finance":
            return True
        if self.kind == "partner":
            return partner_id is not None and partner_id == self.id
        return client_id is not None and client_id == self.id
