/* wa/appstate: app-state ("syncd") crypto and patch processing
 * (docs/protocol.md §11.2-§11.5).
 *
 * Layers, bottom up:
 *  1. primitives: mutation-key expansion, index MAC, value encryption and
 *     value MAC, the LT-hash ("WhatsApp Patch Integrity"), snapshot and
 *     patch MACs;
 *  2. a collection state (struct wa_appstate_state): name, version, the
 *     128-byte LT-hash and the map indexMAC -> valueMAC of every live SET;
 *  3. applying a decoded SyncdSnapshot / SyncdPatch to a state with full
 *     verification (value MAC, index MAC, LT-hash snapshot MAC, patch MAC),
 *     atomically: on any error the state is untouched;
 *  4. building an outgoing SyncdPatch for local mutations.
 *  Plus small helpers for the JSON index arrays.
 *
 * Keys come from the caller through a lookup callback, by key id (the
 * app-state sync key shares of §11.6, stored by the engine).
 *
 * Errors: 0 (WA_APPSTATE_OK) or a negative enum wa_appstate_err.
 * Threading: a state has one owner at a time (no internal lock); all other
 * functions are reentrant. Free functions accept NULL. Hard caps:
 * WA_APPSTATE_MAX_MUTATIONS per patch/snapshot, WA_APPSTATE_MAX_ENTRIES per
 * state, WA_APPSTATE_MAX_KEY_ID bytes of key id. */
#ifndef WA_APPSTATE_H
#define WA_APPSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/wa_err.h"
#include "wa_server_sync.pb-c.h"
#include "wa_sync_action.pb-c.h"

#define WA_APPSTATE_HASH_LEN 128
#define WA_APPSTATE_MAC_LEN 32
#define WA_APPSTATE_MAX_MUTATIONS 100000
#define WA_APPSTATE_MAX_ENTRIES 500000
#define WA_APPSTATE_MAX_KEY_ID 64
#define WA_APPSTATE_MAX_VALUE (1u << 20)   /* encrypted SyncActionData */
#define WA_APPSTATE_MAX_INDEX 4096         /* index JSON bytes */
#define WA_APPSTATE_MAX_INDEX_PARTS 16

/* The five collections (§11.1), in BL's sync order. */
#define WA_APPSTATE_CRITICAL_BLOCK "critical_block"
#define WA_APPSTATE_CRITICAL_UNBLOCK_LOW "critical_unblock_low"
#define WA_APPSTATE_REGULAR_HIGH "regular_high"
#define WA_APPSTATE_REGULAR "regular"
#define WA_APPSTATE_REGULAR_LOW "regular_low"

/* Collection i (0..4) in BL's sync order, NULL beyond; and whether a name
 * is one of the five. */
const char *wa_appstate_collection(size_t i);
int wa_appstate_collection_valid(const char *name);

enum wa_appstate_op { WA_APPSTATE_SET = 0, WA_APPSTATE_REMOVE = 1 };

/* Errors (common/wa_err.h): ERR is WA_EFAIL (-1, cause not narrowed down),
 * ENOMEM and LIMIT are the common WA_ENOMEM and WA_ETOOBIG; the rest are
 * module codes: MALFORMED folds into WA_EPROTO, NO_KEY into WA_ENOTFOUND,
 * the MAC / decryption failures into WA_ECRYPTO, VERSION into WA_ECONFLICT
 * and EXTERNAL (the caller did not pass the blob) into WA_EINVAL. */
#define WA_APPSTATE_E_(cls, n) WA_ERR_MAKE(WA_ERR_APPSTATE_BASE, cls, n)
enum wa_appstate_err {
	WA_APPSTATE_OK = WA_OK,
	WA_APPSTATE_ERR = WA_EFAIL,         /* bad argument, crypto library */
	WA_APPSTATE_ENOMEM = WA_ENOMEM,     /* out of memory */
	WA_APPSTATE_ERR_LIMIT = WA_ETOOBIG, /* a hard cap would be exceeded */
	WA_APPSTATE_ERR_MALFORMED = WA_APPSTATE_E_(WA_EPROTO, 1),   /* missing field, bad length, undecodable */
	WA_APPSTATE_ERR_NO_KEY = WA_APPSTATE_E_(WA_ENOTFOUND, 1),   /* key id unknown: request it (§11.6) */
	WA_APPSTATE_ERR_VALUE_MAC = WA_APPSTATE_E_(WA_ECRYPTO, 1),
	WA_APPSTATE_ERR_INDEX_MAC = WA_APPSTATE_E_(WA_ECRYPTO, 2),
	WA_APPSTATE_ERR_DECRYPT = WA_APPSTATE_E_(WA_ECRYPTO, 3),    /* bad padding after a good value MAC */
	WA_APPSTATE_ERR_SNAPSHOT_MAC = WA_APPSTATE_E_(WA_ECRYPTO, 4), /* LT-hash of the result does not match */
	WA_APPSTATE_ERR_PATCH_MAC = WA_APPSTATE_E_(WA_ECRYPTO, 5),
	WA_APPSTATE_ERR_VERSION = WA_APPSTATE_E_(WA_ECONFLICT, 1),  /* patch not newer than the state */
	WA_APPSTATE_ERR_EXTERNAL = WA_APPSTATE_E_(WA_EINVAL, 1),    /* patch mutations are in an external blob */
};
#undef WA_APPSTATE_E_

