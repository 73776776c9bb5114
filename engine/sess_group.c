/* sess_group: the group operations (group.* in ops.c) and the w:gp2
 * notifications of a logged-in session (docs/engine.md "Groups",
 * docs/protocol.md §10).
 *
 * An operation is a short chain on the loop thread:
 *   [PRE]  a w:g2 metadata query (description only: its current id is the
 *          new one's `prev`, as BL and WM send it);
 *   SET    the operation's own IQ (w:g2, or w:profile:picture for the
 *          picture; a picture file is converted first, on a dbpool thread:
 *          engine/image.h);
 *   [POST] a metadata query of the group, so the stored row is the
 *          server's word after the change;
 *   STORE  a dbpool job: the wa_groups row (engine/store/groups.h), the
 *          invite code or left_at; then the answer to the worker.
 * WhatsApp's IQ errors answer as it gives them: 403 (not a member, not an
 * admin: its 401 too), 404 (no such group), 409; 400 for 400 / 406; an
 * invite code it does not know or revoked (404, 406, 410) is 400 "Invalid
 * or expired invite code"; no answer in GROUP_IQ_MS is 504. A change that
 * WhatsApp made but that cannot be stored still answers 200 (the row
 * catches up at the next notification or query).
 *
 * Communities (§10.4) are groups too: community.create is a create with
 * <parent>, community.link / unlink a set on the community naming its
 * sub-groups (a result per group), community.groups the <sub_groups/> get;
 * their POST is one "participating" query (every group we are in: the
 * announcement group WhatsApp made with the community, the linked groups
 * with their new linked parent), stored like the login's sync.
 *
 * A w:gp2 notification (group_on_notify, from sess_notify.c) is turned into
 * its event (engine/group_meta.h), the group's metadata is queried again
 * (or, when the change took us out, left_at is set), the row and the event
 * are committed together (events_outbox), the event is published, and only
 * then is the notification acked: a crash before that has the server offer
 * it again. Its id is recorded in the same transaction
 * (group_notifications), so one offered again after a lost ack refreshes
 * the row but publishes no second event.
 *
 * A link / unlink notification comes from the community and names the
 * sub-group, whose row (its linked parent) is the one queried and stored.
 *
 * A new group we are put in comes whole in its create notification: stored
 * without a query. At every login (group_sync_all, from sess_login.c) one
 * "participating" query writes every group we are in and sets left_at on
 * the rows of groups we are no longer in (what changed while no engine
 * held the session and the server kept no notification for).
 *
 * Ownership: a job holds a session reference and the command (answered
 * exactly once, by finish_error or store_done) or a copy of the
 * notification (acked at most once) until it ends.
 *
 * Loop thread except the *_run functions (dbpool threads). */
#include "engine/cmd.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/group_meta.h"
#include "engine/image.h"
#include "engine/session_int.h"
#include "engine/store/groups.h"
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa/msgid.h"
#include "wa_err.h"
#include "wa_fetch.h"
#include "wa_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GROUP_IQ_MS 10000
#define INVITE_URL "https://chat.whatsapp.com/"

enum gstep { G_PRE, G_SET, G_POST };

struct gjob {
	struct wa_session *s;
	struct wa_cmd *cmd;          /* NULL for a notification */
	struct wa_node *notif;       /* the notification, acked at the end */
	enum gstep step;
	char op[32];
	char jid[WA_JID_STR_MAX];    /* the group */
	uint64_t row;
	/* what the chain learnt */
	json_t *meta;                /* to store (NULL: none) */
	json_t *metas;               /* group.sync: every group we are in */
	json_t *reply;               /* the 200 body */
	char invite[64];             /* to store ("" none) */
	int left;                    /* set left_at */
	char prev_desc[80];          /* description's current id (PRE) */
	int werr;                    /* stored, then answered with this WhatsApp error */
	char fail_text[96];
	struct wa_fetch_policy *policy; /* a picture URL's (copied on the loop) */
	char *pic_path, *pic_url;    /* the picture's source (copied on the loop) */
	uint8_t *jpeg;               /* the converted picture */
	size_t jpeg_len;
	char *event;                 /* event name, static */
	char *payload;               /* its JSON */
	uint64_t outbox_id;
	int dup;                     /* the notification was stored before */
	int link;                    /* a link / unlink notification: jid is the sub-group */
	int64_t ts_ms;
};

static void job_free(struct gjob *j)
{
	json_decref(j->meta);
	json_decref(j->metas);
	json_decref(j->reply);
	wa_node_free(j->notif);
	free(j->jpeg);
	free(j->policy);
	free(j->pic_path);
	free(j->pic_url);
	free(j->payload);
	free(j);
}

static const char *arg_str(const struct gjob *j, const char *k)
{
	return json_string_value(json_object_get(j->cmd->args, k));
}

/* ---- the end: answer (or ack), then free ---- */

static void finish_error(struct gjob *j, int status, const char *msg, const char *code)
{
	struct wa_session *s = j->s;

	if (j->cmd)
		wa_cmd_reply_error(j->cmd, status, msg, code);
	j->cmd = NULL;
	if (j->notif && sess_unref(s))
		sess_ack(s, j->notif);
	else if (!j->notif)
		sess_unref(s);
	job_free(j);
}

static void fail_wa(struct gjob *j, int wa, const char *text);

/* ---- STORE ---- */

