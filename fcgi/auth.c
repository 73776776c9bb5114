/* auth: credentials, passwords, API keys, CSRF and session access (see auth.h). */
#include "fcgi/auth.h"
#include "fcgi/app.h"
#include "fcgi/authcache.h"
#include "fcgi/db.h"
#include "wa_log.h"
#include "wa_util.h"

#include <argon2.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "wa/crypto.h"

/* argon2id cost: OWASP's minimum recommendation (19 MiB, t=2, p=1) keeps a
 * login under ~50 ms on a small machine while staying memory-hard. */
#define ARGON_T 2
#define ARGON_M (19 * 1024)
#define ARGON_P 1

static const char *const role_names[] = { "NONE", "STAFF", "OWNER", "SUPERADMIN" };

const char *wa_role_name(enum wa_role role)
{
	return role_names[role <= WA_ROLE_SUPERADMIN ? role : 0];
}

enum wa_role wa_role_parse(const char *s)
{
	for (int i = 1; i <= WA_ROLE_SUPERADMIN; i++)
		if (s && strcmp(s, role_names[i]) == 0)
			return (enum wa_role)i;
	return WA_ROLE_NONE;
}

int wa_password_hash(const char *password, char *out, size_t outlen)
{
	uint8_t salt[16];

	if (wa_random(salt, sizeof salt) < 0)
		return -1;
	return argon2id_hash_encoded(ARGON_T, ARGON_M, ARGON_P, password, strlen(password),
				     salt, sizeof salt, 32, out, outlen) == ARGON2_OK ? 0 : -1;
}

int wa_password_verify(const char *encoded, const char *password)
{
	if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0)
		return 0;
	return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

int wa_api_key_new(char *key, size_t keylen, char hash[65], char prefix[17])
{
	char hex[49];

	if (keylen < sizeof WA_API_KEY_PREFIX + 48 || wa_random_hex(hex, 24) < 0)
		return -1;
	snprintf(key, keylen, "%s%s", WA_API_KEY_PREFIX, hex);
	wa_sha256_hex(key, strlen(key), hash);
	/* "wak_" plus 8 key characters: enough to recognise a key when it is
	 * shown masked, far too few to guess it (48 hex characters of randomness) */
	snprintf(prefix, 17, "%.12s", key);
	return 0;
}

static int fill_user(struct wa_req *r, json_t *row)
{
	const char *v;

	if (!row)
		return 0;
	r->user.id = (uint64_t)json_integer_value(json_object_get(row, "id"));
	r->user.role = wa_role_parse(json_string_value(json_object_get(row, "role")));
	v = json_string_value(json_object_get(row, "name"));
	snprintf(r->user.name, sizeof r->user.name, "%s", v ? v : "");
	v = json_string_value(json_object_get(row, "email"));
	snprintf(r->user.email, sizeof r->user.email, "%s", v ? v : "");
	json_decref(row);
	return r->user.role != WA_ROLE_NONE;
}

/* The credential lookups. For a route that names a session, the same
 * statement also reads that session and whether the caller holds a grant
 * on it (PRE_COLS/PRE_JOIN), which wa_session_access() then uses instead of
 * two more round trips. These are the lookups of a worker whose auth cache
 * is off or holds no lease; with the cache (cached_identify() below) a
 * revoked key, a deleted user, a changed role or a withdrawn grant is still
 * refused by the very next request, on every worker (fcgi/authcache.h). */
#define KEY_COLS \
	"SELECT u.id, u.role, u.name, u.email, (k.last_used_at IS NULL OR " \
	"k.last_used_at < CURRENT_TIMESTAMP(3) - INTERVAL 1 MINUTE) AS stale"
#define KEY_FROM "FROM api_keys k JOIN users u ON u.id = k.user_id "
#define KEY_WHERE "WHERE k.key_hash = ?"
#define WEB_COLS "SELECT u.id, u.role, u.name, u.email, ws.id AS sid"
#define WEB_FROM "FROM web_sessions ws JOIN users u ON u.id = ws.user_id "
#define WEB_WHERE "WHERE ws.token_hash = ? AND ws.expires_at > CURRENT_TIMESTAMP(3)"
#define PRE_COLS \
	", s.id AS s_id, s.session_id AS s_slug, s.name AS s_name, s.user_id AS s_owner, s.status AS s_status, " \
	"(s.id IS NOT NULL AND EXISTS (SELECT 1 FROM session_access sa " \
	"WHERE sa.wa_session_id = s.id AND sa.user_id = u.id)) AS s_granted "
