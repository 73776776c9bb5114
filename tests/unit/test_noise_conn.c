/* Unit tests for wa/noise_conn: a client and a server conn talking through
 * an in-memory pipe with every kind of read split, the ClientFinish and a
 * first transport frame in one read, peer keys, payload and routing info
 * handed to the server, and failure cases (wrong root, garbage, callback
 * stop, calls out of order).
 *
 * Then the event-loop shape: both sides against each other through their
 * own output queues (peek / consume in pieces down to one byte, the writer
 * scribbling over the head room and the bytes it wrote as lws does),
 * answers sent from inside the callbacks, the server deciding in on_open
 * before any frame; queue accounting and its cap; frames over max_frame;
 * errors staying final; re-entrant feeds and a send failing inside a
 * callback. */
#include "tap.h"
#include "wa/cert.h"
#include "wa/crypto.h"
#include "wa/frame.h"
#include "wa/noise.h"
#include "wa/noise_conn.h"
#include "wa_util.h"

#include <stdlib.h>
#include <time.h>

struct sink {
	struct wa_buf got;     /* be3(len)|plain of every frame */
	int frames;
	int stop_after;        /* 0 = never */
};

static int on_frame(void *ctx, const uint8_t *p, size_t n)
{
	struct sink *s = ctx;

	wa_frame_write(&s->got, p, n);
	s->frames++;
	return s->stop_after && s->frames >= s->stop_after;
}

/* Deliver all of buf to conn in chunks of `chunk`, replies into reply. */
static int deliver(struct wa_noise_conn *c, struct wa_buf *buf, size_t chunk, struct wa_buf *reply, struct sink *s)
{
	int st = wa_noise_conn_state(c);

	for (size_t off = 0; off < buf->len;) {
		size_t n = buf->len - off < chunk ? buf->len - off : chunk;

		st = wa_noise_conn_feed(c, buf->data + off, n, reply, on_frame, s);
		if (st < 0)
			break;
		off += n;
	}
	wa_buf_reset(buf);
	return st;
}

struct keys {
	uint8_t root_priv[32], root_pub[32], cpriv[32], cpub[32], spriv[32], spub[32];
	struct wa_buf chain;
	struct wa_cert_trust trust;
};

static void keys_init(struct keys *k)
{
	memset(k, 0, sizeof *k);
	wa_x25519_keypair(k->root_priv, k->root_pub);
	wa_x25519_keypair(k->cpriv, k->cpub);
	wa_x25519_keypair(k->spriv, k->spub);
	wa_cert_chain_generate(k->root_priv, 0, k->spub, (uint64_t)time(NULL), 3600, &k->chain);
	memcpy(k->trust.root_pub, k->root_pub, 32);
	k->trust.issuer_serial = 0;
}

static const uint8_t payload[] = { 0x08, 0x87, 0x84, 0xb4, 0xf7, 0x39, 0x18, 0x01 };