static int store_txn(struct wa_db *db, void *arg)
{
	struct gjob *j = arg;
	int rc;

	if (wa_db_begin(db) < 0)
		return WA_ESTORAGE;
	rc = j->meta ? wa_groups_store(db, j->row, j->meta) : 0;
	if (rc == 0 && j->metas) {
		size_t i;
		json_t *m, *ids = json_array();

		json_array_foreach(j->metas, i, m) {
			if (rc == 0)
				rc = wa_groups_store(db, j->row, m);
			json_array_append(ids, json_object_get(m, "id"));
		}
		if (rc == 0)
			rc = ids ? wa_groups_left_except(db, j->row, ids) : WA_ENOMEM;
		json_decref(ids);
	}
	if (rc == 0 && j->invite[0])
		rc = wa_groups_set_invite(db, j->row, j->jid, j->invite);
	if (rc == 0 && j->left)
		rc = wa_groups_left(db, j->row, j->jid);
	j->dup = 0;
	if (rc == 0 && j->event && j->notif && wa_node_attr(j->notif, "id")) {
		int fresh = wa_groups_notif_seen(db, j->row, wa_node_attr(j->notif, "id"));

		if (fresh < 0)
			rc = fresh;
		j->dup = fresh == 0;
	}
	if (rc == 0 && j->event && !j->dup)
		rc = wa_outbox_add(db, j->row, j->event, j->payload, &j->outbox_id);
	if (rc != 0) {
		wa_db_rollback(db);
		return rc;
	}
	return wa_db_commit(db) < 0 ? WA_ESTORAGE : 0;
}

static int store_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, store_txn, arg);
}

static void store_done(void *arg, int rc)
{
	struct gjob *j = arg;
	struct wa_session *s = j->s;

	if (rc != 0)
		wa_error("session %s: group %s (%s) not stored (%s): the group list shows the earlier state", s->id,
			 j->jid, j->op, wa_strerror(rc));
	if (rc == 0 && j->dup)
		wa_info("session %s: group notification %s offered again: stored before, no second event", s->id,
			wa_node_attr_or(j->notif, "id", "?"));
	if (rc == 0 && j->event && !j->dup) {
		json_t *data = json_loads(j->payload, 0, NULL);

		wa_events_publish(s->e->events, s->id, j->event, data, j->outbox_id, (uint64_t)j->ts_ms);
		json_decref(data);
	}
	if (j->cmd && j->werr) {
		fail_wa(j, j->werr, j->fail_text); /* frees j */
		return;
	}
	if (j->cmd) {
		wa_cmd_reply(j->cmd, 200, j->reply ? json_incref(j->reply) : json_pack("{s:b}", "success", 1));
		j->cmd = NULL;
	}
	if (j->notif) {
		/* unstored: not acked, so the server offers it again */
		if (sess_unref(s) && rc == 0)
			sess_ack(s, j->notif);
	} else {
		sess_unref(s);
	}
	job_free(j);
}

static void store(struct gjob *j)
{
	if (wa_dbpool_submit(j->s->e->db, j->row, store_run, store_done, j) != 0)
		store_done(j, WA_EFULL);
}

/* ---- IQ errors ---- */

static int iq_error(const struct wa_node *reply, char *text, size_t cap)
{
	const struct wa_node *e = reply ? wa_node_child(reply, "error") : NULL;
	long long code = 0;

	snprintf(text, cap, "%s", e ? wa_node_attr_or(e, "text", "") : "");
	if (!reply || !wa_node_attr_is(reply, "type", "error"))
		return 0;
	if (!e || wa_node_attr_int(e, "code", &code) != 0 || code <= 0)
		code = 500;
	return (int)code;
}

/* Answer WhatsApp's error code wa (with its text) in our vocabulary. */
static void fail_wa(struct gjob *j, int wa, const char *text)
{
	char msg[256];
	int st;
	const char *code;

	if (strcmp(j->op, "group.invite.accept") == 0 && (wa == 404 || wa == 406 || wa == 410)) {
		snprintf(msg, sizeof msg, "Invalid or expired invite code (WhatsApp: %d %s)", wa, text);
		finish_error(j, 400, msg, "invalid_invite");
		return;
	}
	switch (wa) {
	case 401: case 403: st = 403; code = "forbidden";
		snprintf(msg, sizeof msg, "Not allowed: not a member or not an admin of the group (WhatsApp: %d %s)",
			 wa, text);
		break;
	case 404: st = 404; code = "not_found";
		snprintf(msg, sizeof msg, "Group not found (WhatsApp: %d %s)", wa, text);
		break;
	case 409: st = 409; code = "conflict";
		snprintf(msg, sizeof msg, "WhatsApp refused the change: %d %s", wa, text);
		break;
	case 400: case 406: st = 400; code = "validation_error";
		snprintf(msg, sizeof msg, "WhatsApp refused the value: %d %s", wa, text);
		break;
	default: st = 502; code = "whatsapp_error";
		snprintf(msg, sizeof msg, "WhatsApp answered %d %s", wa, text);
		break;
	}
	finish_error(j, st, msg, code);
}

static void fail_transport(struct gjob *j, int err)
{
	if (err == WA_ETIMEDOUT)
		finish_error(j, 504, "WhatsApp did not answer in time", "timeout");
	else
		finish_error(j, 503, "Session not connected or ready", "session_not_ready");
}

/* ---- building IQs ---- */

static struct wa_node *g2(const char *type, const char *to, struct wa_node *child)
{
	struct wa_node *iq = child ? wa_node_new_attrs("iq", "type", type, "xmlns", "w:g2", "to", to, NULL) : NULL;

	if (!iq || wa_node_add_child(iq, child) != 0) {
		wa_node_free(child);
		wa_node_free(iq);
		return NULL;
	}
	return iq;
}

