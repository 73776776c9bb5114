/* sim_appstate: app state ("syncd") on the server side (docs/protocol.md
 * 11.1-11.6) and the phone's part in it, plus the small history sync the
 * phone sends a new companion (11.7). Contract in sim_state.h.
 *
 * The server never decrypts: it stores each collection's patches in
 * version order, stamps the version (wa_appstate_patch_set_version) and
 * serves them back. The phone holds the one app-state key of the account,
 * shares it with its companions and keeps its own verified view of every
 * collection (wa_appstate_apply_patch: value MAC, index MAC, LT-hash
 * snapshot MAC, patch MAC), which the admin API shows. */
#include "sim_state.h"
#include "sim_msg.h"
#include "sim_media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "wa/appstate.h"
#include "wa/mediacrypto.h"
#include "wa/pbsafe.h"
#include "wa/syncaction.h"
#include "wa_e2e.pb-c.h"
#include "wa_history.pb-c.h"
#include "wa_log.h"
#include "wa_util.h"

#define NCOLL 5

static void coll_release(struct sim_as_coll *c)
{
	for (uint64_t i = 0; i < c->version; i++)
		free(c->patches[i].data);
	free(c->patches);
	for (size_t i = 0; i < c->nrecs; i++)
		free(c->recs[i].value);
	free(c->recs);
	wa_appstate_state_free(c->view);
	json_decref(c->entries);
	memset(c, 0, sizeof *c);
}

void sim_acstate_free(struct sim_acstate *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < NCOLL; i++)
		coll_release(&st->coll[i]);
	memset(st->key_data, 0, sizeof st->key_data);
	free(st->subs);
	free(st->picture);
	free(st->blocked);
	free(st);
}

struct sim_acstate *sim_acstate_get(struct sim_server *s, struct sim_account *a)
{
	struct sim_acstate *st;

	(void)s;
	if (a->state != NULL)
		return a->state;
	st = calloc(1, sizeof *st);
	if (st == NULL)
		return NULL;
	for (int i = 0; i < NCOLL; i++) {
		st->coll[i].view = wa_appstate_state_new(wa_appstate_collection((size_t)i));
		st->coll[i].entries = json_object();
		if (st->coll[i].view == NULL || st->coll[i].entries == NULL) {
			sim_acstate_free(st);
			return NULL;
		}
	}
	a->state = st;
	return st;
}

static int coll_index(const char *name)
{
	for (int i = 0; i < NCOLL; i++)
		if (name && strcmp(name, wa_appstate_collection((size_t)i)) == 0)
			return i;
	return -1;
}

/* The phone's key, made on first use: 6-byte id (two zero bytes, then
 * four random ones, the shape seen from phones), 32 random bytes. */
static int ensure_key(struct sim_server *s, struct sim_acstate *st)
{
	if (st->has_key)
		return 0;
	memset(st->key_id, 0, sizeof st->key_id);
	if (sim_random(s, st->key_id + 2, 4) != 0 || sim_random(s, st->key_data, 32) != 0)
		return -1;
	st->key_ts = (int64_t)sim_now(s) * 1000;
	st->has_key = 1;
	return 0;
}

static int get_key(void *ud, const uint8_t *key_id, size_t len, uint8_t key_data[32])
{
	struct sim_acstate *st = ud;

	if (!st->has_key || len != sizeof st->key_id || memcmp(key_id, st->key_id, len) != 0)
		return -1;
	memcpy(key_data, st->key_data, 32);
	return 0;
}

/* A short JSON summary of a SyncActionValue for the admin view. */
static json_t *value_json(const WaSyncAction__SyncActionValue *v)
{
	json_t *o = json_object();

	if (o == NULL || v == NULL)
		return o;
	if (v->has_timestamp)
		json_object_set_new(o, "timestamp", json_integer(v->timestamp));
	if (v->archivechataction)
		json_object_set_new(o, "archived", json_boolean(v->archivechataction->archived));
	if (v->muteaction) {
		json_object_set_new(o, "muted", json_boolean(v->muteaction->muted));
		json_object_set_new(o, "muteEndTimestamp", json_integer(v->muteaction->muteendtimestamp));
	}
	if (v->pinaction)
		json_object_set_new(o, "pinned", json_boolean(v->pinaction->pinned));
	if (v->markchatasreadaction)
		json_object_set_new(o, "read", json_boolean(v->markchatasreadaction->read));
	if (v->staraction)
		json_object_set_new(o, "starred", json_boolean(v->staraction->starred));
	if (v->pushnamesetting && v->pushnamesetting->name)
		json_object_set_new(o, "pushName", json_string(v->pushnamesetting->name));
	if (v->contactaction && v->contactaction->fullname)
		json_object_set_new(o, "fullName", json_string(v->contactaction->fullname));
	if (v->labeleditaction) {
		if (v->labeleditaction->name)
			json_object_set_new(o, "labelName", json_string(v->labeleditaction->name));
		json_object_set_new(o, "deleted", json_boolean(v->labeleditaction->deleted));
	}
	if (v->labelassociationaction)
		json_object_set_new(o, "labeled", json_boolean(v->labelassociationaction->labeled));
	return o;
}

