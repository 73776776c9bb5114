/* iq: waiting for IQ answers (iq.h). */
#include "engine/iq.h"
#include "wa_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wa_iq_waiter {
	struct wa_iq_waiter *next;
	char id[32];
	uint64_t deadline_ms;
	wa_iq_fn fn;
	void *ctx;
};

void wa_iqs_init(struct wa_iqs *q)
{
	memset(q, 0, sizeof *q);
	if (wa_iqid_prefix(q->prefix) != 0)
		snprintf(q->prefix, sizeof q->prefix, "1.1-");
}

void wa_iqs_next_id(struct wa_iqs *q, char *buf, size_t cap)
{
	if (wa_iqid_format(q->prefix, ++q->counter, buf, cap) < 0 && cap)
		buf[0] = '\0';
}

int wa_iqs_send(struct wa_iqs *q, wa_iq_send_fn send, void *conn, struct wa_node *iq, int timeout_ms,
		wa_iq_fn fn, void *ctx, uint64_t now_ms)
{
	struct wa_iq_waiter *w = NULL;
	char id[32];
	const char *have = wa_node_attr(iq, "id");
	int rc;

	if (fn && q->n >= WA_IQS_MAX)
		return WA_EFULL;
	if (have && strlen(have) < sizeof id) {
		snprintf(id, sizeof id, "%s", have);
	} else {
		wa_iqs_next_id(q, id, sizeof id);
		if (wa_node_set_attr(iq, "id", id) != 0)
			return WA_ENOMEM;
	}
	if (!wa_node_attr(iq, "to") && wa_node_set_attr(iq, "to", "s.whatsapp.net") != 0)
		return WA_ENOMEM;
	if (fn) {
		w = calloc(1, sizeof *w);
		if (!w)
			return WA_ENOMEM;
		snprintf(w->id, sizeof w->id, "%s", id);
		w->deadline_ms = now_ms + (uint64_t)(timeout_ms > 0 ? timeout_ms : WA_IQ_TIMEOUT_MS);
		w->fn = fn;
		w->ctx = ctx;
	}
	rc = send(conn, iq);
	if (rc != 0) {
		free(w);
		return rc;
	}
	if (w) {
		w->next = q->head;
		q->head = w;
		q->n++;
	}
	return 0;
}

int wa_iqs_match(struct wa_iqs *q, const struct wa_node *n)
{
	const char *id = wa_node_attr(n, "id");
	struct wa_iq_waiter **pp, *w;

	if (!id || strcmp(n->tag, "iq") != 0 ||
	    !(wa_node_attr_is(n, "type", "result") || wa_node_attr_is(n, "type", "error")))
		return 0;
	for (pp = &q->head; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, id) != 0)
			continue;
		w = *pp;
		*pp = w->next;
		q->n--;
		w->fn(w->ctx, n, 0);
		free(w);
		return 1;
	}
	return 0;
}

uint64_t wa_iqs_expire(struct wa_iqs *q, uint64_t now_ms)
{
	struct wa_iq_waiter **pp = &q->head, *w;
	uint64_t next = 0;

	while ((w = *pp) != NULL) {
		if (w->deadline_ms <= now_ms) {
			*pp = w->next;
			q->n--;
			w->fn(w->ctx, NULL, WA_ETIMEDOUT);
			free(w);
			pp = &q->head; /* the callback may have changed the list */
			next = 0;
			continue;
		}
		if (!next || w->deadline_ms < next)
			next = w->deadline_ms;
		pp = &w->next;
	}
	return next;
}

void wa_iqs_fail_all(struct wa_iqs *q, int err)
{
	struct wa_iq_waiter *w;

	while ((w = q->head) != NULL) {
		q->head = w->next;
		q->n--;
		w->fn(w->ctx, NULL, err);
		free(w);
	}
}