static struct wa_node *query_iq(const char *jid)
{
	return g2("get", jid, wa_node_new_attrs("query", "request", "interactive", NULL));
}

/* <tag><participant jid/>…</tag> from a JSON array of JIDs (normalised by
 * the worker; checked again). NULL when one is not a user JID. */
static struct wa_node *plist(const char *tag, const json_t *arr)
{
	struct wa_node *t = wa_node_new(tag);
	size_t i;
	json_t *v;

	if (!t || !json_is_array(arr) || json_array_size(arr) == 0)
		goto bad;
	json_array_foreach(arr, i, v) {
		struct wa_jid pj;
		char js[WA_JID_STR_MAX];
		struct wa_node *p;

		if (!json_is_string(v) || wa_jid_parse(json_string_value(v), &pj, NULL) != 0 || !wa_jid_is_user(&pj))
			goto bad;
		wa_jid_to_non_ad(&pj);
		wa_jid_format(&pj, js, sizeof js);
		p = wa_node_add_new(t, "participant");
		if (!p || wa_node_set_attr(p, "jid", js) != 0)
			goto bad;
	}
	return t;
bad:
	wa_node_free(t);
	return NULL;
}

static void step_cb(void *ctx, const struct wa_node *reply, int err);

static void send_iq(struct gjob *j, struct wa_node *iq)
{
	int rc = iq ? sess_iq_ctx(j->s, iq, GROUP_IQ_MS, step_cb, j) : WA_ENOMEM;

	wa_node_free(iq);
	if (rc != 0 && j->notif && rc != WA_ECLOSED && rc != WA_ESTATE)
		store(j); /* too many IQs waiting: the event without a refreshed row (the next login's sync catches up) */
	else if (rc == WA_ENOMEM)
		finish_error(j, 500, "Out of memory", NULL);
	else if (rc != 0)
		fail_transport(j, rc);
}

static void new_msgid(const struct wa_session *s, char *out)
{
	wa_msgid_generate(out, s->cr ? s->cr->phone : "", time(NULL));
}

/* ---- communities (docs/protocol.md §10.4) ---- */

/* <create subject key>[<participant/>…][<description id><body/></description>]
 * <parent default_membership_approval_mode="request_required"/></create>:
 * WhatsApp makes the announcement group with it. */
static struct wa_node *community_create_iq(struct gjob *j, const char **why)
{
	const char *subject = arg_str(j, "subject"), *desc = arg_str(j, "description");
	const json_t *parts = json_object_get(j->cmd->args, "participants");
	char key[WA_MSGID_LEN + 1], did[WA_MSGID_LEN + 1];
	struct wa_node *c, *n;

	if (!subject || !subject[0]) {
		*why = "'subject' is required";
		return NULL;
	}
	if (parts && json_array_size(parts) > 0) {
		c = plist("create", parts);
		if (!c) {
			*why = "'participants' must be user JIDs";
			return NULL;
		}
	} else {
		c = wa_node_new("create");
	}
	new_msgid(j->s, key);
	new_msgid(j->s, did);
	if (!c || wa_node_set_attr(c, "subject", subject) || wa_node_set_attr(c, "key", key))
		goto oom;
	if (desc && desc[0]) {
		n = wa_node_add_new(c, "description");
		if (!n || wa_node_set_attr(n, "id", did) || !(n = wa_node_add_new(n, "body")) ||
		    wa_node_set_bytes(n, desc, strlen(desc)))
			goto oom;
	}
	n = wa_node_add_new(c, "parent");
	if (!n || wa_node_set_attr(n, "default_membership_approval_mode", "request_required"))
		goto oom;
	return g2("set", "g.us", c);
oom:
	wa_node_free(c);
	return NULL;
}

/* The groups to link / unlink: 'groupJids' or 'groupJid', group JIDs. */
static json_t *link_targets(struct gjob *j)
{
	const json_t *arr = json_object_get(j->cmd->args, "groupJids"), *v;
	const char *one = arg_str(j, "groupJid");
	json_t *out = json_array();
	size_t i, n = arr ? json_array_size(arr) : 1;

	if (!out || (!arr && !one) || (arr && !json_is_array(arr)) || n == 0 || n > 50)
		goto bad;
	for (i = 0; i < n; i++) {
		struct wa_jid gj;
		char js[WA_JID_STR_MAX];
		const char *t;

		v = arr ? json_array_get(arr, i) : NULL;
		t = arr ? json_string_value(v) : one;
		if (!t || wa_jid_parse(t, &gj, NULL) != 0 || !wa_jid_is_group(&gj))
			goto bad;
		wa_jid_format(&gj, js, sizeof js);
		if (strcmp(js, j->jid) == 0 || json_array_append_new(out, json_string(js)) != 0)
			goto bad;
	}
	return out;
bad:
	json_decref(out);
	return NULL;
}

/* <links><link link_type="sub_group"><group jid/>…</link></links> or
 * <unlink unlink_type="sub_group"><group jid/>…</unlink>, to the community */
static struct wa_node *community_link_iq(struct gjob *j, int link, const char **why)
{
	json_t *targets = link_targets(j), *v;
	struct wa_node *c, *l;
	size_t i;

