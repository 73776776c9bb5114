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

#endif
