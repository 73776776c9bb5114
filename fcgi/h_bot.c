/* h_bot: the bot configuration of a session (bot_configs, one row per
 * session; an absent row means all defaults).
 *
 * One table describes every API field once (name, column, kind, limits), so
 * reading, validating and writing cannot drift apart. POST changes only the
 * fields present in the body; all of them are validated before anything is
 * written, and the write is one transaction (create-if-absent + update +
 * cross-field check), so a 400 changes nothing. */
#include "fcgi/db.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "wa_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_BOOL, K_INT, K_STR, K_STR_NULL, K_MODE, K_JIDS };

struct bot_field {
	const char *api;
	const char *col;
	enum kind kind;
	long long min, max;  /* K_INT range; K_STR/K_STR_NULL: max length */
};

#define NFIELDS 25
static const struct bot_field fields[NFIELDS] = {
	{ "enabled", "enabled", K_BOOL, 0, 0 },
	{ "botName", "bot_name", K_STR, 1, 64 },
	{ "prefix", "prefix", K_STR, 1, 8 },
	{ "botMode", "bot_mode", K_MODE, 0, 0 },
	{ "botAllowedJids", "bot_allowed_jids", K_JIDS, 0, 0 },
	{ "botBlockedJids", "bot_blocked_jids", K_JIDS, 0, 0 },
	{ "autoReplyMode", "auto_reply_mode", K_MODE, 0, 0 },
	{ "autoReplyAllowedJids", "auto_reply_allowed_jids", K_JIDS, 0, 0 },
	{ "autoReplyBlockedJids", "auto_reply_blocked_jids", K_JIDS, 0, 0 },
	{ "enableSticker", "enable_sticker", K_BOOL, 0, 0 },
	{ "enableVideoSticker", "enable_video_sticker", K_BOOL, 0, 0 },
	{ "maxStickerDuration", "max_sticker_duration", K_INT, 1, 600 },
	{ "enablePing", "enable_ping", K_BOOL, 0, 0 },
	{ "enableUptime", "enable_uptime", K_BOOL, 0, 0 },
	{ "removeBgApiKey", "remove_bg_api_key", K_STR_NULL, 0, 255 },
	{ "antiSpamEnabled", "anti_spam_enabled", K_BOOL, 0, 0 },
	{ "spamLimit", "spam_limit", K_INT, 1, 1000 },
	{ "spamInterval", "spam_interval", K_INT, 1, 86400 },
	{ "spamDelayMin", "spam_delay_min", K_INT, 0, 600000 },
	{ "spamDelayMax", "spam_delay_max", K_INT, 0, 600000 },
	{ "welcomeEnabled", "welcome_enabled", K_BOOL, 0, 0 },
	{ "welcomeMessage", "welcome_message", K_STR_NULL, 0, 4096 },
	{ "autoRead", "auto_read", K_BOOL, 0, 0 },
	{ "alwaysOnline", "always_online", K_BOOL, 0, 0 },
	{ "rejectCalls", "reject_calls", K_BOOL, 0, 0 },
};
/* Fields after removeBgApiKey are ours (columns of bot_configs the
 * reference does not list); they are read and written the same way. */

#define MAX_JIDS 1000

/* Columns with the defaults of an absent row (COALESCE over a LEFT JOIN;
 * integers CAST because COALESCE(INT UNSIGNED, literal) is DECIMAL). */
#define BOT_SELECT \
	"SELECT CAST(s.id AS CHAR) AS id, CAST(s.id AS CHAR) AS sessionId, " \
	"COALESCE(b.enabled, 1) AS enabled, COALESCE(b.bot_name, 'WA-AKG Bot') AS botName, " \
	"COALESCE(b.prefix, '#') AS prefix, COALESCE(b.bot_mode, 'OWNER') AS botMode, " \
	"COALESCE(b.bot_allowed_jids, '[]') AS botAllowedJids, COALESCE(b.bot_blocked_jids, '[]') AS botBlockedJids, " \
	"COALESCE(b.auto_reply_mode, 'ALL') AS autoReplyMode, " \
	"COALESCE(b.auto_reply_allowed_jids, '[]') AS autoReplyAllowedJids, " \
	"COALESCE(b.auto_reply_blocked_jids, '[]') AS autoReplyBlockedJids, " \
	"COALESCE(b.enable_sticker, 1) AS enableSticker, COALESCE(b.enable_video_sticker, 1) AS enableVideoSticker, " \
	"CAST(COALESCE(b.max_sticker_duration, 10) AS SIGNED) AS maxStickerDuration, COALESCE(b.enable_ping, 1) AS enablePing, " \
	"COALESCE(b.enable_uptime, 1) AS enableUptime, b.remove_bg_api_key AS removeBgApiKey, " \
	"COALESCE(b.anti_spam_enabled, 0) AS antiSpamEnabled, CAST(COALESCE(b.spam_limit, 5) AS SIGNED) AS spamLimit, " \
	"CAST(COALESCE(b.spam_interval, 10) AS SIGNED) AS spamInterval, CAST(COALESCE(b.spam_delay_min, 1000) AS SIGNED) AS spamDelayMin, " \
	"CAST(COALESCE(b.spam_delay_max, 3000) AS SIGNED) AS spamDelayMax, COALESCE(b.welcome_enabled, 0) AS welcomeEnabled, " \
	"b.welcome_message AS welcomeMessage, COALESCE(b.auto_read, 0) AS autoRead, " \
	"COALESCE(b.always_online, 0) AS alwaysOnline, COALESCE(b.reject_calls, 0) AS rejectCalls, " \
	"COALESCE(b.created_at, s.created_at) AS createdAt, COALESCE(b.updated_at, s.updated_at) AS updatedAt, " \
	"b.wa_session_id IS NOT NULL AS _exists " \
	"FROM wa_sessions s LEFT JOIN bot_configs b ON b.wa_session_id = s.id WHERE s.id = ?"

