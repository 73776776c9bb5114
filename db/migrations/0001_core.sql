-- 0001_core.sql: the core WA-AKG data model.
--
-- Applied by wa-akg-migrate (db/migrate.c) exactly once per database, in file
-- name order. MariaDB DDL is not transactional, so every statement here is
-- idempotent (CREATE TABLE IF NOT EXISTS, INSERT IGNORE): if a run dies half
-- way, the next run simply re-applies the whole file.
--
-- Conventions (docs/database.md has one line per column):
--   * InnoDB, utf8mb4 / utf8mb4_unicode_ci, snake_case names.
--   * `id` BIGINT UNSIGNED AUTO_INCREMENT primary keys; the API renders them as
--     strings.
--   * Every DATETIME(3) is UTC: every process sets time_zone = '+00:00' on
--     each connection, so CURRENT_TIMESTAMP(3) defaults are UTC too.
--   * JSON is LONGTEXT with CHECK (JSON_VALID(...)).
--   * Booleans are TINYINT(1) 0/1.
--   * Identifiers, hashes and tokens use utf8mb4_bin (exact, case-sensitive
--     match). Not ascii: comparing an ascii column with a utf8mb4 parameter
--     that holds a non-ASCII character fails with error 1267 instead of
--     simply not matching.
--   * Deleting a user cascades to their API keys, web sessions, grants,
--     notifications, webhooks and owned WhatsApp sessions; deleting a WhatsApp
--     session cascades to everything stored for it.

SET NAMES utf8mb4;

