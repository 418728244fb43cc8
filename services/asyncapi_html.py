"""The AsyncAPI documents of the services as one static, browsable HTML page.

`python -m services.asyncapi` writes docs/asyncapi/index.html with the JSON
documents, from the same dicts. The page needs no network and no script: per
service, what it consumes and publishes (topic, description, payload), then
every message schema as a table of fields, with anchors to link to. Output
depends only on the documents (keys sorted), so `--check` can compare it.
"""

import html
import json
import re
from collections.abc import Mapping
from typing import Any

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1b1f24;line-height:1.45}
header{background:#0b3d2e;color:#fff;padding:1rem 2rem}header a{color:#cfe}
main{padding:1rem 2rem;max-width:75rem}nav ul{columns:3;padding-left:1.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code{background:#f6f8fa;padding:0 .2rem;border-radius:3px}
.receive{color:#0a5a2a;font-weight:600}.send{color:#0b4a8a;font-weight:600}
h2{border-bottom:2px solid #0b3d2e;padding-bottom:.2rem;margin-top:2.5rem}h4{margin-bottom:.2rem}
.muted{color:#57606a}
""".strip()


def anchor(service: str, kind: str, name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{service}--{kind}--{name}")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


def type_of(schema: Mapping[str, Any], service: str) -> str:
    """A field's type in words, with links to the schemas it refers to (HTML)."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f'<a href="#{anchor(service, "schema", name)}">{_e(name)}</a>'
    if "const" in schema:
        return f"<code>{_e(json.dumps(schema['const']))}</code>"
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{_e(v)}</code>" for v in schema["enum"])
    for union in ("anyOf", "oneOf"):
        if union in schema:
            parts = [type_of(s, service) for s in schema[union]]
            return " or ".join(dict.fromkeys(parts))
    kind = schema.get("type")
    if kind == "array":
        return "list of " + type_of(schema.get("items", {}), service)
    if kind == "object" and "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        return "map of " + type_of(schema["additionalProperties"], service)
    text = _e(kind or "any")
    extras = [f"format {schema['format']}" if "format" in schema else "",
              f"pattern <code>{_e(schema['pattern'])}</code>" if "pattern" in schema else "",
              f"≥ {schema['minimum']}" if "minimum" in schema else ""]
    extras = [x for x in extras if x]
    return text + (f' <span class="muted">({"; ".join(extras)})</span>' if extras else "")


def _description(schema: Mapping[str, Any]) -> str:
    return _e(schema.get("description", "")).replace("\n", "<br>")


def render_schema(service: str, name: str, schema: Mapping[str, Any]) -> str:
    out = [f'<h4 id="{anchor(service, "schema", name)}"><code>{_e(name)}</code></h4>']
    if schema.get("description"):
        out.append(f"<p>{_description(schema)}</p>")
    properties = schema.get("properties")
    if properties:
        required = set(schema.get("required", ()))
        out.append("<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>")
        for field in sorted(properties):
            prop = properties[field]
            out.append(f"<tr><td><code>{_e(field)}</code></td><td>{type_of(prop, service)}</td>"
                       f"<td>{'yes' if field in required else ''}</td><td>{_description(prop)}</td></tr>")
        out.append("</table>")
    else:
        out.append(f"<p>{type_of(schema, service)}</p>")
    return "\n".join(out)


def render_service(service: str, doc: Mapping[str, Any]) -> str:
    info = doc["info"]
    out = [f'<h2 id="{anchor(service, "service", "")}">{_e(info["title"])} <span class="muted">'
           f'(<code>{_e(service)}</code>, version {_e(info["version"])})</span></h2>',
           f"<p>{_description(info)}</p>",
           "<h3>Operations</h3>",
           "<table><tr><th>topic</th><th>the service</th><th>description</th><th>payload</th></tr>"]
    channels, messages = doc.get("channels", {}), doc.get("components", {}).get("messages", {})
    for name in sorted(doc.get("operations", {})):
        operation = doc["operations"][name]
        channel = channels[_ref_name(operation["channel"]["$ref"])]
        action = {"receive": "consumes", "send": "publishes"}.get(operation["action"], operation["action"])
        payloads = []
        for ref in channel.get("messages", {}).values():
            payload = messages[_ref_name(ref["$ref"])].get("payload", {})
            payloads.append(type_of(payload, service))
        out.append(f'<tr id="{anchor(service, "operation", name)}"><td><code>{_e(channel["address"])}</code></td>'
                   f'<td class="{_e(operation["action"])}">{action}</td><td>{_description(channel)}</td>'
                   f"<td>{'<br>'.join(payloads)}</td></tr>")
    out.append("</table>")
    servers = doc.get("servers", {})
    if servers:
        listed = ", ".join(f"<code>{_e(s.get('protocol', ''))}://{_e(s.get('host', ''))}</code> ({_e(n)})"
                           for n, s in sorted(servers.items()))
        out.append(f'<p class="muted">Servers in the document: {listed} (set by '
                   f"<code>BILLING_KAFKA_BOOTSTRAP_SERVERS</code> in a deployment).</p>")
    out.append("<h3>Schemas</h3>")
    schemas = doc.get("components", {}).get("schemas", {})
    out += [render_schema(service, n, schemas[n]) for n in sorted(schemas)]
    return "\n".join(out)


def render_page(docs: Mapping[str, Mapping[str, Any]]) -> str:
    """One page for every service's document, in the order given."""
    toc = "".join(f'<li><a href="#{anchor(s, "service", "")}">{_e(d["info"]["title"])}</a> '
                  f'(<a href="{_e(s)}.json">{_e(s)}.json</a>)</li>' for s, d in docs.items())
    body = "\n".join(render_service(s, d) for s, d in docs.items())
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>Billing services: AsyncAPI</title>\n"
        f"<style>\n{STYLE}\n</style>\n</head>\n<body>\n"
        "<header><h1>Billing services: AsyncAPI</h1>\n"
        "<p>Generated from the code by <code>python -m services.asyncapi</code>; do not edit. "
        "The binding contract is CONTRACT.md; these documents are what the services implement.</p></header>\n"
        f"<main>\n<nav><ul>{toc}</ul></nav>\n{body}\n</main>\n</body>\n</html>\n"
    )
