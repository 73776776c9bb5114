/* bench_proto: speed and memory of the protocol library (wa/).
 *
 * Each case is a small fixture (built once, off the clock) and an operation
 * the engine performs per stanza / frame / message / file. For every case:
 *   - warm-up: the operation is run with doubling iteration counts until it
 *     has taken WARM seconds of CPU (this also calibrates the per-rep count);
 *   - REPS repetitions of ~TIME CPU seconds each; the median CPU ns/op is
 *     reported with ops/s and MB/s (per core) derived from it, the spread
 *     (max-min)/median of the CPU times, and the median wall ns/op next to
 *     it (wall >> CPU means the shared machine was busy);
 *   - heap: this program interposes malloc/free (glibc's documented
 *     replacement mechanism, forwarding to __libc_malloc & co.) and counts
 *     live bytes, so "heap-peak" is the largest extra heap one operation
 *     held at any moment (library allocations only: the fixture's own
 *     buffers are made in setup) and "allocs/op" the allocation calls per
 *     operation, averaged over the timed reps;
 *   - rss+: the growth of the resident set during one operation (VmHWM
 *     after, reset through /proc/self/clear_refs, minus VmRSS before), in
 *     KiB; it shows whether a streamed 64 MB file is ever held whole.
 *
 * Inputs are deterministic (splitmix64 with fixed seeds) except key
 * material the library generates itself (Signal identities, Noise
 * ephemerals), which is random by design; the work per operation does not
 * depend on key values.
 *
 * Machines here are shared and noisy: compare ratios within one run, and
 * use the instruction counts bench/run.sh collects with callgrind (the
 * timed loop is bench_timed_loop(); run.sh toggles collection on it).
 *
 * Usage: bench_proto [-t SECONDS] [-r REPS] [-w WARM] [-c SUBSTR | -C NAME]
 *                    [-n ITERS] [-l]
 *   -t  target seconds per repetition (default 0.25)
 *   -r  repetitions (default 5)
 *   -w  warm-up seconds (default 0.1)
 *   -c  only cases whose name contains SUBSTR; -C only the case NAME
 *   -n  fixed iterations per repetition (no calibration; 1 warm-up op)
 *   -l  list "name callgrind-iterations" and exit
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wa/appstate.h"
#include "wa/binary.h"
#include "wa/cert.h"
#include "wa/crypto.h"
#include "wa/frame.h"
#include "wa/mediacrypto.h"
#include "wa/node.h"
#include "wa/noise.h"
#include "wa/noise_conn.h"
#include "wa/signal.h"
#include "wa/sigstore.h"
#include "wa/syncaction.h"

#include <signal_protocol.h>
#include <curve.h>

/* ------------------------------------------------------------------ */
/* Heap accounting by malloc interposition. Single-threaded program: plain
 * counters. Disabled under AddressSanitizer, which owns malloc itself. */

#if defined(__SANITIZE_ADDRESS__)
#define BENCH_HEAPCOUNT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_HEAPCOUNT 0
#endif
#endif
#ifndef BENCH_HEAPCOUNT
#define BENCH_HEAPCOUNT 1
#endif

static long long heap_cur, heap_peak;
static unsigned long long heap_allocs;

#if BENCH_HEAPCOUNT
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t a, size_t b);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);

static inline void heap_add(void *p)
{
	if (!p)
		return;
	heap_cur += (long long)malloc_usable_size(p);
	if (heap_cur > heap_peak)
		heap_peak = heap_cur;
	heap_allocs++;
}

void *malloc(size_t n)
{
	void *p = __libc_malloc(n);

	heap_add(p);
	return p;
}

void *calloc(size_t a, size_t b)
{
	void *p = __libc_calloc(a, b);

	heap_add(p);
	return p;
}

void free(void *p)
{
	if (!p)
		return;
	heap_cur -= (long long)malloc_usable_size(p);
	__libc_free(p);
}

void *realloc(void *p, size_t n)
{
	long long old = p ? (long long)malloc_usable_size(p) : 0;
	void *q = __libc_realloc(p, n);

	if (q) {
		heap_cur -= old;
		heap_add(q);
		if (p)
			heap_allocs--; /* a resize, not a new allocation */
	} else if (p && n == 0) {
		heap_cur -= old; /* realloc(p, 0) freed p */
	}
	return q;
}

void *reallocarray(void *p, size_t a, size_t b)
{
	if (b && a > SIZE_MAX / b) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, a * b);
}

void *memalign(size_t align, size_t n)
{
	void *p = __libc_memalign(align, n);

	heap_add(p);
	return p;
}

void *aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	p = memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}
#endif

/* ------------------------------------------------------------------ */
/* helpers */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_proto: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s;
}