	if (!targets) {
		*why = "'groupJid' (or 'groupJids', 1 to 50) must name groups (…@g.us) other than the community";
		return NULL;
	}
	c = link ? wa_node_new("links") : wa_node_new_attrs("unlink", "unlink_type", "sub_group", NULL);
	l = link && c ? wa_node_add_new(c, "link") : c;
	if (!l || (link && wa_node_set_attr(l, "link_type", "sub_group")))
		goto oom;
	json_array_foreach(targets, i, v) {
		struct wa_node *g = wa_node_add_new(l, "group");

		if (!g || wa_node_set_attr(g, "jid", json_string_value(v)))
			goto oom;
	}
	json_decref(targets);
	return g2("set", j->jid, c);
oom:
	json_decref(targets);
	wa_node_free(c);
	return NULL;
}

/* The per-group outcome of a link / unlink: WhatsApp's reply repeats the
 * groups, error= on those it did not change (a reply without them: all
 * done). 1 when at least one changed. */
static int link_results(struct gjob *j, const struct wa_node *reply, int link)
{
	const struct wa_node *l = link ? wa_node_path(reply, "links", "link", NULL) : wa_node_child(reply, "unlink");
	json_t *targets = link_targets(j), *res = json_array(), *v;
	size_t i;
	int any = 0;

	json_array_foreach(targets, i, v) {
		const struct wa_node *g = NULL;
		const char *st = "200";

		while ((g = wa_node_next(l, "group", g)) != NULL) {
			struct wa_jid gj;
			char js[WA_JID_STR_MAX];

			if (wa_node_attr_jid(g, "jid", &gj) == 0 && wa_jid_format(&gj, js, sizeof js) > 0 &&
			    strcmp(js, json_string_value(v)) == 0) {
				st = wa_node_attr_or(g, "error", "200");
				break;
			}
		}
		any |= strcmp(st, "200") == 0;
		json_array_append_new(res, json_pack("{s:O,s:s}", "groupJid", v, "status", st));
	}
	json_decref(targets);
	j->reply = json_pack("{s:b,s:s,s:s,s:s,s:o}", "success", 1, "message",
			     link ? "Groups linked to the community" : "Groups unlinked from the community",
			     "communityJid", j->jid, "action", link ? "link" : "unlink", "result",
			     res ? res : json_array());
	return any;
}

/* <sub_groups><group id|jid subject s_t [<default_sub_group/>]/>…</sub_groups> */
static json_t *sub_groups_json(const struct wa_node *reply)
{
	const struct wa_node *sg = wa_node_child(reply, "sub_groups"), *g = NULL;
	json_t *arr = json_array();

	while (arr && (g = wa_node_next(sg, "group", g)) != NULL) {
		const char *id = wa_node_attr(g, "jid") ? wa_node_attr(g, "jid") : wa_node_attr(g, "id");
		unsigned long long st = 0, size = 0;
		char js[WA_JID_STR_MAX];

		if (!id || !id[0] || strlen(id) + 6 > sizeof js)
			continue;
		snprintf(js, sizeof js, strchr(id, '@') ? "%s" : "%s@g.us", id);
		(void)wa_node_attr_uint(g, "s_t", &st);
		(void)wa_node_attr_uint(g, "size", &size);
		json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I,s:b}", "id", js, "subject",
						     wa_node_attr_or(g, "subject", ""), "subjectTime", (json_int_t)st,
						     "size", (json_int_t)size, "isCommunityAnnounce",
						     wa_node_child(g, "default_sub_group") != NULL));
	}
	return arr;
}

static int is_community_change(const struct gjob *j)
{
	return strcmp(j->op, "group.community.create") == 0 || strcmp(j->op, "group.community.link") == 0 ||
	       strcmp(j->op, "group.community.unlink") == 0;
}

static struct wa_node *participating_iq(void)
{
	struct wa_node *p = wa_node_new("participating");

	if (p && (!wa_node_add_new(p, "participants") || !wa_node_add_new(p, "description")))
		p = (wa_node_free(p), NULL);
	return g2("get", "g.us", p);
}

/* every <group> of a participating answer, as metadata */
static json_t *groups_of(const struct wa_node *reply)
{
	const struct wa_node *gs = reply ? wa_node_child(reply, "groups") : NULL, *g = NULL;
	json_t *metas = gs ? json_array() : NULL;

	while (metas && (g = wa_node_next(gs, "group", g)) != NULL) {
		json_t *m = wa_group_meta_from_node(g);

		if (m)
			json_array_append_new(metas, m);
	}
	return metas;
}

/* The operation's own IQ (SET). NULL when the arguments do not make one
 * (then *why is the 400 message). */
static struct wa_node *set_iq(struct gjob *j, const char **why)
{
	const char *op = j->op + 6; /* after "group." */
	struct wa_node *c;

