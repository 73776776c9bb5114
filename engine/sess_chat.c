/* sess_chat: the chat and contact operations of a connected session
 * (docs/engine.md "Chats and contacts", docs/protocol.md §6, §8.3, §11.8,
 * §11.9, §11.10):
 *
 *   chat.read        read receipts for given ids or for the chat's unread
 *                    incoming messages, then the chat's unread count 0:
 *                    db (which messages, who sent them, the session's
 *                    readReceipts setting) -> loop (one <receipt> per
 *                    sender) -> db (unread_count 0; for the whole chat
 *                    less what was read, so what came in meanwhile stays
 *                    unread) -> answer;
 *   chat.presence    <chatstate> to the chat (composing, recording, paused)
 *                    or our own <presence> (available, unavailable, with
 *                    the push name read from wa_sessions first);
 *   contact.check    one usync contact query for up to 50 numbers;
 *   contact.picture  the w:profile:picture IQ for a user or a group;
 *   contact.block / contact.unblock  the blocklist IQ, then contacts.blocked
 *                    with a contact.update event in one transaction.
 *
 * Every command is answered exactly once. A job holds a session reference
 * while it waits for the database or an IQ; a session let go meanwhile
 * answers 503. Loop thread except the *_run functions (dbpool threads). */
#include "engine/sess_chat.h"
#include "engine/cmd.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/session_int.h"
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa_err.h"
#include "wa_log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READ_IDS_MAX 1000      /* ids one chat.read receipts (unread count capped to it) */
#define CHECK_MAX 50           /* numbers per contact.check (the reference's limit) */
#define CHAT_IQ_MS 20000

#define MSG_NOT_READY "Session not connected or ready"

struct chat_job {
	struct wa_session *s;
	struct wa_cmd *cmd;
	uint64_t row;
	char slug[WA_SESSION_ID_MAX];
	char chat[WA_JID_STR_MAX];
	int group;
	json_t *ids;               /* chat.read: the ids asked for (NULL: the whole chat) */
	json_t *found;             /* chat.read: [[id, sender], ...] incoming messages found */
	int self;                  /* chat.read: read-self (the session hides its read receipts) */
	long long unread;          /* chat.read, whole chat: how many unread were taken (<= 1000) */
	char push_name[128];       /* chat.presence */
	char presence[16];
	int block;                 /* contact.block / unblock */
	json_t *event;             /* contact.update data, published after the commit */
	uint64_t outbox_id;
};

static struct chat_job *job_new(struct wa_session *s, struct wa_cmd *cmd)
{
	struct chat_job *j = calloc(1, sizeof *j);

	if (!j) {
		wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		return NULL;
	}
	j->s = s;
	j->cmd = cmd;
	j->row = s->row_id;
	snprintf(j->slug, sizeof j->slug, "%s", s->id);
	sess_ref(s);
	return j;
}

/* Answer (when not answered yet) and free. Returns nothing: j is gone. */
static void job_end(struct chat_job *j, int status, json_t *body)
{
	if (j->cmd)
		wa_cmd_reply(j->cmd, status, body);
	else
		json_decref(body);
	json_decref(j->ids);
	json_decref(j->found);
	json_decref(j->event);
	sess_unref(j->s);
	free(j);
}

static void job_fail(struct chat_job *j, int status, const char *msg, const char *code)
{
	if (j->cmd)
		wa_cmd_reply_error(j->cmd, status, msg, code);
	j->cmd = NULL;
	job_end(j, status, NULL);
}

/* The session is still ours and connected (after a wait). */
static int still_ready(struct chat_job *j)
{
	return sess_ready(j->s);
}

static int submit(struct chat_job *j, wa_dbjob_fn run, wa_dbdone_fn done)
{
	if (wa_dbpool_submit(j->s->e->db, j->row, run, done, j) == 0)
		return 0;
	job_fail(j, 503, "The engine is busy; try again", "engine_busy");
	return -1;
}

/* The command's "jid" (the worker normalised it) as a user or group chat
 * JID without device into out; 0, or -1 after answering 400. */
static int chat_jid(struct wa_cmd *cmd, char *out, size_t cap, int *group, int allow_group)
{
	const char *in = json_string_value(json_object_get(cmd->args, "jid"));
	struct wa_jid j;

	if (!in || wa_jid_parse(in, &j, NULL) != 0) {
		wa_cmd_reply_error(cmd, 400, "'jid' must be a WhatsApp JID", "invalid_jid");
		return -1;
	}
	wa_jid_normalize(&j);
	wa_jid_to_non_ad(&j);
	*group = wa_jid_is_group(&j);
	if ((*group && !allow_group) || (!*group && !wa_jid_is_user(&j)) || wa_jid_format(&j, out, cap) < 0) {
		wa_cmd_reply_error(cmd, 400, allow_group ? "'jid' must be a user or group JID" : "'jid' must be a user JID",
				   "invalid_jid");
		return -1;
	}
	return 0;
}

