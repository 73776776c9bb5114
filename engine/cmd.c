/* cmd: nng REP served by aio contexts, handlers on the loop (see cmd.h). */
#include "engine/cmd.h"
#include "engine/engine.h"
#include "engine/inbox.h"
#include "wa_ipc.pb-c.h"
#include "wa_log.h"

#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

enum slot_state { SLOT_RECV, SLOT_BUSY, SLOT_SEND };

struct slot;

/* One command between receipt and reply (or deadline). */
struct pending {
	struct wa_cmd cmd;             /* first: handlers get &cmd */
	struct wa_cmd_server *srv;     /* NULL once the server is gone */
	struct slot *slot;             /* NULL once answered (e.g. 504) */
	lws_sorted_usec_list_t sul;    /* the deadline */
	struct pending *prev, *next;   /* srv->live */
};

struct slot {
	struct wa_cmd_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	enum slot_state state;
};

struct wa_cmd_server {
	nng_socket sock;
	struct wa_inbox *ib;
	struct lws_context *lws;
	wa_cmd_handler handler;
	void *hctx;
	unsigned inflight;
	struct pending *live;          /* received, not yet answered */
	struct slot slots[WA_CMD_CONTEXTS];
	unsigned nslots;
};

/* Send status/body on a slot (any thread). */
static void slot_send(struct slot *sl, int status, json_t *body)
{
	Waipc__Reply rep = WAIPC__REPLY__INIT;
	char *json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	nng_msg *m;
	size_t len;

	rep.status = (uint32_t)status;
	if (json) {
		rep.has_body = 1;
		rep.body.data = (uint8_t *)json;
		rep.body.len = strlen(json);
	}
	len = waipc__reply__get_packed_size(&rep);
	if (nng_msg_alloc(&m, len) != 0) {
		free(json);
		/* no memory for a reply: drop it, the caller times out (504) */
		sl->state = SLOT_RECV;
		nng_ctx_recv(sl->ctx, sl->aio);
		return;
	}
	waipc__reply__pack(&rep, nng_msg_body(m));
	free(json);
	sl->state = SLOT_SEND;
	nng_aio_set_msg(sl->aio, m);
	nng_ctx_send(sl->ctx, sl->aio);
}

/* {"message": msg, "error": code}; code may be NULL. New reference. */
static json_t *error_body(const char *msg, const char *code)
{
	json_t *b = json_pack("{s:s}", "message", msg);

	if (b && code)
		json_object_set_new(b, "error", json_string(code));
	return b;
}

static void slot_send_error(struct slot *sl, int status, const char *msg, const char *code)
{
	json_t *b = error_body(msg, code);

	slot_send(sl, status, b);
	json_decref(b);
}

static void pending_free(struct pending *p)
{
	json_decref(p->cmd.args);
	free(p);
}

static void unlink_live(struct pending *p)
{
	struct wa_cmd_server *s = p->srv;

	if (!s)
		return;
	if (p->prev)
		p->prev->next = p->next;
	else
		s->live = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
}

static void on_deadline(lws_sorted_usec_list_t *sul)
{
	struct pending *p = lws_container_of(sul, struct pending, sul);

	if (!p->slot)
		return;
	wa_warn("command %s for %s (request %s) passed its deadline in the engine", p->cmd.op,
		p->cmd.session_id, p->cmd.request_id);
	slot_send_error(p->slot, 504, "The WhatsApp engine did not answer in time", "engine_timeout");
	p->slot = NULL;
	p->srv->inflight--;
}

/* Loop thread: a decoded command arrives. */
static void dispatch(void *arg)
{
	struct pending *p = arg;
	struct wa_cmd_server *s = p->srv;
	uint64_t now = wa_engine_now_ms();

	s->inflight++;
	p->next = s->live;
	if (s->live)
		s->live->prev = p;
	s->live = p;
	lws_sul_schedule(s->lws, 0, &p->sul, on_deadline,
			 (lws_usec_t)(p->cmd.deadline_ms > now ? p->cmd.deadline_ms - now : 0) * LWS_US_PER_MS);
	wa_debug("command %s for %s (request %s)", p->cmd.op, p->cmd.session_id, p->cmd.request_id);
	s->handler(s->hctx, &p->cmd);
}

/* 0, or -1 when src did not fit and was cut (a cut session id or op
 * would name another session or operation than the caller meant). */
static int copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap) : 0;
	int rc = n == cap ? -1 : 0;

	if (rc)
		n = cap - 1;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return rc;
}

/* nng thread: one request received on sl; it goes to the loop, or the
 * slot is answered with an error at once. */
