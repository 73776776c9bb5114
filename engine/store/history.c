/* history: a history-sync chunk into chats, contacts, messages (history.h). */
#include "engine/store/history.h"
#include "engine/store/mediahost.h"
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa/mediacrypto.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"
#include "wa_history.pb-c.h"
#include "wa_log.h"
#include "wa_util.h"

#include <stdlib.h>
#include <string.h>

static const char SQL_CHAT[] =
	"INSERT INTO chats (wa_session_id, jid, name, is_group, unread_count, archived, pinned, muted_until, "
	"last_message_at) VALUES (?, ?, ?, ?, ?, ?, ?, IF(? > 0, FROM_UNIXTIME(?), NULL), "
	"IF(? > 0, FROM_UNIXTIME(?), NULL)) ON DUPLICATE KEY UPDATE name = COALESCE(VALUES(name), name), "
	"unread_count = VALUES(unread_count), archived = VALUES(archived), pinned = VALUES(pinned), "
	"muted_until = VALUES(muted_until), "
	"last_message_at = GREATEST(COALESCE(last_message_at, VALUES(last_message_at)), "
	"COALESCE(VALUES(last_message_at), last_message_at))";
static const char SQL_NOTIFY[] =
	"INSERT INTO contacts (wa_session_id, jid, notify) VALUES (?, ?, ?) "
	"ON DUPLICATE KEY UPDATE notify = VALUES(notify)";

static int store_message(struct wa_db *db, uint64_t row, const char *chat, const WaHistorySync__WebMessageInfo *w)
{
	struct wa_msg_content c;
	struct wa_msg_row m;
	char sender[WA_JID_STR_MAX], *mentions, *meta;
	uint8_t *raw;
	size_t raw_len;
	uint64_t ob;
	int rc, e1 = 0, e2 = 0;

	if (!w || !w->key || !w->key->id || !*w->key->id || wa_msgs_content(w->message, &c) != 0 ||
	    c.kind != WA_MSGK_ROW)
		return 1; /* nothing of its own (a protocol message), or a reaction / vote */
	memset(&m, 0, sizeof m);
	m.chat = chat;
	m.id = w->key->id;
	m.from_me = w->key->has_fromme && w->key->fromme;
	if (!m.from_me)
		m.sender = wa_jid_chat(w->participant ? w->participant :
				    w->key->participant ? w->key->participant : chat, sender) == 0 ? sender : NULL;
	m.push_name = w->pushname;
	m.type = c.type;
	m.content = c.text;
	m.caption = c.caption;
	m.media_mime = c.mime;
	m.media_size = c.size;
	m.quoted_id = c.quoted_id;
	m.status = m.from_me ? "SENT" : "READ";
	m.t = w->has_messagetimestamp ? (int64_t)w->messagetimestamp : 0;
	m.history = 1;
	mentions = wa_msgs_mentions(c.ctx, &e1);
	meta = wa_msgs_meta(&c, &e2);
	raw_len = wa_e2_e__message__get_packed_size(w->message);
	raw = malloc(raw_len ? raw_len : 1);
	if (e1 || e2 || !raw) {
		free(mentions);
		free(meta);
		free(raw);
		return WA_ENOMEM;
	}
	wa_e2_e__message__pack(w->message, raw);
	m.raw = raw;
	m.raw_len = raw_len;
	m.mentions = mentions;
	m.meta = meta;
	rc = wa_msgs_store(db, row, &m, &ob);
	if (rc == 0)
		rc = wa_msgs_took_waiting(db, row, &m);
	free(mentions);
	free(meta);
	free(raw);
	return rc == WA_ECONFLICT ? 1 : rc;
}

