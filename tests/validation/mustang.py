"""Mustang's validator (veraPDF for PDF/A-3, the EN 16931 and XRechnung Schematron rules) on many files
in one JVM: tests/validator/MustangValidate.java, run as a source file against the shaded jar that
deploy/bootstrap.sh resolves."""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "validator" / "MustangValidate.java"
DEFAULT_JAR = Path.home() / ".m2/repository/org/mustangproject/validator/2.25.0/validator-2.25.0-shaded.jar"


@dataclass(frozen=True)
class Verdict:
    path: str
    statuses: list[str]  # every <summary status=…> of the report: all "valid" when the file is
    errors: list[str]

    @property
    def valid(self) -> bool:
        return bool(self.statuses) and all(s == "valid" for s in self.statuses)


def jar() -> Path:
    path = Path(os.environ.get("BILLING_MUSTANG_JAR") or DEFAULT_JAR)
    if not path.is_file():
        raise FileNotFoundError(f"the Mustang validator is not at {path}: run `bash deploy/test.sh` (its set-up "
                                "resolves org.mustangproject:validator:2.25.0:jar:shaded) or set BILLING_MUSTANG_JAR")
    return path


def validate(files: list[tuple[Path, bool]], timeout_s: float = 900) -> dict[str, Verdict]:
    """(path, outside_scope) → each file's verdict; category O needs the arithmetic check off (2.25.0 throws)."""
    lines = "".join(f"{'no-arithmetic' + chr(9) if o else ''}{p}\n" for p, o in files)
    done = subprocess.run(["java", "-cp", str(jar()), str(PROGRAM)], input=lines, capture_output=True, text=True,
                          timeout=timeout_s, check=True)
    verdicts = {}
    for line in done.stdout.splitlines():
        path, _, report = line.partition("\t")
        verdicts[path] = Verdict(path, re.findall(r'<summary status="(\w+)"', report),
                                 re.findall(r"<error[^>]*>(.*?)</error>", report) or
                                 ([report] if report.startswith("ERROR") else []))
    return verdicts