/* ---- chat.read ---- */

/* The session's readReceipts setting (wa_sessions.config): 0 only when
 * it is false. */
static int read_receipts_on(struct wa_db *db, uint64_t row)
{
	json_t *r = wa_db_row(db, NULL, "SELECT config FROM wa_sessions WHERE id = ?", "u", (unsigned long long)row);
	const char *cfg = r ? json_string_value(json_object_get(r, "config")) : NULL;
	json_t *c = cfg ? json_loads(cfg, 0, NULL) : NULL;
	int on = !json_is_false(json_object_get(c, "readReceipts"));

	json_decref(c);
	json_decref(r);
	return on;
}

static int found_add(struct chat_job *j, json_t *row)
{
	const char *id = json_string_value(json_object_get(row, "message_id"));
	const char *sender = json_string_value(json_object_get(row, "sender_jid"));

	if (!id)
		return 0;
	return json_array_append_new(j->found, json_pack("[s,s]", id, sender ? sender : "")) == 0 ? 0 : WA_ENOMEM;
}

static int read_collect_run(struct wa_db *db, void *arg)
{
	struct chat_job *j = arg;
	size_t i;
	json_t *v, *rows;
	int err = 0;

	json_array_clear(j->found);
	j->unread = 0;
	j->self = !read_receipts_on(db, j->row);
	if (j->ids) {
		json_array_foreach(j->ids, i, v) {
			json_t *r = wa_db_row(db, &err, "SELECT message_id, sender_jid FROM messages WHERE wa_session_id = ? "
					      "AND remote_jid = ? AND message_id = ? AND from_me = 0",
					      "uss", (unsigned long long)j->row, j->chat, json_string_value(v));

			if (err)
				return WA_ESTORAGE;
			if (r && found_add(j, r) != 0) {
				json_decref(r);
				return WA_ENOMEM;
			}
			json_decref(r);
		}
		return 0;
	}
	if (wa_msgs_chats_settle(db) != 0)
		return WA_ESTORAGE;
	{
		long long n = wa_db_int(db, 0, "SELECT unread_count FROM chats WHERE wa_session_id = ? AND jid = ?", "us",
					(unsigned long long)j->row, j->chat);

		if (wa_db_err(db))
			return WA_ESTORAGE;
		if (n <= 0)
			return 0;
		if (n > READ_IDS_MAX)
			n = READ_IDS_MAX;
		j->unread = n;
		/* the unread ones are the newest n incoming messages */
		rows = wa_db_query(db, "SELECT message_id, sender_jid FROM messages WHERE wa_session_id = ? AND remote_jid = ? "
				   "AND from_me = 0 ORDER BY timestamp DESC, id DESC LIMIT ?",
				   "usi", (unsigned long long)j->row, j->chat, n);
		if (!rows)
			return WA_ESTORAGE;
		/* oldest first, as a client reads them */
		for (i = json_array_size(rows); i > 0; i--)
			if (found_add(j, json_array_get(rows, i - 1)) != 0) {
				json_decref(rows);
				return WA_ENOMEM;
			}
		json_decref(rows);
	}
	return 0;
}

/* Given ids: the chat is read, 0. The whole chat: less what was read, so a
 * message that came in after the ids were collected stays unread. */
static int read_clear_txn(struct wa_db *db, void *arg)
{
	struct chat_job *j = arg;

	if (wa_msgs_chats_settle(db) != 0)
		return WA_ESTORAGE;
	if (j->ids)
		return wa_db_exec(db, "UPDATE chats SET unread_count = 0 WHERE wa_session_id = ? AND jid = ?", "us",
				  (unsigned long long)j->row, j->chat) < 0 ? WA_ESTORAGE : 0;
	return wa_db_exec(db, "UPDATE chats SET unread_count = GREATEST(unread_count - ?, 0) WHERE wa_session_id = ? "
			  "AND jid = ?", "ius", (long long)j->unread, (unsigned long long)j->row, j->chat) < 0
		? WA_ESTORAGE : 0;
}

static void read_clear_done(void *arg, int rc)
{
	struct chat_job *j = arg;
	json_t *ids;
	size_t i;

	if (rc != 0) {
		job_fail(j, 500, "Failed to mark messages as read", "storage_error");
		return;
	}
	/* the whole chat read: the phone's chat list learns it too (app state) */
	if (!j->ids && sess_ready(j->s))
		appstate_mark_read(j->s, j->chat);
	ids = json_array();
	for (i = 0; i < json_array_size(j->found); i++)
		json_array_append(ids, json_array_get(json_array_get(j->found, i), 0));
	job_end(j, 200, json_pack("{s:b,s:s,s:s,s:o,s:s}", "success", 1, "message", "Messages marked as read", "jid",
				  j->chat, "read", ids, "receipt", j->self ? "read-self" : "read"));
}

