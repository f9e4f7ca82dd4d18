-- matchd schema v13: maker and taker fees on every trade (--fees).
--
-- In quote units at the instrument's price precision (value x 10^price_scale), as the
-- engine fixed them when the trade happened. Trades from before fees existed charged none.
-- A constant default makes this instant on a table of any size (no rewrite).
ALTER TABLE trades
  ADD COLUMN IF NOT EXISTS maker_fee bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS taker_fee bigint NOT NULL DEFAULT 0;