static void test_session(size_t chunk, int *good)
{
	struct keys k;
	struct wa_noise_conn *cl, *sv;
	struct wa_buf c2s = WA_BUF_INIT, s2c = WA_BUF_INIT;
	struct sink cs = { WA_BUF_INIT, 0, 0 }, ss = { WA_BUF_INIT, 0, 0 };
	const uint8_t ri[] = { 1, 2, 3 };
	const uint8_t *p;
	size_t n;

	keys_init(&k);
	cl = wa_noise_conn_new_client(k.cpriv, NULL, &k.trust, payload, sizeof payload, ri, sizeof ri, 0);
	sv = wa_noise_conn_new_server(k.spriv, k.spub, k.chain.data, k.chain.len, 0);
	if (!cl || !sv || wa_noise_conn_start(cl, &c2s) != 0)
		goto bad;
	if (deliver(sv, &c2s, chunk, &s2c, &ss) != WA_NOISE_CONN_HANDSHAKE)
		goto bad;
	if (deliver(cl, &s2c, chunk, &c2s, &cs) != WA_NOISE_CONN_OPEN)
		goto bad;
	/* client's first transport frame goes out with its ClientFinish */
	if (wa_noise_conn_send(cl, (const uint8_t *)"ping", 4, &c2s) != 0)
		goto bad;
	if (deliver(sv, &c2s, chunk, &s2c, &ss) != WA_NOISE_CONN_OPEN || ss.frames != 1 ||
	    memcmp(ss.got.data + 3, "ping", 4) != 0)
		goto bad;
	if (memcmp(wa_noise_conn_peer_static(sv), k.cpub, 32) != 0 ||
	    memcmp(wa_noise_conn_peer_static(cl), k.spub, 32) != 0)
		goto bad;
	p = wa_noise_conn_client_payload(sv, &n);
	if (!p || n != sizeof payload || memcmp(p, payload, n) != 0)
		goto bad;
	p = wa_noise_conn_routing(sv, &n);
	if (!p || n != sizeof ri || memcmp(p, ri, n) != 0)
		goto bad;
	/* 20 frames server -> client in one burst */
	for (int i = 0; i < 20; i++)
		if (wa_noise_conn_send(sv, (const uint8_t *)"0123456789", (size_t)(i % 11), &s2c) != 0)
			goto bad;
	if (deliver(cl, &s2c, chunk, &c2s, &cs) != WA_NOISE_CONN_OPEN || cs.frames != 20 || c2s.len != 0)
		goto bad;
	goto done;
bad:
	*good = 0;
	printf("# session with chunk %zu failed\n", chunk);
done:
	wa_noise_conn_free(cl);
	wa_noise_conn_free(sv);
	wa_buf_free(&c2s);
	wa_buf_free(&s2c);
	wa_buf_free(&cs.got);
	wa_buf_free(&ss.got);
	wa_buf_free(&k.chain);
}

