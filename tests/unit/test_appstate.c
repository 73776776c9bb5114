/* test_appstate: wa/appstate against the "app_state" vectors and wa/msgsecret
 * against the "poll_vote" vectors of tests/vectors/protocol.json; patch
 * build -> apply round trips (set, overwrite, remove), snapshots, every MAC
 * check rejecting tampered data with the state left untouched, the state
 * table under churn, and the JSON index helpers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tap.h"
#include "vectors.h"
#include "wa/appstate.h"
#include "wa/crypto.h"
#include "wa/msgsecret.h"
#include "wa/syncaction.h"
#include "wa_util.h"

static json_t *vectors;

/* Vector key store: one key id -> key data. */
static uint8_t g_key_id[6], g_key_data[32];

static int get_key(void *ud, const uint8_t *id, size_t idlen, uint8_t out[32])
{
	(void)ud;
	if (idlen != sizeof g_key_id || memcmp(id, g_key_id, idlen) != 0)
		return -1;
	memcpy(out, g_key_data, 32);
	return 0;
}

static const uint8_t zero_hash[WA_APPSTATE_HASH_LEN];

static void test_primitives(json_t *v)
{
	struct wa_appstate_keys k;
	uint8_t *kd, *kid, *exp, *imac, *plain, *iv, *val, *vmac, *lth, *smac, *pmac, got[32], hash[128];
	uint8_t *out = NULL;
	size_t kdl, kidl, expl, pl, vl, n = 0;
	const char *index = vec_str(v, "index_json");

	kd = vec_hex(v, "key_data", &kdl);
	kid = vec_hex(v, "key_id", &kidl);
	exp = vec_hex(v, "expanded_160", &expl);
	imac = vec_hex(v, "index_mac", NULL);
	plain = vec_hex(v, "sync_action_data_plaintext", &pl);
	iv = vec_hex(v, "value_iv", NULL);
	val = vec_hex(v, "value_blob(iv||ct)", &vl);
	vmac = vec_hex(v, "value_mac(SET)", NULL);
	lth = vec_hex(v, "lthash_after_one_set(from zero)", NULL);
	smac = vec_hex(v, "snapshot_mac", NULL);
	pmac = vec_hex(v, "patch_mac", NULL);

	ok(wa_appstate_expand_keys(kd, kdl, &k) == 0 && expl == 160 && memcmp(k.index, exp, 32) == 0 &&
	   memcmp(k.value_enc, exp + 32, 32) == 0 && memcmp(k.value_mac, exp + 64, 32) == 0 &&
	   memcmp(k.snapshot_mac, exp + 96, 32) == 0 && memcmp(k.patch_mac, exp + 128, 32) == 0,
	   "mutation keys = HKDF(keyData, 'WhatsApp Mutation Keys', 160) split in five");
	ok(wa_appstate_index_mac(&k, index, strlen(index), got) == 0 && memcmp(got, imac, 32) == 0, "index MAC");

	/* SyncActionData as the vector built it, through our protobuf. */
	{
		WaSyncAction__MuteAction mute = WA_SYNC_ACTION__MUTE_ACTION__INIT;
		WaSyncAction__SyncActionValue value = WA_SYNC_ACTION__SYNC_ACTION_VALUE__INIT;
		WaSyncAction__SyncActionData data = WA_SYNC_ACTION__SYNC_ACTION_DATA__INIT;
		uint8_t buf[256];
		size_t bl;

		mute.has_muted = 1;
		mute.muted = 1;
		mute.has_muteendtimestamp = 1;
		mute.muteendtimestamp = 1700003600000LL;
		value.has_timestamp = 1;
		value.timestamp = 1700000000000LL;
		value.muteaction = &mute;
		data.has_index = 1;
		data.index.data = (uint8_t *)index;
		data.index.len = strlen(index);
		data.value = &value;
		data.has_padding = 1;
		data.has_version = 1;
		data.version = 2;
		bl = wa_sync_action__sync_action_data__pack(&data, buf);
		ok(bl == pl && memcmp(buf, plain, pl) == 0, "SyncActionData packs to the vector plaintext");
	}
	ok(wa_appstate_value_encrypt(&k, iv, plain, pl, &out, &n) == 0 && n == vl && memcmp(out, val, vl) == 0,
	   "value = iv || AES-CBC(SyncActionData)");
	free(out);
	out = NULL;
	ok(wa_appstate_value_decrypt(&k, val, vl, &out, &n) == 0 && n == pl && memcmp(out, plain, pl) == 0,
	   "value decrypts back");
	free(out);
	ok(wa_appstate_value_mac(&k, WA_APPSTATE_SET, kid, kidl, val, vl, got) == 0 && memcmp(got, vmac, 32) == 0,
	   "value MAC (SET)");
	wa_appstate_value_mac(&k, WA_APPSTATE_REMOVE, kid, kidl, val, vl, got);
	ok(memcmp(got, vmac, 32) != 0, "value MAC depends on the operation");

	memset(hash, 0, sizeof hash);
	ok(wa_lthash_add(hash, vmac, 32) == 0 && memcmp(hash, lth, 128) == 0, "LT-hash after one add");
	ok(wa_lthash_sub(hash, vmac, 32) == 0 && memcmp(hash, zero_hash, 128) == 0, "LT-hash after remove = zero");
	wa_lthash_add(hash, vmac, 32);
	ok(wa_appstate_snapshot_mac(&k, hash, (uint64_t)json_integer_value(json_object_get(v, "version")),
				    vec_str(v, "collection"), got) == 0 && memcmp(got, smac, 32) == 0, "snapshot MAC");
	ok(wa_appstate_patch_mac(&k, smac, vmac, 1, 1, vec_str(v, "collection"), got) == 0 &&
	   memcmp(got, pmac, 32) == 0, "patch MAC");

	/* commutativity: a+b-a = b */
	{
		uint8_t h1[128] = { 0 }, h2[128] = { 0 };

		wa_lthash_add(h1, vmac, 32);
		wa_lthash_add(h1, imac, 32);
		wa_lthash_sub(h1, vmac, 32);
		wa_lthash_add(h2, imac, 32);
		ok(memcmp(h1, h2, 128) == 0, "LT-hash add/sub commute");
	}
	free(kd); free(kid); free(exp); free(imac); free(plain); free(iv); free(val); free(vmac); free(lth);
	free(smac); free(pmac);
}

