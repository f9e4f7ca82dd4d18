-- matchd schema v12: candles, and trades by time.
--
-- One row per (instrument, interval, bucket) that had trades, for the intervals of
-- GET /candles. The journal applier adds each trade to its seven buckets in the same
-- transaction that inserts the trade, so a candle holds exactly the trades of the trades
-- table: never one twice, none missing, across restarts, crashes and outages. Sums are
-- numeric: volume in lots, quote volume in ticks x lots, the sum of prices in ticks (for the
-- average price); exact however long the history. open/close are the prices of the
-- bucket's first and last trade in trade_id order.
CREATE TABLE IF NOT EXISTS candles (
  instrument      text    NOT NULL,
  interval_s      integer NOT NULL CHECK (interval_s IN (1, 60, 300, 900, 3600, 14400, 86400)),
  open_time_us    bigint  NOT NULL,
  open_ticks      bigint  NOT NULL,
  high_ticks      bigint  NOT NULL,
  low_ticks       bigint  NOT NULL,
  close_ticks     bigint  NOT NULL,
  volume_lots     numeric NOT NULL,
  quote_volume    numeric NOT NULL,
  price_sum_ticks numeric NOT NULL,
  trades          bigint  NOT NULL CHECK (trades > 0),
  first_trade_id  bigint  NOT NULL,
  last_trade_id   bigint  NOT NULL,
  PRIMARY KEY (instrument, interval_s, open_time_us)
);

-- GET /trades?start_time=&end_time=, and the sub-second edges of GET /analytics/stats.
CREATE INDEX IF NOT EXISTS trades_instrument_time ON trades (instrument, executed_at_us);

-- A database that already holds trades gets their candles now; the applier adds the rest.
-- Buckets floor the time since the epoch (aligned to UTC), also before 1970. Only the 1 s
-- candles read the trades; each coarser interval sums the next finer one's candles (every
-- interval is a whole number of the finer one), which reads a fraction of the rows: with
-- 10 million trades, 3.5 million 1 s candles instead of the trades six more times.
INSERT INTO candles
SELECT t.instrument, 1, b.open_time_us,
       (array_agg(t.price_ticks ORDER BY t.trade_id))[1],
       max(t.price_ticks), min(t.price_ticks),
       (array_agg(t.price_ticks ORDER BY t.trade_id DESC))[1],
       sum(t.quantity_lots), sum(t.price_ticks::numeric * t.quantity_lots),
       sum(t.price_ticks), count(*), min(t.trade_id), max(t.trade_id)
FROM trades t
CROSS JOIN LATERAL (
  SELECT t.executed_at_us - ((t.executed_at_us % 1000000) + 1000000) % 1000000 AS open_time_us) b
GROUP BY t.instrument, b.open_time_us;

DO $$
DECLARE
  step record;
BEGIN
  FOR step IN SELECT * FROM (VALUES (1, 60), (60, 300), (300, 900), (900, 3600), (3600, 14400),
                                    (14400, 86400)) AS v(finer, coarser) LOOP
    INSERT INTO candles
    SELECT c.instrument, step.coarser, b.open_time_us,
           (array_agg(c.open_ticks ORDER BY c.first_trade_id))[1],
           max(c.high_ticks), min(c.low_ticks),
           (array_agg(c.close_ticks ORDER BY c.last_trade_id DESC))[1],
           sum(c.volume_lots), sum(c.quote_volume), sum(c.price_sum_ticks), sum(c.trades),
           min(c.first_trade_id), max(c.last_trade_id)
    FROM candles c
    CROSS JOIN LATERAL (
      SELECT c.open_time_us - ((c.open_time_us % (step.coarser * 1000000::bigint))
                               + step.coarser * 1000000::bigint)
                              % (step.coarser * 1000000::bigint) AS open_time_us) b
    WHERE c.interval_s = step.finer
    GROUP BY c.instrument, b.open_time_us;
  END LOOP;
END $$;