static void test_failures(void)
{
	struct keys k;
	struct wa_noise_conn *cl, *sv;
	struct wa_buf c2s = WA_BUF_INIT, s2c = WA_BUF_INIT;
	struct sink cs = { WA_BUF_INIT, 0, 0 }, ss = { WA_BUF_INIT, 0, 0 };

	keys_init(&k);

	/* client trusting WhatsApp's root refuses the simulator chain */
	cl = wa_noise_conn_new_client(k.cpriv, NULL, NULL, payload, sizeof payload, NULL, 0, 0);
	sv = wa_noise_conn_new_server(k.spriv, k.spub, k.chain.data, k.chain.len, 0);
	wa_noise_conn_start(cl, &c2s);
	deliver(sv, &c2s, 1000, &s2c, &ss);
	is_int(deliver(cl, &s2c, 1000, &c2s, &cs), WA_NOISE_ECERT, "client under WhatsApp's root rejects a test chain");
	is_int(wa_noise_conn_cert_error(cl), WA_CERT_EROOTSIG, "cert error reported");
	is_int((int)c2s.len, 0, "no ClientFinish sent");
	is_int(wa_noise_conn_send(cl, (const uint8_t *)"x", 1, &c2s), WA_NOISE_ECERT, "failed conn stays failed");
	ok(wa_noise_conn_peer_static(cl) == NULL, "no peer key after failure");
	wa_noise_conn_free(cl);
	wa_noise_conn_free(sv);

	/* garbage to a server */
	sv = wa_noise_conn_new_server(k.spriv, k.spub, k.chain.data, k.chain.len, 0);
	wa_buf_append(&c2s, "GET / HTTP/1.1\r\n", 16);
	is_int(deliver(sv, &c2s, 1000, &s2c, &ss), WA_NOISE_EDECODE, "server rejects a stream without the WA intro");
	wa_noise_conn_free(sv);

	/* intro fine, hello garbage */
	sv = wa_noise_conn_new_server(k.spriv, k.spub, k.chain.data, k.chain.len, 0);
	wa_frame_write_intro(&c2s, NULL, 0);
	wa_frame_write(&c2s, "\xff\xff\xff\xff", 4);
	is_int(deliver(sv, &c2s, 1000, &s2c, &ss), WA_NOISE_EDECODE, "server rejects a garbage ClientHello");
	ok(wa_noise_conn_client_payload(sv, NULL) == NULL, "no payload");
	wa_noise_conn_free(sv);

	/* oversize frame for a small cap */
	sv = wa_noise_conn_new_server(k.spriv, k.spub, k.chain.data, k.chain.len, 16);
	wa_frame_write_intro(&c2s, NULL, 0);
	wa_frame_write(&c2s, "0123456789abcdefX", 17);
	is_int(deliver(sv, &c2s, 1000, &s2c, &ss), WA_NOISE_EDECODE, "frame over the conn's cap rejected");
	wa_noise_conn_free(sv);

	/* the frame callback can stop processing */
	cl = wa_noise_conn_new_client(k.cpriv, NULL, &k.trust, payload, sizeof payload, NULL, 0, 0);
	sv = wa_noise_conn_new_server(k.spriv, k.spub, k.chain.data, k.chain.len, 0);
	wa_buf_reset(&s2c);
	wa_noise_conn_start(cl, &c2s);
	deliver(sv, &c2s, 1000, &s2c, &ss);
	deliver(cl, &s2c, 1000, &c2s, &cs);
	is_int(deliver(sv, &c2s, 1000, &s2c, &ss), WA_NOISE_CONN_OPEN, "open");
	wa_noise_conn_send(sv, (const uint8_t *)"a", 1, &s2c);
	wa_noise_conn_send(sv, (const uint8_t *)"b", 1, &s2c);
	cs.stop_after = 1;
	cs.frames = 0;
	is_int(deliver(cl, &s2c, 1000, &c2s, &cs), WA_NOISE_EINVAL, "callback stop fails the conn");
	is_int(cs.frames, 1, "after exactly one frame");
	/* out of order calls */
	is_int(wa_noise_conn_start(sv, &c2s), WA_NOISE_ESTATE, "server cannot start");
	wa_noise_conn_free(cl);
	wa_noise_conn_free(sv);

	cl = wa_noise_conn_new_client(k.cpriv, NULL, &k.trust, payload, sizeof payload, NULL, 0, 0);
	is_int(wa_noise_conn_send(cl, (const uint8_t *)"a", 1, &c2s), WA_NOISE_ESTATE, "no send before open");
	wa_buf_reset(&s2c);
	wa_frame_write(&s2c, "abc", 3);
	is_int(deliver(cl, &s2c, 1000, &c2s, &cs), WA_NOISE_ESTATE, "frame before start refused");
	wa_noise_conn_free(cl);

	ok(wa_noise_conn_new_server(k.spriv, k.spub, NULL, 0, 0) == NULL, "server needs a chain");
	ok(wa_noise_conn_new_client(k.cpriv, NULL, NULL, NULL, WA_NOISE_HS_MAX + 1, NULL, 0, 0) == NULL,
	   "oversize payload refused");

	wa_buf_free(&c2s);
	wa_buf_free(&s2c);
	wa_buf_free(&cs.got);
	wa_buf_free(&ss.got);
	wa_buf_free(&k.chain);
}


/* ---- the event-loop shape ---- */

#define HEADROOM 16    /* what lws asks for (LWS_PRE) */

struct side {
	struct wa_noise_conn *c;
	int opened;            /* on_open ran */
	int frames_at_open;    /* frames delivered before on_open (must be 0) */
	int frames;
	int echo;              /* answer every frame with "echo:" + it */
	int bad;               /* a check inside a callback failed */
	struct wa_buf got;     /* be3(len)|plain of every frame */
	const struct keys *k;
};