static uint64_t rng_next(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void rng_fill(uint8_t *p, size_t n)
{
	while (n) {
		uint64_t v = rng_next();
		size_t k = n < 8 ? n : 8;

		memcpy(p, &v, k);
		p += k, n -= k;
	}
}

static uint8_t *rng_bytes(size_t n)
{
	uint8_t *p = xmalloc(n);

	rng_fill(p, n);
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this (single-threaded) process, user + system: unlike wall
 * time it does not count the time other jobs on a shared machine had the
 * core. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* VmRSS / VmHWM from /proc/self/status in KiB, -1 if unavailable. */
static long proc_status_kib(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Reset the peak RSS (VmHWM) to the current RSS (Linux >= 4.0). */
static int hwm_reset(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	int ok;

	if (!f)
		return -1;
	ok = fputs("5", f) >= 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void check(int rc, const char *what)
{
	if (rc != 0)
		die("%s failed (%d)", what, rc);
}

/* ------------------------------------------------------------------ */
/* cases */

struct bcase {
	const char *name;
	const char *what;        /* one line for the report */
	void *(*setup)(size_t *bytes_per_op);
	int (*run)(void *ctx, size_t iters);
	void (*teardown)(void *ctx);
	size_t max_iters;        /* per repetition; 0 = unlimited */
	size_t cg_iters;         /* iterations under callgrind; 0 = skip there */
};

static int g_reps = 5;
static double g_time = 0.25, g_warm = 0.1;

/* ---- binary node codec ---- */

static void fmt_msgid(char out[23])
{
	static const char hx[] = "0123456789ABCDEF";

	memcpy(out, "3EB0", 4);
	for (int i = 4; i < 22; i++)
		out[i] = hx[rng_next() & 15];
	out[22] = 0;
}

static void fmt_phone(char *out, size_t cap)
{
	snprintf(out, cap, "%llu", 10000000000ull + rng_next() % 89999999999ull);
}

static void set_jid_attr(struct wa_node *n, const char *key, const char *s)
{
	struct wa_jid j;

	if (wa_jid_parse(s, &j, NULL) != 0 || wa_node_set_attr_jid(n, key, &j) != 0)
		die("jid %s", s);
}

static struct wa_node *enc_node(const char *type, size_t len)
{
	struct wa_node *e = wa_node_new_attrs("enc", "v", "2", "type", type, NULL);
	uint8_t *b = rng_bytes(len);

	if (!e || wa_node_set_bytes(e, b, len) != 0)
		die("enc node");
	free(b);
	return e;
}

/* An outgoing message stanza (docs/protocol.md 7.4) to ndev devices: 1 = a 1:1
 * first contact (pkmsg + device-identity), 8 = a 1:1 chat with the peer's
 * and our own devices (2 pkmsg, 6 msg), 64 = a group message carrying the
 * sender key to 64 devices (8 pkmsg, 56 msg) plus the skmsg. Ciphertext
 * sizes are those of a short text (msg ~140 B, pkmsg ~230 B, skmsg ~130 B,
 * ADVSignedDeviceIdentity ~175 B). */
static struct wa_node *make_message(size_t ndev)
{
	char id[23], phone[24], jid[64];
	struct wa_node *m, *parts, *to, *di;
	size_t npk = ndev == 1 ? 1 : ndev / 4 > 8 ? 8 : ndev / 4;
	uint8_t *b;

	fmt_msgid(id);
	m = wa_node_new_attrs("message", "id", id, "type", "text", NULL);
	if (!m)
		die("node");
	fmt_phone(phone, sizeof phone);
	if (ndev > 8) {
		snprintf(jid, sizeof jid, "120363%012llu@g.us", (unsigned long long)(rng_next() % 1000000000000ull));
		set_jid_attr(m, "to", jid);
		wa_node_set_attr(m, "phash", "2:q8bYv1Jk");
		wa_node_set_attr(m, "addressing_mode", "pn");
	} else {
		snprintf(jid, sizeof jid, "%s@s.whatsapp.net", phone);
		set_jid_attr(m, "to", jid);
	}
	parts = wa_node_add_new(m, "participants");
	for (size_t i = 0; i < ndev; i++) {
		if (ndev > 8 || i % 4 == 0)
			fmt_phone(phone, sizeof phone);
		snprintf(jid, sizeof jid, "%s:%zu@s.whatsapp.net", phone, i % 4 == 0 ? (size_t)0 : 10 + i % 4);
		to = wa_node_add_new(parts, "to");
		if (!to)
			die("node");
		set_jid_attr(to, "jid", jid);
		check(wa_node_add_child(to, i < npk ? enc_node("pkmsg", 230) : enc_node("msg", 140)), "add");
	}
	if (ndev > 8)
		check(wa_node_add_child(m, enc_node("skmsg", 130)), "add");
	di = wa_node_add_new(m, "device-identity");
	b = rng_bytes(175);
	if (!di || wa_node_set_bytes(di, b, 175) != 0)
		die("node");
	free(b);
	return m;
}

/* A group read receipt as the server delivers it (docs/protocol.md 8.x):
 * from the group, participant, t, type, and a <list> of 3 more ids. */
static struct wa_node *make_receipt(void)
{
	char id[23], phone[24], jid[64];
	struct wa_node *r, *list, *it;

	fmt_msgid(id);
	r = wa_node_new_attrs("receipt", "id", id, "type", "read", "t", "1732500000", NULL);
	if (!r)
		die("node");
	snprintf(jid, sizeof jid, "120363%012llu@g.us", (unsigned long long)(rng_next() % 1000000000000ull));
	set_jid_attr(r, "from", jid);
	fmt_phone(phone, sizeof phone);
	snprintf(jid, sizeof jid, "%s:3@s.whatsapp.net", phone);
	set_jid_attr(r, "participant", jid);
	list = wa_node_add_new(r, "list");
	for (int i = 0; i < 3; i++) {
		it = wa_node_add_new(list, "item");
		fmt_msgid(id);
		if (!it || wa_node_set_attr(it, "id", id) != 0)
			die("node");
	}
	return r;
}

/* A USync device-list reply for 100 users (docs/protocol.md 6.3): 1-4 devices
 * each, a signed key-index list (~130 B) and the LID. */
static struct wa_node *make_usync(size_t users)
{
	char id[23], phone[24], jid[64], num[16];
	struct wa_node *iq, *us, *list, *u, *devs, *dl, *d, *kil, *lid;
	uint8_t *b;

	fmt_msgid(id);
	iq = wa_node_new_attrs("iq", "id", id, "type", "result", NULL);
	if (!iq)
		die("node");
	set_jid_attr(iq, "from", "s.whatsapp.net");
	us = wa_node_add_new(iq, "usync");
	if (!us)
		die("node");
	wa_node_set_attr(us, "sid", id);
	wa_node_set_attr(us, "index", "0");
	wa_node_set_attr(us, "last", "true");
	wa_node_set_attr(us, "mode", "query");
	wa_node_set_attr(us, "context", "message");
	list = wa_node_add_new(us, "list");
	for (size_t i = 0; i < users; i++) {
		size_t ndev = 1 + rng_next() % 4;

		fmt_phone(phone, sizeof phone);
		snprintf(jid, sizeof jid, "%s@s.whatsapp.net", phone);
		u = wa_node_add_new(list, "user");
		if (!u)
			die("node");
		set_jid_attr(u, "jid", jid);
		devs = wa_node_add_new(u, "devices");
		dl = wa_node_add_new(devs, "device-list");
		for (size_t k = 0; k < ndev; k++) {
			d = wa_node_add_new(dl, "device");
			if (!d)
				die("node");
			snprintf(num, sizeof num, "%zu", k == 0 ? (size_t)0 : 10 + k * 7);
			wa_node_set_attr(d, "id", num);
			if (k) {
				snprintf(num, sizeof num, "%zu", k + 1);
				wa_node_set_attr(d, "key-index", num);
			}
		}
		kil = wa_node_add_new(devs, "key-index-list");
		b = rng_bytes(130);
		if (!kil || wa_node_set_attr(kil, "ts", "1732400000") != 0 || wa_node_set_bytes(kil, b, 130) != 0)
			die("node");
		free(b);
		lid = wa_node_add_new(u, "lid");
		snprintf(jid, sizeof jid, "%llu@lid", 100000000000000ull + rng_next() % 899999999999999ull);
		if (!lid)
			die("node");
		set_jid_attr(lid, "val", jid);
	}
	return iq;
}

struct bin_ctx {
	struct wa_node *node;
	uint8_t *frame;      /* marshalled (flag 0) or compressed (flag 2) */
	size_t len;
};

static void *bin_setup(struct wa_node *n, int compress, size_t *bytes)
{
	struct bin_ctx *c = xmalloc(sizeof *c);

	c->node = n;
	check(wa_binary_marshal(n, &c->frame, &c->len), "marshal");
	if (compress) {
		uint8_t *z;
		size_t zl;

		check(wa_binary_compress_frame(c->frame, c->len, &z, &zl), "compress");
		free(c->frame);
		c->frame = z;
		c->len = zl;
	}
	*bytes = c->len;
	return c;
}

static void bin_teardown(void *p)
{
	struct bin_ctx *c = p;

	wa_node_free(c->node);
	free(c->frame);
	free(c);
}

static void *setup_msg1(size_t *b) { rng_seed(101); return bin_setup(make_message(1), 0, b); }
static void *setup_msg8(size_t *b) { rng_seed(108); return bin_setup(make_message(8), 0, b); }
static void *setup_msg64(size_t *b) { rng_seed(164); return bin_setup(make_message(64), 0, b); }
static void *setup_receipt(size_t *b) { rng_seed(201); return bin_setup(make_receipt(), 0, b); }
static void *setup_usync(size_t *b) { rng_seed(301); return bin_setup(make_usync(100), 0, b); }
static void *setup_usync_z(size_t *b) { rng_seed(301); return bin_setup(make_usync(100), 1, b); }

static int run_encode(void *p, size_t iters)
{
	struct bin_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		uint8_t *out;
		size_t len;

		if (wa_binary_marshal(c->node, &out, &len) != 0)
			return -1;
		free(out);
	}
	return 0;
}

/* Server side of a compressed frame (wa-sim): marshal then deflate. */
static int run_encode_z(void *p, size_t iters)
{
	struct bin_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		uint8_t *out, *z;
		size_t len, zl;

		if (wa_binary_marshal(c->node, &out, &len) != 0)
			return -1;
		if (wa_binary_compress_frame(out, len, &z, &zl) != 0)
			return -1;
		free(out);
		free(z);
	}
	return 0;
}

static int run_decode(void *p, size_t iters)
{
	struct bin_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		struct wa_node *n;

		if (wa_binary_unmarshal(c->frame, c->len, NULL, &n) != 0)
			return -1;
		wa_node_free(n);
	}
	return 0;
}

/* ---- Noise transport and handshake ---- */

struct noise_ctx {
	struct wa_noise_cipher send, recv;
	uint8_t *plain;
	size_t plen;
	struct wa_buf out;
	uint8_t *frame;      /* one framed ciphertext, counter 0 */
	size_t flen;
	struct wa_frame_parser parser;
};

static void *noise_setup(size_t plen, size_t *bytes)
{
	struct noise_ctx *c = xmalloc(sizeof *c);
	struct wa_buf tmp = WA_BUF_INIT;

	memset(c, 0, sizeof *c);
	rng_seed(400 + plen);
	rng_fill(c->send.key, 32);
	c->recv = c->send;
	c->plen = plen;
	c->plain = rng_bytes(plen);
	check(wa_noise_write_frame(&c->send, c->plain, plen, &tmp), "noise frame");
	c->frame = wa_buf_steal(&tmp, &c->flen);
	c->send.counter = 0;
	wa_frame_parser_init(&c->parser, 0, 0);
	*bytes = plen;
	return c;
}

static void noise_teardown(void *p)
{
	struct noise_ctx *c = p;

	free(c->plain);
	free(c->frame);
	wa_buf_free(&c->out);
	wa_frame_parser_free(&c->parser);
	free(c);
}

static void *setup_noise100(size_t *b) { return noise_setup(100, b); }
static void *setup_noise4k(size_t *b) { return noise_setup(4096, b); }
static void *setup_noise64k(size_t *b) { return noise_setup(65536, b); }

/* encrypt + frame into a reused output buffer (what goes to the socket) */
static int run_noise_enc(void *p, size_t iters)
{
	struct noise_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		wa_buf_reset(&c->out);
		if (wa_noise_write_frame(&c->send, c->plain, c->plen, &c->out) != 0)
			return -1;
	}
	return 0;
}

