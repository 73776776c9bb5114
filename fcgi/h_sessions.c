/* h_sessions: WhatsApp sessions as stored data (list, create, details,
 * settings, delete), the QR for pairing, and lifecycle actions that the
 * engine carries out.
 *
 * The engine claims sessions whose auto_start is set (lease in wa_sessions),
 * so creating a session needs no engine round trip: it is picked up as soon
 * as an engine runs. start/stop flip auto_start and tell the engine now. */
#include "fcgi/app.h"
#include "fcgi/auth.h"
#include "fcgi/db.h"
#include "fcgi/engine_client.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "fcgi/qrpng.h"
#include "wa_config.h"
#include "wa_log.h"
#include "wa_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The API shows three states; the engine stores finer ones. */
#define STATUS_SQL \
	"CASE s.status WHEN 'CONNECTED' THEN 'Connected' WHEN 'CONNECTING' THEN 'Connecting' " \
	"WHEN 'SCAN_QR' THEN 'Connecting' WHEN 'PAIRING' THEN 'Connecting' ELSE 'Disconnected' END"

/* The five counts come from session_counts k, kept by triggers
 * (db/migrations/0009_session_counts.sql); every SESSION_COLS statement
 * joins it through BOT_JOIN. */
#define COUNT_JOIN "LEFT JOIN session_counts k ON k.wa_session_id = s.id "

#define SESSION_COLS \
	"CAST(s.id AS CHAR) AS id, s.name, s.session_id AS sessionId, " STATUS_SQL " AS status, " \
	"CAST(s.user_id AS CHAR) AS userId, s.created_at AS createdAt, s.updated_at AS updatedAt, " \
	"s.id AS _sid, " \
	"CAST(COALESCE(k.contacts, 0) AS SIGNED) AS _contacts, CAST(COALESCE(k.messages, 0) AS SIGNED) AS _messages, " \
	"CAST(COALESCE(k.groups_, 0) AS SIGNED) AS _groups, " \
	"CAST(COALESCE(k.auto_replies, 0) AS SIGNED) AS _autoReplies, " \
	"CAST(COALESCE(k.scheduled, 0) AS SIGNED) AS _scheduled "

/* The session's botConfig as wa_bot_config_load() (h_bot.c) answers it --
 * the same columns, defaults and casts as its BOT_SELECT, each aliased
 * "bot.<field>" -- read with the session row through a LEFT JOIN of
 * bot_configs b, so that a list costs one statement for every session's
 * config instead of one per session. tests/api/test_automation.py checks
 * that both answers stay identical. */
#define BOT_COLS \
	", CAST(s.id AS CHAR) AS `bot.id`, CAST(s.id AS CHAR) AS `bot.sessionId`, " \
	"COALESCE(b.enabled, 1) AS `bot.enabled`, COALESCE(b.bot_name, 'WA-AKG Bot') AS `bot.botName`, " \
	"COALESCE(b.prefix, '#') AS `bot.prefix`, COALESCE(b.bot_mode, 'OWNER') AS `bot.botMode`, " \
	"COALESCE(b.bot_allowed_jids, '[]') AS `bot.botAllowedJids`, " \
	"COALESCE(b.bot_blocked_jids, '[]') AS `bot.botBlockedJids`, " \
	"COALESCE(b.auto_reply_mode, 'ALL') AS `bot.autoReplyMode`, " \
	"COALESCE(b.auto_reply_allowed_jids, '[]') AS `bot.autoReplyAllowedJids`, " \
	"COALESCE(b.auto_reply_blocked_jids, '[]') AS `bot.autoReplyBlockedJids`, " \
	"COALESCE(b.enable_sticker, 1) AS `bot.enableSticker`, " \
	"COALESCE(b.enable_video_sticker, 1) AS `bot.enableVideoSticker`, " \
	"CAST(COALESCE(b.max_sticker_duration, 10) AS SIGNED) AS `bot.maxStickerDuration`, " \
	"COALESCE(b.enable_ping, 1) AS `bot.enablePing`, COALESCE(b.enable_uptime, 1) AS `bot.enableUptime`, " \
	"b.remove_bg_api_key AS `bot.removeBgApiKey`, COALESCE(b.anti_spam_enabled, 0) AS `bot.antiSpamEnabled`, " \
	"CAST(COALESCE(b.spam_limit, 5) AS SIGNED) AS `bot.spamLimit`, " \
	"CAST(COALESCE(b.spam_interval, 10) AS SIGNED) AS `bot.spamInterval`, " \
	"CAST(COALESCE(b.spam_delay_min, 1000) AS SIGNED) AS `bot.spamDelayMin`, " \
	"CAST(COALESCE(b.spam_delay_max, 3000) AS SIGNED) AS `bot.spamDelayMax`, " \
	"COALESCE(b.welcome_enabled, 0) AS `bot.welcomeEnabled`, b.welcome_message AS `bot.welcomeMessage`, " \
	"COALESCE(b.auto_read, 0) AS `bot.autoRead`, COALESCE(b.always_online, 0) AS `bot.alwaysOnline`, " \
	"COALESCE(b.reject_calls, 0) AS `bot.rejectCalls`, " \
	"COALESCE(b.created_at, s.created_at) AS `bot.createdAt`, COALESCE(b.updated_at, s.updated_at) AS `bot.updatedAt`, " \
	"b.wa_session_id IS NOT NULL AS _bot "
