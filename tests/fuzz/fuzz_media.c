// fuzz-sources: common/wa_err.c wa/mediacrypto.c wa/crypto.c common/wa_util.c
/* fuzz_media: hostile bytes into media decryption, one-shot and streaming,
 * plus an encrypt -> decrypt round-trip property on the input as plaintext.
 *
 * Byte 0: bit 7 selects the mode (0 = decrypt hostile file, 1 = round trip),
 * the low bits pick the media type; byte 1 picks the stream chunk size. The
 * rest is the file (or plaintext). Properties checked (abort on violation):
 * one-shot and streaming decrypt agree on success and output; a round trip
 * returns the plaintext and the reported hashes verify. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wa/mediacrypto.h"

static const uint8_t fuzz_key[32] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

/* Streaming decrypt; returns the status, *out malloc'd on success. */
static int stream_dec(enum wa_media_type t, const uint8_t *in, size_t len, size_t chunk, const uint8_t *want_enc,
		      const uint8_t *want_sha, uint8_t **out, size_t *outlen)
{
	struct wa_media_dec *d = wa_media_dec_new(t, fuzz_key, want_enc, want_sha);
	uint8_t *buf = malloc(len + WA_MEDIA_STREAM_SLACK * (len / chunk + 2) + WA_MEDIA_DEC_FINAL_MAX);
	size_t pos = 0, n;
	int rc = WA_MEDIA_ERR;

	*out = NULL;
	*outlen = 0;
	if (!d || !buf)
		goto done;
	for (size_t off = 0; off < len; off += chunk) {
		size_t c = len - off < chunk ? len - off : chunk;

		rc = wa_media_dec_update(d, in + off, c, buf + pos, &n);
		if (rc != WA_MEDIA_OK)
			goto done;
		if (n > c + WA_MEDIA_STREAM_SLACK)
			abort();
		pos += n;
	}
	rc = wa_media_dec_final(d, buf + pos, &n, NULL);
	if (rc == WA_MEDIA_OK) {
		*out = buf;
		*outlen = pos + n;
		buf = NULL;
	}
done:
	wa_media_dec_free(d);
	free(buf);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum wa_media_type t;
	size_t chunk, n1 = 0, n2 = 0;
	uint8_t *o1 = NULL, *o2 = NULL;
	int r1, r2;

	if (size < 2)
		return 0;
	t = (enum wa_media_type)((data[0] & 0x7f) % WA_MEDIA_TYPE_COUNT);
	chunk = 1 + data[1] % 67;
	if (!(data[0] & 0x80)) {
		r1 = wa_media_decrypt(t, fuzz_key, data + 2, size - 2, NULL, NULL, &o1, &n1, NULL);
		r2 = stream_dec(t, data + 2, size - 2, chunk, NULL, NULL, &o2, &n2);
		if ((r1 == WA_MEDIA_OK) != (r2 == WA_MEDIA_OK))
			abort();
		if (r1 == WA_MEDIA_OK && (n1 != n2 || (n1 && memcmp(o1, o2, n1) != 0)))
			abort();
	} else {
		struct wa_media_info info;

		if (wa_media_encrypt(t, fuzz_key, data + 2, size - 2, &o1, &n1, &info) != WA_MEDIA_OK)
			abort();
		if (n1 != info.enc_length || info.file_length != size - 2)
			abort();
		r2 = stream_dec(t, o1, n1, chunk, info.file_enc_sha256, info.file_sha256, &o2, &n2);
		if (r2 != WA_MEDIA_OK || n2 != size - 2 || (n2 && memcmp(o2, data + 2, n2) != 0))
			abort();
		/* any single flipped byte must be caught */
		o1[data[1] % n1] ^= 0x01;
		free(o2);
		o2 = NULL;
		if (wa_media_decrypt(t, fuzz_key, o1, n1, NULL, NULL, &o2, &n2, NULL) == WA_MEDIA_OK)
			abort();
	}
	free(o1);
	free(o2);
	return 0;
}
