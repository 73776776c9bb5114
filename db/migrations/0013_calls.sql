-- 0013_calls.sql: call offers a session received (docs/engine.md,
-- "Calls"): one row per (session, call id), written with its call.received
-- event before the offer is acked, so a redelivered offer changes nothing
-- twice; status REJECTED when the engine rejected it (rejectCalls).
-- Cascades from wa_sessions.
-- Idempotent: CREATE TABLE IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS calls (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id BIGINT UNSIGNED NOT NULL,
	call_id       VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
	from_jid      VARCHAR(128) NOT NULL,
	is_video      TINYINT(1) NOT NULL DEFAULT 0,
	is_group      TINYINT(1) NOT NULL DEFAULT 0,
	status        ENUM('OFFERED','REJECTED') NOT NULL DEFAULT 'OFFERED',
	offered_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_calls (wa_session_id, call_id),
	CONSTRAINT fk_calls_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