#define BOT_JOIN "LEFT JOIN bot_configs b ON b.wa_session_id = s.id " COUNT_JOIN

/* The extra members of GET /api/sessions/{id}, from the same row. */
#define DETAIL_COLS \
	", IF(s.status = 'CONNECTED' AND s.connected_at IS NOT NULL, " \
	"TIMESTAMPDIFF(SECOND, s.connected_at, CURRENT_TIMESTAMP(3)), 0) AS _uptime, " \
	"(s.engine_id IS NOT NULL AND EXISTS (SELECT 1 FROM engines e WHERE e.id = s.engine_id " \
	"AND e.lease_until > CURRENT_TIMESTAMP(3))) AS _hasInstance, " \
	"s.me_jid AS _me_jid, s.me_lid AS _me_lid, s.push_name AS _push_name, s.config AS _config "

/* Sessions the caller sees: SUPERADMIN all (no condition, so no
 * session_access lookup either), OWNER own, anyone granted. */
#define VISIBLE \
	"WHERE (? = 1 AND s.user_id = ?) " \
	"OR EXISTS (SELECT 1 FROM session_access sa WHERE sa.wa_session_id = s.id AND sa.user_id = ?) "

/* The webhook columns of wa_webhooks_load() (h_webhooks.c's WH_SELECT),
 * plus the session they belong to, for all listed sessions at once. */
#define HOOK_COLS \
	"SELECT CAST(w.id AS CHAR) AS id, CAST(w.wa_session_id AS CHAR) AS sessionId, " \
	"CAST(w.user_id AS CHAR) AS userId, w.name, w.url, w.secret, w.events, w.is_active AS isActive, " \
	"w.created_at AS createdAt, w.updated_at AS updatedAt, w.wa_session_id AS _sid FROM webhooks w "
#define HOOK_JOIN "JOIN wa_sessions s ON s.id = w.wa_session_id "

/* Fields of botConfig that h_bot.c's shape() turns into booleans and lists. */
static const char *const bot_bools[] = {
	"enabled", "enableSticker", "enableVideoSticker", "enablePing", "enableUptime", "antiSpamEnabled",
	"welcomeEnabled", "autoRead", "alwaysOnline", "rejectCalls", NULL
};
static const char *const bot_lists[] = {
	"botAllowedJids", "botBlockedJids", "autoReplyAllowedJids", "autoReplyBlockedJids", NULL
};

/* Move the "bot.*" columns of a row into its botConfig member (null when
 * the session has no bot_configs row, as wa_bot_config_load() answers). */