/* Build a one-mutation patch (op, index, muted flag, fixed iv byte). */
static int build1(const struct wa_appstate_state *s, enum wa_appstate_op op, const char *index, int muted,
		  uint8_t ivb, uint8_t **out, size_t *outlen, uint8_t *new_hash)
{
	WaSyncAction__MuteAction mute = WA_SYNC_ACTION__MUTE_ACTION__INIT;
	WaSyncAction__SyncActionValue value = WA_SYNC_ACTION__SYNC_ACTION_VALUE__INIT;
	struct wa_appstate_out_mutation m;
	uint8_t iv[16];

	for (int i = 0; i < 16; i++)
		iv[i] = (uint8_t)(ivb + i);
	mute.has_muted = 1;
	mute.muted = muted;
	mute.has_muteendtimestamp = 1;
	mute.muteendtimestamp = 1700003600000LL;
	value.has_timestamp = 1;
	value.timestamp = 1700000000000LL;
	value.muteaction = &mute;
	m.op = op;
	m.index_json = index;
	m.value = &value;
	m.version = 2;
	m.iv = iv;
	return wa_appstate_build_patch(s, g_key_id, sizeof g_key_id, g_key_data, &m, 1, out, outlen, new_hash);
}

/* Unpack, let the caller corrupt, apply; returns the apply status. */
static int apply_bytes(struct wa_appstate_state *s, const uint8_t *bytes, size_t len, uint64_t version,
		       void (*corrupt)(WaServerSync__SyncdPatch *), struct wa_appstate_result *res)
{
	WaServerSync__SyncdPatch *p = wa_server_sync__syncd_patch__unpack(NULL, len, bytes);
	WaServerSync__SyncdVersion ver = WA_SERVER_SYNC__SYNCD_VERSION__INIT;
	WaServerSync__SyncdVersion *saved;
	int rc;

	if (!p)
		return -100;
	saved = p->version;
	if (version) {
		ver.has_version = 1;
		ver.version = version;
		p->version = &ver;
	}
	if (corrupt)
		corrupt(p);
	rc = wa_appstate_apply_patch(s, p, NULL, get_key, NULL, res);
	p->version = saved;
	wa_server_sync__syncd_patch__free_unpacked(p, NULL);
	return rc;
}

static void flip_patch_mac(WaServerSync__SyncdPatch *p) { p->patchmac.data[5] ^= 1; }
static void flip_snapshot_mac(WaServerSync__SyncdPatch *p) { p->snapshotmac.data[0] ^= 0x40; }
static void flip_value(WaServerSync__SyncdPatch *p) { p->mutations[0]->record->value->blob.data[20] ^= 1; }
static void flip_value_mac(WaServerSync__SyncdPatch *p)
{
	ProtobufCBinaryData *b = &p->mutations[0]->record->value->blob;

	b->data[b->len - 1] ^= 1;
}
static void flip_index(WaServerSync__SyncdPatch *p) { p->mutations[0]->record->index->blob.data[3] ^= 1; }
static void flip_key_id(WaServerSync__SyncdPatch *p) { p->mutations[0]->record->keyid->id.data[5] ^= 1; }
static void flip_op(WaServerSync__SyncdPatch *p)
{
	p->mutations[0]->has_operation = 1;
	p->mutations[0]->operation = WA_SERVER_SYNC__SYNCD_MUTATION__SYNCD_OPERATION__REMOVE;
}
static void bad_op(WaServerSync__SyncdPatch *p)
{
	p->mutations[0]->has_operation = 1;
	p->mutations[0]->operation = 7;
}
static void short_value(WaServerSync__SyncdPatch *p) { p->mutations[0]->record->value->blob.len -= 1; }
static void no_patch_mac(WaServerSync__SyncdPatch *p) { p->has_patchmac = 0; }

