/* sess_bulk: the operations that send one request's message to several
 * chats, or several times, one message after the other (session.h):
 *
 *   message.forward    a stored message to every chat of toJids; answered
 *                      once every send has its outcome, with one result
 *                      per chat ({jid, id, status, error});
 *   message.spam       the same text `count` times (limits.spam_max_count,
 *                      checked by the worker) to one chat, `delay` ms apart
 *                      (default 500; raised to limits.spam_min_delay_ms);
 *                      answered at once, sent in the background;
 *   message.broadcast  one text to every recipient, a random 10-20 s apart
 *                      (limits.broadcast_delay_min_ms / _max_ms; the
 *                      reference's `delay` is not used); answered at once.
 *
 * Each message goes through the normal send path (sess_send_out): recorded
 * PENDING before it is sent, SENT on the ack, with its events; what this
 * module keeps is only the list of targets still to go. That list lives in
 * memory: an engine that stops or a session that disconnects ends a spam
 * or broadcast where it is (logged with the count sent); the resumable
 * broadcast job is the scheduler's (docs/engine.md). Loop thread. */
#include "engine/engine.h"
#include "engine/cmd.h"
#include "engine/session_int.h"
#include "engine/store/outmsg.h"
#include "wa/jid.h"
#include "wa_log.h"
#include "wa_util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct bulk {
	struct wa_session *s;
	struct wa_cmd *cmd;          /* forward: answered at the end; else NULL */
	char op[64];
	json_t *args;                /* the command's arguments (own copy) */
	char (*jids)[WA_JID_STR_MAX];
	size_t n, next;
	json_t *results;             /* forward: one per target */
	long delay_min, delay_max;   /* ms between two sends */
	size_t sent, failed;
	int first_status;            /* the first failure's status and why */
	char first_why[160];
	lws_sorted_usec_list_t timer;
};

static void bulk_free(struct bulk *b)
{
	lws_sul_cancel(&b->timer);
	json_decref(b->args);
	json_decref(b->results);
	free(b->jids);
	free(b);
}

static void bulk_end(struct bulk *b, const char *why)
{
	int live = sess_unref(b->s);

	if (b->cmd) {
		json_t *body = json_pack("{s:b,s:b,s:s,s:{s:O}}", "success", b->failed == 0, "status", b->failed == 0,
					 "message", b->failed == 0 ? "Message forwarded" : "Message not forwarded to every chat",
					 "data", "results", b->results);

		if (b->sent == 0 && b->failed) {
			/* nothing went out: the first refusal is the answer */
			int st = b->first_status >= 400 ? b->first_status : 500;

			json_decref(body);
			wa_cmd_reply_error(b->cmd, st, b->first_why[0] ? b->first_why : "Message not forwarded",
					   st == 404 ? "not_found" : st == 400 ? "validation_error" : "send_failed");
		} else {
			wa_cmd_reply(b->cmd, 200, body);
		}
		b->cmd = NULL;
	} else if (live) {
		wa_info("session %s: %s done: %zu of %zu sent, %zu failed%s%s", b->s->id, b->op, b->sent, b->n,
			b->failed, why ? ": " : "", why ? why : "");
	}
	bulk_free(b);
}

static void bulk_step(struct bulk *b);

static void on_timer(lws_sorted_usec_list_t *sul)
{
	bulk_step(lws_container_of(sul, struct bulk, timer));
}

static void step_done(void *ctx, int status, const char *id, const char *why)
{
	struct bulk *b = ctx;

	if (status == 200) {
		b->sent++;
	} else if (b->failed++ == 0) {
		b->first_status = status;
		snprintf(b->first_why, sizeof b->first_why, "%s", why ? why : "");
	}
	if (b->results)
		json_array_append_new(b->results, json_pack("{s:s,s:s?,s:s,s:s?}", "jid", b->jids[b->next - 1], "id",
							    status == 200 ? id : NULL, "status",
							    status == 200 ? "SENT" : "FAILED", "error",
							    status == 200 ? NULL : why));
	if (b->next >= b->n) {
		bulk_end(b, NULL);
		return;
	}
	if (b->delay_max <= 0) {
		bulk_step(b);
		return;
	}
	{
		long d = b->delay_min;
		uint32_t r = 0;

		if (b->delay_max > b->delay_min && wa_random((uint8_t *)&r, sizeof r) == 0)
			d += (long)(r % (uint32_t)(b->delay_max - b->delay_min + 1));
		lws_sul_schedule(b->s->e->lws, 0, &b->timer, on_timer, (lws_usec_t)d * LWS_US_PER_MS);
	}
}

