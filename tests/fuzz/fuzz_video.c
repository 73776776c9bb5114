// fuzz-sources: engine/video.c
/* fuzz_video: hostile bytes as a media file for engine/video (FFmpeg's
 * demuxers and decoders behind our format / protocol whitelist, the frame
 * sampling and scaling, the waveform's sample reading). The input is
 * written to a temporary file (the module takes paths only); byte 0 picks
 * the fps and the box. Properties checked (abort on violation): frames
 * handed out fit the box, come in time order and within the bounds; the
 * waveform is 0..100; a GIF / video made an MP4 (wa_video_to_mp4, to a
 * second temporary file) has even sides within the bound. A good corpus seed is any of tests/fixtures/media/;
 * corpora are not committed. */
#include "fuzz.h"
#include "engine/video.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct seen {
	uint32_t bw, bh;
	int64_t last;
	unsigned n;
};

static int frame(void *ctx, const uint8_t *rgba, uint32_t w, uint32_t h, int64_t ts)
{
	struct seen *s = ctx;

	if (!rgba || w < 1 || h < 1 || w > s->bw || h > s->bh || ts < 0 || (s->n && ts < s->last))
		abort();
	s->last = ts;
	s->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/.fuzz-video-XXXXXX";
	struct wa_video_info vi;
	struct wa_video_opts o;
	struct seen s = { 0 };
	uint8_t wave[WA_VIDEO_WAVEFORM];
	unsigned n = 0;
	int64_t ms;
	int fd;

	if (size < 1)
		return 0;
	if ((fd = mkstemp(path)) < 0)
		return 0;
	if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	memset(&o, 0, sizeof o);
	o.fps = 1 + data[0] % 30;
	o.box_w = s.bw = 1 + (data[0] >> 3) * 3;
	o.box_h = s.bh = 1 + (data[0] & 7) * 5;
	o.max_ms = 3000;
	o.max_frames = 8;
	(void)wa_video_probe(path, &vi);
	if (wa_video_frames(path, &o, frame, &s, &n) == 0 && (n != s.n || n > o.max_frames || n == 0))
		abort();
	if (wa_video_waveform(path, wave, &ms) == 0)
		for (int i = 0; i < WA_VIDEO_WAVEFORM; i++)
			if (wave[i] > 100)
				abort();
	{
		char out[] = "/tmp/.fuzz-video-mp4-XXXXXX";
		struct wa_video_mp4 res;
		int ofd = mkstemp(out);

		if (ofd >= 0) {
			close(ofd);
			if (wa_video_to_mp4(path, out, 3000, &res) == 0 &&
			    (res.width < 2 || res.height < 2 || (res.width | res.height) & 1 ||
			     res.width > WA_VIDEO_MP4_MAX_SIDE || res.height > WA_VIDEO_MP4_MAX_SIDE || !res.frames))
				abort();
			unlink(out);
		}
	}
	unlink(path);
	return 0;
}
