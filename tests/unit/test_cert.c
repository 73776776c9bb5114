/* Unit tests for wa/cert: the vector chain of tests/vectors/protocol.json
 * rebuilt byte for byte (fixed signing nonces), and every verification
 * check of docs/protocol.md §1.5 failing on its own. */
#include "tap.h"
#include "noise_vectors.h"
#include "wa/cert.h"
#include "wa/crypto.h"
#include "wa_cert.pb-c.h"
#include "wa_util.h"

#include <time.h>

static uint8_t chain_vec[1024];
static size_t chain_len;
static uint8_t root_priv[32], root_pub[32], inter_priv[32], inter_pub[32], ss_pub[32];

static void key32(const char *hex, uint8_t out[32])
{
	if (wa_hex_decode(hex, out, 32) != 0) {
		printf("Bail out! bad key literal\n");
		exit(1);
	}
}

static struct wa_cert_trust trust(void)
{
	struct wa_cert_trust t;

	memcpy(t.root_pub, root_pub, 32);
	t.issuer_serial = 0;
	return t;
}

/* Intermediate/leaf details as documented for the vector chain. */
static void vector_details(struct wa_cert_details *inter, struct wa_cert_details *leaf)
{
	memset(inter, 0, sizeof *inter);
	memset(leaf, 0, sizeof *leaf);
	inter->serial = 1;
	inter->issuer_serial = 0;
	memcpy(inter->key, inter_pub, 32);
	inter->not_before = NV_CERT_NOT_BEFORE;
	inter->not_after = NV_CERT_NOT_AFTER;
	*leaf = *inter;
	leaf->serial = 2;
	leaf->issuer_serial = 1;
	memcpy(leaf->key, ss_pub, 32);
}

static int build(const struct wa_cert_details *inter, const struct wa_cert_details *leaf, struct wa_buf *out)
{
	uint8_t nonces[128];

	memset(nonces, NV_CERT_INTER_NONCE_BYTE, 64);
	memset(nonces + 64, NV_CERT_LEAF_NONCE_BYTE, 64);
	wa_buf_reset(out);
	return wa_cert_chain_build(root_priv, inter, inter_priv, leaf, nonces, out);
}

