/* jid.c: WhatsApp JID parsing, formatting and validation (see jid.h). */
#include <stdio.h>
#include <string.h>

#include "wa/jid.h"

#define FAIL(msg) do { if (why) *why = (msg); return -1; } while (0)

static int copy_part(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

int wa_jid_make(struct wa_jid *out, const char *user, const char *server)
{
	return wa_jid_make_ad(out, user, 0, server);
}

int wa_jid_make_ad(struct wa_jid *out, const char *user, uint16_t device, const char *server)
{
	struct wa_jid j;

	memset(&j, 0, sizeof j);
	if (user == NULL)
		user = "";
	if (server == NULL || server[0] == '\0')
		return -1;
	if (copy_part(j.user, sizeof j.user, user, strlen(user)) < 0 ||
	    copy_part(j.server, sizeof j.server, server, strlen(server)) < 0)
		return -1;
	j.device = device;
	*out = j;
	return 0;
}

/* Parse an unsigned decimal of 1..5 digits no larger than max. */
static int parse_num(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static const char *memchr_c(const char *s, size_t len, char c)
{
	return memchr(s, c, len);
}

int wa_jid_parse_n(const char *s, size_t len, struct wa_jid *out, const char **why)
{
	struct wa_jid j;
	const char *at, *user, *colon, *sep;
	size_t ulen, slen;
	unsigned v;

	if (s == NULL || len == 0)
		FAIL("empty jid");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f)
			FAIL("jid has a space or control character");
	}
	memset(&j, 0, sizeof j);
	at = memchr_c(s, len, '@');
	if (at == NULL) {
		/* A bare server, e.g. "s.whatsapp.net". */
		if (copy_part(j.server, sizeof j.server, s, len) < 0)
			FAIL("jid server is too long");
		*out = j;
		return 0;
	}
	if (memchr_c(at + 1, len - (size_t)(at + 1 - s), '@'))
		FAIL("jid has more than one '@'");
	slen = len - (size_t)(at + 1 - s);
	if (slen == 0)
		FAIL("jid has an empty server");
	if (copy_part(j.server, sizeof j.server, at + 1, slen) < 0)
		FAIL("jid server is too long");

	user = s;
	ulen = (size_t)(at - s);
	colon = memchr_c(user, ulen, ':');
	if (colon) {
		size_t dlen = ulen - (size_t)(colon + 1 - user);

		if (memchr_c(colon + 1, dlen, ':'))
			FAIL("jid has more than one ':'");
		if (parse_num(colon + 1, dlen, 65535, &v) < 0)
			FAIL("jid device is not a number 0..65535");
		j.device = (uint16_t)v;
		ulen = (size_t)(colon - user);
	}
	/* Agent: "user.agent" (whatsmeow) or "user_agent" (Baileys). */
	sep = memchr_c(user, ulen, '.');
	if (sep == NULL)
		sep = memchr_c(user, ulen, '_');
	if (sep) {
		size_t alen = ulen - (size_t)(sep + 1 - user);

		if (memchr_c(sep + 1, alen, '.') || memchr_c(sep + 1, alen, '_'))
			FAIL("jid has more than one agent separator");
		if (parse_num(sep + 1, alen, 255, &v) < 0)
			FAIL("jid agent is not a number 0..255");
		j.agent = (uint8_t)v;
		ulen = (size_t)(sep - user);
	}
	if ((colon || sep) && ulen == 0)
		FAIL("device jid has an empty user");
	/* Keep format and parse inverse: the separators never occur in a user. */
	if (memchr_c(user, ulen, '.') || memchr_c(user, ulen, '_'))
		FAIL("jid user has a stray '.' or '_'");
	if (copy_part(j.user, sizeof j.user, user, ulen) < 0)
		FAIL("jid user is too long");
	*out = j;
	return 0;
}

int wa_jid_parse(const char *s, struct wa_jid *out, const char **why)
{
	if (s == NULL)
		FAIL("empty jid");
	return wa_jid_parse_n(s, strlen(s), out, why);
}

static int finish(int n, char *buf, size_t cap)
{
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return -1;
	}
	return n;
}

