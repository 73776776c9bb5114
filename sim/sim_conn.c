/* sim_conn: one WebSocket connection on /ws/chat. Framing, the Noise
 * responder, the transport ciphers and the ordered queue of encrypted
 * outgoing frames are the library's wa_noise_conn (wa/noise_conn.h); this
 * file adds the ClientPayload decision (registration vs login), stanza
 * (de)coding, the offline queue and the injected delay (docs/protocol.md 1, 2,
 * 12). Stanzas go to sim_dispatch() (sim_handlers.c).
 *
 * Writes: lws allows one lws_write per WRITEABLE callback, so frames are
 * encrypted when queued (the Noise counter order is the queue order) and
 * sim_ws.c writes one per callback from the noise conn's queue. This file
 * only asks it for a WRITEABLE via sim_conn_wake(), so the protocol logic
 * runs without sockets (fuzz target). */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "wa/crypto.h"
#include "wa_log.h"
#include "wa_util.h"

/* Decoding caps for client stanzas: generous for real traffic, small
 * enough that one connection cannot make the sim allocate without bound. */
static const struct wa_binary_limits client_limits = {
	.max_depth = 32,
	.max_list = 20000,
	.max_nodes = 100000,
	.max_bytes = 16u * 1024 * 1024,
	.max_inflated = 16u * 1024 * 1024,
};

static unsigned long next_conn_id = 1;

/* Noise server conn for c: queue capped like the sim's, LWS_PRE head room
 * so sim_ws.c writes frames in place. NULL without a certificate chain. */
static struct wa_noise_conn *new_noise_conn(struct sim_server *s)
{
	struct wa_noise_conn *nc;

	if (s->keys.chain == NULL)
		return NULL;
	nc = wa_noise_conn_new_server(s->keys.static_priv, s->keys.static_pub, s->keys.chain, s->keys.chain_len, 0);
	if (nc != NULL && wa_noise_conn_set_output(nc, SIM_OUT_MAX_BYTES, LWS_PRE) != WA_NOISE_OK) {
		wa_noise_conn_free(nc);
		return NULL;
	}
	return nc;
}

static int on_open(void *ctx, struct wa_noise_conn *nc);

struct sim_conn *sim_conn_new(struct sim_server *s, struct lws *wsi)
{
	struct sim_conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->srv = s;
	c->wsi = wsi;
	c->id = next_conn_id++;
	c->state = SIM_CONN_HANDSHAKE;
	c->nc = new_noise_conn(s);
	if (c->nc == NULL && s->keys.chain != NULL) {
		free(c);
		return NULL;
	}
	wa_noise_conn_set_on_open(c->nc, on_open);
	if (wa_iqid_prefix(c->iq_prefix) != 0)
		snprintf(c->iq_prefix, sizeof c->iq_prefix, "1.1-");
	c->next = s->conns;
	s->conns = c;
	s->nconns++;
	return c;
}

int sim_conn_test_open(struct sim_conn *c)
{
	struct wa_noise_transport zero;

	memset(&zero, 0, sizeof zero);
	wa_noise_conn_free(c->nc);
	c->nc = wa_noise_conn_new_open(1, &zero, 0);
	if (c->nc == NULL || wa_noise_conn_set_output(c->nc, SIM_OUT_MAX_BYTES, LWS_PRE) != WA_NOISE_OK)
		return -1;
	c->state = SIM_CONN_READY;
	return 0;
}

/* A copy of pt, due at due_ms (raw: WebSocket bytes, else a frame
 * plaintext), or NULL on OOM. */
static struct sim_held *held_new(const uint8_t *pt, size_t len, int raw, uint64_t due_ms)
{
	struct sim_held *h = malloc(sizeof *h + len + 1);

	if (h == NULL)
		return NULL;
	h->next = NULL;
	h->due_ms = due_ms;
	h->raw = raw;
	h->len = len;
	if (len)
		memcpy(h->plain, pt, len);
	return h;
}

