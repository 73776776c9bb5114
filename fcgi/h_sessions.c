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
#include "fcgi/jbuf.h"
#include "fcgi/qrpng.h"
#include "fcgi/sesscache.h"
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
 * (db/migrations/0014_session_counts.sql), as cnt; every SESSION_COLS statement
 * joins it through BOT_JOIN (k is the credential statement's api_keys). */
#define COUNT_JOIN "LEFT JOIN session_counts cnt ON cnt.wa_session_id = s.id "

#define SESSION_COLS \
	"CAST(s.id AS CHAR) AS id, s.name, s.session_id AS sessionId, " STATUS_SQL " AS status, " \
	"CAST(s.user_id AS CHAR) AS userId, s.created_at AS createdAt, s.updated_at AS updatedAt, " \
	"s.id AS _sid, " \
	"CAST(COALESCE(cnt.contacts, 0) AS SIGNED) AS _contacts, CAST(COALESCE(cnt.messages, 0) AS SIGNED) AS _messages, " \
	"CAST(COALESCE(cnt.groups_, 0) AS SIGNED) AS _groups, " \
	"CAST(COALESCE(cnt.auto_replies, 0) AS SIGNED) AS _autoReplies, " \
	"CAST(COALESCE(cnt.scheduled, 0) AS SIGNED) AS _scheduled, " \
	"CAST(COALESCE(cnt.cfg_ver, 0) AS UNSIGNED) AS _cfg_ver "

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
 * each aliased "w.<field>", read with the session row through a LEFT JOIN:
 * a session with k webhooks comes as k rows (one with w.id NULL when it has
 * none), so the list and the details are one statement for any number of
 * sessions and webhooks. */
#define HOOK_COLS \
	", CAST(w.id AS CHAR) AS `w.id`, CAST(w.wa_session_id AS CHAR) AS `w.sessionId`, " \
	"CAST(w.user_id AS CHAR) AS `w.userId`, w.name AS `w.name`, w.url AS `w.url`, w.secret AS `w.secret`, " \
	"w.events AS `w.events`, w.is_active AS `w.isActive`, w.created_at AS `w.createdAt`, " \
	"w.updated_at AS `w.updatedAt` "
#define HOOK_JOIN "LEFT JOIN webhooks w ON w.wa_session_id = s.id "
/* No ORDER BY: with the LONGTEXT columns of b and w, MariaDB sorts the
 * joined rows through an on-disk temporary table (about a millisecond for
 * any number of rows). write_sessions() orders the rows itself, by session
 * (created_at, id), then webhook (created_at, id). */

/* With the session cache (fcgi/sesscache.h) a request reads only
 * SESSION_COLS [DETAIL_COLS] through COUNT_JOIN -- one row per session --
 * and writes each session's botConfig and webhooks from the text cached
 * under the _cfg_ver it read; on a miss it reads the full statement, whose
 * rendering stores the text under the _cfg_ver read with it. */

/* Fields of botConfig that h_bot.c's shape() turns into booleans and lists. */
static const char *const bot_bools[] = {
	"enabled", "enableSticker", "enableVideoSticker", "enablePing", "enableUptime", "antiSpamEnabled",
	"welcomeEnabled", "autoRead", "alwaysOnline", "rejectCalls", NULL
};
static const char *const bot_lists[] = {
	"botAllowedJids", "botBlockedJids", "autoReplyAllowedJids", "autoReplyBlockedJids", NULL
};

static int in_list(const char *const *list, const char *k)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], k) == 0)
			return 1;
	return 0;
}

/* What a result column becomes in a session object. */
enum role { R_NONE, R_SKIP, R_TOP, R_BOT, R_BOT_BOOL, R_BOT_JSON, R_HOOK, R_HOOK_JSON };

#define MAX_COLS 96

/* A result row's place in the answer: session (created_at, id), then
 * webhook (created_at, id; a session's row without one first). DATETIME
 * text sorts as the time does. */
struct order {
	const char *s_at, *w_at;
	unsigned long long sid, wid;
	size_t row;
};

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_order(const void *pa, const void *pb)
{
	const struct order *a = pa, *b = pb;
	int c = cmp_str(a->s_at, b->s_at);

	if (c)
		return c;
	if (a->sid != b->sid)
		return a->sid < b->sid ? -1 : 1;
	if ((c = cmp_str(a->w_at, b->w_at)) != 0)
		return c;
	if (a->wid != b->wid)
		return a->wid < b->wid ? -1 : 1;
	return 0;
}

