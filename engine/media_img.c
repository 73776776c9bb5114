/* media_img: what GraphicsMagick does for the media pipeline (media.h):
 * an image's size and JPEG thumbnail, and any common image as a 512x512
 * WebP sticker. Called on the media threads only; each call has its own
 * wands (GraphicsMagick is thread-safe so). Pixel limits keep a small file
 * that decodes to a huge image (a decompression bomb) from eating memory. */
#include "engine/media_int.h"
#include "engine/webp_anim.h"
#include "wa_err.h"
#include "wa_picture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wand/magick_wand.h>

#define IMG_MAX_PIXELS ((long)WA_PICTURE_PIXELS_MAX) /* common/wa_picture's limit: 40 megapixels */


/* GraphicsMagick's own text names local paths: the client gets ours. */
static void gm_why(MagickWand *w, const char *what, char *why, size_t cap)
{
	(void)w;
	snprintf(why, cap, "%s", what);
}

struct first {
	uint8_t *rgba;
	uint32_t w, h;
};

static int keep_first(void *ctx, const uint8_t *rgba, uint32_t w, uint32_t h, int64_t ts)
{
	struct first *f = ctx;

	(void)ts;
	if (f->rgba)
		return 1;
	if (!(f->rgba = malloc((size_t)w * h * 4)))
		return WA_ENOMEM;
	memcpy(f->rgba, rgba, (size_t)w * h * 4);
	f->w = w;
	f->h = h;
	return 1;
}

/* An animated WebP's first frame (GraphicsMagick's WebP coder reads no
 * animation: engine/webp_anim.h decodes it) in a new wand, at the
 * canvas's size; NULL with why set. */
static MagickWand *read_anim_webp(const char *path, unsigned long *w_out, unsigned long *h_out, char *why,
				  size_t cap)
{
	struct wa_video_info vi;
	struct wa_video_opts o = { .fps = 1, .max_frames = 1 };
	struct first f = { NULL, 0, 0 };
	MagickWand *w = NULL;
	int rc = wa_webp_anim_probe(path, &vi, NULL);

	if (rc == 0) {
		o.box_w = vi.width;
		o.box_h = vi.height;
		rc = wa_webp_anim_frames(path, &o, keep_first, &f, NULL);
		if (rc == 1)
			rc = 0;
	}
	if (rc != 0 || !f.rgba) {
		snprintf(why, cap, "%s", rc == WA_ETOOBIG ? "the animated WebP is too large"
					 : "the animated WebP cannot be read");
		free(f.rgba);
		return NULL;
	}
	wa_gm_init();
	if (!(w = NewMagickWand()) || MagickSetSize(w, f.w, f.h) != MagickTrue ||
	    MagickReadImage(w, "xc:none") != MagickTrue ||
	    MagickSetImagePixels(w, 0, 0, f.w, f.h, "RGBA", CharPixel, f.rgba) != MagickTrue) {
		snprintf(why, cap, "out of memory");
		if (w)
			DestroyMagickWand(w);
		w = NULL;
	} else {
		*w_out = f.w;
		*h_out = f.h;
	}
	free(f.rgba);
	return w;
}

/* Read the first frame of path into a new wand; NULL with why set. The
 * size is looked at first (a ping reads no pixels): more than
 * IMG_MAX_PIXELS is refused, and a JPEG is decoded scaled down (libjpeg's
 * DCT scaling, at most 1/8) to no less than want x want when want > 0, so
 * a 12-megapixel photo costs a few MB for its thumbnail, not 100. *w_out /
 * *h_out get the full size. */
