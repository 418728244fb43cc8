"""`python -m services.asyncapi [--check]`: the AsyncAPI document of each service, from its code.

Writes docs/asyncapi/<service>.json and one browsable page of the three,
docs/asyncapi/index.html (`services.asyncapi_html`). With --check, writes
nothing and exits 1 naming each file that no longer matches the code (CI runs
it as a test). The documents are AsyncAPI 3.0 that the official parser
accepts (tests/asyncapi/validate.mjs, run by tests/unit/test_asyncapi_parser.py).
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faststream.asgi import AsgiFastStream

from shared.contracts import adapter_for

from services.asyncapi_html import render_page
from services.balance.app import create_app as balance_app
from services.invoicing.app import create_app as invoicing_app
from services.portal.app import create_app as portal_app
from services.usage_ingest.app import create_app as usage_ingest_app

DOCS = Path(__file__).resolve().parents[1] / "docs" / "asyncapi"
FACTORIES: dict[str, Callable[[], AsgiFastStream]] = {
    "usage-ingest": usage_ingest_app,
    "balance": balance_app,
    "invoicing": invoicing_app,
    "portal": portal_app,  # type: ignore[dict-item]  (its frame's broker and schema are the AsyncAPI app's)
}


def document(factory: Callable[[], AsgiFastStream]) -> dict[str, Any]:
    doc = with_contract_payloads(same_names(factory().schema.to_specification().to_jsonable()))
    return with_asyncapi_discriminators(doc, doc["components"]["schemas"])


def same_names(doc: dict[str, Any]) -> dict[str, Any]:
    """Name every consumed channel `<topic>:consume`. A subscriber of several topics cannot take a
    title per topic, so FastStream names its channels after the function (`<topic>:Consume`)."""
    return json.loads(json.dumps(doc).replace(":Consume", ":consume"))


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


def with_asyncapi_discriminators(node: Any, schemas: dict[str, Any]) -> Any:
    """Turn pydantic's OpenAPI discriminator objects into AsyncAPI's: the property name.

    An AsyncAPI 3.0 Schema Object's `discriminator` is a string, and the
    official parser refuses `{"propertyName", "mapping"}`. The mapping can go
    because each member of the union names its own value in that property
    (pydantic's `Literal` becomes `const` or `enum`); checked here so that a
    model whose members do not would fail the build rather than lose it.
    """
    if isinstance(node, list):
        return [with_asyncapi_discriminators(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: with_asyncapi_discriminators(value, schemas) for key, value in node.items()}
    found = out.get("discriminator")
    if isinstance(found, dict) and "propertyName" in found:
        for value, ref in found.get("mapping", {}).items():
            member = schemas[ref.rsplit("/", 1)[1]].get("properties", {}).get(found["propertyName"], {})
            if value != member.get("const") and value not in member.get("enum", ()):
                raise ValueError(f"{ref} does not declare {found['propertyName']}={value!r}")
        out["discriminator"] = found["propertyName"]
    return out


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def files() -> dict[str, str]:
    """Every generated file of docs/asyncapi/ by name, with its content."""
    docs = {name: document(factory) for name, factory in FACTORIES.items()}
    out = {f"{name}.json": render(doc) for name, doc in docs.items()}
    out["index.html"] = render_page(docs)
    return out


def stale() -> list[str]:
    """The files whose committed content differs from what the code generates."""
    return [name for name, text in files().items()
            if not (DOCS / name).exists() or (DOCS / name).read_text() != text]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        names = stale()
        for name in names:
            print(f"docs/asyncapi/{name} differs from the code: run python -m services.asyncapi",
                  file=sys.stderr)
        return 1 if names else 0
    DOCS.mkdir(parents=True, exist_ok=True)
    for name, text in files().items():
        (DOCS / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
