-- matchd schema v19: webhooks (docs/api.md, "Webhooks").
--
-- A webhook is a URL, the event types it wants and, for a trader's, the client whose events
-- they are. The webhook dispatcher (a sink of export_progress, `webhooks`) turns each
-- committed event into one delivery per matching webhook, in the transaction that moves its
-- position, so a delivery is created exactly once. Deliveries are sent at least once: a
-- delivery is `pending` until a 2xx answers it (`delivered`), or until its retry horizon
-- passes (`dead`); a manual retry makes a dead one pending again with a new horizon.
CREATE TABLE IF NOT EXISTS webhooks (
  webhook_id     bigint  PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  url            text    NOT NULL,
  events         text[]  NOT NULL,
  client_id      text,             -- NULL: every client's events (an admin's webhook)
  secret         text    NOT NULL, -- the HMAC key; shown once, when it is made
  created_by     text,             -- the key_id that made it, NULL without --auth keys
  created_at_us  bigint  NOT NULL,
  deleted_at_us  bigint            -- no deliveries after it; the row stays for the deliveries
);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
  delivery_id      bigint  PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  webhook_id       bigint  NOT NULL REFERENCES webhooks,
  event_id         text    NOT NULL,  -- evt_<sequence> (the event's sequence number)
  event_type       text    NOT NULL,
  body             text    NOT NULL,  -- the exact bytes POSTed, signed at each attempt
  status           text    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts         integer NOT NULL DEFAULT 0,
  created_at_us    bigint  NOT NULL,
  horizon_from_us  bigint  NOT NULL,  -- retries end 24 h (--webhook-retry-horizon) after it
  next_attempt_us  bigint  NOT NULL,
  last_attempt_us  bigint,
  last_status      integer,           -- the HTTP status of the last attempt, NULL: no answer
  last_error       text,
  delivered_at_us  bigint,
  UNIQUE (webhook_id, event_id)
);
-- Per endpoint, its oldest pending delivery: what the sender takes next (one at a time per
-- endpoint, in order).
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending
  ON webhook_deliveries (webhook_id, delivery_id) WHERE status = 'pending';
-- GET /webhooks/{id}/deliveries?status=..., newest first.
CREATE INDEX IF NOT EXISTS webhook_deliveries_listed
  ON webhook_deliveries (webhook_id, status, delivery_id);
