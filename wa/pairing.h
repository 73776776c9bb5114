/* wa/pairing: the companion side of linking a device (docs/protocol.md §4),
 * as pure functions from received nodes to the nodes to send. No I/O, no
 * clock, no state beyond what the caller passes in: the engine's session
 * and wa-sim's test client drive the same code over their own transports.
 *
 *   QR:    pair-device IQ -> wa_pair_parse_refs() (+ wa_pair_ack() to send)
 *          -> wa_pair_qr_string() for ref 0, 1, ... as they rotate
 *   code:  wa_pair_code_hello() -> its IQ result -> wa_pair_code_ref()
 *          -> the link_code_companion_reg notification ->
 *          wa_pair_code_finish() (ack + companion_finish IQ; the adv secret
 *          in the keys is replaced by the derived one)
 *   both:  pair-success IQ -> wa_pair_success() -> send the reply
 *          (pair-device-sign, or the error IQ when verification failed);
 *          then the server asks for a restart (stream error 515) and the
 *          device logs in with the result.
 *
 * Errors: 0 or a negative code of common/wa_err.h: WA_EINVAL (bad
 * arguments), WA_EPROTO (a node without what the protocol requires),
 * WA_ECRYPTO (an HMAC, signature or unwrap check failed), WA_ENOMEM.
 * Ownership: nodes returned through out-parameters are new and belong to
 * the caller (wa_node_free); input nodes are borrowed. Secrets in structs
 * are the caller's to wipe. Thread-safe (no shared state). */
#ifndef WA_PAIRING_H
#define WA_PAIRING_H

#include <stddef.h>
#include <stdint.h>

#include "wa/node.h"

#define WA_PAIR_REFS_MAX 6
#define WA_PAIR_REF_MAX 128
#define WA_PAIR_QR_MAX 400           /* a QR string fits in this */
#define WA_PAIR_ACCOUNT_MAX 1024     /* ADVSignedDeviceIdentity bytes */
#define WA_PAIR_QR_PREFIX "https://wa.me/settings/linked_devices#"

/* The companion's long-term keys that pairing uses. */
struct wa_pair_keys {
	uint8_t noise_pub[32];
	uint8_t identity_priv[32], identity_pub[32];
	uint8_t adv_secret[32];
	char platform_id;                /* QR platform character, e.g. '9' (other web client) */
};

struct wa_pair_refs {
	int n;
	char ref[WA_PAIR_REFS_MAX][WA_PAIR_REF_MAX];
};

/* What a verified pair-success gives the companion. */
struct wa_pair_result {
	char phone[24];                  /* the account's phone number (JID user) */
	uint16_t device;                 /* this companion's device slot */
	char lid[64];                    /* "<lid>:<device>@lid", "" when absent */
	char platform[32];               /* the primary's platform name, "" when absent */
	char business_name[128];         /* <biz name>, "" when absent */
	uint32_t key_index;
	uint8_t account[WA_PAIR_ACCOUNT_MAX]; /* full ADVSignedDeviceIdentity, deviceSignature included */
	size_t account_len;
	uint8_t primary_identity[32];    /* accountSignatureKey: the phone's identity key */
};

/* State of one link-code pairing between hello and finish. */
struct wa_pair_code {
	char code[9];                    /* 8 characters, no dash */
	char phone[24];
	uint8_t eph_priv[32], eph_pub[32];
	char ref[WA_PAIR_REF_MAX];
};

/* 1 when iq is the server's pair-device IQ, 2 when it is pair-success,
 * 3 for the link-code notification, else 0. */
int wa_pair_classify(const struct wa_node *n);

/* The refs of a pair-device IQ, in order (at most WA_PAIR_REFS_MAX; refs
 * that are empty or too long are skipped). WA_EPROTO when none is usable. */
int wa_pair_parse_refs(const struct wa_node *iq, struct wa_pair_refs *out);

/* <iq to="s.whatsapp.net" id=<iq's id> type="result"/>, the acknowledgement
 * of a server IQ. NULL on no memory or an IQ without id. */
struct wa_node *wa_pair_ack(const struct wa_node *iq);

/* The QR string for ref: prefix, ref, noise key, identity key, adv secret
 * (base64) and platform character. WA_ETOOBIG when cap is too small. */
int wa_pair_qr_string(const struct wa_pair_keys *k, const char *ref, char *out, size_t cap);

/* Verify pair-success (HMAC with the adv secret, the account signature over
 * our identity), sign it, fill res and set *reply to the pair-device-sign
 * result IQ. On WA_ECRYPTO *reply is the error IQ WhatsApp Web sends (401
 * hmac-mismatch / signature-mismatch); on WA_EPROTO the 500 error IQ. Send
 * *reply in every case where it is set. */
int wa_pair_success(const struct wa_node *iq, const struct wa_pair_keys *k, struct wa_pair_result *res,
		    struct wa_node **reply);

/* Start a link-code pairing for phone (digits only, 6..15): new code and
 * ephemeral key in pc, *iq the companion_hello IQ (id assigned by the
 * caller's transport). display: e.g. "Chrome (Linux)". rnd: 5 bytes for the
 * code, or NULL for random ones. */
int wa_pair_code_hello(struct wa_pair_code *pc, const char *phone, const struct wa_pair_keys *k,
		       const char *display, const uint8_t *rnd, struct wa_node **iq);

/* The result of the companion_hello IQ: keep its pairing ref. */
int wa_pair_code_ref(struct wa_pair_code *pc, const struct wa_node *result);

/* "XXXX-XXXX" of pc's code into out (10 bytes). */
int wa_pair_code_display(const struct wa_pair_code *pc, char out[10]);

/* The notification that the user typed the code: *ack acknowledges it,
 * *iq is the companion_finish IQ, and k->adv_secret becomes the derived
 * secret that the coming pair-success is authenticated with. WA_ECRYPTO
 * when the primary's key does not unwrap with our code (wrong ref or code). */
int wa_pair_code_finish(struct wa_pair_code *pc, const struct wa_node *notification, struct wa_pair_keys *k,
			struct wa_node **ack, struct wa_node **iq);

#endif
