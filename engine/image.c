/* image: profile / group pictures through GraphicsMagick (see image.h). */
#include "engine/image.h"
#include "wa_err.h"
#include "wa_fetch.h"
#include "wa_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wand/magick_wand.h>

static pthread_once_t gm_once = PTHREAD_ONCE_INIT;

/* without its signal handlers: the engine's own SIGTERM / SIGINT stay */
static void gm_init(void)
{
	ExceptionInfo ex;

	GetExceptionInfo(&ex);
	InitializeMagickEx(NULL, MAGICK_OPT_NO_SIGNAL_HANDER, &ex);
	DestroyExceptionInfo(&ex);
}

/* The whole of fd (at most WA_IMAGE_MAX_BYTES) into *buf. */
static int read_fd(int fd, uint8_t **buf, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	uint8_t *b = malloc(cap);

	if (!b)
		return WA_ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			uint8_t *nb;

			if (cap >= WA_IMAGE_MAX_BYTES) {
				free(b);
				return WA_ETOOBIG;
			}
			cap *= 2;
			if (!(nb = realloc(b, cap))) {
				free(b);
				return WA_ENOMEM;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return WA_EIO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

static int source(const char *path, const char *url, const struct wa_fetch_policy *policy, uint8_t **buf,
		  size_t *len)
{
	int fd, rc;

	if (path) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return WA_EIO;
		rc = read_fd(fd, buf, len);
		close(fd);
		return rc;
	}
	if (!url)
		return WA_EINVAL;
	{
		char tmpl[] = "/tmp/.wa-pic-XXXXXX", why[256];
		struct wa_fetch_policy p;

		if (policy)
			p = *policy;
		else
			wa_fetch_policy_default(&p);

		if (p.max_bytes == 0 || p.max_bytes > WA_IMAGE_MAX_BYTES)
			p.max_bytes = WA_IMAGE_MAX_BYTES;
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd < 0)
			return WA_EIO;
		unlink(tmpl);
		rc = wa_fetch_to_fd(url, &p, fd, NULL, why, sizeof why);
		if (rc == 0 && lseek(fd, 0, SEEK_SET) == 0)
			rc = read_fd(fd, buf, len);
		else if (rc != 0)
			wa_info("picture URL not fetched: %s", why);
		close(fd);
		return rc;
	}
}

int wa_image_profile_jpeg(const char *path, const char *url, const struct wa_fetch_policy *policy, uint8_t **out,
			  size_t *len)
{
	uint8_t *src = NULL, *blob;
	size_t slen = 0, blen = 0;
	MagickWand *w;
	unsigned long wd, ht, side, dst;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = source(path, url, policy, &src, &slen)) != 0)
		return rc;
	pthread_once(&gm_once, gm_init);
	w = NewMagickWand();
	if (!w) {
		free(src);
		return WA_ENOMEM;
	}
	rc = WA_EINVAL;
	if (slen == 0 || MagickReadImageBlob(w, src, slen) == MagickFalse || MagickGetNumberImages(w) == 0)
		goto out;
	if (MagickGetNumberImages(w) > 1) { /* an animation: its first frame */
		MagickWand *first;

		MagickSetImageIndex(w, 0);
		first = MagickGetImage(w);
		if (!first)
			goto out;
		DestroyMagickWand(w);
		w = first;
	}
	wd = MagickGetImageWidth(w);
	ht = MagickGetImageHeight(w);
	if (wd == 0 || ht == 0 || wd > 20000 || ht > 20000)
		goto out;
	side = wd < ht ? wd : ht;
	dst = side < WA_IMAGE_SIDE ? side : WA_IMAGE_SIDE;
	if (MagickCropImage(w, side, side, (long)((wd - side) / 2), (long)((ht - side) / 2)) == MagickFalse ||
	    (dst != side && MagickResizeImage(w, dst, dst, LanczosFilter, 1.0) == MagickFalse) ||
	    MagickStripImage(w) == MagickFalse || MagickSetImageFormat(w, "JPEG") == MagickFalse ||
	    MagickSetCompressionQuality(w, WA_IMAGE_QUALITY) == MagickFalse)
		goto out;
	blob = MagickWriteImageBlob(w, &blen);
	if (!blob || blen == 0) {
		if (blob)
			MagickRelinquishMemory(blob);
		goto out;
	}
	*out = malloc(blen);
	if (*out) {
		memcpy(*out, blob, blen);
		*len = blen;
		rc = 0;
	} else {
		rc = WA_ENOMEM;
	}
	MagickRelinquishMemory(blob);
out:
	DestroyMagickWand(w);
	free(src);
	return rc;
}
