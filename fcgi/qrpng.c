/* qrpng: QR code -> greyscale PNG -> base64 data URL (see qrpng.h).
 * The PNG is written by hand (IHDR, one zlib IDAT, IEND) with zlib's
 * compress2 and crc32: a QR image needs nothing more. */
#include "fcgi/qrpng.h"
#include "wa_util.h"

#include <pthread.h>
#include <qrencode.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Append one chunk at out+*off (capacity checked by the caller's sizing). */
static void chunk(uint8_t *out, size_t *off, const char *type, const uint8_t *data, uint32_t len)
{
	uint8_t *p = out + *off;
	uLong crc;

	put32(p, len);
	memcpy(p + 4, type, 4);
	if (len)
		memcpy(p + 8, data, len);
	crc = crc32(0L, p + 4, len + 4);
	put32(p + 8 + len, (uint32_t)crc);
	*off += 12 + len;
}

static char *render(const char *text, int scale)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	QRcode *qr;
	uint8_t *raw = NULL, *z = NULL, *png = NULL, ihdr[13];
	char *url = NULL;
	uLongf zlen;
	size_t w, rowlen, rawlen, off = 0;

	if (scale < 1 || scale > 16)
		scale = 8;
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	if (!qr)
		return NULL;
	w = ((size_t)qr->width + 8) * (size_t)scale;
	rowlen = w + 1;
	rawlen = rowlen * w;
	raw = malloc(rawlen);
	zlen = compressBound((uLong)rawlen);
	z = malloc(zlen);
	if (!raw || !z)
		goto out;
	for (size_t y = 0; y < w; y++) {
		uint8_t *row = raw + y * rowlen;
		long my = (long)(y / (size_t)scale) - 4;

		row[0] = 0; /* filter: none */
		for (size_t x = 0; x < w; x++) {
			long mx = (long)(x / (size_t)scale) - 4;
			int dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
				   (qr->data[my * qr->width + mx] & 1);

			row[1 + x] = dark ? 0 : 255;
		}
	}
	if (compress2(z, &zlen, raw, (uLong)rawlen, 9) != Z_OK)
		goto out;
	png = malloc(8 + 25 + 12 + zlen + 12);
	if (!png)
		goto out;
	memcpy(png, sig, 8);
	off = 8;
	put32(ihdr, (uint32_t)w);
	put32(ihdr + 4, (uint32_t)w);
	ihdr[8] = 8;  /* bit depth */
	ihdr[9] = 0;  /* greyscale */
	ihdr[10] = ihdr[11] = ihdr[12] = 0;
	chunk(png, &off, "IHDR", ihdr, 13);
	chunk(png, &off, "IDAT", z, (uint32_t)zlen);
	chunk(png, &off, "IEND", NULL, 0);
	url = malloc(22 + 4 * ((off + 2) / 3) + 1);
	if (url) {
		memcpy(url, "data:image/png;base64,", 22);
		wa_base64_encode(png, off, url + 22);
	}
out:
	free(raw);
	free(z);
	free(png);
	QRcode_free(qr);
	return url;
}

/* The last QR each thread rendered: a page polling /qr asks for the same
 * ref many times while it is shown (rendering and deflating one takes
 * milliseconds). Per thread, so no lock; freed when the thread ends. */
struct last_qr {
	char *text;
	int scale;
	char *url;
};

static pthread_key_t last_key;
static pthread_once_t last_once = PTHREAD_ONCE_INIT;
static int last_ok;

static void last_free(void *p)
{
	struct last_qr *l = p;

	free(l->text);
	free(l->url);
	free(l);
}

static void last_init(void)
{
	last_ok = pthread_key_create(&last_key, last_free) == 0;
}

char *wa_qr_png_data_url(const char *text, int scale)
{
	struct last_qr *l;
	char *url, *t, *u;

	if (scale < 1 || scale > 16)
		scale = 8;
	pthread_once(&last_once, last_init);
	l = last_ok ? pthread_getspecific(last_key) : NULL;
	if (l && l->scale == scale && strcmp(l->text, text) == 0)
		return strdup(l->url);
	url = render(text, scale);
	if (!url || !last_ok)
		return url;
	if (!l && (l = calloc(1, sizeof *l)) != NULL && pthread_setspecific(last_key, l) != 0) {
		free(l);
		l = NULL;
	}
	if (l && (t = strdup(text)) != NULL) {
		if ((u = strdup(url)) != NULL) {
			free(l->text);
			free(l->url);
			l->text = t;
			l->url = u;
			l->scale = scale;
		} else {
			free(t);
		}
	}
	return url;
}