static void held_chain_free(struct sim_held *h)
{
	struct sim_held *nh;

	for (; h; h = nh) {
		nh = h->next;
		memset(h->plain, 0, h->len);
		free(h);
	}
}

static void raw_free(struct sim_raw *r)
{
	if (r == NULL)
		return;
	memset(r->buf, 0, LWS_PRE + r->len);
	free(r);
}

static void held_free_all(struct sim_conn *c)
{
	held_chain_free(c->held_head);
	c->held_head = c->held_tail = NULL;
	c->held_count = c->held_bytes = 0;
	c->raw_held = 0;
	held_chain_free(c->cork_head);
	c->cork_head = c->cork_tail = NULL;
	c->cork_count = c->cork_bytes = 0;
	raw_free(c->raw);
	c->raw = NULL;
}

void sim_conn_out_changed(struct sim_conn *c)
{
	c->out_count = wa_noise_conn_out_frames(c->nc) + c->held_count + c->cork_count + (c->raw != NULL);
}

void sim_conn_free(struct sim_conn *c)
{
	struct sim_conn **pp;

	if (c == NULL)
		return;
	for (pp = &c->srv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->srv->nconns--;
			break;
		}
	}
	if (c->dev && c->dev->conn == c)
		c->dev->conn = NULL;
	held_free_all(c);
	wa_noise_conn_free(c->nc);
	memset(c, 0, sizeof *c);
	free(c);
}

/* The noise conn refused a frame: a full queue (the client does not read)
 * or a broken stream. Either way the connection is done. */
static int send_failed(struct sim_conn *c, int rc)
{
	if (rc == WA_NOISE_ENOMEM)
		wa_warn("sim: conn %lu: output queue full, dropping the connection", c->id);
	else
		wa_info("sim: conn %lu: cannot send: %s", c->id, wa_noise_strerror(rc));
	sim_conn_drop(c);
	return -1;
}

/* Encrypt and queue one frame on the noise conn now. */
static int queue_now(struct sim_conn *c, const uint8_t *pt, size_t len)
{
	int rc = wa_noise_conn_send(c->nc, pt, len, NULL);

	if (rc != WA_NOISE_OK)
		return wa_noise_conn_state(c->nc) < 0 ? send_failed(c, rc) : -1;
	sim_conn_out_changed(c);
	sim_conn_wake(c);
	return 0;
}

/* Hold one plaintext (or raw message) for the injected delay (bounded
 * like the queue). */
static int hold(struct sim_conn *c, const uint8_t *pt, size_t len, int raw)
{
	struct sim_held *h;

	if (len > SIM_OUT_MAX_BYTES - c->held_bytes)
		return send_failed(c, WA_NOISE_ENOMEM);
	h = held_new(pt, len, raw, sim_mono_ms() + c->delay_ms);
	if (h == NULL)
		return -1;
	if (raw)
		c->raw_held = 1;
	if (c->held_tail)
		c->held_tail->next = h;
	else
		c->held_head = h;
	c->held_tail = h;
	c->held_count++;
	c->held_bytes += len;
	sim_conn_out_changed(c);
	sim_conn_wake(c);
	return 0;
}

/* Hold one plaintext while the connection is corked (bounded like the queue). */
static int cork_add(struct sim_conn *c, const uint8_t *pt, size_t len)
{
	struct sim_held *h;

	if (len > SIM_OUT_MAX_BYTES - c->cork_bytes)
		return send_failed(c, WA_NOISE_ENOMEM);
	h = held_new(pt, len, 0, 0);
	if (h == NULL)
		return -1;
	if (c->cork_tail)
		c->cork_tail->next = h;
	else
		c->cork_head = h;
	c->cork_tail = h;
	c->cork_count++;
	c->cork_bytes += len;
	sim_conn_out_changed(c);
	return 0;
}

