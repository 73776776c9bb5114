-- 0014_session_counts.sql: how many contacts, messages, groups (not left),
-- auto-replies and scheduled messages each WhatsApp session has, kept in one
-- row per session so that GET /api/sessions and /api/sessions/{id} read five
-- columns instead of running five COUNT(*) subqueries per session (which
-- MariaDB optimises again at every execution, and whose cost grows with the
-- messages table).
--
-- The counts are kept by triggers on the five tables, in the transaction of
-- the statement that changes the rows, whoever writes them (the engine, the
-- workers, a DBA): an insert adds one, a delete takes one off, a group whose
-- left_at changes between NULL and a time moves in or out of `groups_`.
-- The one path that fires no trigger is an FK cascade, and the only cascade
-- into these tables is the deletion of the session itself (or of its user),
-- which removes its session_counts row by the same cascade. TRUNCATE of one
-- of these tables also fires none: recount with the backfill below after one.
--
-- A session without a row has nothing counted yet (the readers COALESCE to
-- 0); the first insert creates the row (upsert). The counts are signed so
-- that a delete racing the backfill of an old database cannot wrap.
--
-- Backfill: one INSERT ... SELECT of the current counts. InnoDB takes shared
-- locks on the rows it counts (INSERT ... SELECT is a locking read), so a
-- concurrent insert waits for it and its trigger then adds to the backfilled
-- row. Re-running it (a half-applied file) sets the counts again.
-- Idempotent: CREATE TABLE / TRIGGER IF NOT EXISTS, an upsert.

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS session_counts (
	wa_session_id BIGINT UNSIGNED NOT NULL,
	contacts      BIGINT NOT NULL DEFAULT 0,
	messages      BIGINT NOT NULL DEFAULT 0,
	groups_       BIGINT NOT NULL DEFAULT 0,
	auto_replies  BIGINT NOT NULL DEFAULT 0,
	scheduled     BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (wa_session_id),
	CONSTRAINT fk_session_counts_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TRIGGER IF NOT EXISTS trg_contacts_count_ins AFTER INSERT ON contacts FOR EACH ROW
	INSERT INTO session_counts (wa_session_id, contacts) VALUES (NEW.wa_session_id, 1)
	ON DUPLICATE KEY UPDATE contacts = contacts + 1;
CREATE TRIGGER IF NOT EXISTS trg_contacts_count_del AFTER DELETE ON contacts FOR EACH ROW
	UPDATE session_counts SET contacts = contacts - 1 WHERE wa_session_id = OLD.wa_session_id;

CREATE TRIGGER IF NOT EXISTS trg_messages_count_ins AFTER INSERT ON messages FOR EACH ROW
	INSERT INTO session_counts (wa_session_id, messages) VALUES (NEW.wa_session_id, 1)
	ON DUPLICATE KEY UPDATE messages = messages + 1;
CREATE TRIGGER IF NOT EXISTS trg_messages_count_del AFTER DELETE ON messages FOR EACH ROW
	UPDATE session_counts SET messages = messages - 1 WHERE wa_session_id = OLD.wa_session_id;

CREATE TRIGGER IF NOT EXISTS trg_wa_groups_count_ins AFTER INSERT ON wa_groups FOR EACH ROW
	INSERT INTO session_counts (wa_session_id, groups_) VALUES (NEW.wa_session_id, NEW.left_at IS NULL)
	ON DUPLICATE KEY UPDATE groups_ = groups_ + (NEW.left_at IS NULL);
CREATE TRIGGER IF NOT EXISTS trg_wa_groups_count_upd AFTER UPDATE ON wa_groups FOR EACH ROW
	UPDATE session_counts SET groups_ = groups_ + (NEW.left_at IS NULL) - (OLD.left_at IS NULL)
	WHERE wa_session_id = NEW.wa_session_id AND (NEW.left_at IS NULL) <> (OLD.left_at IS NULL);
CREATE TRIGGER IF NOT EXISTS trg_wa_groups_count_del AFTER DELETE ON wa_groups FOR EACH ROW
	UPDATE session_counts SET groups_ = groups_ - (OLD.left_at IS NULL) WHERE wa_session_id = OLD.wa_session_id;

CREATE TRIGGER IF NOT EXISTS trg_auto_replies_count_ins AFTER INSERT ON auto_replies FOR EACH ROW
	INSERT INTO session_counts (wa_session_id, auto_replies) VALUES (NEW.wa_session_id, 1)
	ON DUPLICATE KEY UPDATE auto_replies = auto_replies + 1;
CREATE TRIGGER IF NOT EXISTS trg_auto_replies_count_del AFTER DELETE ON auto_replies FOR EACH ROW
	UPDATE session_counts SET auto_replies = auto_replies - 1 WHERE wa_session_id = OLD.wa_session_id;

-- the user's scheduled messages only (origin API, 0009), not auto-reply or bot answers
CREATE TRIGGER IF NOT EXISTS trg_scheduled_count_ins AFTER INSERT ON scheduled_messages FOR EACH ROW
	INSERT INTO session_counts (wa_session_id, scheduled) SELECT NEW.wa_session_id, 1 FROM DUAL
	WHERE NEW.origin = 'API'
	ON DUPLICATE KEY UPDATE scheduled = scheduled + 1;
CREATE TRIGGER IF NOT EXISTS trg_scheduled_count_del AFTER DELETE ON scheduled_messages FOR EACH ROW
	UPDATE session_counts SET scheduled = scheduled - 1 WHERE wa_session_id = OLD.wa_session_id
	AND OLD.origin = 'API';

INSERT INTO session_counts (wa_session_id, contacts, messages, groups_, auto_replies, scheduled)
SELECT s.id,
	(SELECT COUNT(*) FROM contacts c WHERE c.wa_session_id = s.id),
	(SELECT COUNT(*) FROM messages m WHERE m.wa_session_id = s.id),
	(SELECT COUNT(*) FROM wa_groups g WHERE g.wa_session_id = s.id AND g.left_at IS NULL),
	(SELECT COUNT(*) FROM auto_replies a WHERE a.wa_session_id = s.id),
	(SELECT COUNT(*) FROM scheduled_messages x WHERE x.wa_session_id = s.id AND x.origin = 'API')
FROM wa_sessions s
ON DUPLICATE KEY UPDATE contacts = VALUES(contacts), messages = VALUES(messages), groups_ = VALUES(groups_),
	auto_replies = VALUES(auto_replies), scheduled = VALUES(scheduled);