/* Human-readable text for an enum wa_appstate_err value. */
const char *wa_appstate_strerror(int err);

/* --- 1. primitives --- */

struct wa_appstate_keys {
	uint8_t index[32];
	uint8_t value_enc[32];
	uint8_t value_mac[32];
	uint8_t snapshot_mac[32];
	uint8_t patch_mac[32];
};

/* HKDF(keyData, info "WhatsApp Mutation Keys", 160) split in five. */
int wa_appstate_expand_keys(const uint8_t *key_data, size_t len, struct wa_appstate_keys *out);
/* HMAC-SHA256(indexKey, index JSON bytes). */
int wa_appstate_index_mac(const struct wa_appstate_keys *k, const void *index, size_t len, uint8_t out[32]);
/* HMAC-SHA512(valueMacKey, (op+1) || keyId || value || be64(len(keyId)+1))[:32],
 * value = iv || ciphertext (without the MAC). */
int wa_appstate_value_mac(const struct wa_appstate_keys *k, enum wa_appstate_op op, const uint8_t *key_id,
			  size_t key_id_len, const uint8_t *value, size_t value_len, uint8_t out[32]);
/* value = iv || AES-256-CBC(valueEncryptionKey, iv, PKCS#7(plain)); iv NULL
 * means 16 random bytes. *out is malloc'd (caller frees). */
int wa_appstate_value_encrypt(const struct wa_appstate_keys *k, const uint8_t *iv, const uint8_t *plain,
			      size_t len, uint8_t **out, size_t *outlen);
/* Inverse of the above (no MAC check: do that first). malloc'd *out. */
int wa_appstate_value_decrypt(const struct wa_appstate_keys *k, const uint8_t *value, size_t len,
			      uint8_t **out, size_t *outlen);

/* LT-hash: hash viewed as 64 little-endian uint16 lanes; add / subtract
 * HKDF(item, info "WhatsApp Patch Integrity", 128) lane-wise mod 2^16. */
int wa_lthash_add(uint8_t hash[WA_APPSTATE_HASH_LEN], const uint8_t *item, size_t len);
int wa_lthash_sub(uint8_t hash[WA_APPSTATE_HASH_LEN], const uint8_t *item, size_t len);

/* HMAC-SHA256(snapshotMacKey, hash || be64(version) || name). */
int wa_appstate_snapshot_mac(const struct wa_appstate_keys *k, const uint8_t hash[WA_APPSTATE_HASH_LEN],
			     uint64_t version, const char *name, uint8_t out[32]);
/* HMAC-SHA256(patchMacKey, snapshotMac || valueMac_1..n || be64(version) || name);
 * value_macs holds n*32 bytes in mutation order. */
int wa_appstate_patch_mac(const struct wa_appstate_keys *k, const uint8_t snapshot_mac[32],
			  const uint8_t *value_macs, size_t n, uint64_t version, const char *name,
			  uint8_t out[32]);

/* --- 2. collection state --- */

struct wa_appstate_state;

/* New empty state (version 0, zero hash) for collection `name` (copied,
 * <= 64 bytes). NULL on failure. */
struct wa_appstate_state *wa_appstate_state_new(const char *name);
void wa_appstate_state_free(struct wa_appstate_state *s);
/* Back to version 0, zero hash, no entries (before applying a snapshot). */
void wa_appstate_state_reset(struct wa_appstate_state *s);
const char *wa_appstate_state_name(const struct wa_appstate_state *s);
uint64_t wa_appstate_state_version(const struct wa_appstate_state *s);
/* The current 128-byte LT-hash (valid until the state changes). */
const uint8_t *wa_appstate_state_hash(const struct wa_appstate_state *s);
size_t wa_appstate_state_count(const struct wa_appstate_state *s);
/* Loading a persisted state: set version and hash, then put every
 * (indexMAC, valueMAC) pair. No hash arithmetic is done by these. */
void wa_appstate_state_set_version(struct wa_appstate_state *s, uint64_t version,
				   const uint8_t hash[WA_APPSTATE_HASH_LEN]);
int wa_appstate_state_put(struct wa_appstate_state *s, const uint8_t index_mac[32], const uint8_t value_mac[32]);
/* valueMAC of a live index: 0 and value_mac filled, or -1 if absent. */
int wa_appstate_state_get(const struct wa_appstate_state *s, const uint8_t index_mac[32], uint8_t value_mac[32]);
/* Call fn for every entry (arbitrary order) until it returns non-zero;
 * returns that value or 0. fn must not modify the state. */
int wa_appstate_state_foreach(const struct wa_appstate_state *s,
			      int (*fn)(void *ud, const uint8_t index_mac[32], const uint8_t value_mac[32]),
			      void *ud);

/* --- 3. applying server data --- */

