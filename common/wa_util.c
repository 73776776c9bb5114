/* wa_util: hex, base64, randomness and constant-time helpers. */
#include "wa_util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char hexdig[] = "0123456789abcdef";

void wa_hex_encode(const uint8_t *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int wa_hex_decode(const char *hex, uint8_t *out, size_t outlen)
{
	if (strlen(hex) != 2 * outlen)
		return -1;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int wa_random(uint8_t *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

int wa_random_hex(char *out, size_t nbytes)
{
	uint8_t buf[64];

	if (nbytes > sizeof buf || wa_random(buf, nbytes) < 0)
		return -1;
	wa_hex_encode(buf, nbytes, out);
	OPENSSL_cleanse(buf, sizeof buf);
	return 0;
}

int wa_ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void wa_sha256_hex(const void *data, size_t len, char *out)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	wa_hex_encode(md, sizeof md, out);
}

size_t wa_base64_encode(const uint8_t *in, size_t len, char *out)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

long wa_base64_decode(const char *in, size_t len, uint8_t *out, size_t outcap)
{
	size_t pad = 0;
	int n;

	if (len % 4)
		return -1;
	if (len == 0)
		return 0;
	if ((len / 4) * 3 > outcap)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '='))
			return -1;
		if (c == '=' && i < len - 2)
			return -1;
	}
	if (in[len - 1] == '=')
		pad++;
	if (in[len - 2] == '=')
		pad++;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	return (long)((size_t)n - pad);
}

long wa_url_decode(const char *src, size_t len, char *dst, size_t dstcap, int plus_is_space)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = hexval(src[i + 1]);
			lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == '\0' || o + 1 >= dstcap)
			return -1;
		dst[o++] = c;
	}
	if (o >= dstcap)
		return -1;
	dst[o] = '\0';
	return (long)o;
}

int wa_form_get(const char *q, const char *name, char *buf, size_t len)
{
	size_t nlen = strlen(name);

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t seg = amp ? (size_t)(amp - q) : strlen(q);
		char kbuf[128];
		const char *eq = memchr(q, '=', seg);
		size_t klen = eq ? (size_t)(eq - q) : seg;

		if (wa_url_decode(q, klen, kbuf, sizeof kbuf, 1) == (long)nlen &&
		    memcmp(kbuf, name, nlen) == 0) {
			if (!eq) {
				if (len)
					buf[0] = '\0';
				return 0;
			}
			return wa_url_decode(eq + 1, seg - klen - 1, buf, len, 1) < 0 ? -1 : 0;
		}
		q = amp ? amp + 1 : NULL;
	}
	return -1;
}

int wa_phone_digits(const char *in, char out[WA_PHONE_MAX])
{
	size_t n = 0;

	for (; *in; in++) {
		if (isdigit((unsigned char)*in)) {
			if (n >= WA_PHONE_MAX - 1)
				return -1;
			out[n++] = *in;
		} else if (!strchr("+ -().", *in)) {
			return -1;
		}
	}
	out[n] = '\0';
	return n >= 6 ? 0 : -1;
}

/* Length of the well-formed UTF-8 sequence at p (1-4), or 0. */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F)) /* overlong; surrogates */
			return 0;
		return (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F)) /* overlong; past U+10FFFF */
			return 0;
		return (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4 : 0;
	}
	return 0;
}

int wa_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	/* a continuation byte test fails on the NUL, so no read passes it */
	while (*p) {
		if ((n = utf8_seq(p)) == 0)
			return 0;
		p += n;
	}
	return 1;
}

char *wa_utf8_repair(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n;
	char *out, *o;

	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	for (o = out; *p; p += n) {
		if ((n = utf8_seq(p)) != 0) {
			memcpy(o, p, n);
			o += n;
		} else {
			memcpy(o, "\xEF\xBF\xBD", 3);
			o += 3;
			n = 1;
		}
	}
	*o = '\0';
	return out;
}

int wa_grow(void *arrp, size_t *cap, size_t n, size_t elem, size_t first)
{
	void *v, *nv;
	size_t want;

	if (n < *cap)
		return 0;
	want = *cap ? 2 * *cap : first;
	if (want <= n || want > SIZE_MAX / elem)
		return -1;
	memcpy(&v, arrp, sizeof v);
	if (!(nv = realloc(v, want * elem)))
		return -1;
	memcpy(arrp, &nv, sizeof nv);
	*cap = want;
	return 0;
}
