/* test_sim_state: wa-sim's state layer end to end (simstate).
 *
 * One ./wa-sim (or $WA_SIM_BIN) with a media host (simtest_main()); the
 * setup creates phones A and B with a little history; named cases pair
 * raw protocol clients (waclient + wa/signal) and check:
 * the phone's app-state key share after the first pre-key upload and the
 * answer to a key request (11.6); the history sync on pairing (11.7: an
 * INITIAL_BOOTSTRAP chunk with the chats, then a PUSH_NAME chunk with the
 * push names; each downloaded, decrypted as "History", inflated, parsed);
 * media_conn's auth token once blobs exist (9.1); app state (11.4-11.5:
 * the phone's own mutation, server_sync notifications, fetch, decryption
 * and full verification with wa/appstate.h, a companion's mutation seen by
 * the phone and the second device, a 409 on a stale version); presence and
 * chat state both ways (11.8); about, profile picture (11.9); blocklist
 * and refused messages from blocked senders, privacy, abt, disappearing
 * mode (11.10). `--list` shows the cases, a name runs one (after the cases
 * it needs). TAP via tests/unit/tap.h. Harness and companion helpers:
 * simtest.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../unit/tap.h"
#include "simtest.h"
#include "waclient.h"
#include "wa/mediacrypto.h"
#include "wa/msgid.h"
#include "wa/msgsecret.h"
#include "wa/pbsafe.h"
#include "wa/signal.h"
#include "wa/signal_node.h"
#include "wa/sigstore.h"
#include "wa_e2e.pb-c.h"
#include "wa_util.h"
#include "wa/appstate.h"
#include "wa/syncaction.h"
#include "wa_history.pb-c.h"
#include <zlib.h>
#define T_MS 5000
#define PA "15550000001"
#define PB "15550000002"
#define PC "15550000003"

static long admin(struct simtest_ctx *t, const char *method, const char *path, const char *body, json_t **out)
{
	return simtest_ctx_admin(t, method, path, body, NULL, out);
}

/* ---- state-layer helpers ---- */

/* The app-state key a companion learnt from its phone. */
struct askey {
	int have;
	uint8_t id[64];
	size_t id_len;
	uint8_t data[32];
};

/* What the setup and the cases hand on to the cases that need them. */
static struct {
	struct simtest_comp a1, a2;     /* A's companions (key_share_history, key_request) */
	struct simtest_comp b1;         /* B's companion (have_b1()) */
	int b1_tried;
	struct askey k1;                /* the app-state key A1 got (key_share_history) */
	struct wa_appstate_state *s1, *s2; /* A1's and A2's regular_low state */
	char aj[64], bj[64];            /* the phones' JIDs (setup) */
} fx;

static int get_key(void *ud, const uint8_t *id, size_t len, uint8_t out[32])
{
	struct askey *k = ud;

	if (!k->have || len != k->id_len || memcmp(id, k->id, len) != 0)
		return -1;
	memcpy(out, k->data, 32);
	return 0;
}

/* Take a key share from a decrypted message. 0 / -1. */
static int take_share(const struct simtest_got *g, struct askey *k)
{
	const WaE2E__ProtocolMessage *pm = g->m ? g->m->protocolmessage : NULL;
	const WaE2E__AppStateSyncKey *key;

	if (pm == NULL || pm->type != WA_E2_E__PROTOCOL_MESSAGE__TYPE__APP_STATE_SYNC_KEY_SHARE ||
	    pm->appstatesynckeyshare == NULL || pm->appstatesynckeyshare->n_keys != 1)
		return -1;
	key = pm->appstatesynckeyshare->keys[0];
	if (key->keyid == NULL || key->keydata == NULL || key->keydata->keydata.len != 32 ||
	    key->keyid->keyid.len == 0 || key->keyid->keyid.len > sizeof k->id)
		return -1;
	memcpy(k->id, key->keyid->keyid.data, key->keyid->keyid.len);
	k->id_len = key->keyid->keyid.len;
	memcpy(k->data, key->keydata->keydata.data, 32);
	k->have = 1;
	return 0;
}

/* Next <notification type=type>, acked; NULL on timeout (caller frees). */
static struct wa_node *recv_notif(struct simtest_comp *m, const char *type)
{
	struct wa_node *n = NULL;

	for (int i = 0; i < 8; i++) {
		if (waclient_recv_tag(m->c, "notification", T_MS, &n) != 0)
			return NULL;
		if (wa_node_attr_is(n, "type", type)) {
			struct wa_node *ack = wa_node_new_attrs("ack", "class", "notification", "id", wa_node_attr(n, "id"),
								"type", type, "to", "s.whatsapp.net", NULL);

			waclient_send(m->c, ack);
			wa_node_free(ack);
			return n;
		}
		wa_node_free(n);
	}
	return NULL;
}

/* <iq xmlns="w:sync:app:state" type="set"><sync><collection …>[<patch>]</collection></sync></iq>;
 * returns the reply's <collection> (inside *reply, which the caller frees). */
static struct wa_node *sync_iq(struct simtest_comp *m, const char *name, uint64_t version, int snapshot,
			       const uint8_t *patch, size_t plen, struct wa_node **reply)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "xmlns", "w:sync:app:state", "type", "set", NULL), *col;

	*reply = NULL;
	col = wa_node_add_new(wa_node_add_new(iq, "sync"), "collection");
	wa_node_set_attr(col, "name", name);
	wa_node_set_attr_uint(col, "version", version);
	wa_node_set_attr(col, "return_snapshot", snapshot ? "true" : "false");
	if (patch)
		wa_node_set_bytes(wa_node_add_new(col, "patch"), patch, plen);
	if (waclient_iq(m->c, iq, T_MS, reply) != 0) {
		wa_node_free(*reply);
		*reply = NULL;
	}
	wa_node_free(iq);
	return wa_node_path(*reply, "sync", "collection", NULL);
}

/* Apply every <patch> of a reply collection to st; returns mutations seen
 * (SET index JSON strings joined by ';' into seen) or -1 on any error. */
static int apply_patches(struct wa_node *col, struct wa_appstate_state *st, struct askey *k, char *seen, size_t cap)
{
	struct wa_node *p = NULL;
	int n = 0;

	while ((p = wa_node_next(wa_node_child(col, "patches"), "patch", p)) != NULL) {
		size_t len = 0;
		const uint8_t *d = wa_node_content(p, &len);
		WaServerSync__SyncdPatch *patch = (WaServerSync__SyncdPatch *)wa_pb_unpack(
			&wa_server_sync__syncd_patch__descriptor, d, len, WA_PB_MAX_DEPTH);
		struct wa_appstate_result res;
		int rc;

		if (patch == NULL)
			return -1;
		rc = wa_appstate_apply_patch(st, patch, NULL, get_key, k, &res);
		wa_server_sync__syncd_patch__free_unpacked(patch, NULL);
		if (rc != 0) {
			tap_diag(wa_appstate_strerror(rc));
			wa_appstate_result_free(&res);
			return -1;
		}
		for (size_t i = 0; i < res.n; i++, n++) {
			size_t l = strlen(seen);

			snprintf(seen + l, cap - l, "%s%s=%d", l ? ";" : "", res.mutations[i].index_json,
				 res.mutations[i].data && res.mutations[i].data->value &&
						 ((res.mutations[i].data->value->archivechataction &&
						   res.mutations[i].data->value->archivechataction->archived) ||
						  (res.mutations[i].data->value->pinaction &&
						   res.mutations[i].data->value->pinaction->pinned))
					 ? 1
					 : 0);
		}
		wa_appstate_result_free(&res);
	}
	return n;
}

