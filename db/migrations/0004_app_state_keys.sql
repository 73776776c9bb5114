-- 0004_app_state_keys.sql: the app-state sync keys a linked device gets
-- from its phone (docs/protocol.md §11: APP_STATE_SYNC_KEY_SHARE), which
-- decrypt and authenticate the app-state patches (chat archive, pin, mute,
-- labels, push name ...). One row per (session, key id); written by the
-- engine in the transaction that decrypted the share, deleted with the
-- session (FK cascade) or when the device logs out (new device, new keys).
-- The key data is secret, like the Signal stores: protect the database.
-- Idempotent: CREATE TABLE IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS wa_app_state_keys (
	wa_session_id BIGINT UNSIGNED NOT NULL,
	key_id        VARBINARY(64) NOT NULL,
	key_data      VARBINARY(512) NOT NULL,
	fingerprint   VARBINARY(1024) NULL,
	key_ts        BIGINT NOT NULL DEFAULT 0,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (wa_session_id, key_id),
	CONSTRAINT fk_app_state_keys_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
