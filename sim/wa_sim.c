/* wa-sim: a local WhatsApp network speaking the real WhatsApp Web
 * multi-device protocol (server side) plus simulated phones.
 *
 *   wa-sim --listen 127.0.0.1:PORT --admin 127.0.0.1:PORT --state DIR
 *          [--seed N] [--verbose]
 *
 * One lws context, one service thread, two vhosts: the WebSocket endpoint
 * /ws/chat and the admin HTTP JSON API. See README.md. */
#include "sim.h"
#include "sim_media.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <libwebsockets.h>

#include "wa/crypto.h"
#include "wa_log.h"
#include "wa_util.h"

static volatile sig_atomic_t got_signal;
static struct lws_context *g_ctx;

/* lws 4.1's libev glue re-arms its ev_timer while it may still run, which
 * libev ignores, so a sul due sooner than the armed one (a delayed frame,
 * admin delay) would wait for it: this one, always due within 50 ms,
 * bounds that (see engine/main.c). */
static lws_sorted_usec_list_t bound_sul;
static struct sim_server *g_srv;

static void on_bound(lws_sorted_usec_list_t *sul)
{
	if (g_srv)
		sim_save_due(g_srv); /* the store's deferred save (sim_save) */
	if (g_ctx)
		lws_sul_schedule(g_ctx, 0, sul, on_bound, 50 * LWS_US_PER_MS);
}

static void on_signal(int sig)
{
	got_signal = sig;
	if (g_ctx)
		lws_cancel_service(g_ctx);
}

static int parse_hostport(const char *s, char *host, size_t hcap, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long p;

	if (colon == NULL || (size_t)(colon - s) >= hcap || colon == s)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end != '\0' || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: wa-sim --listen HOST:PORT --admin HOST:PORT --state DIR [--seed N] "
			"[--media HOST:PORT] [--qr-timeouts FIRST,NEXT] [--compress-min BYTES] [--no-pairing-sync] [--verbose]\n");
}

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && line[n - 1] == '\n')
		n--;
	wa_log(level == LLL_ERR ? WA_LOG_ERROR : WA_LOG_WARN, "lws: %.*s", (int)n, line);
}

static const struct lws_protocol_vhost_options pvo_default = { NULL, NULL, "default", "1" };
static const struct lws_protocol_vhost_options pvo_ws = { NULL, &pvo_default, "wa-chat", "" };

