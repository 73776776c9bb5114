/* sess_call: <call> stanzas of a logged-in session (docs/protocol.md
 * §11.11). An <offer> is stored (calls, migration 0013) with its
 * call.received event in one transaction, and only then acked (the
 * durability rule: a redelivered offer changes nothing twice). When the
 * session's settings say rejectCalls (wa_sessions.config, or the bot
 * config's rejectCalls) the offer is rejected as WhatsApp clients reject it
 * (<call to=caller><reject call-id call-creator count="0"/></call>) and,
 * with config.rejectCallsMessage, that text is queued for the caller in
 * the same transaction (origin BOT, sent once by the scheduler). Other call
 * stanzas (terminate, offer_notice, relay...) are acked as they are.
 * Loop thread; the SQL on a dbpool thread. */
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/sched.h"
#include "engine/session_int.h"
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa/msgid.h"
#include "wa/node.h"
#include "wa_err.h"
#include "wa_log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct call_job {
	struct wa_session *s;
	struct wa_node *n;            /* the <call> (a copy) */
	uint64_t row;
	char slug[WA_SESSION_ID_MAX];
	char call_id[65], from[WA_JID_STR_MAX];
	int video, group;
	int64_t t;
	/* results */
	int fresh;                    /* stored now (not a redelivery) */
	int reject, queued;
	char *payload;
	uint64_t outbox_id;
};

static void job_free(struct call_job *j)
{
	wa_node_free(j->n);
	free(j->payload);
	free(j);
}

static int call_txn(struct wa_db *db, void *arg)
{
	struct call_job *j = arg;
	unsigned long long sid = (unsigned long long)j->row;
	json_t *cfg, *ev;
	const char *msg;
	long long n;
	int err = 0;

	free(j->payload);
	j->payload = NULL;
	j->fresh = j->reject = j->queued = 0;
	if (wa_db_begin(db) < 0)
		return WA_ESTORAGE;
	cfg = wa_db_row(db, &err, "SELECT IFNULL(JSON_VALUE(s.config, '$.rejectCalls') IN ('true', '1'), 0) "
			"OR IFNULL(b.reject_calls, 0) AS rej, JSON_VALUE(s.config, '$.rejectCallsMessage') AS msg "
			"FROM wa_sessions s LEFT JOIN bot_configs b ON b.wa_session_id = s.id WHERE s.id = ?", "u", sid);
	if (err)
		goto fail;
	j->reject = cfg && (json_is_true(json_object_get(cfg, "rej")) || json_integer_value(json_object_get(cfg, "rej")));
	n = wa_db_exec(db, "INSERT INTO calls (wa_session_id, call_id, from_jid, is_video, is_group, status, offered_at) "
		       "VALUES (?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?)) ON DUPLICATE KEY UPDATE id = id", "ussbbsi", sid,
		       j->call_id, j->from, j->video, j->group, j->reject ? "REJECTED" : "OFFERED", (long long)j->t);
	if (n < 0)
		goto fail;
	j->fresh = n == 1;
	if (!j->fresh) {
		/* offered before: answered then, acked now */
		j->reject = 0;
		json_decref(cfg);
		wa_db_rollback(db);
		return 0;
	}
	ev = json_pack("{s:s,s:s,s:s,s:b,s:b,s:s,s:I}", "sessionId", j->slug, "id", j->call_id, "from", j->from,
		       "isVideo", j->video, "isGroup", j->group, "status", j->reject ? "REJECTED" : "OFFERED",
		       "timestamp", (json_int_t)j->t);
	j->payload = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (!j->payload || wa_outbox_add(db, j->row, "call.received", j->payload, &j->outbox_id) != 0)
		goto fail;
	msg = cfg ? json_string_value(json_object_get(cfg, "msg")) : NULL;
	if (j->reject && msg && *msg) {
		char source[80];

		snprintf(source, sizeof source, "C:%s", j->call_id);
		n = wa_db_exec(db, "INSERT INTO scheduled_messages (wa_session_id, jid, content, send_at, origin, "
			       "source_message_id) VALUES (?, ?, ?, NOW(3), 'BOT', ?) ON DUPLICATE KEY UPDATE id = id",
			       "usss", sid, j->from, msg, source);
		if (n < 0)
			goto fail;
		j->queued = n == 1;
	}
	json_decref(cfg);
	return wa_db_commit(db) < 0 ? WA_ESTORAGE : 0;
fail:
	json_decref(cfg);
	wa_db_rollback(db);
	return WA_ESTORAGE;
}