static struct sim_raw *raw_new(const uint8_t *bytes, size_t len)
{
	struct sim_raw *r = malloc(sizeof *r + LWS_PRE + len);

	if (r == NULL)
		return NULL;
	r->len = len;
	if (len)
		memcpy(r->buf + LWS_PRE, bytes, len);
	return r;
}

/* r becomes the raw message, written once the frames queued now are out. */
static void raw_set(struct sim_conn *c, struct sim_raw *r)
{
	c->raw = r;
	c->raw_after = wa_noise_conn_out_frames(c->nc);
	sim_conn_out_changed(c);
	sim_conn_wake(c);
}

/* A held raw message is due: hand it to the writer. */
static void release_raw(struct sim_conn *c, const struct sim_held *h)
{
	struct sim_raw *r = raw_new(h->plain, h->len);

	c->raw_held = 0;
	if (r == NULL) {
		sim_conn_drop(c);
		return;
	}
	raw_set(c, r);
}

uint64_t sim_conn_release_due(struct sim_conn *c, uint64_t now_ms)
{
	struct sim_held *h;

	while ((h = c->held_head) != NULL && h->due_ms <= now_ms) {
		c->held_head = h->next;
		if (c->held_head == NULL)
			c->held_tail = NULL;
		c->held_count--;
		c->held_bytes -= h->len;
		if (h->raw)
			release_raw(c, h); /* at most one raw message waits (sim_conn_send_raw) */
		else
			(void)queue_now(c, h->plain, h->len); /* a failure drops the conn */
		memset(h->plain, 0, h->len);
		free(h);
		if (c->kill)
			break;
	}
	sim_conn_out_changed(c);
	h = c->held_head;
	return h == NULL || c->kill ? 0 : h->due_ms - now_ms;
}

int sim_conn_send_plain(struct sim_conn *c, const uint8_t *pt, size_t len)
{
	if (c == NULL || c->state != SIM_CONN_READY || c->kill || len > WA_FRAME_MAX_PAYLOAD - 16)
		return -1; /* also: nothing goes after the final stanza (CLOSING) */
	if (c->out_count >= SIM_OUT_MAX_FRAMES)
		return send_failed(c, WA_NOISE_ENOMEM);
	if (c->corked)
		return cork_add(c, pt, len);
	/* once something is held, everything after it waits its turn */
	if (c->delay_ms || c->held_head)
		return hold(c, pt, len, 0);
	return queue_now(c, pt, len);
}

int sim_conn_cork(struct sim_conn *c)
{
	if (c == NULL || c->corked)
		return 0;
	c->corked = 1;
	return 1;
}

/* Send what the cork held back, in order, and end it. */
static void cork_release(struct sim_conn *c)
{
	struct sim_held *h = c->cork_head, *nh;

	c->corked = 0;
	c->cork_head = c->cork_tail = NULL;
	c->cork_count = c->cork_bytes = 0;
	sim_conn_out_changed(c);
	for (; h; h = nh) {
		nh = h->next;
		/* refused on a dead connection; a full queue drops it */
		(void)sim_conn_send_plain(c, h->plain, h->len);
		memset(h->plain, 0, h->len);
		free(h);
	}
}

int sim_conn_uncork(struct sim_conn *c, int corked, const struct wa_node *first)
{
	int rc = 0;

	if (c == NULL)
		return -1;
	if (corked)
		c->corked = 0; /* first goes ahead of what was held back */
	if (first != NULL && sim_conn_send_node(c, first) != 0)
		rc = -1;
	if (corked)
		cork_release(c);
	return rc;
}

