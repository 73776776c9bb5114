/* engine_client: one command to the protocol engine over nng REQ/REP.
 *
 * Placement: a command goes to the engine that owns the session, whose
 * command address is read from the session row joined with the engines
 * table (owner with a live lease, engine with a fresh heartbeat). A session
 * no engine owns yet (just created, or stopped) goes to the live engine
 * with the fewest sessions, which takes it up. The answer is cached per
 * thread for WA_ENGINE_ROUTE_TTL_MS, so a burst of sends costs one lookup;
 * an engine answering "not_owner" (the session moved) drops the cache entry
 * and the command is sent once more to the new owner: the refusing engine
 * carried nothing out, so this cannot run anything twice. No live engine
 * at all: 503 at once, without waiting.
 *
 * Each accept thread keeps its own REQ sockets, one per engine address
 * (at most WA_ENGINE_SOCKETS, least recently used closed first), dialled
 * non-blocking; nothing is shared between threads. A command is a
 * waipc.Command protobuf whose body is JSON; the reply is a waipc.Reply
 * with an HTTP-like status and a JSON body.
 *
 * Deadlines: if no engine takes the request within a short send timeout the
 * call returns 503 ("Session not connected or ready"); if the engine took it
 * but did not answer within engine.timeout_ms, 504. Commands are never
 * resent by nng itself (a resend could send a message twice). */
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

/* Reply with an engine's non-2xx answer in the API's error shape (the
 * engine's message and code, the standard ones for 503/504 without);
 * consumes body. Returns -1 (replied). */
int wa_reply_engine_error(struct wa_req *r, int status, json_t *body);

/* Close this thread's socket (thread exit). */
void wa_engine_client_close(void);

#define WA_MSG_NOT_READY "Session not connected or ready"
#define WA_ENGINE_ROUTE_TTL_MS 1000
#define WA_ENGINE_SOCKETS 8

#endif
