/* wa/noise_conn: one WhatsApp stream, client or server side, on raw bytes:
 * intro + framing (wa/frame), the Noise XX handshake (wa/noise) and the
 * transport ciphers. It is the one implementation of the transport: the
 * engine, wa-sim (sim/sim_conn.c) and the raw client (sim/client/) all move
 * bytes between their WebSocket and a wa_noise_conn and do nothing else at
 * this layer.
 *
 * Shape: byte driven, for an event loop that only moves bytes. No sockets,
 * no threads, no timers, never blocks.
 *
 *   client:  c = wa_noise_conn_new_client(...); wa_noise_conn_start(c, NULL)
 *   both:    on every received WebSocket message (any split of the stream):
 *              st = wa_noise_conn_feed(c, data, len, NULL, on_frame, ctx)
 *              on_open() runs once when the handshake completes, on_frame()
 *              for each decrypted transport frame, in order
 *   both:    wa_noise_conn_send(c, plaintext, len, NULL) once open
 *   writer:  whenever the socket is writeable (lws: in the WRITEABLE
 *            callback, one lws_write each):
 *              p = wa_noise_conn_out_peek(c, &n); write p[0..n); consume(c, n)
 *            and ask for another writeable callback while out_pending > 0.
 *
 * Output is queued inside the conn, in order (the Noise counters follow the
 * queue order), so it can be produced at any time - while feeding, from a
 * callback, from another event - and written whenever the writer is free.
 * Passing a non-NULL `out` to start/feed/send instead moves everything
 * queued into that buffer at the end of the call (in-memory pipes, tests,
 * benchmarks); the two styles may be mixed, the bytes stay in order.
 *
 * Server: the ClientHello is answered with the certificate chain; when the
 * ClientFinish verifies, the conn is open and on_open() is called before
 * any later frame of the same feed is delivered - the place to look at
 * wa_noise_conn_client_payload() (login vs registration) and
 * wa_noise_conn_peer_static() (the client's noise key) and to queue the
 * first answer. The routing info of an "ED" intro is available once the
 * intro is parsed (wa_noise_conn_routing).
 * Client: the ClientPayload given at creation is sent as soon as the
 * ServerHello and its chain verify; a rejected chain fails the conn with
 * WA_NOISE_ECERT and wa_noise_conn_cert_error() has the verdict. Timeouts
 * (WhatsApp waits 20 s for the ServerHello) are the caller's.
 *
 * Errors: functions return WA_NOISE_OK / a state, or a negative enum
 * wa_noise_err. Stream errors are final: malformed framing or handshake, a
 * frame over max_frame (an error, never growth), a failed decrypt, a full
 * output queue, a callback that returned non-zero (WA_NOISE_EINVAL), no
 * memory. After one, every call returns that error, the queued output is
 * discarded, and the caller drops the connection. Argument mistakes (NULL,
 * a plaintext over a frame: WA_NOISE_EINVAL) and calls in the wrong state
 * (send before open, start twice: WA_NOISE_ESTATE) only refuse the call.
 *
 * Callbacks run inside wa_noise_conn_feed. They may call wa_noise_conn_send,
 * the out_* functions and the getters on the same conn, and anything on
 * other conns; they must not call feed or free on it (feed refuses with
 * WA_NOISE_ESTATE). Bytes handed to on_frame are valid only during the call.
 *
 * Memory (x86-64, measured): the struct is 1440 bytes (1 KiB of it the
 * parser's buffer for "ED" routing info), plus 368 bytes of handshake state
 * that are freed when the conn opens, plus the copied handshake input
 * (server: cert chain, client: ClientPayload; freed once sent) and, on a
 * server, the received ClientPayload (a few hundred bytes, kept for the
 * getter). Then, only while in use: the
 * partial incoming frame (bounded by max_frame and by the bytes actually
 * received; freed at the end of every feed that completed it), the
 * plaintext of one frame (<= max_frame) and the output queue (<= max_out
 * + headroom). The last two are freed when they empty if they grew past
 * WA_NOISE_CONN_KEEP (16 KiB), so an idle open conn holds 1.4 KiB plus at
 * most 2 x 16 KiB: well inside a 128 KiB-per-session budget. Limits are
 * checked before allocating.
 *
 * Ownership: the conn owns its memory (wa_noise_conn_free wipes it); inputs
 * are copied or only read during the call; pointers returned by getters
 * live as long as the conn. Threading: none inside; one owner thread per
 * conn, distinct conns are independent (no global state). */