int sim_conn_send_raw(struct sim_conn *c, const uint8_t *bytes, size_t len, int encrypted)
{
	struct sim_raw *r;

	if (c == NULL || c->kill || c->state == SIM_CONN_CLOSING)
		return -1;
	if (encrypted)
		return sim_conn_send_plain(c, bytes, len);
	if (len == 0 || len > WA_FRAME_MAX_PAYLOAD)
		return -1;
	if (c->raw != NULL || c->raw_held)
		return -2;
	if (c->out_count >= SIM_OUT_MAX_FRAMES)
		return send_failed(c, WA_NOISE_ENOMEM);
	/* behind what the injected delay holds, like any frame */
	if (c->delay_ms || c->held_head)
		return hold(c, bytes, len, 1);
	r = raw_new(bytes, len);
	if (r == NULL)
		return -1;
	raw_set(c, r);
	return 0;
}

uint8_t *sim_conn_raw_peek(struct sim_conn *c, size_t *len)
{
	size_t frames = wa_noise_conn_out_frames(c->nc);

	*len = 0;
	if (c->raw == NULL)
		return NULL;
	if (c->raw_after > frames)
		c->raw_after = frames; /* a failed noise conn discarded its queue */
	if (c->raw_after > 0)
		return NULL;
	*len = c->raw->len;
	return c->raw->buf + LWS_PRE;
}

void sim_conn_out_written(struct sim_conn *c, int written_raw)
{
	if (written_raw) {
		raw_free(c->raw);
		c->raw = NULL;
	} else if (c->raw != NULL && c->raw_after > 0) {
		c->raw_after--;
	}
	sim_conn_out_changed(c);
}

int sim_conn_send_node(struct sim_conn *c, const struct wa_node *n)
{
	uint8_t *pt = NULL, *z = NULL;
	size_t len = 0, zlen = 0;
	int rc;

	if (c == NULL || n == NULL)
		return -1;
	if (wa_binary_marshal(n, &pt, &len) != 0)
		return -1;
	if (sim_log_debug) {
		char *s = wa_node_to_string(n, WA_NODE_PRINT_DEFAULT);
		wa_debug("sim: conn %lu >> %s", c->id, s ? s : "?");
		free(s);
	}
	/* the real server compresses some stanzas (flag 2, 1.6); --compress-min
	 * makes clients meet that path */
	if (c->srv->compress_min > 0 && len >= c->srv->compress_min &&
	    wa_binary_compress_frame(pt, len, &z, &zlen) == 0) {
		free(pt);
		pt = z;
		len = zlen;
	}
	rc = sim_conn_send_plain(c, pt, len);
	free(pt);
	return rc;
}

void sim_conn_close_after_flush(struct sim_conn *c)
{
	if (c == NULL)
		return;
	if (c->corked && c->state == SIM_CONN_READY)
		cork_release(c); /* the final stanza among them must still go out */
	if (c->state < SIM_CONN_CLOSING)
		c->state = SIM_CONN_CLOSING;
	if (c->dev && c->dev->conn == c)
		c->dev->conn = NULL;
	c->dev = NULL;
	c->acc = NULL;
	if (c->wsi)
		sim_conn_wake(c);
}

void sim_conn_drop(struct sim_conn *c)
{
	if (c == NULL)
		return;
	c->kill = 1;
	c->state = SIM_CONN_CLOSING;
	if (c->dev && c->dev->conn == c)
		c->dev->conn = NULL;
	c->dev = NULL;
	c->acc = NULL;
	if (c->wsi)
		sim_conn_wake(c);
}

void sim_conn_stream_error(struct sim_conn *c, const char *code, const char *conflict_type)
{
	struct wa_node *n = wa_node_new("stream:error"), *ch;

	if (n != NULL && wa_node_set_attr(n, "code", code) == 0) {
		if (conflict_type != NULL) {
			ch = wa_node_add_new(n, "conflict");
			if (ch != NULL)
				(void)wa_node_set_attr(ch, "type", conflict_type);
		}
		/* a failure here only loses the reason; the close still happens */
		(void)sim_conn_send_node(c, n);
	}
	wa_node_free(n);
	sim_conn_close_after_flush(c);
}

