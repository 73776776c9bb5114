/* h_access: grants of a WhatsApp session to other users.
 *
 * The routes carry WA_R_SESS_MANAGE, so only the session's owner or a
 * SUPERADMIN reaches these handlers. Rules of the reference: grant by
 * email; unknown email 404; the owner and SUPERADMINs (who see everything
 * anyway) cannot be granted (400); a second grant is 409 (UNIQUE key). */
#include "fcgi/db.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "wa_log.h"

#include <string.h>

#define GRANT_COLS \
	"CAST(a.id AS CHAR) AS id, CAST(a.wa_session_id AS CHAR) AS sessionId, " \
	"CAST(a.user_id AS CHAR) AS userId, a.created_at AS createdAt, " \
	"CAST(u.id AS CHAR) AS _id, u.name AS _name, u.email AS _email, u.role AS _role " \
	"FROM session_access a JOIN users u ON u.id = a.user_id "

static const struct wa_field f_grant[] = {
	{ "email", WA_F_STR, 1, "254" },
	{ NULL, WA_F_END, 0, NULL }
};

static void shape_grant(json_t *row)
{
	static const char *const user_keys[] = { "_id", "_name", "_email", "_role", NULL };

	wa_row_nest(row, "user", user_keys);
}

int h_access_list(struct wa_req *r)
{
	json_t *rows, *row;
	size_t i;

	rows = wa_db_query(r->db, "SELECT " GRANT_COLS "WHERE a.wa_session_id = ? ORDER BY a.created_at, a.id", "u",
			   (unsigned long long)r->sess.id);
	if (!rows)
		return wa_reply_db_error(r, "Database error");
	json_array_foreach(rows, i, row)
		shape_grant(row);
	return wa_reply_ok(r, 200, "Access list retrieved successfully", rows);
}

int h_access_grant(struct wa_req *r)
{
	const char *email, *role;
	json_t *target, *grant;
	unsigned long long uid;
	int err = 0;

	if (wa_body_begin(r, 0, f_grant) < 0)
		return -1;
	email = wa_body_str(r, "email");
	if (!strchr(email, '@'))
		return wa_reply_error(r, 400, "'email' must be a valid email address", "validation_error");
	target = wa_db_row(r->db, &err, "SELECT id, role FROM users WHERE email = ?", "s", email);
	if (err)
		return wa_reply_db_error(r, "Database error");
	if (!target)
		return wa_reply_errorf(r, 404, "user_not_found", "No user with email '%.254s'", email);
	uid = (unsigned long long)json_integer_value(json_object_get(target, "id"));
	role = json_string_value(json_object_get(target, "role"));
	if (uid == r->sess.owner) {
		json_decref(target);
		return wa_reply_error(r, 400, "Cannot grant access to the session owner", "validation_error");
	}
	if (role && strcmp(role, "SUPERADMIN") == 0) {
		json_decref(target);
		return wa_reply_error(r, 400, "SUPERADMIN already has access to every session", "validation_error");
	}
	json_decref(target);
	if (wa_db_exec(r->db, "INSERT INTO session_access (wa_session_id, user_id, granted_by) VALUES (?, ?, ?)",
		       "uuu", (unsigned long long)r->sess.id, uid, (unsigned long long)r->user.id) < 0) {
		if (wa_db_errno(r->db) == WA_DB_DUPLICATE)
			return wa_reply_error(r, 409, "User already has access to this session", "conflict");
		return wa_reply_db_error(r, "Cannot grant access");
	}
	grant = wa_db_row(r->db, NULL, "SELECT " GRANT_COLS "WHERE a.id = ?", "u",
			  (unsigned long long)r->db->last_insert_id);
	if (!grant)
		return wa_reply_db_error(r, "Database error");
	shape_grant(grant);
	wa_info("session %s: access granted to user %llu by user %llu", r->sess.slug, uid,
		(unsigned long long)r->user.id);
	return wa_reply_ok(r, 201, "Access granted successfully", grant);
}

int h_access_revoke(struct wa_req *r)
{
	unsigned long long uid;
	long long n;

	if (wa_body_begin(r, 0, NULL) < 0 || wa_body_id(r, "userId", 1, &uid) < 0)
		return -1;
	n = wa_db_exec(r->db, "DELETE FROM session_access WHERE wa_session_id = ? AND user_id = ?", "uu",
		       (unsigned long long)r->sess.id, uid);
	if (n < 0)
		return wa_reply_db_error(r, "Cannot revoke access");
	if (n == 0)
		return wa_reply_errorf(r, 404, "not_found", "User %llu has no access grant on this session", uid);
	wa_info("session %s: access of user %llu revoked by user %llu", r->sess.slug, uid,
		(unsigned long long)r->user.id);
	return wa_reply_ok(r, 200, "Access revoked successfully", NULL);
}
