/* engine/store/bot: what the session's bot config (bot_configs, written
 * through /api/sessions/{id}/bot-config) makes of a message it has just
 * stored, inside the transaction that stores it:
 *
 *   commands   a text starting with the prefix ('#' by default) names one:
 *              ping (answers with the time since the message was sent),
 *              uptime (how long the session has been connected), help and
 *              menu (the commands enabled); sticker (enableSticker) of an
 *              image, or of a video or GIF (enableVideoSticker; an
 *              animated sticker of a video no longer than
 *              maxStickerDuration seconds, checked on the media thread), and
 *              removebg (removeBgApiKey set) of an image, the command being
 *              its caption or a reply to it: queued as a row like the text
 *              answers, media_type BOT_STICKER / BOT_REMOVEBG with the
 *              image's message id as media_url, which the scheduler hands
 *              to engine/bot_media.h (the media threads) when it is due;
 *              what cannot be done (no image, a video with
 *              enableVideoSticker off, no remove.bg key) is answered with a
 *              text; the anti-spam bound counts them all. Others
 *              are not answered. Who
 *              may use them is botMode: ALL everyone, SPECIFIC our own
 *              phone and botAllowedJids, BLACKLIST everyone but
 *              botBlockedJids, OWNER our own phone only. With antiSpam a
 *              chat gets at most spamLimit answers per spamInterval seconds,
 *              each sent a random spamDelayMin..spamDelayMax ms late.
 *   welcome    welcomeEnabled: the first message a person writes in a 1:1
 *              chat is answered with welcomeMessage.
 *   auto-read  autoRead, or the session setting readReceipts: true
 *              (wa_sessions.config): the message is to be marked read.
 * Answers are queued as scheduled_messages rows (origin BOT, unique per
 * received message; the welcome's source id is "W:" + the message id), sent
 * by the scheduler like auto-replies (engine/sched.h): once, also across a
 * crash. Nothing happens when the bot is disabled (enabled false) or the
 * session has no bot config, except auto-read by readReceipts.
 *
 * Threading: blocking database work, dbpool threads only, in the caller's
 * transaction. */
#ifndef WA_STORE_BOT_H
#define WA_STORE_BOT_H

#include <jansson.h>
#include <stdint.h>

struct wa_db;

struct wa_bot_msg {
	const char *id;          /* the received message's id */
	const char *chat;
	const char *sender;      /* user JID */
	const char *text;        /* text or caption; NULL: none */
	int from_me;             /* written by one of our own devices */
	const char *type;        /* messages.type ("TEXT", "IMAGE", ...); NULL: text */
	const char *quoted_id;   /* the message it replies to; NULL: none */
	int64_t sent_ms;         /* when it was sent (the stanza's t), ms */
	uint64_t now_ms;         /* wall clock when it was taken up */
	uint64_t up_ms;          /* how long the session has been connected */
};

struct wa_bot_out {
	int queued;              /* an answer or a welcome was queued */
	int mark_read;           /* send a read receipt for it */
	int media;               /* WA_BOT_STICKER / WA_BOT_REMOVEBG (what bot_media.h makes of a row) */
	char media_id[129];      /* the image message it is to be made of */
	char cmd_id[129];        /* the command's message (the answer quotes it) */
	char chat[128];          /* where the answer goes */
	char pack[72];           /* sticker: the pack name (the bot's name) */
	char key[256];           /* removebg: the remove.bg API key */
	unsigned max_seconds;    /* sticker: the longest video taken (maxStickerDuration) */
	int still;               /* sticker: a still one only (enableVideoSticker off: a GIF's first frame) */
};

enum { WA_BOT_STICKER = 1, WA_BOT_REMOVEBG = 2 };

/* The session's row as both this module and the auto-replies read it
 * (store/autoreply.h), read once per received message: the bot config,
 * the readReceipts setting, the auto-reply mode and lists, and ar_rules
 * (how many auto-reply rules the session has, from session_counts; 1 when
 * unknown). New reference, NULL with *err 0 when the session is gone;
 * *err set on a database error. */
json_t *wa_bot_config(struct wa_db *db, uint64_t session_row, int *err);

/* With cfg from wa_bot_config (borrowed; NULL: nothing to do). 0, or
 * WA_ESTORAGE. */
int wa_bot_handle(struct wa_db *db, uint64_t session_row, const struct wa_bot_msg *m, const json_t *cfg,
		  struct wa_bot_out *out);

#endif
