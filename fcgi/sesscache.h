/* sesscache: the configured parts of a WhatsApp session's answer, kept per
 * worker process.
 *
 * GET /api/sessions and GET /api/sessions/{id} answer each session with
 * its row, its counts, its botConfig and its webhooks. The last two change
 * only when someone configures the session, and reading them is most of
 * what those statements cost (two more tables joined, ~40 columns, a row
 * per webhook). So a worker keeps, per session, the JSON text they render
 * to -- `,"botConfig":{...},"webhooks":[...]`, exactly the bytes the full
 * statement writes -- under the session's configuration version,
 * session_counts.cfg_ver (db/migrations/0019_session_cfg_ver.sql), which
 * triggers on bot_configs and webhooks bump in the changing transaction,
 * whoever writes.
 *
 * Why it is exact: a request reads the session row, its counts and cfg_ver
 * in one statement, every time; a cached text is used only if it was
 * stored under that very version, and a text is stored only under the
 * version read by the same statement that read it (one snapshot). So an
 * answer is never older than the statement the request ran, on any worker
 * of any host: no lease, no wait, no invalidation message. Rights are not
 * cached here (fcgi/authcache.h does that, under its own rule).
 *
 * Bounds and threads: at most fcgi.session_cache_entries texts (4-way set
 * associative by session id, least recently used replaced), each at most
 * WA_SESSC_MAX_TEXT bytes (a larger one is not cached, and that session's
 * answers read the full statement; a typical one is under 1 KiB). One
 * mutex per process, held to copy a text in or out. Allocation failures
 * are misses. */
#ifndef WA_FCGI_SESSCACHE_H
#define WA_FCGI_SESSCACHE_H

#include <stddef.h>
#include <stdint.h>

struct wa_config;
struct wa_jbuf;

#define WA_SESSC_MAX_TEXT 65536

/* Read fcgi.session_cache and fcgi.session_cache_entries (before any thread
 * starts). 0, or -1 with a message in err. */
int wa_sessc_configure(const struct wa_config *cfg, char *err, size_t errlen);

/* 1 if the cache is on. */
int wa_sessc_enabled(void);

/* Append the text of session sid stored under version ver to jb: 1 if it
 * was there, 0 (jb unchanged) if not or the cache is off. */
int wa_sessc_get(uint64_t sid, uint64_t ver, struct wa_jbuf *jb);

/* Store len bytes at text as session sid's under version ver, replacing
 * what the session had. Does nothing when the cache is off, the text is
 * too large, or memory is short. */
void wa_sessc_put(uint64_t sid, uint64_t ver, const char *text, size_t len);

struct wa_sessc_stats {
	uint64_t hits, misses, stores;
};

void wa_sessc_stats(struct wa_sessc_stats *out);

#endif
