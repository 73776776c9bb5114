/* Unit tests for wa/noise_conn: a client and a server conn talking through
 * an in-memory pipe with every kind of read split, the ClientFinish and a
 * first transport frame in one read, peer keys, payload and routing info
 * handed to the server, and failure cases (wrong root, garbage, callback
 * stop, calls out of order). */
#include "tap.h"
#include "wa/cert.h"
#include "wa/crypto.h"
#include "wa/frame.h"
#include "wa/noise.h"
#include "wa/noise_conn.h"

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

int main(void)
{
	int good = 1;
	static const size_t chunks[] = { 1, 2, 3, 5, 7, 16, 100, 1 << 20 };

	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
		test_session(chunks[i], &good);
	ok(good, "full sessions (hello, cert, finish + first frame in one read, 20-frame burst) with reads of 1, 2, 3, 5, 7, 16, 100 bytes and whole");
	test_failures();
	return tap_done();
}
