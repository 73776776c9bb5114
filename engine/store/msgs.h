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
	const char *status;      /* PENDING, SENT, DELIVERED, ... */
	int64_t t;               /* unix seconds */
	const char *event;       /* event name for the outbox, e.g. "message.received"; NULL = none */
	const char *payload;     /* its JSON data */
	int history;             /* from a history sync: the chat row is not touched */
};

/* What a message's content comes to, for storing: the type and text of
 * the kinds stored today (text: conversation, extendedTextMessage with its
 * quoted id), unwrapped from the ephemeral wrapper. Pointers into m. 0, or
 * -1 for a kind not stored yet. Pure; any thread. */
struct WaE2E__Message;
struct wa_msg_content {
	const char *type;
	const char *text;
	const char *quoted_id;
};
int wa_msgs_content(const struct WaE2E__Message *m, struct wa_msg_content *c);

/* One event in events_outbox (inside the caller's transaction, like
 * everything here); *id (may be NULL) gets its row id. 0 or WA_ESTORAGE. */
int wa_outbox_add(struct wa_db *db, uint64_t session_row, const char *event, const char *payload, uint64_t *id);

/* The data of a message event (message.received / message.sent,
 * docs/engine.md) for m of session slug: key, id, remoteJid, fromMe,
 * sender and pushName (when set), type, content, quotedId and mentions
 * (when set), the
 * ISO and the unix timestamp. New string (free()) or NULL. Any thread. */
char *wa_msgs_event_payload(const char *slug, const struct wa_msg_row *m);

/* Store m (see above); *outbox_id gets the event's row id (0 without one). */
int wa_msgs_store(struct wa_db *db, uint64_t session_row, const struct wa_msg_row *m, uint64_t *outbox_id);

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
 * sets content (when its new content is a kind stored) and edited = 1, a
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
	uint64_t outbox_id;
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

#endif
