/* wa_picture: a profile or group picture made with GraphicsMagick (see wa_picture.h). */
#include "wa_picture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wand/magick_wand.h>

static pthread_once_t gm_once = PTHREAD_ONCE_INIT;

/* once per process, without GraphicsMagick's signal handlers (the engine's
 * and the workers' own SIGTERM / SIGINT handling stays) */
static void gm_init(void)
{
	ExceptionInfo ex;

	GetExceptionInfo(&ex);
	InitializeMagickEx(NULL, MAGICK_OPT_NO_SIGNAL_HANDER, &ex);
	DestroyExceptionInfo(&ex);
	(void)MagickSetResourceLimit(WidthResource, WA_PICTURE_DIM_MAX);
	(void)MagickSetResourceLimit(HeightResource, WA_PICTURE_DIM_MAX);
	(void)MagickSetResourceLimit(PixelsResource, WA_PICTURE_PIXELS_MAX);
	/* the callers' threads are the parallelism: no OpenMP team per call */
	(void)MagickSetResourceLimit(ThreadsResource, 1);
}

void wa_gm_init(void)
{
	pthread_once(&gm_once, gm_init);
}

int wa_picture_jpeg(const uint8_t *in, size_t len, unsigned side, uint8_t **out, size_t *outlen, char *why,
		    size_t whycap)
{
	MagickWand *w = NULL, *one = NULL;
	unsigned long iw, ih, sq, n;
	unsigned char *blob = NULL;
	size_t blen = 0;
	int rc = -1;

	*out = NULL;
	*outlen = 0;
	if (!in || len == 0 || len > WA_PICTURE_IN_MAX) {
		snprintf(why, whycap, "the picture must be 1 byte to %u MiB", WA_PICTURE_IN_MAX >> 20);
		return -1;
	}
	wa_gm_init();
	w = NewMagickWand();
	if (!w) {
		snprintf(why, whycap, "out of memory");
		return -1;
	}
	if (MagickReadImageBlob(w, in, len) == MagickFalse || MagickGetNumberImages(w) == 0) {
		snprintf(why, whycap, "the file is not an image this server can read");
		goto out;
	}
	/* the first frame only (an animated GIF is a still picture here) */
	(void)MagickSetImageIndex(w, 0);
	one = MagickGetImage(w);
	if (!one) {
		snprintf(why, whycap, "the file is not an image this server can read");
		goto out;
	}
	iw = MagickGetImageWidth(one);
	ih = MagickGetImageHeight(one);
	if (iw == 0 || ih == 0) {
		snprintf(why, whycap, "the image is empty");
		goto out;
	}
	sq = iw < ih ? iw : ih;
	n = sq < side ? sq : side;
	if ((iw != ih && MagickCropImage(one, sq, sq, (long)((iw - sq) / 2), (long)((ih - sq) / 2)) == MagickFalse) ||
	    (n != sq && MagickResizeImage(one, n, n, LanczosFilter, 1.0) == MagickFalse) ||
	    MagickStripImage(one) == MagickFalse || MagickSetImageFormat(one, "JPEG") == MagickFalse ||
	    MagickSetCompressionQuality(one, WA_PICTURE_QUALITY) == MagickFalse) {
		snprintf(why, whycap, "the image could not be converted");
		goto out;
	}
	blob = MagickWriteImageBlob(one, &blen);
	if (!blob || blen < 4 || blob[0] != 0xFF || blob[1] != 0xD8) {
		snprintf(why, whycap, "the image could not be converted");
		goto out;
	}
	*out = malloc(blen);
	if (!*out) {
		snprintf(why, whycap, "out of memory");
		goto out;
	}
	memcpy(*out, blob, blen);
	*outlen = blen;
	rc = 0;
out:
	if (blob)
		MagickRelinquishMemory(blob);
	if (one)
		DestroyMagickWand(one);
	DestroyMagickWand(w);
	return rc;
}