static int side_frame(void *ctx, const uint8_t *p, size_t n)
{
	struct side *sd = ctx;

	wa_frame_write(&sd->got, p, n);
	sd->frames++;
	if (sd->echo) {
		uint8_t *e = malloc(n + 5);

		if (!e)
			return -1;
		memcpy(e, "echo:", 5);
		memcpy(e + 5, p, n);
		if (wa_noise_conn_send(sd->c, e, n + 5, NULL) != 0)
			sd->bad = 1;
		free(e);
	}
	return 0;
}

static int server_open(void *ctx, struct wa_noise_conn *c)
{
	struct side *sd = ctx;
	const uint8_t *p;
	size_t n;

	sd->opened++;
	sd->frames_at_open = sd->frames;
	/* what wa-sim decides on: the payload and the client's key */
	p = wa_noise_conn_client_payload(c, &n);
	if (!p || n != sizeof payload || memcmp(p, payload, n) != 0 ||
	    memcmp(wa_noise_conn_peer_static(c), sd->k->cpub, 32) != 0)
		sd->bad = 1;
	if (wa_noise_conn_send(c, (const uint8_t *)"welcome", 7, NULL) != 0)
		sd->bad = 1;
	return 0;
}

static int client_open(void *ctx, struct wa_noise_conn *c)
{
	struct side *sd = ctx;

	sd->opened++;
	/* queued right behind the ClientFinish */
	if (wa_noise_conn_send(c, (const uint8_t *)"hello1", 6, NULL) != 0)
		sd->bad = 1;
	return 0;
}

/* Write everything `from` has queued into `to`, wchunk bytes per write,
 * like an lws writer: the head room and the written bytes get clobbered
 * (lws puts the WebSocket header there and masks client frames in place). */
static int pump(struct side *from, struct side *to, size_t wchunk, int *msgs)
{
	uint8_t wire[4096];
	uint8_t *p;
	size_t n;
	int st = wa_noise_conn_state(to->c);

	while ((p = wa_noise_conn_out_peek(from->c, &n)) != NULL) {
		size_t k = n < wchunk ? n : wchunk;

		if (k > sizeof wire)
			k = sizeof wire;
		memcpy(wire, p, k);
		memset(p - HEADROOM, 0xEE, HEADROOM);
		for (size_t i = 0; i < k; i++)
			p[i] ^= 0x5a;
		if (wa_noise_conn_out_consume(from->c, k) != 0)
			return WA_NOISE_EINVAL;
		if (k == n && msgs)
			(*msgs)++;
		st = wa_noise_conn_feed(to->c, wire, k, NULL, side_frame, to);
		if (st < 0)
			return st;
	}
	return st;
}

