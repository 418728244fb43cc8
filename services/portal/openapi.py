"""`python -m services.portal.openapi [--check]`: the API's OpenAPI 3.1 document, from the code.

Writes docs/openapi/portal.json; with --check, writes nothing and exits 1 when
the committed file no longer matches the code (CI runs it as a test). The
same document is served at /v1/openapi.json.
"""

import json
import sys
from pathlib import Path
from typing import Any

from shared.settings import PortalSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "portal.json"


def document() -> dict[str, Any]:
    from .api.app import create_api
    from .api.context import Context

    def no_pool():
        raise RuntimeError("the document needs no database")

    return create_api(Context(no_pool, PortalSettings())).openapi()


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale() -> bool:
    return not DOC.exists() or DOC.read_text() != render(document())


def main(argv: list[str]) -> int:
    if "--check" in argv:
        if stale():
            print("docs/openapi/portal.json differs from the code: run python -m services.portal.openapi",
                  file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(document()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