static void test_round_trip(json_t *v)
{
	struct wa_appstate_state *s = wa_appstate_state_new(vec_str(v, "collection"));
	struct wa_appstate_result res;
	const char *index = vec_str(v, "index_json");
	uint8_t *bytes = NULL, *b2 = NULL, nh[128], vm1[32], zero_id[6] = { 0 };
	uint8_t *rvb, *imac, *smac, *pmac, *lth;
	size_t len = 0, l2 = 0, rvbl;
	WaServerSync__SyncdPatch *p;
	int rc;

	rvb = vec_hex(v, "record_value_blob(value||valueMAC)", &rvbl);
	imac = vec_hex(v, "index_mac", NULL);
	smac = vec_hex(v, "snapshot_mac", NULL);
	pmac = vec_hex(v, "patch_mac", NULL);
	lth = vec_hex(v, "lthash_after_one_set(from zero)", NULL);

	/* IV 00..0f and the vector mutation: the whole patch is the vector. */
	ok(build1(s, WA_APPSTATE_SET, index, 1, 0, &bytes, &len, nh) == WA_APPSTATE_OK, "build patch");
	p = wa_server_sync__syncd_patch__unpack(NULL, len, bytes);
	ok(p && p->n_mutations == 1 && p->mutations[0]->record->value->blob.len == rvbl &&
	   memcmp(p->mutations[0]->record->value->blob.data, rvb, rvbl) == 0, "built record value = vector");
	ok(p && memcmp(p->mutations[0]->record->index->blob.data, imac, 32) == 0, "built index blob = vector");
	ok(p && p->has_snapshotmac && memcmp(p->snapshotmac.data, smac, 32) == 0, "built snapshotMAC = vector");
	ok(p && p->has_patchmac && memcmp(p->patchmac.data, pmac, 32) == 0, "built patchMAC = vector");
	ok(p && p->keyid && p->keyid->id.len == 6 && !p->version, "keyID set, no version (as WM)");
	ok(memcmp(nh, lth, 128) == 0, "new hash reported = vector LT-hash");
	wa_server_sync__syncd_patch__free_unpacked(p, NULL);
	is_int(wa_appstate_state_version(s), 0, "building does not touch the state");

	/* Tampering: each check fires and the state stays at version 0. */
	is_int(apply_bytes(s, bytes, len, 0, flip_patch_mac, &res), WA_APPSTATE_ERR_PATCH_MAC, "patch MAC checked");
	is_int(apply_bytes(s, bytes, len, 0, flip_snapshot_mac, &res), WA_APPSTATE_ERR_SNAPSHOT_MAC,
	       "snapshot MAC (LT-hash) checked");
	is_int(apply_bytes(s, bytes, len, 0, flip_value, &res), WA_APPSTATE_ERR_VALUE_MAC, "value tamper -> value MAC");
	is_int(res.failed_index, 0, "failing mutation position reported");
	is_int(apply_bytes(s, bytes, len, 0, flip_value_mac, &res), WA_APPSTATE_ERR_VALUE_MAC, "value MAC checked");
	is_int(apply_bytes(s, bytes, len, 0, flip_index, &res), WA_APPSTATE_ERR_INDEX_MAC, "index MAC checked");
	is_int(apply_bytes(s, bytes, len, 0, flip_op, &res), WA_APPSTATE_ERR_VALUE_MAC, "operation is MACed");
	is_int(apply_bytes(s, bytes, len, 0, bad_op, &res), WA_APPSTATE_ERR_MALFORMED, "unknown operation");
	is_int(apply_bytes(s, bytes, len, 0, short_value, &res), WA_APPSTATE_ERR_MALFORMED, "odd value length");
	is_int(apply_bytes(s, bytes, len, 0, no_patch_mac, &res), WA_APPSTATE_ERR_MALFORMED, "missing patch MAC");
	is_int(apply_bytes(s, bytes, len, 0, flip_key_id, &res), WA_APPSTATE_ERR_NO_KEY, "unknown key id");
	ok(res.missing_key_id_len == 6 && memcmp(res.missing_key_id, g_key_id, 5) == 0 &&
	   res.missing_key_id[5] == (g_key_id[5] ^ 1), "missing key id reported");
	ok(res.n == 0 && res.mutations == NULL, "no mutations returned on failure");
	is_int(apply_bytes(s, bytes, len, 2, NULL, &res), WA_APPSTATE_ERR_SNAPSHOT_MAC, "version is MACed");
	ok(wa_appstate_state_version(s) == 0 && wa_appstate_state_count(s) == 0 &&
	   memcmp(wa_appstate_state_hash(s), zero_hash, 128) == 0, "state untouched after all failures");

	/* The real thing (server assigns version 1). */
	rc = apply_bytes(s, bytes, len, 1, NULL, &res);
	is_int(rc, WA_APPSTATE_OK, "apply built patch");
	ok(res.n == 1 && res.mutations[0].op == WA_APPSTATE_SET && strcmp(res.mutations[0].index_json, index) == 0 &&
	   res.mutations[0].data && res.mutations[0].data->value && res.mutations[0].data->value->muteaction &&
	   res.mutations[0].data->value->muteaction->muted && res.mutations[0].data->version == 2 &&
	   res.mutations[0].patch_version == 1, "decoded mutation: mute, version 2");
	ok(wa_appstate_state_version(s) == 1 && wa_appstate_state_count(s) == 1 &&
	   memcmp(wa_appstate_state_hash(s), lth, 128) == 0, "state: version 1, one entry, vector LT-hash");
	ok(wa_appstate_state_get(s, imac, vm1) == 0 && memcmp(vm1, rvb + rvbl - 32, 32) == 0,
	   "state maps indexMAC -> valueMAC");
	wa_appstate_result_free(&res);
	is_int(apply_bytes(s, bytes, len, 1, NULL, &res), WA_APPSTATE_ERR_VERSION, "replay of version 1 refused");

	/* Overwrite (unmute) without version: taken as 2. */
	ok(build1(s, WA_APPSTATE_SET, index, 0, 0x30, &b2, &l2, nh) == 0, "build overwrite patch");
	is_int(apply_bytes(s, b2, l2, 0, NULL, &res), WA_APPSTATE_OK, "apply overwrite (no version -> +1)");
	ok(wa_appstate_state_version(s) == 2 && wa_appstate_state_count(s) == 1 &&
	   memcmp(wa_appstate_state_hash(s), nh, 128) == 0, "overwrite replaced the old value in the LT-hash");
	ok(res.n == 1 && !res.mutations[0].data->value->muteaction->muted, "decoded unmute");
	{
		uint8_t h[128] = { 0 };

		wa_lthash_add(h, res.mutations[0].value_mac, 32);
		ok(memcmp(wa_appstate_state_hash(s), h, 128) == 0, "hash = only the new value");
	}
	wa_appstate_result_free(&res);
	free(b2);

	/* REMOVE brings the collection back to empty / zero hash. */
	ok(build1(s, WA_APPSTATE_REMOVE, index, 0, 0x50, &b2, &l2, nh) == 0, "build remove patch");
	is_int(apply_bytes(s, b2, l2, 3, NULL, &res), WA_APPSTATE_OK, "apply remove");
	ok(wa_appstate_state_count(s) == 0 && memcmp(wa_appstate_state_hash(s), zero_hash, 128) == 0 &&
	   res.missing_removes == 0 && res.mutations[0].op == WA_APPSTATE_REMOVE, "removed: empty, zero hash");
	wa_appstate_result_free(&res);
	free(b2);
	/* The same REMOVE again: unknown index now, tolerated. */
	ok(build1(s, WA_APPSTATE_REMOVE, index, 0, 0x50, &b2, &l2, nh) == 0, "build second remove");
	is_int(apply_bytes(s, b2, l2, 4, NULL, &res), WA_APPSTATE_OK, "remove of unknown index tolerated");
	is_int(res.missing_removes, 1, "and counted");
	wa_appstate_result_free(&res);
	free(b2);
	(void)zero_id;

	/* A patch whose mutations live in an external blob. */
	{
		WaServerSync__SyncdPatch *pp = wa_server_sync__syncd_patch__unpack(NULL, len, bytes);
		WaServerSync__ExternalBlobReference ext = WA_SERVER_SYNC__EXTERNAL_BLOB_REFERENCE__INIT;
		WaServerSync__SyncdMutations muts = WA_SERVER_SYNC__SYNCD_MUTATIONS__INIT;
		WaServerSync__SyncdMutation **saved = pp->mutations;
		size_t ns = pp->n_mutations;
		struct wa_appstate_state *s2 = wa_appstate_state_new(vec_str(v, "collection"));

		pp->externalmutations = &ext;
		pp->mutations = NULL;
		pp->n_mutations = 0;
		is_int(wa_appstate_apply_patch(s2, pp, NULL, get_key, NULL, &res), WA_APPSTATE_ERR_EXTERNAL,
		       "external mutations required");
		muts.mutations = saved;
		muts.n_mutations = ns;
		is_int(wa_appstate_apply_patch(s2, pp, &muts, get_key, NULL, &res), WA_APPSTATE_OK,
		       "external mutations applied");
		ok(memcmp(wa_appstate_state_hash(s2), lth, 128) == 0, "same hash as inline");
		wa_appstate_result_free(&res);
		pp->mutations = saved;
		pp->n_mutations = ns;
		pp->externalmutations = NULL;
		wa_server_sync__syncd_patch__free_unpacked(pp, NULL);
		wa_appstate_state_free(s2);
	}
	free(bytes);
	free(rvb); free(imac); free(smac); free(pmac); free(lth);
	wa_appstate_state_free(s);
}

