-- matchd schema v11: the client index of v9 holds finished orders only.
--
-- GET /orders?status=all merges the orders table's page with the daemon's order view
-- (publish/order_view.h), which holds every open order and every order finished within the
-- retention horizon, so the table's page needs only the finished rows. An index of every
-- row took an entry for each version of an order's row: inserted open, then updated (a new
-- version: the update changes indexed columns) at each partial fill and at the end. Of
-- finished rows only, it takes one entry per order, when it finishes. Measured on 200,000
-- orders inserted open and updated to filled in batches of 1,000: 4.0 s with no client
-- index, 5.6 s with the full one, 4.8 s with this.
DROP INDEX IF EXISTS orders_client;
CREATE INDEX IF NOT EXISTS orders_client_finished ON orders (client_id, created_sequence)
  WHERE status NOT IN ('open', 'partially_filled');
