/* engine_client: one command to the protocol engine over nng REQ/REP.
 *
 * Each accept thread lazily opens its own REQ socket dialled (non-blocking,
 * so it connects whenever the engine comes up) to engine.command_url; the
 * socket is thread-local and never shared. A command is a waipc.Command
 * protobuf whose body is JSON; the reply is a waipc.Reply with an HTTP-like
 * status and a JSON body.
 *
 * Deadlines: if no engine takes the request within a short send timeout the
 * call returns 503 ("Session not connected or ready"); if the engine took it
 * but did not answer within engine.timeout_ms, 504. */
#ifndef WA_FCGI_ENGINE_CLIENT_H
#define WA_FCGI_ENGINE_CLIENT_H

#include "fcgi/http.h"

/* Send `op` for the request's session (r->sess.slug) with `args` (borrowed).
 * Returns the reply status and sets *body to a new JSON value (or NULL).
 * Never replies to the client itself. */
int wa_engine_call(struct wa_req *r, const char *op, json_t *args, json_t **body);

/* Forward and reply: the engine's body is returned as is for 2xx, and
 * wrapped in the API's error shape otherwise (503/504 with their standard
 * messages when the engine is absent or late). */
int wa_engine_forward(struct wa_req *r, const char *op, json_t *args);

/* Close this thread's socket (thread exit). */
void wa_engine_client_close(void);

#define WA_MSG_NOT_READY "Session not connected or ready"

#endif