/* <receipt id="<first>" to="<chat>" [participant] type="read|read-self" t><list><item id/>…</list></receipt> */
static int send_read_receipt(struct chat_job *j, const char *participant, const char **ids, size_t n, long long t)
{
	struct wa_node *r = wa_node_new_attrs("receipt", "id", ids[0], "to", j->chat, "participant", participant,
					      "type", j->self ? "read-self" : "read", NULL);
	struct wa_node *list = NULL;
	int rc = WA_ENOMEM;

	if (!r || wa_node_set_attr_int(r, "t", t) != 0)
		goto out;
	for (size_t i = 1; i < n; i++) {
		struct wa_node *it;

		if (!list && !(list = wa_node_add_new(r, "list")))
			goto out;
		if (!(it = wa_node_add_new(list, "item")) || wa_node_set_attr(it, "id", ids[i]) != 0)
			goto out;
	}
	rc = sess_send(j->s, r);
out:
	wa_node_free(r);
	return rc;
}

static void read_collect_done(void *arg, int rc)
{
	struct chat_job *j = arg;
	size_t n = json_array_size(j->found), done = 0;
	const char **ids;
	char *sent;
	long long t = (long long)time(NULL);

	if (rc != 0) {
		job_fail(j, 500, "Failed to mark messages as read", "storage_error");
		return;
	}
	if (!still_ready(j)) {
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
		return;
	}
	if (j->ids && n == 0) {
		job_fail(j, 404, "None of 'messageIds' is a message received in this chat", "not_found");
		return;
	}
	ids = calloc(n ? n : 1, sizeof *ids);
	sent = calloc(n ? n : 1, 1);
	if (!ids || !sent) {
		free(ids);
		free(sent);
		job_fail(j, 500, "Out of memory", NULL);
		return;
	}
	/* one receipt per sender (1:1: the chat itself; groups: each participant) */
	for (size_t a = 0; a < n && rc == 0; a++) {
		const char *who = json_string_value(json_array_get(json_array_get(j->found, a), 1));
		size_t k = 0;

		if (sent[a])
			continue;
		for (size_t b = a; b < n; b++) {
			const char *o = json_string_value(json_array_get(json_array_get(j->found, b), 1));

			if (!sent[b] && (!j->group || strcmp(o, who) == 0)) {
				ids[k++] = json_string_value(json_array_get(json_array_get(j->found, b), 0));
				sent[b] = 1;
			}
		}
		if (j->group && !*who)
			continue; /* a group message without a stored sender: nobody to tell */
		rc = send_read_receipt(j, j->group ? who : NULL, ids, k, t);
		done += k;
	}
	free(ids);
	free(sent);
	if (rc != 0) {
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
		return;
	}
	wa_debug("session %s: %zu read receipt id(s) for %s", j->slug, done, j->chat);
	submit(j, read_clear_txn, read_clear_done);
}

void wa_chat_read(struct wa_session *s, struct wa_cmd *cmd)
{
	json_t *ids = json_object_get(cmd->args, "messageIds"), *v;
	struct chat_job *j;
	size_t i;
	char chat[WA_JID_STR_MAX];
	int group;

	if (chat_jid(cmd, chat, sizeof chat, &group, 1) != 0)
		return;
	if (ids && !json_is_null(ids)) {
		if (!json_is_array(ids) || json_array_size(ids) > READ_IDS_MAX) {
			wa_cmd_reply_error(cmd, 400, "'messageIds' must be an array of at most 1000 message ids",
					   "validation_error");
			return;
		}
		json_array_foreach(ids, i, v)
			if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 128) {
				wa_cmd_reply_error(cmd, 400, "'messageIds' must hold message ids (strings)",
						   "validation_error");
				return;
			}
		if (json_array_size(ids) == 0)
			ids = NULL; /* [] is the whole chat, as no ids */
	} else {
		ids = NULL;
	}
	if (!(j = job_new(s, cmd)))
		return;
	snprintf(j->chat, sizeof j->chat, "%s", chat);
	j->group = group;
	j->ids = ids ? json_incref(ids) : NULL;
	j->found = json_array();
	if (!j->found) {
		job_fail(j, 500, "Out of memory", NULL);
		return;
	}
	submit(j, read_collect_run, read_collect_done);
}

/* ---- chat.presence ---- */

static int push_name_run(struct wa_db *db, void *arg)
{
	struct chat_job *j = arg;
	int err = 0;
	json_t *r = wa_db_row(db, &err, "SELECT push_name FROM wa_sessions WHERE id = ?", "u", (unsigned long long)j->row);
	const char *n = json_string_value(json_object_get(r, "push_name"));

	snprintf(j->push_name, sizeof j->push_name, "%s", n ? n : "");
	json_decref(r);
	return err ? WA_ESTORAGE : 0;
}

