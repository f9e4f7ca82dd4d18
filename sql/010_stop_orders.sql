-- matchd schema v10: stop orders (stop_market, stop_limit).
--
-- Both columns are added with a constant default or none: a catalog change, instant on a
-- large table. The type column keeps the order's kind once triggered ('market' or
-- 'limit'); a row with a stop_price_ticks is a stop order of that kind.
--
-- stop_price_ticks: the stop price in ticks, NULL for other orders.
-- triggered: true once the stop's trigger came. A stop that triggers is given a new
--   created_sequence (its time priority from the trigger, as an amend's), so that a
--   restart rebuilds its level in the right order; the row stays one row.
ALTER TABLE orders ADD COLUMN stop_price_ticks bigint CHECK (stop_price_ticks > 0);
ALTER TABLE orders ADD COLUMN triggered boolean NOT NULL DEFAULT false;
