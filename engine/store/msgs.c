/* msgs: one message, its chat, its sender and its event (see msgs.h). */
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa_err.h"
#include "wa_e2e.pb-c.h"
#include "wa_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char SQL_MSG[] =
	"INSERT INTO messages (wa_session_id, remote_jid, message_id, from_me, sender_jid, push_name, type, "
	"content, caption, media_mime, media_size, raw, quoted_id, mentions, status, timestamp) "
	"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?)) "
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
#define ROW_STRINGS 10
static int row_utf8(const struct wa_msg_row *m, struct wa_msg_row *fix, char *own[ROW_STRINGS])
{
	const char **f[ROW_STRINGS] = { &fix->chat, &fix->id, &fix->sender, &fix->push_name, &fix->type,
					&fix->content, &fix->quoted_id, &fix->mentions, &fix->caption,
					&fix->media_mime };
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
	char size_str[24];

	snprintf(size_str, sizeof size_str, "%llu", (unsigned long long)m->media_size);
	n = wa_db_exec(db, SQL_MSG, "ussbsssssssxsssi", sid, m->chat, m->id, m->from_me, m->sender, m->push_name,
		       m->type, m->content, m->caption, m->media_mime, m->media_size ? size_str : NULL,
		       (const void *)m->raw, m->raw_len, m->quoted_id, m->mentions, m->status, (long long)m->t);
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

/* ---- edits and revokes (see msgs.h) ---- */

static const char SQL_UPD_ADD[] =
	"INSERT INTO message_updates (wa_session_id, update_id, target_id, remote_jid, sender_jid, from_me, kind, "
	"by_admin, target_sender, content, t_ms, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) "
	"ON DUPLICATE KEY UPDATE state = state";
static const char SQL_UPD_TARGET[] =
	"SELECT remote_jid, from_me, sender_jid, deleted FROM messages WHERE wa_session_id = ? AND message_id = ? "
	"FOR UPDATE";
static const char SQL_UPD_NEWER[] =
	"SELECT COUNT(*) FROM message_updates WHERE wa_session_id = ? AND target_id = ? AND kind = 'EDIT' "
	"AND state = 1 AND t_ms > ? AND update_id <> ?";
static const char SQL_UPD_STATE[] =
	"UPDATE message_updates SET state = ? WHERE wa_session_id = ? AND update_id = ?";
static const char SQL_UPD_EDIT[] =
	"UPDATE messages SET content = COALESCE(?, content), edited = 1 WHERE wa_session_id = ? AND message_id = ?";
static const char SQL_UPD_REVOKE[] =
	"UPDATE messages SET content = NULL, caption = NULL, deleted = 1 WHERE wa_session_id = ? AND message_id = ?";
static const char SQL_UPD_PENDING[] =
	"SELECT update_id, remote_jid, sender_jid, from_me, kind, by_admin, target_sender, content, t_ms "
	"FROM message_updates WHERE wa_session_id = ? AND target_id = ? AND state = 0 ORDER BY t_ms, update_id";

/* The stored message an update is for. */
struct upd_target {
	const char *chat;
	int from_me;
	const char *sender;
	int deleted;
};

static int same_str(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* May u change t? (msgs.h: the rules) */
static enum wa_msg_upd_state upd_judge(const struct wa_msg_update *u, const struct upd_target *t)
{
	int own;

	if (!same_str(t->chat, u->chat))
		return WA_MSGUPD_REFUSED;
	own = u->from_me ? t->from_me : !t->from_me && same_str(t->sender, u->sender);
	if (!own && !(u->revoke && u->by_admin && strstr(t->chat, "@g.us") &&
		      (!u->target_sender || t->from_me || same_str(u->target_sender, t->sender))))
		return WA_MSGUPD_REFUSED;
	return t->deleted ? WA_MSGUPD_NOCHANGE : WA_MSGUPD_APPLIED;
}

static json_t *upd_payload(const char *slug, const struct wa_msg_update *u, const struct upd_target *t)
{
	time_t tt = (time_t)(u->t_ms / 1000);
	char when[32];
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof when - strlen(when), ".%03dZ", (int)(u->t_ms % 1000));
	if (u->revoke)
		return json_pack("{s:s,s:{s:s,s:b,s:s},s:s,s:s,s:b,s:s*,s:s,s:s*,s:b,s:s,s:I}", "sessionId", slug, "key",
				 "remoteJid", t->chat, "fromMe", t->from_me, "id", u->target, "id", u->target,
				 "remoteJid", t->chat, "fromMe", t->from_me, "sender", t->from_me ? NULL : t->sender,
				 "deleteId", u->id, "deletedBy", u->from_me ? NULL : u->sender, "byAdmin",
				 !u->from_me ? !same_str(u->sender, t->sender) || t->from_me : !t->from_me, "timestamp",
				 when, "messageTimestamp", (json_int_t)(u->t_ms / 1000));
	return json_pack("{s:s,s:{s:s,s:b,s:s},s:s,s:s,s:b,s:s*,s:s,s:s,s:s*,s:s,s:I}", "sessionId", slug, "key",
			 "remoteJid", t->chat, "fromMe", t->from_me, "id", u->target, "id", u->target, "remoteJid",
			 t->chat, "fromMe", t->from_me, "sender", t->from_me ? NULL : t->sender, "editId", u->id, "type",
			 "TEXT", "content", u->content, "timestamp", when, "messageTimestamp",
			 (json_int_t)(u->t_ms / 1000));
}

static int upd_set_state(struct wa_db *db, uint64_t row, const char *id, enum wa_msg_upd_state st)
{
	return wa_db_exec(db, SQL_UPD_STATE, "ius", (long long)st, (unsigned long long)row, id) < 0 ? WA_ESTORAGE : 0;
}

/* Apply u to t (judged APPLIED) and write its event; *state may turn
 * NOCHANGE (a newer edit is there). */
static int upd_apply(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_update *u,
		     const struct upd_target *t, enum wa_msg_upd_state *state, struct wa_msg_upd_event *ev)
{
	unsigned long long sid = (unsigned long long)row;
	json_t *o;
	long long n;
	int rc;

	if (!u->revoke) {
		n = wa_db_int(db, -1, SQL_UPD_NEWER, "usis", sid, u->target, (long long)u->t_ms, u->id);
		if (n < 0)
			return WA_ESTORAGE;
		if (n > 0) {
			*state = WA_MSGUPD_NOCHANGE;
			return upd_set_state(db, row, u->id, *state);
		}
	}
	if ((u->revoke ? wa_db_exec(db, SQL_UPD_REVOKE, "us", sid, u->target) :
			 wa_db_exec(db, SQL_UPD_EDIT, "sus", u->content, sid, u->target)) < 0)
		return WA_ESTORAGE;
	if ((rc = upd_set_state(db, row, u->id, WA_MSGUPD_APPLIED)) != 0)
		return rc;
	*state = WA_MSGUPD_APPLIED;
	o = upd_payload(slug, u, t);
	ev->payload = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!ev->payload)
		return WA_ENOMEM;
	ev->event = u->revoke ? "message.deleted" : "message.edited";
	ev->t_ms = u->t_ms;
	return wa_outbox_add(db, row, ev->event, ev->payload, &ev->outbox_id);
}

