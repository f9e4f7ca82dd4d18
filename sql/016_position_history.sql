-- matchd schema v16: each position at the end of every UTC minute it changed in, for
-- GET /positions/{client_id}/pnl (docs/api.md, "GET /positions/{client_id}/pnl").
--
-- Written by the journal applier in the transaction that inserts the trades and updates
-- `positions`, so the history holds each trade once, like the positions. A minute's row is the
-- position after the minute's last trade (a later chunk of the same minute replaces it). The
-- PnL at the end of any bucket of 1 m or longer (all whole minutes, aligned to UTC) is the
-- newest row before the bucket's end, valued at the close of the newest 1 m candle before it.
-- Amounts as in `positions`.
CREATE TABLE IF NOT EXISTS position_history (
  client_id       text    NOT NULL,
  instrument      text    NOT NULL,
  minute_us       bigint  NOT NULL,  -- the minute's open time
  base_lots       bigint  NOT NULL,
  cost_units      numeric NOT NULL,
  realized_units  numeric NOT NULL,
  fee_units       numeric NOT NULL,
  PRIMARY KEY (client_id, instrument, minute_us)
);

-- Positions that already hold trades have no history for them: marking the positions
-- incomplete makes the next start fold every trade again (store::complete_positions), which
-- writes the history as it goes.
UPDATE positions_progress SET complete = false WHERE EXISTS (SELECT 1 FROM trades);