void sim_conn_next_iq_id(struct sim_conn *c, char *buf, size_t cap)
{
	if (wa_iqid_format(c->iq_prefix, ++c->iq_counter, buf, cap) < 0 && cap > 0)
		buf[0] = '\0';
}

static int set_from_server(struct wa_node *n)
{
	struct wa_jid srv;

	wa_jid_server(&srv);
	return wa_node_set_attr_jid(n, "from", &srv);
}

int sim_conn_iq_result(struct sim_conn *c, const struct wa_node *iq, struct wa_node *child)
{
	struct wa_node *r = wa_node_new("iq");
	int rc = -1;

	if (r == NULL)
		return -1;
	if (wa_node_set_attr(r, "id", wa_node_attr(iq, "id")) || wa_node_set_attr(r, "type", "result") ||
	    set_from_server(r))
		goto out;
	if (child != NULL) {
		if (wa_node_add_child(r, child) != 0)
			goto out;
		rc = sim_conn_send_node(c, r);
		goto out;
	}
	rc = sim_conn_send_node(c, r);
out:
	wa_node_free(r);
	return rc;
}

int sim_conn_iq_error(struct sim_conn *c, const struct wa_node *iq, int code, const char *text)
{
	struct wa_node *r = wa_node_new("iq"), *e;
	int rc = -1;

	if (r == NULL)
		return -1;
	if (wa_node_set_attr(r, "id", wa_node_attr(iq, "id")) || wa_node_set_attr(r, "type", "error") ||
	    set_from_server(r))
		goto out;
	e = wa_node_add_new(r, "error");
	if (e == NULL || wa_node_set_attr_int(e, "code", code) || wa_node_set_attr(e, "text", text))
		goto out;
	rc = sim_conn_send_node(c, r);
out:
	wa_node_free(r);
	return rc;
}

/* <ib><NAME count=.../></ib> */
static int send_ib(struct sim_conn *c, struct wa_node *child)
{
	struct wa_node *ib = wa_node_new("ib");
	int rc = -1;

	if (ib == NULL || child == NULL) {
		wa_node_free(child);
		goto out;
	}
	if (wa_node_add_child(ib, child) != 0) {
		wa_node_free(child);
		goto out;
	}
	rc = sim_conn_send_node(c, ib);
out:
	wa_node_free(ib);
	return rc;
}

int sim_kept_until_answered(const struct wa_node *n)
{
	return strcmp(n->tag, "message") == 0 || strcmp(n->tag, "notification") == 0 ||
	       strcmp(n->tag, "receipt") == 0;
}

/* Keep message n, as the encoded stanza pt (marked offline="1"), for
 * device d until d answers it (sim_store.h). c is the connection it went
 * to, for the logs. 0, or -1 when it could not be kept. */
static int keep_encoded(struct sim_conn *c, struct sim_device *d, const struct wa_node *n, const uint8_t *pt,
			size_t len)
{
	int dropped = -1;

	/* only what fits one frame as it is: it is sent again unchanged */
	if (len <= WA_FRAME_MAX_PAYLOAD - 16)
		dropped = sim_device_unanswered_add(d, n->tag, wa_node_attr_or(n, "id", ""), wa_node_attr_or(n, "from", ""),
						    wa_node_attr(n, "participant"), pt, len);
	if (dropped < 0) {
		wa_warn("sim: conn %lu: message %s not kept until answered", c->id, wa_node_attr_or(n, "id", "-"));
		return -1;
	}
	/* logged at the first drop and then once per SIM_UNANSWERED_MAX, not
	 * for each message a device that never answers is given */
	if (dropped > 0 && ((d->udropped - (size_t)dropped) / SIM_UNANSWERED_MAX != d->udropped / SIM_UNANSWERED_MAX ||
			    d->udropped == (size_t)dropped))
		wa_info("sim: conn %lu: device %u has over %d unanswered messages: the oldest dropped (%zu so far)",
			c->id, d->id, SIM_UNANSWERED_MAX, d->udropped);
	return 0;
}

