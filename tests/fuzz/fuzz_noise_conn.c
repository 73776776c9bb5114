// fuzz-sources: common/wa_err.c wa/noise_conn.c wa/noise.c wa/cert.c wa/crypto.c wa/frame.c wa/buf.c proto/wa_handshake.pb-c.c proto/wa_cert.pb-c.c common/wa_util.c
/* fuzz_noise_conn: wa_noise_conn driven the way an event loop drives it -
 * hostile bytes fed in many small reads, output drained through the queue
 * in partial writes that clobber the head room - on both sides.
 *
 * Byte 0 selects the target, byte 1 seeds the read and write splits, the
 * rest is the input:
 *   0  a server conn fed the input as the raw client stream (intro, frames)
 *   1  a server conn fed a genuine intro + ClientHello first, then the
 *      input (so it is read as the ClientFinish and what follows)
 *   2  an open server conn (fixed transport keys) fed a stream scripted by
 *      the input: records [op][len][bytes] become valid encrypted frames,
 *      raw bytes, or frames with a flipped bit; max_frame 512; every frame
 *      is echoed from inside the callback, a plaintext starting 0xFF stops
 *   3  a client conn after its ClientHello fed the input as the server
 *      stream (ServerHello, chain verification, frames)
 * Checked on every step: feed returns the state, errors are final and
 * leave nothing queued, peek never exceeds what is pending, on_open sees
 * the payload and the peer key. Keys are fixed where the API allows. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wa/buf.h"
#include "wa/cert.h"
#include "wa/crypto.h"
#include "wa/noise_conn.h"

#define HEADROOM 16

static uint8_t cs_priv[32], ss_priv[32], ss_pub[32], root_priv[32];
static struct wa_buf chain = WA_BUF_INIT;
static struct wa_cert_trust trust;
static int ready;

static void setup(void)
{
	struct wa_cert_details inter, leaf;
	uint8_t ipriv[32], nonces[128];

	memset(cs_priv, 0x51, 32);
	memset(ss_priv, 0x53, 32);
	memset(root_priv, 0x55, 32);
	memset(ipriv, 0x56, 32);
	memset(nonces, 0x57, sizeof nonces);
	wa_x25519_public(ss_priv, ss_pub);
	wa_x25519_public(root_priv, trust.root_pub);
	memset(&inter, 0, sizeof inter);
	inter.serial = 1;
	wa_x25519_public(ipriv, inter.key);
	inter.not_after = UINT64_MAX;
	leaf = inter;
	leaf.serial = 2;
	leaf.issuer_serial = 1;
	memcpy(leaf.key, ss_pub, 32);
	if (wa_cert_chain_build(root_priv, &inter, ipriv, &leaf, nonces, &chain) != 0)
		abort();
	ready = 1;
}

/* Split sizes from a seed: 0 = whole reads, else 1..64 bytes. */
struct splits {
	unsigned s;
};

static size_t next_split(struct splits *sp, size_t left)
{
	size_t n;

	if (sp->s == 0)
		return left;
	sp->s = sp->s * 1103515245u + 12345u;
	n = 1 + (sp->s >> 16) % 64;
	return n < left ? n : left;
}

static void check_state(struct wa_noise_conn *c, int st, int *prev_err)
{
	size_t n;
	uint8_t *p = wa_noise_conn_out_peek(c, &n);

	if (st != wa_noise_conn_state(c))
		abort();
	if (*prev_err < 0 && st != *prev_err)
		abort(); /* errors are final */
	if (st < 0) {
		*prev_err = st;
		if (p || n || wa_noise_conn_out_pending(c) || wa_noise_conn_out_frames(c))
			abort();
	} else if (n > wa_noise_conn_out_pending(c) || (n && !p) ||
		   (wa_noise_conn_out_pending(c) && !wa_noise_conn_out_frames(c))) {
		abort();
	}
}

/* Drain c's queue as an lws writer would, in partial writes. */
static void drain(struct wa_noise_conn *c, struct splits *sp)
{
	uint8_t *p;
	size_t n;

	while ((p = wa_noise_conn_out_peek(c, &n)) != NULL) {
		size_t k = next_split(sp, n);

		memset(p - HEADROOM, 0xEE, HEADROOM);
		memset(p, 0x5a, k);
		if (wa_noise_conn_out_consume(c, k) != WA_NOISE_OK)
			abort();
	}
	if (wa_noise_conn_out_pending(c) != 0)
		abort();
}

static int on_open(void *ctx, struct wa_noise_conn *c)
{
	size_t n;

	(void)ctx;
	if (wa_noise_conn_is_server(c) && (!wa_noise_conn_client_payload(c, &n) || !wa_noise_conn_peer_static(c)))
		abort();
	return wa_noise_conn_send(c, (const uint8_t *)"\0hi", 3, NULL) == WA_NOISE_OK ? 0 : -1;
}

static int on_frame(void *ctx, const uint8_t *p, size_t n)
{
	struct wa_noise_conn *c = ctx;

	if (n > 0 && p[0] == 0xFF)
		return 1;
	(void)wa_noise_conn_send(c, p, n, NULL); /* a full queue fails the feed */
	return 0;
}

