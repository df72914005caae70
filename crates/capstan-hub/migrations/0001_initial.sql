-- The hub's store, first schema. Timestamps are Unix microseconds (INTEGER), written from the
-- caller's clock (possibly scaled), never from SQLite's. Nested documents are JSON text, opaque
-- to the store. Kept to types PostgreSQL maps directly (BIGINT, TEXT/JSONB).

CREATE TABLE clusters (
    name          TEXT    PRIMARY KEY NOT NULL,
    labels        TEXT    NOT NULL,            -- JSON object of strings
    versions      TEXT    NOT NULL,            -- JSON: control plane, kubelet histogram
    node_count    INTEGER NOT NULL,
    pod_count     INTEGER NOT NULL,
    health        TEXT    NOT NULL,            -- as reported; Unknown past the lease is computed on read
    summary       TEXT    NOT NULL,            -- JSON: the agent's latest bounded summary
    last_seen     INTEGER NOT NULL,
    registered_at INTEGER NOT NULL
);

CREATE TABLE agents (
    cluster    TEXT    PRIMARY KEY NOT NULL,
    token_hash TEXT    NOT NULL,               -- SHA-256 hex; the token itself is never stored
    created_at INTEGER NOT NULL
);

CREATE TABLE upgrades (
    name       TEXT    PRIMARY KEY NOT NULL,
    spec       TEXT    NOT NULL,               -- JSON
    status     TEXT    NOT NULL,               -- JSON
    generation INTEGER NOT NULL,               -- bumped by every write; compare-and-set key
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE rollout_clusters (
    upgrade    TEXT    NOT NULL REFERENCES upgrades(name) ON DELETE CASCADE,
    cluster    TEXT    NOT NULL,               -- no foreign key: a removed cluster keeps its history
    state      TEXT    NOT NULL,               -- JSON
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (upgrade, cluster)
);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind TEXT    NOT NULL,             -- 'upgrade' | 'cluster'
    subject_name TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    at           INTEGER NOT NULL
);
CREATE INDEX events_by_subject ON events (subject_kind, subject_name, id);

CREATE TABLE work_items (
    id         TEXT    PRIMARY KEY NOT NULL,   -- chosen by the hub, deterministic, so enqueue is idempotent
    cluster    TEXT    NOT NULL,
    generation INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,               -- JSON
    status     TEXT    NOT NULL,               -- Pending | Running | Succeeded | Failed
    message    TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX work_items_open_by_cluster ON work_items (cluster, status, created_at);
