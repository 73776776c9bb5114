/* sim_media.h: wa-sim's media host (simmsg engineer; docs/protocol.md 9).
 *
 *   sim_media.c       blob table + media_conn IQ (no sockets)
 *   sim_media_http.c  the lws HTTP vhost: POST /mms/<type>/<token>?auth&token
 *                     stores an encrypted file and answers {url, direct_path};
 *                     GET <direct_path> returns it.
 *
 * Started with wa-sim --media HOST:PORT; without it media_conn answers 503
 * and phones cannot send media. The port speaks HTTPS, as WhatsApp's media
 * hosts do (whatsmeow and Baileys build "https://" + host), with wa-sim's own
 * certificate (sim_tls.c: STATE/media-cert.pem, to be trusted as a CA
 * file), and plain HTTP on the same port for simple tools; the URLs it
 * hands out are https://. Threads: the lws service thread only. Limits:
 * SIM_MEDIA_BLOB_MAX per file, SIM_MEDIA_BLOBS files, SIM_MEDIA_TOTAL bytes
 * (oldest dropped); nothing is persisted. */
#ifndef SIM_MEDIA_H
#define SIM_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define SIM_MEDIA_BLOB_MAX (72u * 1024 * 1024)  /* a 64 MiB video, encrypted */
#define SIM_MEDIA_BLOBS 1000
#define SIM_MEDIA_TOTAL (256u * 1024 * 1024)
/* media_conn's upload auth token: this many random bytes, sent as twice as
 * many lower-case hex digits (the buffers holding it add one for the NUL) */
#define SIM_MEDIA_AUTH_BYTES 24
#define SIM_MEDIA_AUTH_HEX (2 * SIM_MEDIA_AUTH_BYTES)

/* Advertise hostport ("127.0.0.1:8183") and make a fresh auth token. 0 / -1. */
int sim_media_configure(const char *hostport);
/* The advertised host, or NULL when no media host runs. */
const char *sim_media_host(void);
/* The upload auth token of media_conn (SIM_MEDIA_AUTH_HEX hex digits). */
const char *sim_media_auth(void);
/* A new upload auth token: uploads with the old one get 401 from now on,
 * as after a server restart (clients that keep a media_conn must ask
 * again). 0 / -1 (no media host). */
int sim_media_rotate_auth(void);

/* Store an encrypted file (copied); direct_path gets its path + query. 0 / -1. */
int sim_media_put(const uint8_t *data, size_t len, const char *mms_type, char *direct_path, size_t cap);
/* Find a file by its direct path (query ignored); borrowed bytes. 0 / -1. */
int sim_media_get(const char *path, const uint8_t **data, size_t *len);
/* Free every blob. */
void sim_media_clear(void);

/* IQ handler: xmlns="w:m" <media_conn/>. */
int sim_iq_media_conn(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);

/* Create the HTTPS (+ plain HTTP) vhost on hostport with the certificate
 * pair in state_dir (made by sim_tls_ensure when missing). The lws context
 * must have been created with LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT.
 * 0 / -1 (logged). wa-sim main only. */
struct lws_context;
int sim_media_start(struct lws_context *ctx, const char *hostport, const char *state_dir);

/* sim_tls.c: make sure state_dir holds media-cert.pem (self-signed, SAN
 * 127.0.0.1, ::1, localhost and host) and media-key.pem (0600); reuse a
 * readable pair that covers host, else make a new one. Fills the two paths.
 * 0 / -1 (logged). */
int sim_tls_ensure(const char *state_dir, const char *host, char *cert_path, size_t cert_cap, char *key_path,
		   size_t key_cap);

#endif