struct wa_node *sess_presence_node(const char *type, const char *name)
{
	char clean[128];
	size_t n = 0;

	/* §11.8: name= is the push name, without '@' (as BL sends it); no name
	 * when there is none */
	for (const char *p = name ? name : ""; *p && n + 1 < sizeof clean; p++)
		if (*p != '@')
			clean[n++] = *p;
	clean[n] = '\0';
	return wa_node_new_attrs("presence", "type", type, "name", n ? clean : NULL, NULL);
}

/* alwaysOnline (the bot config): once logged in, the session says it is
 * available (with its push name), as a phone that is open does. */
struct online_job {
	struct wa_session *s;
	uint64_t row;
	int online;
	char push_name[128];
};

static int online_run(struct wa_db *db, void *arg)
{
	struct online_job *o = arg;
	int err = 0;
	json_t *r = wa_db_row(db, &err, "SELECT s.push_name, IFNULL(b.enabled AND b.always_online, 0) AS online "
			      "FROM wa_sessions s LEFT JOIN bot_configs b ON b.wa_session_id = s.id WHERE s.id = ?", "u",
			      (unsigned long long)o->row);
	const char *n = json_string_value(json_object_get(r, "push_name"));
	const json_t *on = json_object_get(r, "online");

	snprintf(o->push_name, sizeof o->push_name, "%s", n ? n : "");
	o->online = json_is_true(on) || json_integer_value(on) != 0;
	json_decref(r);
	return err ? WA_ESTORAGE : 0;
}

static void online_done(void *arg, int rc)
{
	struct online_job *o = arg;
	struct wa_session *s = o->s;

	if (sess_unref(s) && rc == 0 && o->online && sess_ready(s)) {
		struct wa_node *p = sess_presence_node("available", o->push_name);

		if (p && sess_send(s, p) == 0)
			wa_info("session %s: available (alwaysOnline)", s->id);
		wa_node_free(p);
	}
	free(o);
}

void chat_login_presence(struct wa_session *s)
{
	struct online_job *o = calloc(1, sizeof *o);

	if (!o)
		return;
	o->s = s;
	o->row = s->row_id;
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, o->row, online_run, online_done, o) != 0) {
		sess_unref(s);
		free(o);
	}
}

static json_t *presence_answer(const char *presence, const char *to)
{
	char msg[256];

	snprintf(msg, sizeof msg, "Presence '%s' sent to %s", presence, to);
	return json_pack("{s:b,s:s}", "success", 1, "message", msg);
}

static void own_presence_done(void *arg, int rc)
{
	struct chat_job *j = arg;
	struct wa_node *p;

	if (rc != 0) {
		job_fail(j, 500, "Failed to send presence", "storage_error");
		return;
	}
	if (!still_ready(j)) {
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
		return;
	}
	p = sess_presence_node(j->presence, j->push_name);
	rc = p ? sess_send(j->s, p) : WA_ENOMEM;
	wa_node_free(p);
	if (rc != 0) {
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
		return;
	}
	job_end(j, 200, presence_answer(j->presence, j->chat));
}

void wa_chat_presence(struct wa_session *s, struct wa_cmd *cmd)
{
	const char *pr = json_string_value(json_object_get(cmd->args, "presence"));
	struct wa_node *cs, *st;
	char chat[WA_JID_STR_MAX], own[WA_JID_STR_MAX];
	int group, rc;

	if (!pr)
		pr = json_string_value(json_object_get(cmd->args, "type")); /* the n8n node's {type} */
	if (!pr || (strcmp(pr, "composing") && strcmp(pr, "recording") && strcmp(pr, "paused") &&
		    strcmp(pr, "available") && strcmp(pr, "unavailable"))) {
		wa_cmd_reply_error(cmd, 400, "'presence' must be one of composing, recording, paused, available, unavailable",
				   "validation_error");
		return;
	}
	if (chat_jid(cmd, chat, sizeof chat, &group, 1) != 0)
		return;
	if (strcmp(pr, "available") == 0 || strcmp(pr, "unavailable") == 0) {
		struct chat_job *j = job_new(s, cmd);

		if (!j)
			return;
		snprintf(j->chat, sizeof j->chat, "%s", chat);
		snprintf(j->presence, sizeof j->presence, "%s", pr);
		submit(j, push_name_run, own_presence_done);
		return;
	}
	/* §11.8: from our own device (BL and WM), recording is composing with media="audio" */
	snprintf(own, sizeof own, "%s:%u@s.whatsapp.net", s->cr ? s->cr->phone : "", s->cr ? s->cr->device : 0);
	cs = wa_node_new_attrs("chatstate", "from", s->cr && s->cr->phone[0] ? own : NULL, "to", chat, NULL);
	st = !cs ? NULL
	   : strcmp(pr, "recording") == 0 ? wa_node_new_attrs("composing", "media", "audio", NULL)
	   : wa_node_new(strcmp(pr, "paused") == 0 ? "paused" : "composing");
	if (!st || wa_node_add_child(cs, st) != 0) {
		wa_node_free(st);
		wa_node_free(cs);
		wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		return;
	}
	rc = sess_send(s, cs);
	wa_node_free(cs);
	if (rc != 0) {
		wa_cmd_reply_error(cmd, 503, MSG_NOT_READY, "session_not_ready");
		return;
	}
	wa_cmd_reply(cmd, 200, presence_answer(pr, chat));
}

