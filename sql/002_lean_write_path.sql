-- matchd schema v2: fewer indexes on the durable write path.
--
-- Every acknowledged order costs one orders row and at least one order_events row, written
-- inside the commit the client waits for, so each index on them is paid per order. These
-- two were on no read path of the API (the daemon answers reads from memory and recovery
-- reads orders by status): a random-order text index on orders.client_id, and the text
-- (order_id, sequence) key of order_events, whose sequence alone is unique because every
-- event takes its own number of the global sequence.
DROP INDEX IF EXISTS orders_client;

ALTER TABLE order_events DROP CONSTRAINT order_events_pkey;
DROP INDEX IF EXISTS order_events_sequence;
ALTER TABLE order_events ADD PRIMARY KEY (sequence);