/* <snapshot>ExternalBlobReference</snapshot> of a reply collection:
 * download from the media host, decrypt ("App State"), apply with full
 * verification. Returns the record count or -1. */
static int apply_snapshot(struct simtest_ctx *t, struct wa_node *col, struct wa_appstate_state *st, struct askey *k, char *seen, size_t cap)
{
	size_t len = 0;
	const uint8_t *d = wa_node_content(wa_node_child(col, "snapshot"), &len);
	WaServerSync__ExternalBlobReference *ext;
	WaServerSync__SyncdSnapshot *snap = NULL;
	struct wa_appstate_result res;
	struct simtest_resp body = { NULL, 0 };
	uint8_t *plain = NULL;
	size_t plen = 0;
	char url[600];
	int n = -1;

	memset(&res, 0, sizeof res);
	if (d == NULL)
		return -1;
	ext = (WaServerSync__ExternalBlobReference *)wa_pb_unpack(&wa_server_sync__external_blob_reference__descriptor, d,
								  len, WA_PB_MAX_DEPTH);
	if (ext == NULL || ext->directpath == NULL || ext->mediakey.len != 32)
		goto out;
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", t->media_port, ext->directpath);
	if (simtest_http("GET", url, NULL, 0, &body) != 200 ||
	    wa_media_decrypt(WA_MEDIA_APP_STATE, ext->mediakey.data, (uint8_t *)body.data, body.len,
			     ext->fileencsha256.data, ext->filesha256.data, &plain, &plen, NULL) != 0)
		goto out;
	snap = (WaServerSync__SyncdSnapshot *)wa_pb_unpack(&wa_server_sync__syncd_snapshot__descriptor, plain, plen,
							   WA_PB_MAX_DEPTH);
	if (snap == NULL || wa_appstate_apply_snapshot(st, snap, get_key, k, &res) != 0)
		goto out;
	for (size_t i = 0; i < res.n; i++) {
		size_t l = strlen(seen);

		snprintf(seen + l, cap - l, "%s%s", l ? ";" : "", res.mutations[i].index_json);
	}
	n = (int)res.n;
out:
	wa_appstate_result_free(&res);
	if (snap)
		wa_server_sync__syncd_snapshot__free_unpacked(snap, NULL);
	if (ext)
		wa_server_sync__external_blob_reference__free_unpacked(ext, NULL);
	free(plain);
	free(body.data);
	return n;
}

/* A patch of one action on top of st, with key k. malloc'd. */
static uint8_t *build_one(struct wa_appstate_state *st, struct askey *k, struct wa_sync_action *a, size_t *len)
{
	struct wa_appstate_out_mutation m;
	uint8_t *out = NULL;

	wa_sync_action_out(a, &m);
	if (wa_appstate_build_patch(st, k->id, k->id_len, k->data, &m, 1, &out, len, NULL) != 0)
		return NULL;
	return out;
}

/* Phone view (GET /admin/phones/{n}/appstate): value of field of entry
 * whose index starts with kind in collection coll; -1 if absent. */
static int view_field(struct simtest_ctx *t, const char *phone, const char *coll, const char *kind, const char *field, int *verified)
{
	char path[128];
	json_t *j = NULL, *e;
	size_t i;
	int v = -1;

	snprintf(path, sizeof path, "/admin/phones/%s/appstate", phone);
	if (admin(t, "GET", path, NULL, &j) != 200)
		return -1;
	if (verified)
		*verified = json_is_true(json_object_get(json_object_get(j, coll), "verified"));
	json_array_foreach(json_object_get(json_object_get(j, coll), "entries"), i, e) {
		const char *k0 = json_string_value(json_array_get(json_object_get(e, "index"), 0));

		if (k0 && strcmp(k0, kind) == 0)
			v = json_is_true(json_object_get(json_object_get(e, "value"), field));
	}
	json_decref(j);
	return v;
}

/* Send a peer protocol message (key request) from companion m to its phone. */
static int send_key_request(struct simtest_comp *m, const struct askey *k)
{
	WaE2E__Message msg = WA_E2_E__MESSAGE__INIT;
	WaE2E__ProtocolMessage pm = WA_E2_E__PROTOCOL_MESSAGE__INIT;
	WaE2E__AppStateSyncKeyRequest req = WA_E2_E__APP_STATE_SYNC_KEY_REQUEST__INIT;
	WaE2E__AppStateSyncKeyId kid = WA_E2_E__APP_STATE_SYNC_KEY_ID__INIT, *kids[1] = { &kid };
	char own[64], id[WA_MSGID_LEN + 1];
	const char *jids[1] = { own };
	uint8_t *pt;
	size_t len;
	struct wa_node *n, *e, *ack = NULL;
	int rc = -1, pk = 0;

	snprintf(own, sizeof own, "%s@s.whatsapp.net", m->phone);
	if (simtest_fetch_sessions(m, jids, 1, NULL) != 1)
		return -1;
	kid.has_keyid = 1;
	kid.keyid.data = (uint8_t *)k->id;
	kid.keyid.len = k->id_len;
	req.n_keyids = 1;
	req.keyids = kids;
	pm.has_type = 1;
	pm.type = WA_E2_E__PROTOCOL_MESSAGE__TYPE__APP_STATE_SYNC_KEY_REQUEST;
	pm.appstatesynckeyrequest = &req;
	msg.protocolmessage = &pm;
	pt = simtest_pack_msg(&msg, &len);
	wa_msgid_generate(id, m->phone, time(NULL));
	n = wa_node_new_attrs("message", "id", id, "to", own, "type", "text", "category", "peer", "push_priority",
			      "high", NULL);
	e = simtest_enc_node(m, own, pt, len, &pk);
	wa_node_add_child(n, e);
	if (pk)
		wa_node_set_bytes(wa_node_add_new(n, "device-identity"), m->cr.account, m->cr.account_len);
	if (e && waclient_send(m->c, n) == 0 && waclient_recv_tag(m->c, "ack", T_MS, &ack) == 0 &&
	    wa_node_attr(ack, "error") == NULL)
		rc = 0;
	free(pt);
	wa_node_free(n);
	wa_node_free(ack);
	return rc;
}

/* Inflate a zlib stream (bounded). malloc'd. */
static uint8_t *inflate_all(const uint8_t *z, size_t zlen, size_t *outlen)
{
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	uLongf ol = cap;

	if (out == NULL || uncompress(out, &ol, z, zlen) != Z_OK) {
		free(out);
		return NULL;
	}
	*outlen = ol;
	return out;
}

