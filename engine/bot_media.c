/* bot_media: the bot's sticker and removebg commands (see bot_media.h). */
#include "engine/bot_media.h"
#include "engine/engine.h"
#include "engine/media.h"
#include "engine/media_dl.h"
#include "engine/sched.h"
#include "engine/session_int.h"
#include "engine/store/bot.h"
#include "engine/store/outmsg.h"
#include "wa_config.h"
#include "wa_log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOT_AUTHOR "WA-AKG"
#define STICKER_LEAD "Cannot make a sticker: " /* engine/media.c's why */
#define REMOVEBG_DEFAULT_URL "https://api.remove.bg/v1.0/removebg"

struct bot_media {
	struct wa_engine *e;
	char slug[WA_SESSION_ID_MAX];
	struct wa_bot_out b;
	uint64_t row;                 /* its scheduled_messages row */
	int text;                     /* the send under way is the error text */
};

/* The row's outcome (engine/sched.h), and the job is over. */
static void job_end(struct bot_media *bm, int status, int claimed, const char *why)
{
	if (bm->e->sched)
		wa_sched_row_end(bm->e->sched, bm->row, status, claimed, why);
	explicit_bzero(bm->b.key, sizeof bm->b.key);
	free(bm);
}

static struct wa_session *session_of(struct bot_media *bm)
{
	struct wa_session *s = bm->e->stopping ? NULL : wa_sessions_find(bm->e->sessions, bm->slug);

	return s && sess_ready(s) ? s : NULL;
}

static void sent(void *ctx, int status, int claimed, const char *why);

/* The answer to the chat when the command could not be done. */
static void say(struct bot_media *bm, struct wa_session *s, const char *lead, const char *why)
{
	char text[512];
	const char *err = NULL, *code = NULL;
	struct wa_out out;
	json_t *args;

	snprintf(text, sizeof text, "%s%s", lead, why && *why ? why : "unknown error");
	args = json_pack("{s:s,s:{s:s},s:s}", "jid", bm->b.chat, "message", "text", text, "messageId", bm->b.cmd_id);
	if (!args || wa_out_parse_op(&out, "message.send", args, &err, &code) != 0) {
		wa_warn("session %s: bot: cannot answer %s (%s)", bm->slug, bm->b.cmd_id, err ? err : "no memory");
		json_decref(args);
		job_end(bm, 500, 0, err ? err : "Out of memory");
		return;
	}
	json_decref(args);
	bm->text = 1;
	wa_sched_row_send(s->e->sched, s, bm->row, bm->b.chat, &out, sent, bm);
}

static void sent(void *ctx, int status, int claimed, const char *why)
{
	struct bot_media *bm = ctx;
	struct wa_session *s;
	int sticker = bm->b.media == WA_BOT_STICKER;

	/* sent, taken by the row's claim (its ack settles it), or the text */
	if (status == 200 || claimed || bm->text || status == 503) {
		if (status == 200)
			wa_info("session %s: bot: %s for %s sent", bm->slug,
				bm->text ? "answer" : sticker ? "sticker" : "removebg image", bm->b.cmd_id);
		else
			wa_warn("session %s: bot: answer to %s not sent: %s", bm->slug, bm->b.cmd_id, why ? why : "");
		job_end(bm, status, claimed, why);
		return;
	}
	wa_info("session %s: bot: %s for %s not sent: %s", bm->slug, sticker ? "sticker" : "removebg", bm->b.cmd_id,
		why ? why : "");
	if (!(s = session_of(bm))) {
		job_end(bm, 503, 0, "the session went");
		return;
	}
	/* the media job's own lead is not said twice */
	if (sticker && why && !strncmp(why, STICKER_LEAD, sizeof STICKER_LEAD - 1))
		why += sizeof STICKER_LEAD - 1;
	say(bm, s, sticker ? "Could not make the sticker: " : "", why);
}

static void downloaded(void *ctx, int status, const char *file, const char *mime, const char *why)
{
	struct bot_media *bm = ctx;
	struct wa_session *s = session_of(bm);
	const char *dir, *err = NULL, *code = NULL, *url;
	int sticker = bm->b.media == WA_BOT_STICKER;
	char path[1100];
	struct wa_out out;
	json_t *args;

	(void)mime;
	if (!s) {
		job_end(bm, 503, 0, "the session went"); /* the row waits for the next scan */
		return;
	}
	if (status != 200) {
		say(bm, s, sticker ? "Could not get the media: " : "Could not get the image: ", why);
		return;
	}
	dir = wa_config_get(s->e->cfg, "media.dir");
	snprintf(path, sizeof path, "%s/%s", dir ? dir : "", file);
	if (sticker)
		args = json_pack("{s:s,s:{s:s},s:s,s:s,s:s}", "jid", bm->b.chat, "file", "path", path, "pack", bm->b.pack,
				 "author", BOT_AUTHOR, "messageId", bm->b.cmd_id);
	else
		args = json_pack("{s:s,s:s,s:{s:s},s:s}", "jid", bm->b.chat, "type", "image", "file", "path", path,
				 "messageId", bm->b.cmd_id);
	if (!args || wa_out_parse_op(&out, sticker ? "message.sticker" : "message.media", args, &err, &code) != 0) {
		json_decref(args);
		say(bm, s, "Could not make the sticker: ", err ? err : "out of memory");
		return;
	}
	json_decref(args);
	if (sticker) {
		out.media->max_seconds = bm->b.max_seconds;
		out.media->still = bm->b.still;
	}
	if (!sticker) {
		url = wa_config_get(s->e->cfg, "bot.removebg_url");
		if (!(out.media->removebg_url = strdup(url && *url ? url : REMOVEBG_DEFAULT_URL)) ||
		    !(out.media->removebg_key = strdup(bm->b.key))) {
			wa_out_free(&out);
			say(bm, s, "", "Out of memory");
			return;
		}
	}
	wa_sched_row_send(s->e->sched, s, bm->row, bm->b.chat, &out, sent, bm);
}

void wa_bot_media_row(struct wa_session *s, const struct wa_bot_out *b, uint64_t row)
{
	struct bot_media *bm = calloc(1, sizeof *bm);

	if (!bm) {
		wa_warn("session %s: bot: out of memory for a media command", s->id);
		if (s->e->sched)
			wa_sched_row_end(s->e->sched, row, 503, 0, "Out of memory");
		return;
	}
	bm->e = s->e;
	bm->row = row;
	snprintf(bm->slug, sizeof bm->slug, "%s", s->id);
	bm->b = *b;
	wa_info("session %s: bot: %s of %s", s->id, b->media == WA_BOT_STICKER ? "sticker" : "removebg", b->media_id);
	wa_media_dl_get(s, b->media_id, downloaded, bm);
}
