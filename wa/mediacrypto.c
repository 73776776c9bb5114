/* wa/mediacrypto: WhatsApp media encryption, streaming and one-shot.
 * See mediacrypto.h for the contract and docs/protocol.md §9 for the format.
 *
 * The stream contexts use OpenSSL EVP directly (crypto.h only offers
 * one-shot AES-CBC): one EVP_CIPHER_CTX for AES-256-CBC, one EVP_MAC_CTX for
 * the HMAC over iv || ciphertext, and two EVP_MD_CTX for the plaintext and
 * encrypted-file SHA-256s. */
#include "wa/mediacrypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "wa/crypto.h"
#include "wa_util.h"

struct media_type_row {
	const char *name;      /* short name for config / IPC */
	const char *info;      /* HKDF info */
	const char *path;      /* upload path or NULL */
	const char *mms;       /* download mms-type or NULL */
};

/* Indexed by enum wa_media_type. Paths follow WM (docs/protocol.md §9.3);
 * the thumbnail/product/cover paths come from BL's MEDIA_PATH_MAP. */
static const struct media_type_row media_types[WA_MEDIA_TYPE_COUNT] = {
	[WA_MEDIA_IMAGE] = { "image", "WhatsApp Image Keys", "/mms/image", "image" },
	[WA_MEDIA_VIDEO] = { "video", "WhatsApp Video Keys", "/mms/video", "video" },
	[WA_MEDIA_AUDIO] = { "audio", "WhatsApp Audio Keys", "/mms/audio", "audio" },
	[WA_MEDIA_DOCUMENT] = { "document", "WhatsApp Document Keys", "/mms/document", "document" },
	[WA_MEDIA_STICKER] = { "sticker", "WhatsApp Image Keys", "/mms/image", "image" },
	[WA_MEDIA_GIF] = { "gif", "WhatsApp Video Keys", "/mms/video", "video" },
	[WA_MEDIA_PTT] = { "ptt", "WhatsApp Audio Keys", "/mms/audio", "audio" },
	[WA_MEDIA_PTV] = { "ptv", "WhatsApp Video Keys", "/mms/video", "video" },
	[WA_MEDIA_HISTORY] = { "md-msg-hist", "WhatsApp History Keys", "/mms/md-msg-hist", "md-msg-hist" },
	[WA_MEDIA_APP_STATE] = { "md-app-state", "WhatsApp App State Keys", "/mms/md-app-state", "md-app-state" },
	[WA_MEDIA_LINK_THUMBNAIL] = { "thumbnail-link", "WhatsApp Link Thumbnail Keys", "/mms/thumbnail-link",
				      "thumbnail-link" },
	[WA_MEDIA_IMAGE_THUMBNAIL] = { "thumbnail-image", "WhatsApp Image Thumbnail Keys", "/mms/image", "image" },
	[WA_MEDIA_VIDEO_THUMBNAIL] = { "thumbnail-video", "WhatsApp Video Thumbnail Keys", "/mms/video", "video" },
	[WA_MEDIA_DOCUMENT_THUMBNAIL] = { "thumbnail-document", "WhatsApp Document Thumbnail Keys", "/mms/document",
					  "document" },
	[WA_MEDIA_PRODUCT] = { "product", "WhatsApp Image Keys", "/product/image", "image" },
	[WA_MEDIA_BIZ_COVER_PHOTO] = { "biz-cover-photo", "WhatsApp Image Keys", "/pps/biz-cover-photo", "image" },
	[WA_MEDIA_PAYMENT_BACKGROUND] = { "payment-bg-image", "WhatsApp Payment Background Keys", NULL, NULL },
	[WA_MEDIA_STICKER_PACK] = { "sticker-pack", "WhatsApp Sticker Pack Keys", "/mms/sticker-pack", "sticker-pack" },
};

static const struct media_type_row *row(enum wa_media_type t)
{
	if ((int)t < 0 || t >= WA_MEDIA_TYPE_COUNT)
		return NULL;
	return &media_types[t];
}

const char *wa_media_type_name(enum wa_media_type t)
{
	const struct media_type_row *r = row(t);

	return r ? r->name : NULL;
}

