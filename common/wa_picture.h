/* wa_picture: any common image made into what WhatsApp takes as a profile
 * or group picture (docs/protocol.md §9.5, §11.9): the centre square of the first
 * frame, scaled down to at most side x side pixels (never up), JPEG,
 * metadata stripped, GraphicsMagick doing the work.
 *
 * Bounded: inputs over WA_PICTURE_IN_MAX bytes and images wider or taller
 * than WA_PICTURE_DIM_MAX pixels are refused before decoding more than
 * the header needs (GraphicsMagick resource limits, set once).
 *
 * Threading: any thread (GraphicsMagick is initialised once, with
 * pthread_once; each call has its own wand). Errors: 0, or -1 with why
 * set to a reason fit for the client ("not an image"). Ownership: *out is
 * malloc'd, the caller frees it. */
#ifndef WA_PICTURE_H
#define WA_PICTURE_H

#include <stddef.h>
#include <stdint.h>

#define WA_PICTURE_IN_MAX (16u << 20)
#define WA_PICTURE_DIM_MAX 16384
#define WA_PICTURE_PIXELS_MAX (40ul * 1000 * 1000)  /* 320 MB at GraphicsMagick's Q16 */
#define WA_PICTURE_SIDE 640
#define WA_PICTURE_QUALITY 50      /* as Baileys' generateProfilePicture */

/* GraphicsMagick set up once for the process (every user of it calls
 * this: here, the engine's media module): no signal handlers of its own,
 * the limits above (width, height, pixels), one thread per call. */
void wa_gm_init(void);

int wa_picture_jpeg(const uint8_t *in, size_t len, unsigned side, uint8_t **out, size_t *outlen,
		    char *why, size_t whycap);

#endif
