/* wa_log: leveled logging to stderr, one line per call.
 *
 * Every line carries a UTC timestamp, the level, the process tag and, when the
 * calling thread has one set, the request id:  "2026-11-25T04:30:00Z INFO fcgi[1234] rid=ab12cd message".
 * Thread-safe: each line is formatted into a local buffer and written with a
 * single write(2); the request id is thread-local. Lines longer than
 * WA_LOG_LINE_MAX are truncated, never split. */
#ifndef WA_LOG_H
#define WA_LOG_H

#include <stdarg.h>

enum wa_log_level { WA_LOG_DEBUG = 0, WA_LOG_INFO, WA_LOG_WARN, WA_LOG_ERROR };

#define WA_LOG_LINE_MAX 2048

/* Set the process tag (e.g. "fcgi", "engine") and the minimum level. Not
 * thread-safe: call once at start-up before threads exist. */
void wa_log_init(const char *tag, enum wa_log_level min);

/* Parse "debug" / "info" / "warn" / "error"; returns -1 for anything else. */
int wa_log_level_parse(const char *s);

/* Request id of the calling thread (copied; NULL clears). */
void wa_log_set_rid(const char *rid);
const char *wa_log_rid(void);

void wa_log(enum wa_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void wa_vlog(enum wa_log_level lvl, const char *fmt, va_list ap);

#define wa_debug(...) wa_log(WA_LOG_DEBUG, __VA_ARGS__)
#define wa_info(...)  wa_log(WA_LOG_INFO, __VA_ARGS__)
#define wa_warn(...)  wa_log(WA_LOG_WARN, __VA_ARGS__)
#define wa_error(...) wa_log(WA_LOG_ERROR, __VA_ARGS__)

#endif
