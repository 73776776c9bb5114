/* engine_client: nng REQ commands to the engine (see engine_client.h). */
#include "fcgi/engine_client.h"
#include "fcgi/app.h"
#include "fcgi/db.h"
#include "wa_log.h"
#include "wa_ipc.pb-c.h"

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <stdatomic.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdlib.h>
#include <string.h>

/* How long a command may wait for an engine to accept it. */
#define SEND_TIMEOUT_MS 1500
#define URL_MAX 256
/* How long (5 ms steps) a command waits for a connection to the engine. */
#define PIPE_WAIT_STEPS 50

/* One REQ socket per engine address, per thread. */
struct engine_sock {
	char url[URL_MAX];
	nng_socket sock;
	int open;
	uint64_t used;           /* LRU stamp */
	/* Connected pipes, updated from nng's threads. With none, a command
	 * fails at once with 503 instead of waiting out a timeout. Heap, not
	 * in this array: nng may call pipe_event after the socket closed. */
	struct pipe_count *pipes;
};

/* The pipes of the socket currently in a slot. Events of a socket that
 * was closed (nng may deliver its removals after nng_close returned) carry
 * another socket id and are ignored, so they cannot push the count of the
 * slot's next socket below its true value. */
struct pipe_count {
	_Atomic int n;
	_Atomic int sock_id;     /* 0 while no socket is current */
};

/* Where a session's commands went lately. */
struct route {
	uint64_t sess;
	char url[URL_MAX];
	uint64_t until_ms;
};

#define ROUTES 64

static __thread struct engine_sock socks[WA_ENGINE_SOCKETS];
static __thread struct route routes[ROUTES];
static __thread uint64_t lru_clock;

static uint64_t mono_ms(void)
{
	return (uint64_t)(nng_clock());
}

static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct pipe_count *pc = arg;

	if (nng_socket_id(nng_pipe_socket(p)) != pc->sock_id)
		return;
	if (ev == NNG_PIPE_EV_ADD_POST)
		pc->n++;
	else if (ev == NNG_PIPE_EV_REM_POST)
		pc->n--;
}

static void sock_close(struct engine_sock *es)
{
	if (es->pipes)
		es->pipes->sock_id = 0;
	if (es->open) {
		nng_close(es->sock);
		es->open = 0;
	}
	es->url[0] = '\0';
}

/* This thread's socket for url, dialled on first use. */
static struct engine_sock *sock_for(struct wa_req *r, const char *url)
{
	struct engine_sock *es = NULL, *oldest = &socks[0];
	int rv;

