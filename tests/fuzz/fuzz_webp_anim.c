// fuzz-sources: engine/webp_anim.c
/* fuzz_webp_anim: hostile bytes as an animated WebP for engine/webp_anim
 * (the animation sniff, libwebpdemux's demuxer and WebPAnimDecoder behind
 * our canvas bounds, the frame sampling and scaling). Byte 0 picks the fps
 * and the box; the rest is the file (from memory: no temporary file).
 * Properties checked (abort on violation): frames handed out fit the box
 * and come in time order within the bounds; the probe's canvas is within
 * WA_WEBP_ANIM_MAX_* when it succeeds. A good seed is
 * tests/fixtures/media/anim.webp with a byte in front; corpora are not
 * committed. */
#include "fuzz.h"
#include "engine/webp_anim.h"

#include <stdlib.h>
#include <string.h>

struct seen {
	uint32_t bw, bh;
	int64_t last;
	unsigned n, sum;
};

static int frame(void *ctx, const uint8_t *rgba, uint32_t w, uint32_t h, int64_t ts)
{
	struct seen *s = ctx;

	if (!rgba || w < 1 || h < 1 || w > s->bw || h > s->bh || ts < 0 || (s->n && ts <= s->last))
		abort();
	/* the whole frame is readable (ASan sees it) */
	s->sum += rgba[0] + rgba[(size_t)w * h * 4 - 1];
	s->last = ts;
	s->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wa_video_info vi;
	struct wa_video_opts o;
	struct seen s = { 0 };
	unsigned n = 0, nf = 0;

	if (size < 1)
		return 0;
	if (wa_webp_anim_probe_mem(data + 1, size - 1, &vi, &nf) == 0 &&
	    (!vi.width || !vi.height || vi.width > WA_WEBP_ANIM_MAX_SIDE || vi.height > WA_WEBP_ANIM_MAX_SIDE ||
	     (uint64_t)vi.width * vi.height > WA_WEBP_ANIM_MAX_PIXELS || !nf))
		abort();
	memset(&o, 0, sizeof o);
	o.fps = 1 + data[0] % 30;
	o.box_w = s.bw = 1 + (data[0] >> 3) * 3;
	o.box_h = s.bh = 1 + (data[0] & 7) * 5;
	o.max_ms = 3000;
	o.max_frames = 8;
	if (wa_webp_anim_frames_mem(data + 1, size - 1, &o, frame, &s, &n) == 0 &&
	    (n != s.n || n > o.max_frames || n == 0))
		abort();
	return 0;
}
