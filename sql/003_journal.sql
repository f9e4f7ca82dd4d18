-- matchd schema v3: the journal is the durable unit of a commit.
--
-- The writer commits each group of commands as one journal row (the group's order states
-- and trades in a compact binary body, store/journal.h) together with engine_progress and
-- the idempotency keys, and only then acknowledges. The journal applier turns the rows into
-- the orders, order_events and trades rows afterwards, in sequence order, each row exactly
-- once: the rows it applied, journal_progress and the deletion of those journal rows share
-- one transaction. On start-up matchd applies what is left before it reads the tables.
CREATE TABLE journal (
  last_sequence  bigint PRIMARY KEY,  -- the group's last sequence number
  body           bytea  NOT NULL
);
-- The bodies are dense binary: compressing them costs CPU on the commit path for little.
ALTER TABLE journal ALTER COLUMN body SET STORAGE EXTERNAL;

-- How far the tables go: every journal row up to applied_sequence is in them. A separate
-- row from engine_progress so the applier never holds a lock the writer waits for.
CREATE TABLE journal_progress (
  id                int    PRIMARY KEY CHECK (id = 1),
  applied_sequence  bigint NOT NULL
);
-- Tables written before this migration are complete up to the last commit.
INSERT INTO journal_progress SELECT 1, last_sequence FROM engine_progress WHERE id = 1;
