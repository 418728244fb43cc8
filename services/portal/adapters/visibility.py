"""Who sees what, as a condition in every query (the first of two guards; RLS is the second).

`QueryFilters.where` adds "this row belongs to the principal" to a query, by
the row's partner and client columns. The tenant-isolation test swaps in
`NoQueryFilters` (every condition TRUE) to prove that row-level security
alone still keeps every principal to its own rows.
"""

from typing import Any

from ..domain.principals import Principal


class QueryFilters:
    def where(self, principal: Principal, partner_col: str, client_col: str, args: list[Any]) -> str:
        """A SQL condition over the two columns; its parameters are appended to `args`."""
        if principal.kind == "finance":
            return "TRUE"
        args.append(principal.id)
        column = partner_col if principal.kind == "partner" else client_col
        return f"{column} = ${len(args)}"


class NoQueryFilters(QueryFilters):
    """A test double: the queries filter nothing, so only row-level security stands between tenants."""

    def where(self, principal: Principal, partner_col: str, client_col: str, args: list[Any]) -> str:
        return "TRUE"
