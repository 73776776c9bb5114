/* Unit tests for wa/noise and wa/frame:
 *  - the handshake with the fixed keys of tests/vectors/protocol.json
 *    ("noise"), both roles, reproducing every message and every
 *    intermediate value (h, ck, k, ciphertexts, transport keys) byte for
 *    byte, then the first transport frame in each direction;
 *  - a full in-process initiator <-> responder handshake with fresh keys
 *    and a generated certificate chain, then transport both ways;
 *  - rejections: wrong trusted root, tampered ServerHello / ClientFinish,
 *    hostile ephemeral, calls out of order;
 *  - the frame parser: byte by byte, several frames per read, intros with
 *    and without routing info, oversize and bad intro. */
#include "tap.h"
#include "noise_vectors.h"
#include "wa/cert.h"
#include "wa/crypto.h"
#include "wa/frame.h"
#include "wa/noise.h"
#include "wa_util.h"

#include <time.h>

/* ---- hex helpers: decoded vectors live until the end of main ---- */

static uint8_t *arena[64];
static size_t narena;

static uint8_t *hx(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *p = malloc(n + 1);

	if (!p || narena == sizeof arena / sizeof arena[0] || wa_hex_decode(hex, p, n) != 0) {
		printf("Bail out! bad vector literal\n");
		exit(1);
	}
	arena[narena++] = p;
	if (len)
		*len = n;
	return p;
}

static void key32(const char *hex, uint8_t out[32])
{
	if (strlen(hex) != 64 || wa_hex_decode(hex, out, 32) != 0) {
		printf("Bail out! bad key literal\n");
		exit(1);
	}
}

static int buf_is(const struct wa_buf *b, const char *hex)
{
	size_t n;
	uint8_t *want = hx(hex, &n);

	return b->len == n && memcmp(b->data, want, n) == 0;
}

/* ---- trace capture: every labelled value must match nv_steps ---- */

struct trace_check {
	const char *who;
	int seen[sizeof nv_steps / sizeof nv_steps[0]];
	int bad;
	int unknown;
};

static void on_trace(void *ctx, const char *label, const uint8_t *v, size_t len)
{
	struct trace_check *tc = ctx;

	for (size_t i = 0; i < sizeof nv_steps / sizeof nv_steps[0]; i++) {
		if (strcmp(nv_steps[i].label, label) != 0)
			continue;
		size_t n = strlen(nv_steps[i].hex) / 2;
		uint8_t want[128];

		tc->seen[i]++;
		if (n > sizeof want || wa_hex_decode(nv_steps[i].hex, want, n) != 0 || n != len ||
		    memcmp(want, v, n) != 0) {
			tc->bad++;
			printf("# %s: %s differs from the vector\n", tc->who, label);
		}
		return;
	}
	tc->unknown++;
	printf("# %s: unexpected trace label %s\n", tc->who, label);
}

static void trace_report(const struct trace_check *tc)
{
	char name[128];
	size_t missing = 0;

	for (size_t i = 0; i < sizeof nv_steps / sizeof nv_steps[0]; i++) {
		if (tc->seen[i] != 1) {
			missing++;
			printf("# %s: %s seen %d times\n", tc->who, nv_steps[i].label, tc->seen[i]);
		}
	}
	snprintf(name, sizeof name, "%s: all %zu intermediate values produced once and equal to the vector",
		 tc->who, sizeof nv_steps / sizeof nv_steps[0]);
	ok(missing == 0 && tc->bad == 0 && tc->unknown == 0, name);
}

static struct wa_cert_trust test_trust(void)
{
	struct wa_cert_trust t;

	key32(NV_TEST_ROOT_PUB, t.root_pub);
	t.issuer_serial = 0;
	return t;
}

/* ---- 1. the vector transcript ---- */

