/* wa-akg-fcgi: the REST workers.
 *
 *   wa-akg-fcgi [--config FILE] [--check]
 *
 * The supervisor opens the FastCGI socket (fcgi.listen), forks fcgi.workers
 * worker processes and restarts any that die; SIGTERM/SIGINT stop them all.
 * Each worker runs fcgi.threads handler threads waiting on one epoll set of
 * connections (see "Kept FastCGI connections" below); each handler owns one MariaDB
 * connection and one nng socket to the engine; the mutable things the
 * threads share are the process's auth cache (fcgi/authcache.h: one mutex,
 * and a renewal thread of its own) and its session cache (fcgi/sesscache.h:
 * one mutex). The dispatcher below is the same for
 * every route: match, authenticate, check the route's role and session
 * access, run the handler. */
#include "fcgi/app.h"
#include "fcgi/auth.h"
#include "fcgi/authcache.h"
#include "fcgi/db.h"
#include "fcgi/engine_client.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"
#include "fcgi/router.h"
#include "fcgi/sesscache.h"
#include "wa_config.h"
#include "wa_log.h"
#include "wa_util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64

static struct wa_app app;
static int listen_fd = -1;
static volatile sig_atomic_t stopping;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void set_rid(struct wa_req *r)
{
	const char *rid = wa_req_param(r, "REQUEST_ID");

	if (!rid || !*rid)
		rid = wa_req_header(r, "X-Request-Id");
	if (rid && *rid && strlen(rid) < sizeof r->rid && !strpbrk(rid, "\r\n \""))
		snprintf(r->rid, sizeof r->rid, "%s", rid);
	else if (wa_random_hex(r->rid, 12) < 0)
		snprintf(r->rid, sizeof r->rid, "-");
	wa_log_set_rid(r->rid);
}

static const char *session_param(struct wa_req *r)
{
	const char *id = wa_req_path_param(r, "sessionId");

	return id ? id : wa_req_path_param(r, "id");
}

