-- The latest health report (issue 5): the agent's rule evaluation, JSON (capstan_core::health::HealthReport),
-- NULL until the agent sends one. Its counts and time are kept beside it in plain columns so
-- that listing the fleet (health, alert counts) decodes no report.
ALTER TABLE clusters ADD COLUMN health_report       TEXT;
ALTER TABLE clusters ADD COLUMN health_source       TEXT;
ALTER TABLE clusters ADD COLUMN health_evaluated_at INTEGER;
ALTER TABLE clusters ADD COLUMN alerts_critical     INTEGER NOT NULL DEFAULT 0;  -- firing
ALTER TABLE clusters ADD COLUMN alerts_warning      INTEGER NOT NULL DEFAULT 0;  -- firing
ALTER TABLE clusters ADD COLUMN alerts_pending      INTEGER NOT NULL DEFAULT 0;