	*why = NULL;
	if (strcmp(op, "create") == 0) {
		char key[WA_MSGID_LEN + 1];
		const char *subject = arg_str(j, "subject");

		new_msgid(j->s, key);
		c = plist("create", json_object_get(j->cmd->args, "participants"));
		if (!c || !subject || !subject[0] || wa_node_set_attr(c, "subject", subject) ||
		    wa_node_set_attr(c, "key", key)) {
			wa_node_free(c);
			*why = "'subject' and 'participants' (user JIDs) are required";
			return NULL;
		}
		return g2("set", "g.us", c);
	}
	if (strcmp(op, "community.create") == 0)
		return community_create_iq(j, why);
	if (strcmp(op, "community.groups") == 0)
		return g2("get", j->jid, wa_node_new("sub_groups"));
	if (strcmp(op, "community.link") == 0 || strcmp(op, "community.unlink") == 0)
		return community_link_iq(j, op[10] == 'l', why);
	if (strcmp(op, "subject") == 0) {
		const char *subject = arg_str(j, "subject");

		if (!subject || !subject[0]) {
			*why = "'subject' must not be empty";
			return NULL;
		}
		c = wa_node_new("subject");
		if (c && wa_node_set_bytes(c, subject, strlen(subject)) != 0)
			c = (wa_node_free(c), NULL);
		return g2("set", j->jid, c);
	}
	if (strcmp(op, "description") == 0) {
		const char *d = arg_str(j, "description");
		char id[WA_MSGID_LEN + 1];

		new_msgid(j->s, id);
		c = wa_node_new("description");
		if (c && d && d[0]) {
			struct wa_node *b = wa_node_add_new(c, "body");

			if (!b || wa_node_set_bytes(b, d, strlen(d)) != 0 || wa_node_set_attr(c, "id", id) != 0)
				c = (wa_node_free(c), NULL);
		} else if (c && wa_node_set_attr(c, "delete", "true") != 0) {
			c = (wa_node_free(c), NULL);
		}
		if (c && j->prev_desc[0] && wa_node_set_attr(c, "prev", j->prev_desc) != 0)
			c = (wa_node_free(c), NULL);
		return g2("set", j->jid, c);
	}
	if (strcmp(op, "participants") == 0) {
		const char *action = arg_str(j, "action");

		if (!action || (strcmp(action, "add") && strcmp(action, "remove") && strcmp(action, "promote") &&
				strcmp(action, "demote"))) {
			*why = "'action' must be one of add, remove, promote, demote";
			return NULL;
		}
		c = plist(action, json_object_get(j->cmd->args, "participants"));
		if (!c) {
			*why = "'participants' must be a non-empty array of user JIDs";
			return NULL;
		}
		return g2("set", j->jid, c);
	}
	if (strcmp(op, "invite.get") == 0 || strcmp(op, "invite.revoke") == 0)
		return g2(op[7] == 'g' ? "get" : "set", j->jid, wa_node_new("invite"));
	if (strcmp(op, "invite.accept") == 0) {
		const char *code = arg_str(j, "inviteCode");

		if (!code)
			code = arg_str(j, "code");
		if (code && strncmp(code, INVITE_URL, strlen(INVITE_URL)) == 0)
			code = code + strlen(INVITE_URL);
		if (!code || !code[0] || strlen(code) > 60) {
			*why = "'inviteCode' (or 'code') is required";
			return NULL;
		}
		return g2("set", "g.us", wa_node_new_attrs("invite", "code", code, NULL));
	}
	if (strcmp(op, "leave") == 0) {
		struct wa_node *g;

		c = wa_node_new("leave");
		g = c ? wa_node_add_new(c, "group") : NULL;
		if (c && (!g || wa_node_set_attr(g, "id", j->jid) != 0))
			c = (wa_node_free(c), NULL);
		return g2("set", "g.us", c);
	}
	if (strcmp(op, "settings") == 0) {
		const char *st = arg_str(j, "setting");

		if (!st || (strcmp(st, "announcement") && strcmp(st, "not_announcement") && strcmp(st, "locked") &&
			    strcmp(st, "unlocked"))) {
			*why = "'setting' must be one of announcement, not_announcement, locked, unlocked";
			return NULL;
		}
		return g2("set", j->jid, wa_node_new(st));
	}
	if (strcmp(op, "ephemeral") == 0) {
		json_t *e = json_object_get(j->cmd->args, "expiration");
		json_int_t v = json_integer_value(e);

		if (!json_is_integer(e) || (v != 0 && v != 86400 && v != 604800 && v != 7776000)) {
			*why = "'expiration' must be 0, 86400, 604800 or 7776000";
			return NULL;
		}
		c = wa_node_new(v ? "ephemeral" : "not_ephemeral");
		if (c && v && wa_node_set_attr_uint(c, "expiration", (unsigned long long)v) != 0)
			c = (wa_node_free(c), NULL);
		return g2("set", j->jid, c);
	}
	if (strcmp(op, "picture.set") == 0 || strcmp(op, "picture.remove") == 0) {
		struct wa_node *iq = wa_node_new_attrs("iq", "type", "set", "xmlns", "w:profile:picture", "to",
						       "s.whatsapp.net", "target", j->jid, NULL);

		if (iq && j->jpeg) {
			c = wa_node_add_new(iq, "picture");
			if (!c || wa_node_set_attr(c, "type", "image") != 0 ||
			    wa_node_set_bytes(c, j->jpeg, j->jpeg_len) != 0)
				iq = (wa_node_free(iq), NULL);
		}
		return iq;
	}
	*why = "unknown group operation";
	return NULL;
}

/* ---- the chain ---- */

static int needs_pre(const struct gjob *j)
{
	return strcmp(j->op, "group.description") == 0;
}

/* SET answered: build the answer, decide what to store. 1 when a POST
 * query follows, 0 when the job is ready to store. */
