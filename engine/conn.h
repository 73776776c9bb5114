/* conn: one WhatsApp connection of the engine: a libwebsockets client
 * WebSocket on the engine's one context, the stream (intro, framing, Noise
 * handshake, transport ciphers: wa/noise_conn) and binary node coding
 * (wa/binary). It moves nodes, nothing else: what they mean is session.c's.
 *
 *   c = wa_conn_open(engine, &params, &cbs, session)
 *       ... cbs.on_open(session)            the handshake completed
 *       ... cbs.on_node(session, node)      each node received, in order
 *       ... wa_conn_send(c, node)           any time after on_open
 *       ... cbs.on_close(session, err, why) once, when it is over
 *   or wa_conn_close(c): the session lets it go; no callback follows.
 *
 * Timeouts: the WebSocket connect plus the handshake must finish within
 * params.connect_timeout_ms, or the connection fails with WA_ETIMEDOUT.
 * Keep-alives and IQ timeouts are the session's.
 *
 * Errors (on_close's err, common/wa_err.h): WA_EIO (TCP, TLS or WebSocket
 * failure), WA_ETIMEDOUT, WA_ECRYPTO (handshake or transport decrypt;
 * WA_EDENIED when the server's certificate chain does not verify against
 * the configured root key), WA_EPROTO (a frame that is not a binary node,
 * an on_node callback that refused), WA_ECLOSED (the server closed),
 * WA_ENOMEM, WA_EFULL (the server stopped reading and the output queue
 * filled). `why` is a short human-readable reason for the log.
 *
 * Ownership: the conn owns its lws connection and the stream; a node passed
 * to on_node belongs to the callee (wa_node_free it); a node given to
 * wa_conn_send stays the caller's. After on_close returns, or once
 * wa_conn_close was called, the pointer is dead: the memory goes when lws
 * has finished with the socket.
 *
 * Threading: loop thread only (engine.h). Memory: one conn is the noise
 * conn (about 1.5 KiB when idle, wa/noise_conn.h), lws's per-connection
 * state and this struct (a few hundred bytes). */
#ifndef WA_ENGINE_CONN_H
#define WA_ENGINE_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "wa/cert.h"
#include "wa/node.h"

struct wa_engine;
struct wa_conn;

/* Where to connect (parsed from whatsapp.url) and how to verify it. */
struct wa_conn_target {
	char host[256];
	char path[256];
	int port;
	int tls;                         /* wss:// */
	struct wa_cert_trust trust;      /* root key the server chain must verify against */
};

/* Parse a ws:// or wss:// URL into t (trust is left untouched). 0, or
 * WA_EINVAL with a reason in err. */
int wa_conn_target_parse(struct wa_conn_target *t, const char *url, char *err, size_t errlen);

struct wa_conn_params {
	const struct wa_conn_target *target;
	const uint8_t *noise_priv, *noise_pub;   /* the device's noise key pair */
	const uint8_t *payload;                  /* ClientPayload (copied) */
	size_t payload_len;
	int connect_timeout_ms;
};

struct wa_conn_cbs {
	void (*on_open)(void *ud);
	/* Return 0, or non-zero to fail the connection with WA_EPROTO. */
	int (*on_node)(void *ud, struct wa_node *n);
	void (*on_close)(void *ud, int err, const char *why);
};

/* Start connecting. NULL on no memory or when lws refuses at once (then no
 * callback follows either); the caller retries later. */
struct wa_conn *wa_conn_open(struct wa_engine *e, const struct wa_conn_params *p, const struct wa_conn_cbs *cbs,
			     void *ud);

/* Encode, encrypt and queue one node. 0; WA_ESTATE before on_open or once
 * closing; WA_EINVAL for a node that does not encode or exceeds a frame;
 * WA_EFULL / WA_ENOMEM fail the connection (on_close follows, from the
 * loop, not from inside this call). */
int wa_conn_send(struct wa_conn *c, const struct wa_node *n);

/* Close without a callback (NULL-safe). */
void wa_conn_close(struct wa_conn *c);

/* Open connections right now (for the engine's stats). */
unsigned wa_conn_count(void);

/* The lws protocol the engine's context must list for these connections:
 * { WA_CONN_PROTOCOL, wa_conn_lws_callback, 0, WA_CONN_RX_BUFFER, ... }. */
#define WA_CONN_PROTOCOL "wa-chat"
#define WA_CONN_RX_BUFFER 65536
int wa_conn_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

#endif
