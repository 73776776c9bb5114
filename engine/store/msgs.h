/* engine/store/msgs: messages, their chats and senders, as the engine
 * stores them (the messages, chats and contacts tables of
 * db/migrations/0001_core.sql) together with the event they produce.
 *
 * One call stores one message: the row (unique on session + message id),
 * the chat's last-message time and unread count, the sender's push name,
 * and the event in events_outbox. It runs inside the caller's transaction
 * (the caller commits, so the Signal state that decrypted the message, the
 * message and its event land together or not at all: the durability rule).
 *
 * Strings from the network that are not UTF-8 (a text, a push name, an
 * id) are stored and published with U+FFFD for each bad byte
 * (wa_utf8_repair): JSON and utf8mb4 refuse them, and a message that
 * cannot be stored is offered again by the server forever.
 *
 * Threading: blocking database work, dbpool threads only. Errors: 0, or
 * WA_ECONFLICT when the message is already stored (nothing written), or
 * WA_ESTORAGE / WA_ENOMEM. */
#ifndef WA_STORE_MSGS_H
#define WA_STORE_MSGS_H

#include <stddef.h>
#include <stdint.h>

struct wa_db;

struct wa_msg_row {
	const char *chat;        /* remote_jid: the chat (user or group JID, no device) */
	const char *id;          /* the WhatsApp message id */
	int from_me;
	const char *sender;      /* sender_jid (user JID, no device); NULL = none */
	const char *sender_pn;   /* a LID sender's phone-number JID, when known (events only); NULL = none */
	const char *push_name;   /* the sender's push name (notify); NULL = none */
	const char *type;        /* TEXT, IMAGE, ... */
	const char *content;     /* text; NULL = none */
	const char *caption;     /* a media message's caption; NULL = none */
	const char *media_mime;  /* a media message's mimetype; NULL = none */
	uint64_t media_size;     /* its fileLength; 0 = none (stored NULL) */
	const uint8_t *raw;      /* the WaE2E.Message as received or sent (protobuf), */
	size_t raw_len;          /* the source for download, resend, poll votes; NULL = none */
	const char *quoted_id;   /* the message replied to; NULL = none */
	const char *mentions;    /* the JIDs mentioned, a JSON array; NULL = none */
	const char *meta;        /* the kind's own fields, a JSON object (wa_msgs_meta); NULL = none */
	const char *status;      /* PENDING, SENT, DELIVERED, ... */
	int64_t t;               /* unix seconds */
	const char *event;       /* event name for the outbox, e.g. "message.received"; NULL = none */
	const char *payload;     /* its JSON data */
	int history;             /* from a history sync: the chat row is not touched */
	int event_later;         /* the event by wa_outbox_add_later (*outbox_id lives until the commit) */
	int row_later;           /* our own new message: its row too is written at the commit
				  * (msgs_held.h; the caller needs no conflict answer) */
};

/* What a message's content comes to, for storing (docs/engine.md, "What
 * is stored per kind"). The content is looked for inside the wrappers
 * WhatsApp puts around it (deviceSentMessage, ephemeral, viewOnce v1/v2/
 * v2 extension, documentWithCaption, lottie sticker), at most a few
 * levels deep.
 *
 *   kind ROW: a messages row of `type`: TEXT (conversation,
 *     extendedTextMessage with its link preview), IMAGE, VIDEO (video and
 *     round video notes), AUDIO (voice notes too: meta.ptt), DOCUMENT,
 *     STICKER, LOCATION (live location too: meta.live), CONTACT (one card
 *     or an array), POLL (creation v1/v2/v3), or UNKNOWN for any other
 *     content (kept with its protobuf, never dropped). `text` is the
 *     content column: the text, the caption, a document's caption or
 *     file name, a location's name, the contact's display name, the
 *     poll's question; NULL when there is none.
 *   kind REACTION: `reaction` (stored on its target, wa_msgs_react).
 *   kind POLL_VOTE: `vote` (decrypted and tallied, wa_msgs_poll_vote).
 *
 * quoted_id / quoted_participant / ctx come from the contextInfo of any
 * kind (ctx: mentions). Pointers into m. 0, or -1 when m carries nothing
 * to store as a message (empty, only a sender key, only a
 * messageContextInfo, a protocol message: those are handled elsewhere).
 * Pure; any thread (fuzzed: tests/fuzz/fuzz_msgs_content.c). */
