-- 0011_message_kinds.sql: what the engine keeps of every message kind it
-- receives (docs/engine.md, "What is stored per kind").
--   messages.meta: a JSON object of the kind's own fields (location,
--     contact cards, the poll's options and its tally, link preview, voice
--     note, file name, ...); NULL when the kind has none. Read by the
--     history and search routes as "meta" and published in the events.
--   message_reactions: one reaction per (session, target message, reacting
--     user); an empty emoji is a removed reaction, kept (with its time) so
--     an older reaction that arrives late does not come back. The newest
--     emoji left is copied into messages.reaction.
--   poll_votes: one vote per (session, poll, voter), the option names the
--     decrypted vote selected (last vote wins, by the voter's time); the
--     tally is copied into the poll's messages.meta. A vote for a poll not
--     stored is kept encrypted (selected NULL, enc_* set) and counted when
--     the poll arrives.
-- Written by the engine in the transaction that decrypted the stanza;
-- cascades from wa_sessions.
-- Idempotent: ADD COLUMN IF NOT EXISTS / CREATE TABLE IF NOT EXISTS only.

SET NAMES utf8mb4;

ALTER TABLE messages ADD COLUMN IF NOT EXISTS meta MEDIUMTEXT NULL AFTER mentions;

CREATE TABLE IF NOT EXISTS message_reactions (
	wa_session_id BIGINT UNSIGNED NOT NULL,
	target_id     VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
	sender_jid    VARCHAR(128) NOT NULL,
	reaction_id   VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
	remote_jid    VARCHAR(128) NOT NULL,
	from_me       TINYINT(1) NOT NULL DEFAULT 0,
	emoji         VARCHAR(64) NOT NULL DEFAULT '',
	t_ms          BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (wa_session_id, target_id, sender_jid),
	KEY ix_message_reactions_id (wa_session_id, reaction_id),
	CONSTRAINT fk_message_reactions_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS poll_votes (
	wa_session_id BIGINT UNSIGNED NOT NULL,
	poll_id       VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
	voter_jid     VARCHAR(128) NOT NULL,
	vote_id       VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
	remote_jid    VARCHAR(128) NOT NULL,
	from_me       TINYINT(1) NOT NULL DEFAULT 0,
	selected      TEXT NULL,
	enc_payload   VARBINARY(4096) NULL,
	enc_iv        VARBINARY(64) NULL,
	t_ms          BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (wa_session_id, poll_id, voter_jid),
	KEY ix_poll_votes_id (wa_session_id, vote_id),
	CONSTRAINT fk_poll_votes_session FOREIGN KEY (wa_session_id) REFERENCES wa_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