static void shape(json_t *row)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		if (fields[i].kind == K_BOOL)
			wa_row_bool_col(row, fields[i].api);
		else if (fields[i].kind == K_JIDS)
			wa_row_json_col(row, fields[i].api, NULL);
	}
	json_object_del(row, "_exists");
}

/* The session's config with defaults; NULL after replying 500. */
static json_t *load(struct wa_req *r, uint64_t sid, int *exists)
{
	json_t *row = wa_db_row(r->db, NULL, BOT_SELECT, "u", (unsigned long long)sid);

	if (!row)
		return NULL;
	if (exists)
		*exists = json_integer_value(json_object_get(row, "_exists")) != 0;
	shape(row);
	return row;
}

json_t *wa_bot_config_load(struct wa_req *r, uint64_t wa_session_id)
{
	int exists = 0;
	json_t *row = load(r, wa_session_id, &exists);

	if (row && !exists) {
		json_decref(row);
		return json_null();
	}
	return row;
}

int h_bot_get(struct wa_req *r)
{
	json_t *row = load(r, r->sess.id, NULL);

	if (!row)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_json(r, 200, row);
}

/* Validate field f of the body into its SQL text value (vals[i], NULL =
 * keep). Returns 0 or -1 after a 400. JID lists are kept in *jids. */
static int parse_field(struct wa_req *r, const struct bot_field *f, char *buf, size_t len, const char **val,
		       json_t **jids)
{
	json_t *v = json_object_get(r->json, f->api);
	long long n;
	const char *s;
	int rc;

	*val = NULL;
	switch (f->kind) {
	case K_BOOL:
		if (!v || json_is_null(v))
			return 0;
		if (!json_is_boolean(v))
			return wa_reply_errorf(r, 400, "validation_error", "'%s' must be a boolean", f->api);
		*val = json_is_true(v) ? "1" : "0";
		return 0;
	case K_INT:
		rc = wa_body_int_range(r, f->api, f->min, f->max, &n);
		if (rc <= 0)
			return rc;
		snprintf(buf, len, "%lld", n);
		*val = buf;
		return 0;
	case K_STR:
		if (!v || json_is_null(v))
			return 0;
		if (!json_is_string(v) || json_string_length(v) < (size_t)f->min || json_string_length(v) > (size_t)f->max)
			return wa_reply_errorf(r, 400, "validation_error", "'%s' must be a string of %lld to %lld characters",
					       f->api, f->min, f->max);
		*val = json_string_value(v);
		return 0;
	case K_STR_NULL:
		rc = wa_body_str_null(r, f->api, (size_t)f->max, &s);
		if (rc < 0)
			return -1;
		/* null or "" clears the value (stored as NULL); see the UPDATE. */
		*val = rc == 0 ? NULL : s ? s : "";
		return 0;
	case K_MODE:
		if (!v || json_is_null(v))
			return 0;
		s = json_string_value(v);
		if (!s || (strcmp(s, "OWNER") && strcmp(s, "SPECIFIC") && strcmp(s, "BLACKLIST") && strcmp(s, "ALL")))
			return wa_reply_errorf(r, 400, "validation_error",
					       "'%s' must be one of OWNER, SPECIFIC, BLACKLIST, ALL", f->api);
		*val = s;
		return 0;
	case K_JIDS:
		return wa_body_jid_list(r, f->api, MAX_JIDS, jids) < 0 ? -1 : 0;
	}
	return 0;
}

