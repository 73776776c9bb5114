/* wa/msgsecret: message-secret derived keys and poll-vote crypto.
 * See msgsecret.h and docs/protocol.md §7.7 (WM: msgsecret.go). */
#include "wa/msgsecret.h"

#include <string.h>

#include "wa/crypto.h"

static const char *const use_strings[WA_SECRET_USE_COUNT] = {
	[WA_SECRET_POLL_VOTE] = "Poll Vote",
	[WA_SECRET_ENC_REACTION] = "Enc Reaction",
	[WA_SECRET_ENC_COMMENT] = "Enc Comment",
	[WA_SECRET_REPORT_TOKEN] = "Report Token",
	[WA_SECRET_EVENT_RESPONSE] = "Event Response",
	[WA_SECRET_EVENT_EDIT] = "Event Edit",
	[WA_SECRET_MESSAGE_EDIT] = "Message Edit",
	[WA_SECRET_POLL_EDIT] = "Poll Edit",
	[WA_SECRET_POLL_ADD_OPTION] = "Poll Add Option",
	[WA_SECRET_BOT_MESSAGE] = "Bot Message",
};

const char *wa_msgsecret_use_string(enum wa_msgsecret_use use)
{
	if ((int)use < 0 || use >= WA_SECRET_USE_COUNT)
		return NULL;
	return use_strings[use];
}

/* Append s to buf at *pos if it fits in cap; -1 otherwise. */
static int put_str(uint8_t *buf, size_t cap, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (n > WA_MSGSECRET_MAX_FIELD || n > cap - *pos)
		return -1;
	memcpy(buf + *pos, s, n);
	*pos += n;
	return 0;
}

int wa_msgsecret_derive(const uint8_t *secret, size_t secret_len, const char *orig_msg_id,
			const char *orig_sender_jid, const char *mod_sender_jid, enum wa_msgsecret_use use,
			uint8_t key[32])
{
	uint8_t info[4 * WA_MSGSECRET_MAX_FIELD];
	const char *u = wa_msgsecret_use_string(use);
	size_t pos = 0;

	if (!secret || !secret_len || !orig_msg_id || !orig_sender_jid || !mod_sender_jid || !u || !key)
		return -1;
	if (put_str(info, sizeof info, &pos, orig_msg_id) || put_str(info, sizeof info, &pos, orig_sender_jid) ||
	    put_str(info, sizeof info, &pos, mod_sender_jid) || put_str(info, sizeof info, &pos, u))
		return -1;
	return wa_hkdf_sha256(secret, secret_len, NULL, 0, info, pos, key, 32);
}

int wa_msgsecret_strip_device(const char *jid, char *out, size_t outcap)
{
	const char *at, *colon;
	size_t n, ulen, slen;

	if (!jid || !out || !outcap)
		return -1;
	at = strchr(jid, '@');
	colon = strchr(jid, ':');
	if (colon && at && colon > at)
		colon = NULL;
	ulen = colon ? (size_t)(colon - jid) : (at ? (size_t)(at - jid) : strlen(jid));
	/* An AD string "user.agent:device@server" also drops ".agent" (WM's
	 * ToNonAD keeps only user and server). */
	if (colon) {
		const char *dot = memchr(jid, '.', ulen);

		if (dot && dot + 1 < colon && strspn(dot + 1, "0123456789") == (size_t)(colon - dot - 1))
			ulen = (size_t)(dot - jid);
	}
	slen = at ? strlen(at) : 0;
	n = ulen + slen;
	if (n + 1 > outcap)
		return -1;
	memcpy(out, jid, ulen);
	if (at)
		memcpy(out + ulen, at, slen);
	out[n] = '\0';
	return 0;
}

void wa_poll_option_hash(const char *name, uint8_t out[32])
{
	wa_sha256(name ? name : "", name ? strlen(name) : 0, out);
}

int wa_poll_vote_encode(const uint8_t (*hashes)[32], size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	if ((n && !hashes) || !out || !outlen || n > cap / 34)
		return -1;
	for (size_t i = 0; i < n; i++) {
		out[i * 34] = 0x0a;       /* field 1, length-delimited */
		out[i * 34 + 1] = 32;
		memcpy(out + i * 34 + 2, hashes[i], 32);
	}
	*outlen = n * 34;
	return 0;
}

/* Read a base-128 varint; -1 if truncated or longer than 10 bytes. */
static int read_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		uint8_t b;

		if (*pos >= len)
			return -1;
		b = buf[(*pos)++];
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

int wa_poll_vote_decode(const uint8_t *buf, size_t len, uint8_t (*hashes)[32], size_t max, size_t *n)
{
	size_t pos = 0, cnt = 0;

	if ((len && !buf) || !n || (max && !hashes))
		return -1;
	*n = 0;
	while (pos < len) {
		uint64_t tag, v;

		if (read_varint(buf, len, &pos, &tag) != 0)
			return -1;
		switch (tag & 7) {
		case 0:
			if (read_varint(buf, len, &pos, &v) != 0)
				return -1;
			break;
		case 1:
			if (len - pos < 8)
				return -1;
			pos += 8;
			break;
		case 2:
			if (read_varint(buf, len, &pos, &v) != 0 || v > len - pos)
				return -1;
			if (tag >> 3 == 1) {
				if (v != 32 || cnt >= max)
					return -1;
				memcpy(hashes[cnt++], buf + pos, 32);
			}
			pos += (size_t)v;
			break;
		case 5:
			if (len - pos < 4)
				return -1;
			pos += 4;
			break;
		default:
			return -1;
		}
	}
	*n = cnt;
	return 0;
}

/* AAD = origMsgID || 0x00 || voterJID. */
static int vote_aad(const char *id, const char *voter, uint8_t *aad, size_t cap, size_t *len)
{
	size_t pos = 0;

	if (!id || !voter || put_str(aad, cap, &pos, id) != 0 || pos >= cap)
		return -1;
	aad[pos++] = 0;
	if (put_str(aad, cap, &pos, voter) != 0)
		return -1;
	*len = pos;
	return 0;
}

int wa_poll_vote_encrypt(const uint8_t key[32], const uint8_t iv[12], const char *orig_msg_id,
			 const char *voter_jid, const uint8_t *plain, size_t len, uint8_t *out)
{
	uint8_t aad[2 * WA_MSGSECRET_MAX_FIELD + 1];
	size_t alen;

	if (!key || !iv || (len && !plain) || !out || vote_aad(orig_msg_id, voter_jid, aad, sizeof aad, &alen))
		return -1;
	return wa_aes256_gcm_encrypt(key, iv, aad, alen, plain, len, out);
}

int wa_poll_vote_decrypt(const uint8_t key[32], const uint8_t iv[12], const char *orig_msg_id,
			 const char *voter_jid, const uint8_t *enc, size_t len, uint8_t *out)
{
	uint8_t aad[2 * WA_MSGSECRET_MAX_FIELD + 1];
	size_t alen;

	if (!key || !iv || !enc || len < 16 || !out ||
	    vote_aad(orig_msg_id, voter_jid, aad, sizeof aad, &alen))
		return -1;
	return wa_aes256_gcm_decrypt(key, iv, aad, alen, enc, len, out);
}
