/* wa/appstate: app-state crypto, collection state and patch processing.
 * See appstate.h for the contract and docs/protocol.md §11.3 for the algorithms
 * (taken from WM: appstate/keys.go, hash.go, decode.go, encode.go). */
#include "wa/appstate.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "wa/crypto.h"
#include "wa_util.h"

#define NAME_MAX_LEN 64

const char *wa_appstate_strerror(int err)
{
	switch (err) {
	case WA_APPSTATE_OK: return "ok";
	case WA_APPSTATE_ERR: return "app state internal failure";
	case WA_APPSTATE_ENOMEM: return "out of memory";
	case WA_APPSTATE_ERR_MALFORMED: return "app state data malformed";
	case WA_APPSTATE_ERR_NO_KEY: return "app state sync key missing";
	case WA_APPSTATE_ERR_VALUE_MAC: return "app state value MAC mismatch";
	case WA_APPSTATE_ERR_INDEX_MAC: return "app state index MAC mismatch";
	case WA_APPSTATE_ERR_DECRYPT: return "app state value decryption failed";
	case WA_APPSTATE_ERR_SNAPSHOT_MAC: return "app state snapshot MAC (LT-hash) mismatch";
	case WA_APPSTATE_ERR_PATCH_MAC: return "app state patch MAC mismatch";
	case WA_APPSTATE_ERR_VERSION: return "app state patch version not newer than local state";
	case WA_APPSTATE_ERR_LIMIT: return "app state size limit exceeded";
	case WA_APPSTATE_ERR_EXTERNAL: return "app state patch needs its external mutations blob";
	default: return "unknown app state error";
	}
}

static const char *const collections[] = {
	WA_APPSTATE_CRITICAL_BLOCK, WA_APPSTATE_CRITICAL_UNBLOCK_LOW, WA_APPSTATE_REGULAR_HIGH,
	WA_APPSTATE_REGULAR, WA_APPSTATE_REGULAR_LOW,
};

const char *wa_appstate_collection(size_t i)
{
	return i < sizeof collections / sizeof collections[0] ? collections[i] : NULL;
}

