/* ops: command table and dispatch (see ops.h). */
#include "engine/ops.h"
#include "engine/cmd.h"
#include "engine/engine.h"
#include "engine/media_dl.h"
#include "engine/registry.h"
#include "engine/sched.h"
#include "engine/sess_chat.h"
#include "engine/session.h"
#include "wa_log.h"

#include <string.h>

#define NEEDS_SESSION 1u    /* a session this engine owns */
#define NEEDS_CONNECTED 2u  /* ... that is connected to WhatsApp */

#define MSG_NOT_READY "Session not connected or ready"

typedef void (*op_fn)(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s);

struct op {
	const char *name;
	unsigned needs;
	op_fn fn;            /* NULL: known, not carried out by this engine yet */
};

static void op_ping(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)s;
	wa_cmd_reply(cmd, 200, json_pack("{s:s,s:I,s:I,s:I,s:b}", "engineId", e->id, "sessions",
					 (json_int_t)wa_sessions_count(e->sessions), "connected",
					 (json_int_t)wa_sessions_connected(e->sessions), "uptimeMs",
					 (json_int_t)(wa_engine_wall_ms() - e->started_ms), "leaseOk",
					 wa_registry_lease_ok(e->reg)));
}

/* start: the worker has set auto_start; claim it now rather than at the
 * next heartbeat. */
static void op_start(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	wa_registry_kick(e->reg);
	wa_cmd_reply(cmd, 200, json_pack("{s:s,s:b}", "sessionId", cmd->session_id, "owned", s != NULL));
}

/* restart: a session we hold reconnects now; one we do not is claimed. */
static void op_restart(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	if (s)
		wa_session_restart(s);
	op_start(e, cmd, s);
}

static void op_pair(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_session_pair_code(s, cmd);
}

static void op_send(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_session_send(s, cmd);
}

/* message.download: media of a stored message, downloaded on first
 * request (media_dl.h); needs no connection to WhatsApp. */
static void op_download(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_media_dl_op(s, cmd);
}

static void op_bulk(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_session_bulk(s, cmd);
}

static void op_broadcast(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	wa_sched_broadcast(e->sched, s, cmd);
}

static void op_star(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_session_star(s, cmd);
}

static void op_logout(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_session_logout(s, cmd);
}

/* stop: written STOPPED (with auto_start 0 and the lease given back) and
 * answered once stored; the session is let go at the next tick. */
static void op_stop(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	if (!s) {
		wa_cmd_reply(cmd, 200, json_pack("{s:s}", "sessionId", cmd->session_id));
		return;
	}
	wa_session_stop(s, cmd);
}

static void op_group(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_session_group(s, cmd);
}

/* chat, contact and profile operations (sess_chat.c, sess_profile.c) */
#define SESS_OP(name, fn)                                                              \
	static void name(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s) \
	{                                                                              \
		(void)e;                                                               \
		fn(s, cmd);                                                            \
	}
/* chat state through app state (sess_appstate.c) */
SESS_OP(op_chat_archive, wa_chat_archive)
SESS_OP(op_chat_mute, wa_chat_mute)
SESS_OP(op_chat_pin, wa_chat_pin)
SESS_OP(op_labels_sync, wa_labels_sync)

static void op_chat_presence(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_chat_presence(s, cmd);
}

static void op_chat_read(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_chat_read(s, cmd);
}

static void op_contact_block(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_contact_block(s, cmd);
}

static void op_contact_unblock(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_contact_unblock(s, cmd);
}

static void op_contact_check(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_contact_check(s, cmd);
}

static void op_contact_picture(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_contact_picture(s, cmd);
}

static void op_profile_get(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_profile_get(s, cmd);
}

static void op_profile_name(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_profile_name(s, cmd);
}

static void op_status_update(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_session_status_post(s, cmd);
}

static void op_profile_status(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_profile_status(s, cmd);
}

static void op_profile_picture_set(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_profile_picture_set(s, cmd);
}

static void op_profile_picture_remove(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_profile_picture_remove(s, cmd);
}

static void op_contact_blocklist(struct wa_engine *e, struct wa_cmd *cmd, struct wa_session *s)
{
	(void)e;
	wa_contact_blocklist(s, cmd);
}

