/* wa/sigstore: argument checks around the store vtable, and the adapters that
 * let libsignal-protocol-c call a wa_sigstore (see sigstore.h). */
#include "wa/sigstore.h"

#include <stdlib.h>
#include <string.h>

#include <signal_protocol.h>

void wa_sigstore_free(wa_sigstore *st)
{
	if (!st)
		return;
	if (st->ops && st->ops->destroy)
		st->ops->destroy(st->state);
	free(st);
}

static int name_ok(const char *s)
{
	return s && s[0] && strnlen(s, WA_SIGREC_NAME_MAX) < WA_SIGREC_NAME_MAX;
}

int wa_sigstore_key_check(const wa_sigrec_key *key)
{
	if (!key)
		return WA_SIGSTORE_ERR;
	switch (key->kind) {
	case WA_SIGREC_LOCAL:
	case WA_SIGREC_PREKEY:
	case WA_SIGREC_SIGNED_PREKEY:
		return 0;
	case WA_SIGREC_IDENTITY:
	case WA_SIGREC_SESSION:
		if (!key->name || !key->name[0])
			return WA_SIGSTORE_ERR;
		return name_ok(key->name) ? 0 : WA_SIGSTORE_TOOBIG;
	case WA_SIGREC_SENDER_KEY:
		if (!key->name || !key->name[0] || !key->group || !key->group[0])
			return WA_SIGSTORE_ERR;
		return name_ok(key->name) && name_ok(key->group) ? 0 : WA_SIGSTORE_TOOBIG;
	}
	return WA_SIGSTORE_ERR;
}

int wa_sigstore_get(wa_sigstore *st, const wa_sigrec_key *key, uint8_t **rec, size_t *len)
{
	int rc;

	if (!st || !rec || !len)
		return WA_SIGSTORE_ERR;
	if ((rc = wa_sigstore_key_check(key)) < 0)
		return rc;
	return st->ops->get(st->state, key, rec, len);
}

int wa_sigstore_put(wa_sigstore *st, const wa_sigrec_key *key, const uint8_t *rec, size_t len)
{
	int rc;

	if (!st || !rec || len == 0)
		return WA_SIGSTORE_ERR;
	if (len > WA_SIGREC_MAX)
		return WA_SIGSTORE_TOOBIG;
	if ((rc = wa_sigstore_key_check(key)) < 0)
		return rc;
	return st->ops->put(st->state, key, rec, len);
}

int wa_sigstore_del(wa_sigstore *st, const wa_sigrec_key *key)
{
	int rc;

	if (!st)
		return WA_SIGSTORE_ERR;
	if ((rc = wa_sigstore_key_check(key)) < 0)
		return rc;
	return st->ops->del(st->state, key);
}

int wa_sigstore_put_many(wa_sigstore *st, const wa_sigrec_key *keys, const uint8_t *const *recs,
			 const size_t *lens, size_t n)
{
	size_t i;
	int rc;

	if (!st || (n && (!keys || !recs || !lens)))
		return WA_SIGSTORE_ERR;
	for (i = 0; i < n; i++) {
		if (!recs[i] || lens[i] == 0)
			return WA_SIGSTORE_ERR;
		if (lens[i] > WA_SIGREC_MAX)
			return WA_SIGSTORE_TOOBIG;
		if ((rc = wa_sigstore_key_check(&keys[i])) < 0)
			return rc;
	}
	if (n == 0)
		return 0;
	if (st->ops->put_many)
		return st->ops->put_many(st->state, keys, recs, lens, n);
	for (i = 0; i < n; i++)
		if ((rc = st->ops->put(st->state, &keys[i], recs[i], lens[i])) < 0)
			return rc;
	return 0;
}

int wa_sigstore_devices(wa_sigstore *st, const char *name, uint32_t *out, size_t max)
{
	if (!st || !name_ok(name) || (!out && max))
		return WA_SIGSTORE_ERR;
	return st->ops->devices(st->state, name, out, max);
}

