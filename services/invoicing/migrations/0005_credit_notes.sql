-- Credit notes (CONTRACT.md §3.5 `invoice.credit`, §3.7 `credit_note`). A credit
-- note is an invoice (table `invoices`, kind credit_note) with a number of its
-- own sequence; these tables hold what it credited and what is left to credit.

-- CN-<year>-<6 digits>: one sequence per year, moved in the transaction that
-- records the credit note, like invoice_numbers.
CREATE TABLE credit_note_numbers (
    year int PRIMARY KEY,
    last int NOT NULL
);

-- What each credit note took off each line of the invoice it corrects.
CREATE TABLE credit_lines (
    credit_note_id uuid NOT NULL REFERENCES invoices (invoice_id),
    invoice_id     uuid NOT NULL REFERENCES invoices (invoice_id),
    line           int  NOT NULL CHECK (line >= 0),       -- 0-based position on the corrected invoice
    amount         numeric(20, 2) NOT NULL CHECK (amount > 0),
    PRIMARY KEY (credit_note_id, line)
);
CREATE INDEX credit_lines_invoice ON credit_lines (invoice_id, line);

-- Per line of a corrected invoice, what it invoiced and what every credit note
-- so far took off it. Two credit notes of one line update the same row, one
-- after the other, and the CHECK refuses the one that would credit more than
-- was invoiced, whatever the code above it does.
CREATE TABLE line_credits (
    invoice_id uuid NOT NULL REFERENCES invoices (invoice_id),
    line       int  NOT NULL,
    invoiced   numeric(20, 2) NOT NULL,
    credited   numeric(20, 2) NOT NULL,
    PRIMARY KEY (invoice_id, line),
    CHECK (credited > 0 AND credited <= invoiced)
);

-- invoice.credit commands naming an invoice not recorded yet (a restore that
-- replays the commands before the closes that re-issue the invoices), held
-- until it is, or dead-lettered as unknown_invoice after the hold time.
CREATE TABLE held_credits (
    topic      text   NOT NULL,
    partition  int    NOT NULL,
    "offset"   bigint NOT NULL,
    key        bytea,
    value      bytea  NOT NULL,
    invoice_id text   NOT NULL,
    held_at    timestamptz NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
);
CREATE INDEX held_credits_invoice ON held_credits (invoice_id);

-- A close also waits until balance has booked the credits published before it
-- (docs/invoicing.md, "The barrier").
ALTER TABLE closes ADD COLUMN credit_offsets jsonb NOT NULL DEFAULT '{}';
