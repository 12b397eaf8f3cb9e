-- Garrison control plane, schema 1 (SQLite). Keep in step with migrations/postgres:
-- tests/schema.rs proves the two equivalent (tables, columns, types, indexes).
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    remote TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TABLE enrollment_tokens (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    max_uses INTEGER NOT NULL,
    uses INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    cert_sha256 TEXT NOT NULL UNIQUE,
    cert_serial TEXT NOT NULL,
    cert_not_after INTEGER NOT NULL,
    enrolled_at INTEGER NOT NULL,
    enrollment_token TEXT NOT NULL,
    revoked_at INTEGER,
    last_seen_at INTEGER,
    version TEXT,
    kernel TEXT,
    sensor_mode TEXT,
    counters TEXT,
    lost_events INTEGER,
    clock_skew_ms INTEGER
);
CREATE TABLE heartbeats (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    received_at INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    lost_events INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX heartbeats_received ON heartbeats (received_at);
CREATE INDEX heartbeats_agent ON heartbeats (agent_id, received_at);
CREATE TABLE batches (
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    batch_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    items INTEGER NOT NULL,
    PRIMARY KEY (agent_id, batch_id)
);
CREATE INDEX batches_received ON batches (received_at);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    batch_id TEXT NOT NULL,
    batch_index INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    agent_time_ms INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    rule TEXT NOT NULL,
    priority TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    output TEXT NOT NULL,
    process_name TEXT NOT NULL,
    container_id TEXT,
    status TEXT NOT NULL,
    status_by TEXT,
    status_at INTEGER,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX alerts_batch_item ON alerts (agent_id, batch_id, batch_index);
CREATE INDEX alerts_time ON alerts (time_ms);
CREATE INDEX alerts_agent_time ON alerts (agent_id, time_ms);
CREATE INDEX alerts_severity ON alerts (severity_rank, time_ms);
CREATE INDEX alerts_status ON alerts (status, time_ms);
CREATE TABLE workloads (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    image TEXT,
    container_id TEXT,
    distro TEXT,
    packages_scanned INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    reported_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX workloads_agent_name ON workloads (agent_id, kind, name);
CREATE TABLE vulnerabilities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workload_id TEXT NOT NULL REFERENCES workloads(id) ON DELETE CASCADE,
    vuln_id TEXT NOT NULL,
    cve TEXT,
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    purl TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    fixed_versions TEXT NOT NULL,
    risk_score REAL NOT NULL,
    summary TEXT
);
CREATE INDEX vulnerabilities_workload ON vulnerabilities (workload_id);
CREATE INDEX vulnerabilities_vuln ON vulnerabilities (vuln_id);
CREATE INDEX vulnerabilities_severity ON vulnerabilities (severity_rank);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
