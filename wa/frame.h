/* wa/frame: WhatsApp Web's stream framing under the WebSocket layer
 * (docs/protocol.md §1.2).
 *
 *   first client frame only:  [intro] | be3(len) | payload
 *   every later frame:                  be3(len) | payload
 *
 * intro is "WA" 0x06 0x03 (magic 6, dictionary version 3), or, when the
 * client has edge routing info, "ED" 0x00 0x01 | be3(len(ri)) | ri | "WA" 0x06 0x03.
 * The server never sends an intro. A WebSocket message may hold several
 * frames or part of one, so the parser is incremental.
 *
 * Threading: a parser has one owner; the functions keep no global state. */
#ifndef WA_FRAME_H
#define WA_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "wa/buf.h"

/* The 4-byte intro header; also the Noise prologue. */
extern const uint8_t WA_FRAME_INTRO[4];
#define WA_FRAME_INTRO_LEN 4

/* Largest payload a 3-byte length can describe; WhatsApp's read limit is
 * 1<<24 bytes, i.e. exactly this. The default parser cap. */
#define WA_FRAME_MAX_PAYLOAD 0xFFFFFFu
/* Cap on routing info accepted in an "ED" intro (it is tens of bytes). */
#define WA_FRAME_ROUTING_MAX 1024u

/* --- writing --- */

/* Append the intro (with the "ED" routing prefix when routing_len > 0) to
 * out. Returns 0, or -1 on a routing_len over WA_FRAME_ROUTING_MAX or a
 * buffer failure (out unchanged). */
int wa_frame_write_intro(struct wa_buf *out, const uint8_t *routing, size_t routing_len);

/* Append be3(len) | payload to out. Returns 0, or -1 when len >
 * WA_FRAME_MAX_PAYLOAD or the buffer refuses (out unchanged). */
int wa_frame_write(struct wa_buf *out, const void *payload, size_t len);

/* --- reading --- */

struct wa_frame_parser {
	/* configuration */
	size_t max_payload;     /* frames longer than this are an error */
	int expect_intro;       /* server side: consume the client's intro first */
	/* state (private) */
	int state;
	uint8_t hdr[4];
	size_t hdr_have, hdr_need;
	size_t want;            /* payload length of the frame being read */
	uint8_t *buf;           /* partial frame, grown as bytes arrive */
	size_t have, alloc;
	uint8_t routing[WA_FRAME_ROUTING_MAX];
	size_t routing_len;
	int failed;
};

/* Set up a parser. max_payload 0 means WA_FRAME_MAX_PAYLOAD (larger values
 * are clamped to it). expect_intro: 1 for the server reading a client
 * stream, 0 for the client. Never fails. */
void wa_frame_parser_init(struct wa_frame_parser *p, size_t max_payload, int expect_intro);

/* Release the parser's memory; the struct may be re-initialised. NULL-safe. */
void wa_frame_parser_free(struct wa_frame_parser *p);

/* Consume input until one frame is complete.
 * Returns 1 with *payload and *plen set to the frame (pointing into data when
 * the frame arrived in one piece, else into the parser's buffer; valid
 * until the next call on this parser or until data is released), 0 when
 * all len bytes were consumed without completing a frame, or -1 on a bad
 * intro, an oversize length or out of memory; after -1 the parser stays
 * failed. *used is always set to the number of bytes consumed, so the
 * caller loops:
 *
 *     while (len > 0) {
 *         int r = wa_frame_parse(p, data, len, &used, &pl, &pn);
 *         data += used, len -= used;
 *         if (r < 0) fail; if (r == 0) break;
 *         handle(pl, pn);
 *     }
 *
 * Memory held is bounded by max_payload (the buffer of one partial frame)
 * and grows with the bytes actually received, not with the announced
 * length, so a peer cannot make it allocate 16 MiB with a 3-byte header. */
int wa_frame_parse(struct wa_frame_parser *p, const uint8_t *data, size_t len, size_t *used,
		   const uint8_t **payload, size_t *plen);

/* After the intro was parsed (expect_intro): the routing info the client
 * sent in an "ED" intro, or NULL with *len = 0 when there was none. */
const uint8_t *wa_frame_parser_routing(const struct wa_frame_parser *p, size_t *len);

#endif
