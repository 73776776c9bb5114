/* sess_status: statuses (WhatsApp "stories", docs/protocol.md §7.8), both
 * ways.
 *   status.update (session.h: wa_session_status_post) posts a status; a
 *     text status is an extendedTextMessage (text, backgroundArgb, textArgb, font, mentions)
 *     to status@broadcast as a sender-key message whose audience is the
 *     mentioned users and the session's stored contacts (user JIDs, not
 *     blocked; at most STATUS_AUDIENCE_MAX in all), with
 *     our own devices (sess_send.c: sess_send_status, as Baileys'
 *     relayMessage with statusJidList). The audience is read on a dbpool
 *     thread; everything else is the send path's.
 *   sess_status_event_payload (session_int.h) makes a received status's
 *     status.update event from its message event (sess_recv.c stores
 *     statuses in messages under status@broadcast, the sender as
 *     participant).
 * An IMAGE or VIDEO status is the media message of mediaUrl (an http(s)
 * or data: URL, fetched and uploaded by the send path as /send does), or
 * of the file the worker stored from a multipart upload ("file", as
 * /media has it), with content as its caption. */
#include "engine/cmd.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/session_int.h"
#include "engine/store/outmsg.h"
#include "fcgi/db.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* user JIDs a status goes to, besides us: what the send path takes for a
 * group (sess_send.c SEND_MAX_USERS); the mentioned users first, then the
 * contacts, oldest first */
#define STATUS_AUDIENCE_MAX 256
#define STATUS_FONT_MAX 10       /* FontType: 0 .. COURIERPRIME_BOLD */

struct status_job {
	struct wa_session *s;
	struct wa_cmd *cmd;
	uint64_t row;
	struct wa_out out;
	char *aud;                   /* NUL-separated user JIDs */
	size_t aud_len, aud_cap;
	size_t naud;
};

/* "#RRGGBB" (opaque) or "#AARRGGBB" -> ARGB; -1 when it is neither */
static int parse_colour(const char *c, uint32_t *argb)
{
	size_t n = c ? strlen(c) : 0;
	uint32_t v = 0;

	if ((n != 7 && n != 9) || c[0] != '#')
		return -1;
	for (size_t i = 1; i < n; i++) {
		char h = c[i];
		int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 :
			h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*argb = n == 7 ? 0xff000000u | v : v;
	return 0;
}

/* a colour argument: an ARGB integer (the reference) or a "#RRGGBB" text */
static int colour_arg(const json_t *v, uint32_t *argb)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0 || i > 0xffffffffLL)
			return -1;
		*argb = (uint32_t)i;
		return 0;
	}
	return json_is_string(v) ? parse_colour(json_string_value(v), argb) : -1;
}

static int aud_add(struct status_job *j, const char *jid)
{
	size_t n = strlen(jid) + 1;

	for (const char *p = j->aud; p && p < j->aud + j->aud_len; p += strlen(p) + 1)
		if (strcmp(p, jid) == 0)
			return 0;
	if (j->naud >= STATUS_AUDIENCE_MAX)
		return 0; /* full: the rest do not see it */
	if (j->aud_len + n > j->aud_cap) {
		size_t cap = j->aud_cap ? j->aud_cap * 2 : 1024;
		char *a;

		while (cap < j->aud_len + n)
			cap *= 2;
		if (!(a = realloc(j->aud, cap)))
			return WA_ENOMEM;
		j->aud = a;
		j->aud_cap = cap;
	}
	memcpy(j->aud + j->aud_len, jid, n);
	j->aud_len += n;
	j->naud++;
	return 0;
}

/* dbpool thread: the audience, our contacts' user JIDs */
static int audience_run(struct wa_db *db, void *arg)
{
	struct status_job *j = arg;
	json_t *rows, *r;
	size_t i;
	int rc = 0;

	rows = wa_db_query(db, "SELECT jid FROM contacts WHERE wa_session_id = ? AND jid LIKE '%@s.whatsapp.net' "
			   "AND blocked = 0 ORDER BY id LIMIT ?", "ui", (unsigned long long)j->row,
			   (int)STATUS_AUDIENCE_MAX);
	if (!rows)
		return WA_ESTORAGE;
	json_array_foreach(rows, i, r) {
		const char *jid = json_string_value(json_object_get(r, "jid"));

		if (jid && strlen(jid) < WA_JID_STR_MAX && (rc = aud_add(j, jid)) != 0)
			break;
	}
	json_decref(rows);
	return rc;
}

static void job_free(struct status_job *j)
{
	wa_out_free(&j->out);
	free(j->aud);
	free(j);
}

static void audience_done(void *arg, int rc)
{
	struct status_job *j = arg;
	struct wa_session *s = j->s;
	int live = sess_unref(s);

	if (live && rc == 0 && sess_ready(s)) {
		/* the send path takes the message and the audience */
		sess_send_status(s, &j->out, j->cmd, j->aud, j->aud_len);
		free(j);
		return;
	}
	if (live && rc == WA_ENOMEM)
		wa_cmd_reply_error(j->cmd, 500, "Out of memory", NULL);
	else if (live && rc != 0)
		wa_cmd_reply_error(j->cmd, 503, "The audience could not be read (database)", "database_unavailable");
	else
		wa_cmd_reply_error(j->cmd, 503, "Session not connected or ready", "session_not_ready");
	job_free(j);
}

