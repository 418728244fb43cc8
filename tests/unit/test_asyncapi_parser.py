"""The AsyncAPI documents are valid AsyncAPI 3.0 for the official parser, @asyncapi/parser."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from services.asyncapi import DOCS, with_asyncapi_discriminators

ROOT = Path(__file__).resolve().parents[2]
VALIDATE = "tests/asyncapi/validate.mjs"
PARSER = ROOT / "node_modules" / "@asyncapi" / "parser" / "package.json"


def run_parser(*documents: Path) -> subprocess.CompletedProcess[str]:
    """tests/asyncapi/validate.mjs on the documents, with the parser the lock file pins."""
    node = shutil.which("node")
    assert node, "node is not on PATH: `bash deploy/test.sh` installs it (deploy/bootstrap.sh)"
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/@asyncapi/parser"]
    assert PARSER.is_file(), "node_modules/@asyncapi/parser is missing: run `bash deploy/test.sh` (npm ci)"
    installed = json.loads(PARSER.read_text())["version"]
    assert installed == locked["version"], f"@asyncapi/parser {installed} is not the locked {locked['version']}: run `npm ci`"
    paths = [str(d.relative_to(ROOT)) if d.is_relative_to(ROOT) else str(d) for d in documents]
    return subprocess.run([node, VALIDATE, *paths], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_official_parser_finds_no_error_in_any_committed_asyncapi_document():
    """Every docs/asyncapi/*.json, a future service's included, parses without an error diagnostic."""
    documents = sorted(DOCS.glob("*.json"))
    assert documents, f"no AsyncAPI document in {DOCS}"
    result = run_parser(*documents)
    assert result.returncode == 0, f"@asyncapi/parser refuses:\n{result.stdout}{result.stderr}"


def test_the_validator_fails_a_document_with_an_openapi_style_discriminator(tmp_path: Path):
    """The script exits non-zero and names the file and the rule, so the test above can fail."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({
        "asyncapi": "3.0.0", "info": {"title": "t", "version": "1"},
        "components": {"schemas": {"U": {"oneOf": [{"type": "object"}],
                                         "discriminator": {"propertyName": "type"}}}},
    }))
    result = run_parser(bad)
    assert result.returncode == 1
    assert f"{bad}: " in result.stdout and '"discriminator" property type must be string' in result.stdout


def test_discriminator_objects_become_the_property_name_asyncapi_expects():
    """pydantic's {propertyName, mapping} becomes "type" when each member declares its own value."""
    schemas = {"A": {"properties": {"type": {"const": "a"}}}, "B": {"properties": {"type": {"enum": ["b", "c"]}}}}
    union = {"oneOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}],
             "discriminator": {"propertyName": "type", "mapping": {
                 "a": "#/components/schemas/A", "b": "#/components/schemas/B", "c": "#/components/schemas/B"}}}
    assert with_asyncapi_discriminators({"x": [union]}, schemas)["x"][0]["discriminator"] == "type"


def test_a_mapping_that_its_members_do_not_declare_is_refused_rather_than_dropped():
    """Dropping the mapping would lose which value selects which member, so generation stops."""
    schemas = {"A": {"properties": {"type": {"type": "string"}}}}
    union = {"oneOf": [{"$ref": "#/components/schemas/A"}],
             "discriminator": {"propertyName": "type", "mapping": {"a": "#/components/schemas/A"}}}
    with pytest.raises(ValueError, match="A does not declare type='a'"):
        with_asyncapi_discriminators(union, schemas)
