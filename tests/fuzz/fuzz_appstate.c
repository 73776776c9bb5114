// fuzz-sources: common/wa_err.c wa/appstate.c wa/msgsecret.c wa/crypto.c proto/wa_server_sync.pb-c.c proto/wa_sync_action.pb-c.c common/wa_util.c
/* fuzz_appstate: hostile bytes into the app-state decoders and patch apply.
 *
 * Byte 0 selects the mode, the rest is the input:
 *   0  SyncdPatch bytes -> apply to a state holding one entry
 *   1  SyncdSnapshot bytes -> apply_snapshot
 *   2  SyncdMutations bytes -> apply as the external mutations of a patch
 *   3  SyncActionData bytes -> unpack, parse its index JSON
 *   4  index JSON text -> parse, rebuild, reparse (must round-trip)
 *   5  PollVoteMessage bytes -> decode
 *   6+ SyncActionData PLAINTEXT: wrapped into a correctly encrypted and
 *      MACed patch with the fixed key, so the whole verify/decode/commit
 *      path runs on hostile content (byte 0 bit 0 picks SET or REMOVE)
 * The key store knows one fixed key id. Properties (abort on violation):
 * a successful apply leaves version/hash consistent and a failed one leaves
 * the state untouched. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wa/appstate.h"
#include "wa/msgsecret.h"

static const uint8_t key_id[6] = { 0, 0, 0, 1, 0, 0 };
static const uint8_t key_data[32] = {
	0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73,
	0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83,
};

static int get_key(void *ud, const uint8_t *id, size_t len, uint8_t out[32])
{
	(void)ud;
	if (len != sizeof key_id || memcmp(id, key_id, len) != 0)
		return -1;
	memcpy(out, key_data, 32);
	return 0;
}

/* Apply and check the atomicity property; returns the status. */
static int apply_checked(struct wa_appstate_state *s, const WaServerSync__SyncdPatch *p,
			  const WaServerSync__SyncdMutations *ext)
{
	struct wa_appstate_result res;
	uint8_t before[WA_APPSTATE_HASH_LEN];
	uint64_t v = wa_appstate_state_version(s);
	size_t cnt = wa_appstate_state_count(s);
	int rc;

	memcpy(before, wa_appstate_state_hash(s), sizeof before);
	rc = wa_appstate_apply_patch(s, p, ext, get_key, NULL, &res);
	if (rc != WA_APPSTATE_OK) {
		if (res.n != 0 || res.mutations || wa_appstate_state_version(s) != v ||
		    wa_appstate_state_count(s) != cnt || memcmp(before, wa_appstate_state_hash(s), sizeof before))
			abort();
	} else {
		if (wa_appstate_state_version(s) <= v)
			abort();
		for (size_t i = 0; i < res.n; i++) {
			char **parts;
			size_t n;

			if (!res.mutations[i].data || !res.mutations[i].index_json)
				abort();
			if (wa_appstate_index_parse(res.mutations[i].index_json, res.mutations[i].index_len, &parts,
						    &n) == 0)
				wa_appstate_index_free(parts, n);
		}
	}
	wa_appstate_result_free(&res);
	return rc;
}

/* A state at version 1 with one entry, built and applied through the API. */
static struct wa_appstate_state *seeded_state(void)
{
	struct wa_appstate_state *s = wa_appstate_state_new("regular_high");
	WaSyncAction__SyncActionValue value = WA_SYNC_ACTION__SYNC_ACTION_VALUE__INIT;
	static const uint8_t iv[16];   /* fixed, so corpus patches can match the hash */
	struct wa_appstate_out_mutation m = { WA_APPSTATE_SET, "[\"mute\",\"1@s.whatsapp.net\"]", &value, 2, iv };
	struct wa_appstate_result res;
	WaServerSync__SyncdPatch *p;
	uint8_t *b = NULL;
	size_t len = 0;