static unsigned long long num(const char *v)
{
	return v ? strtoull(v, NULL, 10) : 0;
}

/* Write the members of one object: the columns of `row` whose role is
 * `plain` or its boolean/JSON variant (R_NONE: there is none), keys
 * without their `skip`-byte prefix. */
static void write_members(struct wa_jbuf *jb, const struct wa_db_text *t, const unsigned char *role, size_t row,
			  enum role plain, enum role as_bool, enum role as_json, size_t skip)
{
	int n = 0;

	for (unsigned c = 0; c < t->ncols; c++) {
		if (role[c] == R_NONE || role[c] == R_SKIP ||
		    (role[c] != plain && role[c] != as_bool && role[c] != as_json))
			continue;
		if (n++)
			wa_jb_raw(jb, ",", 1);
		wa_jb_key(jb, t->names[c] + skip);
		if (role[c] == as_bool)
			wa_jb_cell_bool(jb, t, row, (int)c);
		else if (role[c] == as_json)
			wa_jb_cell_json(jb, t, row, (int)c, "[]");
		else
			wa_jb_cell(jb, t, row, (int)c);
	}
}

/* The sessions of a SESSION_COLS BOT_COLS [DETAIL_COLS] HOOK_COLS result
 * (ordered by session, then webhook) in the API's shape: the session's
 * own members, botConfig (null without a bot_configs row, as
 * wa_bot_config_load() answers), webhooks, _count, and with `details` the
 * extra members of GET /api/sessions/{id}; each session's botConfig and
 * webhooks text is stored in the session cache under its _cfg_ver. Of a
 * light result (SESSION_COLS [DETAIL_COLS], no bot or webhook columns) the
 * same, with botConfig and webhooks from the cache. Columns before `from`
 * are not the session's (the credentials read with it). An array when
 * `array`, else the first session alone. 0; 1 when a light result's
 * session is not in the cache (jb then holds a partial answer); -1 on an
 * unexpected result or out of memory. */
