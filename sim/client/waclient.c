/* waclient: minimal companion client (see waclient.h). */
#include "waclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "wa/binary.h"
#include "wa/companion_reg.h"
#include "wa/crypto.h"
#include "wa/jid.h"
#include "wa/pairing.h"
#include "wa/msgid.h"
#include "wa/noise_conn.h"
#include "wa_util.h"


enum { ST_IDLE = 0, ST_CONNECTING, ST_HANDSHAKE, ST_READY, ST_CLOSED };

struct in_node {
	struct in_node *next;
	struct wa_node *n;
};

struct waclient {
	struct waclient_config cfg;
	char host[256], path[256], os[64];
	struct waclient_creds *cr;
	struct lws_context *ctx;
	struct lws *wsi;
	lws_sorted_usec_list_t sul;
	int state;
	int err;                        /* why the connection failed / closed */
	int cert_err;
	int closing;
	/* framing, handshake, transport and the queue of frames to write */
	struct wa_noise_conn *nc;
	struct in_node *in_head, *in_tail;
	size_t in_count;
	char iq_prefix[WA_IQID_PREFIX_MAX];
	uint64_t iq_counter;
	struct wa_pair_refs refs;       /* of this connection's pair-device */
	/* link-code pairing (4.5) */
	struct wa_pair_code pc;         /* link-code pairing in progress */
};

const char *waclient_strerror(int err)
{
	switch (err) {
	case WACLIENT_OK: return "ok";
	case WACLIENT_EINVAL: return "invalid argument";
	case WACLIENT_ENOMEM: return "out of memory";
	case WACLIENT_ECONNECT: return "cannot connect";
	case WACLIENT_EHANDSHAKE: return "noise handshake failed";
	case WACLIENT_ECERT: return "server certificate rejected";
	case WACLIENT_ETIMEOUT: return "timed out";
	case WACLIENT_ECLOSED: return "connection closed";
	case WACLIENT_EPROTO: return "unexpected stanza";
	case WACLIENT_EVERIFY: return "pairing verification failed";
	default: return "unknown error";
	}
}

int waclient_creds_generate(struct waclient_creds *cr)
{
	uint8_t msg[33], rid[2];

	memset(cr, 0, sizeof *cr);
	if (wa_x25519_keypair(cr->noise_priv, cr->noise_pub) || wa_x25519_keypair(cr->identity_priv, cr->identity_pub) ||
	    wa_x25519_keypair(cr->spk_priv, cr->spk_pub) || wa_random(cr->adv_secret, 32) || wa_random(rid, 2))
		return -1;
	cr->spk_id = 1;
	cr->registration_id = (((uint32_t)rid[0] << 8 | rid[1]) & 0x3FFF) + 1;
	msg[0] = 0x05;
	memcpy(msg + 1, cr->spk_pub, 32);
	return wa_xeddsa_sign(cr->identity_priv, msg, sizeof msg, cr->spk_sig);
}

/* ---- queues ---- */

static void free_queues(struct waclient *c)
{
	struct in_node *i, *ni;

	for (i = c->in_head; i; i = ni) {
		ni = i->next;
		wa_node_free(i->n);
		free(i);
	}
	c->in_head = c->in_tail = NULL;
	c->in_count = 0;
}