/* Bring the phone's view of collection ci up to the server version. */
static void phone_catch_up(struct sim_acstate *st, int ci)
{
	struct sim_as_coll *c = &st->coll[ci];

	while (!c->view_broken && wa_appstate_state_version(c->view) < c->version) {
		uint64_t v = wa_appstate_state_version(c->view);
		struct sim_as_patch *p = &c->patches[v];
		WaServerSync__SyncdPatch *patch;
		struct wa_appstate_result res;
		int rc;

		patch = (WaServerSync__SyncdPatch *)wa_pb_unpack(&wa_server_sync__syncd_patch__descriptor, p->data,
								 p->len, WA_PB_MAX_DEPTH);
		if (patch == NULL) {
			c->view_broken = 1;
			break;
		}
		rc = wa_appstate_apply_patch(c->view, patch, NULL, get_key, st, &res);
		if (rc != WA_APPSTATE_OK) {
			wa_info("sim: phone cannot apply %s patch %llu: %s", wa_appstate_collection((size_t)ci),
				(unsigned long long)(v + 1), wa_appstate_strerror(rc));
			c->view_broken = 1;
		} else {
			for (size_t i = 0; i < res.n; i++) {
				const struct wa_appstate_mutation *m = &res.mutations[i];

				if (m->op == WA_APPSTATE_SET && m->data && m->data->value &&
				    m->data->value->pushnamesetting && m->data->value->pushnamesetting->name)
					snprintf(st->push_name, sizeof st->push_name, "%s",
						 m->data->value->pushnamesetting->name);
				if (m->op == WA_APPSTATE_SET)
					json_object_set_new(c->entries, m->index_json,
							    value_json(m->data ? m->data->value : NULL));
				else
					json_object_del(c->entries, m->index_json);
			}
		}
		wa_appstate_result_free(&res);
		wa_server_sync__syncd_patch__free_unpacked(patch, NULL);
	}
}

/* <notification from="s.whatsapp.net" type="server_sync"><collection name version/></notification>
 * to every companion of a except skip (11.4). */
static void notify_sync(struct sim_server *s, struct sim_account *a, int ci, uint16_t skip)
{
	for (struct sim_device *d = a->devices; d != NULL; d = d->next) {
		struct wa_node *n, *col;
		char id[32];

		if (d->id == skip)
			continue;
		snprintf(id, sizeof id, "%llu", (unsigned long long)++s->seq);
		n = wa_node_new_attrs("notification", "from", "s.whatsapp.net", "type", "server_sync", "id", id, NULL);
		if (n == NULL || wa_node_set_attr_uint(n, "t", sim_now(s)) != 0 ||
		    (col = wa_node_add_new(n, "collection")) == NULL ||
		    wa_node_set_attr(col, "name", wa_appstate_collection((size_t)ci)) != 0 ||
		    wa_node_set_attr_uint(col, "version", a->state->coll[ci].version) != 0 || sim_deliver(s, d, n) != 0)
			wa_debug("sim: server_sync notification not delivered");
		wa_node_free(n);
	}
}

/* Track the live records of a stored patch (SET upserts, REMOVE deletes). */
static void track_records(struct sim_as_coll *c, const uint8_t *data, size_t len)
{
	WaServerSync__SyncdPatch *p = (WaServerSync__SyncdPatch *)wa_pb_unpack(&wa_server_sync__syncd_patch__descriptor,
									     data, len, WA_PB_MAX_DEPTH);

	if (p == NULL || p->externalmutations != NULL) {
		c->no_snapshot = 1;
		goto out;
	}
	for (size_t i = 0; i < p->n_mutations; i++) {
		const WaServerSync__SyncdRecord *r = p->mutations[i]->record;
		int remove = p->mutations[i]->operation == WA_SERVER_SYNC__SYNCD_MUTATION__SYNCD_OPERATION__REMOVE;
		size_t j;

		if (r == NULL || r->index == NULL || r->index->blob.len != 32 || r->value == NULL || r->keyid == NULL ||
		    r->keyid->id.len > 64) {
			c->no_snapshot = 1;
			continue;
		}
		for (j = 0; j < c->nrecs && memcmp(c->recs[j].index_mac, r->index->blob.data, 32) != 0; j++)
			;
		if (remove) {
			if (j < c->nrecs) {
				free(c->recs[j].value);
				c->recs[j] = c->recs[--c->nrecs];
			}
			continue;
		}
		if (j == c->nrecs) {
			if (c->nrecs >= SIM_AS_RECORDS_MAX) {
				c->no_snapshot = 1;
				continue;
			}
			if (c->nrecs == c->rcap) {
				size_t nc = c->rcap ? c->rcap * 2 : 16;
				struct sim_as_rec *nr = realloc(c->recs, nc * sizeof *nr);

				if (nr == NULL) {
					c->no_snapshot = 1;
					continue;
				}
				c->recs = nr;
				c->rcap = nc;
			}
			memset(&c->recs[j], 0, sizeof c->recs[j]);
			memcpy(c->recs[j].index_mac, r->index->blob.data, 32);
			c->nrecs++;
		}
		free(c->recs[j].value);
		c->recs[j].value = malloc(r->value->blob.len ? r->value->blob.len : 1);
		if (c->recs[j].value == NULL) {
			c->recs[j] = c->recs[--c->nrecs];
			c->no_snapshot = 1;
			continue;
		}
		memcpy(c->recs[j].value, r->value->blob.data, r->value->blob.len);
		c->recs[j].vlen = r->value->blob.len;
		memcpy(c->recs[j].key_id, r->keyid->id.data, r->keyid->id.len);
		c->recs[j].key_id_len = r->keyid->id.len;
	}
out:
	if (p)
		wa_server_sync__syncd_patch__free_unpacked(p, NULL);
}

/* The snapshot of collection ci at its current version, the way the phone
 * would upload it: SyncdSnapshot{version, records, mac, keyID}, encrypted
 * as "App State" media, stored on the media host; the returned node is
 * <snapshot>ExternalBlobReference</snapshot>. NULL when no snapshot can be
 * made (no media host, no key, a patch the phone could not verify, or
 * external mutations): the caller then serves patches from version 0. */