int wa_jid_format(const struct wa_jid *j, char *buf, size_t cap)
{
	int n;

	if (cap == 0)
		return -1;
	if (j->server[0] == '\0')
		n = snprintf(buf, cap, "%s", "");
	else if (j->agent > 0)
		n = snprintf(buf, cap, "%s.%u:%u@%s", j->user, (unsigned)j->agent,
			     (unsigned)j->device, j->server);
	else if (j->device > 0)
		n = snprintf(buf, cap, "%s:%u@%s", j->user, (unsigned)j->device, j->server);
	else if (j->user[0])
		n = snprintf(buf, cap, "%s@%s", j->user, j->server);
	else
		n = snprintf(buf, cap, "%s", j->server);
	return finish(n, buf, cap);
}

int wa_jid_format_user(const struct wa_jid *j, char *buf, size_t cap)
{
	struct wa_jid t = *j;

	wa_jid_to_non_ad(&t);
	return wa_jid_format(&t, buf, cap);
}

int wa_jid_normalize(struct wa_jid *j)
{
	if (strcmp(j->server, WA_SERVER_LEGACY) == 0) {
		memcpy(j->server, WA_SERVER_USER, sizeof WA_SERVER_USER);
		return 1;
	}
	return 0;
}

void wa_jid_to_non_ad(struct wa_jid *j)
{
	j->agent = 0;
	j->device = 0;
}

int wa_jid_chat(const char *in, char out[WA_JID_STR_MAX])
{
	struct wa_jid j;

	if (!in || wa_jid_parse(in, &j, NULL) != 0 || !(wa_jid_is_user(&j) || wa_jid_is_group(&j)))
		return -1;
	wa_jid_to_non_ad(&j);
	return wa_jid_format(&j, out, WA_JID_STR_MAX) < 0 ? -1 : 0;
}

static int all_digits(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int phone_ok(const char *d, size_t n, const char **why)
{
	if (!all_digits(d, n))
		FAIL("phone number has a non-digit");
	if (n < WA_PHONE_MIN_DIGITS)
		FAIL("phone number is too short");
	if (n > WA_PHONE_MAX_DIGITS)
		FAIL("phone number is too long");
	if (d[0] == '0')
		FAIL("phone number must start with the country code, not 0");
	return 0;
}

int wa_jid_from_user_input(const char *in, struct wa_jid *out, const char **why)
{
	struct wa_jid j;
	size_t len, ulen;

	if (in == NULL)
		FAIL("empty jid");
	len = strlen(in);
	/* Trim surrounding blanks a form may add. */
	while (len && (*in == ' ' || *in == '\t')) {
		in++;
		len--;
	}
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len == 0)
		FAIL("empty jid");
	if (len > WA_JID_STR_MAX)
		FAIL("jid is too long");

	if (memchr(in, '@', len) == NULL) {
		char digits[WA_PHONE_MAX_DIGITS + 1];
		size_t n = 0;

		for (size_t i = 0; i < len; i++) {
			char c = in[i];
			if (c == '+' && n == 0 && i == 0)
				continue;
			if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')
				continue;
			if (c < '0' || c > '9')
				FAIL("phone number has a non-digit");
			if (n == WA_PHONE_MAX_DIGITS)
				FAIL("phone number is too long");
			digits[n++] = c;
		}
		if (n == 0)
			FAIL("phone number has no digits");
		if (phone_ok(digits, n, why) < 0)
			return -1;
		digits[n] = '\0';
		if (wa_jid_make(out, digits, WA_SERVER_USER) < 0)
			FAIL("phone number is too long");
		return 0;
	}

	if (wa_jid_parse_n(in, len, &j, why) < 0)
		return -1;
	if (j.device || j.agent)
		FAIL("device jids are not accepted here");
	wa_jid_normalize(&j);
	ulen = strlen(j.user);
	if (ulen == 0)
		FAIL("jid has an empty user");
	if (strcmp(j.server, WA_SERVER_USER) == 0) {
		if (phone_ok(j.user, ulen, why) < 0)
			return -1;
	} else if (strcmp(j.server, WA_SERVER_LID) == 0 ||
		   strcmp(j.server, WA_SERVER_NEWSLETTER) == 0) {
		if (!all_digits(j.user, ulen) || ulen > 32)
			FAIL("jid user must be digits");
	} else if (strcmp(j.server, WA_SERVER_GROUP) == 0) {
		const char *dash = memchr(j.user, '-', ulen);

		if (dash == NULL ? !all_digits(j.user, ulen) :
		    !all_digits(j.user, (size_t)(dash - j.user)) ||
		    !all_digits(dash + 1, ulen - (size_t)(dash + 1 - j.user)))
			FAIL("group id must be digits (or digits-digits)");
		if (ulen > 64)
			FAIL("group id is too long");
	} else if (strcmp(j.server, WA_SERVER_BROADCAST) == 0) {
		if (strcmp(j.user, "status") != 0 && (!all_digits(j.user, ulen) || ulen > 32))
			FAIL("broadcast id must be 'status' or digits");
	} else {
		FAIL("unsupported jid server");
	}
	*out = j;
	return 0;
}

