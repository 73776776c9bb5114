/* engine/store/creds: device credentials in MariaDB (see creds.h). */
#include "engine/store/creds.h"
#include "engine/store/appsync.h"
#include "engine/store/sigstore_db.h"
#include "fcgi/db.h"
#include "wa/crypto.h"
#include "wa/signal.h"
#include "wa/signal_node.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void wa_creds_session_key(uint64_t session_row, char out[24])
{
	snprintf(out, 24, "%llu", (unsigned long long)session_row);
}

void wa_creds_wipe(struct wa_creds *c)
{
	if (c)
		explicit_bzero(c, sizeof *c);
}

/* Hex column `key` of row into out (exactly n bytes). */
static int hex_col(json_t *row, const char *key, uint8_t *out, size_t n)
{
	const char *h = json_string_value(json_object_get(row, key));

	return h && strlen(h) == 2 * n && wa_hex_decode(h, out, n) == 0 ? 0 : -1;
}

static void str_col(json_t *row, const char *key, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(row, key));

	snprintf(out, cap, "%s", s ? s : "");
}

static void free_sigconn(void *c)
{
	wa_sigstore_dbconn_free(c);
}

/* A Signal store statement failed: a deadlock there rolled back the
 * transaction of the job it ran in (fcgi/db.h rule 1). */
static void sig_db_error(void *ctx, unsigned err)
{
	wa_db_external_error(ctx, err);
}

/* The Signal store's session records are held for the open transaction of
 * db and written just before its COMMIT (sigstore_db.h,
 * wa_sigstore_dbconn_txn). The commit slot's argument is db, not the
 * statement cache: the cache goes with a lost connection (wa_db_close),
 * db stays, and finds the cache of the moment (or none) in db->ext. */
static int sig_in_txn(void *ctx)
{
	const struct wa_db *db = ctx;

	return db->in_txn && !db->txn_lost;
}

static int sig_flush(struct wa_db *db, void *arg)
{
	(void)arg;
	return db->ext && db->ext_free == free_sigconn && wa_sigstore_dbconn_flush(db->ext) != 0 ? -1 : 0;
}

static void sig_forget(void *arg)
{
	struct wa_db *db = arg;

	if (db->ext && db->ext_free == free_sigconn)
		wa_sigstore_dbconn_forget(db->ext);
}

static int sig_at_commit(void *ctx, wa_sigstore_dbconn *c)
{
	(void)c;
	return wa_db_at_commit(ctx, sig_flush, sig_forget, ctx);
}

static const struct wa_sigstore_txn sig_txn = { sig_in_txn, sig_at_commit };

/* The session's Signal state on this thread's connection. The Signal
 * store's statements are prepared once per connection, not per store: their
 * cache hangs on db (db->ext), and wa_db_close() frees it with the
 * connection (a store still open then fails instead of using a closed
 * MYSQL). */
int wa_creds_open_sig(struct wa_db *db, uint64_t row, wa_sigstore **st, wa_sig **sig)
{
	struct st_mysql *m = wa_db_conn(db);
	char key[24];

	*st = NULL;
	*sig = NULL;
	if (!m)
		return WA_ESTORAGE;
	if (db->in_txn && db->txn_lost)
		return WA_ESTORAGE; /* the transaction (or batch) is gone: nothing may run outside it */
	if (db->ext && db->ext_free != free_sigconn)
		return WA_EINTERNAL; /* db->ext belongs to someone else */
	if (!db->ext) {
		db->ext = wa_sigstore_dbconn_new(m, NULL);
		if (!db->ext)
			return WA_ENOMEM;
		db->ext_free = free_sigconn;
		wa_sigstore_dbconn_on_error(db->ext, sig_db_error, db);
		wa_sigstore_dbconn_txn(db->ext, &sig_txn, db);
	}
	wa_creds_session_key(row, key);
	*st = wa_sigstore_db_new_on(db->ext, key);
	if (!*st)
		return WA_ENOMEM;
	if (wa_sig_new(*st, sig) != 0) {
		wa_sigstore_free(*st);
		*st = NULL;
		return WA_EINTERNAL;
	}
	return 0;
}

void wa_creds_close_sig(wa_sigstore *st, wa_sig *sig)
{
	wa_sig_free(sig);
	wa_sigstore_free(st);
}

/* Identity (with its private half) and the signed pre-key from the store. */
static int read_signal(wa_sigstore *st, wa_sig *sig, struct wa_creds *c)
{
	wa_sigrec_key k = { .kind = WA_SIGREC_LOCAL };
	wa_sig_signed_prekey spk;
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc = wa_sigstore_get(st, &k, &rec, &len);

	if (rc < 0)
		return WA_ESTORAGE;
	if (rc == 0 || len != WA_SIGREC_LOCAL_LEN) {
		free(rec);
		return WA_ENOTFOUND;
	}
	memcpy(c->identity_pub, rec, 32);
	memcpy(c->identity_priv, rec + 32, 32);
	c->registration_id = wa_sig_get_be32(rec + 64);
	explicit_bzero(rec, len);
	free(rec);
	rc = wa_sig_signed_prekey_get(sig, c->signed_prekey_id, &spk);
	if (rc == WA_SIG_NOT_FOUND)
		return WA_ENOTFOUND;
	if (rc != 0)
		return WA_ESTORAGE;
	memcpy(c->signed_prekey_pub, spk.pub, 32);
	memcpy(c->signed_prekey_sig, spk.sig, 64);
	return 0;
}