#ifndef WA_NOISE_CONN_H
#define WA_NOISE_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "wa/buf.h"
#include "wa/cert.h"
#include "wa/noise.h"

struct wa_noise_conn;

/* States returned by wa_noise_conn_feed (errors are enum wa_noise_err). */
enum wa_noise_conn_state {
	WA_NOISE_CONN_HANDSHAKE = 1,   /* handshake in progress */
	WA_NOISE_CONN_OPEN = 2,        /* transport up */
};

/* Default cap on queued output (wa_noise_conn_set_output): ordinary
 * stanzas are far smaller; a peer that stops reading fails the conn once
 * this much is waiting. */
#define WA_NOISE_CONN_OUT_DEFAULT (4u * 1024 * 1024)
/* Largest head room wa_noise_conn_set_output accepts (LWS_PRE is 16). */
#define WA_NOISE_CONN_HEADROOM_MAX 256u
/* Buffers that grew past this are freed when they empty again. */
#define WA_NOISE_CONN_KEEP (16u * 1024)

/* Called for each decrypted transport frame (flag byte + node, docs/protocol.md
 * §1.6); the bytes are valid only during the call. Return 0 to continue,
 * non-zero to stop: the feed then fails the conn with WA_NOISE_EINVAL. */
typedef int (*wa_noise_conn_frame_fn)(void *ctx, const uint8_t *plain, size_t len);

/* Called once, inside the feed that completes the handshake, with that
 * feed's ctx, before any later frame is delivered. Return as above. */
typedef int (*wa_noise_conn_open_fn)(void *ctx, struct wa_noise_conn *c);

/* --- creation --- */

/* Client side. s_priv/s_pub: the noise key pair (s_pub NULL = derived).
 * trust: NULL = WhatsApp's root. payload: ClientPayload bytes (copied; at
 * most WA_NOISE_HS_MAX). routing: edge routing info for the "ED" intro, or
 * NULL. max_frame: largest incoming frame payload, 0 = WA_FRAME_MAX_PAYLOAD.
 * NULL on bad arguments / no memory. */
struct wa_noise_conn *wa_noise_conn_new_client(const uint8_t s_priv[32], const uint8_t s_pub[32],
					       const struct wa_cert_trust *trust, const uint8_t *payload,
					       size_t payload_len, const uint8_t *routing, size_t routing_len,
					       size_t max_frame);

/* Server side. cert_chain: serialized CertChain for s_pub (copied, freed
 * once sent). NULL on bad arguments / no memory. */
struct wa_noise_conn *wa_noise_conn_new_server(const uint8_t s_priv[32], const uint8_t s_pub[32],
					       const uint8_t *cert_chain, size_t chain_len, size_t max_frame);

/* A conn already past its handshake, with the given transport keys and
 * counters (server: 1 = responder keys, no intro expected). For tests,
 * fuzzers and benchmarks that need an open stream without a peer; the peer
 * key and ClientPayload are absent. NULL on bad arguments / no memory. */
struct wa_noise_conn *wa_noise_conn_new_open(int server, const struct wa_noise_transport *t, size_t max_frame);

/* Output queue settings: max_out caps the queued bytes (0 = default);
 * headroom bytes are kept writable before every chunk out_peek hands out,
 * so a WebSocket writer can put its header in front without a copy (lws:
 * LWS_PRE). Call before anything is queued: WA_NOISE_ESTATE after,
 * WA_NOISE_EINVAL for headroom over WA_NOISE_CONN_HEADROOM_MAX. */