static void test_vectors(void)
{
	struct wa_noise_hs c, s;
	struct wa_noise_transport ct, st;
	struct trace_check tcc = { .who = "initiator" }, tcs = { .who = "responder" };
	struct wa_buf out = WA_BUF_INIT, frame = WA_BUF_INIT, payload = WA_BUF_INIT;
	struct wa_cert_trust trust = test_trust();
	uint8_t cs_priv[32], ce_priv[32], ss_priv[32], se_priv[32], k[32], cstatic[32];
	size_t n_sh, n_cf, n_ch, n_chain, n_cp, n_pl, n_ci;
	uint8_t *sh = hx(NV_SERVER_HELLO_PROTO, &n_sh);
	uint8_t *cf = hx(NV_CLIENT_FINISH_PROTO, &n_cf);
	uint8_t *ch = hx(NV_CLIENT_HELLO_PROTO, &n_ch);
	uint8_t *chain = hx(NV_CERT_CHAIN_PLAINTEXT, &n_chain);
	uint8_t *cp = hx(NV_CLIENT_PAYLOAD_PLAINTEXT, &n_cp);
	uint8_t enc[128], dec[128];

	key32(NV_CLIENT_STATIC_PRIV, cs_priv);
	key32(NV_CLIENT_EPHEMERAL_PRIV, ce_priv);
	key32(NV_SERVER_STATIC_PRIV, ss_priv);
	key32(NV_SERVER_EPHEMERAL_PRIV, se_priv);

	is_int(wa_noise_init(&c, WA_NOISE_INITIATOR, cs_priv, NULL, ce_priv, &trust), WA_NOISE_OK,
	       "initiator init with fixed keys");
	is_int(wa_noise_init(&s, WA_NOISE_RESPONDER, ss_priv, NULL, se_priv, NULL), WA_NOISE_OK,
	       "responder init with fixed keys");
	c.trace = on_trace;
	c.trace_ctx = &tcc;
	s.trace = on_trace;
	s.trace_ctx = &tcs;
	/* inside the vector chain's validity window, fixed for reproducibility */
	c.now = 1800000000u;

	/* ClientHello, and the first WebSocket message = intro + frame */
	is_int(wa_noise_write_client_hello(&c, &out), WA_NOISE_OK, "client hello written");
	ok(buf_is(&out, NV_CLIENT_HELLO_PROTO), "ClientHello protobuf = vector");
	ok(wa_frame_write_intro(&frame, NULL, 0) == 0 && wa_frame_write(&frame, out.data, out.len) == 0,
	   "first frame framed");
	ok(buf_is(&frame, NV_FIRST_WS_MESSAGE_BYTES), "first WebSocket message bytes = vector");
	is_int(c.state, WA_NOISE_ST_HELLO, "initiator state HELLO");

	/* responder: hello in, ServerHello out */
	is_int(wa_noise_read_client_hello(&s, ch, n_ch), WA_NOISE_OK, "responder reads the vector ClientHello");
	wa_buf_reset(&out);
	is_int(wa_noise_write_server_hello(&s, chain, n_chain, &out), WA_NOISE_OK, "server hello written");
	ok(buf_is(&out, NV_SERVER_HELLO_PROTO), "ServerHello protobuf = vector (fixed keys, vector cert chain)");

	/* initiator: ServerHello in (cert chain verified against the test root) */
	is_int(wa_noise_read_server_hello(&c, sh, n_sh), WA_NOISE_OK, "initiator accepts the vector ServerHello");
	is_int(c.cert_err, WA_CERT_OK, "vector cert chain verified");
	key32(NV_SERVER_STATIC_PUB, k);
	is_mem(c.rs, k, 32, "decrypted server static = vector server_static_pub");

	/* ClientFinish */
	wa_buf_reset(&out);
	is_int(wa_noise_write_client_finish(&c, cp, n_cp, &out), WA_NOISE_OK, "client finish written");
	ok(buf_is(&out, NV_CLIENT_FINISH_PROTO), "ClientFinish protobuf = vector");
	is_int(wa_noise_read_client_finish(&s, cf, n_cf, cstatic, &payload), WA_NOISE_OK,
	       "responder reads the vector ClientFinish");
	key32(NV_CLIENT_STATIC_PUB, k);
	is_mem(cstatic, k, 32, "client static recovered = vector client_static_pub");
	ok(payload.len == n_cp && memcmp(payload.data, cp, n_cp) == 0, "ClientPayload recovered byte for byte");

	/* split and the first transport frame each way */
	is_int(wa_noise_split(&c, &ct), WA_NOISE_OK, "initiator split");
	is_int(wa_noise_split(&s, &st), WA_NOISE_OK, "responder split");
	key32("f791c6237f2b40c225238f1f503271959c823809e112cd32c722db5886fbcb00", k);
	ok(memcmp(ct.send.key, k, 32) == 0 && memcmp(st.recv.key, k, 32) == 0, "c2s key = vector, both sides");
	key32("374acbd7816aaaa59cd113c3494417fabc26454615071676a46273c6d296e3d8", k);
	ok(memcmp(ct.recv.key, k, 32) == 0 && memcmp(st.send.key, k, 32) == 0, "s2c key = vector, both sides");

	uint8_t *pl = hx(NV_C2S_PLAIN, &n_pl), *ci = hx(NV_C2S_CIPHER, &n_ci);
	ok(wa_noise_encrypt(&ct.send, pl, n_pl, enc) == 0 && n_ci == n_pl + 16 && memcmp(enc, ci, n_ci) == 0,
	   "first client transport frame = vector");
	ok(wa_noise_decrypt(&st.recv, enc, n_pl + 16, dec) == 0 && memcmp(dec, pl, n_pl) == 0,
	   "responder decrypts it");
	pl = hx(NV_S2C_PLAIN, &n_pl);
	ci = hx(NV_S2C_CIPHER, &n_ci);
	ok(wa_noise_encrypt(&st.send, pl, n_pl, enc) == 0 && n_ci == n_pl + 16 && memcmp(enc, ci, n_ci) == 0,
	   "first server transport frame = vector");
	ok(wa_noise_decrypt(&ct.recv, enc, n_pl + 16, dec) == 0 && memcmp(dec, pl, n_pl) == 0,
	   "initiator decrypts it");
	ok(ct.send.counter == 1 && ct.recv.counter == 1 && st.send.counter == 1 && st.recv.counter == 1,
	   "all counters advanced to 1");

	/* The responder does not see the ClientHello bytes' h1/h0 other than
	 * through its own init; both traces must still cover every step. */
	trace_report(&tcc);
	trace_report(&tcs);

	wa_buf_free(&out);
	wa_buf_free(&frame);
	wa_buf_free(&payload);
	wa_noise_transport_clear(&ct);
	wa_noise_transport_clear(&st);
}

