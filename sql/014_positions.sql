-- matchd schema v14: positions per (client, instrument), from the trades (docs/api.md,
-- "Positions and PnL").
--
-- The journal applier folds each trade into both sides' rows in the transaction that inserts
-- the trade, so a position holds exactly the trades of the trades table: none twice, none
-- missing, through crashes, restarts and outages. Amounts are exact integers (see
-- clearing/position.h): prices in price units (value x 10^price_scale), base in lots, quote
-- amounts in units of 10^-(price_scale + quantity_scale), fees in price units.
CREATE TABLE IF NOT EXISTS positions (
  client_id            text    NOT NULL,
  instrument           text    NOT NULL,
  base_lots            bigint  NOT NULL,
  quote_units          numeric NOT NULL,
  cost_units           numeric NOT NULL,  -- the open position's cost, signed like base
  realized_units       numeric NOT NULL,
  fee_units            numeric NOT NULL,
  bought_lots          numeric NOT NULL,
  sold_lots            numeric NOT NULL,
  trades               bigint  NOT NULL,
  updated_at_us        bigint  NOT NULL,
  last_trade_id        bigint  NOT NULL,
  PRIMARY KEY (client_id, instrument)
);

-- Whether `positions` holds every trade of `trades`. A database that had trades before this
-- migration starts incomplete: the daemon folds those trades once at its next start (it
-- needs the instruments' increments, which only it knows), before anything else is written.
CREATE TABLE IF NOT EXISTS positions_progress (
  id        integer PRIMARY KEY CHECK (id = 1),
  complete  boolean NOT NULL
);
INSERT INTO positions_progress (id, complete)
  SELECT 1, NOT EXISTS (SELECT 1 FROM trades) ON CONFLICT (id) DO NOTHING;
