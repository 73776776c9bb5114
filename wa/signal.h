/* wa/signal: Signal protocol operations in WhatsApp's terms, on top of
 * libsignal-protocol-c and a wa_sigstore (docs/protocol.md §5, §7.2-7.5, §8.2, §8.4).
 *
 * A wa_sig is one WhatsApp device's Signal state: a libsignal store context
 * bound to a wa_sigstore (borrowed; it must outlive the wa_sig) and the
 * signal_context of the thread that made it (wa/crypto.h): use it on that
 * thread only (the engine makes one per database job, on its thread).
 * libsignal serialises its operations on that context's lock, which no
 * other thread shares, so a store callback waiting on the database never
 * holds up another thread.
 *
 * Wire conventions (§5): public keys are 32 raw bytes (libsignal's 0x05
 * prefix is added/stripped here), key ids are 3 bytes big-endian, the
 * registration id 4 bytes big-endian, signatures 64 bytes (XEdDSA).
 *
 * Buffers: every uint8_t ** output is malloc()ed and owned by the caller;
 * free plaintexts with wa_sig_buf_free() (zeroes first), anything else with
 * free() or wa_sig_buf_free(). Outputs are written only on success.
 *
 * Errors: WA_SIG_OK (0) or one of the negative codes below, chosen so the
 * engine can decide between a retry receipt (§8.4), a plain ack, or a
 * temporary failure. */
#ifndef WA_SIGNAL_H
#define WA_SIGNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wa/sigstore.h"

/* Errors (common/wa_err.h): ERR is WA_EFAIL (-1, cause not narrowed down);
 * NOMEM, STORE, TOOBIG and NOT_FOUND are the common codes; the rest are
 * module codes: INVALID folds into WA_EPROTO, NO_SESSION and NO_PREKEY into
 * WA_ENOTFOUND, DUPLICATE and UNTRUSTED into WA_ECONFLICT. */
#define WA_SIG_E_(cls, n) WA_ERR_MAKE(WA_ERR_SIGNAL_BASE, cls, n)
enum wa_sig_err {
	WA_SIG_OK = WA_OK,
	WA_SIG_ERR = WA_EFAIL,          /* internal or library error, bad arguments */
	WA_SIG_NOMEM = WA_ENOMEM,
	WA_SIG_STORE = WA_ESTORAGE,     /* key store failed (e.g. database down): temporary,
					 * do not send a retry receipt for this. */
	WA_SIG_TOOBIG = WA_ETOOBIG,     /* input over a size limit */
	WA_SIG_NOT_FOUND = WA_ENOTFOUND, /* asked-for local key does not exist, or no own
					 * identity is stored yet */
	WA_SIG_INVALID = WA_SIG_E_(WA_EPROTO, 1),
				/* malformed or unauthenticated input: bad lengths, bad
				 * MAC, bad bundle signature, unknown version. Retry receipt. */
	WA_SIG_NO_SESSION = WA_SIG_E_(WA_ENOTFOUND, 1),
				/* msg without a session, skmsg without a sender key,
				 * encrypt without a session. Retry receipt / fetch bundle. */
	WA_SIG_DUPLICATE = WA_SIG_E_(WA_ECONFLICT, 1),
				/* message already decrypted (counter seen or too old).
				 * Ack it; no retry. */
	WA_SIG_UNTRUSTED = WA_SIG_E_(WA_ECONFLICT, 2),
				/* the peer's identity key differs from the trusted one.
				 * wa_sig_identity_forget() then try again to accept it. */
	WA_SIG_NO_PREKEY = WA_SIG_E_(WA_ENOTFOUND, 2),
				/* pkmsg names a one-time or signed pre-key we do not
				 * have (used up or rotated). Retry receipt with fresh keys. */
};
#undef WA_SIG_E_

/* Short stable text for an error code ("no session", ...). */
const char *wa_sig_strerror(int rc);

