/* sim_conn: one WebSocket connection on /ws/chat - intro + framing, the
 * Noise responder, the ClientPayload (registration vs login), transport
 * encryption and the ordered queue of outgoing frames (PROTOCOL.md 1, 2,
 * 12). Stanzas go to sim_dispatch() (sim_handlers.c).
 *
 * Writes: lws allows one lws_write per WRITEABLE callback, so every frame
 * is encrypted when queued (the Noise counter order is the queue order)
 * and written one per callback. The lws side (callback, writes) lives in
 * sim_ws.c; this file only asks it for a WRITEABLE via sim_conn_wake(),
 * so the protocol logic runs without sockets (fuzz target). */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "wa/crypto.h"
#include "wa_log.h"
#include "wa_util.h"

/* Decoding caps for client stanzas: generous for real traffic, small
 * enough that one connection cannot make the sim allocate without bound. */
static const struct wa_binary_limits client_limits = {
	.max_depth = 32,
	.max_list = 20000,
	.max_nodes = 100000,
	.max_bytes = 16u * 1024 * 1024,
	.max_inflated = 16u * 1024 * 1024,
};

static unsigned long next_conn_id = 1;

struct sim_conn *sim_conn_new(struct sim_server *s, struct lws *wsi)
{
	struct sim_conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->srv = s;
	c->wsi = wsi;
	c->id = next_conn_id++;
	c->state = SIM_CONN_HELLO;
	wa_frame_parser_init(&c->fp, 0, 1);
	if (wa_noise_init(&c->hs, WA_NOISE_RESPONDER, s->keys.static_priv, s->keys.static_pub, NULL,
			  NULL) != WA_NOISE_OK) {
		wa_frame_parser_free(&c->fp);
		free(c);
		return NULL;
	}
	if (wa_iqid_prefix(c->iq_prefix) != 0)
		snprintf(c->iq_prefix, sizeof c->iq_prefix, "1.1-");
	c->next = s->conns;
	s->conns = c;
	s->nconns++;
	return c;
}

static void out_free_all(struct sim_conn *c)
{
	struct sim_out *o, *no;

	for (o = c->out_head; o; o = no) {
		no = o->next;
		free(o);
	}
	c->out_head = c->out_tail = NULL;
	c->out_count = c->out_bytes = 0;
}

void sim_conn_free(struct sim_conn *c)
{
	struct sim_conn **pp;

	if (c == NULL)
		return;
	for (pp = &c->srv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->srv->nconns--;
			break;
		}
	}
	if (c->dev && c->dev->conn == c)
		c->dev->conn = NULL;
	out_free_all(c);
	wa_frame_parser_free(&c->fp);
	wa_noise_clear(&c->hs);
	wa_noise_transport_clear(&c->tr);
	memset(c, 0, sizeof *c);
	free(c);
}

/* Queue one frame (be3 length + payload) for writing. */
static int queue_frame(struct sim_conn *c, const uint8_t *payload, size_t len)
{
	struct sim_out *o;

	if (c->kill)
		return -1;
	if (len > WA_FRAME_MAX_PAYLOAD || c->out_count >= SIM_OUT_MAX_FRAMES ||
	    len + 3 > SIM_OUT_MAX_BYTES - c->out_bytes) {
		wa_warn("sim: conn %lu: output queue full, dropping the connection", c->id);
		sim_conn_drop(c);
		return -1;
	}
	o = malloc(sizeof *o + LWS_PRE + 3 + len);
	if (o == NULL)
		return -1;
	o->next = NULL;
	o->due_ms = c->delay_ms ? sim_mono_ms() + c->delay_ms : 0;
	o->len = 3 + len;
	o->buf[LWS_PRE] = (uint8_t)(len >> 16);
	o->buf[LWS_PRE + 1] = (uint8_t)(len >> 8);
	o->buf[LWS_PRE + 2] = (uint8_t)len;
	memcpy(o->buf + LWS_PRE + 3, payload, len);
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->out_count++;
	c->out_bytes += o->len;
	sim_conn_wake(c);
	return 0;
}

int sim_conn_send_plain(struct sim_conn *c, const uint8_t *pt, size_t len)
{
	uint8_t *ct;
	int rc;

	if (c == NULL || c->state < SIM_CONN_READY || c->kill || len > WA_FRAME_MAX_PAYLOAD - 16)
		return -1;
	if (c->state == SIM_CONN_CLOSING)
		return -1; /* nothing goes after the final stanza */
	ct = malloc(len + 16);
	if (ct == NULL)
		return -1;
	if (wa_noise_encrypt(&c->tr.send, pt, len, ct) != WA_NOISE_OK) {
		free(ct);
		return -1;
	}
	rc = queue_frame(c, ct, len + 16);
	free(ct);
	return rc;
}

