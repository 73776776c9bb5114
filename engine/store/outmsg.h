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
struct wa_media_job;
struct WaE2E__Message;
struct WaE2E__ContextInfo;

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
	/* a media part (outmedia.c): the upload asked for by wa_out_parse,
	 * done by engine/media before wa_out_build; NULL = not media */
	struct wa_media_job *media;
	char *file_name;              /* documents: fileName */
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

/* ---- media parts (outmedia.c) ----
 * The message object's image / video / audio / document / sticker key
 * (Baileys' content shapes: {"url": "https://..."}, {"url": "data:...;
 * base64,..."}, {"base64": "..."} or the URL or base64 as a string; caption,
 * mimetype, fileName, ptt, pack, author beside it or inside it). */

/* 1 when msg (the message object) has a media key, else 0. */
int wa_out_is_media(const json_t *msg);
/* Parse the media part of msg into o (o->media: the upload job, without
 * media host yet; type, caption, media_mime, file_name). 0 or 400 / 500
 * with *why, *code set. */
int wa_out_parse_media(struct wa_out *o, const json_t *msg, const char **why, const char **code);
/* The multipart routes: message.media (args.type: image, video, audio,
 * voice, document, sticker) and message.sticker (sticker = 1), the file
 * the worker stored in args.file.path; caption, fileName, mimetype, pack,
 * author, messageId (a reply), mentions as form fields. Fills o like
 * wa_out_parse (o zeroed first). 0 or 400 / 500 as wa_out_parse. */
int wa_out_parse_upload(struct wa_out *o, const json_t *args, int sticker, const char **why, const char **code);
/* The packed WaE2E.Message of the uploaded media part (o->media done),
 * with ci (may be NULL) as its contextInfo; media_mime and media_size
 * set. 0 or WA_ENOMEM / WA_EINVAL (not uploaded). *buf malloc'd. */
int wa_out_media_pack(struct wa_out *o, struct WaE2E__ContextInfo *ci, uint8_t **buf, size_t *len);
/* The media message in the Baileys JSON shape ({"imageMessage": {...}})
 * for the API's answer, or NULL when o->msg has no media part. */
json_t *wa_out_media_json(const struct wa_out *o);
/* The stanza's type ("media" for a media message, else "text") and the
 * <enc> mediatype ("image", "video", "audio", "ptt", "document",
 * "sticker"; NULL: none), as whatsmeow sends them. */
const char *wa_out_stanza_type(const struct WaE2E__Message *m);
const char *wa_out_enc_mediatype(const struct WaE2E__Message *m);

#endif
