/* engine/store/outmsg: the API's message object (the reference's /send and
 * /reply bodies: a Baileys-style content object) as the WaE2E.Message that
 * goes on the wire and the fields of its messages row.
 *
 * Two steps, so that bad input is refused before anything is stored or
 * sent:
 *   wa_out_parse   (loop thread, pure) checks the command's arguments:
 *                  text (the message as a string, or message.text),
 *                  mentions (top-level "mentions" and/or message.mentions,
 *                  user JIDs), the message replied to ("messageId", set by
 *                  both /reply routes);
 *   wa_out_build   (dbpool thread) reads the message replied to from the
 *                  session's messages table and makes the WaE2E.Message:
 *                  conversation for plain text, extendedTextMessage with a
 *                  contextInfo (stanzaId, participant, quotedMessage,
 *                  remoteJid when the quoted message is of another chat,
 *                  mentionedJid) otherwise, as WhatsApp clients send them
 *                  (docs/protocol.md §7.6).
 * A stored message is sent again (§8.4) from its protobuf as recorded
 * (messages.raw): wa_out_from_raw; a row from before raw was kept is
 * rebuilt from its content, quoted_id and mentions: wa_out_from_row.
 *
 * Ownership: a struct wa_out owns everything it points to; wa_out_free
 * releases it (safe on a zeroed or half-filled one). Not shared between
 * threads while in use (the send job hands it from the loop to one db
 * thread and back). */
#ifndef WA_STORE_OUTMSG_H
#define WA_STORE_OUTMSG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define WA_OUT_TEXT_MAX 65536
#define WA_OUT_MENTIONS_MAX 1024

struct wa_db;
struct WaE2E__Message;

struct wa_out {
	/* the request (wa_out_parse / wa_out_from_row) */
	char *text;
	char **mentions;              /* normalised user JIDs */
	size_t nmentions;
	char *quoted_id;              /* NULL: not a reply */
	/* built (wa_out_build) */
	struct WaE2E__Message *msg;   /* unpacked, owned */
	char *mentions_json;          /* the mentions column: JSON array, NULL = none */
	char *quoted_chat;            /* the quoted message's chat */
	char *quoted_participant;     /* its sender (contextInfo.participant) */
	/* the messages row beyond text (set by the kind that builds msg) */
	const char *type;             /* messages.type, static; NULL = "TEXT" */
	char *caption;                /* a media message's caption; NULL = none */
	char *media_mime;             /* its mimetype; NULL = none */
	uint64_t media_size;          /* its fileLength; 0 = none */
};

/* Outcome of wa_out_parse: 0 ok, or the HTTP status to answer (400 bad
 * input, 501 a message kind this engine does not send yet) with *why set
 * to a static message and *code to the error code. */
int wa_out_parse(struct wa_out *o, const json_t *args, const char **why, const char **code);

/* Build o->msg for the chat `chat` of session row `row`, our own user JID
 * being me (user@s.whatsapp.net). 0; WA_ENOTFOUND when the message replied
 * to is not stored for this session; WA_ESTORAGE; WA_ENOMEM. */
int wa_out_build(struct wa_out *o, struct wa_db *db, uint64_t row, const char *chat, const char *me);

/* Fill the request fields from a stored row's content, quoted id and
 * mentions JSON (any may be NULL). 0 or WA_ENOMEM. */
int wa_out_from_row(struct wa_out *o, const char *content, const char *quoted_id, const char *mentions_json);

/* The message as it was sent, from the hex of its stored protobuf
 * (messages.raw): o->msg set, nothing else. 0, WA_EPROTO (not a message)
 * or WA_ENOMEM. */
int wa_out_from_raw(struct wa_out *o, const char *hex);

/* The message content in the Baileys JSON shape ({"conversation": ...} or
 * {"extendedTextMessage": {...}}) for the API's answer. New reference. */
json_t *wa_out_json(const struct wa_out *o);

void wa_out_free(struct wa_out *o);

#endif