static const struct op ops[] = {
	{ "engine.ping", 0, op_ping },
	{ "session.start", 0, op_start },
	{ "session.restart", 0, op_restart },
	{ "session.stop", 0, op_stop },
	{ "session.logout", NEEDS_SESSION, op_logout },
	{ "session.pair", NEEDS_SESSION, op_pair },
	{ "message.send", NEEDS_CONNECTED, op_send },
	{ "message.reply", NEEDS_CONNECTED, op_send },
	{ "message.media", NEEDS_CONNECTED, op_send },
	{ "message.download", NEEDS_SESSION, op_download },
	{ "message.react", NEEDS_CONNECTED, op_send },
	{ "message.star", NEEDS_SESSION, op_star },
	{ "message.edit", NEEDS_CONNECTED, op_send },
	{ "message.delete", NEEDS_CONNECTED, op_send },
	{ "message.forward", NEEDS_CONNECTED, op_bulk },
	{ "message.poll", NEEDS_CONNECTED, op_send },
	{ "message.location", NEEDS_CONNECTED, op_send },
	{ "message.contact", NEEDS_CONNECTED, op_send },
	{ "message.list", NEEDS_CONNECTED, op_send },
	{ "message.sticker", NEEDS_CONNECTED, op_send },
	{ "message.spam", NEEDS_CONNECTED, op_broadcast },
	{ "message.broadcast", NEEDS_CONNECTED, op_broadcast },
	{ "chat.archive", NEEDS_CONNECTED, op_chat_archive },
	{ "chat.mute", NEEDS_CONNECTED, op_chat_mute },
	{ "chat.pin", NEEDS_CONNECTED, op_chat_pin },
	{ "label.sync", NEEDS_CONNECTED, op_labels_sync },
	{ "chat.presence", NEEDS_CONNECTED, op_chat_presence },
	{ "chat.read", NEEDS_CONNECTED, op_chat_read },
	{ "contact.block", NEEDS_CONNECTED, op_contact_block },
	{ "contact.unblock", NEEDS_CONNECTED, op_contact_unblock },
	{ "contact.check", NEEDS_CONNECTED, op_contact_check },
	{ "contact.picture", NEEDS_CONNECTED, op_contact_picture },
	{ "group.community.create", NEEDS_CONNECTED, op_group },
	{ "group.community.groups", NEEDS_CONNECTED, op_group },
	{ "group.community.link", NEEDS_CONNECTED, op_group },
	{ "group.community.unlink", NEEDS_CONNECTED, op_group },
	{ "group.create", NEEDS_CONNECTED, op_group },
	{ "group.description", NEEDS_CONNECTED, op_group },
	{ "group.ephemeral", NEEDS_CONNECTED, op_group },
	{ "group.invite.accept", NEEDS_CONNECTED, op_group },
	{ "group.invite.get", NEEDS_CONNECTED, op_group },
	{ "group.invite.revoke", NEEDS_CONNECTED, op_group },
	{ "group.leave", NEEDS_CONNECTED, op_group },
	{ "group.metadata", NEEDS_CONNECTED, op_group },
	{ "group.participants", NEEDS_CONNECTED, op_group },
	{ "group.picture.remove", NEEDS_CONNECTED, op_group },
	{ "group.picture.set", NEEDS_CONNECTED, op_group },
	{ "group.settings", NEEDS_CONNECTED, op_group },
	{ "group.subject", NEEDS_CONNECTED, op_group },
	{ "profile.get", NEEDS_CONNECTED, op_profile_get },
	{ "profile.name", NEEDS_CONNECTED, op_profile_name },
	{ "profile.status", NEEDS_CONNECTED, op_profile_status },
	{ "profile.picture.set", NEEDS_CONNECTED, op_profile_picture_set },
	{ "profile.picture.remove", NEEDS_CONNECTED, op_profile_picture_remove },
	{ "contact.blocklist", NEEDS_CONNECTED, op_contact_blocklist },
	{ "status.update", NEEDS_CONNECTED, op_status_update },
};

static const struct op *find_op(const char *name)
{
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

void wa_ops_dispatch(void *ctx, struct wa_cmd *cmd)
{
	struct wa_engine *e = ctx;
	const struct op *op = find_op(cmd->op);
	struct wa_session *s = cmd->session_id[0] ? wa_sessions_find(e->sessions, cmd->session_id) : NULL;

	wa_log_set_rid(cmd->request_id);
	if (!op) {
		wa_warn("unknown engine operation '%s'", cmd->op);
		wa_cmd_reply_error(cmd, 501, "Operation not supported by this engine", "unknown_op");
	} else if ((op->needs & (NEEDS_SESSION | NEEDS_CONNECTED)) && !s) {
		wa_cmd_reply_error(cmd, 503, MSG_NOT_READY, "not_owner");
	} else if ((op->needs & NEEDS_CONNECTED) && !wa_session_is_connected(s)) {
		wa_cmd_reply_error(cmd, 503, MSG_NOT_READY, "session_not_ready");
	} else if (!op->fn) {
		wa_cmd_reply_error(cmd, 501, "Operation not supported by this engine yet", "not_implemented");
	} else {
		op->fn(e, cmd, s);
	}
	wa_log_set_rid(NULL);
}
