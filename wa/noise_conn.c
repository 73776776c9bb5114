/* wa/noise_conn: framing + Noise handshake + transport on raw stream bytes
 * (see noise_conn.h). */
#include "wa/noise_conn.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "wa/frame.h"
#include "wa/noise.h"

struct wa_noise_conn {
	int server;
	int state;                 /* enum wa_noise_conn_state, or < 0: the error */
	int started;               /* client: intro + hello sent */
	int step;                  /* handshake messages received so far */
	struct wa_noise_hs hs;
	struct wa_noise_transport t;
	struct wa_frame_parser fp;
	uint8_t *send_payload;     /* client: ClientPayload to send */
	size_t send_payload_len;
	uint8_t *chain;            /* server: cert chain to send */
	size_t chain_len;
	struct wa_buf recv_payload; /* server: ClientPayload received */
	uint8_t routing[WA_FRAME_ROUTING_MAX];
	size_t routing_len;
	uint8_t peer[32];
	int have_peer;
	struct wa_buf scratch;     /* handshake messages and plaintexts */
};

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

static struct wa_noise_conn *conn_alloc(int server, size_t max_frame)
{
	struct wa_noise_conn *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->server = server;
	c->state = WA_NOISE_CONN_HANDSHAKE;
	/* the server reads the client's intro; the client reads bare frames */
	wa_frame_parser_init(&c->fp, max_frame, server);
	return c;
}

struct wa_noise_conn *wa_noise_conn_new_client(const uint8_t s_priv[32], const uint8_t s_pub[32],
					       const struct wa_cert_trust *trust, const uint8_t *payload,
					       size_t payload_len, const uint8_t *routing, size_t routing_len,
					       size_t max_frame)
{
	struct wa_noise_conn *c;

	if (!s_priv || (!payload && payload_len) || payload_len > WA_NOISE_HS_MAX ||
	    routing_len > WA_FRAME_ROUTING_MAX || (!routing && routing_len))
		return NULL;
	c = conn_alloc(0, max_frame);
	if (!c)
		return NULL;
	c->send_payload = dup_bytes(payload, payload_len);
	c->send_payload_len = payload_len;
	if (routing_len)
		memcpy(c->routing, routing, routing_len);
	c->routing_len = routing_len;
	if (!c->send_payload || wa_noise_init(&c->hs, WA_NOISE_INITIATOR, s_priv, s_pub, NULL, trust) != 0) {
		wa_noise_conn_free(c);
		return NULL;
	}
	return c;
}

struct wa_noise_conn *wa_noise_conn_new_server(const uint8_t s_priv[32], const uint8_t s_pub[32],
					       const uint8_t *cert_chain, size_t chain_len, size_t max_frame)
{
	struct wa_noise_conn *c;

	if (!s_priv || !cert_chain || chain_len == 0 || chain_len > WA_NOISE_HS_MAX)
		return NULL;
	c = conn_alloc(1, max_frame);
	if (!c)
		return NULL;
	c->chain = dup_bytes(cert_chain, chain_len);
	c->chain_len = chain_len;
	if (!c->chain || wa_noise_init(&c->hs, WA_NOISE_RESPONDER, s_priv, s_pub, NULL, NULL) != 0) {
		wa_noise_conn_free(c);
		return NULL;
	}
	return c;
}