/* ---- 2. live handshake with fresh keys and a generated chain ---- */

struct pair {
	struct wa_noise_hs c, s;
	struct wa_noise_transport ct, st;
	uint8_t root_priv[32], root_pub[32];
	uint8_t cs_priv[32], cs_pub[32], ss_priv[32], ss_pub[32];
	struct wa_buf chain;
};

static void pair_setup(struct pair *p)
{
	struct wa_cert_trust t;

	memset(p, 0, sizeof *p);
	wa_x25519_keypair(p->root_priv, p->root_pub);
	wa_x25519_keypair(p->cs_priv, p->cs_pub);
	wa_x25519_keypair(p->ss_priv, p->ss_pub);
	memcpy(t.root_pub, p->root_pub, 32);
	t.issuer_serial = 0;
	wa_cert_chain_generate(p->root_priv, 0, p->ss_pub, (uint64_t)time(NULL), 86400 * 30, &p->chain);
	wa_noise_init(&p->c, WA_NOISE_INITIATOR, p->cs_priv, p->cs_pub, NULL, &t);
	wa_noise_init(&p->s, WA_NOISE_RESPONDER, p->ss_priv, p->ss_pub, NULL, NULL);
}

static void pair_free(struct pair *p)
{
	wa_buf_free(&p->chain);
	wa_noise_clear(&p->c);
	wa_noise_clear(&p->s);
	wa_noise_transport_clear(&p->ct);
	wa_noise_transport_clear(&p->st);
}

/* Client payload used in the live tests. */
static const uint8_t live_payload[] = { 0x08, 0x01, 0x18, 0x01, 0x60, 0x01, 0x68, 0x01 };

