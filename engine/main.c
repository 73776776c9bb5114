/* wa-akg-engine: the protocol engine daemon (see engine.h for its threads).
 *
 *   wa-akg-engine [--config FILE]
 *
 * Reads the shared configuration, registers in the engines table, takes
 * its sessions (registry.h), serves commands on engine.command_url and
 * publishes events on engine.event_url until SIGTERM or SIGINT. */
#include "engine/cmd.h"
#include "engine/conn.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/media_dl.h"
#include "engine/events.h"
#include "engine/inbox.h"
#include "engine/media.h"
#include "engine/ops.h"
#include "engine/registry.h"
#include "engine/sched.h"
#include "engine/session.h"
#include "engine/wheel.h"
#include "wa_config.h"
#include "wa_log.h"
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <libwebsockets.h>
#include <mysql.h>
#include <nng/nng.h>

static struct wa_engine engine;
static struct wa_wheel wheel;

/* lws 4.1's libev glue re-arms its one ev_timer with ev_timer_set() +
 * ev_timer_start() while that timer may still be running, which libev
 * ignores: a timer (lws_sul) scheduled sooner than the one armed then runs
 * only when the armed one fires. This sul, always due within
 * LOOP_TIMER_BOUND_MS, bounds that lateness (at the price of that many
 * wake-ups a second, which cost next to nothing on epoll). */
#define LOOP_TIMER_BOUND_MS 100
static lws_sorted_usec_list_t bound_sul;

static void on_bound(lws_sorted_usec_list_t *sul)
{
	if (!engine.stopping)
		lws_sul_schedule(engine.lws, 0, sul, on_bound, LOOP_TIMER_BOUND_MS * LWS_US_PER_MS);
}

uint64_t wa_engine_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t wa_engine_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
	(void)sig;
	engine.stopping = 1;
	if (engine.lws)
		lws_cancel_service(engine.lws);
}

/* The loop's own protocol: lws_cancel_service() from any thread lands
 * here, and the inbox is drained. The WhatsApp connections get their own
 * protocol row. */
static int loop_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED && engine.inbox)
		wa_inbox_drain(engine.inbox);
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "wa-akg-loop", loop_cb, 0, 0, 0, NULL, 0 },
	{ WA_CONN_PROTOCOL, wa_conn_lws_callback, 0, WA_CONN_RX_BUFFER, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && line[n - 1] == '\n')
		n--;
	wa_log(level == LLL_ERR ? WA_LOG_ERROR : WA_LOG_WARN, "lws: %.*s", (int)n, line);
}

static void on_owned(void *ctx, json_t *rows)
{
	struct wa_engine *e = ctx;

	wa_sessions_reconcile(e->sessions, rows, wa_registry_rows_since(e->reg));
}

static void usage(void)
{
	fprintf(stderr, "usage: wa-akg-engine [--config FILE]\n");
}

static int engine_id(struct wa_engine *e)
{
	const char *id = wa_config_get(e->cfg, "engine.id");
	char host[WA_ENGINE_ID_MAX];

	if (id && *id) {
		if (strlen(id) >= sizeof e->id) {
			wa_error("engine.id is longer than %d characters", WA_ENGINE_ID_MAX - 1);
			return -1;
		}
		snprintf(e->id, sizeof e->id, "%s", id);
		return 0;
	}
	if (gethostname(host, sizeof host - 1) != 0)
		snprintf(host, sizeof host, "engine");
	host[sizeof host - 1] = '\0';
	snprintf(e->id, sizeof e->id, "%s", host);
	return 0;
}

