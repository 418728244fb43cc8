# Sourced by up.sh and test.sh: makes a fresh machine ready to run the project.
# Installs only into the project (.venv) unless a system tool is missing and
# we are root on Debian, where apt-get brings Java, Maven or PostgreSQL.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31mxx %s\033[0m\n' "$*" >&2; exit 1; }

apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing $* with apt-get"
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        die "missing: $*. Install it (Debian: apt-get install $*) and run again."
    fi
}

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            PYTHON="$candidate"; break
        fi
    done
fi
[ -n "$PYTHON" ] || die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)."

command -v java >/dev/null || apt_install openjdk-17-jre-headless
# The portal's browser test drives Debian's Chromium (Playwright without a browser download).
[ -x /usr/bin/chromium ] || apt_install chromium
command -v mvn >/dev/null || apt_install maven
# javac runs the validator of the tests (tests/validator/MustangValidate.java) as a source file.
command -v javac >/dev/null || apt_install openjdk-17-jdk-headless
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || [ -n "${BILLING_STACK_PG_BIN:-}" ] \
    || apt_install postgresql

# Invoice documents (docs/invoicing.md, "Documents") and the portal's statements: WeasyPrint's Pango and HarfBuzz (its subsetter
# makes a PDF in milliseconds where fontTools takes a second), the invoice's font, and pdftoppm,
# with which the tests and people look at the pages.
doc_packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation2 poppler-utils)
missing_docs=()
for p in "${doc_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_docs+=("$p")
done
[ ${#missing_docs[@]} -eq 0 ] || apt_install "${missing_docs[@]}"
# The independent e-invoice validator (Mustang: veraPDF, the EN 16931 and XRechnung rules) in one
# shaded jar; its pom names a repository we cannot reach, so nothing transitive is resolved.
MUSTANG_JAR="${HOME}/.m2/repository/org/mustangproject/validator/2.25.0/validator-2.25.0-shaded.jar"
if [ ! -f "$MUSTANG_JAR" ]; then
    say "resolving the Mustang validator from Maven Central"
    mvn -q -B dependency:get -Dartifact=org.mustangproject:validator:2.25.0:jar:shaded -Dtransitive=false \
        >/dev/null || die "Maven could not resolve org.mustangproject:validator:2.25.0:jar:shaded"
fi
export BILLING_MUSTANG_JAR="$MUSTANG_JAR"

# Reinstall the venv's packages only when pyproject.toml changed.
stamp=".venv/.pyproject-sha256"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python packages into .venv"
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    echo "$want" > "$stamp"
fi
# Node packages (portal assets, axe-core, the AsyncAPI parser) from the lock file, again only
# when it changed; `npm ci` never resolves anew, so every machine gets the same versions.
command -v npm >/dev/null || apt_install nodejs npm
nstamp="node_modules/.package-lock-sha256"
nwant="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat "$nstamp" 2>/dev/null)" != "$nwant" ]; then
    say "installing Node packages into node_modules"
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
    echo "$nwant" > "$nstamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