static void test_live(void)
{
	struct pair p;
	struct wa_buf a = WA_BUF_INIT, b = WA_BUF_INIT, pl = WA_BUF_INIT;
	uint8_t cstatic[32], enc[256], dec[256];
	int good = 1;

	pair_setup(&p);
	ok(p.chain.len > 200 && p.chain.len < 400, "generated chain has a plausible size");
	is_int(wa_noise_write_client_hello(&p.c, &a), 0, "live: client hello");
	is_int(wa_noise_read_client_hello(&p.s, a.data, a.len), 0, "live: server reads hello");
	is_int(wa_noise_write_server_hello(&p.s, p.chain.data, p.chain.len, &b), 0, "live: server hello");
	is_int(wa_noise_read_server_hello(&p.c, b.data, b.len), 0, "live: client verifies chain and server static");
	is_mem(p.c.rs, p.ss_pub, 32, "live: client learned the server static key");
	wa_buf_reset(&a);
	is_int(wa_noise_write_client_finish(&p.c, live_payload, sizeof live_payload, &a), 0, "live: client finish");
	is_int(wa_noise_read_client_finish(&p.s, a.data, a.len, cstatic, &pl), 0, "live: server reads finish");
	is_mem(cstatic, p.cs_pub, 32, "live: server learned the client noise key");
	ok(pl.len == sizeof live_payload && memcmp(pl.data, live_payload, pl.len) == 0, "live: payload intact");
	is_int(wa_noise_split(&p.c, &p.ct), 0, "live: client split");
	is_int(wa_noise_split(&p.s, &p.st), 0, "live: server split");
	is_int(p.c.state, WA_NOISE_ST_DONE, "split leaves state DONE");
	is_mem(p.c.rs, p.ss_pub, 32, "remote static still readable after split");

	/* ten messages each way, interleaved; counters advance per frame */
	for (int i = 0; i < 10; i++) {
		uint8_t msg[64];
		size_t n = (size_t)(i * 5);

		memset(msg, 'a' + i, sizeof msg);
		if (wa_noise_encrypt(&p.ct.send, msg, n, enc) != 0 || wa_noise_decrypt(&p.st.recv, enc, n + 16, dec) != 0 ||
		    (n && memcmp(dec, msg, n) != 0))
			good = 0;
		if (wa_noise_encrypt(&p.st.send, msg, n, enc) != 0 || wa_noise_decrypt(&p.ct.recv, enc, n + 16, dec) != 0 ||
		    (n && memcmp(dec, msg, n) != 0))
			good = 0;
	}
	ok(good, "live: 10 transport frames each way (including an empty one)");
	ok(p.ct.send.counter == 10 && p.st.recv.counter == 10 && p.st.send.counter == 10 && p.ct.recv.counter == 10,
	   "live: counters at 10");

	/* a replayed or reordered frame fails (counter mismatch) */
	{
		uint8_t e1[32], e2[32];
		ok(wa_noise_encrypt(&p.ct.send, (const uint8_t *)"one", 3, e1) == 0 &&
		   wa_noise_encrypt(&p.ct.send, (const uint8_t *)"two", 3, e2) == 0, "two frames encrypted");
		is_int(wa_noise_decrypt(&p.st.recv, e2, 19, dec), WA_NOISE_EDECRYPT, "out-of-order frame rejected");
		is_int(p.st.recv.counter, 10, "failed decrypt does not advance the counter");
		ok(wa_noise_decrypt(&p.st.recv, e1, 19, dec) == 0 && memcmp(dec, "one", 3) == 0, "in-order frame accepted");
		is_int(wa_noise_decrypt(&p.st.recv, e1, 19, dec), WA_NOISE_EDECRYPT, "replayed frame rejected");
		is_int(wa_noise_decrypt(&p.st.recv, e1, 15, dec), WA_NOISE_EDECODE, "frame shorter than a tag rejected");
	}
	/* framed helpers: two frames written back to back, split by the
	 * parser, decrypted in order */
	{
		struct wa_buf wire = WA_BUF_INIT, plain = WA_BUF_INIT;
		struct wa_frame_parser fp;
		const uint8_t *fr;
		size_t fn, used, off = 0;
		int frames = 0, okk = 1;

		ok(wa_noise_write_frame(&p.st.send, (const uint8_t *)"first", 5, &wire) == 0 &&
		   wa_noise_write_frame(&p.st.send, NULL, 0, &wire) == 0 &&
		   wa_noise_write_frame(&p.st.send, (const uint8_t *)"third", 5, &wire) == 0, "three framed messages");
		is_int(wire.len, 3 + 21 + 3 + 16 + 3 + 21, "framed sizes: be3 + ciphertext + tag");
		wa_frame_parser_init(&fp, 0, 0);
		while (off < wire.len) {
			int r = wa_frame_parse(&fp, wire.data + off, wire.len - off, &used, &fr, &fn);
			off += used;
			if (r != 1 || wa_noise_read_frame(&p.ct.recv, fr, fn, &plain) != 0)
				okk = 0;
			frames++;
		}
		ok(okk && frames == 3 && plain.len == 10 && memcmp(plain.data, "firstthird", 10) == 0,
		   "framed messages parsed and decrypted in order");
		is_int(wa_noise_read_frame(&p.ct.recv, wire.data + 3, 21, &plain), WA_NOISE_EDECRYPT,
		       "replayed framed message rejected");
		is_int(plain.len, 10, "plaintext buffer unchanged on failure");
		wa_frame_parser_free(&fp);
		wa_buf_free(&wire);
		wa_buf_free(&plain);
	}

	/* counter exhaustion */
	p.ct.send.counter = UINT32_MAX;
	is_int(wa_noise_encrypt(&p.ct.send, (const uint8_t *)"x", 1, enc), WA_NOISE_ECOUNTER, "exhausted counter refused");

	wa_buf_free(&a);
	wa_buf_free(&b);
	wa_buf_free(&pl);
	pair_free(&p);
}