static int store(struct wa_db *db, uint64_t row, const WaHistorySync__HistorySync *hs, struct wa_history_stats *st)
{
	unsigned long long sid = (unsigned long long)row;

	if (wa_msgs_chats_settle(db) != 0)
		return WA_ESTORAGE;
	for (size_t i = 0; i < hs->n_conversations; i++) {
		const WaHistorySync__Conversation *cv = hs->conversations[i];
		char chat[WA_JID_STR_MAX];
		long long last = 0, mute = 0;

		if (!cv || wa_jid_chat(cv->id, chat) != 0)
			continue;
		last = cv->has_conversationtimestamp ? (long long)cv->conversationtimestamp :
		       cv->has_lastmsgtimestamp ? (long long)cv->lastmsgtimestamp : 0;
		mute = cv->has_muteendtime ? (long long)cv->muteendtime : 0;
		if (wa_db_exec(db, SQL_CHAT, "ussbibbiiii", sid, chat, cv->name, strstr(chat, "@g.us") != NULL,
			       (long long)(cv->has_unreadcount ? cv->unreadcount : 0),
			       cv->has_archived && cv->archived, cv->has_pinned && cv->pinned, mute, mute, last,
			       last) < 0)
			return WA_ESTORAGE;
		st->chats++;
		for (size_t k = 0; k < cv->n_messages; k++) {
			int rc = cv->messages[k] ? store_message(db, row, chat, cv->messages[k]->message) : 1;

			if (rc < 0)
				return rc;
			if (rc == 0)
				st->messages++;
		}
	}
	for (size_t i = 0; i < hs->n_pushnames; i++) {
		const WaHistorySync__Pushname *p = hs->pushnames[i];
		char jid[WA_JID_STR_MAX];

		if (!p || !p->pushname || !*p->pushname || wa_jid_chat(p->id, jid) != 0)
			continue;
		if (wa_db_exec(db, SQL_NOTIFY, "uss", sid, jid, p->pushname) < 0)
			return WA_ESTORAGE;
		st->contacts++;
	}
	return 0;
}

int wa_history_apply(struct wa_db *db, uint64_t row, const WaE2E__HistorySyncNotification *hn,
		     const struct wa_history_env *env, struct wa_history_stats *st)
{
	uint8_t *enc = NULL;
	size_t enc_len = 0;
	const uint8_t *z;
	size_t zlen;
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	WaHistorySync__HistorySync *hs;
	int rc;

	memset(st, 0, sizeof *st);
	if (hn->has_initialhistbootstrapinlinepayload && hn->initialhistbootstrapinlinepayload.len) {
		z = hn->initialhistbootstrapinlinepayload.data;
		zlen = hn->initialhistbootstrapinlinepayload.len;
	} else {
		if (!hn->has_mediakey || hn->mediakey.len != 32)
			return WA_EPROTO;
		/* GET https://<host><directPath>&hash=...&mms-type=md-msg-hist (§9.4) */
		rc = wa_mediahost_get_mem(env, hn->directpath,
					  hn->has_fileencsha256 && hn->fileencsha256.len == 32 ? hn->fileencsha256.data
											   : NULL,
					  "md-msg-hist", env->timeout_ms, WA_HISTORY_BLOB_MAX, &enc, &enc_len);
		if (rc != 0)
			return rc == WA_ENOMEM || rc == WA_ETOOBIG ? rc : WA_EIO;
		rc = wa_media_decrypt(WA_MEDIA_HISTORY, hn->mediakey.data, enc, enc_len,
				      hn->has_fileencsha256 && hn->fileencsha256.len == 32 ? hn->fileencsha256.data : NULL,
				      hn->has_filesha256 && hn->filesha256.len == 32 ? hn->filesha256.data : NULL, &plain,
				      &plain_len, NULL);
		free(enc);
		if (rc != 0) {
			wa_warn("history sync: the blob does not verify: %s", wa_media_strerror(rc));
			return WA_ECRYPTO;
		}
		z = plain;
		zlen = plain_len;
	}
	rc = wa_history_decode(z, zlen, &hs);
	free(plain);
	if (rc != 0)
		return rc;
	rc = store(db, row, hs, st);
	wa_history_sync__history_sync__free_unpacked(hs, NULL);
	return rc;
}