struct WaE2E__Message;
struct WaE2E__ContextInfo;
struct WaE2E__ReactionMessage;
struct WaE2E__PollUpdateMessage;
enum wa_msg_kind { WA_MSGK_ROW = 0, WA_MSGK_REACTION, WA_MSGK_POLL_VOTE };
struct wa_msg_content {
	enum wa_msg_kind kind;
	const char *type;
	const char *text;
	const char *caption;       /* a media message's caption */
	const char *mime;          /* a media message's mimetype */
	uint64_t size;             /* its fileLength */
	const char *quoted_id;
	const char *quoted_participant;
	const struct WaE2E__ContextInfo *ctx;
	const struct WaE2E__Message *m;   /* the unwrapped message holding the content */
	int view_once;
	const struct WaE2E__ReactionMessage *reaction;
	const struct WaE2E__PollUpdateMessage *vote;
};
int wa_msgs_content(const struct WaE2E__Message *m, struct wa_msg_content *c);

/* The kind's own fields as the JSON object text stored in messages.meta
 * and published as the event's "meta" (docs/engine.md): location, contact
 * cards, poll (name, options, selectableCount), link preview, ptt,
 * seconds, gif, fileName, pageCount, width/height, viewOnce, forwarded.
 * New string (free()), NULL when there is nothing to say (*err 0) or out
 * of memory (*err 1). Any thread. */
char *wa_msgs_meta(const struct wa_msg_content *c, int *err);

/* The mentioned JIDs of ctx as a JSON array text (the mentions column),
 * NULL when none (*err 0) or out of memory (*err 1). */
char *wa_msgs_mentions(const struct WaE2E__ContextInfo *ctx, int *err);

/* What downloading a message's media needs, from its protobuf (the media
 * message inside the wrappers above). 0, or -1 when m has no downloadable
 * media (no media key or no direct path / URL). Pointers into m. Pure. */
struct wa_msg_media {
	int mtype;                 /* enum wa_media_type: the keys' HKDF info */
	const char *mms_type;      /* the download's mms-type ("image", ...) */
	const char *direct_path;   /* NULL: use url */
	const char *url;
	const uint8_t *media_key;  /* 32 bytes */
	const uint8_t *enc_sha256; /* 32 bytes or NULL */
	const uint8_t *sha256;     /* 32 bytes or NULL */
	const char *mime;
	uint64_t size;
	const char *file_name;
};
int wa_msgs_media(const struct WaE2E__Message *m, struct wa_msg_media *md);

/* One event in events_outbox (inside the caller's transaction, like
 * everything here); *id (may be NULL) gets its row id. 0 or WA_ESTORAGE. */
int wa_outbox_add(struct wa_db *db, uint64_t session_row, const char *event, const char *payload, uint64_t *id);

/* The same, held back to the end of the transaction (wa_db_at_commit):
 * every event a transaction (or a dbpool batch) adds this way is written
 * by a few multi-row INSERTs just before its COMMIT, instead of one
 * statement each. event and payload are copied. *id (may be NULL) is set
 * only then, so it must stay valid until the commit (a field of the job,
 * read in its done()); it stays 0 when the transaction does not commit.
 * Row ids are consecutive within one INSERT under InnoDB's default
 * innodb_autoinc_lock_mode (1); with 2 (interleaved), read once per
 * process, every row is its own INSERT. Outside a transaction it is
 * wa_outbox_add. 0, WA_ENOMEM or WA_ESTORAGE. */
