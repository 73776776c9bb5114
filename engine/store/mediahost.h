/* engine/store/mediahost: one GET from WhatsApp's media host (docs/protocol.md
 * §9.4), shared by the history-sync blobs (history.c) and message media
 * downloads (engine/media_dl.c).
 *
 * The URL is https://<whatsapp.media_host><directPath> followed by
 * hash=<fileEncSha256, URL-safe base64>&mms-type=<type>&__wa-mms= (as
 * whatsmeow asks for it; a direct path already carries a query, so "&").
 * With Origin https://web.whatsapp.com and its Referer, as WhatsApp Web
 * sends them. HTTPS only, the CA file whatsapp.media_ca when set (else the system's),
 * no redirects, a connect timeout of 10 s; the transfer is aborted when
 * it is slower than 1 byte/s for 30 s, when it passes timeout_ms, or when
 * `write` or `abort_cb` says so.
 *
 * Threading: blocking; any thread but the loop. Errors: 0 (HTTP 200),
 * WA_ENOTFOUND (HTTP 404 or 410: the host no longer has it), WA_EIO
 * (anything else; *http_code gets the status, 0 when none), WA_ENOMEM. */
#ifndef WA_STORE_MEDIAHOST_H
#define WA_STORE_MEDIAHOST_H

#include <stddef.h>
#include <stdint.h>

struct wa_history_env;

typedef size_t (*wa_mediahost_write_fn)(char *ptr, size_t size, size_t n, void *ud);

/* Nonzero aborts the transfer (checked about once a second and per chunk). */
typedef int (*wa_mediahost_abort_fn)(void *ud);

int wa_mediahost_get(const struct wa_history_env *env, const char *direct_path, const uint8_t *enc_sha256,
		     const char *mms_type, long timeout_ms, wa_mediahost_write_fn write, wa_mediahost_abort_fn abort_cb,
		     void *ud, long *http_code);

/* The same into memory: *out (malloc'd, *len bytes; the caller frees)
 * gets the whole body, at most max bytes (more is WA_ETOOBIG). For blobs
 * that are small and parsed whole (history sync chunks, app-state
 * snapshots and external mutations). */
int wa_mediahost_get_mem(const struct wa_history_env *env, const char *direct_path, const uint8_t *enc_sha256,
			 const char *mms_type, long timeout_ms, size_t max, uint8_t **out, size_t *len);

#endif
