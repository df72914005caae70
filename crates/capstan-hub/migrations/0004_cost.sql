-- Cost (issue 6). Amounts are integer nanodollars (capstan_core::cost::Nanodollars), so sums
-- in SQL are exact; resource-hours are REAL. Times are unix SECONDS here (hours and days are
-- whole), unlike the microseconds of the other tables.
--
-- cost_hours: what the agents upload, one row per cluster-hour, replaced on re-upload. The
-- totals and resource-hours are plain columns so that the fleet's per-cluster report is one
-- aggregate query decoding no JSON. The rows (namespaces, workloads: JSON arrays of
-- capstan_core::cost::CostRow) are kept in two columns, so that a namespace breakdown decodes
-- no workload rows; they become NULL once the hour is older than the hourly retention and its
-- day rollup holds them.
CREATE TABLE cost_hours (
    cluster                 TEXT    NOT NULL,
    hour_start              INTEGER NOT NULL,
    hour_end                INTEGER NOT NULL,
    hours_sampled           REAL    NOT NULL,
    ticks                   INTEGER NOT NULL,
    cpu                     INTEGER NOT NULL,
    ram                     INTEGER NOT NULL,
    gpu                     INTEGER NOT NULL,
    storage                 INTEGER NOT NULL,
    network                 INTEGER NOT NULL,
    management              INTEGER NOT NULL,
    idle_cpu                INTEGER NOT NULL,
    idle_ram                INTEGER NOT NULL,
    idle_gpu                INTEGER NOT NULL,
    total                   INTEGER NOT NULL,
    network_measured        INTEGER NOT NULL,   -- 0 or 1
    cpu_request_core_hours  REAL    NOT NULL,   -- sums of the namespace rows
    cpu_usage_core_hours    REAL    NOT NULL,
    ram_request_gib_hours   REAL    NOT NULL,
    ram_usage_gib_hours     REAL    NOT NULL,
    pod_hours               REAL    NOT NULL,
    summary                 TEXT    NOT NULL,   -- JSON: nodes and the truncation counts
    namespaces              TEXT,               -- JSON rows; NULL past the hourly retention
    workloads               TEXT,
    PRIMARY KEY (cluster, hour_start)
);
CREATE INDEX cost_hours_by_start ON cost_hours (hour_start);

-- cost_days: each UTC day's merge of its stored hours, maintained on every upload.
CREATE TABLE cost_days (
    cluster                 TEXT    NOT NULL,
    day_start               INTEGER NOT NULL,
    hour_end                INTEGER NOT NULL,   -- the latest merged hour's end
    hours_sampled           REAL    NOT NULL,
    ticks                   INTEGER NOT NULL,
    cpu                     INTEGER NOT NULL,
    ram                     INTEGER NOT NULL,
    gpu                     INTEGER NOT NULL,
    storage                 INTEGER NOT NULL,
    network                 INTEGER NOT NULL,
    management              INTEGER NOT NULL,
    idle_cpu                INTEGER NOT NULL,
    idle_ram                INTEGER NOT NULL,
    idle_gpu                INTEGER NOT NULL,
    total                   INTEGER NOT NULL,
    network_measured        INTEGER NOT NULL,
    cpu_request_core_hours  REAL    NOT NULL,
    cpu_usage_core_hours    REAL    NOT NULL,
    ram_request_gib_hours   REAL    NOT NULL,
    ram_usage_gib_hours     REAL    NOT NULL,
    pod_hours               REAL    NOT NULL,
    summary                 TEXT    NOT NULL,
    namespaces              TEXT    NOT NULL,
    workloads               TEXT    NOT NULL,
    PRIMARY KEY (cluster, day_start)
);
CREATE INDEX cost_days_by_start ON cost_days (day_start);

-- The latest recommendation bundle an agent sent (JSON, opaque to the store).
CREATE TABLE cost_recommendations (
    cluster      TEXT    PRIMARY KEY NOT NULL,
    generated_at INTEGER NOT NULL,              -- unix microseconds, as the other tables
    body         TEXT    NOT NULL
);

-- A cluster leaving the inventory takes its cost with it, whichever path deletes it.
CREATE TRIGGER clusters_delete_cost AFTER DELETE ON clusters
BEGIN
    DELETE FROM cost_hours WHERE cluster = OLD.name;
    DELETE FROM cost_days WHERE cluster = OLD.name;
    DELETE FROM cost_recommendations WHERE cluster = OLD.name;
END;