static int is_write(const char *m)
{
	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

static void dispatch(struct wa_req *r)
{
	const char *uri = wa_req_param(r, "REQUEST_URI");
	const struct wa_route *rt;
	char raw[WA_PATH_MAX], allow[128];
	const char *q;
	size_t plen;
	int auth;

	r->method = wa_req_param(r, "REQUEST_METHOD");
	if (!r->method)
		r->method = "GET";
	if (!uri)
		uri = wa_req_param(r, "DOCUMENT_URI");
	if (!uri)
		uri = "/";
	q = strchr(uri, '?');
	plen = q ? (size_t)(q - uri) : strlen(uri);
	r->query = q ? q + 1 : "";
	if (plen >= sizeof raw) {
		snprintf(r->path, sizeof r->path, "(long)");
		wa_reply_error(r, 404, "Not found", "not_found");
		return;
	}
	memcpy(raw, uri, plen);
	raw[plen] = '\0';
	snprintf(r->path, sizeof r->path, "%s", raw);

	switch (wa_router_match(r->method, raw, &rt, r->params, &r->nparams, allow, sizeof allow)) {
	case WA_MATCH_NOT_FOUND:
		wa_reply_errorf(r, 404, "not_found", "No API route %s %s", r->method, raw);
		return;
	case WA_MATCH_BAD_METHOD:
		wa_reply_header(r, "Allow", allow);
		wa_reply_errorf(r, 405, "method_not_allowed", "Method %s is not allowed here; allowed: %s",
				r->method, allow);
		return;
	case WA_MATCH_BAD_PATH:
		wa_reply_error(r, 400, "Malformed percent-encoding in the path", "bad_request");
		return;
	case WA_MATCH_OK:
		break;
	}
	r->route = rt;

	if (!(rt->flags & WA_R_PUBLIC) || (rt->flags & WA_R_AUTH_OPT)) {
		if ((rt->flags & (WA_R_SESS | WA_R_SESS_ROWS)) == (WA_R_SESS | WA_R_SESS_ROWS))
			auth = h_session_identify(r, session_param(r));
		else
			auth = wa_auth_identify(r, (rt->flags & WA_R_SESS) ? session_param(r) : NULL);
		if (auth < 0) {
			wa_reply_error(r, 503, "Database unavailable", "database_unavailable");
			return;
		}
		if (!auth && !(rt->flags & WA_R_PUBLIC)) {
			wa_reply_error(r, 401, "Unauthorized - Invalid or missing API key", "unauthorized");
			return;
		}
	}
	if ((rt->flags & WA_R_SUPERADMIN) && r->user.role != WA_ROLE_SUPERADMIN) {
		wa_reply_error(r, 403, "Forbidden - SUPERADMIN only", "forbidden");
		return;
	}
	if (r->user.via_cookie && is_write(r->method) && !(rt->flags & (WA_R_NO_CSRF | WA_R_PUBLIC)) &&
	    wa_auth_csrf_ok(r, NULL) < 0) {
		wa_reply_error(r, 403, "Missing or invalid CSRF token (send X-CSRF-Token from GET /api/auth/csrf)",
			       "csrf");
		return;
	}
	if (rt->flags & WA_R_SESS) {
		if (wa_session_access(r, session_param(r), (rt->flags & WA_R_SESS_MANAGE) != 0) < 0)
			return;
	} else if (rt->flags & WA_R_SESS_BODY) {
		const char *sid;

		if (wa_req_json(r, 0) < 0)
			return;
		sid = json_string_value(json_object_get(r->json, "sessionId"));
		if (!sid || !*sid) {
			wa_reply_error(r, 400, "Missing required field 'sessionId'", "validation_error");
			return;
		}
		if (wa_session_access(r, sid, (rt->flags & WA_R_SESS_MANAGE) != 0) < 0)
			return;
	}
	rt->handler(r);
	if (!r->replied)
		wa_reply_error(r, 500, "The handler produced no response", NULL);
}

static void serve_one(FCGX_Request *fr, struct wa_db *db)
{
	struct wa_req r;
	double t0 = now_ms();

	memset(&r, 0, sizeof r);
	r.fcgx = fr;
	r.app = &app;
	r.db = db;
	r.db_writes0 = db->writes;
	set_rid(&r);
	dispatch(&r);
	wa_info("%s %s -> %d %.1fms%s%s", r.method ? r.method : "-", r.path, r.status, now_ms() - t0,
		r.user.id ? " user=" : "", r.user.id ? r.user.email : "");
	for (int i = 0; i < r.nparams; i++)
		free(r.params[i]);
	wa_req_release_body(&r);
	json_decref(r.json);
	if (r.rows) {
		wa_db_text_free(r.rows);
		free(r.rows);
	}
	wa_log_set_rid(NULL);
}

/* Kept FastCGI connections (nginx: fastcgi_keep_conn + upstream keepalive).
 *
 * libfcgi serves a kept connection by blocking in FCGX_Accept_r on its next
 * read, so with one accept loop per thread every idle connection nginx keeps
 * would pin a thread, and a request on a connection no thread holds would
 * wait until nginx happens to close another one (nginx opens a connection
 * whenever none of its idle ones is free, and may keep more than we have
 * threads). So a worker does not let threads own connections:
 *
 *   - the listening socket and every idle connection are in one epoll set
 *     per worker process, each with EPOLLONESHOT, so a connection is in
 *     exactly one place: armed in the set, or with the one handler thread
 *     whose epoll_wait() returned it;
 *   - every one of the fcgi.threads handler threads waits in epoll_wait()
 *     for one event: a readable connection it serves itself (libfcgi reads
 *     and answers one request on it) and re-arms if nginx keeps it (libfcgi
 *     closes it otherwise), with no hand-off to another thread (no queue,
 *     no condition variable, no second wake-up per request);
 *   - what a request left unread of its body is read before the connection
 *     is re-armed (drain_stdin), so its next request starts on a record;
 *   - the listening socket: the thread it wakes accepts one connection, adds
 *     it to the set and re-arms the socket. Only a thread that is idle
 *     waits in epoll_wait(), so a worker process whose threads are all busy
 *     accepts nothing, and the processes sharing the socket split new
 *     connections by spare capacity.
 *
 * libfcgi is used as its threaded API documents, with one exception: a
 * handler hands libfcgi the connection by setting FCGX_Request.ipcFd and
 * .keepConnection (the fields FCGX_Accept_r itself keeps between requests
 * of a kept connection) and takes it back after FCGX_Finish_r. Its request
 * has no listening socket (-1), so FCGX_Accept_r never blocks in accept():
 * on a connection nginx closed it closes the fd and fails with EBADF. */
static int ep = -1;

static int ep_arm(int fd, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = fd };

	return epoll_ctl(ep, op, fd, &ev);
}

/* The listening socket woke this thread: take one connection into the set
 * and re-arm the socket. */