void wa_noise_conn_free(struct wa_noise_conn *c)
{
	if (!c)
		return;
	wa_frame_parser_free(&c->fp);
	free(c->send_payload);
	free(c->chain);
	if (c->recv_payload.data)
		OPENSSL_cleanse(c->recv_payload.data, c->recv_payload.alloc);
	wa_buf_free(&c->recv_payload);
	if (c->scratch.data)
		OPENSSL_cleanse(c->scratch.data, c->scratch.alloc);
	wa_buf_free(&c->scratch);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

static int failed(struct wa_noise_conn *c, int rc)
{
	c->state = rc < 0 ? rc : WA_NOISE_EINVAL;
	return c->state;
}

int wa_noise_conn_start(struct wa_noise_conn *c, struct wa_buf *out)
{
	int rc;

	if (!c || !out)
		return WA_NOISE_EINVAL;
	if (c->state < 0)
		return c->state;
	if (c->server || c->started)
		return WA_NOISE_ESTATE;
	wa_buf_reset(&c->scratch);
	if ((rc = wa_noise_write_client_hello(&c->hs, &c->scratch)) != 0)
		return failed(c, rc);
	if (wa_frame_write_intro(out, c->routing_len ? c->routing : NULL, c->routing_len) != 0 ||
	    wa_frame_write(out, c->scratch.data, c->scratch.len) != 0)
		return failed(c, WA_NOISE_ENOMEM);
	c->started = 1;
	return WA_NOISE_OK;
}

/* One handshake frame. Appends the reply frame (if any) to out. */
static int handshake_frame(struct wa_noise_conn *c, const uint8_t *msg, size_t len, struct wa_buf *out)
{
	int rc;

	wa_buf_reset(&c->scratch);
	if (c->server && c->step == 0) {
		if ((rc = wa_noise_read_client_hello(&c->hs, msg, len)) != 0 ||
		    (rc = wa_noise_write_server_hello(&c->hs, c->chain, c->chain_len, &c->scratch)) != 0)
			return rc;
		if (wa_frame_write(out, c->scratch.data, c->scratch.len) != 0)
			return WA_NOISE_ENOMEM;
	} else if (c->server && c->step == 1) {
		if ((rc = wa_noise_read_client_finish(&c->hs, msg, len, c->peer, &c->recv_payload)) != 0 ||
		    (rc = wa_noise_split(&c->hs, &c->t)) != 0)
			return rc;
		c->have_peer = 1;
		c->state = WA_NOISE_CONN_OPEN;
	} else if (!c->server && c->step == 0 && c->started) {
		if ((rc = wa_noise_read_server_hello(&c->hs, msg, len)) != 0 ||
		    (rc = wa_noise_write_client_finish(&c->hs, c->send_payload, c->send_payload_len, &c->scratch)) != 0)
			return rc;
		if (wa_frame_write(out, c->scratch.data, c->scratch.len) != 0)
			return WA_NOISE_ENOMEM;
		memcpy(c->peer, c->hs.rs, 32);
		if ((rc = wa_noise_split(&c->hs, &c->t)) != 0)
			return rc;
		c->have_peer = 1;
		c->state = WA_NOISE_CONN_OPEN;
	} else {
		return WA_NOISE_ESTATE;
	}
	c->step++;
	return WA_NOISE_OK;
}

int wa_noise_conn_feed(struct wa_noise_conn *c, const uint8_t *data, size_t len, struct wa_buf *out,
		       wa_noise_conn_frame_fn on_frame, void *ctx)
{
	if (!c || !out || (!data && len))
		return WA_NOISE_EINVAL;
	if (c->state < 0)
		return c->state;
	while (len > 0) {
		const uint8_t *fr;
		size_t fn, used;
		int r = wa_frame_parse(&c->fp, data, len, &used, &fr, &fn);

		data += used;
		len -= used;
		if (r < 0)
			return failed(c, WA_NOISE_EDECODE);
		if (r == 0)
			break;
		if (c->state == WA_NOISE_CONN_HANDSHAKE) {
			int rc = handshake_frame(c, fr, fn, out);
			if (rc != 0)
				return failed(c, rc);
			continue;
		}
		/* transport frame */
		wa_buf_reset(&c->scratch);
		{
			int rc = wa_noise_read_frame(&c->t.recv, fr, fn, &c->scratch);
			if (rc != 0)
				return failed(c, rc);
		}
		if (on_frame && on_frame(ctx, c->scratch.data, c->scratch.len) != 0)
			return failed(c, WA_NOISE_EINVAL);
	}
	return c->state;
}

int wa_noise_conn_send(struct wa_noise_conn *c, const uint8_t *plain, size_t len, struct wa_buf *out)
{
	int rc;

	if (!c || !out)
		return WA_NOISE_EINVAL;
	if (c->state < 0)
		return c->state;
	if (c->state != WA_NOISE_CONN_OPEN)
		return WA_NOISE_ESTATE;
	rc = wa_noise_write_frame(&c->t.send, plain, len, out);
	/* a full counter or a too-big message is the caller's problem, not a
	 * broken stream: only fail the conn on crypto errors */
	if (rc == WA_NOISE_ECRYPTO || rc == WA_NOISE_ECOUNTER)
		return failed(c, rc);
	return rc;
}

int wa_noise_conn_state(const struct wa_noise_conn *c)
{
	return c ? c->state : WA_NOISE_EINVAL;
}

const uint8_t *wa_noise_conn_peer_static(const struct wa_noise_conn *c)
{
	return c && c->have_peer ? c->peer : NULL;
}

const uint8_t *wa_noise_conn_client_payload(const struct wa_noise_conn *c, size_t *len)
{
	if (!c || !c->server || c->state != WA_NOISE_CONN_OPEN) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = c->recv_payload.len;
	return c->recv_payload.data ? c->recv_payload.data : (const uint8_t *)"";
}

int wa_noise_conn_cert_error(const struct wa_noise_conn *c)
{
	return c ? c->hs.cert_err : WA_CERT_EINVAL;
}

const uint8_t *wa_noise_conn_routing(const struct wa_noise_conn *c, size_t *len)
{
	if (!c) {
		*len = 0;
		return NULL;
	}
	return wa_frame_parser_routing(&c->fp, len);
}
