/* dbpool: the engine's MariaDB work, off the loop thread.
 *
 * A few threads, each with its own connection (struct wa_db of
 * fcgi/db.h: prepared statements cached per connection, the lost-
 * connection rule stated there) and its own FIFO of jobs. A job is
 * run(db, arg) on that thread, then done(arg, rc) is posted to the loop's
 * inbox and runs on the loop thread. Jobs are sharded: every job with the
 * same shard key (a session's row id, say) goes to the same thread, so one
 * session's jobs run, and complete, in the order submitted; different
 * sessions proceed in parallel and a slow statement of one session delays
 * only the sessions sharing its thread.
 *
 * Group commit: a thread takes every job queued when it looks (at most
 * engine.db_batch) and runs them in one outer transaction, in which a
 * job's own begin and commit cost no statement (fcgi/db.h,
 * wa_db_batch_begin); one COMMIT makes them all durable, and only then are
 * their completions posted, so nothing is answered before it is
 * committed. A job that rolls back voids the batch: the jobs before it
 * run again as a batch, it runs alone (where its rollback undoes only its
 * own work), the rest as a batch; a deadlock or a lost connection voids
 * it too, and then every job runs again on its own. So run() must be safe
 * to run twice (as with wa_dbjob_retry). A job's failed run() in a batch that commits has left
 * nothing behind but what it wrote outside a transaction of its own, as
 * without batches.
 *
 * Bounds: each thread queues at most `max_queued` jobs; a submit past that
 * fails and the caller decides (an inbound message is then not acked, so
 * the server redelivers it). Completions are never dropped.
 *
 * Threading: submit from the loop thread (or any thread); run() runs on a
 * pool thread and must touch only its argument and the database; done()
 * runs on the loop thread. Ownership: arg belongs to the job from submit
 * until done() returns (done may free it). done may be NULL. */
#ifndef WA_ENGINE_DBPOOL_H
#define WA_ENGINE_DBPOOL_H

#include <stddef.h>
#include <stdint.h>

struct wa_config;
struct wa_db;
struct wa_inbox;
struct wa_dbpool;

typedef int (*wa_dbjob_fn)(struct wa_db *db, void *arg);
typedef void (*wa_dbdone_fn)(void *arg, int rc);

/* Start nthreads (1..32) threads. Connections are opened lazily by the
 * first job of each thread and reopened after a loss. NULL on bad
 * arguments or when a thread cannot start. */
struct wa_dbpool *wa_dbpool_new(const struct wa_config *cfg, unsigned nthreads, size_t max_queued,
				struct wa_inbox *ib);

/* Queue run(db, arg) on the thread of shard; done(arg, rc) follows on the
 * loop thread with run's return value. 0, or -1 when that thread's queue
 * is full or memory is short (nothing queued, arg still the caller's). */
int wa_dbpool_submit(struct wa_dbpool *p, uint64_t shard, wa_dbjob_fn run, wa_dbdone_fn done, void *arg);

/* For run() functions whose work is one transaction: run txn(db, arg),
 * and again (up to 3 tries in all) while it fails with WA_ESTORAGE because
 * MariaDB rolled the transaction back on a deadlock. txn must start its
 * transaction itself and leave none open. Returns txn's last result. */
int wa_dbjob_retry(struct wa_db *db, wa_dbjob_fn txn, void *arg);

/* Jobs queued or running (a snapshot). */
size_t wa_dbpool_pending(struct wa_dbpool *p);

/* Run every queued job, stop the threads, close the connections. The
 * completions are in the inbox afterwards (drain it). NULL-safe. */
void wa_dbpool_free(struct wa_dbpool *p);

#endif