static struct wa_node *make_snapshot(struct sim_acstate *st, int ci)
{
	struct sim_as_coll *c = &st->coll[ci];
	WaServerSync__SyncdSnapshot snap = WA_SERVER_SYNC__SYNCD_SNAPSHOT__INIT;
	WaServerSync__SyncdVersion ver = WA_SERVER_SYNC__SYNCD_VERSION__INIT;
	WaServerSync__KeyId kid = WA_SERVER_SYNC__KEY_ID__INIT;
	WaServerSync__ExternalBlobReference ext = WA_SERVER_SYNC__EXTERNAL_BLOB_REFERENCE__INIT;
	WaServerSync__SyncdRecord *recs = NULL, **rp = NULL;
	WaServerSync__SyncdIndex *idx = NULL;
	WaServerSync__SyncdValue *val = NULL;
	WaServerSync__KeyId *kids = NULL;
	struct wa_appstate_keys keys;
	uint8_t mac[32], mkey[32], *plain = NULL, *enc = NULL, *eb = NULL;
	size_t plen, enclen = 0, eblen;
	struct wa_media_info info;
	char dpath[512];
	struct wa_node *n = NULL;

	phone_catch_up(st, ci);
	if (sim_media_host() == NULL || !st->has_key || c->view_broken || c->no_snapshot || c->version == 0 ||
	    wa_appstate_state_version(c->view) != c->version || wa_appstate_state_count(c->view) != c->nrecs)
		return NULL;
	if (c->nrecs > 0) {
		recs = calloc(c->nrecs, sizeof *recs);
		rp = calloc(c->nrecs, sizeof *rp);
		idx = calloc(c->nrecs, sizeof *idx);
		val = calloc(c->nrecs, sizeof *val);
		kids = calloc(c->nrecs, sizeof *kids);
		if (recs == NULL || rp == NULL || idx == NULL || val == NULL || kids == NULL)
			goto out;
	}
	for (size_t i = 0; i < c->nrecs; i++) {
		wa_server_sync__syncd_record__init(&recs[i]);
		wa_server_sync__syncd_index__init(&idx[i]);
		wa_server_sync__syncd_value__init(&val[i]);
		wa_server_sync__key_id__init(&kids[i]);
		idx[i].has_blob = 1;
		idx[i].blob.data = c->recs[i].index_mac;
		idx[i].blob.len = 32;
		val[i].has_blob = 1;
		val[i].blob.data = c->recs[i].value;
		val[i].blob.len = c->recs[i].vlen;
		kids[i].has_id = 1;
		kids[i].id.data = c->recs[i].key_id;
		kids[i].id.len = c->recs[i].key_id_len;
		recs[i].index = &idx[i];
		recs[i].value = &val[i];
		recs[i].keyid = &kids[i];
		rp[i] = &recs[i];
	}
	if (wa_appstate_expand_keys(st->key_data, 32, &keys) != 0 ||
	    wa_appstate_snapshot_mac(&keys, wa_appstate_state_hash(c->view), c->version,
				     wa_appstate_collection((size_t)ci), mac) != 0)
		goto out;
	ver.has_version = 1;
	ver.version = c->version;
	kid.has_id = 1;
	kid.id.data = st->key_id;
	kid.id.len = sizeof st->key_id;
	snap.version = &ver;
	snap.n_records = c->nrecs;
	snap.records = rp;
	snap.has_mac = 1;
	snap.mac.data = mac;
	snap.mac.len = 32;
	snap.keyid = &kid;
	plen = wa_server_sync__syncd_snapshot__get_packed_size(&snap);
	plain = malloc(plen ? plen : 1);
	if (plain == NULL)
		goto out;
	wa_server_sync__syncd_snapshot__pack(&snap, plain);
	if (wa_media_new_key(mkey) != 0 ||
	    wa_media_encrypt(WA_MEDIA_APP_STATE, mkey, plain, plen, &enc, &enclen, &info) != 0 ||
	    sim_media_put(enc, enclen, wa_media_mms_type(WA_MEDIA_APP_STATE), dpath, sizeof dpath) != 0)
		goto out;
	ext.has_mediakey = 1;
	ext.mediakey.data = mkey;
	ext.mediakey.len = 32;
	ext.directpath = dpath;
	ext.has_filesizebytes = 1;
	ext.filesizebytes = info.file_length;
	ext.has_filesha256 = 1;
	ext.filesha256.data = info.file_sha256;
	ext.filesha256.len = 32;
	ext.has_fileencsha256 = 1;
	ext.fileencsha256.data = info.file_enc_sha256;
	ext.fileencsha256.len = 32;
	eblen = wa_server_sync__external_blob_reference__get_packed_size(&ext);
	eb = malloc(eblen ? eblen : 1);
	if (eb == NULL)
		goto out;
	wa_server_sync__external_blob_reference__pack(&ext, eb);
	n = wa_node_new("snapshot");
	if (n != NULL && wa_node_set_bytes(n, eb, eblen) != 0) {
		wa_node_free(n);
		n = NULL;
	}
out:
	memset(&keys, 0, sizeof keys);
	free(recs);
	free(rp);
	free(idx);
	free(val);
	free(kids);
	free(plain);
	free(enc);
	free(eb);
	return n;
}

