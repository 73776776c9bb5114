-- 0002_signal_store.sql: the Signal protocol key stores of every WhatsApp
-- session, as used by engine/store/sigstore_db.c (libsignal-protocol-c records).
--
-- Every row is scoped by `session_key`, the gateway's key for one WhatsApp
-- session (the engine passes it to wa_sigstore_db_new), so one database holds
-- the stores of many sessions. There are deliberately no foreign keys to the
-- core schema: whoever deletes a WhatsApp session deletes its rows here with
-- `DELETE FROM signal_x WHERE session_key = ?` on each table below.
--
-- `record` columns hold libsignal's own serialisation of the record, never
-- parsed by SQL. Private keys are stored as they are (no encryption at rest
-- here: protect the database). Address names are Signal address names
-- ("<user>" or "<user>_<domain>", docs/protocol.md 7.2), devices the JID device,
-- group ids the group JID string. Identifiers are utf8mb4_bin (exact match).
-- Idempotent: CREATE TABLE IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

-- Own identity key pair and registration id: one row per session.
CREATE TABLE IF NOT EXISTS signal_identity_local (
	session_key      VARCHAR(64) NOT NULL,
	identity_pub     VARBINARY(32) NOT NULL,
	identity_priv    VARBINARY(32) NOT NULL,
	registration_id  INT UNSIGNED NOT NULL,
	updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (session_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Trusted identity keys of remote devices (trust on first use).
CREATE TABLE IF NOT EXISTS signal_identity (
	session_key   VARCHAR(64) NOT NULL,
	addr_name     VARCHAR(128) NOT NULL,
	addr_device   INT UNSIGNED NOT NULL,
	identity_key  VARBINARY(64) NOT NULL,
	updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (session_key, addr_name, addr_device)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Own one-time pre-keys not yet used (ids 1..16777215, 3 bytes on the wire).
CREATE TABLE IF NOT EXISTS signal_prekey (
	session_key  VARCHAR(64) NOT NULL,
	prekey_id    INT UNSIGNED NOT NULL,
	record       BLOB NOT NULL,
	created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (session_key, prekey_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Own signed pre-keys.
CREATE TABLE IF NOT EXISTS signal_signed_prekey (
	session_key       VARCHAR(64) NOT NULL,
	signed_prekey_id  INT UNSIGNED NOT NULL,
	record            BLOB NOT NULL,
	created_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (session_key, signed_prekey_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Double-ratchet sessions with remote devices (libsignal session_record).
CREATE TABLE IF NOT EXISTS signal_session (
	session_key  VARCHAR(64) NOT NULL,
	addr_name    VARCHAR(128) NOT NULL,
	addr_device  INT UNSIGNED NOT NULL,
	record       MEDIUMBLOB NOT NULL,
	updated_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (session_key, addr_name, addr_device)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Group sender keys, ours and other members' (libsignal sender_key_record),
-- named (group JID, sender address).
CREATE TABLE IF NOT EXISTS signal_sender_key (
	session_key  VARCHAR(64) NOT NULL,
	group_id     VARCHAR(128) NOT NULL,
	addr_name    VARCHAR(128) NOT NULL,
	addr_device  INT UNSIGNED NOT NULL,
	record       MEDIUMBLOB NOT NULL,
	updated_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (session_key, group_id, addr_name, addr_device)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