int main(int argc, char **argv)
{
	static struct sim_server srv;
	static struct lws_protocols ws_protocols[2], admin_protocols[2];
	struct lws_context_creation_info info;
	struct ev_loop *loop = NULL;
	void *foreign_loops[1];
	const char *listen = NULL, *admin = NULL, *state = NULL, *media = NULL;
	char lhost[128], ahost[128], path[4200], hex[65];
	int lport, aport, rc = 1;
	unsigned qr_first = 60, qr_next = 20;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen = argv[++i];
		else if (strcmp(argv[i], "--admin") == 0 && i + 1 < argc)
			admin = argv[++i];
		else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else if (strcmp(argv[i], "--no-pairing-sync") == 0)
			srv.no_pairing_sync = 1; /* phones send no key share / history (simstate) */
		else if (strcmp(argv[i], "--media") == 0 && i + 1 < argc)
			media = argv[++i]; /* media host (sim_media_http.c) */
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			char *end;

			errno = 0;
			srv.seed = strtoull(argv[++i], &end, 10);
			if (errno || *end != '\0') {
				usage();
				return 2;
			}
			srv.seeded = 1;
		} else if (strcmp(argv[i], "--qr-timeouts") == 0 && i + 1 < argc) {
			/* FIRST,NEXT seconds of ref validity; tests shorten them */
			char *end;
			unsigned long f, n;

			errno = 0;
			f = strtoul(argv[++i], &end, 10);
			if (errno || *end != ',' || f == 0 || f > 3600) {
				usage();
				return 2;
			}
			n = strtoul(end + 1, &end, 10);
			if (errno || *end != '\0' || n == 0 || n > 3600) {
				usage();
				return 2;
			}
			qr_first = (unsigned)f;
			qr_next = (unsigned)n;
		} else if (strcmp(argv[i], "--compress-min") == 0 && i + 1 < argc) {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(argv[++i], &end, 10);
			if (errno || *end != '\0' || n > WA_FRAME_MAX_PAYLOAD) {
				usage();
				return 2;
			}
			srv.compress_min = n;
		} else if (strcmp(argv[i], "--verbose") == 0)
			sim_log_debug = 1;
		else {
			usage();
			return 2;
		}
	}
	if (!listen || !admin || !state || parse_hostport(listen, lhost, sizeof lhost, &lport) ||
	    parse_hostport(admin, ahost, sizeof ahost, &aport)) {
		usage();
		return 2;
	}
	wa_log_init("wa-sim", sim_log_debug ? WA_LOG_DEBUG : WA_LOG_INFO);
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
	if (mkdir(state, 0700) != 0 && errno != EEXIST) {
		wa_error("sim: cannot create '%s': %s", state, strerror(errno));
		return 1;
	}
	snprintf(srv.state_dir, sizeof srv.state_dir, "%s", state);
	srv.ref_first_secs = qr_first;
	srv.ref_next_secs = qr_next;
	if (sim_keys_load(&srv.keys, state, srv.seeded, srv.seed) != 0)
		return 1;
	snprintf(path, sizeof path, "%s/state.json", state);
	srv.store = sim_store_new(path);
	if (srv.store == NULL || sim_store_load(srv.store) != 0)
		goto out;

	/* libev's epoll loop under lws, as in the engine (engine/main.c): lws's
	 * own poll() loop walks every connection's fd on every round, which
	 * made the simulator, not the engine, the limit with 1000 phones. */
	loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
	if (loop == NULL) {
		wa_error("sim: cannot create the event loop (libev with epoll)");
		goto out;
	}
	foreign_loops[0] = loop;
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6 |
		       LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_LIBEV;
	info.foreign_loops = foreign_loops;
	info.user = &srv;
	srv.ctx = g_ctx = lws_create_context(&info);
	if (srv.ctx == NULL) {
		wa_error("sim: cannot create the lws context");
		goto out;
	}

	ws_protocols[0].name = "wa-chat";
	ws_protocols[0].callback = (lws_callback_function *)sim_ws_callback;
	ws_protocols[0].per_session_data_size = sim_ws_pss_size();
	ws_protocols[0].rx_buffer_size = 65536;
	memset(&info, 0, sizeof info);
	info.vhost_name = "ws";
	info.iface = lhost;
	info.port = lport;
	info.protocols = ws_protocols;
	info.pvo = &pvo_ws;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	if (lws_create_vhost(srv.ctx, &info) == NULL) {
		wa_error("sim: cannot listen on %s", listen);
		goto out;
	}
	admin_protocols[0].name = "admin-http";
	admin_protocols[0].callback = (lws_callback_function *)sim_admin_callback;
	admin_protocols[0].per_session_data_size = sim_admin_pss_size();
	memset(&info, 0, sizeof info);
	info.vhost_name = "admin";
	info.iface = ahost;
	info.port = aport;
	info.protocols = admin_protocols;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	if (lws_create_vhost(srv.ctx, &info) == NULL) {
		wa_error("sim: cannot listen on %s", admin);
		goto out;
	}
	if (media && sim_media_start(srv.ctx, media, state) != 0)
		goto out;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	wa_hex_encode(srv.keys.root_pub, 32, hex);
	printf("wa-sim root key %s serial %u\n", hex, (unsigned)srv.keys.root_serial);
	printf("wa-sim listening ws://%s/ws/chat admin http://%s/admin/ state %s%s\n", listen, admin,
	       state, srv.seeded ? " (seeded)" : "");
	fflush(stdout);
	wa_info("sim: ready; %zu phones loaded", srv.store->naccounts);

	lws_cancel_service(srv.ctx); /* a first fd event arms lws's timer */
	g_srv = &srv;
	on_bound(&bound_sul);
	while (!got_signal && !srv.stop)
		ev_run(loop, EVRUN_ONCE);
	rc = 0;
	wa_info("sim: stopping");
out:
	lws_sul_cancel(&bound_sul);
	g_srv = NULL;
	if (srv.save_due_ms)
		sim_save_flush(&srv);
	if (srv.ctx)
		lws_context_destroy(srv.ctx); /* closes connections: their state is freed */
	g_ctx = NULL;
	if (loop)
		ev_loop_destroy(loop);
	sim_store_free(srv.store);
	sim_keys_release(&srv.keys);
	return rc;
}
