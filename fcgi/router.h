/* router: the one route table (method + path pattern -> handler) and matching.
 *
 * Patterns are literal segments and {name} parameters, e.g.
 * "/api/groups/{sessionId}/{jid}/leave". Among patterns that match a path,
 * the one whose first differing segment is literal wins (so
 * "POST /sessions/{id}/bot-config" beats "POST /sessions/{id}/{action}").
 * Parameters are percent-decoded after the path is split, so an encoded '/'
 * stays inside its parameter. The table is immutable after wa_router_init()
 * and shared read-only by all threads. */
#ifndef WA_FCGI_ROUTER_H
#define WA_FCGI_ROUTER_H

#include "fcgi/http.h"

#define WA_MAX_SEGS 10

typedef int (*wa_handler_fn)(struct wa_req *r);

/* Route flags */
enum {
	WA_R_PUBLIC      = 1 << 0, /* no authentication needed */
	WA_R_AUTH_OPT    = 1 << 1, /* authenticate if credentials are present */
	WA_R_SESS        = 1 << 2, /* path names a WhatsApp session: resolve + access check */
	WA_R_SESS_MANAGE = 1 << 3, /* ...and only its owner or a SUPERADMIN may use the route */
	WA_R_SUPERADMIN  = 1 << 4, /* SUPERADMIN only */
	WA_R_NO_CSRF     = 1 << 5, /* a cookie-authenticated write without CSRF token is fine */
	WA_R_EXTRA       = 1 << 6, /* not in the API reference's route list (our addition) */
	WA_R_SESS_BODY   = 1 << 7, /* the session is named by the body field "sessionId" */
	WA_R_UPLOAD      = 1 << 8, /* multipart/form-data body with a file */
	WA_R_URL_ALT     = 1 << 9, /* an upload route that also takes JSON {"url"} instead */
	WA_R_SESS_ROWS   = 1 << 10, /* with WA_R_SESS: the credentials are read by h_session_identify(),
				     * with the session's rows for the handler (one statement) */
};

/* Field validation spec for routes whose body is checked declaratively. */
enum wa_ftype {
	WA_F_END = 0,
	WA_F_STR,       /* non-empty string */
	WA_F_STR0,      /* string, may be empty */
	WA_F_BOOL,
	WA_F_INT,
	WA_F_NUM,
	WA_F_OBJ,
	WA_F_ARR,       /* any array */
	WA_F_ARR_STR,   /* non-empty array of non-empty strings */
	WA_F_ARR_JID,   /* non-empty array of JIDs or phone numbers */
	WA_F_JID,       /* a JID or phone number */
	WA_F_ENUM,      /* string, one of `values` ("a|b|c") */
	WA_F_STR_OR_OBJ,/* string or object (message content) */
	WA_F_INT_OR_STR,/* integer or non-empty string (a colour: ARGB or "#RRGGBB") */
};

struct wa_field {
	const char *name;
	enum wa_ftype type;
	int required;
	const char *values; /* WA_F_ENUM: "a|b|c"; WA_F_STR: max length as text, optional */
};

struct wa_route {
	const char *method;
	const char *pattern;
	const char *group;      /* API reference group (OpenAPI tag) */
	const char *summary;
	const char *required;   /* required inputs as in routes.tsv ("a,b"; "?id" = query) */
	const char *codes;      /* documented status codes */
	wa_handler_fn handler;
	unsigned flags;
	const char *op;         /* engine operation for forwarded routes */
	const struct wa_field *fields; /* body validation, or NULL */
	/* filled by wa_router_init() */
	int nsegs;
	const char *segs[WA_MAX_SEGS];     /* literal text, or NULL for a parameter */
	char seg_store[256];
	int nparams;
	const char *param_names[WA_MAX_PARAMS];
	unsigned literal_mask;  /* bit (nsegs-1-i) set when segment i is literal */
};

extern struct wa_route wa_routes[];
extern const size_t wa_nroutes;

/* Compile the patterns. Returns 0, or -1 (logged) on a malformed table. */
int wa_router_init(void);

enum wa_match { WA_MATCH_OK, WA_MATCH_NOT_FOUND, WA_MATCH_BAD_METHOD, WA_MATCH_BAD_PATH };

/* Match raw (still percent-encoded) path `path` with `method`. On OK, *out
 * is the route and params[] are heap copies the caller frees (nparams set).
 * On BAD_METHOD, allow gets the comma-separated methods that would match. */
enum wa_match wa_router_match(const char *method, const char *path,
			      const struct wa_route **out, char **params, int *nparams,
			      char *allow, size_t allowlen);

#endif