static int shape_bot(json_t *row)
{
	json_t *bot = json_object(), *v;
	const char *k;
	void *tmp;
	int exists = json_is_true(json_object_get(row, "_bot")) ||
		     json_integer_value(json_object_get(row, "_bot")) != 0;

	if (!bot)
		return -1;
	json_object_foreach_safe(row, tmp, k, v) {
		if (strncmp(k, "bot.", 4) != 0)
			continue;
		json_object_set(bot, k + 4, v);
		json_object_del(row, k);
	}
	for (size_t i = 0; bot_bools[i]; i++)
		wa_row_bool_col(bot, bot_bools[i]);
	for (size_t i = 0; bot_lists[i]; i++)
		wa_row_json_col(bot, bot_lists[i], NULL);
	json_object_del(row, "_bot");
	if (!exists) {
		json_decref(bot);
		bot = json_null();
	}
	return json_object_set_new(row, "botConfig", bot);
}

/* Turn the helper columns of SESSION_COLS and BOT_COLS into the API's
 * nested members (webhooks are attached by attach_webhooks()). */
static int shape_session(json_t *row)
{
	static const char *const counts[] = { "_contacts", "_messages", "_groups", "_autoReplies", NULL };

	if (shape_bot(row) < 0 || json_object_set_new(row, "webhooks", json_array()) < 0)
		return -1;
	wa_row_nest(row, "_count", counts);
	json_object_set(json_object_get(row, "_count"), "scheduledMessages", json_object_get(row, "_scheduled"));
	json_object_del(row, "_scheduled");
	return json_object_get(row, "_count") ? 0 : -1;
}

/* Give every row of `rows` its webhooks: `hooks` (from HOOK_COLS, in
 * created order) distributed by session, through an index by _sid. */
static int attach_webhooks(json_t *rows, json_t *hooks)
{
	json_t *by_sid = json_object(), *row, *h;
	char key[24];
	size_t i;

	if (!by_sid)
		return -1;
	json_array_foreach(rows, i, row) {
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(row, "_sid")));
		json_object_set(by_sid, key, json_object_get(row, "webhooks"));
		json_object_del(row, "_sid");
	}
	json_array_foreach(hooks, i, h) {
		json_t *list;

		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(h, "_sid")));
		json_object_del(h, "_sid");
		wa_row_json_col(h, "events", NULL);
		list = json_object_get(by_sid, key);
		/* a session created after the list was read is not listed */
		if (list)
			json_array_append(list, h);
	}
	json_decref(by_sid);
	return 0;
}

int h_sessions_list(struct wa_req *r)
{
	json_t *rows, *row, *hooks;
	size_t i;
	int super = r->user.role == WA_ROLE_SUPERADMIN, owner = r->user.role == WA_ROLE_OWNER;
	unsigned long long uid = (unsigned long long)r->user.id;

	/* three statements for any number of sessions: the sessions with
	 * their counts and bot configs, then all their webhooks */
	rows = super ? wa_db_query(r->db, "SELECT " SESSION_COLS BOT_COLS "FROM wa_sessions s " BOT_JOIN
				   "ORDER BY s.created_at, s.id", "") :
		       wa_db_query(r->db, "SELECT " SESSION_COLS BOT_COLS "FROM wa_sessions s " BOT_JOIN VISIBLE
				   "ORDER BY s.created_at, s.id", "buu", owner, uid, uid);
	if (!rows)
		return wa_reply_db_error(r, "Database error");
	json_array_foreach(rows, i, row)
		if (shape_session(row) < 0) {
			json_decref(rows);
			return wa_reply_error(r, 500, "Out of memory", NULL);
		}
	if (!json_array_size(rows))
		hooks = json_array();
	else if (super)
		hooks = wa_db_query(r->db, HOOK_COLS "ORDER BY w.created_at, w.id", "");
	else
		hooks = wa_db_query(r->db, HOOK_COLS HOOK_JOIN VISIBLE "ORDER BY w.created_at, w.id", "buu", owner, uid,
				    uid);
	if (!hooks || attach_webhooks(rows, hooks) < 0) {
		json_decref(hooks);
		json_decref(rows);
		return wa_reply_db_error(r, "Database error");
	}
	json_decref(hooks);
	return wa_reply_json(r, 200, rows);
}

