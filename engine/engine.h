/* engine: wa-akg-engine, the process that owns WhatsApp connections.
 *
 * The pieces (one module each):
 *   inbox.h     the loop's cross-thread mailbox (the only way in)
 *   dbpool.h    a few MariaDB threads fed by queues, sharded by session
 *   cmd.h       the nng REP command socket, served with aio contexts
 *   events.h    the nng PUB event socket (topic "<sessionId>.<event>")
 *   media.h     a few media threads: outgoing files fetched, converted,
 *               encrypted and uploaded
 *   registry.h  the engines row, its heartbeat, and the session leases
 *   ops.h       the command table: op name -> handler
 *   wheel.h     a one-second timer wheel for the per-session keep-alives
 *
 * Threads, and which state each one owns:
 *   - The loop thread (main()) owns the libwebsockets context, every
 *     session object, every WhatsApp connection and every timer. Nothing
 *     else touches them. It never blocks: no MariaDB call, no waiting send.
 *   - nng's own threads run cmd.c's aio callbacks. They only decode a
 *     command and post it to the loop, or send a reply the loop built.
 *   - dbpool's threads each own one MariaDB connection. They run jobs and
 *     post each job's completion back to the loop. A slow or restarting
 *     database stalls those threads, never the loop, so keep-alives and
 *     frames of every session go on.
 *   - media threads (engine.media_threads) each run one outgoing file at a
 *     time: a fetch, GraphicsMagick, the encryption and the upload, with
 *     temporary files under media.dir; their answers come through the inbox
 *     like the database's.
 * Cross-thread hand-off is always a post to the loop's inbox (inbox.h),
 * which wakes the loop through lws_cancel_service(). The loop is libev's
 * (epoll), driven by main() with lws on top of it (LWS_SERVER_OPTION_LIBEV,
 * a foreign loop); lws's timers (lws_sul) and every fd run on it. */
#ifndef WA_ENGINE_H
#define WA_ENGINE_H

#include <signal.h>
#include <stdint.h>

struct wa_config;
struct lws_context;
struct wa_inbox;
struct wa_dbpool;
struct wa_media;
struct wa_cmd_server;
struct wa_events;
struct wa_registry;
struct wa_sessions;
struct wa_wheel;
struct wa_sched;

#define WA_ENGINE_ID_MAX 64

struct wa_engine {
	const struct wa_config *cfg;
	char id[WA_ENGINE_ID_MAX];      /* engines.id: engine.id, or the host name */
	const char *command_url;        /* as bound (config engine.command_url) */
	const char *event_url;          /* as bound (config engine.event_url) */
	const char *wake_url;           /* as bound (events.h: the wake-up socket), "" = none */
	struct lws_context *lws;        /* loop thread only */
	struct wa_wheel *wheel;         /* coarse timers on lws (wheel.h), loop thread only */
	struct wa_inbox *inbox;
	struct wa_dbpool *db;
	struct wa_media *media;         /* the media threads (media.h); NULL once stopping */
	struct wa_cmd_server *cmd;
	struct wa_events *events;
	struct wa_registry *reg;
	struct wa_sessions *sessions;   /* loop thread only */
	struct wa_sched *sched;         /* scheduled messages and auto-replies (sched.h), loop thread only */
	uint64_t started_ms;            /* wall clock at start */
	volatile sig_atomic_t stopping; /* set by a signal; the loop exits */
	int exit_code;                  /* the process's status once stopped */
};

/* Milliseconds of the monotonic and the wall clock. */
uint64_t wa_engine_now_ms(void);
uint64_t wa_engine_wall_ms(void);

#endif
