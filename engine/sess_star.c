/* sess_star: message.star (session.h). The star of a stored message is set
 * or cleared in the session's store (messages.starred, which the history
 * and search routes show). Starring is not a message in WhatsApp but an
 * app-state mutation (docs/protocol.md §7.6, §11): until the engine writes
 * app-state mutations, the star stays in the gateway and the phone does not
 * show it (docs/engine.md). Loop thread, the update on a dbpool thread. */
#include "engine/cmd.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/session_int.h"
#include "fcgi/db.h"
#include "wa_err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct star_job {
	struct wa_cmd *cmd;
	uint64_t row;
	int star;
	long long n;
};

static int star_run(struct wa_db *db, void *arg)
{
	struct star_job *j = arg;
	const json_t *a = j->cmd->args;

	j->n = wa_db_exec(db, "UPDATE messages SET starred = ? WHERE wa_session_id = ? AND remote_jid = ? AND "
			  "message_id = ?", "buss", j->star, (unsigned long long)j->row,
			  json_string_value(json_object_get(a, "jid")), json_string_value(json_object_get(a, "messageId")));
	if (j->n < 0)
		return WA_ESTORAGE;
	if (j->n == 0)
		j->n = wa_db_int(db, 0, "SELECT COUNT(*) FROM messages WHERE wa_session_id = ? AND remote_jid = ? AND "
				 "message_id = ?", "uss", (unsigned long long)j->row,
				 json_string_value(json_object_get(a, "jid")),
				 json_string_value(json_object_get(a, "messageId")));
	return 0;
}

static void star_done(void *arg, int rc)
{
	struct star_job *j = arg;

	if (rc != 0)
		wa_cmd_reply_error(j->cmd, 503, "The star could not be stored (database)", "database_unavailable");
	else if (j->n == 0)
		wa_cmd_reply_error(j->cmd, 404, "That message is not stored in this chat", "not_found");
	else
		wa_cmd_reply(j->cmd, 200, json_pack("{s:b,s:s}", "success", 1, "message",
						    j->star ? "Message starred" : "Message unstarred"));
	free(j);
}

void wa_session_star(struct wa_session *s, struct wa_cmd *cmd)
{
	const json_t *st = json_object_get(cmd->args, "star");
	const char *mid = json_string_value(json_object_get(cmd->args, "messageId"));
	struct star_job *j;

	if (!mid || !*mid || strlen(mid) > 128 || !json_is_string(json_object_get(cmd->args, "jid"))) {
		wa_cmd_reply_error(cmd, 400, "'messageId' must be the id of a message (1 to 128 characters)",
				   "validation_error");
		return;
	}
	if (st && !json_is_boolean(st)) {
		wa_cmd_reply_error(cmd, 400, "'star' must be true or false", "validation_error");
		return;
	}
	if (!(j = calloc(1, sizeof *j))) {
		wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		return;
	}
	j->cmd = cmd;
	j->row = s->row_id;
	j->star = !st || json_is_true(st);
	if (wa_dbpool_submit(s->e->db, j->row, star_run, star_done, j) != 0) {
		free(j);
		wa_cmd_reply_error(cmd, 503, "The engine is busy; try again", "engine_busy");
	}
}