/* Keep message n (not changed), just sent to d on its connection c, until
 * d answers it: a copy marked offline="1" is what its next login gets. */
static int keep_unanswered(struct sim_conn *c, struct sim_device *d, const struct wa_node *n)
{
	struct wa_node *cp = wa_node_dup(n);
	uint8_t *pt = NULL;
	size_t len = 0;
	int rc = -1;

	if (cp != NULL && wa_node_set_attr(cp, "offline", "1") == 0 && wa_binary_marshal(cp, &pt, &len) == 0)
		rc = keep_encoded(c, d, cp, pt, len);
	else
		wa_warn("sim: conn %lu: message %s not kept until answered (no memory)", c->id,
			wa_node_attr_or(n, "id", "-"));
	free(pt);
	wa_node_free(cp);
	return rc;
}

/* Stanzas a login delivers, per kind, for the offline preview (8.7). */
struct offline_counts {
	long long n, msg, notif, rcpt, call, appdata;
};

static void count_kind(struct offline_counts *k, const char *tag)
{
	k->n++;
	if (strcmp(tag, "message") == 0)
		k->msg++;
	else if (strcmp(tag, "notification") == 0)
		k->notif++;
	else if (strcmp(tag, "receipt") == 0)
		k->rcpt++;
	else if (strcmp(tag, "call") == 0)
		k->call++;
	else if (strcmp(tag, "appdata") == 0)
		k->appdata++;
}

/* <ib><offline_preview count message notification receipt call appdata/></ib> */
static int send_preview(struct sim_conn *c, const struct offline_counts *k)
{
	struct wa_node *pv = wa_node_new("offline_preview");

	if (pv == NULL || wa_node_set_attr_int(pv, "count", k->n) || wa_node_set_attr_int(pv, "message", k->msg) ||
	    wa_node_set_attr_int(pv, "notification", k->notif) || wa_node_set_attr_int(pv, "receipt", k->rcpt) ||
	    wa_node_set_attr_int(pv, "call", k->call) || wa_node_set_attr_int(pv, "appdata", k->appdata)) {
		wa_node_free(pv);
		return -1;
	}
	return send_ib(c, pv);
}

/* 1 while c can still send (a failed send drops it). */
static int conn_alive(const struct sim_conn *c)
{
	return c->state == SIM_CONN_READY && !c->kill;
}

/* Send one queued stanza to c, the connection of d. A message in it is
 * kept until d answers it, also when c is gone (then it is not sent: the
 * next login gets it). A stanza c refuses while staying up (too large)
 * is dropped. */
static void send_queued(struct sim_conn *c, struct sim_device *d, const struct sim_qnode *q)
{
	struct wa_node *node = NULL;
	int sent = conn_alive(c) && sim_conn_send_plain(c, q->data, q->len) == 0;

	if (wa_binary_unmarshal(q->data, q->len, NULL, &node) != 0)
		node = NULL;
	if (!sent && conn_alive(c))
		wa_warn("sim: conn %lu: a queued <%s> could not be sent: dropped", c->id, node ? node->tag : "?");
	else if (node != NULL && sim_kept_until_answered(node))
		(void)keep_encoded(c, d, node, q->data, q->len);
	wa_node_free(node);
}

/* What a login delivers (docs/protocol.md 8.7): a preview with counts per
 * kind; first the messages the device was given before and has not
 * answered (in the order they were first delivered, still kept), then the
 * offline queue (everything in both is marked offline="1"; the queue's
 * messages are kept until answered from now on); then <offline count=N/>
 * counting both. Everything kept was delivered before anything queued, so
 * this is the original order. */
