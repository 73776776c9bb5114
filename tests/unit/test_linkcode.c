/* test_linkcode: wa/linkcode against the "link_code" and "phash" vectors of
 * tests/vectors/protocol.json, plus a companion <-> primary key-bundle round
 * trip (no vector exists for the bundle: it checks both sides agree). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tap.h"
#include "vectors.h"
#include "wa/crypto.h"
#include "wa/linkcode.h"
#include "wa_util.h"

static void test_code(json_t *v)
{
	uint8_t *cb = vec_hex(v, "code_bytes", NULL), *salt = vec_hex(v, "pbkdf2_salt", NULL);
	uint8_t *key = vec_hex(v, "pbkdf2_key", NULL), *pub = vec_hex(v, "companion_ephemeral_pub", NULL);
	uint8_t *iv = vec_hex(v, "ctr_iv", NULL), *wrapped = vec_hex(v, "wrapped_companion_ephemeral(salt32||iv16||ct32)", NULL);
	uint8_t got[80];
	char code[9], disp[10];

	ok(wa_linkcode_generate(cb, code) == 0, "generate from bytes");
	is_str(code, vec_str(v, "code_8chars"), "code = vector");
	ok(wa_linkcode_display(code, disp) == 0, "display");
	is_str(disp, vec_str(v, "display"), "display = vector");
	ok(wa_linkcode_valid(code) && !wa_linkcode_valid("15JMBSW0") && !wa_linkcode_valid("15JMBSWAX") &&
	   !wa_linkcode_valid("15jmbswa") && !wa_linkcode_valid(NULL), "validity (alphabet has no 0, I, O, U)");
	{
		/* typed codes (the phone side, §4.5 step 4): the vector's display
		 * form, lower-cased and spaced, normalises to its 8 chars */
		char typed[32], norm[9];
		const char *d = vec_str(v, "display");
		size_t n = 0;

		for (size_t i = 0; d && d[i] && n + 2 < sizeof typed; i++) {
			typed[n++] = (d[i] >= 'A' && d[i] <= 'Z') ? (char)(d[i] - 'A' + 'a') : d[i];
			if (i == 1)
				typed[n++] = ' ';
		}
		typed[n] = '\0';
		ok(wa_linkcode_normalize(d, norm) == 0 && strcmp(norm, vec_str(v, "code_8chars")) == 0,
		   "display form normalises to the code");
		ok(wa_linkcode_normalize(typed, norm) == 0 && strcmp(norm, vec_str(v, "code_8chars")) == 0,
		   "lower-case, spaced typed code normalises to the code");
		ok(wa_linkcode_normalize("15JM-BSW0", norm) == -1 && norm[0] == '\0' &&
		   wa_linkcode_normalize("15JM-BSWAX", norm) == -1 && wa_linkcode_normalize("15JM-BSW", norm) == -1 &&
		   wa_linkcode_normalize("15JMBSWA15JMBSWA15JMBSWA", norm) == -1 &&
		   wa_linkcode_normalize("", norm) == -1 && wa_linkcode_normalize(NULL, norm) == -1 &&
		   wa_linkcode_normalize("15JMBSWA", NULL) == -1, "bad typed codes refused");
	}
	is_int(json_integer_value(json_object_get(v, "pbkdf2_iterations")), WA_LINKCODE_ITERATIONS, "iterations");
	ok(wa_linkcode_key(code, salt, got) == 0 && memcmp(got, key, 32) == 0, "PBKDF2 key = vector");
	ok(wa_linkcode_wrap(code, salt, iv, pub, got) == 0 && memcmp(got, wrapped, 80) == 0,
	   "wrapped companion ephemeral = vector");
	memset(got, 0, 32);
	ok(wa_linkcode_unwrap(code, wrapped, 80, got) == 0 && memcmp(got, pub, 32) == 0, "unwrap");
	ok(wa_linkcode_unwrap("15JMBSWB", wrapped, 80, got) == 0 && memcmp(got, pub, 32) != 0,
	   "wrong code unwraps to garbage (CTR has no tag)");
	ok(wa_linkcode_unwrap(code, wrapped, 79, got) == -1, "short wrapped blob refused");
	{
		char c2[9];

		ok(wa_linkcode_generate(NULL, c2) == 0 && wa_linkcode_valid(c2), "random code is valid");
	}
	free(cb); free(salt); free(key); free(pub); free(iv); free(wrapped);
}

