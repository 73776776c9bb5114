/* bot: commands, welcome and auto-read of a stored message (see bot.h). */
#include "engine/store/bot.h"
#include "engine/store/autoreply.h"
#include "fcgi/db.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa_util.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BOT_CMD_MAX 32

static const char SQL_CFG[] =
	"SELECT b.enabled, b.bot_name AS name, b.prefix, b.bot_mode AS mode, b.bot_allowed_jids AS allow, "
	"b.bot_blocked_jids AS block, b.enable_ping AS ping, b.enable_uptime AS uptime, "
	"b.anti_spam_enabled AS anti, b.spam_limit AS lim, b.spam_interval AS ival, b.spam_delay_min AS dmin, "
	"b.spam_delay_max AS dmax, b.welcome_enabled AS welcome, b.welcome_message AS wmsg, b.auto_read AS autoread, "
	"b.enable_sticker AS sticker, b.remove_bg_api_key AS rbkey, "
	"b.enable_video_sticker AS vsticker, b.max_sticker_duration AS vmax, "
	"IFNULL(JSON_VALUE(s.config, '$.readReceipts') IN ('true', '1'), 0) AS rr, "
	"b.auto_reply_mode AS ar_mode, b.auto_reply_allowed_jids AS ar_allow, b.auto_reply_blocked_jids AS ar_block, "
	"IFNULL(c.auto_replies, 1) AS ar_rules "
	"FROM wa_sessions s LEFT JOIN bot_configs b ON b.wa_session_id = s.id "
	"LEFT JOIN session_counts c ON c.wa_session_id = s.id WHERE s.id = ?";

json_t *wa_bot_config(struct wa_db *db, uint64_t row, int *err)
{
	*err = 0;
	return wa_db_row(db, err, SQL_CFG, "u", (unsigned long long)row);
}

static int flag(const json_t *cfg, const char *k)
{
	const json_t *v = json_object_get(cfg, k);

	return json_is_true(v) || json_integer_value(v) != 0;
}

static int may_command(const json_t *cfg, const struct wa_bot_msg *m)
{
	const char *mode = json_string_value(json_object_get(cfg, "mode"));

	if (!mode || !strcmp(mode, "OWNER"))
		return m->from_me;
	if (!strcmp(mode, "SPECIFIC"))
		return m->from_me || wa_jid_in_list(json_string_value(json_object_get(cfg, "allow")), m->sender);
	if (!strcmp(mode, "BLACKLIST"))
		return m->from_me || !wa_jid_in_list(json_string_value(json_object_get(cfg, "block")), m->sender);
	return 1;
}

/* The command word after the prefix, lower-cased, into cmd. 0 when text
 * is no command. */
static int command_of(const char *text, const char *prefix, char *cmd, size_t cap)
{
	size_t pl = prefix ? strlen(prefix) : 0, n = 0;
	const char *p;

	while (*text == ' ')
		text++;
	if (pl == 0 || strncmp(text, prefix, pl) != 0)
		return 0;
	for (p = text + pl; *p && !isspace((unsigned char)*p) && n + 1 < cap; p++)
		cmd[n++] = (char)tolower((unsigned char)*p);
	cmd[n] = '\0';
	return n > 0 && (!*p || isspace((unsigned char)*p));
}

/* An answer row: a text, or (media_type set) a media answer the
 * scheduler hands to engine/bot_media.c, media_url the image's message id
 * and content its pack and bounds as JSON. */
static int queue(struct wa_db *db, unsigned long long sid, const char *chat, const char *content,
		 const char *media_url, const char *media_type, const char *source, long delay_ms, int *queued)
{
	long long n = wa_db_exec(db, "INSERT INTO scheduled_messages (wa_session_id, jid, content, media_url, media_type, "
				 "send_at, origin, source_message_id) VALUES (?, ?, ?, ?, ?, NOW(3) + INTERVAL ? MICROSECOND, "
				 "'BOT', ?) ON DUPLICATE KEY UPDATE id = id", "ussssis", sid, chat, content, media_url,
				 media_type, (long long)delay_ms * 1000, source);

	if (n < 0)
		return WA_ESTORAGE;
	*queued |= n == 1;
	return 0;
}

/* A media answer (sticker / removebg of out's image), BOT_STICKER or
 * BOT_REMOVEBG; the remove.bg key is read from bot_configs when it is
 * sent, never copied. */