int main(int argc, char **argv)
{
	struct wa_engine *e = &engine;
	struct wa_config *cfg = NULL;
	struct lws_context_creation_info info;
	struct wa_sched *sched = NULL;
	struct ev_loop *loop = NULL;
	void *foreign_loops[1];
	const char *conf = NULL;
	char err[512];
	long dbthreads, mediathreads, loglevel;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			conf = argv[++i];
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("wa-akg-engine %s\n", PACKAGE_VERSION);
			return 0;
		} else {
			usage();
			return 2;
		}
	}
	if (wa_config_load(&cfg, conf, err, sizeof err) < 0) {
		fprintf(stderr, "wa-akg-engine: %s\n", err);
		return 1;
	}
	loglevel = wa_log_level_parse(wa_config_get(cfg, "general.log_level"));
	wa_log_init("wa-akg-engine", loglevel < 0 ? WA_LOG_INFO : (enum wa_log_level)loglevel);
	e->cfg = cfg;
	e->command_url = wa_config_get(cfg, "engine.command_url");
	e->event_url = wa_config_get(cfg, "engine.event_url");
	e->started_ms = wa_engine_wall_ms();
	if (engine_id(e) < 0)
		goto out;
	if (wa_config_get_int(cfg, "engine.db_threads", 1, 32, &dbthreads, err, sizeof err) < 0 ||
	    wa_config_get_int(cfg, "engine.media_threads", 1, 16, &mediathreads, err, sizeof err) < 0) {
		wa_error("%s", err);
		goto out;
	}
	if (mysql_library_init(0, NULL, NULL) != 0) {
		wa_error("cannot initialise the MariaDB client library");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
	/* The loop is libev's on epoll, ours (a "foreign" loop to lws), so
	 * that a wake-up costs the same with 10 connections or 10,000: lws's
	 * own poll() loop hands every fd to the kernel on every round. lws
	 * finds its libev glue in the libwebsockets-evlib-ev plugin. We run
	 * the loop ourselves (ev_run once per round) so that a signal's
	 * lws_cancel_service() ends it. */
	loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
	if (!loop) {
		wa_error("cannot create the event loop (libev with epoll)");
		goto out;
	}
	foreign_loops[0] = loop;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_LIBEV;
	info.foreign_loops = foreign_loops;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	e->inbox = wa_inbox_new(0);
	e->lws = e->inbox ? lws_create_context(&info) : NULL;
	if (!e->lws) {
		wa_error("cannot create the event loop (is the libwebsockets libev plugin, Debian package "
			 "libwebsockets-evlib-ev, installed?)");
		goto out;
	}
	wa_inbox_set_context(e->inbox, e->lws);
	wa_wheel_init(&wheel, e->lws);
	e->wheel = &wheel;
	e->sessions = wa_sessions_new(e);
	e->db = wa_dbpool_new(cfg, (unsigned)dbthreads, 0, e->inbox);
	e->media = e->db ? wa_media_new(cfg, (unsigned)mediathreads, e->inbox) : NULL;
	e->events = e->media ? wa_events_new(e->event_url, wa_config_get(cfg, "engine.wake_url")) : NULL;
	e->wake_url = e->events ? wa_events_wake_url(e->events) : "";
	e->reg = e->events ? wa_registry_new(e, on_owned, e) : NULL;
	e->cmd = e->reg ? wa_cmd_server_new(e->command_url, e->inbox, e->lws, wa_ops_dispatch, e) : NULL;
	sched = e->cmd ? wa_sched_new(e) : NULL;
	e->sched = sched;
	if (!e->sessions || !e->cmd || !sched) {
		wa_error("start-up failed");
		goto out;
	}
	wa_registry_start(e->reg);
	wa_sched_start(sched);
	wa_info("engine %s %s started (commands %s, events %s, wake-ups %s, %ld database threads, %ld media threads)",
		e->id, PACKAGE_VERSION, e->command_url, e->event_url, *e->wake_url ? e->wake_url : "none", dbthreads,
		mediathreads);
	if (strncmp(e->command_url, "ipc://", 6) == 0 || strncmp(e->event_url, "ipc://", 6) == 0)
		wa_warn("an engine address is ipc://: with nng %s a peer that hangs up during the handshake can "
			"wedge an ipc listener (commands then time out); tcp:// on loopback is the tested transport",
			nng_version());
	/* lws re-arms its timer (lws_sul) from libev's idle watcher, which
	 * runs after an fd event: wake the loop once so that the timers
	 * scheduled before it ran (the registry's first tick) are armed. */
	lws_cancel_service(e->lws);
	on_bound(&bound_sul);
	while (!e->stopping) {
		ev_run(loop, EVRUN_ONCE);
		wa_events_flush(e->events); /* one wake-up for the round's events */
	}
	wa_info("engine %s stopping", e->id);
	rc = e->exit_code;
out:
	/* Order: stop taking commands, give the leases back, finish the
	 * database work (its completions land in the inbox), run them. */
	wa_media_dl_shutdown(e);
	wa_cmd_server_free(e->cmd);
	wa_registry_free(e->reg, 1);
	/* the media threads finish (their answers, 503 for what waited, land
	 * in the inbox and run while the database threads still take work) */
	wa_media_free(e->media);
	e->media = NULL;
	if (e->inbox)
		wa_inbox_drain(e->inbox);
	wa_dbpool_free(e->db);
	if (e->inbox)
		wa_inbox_drain(e->inbox);
	wa_sessions_free(e->sessions);
	wa_sched_free(sched);
	e->sched = NULL;
	wa_events_free(e->events);
	if (e->wheel)
		wa_wheel_clear(e->wheel);
	lws_sul_cancel(&bound_sul);
	if (e->lws)
		lws_context_destroy(e->lws);
	if (loop)
		ev_loop_destroy(loop);
	wa_inbox_free(e->inbox);
	mysql_library_end();
	wa_config_free(cfg);
	return rc;
}