int wa_appstate_collection_valid(const char *name)
{
	for (size_t i = 0; name && i < sizeof collections / sizeof collections[0]; i++)
		if (strcmp(name, collections[i]) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* 1. primitives */

int wa_appstate_expand_keys(const uint8_t *key_data, size_t len, struct wa_appstate_keys *out)
{
	static const char info[] = "WhatsApp Mutation Keys";
	uint8_t e[160];

	if (!key_data || !len || !out)
		return WA_APPSTATE_ERR;
	if (wa_hkdf_sha256(key_data, len, NULL, 0, info, sizeof info - 1, e, sizeof e) != 0)
		return WA_APPSTATE_ERR;
	memcpy(out->index, e, 32);
	memcpy(out->value_enc, e + 32, 32);
	memcpy(out->value_mac, e + 64, 32);
	memcpy(out->snapshot_mac, e + 96, 32);
	memcpy(out->patch_mac, e + 128, 32);
	OPENSSL_cleanse(e, sizeof e);
	return WA_APPSTATE_OK;
}

int wa_appstate_index_mac(const struct wa_appstate_keys *k, const void *index, size_t len, uint8_t out[32])
{
	if (!k || (len && !index) || !out)
		return WA_APPSTATE_ERR;
	return wa_hmac_sha256(k->index, 32, index, len, out) == 0 ? WA_APPSTATE_OK : WA_APPSTATE_ERR;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

int wa_appstate_value_mac(const struct wa_appstate_keys *k, enum wa_appstate_op op, const uint8_t *key_id,
			  size_t key_id_len, const uint8_t *value, size_t value_len, uint8_t out[32])
{
	uint8_t mac[64];
	uint8_t *buf;
	size_t n;
	int rc;

	if (!k || !out || (key_id_len && !key_id) || (value_len && !value) ||
	    (op != WA_APPSTATE_SET && op != WA_APPSTATE_REMOVE) || key_id_len > WA_APPSTATE_MAX_KEY_ID ||
	    value_len > SIZE_MAX - 128)
		return WA_APPSTATE_ERR;
	n = 1 + key_id_len + value_len + 8;
	buf = malloc(n);
	if (!buf)
		return WA_APPSTATE_ENOMEM;
	buf[0] = (uint8_t)(op + 1);
	if (key_id_len)
		memcpy(buf + 1, key_id, key_id_len);
	if (value_len)
		memcpy(buf + 1 + key_id_len, value, value_len);
	put_be64(buf + 1 + key_id_len + value_len, (uint64_t)key_id_len + 1);
	rc = wa_hmac_sha512(k->value_mac, 32, buf, n, mac);
	free(buf);
	if (rc != 0)
		return WA_APPSTATE_ERR;
	memcpy(out, mac, 32);
	return WA_APPSTATE_OK;
}

int wa_appstate_value_encrypt(const struct wa_appstate_keys *k, const uint8_t *iv, const uint8_t *plain,
			      size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t *buf;
	size_t n = 0;

	if (!k || !out || !outlen || (len && !plain) || len > WA_APPSTATE_MAX_VALUE)
		return WA_APPSTATE_ERR;
	*out = NULL;
	*outlen = 0;
	buf = malloc(16 + len + 16);
	if (!buf)
		return WA_APPSTATE_ENOMEM;
	if (iv)
		memcpy(buf, iv, 16);
	else if (wa_random(buf, 16) != 0)
		goto fail;
	if (wa_aes256_cbc_encrypt(k->value_enc, buf, plain, len, buf + 16, &n) != 0)
		goto fail;
	*out = buf;
	*outlen = 16 + n;
	return WA_APPSTATE_OK;
fail:
	free(buf);
	return WA_APPSTATE_ERR;
}

int wa_appstate_value_decrypt(const struct wa_appstate_keys *k, const uint8_t *value, size_t len,
			      uint8_t **out, size_t *outlen)
{
	uint8_t *buf;
	size_t n = 0;

	if (!k || !value || !out || !outlen)
		return WA_APPSTATE_ERR;
	*out = NULL;
	*outlen = 0;
	if (len < 32 || (len - 16) % 16 != 0 || len > WA_APPSTATE_MAX_VALUE + 16)
		return WA_APPSTATE_ERR_MALFORMED;
	buf = malloc(len - 16);
	if (!buf)
		return WA_APPSTATE_ENOMEM;
	if (wa_aes256_cbc_decrypt(k->value_enc, value, value + 16, len - 16, buf, &n) != 0) {
		free(buf);
		return WA_APPSTATE_ERR_DECRYPT;
	}
	*out = buf;
	*outlen = n;
	return WA_APPSTATE_OK;
}

static int lthash_apply(uint8_t hash[WA_APPSTATE_HASH_LEN], const uint8_t *item, size_t len, int sign)
{
	static const char info[] = "WhatsApp Patch Integrity";
	uint8_t x[WA_APPSTATE_HASH_LEN];

	if (!hash || (len && !item))
		return WA_APPSTATE_ERR;
	if (wa_hkdf_sha256(item, len, NULL, 0, info, sizeof info - 1, x, sizeof x) != 0)
		return WA_APPSTATE_ERR;
	for (size_t i = 0; i < WA_APPSTATE_HASH_LEN; i += 2) {
		uint16_t a = (uint16_t)(hash[i] | hash[i + 1] << 8);
		uint16_t b = (uint16_t)(x[i] | x[i + 1] << 8);
		uint16_t r = sign > 0 ? (uint16_t)(a + b) : (uint16_t)(a - b);

		hash[i] = (uint8_t)r;
		hash[i + 1] = (uint8_t)(r >> 8);
	}
	return WA_APPSTATE_OK;
}

int wa_lthash_add(uint8_t hash[WA_APPSTATE_HASH_LEN], const uint8_t *item, size_t len)
{
	return lthash_apply(hash, item, len, 1);
}

int wa_lthash_sub(uint8_t hash[WA_APPSTATE_HASH_LEN], const uint8_t *item, size_t len)
{
	return lthash_apply(hash, item, len, -1);
}

int wa_appstate_snapshot_mac(const struct wa_appstate_keys *k, const uint8_t hash[WA_APPSTATE_HASH_LEN],
			     uint64_t version, const char *name, uint8_t out[32])
{
	uint8_t buf[WA_APPSTATE_HASH_LEN + 8 + NAME_MAX_LEN];
	size_t nl;

	if (!k || !hash || !name || !out)
		return WA_APPSTATE_ERR;
	nl = strlen(name);
	if (nl > NAME_MAX_LEN)
		return WA_APPSTATE_ERR;
	memcpy(buf, hash, WA_APPSTATE_HASH_LEN);
	put_be64(buf + WA_APPSTATE_HASH_LEN, version);
	memcpy(buf + WA_APPSTATE_HASH_LEN + 8, name, nl);
	return wa_hmac_sha256(k->snapshot_mac, 32, buf, WA_APPSTATE_HASH_LEN + 8 + nl, out) == 0 ?
		WA_APPSTATE_OK : WA_APPSTATE_ERR;
}

int wa_appstate_patch_mac(const struct wa_appstate_keys *k, const uint8_t snapshot_mac[32],
			  const uint8_t *value_macs, size_t n, uint64_t version, const char *name,
			  uint8_t out[32])
{
	uint8_t *buf;
	size_t nl, len;
	int rc;

	if (!k || !snapshot_mac || (n && !value_macs) || !name || !out || n > WA_APPSTATE_MAX_MUTATIONS)
		return WA_APPSTATE_ERR;
	nl = strlen(name);
	if (nl > NAME_MAX_LEN)
		return WA_APPSTATE_ERR;
	len = 32 + n * 32 + 8 + nl;
	buf = malloc(len);
	if (!buf)
		return WA_APPSTATE_ENOMEM;
	memcpy(buf, snapshot_mac, 32);
	if (n)
		memcpy(buf + 32, value_macs, n * 32);
	put_be64(buf + 32 + n * 32, version);
	memcpy(buf + 40 + n * 32, name, nl);
	rc = wa_hmac_sha256(k->patch_mac, 32, buf, len, out);
	free(buf);
	return rc == 0 ? WA_APPSTATE_OK : WA_APPSTATE_ERR;
}

/* ------------------------------------------------------------------ */
/* 2. collection state: an open-addressing (linear probing) table keyed by
 * the 32-byte index MAC. Deletion shifts entries back, so no tombstones. */

struct entry {
	uint8_t idx[32];
	uint8_t val[32];
	uint8_t used;
	uint8_t removed;   /* batch tables only: the last op on idx was a REMOVE */
};

struct wa_appstate_state {
	char name[NAME_MAX_LEN + 1];
	uint64_t version;
	uint8_t hash[WA_APPSTATE_HASH_LEN];
	struct entry *tab;
	size_t cap;      /* 0 or a power of two */
	size_t count;
};

static size_t slot_of(const uint8_t idx[32], size_t mask)
{
	uint64_t h;

	memcpy(&h, idx, 8);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return (size_t)h & mask;
}

/* Slot holding idx, or the empty slot where it would go. cap must be > 0. */
static size_t probe(const struct wa_appstate_state *s, const uint8_t idx[32])
{
	size_t mask = s->cap - 1, i = slot_of(idx, mask);

	while (s->tab[i].used && memcmp(s->tab[i].idx, idx, 32) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Make room for `extra` more entries at a load factor <= 3/4. */
static int state_reserve(struct wa_appstate_state *s, size_t extra)
{
	size_t need = s->count + extra, ncap = s->cap ? s->cap : 64;
	struct entry *old = s->tab, *nt;
	size_t oldcap = s->cap;

	if (need > WA_APPSTATE_MAX_ENTRIES)
		return WA_APPSTATE_ERR_LIMIT;
	while (need * 4 > ncap * 3)
		ncap *= 2;
	if (ncap == s->cap)
		return WA_APPSTATE_OK;
	nt = calloc(ncap, sizeof *nt);
	if (!nt)
		return WA_APPSTATE_ENOMEM;
	s->tab = nt;
	s->cap = ncap;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].used)
			s->tab[probe(s, old[i].idx)] = old[i];
	}
	free(old);
	return WA_APPSTATE_OK;
}

/* Insert or update; room must have been reserved. */
static void state_set(struct wa_appstate_state *s, const uint8_t idx[32], const uint8_t val[32])
{
	size_t i = probe(s, idx);

	if (!s->tab[i].used) {
		memcpy(s->tab[i].idx, idx, 32);
		s->tab[i].used = 1;
		s->count++;
	}
	memcpy(s->tab[i].val, val, 32);
}

static void state_del(struct wa_appstate_state *s, const uint8_t idx[32])
{
	size_t mask, i, j;

	if (!s->cap)
		return;
	mask = s->cap - 1;
	i = probe(s, idx);
	if (!s->tab[i].used)
		return;
	s->tab[i].used = 0;
	s->count--;
	/* Backward-shift the following cluster so lookups stay correct. */
	j = i;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!s->tab[j].used)
			break;
		home = slot_of(s->tab[j].idx, mask);
		/* Move j to the hole i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			s->tab[i] = s->tab[j];
			s->tab[j].used = 0;
			i = j;
		}
	}
}

static const uint8_t *state_lookup(const struct wa_appstate_state *s, const uint8_t idx[32])
{
	size_t i;

	if (!s->cap)
		return NULL;
	i = probe(s, idx);
	return s->tab[i].used ? s->tab[i].val : NULL;
}

struct wa_appstate_state *wa_appstate_state_new(const char *name)
{
	struct wa_appstate_state *s;

	if (!name || strlen(name) > NAME_MAX_LEN)
		return NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	memcpy(s->name, name, strlen(name) + 1);
	return s;
}

void wa_appstate_state_free(struct wa_appstate_state *s)
{
	if (!s)
		return;
	free(s->tab);
	free(s);
}

void wa_appstate_state_reset(struct wa_appstate_state *s)
{
	if (!s)
		return;
	free(s->tab);
	s->tab = NULL;
	s->cap = s->count = 0;
	s->version = 0;
	memset(s->hash, 0, sizeof s->hash);
}

const char *wa_appstate_state_name(const struct wa_appstate_state *s)
{
	return s ? s->name : NULL;
}

uint64_t wa_appstate_state_version(const struct wa_appstate_state *s)
{
	return s ? s->version : 0;
}

const uint8_t *wa_appstate_state_hash(const struct wa_appstate_state *s)
{
	return s ? s->hash : NULL;
}

size_t wa_appstate_state_count(const struct wa_appstate_state *s)
{
	return s ? s->count : 0;
}

void wa_appstate_state_set_version(struct wa_appstate_state *s, uint64_t version,
				   const uint8_t hash[WA_APPSTATE_HASH_LEN])
{
	if (!s)
		return;
	s->version = version;
	if (hash)
		memcpy(s->hash, hash, WA_APPSTATE_HASH_LEN);
}

int wa_appstate_state_put(struct wa_appstate_state *s, const uint8_t index_mac[32], const uint8_t value_mac[32])
{
	int rc;

	if (!s || !index_mac || !value_mac)
		return WA_APPSTATE_ERR;
	if (state_lookup(s, index_mac)) {
		state_set(s, index_mac, value_mac);
		return WA_APPSTATE_OK;
	}
	rc = state_reserve(s, 1);
	if (rc != WA_APPSTATE_OK)
		return rc;
	state_set(s, index_mac, value_mac);
	return WA_APPSTATE_OK;
}

int wa_appstate_state_get(const struct wa_appstate_state *s, const uint8_t index_mac[32], uint8_t value_mac[32])
{
	const uint8_t *v;

	if (!s || !index_mac)
		return -1;
	v = state_lookup(s, index_mac);
	if (!v)
		return -1;
	if (value_mac)
		memcpy(value_mac, v, 32);
	return 0;
}

int wa_appstate_state_foreach(const struct wa_appstate_state *s,
			      int (*fn)(void *ud, const uint8_t index_mac[32], const uint8_t value_mac[32]),
			      void *ud)
{
	if (!s || !fn)
		return 0;
	for (size_t i = 0; i < s->cap; i++) {
		if (s->tab[i].used) {
			int r = fn(ud, s->tab[i].idx, s->tab[i].val);

			if (r)
				return r;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* 3. applying server data */

/* Expanded keys by id, so a patch signed with one key expands it once. */
#define KEY_CACHE 4
struct key_cache {
	struct {
		uint8_t id[WA_APPSTATE_MAX_KEY_ID];
		size_t idlen;
		struct wa_appstate_keys k;
		int used;
	} e[KEY_CACHE];
	int next;
	wa_appstate_key_fn fn;
	void *ud;
	struct wa_appstate_result *res;
};

static void key_cache_wipe(struct key_cache *c)
{
	OPENSSL_cleanse(c->e, sizeof c->e);
}

/* Validate a KeyId message and find its keys. */
static int key_get(struct key_cache *c, const WaServerSync__KeyId *kid, const struct wa_appstate_keys **out)
{
	uint8_t data[32];
	const uint8_t *id;
	size_t idlen;
	int slot, rc;

	if (!kid || !kid->has_id || kid->id.len == 0 || kid->id.len > WA_APPSTATE_MAX_KEY_ID)
		return WA_APPSTATE_ERR_MALFORMED;
	id = kid->id.data;
	idlen = kid->id.len;
	for (int i = 0; i < KEY_CACHE; i++) {
		if (c->e[i].used && c->e[i].idlen == idlen && memcmp(c->e[i].id, id, idlen) == 0) {
			*out = &c->e[i].k;
			return WA_APPSTATE_OK;
		}
	}
	if (!c->fn || c->fn(c->ud, id, idlen, data) != 0) {
		memcpy(c->res->missing_key_id, id, idlen);
		c->res->missing_key_id_len = idlen;
		return WA_APPSTATE_ERR_NO_KEY;
	}
	slot = c->next;
	c->next = (c->next + 1) % KEY_CACHE;
	rc = wa_appstate_expand_keys(data, sizeof data, &c->e[slot].k);
	OPENSSL_cleanse(data, sizeof data);
	if (rc != WA_APPSTATE_OK)
		return rc;
	memcpy(c->e[slot].id, id, idlen);
	c->e[slot].idlen = idlen;
	c->e[slot].used = 1;
	*out = &c->e[slot].k;
	return WA_APPSTATE_OK;
}

/* Verify, decrypt and unpack one record into m (value MAC, then decrypt,
 * then index MAC, the order WM uses). */
static int decode_record(struct key_cache *kc, const WaServerSync__SyncdRecord *rec, enum wa_appstate_op op,
			 struct wa_appstate_mutation *m)
{
	const struct wa_appstate_keys *k;
	const uint8_t *blob;
	size_t blen, vlen;
	uint8_t mac[32];
	uint8_t *plain = NULL;
	size_t plen = 0;
	int rc;

	if (!rec || !rec->index || !rec->index->has_blob || rec->index->blob.len != 32 || !rec->value ||
	    !rec->value->has_blob)
		return WA_APPSTATE_ERR_MALFORMED;
	blob = rec->value->blob.data;
	blen = rec->value->blob.len;
	/* iv(16) + at least one AES block + MAC(32), whole blocks. */
	if (blen < 16 + 16 + 32 || blen > WA_APPSTATE_MAX_VALUE + 48 || (blen - 48) % 16 != 0)
		return WA_APPSTATE_ERR_MALFORMED;
	vlen = blen - 32;
	rc = key_get(kc, rec->keyid, &k);
	if (rc != WA_APPSTATE_OK)
		return rc;
	rc = wa_appstate_value_mac(k, op, rec->keyid->id.data, rec->keyid->id.len, blob, vlen, mac);
	if (rc != WA_APPSTATE_OK)
		return rc;
	if (!wa_ct_equal(mac, blob + vlen, 32))
		return WA_APPSTATE_ERR_VALUE_MAC;
	rc = wa_appstate_value_decrypt(k, blob, vlen, &plain, &plen);
	if (rc != WA_APPSTATE_OK)
		return rc;
	m->data = wa_sync_action__sync_action_data__unpack(NULL, plen, plain);
	OPENSSL_cleanse(plain, plen);
	free(plain);
	if (!m->data || !m->data->has_index || m->data->index.len > WA_APPSTATE_MAX_INDEX)
		return WA_APPSTATE_ERR_MALFORMED;
	rc = wa_appstate_index_mac(k, m->data->index.data, m->data->index.len, mac);
	if (rc != WA_APPSTATE_OK)
		return rc;
	if (!wa_ct_equal(mac, rec->index->blob.data, 32))
		return WA_APPSTATE_ERR_INDEX_MAC;
	m->index_json = malloc(m->data->index.len + 1);
	if (!m->index_json)
		return WA_APPSTATE_ENOMEM;
	if (m->data->index.len)
		memcpy(m->index_json, m->data->index.data, m->data->index.len);
	m->index_json[m->data->index.len] = '\0';
	m->index_len = m->data->index.len;
	m->op = op;
	memcpy(m->index_mac, rec->index->blob.data, 32);
	memcpy(m->value_mac, blob + vlen, 32);
	return WA_APPSTATE_OK;
}

void wa_appstate_result_free(struct wa_appstate_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->mutations[i].index_json);
		wa_sync_action__sync_action_data__free_unpacked(r->mutations[i].data, NULL);
	}
	free(r->mutations);
	memset(r, 0, sizeof *r);
	r->failed_index = -1;
}

