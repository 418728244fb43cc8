"""JSON Schemas of the contract topics, generated from the models into docs/schemas/.

The schemas are for the teams on the other side of the contract, who do not
read Python; generating them keeps them from drifting from what the services
actually accept. `--check` (run by the tests) fails when the committed files
are stale.

    python -m shared.contracts.schemas            # (re)write docs/schemas/
    python -m shared.contracts.schemas --check    # exit 1 if any file differs
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from shared.contracts.registry import ADAPTERS

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"
SCHEMA_SUFFIX = ".schema.json"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_filename(topic: str) -> str:
    """The file that holds the schema of `topic`."""
    return f"{topic}{SCHEMA_SUFFIX}"


def render_schemas() -> dict[str, str]:
    """File name → file content, one JSON Schema per registered topic."""
    rendered: dict[str, str] = {}
    for topic, adapter in ADAPTERS.items():
        schema = adapter.json_schema(mode="validation")
        schema["$schema"] = _DIALECT
        schema["title"] = topic
        # sort_keys and a fixed indent make the output byte-stable, so --check can compare bytes.
        rendered[schema_filename(topic)] = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return rendered


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema into `directory`; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of the files in `directory` that are missing, differ, or belong to no topic."""
    expected = render_schemas()
    stale = []
    for name, text in expected.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    if directory.is_dir():
        stale.extend(p.name for p in directory.glob(f"*{SCHEMA_SUFFIX}") if p.name not in expected)
    return sorted(stale)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m shared.contracts.schemas", description="Write or check docs/schemas/<topic>.schema.json."
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/schemas differs from the models")
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR, help="schema directory (default: docs/schemas)")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_schemas(args.dir)
        for name in stale:
            print(f"{args.dir / name}: differs from the models", file=sys.stderr)
        if stale:
            print("run `python -m shared.contracts.schemas` to regenerate", file=sys.stderr)
            return 1
        return 0
    for path in write_schemas(args.dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