/* ---- contact.check ---- */

/* A number as the API takes it ("+62 812-3456", "628123456@s.whatsapp.net",
 * "628123456@c.us") as digits; 0, or -1 when it is not a phone number. */
static int number_digits(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	const char *p = in;

	if (*p == '+')
		p++;
	for (; *p && *p != '@'; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n + 1 >= cap)
				return -1;
			out[n++] = *p;
		} else if (!strchr(" -().", *p)) {
			return -1;
		}
	}
	out[n] = '\0';
	if (*p == '@' && strcmp(p, "@s.whatsapp.net") != 0 && strcmp(p, "@c.us") != 0)
		return -1;
	return n >= 5 && n <= 15 ? 0 : -1; /* E.164: at most 15 digits */
}

static void check_done(void *ctx, const struct wa_node *reply, int err)
{
	struct chat_job *j = ctx;
	const struct wa_node *list = reply ? wa_node_path(reply, "usync", "list", NULL) : NULL, *u = NULL;
	json_t *results = json_array(), *byd = json_object();
	size_t i;
	json_t *v;

	if (err || !wa_node_attr_is(reply, "type", "result") || !list || !results || !byd) {
		json_decref(results);
		json_decref(byd);
		job_fail(j, err == WA_ECLOSED ? 503 : 500, err == WA_ECLOSED ? MSG_NOT_READY : "Failed to check numbers",
			 err == WA_ECLOSED ? "session_not_ready" : "whatsapp_error");
		return;
	}
	/* per user: <contact type="in|out">+digits</contact>, the jid on the user */
	while ((u = wa_node_next(list, "user", u)) != NULL) {
		const struct wa_node *c = wa_node_child(u, "contact");
		const char *echo = c ? wa_node_content_str(c) : NULL;
		char d[24];
		struct wa_jid uj;
		char jid[WA_JID_STR_MAX] = "";

		if (!c)
			continue;
		if (wa_node_attr_jid(u, "jid", &uj) == 0) {
			wa_jid_to_non_ad(&uj);
			wa_jid_format(&uj, jid, sizeof jid);
		}
		if (!(echo && number_digits(echo, d, sizeof d) == 0) && !(jid[0] && number_digits(jid, d, sizeof d) == 0))
			continue;
		json_object_set_new(byd, d, json_pack("{s:b,s:s}", "exists", wa_node_attr_is(c, "type", "in"), "jid", jid));
	}
	json_array_foreach(j->ids, i, v) {
		const char *num = json_string_value(v);
		char d[24];
		json_t *hit;

		if (number_digits(num, d, sizeof d) != 0) {
			json_array_append_new(results, json_pack("{s:s,s:b,s:n,s:s}", "number", num, "exists", 0, "jid",
								 "error", "Not a phone number"));
			continue;
		}
		hit = json_object_get(byd, d);
		if (hit && json_is_true(json_object_get(hit, "exists")))
			json_array_append_new(results, json_pack("{s:s,s:b,s:O}", "number", num, "exists", 1, "jid",
								 json_object_get(hit, "jid")));
		else
			json_array_append_new(results, json_pack("{s:s,s:b,s:n}", "number", num, "exists", 0, "jid"));
	}
	json_decref(byd);
	job_end(j, 200, json_pack("{s:b,s:o}", "success", 1, "results", results));
}