/* On failure: drop the decoded mutations (nothing was applied) but keep
 * what tells the caller why (missing key id, failing position). */
static void result_discard(struct wa_appstate_result *res)
{
	uint8_t id[WA_APPSTATE_MAX_KEY_ID];
	size_t idlen = res->missing_key_id_len;
	long fi = res->failed_index;

	memcpy(id, res->missing_key_id, idlen);
	wa_appstate_result_free(res);
	memcpy(res->missing_key_id, id, idlen);
	res->missing_key_id_len = idlen;
	res->failed_index = fi;
}

static int result_init(struct wa_appstate_result *res, size_t n)
{
	memset(res, 0, sizeof *res);
	res->failed_index = -1;
	if (n == 0)
		return WA_APPSTATE_OK;
	res->mutations = calloc(n, sizeof *res->mutations);
	return res->mutations ? WA_APPSTATE_OK : WA_APPSTATE_ENOMEM;
}

/* Decode n records into res (res->n grows as they succeed). */
static int decode_all(struct key_cache *kc, WaServerSync__SyncdRecord *const *recs,
		      WaServerSync__SyncdMutation *const *muts, size_t n, struct wa_appstate_result *res)
{
	for (size_t i = 0; i < n; i++) {
		const WaServerSync__SyncdRecord *rec;
		enum wa_appstate_op op = WA_APPSTATE_SET;
		int rc;

		if (muts) {
			int bad = !muts[i];

			if (!bad && muts[i]->has_operation) {
				if (muts[i]->operation == WA_SERVER_SYNC__SYNCD_MUTATION__SYNCD_OPERATION__REMOVE)
					op = WA_APPSTATE_REMOVE;
				else if (muts[i]->operation != WA_SERVER_SYNC__SYNCD_MUTATION__SYNCD_OPERATION__SET)
					bad = 1;
			}
			if (bad) {
				res->failed_index = (long)i;
				return WA_APPSTATE_ERR_MALFORMED;
			}
			rec = muts[i]->record;
		} else {
			rec = recs[i];
		}
		rc = decode_record(kc, rec, op, &res->mutations[i]);
		res->n = i + 1;   /* so result_free releases a partial entry too */
		if (rc != WA_APPSTATE_OK) {
			res->failed_index = (long)i;
			return rc;
		}
	}
	return WA_APPSTATE_OK;
}

