/* wa/frame: intro header and 3-byte length framing (see frame.h). */
#include "wa/frame.h"

#include <stdlib.h>
#include <string.h>

const uint8_t WA_FRAME_INTRO[4] = { 'W', 'A', 6, 3 };
static const uint8_t ED_MAGIC[4] = { 'E', 'D', 0, 1 };

enum {
	ST_MAGIC,       /* first 4 bytes of the client stream: WA.. or ED.. */
	ST_ROUTE_LEN,   /* be3 routing length after "ED\0\1" */
	ST_ROUTE,       /* routing bytes */
	ST_MAGIC2,      /* "WA\6\3" after the routing info */
	ST_LEN,         /* be3 frame length */
	ST_BODY,        /* payload bytes of a frame split across reads */
};

int wa_frame_write_intro(struct wa_buf *out, const uint8_t *routing, size_t routing_len)
{
	size_t need = WA_FRAME_INTRO_LEN;

	if (routing_len > WA_FRAME_ROUTING_MAX || (routing_len && !routing))
		return -1;
	if (routing_len)
		need += 4 + 3 + routing_len;
	/* Reserve first so a failure leaves out unchanged. */
	if (wa_buf_reserve(out, need) != 0)
		return -1;
	if (routing_len) {
		wa_buf_append(out, ED_MAGIC, 4);
		wa_buf_put_be24(out, (uint32_t)routing_len);
		wa_buf_append(out, routing, routing_len);
	}
	wa_buf_append(out, WA_FRAME_INTRO, WA_FRAME_INTRO_LEN);
	return 0;
}

int wa_frame_write(struct wa_buf *out, const void *payload, size_t len)
{
	if (len > WA_FRAME_MAX_PAYLOAD || (len && !payload))
		return -1;
	if (wa_buf_reserve(out, 3 + len) != 0)
		return -1;
	wa_buf_put_be24(out, (uint32_t)len);
	if (len)
		wa_buf_append(out, payload, len);
	return 0;
}

void wa_frame_parser_init(struct wa_frame_parser *p, size_t max_payload, int expect_intro)
{
	memset(p, 0, sizeof *p);
	p->max_payload = (max_payload == 0 || max_payload > WA_FRAME_MAX_PAYLOAD) ? WA_FRAME_MAX_PAYLOAD
										     : max_payload;
	p->expect_intro = expect_intro;
	p->state = expect_intro ? ST_MAGIC : ST_LEN;
	p->hdr_need = expect_intro ? 4 : 3;
}

void wa_frame_parser_free(struct wa_frame_parser *p)
{
	if (!p)
		return;
	free(p->buf);
	p->buf = NULL;
	p->have = p->alloc = 0;
}

const uint8_t *wa_frame_parser_routing(const struct wa_frame_parser *p, size_t *len)
{
	*len = p->routing_len;
	return p->routing_len ? p->routing : NULL;
}

static void expect_hdr(struct wa_frame_parser *p, int state, size_t n)
{
	p->state = state;
	p->hdr_have = 0;
	p->hdr_need = n;
}

static int fail(struct wa_frame_parser *p)
{
	p->failed = 1;
	free(p->buf);
	p->buf = NULL;
	p->alloc = 0;
	return -1;
}

int wa_frame_parse(struct wa_frame_parser *p, const uint8_t *data, size_t len, size_t *used,
		   const uint8_t **payload, size_t *plen)
{
	static const uint8_t empty;
	size_t off = 0;

	*used = 0;
	if (p->failed)
		return -1;
	/* The previous call may have handed out the body buffer; it is dead now. */
	if (p->state != ST_BODY && p->buf) {
		free(p->buf);
		p->buf = NULL;
		p->alloc = 0;
	}

	while (off < len) {
		if (p->state == ST_BODY) {
			size_t take = len - off < p->want - p->have ? len - off : p->want - p->have;

			if (p->have + take > p->alloc) {
				/* double, at least 4 KiB, never past the frame */
				size_t na = p->alloc ? p->alloc * 2 : 4096;
				uint8_t *nb;

				if (na < p->have + take)
					na = p->have + take;
				if (na > p->want)
					na = p->want;
				nb = realloc(p->buf, na);
				if (!nb)
					return *used = off, fail(p);
				p->buf = nb;
				p->alloc = na;
			}
			memcpy(p->buf + p->have, data + off, take);
			p->have += take;
			off += take;
			if (p->have == p->want) {
				*used = off;
				*payload = p->buf;
				*plen = p->want;
				expect_hdr(p, ST_LEN, 3);
				return 1;
			}
			continue;
		}

		/* header-like states: gather hdr_need bytes (or routing bytes) */
		if (p->state == ST_ROUTE) {
			size_t take = len - off < p->want - p->routing_len ? len - off : p->want - p->routing_len;

			memcpy(p->routing + p->routing_len, data + off, take);
			p->routing_len += take;
			off += take;
			if (p->routing_len == p->want)
				expect_hdr(p, ST_MAGIC2, 4);
			continue;
		}
		p->hdr[p->hdr_have++] = data[off++];
		if (p->hdr_have < p->hdr_need)
			continue;

		switch (p->state) {
		case ST_MAGIC:
			if (memcmp(p->hdr, WA_FRAME_INTRO, 4) == 0)
				expect_hdr(p, ST_LEN, 3);
			else if (memcmp(p->hdr, ED_MAGIC, 4) == 0)
				expect_hdr(p, ST_ROUTE_LEN, 3);
			else
				return *used = off, fail(p);
			break;
		case ST_ROUTE_LEN:
			p->want = ((size_t)p->hdr[0] << 16) | ((size_t)p->hdr[1] << 8) | p->hdr[2];
			if (p->want > WA_FRAME_ROUTING_MAX)
				return *used = off, fail(p);
			p->routing_len = 0;
			if (p->want == 0)
				expect_hdr(p, ST_MAGIC2, 4);
			else
				p->state = ST_ROUTE;
			break;
		case ST_MAGIC2:
			if (memcmp(p->hdr, WA_FRAME_INTRO, 4) != 0)
				return *used = off, fail(p);
			expect_hdr(p, ST_LEN, 3);
			break;
		case ST_LEN:
			p->want = ((size_t)p->hdr[0] << 16) | ((size_t)p->hdr[1] << 8) | p->hdr[2];
			if (p->want > p->max_payload)
				return *used = off, fail(p);
			if (p->want == 0) {
				*used = off;
				*payload = &empty;
				*plen = 0;
				expect_hdr(p, ST_LEN, 3);
				return 1;
			}
			if (len - off >= p->want) {
				/* whole frame in this read: hand it out in place */
				*payload = data + off;
				*plen = p->want;
				off += p->want;
				*used = off;
				expect_hdr(p, ST_LEN, 3);
				return 1;
			}
			p->buf = NULL;
			p->have = p->alloc = 0;
			p->state = ST_BODY;
			break;
		}
	}
	*used = off;
	return 0;
}
