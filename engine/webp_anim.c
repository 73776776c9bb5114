/* webp_anim: an animated WebP's frames by libwebpdemux (see webp_anim.h). */
#include "engine/webp_anim.h"
#include "wa_err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libswscale/swscale.h>
#include <webp/demux.h>

int wa_webp_is_animated(const uint8_t *head, size_t n)
{
	return n >= 21 && !memcmp(head, "RIFF", 4) && !memcmp(head + 8, "WEBPVP8X", 8) && (head[20] & 0x02);
}

/* The file at path whole, at most WA_WEBP_ANIM_MAX_BYTES. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return WA_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return WA_EIO;
	}
	if (st.st_size > (off_t)WA_WEBP_ANIM_MAX_BYTES) {
		close(fd);
		return WA_ETOOBIG;
	}
	if (!(buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1))) {
		close(fd);
		return WA_ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(buf);
		return WA_EIO;
	}
	*out = buf;
	*len = got;
	return 0;
}

static int canvas_ok(uint32_t w, uint32_t h)
{
	return w && h && w <= WA_WEBP_ANIM_MAX_SIDE && h <= WA_WEBP_ANIM_MAX_SIDE &&
	       (uint64_t)w * h <= WA_WEBP_ANIM_MAX_PIXELS;
}

/* The canvas the VP8X chunk declares (what WebPAnimDecoderNew allocates,
 * twice, before it decodes anything): within the bounds, 0; else
 * WA_ETOOBIG (WA_EINVAL: no VP8X to read). */
static int header_ok(const uint8_t *d, size_t n)
{
	if (n < 30)
		return WA_EINVAL;
	return canvas_ok(1 + ((uint32_t)d[24] | (uint32_t)d[25] << 8 | (uint32_t)d[26] << 16),
			 1 + ((uint32_t)d[27] | (uint32_t)d[28] << 8 | (uint32_t)d[29] << 16)) ? 0 : WA_ETOOBIG;
}

int wa_webp_anim_probe_mem(const uint8_t *data, size_t len, struct wa_video_info *info, unsigned *frames)
{
	WebPData wd = { data, len };
	WebPDemuxer *dmx;
	WebPIterator it;
	uint32_t w, h, flags;
	int64_t ms = 0;
	unsigned n = 0;
	int rc;

	memset(info, 0, sizeof *info);
	info->duration_ms = -1;
	if (frames)
		*frames = 0;
	if (!wa_webp_is_animated(data, len))
		return WA_EINVAL;
	if ((rc = header_ok(data, len)) != 0)
		return rc;
	if (!(dmx = WebPDemux(&wd)))
		return WA_EINVAL;
	w = WebPDemuxGetI(dmx, WEBP_FF_CANVAS_WIDTH);
	h = WebPDemuxGetI(dmx, WEBP_FF_CANVAS_HEIGHT);
	flags = WebPDemuxGetI(dmx, WEBP_FF_FORMAT_FLAGS);
	if (!(flags & ANIMATION_FLAG)) {
		WebPDemuxDelete(dmx);
		return WA_EINVAL;
	}
	if (WebPDemuxGetFrame(dmx, 1, &it)) {
		do {
			ms += it.duration > 0 ? it.duration : 0;
			n++;
		} while (WebPDemuxNextFrame(&it));
		WebPDemuxReleaseIterator(&it);
	}
	WebPDemuxDelete(dmx);
	if (!n)
		return WA_EINVAL;
	info->has_video = 1;
	info->width = w;
	info->height = h;
	info->duration_ms = ms;
	if (frames)
		*frames = n;
	return canvas_ok(w, h) ? 0 : WA_ETOOBIG;
}

int wa_webp_anim_probe(const char *path, struct wa_video_info *info, unsigned *frames)
{
	uint8_t *data;
	size_t len;
	int rc;

	memset(info, 0, sizeof *info);
	info->duration_ms = -1;
	if ((rc = read_file(path, &data, &len)) != 0)
		return rc;
	rc = wa_webp_anim_probe_mem(data, len, info, frames);
	free(data);
	return rc;
}

/* w x h fitted inside bw x bh, aspect kept, at least 1 px (as video.c). */
static void fit(uint32_t w, uint32_t h, uint32_t bw, uint32_t bh, uint32_t *ow, uint32_t *oh)
{
	if ((uint64_t)w * bh >= (uint64_t)h * bw) {
		*ow = bw;
		*oh = (uint32_t)(((uint64_t)h * bw + w / 2) / w);
	} else {
		*oh = bh;
		*ow = (uint32_t)(((uint64_t)w * bh + h / 2) / h);
	}
	if (!*ow)
		*ow = 1;
	if (!*oh)
		*oh = 1;
}

