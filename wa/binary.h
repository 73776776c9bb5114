/* binary: the WhatsApp binary node codec ("WABinary", dictionary v3).
 *
 * Encodes a struct wa_node tree to the wire format and decodes it back,
 * byte-exact with whatsmeow (docs/protocol.md section 3): list headers
 * LIST_EMPTY / LIST_8 / LIST_16, single-byte and DICTIONARY_0..3 tokens,
 * NIBBLE_8 / HEX_8 packed strings (chosen in whatsmeow's order: token,
 * double token, nibble, hex, raw), BINARY_8/20/32, and the JID encodings
 * JID_PAIR, AD_JID, FB_JID and INTEROP_JID.
 *
 * A decrypted Noise frame is a flag byte followed by a node; flag & 2 means
 * the rest is a zlib (RFC 1950) stream. wa_binary_marshal() writes flag 0;
 * wa_binary_unmarshal() accepts both.
 *
 * Decoding treats its input as hostile: it never reads outside the buffer,
 * rejects trailing bytes, and enforces the caps in struct wa_binary_limits
 * (nesting depth, children/attributes per node, total nodes, total decoded
 * string bytes, decompressed size). A cap hit is an error (WA_BIN_ETOOBIG),
 * never a silent truncation.
 *
 * Pure code, no globals: callable from any thread.
 * Errors are the negative wa_bin_err values (folded into the common
 * vocabulary of common/wa_err.h); wa_binary_strerror() names them. */
#ifndef WA_BINARY_H
#define WA_BINARY_H

#include <stddef.h>
#include <stdint.h>

#include "common/wa_err.h"
#include "wa/buf.h"
#include "wa/node.h"

/* Tag bytes (docs/protocol.md 3.2). */
enum {
	WA_TAG_LIST_EMPTY = 0,
	WA_TAG_DICTIONARY_0 = 236,
	WA_TAG_DICTIONARY_1 = 237,
	WA_TAG_DICTIONARY_2 = 238,
	WA_TAG_DICTIONARY_3 = 239,
	WA_TAG_INTEROP_JID = 245,
	WA_TAG_FB_JID = 246,
	WA_TAG_AD_JID = 247,
	WA_TAG_LIST_8 = 248,
	WA_TAG_LIST_16 = 249,
	WA_TAG_JID_PAIR = 250,
	WA_TAG_HEX_8 = 251,
	WA_TAG_BINARY_8 = 252,
	WA_TAG_BINARY_20 = 253,
	WA_TAG_BINARY_32 = 254,
	WA_TAG_NIBBLE_8 = 255,
};

#define WA_PACKED_MAX 127 /* longest string NIBBLE_8 / HEX_8 can carry */

/* Errors (common/wa_err.h): the generic ones are the common codes; the two
 * decoder-specific ones are module codes of class WA_EPROTO (the bytes came
 * from the far end and are not a valid stanza). */
enum wa_bin_err {
	WA_BIN_OK = WA_OK,
	WA_BIN_EINVAL = WA_EINVAL,   /* malformed input, or a node that cannot be encoded */
	WA_BIN_ETOOBIG = WA_ETOOBIG, /* a cap in wa_binary_limits was exceeded */
	WA_BIN_ENOMEM = WA_ENOMEM,
	WA_BIN_ETRUNC = WA_ERR_MAKE(WA_ERR_BINARY_BASE, WA_EPROTO, 1), /* input ended inside a value */
	WA_BIN_EZLIB = WA_ERR_MAKE(WA_ERR_BINARY_BASE, WA_EPROTO, 2),  /* bad compressed frame */
};

struct wa_binary_limits {
	unsigned max_depth;  /* nesting depth of nodes (root = 1) */
	size_t max_list;     /* children of one node / attributes of one node */
	size_t max_nodes;    /* nodes in one tree */
	size_t max_bytes;    /* sum of decoded strings and byte contents */
	size_t max_inflated; /* decompressed size of a flag&2 frame */
};

/* Defaults used when a NULL limits pointer is passed. Real stanzas stay far
 * below them (depth < 10; the largest lists are group participant lists and
 * usync results of a few thousand). */
#define WA_BIN_DEFAULT_MAX_DEPTH    64
#define WA_BIN_DEFAULT_MAX_LIST     65535
#define WA_BIN_DEFAULT_MAX_NODES    200000
#define WA_BIN_DEFAULT_MAX_BYTES    (64u * 1024 * 1024)
#define WA_BIN_DEFAULT_MAX_INFLATED (32u * 1024 * 1024)

/* Fill lim with the defaults above. */
void wa_binary_limits_default(struct wa_binary_limits *lim);

/* Short lower-case description of a wa_bin_err value. */
const char *wa_binary_strerror(int err);

/* Append the encoding of n (no flag byte) to out. On error out may hold a
 * partial encoding past its old length; callers reset or free it.
 * WA_BIN_EINVAL: a string/list too long for the format, an AD JID device
 * over 255, nesting deeper than WA_BIN_DEFAULT_MAX_DEPTH.
 * Note: like whatsmeow, a node with tag "0" is written as F8 00. */
int wa_binary_encode(const struct wa_node *n, struct wa_buf *out);

/* Encode n as a frame plaintext: flag byte 0 then the node. On success
 * *out is a malloc'd buffer (caller frees) of *outlen bytes. */
int wa_binary_marshal(const struct wa_node *n, uint8_t **out, size_t *outlen);

/* Decode exactly len bytes of node encoding (no flag byte). On success *out
 * is a new tree (caller frees with wa_node_free()); on failure *out is
 * untouched. lim may be NULL for the defaults. */
int wa_binary_decode(const uint8_t *p, size_t len, const struct wa_binary_limits *lim,
		     struct wa_node **out);

/* Decode a frame plaintext: flag byte, then the node, zlib-inflated first
 * when flag & 2 (inflated size capped by lim->max_inflated). */
int wa_binary_unmarshal(const uint8_t *frame, size_t len, const struct wa_binary_limits *lim,
			struct wa_node **out);

/* Turn a flag-0 frame (as from wa_binary_marshal) into a flag-2 frame with
 * the node zlib-compressed. For the simulator and tests: WhatsApp clients
 * never compress what they send. *out is malloc'd. */
int wa_binary_compress_frame(const uint8_t *frame, size_t len, uint8_t **out, size_t *outlen);

/* Encoding of one string as writeString() does it (token, double token,
 * nibble, hex, raw); appended to out. Exposed for tests and vectors. */
int wa_binary_encode_string(const char *s, size_t len, struct wa_buf *out);

#endif