int sim_conn_send_node(struct sim_conn *c, const struct wa_node *n)
{
	uint8_t *pt = NULL, *z = NULL;
	size_t len = 0, zlen = 0;
	int rc;

	if (c == NULL || n == NULL)
		return -1;
	if (wa_binary_marshal(n, &pt, &len) != 0)
		return -1;
	if (sim_log_debug) {
		char *s = wa_node_to_string(n, WA_NODE_PRINT_DEFAULT);
		wa_debug("sim: conn %lu >> %s", c->id, s ? s : "?");
		free(s);
	}
	/* the real server compresses some stanzas (flag 2, 1.6); --compress-min
	 * makes clients meet that path */
	if (c->srv->compress_min > 0 && len >= c->srv->compress_min &&
	    wa_binary_compress_frame(pt, len, &z, &zlen) == 0) {
		free(pt);
		pt = z;
		len = zlen;
	}
	rc = sim_conn_send_plain(c, pt, len);
	free(pt);
	return rc;
}

void sim_conn_close_after_flush(struct sim_conn *c)
{
	if (c == NULL)
		return;
	if (c->state < SIM_CONN_CLOSING)
		c->state = SIM_CONN_CLOSING;
	if (c->dev && c->dev->conn == c)
		c->dev->conn = NULL;
	c->dev = NULL;
	c->acc = NULL;
	if (c->wsi)
		sim_conn_wake(c);
}

void sim_conn_drop(struct sim_conn *c)
{
	if (c == NULL)
		return;
	c->kill = 1;
	c->state = SIM_CONN_CLOSING;
	if (c->dev && c->dev->conn == c)
		c->dev->conn = NULL;
	c->dev = NULL;
	c->acc = NULL;
	if (c->wsi)
		sim_conn_wake(c);
}

void sim_conn_stream_error(struct sim_conn *c, const char *code, const char *conflict_type)
{
	struct wa_node *n = wa_node_new("stream:error"), *ch;

	if (n != NULL && wa_node_set_attr(n, "code", code) == 0) {
		if (conflict_type != NULL) {
			ch = wa_node_add_new(n, "conflict");
			if (ch != NULL)
				(void)wa_node_set_attr(ch, "type", conflict_type);
		}
		/* a failure here only loses the reason; the close still happens */
		(void)sim_conn_send_node(c, n);
	}
	wa_node_free(n);
	sim_conn_close_after_flush(c);
}

void sim_conn_next_iq_id(struct sim_conn *c, char *buf, size_t cap)
{
	if (wa_iqid_format(c->iq_prefix, ++c->iq_counter, buf, cap) < 0 && cap > 0)
		buf[0] = '\0';
}

static int set_from_server(struct wa_node *n)
{
	struct wa_jid srv;

	wa_jid_server(&srv);
	return wa_node_set_attr_jid(n, "from", &srv);
}

int sim_conn_iq_result(struct sim_conn *c, const struct wa_node *iq, struct wa_node *child)
{
	struct wa_node *r = wa_node_new("iq");
	int rc = -1;

	if (r == NULL)
		return -1;
	if (wa_node_set_attr(r, "id", wa_node_attr(iq, "id")) || wa_node_set_attr(r, "type", "result") ||
	    set_from_server(r))
		goto out;
	if (child != NULL) {
		if (wa_node_add_child(r, child) != 0)
			goto out;
		rc = sim_conn_send_node(c, r);
		goto out;
	}
	rc = sim_conn_send_node(c, r);
out:
	wa_node_free(r);
	return rc;
}

int sim_conn_iq_error(struct sim_conn *c, const struct wa_node *iq, int code, const char *text)
{
	struct wa_node *r = wa_node_new("iq"), *e;
	int rc = -1;

	if (r == NULL)
		return -1;
	if (wa_node_set_attr(r, "id", wa_node_attr(iq, "id")) || wa_node_set_attr(r, "type", "error") ||
	    set_from_server(r))
		goto out;
	e = wa_node_add_new(r, "error");
	if (e == NULL || wa_node_set_attr_int(e, "code", code) || wa_node_set_attr(e, "text", text))
		goto out;
	rc = sim_conn_send_node(c, r);
out:
	wa_node_free(r);
	return rc;
}

/* <ib><NAME count=.../></ib> */
static int send_ib(struct sim_conn *c, struct wa_node *child)
{
	struct wa_node *ib = wa_node_new("ib");
	int rc = -1;

	if (ib == NULL || child == NULL) {
		wa_node_free(child);
		goto out;
	}
	if (wa_node_add_child(ib, child) != 0) {
		wa_node_free(child);
		goto out;
	}
	rc = sim_conn_send_node(c, ib);
out:
	wa_node_free(ib);
	return rc;
}

