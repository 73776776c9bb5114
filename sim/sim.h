/* sim.h: the wa-sim server core - shared types of the connection layer
 * (sim_conn.c), the stanza dispatch tables (sim_handlers.c), pairing
 * (sim_pair.c), keys (sim_keys.c) and the admin API (sim_admin.c).
 *
 * Threads: everything here runs on the single lws service thread (see
 * sim_store.h); no function may be called from another thread.
 *
 * Extension points (see README.md "Extending wa-sim"):
 *   - a top-level stanza tag        -> a row in sim_node_handlers[] (sim_handlers.c)
 *   - an IQ (type + xmlns + child)  -> a row in sim_iq_handlers[]   (sim_handlers.c)
 *   - an admin route                -> a row in sim_admin_routes[]  (sim_admin.c)
 * Handlers send with sim_conn_send_node() / sim_conn_iq_result() /
 * sim_conn_iq_error() and deliver to other devices with sim_deliver(). */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sim_store.h"
#include "wa/binary.h"
#include "wa/buf.h"
#include "wa/companion_reg.h"
#include "wa/frame.h"
#include "wa/msgid.h"
#include "wa/node.h"
#include "wa/noise_conn.h"

struct lws;
struct lws_context;

#define SIM_PAIR_REFS 6             /* refs per pair-device (docs/protocol.md 4.2) */
#define SIM_REF_MAX 80
#define SIM_OUT_MAX_FRAMES 10000    /* queued (and held) outgoing frames per connection */
#define SIM_OUT_MAX_BYTES (64u * 1024 * 1024)  /* queued bytes per connection, and held bytes */
#define SIM_HANDSHAKE_SECS 20       /* ClientHello to ClientFinish (1.4, WM/BL wait 20 s) */
#define SIM_PAIR_GRACE_SECS 30      /* after the last ref expired */
#define SIM_DELAY_MAX_MS 60000      /* cap of the injected delay */

/* ---- keys (sim_keys.c) ---- */

struct sim_keys {
	uint8_t root_priv[32], root_pub[32];       /* trust anchor clients must be given */
	uint32_t root_serial;                      /* issuerSerial of the intermediate (0) */
	uint8_t static_priv[32], static_pub[32];   /* Noise static key (leaf key) */
	uint8_t *chain;                            /* serialized CertChain for ServerHello */
	size_t chain_len;
};

/* Load DIR/root.key and DIR/server.key or create them (deterministically
 * from seed when seeded), write DIR/root.pub, build the certificate chain.
 * 0 / -1 (logged). */
int sim_keys_load(struct sim_keys *k, const char *dir, int seeded, uint64_t seed);
void sim_keys_release(struct sim_keys *k);

/* 32 deterministic bytes for (seed, label) (SHA-256 based); used for keys
 * when --seed is given. */
void sim_derive(uint64_t seed, const char *label, uint8_t out[32]);

/* ---- server ---- */

struct sim_conn;

struct sim_server {
	struct lws_context *ctx;
	struct sim_store *store;
	struct sim_keys keys;
	char state_dir[4096];
	int seeded;
	uint64_t seed;
	uint64_t seq;                   /* deterministic counter for ids / refs */
	unsigned ref_first_secs;        /* 60: first ref validity (4.2) */
	unsigned ref_next_secs;         /* 20: each later ref */
	size_t compress_min;            /* zlib-compress (flag 2) stanzas of at least this many bytes; 0 never */
	int no_pairing_sync;            /* phones send new companions no app-state key / history (sim_state.h) */
	struct sim_conn *conns;         /* every live WebSocket connection */
	size_t nconns;
	int stop;
	uint64_t save_due_ms;           /* sim_mono_ms() when the pending save is due; 0 none */
};

/* Fill n random bytes: deterministic from the seed when seeded, else
 * wa_random(). 0 / -1. */
int sim_random(struct sim_server *s, uint8_t *out, size_t n);

/* Monotonic milliseconds (for delays). */
uint64_t sim_mono_ms(void);

/* Current unix time (a function so tests may later fake it). */
uint64_t sim_now(const struct sim_server *s);

/* 1 when stanzas are logged (--verbose); set once by main. */
extern int sim_log_debug;

/* "155***67" for logs (buf of at least 16 bytes); returns buf. */
const char *sim_mask_number(const char *number, char *buf, size_t cap);

/* Persist the store, logging a failure: within SIM_SAVE_DELAY_MS when the
 * server runs its loop (sim_save_due() does it, from the loop's periodic
 * timer; a burst of pairings is one write of state.json, not one each), at
 * once without a loop (tests). sim_save_flush() writes a pending save now
 * (at exit). A crash loses at most the last SIM_SAVE_DELAY_MS of changes. */
