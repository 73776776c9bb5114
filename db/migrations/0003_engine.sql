-- 0003_engine.sql: what wa-akg-engine keeps of a linked WhatsApp device
-- beyond the Signal stores (0002): the Noise key it logs in with, the ADV
-- secret and signed identity from pairing, and its pre-key bookkeeping.
--
-- One row per WhatsApp session, written by the engine when a session first
-- needs keys (registration) and completed at pair-success. Deleting the
-- session deletes the row (FK cascade); logging out deletes it too, so the
-- next start registers afresh. Private keys are stored as they are, like
-- the Signal stores: protect the database.
-- Idempotent: CREATE TABLE IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS wa_device_creds (
	wa_session_id    BIGINT UNSIGNED NOT NULL,
	noise_priv       VARBINARY(32) NOT NULL,
	noise_pub        VARBINARY(32) NOT NULL,
	adv_secret       VARBINARY(32) NOT NULL,
	signed_prekey_id INT UNSIGNED NOT NULL,
	next_prekey_id   INT UNSIGNED NOT NULL DEFAULT 1,
	prekeys_uploaded INT UNSIGNED NOT NULL DEFAULT 0,
	paired           TINYINT(1) NOT NULL DEFAULT 0,
	phone            VARCHAR(24) NULL,
	device           SMALLINT UNSIGNED NULL,
	lid              VARCHAR(64) NULL,
	platform         VARCHAR(32) NULL,
	business_name    VARCHAR(128) NULL,
	key_index        INT UNSIGNED NULL,
	account          VARBINARY(1024) NULL,
	primary_identity VARBINARY(32) NULL,
	paired_at        DATETIME(3) NULL,
	created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (wa_session_id),
	CONSTRAINT fk_wa_device_creds_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