void wa_contact_check(struct wa_session *s, struct wa_cmd *cmd)
{
	json_t *nums = json_object_get(cmd->args, "numbers"), *v, *seen;
	struct wa_node *iq, *us, *q, *list;
	struct chat_job *j;
	char sid[32];
	size_t i, asked = 0;
	int rc;

	if (!json_is_array(nums) || json_array_size(nums) == 0 || json_array_size(nums) > CHECK_MAX) {
		wa_cmd_reply_error(cmd, 400, "'numbers' must be an array of 1 to 50 phone numbers", "validation_error");
		return;
	}
	json_array_foreach(nums, i, v)
		if (!json_is_string(v)) {
			wa_cmd_reply_error(cmd, 400, "'numbers' must hold strings", "validation_error");
			return;
		}
	if (!(j = job_new(s, cmd)))
		return;
	j->ids = json_incref(nums);
	/* §6.1/§6.2: the number check as Baileys' onWhatsApp asks it */
	wa_iqs_next_id(&s->iqs, sid, sizeof sid);
	iq = wa_node_new_attrs("iq", "type", "get", "xmlns", "usync", "to", "s.whatsapp.net", NULL);
	us = iq ? wa_node_add_new(iq, "usync") : NULL;
	q = us ? wa_node_add_new(us, "query") : NULL;
	list = q && wa_node_add_new(q, "contact") ? wa_node_add_new(us, "list") : NULL;
	seen = json_object();
	if (!list || !seen || wa_node_set_attr(us, "sid", sid) || wa_node_set_attr(us, "mode", "query") ||
	    wa_node_set_attr(us, "context", "interactive") || wa_node_set_attr(us, "last", "true") ||
	    wa_node_set_attr(us, "index", "0"))
		goto oom;
	json_array_foreach(nums, i, v) {
		char d[24], plus[26];
		struct wa_node *u;

		if (number_digits(json_string_value(v), d, sizeof d) != 0 || json_object_get(seen, d))
			continue;
		json_object_set_new(seen, d, json_true());
		snprintf(plus, sizeof plus, "+%s", d);
		if (!(u = wa_node_add_new(list, "user")) || !(u = wa_node_add_new(u, "contact")) ||
		    wa_node_set_string(u, plus) != 0)
			goto oom;
		asked++;
	}
	json_decref(seen);
	seen = NULL;
	if (asked == 0) {
		/* nothing to ask: every entry answers "Not a phone number" */
		struct wa_node *empty = wa_node_new_attrs("iq", "type", "result", NULL);
		struct wa_node *eu = empty ? wa_node_add_new(empty, "usync") : NULL;

		if (!eu || !wa_node_add_new(eu, "list")) {
			wa_node_free(empty);
			goto oom;
		}
		wa_node_free(iq);
		check_done(j, empty, 0);
		wa_node_free(empty);
		return;
	}
	rc = sess_iq_ctx(s, iq, CHAT_IQ_MS, check_done, j);
	wa_node_free(iq);
	if (rc != 0)
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
	return;
oom:
	json_decref(seen);
	wa_node_free(iq);
	job_fail(j, 500, "Out of memory", NULL);
}

/* ---- contact.picture ---- */

int sess_picture_url(const struct wa_node *reply, int err, const char **url)
{
	const struct wa_node *p = reply ? wa_node_child(reply, "picture") : NULL;
	const struct wa_node *e = reply ? wa_node_child(reply, "error") : NULL;
	long long code = 0;

	*url = NULL;
	if (err)
		return err == WA_ECLOSED ? 503 : 504;
	if (wa_node_attr_is(reply, "type", "result")) {
		*url = p ? wa_node_attr(p, "url") : NULL; /* status 204/304 or none: no url */
		return 200;
	}
	/* §11.9: 404 none, 401 hidden from us: both "no picture" for the API */
	if (e && wa_node_attr_int(e, "code", &code) == 0 && (code == 404 || code == 401 || code == 403))
		return 200;
	return 500;
}

struct wa_node *sess_picture_iq(const char *target, const char *type)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "type", "get", "xmlns", "w:profile:picture", "to",
					       "s.whatsapp.net", "target", target, NULL);

	if (iq && !wa_node_add_child(iq, wa_node_new_attrs("picture", "type", type, "query", "url", NULL)))
		return iq;
	wa_node_free(iq);
	return NULL;
}

static void picture_done(void *ctx, const struct wa_node *reply, int err)
{
	struct chat_job *j = ctx;
	const char *url;
	int st = sess_picture_url(reply, err, &url);

	if (st == 503) {
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
		return;
	}
	if (st != 200) {
		job_fail(j, 500, "Failed to fetch profile picture", "whatsapp_error");
		return;
	}
	if (url)
		job_end(j, 200, json_pack("{s:b,s:s,s:s,s:s}", "success", 1, "jid", j->chat, "profilePicUrl", url, "message",
					  "Profile picture found"));
	else
		job_end(j, 200, json_pack("{s:b,s:s,s:n,s:s}", "success", 1, "jid", j->chat, "profilePicUrl", "message",
					  "No profile picture found"));
}

void wa_contact_picture(struct wa_session *s, struct wa_cmd *cmd)
{
	const char *type = json_string_value(json_object_get(cmd->args, "type"));
	struct chat_job *j;
	struct wa_node *iq;
	char chat[WA_JID_STR_MAX];
	int group, rc;

	if (type && strcmp(type, "image") && strcmp(type, "preview")) {
		wa_cmd_reply_error(cmd, 400, "'type' must be image or preview", "validation_error");
		return;
	}
	if (chat_jid(cmd, chat, sizeof chat, &group, 1) != 0 || !(j = job_new(s, cmd)))
		return;
	snprintf(j->chat, sizeof j->chat, "%s", chat);
	iq = sess_picture_iq(chat, type ? type : "image");
	rc = iq ? sess_iq_ctx(s, iq, CHAT_IQ_MS, picture_done, j) : WA_ENOMEM;
	wa_node_free(iq);
	if (rc != 0)
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
}