/* foreach callback: 1 if an entry of one state is missing from another. */
static int in_other(void *ud, const uint8_t i[32], const uint8_t v[32])
{
	uint8_t got[32];

	return wa_appstate_state_get(ud, i, got) != 0 || memcmp(got, v, 32) != 0;
}

/* Several mutations in one patch, including the same index twice, then a
 * snapshot of the resulting records. */
static void test_multi_and_snapshot(void)
{
	struct wa_appstate_state *s = wa_appstate_state_new("regular_low");
	struct wa_appstate_state *s2 = wa_appstate_state_new("regular_low");
	WaSyncAction__PinAction pin = WA_SYNC_ACTION__PIN_ACTION__INIT;
	WaSyncAction__SyncActionValue value = WA_SYNC_ACTION__SYNC_ACTION_VALUE__INIT;
	struct wa_appstate_out_mutation m[4];
	struct wa_appstate_result res;
	uint8_t *bytes = NULL, nh[128];
	size_t len = 0;
	const char *idx[3] = { "[\"pin_v1\",\"1@s.whatsapp.net\"]", "[\"pin_v1\",\"2@s.whatsapp.net\"]",
			       "[\"pin_v1\",\"3@s.whatsapp.net\"]" };
	WaServerSync__SyncdPatch *p;
	int rc;

	pin.has_pinned = 1;
	pin.pinned = 1;
	value.has_timestamp = 1;
	value.timestamp = 1;
	value.pinaction = &pin;
	for (int i = 0; i < 4; i++) {
		m[i].op = WA_APPSTATE_SET;
		m[i].index_json = idx[i % 3];
		m[i].value = &value;
		m[i].version = 5;
		m[i].iv = NULL;   /* random */
	}
	/* m[3] overwrites idx[0] inside the same patch */
	rc = wa_appstate_build_patch(s, g_key_id, 6, g_key_data, m, 4, &bytes, &len, nh);
	is_int(rc, WA_APPSTATE_OK, "build 4-mutation patch (index repeated)");
	is_int(apply_bytes(s, bytes, len, 0, NULL, &res), WA_APPSTATE_OK, "apply it (version 1)");
	ok(wa_appstate_state_count(s) == 3 && memcmp(wa_appstate_state_hash(s), nh, 128) == 0 &&
	   wa_appstate_state_version(s) == 1, "3 entries; in-patch overwrite handled in the LT-hash");
	wa_appstate_result_free(&res);

	/* Snapshot from the same records (last value per index). */
	p = wa_server_sync__syncd_patch__unpack(NULL, len, bytes);
	{
		WaServerSync__SyncdSnapshot snap = WA_SERVER_SYNC__SYNCD_SNAPSHOT__INIT;
		WaServerSync__SyncdVersion ver = WA_SERVER_SYNC__SYNCD_VERSION__INIT;
		WaServerSync__SyncdRecord *recs[3] = { p->mutations[3]->record, p->mutations[1]->record,
						       p->mutations[2]->record };
		struct wa_appstate_keys k;
		uint8_t mac[32];

		wa_appstate_expand_keys(g_key_data, 32, &k);
		wa_appstate_snapshot_mac(&k, nh, 7, "regular_low", mac);
		ver.has_version = 1;
		ver.version = 7;   /* a snapshot may be at any version */
		snap.version = &ver;
		snap.n_records = 3;
		snap.records = recs;
		snap.has_mac = 1;
		snap.mac.data = mac;
		snap.mac.len = 32;
		snap.keyid = p->keyid;
		is_int(wa_appstate_apply_snapshot(s2, &snap, get_key, NULL, &res), WA_APPSTATE_OK, "apply snapshot");
		ok(res.n == 3 && res.mutations[0].op == WA_APPSTATE_SET && res.mutations[0].patch_version == 7,
		   "snapshot records decoded");
		ok(wa_appstate_state_count(s2) == 3 && wa_appstate_state_version(s2) == 7 &&
		   memcmp(wa_appstate_state_hash(s2), wa_appstate_state_hash(s), 128) == 0 &&
		   wa_appstate_state_foreach(s, in_other, s2) == 0,
		   "snapshot state equals the patched state");
		wa_appstate_result_free(&res);
		mac[0] ^= 1;
		is_int(wa_appstate_apply_snapshot(s2, &snap, get_key, NULL, &res), WA_APPSTATE_ERR_SNAPSHOT_MAC,
		       "snapshot MAC checked");
		ok(wa_appstate_state_count(s2) == 3 && wa_appstate_state_version(s2) == 7, "state kept on failure");
		mac[0] ^= 1;
		snap.version = NULL;
		is_int(wa_appstate_apply_snapshot(s2, &snap, get_key, NULL, &res), WA_APPSTATE_ERR_MALFORMED,
		       "snapshot without version");
	}
	wa_server_sync__syncd_patch__free_unpacked(p, NULL);
	free(bytes);
	wa_appstate_state_free(s);
	wa_appstate_state_free(s2);
}

