/* msgid.c: message and request ids (see msgid.h). */
#include <stdio.h>
#include <string.h>

#include "wa/msgid.h"
#include "wa_util.h"

void wa_msgid_from_parts(char out[WA_MSGID_LEN + 1], const char *own_user, uint64_t unix_secs,
			 const uint8_t random16[16])
{
	/* 8 + user (capped: a phone user is at most 20 digits) + 5 + 16 */
	uint8_t data[8 + 64 + 5 + 16];
	char hex[65];
	size_t n = 0, ulen = own_user ? strlen(own_user) : 0;

	for (int i = 7; i >= 0; i--)
		data[n++] = (uint8_t)(unix_secs >> (8 * i));
	if (ulen > 64)
		ulen = 64;
	if (ulen) {
		memcpy(data + n, own_user, ulen);
		n += ulen;
		memcpy(data + n, "@c.us", 5);
		n += 5;
	}
	memcpy(data + n, random16, 16);
	n += 16;
	wa_sha256_hex(data, n, hex);
	memcpy(out, WA_MSGID_PREFIX, 4);
	for (int i = 0; i < 18; i++) {
		char c = hex[i];
		out[4 + i] = (c >= 'a' && c <= 'f') ? (char)(c - 'a' + 'A') : c;
	}
	out[WA_MSGID_LEN] = '\0';
}

int wa_msgid_generate(char out[WA_MSGID_LEN + 1], const char *own_user, time_t now)
{
	uint8_t r[16];

	if (wa_random(r, sizeof r) < 0) {
		out[0] = '\0';
		return -1;
	}
	wa_msgid_from_parts(out, own_user, (uint64_t)now, r);
	return 0;
}

int wa_msgid_is_generated(const char *id)
{
	if (id == NULL || strlen(id) != WA_MSGID_LEN || memcmp(id, WA_MSGID_PREFIX, 4) != 0)
		return 0;
	for (int i = 4; i < WA_MSGID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'F')))
			return 0;
	return 1;
}

int wa_msgid_is_valid(const char *id)
{
	size_t n;

	if (id == NULL)
		return 0;
	for (n = 0; id[n]; n++) {
		char c = id[n];

		if (n >= WA_MSGID_MAX)
			return 0;
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return n > 0;
}

int wa_iqid_prefix(char out[WA_IQID_PREFIX_MAX])
{
	uint8_t r[2];

	if (wa_random(r, sizeof r) < 0) {
		out[0] = '\0';
		return -1;
	}
	snprintf(out, WA_IQID_PREFIX_MAX, "%u.%u-", (unsigned)r[0], (unsigned)r[1]);
	return 0;
}

int wa_iqid_format(const char *prefix, uint64_t counter, char *buf, size_t cap)
{
	int n;

	if (cap == 0)
		return -1;
	n = snprintf(buf, cap, "%s%llu", prefix ? prefix : "", (unsigned long long)counter);
	if (n < 0 || (size_t)n >= cap) {
		buf[0] = '\0';
		return -1;
	}
	return n;
}
