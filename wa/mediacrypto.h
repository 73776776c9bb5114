/* wa/mediacrypto: WhatsApp media encryption (docs/protocol.md §9.2).
 *
 * A 32-byte mediaKey is expanded with HKDF-SHA256 (info "WhatsApp <Type>
 * Keys", 112 bytes) into iv(16) | cipherKey(32) | macKey(32) | refKey(32).
 * The uploaded file is AES-256-CBC(cipherKey, iv, PKCS#7(plain)) followed by
 * the first 10 bytes of HMAC-SHA256(macKey, iv || ciphertext).
 * fileSha256 = SHA-256(plain), fileEncSha256 = SHA-256(ciphertext || mac),
 * fileLength = len(plain).
 *
 * Streaming: wa_media_enc / wa_media_dec are fed chunk by chunk so a large
 * video never sits whole in memory. The decryptor holds back the last 10
 * bytes it has seen (they may be the MAC) and only knows at _final() whether
 * the file was authentic: plaintext it produced before a failing _final()
 * MUST be discarded by the caller (write to a temporary file, rename on
 * success).
 *
 * Errors: functions return WA_MEDIA_OK (0) or a negative enum wa_media_err.
 * After an error a stream context refuses further input (returns the same
 * error); free it. Contexts are not thread-safe (one owner); everything else
 * is reentrant. Free functions accept NULL. */
#ifndef WA_MEDIACRYPTO_H
#define WA_MEDIACRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/wa_err.h"

enum wa_media_type {
	WA_MEDIA_IMAGE = 0,
	WA_MEDIA_VIDEO,
	WA_MEDIA_AUDIO,
	WA_MEDIA_DOCUMENT,
	WA_MEDIA_STICKER,            /* keys "Image", path /mms/image */
	WA_MEDIA_GIF,                /* keys "Video" */
	WA_MEDIA_PTT,                /* voice note, keys "Audio" */
	WA_MEDIA_PTV,                /* round video note, keys "Video" */
	WA_MEDIA_HISTORY,            /* history-sync blob, "History" */
	WA_MEDIA_APP_STATE,          /* app-state snapshot / external mutations */
	WA_MEDIA_LINK_THUMBNAIL,     /* high-quality link preview thumbnail */
	WA_MEDIA_IMAGE_THUMBNAIL,
	WA_MEDIA_VIDEO_THUMBNAIL,
	WA_MEDIA_DOCUMENT_THUMBNAIL,
	WA_MEDIA_PRODUCT,            /* catalog product image, keys "Image" */
	WA_MEDIA_BIZ_COVER_PHOTO,    /* keys "Image" */
	WA_MEDIA_PAYMENT_BACKGROUND,
	WA_MEDIA_STICKER_PACK,
	WA_MEDIA_TYPE_COUNT
};

/* Errors (common/wa_err.h): WA_MEDIA_ERR is WA_EFAIL (-1, cause not
 * narrowed down), the other generic ones are the common codes; a truncated
 * file is a module code of class WA_EPROTO, every failed integrity check a
 * module code of class WA_ECRYPTO. */
enum wa_media_err {
	WA_MEDIA_OK = WA_OK,
	WA_MEDIA_ERR = WA_EFAIL,         /* bad argument, library failure */
	WA_MEDIA_ENOMEM = WA_ENOMEM,     /* out of memory (one-shot buffers) */
	WA_MEDIA_ERR_STATE = WA_ESTATE,  /* context used after final or after an error */
	/* truncated: too short or not whole AES blocks */
	WA_MEDIA_ERR_SHORT = WA_ERR_MAKE(WA_ERR_MEDIA_BASE, WA_EPROTO, 1),
	/* the 10-byte HMAC does not match */
	WA_MEDIA_ERR_MAC = WA_ERR_MAKE(WA_ERR_MEDIA_BASE, WA_ECRYPTO, 1),
	/* SHA-256 of the encrypted file != fileEncSha256 */
	WA_MEDIA_ERR_ENC_SHA = WA_ERR_MAKE(WA_ERR_MEDIA_BASE, WA_ECRYPTO, 2),
	/* bad PKCS#7 padding (after a good MAC) */
	WA_MEDIA_ERR_PADDING = WA_ERR_MAKE(WA_ERR_MEDIA_BASE, WA_ECRYPTO, 3),
	/* SHA-256 of the plaintext != fileSha256 */
	WA_MEDIA_ERR_SHA = WA_ERR_MAKE(WA_ERR_MEDIA_BASE, WA_ECRYPTO, 4),
};

#define WA_MEDIA_KEY_LEN 32
#define WA_MEDIA_MAC_LEN 10
/* Extra output room a stream update may need beyond its input length
 * (one AES block of carry plus margin). */
#define WA_MEDIA_STREAM_SLACK 32
/* Output room wa_media_enc_final() needs: last padded block + MAC. */
#define WA_MEDIA_ENC_FINAL_MAX (16 + WA_MEDIA_MAC_LEN)
/* Output room wa_media_dec_final() needs: the last plaintext block. */
#define WA_MEDIA_DEC_FINAL_MAX 16

struct wa_media_keys {
	uint8_t iv[16];
	uint8_t cipher_key[32];
	uint8_t mac_key[32];
	uint8_t ref_key[32];
};

/* What the message needs to carry about an encrypted file. */
struct wa_media_info {
	uint8_t file_sha256[32];     /* of the plaintext */
	uint8_t file_enc_sha256[32]; /* of ciphertext || mac (the uploaded bytes) */
	uint64_t file_length;        /* plaintext length */
	uint64_t enc_length;         /* uploaded length */
};

/* --- media types --- */
/* Short name used in config/IPC ("image", "ptt", "md-app-state", ...);
 * NULL for an out-of-range type. */