int wa_sigstore_del_name(wa_sigstore *st, enum wa_sigrec_kind kind, const char *name)
{
	if (!st || !name_ok(name) || (kind != WA_SIGREC_SESSION && kind != WA_SIGREC_IDENTITY))
		return WA_SIGSTORE_ERR;
	return st->ops->del_name(st->state, kind, name);
}

int wa_sigstore_count(wa_sigstore *st, enum wa_sigrec_kind kind)
{
	if (!st || kind < WA_SIGREC_LOCAL || kind > WA_SIGREC_KIND_MAX)
		return WA_SIGSTORE_ERR;
	return st->ops->count(st->state, kind);
}

/* ---- adapters: libsignal callback -> vtable ----
 * libsignal hands names as (pointer, length) without a NUL; copy them into a
 * bounded buffer. Every adapter returns the store's negative code mapped
 * below SG_ERR_MINIMUM so wa/signal can tell storage failures from protocol
 * errors. */

static int sg_err(int rc)
{
	/* Fold first: the encoding has room for common codes only. */
	return WA_SIGSTORE_SG_ERR(rc < 0 ? wa_err_class(rc) : WA_SIGSTORE_ERR);
}

static int copy_name(char out[WA_SIGREC_NAME_MAX], const char *p, size_t n)
{
	if (!p || n == 0 || n >= WA_SIGREC_NAME_MAX || memchr(p, 0, n))
		return -1;
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

static int addr_key(wa_sigrec_key *k, enum wa_sigrec_kind kind, char name[WA_SIGREC_NAME_MAX],
		    const signal_protocol_address *a)
{
	memset(k, 0, sizeof *k);
	if (!a || a->device_id < 0 || copy_name(name, a->name, a->name_len) < 0)
		return -1;
	k->kind = kind;
	k->name = name;
	k->device = (uint32_t)a->device_id;
	return 0;
}

/* Hand a record to libsignal as a signal_buffer, zeroing our copy. */
static int to_sgbuf(signal_buffer **out, uint8_t *rec, size_t len)
{
	signal_buffer *b = signal_buffer_create(rec, len);

	explicit_bzero(rec, len);
	free(rec);
	if (!b)
		return SG_ERR_NOMEM;
	*out = b;
	return 0;
}

/* session store */

static int a_load_session(signal_buffer **record, signal_buffer **user_record,
			  const signal_protocol_address *address, void *user_data)
{
	wa_sigstore *st = user_data;
	wa_sigrec_key k;
	char name[WA_SIGREC_NAME_MAX];
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc;

	(void)user_record; /* no application data is kept beside sessions */
	if (addr_key(&k, WA_SIGREC_SESSION, name, address) < 0)
		return SG_ERR_INVAL;
	rc = wa_sigstore_get(st, &k, &rec, &len);
	if (rc < 0)
		return sg_err(rc);
	if (rc == 0)
		return 0;
	rc = to_sgbuf(record, rec, len);
	return rc < 0 ? rc : 1;
}

static int a_sub_devices(signal_int_list **sessions, const char *name, size_t name_len, void *user_data)
{
	wa_sigstore *st = user_data;
	char nm[WA_SIGREC_NAME_MAX];
	uint32_t devs[256];
	signal_int_list *l;
	int n, i;

	if (copy_name(nm, name, name_len) < 0)
		return SG_ERR_INVAL;
	n = wa_sigstore_devices(st, nm, devs, 256);
	if (n < 0)
		return sg_err(n);
	if (n > 256)
		n = 256; /* WhatsApp devices ids are one byte; more is a bug */
	l = signal_int_list_alloc();
	if (!l)
		return SG_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if (signal_int_list_push_back(l, (int)devs[i]) < 0) {
			signal_int_list_free(l);
			return SG_ERR_NOMEM;
		}
	}
	*sessions = l;
	return n;
}

