/* sess_db: a session's database jobs (session_int.h). Each job holds a
 * reference on its session; the completion does nothing when the session
 * was let go meanwhile. Jobs of one session share its dbpool shard (its
 * row id), so they run and complete in the order submitted. */
#include "engine/cmd.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/session_int.h"
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa_err.h"
#include "wa_log.h"

#include <stdlib.h>
#include <string.h>

/* ---- status + connection.update ---- */

struct status_job {
	struct wa_session *s;
	char engine_id[WA_ENGINE_ID_MAX];
	uint64_t row;
	char status[24];
	char *reason, *qr, *code, *me_jid, *me_lid, *phone, *platform, *push_name;
	int logged_out, stop;
	char *payload;          /* the event's JSON */
	struct wa_cmd *cmd;     /* answered when done */
	uint64_t outbox_id;
	uint64_t ts_ms;
};

/* Ours; or, for a stop, nobody's any more because the user stopped it (the
 * heartbeat lets go of a session with auto_start 0, possibly before the
 * stop command is carried out): the STOPPED row and its event are still
 * written. */
static const char SQL_OWNED[] =
	"SELECT 1 FROM wa_sessions WHERE id = ? AND (engine_id = ? OR (? AND engine_id IS NULL AND auto_start = 0)) "
	"FOR UPDATE";
static const char SQL_STATUS[] =
	"UPDATE wa_sessions SET status = ?, last_error = ?, qr = ?, "
	"qr_updated_at = IF(? IS NULL, NULL, NOW(3)), pairing_code = ?, "
	"me_jid = COALESCE(?, me_jid), me_lid = COALESCE(?, me_lid), phone = COALESCE(?, phone), "
	"platform = COALESCE(?, platform), push_name = COALESCE(?, push_name), "
	"connected_at = IF(? = 'CONNECTED', NOW(3), connected_at) "
	"WHERE id = ?";
static const char SQL_LOGGED_OUT[] =
	"UPDATE wa_sessions SET me_jid = NULL, me_lid = NULL, push_name = NULL, platform = NULL, "
	"connected_at = NULL WHERE id = ?";
static const char SQL_STOP[] =
	"UPDATE wa_sessions SET auto_start = 0, engine_id = NULL, lease_until = NULL WHERE id = ? AND engine_id = ?";

/* The API's coarse status (fcgi/h_sessions.c shows the same). */
static const char *api_status(const char *st)
{
	if (strcmp(st, WA_SST_CONNECTED) == 0)
		return "Connected";
	if (strcmp(st, WA_SST_CONNECTING) == 0 || strcmp(st, WA_SST_QR) == 0)
		return "Connecting";
	return "Disconnected";
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void status_job_free(struct status_job *j)
{
	free(j->reason);
	free(j->qr);
	free(j->code);
	free(j->me_jid);
	free(j->me_lid);
	free(j->phone);
	free(j->platform);
	free(j->push_name);
	free(j->payload);
	free(j);
}

/* dbpool thread: one try of the transaction */
static int status_txn(struct wa_db *db, void *arg)
{
	struct status_job *j = arg;
	long long owned;

	if (wa_db_begin(db) < 0)
		return WA_ESTORAGE;
	owned = wa_db_int(db, 0, SQL_OWNED, "usb", (unsigned long long)j->row, j->engine_id, j->stop);
	if (wa_db_err(db))
		goto fail;
	if (owned != 1) { /* not ours any more (taken over, or deleted) */
		wa_db_rollback(db);
		return WA_ENOTFOUND;
	}
	if (wa_db_exec(db, SQL_STATUS, "sssssssssssu", j->status, j->reason, j->qr, j->qr, j->code, j->me_jid,
		       j->me_lid, j->phone, j->platform, j->push_name, j->status, (unsigned long long)j->row) < 0)
		goto fail;
	if (j->logged_out && (wa_creds_delete(db, j->row) != 0 ||
			      wa_db_exec(db, SQL_LOGGED_OUT, "u", (unsigned long long)j->row) < 0))
		goto fail;
	if (wa_outbox_add(db, j->row, "connection.update", j->payload, &j->outbox_id) != 0)
		goto fail;
	if (j->stop && wa_db_exec(db, SQL_STOP, "us", (unsigned long long)j->row, j->engine_id) < 0)
		goto fail;
	return wa_db_commit(db) < 0 ? WA_ESTORAGE : 0;
fail:
	wa_db_rollback(db);
	return WA_ESTORAGE;
}

/* dbpool thread: a deadlock (another thread renewing leases) rolls the
 * transaction back; it is run again, a few times. */
static int status_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, status_txn, arg);
}