static struct wa_node *simple_iq(struct simtest_comp *m, const char *type, const char *xmlns, const char *target,
				 struct wa_node *child)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "xmlns", xmlns, "type", type, "target", target, NULL), *reply = NULL;

	if (child)
		wa_node_add_child(iq, child);
	if (waclient_iq(m->c, iq, T_MS, &reply) != 0) {
		wa_node_free(reply);
		reply = NULL;
	}
	wa_node_free(iq);
	return reply;
}

/* The first <tag> node whose from matches (others dropped); NULL on timeout. */
static struct wa_node *recv_from(struct simtest_comp *m, const char *tag, const char *from)
{
	struct wa_node *n = NULL;

	for (int i = 0; i < 8; i++) {
		if (waclient_recv_tag(m->c, tag, T_MS, &n) != 0)
			return NULL;
		if (from == NULL || wa_node_attr_is(n, "from", from))
			return n;
		wa_node_free(n);
	}
	return NULL;
}

/* Pair companion B1 with phone B unless a case did already (asserted once). */
static void have_b1(struct simtest_ctx *t)
{
	if (fx.b1_tried)
		return;
	fx.b1_tried = 1;
	is_int(simtest_comp_pair(&fx.b1, PB, &t->net), 0, "companion B1 paired and logged in");
}

/* phones A and B, and some history for A's phone before its companions exist */
static void setup(struct simtest_ctx *t)
{
	fx.s1 = wa_appstate_state_new("regular_low");
	fx.s2 = wa_appstate_state_new("regular_low");
	snprintf(fx.aj, sizeof fx.aj, "%s@s.whatsapp.net", PA);
	snprintf(fx.bj, sizeof fx.bj, "%s@s.whatsapp.net", PB);
	is_int(admin(t, "POST", "/admin/phones", "{\"number\":\"" PA "\",\"pushName\":\"Alice\"}", NULL), 201, "phone A");
	is_int(admin(t, "POST", "/admin/phones", "{\"number\":\"" PB "\",\"pushName\":\"Bob\"}", NULL), 201, "phone B");
	is_int(admin(t, "POST", "/admin/phones/" PB "/send", "{\"to\":\"" PA "\",\"text\":\"hello history\"}", NULL), 200,
	       "phone B writes to phone A");
	is_int(admin(t, "POST", "/admin/phones/" PA "/send", "{\"to\":\"" PB "\",\"text\":\"hi Bob\"}", NULL), 200,
	       "phone A answers");
}

/* The history-sync notification in a decrypted message, or NULL. */
static const WaE2E__HistorySyncNotification *hist_notification(const struct simtest_got *g)
{
	const WaE2E__ProtocolMessage *pm = g->m ? g->m->protocolmessage : NULL;

	if (pm == NULL || pm->type != WA_E2_E__PROTOCOL_MESSAGE__TYPE__HISTORY_SYNC_NOTIFICATION)
		return NULL;
	return pm->historysyncnotification;
}

/* TAP name "<what>: <name>" (static buffer). */
static const char *named(const char *what, const char *name)
{
	static char buf[160];

	snprintf(buf, sizeof buf, "%s: %s", what, name);
	return buf;
}

/* Download the blob hn names from the media host, decrypt it (History
 * keys), inflate and parse it; `what` names the chunk in the assertions.
 * The HistorySync (free_unpacked) or NULL. */
static WaHistorySync__HistorySync *hist_blob(struct simtest_ctx *t, const WaE2E__HistorySyncNotification *hn,
					     const char *what)
{
	struct simtest_resp body = { NULL, 0 };
	char url[600];
	uint8_t *plain = NULL, *raw = NULL;
	size_t plen = 0, rlen = 0;
	WaHistorySync__HistorySync *hs = NULL;

	ok(hn->directpath != NULL && hn->has_mediakey && hn->mediakey.len == 32, named(what, "directPath and mediaKey"));
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", t->media_port, hn->directpath ? hn->directpath : "");
	is_int(simtest_http("GET", url, NULL, 0, &body), 200, named(what, "blob downloaded from the media host"));
	is_int(hn->has_mediakey && hn->mediakey.len == 32 && hn->fileencsha256.len == 32 && hn->filesha256.len == 32 ?
		       wa_media_decrypt(WA_MEDIA_HISTORY, hn->mediakey.data, (uint8_t *)body.data, body.len,
					hn->fileencsha256.data, hn->filesha256.data, &plain, &plen, NULL) :
		       -1,
	       0, named(what, "blob decrypts (History keys, MAC and hashes)"));
	raw = plain ? inflate_all(plain, plen, &rlen) : NULL;
	ok(raw != NULL, named(what, "blob inflates"));
	if (raw)
		hs = (WaHistorySync__HistorySync *)wa_pb_unpack(&wa_history_sync__history_sync__descriptor, raw, rlen,
								WA_PB_MAX_DEPTH);
	ok(hs != NULL, named(what, "HistorySync parses"));
	free(plain);
	free(raw);
	free(body.data);
	return hs;
}

/* The INITIAL_BOOTSTRAP chunk: the chat with B and both its messages, no
 * push names (they have their own chunk, 11.7). */
static void check_bootstrap(const WaHistorySync__HistorySync *hs)
{
	int conv = 0, msgs = 0;

	is_int(hs->synctype, WA_HISTORY_SYNC__HISTORY_SYNC__HISTORY_SYNC_TYPE__INITIAL_BOOTSTRAP,
	       "bootstrap blob: syncType INITIAL_BOOTSTRAP");
	for (size_t c = 0; c < hs->n_conversations; c++) {
		if (strcmp(hs->conversations[c]->id, fx.bj) != 0)
			continue;
		conv = 1;
		for (size_t m = 0; m < hs->conversations[c]->n_messages; m++) {
			const WaHistorySync__WebMessageInfo *w = hs->conversations[c]->messages[m]->message;

			if (w && w->message && w->message->conversation &&
			    (strcmp(w->message->conversation, "hello history") == 0 ||
			     strcmp(w->message->conversation, "hi Bob") == 0))
				msgs++;
		}
	}
	ok(conv, "history has the chat with B");
	is_int(msgs, 2, "history has both messages of that chat");
	is_int((int)hs->n_pushnames, 0, "the bootstrap chunk carries no push names");
}

/* The PUSH_NAME chunk: the push names of A and B, no conversations. */
static void check_push_names(const WaHistorySync__HistorySync *hs)
{
	int names = 0;

	is_int(hs->synctype, WA_HISTORY_SYNC__HISTORY_SYNC__HISTORY_SYNC_TYPE__PUSH_NAME,
	       "push-name blob: syncType PUSH_NAME");
	for (size_t p = 0; p < hs->n_pushnames; p++) {
		const char *id = hs->pushnames[p]->id ? hs->pushnames[p]->id : "", *n = hs->pushnames[p]->pushname;

		if (n && ((strcmp(id, fx.bj) == 0 && strcmp(n, "Bob") == 0) ||
			  (strcmp(id, fx.aj) == 0 && strcmp(n, "Alice") == 0)))
			names++;
	}
	is_int(names, 2, "the PUSH_NAME chunk has the push names of A and B");
	is_int((int)hs->n_conversations, 0, "the PUSH_NAME chunk carries no conversations");
}