static int count_cb(void *ud, const uint8_t i[32], const uint8_t v[32])
{
	(void)i;
	(void)v;
	(*(size_t *)ud)++;
	return 0;
}

static void test_table(void)
{
	struct wa_appstate_state *s = wa_appstate_state_new("regular");
	uint8_t idx[32], val[32], got[32];
	const int N = 5000;
	int all = 1;
	size_t cnt = 0;

	for (int i = 0; i < N; i++) {
		wa_sha256(&i, sizeof i, idx);
		memset(val, i & 0xff, 32);
		val[0] = (uint8_t)(i >> 8);
		if (wa_appstate_state_put(s, idx, val) != 0)
			all = 0;
	}
	ok(all && wa_appstate_state_count(s) == (size_t)N, "5000 puts (deletion is covered by test_churn)");
	for (int i = 0; i < N; i++) {
		wa_sha256(&i, sizeof i, idx);
		if (wa_appstate_state_get(s, idx, got) != 0 || got[0] != (uint8_t)(i >> 8) || got[1] != (i & 0xff))
			all = 0;
	}
	ok(all, "every entry found with its value");
	wa_appstate_state_foreach(s, count_cb, &cnt);
	is_int(cnt, N, "foreach visits every entry");
	memset(idx, 0xee, 32);
	ok(wa_appstate_state_get(s, idx, got) == -1, "absent index not found");
	wa_appstate_state_reset(s);
	ok(wa_appstate_state_count(s) == 0 && wa_appstate_state_get(s, idx, got) == -1, "reset empties");
	wa_appstate_state_free(s);
	wa_appstate_state_free(NULL);
	ok(wa_appstate_state_new("0123456789012345678901234567890123456789012345678901234567890123456789") == NULL,
	   "over-long collection name refused");
}

/* Removal churn through real patches: many SETs, then REMOVE half, so the
 * table's backward-shift deletion is exercised against lookups. */
static void test_churn(void)
{
	enum { N = 300 };
	struct wa_appstate_state *s = wa_appstate_state_new("regular");
	WaSyncAction__StarAction star = WA_SYNC_ACTION__STAR_ACTION__INIT;
	WaSyncAction__SyncActionValue value = WA_SYNC_ACTION__SYNC_ACTION_VALUE__INIT;
	static struct wa_appstate_out_mutation m[N];
	static char idx[N][64];
	struct wa_appstate_result res;
	struct wa_appstate_keys k;
	uint8_t *bytes = NULL, nh[128], imac[32];
	size_t len = 0;
	int all = 1;

	star.has_starred = 1;
	star.starred = 1;
	value.staraction = &star;
	for (int i = 0; i < N; i++) {
		snprintf(idx[i], sizeof idx[i], "[\"star\",\"%d@s.whatsapp.net\",\"ID%d\",\"1\",\"0\"]", i, i);
		m[i].op = WA_APPSTATE_SET;
		m[i].index_json = idx[i];
		m[i].value = &value;
		m[i].version = 2;
		m[i].iv = NULL;
	}
	ok(wa_appstate_build_patch(s, g_key_id, 6, g_key_data, m, N, &bytes, &len, nh) == 0 &&
	   apply_bytes(s, bytes, len, 1, NULL, &res) == 0 && wa_appstate_state_count(s) == N,
	   "300 SETs applied");
	wa_appstate_result_free(&res);
	free(bytes);
	for (int i = 0; i < N; i++)
		m[i].op = (i % 3) ? WA_APPSTATE_REMOVE : WA_APPSTATE_SET;
	ok(wa_appstate_build_patch(s, g_key_id, 6, g_key_data, m, N, &bytes, &len, nh) == 0 &&
	   apply_bytes(s, bytes, len, 2, NULL, &res) == 0, "mixed REMOVE/SET patch applied");
	ok(wa_appstate_state_count(s) == N / 3 && memcmp(wa_appstate_state_hash(s), nh, 128) == 0,
	   "a third left, LT-hash matches the builder's");
	wa_appstate_result_free(&res);
	free(bytes);
	wa_appstate_expand_keys(g_key_data, 32, &k);
	for (int i = 0; i < N; i++) {
		int present;

		wa_appstate_index_mac(&k, idx[i], strlen(idx[i]), imac);
		present = wa_appstate_state_get(s, imac, NULL) == 0;
		if (present != (i % 3 == 0))
			all = 0;
	}
	ok(all, "exactly the SET indexes are present after deletions");
	wa_appstate_state_free(s);
}

/* A large patch with every index repeated (SET, SET, REMOVE, SET): the
 * in-patch predecessor logic at scale, against the builder's hash. */
static void test_big_patch(void)
{
	enum { DISTINCT = 3000, N = 4 * DISTINCT };
	static struct wa_appstate_out_mutation m[N];
	static char idx[DISTINCT][48];
	struct wa_appstate_state *s = wa_appstate_state_new("regular");
	WaSyncAction__PinAction pin = WA_SYNC_ACTION__PIN_ACTION__INIT;
	WaSyncAction__SyncActionValue value = WA_SYNC_ACTION__SYNC_ACTION_VALUE__INIT;
	struct wa_appstate_result res;
	uint8_t *bytes = NULL, nh[128];
	size_t len = 0;
	static const enum wa_appstate_op ops[4] = { WA_APPSTATE_SET, WA_APPSTATE_SET, WA_APPSTATE_REMOVE,
						    WA_APPSTATE_SET };

	value.pinaction = &pin;
	for (int i = 0; i < DISTINCT; i++)
		snprintf(idx[i], sizeof idx[i], "[\"pin_v1\",\"%d@s.whatsapp.net\"]", i);
	for (int r = 0; r < 4; r++)
		for (int i = 0; i < DISTINCT; i++) {
			struct wa_appstate_out_mutation *x = &m[r * DISTINCT + i];

			x->op = ops[r];
			x->index_json = idx[i];
			x->value = &value;
			x->version = 5;
			x->iv = NULL;
		}
	ok(wa_appstate_build_patch(s, g_key_id, 6, g_key_data, m, N, &bytes, &len, nh) == 0, "build 12000 mutations");
	is_int(apply_bytes(s, bytes, len, 0, NULL, &res), WA_APPSTATE_OK, "apply 12000 mutations");
	ok(wa_appstate_state_count(s) == DISTINCT && memcmp(wa_appstate_state_hash(s), nh, 128) == 0 &&
	   res.n == N && res.missing_removes == 0, "3000 live entries, hash = builder's, no missing removes");
	{
		uint8_t h[128] = { 0 };

		for (int i = 0; i < DISTINCT; i++)
			wa_lthash_add(h, res.mutations[3 * DISTINCT + i].value_mac, 32);
		ok(memcmp(h, wa_appstate_state_hash(s), 128) == 0, "hash = sum of the last SETs only");
	}
	wa_appstate_result_free(&res);
	free(bytes);
	wa_appstate_state_free(s);
}

