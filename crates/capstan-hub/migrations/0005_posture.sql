-- Security posture (issue 7). Times are unix microseconds, as the other tables.
--
-- posture_reports: each cluster's latest report (capstan_core::posture::PostureReport),
-- replaced by a newer one. Its coverage and rule counts are JSON columns of their own, apart
-- from the findings, so that the fleet aggregate over thousands of clusters decodes no
-- finding.
CREATE TABLE posture_reports (
    cluster           TEXT    PRIMARY KEY NOT NULL,
    evaluated_at      INTEGER NOT NULL,
    received_at       INTEGER NOT NULL,
    duration_ms       INTEGER NOT NULL,
    kubernetes_minor  INTEGER NOT NULL,
    controls          TEXT    NOT NULL,   -- JSON [ControlCoverage]
    rules             TEXT    NOT NULL,   -- JSON [RuleCount]
    exceptions        TEXT    NOT NULL,   -- JSON [AppliedException]
    sources           TEXT    NOT NULL    -- JSON PostureSources
);

-- posture_findings: the latest report's findings, one row each, so that the fleet's findings
-- are filtered, ordered (core's finding_order, then cluster) and cut in SQL. severity is
-- the rank of capstan_core::posture::report::Severity (info 0 .. critical 4), so that
-- ORDER BY severity DESC is most severe first.
CREATE TABLE posture_findings (
    cluster     TEXT    NOT NULL,
    control     TEXT    NOT NULL,
    rule        TEXT    NOT NULL,
    severity    INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    namespace   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    field_path  TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    excepted    TEXT                      -- the exception's reason; NULL when not excepted
);
CREATE INDEX posture_findings_by_cluster ON posture_findings (cluster);
CREATE INDEX posture_findings_by_control ON posture_findings (control, severity, count);

-- posture_history: per-control coverage over time, for trends; one point per cluster,
-- control and hour (the hour's latest evaluation), kept 30 days.
CREATE TABLE posture_history (
    cluster       TEXT    NOT NULL,
    hour          INTEGER NOT NULL,       -- the evaluation's UTC hour, unix microseconds
    control       TEXT    NOT NULL,
    evaluated_at  INTEGER NOT NULL,
    eligible      INTEGER NOT NULL,
    covered       INTEGER NOT NULL,
    excepted      INTEGER NOT NULL,
    findings      INTEGER NOT NULL,
    PRIMARY KEY (cluster, hour, control)
);
CREATE INDEX posture_history_by_hour ON posture_history (hour);

-- A cluster leaving the inventory takes its posture with it, whichever path deletes it.
CREATE TRIGGER clusters_delete_posture AFTER DELETE ON clusters
BEGIN
    DELETE FROM posture_reports WHERE cluster = OLD.name;
    DELETE FROM posture_findings WHERE cluster = OLD.name;
    DELETE FROM posture_history WHERE cluster = OLD.name;
END;
