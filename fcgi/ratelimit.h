/* ratelimit: the per-address limits the workers keep themselves, for the
 * routes where nginx's per-credential limits cannot help: failed sign-ins
 * (password guessing) and registrations, per client address (REMOTE_ADDR).
 * Every other limit is nginx's (limit_req per API key or web session, and
 * per address for requests without credentials; nginx/dev.conf.in).
 *
 * A limit is a GCRA bucket: `per_minute` sustained, `burst` at once. Its
 * state is one row of rate_limits (db/migrations/0008_rate_limits.sql), so
 * every worker on every host shares it; a check or a charge is one
 * statement on the caller's connection. Not for use inside a transaction.
 * On a database failure the functions return -1 and the caller decides
 * (the handlers refuse with 503 rather than let an attempt through
 * unchecked). */
#ifndef WA_FCGI_RATELIMIT_H
#define WA_FCGI_RATELIMIT_H

#include "fcgi/http.h"

struct wa_db;

struct wa_rate {
	const char *scope;   /* "signin", "register": the row's scope */
	long per_minute;     /* >= 1 */
	long burst;          /* >= 1 */
};

/* Whether `subject` may make one more attempt now. With take=1 the attempt
 * is counted if allowed (atomically: concurrent callers cannot overrun it).
 * Returns 0 when allowed, the whole seconds until it will be (>= 1) when
 * refused, or -1 on a database failure. */
long wa_rate_check(struct wa_db *db, const struct wa_rate *lim, const char *subject, int take);

/* Count one attempt unconditionally (a failed sign-in after the check let
 * it through). 0 or -1. */
int wa_rate_charge(struct wa_db *db, const struct wa_rate *lim, const char *subject);

/* 429 in the API's error shape ("error":"rate_limited") with Retry-After:
 * secs. Always returns -1. */
int wa_reply_rate_limited(struct wa_req *r, long secs, const char *message);

#endif
