/* simtest: shared harness for the wa-sim integration tests (test_sim_*)
 * and wa-sim-client.
 *
 * One copy of what every wa-sim test needs: admin requests over HTTP
 * (libcurl + jansson), a free loopback port, starting / stopping a
 * ./wa-sim child on given ports with a temporary state directory,
 * companions (waclient + Signal state), and the case-table runner that
 * turns a test into named cases sharing one prologue (simtest_main()).
 *
 * Contract: single-threaded test code; no state is kept here (every
 * function gets what it works on as parameters; the exceptions are the
 * counter behind simtest_comp_upload()'s iq ids and the media CA path
 * simtest_start() records). Callers own every json_t returned through
 * *out (json_decref). Errors: 0 / -1 unless stated otherwise. Not
 * installed; linked into the test programs only. */
#ifndef WA_SIMTEST_H
#define WA_SIMTEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "waclient.h"
#include "wa/signal.h"
#include "wa/signal_node.h"
#include "wa/sigstore.h"
#include "wa_e2e.pb-c.h"

#include "../unit/tap.h"

/* timeout of every waclient wait in the companion helpers */
#define SIMTEST_T_MS 5000

/* An HTTP answer body: data is NUL-terminated (data[len] == 0) or NULL
 * when empty; the caller frees data. */
struct simtest_resp {
	char *data;
	size_t len;
};

/* One admin request to http://<hostport><path> (hostport "127.0.0.1:8181").
 * body (may be NULL) is sent with "Content-Type: <ctype>" (ctype NULL =
 * application/json). Returns the HTTP status, 0 on transport failure;
 * *out (out may be NULL) gets the parsed JSON answer or NULL. 5 s timeout. */
long simtest_admin(const char *hostport, const char *method, const char *path, const char *body,
		   const char *ctype, json_t **out);

/* simtest_admin() against 127.0.0.1:<port>. */
long simtest_admin_port(int port, const char *method, const char *path, const char *body, const char *ctype,
			json_t **out);

/* HTTP or HTTPS to any url (the media host): POST/PUT with body (blen
 * bytes) or GET/... with body NULL. The answer body goes to *out (reset
 * first; caller frees out->data). https:// is verified against the CA file
 * simtest_start() recorded (the wa-sim's media-cert.pem), else the system's.
 * Returns the HTTP status, 0 on transport failure (TLS verification too).
 * 5 s timeout. */
long simtest_http(const char *method, const char *url, const uint8_t *body, size_t blen, struct simtest_resp *out);

/* The same with an explicit CA file (NULL: the system's trust store). */
long simtest_http_ca(const char *method, const char *url, const uint8_t *body, size_t blen, const char *ca_file,
		     struct simtest_resp *out);

/* The CA file simtest_start() recorded for a media host ("" if none). */
const char *simtest_media_ca(void);

/* A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0,
 * read it back, close), or -1. Racy by nature; good enough for tests. */
int simtest_free_port(void);

/* Pick distinct free loopback ports for wa-sim: *ws, *admin and, when
 * media is not NULL, *media. 0 when ws and admin are > 0, else -1. */
int simtest_ports(int *ws, int *admin, int *media);

/* Start $WA_SIM_BIN (default ./wa-sim) as a child:
 *   --listen 127.0.0.1:<ws_port> --admin 127.0.0.1:<admin_port>
 *   --state <state_dir> [--media 127.0.0.1:<media_port> if media_port > 0]
 *   [extra..., up to the first NULL; extra itself may be NULL]
 * with stdout/stderr appended to <state_dir>/wa-sim.log; the child gets
 * SIGTERM should the test process die first. Waits up to 5 s
 * for GET /admin/root-key to answer 200; then *pid is the child and
 * root_hex (65 bytes) holds the 64 hex digit root key (left untouched if
 * the answer has none). Returns 0, or -1 (*pid may then still be a child:
 * call simtest_stop()). */
int simtest_start(const char *state_dir, int ws_port, int admin_port, int media_port, const char *const *extra,
		  pid_t *pid, char root_hex[65]);

/* SIGTERM the child *pid and wait for it; *pid becomes -1. Returns its
 * exit status (sanitizer reports make it non-zero), or -1 if it died by a
 * signal or *pid was not a child (<= 0). */
int simtest_stop(pid_t *pid);

/* ---- companions: a waclient + its Signal state (wa/signal) ---- */

/* Where a companion connects: wa-sim's ports, its root key (64 hex
 * digits) and the os name the companion announces. */
struct simtest_net {
	int ws_port, admin_port;
	char root_hex[65];
	const char *os;
};

/* waclient settings for net: 127.0.0.1:<ws_port>, its root key, net->os,
 * platform '1'. */
void simtest_net_config(const struct simtest_net *net, struct waclient_config *cfg);

/* One paired companion. Zero it (memset) before simtest_comp_pair();
 * everything in it is owned by it (simtest_comp_free). */