static int valid_slug(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
	return 1;
}

static void slugify(const char *name, char *out, size_t len)
{
	size_t o = 0;
	int dash = 0;

	for (const char *p = name; *p && o + 1 < len && o < 40; p++) {
		if (isalnum((unsigned char)*p)) {
			out[o++] = (char)tolower((unsigned char)*p);
			dash = 0;
		} else if (o && !dash) {
			out[o++] = '-';
			dash = 1;
		}
	}
	while (o && out[o - 1] == '-')
		o--;
	out[o] = '\0';
	if (!o)
		snprintf(out, len, "session");
}

/* One session as the list shows it (details: with the DETAIL_COLS helper
 * columns too): two statements, the row and its webhooks. */
static json_t *load_one(struct wa_req *r, uint64_t id, int details)
{
	json_t *row, *rows, *hooks;

	row = details ?
	      wa_db_row(r->db, NULL, "SELECT " SESSION_COLS BOT_COLS DETAIL_COLS "FROM wa_sessions s " BOT_JOIN
			"WHERE s.id = ?", "u", (unsigned long long)id) :
	      wa_db_row(r->db, NULL, "SELECT " SESSION_COLS BOT_COLS "FROM wa_sessions s " BOT_JOIN
			"WHERE s.id = ?", "u", (unsigned long long)id);
	if (!row)
		return NULL;
	rows = json_array();
	hooks = wa_db_query(r->db, HOOK_COLS "WHERE w.wa_session_id = ? ORDER BY w.created_at, w.id", "u",
			    (unsigned long long)id);
	if (!rows || !hooks || json_array_append(rows, row) < 0 || shape_session(row) < 0 ||
	    attach_webhooks(rows, hooks) < 0) {
		json_decref(rows);
		json_decref(hooks);
		json_decref(row);
		return NULL;
	}
	json_decref(rows);
	json_decref(hooks);
	return row;
}

int h_sessions_create(struct wa_req *r)
{
	const char *name, *slug;
	char gen[80], base[48], sfx[9];
	json_t *row;
	int explicit, tries = 0;

	if (r->user.role == WA_ROLE_STAFF)
		return wa_reply_error(r, 403, "STAFF users cannot create sessions; ask an OWNER to share one",
				      "forbidden");
	if (wa_req_json(r, 0) < 0)
		return -1;
	name = json_string_value(json_object_get(r->json, "name"));
	if (!name || !*name || strlen(name) > 255)
		return wa_reply_error(r, 400, "'name' is required (1-255 characters)", "validation_error");
	slug = json_string_value(json_object_get(r->json, "sessionId"));
	if (json_object_get(r->json, "sessionId") && !json_is_null(json_object_get(r->json, "sessionId")) &&
	    (!slug || !valid_slug(slug)))
		return wa_reply_error(r, 400, "'sessionId' must be 1-64 letters, digits, '-' or '_'",
				      "validation_error");
	explicit = slug != NULL;
	if (!explicit) {
		slugify(name, base, sizeof base);
		snprintf(gen, sizeof gen, "%s", base);
		slug = gen;
	}
	for (;;) {
		if (wa_db_exec(r->db, "INSERT INTO wa_sessions (session_id, name, user_id) VALUES (?, ?, ?)", "ssu",
			       slug, name, (unsigned long long)r->user.id) >= 0)
			break;
		if (wa_db_errno(r->db) != WA_DB_DUPLICATE)
			return wa_reply_db_error(r, "Cannot create the session");
		if (explicit)
			return wa_reply_errorf(r, 409, "conflict", "A session with sessionId '%s' already exists", slug);
		if (++tries > 5 || wa_random_hex(sfx, 3) < 0)
			return wa_reply_error(r, 500, "Cannot pick a free sessionId", NULL);
		snprintf(gen, sizeof gen, "%s-%s", base, sfx);
	}
	r->sess.id = r->db->last_insert_id;
	if (wa_db_exec(r->db, "INSERT IGNORE INTO bot_configs (wa_session_id) VALUES (?)", "u",
		       (unsigned long long)r->sess.id) < 0)
		wa_warn("session %s: default bot config not created", slug);
	wa_info("session %s created by user %llu", slug, (unsigned long long)r->user.id);
	row = load_one(r, r->sess.id, 0);
	if (!row)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_json(r, 200, row);
}