/* ---- 3. rejections ---- */

/* Run a handshake up to the ServerHello and return the client's verdict on
 * it, after mutate() has had a go at the ServerHello bytes. */
static int server_hello_verdict(const struct wa_cert_trust *trust_override, void (*mutate)(struct wa_buf *),
				int *cert_err)
{
	struct pair p;
	struct wa_buf a = WA_BUF_INIT, b = WA_BUF_INIT;
	int rc;

	pair_setup(&p);
	if (trust_override)
		p.c.trust = *trust_override;
	wa_noise_write_client_hello(&p.c, &a);
	wa_noise_read_client_hello(&p.s, a.data, a.len);
	wa_noise_write_server_hello(&p.s, p.chain.data, p.chain.len, &b);
	if (mutate)
		mutate(&b);
	rc = wa_noise_read_server_hello(&p.c, b.data, b.len);
	if (cert_err)
		*cert_err = p.c.cert_err;
	if (rc != 0 && p.c.state != WA_NOISE_ST_FAILED)
		rc = 12345; /* a failure must leave the handshake failed */
	wa_buf_free(&a);
	wa_buf_free(&b);
	pair_free(&p);
	return rc;
}

static void flip_ephemeral(struct wa_buf *b) { b->data[8] ^= 0x01; }
static void flip_static(struct wa_buf *b) { b->data[3 + 34 + 2 + 5] ^= 0x01; }
static void flip_payload(struct wa_buf *b) { b->data[b->len - 20] ^= 0x80; }
static void flip_tag(struct wa_buf *b) { b->data[b->len - 1] ^= 0x01; }
static void truncate_hello(struct wa_buf *b) { b->len -= 10; }
static void garbage_hello(struct wa_buf *b) { memset(b->data, 0xff, b->len); }