-- ---------------------------------------------------------------------------
-- Accounts
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS users (
	id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	name           VARCHAR(255) NULL,
	email          VARCHAR(255) NOT NULL,
	password_hash  VARCHAR(255) NOT NULL,
	role           ENUM('SUPERADMIN','OWNER','STAFF') NOT NULL DEFAULT 'OWNER',
	image          VARCHAR(2048) NULL,
	email_verified DATETIME(3) NULL,
	created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_users_email (email),
	KEY ix_users_role (role)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS api_keys (
	id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	user_id      BIGINT UNSIGNED NOT NULL,
	key_prefix   VARCHAR(16) COLLATE utf8mb4_bin NOT NULL,
	key_hash     CHAR(64) COLLATE utf8mb4_bin NOT NULL,
	created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	last_used_at DATETIME(3) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uq_api_keys_hash (key_hash),
	UNIQUE KEY uq_api_keys_user (user_id),
	CONSTRAINT fk_api_keys_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS web_sessions (
	id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	user_id      BIGINT UNSIGNED NOT NULL,
	token_hash   CHAR(64) COLLATE utf8mb4_bin NOT NULL,
	csrf_token   VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
	expires_at   DATETIME(3) NOT NULL,
	created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	last_seen_at DATETIME(3) NULL,
	user_agent   VARCHAR(512) NULL,
	ip           VARCHAR(45) COLLATE utf8mb4_bin NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uq_web_sessions_token (token_hash),
	KEY ix_web_sessions_user (user_id),
	KEY ix_web_sessions_expires (expires_at),
	CONSTRAINT fk_web_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- ---------------------------------------------------------------------------
-- Engines and WhatsApp sessions
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS engines (
	id           VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
	command_url  VARCHAR(255) NOT NULL,
	event_url    VARCHAR(255) NOT NULL,
	hostname     VARCHAR(255) NULL,
	pid          INT UNSIGNED NULL,
	version      VARCHAR(64) NULL,
	heartbeat_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	started_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	KEY ix_engines_heartbeat (heartbeat_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS wa_sessions (
	id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	session_id     VARCHAR(64) NOT NULL,
	name           VARCHAR(255) NOT NULL,
	status         VARCHAR(32) COLLATE utf8mb4_bin NOT NULL DEFAULT 'STOPPED',
	auto_start     TINYINT(1) NOT NULL DEFAULT 1,
	user_id        BIGINT UNSIGNED NOT NULL,
	config         LONGTEXT NULL CHECK (config IS NULL OR JSON_VALID(config)),
	phone          VARCHAR(32) NULL,
	me_jid         VARCHAR(128) NULL,
	me_lid         VARCHAR(128) NULL,
	push_name      VARCHAR(255) NULL,
	platform       VARCHAR(64) NULL,
	engine_id      VARCHAR(64) COLLATE utf8mb4_bin NULL,
	lease_until    DATETIME(3) NULL,
	qr             TEXT NULL,
	qr_updated_at  DATETIME(3) NULL,
	pairing_code   VARCHAR(16) NULL,
	connected_at   DATETIME(3) NULL,
	last_error     VARCHAR(1024) NULL,
	created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_wa_sessions_session_id (session_id),
	KEY ix_wa_sessions_user (user_id),
	KEY ix_wa_sessions_engine (engine_id, lease_until),
	KEY ix_wa_sessions_lease (lease_until),
	CONSTRAINT fk_wa_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_wa_sessions_engine FOREIGN KEY (engine_id) REFERENCES engines (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS session_access (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id BIGINT UNSIGNED NOT NULL,
	user_id       BIGINT UNSIGNED NOT NULL,
	granted_by    BIGINT UNSIGNED NULL,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_session_access (wa_session_id, user_id),
	KEY ix_session_access_user (user_id),
	CONSTRAINT fk_session_access_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE,
	CONSTRAINT fk_session_access_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_session_access_granted_by FOREIGN KEY (granted_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- ---------------------------------------------------------------------------
-- Automation: bot, auto-replies, schedules, broadcasts
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS bot_configs (
	wa_session_id           BIGINT UNSIGNED NOT NULL,
	enabled                 TINYINT(1) NOT NULL DEFAULT 1,
	bot_name                VARCHAR(64) NOT NULL DEFAULT 'WA-AKG Bot',
	prefix                  VARCHAR(8) NOT NULL DEFAULT '#',
	bot_mode                ENUM('OWNER','SPECIFIC','BLACKLIST','ALL') NOT NULL DEFAULT 'OWNER',
	bot_allowed_jids        LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(bot_allowed_jids)),
	bot_blocked_jids        LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(bot_blocked_jids)),
	auto_reply_mode         ENUM('OWNER','SPECIFIC','BLACKLIST','ALL') NOT NULL DEFAULT 'ALL',
	auto_reply_allowed_jids LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(auto_reply_allowed_jids)),
	auto_reply_blocked_jids LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(auto_reply_blocked_jids)),
	enable_sticker          TINYINT(1) NOT NULL DEFAULT 1,
	enable_video_sticker    TINYINT(1) NOT NULL DEFAULT 1,
	max_sticker_duration    INT UNSIGNED NOT NULL DEFAULT 10,
	enable_ping             TINYINT(1) NOT NULL DEFAULT 1,
	enable_uptime           TINYINT(1) NOT NULL DEFAULT 1,
	remove_bg_api_key       VARCHAR(255) NULL,
	anti_spam_enabled       TINYINT(1) NOT NULL DEFAULT 0,
	spam_limit              INT UNSIGNED NOT NULL DEFAULT 5,
	spam_interval           INT UNSIGNED NOT NULL DEFAULT 10,
	spam_delay_min          INT UNSIGNED NOT NULL DEFAULT 1000,
	spam_delay_max          INT UNSIGNED NOT NULL DEFAULT 3000,
	welcome_enabled         TINYINT(1) NOT NULL DEFAULT 0,
	welcome_message         TEXT NULL,
	auto_read               TINYINT(1) NOT NULL DEFAULT 0,
	always_online           TINYINT(1) NOT NULL DEFAULT 0,
	reject_calls            TINYINT(1) NOT NULL DEFAULT 0,
	created_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (wa_session_id),
	CONSTRAINT fk_bot_configs_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS auto_replies (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id BIGINT UNSIGNED NOT NULL,
	keyword       VARCHAR(255) NOT NULL,
	response      TEXT NOT NULL,
	match_type    ENUM('EXACT','CONTAINS','STARTS_WITH','REGEX') NOT NULL DEFAULT 'EXACT',
	is_media      TINYINT(1) NOT NULL DEFAULT 0,
	media_url     VARCHAR(2048) NULL,
	trigger_type  ENUM('ALL','GROUP','PRIVATE') NOT NULL DEFAULT 'ALL',
	enabled       TINYINT(1) NOT NULL DEFAULT 1,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	KEY ix_auto_replies_session (wa_session_id, enabled),
	CONSTRAINT fk_auto_replies_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS scheduled_messages (
	id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id   BIGINT UNSIGNED NOT NULL,
	jid             VARCHAR(128) NOT NULL,
	content         TEXT NOT NULL,
	media_url       VARCHAR(2048) NULL,
	media_type      VARCHAR(16) NULL,
	send_at         DATETIME(3) NOT NULL,
	cron_expression VARCHAR(128) NULL,
	status          ENUM('PENDING','SENDING','SENT','FAILED','CANCELLED') NOT NULL DEFAULT 'PENDING',
	attempts        INT UNSIGNED NOT NULL DEFAULT 0,
	message_id      VARCHAR(128) NULL,
	last_error      VARCHAR(1024) NULL,
	sent_at         DATETIME(3) NULL,
	created_by      BIGINT UNSIGNED NULL,
	created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	KEY ix_scheduled_due (status, send_at),
	KEY ix_scheduled_session (wa_session_id, send_at),
	CONSTRAINT fk_scheduled_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE,
	CONSTRAINT fk_scheduled_created_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS broadcasts (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id BIGINT UNSIGNED NOT NULL,
	kind          ENUM('BROADCAST','SPAM') NOT NULL DEFAULT 'BROADCAST',
	message       TEXT NOT NULL,
	status        ENUM('PENDING','RUNNING','DONE','CANCELLED','FAILED') NOT NULL DEFAULT 'PENDING',
	total         INT UNSIGNED NOT NULL DEFAULT 0,
	sent          INT UNSIGNED NOT NULL DEFAULT 0,
	failed        INT UNSIGNED NOT NULL DEFAULT 0,
	repeat_count  INT UNSIGNED NOT NULL DEFAULT 1,
	delay_ms      INT UNSIGNED NOT NULL DEFAULT 10000,
	delay_max_ms  INT UNSIGNED NOT NULL DEFAULT 20000,
	created_by    BIGINT UNSIGNED NULL,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	started_at    DATETIME(3) NULL,
	finished_at   DATETIME(3) NULL,
	updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	KEY ix_broadcasts_session (wa_session_id, status),
	CONSTRAINT fk_broadcasts_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE,
	CONSTRAINT fk_broadcasts_created_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS broadcast_recipients (
	id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	broadcast_id BIGINT UNSIGNED NOT NULL,
	jid          VARCHAR(128) NOT NULL,
	status       ENUM('PENDING','SENT','FAILED','SKIPPED') NOT NULL DEFAULT 'PENDING',
	sent_count   INT UNSIGNED NOT NULL DEFAULT 0,
	message_id   VARCHAR(128) NULL,
	error        VARCHAR(1024) NULL,
	sent_at      DATETIME(3) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uq_broadcast_recipients (broadcast_id, jid),
	KEY ix_broadcast_recipients_status (broadcast_id, status),
	CONSTRAINT fk_broadcast_recipients_broadcast FOREIGN KEY (broadcast_id) REFERENCES broadcasts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- ---------------------------------------------------------------------------
-- Webhooks and the durable event outbox
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS webhooks (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id BIGINT UNSIGNED NULL,
	user_id       BIGINT UNSIGNED NOT NULL,
	name          VARCHAR(255) NOT NULL,
	url           VARCHAR(2048) NOT NULL,
	secret        VARCHAR(255) NULL,
	events        LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(events)),
	is_active     TINYINT(1) NOT NULL DEFAULT 1,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	KEY ix_webhooks_session (wa_session_id, is_active),
	KEY ix_webhooks_user (user_id, is_active),
	CONSTRAINT fk_webhooks_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE,
	CONSTRAINT fk_webhooks_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS events_outbox (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id BIGINT UNSIGNED NULL,
	event         VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
	payload       LONGTEXT NOT NULL CHECK (JSON_VALID(payload)),
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	published_at  DATETIME(3) NULL,
	PRIMARY KEY (id),
	KEY ix_events_outbox_published (published_at, id),
	KEY ix_events_outbox_session (wa_session_id, id),
	CONSTRAINT fk_events_outbox_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS webhook_deliveries (
	id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	webhook_id      BIGINT UNSIGNED NOT NULL,
	outbox_id       BIGINT UNSIGNED NULL,
	event           VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
	payload         LONGTEXT NOT NULL,
	state           ENUM('PENDING','DELIVERED','FAILED') NOT NULL DEFAULT 'PENDING',
	status_code     SMALLINT UNSIGNED NULL,
	attempt         INT UNSIGNED NOT NULL DEFAULT 0,
	next_attempt_at DATETIME(3) NULL,
	delivered_at    DATETIME(3) NULL,
	duration_ms     INT UNSIGNED NULL,
	error           VARCHAR(1024) NULL,
	created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_webhook_deliveries_outbox (webhook_id, outbox_id),
	KEY ix_webhook_deliveries_due (state, next_attempt_at),
	KEY ix_webhook_deliveries_webhook (webhook_id, created_at),
	CONSTRAINT fk_webhook_deliveries_webhook FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- ---------------------------------------------------------------------------
-- WhatsApp state mirrored per session: labels, contacts, chats, messages, groups
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS labels (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id BIGINT UNSIGNED NOT NULL,
	label_id      VARCHAR(64) NOT NULL,
	name          VARCHAR(255) NOT NULL,
	color         INT NULL DEFAULT 0,
	predefined_id VARCHAR(64) NULL,
	deleted       TINYINT(1) NOT NULL DEFAULT 0,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_labels (wa_session_id, label_id),
	CONSTRAINT fk_labels_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS chat_labels (
	wa_session_id BIGINT UNSIGNED NOT NULL,
	chat_jid      VARCHAR(128) NOT NULL,
	label_id      VARCHAR(64) NOT NULL,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (wa_session_id, chat_jid, label_id),
	KEY ix_chat_labels_label (wa_session_id, label_id),
	CONSTRAINT fk_chat_labels_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS contacts (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id BIGINT UNSIGNED NOT NULL,
	jid           VARCHAR(128) NOT NULL,
	lid           VARCHAR(128) NULL,
	alt_jid       VARCHAR(128) NULL,
	name          VARCHAR(255) NULL,
	notify        VARCHAR(255) NULL,
	verified_name VARCHAR(255) NULL,
	img_url       TEXT NULL,
	status        TEXT NULL,
	blocked       TINYINT(1) NOT NULL DEFAULT 0,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_contacts (wa_session_id, jid),
	KEY ix_contacts_lid (wa_session_id, lid),
	CONSTRAINT fk_contacts_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS chats (
	id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id        BIGINT UNSIGNED NOT NULL,
	jid                  VARCHAR(128) NOT NULL,
	name                 VARCHAR(255) NULL,
	unread_count         INT NOT NULL DEFAULT 0,
	archived             TINYINT(1) NOT NULL DEFAULT 0,
	pinned               TINYINT(1) NOT NULL DEFAULT 0,
	pinned_at            DATETIME(3) NULL,
	muted_until          DATETIME(3) NULL,
	last_message_at      DATETIME(3) NULL,
	is_group             TINYINT(1) NOT NULL DEFAULT 0,
	ephemeral_expiration INT UNSIGNED NOT NULL DEFAULT 0,
	created_at           DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at           DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_chats (wa_session_id, jid),
	KEY ix_chats_recent (wa_session_id, last_message_at),
	CONSTRAINT fk_chats_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS messages (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id BIGINT UNSIGNED NOT NULL,
	remote_jid    VARCHAR(128) NOT NULL,
	message_id    VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
	from_me       TINYINT(1) NOT NULL DEFAULT 0,
	sender_jid    VARCHAR(128) NULL,
	push_name     VARCHAR(255) NULL,
	type          VARCHAR(32) COLLATE utf8mb4_bin NOT NULL DEFAULT 'TEXT',
	content       MEDIUMTEXT NULL,
	caption       TEXT NULL,
	media_path    VARCHAR(255) NULL,
	media_mime    VARCHAR(127) NULL,
	media_size    BIGINT UNSIGNED NULL,
	quoted_id     VARCHAR(128) COLLATE utf8mb4_bin NULL,
	status        ENUM('PENDING','SENT','DELIVERED','READ','PLAYED','FAILED') NOT NULL DEFAULT 'PENDING',
	starred       TINYINT(1) NOT NULL DEFAULT 0,
	edited        TINYINT(1) NOT NULL DEFAULT 0,
	deleted       TINYINT(1) NOT NULL DEFAULT 0,
	reaction      VARCHAR(32) NULL,
	raw           LONGBLOB NULL,
	timestamp     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_messages (wa_session_id, message_id),
	KEY ix_messages_chat (wa_session_id, remote_jid, timestamp),
	KEY ix_messages_session_time (wa_session_id, timestamp),
	FULLTEXT KEY ft_messages_text (content, caption),
	CONSTRAINT fk_messages_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS wa_groups (
	id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id     BIGINT UNSIGNED NOT NULL,
	jid               VARCHAR(128) NOT NULL,
	subject           VARCHAR(255) NULL,
	subject_owner     VARCHAR(128) NULL,
	subject_time      DATETIME(3) NULL,
	description       TEXT NULL,
	desc_owner        VARCHAR(128) NULL,
	desc_id           VARCHAR(64) NULL,
	owner_jid         VARCHAR(128) NULL,
	creation          DATETIME(3) NULL,
	size              INT UNSIGNED NOT NULL DEFAULT 0,
	is_community      TINYINT(1) NOT NULL DEFAULT 0,
	linked_parent_jid VARCHAR(128) NULL,
	announce          TINYINT(1) NOT NULL DEFAULT 0,
	restrict_         TINYINT(1) NOT NULL DEFAULT 0,
	ephemeral         INT UNSIGNED NOT NULL DEFAULT 0,
	invite_code       VARCHAR(64) NULL,
	participants      LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(participants)),
	left_at           DATETIME(3) NULL,
	created_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_wa_groups (wa_session_id, jid),
	KEY ix_wa_groups_parent (wa_session_id, linked_parent_jid),
	CONSTRAINT fk_wa_groups_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS media_files (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	wa_session_id BIGINT UNSIGNED NULL,
	user_id       BIGINT UNSIGNED NULL,
	filename      VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
	original_name VARCHAR(255) NULL,
	mime          VARCHAR(127) NOT NULL DEFAULT 'application/octet-stream',
	size          BIGINT UNSIGNED NOT NULL DEFAULT 0,
	sha256        CHAR(64) COLLATE utf8mb4_bin NULL,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_media_files_filename (filename),
	KEY ix_media_files_session (wa_session_id),
	KEY ix_media_files_user (user_id),
	CONSTRAINT ck_media_files_filename CHECK (filename REGEXP '^[A-Za-z0-9][A-Za-z0-9._-]*$' AND filename NOT LIKE '%..%'),
	CONSTRAINT fk_media_files_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE,
	CONSTRAINT fk_media_files_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- ---------------------------------------------------------------------------
-- Notifications and system settings
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS notifications (
	id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	user_id    BIGINT UNSIGNED NOT NULL,
	title      VARCHAR(255) NOT NULL,
	message    TEXT NOT NULL,
	type       ENUM('INFO','SUCCESS','WARNING','ERROR','SYSTEM') NOT NULL DEFAULT 'INFO',
	href       VARCHAR(2048) NULL,
	is_read    TINYINT(1) NOT NULL DEFAULT 0,
	read_at    DATETIME(3) NULL,
	created_by BIGINT UNSIGNED NULL,
	created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	KEY ix_notifications_user (user_id, created_at),
	KEY ix_notifications_unread (user_id, is_read),
	CONSTRAINT fk_notifications_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_notifications_created_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- `key` is a reserved word in MariaDB: always write it back-quoted.
CREATE TABLE IF NOT EXISTS system_settings (
	`key`      VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
	value      TEXT NOT NULL,
	updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The settings GET/POST /api/settings/system exposes, plus registration.
-- INSERT IGNORE keeps values an administrator already changed.
INSERT IGNORE INTO system_settings (`key`, value) VALUES
	('app_name', 'WA-AKG'),
	('logo_url', ''),
	('favicon_url', ''),
	('timezone', 'Asia/Jakarta'),
	('enable_registration', 'true');
