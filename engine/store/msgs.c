/* msgs: one message, its chat, its sender and its event (see msgs.h). */
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa_err.h"
#include "wa_e2e.pb-c.h"
#include "wa_util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char SQL_MSG[] =
	"INSERT INTO messages (wa_session_id, remote_jid, message_id, from_me, sender_jid, push_name, type, "
	"content, quoted_id, mentions, status, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?)) "
	"ON DUPLICATE KEY UPDATE id = id";
static const char SQL_CHAT[] =
	"INSERT INTO chats (wa_session_id, jid, is_group, unread_count, last_message_at) "
	"VALUES (?, ?, ?, ?, FROM_UNIXTIME(?)) ON DUPLICATE KEY UPDATE "
	"unread_count = unread_count + VALUES(unread_count), "
	"last_message_at = GREATEST(COALESCE(last_message_at, VALUES(last_message_at)), VALUES(last_message_at))";
static const char SQL_CONTACT[] =
	"INSERT INTO contacts (wa_session_id, jid, notify) VALUES (?, ?, ?) "
	"ON DUPLICATE KEY UPDATE notify = VALUES(notify)";
static const char SQL_OUTBOX[] =
	"INSERT INTO events_outbox (wa_session_id, event, payload) VALUES (?, ?, ?)";

static int content_at(const WaE2E__Message *m, struct wa_msg_content *c, int depth)
{
	memset(c, 0, sizeof *c);
	if (!m || depth > 4)
		return -1;
	if (m->ephemeralmessage && m->ephemeralmessage->message)
		return content_at(m->ephemeralmessage->message, c, depth + 1);
	if (m->conversation) {
		c->type = "TEXT";
		c->text = m->conversation;
		return 0;
	}
	if (m->extendedtextmessage && m->extendedtextmessage->text) {
		c->type = "TEXT";
		c->text = m->extendedtextmessage->text;
		if (m->extendedtextmessage->contextinfo && m->extendedtextmessage->contextinfo->stanzaid &&
		    *m->extendedtextmessage->contextinfo->stanzaid)
			c->quoted_id = m->extendedtextmessage->contextinfo->stanzaid;
		return 0;
	}
	return -1;
}

int wa_msgs_content(const struct WaE2E__Message *m, struct wa_msg_content *c)
{
	return content_at(m, c, 0);
}

int wa_outbox_add(struct wa_db *db, uint64_t row, const char *event, const char *payload, uint64_t *id)
{
	if (wa_db_exec(db, SQL_OUTBOX, "uss", (unsigned long long)row, event, payload) < 0)
		return WA_ESTORAGE;
	if (id)
		*id = db->last_insert_id;
	return 0;
}

/* The network's strings of m (text, push name, ids) are bytes: what is not
 * UTF-8 would make both the JSON event and the utf8mb4 row fail, and the
 * message be offered again forever. *fix is m with those strings repaired
 * (U+FFFD), pointing into m or into own[] (free each). -1: out of memory. */
#define ROW_STRINGS 8
static int row_utf8(const struct wa_msg_row *m, struct wa_msg_row *fix, char *own[ROW_STRINGS])
{
	const char **f[ROW_STRINGS] = { &fix->chat, &fix->id, &fix->sender, &fix->push_name, &fix->type,
					&fix->content, &fix->quoted_id, &fix->mentions };
	int i;

	*fix = *m;
	for (i = 0; i < ROW_STRINGS; i++)
		own[i] = NULL;
	for (i = 0; i < ROW_STRINGS; i++) {
		if (*f[i] && !wa_utf8_valid(*f[i])) {
			if ((own[i] = wa_utf8_repair(*f[i])) == NULL)
				return -1;
			*f[i] = own[i];
		}
	}
	return 0;
}

static void row_utf8_free(char *own[ROW_STRINGS])
{
	for (int i = 0; i < ROW_STRINGS; i++)
		free(own[i]);
}

char *wa_msgs_event_payload(const char *slug, const struct wa_msg_row *raw)
{
	struct wa_msg_row row, *m = &row;
	char *own[ROW_STRINGS];
	time_t tt = (time_t)raw->t;
	char when[32];
	struct tm tm;
	json_t *o;
	char *out;

	if (row_utf8(raw, &row, own) != 0) {
		row_utf8_free(own);
		return NULL;
	}
	gmtime_r(&tt, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	o = json_pack("{s:s,s:{s:s,s:b,s:s},s:s,s:s,s:b,s:s*,s:s*,s:s,s:s*,s:s,s:I}", "sessionId", slug, "key",
		      "remoteJid", m->chat, "fromMe", m->from_me, "id", m->id, "id", m->id, "remoteJid", m->chat,
		      "fromMe", m->from_me, "sender", m->sender, "pushName", m->push_name, "type", m->type,
		      "content", m->content, "timestamp", when, "messageTimestamp", (json_int_t)m->t);
	if (!o) {
		row_utf8_free(own);
		return NULL;
	}
	if (m->quoted_id)
		json_object_set_new(o, "quotedId", json_string(m->quoted_id));
	if (m->mentions) {
		json_t *arr = json_loads(m->mentions, 0, NULL);

		if (json_is_array(arr))
			json_object_set_new(o, "mentions", arr);
		else
			json_decref(arr);
	}
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	row_utf8_free(own);
	return out;
}

static int store_row(struct wa_db *db, uint64_t row, const struct wa_msg_row *m, uint64_t *outbox_id)
{
	unsigned long long sid = (unsigned long long)row;
	long long n;
	int is_group = m->chat && strstr(m->chat, "@g.us") != NULL;

	n = wa_db_exec(db, SQL_MSG, "ussbsssssssi", sid, m->chat, m->id, m->from_me, m->sender, m->push_name,
		       m->type, m->content, m->quoted_id, m->mentions, m->status, (long long)m->t);
	if (n < 0)
		return wa_db_err(db) == WA_ENOMEM ? WA_ENOMEM : WA_ESTORAGE;
	if (n == 0)
		return WA_ECONFLICT; /* already stored: "ON DUPLICATE ... id = id" changes nothing */
	if (!m->history && wa_db_exec(db, SQL_CHAT, "usbii", sid, m->chat, is_group, (long long)(m->from_me ? 0 : 1),
				      (long long)m->t) < 0)
		return WA_ESTORAGE;
	if (!m->from_me && m->sender && m->push_name && *m->push_name &&
	    wa_db_exec(db, SQL_CONTACT, "uss", sid, m->sender, m->push_name) < 0)
		return WA_ESTORAGE;
	*outbox_id = 0;
	if (!m->event)
		return 0;
	return wa_outbox_add(db, row, m->event, m->payload, outbox_id);
}

int wa_msgs_store(struct wa_db *db, uint64_t row, const struct wa_msg_row *raw, uint64_t *outbox_id)
{
	struct wa_msg_row fixed;
	char *own[ROW_STRINGS];
	int rc = row_utf8(raw, &fixed, own) != 0 ? WA_ENOMEM : store_row(db, row, &fixed, outbox_id);

	row_utf8_free(own);
	return rc;
}
