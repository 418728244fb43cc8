-- Who sees what, enforced by PostgreSQL as well as by every query (docs/portal.md, "Who sees what").
--
-- The API runs each request's transaction as `billing_portal_reader`: a role that owns nothing,
-- cannot bypass row-level security and logs in nowhere; the service's own role switches to it with
-- `set_config('role', …, true)` and sets the principal with `set_config('portal.kind' / 'portal.id',
-- …, true)`, both for that transaction only. FORCE applies the policies to the tables' owner too.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'billing_portal_reader') THEN
        CREATE ROLE billing_portal_reader NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database on the server created it at the same moment
END
$$;
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'billing_portal_reader', 'MEMBER') THEN
        EXECUTE format('GRANT billing_portal_reader TO %I', current_user);
    END IF;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO billing_portal_reader', current_schema());
END
$$;

-- Finance sees every row; a partner the rows of its partner id; a client those of its client id.
-- Without a principal (a connection that did not set one) nothing is visible.
CREATE FUNCTION visible(row_partner text, row_client text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE current_setting('portal.kind', true)
        WHEN 'finance' THEN true
        WHEN 'partner' THEN row_partner IS NOT NULL AND row_partner = current_setting('portal.id', true)
        WHEN 'client' THEN row_client IS NOT NULL AND row_client = current_setting('portal.id', true)
        ELSE false
    END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['partners', 'clients', 'channels', 'balances', 'usage_days', 'invoices',
                             'invoice_documents', 'balance_events', 'payments', 'topup_requests', 'markups',
                             'dead_letters', 'months', 'reconciliation_runs']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY reader_sees_own ON %I FOR SELECT TO billing_portal_reader '
                       'USING (visible(partner_id, client_id))', t);
        -- The service's own role (the consumers building the model) sees and writes every row.
        EXECUTE format('CREATE POLICY model_writer ON %I TO %I USING (true) WITH CHECK (true)', t, current_user);
        EXECUTE format('GRANT SELECT ON %I TO billing_portal_reader', t);
    END LOOP;
END
$$;

-- What the API writes as the reader: top-up requests and markups, only for what it may see.
CREATE POLICY reader_asks_own ON topup_requests FOR INSERT TO billing_portal_reader
    WITH CHECK (visible(partner_id, client_id));
CREATE POLICY reader_sets_own ON markups FOR INSERT TO billing_portal_reader
    WITH CHECK (current_setting('portal.kind', true) = 'partner' AND visible(partner_id, client_id));
CREATE POLICY reader_changes_own ON markups FOR UPDATE TO billing_portal_reader
    USING (visible(partner_id, client_id))
    WITH CHECK (current_setting('portal.kind', true) = 'partner' AND visible(partner_id, client_id));
CREATE POLICY reader_removes_own ON markups FOR DELETE TO billing_portal_reader
    USING (current_setting('portal.kind', true) = 'partner' AND visible(partner_id, client_id));
GRANT INSERT ON topup_requests TO billing_portal_reader;
GRANT INSERT, UPDATE, DELETE ON markups TO billing_portal_reader;
-- The top-up command goes out through the outbox, in the request's transaction.
GRANT INSERT ON outbox TO billing_portal_reader;
GRANT SELECT ON model_state TO billing_portal_reader;