static void test_index_json(json_t *v)
{
	const char *parts[] = { "mute", "15551234567@s.whatsapp.net" };
	char *out = NULL, **pp = NULL;
	size_t n = 0, ol = 0;

	ok(wa_appstate_index_build(parts, 2, &out, &ol) == 0 && strcmp(out, vec_str(v, "index_json")) == 0 &&
	   ol == strlen(out), "index JSON build = vector");
	ok(wa_appstate_index_parse(out, ol, &pp, &n) == 0 && n == 2 && strcmp(pp[0], "mute") == 0 &&
	   strcmp(pp[1], parts[1]) == 0, "index JSON parse");
	wa_appstate_index_free(pp, n);
	free(out);
	{
		const char *odd[] = { "a\"b\\c\n\x01", "é" };

		ok(wa_appstate_index_build(odd, 2, &out, &ol) == 0 &&
		   strcmp(out, "[\"a\\\"b\\\\c\\n\\u0001\",\"é\"]") == 0, "escapes");
		ok(wa_appstate_index_parse(out, ol, &pp, &n) == 0 && n == 2 && strcmp(pp[0], odd[0]) == 0 &&
		   strcmp(pp[1], odd[1]) == 0, "escapes round-trip");
		wa_appstate_index_free(pp, n);
		free(out);
	}
	{
		const char *j = " [ \"\\u00e9\\ud83d\\ude00\\/\" , \"x\" ] ";

		ok(wa_appstate_index_parse(j, strlen(j), &pp, &n) == 0 && n == 2 &&
		   strcmp(pp[0], "\xc3\xa9\xf0\x9f\x98\x80/") == 0, "unicode escapes and surrogate pair");
		wa_appstate_index_free(pp, n);
	}
	{
		static const char *bad[] = { "", "[", "[\"a\"", "[\"a\",]", "[\"a\" \"b\"]", "{}", "[1]",
					     "[\"\\ud83d\"]", "[\"\\ude00\"]", "[\"\\u0000\"]", "[\"a\"] x",
					     "[\"\\x\"]", "[\"a\nb\"]", "[\"\\u12\"]" };
		int all = 1;

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			if (wa_appstate_index_parse(bad[i], strlen(bad[i]), &pp, &n) == 0) {
				printf("# accepted: %s\n", bad[i]);
				wa_appstate_index_free(pp, n);
				all = 0;
			}
		}
		ok(all, "malformed index JSON rejected");
		ok(wa_appstate_index_parse("[]", 2, &pp, &n) == 0 && n == 0, "empty array");
		wa_appstate_index_free(pp, n);
	}
}

static void test_poll_vote(json_t *v)
{
	uint8_t *secret, *key, *oh, *vp, *iv, *enc, got[32], buf[256], dec[256], hashes[4][32];
	size_t sl, vpl, encl, n = 0;
	const char *id = vec_str(v, "poll_msg_id"), *creator = vec_str(v, "poll_creator"), *voter = vec_str(v, "voter");
	char stripped[128];

	secret = vec_hex(v, "message_secret", &sl);
	key = vec_hex(v, "key", NULL);
	oh = vec_hex(v, "option_hash_sha256('Yes')", NULL);
	vp = vec_hex(v, "vote_plaintext(PollVoteMessage)", &vpl);
	iv = vec_hex(v, "iv", NULL);
	enc = vec_hex(v, "enc_payload", &encl);

	ok(wa_msgsecret_derive(secret, sl, id, creator, voter, WA_SECRET_POLL_VOTE, got) == 0 &&
	   memcmp(got, key, 32) == 0, "poll vote key (HKDF over id||creator||voter||'Poll Vote')");
	wa_msgsecret_derive(secret, sl, id, creator, voter, WA_SECRET_EVENT_RESPONSE, got);
	ok(memcmp(got, key, 32) != 0, "use case changes the key");
	wa_poll_option_hash("Yes", got);
	ok(memcmp(got, oh, 32) == 0, "option hash = SHA-256('Yes')");
	ok(wa_poll_vote_encode((const uint8_t (*)[32])oh, 1, buf, sizeof buf, &n) == 0 && n == vpl &&
	   memcmp(buf, vp, vpl) == 0, "PollVoteMessage encoding");
	ok(wa_poll_vote_encrypt(key, iv, id, voter, vp, vpl, buf) == 0 && memcmp(buf, enc, encl) == 0 &&
	   encl == vpl + 16, "vote encPayload (AES-GCM, AAD id||0||voter)");
	ok(wa_poll_vote_decrypt(key, iv, id, voter, enc, encl, dec) == 0 && memcmp(dec, vp, vpl) == 0,
	   "vote decrypts");
	ok(wa_poll_vote_decode(dec, vpl, hashes, 4, &n) == 0 && n == 1 && memcmp(hashes[0], oh, 32) == 0,
	   "vote decodes to the option hash");
	enc[3] ^= 1;
	ok(wa_poll_vote_decrypt(key, iv, id, voter, enc, encl, dec) == -1, "tampered vote rejected");
	enc[3] ^= 1;
	ok(wa_poll_vote_decrypt(key, iv, id, creator, enc, encl, dec) == -1, "wrong voter (AAD) rejected");
	{
		static const uint8_t junk1[] = { 0x0a, 0x05, 1, 2, 3, 4, 5 };      /* wrong length */
		static const uint8_t junk2[] = { 0x0a, 0x20, 1, 2 };               /* truncated */
		static const uint8_t skip[] = { 0x10, 0x01, 0x1a, 0x01, 0x00 };    /* unknown fields */

		ok(wa_poll_vote_decode(junk1, sizeof junk1, hashes, 4, &n) == -1, "non-32-byte option rejected");
		ok(wa_poll_vote_decode(junk2, sizeof junk2, hashes, 4, &n) == -1, "truncated vote rejected");
		ok(wa_poll_vote_decode(skip, sizeof skip, hashes, 4, &n) == 0 && n == 0, "unknown fields skipped");
	}
	ok(wa_msgsecret_strip_device("15551234567:12@s.whatsapp.net", stripped, sizeof stripped) == 0 &&
	   strcmp(stripped, "15551234567@s.whatsapp.net") == 0, "strip device part");
	ok(wa_msgsecret_strip_device("123@lid", stripped, sizeof stripped) == 0 && strcmp(stripped, "123@lid") == 0,
	   "no device part: unchanged");
	ok(wa_msgsecret_strip_device("15551234567.0:2@s.whatsapp.net", stripped, sizeof stripped) == 0 &&
	   strcmp(stripped, "15551234567@s.whatsapp.net") == 0, "AD string: agent and device dropped");
	ok(wa_msgsecret_strip_device("a.b:1@x", stripped, sizeof stripped) == 0 && strcmp(stripped, "a.b@x") == 0,
	   "non-numeric agent kept");
	ok(wa_msgsecret_strip_device("123@lid", stripped, 4) == -1, "too small buffer");
	free(secret); free(key); free(oh); free(vp); free(iv); free(enc);
}