/* Within one patch, the valueMAC a mutation replaces is that of the latest
 * earlier mutation of the same index in the patch (none if that was a
 * REMOVE), else the state's (WM's getPrevSetValueMAC). A batch table keeps
 * the latest op per index so this is O(1) per mutation, not a backward
 * scan (patches with external mutations can be large). */
static const uint8_t *batch_prev(const struct wa_appstate_state *batch, const struct wa_appstate_state *s,
				 const uint8_t idx[32])
{
	size_t i;

	if (batch->cap) {
		i = probe(batch, idx);
		if (batch->tab[i].used)
			return batch->tab[i].removed ? NULL : batch->tab[i].val;
	}
	return state_lookup(s, idx);
}

/* Record op on idx in the batch (room reserved beforehand). */
static void batch_note(struct wa_appstate_state *batch, const uint8_t idx[32], enum wa_appstate_op op,
		       const uint8_t vmac[32])
{
	size_t i;

	state_set(batch, idx, vmac);
	i = probe(batch, idx);
	batch->tab[i].removed = op == WA_APPSTATE_REMOVE;
}

static int check_mac_field(protobuf_c_boolean has, ProtobufCBinaryData d)
{
	return has && d.len == 32;
}

int wa_appstate_apply_snapshot(struct wa_appstate_state *s, const WaServerSync__SyncdSnapshot *snap,
			       wa_appstate_key_fn get_key, void *ud, struct wa_appstate_result *res)
{
	struct key_cache kc;
	const struct wa_appstate_keys *k;
	uint8_t hash[WA_APPSTATE_HASH_LEN] = { 0 }, mac[32];
	struct wa_appstate_state fresh;
	uint64_t version;
	int rc;

	if (res)
		result_init(res, 0);   /* callers may free res whatever we return */
	if (!s || !snap || !res)
		return WA_APPSTATE_ERR;
	if (snap->n_records > WA_APPSTATE_MAX_MUTATIONS)
		return WA_APPSTATE_ERR_LIMIT;
	if (result_init(res, snap->n_records) != WA_APPSTATE_OK)
		return WA_APPSTATE_ERR;
	memset(&kc, 0, sizeof kc);
	kc.fn = get_key;
	kc.ud = ud;
	kc.res = res;
	if (!snap->version || !snap->version->has_version || !check_mac_field(snap->has_mac, snap->mac)) {
		rc = WA_APPSTATE_ERR_MALFORMED;
		goto out;
	}
	version = snap->version->version;
	rc = decode_all(&kc, snap->records, NULL, snap->n_records, res);
	if (rc != WA_APPSTATE_OK)
		goto out;
	for (size_t i = 0; i < res->n; i++) {
		res->mutations[i].patch_version = version;
		rc = wa_lthash_add(hash, res->mutations[i].value_mac, 32);
		if (rc != WA_APPSTATE_OK)
			goto out;
	}
	rc = key_get(&kc, snap->keyid, &k);
	if (rc != WA_APPSTATE_OK)
		goto out;
	rc = wa_appstate_snapshot_mac(k, hash, version, s->name, mac);
	if (rc != WA_APPSTATE_OK)
		goto out;
	if (!wa_ct_equal(mac, snap->mac.data, 32)) {
		rc = WA_APPSTATE_ERR_SNAPSHOT_MAC;
		goto out;
	}
	/* Build the new table aside, then swap it in: the state changes only
	 * when everything succeeded. */
	memset(&fresh, 0, sizeof fresh);
	rc = state_reserve(&fresh, res->n);
	if (rc != WA_APPSTATE_OK) {
		free(fresh.tab);
		goto out;
	}
	for (size_t i = 0; i < res->n; i++)
		state_set(&fresh, res->mutations[i].index_mac, res->mutations[i].value_mac);
	free(s->tab);
	s->tab = fresh.tab;
	s->cap = fresh.cap;
	s->count = fresh.count;
	s->version = version;
	memcpy(s->hash, hash, sizeof hash);
	rc = WA_APPSTATE_OK;
out:
	key_cache_wipe(&kc);
	if (rc != WA_APPSTATE_OK)
		result_discard(res);
	return rc;
}