/* ---- contact.block / contact.unblock ---- */

static int block_store_txn(struct wa_db *db, void *arg)
{
	struct chat_job *j = arg;
	char *payload;

	json_decref(j->event);
	j->event = json_pack("{s:s,s:s,s:b}", "sessionId", j->slug, "jid", j->chat, "blocked", j->block);
	payload = j->event ? json_dumps(j->event, JSON_COMPACT) : NULL;
	if (!payload)
		return WA_ENOMEM;
	if (wa_db_begin(db) < 0) {
		free(payload);
		return WA_ESTORAGE;
	}
	if (wa_db_exec(db, "INSERT INTO contacts (wa_session_id, jid, blocked) VALUES (?, ?, ?) "
		       "ON DUPLICATE KEY UPDATE blocked = VALUES(blocked)", "usb", (unsigned long long)j->row, j->chat,
		       j->block) < 0 ||
	    wa_outbox_add(db, j->row, "contact.update", payload, &j->outbox_id) != 0) {
		free(payload);
		wa_db_rollback(db);
		return WA_ESTORAGE;
	}
	free(payload);
	return wa_db_commit(db) < 0 ? WA_ESTORAGE : 0;
}

static int block_store_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, block_store_txn, arg);
}

static void block_store_done(void *arg, int rc)
{
	struct chat_job *j = arg;

	if (rc != 0) {
		/* WhatsApp has it; our copy follows at the next change */
		wa_warn("session %s: the block state of %s is not stored (%s)", j->slug, j->chat, wa_strerror(rc));
	} else if (!j->s->gone) {
		wa_events_publish(j->s->e->events, j->slug, "contact.update", j->event, j->outbox_id, wa_engine_wall_ms());
	}
	job_end(j, 200, json_pack("{s:b,s:s,s:s}", "success", 1, "message", j->block ? "Contact blocked" : "Contact unblocked",
				  "jid", j->chat));
}

static void block_done(void *ctx, const struct wa_node *reply, int err)
{
	struct chat_job *j = ctx;

	if (err) {
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
		return;
	}
	if (!wa_node_attr_is(reply, "type", "result")) {
		const struct wa_node *e = wa_node_child(reply, "error");

		job_fail(j, 500, j->block ? "Failed to block contact" : "Failed to unblock contact",
			 e && wa_node_attr(e, "text") ? wa_node_attr(e, "text") : "whatsapp_error");
		return;
	}
	submit(j, block_store_run, block_store_done);
}

static void block_op(struct wa_session *s, struct wa_cmd *cmd, int block)
{
	struct chat_job *j;
	struct wa_node *iq, *it;
	char chat[WA_JID_STR_MAX];
	int group, rc;

	if (chat_jid(cmd, chat, sizeof chat, &group, 0) != 0 || !(j = job_new(s, cmd)))
		return;
	snprintf(j->chat, sizeof j->chat, "%s", chat);
	j->block = block;
	/* §11.10: <iq xmlns="blocklist" type="set"><item action jid/></iq> */
	iq = wa_node_new_attrs("iq", "type", "set", "xmlns", "blocklist", "to", "s.whatsapp.net", NULL);
	it = iq ? wa_node_add_new(iq, "item") : NULL;
	rc = !it || wa_node_set_attr(it, "action", block ? "block" : "unblock") || wa_node_set_attr(it, "jid", chat)
		? WA_ENOMEM : sess_iq_ctx(s, iq, CHAT_IQ_MS, block_done, j);
	wa_node_free(iq);
	if (rc != 0)
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
}

void wa_contact_block(struct wa_session *s, struct wa_cmd *cmd)
{
	block_op(s, cmd, 1);
}

void wa_contact_unblock(struct wa_session *s, struct wa_cmd *cmd)
{
	block_op(s, cmd, 0);
}

/* ---- contact.blocklist ---- */

static void blocklist_done(void *ctx, const struct wa_node *reply, int err)
{
	struct chat_job *j = ctx;
	const struct wa_node *list = reply ? wa_node_child(reply, "list") : NULL, *it = NULL;
	json_t *jids;

	if (err) {
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
		return;
	}
	if (!wa_node_attr_is(reply, "type", "result")) {
		job_fail(j, 500, "Failed to read the blocklist", "whatsapp_error");
		return;
	}
	jids = json_array();
	while (jids && list && (it = wa_node_next(list, "item", it)) != NULL) {
		struct wa_jid uj;
		char jid[WA_JID_STR_MAX];

		if (wa_node_attr_jid(it, "jid", &uj) != 0)
			continue;
		wa_jid_to_non_ad(&uj);
		if (wa_jid_format(&uj, jid, sizeof jid) >= 0)
			json_array_append_new(jids, json_string(jid));
	}
	job_end(j, 200, json_pack("{s:b,s:o}", "success", 1, "blocklist", jids ? jids : json_array()));
}