static void test_event_loop(size_t wchunk, int *good)
{
	struct keys k;
	struct side cl = { 0 }, sv = { 0 };
	const uint8_t ri[] = { 9, 8, 7, 6 };
	uint8_t *big = malloc(20000);
	const uint8_t *p;
	size_t n;
	int msgs = 0, rounds;

	keys_init(&k);
	cl.k = sv.k = &k;
	cl.c = wa_noise_conn_new_client(k.cpriv, NULL, &k.trust, payload, sizeof payload, ri, sizeof ri, 0);
	sv.c = wa_noise_conn_new_server(k.spriv, k.spub, k.chain.data, k.chain.len, 0);
	if (!big || !cl.c || !sv.c || wa_noise_conn_set_output(cl.c, 0, HEADROOM) != 0 ||
	    wa_noise_conn_set_output(sv.c, 0, HEADROOM) != 0)
		goto bad;
	wa_noise_conn_set_on_open(cl.c, client_open);
	wa_noise_conn_set_on_open(sv.c, server_open);
	sv.echo = 1;
	if (wa_noise_conn_start(cl.c, NULL) != 0 || wa_noise_conn_out_frames(cl.c) != 1)
		goto bad;
	/* intro ("ED" + routing + "WA..") and ClientHello are one message */
	p = wa_noise_conn_out_peek(cl.c, &n);
	if (!p || n != wa_noise_conn_out_pending(cl.c) || memcmp(p, "ED\0\1", 4) != 0)
		goto bad;
	/* the event loop: move bytes until both queues are empty */
	for (rounds = 0; rounds < 10; rounds++) {
		if (pump(&cl, &sv, wchunk, &msgs) < 0 || pump(&sv, &cl, wchunk, NULL) < 0)
			goto bad;
		if (!wa_noise_conn_out_pending(cl.c) && !wa_noise_conn_out_pending(sv.c))
			break;
	}
	if (wa_noise_conn_state(cl.c) != WA_NOISE_CONN_OPEN || wa_noise_conn_state(sv.c) != WA_NOISE_CONN_OPEN ||
	    cl.opened != 1 || sv.opened != 1 || sv.frames_at_open != 0 || cl.bad || sv.bad)
		goto bad;
	/* client: welcome, then the echo of hello1; server: hello1 */
	if (cl.frames != 2 || memcmp(cl.got.data + 3, "welcome", 7) != 0 ||
	    memcmp(cl.got.data + 13, "echo:hello1", 11) != 0 || sv.frames != 1 ||
	    memcmp(sv.got.data + 3, "hello1", 6) != 0 || msgs != 3)
		goto bad;
	p = wa_noise_conn_routing(sv.c, &n);
	if (!p || n != sizeof ri || memcmp(p, ri, n) != 0)
		goto bad;
	/* bursts of frames up to 20000 bytes (past the 16 KiB keep size), each
	 * echoed from inside the server's callback */
	for (size_t i = 0; i < 20000; i++)
		big[i] = (uint8_t)(i * 7);
	wa_buf_reset(&cl.got);
	cl.frames = 0;
	for (int i = 0; i < 12; i++)
		if (wa_noise_conn_send(cl.c, big, (size_t)(i * 1811) % 20001, NULL) != 0)
			goto bad;
	if (wa_noise_conn_out_frames(cl.c) != 12)
		goto bad;
	for (rounds = 0; rounds < 10; rounds++) {
		if (pump(&cl, &sv, wchunk, NULL) < 0 || pump(&sv, &cl, wchunk, NULL) < 0)
			goto bad;
		if (!wa_noise_conn_out_pending(cl.c) && !wa_noise_conn_out_pending(sv.c))
			break;
	}
	if (cl.frames != 12 || sv.frames != 13 || sv.bad || wa_noise_conn_out_frames(sv.c) != 0)
		goto bad;
	for (size_t off = 0, i = 0; i < 12; i++) {
		size_t want = (i * 1811) % 20001, got = (size_t)cl.got.data[off] << 16 | cl.got.data[off + 1] << 8 |
						       cl.got.data[off + 2];

		if (got != want + 5 || memcmp(cl.got.data + off + 8, big, want) != 0)
			goto bad;
		off += 3 + got;
	}
	goto done;
bad:
	*good = 0;
	printf("# event loop with writes of %zu bytes failed\n", wchunk);
done:
	free(big);
	wa_noise_conn_free(cl.c);
	wa_noise_conn_free(sv.c);
	wa_buf_free(&cl.got);
	wa_buf_free(&sv.got);
	wa_buf_free(&k.chain);
}

/* Two conns on mirrored transport keys, as if a handshake had run. */
static void open_pair(struct wa_noise_conn **a, struct wa_noise_conn **b, size_t max_frame)
{
	struct wa_noise_transport ta, tb;

	memset(&ta, 0, sizeof ta);
	wa_random(ta.send.key, 32);
	wa_random(ta.recv.key, 32);
	tb.send = ta.recv;
	tb.recv = ta.send;
	*a = wa_noise_conn_new_open(0, &ta, max_frame);
	*b = wa_noise_conn_new_open(1, &tb, max_frame);
}