/* One history-sync notification from A's phone: its blob checked by the
 * notification's type; counts it in *boot or *names. */
static void take_history(struct simtest_ctx *t, const struct simtest_got *g, const WaE2E__HistorySyncNotification *hn,
			 int *boot, int *names)
{
	WaHistorySync__HistorySync *hs;
	int push = hn->has_synctype && hn->synctype == WA_E2_E__HISTORY_SYNC_TYPE__PUSH_NAME;

	ok(g->from[0] && strcmp(g->from, fx.aj) == 0, "history notification comes from the own phone");
	ok(hn->has_synctype && (push || hn->synctype == WA_E2_E__HISTORY_SYNC_TYPE__INITIAL_BOOTSTRAP),
	   "history notification: syncType INITIAL_BOOTSTRAP or PUSH_NAME");
	if (push)
		is_int(*boot, 1, "the PUSH_NAME chunk comes after the bootstrap chunk");
	hs = hist_blob(t, hn, push ? "push-name chunk" : "bootstrap chunk");
	if (hs == NULL)
		return;
	if (push) {
		check_push_names(hs);
		(*names)++;
	} else {
		check_bootstrap(hs);
		(*boot)++;
	}
	wa_history_sync__history_sync__free_unpacked(hs, NULL);
}

/* The three peer messages a new companion of A gets from its phone after
 * its first pre-key upload: the app-state key share (into k), the
 * INITIAL_BOOTSTRAP and the PUSH_NAME history chunks (11.6, 11.7).
 * check: assert on the history chunks (else only counted). */
static void take_pairing_sync(struct simtest_ctx *t, struct simtest_comp *m, struct askey *k, int check, int *shares,
			      int *boot, int *names)
{
	struct simtest_got g;

	for (int i = 0; i < 3 && simtest_recv_msg(m, &g) == 0; i++) {
		const WaE2E__HistorySyncNotification *hn = hist_notification(&g);

		if (take_share(&g, k) == 0)
			(*shares)++;
		else if (hn && check)
			take_history(t, &g, hn, boot, names);
		else if (hn && hn->has_synctype && hn->synctype == WA_E2_E__HISTORY_SYNC_TYPE__PUSH_NAME)
			(*names)++;
		else if (hn)
			(*boot)++;
		simtest_got_free(&g);
	}
}

/* 11.6 key share, 11.7 history sync: A1 pairs, uploads pre-keys and gets
 * both from its phone (fx.k1) */
static void key_share_history(struct simtest_ctx *t)
{
	int shares = 0, boot = 0, names = 0;

	is_int(simtest_comp_pair(&fx.a1, PA, &t->net), 0, "companion A1 paired and logged in");
	is_int(simtest_comp_upload(&fx.a1, 10), 0, "A1 uploads pre-keys");
	take_pairing_sync(t, &fx.a1, &fx.k1, 1, &shares, &boot, &names);
	is_int(shares, 1, "A1 got the app-state key share from its phone");
	is_int(boot, 1, "A1 got the INITIAL_BOOTSTRAP history chunk");
	is_int(names, 1, "A1 got the push names in their own PUSH_NAME chunk");
	ok(fx.k1.have && fx.k1.id_len == 6, "key share: 6-byte key id, 32-byte key data");
}

/* 9.1: once blobs exist (the two history chunks), media_conn's auth token
 * is still the 48 clean hex digits it was, and uploads with it work */
static void media_conn_after_history(struct simtest_ctx *t)
{
	char host[128], auth[128], dp[256];
	uint8_t blob[64];

	(void)t;
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)(i * 13 + 1);
	is_int(simtest_media_conn(&fx.a1, host, sizeof host, auth, sizeof auth), 0, "A1 fetches media_conn");
	ok(simtest_is_lower_hex(auth, 48), "media_conn auth is 48 lower-case hex digits after the history blobs");
	is_int(simtest_media_upload(host, auth, "image", blob, sizeof blob, dp, sizeof dp), 200,
	       "an upload with that auth is accepted");
	ok(dp[0] == '/', "the upload answer has a direct_path");
}

/* A2 pairs: the same key; then asks its phone for it again */
static void key_request(struct simtest_ctx *t)
{
	struct askey k2;
	struct simtest_got g;

	memset(&k2, 0, sizeof k2);
	is_int(simtest_comp_pair(&fx.a2, PA, &t->net), 0, "companion A2 paired and logged in");
	is_int(simtest_comp_upload(&fx.a2, 10), 0, "A2 uploads pre-keys");
	{
		int shares = 0, boot = 0, names = 0;

		take_pairing_sync(t, &fx.a2, &k2, 0, &shares, &boot, &names);
		ok(shares == 1 && boot == 1 && names == 1, "A2 got the key share and both history chunks");
	}
	ok(k2.have && k2.id_len == fx.k1.id_len && memcmp(k2.id, fx.k1.id, fx.k1.id_len) == 0 &&
	   memcmp(k2.data, fx.k1.data, 32) == 0, "A2 got the same key");
	memset(&k2, 0, sizeof k2);
	is_int(send_key_request(&fx.a2, &fx.k1), 0, "A2 sends an APP_STATE_SYNC_KEY_REQUEST to its phone");
	ok(simtest_recv_msg(&fx.a2, &g) == 0 && take_share(&g, &k2) == 0 && memcmp(k2.data, fx.k1.data, 32) == 0,
	   "the phone answers the key request with a share");
	simtest_got_free(&g);
}

