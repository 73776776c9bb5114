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
 * WebP: fitted inside, aspect kept, centred on transparency; no EXIF yet.
 * Malloc'd (*len set), or NULL with why set. */
uint8_t *wa_media_img_sticker(const char *path, size_t *len, char *why, size_t cap);

#endif
