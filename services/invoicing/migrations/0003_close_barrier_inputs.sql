-- A close's barrier also counts the directory and the rate cards as they ended
-- when the close was asked: a status that arrived before its channel or its rate
-- card is held, and is settled when usage ingest reads them, so the close waits
-- until both services have read those too (docs/invoicing.md, "The barrier").
ALTER TABLE closes
    ADD COLUMN directory_offsets jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN ratecard_offsets  jsonb NOT NULL DEFAULT '{}';
