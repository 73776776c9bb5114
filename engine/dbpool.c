/* dbpool: sharded MariaDB worker threads (see dbpool.h). */
#include "engine/dbpool.h"
#include "engine/inbox.h"
#include "fcgi/db.h"
#include "wa_config.h"
#include "wa_err.h"
#include "wa_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct job {
	struct job *next;
	wa_dbjob_fn run;
	wa_dbdone_fn done;
	void *arg;
	int rc;
};

struct worker {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	size_t n;              /* queued + running */
	int stop;
	struct wa_db db;       /* this thread's connection */
	struct wa_dbpool *pool;
	int started;
};

struct wa_dbpool {
	struct wa_inbox *ib;
	size_t max_queued;
	long batch;            /* engine.db_batch: most jobs per commit */
	unsigned nthreads;
	struct worker w[];
};

static void job_done(void *arg)
{
	struct job *j = arg;

	if (j->done)
		j->done(j->arg, j->rc);
	free(j);
}

/* Never lost: the loop must see every completion (a message is acked
 * only from there). */
static void post(struct worker *w, struct job *j)
{
	if (wa_inbox_post_always(w->pool->ib, job_done, j) < 0) {
		wa_error("db completion lost: out of memory");
		free(j);
	}
}

/* Run the jobs of list (n of them) under one commit, then post them. When
 * one job rolls back, the batch is voided: the jobs before it run again as
 * a batch, it runs alone (its rollback then undoes only its own work), and
 * the rest go on as a batch. When the batch cannot start or is lost to the
 * database (a deadlock, a lost connection), nothing of it was committed
 * and each job runs again on its own; when the COMMIT itself was cut off,
 * the outcome is unknown and every job fails. */
static void run_batch(struct worker *w, struct job *list, size_t n)
{
	struct job *j, *next, *stop = NULL, **pp;
	int rc = -1, voided = 0;
	size_t before = 0;

	if (n > 1 && wa_db_batch_begin(&w->db) == 0) {
		for (j = list; j; j = j->next, before++) {
			j->rc = j->run(&w->db, j->arg);
			if (wa_db_batch_lost(&w->db)) {
				stop = j; /* what is left of it would only fail */
				break;
			}
		}
		voided = wa_db_batch_voided(&w->db);
		rc = wa_db_batch_end(&w->db);
		if (rc == 0)
			wa_debug("%zu database jobs committed together", n);
		else if (rc == -1 && !voided)
			wa_info("a batch of %zu database jobs was not committed (%s); running them one by one", n,
				wa_db_errno(&w->db) == WA_DB_DEADLOCK ? "deadlock" : "database error");
	}
	if (rc == -1 && voided && stop) {
		struct job *rest = stop->next;

		wa_debug("job %zu of a batch of %zu rolled back: it runs alone, the others as batches", before + 1,
			 n);
		for (pp = &list; *pp != stop; pp = &(*pp)->next)
			;
		*pp = NULL;
		stop->next = NULL;
		if (list)
			run_batch(w, list, before);
		stop->rc = stop->run(&w->db, stop->arg);
		post(w, stop);
		if (rest)
			run_batch(w, rest, n - before - 1);
		return;
	}
	for (j = list; j; j = next) {
		next = j->next;
		if (rc == -2)
			j->rc = WA_ESTORAGE;
		else if (rc != 0)
			j->rc = j->run(&w->db, j->arg);
		post(w, j);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	wa_log_set_rid("db");
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job *list, *last;
		size_t n = 1;

		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->head)
			break; /* stop, and nothing left */
		/* what is queued now, up to engine.db_batch jobs, in order */
		list = last = w->head;
		while (last->next && (long)n < w->pool->batch) {
			last = last->next;
			n++;
		}
		w->head = last->next;
		if (!w->head)
			w->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&w->mu);
		run_batch(w, list, n);
		pthread_mutex_lock(&w->mu);
		w->n -= n;
	}
	pthread_mutex_unlock(&w->mu);
	wa_db_close(&w->db);
	return NULL;
}

struct wa_dbpool *wa_dbpool_new(const struct wa_config *cfg, unsigned nthreads, size_t max_queued,
				struct wa_inbox *ib)
{
	struct wa_dbpool *p;

	if (!cfg || !ib || nthreads < 1 || nthreads > 32)
		return NULL;
	p = calloc(1, sizeof *p + nthreads * sizeof p->w[0]);
	if (!p)
		return NULL;
	p->ib = ib;
	p->max_queued = max_queued ? max_queued : 100000;
	p->batch = 64;
	{
		char err[160];

		if (wa_config_get_int(cfg, "engine.db_batch", 1, 1000, &p->batch, err, sizeof err) < 0)
			wa_warn("%s; using 64", err);
	}
	p->nthreads = nthreads;
	for (unsigned i = 0; i < nthreads; i++) {
		struct worker *w = &p->w[i];

		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		w->db.cfg = cfg;
		w->pool = p;
		if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
			wa_error("cannot start database thread %u", i);
			wa_dbpool_free(p);
			return NULL;
		}
		w->started = 1;
	}
	return p;
}

int wa_dbpool_submit(struct wa_dbpool *p, uint64_t shard, wa_dbjob_fn run, wa_dbdone_fn done, void *arg)
{
	struct worker *w;
	struct job *j;

	if (!p || !run)
		return -1;
	w = &p->w[shard % p->nthreads];
	j = calloc(1, sizeof *j);
	if (!j)
		return -1;
	j->run = run;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&w->mu);
	if (w->n >= p->max_queued || w->stop) {
		pthread_mutex_unlock(&w->mu);
		free(j);
		return -1;
	}
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->n++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

size_t wa_dbpool_pending(struct wa_dbpool *p)
{
	size_t n = 0;

	for (unsigned i = 0; p && i < p->nthreads; i++) {
		pthread_mutex_lock(&p->w[i].mu);
		n += p->w[i].n;
		pthread_mutex_unlock(&p->w[i].mu);
	}
	return n;
}

void wa_dbpool_free(struct wa_dbpool *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->nthreads; i++) {
		struct worker *w = &p->w[i];

		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	for (unsigned i = 0; i < p->nthreads; i++) {
		struct worker *w = &p->w[i];

		if (w->started)
			pthread_join(w->tid, NULL);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
	}
	free(p);
}

int wa_dbjob_retry(struct wa_db *db, wa_dbjob_fn txn, void *arg)
{
	int rc = WA_ESTORAGE;

	/* a deadlock voids a whole batch: the pool runs its jobs again */
	if (db->batch)
		return txn(db, arg);
	for (int i = 0; i < 3; i++) {
		rc = txn(db, arg);
		if (rc != WA_ESTORAGE || wa_db_errno(db) != WA_DB_DEADLOCK)
			break;
	}
	return rc;
}
