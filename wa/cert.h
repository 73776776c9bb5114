/* wa/cert: the Noise server certificate chain (docs/protocol.md §1.5).
 *
 * The ServerHello payload is a waCert.CertChain { leaf, intermediate }, each
 * a NoiseCertificate { details (serialized Details), signature }. The
 * intermediate is signed (XEdDSA) by the root key, the leaf by the
 * intermediate key; the leaf key is the server's Noise static key.
 *
 * The engine verifies chains against a trust anchor (WhatsApp's root key by
 * default; a test root for wa-sim); wa-sim builds and signs chains with its
 * own root private key. Nothing here keeps state; all functions are
 * thread-safe. */
#ifndef WA_CERT_H
#define WA_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "common/wa_err.h"
#include "wa/buf.h"

/* WhatsApp's production root key (Curve25519 public) and the issuer serial
 * its intermediates carry. */
extern const uint8_t WA_CERT_ROOT_PUB[32];
#define WA_CERT_ISSUER_SERIAL 0u

/* Cap on a received chain (real ones are ~250 bytes). */
#define WA_CERT_CHAIN_MAX 4096u

struct wa_cert_trust {
	uint8_t root_pub[32];        /* signs intermediates */
	uint32_t issuer_serial;      /* required intermediate issuerSerial */
};

/* Fill t with WhatsApp's root key and issuer serial 0. */
void wa_cert_trust_default(struct wa_cert_trust *t);

/* Fill t from a 64-digit hex root public key (configuration) and an issuer
 * serial. 0, or -1 on a malformed key (t unchanged). */
int wa_cert_trust_from_hex(struct wa_cert_trust *t, const char *root_pub_hex, uint32_t issuer_serial);

/* One certificate's Details. */
struct wa_cert_details {
	uint32_t serial;
	uint32_t issuer_serial;
	uint8_t key[32];
	uint64_t not_before;         /* Unix seconds, inclusive */
	uint64_t not_after;          /* Unix seconds, inclusive */
};

/* Errors (common/wa_err.h): EINVAL and ENOMEM are the common codes; an
 * undecodable chain is a module code of class WA_EPROTO; every verdict on a
 * well-formed chain is a module code of class WA_ECRYPTO (the server could
 * not be authenticated), the detail telling which check failed. */
#define WA_CERT_E_(cls, n) WA_ERR_MAKE(WA_ERR_CERT_BASE, cls, n)
enum wa_cert_err {
	WA_CERT_OK = WA_OK,
	WA_CERT_EINVAL = WA_EINVAL,             /* bad arguments / oversize input */
	WA_CERT_ENOMEM = WA_ENOMEM,
	WA_CERT_EDECODE = WA_CERT_E_(WA_EPROTO, 1),   /* not a CertChain, or parts missing / wrong sizes */
	WA_CERT_EROOTSIG = WA_CERT_E_(WA_ECRYPTO, 1), /* intermediate not signed by the trusted root */
	WA_CERT_EISSUER = WA_CERT_E_(WA_ECRYPTO, 2),  /* intermediate issuerSerial != trusted issuer serial */
	WA_CERT_ELEAFSIG = WA_CERT_E_(WA_ECRYPTO, 3), /* leaf not signed by the intermediate key */
	WA_CERT_ECHAIN = WA_CERT_E_(WA_ECRYPTO, 4),   /* leaf issuerSerial != intermediate serial */
	WA_CERT_EKEY = WA_CERT_E_(WA_ECRYPTO, 5),     /* leaf key != server static key */
	WA_CERT_ETIME = WA_CERT_E_(WA_ECRYPTO, 6),    /* now outside a validity window */
};
#undef WA_CERT_E_

/* Static English text for an error code. */
const char *wa_cert_strerror(int err);

/* Verify a serialized CertChain, in WhatsApp's order (§1.5 / whatsmeow's
 * verifyServerCert): both parts present with 64-byte signatures;
 * intermediate signature over its raw details by trust->root_pub; its
 * issuerSerial == trust->issuer_serial and a 32-byte key; leaf signature
 * over its raw details by that key; intermediate validity window; leaf
 * issuerSerial == intermediate serial; leaf key == server_static (when
 * not NULL); leaf validity window. now is Unix seconds. leaf_out (may be
 * NULL) receives the leaf details on success. Returns WA_CERT_OK or the
 * first failing check. */
int wa_cert_chain_verify(const uint8_t *chain, size_t len, const struct wa_cert_trust *trust,
			 const uint8_t server_static[32], uint64_t now, struct wa_cert_details *leaf_out);

/* Serialize one Details message exactly as WhatsApp does (all five fields
 * present, issuerSerial encoded even when 0). Appends to out. 0 / -1. */
int wa_cert_details_encode(const struct wa_cert_details *d, struct wa_buf *out);

/* Build and sign a chain: intermediate details signed by root_priv, leaf
 * details signed by intermediate_priv (whose public key must equal
 * intermediate->key). nonces: NULL for fresh random signatures, or 128
 * bytes (64 for the intermediate signature, 64 for the leaf) to reproduce
 * test vectors. Appends the serialized CertChain to out. 0 / -1. */
int wa_cert_chain_build(const uint8_t root_priv[32], const struct wa_cert_details *intermediate,
			const uint8_t intermediate_priv[32], const struct wa_cert_details *leaf,
			const uint8_t *nonces, struct wa_buf *out);

/* Convenience for wa-sim: a chain for server_static_pub under root_priv
 * with a fresh intermediate key, intermediate serial 1 / issuer serial
 * issuer_serial, leaf serial 2 / issuer serial 1, both valid from
 * now - 86400 to now + valid_secs. Appends to out. 0 / -1. */
int wa_cert_chain_generate(const uint8_t root_priv[32], uint32_t issuer_serial,
			   const uint8_t server_static_pub[32], uint64_t now, uint64_t valid_secs,
			   struct wa_buf *out);

#endif
