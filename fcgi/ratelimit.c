/* ratelimit: per-address GCRA buckets in MariaDB (see ratelimit.h).
 *
 * A bucket is its theoretical arrival time `tat`: each counted attempt moves
 * it T = 60 s / per_minute later (starting from now when it lies in the
 * past), and an attempt is refused while tat - now > tau = T * (burst - 1),
 * i.e. while the burst is used up. The refusal lasts until tat - tau. */
#include "fcgi/ratelimit.h"
#include "fcgi/db.h"
#include "wa_log.h"
#include "wa_util.h"

#include <stdint.h>
#include <stdio.h>

static long long period_us(const struct wa_rate *lim)
{
	return 60000000LL / (lim->per_minute > 0 ? lim->per_minute : 1);
}

static long long tau_us(const struct wa_rate *lim)
{
	return period_us(lim) * (lim->burst > 1 ? lim->burst - 1 : 0);
}

/* microseconds until one more attempt is allowed (0: now), or -1 */
static long long wait_us(struct wa_db *db, const struct wa_rate *lim, const char *subject)
{
	long long w = wa_db_int(db, 0,
				"SELECT GREATEST(0, TIMESTAMPDIFF(MICROSECOND, NOW(6), tat) - ?) FROM rate_limits "
				"WHERE scope = ? AND subject = ?",
				"iss", tau_us(lim), lim->scope, subject);

	return wa_db_err(db) == WA_OK ? w : -1;
}

static long whole_secs(long long us)
{
	return us <= 0 ? 0 : (long)((us + 999999) / 1000000);
}

/* now and then, forget buckets that are back to full */
static void sweep(struct wa_db *db)
{
	uint8_t b;

	if (wa_random(&b, 1) == 0 && b < 4)
		wa_db_exec(db, "DELETE FROM rate_limits WHERE tat < NOW(6) LIMIT 200", "");
}

long wa_rate_check(struct wa_db *db, const struct wa_rate *lim, const char *subject, int take)
{
	long long n, w;

	if (!subject)
		subject = "";
	if (take) {
		/* 1 inserted or 2 changed: counted; 0 (row left as it was): refused */
		n = wa_db_exec(db,
			       "INSERT INTO rate_limits (scope, subject, tat) VALUES (?, ?, NOW(6) + INTERVAL ? MICROSECOND) "
			       "ON DUPLICATE KEY UPDATE tat = IF(tat > NOW(6) + INTERVAL ? MICROSECOND, tat, "
			       "GREATEST(tat, NOW(6)) + INTERVAL ? MICROSECOND)",
			       "ssiii", lim->scope, subject, period_us(lim), tau_us(lim), period_us(lim));
		if (n < 0)
			return -1;
		if (n > 0) {
			sweep(db);
			return 0;
		}
	}
	w = wait_us(db, lim, subject);
	if (w < 0)
		return -1;
	/* refused by the statement but free again a moment later: wait a second */
	if (take && w == 0)
		return 1;
	return whole_secs(w);
}

int wa_rate_charge(struct wa_db *db, const struct wa_rate *lim, const char *subject)
{
	/* at most one burst of debt, however many attempts raced the check */
	if (wa_db_exec(db,
		       "INSERT INTO rate_limits (scope, subject, tat) VALUES (?, ?, NOW(6) + INTERVAL ? MICROSECOND) "
		       "ON DUPLICATE KEY UPDATE tat = LEAST(GREATEST(tat, NOW(6)) + INTERVAL ? MICROSECOND, "
		       "NOW(6) + INTERVAL ? MICROSECOND)",
		       "ssiii", lim->scope, subject ? subject : "", period_us(lim), period_us(lim),
		       tau_us(lim) + period_us(lim)) < 0)
		return -1;
	sweep(db);
	return 0;
}

int wa_reply_rate_limited(struct wa_req *r, long secs, const char *message)
{
	char v[24];

	snprintf(v, sizeof v, "%ld", secs > 0 ? secs : 1);
	wa_reply_header(r, "Retry-After", v);
	wa_info("%s %s rate limited (%s), retry after %s s", r->method, r->path, message, v);
	return wa_reply_errorf(r, 429, "rate_limited", "Too many requests: %s; retry after %s s", message, v);
}
