-- 0018_label_sync.sql: label changes made through the API that WhatsApp
-- has not been told of yet (an outbox; docs/engine.md "Labels"). The
-- worker writes a row in the transaction that changes labels or
-- chat_labels, with the values of that moment; the engine that owns the
-- session writes each as an app-state mutation (label_edit / label_jid)
-- in id order, and deletes the row once WhatsApp has it. A row of a
-- session that is not connected waits for its next login.
-- Idempotent: CREATE TABLE IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS label_sync_queue (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id BIGINT UNSIGNED NOT NULL,
	label_id      VARCHAR(64) NOT NULL,
	chat_jid      VARCHAR(128) NULL,          -- NULL: the label itself (label_edit)
	name          VARCHAR(255) NULL,          -- label_edit: the name then
	color         INT NOT NULL DEFAULT 0,     -- label_edit: the colour then
	deleted       TINYINT(1) NOT NULL DEFAULT 0,
	labeled       TINYINT(1) NOT NULL DEFAULT 0,  -- label_jid: added (1) or removed (0)
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	KEY ix_label_sync_session (wa_session_id, id),
	CONSTRAINT fk_label_sync_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