/* parse the frame header + decrypt; the receive counter is rewound so the
 * same ciphertext can be decrypted again (a stream would have new ones). */
static int run_noise_dec(void *p, size_t iters)
{
	struct noise_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		const uint8_t *pl;
		size_t used, pn;

		if (wa_frame_parse(&c->parser, c->frame, c->flen, &used, &pl, &pn) != 1 || used != c->flen)
			return -1;
		c->recv.counter = 0;
		wa_buf_reset(&c->out);
		if (wa_noise_read_frame(&c->recv, pl, pn, &c->out) != 0 || c->out.len != c->plen)
			return -1;
	}
	return 0;
}

struct hs_ctx {
	uint8_t root_priv[32], root_pub[32], cpriv[32], cpub[32], spriv[32], spub[32];
	struct wa_buf chain;
	struct wa_cert_trust trust;
	uint8_t payload[300];   /* a ClientPayload is a few hundred bytes */
};

static void *setup_hs(size_t *bytes)
{
	struct hs_ctx *c = xmalloc(sizeof *c);

	memset(c, 0, sizeof *c);
	check(wa_x25519_keypair(c->root_priv, c->root_pub), "keypair");
	check(wa_x25519_keypair(c->cpriv, c->cpub), "keypair");
	check(wa_x25519_keypair(c->spriv, c->spub), "keypair");
	check(wa_cert_chain_generate(c->root_priv, 0, c->spub, (uint64_t)time(NULL), 86400, &c->chain), "chain");
	memcpy(c->trust.root_pub, c->root_pub, 32);
	rng_seed(500);
	rng_fill(c->payload, sizeof c->payload);
	*bytes = 0;
	return c;
}

static void teardown_hs(void *p)
{
	struct hs_ctx *c = p;

	wa_buf_free(&c->chain);
	free(c);
}

static int hs_cb(void *ctx, const uint8_t *plain, size_t len)
{
	return 0;
}

/* One complete XX handshake, both ends in process, through noise_conn
 * (framing, intro, cert chain verification, ClientPayload), ending with
 * both sides open. */
static int run_hs(void *p, size_t iters)
{
	struct hs_ctx *c = p;
	int rc = 0;

	for (size_t i = 0; i < iters && rc == 0; i++) {
		struct wa_buf c2s = WA_BUF_INIT, s2c = WA_BUF_INIT;
		struct wa_noise_conn *cl, *sv;

		cl = wa_noise_conn_new_client(c->cpriv, c->cpub, &c->trust, c->payload, sizeof c->payload,
					      NULL, 0, 0);
		sv = wa_noise_conn_new_server(c->spriv, c->spub, c->chain.data, c->chain.len, 0);
		if (!cl || !sv || wa_noise_conn_start(cl, &c2s) != 0 ||
		    wa_noise_conn_feed(sv, c2s.data, c2s.len, &s2c, hs_cb, NULL) != WA_NOISE_CONN_HANDSHAKE)
			rc = -1;
		wa_buf_reset(&c2s);
		if (rc == 0 && wa_noise_conn_feed(cl, s2c.data, s2c.len, &c2s, hs_cb, NULL) != WA_NOISE_CONN_OPEN)
			rc = -1;
		if (rc == 0 && wa_noise_conn_feed(sv, c2s.data, c2s.len, &s2c, hs_cb, NULL) != WA_NOISE_CONN_OPEN)
			rc = -1;
		wa_noise_conn_free(cl);
		wa_noise_conn_free(sv);
		wa_buf_free(&c2s);
		wa_buf_free(&s2c);
	}
	return rc;
}

/* ---- Signal ---- */