#define SESS_MISS 1
static int write_sessions(struct wa_jbuf *jb, const struct wa_db_text *t, unsigned from, int array, int details)
{
	static const char *const counts[] = { "contacts", "messages", "groups", "autoReplies", "scheduledMessages" };
	unsigned char role[MAX_COLS];
	int c_sid = wa_db_text_col(t, "_sid"), c_bot = wa_db_text_col(t, "_bot"), c_wid = wa_db_text_col(t, "w.id");
	int c_cnt[5] = { wa_db_text_col(t, "_contacts"), wa_db_text_col(t, "_messages"), wa_db_text_col(t, "_groups"),
			 wa_db_text_col(t, "_autoReplies"), wa_db_text_col(t, "_scheduled") };
	size_t i = 0;

	int c_at = -1, c_wat = wa_db_text_col(t, "w.createdAt"), c_ver = wa_db_text_col(t, "_cfg_ver");
	int light = c_bot < 0;
	struct order *ord;

	if (t->ncols > MAX_COLS || c_sid < 0 || c_ver < 0 || (!light && (c_wid < 0 || c_wat < 0)))
		return -1;
	for (unsigned c = from; c < t->ncols && c_at < 0; c++)
		if (strcmp(t->names[c], "createdAt") == 0)
			c_at = (int)c;
	ord = malloc((t->nrows ? t->nrows : 1) * sizeof *ord);
	if (c_at < 0 || !ord) {
		free(ord);
		return -1;
	}
	for (size_t k = 0; k < t->nrows; k++) {
		ord[k].s_at = wa_db_text_val(t, k, c_at, NULL);
		ord[k].sid = num(wa_db_text_val(t, k, c_sid, NULL));
		ord[k].w_at = light ? NULL : wa_db_text_val(t, k, c_wat, NULL);
		ord[k].wid = light ? 0 : num(wa_db_text_val(t, k, c_wid, NULL));
		ord[k].row = k;
	}
	qsort(ord, t->nrows, sizeof *ord, cmp_order);
	for (unsigned c = 0; c < t->ncols; c++) {
		const char *k = t->names[c];

		if (c < from)
			role[c] = R_NONE;
		else if (k[0] == '_')
			role[c] = R_SKIP;
		else if (strncmp(k, "bot.", 4) == 0)
			role[c] = in_list(bot_bools, k + 4) ? R_BOT_BOOL : in_list(bot_lists, k + 4) ? R_BOT_JSON : R_BOT;
		else if (strncmp(k, "w.", 2) == 0)
			role[c] = strcmp(k + 2, "events") == 0 ? R_HOOK_JSON : R_HOOK;
		else
			role[c] = R_TOP;
	}
	if (array)
		wa_jb_raw(jb, "[", 1);
	while (i < t->nrows) {
		size_t first = ord[i].row, cfg_at;
		unsigned long long sid = ord[i].sid, ver = num(wa_db_text_val(t, first, c_ver, NULL));
		int nh = 0;

		if (i)
			wa_jb_raw(jb, ",", 1);
		wa_jb_raw(jb, "{", 1);
		write_members(jb, t, role, first, R_TOP, R_NONE, R_NONE, 0);
		cfg_at = jb->len;
		if (light) {
			if (!wa_sessc_get(sid, ver, jb)) {
				free(ord);
				return SESS_MISS;
			}
			i++;
		} else {
			const char *bot = wa_db_text_val(t, first, c_bot, NULL);

			wa_jb_lit(jb, ",\"botConfig\":");
			if (bot && bot[0] != '0') {
				wa_jb_raw(jb, "{", 1);
				write_members(jb, t, role, first, R_BOT, R_BOT_BOOL, R_BOT_JSON, 4);
				wa_jb_raw(jb, "}", 1);
			} else {
				wa_jb_lit(jb, "null");
			}
			wa_jb_lit(jb, ",\"webhooks\":[");
			for (; i < t->nrows && ord[i].sid == sid; i++) {
				if (!wa_db_text_val(t, ord[i].row, c_wid, NULL))
					continue;
				if (nh++)
					wa_jb_raw(jb, ",", 1);
				wa_jb_raw(jb, "{", 1);
				write_members(jb, t, role, ord[i].row, R_HOOK, R_NONE, R_HOOK_JSON, 2);
				wa_jb_raw(jb, "}", 1);
			}
			wa_jb_raw(jb, "]", 1);
			if (!jb->oom)
				wa_sessc_put(sid, ver, jb->buf + cfg_at, jb->len - cfg_at);
		}
		wa_jb_lit(jb, ",\"_count\":{");
		for (int n = 0; n < 5; n++) {
			if (n)
				wa_jb_raw(jb, ",", 1);
			wa_jb_key(jb, counts[n]);
			wa_jb_cell(jb, t, first, c_cnt[n]);
		}
		wa_jb_raw(jb, "}", 1);
		if (details) {
			int c_jid = wa_db_text_col(t, "_me_jid"), c_cfg = wa_db_text_col(t, "_config");

			wa_jb_lit(jb, ",\"uptime\":");
			wa_jb_cell(jb, t, first, wa_db_text_col(t, "_uptime"));
			wa_jb_lit(jb, ",\"messageCount\":");
			wa_jb_cell(jb, t, first, c_cnt[1]);
			wa_jb_lit(jb, ",\"hasInstance\":");
			wa_jb_cell_bool(jb, t, first, wa_db_text_col(t, "_hasInstance"));
			wa_jb_lit(jb, ",\"me\":");
			if (wa_db_text_val(t, first, c_jid, NULL)) {
				wa_jb_lit(jb, "{\"id\":");
				wa_jb_cell(jb, t, first, c_jid);
				wa_jb_lit(jb, ",\"lid\":");
				wa_jb_cell(jb, t, first, wa_db_text_col(t, "_me_lid"));
				wa_jb_lit(jb, ",\"name\":");
				wa_jb_cell(jb, t, first, wa_db_text_col(t, "_push_name"));
				wa_jb_raw(jb, "}", 1);
			} else {
				wa_jb_lit(jb, "null");
			}
			if (wa_db_text_val(t, first, c_cfg, NULL)) {
				wa_jb_lit(jb, ",\"config\":");
				wa_jb_cell_json(jb, t, first, c_cfg, "{}");
			}
		}
		wa_jb_raw(jb, "}", 1);
		if (!array)
			break;
	}
	if (array)
		wa_jb_raw(jb, "]", 1);
	free(ord);
	return jb->oom ? -1 : 0;
}

/* Reply with the sessions of t (see write_sessions); frees t. SESS_MISS
 * (nothing replied) when t is a light result with a session the cache
 * does not hold: the caller reads the full statement instead. */
static int reply_sessions(struct wa_req *r, struct wa_db_text *t, unsigned from, int array, int details)
{
	struct wa_jbuf jb = { 0 };
	int rc = write_sessions(&jb, t, from, array, details);

	wa_db_text_free(t);
	if (rc != 0) {
		int oom = jb.oom;

		wa_jb_free(&jb);
		if (rc == SESS_MISS)
			return SESS_MISS;
		return wa_reply_error(r, 500, oom ? "Out of memory" : "Unexpected session row", NULL);
	}
	rc = wa_reply_raw(r, 200, "application/json; charset=utf-8", jb.buf, jb.len);
	wa_jb_free(&jb);
	return rc;
}