/* Store a patch (client bytes) as the next version of collection ci. */
static int store_patch(struct sim_acstate *st, int ci, const uint8_t *data, size_t len)
{
	struct sim_as_coll *c = &st->coll[ci];
	uint8_t *out = NULL;
	size_t outlen = 0;

	if (len == 0 || len > SIM_AS_PATCH_MAX || c->version >= SIM_AS_PATCHES_MAX ||
	    c->bytes + len + 16 > SIM_AS_COLL_BYTES)
		return -1;
	if (c->version == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 16;
		struct sim_as_patch *np = realloc(c->patches, nc * sizeof *np);

		if (np == NULL)
			return -1;
		c->patches = np;
		c->cap = nc;
	}
	if (wa_appstate_patch_set_version(data, len, c->version + 1, &out, &outlen) != WA_APPSTATE_OK)
		return -1;
	c->patches[c->version].data = out;
	c->patches[c->version].len = outlen;
	c->bytes += outlen;
	c->version++;
	track_records(c, out, outlen);
	phone_catch_up(st, ci);
	return 0;
}

/* <patches><patch>…</patch>…</patches> of versions (from, to]. */
static int add_patches(struct wa_node *col, const struct sim_as_coll *c, uint64_t from, uint64_t to)
{
	struct wa_node *ps;

	if (from >= to)
		return 0;
	ps = wa_node_add_new(col, "patches");
	if (ps == NULL)
		return -1;
	for (uint64_t v = from; v < to; v++) {
		struct wa_node *p = wa_node_add_new(ps, "patch");

		if (p == NULL || wa_node_set_bytes(p, c->patches[v].data, c->patches[v].len) != 0)
			return -1;
	}
	return 0;
}

/* End of a reply starting after version from: bounded by patch count and bytes. */
static uint64_t reply_end(const struct sim_as_coll *c, uint64_t from)
{
	uint64_t to = from;
	size_t bytes = 0;

	while (to < c->version && to - from < SIM_AS_REPLY_PATCHES &&
	       (to == from || bytes + c->patches[to].len <= SIM_AS_REPLY_BYTES))
		bytes += c->patches[to++].len;
	return to;
}

static struct wa_node *coll_error(struct wa_node *col, int code, const char *text)
{
	struct wa_node *e;

	if (wa_node_set_attr(col, "type", "error") != 0 || (e = wa_node_add_new(col, "error")) == NULL ||
	    wa_node_set_attr_int(e, "code", code) != 0 || wa_node_set_attr(e, "text", text) != 0)
		return NULL;
	return col;
}

/* One <collection> of a sync IQ -> its reply element (added to out). */
static int one_collection(struct sim_conn *c, struct sim_acstate *st, const struct wa_node *in, struct wa_node *out,
			  int *changed)
{
	const char *name = wa_node_attr(in, "name");
	int ci = coll_index(name);
	struct wa_node *col = wa_node_add_new(out, "collection"), *p = NULL;
	unsigned long long v = 0;
	struct sim_as_coll *sc;

	if (col == NULL || wa_node_set_attr(col, "name", name ? name : "") != 0)
		return -1;
	if (ci < 0)
		return coll_error(col, 400, "bad-request") ? 0 : -1;
	sc = &st->coll[ci];
	if (wa_node_attr(in, "version") != NULL && wa_node_attr_uint(in, "version", &v) != 0)
		return coll_error(col, 400, "bad-request") ? 0 : -1;
	if (wa_node_child(in, "patch") != NULL) {
		/* 11.5: a push is only accepted on top of the newest version;
		 * otherwise 409 with what the client lacks (it applies and retries). */
		if (v != sc->version) {
			if (wa_node_set_attr_uint(col, "version", sc->version) != 0 ||
			    coll_error(col, 409, "conflict") == NULL ||
			    add_patches(col, sc, v < sc->version ? v : sc->version,
					reply_end(sc, v < sc->version ? v : sc->version)) != 0)
				return -1;
			return 0;
		}
		while ((p = wa_node_next(in, "patch", p)) != NULL) {
			size_t len = 0;
			const uint8_t *d = wa_node_content(p, &len);

			if (d == NULL || store_patch(st, ci, d, len) != 0)
				return coll_error(col, 400, "bad-request") ? 0 : -1;
			changed[ci] = 1;
		}
		return wa_node_set_attr_uint(col, "version", sc->version) == 0 ? 0 : -1;
	}
	/* fetch (11.4): a snapshot request gets the snapshot as an external
	 * blob when one can be made, else every patch from version 0 (the
	 * client rebuilds the same state from them) */
	if (wa_node_attr_is(in, "return_snapshot", "true")) {
		struct wa_node *sn = make_snapshot(st, ci);

		if (sn != NULL) {
			if (wa_node_set_attr_uint(col, "version", sc->version) != 0 || wa_node_add_child(col, sn) != 0) {
				wa_node_free(sn);
				return -1;
			}
			return 0;
		}
		v = 0;
	}
	if (v > sc->version)
		v = sc->version;
	{
		uint64_t to = reply_end(sc, v);

		if (to < sc->version && wa_node_set_attr(col, "has_more_patches", "true") != 0)
			return -1;
		if (wa_node_set_attr_uint(col, "version", to) != 0 || add_patches(col, sc, v, to) != 0)
			return -1;
	}
	(void)c;
	return 0;
}