static int deliver_offline(struct sim_conn *c)
{
	struct sim_device *d = c->dev; /* c->dev is cleared if a send drops c */
	struct sim_qnode *q = sim_device_queue_take(d), *nq;
	const struct sim_unanswered *u;
	struct offline_counts k = { 0 };
	struct wa_node *done;

	for (u = d->uhead; u; u = u->next)
		count_kind(&k, u->kind == SIM_UNANS_NOTIFICATION ? "notification"
			       : u->kind == SIM_UNANS_RECEIPT   ? "receipt"
								 : "message");
	for (nq = q; nq; nq = nq->next) {
		struct wa_node *node = NULL;

		if (wa_binary_unmarshal(nq->data, nq->len, NULL, &node) == 0)
			count_kind(&k, node->tag);
		else
			k.n++;
		wa_node_free(node);
	}
	if (k.n > 0)
		(void)send_preview(c, &k); /* without it (no memory) the stanzas still go */
	/* each fits a frame (keep_encoded): only a dead connection refuses it */
	for (u = d->uhead; u && conn_alive(c); u = u->next)
		(void)sim_conn_send_plain(c, u->data, u->len);
	while (q) {
		nq = q->next;
		send_queued(c, d, q);
		sim_qnode_free(q);
		q = nq;
	}
	if (!conn_alive(c))
		return -1;
	done = wa_node_new("offline");
	if (done == NULL || wa_node_set_attr_int(done, "count", k.n)) {
		wa_node_free(done);
		return -1;
	}
	return send_ib(c, done);
}

int sim_conn_login(struct sim_conn *c, struct sim_account *a, struct sim_device *d)
{
	struct wa_node *ok;
	struct wa_jid lid;
	struct sim_conn *old = d->conn;
	char masked[24];
	int rc = -1;

	if (old != NULL && old != c) {
		wa_info("sim: %s:%u connected again; old connection %lu replaced",
			sim_mask_number(a->number, masked, sizeof masked), d->id, old->id);
		sim_conn_stream_error(old, NULL, "replaced");
	}
	d->conn = c;
	c->dev = d;
	c->acc = a;
	snprintf(c->jid, sizeof c->jid, "%s:%u@s.whatsapp.net", a->number, d->id);
	ok = wa_node_new("success");
	if (ok == NULL || wa_jid_make(&lid, a->lid, WA_SERVER_LID) != 0)
		goto out;
	if (wa_node_set_attr_uint(ok, "t", sim_now(c->srv)) || wa_node_set_attr_jid(ok, "lid", &lid) ||
	    wa_node_set_attr(ok, "location", "sim") ||
	    wa_node_set_attr_uint(ok, "creation", d->paired_at))
		goto out;
	if (sim_conn_send_node(c, ok) != 0)
		goto out;
	rc = deliver_offline(c);
	wa_info("sim: conn %lu logged in as %s:%u", c->id, sim_mask_number(a->number, masked, sizeof masked),
		d->id);
out:
	wa_node_free(ok);
	return rc;
}

int sim_deliver(struct sim_server *s, struct sim_device *d, struct wa_node *n)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	int rc;

	(void)s;
	if (d == NULL || n == NULL)
		return -1;
	if (d->conn != NULL && d->conn->state == SIM_CONN_READY) {
		struct sim_conn *c = d->conn;

		rc = sim_conn_send_node(c, n);
		/* a message is kept until the device answers it (8.3), also when
		 * the send dropped the connection: the next login gets it */
		if (sim_kept_until_answered(n) && (rc == 0 || !conn_alive(c)) && keep_unanswered(c, d, n) == 0)
			return 0;
		return rc;
	}
	if (wa_node_set_attr(n, "offline", "1") != 0 || wa_binary_marshal(n, &pt, &len) != 0)
		return -1;
	rc = sim_device_queue_push(d, pt, len);
	free(pt);
	return rc;
}

