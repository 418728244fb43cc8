"""The committed JSON Schemas in docs/schemas/ match the models."""

import json
from pathlib import Path

import pytest

from shared.contracts import ADAPTERS
from shared.contracts.schemas import SCHEMA_DIR, main, render_schemas, schema_filename, stale_schemas

RENDERED = render_schemas()


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_committed_schema_equals_what_the_models_generate(name: str) -> None:
    """A stale schema file fails with the command that regenerates it."""
    path = SCHEMA_DIR / name
    assert path.is_file(), f"{path} is missing: run `python -m shared.contracts.schemas`"
    assert path.read_text(encoding="utf-8") == RENDERED[name], (
        f"{path} differs from the models: run `python -m shared.contracts.schemas`"
    )


def test_there_is_exactly_one_schema_file_per_registered_topic() -> None:
    """Every topic in the registry has its file, and no file belongs to an unknown topic."""
    assert set(RENDERED) == {schema_filename(topic) for topic in ADAPTERS}
    committed = {p.name for p in SCHEMA_DIR.glob("*.schema.json")}
    assert committed == set(RENDERED), "run `python -m shared.contracts.schemas` and delete stray files"


def test_rendering_is_stable_and_ends_with_a_newline() -> None:
    """Two renders are byte-identical, sorted, and end in a newline, so diffs stay quiet."""
    again = render_schemas()
    for name, text in RENDERED.items():
        assert again[name] == text
        assert text.endswith("}\n")
        assert json.loads(text)["title"] == name.removesuffix(".schema.json")


def test_amounts_are_described_as_strings_in_the_schema() -> None:
    """Readers of the schema see amounts as decimal strings, not numbers."""
    payments = json.loads(RENDERED[schema_filename("billing.payments.v1")])
    amount = payments["$defs"]["PaymentSucceeded"]["properties"]["amount"]
    assert amount["type"] == "string" and "pattern" in amount


def test_check_reports_every_file_of_a_missing_directory_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """--check names each file that differs and fails."""
    missing = Path(__file__).parent / "no-such-schema-dir"
    assert stale_schemas(missing) == sorted(RENDERED)
    assert main(["--check", "--dir", str(missing)]) == 1
    err = capsys.readouterr().err
    assert all(name in err for name in RENDERED)
    assert "python -m shared.contracts.schemas" in err


def test_check_passes_on_the_committed_directory() -> None:
    """--check succeeds when docs/schemas is up to date."""
    assert main(["--check"]) == 0
