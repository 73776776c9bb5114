/* inbox: a mutex-protected FIFO plus an lws wake-up (see inbox.h). */
#include "engine/inbox.h"

#include <pthread.h>
#include <stdlib.h>

#include <libwebsockets.h>

struct item {
	struct item *next;
	wa_inbox_fn fn;
	void *arg;
};

struct wa_inbox {
	pthread_mutex_t mu;
	struct item *head, *tail;
	size_t n, max;
	struct lws_context *ctx;
};

struct wa_inbox *wa_inbox_new(size_t max)
{
	struct wa_inbox *ib = calloc(1, sizeof *ib);

	if (!ib)
		return NULL;
	pthread_mutex_init(&ib->mu, NULL);
	ib->max = max ? max : 65536;
	return ib;
}

void wa_inbox_set_context(struct wa_inbox *ib, struct lws_context *ctx)
{
	int queued;

	pthread_mutex_lock(&ib->mu);
	ib->ctx = ctx;
	queued = ib->head != NULL;
	pthread_mutex_unlock(&ib->mu);
	/* what was posted before could not wake anyone: later posts find the
	 * queue non-empty and do not either */
	if (ctx && queued)
		lws_cancel_service(ctx);
}

static int post(struct wa_inbox *ib, wa_inbox_fn fn, void *arg, int bounded)
{
	struct item *it;
	struct lws_context *ctx;
	int wake;

	if (!ib || !fn)
		return -1;
	it = malloc(sizeof *it);
	if (!it)
		return -1;
	it->next = NULL;
	it->fn = fn;
	it->arg = arg;
	pthread_mutex_lock(&ib->mu);
	if (bounded && ib->n >= ib->max) {
		pthread_mutex_unlock(&ib->mu);
		free(it);
		return -1;
	}
	/* Only the post that finds the queue empty wakes the loop: while it
	 * is not empty, a wake-up is on its way and the drain it leads to
	 * takes everything queued by then (a batch of database completions
	 * costs one wake-up, not one each). */
	wake = ib->head == NULL;
	if (ib->tail)
		ib->tail->next = it;
	else
		ib->head = it;
	ib->tail = it;
	ib->n++;
	ctx = ib->ctx;
	pthread_mutex_unlock(&ib->mu);
	/* Outside the lock: lws_cancel_service only writes to the loop's
	 * wake-up pipe, and may be called from any thread. */
	if (ctx && wake)
		lws_cancel_service(ctx);
	return 0;
}

int wa_inbox_post(struct wa_inbox *ib, wa_inbox_fn fn, void *arg)
{
	return post(ib, fn, arg, 1);
}

int wa_inbox_post_always(struct wa_inbox *ib, wa_inbox_fn fn, void *arg)
{
	return post(ib, fn, arg, 0);
}

size_t wa_inbox_drain(struct wa_inbox *ib)
{
	struct item *list, *next;
	size_t ran = 0;

	pthread_mutex_lock(&ib->mu);
	list = ib->head;
	ib->head = ib->tail = NULL;
	ib->n = 0;
	pthread_mutex_unlock(&ib->mu);
	for (; list; list = next) {
		next = list->next;
		list->fn(list->arg);
		free(list);
		ran++;
	}
	return ran;
}

size_t wa_inbox_pending(struct wa_inbox *ib)
{
	size_t n;

	pthread_mutex_lock(&ib->mu);
	n = ib->n;
	pthread_mutex_unlock(&ib->mu);
	return n;
}

void wa_inbox_free(struct wa_inbox *ib)
{
	if (!ib)
		return;
	wa_inbox_set_context(ib, NULL);
	while (wa_inbox_pending(ib) > 0)
		wa_inbox_drain(ib);
	pthread_mutex_destroy(&ib->mu);
	free(ib);
}