#define SIM_SAVE_DELAY_MS 1000
void sim_save(struct sim_server *s);
void sim_save_due(struct sim_server *s);
void sim_save_flush(struct sim_server *s);

/* ---- connections (sim_conn.c) ---- */

enum sim_conn_state {
	SIM_CONN_HANDSHAKE = 0, /* intro, ClientHello, ClientFinish (wa_noise_conn) */
	SIM_CONN_READY,         /* transport up: nodes flow */
	SIM_CONN_CLOSING,       /* flushing the last frames, then close */
};

/* A plaintext held back by the injected delay: it is encrypted and queued
 * on the noise conn only when due, so the Noise counter order stays the
 * send order. */
struct sim_held {
	struct sim_held *next;
	uint64_t due_ms;      /* sim_mono_ms() from which it may go out */
	int raw;              /* 1: bytes for the WebSocket as they are (sim_conn_send_raw), not a frame */
	size_t len;
	uint8_t plain[];
};

/* Bytes to write as one WebSocket message outside the framing and the
 * Noise transport (fault injection, sim_conn_send_raw()): LWS_PRE bytes
 * of head room for the writer, then len bytes. */
struct sim_raw {
	size_t len;
	uint8_t buf[];
};

struct sim_pending_pair {
	int active;
	char iq_id[40];                 /* id of the pair-success IQ */
	char number[SIM_NUMBER_MAX + 1];
	uint16_t device_id;             /* slot reserved for the companion */
	uint32_t key_index;
	uint8_t details[128];           /* ADVDeviceIdentity bytes that were signed */
	size_t details_len;
	uint8_t account_sig[64];
};

/* Link-code pairing state of a registration connection (4.5). */
struct sim_pending_link {
	int active;                     /* companion_hello accepted */
	char number[SIM_NUMBER_MAX + 1];/* the phone the companion named */
	char ref[64];                   /* link_code_pairing_ref */
	uint8_t wrapped_companion[80];  /* companion ephemeral, wrapped with the code */
	int entered;                    /* the phone user typed the code */
	uint8_t companion_eph[32];      /* unwrapped with the typed code */
	uint8_t primary_eph_priv[32];   /* the phone's ephemeral */
};

struct sim_conn {
	struct sim_server *srv;
	struct lws *wsi;
	struct sim_conn *next;
	int state;                      /* enum sim_conn_state */
	unsigned long id;               /* for logs */
	/* framing, handshake, transport and the ordered queue of encrypted
	 * outgoing frames; sim_ws.c writes them (NULL only in a world without
	 * a certificate chain, i.e. the fuzz target before sim_conn_test_open) */
	struct wa_noise_conn *nc;
	uint8_t client_static[32];      /* the client's noise key, from the handshake */
	struct wa_client_payload_info info;
	size_t out_count;               /* frames waiting: queued on nc + held (admin API) */
	int kill;                       /* drop without flushing */
	unsigned delay_ms;              /* fault injection: hold every outgoing frame this long */
	struct sim_held *held_head, *held_tail; /* held by the delay, in order */
	size_t held_count, held_bytes;
	int corked;                     /* sim_conn_cork(): new frames wait in cork_* */
	struct sim_held *cork_head, *cork_tail; /* held by the cork, in order */
	size_t cork_count, cork_bytes;
	struct sim_raw *raw;            /* raw bytes waiting for the writer, or NULL */
	size_t raw_after;               /* frames queued on nc that go out before them */
	int raw_held;                   /* a raw message waits among the held frames */
	/* who this is */
	int is_registration;            /* registration payload: pairing only */
	struct sim_account *acc;        /* logged in: account ... */
	struct sim_device *dev;         /* ... and device (dev->conn == this) */
	char jid[64];                   /* logged in: "<number>:<dev>@s.whatsapp.net" */
	/* pairing (registration connections) */
	char refs[SIM_PAIR_REFS][SIM_REF_MAX];
	uint64_t refs_sent_at;
	struct sim_pending_pair pair;
	struct sim_pending_link link;
	/* server-initiated IQ ids */
	char iq_prefix[WA_IQID_PREFIX_MAX];
	uint64_t iq_counter;
};

/* Create / destroy the per-connection state (the lws protocol callback in
 * sim_conn.c calls these). */
struct sim_conn *sim_conn_new(struct sim_server *s, struct lws *wsi);
void sim_conn_free(struct sim_conn *c);

/* Ask the transport for a WRITEABLE callback (sim_ws.c; a no-op when the
 * connection has no socket, as in the fuzz target). */
void sim_conn_wake(struct sim_conn *c);

/* Close the connection if it is still open in secs seconds (0 cancels).
 * Used for the handshake deadline and for pairing connections whose refs
 * ran out (sim_ws.c; a no-op without a socket). */
