#!/bin/sh
# Run once by the postgres image on an empty data folder (/docker-entrypoint-initdb.d).
# The roles are deploy/security/postgres-roles.sql's (one login role per service, owning
# its own schema and nothing else; billing_reconcile reads the three); this only gives
# each its password from deploy/.env. The services create their tables themselves
# (migrations at start-up).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f /billing/postgres-roles.sql
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v pw_usage_ingest="$DB_PASSWORD_USAGE_INGEST" \
    -v pw_balance="$DB_PASSWORD_BALANCE" \
    -v pw_invoicing="$DB_PASSWORD_INVOICING" \
    -v pw_portal="$DB_PASSWORD_PORTAL" \
    -v pw_reconcile="$DB_PASSWORD_RECONCILE" <<'SQL'
ALTER ROLE billing_usage_ingest PASSWORD :'pw_usage_ingest';
ALTER ROLE billing_balance PASSWORD :'pw_balance';
ALTER ROLE billing_invoicing PASSWORD :'pw_invoicing';
ALTER ROLE billing_portal PASSWORD :'pw_portal';
ALTER ROLE billing_reconcile PASSWORD :'pw_reconcile';
SQL
