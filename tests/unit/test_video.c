/* engine/video and media_vid on the committed fixtures
 * (tests/fixtures/media: made by the ffmpeg CLI, see its README): what the
 * headers say, frames sampled, scaled and bounded, the waveform of a voice
 * note, the first-frame thumbnail, the animated sticker and the too-long
 * refusal, and the errors of what is no video. */
#include "tap.h"
#include "engine/media_int.h"
#include "engine/video.h"
#include "engine/webp_anim.h"
#include "wa_err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char dir[2048];

static const char *fx(const char *name)
{
	static char p[2][2100];
	static int i;

	i ^= 1;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

struct col {
	unsigned n;
	uint32_t w, h;
	int64_t ts[400];
	int order_ok;
	unsigned stop_at;
};

static int collect(void *ctx, const uint8_t *rgba, uint32_t w, uint32_t h, int64_t ts)
{
	struct col *c = ctx;

	(void)rgba;
	if (c->n && ts <= c->ts[c->n - 1])
		c->order_ok = 0;
	if (c->n < 400)
		c->ts[c->n] = ts;
	c->n++;
	c->w = w;
	c->h = h;
	return c->stop_at && c->n == c->stop_at ? 7 : 0;
}

static uint32_t le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

/* The size in a JPEG's SOF0..SOF2 marker; 0 when none. */
static int jpeg_size(const uint8_t *b, size_t n, unsigned *w, unsigned *h)
{
	size_t i = 2;

	if (n < 4 || b[0] != 0xff || b[1] != 0xd8)
		return -1;
	while (i + 9 < n) {
		unsigned m, l;

		if (b[i] != 0xff)
			return -1;
		m = b[i + 1];
		l = (unsigned)b[i + 2] << 8 | b[i + 3];
		if (m >= 0xc0 && m <= 0xc2) {
			*h = (unsigned)b[i + 5] << 8 | b[i + 6];
			*w = (unsigned)b[i + 7] << 8 | b[i + 8];
			return 0;
		}
		i += 2 + l;
	}
	return -1;
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	struct wa_video_info vi;
	struct wa_video_opts o;
	struct col c;
	uint8_t wave[WA_VIDEO_WAVEFORM], *webp = NULL, *thumb = NULL;
	size_t wl = 0, tl = 0;
	unsigned frames = 0, n = 0, tw = 0, th = 0;
	uint32_t w = 0, h = 0, secs = 0;
	int64_t ms = 0;
	char why[200];
	struct timespec t0, t1;
	FILE *f;

	snprintf(dir, sizeof dir, "%s/tests/fixtures/media", top ? top : ".");

	/* the headers */
	is_int(wa_video_probe(fx("clip2s.mp4"), &vi), 0, "probe: the 2 s clip");
	ok(vi.has_video && !vi.has_audio && vi.width == 64 && vi.height == 48, "probe: 64 x 48, video only");
	ok(vi.duration_ms >= 1900 && vi.duration_ms <= 2100, "probe: about 2000 ms");
	is_int(wa_video_probe(fx("clip15s.mp4"), &vi), 0, "probe: the 15 s clip");
	ok(vi.duration_ms >= 14900 && vi.duration_ms <= 15100 && vi.width == 32 && vi.height == 24, "probe: 15 s, 32 x 24");
	is_int(wa_video_probe(fx("anim.gif"), &vi), 0, "probe: the GIF");
	ok(vi.has_video && vi.width == 40 && vi.height == 40, "probe: GIF 40 x 40");
	is_int(wa_video_probe(fx("voice3s.ogg"), &vi), 0, "probe: the voice note");
	ok(vi.has_audio && !vi.has_video, "probe: audio only");

	/* frames: 10 fps sampled to 5, fitted in 32 x 32 */
	memset(&c, 0, sizeof c);
	c.order_ok = 1;
	memset(&o, 0, sizeof o);
	o.fps = 5;
	o.box_w = o.box_h = 32;
	is_int(wa_video_frames(fx("clip2s.mp4"), &o, collect, &c, &n), 0, "frames: decoded");
	is_int(c.n, 10, "frames: 2 s at 5 fps");
	is_int(n, 10, "frames: counted");
	ok(c.w == 32 && c.h == 24, "frames: fitted, aspect kept (32 x 24)");
	ok(c.order_ok && c.ts[0] == 0 && c.ts[1] == 200 && c.ts[9] == 1800, "frames: 0, 200 .. 1800 ms");
	/* the bounds */
	memset(&c, 0, sizeof c);
	o.fps = 60;
	o.max_frames = 3;
	is_int(wa_video_frames(fx("clip2s.mp4"), &o, collect, &c, &n), 0, "max_frames: stops");
	is_int(c.n, 3, "max_frames: 3 frames");
	memset(&c, 0, sizeof c);
	o.max_frames = 0;
	o.max_ms = 1000;
	is_int(wa_video_frames(fx("clip2s.mp4"), &o, collect, &c, &n), 0, "max_ms: stops");
	is_int(c.n, 10, "max_ms: the first second at the source's 10 fps (never up-sampled)");
	memset(&c, 0, sizeof c);
	o.max_ms = 0;
	c.stop_at = 2;
	is_int(wa_video_frames(fx("clip2s.mp4"), &o, collect, &c, &n), 7, "the callback's value stops and is returned");
	memset(&c, 0, sizeof c);
	o.fps = 15;
	o.box_w = o.box_h = 512;
	is_int(wa_video_frames(fx("anim.gif"), &o, collect, &c, &n), 0, "GIF frames");
	ok(c.n == 8 && c.w == 512 && c.h == 512, "GIF: its 8 frames, scaled up to the box");

	/* what is no video */
	f = fopen("/tmp/.test_video_txt", "w");
	if (f) {
		fputs("this is not a video at all, just some text\n", f);
		fclose(f);
	}
	is_int(wa_video_probe("/tmp/.test_video_txt", &vi), WA_EINVAL, "text: WA_EINVAL");
	is_int(wa_video_frames("/tmp/.test_video_txt", &o, collect, &c, &n), WA_EINVAL, "text: no frames");
	remove("/tmp/.test_video_txt");
	is_int(wa_video_probe("/nonexistent/x.mp4", &vi), WA_EIO, "a missing file: WA_EIO");
	is_int(wa_video_frames(fx("voice3s.ogg"), &o, collect, &c, &n), WA_EINVAL, "audio only: no frames");
	is_int(wa_video_waveform(fx("clip2s.mp4"), wave, &ms), WA_EINVAL, "video only: no waveform");

	/* the waveform: a 440 Hz tone rising linearly over 3 s */
	is_int(wa_video_waveform(fx("voice3s.ogg"), wave, &ms), 0, "waveform");
	ok(ms >= 2950 && ms <= 3050, "waveform: 3 s of samples");
	{
		int max = 0, rising = 1;

		for (int i = 0; i < WA_VIDEO_WAVEFORM; i++) {
			if (wave[i] > max)
				max = wave[i];
			if (i > 4 && wave[i] + 3 < wave[i - 4])
				rising = 0;
		}
		ok(max == 100 || max == 99, "waveform: the loudest block is 100 (floor)");
		ok(wave[0] < 5 && wave[32] > 40 && wave[32] < 60 && rising, "waveform: rises with the tone");
	}
	is_int(wa_media_vid_waveform(fx("voice3s.ogg"), &secs, wave), 0, "media_vid waveform");
	is_int(secs, 3, "media_vid waveform: 3 s");

	/* the first frame as a 32 px thumbnail */
	secs = 0;
	is_int(wa_media_vid_thumb(fx("clip2s.mp4"), &w, &h, &secs, &thumb, &tl), 0, "thumbnail");
	ok(w == 64 && h == 48 && secs == 2, "thumbnail: size and seconds filled in");
	ok(thumb && jpeg_size(thumb, tl, &tw, &th) == 0 && tw == 32 && th == 24, "thumbnail: a 32 x 24 JPEG");
	free(thumb);

	/* the animated sticker */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(wa_media_vid_sticker(fx("clip2s.mp4"), 10000, &webp, &wl, &frames, why, sizeof why), 0,
	       "sticker of the 2 s clip");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# 2 s clip: %u frames, %zu bytes, %.0f ms\n", frames, wl,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	ok(frames >= 10 && wl > 30 && wl <= WA_MEDIA_ANIM_MAX_BYTES, "sticker: frames, under 500 KB");
	ok(webp && !memcmp(webp, "RIFF", 4) && !memcmp(webp + 8, "WEBPVP8X", 8) && (webp[20] & 0x02) &&
	   le24(webp + 24) + 1 == 512 && le24(webp + 27) + 1 == 512, "sticker: VP8X, animated, 512 x 512");
	ok(webp && wl > 38 && !memcmp(webp + 30, "ANIM", 4), "sticker: ANIM after VP8X");
	free(webp);
	webp = NULL;
	is_int(wa_media_vid_sticker(fx("anim.gif"), 10000, &webp, &wl, &frames, why, sizeof why), 0, "sticker of the GIF");
	ok(frames == 8 && webp && (webp[20] & 0x02), "GIF sticker: 8 frames, animated");
	free(webp);
	webp = NULL;
	is_int(wa_media_vid_sticker(fx("clip15s.mp4"), 10000, &webp, &wl, &frames, why, sizeof why), WA_ETOOBIG,
	       "the 15 s clip is too long for 10 s");
	ok(!webp && strstr(why, "15 s") && strstr(why, "10 s"), "too long: the answer names both");
	is_int(wa_media_vid_sticker(fx("clip15s.mp4"), 20000, &webp, &wl, &frames, why, sizeof why), 0,
	       "the 15 s clip under a 20 s limit");
	ok(frames > 10 && frames <= 151, "its first 10 s only, bounded frames");
	free(webp);

	/* a GIF as an MP4 (what is sent with gifPlayback) */
	{
		char out[] = "/tmp/.test_video_mp4_XXXXXX";
		struct wa_video_mp4 res;
		int fd = mkstemp(out);
		uint32_t ms4 = 0, w4 = 0, h4 = 0;

		ok(fd >= 0, "mp4: a temporary file");
		if (fd >= 0)
			close(fd);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		is_int(wa_video_to_mp4(fx("anim.gif"), out, 60000, &res), 0, "mp4: the GIF converted");
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# GIF 40 x 40 x 8 as MP4: %u frames, %lld ms long, %.0f ms\n", res.frames,
		       (long long)res.duration_ms, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
		ok(res.width == 40 && res.height == 40 && res.frames == 9, "mp4: 40 x 40, 8 frames and the last again");
		ok(res.duration_ms >= 950 && res.duration_ms <= 1050, "mp4: as long as the GIF");
		is_int(wa_media_mp4_info(out, &ms4, &w4, &h4), 0, "mp4: ISO BMFF");
		ok(ms4 == 1 && w4 == 40 && h4 == 40, "mp4: mvhd / tkhd say 1 s, 40 x 40");
		is_int(wa_video_probe(out, &vi), 0, "mp4: FFmpeg reads it back");
		ok(vi.has_video && !vi.has_audio, "mp4: video only");
		memset(&c, 0, sizeof c);
		o.fps = 30;
		o.box_w = o.box_h = 64;
		o.max_ms = 0;
		o.max_frames = 0;
		is_int(wa_video_frames(out, &o, collect, &c, &n), 0, "mp4: its frames decode");
		ok(c.n >= 8 && c.n <= 9, "mp4: the GIF's frames");
		is_int(wa_video_to_mp4(fx("anim_odd.gif"), out, 60000, &res), 0, "mp4: the 41 x 31 GIF");
		ok(res.width == 40 && res.height == 30, "mp4: even sides (40 x 30)");
		is_int(wa_video_to_mp4(fx("long.gif"), out, 60000, &res), WA_ETOOBIG, "mp4: an 80 s GIF over 60 s");
		is_int(wa_video_to_mp4(fx("long.gif"), out, 0, &res), 0, "mp4: the 80 s GIF with no bound");
		ok(res.duration_ms >= 79000 && res.duration_ms <= 81000, "mp4: 80 s of 20 s frames");
		is_int(wa_video_to_mp4(fx("clip2s.mp4"), out, 60000, &res), 0, "mp4: a video too");
		is_int(wa_video_to_mp4(fx("voice3s.ogg"), out, 60000, &res), WA_EINVAL, "mp4: audio only");
		unlink(out);
	}

	/* an animated WebP (libwebpdemux) */
	{
		uint8_t head[32];
		size_t hn = 0;
		unsigned nf = 0;

		f = fopen(fx("anim.webp"), "rb");
		if (f) {
			hn = fread(head, 1, sizeof head, f);
			fclose(f);
		}
		ok(wa_webp_is_animated(head, hn), "webp: the fixture is animated");
		ok(!wa_webp_is_animated(head, 20), "webp: 20 bytes do not say");
		is_int(wa_webp_anim_probe(fx("anim.webp"), &vi, &nf), 0, "webp: probe");
		ok(vi.width == 48 && vi.height == 32 && nf == 10, "webp: 48 x 32, 10 frames");
		ok(vi.duration_ms >= 950 && vi.duration_ms <= 1050, "webp: 1 s");
		memset(&c, 0, sizeof c);
		c.order_ok = 1;
		memset(&o, 0, sizeof o);
		o.fps = 5;
		o.box_w = o.box_h = 24;
		is_int(wa_webp_anim_frames(fx("anim.webp"), &o, collect, &c, &n), 0, "webp: frames");
		ok(c.n == 5 && n == 5 && c.order_ok && c.ts[0] == 0 && c.ts[1] == 200, "webp: 10 fps sampled to 5");
		ok(c.w == 24 && c.h == 16, "webp: fitted, aspect kept (24 x 16)");
		memset(&c, 0, sizeof c);
		o.fps = 30;
		o.max_frames = 3;
		is_int(wa_webp_anim_frames(fx("anim.webp"), &o, collect, &c, &n), 0, "webp: max_frames");
		is_int(c.n, 3, "webp: 3 frames");
		is_int(wa_webp_anim_frames(fx("anim.gif"), &o, collect, &c, &n), WA_EINVAL, "webp: a GIF is no WebP");
		webp = NULL;
		is_int(wa_media_vid_sticker(fx("anim.webp"), 10000, &webp, &wl, &frames, why, sizeof why), 0,
		       "webp: an animated sticker of it");
		ok(frames == 10 && webp && (webp[20] & 0x02) && le24(webp + 24) + 1 == 512, "webp sticker: 10 frames, 512");
		free(webp);
		webp = NULL;
		is_int(wa_media_vid_sticker(fx("anim.webp"), 400, &webp, &wl, &frames, why, sizeof why), WA_ETOOBIG,
		       "webp: 1 s is longer than a 0.4 s limit (with its 0.5 s grace)");
		ok(!webp && strstr(why, "is 1 s long"), "webp: too long names the length");
		/* its first frame, where a still image is wanted (GraphicsMagick
		 * reads no animated WebP) */
		webp = wa_media_img_sticker(fx("anim.webp"), WA_STICKER_CROP, 0, &wl, why, sizeof why);
		ok(webp && wl > 20 && !(webp[12] == 'V' && webp[15] == 'X' && (webp[20] & 0x02)),
		   "webp: a still sticker of its first frame");
		free(webp);
		webp = NULL;
		thumb = NULL;
		w = h = 0;
		is_int(wa_media_img_thumb(fx("anim.webp"), &w, &h, &thumb, &tl, why, sizeof why), 0,
		       "webp: an image thumbnail of it");
		ok(w == 48 && h == 32 && thumb && jpeg_size(thumb, tl, &tw, &th) == 0 && tw == 32, "webp: 48 x 32, 32 px");
		free(thumb);
	}
	return tap_done();
}
