/* msgid: WhatsApp message ids and request (IQ) ids (docs/protocol.md 7.1).
 *
 * Message ids as the modern web client and whatsmeow make them:
 *   "3EB0" + upper-case hex of the first 9 bytes of
 *   SHA-256( uint64_be(unix seconds) || [own phone user || "@c.us"] || 16 random bytes )
 * = 22 characters. Ids from other clients look different (Android/iOS
 * "3A..."/32-hex, Baileys legacy 40 chars), so incoming ids are only checked
 * loosely with wa_msgid_is_valid().
 *
 * Thread-safe; no allocation. Randomness comes from wa_random() (OpenSSL). */
#ifndef WA_MSGID_H
#define WA_MSGID_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define WA_MSGID_PREFIX "3EB0"
#define WA_MSGID_LEN 22        /* length of a generated id */
#define WA_MSGID_MAX 128       /* longest id wa_msgid_is_valid() accepts */

/* Generate a new id into out (at least WA_MSGID_LEN + 1 bytes). own_user is
 * the account's phone-number user ("15551234567", no server; NULL or "" when
 * not paired yet), now the current unix time. Returns 0, or -1 if the random
 * source failed (out is then ""). */
int wa_msgid_generate(char out[WA_MSGID_LEN + 1], const char *own_user, time_t now);

/* Deterministic core of wa_msgid_generate() with the 16 random bytes given
 * (for tests and the simulator). */
void wa_msgid_from_parts(char out[WA_MSGID_LEN + 1], const char *own_user, uint64_t unix_secs,
			 const uint8_t random16[16]);

/* 1 if id has the exact generated form ("3EB0" + 18 upper-case hex). */
int wa_msgid_is_generated(const char *id);

/* 1 if id is acceptable as a message id from the network or the REST API:
 * 1..WA_MSGID_MAX characters from [A-Za-z0-9._:-]. 0 otherwise (including
 * NULL), so it is safe to use in paths, logs and SQL parameters. */
int wa_msgid_is_valid(const char *id);

/* IQ / request ids, whatsmeow style: a per-connection prefix
 * "<b0>.<b1>-" from two random bytes, then a counter from 1
 * ("57.201-1", "57.201-2", ...). out needs WA_IQID_PREFIX_MAX bytes. */
#define WA_IQID_PREFIX_MAX 10
int wa_iqid_prefix(char out[WA_IQID_PREFIX_MAX]);

/* prefix + counter into buf; returns the length or -1 if cap is too small. */
int wa_iqid_format(const char *prefix, uint64_t counter, char *buf, size_t cap);

#endif
