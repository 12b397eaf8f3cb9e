-- Schema 4 (SQLite): a container workload no longer running on its host (the
-- agent's inventory snapshot stopped listing it) keeps its row with the time it
-- was found gone. Keep in step with migrations/postgres/0004_workload_gone.sql.
ALTER TABLE workloads ADD COLUMN gone_at INTEGER;
CREATE INDEX workloads_agent_kind ON workloads (agent_id, kind);
