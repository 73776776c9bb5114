-- 0019_session_cfg_ver.sql: a version number per WhatsApp session of the
-- parts of its answer that change only when someone configures it -- its
-- bot_configs row and its webhooks -- so that a worker may keep those parts
-- of GET /api/sessions and /api/sessions/{id} in memory (fcgi/sesscache.h)
-- and read only the session row and its counts per request.
--
-- session_counts.cfg_ver is bumped by triggers on bot_configs and webhooks,
-- in the transaction of the statement that changes the rows, whoever writes
-- them (the workers, wa-akg-hooks switching a webhook off, a DBA). A reader
-- reads cfg_ver in the same statement as the session row: a cached part is
-- used only under the version it was read with, so a change is seen by the
-- next request on every worker, with no wait and no invalidation message.
-- A webhook moved between sessions bumps both; one without a session
-- (wa_session_id NULL) is no session's. The one path that fires no trigger
-- is an FK cascade. The cascades into these tables are the deletion of the
-- session itself (its session_counts row goes by the same cascade) and of a
-- user, which takes the user's webhooks with it, also those on sessions of
-- other users the user was granted: a BEFORE DELETE trigger on users bumps
-- those sessions first. (TRUNCATE fires no trigger either: restart the
-- workers after truncating bot_configs or webhooks by hand.)
--
-- The version lives in session_counts rather than wa_sessions because a
-- trigger may not write the table its statement reads (error 1442), and
-- statements such as INSERT INTO webhooks ... SELECT ... FROM wa_sessions
-- are fair for a DBA to run.
-- Idempotent: ADD COLUMN / CREATE TRIGGER IF NOT EXISTS.

SET NAMES utf8mb4;

ALTER TABLE session_counts ADD COLUMN IF NOT EXISTS cfg_ver BIGINT UNSIGNED NOT NULL DEFAULT 0;

CREATE TRIGGER IF NOT EXISTS trg_bot_configs_ver_ins AFTER INSERT ON bot_configs FOR EACH ROW
	INSERT INTO session_counts (wa_session_id, cfg_ver) VALUES (NEW.wa_session_id, 1)
	ON DUPLICATE KEY UPDATE cfg_ver = cfg_ver + 1;
CREATE TRIGGER IF NOT EXISTS trg_bot_configs_ver_upd AFTER UPDATE ON bot_configs FOR EACH ROW
BEGIN
	INSERT INTO session_counts (wa_session_id, cfg_ver) VALUES (NEW.wa_session_id, 1)
	ON DUPLICATE KEY UPDATE cfg_ver = cfg_ver + 1;
	IF NOT (OLD.wa_session_id <=> NEW.wa_session_id) THEN
		UPDATE session_counts SET cfg_ver = cfg_ver + 1 WHERE wa_session_id = OLD.wa_session_id;
	END IF;
END;
CREATE TRIGGER IF NOT EXISTS trg_bot_configs_ver_del AFTER DELETE ON bot_configs FOR EACH ROW
	UPDATE session_counts SET cfg_ver = cfg_ver + 1 WHERE wa_session_id = OLD.wa_session_id;

CREATE TRIGGER IF NOT EXISTS trg_webhooks_ver_ins AFTER INSERT ON webhooks FOR EACH ROW
	IF NEW.wa_session_id IS NOT NULL THEN
		INSERT INTO session_counts (wa_session_id, cfg_ver) VALUES (NEW.wa_session_id, 1)
		ON DUPLICATE KEY UPDATE cfg_ver = cfg_ver + 1;
	END IF;
CREATE TRIGGER IF NOT EXISTS trg_webhooks_ver_upd AFTER UPDATE ON webhooks FOR EACH ROW
BEGIN
	IF NEW.wa_session_id IS NOT NULL THEN
		INSERT INTO session_counts (wa_session_id, cfg_ver) VALUES (NEW.wa_session_id, 1)
		ON DUPLICATE KEY UPDATE cfg_ver = cfg_ver + 1;
	END IF;
	IF OLD.wa_session_id IS NOT NULL AND NOT (OLD.wa_session_id <=> NEW.wa_session_id) THEN
		UPDATE session_counts SET cfg_ver = cfg_ver + 1 WHERE wa_session_id = OLD.wa_session_id;
	END IF;
END;
CREATE TRIGGER IF NOT EXISTS trg_webhooks_ver_del AFTER DELETE ON webhooks FOR EACH ROW
	IF OLD.wa_session_id IS NOT NULL THEN
		UPDATE session_counts SET cfg_ver = cfg_ver + 1 WHERE wa_session_id = OLD.wa_session_id;
	END IF;

-- a user's deletion cascades to their webhooks without firing the triggers
-- above: bump every session one of them belongs to, before the cascade
CREATE TRIGGER IF NOT EXISTS trg_users_cfg_ver_del BEFORE DELETE ON users FOR EACH ROW
	UPDATE session_counts SET cfg_ver = cfg_ver + 1
	WHERE wa_session_id IN (SELECT w.wa_session_id FROM webhooks w WHERE w.user_id = OLD.id);
