/* test_mediacrypto: wa/mediacrypto against the "media" vectors of
 * tests/vectors/protocol.json (computed independently with
 * python3-cryptography), streaming vs one-shot in odd chunk sizes, and
 * rejection of tampered / truncated files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tap.h"
#include "vectors.h"
#include "wa/mediacrypto.h"
#include "wa_util.h"

static json_t *vectors;

/* Stream-encrypt in chunks of `chunk` bytes into a malloc'd buffer. */
static uint8_t *stream_encrypt(enum wa_media_type t, const uint8_t *key, const uint8_t *pt, size_t len,
			       size_t chunk, size_t *outlen, struct wa_media_info *info)
{
	struct wa_media_enc *e = wa_media_enc_new(t, key);
	uint8_t *out = malloc(len + WA_MEDIA_STREAM_SLACK * (len / chunk + 2) + WA_MEDIA_ENC_FINAL_MAX);
	size_t pos = 0, n;

	if (!e || !out)
		goto fail;
	for (size_t off = 0; off < len; off += chunk) {
		size_t c = len - off < chunk ? len - off : chunk;

		if (wa_media_enc_update(e, pt + off, c, out + pos, &n) != WA_MEDIA_OK || n > c + WA_MEDIA_STREAM_SLACK)
			goto fail;
		pos += n;
	}
	if (wa_media_enc_final(e, out + pos, &n, info) != WA_MEDIA_OK)
		goto fail;
	pos += n;
	wa_media_enc_free(e);
	*outlen = pos;
	return out;
fail:
	wa_media_enc_free(e);
	free(out);
	return NULL;
}

/* Stream-decrypt in chunks; returns the final status, output in *out. */
static int stream_decrypt(enum wa_media_type t, const uint8_t *key, const uint8_t *enc, size_t len, size_t chunk,
			  const uint8_t *want_enc, const uint8_t *want_sha, uint8_t **out, size_t *outlen,
			  struct wa_media_info *info)
{
	struct wa_media_dec *d = wa_media_dec_new(t, key, want_enc, want_sha);
	uint8_t *buf = malloc(len + WA_MEDIA_STREAM_SLACK * (len / chunk + 2) + WA_MEDIA_DEC_FINAL_MAX);
	size_t pos = 0, n;
	int rc = WA_MEDIA_ERR;

	*out = NULL;
	if (!d || !buf)
		goto done;
	for (size_t off = 0; off < len; off += chunk) {
		size_t c = len - off < chunk ? len - off : chunk;

		rc = wa_media_dec_update(d, enc + off, c, buf + pos, &n);
		if (rc != WA_MEDIA_OK)
			goto done;
		if (n > c + WA_MEDIA_STREAM_SLACK) {
			rc = WA_MEDIA_ERR;
			goto done;
		}
		pos += n;
	}
	rc = wa_media_dec_final(d, buf + pos, &n, info);
	if (rc == WA_MEDIA_OK) {
		pos += n;
		*out = buf;
		*outlen = pos;
		buf = NULL;
	}
done:
	wa_media_dec_free(d);
	free(buf);
	return rc;
}

static int type_for_info(const char *info, enum wa_media_type *t)
{
	for (int i = 0; i < WA_MEDIA_TYPE_COUNT; i++) {
		if (strcmp(wa_media_hkdf_info((enum wa_media_type)i), info) == 0) {
			*t = (enum wa_media_type)i;
			return 0;
		}
	}
	return -1;
}

