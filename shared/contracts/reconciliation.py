"""`billing.internal.reconciliation.v1`: the result of one run of the reconciliation.

Internal (not in CONTRACT.md): written by the reconciler (`ops/reconcile_metrics.py`, and
`billing reconcile --publish`), read by the portal's finance view. One record per run; the
newest `ran_at` is the state.
"""

from typing import Annotated

from pydantic import Field, NonNegativeInt, StringConstraints

from shared.contracts.base import ContractModel, Id, UtcDateTime


class CheckResult(ContractModel):
    """One invariant of money and whether it held."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(description="The invariant.")
    ok: bool = Field(description="Whether it holds.")
    problems: NonNegativeInt = Field(description="How many problems were found.")
    examples: list[Annotated[str, StringConstraints(max_length=512)]] = Field(
        default_factory=list, max_length=5, description="The first problems, for people.")


class ReconciliationRan(ContractModel):
    """Every check of one reconciliation run."""

    run_id: Id = Field(description="The run; unique.")
    ran_at: UtcDateTime = Field(description="When it completed.")
    checks: list[CheckResult] = Field(description="Each invariant's result.")