void sim_conn_set_timeout(struct sim_conn *c, unsigned secs);

/* Handle the decrypted ClientPayload of the handshake: registration ->
 * pair-device, login -> <success> or <failure reason=401>. Exposed for the
 * fuzz target. 0 / -1 (drop). */
int sim_conn_on_client_payload(struct sim_conn *c, const uint8_t *p, size_t len);

/* Feed bytes received on the WebSocket (any split). 0, or -1 when the
 * connection must be dropped (protocol error). */
int sim_conn_receive(struct sim_conn *c, const uint8_t *data, size_t len);

/* For the writer (sim_ws.c): queue the held frames that are due at now_ms
 * on the noise conn. Returns the ms until the next held frame is due, or 0
 * when none is held. */
uint64_t sim_conn_release_due(struct sim_conn *c, uint64_t now_ms);

/* Recount out_count after the writer consumed output. */
void sim_conn_out_changed(struct sim_conn *c);

/* Tests and fuzzers only: a connection that never saw a handshake becomes
 * READY with all-zero transport keys, so sending works without a peer.
 * 0 / -1. */
int sim_conn_test_open(struct sim_conn *c);

/* Handle one decrypted frame plaintext (flag byte + node): decode and
 * dispatch. Exposed for the fuzz target. 0 / -1 (drop). */
int sim_conn_on_plaintext(struct sim_conn *c, const uint8_t *pt, size_t len);

/* Encrypt and queue a node (frame plaintext flag 0). 0 / -1. The node stays
 * the caller's. */
int sim_conn_send_node(struct sim_conn *c, const struct wa_node *n);

/* Queue an already-marshalled plaintext (flag + node). 0 / -1. */
int sim_conn_send_plain(struct sim_conn *c, const uint8_t *pt, size_t len);

/* Hold back every frame sent to c from now on, until sim_conn_uncork():
 * for a handler whose own answer must go out before what its work makes
 * for the same connection (a message's ack before the recipients'
 * receipts, docs/protocol.md 13.5). Returns 1 when it corked c, 0 when c
 * was corked already (then the outer cork decides): give that to
 * sim_conn_uncork(). */
int sim_conn_cork(struct sim_conn *c);

/* End the cork sim_conn_cork() returned `corked` for: send first (may be
 * NULL), then every held-back frame in order (the injected delay applies
 * as usual). With corked 0 only first is sent. 0, or -1 when first could
 * not be sent (the held-back frames are sent anyway). */
int sim_conn_uncork(struct sim_conn *c, int corked, const struct wa_node *first);

/* Fault injection (admin send-raw): encrypted, bytes go out as one
 * transport frame's plaintext (the client decrypts them and fails to
 * decode a node); otherwise as one WebSocket message as they are, after
 * what is already queued, outside the framing and Noise. 0; -1 when c
 * cannot send (closing, or not past the handshake for encrypted) or len
 * is too large; -2 when a raw message is already waiting. */
int sim_conn_send_raw(struct sim_conn *c, const uint8_t *bytes, size_t len, int encrypted);

/* For the writer: the raw message to write now (head room before it) and
 * its length, or NULL while none is due. */
uint8_t *sim_conn_raw_peek(struct sim_conn *c, size_t *len);

/* For the writer: the raw message was written (free it), or one frame
 * from the noise conn was (written_raw 0: one fewer frame before it). */
void sim_conn_out_written(struct sim_conn *c, int written_raw);

/* Flush what is queued, then close the WebSocket. */
void sim_conn_close_after_flush(struct sim_conn *c);

/* Close now without flushing (fault injection). */
void sim_conn_drop(struct sim_conn *c);

/* Send <stream:error code=.../> with an optional <conflict type=.../>
 * child (code NULL = no code attribute), then close. */
void sim_conn_stream_error(struct sim_conn *c, const char *code, const char *conflict_type);

/* Next server IQ id for this connection into buf (whatsmeow style). */
void sim_conn_next_iq_id(struct sim_conn *c, char *buf, size_t cap);

/* Reply to an IQ: <iq id=<same> type="result" from="s.whatsapp.net">
 * [child]</iq>. child may be NULL; ownership of child moves on success only. */
int sim_conn_iq_result(struct sim_conn *c, const struct wa_node *iq, struct wa_node *child);

/* Reply <iq id type="error" from><error code text/></iq>. */
int sim_conn_iq_error(struct sim_conn *c, const struct wa_node *iq, int code, const char *text);

/* Log the connection in as device d of account a (closing an older
 * connection of the same device with a 440 conflict), send <success>, then
 * the offline queue (docs/protocol.md 8.7). 0 / -1. */
int sim_conn_login(struct sim_conn *c, struct sim_account *a, struct sim_device *d);

