-- Routing rules now come from a versioned file (rules/routing-rules.toml),
-- reloaded without a restart; the table they were seeded into goes.
DROP TABLE routing_rules;
ALTER TABLE cases ADD COLUMN priority text NOT NULL DEFAULT 'normal';