static MagickWand *read_first(const char *path, unsigned long want, unsigned long *w_out, unsigned long *h_out,
			      char *why, size_t cap)
{
	MagickWand *w;
	uint8_t head[32];
	const char *fmt;
	char spec[1200];
	size_t n = 0;
	FILE *f = fopen(path, "rb");

	if (f) {
		n = fread(head, 1, sizeof head, f);
		fclose(f);
	}
	/* only the raster formats we know, named explicitly: GraphicsMagick
	 * never guesses (no delegates such as Ghostscript, no MVG / SVG) */
	if (!(fmt = wa_media_sniff_image(head, n, NULL))) {
		snprintf(why, cap, "the file is not an image this gateway can read (JPEG, PNG, GIF, WebP, BMP, TIFF)");
		return NULL;
	}
	if (wa_webp_is_animated(head, n))
		return read_anim_webp(path, w_out, h_out, why, cap);
	snprintf(spec, sizeof spec, "%s:%s", fmt, path);
	wa_gm_init(); /* common/wa_picture: the limits, no signal handlers */
	if (!(w = NewMagickWand())) {
		snprintf(why, cap, "out of memory");
		return NULL;
	}
	if (MagickPingImage(w, spec) != MagickTrue) {
		gm_why(w, "the file is not an image this gateway can read (JPEG, PNG, GIF, WebP, BMP, TIFF)", why, cap);
		DestroyMagickWand(w);
		return NULL;
	}
	MagickSetImageIndex(w, 0);
	*w_out = MagickGetImageWidth(w);
	*h_out = MagickGetImageHeight(w);
	DestroyMagickWand(w);
	if (*w_out == 0 || *h_out == 0 || (double)*w_out * (double)*h_out > (double)IMG_MAX_PIXELS) {
		snprintf(why, cap, "the image is empty or larger than %ld megapixels", IMG_MAX_PIXELS / 1000000);
		return NULL;
	}
	if (!(w = NewMagickWand())) {
		snprintf(why, cap, "out of memory");
		return NULL;
	}
	if (want && strcmp(fmt, "JPEG") == 0)
		(void)MagickSetSize(w, want, want);
	if (MagickReadImage(w, spec) != MagickTrue) {
		gm_why(w, "the file is not an image this gateway can read (JPEG, PNG, GIF, WebP, BMP, TIFF)", why, cap);
		DestroyMagickWand(w);
		return NULL;
	}
	MagickSetImageIndex(w, 0);
	return w;
}

int wa_media_img_thumb(const char *path, uint32_t *width, uint32_t *height, uint8_t **thumb, size_t *thumb_len,
		       char *why, size_t cap)
{
	unsigned long iw = 0, ih = 0, th;
	MagickWand *w = read_first(path, 2 * WA_MEDIA_THUMB_WIDTH, &iw, &ih, why, cap);
	unsigned char *blob;
	size_t bl = 0;

	*thumb = NULL;
	*thumb_len = 0;
	if (!w)
		return -1;
	*width = (uint32_t)iw;
	*height = (uint32_t)ih;
	if (iw == 0 || ih == 0) {
		DestroyMagickWand(w);
		snprintf(why, cap, "the image is empty");
		return -1;
	}
	th = (ih * WA_MEDIA_THUMB_WIDTH + iw / 2) / iw;
	if (th < 1)
		th = 1;
	if (th > 4 * WA_MEDIA_THUMB_WIDTH)
		th = 4 * WA_MEDIA_THUMB_WIDTH;
	if (MagickResizeImage(w, WA_MEDIA_THUMB_WIDTH, th, LanczosFilter, 1.0) == MagickTrue &&
	    MagickStripImage(w) == MagickTrue && MagickSetImageFormat(w, "JPEG") == MagickTrue &&
	    MagickSetCompressionQuality(w, 50) == MagickTrue && (blob = MagickWriteImageBlob(w, &bl)) != NULL) {
		if (bl && (*thumb = malloc(bl))) {
			memcpy(*thumb, blob, bl);
			*thumb_len = bl;
		}
		MagickRelinquishMemory(blob);
	}
	DestroyMagickWand(w);
	return 0; /* a thumbnail that cannot be made is left out */
}

/* A side x side mask: opaque white inside the inscribed circle, transparent
 * outside. NULL when it cannot be made. */
static MagickWand *circle_mask(unsigned long side)
{
	MagickWand *m = NewMagickWand();
	DrawingWand *d = NewDrawingWand();
	PixelWand *white = NewPixelWand();
	double c = (double)side / 2.0;
	int ok = m && d && white && MagickSetSize(m, side, side) == MagickTrue &&
		 MagickReadImage(m, "xc:none") == MagickTrue;

	if (ok) {
		PixelSetColor(white, "white");
		DrawSetFillColor(d, white);
		DrawCircle(d, c, c, c, 0.5);
		ok = MagickDrawImage(m, d) == MagickTrue;
	}
	if (white)
		DestroyPixelWand(white);
	if (d)
		DestroyDrawingWand(d);
	if (!ok && m) {
		DestroyMagickWand(m);
		m = NULL;
	}
	return m;
}

