-- Schema 5 (PostgreSQL): the unique index on (agent_id, batch_id, batch_index)
-- goes. A batch is stored once because its ID is claimed in `batches` in the
-- same transaction as its alerts; the index only repeated that guarantee, and
-- its random insertion points (agent IDs are UUIDs) cost the single writer a
-- read and a dirty page per batch. Notification deliveries are queued by alert
-- ID range instead of by batch. Keep in step with migrations/sqlite/0005_alerts_batch_item.sql.
DROP INDEX alerts_batch_item;
