/* cmd: the engine's command socket (nng REP, one request -> one reply).
 *
 * The socket listens on engine.command_url and is served by a fixed set
 * of nng contexts, each with its own aio, so up to WA_CMD_CONTEXTS
 * commands are in flight at once and none waits for another. An aio
 * callback (an nng thread) decodes the waipc.Command and posts it to the
 * loop; the loop runs the handler given to wa_cmd_server_new(), which
 * answers, now or later, with wa_cmd_reply() on the loop thread.
 *
 * Deadlines: a command carries the caller's deadline_ms (the worker gives
 * up after it). If the handler has not replied when it passes, the engine
 * answers 504 itself and a later wa_cmd_reply() only frees the command, so
 * a context is never held past the caller's patience.
 *
 * Replies: status is HTTP-like (200, 400, 404, 409, 503, 504); body is the
 * JSON document the worker returns for 2xx, or {"message", "error"} that it
 * wraps in the API's error shape otherwise.
 *
 * Threading: wa_cmd_server_new/free and everything on struct wa_cmd run on
 * the loop thread. Ownership: a struct wa_cmd belongs to the handler until
 * it calls wa_cmd_reply(), which consumes it (exactly once). */
#ifndef WA_ENGINE_CMD_H
#define WA_ENGINE_CMD_H

#include <jansson.h>
#include <stdint.h>

struct wa_inbox;
struct lws_context;
struct wa_cmd_server;

#define WA_CMD_CONTEXTS 128
#define WA_CMD_DEFAULT_DEADLINE_MS 15000

struct wa_cmd {
	char request_id[64];
	char session_id[65];
	char op[64];
	json_t *args;            /* the JSON arguments (an object; {} when none) */
	uint64_t user_id;        /* acting user, 0 when none */
	uint64_t deadline_ms;    /* monotonic ms by which the caller gives up */
	void *priv;              /* the server's bookkeeping */
};

typedef void (*wa_cmd_handler)(void *ctx, struct wa_cmd *cmd);

/* Listen on url and start serving. The handler runs on the loop thread
 * (posted through ib). NULL with a logged reason on failure. */
struct wa_cmd_server *wa_cmd_server_new(const char *url, struct wa_inbox *ib, struct lws_context *lws,
					wa_cmd_handler handler, void *ctx);

/* Answer cmd (consumes it, and body: a new reference or NULL). */
void wa_cmd_reply(struct wa_cmd *cmd, int status, json_t *body);

/* Error answer {"message": msg, "error": code} (code may be NULL). */
void wa_cmd_reply_error(struct wa_cmd *cmd, int status, const char *msg, const char *code);

/* Commands received and not yet answered or timed out (loop thread). */
unsigned wa_cmd_inflight(const struct wa_cmd_server *s);

/* Stop serving: close the socket, answer nothing more. NULL-safe. Commands
 * still held by handlers must be replied to before the loop ends (their
 * reply then only frees them). */
void wa_cmd_server_free(struct wa_cmd_server *s);

#endif