static int after_set(struct gjob *j, const struct wa_node *reply)
{
	const char *op = j->op + 6;

	if (strcmp(op, "create") == 0) {
		j->meta = wa_group_meta_from_node(wa_node_child(reply, "group"));
		if (!j->meta)
			return -1;
		snprintf(j->jid, sizeof j->jid, "%s", json_string_value(json_object_get(j->meta, "id")));
		j->reply = json_pack("{s:b,s:s,s:O}", "success", 1, "message", "Group created", "group", j->meta);
		return 0;
	}
	if (strcmp(op, "community.create") == 0) {
		j->meta = wa_group_meta_from_node(wa_node_child(reply, "group"));
		if (!j->meta)
			return -1;
		snprintf(j->jid, sizeof j->jid, "%s", json_string_value(json_object_get(j->meta, "id")));
		j->reply = json_pack("{s:b,s:s,s:s,s:O}", "success", 1, "message", "Community created", "communityJid",
				     j->jid, "community", j->meta);
		return j->reply ? 1 : -1; /* then every group we are in: the announcement group too */
	}
	if (strcmp(op, "community.groups") == 0) {
		json_t *gs = sub_groups_json(reply);

		j->reply = gs ? json_pack("{s:b,s:s,s:o}", "success", 1, "communityJid", j->jid, "groups", gs) : NULL;
		return j->reply ? 0 : -1;
	}
	if (strcmp(op, "community.link") == 0 || strcmp(op, "community.unlink") == 0) {
		int any = link_results(j, reply, op[10] == 'l');

		return !j->reply ? -1 : any; /* changed: the groups as they are now */
	}
	if (strcmp(op, "subject") == 0) {
		j->reply = json_pack("{s:b,s:s,s:s}", "success", 1, "message", "Group subject updated successfully",
				     "subject", arg_str(j, "subject"));
	} else if (strcmp(op, "description") == 0) {
		const char *d = arg_str(j, "description");

		j->reply = json_pack("{s:b,s:s,s:s}", "success", 1, "message", "Group description updated",
				     "description", d ? d : "");
	} else if (strcmp(op, "participants") == 0) {
		const char *action = arg_str(j, "action");
		const struct wa_node *a = wa_node_child(reply, action), *p = NULL;
		json_t *res = json_array();

		while (res && (p = wa_node_next(a, "participant", p)) != NULL) {
			json_t *r = json_pack("{s:s,s:s}", "jid", wa_node_attr_or(p, "jid", ""), "status",
					      wa_node_attr_or(p, "error", "200"));
			const struct wa_node *ar = wa_node_child(p, "add_request");

			if (r && ar)
				json_object_set_new(r, "addRequest", json_pack("{s:s?,s:s?}", "code",
						    wa_node_attr(ar, "code"), "expiration", wa_node_attr(ar, "expiration")));
			json_array_append_new(res, r);
		}
		j->reply = json_pack("{s:b,s:s,s:s,s:o}", "success", 1, "message", "Members updated", "action",
				     action, "result", res ? res : json_array());
	} else if (strcmp(op, "invite.get") == 0 || strcmp(op, "invite.revoke") == 0) {
		const char *code = wa_node_attr(wa_node_child(reply, "invite"), "code");
		char url[128];

		if (!code || strlen(code) >= sizeof j->invite)
			return -1;
		snprintf(j->invite, sizeof j->invite, "%s", code);
		snprintf(url, sizeof url, INVITE_URL "%s", code);
		j->reply = op[7] == 'g' ? json_pack("{s:b,s:s,s:s}", "success", 1, "inviteCode", code, "inviteUrl", url)
			   : json_pack("{s:b,s:s,s:s,s:s}", "success", 1, "message", "Invite code revoked",
					"newInviteCode", code, "inviteUrl", url);
		return 0; /* the code is all that changed */
	} else if (strcmp(op, "invite.accept") == 0) {
		const struct wa_node *g = wa_node_child(reply, "group");
		const struct wa_node *req = wa_node_child(reply, "membership_approval_request");
		struct wa_jid gj;

		if (req) { /* the group asks its admins first: nothing joined yet */
			j->reply = json_pack("{s:b,s:s,s:s,s:b}", "success", 1, "message",
					     "Join request sent to the group's admins", "groupJid",
					     wa_node_attr_or(req, "jid", ""), "pending", 1);
			return 0;
		}
		if (!g || wa_node_attr_jid(g, "jid", &gj) != 0 || !wa_jid_is_group(&gj))
			return -1;
		wa_jid_format(&gj, j->jid, sizeof j->jid);
		j->reply = json_pack("{s:b,s:s,s:s}", "success", 1, "message", "Group invite accepted", "groupJid",
				     j->jid);
	} else if (strcmp(op, "leave") == 0) {
		j->left = 1;
		j->reply = json_pack("{s:b,s:s,s:s}", "success", 1, "message", "Left the group", "groupJid", j->jid);
		return 0;
	} else if (strcmp(op, "settings") == 0) {
		j->reply = json_pack("{s:b,s:s,s:s}", "success", 1, "message", "Group settings updated", "setting",
				     arg_str(j, "setting"));
	} else if (strcmp(op, "ephemeral") == 0) {
		j->reply = json_pack("{s:b,s:s,s:I}", "success", 1, "message", "Disappearing messages updated",
				     "expiration", json_integer_value(json_object_get(j->cmd->args, "expiration")));
	} else if (strcmp(op, "picture.set") == 0) {
		j->reply = json_pack("{s:b,s:s,s:s?}", "success", 1, "message", "Group picture updated", "pictureId",
				     wa_node_attr(wa_node_child(reply, "picture"), "id"));
		return 0;
	} else if (strcmp(op, "picture.remove") == 0) {
		j->reply = json_pack("{s:b,s:s}", "success", 1, "message", "Group picture removed");
		return 0;
	}
	return j->reply ? 1 : -1;
}