int sim_iq_appstate(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct sim_acstate *st = sim_acstate_get(c->srv, c->acc);
	struct wa_node *out, *in = NULL;
	int changed[NCOLL] = { 0 }, n = 0;

	if (st == NULL)
		return sim_conn_iq_error(c, iq, 500, "internal-server-error") == 0 ? 0 : -1;
	if (child == NULL || strcmp(child->tag, "sync") != 0)
		return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
	out = wa_node_new("sync");
	if (out == NULL)
		return -1;
	while ((in = wa_node_next(child, "collection", in)) != NULL) {
		if (++n > 2 * NCOLL || one_collection(c, st, in, out, changed) != 0) {
			wa_node_free(out);
			return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
		}
	}
	if (sim_conn_iq_result(c, iq, out) != 0) {
		wa_node_free(out);
		return -1;
	}
	for (int i = 0; i < NCOLL; i++)
		if (changed[i])
			notify_sync(c->srv, c->acc, i, c->dev->id);
	/* a companion renamed the account (setting_pushName, 11.9): the
	 * phone adopts it, so messages carry it as notify */
	if (st->push_name[0] != '\0') {
		snprintf(c->acc->push_name, sizeof c->acc->push_name, "%s", st->push_name);
		st->push_name[0] = '\0';
	}
	return 0;
}

/* ---- the phone: key share, key requests, own mutations ---- */

static int send_key_share(struct sim_server *s, struct sim_account *a, struct sim_acstate *st, uint16_t dev)
{
	WaE2E__Message msg = WA_E2_E__MESSAGE__INIT;
	WaE2E__ProtocolMessage pm = WA_E2_E__PROTOCOL_MESSAGE__INIT;
	WaE2E__AppStateSyncKeyShare share = WA_E2_E__APP_STATE_SYNC_KEY_SHARE__INIT;
	WaE2E__AppStateSyncKey key = WA_E2_E__APP_STATE_SYNC_KEY__INIT, *keys[1] = { &key };
	WaE2E__AppStateSyncKeyId kid = WA_E2_E__APP_STATE_SYNC_KEY_ID__INIT;
	WaE2E__AppStateSyncKeyData kd = WA_E2_E__APP_STATE_SYNC_KEY_DATA__INIT;
	WaE2E__AppStateSyncKeyFingerprint fp = WA_E2_E__APP_STATE_SYNC_KEY_FINGERPRINT__INIT;
	uint32_t idx[1] = { 0 };
	uint8_t *buf;
	size_t len;
	int rc;

	if (ensure_key(s, st) != 0)
		return -1;
	kid.has_keyid = 1;
	kid.keyid.data = st->key_id;
	kid.keyid.len = sizeof st->key_id;
	fp.has_rawid = 1;
	fp.rawid = a->adv_raw_id;
	fp.has_currentindex = 1;
	fp.currentindex = a->next_key_index;
	fp.n_deviceindexes = 1;
	fp.deviceindexes = idx;
	kd.has_keydata = 1;
	kd.keydata.data = st->key_data;
	kd.keydata.len = 32;
	kd.fingerprint = &fp;
	kd.has_timestamp = 1;
	kd.timestamp = st->key_ts;
	key.keyid = &kid;
	key.keydata = &kd;
	share.n_keys = 1;
	share.keys = keys;
	pm.has_type = 1;
	pm.type = WA_E2_E__PROTOCOL_MESSAGE__TYPE__APP_STATE_SYNC_KEY_SHARE;
	pm.appstatesynckeyshare = &share;
	msg.protocolmessage = &pm;
	len = wa_e2_e__message__get_packed_size(&msg);
	buf = malloc(len);
	if (buf == NULL)
		return -1;
	wa_e2_e__message__pack(&msg, buf);
	rc = sim_phone_send_peer(s, a, dev, buf, len);
	memset(buf, 0, len);
	free(buf);
	return rc;
}

static int send_history(struct sim_server *s, struct sim_account *a, uint16_t dev);

void sim_state_companion_ready(struct sim_server *s, struct sim_account *a, uint16_t dev)
{
	struct sim_acstate *st = sim_acstate_get(s, a);

	if (st == NULL || dev == 0)
		return;
	for (size_t i = 0; i < st->nshared; i++)
		if (st->shared[i] == dev)
			return;
	if (st->nshared >= SIM_MAX_DEVICES)
		return;
	st->shared[st->nshared++] = dev;
	if (send_key_share(s, a, st, dev) != 0)
		wa_info("sim: app-state key share to device %u failed", dev);
	if (send_history(s, a, dev) != 0)
		wa_info("sim: history sync to device %u not sent", dev);
}

void sim_state_on_peer_protocol(struct sim_server *s, struct sim_account *a, uint16_t dev, const void *proto)
{
	const WaE2E__ProtocolMessage *pm = proto;
	struct sim_acstate *st = sim_acstate_get(s, a);

	if (st == NULL || pm == NULL || !pm->has_type ||
	    pm->type != WA_E2_E__PROTOCOL_MESSAGE__TYPE__APP_STATE_SYNC_KEY_REQUEST || pm->appstatesynckeyrequest == NULL)
		return;
	/* the phone has one key; it answers a request naming it (or any
	 * request when the key is new to the companion) with a share */
	if (send_key_share(s, a, st, dev) != 0)
		wa_info("sim: key request from device %u not answered", dev);
}