const char *wa_media_type_name(enum wa_media_type t);
/* Parse a short name; 0 and *out set, or -1 if unknown. */
int wa_media_type_from_name(const char *name, enum wa_media_type *out);
/* Full HKDF info string, e.g. "WhatsApp Image Keys"; NULL if out of range. */
const char *wa_media_hkdf_info(enum wa_media_type t);
/* Upload path (WM style) such as "/mms/image", "/mms/md-app-state",
 * "/product/image"; NULL when neither client uploads that type on its own. */
const char *wa_media_upload_path(enum wa_media_type t);
/* The download "mms-type=" value (image, video, audio, document,
 * md-msg-hist, md-app-state, sticker-pack, thumbnail-link); NULL if none. */
const char *wa_media_mms_type(enum wa_media_type t);

/* --- keys --- */
/* 32 fresh random bytes. */
int wa_media_new_key(uint8_t media_key[32]);
/* HKDF expansion of media_key for type t. */
int wa_media_expand_key(enum wa_media_type t, const uint8_t media_key[32], struct wa_media_keys *out);
/* Key of the media re-upload request (§9.6): HKDF(mediaKey, info
 * "WhatsApp Media Retry Notification", 32). */
int wa_media_retry_key(const uint8_t media_key[32], uint8_t out[32]);
/* Media re-upload request / answer (§9.6): AES-256-GCM under the retry
 * key, 12-byte IV, AAD = the message id, tag appended. encrypt: out gets
 * len + 16 bytes; decrypt: out gets len - 16 bytes, -1 if the tag fails.
 * The plaintext is ServerErrorReceipt (request) or MediaRetryNotification
 * (answer), protobufs the caller packs / unpacks. */
int wa_media_retry_encrypt(const uint8_t media_key[32], const char *msg_id, const uint8_t iv[12],
			   const uint8_t *plain, size_t len, uint8_t *out);
int wa_media_retry_decrypt(const uint8_t media_key[32], const char *msg_id, const uint8_t iv[12],
			   const uint8_t *enc, size_t len, uint8_t *out);
/* ServerErrorReceipt{stanzaID(1) = msg_id} packed into out (cap bytes);
 * *outlen set. -1 if it does not fit. */
int wa_media_retry_receipt_pack(const char *msg_id, uint8_t *out, size_t cap, size_t *outlen);
/* Upload token: URL-safe base64 of fileEncSha256; padded ('=' kept, WM) if
 * `padded`, else stripped (BL). out needs 45 bytes; NUL-terminated. */
void wa_media_upload_token(const uint8_t file_enc_sha256[32], int padded, char out[45]);

/* --- streaming encryption --- */
struct wa_media_enc;
/* New encryptor for type t under media_key (copied). NULL on failure. */
struct wa_media_enc *wa_media_enc_new(enum wa_media_type t, const uint8_t media_key[32]);
/* Encrypt len plaintext bytes; writes *outlen (<= len + WA_MEDIA_STREAM_SLACK)
 * bytes of the upload stream to out. */
int wa_media_enc_update(struct wa_media_enc *e, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);
/* Finish: writes the last block and the 10-byte MAC (*outlen <=
 * WA_MEDIA_ENC_FINAL_MAX) and fills info. The context is spent afterwards. */
int wa_media_enc_final(struct wa_media_enc *e, uint8_t *out, size_t *outlen, struct wa_media_info *info);
void wa_media_enc_free(struct wa_media_enc *e);

/* --- streaming decryption --- */
struct wa_media_dec;
/* New decryptor. want_enc_sha256 / want_sha256 (32 bytes each, copied) are
 * the fileEncSha256 / fileSha256 from the message; either may be NULL to
 * skip that check. NULL on failure. */
struct wa_media_dec *wa_media_dec_new(enum wa_media_type t, const uint8_t media_key[32],
				      const uint8_t *want_enc_sha256, const uint8_t *want_sha256);
/* Feed len bytes of the downloaded file; writes *outlen (<= len +
 * WA_MEDIA_STREAM_SLACK) bytes of UNAUTHENTICATED plaintext to out. */
int wa_media_dec_update(struct wa_media_dec *d, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);
/* Finish: checks fileEncSha256, the MAC, the padding, fileSha256 (in that
 * order) and writes the last *outlen (<= WA_MEDIA_DEC_FINAL_MAX) plaintext
 * bytes. Only WA_MEDIA_OK means the whole output is authentic. info (may be
 * NULL) gets the computed hashes and lengths. */
int wa_media_dec_final(struct wa_media_dec *d, uint8_t *out, size_t *outlen, struct wa_media_info *info);
void wa_media_dec_free(struct wa_media_dec *d);

/* --- one-shot wrappers (whole file in memory) --- */
/* Encrypt plain[0..len) into a malloc'd *out (ciphertext || mac, *outlen
 * bytes; caller frees) and fill info. */
int wa_media_encrypt(enum wa_media_type t, const uint8_t media_key[32], const uint8_t *plain, size_t len,
		     uint8_t **out, size_t *outlen, struct wa_media_info *info);
/* Verify and decrypt enc[0..len) into a malloc'd *out (caller frees); the
 * hash arguments are as for wa_media_dec_new(). Nothing is returned in *out
 * unless the result is WA_MEDIA_OK (the MAC is checked before decrypting). */
int wa_media_decrypt(enum wa_media_type t, const uint8_t media_key[32], const uint8_t *enc, size_t len,
		     const uint8_t *want_enc_sha256, const uint8_t *want_sha256,
		     uint8_t **out, size_t *outlen, struct wa_media_info *info);

/* Human-readable text for an enum wa_media_err value. */
const char *wa_media_strerror(int err);

#endif