	for (unsigned i = 0; i < WA_ENGINE_SOCKETS; i++) {
		if (socks[i].open && strcmp(socks[i].url, url) == 0) {
			socks[i].used = ++lru_clock;
			return &socks[i];
		}
		if (!socks[i].open && !es)
			es = &socks[i];
		if (socks[i].used < oldest->used)
			oldest = &socks[i];
	}
	if (!es) {
		sock_close(oldest);
		es = oldest;
	}
	if (strlen(url) >= sizeof es->url)
		return NULL;
	if (!es->pipes) {
		/* lives as long as the thread; nng may still call pipe_event late */
		es->pipes = calloc(1, sizeof *es->pipes);
		if (!es->pipes)
			return NULL;
	}
	es->pipes->sock_id = 0;
	es->pipes->n = 0;
	if ((rv = nng_req0_open(&es->sock)) != 0) {
		wa_error("nng_req0_open: %s", nng_strerror(rv));
		return NULL;
	}
	es->pipes->sock_id = nng_socket_id(es->sock);
	nng_pipe_notify(es->sock, NNG_PIPE_EV_ADD_POST, pipe_event, (void *)es->pipes);
	nng_pipe_notify(es->sock, NNG_PIPE_EV_REM_POST, pipe_event, (void *)es->pipes);
	nng_socket_set_ms(es->sock, NNG_OPT_SENDTIMEO, SEND_TIMEOUT_MS);
	nng_socket_set_ms(es->sock, NNG_OPT_RECVTIMEO, r->app->engine_timeout_ms);
	/* never resend a command by itself: a retry could send a message twice */
	nng_socket_set_ms(es->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if ((rv = nng_dial(es->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		wa_error("nng_dial %s: %s", url, nng_strerror(rv));
		nng_close(es->sock);
		return NULL;
	}
	memcpy(es->url, url, strlen(url) + 1);
	es->open = 1;
	es->used = ++lru_clock;
	return es;
}

void wa_engine_client_close(void)
{
	for (unsigned i = 0; i < WA_ENGINE_SOCKETS; i++)
		sock_close(&socks[i]);
	memset(routes, 0, sizeof routes);
}

static const char SQL_OWNER[] =
	"SELECT e.command_url AS url FROM wa_sessions s JOIN engines e ON e.id = s.engine_id "
	"WHERE s.id = ? AND e.lease_until > NOW(3) AND e.heartbeat_at > NOW(3) - INTERVAL ? MICROSECOND";
static const char SQL_ANY[] =
	"SELECT e.command_url AS url FROM engines e WHERE e.heartbeat_at > NOW(3) - INTERVAL ? MICROSECOND "
	"ORDER BY (SELECT COUNT(*) FROM wa_sessions s WHERE s.engine_id = e.id), e.id LIMIT 1";

static void forget_route(uint64_t sess)
{
	struct route *rt = &routes[sess % ROUTES];

	if (rt->sess == sess)
		rt->until_ms = 0;
}

/* The command address for the request's session, "" when no engine is
 * alive. 0, or -1 on a database error. */
static int route_for(struct wa_req *r, char url[URL_MAX])
{
	uint64_t sess = r->sess.id, now = mono_ms();
	struct route *rt = &routes[sess % ROUTES];
	long long lease_us = (long long)r->app->engine_lease_ms * 1000;
	json_t *row;
	int dberr = 0;
	const char *u;

	if (sess && rt->sess == sess && rt->until_ms > now) {
		memcpy(url, rt->url, URL_MAX);
		return 0;
	}
	row = sess ? wa_db_row(r->db, &dberr, SQL_OWNER, "ui", (unsigned long long)sess, lease_us) : NULL;
	if (!row && !dberr)
		row = wa_db_row(r->db, &dberr, SQL_ANY, "i", lease_us);
	if (dberr)
		return -1;
	u = row ? json_string_value(json_object_get(row, "url")) : NULL;
	snprintf(url, URL_MAX, "%s", u ? u : "");
	json_decref(row);
	if (sess && url[0]) {
		rt->sess = sess;
		memcpy(rt->url, url, URL_MAX);
		rt->until_ms = now + WA_ENGINE_ROUTE_TTL_MS;
	}
	return 0;
}

/* Whether es has a connection to its engine, waiting up to
 * PIPE_WAIT_STEPS * 5 ms for one. */
static int has_pipe(const struct engine_sock *es)
{
	for (int i = 0; i < PIPE_WAIT_STEPS && es->pipes->n <= 0; i++)
		nng_msleep(5);
	return es->pipes->n > 0;
}

/* One command to the engine at url. */
static int call_at(struct wa_req *r, const char *url, const char *op, const char *json, int tmo, json_t **body)
{
	Waipc__Command cmd = WAIPC__COMMAND__INIT;
	Waipc__Reply *rep;
	struct engine_sock *es = sock_for(r, url);
	uint8_t *buf, *in = NULL;
	size_t len, inlen = 0;
	int rv, status;

	if (!es)
		return 503;
	/* A fresh socket, or one whose engine just restarted, gets its pipe
	 * within nng's reconnect interval (100 ms): wait that long. A socket
	 * still without one then is replaced once (its dialer may be stuck
	 * in a back-off from the engine's restart), and waited for again. */
	if (!has_pipe(es)) {
		sock_close(es);
		if (!(es = sock_for(r, url)) || !has_pipe(es))
			return 503;
	}
	cmd.request_id = r->rid;
	cmd.session_id = r->sess.slug;
	cmd.op = (char *)op;
	cmd.has_body = 1;
	cmd.body.data = (uint8_t *)json;
	cmd.body.len = strlen(json);
	cmd.has_deadline_ms = 1;
	cmd.deadline_ms = (uint32_t)tmo;
	nng_socket_set_ms(es->sock, NNG_OPT_RECVTIMEO, tmo);
	cmd.has_user_id = 1;
	cmd.user_id = r->user.id;
	len = waipc__command__get_packed_size(&cmd);
	buf = malloc(len ? len : 1);
	if (!buf)
		return 500;
	waipc__command__pack(&cmd, buf);
	rv = nng_send(es->sock, buf, len, 0);
	free(buf);
	if (rv != 0) {
		wa_warn("engine command %s not sent to %s: %s", op, url, nng_strerror(rv));
		/* the socket may be wedged on a dead pipe: start over next time */
		sock_close(es);
		return 503;
	}
	rv = nng_recv(es->sock, &in, &inlen, NNG_FLAG_ALLOC);
	if (rv != 0) {
		wa_warn("engine command %s: no reply from %s: %s", op, url, nng_strerror(rv));
		sock_close(es);
		return rv == NNG_ETIMEDOUT ? 504 : 503;
	}
	rep = waipc__reply__unpack(NULL, inlen, in);
	nng_free(in, inlen);
	if (!rep) {
		wa_error("engine command %s: malformed reply", op);
		return 502;
	}
	status = (int)rep->status;
	if (rep->has_body && rep->body.len)
		*body = json_loadb((const char *)rep->body.data, rep->body.len, 0, NULL);
	waipc__reply__free_unpacked(rep, NULL);
	return status;
}

static int is_not_owner(json_t *body)
{
	const char *e = json_string_value(json_object_get(body, "error"));

	return e && strcmp(e, "not_owner") == 0;
}

/* A command that uploads a file before its message goes: the media
 * routes, and /send or /reply with a media part. */
static int sends_media(const char *op, const json_t *args)
{
	static const char *const keys[] = { "image", "video", "audio", "document", "sticker" };
	const json_t *msg = json_object_get(args, "message");

	if (strcmp(op, "message.media") == 0 || strcmp(op, "message.sticker") == 0)
		return 1;
	for (size_t i = 0; json_is_object(msg) && i < sizeof keys / sizeof keys[0]; i++)
		if (json_object_get(msg, keys[i]))
			return 1;
	return 0;
}

int wa_engine_call(struct wa_req *r, const char *op, json_t *args, json_t **body)
{
	char url[URL_MAX], *json;
	int status = 503, tmo = sends_media(op, args) ? r->app->media_timeout_ms : r->app->engine_timeout_ms;

	*body = NULL;
	json = json_dumps(args ? args : json_object(), JSON_COMPACT);
	if (!json)
		return 500;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (route_for(r, url) < 0) {
			status = 503;
			break;
		}
		if (!url[0]) {
			status = 503; /* no engine is alive */
			break;
		}
		status = call_at(r, url, op, json, tmo, body);
		/* the session moved (or the cache was stale): the engine did
		 * nothing, so asking the new owner once more is safe */
		if (status == 503 && is_not_owner(*body) && attempt == 0 && r->sess.id) {
			forget_route(r->sess.id);
			json_decref(*body);
			*body = NULL;
			continue;
		}
		if (status == 503 || status == 504)
			forget_route(r->sess.id);
		break;
	}
	free(json);
	return status;
}

int wa_engine_forward(struct wa_req *r, const char *op, json_t *args)
{
	json_t *body = NULL;
	int status = wa_engine_call(r, op, args, &body);

	if (status >= 200 && status < 300)
		return wa_reply_json(r, status, body);
	return wa_reply_engine_error(r, status, body);
}

int wa_reply_engine_error(struct wa_req *r, int status, json_t *body)
{
	const char *msg, *code;

	code = body ? json_string_value(json_object_get(body, "error")) : NULL;
	/* "not_owner" is the engines' routing word: to a client the session is
	 * simply not ready (docs/errors.md) */
	if (code && strcmp(code, "not_owner") == 0)
		code = "session_not_ready";
	msg = body ? json_string_value(json_object_get(body, "message")) : NULL;
	if (status == 503 && !msg)
		msg = WA_MSG_NOT_READY;
	else if (status == 504 && !msg)
		msg = "The WhatsApp engine did not answer in time";
	else if (!msg)
		msg = "WhatsApp operation failed";
	wa_reply_error(r, status, msg, code);
	json_decref(body);
	return -1;
}