int h_session_get(struct wa_req *r)
{
	static const char *const helpers[] = { "_uptime", "_hasInstance", "_me_jid", "_me_lid", "_push_name",
					       "_config", NULL };
	json_t *row = load_one(r, r->sess.id, 1), *v;

	if (!row)
		return wa_reply_db_error(r, "Database error");
	json_object_set(row, "uptime", json_object_get(row, "_uptime"));
	json_object_set(row, "messageCount", json_object_get(json_object_get(row, "_count"), "messages"));
	v = json_object_get(row, "_hasInstance");
	json_object_set_new(row, "hasInstance", json_boolean(json_is_true(v) || json_integer_value(v)));
	if (json_is_string(json_object_get(row, "_me_jid")))
		json_object_set_new(row, "me", json_pack("{s:O,s:O,s:O}", "id", json_object_get(row, "_me_jid"),
			"lid", json_object_get(row, "_me_lid"), "name", json_object_get(row, "_push_name")));
	else
		json_object_set_new(row, "me", json_null());
	if (json_is_string(json_object_get(row, "_config")))
		json_object_set_new(row, "config", json_loads(json_string_value(json_object_get(row, "_config")), 0, NULL));
	for (size_t i = 0; helpers[i]; i++)
		json_object_del(row, helpers[i]);
	return wa_reply_json(r, 200, row);
}

int h_session_qr(struct wa_req *r)
{
	json_t *row;
	const char *qr;
	char *url;
	int err = 0;
	long first = 60000, next = 20000;
	char cerr[160];

	if (strcmp(r->sess.status, "CONNECTED") == 0)
		return wa_reply_error(r, 400, "Session is already connected", "already_connected");
	/* a stored QR older than the longest a ref is shown (the engine's
	 * whatsapp.qr_*_timeout_ms) and a few seconds is a dead engine's */
	(void)wa_config_get_int(r->app->cfg, "whatsapp.qr_first_timeout_ms", 1000, 600000, &first, cerr, sizeof cerr);
	(void)wa_config_get_int(r->app->cfg, "whatsapp.qr_next_timeout_ms", 1000, 600000, &next, cerr, sizeof cerr);
	row = wa_db_row(r->db, &err,
			"SELECT qr FROM wa_sessions WHERE id = ? AND qr IS NOT NULL "
			"AND qr_updated_at > CURRENT_TIMESTAMP(3) - INTERVAL ? MICROSECOND", "ui",
			(unsigned long long)r->sess.id, (long long)((first > next ? first : next) + 5000) * 1000);
	if (err)
		return wa_reply_db_error(r, "Database error");
	qr = row ? json_string_value(json_object_get(row, "qr")) : NULL;
	if (!qr) {
		json_decref(row);
		return wa_reply_error(r, 404, "QR not available yet: start the session and retry in a few seconds",
				      "qr_not_available");
	}
	url = wa_qr_png_data_url(qr, 6);
	if (!url) {
		json_decref(row);
		return wa_reply_error(r, 500, "Cannot render the QR code", NULL);
	}
	wa_reply_ok(r, 200, "QR code generated", json_pack("{s:b,s:s,s:s}", "success", 1, "qr", qr, "base64", url));
	free(url);
	json_decref(row);
	return 0;
}

