/* engine_client: nng REQ commands to the engine (see engine_client.h). */
#include "fcgi/engine_client.h"
#include "fcgi/app.h"
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

static __thread nng_socket req_sock;
static __thread int req_open;
/* Connected pipes of this thread's socket, updated from nng's threads. With
 * none, a command fails at once with 503 instead of waiting out a timeout. */
static __thread _Atomic int *req_pipes;

static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	_Atomic int *n = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		(*n)++;
	else if (ev == NNG_PIPE_EV_REM_POST)
		(*n)--;
}

static int ensure_socket(struct wa_req *r)
{
	int rv;

	if (req_open)
		return 0;
	if (!req_pipes) {
		/* lives as long as the thread; nng may still call pipe_event late */
		req_pipes = calloc(1, sizeof *req_pipes);
		if (!req_pipes)
			return -1;
	}
	*req_pipes = 0;
	if ((rv = nng_req0_open(&req_sock)) != 0) {
		wa_error("nng_req0_open: %s", nng_strerror(rv));
		return -1;
	}
	nng_pipe_notify(req_sock, NNG_PIPE_EV_ADD_POST, pipe_event, (void *)req_pipes);
	nng_pipe_notify(req_sock, NNG_PIPE_EV_REM_POST, pipe_event, (void *)req_pipes);
	nng_socket_set_ms(req_sock, NNG_OPT_SENDTIMEO, SEND_TIMEOUT_MS);
	nng_socket_set_ms(req_sock, NNG_OPT_RECVTIMEO, r->app->engine_timeout_ms);
	/* never resend a command by itself: a retry could send a message twice */
	nng_socket_set_ms(req_sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if ((rv = nng_dial(req_sock, r->app->command_url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		wa_error("nng_dial %s: %s", r->app->command_url, nng_strerror(rv));
		nng_close(req_sock);
		return -1;
	}
	req_open = 1;
	/* give a local engine a moment to accept the fresh connection */
	for (int i = 0; i < 20 && *req_pipes == 0; i++)
		nng_msleep(5);
	return 0;
}

void wa_engine_client_close(void)
{
	if (req_open) {
		nng_close(req_sock);
		req_open = 0;
	}
}

int wa_engine_call(struct wa_req *r, const char *op, json_t *args, json_t **body)
{
	Waipc__Command cmd = WAIPC__COMMAND__INIT;
	Waipc__Reply *rep;
	char *json = NULL;
	uint8_t *buf = NULL, *in = NULL;
	size_t len, inlen = 0;
	int rv, status;

	*body = NULL;
	if (ensure_socket(r) < 0)
		return 503;
	if (*req_pipes <= 0)
		return 503;
	json = json_dumps(args ? args : json_object(), JSON_COMPACT);
	if (!json)
		return 500;
	cmd.request_id = r->rid;
	cmd.session_id = r->sess.slug;
	cmd.op = (char *)op;
	cmd.has_body = 1;
	cmd.body.data = (uint8_t *)json;
	cmd.body.len = strlen(json);
	cmd.has_deadline_ms = 1;
	cmd.deadline_ms = (uint32_t)r->app->engine_timeout_ms;
	cmd.has_user_id = 1;
	cmd.user_id = r->user.id;
	len = waipc__command__get_packed_size(&cmd);
	buf = malloc(len ? len : 1);
	if (!buf) {
		free(json);
		return 500;
	}
	waipc__command__pack(&cmd, buf);
	free(json);
	rv = nng_send(req_sock, buf, len, 0);
	free(buf);
	if (rv != 0) {
		wa_warn("engine command %s not sent: %s", op, nng_strerror(rv));
		/* the socket may be wedged on a dead pipe: start over next time */
		wa_engine_client_close();
		return 503;
	}
	rv = nng_recv(req_sock, &in, &inlen, NNG_FLAG_ALLOC);
	if (rv != 0) {
		wa_warn("engine command %s: no reply: %s", op, nng_strerror(rv));
		wa_engine_client_close();
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

int wa_engine_forward(struct wa_req *r, const char *op, json_t *args)
{
	json_t *body = NULL;
	int status = wa_engine_call(r, op, args, &body);
	const char *msg;

	if (status >= 200 && status < 300)
		return wa_reply_json(r, status, body);
	msg = body ? json_string_value(json_object_get(body, "message")) : NULL;
	if (status == 503 && !msg)
		msg = WA_MSG_NOT_READY;
	else if (status == 504 && !msg)
		msg = "The WhatsApp engine did not answer in time";
	else if (!msg)
		msg = "WhatsApp operation failed";
	wa_reply_error(r, status, msg,
		       body && json_is_string(json_object_get(body, "error")) ?
		       json_string_value(json_object_get(body, "error")) : NULL);
	json_decref(body);
	return -1;
}
