-- Posture history at fleet scale. Times are unix microseconds, as the other tables.
--
-- Reading a 30-day trend of 5,000 clusters from the hourly points (0005) meant 18 million
-- rows and choosing each cluster's latest evaluation per day at read time. This migration:
-- 1. rebuilds posture_history keyed by (hour, control, cluster) WITHOUT ROWID, so that a
--    window of hours is one range of the primary key read in place (0005's index on hour
--    led to a table lookup per row) in the order the sums group it (per hour and control: no
--    sort), and marks the points of each cluster's latest evaluation of the hour (`latest`),
--    so that a read sums them without choosing at read time;
-- 2. adds posture_history_daily: per cluster, UTC day and control, the figures of the
--    cluster's latest evaluation of the day, written at upload time and kept 400 days
--    (POSTURE_DAILY_HISTORY_DAYS); GET /api/v1/posture/history?step=1d reads it alone;
-- 3. backfills it from the hourly points already stored, so an upgraded hub keeps its trends.

DROP TRIGGER clusters_delete_posture;

-- An upload replaces its controls' points of the hour; a control an earlier evaluation of the
-- hour had and this one lacks keeps its point, with latest 0 (the upload clears it).
CREATE TABLE posture_history_new (
    hour          INTEGER NOT NULL,       -- the evaluation's UTC hour, unix microseconds
    control       TEXT    NOT NULL,
    cluster       TEXT    NOT NULL,
    evaluated_at  INTEGER NOT NULL,
    eligible      INTEGER NOT NULL,
    covered       INTEGER NOT NULL,
    excepted      INTEGER NOT NULL,
    findings      INTEGER NOT NULL,
    latest        INTEGER NOT NULL DEFAULT 1, -- 1: of the cluster's latest evaluation of the hour
    PRIMARY KEY (hour, control, cluster)
) WITHOUT ROWID;
INSERT INTO posture_history_new
    (hour, control, cluster, evaluated_at, eligible, covered, excepted, findings, latest)
SELECT h.hour, h.control, h.cluster, h.evaluated_at, h.eligible, h.covered, h.excepted,
       h.findings, h.evaluated_at = l.latest
FROM posture_history h
JOIN (SELECT cluster, hour, MAX(evaluated_at) AS latest
      FROM posture_history GROUP BY cluster, hour) l
  ON l.cluster = h.cluster AND l.hour = h.hour;
DROP TABLE posture_history;
ALTER TABLE posture_history_new RENAME TO posture_history;
-- A cluster's own points (its history, the trigger below).
CREATE INDEX posture_history_by_cluster ON posture_history (cluster, hour);

-- One evaluation per (cluster, day): an upload replaces the day's rows of its cluster with
-- its own, so a control the day's later evaluation lacks is gone, as "latest evaluation
-- wins" has it.
CREATE TABLE posture_history_daily (
    day           INTEGER NOT NULL,       -- the evaluation's UTC day, unix microseconds
    cluster       TEXT    NOT NULL,
    control       TEXT    NOT NULL,
    evaluated_at  INTEGER NOT NULL,
    eligible      INTEGER NOT NULL,
    covered       INTEGER NOT NULL,
    excepted      INTEGER NOT NULL,
    findings      INTEGER NOT NULL,
    PRIMARY KEY (day, control, cluster)
) WITHOUT ROWID;
CREATE INDEX posture_history_daily_by_cluster ON posture_history_daily (cluster, day);

-- The backfill: of each cluster's points of a day, those of its latest evaluation (an hour's
-- points can hold a control of an earlier evaluation the later one lacked: it is skipped).
INSERT INTO posture_history_daily
    (day, cluster, control, evaluated_at, eligible, covered, excepted, findings)
SELECT h.hour - (h.hour % 86400000000), h.cluster, h.control, h.evaluated_at,
       h.eligible, h.covered, h.excepted, h.findings
FROM posture_history h
JOIN (SELECT cluster, hour - (hour % 86400000000) AS day, MAX(evaluated_at) AS latest
      FROM posture_history GROUP BY cluster, day) l
  ON l.cluster = h.cluster AND l.day = h.hour - (h.hour % 86400000000)
 AND l.latest = h.evaluated_at;

-- A cluster leaving the inventory takes its posture with it, whichever path deletes it.
CREATE TRIGGER clusters_delete_posture AFTER DELETE ON clusters
BEGIN
    DELETE FROM posture_reports WHERE cluster = OLD.name;
    DELETE FROM posture_findings WHERE cluster = OLD.name;
    DELETE FROM posture_history WHERE cluster = OLD.name;
    DELETE FROM posture_history_daily WHERE cluster = OLD.name;
END;
