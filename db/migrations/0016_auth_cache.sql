-- 0016_auth_cache.sql: what lets the workers answer a credential from a
-- cache without breaking the revocation rule (fcgi/authcache.h has the
-- whole design).
--
-- auth_epoch: one row, one counter. Every change that can take a right
-- away bumps it, in the writer's own transaction, whoever writes (the
-- workers, wa-akg-admin, a DBA's SQL): the triggers below on the tables the
-- credential lookup reads (fcgi/auth.c):
--   api_keys       UPDATE of key_hash or user_id (not the once-a-minute
--                  last_used_at), DELETE
--   users          UPDATE (role, name, email, password), DELETE (its keys,
--                  web sessions and grants go by FK cascade, which fires no
--                  trigger: the users trigger covers them)
--   web_sessions   UPDATE, DELETE (sign-out, password change, expiry)
--   session_access INSERT, UPDATE, DELETE (a grant given is cached too)
--   wa_sessions    DELETE (its grants go by cascade), UPDATE of user_id or
--                  session_id
-- A new key, user or web session bumps nothing: nothing negative is cached.
--
-- worker_leases: one row per worker process that caches. A worker may answer
-- from its cache only while its lease holds and acknowledges the current
-- epoch; a request that bumped the epoch answers only once every row has
-- epoch_seen >= the epoch, or lease_until has passed.
--
-- Idempotent: CREATE TABLE / TRIGGER IF NOT EXISTS, INSERT IGNORE.

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS auth_epoch (
	id    TINYINT UNSIGNED NOT NULL,
	epoch BIGINT UNSIGNED NOT NULL,
	PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO auth_epoch (id, epoch) VALUES (1, 1);

CREATE TABLE IF NOT EXISTS worker_leases (
	id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	host        VARCHAR(255) NOT NULL,
	pid         INT UNSIGNED NOT NULL,
	epoch_seen  BIGINT UNSIGNED NOT NULL,
	lease_until DATETIME(3) NOT NULL,
	started_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	KEY ix_worker_leases_until (lease_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- (an IF, not a WHERE: an UPDATE whose WHERE rejects the row would still
-- lock it until the writer commits, and serialise every last_used_at write
-- and every engine status change on the auth_epoch row)
CREATE TRIGGER IF NOT EXISTS trg_api_keys_epoch_upd AFTER UPDATE ON api_keys FOR EACH ROW
	IF NOT (OLD.key_hash <=> NEW.key_hash AND OLD.user_id <=> NEW.user_id) THEN
		UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;
	END IF;
CREATE TRIGGER IF NOT EXISTS trg_api_keys_epoch_del AFTER DELETE ON api_keys FOR EACH ROW
	UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;

CREATE TRIGGER IF NOT EXISTS trg_users_epoch_upd AFTER UPDATE ON users FOR EACH ROW
	UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;
CREATE TRIGGER IF NOT EXISTS trg_users_epoch_del AFTER DELETE ON users FOR EACH ROW
	UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;

CREATE TRIGGER IF NOT EXISTS trg_web_sessions_epoch_upd AFTER UPDATE ON web_sessions FOR EACH ROW
	UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;
CREATE TRIGGER IF NOT EXISTS trg_web_sessions_epoch_del AFTER DELETE ON web_sessions FOR EACH ROW
	UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;

CREATE TRIGGER IF NOT EXISTS trg_session_access_epoch_ins AFTER INSERT ON session_access FOR EACH ROW
	UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;
CREATE TRIGGER IF NOT EXISTS trg_session_access_epoch_upd AFTER UPDATE ON session_access FOR EACH ROW
	UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;
CREATE TRIGGER IF NOT EXISTS trg_session_access_epoch_del AFTER DELETE ON session_access FOR EACH ROW
	UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;

CREATE TRIGGER IF NOT EXISTS trg_wa_sessions_epoch_upd AFTER UPDATE ON wa_sessions FOR EACH ROW
	IF NOT (OLD.user_id <=> NEW.user_id AND OLD.session_id <=> NEW.session_id) THEN
		UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;
	END IF;
CREATE TRIGGER IF NOT EXISTS trg_wa_sessions_epoch_del AFTER DELETE ON wa_sessions FOR EACH ROW
	UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;