static void test_vector(const char *name)
{
	json_t *v = json_object_get(json_object_get(vectors, "media"), name);
	char msg[160], tok[45];
	enum wa_media_type t = WA_MEDIA_TYPE_COUNT;
	struct wa_media_keys k;
	struct wa_media_info info;
	size_t xl, blobl, ptl, n;
	uint8_t *key, *x, *blob, *fsha, *fesha, *mac10, *out = NULL, *ct;
	const char *pt;
	static const size_t chunks[] = { 1, 2, 3, 7, 10, 11, 15, 16, 17, 31, 4096 };

	if (!v) {
		ok(0, "vector present");
		return;
	}
	ok(type_for_info(vec_str(v, "hkdf_info"), &t) == 0, "hkdf info string is one of ours");
	key = vec_hex(v, "media_key", NULL);
	x = vec_hex(v, "expanded_112", &xl);
	blob = vec_hex(v, "uploaded_blob", &blobl);
	fsha = vec_hex(v, "file_sha256", NULL);
	fesha = vec_hex(v, "file_enc_sha256", NULL);
	mac10 = vec_hex(v, "mac10", NULL);
	ct = vec_hex(v, "ciphertext", NULL);
	pt = vec_str(v, "plaintext_utf8");
	ptl = strlen(pt);

	snprintf(msg, sizeof msg, "%s: key expansion", name);
	ok(wa_media_expand_key(t, key, &k) == 0 && xl == 112 && memcmp(k.iv, x, 16) == 0 &&
	   memcmp(k.cipher_key, x + 16, 32) == 0 && memcmp(k.mac_key, x + 48, 32) == 0 &&
	   memcmp(k.ref_key, x + 80, 32) == 0, msg);

	snprintf(msg, sizeof msg, "%s: one-shot encrypt = uploaded blob", name);
	ok(wa_media_encrypt(t, key, (const uint8_t *)pt, ptl, &out, &n, &info) == WA_MEDIA_OK && n == blobl &&
	   memcmp(out, blob, n) == 0, msg);
	snprintf(msg, sizeof msg, "%s: ciphertext and mac10 split", name);
	ok(out && memcmp(out, ct, n - 10) == 0 && memcmp(out + n - 10, mac10, 10) == 0, msg);
	snprintf(msg, sizeof msg, "%s: fileSha256 / fileEncSha256 / lengths", name);
	ok(memcmp(info.file_sha256, fsha, 32) == 0 && memcmp(info.file_enc_sha256, fesha, 32) == 0 &&
	   info.file_length == ptl && info.enc_length == blobl, msg);
	wa_media_upload_token(info.file_enc_sha256, 1, tok);
	snprintf(msg, sizeof msg, "%s: upload token (padded, WM)", name);
	is_str(tok, vec_str(v, "upload_token_b64url"), msg);
	free(out);
	out = NULL;

	snprintf(msg, sizeof msg, "%s: one-shot decrypt with both hash checks", name);
	ok(wa_media_decrypt(t, key, blob, blobl, fesha, fsha, &out, &n, &info) == WA_MEDIA_OK && n == ptl &&
	   memcmp(out, pt, n) == 0 && info.file_length == ptl, msg);
	free(out);

	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		uint8_t *s, *d = NULL;
		size_t sl = 0, dl = 0;
		struct wa_media_info si, di;
		int rc;

		s = stream_encrypt(t, key, (const uint8_t *)pt, ptl, chunks[i], &sl, &si);
		snprintf(msg, sizeof msg, "%s: stream encrypt, chunk %zu = blob", name, chunks[i]);
		ok(s && sl == blobl && memcmp(s, blob, sl) == 0 && memcmp(si.file_enc_sha256, fesha, 32) == 0 &&
		   memcmp(si.file_sha256, fsha, 32) == 0, msg);
		rc = stream_decrypt(t, key, blob, blobl, chunks[i], fesha, fsha, &d, &dl, &di);
		snprintf(msg, sizeof msg, "%s: stream decrypt, chunk %zu", name, chunks[i]);
		ok(rc == WA_MEDIA_OK && dl == ptl && memcmp(d, pt, dl) == 0 && di.file_length == ptl, msg);
		free(s);
		free(d);
	}
	free(key);
	free(x);
	free(blob);
	free(fsha);
	free(fesha);
	free(mac10);
	free(ct);
}