struct simtest_comp {
	const char *phone;           /* borrowed phone number it paired with */
	struct waclient_creds cr;
	struct waclient *c;          /* logged-in connection */
	wa_sigstore *st;
	wa_sig *sig;
	char jid[64];                /* its device jid, from the admin scan */
	uint32_t next_pk;            /* next one-time pre-key id to generate */
	struct simtest_net net;      /* copied by simtest_comp_pair() */
};

/* QR pairing of the fresh waclient c (creds generated, not connected):
 * connect, read the QR, have the phone scan it through the admin API at
 * admin_hostport (POST /admin/phones/<phone>/scan), finish the pairing.
 * Every wait up to timeout_ms. 0 / -1; *answer is the scan's JSON answer
 * (the device "jid", or an "error"), or NULL: the caller decrefs it. */
int simtest_pair_scan(struct waclient *c, const char *admin_hostport, const char *phone, int timeout_ms,
		      json_t **answer);

/* Signal state for paired creds cr: a new in-memory store (*st), a wa_sig
 * (*sig) with cr's identity and a fresh signed pre-key cr->spk_id. 0 / -1;
 * the caller frees *st and *sig (set as far as they got) either way. */
int simtest_sig_setup(const struct waclient_creds *cr, wa_sigstore **st, wa_sig **sig);

/* Pair a new companion with phone: fresh creds, QR pairing answered by
 * POST /admin/phones/<phone>/scan, then a Signal identity + signed pre-key
 * and simtest_comp_login(). net is copied. 0 / -1 (then free m anyway). */
int simtest_comp_pair(struct simtest_comp *m, const char *phone, const struct simtest_net *net);

/* Connect (creating the waclient if m->c is NULL) and wait for <success>.
 * 0 / -1. */
int simtest_comp_login(struct simtest_comp *m);

/* Free everything m owns (not m itself). */
void simtest_comp_free(struct simtest_comp *m);

/* Generate n (<= 64) one-time pre-keys from m->next_pk and upload them
 * with the signed pre-key; 0 when the server answers type=result. */
int simtest_comp_upload(struct simtest_comp *m, size_t n);

/* Fetch the bundles of jids (n of them) in one encrypt iq and build a
 * session with each; returns how many worked. *had_prekey (may be NULL) is
 * incremented per bundle that carried a one-time pre-key. */
int simtest_fetch_sessions(struct simtest_comp *m, const char *const *jids, size_t n, int *had_prekey);

/* Packed protobuf of msg in a malloc'd buffer (*len bytes), NULL on OOM. */
uint8_t *simtest_pack_msg(const WaE2E__Message *msg, size_t *len);

/* <enc v=2 type=msg|pkmsg> for jid: pt padded and Signal-encrypted with
 * m's session. *pk (may be NULL) is set to 1 for a pkmsg. New node owned
 * by the caller, or NULL. */
struct wa_node *simtest_enc_node(struct simtest_comp *m, const char *jid, const uint8_t *pt, size_t len, int *pk);

/* A received message, decrypted. */
struct simtest_got {
	char from[64], id[130], recipient[64], participant[64], enc_type[8], count[8];
	int offline;
	WaE2E__Message *m;       /* innermost content (DSM unwrapped) */
	WaE2E__Message *top;     /* what was decrypted last (owner of m) */
	int dsm;
};

/* Free g's message and zero it. */
void simtest_got_free(struct simtest_got *g);

/* Decrypt a received <message> node n (borrowed) into g (zeroed first):
 * every <enc> (pkmsg/msg/skmsg), sender key distributions processed,
 * DeviceSentMessage unwrapped. 0 when a message came out; free g with
 * simtest_got_free() either way. */
int simtest_decode_msg(struct simtest_comp *m, struct wa_node *n, struct simtest_got *g);

/* Wait (SIMTEST_T_MS) for the next <message> on m and decode it. 0 / -1. */
int simtest_recv_msg(struct simtest_comp *m, struct simtest_got *g);

/* ---- media (docs/protocol.md 9.1, 9.3) ---- */

/* <iq xmlns="w:m" type="set"><media_conn/></iq> from m: the first host's
 * hostname into host and the upload auth token into auth ("" when absent;
 * both cut to their buffers). 0 when answered with a <media_conn>. */
int simtest_media_conn(struct simtest_comp *m, char *host, size_t hcap, char *auth, size_t acap);

/* 1 when s is exactly n lower-case hex digits, else 0. */
int simtest_is_lower_hex(const char *s, size_t n);

/* Upload the encrypted file enc (len bytes) as whatsmeow does:
 * POST https://<host>/mms/<mms>/<token>?auth=<auth>&token=<token>, token
 * being the padded base64url of SHA-256(enc) (auth and token URL-escaped).
 * The answer's direct_path goes to dp (may be NULL; "" when absent).
 * Returns the HTTP status, 0 on transport failure. */
