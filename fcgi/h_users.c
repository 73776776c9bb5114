/* h_users: user administration (SUPERADMIN only; the dispatcher checked the
 * role) and the caller's own API key.
 *
 * Rules beyond the reference, to keep the gateway administrable: nobody
 * deletes their own account here, and the last SUPERADMIN can be neither
 * deleted nor demoted. A password change ends the user's web logins.
 * Deleting a user also removes the media files of their uploads and of the
 * sessions they own (the database cascades only remove rows).
 * API keys: only the SHA-256 and the first characters are stored, so GET
 * shows a masked key and POST is the only moment the full key is seen. */
#include "fcgi/app.h"
#include "fcgi/auth.h"
#include "fcgi/db.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "wa_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define USER_COLS "CAST(u.id AS CHAR) AS id, u.name, u.email, u.role, u.created_at AS createdAt"

static const struct wa_field f_user_create[] = {
	{ "name", WA_F_STR, 1, "255" },
	{ "email", WA_F_STR, 1, "254" },
	{ "password", WA_F_STR, 1, "200" },
	{ "role", WA_F_ENUM, 0, "SUPERADMIN|OWNER|STAFF" },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_user_update[] = {
	{ "name", WA_F_STR, 0, "255" },
	{ "email", WA_F_STR, 0, "254" },
	{ "password", WA_F_STR, 0, "200" },
	{ "role", WA_F_ENUM, 0, "SUPERADMIN|OWNER|STAFF" },
	{ NULL, WA_F_END, 0, NULL }
};

static int valid_email(const char *e)
{
	const char *at = strchr(e, '@');

	return at && at != e && strchr(at + 1, '.') && !strchr(at + 1, '@') && !strpbrk(e, " \t\r\n<>\"") &&
	       at[1] != '.' && e[strlen(e) - 1] != '.' && strlen(e) <= 254;
}

/* Shared checks of the email and password fields when present. */
static int check_email_password(struct wa_req *r, const char *email, const char *password)
{
	if (email && !valid_email(email))
		return wa_reply_error(r, 400, "'email' must be a valid email address", "validation_error");
	if (password && (strlen(password) < 6 || strlen(password) > 200))
		return wa_reply_error(r, 400, "'password' must be 6 to 200 characters", "validation_error");
	return 0;
}

int h_users_list(struct wa_req *r)
{
	static const char *const count_keys[] = { "_sessions", NULL };
	json_t *rows, *row;
	size_t i;

	rows = wa_db_query(r->db,
		"SELECT " USER_COLS ", (SELECT COUNT(*) FROM wa_sessions s WHERE s.user_id = u.id) AS _sessions "
		"FROM users u ORDER BY u.created_at, u.id", "");
	if (rows)
		json_array_foreach(rows, i, row)
			wa_row_nest(row, "_count", count_keys);
	return wa_reply_rows(r, rows);
}

int h_users_create(struct wa_req *r)
{
	const char *name, *email, *password, *role;
	char hash[256];
	json_t *user;

	if (wa_body_begin(r, 0, f_user_create) < 0)
		return -1;
	name = wa_body_str(r, "name");
	email = wa_body_str(r, "email");
	password = wa_body_str(r, "password");
	role = wa_body_str(r, "role");
	if (check_email_password(r, email, password) < 0)
		return -1;
	if (wa_password_hash(password, hash, sizeof hash) < 0)
		return wa_reply_error(r, 500, "Cannot hash the password", NULL);
	if (wa_db_exec(r->db, "INSERT INTO users (name, email, password_hash, role) VALUES (?, ?, ?, ?)", "ssss",
		       name, email, hash, role ? role : "OWNER") < 0) {
		if (wa_db_errno(r->db) == WA_DB_DUPLICATE)
			return wa_reply_error(r, 409, "A user with this email already exists", "conflict");
		return wa_reply_db_error(r, "Cannot create the user");
	}
	user = wa_db_row(r->db, NULL, "SELECT " USER_COLS " FROM users u WHERE u.id = ?", "u",
			 (unsigned long long)r->db->last_insert_id);
	if (!user)
		return wa_reply_db_error(r, "Database error");
	wa_info("user %s (%s) created by user %llu", email, role ? role : "OWNER", (unsigned long long)r->user.id);
	return wa_reply_json(r, 200, user);
}

/* The target user's role, or NULL (404 replied / 500 replied). */
static json_t *load_target(struct wa_req *r, unsigned long long id)
{
	int err = 0;
	json_t *row = wa_db_row(r->db, &err, "SELECT id, role FROM users WHERE id = ?", "u", id);

	if (err)
		wa_reply_db_error(r, "Database error");
	else if (!row)
		wa_reply_errorf(r, 404, "not_found", "User %llu not found", id);
	return row;
}

static int is_last_superadmin(struct wa_req *r, json_t *target)
{
	const char *role = json_string_value(json_object_get(target, "role"));

	return role && strcmp(role, "SUPERADMIN") == 0 &&
	       wa_db_int(r->db, 0, "SELECT COUNT(*) FROM users WHERE role = 'SUPERADMIN'", "") <= 1;
}

int h_users_update(struct wa_req *r)
{
	unsigned long long id;
	const char *name, *email, *password, *role;
	char hash[256];
	json_t *target, *user;

	if (wa_path_id(r, "id", &id) < 0 || wa_body_begin(r, 0, f_user_update) < 0)
		return -1;
	name = wa_body_str(r, "name");
	email = wa_body_str(r, "email");
	password = wa_body_str(r, "password");
	role = wa_body_str(r, "role");
	if (!name && !email && !password && !role)
		return wa_reply_error(r, 400, "Nothing to update: give name, email, password and/or role",
				      "validation_error");
	if (check_email_password(r, email, password) < 0)
		return -1;
	if (!(target = load_target(r, id)))
		return -1;
	if (role && strcmp(role, "SUPERADMIN") != 0 && is_last_superadmin(r, target)) {
		json_decref(target);
		return wa_reply_error(r, 400, "Cannot change the role of the last SUPERADMIN", "validation_error");
	}
	json_decref(target);
	if (password && wa_password_hash(password, hash, sizeof hash) < 0)
		return wa_reply_error(r, 500, "Cannot hash the password", NULL);
	if (wa_db_begin(r->db) < 0)
		return wa_reply_db_error(r, "Database error");
	if (wa_db_exec(r->db,
		       "UPDATE users SET name = COALESCE(?, name), email = COALESCE(?, email), "
		       "password_hash = COALESCE(?, password_hash), role = COALESCE(?, role) WHERE id = ?",
		       "ssssu", name, email, password ? hash : NULL, role, id) < 0) {
		unsigned e = wa_db_errno(r->db);

		wa_db_rollback(r->db);
		if (e == WA_DB_DUPLICATE)
			return wa_reply_error(r, 409, "A user with this email already exists", "conflict");
		return wa_reply_db_error(r, "Cannot update the user");
	}
	/* A new password ends existing web logins of that user (not the caller's own one). */
	if (password && wa_db_exec(r->db, "DELETE FROM web_sessions WHERE user_id = ? AND id <> ?", "uu", id,
				   (unsigned long long)r->user.web_session) < 0) {
		wa_db_rollback(r->db);
		return wa_reply_db_error(r, "Cannot update the user");
	}
	if (wa_db_commit(r->db) < 0)
		return wa_reply_db_error(r, "Cannot update the user");
	user = wa_db_row(r->db, NULL,
			 "SELECT CAST(u.id AS CHAR) AS id, u.email, u.name, u.role, u.email_verified AS emailVerified, "
			 "u.image, u.created_at AS createdAt, u.updated_at AS updatedAt FROM users u WHERE u.id = ?",
			 "u", id);
	if (!user)
		return wa_reply_db_error(r, "Database error");
	wa_info("user %llu updated by user %llu", id, (unsigned long long)r->user.id);
	return wa_reply_json(r, 200, json_pack("{s:b,s:o}", "success", 1, "user", user));
}

int h_users_delete(struct wa_req *r)
{
	unsigned long long id;
	json_t *target, *files, *sessions = NULL, *row;
	size_t removed, i;

	if (wa_path_id(r, "id", &id) < 0)
		return -1;
	if (!(target = load_target(r, id)))
		return -1;
	if (id == r->user.id) {
		json_decref(target);
		return wa_reply_error(r, 400, "You cannot delete your own account", "validation_error");
	}
	if (is_last_superadmin(r, target)) {
		json_decref(target);
		return wa_reply_error(r, 400, "Cannot delete the last SUPERADMIN", "validation_error");
	}
	json_decref(target);
	/* The rows go by the foreign-key cascades; the files they name in the
	 * media directory are listed first and removed after the commit (a
	 * failed delete must not lose files; a crash in between only leaves
	 * orphan files behind). */
	files = wa_db_query(r->db,
		"SELECT filename AS f FROM media_files WHERE user_id = ? "
		"OR wa_session_id IN (SELECT id FROM wa_sessions WHERE user_id = ?) "
		"UNION SELECT media_path FROM messages WHERE media_path IS NOT NULL "
		"AND wa_session_id IN (SELECT id FROM wa_sessions WHERE user_id = ?) LIMIT 1000000", "uuu", id, id, id);
	if (!files)
		return wa_reply_db_error(r, "Cannot delete the user");
	sessions = wa_db_query(r->db, "SELECT id FROM wa_sessions WHERE user_id = ?", "u", id);
	if (!sessions || wa_db_begin(r->db) < 0) {
		json_decref(files);
		json_decref(sessions);
		return wa_reply_db_error(r, "Cannot delete the user");
	}
	/* the Signal key rows of their sessions have no foreign keys: same transaction */
	json_array_foreach(sessions, i, row)
		if (wa_session_purge_keys(r->db, (uint64_t)json_integer_value(json_object_get(row, "id"))) < 0)
			goto fail;
	if (wa_db_exec(r->db, "DELETE FROM users WHERE id = ?", "u", id) < 0 || wa_db_commit(r->db) < 0)
		goto fail;
	json_decref(sessions);
	removed = wa_media_remove_unreferenced(r, files);
	json_decref(files);
	wa_info("user %llu deleted by user %llu (%zu media files removed)", id, (unsigned long long)r->user.id, removed);
	return wa_reply_success(r, "User deleted", NULL);
fail:
	wa_db_rollback(r->db);
	json_decref(files);
	json_decref(sessions);
	return wa_reply_db_error(r, "Cannot delete the user");
}

/* ---- the caller's API key ------------------------------------------------ */

int h_apikey_get(struct wa_req *r)
{
	json_t *row;
	int err = 0;
	const char *prefix;
	char masked[64];

	row = wa_db_row(r->db, &err, "SELECT key_prefix FROM api_keys WHERE user_id = ?", "u",
			(unsigned long long)r->user.id);
	if (err)
		return wa_reply_db_error(r, "Database error");
	prefix = row ? json_string_value(json_object_get(row, "key_prefix")) : NULL;
	if (!prefix) {
		json_decref(row);
		return wa_reply_json(r, 200, json_pack("{s:n}", "apiKey"));
	}
	snprintf(masked, sizeof masked, "%s\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u2022", prefix);
	json_decref(row);
	return wa_reply_json(r, 200, json_pack("{s:s}", "apiKey", masked));
}

int h_apikey_new(struct wa_req *r)
{
	char key[128], hash[65], prefix[17];

	if (wa_api_key_new(key, sizeof key, hash, prefix) < 0)
		return wa_reply_error(r, 500, "Failed to generate API key", NULL);
	/* One key per user (UNIQUE user_id): the new key replaces the old. */
	if (wa_db_exec(r->db,
		       "INSERT INTO api_keys (user_id, key_prefix, key_hash) VALUES (?, ?, ?) "
		       "ON DUPLICATE KEY UPDATE key_prefix = VALUES(key_prefix), key_hash = VALUES(key_hash), "
		       "created_at = CURRENT_TIMESTAMP(3), last_used_at = NULL",
		       "uss", (unsigned long long)r->user.id, prefix, hash) < 0)
		return wa_reply_db_error(r, "Failed to generate API key");
	wa_info("user %llu generated a new API key %s...", (unsigned long long)r->user.id, prefix);
	return wa_reply_json(r, 200, json_pack("{s:s}", "apiKey", key));
}

int h_apikey_revoke(struct wa_req *r)
{
	if (wa_db_exec(r->db, "DELETE FROM api_keys WHERE user_id = ?", "u", (unsigned long long)r->user.id) < 0)
		return wa_reply_db_error(r, "Failed to revoke API key");
	wa_info("user %llu revoked their API key", (unsigned long long)r->user.id);
	return wa_reply_ok(r, 200, "API key revoked", NULL);
}
