-- 0020_lid_map.sql: what each WhatsApp session knows of which phone number
-- a LID (WhatsApp's hidden user id, "<digits>@lid") stands for.
--
-- The engine names a peer device's Signal session by its phone number
-- whenever it knows the number, whether a message is addressed to the LID
-- or to the number, so that one device of the peer has one session with us
-- (engine/store/lidmap.h). It learns a mapping from the usync answer to a
-- query by LID (pn_jid) and from the sender_pn / participant_pn of a
-- LID-addressed stanza; a later mapping for the same LID replaces the old.
-- Rows go with their session (FK cascade).
-- Idempotent: CREATE TABLE IF NOT EXISTS.

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS lid_map (
	wa_session_id BIGINT UNSIGNED NOT NULL,
	lid           VARCHAR(64) NOT NULL,
	pn            VARCHAR(32) NOT NULL,
	updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	PRIMARY KEY (wa_session_id, lid),
	KEY ix_lid_map_pn (wa_session_id, pn),
	CONSTRAINT fk_lid_map_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