uint8_t *wa_media_img_sticker(const char *path, int shape, unsigned quality, size_t *len, char *why, size_t cap)
{
	unsigned long iw = 0, ih = 0, nw, nh, side = WA_MEDIA_STICKER_SIDE;
	MagickWand *img = read_first(path, side, &iw, &ih, why, cap), *canvas = NULL;
	unsigned char *blob = NULL;
	uint8_t *out = NULL;
	size_t bl = 0;
	int cover = shape == WA_STICKER_CROP || shape == WA_STICKER_CIRCLE, ok;

	if (!img)
		return NULL;
	if (iw == 0 || ih == 0) {
		snprintf(why, cap, "the image is empty");
		goto out;
	}
	if (quality == 0 || quality > 100)
		quality = WA_MEDIA_STICKER_QUALITY;
	/* FULL fits inside side x side, CROP and CIRCLE cover it; the aspect
	 * ratio is kept either way */
	if ((iw >= ih) != cover) {
		nw = side;
		nh = (ih * side + iw / 2) / iw;
	} else {
		nh = side;
		nw = (iw * side + ih / 2) / ih;
	}
	nw = nw ? nw : 1;
	nh = nh ? nh : 1;
	if (MagickResizeImage(img, nw, nh, LanczosFilter, 1.0) != MagickTrue) {
		gm_why(img, "the image cannot be resized", why, cap);
		goto out;
	}
	if (cover) {
		/* the centre side x side of it */
		if (MagickCropImage(img, side, side, (long)((nw - side) / 2), (long)((nh - side) / 2)) != MagickTrue) {
			gm_why(img, "the image cannot be cropped", why, cap);
			goto out;
		}
		MagickSetImagePage(img, side, side, 0, 0);
		nw = nh = side;
	}
	/* CIRCLE: the mask, the image kept only where the mask is (In); else
	 * a transparent canvas with the image centred on it */
	if (shape == WA_STICKER_CIRCLE)
		ok = (canvas = circle_mask(side)) != NULL &&
		     MagickCompositeImage(canvas, img, InCompositeOp, 0, 0) == MagickTrue;
	else
		ok = (canvas = NewMagickWand()) != NULL && MagickSetSize(canvas, side, side) == MagickTrue &&
		     MagickReadImage(canvas, "xc:none") == MagickTrue &&
		     MagickCompositeImage(canvas, img, OverCompositeOp, (long)((side - nw) / 2),
					  (long)((side - nh) / 2)) == MagickTrue;
	if (!ok || MagickStripImage(canvas) != MagickTrue || MagickSetImageFormat(canvas, "WEBP") != MagickTrue ||
	    MagickSetCompressionQuality(canvas, quality) != MagickTrue ||
	    !(blob = MagickWriteImageBlob(canvas, &bl)) || bl == 0) {
		if (canvas)
			gm_why(canvas, "the image cannot be converted to WebP", why, cap);
		else
			snprintf(why, cap, "out of memory");
		goto out;
	}
	if ((out = malloc(bl))) {
		memcpy(out, blob, bl);
		*len = bl;
	} else {
		snprintf(why, cap, "out of memory");
	}
out:
	if (blob)
		MagickRelinquishMemory(blob);
	if (canvas)
		DestroyMagickWand(canvas);
	DestroyMagickWand(img);
	return out;
}

uint8_t *wa_media_img_jpeg(const uint8_t *rgb, uint32_t w, uint32_t h, unsigned quality, size_t *len)
{
	MagickWand *wd;
	unsigned char *blob = NULL;
	uint8_t *out = NULL;
	size_t bl = 0;

	wa_gm_init();
	if (!w || !h || !(wd = NewMagickWand()))
		return NULL;
	if (MagickSetSize(wd, w, h) == MagickTrue && MagickReadImage(wd, "xc:white") == MagickTrue &&
	    MagickSetImagePixels(wd, 0, 0, w, h, "RGB", CharPixel, (unsigned char *)rgb) == MagickTrue &&
	    MagickStripImage(wd) == MagickTrue && MagickSetImageFormat(wd, "JPEG") == MagickTrue &&
	    MagickSetCompressionQuality(wd, quality) == MagickTrue && (blob = MagickWriteImageBlob(wd, &bl)) && bl &&
	    (out = malloc(bl))) {
		memcpy(out, blob, bl);
		*len = bl;
	}
	if (blob)
		MagickRelinquishMemory(blob);
	DestroyMagickWand(wd);
	return out;
}