/* The session an ident names: the one with that slug, else the one with
 * that numeric id (two unique-index lookups; `session_id = ? OR id = ?`
 * scans the whole slug index). */
#define SESS_ID "COALESCE((SELECT x.id FROM wa_sessions x WHERE x.session_id = ?), ?)"
#define PRE_JOIN "LEFT JOIN wa_sessions s ON s.id = " SESS_ID " "

static int all_digits(const char *s);

/* ident as a numeric session id (0 when it is not one) */
static unsigned long long ident_id(const char *ident)
{
	return all_digits(ident) && strlen(ident) < 20 ? strtoull(ident, NULL, 10) : 0;
}

static void copy_str(char *dst, size_t len, json_t *row, const char *col)
{
	const char *v = json_string_value(json_object_get(row, col));

	snprintf(dst, len, "%s", v ? v : "");
}

/* Keep the session columns of a prefetching lookup for wa_session_access(). */
static void keep_prefetch(struct wa_req *r, json_t *row, const char *ident)
{
	r->sess_pre.read = 1;
	snprintf(r->sess_pre.ident, sizeof r->sess_pre.ident, "%s", ident);
	r->sess_pre.found = json_is_integer(json_object_get(row, "s_id"));
	r->sess_pre.granted = json_integer_value(json_object_get(row, "s_granted")) != 0;
	if (!r->sess_pre.found)
		return;
	r->sess.id = (uint64_t)json_integer_value(json_object_get(row, "s_id"));
	r->sess.owner = (uint64_t)json_integer_value(json_object_get(row, "s_owner"));
	copy_str(r->sess.slug, sizeof r->sess.slug, row, "s_slug");
	copy_str(r->sess.name, sizeof r->sess.name, row, "s_name");
	copy_str(r->sess.status, sizeof r->sess.status, row, "s_status");
}

/* The first row's columns [0, n) of t as a JSON object, as wa_db_row()
 * would have answered them (the types the credential columns have). */
