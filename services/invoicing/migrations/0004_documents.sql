-- The documents of every invoice and credit note (docs/invoicing.md, "Documents"): made by a
-- background step from a queue written in the transaction that records the invoice, stored once
-- under (invoice_id, format) and never changed; the close of a month is done when its invoices
-- have theirs.

CREATE TABLE documents (
    invoice_id uuid        NOT NULL,
    format     text        NOT NULL CHECK (format IN ('pdf', 'cii', 'xrechnung')),
    filename   text        NOT NULL,
    media_type text        NOT NULL,
    content    bytea       NOT NULL,
    sha256     text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size       int         NOT NULL CHECK (size = octet_length(content)),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (invoice_id, format)
);

-- Issued documents are immutable (GoBD): a row is written once and never updated or deleted.
CREATE FUNCTION documents_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'invoice documents are immutable (% of invoice %)', OLD.format, OLD.invoice_id;
END $$;
CREATE TRIGGER documents_are_immutable BEFORE UPDATE OR DELETE ON documents
    FOR EACH ROW EXECUTE FUNCTION documents_are_immutable();

-- Invoices whose documents are still to be made; a row leaves in the transaction that stores them.
CREATE TABLE documents_pending (
    invoice_id uuid        PRIMARY KEY,
    queued_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO documents_pending (invoice_id) SELECT invoice_id FROM invoices;

-- A recipient's postal address and invoice e-mail, when the Hub sends them with the billing address
-- (fields beyond contract 1.1): §14 UStG wants the address on the invoice, XRechnung its city and
-- postal code.
CREATE TABLE recipient_addresses (
    recipient_type text NOT NULL CHECK (recipient_type IN ('partner', 'client')),
    recipient_id   text NOT NULL,
    street         text,
    postcode       text,
    city           text,
    email          text,
    PRIMARY KEY (recipient_type, recipient_id)
);

-- A close whose invoices are issued waits in `documents` until each of them has its documents.
ALTER TABLE closes DROP CONSTRAINT closes_state_check;
ALTER TABLE closes ADD CONSTRAINT closes_state_check
    CHECK (state IN ('barrier', 'debits', 'ledger', 'documents', 'done'));
