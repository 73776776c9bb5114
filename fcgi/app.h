/* app: process-wide state of a worker, read-only after start-up and shared
 * by its accept threads (so no locks are needed to read it). */
#ifndef WA_FCGI_APP_H
#define WA_FCGI_APP_H

#include "fcgi/ratelimit.h"

#include <stddef.h>

struct wa_config;

struct wa_app {
	const struct wa_config *cfg;
	size_t max_body;           /* http.max_body in bytes */
	int engine_timeout_ms;
	int media_timeout_ms;          /* engine.media_timeout_ms: commands that send media */
	long engine_lease_ms;      /* engine.lease_ms: an older heartbeat is a dead engine */
	const char *media_dir;
	const char *accel_prefix;
	const char *public_base;
	int session_days;
	int cookie_secure;
	long broadcast_max;
	long spam_max;
	struct wa_rate signin_fail;  /* limits.signin_failures_per_minute / _burst, per address */
	struct wa_rate registers;    /* limits.register_per_minute / _burst, per address */
};

#endif
