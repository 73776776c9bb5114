/* wa_fetch: fetch a URL that a client of the API gave us, safely, streaming
 * the body into a file descriptor or a temporary file (libcurl).
 *
 * What it guarantees (docs/fetch.md is the user-facing version):
 *   - Only http and https, for the first URL and every redirect target; each
 *     hop's URL passes wa_url_check() (wa_url.h) and curl's own parse of it
 *     must name the same host and port as ours, or the URL is refused as
 *     ambiguous.
 *   - The address rule of wa_url.h holds at CONNECT time: libcurl resolves,
 *     and every socket it opens goes through a callback that checks the
 *     peer address against the policy before the socket exists. A name that
 *     resolves to 10.0.0.1, a name that changes its answer between our check
 *     and the connection (DNS rebinding) and a redirect to
 *     169.254.169.254 are all refused there. Proxies from the environment
 *     (http_proxy, ...) are never used, so the checked address is the peer.
 *   - Redirects are followed by this module, at most p->max_redirects hops;
 *     the bodies of 3xx answers are read and dropped (at most 1 MiB each),
 *     never written.
 *   - The body is never held whole in memory: it is written to the fd as it
 *     arrives (16 KiB at a time) and hashed on the way (SHA-256). A body
 *     over p->max_bytes is refused up front when Content-Length says so, and
 *     otherwise as soon as the count passes the cap.
 *   - p->timeout_ms caps the whole fetch (every hop, connect and transfer);
 *     p->connect_timeout_ms caps each connection attempt.
 *   - No compression is asked for, no cookies, no credentials, no .netrc:
 *     the bytes stored are the bytes the server sent. TLS peers are verified
 *     against the system's trust store.
 *   - Only a 2xx answer is a success; any other final status fails with
 *     WA_FETCH_EHTTP and writes nothing.
 *
 * Errors: WA_OK, or a WA_FETCH_* code of wa_url.h (the client's URL or the
 * far end: answer 400 with why), or a common code for the gateway's own
 * faults: WA_ENOMEM, WA_ESTORAGE (writing the fd or creating the file
 * failed), WA_EINTERNAL (libcurl would not start). `why` always gets one
 * line saying what failed, fit for the client (host names and addresses of
 * the URL, never local paths).
 *
 * Ownership: url, p and the result are the caller's; nothing is kept.
 *
 * Threading: blocking, for as long as p->timeout_ms. Callable from any
 * thread that is NOT an event loop (the engine's lws loop must hand it to a
 * db-pool or worker thread): FastCGI worker threads, db-pool threads, the
 * hooks process. Thread-safe; each call uses its own curl handle. The first
 * call runs curl_global_init() once (pthread_once). */
#ifndef WA_FETCH_H
#define WA_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "wa_url.h"

struct wa_fetch_result {
	long status;                     /* final HTTP status (2xx on success) */
	unsigned long long bytes;        /* body bytes written */
	uint8_t sha256[32];              /* SHA-256 of those bytes */
	char sha256_hex[65];
	char content_type[256];          /* Content-Type as sent; "" if none */
	char mime[128];                  /* its media type: lower case, no
					  * parameters ("image/jpeg"); "" if
					  * none or malformed */
	char final_url[WA_URL_MAX + 1];  /* the URL the body came from */
	int redirects;                   /* redirect hops followed */
};

/* Fetch url under policy p (NULL: wa_fetch_policy_default()) and write the
 * body to fd (a file, a pipe; written with a full-write loop, never seeked
 * or closed). On success returns WA_OK and fills *res (may be NULL). On
 * failure the fd may already hold part of a body: the caller discards what
 * it wrote (wa_fetch_to_file() does that itself). */
int wa_fetch_to_fd(const char *url, const struct wa_fetch_policy *p, int fd,
		   struct wa_fetch_result *res, char *why, size_t cap);

/* Fetch into a new file "<dir>/.wa-fetch-XXXXXX" (mode 0600, created with
 * mkostemp). On success the file's path is in path (path_cap bytes) and the
 * caller owns the file (rename it into place or unlink it). On failure no
 * file is left behind and path is "". */
int wa_fetch_to_file(const char *url, const struct wa_fetch_policy *p, const char *dir,
		     char *path, size_t path_cap, struct wa_fetch_result *res,
		     char *why, size_t cap);

#endif
