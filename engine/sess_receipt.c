/* sess_receipt: receipts for the messages we sent (docs/protocol.md §8.5):
 * each raises the stored status (SENT -> DELIVERED -> READ -> PLAYED,
 * never down: store/msgstatus.h, which writes the raises of a batch
 * together) and publishes message.status, in one transaction; the
 * receipt is acked only after the commit (the durability rule), so one the
 * engine could not store comes again at the next login.
 *
 * Receipts that change no stored message (server-error, peer_msg,
 * hist_sync, receipts of our own other devices, ids we do not know) are
 * acked as they are; a retry receipt sends the message again to the device
 * that asks (sess_send.c, §8.4).
 * Loop thread except receipt_run (a dbpool thread). */
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/session_int.h"
#include "engine/store/msgs.h"
#include "engine/store/msgstatus.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa_err.h"
#include "wa_log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define RECEIPT_IDS_MAX 256

struct receipt_job {
	struct wa_session *s;
	uint64_t row;
	char slug[WA_SESSION_ID_MAX];
	struct wa_node *n;          /* the receipt (owned) */
	const char *status;         /* what it means for our message */
	long long t;                /* its time (the events') */
	char chat[WA_JID_STR_MAX];
	/* published after the commit */
	json_t *events;             /* the message.status data, one per id raised */
	uint64_t ids[RECEIPT_IDS_MAX]; /* their outbox rows (set at the commit) */
};

/* The stored status a receipt type means; NULL: none to store. */
static const char *status_of(const char *type)
{
	if (!type || !*type || strcmp(type, "inactive") == 0)
		return "DELIVERED";
	if (strcmp(type, "read") == 0 || strcmp(type, "read-self") == 0)
		return "READ";
	if (strcmp(type, "played") == 0 || strcmp(type, "played-self") == 0)
		return "PLAYED";
	return NULL;
}

static void job_free(struct receipt_job *j)
{
	wa_node_free(j->n);
	json_decref(j->events);
	free(j);
}

/* A raise took (at the commit): its message.status event. */
static int raise_took(struct wa_db *db, void *arg, const char *id, const char *status)
{
	struct receipt_job *j = arg;
	size_t k = json_array_size(j->events);
	json_t *data;
	char *payload;

	if (k >= RECEIPT_IDS_MAX)
		return WA_EINTERNAL; /* the caller raises at most RECEIPT_IDS_MAX ids */
	data = json_pack("{s:s,s:s,s:s,s:s,s:s*,s:I}", "sessionId", j->slug, "id", id, "remoteJid", j->chat,
			 "status", status, "participant", wa_node_attr(j->n, "participant"), "timestamp",
			 (json_int_t)j->t);
	payload = data ? json_dumps(data, JSON_COMPACT) : NULL;
	if (!payload || wa_outbox_add_later(db, j->row, "message.status", payload, &j->ids[k]) != 0) {
		free(payload);
		json_decref(data);
		return WA_ESTORAGE;
	}
	free(payload);
	return json_array_append_new(j->events, data) == 0 ? 0 : WA_ENOMEM;
}

static int receipt_txn(struct wa_db *db, void *arg)
{
	struct receipt_job *j = arg;
	const struct wa_node *list = wa_node_child(j->n, "list"), *it = NULL;
	long long t = 0;
	int rc, count = 0;

	json_array_clear(j->events);
	wa_node_attr_int(j->n, "t", &t);
	j->t = t;
	if (wa_db_begin(db) < 0)
		return WA_ESTORAGE;
	rc = wa_msgstatus_raise(db, j->row, wa_node_attr_or(j->n, "id", ""), j->status, 0, raise_took, j);
	while (rc == 0 && list && (it = wa_node_next(list, "item", it)) != NULL && ++count < RECEIPT_IDS_MAX)
		if (wa_node_attr(it, "id"))
			rc = wa_msgstatus_raise(db, j->row, wa_node_attr(it, "id"), j->status, 0, raise_took, j);
	if (rc != 0) {
		wa_db_rollback(db);
		return rc;
	}
	return wa_db_commit(db) < 0 ? WA_ESTORAGE : 0;
}

static int receipt_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, receipt_txn, arg);
}

static void receipt_done(void *arg, int rc)
{
	struct receipt_job *j = arg;
	struct wa_session *s = j->s;
	size_t i;
	json_t *ev;

	if (!sess_unref(s)) {
		job_free(j);
		return;
	}
	if (rc != 0) {
		wa_warn("session %s: receipt %s not stored (%s): left for the server to offer again", s->id,
			wa_node_attr_or(j->n, "id", "?"), wa_strerror(rc));
		job_free(j);
		return;
	}
	json_array_foreach(j->events, i, ev)
		wa_events_publish(s->e->events, s->id, "message.status", ev, j->ids[i], wa_engine_wall_ms());
	if (s->phase == PH_READY)
		sess_ack(s, j->n);
	job_free(j);
}

void recv_receipt(struct wa_session *s, struct wa_node *n)
{
	struct receipt_job *j;
	struct wa_jid from;
	const char *status = status_of(wa_node_attr(n, "type"));

	if (wa_node_attr_is(n, "type", "retry")) {
		send_on_retry(s, n);
		return;
	}
	/* receipts that store nothing, and those of our own devices
	 * (recipient set: about a chat, not from the peer), are acked now */
	if (!status || wa_node_attr(n, "recipient") || wa_node_attr_jid(n, "from", &from) != 0 ||
	    !(j = calloc(1, sizeof *j))) {
		sess_ack(s, n);
		wa_node_free(n);
		return;
	}
	j->events = json_array();
	wa_jid_to_non_ad(&from);
	if (!j->events || wa_jid_format(&from, j->chat, sizeof j->chat) < 0) {
		json_decref(j->events);
		free(j);
		sess_ack(s, n);
		wa_node_free(n);
		return;
	}
	j->s = s;
	j->row = s->row_id;
	j->n = n;
	j->status = status;
	snprintf(j->slug, sizeof j->slug, "%s", s->id);
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, receipt_run, receipt_done, j) == 0)
		return;
	sess_unref(s);
	job_free(j);
}
