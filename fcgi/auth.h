/* auth: who is calling, and what they may touch.
 *
 * Credentials are the X-API-Key header or the web login cookie
 * "next-auth.session-token". API keys and cookie tokens are random, shown in
 * full only when generated, and stored as SHA-256 hashes; lookups are by hash
 * (a unique index), so no secret is ever compared with a variable-time
 * comparison. Passwords are argon2id (libargon2) encoded hashes.
 * Functions take the request and use its thread's database connection. */
#ifndef WA_FCGI_AUTH_H
#define WA_FCGI_AUTH_H

#include "fcgi/http.h"

struct wa_db_text;

#define WA_SESSION_COOKIE "next-auth.session-token"
#define WA_CSRF_COOKIE "next-auth.csrf-token"
#define WA_API_KEY_PREFIX "wak_"

/* Fill r->user from the request's credentials. Returns 1 if authenticated,
 * 0 if no or bad credentials, -1 on a database failure. With sess_ident
 * (the session a route names, or NULL), the same statement also reads that
 * session and the caller's grant on it for wa_session_access(). While the
 * worker's auth cache holds its lease (fcgi/authcache.h) the identity and
 * the user's grants come from the cache (or go into it), and the session is
 * read by wa_session_access(); a revoked key, deleted user, changed role or
 * withdrawn grant is refused by the very next request on every worker
 * either way (the revoking request waits for every worker's lease). */
int wa_auth_identify(struct wa_req *r, const char *sess_ident);

/* wa_auth_identify() for a session route whose handler reads that session
 * with the credentials, in the same statement: with an API key (and a
 * session ident), the credential statement also selects `cols` (columns of
 * the session `s`, before its first label the auth columns), joins `joins`
 * (tables joined on s.id) and ends with `tail` (ORDER BY ...), and all its
 * rows go to *rows (the session's own columns from index *first_col), which
 * the caller frees with wa_db_text_free(). The credentials and the access
 * check that follows (wa_session_access()) are exactly those of
 * wa_auth_identify(); without an API key it is wa_auth_identify() and *rows
 * stays empty (nrows 0): the handler then reads the session itself. */
int wa_auth_identify_rows(struct wa_req *r, const char *sess_ident, const char *cols, const char *joins,
			  const char *tail, struct wa_db_text *rows, unsigned *first_col);

/* CSRF check for cookie-authenticated writes: the X-CSRF-Token header (or a
 * csrfToken form/JSON field for the sign-in form) must equal the token in the
 * csrf cookie and the cookie must carry a valid signature. Returns 0 if fine. */
int wa_auth_csrf_ok(struct wa_req *r, const char *submitted);

/* Current CSRF token for the caller (from the cookie, or a new one, in
 * which case a Set-Cookie header is added to the reply). out: 65 bytes. */
int wa_auth_csrf_token(struct wa_req *r, char out[65]);

/* argon2id hash of a password into out (encoded form). Returns 0 or -1. */
int wa_password_hash(const char *password, char *out, size_t outlen);
/* 1 if password matches the encoded hash, else 0. */
int wa_password_verify(const char *encoded, const char *password);

/* New API key "wak_" + 48 hex chars into key (at least 53 bytes); its
 * SHA-256 hex into hash[65] and the display prefix (its first 12
 * characters, shown masked by GET /api/user/api-key) into prefix[17]. */
int wa_api_key_new(char *key, size_t keylen, char hash[65], char prefix[17]);

/* Resolve the WhatsApp session named by `ident` (slug "sessionId" or
 * numeric internal id) into r->sess and check the caller's access:
 * SUPERADMIN everything; OWNER own and granted sessions; STAFF granted only.
 * With manage=1 only the owner or a SUPERADMIN pass (grantees get 403).
 * Uses what wa_auth_identify() read for the same ident, if it did.
 * Returns 0, or -1 after replying 404 / 403 / 500. */
int wa_session_access(struct wa_req *r, const char *ident, int manage);

/* Role names. */
const char *wa_role_name(enum wa_role role);
enum wa_role wa_role_parse(const char *s);

#endif