int wa_appstate_apply_patch(struct wa_appstate_state *s, const WaServerSync__SyncdPatch *patch,
			    const WaServerSync__SyncdMutations *external, wa_appstate_key_fn get_key, void *ud,
			    struct wa_appstate_result *res)
{
	struct key_cache kc;
	const struct wa_appstate_keys *k;
	WaServerSync__SyncdMutation *const *muts;
	struct wa_appstate_state batch = { .cap = 0 };
	uint8_t hash[WA_APPSTATE_HASH_LEN], mac[32];
	uint8_t *value_macs = NULL;
	size_t n, nsets = 0;
	uint64_t version;
	int rc;

	if (res)
		result_init(res, 0);   /* callers may free res whatever we return */
	if (!s || !patch || !res)
		return WA_APPSTATE_ERR;
	if (external) {
		muts = external->mutations;
		n = external->n_mutations;
	} else if (patch->externalmutations && patch->n_mutations == 0) {
		return WA_APPSTATE_ERR_EXTERNAL;
	} else {
		muts = patch->mutations;
		n = patch->n_mutations;
	}
	if (n > WA_APPSTATE_MAX_MUTATIONS)
		return WA_APPSTATE_ERR_LIMIT;
	if (patch->version && patch->version->has_version)
		version = patch->version->version;
	else if (s->version == UINT64_MAX)
		return WA_APPSTATE_ERR_VERSION;
	else
		version = s->version + 1;
	if (version <= s->version)
		return WA_APPSTATE_ERR_VERSION;
	if (!check_mac_field(patch->has_snapshotmac, patch->snapshotmac) ||
	    !check_mac_field(patch->has_patchmac, patch->patchmac))
		return WA_APPSTATE_ERR_MALFORMED;
	if (result_init(res, n) != WA_APPSTATE_OK)
		return WA_APPSTATE_ERR;
	memset(&kc, 0, sizeof kc);
	kc.fn = get_key;
	kc.ud = ud;
	kc.res = res;
	rc = decode_all(&kc, NULL, muts, n, res);
	if (rc != WA_APPSTATE_OK)
		goto out;
	/* LT-hash: subtract what each mutation replaces, add each SET. */
	memcpy(hash, s->hash, sizeof hash);
	value_macs = malloc(n ? n * 32 : 1);
	if (!value_macs) {
		rc = WA_APPSTATE_ENOMEM;
		goto out;
	}
	memset(&batch, 0, sizeof batch);
	rc = state_reserve(&batch, n);
	if (rc != WA_APPSTATE_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct wa_appstate_mutation *m = &res->mutations[i];
		const uint8_t *prev = batch_prev(&batch, s, m->index_mac);

		m->patch_version = version;
		memcpy(value_macs + i * 32, m->value_mac, 32);
		if (prev)
			rc = wa_lthash_sub(hash, prev, 32);
		else if (m->op == WA_APPSTATE_REMOVE)
			res->missing_removes++;
		if (rc == WA_APPSTATE_OK && m->op == WA_APPSTATE_SET) {
			rc = wa_lthash_add(hash, m->value_mac, 32);
			nsets++;
		}
		if (rc != WA_APPSTATE_OK)
			goto out;
		batch_note(&batch, m->index_mac, m->op, m->value_mac);
	}
	rc = key_get(&kc, patch->keyid, &k);
	if (rc != WA_APPSTATE_OK)
		goto out;
	rc = wa_appstate_snapshot_mac(k, hash, version, s->name, mac);
	if (rc != WA_APPSTATE_OK)
		goto out;
	if (!wa_ct_equal(mac, patch->snapshotmac.data, 32)) {
		rc = WA_APPSTATE_ERR_SNAPSHOT_MAC;
		goto out;
	}
	rc = wa_appstate_patch_mac(k, patch->snapshotmac.data, value_macs, n, version, s->name, mac);
	if (rc != WA_APPSTATE_OK)
		goto out;
	if (!wa_ct_equal(mac, patch->patchmac.data, 32)) {
		rc = WA_APPSTATE_ERR_PATCH_MAC;
		goto out;
	}
	/* Commit. Reserving first means the sets below cannot fail. */
	rc = state_reserve(s, nsets);
	if (rc != WA_APPSTATE_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct wa_appstate_mutation *m = &res->mutations[i];

		if (m->op == WA_APPSTATE_SET)
			state_set(s, m->index_mac, m->value_mac);
		else
			state_del(s, m->index_mac);
	}
	memcpy(s->hash, hash, sizeof hash);
	s->version = version;
	rc = WA_APPSTATE_OK;
out:
	free(batch.tab);
	free(value_macs);
	key_cache_wipe(&kc);
	if (rc != WA_APPSTATE_OK)
		result_discard(res);
	return rc;
}

