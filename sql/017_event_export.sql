-- matchd schema v17: the export of committed events (docs/design.md, "Event export").
--
-- Each sink (the JetStream exporter, `nats`) has a durable position: the last journal row
-- whose events it delivered and had acknowledged. The journal is the outbox: the applier
-- deletes a journal row only once the tables hold it and every sink listed here is past it,
-- so a sink that falls behind (its broker down) keeps the rows it still needs, and catches
-- up from them after a restart of either side. A sink the daemon is started without is
-- removed at start, so it holds nothing back.
CREATE TABLE IF NOT EXISTS export_progress (
  sink           text    PRIMARY KEY,
  sequence       bigint  NOT NULL,  -- the last journal row (its last_sequence) delivered
  updated_at_us  bigint  NOT NULL
);
