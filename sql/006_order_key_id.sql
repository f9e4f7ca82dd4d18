-- matchd schema v6: the API key that placed each order (--auth keys).
--
-- key_id is the key's public id, 16 lowercase hex digits; NULL for an order placed without
-- a key (--auth none, and every order written before this version). It records who placed
-- what; it is not a reference to api_keys, whose rows may be revoked or come from
-- outside the database (the bootstrap key of MATCHD_ADMIN_KEY). A nullable column added
-- without a default changes only the catalog, not the rows: instant on a large table.
ALTER TABLE orders ADD COLUMN key_id text;
