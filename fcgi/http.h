/* http: one FastCGI request as the handlers see it, and the reply helpers.
 *
 * A struct wa_req lives for one request on the accepting thread's stack;
 * nothing in it is shared with other threads. Strings it hands out are owned
 * by the request and valid until wa_req_finish(). Every reply helper writes
 * the whole response (status line, headers, body) exactly once; a second
 * reply on the same request is ignored and logged, so a handler can never
 * emit two bodies. */
#ifndef WA_FCGI_HTTP_H
#define WA_FCGI_HTTP_H

#include "fcgi/authcache.h"

#include <fcgiapp.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct wa_route;
struct wa_app;
struct wa_db;
struct wa_db_text;

#define WA_MAX_PARAMS 6
#define WA_PATH_MAX 2048

enum wa_role { WA_ROLE_NONE = 0, WA_ROLE_STAFF, WA_ROLE_OWNER, WA_ROLE_SUPERADMIN };

struct wa_user {
	uint64_t id;
	enum wa_role role;
	char name[256];
	char email[256];
	int via_cookie;        /* authenticated by the web login cookie */
	char csrf[65];         /* that web session's CSRF token */
	uint64_t web_session;  /* web_sessions.id when via_cookie */
	/* the sessions granted to the user, when the credential came from (or
	 * went into) the auth cache (fcgi/authcache.h): grants_known set, and
	 * ngrants of them in grants; else looked up per request */
	int grants_known;
	int ngrants;
	uint64_t grants[WA_AUTHC_GRANTS];
};

/* The WhatsApp session a session-scoped route is about, after access checks. */
struct wa_sess {
	uint64_t id;
	char slug[65];         /* public "sessionId" */
	char name[256];
	uint64_t owner;
	char status[32];
};

struct wa_req {
	FCGX_Request *fcgx;
	struct wa_app *app;
	struct wa_db *db;             /* this thread's database connection */
	unsigned long db_writes0;     /* db->writes when the request began */
	const char *method;
	char path[WA_PATH_MAX];       /* decoded path without query */
	const char *query;            /* raw query string, "" if none */
	const struct wa_route *route;
	char *params[WA_MAX_PARAMS];  /* decoded path parameters, by route order */
	int nparams;
	char rid[40];
	struct wa_user user;
	struct wa_sess sess;          /* filled when the route names a session */
	struct {                      /* that session as wa_auth_identify() read it */
		int read;             /* 1: found/granted below are valid for ident */
		int found, granted;
		char ident[65];
	} sess_pre;
	/* rows read with the credentials for the handler (WA_R_SESS_ROWS),
	 * the handler's columns from index rows_from; NULL when not read.
	 * Freed with the request. */
	struct wa_db_text *rows;
	unsigned rows_from;
	/* body */
	char *body;                   /* raw bytes, NUL-terminated, owned (wa_req_release_body) */
	size_t body_len;
	int body_mapped;              /* body is a read-only map of a spooled file (not NUL-terminated) */
	json_t *json;                 /* parsed JSON body (object) when the route takes one */
	/* reply bookkeeping */
	int replied;
	int status;
	/* extra response headers, "Name: value\r\n" lines */
	char extra_headers[1024];
	size_t extra_len;
};

/* Header value from the FastCGI environment (e.g. "X-API-Key" looks up
 * HTTP_X_API_KEY); NULL if absent. */
const char *wa_req_header(struct wa_req *r, const char *name);
/* Raw FastCGI parameter (e.g. "REMOTE_ADDR"). */
const char *wa_req_param(struct wa_req *r, const char *name);
/* Cookie value by name into buf; 0 if found, -1 if not. */
int wa_req_cookie(struct wa_req *r, const char *name, char *buf, size_t len);
/* Decoded query parameter into buf; 0 if present, -1 if absent or bad escape. */
int wa_req_query(struct wa_req *r, const char *name, char *buf, size_t len);
/* Path parameter by name ("sessionId", "jid"...), NULL if the route has none. */
const char *wa_req_path_param(struct wa_req *r, const char *name);

/* Read the body (up to max bytes; more is a 413). Returns 0, or -1 after
 * having replied with the error. Idempotent. */
int wa_req_read_body(struct wa_req *r, size_t max);
/* The same for an upload: the body is written to an unlinked file in dir
 * as it arrives (64 KiB at a time) and r->body maps that file read-only
 * (r->body_mapped; not NUL-terminated), so a 64 MB video is file pages the
 * kernel may drop, not 64 MB of the worker's heap. */
int wa_req_spool_body(struct wa_req *r, size_t max, const char *dir);
/* Free or unmap the body (the request's end). */
void wa_req_release_body(struct wa_req *r);
/* Read and parse a JSON object body into r->json. An empty body becomes {}
 * when allow_empty. Returns 0, or -1 after replying 400/413/415. */
int wa_req_json(struct wa_req *r, int allow_empty);

/* Add a response header line (name and value must not contain CR/LF). */
void wa_reply_header(struct wa_req *r, const char *name, const char *value);
/* Reply with a JSON value; takes ownership of `body` (NULL = "null"). */
int wa_reply_json(struct wa_req *r, int status, json_t *body);
/* Reply in the API's error shape {"status":false,"message":..,"error":..}.
 * `error` may be NULL (then a short code derived from the status is used).
 * Always returns -1 so handlers can `return wa_reply_error(...)`. */
int wa_reply_error(struct wa_req *r, int status, const char *message, const char *error);
/* printf-style message variant. */
int wa_reply_errorf(struct wa_req *r, int status, const char *error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* {"status":true,"message":msg,"data":data} (data may be NULL -> null). */
int wa_reply_ok(struct wa_req *r, int status, const char *msg, json_t *data);
/* {"success":true,"message":msg} plus extra members of `extra` (may be NULL, stolen). */
int wa_reply_success(struct wa_req *r, const char *msg, json_t *extra);
/* Empty body with X-Accel-Redirect to `uri`, Content-Type given. */
int wa_reply_accel(struct wa_req *r, const char *uri, const char *ctype, const char *disposition);
/* Raw body with content type. */
int wa_reply_raw(struct wa_req *r, int status, const char *ctype, const void *data, size_t len);

const char *wa_status_text(int status);

#endif
