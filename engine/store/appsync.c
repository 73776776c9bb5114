/* appsync: a session's app-state collections and their effects (see appsync.h). */
#include "engine/store/appsync.h"
#include "engine/store/history.h"
#include "engine/store/mediahost.h"
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa/mediacrypto.h"
#include "wa/pbsafe.h"
#include "wa/syncaction.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOB_MAX (64u << 20)   /* a snapshot or external mutations, encrypted */

int wa_appsync_coll_index(const char *name)
{
	for (int i = 0; i < WA_APPSYNC_NCOLL; i++)
		if (name && strcmp(name, wa_appstate_collection((size_t)i)) == 0)
			return i;
	return -1;
}

int wa_appsync_versions(struct wa_db *db, uint64_t row, uint64_t v[WA_APPSYNC_NCOLL], int *has_key)
{
	struct wa_db_text t;
	long long keys;

	memset(v, 0, WA_APPSYNC_NCOLL * sizeof *v);
	if (wa_db_text_query(db, &t, "SELECT collection, version FROM wa_app_state_versions WHERE wa_session_id = ?",
			     "u", (unsigned long long)row) != 0)
		return WA_ESTORAGE;
	for (size_t r = 0; r < t.nrows; r++) {
		int ci = wa_appsync_coll_index(wa_db_text_val(&t, r, 0, NULL));
		const char *ver = wa_db_text_val(&t, r, 1, NULL);

		if (ci >= 0 && ver)
			v[ci] = strtoull(ver, NULL, 10);
	}
	wa_db_text_free(&t);
	keys = wa_db_int(db, -1, "SELECT COUNT(*) FROM wa_app_state_keys WHERE wa_session_id = ?", "u",
			 (unsigned long long)row);
	if (keys < 0)
		return WA_ESTORAGE;
	*has_key = keys > 0;
	return 0;
}

/* ---- the stored state ---- */

/* The stored state of coll into *out (a new state; version 0 when none).
 * No row lock is taken: one engine owns the session and does one app-state
 * step of it at a time (engine/sess_appstate.c), and a FOR UPDATE of a row
 * that does not exist yet would take gap locks that deadlock the inserts
 * of other sessions' jobs in the same batches. */
