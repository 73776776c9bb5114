/* wa/noise_conn: one WhatsApp stream (client or server side) on raw bytes:
 * framing (wa/frame) + Noise handshake (wa/noise) + transport ciphers, so
 * the engine and wa-sim only move bytes between their WebSocket and this.
 *
 *   client:  c = wa_noise_conn_new_client(...); wa_noise_conn_start(c, out)
 *            -> send out (intro + ClientHello frame)
 *   both:    on every received WebSocket message:
 *              st = wa_noise_conn_feed(c, data, len, out, on_frame, ctx)
 *              send whatever was appended to out (handshake replies);
 *              on_frame() gets each decrypted transport frame, in order
 *   both:    wa_noise_conn_send(c, plaintext, len, out) once open
 *
 * The client sends its ClientPayload (given at creation) as soon as the
 * ServerHello verifies. The server answers the ClientHello with its
 * certificate chain and, when the ClientFinish arrives, becomes open and
 * exposes the client's static key and ClientPayload bytes; it must look at
 * them before sending anything (login vs registration).
 *
 * Errors are final: after a negative return every call fails; drop the
 * connection. Ownership: the conn owns its memory (wa_noise_conn_free);
 * outputs are appended to caller buffers. Not thread-safe: one owner. */
#ifndef WA_NOISE_CONN_H
#define WA_NOISE_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "wa/buf.h"
#include "wa/cert.h"

struct wa_noise_conn;

/* States returned by wa_noise_conn_feed (errors are enum wa_noise_err). */
enum wa_noise_conn_state {
	WA_NOISE_CONN_HANDSHAKE = 1,   /* handshake in progress */
	WA_NOISE_CONN_OPEN = 2,        /* transport up */
};

/* Called for each decrypted transport frame; the bytes are valid only
 * during the call. Return 0 to continue, non-zero to stop processing (the
 * feed then returns WA_NOISE_EINVAL and the conn is failed). */
typedef int (*wa_noise_conn_frame_fn)(void *ctx, const uint8_t *plain, size_t len);

/* Client side. s_priv/s_pub: the noise key pair (s_pub NULL = derived).
 * trust: NULL = WhatsApp's root. payload: ClientPayload bytes (copied; at
 * most WA_NOISE_HS_MAX). routing: edge routing info for the "ED" intro, or
 * NULL. max_frame: 0 = WA_FRAME_MAX_PAYLOAD. NULL on bad arguments / no
 * memory. */
struct wa_noise_conn *wa_noise_conn_new_client(const uint8_t s_priv[32], const uint8_t s_pub[32],
					       const struct wa_cert_trust *trust, const uint8_t *payload,
					       size_t payload_len, const uint8_t *routing, size_t routing_len,
					       size_t max_frame);

/* Server side. cert_chain: serialized CertChain for s_pub (copied). */
struct wa_noise_conn *wa_noise_conn_new_server(const uint8_t s_priv[32], const uint8_t s_pub[32],
					       const uint8_t *cert_chain, size_t chain_len, size_t max_frame);

/* Free and wipe. NULL-safe. */
void wa_noise_conn_free(struct wa_noise_conn *c);

/* Client: append the intro and the ClientHello frame to out. Once. */
int wa_noise_conn_start(struct wa_noise_conn *c, struct wa_buf *out);

/* Feed received bytes (any split). Returns WA_NOISE_CONN_HANDSHAKE,
 * WA_NOISE_CONN_OPEN or a negative enum wa_noise_err. */
int wa_noise_conn_feed(struct wa_noise_conn *c, const uint8_t *data, size_t len, struct wa_buf *out,
		       wa_noise_conn_frame_fn on_frame, void *ctx);

/* Encrypt and frame one transport message into out (open only). */
int wa_noise_conn_send(struct wa_noise_conn *c, const uint8_t *plain, size_t len, struct wa_buf *out);

/* Current state (as feed returns it) or the error that failed the conn. */
int wa_noise_conn_state(const struct wa_noise_conn *c);

/* After open: the peer's static key (client: server static; server: the
 * client's noise key). NULL before. */
const uint8_t *wa_noise_conn_peer_static(const struct wa_noise_conn *c);

/* Server, after open: the ClientPayload bytes (owned by the conn). */
const uint8_t *wa_noise_conn_client_payload(const struct wa_noise_conn *c, size_t *len);

/* Client: the certificate verdict (enum wa_cert_err) after a failure. */
int wa_noise_conn_cert_error(const struct wa_noise_conn *c);

/* Server: routing info from an "ED" intro, or NULL. */
const uint8_t *wa_noise_conn_routing(const struct wa_noise_conn *c, size_t *len);

#endif