static int update_valid(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_update *u,
			enum wa_msg_upd_state *state, struct wa_msg_upd_event *ev);

/* The edit's text, like a message's, is stored and published valid UTF-8
 * (a bad byte as U+FFFD), or it could never be stored. */
int wa_msgs_update(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_update *raw,
		   enum wa_msg_upd_state *state, struct wa_msg_upd_event *ev)
{
	struct wa_msg_update u = *raw;
	char *fixed = NULL;
	int rc;

	if (u.content && !wa_utf8_valid(u.content)) {
		if (!(fixed = wa_utf8_repair(u.content))) {
			memset(ev, 0, sizeof *ev);
			return WA_ENOMEM;
		}
		u.content = fixed;
	}
	rc = update_valid(db, row, slug, &u, state, ev);
	free(fixed);
	return rc;
}

static int update_valid(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_update *u,
			enum wa_msg_upd_state *state, struct wa_msg_upd_event *ev)
{
	unsigned long long sid = (unsigned long long)row;
	struct upd_target t;
	json_t *r;
	long long n;
	int err = 0, rc;

	memset(ev, 0, sizeof *ev);
	*state = WA_MSGUPD_PENDING;
	n = wa_db_exec(db, SQL_UPD_ADD, "ussssbsbssi", sid, u->id, u->target, u->chat, u->sender, u->from_me,
		       u->revoke ? "REVOKE" : "EDIT", u->by_admin, u->target_sender, u->content, (long long)u->t_ms);
	if (n < 0)
		return wa_db_err(db) == WA_ENOMEM ? WA_ENOMEM : WA_ESTORAGE;
	if (n == 0)
		return WA_ECONFLICT;
	r = wa_db_row(db, &err, SQL_UPD_TARGET, "us", sid, u->target);
	if (!r)
		return err ? WA_ESTORAGE : 0; /* not stored (yet): the record waits */
	t.chat = json_string_value(json_object_get(r, "remote_jid"));
	t.from_me = json_is_true(json_object_get(r, "from_me"));
	t.sender = json_string_value(json_object_get(r, "sender_jid"));
	t.deleted = json_is_true(json_object_get(r, "deleted"));
	*state = upd_judge(u, &t);
	rc = *state == WA_MSGUPD_APPLIED ? upd_apply(db, row, slug, u, &t, state, ev) :
					   upd_set_state(db, row, u->id, *state);
	json_decref(r);
	return rc;
}