static void test_vector_chain(void)
{
	struct wa_cert_details inter, leaf, got;
	struct wa_buf out = WA_BUF_INIT;
	struct wa_cert_trust t = trust();
	const uint64_t now = 1800000000u;

	vector_details(&inter, &leaf);
	is_int(build(&inter, &leaf, &out), 0, "vector chain built");
	ok(out.len == chain_len && memcmp(out.data, chain_vec, chain_len) == 0,
	   "built chain = cert_chain_plaintext byte for byte");
	is_int(wa_cert_chain_verify(chain_vec, chain_len, &t, ss_pub, now, &got), WA_CERT_OK, "vector chain verifies");
	ok(got.serial == 2 && got.issuer_serial == 1 && memcmp(got.key, ss_pub, 32) == 0 &&
	   got.not_before == NV_CERT_NOT_BEFORE && got.not_after == NV_CERT_NOT_AFTER, "leaf details returned");
	is_int(wa_cert_chain_verify(chain_vec, chain_len, &t, NULL, now, NULL), WA_CERT_OK,
	       "verifies without a static key to compare");

	/* validity window edges (inclusive) */
	is_int(wa_cert_chain_verify(chain_vec, chain_len, &t, ss_pub, NV_CERT_NOT_BEFORE, NULL), WA_CERT_OK,
	       "valid at notBefore");
	is_int(wa_cert_chain_verify(chain_vec, chain_len, &t, ss_pub, NV_CERT_NOT_AFTER, NULL), WA_CERT_OK,
	       "valid at notAfter");
	is_int(wa_cert_chain_verify(chain_vec, chain_len, &t, ss_pub, NV_CERT_NOT_BEFORE - 1, NULL), WA_CERT_ETIME,
	       "not yet valid rejected");
	is_int(wa_cert_chain_verify(chain_vec, chain_len, &t, ss_pub, (uint64_t)NV_CERT_NOT_AFTER + 1, NULL),
	       WA_CERT_ETIME, "expired rejected");

	/* trust anchor */
	{
		struct wa_cert_trust wa;
		wa_cert_trust_default(&wa);
		is_int(wa_cert_chain_verify(chain_vec, chain_len, &wa, ss_pub, now, NULL), WA_CERT_EROOTSIG,
		       "test chain rejected under WhatsApp's root key");
		ok(memcmp(wa.root_pub, WA_CERT_ROOT_PUB, 32) == 0 && wa.issuer_serial == 0, "default trust");
		t.issuer_serial = 7;
		is_int(wa_cert_chain_verify(chain_vec, chain_len, &t, ss_pub, now, NULL), WA_CERT_EISSUER,
		       "intermediate issuer serial mismatch rejected");
		t = trust();
	}
	{
		uint8_t other[32];
		memcpy(other, ss_pub, 32);
		other[5] ^= 1;
		is_int(wa_cert_chain_verify(chain_vec, chain_len, &t, other, now, NULL), WA_CERT_EKEY,
		       "leaf key != server static rejected");
	}

	/* leaf issuer serial must equal the intermediate serial */
	leaf.issuer_serial = 9;
	build(&inter, &leaf, &out);
	is_int(wa_cert_chain_verify(out.data, out.len, &t, ss_pub, now, NULL), WA_CERT_ECHAIN,
	       "leaf issuerSerial != intermediate serial rejected");
	vector_details(&inter, &leaf);

	/* intermediate window checked separately from the leaf window */
	inter.not_after = now - 1;
	build(&inter, &leaf, &out);
	is_int(wa_cert_chain_verify(out.data, out.len, &t, ss_pub, now, NULL), WA_CERT_ETIME,
	       "expired intermediate rejected while the leaf is valid");
	vector_details(&inter, &leaf);
	leaf.not_before = now + 1;
	build(&inter, &leaf, &out);
	is_int(wa_cert_chain_verify(out.data, out.len, &t, ss_pub, now, NULL), WA_CERT_ETIME,
	       "not-yet-valid leaf rejected while the intermediate is valid");
	vector_details(&inter, &leaf);

	/* builder refuses an intermediate key that is not intermediate_priv's */
	inter.key[0] ^= 1;
	is_int(build(&inter, &leaf, &out), -1, "builder checks the intermediate key pair");
	vector_details(&inter, &leaf);
	wa_buf_free(&out);
}

/* Rebuild the vector chain with one part altered through protobuf-c. */
static int verify_mutated(void (*mutate)(WaCert__CertChain *))
{
	WaCert__CertChain *cc = wa_cert__cert_chain__unpack(NULL, chain_len, chain_vec);
	struct wa_cert_trust t = trust();
	uint8_t buf[2048];
	size_t n;
	int rc;

	if (!cc)
		return 999;
	mutate(cc);
	n = wa_cert__cert_chain__pack(cc, buf);
	rc = wa_cert_chain_verify(buf, n, &t, ss_pub, 1800000000u, NULL);
	wa_cert__cert_chain__free_unpacked(cc, NULL);
	return rc;
}

static void m_no_leaf(WaCert__CertChain *cc) { cc->leaf->has_details = 0; }
static void m_no_inter_sig(WaCert__CertChain *cc) { cc->intermediate->has_signature = 0; }
static void m_short_sig(WaCert__CertChain *cc) { cc->leaf->signature.len = 63; }
static void m_inter_details(WaCert__CertChain *cc) { cc->intermediate->details.data[3] ^= 1; }
static void m_leaf_details(WaCert__CertChain *cc) { cc->leaf->details.data[10] ^= 1; }
static void m_leaf_sig(WaCert__CertChain *cc) { cc->leaf->signature.data[0] ^= 1; }
static void m_inter_sig(WaCert__CertChain *cc) { cc->intermediate->signature.data[40] ^= 1; }
static void m_swap(WaCert__CertChain *cc)
{
	WaCert__CertChain__NoiseCertificate *x = cc->leaf;
	cc->leaf = cc->intermediate;
	cc->intermediate = x;
}

