#!/bin/sh
# Run once by the postgres image on an empty data folder (/docker-entrypoint-initdb.d).
# One login role per service, owning its own schema and nothing else; the
# reconciler may only read the three schemas. Passwords come from deploy/.env.
# The services create their tables themselves (migrations at start-up).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v db="$POSTGRES_DB" \
    -v pw_usage_ingest="$DB_PASSWORD_USAGE_INGEST" \
    -v pw_balance="$DB_PASSWORD_BALANCE" \
    -v pw_invoicing="$DB_PASSWORD_INVOICING" \
    -v pw_reconciler="$DB_PASSWORD_RECONCILER" <<'SQL'
REVOKE CREATE ON DATABASE :"db" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE ROLE billing_usage_ingest LOGIN PASSWORD :'pw_usage_ingest';
CREATE ROLE billing_balance LOGIN PASSWORD :'pw_balance';
CREATE ROLE billing_invoicing LOGIN PASSWORD :'pw_invoicing';
CREATE ROLE billing_reconciler LOGIN PASSWORD :'pw_reconciler';

CREATE SCHEMA usage_ingest AUTHORIZATION billing_usage_ingest;
CREATE SCHEMA balance AUTHORIZATION billing_balance;
CREATE SCHEMA invoicing AUTHORIZATION billing_invoicing;

-- The reconciler reads every schema, now and the tables the services create later.
GRANT USAGE ON SCHEMA usage_ingest, balance, invoicing TO billing_reconciler;
ALTER DEFAULT PRIVILEGES FOR ROLE billing_usage_ingest IN SCHEMA usage_ingest GRANT SELECT ON TABLES TO billing_reconciler;
ALTER DEFAULT PRIVILEGES FOR ROLE billing_balance IN SCHEMA balance GRANT SELECT ON TABLES TO billing_reconciler;
ALTER DEFAULT PRIVILEGES FOR ROLE billing_invoicing IN SCHEMA invoicing GRANT SELECT ON TABLES TO billing_reconciler;
SQL
