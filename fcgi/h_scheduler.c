/* h_scheduler: messages to send later (scheduled_messages), sent by the
 * engine that owns the session. Responses use {status, message, data}.
 *
 * sendAt is ISO-8601 ("2026-12-25T10:00:00.000Z", an offset like "+07:00",
 * or no zone = UTC) and is stored in UTC with millisecond precision; on
 * create it must be in the future. An optional cronExpression (5 numeric
 * cron fields) makes the message recurring: the engine computes the next
 * send_at after each send. Messages being sent or already sent cannot be
 * edited (409); editing a failed or cancelled one re-queues it. */
#include "fcgi/db.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "wa/jid.h"
#include "wa_log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCH_SELECT \
	"SELECT CAST(m.id AS CHAR) AS id, CAST(m.wa_session_id AS CHAR) AS sessionId, m.jid, m.content, " \
	"m.media_url AS mediaUrl, m.media_type AS mediaType, m.send_at AS sendAt, " \
	"m.cron_expression AS cronExpression, m.status, m.attempts, m.message_id AS messageId, " \
	"m.last_error AS lastError, m.sent_at AS sentAt, m.created_at AS createdAt, m.updated_at AS updatedAt " \
	"FROM scheduled_messages m "

static const struct wa_field f_sched[] = {
	{ "jid", WA_F_JID, 1, NULL },
	{ "content", WA_F_STR, 1, "65535" },
	{ "sendAt", WA_F_STR, 1, "64" },
	{ "mediaUrl", WA_F_STR0, 0, NULL },
	{ "mediaType", WA_F_ENUM, 0, "image|video|document" },
	{ "cronExpression", WA_F_STR0, 0, "128" },
	{ NULL, WA_F_END, 0, NULL }
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- handlers -------------------------------------------------------------- */

struct sched_in {
	const char *jid, *content, *media_url, *media_type, *cron;
	char send_at[64];
};

/* Validate the body; require_future on create. Returns 0 or -1 after a 400. */
static int read_sched(struct wa_req *r, int require_future, struct sched_in *in)
{
	const char *at;
	long long ms;

	if (wa_body_begin(r, 0, f_sched) < 0)
		return -1;
	in->jid = wa_body_str(r, "jid");
	in->content = wa_body_str(r, "content");
	in->media_url = wa_body_str(r, "mediaUrl");
	in->media_type = wa_body_str(r, "mediaType");
	in->cron = wa_body_str(r, "cronExpression");
	at = wa_body_str(r, "sendAt");
	if (wa_iso8601_parse(at, &ms) < 0)
		return wa_reply_errorf(r, 400, "validation_error",
				       "'sendAt' must be an ISO-8601 date-time such as 2026-12-25T10:00:00.000Z (got '%.64s')",
				       at);
	if (require_future && ms <= now_ms())
		return wa_reply_error(r, 400, "'sendAt' must be in the future", "validation_error");
	if (wa_sql_datetime(ms, in->send_at, sizeof in->send_at) < 0)
		return wa_reply_error(r, 400, "'sendAt' is out of range", "validation_error");
	if (in->media_url && !*in->media_url)
		in->media_url = NULL;
	if (wa_check_media_url(r, "mediaUrl", in->media_url) < 0)
		return -1;
	if (in->media_type && !in->media_url)
		return wa_reply_error(r, 400, "'mediaType' needs a 'mediaUrl'", "validation_error");
	if (in->media_url && !in->media_type)
		in->media_type = "image";
	if (in->cron && !*in->cron)
		in->cron = NULL;
	if (in->cron && !wa_cron_valid(in->cron))
		return wa_reply_error(r, 400,
				      "'cronExpression' must have 5 fields (minute hour day-of-month month day-of-week) "
				      "of numbers, ranges, lists, steps or *", "validation_error");
	return 0;
}

static json_t *load_sched(struct wa_req *r, unsigned long long id)
{
	return wa_db_row(r->db, NULL, SCH_SELECT "WHERE m.id = ? AND m.wa_session_id = ? AND m.origin = 'API'", "uu",
			 id, (unsigned long long)r->sess.id);
}

int h_sch_list(struct wa_req *r)
{
	json_t *rows = wa_db_query(r->db, SCH_SELECT "WHERE m.wa_session_id = ? AND m.origin = 'API' "
				   "ORDER BY m.send_at, m.id", "u", (unsigned long long)r->sess.id);

	if (!rows)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_ok(r, 200, "Scheduled messages retrieved", rows);
}

int h_sch_create(struct wa_req *r)
{
	struct sched_in in;
	json_t *row;

	if (read_sched(r, 1, &in) < 0)
		return -1;
	if (wa_db_exec(r->db,
		       "INSERT INTO scheduled_messages (wa_session_id, jid, content, media_url, media_type, send_at, "
		       "cron_expression, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		       "ussssssu", (unsigned long long)r->sess.id, in.jid, in.content, in.media_url, in.media_type,
		       in.send_at, in.cron, (unsigned long long)r->user.id) < 0)
		return wa_reply_db_error(r, "Cannot schedule the message");
	row = load_sched(r, r->db->last_insert_id);
	if (!row)
		return wa_reply_db_error(r, "Database error");
	wa_info("session %s: message %llu scheduled for %s", r->sess.slug, (unsigned long long)r->db->last_insert_id,
		in.send_at);
	return wa_reply_ok(r, 200, "Message scheduled", row);
}

int h_sch_update(struct wa_req *r)
{
	unsigned long long id;
	struct sched_in in;
	json_t *row;
	long long n;
	int err = 0;

	if (wa_path_id(r, "scheduleId", &id) < 0 || read_sched(r, 0, &in) < 0)
		return -1;
	/* Only a message the engine is not sending / has not sent may change;
	 * the status condition in the UPDATE makes this race-free. */
	n = wa_db_exec(r->db,
		       "UPDATE scheduled_messages SET jid = ?, content = ?, media_url = ?, media_type = ?, send_at = ?, "
		       "cron_expression = ?, status = 'PENDING', attempts = 0, last_error = NULL "
		       "WHERE id = ? AND wa_session_id = ? AND origin = 'API' AND status IN ('PENDING', 'FAILED', 'CANCELLED')",
		       "ssssssuu", in.jid, in.content, in.media_url, in.media_type, in.send_at, in.cron, id,
		       (unsigned long long)r->sess.id);
	if (n < 0)
		return wa_reply_db_error(r, "Cannot update the scheduled message");
	row = wa_db_row(r->db, &err, SCH_SELECT "WHERE m.id = ? AND m.wa_session_id = ? AND m.origin = 'API'", "uu", id,
			(unsigned long long)r->sess.id);
	if (err)
		return wa_reply_db_error(r, "Database error");
	if (!row)
		return wa_reply_errorf(r, 404, "not_found", "Scheduled message %llu not found in this session", id);
	if (n == 0 && strcmp(json_string_value(json_object_get(row, "status")), "PENDING") != 0) {
		char msg[128];

		snprintf(msg, sizeof msg, "The message is %s and can no longer be edited",
			 json_string_value(json_object_get(row, "status")));
		json_decref(row);
		return wa_reply_error(r, 409, msg, "conflict");
	}
	return wa_reply_ok(r, 200, "Scheduled message updated", row);
}

int h_sch_delete(struct wa_req *r)
{
	unsigned long long id;
	long long n;

	if (wa_path_id(r, "scheduleId", &id) < 0)
		return -1;
	n = wa_db_exec(r->db, "DELETE FROM scheduled_messages WHERE id = ? AND wa_session_id = ? AND origin = 'API'", "uu", id,
		       (unsigned long long)r->sess.id);
	if (n < 0)
		return wa_reply_db_error(r, "Cannot delete the scheduled message");
	if (n == 0)
		return wa_reply_errorf(r, 404, "not_found", "Scheduled message %llu not found in this session", id);
	return wa_reply_ok(r, 200, "Scheduled message deleted",
			   json_pack("{s:s}", "id", wa_req_path_param(r, "scheduleId")));
}

int h_sch_delete_all(struct wa_req *r)
{
	long long n = wa_db_exec(r->db, "DELETE FROM scheduled_messages WHERE wa_session_id = ? AND origin = 'API'", "u",
				 (unsigned long long)r->sess.id);

	if (n < 0)
		return wa_reply_db_error(r, "Cannot delete the scheduled messages");
	wa_info("session %s: %lld scheduled messages deleted", r->sess.slug, n);
	return wa_reply_ok(r, 200, "Scheduled messages deleted", json_pack("{s:I}", "count", (json_int_t)n));
}