int sim_appstate_phone_write(struct sim_server *s, struct sim_account *a, const char *action, const char *jid,
			     int value, const char *name, const char *label, const char *msg_id, int from_me,
			     const char **why)
{
	struct sim_acstate *st = sim_acstate_get(s, a);
	struct wa_sync_action act;
	struct wa_appstate_out_mutation m;
	int64_t now = (int64_t)sim_now(s) * 1000;
	uint8_t *out = NULL;
	size_t outlen = 0;
	int rc = -1, ci;

	memset(&act, 0, sizeof act);
	*why = "bad action";
	if (st == NULL || ensure_key(s, st) != 0) {
		*why = "out of memory";
		return 500;
	}
	if (action == NULL)
		return 400;
	if (strcmp(action, "rotateKey") == 0) {
		/* a new key, shared with nobody until a companion asks (11.6) */
		st->has_key = 0;
		if (ensure_key(s, st) != 0) {
			*why = "out of memory";
			return 500;
		}
		*why = NULL;
		return 200;
	}
	if (strcmp(action, "pushName") == 0 || strcmp(action, "labelEdit") == 0) {
		if (name == NULL) {
			*why = "name required";
			return 400;
		}
	} else if (jid == NULL || strchr(jid, '@') == NULL) {
		*why = "jid required (a chat JID)";
		return 400;
	}
	if (strcmp(action, "archive") == 0)
		rc = wa_sync_action_archive(&act, jid, value, NULL, now);
	else if (strcmp(action, "pin") == 0)
		rc = wa_sync_action_pin(&act, jid, value, now);
	else if (strcmp(action, "mute") == 0)
		rc = wa_sync_action_mute(&act, jid, value, 0, now);
	else if (strcmp(action, "markRead") == 0)
		rc = wa_sync_action_mark_read(&act, jid, value, NULL, now);
	else if (strcmp(action, "pushName") == 0)
		rc = wa_sync_action_push_name(&act, name, now);
	else if (strcmp(action, "contact") == 0)
		rc = wa_sync_action_contact(&act, jid, name, NULL, now);
	else if (strcmp(action, "labelEdit") == 0)
		rc = wa_sync_action_label_edit(&act, label ? label : "1", name, 0, !value, now);
	else if (strcmp(action, "label") == 0)
		rc = wa_sync_action_label_chat(&act, label ? label : "1", jid, value, now);
	else if (strcmp(action, "star") == 0) {
		if (msg_id == NULL || *msg_id == '\0') {
			*why = "messageId required";
			return 400;
		}
		rc = wa_sync_action_star(&act, jid, msg_id, from_me, NULL, value, now);
	} else
		return 400;
	if (rc != 0) {
		wa_sync_action_free(&act);
		*why = "cannot build the action";
		return 400;
	}
	ci = coll_index(act.collection);
	if (ci < 0) {
		wa_sync_action_free(&act);
		return 500;
	}
	phone_catch_up(st, ci);
	wa_sync_action_out(&act, &m);
	rc = wa_appstate_build_patch(st->coll[ci].view, st->key_id, sizeof st->key_id, st->key_data, &m, 1, &out,
				     &outlen, NULL);
	wa_sync_action_free(&act);
	if (rc != WA_APPSTATE_OK || store_patch(st, ci, out, outlen) != 0) {
		free(out);
		*why = "cannot store the patch";
		return 500;
	}
	free(out);
	if (strcmp(action, "pushName") == 0)
		snprintf(a->push_name, sizeof a->push_name, "%s", name);
	notify_sync(s, a, ci, 0);
	*why = NULL;
	return 200;
}

char *sim_appstate_phone_view(struct sim_server *s, struct sim_account *a)
{
	struct sim_acstate *st = sim_acstate_get(s, a);
	json_t *o = json_object();
	char *txt;

	if (st == NULL || o == NULL) {
		json_decref(o);
		return NULL;
	}
	for (int i = 0; i < NCOLL; i++) {
		struct sim_as_coll *c = &st->coll[i];
		json_t *ents = json_array(), *one;
		const char *k;
		json_t *v;

		phone_catch_up(st, i);
		json_object_foreach(c->entries, k, v) {
			char **parts = NULL;
			size_t n = 0;
			json_t *idx = json_array();

			if (wa_appstate_index_parse(k, strlen(k), &parts, &n) == 0)
				for (size_t j = 0; j < n; j++)
					json_array_append_new(idx, json_string(parts[j]));
			wa_appstate_index_free(parts, n);
			json_array_append_new(ents, json_pack("{s:o, s:O}", "index", idx, "value", v));
		}
		one = json_pack("{s:I, s:I, s:b, s:o}", "version", (json_int_t)c->version, "phoneVersion",
				(json_int_t)wa_appstate_state_version(c->view), "verified", !c->view_broken, "entries",
				ents);
		json_object_set_new(o, wa_appstate_collection((size_t)i), one);
	}
	txt = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return txt;
}

/* ---- history sync on pairing (11.7) ---- */

/* Two chunks, each a HistorySync, deflated, encrypted as media type
 * History, uploaded to the media host and announced by its own
 * HISTORY_SYNC_NOTIFICATION peer message, as real phones do:
 *   INITIAL_BOOTSTRAP  conversations: the phone's recent chats (from its
 *                      inbox / outbox, a few messages each);
 *   PUSH_NAME          pushnames: the own account's and each chat peer's
 *                      (clients read push names only from this type).
 * Without a media host each payload goes inline
 * (initialHistBootstrapInlinePayload; for the PUSH_NAME chunk that is
 * inferred: both clients read an inline payload whatever the type). */
#define HIST_CHATS 20
#define HIST_MSGS 10

struct hchat {
	char jid[WA_JID_STR_MAX];
	WaHistorySync__Conversation conv;
	WaHistorySync__HistorySyncMsg *msgs[HIST_MSGS];
	WaHistorySync__HistorySyncMsg hm[HIST_MSGS];
	WaHistorySync__WebMessageInfo wmi[HIST_MSGS];
	WaE2E__MessageKey key[HIST_MSGS];
	WaE2E__Message msg[HIST_MSGS];
	size_t n;
};

