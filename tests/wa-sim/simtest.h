/* simtest: shared harness for the wa-sim integration tests (test_sim_*)
 * and wa-sim-client.
 *
 * One copy of what every wa-sim test needs: admin requests over HTTP
 * (libcurl + jansson), a free loopback port, and starting / stopping a
 * ./wa-sim child on given ports with a temporary state directory.
 *
 * Contract: single-threaded test code; no state is kept here (every
 * function gets what it works on as parameters). Callers own every
 * json_t returned through *out (json_decref). Errors: 0 / -1 unless
 * stated otherwise. Not installed; linked into the test programs only. */
#ifndef WA_SIMTEST_H
#define WA_SIMTEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* An HTTP answer body: data is NUL-terminated (data[len] == 0) or NULL
 * when empty; the caller frees data. */
struct simtest_resp {
	char *data;
	size_t len;
};

/* One admin request to http://<hostport><path> (hostport "127.0.0.1:8181").
 * body (may be NULL) is sent with "Content-Type: <ctype>" (ctype NULL =
 * application/json). Returns the HTTP status, 0 on transport failure;
 * *out (out may be NULL) gets the parsed JSON answer or NULL. 5 s timeout. */
long simtest_admin(const char *hostport, const char *method, const char *path, const char *body,
		   const char *ctype, json_t **out);

/* simtest_admin() against 127.0.0.1:<port>. */
long simtest_admin_port(int port, const char *method, const char *path, const char *body, const char *ctype,
			json_t **out);

/* Plain HTTP to any url (the media host): POST/PUT with body (blen bytes)
 * or GET/... with body NULL. The answer body goes to *out (reset first;
 * caller frees out->data). Returns the HTTP status, 0 on transport failure.
 * 5 s timeout. */
long simtest_http(const char *method, const char *url, const uint8_t *body, size_t blen, struct simtest_resp *out);

/* A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0,
 * read it back, close), or -1. Racy by nature; good enough for tests. */
int simtest_free_port(void);

/* Start $WA_SIM_BIN (default ./wa-sim) as a child:
 *   --listen 127.0.0.1:<ws_port> --admin 127.0.0.1:<admin_port>
 *   --state <state_dir> [--media 127.0.0.1:<media_port> if media_port > 0]
 *   [extra..., up to the first NULL; extra itself may be NULL]
 * with stdout/stderr appended to <state_dir>/wa-sim.log. Waits up to 5 s
 * for GET /admin/root-key to answer 200; then *pid is the child and
 * root_hex (65 bytes) holds the 64 hex digit root key (left untouched if
 * the answer has none). Returns 0, or -1 (*pid may then still be a child:
 * call simtest_stop()). */
int simtest_start(const char *state_dir, int ws_port, int admin_port, int media_port, const char *const *extra,
		  pid_t *pid, char root_hex[65]);

/* SIGTERM the child *pid and wait for it; *pid becomes -1. Returns its
 * exit status (sanitizer reports make it non-zero), or -1 if it died by a
 * signal or *pid was not a child (<= 0). */
int simtest_stop(pid_t *pid);

#endif
