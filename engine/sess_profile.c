/* sess_profile: the session's own profile (docs/engine.md "Chats, contacts
 * and the profile", docs/protocol.md §6.2, §11.8, §11.9):
 *
 *   profile.get      db (push name) -> usync status of our own user (the
 *                    about) -> our picture IQ -> answer;
 *   profile.name     <presence type="available" name>, as WhatsApp Web sends
 *                    a new push name, then wa_sessions.push_name, then the
 *                    app-state setting_pushName mutation (sess_appstate.c);
 *   profile.status   <iq xmlns="status" type="set"><status>text</status></iq>;
 *   profile.picture.set / .remove  <iq xmlns="w:profile:picture" type="set">
 *                    with the JPEG (the worker made it: square, <= 640 px,
 *                    fcgi/h_profile.c) or without a picture.
 *
 * Every command is answered exactly once; a job holds a session reference
 * while it waits. Loop thread except the *_run functions (dbpool threads). */
#include "engine/sess_chat.h"
#include "engine/cmd.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/session_int.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa_util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define PROFILE_IQ_MS 20000
#define NAME_MAX_CHARS 25
#define ABOUT_MAX_CHARS 139
#define PICTURE_MAX (1u << 20)

#define MSG_NOT_READY "Session not connected or ready"

struct prof_job {
	struct wa_session *s;
	struct wa_cmd *cmd;
	uint64_t row;
	char slug[WA_SESSION_ID_MAX];
	char me[WA_JID_STR_MAX];
	char *name;                /* push name (read or to set) */
	char *about;
	char *url;
};

static struct prof_job *job_new(struct wa_session *s, struct wa_cmd *cmd)
{
	struct prof_job *j = calloc(1, sizeof *j);

	if (!j) {
		wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		return NULL;
	}
	j->s = s;
	j->cmd = cmd;
	j->row = s->row_id;
	snprintf(j->slug, sizeof j->slug, "%s", s->id);
	snprintf(j->me, sizeof j->me, "%s@s.whatsapp.net", s->cr ? s->cr->phone : "");
	sess_ref(s);
	return j;
}

static void job_end(struct prof_job *j, int status, json_t *body)
{
	if (j->cmd)
		wa_cmd_reply(j->cmd, status, body);
	else
		json_decref(body);
	free(j->name);
	free(j->about);
	free(j->url);
	sess_unref(j->s);
	free(j);
}

static void job_fail(struct prof_job *j, int status, const char *msg, const char *code)
{
	if (j->cmd)
		wa_cmd_reply_error(j->cmd, status, msg, code);
	j->cmd = NULL;
	job_end(j, status, NULL);
}

static int still_ready(struct prof_job *j)
{
	return sess_ready(j->s);
}

/* Send iq for j, fn answers; on a send failure j is failed (503). */
static void job_iq(struct prof_job *j, struct wa_node *iq, wa_iq_fn fn)
{
	int rc = iq ? sess_iq_ctx(j->s, iq, PROFILE_IQ_MS, fn, j) : WA_ENOMEM;

	wa_node_free(iq);
	if (rc != 0)
		job_fail(j, rc == WA_ENOMEM ? 500 : 503, rc == WA_ENOMEM ? "Out of memory" : MSG_NOT_READY,
			 rc == WA_ENOMEM ? NULL : "session_not_ready");
}

/* A 2xx IQ answer, or the job failed with what it means (503 connection
 * gone, 504 no answer, else 500 with WhatsApp's error text). */
static int iq_ok(struct prof_job *j, const struct wa_node *reply, int err, const char *what)
{
	const struct wa_node *e;

	if (err) {
		job_fail(j, err == WA_ETIMEDOUT ? 504 : 503, err == WA_ETIMEDOUT ? "WhatsApp did not answer" : MSG_NOT_READY,
			 err == WA_ETIMEDOUT ? "timeout" : "session_not_ready");
		return 0;
	}
	if (wa_node_attr_is(reply, "type", "result"))
		return 1;
	e = wa_node_child(reply, "error");
	wa_warn("session %s: %s refused by WhatsApp (%s %s)", j->slug, what, wa_node_attr_or(e, "code", "?"),
		wa_node_attr_or(e, "text", ""));
	job_fail(j, 500, what, "whatsapp_error");
	return 0;
}

/* Code points of a UTF-8 string (the limits WhatsApp counts in characters). */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static json_t *ok_answer(const char *msg, json_t *data)
{
	return json_pack("{s:b,s:b,s:s,s:o}", "status", 1, "success", 1, "message", msg, "data", data ? data : json_null());
}

/* ---- profile.get ---- */

static int read_name_run(struct wa_db *db, void *arg)
{
	struct prof_job *j = arg;
	int err = 0;
	json_t *r = wa_db_row(db, &err, "SELECT push_name FROM wa_sessions WHERE id = ?", "u", (unsigned long long)j->row);
	const char *n = json_string_value(json_object_get(r, "push_name"));

	free(j->name);
	j->name = n ? strdup(n) : NULL;
	json_decref(r);
	return err ? WA_ESTORAGE : 0;
}

