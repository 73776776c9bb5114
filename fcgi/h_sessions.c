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
#include "wa_log.h"
#include "wa_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The API shows three states; the engine stores finer ones. */
#define STATUS_SQL \
	"CASE s.status WHEN 'CONNECTED' THEN 'Connected' WHEN 'CONNECTING' THEN 'Connecting' " \
	"WHEN 'SCAN_QR' THEN 'Connecting' WHEN 'PAIRING' THEN 'Connecting' ELSE 'Disconnected' END"

#define SESSION_COLS \
	"CAST(s.id AS CHAR) AS id, s.name, s.session_id AS sessionId, " STATUS_SQL " AS status, " \
	"CAST(s.user_id AS CHAR) AS userId, s.created_at AS createdAt, s.updated_at AS updatedAt, " \
	"s.id AS _sid, " \
	"(SELECT COUNT(*) FROM contacts c WHERE c.wa_session_id = s.id) AS _contacts, " \
	"(SELECT COUNT(*) FROM messages m WHERE m.wa_session_id = s.id) AS _messages, " \
	"(SELECT COUNT(*) FROM wa_groups g WHERE g.wa_session_id = s.id AND g.left_at IS NULL) AS _groups, " \
	"(SELECT COUNT(*) FROM auto_replies a WHERE a.wa_session_id = s.id) AS _autoReplies, " \
	"(SELECT COUNT(*) FROM scheduled_messages x WHERE x.wa_session_id = s.id) AS _scheduled "

/* Turn the helper columns of SESSION_COLS into the API's nested members. */
static int shape_session(struct wa_req *r, json_t *row)
{
	uint64_t sid = (uint64_t)json_integer_value(json_object_get(row, "_sid"));
	json_t *bot = wa_bot_config_load(r, sid), *hooks = wa_webhooks_load(r, sid);

	if (!bot || !hooks) {
		json_decref(bot);
		json_decref(hooks);
		return -1;
	}
	json_object_set_new(row, "botConfig", bot);
	json_object_set_new(row, "webhooks", hooks);
	json_object_set_new(row, "_count", json_pack("{s:O,s:O,s:O,s:O,s:O}",
		"contacts", json_object_get(row, "_contacts"), "messages", json_object_get(row, "_messages"),
		"groups", json_object_get(row, "_groups"), "autoReplies", json_object_get(row, "_autoReplies"),
		"scheduledMessages", json_object_get(row, "_scheduled")));
	json_object_del(row, "_sid");
	json_object_del(row, "_contacts");
	json_object_del(row, "_messages");
	json_object_del(row, "_groups");
	json_object_del(row, "_autoReplies");
	json_object_del(row, "_scheduled");
	return 0;
}

int h_sessions_list(struct wa_req *r)
{
	json_t *rows, *row;
	size_t i;
	int super = r->user.role == WA_ROLE_SUPERADMIN, owner = r->user.role == WA_ROLE_OWNER;

	rows = wa_db_query(r->db,
		"SELECT " SESSION_COLS "FROM wa_sessions s WHERE ? = 1 OR (? = 1 AND s.user_id = ?) "
		"OR EXISTS (SELECT 1 FROM session_access sa WHERE sa.wa_session_id = s.id AND sa.user_id = ?) "
		"ORDER BY s.created_at, s.id", "bbuu", super, owner,
		(unsigned long long)r->user.id, (unsigned long long)r->user.id);
	if (!rows)
		return wa_reply_db_error(r, "Database error");
	json_array_foreach(rows, i, row)
		if (shape_session(r, row) < 0) {
			json_decref(rows);
			return wa_reply_db_error(r, "Database error");
		}
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

static json_t *load_one(struct wa_req *r, uint64_t id)
{
	json_t *row = wa_db_row(r->db, NULL, "SELECT " SESSION_COLS "FROM wa_sessions s WHERE s.id = ?", "u",
				(unsigned long long)id);

	if (row && shape_session(r, row) < 0) {
		json_decref(row);
		return NULL;
	}
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
	row = load_one(r, r->sess.id);
	if (!row)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_json(r, 200, row);
}

int h_session_get(struct wa_req *r)
{
	json_t *row = load_one(r, r->sess.id), *ex;

	if (!row)
		return wa_reply_db_error(r, "Database error");
	ex = wa_db_row(r->db, NULL,
		"SELECT IF(s.status = 'CONNECTED' AND s.connected_at IS NOT NULL, "
		"TIMESTAMPDIFF(SECOND, s.connected_at, CURRENT_TIMESTAMP(3)), 0) AS uptime, "
		"(s.engine_id IS NOT NULL AND s.lease_until > CURRENT_TIMESTAMP(3)) AS hasInstance, "
		"s.me_jid, s.me_lid, s.push_name, s.phone, s.config FROM wa_sessions s WHERE s.id = ?", "u",
		(unsigned long long)r->sess.id);
	if (!ex) {
		json_decref(row);
		return wa_reply_db_error(r, "Database error");
	}
	json_object_set(row, "uptime", json_object_get(ex, "uptime"));
	json_object_set(row, "messageCount", json_object_get(json_object_get(row, "_count"), "messages"));
	json_object_set_new(row, "hasInstance", json_boolean(json_integer_value(json_object_get(ex, "hasInstance"))));
	if (json_is_string(json_object_get(ex, "me_jid")))
		json_object_set_new(row, "me", json_pack("{s:O,s:O,s:O}", "id", json_object_get(ex, "me_jid"),
			"lid", json_object_get(ex, "me_lid"), "name", json_object_get(ex, "push_name")));
	else
		json_object_set_new(row, "me", json_null());
	if (json_is_string(json_object_get(ex, "config")))
		json_object_set_new(row, "config", json_loads(json_string_value(json_object_get(ex, "config")), 0, NULL));
	json_decref(ex);
	return wa_reply_json(r, 200, row);
}

int h_session_qr(struct wa_req *r)
{
	json_t *row;
	const char *qr;
	char *url;
	int err = 0;

	if (strcmp(r->sess.status, "CONNECTED") == 0)
		return wa_reply_error(r, 400, "Session is already connected", "already_connected");
	row = wa_db_row(r->db, &err,
			"SELECT qr FROM wa_sessions WHERE id = ? AND qr IS NOT NULL "
			"AND qr_updated_at > CURRENT_TIMESTAMP(3) - INTERVAL 60 SECOND", "u",
			(unsigned long long)r->sess.id);
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
		wa_db_exec(r->db, "UPDATE wa_sessions SET auto_start = 0 WHERE id = ?", "u", (unsigned long long)r->sess.id);
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