/* ------------------------------------------------------------------ */
/* 4. building a patch */

struct out_parts {
	WaServerSync__SyncdMutation mut;
	WaServerSync__SyncdRecord rec;
	WaServerSync__SyncdIndex index;
	WaServerSync__SyncdValue value;
	uint8_t index_mac[32];
	uint8_t *blob;           /* iv || ct || valueMAC, malloc'd */
};

int wa_appstate_build_patch(const struct wa_appstate_state *s, const uint8_t *key_id, size_t key_id_len,
			    const uint8_t key_data[32], const struct wa_appstate_out_mutation *m, size_t n,
			    uint8_t **out, size_t *outlen, uint8_t new_hash[WA_APPSTATE_HASH_LEN])
{
	struct wa_appstate_keys k;
	struct out_parts *parts = NULL;
	WaServerSync__SyncdMutation **mptr = NULL;
	WaServerSync__SyncdPatch patch = WA_SERVER_SYNC__SYNCD_PATCH__INIT;
	WaServerSync__KeyId kid = WA_SERVER_SYNC__KEY_ID__INIT;
	struct wa_appstate_state batch = { .cap = 0 };
	uint8_t hash[WA_APPSTATE_HASH_LEN], snap_mac[32], patch_mac[32];
	uint8_t *value_macs = NULL, *buf = NULL;
	uint64_t version;
	size_t len;
	int rc = WA_APPSTATE_ERR;

	if (!s || !key_id || !key_id_len || key_id_len > WA_APPSTATE_MAX_KEY_ID || !key_data || (n && !m) ||
	    !out || !outlen || s->version == UINT64_MAX)
		return WA_APPSTATE_ERR;
	*out = NULL;
	*outlen = 0;
	if (n == 0 || n > WA_APPSTATE_MAX_MUTATIONS)
		return n ? WA_APPSTATE_ERR_LIMIT : WA_APPSTATE_ERR;
	if (wa_appstate_expand_keys(key_data, 32, &k) != WA_APPSTATE_OK)
		return WA_APPSTATE_ERR;
	parts = calloc(n, sizeof *parts);
	mptr = calloc(n, sizeof *mptr);
	value_macs = malloc(n * 32);
	if (!parts || !mptr || !value_macs || state_reserve(&batch, n) != WA_APPSTATE_OK)
		goto out;
	kid.has_id = 1;
	kid.id.data = (uint8_t *)key_id;
	kid.id.len = key_id_len;
	memcpy(hash, s->hash, sizeof hash);
	version = s->version + 1;

	for (size_t i = 0; i < n; i++) {
		WaSyncAction__SyncActionData data = WA_SYNC_ACTION__SYNC_ACTION_DATA__INIT;
		struct out_parts *p = &parts[i];
		uint8_t *plain, *val = NULL;
		size_t plen, vlen = 0, ilen;
		const uint8_t *prev = NULL;

		if (!m[i].index_json || (m[i].op != WA_APPSTATE_SET && m[i].op != WA_APPSTATE_REMOVE))
			goto out;
		ilen = strlen(m[i].index_json);
		if (ilen > WA_APPSTATE_MAX_INDEX) {
			rc = WA_APPSTATE_ERR_LIMIT;
			goto out;
		}
		data.has_index = 1;
		data.index.data = (uint8_t *)m[i].index_json;
		data.index.len = ilen;
		data.value = (WaSyncAction__SyncActionValue *)m[i].value;
		data.has_padding = 1;     /* empty, as both clients send it */
		data.has_version = 1;
		data.version = m[i].version;
		plen = wa_sync_action__sync_action_data__get_packed_size(&data);
		if (plen > WA_APPSTATE_MAX_VALUE) {
			rc = WA_APPSTATE_ERR_LIMIT;
			goto out;
		}
		plain = malloc(plen ? plen : 1);
		if (!plain)
			goto out;
		wa_sync_action__sync_action_data__pack(&data, plain);
		rc = wa_appstate_value_encrypt(&k, m[i].iv, plain, plen, &val, &vlen);
		OPENSSL_cleanse(plain, plen);
		free(plain);
		if (rc != WA_APPSTATE_OK)
			goto out;
		rc = WA_APPSTATE_ERR;
		p->blob = malloc(vlen + 32);
		if (!p->blob) {
			free(val);
			goto out;
		}
		memcpy(p->blob, val, vlen);
		free(val);
		if (wa_appstate_value_mac(&k, m[i].op, key_id, key_id_len, p->blob, vlen, p->blob + vlen) != 0 ||
		    wa_appstate_index_mac(&k, m[i].index_json, ilen, p->index_mac) != 0)
			goto out;
		memcpy(value_macs + i * 32, p->blob + vlen, 32);

		/* Same LT-hash rule as apply. */
		prev = batch_prev(&batch, s, p->index_mac);
		if (prev && wa_lthash_sub(hash, prev, 32) != 0)
			goto out;
		if (m[i].op == WA_APPSTATE_SET && wa_lthash_add(hash, value_macs + i * 32, 32) != 0)
			goto out;
		batch_note(&batch, p->index_mac, m[i].op, value_macs + i * 32);

		wa_server_sync__syncd_index__init(&p->index);
		p->index.has_blob = 1;
		p->index.blob.data = p->index_mac;
		p->index.blob.len = 32;
		wa_server_sync__syncd_value__init(&p->value);
		p->value.has_blob = 1;
		p->value.blob.data = p->blob;
		p->value.blob.len = vlen + 32;
		wa_server_sync__syncd_record__init(&p->rec);
		p->rec.index = &p->index;
		p->rec.value = &p->value;
		p->rec.keyid = &kid;
		wa_server_sync__syncd_mutation__init(&p->mut);
		p->mut.has_operation = 1;
		p->mut.operation = m[i].op == WA_APPSTATE_SET ? WA_SERVER_SYNC__SYNCD_MUTATION__SYNCD_OPERATION__SET :
			WA_SERVER_SYNC__SYNCD_MUTATION__SYNCD_OPERATION__REMOVE;
		p->mut.record = &p->rec;
		mptr[i] = &p->mut;
	}
	if (wa_appstate_snapshot_mac(&k, hash, version, s->name, snap_mac) != 0 ||
	    wa_appstate_patch_mac(&k, snap_mac, value_macs, n, version, s->name, patch_mac) != 0)
		goto out;
	patch.n_mutations = n;
	patch.mutations = mptr;
	patch.has_snapshotmac = 1;
	patch.snapshotmac.data = snap_mac;
	patch.snapshotmac.len = 32;
	patch.has_patchmac = 1;
	patch.patchmac.data = patch_mac;
	patch.patchmac.len = 32;
	patch.keyid = &kid;
	len = wa_server_sync__syncd_patch__get_packed_size(&patch);
	buf = malloc(len ? len : 1);
	if (!buf)
		goto out;
	wa_server_sync__syncd_patch__pack(&patch, buf);
	*out = buf;
	*outlen = len;
	if (new_hash)
		memcpy(new_hash, hash, sizeof hash);
	rc = WA_APPSTATE_OK;
out:
	if (parts)
		for (size_t i = 0; i < n; i++)
			free(parts[i].blob);
	free(parts);
	free(mptr);
	free(value_macs);
	free(batch.tab);
	OPENSSL_cleanse(&k, sizeof k);
	return rc;
}