static int call_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, call_txn, arg);
}

static void send_reject(struct wa_session *s, const struct call_job *j)
{
	char me[WA_JID_STR_MAX], id[WA_MSGID_LEN + 1];
	struct wa_node *c, *r;

	snprintf(me, sizeof me, "%s@s.whatsapp.net", s->cr->phone);
	wa_msgid_generate(id, s->cr->phone, time(NULL));
	c = wa_node_new_attrs("call", "from", me, "to", j->from, "id", id, NULL);
	r = c ? wa_node_add_new(c, "reject") : NULL;
	if (r && wa_node_set_attr(r, "call-id", j->call_id) == 0 && wa_node_set_attr(r, "call-creator", j->from) == 0 &&
	    wa_node_set_attr(r, "count", "0") == 0)
		(void)sess_send(s, c);
	wa_node_free(c);
}

static void call_done(void *arg, int rc)
{
	struct call_job *j = arg;
	struct wa_session *s = j->s;

	if (!sess_unref(s)) {
		job_free(j);
		return;
	}
	if (rc != 0) {
		wa_warn("session %s: call %s from %s not stored (database): left for the server to offer again", s->id,
			j->call_id, j->from);
		job_free(j);
		return;
	}
	if (j->fresh) {
		json_t *data = json_loads(j->payload, 0, NULL);

		wa_info("session %s: %s call %s from %s%s", s->id, j->video ? "video" : "voice", j->call_id, j->from,
			j->reject ? ": rejected" : "");
		if (data)
			wa_events_publish(s->e->events, s->id, "call.received", data, j->outbox_id, (uint64_t)j->t * 1000);
		json_decref(data);
	}
	if (s->phase == PH_READY) {
		sess_ack(s, j->n);
		if (j->reject)
			send_reject(s, j);
	}
	if (j->queued)
		wa_sched_kick(s->e->sched);
	job_free(j);
}

int call_on_node(struct wa_session *s, const struct wa_node *n)
{
	const struct wa_node *offer = wa_node_child(n, "offer");
	const char *from = wa_node_attr(n, "from"), *cid = offer ? wa_node_attr(offer, "call-id") : NULL;
	struct call_job *j;
	struct wa_jid fj;
	long long t = 0;

	if (strcmp(n->tag, "call") != 0)
		return 0;
	if (!offer || !from || !cid || !*cid || strlen(cid) > 64 || wa_jid_parse(from, &fj, NULL) != 0) {
		sess_ack(s, n); /* not an offer we keep: answered as it is */
		return 1;
	}
	if (!(j = calloc(1, sizeof *j)) || !(j->n = wa_node_dup(n))) {
		free(j);
		return 1; /* not acked: offered again */
	}
	j->s = s;
	j->row = s->row_id;
	snprintf(j->slug, sizeof j->slug, "%s", s->id);
	snprintf(j->call_id, sizeof j->call_id, "%s", cid);
	wa_jid_to_non_ad(&fj);
	wa_jid_format(&fj, j->from, sizeof j->from);
	j->video = wa_node_child(offer, "video") != NULL;
	j->group = wa_node_attr_is(offer, "type", "group") || wa_node_attr(offer, "group-jid") != NULL;
	wa_node_attr_int(n, "t", &t);
	j->t = t > 0 ? t : (long long)time(NULL);
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, j->row, call_run, call_done, j) != 0) {
		sess_unref(s);
		job_free(j);
	}
	return 1;
}
