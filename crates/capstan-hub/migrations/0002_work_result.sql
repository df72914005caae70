-- The structured outcome an agent posts with a work item's final status (for a
-- cluster-upgrade: versions, timings, the replaced nodes' lifecycle). JSON, or NULL.
ALTER TABLE work_items ADD COLUMN result TEXT;
