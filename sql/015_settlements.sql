-- matchd schema v15: end-of-day settlements (docs/api.md, "Settlements").
--
-- A settlement nets every client's trades in [previous_cutoff, cutoff) by trade time, per
-- instrument. It is written once and never changed: one row here, one row per (client,
-- instrument) that traded in the window in settlement_entries.
CREATE TABLE IF NOT EXISTS settlements (
  settlement_id       bigint PRIMARY KEY,     -- 1, 2, ... in cutoff order
  cutoff_us           bigint NOT NULL UNIQUE,
  previous_cutoff_us  bigint,                 -- null: the first, from the first trade
  created_at_us       bigint NOT NULL
);

-- Amounts in the units of sql/014_positions.sql. The window's figures (net_*, fee_units,
-- bought/sold, trades, realized_units) and the position at the cutoff (closing_*), which the
-- next settlement starts the pair from.
CREATE TABLE IF NOT EXISTS settlement_entries (
  settlement_id                bigint  NOT NULL REFERENCES settlements,
  client_id                    text    NOT NULL,
  instrument                   text    NOT NULL,
  net_base_lots                bigint  NOT NULL,
  net_quote_units              numeric NOT NULL,
  fee_units                    numeric NOT NULL,
  bought_lots                  numeric NOT NULL,
  sold_lots                    numeric NOT NULL,
  trades                       bigint  NOT NULL,
  realized_units               numeric NOT NULL,
  closing_base_lots            bigint  NOT NULL,
  closing_quote_units          numeric NOT NULL,
  closing_cost_units           numeric NOT NULL,
  closing_realized_units       numeric NOT NULL,
  closing_fee_units            numeric NOT NULL,
  closing_bought_lots          numeric NOT NULL,
  closing_sold_lots            numeric NOT NULL,
  closing_trades               bigint  NOT NULL,
  closing_updated_at_us        bigint  NOT NULL,
  closing_last_trade_id        bigint  NOT NULL,
  PRIMARY KEY (settlement_id, client_id, instrument)
);
-- Each pair's position at the newest settlement it has an entry in: where its next entry
-- starts (one row a pair, so a settlement reads as many rows as there are pairs, however
-- many settlements came before). Columns as sql/014_positions.sql's.
CREATE TABLE IF NOT EXISTS settlement_closings (
  instrument           text    NOT NULL,
  client_id            text    NOT NULL,
  settlement_id        bigint  NOT NULL REFERENCES settlements,
  base_lots            bigint  NOT NULL,
  quote_units          numeric NOT NULL,
  cost_units           numeric NOT NULL,
  realized_units       numeric NOT NULL,
  fee_units            numeric NOT NULL,
  bought_lots          numeric NOT NULL,
  sold_lots            numeric NOT NULL,
  trades               bigint  NOT NULL,
  updated_at_us        bigint  NOT NULL,
  last_trade_id        bigint  NOT NULL,
  PRIMARY KEY (instrument, client_id)
);