static void step_cb(void *ctx, const struct wa_node *reply, int err)
{
	struct gjob *j = ctx;
	char text[96];
	int wa, more;

	if (err) {
		if (j->notif && err != WA_ECLOSED) {
			store(j); /* the event without a refreshed row */
			return;
		}
		if (j->cmd && j->step == G_POST && strcmp(j->op, "group.metadata") != 0) {
			store(j); /* WhatsApp made the change: answered; the row catches up later */
			return;
		}
		fail_transport(j, err);
		return;
	}
	wa = iq_error(reply, text, sizeof text);
	if (j->step == G_PRE) {
		if (wa) {
			fail_wa(j, wa, text);
			return;
		}
		snprintf(j->prev_desc, sizeof j->prev_desc, "%s",
			 wa_node_attr_or(wa_node_path(reply, "group", "description", NULL), "id", ""));
		j->step = G_SET;
	} else if (j->step == G_SET) {
		if (wa) {
			fail_wa(j, wa, text);
			return;
		}
		more = after_set(j, reply);
		if (more < 0) {
			finish_error(j, 502, "WhatsApp's answer lacks what the operation returns", "whatsapp_error");
			return;
		}
		if (more == 0) {
			store(j);
			return;
		}
		j->step = G_POST;
		send_iq(j, is_community_change(j) ? participating_iq() : query_iq(j->jid));
		return;
	} else { /* G_POST: the group as it is now */
		int is_meta = strcmp(j->op, "group.metadata") == 0;

		if (j->cmd && is_community_change(j)) {
			/* every group we are in: the community's announcement group, the linked ones */
			j->metas = wa ? NULL : groups_of(reply);
			if (j->metas && strcmp(j->op, "group.community.create") == 0) {
				size_t i;
				json_t *m;

				json_array_foreach(j->metas, i, m)
					if (json_is_true(json_object_get(m, "isCommunityAnnounce")) &&
					    json_is_string(json_object_get(m, "linkedParentJid")) &&
					    strcmp(json_string_value(json_object_get(m, "linkedParentJid")), j->jid) == 0)
						json_object_set(j->reply, "announcementGroupJid", json_object_get(m, "id"));
			}
			store(j);
			return;
		}

		if (wa && is_meta && (wa == 403 || wa == 404)) {
			/* not (any more) in it: the row says so, the caller gets the error */
			j->left = 1;
			j->werr = wa;
			snprintf(j->fail_text, sizeof j->fail_text, "%s", text);
			store(j);
			return;
		}
		if (wa && is_meta) {
			fail_wa(j, wa, text);
			return;
		}
		if (wa) {
			/* the change was made (or told): store what we know */
			if (j->notif && !j->link && (wa == 403 || wa == 404))
				j->left = 1; /* we are not in it (any more) */
		} else {
			json_decref(j->meta);
			j->meta = wa_group_meta_from_node(wa_node_child(reply, "group"));
		}
		if (is_meta) {
			if (!j->meta) {
				finish_error(j, 502, "WhatsApp's answer has no group", "whatsapp_error");
				return;
			}
			json_decref(j->reply);
			j->reply = json_incref(j->meta);
		}
		store(j);
		return;
	}
	{
		const char *why = NULL;
		struct wa_node *iq = set_iq(j, &why);

		if (!iq) {
			finish_error(j, why ? 400 : 500, why ? why : "Out of memory", why ? "validation_error" : NULL);
			return;
		}
		send_iq(j, iq);
	}
}

static struct gjob *job_new(struct wa_session *s, const char *op)
{
	struct gjob *j = calloc(1, sizeof *j);

	if (!j)
		return NULL;
	j->s = s;
	j->row = s->row_id;
	snprintf(j->op, sizeof j->op, "%s", op);
	j->ts_ms = (int64_t)wa_engine_wall_ms();
	sess_ref(s);
	return j;
}

static void start_set(struct gjob *j)
{
	const char *why = NULL;
	struct wa_node *iq = set_iq(j, &why);

	j->step = G_SET;
	if (!iq) {
		finish_error(j, why ? 400 : 500, why ? why : "Out of memory", why ? "validation_error" : NULL);
		return;
	}
	send_iq(j, iq);
}

/* ---- the picture: converted off the loop ---- */

static int picture_run(struct wa_db *db, void *arg)
{
	struct gjob *j = arg;

	(void)db;
	return wa_err_class(wa_image_profile_jpeg(j->pic_path, j->pic_url, j->policy, &j->jpeg, &j->jpeg_len));
}

static void picture_done(void *arg, int rc)
{
	struct gjob *j = arg;

	if (rc == WA_EINVAL) {
		finish_error(j, 400, "The picture is not an image GraphicsMagick can read", "invalid_image");
		return;
	}
	if (rc == WA_EDENIED || rc == WA_EUNAVAIL || rc == WA_ETOOBIG || rc == WA_ETIMEDOUT) {
		finish_error(j, 400, rc == WA_EDENIED ? "The picture URL is not allowed (docs/fetch.md)" :
			     rc == WA_ETOOBIG ? "The picture is too large" : "The picture URL cannot be fetched",
			     "invalid_image");
		return;
	}
	if (rc != 0) {
		finish_error(j, 500, "Cannot convert the picture", NULL);
		return;
	}
	start_set(j);
}