static void test_queue(void)
{
	struct keys k;
	struct wa_noise_conn *cl, *a, *b;
	struct wa_buf out = WA_BUF_INIT;
	struct sink s = { WA_BUF_INIT, 0, 0 };
	uint8_t *p, big[200];
	size_t n, n2;

	keys_init(&k);
	cl = wa_noise_conn_new_client(k.cpriv, NULL, &k.trust, payload, sizeof payload, NULL, 0, 0);
	is_int(wa_noise_conn_set_output(cl, 0, WA_NOISE_CONN_HEADROOM_MAX + 1), WA_NOISE_EINVAL, "head room over the max refused");
	is_int(wa_noise_conn_set_output(cl, 0, HEADROOM), WA_NOISE_OK, "head room set before anything is queued");
	ok(wa_noise_conn_out_peek(cl, &n) == NULL && n == 0, "empty queue: nothing to peek");
	wa_noise_conn_start(cl, NULL);
	is_int(wa_noise_conn_set_output(cl, 0, 0), WA_NOISE_ESTATE, "output settings frozen once something is queued");
	p = wa_noise_conn_out_peek(cl, &n);
	ok(p && n == wa_noise_conn_out_pending(cl) && memcmp(p, "WA\6\3", 4) == 0,
	   "first message: plain intro + ClientHello, all of the queue");
	is_int(wa_noise_conn_out_consume(cl, n + 1), WA_NOISE_EINVAL, "consume past the message refused");
	is_int(wa_noise_conn_out_consume(cl, 5), WA_NOISE_OK, "partial consume");
	ok(wa_noise_conn_out_peek(cl, &n2) == p + 5 && n2 == n - 5, "peek after a partial write: the rest of it");
	is_int((int)wa_noise_conn_out_frames(cl), 1, "a partly written message still counts");
	wa_noise_conn_out_consume(cl, n2);
	ok(wa_noise_conn_out_pending(cl) == 0 && wa_noise_conn_out_frames(cl) == 0, "queue empty after the write");
	wa_noise_conn_free(cl);

	/* per-frame messages, mixed with take-into-buffer */
	open_pair(&a, &b, 0);
	ok(a && b && wa_noise_conn_state(a) == WA_NOISE_CONN_OPEN && wa_noise_conn_peer_static(a) == NULL,
	   "new_open: open at once, no peer key");
	wa_noise_conn_send(a, (const uint8_t *)"one", 3, NULL);
	wa_noise_conn_send(a, (const uint8_t *)"two!", 4, NULL);
	is_int((int)wa_noise_conn_out_frames(a), 2, "two frames queued");
	p = wa_noise_conn_out_peek(a, &n);
	is_int((int)n, 3 + 3 + 16, "peek hands out exactly one frame");
	wa_buf_append(&out, p, n);
	wa_noise_conn_out_consume(a, n);
	is_int(wa_noise_conn_send(a, (const uint8_t *)"three", 5, &out), WA_NOISE_OK, "send with a buffer takes the queue");
	ok(wa_noise_conn_out_pending(a) == 0 && out.len == (3 + 19) + (3 + 20) + (3 + 21), "all three in the buffer");
	is_int(wa_noise_conn_feed(b, out.data, out.len, NULL, on_frame, &s), WA_NOISE_CONN_OPEN, "peer reads them");
	ok(s.frames == 3 && memcmp(s.got.data + 3, "one", 3) == 0 && memcmp(s.got.data + 9, "two!", 4) == 0 &&
	   memcmp(s.got.data + 16, "three", 5) == 0, "in order");
	is_int(wa_noise_conn_send(a, big, WA_FRAME_MAX_PAYLOAD - 15, NULL), WA_NOISE_EINVAL, "plaintext over a frame refused");
	is_int(wa_noise_conn_state(a), WA_NOISE_CONN_OPEN, "... without failing the conn");
	wa_noise_conn_free(a);
	wa_noise_conn_free(b);

	/* the cap */
	open_pair(&a, &b, 0);
	wa_noise_conn_set_output(a, 100, HEADROOM);
	memset(big, 'x', sizeof big);
	is_int(wa_noise_conn_send(a, big, 50, NULL), WA_NOISE_OK, "69 bytes fit a 100-byte queue");
	is_int(wa_noise_conn_send(a, big, 50, NULL), WA_NOISE_ENOMEM, "the next frame does not: ENOMEM");
	ok(wa_noise_conn_state(a) == WA_NOISE_ENOMEM && wa_noise_conn_out_pending(a) == 0 &&
	   wa_noise_conn_out_peek(a, &n) == NULL, "a full queue is final, output dropped");
	wa_noise_conn_free(a);
	wa_noise_conn_free(b);

	wa_buf_free(&out);
	wa_buf_free(&s.got);
	wa_buf_free(&k.chain);
}