static void bulk_step(struct bulk *b)
{
	const char *why = NULL, *code = NULL;
	struct wa_out out;
	int rc;

	if (b->s->gone || !wa_session_is_connected(b->s)) {
		bulk_end(b, "the session is no longer connected");
		return;
	}
	rc = wa_out_parse_op(&out, b->op, b->args, &why, &code);
	b->next++;
	if (rc != 0) {
		step_done(b, rc, NULL, why);
		return;
	}
	sess_send_out(b->s, b->jids[b->next - 1], &out, step_done, b);
}

/* The targets: toJids (forward), recipients (broadcast), jid count times (spam). */
static int targets(struct bulk *b, const json_t *args, long spam_max)
{
	const json_t *list = !strcmp(b->op, "message.forward") ? json_object_get(args, "toJids")
			     : !strcmp(b->op, "message.broadcast") ? json_object_get(args, "recipients") : NULL;
	const json_t *v;
	struct wa_jid j;
	size_t i;

	if (!list) {
		json_int_t c = json_object_get(args, "count") ? json_integer_value(json_object_get(args, "count")) : 10;

		if (c < 1 || c > spam_max)
			return -1;
		b->n = (size_t)c;
	} else {
		b->n = json_array_size(list);
	}
	if (b->n == 0 || !(b->jids = calloc(b->n, sizeof *b->jids)))
		return -1;
	for (i = 0; i < b->n; i++) {
		const char *s = list ? json_string_value(json_array_get(list, i))
				     : json_string_value(json_object_get(args, "jid"));

		if (!s || wa_jid_parse(s, &j, NULL) != 0)
			return -1;
		wa_jid_to_non_ad(&j);
		if (wa_jid_format(&j, b->jids[i], sizeof b->jids[i]) < 0)
			return -1;
	}
	(void)v;
	return 0;
}

void wa_session_bulk(struct wa_session *s, struct wa_cmd *cmd)
{
	const struct sess_limits *lim = sess_limits(s);
	const char *why = NULL, *code = NULL;
	struct wa_out probe;
	struct bulk *b;
	int rc;

	/* the content is checked once before anything is sent */
	if ((rc = wa_out_parse_op(&probe, cmd->op, cmd->args, &why, &code)) != 0) {
		wa_cmd_reply_error(cmd, rc, why, code);
		return;
	}
	wa_out_free(&probe);
	if (!(b = calloc(1, sizeof *b)) || !(b->args = json_deep_copy(cmd->args))) {
		free(b);
		wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		return;
	}
	snprintf(b->op, sizeof b->op, "%s", cmd->op);
	b->s = s;
	if (targets(b, cmd->args, lim->spam_max) != 0) {
		bulk_free(b);
		wa_cmd_reply_error(cmd, 400, "The recipients must be WhatsApp JIDs", "invalid_jid");
		return;
	}
	if (!strcmp(cmd->op, "message.forward")) {
		b->cmd = cmd;
		if (!(b->results = json_array())) {
			bulk_free(b);
			wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
			return;
		}
	} else if (!strcmp(cmd->op, "message.spam")) {
		const json_t *d = json_object_get(cmd->args, "delay");

		b->delay_min = b->delay_max = d ? (long)json_integer_value(d) : 500;
		if (b->delay_min < lim->spam_min_delay_ms)
			b->delay_min = b->delay_max = lim->spam_min_delay_ms;
		wa_cmd_reply(cmd, 200, json_pack("{s:b,s:s,s:{s:I,s:I}}", "success", 1, "message",
						 "Spam started in background", "data", "count", (json_int_t)b->n,
						 "delayMs", (json_int_t)b->delay_min));
	} else {
		b->delay_min = lim->broadcast_delay_min_ms;
		b->delay_max = lim->broadcast_delay_max_ms;
		wa_cmd_reply(cmd, 200, json_pack("{s:b,s:s,s:{s:I}}", "success", 1, "message",
						 "Broadcast started in background", "data", "recipients",
						 (json_int_t)b->n));
	}
	wa_info("session %s: %s to %zu chat(s) started", s->id, cmd->op, b->n);
	sess_ref(s);
	bulk_step(b);
}