/* Build one action into a patch for its collection, apply it, return the
 * decoded mutation's data (caller frees the result). */
static int action_round_trip(struct wa_sync_action *a, struct wa_appstate_result *res)
{
	struct wa_appstate_state *s = wa_appstate_state_new(a->collection);
	struct wa_appstate_out_mutation m;
	uint8_t *b = NULL;
	size_t len = 0;
	int rc;

	wa_sync_action_out(a, &m);
	rc = wa_appstate_build_patch(s, g_key_id, 6, g_key_data, &m, 1, &b, &len, NULL);
	if (rc == 0)
		rc = apply_bytes(s, b, len, 0, NULL, res);
	free(b);
	wa_appstate_state_free(s);
	return rc;
}

static void test_sync_actions(json_t *v)
{
	struct wa_sync_action a;
	struct wa_appstate_result res;
	struct wa_sync_last_msg last = { 1700000000, "123@g.us", "3EB0FF", 0, "15551234567@s.whatsapp.net" };
	uint8_t *plain, buf[512];
	size_t pl, bl;
	WaSyncAction__SyncActionData data = WA_SYNC_ACTION__SYNC_ACTION_DATA__INIT;

	/* mute = the vector mutation exactly */
	plain = vec_hex(v, "sync_action_data_plaintext", &pl);
	ok(wa_sync_action_mute(&a, "15551234567@s.whatsapp.net", 1, 1700003600000LL, 1700000000000LL) == 0 &&
	   strcmp(a.collection, "regular_high") == 0 && a.version == 2 &&
	   strcmp(a.index_json, vec_str(v, "index_json")) == 0, "mute: collection, version, index");
	data.has_index = 1;
	data.index.data = (uint8_t *)a.index_json;
	data.index.len = strlen(a.index_json);
	data.value = &a.value;
	data.has_padding = 1;
	data.has_version = 1;
	data.version = a.version;
	bl = wa_sync_action__sync_action_data__pack(&data, buf);
	ok(bl == pl && memcmp(buf, plain, pl) == 0, "mute action packs to the vector SyncActionData");
	free(plain);
	wa_sync_action_free(&a);
	ok(wa_sync_action_mute(&a, "1@s.whatsapp.net", 1, 0, 5) == 0 && a.mute.muteendtimestamp == -1,
	   "mute forever = -1");
	wa_sync_action_free(&a);

	ok(wa_sync_action_pin(&a, "1@s.whatsapp.net", 1, 5) == 0 && strcmp(a.collection, "regular_low") == 0 &&
	   a.version == 5 && strcmp(a.index_json, "[\"pin_v1\",\"1@s.whatsapp.net\"]") == 0 &&
	   action_round_trip(&a, &res) == 0 && res.mutations[0].data->value->pinaction->pinned, "pin");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_archive(&a, "123@g.us", 1, &last, 5) == 0 && a.version == 3 &&
	   strcmp(a.index_json, "[\"archive\",\"123@g.us\"]") == 0 && action_round_trip(&a, &res) == 0,
	   "archive");
	ok(res.n == 1 && res.mutations[0].data->value->archivechataction->archived &&
	   res.mutations[0].data->value->archivechataction->messagerange->lastmessagetimestamp == 1700000000 &&
	   res.mutations[0].data->value->archivechataction->messagerange->n_messages == 1 &&
	   strcmp(res.mutations[0].data->value->archivechataction->messagerange->messages[0]->key->participant,
		  "15551234567@s.whatsapp.net") == 0, "archive message range with the last message key");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_mark_read(&a, "1@s.whatsapp.net", 0, NULL, 5) == 0 &&
	   strcmp(a.index_json, "[\"markChatAsRead\",\"1@s.whatsapp.net\"]") == 0 &&
	   action_round_trip(&a, &res) == 0 && !res.mutations[0].data->value->markchatasreadaction->read,
	   "mark unread");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_star(&a, "1@s.whatsapp.net", "ABC", 1, NULL, 1, 5) == 0 &&
	   strcmp(a.collection, "regular_high") == 0 &&
	   strcmp(a.index_json, "[\"star\",\"1@s.whatsapp.net\",\"ABC\",\"1\",\"0\"]") == 0 &&
	   action_round_trip(&a, &res) == 0 && res.mutations[0].data->value->staraction->starred, "star");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_delete_for_me(&a, "123@g.us", "ABC", 0, "2@s.whatsapp.net", 1, 1700000000, 5) == 0 &&
	   a.version == 3 &&
	   strcmp(a.index_json,
		  "[\"deleteMessageForMe\",\"123@g.us\",\"ABC\",\"0\",\"2@s.whatsapp.net\"]") == 0 &&
	   action_round_trip(&a, &res) == 0 &&
	   res.mutations[0].data->value->deletemessageformeaction->messagetimestamp == 1700000000, "delete for me");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_clear_chat(&a, "1@s.whatsapp.net", 1, &last, 5) == 0 && a.version == 6 &&
	   strcmp(a.index_json, "[\"clearChat\",\"1@s.whatsapp.net\",\"1\",\"0\"]") == 0 &&
	   action_round_trip(&a, &res) == 0 && res.mutations[0].data->value->clearchataction, "clear chat");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_delete_chat(&a, "1@s.whatsapp.net", 1, NULL, 5) == 0 &&
	   strcmp(a.index_json, "[\"deleteChat\",\"1@s.whatsapp.net\",\"1\"]") == 0 &&
	   action_round_trip(&a, &res) == 0 && res.mutations[0].data->value->deletechataction, "delete chat");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_contact(&a, "1@s.whatsapp.net", "Ada Lovelace", "Ada", 5) == 0 &&
	   strcmp(a.collection, "critical_unblock_low") == 0 && action_round_trip(&a, &res) == 0 &&
	   strcmp(res.mutations[0].data->value->contactaction->fullname, "Ada Lovelace") == 0, "contact");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_push_name(&a, "Gateway", 5) == 0 && strcmp(a.collection, "critical_block") == 0 &&
	   a.version == 1 && strcmp(a.index_json, "[\"setting_pushName\"]") == 0 &&
	   action_round_trip(&a, &res) == 0 &&
	   strcmp(res.mutations[0].data->value->pushnamesetting->name, "Gateway") == 0, "push name");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_label_edit(&a, "7", "Leads", 3, 0, 5) == 0 && strcmp(a.collection, "regular") == 0 &&
	   action_round_trip(&a, &res) == 0 && res.mutations[0].data->value->labeleditaction->color == 3,
	   "label edit");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_label_chat(&a, "7", "1@s.whatsapp.net", 1, 5) == 0 &&
	   strcmp(a.index_json, "[\"label_jid\",\"7\",\"1@s.whatsapp.net\"]") == 0 &&
	   action_round_trip(&a, &res) == 0, "label chat");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_label_message(&a, "7", "1@s.whatsapp.net", "ABC", 1, 5) == 0 &&
	   strcmp(a.index_json, "[\"label_message\",\"7\",\"1@s.whatsapp.net\",\"ABC\",\"0\",\"0\"]") == 0 &&
	   action_round_trip(&a, &res) == 0, "label message");
	wa_appstate_result_free(&res);
	wa_sync_action_free(&a);

	ok(wa_sync_action_pin(&a, NULL, 1, 5) == -1 && a.index_json == NULL, "NULL chat refused, struct empty");
	wa_sync_action_free(&a);
	wa_sync_action_free(NULL);
}

