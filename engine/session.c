/* session: the table of owned sessions and each session's connection
 * lifecycle (session.h, session_int.h). */
#include "engine/cmd.h"
#include "engine/conn.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "engine/sess_chat.h"
#include "engine/session_int.h"
#include "engine/store/history.h"
#include "wa_config.h"
#include "wa_err.h"
#include "wa_log.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "wa/companion_reg.h"
#include "wa_util.h"

#define NBUCKETS 4096
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 60000

struct wa_sessions {
	struct wa_engine *e;
	struct wa_session *b[NBUCKETS];
	unsigned n;
	unsigned connected;
	unsigned opening;               /* connections opened and not yet through their handshake */
	struct wa_session *wait_head;   /* waiting for one of the SESS_OPENING_MAX places, FIFO */
	struct wa_session *wait_tail;
	lws_sorted_usec_list_t t_open;  /* a place came free: open the next waiting ones */
	int open_pending;               /* t_open scheduled */
	struct wa_conn_target target;   /* whatsapp.url + root key */
	int target_ok;
	long connect_timeout_ms;
	long qr_first_ms, qr_next_ms;   /* whatsapp.qr_first/next_timeout_ms */
	char device_name[41];
	struct wa_history_env hist_env; /* whatsapp.media_host / media_ca, read once */
	struct sess_limits limits;      /* limits.*, read once */
};

static struct wa_sessions *table_of(const struct wa_session *s)
{
	return s->e->sessions;
}

/* At most this many connections are being opened at once: after an engine
 * restart with 10,000 sessions, connecting them all at the same moment
 * overflowed the server's accept queue, kept the connects pending past
 * their deadline, and lws 4.1 crashed setting the kill timeout of such a
 * pending client wsi. The rest wait in a FIFO (not counted as failures)
 * and are opened as places come free. (They once polled every 50-300 ms
 * instead: 10,000 waiting timers kept the loop so busy re-sorting lws's
 * timer list that the 10,000 took 259 s to connect.) */
#define SESS_OPENING_MAX 128

static void wait_unlink(struct wa_session *s)
{
	struct wa_sessions *t = table_of(s);

	if (!s->open_waiting)
		return;
	if (s->wait_prev)
		s->wait_prev->wait_next = s->wait_next;
	else
		t->wait_head = s->wait_next;
	if (s->wait_next)
		s->wait_next->wait_prev = s->wait_prev;
	else
		t->wait_tail = s->wait_prev;
	s->wait_next = s->wait_prev = NULL;
	s->open_waiting = 0;
}

static void wait_push(struct wa_session *s)
{
	struct wa_sessions *t = table_of(s);

	if (s->open_waiting)
		return;
	s->wait_prev = t->wait_tail;
	s->wait_next = NULL;
	if (t->wait_tail)
		t->wait_tail->wait_next = s;
	else
		t->wait_head = s;
	t->wait_tail = s;
	s->open_waiting = 1;
}

static void on_place_free(lws_sorted_usec_list_t *sul);

static void opening_done(struct wa_session *s)
{
	struct wa_sessions *t = table_of(s);

	if (s->opening) {
		s->opening = 0;
		t->opening--;
		/* not from here: this runs inside the connection's callbacks */
		if (t->wait_head && !t->open_pending) {
			t->open_pending = 1;
			lws_sul_schedule(s->e->lws, 0, &t->t_open, on_place_free, 1);
		}
	}
}

static unsigned hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h % NBUCKETS;
}

struct wa_sessions *wa_sessions_new(struct wa_engine *e)
{
	struct wa_sessions *t = calloc(1, sizeof *t);
	const char *name;
	long serial = 0;
	char err[256];

