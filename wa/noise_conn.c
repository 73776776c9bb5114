/* wa/noise_conn: framing + Noise handshake + transport on raw stream bytes,
 * with an ordered output queue for a writer that may be busy (see
 * noise_conn.h). */
#include "wa/noise_conn.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "wa/frame.h"

/* The output queue: one buffer, bytes [head, tail) waiting. The first
 * `headroom` bytes are never used for data, and everything before head is
 * either that or already written, so the writer may scribble there. */
struct outq {
	uint8_t *buf;
	size_t alloc;
	size_t head, tail;
	size_t headroom;
	size_t max;            /* cap on tail - head */
	size_t intro;          /* client: intro bytes at the head, part of the first message */
	size_t msg_left;       /* rest of the head message once peeked; 0 = not yet measured */
	size_t msgs;           /* messages queued */
	int used;              /* something was ever queued (settings are frozen) */
};

struct wa_noise_conn {
	int server;
	int state;                 /* enum wa_noise_conn_state, or < 0: the error */
	int started;               /* client: intro + hello queued */
	int step;                  /* handshake messages received so far */
	int in_feed;               /* refuses re-entrant feeds from callbacks */
	int cert_err;              /* client: enum wa_cert_err of the chain */
	struct wa_noise_hs *hs;    /* handshake only; freed at open */
	struct wa_noise_transport t;
	struct wa_frame_parser fp;
	uint8_t *hs_out;           /* client: ClientPayload; server: cert chain; freed once sent */
	size_t hs_out_len;
	uint8_t *routing;          /* client: "ED" routing info, freed at start */
	size_t routing_len;
	struct wa_buf recv_payload; /* server: ClientPayload received */
	uint8_t peer[32];
	int have_peer;
	wa_noise_conn_open_fn on_open;
	struct wa_buf scratch;     /* handshake messages and frame plaintexts */
	struct outq q;
};

/* ------------------------------------------------------------------ */
/* helpers */

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

static void wipe_free(uint8_t **p, size_t n)
{
	if (*p) {
		OPENSSL_cleanse(*p, n);
		free(*p);
	}
	*p = NULL;
}

static void buf_wipe_free(struct wa_buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->alloc);
	wa_buf_free(b);
}

static void hs_free(struct wa_noise_conn *c)
{
	if (c->hs) {
		wa_noise_clear(c->hs);
		free(c->hs);
		c->hs = NULL;
	}
}

/* Keep small buffers for the next frame; give big ones back, so a conn that
 * once saw a large frame does not hold that memory while idle. */
static void scratch_trim(struct wa_noise_conn *c)
{
	if (c->scratch.alloc > WA_NOISE_CONN_KEEP)
		buf_wipe_free(&c->scratch);
	else
		wa_buf_reset(&c->scratch);
}

/* ------------------------------------------------------------------ */
/* output queue */

static void outq_free(struct outq *q)
{
	wipe_free(&q->buf, q->alloc);
	q->alloc = 0;
	q->head = q->tail = q->headroom;
	q->intro = q->msg_left = q->msgs = 0;
}

/* Room for n more bytes at the tail: compact first, grow if still short.
 * Returns the write position or NULL (cap or no memory). */
static uint8_t *outq_reserve(struct outq *q, size_t n)
{
	size_t pending = q->tail - q->head;

	if (n > q->max || pending > q->max - n)
		return NULL;
	/* no buffer yet: alloc is 0 while tail already sits past the head room */
	if (q->buf && q->alloc - q->tail < n && q->head > q->headroom) {
		memmove(q->buf + q->headroom, q->buf + q->head, pending);
		q->head = q->headroom;
		q->tail = q->headroom + pending;
	}
	if (!q->buf || q->alloc - q->tail < n) {
		size_t need = q->tail + n, na = q->alloc ? q->alloc * 2 : 4096;
		uint8_t *nb;

		if (na < need)
			na = need;
		if (na > q->headroom + q->max)
			na = q->headroom + q->max;
		nb = realloc(q->buf, na);
		if (!nb)
			return NULL;
		q->buf = nb;
		q->alloc = na;
	}
	q->used = 1;
	return q->buf + q->tail;
}

static void outq_commit(struct outq *q, size_t n)
{
	q->tail += n;
	q->msgs++;
}

/* Length of the message at the head (0 when empty). Messages are queued
 * whole and frames carry their length, so the queue needs no index. */
static size_t outq_head_len(struct outq *q)
{
	const uint8_t *p;

	if (q->head == q->tail)
		return 0;
	if (q->msg_left == 0) {
		p = q->buf + q->head + q->intro;
		q->msg_left = q->intro + 3 + ((size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2]);
		q->intro = 0;
	}
	return q->msg_left;
}