/* Offline queue (PROTOCOL.md 8.7): preview with counts per kind, the
 * queued stanzas (already marked offline), then <offline count=N/>. */
static int deliver_offline(struct sim_conn *c)
{
	struct sim_qnode *q = sim_device_queue_take(c->dev), *nq;
	long long n = 0, msg = 0, notif = 0, rcpt = 0, call = 0, appdata = 0;
	struct wa_node *pv, *done;
	int rc = 0;

	for (nq = q; nq; nq = nq->next) {
		struct wa_node *node = NULL;

		n++;
		if (wa_binary_unmarshal(nq->data, nq->len, NULL, &node) != 0)
			continue;
		if (strcmp(node->tag, "message") == 0)
			msg++;
		else if (strcmp(node->tag, "notification") == 0)
			notif++;
		else if (strcmp(node->tag, "receipt") == 0)
			rcpt++;
		else if (strcmp(node->tag, "call") == 0)
			call++;
		else if (strcmp(node->tag, "appdata") == 0)
			appdata++;
		wa_node_free(node);
	}
	if (n > 0) {
		pv = wa_node_new("offline_preview");
		if (pv == NULL || wa_node_set_attr_int(pv, "count", n) ||
		    wa_node_set_attr_int(pv, "message", msg) || wa_node_set_attr_int(pv, "notification", notif) ||
		    wa_node_set_attr_int(pv, "receipt", rcpt) || wa_node_set_attr_int(pv, "call", call) ||
		    wa_node_set_attr_int(pv, "appdata", appdata)) {
			wa_node_free(pv);
			rc = -1;
		} else if (send_ib(c, pv) != 0) {
			rc = -1;
		}
	}
	while (q) {
		nq = q->next;
		if (rc == 0 && sim_conn_send_plain(c, q->data, q->len) != 0)
			rc = -1;
		sim_qnode_free(q);
		q = nq;
	}
	done = wa_node_new("offline");
	if (done == NULL || wa_node_set_attr_int(done, "count", n)) {
		wa_node_free(done);
		return -1;
	}
	if (send_ib(c, done) != 0)
		rc = -1;
	return rc;
}

int sim_conn_login(struct sim_conn *c, struct sim_account *a, struct sim_device *d)
{
	struct wa_node *ok;
	struct wa_jid lid;
	struct sim_conn *old = d->conn;
	char masked[24];
	int rc = -1;

	if (old != NULL && old != c) {
		wa_info("sim: %s:%u connected again; old connection %lu replaced",
			sim_mask_number(a->number, masked, sizeof masked), d->id, old->id);
		sim_conn_stream_error(old, NULL, "replaced");
	}
	d->conn = c;
	c->dev = d;
	c->acc = a;
	snprintf(c->jid, sizeof c->jid, "%s:%u@s.whatsapp.net", a->number, d->id);
	ok = wa_node_new("success");
	if (ok == NULL || wa_jid_make(&lid, a->lid, WA_SERVER_LID) != 0)
		goto out;
	if (wa_node_set_attr_uint(ok, "t", sim_now(c->srv)) || wa_node_set_attr_jid(ok, "lid", &lid) ||
	    wa_node_set_attr(ok, "location", "sim") ||
	    wa_node_set_attr_uint(ok, "creation", d->paired_at))
		goto out;
	if (sim_conn_send_node(c, ok) != 0)
		goto out;
	rc = deliver_offline(c);
	wa_info("sim: conn %lu logged in as %s:%u", c->id, sim_mask_number(a->number, masked, sizeof masked),
		d->id);
out:
	wa_node_free(ok);
	return rc;
}

int sim_deliver(struct sim_server *s, struct sim_device *d, struct wa_node *n)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	int rc;

	(void)s;
	if (d == NULL || n == NULL)
		return -1;
	if (d->conn != NULL && d->conn->state == SIM_CONN_READY)
		return sim_conn_send_node(d->conn, n);
	if (wa_node_set_attr(n, "offline", "1") != 0 || wa_binary_marshal(n, &pt, &len) != 0)
		return -1;
	rc = sim_device_queue_push(d, pt, len);
	free(pt);
	return rc;
}

static int send_failure(struct sim_conn *c, const char *reason)
{
	struct wa_node *f = wa_node_new("failure");

	if (f != NULL && wa_node_set_attr(f, "reason", reason) == 0)
		(void)sim_conn_send_node(c, f); /* closing anyway */
	wa_node_free(f);
	sim_conn_close_after_flush(c);
	return 0;
}

