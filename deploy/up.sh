#!/usr/bin/env bash
# Installs what is missing and starts the whole system: Kafka (KRaft), PostgreSQL,
# every topic, and the three services. Idempotent; `billing-stack stop` stops it.
source "$(dirname "$0")/bootstrap.sh"

say "starting the stack"
billing-stack start
billing-stack status
say "playing the demo month"
python -m demo
cat >&2 <<'HINT'

The system is up and keeps running. Check it any time with:   .venv/bin/billing-stack status
Check the money (reconciliation):                              .venv/bin/python -m ops.reconcile
Print an invoice:              .venv/bin/python -m services.invoicing.render INV-2026-000001
Stop everything (data is kept) with:                           .venv/bin/billing-stack stop
Logs are in .stack/logs/.
HINT
