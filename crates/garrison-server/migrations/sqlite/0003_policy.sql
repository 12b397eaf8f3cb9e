-- Schema 3 (SQLite): agent groups and their policies (rulesets and agent
-- configuration). Keep in step with migrations/postgres/0003_policy.sql.
CREATE TABLE agent_groups (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    policy_version TEXT,
    policy_rules TEXT,
    policy_config TEXT,
    policy_updated_at INTEGER,
    policy_updated_by TEXT
);
INSERT INTO agent_groups (name, created_at, created_by) VALUES ('default', 0, 'system');
ALTER TABLE agents ADD COLUMN group_name TEXT NOT NULL DEFAULT 'default';
ALTER TABLE agents ADD COLUMN policy_version TEXT;
CREATE INDEX agents_group ON agents (group_name);
ALTER TABLE enrollment_tokens ADD COLUMN group_name TEXT NOT NULL DEFAULT 'default';