/* Message kinds as carried in <enc type="...">. */
enum wa_sig_msg_type {
	WA_SIG_PKMSG = 1, /* PreKeySignalMessage (libsignal type 3) */
	WA_SIG_MSG = 2,   /* SignalMessage (type 2) */
	WA_SIG_SKMSG = 3, /* SenderKeyMessage (groups) */
};
/* "pkmsg" / "msg" / "skmsg"; NULL for anything else. */
const char *wa_sig_msg_type_name(enum wa_sig_msg_type t);
/* Parse an enc type attribute; 0 or WA_SIG_INVALID (e.g. "msmsg"). */
int wa_sig_msg_type_parse(const char *s, enum wa_sig_msg_type *out);

#define WA_SIG_MAX_MSG (4u * 1024 * 1024)   /* plaintext/ciphertext cap */
#define WA_SIG_PREKEY_ID_MAX 0xFFFFFFu        /* ids travel as 3 bytes */
#define WA_SIG_PREKEY_BATCH_MAX 1024          /* > 812, the largest batch used (§5.3) */
#define WA_SIG_PAD_MAX 15

/* ---- addresses (§7.2 "Signal addressing") ----
 * name = user, or "user_<domain>" when the domain is not 0 (1 = lid,
 * 128 = hosted, 129 = hosted.lid); device = the JID's device. */
typedef struct wa_sig_addr {
	char name[WA_SIGREC_NAME_MAX];
	uint32_t device;
} wa_sig_addr;

/* Domain type of a JID server: "s.whatsapp.net" (and legacy "c.us") 0,
 * "lid" 1, "hosted" 128, "hosted.lid" 129; -1 for servers that carry no
 * Signal sessions (groups, broadcast, newsletter, msgr, interop, bot, ...). */
int wa_sig_domain_of_server(const char *server);

/* Build an address from its parts. 0 or WA_SIG_INVALID (empty user, user
 * with '@' ':' '.' '_', too long, domain > 255). */
int wa_sig_addr_set(wa_sig_addr *out, const char *user, unsigned domain, uint32_t device);

/* Build an address from a device JID "user[.agent][:device]@server" (WM form)
 * or "user[_agent][:device]@server" (BL form); no ":device" means device 0.
 * The domain comes from the server (lid, hosted, hosted.lid); on
 * s.whatsapp.net it is 0 whatever the agent. 0 or WA_SIG_INVALID. */
int wa_sig_addr_from_jid(const char *jid, wa_sig_addr *out);

/* ---- big-endian helpers for the key nodes ---- */
void wa_sig_put_be3(uint8_t out[3], uint32_t v);
uint32_t wa_sig_get_be3(const uint8_t in[3]);
void wa_sig_put_be32(uint8_t out[4], uint32_t v);
uint32_t wa_sig_get_be32(const uint8_t in[4]);

/* ---- the per-device state ---- */
typedef struct wa_sig wa_sig;

/* New state over store (borrowed). 0 and *out, or WA_SIG_ERR/NOMEM (also
 * when wa_signal_ctx() is unavailable). */
int wa_sig_new(wa_sigstore *store, wa_sig **out);
/* Free it (NULL is fine); the store is left alone. */
void wa_sig_free(wa_sig *s);

/* ---- own identity ---- */

/* Generate and store a new identity key pair and registration id
 * (1..16380, libsignal's range). Replaces any existing identity. */
int wa_sig_identity_generate(wa_sig *s);
/* Store a given identity (pairing restore, tests). regid must be non-zero. */
int wa_sig_identity_set(wa_sig *s, const uint8_t pub[32], const uint8_t priv[32], uint32_t regid);
/* Own public identity and registration id (either out may be NULL);
 * WA_SIG_NOT_FOUND when none is stored. */
int wa_sig_identity_get(wa_sig *s, uint8_t pub[32], uint32_t *regid);

/* ---- pre-keys (§5) ---- */
typedef struct wa_sig_prekey {
	uint32_t id;
	uint8_t pub[32];
} wa_sig_prekey;

typedef struct wa_sig_signed_prekey {
	uint32_t id;
	uint8_t pub[32];
	uint8_t sig[64];  /* XEdDSA by the identity key over 0x05 ‖ pub */
} wa_sig_signed_prekey;

/* The id after id: ids run 1..WA_SIG_PREKEY_ID_MAX and wrap to 1 (0 and
 * anything above the 3-byte range map to 1). */
uint32_t wa_sig_prekey_id_next(uint32_t id);

