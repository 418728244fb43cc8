#!/usr/bin/env bash
# Installs what is missing and starts the whole system: Kafka (KRaft), PostgreSQL,
# every topic, and the three services. Idempotent; `billing-stack stop` stops it.
source "$(dirname "$0")/bootstrap.sh"

say "starting the stack"
billing-stack start
billing-stack status
cat >&2 <<'HINT'

The system is up. Check it any time with:   .venv/bin/billing-stack status
Stop everything (data is kept) with:        .venv/bin/billing-stack stop
Logs are in .stack/logs/.
HINT