static void test_rejections(void)
{
	struct wa_cert_trust wa_root;
	int cert_err = 0;

	is_int(server_hello_verdict(NULL, NULL, &cert_err), 0, "control: untouched ServerHello accepted");

	wa_cert_trust_default(&wa_root);
	is_int(server_hello_verdict(&wa_root, NULL, &cert_err), WA_NOISE_ECERT,
	       "chain from a test root rejected under WhatsApp's root");
	is_int(cert_err, WA_CERT_EROOTSIG, "reason: root signature");
	{
		struct wa_cert_trust wrong;
		uint8_t wpriv[32];
		wa_x25519_keypair(wpriv, wrong.root_pub); /* some other root */
		wrong.issuer_serial = 0;
		is_int(server_hello_verdict(&wrong, NULL, NULL), WA_NOISE_ECERT, "wrong trusted root rejected");
	}

	/* Tampering: the ServerHello is 1a LL 0a 20 <e 32> 12 30 <static 48> 1a LL <payload>. */
	ok(server_hello_verdict(NULL, flip_ephemeral, NULL) < 0, "tampered server ephemeral rejected");
	is_int(server_hello_verdict(NULL, flip_static, NULL), WA_NOISE_EDECRYPT, "tampered encrypted static rejected");
	is_int(server_hello_verdict(NULL, flip_payload, NULL), WA_NOISE_EDECRYPT, "tampered encrypted cert chain rejected");
	is_int(server_hello_verdict(NULL, flip_tag, NULL), WA_NOISE_EDECRYPT, "tampered tag rejected");
	is_int(server_hello_verdict(NULL, truncate_hello, NULL), WA_NOISE_EDECODE, "truncated ServerHello rejected");
	is_int(server_hello_verdict(NULL, garbage_hello, NULL), WA_NOISE_EDECODE, "garbage ServerHello rejected");

	/* A chain for a different server static key: signatures fine, key mismatch. */
	{
		struct pair p;
		struct wa_buf a = WA_BUF_INIT, b = WA_BUF_INIT, other = WA_BUF_INIT;
		uint8_t opriv[32], opub[32];

		pair_setup(&p);
		wa_x25519_keypair(opriv, opub);
		wa_cert_chain_generate(p.root_priv, 0, opub, (uint64_t)time(NULL), 3600, &other);
		wa_noise_write_client_hello(&p.c, &a);
		wa_noise_read_client_hello(&p.s, a.data, a.len);
		wa_noise_write_server_hello(&p.s, other.data, other.len, &b);
		is_int(wa_noise_read_server_hello(&p.c, b.data, b.len), WA_NOISE_ECERT, "leaf key != server static rejected");
		is_int(p.c.cert_err, WA_CERT_EKEY, "reason: leaf key");
		is_int(wa_noise_write_client_finish(&p.c, live_payload, sizeof live_payload, &a), WA_NOISE_ESTATE,
		       "no ClientFinish after a failed ServerHello");
		wa_buf_free(&a);
		wa_buf_free(&b);
		wa_buf_free(&other);
		pair_free(&p);
	}

	/* responder side: hostile ClientHello / ClientFinish */
	{
		struct pair p;
		struct wa_buf a = WA_BUF_INIT, b = WA_BUF_INIT, pl = WA_BUF_INIT;
		uint8_t cstatic[32];
		/* HandshakeMessage{clientHello{ephemeral = 31 bytes}} */
		uint8_t short_e[4 + 31] = { 0x12, 0x21, 0x0a, 0x1f };
		/* ephemeral = all zero: X25519 gives zero, must be refused */
		uint8_t zero_e[4 + 32] = { 0x12, 0x22, 0x0a, 0x20 };

		pair_setup(&p);
		is_int(wa_noise_read_client_hello(&p.s, short_e, sizeof short_e), WA_NOISE_EDECODE,
		       "ClientHello with a 31-byte ephemeral rejected");
		is_int(wa_noise_read_client_hello(&p.s, short_e, sizeof short_e), WA_NOISE_ESTATE,
		       "failed responder stays failed");
		pair_free(&p);

		pair_setup(&p);
		is_int(wa_noise_read_client_hello(&p.s, zero_e, sizeof zero_e), 0, "all-zero ephemeral parses");
		is_int(wa_noise_write_server_hello(&p.s, p.chain.data, p.chain.len, &b), WA_NOISE_ECRYPTO,
		       "but the zero DH result is refused");
		pair_free(&p);

		pair_setup(&p);
		wa_buf_reset(&b);
		wa_noise_write_client_hello(&p.c, &a);
		wa_noise_read_client_hello(&p.s, a.data, a.len);
		wa_noise_write_server_hello(&p.s, p.chain.data, p.chain.len, &b);
		wa_noise_read_server_hello(&p.c, b.data, b.len);
		wa_buf_reset(&a);
		wa_noise_write_client_finish(&p.c, live_payload, sizeof live_payload, &a);
		a.data[a.len - 3] ^= 0x10; /* inside the encrypted payload */
		is_int(wa_noise_read_client_finish(&p.s, a.data, a.len, cstatic, &pl), WA_NOISE_EDECRYPT,
		       "tampered ClientFinish payload rejected");
		is_int((int)pl.len, 0, "nothing handed out on failure");
		pair_free(&p);
		wa_buf_free(&a);
		wa_buf_free(&b);
		wa_buf_free(&pl);
	}

	/* wrong role / order */
	{
		struct pair p;
		struct wa_buf a = WA_BUF_INIT;
		struct wa_noise_transport t;

		pair_setup(&p);
		is_int(wa_noise_read_client_hello(&p.c, NULL, 0), WA_NOISE_ESTATE, "initiator cannot read a ClientHello");
		is_int(wa_noise_write_server_hello(&p.s, NULL, 0, &a), WA_NOISE_ESTATE, "no ServerHello before ClientHello");
		is_int(wa_noise_split(&p.c, &t), WA_NOISE_ESTATE, "no split before the handshake is done");
		pair_free(&p);
		wa_buf_free(&a);
	}
}

/* ---- 4. frames ---- */

/* Feed all of data in chunks of `chunk` bytes, collecting frame payloads
 * into got (each prefixed by its 1-byte length for comparison). */