/* Key lookup: copy the 32-byte keyData of key_id into key_data and return
 * 0, or return -1 if the key is unknown. */
typedef int (*wa_appstate_key_fn)(void *ud, const uint8_t *key_id, size_t key_id_len, uint8_t key_data[32]);

struct wa_appstate_mutation {
	enum wa_appstate_op op;
	uint8_t index_mac[32];
	uint8_t value_mac[32];
	char *index_json;                    /* NUL-terminated copy of data->index */
	size_t index_len;
	WaSyncAction__SyncActionData *data;  /* decrypted and unpacked */
	uint64_t patch_version;              /* version of the patch/snapshot it came in */
};

/* What an apply produced. Persist it as: SET -> upsert (index_mac,
 * value_mac), REMOVE -> delete index_mac, then the state's version/hash. */
struct wa_appstate_result {
	struct wa_appstate_mutation *mutations;  /* n of them, in order */
	size_t n;
	size_t missing_removes;   /* REMOVEs of unknown indexes (tolerated, §11.3) */
	/* On WA_APPSTATE_ERR_NO_KEY: the key id to request. */
	uint8_t missing_key_id[WA_APPSTATE_MAX_KEY_ID];
	size_t missing_key_id_len;
	/* On a per-mutation error: its 0-based position, else -1. */
	long failed_index;
};

/* Releases everything a result holds and zeroes it (the struct itself is
 * the caller's). Both apply functions initialise *res first thing, so it
 * is always safe to call this after them, whatever they returned. */
void wa_appstate_result_free(struct wa_appstate_result *r);

/* Replace the state with a snapshot: every record is decrypted and
 * verified, the LT-hash rebuilt from zero and checked against snap->mac.
 * res (zeroed by the call) receives the decoded records as SET mutations. */
int wa_appstate_apply_snapshot(struct wa_appstate_state *s, const WaServerSync__SyncdSnapshot *snap,
			       wa_appstate_key_fn get_key, void *ud, struct wa_appstate_result *res);

/* Apply one patch on top of the state. The mutations are patch->mutations,
 * or, when the patch refers to an external blob, `external` (the
 * downloaded and unpacked SyncdMutations; NULL otherwise, and then
 * WA_APPSTATE_ERR_EXTERNAL is returned for such a patch). A patch without a
 * version is taken as state version + 1 (BL); a version not above the
 * state's gives WA_APPSTATE_ERR_VERSION. */
int wa_appstate_apply_patch(struct wa_appstate_state *s, const WaServerSync__SyncdPatch *patch,
			    const WaServerSync__SyncdMutations *external, wa_appstate_key_fn get_key, void *ud,
			    struct wa_appstate_result *res);

/* --- 4. building a patch --- */

struct wa_appstate_out_mutation {
	enum wa_appstate_op op;
	const char *index_json;                      /* e.g. ["mute","1555…@s.whatsapp.net"] */
	const WaSyncAction__SyncActionValue *value;  /* caller sets value->timestamp (ms) */
	int32_t version;                             /* per-action version (§11.1 table) */
	const uint8_t *iv;                           /* 16 bytes, or NULL = random */
};

/* Serialize SyncdPatch{mutations, snapshotMAC, patchMAC, keyID} (no version,
 * as WM) for the state's collection at version state+1, encrypted with the
 * given key. The state is NOT modified: the server echoes the patch back on
 * the next sync, where wa_appstate_apply_patch() verifies and applies it.
 * *out is malloc'd. new_hash (may be NULL) receives the LT-hash after the
 * patch. */
int wa_appstate_build_patch(const struct wa_appstate_state *s, const uint8_t *key_id, size_t key_id_len,
			    const uint8_t key_data[32], const struct wa_appstate_out_mutation *m, size_t n,
			    uint8_t **out, size_t *outlen, uint8_t new_hash[WA_APPSTATE_HASH_LEN]);

/* Server side (wa-sim): re-serialize a client's SyncdPatch with
 * version.version set, as the server does before storing / serving it.
 * *out is malloc'd. WA_APPSTATE_ERR_MALFORMED if in does not decode. */
int wa_appstate_patch_set_version(const uint8_t *in, size_t len, uint64_t version, uint8_t **out,
				  size_t *outlen);

/* --- JSON index helpers --- */

/* Compact JSON array of strings, as JSON.stringify / json.Marshal write it
 * for plain JIDs and ids: ["a","b"]. '"', '\\' and control characters are
 * escaped. *out is malloc'd and NUL-terminated. */
int wa_appstate_index_build(const char *const *parts, size_t n, char **out, size_t *outlen);
/* Parse such an array (whitespace, all JSON string escapes including
 * surrogate pairs are accepted; anything else is -1). *parts is a malloc'd
 * array of n malloc'd strings: free with wa_appstate_index_free(). At most
 * WA_APPSTATE_MAX_INDEX_PARTS parts and WA_APPSTATE_MAX_INDEX bytes. */
int wa_appstate_index_parse(const char *json, size_t len, char ***parts, size_t *n);
void wa_appstate_index_free(char **parts, size_t n);

#endif
