/* iq: the IQs one connection has sent and waits for (docs/protocol.md §12.4).
 *
 * wa_iqs_send() gives the IQ an id (whatsmeow's "<b0>.<b1>-<n>" form, a
 * fresh prefix per connection), sends it and remembers (id, callback,
 * deadline). wa_iqs_match() is offered every received <iq type="result"|
 * "error">: the waiter with that id is removed and called with the reply.
 * A waiter is called exactly once: with the reply, or with reply = NULL and
 * err = WA_ETIMEDOUT after its timeout (wa_iqs_expire, from a timer), or
 * err = WA_ECLOSED when the connection goes (wa_iqs_fail_all).
 *
 * Bounded: at most WA_IQS_MAX waiters; past that wa_iqs_send refuses with
 * WA_EFULL (a server that never answers cannot grow us).
 *
 * Threading: loop thread only. Ownership: the reply node is borrowed for
 * the callback; the IQ passed to wa_iqs_send stays the caller's. */
#ifndef WA_ENGINE_IQ_H
#define WA_ENGINE_IQ_H

#include <stdint.h>

#include "wa/msgid.h"
#include "wa/node.h"

#define WA_IQS_MAX 256
#define WA_IQ_TIMEOUT_MS 60000  /* BL's default query timeout (WM: 75 s) */

/* err: 0 with reply set (type result or error: check it), or
 * WA_ETIMEDOUT / WA_ECLOSED / the send error with reply NULL. */
typedef void (*wa_iq_fn)(void *ctx, const struct wa_node *reply, int err);

struct wa_iq_waiter;

struct wa_iqs {
	char prefix[WA_IQID_PREFIX_MAX];
	uint64_t counter;
	struct wa_iq_waiter *head;
	unsigned n;
};

/* The transport: sends one node, 0 or a negative wa_err code. */
typedef int (*wa_iq_send_fn)(void *conn, const struct wa_node *n);

/* Reset for a new connection (a fresh id prefix). Waiters must be gone. */
void wa_iqs_init(struct wa_iqs *q);

/* Give iq an id (kept when it has one) and to="s.whatsapp.net" when it has
 * no "to", send it with send(conn, iq) and wait timeout_ms (0 = default).
 * fn may be NULL (fire and forget, nothing remembered). 0, or a negative
 * code: then fn is NOT called. */
int wa_iqs_send(struct wa_iqs *q, wa_iq_send_fn send, void *conn, struct wa_node *iq, int timeout_ms,
		wa_iq_fn fn, void *ctx, uint64_t now_ms);

/* A fresh id into buf (for stanzas that are not IQs but need ids). */
void wa_iqs_next_id(struct wa_iqs *q, char *buf, size_t cap);

/* 1 when n answered a waiter (which ran), else 0. */
int wa_iqs_match(struct wa_iqs *q, const struct wa_node *n);

/* Time out the waiters whose deadline passed; returns the earliest deadline
 * still pending (0 = none). */
uint64_t wa_iqs_expire(struct wa_iqs *q, uint64_t now_ms);

/* Call every waiter with err (connection gone) and forget them. */
void wa_iqs_fail_all(struct wa_iqs *q, int err);

#endif