static void test_types(void)
{
	static const char *const infos[] = {
		"WhatsApp Image Keys", "WhatsApp Video Keys", "WhatsApp Audio Keys", "WhatsApp Document Keys",
		"WhatsApp History Keys", "WhatsApp App State Keys", "WhatsApp Link Thumbnail Keys",
		"WhatsApp Image Thumbnail Keys", "WhatsApp Video Thumbnail Keys",
		"WhatsApp Document Thumbnail Keys", "WhatsApp Payment Background Keys", "WhatsApp Sticker Pack Keys",
	};
	int all = 1;

	for (size_t i = 0; i < sizeof infos / sizeof infos[0]; i++) {
		enum wa_media_type t;

		if (type_for_info(infos[i], &t) != 0) {
			printf("# no type for %s\n", infos[i]);
			all = 0;
		}
	}
	ok(all, "every §9.2 info string has a media type");
	all = 1;
	for (int i = 0; i < WA_MEDIA_TYPE_COUNT; i++) {
		enum wa_media_type t;

		if (!wa_media_type_name(i) || wa_media_type_from_name(wa_media_type_name(i), &t) != 0 || (int)t != i ||
		    !wa_media_hkdf_info(i))
			all = 0;
	}
	ok(all, "type names round-trip");
	ok(wa_media_type_name(WA_MEDIA_TYPE_COUNT) == NULL && wa_media_hkdf_info((enum wa_media_type)-1) == NULL,
	   "out-of-range type gives NULL");
	is_str(wa_media_hkdf_info(WA_MEDIA_STICKER), "WhatsApp Image Keys", "sticker uses Image keys");
	is_str(wa_media_hkdf_info(WA_MEDIA_PTT), "WhatsApp Audio Keys", "ptt uses Audio keys");
	is_str(wa_media_hkdf_info(WA_MEDIA_PTV), "WhatsApp Video Keys", "ptv uses Video keys");
	is_str(wa_media_upload_path(WA_MEDIA_IMAGE), "/mms/image", "image path");
	is_str(wa_media_upload_path(WA_MEDIA_STICKER), "/mms/image", "sticker path");
	is_str(wa_media_upload_path(WA_MEDIA_PTV), "/mms/video", "ptv path");
	is_str(wa_media_upload_path(WA_MEDIA_PTT), "/mms/audio", "ptt path");
	is_str(wa_media_upload_path(WA_MEDIA_DOCUMENT), "/mms/document", "document path");
	is_str(wa_media_upload_path(WA_MEDIA_HISTORY), "/mms/md-msg-hist", "history path");
	is_str(wa_media_upload_path(WA_MEDIA_APP_STATE), "/mms/md-app-state", "app state path");
	is_str(wa_media_upload_path(WA_MEDIA_LINK_THUMBNAIL), "/mms/thumbnail-link", "link thumbnail path");
	is_str(wa_media_upload_path(WA_MEDIA_PRODUCT), "/product/image", "product path");
	is_str(wa_media_mms_type(WA_MEDIA_APP_STATE), "md-app-state", "app state mms-type");
	is_str(wa_media_mms_type(WA_MEDIA_STICKER), "image", "sticker mms-type");
}

static void test_retry_key(void)
{
	json_t *v = json_object_get(json_object_get(vectors, "media"), "media_retry_key");
	uint8_t *key, *want, got[32];

	if (!v) {
		ok(0, "media_retry_key vector present");
		return;
	}
	key = vec_hex(v, "media_key", NULL);
	want = vec_hex(v, "key32", NULL);
	ok(wa_media_retry_key(key, got) == 0 && memcmp(got, want, 32) == 0, "media retry key");
	{
		uint8_t pb[64], enc[128], dec[128], iv[12] = { 1, 2, 3 };
		size_t pl = 0;

		ok(wa_media_retry_receipt_pack("3EB0ABCD", pb, sizeof pb, &pl) == 0 && pl == 10 && pb[0] == 0x0a &&
		   pb[1] == 8 && memcmp(pb + 2, "3EB0ABCD", 8) == 0, "ServerErrorReceipt packing");
		ok(wa_media_retry_receipt_pack("3EB0ABCD", pb, 12, &pl) == -1, "receipt packing respects cap");
		ok(wa_media_retry_encrypt(key, "3EB0ABCD", iv, pb, pl, enc) == 0 &&
		   wa_media_retry_decrypt(key, "3EB0ABCD", iv, enc, pl + 16, dec) == 0 && memcmp(dec, pb, pl) == 0,
		   "retry receipt GCM round trip");
		ok(wa_media_retry_decrypt(key, "3EB0ABCE", iv, enc, pl + 16, dec) == -1, "retry AAD = message id");
	}
	free(key);
	free(want);
}