static void hist_add(struct hchat *chats, size_t *nchats, const struct sim_msgrec *r, int outbox)
{
	struct hchat *h = NULL;
	size_t k;

	if (r->text == NULL || strcmp(r->type, "text") != 0)
		return;
	for (size_t i = 0; i < *nchats; i++)
		if (strcmp(chats[i].jid, r->chat) == 0)
			h = &chats[i];
	if (h == NULL) {
		if (*nchats >= HIST_CHATS)
			return;
		h = &chats[(*nchats)++];
		snprintf(h->jid, sizeof h->jid, "%s", r->chat);
	}
	if (h->n >= HIST_MSGS) { /* keep the newest: drop the oldest */
		memmove(&h->hm[0], &h->hm[1], (HIST_MSGS - 1) * sizeof h->hm[0]);
		memmove(&h->wmi[0], &h->wmi[1], (HIST_MSGS - 1) * sizeof h->wmi[0]);
		memmove(&h->key[0], &h->key[1], (HIST_MSGS - 1) * sizeof h->key[0]);
		memmove(&h->msg[0], &h->msg[1], (HIST_MSGS - 1) * sizeof h->msg[0]);
		h->n--;
	}
	k = h->n++;
	wa_e2_e__message_key__init(&h->key[k]);
	h->key[k].remotejid = h->jid;
	h->key[k].has_fromme = 1;
	h->key[k].fromme = outbox || r->from_me;
	h->key[k].id = (char *)r->id;
	wa_e2_e__message__init(&h->msg[k]);
	h->msg[k].conversation = r->text;
	wa_history_sync__web_message_info__init(&h->wmi[k]);
	h->wmi[k].key = &h->key[k];
	h->wmi[k].message = &h->msg[k];
	h->wmi[k].has_messagetimestamp = 1;
	h->wmi[k].messagetimestamp = r->t;
	wa_history_sync__history_sync_msg__init(&h->hm[k]);
	h->hm[k].has_msgorderid = 1;
	h->hm[k].msgorderid = r->t;
}

/* Both boxes merged by time (each is oldest first) into chats; returns
 * how many chats. */
static size_t hist_collect(struct sim_phone *p, struct hchat *chats)
{
	const struct sim_msgrec *in = NULL, *outb = NULL;
	size_t nin = sim_phone_inbox(p, &in), nout = sim_phone_outbox(p, &outb), nchats = 0;

	for (size_t i = 0, j = 0; i < nin || j < nout;) {
		if (j >= nout || (i < nin && in[i].t <= outb[j].t))
			hist_add(chats, &nchats, &in[i++], 0);
		else
			hist_add(chats, &nchats, &outb[j++], 1);
	}
	return nchats;
}

/* h's Conversation, its messages linked in. */
static WaHistorySync__Conversation *hist_conversation(struct hchat *h)
{
	wa_history_sync__conversation__init(&h->conv);
	h->conv.id = h->jid;
	for (size_t k = 0; k < h->n; k++) {
		h->hm[k].message = &h->wmi[k];
		h->msgs[k] = &h->hm[k];
	}
	h->conv.n_messages = h->n;
	h->conv.messages = h->msgs;
	if (h->n > 0) {
		h->conv.has_lastmsgtimestamp = 1;
		h->conv.lastmsgtimestamp = h->wmi[h->n - 1].messagetimestamp;
		h->conv.has_conversationtimestamp = 1;
		h->conv.conversationtimestamp = h->conv.lastmsgtimestamp;
	}
	return &h->conv;
}

/* The account of a chat JID's user, or NULL (groups, unknown numbers). */
static struct sim_account *hist_peer(struct sim_server *s, const char *jid)
{
	char user[SIM_NUMBER_MAX + 1];
	const char *at = strchr(jid, '@');

	if (at == NULL || (size_t)(at - jid) > SIM_NUMBER_MAX)
		return NULL;
	memcpy(user, jid, (size_t)(at - jid));
	user[at - jid] = '\0';
	return sim_store_account_find(s->store, user);
}

/* Pack and deflate hs into *z (malloc'd). 0 / -1. */
static int hist_deflate(const WaHistorySync__HistorySync *hs, uint8_t **z, size_t *zlen)
{
	size_t plen = wa_history_sync__history_sync__get_packed_size(hs);
	uint8_t *plain = malloc(plen ? plen : 1);
	uLongf zl = compressBound(plen);
	int rc = -1;

	*z = malloc(zl);
	if (plain != NULL && *z != NULL) {
		wa_history_sync__history_sync__pack(hs, plain);
		rc = compress2(*z, &zl, plain, plen, Z_BEST_COMPRESSION) == Z_OK ? 0 : -1;
	}
	free(plain);
	if (rc != 0) {
		free(*z);
		*z = NULL;
		return -1;
	}
	*zlen = zl;
	return 0;
}

/* Set by sim_history_send for one run: the chunks name blobs the media
 * host does not have (404), as after they expired. */
static int hist_blob_missing;

/* One chunk: hs deflated, stored on the media host (or inline), announced
 * to device dev by a HISTORY_SYNC_NOTIFICATION of type ntype. 0 / -1. */