struct party {
	wa_sigstore *st;
	wa_sig *sig;
	wa_sig_addr addr;
};

static void party_init(struct party *p, const char *user)
{
	check(wa_sig_addr_set(&p->addr, user, 0, 0), "addr");
	p->st = wa_sigstore_mem_new(0, 0);
	if (!p->st)
		die("store");
	check(wa_sig_new(p->st, &p->sig), "sig_new");
	check(wa_sig_identity_generate(p->sig), "identity");
	check(wa_sig_signed_prekey_generate(p->sig, 1, NULL), "spk");
}

static void party_free(struct party *p)
{
	wa_sig_free(p->sig);
	wa_sigstore_free(p->st);
}

#define SIG_PT 128   /* a short text Message protobuf */
#define SIG_PAD 7    /* fixed padding so sizes are repeatable */
#define SIG_PKMSG_MAX 300

struct sig_ctx {
	struct party a, b;
	uint8_t *pt;          /* padded plaintext */
	size_t ptlen;
	uint32_t next_dev;    /* fresh device ids for new sessions */
	uint32_t next_prekey; /* bob's next unused one-time pre-key */
	uint32_t prekeys_end; /* ids < this were generated */
	uint8_t *skdm;
	size_t skdm_len;
	const char *group;
};

static void *sig_setup_common(size_t *bytes)
{
	struct sig_ctx *c = xmalloc(sizeof *c);
	uint8_t *raw;

	memset(c, 0, sizeof *c);
	party_init(&c->a, "15550000001");
	party_init(&c->b, "15550000002");
	rng_seed(600);
	raw = rng_bytes(SIG_PT);
	check(wa_sig_pad(raw, SIG_PT, SIG_PAD, &c->pt, &c->ptlen), "pad");
	free(raw);
	c->next_dev = 1;
	c->next_prekey = 1;
	c->prekeys_end = 1;
	c->group = "120363000000000001@g.us";
	*bytes = c->ptlen;
	return c;
}

/* Generate n more one-time pre-keys for bob (off the clock). */
static void sig_more_prekeys(struct sig_ctx *c, size_t n)
{
	wa_sig_prekey *tmp = xmalloc(sizeof *tmp * WA_SIG_PREKEY_BATCH_MAX);

	while (n) {
		size_t k = n > WA_SIG_PREKEY_BATCH_MAX ? WA_SIG_PREKEY_BATCH_MAX : n;

		check(wa_sig_prekeys_generate(c->b.sig, c->prekeys_end, k, tmp, &c->prekeys_end), "prekeys");
		n -= k;
	}
	free(tmp);
}

static void sig_teardown(void *p)
{
	struct sig_ctx *c = p;

	party_free(&c->a);
	party_free(&c->b);
	wa_sig_buf_free(c->pt, c->ptlen);
	free(c->skdm);
	free(c);
}

static int sig_send(struct party *from, struct party *to, const wa_sig_addr *to_addr,
		    const wa_sig_addr *from_addr, const uint8_t *pt, size_t len, enum wa_sig_msg_type want)
{
	enum wa_sig_msg_type t;
	uint8_t *ct, *out;
	size_t ctlen, outlen;
	int rc;

	rc = wa_sig_encrypt(from->sig, to_addr, pt, len, &t, &ct, &ctlen);
	if (rc != 0 || t != want) {
		if (rc == 0)
			free(ct);
		return -1;
	}
	rc = wa_sig_decrypt(to->sig, from_addr, t, ct, ctlen, &out, &outlen);
	free(ct);
	if (rc != 0)
		return -1;
	rc = outlen == len && memcmp(out, pt, len) == 0 ? 0 : -1;
	wa_sig_buf_free(out, outlen);
	return rc;
}

/* Session build: X3DH from bob's bundle (with a one-time pre-key) on
 * alice's side, to a fresh device address each time. */
static void *setup_sig_build(size_t *bytes)
{
	struct sig_ctx *c = sig_setup_common(bytes);

	sig_more_prekeys(c, 1);
	*bytes = 0;
	return c;
}

static int run_sig_build(void *p, size_t iters)
{
	struct sig_ctx *c = p;
	wa_sig_bundle b;

	if (wa_sig_bundle_own(c->b.sig, 1, 1, &b) != 0)
		return -1;
	for (size_t i = 0; i < iters; i++) {
		wa_sig_addr to = c->b.addr;

		to.device = c->next_dev++;
		if (wa_sig_bundle_process(c->a.sig, &to, &b) != 0)
			return -1;
	}
	return 0;
}

/* First contact: alice builds a session from a bundle with a fresh one-time
 * pre-key, sends a pkmsg, bob decrypts it (creating his session and
 * consuming the pre-key) and answers with a msg that alice decrypts.
 * Every op uses a new device pair, so the stores grow by one session on
 * each side per op (as they do in real life). */
static void *setup_sig_pkmsg(size_t *bytes)
{
	struct sig_ctx *c = sig_setup_common(bytes);

	sig_more_prekeys(c, (size_t)SIG_PKMSG_MAX * (size_t)(g_reps + 4) + 64);
	return c;
}

static int run_sig_pkmsg(void *p, size_t iters)
{
	struct sig_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		wa_sig_addr to = c->b.addr, from = c->a.addr;
		wa_sig_bundle b;

		if (c->next_prekey >= c->prekeys_end)
			return -1; /* fixture too small: raise SIG_PKMSG_MAX headroom */
		to.device = from.device = c->next_dev++;
		if (wa_sig_bundle_own(c->b.sig, 1, c->next_prekey++, &b) != 0 ||
		    wa_sig_bundle_process(c->a.sig, &to, &b) != 0 ||
		    sig_send(&c->a, &c->b, &to, &from, c->pt, c->ptlen, WA_SIG_PKMSG) != 0 ||
		    sig_send(&c->b, &c->a, &from, &to, c->pt, c->ptlen, WA_SIG_MSG) != 0)
			return -1;
	}
	return 0;
}

/* An established session (set up off the clock). */
static void *setup_sig_session(size_t *bytes)
{
	struct sig_ctx *c = sig_setup_common(bytes);
	wa_sig_bundle b;

	sig_more_prekeys(c, 1);
	check(wa_sig_bundle_own(c->b.sig, 1, 1, &b), "bundle");
	check(wa_sig_bundle_process(c->a.sig, &c->b.addr, &b), "process");
	check(sig_send(&c->a, &c->b, &c->b.addr, &c->a.addr, c->pt, c->ptlen, WA_SIG_PKMSG), "pkmsg");
	check(sig_send(&c->b, &c->a, &c->a.addr, &c->b.addr, c->pt, c->ptlen, WA_SIG_MSG), "reply");
	return c;
}

/* msg round trip: alice -> bob, bob -> alice; each direction change is a
 * DH ratchet step. */
