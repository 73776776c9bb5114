/* wa-akg-hooks: webhook delivery from the durable events outbox.
 *
 * Everything it knows is in MariaDB, so a restart or kill -9 loses nothing:
 *
 *   fan-out   events_outbox rows with published_at IS NULL, in id order,
 *             become one webhook_deliveries row (state PENDING) per
 *             matching active webhook, and published_at is set, in one
 *             transaction. INSERT IGNORE on UNIQUE(webhook_id, outbox_id)
 *             makes a repeated fan-out (a crash before the commit, a second
 *             daemon) harmless.
 *   delivery  a PENDING row is sent when it is due and no earlier PENDING
 *             row of the same webhook and session exists (order per
 *             (session, webhook)); a 2xx makes it DELIVERED, anything else
 *             schedules a retry with exponential back-off and jitter, gives
 *             it up (FAILED) after hooks.give_up_hours, and pauses the
 *             webhook (is_active = 0, a notification to its owner) once its
 *             oldest pending event has failed for hooks.pause_after_hours.
 *             Up to hooks.parallel queues are attempted at once (libcurl
 *             multi): a slow or dead receiver delays only its own queue.
 *             An attempt first claims its row (next_attempt_at moved past
 *             the attempt's deadline, hooks.timeout_ms plus
 *             WA_HOOKS_CLAIM_SLACK_MS), so several wa-akg-hooks processes
 *             can run on one database without sending an event twice;
 *             the row is updated after the attempt, and a crash in between
 *             sends that event again once the claim runs out (at least
 *             once; same event id).
 *   pruning   every WA_HOOKS_PRUNE_EVERY_S, delivered and failed
 *             deliveries and published outbox events older than
 *             hooks.keep_days are deleted in batches (an event that still
 *             has a pending delivery is kept, whatever its age: a paused
 *             webhook's events wait for it).
 *
 * Threading: one thread; every function here runs on it. */
#ifndef WA_HOOKS_H
#define WA_HOOKS_H

#include "fcgi/db.h"
#include "wa_url.h"

#include <stddef.h>

struct wa_config;

/* Margin of a delivery's claim beyond the attempt's own deadline. */
#define WA_HOOKS_CLAIM_SLACK_MS 2000
/* How often the old outbox and delivery rows are pruned. */
#define WA_HOOKS_PRUNE_EVERY_S 3600

struct wa_hooks_cfg {
	long batch;               /* events per fan-out transaction, deliveries per pass */
	long parallel;            /* attempts in flight at once */
	long keep_days;           /* prune after this many days; 0 = keep everything */
	long poll_ms;             /* fallback poll period */
	long coalesce_ms;         /* after a wake-up, wait this long for more events */
	long engines_refresh_ms;  /* how often the engines table is re-read */
	long retry_first_ms, retry_max_ms;
	long give_up_hours, pause_after_hours;
	struct wa_fetch_policy policy;  /* address rule, timeouts (timeout_ms = one attempt) */
};

/* Read the hooks.* keys. 0, or -1 with err naming the key. */
int wa_hooks_cfg_load(const struct wa_config *cfg, struct wa_hooks_cfg *hc, char *err, size_t errlen);

/* Fan out up to hc->batch events in one transaction. Returns the number of
 * events published (0 = backlog empty; fewer than hc->batch = nothing was
 * left when it looked), or -1 on a database failure (logged; nothing of
 * the batch committed). *created (may be NULL) gets the number of
 * deliveries the batch made: none means there is nothing new to deliver. */
int wa_hooks_fanout(struct wa_db *db, const struct wa_hooks_cfg *hc, long long *created);

/* One delivery step, never waiting for a receiver: record the attempts
 * that ended (a delivered one goes on with the next event of its queue);
 * then, when scan is set (new events, a retry due, the poll period) or the
 * last scan left queues waiting for a slot, read the due head deliveries
 * (at most hc->batch) and start them on the free ones of hc->parallel
 * slots. Returns the number of attempts that succeeded (>= 0), or -1 on a
 * database failure. *attempted gets the number of attempts started,
 * *retry_ms the shortest back-off scheduled (-1 if none). */
int wa_hooks_deliver(struct wa_db *db, const struct wa_hooks_cfg *hc, int scan, int *attempted, long *retry_ms);

/* Attempts in flight. */
int wa_hooks_in_flight(void);

/* Wait up to ms for progress of the attempts in flight, or for fd (-1:
 * none) to become readable. */
void wa_hooks_wait(long ms, int fd);

/* Delete up to a bounded number of rows older than hc->keep_days (see
 * "pruning" above); nothing when keep_days is 0. Returns the number of
 * rows deleted, or -1 on a database failure. */
long long wa_hooks_prune(struct wa_db *db, const struct wa_hooks_cfg *hc);

/* Whether SIGTERM/SIGINT came (main.c): a pass stops between attempts. */
int wa_hooks_stop_requested(void);

/* Free the HTTP handles the attempts share (at exit). */
void wa_hooks_http_cleanup(void);

/* The body a webhook receives for an event: {"event", "sessionId",
 * "timestamp", "data"} as compact JSON (malloc'd), NULL when out of memory
 * or when payload is not JSON. created_at is the ISO-8601 time. */
char *wa_hooks_body(const char *event, const char *session_slug, const char *created_at, const char *payload);

/* "sha256=<hex>" of HMAC-SHA256(secret, "<ts>.<body>") into out (at least
 * 72 bytes). 0 or -1. */
int wa_hooks_sign(const char *secret, const char *ts, const char *body, size_t body_len, char *out, size_t cap);

/* Back-off before attempt n+1 after n failed attempts (n >= 1): min(cap,
 * first * 2^(n-1)), then a uniformly random value in [d/2, d]. */
long wa_hooks_backoff_ms(const struct wa_hooks_cfg *hc, unsigned attempts);

#endif