static void get_picture_done(void *ctx, const struct wa_node *reply, int err)
{
	struct prof_job *j = ctx;
	const char *url = NULL;
	int st = sess_picture_url(reply, err, &url);

	if (st == 503) {
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
		return;
	}
	/* the profile without a picture rather than no profile */
	if (st != 200)
		url = NULL;
	job_end(j, 200, json_pack("{s:b,s:s,s:s?,s:{s:s?},s:s?}", "success", 1, "jid", j->me, "name", j->name, "status",
				  "text", j->about, "profilePicUrl", url));
}

static void get_about_done(void *ctx, const struct wa_node *reply, int err)
{
	struct prof_job *j = ctx;
	const struct wa_node *u = reply ? wa_node_path(reply, "usync", "list", "user", NULL) : NULL;
	const struct wa_node *st = u ? wa_node_child(u, "status") : NULL;
	const uint8_t *t;
	size_t len = 0;

	if (!iq_ok(j, reply, err, "Failed to read the profile"))
		return;
	/* §6.2: <status t>bytes</status>; code="401": hidden (not for our own) */
	if (st && !wa_node_attr(st, "code") && (t = wa_node_content(st, &len)) != NULL) {
		char *a = malloc(len + 1);

		if (a) {
			memcpy(a, t, len);
			a[len] = '\0';
			if (wa_utf8_valid(a))
				j->about = a;
			else
				free(a);
		}
	} else if (st && !wa_node_attr(st, "code")) {
		j->about = strdup("");
	}
	job_iq(j, sess_picture_iq(j->me, "image"), get_picture_done);
}

static void get_name_done(void *arg, int rc)
{
	struct prof_job *j = arg;
	struct wa_node *iq, *us, *q, *u;
	char sid[32];

	if (rc != 0) {
		job_fail(j, 500, "Failed to read the profile", "storage_error");
		return;
	}
	if (!still_ready(j)) {
		job_fail(j, 503, MSG_NOT_READY, "session_not_ready");
		return;
	}
	/* §6.2: the about text through usync status, as Baileys' fetchStatus */
	wa_iqs_next_id(&j->s->iqs, sid, sizeof sid);
	iq = wa_node_new_attrs("iq", "type", "get", "xmlns", "usync", "to", "s.whatsapp.net", NULL);
	us = wa_node_new_attrs("usync", "sid", sid, "mode", "query", "context", "interactive", "last", "true", "index",
			       "0", NULL);
	if (!iq || !us || wa_node_add_child(iq, us) != 0) {
		wa_node_free(us);
		us = NULL;
	}
	q = us ? wa_node_add_new(us, "query") : NULL;
	u = q && wa_node_add_new(q, "status") ? wa_node_add_new(us, "list") : NULL;
	u = u ? wa_node_add_new(u, "user") : NULL;
	if (!u || wa_node_set_attr(u, "jid", j->me) != 0) {
		wa_node_free(iq);
		iq = NULL;
	}
	job_iq(j, iq, get_about_done);
}

void wa_profile_get(struct wa_session *s, struct wa_cmd *cmd)
{
	struct prof_job *j = job_new(s, cmd);

	if (j && wa_dbpool_submit(s->e->db, j->row, read_name_run, get_name_done, j) != 0)
		job_fail(j, 503, "The engine is busy; try again", "engine_busy");
}

/* ---- profile.name ---- */

static int save_name_run(struct wa_db *db, void *arg)
{
	struct prof_job *j = arg;

	return wa_db_exec(db, "UPDATE wa_sessions SET push_name = ? WHERE id = ?", "su", j->name,
			  (unsigned long long)j->row) < 0 ? WA_ESTORAGE : 0;
}

static void save_name_done(void *arg, int rc)
{
	struct prof_job *j = arg;

	if (rc != 0)
		wa_warn("session %s: the new push name is sent but not stored", j->slug);
	/* and the account's setting, which the phone shows (app state) */
	if (sess_ready(j->s))
		appstate_push_name(j->s, j->name);
	job_end(j, 200, ok_answer("Profile name updated", json_pack("{s:s}", "name", j->name)));
}

