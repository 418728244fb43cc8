"""`python -m services.asyncapi [--check]`: the AsyncAPI document of each service, from its code.

Writes docs/asyncapi/<service>.json. With --check, writes nothing and exits 1
naming each document that no longer matches the code (CI runs it as a test).
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faststream.asgi import AsgiFastStream

from shared.contracts import adapter_for

from services.balance.app import create_app as balance_app
from services.invoicing.app import create_app as invoicing_app
from services.usage_ingest.app import create_app as usage_ingest_app

DOCS = Path(__file__).resolve().parents[1] / "docs" / "asyncapi"
FACTORIES: dict[str, Callable[[], AsgiFastStream]] = {
    "usage-ingest": usage_ingest_app,
    "balance": balance_app,
    "invoicing": invoicing_app,
}


def document(factory: Callable[[], AsgiFastStream]) -> dict[str, Any]:
    return with_contract_payloads(factory().schema.to_specification().to_jsonable())


def with_contract_payloads(doc: dict[str, Any]) -> dict[str, Any]:
    """Give each consumed topic its contract model as payload.

    The subscribers take raw records (they validate against the contract
    themselves, so that a bad record becomes a dead letter rather than a
    handler error), so FastStream cannot infer their payload: it comes from
    the same registry that validates them.
    """
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("EmptyPayload", None)
    for name, message in doc["components"].get("messages", {}).items():
        if not name.endswith(":consume:SubscribeMessage"):
            continue
        topic = name.removesuffix(":consume:SubscribeMessage")
        schema = adapter_for(topic).json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        title = f"{topic}:payload"
        schemas[title] = {"title": title, **schema}
        message["payload"] = {"$ref": f"#/components/schemas/{title}"}
    return doc


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale() -> list[str]:
    """The services whose committed document differs from what the code generates."""
    out = []
    for name, factory in FACTORIES.items():
        path = DOCS / f"{name}.json"
        if not path.exists() or path.read_text() != render(document(factory)):
            out.append(name)
    return out


def main(argv: list[str]) -> int:
    if "--check" in argv:
        names = stale()
        for name in names:
            print(f"docs/asyncapi/{name}.json differs from the code: run python -m services.asyncapi",
                  file=sys.stderr)
        return 1 if names else 0
    DOCS.mkdir(parents=True, exist_ok=True)
    for name, factory in FACTORIES.items():
        (DOCS / f"{name}.json").write_text(render(document(factory)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