int h_session_action(struct wa_req *r)
{
	const char *action = wa_req_path_param(r, "action");
	char op[32];
	json_t *body = NULL;
	int status;

	if (!action || (strcmp(action, "start") && strcmp(action, "stop") && strcmp(action, "restart") &&
			strcmp(action, "logout")))
		return wa_reply_errorf(r, 400, "invalid_action",
				       "Invalid action '%.40s': use start, stop, restart or logout", action ? action : "");
	if (strcmp(action, "start") == 0 || strcmp(action, "restart") == 0)
		wa_db_exec(r->db, "UPDATE wa_sessions SET auto_start = 1 WHERE id = ?", "u", (unsigned long long)r->sess.id);
	else if (strcmp(action, "stop") == 0)
		/* no engine holds it: nobody else will say it stopped */
		wa_db_exec(r->db, "UPDATE wa_sessions SET auto_start = 0, status = IF(engine_id IS NULL OR "
			   "NOT EXISTS (SELECT 1 FROM engines e WHERE e.id = wa_sessions.engine_id AND "
			   "e.lease_until > NOW(3)), 'STOPPED', status) WHERE id = ?", "u",
			   (unsigned long long)r->sess.id);
	snprintf(op, sizeof op, "session.%s", action);
	status = wa_engine_call(r, op, NULL, &body);
	if (status >= 200 && status < 300) {
		char msg[64];

		snprintf(msg, sizeof msg, "Session %s requested", action);
		return wa_reply_ok(r, 200, msg, body);
	}
	json_decref(body);
	if (status == 503)
		return wa_reply_error(r, 503, strcmp(action, "start") == 0 ?
				      "No WhatsApp engine is running; the session starts when one does" :
				      WA_MSG_NOT_READY, "engine_unavailable");
	if (status == 504)
		return wa_reply_error(r, 504, "The WhatsApp engine did not answer in time", NULL);
	return wa_reply_errorf(r, 500, "action_failed", "Session action '%s' failed", action);
}

int h_session_settings(struct wa_req *r)
{
	json_t *cfg;
	char *s;
	json_t *row;

	if (wa_req_json(r, 0) < 0)
		return -1;
	cfg = json_object_get(r->json, "config");
	if (!json_is_object(cfg))
		return wa_reply_error(r, 400, "'config' must be an object", "validation_error");
	s = json_dumps(cfg, JSON_COMPACT);
	if (!s)
		return wa_reply_error(r, 500, "Out of memory", NULL);
	if (wa_db_exec(r->db, "UPDATE wa_sessions SET config = JSON_MERGE_PATCH(COALESCE(config, '{}'), ?) "
		       "WHERE id = ?", "su", s, (unsigned long long)r->sess.id) < 0) {
		free(s);
		return wa_reply_db_error(r, "Cannot update the settings");
	}
	free(s);
	row = wa_db_row(r->db, NULL, "SELECT config FROM wa_sessions WHERE id = ?", "u", (unsigned long long)r->sess.id);
	cfg = row && json_is_string(json_object_get(row, "config")) ?
	      json_loads(json_string_value(json_object_get(row, "config")), 0, NULL) : json_object();
	json_decref(row);
	return wa_reply_ok(r, 200, "Settings updated", json_pack("{s:s,s:o}", "sessionId", r->sess.slug, "config",
								  cfg ? cfg : json_object()));
}

/* Signal key tables (0002_signal_store.sql) are keyed by session_key, the
 * session's internal id in decimal, and have no foreign keys: remove them
 * with the session so no private key outlives it. */
int wa_session_purge_keys(struct wa_db *db, uint64_t wa_session_id)
{
	static const char *const sql[] = {
		"DELETE FROM signal_identity_local WHERE session_key = ?",
		"DELETE FROM signal_identity WHERE session_key = ?",
		"DELETE FROM signal_prekey WHERE session_key = ?",
		"DELETE FROM signal_signed_prekey WHERE session_key = ?",
		"DELETE FROM signal_session WHERE session_key = ?",
		"DELETE FROM signal_sender_key WHERE session_key = ?",
	};
	char key[24];

	snprintf(key, sizeof key, "%llu", (unsigned long long)wa_session_id);
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
		if (wa_db_exec(db, sql[i], "s", key) < 0)
			return -1;
	return 0;
}

