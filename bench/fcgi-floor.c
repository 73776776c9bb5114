/* bench/fcgi-floor: the FastCGI floor for bench/rest.sh.
 *
 *   fcgi-floor SOCKET [THREADS]
 *
 * A FastCGI responder that does nothing but answer every request with a
 * fixed 404 in the API's error shape: no router, no log line, no database.
 * It accepts and serves kept connections the way wa-akg-fcgi's workers do
 * (one epoll set of connections, EPOLLONESHOT, THREADS handler threads that
 * each wait in epoll_wait() and serve the connection it hands them; see
 * fcgi/main.c), so what bench/rest.sh measures through it is nginx's
 * FastCGI proxying plus libfcgi's reads and writes: the most any worker
 * request can reach. SOCKET is a unix socket path; THREADS defaults to 4.
 * Runs until killed. Not part of the product. */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int ep = -1;
static int lfd = -1;

/* the headers a worker's 404 has (with a Content-Length, so nginx need not
 * chunk the answer to the client), and a body of the same shape */
#define BODY "{\"status\":false,\"message\":\"No API route GET /api/nonexistent\",\"error\":\"not_found\"}"
static const char reply[] =
	"Status: 404 Not Found\r\n"
	"Content-Type: application/json; charset=utf-8\r\n"
	"Content-Length: 82\r\n"
	"Cache-Control: no-store\r\n"
	"\r\n" BODY;
_Static_assert(sizeof BODY - 1 == 82, "Content-Length");

static int arm(int fd, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = fd };

	return epoll_ctl(ep, op, fd, &ev);
}

static int next_conn(void)
{
	struct epoll_event ev;

	for (;;) {
		int n = epoll_wait(ep, &ev, 1, -1);

		if (n < 0 && errno != EINTR) {
			perror("fcgi-floor: epoll_wait");
			exit(1);
		}
		if (n != 1)
			continue;
		if (ev.data.fd != lfd)
			return ev.data.fd;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0 && arm(fd, EPOLL_CTL_ADD) < 0)
			close(fd);
		if (arm(lfd, EPOLL_CTL_MOD) < 0) {
			perror("fcgi-floor: epoll_ctl");
			exit(1);
		}
	}
}

static void *handler(void *arg)
{
	FCGX_Request fr;
	char buf[4096];

	(void)arg;
	if (FCGX_InitRequest(&fr, -1, 0) != 0)
		return NULL;
	for (;;) {
		fr.ipcFd = next_conn();
		fr.keepConnection = 1;
		if (FCGX_Accept_r(&fr) < 0)
			continue;
		FCGX_PutStr(reply, (int)sizeof reply - 1, fr.out);
		while (FCGX_GetStr(buf, sizeof buf, fr.in) > 0)
			;
		FCGX_Finish_r(&fr);
		if (fr.ipcFd >= 0 && arm(fr.ipcFd, EPOLL_CTL_MOD) < 0)
			close(fr.ipcFd);
		fr.ipcFd = -1;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = argc > 2 ? strtol(argv[2], NULL, 10) : 4;
	pthread_t tid;
	int fl;

	if (argc < 2 || threads < 1 || threads > 256) {
		fprintf(stderr, "usage: fcgi-floor SOCKET [THREADS]\n");
		return 2;
	}
	if (FCGX_Init() != 0)
		return 1;
	/* libfcgi's own SIGTERM handler only sets a flag for its accept loop,
	 * which this program does not run */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	unlink(argv[1]);
	lfd = FCGX_OpenSocket(argv[1], 256);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ep < 0) {
		fprintf(stderr, "fcgi-floor: cannot listen on %s\n", argv[1]);
		return 1;
	}
	chmod(argv[1], 0666);
	fl = fcntl(lfd, F_GETFL);
	if (fl < 0 || fcntl(lfd, F_SETFL, fl | O_NONBLOCK) < 0 || arm(lfd, EPOLL_CTL_ADD) < 0) {
		perror("fcgi-floor");
		return 1;
	}
	for (long i = 1; i < threads; i++)
		if (pthread_create(&tid, NULL, handler, NULL) != 0) {
			perror("fcgi-floor: pthread_create");
			return 1;
		}
	handler(NULL);
	return 0;
}