static int load_state(struct wa_db *db, uint64_t row, const char *coll, struct wa_appstate_state **out)
{
	struct wa_appstate_state *s = wa_appstate_state_new(coll);
	struct wa_db_text t;
	int rc = 0;

	*out = NULL;
	if (!s)
		return WA_ENOMEM;
	if (wa_db_text_query(db, &t, "SELECT version, HEX(hash) FROM wa_app_state_versions WHERE wa_session_id = ? AND "
			     "collection = ?", "us", (unsigned long long)row, coll) != 0) {
		wa_appstate_state_free(s);
		return WA_ESTORAGE;
	}
	if (t.nrows == 1) {
		uint8_t hash[WA_APPSTATE_HASH_LEN];
		const char *ver = wa_db_text_val(&t, 0, 0, NULL), *hx = wa_db_text_val(&t, 0, 1, NULL);

		if (!ver || !hx || wa_hex_decode(hx, hash, sizeof hash) != 0)
			rc = WA_EPROTO;
		else
			wa_appstate_state_set_version(s, strtoull(ver, NULL, 10), hash);
	}
	wa_db_text_free(&t);
	if (rc == 0 && wa_appstate_state_version(s) > 0) {
		if (wa_db_text_query(db, &t, "SELECT HEX(index_mac), HEX(value_mac) FROM wa_app_state_macs WHERE "
				     "wa_session_id = ? AND collection = ?", "us", (unsigned long long)row, coll) != 0)
			rc = WA_ESTORAGE;
		for (size_t r = 0; rc == 0 && r < t.nrows; r++) {
			uint8_t im[32], vm[32];
			const char *a = wa_db_text_val(&t, r, 0, NULL), *b = wa_db_text_val(&t, r, 1, NULL);

			if (!a || !b || wa_hex_decode(a, im, 32) != 0 || wa_hex_decode(b, vm, 32) != 0)
				rc = WA_EPROTO;
			else if (wa_appstate_state_put(s, im, vm) != 0)
				rc = WA_ETOOBIG;
		}
		if (rc != WA_ESTORAGE)
			wa_db_text_free(&t);
	}
	if (rc != 0) {
		wa_appstate_state_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static int save_version(struct wa_db *db, uint64_t row, const struct wa_appstate_state *s)
{
	char hx[2 * WA_APPSTATE_HASH_LEN + 1];

	wa_hex_encode(wa_appstate_state_hash(s), WA_APPSTATE_HASH_LEN, hx);
	return wa_db_exec(db, "INSERT INTO wa_app_state_versions (wa_session_id, collection, version, hash) VALUES "
			  "(?, ?, ?, UNHEX(?)) ON DUPLICATE KEY UPDATE version = VALUES(version), hash = VALUES(hash)",
			  "usus", (unsigned long long)row, wa_appstate_state_name(s),
			  (unsigned long long)wa_appstate_state_version(s), hx) < 0 ? WA_ESTORAGE : 0;
}

static int save_mac(struct wa_db *db, uint64_t row, const char *coll, const struct wa_appstate_mutation *m)
{
	char im[65], vm[65];

	wa_hex_encode(m->index_mac, 32, im);
	if (m->op == WA_APPSTATE_REMOVE)
		return wa_db_exec(db, "DELETE FROM wa_app_state_macs WHERE wa_session_id = ? AND collection = ? AND "
				  "index_mac = UNHEX(?)", "uss", (unsigned long long)row, coll, im) < 0 ? WA_ESTORAGE : 0;
	wa_hex_encode(m->value_mac, 32, vm);
	return wa_db_exec(db, "INSERT INTO wa_app_state_macs (wa_session_id, collection, index_mac, value_mac) VALUES "
			  "(?, ?, UNHEX(?), UNHEX(?)) ON DUPLICATE KEY UPDATE value_mac = VALUES(value_mac)", "usss",
			  (unsigned long long)row, coll, im, vm) < 0 ? WA_ESTORAGE : 0;
}

/* ---- keys ---- */

struct keyctx {
	struct wa_db *db;
	uint64_t row;
	int storage_failed;
};

static int get_key(void *ud, const uint8_t *key_id, size_t len, uint8_t key_data[32])
{
	struct keyctx *k = ud;
	char idhex[2 * WA_APPSTATE_MAX_KEY_ID + 1];
	struct wa_db_text t;
	const char *hx;
	int rc = -1;

	if (len == 0 || len > WA_APPSTATE_MAX_KEY_ID)
		return -1;
	wa_hex_encode(key_id, len, idhex);
	if (wa_db_text_query(k->db, &t, "SELECT HEX(key_data) FROM wa_app_state_keys WHERE wa_session_id = ? AND "
			     "key_id = UNHEX(?)", "us", (unsigned long long)k->row, idhex) != 0) {
		k->storage_failed = 1;
		return -1;
	}
	if (t.nrows == 1 && (hx = wa_db_text_val(&t, 0, 0, NULL)) && strlen(hx) == 64 &&
	    wa_hex_decode(hx, key_data, 32) == 0)
		rc = 0;
	if (t.data)
		explicit_bzero(t.data, t.data_len);
	wa_db_text_free(&t);
	return rc;
}

/* The newest key (by the phone's timestamp, then as stored). */
static int newest_key(struct wa_db *db, uint64_t row, uint8_t *id, size_t *idlen, uint8_t data[32])
{
	struct wa_db_text t;
	const char *a, *b;
	int rc = WA_ENOTFOUND;

	if (wa_db_text_query(db, &t, "SELECT HEX(key_id), HEX(key_data) FROM wa_app_state_keys WHERE wa_session_id = ? "
			     "ORDER BY key_ts DESC, created_at DESC LIMIT 1", "u", (unsigned long long)row) != 0)
		return WA_ESTORAGE;
	if (t.nrows == 1 && (a = wa_db_text_val(&t, 0, 0, NULL)) && (b = wa_db_text_val(&t, 0, 1, NULL)) &&
	    strlen(a) % 2 == 0 && strlen(a) / 2 <= WA_APPSTATE_MAX_KEY_ID && strlen(a) > 0 && strlen(b) == 64 &&
	    wa_hex_decode(a, id, strlen(a) / 2) == 0 && wa_hex_decode(b, data, 32) == 0) {
		*idlen = strlen(a) / 2;
		rc = 0;
	}
	if (t.data)
		explicit_bzero(t.data, t.data_len);
	wa_db_text_free(&t);
	return rc;
}

/* ---- blobs: snapshots and external mutations (§11.4, media type App State) ---- */

static int fetch_blob(const struct wa_history_env *env, const WaServerSync__ExternalBlobReference *ref,
		      uint8_t **plain, size_t *plain_len)
{
	uint8_t *enc = NULL;
	size_t enc_len = 0;
	int rc;

	*plain = NULL;
	if (!ref->has_mediakey || ref->mediakey.len != 32 || !ref->directpath)
		return WA_EPROTO;
	rc = wa_mediahost_get_mem(env, ref->directpath,
				  ref->has_fileencsha256 && ref->fileencsha256.len == 32 ? ref->fileencsha256.data : NULL,
				  wa_media_mms_type(WA_MEDIA_APP_STATE), env->timeout_ms, BLOB_MAX, &enc, &enc_len);
	if (rc != 0)
		return rc == WA_ENOMEM || rc == WA_ETOOBIG ? rc : WA_EIO;
	rc = wa_media_decrypt(WA_MEDIA_APP_STATE, ref->mediakey.data, enc, enc_len,
			      ref->has_fileencsha256 && ref->fileencsha256.len == 32 ? ref->fileencsha256.data : NULL,
			      ref->has_filesha256 && ref->filesha256.len == 32 ? ref->filesha256.data : NULL, plain,
			      plain_len, NULL);
	free(enc);
	if (rc != 0) {
		wa_warn("app state: a blob does not verify: %s", wa_media_strerror(rc));
		return WA_ECRYPTO;
	}
	return 0;
}

/* ---- effects ---- */

struct fx {
	struct wa_db *db;
	uint64_t row;
	const char *slug;
	json_t *events;
};

/* The event (data taken) into the outbox and the list to publish. */
static int emit(struct fx *f, const char *event, json_t *data)
{
	char *payload;
	uint64_t ob = 0;
	int rc;

	if (!data)
		return WA_ENOMEM;
	json_object_set_new(data, "sessionId", json_string(f->slug));
	json_object_set_new(data, "source", json_string("app_state"));
	payload = json_dumps(data, JSON_COMPACT);
	rc = payload ? wa_outbox_add(f->db, f->row, event, payload, &ob) : WA_ENOMEM;
	free(payload);
	if (rc == 0)
		rc = json_array_append_new(f->events, json_pack("[I,s,o]", (json_int_t)ob, event, data)) ? WA_ENOMEM : 0;
	else
		json_decref(data);
	return rc;
}

/* The chat row exists afterwards (a mutation may name a chat we have
 * never stored a message of). */
static int ensure_chat(struct fx *f, const char *chat)
{
	if (wa_msgs_chats_settle(f->db) != 0)
		return WA_ESTORAGE;
	return wa_db_exec(f->db, "INSERT IGNORE INTO chats (wa_session_id, jid, is_group) VALUES (?, ?, ?)", "usb",
			  (unsigned long long)f->row, chat, strstr(chat, "@g.us") != NULL) < 0 ? WA_ESTORAGE : 0;
}

/* Milliseconds since the epoch as the API writes times. */
static json_t *iso_ms(long long ms)
{
	char buf[40];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return json_null();
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ".%03dZ", (int)(ms % 1000));
	return json_string(buf);
}

/* A mute end beyond what FROM_UNIXTIME takes (2038) reads as forever. */
#define MUTE_FOREVER_MS 253402300799000LL   /* 9999-12-31T23:59:59Z */

static int fx_chat(struct fx *f, const char *action, const char *chat, int set, const WaSyncAction__SyncActionValue *v)
{
	unsigned long long sid = (unsigned long long)f->row;
	json_t *ev = json_pack("{s:s}", "jid", chat);
	long long n;

	if (!ev)
		return WA_ENOMEM;
	if (ensure_chat(f, chat) != 0) {
		json_decref(ev);
		return WA_ESTORAGE;
	}
	if (strcmp(action, "archive") == 0) {
		int on = set && v->archivechataction && v->archivechataction->archived;

		n = wa_db_exec(f->db, "UPDATE chats SET archived = ? WHERE wa_session_id = ? AND jid = ?", "bus", on, sid,
			       chat);
		json_object_set_new(ev, "archived", json_boolean(on));
	} else if (strcmp(action, "pin_v1") == 0) {
		int on = set && v->pinaction && v->pinaction->pinned;
		long long ts = on && v->has_timestamp && v->timestamp > 0 ? v->timestamp : 0;

		n = wa_db_exec(f->db, "UPDATE chats SET pinned = ?, pinned_at = IF(? > 0, FROM_UNIXTIME(? / 1000), NULL) "
			       "WHERE wa_session_id = ? AND jid = ?", "biius", on, ts, ts, sid, chat);
		json_object_set_new(ev, "pinned", json_boolean(on));
	} else if (strcmp(action, "mute") == 0) {
		int on = set && v->muteaction && v->muteaction->muted;
		long long end = on ? v->muteaction->muteendtimestamp : 0;

		if (on && (end <= 0 || end >= 2147483647000LL))
			end = MUTE_FOREVER_MS; /* -1: forever (WM) */
		n = wa_db_exec(f->db, "UPDATE chats SET muted_until = CASE WHEN ? <= 0 THEN NULL WHEN ? >= ? THEN "
			       "'9999-12-31 23:59:59' ELSE FROM_UNIXTIME(? / 1000) END WHERE wa_session_id = ? AND jid = ?",
			       "iiiius", end, end, MUTE_FOREVER_MS, end, sid, chat);
		json_object_set_new(ev, "muted", json_boolean(on));
		json_object_set_new(ev, "mutedUntil", on ? iso_ms(end) : json_null());
	} else { /* markChatAsRead: read clears the count, unread marks it (at least 1) */
		int read = set && v->markchatasreadaction && v->markchatasreadaction->read;

		n = wa_db_exec(f->db, read ? "UPDATE chats SET unread_count = 0 WHERE wa_session_id = ? AND jid = ?"
				    : "UPDATE chats SET unread_count = GREATEST(unread_count, 1) WHERE wa_session_id = ? AND "
				      "jid = ?", "us", sid, chat);
		json_object_set_new(ev, "read", json_boolean(read));
	}
	if (n < 0) {
		json_decref(ev);
		return WA_ESTORAGE;
	}
	return emit(f, "chat.update", ev);
}

static int fx_star(struct fx *f, char **parts, size_t n, int set, const WaSyncAction__SyncActionValue *v)
{
	char chat[WA_JID_STR_MAX];
	int on = set && v->staraction && v->staraction->starred;
	long long changed;

	if (n < 3 || wa_jid_chat(parts[1], chat) != 0 || !*parts[2] || strlen(parts[2]) > 128)
		return 0;
	changed = wa_db_exec(f->db, "UPDATE messages SET starred = ? WHERE wa_session_id = ? AND remote_jid = ? AND "
			     "message_id = ?", "buss", on, (unsigned long long)f->row, chat, parts[2]);
	if (changed < 0)
		return WA_ESTORAGE;
	return emit(f, "chat.update", json_pack("{s:s,s:s,s:b}", "jid", chat, "messageId", parts[2], "starred", on));
}

static int fx_contact(struct fx *f, const char *jid_in, int set, const WaSyncAction__SyncActionValue *v)
{
	char jid[WA_JID_STR_MAX];
	const char *name = set && v->contactaction ? (v->contactaction->fullname ? v->contactaction->fullname
						       : v->contactaction->firstname) : NULL;

	if (wa_jid_chat(jid_in, jid) != 0 || strstr(jid, "@g.us"))
		return 0;
	if (wa_db_exec(f->db, "INSERT INTO contacts (wa_session_id, jid, name) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE "
		       "name = VALUES(name)", "uss", (unsigned long long)f->row, jid, name) < 0)
		return WA_ESTORAGE;
	return emit(f, "contact.update", json_pack("{s:s,s:s?}", "jid", jid, "name", name));
}

/* Whether the API changed label id (of chat; NULL: the label itself) and
 * WhatsApp has not been told yet (a label_sync_queue row): that change is
 * newer than whatever a fetch brings (the echo of our own earlier patch,
 * say), and it is pushed next, so the fetched one is not applied. 1, 0, or
 * WA_ESTORAGE. */
static int api_pending(struct fx *f, const char *id, const char *chat)
{
	long long n = wa_db_int(f->db, -1, "SELECT COUNT(*) FROM label_sync_queue WHERE wa_session_id = ? AND "
				"label_id = ? AND chat_jid <=> ?", "uss", (unsigned long long)f->row, id, chat);

	return n < 0 ? WA_ESTORAGE : n > 0;
}

static int fx_label_edit(struct fx *f, const char *id, int set, const WaSyncAction__SyncActionValue *v)
{
	const WaSyncAction__LabelEditAction *l = v->labeleditaction;
	int deleted = !set || !l || (l->has_deleted && l->deleted);
	const char *name = l && l->name ? l->name : "";
	char pre[24];
	int rc;

	if (!*id || strlen(id) > 64)
		return 0;
	if ((rc = api_pending(f, id, NULL)) != 0)
		return rc < 0 ? rc : 0;
	snprintf(pre, sizeof pre, "%d", l && l->has_predefinedid ? l->predefinedid : 0);
	if (deleted) {
		if (wa_db_exec(f->db, "UPDATE labels SET deleted = 1 WHERE wa_session_id = ? AND label_id = ?", "us",
			       (unsigned long long)f->row, id) < 0 ||
		    wa_db_exec(f->db, "DELETE FROM chat_labels WHERE wa_session_id = ? AND label_id = ?", "us",
			       (unsigned long long)f->row, id) < 0)
			return WA_ESTORAGE;
	} else if (wa_db_exec(f->db, "INSERT INTO labels (wa_session_id, label_id, name, color, predefined_id, deleted) "
			      "VALUES (?, ?, ?, ?, ?, 0) ON DUPLICATE KEY UPDATE name = VALUES(name), color = VALUES(color), "
			      "predefined_id = VALUES(predefined_id), deleted = 0", "ussis", (unsigned long long)f->row, id,
			      name, (long long)(l->has_color ? l->color : 0), l->has_predefinedid ? pre : NULL) < 0) {
		return WA_ESTORAGE;
	}
	return emit(f, "label.update", json_pack("{s:s,s:s,s:I,s:b}", "labelId", id, "name", name, "color",
						 (json_int_t)(l && l->has_color ? l->color : 0), "deleted", deleted));
}

static int fx_label_chat(struct fx *f, char **parts, size_t n, int set, const WaSyncAction__SyncActionValue *v)
{
	char chat[WA_JID_STR_MAX];
	int on = set && v->labelassociationaction && v->labelassociationaction->labeled, rc;

	if (n < 3 || !*parts[1] || strlen(parts[1]) > 64 || wa_jid_chat(parts[2], chat) != 0)
		return 0;
	if ((rc = api_pending(f, parts[1], chat)) != 0)
		return rc < 0 ? rc : 0;
	if (wa_db_exec(f->db, on ? "INSERT IGNORE INTO chat_labels (wa_session_id, chat_jid, label_id) VALUES (?, ?, ?)"
			       : "DELETE FROM chat_labels WHERE wa_session_id = ? AND chat_jid = ? AND label_id = ?", "uss",
		       (unsigned long long)f->row, chat, parts[1]) < 0)
		return WA_ESTORAGE;
	return emit(f, "chat.update", json_pack("{s:s,s:s,s:b}", "jid", chat, "labelId", parts[1], "labeled", on));
}

/* What one applied mutation means for our tables. */
static int effect(struct fx *f, const struct wa_appstate_mutation *m)
{
	static const WaSyncAction__SyncActionValue none = WA_SYNC_ACTION__SYNC_ACTION_VALUE__INIT;
	const WaSyncAction__SyncActionValue *v = m->data && m->data->value ? m->data->value : &none;
	int set = m->op == WA_APPSTATE_SET, rc = 0;
	char **parts = NULL, chat[WA_JID_STR_MAX];
	size_t n = 0;

	if (!m->index_json || wa_appstate_index_parse(m->index_json, m->index_len, &parts, &n) != 0 || n == 0)
		return 0; /* verified, but not an index we read */
	if ((strcmp(parts[0], "archive") == 0 || strcmp(parts[0], "pin_v1") == 0 || strcmp(parts[0], "mute") == 0 ||
	     strcmp(parts[0], "markChatAsRead") == 0) && n >= 2) {
		if (wa_jid_chat(parts[1], chat) == 0)
			rc = fx_chat(f, parts[0], chat, set, v);
	} else if (strcmp(parts[0], "star") == 0) {
		rc = fx_star(f, parts, n, set, v);
	} else if (strcmp(parts[0], "contact") == 0 && n >= 2) {
		rc = fx_contact(f, parts[1], set, v);
	} else if (strcmp(parts[0], "setting_pushName") == 0) {
		if (set && v->pushnamesetting && v->pushnamesetting->name && *v->pushnamesetting->name &&
		    wa_db_exec(f->db, "UPDATE wa_sessions SET push_name = ? WHERE id = ?", "su", v->pushnamesetting->name,
			       (unsigned long long)f->row) < 0)
			rc = WA_ESTORAGE;
	} else if (strcmp(parts[0], "label_edit") == 0 && n >= 2) {
		rc = fx_label_edit(f, parts[1], set, v);
	} else if (strcmp(parts[0], "label_jid") == 0) {
		rc = fx_label_chat(f, parts, n, set, v);
	}
	wa_appstate_index_free(parts, n);
	return rc;
}

/* ---- apply ---- */

/* Persist a result (macs, effects) of collection coll. */
static int persist(struct fx *f, const char *coll, const struct wa_appstate_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		int rc = save_mac(f->db, f->row, coll, &r->mutations[i]);

		if (rc == 0)
			rc = effect(f, &r->mutations[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int map_err(int rc)
{
	if (rc == WA_APPSTATE_ERR_NO_KEY)
		return WA_ENOTFOUND;
	if (rc == WA_APPSTATE_ENOMEM)
		return WA_ENOMEM;
	if (rc == WA_APPSTATE_ERR_LIMIT)
		return WA_ETOOBIG;
	if (rc == WA_APPSTATE_ERR_VALUE_MAC || rc == WA_APPSTATE_ERR_INDEX_MAC || rc == WA_APPSTATE_ERR_DECRYPT ||
	    rc == WA_APPSTATE_ERR_SNAPSHOT_MAC || rc == WA_APPSTATE_ERR_PATCH_MAC)
		return WA_ECRYPTO;
	return WA_EPROTO;
}

struct apply_ctx {
	uint64_t row;
	const char *slug;
	const struct wa_history_env *env;
	const struct wa_appsync_in *in;
	struct wa_appsync_res *res;
};

/* Note a key the data needs and we lack. */
static void note_missing(struct wa_appsync_res *res, const struct wa_appstate_result *r)
{
	res->missing_key_len = r->missing_key_id_len;
	memcpy(res->missing_key, r->missing_key_id, r->missing_key_id_len);
}

/* After an apply that returned rc (a wa_appstate_err): the result stored
 * (its MACs and effects), or the error mapped; r released. */
static int finish(struct fx *f, struct keyctx *kc, struct wa_appstate_state *st, const struct apply_ctx *a, int rc,
		  struct wa_appstate_result *r)
{
	if (rc == WA_APPSTATE_OK)
		rc = persist(f, wa_appstate_state_name(st), r);
	else if (kc->storage_failed)
		rc = WA_ESTORAGE;
	else {
		if (rc == WA_APPSTATE_ERR_NO_KEY)
			note_missing(a->res, r);
		rc = map_err(rc);
	}
	a->res->applied += r->n;
	wa_appstate_result_free(r);
	return rc;
}

static int apply_snapshot(struct fx *f, struct keyctx *kc, struct wa_appstate_state *st, const struct apply_ctx *a)
{
	WaServerSync__ExternalBlobReference *ref;
	WaServerSync__SyncdSnapshot *snap;
	struct wa_appstate_result r;
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	int rc;

	ref = (WaServerSync__ExternalBlobReference *)wa_pb_unpack(&wa_server_sync__external_blob_reference__descriptor,
								  a->in->snapshot, a->in->snapshot_len, WA_PB_MAX_DEPTH);
	if (!ref)
		return WA_EPROTO;
	rc = fetch_blob(a->env, ref, &plain, &plain_len);
	wa_server_sync__external_blob_reference__free_unpacked(ref, NULL);
	if (rc != 0)
		return rc;
	snap = (WaServerSync__SyncdSnapshot *)wa_pb_unpack(&wa_server_sync__syncd_snapshot__descriptor, plain,
							   plain_len, WA_PB_MAX_DEPTH);
	free(plain);
	if (!snap)
		return WA_EPROTO;
	rc = wa_appstate_apply_snapshot(st, snap, get_key, kc, &r);
	wa_server_sync__syncd_snapshot__free_unpacked(snap, NULL);
	if (rc != WA_APPSTATE_OK && !kc->storage_failed)
		wa_info("app state: %s snapshot of session %s does not apply: %s", wa_appstate_state_name(st), a->slug,
			wa_appstate_strerror(rc));
	return finish(f, kc, st, a, rc, &r);
}

static int apply_one_patch(struct fx *f, struct keyctx *kc, struct wa_appstate_state *st, const struct apply_ctx *a,
			   const struct wa_appsync_patch *pp)
{
	WaServerSync__SyncdPatch *p;
	WaServerSync__SyncdMutations *ext = NULL;
	struct wa_appstate_result r;
	int rc = 0;

	p = (WaServerSync__SyncdPatch *)wa_pb_unpack(&wa_server_sync__syncd_patch__descriptor, pp->p, pp->len,
						     WA_PB_MAX_DEPTH);
	if (!p)
		return WA_EPROTO;
	if (p->version && p->version->has_version && p->version->version <= wa_appstate_state_version(st)) {
		wa_server_sync__syncd_patch__free_unpacked(p, NULL);
		return 0; /* applied before */
	}
	if (p->externalmutations) {
		uint8_t *plain = NULL;
		size_t plain_len = 0;

		rc = fetch_blob(a->env, p->externalmutations, &plain, &plain_len);
		if (rc == 0 && !(ext = (WaServerSync__SyncdMutations *)wa_pb_unpack(
					 &wa_server_sync__syncd_mutations__descriptor, plain, plain_len, WA_PB_MAX_DEPTH)))
			rc = WA_EPROTO;
		free(plain);
		if (rc != 0) {
			wa_server_sync__syncd_patch__free_unpacked(p, NULL);
			return rc;
		}
	}
	rc = wa_appstate_apply_patch(st, p, ext, get_key, kc, &r);
	if (rc != WA_APPSTATE_OK && !kc->storage_failed)
		wa_info("app state: %s patch %llu of session %s does not apply: %s", wa_appstate_state_name(st),
			(unsigned long long)(p->version && p->version->has_version ? p->version->version : 0), a->slug,
			wa_appstate_strerror(rc));
	rc = finish(f, kc, st, a, rc, &r);
	if (ext)
		wa_server_sync__syncd_mutations__free_unpacked(ext, NULL);
	wa_server_sync__syncd_patch__free_unpacked(p, NULL);
	return rc;
}

static int apply_txn(struct wa_db *db, void *arg)
{
	const struct apply_ctx *a = arg;
	const char *coll = wa_appstate_collection((size_t)a->in->ci);
	struct fx f = { db, a->row, a->slug, NULL };
	struct keyctx kc = { db, a->row, 0 };
	struct wa_appstate_state *st = NULL;
	int rc;

	json_decref(a->res->events);
	a->res->events = f.events = json_array();
	a->res->applied = 0;
	a->res->missing_key_len = 0;
	if (!f.events)
		return WA_ENOMEM;
	if (wa_db_begin(db) < 0)
		return WA_ESTORAGE;
	rc = load_state(db, a->row, coll, &st);
	if (rc == 0 && (a->in->resync || a->in->snapshot)) {
		/* from scratch: the snapshot (or every patch from 1) rebuilds it */
		wa_appstate_state_reset(st);
		if (wa_db_exec(db, "DELETE FROM wa_app_state_macs WHERE wa_session_id = ? AND collection = ?", "us",
			       (unsigned long long)a->row, coll) < 0)
			rc = WA_ESTORAGE;
	}
	if (rc == 0 && a->in->snapshot)
		rc = apply_snapshot(&f, &kc, st, a);
	for (size_t i = 0; rc == 0 && i < a->in->npatches; i++)
		rc = apply_one_patch(&f, &kc, st, a, &a->in->patches[i]);
	if (rc == 0)
		rc = save_version(db, a->row, st);
	if (rc == 0 && wa_db_commit(db) < 0)
		rc = WA_ESTORAGE;
	if (rc != 0)
		wa_db_rollback(db);
	else
		a->res->version = wa_appstate_state_version(st);
	wa_appstate_state_free(st);
	return rc;
}

int wa_appsync_apply(struct wa_db *db, uint64_t row, const char *slug, const struct wa_history_env *env,
		     const struct wa_appsync_in *in, struct wa_appsync_res *res)
{
	struct apply_ctx a = { row, slug, env, in, res };

	res->rc = apply_txn(db, &a);
	if (res->rc != 0) {
		json_decref(res->events);
		res->events = NULL;
	}
	return res->rc;
}

/* ---- outgoing ---- */

int wa_appsync_last_message(struct wa_db *db, uint64_t row, const char *chat, struct wa_appsync_last *out)
{
	struct wa_db_text t;
	const char *id, *snd, *fm, *ts;
	int found = 0;

	memset(out, 0, sizeof *out);
	if (wa_db_text_query(db, &t, "SELECT message_id, sender_jid, from_me, UNIX_TIMESTAMP(timestamp) FROM messages "
			     "WHERE wa_session_id = ? AND remote_jid = ? ORDER BY timestamp DESC, id DESC LIMIT 1", "us",
			     (unsigned long long)row, chat) != 0)
		return WA_ESTORAGE;
	if (t.nrows == 1 && (id = wa_db_text_val(&t, 0, 0, NULL)) && strlen(id) < sizeof out->id) {
		snd = wa_db_text_val(&t, 0, 1, NULL);
		fm = wa_db_text_val(&t, 0, 2, NULL);
		ts = wa_db_text_val(&t, 0, 3, NULL);
		snprintf(out->id, sizeof out->id, "%s", id);
		snprintf(out->sender, sizeof out->sender, "%s", snd && strlen(snd) < sizeof out->sender ? snd : "");
		out->from_me = fm && strcmp(fm, "1") == 0;
		out->ts = ts ? strtoll(ts, NULL, 10) : 0;
		found = 1;
	}
	wa_db_text_free(&t);
	return found;
}

int wa_appsync_message(struct wa_db *db, uint64_t row, const char *chat, const char *id, int *from_me,
		       char sender[129])
{
	struct wa_db_text t;
	const char *snd, *fm;
	int found = 0;

	*from_me = 0;
	sender[0] = '\0';
	if (wa_db_text_query(db, &t, "SELECT from_me, sender_jid FROM messages WHERE wa_session_id = ? AND "
			     "remote_jid = ? AND message_id = ?", "uss", (unsigned long long)row, chat, id) != 0)
		return WA_ESTORAGE;
	if (t.nrows == 1) {
		fm = wa_db_text_val(&t, 0, 0, NULL);
		snd = wa_db_text_val(&t, 0, 1, NULL);
		*from_me = fm && strcmp(fm, "1") == 0;
		snprintf(sender, 129, "%s", snd && strlen(snd) < 129 ? snd : "");
		found = 1;
	}
	wa_db_text_free(&t);
	return found;
}

int wa_appsync_build(struct wa_db *db, uint64_t row, int ci, struct wa_sync_action *const *acts, size_t n,
		     uint8_t **patch, size_t *len, uint64_t *base)
{
	struct wa_appstate_out_mutation m[4];
	struct wa_appstate_state *st = NULL;
	uint8_t kid[WA_APPSTATE_MAX_KEY_ID], kdata[32];
	size_t kidlen = 0;
	int rc;

	*patch = NULL;
	*len = 0;
	if (ci < 0 || ci >= WA_APPSYNC_NCOLL || n == 0 || n > 4)
		return WA_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(acts[i]->collection, wa_appstate_collection((size_t)ci)) != 0)
			return WA_EINVAL;
		wa_sync_action_out(acts[i], &m[i]);
	}
	rc = newest_key(db, row, kid, &kidlen, kdata);
	if (rc == 0)
		rc = load_state(db, row, wa_appstate_collection((size_t)ci), &st);
	if (rc == 0) {
		*base = wa_appstate_state_version(st);
		rc = wa_appstate_build_patch(st, kid, kidlen, kdata, m, n, patch, len, NULL);
		rc = rc == WA_APPSTATE_OK ? 0 : rc == WA_APPSTATE_ENOMEM ? WA_ENOMEM : WA_EFAIL;
	}
	explicit_bzero(kdata, sizeof kdata);
	wa_appstate_state_free(st);
	return rc;
}

int wa_appsync_label_queue(struct wa_db *db, uint64_t row, uint64_t after, size_t max, json_t **rows)
{
	*rows = wa_db_query(db, "SELECT id, label_id, chat_jid, name, color, deleted, labeled FROM label_sync_queue "
			    "WHERE wa_session_id = ? AND id > ? ORDER BY id LIMIT ?", "uui", (unsigned long long)row,
			    (unsigned long long)after, (long long)max);
	return *rows ? 0 : WA_ESTORAGE;
}

int wa_appsync_label_done(struct wa_db *db, uint64_t row, uint64_t id)
{
	return wa_db_exec(db, "DELETE FROM label_sync_queue WHERE wa_session_id = ? AND id = ?", "uu",
			  (unsigned long long)row, (unsigned long long)id) < 0 ? WA_ESTORAGE : 0;
}

int wa_appsync_forget(struct wa_db *db, uint64_t row)
{
	if (wa_db_exec(db, "DELETE FROM wa_app_state_macs WHERE wa_session_id = ?", "u", (unsigned long long)row) < 0 ||
	    wa_db_exec(db, "DELETE FROM wa_app_state_versions WHERE wa_session_id = ?", "u", (unsigned long long)row) < 0)
		return WA_ESTORAGE;
	return 0;
}
