-- 0017_app_state.sql: what a linked device keeps of the account's app state
-- ("syncd", docs/protocol.md §11): per session and collection the version
-- and the 128-byte LT-hash it has verified, and the value MAC of every live
-- index (index MAC -> value MAC), which the next patch is checked against.
-- Written by the engine (engine/store/appsync.c) in the transaction that
-- applies a snapshot or patch and its effects (chats, messages, labels,
-- contacts); a collection that does not verify is dropped and fetched
-- again from a snapshot. Deleted with the session (FK cascade) or at logout.
-- Idempotent: CREATE TABLE IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS wa_app_state_versions (
	wa_session_id BIGINT UNSIGNED NOT NULL,
	collection    VARCHAR(32) COLLATE utf8mb4_bin NOT NULL,
	version       BIGINT UNSIGNED NOT NULL DEFAULT 0,
	hash          BINARY(128) NOT NULL,
	updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (wa_session_id, collection),
	CONSTRAINT fk_app_state_versions_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS wa_app_state_macs (
	wa_session_id BIGINT UNSIGNED NOT NULL,
	collection    VARCHAR(32) COLLATE utf8mb4_bin NOT NULL,
	index_mac     BINARY(32) NOT NULL,
	value_mac     BINARY(32) NOT NULL,
	PRIMARY KEY (wa_session_id, collection, index_mac),
	CONSTRAINT fk_app_state_macs_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
