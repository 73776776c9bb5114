-- 0008_rate_limits.sql: the per-address limits the workers keep themselves
-- (fcgi/ratelimit.c): failed sign-ins and registrations per client address,
-- shared by every worker on every host through this table. One row per
-- (scope, subject): `tat` is the bucket's theoretical arrival time (GCRA):
-- the bucket is empty of debt when tat <= now, and a request is refused
-- while tat - now exceeds the burst allowance. A row whose tat has passed
-- means the same as no row; the workers delete such rows now and then.
-- Idempotent: CREATE TABLE IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS rate_limits (
	scope   VARCHAR(16) NOT NULL,
	subject VARBINARY(64) NOT NULL,
	tat     DATETIME(6) NOT NULL,
	PRIMARY KEY (scope, subject),
	KEY ix_rate_limits_tat (tat)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