/* 11.4 the phone's mutation, fetched and verified */
static void appstate_phone_archive(struct simtest_ctx *t)
{
	struct wa_node *r, *col, *n;
	char seen[1024];

	is_int(admin(t, "POST", "/admin/phones/" PA "/appstate",
		     "{\"action\":\"archive\",\"jid\":\"" PB "@s.whatsapp.net\",\"value\":true}", NULL),
	       200, "phone A archives the chat with B");
	n = recv_notif(&fx.a1, "server_sync");
	col = wa_node_child(n, "collection");
	ok(wa_node_attr_is(col, "name", "regular_low") && wa_node_attr_is(col, "version", "1"),
	   "A1: server_sync notification regular_low version 1");
	wa_node_free(n);
	n = recv_notif(&fx.a2, "server_sync");
	ok(n != NULL, "A2: server_sync notification too");
	wa_node_free(n);
	seen[0] = '\0';
	col = sync_iq(&fx.a1, "regular_low", 0, 0, NULL, 0, &r);
	ok(wa_node_attr_is(col, "version", "1") && !wa_node_attr_is(col, "type", "error") &&
	   wa_node_child(col, "snapshot") == NULL, "A1 fetches regular_low from 0: version 1, patches");
	is_int(apply_patches(col, fx.s1, &fx.k1, seen, sizeof seen), 1,
	       "A1 decrypts and verifies the patch (value/index MAC, LT-hash snapshot MAC, patch MAC)");
	wa_node_free(r);
	ok(strstr(seen, "[\"archive\",\"" PB "@s.whatsapp.net\"]=1") != NULL, "A1 sees: chat with B archived");
	is_int((int)wa_appstate_state_version(fx.s1), 1, "A1 state at version 1");
	{
		struct wa_appstate_state *s3 = wa_appstate_state_new("regular_low");

		seen[0] = '\0';
		col = sync_iq(&fx.a2, "regular_low", 0, 1, NULL, 0, &r);
		ok(wa_node_attr_is(col, "version", "1") && wa_node_child(col, "snapshot") != NULL &&
		   wa_node_child(col, "patches") == NULL, "A2 asks for a snapshot: <snapshot> external blob, version 1");
		is_int(apply_snapshot(t, col, s3, &fx.k1, seen, sizeof seen), 1,
		       "snapshot downloaded, decrypted (App State) and verified (record MACs, snapshot MAC)");
		ok(strstr(seen, "archive") != NULL && wa_appstate_state_version(s3) == 1 &&
		   memcmp(wa_appstate_state_hash(s3), wa_appstate_state_hash(fx.s1), WA_APPSTATE_HASH_LEN) == 0,
		   "snapshot state equals the patched state (version, LT-hash)");
		wa_node_free(r);
		wa_appstate_state_free(s3);
	}
	col = sync_iq(&fx.a1, "critical_block", 0, 0, NULL, 0, &r);
	ok(wa_node_attr_is(col, "version", "0") && wa_node_child(col, "patches") == NULL,
	   "an empty collection answers version 0, no patches");
	wa_node_free(r);
}

/* 11.5 a companion's mutation */
static void appstate_companion_pin(struct simtest_ctx *t)
{
	struct wa_node *r, *col, *n;
	char seen[1024];

	{
		struct wa_sync_action act;
		uint8_t *pt;
		size_t plen = 0;

		memset(&act, 0, sizeof act);
		wa_sync_action_pin(&act, fx.bj, 1, (int64_t)time(NULL) * 1000);
		pt = build_one(fx.s1, &fx.k1, &act, &plen);
		wa_sync_action_free(&act);
		ok(pt != NULL, "A1 builds a pin patch with the shared key");
		col = sync_iq(&fx.a1, "regular_low", 1, 0, pt, plen, &r);
		ok(wa_node_attr_is(col, "version", "2") && !wa_node_attr_is(col, "type", "error"),
		   "the server accepts it as version 2");
		wa_node_free(r);
		/* stale push: the client claims version 0 */
		col = sync_iq(&fx.a1, "regular_low", 0, 0, pt, plen, &r);
		ok(wa_node_attr_is(col, "type", "error") &&
		   wa_node_attr_is(wa_node_child(col, "error"), "code", "409"),
		   "a push on a stale version is refused with 409");
		is_int((int)wa_node_count(wa_node_child(col, "patches"), "patch"), 2,
		       "the 409 carries the two patches the client lacks");
		wa_node_free(r);
		free(pt);
	}
	n = recv_notif(&fx.a2, "server_sync");
	col = wa_node_child(n, "collection");
	ok(wa_node_attr_is(col, "version", "2"), "A2 is notified of version 2");
	wa_node_free(n);
	seen[0] = '\0';
	col = sync_iq(&fx.a1, "regular_low", 1, 0, NULL, 0, &r);
	is_int(apply_patches(col, fx.s1, &fx.k1, seen, sizeof seen), 1, "A1 re-syncs from 1: its own patch, verified");
	wa_node_free(r);
	seen[0] = '\0';
	col = sync_iq(&fx.a2, "regular_low", 0, 0, NULL, 0, &r);
	is_int(apply_patches(col, fx.s2, &fx.k1, seen, sizeof seen), 2, "A2 syncs from 0: both patches verified");
	wa_node_free(r);
	ok(strstr(seen, "archive") && strstr(seen, "[\"pin_v1\",\"" PB "@s.whatsapp.net\"]=1"),
	   "A2 sees the phone's archive and A1's pin");
	ok(memcmp(wa_appstate_state_hash(fx.s1), wa_appstate_state_hash(fx.s2), WA_APPSTATE_HASH_LEN) == 0,
	   "A1 and A2 end with the same LT-hash");
	{
		int verified = 0;

		is_int(view_field(t, PA, "regular_low", "pin_v1", "pinned", &verified), 1, "the phone sees A1's pin");
		ok(verified, "the phone verified every patch");
		is_int(view_field(t, PA, "regular_low", "archive", "archived", NULL), 1, "and its own archive");
	}
}

/* A2 undoes the phone's archive; the phone and A1 follow */
static void appstate_unarchive_from_a2(struct simtest_ctx *t)
{
	struct wa_node *r, *col, *n;
	char seen[1024];
	struct wa_sync_action act;
	uint8_t *pt;
	size_t plen = 0;

	memset(&act, 0, sizeof act);
	wa_sync_action_archive(&act, fx.bj, 0, NULL, (int64_t)time(NULL) * 1000);
	pt = build_one(fx.s2, &fx.k1, &act, &plen);
	wa_sync_action_free(&act);
	col = sync_iq(&fx.a2, "regular_low", wa_appstate_state_version(fx.s2), 0, pt, plen, &r);
	ok(wa_node_attr_is(col, "version", "3"), "A2 unarchives the chat with B: version 3");
	wa_node_free(r);
	free(pt);
	is_int(view_field(t, PA, "regular_low", "archive", "archived", NULL), 0, "the phone sees the chat unarchived");
	n = recv_notif(&fx.a1, "server_sync");
	ok(wa_node_attr_is(wa_node_child(n, "collection"), "version", "3"), "A1 is notified of version 3");
	wa_node_free(n);
	seen[0] = '\0';
	col = sync_iq(&fx.a1, "regular_low", 2, 0, NULL, 0, &r);
	ok(apply_patches(col, fx.s1, &fx.k1, seen, sizeof seen) == 1 &&
	   strstr(seen, "[\"archive\",\"" PB "@s.whatsapp.net\"]=0") != NULL, "A1 applies it: unarchived");
	wa_node_free(r);
}

static void appstate_unknown_action(struct simtest_ctx *t)
{
	is_int(admin(t, "POST", "/admin/phones/" PA "/appstate", "{\"action\":\"fly\",\"jid\":\"x@s.whatsapp.net\"}", NULL),
	       400, "unknown action: 400");
}

static void appstate_push_name(struct simtest_ctx *t)
{
	struct wa_node *r, *col;
	json_t *j = NULL;
	struct wa_appstate_state *cb = wa_appstate_state_new("critical_block");
	struct wa_sync_action act;
	uint8_t *pt;
	size_t plen = 0;

	memset(&act, 0, sizeof act);
	wa_sync_action_push_name(&act, "Alice Cooper", (int64_t)time(NULL) * 1000);
	pt = build_one(cb, &fx.k1, &act, &plen);
	wa_sync_action_free(&act);
	col = sync_iq(&fx.a1, "critical_block", 0, 0, pt, plen, &r);
	ok(wa_node_attr_is(col, "version", "1"), "A1 sets its push name through app state");
	wa_node_free(r);
	free(pt);
	wa_appstate_state_free(cb);
	is_int(admin(t, "GET", "/admin/phones/" PA "/state", NULL, &j), 200, "state summary");
	ok(j && strcmp(json_string_value(json_object_get(j, "pushName")), "Alice Cooper") == 0,
	   "the phone adopted the setting_pushName");
	json_decref(j);
}

