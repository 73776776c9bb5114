/* sess_bulk: message.forward (session.h): a stored message to every chat
 * of toJids, one after the other, each through the normal send path
 * (sess_send_out: recorded PENDING before it is sent, SENT on the ack,
 * with its events); answered once every send has its outcome, with one
 * result per chat ({jid, id, status, error}). What this module keeps is
 * only the list of chats still to go, in memory: the request is answered
 * when it is over, so an engine that stops in the middle leaves the client
 * an error (each message that went out is stored as any other).
 * Broadcasts and spam are resumable jobs instead (sched.h). Loop thread. */
#include "engine/engine.h"
#include "engine/cmd.h"
#include "engine/session_int.h"
#include "engine/store/outmsg.h"
#include "wa/jid.h"
#include "wa_log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct bulk {
	struct wa_session *s;
	struct wa_cmd *cmd;          /* answered at the end */
	char op[64];
	json_t *args;                /* the command's arguments (own copy) */
	char (*jids)[WA_JID_STR_MAX];
	size_t n, next;
	json_t *results;             /* one per target */
	size_t sent, failed;
	int first_status;            /* the first failure's status and why */
	char first_why[160];
};

static void bulk_free(struct bulk *b)
{
	json_decref(b->args);
	json_decref(b->results);
	free(b->jids);
	free(b);
}

static void bulk_end(struct bulk *b, const char *why)
{
	json_t *body;

	(void)sess_unref(b->s);
	if (why)
		wa_info("session %s: forward ended after %zu of %zu chats: %s", b->s->id, b->sent + b->failed, b->n, why);
	if (b->sent == 0 && b->failed) {
		/* nothing went out: the first refusal is the answer */
		int st = b->first_status >= 400 ? b->first_status : 500;

		wa_cmd_reply_error(b->cmd, st, b->first_why[0] ? b->first_why : "Message not forwarded",
				   st == 404 ? "not_found" : st == 400 ? "validation_error" : "send_failed");
	} else if (b->sent == 0) {
		wa_cmd_reply_error(b->cmd, 503, why ? why : "Session not connected or ready", "session_not_ready");
	} else {
		body = json_pack("{s:b,s:b,s:s,s:{s:O}}", "success", b->failed == 0, "status", b->failed == 0, "message",
				 b->failed == 0 ? "Message forwarded" : "Message not forwarded to every chat", "data",
				 "results", b->results);
		wa_cmd_reply(b->cmd, 200, body);
	}
	bulk_free(b);
}

static void bulk_step(struct bulk *b);

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
	bulk_step(b);
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

/* The chats of toJids (1..100, checked by the worker), without devices. */
static int targets(struct bulk *b, const json_t *args)
{
	const json_t *list = json_object_get(args, "toJids");
	struct wa_jid j;

	b->n = json_array_size(list);
	if (b->n == 0 || b->n > 100 || !(b->jids = calloc(b->n, sizeof *b->jids)))
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		const char *s = json_string_value(json_array_get(list, i));

		if (!s || wa_jid_parse(s, &j, NULL) != 0)
			return -1;
		wa_jid_to_non_ad(&j);
		if (wa_jid_format(&j, b->jids[i], sizeof b->jids[i]) < 0)
			return -1;
	}
	return 0;
}

void wa_session_bulk(struct wa_session *s, struct wa_cmd *cmd)
{
	const char *why = NULL, *code = NULL;
	struct wa_out probe;
	struct bulk *b;
	int rc;

	/* the arguments are checked once before anything is sent */
	if ((rc = wa_out_parse_op(&probe, cmd->op, cmd->args, &why, &code)) != 0) {
		wa_cmd_reply_error(cmd, rc, why, code);
		return;
	}
	wa_out_free(&probe);
	if (!(b = calloc(1, sizeof *b)) || !(b->args = json_deep_copy(cmd->args)) || !(b->results = json_array())) {
		if (b)
			json_decref(b->args);
		free(b);
		wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		return;
	}
	snprintf(b->op, sizeof b->op, "%s", cmd->op);
	b->s = s;
	if (targets(b, cmd->args) != 0) {
		bulk_free(b);
		wa_cmd_reply_error(cmd, 400, "'toJids' must be 1 to 100 WhatsApp JIDs", "invalid_jid");
		return;
	}
	b->cmd = cmd;
	sess_ref(s);
	bulk_step(b);
}