static int run_sig_rt(void *p, size_t iters)
{
	struct sig_ctx *c = p;

	for (size_t i = 0; i < iters; i++)
		if (sig_send(&c->a, &c->b, &c->b.addr, &c->a.addr, c->pt, c->ptlen, WA_SIG_MSG) != 0 ||
		    sig_send(&c->b, &c->a, &c->a.addr, &c->b.addr, c->pt, c->ptlen, WA_SIG_MSG) != 0)
			return -1;
	return 0;
}

/* one direction only: encrypt + decrypt on the symmetric chain */
static int run_sig_chain(void *p, size_t iters)
{
	struct sig_ctx *c = p;

	for (size_t i = 0; i < iters; i++)
		if (sig_send(&c->a, &c->b, &c->b.addr, &c->a.addr, c->pt, c->ptlen, WA_SIG_MSG) != 0)
			return -1;
	return 0;
}

/* Groups: alice's sender key exists, bob has her SKDM. */
static void *setup_sig_group(size_t *bytes)
{
	struct sig_ctx *c = sig_setup_common(bytes);

	check(wa_sig_group_skdm(c->a.sig, c->group, &c->a.addr, &c->skdm, &c->skdm_len), "skdm");
	check(wa_sig_group_process_skdm(c->b.sig, c->group, &c->a.addr, c->skdm, c->skdm_len), "process skdm");
	return c;
}

static int run_skmsg_enc(void *p, size_t iters)
{
	struct sig_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		uint8_t *ct;
		size_t len;

		if (wa_sig_group_encrypt(c->a.sig, c->group, &c->a.addr, c->pt, c->ptlen, &ct, &len) != 0)
			return -1;
		free(ct);
	}
	return 0;
}

static int run_skmsg_rt(void *p, size_t iters)
{
	struct sig_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		uint8_t *ct, *pt;
		size_t len, ptlen;

		if (wa_sig_group_encrypt(c->a.sig, c->group, &c->a.addr, c->pt, c->ptlen, &ct, &len) != 0)
			return -1;
		if (wa_sig_group_decrypt(c->b.sig, c->group, &c->a.addr, ct, len, &pt, &ptlen) != 0) {
			free(ct);
			return -1;
		}
		free(ct);
		wa_sig_buf_free(pt, ptlen);
	}
	return 0;
}

/* ---- media ---- */

#define MEDIA_CHUNK (64u * 1024)

struct media_ctx {
	uint8_t key[32];
	size_t total;
	uint8_t *in;          /* one chunk of plaintext, varied per chunk */
	uint8_t *out;         /* chunk output (discarded, as if written to a file) */
	uint8_t *enc;         /* 1 MB: the whole encrypted file in memory */
	size_t enc_len;
	FILE *encf;           /* 64 MB: the encrypted file on disk (page cache) */
	struct wa_media_info info;
};

static void *media_setup(size_t total, int for_decrypt, size_t *bytes)
{
	struct media_ctx *c = xmalloc(sizeof *c);

	memset(c, 0, sizeof *c);
	rng_seed(700);
	rng_fill(c->key, 32);
	c->total = total;
	c->in = rng_bytes(MEDIA_CHUNK);
	c->out = xmalloc(MEDIA_CHUNK + WA_MEDIA_STREAM_SLACK + WA_MEDIA_ENC_FINAL_MAX);
	*bytes = total;
	if (for_decrypt) {
		struct wa_media_enc *e = wa_media_enc_new(WA_MEDIA_VIDEO, c->key);
		struct wa_buf all = WA_BUF_INIT;
		size_t n;

		if (!e)
			die("media enc");
		if (total > (4u << 20)) {
			c->encf = tmpfile();
			if (!c->encf)
				die("tmpfile: %s", strerror(errno));
		}
		for (size_t off = 0; off < total; off += MEDIA_CHUNK) {
			memcpy(c->in, &off, sizeof off);
			check(wa_media_enc_update(e, c->in, MEDIA_CHUNK, c->out, &n), "enc update");
			if (c->encf ? fwrite(c->out, 1, n, c->encf) != n : wa_buf_append(&all, c->out, n) != 0)
				die("write");
		}
		check(wa_media_enc_final(e, c->out, &n, &c->info), "enc final");
		if (c->encf ? fwrite(c->out, 1, n, c->encf) != n || fflush(c->encf) != 0
			    : wa_buf_append(&all, c->out, n) != 0)
			die("write");
		wa_media_enc_free(e);
		if (!c->encf)
			c->enc = wa_buf_steal(&all, &c->enc_len);
	}
	return c;
}

static void media_teardown(void *p)
{
	struct media_ctx *c = p;

	free(c->in);
	free(c->out);
	free(c->enc);
	if (c->encf)
		fclose(c->encf);
	free(c);
}

static void *setup_media_enc1(size_t *b) { return media_setup(1u << 20, 0, b); }
static void *setup_media_enc64(size_t *b) { return media_setup(64u << 20, 0, b); }
static void *setup_media_dec1(size_t *b) { return media_setup(1u << 20, 1, b); }
static void *setup_media_dec64(size_t *b) { return media_setup(64u << 20, 1, b); }

/* Encrypt the whole file in 64 KiB chunks (the output would go to the
 * upload; here it is dropped). */
static int run_media_enc(void *p, size_t iters)
{
	struct media_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		struct wa_media_enc *e = wa_media_enc_new(WA_MEDIA_VIDEO, c->key);
		struct wa_media_info info;
		size_t n;

		if (!e)
			return -1;
		for (size_t off = 0; off < c->total; off += MEDIA_CHUNK) {
			memcpy(c->in, &off, sizeof off); /* every chunk differs */
			if (wa_media_enc_update(e, c->in, MEDIA_CHUNK, c->out, &n) != 0) {
				wa_media_enc_free(e);
				return -1;
			}
		}
		if (wa_media_enc_final(e, c->out, &n, &info) != 0 || info.file_length != c->total) {
			wa_media_enc_free(e);
			return -1;
		}
		wa_media_enc_free(e);
	}
	return 0;
}

/* Decrypt and verify (fileEncSha256, MAC, padding) in 64 KiB chunks, read
 * from memory (1 MB) or from the file (64 MB, page cache). */
static int run_media_dec(void *p, size_t iters)
{
	struct media_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		struct wa_media_dec *d = wa_media_dec_new(WA_MEDIA_VIDEO, c->key, c->info.file_enc_sha256,
							  c->info.file_sha256);
		size_t n, got = 0;
		int rc = 0;

		if (!d)
			return -1;
		if (c->encf) {
			size_t r;

			rewind(c->encf);
			while (rc == 0 && (r = fread(c->in, 1, MEDIA_CHUNK, c->encf)) > 0) {
				rc = wa_media_dec_update(d, c->in, r, c->out, &n);
				got += n;
			}
		} else {
			for (size_t off = 0; rc == 0 && off < c->enc_len; off += MEDIA_CHUNK) {
				size_t k = c->enc_len - off < MEDIA_CHUNK ? c->enc_len - off : MEDIA_CHUNK;

				rc = wa_media_dec_update(d, c->enc + off, k, c->out, &n);
				got += n;
			}
		}
		if (rc == 0)
			rc = wa_media_dec_final(d, c->out, &n, NULL);
		got += n;
		wa_media_dec_free(d);
		if (rc != 0 || got != c->total)
			return -1;
	}
	return 0;
}