static int queue_media(struct wa_db *db, unsigned long long sid, const struct wa_bot_out *out, long delay_ms,
		       int *queued)
{
	json_t *c = json_pack("{s:s,s:i,s:b}", "pack", out->pack, "maxSeconds", (int)out->max_seconds, "still",
			      out->still);
	char *content = c ? json_dumps(c, JSON_COMPACT) : NULL;
	int rc;

	json_decref(c);
	if (!content)
		return WA_ENOMEM;
	rc = queue(db, sid, out->chat, content, out->media_id,
		   out->media == WA_BOT_REMOVEBG ? "BOT_REMOVEBG" : "BOT_STICKER", out->cmd_id, delay_ms, queued);
	free(content);
	return rc;
}

static void duration(uint64_t ms, char *out, size_t cap)
{
	uint64_t s = ms / 1000;

	if (s >= 86400)
		snprintf(out, cap, "%llud %lluh %llum %llus", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600), (unsigned long long)(s % 3600 / 60),
			 (unsigned long long)(s % 60));
	else if (s >= 3600)
		snprintf(out, cap, "%lluh %llum %llus", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60), (unsigned long long)(s % 60));
	else
		snprintf(out, cap, "%llum %llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
}

/* The answer to command cmd, or "" when it is none of ours. */
static void answer(const json_t *cfg, const struct wa_bot_msg *m, const char *cmd, char *out, size_t cap)
{
	const char *prefix = json_string_value(json_object_get(cfg, "prefix"));
	const char *name = json_string_value(json_object_get(cfg, "name"));
	const char *key = json_string_value(json_object_get(cfg, "rbkey"));
	char up[64];

	out[0] = '\0';
	if (!strcmp(cmd, "ping") && flag(cfg, "ping")) {
		long long lat = (long long)m->now_ms - (long long)m->sent_ms;

		snprintf(out, cap, "Pong! Latency: %lld ms", lat < 0 ? 0 : lat);
	} else if (!strcmp(cmd, "uptime") && flag(cfg, "uptime")) {
		duration(m->up_ms, up, sizeof up);
		snprintf(out, cap, "Uptime: %s", up);
	} else if (!strcmp(cmd, "help") || !strcmp(cmd, "menu")) {
		size_t len = (size_t)snprintf(out, cap, "*%s*\n", name ? name : "WA-AKG Bot");

		if (flag(cfg, "ping") && len < cap)
			len += (size_t)snprintf(out + len, cap - len, "\n%sping - latency", prefix);
		if (flag(cfg, "uptime") && len < cap)
			len += (size_t)snprintf(out + len, cap - len, "\n%suptime - time connected", prefix);
		if (flag(cfg, "sticker") && len < cap)
			len += (size_t)snprintf(out + len, cap - len, "\n%ssticker - an image or a video (its caption, or a reply "
						"to it) as a sticker", prefix);
		if (key && *key && len < cap)
			len += (size_t)snprintf(out + len, cap - len, "\n%sremovebg - an image without its background",
						prefix);
		if (len < cap)
			snprintf(out + len, cap - len, "\n%shelp - this menu", prefix);
	}
}

/* sticker / removebg: the image they are of (the message itself, or the
 * one it replies to) into out->media_id, or the text that answers instead
 * into text. 0, or WA_ESTORAGE. */
static int media_command(struct wa_db *db, unsigned long long sid, const json_t *cfg, const struct wa_bot_msg *m,
			 const char *cmd, struct wa_bot_out *out, char *text, size_t cap)
{
	const char *prefix = json_string_value(json_object_get(cfg, "prefix"));
	const char *key = json_string_value(json_object_get(cfg, "rbkey"));
	const char *name = json_string_value(json_object_get(cfg, "name"));
	const char *type = m->type, *mid = m->id;
	json_t *q = NULL;
	int rb = !strcmp(cmd, "removebg"), err = 0;

	text[0] = '\0';
	if (!rb && !flag(cfg, "sticker"))
		return 0;
	if (rb && (!key || !*key)) {
		snprintf(text, cap, "remove.bg is not configured for this bot (no removeBgApiKey).");
		return 0;
	}
	if ((!type || (strcmp(type, "IMAGE") && strcmp(type, "VIDEO"))) && m->quoted_id) {
		q = wa_db_row(db, &err, "SELECT type FROM messages WHERE wa_session_id = ? AND message_id = ?", "us", sid,
			      m->quoted_id);
		if (err)
			return WA_ESTORAGE;
		type = json_string_value(json_object_get(q, "type"));
		mid = m->quoted_id;
	}
	if ((type && !strcmp(type, "IMAGE")) || (type && !strcmp(type, "VIDEO") && !rb && flag(cfg, "vsticker"))) {
		json_int_t vmax = json_integer_value(json_object_get(cfg, "vmax"));

		out->media = rb ? WA_BOT_REMOVEBG : WA_BOT_STICKER;
		out->max_seconds = vmax > 0 && vmax <= 600 ? (unsigned)vmax : 10;
		out->still = !flag(cfg, "vsticker");
		snprintf(out->media_id, sizeof out->media_id, "%s", mid);
		snprintf(out->cmd_id, sizeof out->cmd_id, "%s", m->id);
		snprintf(out->chat, sizeof out->chat, "%s", m->chat);
		snprintf(out->pack, sizeof out->pack, "%s", name ? name : "WA-AKG Bot");
		if (rb)
			snprintf(out->key, sizeof out->key, "%s", key);
	} else if (type && !strcmp(type, "VIDEO")) {
		snprintf(text, cap, rb ? "remove.bg works on images only." :
			 "Video stickers are turned off for this bot: send an image.");
	} else {
		snprintf(text, cap, "Send %s%s as the caption of an image%s, or as a reply to one.", prefix ? prefix : "",
			 cmd, rb ? "" : " or a video");
	}
	json_decref(q);
	return 0;
}