static int hist_send_chunk(struct sim_server *s, struct sim_account *a, uint16_t dev,
			   const WaHistorySync__HistorySync *hs, WaE2E__HistorySyncType ntype)
{
	WaE2E__Message msg = WA_E2_E__MESSAGE__INIT;
	WaE2E__ProtocolMessage pm = WA_E2_E__PROTOCOL_MESSAGE__INIT;
	WaE2E__HistorySyncNotification hn = WA_E2_E__HISTORY_SYNC_NOTIFICATION__INIT;
	uint8_t *z = NULL, *enc = NULL, *mb = NULL, mkey[32];
	size_t zlen = 0, enclen = 0, mblen;
	char dpath[512];
	struct wa_media_info info;
	int rc = -1;

	if (hist_deflate(hs, &z, &zlen) != 0)
		goto out;
	hn.has_synctype = 1;
	hn.synctype = ntype;
	hn.has_chunkorder = 1;
	hn.chunkorder = 1;
	hn.has_progress = 1;
	hn.progress = 100;
	if (sim_media_host() != NULL) {
		if (wa_media_new_key(mkey) != 0 ||
		    wa_media_encrypt(WA_MEDIA_HISTORY, mkey, z, zlen, &enc, &enclen, &info) != 0)
			goto out;
		if (hist_blob_missing)
			snprintf(dpath, sizeof dpath, "/v/t62.7118-24/missing-%llx.enc?ccb=11-4&oh=sim&oe=0",
				 (unsigned long long)++s->seq);
		else if (sim_media_put(enc, enclen, wa_media_mms_type(WA_MEDIA_HISTORY), dpath, sizeof dpath) != 0)
			goto out;
		hn.has_mediakey = 1;
		hn.mediakey.data = mkey;
		hn.mediakey.len = 32;
		hn.has_filesha256 = 1;
		hn.filesha256.data = info.file_sha256;
		hn.filesha256.len = 32;
		hn.has_fileencsha256 = 1;
		hn.fileencsha256.data = info.file_enc_sha256;
		hn.fileencsha256.len = 32;
		hn.has_filelength = 1;
		hn.filelength = info.file_length;
		hn.directpath = dpath;
	} else {
		hn.has_initialhistbootstrapinlinepayload = 1;
		hn.initialhistbootstrapinlinepayload.data = z;
		hn.initialhistbootstrapinlinepayload.len = zlen;
	}
	pm.has_type = 1;
	pm.type = WA_E2_E__PROTOCOL_MESSAGE__TYPE__HISTORY_SYNC_NOTIFICATION;
	pm.historysyncnotification = &hn;
	msg.protocolmessage = &pm;
	mblen = wa_e2_e__message__get_packed_size(&msg);
	mb = malloc(mblen);
	if (mb == NULL)
		goto out;
	wa_e2_e__message__pack(&msg, mb);
	rc = sim_phone_send_peer(s, a, dev, mb, mblen);
out:
	memset(mkey, 0, sizeof mkey);
	free(z);
	free(enc);
	free(mb);
	return rc;
}

/* INITIAL_BOOTSTRAP: the conversations, no push names. */
static int hist_send_bootstrap(struct sim_server *s, struct sim_account *a, uint16_t dev, struct hchat *chats,
			       size_t nchats)
{
	WaHistorySync__Conversation *convs[HIST_CHATS];
	WaHistorySync__HistorySync hs = WA_HISTORY_SYNC__HISTORY_SYNC__INIT;

	for (size_t i = 0; i < nchats; i++)
		convs[i] = hist_conversation(&chats[i]);
	hs.synctype = WA_HISTORY_SYNC__HISTORY_SYNC__HISTORY_SYNC_TYPE__INITIAL_BOOTSTRAP;
	hs.n_conversations = nchats;
	hs.conversations = convs;
	return hist_send_chunk(s, a, dev, &hs, WA_E2_E__HISTORY_SYNC_TYPE__INITIAL_BOOTSTRAP);
}

/* PUSH_NAME: the own push name and each chat peer's, nothing else. */
static int hist_send_push_names(struct sim_server *s, struct sim_account *a, uint16_t dev,
				struct hchat *chats, size_t nchats)
{
	WaHistorySync__Pushname pns[HIST_CHATS + 1], *pnp[HIST_CHATS + 1];
	WaHistorySync__HistorySync hs = WA_HISTORY_SYNC__HISTORY_SYNC__INIT;
	char own[WA_JID_STR_MAX];
	size_t npn = 0;

	snprintf(own, sizeof own, "%s@s.whatsapp.net", a->number);
	wa_history_sync__pushname__init(&pns[npn]);
	pns[npn].id = own;
	pns[npn].pushname = a->push_name;
	pnp[npn] = &pns[npn];
	npn++;
	for (size_t i = 0; i < nchats && npn < HIST_CHATS + 1; i++) {
		struct sim_account *peer = hist_peer(s, chats[i].jid);

		if (peer == NULL)
			continue;
		wa_history_sync__pushname__init(&pns[npn]);
		pns[npn].id = chats[i].jid;
		pns[npn].pushname = peer->push_name;
		pnp[npn] = &pns[npn];
		npn++;
	}
	hs.synctype = WA_HISTORY_SYNC__HISTORY_SYNC__HISTORY_SYNC_TYPE__PUSH_NAME;
	hs.n_pushnames = npn;
	hs.pushnames = pnp;
	return hist_send_chunk(s, a, dev, &hs, WA_E2_E__HISTORY_SYNC_TYPE__PUSH_NAME);
}

static int send_history(struct sim_server *s, struct sim_account *a, uint16_t dev)
{
	struct sim_phone *p = sim_phone_get(s, a);
	struct hchat *chats = calloc(HIST_CHATS, sizeof *chats);
	size_t nchats;
	int rc = -1;

	if (p != NULL && chats != NULL) {
		nchats = hist_collect(p, chats);
		rc = hist_send_bootstrap(s, a, dev, chats, nchats);
		if (rc == 0)
			rc = hist_send_push_names(s, a, dev, chats, nchats);
	}
	free(chats);
	return rc;
}

int sim_history_send(struct sim_server *s, struct sim_account *a, uint16_t dev, int missing_blob)
{
	int rc;

	if (dev == 0 || !sim_device_exists(a, dev) || (missing_blob && sim_media_host() == NULL))
		return -1;
	hist_blob_missing = missing_blob;
	rc = send_history(s, a, dev);
	hist_blob_missing = 0;
	return rc;
}
