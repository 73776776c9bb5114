/* h_broadcasts: the broadcast and spam jobs of a session (broadcasts,
 * broadcast_recipients; run by the engine, docs/engine.md "Broadcasts"):
 * their history, one job with its recipients, and cancelling one. Routes
 * beyond the reference (in the OpenAPI document). Responses use
 * {status, message, data}; every statement is scoped by wa_session_id, so a
 * job of another session is "not found". */
#include "fcgi/db.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"

#include <stdlib.h>
#include <string.h>

#define BC_COLS \
	"CAST(b.id AS CHAR) AS id, b.kind, b.message, b.status, b.total, b.sent, b.failed, " \
	"b.repeat_count AS repeatCount, b.delay_ms AS delayMs, b.delay_max_ms AS delayMaxMs, " \
	"b.last_error AS lastError, b.created_at AS createdAt, b.started_at AS startedAt, " \
	"b.next_at AS nextAt, b.finished_at AS finishedAt "
#define BC_LIST_MAX 200
#define BC_RECIPIENTS_MAX 5000

static int job_id(struct wa_req *r, unsigned long long *id)
{
	const char *s = wa_req_path_param(r, "broadcastId");
	char *end;

	*id = s && *s ? strtoull(s, &end, 10) : 0;
	if (!s || !*s || *end || *id == 0)
		return wa_reply_error(r, 400, "'broadcastId' must be the id of a broadcast", "validation_error");
	return 0;
}

int h_bc_list(struct wa_req *r)
{
	json_t *rows = wa_db_query(r->db, "SELECT " BC_COLS "FROM broadcasts b WHERE b.wa_session_id = ? "
				   "ORDER BY b.id DESC LIMIT ?", "ui", (unsigned long long)r->sess.id,
				   (long long)BC_LIST_MAX);

	if (!rows)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_ok(r, 200, "Broadcasts retrieved", rows);
}

int h_bc_get(struct wa_req *r)
{
	unsigned long long id;
	json_t *job, *rec;
	int err = 0;

	if (job_id(r, &id) < 0)
		return -1;
	job = wa_db_row(r->db, &err, "SELECT " BC_COLS "FROM broadcasts b WHERE b.id = ? AND b.wa_session_id = ?",
			"uu", id, (unsigned long long)r->sess.id);
	if (err)
		return wa_reply_db_error(r, "Database error");
	if (!job)
		return wa_reply_errorf(r, 404, "not_found", "Broadcast %llu not found in this session", id);
	rec = wa_db_query(r->db, "SELECT jid, status, sent_count AS sentCount, message_id AS messageId, error, "
			  "sent_at AS sentAt FROM broadcast_recipients WHERE broadcast_id = ? ORDER BY id LIMIT ?", "ui",
			  id, (long long)BC_RECIPIENTS_MAX);
	if (!rec) {
		json_decref(job);
		return wa_reply_db_error(r, "Database error");
	}
	json_object_set_new(job, "recipients", rec);
	return wa_reply_ok(r, 200, "Broadcast retrieved", job);
}

int h_bc_cancel(struct wa_req *r)
{
	unsigned long long id;
	long long n;
	json_t *job;
	int err = 0;

	if (job_id(r, &id) < 0)
		return -1;
	if (wa_db_begin(r->db) < 0)
		return wa_reply_db_error(r, "Database error");
	/* a recipient being sent right now finishes; nobody after it is sent */
	n = wa_db_exec(r->db, "UPDATE broadcasts SET status = 'CANCELLED', finished_at = NOW(3) WHERE id = ? AND "
		       "wa_session_id = ? AND status IN ('PENDING', 'RUNNING')", "uu", id,
		       (unsigned long long)r->sess.id);
	if (n == 1)
		n = wa_db_exec(r->db, "UPDATE broadcast_recipients SET status = 'SKIPPED' WHERE broadcast_id = ? AND "
			       "status = 'PENDING'", "u", id) < 0 ? -1 : 1;
	if (n < 0 || wa_db_commit(r->db) < 0) {
		wa_db_rollback(r->db);
		return wa_reply_db_error(r, "Database error");
	}
	job = wa_db_row(r->db, &err, "SELECT " BC_COLS "FROM broadcasts b WHERE b.id = ? AND b.wa_session_id = ?",
			"uu", id, (unsigned long long)r->sess.id);
	if (err)
		return wa_reply_db_error(r, "Database error");
	if (!job)
		return wa_reply_errorf(r, 404, "not_found", "Broadcast %llu not found in this session", id);
	if (n == 0) {
		int rc = wa_reply_errorf(r, 409, "conflict", "Broadcast %llu is already %s", id,
					 json_string_value(json_object_get(job, "status")));

		json_decref(job);
		return rc;
	}
	return wa_reply_ok(r, 200, "Broadcast cancelled", job);
}