static void test_bundle(void)
{
	uint8_t ce_priv[32], ce_pub[32], pe_priv[32], pe_pub[32], ci_priv[32], ci_pub[32], pi_priv[32], pi_pub[32];
	uint8_t bundle[WA_LINKCODE_BUNDLE_LEN], adv1[32], adv2[32], got_ci[32];

	ok(wa_x25519_keypair(ce_priv, ce_pub) == 0 && wa_x25519_keypair(pe_priv, pe_pub) == 0 &&
	   wa_x25519_keypair(ci_priv, ci_pub) == 0 && wa_x25519_keypair(pi_priv, pi_pub) == 0, "keys");
	ok(wa_linkcode_bundle_seal(ce_priv, pe_pub, ci_priv, ci_pub, pi_pub, NULL, NULL, NULL, bundle, adv1) == 0,
	   "companion seals the key bundle");
	ok(wa_linkcode_bundle_open(pe_priv, ce_pub, pi_priv, pi_pub, bundle, sizeof bundle, got_ci, adv2) == 0,
	   "primary opens it");
	ok(memcmp(got_ci, ci_pub, 32) == 0, "companion identity carried");
	ok(memcmp(adv1, adv2, 32) == 0, "both sides derive the same advSecret");
	bundle[100] ^= 1;
	ok(wa_linkcode_bundle_open(pe_priv, ce_pub, pi_priv, pi_pub, bundle, sizeof bundle, got_ci, adv2) == -1,
	   "tampered bundle rejected");
	bundle[100] ^= 1;
	ok(wa_linkcode_bundle_open(pe_priv, ce_pub, pi_priv, ce_pub, bundle, sizeof bundle, got_ci, adv2) == -1,
	   "bundle for another primary identity rejected");
	{
		/* fixed inputs: deterministic output, and the advSecret follows
		 * HKDF(shared || identityShared || advRandom, "adv_secret") */
		uint8_t salt[32], nonce[12], advr[32], b2[WA_LINKCODE_BUNDLE_LEN], a3[32], shared[32], ids[32], ikm[96],
			want[32];

		memset(salt, 1, 32);
		memset(nonce, 2, 12);
		memset(advr, 3, 32);
		wa_linkcode_bundle_seal(ce_priv, pe_pub, ci_priv, ci_pub, pi_pub, salt, nonce, advr, bundle, adv1);
		wa_linkcode_bundle_seal(ce_priv, pe_pub, ci_priv, ci_pub, pi_pub, salt, nonce, advr, b2, a3);
		ok(memcmp(bundle, b2, sizeof b2) == 0 && memcmp(bundle, salt, 32) == 0 &&
		   memcmp(bundle + 32, nonce, 12) == 0, "fixed salt/nonce: deterministic layout salt||nonce||ct");
		wa_x25519_dh(ce_priv, pe_pub, shared);
		wa_x25519_dh(ci_priv, pi_pub, ids);
		memcpy(ikm, shared, 32);
		memcpy(ikm + 32, ids, 32);
		memcpy(ikm + 64, advr, 32);
		wa_hkdf_sha256(ikm, 96, NULL, 0, "adv_secret", 10, want, 32);
		ok(memcmp(adv1, want, 32) == 0, "advSecret formula");
	}
}

static void test_phash(json_t *v)
{
	json_t *arr = json_object_get(v, "ad_strings");
	const char *ads[8];
	size_t n = json_array_size(arr);
	char out[11];

	for (size_t i = 0; i < n && i < 8; i++)
		ads[i] = json_string_value(json_array_get(arr, i));
	ok(wa_phash(ads, n, out) == 0, "phash computed");
	is_str(out, vec_str(v, "phash"), "phash = vector");
	{
		const char *rev[3] = { ads[2], ads[0], ads[1] };

		ok(wa_phash(rev, 3, out) == 0 && strcmp(out, vec_str(v, "phash")) == 0, "order independent");
	}
	ok(wa_phash(ads, 0, out) == -1, "empty list refused");
}

int main(void)
{
	json_t *vectors;

	vectors = vec_load();
	test_code(json_object_get(vectors, "link_code"));
	test_bundle();
	test_phash(json_object_get(vectors, "phash"));
	json_decref(vectors);
	return tap_done();
}
