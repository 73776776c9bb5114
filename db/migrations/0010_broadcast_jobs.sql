-- 0010_broadcast_jobs.sql: broadcasts (and spam) as resumable jobs the
-- engine that holds the session runs (docs/engine.md, "Broadcasts").
-- broadcasts.content is the API's message (a JSON string or content
-- object) and next_at when the next recipient is due (the anti-ban pause
-- is set when a send is claimed). A recipient is SENDING between the
-- transaction that records its message and WhatsApp's ack; sent_count
-- counts its sends (a spam recipient gets repeat_count of them);
-- claimed_at is when its current send was recorded.
-- Idempotent: ADD COLUMN IF NOT EXISTS, and MODIFY to the same definition.

SET NAMES utf8mb4;

ALTER TABLE broadcasts
	ADD COLUMN IF NOT EXISTS content LONGTEXT NULL CHECK (content IS NULL OR JSON_VALID(content)) AFTER message,
	ADD COLUMN IF NOT EXISTS next_at DATETIME(3) NULL AFTER delay_max_ms,
	ADD COLUMN IF NOT EXISTS last_error VARCHAR(1024) NULL AFTER next_at;

ALTER TABLE broadcast_recipients
	MODIFY status ENUM('PENDING','SENDING','SENT','FAILED','SKIPPED') NOT NULL DEFAULT 'PENDING',
	ADD COLUMN IF NOT EXISTS claimed_at DATETIME(3) NULL AFTER sent_at;