static int a_store_session(const signal_protocol_address *address, uint8_t *record, size_t record_len,
			   uint8_t *user_record, size_t user_record_len, void *user_data)
{
	wa_sigstore *st = user_data;
	wa_sigrec_key k;
	char name[WA_SIGREC_NAME_MAX];
	int rc;

	(void)user_record;
	(void)user_record_len;
	if (addr_key(&k, WA_SIGREC_SESSION, name, address) < 0)
		return SG_ERR_INVAL;
	rc = wa_sigstore_put(st, &k, record, record_len);
	return rc < 0 ? sg_err(rc) : 0;
}

static int a_contains_session(const signal_protocol_address *address, void *user_data)
{
	wa_sigstore *st = user_data;
	wa_sigrec_key k;
	char name[WA_SIGREC_NAME_MAX];
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc;

	if (addr_key(&k, WA_SIGREC_SESSION, name, address) < 0)
		return SG_ERR_INVAL;
	rc = wa_sigstore_get(st, &k, &rec, &len);
	if (rc == 1) {
		explicit_bzero(rec, len);
		free(rec);
	}
	return rc < 0 ? sg_err(rc) : rc;
}

static int a_delete_session(const signal_protocol_address *address, void *user_data)
{
	wa_sigstore *st = user_data;
	wa_sigrec_key k;
	char name[WA_SIGREC_NAME_MAX];
	int rc;

	if (addr_key(&k, WA_SIGREC_SESSION, name, address) < 0)
		return SG_ERR_INVAL;
	rc = wa_sigstore_del(st, &k);
	return rc < 0 ? sg_err(rc) : rc;
}

static int a_delete_all_sessions(const char *name, size_t name_len, void *user_data)
{
	wa_sigstore *st = user_data;
	char nm[WA_SIGREC_NAME_MAX];
	int rc;

	if (copy_name(nm, name, name_len) < 0)
		return SG_ERR_INVAL;
	rc = wa_sigstore_del_name(st, WA_SIGREC_SESSION, nm);
	return rc < 0 ? sg_err(rc) : rc;
}

/* pre-key and signed pre-key stores: "not found" must be SG_ERR_INVALID_KEY_ID */

static int id_load(wa_sigstore *st, enum wa_sigrec_kind kind, signal_buffer **record, uint32_t id)
{
	wa_sigrec_key k = { .kind = kind, .id = id };
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc = wa_sigstore_get(st, &k, &rec, &len);

	if (rc < 0)
		return sg_err(rc);
	if (rc == 0)
		return SG_ERR_INVALID_KEY_ID;
	return to_sgbuf(record, rec, len);
}

static int id_store(wa_sigstore *st, enum wa_sigrec_kind kind, uint32_t id, const uint8_t *rec, size_t len)
{
	wa_sigrec_key k = { .kind = kind, .id = id };
	int rc = wa_sigstore_put(st, &k, rec, len);

	return rc < 0 ? sg_err(rc) : 0;
}

static int id_contains(wa_sigstore *st, enum wa_sigrec_kind kind, uint32_t id)
{
	wa_sigrec_key k = { .kind = kind, .id = id };
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc = wa_sigstore_get(st, &k, &rec, &len);

	if (rc == 1) {
		explicit_bzero(rec, len);
		free(rec);
	}
	return rc < 0 ? sg_err(rc) : rc;
}

static int id_remove(wa_sigstore *st, enum wa_sigrec_kind kind, uint32_t id)
{
	wa_sigrec_key k = { .kind = kind, .id = id };
	int rc = wa_sigstore_del(st, &k);

	return rc < 0 ? sg_err(rc) : 0;
}

static int a_load_pre_key(signal_buffer **record, uint32_t id, void *ud)
{
	return id_load(ud, WA_SIGREC_PREKEY, record, id);
}

static int a_store_pre_key(uint32_t id, uint8_t *record, size_t len, void *ud)
{
	return id_store(ud, WA_SIGREC_PREKEY, id, record, len);
}

static int a_contains_pre_key(uint32_t id, void *ud)
{
	return id_contains(ud, WA_SIGREC_PREKEY, id);
}

static int a_remove_pre_key(uint32_t id, void *ud)
{
	return id_remove(ud, WA_SIGREC_PREKEY, id);
}

