-- matchd schema v9: a client's orders by creation, for GET /orders?status=all.
--
-- The page query reads a client's rows backwards from a created_sequence cursor
-- (store/history_reader.cpp). Schema v2 dropped this index when the rows were written inside
-- the commit a client waits for; since v3 the journal applier writes them after the
-- acknowledgement, so the index costs the applier, not the order path.
CREATE INDEX IF NOT EXISTS orders_client ON orders (client_id, created_sequence);