void wa_profile_name(struct wa_session *s, struct wa_cmd *cmd)
{
	const char *name = json_string_value(json_object_get(cmd->args, "name"));
	struct prof_job *j;
	struct wa_node *p;
	int rc;

	if (!name || !*name || utf8_chars(name) > NAME_MAX_CHARS || strchr(name, '\n')) {
		wa_cmd_reply_error(cmd, 400, "'name' must be 1 to 25 characters on one line", "validation_error");
		return;
	}
	if (!(j = job_new(s, cmd)))
		return;
	j->name = strdup(name);
	/* §11.8: the push name rides on our presence */
	p = j->name ? sess_presence_node("available", j->name) : NULL;
	rc = p ? sess_send(s, p) : WA_ENOMEM;
	wa_node_free(p);
	if (rc != 0) {
		job_fail(j, rc == WA_ENOMEM ? 500 : 503, rc == WA_ENOMEM ? "Out of memory" : MSG_NOT_READY,
			 rc == WA_ENOMEM ? NULL : "session_not_ready");
		return;
	}
	if (wa_dbpool_submit(s->e->db, j->row, save_name_run, save_name_done, j) != 0)
		save_name_done(j, WA_EFULL);
}

/* ---- profile.status ---- */

static void status_done(void *ctx, const struct wa_node *reply, int err)
{
	struct prof_job *j = ctx;

	if (!iq_ok(j, reply, err, "Failed to update the profile status"))
		return;
	job_end(j, 200, ok_answer("Profile status updated", json_pack("{s:s}", "status", j->about)));
}

void wa_profile_status(struct wa_session *s, struct wa_cmd *cmd)
{
	const char *about = json_string_value(json_object_get(cmd->args, "status"));
	struct prof_job *j;
	struct wa_node *iq, *st;

	if (!about || utf8_chars(about) > ABOUT_MAX_CHARS) {
		wa_cmd_reply_error(cmd, 400, "'status' must be a text of at most 139 characters", "validation_error");
		return;
	}
	if (!(j = job_new(s, cmd)))
		return;
	j->about = strdup(about);
	/* §11.9: the about as BL's updateProfileStatus sets it */
	iq = j->about ? wa_node_new_attrs("iq", "type", "set", "xmlns", "status", "to", "s.whatsapp.net", NULL) : NULL;
	st = iq ? wa_node_add_new(iq, "status") : NULL;
	if (!st || wa_node_set_bytes(st, about, strlen(about)) != 0) {
		wa_node_free(iq);
		iq = NULL;
	}
	job_iq(j, iq, status_done);
}

/* ---- profile.picture.set / remove ---- */

static void picture_set_done(void *ctx, const struct wa_node *reply, int err)
{
	struct prof_job *j = ctx;
	const struct wa_node *p;

	if (!iq_ok(j, reply, err, j->url ? "Failed to update the profile picture" : "Failed to remove the profile picture"))
		return;
	if (!j->url) {
		job_end(j, 200, ok_answer("Profile picture removed", NULL));
		return;
	}
	p = wa_node_child(reply, "picture");
	job_end(j, 200, ok_answer("Profile picture updated", json_pack("{s:s?}", "pictureId", p ? wa_node_attr(p, "id") : NULL)));
}

/* §11.9: <iq xmlns="w:profile:picture" type="set"><picture type="image">JPEG</picture></iq>
 * (our own: no target); without jpeg, no <picture>: removed. */
static void picture_iq(struct wa_session *s, struct wa_cmd *cmd, const uint8_t *jpeg, size_t len)
{
	struct prof_job *j = job_new(s, cmd);
	struct wa_node *iq, *p;

	if (!j)
		return;
	j->url = jpeg ? strdup("set") : NULL; /* marks a set */
	iq = wa_node_new_attrs("iq", "type", "set", "xmlns", "w:profile:picture", "to", "s.whatsapp.net", NULL);
	if (iq && jpeg) {
		p = wa_node_add_child(iq, wa_node_new_attrs("picture", "type", "image", NULL)) == 0
			? wa_node_child(iq, "picture") : NULL;
		if (!p || !j->url || wa_node_set_bytes(p, jpeg, len) != 0) {
			wa_node_free(iq);
			iq = NULL;
		}
	}
	job_iq(j, iq, picture_set_done);
}

void wa_profile_picture_set(struct wa_session *s, struct wa_cmd *cmd)
{
	const char *b64 = json_string_value(json_object_get(cmd->args, "jpeg"));
	size_t blen = b64 ? strlen(b64) : 0;
	uint8_t *jpeg;
	long n;

	if (!b64 || blen == 0 || blen > (PICTURE_MAX / 3 + 1) * 4) {
		wa_cmd_reply_error(cmd, 400, "No picture (the worker sends it as 'jpeg', base64)", "validation_error");
		return;
	}
	jpeg = malloc(blen / 4 * 3 + 3);
	if (!jpeg) {
		wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		return;
	}
	n = wa_base64_decode(b64, blen, jpeg, blen / 4 * 3 + 3);
	if (n < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) {
		free(jpeg);
		wa_cmd_reply_error(cmd, 400, "'jpeg' is not a base64 JPEG", "validation_error");
		return;
	}
	picture_iq(s, cmd, jpeg, (size_t)n);
	free(jpeg);
}

void wa_profile_picture_remove(struct wa_session *s, struct wa_cmd *cmd)
{
	picture_iq(s, cmd, NULL, 0);
}
