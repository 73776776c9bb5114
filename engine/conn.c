/* conn: one WhatsApp connection on the engine's lws context (conn.h). */
#include "engine/conn.h"
#include "engine/engine.h"
#include "wa_err.h"
#include "wa_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/binary.h"
#include "wa/noise_conn.h"

/* WhatsApp Web sends this Origin (docs/protocol.md §1.1). */
#define WA_ORIGIN "https://web.whatsapp.com"

struct wa_conn {
	struct wa_engine *e;
	struct lws *wsi;
	struct wa_noise_conn *nc;
	struct wa_conn_cbs cbs;
	void *ud;
	lws_sorted_usec_list_t sul;     /* connect + handshake deadline */
	int open;                       /* on_open ran */
	int detached;                   /* wa_conn_close: no more callbacks */
	int reported;                   /* on_close ran */
	int killing;                    /* an async kill is scheduled */
	int in_connect;                 /* inside lws_client_connect_via_info */
	int err;                        /* the first failure */
	char why[160];
};

static unsigned n_open;

unsigned wa_conn_count(void)
{
	return n_open;
}

int wa_conn_target_parse(struct wa_conn_target *t, const char *url, char *err, size_t errlen)
{
	const char *p, *host, *colon, *slash;
	size_t hlen;
	long port;

	if (!url || !*url) {
		snprintf(err, errlen, "empty URL");
		return WA_EINVAL;
	}
	if (strncmp(url, "wss://", 6) == 0) {
		t->tls = 1;
		p = url + 6;
	} else if (strncmp(url, "ws://", 5) == 0) {
		t->tls = 0;
		p = url + 5;
	} else {
		snprintf(err, errlen, "'%.80s' is not a ws:// or wss:// URL", url);
		return WA_EINVAL;
	}
	host = p;
	slash = strchr(p, '/');
	colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
	hlen = colon ? (size_t)(colon - host) : slash ? (size_t)(slash - host) : strlen(host);
	if (hlen == 0 || hlen >= sizeof t->host) {
		snprintf(err, errlen, "'%.80s' has no usable host", url);
		return WA_EINVAL;
	}
	memcpy(t->host, host, hlen);
	t->host[hlen] = '\0';
	port = t->tls ? 443 : 80;
	if (colon) {
		char *end;

		port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || (*end && *end != '/') || port < 1 || port > 65535) {
			snprintf(err, errlen, "'%.80s' has a bad port", url);
			return WA_EINVAL;
		}
	}
	t->port = (int)port;
	snprintf(t->path, sizeof t->path, "%s", slash ? slash : "/");
	if (slash && strlen(slash) >= sizeof t->path) {
		snprintf(err, errlen, "'%.80s': path too long", url);
		return WA_EINVAL;
	}
	return 0;
}

static void conn_free(struct wa_conn *c)
{
	lws_sul_cancel(&c->sul);
	wa_noise_conn_free(c->nc);
	free(c);
}

/* Record the first failure; tell the session unless it let go. */
static void report(struct wa_conn *c, int err, const char *why)
{
	if (c->err == 0) {
		c->err = err;
		snprintf(c->why, sizeof c->why, "%s", why);
	}
	if (c->reported || c->detached || c->in_connect)
		return;
	c->reported = 1;
	if (c->cbs.on_close)
		c->cbs.on_close(c->ud, c->err, c->why);
}

/* Close the socket from outside an lws callback of this wsi. */
static void kill_async(struct wa_conn *c)
{
	if (c->wsi && !c->killing) {
		c->killing = 1;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
	}
}

static void on_deadline(lws_sorted_usec_list_t *sul)
{
	struct wa_conn *c = lws_container_of(sul, struct wa_conn, sul);

	if (c->open)
		return;
	report(c, WA_ETIMEDOUT, "no connection or handshake in time");
	kill_async(c);
}

static int nc_open(void *ctx, struct wa_noise_conn *nc)
{
	struct wa_conn *c = ctx;

	(void)nc;
	c->open = 1;
	n_open++;
	lws_sul_cancel(&c->sul);
	if (!c->detached && c->cbs.on_open)
		c->cbs.on_open(c->ud);
	return 0;
}

static int nc_frame(void *ctx, const uint8_t *plain, size_t len)
{
	struct wa_conn *c = ctx;
	struct wa_node *n = NULL;
	int rc;

	if (c->detached || c->reported)
		return 0;
	rc = wa_binary_unmarshal(plain, len, NULL, &n);
	if (rc != WA_BIN_OK) {
		wa_warn("conn: a frame of %zu bytes is not a binary node (%d)", len, rc);
		report(c, WA_EPROTO, "received a frame that is not a binary node");
		return -1;
	}
	if (c->cbs.on_node && c->cbs.on_node(c->ud, n) != 0) {
		report(c, WA_EPROTO, "the session refused a stanza");
		return -1;
	}
	return 0;
}

