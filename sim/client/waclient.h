/* waclient: a minimal WhatsApp Web companion client on the protocol
 * library and a libwebsockets client - for wa-sim's tests, and the shape
 * the engine's connection will take (docs/protocol.md 1, 2, 4, 12).
 *
 * What it does: WebSocket connect; the stream itself (intro, framing,
 * Noise XX initiator verifying the server chain against a given root key,
 * frame encryption, the queue of frames to write) is the library's
 * wa_noise_conn, as in the engine; on top: the registration or login
 * ClientPayload and node (de)coding; pairing helpers
 * (pair-device -> QR string, pair-success -> verify HMAC and account
 * signature, sign, pair-device-sign); IQs matched by id; keepalive ping.
 * What it does not: Signal sessions, messages, pre-keys (later).
 *
 * Model: synchronous. Each client owns its own lws context and runs it
 * only inside the waclient_* calls that wait (connect, recv, iq, ...), so
 * a test drives several clients from one thread. Incoming nodes are queued
 * (bounded, WACLIENT_MAX_QUEUED) until waclient_recv() takes them.
 * Not thread-safe: one thread per client.
 *
 * Errors: functions return 0 or a negative enum waclient_err. Ownership:
 * nodes returned by waclient_recv()/waclient_iq() belong to the caller
 * (wa_node_free); nodes passed to waclient_send() stay the caller's. */
#ifndef WACLIENT_H
#define WACLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "wa_err.h"
#include "wa/cert.h"
#include "wa/node.h"

#define WACLIENT_MAX_QUEUED 4096

enum waclient_err {
	WACLIENT_OK = WA_OK,
	WACLIENT_EINVAL = WA_EINVAL,
	WACLIENT_ENOMEM = WA_ENOMEM,
	WACLIENT_ETIMEOUT = WA_ETIMEDOUT,
	WACLIENT_ECLOSED = WA_ECLOSED,  /* connection closed */
	WACLIENT_EPROTO = WA_EPROTO,    /* unexpected or malformed stanza */
	/* TCP / WebSocket failure */
	WACLIENT_ECONNECT = WA_ERR_MAKE(WA_ERR_CLIENT_BASE, WA_EIO, 1),
	/* Noise failure other than the chain */
	WACLIENT_EHANDSHAKE = WA_ERR_MAKE(WA_ERR_CLIENT_BASE, WA_ECRYPTO, 1),
	/* server certificate chain rejected */
	WACLIENT_ECERT = WA_ERR_MAKE(WA_ERR_CLIENT_BASE, WA_ECRYPTO, 2),
	/* pair-success HMAC / signature did not verify */
	WACLIENT_EVERIFY = WA_ERR_MAKE(WA_ERR_CLIENT_BASE, WA_ECRYPTO, 3),
};

const char *waclient_strerror(int err);

/* Everything a companion keeps between connections (whatsmeow's Device). */
struct waclient_creds {
	uint8_t noise_priv[32], noise_pub[32];
	uint8_t identity_priv[32], identity_pub[32];
	uint32_t registration_id;
	uint32_t spk_id;
	uint8_t spk_priv[32], spk_pub[32], spk_sig[64];
	uint8_t adv_secret[32];
	/* set by pairing */
	int paired;
	char phone[24];                 /* PN user */
	uint16_t device;                /* companion slot */
	char lid[64];                   /* "<lid>:<dev>@lid" */
	uint8_t account[1024];          /* ADVSignedDeviceIdentity (with deviceSignature) */
	size_t account_len;
	uint8_t primary_identity[32];   /* accountSignatureKey */
};

/* Fresh keys (random), not paired. 0 / -1. */
int waclient_creds_generate(struct waclient_creds *cr);

struct waclient_config {
	const char *host;               /* "127.0.0.1" */
	int port;
	const char *path;               /* NULL = "/ws/chat" */
	struct wa_cert_trust trust;     /* root key the chain must verify against */
	const char *os;                 /* DeviceProps.os; NULL = "waclient" */
	char platform_id;               /* QR platform char; 0 = '9' (other web client) */
};

struct waclient;

/* New client with a copy of cfg and a pointer to creds (which must outlive
 * the client; pairing writes into it). NULL on OOM. */
struct waclient *waclient_new(const struct waclient_config *cfg, struct waclient_creds *creds);

/* Close and free. NULL-safe. */
void waclient_free(struct waclient *c);

/* Connect, handshake and send the ClientPayload: login when creds->paired,
 * registration otherwise. Returns once the payload is sent (the server's
 * answer - pair-device, success, failure - arrives through waclient_recv). */
int waclient_connect(struct waclient *c, int timeout_ms);

/* 1 while the WebSocket is open. */
int waclient_is_open(const struct waclient *c);

/* Close the WebSocket (no stream end); the client may connect again. */
void waclient_close(struct waclient *c);

/* Send a node (encrypted frame, flag 0). */
int waclient_send(struct waclient *c, const struct wa_node *n);

/* Same with the frame zlib-compressed (flag 2). Real clients never do
 * this; for testing the server's inflate path. */
int waclient_send_compressed(struct waclient *c, const struct wa_node *n);

/* Next received node (caller frees), waiting up to timeout_ms.
 * WACLIENT_ECLOSED once the connection closed and the queue is empty. */
int waclient_recv(struct waclient *c, int timeout_ms, struct wa_node **out);

/* Like waclient_recv for the first queued node with tag (others stay queued). */
int waclient_recv_tag(struct waclient *c, const char *tag, int timeout_ms, struct wa_node **out);

/* Send an IQ (an "id" is assigned when missing; to="s.whatsapp.net" added
 * when missing) and wait for the result/error with that id. *reply may be
 * NULL to discard it. */
int waclient_iq(struct waclient *c, struct wa_node *iq, int timeout_ms, struct wa_node **reply);

/* Keepalive: <iq xmlns="w:p" type="get" to="s.whatsapp.net"><ping/></iq>
 * and wait for the result. */
int waclient_ping(struct waclient *c, int timeout_ms);

/* Wait for the pair-device IQ, ack it, and write the QR string for ref
 * `ref_index` (0-5) into qr (docs/protocol.md 4.2). */
int waclient_pair_qr(struct waclient *c, int ref_index, int timeout_ms, char *qr, size_t cap);

/* Pairing by phone-number code (docs/protocol.md 4.5), instead of the QR:
 * ack the pair-device, send companion_hello for phone (digits) and write
 * the code to show ("XXXX-XXXX", NUL-terminated) into code_out. */
int waclient_pair_code(struct waclient *c, const char *phone, int timeout_ms, char code_out[10]);

/* After the user typed the code on the phone: take the
 * link_code_companion_reg notification, ack it, send companion_finish
 * with the key bundle and adopt the derived adv secret. Then call
 * waclient_pair_finish() as for a QR. */
int waclient_pair_code_finish(struct waclient *c, int timeout_ms);

/* Wait for pair-success, verify it (HMAC with the adv secret, account
 * signature), store the identity in creds, reply pair-device-sign, then
 * wait for <stream:error code="515"/>. On WACLIENT_EVERIFY the client has
 * replied with an error IQ as whatsmeow does. */
int waclient_pair_finish(struct waclient *c, int timeout_ms);

/* After waclient_connect with paired creds: wait for <success> (0) or
 * <failure> (WACLIENT_EPROTO, *reason set to its reason code or -1). */
int waclient_wait_success(struct waclient *c, int timeout_ms, int *reason);

/* Noise failure details of the last connect (enum wa_cert_err / wa_noise_err). */
int waclient_cert_error(const struct waclient *c);

#endif