static void accept_one(void)
{
	int fd, one = 1;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
			wa_warn("accept: %s", strerror(errno));
	} else {
		/* as libfcgi's own accept does: responses are not waited on */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		/* into the set until nginx has sent its request: a connection
		 * that says nothing holds no thread */
		if (ep_arm(fd, EPOLL_CTL_ADD) < 0) {
			wa_warn("epoll_ctl: %s", strerror(errno));
			close(fd);
		}
	}
	if (ep_arm(listen_fd, EPOLL_CTL_MOD) < 0) {
		wa_error("epoll_ctl on the listening socket: %s", strerror(errno));
		exit(1);
	}
}

/* The next readable connection for this thread (accepting on the way). */
static int next_conn(void)
{
	struct epoll_event ev;

	for (;;) {
		int n = epoll_wait(ep, &ev, 1, -1);

		if (n < 0 && errno != EINTR) {
			wa_error("epoll_wait: %s", strerror(errno));
			exit(1);
		}
		if (n == 1 && ev.data.fd == listen_fd)
			accept_one();
		else if (n == 1)
			return ev.data.fd;
	}
}

/* What a handler left unread of the request body must be read before the
 * connection takes its next request: libfcgi does not skip it, and would
 * parse the rest of this body as the next request's records. Up to
 * DRAIN_MAX is read and dropped; past that (or on a read error) the
 * connection is not kept. */
#define DRAIN_MAX (1024 * 1024)

static void drain_stdin(FCGX_Request *fr)
{
	char buf[16384];
	size_t total = 0;
	int n;

	while ((n = FCGX_GetStr(buf, sizeof buf, fr->in)) > 0) {
		total += (size_t)n;
		if (total > DRAIN_MAX) {
			fr->keepConnection = 0;
			return;
		}
	}
	if (FCGX_GetError(fr->in))
		fr->keepConnection = 0;
}

