/* ops: the engine's command table. Each row names an operation (the
 * worker's route->op, "message.send", or a lifecycle op "session.start"),
 * what it needs (a session this engine owns, a connected one) and its
 * handler. A new operation is a new row.
 *
 * Answers every command exactly once: unknown ops 501, a session this
 * engine does not own or that is not connected 503 "Session not connected
 * or ready" (error "not_owner" when this engine does not hold the session,
 * which the worker retries at the new owner and shows as "session_not_ready";
 * "session_not_ready" when it holds it but it is not connected).
 *
 * Threading: loop thread (called from cmd.c's dispatch). */
#ifndef WA_ENGINE_OPS_H
#define WA_ENGINE_OPS_H

struct wa_engine;
struct wa_cmd;

/* The cmd.h handler: ctx is the struct wa_engine. */
void wa_ops_dispatch(void *ctx, struct wa_cmd *cmd);

#endif
