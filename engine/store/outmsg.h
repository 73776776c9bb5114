/* engine/store/outmsg: what the API asks to send (the reference's /send,
 * /reply, /location, /contact, /poll, /list, /react, edit, delete and
 * /forward bodies; /send takes a Baileys-style content object) as the
 * WaE2E.Message that goes on the wire, the fields of its messages row and
 * the attributes of its <message> stanza.
 *
 * Two steps, so that bad input is refused before anything is stored or
 * sent:
 *   wa_out_parse_op (loop thread, pure) checks the command's arguments for
 *                  the operation and picks the kind:
 *                  TEXT      the message as a string, message.text, or the
 *                            /list body written as text;
 *                  LOCATION  message.location or the /location body;
 *                  CONTACT   message.contacts or the /contact body: each
 *                            contact a vCard as given (it must parse:
 *                            BEGIN:VCARD .. END:VCARD with an FN or N
 *                            line) or built from fullName + phoneNumber;
 *                  POLL      message.poll or the /poll body (2..12
 *                            options, selectableCount 0..options; a 32-byte
 *                            messageSecret is made at build time);
 *                  REACTION  /react: the emoji on messageId ("" removes);
 *                  EDIT      PATCH: new text for one of our text messages;
 *                  REVOKE    DELETE: our message, or (group admins) anyone's;
 *                  FORWARD   /forward: a stored message of fromJid again,
 *                            marked forwarded;
 *                  MEDIA     message.image / video / audio / document /
 *                            sticker, or the /media and /sticker forms
 *                            (outmedia.c): an upload job in o->media that
 *                            engine/media runs before the build;
 *                  and for every content kind the mentions (top-level
 *                  "mentions" and/or message.mentions, user JIDs) and the
 *                  message replied to ("messageId" of the /reply routes);
 *   wa_out_build   (dbpool thread) reads what the kind refers to from the
 *                  session's messages table (the message replied to,
 *                  reacted to, edited, deleted or forwarded) and makes the
 *                  WaE2E.Message as WhatsApp clients send it
 *                  (docs/protocol.md §7.4, §7.6).
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
#define WA_OUT_CONTACTS_MAX 50
#define WA_OUT_VCARD_MAX 16384
#define WA_OUT_POLL_OPTIONS_MAX 12
#define WA_OUT_OPTION_MAX 100       /* bytes of one poll option */
/* /spam's text when the request names none (the n8n node sends no body) */
#define WA_OUT_SPAM_DEFAULT "Hello from WA-AKG!"

struct wa_db;
struct wa_media_job;
struct WaE2E__Message;
struct WaE2E__ContextInfo;

enum wa_out_kind {
	WA_OUT_TEXT = 0,
	WA_OUT_LOCATION,
	WA_OUT_CONTACT,
	WA_OUT_POLL,
	WA_OUT_REACTION,
	WA_OUT_EDIT,
	WA_OUT_REVOKE,
	WA_OUT_FORWARD,
	WA_OUT_MEDIA,               /* image, video, audio, document, sticker */
};

#define WA_OUT_LOOK_BG 1
#define WA_OUT_LOOK_TEXT 2
#define WA_OUT_LOOK_FONT 4

struct wa_out {
	/* the request (wa_out_parse_op / wa_out_from_row) */
	enum wa_out_kind kind;
	char *text;                   /* TEXT, EDIT: the text */
	char **mentions;              /* normalised user JIDs */
	size_t nmentions;
	char *quoted_id;              /* NULL: not a reply */
	char *target_id;              /* REACTION, EDIT, REVOKE, FORWARD: the message acted on */
	char *source_chat;            /* FORWARD: the chat it is in (fromJid) */
	json_t *req;                  /* the kind's checked arguments (own reference) */
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
	/* MEDIA (outmedia.c): the upload asked for by the parse, done by
	 * engine/media before wa_out_build; text holds the caption */
	struct wa_media_job *media;
	char *file_name;              /* documents: fileName */
	/* TEXT: a text status's look (sess_status.c), extendedTextMessage */
	int look;                     /* WA_OUT_LOOK_* bits */
	uint32_t bg_argb;             /* backgroundArgb */
	uint32_t text_argb;           /* textArgb */
	int font;                     /* font (FontType) */
	/* the <message> stanza (§7.4), static strings */
	const char *stanza_type;      /* "text" (NULL), "reaction", "poll", "media" */
	const char *edit;             /* the edit attribute: NULL, "1", "7", "8" */
	const char *polltype;         /* <meta polltype=…/>: NULL or "creation" */
	const char *mediatype;        /* enc mediatype: NULL or "vcard", "contact_array", … */
	int hide_fail;                /* enc decrypt-fail="hide" (edits, reactions) */
	/* what the server's ack makes of the target (REACTION, EDIT, REVOKE) */
	char *target_chat;
	/* why the build refused (status 400/403/404 with why/code), else 0 */
	int fail_status;
	const char *fail_why, *fail_code;
};