static void fail(struct waclient *c, int err)
{
	if (c->err == 0)
		c->err = err;
	c->closing = 1;
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

/* ---- handshake and frames ---- */

/* The ClientPayload: login when paired, registration otherwise (2.3, 2.4). */
static int build_payload(struct waclient *c, struct wa_buf *payload)
{
	struct wa_client_info ci;
	struct wa_reg_keys k;

	memset(&ci, 0, sizeof ci);
	ci.os = c->os;
	ci.platform_type = WA_PLATFORM_UNKNOWN;
	if (c->cr->paired) {
		char *end;
		unsigned long long user = strtoull(c->cr->phone, &end, 10);

		return *end != '\0' || wa_client_payload_login(&ci, user, c->cr->device, payload) ? -1 : 0;
	}
	memset(&k, 0, sizeof k);
	k.registration_id = c->cr->registration_id;
	memcpy(k.identity_pub, c->cr->identity_pub, 32);
	k.signed_prekey_id = c->cr->spk_id;
	memcpy(k.signed_prekey_pub, c->cr->spk_pub, 32);
	memcpy(k.signed_prekey_sig, c->cr->spk_sig, 64);
	return wa_client_payload_registration(&ci, &k, payload) ? -1 : 0;
}

/* The noise conn for one connection attempt (the payload is sent as soon
 * as the server's chain verifies). */
static int new_noise_conn(struct waclient *c)
{
	struct wa_buf payload = WA_BUF_INIT;
	int rc = WACLIENT_ENOMEM;

	if (build_payload(c, &payload) != 0)
		goto out;
	c->nc = wa_noise_conn_new_client(c->cr->noise_priv, c->cr->noise_pub, &c->cfg.trust, payload.data,
					 payload.len, NULL, 0, 0);
	if (c->nc != NULL && wa_noise_conn_set_output(c->nc, 0, LWS_PRE) == WA_NOISE_OK)
		rc = 0;
out:
	wa_buf_free(&payload);
	return rc;
}

/* ClientFinish queued: the transport is up. */
static int on_open(void *ctx, struct wa_noise_conn *nc)
{
	struct waclient *c = ctx;

	(void)nc;
	c->state = ST_READY;
	return 0;
}

/* A decrypted frame: decode the node and queue it for waclient_recv. */
static int on_frame(void *ctx, const uint8_t *pt, size_t len)
{
	struct waclient *c = ctx;
	struct wa_node *n = NULL;
	struct in_node *in;

	if (wa_binary_unmarshal(pt, len, NULL, &n) != WA_BIN_OK) {
		fail(c, WACLIENT_EPROTO);
		return -1;
	}
	if (c->in_count >= WACLIENT_MAX_QUEUED || (in = calloc(1, sizeof *in)) == NULL) {
		wa_node_free(n);
		fail(c, WACLIENT_ENOMEM);
		return -1;
	}
	in->n = n;
	if (c->in_tail)
		c->in_tail->next = in;
	else
		c->in_head = in;
	c->in_tail = in;
	c->in_count++;
	return 0;
}

/* Failures set c->err (the callbacks' own, or the noise verdict here). */
static void on_receive(struct waclient *c, const uint8_t *data, size_t len)
{
	int hs = wa_noise_conn_state(c->nc) == WA_NOISE_CONN_HANDSHAKE;
	int st = wa_noise_conn_feed(c->nc, data, len, NULL, on_frame, c);

	if (st == WA_NOISE_ECERT) {
		c->cert_err = wa_noise_conn_cert_error(c->nc);
		fail(c, WACLIENT_ECERT);
	} else if (st < 0) {
		fail(c, hs ? WACLIENT_EHANDSHAKE : WACLIENT_EPROTO);
	} else if (wa_noise_conn_out_pending(c->nc) > 0) {
		lws_callback_on_writable(c->wsi); /* the ClientFinish */
	}
}

/* One WRITEABLE: the next queued frame, in place (LWS_PRE head room). */
static int write_one(struct waclient *c, struct lws *wsi)
{
	size_t n;
	uint8_t *p = wa_noise_conn_out_peek(c->nc, &n);

	if (p == NULL)
		return 0;
	if (lws_write(wsi, p, n, LWS_WRITE_BINARY) < 0)
		return -1;
	(void)wa_noise_conn_out_consume(c->nc, n);
	if (wa_noise_conn_out_pending(c->nc) > 0)
		lws_callback_on_writable(wsi);
	return 0;
}

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct waclient *c = lws_context_user(lws_get_context(wsi));

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->state = ST_HANDSHAKE;
		wa_noise_conn_set_on_open(c->nc, on_open);
		if (wa_noise_conn_start(c->nc, NULL) != WA_NOISE_OK) {
			fail(c, WACLIENT_EHANDSHAKE);
			return -1;
		}
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!c->closing)
			on_receive(c, in, len);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c->closing) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
			return -1;
		}
		return write_one(c, wsi);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c->err == 0)
			c->err = WACLIENT_ECONNECT;
		c->state = ST_CLOSED;
		c->wsi = NULL;
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c->err == 0)
			c->err = WACLIENT_ECLOSED;
		c->state = ST_CLOSED;
		c->wsi = NULL;
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols client_protocols[] = {
	{ "waclient", client_cb, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* ---- event loop ---- */

static void sul_wake(lws_sorted_usec_list_t *sul)
{
	(void)sul; /* only there to bound the poll wait */
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pump(struct waclient *c, int ms)
{
	lws_sul_schedule(c->ctx, 0, &c->sul, sul_wake, (lws_usec_t)ms * LWS_US_PER_MS);
	lws_service(c->ctx, 0);
}

struct waclient *waclient_new(const struct waclient_config *cfg, struct waclient_creds *creds)
{
	struct waclient *c;
	struct lws_context_creation_info info;

	if (cfg == NULL || creds == NULL || cfg->host == NULL)
		return NULL;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->cfg = *cfg;
	snprintf(c->host, sizeof c->host, "%s", cfg->host);
	snprintf(c->path, sizeof c->path, "%s", cfg->path ? cfg->path : "/ws/chat");
	snprintf(c->os, sizeof c->os, "%s", cfg->os ? cfg->os : "waclient");
	if (c->cfg.platform_id == 0)
		c->cfg.platform_id = '9';
	c->cr = creds;
	if (wa_iqid_prefix(c->iq_prefix) != 0)
		snprintf(c->iq_prefix, sizeof c->iq_prefix, "9.9-");
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = client_protocols;
	info.user = c;
	c->ctx = lws_create_context(&info);
	if (c->ctx == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

static void reset_conn(struct waclient *c)
{
	free_queues(c);
	wa_noise_conn_free(c->nc);
	c->nc = NULL;
	c->err = 0;
	c->cert_err = 0;
	c->closing = 0;
	c->refs.n = 0;
	explicit_bzero(&c->pc, sizeof c->pc);
}

void waclient_close(struct waclient *c)
{
	long long deadline;

	if (c == NULL || c->ctx == NULL)
		return;
	if (c->wsi) {
		c->closing = 1;
		lws_callback_on_writable(c->wsi);
		deadline = now_ms() + 2000;
		while (c->wsi && now_ms() < deadline)
			pump(c, 50);
	}
	c->state = ST_CLOSED;
}

void waclient_free(struct waclient *c)
{
	if (c == NULL)
		return;
	waclient_close(c);
	lws_sul_schedule(c->ctx, 0, &c->sul, NULL, LWS_SET_TIMER_USEC_CANCEL);
	lws_context_destroy(c->ctx);
	reset_conn(c);
	free(c);
}

int waclient_connect(struct waclient *c, int timeout_ms)
{
	struct lws_client_connect_info ci;
	long long deadline = now_ms() + timeout_ms;

	if (c == NULL)
		return WACLIENT_EINVAL;
	if (c->wsi)
		waclient_close(c);
	reset_conn(c);
	if (new_noise_conn(c) != 0)
		return WACLIENT_ENOMEM;
	memset(&ci, 0, sizeof ci);
	ci.context = c->ctx;
	ci.address = c->host;
	ci.port = c->cfg.port;
	ci.path = c->path;
	ci.host = c->host;
	ci.origin = "https://web.whatsapp.com";
	ci.local_protocol_name = "waclient";
	ci.pwsi = &c->wsi;
	c->state = ST_CONNECTING;
	if (lws_client_connect_via_info(&ci) == NULL) {
		c->state = ST_CLOSED;
		c->wsi = NULL;
		return WACLIENT_ECONNECT;
	}
	while (c->state != ST_READY && c->state != ST_CLOSED && c->err == 0) {
		if (now_ms() >= deadline) {
			waclient_close(c);
			return WACLIENT_ETIMEOUT;
		}
		pump(c, 50);
	}
	if (c->err != 0 || c->state != ST_READY) {
		int err = c->err ? c->err : WACLIENT_ECLOSED;

		waclient_close(c);
		return err;
	}
	return 0;
}

int waclient_is_open(const struct waclient *c)
{
	return c != NULL && c->wsi != NULL && c->state == ST_READY && !c->closing;
}

int waclient_cert_error(const struct waclient *c)
{
	return c ? c->cert_err : 0;
}

/* Encrypt and queue one frame plaintext (flag byte + node). */
static int send_plain(struct waclient *c, const uint8_t *pt, size_t len)
{
	int rc = wa_noise_conn_send(c->nc, pt, len, NULL);

	if (rc == WA_NOISE_EINVAL)
		return WACLIENT_EINVAL; /* larger than a frame */
	if (rc != WA_NOISE_OK) {
		fail(c, WACLIENT_ENOMEM); /* queue full: the server does not read */
		return WACLIENT_ENOMEM;
	}
	lws_callback_on_writable(c->wsi);
	return 0;
}

int waclient_send(struct waclient *c, const struct wa_node *n)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	int rc;

	if (c == NULL || n == NULL)
		return WACLIENT_EINVAL;
	if (!waclient_is_open(c))
		return WACLIENT_ECLOSED;
	if (wa_binary_marshal(n, &pt, &len) != 0)
		return WACLIENT_EINVAL;
	rc = send_plain(c, pt, len);
	free(pt);
	return rc;
}

int waclient_send_compressed(struct waclient *c, const struct wa_node *n)
{
	uint8_t *pt = NULL, *z = NULL;
	size_t len = 0, zlen = 0;
	int rc = WACLIENT_ENOMEM;

	if (c == NULL || n == NULL)
		return WACLIENT_EINVAL;
	if (!waclient_is_open(c))
		return WACLIENT_ECLOSED;
	if (wa_binary_marshal(n, &pt, &len) == 0 && wa_binary_compress_frame(pt, len, &z, &zlen) == 0)
		rc = send_plain(c, z, zlen);
	free(pt);
	free(z);
	return rc;
}

typedef int (*match_fn)(const struct wa_node *n, const void *arg);

/* Take the first queued node that matches, waiting up to timeout_ms. */
static int take_match(struct waclient *c, match_fn m, const void *arg, int timeout_ms, struct wa_node **out)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct in_node **pp, *in;

		for (pp = &c->in_head; *pp; pp = &(*pp)->next) {
			if (m && !m((*pp)->n, arg))
				continue;
			in = *pp;
			*pp = in->next;
			if (c->in_tail == in) {
				c->in_tail = NULL;
				for (struct in_node *t = c->in_head; t; t = t->next)
					c->in_tail = t;
			}
			c->in_count--;
			if (out)
				*out = in->n;
			else
				wa_node_free(in->n);
			free(in);
			return 0;
		}
		if (c->wsi == NULL || c->state == ST_CLOSED)
			return WACLIENT_ECLOSED;
		if (now_ms() >= deadline)
			return WACLIENT_ETIMEOUT;
		pump(c, 20);
	}
}

int waclient_recv(struct waclient *c, int timeout_ms, struct wa_node **out)
{
	if (c == NULL || out == NULL)
		return WACLIENT_EINVAL;
	return take_match(c, NULL, NULL, timeout_ms, out);
}

static int match_tag(const struct wa_node *n, const void *arg)
{
	return strcmp(n->tag, (const char *)arg) == 0;
}

int waclient_recv_tag(struct waclient *c, const char *tag, int timeout_ms, struct wa_node **out)
{
	if (c == NULL || tag == NULL || out == NULL)
		return WACLIENT_EINVAL;
	return take_match(c, match_tag, tag, timeout_ms, out);
}

static int match_iq_reply(const struct wa_node *n, const void *arg)
{
	return strcmp(n->tag, "iq") == 0 && wa_node_attr_is(n, "id", arg) &&
	       (wa_node_attr_is(n, "type", "result") || wa_node_attr_is(n, "type", "error"));
}

int waclient_iq(struct waclient *c, struct wa_node *iq, int timeout_ms, struct wa_node **reply)
{
	char id[64];
	struct wa_node *r = NULL;
	int rc;

	if (c == NULL || iq == NULL)
		return WACLIENT_EINVAL;
	if (wa_node_attr(iq, "id") == NULL) {
		if (wa_iqid_format(c->iq_prefix, ++c->iq_counter, id, sizeof id) < 0 ||
		    wa_node_set_attr(iq, "id", id))
			return WACLIENT_ENOMEM;
	}
	if (wa_node_attr(iq, "to") == NULL) {
		struct wa_jid srv;

		wa_jid_server(&srv);
		if (wa_node_set_attr_jid(iq, "to", &srv))
			return WACLIENT_ENOMEM;
	}
	snprintf(id, sizeof id, "%s", wa_node_attr(iq, "id"));
	rc = waclient_send(c, iq);
	if (rc != 0)
		return rc;
	rc = take_match(c, match_iq_reply, id, timeout_ms, &r);
	if (rc != 0)
		return rc;
	if (reply)
		*reply = r;
	else
		wa_node_free(r);
	return 0;
}

int waclient_ping(struct waclient *c, int timeout_ms)
{
	struct wa_node *iq = wa_node_new("iq"), *r = NULL;
	int rc = WACLIENT_ENOMEM;

	if (iq == NULL || wa_node_set_attr(iq, "xmlns", "w:p") || wa_node_set_attr(iq, "type", "get") ||
	    wa_node_add_new(iq, "ping") == NULL)
		goto out;
	rc = waclient_iq(c, iq, timeout_ms, &r);
	if (rc == 0 && !wa_node_attr_is(r, "type", "result"))
		rc = WACLIENT_EPROTO;
out:
	wa_node_free(iq);
	wa_node_free(r);
	return rc;
}

/* Acknowledge a server IQ: <iq to="s.whatsapp.net" id type="result"/>. */
static int match_child_iq(const struct wa_node *n, const void *arg)
{
	struct wa_node *ch = wa_node_child_at(n, 0);

	return strcmp(n->tag, "iq") == 0 && ch != NULL && strcmp(ch->tag, (const char *)arg) == 0;
}

/* The companion's pairing keys as wa/pairing takes them. */
static void pair_keys(const struct waclient *c, struct wa_pair_keys *k)
{
	memcpy(k->noise_pub, c->cr->noise_pub, 32);
	memcpy(k->identity_priv, c->cr->identity_priv, 32);
	memcpy(k->identity_pub, c->cr->identity_pub, 32);
	memcpy(k->adv_secret, c->cr->adv_secret, 32);
	k->platform_id = c->cfg.platform_id;
}

/* Send a node built by wa/pairing (NULL = out of memory) and free it. */
static int send_built(struct waclient *c, struct wa_node *n)
{
	int rc = n ? waclient_send(c, n) : WACLIENT_ENOMEM;

	wa_node_free(n);
	return rc;
}

/* Take the pair-device IQ (once per connection), remember its refs, ack it. */
static int get_refs(struct waclient *c, int timeout_ms)
{
	struct wa_node *iq = NULL;
	int rc;

	if (c->refs.n > 0)
		return 0;
	rc = take_match(c, match_child_iq, "pair-device", timeout_ms, &iq);
	if (rc != 0)
		return rc;
	rc = wa_pair_parse_refs(iq, &c->refs) == 0 ? send_built(c, wa_pair_ack(iq)) : WACLIENT_EPROTO;
	wa_node_free(iq);
	return rc;
}

int waclient_pair_qr(struct waclient *c, int ref_index, int timeout_ms, char *qr, size_t cap)
{
	struct wa_pair_keys k;
	int rc;

	if (c == NULL || qr == NULL || ref_index < 0 || ref_index >= WA_PAIR_REFS_MAX)
		return WACLIENT_EINVAL;
	rc = get_refs(c, timeout_ms);
	if (rc != 0)
		return rc;
	if (ref_index >= c->refs.n)
		return WACLIENT_EPROTO;
	pair_keys(c, &k);
	rc = wa_pair_qr_string(&k, c->refs.ref[ref_index], qr, cap) == 0 ? 0 : WACLIENT_EINVAL;
	explicit_bzero(&k, sizeof k);
	return rc;
}

int waclient_pair_code(struct waclient *c, const char *phone, int timeout_ms, char code_out[10])
{
	struct wa_pair_keys k;
	struct wa_node *iq = NULL, *r = NULL;
	int rc;

	if (c == NULL || phone == NULL || code_out == NULL)
		return WACLIENT_EINVAL;
	rc = get_refs(c, timeout_ms); /* the pair-device still comes and is acked */
	if (rc != 0)
		return rc;
	pair_keys(c, &k);
	rc = wa_pair_code_hello(&c->pc, phone, &k, "Chrome (Linux)", NULL, &iq);
	explicit_bzero(&k, sizeof k);
	if (rc != 0)
		return rc == WA_ENOMEM ? WACLIENT_ENOMEM : WACLIENT_EINVAL;
	rc = waclient_iq(c, iq, timeout_ms, &r);
	if (rc == 0)
		rc = wa_pair_code_ref(&c->pc, r) == 0 ? 0 : WACLIENT_EPROTO;
	if (rc == 0)
		rc = wa_pair_code_display(&c->pc, code_out) == 0 ? 0 : WACLIENT_EINVAL;
	wa_node_free(iq);
	wa_node_free(r);
	return rc;
}

static int match_link_notification(const struct wa_node *n, const void *arg)
{
	(void)arg;
	return wa_pair_classify(n) == 3;
}

int waclient_pair_code_finish(struct waclient *c, int timeout_ms)
{
	struct wa_node *n = NULL, *ack = NULL, *iq = NULL, *r = NULL;
	struct wa_pair_keys k;
	int rc;

	if (c == NULL || c->pc.ref[0] == '\0')
		return WACLIENT_EINVAL;
	rc = take_match(c, match_link_notification, NULL, timeout_ms, &n);
	if (rc != 0)
		return rc;
	pair_keys(c, &k);
	rc = wa_pair_code_finish(&c->pc, n, &k, &ack, &iq);
	/* the notification is acked whatever its content (8.6) */
	if (ack && waclient_send(c, ack) != 0 && rc == 0)
		rc = WACLIENT_ECLOSED;
	if (rc == 0) {
		/* pair-success authenticates with the derived secret from now on */
		memcpy(c->cr->adv_secret, k.adv_secret, 32);
		rc = waclient_iq(c, iq, timeout_ms, &r);
		if (rc == 0 && !wa_node_attr_is(r, "type", "result"))
			rc = WACLIENT_EVERIFY;
	} else if (rc == WA_ECRYPTO) {
		rc = WACLIENT_EVERIFY;
	} else if (rc != WACLIENT_ECLOSED) {
		rc = rc == WA_ENOMEM ? WACLIENT_ENOMEM : WACLIENT_EPROTO;
	}
	explicit_bzero(&k, sizeof k);
	wa_node_free(n);
	wa_node_free(ack);
	wa_node_free(iq);
	wa_node_free(r);
	return rc;
}

/* Verify pair-success and send the reply (docs/protocol.md 4.3 / 4.4);
 * on a failed check the error IQ WhatsApp Web sends goes out instead. */
static int handle_pair_success(struct waclient *c, const struct wa_node *iq)
{
	struct wa_pair_result res;
	struct wa_pair_keys k;
	struct wa_node *reply = NULL;
	int rc, sent;

	pair_keys(c, &k);
	rc = wa_pair_success(iq, &k, &res, &reply);
	explicit_bzero(&k, sizeof k);
	sent = reply ? waclient_send(c, reply) : WACLIENT_ENOMEM;
	wa_node_free(reply);
	if (rc == 0 && sent == 0 && res.account_len <= sizeof c->cr->account) {
		memcpy(c->cr->account, res.account, res.account_len);
		c->cr->account_len = res.account_len;
		memcpy(c->cr->primary_identity, res.primary_identity, 32);
		snprintf(c->cr->phone, sizeof c->cr->phone, "%s", res.phone);
		c->cr->device = res.device;
		snprintf(c->cr->lid, sizeof c->cr->lid, "%s", res.lid);
		c->cr->paired = 1;
	}
	explicit_bzero(&res, sizeof res);
	if (rc == WA_ECRYPTO || rc == WA_EPROTO)
		return WACLIENT_EVERIFY;
	if (rc != 0)
		return rc == WA_ENOMEM ? WACLIENT_ENOMEM : WACLIENT_EPROTO;
	return sent;
}

int waclient_pair_finish(struct waclient *c, int timeout_ms)
{
	struct wa_node *iq = NULL, *se = NULL;
	int rc;

	if (c == NULL)
		return WACLIENT_EINVAL;
	rc = take_match(c, match_child_iq, "pair-success", timeout_ms, &iq);
	if (rc != 0)
		return rc;
	rc = handle_pair_success(c, iq);
	wa_node_free(iq);
	if (rc != 0)
		return rc;
	rc = waclient_recv_tag(c, "stream:error", timeout_ms, &se);
	if (rc == 0 && !wa_node_attr_is(se, "code", "515"))
		rc = WACLIENT_EPROTO;
	wa_node_free(se);
	if (rc == 0)
		waclient_close(c); /* the server closes too; restart required */
	return rc;
}

static int match_login(const struct wa_node *n, const void *arg)
{
	(void)arg;
	return strcmp(n->tag, "success") == 0 || strcmp(n->tag, "failure") == 0 ||
	       strcmp(n->tag, "stream:error") == 0;
}

int waclient_wait_success(struct waclient *c, int timeout_ms, int *reason)
{
	struct wa_node *n = NULL;
	long long r = -1;
	int rc;

	if (reason)
		*reason = -1;
	rc = take_match(c, match_login, NULL, timeout_ms, &n);
	if (rc != 0)
		return rc;
	if (strcmp(n->tag, "success") == 0) {
		wa_node_free(n);
		return 0;
	}
	if (wa_node_attr_int(n, strcmp(n->tag, "failure") == 0 ? "reason" : "code", &r) == 0 && reason)
		*reason = (int)r;
	wa_node_free(n);
	return WACLIENT_EPROTO;
}
