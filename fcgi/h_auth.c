/* h_auth: web login compatible with NextAuth clients (csrf, credentials
 * callback, session, sign-out) and self-registration. */
#include "fcgi/app.h"
#include "fcgi/auth.h"
#include "fcgi/db.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "fcgi/ratelimit.h"
#include "wa_log.h"
#include "wa_util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int h_auth_csrf(struct wa_req *r)
{
	char tok[65];

	if (wa_auth_csrf_token(r, tok) < 0)
		return wa_reply_error(r, 500, "Cannot create a CSRF token", NULL);
	return wa_reply_json(r, 200, json_pack("{s:s}", "csrfToken", tok));
}

int h_auth_session(struct wa_req *r)
{
	json_t *row, *j;

	if (!r->user.id)
		return wa_reply_json(r, 200, json_object());
	row = wa_db_row(r->db, NULL,
			"SELECT CAST(u.id AS CHAR) AS id, u.name, u.email, u.image, u.role, "
			"(SELECT s.expires_at FROM web_sessions s WHERE s.id = ?) AS expires "
			"FROM users u WHERE u.id = ?", "uu",
			(unsigned long long)r->user.web_session, (unsigned long long)r->user.id);
	if (!row)
		return wa_reply_db_error(r, "Database error");
	j = json_pack("{s:{s:O,s:O,s:O,s:O,s:O},s:O}",
		"user", "id", json_object_get(row, "id"), "name", json_object_get(row, "name"),
		"email", json_object_get(row, "email"), "image", json_object_get(row, "image"),
		"role", json_object_get(row, "role"), "expires", json_object_get(row, "expires"));
	json_decref(row);
	return wa_reply_json(r, 200, j);
}

/* A field of a sign-in body that may be JSON or a urlencoded form. */
static int field(struct wa_req *r, const char *name, char *buf, size_t len)
{
	const char *ct = wa_req_header(r, "Content-Type");

	if (ct && strncasecmp(ct, "application/json", 16) == 0) {
		const char *v;

		if (!r->json && wa_req_json(r, 1) < 0)
			return -2;
		v = json_string_value(json_object_get(r->json, name));
		if (!v || strlen(v) >= len)
			return -1;
		snprintf(buf, len, "%s", v);
		return 0;
	}
	if (wa_req_read_body(r, 64 * 1024) < 0)
		return -2;
	return wa_form_get(r->body, name, buf, len);
}

static int valid_email(const char *e)
{
	const char *at = strchr(e, '@');

	return at && at != e && strchr(at + 1, '.') && !strchr(at + 1, '@') && !strpbrk(e, " \t\r\n<>") &&
	       strlen(e) <= 254;
}

int h_auth_signin(struct wa_req *r)
{
	char email[256], password[256], csrf[80], cb[512] = "/", token[65], hash[65], cookie[400];
	json_t *row;
	int rc;
	const char *enc, *addr = wa_req_param(r, "REMOTE_ADDR");
	unsigned long long uid;
	long wait;

	if ((rc = field(r, "csrfToken", csrf, sizeof csrf)) == -2)
		return -1;
	if (rc < 0 || wa_auth_csrf_ok(r, csrf) < 0)
		return wa_reply_error(r, 403, "Missing or invalid csrfToken (GET /api/auth/csrf first)", "csrf");
	if (field(r, "email", email, sizeof email) < 0 || field(r, "password", password, sizeof password) < 0)
		return wa_reply_error(r, 400, "Both 'email' and 'password' are required", "validation_error");
	field(r, "callbackUrl", cb, sizeof cb);
	if (cb[0] != '/' || cb[1] == '/')
		snprintf(cb, sizeof cb, "/");
	/* password guessing: an address that failed too often waits, whoever
	 * it tries next (limits.signin_failures_per_minute / signin_burst) */
	wait = wa_rate_check(r->db, &r->app->signin_fail, addr, 0);
	if (wait < 0)
		return wa_reply_db_error(r, "Database error");
	if (wait > 0)
		return wa_reply_rate_limited(r, wait, "too many failed sign-ins from this address");
	row = wa_db_row(r->db, NULL, "SELECT id, password_hash FROM users WHERE email = ?", "s", email);
	enc = row ? json_string_value(json_object_get(row, "password_hash")) : NULL;
	if (!row || !wa_password_verify(enc, password)) {
		json_decref(row);
		wa_info("sign-in failed for %s from %s", email, addr ? addr : "-");
		if (wa_rate_charge(r->db, &r->app->signin_fail, addr) < 0)
			wa_warn("sign-in failure from %s not counted", addr ? addr : "-");
		return wa_reply_error(r, 401, "Invalid email or password", "invalid_credentials");
	}
	uid = (unsigned long long)json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	if (wa_random_hex(token, 32) < 0)
		return wa_reply_error(r, 500, "Cannot create a session", NULL);
	wa_sha256_hex(token, strlen(token), hash);
	if (wa_db_exec(r->db,
		       "INSERT INTO web_sessions (user_id, token_hash, csrf_token, expires_at, user_agent, ip) "
		       "VALUES (?, ?, ?, CURRENT_TIMESTAMP(3) + INTERVAL ? DAY, LEFT(?, 512), ?)",
		       "ussiss", uid, hash, csrf, (long long)r->app->session_days,
		       wa_req_header(r, "User-Agent") ? wa_req_header(r, "User-Agent") : "",
		       wa_req_param(r, "REMOTE_ADDR")) < 0)
		return wa_reply_db_error(r, "Cannot create a session");
	snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s", WA_SESSION_COOKIE,
		 token, r->app->session_days * 86400, r->app->cookie_secure ? "; Secure" : "");
	wa_reply_header(r, "Set-Cookie", cookie);
	wa_info("user %llu signed in", uid);
	return wa_reply_json(r, 200, json_pack("{s:s}", "url", cb));
}