int wa_outbox_add_later(struct wa_db *db, uint64_t session_row, const char *event, const char *payload,
			uint64_t *id);

/* The data of a message event (message.received / message.sent,
 * docs/engine.md) for m of session slug: key, id, remoteJid, fromMe,
 * sender and pushName (when set), type, content, quotedId and mentions
 * (when set), caption, mimetype, fileLength and hasMedia (media kinds),
 * meta (the kind's own fields, when set), the ISO and the unix timestamp. New string (free()) or NULL. Any thread. */
char *wa_msgs_event_payload(const char *slug, const struct wa_msg_row *m);

/* Store m (see above); *outbox_id gets the event's row id (0 without one).
 * In a transaction the chat row's upsert, and with row_later (from_me) the
 * message row, are held back to the commit (msgs_held.h): 0 then says
 * only that they will be written with it. */
int wa_msgs_store(struct wa_db *db, uint64_t session_row, const struct wa_msg_row *m, uint64_t *outbox_id);

/* Write the chat rows held back so far in db's transaction now (0, or
 * WA_ESTORAGE). Whatever else reads or writes `chats` in the engine's
 * transactions calls it first, so that it sees, and is ordered after,
 * the messages stored before it. */
int wa_msgs_chats_settle(struct wa_db *db);

/* ---- edits and revokes (db/migrations/0007_message_updates.sql) ----
 *
 * An edit or a revoke ("delete for everyone") of a stored message, as it
 * came in one stanza: recorded under the stanza's own id (unique, so a
 * redelivery changes nothing twice) and applied to its target when the
 * sender may: an edit only by the target's sender (ours: one of our
 * devices), in the target's chat; a revoke by the target's sender, or in
 * a group by an admin (the stanza's edit="8"; the server checks the
 * admin, we check the group). A target that is not stored yet keeps the
 * record waiting until it is (wa_msgs_apply_pending). Applying: an edit
 * sets content (and a media message's caption) to its new text, when it
 * has one, and edited = 1, a
 * newer edit wins over an older one; a revoke sets deleted = 1 and clears
 * content and caption; nothing changes a deleted message. */
struct wa_msg_update {
	const char *chat;          /* the chat it came in (user or group JID) */
	const char *id;            /* the edit/revoke stanza's message id */
	const char *target;        /* the message it changes */
	int from_me;               /* sent by one of our own devices */
	const char *sender;        /* its sender (user JID, no device) */
	int revoke;                /* 1 revoke, 0 edit */
	int by_admin;              /* a group admin's revoke of someone else's message */
	const char *target_sender; /* the target's sender as the key names it (user JID); NULL = none */
	const char *content;       /* edit: the new text; NULL = a kind not stored */
	int64_t t_ms;              /* its time (ms) */
};

/* What applying came to. */
enum wa_msg_upd_state {
	WA_MSGUPD_PENDING = 0,     /* target not stored: recorded, waits */
	WA_MSGUPD_APPLIED = 1,     /* target changed: an event was written */
	WA_MSGUPD_REFUSED = 2,     /* not allowed (another sender, another chat) */
	WA_MSGUPD_NOCHANGE = 3,    /* target deleted already, or a newer edit applied */
};

/* An event an update wrote (message.edited / message.deleted). */
struct wa_msg_upd_event {
	const char *event;         /* NULL = none */
	char *payload;             /* its JSON data (free()) */
	uint64_t outbox_id;        /* set at the commit (wa_outbox_add_later): keep ev until then */
	int64_t t_ms;
};

/* Record u for session row (slug for the payload) and apply it; *state
 * gets the outcome, *ev the event when applied (docs/engine.md shapes).
 * 0, WA_ECONFLICT when u->id was recorded before (nothing written), or
 * WA_ESTORAGE / WA_ENOMEM. Inside the caller's transaction. */
int wa_msgs_update(struct wa_db *db, uint64_t session_row, const char *slug, const struct wa_msg_update *u,
		   enum wa_msg_upd_state *state, struct wa_msg_upd_event *ev);

