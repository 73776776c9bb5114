/* test_picture: profile pictures made by fcgi/picture.c (GraphicsMagick):
 * the centre square, scaled down to at most 640 px and never up, JPEG
 * without metadata; what is not an image, an empty input and an image
 * wider than the limit are refused with a reason. Images are built here as
 * binary PPMs (P6), which GraphicsMagick reads without a delegate. */
#include "fcgi/picture.h"
#include "tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *ppm(unsigned w, unsigned h, size_t *len)
{
	char head[64];
	int hl = snprintf(head, sizeof head, "P6\n%u %u\n255\n", w, h);
	size_t n = (size_t)hl + (size_t)w * h * 3;
	uint8_t *b = malloc(n);

	if (!b)
		return NULL;
	memcpy(b, head, (size_t)hl);
	for (size_t i = (size_t)hl; i < n; i++)
		b[i] = (uint8_t)(i * 7);
	*len = n;
	return b;
}

/* Width and height from the JPEG's SOF marker; 0 when not found. */
static int jpeg_dims(const uint8_t *d, size_t n, unsigned *w, unsigned *h)
{
	size_t i = 2;

	if (n < 4 || d[0] != 0xFF || d[1] != 0xD8)
		return 0;
	while (i + 9 < n && d[i] == 0xFF) {
		uint8_t m = d[i + 1];
		size_t l = (size_t)d[i + 2] << 8 | d[i + 3];

		if (m == 0xC0 || m == 0xC1 || m == 0xC2) {
			*h = (unsigned)d[i + 5] << 8 | d[i + 6];
			*w = (unsigned)d[i + 7] << 8 | d[i + 8];
			return 1;
		}
		i += 2 + l;
	}
	return 0;
}

/* No APPn segment but JFIF's APP0 (EXIF, XMP, ICC stripped). */
static int no_metadata(const uint8_t *d, size_t n)
{
	size_t i = 2;

	while (i + 4 < n && d[i] == 0xFF && d[i + 1] != 0xDA) {
		uint8_t m = d[i + 1];

		if (m >= 0xE1 && m <= 0xEF)
			return 0;
		i += 2 + ((size_t)d[i + 2] << 8 | d[i + 3]);
	}
	return 1;
}

static void one(unsigned w, unsigned h, unsigned want, const char *label)
{
	size_t len = 0, olen = 0;
	uint8_t *in = ppm(w, h, &len), *out = NULL;
	unsigned ow = 0, oh = 0;
	char why[160] = "";
	char name[160];

	snprintf(name, sizeof name, "%s: converted", label);
	ok(in && wa_picture_jpeg(in, len, WA_PICTURE_SIDE, &out, &olen, why, sizeof why) == 0, name);
	snprintf(name, sizeof name, "%s: a %ux%u JPEG", label, want, want);
	ok(out && jpeg_dims(out, olen, &ow, &oh) && ow == want && oh == want, name);
	if (ow != want || oh != want)
		printf("#   got %ux%u (%s)\n", ow, oh, why);
	snprintf(name, sizeof name, "%s: no metadata segments", label);
	ok(out && no_metadata(out, olen), name);
	free(in);
	free(out);
}

int main(void)
{
	uint8_t *out = (uint8_t *)"x";
	size_t olen = 9, len = 0;
	char why[160] = "";
	static const uint8_t junk[] = "this is not an image at all, only text";
	uint8_t *wide;

	one(900, 600, 600, "landscape 900x600");
	one(700, 1400, 640, "portrait 700x1400");
	one(300, 300, 300, "small square 300x300 (not scaled up)");
	one(641, 641, 640, "641x641");

	{
		/* a JPEG with an EXIF segment (as a phone camera writes): stripped */
		static const uint8_t exif[] = { 0xFF, 0xE1, 0x00, 0x16, 'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 0x2A, 0,
						8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
		uint8_t *in = ppm(64, 48, &len), *j1 = NULL, *j2 = NULL, *tagged;
		size_t l1 = 0, l2 = 0;
		unsigned ow = 0, oh = 0;

		ok(in && wa_picture_jpeg(in, len, WA_PICTURE_SIDE, &j1, &l1, why, sizeof why) == 0, "a JPEG to tag");
		tagged = j1 ? malloc(l1 + sizeof exif) : NULL;
		if (tagged) {
			memcpy(tagged, j1, 2);
			memcpy(tagged + 2, exif, sizeof exif);
			memcpy(tagged + 2 + sizeof exif, j1 + 2, l1 - 2);
		}
		ok(tagged && !no_metadata(tagged, l1 + sizeof exif), "the tagged JPEG has an APP1 segment");
		ok(tagged && wa_picture_jpeg(tagged, l1 + sizeof exif, WA_PICTURE_SIDE, &j2, &l2, why, sizeof why) == 0,
		   "the tagged JPEG converted");
		ok(j2 && no_metadata(j2, l2) && jpeg_dims(j2, l2, &ow, &oh) && ow == 48 && oh == 48,
		   "EXIF gone, 48x48");
		free(in);
		free(j1);
		free(j2);
		free(tagged);
	}
	ok(wa_picture_jpeg(junk, sizeof junk, WA_PICTURE_SIDE, &out, &olen, why, sizeof why) == -1, "text refused");
	ok(out == NULL && olen == 0 && strstr(why, "not an image") != NULL, "with no output and a reason");
	why[0] = '\0';
	ok(wa_picture_jpeg(junk, 0, WA_PICTURE_SIDE, &out, &olen, why, sizeof why) == -1 && why[0], "empty refused");
	wide = ppm(WA_PICTURE_DIM_MAX + 1, 2, &len);
	why[0] = '\0';
	ok(wide && wa_picture_jpeg(wide, len, WA_PICTURE_SIDE, &out, &olen, why, sizeof why) == -1 && out == NULL,
	   "an image wider than the limit refused");
	free(wide);
	return tap_done();
}
