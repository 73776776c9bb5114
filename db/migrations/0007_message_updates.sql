-- 0007_message_updates.sql: edits and revokes ("delete for everyone") the
-- engine received (docs/engine.md, "Edits and revokes"). One row per
-- (session, the edit/revoke stanza's own message id): the unique key makes
-- a redelivered edit change nothing twice. A row whose target is not stored
-- yet waits (applied = 0) for the original, which takes it up when it
-- arrives (a message that failed to decrypt and came again after a retry
-- receipt). Written by the engine in the transaction that decrypted the
-- stanza; cascades from wa_sessions.
-- Idempotent: CREATE TABLE IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS message_updates (
	wa_session_id BIGINT UNSIGNED NOT NULL,
	update_id     VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
	target_id     VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
	remote_jid    VARCHAR(128) NOT NULL,
	sender_jid    VARCHAR(128) NULL,
	from_me       TINYINT(1) NOT NULL DEFAULT 0,
	kind          ENUM('EDIT','REVOKE') NOT NULL,
	by_admin      TINYINT(1) NOT NULL DEFAULT 0,
	target_sender VARCHAR(128) NULL,
	content       MEDIUMTEXT NULL,
	t_ms          BIGINT NOT NULL DEFAULT 0,
	-- 0 waiting for the target, 1 applied, 2 refused (not the target's
	-- sender, another chat), 3 changed nothing (target deleted, a newer edit)
	state         TINYINT UNSIGNED NOT NULL DEFAULT 0,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (wa_session_id, update_id),
	KEY ix_message_updates_target (wa_session_id, target_id, state),
	CONSTRAINT fk_message_updates_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
