/* wa_buf: capped growable byte buffer (see buf.h). */
#include "wa/buf.h"

#include <stdlib.h>
#include <string.h>

int wa_buf_reserve(struct wa_buf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : WA_BUF_DEFAULT_CAP;
	size_t need, nalloc;
	uint8_t *p;

	if (extra > cap || b->len > cap - extra)
		return -1;
	need = b->len + extra;
	if (need <= b->alloc)
		return 0;
	nalloc = b->alloc ? b->alloc : 256;
	while (nalloc < need)
		nalloc = nalloc > cap / 2 ? cap : nalloc * 2;
	p = realloc(b->data, nalloc);
	if (!p)
		return -1;
	b->data = p;
	b->alloc = nalloc;
	return 0;
}

int wa_buf_append(struct wa_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (wa_buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int wa_buf_put_u8(struct wa_buf *b, uint8_t v)
{
	return wa_buf_append(b, &v, 1);
}

int wa_buf_put_be16(struct wa_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return wa_buf_append(b, x, 2);
}

int wa_buf_put_be24(struct wa_buf *b, uint32_t v)
{
	uint8_t x[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return wa_buf_append(b, x, 3);
}

int wa_buf_put_be32(struct wa_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return wa_buf_append(b, x, 4);
}

void wa_buf_reset(struct wa_buf *b)
{
	b->len = 0;
}

void wa_buf_free(struct wa_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

uint8_t *wa_buf_steal(struct wa_buf *b, size_t *len)
{
	uint8_t *p = b->data;

	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}