/* 11.8 presence and chat state */
static void presence_chatstate(struct simtest_ctx *t)
{
	struct wa_node *n;
	json_t *j = NULL;

	have_b1(t);
	struct wa_node *p = wa_node_new_attrs("presence", "type", "subscribe", "to", fx.aj, NULL);

	waclient_send(fx.b1.c, p);
	wa_node_free(p);
	n = recv_from(&fx.b1, "presence", fx.aj);
	ok(n && wa_node_attr_is(n, "type", "unavailable"), "B1 subscribes to A: A is unavailable");
	wa_node_free(n);
	p = wa_node_new_attrs("presence", "type", "available", "name", "Alice A1", NULL);
	waclient_send(fx.a1.c, p);
	waclient_ping(fx.a1.c, T_MS); /* runs A1's loop so the frame leaves */
	wa_node_free(p);
	n = recv_from(&fx.b1, "presence", fx.aj);
	ok(n && wa_node_attr(n, "type") == NULL, "A1 goes available: B1 sees A online");
	wa_node_free(n);
	is_int(admin(t, "GET", "/admin/phones/" PA "/state", NULL, &j), 200, "state summary");
	ok(j && strcmp(json_string_value(json_object_get(j, "pushName")), "Alice A1") == 0,
	   "presence name became A's push name");
	json_decref(j);
	is_int(admin(t, "POST", "/admin/phones/" PA "/presence", "{\"available\":false}", NULL), 200,
	       "phone A goes offline (admin)");
	n = recv_from(&fx.b1, "presence", fx.aj);
	ok(n && wa_node_attr_is(n, "type", "unavailable") && wa_node_attr(n, "last") != NULL,
	   "B1 sees A unavailable with last seen");
	wa_node_free(n);
	p = wa_node_new_attrs("chatstate", "to", fx.bj, NULL);
	wa_node_add_new(p, "composing");
	waclient_send(fx.a1.c, p);
	waclient_ping(fx.a1.c, T_MS); /* runs A1's loop so the frame leaves */
	wa_node_free(p);
	n = recv_from(&fx.b1, "chatstate", fx.aj);
	ok(n && wa_node_child(n, "composing"), "A1 types: B1 gets <chatstate from=A><composing/>");
	wa_node_free(n);
	is_int(admin(t, "POST", "/admin/phones/" PB "/typing", "{\"to\":\"" PA "\",\"state\":\"recording\"}", NULL), 200,
	       "phone B records audio (admin)");
	n = recv_from(&fx.a1, "chatstate", fx.bj);
	ok(n && wa_node_attr_is(wa_node_child(n, "composing"), "media", "audio"), "A1 sees B recording");
	wa_node_free(n);
	n = recv_from(&fx.a2, "chatstate", fx.bj);
	ok(n != NULL, "A2 too");
	wa_node_free(n);
}

/* 11.9 about, picture */
static void about_text(struct simtest_ctx *t)
{
	struct wa_node *st = wa_node_new("status"), *r;

	wa_node_set_string(st, "at work");
	r = simple_iq(&fx.a1, "set", "status", NULL, st);
	ok(wa_node_attr_is(r, "type", "result"), "A1 sets its about text");
	wa_node_free(r);
}

static void profile_picture(struct simtest_ctx *t)
{
	struct wa_node *pic, *r;
	struct simtest_resp body;
	char url[600], id[32];

	have_b1(t);
	r = simple_iq(&fx.b1, "get", "w:profile:picture", fx.aj, wa_node_new_attrs("picture", "type", "image", "query", "url", NULL));
	ok(wa_node_attr_is(r, "type", "error") && wa_node_attr_is(wa_node_child(r, "error"), "code", "404"),
	   "no picture yet: 404 item-not-found");
	wa_node_free(r);
	pic = wa_node_new_attrs("picture", "type", "image", NULL);
	wa_node_set_bytes(pic, "\xff\xd8\xff\xe0JPEGDATA\xff\xd9", 14);
	r = simple_iq(&fx.a1, "set", "w:profile:picture", NULL, pic);
	ok(wa_node_attr(wa_node_child(r, "picture"), "id") != NULL, "A1 sets a picture: <picture id>");
	snprintf(id, sizeof id, "%s", wa_node_attr_or(wa_node_child(r, "picture"), "id", ""));
	wa_node_free(r);
	r = simple_iq(&fx.b1, "get", "w:profile:picture", fx.aj, wa_node_new_attrs("picture", "type", "image", "query", "url", NULL));
	pic = wa_node_child(r, "picture");
	ok(wa_node_attr_is(pic, "id", id) && wa_node_attr(pic, "url") && wa_node_attr(pic, "direct_path"),
	   "B1 gets A's picture: id, url, direct_path");
	snprintf(url, sizeof url, "%s", wa_node_attr_or(pic, "url", ""));
	wa_node_free(r);
	ok(simtest_http("GET", url, NULL, 0, &body) == 200 && body.len == 14 && memcmp(body.data, "\xff\xd8", 2) == 0,
	   "the url serves the stored image");
	free(body.data);
	r = simple_iq(&fx.b1, "get", "w:profile:picture", fx.aj,
		      wa_node_new_attrs("picture", "type", "image", "query", "url", "id", id, NULL));
	ok(wa_node_attr_is(wa_node_child(r, "picture"), "status", "304"), "known id: status 304");
	wa_node_free(r);
	r = simple_iq(&fx.a1, "set", "w:profile:picture", NULL, wa_node_new_attrs("picture", "type", "image", NULL));
	ok(wa_node_attr_is(r, "type", "result"), "A1 removes its picture");
	wa_node_free(r);
	r = simple_iq(&fx.b1, "get", "w:profile:picture", fx.aj, wa_node_new_attrs("picture", "type", "image", "query", "url", NULL));
	ok(wa_node_attr_is(wa_node_child(r, "error"), "code", "404"), "removed: 404 again");
	wa_node_free(r);
}