static int feed_all(struct wa_frame_parser *fp, const uint8_t *data, size_t len, size_t chunk, struct wa_buf *got,
		    int *frames)
{
	size_t off = 0;

	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		const uint8_t *d = data + off;

		off += n;
		while (n > 0) {
			const uint8_t *pl;
			size_t pn, used;
			int r = wa_frame_parse(fp, d, n, &used, &pl, &pn);

			if (used > n)
				return -2;
			d += used;
			n -= used;
			if (r < 0)
				return -1;
			if (r == 0)
				break;
			wa_buf_put_u8(got, (uint8_t)pn);
			wa_buf_append(got, pl, pn);
			(*frames)++;
		}
	}
	return 0;
}

static void test_frames(void)
{
	struct wa_buf stream = WA_BUF_INIT, want = WA_BUF_INIT, got = WA_BUF_INIT;
	struct wa_frame_parser fp;
	const char *payloads[] = { "hello", "", "x", "a longer frame payload of some bytes", "end" };
	int frames, good;
	size_t rl;

	/* client stream as the server sees it: intro then frames */
	wa_frame_write_intro(&stream, NULL, 0);
	for (size_t i = 0; i < 5; i++) {
		wa_frame_write(&stream, payloads[i], strlen(payloads[i]));
		wa_buf_put_u8(&want, (uint8_t)strlen(payloads[i]));
		wa_buf_append(&want, payloads[i], strlen(payloads[i]));
	}

	good = 1;
	for (size_t chunk = 1; chunk <= stream.len; chunk++) {
		wa_frame_parser_init(&fp, 0, 1);
		wa_buf_reset(&got);
		frames = 0;
		if (feed_all(&fp, stream.data, stream.len, chunk, &got, &frames) != 0 || frames != 5 ||
		    got.len != want.len || memcmp(got.data, want.data, want.len) != 0)
			good = 0;
		wa_frame_parser_free(&fp);
	}
	ok(good, "server parser: intro + 5 frames, fed in every chunk size from 1 byte to all at once");

	/* all at once: the in-place fast path returns every frame from one read */
	wa_frame_parser_init(&fp, 0, 1);
	wa_buf_reset(&got);
	frames = 0;
	ok(feed_all(&fp, stream.data, stream.len, stream.len, &got, &frames) == 0 && frames == 5,
	   "several frames in one read");
	ok(wa_frame_parser_routing(&fp, &rl) == NULL && rl == 0, "no routing info without ED intro");
	wa_frame_parser_free(&fp);

	/* client side: no intro expected; the intro bytes are then a length */
	wa_frame_parser_init(&fp, 0, 0);
	wa_buf_reset(&got);
	frames = 0;
	ok(feed_all(&fp, stream.data + 4, stream.len - 4, 3, &got, &frames) == 0 && frames == 5 &&
	   got.len == want.len && memcmp(got.data, want.data, got.len) == 0, "client parser without intro");
	wa_frame_parser_free(&fp);

	/* a 100 000-byte frame in 997-byte reads: the buffer grows as data arrives */
	{
		struct wa_buf big = WA_BUF_INIT;
		uint8_t *payload = malloc(100000);
		size_t off = 0, used, pn = 0, maxalloc = 0;
		const uint8_t *pl = NULL;
		int r = 0;

		for (size_t i = 0; i < 100000; i++)
			payload[i] = (uint8_t)(i * 7);
		wa_frame_write(&big, payload, 100000);
		wa_frame_parser_init(&fp, 0, 0);
		while (off < big.len) {
			size_t n = big.len - off < 997 ? big.len - off : 997;
			r = wa_frame_parse(&fp, big.data + off, n, &used, &pl, &pn);
			off += used;
			if (fp.alloc > maxalloc)
				maxalloc = fp.alloc;
			if (r != 0)
				break;
			if (off < 3 + 2000 && fp.alloc > 4096)
				maxalloc = (size_t)-1; /* grew ahead of the data */
		}
		ok(r == 1 && off == big.len && pn == 100000 && memcmp(pl, payload, pn) == 0, "large frame reassembled");
		ok(maxalloc == 100000, "buffer grew with the data, capped at the frame size");
		wa_frame_parser_free(&fp);
		wa_buf_free(&big);
		free(payload);
	}

	/* ED routing intro */
	{
		struct wa_buf s2 = WA_BUF_INIT;
		const uint8_t ri[] = { 0x08, 0x08, 0x08, 0x02 };
		const uint8_t *r;
		static const uint8_t want_intro[] = { 'E', 'D', 0, 1, 0, 0, 4, 8, 8, 8, 2, 'W', 'A', 6, 3 };

		wa_frame_write_intro(&s2, ri, sizeof ri);
		ok(s2.len == sizeof want_intro && memcmp(s2.data, want_intro, s2.len) == 0,
		   "ED intro = 'ED' 00 01 be3(len) routing 'WA' 06 03");
		wa_frame_write(&s2, "abc", 3);
		good = 1;
		for (size_t chunk = 1; chunk <= s2.len; chunk++) {
			wa_frame_parser_init(&fp, 0, 1);
			wa_buf_reset(&got);
			frames = 0;
			if (feed_all(&fp, s2.data, s2.len, chunk, &got, &frames) != 0 || frames != 1 || got.len != 4 ||
			    memcmp(got.data + 1, "abc", 3) != 0)
				good = 0;
			r = wa_frame_parser_routing(&fp, &rl);
			if (!r || rl != sizeof ri || memcmp(r, ri, rl) != 0)
				good = 0;
			wa_frame_parser_free(&fp);
		}
		ok(good, "ED intro parsed in every chunk size, routing info exposed");
		wa_buf_free(&s2);
	}

	/* bad intro */
	{
		static const uint8_t bad[] = { 'W', 'A', 5, 2, 0, 0, 1, 'x' };
		static const uint8_t bad2[] = { 'E', 'D', 0, 1, 0, 0, 1, 9, 'W', 'A', 6, 4 };
		static const uint8_t big_ri[] = { 'E', 'D', 0, 1, 0xff, 0xff, 0xff };

		wa_frame_parser_init(&fp, 0, 1);
		frames = 0;
		ok(feed_all(&fp, bad, sizeof bad, 1, &got, &frames) == -1, "wrong intro version rejected");
		wa_frame_parser_free(&fp);
		wa_frame_parser_init(&fp, 0, 1);
		ok(feed_all(&fp, bad2, sizeof bad2, sizeof bad2, &got, &frames) == -1,
		   "wrong header after routing info rejected");
		wa_frame_parser_free(&fp);
		wa_frame_parser_init(&fp, 0, 1);
		ok(feed_all(&fp, big_ri, sizeof big_ri, 2, &got, &frames) == -1, "oversize routing info rejected");
		wa_frame_parser_free(&fp);
	}

	/* oversize frame: rejected as soon as the length is read */
	{
		static const uint8_t hdr[] = { 0x00, 0x10, 0x01 }; /* 4097 */
		const uint8_t *pl;
		size_t pn, used;

		wa_frame_parser_init(&fp, 4096, 0);
		is_int(wa_frame_parse(&fp, hdr, 3, &used, &pl, &pn), -1, "frame over the configured cap rejected");
		is_int(wa_frame_parse(&fp, hdr, 3, &used, &pl, &pn), -1, "parser stays failed");
		wa_frame_parser_free(&fp);

		static const uint8_t hdr2[] = { 0x00, 0x10, 0x00 }; /* exactly 4096 */
		wa_frame_parser_init(&fp, 4096, 0);
		is_int(wa_frame_parse(&fp, hdr2, 3, &used, &pl, &pn), 0, "frame at the cap accepted (waiting for body)");
		wa_frame_parser_free(&fp);

		wa_frame_parser_init(&fp, 0, 0);
		is_int((long long)fp.max_payload, (long long)WA_FRAME_MAX_PAYLOAD, "default cap = 2^24 - 1");
		wa_frame_parser_free(&fp);

		wa_buf_reset(&got);
		is_int(wa_frame_write(&got, NULL, WA_FRAME_MAX_PAYLOAD + 1), -1, "writer refuses a payload over 2^24-1");
		is_int(wa_frame_write_intro(&got, hdr, WA_FRAME_ROUTING_MAX + 1), -1, "writer refuses oversize routing");
	}

	wa_buf_free(&stream);
	wa_buf_free(&want);
	wa_buf_free(&got);
}

int main(void)
{
	test_vectors();
	test_live();
	test_rejections();
	test_frames();
	for (size_t i = 0; i < narena; i++)
		free(arena[i]);
	return tap_done();
}