int h_bot_set(struct wa_req *r)
{
	char nums[NFIELDS][24];
	const char *vals[NFIELDS];
	char *jtext[NFIELDS] = { 0 };
	json_t *jids[NFIELDS] = { 0 }, *row;
	int rc = -1, any = 0;
	size_t i;
	long long bad;

	if (wa_body_begin(r, 0, NULL) < 0)
		return -1;
	for (i = 0; i < NFIELDS; i++) {
		if (parse_field(r, &fields[i], nums[i], sizeof nums[i], &vals[i], &jids[i]) < 0)
			goto out;
		if (jids[i]) {
			jtext[i] = wa_json_text(jids[i]);
			if (!jtext[i]) {
				wa_reply_error(r, 500, "Out of memory", NULL);
				goto out;
			}
			vals[i] = jtext[i];
		}
		any |= vals[i] != NULL;
	}
	if (!any) {
		wa_reply_error(r, 400, "No bot configuration field given (e.g. enabled, botMode, botName)",
			       "validation_error");
		goto out;
	}
	if (wa_db_begin(r->db) < 0) {
		wa_reply_db_error(r, "Database error");
		goto out;
	}
	if (wa_db_exec(r->db, "INSERT IGNORE INTO bot_configs (wa_session_id) VALUES (?)", "u",
		       (unsigned long long)r->sess.id) < 0 ||
	    wa_db_exec(r->db,
		       "UPDATE bot_configs SET enabled = COALESCE(?, enabled), bot_name = COALESCE(?, bot_name), "
		       "prefix = COALESCE(?, prefix), bot_mode = COALESCE(?, bot_mode), "
		       "bot_allowed_jids = COALESCE(?, bot_allowed_jids), bot_blocked_jids = COALESCE(?, bot_blocked_jids), "
		       "auto_reply_mode = COALESCE(?, auto_reply_mode), "
		       "auto_reply_allowed_jids = COALESCE(?, auto_reply_allowed_jids), "
		       "auto_reply_blocked_jids = COALESCE(?, auto_reply_blocked_jids), "
		       "enable_sticker = COALESCE(?, enable_sticker), enable_video_sticker = COALESCE(?, enable_video_sticker), "
		       "max_sticker_duration = COALESCE(?, max_sticker_duration), enable_ping = COALESCE(?, enable_ping), "
		       "enable_uptime = COALESCE(?, enable_uptime), "
		       "remove_bg_api_key = IF(? IS NULL, remove_bg_api_key, NULLIF(?, '')), "
		       "anti_spam_enabled = COALESCE(?, anti_spam_enabled), spam_limit = COALESCE(?, spam_limit), "
		       "spam_interval = COALESCE(?, spam_interval), spam_delay_min = COALESCE(?, spam_delay_min), "
		       "spam_delay_max = COALESCE(?, spam_delay_max), welcome_enabled = COALESCE(?, welcome_enabled), "
		       "welcome_message = IF(? IS NULL, welcome_message, NULLIF(?, '')), "
		       "auto_read = COALESCE(?, auto_read), always_online = COALESCE(?, always_online), "
		       "reject_calls = COALESCE(?, reject_calls) WHERE wa_session_id = ?",
		       "sssssssssssssssssssssssssssu", vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6],
		       vals[7], vals[8], vals[9], vals[10], vals[11], vals[12], vals[13], vals[14], vals[14], vals[15],
		       vals[16], vals[17], vals[18], vals[19], vals[20], vals[21], vals[21],
		       vals[22], vals[23], vals[24], (unsigned long long)r->sess.id) < 0) {
		wa_db_rollback(r->db);
		wa_reply_db_error(r, "Cannot update the bot configuration");
		goto out;
	}
	/* Cross-field rule on the merged result, still inside the transaction. */
	bad = wa_db_int(r->db, -1, "SELECT spam_delay_min > spam_delay_max FROM bot_configs WHERE wa_session_id = ?",
			"u", (unsigned long long)r->sess.id);
	if (bad != 0) {
		wa_db_rollback(r->db);
		if (bad < 0)
			wa_reply_db_error(r, "Database error");
		else
			wa_reply_error(r, 400, "'spamDelayMin' must not be greater than 'spamDelayMax'",
				       "validation_error");
		goto out;
	}
	if (wa_db_commit(r->db) < 0) {
		wa_reply_db_error(r, "Cannot update the bot configuration");
		goto out;
	}
	row = load(r, r->sess.id, NULL);
	if (!row) {
		wa_reply_db_error(r, "Database error");
		goto out;
	}
	wa_info("session %s: bot configuration updated by user %llu", r->sess.slug, (unsigned long long)r->user.id);
	wa_reply_json(r, 200, row);
	rc = 0;
out:
	for (i = 0; i < NFIELDS; i++) {
		free(jtext[i]);
		json_decref(jids[i]);
	}
	return rc;
}