/* 10.1 / 11.9 group picture: A (creator, admin) and B (member) */
static void group_picture(struct simtest_ctx *t)
{
	struct wa_node *r, *n;
	json_t *j = NULL;

	have_b1(t);
	struct wa_node *pic;
	struct simtest_resp body;
	char gj[64], g2[64], url[600], id[32];

	gj[0] = g2[0] = '\0';
	is_int(admin(t, "POST", "/admin/groups", "{\"phone\":\"" PA "\",\"subject\":\"Pics\",\"participants\":[\"" PB "\"]}",
		     &j), 201, "phone A creates a group with B");
	snprintf(gj, sizeof gj, "%s", json_string_value(json_object_get(j, "jid")) ?: "");
	json_decref(j);
	is_int(admin(t, "POST", "/admin/groups", "{\"phone\":\"" PB "\",\"subject\":\"Bob only\",\"participants\":[]}", &j),
	       201, "phone B creates a group without A");
	snprintf(g2, sizeof g2, "%s", json_string_value(json_object_get(j, "jid")) ?: "");
	json_decref(j);
	n = recv_notif(&fx.a2, "w:gp2");
	ok(n && wa_node_child(n, "create"), "A2 sees the group created");
	wa_node_free(n);
	r = simple_iq(&fx.b1, "get", "w:profile:picture", gj, wa_node_new_attrs("picture", "type", "image", "query", "url", NULL));
	ok(wa_node_attr_is(wa_node_child(r, "error"), "code", "404"), "group without a picture: 404");
	wa_node_free(r);
	pic = wa_node_new_attrs("picture", "type", "image", NULL);
	wa_node_set_bytes(pic, "\xff\xd8\xff\xe0GROUPPIC\x01\x02\xff\xd9", 16);
	r = simple_iq(&fx.a1, "set", "w:profile:picture", gj, pic);
	ok(wa_node_attr(wa_node_child(r, "picture"), "id") != NULL, "admin A1 sets the group picture: <picture id>");
	snprintf(id, sizeof id, "%s", wa_node_attr_or(wa_node_child(r, "picture"), "id", ""));
	wa_node_free(r);
	n = recv_notif(&fx.a2, "picture");
	pic = wa_node_child(n, "set");
	ok(n && wa_node_attr_is(n, "from", gj) && wa_node_attr_is(pic, "jid", gj) && wa_node_attr_is(pic, "id", id) &&
	   wa_node_attr_is(pic, "author", fx.aj), "A2 gets <notification type=picture><set jid=group id author=A>");
	wa_node_free(n);
	n = recv_notif(&fx.b1, "picture");
	ok(wa_node_attr_is(wa_node_child(n, "set"), "id", id), "B1 gets it too");
	wa_node_free(n);
	r = simple_iq(&fx.b1, "get", "w:profile:picture", gj, wa_node_new_attrs("picture", "type", "image", "query", "url", NULL));
	pic = wa_node_child(r, "picture");
	ok(wa_node_attr_is(pic, "id", id) && wa_node_attr(pic, "url") && wa_node_attr(pic, "direct_path"),
	   "member B1 gets the group picture: id, url, direct_path");
	snprintf(url, sizeof url, "%s", wa_node_attr_or(pic, "url", ""));
	wa_node_free(r);
	memset(&body, 0, sizeof body);
	ok(simtest_http("GET", url, NULL, 0, &body) == 200 && body.len == 16 &&
	   memcmp(body.data, "\xff\xd8\xff\xe0GROUPPIC\x01\x02\xff\xd9", 16) == 0,
	   "the url serves the same bytes");
	free(body.data);
	r = simple_iq(&fx.b1, "get", "w:profile:picture", gj,
		      wa_node_new_attrs("picture", "type", "image", "query", "url", "id", id, NULL));
	ok(wa_node_attr_is(wa_node_child(r, "picture"), "status", "304"), "group picture, known id: 304");
	wa_node_free(r);
	pic = wa_node_new_attrs("picture", "type", "image", NULL);
	wa_node_set_bytes(pic, "\xff\xd8" "BOB\xff\xd9", 7);
	r = simple_iq(&fx.b1, "set", "w:profile:picture", gj, pic);
	ok(wa_node_attr_is(wa_node_child(r, "error"), "code", "403"), "non-admin B1 cannot set it: 403");
	wa_node_free(r);
	r = simple_iq(&fx.a1, "get", "w:profile:picture", g2, wa_node_new_attrs("picture", "type", "image", "query", "url", NULL));
	ok(wa_node_attr_is(wa_node_child(r, "error"), "code", "401"), "non-member get: 401 not-authorized");
	wa_node_free(r);
	r = simple_iq(&fx.a1, "set", "w:profile:picture", g2, wa_node_new_attrs("picture", "type", "image", NULL));
	ok(wa_node_attr_is(wa_node_child(r, "error"), "code", "403"), "non-member set: 403");
	wa_node_free(r);
	r = simple_iq(&fx.a1, "get", "w:profile:picture", "999999999999@g.us",
		      wa_node_new_attrs("picture", "type", "image", "query", "url", NULL));
	ok(wa_node_attr_is(wa_node_child(r, "error"), "code", "404"), "unknown group: 404");
	wa_node_free(r);
	r = simple_iq(&fx.a1, "set", "w:profile:picture", gj, wa_node_new_attrs("picture", "type", "image", NULL));
	ok(wa_node_attr_is(r, "type", "result"), "A1 removes the group picture");
	wa_node_free(r);
	n = recv_notif(&fx.a2, "picture");
	ok(wa_node_attr_is(wa_node_child(n, "delete"), "jid", gj) &&
	   wa_node_attr_is(wa_node_child(n, "delete"), "author", fx.aj), "A2 gets <delete jid=group author=A>");
	wa_node_free(n);
	r = simple_iq(&fx.b1, "get", "w:profile:picture", gj, wa_node_new_attrs("picture", "type", "image", "query", "url", NULL));
	ok(wa_node_attr_is(wa_node_child(r, "error"), "code", "404"), "group picture removed: 404");
	wa_node_free(r);
	snprintf(url, sizeof url, "/admin/groups/%s", gj);
	is_int(admin(t, "POST", url, "{\"phone\":\"" PB "\",\"action\":\"picture\",\"data\":\"/9j/2Q==\"}", NULL), 403,
	       "admin API: member B cannot set the group picture (403)");
	is_int(admin(t, "POST", url, "{\"phone\":\"" PA "\",\"action\":\"picture\",\"data\":\"/9j/2Q==\"}", NULL), 200,
	       "admin API: phone A sets the group picture");
	n = recv_notif(&fx.a2, "picture");
	ok(wa_node_child(n, "set") && !wa_node_attr_is(wa_node_child(n, "set"), "id", id),
	   "A2 is told, with a new id");
	wa_node_free(n);
	r = simple_iq(&fx.b1, "get", "w:profile:picture", gj, wa_node_new_attrs("picture", "type", "image", "query", "url", NULL));
	ok(wa_node_attr(wa_node_child(r, "picture"), "url") != NULL, "B1 gets the new picture");
	wa_node_free(r);
}