long simtest_media_upload(const char *host, const char *auth, const char *mms, const uint8_t *enc, size_t len,
			  char *dp, size_t dcap);

/* Remove the directory tree dir (no links followed). 0 / -1. */
int simtest_rmtree(const char *dir);

/* ---- case tables: a test as named cases sharing one wa-sim ----
 *
 *   static void pair_by_qr(struct simtest_ctx *t) { ... ok(...); ... }
 *   static const struct simtest_case cases[] = {
 *           { "pair_by_qr", pair_by_qr, NULL },
 *           { "login", login, "pair_by_qr" },   // continues its state
 *   };
 *   static const struct simtest_suite suite = {
 *           .name = "test_sim_x", .cases = cases, .n_cases = 2,
 *   };
 *   int main(int argc, char **argv) { return simtest_main(&suite, argc, argv); }
 *
 * The shared prologue (once, before the first case): SIGPIPE ignored, lws
 * logging to errors, curl initialised, a state directory
 * /tmp/<name>-XXXXXX, free ports, ./wa-sim started with the suite's args
 * (and a media host when .media is set), then .setup. A failure to start
 * is a TAP bail-out, never a skip. Then the cases in table order, each
 * announced by the diagnostic "# case: <name>"; then .teardown, wa-sim
 * stopped (one assertion: it exits cleanly), the state directory removed
 * (kept and named when an assertion failed).
 *
 * Command line:
 *   ./test_x                every case
 *   ./test_x NAME...        those cases and, first, the earlier cases they
 *                           need (transitively), in table order
 *   ./test_x --list         the table: one case a line, with its needs
 *
 * A case's needs are the earlier cases whose state it continues
 * (space-separated names); the runner refuses (bails out on) a table
 * whose needs are not earlier cases, with a name used twice, or with more
 * than 64 cases. State several cases share but that a
 * case can build itself belongs in the test's own idempotent helpers
 * (pair the companion if not yet paired, ...), so that the full run makes
 * exactly the same assertions as the old straight-line main() did. */

struct simtest_ctx;

struct simtest_case {
	const char *name;                    /* [a-z0-9_]+ */
	void (*run)(struct simtest_ctx *t);
	const char *needs;                   /* "a b": earlier cases it continues; NULL = none */
};

struct simtest_suite {
	const char *name;                    /* the program: temporary directory prefix, companions' os */
	const char *const *args;             /* extra wa-sim arguments, NULL-terminated; NULL = none */
	int media;                           /* 1: start wa-sim with a media host (--media) */
	void (*setup)(struct simtest_ctx *t);    /* after the start, before any case; NULL = none */
	void (*teardown)(struct simtest_ctx *t); /* after the last case, before the stop; NULL = none */
	const struct simtest_case *cases;
	size_t n_cases;
};

/* One running wa-sim, as the cases see it. */
struct simtest_ctx {
	const struct simtest_suite *suite;
	char dir[256];                       /* state directory (its wa-sim.log too) */
	struct simtest_net net;              /* ports, root key, os: for simtest_comp_pair() */
	int media_port;                      /* 0 = no media host */
	pid_t pid;                           /* the child, -1 when stopped */
};

/* simtest_admin_port() against t's wa-sim. */
long simtest_ctx_admin(const struct simtest_ctx *t, const char *method, const char *path, const char *body,
		       const char *ctype, json_t **out);

/* (Re)start wa-sim on t's directory and ports with extra arguments (NULL:
 * the suite's args); t->net.root_hex is updated. 0 / -1 (then call
 * simtest_ctx_stop() anyway). */
int simtest_ctx_start(struct simtest_ctx *t, const char *const *extra);

/* simtest_stop() of t's wa-sim: its exit status, or -1. */
int simtest_ctx_stop(struct simtest_ctx *t);

/* The runner without the TAP bookkeeping: parse argv (--list, --help and
 * a bad name exit here), the prologue, the selected cases, .teardown, the
 * stop. Returns wa-sim's exit status (simtest_stop()). */
int simtest_run(struct simtest_ctx *t, const struct simtest_suite *s, int argc, char **argv);

/* After simtest_run(): remove t's directory unless failed (then say where
 * it is kept), curl cleanup. */
void simtest_cleanup(struct simtest_ctx *t, int failed);

/* The whole program: simtest_run(), the assertion that wa-sim exited
 * cleanly, simtest_cleanup(), the TAP plan. Inline because the TAP
 * counters (tap.h) are the test program's own. */
static inline int simtest_main(const struct simtest_suite *s, int argc, char **argv)
{
	struct simtest_ctx t;

	is_int(simtest_run(&t, s, argc, argv), 0, "wa-sim exits cleanly");
	simtest_cleanup(&t, tap_failed != 0);
	return tap_done();
}

#endif