static int a_load_spk(signal_buffer **record, uint32_t id, void *ud)
{
	return id_load(ud, WA_SIGREC_SIGNED_PREKEY, record, id);
}

static int a_store_spk(uint32_t id, uint8_t *record, size_t len, void *ud)
{
	return id_store(ud, WA_SIGREC_SIGNED_PREKEY, id, record, len);
}

static int a_contains_spk(uint32_t id, void *ud)
{
	return id_contains(ud, WA_SIGREC_SIGNED_PREKEY, id);
}

static int a_remove_spk(uint32_t id, void *ud)
{
	return id_remove(ud, WA_SIGREC_SIGNED_PREKEY, id);
}

/* identity store */

static int a_get_identity_key_pair(signal_buffer **public_data, signal_buffer **private_data, void *ud)
{
	wa_sigrec_key k = { .kind = WA_SIGREC_LOCAL };
	uint8_t *rec = NULL, pub[33];
	size_t len = 0;
	signal_buffer *pb, *vb;
	int rc = wa_sigstore_get(ud, &k, &rec, &len);

	if (rc < 0)
		return sg_err(rc);
	/* libsignal dereferences both buffers on success: "no identity" must
	 * be an error, never 0 with nothing set. */
	if (rc == 0)
		return WA_SIGSTORE_SG_NO_IDENTITY;
	if (len != WA_SIGREC_LOCAL_LEN) {
		explicit_bzero(rec, len);
		free(rec);
		return SG_ERR_INVALID_KEY;
	}
	pub[0] = 0x05; /* DJB_TYPE: libsignal's serialised public key form */
	memcpy(pub + 1, rec, 32);
	pb = signal_buffer_create(pub, 33);
	vb = signal_buffer_create(rec + 32, 32);
	explicit_bzero(rec, len);
	free(rec);
	if (!pb || !vb) {
		signal_buffer_free(pb);
		signal_buffer_bzero_free(vb);
		return SG_ERR_NOMEM;
	}
	*public_data = pb;
	*private_data = vb;
	return 0;
}

static int a_get_local_registration_id(void *ud, uint32_t *registration_id)
{
	wa_sigrec_key k = { .kind = WA_SIGREC_LOCAL };
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc = wa_sigstore_get(ud, &k, &rec, &len);

	if (rc < 0)
		return sg_err(rc);
	if (rc == 0)
		return WA_SIGSTORE_SG_NO_IDENTITY;
	if (len == WA_SIGREC_LOCAL_LEN)
		*registration_id = (uint32_t)rec[64] << 24 | (uint32_t)rec[65] << 16 |
				   (uint32_t)rec[66] << 8 | rec[67];
	explicit_bzero(rec, len);
	free(rec);
	return len == WA_SIGREC_LOCAL_LEN ? 0 : SG_ERR_INVALID_KEY;
}

static int a_save_identity(const signal_protocol_address *address, uint8_t *key_data, size_t key_len, void *ud)
{
	wa_sigrec_key k;
	char name[WA_SIGREC_NAME_MAX];
	int rc;

	if (addr_key(&k, WA_SIGREC_IDENTITY, name, address) < 0)
		return SG_ERR_INVAL;
	if (!key_data || key_len == 0)
		rc = wa_sigstore_del(ud, &k);
	else
		rc = wa_sigstore_put(ud, &k, key_data, key_len);
	return rc < 0 ? sg_err(rc) : 0;
}

/* Trust on first use: trusted when nothing is stored or the stored key is
 * the same. A changed key is untrusted until the caller forgets the old one
 * (wa_sig_identity_forget), which is the point where WhatsApp clients drop
 * the identity and its sessions. */
static int a_is_trusted_identity(const signal_protocol_address *address, uint8_t *key_data, size_t key_len,
				 void *ud)
{
	wa_sigrec_key k;
	char name[WA_SIGREC_NAME_MAX];
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc, same;

	if (addr_key(&k, WA_SIGREC_IDENTITY, name, address) < 0)
		return SG_ERR_INVAL;
	rc = wa_sigstore_get(ud, &k, &rec, &len);
	if (rc < 0)
		return sg_err(rc);
	if (rc == 0)
		return 1;
	same = len == key_len && memcmp(rec, key_data, len) == 0;
	free(rec);
	return same;
}