/* 11.10 blocklist */
static void blocklist(struct simtest_ctx *t)
{
	struct wa_node *r, *n;
	json_t *j = NULL;

	have_b1(t);
	struct wa_node *it, *m;

	r = simple_iq(&fx.a1, "get", "blocklist", NULL, NULL);
	ok(wa_node_child(r, "list") && wa_node_count(wa_node_child(r, "list"), "item") == 0, "blocklist empty");
	wa_node_free(r);
	it = wa_node_new_attrs("item", "action", "block", "jid", fx.bj, NULL);
	r = simple_iq(&fx.a1, "set", "blocklist", NULL, it);
	ok(wa_node_attr_is(wa_node_child(wa_node_child(r, "list"), "item"), "jid", fx.bj), "A1 blocks B: list has B");
	wa_node_free(r);
	n = recv_notif(&fx.a2, "account_sync");
	ok(wa_node_attr_is(wa_node_path(n, "blocklist", "item", NULL), "action", "block"),
	   "A2 gets account_sync blocklist block");
	wa_node_free(n);
	m = wa_node_new_attrs("message", "id", "BLOCKTEST1", "to", fx.aj, "type", "text", NULL);
	wa_node_set_bytes(wa_node_add_new(m, "enc"), "x", 1);
	wa_node_set_attr(wa_node_child(m, "enc"), "type", "msg");
	waclient_send(fx.b1.c, m);
	n = recv_from(&fx.b1, "ack", NULL);
	ok(wa_node_attr_is(n, "id", "BLOCKTEST1") && wa_node_attr_is(n, "error", "403"),
	   "B1's message to A is refused (ack error 403)");
	wa_node_free(n);
	is_int(admin(t, "POST", "/admin/phones/" PB "/send", "{\"to\":\"" PA "\",\"text\":\"let me in\"}", NULL) / 100 == 2,
	       0, "phone B cannot send to A either");
	it = wa_node_new_attrs("item", "action", "unblock", "jid", fx.bj, NULL);
	r = simple_iq(&fx.a1, "set", "blocklist", NULL, it);
	ok(wa_node_child(r, "list") && wa_node_count(wa_node_child(r, "list"), "item") == 0, "A1 unblocks B");
	wa_node_free(r);
	wa_node_set_attr(m, "id", "BLOCKTEST2");
	waclient_send(fx.b1.c, m);
	n = recv_from(&fx.b1, "ack", NULL);
	ok(wa_node_attr_is(n, "id", "BLOCKTEST2") && !wa_node_attr_is(n, "error", "403"),
	   "after unblocking the message is accepted");
	wa_node_free(n);
	wa_node_free(m);
	is_int(admin(t, "POST", "/admin/phones/" PA "/block", "{\"jid\":\"" PB "\",\"block\":true}", NULL), 200,
	       "phone A blocks B (admin)");
	is_int(admin(t, "GET", "/admin/phones/" PA "/state", NULL, &j), 200, "state lists it");
	ok(json_array_size(json_object_get(j, "blocked")) == 1, "one blocked number");
	json_decref(j);
}

/* 11.10 privacy, abt, disappearing mode */
static void privacy(struct simtest_ctx *t)
{
	struct wa_node *r, *n, *cat;

	r = simple_iq(&fx.a1, "get", "privacy", NULL, wa_node_new("privacy"));
	is_int((int)wa_node_count(wa_node_child(r, "privacy"), "category"), 10, "privacy get: 10 categories");
	wa_node_free(r);
	cat = wa_node_new("privacy");
	wa_node_add_child(cat, wa_node_new_attrs("category", "name", "last", "value", "contacts", NULL));
	r = simple_iq(&fx.a1, "set", "privacy", NULL, cat);
	ok(wa_node_attr_is(wa_node_path(r, "privacy", "category", NULL), "value", "contacts"), "privacy set last=contacts");
	wa_node_free(r);
	/* (blocklist's unblock, when it ran, queued one account_sync before this one) */
	for (int i = 0; i < 3 && (n = recv_notif(&fx.a2, "account_sync")) != NULL && !wa_node_child(n, "privacy"); i++) {
		wa_node_free(n);
		n = NULL;
	}
	ok(wa_node_attr_is(wa_node_path(n, "privacy", "category", NULL), "name", "last"),
	   "A2 gets account_sync privacy");
	wa_node_free(n);
	cat = wa_node_new("privacy");
	wa_node_add_child(cat, wa_node_new_attrs("category", "name", "last", "value", "everyone", NULL));
	r = simple_iq(&fx.a1, "set", "privacy", NULL, cat);
	ok(wa_node_attr_is(wa_node_child(r, "error"), "code", "400"), "bad privacy value: 400");
	wa_node_free(r);
}

static void abt_props(struct simtest_ctx *t)
{
	struct wa_node *r;

	r = simple_iq(&fx.a1, "get", "abt", NULL, wa_node_new_attrs("props", "protocol", "1", NULL));
	ok(wa_node_child(r, "props") != NULL, "abt props answered");
	wa_node_free(r);
}

static void disappearing_mode(struct simtest_ctx *t)
{
	struct wa_node *r;
	json_t *j = NULL;

	r = simple_iq(&fx.a1, "set", "disappearing_mode", NULL,
		      wa_node_new_attrs("disappearing_mode", "duration", "86400", NULL));
	ok(wa_node_attr_is(r, "type", "result"), "default disappearing timer set");
	wa_node_free(r);
	is_int(admin(t, "GET", "/admin/phones/" PA "/state", NULL, &j), 200, "state summary");
	ok(json_integer_value(json_object_get(j, "disappearingSeconds")) == 86400 &&
	   strcmp(json_string_value(json_object_get(json_object_get(j, "privacy"), "last")), "contacts") == 0,
	   "summary shows privacy and timer");
	json_decref(j);
}

static void appstate_unknown_phone(struct simtest_ctx *t)
{
	char path[128];

	snprintf(path, sizeof path, "/admin/phones/%s/appstate", PC);
	is_int(admin(t, "GET", path, NULL, NULL), 404, "unknown phone: 404");
}

static void teardown(struct simtest_ctx *t)
{
	simtest_comp_free(&fx.a1);
	simtest_comp_free(&fx.a2);
	simtest_comp_free(&fx.b1);
	wa_appstate_state_free(fx.s1);
	wa_appstate_state_free(fx.s2);
}

static const struct simtest_case cases[] = {
	{ "key_share_history", key_share_history, NULL },
	{ "media_conn_after_history", media_conn_after_history, "key_share_history" },
	{ "key_request", key_request, "key_share_history" },
	{ "appstate_phone_archive", appstate_phone_archive, "key_request" },
	{ "appstate_companion_pin", appstate_companion_pin, "appstate_phone_archive" },
	{ "appstate_unarchive_from_a2", appstate_unarchive_from_a2, "appstate_companion_pin" },
	{ "appstate_unknown_action", appstate_unknown_action, NULL },
	{ "appstate_push_name", appstate_push_name, "key_share_history" },
	{ "presence_chatstate", presence_chatstate, "key_request" },
	{ "about_text", about_text, "key_share_history" },
	{ "profile_picture", profile_picture, "key_share_history" },
	{ "group_picture", group_picture, "key_request" },
	{ "blocklist", blocklist, "key_request" },
	{ "privacy", privacy, "key_request" },
	{ "abt_props", abt_props, "key_share_history" },
	{ "disappearing_mode", disappearing_mode, "privacy" },
	{ "appstate_unknown_phone", appstate_unknown_phone, NULL },
};

static const struct simtest_suite suite = {
	.name = "test_sim_state",
	.media = 1,
	.setup = setup,
	.teardown = teardown,
	.cases = cases,
	.n_cases = sizeof cases / sizeof cases[0],
};

int main(int argc, char **argv)
{
	return simtest_main(&suite, argc, argv);
}