void wa_session_status_post(struct wa_session *s, struct wa_cmd *cmd)
{
	const json_t *a = cmd->args, *bg = json_object_get(a, "backgroundColor"), *fg = json_object_get(a, "textColor"),
		     *font = json_object_get(a, "font");
	const char *type = json_string_value(json_object_get(a, "type"));
	const char *content = json_string_value(json_object_get(a, "content"));
	const char *url = json_string_value(json_object_get(a, "mediaUrl"));
	const json_t *file = json_object_get(a, "file");   /* the upload form's (the worker stored it) */
	const char *why = NULL, *code = NULL;
	int media = type && (strcmp(type, "IMAGE") == 0 || strcmp(type, "VIDEO") == 0);
	uint32_t bg_argb = 0, text_argb = 0;
	struct status_job *j;
	json_t *targs;
	int rc;

	if (type && !media && strcmp(type, "TEXT") != 0) {
		wa_cmd_reply_error(cmd, 400, "'type' must be TEXT, IMAGE or VIDEO", "validation_error");
		return;
	}
	if (media && (!url || !*url) && !file) {
		wa_cmd_reply_error(cmd, 400, "'mediaUrl' (or an uploaded 'file') is required for IMAGE and VIDEO statuses",
				   "validation_error");
		return;
	}
	if (!content || (!*content && !media)) {
		wa_cmd_reply_error(cmd, 400, "Missing required field 'content'", "validation_error");
		return;
	}
	if (bg && colour_arg(bg, &bg_argb) != 0) {
		wa_cmd_reply_error(cmd, 400, "'backgroundColor' must be an ARGB integer or \"#RRGGBB\"",
				   "validation_error");
		return;
	}
	if (fg && colour_arg(fg, &text_argb) != 0) {
		wa_cmd_reply_error(cmd, 400, "'textColor' must be an ARGB integer or \"#RRGGBB\"", "validation_error");
		return;
	}
	if (font && (!json_is_integer(font) || json_integer_value(font) < 0 ||
		     json_integer_value(font) > STATUS_FONT_MAX)) {
		wa_cmd_reply_error(cmd, 400, "'font' must be 0 to 10", "validation_error");
		return;
	}
	if (!(j = calloc(1, sizeof *j))) {
		wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		return;
	}
	/* the text (or the media with its caption) and mentions as
	 * message.send checks them; media is uploaded by the send path */
	if (media && file)
		targs = json_pack("{s:O,s:s,s:s}", "file", file, "type", strcmp(type, "IMAGE") == 0 ? "image" : "video",
				  "caption", content);
	else if (media)
		targs = json_pack("{s:{s:{s:s},s:s},s:O*}", "message", strcmp(type, "IMAGE") == 0 ? "image" : "video",
				  "url", url, "caption", content, "mentions", json_object_get(a, "mentions"));
	else
		targs = json_pack("{s:s,s:O*}", "message", content, "mentions", json_object_get(a, "mentions"));
	if (!targs)
		rc = 500;
	else if (media && file)
		rc = wa_out_parse_upload(&j->out, targs, 0, &why, &code);
	else
		rc = wa_out_parse_op(&j->out, "message.send", targs, &why, &code);
	j->out.bg_argb = bg_argb;
	j->out.text_argb = text_argb;
	json_decref(targs);
	if (rc != 0) {
		free(j);
		wa_cmd_reply_error(cmd, rc, why ? why : "Out of memory", code);
		return;
	}
	/* the look is a text status's; a media status has its caption only */
	j->out.look = media ? 0 : (bg ? WA_OUT_LOOK_BG : 0) | (fg ? WA_OUT_LOOK_TEXT : 0) | (font ? WA_OUT_LOOK_FONT : 0);
	j->out.font = font ? (int)json_integer_value(font) : 0;
	for (size_t i = 0; rc == 0 && i < j->out.nmentions; i++)
		rc = aud_add(j, j->out.mentions[i]);
	if (rc != 0) {
		job_free(j);
		wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		return;
	}
	j->s = s;
	j->cmd = cmd;
	j->row = s->row_id;
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, j->row, audience_run, audience_done, j) != 0) {
		sess_unref(s);
		job_free(j);
		wa_cmd_reply_error(cmd, 503, "The engine is busy; try again", "engine_busy");
	}
}

/* unwrapped m's text status look, as the event says it */
char *sess_status_event_payload(const char *msg_payload, const WaE2E__Message *m)
{
	json_t *o = json_loads(msg_payload, 0, NULL);
	const WaE2E__ExtendedTextMessage *et = m ? m->extendedtextmessage : NULL;
	const json_t *c;
	char *out;

	if (!o)
		return NULL;
	json_object_set(o, "from", json_object_get(o, "sender"));
	c = json_object_get(o, "content");
	if (json_is_string(c) && !json_object_get(o, "text"))
		json_object_set(o, "text", (json_t *)c);
	if (et && et->has_backgroundargb) {
		char hex[8];

		snprintf(hex, sizeof hex, "#%06X", (unsigned)(et->backgroundargb & 0xffffff));
		json_object_set_new(o, "backgroundColor", json_string(hex));
		json_object_set_new(o, "backgroundArgb", json_integer((json_int_t)et->backgroundargb));
	}
	if (et && et->has_textargb)
		json_object_set_new(o, "textArgb", json_integer((json_int_t)et->textargb));
	if (et && et->has_font)
		json_object_set_new(o, "font", json_integer(et->font));
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}