/* In an lws callback: 0, or -1 to have lws close the connection. */
static int on_receive(struct wa_conn *c, const uint8_t *in, size_t len)
{
	int hs = !c->open;
	int st = wa_noise_conn_feed(c->nc, in, len, NULL, nc_frame, c);

	if (st == WA_NOISE_ECERT) {
		char why[96];

		snprintf(why, sizeof why, "server certificate chain rejected (%d): check whatsapp.root_key",
			 wa_noise_conn_cert_error(c->nc));
		report(c, WA_EDENIED, why);
		return -1;
	}
	if (st < 0) {
		report(c, hs ? WA_ECRYPTO : (c->err ? c->err : WA_ECRYPTO),
		       hs ? "noise handshake failed" : "stream failed (decrypt or framing)");
		return -1;
	}
	if (wa_noise_conn_out_pending(c->nc) > 0)
		lws_callback_on_writable(c->wsi);
	return 0;
}

static int on_writeable(struct wa_conn *c)
{
	size_t n;
	uint8_t *p;

	if (c->detached || c->err)
		return -1;
	p = wa_noise_conn_out_peek(c->nc, &n);
	if (!p)
		return 0;
	if (lws_write(c->wsi, p, n, LWS_WRITE_BINARY) < (int)n) {
		report(c, WA_EIO, "write failed");
		return -1;
	}
	(void)wa_noise_conn_out_consume(c->nc, n);
	if (wa_noise_conn_out_pending(c->nc) > 0)
		lws_callback_on_writable(c->wsi);
	return 0;
}

/* The wsi is gone: last callback of this conn. */
static void on_gone(struct wa_conn *c, struct lws *wsi, int err, const char *why)
{
	lws_set_opaque_user_data(wsi, NULL);
	if (c->open)
		n_open--;
	c->wsi = NULL;
	report(c, err, why);
	if (!c->in_connect)
		conn_free(c);
}

int wa_conn_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct wa_conn *c = lws_get_opaque_user_data(wsi);
	char why[128];

	if (!c)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		wa_noise_conn_set_on_open(c->nc, nc_open);
		if (wa_noise_conn_start(c->nc, NULL) != WA_NOISE_OK) {
			report(c, WA_ENOMEM, "cannot start the handshake");
			return -1;
		}
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c->detached || c->err)
			return -1;
		return on_receive(c, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return on_writeable(c);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		snprintf(why, sizeof why, "cannot connect: %.100s", in ? (const char *)in : "unknown error");
		on_gone(c, wsi, WA_EIO, why);
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		report(c, WA_ECLOSED, "the server closed the WebSocket");
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		on_gone(c, wsi, WA_ECLOSED, "connection closed");
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

struct wa_conn *wa_conn_open(struct wa_engine *e, const struct wa_conn_params *p, const struct wa_conn_cbs *cbs,
			     void *ud)
{
	struct lws_client_connect_info ci;
	struct wa_conn *c;
	struct lws *wsi;

	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->e = e;
	c->cbs = *cbs;
	c->ud = ud;
	c->nc = wa_noise_conn_new_client(p->noise_priv, p->noise_pub, &p->target->trust, p->payload, p->payload_len,
					 NULL, 0, 0);
	if (!c->nc || wa_noise_conn_set_output(c->nc, 0, LWS_PRE) != WA_NOISE_OK) {
		conn_free(c);
		return NULL;
	}
	memset(&ci, 0, sizeof ci);
	ci.context = e->lws;
	ci.address = p->target->host;
	ci.port = p->target->port;
	ci.path = p->target->path;
	ci.host = p->target->host;
	ci.origin = WA_ORIGIN;
	ci.ssl_connection = p->target->tls ? LCCSCF_USE_SSL : 0;
	ci.local_protocol_name = WA_CONN_PROTOCOL;
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	c->in_connect = 1;
	wsi = lws_client_connect_via_info(&ci);
	c->in_connect = 0;
	if (!wsi) {
		/* lws may have reported the error through the callback already;
		 * either way the wsi is gone and nobody was told. */
		conn_free(c);
		return NULL;
	}
	lws_sul_schedule(e->lws, 0, &c->sul, on_deadline,
			 (lws_usec_t)(p->connect_timeout_ms > 0 ? p->connect_timeout_ms : 20000) * LWS_US_PER_MS);
	return c;
}

int wa_conn_send(struct wa_conn *c, const struct wa_node *n)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	int rc;

	if (!c || !c->open || c->detached || c->err || !c->wsi)
		return WA_ESTATE;
	if (wa_binary_marshal(n, &pt, &len) != 0)
		return WA_EINVAL;
	rc = wa_noise_conn_send(c->nc, pt, len, NULL);
	free(pt);
	if (rc == WA_NOISE_EINVAL)
		return WA_EINVAL;
	if (rc != WA_NOISE_OK) {
		c->err = rc == WA_NOISE_ENOMEM ? WA_EFULL : WA_ECRYPTO;
		snprintf(c->why, sizeof c->why, "%s", rc == WA_NOISE_ENOMEM ?
			 "the server stopped reading (output queue full)" : "cannot encrypt");
		kill_async(c); /* on_close follows from CLIENT_CLOSED */
		return c->err;
	}
	lws_callback_on_writable(c->wsi);
	return 0;
}

void wa_conn_close(struct wa_conn *c)
{
	if (!c)
		return;
	c->detached = 1;
	if (c->wsi)
		kill_async(c);
	else
		conn_free(c);
}
