"""schemathesis against the committed OpenAPI document and the running API: no server error, every
answer as its schema says, for a partner's key and for finance's."""

import asyncio
import sys
from pathlib import Path

from .test_browser import served

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / "docs" / "openapi" / "portal.json"
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")


async def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_schema(world, tmp_path):
    """Generated requests (valid and invalid) for every operation, as finance and as a partner."""
    partner = next(pid for pid, p in world.partners.items() if p["model"] == "partner_paid")
    async with served(world) as (base, _):
        for label in ("finance", f"partner:{partner}"):
            proc = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "schemathesis"), "run", str(SPEC), "--url", base,
                "-H", f"Authorization: Bearer {world.keys[label]}", "--checks", CHECKS,
                "--max-examples", "10", "--seed", "14", "--generation-database", "none", "--no-color",
                "--suppress-health-check", "all", "--report-dir", str(tmp_path),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
            out, _ = await asyncio.wait_for(proc.communicate(), 600)
            text = out.decode(errors="replace")
            (tmp_path / "schemathesis.txt").write_text(text)
            assert proc.returncode == 0, text[-6000:]