static int send_failure(struct sim_conn *c, const char *reason)
{
	struct wa_node *f = wa_node_new("failure");

	if (f != NULL && wa_node_set_attr(f, "reason", reason) == 0)
		(void)sim_conn_send_node(c, f); /* closing anyway */
	wa_node_free(f);
	sim_conn_close_after_flush(c);
	return 0;
}

/* ClientFinish done: registration or login (docs/protocol.md 2.3 / 2.4, 13.3). */
int sim_conn_on_client_payload(struct sim_conn *c, const uint8_t *p, size_t len)
{
	struct sim_account *a;
	struct sim_device *d;

	if (wa_client_payload_parse(p, len, &c->info) != 0) {
		wa_info("sim: conn %lu: malformed ClientPayload", c->id);
		return send_failure(c, "400");
	}
	if (c->info.is_registration) {
		c->is_registration = 1;
		return sim_pair_send_refs(c);
	}
	a = sim_store_account_find_u64(c->srv->store, c->info.username);
	d = a ? sim_account_device(a, (uint16_t)c->info.device) : NULL;
	if (d == NULL || c->info.device == 0 || c->info.device > UINT16_MAX) {
		wa_info("sim: conn %lu: login of an unknown device", c->id);
		return send_failure(c, "401");
	}
	if (!wa_ct_equal(d->noise_pub, c->client_static, 32)) {
		wa_info("sim: conn %lu: login with a noise key that is not the paired one", c->id);
		return send_failure(c, "401");
	}
	return sim_conn_login(c, a, d);
}

int sim_conn_on_plaintext(struct sim_conn *c, const uint8_t *pt, size_t len)
{
	struct wa_node *n = NULL;
	int r, rc;

	r = wa_binary_unmarshal(pt, len, &client_limits, &n);
	if (r != WA_BIN_OK) {
		wa_info("sim: conn %lu: undecodable stanza: %s", c->id, wa_binary_strerror(r));
		return -1;
	}
	if (sim_log_debug) {
		char *s = wa_node_to_string(n, WA_NODE_PRINT_DEFAULT);
		wa_debug("sim: conn %lu << %s", c->id, s ? s : "?");
		free(s);
	}
	rc = sim_dispatch(c, n);
	wa_node_free(n);
	return rc;
}

/* Handshake done (called by the noise conn inside the feed, before any
 * later frame): who is this - registration or login. */
static int on_open(void *ctx, struct wa_noise_conn *nc)
{
	struct sim_conn *c = ctx;
	const uint8_t *p;
	size_t len;

	memcpy(c->client_static, wa_noise_conn_peer_static(nc), 32);
	c->state = SIM_CONN_READY;
	sim_conn_set_timeout(c, 0);
	p = wa_noise_conn_client_payload(nc, &len);
	return sim_conn_on_client_payload(c, p, len);
}

/* A decrypted transport frame. After the final stanza the rest of what the
 * client sends is ignored. */
static int on_frame(void *ctx, const uint8_t *pt, size_t len)
{
	struct sim_conn *c = ctx;

	if (c->state == SIM_CONN_CLOSING)
		return 0;
	return sim_conn_on_plaintext(c, pt, len);
}

int sim_conn_receive(struct sim_conn *c, const uint8_t *data, size_t len)
{
	int before, st;

	if (c->nc == NULL)
		return -1;
	before = wa_noise_conn_state(c->nc);
	st = wa_noise_conn_feed(c->nc, data, len, NULL, on_frame, c);
	if (st < 0) {
		/* EINVAL is one of our callbacks refusing, which logged why */
		if (st != WA_NOISE_EINVAL)
			wa_info("sim: conn %lu: %s: %s", c->id,
				before == WA_NOISE_CONN_HANDSHAKE ? "handshake failed" : "bad transport frame",
				wa_noise_strerror(st));
		return -1;
	}
	sim_conn_out_changed(c);
	if (wa_noise_conn_out_pending(c->nc) > 0)
		sim_conn_wake(c); /* the ServerHello */
	return 0;
}