static void outq_consume(struct outq *q, size_t n)
{
	q->head += n;
	q->msg_left -= n;
	if (q->msg_left == 0)
		q->msgs--;
	if (q->head == q->tail) {
		q->head = q->tail = q->headroom;
		if (q->alloc > WA_NOISE_CONN_KEEP)
			outq_free(q);
	}
}

/* Queue an already framed message (intro_len bytes of intro first). */
static int outq_push(struct outq *q, const uint8_t *msg, size_t len, size_t intro_len)
{
	uint8_t *w = outq_reserve(q, len);

	if (!w)
		return WA_NOISE_ENOMEM;
	memcpy(w, msg, len);
	if (q->head == q->tail)
		q->intro = intro_len;
	outq_commit(q, len);
	return WA_NOISE_OK;
}

/* ------------------------------------------------------------------ */
/* creation */

static struct wa_noise_conn *conn_alloc(int server, size_t max_frame, int expect_intro, int with_hs)
{
	struct wa_noise_conn *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	if (with_hs && !(c->hs = calloc(1, sizeof *c->hs))) {
		free(c);
		return NULL;
	}
	c->server = server;
	c->state = WA_NOISE_CONN_HANDSHAKE;
	c->cert_err = WA_CERT_OK;
	c->q.max = WA_NOISE_CONN_OUT_DEFAULT;
	wa_frame_parser_init(&c->fp, max_frame, expect_intro);
	return c;
}

struct wa_noise_conn *wa_noise_conn_new_client(const uint8_t s_priv[32], const uint8_t s_pub[32],
					       const struct wa_cert_trust *trust, const uint8_t *payload,
					       size_t payload_len, const uint8_t *routing, size_t routing_len,
					       size_t max_frame)
{
	struct wa_noise_conn *c;

	if (!s_priv || (!payload && payload_len) || payload_len > WA_NOISE_HS_MAX ||
	    routing_len > WA_FRAME_ROUTING_MAX || (!routing && routing_len))
		return NULL;
	/* the client reads bare frames: the server sends no intro */
	c = conn_alloc(0, max_frame, 0, 1);
	if (!c)
		return NULL;
	c->hs_out = dup_bytes(payload, payload_len);
	c->hs_out_len = payload_len;
	if (routing_len) {
		c->routing = dup_bytes(routing, routing_len);
		c->routing_len = routing_len;
	}
	if (!c->hs_out || (routing_len && !c->routing) ||
	    wa_noise_init(c->hs, WA_NOISE_INITIATOR, s_priv, s_pub, NULL, trust) != 0) {
		wa_noise_conn_free(c);
		return NULL;
	}
	return c;
}

struct wa_noise_conn *wa_noise_conn_new_server(const uint8_t s_priv[32], const uint8_t s_pub[32],
					       const uint8_t *cert_chain, size_t chain_len, size_t max_frame)
{
	struct wa_noise_conn *c;

	if (!s_priv || !cert_chain || chain_len == 0 || chain_len > WA_NOISE_HS_MAX)
		return NULL;
	c = conn_alloc(1, max_frame, 1, 1);
	if (!c)
		return NULL;
	c->hs_out = dup_bytes(cert_chain, chain_len);
	c->hs_out_len = chain_len;
	if (!c->hs_out || wa_noise_init(c->hs, WA_NOISE_RESPONDER, s_priv, s_pub, NULL, NULL) != 0) {
		wa_noise_conn_free(c);
		return NULL;
	}
	return c;
}

struct wa_noise_conn *wa_noise_conn_new_open(int server, const struct wa_noise_transport *t, size_t max_frame)
{
	struct wa_noise_conn *c;

	if (!t)
		return NULL;
	c = conn_alloc(server != 0, max_frame, 0, 0);
	if (!c)
		return NULL;
	c->t = *t;
	c->started = 1;
	c->state = WA_NOISE_CONN_OPEN;
	return c;
}

int wa_noise_conn_set_output(struct wa_noise_conn *c, size_t max_out, size_t headroom)
{
	if (!c || headroom > WA_NOISE_CONN_HEADROOM_MAX)
		return WA_NOISE_EINVAL;
	if (c->state < 0)
		return c->state;
	if (c->q.used)
		return WA_NOISE_ESTATE;
	c->q.max = max_out ? max_out : WA_NOISE_CONN_OUT_DEFAULT;
	c->q.headroom = headroom;
	c->q.head = c->q.tail = headroom;
	return WA_NOISE_OK;
}

