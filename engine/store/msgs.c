/* msgs: one message, its chat, its sender and its event (see msgs.h). */
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa_err.h"
#include "wa_e2e.pb-c.h"

#include <string.h>

static const char SQL_MSG[] =
	"INSERT INTO messages (wa_session_id, remote_jid, message_id, from_me, sender_jid, push_name, type, "
	"content, quoted_id, status, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?)) "
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

int wa_msgs_store(struct wa_db *db, uint64_t row, const struct wa_msg_row *m, uint64_t *outbox_id)
{
	unsigned long long sid = (unsigned long long)row;
	long long n;
	int is_group = m->chat && strstr(m->chat, "@g.us") != NULL;

	n = wa_db_exec(db, SQL_MSG, "ussbssssssi", sid, m->chat, m->id, m->from_me, m->sender, m->push_name,
		       m->type, m->content, m->quoted_id, m->status, (long long)m->t);
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
	if (wa_db_exec(db, SQL_OUTBOX, "uss", sid, m->event, m->payload) < 0)
		return WA_ESTORAGE;
	*outbox_id = db->last_insert_id;
	return 0;
}