	if (!t)
		return NULL;
	t->e = e;
	if (wa_conn_target_parse(&t->target, wa_config_get(e->cfg, "whatsapp.url"), err, sizeof err) != 0) {
		wa_error("whatsapp.url: %s: no session can connect", err);
	} else if (wa_config_get_int(e->cfg, "whatsapp.root_serial", 0, 0xffffffffL, &serial, err, sizeof err) < 0 ||
		   wa_cert_trust_from_hex(&t->target.trust, wa_config_get(e->cfg, "whatsapp.root_key"),
					  (uint32_t)serial) != 0) {
		wa_error("whatsapp.root_key / root_serial: not a 64-digit hex key and a serial: no session can connect");
	} else {
		t->target_ok = 1;
	}
	if (wa_config_get_int(e->cfg, "whatsapp.connect_timeout_ms", 1000, 120000, &t->connect_timeout_ms, err,
			      sizeof err) < 0) {
		wa_warn("%s; using 20000", err);
		t->connect_timeout_ms = 20000;
	}
	if (wa_config_get_int(e->cfg, "whatsapp.qr_first_timeout_ms", 1000, 600000, &t->qr_first_ms, err,
			      sizeof err) < 0) {
		wa_warn("%s; using 60000", err);
		t->qr_first_ms = 60000;
	}
	if (wa_config_get_int(e->cfg, "whatsapp.qr_next_timeout_ms", 1000, 600000, &t->qr_next_ms, err,
			      sizeof err) < 0) {
		wa_warn("%s; using 20000", err);
		t->qr_next_ms = 20000;
	}
	{
		static const struct { const char *key; long lo, hi, def; size_t off; } lk[] = {
			{ "limits.spam_max_count", 1, 100000, 100, offsetof(struct sess_limits, spam_max) },
			{ "limits.spam_min_delay_ms", 0, 600000, 250, offsetof(struct sess_limits, spam_min_delay_ms) },
			{ "limits.broadcast_delay_min_ms", 0, 3600000, 10000,
			  offsetof(struct sess_limits, broadcast_delay_min_ms) },
			{ "limits.broadcast_delay_max_ms", 0, 3600000, 20000,
			  offsetof(struct sess_limits, broadcast_delay_max_ms) },
			{ "autoreply.per_chat_per_minute", 0, 1000, 5,
			  offsetof(struct sess_limits, autoreply_per_chat_min) },
		};

		for (size_t i = 0; i < sizeof lk / sizeof lk[0]; i++) {
			long *v = (long *)((char *)&t->limits + lk[i].off);

			if (wa_config_get_int(e->cfg, lk[i].key, lk[i].lo, lk[i].hi, v, err, sizeof err) < 0) {
				wa_warn("%s; using %ld", err, lk[i].def);
				*v = lk[i].def;
			}
		}
		if (t->limits.broadcast_delay_max_ms < t->limits.broadcast_delay_min_ms)
			t->limits.broadcast_delay_max_ms = t->limits.broadcast_delay_min_ms;
	}
	name = wa_config_get(e->cfg, "whatsapp.device_name");
	snprintf(t->device_name, sizeof t->device_name, "%s", name && *name ? name : "WA-AKG");
	t->hist_env.media_host = wa_config_get(e->cfg, "whatsapp.media_host");
	t->hist_env.media_ca = wa_config_get(e->cfg, "whatsapp.media_ca");
	t->hist_env.timeout_ms = 30000;
	return t;
}

const struct wa_history_env *sess_history_env(const struct wa_session *s)
{
	return &table_of(s)->hist_env;
}

const struct sess_limits *sess_limits(const struct wa_session *s)
{
	return &table_of(s)->limits;
}

long sess_qr_timeout_ms(const struct wa_session *s, int first)
{
	return first ? table_of(s)->qr_first_ms : table_of(s)->qr_next_ms;
}

/* ---- references ---- */

static void cancel_timers(struct wa_session *s)
{
	lws_sul_cancel(&s->t_retry);
	lws_sul_cancel(&s->t_login);
	wa_wheel_cancel(&s->t_ka);
	lws_sul_cancel(&s->t_iq);
	lws_sul_cancel(&s->t_qr);
}

static void session_free(struct wa_session *s)
{
	cancel_timers(s);
	wait_unlink(s);
	opening_done(s);
	if (s->cr) {
		wa_creds_wipe(s->cr);
		free(s->cr);
	}
	pair_reset(s);
	send_caches_free(s);
	appstate_free(s);
	free(s);
}

void sess_ref(struct wa_session *s)
{
	s->refs++;
}

int sess_unref(struct wa_session *s)
{
	int live = !s->gone;

	if (--s->refs == 0)
		session_free(s);
	return live;
}