/* ---- app state ---- */

static const uint8_t as_key_id[6] = { 0, 0, 0, 0, 0x1f, 0x42 };

struct as_ctx {
	uint8_t key_data[32];
	struct wa_appstate_keys keys;
	uint8_t *macs;                 /* 1000 value MACs */
	size_t n;
	uint8_t snap_mac[32];
	struct wa_sync_action *acts;   /* 1000 mute actions */
	struct wa_appstate_out_mutation *muts;
	struct wa_appstate_state *st;  /* empty regular_high state */
	WaServerSync__SyncdPatch *patch; /* a 1000-mutation patch, unpacked */
	uint8_t iv[16];
};

static int as_get_key(void *ud, const uint8_t *key_id, size_t len, uint8_t key_data[32])
{
	struct as_ctx *c = ud;

	if (len != sizeof as_key_id || memcmp(key_id, as_key_id, len) != 0)
		return -1;
	memcpy(key_data, c->key_data, 32);
	return 0;
}

static void *setup_as(size_t *bytes)
{
	struct as_ctx *c = xmalloc(sizeof *c);
	uint8_t *pb;
	size_t pblen;

	memset(c, 0, sizeof *c);
	rng_seed(800);
	rng_fill(c->key_data, 32);
	rng_fill(c->iv, 16);
	check(wa_appstate_expand_keys(c->key_data, 32, &c->keys), "expand");
	c->n = 1000;
	c->macs = rng_bytes(32 * c->n);
	rng_fill(c->snap_mac, 32);
	c->acts = xmalloc(sizeof *c->acts * c->n);
	c->muts = xmalloc(sizeof *c->muts * c->n);
	memset(c->acts, 0, sizeof *c->acts * c->n);
	for (size_t i = 0; i < c->n; i++) {
		char chat[64], phone[24];

		fmt_phone(phone, sizeof phone);
		snprintf(chat, sizeof chat, "%s@s.whatsapp.net", phone);
		check(wa_sync_action_mute(&c->acts[i], chat, 1, 1733000000000ll + (long long)i, 1732500000000ll),
		      "mute");
		wa_sync_action_out(&c->acts[i], &c->muts[i]);
		c->muts[i].iv = c->iv;
	}
	c->st = wa_appstate_state_new(WA_APPSTATE_REGULAR_HIGH);
	if (!c->st)
		die("state");
	check(wa_appstate_build_patch(c->st, as_key_id, sizeof as_key_id, c->key_data, c->muts, c->n, &pb,
				      &pblen, NULL), "build 1000");
	c->patch = wa_server_sync__syncd_patch__unpack(NULL, pblen, pb);
	free(pb);
	if (!c->patch)
		die("unpack patch");
	*bytes = 0;
	return c;
}

static void teardown_as(void *p)
{
	struct as_ctx *c = p;

	for (size_t i = 0; i < c->n; i++)
		wa_sync_action_free(&c->acts[i]);
	free(c->acts);
	free(c->muts);
	free(c->macs);
	wa_appstate_state_free(c->st);
	wa_server_sync__syncd_patch__free_unpacked(c->patch, NULL);
	free(c);
}

/* LT-hash of 1000 SET mutations (one op = 1000 adds of a value MAC). */
static int run_lthash(void *p, size_t iters)
{
	struct as_ctx *c = p;
	uint8_t h[WA_APPSTATE_HASH_LEN] = { 0 };

	for (size_t i = 0; i < iters; i++)
		for (size_t k = 0; k < c->n; k++)
			if (wa_lthash_add(h, c->macs + 32 * k, 32) != 0)
				return -1;
	return 0;
}

static int run_patch_mac1(void *p, size_t iters)
{
	struct as_ctx *c = p;
	uint8_t out[32];

	for (size_t i = 0; i < iters; i++)
		if (wa_appstate_patch_mac(&c->keys, c->snap_mac, c->macs, 1, 7, WA_APPSTATE_REGULAR_HIGH, out) != 0)
			return -1;
	return 0;
}

static int run_patch_mac1000(void *p, size_t iters)
{
	struct as_ctx *c = p;
	uint8_t out[32];

	for (size_t i = 0; i < iters; i++)
		if (wa_appstate_patch_mac(&c->keys, c->snap_mac, c->macs, c->n, 7, WA_APPSTATE_REGULAR_HIGH, out) != 0)
			return -1;
	return 0;
}

/* Outgoing: a one-mutation patch (mute a chat), serialized. */
static int run_build_patch1(void *p, size_t iters)
{
	struct as_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		uint8_t *pb;
		size_t len;

		if (wa_appstate_build_patch(c->st, as_key_id, sizeof as_key_id, c->key_data, c->muts, 1, &pb, &len,
					    NULL) != 0)
			return -1;
		free(pb);
	}
	return 0;
}

/* Incoming: apply a verified 1000-mutation patch to an empty state
 * (decrypt, value MAC, index MAC, LT-hash, snapshot and patch MAC). */
