/* media_vid: what engine/video decodes, made into what the media pipeline
 * sends (media_int.h): a video's thumbnail, an animated WebP sticker, a
 * voice note's waveform. Media threads only. */
#include "engine/media_int.h"
#include "engine/video.h"
#include "engine/webp_anim.h"
#include "wa_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <webp/encode.h>
#include <webp/mux.h>

/* ---- thumbnail ---- */

struct thumb {
	uint8_t *jpeg;
	size_t len;
};

static int thumb_frame(void *ctx, const uint8_t *rgba, uint32_t w, uint32_t h, int64_t ts)
{
	struct thumb *t = ctx;
	uint8_t *rgb = malloc((size_t)w * h * 3);

	(void)ts;
	if (!rgb)
		return WA_ENOMEM;
	/* over white: a frame with alpha (a GIF) has no black holes */
	for (size_t i = 0; i < (size_t)w * h; i++) {
		unsigned a = rgba[i * 4 + 3];

		for (int c = 0; c < 3; c++)
			rgb[i * 3 + c] = (uint8_t)((rgba[i * 4 + c] * a + 255 * (255 - a) + 127) / 255);
	}
	t->jpeg = wa_media_img_jpeg(rgb, w, h, 50, &t->len);
	free(rgb);
	return 0;
}

int wa_media_vid_thumb(const char *path, uint32_t *w, uint32_t *h, uint32_t *seconds, uint8_t **thumb,
		       size_t *thumb_len)
{
	struct wa_video_info vi;
	struct wa_video_opts o = { .fps = 1, .max_frames = 1 };
	struct thumb t = { NULL, 0 };
	int rc;

	*thumb = NULL;
	*thumb_len = 0;
	if ((rc = wa_video_probe(path, &vi)) != 0)
		return rc;
	if (!vi.has_video)
		return WA_EINVAL;
	if (!*w || !*h) {
		*w = vi.width;
		*h = vi.height;
	}
	if (!*seconds && vi.duration_ms > 0)
		*seconds = (uint32_t)((vi.duration_ms + 500) / 1000);
	if (!vi.width || !vi.height)
		return 0;
	/* 32 px wide, the height what the aspect makes it (at most 4 x 32) */
	o.box_w = WA_MEDIA_THUMB_WIDTH;
	o.box_h = 4 * WA_MEDIA_THUMB_WIDTH;
	if ((uint64_t)vi.width * o.box_h < (uint64_t)vi.height * o.box_w)
		o.box_w = (uint32_t)(((uint64_t)vi.width * o.box_h + vi.height / 2) / vi.height);
	rc = wa_video_frames(path, &o, thumb_frame, &t, NULL);
	if (rc == 0 && t.jpeg) {
		*thumb = t.jpeg;
		*thumb_len = t.len;
	} else {
		free(t.jpeg);
	}
	return 0; /* a thumbnail that cannot be made is left out */
}

/* ---- animated sticker ---- */

/* The tries, and the size each makes relative to the first (measured on
 * 640x480 and 1280x720 H.264 test patterns: within 2 % of each other), so
 * that a first try far over the limit skips the tries that cannot fit. */
static const struct {
	unsigned fps;
	float quality;
	double rel;
} ladder[] = { { 15, 60, 1.0 }, { 12, 45, 0.72 }, { 10, 35, 0.54 }, { 8, 25, 0.37 }, { 5, 15, 0.21 } };
#define NRUNGS (sizeof ladder / sizeof ladder[0])

struct anim {
	WebPAnimEncoder *enc;
	WebPConfig cfg;
	uint8_t *canvas;       /* side x side RGBA */
	uint32_t fw, fh;       /* the frame size the canvas was cleared for */
	int64_t last_ts;
	unsigned frames;
	int err;
};

static int anim_frame(void *ctx, const uint8_t *rgba, uint32_t w, uint32_t h, int64_t ts)
{
	struct anim *a = ctx;
	const uint32_t side = WA_MEDIA_STICKER_SIDE;
	uint32_t x0, y0;
	WebPPicture pic;
	int ok;

	if (w > side || h > side)
		return WA_EINVAL;
	if (w != a->fw || h != a->fh) {
		memset(a->canvas, 0, (size_t)side * side * 4);
		a->fw = w;
		a->fh = h;
	}
	x0 = (side - w) / 2;
	y0 = (side - h) / 2;
	for (uint32_t y = 0; y < h; y++)
		memcpy(a->canvas + ((size_t)(y0 + y) * side + x0) * 4, rgba + (size_t)y * w * 4, (size_t)w * 4);
	if (a->frames && ts <= a->last_ts)
		ts = a->last_ts + 1;
	if (!WebPPictureInit(&pic))
		return WA_EINTERNAL;
	pic.use_argb = 1;
	pic.width = (int)side;
	pic.height = (int)side;
	if (!WebPPictureImportRGBA(&pic, a->canvas, (int)side * 4))
		return WA_ENOMEM;
	ok = WebPAnimEncoderAdd(a->enc, &pic, (int)ts, &a->cfg);
	WebPPictureFree(&pic);
	if (!ok)
		return WA_EINTERNAL;
	a->last_ts = ts;
	a->frames++;
	return 0;
}

/* Where the frames come from: FFmpeg (videos, GIFs) or libwebpdemux
 * (animated WebP); the same contract (engine/video.h). */
typedef int (*frames_fn)(const char *path, const struct wa_video_opts *o, wa_video_frame_fn fn, void *ctx,
			 unsigned *nframes);