static json_t *text_row(const struct wa_db_text *t, unsigned n)
{
	json_t *o = json_object();

	for (unsigned c = 0; o && c < n && c < t->ncols; c++) {
		unsigned long len = 0;
		const char *v = wa_db_text_val(t, 0, (int)c, &len);
		json_t *j;

		if (!v)
			j = json_null();
		else if (t->kinds[c] == WA_DB_K_INT)
			j = json_integer(strtoll(v, NULL, 10));
		else if (t->kinds[c] == WA_DB_K_BOOL)
			j = json_boolean(v[0] != '0');
		else
			j = json_stringn(v, len);
		if (json_object_set_new(o, t->names[c], j) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* What follows a key lookup: the user, the prefetched session, the minute's
 * last use. row is consumed. */
static int key_found(struct wa_req *r, json_t *row, const char *sess_ident, int pre, const char *hash)
{
	int stale = row && json_integer_value(json_object_get(row, "stale")) != 0;

	if (row && pre)
		keep_prefetch(r, row, sess_ident);
	if (!fill_user(r, row))
		return 0;
	/* last use is kept to the minute: no write on most requests */
	if (stale)
		wa_db_exec(r->db, "UPDATE api_keys SET last_used_at = CURRENT_TIMESTAMP(3) WHERE key_hash = ?",
			   "s", hash);
	return 1;
}

static const char *api_key(struct wa_req *r)
{
	const char *key = wa_req_header(r, "X-API-Key");

	if (!key) {
		/* Bearer tokens are accepted too: many HTTP client libraries only do that. */
		const char *authz = wa_req_header(r, "Authorization");

		if (authz && strncasecmp(authz, "Bearer ", 7) == 0)
			key = authz + 7;
	}
	return key && *key ? key : NULL;
}

/* ---- through the auth cache (fcgi/authcache.h) ---------------------------- */

/* What a miss reads besides the identity: the user's grants and, in the
 * same snapshot, the epoch the cache may store it under (rule 3). */
#define C_EXTRA \
	", (SELECT COUNT(*) FROM session_access sa WHERE sa.user_id = u.id) AS ngrants, " \
	"(SELECT GROUP_CONCAT(sa.wa_session_id SEPARATOR ',') FROM session_access sa WHERE sa.user_id = u.id) " \
	"AS grants, (SELECT epoch FROM auth_epoch WHERE id = 1) AS ep "
#define C_KEY_SQL KEY_COLS C_EXTRA KEY_FROM KEY_WHERE
#define C_WEB_SQL \
	WEB_COLS ", TIMESTAMPDIFF(MICROSECOND, CURRENT_TIMESTAMP(3), ws.expires_at) AS left_us" C_EXTRA \
	WEB_FROM WEB_WHERE

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void touch_key(struct wa_req *r, const char *hash)
{
	wa_db_exec(r->db, "UPDATE api_keys SET last_used_at = CURRENT_TIMESTAMP(3) WHERE key_hash = ?", "s", hash);
}

static void ident_to_user(struct wa_req *r, const struct wa_authc_ident *id, int cookie)
{
	r->user.id = id->user_id;
	r->user.role = (enum wa_role)id->role;
	snprintf(r->user.name, sizeof r->user.name, "%s", id->name);
	snprintf(r->user.email, sizeof r->user.email, "%s", id->email);
	r->user.web_session = id->web_session;
	r->user.via_cookie = cookie;
	if (id->ngrants >= 0) {
		r->user.grants_known = 1;
		r->user.ngrants = id->ngrants;
		memcpy(r->user.grants, id->grants, (size_t)id->ngrants * sizeof id->grants[0]);
	}
}

/* The grants of a miss's row into id (ngrants -1 when there are more than
 * the cache keeps). */
static void parse_grants(struct wa_authc_ident *id, json_t *row)
{
	long long n = json_integer_value(json_object_get(row, "ngrants"));
	const char *p = json_string_value(json_object_get(row, "grants"));

	id->ngrants = 0;
	if (n > WA_AUTHC_GRANTS) {
		id->ngrants = -1;
		return;
	}
	while (p && *p && id->ngrants < WA_AUTHC_GRANTS) {
		char *end;
		unsigned long long v = strtoull(p, &end, 10);

		if (end == p)
			break;
		id->grants[id->ngrants++] = v;
		p = *end == ',' ? end + 1 : end;
	}
	if (id->ngrants != n)
		id->ngrants = -1;   /* not what was counted: look them up */
}

/* The request's credentials through the cache: 1 identified, 0 not, -1 a
 * database failure, 2 the cache cannot answer now (off, or no lease): the
 * caller looks them up as without a cache. */
static int cached_identify(struct wa_req *r)
{
	const char *key = api_key(r);
	char tok[129], hash[65];
	struct wa_authc_ident id;
	int touch, cookie = 0, err = 0, stale;
	long long life_ms = 0;
	double t0;
	json_t *row;
	char kind = WA_AUTHC_KEY;

	if (!wa_authc_usable())
		return 2;
	if (key) {
		if (strlen(key) > 128)
			return 0;
		wa_sha256_hex(key, strlen(key), hash);
	} else if (wa_req_cookie(r, WA_SESSION_COOKIE, tok, sizeof tok) == 0 ||
		   wa_req_cookie(r, "__Secure-" WA_SESSION_COOKIE, tok, sizeof tok) == 0) {
		wa_sha256_hex(tok, strlen(tok), hash);
		kind = WA_AUTHC_COOKIE;
		cookie = 1;
	} else {
		return 0;
	}
	if (wa_authc_get(kind, hash, &id, &touch)) {
		if (touch)
			touch_key(r, hash);
		ident_to_user(r, &id, cookie);
		return 1;
	}
	t0 = mono_ms();
	row = wa_db_row(r->db, &err, cookie ? C_WEB_SQL : C_KEY_SQL, "s", hash);
	if (err)
		return -1;
	if (!row)
		return 0;
	memset(&id, 0, sizeof id);
	id.user_id = (uint64_t)json_integer_value(json_object_get(row, "id"));
	id.role = (int)wa_role_parse(json_string_value(json_object_get(row, "role")));
	copy_str(id.name, sizeof id.name, row, "name");
	copy_str(id.email, sizeof id.email, row, "email");
	if (id.role == WA_ROLE_NONE) {
		json_decref(row);
		return 0;
	}
	if (cookie) {
		id.web_session = (uint64_t)json_integer_value(json_object_get(row, "sid"));
		/* the expiry, counted from before the statement was sent */
		life_ms = json_integer_value(json_object_get(row, "left_us")) / 1000 - (long long)(mono_ms() - t0);
		if (life_ms < 1)
			life_ms = 1;
	}
	parse_grants(&id, row);
	stale = !cookie && json_integer_value(json_object_get(row, "stale")) != 0;
	wa_authc_put(kind, hash, &id, (uint64_t)json_integer_value(json_object_get(row, "ep")), life_ms);
	json_decref(row);
	if (stale)
		touch_key(r, hash);
	ident_to_user(r, &id, cookie);
	return 1;
}

static int has_grant(const struct wa_req *r, uint64_t sess)
{
	for (int i = 0; i < r->user.ngrants; i++)
		if (r->user.grants[i] == sess)
			return 1;
	return 0;
}

/* wa_auth_identify_rows() once cached_identify() has identified the caller:
 * the session's own statement, the access check's columns first. */
#define C_SESS_COLS \
	"SELECT s.id AS s_id, s.session_id AS s_slug, s.name AS s_name, s.user_id AS s_owner, " \
	"s.status AS s_status, 0 AS s_granted, "

static int cached_rows(struct wa_req *r, const char *sess_ident, const char *cols, const char *joins,
		       const char *tail, struct wa_db_text *rows, unsigned *first_col)
{
	size_t n = strlen(C_SESS_COLS " FROM wa_sessions s WHERE s.id = " SESS_ID) + strlen(cols) + strlen(joins) +
		   strlen(tail) + 8;
	char *sql = malloc(n);
	int rc, gcol;
	json_t *row;

	if (!sql)
		return -1;
	snprintf(sql, n, "%s%s FROM wa_sessions s %sWHERE s.id = " SESS_ID " %s", C_SESS_COLS, cols, joins, tail);
	rc = wa_db_text_query(r->db, rows, sql, "su", sess_ident, ident_id(sess_ident));
	free(sql);
	if (rc < 0)
		return -1;
	if (!rows->nrows) {
		wa_db_text_free(rows);
		r->sess_pre.read = 1;
		r->sess_pre.found = 0;
		snprintf(r->sess_pre.ident, sizeof r->sess_pre.ident, "%s", sess_ident);
		return 1;
	}
	gcol = wa_db_text_col(rows, "s_granted");
	row = gcol < 0 ? NULL : text_row(rows, (unsigned)gcol + 1);
	if (!row) {
		wa_db_text_free(rows);
		return -1;
	}
	keep_prefetch(r, row, sess_ident);
	json_decref(row);
	r->sess_pre.granted = r->user.grants_known ? has_grant(r, r->sess.id) : -1;
	*first_col = (unsigned)gcol + 1;
	return 1;
}

int wa_auth_identify_rows(struct wa_req *r, const char *sess_ident, const char *cols, const char *joins,
			  const char *tail, struct wa_db_text *rows, unsigned *first_col)
{
	const char *key = api_key(r);
	char hash[65], *sql;
	int pre = sess_ident && *sess_ident && strlen(sess_ident) <= 64, gcol, rc;
	size_t n;
	json_t *row;

	memset(rows, 0, sizeof *rows);
	*first_col = 0;
	if (pre) {
		memset(&r->user, 0, sizeof r->user);
		memset(&r->sess_pre, 0, sizeof r->sess_pre);
		rc = cached_identify(r);
		if (rc == 1)
			return cached_rows(r, sess_ident, cols, joins, tail, rows, first_col);
		if (rc != 2)
			return rc;
	}
	if (!key || !pre)
		return wa_auth_identify(r, sess_ident);
	memset(&r->user, 0, sizeof r->user);
	memset(&r->sess_pre, 0, sizeof r->sess_pre);
	if (strlen(key) > 128)
		return 0;
	wa_sha256_hex(key, strlen(key), hash);
	n = strlen(KEY_COLS PRE_COLS KEY_FROM PRE_JOIN KEY_WHERE) + strlen(cols) + strlen(joins) + strlen(tail) + 8;
	sql = malloc(n);
	if (!sql)
		return -1;
	snprintf(sql, n, "%s, %s%s%s%s %s", KEY_COLS PRE_COLS, cols, KEY_FROM PRE_JOIN, joins, KEY_WHERE, tail);
	rc = wa_db_text_query(r->db, rows, sql, "sus", sess_ident, ident_id(sess_ident), hash);
	free(sql);
	if (rc < 0)
		return -1;
	if (!rows->nrows) {
		wa_db_text_free(rows);
		return 0;
	}
	gcol = wa_db_text_col(rows, "s_granted");
	row = gcol < 0 ? NULL : text_row(rows, (unsigned)gcol + 1);
	if (!row) {
		wa_db_text_free(rows);
		return -1;
	}
	*first_col = (unsigned)gcol + 1;
	rc = key_found(r, row, sess_ident, 1, hash);
	if (rc != 1)
		wa_db_text_free(rows);
	return rc;
}

int wa_auth_identify(struct wa_req *r, const char *sess_ident)
{
	const char *key = api_key(r);
	char tok[129], hash[65];
	json_t *row;
	int err = 0, pre;
	unsigned long long sid;

	memset(&r->user, 0, sizeof r->user);
	memset(&r->sess_pre, 0, sizeof r->sess_pre);
	pre = sess_ident && *sess_ident && strlen(sess_ident) <= 64;
	sid = pre ? ident_id(sess_ident) : 0;
	/* through the cache: the session (if any) is then read by
	 * wa_session_access(), the grant taken from what the cache holds */
	err = cached_identify(r);
	if (err != 2)
		return err;
	err = 0;
	if (key) {
		if (strlen(key) > 128)
			return 0;
		wa_sha256_hex(key, strlen(key), hash);
		row = pre ? wa_db_row(r->db, &err, KEY_COLS PRE_COLS KEY_FROM PRE_JOIN KEY_WHERE, "sus", sess_ident,
				      sid, hash) :
			    wa_db_row(r->db, &err, KEY_COLS " " KEY_FROM KEY_WHERE, "s", hash);
		if (err)
			return -1;
		return key_found(r, row, sess_ident, pre, hash);
	}
	if (wa_req_cookie(r, WA_SESSION_COOKIE, tok, sizeof tok) == 0 ||
	    wa_req_cookie(r, "__Secure-" WA_SESSION_COOKIE, tok, sizeof tok) == 0) {
		wa_sha256_hex(tok, strlen(tok), hash);
		row = pre ? wa_db_row(r->db, &err, WEB_COLS PRE_COLS WEB_FROM PRE_JOIN WEB_WHERE, "sus", sess_ident,
				      sid, hash) :
			    wa_db_row(r->db, &err, WEB_COLS " " WEB_FROM WEB_WHERE, "s", hash);
		if (err)
			return -1;
		if (!row)
			return 0;
		r->user.web_session = (uint64_t)json_integer_value(json_object_get(row, "sid"));
		if (pre)
			keep_prefetch(r, row, sess_ident);
		if (!fill_user(r, row))
			return 0;
		r->user.via_cookie = 1;
		return 1;
	}
	return 0;
}

/* The CSRF cookie is "<token>|<hmac(secret, token)>" (NextAuth's layout), the
 * secret a random value kept in system_settings so every worker agrees. */
static pthread_mutex_t secret_lock = PTHREAD_MUTEX_INITIALIZER;
static char secret[65];

static const char *auth_secret(struct wa_req *r)
{
	const char *out = NULL;
	char fresh[65];
	json_t *row;

	pthread_mutex_lock(&secret_lock);
	if (secret[0]) {
		out = secret;
		goto done;
	}
	if (wa_random_hex(fresh, 32) < 0)
		goto done;
	wa_db_exec(r->db, "INSERT IGNORE INTO system_settings (`key`, value) VALUES ('auth_secret', ?)", "s", fresh);
	row = wa_db_row(r->db, NULL, "SELECT value FROM system_settings WHERE `key` = 'auth_secret'", "");
	if (row && json_is_string(json_object_get(row, "value"))) {
		snprintf(secret, sizeof secret, "%s", json_string_value(json_object_get(row, "value")));
		out = secret;
	}
	json_decref(row);
done:
	pthread_mutex_unlock(&secret_lock);
	return out;
}

static int csrf_sign(struct wa_req *r, const char *token, char out[65])
{
	const char *s = auth_secret(r);
	uint8_t mac[32];

	if (!s || wa_hmac_sha256((const uint8_t *)s, strlen(s), token, strlen(token), mac) < 0)
		return -1;
	wa_hex_encode(mac, sizeof mac, out);
	return 0;
}

/* Token from a valid csrf cookie into tok[65]; 0 if present and valid. */
static int csrf_cookie_token(struct wa_req *r, char tok[65])
{
	char c[160], want[65];
	char *bar;

	if (wa_req_cookie(r, WA_CSRF_COOKIE, c, sizeof c) < 0 &&
	    wa_req_cookie(r, "__Host-" WA_CSRF_COOKIE, c, sizeof c) < 0)
		return -1;
	/* browsers may percent-encode the '|' */
	bar = strchr(c, '|');
	if (!bar) {
		bar = strstr(c, "%7C");
		if (!bar)
			bar = strstr(c, "%7c");
		if (!bar)
			return -1;
		memmove(bar + 1, bar + 3, strlen(bar + 3) + 1);
	}
	*bar = '\0';
	if (strlen(c) != 64 || strlen(bar + 1) != 64 || csrf_sign(r, c, want) < 0 ||
	    !wa_ct_equal(want, bar + 1, 64))
		return -1;
	memcpy(tok, c, 65);
	return 0;
}

int wa_auth_csrf_token(struct wa_req *r, char out[65])
{
	char sig[65], cookie[300];

	if (csrf_cookie_token(r, out) == 0)
		return 0;
	if (wa_random_hex(out, 32) < 0 || csrf_sign(r, out, sig) < 0)
		return -1;
	snprintf(cookie, sizeof cookie, "%s=%s%%7C%s; Path=/; HttpOnly; SameSite=Lax%s", WA_CSRF_COOKIE,
		 out, sig, r->app->cookie_secure ? "; Secure" : "");
	wa_reply_header(r, "Set-Cookie", cookie);
	return 0;
}

int wa_auth_csrf_ok(struct wa_req *r, const char *submitted)
{
	char tok[65];

	if (!submitted)
		submitted = wa_req_header(r, "X-CSRF-Token");
	if (!submitted || strlen(submitted) != 64 || csrf_cookie_token(r, tok) < 0)
		return -1;
	return wa_ct_equal(tok, submitted, 64) ? 0 : -1;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

int wa_session_access(struct wa_req *r, const char *ident, int manage)
{
	json_t *row;
	int err = 0, granted;

	if (!ident || !*ident || strlen(ident) > 64)
		return wa_reply_error(r, 404, "Session not found", "session_not_found");
	if (r->sess_pre.read && strcmp(r->sess_pre.ident, ident) == 0) {
		/* read with the credentials, in the same statement */
		if (!r->sess_pre.found)
			return wa_reply_errorf(r, 404, "session_not_found", "Session '%s' not found", ident);
		granted = r->sess_pre.granted;
	} else {
		row = wa_db_row(r->db, &err,
				"SELECT id, session_id, name, user_id, status FROM wa_sessions s WHERE s.id = " SESS_ID,
				"su", ident, ident_id(ident));
		if (err)
			return wa_reply_error(r, 500, "Database error", NULL);
		if (!row)
			return wa_reply_errorf(r, 404, "session_not_found", "Session '%s' not found", ident);
		r->sess.id = (uint64_t)json_integer_value(json_object_get(row, "id"));
		r->sess.owner = (uint64_t)json_integer_value(json_object_get(row, "user_id"));
		copy_str(r->sess.slug, sizeof r->sess.slug, row, "session_id");
		copy_str(r->sess.name, sizeof r->sess.name, row, "name");
		copy_str(r->sess.status, sizeof r->sess.status, row, "status");
		json_decref(row);
		granted = r->user.grants_known ? has_grant(r, r->sess.id) : -1;
	}
	if (r->user.role == WA_ROLE_SUPERADMIN)
		return 0;
	if (r->user.role == WA_ROLE_OWNER && r->sess.owner == r->user.id)
		return 0;
	if (manage)
		return wa_reply_error(r, 403, "Only the session owner or a SUPERADMIN can do this", "forbidden");
	if (granted < 0)
		granted = (int)wa_db_int(r->db, -1,
					 "SELECT COUNT(*) FROM session_access WHERE wa_session_id = ? AND user_id = ?",
					 "uu", (unsigned long long)r->sess.id, (unsigned long long)r->user.id);
	if (granted < 0)
		return wa_reply_error(r, 500, "Database error", NULL);
	if (granted == 0)
		return wa_reply_error(r, 403, "Forbidden - you have no access to this session", "forbidden");
	return 0;
}