static const char SQL_LOAD[] =
	"SELECT HEX(noise_priv) AS noise_priv, HEX(noise_pub) AS noise_pub, HEX(adv_secret) AS adv_secret, "
	"signed_prekey_id, next_prekey_id, prekeys_uploaded, paired, phone, device, lid, platform, business_name, "
	"key_index, HEX(account) AS account, HEX(primary_identity) AS primary_identity "
	"FROM wa_device_creds WHERE wa_session_id = ?";

int wa_creds_load(struct wa_db *db, uint64_t session_row, struct wa_creds *out)
{
	wa_sigstore *st;
	wa_sig *sig;
	json_t *row;
	int err = 0, rc;
	const char *acc;

	memset(out, 0, sizeof *out);
	row = wa_db_row(db, &err, SQL_LOAD, "u", (unsigned long long)session_row);
	if (!row)
		return err ? WA_ESTORAGE : WA_ENOTFOUND;
	out->session_row = session_row;
	rc = WA_EPROTO;
	if (hex_col(row, "noise_priv", out->noise_priv, 32) || hex_col(row, "noise_pub", out->noise_pub, 32) ||
	    hex_col(row, "adv_secret", out->adv_secret, 32))
		goto out;
	out->signed_prekey_id = (uint32_t)json_integer_value(json_object_get(row, "signed_prekey_id"));
	out->next_prekey_id = (uint32_t)json_integer_value(json_object_get(row, "next_prekey_id"));
	out->prekeys_uploaded = (uint32_t)json_integer_value(json_object_get(row, "prekeys_uploaded"));
	out->paired = json_is_true(json_object_get(row, "paired")) ||
		      json_integer_value(json_object_get(row, "paired")) == 1;
	if (out->paired) {
		str_col(row, "phone", out->phone, sizeof out->phone);
		out->device = (uint16_t)json_integer_value(json_object_get(row, "device"));
		str_col(row, "lid", out->lid, sizeof out->lid);
		str_col(row, "platform", out->platform, sizeof out->platform);
		str_col(row, "business_name", out->business_name, sizeof out->business_name);
		out->key_index = (uint32_t)json_integer_value(json_object_get(row, "key_index"));
		acc = json_string_value(json_object_get(row, "account"));
		if (!acc || strlen(acc) % 2 || strlen(acc) / 2 > sizeof out->account ||
		    hex_col(row, "account", out->account, strlen(acc) / 2) ||
		    hex_col(row, "primary_identity", out->primary_identity, 32) || !out->phone[0])
			goto out;
		out->account_len = strlen(acc) / 2;
	}
	rc = wa_creds_open_sig(db, session_row, &st, &sig);
	if (rc == 0) {
		rc = read_signal(st, sig, out);
		wa_creds_close_sig(st, sig);
	}
out:
	json_decref(row);
	if (rc == WA_EPROTO)
		wa_error("session row %llu: stored device credentials are damaged", (unsigned long long)session_row);
	if (rc != 0)
		wa_creds_wipe(out);
	return rc;
}

static const char SQL_CREATE[] =
	"INSERT INTO wa_device_creds (wa_session_id, noise_priv, noise_pub, adv_secret, signed_prekey_id, "
	"next_prekey_id, prekeys_uploaded, paired) VALUES (?, UNHEX(?), UNHEX(?), UNHEX(?), ?, 1, 0, 0) "
	"ON DUPLICATE KEY UPDATE noise_priv = VALUES(noise_priv), noise_pub = VALUES(noise_pub), "
	"adv_secret = VALUES(adv_secret), signed_prekey_id = VALUES(signed_prekey_id), next_prekey_id = 1, "
	"prekeys_uploaded = 0, paired = 0, phone = NULL, device = NULL, lid = NULL, platform = NULL, "
	"business_name = NULL, key_index = NULL, account = NULL, primary_identity = NULL, paired_at = NULL";