int wa_media_type_from_name(const char *name, enum wa_media_type *out)
{
	if (!name || !out)
		return -1;
	for (int i = 0; i < WA_MEDIA_TYPE_COUNT; i++) {
		if (strcmp(media_types[i].name, name) == 0) {
			*out = (enum wa_media_type)i;
			return 0;
		}
	}
	return -1;
}

const char *wa_media_hkdf_info(enum wa_media_type t)
{
	const struct media_type_row *r = row(t);

	return r ? r->info : NULL;
}

const char *wa_media_upload_path(enum wa_media_type t)
{
	const struct media_type_row *r = row(t);

	return r ? r->path : NULL;
}

const char *wa_media_mms_type(enum wa_media_type t)
{
	const struct media_type_row *r = row(t);

	return r ? r->mms : NULL;
}

int wa_media_new_key(uint8_t media_key[32])
{
	return wa_random(media_key, WA_MEDIA_KEY_LEN);
}

int wa_media_expand_key(enum wa_media_type t, const uint8_t media_key[32], struct wa_media_keys *out)
{
	const struct media_type_row *r = row(t);
	uint8_t x[112];

	if (!r || !media_key || !out)
		return -1;
	if (wa_hkdf_sha256(media_key, WA_MEDIA_KEY_LEN, NULL, 0, r->info, strlen(r->info), x, sizeof x) != 0)
		return -1;
	memcpy(out->iv, x, 16);
	memcpy(out->cipher_key, x + 16, 32);
	memcpy(out->mac_key, x + 48, 32);
	memcpy(out->ref_key, x + 80, 32);
	OPENSSL_cleanse(x, sizeof x);
	return 0;
}

int wa_media_retry_key(const uint8_t media_key[32], uint8_t out[32])
{
	static const char info[] = "WhatsApp Media Retry Notification";

	if (!media_key || !out)
		return -1;
	return wa_hkdf_sha256(media_key, WA_MEDIA_KEY_LEN, NULL, 0, info, sizeof info - 1, out, 32);
}