/* Generate count (1..WA_SIG_PREKEY_BATCH_MAX) one-time pre-keys with ids
 * first_id, next(first_id), ... (wrapping as above), store them (replacing
 * records with the same ids), and write their ids and public keys to out
 * (count entries) for the upload IQ. *next_id (may be NULL) gets the id to
 * start the next batch with; the caller persists it. The batch is stored
 * with one wa_sigstore_put_many (one transaction on MariaDB); with a store
 * without put_many a failure may leave some keys stored (harmless: they
 * were never uploaded). */
int wa_sig_prekeys_generate(wa_sig *s, uint32_t first_id, size_t count, wa_sig_prekey *out, uint32_t *next_id);

/* Public part of a stored one-time pre-key (for a retry receipt's <key>);
 * WA_SIG_NOT_FOUND if it was used up. */
int wa_sig_prekey_get(wa_sig *s, uint32_t id, wa_sig_prekey *out);

/* Number of one-time pre-keys stored locally (>= 0), or an error. */
int wa_sig_prekey_count(wa_sig *s);

/* Generate and store a signed pre-key with this id (1..0xFFFFFF), signed by
 * the own identity; out (may be NULL) gets id, public key and signature. */
int wa_sig_signed_prekey_generate(wa_sig *s, uint32_t id, wa_sig_signed_prekey *out);
/* Read a stored signed pre-key; WA_SIG_NOT_FOUND if absent. */
int wa_sig_signed_prekey_get(wa_sig *s, uint32_t id, wa_sig_signed_prekey *out);

/* ---- bundles (§5.4 <user> in a <key> fetch reply, §8.4 retry <keys>) ---- */
typedef struct wa_sig_bundle {
	uint32_t registration_id;
	uint8_t identity[32];
	uint32_t signed_prekey_id;
	uint8_t signed_prekey[32];
	uint8_t signed_prekey_sig[64];
	int has_prekey;          /* one-time pre-key present (absent when they ran out) */
	uint32_t prekey_id;
	uint8_t prekey[32];
} wa_sig_bundle;

/* Raw contents of the bundle's child nodes; data NULL = node absent. */
typedef struct wa_sig_bytes {
	const uint8_t *data;
	size_t len;
} wa_sig_bytes;

typedef struct wa_sig_bundle_wire {
	wa_sig_bytes registration;    /* <registration>: 4 bytes */
	wa_sig_bytes type;            /* <type>: 1 byte 0x05; may be absent */
	wa_sig_bytes identity;        /* <identity>: 32 */
	wa_sig_bytes skey_id;         /* <skey><id>: 3 */
	wa_sig_bytes skey_value;      /* <skey><value>: 32 */
	wa_sig_bytes skey_signature;  /* <skey><signature>: 64 */
	wa_sig_bytes key_id;          /* <key><id>: 3; absent when no one-time key */
	wa_sig_bytes key_value;       /* <key><value>: 32; absent with key_id */
} wa_sig_bundle_wire;

/* Check lengths and decode; WA_SIG_INVALID on any wrong or missing field.
 * Does not verify the signature (wa_sig_bundle_process does). */
int wa_sig_bundle_from_wire(const wa_sig_bundle_wire *w, wa_sig_bundle *out);

/* Own bundle for upload/retry/simulator: registration id, identity, the
 * signed pre-key spk_id and, when prekey_id != 0, that one-time pre-key. */
int wa_sig_bundle_own(wa_sig *s, uint32_t spk_id, uint32_t prekey_id, wa_sig_bundle *out);

/* Build a session with addr from a peer's bundle (X3DH). The next
 * wa_sig_encrypt to addr gives a pkmsg. WA_SIG_INVALID for a bad signature
 * or key, WA_SIG_UNTRUSTED if addr's identity changed. */
int wa_sig_bundle_process(wa_sig *s, const wa_sig_addr *addr, const wa_sig_bundle *b);

/* ---- 1:1 sessions ---- */

/* Encrypt (already padded, see wa_sig_pad) plaintext for addr. *type is
 * WA_SIG_PKMSG until the peer has answered, then WA_SIG_MSG.
 * WA_SIG_NO_SESSION if there is none (fetch a bundle first). */