/* loop thread */
static void status_done(void *arg, int rc)
{
	struct status_job *j = arg;
	struct wa_session *s = j->s;

	if (j->stop && (rc == 0 || rc == WA_ENOTFOUND))
		s->released_ms = wa_engine_now_ms();
	if (rc == 0) {
		json_t *data = json_loads(j->payload, 0, NULL);

		wa_events_publish(s->e->events, s->id, "connection.update", data, j->outbox_id, j->ts_ms);
		json_decref(data);
	} else if (rc == WA_ENOTFOUND) {
		wa_info("session %s: status %s not written: the session is no longer this engine's", s->id,
			j->status);
	} else {
		wa_error("session %s: cannot store status %s (database): the API shows the previous one", s->id,
			 j->status);
	}
	if (j->cmd) {
		if (rc == 0 || rc == WA_ENOTFOUND)
			wa_cmd_reply(j->cmd, 200, json_pack("{s:s,s:s}", "sessionId", s->id, "status", j->status));
		else
			wa_cmd_reply_error(j->cmd, 503, "Database unavailable: the change was not stored",
					   "database_unavailable");
	}
	sess_unref(s);
	status_job_free(j);
}

static char *event_payload(const struct wa_session *s, const struct sess_status *st)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "sessionId", s->id, "status", api_status(st->status), "state",
			      st->status);
	char *out;

	if (!o)
		return NULL;
	if (st->reason)
		json_object_set_new(o, "reason", json_string(st->reason));
	if (st->qr)
		json_object_set_new(o, "qr", json_string(st->qr));
	if (st->pairing_code)
		json_object_set_new(o, "pairingCode", json_string(st->pairing_code));
	if (st->me_jid)
		json_object_set_new(o, "me", json_pack("{s:s,s:s*,s:s*}", "id", st->me_jid, "lid", st->me_lid,
						       "name", st->push_name));
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

void db_write_status(struct wa_session *s, const struct sess_status *st)
{
	struct status_job *j = calloc(1, sizeof *j);

	snprintf(s->status, sizeof s->status, "%s", st->status);
	if (!j)
		goto oom;
	j->s = s;
	snprintf(j->engine_id, sizeof j->engine_id, "%s", s->e->id);
	j->row = s->row_id;
	snprintf(j->status, sizeof j->status, "%s", st->status);
	j->reason = dup_or_null(st->reason);
	j->qr = dup_or_null(st->qr);
	j->code = dup_or_null(st->pairing_code);
	j->me_jid = dup_or_null(st->me_jid);
	j->me_lid = dup_or_null(st->me_lid);
	j->phone = dup_or_null(st->phone);
	j->platform = dup_or_null(st->platform);
	j->push_name = dup_or_null(st->push_name);
	j->logged_out = st->logged_out;
	j->cmd = st->cmd;
	j->stop = st->stop || st->logged_out;
	j->ts_ms = wa_engine_wall_ms();
	j->payload = event_payload(s, st);
	if (!j->payload)
		goto oom;
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, status_run, status_done, j) == 0)
		return;
	sess_unref(s);
oom:
	wa_error("session %s: status %s not written (queue full or no memory)", s->id, st->status);
	if (st->cmd)
		wa_cmd_reply_error(st->cmd, 503, "The engine is overloaded: the change was not stored", "engine_busy");
	if (j) {
		j->cmd = NULL;
		status_job_free(j);
	}
}

/* ---- credentials ---- */

struct creds_job {
	struct wa_session *s;
	uint64_t row;
	struct wa_creds *cr;
	int created;
	void (*done)(struct wa_session *s, int rc);
};

static int load_run(struct wa_db *db, void *arg)
{
	struct creds_job *j = arg;
	int rc = wa_creds_load(db, j->row, j->cr);

	if (rc == WA_ENOTFOUND) {
		rc = wa_creds_create(db, j->row, j->cr);
		j->created = rc == 0;
	}
	return rc;
}