int h_sessions_list(struct wa_req *r)
{
	struct wa_db_text t;
	int super = r->user.role == WA_ROLE_SUPERADMIN, owner = r->user.role == WA_ROLE_OWNER;
	unsigned long long uid = (unsigned long long)r->user.id;
	int rc;

	/* one statement for any number of sessions, written out as it is
	 * read: the sessions with their counts, and their bot configs and
	 * webhooks from the cache; when one is not there (or the cache is
	 * off), the statement that reads them too */
	if (wa_sessc_enabled()) {
		rc = super ? wa_db_text_query(r->db, &t, "SELECT " SESSION_COLS "FROM wa_sessions s " COUNT_JOIN, "") :
			     wa_db_text_query(r->db, &t, "SELECT " SESSION_COLS "FROM wa_sessions s " COUNT_JOIN VISIBLE,
					      "buu", owner, uid, uid);
		if (rc < 0)
			return wa_reply_db_error(r, "Database error");
		if ((rc = reply_sessions(r, &t, 0, 1, 0)) != SESS_MISS)
			return rc;
	}
	rc = super ? wa_db_text_query(r->db, &t, "SELECT " SESSION_COLS BOT_COLS HOOK_COLS "FROM wa_sessions s "
				      BOT_JOIN HOOK_JOIN, "") :
		     wa_db_text_query(r->db, &t, "SELECT " SESSION_COLS BOT_COLS HOOK_COLS "FROM wa_sessions s "
				      BOT_JOIN HOOK_JOIN VISIBLE, "buu", owner,
				      uid, uid);
	if (rc < 0)
		return wa_reply_db_error(r, "Database error");
	return reply_sessions(r, &t, 0, 1, 0);
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

/* Reply with one session as the list shows it (details: with the
 * DETAIL_COLS members too), from one statement that reads its bot config
 * and webhooks too (and so refreshes the cache); 404 when it is gone. */
static int reply_one(struct wa_req *r, uint64_t id, int details)
{
	struct wa_db_text t;
	int rc;

	rc = details ? wa_db_text_query(r->db, &t, "SELECT " SESSION_COLS BOT_COLS DETAIL_COLS HOOK_COLS
					"FROM wa_sessions s " BOT_JOIN HOOK_JOIN "WHERE s.id = ?",
					"u", (unsigned long long)id) :
		       wa_db_text_query(r->db, &t, "SELECT " SESSION_COLS BOT_COLS HOOK_COLS
					"FROM wa_sessions s " BOT_JOIN HOOK_JOIN "WHERE s.id = ?",
					"u", (unsigned long long)id);
	if (rc < 0)
		return wa_reply_db_error(r, "Database error");
	if (!t.nrows) {
		wa_db_text_free(&t);
		return wa_reply_error(r, 404, "Session not found", "session_not_found");
	}
	rc = reply_sessions(r, &t, 0, 0, details);
	return rc == SESS_MISS ? wa_reply_error(r, 500, "Unexpected session row", NULL) : rc;
}

int h_sessions_create(struct wa_req *r)
{
	const char *name, *slug;
	char gen[80], base[48], sfx[9];
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
	return reply_one(r, r->sess.id, 0);
}

int h_session_identify(struct wa_req *r, const char *ident)
{
	r->rows = calloc(1, sizeof *r->rows);
	if (!r->rows)
		return -1;
	if (wa_sessc_enabled())
		return wa_auth_identify_rows(r, ident, SESSION_COLS DETAIL_COLS, COUNT_JOIN, "", r->rows,
					     &r->rows_from);
	return wa_auth_identify_rows(r, ident, SESSION_COLS BOT_COLS DETAIL_COLS HOOK_COLS, BOT_JOIN HOOK_JOIN,
				     "", r->rows, &r->rows_from);
}

int h_session_get(struct wa_req *r)
{
	/* read with the credentials (h_session_identify), unless signed in
	 * by cookie: the session is r->sess, its access already checked; its
	 * bot config and webhooks from the cache, else read now */
	if (r->rows && r->rows->nrows) {
		int rc = reply_sessions(r, r->rows, r->rows_from, 0, 1);

		if (rc != SESS_MISS)
			return rc;
	}
	return reply_one(r, r->sess.id, 1);
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