/* Feed d in split reads, draining between them. */
static void feed_all(struct wa_noise_conn *c, const uint8_t *d, size_t n, struct splits *sp)
{
	int prev = 0;

	while (n > 0) {
		size_t k = next_split(sp, n);
		int st = wa_noise_conn_feed(c, d, k, NULL, on_frame, c);

		check_state(c, st, &prev);
		drain(c, sp);
		d += k;
		n -= k;
	}
	/* a failed conn refuses everything with its error */
	if (prev < 0 && (wa_noise_conn_feed(c, (const uint8_t *)"x", 1, NULL, NULL, NULL) != prev ||
			 wa_noise_conn_send(c, (const uint8_t *)"x", 1, NULL) != prev))
		abort();
}

static struct wa_noise_conn *server(size_t max_frame)
{
	struct wa_noise_conn *c = wa_noise_conn_new_server(ss_priv, ss_pub, chain.data, chain.len, max_frame);

	if (!c || wa_noise_conn_set_output(c, 64 * 1024, HEADROOM) != WA_NOISE_OK)
		abort();
	wa_noise_conn_set_on_open(c, on_open);
	return c;
}

static void raw_server(const uint8_t *d, size_t n, struct splits *sp, int genuine_hello)
{
	struct wa_noise_conn *c = server(4096);

	if (genuine_hello) {
		struct wa_noise_conn *cl =
			wa_noise_conn_new_client(cs_priv, NULL, &trust, (const uint8_t *)"\x08\x01", 2, NULL, 0, 0);
		struct wa_buf hello = WA_BUF_INIT;

		if (!cl || wa_noise_conn_start(cl, &hello) != WA_NOISE_OK)
			abort();
		feed_all(c, hello.data, hello.len, sp);
		if (wa_noise_conn_state(c) != WA_NOISE_CONN_HANDSHAKE)
			abort();
		wa_buf_free(&hello);
		wa_noise_conn_free(cl);
	}
	feed_all(c, d, n, sp);
	wa_noise_conn_free(c);
}

static void scripted_transport(const uint8_t *d, size_t n, struct splits *sp)
{
	struct wa_noise_transport tc, ts;
	struct wa_noise_conn *cl, *sv;
	struct wa_buf wire = WA_BUF_INIT;
	uint8_t big[4 * 255];

	memset(&tc, 0, sizeof tc);
	memset(tc.send.key, 0x61, 32);
	memset(tc.recv.key, 0x62, 32);
	ts.send = tc.recv;
	ts.recv = tc.send;
	cl = wa_noise_conn_new_open(0, &tc, 0);
	sv = wa_noise_conn_new_open(1, &ts, 512);
	if (!cl || !sv || wa_noise_conn_set_output(sv, 64 * 1024, HEADROOM) != WA_NOISE_OK)
		abort();
	while (n >= 2) {
		uint8_t op = d[0];
		size_t len = d[1] < n - 2 ? d[1] : n - 2;
		size_t at = wire.len;

		if (op % 3 == 1) {
			wa_buf_append(&wire, d + 2, len);
		} else {
			/* op % 8 == 6: the body four times, so frames pass max_frame */
			size_t pl = op % 8 == 6 ? 4 * len : len;

			for (size_t i = 0; i < pl; i++)
				big[i] = d[2 + i % len];
			if (wa_noise_conn_send(cl, big, pl, &wire) == WA_NOISE_OK && op % 3 == 2 && wire.len > at)
				wire.data[at + (op >> 2) % (wire.len - at)] ^= (uint8_t)(1u << (op & 7));
		}
		d += 2 + len;
		n -= 2 + len;
	}
	feed_all(sv, wire.data, wire.len, sp);
	wa_buf_free(&wire);
	wa_noise_conn_free(cl);
	wa_noise_conn_free(sv);
}

static void client_side(const uint8_t *d, size_t n, struct splits *sp)
{
	struct wa_noise_conn *c = wa_noise_conn_new_client(cs_priv, NULL, &trust, (const uint8_t *)"\x08\x01", 2, NULL, 0, 0);

	if (!c || wa_noise_conn_set_output(c, 0, HEADROOM) != WA_NOISE_OK || wa_noise_conn_start(c, NULL) != WA_NOISE_OK)
		abort();
	wa_noise_conn_set_on_open(c, on_open);
	drain(c, sp);
	feed_all(c, d, n, sp);
	if (wa_noise_conn_state(c) == WA_NOISE_ECERT && wa_noise_conn_cert_error(c) == WA_CERT_OK)
		abort();
	wa_noise_conn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct splits sp;

	if (!ready)
		setup();
	if (size < 2)
		return 0;
	sp.s = data[1];
	switch (data[0] % 4) {
	case 0: raw_server(data + 2, size - 2, &sp, 0); break;
	case 1: raw_server(data + 2, size - 2, &sp, 1); break;
	case 2: scripted_transport(data + 2, size - 2, &sp); break;
	case 3: client_side(data + 2, size - 2, &sp); break;
	}
	return 0;
}
