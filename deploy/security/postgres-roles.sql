-- PostgreSQL roles per service: each owns its own schema and can touch nothing else.
--
-- Run once per database (and again after adding a service), as a superuser or as the
-- database's owner holding CREATEROLE, e.g.
--     psql "$ADMIN_DSN" -v ON_ERROR_STOP=1 -f deploy/security/postgres-roles.sql
-- It is idempotent. It sets no passwords: give each role its own from your secret store,
--     ALTER ROLE billing_balance PASSWORD '...';
-- and hand it to that service only (BILLING_DB_USER / BILLING_DB_PASSWORD, or a file, see
-- docs/security.md).
--
--   billing_usage_ingest  owns schema usage_ingest  (services/usage_ingest)
--   billing_balance       owns schema balance       (services/balance)
--   billing_invoicing     owns schema invoicing     (services/invoicing)
--   billing_portal        owns schema portal        (services/portal)
--   billing_portal_reader owns nothing, no BYPASSRLS, no login: the portal's API runs each request's
--                         transaction as it (row-level security; services/portal/migrations/0003)
--   billing_reconcile     reads every table of the three, writes nothing (ops/reconcile.py)
--
-- The services never read each other's schema (balance and invoicing meet through Kafka:
-- billing.internal.ledger-*); only the reconciliation reads across them.

DO $$
DECLARE
    svc record;
    obj record;
BEGIN
    FOR svc IN SELECT * FROM (VALUES ('billing_usage_ingest', 'usage_ingest'),
                                     ('billing_balance', 'balance'),
                                     ('billing_invoicing', 'invoicing'),
                                     ('billing_portal', 'portal')) AS t(role, schema)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = svc.role) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', svc.role);
        END IF;
        -- A non-superuser running this must be a member to hand objects over to the role.
        IF NOT pg_has_role(current_user, svc.role, 'MEMBER') THEN
            EXECUTE format('GRANT %I TO %I', svc.role, current_user);
        END IF;
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), svc.role);
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc.schema, svc.role);
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', svc.schema, svc.role);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', svc.schema);
        -- A schema migrated before the roles existed (by a shared role): its objects change hands.
        -- (Sequences of identity or serial columns follow their table; only free ones are listed.)
        FOR obj IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = svc.schema AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                     AND pg_get_userbyid(c.relowner) <> svc.role
                     AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                     AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
                   ORDER BY c.relkind = 'S', c.relname
        LOOP
            EXECUTE format('ALTER %s %I.%I OWNER TO %I',
                           CASE obj.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                            WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                           svc.schema, obj.relname, svc.role);
        END LOOP;
    END LOOP;

    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'billing_portal_reader') THEN
        CREATE ROLE billing_portal_reader NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    END IF;
    GRANT billing_portal_reader TO billing_portal;

    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'billing_reconcile') THEN
        CREATE ROLE billing_reconcile LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO billing_reconcile', current_database());
    FOR svc IN SELECT * FROM (VALUES ('billing_usage_ingest', 'usage_ingest'),
                                     ('billing_balance', 'balance'),
                                     ('billing_invoicing', 'invoicing')) AS t(role, schema)
    LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO billing_reconcile', svc.schema);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO billing_reconcile', svc.schema);
        -- and every table the service's migrations create later
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT ON TABLES '
                       'TO billing_reconcile', svc.role, svc.schema);
    END LOOP;

    -- Nobody else connects or creates anything by default.
    EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
END
$$;
