/* wa-akg-hooks: the webhook delivery daemon (see hooks.h).
 *
 *   wa-akg-hooks [--config FILE]
 *
 * Subscribes to the wake-up socket of every engine in the engines table
 * (engine/events.h: a cue per round of the engine's loop that published
 * events; what is delivered is read from events_outbox), fans new events
 * out into webhook_deliveries and delivers what is due, until SIGTERM or
 * SIGINT. With no event it still looks every
 * hooks.poll_ms, which also covers events whose PUB message was dropped and
 * retries falling due. A wake-up within hooks.coalesce_ms of the last read
 * of the outbox waits out the rest of it, so a busy engine's events are
 * read a batch at a time; webhook_deliveries is read only when the fan-out
 * made deliveries, a retry is due or the poll period is over. */
#include "engine/hooks/hooks.h"
#include "wa_config.h"
#include "wa_log.h"
#include "config.h"

#include <curl/curl.h>
#include <mysql.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENGINES 64

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

int wa_hooks_stop_requested(void)
{
	return stopping != 0;
}

struct sub {
	nng_socket sock;
	size_t n;
	char *url[MAX_ENGINES];
	nng_dialer dialer[MAX_ENGINES];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Dial every engine's wake-up socket (engine/events.h; its event_url when
 * it has none) not dialed yet (nng reconnects by itself when an engine
 * restarts); engines gone from the table are hung up. An engine that
 * restarts on a new wake-up port is a new address: dialed, and the old one
 * hung up, at the next refresh. */
static void refresh_engines(struct wa_db *db, struct sub *s)
{
	json_t *rows = wa_db_query(db, "SELECT DISTINCT COALESCE(wake_url, event_url) AS url FROM engines", ""), *row;
	size_t i, j;
	int seen[MAX_ENGINES] = { 0 };

	if (!rows)
		return;
	json_array_foreach(rows, i, row) {
		const char *url = json_string_value(json_object_get(row, "url"));
		int rv;

		for (j = 0; j < s->n && strcmp(s->url[j], url) != 0; j++)
			;
		if (j < s->n) {
			seen[j] = 1;
			continue;
		}
		if (s->n == MAX_ENGINES) {
			wa_warn("more than %d engines: %s not subscribed (polling covers it)", MAX_ENGINES, url);
			continue;
		}
		rv = nng_dial(s->sock, url, &s->dialer[s->n], NNG_FLAG_NONBLOCK);
		if (rv != 0) {
			wa_warn("cannot subscribe to %s: %s", url, nng_strerror(rv));
			continue;
		}
		if (!(s->url[s->n] = strdup(url))) {
			nng_dialer_close(s->dialer[s->n]);
			continue;
		}
		wa_info("subscribed to engine wake-ups at %s", url);
		seen[s->n++] = 1;
	}
	json_decref(rows);
	for (j = 0; j < s->n;) {
		if (seen[j]) {
			j++;
			continue;
		}
		wa_info("engine wake-ups at %s: engine gone, unsubscribed", s->url[j]);
		nng_dialer_close(s->dialer[j]);
		free(s->url[j]);
		s->n--;
		s->url[j] = s->url[s->n];
		s->dialer[j] = s->dialer[s->n];
		seen[j] = seen[s->n];
	}
}

/* Drain the queue of engine events without waiting. 1 if one came. */
static int drain_events(struct sub *s)
{
	nng_msg *m;
	int got = 0;

	while (nng_recvmsg(s->sock, &m, NNG_FLAG_NONBLOCK) == 0) {
		got = 1;
		nng_msg_free(m);
	}
	return got;
}

/* Wait up to ms for an event on any engine or, while attempts are in
 * flight, for their progress; drain the queue. 1 if an event came. */
static int wait_event(struct sub *s, long ms)
{
	nng_msg *m;
	int fd = -1;

	if (wa_hooks_in_flight() > 0) {
		if (nng_socket_get_int(s->sock, NNG_OPT_RECVFD, &fd) != 0)
			fd = -1;
		wa_hooks_wait(ms, fd);
		return drain_events(s);
	}
	nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, ms);
	if (nng_recvmsg(s->sock, &m, 0) != 0)
		return 0;
	nng_msg_free(m);
	drain_events(s);
	return 1;
}

/* Let ms pass (attempts in flight go on meanwhile), then drain the events
 * that came: they are read with the ones that woke us. */