static void *handler(void *arg)
{
	FCGX_Request fr;
	struct wa_db db = { .cfg = app.cfg };

	(void)arg;
	if (FCGX_InitRequest(&fr, -1, 0) != 0)
		return NULL;
	while (!stopping) {
		fr.ipcFd = next_conn();
		fr.keepConnection = 1;
		if (FCGX_Accept_r(&fr) < 0)
			continue;   /* nginx closed it; libfcgi closed our end */
		serve_one(&fr, &db);
		if (fr.keepConnection)
			drain_stdin(&fr);
		FCGX_Finish_r(&fr);
		/* still open: nginx keeps it for its next request */
		if (fr.ipcFd >= 0 && ep_arm(fr.ipcFd, EPOLL_CTL_MOD) < 0) {
			wa_warn("epoll_ctl: %s", strerror(errno));
			close(fr.ipcFd);
		}
		fr.ipcFd = -1;
	}
	wa_db_close(&db);
	wa_engine_client_close();
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int worker_main(long threads)
{
	pthread_t tid;
	int fl;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	fl = fcntl(listen_fd, F_GETFL);
	if (ep < 0 || fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		wa_error("cannot set up the connection poller: %s", strerror(errno));
		return 1;
	}
	/* (not EPOLLEXCLUSIVE: it cannot be re-armed with EPOLL_CTL_MOD; every
	 * worker's idle thread may wake for a connection, one accept()s it) */
	if (ep_arm(listen_fd, EPOLL_CTL_ADD) < 0) {
		wa_error("epoll_ctl: %s", strerror(errno));
		return 1;
	}
	if (wa_authc_start(app.cfg) < 0) {
		wa_error("cannot start the auth cache");
		return 1;
	}
	/* this thread is the last handler */
	for (long i = 1; i < threads; i++)
		if (pthread_create(&tid, NULL, handler, NULL) != 0) {
			wa_error("cannot start handler thread %ld", i);
			return 1;
		}
	handler(NULL);
	return 0;
}

static pid_t spawn_worker(long threads)
{
	pid_t pid = fork();

	if (pid == 0) {
		wa_log_init("fcgi-worker", (enum wa_log_level)wa_log_level_parse(wa_config_get(app.cfg, "general.log_level")));
		_exit(worker_main(threads));
	}
	return pid;
}

static int open_listen(const char *spec)
{
	const char *path = spec;
	int fd;

	if (strncmp(spec, "unix:", 5) == 0) {
		path = spec + 5;
		unlink(path);
	} else if (strncmp(spec, "tcp:", 4) == 0) {
		path = spec + 4;
	}
	fd = FCGX_OpenSocket(path, 256);
	if (fd < 0)
		return -1;
	/* nginx's workers run as another user in the same group (www-data under
	 * systemd: Group=www-data); nobody else may talk FastCGI to us */
	if (strncmp(spec, "unix:", 5) == 0)
		chmod(path, 0660);
	return fd;
}

static int load_app(const char *cfgpath, struct wa_config **cfgp, long *workers, long *threads)
{
	char err[512];
	unsigned long long maxb;
	long tmo, mtmo, days;
	int lvl;

	if (wa_config_load(cfgp, cfgpath, err, sizeof err) < 0) {
		fprintf(stderr, "wa-akg-fcgi: %s\n", err);
		return -1;
	}
	app.cfg = *cfgp;
	lvl = wa_log_level_parse(wa_config_get(app.cfg, "general.log_level"));
	if (lvl < 0) {
		fprintf(stderr, "wa-akg-fcgi: general.log_level must be debug, info, warn or error\n");
		return -1;
	}
	wa_log_init("fcgi", (enum wa_log_level)lvl);
	if (wa_config_get_size(app.cfg, "http.max_body", &maxb, err, sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "fcgi.workers", 1, MAX_WORKERS, workers, err, sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "fcgi.threads", 1, MAX_WORKERS, threads, err, sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "engine.timeout_ms", 100, 600000, &tmo, err, sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "engine.media_timeout_ms", 100, 3600000, &mtmo, err, sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "engine.lease_ms", 1000, 3600000, &app.engine_lease_ms, err, sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "auth.session_days", 1, 3650, &days, err, sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "limits.broadcast_max_recipients", 1, 1000000, &app.broadcast_max, err, sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "limits.spam_max_count", 1, 100000, &app.spam_max, err, sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "limits.signin_failures_per_minute", 1, 1000000000, &app.signin_fail.per_minute,
			      err, sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "limits.signin_burst", 1, 1000000000, &app.signin_fail.burst, err, sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "limits.register_per_minute", 1, 1000000000, &app.registers.per_minute, err,
			      sizeof err) < 0 ||
	    wa_config_get_int(app.cfg, "limits.register_burst", 1, 1000000000, &app.registers.burst, err, sizeof err) < 0) {
		fprintf(stderr, "wa-akg-fcgi: %s\n", err);
		return -1;
	}
	if (wa_authc_configure(app.cfg, err, sizeof err) < 0 || wa_sessc_configure(app.cfg, err, sizeof err) < 0) {
		fprintf(stderr, "wa-akg-fcgi: %s\n", err);
		return -1;
	}
	app.signin_fail.scope = "signin";
	app.registers.scope = "register";
	app.max_body = (size_t)maxb;
	app.engine_timeout_ms = (int)tmo;
	app.media_timeout_ms = (int)mtmo;
	app.session_days = (int)days;
	app.media_dir = wa_config_get(app.cfg, "media.dir");
	app.accel_prefix = wa_config_get(app.cfg, "media.accel_prefix");
	app.public_base = wa_config_get(app.cfg, "general.public_base_url");
	app.cookie_secure = strcmp(wa_config_get(app.cfg, "auth.cookie_secure"), "true") == 0;
	return 0;
}

int main(int argc, char **argv)
{
	const char *cfgpath = NULL;
	struct wa_config *cfg = NULL;
	long workers, threads;
	pid_t pids[MAX_WORKERS];
	struct sigaction sa;
	int check = 0;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc)
			cfgpath = argv[++i];
		else if (strcmp(argv[i], "--check") == 0)
			check = 1;
		else {
			fprintf(stderr, "usage: wa-akg-fcgi [--config FILE] [--check]\n");
			return 2;
		}
	}
	if (load_app(cfgpath, &cfg, &workers, &threads) < 0 || wa_router_init() < 0)
		return 1;
	if (check) {
		printf("configuration and route table OK (%zu routes)\n", wa_nroutes);
		return 0;
	}
	if (FCGX_Init() != 0)
		return 1;
	listen_fd = open_listen(wa_config_get(cfg, "fcgi.listen"));
	if (listen_fd < 0) {
		wa_error("cannot listen on %s: %s", wa_config_get(cfg, "fcgi.listen"), strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* no SA_RESTART: waitpid below must return EINTR so `stopping` is seen */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	wa_info("listening on %s with %ld workers x %ld threads, %zu routes", wa_config_get(cfg, "fcgi.listen"),
		workers, threads, wa_nroutes);
	for (long i = 0; i < workers; i++)
		pids[i] = spawn_worker(threads);
	while (!stopping) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (long i = 0; i < workers; i++) {
			if (pids[i] != pid)
				continue;
			if (stopping)
				break;
			wa_warn("worker %d exited (%s %d); restarting", (int)pid,
				WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			sleep(1);
			pids[i] = spawn_worker(threads);
		}
	}
	wa_info("stopping %ld workers", workers);
	for (long i = 0; i < workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	wa_config_free(cfg);
	return 0;
}
