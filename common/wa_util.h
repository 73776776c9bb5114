/* wa_util: small byte and string helpers shared by every process.
 * All functions are reentrant and thread-safe; none allocates unless said. */
#ifndef WA_UTIL_H
#define WA_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void wa_hex_encode(const uint8_t *in, size_t len, char *out);

/* Decode exactly outlen bytes from a hex string of 2*outlen digits.
 * Returns 0, or -1 on a wrong length or a non-hex digit. */
int wa_hex_decode(const char *hex, uint8_t *out, size_t outlen);

/* Fill buf with cryptographically strong random bytes (OpenSSL RAND_bytes).
 * Returns 0 or -1. */
int wa_random(uint8_t *buf, size_t len);

/* Random token: nbytes random bytes as hex into out (2*nbytes+1). */
int wa_random_hex(char *out, size_t nbytes);

/* Constant-time equality of two equal-length buffers (1 if equal). */
int wa_ct_equal(const void *a, const void *b, size_t len);

/* SHA-256 of data as lower-case hex into out[65]. */
void wa_sha256_hex(const void *data, size_t len, char *out);

/* Standard base64 (with padding). encode: out needs 4*((len+2)/3)+1.
 * decode: returns decoded length, or -1 on bad input or if outcap is too
 * small. Whitespace is not accepted. */
size_t wa_base64_encode(const uint8_t *in, size_t len, char *out);
long wa_base64_decode(const char *in, size_t len, uint8_t *out, size_t outcap);

/* Percent-decode src[0..len) into dst (capacity dstcap, NUL-terminated).
 * '+' is kept as is (path semantics) unless plus_is_space. Returns the
 * decoded length, or -1 on a bad escape, an embedded NUL or overflow. */
long wa_url_decode(const char *src, size_t len, char *dst, size_t dstcap, int plus_is_space);

/* Decoded value of `name` in an application/x-www-form-urlencoded string
 * (a query string or a form body; '+' is a space) into buf (len bytes,
 * NUL-terminated). The first occurrence wins; a name without '=' has the
 * empty value. Returns 0 if present, -1 if absent, malformed (bad escape,
 * NUL) or longer than buf. */
int wa_form_get(const char *qs, const char *name, char *buf, size_t len);

/* A phone number as typed ("+49 151-234 (56) 78") reduced to its digits in
 * out (WA_PHONE_MAX bytes): digits and the separators "+ -()." only, 6 to
 * 15 digits (E.164 without the plus). Returns 0, or -1 on anything else. */
#define WA_PHONE_MAX 16
int wa_phone_digits(const char *in, char out[WA_PHONE_MAX]);

/* Strings from the network (message texts, push names, ids) are bytes:
 * JSON (jansson) and MariaDB's utf8mb4 columns refuse what is not UTF-8.
 * wa_utf8_valid: 1 if s is well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, at most U+10FFFF), else 0. wa_utf8_repair: a new string
 * (free()) with every byte that does not start a well-formed sequence
 * replaced by U+FFFD, as browsers decode; NULL when out of memory. */
int wa_utf8_valid(const char *s);
char *wa_utf8_repair(const char *s);

/* Room for one more element in the array *arrp points to (n of *cap in
 * use, elem bytes each), doubling from first: 0, or -1 when memory is
 * short (the array is untouched). arrp is the address of the array's
 * pointer (e.g. &h->v, any element type). */
int wa_grow(void *arrp, size_t *cap, size_t n, size_t elem, size_t first);

#endif