/* ---- table ---- */

void wa_sessions_free(struct wa_sessions *t)
{
	if (!t)
		return;
	wa_sessions_drop_all(t);
	lws_sul_cancel(&t->t_open);
	free(t);
}

struct wa_session *wa_sessions_find(struct wa_sessions *t, const char *id)
{
	for (struct wa_session *s = t->b[hash(id)]; s; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

unsigned wa_sessions_count(const struct wa_sessions *t)
{
	return t ? t->n : 0;
}

unsigned wa_sessions_connected(const struct wa_sessions *t)
{
	return t ? t->connected : 0;
}

uint64_t wa_session_row(const struct wa_session *s)
{
	return s->row_id;
}

const char *wa_session_status(const struct wa_session *s)
{
	return s->status;
}

int wa_session_is_connected(const struct wa_session *s)
{
	return s->phase == PH_READY;
}

static void start(struct wa_session *s);

static struct wa_session *take(struct wa_sessions *t, json_t *row)
{
	const char *id = json_string_value(json_object_get(row, "sessionId"));
	const char *st = json_string_value(json_object_get(row, "status"));
	struct wa_session *s;
	unsigned h;

	if (!id || strlen(id) >= WA_SESSION_ID_MAX)
		return NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->e = t->e;
	s->refs = 1;
	s->qr_index = -1;
	s->row_id = (uint64_t)json_integer_value(json_object_get(row, "id"));
	memcpy(s->id, id, strlen(id) + 1);
	snprintf(s->status, sizeof s->status, "%s", st ? st : WA_SST_STOPPED);
	s->owned_since_ms = wa_engine_now_ms();
	h = hash(id);
	s->next = t->b[h];
	t->b[h] = s;
	t->n++;
	wa_info("session %s: taken up by this engine (stored status %s)", s->id, s->status);
	start(s);
	return s;
}

static void unlink_session(struct wa_sessions *t, struct wa_session *s)
{
	struct wa_session **pp = &t->b[hash(s->id)];

	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = s->next;
		t->n--;
	}
}

static void close_conn(struct wa_session *s, enum sess_phase next);

/* Out of the table, connection closed, timers off; freed when the last
 * job completes. */
static void let_go(struct wa_sessions *t, struct wa_session *s)
{
	unlink_session(t, s);
	s->gone = 1;
	close_conn(s, PH_ENDED);
	cancel_timers(s);
	if (s->pair_cmd) {
		wa_cmd_reply_error(s->pair_cmd, 503, "The session stopped before a pairing code was given",
				   "session_stopped");
		s->pair_cmd = NULL;
	}
	if (s->logout_cmd) {
		wa_cmd_reply_error(s->logout_cmd, 503, "The session stopped during the logout", "session_stopped");
		s->logout_cmd = NULL;
	}
	sess_unref(s);
}

void wa_sessions_reconcile(struct wa_sessions *t, json_t *rows, uint64_t since_ms)
{
	size_t i;
	json_t *row;

	for (unsigned b = 0; b < NBUCKETS; b++)
		for (struct wa_session *s = t->b[b]; s; s = s->next)
			s->seen = 0;
	json_array_foreach(rows, i, row) {
		const char *id = json_string_value(json_object_get(row, "sessionId"));
		struct wa_session *s = id ? wa_sessions_find(t, id) : NULL;

		/* ended here (logged out, stopped), the release stored before
		 * these rows were read, and ours again: its user started it
		 * again before a heartbeat let the old one go */
		if (s && s->phase == PH_ENDED && s->released_ms && s->released_ms < since_ms) {
			let_go(t, s);
			s = NULL;
		}
		if (!s)
			s = take(t, row);
		if (s)
			s->seen = 1;
	}
	for (unsigned b = 0; b < NBUCKETS; b++) {
		for (struct wa_session *s = t->b[b], *next; s; s = next) {
			next = s->next;
			if (s->seen)
				continue;
			wa_info("session %s: no longer owned by this engine; let go", s->id);
			let_go(t, s);
		}
	}
}

void wa_sessions_drop(struct wa_sessions *t, const char *id)
{
	struct wa_session *s = wa_sessions_find(t, id);

	if (!s)
		return;
	wa_info("session %s: stopped", s->id);
	let_go(t, s);
}

void wa_sessions_drop_all(struct wa_sessions *t)
{
	for (unsigned b = 0; b < NBUCKETS; b++)
		while (t->b[b])
			let_go(t, t->b[b]);
}

/* ---- status ---- */

void sess_set_status(struct wa_session *s, const char *status, const char *reason)
{
	struct sess_status st = { .status = status, .reason = reason };

	if (strcmp(status, WA_SST_QR) == 0)
		st.qr = s->qr[0] ? s->qr : NULL;
	st.pairing_code = s->pairing_code[0] ? s->pairing_code : NULL;
	db_write_status(s, &st);
}

void sess_end(struct wa_session *s, const char *status, const char *reason, int logged_out)
{
	sess_end_reply(s, status, reason, logged_out, NULL);
}

void sess_end_reply(struct wa_session *s, const char *status, const char *reason, int logged_out,
		    struct wa_cmd *cmd)
{
	struct sess_status st = { .status = status, .reason = reason, .logged_out = logged_out, .stop = 1,
				  .cmd = cmd };

