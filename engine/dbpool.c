/* dbpool: sharded MariaDB worker threads (see dbpool.h). */
#include "engine/dbpool.h"
#include "engine/inbox.h"
#include "fcgi/db.h"
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

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	wa_log_set_rid("db");
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job *j;

		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->head)
			break; /* stop, and nothing left */
		j = w->head;
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->mu);
		j->rc = j->run(&w->db, j->arg);
		/* Never lost: the loop must see every completion (a message
		 * is acked only from there). */
		if (wa_inbox_post_always(w->pool->ib, job_done, j) < 0) {
			wa_error("db completion lost: out of memory");
			free(j);
		}
		pthread_mutex_lock(&w->mu);
		w->n--;
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

	for (int i = 0; i < 3; i++) {
		rc = txn(db, arg);
		if (rc != WA_ESTORAGE || wa_db_errno(db) != WA_DB_DEADLOCK)
			break;
	}
	return rc;
}