/* One try at fps / quality: the WebP into *out. 0 or an error. */
static int anim_try(const char *path, frames_fn src, unsigned fps, float quality, uint8_t **out, size_t *len,
		    unsigned *frames)
{
	struct wa_video_opts o = { .fps = fps, .box_w = WA_MEDIA_STICKER_SIDE, .box_h = WA_MEDIA_STICKER_SIDE,
				   .max_ms = WA_MEDIA_ANIM_MAX_MS,
				   .max_frames = WA_MEDIA_ANIM_MAX_MS / 1000 * 15 + 1 };
	WebPAnimEncoderOptions eo;
	struct anim a;
	WebPData data;
	int rc;

	memset(&a, 0, sizeof a);
	*out = NULL;
	if (!WebPAnimEncoderOptionsInit(&eo) || !WebPConfigInit(&a.cfg))
		return WA_EINTERNAL;
	eo.anim_params.loop_count = 0; /* forever */
	eo.anim_params.bgcolor = 0;    /* transparent */
	eo.allow_mixed = 0;
	a.cfg.lossless = 0;
	a.cfg.quality = quality;
	a.cfg.method = 3;
	a.cfg.alpha_quality = 80;
	if (!(a.canvas = calloc((size_t)WA_MEDIA_STICKER_SIDE * WA_MEDIA_STICKER_SIDE, 4)))
		return WA_ENOMEM;
	if (!(a.enc = WebPAnimEncoderNew(WA_MEDIA_STICKER_SIDE, WA_MEDIA_STICKER_SIDE, &eo))) {
		free(a.canvas);
		return WA_ENOMEM;
	}
	rc = src(path, &o, anim_frame, &a, NULL);
	*frames = a.frames;
	if (rc == 0 && !a.frames)
		rc = WA_EINVAL;
	if (rc == 0) {
		/* the last frame lasts one step */
		WebPDataInit(&data);
		if (!WebPAnimEncoderAdd(a.enc, NULL, (int)(a.last_ts + 1000 / fps), NULL) ||
		    !WebPAnimEncoderAssemble(a.enc, &data)) {
			rc = WA_EINTERNAL;
		} else if (!(*out = malloc(data.size))) {
			rc = WA_ENOMEM;
		} else {
			memcpy(*out, data.bytes, data.size);
			*len = data.size;
		}
		WebPDataClear(&data);
	}
	WebPAnimEncoderDelete(a.enc);
	free(a.canvas);
	return rc;
}

int wa_media_vid_sticker(const char *path, uint32_t max_in_ms, uint8_t **out, size_t *len, unsigned *frames,
			 char *why, size_t cap)
{
	struct wa_video_info vi;
	frames_fn src = wa_video_frames;
	uint8_t head[32];
	size_t hn = 0;
	FILE *f;
	int rc;

	*out = NULL;
	*len = 0;
	*frames = 0;
	if ((f = fopen(path, "rb"))) {
		hn = fread(head, 1, sizeof head, f);
		fclose(f);
	}
	if (wa_webp_is_animated(head, hn)) {
		/* FFmpeg 5.1 decodes no animated WebP: libwebpdemux does */
		src = wa_webp_anim_frames;
		if ((rc = wa_webp_anim_probe(path, &vi, NULL)) != 0) {
			snprintf(why, cap, "%s", rc == WA_ETOOBIG ? "the animated WebP is too large"
						 : "the animated WebP cannot be read");
			return rc;
		}
	} else if ((rc = wa_video_probe(path, &vi)) != 0 || !vi.has_video) {
		snprintf(why, cap, "%s", rc == WA_ETOOBIG ? "the video is too large"
					 : "the file is not an image or a video this gateway can read");
		return rc ? rc : WA_EINVAL;
	}
	/* half a second of grace: a "10 s" clip is often 10.03 s */
	if (max_in_ms && vi.duration_ms > (int64_t)max_in_ms + 500) {
		snprintf(why, cap, "the video is %lld s long; stickers are made of videos of at most %u s",
			 (long long)((vi.duration_ms + 500) / 1000), (unsigned)(max_in_ms / 1000));
		return WA_ETOOBIG;
	}
	for (size_t i = 0; i < NRUNGS; i++) {
		uint8_t *webp = NULL;
		size_t wl = 0;

		rc = anim_try(path, src, ladder[i].fps, ladder[i].quality, &webp, &wl, frames);
		if (rc != 0) {
			snprintf(why, cap, "%s", rc == WA_ETOOBIG ? "the video is too large"
						 : rc == WA_ENOMEM ? "out of memory"
						 : "the video cannot be decoded");
			return rc;
		}
		free(*out);
		*out = webp;
		*len = wl;
		if (wl <= WA_MEDIA_ANIM_MAX_BYTES || *frames <= 1)
			break;
		/* on with the first try expected to fit (with 5 % to spare), else
		 * the last */
		{
			double per = (double)wl / ladder[i].rel;

			while (i + 2 < NRUNGS && per * ladder[i + 1].rel > 0.95 * WA_MEDIA_ANIM_MAX_BYTES)
				i++;
		}
	}
	return 0;
}

/* ---- voice notes ---- */

int wa_media_vid_waveform(const char *path, uint32_t *seconds, uint8_t *wave)
{
	int64_t ms = 0;
	int rc = wa_video_waveform(path, wave, &ms);

	if (rc == 0)
		*seconds = (uint32_t)((ms + 500) / 1000);
	return rc;
}