int wa_appstate_patch_set_version(const uint8_t *in, size_t len, uint64_t version, uint8_t **out,
				  size_t *outlen)
{
	WaServerSync__SyncdPatch *p;
	WaServerSync__SyncdVersion ver = WA_SERVER_SYNC__SYNCD_VERSION__INIT;
	WaServerSync__SyncdVersion *old;
	uint8_t *buf;
	size_t n;

	if ((len && !in) || !out || !outlen)
		return WA_APPSTATE_ERR;
	*out = NULL;
	*outlen = 0;
	p = wa_server_sync__syncd_patch__unpack(NULL, len, in);
	if (!p)
		return WA_APPSTATE_ERR_MALFORMED;
	old = p->version;
	ver.has_version = 1;
	ver.version = version;
	p->version = &ver;
	n = wa_server_sync__syncd_patch__get_packed_size(p);
	buf = malloc(n ? n : 1);
	if (buf)
		wa_server_sync__syncd_patch__pack(p, buf);
	p->version = old;
	wa_server_sync__syncd_patch__free_unpacked(p, NULL);
	if (!buf)
		return WA_APPSTATE_ERR;
	*out = buf;
	*outlen = n;
	return WA_APPSTATE_OK;
}

/* ------------------------------------------------------------------ */
/* JSON index helpers */

