-- 0009_automation.sql: scheduled_messages as the durable outbox of every
-- message the gateway sends by itself. `origin` says who asked: API (the
-- /api/scheduler routes, the only rows those routes show and change),
-- AUTO_REPLY (an auto-reply rule answering a received message) or BOT (a
-- bot command's answer). `source_message_id` is the received message an
-- AUTO_REPLY / BOT row answers: unique per session and origin, so a
-- message stored twice is answered once. The engine that holds the session
-- sends every row the same way (docs/engine.md, "Scheduled messages").
-- Idempotent: ADD COLUMN / KEY IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

ALTER TABLE scheduled_messages
	ADD COLUMN IF NOT EXISTS origin ENUM('API','AUTO_REPLY','BOT') NOT NULL DEFAULT 'API' AFTER cron_expression,
	ADD COLUMN IF NOT EXISTS source_message_id VARCHAR(128) COLLATE utf8mb4_bin NULL AFTER origin,
	ADD UNIQUE KEY IF NOT EXISTS uq_scheduled_source (wa_session_id, origin, source_message_id),
	ADD KEY IF NOT EXISTS ix_scheduled_origin_chat (wa_session_id, origin, jid, created_at);