int wa_media_retry_encrypt(const uint8_t media_key[32], const char *msg_id, const uint8_t iv[12],
			   const uint8_t *plain, size_t len, uint8_t *out)
{
	uint8_t key[32];
	int rc;

	if (!msg_id || !iv || (len && !plain) || !out || wa_media_retry_key(media_key, key) != 0)
		return -1;
	rc = wa_aes256_gcm_encrypt(key, iv, msg_id, strlen(msg_id), plain, len, out);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

int wa_media_retry_decrypt(const uint8_t media_key[32], const char *msg_id, const uint8_t iv[12],
			   const uint8_t *enc, size_t len, uint8_t *out)
{
	uint8_t key[32];
	int rc;

	if (!msg_id || !iv || !enc || len < 16 || !out || wa_media_retry_key(media_key, key) != 0)
		return -1;
	rc = wa_aes256_gcm_decrypt(key, iv, msg_id, strlen(msg_id), enc, len, out);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

int wa_media_retry_receipt_pack(const char *msg_id, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n, pos = 0;

	if (!msg_id || !out || !outlen)
		return -1;
	n = strlen(msg_id);
	if (cap < 1 + 10 + n)
		return -1;
	out[pos++] = 0x0a;               /* field 1, length-delimited */
	for (size_t v = n;; v >>= 7) {   /* varint length */
		out[pos++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		if (v <= 0x7f)
			break;
	}
	memcpy(out + pos, msg_id, n);
	*outlen = pos + n;
	return 0;
}

void wa_media_upload_token(const uint8_t file_enc_sha256[32], int padded, char out[45])
{
	size_t n = wa_base64_encode(file_enc_sha256, 32, out);

	for (size_t i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	if (!padded)
		while (n > 0 && out[n - 1] == '=')
			out[--n] = '\0';
}

/* --- shared stream state --- */

struct media_stream {
	EVP_CIPHER_CTX *cipher;
	EVP_MAC_CTX *mac;
	EVP_MD_CTX *sha_plain;
	EVP_MD_CTX *sha_enc;
	uint64_t plain_len;
	uint64_t enc_len;
	int err;          /* sticky: first error, or WA_MEDIA_ERR_STATE after final */
};

static void stream_free(struct media_stream *s)
{
	EVP_CIPHER_CTX_free(s->cipher);
	EVP_MAC_CTX_free(s->mac);
	EVP_MD_CTX_free(s->sha_plain);
	EVP_MD_CTX_free(s->sha_enc);
}

/* Expand the key and set up all four contexts; encrypt selects the cipher
 * direction. The HMAC is primed with the IV, as the MAC covers iv || ct. */
static int stream_init(struct media_stream *s, enum wa_media_type t, const uint8_t media_key[32], int encrypt)
{
	struct wa_media_keys k;
	EVP_MAC *hmac = NULL;
	OSSL_PARAM params[2];
	int rc = -1;

	memset(s, 0, sizeof *s);
	if (wa_media_expand_key(t, media_key, &k) != 0)
		return -1;
	s->cipher = EVP_CIPHER_CTX_new();
	s->sha_plain = EVP_MD_CTX_new();
	s->sha_enc = EVP_MD_CTX_new();
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!s->cipher || !s->sha_plain || !s->sha_enc || !hmac)
		goto out;
	s->mac = EVP_MAC_CTX_new(hmac);
	if (!s->mac)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(s->mac, k.mac_key, sizeof k.mac_key, params) != 1 ||
	    EVP_MAC_update(s->mac, k.iv, sizeof k.iv) != 1)
		goto out;
	if (EVP_CipherInit_ex(s->cipher, EVP_aes_256_cbc(), NULL, k.cipher_key, k.iv, encrypt) != 1)
		goto out;
	if (EVP_DigestInit_ex(s->sha_plain, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(s->sha_enc, EVP_sha256(), NULL) != 1)
		goto out;
	rc = 0;
out:
	EVP_MAC_free(hmac);
	OPENSSL_cleanse(&k, sizeof k);
	if (rc != 0)
		stream_free(s);
	return rc;
}

/* EVP lengths are int: feed large inputs in pieces of at most 1 MiB. */
#define PIECE ((size_t)1 << 20)

/* --- encryption --- */

struct wa_media_enc {
	struct media_stream s;
};

struct wa_media_enc *wa_media_enc_new(enum wa_media_type t, const uint8_t media_key[32])
{
	struct wa_media_enc *e;

	if (!media_key)
		return NULL;
	e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	if (stream_init(&e->s, t, media_key, 1) != 0) {
		free(e);
		return NULL;
	}
	return e;
}

/* Account for ciphertext bytes just produced. */
static int enc_emit(struct media_stream *s, const uint8_t *ct, size_t n)
{
	if (n == 0)
		return 0;
	if (EVP_MAC_update(s->mac, ct, n) != 1 || EVP_DigestUpdate(s->sha_enc, ct, n) != 1)
		return -1;
	s->enc_len += n;
	return 0;
}

int wa_media_enc_update(struct wa_media_enc *e, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	size_t total = 0;

	if (!e || !outlen || (len && (!in || !out)))
		return WA_MEDIA_ERR;
	*outlen = 0;
	if (e->s.err)
		return e->s.err;
	while (len > 0) {
		size_t n = len < PIECE ? len : PIECE;
		int got = 0;

		if (EVP_EncryptUpdate(e->s.cipher, out + total, &got, in, (int)n) != 1 ||
		    EVP_DigestUpdate(e->s.sha_plain, in, n) != 1 ||
		    enc_emit(&e->s, out + total, (size_t)got) != 0) {
			e->s.err = WA_MEDIA_ERR;
			return WA_MEDIA_ERR;
		}
		e->s.plain_len += n;
		total += (size_t)got;
		in += n;
		len -= n;
	}
	*outlen = total;
	return WA_MEDIA_OK;
}

int wa_media_enc_final(struct wa_media_enc *e, uint8_t *out, size_t *outlen, struct wa_media_info *info)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;
	unsigned int dlen = 0;
	int got = 0;

	if (!e || !out || !outlen || !info)
		return WA_MEDIA_ERR;
	*outlen = 0;
	if (e->s.err)
		return e->s.err;
	e->s.err = WA_MEDIA_ERR;   /* until proven otherwise */
	if (EVP_EncryptFinal_ex(e->s.cipher, out, &got) != 1 || enc_emit(&e->s, out, (size_t)got) != 0)
		return WA_MEDIA_ERR;
	if (EVP_MAC_final(e->s.mac, mac, &maclen, sizeof mac) != 1 || maclen < WA_MEDIA_MAC_LEN)
		return WA_MEDIA_ERR;
	memcpy(out + got, mac, WA_MEDIA_MAC_LEN);
	if (EVP_DigestUpdate(e->s.sha_enc, mac, WA_MEDIA_MAC_LEN) != 1)
		return WA_MEDIA_ERR;
	e->s.enc_len += WA_MEDIA_MAC_LEN;
	if (EVP_DigestFinal_ex(e->s.sha_plain, info->file_sha256, &dlen) != 1 ||
	    EVP_DigestFinal_ex(e->s.sha_enc, info->file_enc_sha256, &dlen) != 1)
		return WA_MEDIA_ERR;
	info->file_length = e->s.plain_len;
	info->enc_length = e->s.enc_len;
	*outlen = (size_t)got + WA_MEDIA_MAC_LEN;
	e->s.err = WA_MEDIA_ERR_STATE;
	return WA_MEDIA_OK;
}

void wa_media_enc_free(struct wa_media_enc *e)
{
	if (!e)
		return;
	stream_free(&e->s);
	free(e);
}

/* --- decryption --- */

struct wa_media_dec {
	struct media_stream s;
	uint8_t tail[WA_MEDIA_MAC_LEN];  /* the last bytes seen: maybe the MAC */
	size_t tail_len;
	uint64_t in_len;                 /* all bytes fed, MAC included */
	int check_enc, check_plain;
	uint8_t want_enc[32], want_plain[32];
};

struct wa_media_dec *wa_media_dec_new(enum wa_media_type t, const uint8_t media_key[32],
				      const uint8_t *want_enc_sha256, const uint8_t *want_sha256)
{
	struct wa_media_dec *d;

	if (!media_key)
		return NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	if (stream_init(&d->s, t, media_key, 0) != 0) {
		free(d);
		return NULL;
	}
	if (want_enc_sha256) {
		d->check_enc = 1;
		memcpy(d->want_enc, want_enc_sha256, 32);
	}
	if (want_sha256) {
		d->check_plain = 1;
		memcpy(d->want_plain, want_sha256, 32);
	}
	return d;
}

/* Run n ciphertext bytes through the MAC and the cipher. */
static int dec_process(struct wa_media_dec *d, const uint8_t *ct, size_t n, uint8_t *out, size_t *outpos)
{
	while (n > 0) {
		size_t k = n < PIECE ? n : PIECE;
		int got = 0;

		if (EVP_MAC_update(d->s.mac, ct, k) != 1 ||
		    EVP_DecryptUpdate(d->s.cipher, out + *outpos, &got, ct, (int)k) != 1 ||
		    EVP_DigestUpdate(d->s.sha_plain, out + *outpos, (size_t)got) != 1)
			return -1;
		d->s.enc_len += k;
		d->s.plain_len += (size_t)got;
		*outpos += (size_t)got;
		ct += k;
		n -= k;
	}
	return 0;
}

int wa_media_dec_update(struct wa_media_dec *d, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	size_t avail, proc, from_tail, from_in, pos = 0;

	if (!d || !outlen || (len && (!in || !out)))
		return WA_MEDIA_ERR;
	*outlen = 0;
	if (d->s.err)
		return d->s.err;
	if (len == 0)
		return WA_MEDIA_OK;
	if (EVP_DigestUpdate(d->s.sha_enc, in, len) != 1)
		goto fail;
	d->in_len += len;
	avail = d->tail_len + len;
	if (avail <= WA_MEDIA_MAC_LEN) {
		memcpy(d->tail + d->tail_len, in, len);
		d->tail_len = avail;
		return WA_MEDIA_OK;
	}
	/* Everything except the last 10 bytes of tail||in is ciphertext. */
	proc = avail - WA_MEDIA_MAC_LEN;
	from_tail = proc < d->tail_len ? proc : d->tail_len;
	from_in = proc - from_tail;
	if (dec_process(d, d->tail, from_tail, out, &pos) != 0 || dec_process(d, in, from_in, out, &pos) != 0)
		goto fail;
	/* New tail: what is left of the old tail, then the rest of in. */
	memmove(d->tail, d->tail + from_tail, d->tail_len - from_tail);
	d->tail_len -= from_tail;
	memcpy(d->tail + d->tail_len, in + from_in, len - from_in);
	d->tail_len += len - from_in;
	*outlen = pos;
	return WA_MEDIA_OK;
fail:
	d->s.err = WA_MEDIA_ERR;
	return WA_MEDIA_ERR;
}

int wa_media_dec_final(struct wa_media_dec *d, uint8_t *out, size_t *outlen, struct wa_media_info *info)
{
	uint8_t mac[EVP_MAX_MD_SIZE], sha[32];
	size_t maclen = 0;
	unsigned int dlen = 0;
	int got = 0, rc;

	if (!d || !out || !outlen)
		return WA_MEDIA_ERR;
	*outlen = 0;
	if (d->s.err)
		return d->s.err;
	rc = WA_MEDIA_ERR;
	/* At least one AES block plus the MAC, and whole blocks. */
	if (d->tail_len < WA_MEDIA_MAC_LEN || d->s.enc_len < 16 || d->s.enc_len % 16 != 0) {
		rc = WA_MEDIA_ERR_SHORT;
		goto out;
	}
	if (EVP_DigestFinal_ex(d->s.sha_enc, sha, &dlen) != 1)
		goto out;
	if (info) {
		memcpy(info->file_enc_sha256, sha, 32);
		info->enc_length = d->in_len;
	}
	if (d->check_enc && !wa_ct_equal(sha, d->want_enc, 32)) {
		rc = WA_MEDIA_ERR_ENC_SHA;
		goto out;
	}
	if (EVP_MAC_final(d->s.mac, mac, &maclen, sizeof mac) != 1 || maclen < WA_MEDIA_MAC_LEN)
		goto out;
	if (!wa_ct_equal(mac, d->tail, WA_MEDIA_MAC_LEN)) {
		rc = WA_MEDIA_ERR_MAC;
		goto out;
	}
	if (EVP_DecryptFinal_ex(d->s.cipher, out, &got) != 1) {
		rc = WA_MEDIA_ERR_PADDING;
		goto out;
	}
	if (EVP_DigestUpdate(d->s.sha_plain, out, (size_t)got) != 1 ||
	    EVP_DigestFinal_ex(d->s.sha_plain, sha, &dlen) != 1)
		goto out;
	d->s.plain_len += (size_t)got;
	if (info) {
		memcpy(info->file_sha256, sha, 32);
		info->file_length = d->s.plain_len;
	}
	if (d->check_plain && !wa_ct_equal(sha, d->want_plain, 32)) {
		rc = WA_MEDIA_ERR_SHA;
		goto out;
	}
	*outlen = (size_t)got;
	d->s.err = WA_MEDIA_ERR_STATE;
	return WA_MEDIA_OK;
out:
	OPENSSL_cleanse(out, 16);
	d->s.err = rc;
	return rc;
}

void wa_media_dec_free(struct wa_media_dec *d)
{
	if (!d)
		return;
	stream_free(&d->s);
	OPENSSL_cleanse(d->tail, sizeof d->tail);
	free(d);
}

/* --- one-shot --- */

/* HMAC-SHA256(mac_key, iv || ct) without copying ct next to the iv. */
static int hmac_iv_ct(const uint8_t mac_key[32], const uint8_t iv[16], const uint8_t *ct, size_t len,
		      uint8_t out[32])
{
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int rc = -1;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (c && EVP_MAC_init(c, mac_key, 32, params) == 1 && EVP_MAC_update(c, iv, 16) == 1 &&
	    EVP_MAC_update(c, ct, len) == 1 && EVP_MAC_final(c, out, &outl, 32) == 1 && outl == 32)
		rc = 0;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(hmac);
	return rc;
}

int wa_media_encrypt(enum wa_media_type t, const uint8_t media_key[32], const uint8_t *plain, size_t len,
		     uint8_t **out, size_t *outlen, struct wa_media_info *info)
{
	struct wa_media_enc *e;
	uint8_t *buf;
	size_t n1 = 0, n2 = 0;
	int rc;

	if (!out || !outlen || !info || (len && !plain) || len > SIZE_MAX - 64)
		return WA_MEDIA_ERR;
	*out = NULL;
	*outlen = 0;
	e = wa_media_enc_new(t, media_key);
	if (!e)
		return WA_MEDIA_ERR;
	/* PKCS#7 adds 1..16 bytes; the update may emit up to len bytes. */
	buf = malloc(len + WA_MEDIA_STREAM_SLACK + WA_MEDIA_ENC_FINAL_MAX);
	if (!buf) {
		wa_media_enc_free(e);
		return WA_MEDIA_ENOMEM;
	}
	rc = wa_media_enc_update(e, plain, len, buf, &n1);
	if (rc == WA_MEDIA_OK)
		rc = wa_media_enc_final(e, buf + n1, &n2, info);
	wa_media_enc_free(e);
	if (rc != WA_MEDIA_OK) {
		free(buf);
		return rc;
	}
	*out = buf;
	*outlen = n1 + n2;
	return WA_MEDIA_OK;
}

int wa_media_decrypt(enum wa_media_type t, const uint8_t media_key[32], const uint8_t *enc, size_t len,
		     const uint8_t *want_enc_sha256, const uint8_t *want_sha256,
		     uint8_t **out, size_t *outlen, struct wa_media_info *info)
{
	struct wa_media_keys k;
	uint8_t mac[32], sha[32];
	uint8_t *buf;
	size_t ctlen, n = 0;
	int rc = WA_MEDIA_ERR;

	if (!out || !outlen || (len && !enc) || !media_key)
		return WA_MEDIA_ERR;
	*out = NULL;
	*outlen = 0;
	if (len < 16 + WA_MEDIA_MAC_LEN || (len - WA_MEDIA_MAC_LEN) % 16 != 0)
		return WA_MEDIA_ERR_SHORT;
	ctlen = len - WA_MEDIA_MAC_LEN;
	/* Authenticate everything before decrypting a single byte. */
	wa_sha256(enc, len, sha);
	if (want_enc_sha256 && !wa_ct_equal(sha, want_enc_sha256, 32))
		return WA_MEDIA_ERR_ENC_SHA;
	if (wa_media_expand_key(t, media_key, &k) != 0)
		return WA_MEDIA_ERR;
	if (hmac_iv_ct(k.mac_key, k.iv, enc, ctlen, mac) != 0)
		goto out;
	if (!wa_ct_equal(mac, enc + ctlen, WA_MEDIA_MAC_LEN)) {
		rc = WA_MEDIA_ERR_MAC;
		goto out;
	}
	buf = malloc(ctlen ? ctlen : 1);
	if (!buf) {
		rc = WA_MEDIA_ENOMEM;
		goto out;
	}
	if (wa_aes256_cbc_decrypt(k.cipher_key, k.iv, enc, ctlen, buf, &n) != 0) {
		free(buf);
		rc = WA_MEDIA_ERR_PADDING;
		goto out;
	}
	if (info) {
		memcpy(info->file_enc_sha256, sha, 32);
		info->enc_length = len;
	}
	wa_sha256(buf, n, sha);
	if (info) {
		memcpy(info->file_sha256, sha, 32);
		info->file_length = n;
	}
	if (want_sha256 && !wa_ct_equal(sha, want_sha256, 32)) {
		OPENSSL_cleanse(buf, n);
		free(buf);
		rc = WA_MEDIA_ERR_SHA;
		goto out;
	}
	*out = buf;
	*outlen = n;
	rc = WA_MEDIA_OK;
out:
	OPENSSL_cleanse(&k, sizeof k);
	return rc;
}

const char *wa_media_strerror(int err)
{
	switch (err) {
	case WA_MEDIA_OK: return "ok";
	case WA_MEDIA_ERR: return "media crypto failure";
	case WA_MEDIA_ENOMEM: return "out of memory";
	case WA_MEDIA_ERR_SHORT: return "media file truncated";
	case WA_MEDIA_ERR_MAC: return "media MAC mismatch";
	case WA_MEDIA_ERR_ENC_SHA: return "media fileEncSha256 mismatch";
	case WA_MEDIA_ERR_PADDING: return "media padding invalid";
	case WA_MEDIA_ERR_SHA: return "media fileSha256 mismatch";
	case WA_MEDIA_ERR_STATE: return "media context already finished or failed";
	default: return "unknown media error";
	}
}