void wa_session_group(struct wa_session *s, struct wa_cmd *cmd)
{
	const char *jid = json_string_value(json_object_get(cmd->args, "jid"));
	struct gjob *j;
	struct wa_jid gj;

	if (strcmp(cmd->op, "group.create") != 0 && strcmp(cmd->op, "group.invite.accept") != 0 &&
	    strcmp(cmd->op, "group.community.create") != 0 &&
	    (!jid || wa_jid_parse(jid, &gj, NULL) != 0 || !wa_jid_is_group(&gj))) {
		wa_cmd_reply_error(cmd, 400, "'jid' must be a group JID (…@g.us)", "invalid_jid");
		return;
	}
	j = job_new(s, cmd->op);
	if (!j) {
		wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		return;
	}
	j->cmd = cmd;
	if (jid && wa_jid_parse(jid, &gj, NULL) == 0 && wa_jid_is_group(&gj))
		wa_jid_format(&gj, j->jid, sizeof j->jid);
	if (strcmp(cmd->op, "group.metadata") == 0) {
		j->step = G_POST;
		j->reply = json_null(); /* replaced by the metadata */
		send_iq(j, query_iq(j->jid));
		return;
	}
	if (strcmp(cmd->op, "group.picture.set") == 0) {
		const char *path = json_string_value(json_object_get(json_object_get(cmd->args, "file"), "path"));
		const char *url = json_string_value(json_object_get(cmd->args, "url"));

		if (!path && !url) {
			finish_error(j, 400, "Send the picture as a multipart 'file' or as JSON {\"url\"}",
				     "validation_error");
			return;
		}
		j->policy = calloc(1, sizeof *j->policy);
		j->pic_path = path ? strdup(path) : NULL;
		j->pic_url = !path && url ? strdup(url) : NULL;
		if (!j->policy || (!j->pic_path && !j->pic_url)) {
			finish_error(j, 500, "Out of memory", NULL);
			return;
		}
		{
			char perr[160];

			if (!s->e->cfg || wa_fetch_policy_from_config(s->e->cfg, "media.fetch", j->policy, perr,
								       sizeof perr) != 0)
				wa_fetch_policy_default(j->policy);
			if (j->policy->timeout_ms > GROUP_IQ_MS)
				j->policy->timeout_ms = GROUP_IQ_MS; /* within the caller's patience */
		}
		if (wa_dbpool_submit(s->e->db, s->row_id, picture_run, picture_done, j) != 0)
			finish_error(j, 503, "Too busy to convert the picture now", "busy");
		return;
	}
	if (needs_pre(j)) {
		j->step = G_PRE;
		send_iq(j, query_iq(j->jid));
		return;
	}
	start_set(j);
}

/* ---- notifications ---- */

void group_on_notify(struct wa_session *s, const struct wa_node *n)
{
	const char *event = NULL;
	json_t *data = wa_group_notif_event(n, &event);
	struct gjob *j;
	struct wa_jid gj;
	char me[WA_JID_STR_MAX];
	const struct wa_node *c;

	if (wa_node_attr_jid(n, "from", &gj) != 0 || !wa_jid_is_group(&gj)) {
		json_decref(data);
		sess_ack(s, n);
		return;
	}
	j = job_new(s, "group.notification");
	if (!j || !(j->notif = wa_node_dup(n))) {
		if (j) {
			sess_unref(s);
			job_free(j);
		}
		json_decref(data);
		return; /* not acked: offered again */
	}
	wa_jid_to_non_ad(&gj);
	wa_jid_format(&gj, j->jid, sizeof j->jid);
	if (data) {
		json_object_set_new(data, "sessionId", json_string(s->id));
		j->event = (char *)event;
		j->payload = json_dumps(data, JSON_COMPACT);
		json_decref(data);
		if (!j->payload)
			j->event = NULL;
	}
	snprintf(me, sizeof me, "%s@s.whatsapp.net", s->cr ? s->cr->phone : "");
	if (wa_group_notif_removes(n, me)) {
		j->left = 1;
		store(j);
		return;
	}
	c = wa_node_child_at(n, 0);
	/* a group linked to / unlinked from the community (from=): that group's
	 * row changes (its linked parent), so it is the one queried; a member
	 * of the community only is not in it (403: nothing to store) */
	if (c && (strcmp(c->tag, "link") == 0 || strcmp(c->tag, "unlink") == 0)) {
		struct wa_jid sj;

		if (wa_node_attr_jid(wa_node_child(c, "group"), "jid", &sj) == 0 && wa_jid_is_group(&sj)) {
			wa_jid_format(&sj, j->jid, sizeof j->jid);
			j->link = 1;
		}
	}
	/* a new group comes whole: no query for it */
	if (c && strcmp(c->tag, "create") == 0 && (j->meta = wa_group_meta_from_node(wa_node_child(c, "group")))) {
		store(j);
		return;
	}
	j->step = G_POST;
	send_iq(j, query_iq(j->jid));
}

/* ---- every group we are in, at login ---- */

static void sync_cb(void *ctx, const struct wa_node *reply, int err)
{
	struct gjob *j = ctx;
	char text[96];
	int wa = reply ? iq_error(reply, text, sizeof text) : 0;

	if (err || wa || !wa_node_child(reply, "groups")) {
		wa_info("session %s: the list of our groups was not read (%s)", j->s->id,
			err ? wa_strerror(err) : wa ? text : "no <groups>");
		finish_error(j, 0, NULL, NULL);
		return;
	}
	j->metas = groups_of(reply);
	if (!j->metas) {
		finish_error(j, 0, NULL, NULL);
		return;
	}
	store(j);
}

void group_sync_all(struct wa_session *s)
{
	struct gjob *j = job_new(s, "group.sync");
	struct wa_node *iq;
	int rc;

	if (!j)
		return;
	iq = participating_iq();
	rc = iq ? sess_iq_ctx(s, iq, GROUP_IQ_MS, sync_cb, j) : WA_ENOMEM;
	wa_node_free(iq);
	if (rc != 0)
		finish_error(j, 0, NULL, NULL);
}