void wa_noise_conn_set_on_open(struct wa_noise_conn *c, wa_noise_conn_open_fn fn)
{
	if (c)
		c->on_open = fn;
}

void wa_noise_conn_free(struct wa_noise_conn *c)
{
	if (!c)
		return;
	wa_frame_parser_free(&c->fp);
	hs_free(c);
	wipe_free(&c->hs_out, c->hs_out_len);
	free(c->routing);
	buf_wipe_free(&c->recv_payload);
	buf_wipe_free(&c->scratch);
	outq_free(&c->q);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

/* ------------------------------------------------------------------ */
/* handshake */

/* Fail the conn for good: keep the error, drop every secret and buffer.
 * Inside a feed (a callback's send failed) the callback may still be
 * reading the plaintext in scratch and the frame in the parser: those are
 * freed when the feed unwinds and calls this again. */
static int failed(struct wa_noise_conn *c, int rc)
{
	if (c->state >= 0)
		c->state = rc < 0 ? rc : WA_NOISE_EINVAL;
	c->have_peer = 0;
	hs_free(c);
	wipe_free(&c->hs_out, c->hs_out_len);
	wa_noise_transport_clear(&c->t);
	buf_wipe_free(&c->recv_payload);
	outq_free(&c->q);
	if (!c->in_feed) {
		buf_wipe_free(&c->scratch);
		wa_frame_parser_free(&c->fp);
	}
	return c->state;
}

/* Frame scratch (the handshake message just written) onto the queue. */
static int queue_scratch_frame(struct wa_noise_conn *c)
{
	uint8_t *w = outq_reserve(&c->q, 3 + c->scratch.len);

	if (!w || c->scratch.len > WA_FRAME_MAX_PAYLOAD)
		return WA_NOISE_ENOMEM;
	w[0] = (uint8_t)(c->scratch.len >> 16);
	w[1] = (uint8_t)(c->scratch.len >> 8);
	w[2] = (uint8_t)c->scratch.len;
	memcpy(w + 3, c->scratch.data, c->scratch.len);
	outq_commit(&c->q, 3 + c->scratch.len);
	return WA_NOISE_OK;
}

/* Handshake done: derive the transport, drop the handshake state. */
static int become_open(struct wa_noise_conn *c)
{
	int rc = wa_noise_split(c->hs, &c->t);

	if (rc != 0)
		return rc;
	memcpy(c->peer, c->hs->rs, 32);
	c->have_peer = 1;
	hs_free(c);
	wipe_free(&c->hs_out, c->hs_out_len);
	c->state = WA_NOISE_CONN_OPEN;
	return WA_NOISE_OK;
}

static int move_out(struct wa_noise_conn *c, struct wa_buf *out)
{
	if (out && wa_noise_conn_out_take(c, out) != WA_NOISE_OK)
		return failed(c, WA_NOISE_ENOMEM);
	return WA_NOISE_OK;
}

int wa_noise_conn_start(struct wa_noise_conn *c, struct wa_buf *out)
{
	size_t intro_len;
	int rc;

	if (!c)
		return WA_NOISE_EINVAL;
	if (c->state < 0)
		return c->state;
	if (c->server || c->started)
		return WA_NOISE_ESTATE;
	/* intro + ClientHello frame go out as one message, built in scratch */
	wa_buf_reset(&c->scratch);
	if (wa_frame_write_intro(&c->scratch, c->routing, c->routing_len) != 0)
		return failed(c, WA_NOISE_ENOMEM);
	intro_len = c->scratch.len;
	if (wa_buf_reserve(&c->scratch, 3) != 0)
		return failed(c, WA_NOISE_ENOMEM);
	c->scratch.len += 3; /* be3 length filled in below */
	if ((rc = wa_noise_write_client_hello(c->hs, &c->scratch)) != 0)
		return failed(c, rc);
	{
		size_t n = c->scratch.len - intro_len - 3;
		uint8_t *l = c->scratch.data + intro_len;

		l[0] = (uint8_t)(n >> 16);
		l[1] = (uint8_t)(n >> 8);
		l[2] = (uint8_t)n;
	}
	if (outq_push(&c->q, c->scratch.data, c->scratch.len, intro_len) != 0)
		return failed(c, WA_NOISE_ENOMEM);
	scratch_trim(c);
	free(c->routing);
	c->routing = NULL;
	c->routing_len = 0;
	c->started = 1;
	return move_out(c, out);
}

static int server_hello(struct wa_noise_conn *c, const uint8_t *msg, size_t len)
{
	int rc;

	if ((rc = wa_noise_read_client_hello(c->hs, msg, len)) != 0 ||
	    (rc = wa_noise_write_server_hello(c->hs, c->hs_out, c->hs_out_len, &c->scratch)) != 0)
		return rc;
	/* the chain is sent; only the handshake state is needed from here */
	wipe_free(&c->hs_out, c->hs_out_len);
	return queue_scratch_frame(c);
}

static int server_finish(struct wa_noise_conn *c, const uint8_t *msg, size_t len)
{
	uint8_t cs[32];
	int rc = wa_noise_read_client_finish(c->hs, msg, len, cs, &c->recv_payload);

	OPENSSL_cleanse(cs, sizeof cs); /* hs->rs has it; become_open copies it */
	return rc ? rc : become_open(c);
}

static int client_finish(struct wa_noise_conn *c, const uint8_t *msg, size_t len)
{
	int rc = wa_noise_read_server_hello(c->hs, msg, len);

	if (rc != 0) {
		c->cert_err = c->hs->cert_err;
		return rc;
	}
	if ((rc = wa_noise_write_client_finish(c->hs, c->hs_out, c->hs_out_len, &c->scratch)) != 0 ||
	    (rc = queue_scratch_frame(c)) != 0)
		return rc;
	return become_open(c);
}

/* One handshake frame; replies are queued. */
static int handshake_frame(struct wa_noise_conn *c, const uint8_t *msg, size_t len)
{
	int rc;

	wa_buf_reset(&c->scratch);
	if (c->server && c->step == 0)
		rc = server_hello(c, msg, len);
	else if (c->server && c->step == 1)
		rc = server_finish(c, msg, len);
	else if (!c->server && c->step == 0 && c->started)
		rc = client_finish(c, msg, len);
	else
		rc = WA_NOISE_ESTATE; /* e.g. a frame to a client that never started */
	if (rc == 0)
		c->step++;
	return rc;
}

/* ------------------------------------------------------------------ */
/* feed and send */

/* One complete received frame. Returns WA_NOISE_OK or an error. */
static int one_frame(struct wa_noise_conn *c, const uint8_t *fr, size_t fn, wa_noise_conn_frame_fn on_frame,
		     void *ctx)
{
	int rc;

	if (c->state == WA_NOISE_CONN_HANDSHAKE) {
		if ((rc = handshake_frame(c, fr, fn)) != 0)
			return rc;
		if (c->state == WA_NOISE_CONN_OPEN && c->on_open && c->on_open(ctx, c) != 0)
			return WA_NOISE_EINVAL;
		return WA_NOISE_OK;
	}
	wa_buf_reset(&c->scratch);
	if ((rc = wa_noise_read_frame(&c->t.recv, fr, fn, &c->scratch)) != 0)
		return rc;
	if (on_frame && on_frame(ctx, c->scratch.data, c->scratch.len) != 0)
		return WA_NOISE_EINVAL;
	return WA_NOISE_OK;
}

static int feed_loop(struct wa_noise_conn *c, const uint8_t *data, size_t len, wa_noise_conn_frame_fn on_frame,
		     void *ctx)
{
	while (len > 0) {
		const uint8_t *fr;
		size_t fn, used;
		int r = wa_frame_parse(&c->fp, data, len, &used, &fr, &fn), rc;

		data += used;
		len -= used;
		if (r < 0)
			return WA_NOISE_EDECODE; /* bad intro, oversize frame, no memory */
		if (r == 0)
			break;
		if ((rc = one_frame(c, fr, fn, on_frame, ctx)) != 0)
			return rc;
		if (c->state < 0)
			return c->state; /* a callback's send failed the conn */
	}
	/* a frame that arrived in pieces leaves its buffer in the parser until
	 * the next parse call; an empty call releases it now (idle memory) */
	{
		const uint8_t *fr;
		size_t fn, used;

		(void)wa_frame_parse(&c->fp, NULL, 0, &used, &fr, &fn);
	}
	return WA_NOISE_OK;
}

int wa_noise_conn_feed(struct wa_noise_conn *c, const uint8_t *data, size_t len, struct wa_buf *out,
		       wa_noise_conn_frame_fn on_frame, void *ctx)
{
	int rc;

	if (!c || (!data && len))
		return WA_NOISE_EINVAL;
	if (c->state < 0)
		return c->state;
	if (c->in_feed)
		return WA_NOISE_ESTATE;
	c->in_feed = 1;
	rc = feed_loop(c, data, len, on_frame, ctx);
	c->in_feed = 0;
	if (rc != 0)
		return failed(c, rc);
	scratch_trim(c);
	if ((rc = move_out(c, out)) != 0)
		return rc;
	return c->state;
}

int wa_noise_conn_send(struct wa_noise_conn *c, const uint8_t *plain, size_t len, struct wa_buf *out)
{
	uint8_t *w;
	int rc;

	if (!c || (!plain && len))
		return WA_NOISE_EINVAL;
	if (c->state < 0)
		return c->state;
	if (c->state != WA_NOISE_CONN_OPEN)
		return WA_NOISE_ESTATE;
	if (len > WA_FRAME_MAX_PAYLOAD - 16)
		return WA_NOISE_EINVAL;
	/* encrypt straight into the queue: be3(len + 16) | ciphertext */
	if (!(w = outq_reserve(&c->q, 3 + len + 16)))
		return failed(c, WA_NOISE_ENOMEM);
	w[0] = (uint8_t)((len + 16) >> 16);
	w[1] = (uint8_t)((len + 16) >> 8);
	w[2] = (uint8_t)(len + 16);
	if ((rc = wa_noise_encrypt(&c->t.send, plain, len, w + 3)) != 0)
		return failed(c, rc);
	outq_commit(&c->q, 3 + len + 16);
	return move_out(c, out);
}

/* ------------------------------------------------------------------ */
/* output queue, public side */

size_t wa_noise_conn_out_pending(const struct wa_noise_conn *c)
{
	return c && c->state >= 0 ? c->q.tail - c->q.head : 0;
}

size_t wa_noise_conn_out_frames(const struct wa_noise_conn *c)
{
	return c && c->state >= 0 ? c->q.msgs : 0;
}

uint8_t *wa_noise_conn_out_peek(struct wa_noise_conn *c, size_t *len)
{
	size_t n = c && c->state >= 0 ? outq_head_len(&c->q) : 0;

	if (len)
		*len = n;
	return n ? c->q.buf + c->q.head : NULL;
}

int wa_noise_conn_out_consume(struct wa_noise_conn *c, size_t n)
{
	if (!c)
		return WA_NOISE_EINVAL;
	if (c->state < 0)
		return c->state;
	if (n == 0)
		return WA_NOISE_OK;
	if (n > outq_head_len(&c->q))
		return WA_NOISE_EINVAL;
	outq_consume(&c->q, n);
	return WA_NOISE_OK;
}

int wa_noise_conn_out_take(struct wa_noise_conn *c, struct wa_buf *dst)
{
	size_t n;

	if (!c || !dst)
		return WA_NOISE_EINVAL;
	if (c->state < 0)
		return c->state;
	n = c->q.tail - c->q.head;
	if (n == 0)
		return WA_NOISE_OK;
	if (wa_buf_append(dst, c->q.buf + c->q.head, n) != 0)
		return failed(c, WA_NOISE_ENOMEM);
	/* everything went, so message boundaries no longer matter */
	c->q.intro = c->q.msg_left = c->q.msgs = 0;
	c->q.head = c->q.tail = c->q.headroom;
	if (c->q.alloc > WA_NOISE_CONN_KEEP)
		outq_free(&c->q);
	return WA_NOISE_OK;
}

/* ------------------------------------------------------------------ */
/* getters */

int wa_noise_conn_state(const struct wa_noise_conn *c)
{
	return c ? c->state : WA_NOISE_EINVAL;
}

int wa_noise_conn_is_server(const struct wa_noise_conn *c)
{
	return c ? c->server : 0;
}

const uint8_t *wa_noise_conn_peer_static(const struct wa_noise_conn *c)
{
	return c && c->have_peer && c->state == WA_NOISE_CONN_OPEN ? c->peer : NULL;
}

const uint8_t *wa_noise_conn_client_payload(const struct wa_noise_conn *c, size_t *len)
{
	if (!c || !c->server || !c->have_peer || c->state != WA_NOISE_CONN_OPEN) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = c->recv_payload.len;
	return c->recv_payload.data ? c->recv_payload.data : (const uint8_t *)"";
}

int wa_noise_conn_cert_error(const struct wa_noise_conn *c)
{
	return c ? c->cert_err : WA_CERT_EINVAL;
}

const uint8_t *wa_noise_conn_routing(const struct wa_noise_conn *c, size_t *len)
{
	if (!c || !c->server) {
		if (len)
			*len = 0;
		return NULL;
	}
	{
		size_t n;
		const uint8_t *p = wa_frame_parser_routing(&c->fp, &n);

		if (len)
			*len = n;
		return p;
	}
}