int wa_appstate_index_build(const char *const *parts, size_t n, char **out, size_t *outlen)
{
	size_t cap = 3, pos = 0;
	char *b;

	if (!out || (n && !parts) || n > WA_APPSTATE_MAX_INDEX_PARTS)
		return WA_APPSTATE_ERR;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!parts[i])
			return WA_APPSTATE_ERR;
		cap += 3 + 6 * strlen(parts[i]);   /* worst case: every byte \u00XX */
	}
	if (cap > WA_APPSTATE_MAX_INDEX * 6 + 3 * WA_APPSTATE_MAX_INDEX_PARTS + 3)
		return WA_APPSTATE_ERR_LIMIT;
	b = malloc(cap);
	if (!b)
		return WA_APPSTATE_ENOMEM;
	b[pos++] = '[';
	for (size_t i = 0; i < n; i++) {
		if (i)
			b[pos++] = ',';
		b[pos++] = '"';
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
			static const char hexd[] = "0123456789abcdef";

			switch (*p) {
			case '"': b[pos++] = '\\'; b[pos++] = '"'; break;
			case '\\': b[pos++] = '\\'; b[pos++] = '\\'; break;
			case '\b': b[pos++] = '\\'; b[pos++] = 'b'; break;
			case '\f': b[pos++] = '\\'; b[pos++] = 'f'; break;
			case '\n': b[pos++] = '\\'; b[pos++] = 'n'; break;
			case '\r': b[pos++] = '\\'; b[pos++] = 'r'; break;
			case '\t': b[pos++] = '\\'; b[pos++] = 't'; break;
			default:
				if (*p < 0x20) {
					memcpy(b + pos, "\\u00", 4);
					b[pos + 4] = hexd[*p >> 4];
					b[pos + 5] = hexd[*p & 15];
					pos += 6;
				} else {
					b[pos++] = (char)*p;
				}
			}
		}
		b[pos++] = '"';
	}
	b[pos++] = ']';
	b[pos] = '\0';
	if (pos > WA_APPSTATE_MAX_INDEX) {
		free(b);
		return WA_APPSTATE_ERR_LIMIT;
	}
	*out = b;
	if (outlen)
		*outlen = pos;
	return WA_APPSTATE_OK;
}

void wa_appstate_index_free(char **parts, size_t n)
{
	if (!parts)
		return;
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
	free(parts);
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static int hex4(const char *s, size_t len, size_t i, unsigned *out)
{
	unsigned v = 0;

	if (i + 4 > len)
		return -1;
	for (size_t j = 0; j < 4; j++) {
		char c = s[i + j];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Parse one JSON string starting at s[*i] == '"'; *i ends after the
 * closing quote. The result is malloc'd and NUL-terminated. */
static char *parse_string(const char *s, size_t len, size_t *i)
{
	size_t p = *i + 1, o = 0;
	/* Decoded text is never longer than its source. */
	char *b = malloc(len - *i + 1);

	if (!b)
		return NULL;
	while (p < len) {
		unsigned char c = (unsigned char)s[p++];

		if (c == '"') {
			b[o] = '\0';
			*i = p;
			return b;
		}
		if (c < 0x20)
			break;
		if (c != '\\') {
			b[o++] = (char)c;
			continue;
		}
		if (p >= len)
			break;
		c = (unsigned char)s[p++];
		switch (c) {
		case '"': case '\\': case '/': b[o++] = (char)c; continue;
		case 'b': b[o++] = '\b'; continue;
		case 'f': b[o++] = '\f'; continue;
		case 'n': b[o++] = '\n'; continue;
		case 'r': b[o++] = '\r'; continue;
		case 't': b[o++] = '\t'; continue;
		case 'u': {
			unsigned cp, lo;

			if (hex4(s, len, p, &cp) != 0)
				goto bad;
			p += 4;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				goto bad;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (p + 6 > len || s[p] != '\\' || s[p + 1] != 'u' || hex4(s, len, p + 2, &lo) != 0 ||
				    lo < 0xDC00 || lo > 0xDFFF)
					goto bad;
				p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			if (cp == 0)
				goto bad;   /* no embedded NULs */
			/* UTF-8 is at most as long as the escape it came from. */
			if (cp < 0x80) {
				b[o++] = (char)cp;
			} else if (cp < 0x800) {
				b[o++] = (char)(0xC0 | cp >> 6);
				b[o++] = (char)(0x80 | (cp & 0x3F));
			} else if (cp < 0x10000) {
				b[o++] = (char)(0xE0 | cp >> 12);
				b[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
				b[o++] = (char)(0x80 | (cp & 0x3F));
			} else {
				b[o++] = (char)(0xF0 | cp >> 18);
				b[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
				b[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
				b[o++] = (char)(0x80 | (cp & 0x3F));
			}
			continue;
		}
		default:
			goto bad;
		}
	}
bad:
	free(b);
	return NULL;
}

int wa_appstate_index_parse(const char *json, size_t len, char ***parts, size_t *n)
{
	char **v;
	size_t i, cnt = 0;

	if (!json || !parts || !n)
		return -1;
	*parts = NULL;
	*n = 0;
	if (len > WA_APPSTATE_MAX_INDEX)
		return -1;
	v = calloc(WA_APPSTATE_MAX_INDEX_PARTS, sizeof *v);
	if (!v)
		return -1;
	i = skip_ws(json, len, 0);
	if (i >= len || json[i] != '[')
		goto bad;
	i = skip_ws(json, len, i + 1);
	if (i < len && json[i] == ']') {
		i++;
		goto done;
	}
	for (;;) {
		if (i >= len || json[i] != '"' || cnt >= WA_APPSTATE_MAX_INDEX_PARTS)
			goto bad;
		v[cnt] = parse_string(json, len, &i);
		if (!v[cnt])
			goto bad;
		cnt++;
		i = skip_ws(json, len, i);
		if (i < len && json[i] == ',') {
			i = skip_ws(json, len, i + 1);
			continue;
		}
		if (i < len && json[i] == ']') {
			i++;
			break;
		}
		goto bad;
	}
done:
	if (skip_ws(json, len, i) != len)
		goto bad;
	*parts = v;
	*n = cnt;
	return 0;
bad:
	wa_appstate_index_free(v, cnt);
	return -1;
}
