-- matchd schema v5: API keys (auth/keys.h).
--
-- A key is kept as the SHA-256 of its secret, never the secret: the secret is shown once,
-- when the key is created. key_id is public (16 lowercase hex digits). Admin keys act for
-- every client and have no client_ids; trader and viewer keys have at least one. A key is
-- never deleted: revoking it sets revoked_at, so an order's key_id always names a key.
-- rate_limit and rate_burst are the key's own orders per second and burst, NULL for the
-- server's --rate-limit and --rate-burst.
CREATE TABLE api_keys (
  key_id         text        PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
  secret_sha256  bytea       NOT NULL UNIQUE CHECK (octet_length(secret_sha256) = 32),
  role           text        NOT NULL CHECK (role IN ('admin', 'trader', 'viewer')),
  client_ids     text[]      NOT NULL,
  label          text        NOT NULL DEFAULT '',
  rate_limit     integer     NULL CHECK (rate_limit >= 0),
  rate_burst     integer     NULL CHECK (rate_burst >= 0),
  created_at     timestamptz NOT NULL,
  revoked_at     timestamptz NULL,
  CHECK ((role = 'admin') = (cardinality(client_ids) = 0))
);