static void coalesce(struct sub *s, long long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	if (wa_hooks_in_flight() > 0) {
		wa_hooks_wait((long)ms, -1);
	} else {
		ts.tv_sec = (time_t)(ms / 1000);
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	drain_events(s);
}

static void usage(void)
{
	fprintf(stderr, "usage: wa-akg-hooks [--config FILE]\n");
}

int main(int argc, char **argv)
{
	struct wa_config *cfg = NULL;
	struct wa_hooks_cfg hc;
	struct wa_db db;
	struct sub s;
	const char *conf = NULL;
	char err[512];
	long loglevel;
	long long next_refresh = 0, next_prune = 0, next_scan = 0, last_fan = 0, nevents = 0, ndelivered = 0;
	int rc = 1, db_down = 0, woke = 1;

	memset(&db, 0, sizeof db);
	memset(&s, 0, sizeof s);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			conf = argv[++i];
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("wa-akg-hooks %s\n", PACKAGE_VERSION);
			return 0;
		} else {
			usage();
			return 2;
		}
	}
	if (wa_config_load(&cfg, conf, err, sizeof err) < 0) {
		fprintf(stderr, "wa-akg-hooks: %s\n", err);
		return 1;
	}
	loglevel = wa_log_level_parse(wa_config_get(cfg, "general.log_level"));
	wa_log_init("wa-akg-hooks", loglevel < 0 ? WA_LOG_INFO : (enum wa_log_level)loglevel);
	if (wa_hooks_cfg_load(cfg, &hc, err, sizeof err) != 0) {
		wa_error("%s", err);
		goto out;
	}
	if (mysql_library_init(0, NULL, NULL) != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		wa_error("cannot initialise the MariaDB or HTTP client library");
		goto out;
	}
	if (nng_sub0_open(&s.sock) != 0 || nng_socket_set(s.sock, NNG_OPT_SUB_SUBSCRIBE, "", 0) != 0) {
		wa_error("cannot open the event subscriber socket");
		goto out;
	}
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	db.cfg = cfg;
	wa_info("wa-akg-hooks %s started (poll %ld ms, attempt timeout %ld ms, retries %ld ms .. %ld ms, "
		"give up after %ld h, pause after %ld h, %ld in parallel, keep %ld days%s)", PACKAGE_VERSION,
		hc.poll_ms, hc.policy.timeout_ms,
		hc.retry_first_ms, hc.retry_max_ms, hc.give_up_hours, hc.pause_after_hours,
		hc.parallel, hc.keep_days, hc.policy.allow_loopback ? ", loopback allowed" : "");
	while (!stopping) {
		int busy = 0, n = 0, attempted = 0, periodic;
		long long created = 0, made = 0;
		long retry_ms = -1, wait;

		if (mono_ms() >= next_refresh) {
			refresh_engines(&db, &s);
			next_refresh = mono_ms() + hc.engines_refresh_ms;
		}
		if (mono_ms() >= next_prune) {
			if (wa_hooks_prune(&db, &hc) < 0)
				goto db_failed;
			next_prune = mono_ms() + WA_HOOKS_PRUNE_EVERY_S * 1000LL;
		}
		/* the outbox is read when an engine published something or the
		 * poll period is over, not after every attempt; wake-ups that
		 * follow a read closely wait a little, so that under load one
		 * read takes many events */
		periodic = mono_ms() >= next_scan;
		if (woke && !periodic && mono_ms() - last_fan < hc.coalesce_ms)
			coalesce(&s, last_fan + hc.coalesce_ms - mono_ms());
		if (woke || periodic) {
			long long found = 0;

			last_fan = mono_ms();
			while (!stopping && (n = wa_hooks_fanout(&db, &hc, &made)) > 0) {
				nevents += n;
				found += n;
				created += made;
				if (n < hc.batch)
					break; /* nothing was left when it looked */
			}
			/* events no cue announced: an engine that started again
			 * listens for wake-ups on a new port; look now */
			if (!woke && found > 0)
				next_refresh = 0;
		}
		woke = 0;
		if (n < 0)
			goto db_failed;
		if (periodic)
			next_scan = mono_ms() + hc.poll_ms;
		/* the deliveries are read when the fan-out made some, a retry is
		 * due or the poll period is over (another wa-akg-hooks may have
		 * made some): events of sessions without webhooks cost none */
		if (!stopping && (n = wa_hooks_deliver(&db, &hc, periodic || created > 0, &attempted, &retry_ms)) < 0)
			goto db_failed;
		ndelivered += n;
		if (n > 0)
			busy = 1;  /* the next event of a queue may be due now */
		/* a retry due sooner than the next scan is not left waiting */
		if (retry_ms >= 0 && mono_ms() + retry_ms < next_scan)
			next_scan = mono_ms() + retry_ms;
		if (db_down) {
			wa_info("database reachable again");
			db_down = 0;
		}
		wait = next_scan - mono_ms();
		if (wait < 0)
			wait = 0;
		if (!busy && !stopping)
			woke = wait_event(&s, wait);
		continue;
db_failed:
		if (!db_down)
			wa_warn("database failure; retrying every %ld ms", hc.poll_ms);
		db_down = 1;
		wa_db_close(&db);
		if (!stopping)
			wait_event(&s, hc.poll_ms);
		woke = 1;
	}
	/* the attempts in flight are finished and recorded (at most
	 * hooks.timeout_ms), not left to be sent again */
	while (!db_down && wa_hooks_in_flight() > 0) {
		int attempted = 0, n;
		long retry_ms = -1;

		if ((n = wa_hooks_deliver(&db, &hc, 0, &attempted, &retry_ms)) < 0)
			break;
		ndelivered += n;
		if (wa_hooks_in_flight() > 0)
			wa_hooks_wait(100, -1);
	}
	wa_info("wa-akg-hooks stopping (%lld events fanned out, %lld deliveries)", nevents, ndelivered);
	rc = 0;
out:
	for (size_t j = 0; j < s.n; j++)
		free(s.url[j]);
	nng_close(s.sock);
	wa_db_close(&db);
	wa_hooks_http_cleanup();
	curl_global_cleanup();
	mysql_library_end();
	wa_config_free(cfg);
	return rc;
}
