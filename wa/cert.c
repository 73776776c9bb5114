/* wa/cert: build, sign and verify the Noise server certificate chain
 * (see cert.h). */
#include "wa/cert.h"

#include <stdlib.h>
#include <string.h>

#include "wa/crypto.h"
#include "wa_cert.pb-c.h"
#include "wa_util.h"

/* 142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b */
const uint8_t WA_CERT_ROOT_PUB[32] = {
	0x14, 0x23, 0x75, 0x57, 0x4d, 0x0a, 0x58, 0x71, 0x66, 0xaa, 0xe7, 0x1e, 0xbe, 0x51, 0x64, 0x37,
	0xc4, 0xa2, 0x8b, 0x73, 0xe3, 0x69, 0x5c, 0x6c, 0xe1, 0xf7, 0xf9, 0x54, 0x5d, 0xa8, 0xee, 0x6b,
};

typedef WaCert__CertChain CertChain;
typedef WaCert__CertChain__NoiseCertificate NoiseCert;
typedef WaCert__CertChain__NoiseCertificate__Details Details;

/* protobuf-c generates unpack/free helpers for top-level messages only. */
static Details *details_unpack(const ProtobufCBinaryData *b)
{
	return (Details *)protobuf_c_message_unpack(&wa_cert__cert_chain__noise_certificate__details__descriptor,
						    NULL, b->len, b->data);
}

static void details_free(Details *d)
{
	if (d)
		protobuf_c_message_free_unpacked(&d->base, NULL);
}

void wa_cert_trust_default(struct wa_cert_trust *t)
{
	memcpy(t->root_pub, WA_CERT_ROOT_PUB, 32);
	t->issuer_serial = WA_CERT_ISSUER_SERIAL;
}

int wa_cert_trust_from_hex(struct wa_cert_trust *t, const char *root_pub_hex, uint32_t issuer_serial)
{
	uint8_t k[32];

	if (!t || !root_pub_hex || strlen(root_pub_hex) != 64 || wa_hex_decode(root_pub_hex, k, 32) != 0)
		return -1;
	memcpy(t->root_pub, k, 32);
	t->issuer_serial = issuer_serial;
	return 0;
}

const char *wa_cert_strerror(int err)
{
	switch (err) {
	case WA_CERT_OK: return "ok";
	case WA_CERT_EINVAL: return "invalid argument";
	case WA_CERT_EDECODE: return "malformed certificate chain";
	case WA_CERT_EROOTSIG: return "intermediate certificate not signed by the trusted root";
	case WA_CERT_EISSUER: return "unexpected intermediate issuer serial";
	case WA_CERT_ELEAFSIG: return "leaf certificate not signed by the intermediate";
	case WA_CERT_ECHAIN: return "leaf issuer serial does not match the intermediate serial";
	case WA_CERT_EKEY: return "leaf key does not match the server static key";
	case WA_CERT_ETIME: return "certificate outside its validity window";
	case WA_CERT_ENOMEM: return "out of memory";
	}
	return "unknown certificate error";
}

/* A NoiseCertificate with both parts and a 64-byte signature. */
static int cert_complete(const NoiseCert *c)
{
	return c && c->has_details && c->has_signature && c->signature.len == 64 && c->details.data &&
	       c->details.len > 0;
}

static int in_window(const Details *d, uint64_t now)
{
	/* Missing fields read as 0, as protobuf getters do in whatsmeow: a
	 * missing notAfter therefore means expired. */
	uint64_t nb = d->has_notbefore ? d->notbefore : 0;
	uint64_t na = d->has_notafter ? d->notafter : 0;

	return now >= nb && now <= na;
}

int wa_cert_chain_verify(const uint8_t *chain, size_t len, const struct wa_cert_trust *trust,
			 const uint8_t server_static[32], uint64_t now, struct wa_cert_details *leaf_out)
{
	CertChain *cc = NULL;
	Details *inter = NULL, *leaf = NULL;
	int rc;

	if (!trust || (!chain && len) || len > WA_CERT_CHAIN_MAX)
		return WA_CERT_EINVAL;
	cc = wa_cert__cert_chain__unpack(NULL, len, chain);
	if (!cc)
		return WA_CERT_EDECODE;
	if (!cert_complete(cc->intermediate) || !cert_complete(cc->leaf)) {
		rc = WA_CERT_EDECODE;
		goto out;
	}
	/* The signature covers the raw details bytes, before any decoding. */
	if (wa_xeddsa_verify(trust->root_pub, cc->intermediate->details.data, cc->intermediate->details.len,
			     cc->intermediate->signature.data) != 0) {
		rc = WA_CERT_EROOTSIG;
		goto out;
	}
	inter = details_unpack(&cc->intermediate->details);
	if (!inter) {
		rc = WA_CERT_EDECODE;
		goto out;
	}
	if ((inter->has_issuerserial ? inter->issuerserial : 0) != trust->issuer_serial) {
		rc = WA_CERT_EISSUER;
		goto out;
	}
	if (!inter->has_key || inter->key.len != 32) {
		rc = WA_CERT_EDECODE;
		goto out;
	}
	if (wa_xeddsa_verify(inter->key.data, cc->leaf->details.data, cc->leaf->details.len,
			     cc->leaf->signature.data) != 0) {
		rc = WA_CERT_ELEAFSIG;
		goto out;
	}
	if (!in_window(inter, now)) {
		rc = WA_CERT_ETIME;
		goto out;
	}
	leaf = details_unpack(&cc->leaf->details);
	if (!leaf) {
		rc = WA_CERT_EDECODE;
		goto out;
	}
	if ((leaf->has_issuerserial ? leaf->issuerserial : 0) != (inter->has_serial ? inter->serial : 0)) {
		rc = WA_CERT_ECHAIN;
		goto out;
	}
	if (!leaf->has_key || leaf->key.len != 32) {
		rc = server_static ? WA_CERT_EKEY : WA_CERT_EDECODE;
		goto out;
	}
	if (server_static && !wa_ct_equal(leaf->key.data, server_static, 32)) {
		rc = WA_CERT_EKEY;
		goto out;
	}
	if (!in_window(leaf, now)) {
		rc = WA_CERT_ETIME;
		goto out;
	}
	if (leaf_out) {
		leaf_out->serial = leaf->has_serial ? leaf->serial : 0;
		leaf_out->issuer_serial = leaf->has_issuerserial ? leaf->issuerserial : 0;
		memcpy(leaf_out->key, leaf->key.data, 32);
		leaf_out->not_before = leaf->has_notbefore ? leaf->notbefore : 0;
		leaf_out->not_after = leaf->has_notafter ? leaf->notafter : 0;
	}
	rc = WA_CERT_OK;
out:
	details_free(leaf);
	details_free(inter);
	wa_cert__cert_chain__free_unpacked(cc, NULL);
	return rc;
}