int main(void)
{
	json_t *as;
	uint8_t *b;

	vectors = vec_load();
	as = json_object_get(vectors, "app_state");
	b = vec_hex(as, "key_id", NULL);
	memcpy(g_key_id, b, 6);
	free(b);
	b = vec_hex(as, "key_data", NULL);
	memcpy(g_key_data, b, 32);
	free(b);

	test_primitives(as);
	test_round_trip(as);
	test_multi_and_snapshot();
	test_table();
	test_churn();
	test_big_patch();
	test_index_json(as);
	test_poll_vote(json_object_get(vectors, "poll_vote"));
	test_sync_actions(as);
	ok(strcmp(wa_appstate_strerror(WA_APPSTATE_ERR_PATCH_MAC), "app state patch MAC mismatch") == 0, "strerror");
	ok(strcmp(wa_appstate_collection(0), "critical_block") == 0 && wa_appstate_collection(5) == NULL &&
	   wa_appstate_collection_valid("regular_low") && !wa_appstate_collection_valid("regular_lo"),
	   "collection names");
	{
		/* the simulator stamps the version; the client applies it */
		struct wa_appstate_state *s = wa_appstate_state_new("regular");
		struct wa_sync_action a;
		struct wa_appstate_out_mutation m;
		struct wa_appstate_result res;
		WaServerSync__SyncdPatch *p = NULL;
		uint8_t *pb = NULL, *b2 = NULL;
		size_t l = 0, l2 = 0;

		wa_sync_action_label_chat(&a, "1", "1@s.whatsapp.net", 1, 5);
		wa_sync_action_out(&a, &m);
		wa_appstate_build_patch(s, g_key_id, 6, g_key_data, &m, 1, &pb, &l, NULL);
		ok(wa_appstate_patch_set_version(pb, l, 1, &b2, &l2) == 0 &&
		   (p = wa_server_sync__syncd_patch__unpack(NULL, l2, b2)) && p->version && p->version->version == 1,
		   "patch_set_version stamps the version");
		if (p)
			wa_server_sync__syncd_patch__free_unpacked(p, NULL);
		p = wa_server_sync__syncd_patch__unpack(NULL, l2, b2);
		ok(p && wa_appstate_apply_patch(s, p, NULL, get_key, NULL, &res) == 0 &&
		   wa_appstate_state_version(s) == 1, "stamped patch applies");
		wa_appstate_result_free(&res);
		wa_server_sync__syncd_patch__free_unpacked(p, NULL);
		free(pb);
		free(b2);
		ok(wa_appstate_patch_set_version((const uint8_t *)"\xff\xff", 2, 1, &b2, &l2) ==
		   WA_APPSTATE_ERR_MALFORMED && b2 == NULL, "garbage patch refused");
		wa_sync_action_free(&a);
		wa_appstate_state_free(s);
	}
	json_decref(vectors);
	return tap_done();
}
