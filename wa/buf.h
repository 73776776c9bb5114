/* wa_buf: growable byte buffer with a hard cap, for encoders and framers.
 *
 * A zeroed struct (WA_BUF_INIT) is an empty buffer with the default cap.
 * Appends return 0 or -1; -1 means out of memory or the cap would be
 * exceeded, and the buffer is unchanged (never silently truncated).
 * Ownership: the buffer owns `data`; wa_buf_free() releases it and resets
 * the struct, wa_buf_steal() hands it to the caller (who free()s it).
 * Not thread-safe: one owner at a time. */
#ifndef WA_BUF_H
#define WA_BUF_H

#include <stddef.h>
#include <stdint.h>

#define WA_BUF_DEFAULT_CAP (64u * 1024 * 1024)

struct wa_buf {
	uint8_t *data;
	size_t len;
	size_t alloc;
	size_t cap;   /* 0 means WA_BUF_DEFAULT_CAP */
};

#define WA_BUF_INIT { NULL, 0, 0, 0 }

int wa_buf_reserve(struct wa_buf *b, size_t extra);
int wa_buf_append(struct wa_buf *b, const void *p, size_t n);
int wa_buf_put_u8(struct wa_buf *b, uint8_t v);
int wa_buf_put_be16(struct wa_buf *b, uint16_t v);
int wa_buf_put_be24(struct wa_buf *b, uint32_t v);
int wa_buf_put_be32(struct wa_buf *b, uint32_t v);
void wa_buf_reset(struct wa_buf *b);           /* len = 0, keeps memory */
void wa_buf_free(struct wa_buf *b);            /* NULL-safe */
uint8_t *wa_buf_steal(struct wa_buf *b, size_t *len);

#endif