static void test_large_and_tamper(void)
{
	static const size_t chunks[] = { 1, 9, 10, 11, 13, 4095, 65536, 1 << 20 };
	const size_t len = 300000 + 7;
	uint8_t key[32], *pt = malloc(len), *one = NULL, *d = NULL, *bad;
	size_t onel = 0, dl = 0;
	struct wa_media_info info, si;
	int all = 1, rc;

	for (size_t i = 0; i < len; i++)
		pt[i] = (uint8_t)(i * 131 + (i >> 8));
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0xa0 + i);
	ok(wa_media_encrypt(WA_MEDIA_VIDEO, key, pt, len, &one, &onel, &info) == WA_MEDIA_OK &&
	   onel == (len / 16 + 1) * 16 + 10, "300 KB one-shot encrypt, length = padded + 10");
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		size_t sl = 0;
		uint8_t *s = stream_encrypt(WA_MEDIA_VIDEO, key, pt, len, chunks[i], &sl, &si);

		if (!s || sl != onel || memcmp(s, one, sl) != 0 ||
		    memcmp(si.file_enc_sha256, info.file_enc_sha256, 32) != 0)
			all = 0;
		free(s);
		rc = stream_decrypt(WA_MEDIA_VIDEO, key, one, onel, chunks[i], info.file_enc_sha256,
				    info.file_sha256, &d, &dl, NULL);
		if (rc != WA_MEDIA_OK || dl != len || memcmp(d, pt, len) != 0)
			all = 0;
		free(d);
		d = NULL;
	}
	ok(all, "300 KB: streaming in odd chunk sizes equals one-shot both ways");

	/* wrong media type: different keys, MAC fails */
	is_int(wa_media_decrypt(WA_MEDIA_IMAGE, key, one, onel, NULL, NULL, &d, &dl, NULL), WA_MEDIA_ERR_MAC,
	       "wrong media type -> MAC mismatch");
	ok(d == NULL, "no output on failure");

	bad = malloc(onel);
	memcpy(bad, one, onel);
	bad[onel - 1] ^= 1;
	is_int(wa_media_decrypt(WA_MEDIA_VIDEO, key, bad, onel, NULL, NULL, &d, &dl, NULL), WA_MEDIA_ERR_MAC,
	       "one-shot: flipped MAC bit rejected");
	is_int(wa_media_decrypt(WA_MEDIA_VIDEO, key, bad, onel, info.file_enc_sha256, NULL, &d, &dl, NULL),
	       WA_MEDIA_ERR_ENC_SHA, "one-shot: fileEncSha256 checked first");
	is_int(stream_decrypt(WA_MEDIA_VIDEO, key, bad, onel, 777, NULL, NULL, &d, &dl, NULL), WA_MEDIA_ERR_MAC,
	       "stream: flipped MAC bit rejected at final");
	memcpy(bad, one, onel);
	bad[1000] ^= 0x80;
	is_int(wa_media_decrypt(WA_MEDIA_VIDEO, key, bad, onel, NULL, NULL, &d, &dl, NULL), WA_MEDIA_ERR_MAC,
	       "one-shot: flipped ciphertext bit rejected");
	is_int(stream_decrypt(WA_MEDIA_VIDEO, key, bad, onel, 4096, NULL, NULL, &d, &dl, NULL), WA_MEDIA_ERR_MAC,
	       "stream: flipped ciphertext bit rejected");
	is_int(wa_media_decrypt(WA_MEDIA_VIDEO, key, one, onel - 1, NULL, NULL, &d, &dl, NULL), WA_MEDIA_ERR_SHORT,
	       "one-shot: truncated by one byte");
	is_int(stream_decrypt(WA_MEDIA_VIDEO, key, one, onel - 1, 100, NULL, NULL, &d, &dl, NULL),
	       WA_MEDIA_ERR_SHORT, "stream: truncated by one byte");
	is_int(wa_media_decrypt(WA_MEDIA_VIDEO, key, one, onel - 16, NULL, NULL, &d, &dl, NULL), WA_MEDIA_ERR_MAC,
	       "one-shot: truncated by a whole block -> MAC mismatch");
	is_int(stream_decrypt(WA_MEDIA_VIDEO, key, one, onel - 16, 100, NULL, NULL, &d, &dl, NULL),
	       WA_MEDIA_ERR_MAC, "stream: truncated by a whole block -> MAC mismatch");
	is_int(wa_media_decrypt(WA_MEDIA_VIDEO, key, one, 25, NULL, NULL, &d, &dl, NULL), WA_MEDIA_ERR_SHORT,
	       "one-shot: 25 bytes is too short");
	is_int(stream_decrypt(WA_MEDIA_VIDEO, key, one, 9, 3, NULL, NULL, &d, &dl, NULL), WA_MEDIA_ERR_SHORT,
	       "stream: 9 bytes is too short");
	is_int(stream_decrypt(WA_MEDIA_VIDEO, key, one, 0, 1, NULL, NULL, &d, &dl, NULL), WA_MEDIA_ERR_SHORT,
	       "stream: empty input is too short");
	memset(bad, 0, 32);
	is_int(wa_media_decrypt(WA_MEDIA_VIDEO, key, one, onel, NULL, bad, &d, &dl, NULL), WA_MEDIA_ERR_SHA,
	       "one-shot: wrong fileSha256");
	is_int(stream_decrypt(WA_MEDIA_VIDEO, key, one, onel, 5000, NULL, bad, &d, &dl, NULL), WA_MEDIA_ERR_SHA,
	       "stream: wrong fileSha256");
	ok(d == NULL, "stream helper returns nothing on failure");

	{
		struct wa_media_dec *dd = wa_media_dec_new(WA_MEDIA_VIDEO, key, NULL, NULL);
		uint8_t o[64];
		size_t on;

		wa_media_dec_update(dd, one, 10, o, &on);
		is_int(wa_media_dec_final(dd, o, &on, NULL), WA_MEDIA_ERR_SHORT, "final after 10 bytes: short");
		is_int(wa_media_dec_update(dd, one, 10, o, &on), WA_MEDIA_ERR_SHORT, "failed context stays failed");
		wa_media_dec_free(dd);
	}
	{
		struct wa_media_enc *ee = wa_media_enc_new(WA_MEDIA_VIDEO, key);
		uint8_t o[64];
		size_t on;

		ok(wa_media_enc_final(ee, o, &on, &si) == WA_MEDIA_OK && on == 26,
		   "empty plaintext encrypts to one block + MAC");
		is_int(wa_media_enc_update(ee, pt, 1, o, &on), WA_MEDIA_ERR_STATE, "update after final refused");
		wa_media_enc_free(ee);
	}
	wa_media_enc_free(NULL); /* no-ops (ASan would report otherwise) */
	wa_media_dec_free(NULL);
	ok(wa_media_enc_new((enum wa_media_type)99, key) == NULL, "bad type -> no context");
	ok(strcmp(wa_media_strerror(WA_MEDIA_ERR_MAC), "media MAC mismatch") == 0, "strerror");
	free(bad);
	free(one);
	free(pt);
}

int main(void)
{
	vectors = vec_load();
	test_types();
	test_vector("image");
	test_vector("audio");
	test_vector("history");
	test_retry_key();
	test_large_and_tamper();
	json_decref(vectors);
	return tap_done();
}