/* Outcome of wa_out_parse_op: 0 ok, or the HTTP status to answer (400 bad
 * input, 501 a message kind this engine does not send yet) with *why set
 * to a static message and *code to the error code. op is the command's
 * operation ("message.send", "message.reply", "message.location", ...,
 * "message.spam", "message.broadcast": their "message" is the content). */
int wa_out_parse_op(struct wa_out *o, const char *op, const json_t *args, const char **why, const char **code);
/* wa_out_parse_op for "message.send". */
int wa_out_parse(struct wa_out *o, const json_t *args, const char **why, const char **code);

/* Build o->msg for the chat `chat` of session row `row`, our own user JID
 * being me (user@s.whatsapp.net). 0; WA_ENOTFOUND when the message replied
 * to is not stored for this session; WA_EDENIED when the kind refuses what
 * it found (o->fail_status, fail_why and fail_code say why: a message not
 * ours to edit, one of another chat, ...); WA_ESTORAGE; WA_ENOMEM. */
int wa_out_build(struct wa_out *o, struct wa_db *db, uint64_t row, const char *chat, const char *me);

/* Fill the request fields from a stored row's content, quoted id and
 * mentions JSON (any may be NULL). 0 or WA_ENOMEM. */
int wa_out_from_row(struct wa_out *o, const char *content, const char *quoted_id, const char *mentions_json);

/* The message as it was sent, from the hex of its stored protobuf
 * (messages.raw): o->msg set and the stanza attributes derived from it.
 * 0, WA_EPROTO (not a message) or WA_ENOMEM. */
int wa_out_from_raw(struct wa_out *o, const char *hex);

/* Set o's stanza attributes (stanza_type, polltype, mediatype, hide_fail)
 * from o->msg, as §7.4 derives them from the content. */
void wa_out_stanza_attrs(struct wa_out *o);

/* The message content in the Baileys JSON shape ({"conversation": ...},
 * {"extendedTextMessage": {...}}, {"locationMessage": {...}}, ...) for
 * the API's answer. New reference, never NULL ({} when the content's
 * strings are not UTF-8 or memory runs out). */
json_t *wa_out_json(const struct wa_out *o);

/* The vCard check of CONTACT: 0 when v is one BEGIN:VCARD .. END:VCARD
 * card with an FN or N property, within WA_OUT_VCARD_MAX bytes; else -1
 * with *why set. Pure; any thread. */
int wa_out_vcard_check(const char *v, const char **why);

void wa_out_free(struct wa_out *o);

/* ---- media parts (outmedia.c) ----
 * The message object's image / video / audio / document / sticker key
 * (Baileys' content shapes: {"url": "https://..."}, {"url": "data:...;
 * base64,..."}, {"base64": "..."} or the URL or base64 as a string; caption,
 * mimetype, fileName, ptt, pack, author beside it or inside it). */

/* 1 when msg (the message object) has a media key, else 0. */
int wa_out_is_media(const json_t *msg);
/* Parse the media part of msg into o: kind MEDIA, o->media the upload job
 * (no media host yet), the caption in o->text, file_name. Base64 is not
 * copied: the job takes a reference to its JSON string (msg may be freed
 * after the parse; the string must not be changed while the job runs, and
 * wa_out_free must run on the thread that parsed). 0 or 400 / 500 with
 * *why, *code set. */
int wa_out_parse_media(struct wa_out *o, const json_t *msg, const char **why, const char **code);
/* The upload routes: message.media (args.type: image, video, audio,
 * voice, document, sticker) and message.sticker (sticker = 1), the file
 * the worker stored in args.file.path, or for a sticker args.url (the JSON
 * form); caption, fileName, mimetype, pack, author, messageId (a reply) as
 * form fields. Fills o like wa_out_parse (o zeroed first; freed on
 * failure). 0 or 400 / 500. */
int wa_out_parse_upload(struct wa_out *o, const json_t *args, int sticker, const char **why, const char **code);
/* The uploaded media part (o->media done) as a WaE2E.Message, packed, with
 * ci (may be NULL) as its contextInfo; the row's type, caption,
 * media_mime and media_size set. 0 or WA_ENOMEM / WA_EINVAL (not
 * uploaded). *buf malloc'd. */
int wa_out_media_pack(struct wa_out *o, struct WaE2E__ContextInfo *ci, uint8_t **buf, size_t *len);
/* The media message of o->msg in the Baileys JSON shape ({"imageMessage":
 * {"url", "mimetype", "fileSha256", ...}}), or NULL when it has none. */
json_t *wa_out_media_json(const struct wa_out *o);

#endif