static void load_done(void *arg, int rc)
{
	struct creds_job *j = arg;

	if (sess_unref(j->s)) {
		if (rc == 0 && j->created)
			wa_info("session %s: new device keys made (not paired yet)", j->s->id);
		sess_creds_loaded(j->s, rc == 0 ? j->cr : NULL, rc);
		if (rc == 0)
			j->cr = NULL; /* the session's now */
	}
	if (j->cr) {
		wa_creds_wipe(j->cr);
		free(j->cr);
	}
	free(j);
}

void db_load_creds(struct wa_session *s)
{
	struct creds_job *j = calloc(1, sizeof *j);

	if (j)
		j->cr = calloc(1, sizeof *j->cr);
	if (!j || !j->cr)
		goto fail;
	j->s = s;
	j->row = s->row_id;
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, load_run, load_done, j) == 0)
		return;
	sess_unref(s);
fail:
	if (j)
		free(j->cr);
	free(j);
	sess_creds_loaded(s, NULL, WA_ENOMEM);
}

static int save_run(struct wa_db *db, void *arg)
{
	struct creds_job *j = arg;

	return wa_creds_save_paired(db, j->cr);
}

static void save_done(void *arg, int rc)
{
	struct creds_job *j = arg;

	if (sess_unref(j->s))
		j->done(j->s, rc);
	wa_creds_wipe(j->cr);
	free(j->cr);
	free(j);
}

void db_save_paired(struct wa_session *s, void (*done)(struct wa_session *s, int rc))
{
	struct creds_job *j = calloc(1, sizeof *j);

	if (j)
		j->cr = malloc(sizeof *j->cr);
	if (!j || !j->cr)
		goto fail;
	*j->cr = *s->cr;
	j->s = s;
	j->row = s->row_id;
	j->done = done;
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, save_run, save_done, j) == 0)
		return;
	sess_unref(s);
fail:
	if (j) {
		if (j->cr)
			wa_creds_wipe(j->cr);
		free(j->cr);
	}
	free(j);
	done(s, WA_ENOMEM);
}

/* ---- pre-keys ---- */

struct prekey_job {
	struct wa_session *s;
	struct wa_creds cr;       /* a copy: the ids and counters the batch starts from */
	size_t count;
	struct wa_node *iq;
	uint32_t next_id;
	void (*done)(struct wa_session *s, struct wa_node *iq, size_t count, uint32_t next_id, int rc);
};

static int prekey_run(struct wa_db *db, void *arg)
{
	struct prekey_job *j = arg;
	long long next;

	/* the stored counter, which a retry receipt's fresh pre-key
	 * (sess_recv.c, same shard, so before or after this job) may have
	 * moved since the copy was taken */
	next = wa_db_int(db, -1, "SELECT next_prekey_id FROM wa_device_creds WHERE wa_session_id = ?", "u",
			 (unsigned long long)j->cr.session_row);
	if (next > (long long)j->cr.next_prekey_id)
		j->cr.next_prekey_id = (uint32_t)next;
	return wa_creds_prekey_batch(db, &j->cr, j->count, &j->iq, &j->next_id);
}

static void prekey_done(void *arg, int rc)
{
	struct prekey_job *j = arg;

	if (sess_unref(j->s))
		j->done(j->s, j->iq, j->count, j->next_id, rc);
	wa_node_free(j->iq);
	wa_creds_wipe(&j->cr);
	free(j);
}

void db_prekey_batch(struct wa_session *s, size_t count,
		     void (*done)(struct wa_session *s, struct wa_node *iq, size_t count, uint32_t next_id, int rc))
{
	struct prekey_job *j = calloc(1, sizeof *j);

	if (!j) {
		done(s, NULL, count, 0, WA_ENOMEM);
		return;
	}
	j->s = s;
	j->cr = *s->cr;
	j->count = count;
	j->done = done;
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, prekey_run, prekey_done, j) == 0)
		return;
	sess_unref(s);
	wa_creds_wipe(&j->cr);
	free(j);
	done(s, NULL, count, 0, WA_EFULL);
}
