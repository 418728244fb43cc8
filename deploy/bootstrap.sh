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
# The portal's browser test drives Debian's Chromium (Playwright without a browser download); its
# statement PDFs use WeasyPrint, which needs Pango.
[ -x /usr/bin/chromium ] || apt_install chromium
ldconfig -p 2>/dev/null | grep -q libpango-1.0 || apt_install libpango-1.0-0 libpangoft2-1.0-0
command -v mvn >/dev/null || apt_install maven
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || [ -n "${BILLING_STACK_PG_BIN:-}" ] \
    || apt_install postgresql

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