/* ClientFinish done: registration or login (PROTOCOL.md 2.3 / 2.4, 13.3). */
int sim_conn_on_client_payload(struct sim_conn *c, const uint8_t *p, size_t len)
{
	struct sim_account *a;
	struct sim_device *d;

	if (wa_client_payload_parse(p, len, &c->info) != 0) {
		wa_info("sim: conn %lu: malformed ClientPayload", c->id);
		return send_failure(c, "400");
	}
	if (c->info.is_registration) {
		c->is_registration = 1;
		return sim_pair_send_refs(c);
	}
	a = sim_store_account_find_u64(c->srv->store, c->info.username);
	d = a ? sim_account_device(a, (uint16_t)c->info.device) : NULL;
	if (d == NULL || c->info.device == 0 || c->info.device > UINT16_MAX) {
		wa_info("sim: conn %lu: login of an unknown device", c->id);
		return send_failure(c, "401");
	}
	if (!wa_ct_equal(d->noise_pub, c->client_static, 32)) {
		wa_info("sim: conn %lu: login with a noise key that is not the paired one", c->id);
		return send_failure(c, "401");
	}
	return sim_conn_login(c, a, d);
}

static int on_frame(struct sim_conn *c, const uint8_t *p, size_t len)
{
	struct wa_buf out = WA_BUF_INIT, payload = WA_BUF_INIT;
	uint8_t *pt;
	int rc = -1, r;

	switch (c->state) {
	case SIM_CONN_HELLO:
		r = wa_noise_read_client_hello(&c->hs, p, len);
		if (r != WA_NOISE_OK) {
			wa_info("sim: conn %lu: bad ClientHello: %s", c->id, wa_noise_strerror(r));
			break;
		}
		r = wa_noise_write_server_hello(&c->hs, c->srv->keys.chain, c->srv->keys.chain_len, &out);
		if (r != WA_NOISE_OK || queue_frame(c, out.data, out.len) != 0)
			break;
		c->state = SIM_CONN_FINISH;
		rc = 0;
		break;
	case SIM_CONN_FINISH:
		r = wa_noise_read_client_finish(&c->hs, p, len, c->client_static, &payload);
		if (r != WA_NOISE_OK) {
			wa_info("sim: conn %lu: bad ClientFinish: %s", c->id, wa_noise_strerror(r));
			break;
		}
		if (wa_noise_split(&c->hs, &c->tr) != WA_NOISE_OK)
			break;
		c->state = SIM_CONN_READY;
		sim_conn_set_timeout(c, 0);
		rc = sim_conn_on_client_payload(c, payload.data, payload.len);
		break;
	case SIM_CONN_READY:
		if (len < 16)
			break;
		pt = malloc(len - 16 + 1);
		if (pt == NULL)
			break;
		if (wa_noise_decrypt(&c->tr.recv, p, len, pt) != WA_NOISE_OK) {
			wa_info("sim: conn %lu: frame does not decrypt", c->id);
			free(pt);
			break;
		}
		rc = sim_conn_on_plaintext(c, pt, len - 16);
		free(pt);
		break;
	default:
		rc = 0; /* closing: ignore the rest */
		break;
	}
	if (payload.data)
		memset(payload.data, 0, payload.len);
	wa_buf_free(&payload);
	wa_buf_free(&out);
	return rc;
}

int sim_conn_on_plaintext(struct sim_conn *c, const uint8_t *pt, size_t len)
{
	struct wa_node *n = NULL;
	int r, rc;

	r = wa_binary_unmarshal(pt, len, &client_limits, &n);
	if (r != WA_BIN_OK) {
		wa_info("sim: conn %lu: undecodable stanza: %s", c->id, wa_binary_strerror(r));
		return -1;
	}
	if (sim_log_debug) {
		char *s = wa_node_to_string(n, WA_NODE_PRINT_DEFAULT);
		wa_debug("sim: conn %lu << %s", c->id, s ? s : "?");
		free(s);
	}
	rc = sim_dispatch(c, n);
	wa_node_free(n);
	return rc;
}

int sim_conn_receive(struct sim_conn *c, const uint8_t *data, size_t len)
{
	while (len > 0) {
		const uint8_t *pl;
		size_t pn, used = 0;
		int r = wa_frame_parse(&c->fp, data, len, &used, &pl, &pn);

		data += used;
		len -= used;
		if (r < 0) {
			wa_info("sim: conn %lu: bad framing", c->id);
			return -1;
		}
		if (r == 0)
			break;
		if (c->state == SIM_CONN_CLOSING)
			continue;
		if (on_frame(c, pl, pn) != 0)
			return -1;
	}
	return 0;
}