int wa_jid_equal(const struct wa_jid *a, const struct wa_jid *b)
{
	return a->agent == b->agent && a->device == b->device &&
	       a->integrator == b->integrator && strcmp(a->user, b->user) == 0 &&
	       strcmp(a->server, b->server) == 0;
}

int wa_jid_same_user(const struct wa_jid *a, const struct wa_jid *b)
{
	return strcmp(a->user, b->user) == 0 && strcmp(a->server, b->server) == 0;
}

static int server_is(const struct wa_jid *j, const char *s)
{
	return strcmp(j->server, s) == 0;
}

int wa_jid_is_pn(const struct wa_jid *j)
{
	return j->user[0] && server_is(j, WA_SERVER_USER);
}

int wa_jid_is_lid(const struct wa_jid *j)
{
	return server_is(j, WA_SERVER_LID);
}

int wa_jid_is_user(const struct wa_jid *j)
{
	return j->user[0] && (server_is(j, WA_SERVER_USER) || server_is(j, WA_SERVER_LID));
}

int wa_jid_is_group(const struct wa_jid *j)
{
	return server_is(j, WA_SERVER_GROUP);
}

int wa_jid_is_broadcast(const struct wa_jid *j)
{
	return server_is(j, WA_SERVER_BROADCAST);
}

int wa_jid_is_status(const struct wa_jid *j)
{
	return server_is(j, WA_SERVER_BROADCAST) && strcmp(j->user, "status") == 0;
}

int wa_jid_is_broadcast_list(const struct wa_jid *j)
{
	return server_is(j, WA_SERVER_BROADCAST) && strcmp(j->user, "status") != 0;
}

int wa_jid_is_newsletter(const struct wa_jid *j)
{
	return server_is(j, WA_SERVER_NEWSLETTER);
}

int wa_jid_is_server(const struct wa_jid *j)
{
	return j->user[0] == '\0' && j->server[0] != '\0';
}

int wa_jid_is_ad(const struct wa_jid *j)
{
	return j->device != 0 || j->agent != 0;
}

uint8_t wa_jid_domain(const struct wa_jid *j)
{
	if (server_is(j, WA_SERVER_USER))
		return WA_DOMAIN_WHATSAPP;
	if (server_is(j, WA_SERVER_LID))
		return WA_DOMAIN_LID;
	if (server_is(j, WA_SERVER_HOSTED))
		return WA_DOMAIN_HOSTED;
	if (server_is(j, WA_SERVER_HOSTED_LID))
		return WA_DOMAIN_HOSTED_LID;
	return j->agent;
}

int wa_jid_from_domain(struct wa_jid *out, const char *user, uint8_t domain, uint16_t device)
{
	const char *server = WA_SERVER_USER;
	uint8_t agent = 0;

	switch (domain) {
	case WA_DOMAIN_LID:
		server = WA_SERVER_LID;
		break;
	case WA_DOMAIN_HOSTED:
		server = WA_SERVER_HOSTED;
		break;
	case WA_DOMAIN_HOSTED_LID:
		server = WA_SERVER_HOSTED_LID;
		break;
	default:
		agent = domain;
		break;
	}
	if (wa_jid_make_ad(out, user, device, server) < 0)
		return -1;
	out->agent = agent;
	return 0;
}

int wa_jid_signal_name(const struct wa_jid *j, char *buf, size_t cap)
{
	uint8_t d = wa_jid_domain(j);
	int n;

	if (cap == 0)
		return -1;
	if (d != 0)
		n = snprintf(buf, cap, "%s_%u", j->user, (unsigned)d);
	else
		n = snprintf(buf, cap, "%s", j->user);
	return finish(n, buf, cap);
}

void wa_jid_server(struct wa_jid *out)
{
	(void)wa_jid_make(out, "", WA_SERVER_USER);
}

void wa_jid_status_broadcast(struct wa_jid *out)
{
	(void)wa_jid_make(out, "status", WA_SERVER_BROADCAST);
}