int h_auth_signout(struct wa_req *r)
{
	char csrf[80], cookie[200];
	int rc = field(r, "csrfToken", csrf, sizeof csrf);

	if (rc == -2)
		return -1;
	if (r->user.web_session) {
		if (rc < 0 || wa_auth_csrf_ok(r, csrf) < 0)
			return wa_reply_error(r, 403, "Missing or invalid csrfToken", "csrf");
		wa_db_exec(r->db, "DELETE FROM web_sessions WHERE id = ?", "u",
			   (unsigned long long)r->user.web_session);
	}
	snprintf(cookie, sizeof cookie, "%s=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", WA_SESSION_COOKIE);
	wa_reply_header(r, "Set-Cookie", cookie);
	return wa_reply_json(r, 200, json_pack("{s:s}", "url", "/"));
}

int h_auth_register(struct wa_req *r)
{
	const char *name, *email, *password;
	char hash[256];
	json_t *user;
	long long enabled;
	long wait;

	/* every attempt counts, per address (limits.register_per_minute / _burst) */
	wait = wa_rate_check(r->db, &r->app->registers, wa_req_param(r, "REMOTE_ADDR"), 1);
	if (wait < 0)
		return wa_reply_db_error(r, "Database error");
	if (wait > 0)
		return wa_reply_rate_limited(r, wait, "too many registrations from this address");
	if (wa_req_json(r, 0) < 0)
		return -1;
	name = json_string_value(json_object_get(r->json, "name"));
	email = json_string_value(json_object_get(r->json, "email"));
	password = json_string_value(json_object_get(r->json, "password"));
	if (!name || !*name || strlen(name) > 255)
		return wa_reply_error(r, 400, "'name' is required (1-255 characters)", "validation_error");
	if (!email || !valid_email(email))
		return wa_reply_error(r, 400, "'email' must be a valid email address", "validation_error");
	if (!password || strlen(password) < 6 || strlen(password) > 200)
		return wa_reply_error(r, 400, "'password' must be 6 to 200 characters", "validation_error");
	enabled = wa_db_int(r->db, 1,
			    "SELECT value = 'true' FROM system_settings WHERE `key` = 'enable_registration'", "");
	if (!enabled)
		return wa_reply_error(r, 403, "Registration is disabled on this gateway", "registration_disabled");
	if (wa_password_hash(password, hash, sizeof hash) < 0)
		return wa_reply_error(r, 500, "Cannot hash the password", NULL);
	if (wa_db_exec(r->db, "INSERT INTO users (name, email, password_hash, role) VALUES (?, ?, ?, 'OWNER')",
		       "sss", name, email, hash) < 0) {
		if (wa_db_errno(r->db) == WA_DB_DUPLICATE)
			return wa_reply_error(r, 409, "A user with this email already exists", "conflict");
		return wa_reply_db_error(r, "Cannot create the user");
	}
	user = wa_db_row(r->db, NULL,
			 "SELECT CAST(id AS CHAR) AS id, name, email, role, created_at AS createdAt FROM users WHERE id = ?",
			 "u", (unsigned long long)r->db->last_insert_id);
	wa_info("user %s registered", email);
	return wa_reply_ok(r, 200, "User registered", user);
}
