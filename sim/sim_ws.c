/* sim_ws: the libwebsockets side of /ws/chat - the protocol callback that
 * creates a sim_conn per WebSocket, feeds it the received bytes and writes
 * the frames queued on its noise conn, one lws_write per WRITEABLE
 * callback. */
#include "sim.h"

#include <string.h>

#include <libwebsockets.h>

#include "wa_log.h"

void sim_conn_set_timeout(struct sim_conn *c, unsigned secs)
{
	if (c != NULL && c->wsi != NULL)
		lws_set_timeout(c->wsi, secs ? PENDING_TIMEOUT_USER_OK : NO_PENDING_TIMEOUT, (int)secs);
}

void sim_conn_wake(struct sim_conn *c)
{
	if (c != NULL && c->wsi != NULL)
		lws_callback_on_writable(c->wsi);
}

struct ws_pss {
	struct sim_conn *c;
	struct lws *wsi;
	lws_sorted_usec_list_t sul;     /* wakes a delayed connection's writer */
};

size_t sim_ws_pss_size(void)
{
	return sizeof(struct ws_pss);
}

static void delay_done(lws_sorted_usec_list_t *sul)
{
	struct ws_pss *pss = lws_container_of(sul, struct ws_pss, sul);

	lws_callback_on_writable(pss->wsi);
}

/* One WRITEABLE: release the held frames that are due, write the raw
 * message when it is its turn (admin send-raw) or else the next queued
 * frame (in place: both keep LWS_PRE bytes of head room), then ask again,
 * wait for the next held frame, or close after the last. */
static int write_one(struct ws_pss *pss, struct sim_conn *c)
{
	uint64_t wait_ms = sim_conn_release_due(c, sim_mono_ms());
	size_t n;
	uint8_t *p;

	if (c->kill)
		return -1;
	if ((p = sim_conn_raw_peek(c, &n)) != NULL) {
		if (lws_write(pss->wsi, p, n, LWS_WRITE_BINARY) < (int)n)
			return -1;
		sim_conn_out_written(c, 1);
	} else if ((p = wa_noise_conn_out_peek(c->nc, &n)) != NULL) {
		if (lws_write(pss->wsi, p, n, LWS_WRITE_BINARY) < (int)n)
			return -1;
		(void)wa_noise_conn_out_consume(c->nc, n);
		sim_conn_out_written(c, 0);
	}
	if (wa_noise_conn_out_pending(c->nc) > 0 || c->raw != NULL) {
		lws_callback_on_writable(pss->wsi);
	} else if (wait_ms > 0) {
		/* injected delay: come back when the next frame is due */
		lws_sul_schedule(lws_get_context(pss->wsi), 0, &pss->sul, delay_done,
				 (lws_usec_t)wait_ms * LWS_US_PER_MS);
	} else if (c->state == SIM_CONN_CLOSING) {
		lws_close_reason(pss->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	return 0;
}

int sim_ws_callback(struct lws *wsi, int reason, void *user, void *in, size_t len)
{
	struct ws_pss *pss = user;
	struct sim_server *s = lws_context_user(lws_get_context(wsi));
	struct sim_conn *c = pss ? pss->c : NULL;
	char uri[256];

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* only /ws/chat upgrades (query strings ignored) */
		if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 ||
		    strcmp(uri, "/ws/chat") != 0)
			return -1;
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		pss->wsi = wsi;
		pss->c = sim_conn_new(s, wsi);
		if (pss->c == NULL)
			return -1;
		sim_conn_set_timeout(pss->c, SIM_HANDSHAKE_SECS);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (c == NULL || c->kill)
			return -1;
		if (!lws_frame_is_binary(wsi)) {
			wa_info("sim: conn %lu: text WebSocket message, closing", c->id);
			return -1;
		}
		return sim_conn_receive(c, in, len) == 0 ? 0 : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (c == NULL || c->kill)
			return -1;
		return write_one(pss, c);
	case LWS_CALLBACK_CLOSED:
		lws_sul_cancel(&pss->sul);
		if (c != NULL) {
			wa_debug("sim: conn %lu closed", c->id);
			c->wsi = NULL;
			sim_conn_free(c);
			pss->c = NULL;
		}
		return 0;
	case LWS_CALLBACK_HTTP:
		/* a plain HTTP request on the WebSocket port */
		if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}