int wa_creds_create(struct wa_db *db, uint64_t session_row, struct wa_creds *out)
{
	char np[65], nq[65], ad[65], key[24];
	wa_sigstore *st;
	wa_sig *sig;
	int rc;

	memset(out, 0, sizeof *out);
	out->session_row = session_row;
	out->signed_prekey_id = 1;
	out->next_prekey_id = 1;
	if (wa_x25519_keypair(out->noise_priv, out->noise_pub) != 0 || wa_random(out->adv_secret, 32) != 0)
		return WA_EINTERNAL;
	rc = wa_creds_open_sig(db, session_row, &st, &sig);
	if (rc != 0)
		return rc;
	/* A registration always starts from a clean Signal state. */
	wa_creds_session_key(session_row, key);
	sig_forget(db); /* nothing held back may be written after the purge */
	if (wa_sigstore_db_purge(wa_db_conn(db), NULL, key) < 0)
		rc = WA_ESTORAGE;
	if (rc == 0 && (wa_sig_identity_generate(sig) != 0 ||
			wa_sig_signed_prekey_generate(sig, out->signed_prekey_id, NULL) != 0))
		rc = WA_ESTORAGE;
	if (rc == 0)
		rc = read_signal(st, sig, out);
	wa_creds_close_sig(st, sig);
	if (rc != 0)
		goto fail;
	wa_hex_encode(out->noise_priv, 32, np);
	wa_hex_encode(out->noise_pub, 32, nq);
	wa_hex_encode(out->adv_secret, 32, ad);
	if (wa_db_exec(db, SQL_CREATE, "usssu", (unsigned long long)session_row, np, nq, ad,
		       (unsigned long long)out->signed_prekey_id) < 0)
		rc = WA_ESTORAGE;
	explicit_bzero(np, sizeof np);
	explicit_bzero(ad, sizeof ad);
	if (rc == 0)
		return 0;
fail:
	wa_creds_wipe(out);
	return rc;
}

static const char SQL_PAIRED[] =
	"UPDATE wa_device_creds SET paired = 1, adv_secret = UNHEX(?), phone = ?, device = ?, lid = ?, "
	"platform = ?, business_name = ?, key_index = ?, account = UNHEX(?), primary_identity = UNHEX(?), "
	"paired_at = NOW(3) WHERE wa_session_id = ?";

int wa_creds_save_paired(struct wa_db *db, const struct wa_creds *c)
{
	char ad[65], pi[65], *acc;
	long long n;

	if (c->account_len > sizeof c->account)
		return WA_EINVAL;
	acc = malloc(2 * c->account_len + 1);
	if (!acc)
		return WA_ENOMEM;
	wa_hex_encode(c->account, c->account_len, acc);
	wa_hex_encode(c->adv_secret, 32, ad);
	wa_hex_encode(c->primary_identity, 32, pi);
	n = wa_db_exec(db, SQL_PAIRED, "ssusssussu", ad, c->phone, (unsigned long long)c->device, c->lid,
		       c->platform, c->business_name, (unsigned long long)c->key_index, acc, pi,
		       (unsigned long long)c->session_row);
	explicit_bzero(ad, sizeof ad);
	free(acc);
	if (n < 0)
		return WA_ESTORAGE;
	return n == 0 ? WA_ENOTFOUND : 0;
}

int wa_creds_save_prekeys(struct wa_db *db, uint64_t session_row, uint32_t next_id, uint32_t uploaded)
{
	return wa_db_exec(db, "UPDATE wa_device_creds SET next_prekey_id = ?, prekeys_uploaded = ? "
			  "WHERE wa_session_id = ?", "uuu", (unsigned long long)next_id,
			  (unsigned long long)uploaded, (unsigned long long)session_row) < 0 ? WA_ESTORAGE : 0;
}

int wa_creds_delete(struct wa_db *db, uint64_t session_row)
{
	char key[24];
	struct st_mysql *m = wa_db_conn(db);

	wa_creds_session_key(session_row, key);
	sig_forget(db); /* nothing held back may be written after the purge */
	if (!m || wa_sigstore_db_purge(m, NULL, key) < 0)
		return WA_ESTORAGE;
	if (wa_db_exec(db, "DELETE FROM wa_app_state_keys WHERE wa_session_id = ?", "u",
		       (unsigned long long)session_row) < 0 || wa_appsync_forget(db, session_row) != 0)
		return WA_ESTORAGE;
	return wa_db_exec(db, "DELETE FROM wa_device_creds WHERE wa_session_id = ?", "u",
			  (unsigned long long)session_row) < 0 ? WA_ESTORAGE : 0;
}

int wa_creds_prekey_batch(struct wa_db *db, const struct wa_creds *c, size_t count, struct wa_node **iq,
			  uint32_t *next_id)
{
	wa_sig_prekey *pks;
	wa_sigstore *st;
	wa_sig *sig;
	uint32_t next = 0;
	int rc;

	*iq = NULL;
	if (count == 0 || count > WA_SIG_PREKEY_BATCH_MAX)
		return WA_EINVAL;
	pks = calloc(count, sizeof *pks);
	if (!pks)
		return WA_ENOMEM;
	rc = wa_creds_open_sig(db, c->session_row, &st, &sig);
	if (rc == 0) {
		if (wa_sig_prekeys_generate(sig, c->next_prekey_id ? c->next_prekey_id : 1, count, pks, &next) != 0)
			rc = WA_ESTORAGE;
		else if ((*iq = wa_sig_upload_iq(sig, "", c->signed_prekey_id, pks, count)) == NULL)
			rc = WA_ENOMEM;
		wa_creds_close_sig(st, sig);
	}
	explicit_bzero(pks, count * sizeof *pks);
	free(pks);
	if (rc == 0)
		rc = wa_creds_save_prekeys(db, c->session_row, next, c->prekeys_uploaded + (uint32_t)count);
	if (rc != 0) {
		wa_node_free(*iq);
		*iq = NULL;
		return rc;
	}
	*next_id = next;
	return 0;
}
