/* image: a picture as WhatsApp takes it for a profile or group picture
 * (docs/protocol.md §9.5, §11.9): a baseline JPEG, square (the centre of
 * the image, cut to its shorter side), at most 640 x 640, quality 50, no
 * metadata: what Baileys' generateProfilePicture makes. Any format
 * GraphicsMagick reads (JPEG, PNG, GIF's first frame, WebP, BMP, TIFF...)
 * is accepted.
 *
 * The source is a file (path) or, when path is NULL, a URL fetched under
 * policy (common/wa_fetch.h: the address rule, the size and time caps;
 * NULL: the defaults).
 *
 * Errors: 0 with *out (malloc, the caller frees) and *len; WA_EINVAL when
 * it is not an image (or is over WA_IMAGE_MAX_PIXELS); a wa_fetch code
 * (fold with wa_err_class: WA_EDENIED refused address, WA_ETOOBIG,
 * WA_EUNAVAIL, WA_ETIMEDOUT ...) for the URL; WA_ENOMEM; WA_EIO when the
 * file cannot be read.
 *
 * Threading: blocking (GraphicsMagick's work, the fetch): never on the
 * engine's loop thread (a dbpool job). Thread-safe: GraphicsMagick is
 * initialised once (pthread_once), each call has its own wand. */
#ifndef WA_ENGINE_IMAGE_H
#define WA_ENGINE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct wa_fetch_policy;

#define WA_IMAGE_SIDE 640
#define WA_IMAGE_QUALITY 50
#define WA_IMAGE_MAX_BYTES (16u * 1024 * 1024)  /* source file or body */

int wa_image_profile_jpeg(const char *path, const char *url, const struct wa_fetch_policy *policy, uint8_t **out,
			  size_t *len);

#endif