static void test_oversize(void)
{
	struct wa_noise_conn *a, *b;
	struct wa_buf out = WA_BUF_INIT;
	struct sink s = { WA_BUF_INIT, 0, 0 };
	uint8_t big[1000];

	memset(big, 'y', sizeof big);
	open_pair(&a, &b, 1000);
	wa_noise_conn_send(a, big, 1000 - 16, &out);
	is_int(wa_noise_conn_feed(b, out.data, out.len, NULL, on_frame, &s), WA_NOISE_CONN_OPEN, "frame of exactly max_frame read");
	wa_buf_reset(&out);
	wa_noise_conn_send(a, big, 1000 - 15, &out);
	is_int(wa_noise_conn_feed(b, out.data, 3, NULL, on_frame, &s), WA_NOISE_EDECODE,
	       "one byte over max_frame: refused on the 3-byte header, before any payload");
	is_int(wa_noise_conn_feed(b, out.data + 3, out.len - 3, NULL, on_frame, &s), WA_NOISE_EDECODE, "and stays refused");
	is_int(s.frames, 1, "only the first frame was delivered");
	wa_noise_conn_free(a);
	wa_noise_conn_free(b);
	wa_buf_free(&out);
	wa_buf_free(&s.got);
}

struct reenter {
	struct wa_noise_conn *c;
	int inner;             /* what a feed from inside the callback returned */
	int sends;             /* sends inside the callback that failed */
	uint8_t copy[64];
};

static int reenter_frame(void *ctx, const uint8_t *p, size_t n)
{
	struct reenter *r = ctx;

	r->inner = wa_noise_conn_feed(r->c, p, n, NULL, NULL, NULL);
	return 0;
}

/* send until the queue is full, then keep reading the plaintext: it must
 * still be valid (ASan checks) */
static int flood_frame(void *ctx, const uint8_t *p, size_t n)
{
	struct reenter *r = ctx;

	for (int i = 0; i < 10; i++)
		if (wa_noise_conn_send(r->c, p, n, NULL) != 0)
			r->sends++;
	memcpy(r->copy, p, n < sizeof r->copy ? n : sizeof r->copy);
	return 0;
}