void wa_contact_blocklist(struct wa_session *s, struct wa_cmd *cmd)
{
	struct chat_job *j = job_new(s, cmd);
	struct wa_node *iq;
	int rc;

	if (!j)
		return;
	/* §11.10: <iq xmlns="blocklist" type="get"/> -> <list><item jid/>…</list> */
	iq = wa_node_new_attrs("iq", "type", "get", "xmlns", "blocklist", "to", "s.whatsapp.net", NULL);
	rc = iq ? sess_iq_ctx(s, iq, CHAT_IQ_MS, blocklist_done, j) : WA_ENOMEM;
	wa_node_free(iq);
	if (rc != 0)
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
}

/* ---- a block made elsewhere (the phone): account_sync <blocklist> ---- */

#define SYNC_ITEMS_MAX 64

struct block_sync {
	struct wa_session *s;
	uint64_t row;
	char slug[WA_SESSION_ID_MAX];
	struct wa_node *n;           /* the notification (owned), acked once stored */
	json_t *events;              /* [[outbox_id, data], ...] */
};

static int block_sync_txn(struct wa_db *db, void *arg)
{
	struct block_sync *b = arg;
	const struct wa_node *bl = wa_node_child(b->n, "blocklist"), *it = NULL;
	int count = 0;

	json_array_clear(b->events);
	if (wa_db_begin(db) < 0)
		return WA_ESTORAGE;
	while ((it = wa_node_next(bl, "item", it)) != NULL && count++ < SYNC_ITEMS_MAX) {
		const char *action = wa_node_attr(it, "action");
		struct wa_jid uj;
		char jid[WA_JID_STR_MAX], *payload;
		json_t *data;
		uint64_t ob = 0;
		int block;

		if (!action || (strcmp(action, "block") && strcmp(action, "unblock")) ||
		    wa_node_attr_jid(it, "jid", &uj) != 0 || !wa_jid_is_user(&uj))
			continue;
		wa_jid_to_non_ad(&uj);
		if (wa_jid_format(&uj, jid, sizeof jid) < 0)
			continue;
		block = strcmp(action, "block") == 0;
		data = json_pack("{s:s,s:s,s:b}", "sessionId", b->slug, "jid", jid, "blocked", block);
		payload = data ? json_dumps(data, JSON_COMPACT) : NULL;
		if (!payload ||
		    wa_db_exec(db, "INSERT INTO contacts (wa_session_id, jid, blocked) VALUES (?, ?, ?) "
			       "ON DUPLICATE KEY UPDATE blocked = VALUES(blocked)", "usb", (unsigned long long)b->row, jid,
			       block) < 0 ||
		    wa_outbox_add(db, b->row, "contact.update", payload, &ob) != 0) {
			free(payload);
			json_decref(data);
			wa_db_rollback(db);
			return WA_ESTORAGE;
		}
		free(payload);
		json_array_append_new(b->events, json_pack("[I,o]", (json_int_t)ob, data));
	}
	return wa_db_commit(db) < 0 ? WA_ESTORAGE : 0;
}

static int block_sync_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, block_sync_txn, arg);
}

static void block_sync_done(void *arg, int rc)
{
	struct block_sync *b = arg;
	size_t i;
	json_t *ev;

	if (sess_unref(b->s) && rc == 0) {
		json_array_foreach(b->events, i, ev)
			wa_events_publish(b->s->e->events, b->slug, "contact.update", json_array_get(ev, 1),
					  (uint64_t)json_integer_value(json_array_get(ev, 0)), wa_engine_wall_ms());
		if (b->s->phase == PH_READY)
			sess_ack(b->s, b->n);
	} else if (rc != 0) {
		wa_warn("session %s: a blocklist change is not stored (%s): left for the server to offer again", b->slug,
			wa_strerror(rc));
	}
	wa_node_free(b->n);
	json_decref(b->events);
	free(b);
}

int chat_on_blocklist_sync(struct wa_session *s, const struct wa_node *n)
{
	struct block_sync *b;

	if (!wa_node_attr_is(n, "type", "account_sync") || !wa_node_child(n, "blocklist"))
		return 0;
	b = calloc(1, sizeof *b);
	if (!b || !(b->n = wa_node_dup(n)) || !(b->events = json_array())) {
		if (b)
			wa_node_free(b->n);
		free(b);
		return -1; /* not acked: offered again at the next login */
	}
	b->s = s;
	b->row = s->row_id;
	snprintf(b->slug, sizeof b->slug, "%s", s->id);
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, block_sync_run, block_sync_done, b) == 0)
		return 1;
	sess_unref(s);
	wa_node_free(b->n);
	json_decref(b->events);
	free(b);
	return -1;
}
