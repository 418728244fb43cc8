#!/usr/bin/env bash
# Installs what is missing and starts the whole system: Kafka (KRaft), PostgreSQL,
# every topic, and the four services, then plays the demo month, whose last lines are
# portal sign-in links. Idempotent; `billing-stack stop` stops it.
source "$(dirname "$0")/bootstrap.sh"

say "starting the stack"
billing-stack start
billing-stack status
cat >&2 <<'HINT'

The system is up and keeps running (the demo month follows). Check it any time with:   .venv/bin/billing-stack status
Check the money (reconciliation):                              .venv/bin/python -m ops.reconcile
Print an invoice:              .venv/bin/python -m services.invoicing.render INV-2026-000001
A new portal sign-in link:     .venv/bin/billing portal link --partner acmePA   (or --client bobCL, --finance)
An API key:                    .venv/bin/billing keys create --partner acmePA
Stop everything (data is kept) with:                           .venv/bin/billing-stack stop
Logs are in .stack/logs/.
HINT
say "playing the demo month (it ends with a portal sign-in link for each demo partner and client, and finance)"
python -m demo
