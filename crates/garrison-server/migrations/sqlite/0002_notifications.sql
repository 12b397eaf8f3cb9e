-- Garrison control plane, schema 2 (SQLite): notification targets and their
-- delivery queue/log. Keep in step with migrations/postgres (tests/schema.rs).
CREATE TABLE notification_targets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    secrets TEXT NOT NULL,
    options TEXT NOT NULL,
    min_severity TEXT NOT NULL,
    min_severity_rank INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    rule_filter TEXT,
    rule_like TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE notification_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id TEXT NOT NULL REFERENCES notification_targets(id) ON DELETE CASCADE,
    alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    last_status INTEGER,
    response TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE UNIQUE INDEX notification_deliveries_target_alert ON notification_deliveries (target_id, alert_id);
CREATE INDEX notification_deliveries_alert ON notification_deliveries (alert_id);
CREATE INDEX notification_deliveries_due ON notification_deliveries (status, next_attempt_at);