static void test_mutations(void)
{
	struct wa_cert_trust t = trust();

	is_int(verify_mutated(m_no_leaf), WA_CERT_EDECODE, "missing leaf details rejected");
	is_int(verify_mutated(m_no_inter_sig), WA_CERT_EDECODE, "missing intermediate signature rejected");
	is_int(verify_mutated(m_short_sig), WA_CERT_EDECODE, "63-byte signature rejected");
	is_int(verify_mutated(m_inter_details), WA_CERT_EROOTSIG, "tampered intermediate details rejected");
	is_int(verify_mutated(m_inter_sig), WA_CERT_EROOTSIG, "tampered intermediate signature rejected");
	is_int(verify_mutated(m_leaf_details), WA_CERT_ELEAFSIG, "tampered leaf details rejected");
	is_int(verify_mutated(m_leaf_sig), WA_CERT_ELEAFSIG, "tampered leaf signature rejected");
	is_int(verify_mutated(m_swap), WA_CERT_EROOTSIG, "leaf and intermediate swapped rejected");

	is_int(wa_cert_chain_verify(chain_vec, chain_len - 1, &t, ss_pub, 1800000000u, NULL), WA_CERT_EDECODE,
	       "truncated chain rejected");
	is_int(wa_cert_chain_verify(chain_vec, 0, &t, ss_pub, 1800000000u, NULL), WA_CERT_EDECODE, "empty chain rejected");
	is_int(wa_cert_chain_verify(chain_vec, WA_CERT_CHAIN_MAX + 1, &t, ss_pub, 1800000000u, NULL), WA_CERT_EINVAL,
	       "oversize chain refused before parsing");
	ok(strlen(wa_cert_strerror(WA_CERT_EKEY)) > 0 && strcmp(wa_cert_strerror(42), "unknown certificate error") == 0,
	   "strerror");
}

static void test_generate(void)
{
	struct wa_buf out = WA_BUF_INIT;
	struct wa_cert_trust t = trust();
	uint64_t now = (uint64_t)time(NULL);

	is_int(wa_cert_chain_generate(root_priv, 0, ss_pub, now, 3600, &out), 0, "chain generated with fresh intermediate");
	is_int(wa_cert_chain_verify(out.data, out.len, &t, ss_pub, now, NULL), WA_CERT_OK, "generated chain verifies now");
	is_int(wa_cert_chain_verify(out.data, out.len, &t, ss_pub, now + 7200, NULL), WA_CERT_ETIME,
	       "generated chain expires after valid_secs");
	wa_buf_reset(&out);
	is_int(wa_cert_chain_generate(root_priv, 5, ss_pub, now, 3600, &out), 0, "chain with issuer serial 5");
	is_int(wa_cert_chain_verify(out.data, out.len, &t, ss_pub, now, NULL), WA_CERT_EISSUER,
	       "rejected when 0 is expected");
	t.issuer_serial = 5;
	is_int(wa_cert_chain_verify(out.data, out.len, &t, ss_pub, now, NULL), WA_CERT_OK, "accepted when 5 is configured");
	wa_buf_free(&out);
}

int main(void)
{
	size_t n = strlen(NV_CERT_CHAIN_PLAINTEXT) / 2;
	uint8_t pub[32];

	if (n > sizeof chain_vec || wa_hex_decode(NV_CERT_CHAIN_PLAINTEXT, chain_vec, n) != 0) {
		printf("Bail out! bad chain literal\n");
		return 1;
	}
	chain_len = n;
	key32(NV_TEST_ROOT_PRIV, root_priv);
	key32(NV_TEST_ROOT_PUB, root_pub);
	key32(NV_TEST_INTERMEDIATE_PRIV, inter_priv);
	key32(NV_TEST_INTERMEDIATE_PUB, inter_pub);
	key32(NV_SERVER_STATIC_PUB, ss_pub);
	ok(wa_x25519_public(root_priv, pub) == 0 && memcmp(pub, root_pub, 32) == 0, "test root key pair consistent");
	{
		struct wa_cert_trust t, d;
		wa_cert_trust_default(&d);
		ok(wa_cert_trust_from_hex(&t, "142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b", 0) == 0 &&
		   memcmp(t.root_pub, d.root_pub, 32) == 0 && t.issuer_serial == 0, "trust from hex = WhatsApp root");
		is_int(wa_cert_trust_from_hex(&t, "1423", 0), -1, "short hex root refused");
		is_int(wa_cert_trust_from_hex(&t, "x42375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b", 0), -1,
		       "non-hex root refused");
	}

	test_vector_chain();
	test_mutations();
	test_generate();
	return tap_done();
}