/* sender key store */

static int skn_key(wa_sigrec_key *k, char group[WA_SIGREC_NAME_MAX], char name[WA_SIGREC_NAME_MAX],
		   const signal_protocol_sender_key_name *skn)
{
	if (!skn || addr_key(k, WA_SIGREC_SENDER_KEY, name, &skn->sender) < 0 ||
	    copy_name(group, skn->group_id, skn->group_id_len) < 0)
		return -1;
	k->group = group;
	return 0;
}

static int a_store_sender_key(const signal_protocol_sender_key_name *skn, uint8_t *record, size_t record_len,
			      uint8_t *user_record, size_t user_record_len, void *ud)
{
	wa_sigrec_key k;
	char group[WA_SIGREC_NAME_MAX], name[WA_SIGREC_NAME_MAX];
	int rc;

	(void)user_record;
	(void)user_record_len;
	if (skn_key(&k, group, name, skn) < 0)
		return SG_ERR_INVAL;
	rc = wa_sigstore_put(ud, &k, record, record_len);
	return rc < 0 ? sg_err(rc) : 0;
}

static int a_load_sender_key(signal_buffer **record, signal_buffer **user_record,
			     const signal_protocol_sender_key_name *skn, void *ud)
{
	wa_sigrec_key k;
	char group[WA_SIGREC_NAME_MAX], name[WA_SIGREC_NAME_MAX];
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc;

	(void)user_record;
	if (skn_key(&k, group, name, skn) < 0)
		return SG_ERR_INVAL;
	rc = wa_sigstore_get(ud, &k, &rec, &len);
	if (rc < 0)
		return sg_err(rc);
	if (rc == 0)
		return 0;
	rc = to_sgbuf(record, rec, len);
	return rc < 0 ? rc : 1;
}

int wa_sigstore_attach(wa_sigstore *st, struct signal_protocol_store_context *ctx)
{
	signal_protocol_session_store ss = {
		.load_session_func = a_load_session,
		.get_sub_device_sessions_func = a_sub_devices,
		.store_session_func = a_store_session,
		.contains_session_func = a_contains_session,
		.delete_session_func = a_delete_session,
		.delete_all_sessions_func = a_delete_all_sessions,
		.user_data = st,
	};
	signal_protocol_pre_key_store pks = {
		.load_pre_key = a_load_pre_key,
		.store_pre_key = a_store_pre_key,
		.contains_pre_key = a_contains_pre_key,
		.remove_pre_key = a_remove_pre_key,
		.user_data = st,
	};
	signal_protocol_signed_pre_key_store spks = {
		.load_signed_pre_key = a_load_spk,
		.store_signed_pre_key = a_store_spk,
		.contains_signed_pre_key = a_contains_spk,
		.remove_signed_pre_key = a_remove_spk,
		.user_data = st,
	};
	signal_protocol_identity_key_store iks = {
		.get_identity_key_pair = a_get_identity_key_pair,
		.get_local_registration_id = a_get_local_registration_id,
		.save_identity = a_save_identity,
		.is_trusted_identity = a_is_trusted_identity,
		.user_data = st,
	};
	signal_protocol_sender_key_store sks = {
		.store_sender_key = a_store_sender_key,
		.load_sender_key = a_load_sender_key,
		.user_data = st,
	};

	/* destroy_func stays NULL everywhere: the store outlives ctx. */
	if (!st || !ctx ||
	    signal_protocol_store_context_set_session_store(ctx, &ss) < 0 ||
	    signal_protocol_store_context_set_pre_key_store(ctx, &pks) < 0 ||
	    signal_protocol_store_context_set_signed_pre_key_store(ctx, &spks) < 0 ||
	    signal_protocol_store_context_set_identity_key_store(ctx, &iks) < 0 ||
	    signal_protocol_store_context_set_sender_key_store(ctx, &sks) < 0)
		return -1;
	return 0;
}
