/* qrpng: a QR code (libqrencode) rendered as a PNG data URL, for
 * GET /api/sessions/{id}/qr. Thread-safe: each thread keeps the last one
 * it rendered (a client polling /qr gets the same ref many times), so
 * asking again for it costs a copy, not a render. */
#ifndef WA_FCGI_QRPNG_H
#define WA_FCGI_QRPNG_H

/* "data:image/png;base64,..." for `text`, heap-allocated (caller frees),
 * or NULL on failure. scale = pixels per module (1..16), with a 4-module
 * quiet zone. */
char *wa_qr_png_data_url(const char *text, int scale);

#endif