int wa_noise_conn_set_output(struct wa_noise_conn *c, size_t max_out, size_t headroom);

/* Set the open callback (NULL = none); before the handshake completes. */
void wa_noise_conn_set_on_open(struct wa_noise_conn *c, wa_noise_conn_open_fn fn);

/* Free and wipe. NULL-safe. Not from inside a callback. */
void wa_noise_conn_free(struct wa_noise_conn *c);

/* --- driving it --- */

/* Client: queue the intro and the ClientHello (one message). Once. out:
 * NULL, or a buffer that receives everything queued (see above). */
int wa_noise_conn_start(struct wa_noise_conn *c, struct wa_buf *out);

/* Feed received bytes, any split (one byte at a time works). Handshake
 * replies are queued. Returns WA_NOISE_CONN_HANDSHAKE, WA_NOISE_CONN_OPEN
 * or a (final) negative enum wa_noise_err. on_frame may be NULL (frames
 * dropped). */
int wa_noise_conn_feed(struct wa_noise_conn *c, const uint8_t *data, size_t len, struct wa_buf *out,
		       wa_noise_conn_frame_fn on_frame, void *ctx);

/* Encrypt and queue one transport frame (open only). WA_NOISE_EINVAL for
 * len over WA_FRAME_MAX_PAYLOAD - 16 and WA_NOISE_ESTATE before open leave
 * the conn as it was; a full queue (WA_NOISE_ENOMEM) or an exhausted
 * counter (WA_NOISE_ECOUNTER) is final. */
int wa_noise_conn_send(struct wa_noise_conn *c, const uint8_t *plain, size_t len, struct wa_buf *out);

/* --- the output queue (for the writer) --- */

/* Bytes queued and not yet consumed; 0 on a failed conn. */
size_t wa_noise_conn_out_pending(const struct wa_noise_conn *c);

/* Messages queued: the client's intro + ClientHello count as one, every
 * other frame as one, a partly consumed one still counts. */
size_t wa_noise_conn_out_frames(const struct wa_noise_conn *c);

/* The next message to write as one WebSocket message - the intro +
 * ClientHello, or one frame, or what is left of one after a partial
 * consume - or NULL with *len = 0 when nothing waits. The headroom bytes
 * before it may be overwritten and the bytes themselves modified by the
 * writer (lws masks client frames in place); valid until the next call
 * that queues or consumes. */
uint8_t *wa_noise_conn_out_peek(struct wa_noise_conn *c, size_t *len);

/* Drop the first n bytes written from the last peek (n <= its *len).
 * WA_NOISE_EINVAL for more. */
int wa_noise_conn_out_consume(struct wa_noise_conn *c, size_t n);

/* Move everything queued to the end of dst, in order. WA_NOISE_ENOMEM when
 * dst refuses (final: bytes would be lost). */
int wa_noise_conn_out_take(struct wa_noise_conn *c, struct wa_buf *dst);

/* --- getters --- */

/* Current state (as feed returns it) or the error that failed the conn. */
int wa_noise_conn_state(const struct wa_noise_conn *c);

/* 1 for a server-side conn, 0 for a client. */
int wa_noise_conn_is_server(const struct wa_noise_conn *c);

/* After open: the peer's static key (client: server static; server: the
 * client's noise key). NULL before, after a failure and for new_open. */
const uint8_t *wa_noise_conn_peer_static(const struct wa_noise_conn *c);

/* Server, after open: the decrypted ClientPayload bytes (not parsed; see
 * wa_client_payload_parse). NULL with *len = 0 otherwise. */
const uint8_t *wa_noise_conn_client_payload(const struct wa_noise_conn *c, size_t *len);

/* Client: the certificate verdict (enum wa_cert_err), WA_CERT_OK unless
 * the chain was rejected. */
int wa_noise_conn_cert_error(const struct wa_noise_conn *c);

/* Server: routing info from an "ED" intro, or NULL with *len = 0. */
const uint8_t *wa_noise_conn_routing(const struct wa_noise_conn *c, size_t *len);

#endif