/* m was just stored: apply the updates that waited for it (a revoke wins,
 * else the newest edit); *ev the event if one applied (event NULL when
 * none). 0 or WA_ESTORAGE / WA_ENOMEM. Inside the caller's transaction. */
int wa_msgs_apply_pending(struct wa_db *db, uint64_t session_row, const char *slug, const struct wa_msg_row *m,
			  struct wa_msg_upd_event *ev);

/* The edit or revoke m carries (a protocolMessage of type MESSAGE_EDIT or
 * REVOKE with a key, also inside the editedMessage and ephemeral
 * wrappers), or NULL. Pure; any thread. */
struct WaE2E__ProtocolMessage;
const struct WaE2E__ProtocolMessage *wa_msgs_edit_or_revoke(const struct WaE2E__Message *m);

/* ---- reactions and poll votes (db/migrations/0011_message_kinds.sql;
 * engine/store/reactions.c) ----
 *
 * A reaction is kept per (target message, reacting user): a newer one
 * (by the sender's timestamp) replaces it, an empty emoji removes it (the
 * removal is kept, so an older reaction arriving late changes nothing).
 * messages.reaction of the target gets the newest emoji left (NULL when
 * none); a target not stored yet gets it when it arrives
 * (wa_msgs_took_waiting).
 * A poll vote is decrypted with the poll's messageSecret (kept in the
 * poll's raw protobuf, §7.7), its option hashes turned back into the
 * option names, kept per (poll, voter) (last vote wins) and the tally
 * written into the poll's messages.meta ("poll": {"votes", "voters"}).
 * A vote for a poll not stored is kept encrypted and counted when the
 * poll is stored (wa_msgs_took_waiting). Both record their stanza id: a
 * redelivery is WA_ECONFLICT (nothing written). Inside the caller's
 * transaction; dbpool threads. */
struct wa_msg_react {
	const char *chat;          /* the chat it came in */
	const char *id;            /* the reaction stanza's id */
	const char *target;        /* key.id */
	const char *sender;        /* the reacting user (user JID; ours when from_me) */
	int from_me;
	const char *push_name;     /* NULL = none */
	const char *emoji;         /* "" removes */
	int64_t t_ms;
};

/* Store r; *ev gets message.reaction (docs/engine.md) unless it changed
 * nothing (an older reaction: event NULL). 0, WA_ECONFLICT, WA_ESTORAGE,
 * WA_ENOMEM. */
int wa_msgs_react(struct wa_db *db, uint64_t session_row, const char *slug, const struct wa_msg_react *r,
		  struct wa_msg_upd_event *ev);

struct wa_msg_vote {
	const char *chat;
	const char *id;            /* the vote stanza's id */
	const char *voter;         /* user JID (ours when from_me) */
	int from_me;
	const char *me;            /* our own user JID (the poll's creator when the poll is ours) */
	const struct WaE2E__PollUpdateMessage *vote;
	int64_t t_ms;
};

/* Store v; *ev gets poll.vote when it was counted (event NULL when the
 * poll is not stored, or the vote does not decrypt: then it is kept
 * encrypted, and WA_ECRYPTO is not returned: the stanza is answered).
 * 0, WA_ECONFLICT, WA_EPROTO (no poll key), WA_ESTORAGE, WA_ENOMEM. */
int wa_msgs_poll_vote(struct wa_db *db, uint64_t session_row, const char *slug, const struct wa_msg_vote *v,
		      struct wa_msg_upd_event *ev);

/* m (a POLL) was just stored: count the votes that waited for it (no
 * event). And for any m: copy the newest reaction that waited for it into
 * messages.reaction. 0 or WA_ESTORAGE / WA_ENOMEM. The receivers call it
 * after wa_msgs_store (sess_recv, history). */
int wa_msgs_took_waiting(struct wa_db *db, uint64_t session_row, const struct wa_msg_row *m);

#endif
