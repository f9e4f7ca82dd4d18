-- matchd schema v1. Amounts are integers in the instrument's ticks and lots, as the
-- engine holds them; notional (price ticks x quantity lots) is numeric because it can
-- exceed 64 bits. Timestamps are microseconds since the Unix epoch, UTC.

-- Current state of every order ever accepted (one row per order).
CREATE TABLE orders (
  order_id          text    PRIMARY KEY,
  client_id         text    NOT NULL,
  instrument        text    NOT NULL,
  side              text    NOT NULL CHECK (side IN ('buy', 'sell')),
  type              text    NOT NULL CHECK (type IN ('limit', 'market')),
  time_in_force     text    NOT NULL CHECK (time_in_force IN ('gtc', 'ioc', 'fok')),
  status            text    NOT NULL
                    CHECK (status IN ('open', 'partially_filled', 'filled', 'cancelled', 'rejected')),
  price_ticks       bigint  NOT NULL,  -- 0 for market orders
  quantity_lots     bigint  NOT NULL CHECK (quantity_lots > 0),
  filled_lots       bigint  NOT NULL CHECK (filled_lots >= 0 AND filled_lots <= quantity_lots),
  notional          numeric NOT NULL,
  created_at_us     bigint  NOT NULL,
  updated_at_us     bigint  NOT NULL,
  created_sequence  bigint  NOT NULL,  -- time priority within a price level
  sequence          bigint  NOT NULL   -- the command that last changed the order
);
-- Recovery reads the resting orders in priority order.
CREATE INDEX orders_resting ON orders (instrument, created_sequence)
  WHERE status IN ('open', 'partially_filled');
CREATE INDEX orders_client ON orders (client_id, created_sequence);

-- Every state change of every order, append-only, in sequence order.
CREATE TABLE order_events (
  sequence       bigint NOT NULL,
  order_id       text   NOT NULL,
  status         text   NOT NULL,
  filled_lots    bigint NOT NULL,
  notional       numeric NOT NULL,
  updated_at_us  bigint NOT NULL,
  PRIMARY KEY (order_id, sequence)
);
CREATE INDEX order_events_sequence ON order_events (sequence);

CREATE TABLE trades (
  trade_id        bigint PRIMARY KEY,
  instrument      text   NOT NULL,
  price_ticks     bigint NOT NULL,
  quantity_lots   bigint NOT NULL CHECK (quantity_lots > 0),
  aggressor_side  text   NOT NULL CHECK (aggressor_side IN ('buy', 'sell')),
  buy_order_id    text   NOT NULL,
  sell_order_id   text   NOT NULL,
  buy_client_id   text   NOT NULL,
  sell_client_id  text   NOT NULL,
  executed_at_us  bigint NOT NULL,
  sequence        bigint NOT NULL
);
-- GET /trades: newest first per instrument.
CREATE INDEX trades_instrument ON trades (instrument, trade_id DESC);
CREATE INDEX trades_buy_order ON trades (buy_order_id);
CREATE INDEX trades_sell_order ON trades (sell_order_id);

-- The first response to each (client_id, idempotency_key), so retries get it again.
CREATE TABLE idempotency_keys (
  client_id        text   NOT NULL,
  idempotency_key  text   NOT NULL,
  fingerprint      bigint NOT NULL,  -- normalized request hash (codec, "matchd.order.v1")
  sequence         bigint NOT NULL,
  order_id         text   NOT NULL,
  response         text   NOT NULL,
  created_at_us    bigint NOT NULL,
  PRIMARY KEY (client_id, idempotency_key)
);

-- Aggregated book levels at a sequence, for operators and audits.
CREATE TABLE book_snapshots (
  snapshot_id    bigserial PRIMARY KEY,
  instrument     text   NOT NULL,
  sequence       bigint NOT NULL,
  taken_at_us    bigint NOT NULL,
  book           jsonb  NOT NULL
);
CREATE INDEX book_snapshots_instrument ON book_snapshots (instrument, sequence DESC);

-- Where the engine stood at the last commit: written in every batch's transaction, so
-- after a failed COMMIT the writer can tell whether the batch landed.
CREATE TABLE engine_progress (
  id             int    PRIMARY KEY CHECK (id = 1),
  last_sequence  bigint NOT NULL,
  last_trade_id  bigint NOT NULL
);
INSERT INTO engine_progress VALUES (1, 0, 0);
