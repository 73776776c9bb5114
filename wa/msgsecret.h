/* wa/msgsecret: keys derived from a message's messageSecret (docs/protocol.md
 * §7.7) and the poll-vote encryption built on them.
 *
 * key = HKDF-SHA256(messageSecret, salt none,
 *                   info = origMsgID || origSenderJID || modSenderJID || useCase, 32)
 * JIDs are the non-device forms ("user@server"). Poll votes (and event
 * responses) are AES-256-GCM under that key with a 12-byte IV and
 * AAD = origMsgID || 0x00 || modSenderJID; the plaintext is
 * PollVoteMessage{ repeated bytes selectedOptions = 1 } holding
 * SHA-256(option name) per chosen option.
 *
 * All functions return 0 or -1 (bad argument, too long, authentication
 * failure), are reentrant and allocate nothing. */
#ifndef WA_MSGSECRET_H
#define WA_MSGSECRET_H

#include <stddef.h>
#include <stdint.h>

enum wa_msgsecret_use {
	WA_SECRET_POLL_VOTE = 0,
	WA_SECRET_ENC_REACTION,
	WA_SECRET_ENC_COMMENT,
	WA_SECRET_REPORT_TOKEN,
	WA_SECRET_EVENT_RESPONSE,
	WA_SECRET_EVENT_EDIT,
	WA_SECRET_MESSAGE_EDIT,
	WA_SECRET_POLL_EDIT,
	WA_SECRET_POLL_ADD_OPTION,
	WA_SECRET_BOT_MESSAGE,
	WA_SECRET_USE_COUNT
};

/* Longest id / JID accepted (bytes). */
#define WA_MSGSECRET_MAX_FIELD 256
/* Most options a vote may carry when decoding. */
#define WA_POLL_MAX_OPTIONS 64

/* The use-case string ("Poll Vote", ...); NULL if out of range. */
const char *wa_msgsecret_use_string(enum wa_msgsecret_use use);

/* Derive the 32-byte key. The JIDs are used exactly as given; see
 * wa_msgsecret_strip_device() to get the non-device form. */
int wa_msgsecret_derive(const uint8_t *secret, size_t secret_len, const char *orig_msg_id,
			const char *orig_sender_jid, const char *mod_sender_jid, enum wa_msgsecret_use use,
			uint8_t key[32]);

/* Copy jid into out (outcap bytes) without a ":device" suffix (and the
 * ".agent" of an AD string) on the user part: "123:4@s.whatsapp.net" and
 * "123.0:4@s.whatsapp.net" -> "123@s.whatsapp.net". -1 if it does not fit. */
int wa_msgsecret_strip_device(const char *jid, char *out, size_t outcap);

/* SHA-256 of an option name (UTF-8), the value votes carry. */
void wa_poll_option_hash(const char *name, uint8_t out[32]);

/* PollVoteMessage encoding of n 32-byte hashes into out (cap bytes; needs
 * 34*n). *outlen set. */
int wa_poll_vote_encode(const uint8_t (*hashes)[32], size_t n, uint8_t *out, size_t cap, size_t *outlen);
/* Decode a PollVoteMessage: up to max hashes into hashes, *n set. Unknown
 * fields are skipped; a selectedOptions entry that is not 32 bytes, a
 * truncated field, or more than max options is -1. */
int wa_poll_vote_decode(const uint8_t *buf, size_t len, uint8_t (*hashes)[32], size_t max, size_t *n);

/* AES-256-GCM of a vote plaintext; out gets len + 16 bytes (tag appended,
 * = PollEncValue.encPayload). */
int wa_poll_vote_encrypt(const uint8_t key[32], const uint8_t iv[12], const char *orig_msg_id,
			 const char *voter_jid, const uint8_t *plain, size_t len, uint8_t *out);
/* Inverse; out gets len - 16 bytes. -1 if the tag does not verify. */
int wa_poll_vote_decrypt(const uint8_t key[32], const uint8_t iv[12], const char *orig_msg_id,
			 const char *voter_jid, const uint8_t *enc, size_t len, uint8_t *out);

#endif
