-- 0006_engine_lease.sql: the lease of a session is its engine's lease.
-- engines.lease_until is refreshed with every heartbeat (now +
-- engine.lease_ms) and covers every session whose engine_id names the
-- engine: one row written per heartbeat instead of one per session (10,000
-- sessions were 5,000 row writes a second, and deadlocked with the
-- sessions' own writes). Another engine may take a session over once its
-- engine's lease_until has passed (or the engine row is gone).
-- wa_sessions.lease_until is no longer written (NULL); the column stays
-- for older readers.
-- Idempotent: ADD COLUMN IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

ALTER TABLE engines ADD COLUMN IF NOT EXISTS lease_until DATETIME(3) NULL AFTER heartbeat_at;