int wa_msgs_apply_pending(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_row *m,
			  struct wa_msg_upd_event *ev)
{
	struct upd_target t = { m->chat, m->from_me, m->sender, 0 };
	struct wa_msg_update u, pick;
	enum wa_msg_upd_state st;
	json_t *rows, *r;
	size_t i, npick = 0;
	int rc = 0;

	memset(ev, 0, sizeof *ev);
	rows = wa_db_query(db, SQL_UPD_PENDING, "us", (unsigned long long)row, m->id);
	if (!rows)
		return WA_ESTORAGE;
	/* oldest first: the last allowed edit is the newest; a revoke wins */
	json_array_foreach(rows, i, r) {
		memset(&u, 0, sizeof u);
		u.id = json_string_value(json_object_get(r, "update_id"));
		u.target = m->id;
		u.chat = json_string_value(json_object_get(r, "remote_jid"));
		u.sender = json_string_value(json_object_get(r, "sender_jid"));
		u.from_me = json_is_true(json_object_get(r, "from_me"));
		u.revoke = same_str(json_string_value(json_object_get(r, "kind")), "REVOKE");
		u.by_admin = json_is_true(json_object_get(r, "by_admin"));
		u.target_sender = json_string_value(json_object_get(r, "target_sender"));
		u.content = json_string_value(json_object_get(r, "content"));
		u.t_ms = json_integer_value(json_object_get(r, "t_ms"));
		if (!u.id)
			continue;
		st = upd_judge(&u, &t);
		if (st == WA_MSGUPD_APPLIED && (!npick || !pick.revoke)) {
			if (npick && (rc = upd_set_state(db, row, pick.id, WA_MSGUPD_NOCHANGE)) != 0)
				break;
			pick = u;
			npick = 1;
			continue;
		}
		if ((rc = upd_set_state(db, row, u.id, st == WA_MSGUPD_APPLIED ? WA_MSGUPD_NOCHANGE : st)) != 0)
			break;
	}
	if (rc == 0 && npick)
		rc = upd_apply(db, row, slug, &pick, &t, &st, ev);
	json_decref(rows);
	return rc;
}

static const WaE2E__ProtocolMessage *edit_or_revoke_at(const WaE2E__Message *m, int depth)
{
	const WaE2E__ProtocolMessage *pm;

	if (!m || depth > 4)
		return NULL;
	pm = m->protocolmessage;
	if (pm && pm->key && pm->key->id && *pm->key->id &&
	    (!pm->has_type || pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__REVOKE ||
	     pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT))
		return pm;
	if (m->editedmessage && m->editedmessage->message)
		return edit_or_revoke_at(m->editedmessage->message, depth + 1);
	if (m->ephemeralmessage && m->ephemeralmessage->message)
		return edit_or_revoke_at(m->ephemeralmessage->message, depth + 1);
	return NULL;
}

const WaE2E__ProtocolMessage *wa_msgs_edit_or_revoke(const WaE2E__Message *m)
{
	return edit_or_revoke_at(m, 0);
}

int wa_msgs_store(struct wa_db *db, uint64_t row, const struct wa_msg_row *raw, uint64_t *outbox_id)
{
	struct wa_msg_row fixed;
	char *own[ROW_STRINGS];
	int rc = row_utf8(raw, &fixed, own) != 0 ? WA_ENOMEM : store_row(db, row, &fixed, outbox_id);

	row_utf8_free(own);
	return rc;
}
