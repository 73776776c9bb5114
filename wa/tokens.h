/* tokens: the WhatsApp binary-node dictionaries (dictionary version 3).
 *
 * Single-byte tokens are bytes 1..235 on the wire; byte 0 is LIST_EMPTY, so
 * wa_token_single[0] is an unused empty placeholder. Double-byte tokens are
 * DICTIONARY_0..3 (0xEC..0xEF) followed by an index byte. No string appears
 * twice across the five lists. The tables are generated once from the token
 * text files by tools/gen-tokens.py (see docs/protocol.md section 3.3).
 * Read-only data: every function is reentrant and thread-safe. */
#ifndef WA_TOKENS_H
#define WA_TOKENS_H

#include <stddef.h>

#define WA_DICT_VERSION 3
#define WA_TOKEN_SINGLE_COUNT 236
#define WA_TOKEN_DOUBLE_DICTS 4
#define WA_TOKEN_DOUBLE_COUNT 256

extern const char *const wa_token_single[WA_TOKEN_SINGLE_COUNT];
extern const char *const wa_token_double[WA_TOKEN_DOUBLE_DICTS][WA_TOKEN_DOUBLE_COUNT];

/* Single-byte token idx (1..235), or NULL for 0 or out of range. */
const char *wa_token_get_single(unsigned idx);

/* Double-byte token (dict 0..3, idx 0..255), or NULL out of range. */
const char *wa_token_get_double(unsigned dict, unsigned idx);

/* Reverse lookup of the len bytes at s (hash table, no allocation).
 * Returns 1 for a single-byte token (*idx set), 2 for a double-byte token
 * (*dict and *idx set), 0 if s is not a token (the empty string never is). */
int wa_token_lookup(const char *s, size_t len, unsigned *dict, unsigned *idx);

/* 1 if p points into the static token strings (every pointer in
 * wa_token_single / wa_token_double, including single[0] ""), else 0 (also
 * for NULL). Node trees borrow these strings instead of copying them; they
 * are read-only and must never be freed (see node.h). */
int wa_token_is_static(const char *p);

#endif