	if (!s || wa_appstate_build_patch(s, key_id, 6, key_data, &m, 1, &b, &len, NULL) != 0)
		abort();
	p = wa_server_sync__syncd_patch__unpack(NULL, len, b);
	if (!p || wa_appstate_apply_patch(s, p, NULL, get_key, NULL, &res) != 0)
		abort();
	wa_appstate_result_free(&res);
	wa_server_sync__syncd_patch__free_unpacked(p, NULL);
	free(b);
	return s;
}

/* Mode 6+: wrap a hostile plaintext into a valid patch. */
static void wrapped(struct wa_appstate_state *s, enum wa_appstate_op op, const uint8_t *plain, size_t len)
{
	struct wa_appstate_keys k;
	WaSyncAction__SyncActionData *d;
	WaServerSync__SyncdPatch p = WA_SERVER_SYNC__SYNCD_PATCH__INIT;
	WaServerSync__SyncdMutation mut = WA_SERVER_SYNC__SYNCD_MUTATION__INIT, *mp = &mut;
	WaServerSync__SyncdRecord rec = WA_SERVER_SYNC__SYNCD_RECORD__INIT;
	WaServerSync__SyncdIndex idx = WA_SERVER_SYNC__SYNCD_INDEX__INIT;
	WaServerSync__SyncdValue val = WA_SERVER_SYNC__SYNCD_VALUE__INIT;
	WaServerSync__KeyId kid = WA_SERVER_SYNC__KEY_ID__INIT;
	uint8_t iv[16] = { 0 }, imac[32], smac[32], pmac[32], hash[WA_APPSTATE_HASH_LEN], prev[32];
	uint8_t *value = NULL, *blob;
	size_t vlen = 0;
	int has_index;

	if (wa_appstate_expand_keys(key_data, 32, &k) != 0 ||
	    wa_appstate_value_encrypt(&k, iv, plain, len, &value, &vlen) != 0)
		return;
	blob = malloc(vlen + 32);
	if (!blob)
		abort();
	memcpy(blob, value, vlen);
	free(value);
	wa_appstate_value_mac(&k, op, key_id, 6, blob, vlen, blob + vlen);
	d = wa_sync_action__sync_action_data__unpack(NULL, len, plain);
	has_index = d && d->has_index && d->index.len <= WA_APPSTATE_MAX_INDEX;
	if (d && d->has_index)
		wa_appstate_index_mac(&k, d->index.data, d->index.len, imac);
	else
		memset(imac, 0x5a, 32);
	wa_sync_action__sync_action_data__free_unpacked(d, NULL);
	memcpy(hash, wa_appstate_state_hash(s), sizeof hash);
	if (wa_appstate_state_get(s, imac, prev) == 0)
		wa_lthash_sub(hash, prev, 32);
	if (op == WA_APPSTATE_SET)
		wa_lthash_add(hash, blob + vlen, 32);
	wa_appstate_snapshot_mac(&k, hash, wa_appstate_state_version(s) + 1, wa_appstate_state_name(s), smac);
	wa_appstate_patch_mac(&k, smac, blob + vlen, 1, wa_appstate_state_version(s) + 1, wa_appstate_state_name(s),
			      pmac);
	idx.has_blob = 1;
	idx.blob.data = imac;
	idx.blob.len = 32;
	val.has_blob = 1;
	val.blob.data = blob;
	val.blob.len = vlen + 32;
	kid.has_id = 1;
	kid.id.data = (uint8_t *)key_id;
	kid.id.len = 6;
	rec.index = &idx;
	rec.value = &val;
	rec.keyid = &kid;
	mut.has_operation = 1;
	mut.operation = op == WA_APPSTATE_SET ? WA_SERVER_SYNC__SYNCD_MUTATION__SYNCD_OPERATION__SET :
		WA_SERVER_SYNC__SYNCD_MUTATION__SYNCD_OPERATION__REMOVE;
	mut.record = &rec;
	p.n_mutations = 1;
	p.mutations = &mp;
	p.has_snapshotmac = 1;
	p.snapshotmac.data = smac;
	p.snapshotmac.len = 32;
	p.has_patchmac = 1;
	p.patchmac.data = pmac;
	p.patchmac.len = 32;
	p.keyid = &kid;
	/* With an index in the plaintext every MAC is right: it must apply. */
	if (apply_checked(s, &p, NULL) != WA_APPSTATE_OK && has_index)
		abort();
	free(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wa_appstate_state *s;
	const uint8_t *in;
	size_t len;

	if (size < 1)
		return 0;
	in = data + 1;
	len = size - 1;
	s = seeded_state();
	switch (data[0]) {
	case 0: {
		WaServerSync__SyncdPatch *p = wa_server_sync__syncd_patch__unpack(NULL, len, in);

		if (p)
			apply_checked(s, p, NULL);
		wa_server_sync__syncd_patch__free_unpacked(p, NULL);
		break;
	}
	case 1: {
		WaServerSync__SyncdSnapshot *sn = wa_server_sync__syncd_snapshot__unpack(NULL, len, in);
		struct wa_appstate_result res;

		if (sn) {
			uint64_t v = wa_appstate_state_version(s);

			if (wa_appstate_apply_snapshot(s, sn, get_key, NULL, &res) != WA_APPSTATE_OK &&
			    (wa_appstate_state_version(s) != v || res.n))
				abort();
			wa_appstate_result_free(&res);
		}
		wa_server_sync__syncd_snapshot__free_unpacked(sn, NULL);
		break;
	}
	case 2: {
		WaServerSync__SyncdMutations *m = wa_server_sync__syncd_mutations__unpack(NULL, len, in);
		WaServerSync__SyncdPatch p = WA_SERVER_SYNC__SYNCD_PATCH__INIT;
		WaServerSync__ExternalBlobReference ext = WA_SERVER_SYNC__EXTERNAL_BLOB_REFERENCE__INIT;
		WaServerSync__KeyId kid = WA_SERVER_SYNC__KEY_ID__INIT;
		uint8_t macs[64] = { 0 };

		if (m) {
			kid.has_id = 1;
			kid.id.data = (uint8_t *)key_id;
			kid.id.len = 6;
			p.keyid = &kid;
			p.externalmutations = &ext;
			p.has_snapshotmac = p.has_patchmac = 1;
			p.snapshotmac.data = macs;
			p.snapshotmac.len = 32;
			p.patchmac.data = macs + 32;
			p.patchmac.len = 32;
			apply_checked(s, &p, m);
		}
		wa_server_sync__syncd_mutations__free_unpacked(m, NULL);
		break;
	}
	case 3: {
		WaSyncAction__SyncActionData *d = wa_sync_action__sync_action_data__unpack(NULL, len, in);

		if (d && d->has_index) {
			char **parts;
			size_t n;

			if (wa_appstate_index_parse((const char *)d->index.data, d->index.len, &parts, &n) == 0)
				wa_appstate_index_free(parts, n);
		}
		wa_sync_action__sync_action_data__free_unpacked(d, NULL);
		break;
	}
	case 4: {
		char **parts, **again, *json;
		size_t n, n2, jl;

		if (wa_appstate_index_parse((const char *)in, len, &parts, &n) == 0) {
			if (wa_appstate_index_build((const char *const *)parts, n, &json, &jl) == 0) {
				if (wa_appstate_index_parse(json, jl, &again, &n2) != 0 || n2 != n)
					abort();
				for (size_t i = 0; i < n; i++)
					if (strcmp(parts[i], again[i]) != 0)
						abort();
				wa_appstate_index_free(again, n2);
				free(json);
			}
			wa_appstate_index_free(parts, n);
		}
		break;
	}
	case 5: {
		uint8_t h[8][32];
		size_t n;

		(void)wa_poll_vote_decode(in, len, h, 8, &n);
		break;
	}
	default:
		wrapped(s, (data[0] & 1) ? WA_APPSTATE_REMOVE : WA_APPSTATE_SET, in, len);
		break;
	}
	wa_appstate_state_free(s);
	return 0;
}