	wa_info("session %s: %s%s%s", s->id, status, reason ? ": " : "", reason ? reason : "");
	close_conn(s, PH_ENDED);
	cancel_timers(s);
	pair_reset(s);
	db_write_status(s, &st);
	/* The row no longer asks for an engine (auto_start 0): the next
	 * registry tick lists it no more and it is let go then. */
	wa_registry_kick(s->e->reg);
}

/* ---- the connection ---- */

static int send_fn(void *conn, const struct wa_node *n)
{
	return wa_conn_send(conn, n);
}

int sess_send(struct wa_session *s, const struct wa_node *n)
{
	return s->conn ? wa_conn_send(s->conn, n) : WA_ESTATE;
}

static void on_iq_timer(lws_sorted_usec_list_t *sul)
{
	struct wa_session *s = lws_container_of(sul, struct wa_session, t_iq);
	uint64_t now = wa_engine_now_ms();
	uint64_t next;

	sess_ref(s);
	next = wa_iqs_expire(&s->iqs, now);
	if (next && !s->gone)
		lws_sul_schedule(s->e->lws, 0, &s->t_iq, on_iq_timer, (lws_usec_t)(next - now) * LWS_US_PER_MS);
	sess_unref(s);
}

int sess_iq(struct wa_session *s, struct wa_node *iq, int timeout_ms, wa_iq_fn fn)
{
	return sess_iq_ctx(s, iq, timeout_ms, fn, s);
}

int sess_iq_ctx(struct wa_session *s, struct wa_node *iq, int timeout_ms, wa_iq_fn fn, void *ctx)
{
	int rc;

	if (!s->conn)
		return WA_ESTATE;
	rc = wa_iqs_send(&s->iqs, send_fn, s->conn, iq, timeout_ms, fn, ctx, wa_engine_now_ms());
	if (rc == 0 && fn) {
		lws_usec_t us = (lws_usec_t)(timeout_ms > 0 ? timeout_ms : WA_IQ_TIMEOUT_MS) * LWS_US_PER_MS;

		/* keep the earliest deadline armed */
		if (!lws_dll2_is_detached(&s->t_iq.list)) {
			if (s->t_iq.us > lws_now_usecs() + us)
				lws_sul_schedule(s->e->lws, 0, &s->t_iq, on_iq_timer, us);
		} else {
			lws_sul_schedule(s->e->lws, 0, &s->t_iq, on_iq_timer, us);
		}
	}
	return rc;
}

void sess_ack(struct wa_session *s, const struct wa_node *n)
{
	struct wa_node *ack = wa_node_new_attrs("ack", "id", wa_node_attr(n, "id"), "class", n->tag, NULL);
	const char *from = wa_node_attr(n, "from"), *type = wa_node_attr(n, "type");

	if (!ack)
		return;
	if (from)
		wa_node_set_attr(ack, "to", from);
	/* §8.3: participant and recipient are copied */
	wa_node_set_attr(ack, "participant", wa_node_attr(n, "participant"));
	wa_node_set_attr(ack, "recipient", wa_node_attr(n, "recipient"));
	if (type && strcmp(n->tag, "message") != 0)
		wa_node_set_attr(ack, "type", type);
	(void)sess_send(s, ack);
	wa_node_free(ack);
}

/* Close the connection (if any) and enter phase `next` before anything
 * that waited on the connection is told (IQ waiters see the new phase). */
static void close_conn(struct wa_session *s, enum sess_phase next)
{
	if (s->conn) {
		wa_conn_close(s->conn);
		s->conn = NULL;
		if (s->phase == PH_READY)
			table_of(s)->connected--;
	}
	opening_done(s);
	s->phase = next;
	lws_sul_cancel(&s->t_login);
	wa_wheel_cancel(&s->t_ka);
	lws_sul_cancel(&s->t_qr);
	lws_sul_cancel(&s->t_iq);
	wa_iqs_fail_all(&s->iqs, WA_ECLOSED);
	send_fail_all(s);
	appstate_on_close(s);
}

static void connect_now(struct wa_session *s);

static void start(struct wa_session *s);

static void on_retry(lws_sorted_usec_list_t *sul)
{
	struct wa_session *s = lws_container_of(sul, struct wa_session, t_retry);

	if (s->cr)
		connect_now(s);
	else
		start(s);
}

/* Places came free: open waiting sessions, oldest first, while there are. */
static void on_place_free(lws_sorted_usec_list_t *sul)
{
	struct wa_sessions *t = lws_container_of(sul, struct wa_sessions, t_open);

	t->open_pending = 0;
	while (t->wait_head && t->opening < SESS_OPENING_MAX) {
		struct wa_session *s = t->wait_head;

		wait_unlink(s);
		if (s->gone || s->phase != PH_WAITING)
			continue;
		if (s->cr)
			connect_now(s);
		else
			start(s);
	}
}

/* Wait before the next attempt: 1 s doubling to 60 s, each +-25 %. */
static void schedule_retry(struct wa_session *s)
{
	uint64_t ms = BACKOFF_FIRST_MS;
	uint8_t r[2];
	int64_t jitter;

	for (unsigned i = 1; i < s->failures && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	if (wa_random(r, sizeof r) == 0) {
		jitter = ((int64_t)((r[0] << 8) | r[1]) - 32768) * (int64_t)ms / 131072; /* +-25 % */
		ms = (uint64_t)((int64_t)ms + jitter);
	}
	s->phase = PH_WAITING;
	wa_info("session %s: next connection attempt in %llu ms (attempt %u)", s->id, (unsigned long long)ms,
		s->failures + 1);
	lws_sul_schedule(s->e->lws, 0, &s->t_retry, on_retry, (lws_usec_t)ms * LWS_US_PER_MS);
}

void sess_disconnect(struct wa_session *s, const char *why)
{
	int was_ready = s->phase == PH_READY;

	if (s->phase == PH_ENDED || s->gone)
		return;
	snprintf(s->last_error, sizeof s->last_error, "%s", why);
	close_conn(s, PH_CONNECTING);
	pair_reset(s);
	if (s->restart_now) {
		s->restart_now = 0;
		wa_info("session %s: reconnecting (%s)", s->id, why);
		connect_now(s);
		return;
	}
	s->failures++;
	wa_warn("session %s: disconnected: %s", s->id, why);
	if (was_ready || strcmp(s->status, WA_SST_CONNECTING) != 0)
		sess_set_status(s, WA_SST_CONNECTING, why);
	schedule_retry(s);
}

static void on_open(void *ud)
{
	struct wa_session *s = ud;

	opening_done(s);
	s->phase = s->cr->paired ? PH_LOGGING_IN : PH_REGISTERING;
	wa_debug("session %s: handshake done, waiting for the server's answer to the %s", s->id,
		 s->cr->paired ? "login" : "registration");
}

static void on_close(void *ud, int err, const char *why)
{
	struct wa_session *s = ud;
	char msg[200];

	s->conn = NULL; /* the conn is gone after this callback */
	opening_done(s);
	if (s->phase == PH_READY)
		table_of(s)->connected--;
	snprintf(msg, sizeof msg, "%s (%s)", why, wa_strerror(err));
	sess_disconnect(s, msg);
}

/* <failure reason=...> answering the login (docs/protocol.md §12.2). */
static void on_failure(struct wa_session *s, const struct wa_node *n)
{
	long long reason = 0;
	char why[96];

	wa_node_attr_int(n, "reason", &reason);
	snprintf(why, sizeof why, "the server refused the login (reason %lld)", reason);
	switch (reason) {
	case 401: case 403: case 406:
		sess_end(s, WA_SST_LOGGED_OUT, "logged out from the phone (the device was unlinked)", 1);
		return;
	case 500: case 503: case 413: case 414:
		sess_disconnect(s, why);
		return;
	default:
		sess_end(s, WA_SST_FAILED, why, 0);
		return;
	}
}

/* <stream:error> (§12.3). */
static void on_stream_error(struct wa_session *s, const struct wa_node *n)
{
	const struct wa_node *conflict = wa_node_child(n, "conflict");
	const char *code = wa_node_attr(n, "code");
	char why[96];

	if (code && strcmp(code, "515") == 0) {
		s->restart_now = 1;
		sess_disconnect(s, "restart required by the server (515)");
		return;
	}
	if (conflict && wa_node_attr_is(conflict, "type", "device_removed")) {
		sess_end(s, WA_SST_LOGGED_OUT, "logged out from the phone (the device was removed)", 1);
		return;
	}
	if (conflict && wa_node_attr_is(conflict, "type", "replaced")) {
		sess_end(s, WA_SST_STOPPED, "another connection of this device took over (replaced)", 0);
		return;
	}
	snprintf(why, sizeof why, "stream error %s", code ? code : "(no code)");
	sess_disconnect(s, why);
}

/* A server IQ that wants an answer we can give without a module. */
static int on_server_iq(struct wa_session *s, const struct wa_node *n)
{
	if (wa_node_attr_is(n, "xmlns", "urn:xmpp:ping")) {
		struct wa_node *r = wa_node_new_attrs("iq", "id", wa_node_attr(n, "id"), "type", "result", "to",
						      wa_node_attr_or(n, "from", "s.whatsapp.net"), NULL);

		if (r)
			(void)sess_send(s, r);
		wa_node_free(r);
		return 1;
	}
	return 0;
}

static int on_node(void *ud, struct wa_node *n)
{
	struct wa_session *s = ud;
	int rc = 0;

	sess_ref(s);
	if (wa_iqs_match(&s->iqs, n)) {
		/* answered a waiter; with none left, take the IQ timer off lws's
		 * sorted timer list now rather than at its deadline, so that the
		 * list stays short (each lws_sul_schedule walks it) */
		if (s->iqs.n == 0)
			lws_sul_cancel(&s->t_iq);
	} else if ((rc = pair_on_node(s, n)) != 0) {
		rc = rc < 0 ? rc : 0;
	} else if (login_on_node(s, n)) {
		/* handled */
	} else if (strcmp(n->tag, "success") == 0) {
		lws_sul_cancel(&s->t_login);
		login_on_success(s, n);
	} else if (strcmp(n->tag, "failure") == 0) {
		on_failure(s, n);
	} else if (strcmp(n->tag, "stream:error") == 0) {
		on_stream_error(s, n);
	} else if (strcmp(n->tag, "xmlstreamend") == 0) {
		sess_disconnect(s, "the server ended the stream");
	} else if (strcmp(n->tag, "iq") == 0 && on_server_iq(s, n)) {
		/* answered */
	} else if (strcmp(n->tag, "ack") == 0 && send_on_ack(s, n)) {
		/* one of our messages is on the server */
	} else if (strcmp(n->tag, "message") == 0 && s->phase == PH_READY) {
		recv_message(s, n);
		n = NULL; /* the job has it */
	} else if (strcmp(n->tag, "receipt") == 0 && s->phase == PH_READY) {
		recv_receipt(s, n);
		n = NULL;
	} else if (s->phase == PH_READY && call_on_node(s, n)) {
		/* stored (an offer) and acked */
	} else if (s->phase == PH_READY && notify_on_node(s, n)) {
		/* handled where we can, and acked */
	} else {
		/* Messages and receipts are not acknowledged until a module
		 * has stored what they carry (the durability rule): the server
		 * offers them again on the next login. */
		wa_debug("session %s: <%s type=%s> not handled yet", s->id, n->tag, wa_node_attr_or(n, "type", ""));
	}
	wa_node_free(n);
	sess_unref(s);
	return 0;
}

static const struct wa_conn_cbs conn_cbs = { on_open, on_node, on_close };

static void on_login_deadline(lws_sorted_usec_list_t *sul)
{
	struct wa_session *s = lws_container_of(sul, struct wa_session, t_login);

	sess_disconnect(s, s->cr && s->cr->paired ? "no answer to the login in time" :
			   "no pairing offer from the server in time");
}

/* The ClientPayload for this attempt (docs/protocol.md §2.3, §2.4). */
static int build_payload(struct wa_session *s, struct wa_buf *out)
{
	struct wa_client_info ci;
	struct wa_reg_keys k;

	memset(&ci, 0, sizeof ci);
	ci.os = table_of(s)->device_name;
	ci.platform_type = WA_PLATFORM_DESKTOP;
	if (s->cr->paired) {
		char *end;
		unsigned long long user = strtoull(s->cr->phone, &end, 10);

		return *end || !s->cr->phone[0] ? WA_EPROTO :
		       wa_client_payload_login(&ci, user, s->cr->device, out) ? WA_ENOMEM : 0;
	}
	memset(&k, 0, sizeof k);
	k.registration_id = s->cr->registration_id;
	memcpy(k.identity_pub, s->cr->identity_pub, 32);
	k.signed_prekey_id = s->cr->signed_prekey_id;
	memcpy(k.signed_prekey_pub, s->cr->signed_prekey_pub, 32);
	memcpy(k.signed_prekey_sig, s->cr->signed_prekey_sig, 64);
	return wa_client_payload_registration(&ci, &k, out) ? WA_ENOMEM : 0;
}

static void connect_now(struct wa_session *s)
{
	struct wa_sessions *t = table_of(s);
	struct wa_buf payload = WA_BUF_INIT;
	struct wa_conn_params p;
	int rc;

	if (s->gone || s->phase == PH_ENDED)
		return;
	if (!t->target_ok) {
		sess_end(s, WA_SST_FAILED, "the engine's whatsapp.url or root_key is not usable", 0);
		return;
	}
	if (t->opening >= SESS_OPENING_MAX) {
		s->phase = PH_WAITING;
		wait_push(s);
		return;
	}
	wait_unlink(s);
	rc = build_payload(s, &payload);
	if (rc == WA_EPROTO) {
		wa_buf_free(&payload);
		sess_end(s, WA_SST_FAILED, "stored credentials are damaged (no phone number)", 0);
		return;
	}
	memset(&p, 0, sizeof p);
	p.target = &t->target;
	p.noise_priv = s->cr->noise_priv;
	p.noise_pub = s->cr->noise_pub;
	p.payload = payload.data;
	p.payload_len = payload.len;
	p.connect_timeout_ms = (int)t->connect_timeout_ms;
	wa_iqs_init(&s->iqs);
	s->conn = rc == 0 ? wa_conn_open(s->e, &p, &conn_cbs, s) : NULL;
	wa_buf_free(&payload);
	if (!s->conn) {
		s->failures++;
		snprintf(s->last_error, sizeof s->last_error, "cannot start a connection to %s", t->target.host);
		wa_warn("session %s: %s", s->id, s->last_error);
		schedule_retry(s);
		return;
	}
	s->phase = PH_CONNECTING;
	s->opening = 1;
	t->opening++;
	lws_sul_schedule(s->e->lws, 0, &s->t_login, on_login_deadline,
			 (lws_usec_t)t->connect_timeout_ms * LWS_US_PER_MS);
	wa_info("session %s: connecting to %s:%d (%s)", s->id, t->target.host, t->target.port,
		s->cr->paired ? "login" : "registration, for pairing");
	if (strcmp(s->status, WA_SST_CONNECTING) != 0 && strcmp(s->status, WA_SST_QR) != 0)
		sess_set_status(s, WA_SST_CONNECTING, NULL);
}

void sess_creds_loaded(struct wa_session *s, struct wa_creds *cr, int rc)
{
	if (rc != 0) {
		s->failures++;
		snprintf(s->last_error, sizeof s->last_error, "cannot load the device credentials: %s",
			 wa_strerror(rc));
		wa_error("session %s: %s", s->id, s->last_error);
		if (rc == WA_EPROTO) {
			sess_end(s, WA_SST_FAILED, "stored device credentials are damaged", 0);
			return;
		}
		s->phase = PH_LOADING;
		lws_sul_schedule(s->e->lws, 0, &s->t_retry, on_retry, 5 * LWS_US_PER_SEC);
		return;
	}
	s->cr = cr;
	connect_now(s);
}

/* Taken up: load the credentials first (on_retry calls connect_now, which
 * reloads when they are missing). */
static void start(struct wa_session *s)
{
	s->phase = PH_LOADING;
	db_load_creds(s);
}

void wa_session_restart(struct wa_session *s)
{
	if (s->phase == PH_ENDED || s->phase == PH_LOADING || !s->cr)
		return;
	lws_sul_cancel(&s->t_retry);
	s->failures = 0;
	s->restart_now = 1;
	if (s->conn)
		sess_disconnect(s, "restart requested");
	else {
		s->restart_now = 0;
		connect_now(s);
	}
}

void sess_mark_ready(struct wa_session *s)
{
	s->phase = PH_READY;
	s->failures = 0;
	s->last_error[0] = '\0';
	s->connected_ms = wa_engine_now_ms();
	table_of(s)->connected++;
	chat_login_presence(s);
}

/* ---- logout (§12.3: the server then forgets the device) ---- */

static void logout_done(void *ctx, const struct wa_node *reply, int err)
{
	struct wa_session *s = ctx;
	struct wa_cmd *cmd = s->logout_cmd;

	s->logout_cmd = NULL;
	if (err && err != WA_ECLOSED)
		wa_warn("session %s: the server did not confirm the logout (%s); forgetting the device anyway", s->id,
			wa_strerror(err));
	else if (reply && !wa_node_attr_is(reply, "type", "result"))
		wa_warn("session %s: the server refused remove-companion-device; forgetting the device anyway", s->id);
	if (s->phase != PH_ENDED)
		sess_end_reply(s, WA_SST_LOGGED_OUT, "logged out through the API", 1, cmd);
	else if (cmd)
		wa_cmd_reply(cmd, 200, json_pack("{s:s,s:s}", "sessionId", s->id, "status", s->status));
}

void wa_session_logout(struct wa_session *s, struct wa_cmd *cmd)
{
	struct wa_node *iq, *rm;
	char me[64];

	if (s->logout_cmd) {
		wa_cmd_reply_error(cmd, 409, "A logout of this session is already in progress", "conflict");
		return;
	}
	if (s->phase != PH_READY) {
		sess_end_reply(s, WA_SST_LOGGED_OUT, "logged out through the API", 1, cmd);
		return;
	}
	snprintf(me, sizeof me, "%s:%u@s.whatsapp.net", s->cr->phone, s->cr->device);
	iq = wa_node_new_attrs("iq", "type", "set", "xmlns", "md", NULL);
	rm = iq ? wa_node_add_new(iq, "remove-companion-device") : NULL;
	s->logout_cmd = cmd;
	if (!rm || wa_node_set_attr(rm, "jid", me) || wa_node_set_attr(rm, "reason", "user_initiated") ||
	    sess_iq(s, iq, 5000, logout_done) != 0) {
		s->logout_cmd = NULL;
		sess_end_reply(s, WA_SST_LOGGED_OUT, "logged out through the API", 1, cmd);
	}
	wa_node_free(iq);
}

void wa_session_stop(struct wa_session *s, struct wa_cmd *cmd)
{
	if (s->logout_cmd) {
		wa_cmd_reply_error(s->logout_cmd, 409, "The session was stopped during the logout", "conflict");
		s->logout_cmd = NULL;
	}
	sess_end_reply(s, WA_SST_STOPPED, "stopped through the API", 0, cmd);
}