static void details_fill(Details *m, const struct wa_cert_details *d)
{
	wa_cert__cert_chain__noise_certificate__details__init(m);
	m->has_serial = m->has_issuerserial = m->has_key = m->has_notbefore = m->has_notafter = 1;
	m->serial = d->serial;
	m->issuerserial = d->issuer_serial;
	m->key.data = (uint8_t *)d->key;
	m->key.len = 32;
	m->notbefore = d->not_before;
	m->notafter = d->not_after;
}

/* Pack any protobuf-c message onto the end of out. */
static int pack_append(const ProtobufCMessage *msg, struct wa_buf *out)
{
	size_t n = protobuf_c_message_get_packed_size(msg);

	if (wa_buf_reserve(out, n) != 0)
		return -1;
	if (protobuf_c_message_pack(msg, out->data + out->len) != n)
		return -1;
	out->len += n;
	return 0;
}

int wa_cert_details_encode(const struct wa_cert_details *d, struct wa_buf *out)
{
	Details m;

	if (!d || !out)
		return -1;
	details_fill(&m, d);
	return pack_append(&m.base, out);
}

int wa_cert_chain_build(const uint8_t root_priv[32], const struct wa_cert_details *intermediate,
			const uint8_t intermediate_priv[32], const struct wa_cert_details *leaf,
			const uint8_t *nonces, struct wa_buf *out)
{
	struct wa_buf idet = WA_BUF_INIT, ldet = WA_BUF_INIT;
	uint8_t ipub[32], isig[64], lsig[64];
	NoiseCert ic, lc;
	CertChain cc;
	int rc = -1;

	if (!root_priv || !intermediate || !intermediate_priv || !leaf || !out)
		return -1;
	if (wa_x25519_public(intermediate_priv, ipub) != 0 || memcmp(ipub, intermediate->key, 32) != 0)
		return -1;
	if (wa_cert_details_encode(intermediate, &idet) != 0 || wa_cert_details_encode(leaf, &ldet) != 0)
		goto out;
	if (nonces) {
		if (wa_xeddsa_sign_random(root_priv, idet.data, idet.len, nonces, isig) != 0 ||
		    wa_xeddsa_sign_random(intermediate_priv, ldet.data, ldet.len, nonces + 64, lsig) != 0)
			goto out;
	} else {
		if (wa_xeddsa_sign(root_priv, idet.data, idet.len, isig) != 0 ||
		    wa_xeddsa_sign(intermediate_priv, ldet.data, ldet.len, lsig) != 0)
			goto out;
	}

	wa_cert__cert_chain__noise_certificate__init(&ic);
	ic.has_details = ic.has_signature = 1;
	ic.details.data = idet.data;
	ic.details.len = idet.len;
	ic.signature.data = isig;
	ic.signature.len = 64;
	wa_cert__cert_chain__noise_certificate__init(&lc);
	lc.has_details = lc.has_signature = 1;
	lc.details.data = ldet.data;
	lc.details.len = ldet.len;
	lc.signature.data = lsig;
	lc.signature.len = 64;
	wa_cert__cert_chain__init(&cc);
	cc.leaf = &lc;
	cc.intermediate = &ic;
	rc = pack_append(&cc.base, out);
out:
	wa_buf_free(&idet);
	wa_buf_free(&ldet);
	return rc;
}

int wa_cert_chain_generate(const uint8_t root_priv[32], uint32_t issuer_serial,
			   const uint8_t server_static_pub[32], uint64_t now, uint64_t valid_secs,
			   struct wa_buf *out)
{
	struct wa_cert_details inter, leaf;
	uint8_t ipriv[32];
	int rc;

	if (!server_static_pub)
		return -1;
	memset(&inter, 0, sizeof inter);
	memset(&leaf, 0, sizeof leaf);
	if (wa_x25519_keypair(ipriv, inter.key) != 0)
		return -1;
	inter.serial = 1;
	inter.issuer_serial = issuer_serial;
	inter.not_before = now > 86400 ? now - 86400 : 0;
	inter.not_after = valid_secs > UINT64_MAX - now ? UINT64_MAX : now + valid_secs;
	leaf = inter;
	leaf.serial = 2;
	leaf.issuer_serial = 1;
	memcpy(leaf.key, server_static_pub, 32);
	rc = wa_cert_chain_build(root_priv, &inter, ipriv, &leaf, NULL, out);
	memset(ipriv, 0, sizeof ipriv);
	return rc;
}