int wa_webp_anim_frames_mem(const uint8_t *data, size_t len, const struct wa_video_opts *o,
			    wa_video_frame_fn fn, void *ctx, unsigned *nframes)
{
	WebPData wd = { data, len };
	WebPAnimDecoderOptions dopt;
	WebPAnimDecoder *dec = NULL;
	WebPAnimInfo ai;
	struct SwsContext *sws = NULL;
	uint8_t *rgba = NULL;
	uint32_t dw = 0, dh = 0;
	double step, next = 0;
	int64_t prev_end = 0;
	unsigned decoded = 0, given = 0;
	int rc = 0;

	if (nframes)
		*nframes = 0;
	if (!o || !fn || o->fps < 1 || o->fps > 60 || !o->box_w || !o->box_h)
		return WA_EINVAL;
	if (!wa_webp_is_animated(data, len))
		return WA_EINVAL;
	if ((rc = header_ok(data, len)) != 0)
		return rc;
	if (!WebPAnimDecoderOptionsInit(&dopt))
		return WA_EINTERNAL;
	dopt.color_mode = MODE_RGBA;
	dopt.use_threads = 0;
	if (!(dec = WebPAnimDecoderNew(&wd, &dopt)))
		return WA_EINVAL;
	if (!WebPAnimDecoderGetInfo(dec, &ai) || !ai.frame_count) {
		rc = WA_EINVAL;
		goto out;
	}
	if (!canvas_ok(ai.canvas_width, ai.canvas_height)) {
		rc = WA_ETOOBIG;
		goto out;
	}
	fit(ai.canvas_width, ai.canvas_height, o->box_w, o->box_h, &dw, &dh);
	sws = sws_getContext((int)ai.canvas_width, (int)ai.canvas_height, AV_PIX_FMT_RGBA, (int)dw, (int)dh,
			     AV_PIX_FMT_RGBA, SWS_BICUBIC, NULL, NULL, NULL);
	if (!sws || !(rgba = malloc((size_t)dw * dh * 4))) {
		rc = WA_ENOMEM;
		goto out;
	}
	step = 1000.0 / o->fps;
	while (WebPAnimDecoderHasMoreFrames(dec)) {
		uint8_t *buf = NULL;
		int end = 0;
		int64_t rel = prev_end;
		const uint8_t *src[4];
		uint8_t *dst[4] = { rgba, NULL, NULL, NULL };
		int sstride[4] = { (int)ai.canvas_width * 4, 0, 0, 0 }, dstride[4] = { (int)dw * 4, 0, 0, 0 };

		if (++decoded > WA_VIDEO_MAX_DECODED)
			break;
		if (!WebPAnimDecoderGetNext(dec, &buf, &end) || !buf) {
			rc = given ? 0 : WA_EINVAL; /* a broken frame: what came before stands */
			break;
		}
		prev_end = end > prev_end ? end : prev_end;
		if (o->max_ms && rel >= o->max_ms)
			break;
		if (given && (double)rel + 0.5 < next)
			continue; /* sampled out */
		while (next <= (double)rel + 0.5)
			next += step;
		src[0] = buf;
		src[1] = src[2] = src[3] = NULL;
		if (sws_scale(sws, src, sstride, 0, (int)ai.canvas_height, dst, dstride) <= 0) {
			rc = WA_EINVAL;
			break;
		}
		given++;
		if ((rc = fn(ctx, rgba, dw, dh, rel)) != 0)
			break;
		if (o->max_frames && given >= o->max_frames)
			break;
	}
	if (!rc && !given)
		rc = WA_EINVAL;
out:
	if (nframes)
		*nframes = given;
	sws_freeContext(sws);
	free(rgba);
	WebPAnimDecoderDelete(dec);
	return rc;
}

int wa_webp_anim_frames(const char *path, const struct wa_video_opts *o, wa_video_frame_fn fn, void *ctx,
			unsigned *nframes)
{
	uint8_t *data;
	size_t len;
	int rc;

	if (nframes)
		*nframes = 0;
	if ((rc = read_file(path, &data, &len)) != 0)
		return rc;
	rc = wa_webp_anim_frames_mem(data, len, o, fn, ctx, nframes);
	free(data);
	return rc;
}
