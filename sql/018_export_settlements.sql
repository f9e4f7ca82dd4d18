-- matchd schema v18: settlements in the event export (docs/api.md, "Outbound events").
--
-- Settlements are not journal events: a sink also records the last settlement it delivered.
-- A settlement is published once the sink has delivered every event the tables held when
-- it was made, so it follows the trades it nets.
ALTER TABLE export_progress ADD COLUMN IF NOT EXISTS settlement_id bigint NOT NULL DEFAULT 0;
