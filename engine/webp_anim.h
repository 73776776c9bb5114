/* engine/webp_anim: an animated WebP's frames, by libwebpdemux's
 * WebPAnimDecoder, for the animated-sticker pipeline (media_vid.c): Debian
 * 12's FFmpeg (5.1) has no animated WebP decoder, so this stands beside
 * engine/video.h's wa_video_frames with the same frame contract.
 *
 * Input: a file path (read whole into memory: libwebp demuxes from a
 * buffer; at most WA_WEBP_ANIM_MAX_BYTES) or a buffer (the fuzz target's).
 * The canvas (the VP8X chunk's) is bounded before the decoder is made (it
 * allocates the canvas at once) and before any frame is decoded: more than
 * WA_WEBP_ANIM_MAX_SIDE on a side or WA_WEBP_ANIM_MAX_PIXELS in all is
 * WA_ETOOBIG (the decoder keeps two RGBA canvases: at most 32 MiB).
 *
 * Frames: the decoder composes each frame onto the canvas (blending and
 * disposal as the file says) and gives the whole canvas, RGBA with
 * straight alpha; a frame starts where the previous one ended (libwebp's
 * timestamps are frame ends). They are sampled down to opts->fps (never
 * up), scaled to fit opts->box_w x box_h (aspect kept, libswscale), and
 * bounded as wa_video_frames bounds them (opts->max_ms, opts->max_frames,
 * WA_VIDEO_MAX_DECODED decoded in all). The callback's contract is
 * engine/video.h's wa_video_frame_fn.
 *
 * Errors (common/wa_err.h): WA_EINVAL not an animated WebP libwebp reads
 * (a still WebP too: GraphicsMagick makes those), WA_ETOOBIG over the
 * bounds, WA_ENOMEM, WA_EIO the file cannot be read; a callback's nonzero
 * value stops and is returned.
 *
 * Threading: blocking, media threads only; each call has its own decoder
 * and scaler. */
#ifndef WA_ENGINE_WEBP_ANIM_H
#define WA_ENGINE_WEBP_ANIM_H

#include "engine/video.h"

#include <stddef.h>
#include <stdint.h>

#define WA_WEBP_ANIM_MAX_BYTES (16u * 1024 * 1024)
#define WA_WEBP_ANIM_MAX_SIDE 4096
#define WA_WEBP_ANIM_MAX_PIXELS (4u * 1024 * 1024)

/* Whether the first n bytes of a file are a WebP with the VP8X
 * animation flag (RIFF....WEBPVP8X, flags byte bit 1): 1 or 0. Needs 21
 * bytes; fewer is 0. */
int wa_webp_is_animated(const uint8_t *head, size_t n);

/* The animation's canvas size, length (the sum of its frames' durations)
 * and frame count, demuxed without decoding (info's has_video set,
 * has_audio 0). 0 or an error. */
int wa_webp_anim_probe_mem(const uint8_t *data, size_t len, struct wa_video_info *info, unsigned *frames);
int wa_webp_anim_probe(const char *path, struct wa_video_info *info, unsigned *frames);

/* The frames, as wa_video_frames gives a video's. 0 when the animation
 * ended or a bound was reached (*nframes, may be NULL: how many fn got),
 * fn's nonzero value, or an error. */
int wa_webp_anim_frames_mem(const uint8_t *data, size_t len, const struct wa_video_opts *opts,
			    wa_video_frame_fn fn, void *ctx, unsigned *nframes);
int wa_webp_anim_frames(const char *path, const struct wa_video_opts *opts, wa_video_frame_fn fn, void *ctx,
			unsigned *nframes);

#endif
