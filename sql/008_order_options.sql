-- matchd schema v8: the order options (post_only, self-trade prevention, client_order_id),
-- why an order ended, and amends.
--
-- Each column is added with a constant default or none, which changes only the catalog,
-- not the rows: instant on a large table. Orders written before this version were placed
-- before self-trade prevention existed, so they read as stp 'none', which is what they
-- did.
--
-- reason: NULL while the status says it all; otherwise why the order ended
--   ('self_trade_prevention', 'would_take', 'price_band', 'max_notional'; more may be added, never renamed).
-- client_order_id: the client's own label (1-36 chars), NULL when none was given.
-- amended: true once the order was amended. An amend that sends an order to the back of
--   a level gives it a new created_sequence (its time priority), so that a restart
--   rebuilds the level in the new order; the primary key (order_id, created_sequence)
--   follows it, the row stays one row.
ALTER TABLE orders ADD COLUMN reason text;
ALTER TABLE orders ADD COLUMN stp text NOT NULL DEFAULT 'none'
  CHECK (stp IN ('cancel_taker', 'cancel_maker', 'cancel_both', 'none'));
ALTER TABLE orders ADD COLUMN post_only boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN amended boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN client_order_id text;