static void test_final(void)
{
	struct keys k;
	struct wa_noise_conn *a, *b, *sv;
	struct wa_buf out = WA_BUF_INIT, o2 = WA_BUF_INIT;
	struct sink s = { WA_BUF_INIT, 0, 0 };
	struct reenter r;
	size_t n;

	keys_init(&k);
	/* a tampered transport frame */
	open_pair(&a, &b, 0);
	wa_noise_conn_send(a, (const uint8_t *)"abc", 3, &out);
	wa_noise_conn_send(a, (const uint8_t *)"def", 3, &o2);
	out.data[5] ^= 1;
	is_int(wa_noise_conn_feed(b, out.data, out.len, NULL, on_frame, &s), WA_NOISE_EDECRYPT, "tampered frame: EDECRYPT");
	is_int(wa_noise_conn_feed(b, o2.data, o2.len, NULL, on_frame, &s), WA_NOISE_EDECRYPT, "a good frame after it is refused too");
	is_int(wa_noise_conn_send(b, (const uint8_t *)"x", 1, NULL), WA_NOISE_EDECRYPT, "send refused");
	is_int(wa_noise_conn_out_consume(b, 0), WA_NOISE_EDECRYPT, "consume refused");
	is_int(wa_noise_conn_out_take(b, &out), WA_NOISE_EDECRYPT, "take refused");
	is_int(wa_noise_conn_set_output(b, 0, 0), WA_NOISE_EDECRYPT, "settings refused");
	ok(wa_noise_conn_out_peek(b, &n) == NULL && wa_noise_conn_out_pending(b) == 0 && s.frames == 0,
	   "nothing to write, nothing delivered");
	wa_noise_conn_free(a);
	wa_noise_conn_free(b);

	/* a server that failed in the handshake */
	sv = wa_noise_conn_new_server(k.spriv, k.spub, k.chain.data, k.chain.len, 0);
	is_int(wa_noise_conn_feed(sv, (const uint8_t *)"XX\6\3", 4, NULL, NULL, NULL), WA_NOISE_EDECODE, "bad intro");
	ok(wa_noise_conn_state(sv) == WA_NOISE_EDECODE && wa_noise_conn_start(sv, NULL) == WA_NOISE_EDECODE &&
	   wa_noise_conn_client_payload(sv, &n) == NULL && n == 0 && wa_noise_conn_routing(sv, &n) == NULL,
	   "every call reports the same error");
	wa_noise_conn_free(sv);

	/* feeding from inside a callback is refused, the outer feed goes on */
	open_pair(&a, &b, 0);
	wa_buf_reset(&out);
	wa_noise_conn_send(a, (const uint8_t *)"r1", 2, &out);
	wa_noise_conn_send(a, (const uint8_t *)"r2", 2, &out);
	memset(&r, 0, sizeof r);
	r.c = b;
	is_int(wa_noise_conn_feed(b, out.data, out.len, NULL, reenter_frame, &r), WA_NOISE_CONN_OPEN, "outer feed fine");
	is_int(r.inner, WA_NOISE_ESTATE, "re-entrant feed refused with ESTATE");

	/* a send that fills the queue inside the callback fails the feed */
	wa_noise_conn_free(b);
	wa_noise_conn_free(a);
	open_pair(&a, &b, 0);
	wa_noise_conn_set_output(b, 200, 0);
	wa_buf_reset(&out);
	wa_noise_conn_send(a, (const uint8_t *)"0123456789abcdef0123456789abcdef", 32, &out);
	wa_noise_conn_send(a, (const uint8_t *)"more", 4, &out);
	memset(&r, 0, sizeof r);
	r.c = b;
	is_int(wa_noise_conn_feed(b, out.data, out.len, NULL, flood_frame, &r), WA_NOISE_ENOMEM,
	       "queue full inside a callback fails the feed");
	ok(r.sends > 0 && memcmp(r.copy, "0123456789abcdef", 16) == 0, "the callback's plaintext stayed valid");
	is_int(wa_noise_conn_state(b), WA_NOISE_ENOMEM, "and the conn stays failed");
	wa_noise_conn_free(a);
	wa_noise_conn_free(b);

	wa_buf_free(&out);
	wa_buf_free(&o2);
	wa_buf_free(&s.got);
	wa_buf_free(&k.chain);
}

int main(void)
{
	int good = 1;
	static const size_t chunks[] = { 1, 2, 3, 5, 7, 16, 100, 1 << 20 };

	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
		test_session(chunks[i], &good);
	ok(good, "full sessions (hello, cert, finish + first frame in one read, 20-frame burst) with reads of 1, 2, 3, 5, 7, 16, 100 bytes and whole");
	test_failures();
	good = 1;
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
		test_event_loop(chunks[i], &good);
	ok(good, "event loop through the output queues, writes of 1, 2, 3, 5, 7, 16, 100 bytes and whole: "
		 "on_open before any frame, answers from callbacks, 20000-byte frames echoed");
	test_queue();
	test_oversize();
	test_final();
	return tap_done();
}
