/* media_int: what the media pipeline's files share (media.h is the
 * module's contract). Media threads only. */
#ifndef WA_ENGINE_MEDIA_INT_H
#define WA_ENGINE_MEDIA_INT_H

#include "engine/media.h"

/* The image at path: its size and a JPEG thumbnail WA_MEDIA_THUMB_WIDTH
 * px wide (quality 50; *thumb NULL when it cannot be made). 0, or -1 with
 * why (for the client) when path is not an image GraphicsMagick reads. */
int wa_media_img_thumb(const char *path, uint32_t *width, uint32_t *height, uint8_t **thumb, size_t *thumb_len,
		       char *why, size_t cap);

/* The image at path (its first frame) as a WA_MEDIA_STICKER_SIDE square
 * WebP of quality 1-100 (0: WA_MEDIA_STICKER_QUALITY), no EXIF yet, shaped
 * (enum wa_sticker_shape): FULL fitted inside, aspect kept, centred on
 * transparency; CROP scaled to cover the square and its centre cut out;
 * CIRCLE that square with everything outside its inscribed circle
 * transparent. Malloc'd (*len set), or NULL with why set. */
uint8_t *wa_media_img_sticker(const char *path, int shape, unsigned quality, size_t *len, char *why, size_t cap);

/* w x h RGB pixels (rows w * 3 bytes apart) as a baseline JPEG of that
 * quality, no metadata. Malloc'd (*len set) or NULL. */
uint8_t *wa_media_img_jpeg(const uint8_t *rgb, uint32_t w, uint32_t h, unsigned quality, size_t *len);

/* ---- media_vid.c: what engine/video.h decodes, for the pipeline ---- */

/* A video's size and length (FFmpeg's headers) and its first frame as a
 * JPEG thumbnail WA_MEDIA_THUMB_WIDTH px wide (Baileys: ffmpeg's
 * scale=32:-1 of the frame at 0 s; quality 50 as for images), on *w, *h,
 * *seconds only where they are 0 (what the MP4 boxes said stands). *thumb
 * NULL when no frame decodes. 0, or an engine/video.h error. */
int wa_media_vid_thumb(const char *path, uint32_t *w, uint32_t *h, uint32_t *seconds, uint8_t **thumb,
		       size_t *thumb_len);

/* A video, an animated GIF or an animated WebP (its frames by
 * engine/webp_anim.h's libwebpdemux decoder; the rest by FFmpeg) as an
 * animated WA_MEDIA_STICKER_SIDE square
 * WebP (libwebpmux's WebPAnimEncoder, looping): frames fitted inside,
 * aspect kept, centred on transparency, at most WA_MEDIA_ANIM_MAX_MS of
 * it; first 15 fps at quality 60, then fewer frames and lower quality
 * until it fits in WA_MEDIA_ANIM_MAX_BYTES (the last try is kept as it
 * is). A file longer than max_in_ms (its header's duration; 0: no check)
 * is WA_ETOOBIG with why naming both lengths. 0 with *out (malloc),
 * *len and *frames (1: a still GIF; the caller makes a still sticker of
 * it), or an error with why (for the client). */
int wa_media_vid_sticker(const char *path, uint32_t max_in_ms, uint8_t **out, size_t *len, unsigned *frames,
			 char *why, size_t cap);

/* A voice note's seconds and 64-byte waveform (engine/video.h's
 * wa_video_waveform). 0 or an error. */
int wa_media_vid_waveform(const char *path, uint32_t *seconds, uint8_t *wave);

#endif
