-- matchd schema v4: the retention horizon (--retention).
--
-- An order_id is refused while its order is open or finished within the horizon; after it,
-- the id may be used again, and an idempotency key too. The tables keep the history, so
-- one id or key may now have several rows, and neither may be a primary key on its own.
--
-- orders: one row per order, keyed by the id and the sequence that created it. The
-- applier's UPDATE of a changed order picks the row that is still open (there is at most
-- one: an id is refused while its order is open).
ALTER TABLE orders DROP CONSTRAINT orders_pkey;
ALTER TABLE orders ADD PRIMARY KEY (order_id, created_sequence);
-- Recovery reads the orders finished within the horizon, oldest first, without a scan of
-- the whole history.
CREATE INDEX orders_finished ON orders (updated_at_us)
  WHERE status NOT IN ('open', 'partially_filled');

-- idempotency_keys: one row per first use; the first use's sequence is unique. Recovery
-- reads the keys first used within the horizon, oldest first.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (sequence);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at_us);
