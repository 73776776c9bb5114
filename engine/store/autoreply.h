/* engine/store/autoreply: the auto-reply rules of a session (auto_replies,
 * written through /api/autoreplies) matched against a message it has just
 * stored, and the answer queued in scheduled_messages (origin AUTO_REPLY,
 * due at once, unique per received message) in the same transaction: the
 * received message and the promise to answer it are durable together, and
 * the scheduler (engine/sched.h) sends the answer once.
 *
 * Who is answered (bot_configs.auto_reply_mode, ALL when the session has
 * no bot config): ALL anyone but us; SPECIFIC only senders (or chats) in
 * auto_reply_allowed_jids; BLACKLIST anyone but those in
 * auto_reply_blocked_jids; OWNER only messages our own phone writes (from
 * another of our devices). Messages this gateway sent itself never come
 * back here, so it never answers itself. The first enabled rule (lowest
 * id) whose trigger (ALL, GROUP, PRIVATE) fits the chat and whose keyword
 * matches the text (common/wa_match.h) answers; its response is the text,
 * or with is_media its media_url (kind from the URL's extension) with the
 * response as caption. At most per_chat_per_min answers go to one chat per
 * minute: two gateways answering each other stop there.
 *
 * Threading: blocking database work, dbpool threads only, inside the
 * caller's transaction. */
#ifndef WA_STORE_AUTOREPLY_H
#define WA_STORE_AUTOREPLY_H

#include <jansson.h>
#include <stdint.h>

struct wa_db;

struct wa_ar_msg {
	const char *id;          /* the received message's id */
	const char *chat;        /* its chat (user or group JID) */
	const char *sender;      /* its sender's user JID */
	const char *text;        /* its text or caption; NULL: nothing to match */
	int from_me;             /* written by one of our own devices */
};

/* Is jid (a user or group JID, no device) named in the JSON array
 * list_json, whose entries are JIDs (a device part ignored) or bare phone
 * numbers (with or without '+', for user JIDs)? The bot config's
 * allowed / blocked lists. Pure. */
int wa_jid_in_list(const char *list_json, const char *jid);

/* cfg is the session's row from wa_bot_config (store/bot.h; borrowed,
 * NULL: nothing to answer): the auto-reply mode and lists, and whether the
 * session has rules at all. 0 (*queued set to 1 when an answer was
 * queued), or WA_ESTORAGE. */
int wa_autoreply_queue(struct wa_db *db, uint64_t session_row, const struct wa_ar_msg *m, const json_t *cfg,
		       long per_chat_per_min, int *queued);

#endif
