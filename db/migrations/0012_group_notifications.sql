-- 0012_group_notifications.sql: the w:gp2 notifications the engine has
-- stored (engine/sess_group.c), one row per (session, notification id), so
-- that one the server offers again (our ack was lost with the connection)
-- does not publish its group.update / group.participant event twice. Written
-- in the transaction of the event; rows older than 30 days are swept by the
-- engine in the same transactions, a few at a time.
-- Idempotent: CREATE TABLE IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS group_notifications (
	wa_session_id BIGINT UNSIGNED NOT NULL,
	notif_id      VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (wa_session_id, notif_id),
	KEY ix_group_notifications_created (wa_session_id, created_at),
	CONSTRAINT fk_group_notifications_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id)
		ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