/* Deliver a stanza to a device: sent now when it is online, else marked
 * offline="1" and queued (bounded). Messages and notifications are kept
 * until the device answers them (sim_kept_until_answered). 0 / -1 (queue
 * full / OOM). */
int sim_deliver(struct sim_server *s, struct sim_device *d, struct wa_node *n);
/* 1 for what a device must answer, or is given again at its next login:
 * <message> (a receipt or an ack) and <notification> (an ack). */
int sim_kept_until_answered(const struct wa_node *n);

/* The lws protocol callback for /ws/chat (sim_ws.c) and the size of its
 * per-session data (the protocol's per_session_data_size). */
int sim_ws_callback(struct lws *wsi, int reason, void *user, void *in, size_t len);
size_t sim_ws_pss_size(void);

/* ---- dispatch (sim_handlers.c) ---- */

/* Top-level stanza handler: return 0, or -1 to drop the connection. */
typedef int (*sim_node_fn)(struct sim_conn *c, struct wa_node *n);

/* IQ handler; `child` is the first child (may be NULL). 0 / -1 (drop). */
typedef int (*sim_iq_fn)(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);

enum {
	SIM_ANY_CONN = 0,       /* registration or logged-in connections */
	SIM_LOGGED_IN = 1,      /* only after <success> */
	SIM_REGISTERING = 2,    /* only on a registration (pairing) connection */
};

struct sim_node_handler {
	const char *tag;
	int when;               /* SIM_ANY_CONN / SIM_LOGGED_IN / SIM_REGISTERING */
	sim_node_fn fn;
};

struct sim_iq_handler {
	const char *type;       /* "get" / "set" */
	const char *xmlns;      /* NULL = any */
	const char *child;      /* first child tag; NULL = no / any child */
	int when;
	sim_iq_fn fn;
};

extern const struct sim_node_handler sim_node_handlers[];
extern const struct sim_iq_handler sim_iq_handlers[];

/* Route one decoded stanza through the tables. 0 / -1 (drop). */
int sim_dispatch(struct sim_conn *c, struct wa_node *n);

/* ---- pairing (sim_pair.c) ---- */

/* Parsed QR string (docs/protocol.md 4.2). */
struct sim_qr {
	char ref[SIM_REF_MAX];
	uint8_t noise_pub[32];
	uint8_t identity_pub[32];
	uint8_t adv_secret[32];
	char platform;
};

/* Parse "https://wa.me/settings/linked_devices#ref,noise,identity,adv,platform"
 * (the URL prefix is optional). 0, or -1 with *why set. */
int sim_qr_parse(const char *qr, size_t len, struct sim_qr *out, const char **why);

/* Send the registration connection its pair-device IQ with fresh refs. */
int sim_pair_send_refs(struct sim_conn *c);

/* The phone `acc` scans qr: find the waiting connection by ref, send
 * pair-success. Returns an HTTP-like status (200, 400, 404, 409, 500) with
 * *why set, and on 200 the device jid that was offered in jid_out. */
int sim_pair_scan(struct sim_server *s, struct sim_account *acc, const char *qr, size_t qrlen,
		  char *jid_out, size_t jid_cap, const char **why);

/* Reply to our pair-success (type result with pair-device-sign, or error). */
int sim_pair_on_reply(struct sim_conn *c, struct wa_node *iq);

/* <iq xmlns="md" type="set"><link_code_companion_reg stage=...> from a
 * registration connection: companion_hello (answer a pairing ref) and
 * companion_finish (the phone checks the key bundle, derives the adv
 * secret and sends pair-success). */
int sim_pair_link_iq(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);

/* IQ handler: md remove-companion-device, the companion's own logout (11.10). */
int sim_pair_logout_iq(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);

/* The user of phone `acc` types code: find the connection that asked to
 * pair with this phone, unwrap its ephemeral key and send it the
 * link_code_companion_reg notification. HTTP-like status with *why. */
int sim_pair_link_code(struct sim_server *s, struct sim_account *acc, const char *code, const char **why);

/* Remove device `dev` of account a as its phone does: a 401 device_removed
 * stream error to its connection, then forget it. 0 / -1 (no such device). */
int sim_pair_remove_device(struct sim_server *s, struct sim_account *a, uint16_t dev);

/* ---- admin API (sim_admin.c) ---- */

int sim_admin_callback(struct lws *wsi, int reason, void *user, void *in, size_t len);
size_t sim_admin_pss_size(void);

/* Admin routes of the messaging layer (sim_admin_msg.c, simmsg): tried for
 * paths the table above does not know. Returns the HTTP status with *reply
 * set, or 0 when the path is not one of its routes. */
struct json_t;
int sim_admin_ext(struct sim_server *s, const char *method, const char *path, const char *body, size_t body_len,
		  struct json_t **reply);

#endif