int wa_sig_encrypt(wa_sig *s, const wa_sig_addr *addr, const uint8_t *pt, size_t len,
		   enum wa_sig_msg_type *type, uint8_t **ct, size_t *ctlen);

/* Decrypt a pkmsg or msg from addr; the plaintext is still padded. A pkmsg
 * creates the session and consumes our one-time pre-key. */
int wa_sig_decrypt(wa_sig *s, const wa_sig_addr *addr, enum wa_sig_msg_type type,
		   const uint8_t *ct, size_t len, uint8_t **pt, size_t *ptlen);

/* 1 if a session with addr exists, 0 if not, or an error. */
int wa_sig_has_session(wa_sig *s, const wa_sig_addr *addr);
/* Delete the session with addr (no-op if none). */
int wa_sig_session_delete(wa_sig *s, const wa_sig_addr *addr);
/* Delete the sessions with every device of addr->name; count or error. */
int wa_sig_session_delete_all(wa_sig *s, const wa_sig_addr *addr);
/* Devices of addr->name we have sessions with: up to max ids to out;
 * returns how many there are (may exceed max), or an error. */
int wa_sig_session_devices(wa_sig *s, const wa_sig_addr *addr, uint32_t *out, size_t max);
/* Forget the trusted identity of addr (after WA_SIG_UNTRUSTED) and delete
 * its session, so the new identity is accepted on first use. */
int wa_sig_identity_forget(wa_sig *s, const wa_sig_addr *addr);
/* Same for every device of addr->name: the user's identity changed (an
 * <notification type="encrypt"> with <identity/>, §8.6). */
int wa_sig_user_forget(wa_sig *s, const wa_sig_addr *addr);

/* ---- groups: sender keys (§7.4, §7.5) ----
 * group is the group JID string (e.g. "1203...@g.us", "status@broadcast");
 * the sender-key name is (group, sender address). */

/* Our SenderKeyDistributionMessage for group, creating our sender key on
 * first use: the bytes for Message.senderKeyDistributionMessage.
 * axolotlSenderKeyDistributionMessage. */
int wa_sig_group_skdm(wa_sig *s, const char *group, const wa_sig_addr *self, uint8_t **skdm, size_t *len);

/* Take in a received SKDM from sender for group. WA_SIG_INVALID if malformed. */
int wa_sig_group_process_skdm(wa_sig *s, const char *group, const wa_sig_addr *sender,
			      const uint8_t *skdm, size_t len);

/* Encrypt padded plaintext with our sender key for group: the skmsg bytes.
 * WA_SIG_NO_SESSION if wa_sig_group_skdm() was never called for group. */
int wa_sig_group_encrypt(wa_sig *s, const char *group, const wa_sig_addr *self,
			 const uint8_t *pt, size_t len, uint8_t **ct, size_t *ctlen);

/* Decrypt an skmsg from sender in group; WA_SIG_NO_SESSION without its SKDM. */
int wa_sig_group_decrypt(wa_sig *s, const char *group, const wa_sig_addr *sender,
			 const uint8_t *ct, size_t len, uint8_t **pt, size_t *ptlen);

/* Drop the stored sender key of (group, addr): ours to start a new chain
 * after membership changes (the next wa_sig_group_skdm creates it), or a
 * peer's. */
int wa_sig_group_forget(wa_sig *s, const char *group, const wa_sig_addr *addr);

/* ---- padding (§7.2) ---- */

/* Append n bytes of value n (n = 1..WA_SIG_PAD_MAX; 0 = random 1..15 as WM
 * does: r & 0x0F, 0 -> 15). *out is len+n bytes, malloc()ed. */
int wa_sig_pad(const uint8_t *in, size_t len, unsigned n, uint8_t **out, size_t *outlen);

/* Validate and strip padding in place: the last byte n must be 1..len and
 * the last n bytes all equal n. *outlen = len - n. WA_SIG_INVALID otherwise. */
int wa_sig_unpad(const uint8_t *in, size_t len, size_t *outlen);

/* Zero and free a buffer from this module (NULL is fine). */
void wa_sig_buf_free(uint8_t *p, size_t len);

#endif