int wa_bot_handle(struct wa_db *db, uint64_t row, const struct wa_bot_msg *m, const json_t *cfg,
		  struct wa_bot_out *out)
{
	unsigned long long sid = (unsigned long long)row;
	char cmd[BOT_CMD_MAX], text[1024], source[160];
	int rc = 0, enabled;

	memset(out, 0, sizeof *out);
	if (!cfg)
		return 0;
	enabled = json_object_get(cfg, "enabled") && !json_is_null(json_object_get(cfg, "enabled")) &&
		  flag(cfg, "enabled");
	/* readReceipts: true in the session's settings, or the bot's autoRead */
	out->mark_read = !m->from_me && (flag(cfg, "rr") || (enabled && flag(cfg, "autoread")));
	if (!enabled || !m->id)
		goto done;
	if (m->text && command_of(m->text, json_string_value(json_object_get(cfg, "prefix")), cmd, sizeof cmd) &&
	    may_command(cfg, m)) {
		if (!strcmp(cmd, "sticker") || !strcmp(cmd, "removebg")) {
			if ((rc = media_command(db, sid, cfg, m, cmd, out, text, sizeof text)) != 0)
				goto done;
		} else {
			answer(cfg, m, cmd, text, sizeof text);
		}
		if ((text[0] || out->media) && flag(cfg, "anti")) {
			long long recent = wa_db_int(db, -1, "SELECT COUNT(*) FROM scheduled_messages WHERE wa_session_id = ? "
						    "AND origin = 'BOT' AND jid = ? AND created_at > NOW(3) - INTERVAL ? SECOND",
						    "usi", sid, m->chat,
						    (long long)json_integer_value(json_object_get(cfg, "ival")));

			if (recent < 0) {
				rc = WA_ESTORAGE;
				goto done;
			}
			if (recent >= json_integer_value(json_object_get(cfg, "lim"))) {
				wa_info("bot: command %s in %s not answered: anti-spam limit", cmd, m->chat);
				text[0] = '\0';
				out->media = 0;
			}
		}
		if (text[0] || out->media) {
			long dmin = 0, dmax = 0, delay = 0;
			uint32_t r = 0;

			if (flag(cfg, "anti")) {
				dmin = (long)json_integer_value(json_object_get(cfg, "dmin"));
				dmax = (long)json_integer_value(json_object_get(cfg, "dmax"));
				delay = dmin;
				if (dmax > dmin && wa_random((uint8_t *)&r, sizeof r) == 0)
					delay += (long)(r % (uint32_t)(dmax - dmin + 1));
			}
			rc = out->media ? queue_media(db, sid, out, delay, &out->queued)
					: queue(db, sid, m->chat, text, NULL, NULL, m->id, delay, &out->queued);
			/* queued: the scheduler does it (no key kept here) */
			explicit_bzero(out->key, sizeof out->key);
			out->media = 0;
			if (rc != 0)
				goto done;
		}
	}
	if (flag(cfg, "welcome") && !m->from_me && !strstr(m->chat, "@g.us") &&
	    json_string_value(json_object_get(cfg, "wmsg")) && *json_string_value(json_object_get(cfg, "wmsg"))) {
		/* the first message of this person in this chat: it is the only one stored */
		long long n = wa_db_int(db, -1, "SELECT COUNT(*) FROM messages WHERE wa_session_id = ? AND remote_jid = ? "
					"AND from_me = 0", "us", sid, m->chat);

		if (n < 0) {
			rc = WA_ESTORAGE;
			goto done;
		}
		snprintf(source, sizeof source, "W:%s", m->id);
		if (n == 1)
			rc = queue(db, sid, m->chat, json_string_value(json_object_get(cfg, "wmsg")), NULL, NULL, source,
				   0, &out->queued);
	}
done:
	return rc;
}