static void on_request(struct slot *sl, nng_msg *m)
{
	Waipc__Command *c = waipc__command__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
	struct pending *p;
	json_error_t jerr;

	nng_msg_free(m);
	if (!c) {
		wa_warn("engine command: malformed envelope");
		slot_send_error(sl, 400, "Malformed engine command", "bad_command");
		return;
	}
	p = calloc(1, sizeof *p);
	if (!p) {
		waipc__command__free_unpacked(c, NULL);
		slot_send_error(sl, 503, "The engine is out of memory", "engine_busy");
		return;
	}
	(void)copy_str(p->cmd.request_id, sizeof p->cmd.request_id, c->request_id); /* for logs: cut is fine */
	if (copy_str(p->cmd.session_id, sizeof p->cmd.session_id, c->session_id) != 0 ||
	    copy_str(p->cmd.op, sizeof p->cmd.op, c->op) != 0) {
		waipc__command__free_unpacked(c, NULL);
		free(p);
		wa_warn("engine command: session id or op too long");
		slot_send_error(sl, 400, "Engine command session id or op too long", "bad_command");
		return;
	}
	p->cmd.user_id = c->has_user_id ? c->user_id : 0;
	p->cmd.deadline_ms = wa_engine_now_ms() +
			     (c->has_deadline_ms && c->deadline_ms ? c->deadline_ms : WA_CMD_DEFAULT_DEADLINE_MS);
	if (c->has_body && c->body.len)
		p->cmd.args = json_loadb((const char *)c->body.data, c->body.len, 0, &jerr);
	else
		p->cmd.args = json_object();
	waipc__command__free_unpacked(c, NULL);
	if (!json_is_object(p->cmd.args)) {
		pending_free(p);
		slot_send_error(sl, 400, "Engine command arguments must be a JSON object", "bad_command");
		return;
	}
	p->cmd.priv = p;
	p->srv = sl->srv;
	p->slot = sl;
	sl->state = SLOT_BUSY;
	if (wa_inbox_post(sl->srv->ib, dispatch, p) < 0) {
		pending_free(p);
		slot_send_error(sl, 503, "The engine is overloaded; try again", "engine_busy");
	}
}

static void slot_cb(void *arg)
{
	struct slot *sl = arg;
	int rv = nng_aio_result(sl->aio);

	switch (sl->state) {
	case SLOT_RECV:
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
			return;
		if (rv != 0) {
			nng_ctx_recv(sl->ctx, sl->aio);
			return;
		}
		on_request(sl, nng_aio_get_msg(sl->aio));
		return;
	case SLOT_SEND:
		if (rv != 0) {
			nng_msg *m = nng_aio_get_msg(sl->aio);

			if (m)
				nng_msg_free(m);
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
				return;
		}
		sl->state = SLOT_RECV;
		nng_ctx_recv(sl->ctx, sl->aio);
		return;
	case SLOT_BUSY:
		return; /* no aio runs while the loop holds the command */
	}
}

struct wa_cmd_server *wa_cmd_server_new(const char *url, struct wa_inbox *ib, struct lws_context *lws,
					wa_cmd_handler handler, void *ctx)
{
	struct wa_cmd_server *s = calloc(1, sizeof *s);
	int rv;

	if (!s)
		return NULL;
	s->ib = ib;
	s->lws = lws;
	s->handler = handler;
	s->hctx = ctx;
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		wa_error("command socket: %s", nng_strerror(rv));
		free(s);
		return NULL;
	}
	if ((rv = nng_listen(s->sock, url, NULL, 0)) != 0) {
		wa_error("command socket: cannot listen on %s: %s", url, nng_strerror(rv));
		nng_close(s->sock);
		free(s);
		return NULL;
	}
	for (unsigned i = 0; i < WA_CMD_CONTEXTS; i++) {
		struct slot *sl = &s->slots[i];

		sl->srv = s;
		if (nng_ctx_open(&sl->ctx, s->sock) != 0 || nng_aio_alloc(&sl->aio, slot_cb, sl) != 0)
			break;
		s->nslots++;
	}
	if (s->nslots == 0) {
		wa_error("command socket: no contexts");
		wa_cmd_server_free(s);
		return NULL;
	}
	for (unsigned i = 0; i < s->nslots; i++) {
		s->slots[i].state = SLOT_RECV;
		nng_ctx_recv(s->slots[i].ctx, s->slots[i].aio);
	}
	return s;
}

void wa_cmd_reply(struct wa_cmd *cmd, int status, json_t *body)
{
	struct pending *p = cmd->priv;

	if (p->slot) {
		slot_send(p->slot, status, body);
		p->slot = NULL;
		p->srv->inflight--;
	}
	if (p->srv) {
		lws_sul_cancel(&p->sul);
		unlink_live(p);
	}
	json_decref(body);
	pending_free(p);
}

void wa_cmd_reply_error(struct wa_cmd *cmd, int status, const char *msg, const char *code)
{
	wa_cmd_reply(cmd, status, error_body(msg, code));
}

unsigned wa_cmd_inflight(const struct wa_cmd_server *s)
{
	return s ? s->inflight : 0;
}

void wa_cmd_server_free(struct wa_cmd_server *s)
{
	if (!s)
		return;
	/* Commands a handler still holds: answer 503 now (the engine is
	 * going away) and let their later reply only free them. */
	for (struct pending *p = s->live, *next; p; p = next) {
		next = p->next;
		if (p->slot)
			slot_send_error(p->slot, 503, "The WhatsApp engine is shutting down", "engine_stopping");
		p->slot = NULL;
		lws_sul_cancel(&p->sul);
		p->srv = NULL;
		p->prev = p->next = NULL;
	}
	s->live = NULL;
	nng_close(s->sock);
	for (unsigned i = 0; i < s->nslots; i++) {
		nng_aio_free(s->slots[i].aio);
		nng_ctx_close(s->slots[i].ctx);
	}
	free(s);
}