int h_session_delete(struct wa_req *r)
{
	json_t *body = NULL, *files;
	size_t removed;
	int status;

	/* Log out first if an engine holds the session; when none runs the
	 * engine that later sees the row gone has nothing to log out. */
	status = wa_engine_call(r, "session.logout", NULL, &body);
	json_decref(body);
	if (status != 200 && status != 503)
		wa_warn("session %s: logout before delete answered %d", r->sess.slug, status);
	/* The files the session's rows name are listed first and removed after
	 * the commit (a failed delete must not lose files). */
	files = wa_db_query(r->db,
		"SELECT filename AS f FROM media_files WHERE wa_session_id = ? "
		"UNION SELECT media_path FROM messages WHERE media_path IS NOT NULL AND wa_session_id = ? "
		"LIMIT 1000000", "uu", (unsigned long long)r->sess.id, (unsigned long long)r->sess.id);
	if (!files || wa_db_begin(r->db) < 0 || wa_session_purge_keys(r->db, r->sess.id) < 0 ||
	    wa_db_exec(r->db, "DELETE FROM wa_sessions WHERE id = ?", "u", (unsigned long long)r->sess.id) < 0 ||
	    wa_db_commit(r->db) < 0) {
		wa_db_rollback(r->db);
		json_decref(files);
		return wa_reply_db_error(r, "Cannot delete the session");
	}
	removed = wa_media_remove_unreferenced(r, files);
	json_decref(files);
	wa_info("session %s deleted by user %llu (%zu media files removed)", r->sess.slug,
		(unsigned long long)r->user.id, removed);
	return wa_reply_ok(r, 200, "Session deleted", NULL);
}

/* POST /api/sessions/{id}/pair {"phoneNumber"}: pairing by phone-number
 * code instead of the QR (beyond the reference; docs/api.md). A stopped
 * session is started first; the engine that takes it up asks WhatsApp for
 * the code as soon as the registration connection is open, which can take
 * a moment, hence the short retry while no engine holds it yet. */
int h_session_pair(struct wa_req *r)
{
	const char *phone;
	char digits[WA_PHONE_MAX];
	json_t *args, *body = NULL;
	int status = 503;

	if (wa_req_json(r, 0) < 0)
		return -1;
	phone = json_string_value(json_object_get(r->json, "phoneNumber"));
	if (!phone || wa_phone_digits(phone, digits) != 0)
		return wa_reply_error(r, 400, "'phoneNumber' is required: the account's full number in international "
				      "form, 6 to 15 digits, e.g. \"491512345678\"", "validation_error");
	if (strcmp(r->sess.status, "CONNECTED") == 0)
		return wa_reply_error(r, 400, "Session is already connected", "already_connected");
	if (wa_db_exec(r->db, "UPDATE wa_sessions SET auto_start = 1 WHERE id = ?", "u",
		       (unsigned long long)r->sess.id) < 0)
		return wa_reply_db_error(r, "Cannot start the session");
	args = json_pack("{s:s}", "phoneNumber", digits);
	if (!args)
		return wa_reply_error(r, 500, "Out of memory", NULL);
	for (int attempt = 0; attempt < 10; attempt++) {
		json_decref(body);
		body = NULL;
		status = wa_engine_call(r, "session.pair", args, &body);
		if (status != 503 || !body || !json_is_string(json_object_get(body, "error")) ||
		    strcmp(json_string_value(json_object_get(body, "error")), "not_owner") != 0)
			break;
		/* no engine holds the session yet: have one take it up now */
		if (attempt == 0) {
			json_t *b2 = NULL;

			wa_engine_call(r, "session.start", NULL, &b2);
			json_decref(b2);
		}
		usleep(300 * 1000);
	}
	json_decref(args);
	if (status == 200) {
		json_t *code = json_object_get(body, "pairingCode");
		int rc = wa_reply_ok(r, 200, "Pairing code generated: enter it on the phone under Linked devices",
				     json_pack("{s:O}", "pairingCode", code ? code : json_null()));

		json_decref(body);
		return rc;
	}
	return wa_reply_engine_error(r, status, body);
}