static int run_apply_patch1000(void *p, size_t iters)
{
	struct as_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		struct wa_appstate_state *s = wa_appstate_state_new(WA_APPSTATE_REGULAR_HIGH);
		struct wa_appstate_result res;
		int rc;

		if (!s)
			return -1;
		rc = wa_appstate_apply_patch(s, c->patch, NULL, as_get_key, c, &res);
		wa_appstate_result_free(&res);
		wa_appstate_state_free(s);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* ---- Curve25519: the two implementations in the process ---- */

/* wa/crypto's X25519 (OpenSSL): used by Noise. */
struct x_ctx {
	uint8_t priv[32], pub[32];
	ec_key_pair *kp;
};

static void *setup_x25519(size_t *bytes)
{
	struct x_ctx *c = xmalloc(sizeof *c);
	uint8_t p2[32];

	check(wa_x25519_keypair(c->priv, p2), "keypair");
	check(wa_x25519_keypair(p2, c->pub), "keypair");
	check(curve_generate_key_pair(wa_signal_ctx(), &c->kp), "signal keypair");
	*bytes = 0;
	return c;
}

static void teardown_x25519(void *p)
{
	struct x_ctx *c = p;

	SIGNAL_UNREF(c->kp);
	free(c);
}

static int run_x25519_openssl(void *p, size_t iters)
{
	struct x_ctx *c = p;
	uint8_t out[32];

	for (size_t i = 0; i < iters; i++)
		if (wa_x25519_dh(c->priv, c->pub, out) != 0)
			return -1;
	return 0;
}

/* libsignal-protocol-c's own curve25519 (used by every Signal ratchet
 * step; its crypto provider hooks do not cover the curve). */
static int run_x25519_libsignal(void *p, size_t iters)
{
	struct x_ctx *c = p;

	for (size_t i = 0; i < iters; i++) {
		uint8_t *out = NULL;

		if (curve_calculate_agreement(&out, ec_key_pair_get_public(c->kp), ec_key_pair_get_private(c->kp)) != 32) {
			free(out);
			return -1;
		}
		free(out);
	}
	return 0;
}

/* ------------------------------------------------------------------ */

static const struct bcase cases[] = {
	{ "bin_enc_msg1", "encode message stanza, 1 device (pkmsg + device-identity)",
	  setup_msg1, run_encode, bin_teardown, 0, 2000 },
	{ "bin_dec_msg1", "decode same", setup_msg1, run_decode, bin_teardown, 0, 2000 },
	{ "bin_enc_msg8", "encode message stanza, 8 devices", setup_msg8, run_encode, bin_teardown, 0, 500 },
	{ "bin_dec_msg8", "decode same", setup_msg8, run_decode, bin_teardown, 0, 500 },
	{ "bin_enc_msg64", "encode group message stanza, 64 devices + skmsg",
	  setup_msg64, run_encode, bin_teardown, 0, 100 },
	{ "bin_dec_msg64", "decode same", setup_msg64, run_decode, bin_teardown, 0, 100 },
	{ "bin_enc_receipt", "encode group read receipt with 3 list items",
	  setup_receipt, run_encode, bin_teardown, 0, 2000 },
	{ "bin_dec_receipt", "decode same", setup_receipt, run_decode, bin_teardown, 0, 2000 },
	{ "bin_enc_usync100", "encode usync device-list reply, 100 users",
	  setup_usync, run_encode, bin_teardown, 0, 50 },
	{ "bin_dec_usync100", "decode same", setup_usync, run_decode, bin_teardown, 0, 50 },
	{ "bin_enc_usync100_z", "marshal + zlib-compress the usync reply (server side; MB/s of wire bytes)",
	  setup_usync_z, run_encode_z, bin_teardown, 0, 20 },
	{ "bin_dec_usync100_z", "inflate + decode the compressed usync reply (MB/s of wire bytes)",
	  setup_usync_z, run_decode, bin_teardown, 0, 50 },

	{ "noise_enc_100", "transport encrypt + frame, 100 B", setup_noise100, run_noise_enc, noise_teardown, 0, 5000 },
	{ "noise_dec_100", "frame parse + transport decrypt, 100 B",
	  setup_noise100, run_noise_dec, noise_teardown, 0, 5000 },
	{ "noise_enc_4k", "transport encrypt + frame, 4 KiB", setup_noise4k, run_noise_enc, noise_teardown, 0, 2000 },
	{ "noise_dec_4k", "frame parse + transport decrypt, 4 KiB",
	  setup_noise4k, run_noise_dec, noise_teardown, 0, 2000 },
	{ "noise_enc_64k", "transport encrypt + frame, 64 KiB",
	  setup_noise64k, run_noise_enc, noise_teardown, 0, 200 },
	{ "noise_dec_64k", "frame parse + transport decrypt, 64 KiB",
	  setup_noise64k, run_noise_dec, noise_teardown, 0, 200 },
	{ "noise_handshake", "full XX handshake, client + server in process (cert chain checked)",
	  setup_hs, run_hs, teardown_hs, 0, 20 },

	{ "x25519_openssl", "one X25519 agreement via wa_x25519_dh (OpenSSL; Noise uses it)",
	  setup_x25519, run_x25519_openssl, teardown_x25519, 0, 50 },
	{ "x25519_libsignal", "one X25519 agreement via libsignal's curve_calculate_agreement (Signal uses it)",
	  setup_x25519, run_x25519_libsignal, teardown_x25519, 0, 50 },
	{ "sig_session_build", "X3DH session build from a bundle (alice side)",
	  setup_sig_build, run_sig_build, sig_teardown, 2000, 50 },
	{ "sig_pkmsg_rt", "first contact: bundle + pkmsg enc/dec + msg reply enc/dec",
	  setup_sig_pkmsg, run_sig_pkmsg, sig_teardown, SIG_PKMSG_MAX, 20 },
	{ "sig_msg_rt", "msg round trip on a session (2 enc + 2 dec, 2 DH ratchet steps)",
	  setup_sig_session, run_sig_rt, sig_teardown, 0, 50 },
	{ "sig_msg_chain", "msg one way on a session (enc + dec, symmetric ratchet only)",
	  setup_sig_session, run_sig_chain, sig_teardown, 0, 200 },
	{ "sig_skmsg_enc", "group skmsg encrypt (sender key)", setup_sig_group, run_skmsg_enc, sig_teardown, 0, 200 },
	{ "sig_skmsg_rt", "group skmsg encrypt + decrypt", setup_sig_group, run_skmsg_rt, sig_teardown, 0, 200 },

	{ "media_enc_1M", "streaming encrypt 1 MB in 64 KiB chunks (video keys)",
	  setup_media_enc1, run_media_enc, media_teardown, 0, 2 },
	{ "media_dec_1M", "streaming decrypt + verify 1 MB in 64 KiB chunks",
	  setup_media_dec1, run_media_dec, media_teardown, 0, 2 },
	{ "media_enc_64M", "streaming encrypt 64 MB in 64 KiB chunks", setup_media_enc64, run_media_enc,
	  media_teardown, 0, 0 },
	{ "media_dec_64M", "streaming decrypt + verify 64 MB in 64 KiB chunks, read from a file",
	  setup_media_dec64, run_media_dec, media_teardown, 0, 0 },

	{ "as_lthash_1000", "LT-hash add of 1000 value MACs (one op = 1000 adds)",
	  setup_as, run_lthash, teardown_as, 0, 5 },
	{ "as_patch_mac_1", "patch MAC over 1 mutation", setup_as, run_patch_mac1, teardown_as, 0, 2000 },
	{ "as_patch_mac_1000", "patch MAC over 1000 mutations", setup_as, run_patch_mac1000, teardown_as, 0, 200 },
	{ "as_build_patch_1", "build + serialize a 1-mutation patch (mute)",
	  setup_as, run_build_patch1, teardown_as, 0, 200 },
	{ "as_apply_patch_1000", "apply + verify a 1000-mutation patch to an empty state",
	  setup_as, run_apply_patch1000, teardown_as, 0, 2 },
};

/* The timed loop (callgrind collects only inside it: --toggle-collect).
 * The phase stores keep the compiler from folding it with warm_loop. */
static volatile int bench_phase;

__attribute__((noinline)) int bench_timed_loop(const struct bcase *c, void *ctx, size_t iters);
__attribute__((noinline)) int bench_warm_loop(const struct bcase *c, void *ctx, size_t iters);

__attribute__((noinline)) int bench_timed_loop(const struct bcase *c, void *ctx, size_t iters)
{
	int rc;

	bench_phase = 1;
	rc = c->run(ctx, iters);
	bench_phase = 0;
	return rc;
}

__attribute__((noinline)) int bench_warm_loop(const struct bcase *c, void *ctx, size_t iters)
{
	int rc;

	bench_phase = 2;
	rc = c->run(ctx, iters);
	bench_phase = 0;
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void human_bytes(long long v, char *out, size_t cap)
{
	if (v < 0)
		snprintf(out, cap, "-");
	else if (v < 10 * 1024)
		snprintf(out, cap, "%lld B", v);
	else if (v < 10ll * 1024 * 1024)
		snprintf(out, cap, "%.1f KiB", (double)v / 1024);
	else
		snprintf(out, cap, "%.1f MiB", (double)v / 1048576);
}

static void run_case(const struct bcase *c, long fixed_iters, size_t *bytes_out)
{
	size_t bytes = 0, iters;
	void *ctx = c->setup(&bytes);
	double *ns = xmalloc(sizeof(double) * (size_t)g_reps);
	double *wall = xmalloc(sizeof(double) * (size_t)g_reps);
	double t0, w0, el, med, wmed;
	unsigned long long a0, allocs;
	long long base, peak;
	long rss0, hwm, rss_delta = -1;
	char hp[32];

	/* warm-up + calibration */
	if (fixed_iters > 0) {
		if (bench_warm_loop(c, ctx, 1) != 0)
			die("%s: warm-up failed", c->name);
		iters = (size_t)fixed_iters;
	} else {
		size_t n = 1;
		double per = 0;

		el = 0;
		for (double spent = 0; spent < g_warm;) {
			if (c->max_iters && n > c->max_iters)
				n = c->max_iters;
			t0 = cpu_s();
			if (bench_warm_loop(c, ctx, n) != 0)
				die("%s: warm-up failed", c->name);
			el = cpu_s() - t0;
			spent += el;
			per = el / (double)n;
			if (c->max_iters && n >= c->max_iters)
				break;
			n *= 2;
		}
		iters = per > 0 ? (size_t)(g_time / per) : 1;
		if (iters < 1)
			iters = 1;
		if (c->max_iters && iters > c->max_iters)
			iters = c->max_iters;
	}

	a0 = heap_allocs;
	for (int r = 0; r < g_reps; r++) {
		w0 = now_s();
		t0 = cpu_s();
		if (bench_timed_loop(c, ctx, iters) != 0)
			die("%s: run failed", c->name);
		ns[r] = (cpu_s() - t0) * 1e9 / (double)iters;
		wall[r] = (now_s() - w0) * 1e9 / (double)iters;
	}
	allocs = heap_allocs - a0;
	qsort(ns, (size_t)g_reps, sizeof *ns, cmp_double);
	qsort(wall, (size_t)g_reps, sizeof *wall, cmp_double);
	med = g_reps % 2 ? ns[g_reps / 2] : (ns[g_reps / 2 - 1] + ns[g_reps / 2]) / 2;
	wmed = g_reps % 2 ? wall[g_reps / 2] : (wall[g_reps / 2 - 1] + wall[g_reps / 2]) / 2;

	/* one more op, alone, for its heap and RSS peaks */
	rss0 = proc_status_kib("VmRSS");
	if (hwm_reset() == 0 && rss0 >= 0) {
		rss_delta = 0;
	}
	base = heap_cur;
	heap_peak = heap_cur;
	if (c->run(ctx, 1) != 0)
		die("%s: single op failed", c->name);
	peak = heap_peak - base;
	hwm = proc_status_kib("VmHWM");
	if (rss_delta == 0 && hwm >= 0)
		rss_delta = hwm > rss0 ? hwm - rss0 : 0;

	if (!BENCH_HEAPCOUNT)
		peak = -1;
	human_bytes(peak, hp, sizeof hp);
	printf("%-20s %9zu %12.0f %12.1f ", c->name, iters, med, 1e9 / med);
	if (bytes)
		printf("%9.1f ", (double)bytes / (med * 1e-9) / 1e6);
	else
		printf("%9s ", "-");
	printf("%7.1f%% %12.0f %10s ", (ns[g_reps - 1] - ns[0]) / med * 100, wmed, hp);
	if (BENCH_HEAPCOUNT)
		printf("%9.1f ", (double)allocs / ((double)iters * g_reps));
	else
		printf("%9s ", "-");
	if (rss_delta >= 0)
		printf("%8ld\n", rss_delta);
	else
		printf("%8s\n", "-");
	fflush(stdout);
	free(ns);
	free(wall);
	*bytes_out = bytes;
	c->teardown(ctx);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_proto [-t SECONDS] [-r REPS] [-w WARM] [-c SUBSTR | -C NAME] [-n ITERS] [-l]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *sub = NULL, *exact = NULL;
	long fixed = 0;
	int opt, list = 0;
	size_t ncases = sizeof cases / sizeof cases[0];
	size_t case_bytes[sizeof cases / sizeof cases[0]] = { 0 };
	struct rusage ru;
	char *end;

	while ((opt = getopt(argc, argv, "t:r:w:c:C:n:lh")) != -1) {
		switch (opt) {
		case 't': g_time = strtod(optarg, &end); if (*end || g_time <= 0) usage(); break;
		case 'w': g_warm = strtod(optarg, &end); if (*end || g_warm < 0) usage(); break;
		case 'r': g_reps = (int)strtol(optarg, &end, 10); if (*end || g_reps < 1 || g_reps > 1000) usage(); break;
		case 'n': fixed = strtol(optarg, &end, 10); if (*end || fixed < 1) usage(); break;
		case 'c': sub = optarg; break;
		case 'C': exact = optarg; break;
		case 'l': list = 1; break;
		default: usage();
		}
	}
	if (list) {
		for (size_t i = 0; i < ncases; i++)
			printf("%s %zu\n", cases[i].name, cases[i].cg_iters);
		return 0;
	}
	if (!wa_signal_ctx())
		die("no signal context");
	printf("# %d reps of ~%.2fs, warm-up %.2fs%s; heap accounting %s\n", g_reps, g_time, g_warm,
	       fixed ? " (fixed iterations)" : "", BENCH_HEAPCOUNT ? "on" : "off (sanitizer build)");
	printf("%-20s %9s %12s %12s %9s %8s %12s %10s %9s %8s\n", "case", "iters", "cpu-ns/op", "ops/s", "MB/s",
	       "spread", "wall-ns/op", "heap-peak", "allocs/op", "rss+KiB");
	for (size_t i = 0; i < ncases; i++) {
		if (exact && strcmp(exact, cases[i].name) != 0)
			continue;
		if (sub && !strstr(cases[i].name, sub))
			continue;
		run_case(&cases[i], fixed, &case_bytes[i]);
	}
	for (size_t i = 0; i < ncases; i++)
		if ((!exact || strcmp(exact, cases[i].name) == 0) && (!sub || strstr(cases[i].name, sub)))
		{
			if (case_bytes[i])
				printf("# %-20s %s [%zu B/op]\n", cases[i].name, cases[i].what, case_bytes[i]);
			else
				printf("# %-20s %s\n", cases[i].name, cases[i].what);
		}
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("# process peak RSS (ru_maxrss): %ld KiB\n", ru.ru_maxrss);
	return 0;
}
