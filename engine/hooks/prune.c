/* prune: deleting the old rows of the delivery log and the events outbox
 * (see hooks.h, "pruning"). Each statement deletes at most PRUNE_CHUNK
 * rows in its own autocommit transaction, oldest first by primary key, so
 * no lock is held for long and the engines' outbox inserts go on. */
#include "engine/hooks/hooks.h"
#include "wa_log.h"


#define PRUNE_CHUNK 1000  /* the LIMIT of the statements below */
#define PRUNE_CHUNKS 50  /* per call: at most 50,000 rows of each table */

/* Run sql (one "?": the age in hours) until it deletes fewer than a
 * chunk, at most PRUNE_CHUNKS times. The rows deleted, or -1. */
static long long chunks(struct wa_db *db, const char *sql, long long hours)
{
	long long total = 0, n;

	for (int i = 0; i < PRUNE_CHUNKS; i++) {
		n = wa_db_exec(db, sql, "i", hours);
		if (n < 0)
			return -1;
		total += n;
		if (n < PRUNE_CHUNK || wa_hooks_stop_requested())
			break;
	}
	return total;
}

long long wa_hooks_prune(struct wa_db *db, const struct wa_hooks_cfg *hc)
{
	long long hours, d, o;

	if (hc->keep_days <= 0)
		return 0;
	hours = (long long)hc->keep_days * 24;
	/* finished deliveries: the (state, next_attempt_at) index, NULL there */
	d = chunks(db, "DELETE FROM webhook_deliveries WHERE state IN ('DELIVERED', 'FAILED') AND "
		   "next_attempt_at IS NULL AND created_at < NOW(3) - INTERVAL ? HOUR ORDER BY id LIMIT 1000",
		   hours);
	if (d < 0)
		return -1;
	/* published events no delivery waits for (0015's index) */
	o = chunks(db, "DELETE FROM events_outbox WHERE published_at IS NOT NULL AND "
		   "published_at < NOW(3) - INTERVAL ? HOUR AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d "
		   "WHERE d.outbox_id = events_outbox.id AND d.state = 'PENDING') ORDER BY published_at, id LIMIT 1000",
		   hours);
	if (o < 0)
		return -1;
	if (d + o > 0)
		wa_info("pruned %lld deliveries and %lld outbox events older than %ld days", d, o, hc->keep_days);
	return d + o;
}
