/* wa/signal: WhatsApp's use of libsignal-protocol-c (see signal.h).
 *
 * Every function follows libsignal's own shape: one exit at `out:`, which
 * drops references and zeroes secrets; outputs are set only on success. */
#include "wa/signal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <signal_protocol.h>
#include <curve.h>
#include <group_cipher.h>
#include <group_session_builder.h>
#include <key_helper.h>
#include <protocol.h>
#include <session_builder.h>
#include <session_cipher.h>
#include <session_pre_key.h>
#include <ratchet.h>
#include <sender_key_record.h>

#include "wa/crypto.h"
#include "wa_util.h"

/* libsignal's serialised public keys start with this type byte (§5). */
#define KEY_TYPE_DJB 0x05

struct wa_sig {
	signal_context *ctx;                   /* process-wide, not ours */
	signal_protocol_store_context *store;  /* ours; adapters over st */
	wa_sigstore *st;                       /* borrowed */
};

/* ---- errors ---- */

static int map_sg(int sg)
{
	if (sg >= 0)
		return WA_SIG_OK;
	if (sg == WA_SIGSTORE_SG_NO_IDENTITY)
		return WA_SIG_NOT_FOUND;
	if (WA_SIGSTORE_SG_IS_STORE_ERR(sg))
		return sg == WA_SIGSTORE_SG_ERR(WA_SIGSTORE_NOMEM) ? WA_SIG_NOMEM :
		       sg == WA_SIGSTORE_SG_ERR(WA_SIGSTORE_TOOBIG) ? WA_SIG_TOOBIG : WA_SIG_STORE;
	switch (sg) {
	case SG_ERR_NOMEM:
		return WA_SIG_NOMEM;
	case SG_ERR_DUPLICATE_MESSAGE:
		return WA_SIG_DUPLICATE;
	case SG_ERR_NO_SESSION:
		return WA_SIG_NO_SESSION;
	case SG_ERR_UNTRUSTED_IDENTITY:
		return WA_SIG_UNTRUSTED;
	case SG_ERR_INVALID_KEY_ID:
		return WA_SIG_NO_PREKEY;
	case SG_ERR_INVALID_KEY:
	case SG_ERR_INVALID_MAC:
	case SG_ERR_INVALID_MESSAGE:
	case SG_ERR_INVALID_VERSION:
	case SG_ERR_LEGACY_MESSAGE:
	case SG_ERR_STALE_KEY_EXCHANGE:
	case SG_ERR_VRF_SIG_VERIF_FAILED:
	case SG_ERR_INVALID_PROTO_BUF:
		return WA_SIG_INVALID;
	default:
		return WA_SIG_ERR;
	}
}

static int map_store(int rc)
{
	switch (rc) {
	case WA_SIGSTORE_NOMEM:
		return WA_SIG_NOMEM;
	case WA_SIGSTORE_TOOBIG:
		return WA_SIG_TOOBIG;
	default:
		return WA_SIG_STORE;
	}
}

const char *wa_sig_strerror(int rc)
{
	switch (rc) {
	case WA_SIG_OK: return "ok";
	case WA_SIG_ERR: return "signal error";
	case WA_SIG_NOMEM: return "out of memory";
	case WA_SIG_INVALID: return "invalid message or key";
	case WA_SIG_NO_SESSION: return "no session";
	case WA_SIG_DUPLICATE: return "duplicate message";
	case WA_SIG_UNTRUSTED: return "untrusted identity";
	case WA_SIG_NO_PREKEY: return "unknown pre-key";
	case WA_SIG_STORE: return "key store failure";
	case WA_SIG_TOOBIG: return "too big";
	case WA_SIG_NOT_FOUND: return "not found";
	}
	return "unknown error";
}

const char *wa_sig_msg_type_name(enum wa_sig_msg_type t)
{
	switch (t) {
	case WA_SIG_PKMSG: return "pkmsg";
	case WA_SIG_MSG: return "msg";
	case WA_SIG_SKMSG: return "skmsg";
	}
	return NULL;
}

int wa_sig_msg_type_parse(const char *s, enum wa_sig_msg_type *out)
{
	if (!s || !out)
		return WA_SIG_INVALID;
	if (strcmp(s, "pkmsg") == 0)
		*out = WA_SIG_PKMSG;
	else if (strcmp(s, "msg") == 0)
		*out = WA_SIG_MSG;
	else if (strcmp(s, "skmsg") == 0)
		*out = WA_SIG_SKMSG;
	else
		return WA_SIG_INVALID;
	return WA_SIG_OK;
}

void wa_sig_buf_free(uint8_t *p, size_t len)
{
	if (!p)
		return;
	explicit_bzero(p, len);
	free(p);
}

/* ---- byte helpers ---- */

void wa_sig_put_be3(uint8_t out[3], uint32_t v)
{
	out[0] = (uint8_t)(v >> 16);
	out[1] = (uint8_t)(v >> 8);
	out[2] = (uint8_t)v;
}

uint32_t wa_sig_get_be3(const uint8_t in[3])
{
	return (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];
}

void wa_sig_put_be32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	wa_sig_put_be3(out + 1, v);
}

uint32_t wa_sig_get_be32(const uint8_t in[4])
{
	return (uint32_t)in[0] << 24 | wa_sig_get_be3(in + 1);
}

/* Copy a libsignal buffer into a fresh malloc()ed one. */
static int dup_sgbuf(const signal_buffer *b, uint8_t **out, size_t *len)
{
	size_t n = signal_buffer_len(b);
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		return WA_SIG_NOMEM;
	memcpy(p, signal_buffer_data((signal_buffer *)b), n);
	*out = p;
	*len = n;
	return WA_SIG_OK;
}

/* 32-byte wire key -> libsignal public key (prefix 0x05, §5). */
static int decode_pub(signal_context *ctx, const uint8_t raw[32], ec_public_key **out)
{
	uint8_t k[33];

	k[0] = KEY_TYPE_DJB;
	memcpy(k + 1, raw, 32);
	return curve_decode_point(out, k, sizeof k, ctx) < 0 ? WA_SIG_INVALID : WA_SIG_OK;
}

/* libsignal public key -> 32 raw bytes. */
static int encode_pub(const ec_public_key *key, uint8_t raw[32])
{
	signal_buffer *b = NULL;
	int rc = WA_SIG_ERR;

	if (ec_public_key_serialize(&b, key) < 0)
		return WA_SIG_NOMEM;
	if (signal_buffer_len(b) == 33 && signal_buffer_data(b)[0] == KEY_TYPE_DJB) {
		memcpy(raw, signal_buffer_data(b) + 1, 32);
		rc = WA_SIG_OK;
	}
	signal_buffer_free(b);
	return rc;
}

/* ---- addresses ---- */

int wa_sig_domain_of_server(const char *server)
{
	if (!server)
		return -1;
	/* c.us is the legacy spelling of s.whatsapp.net (WM normalises it) */
	if (strcmp(server, "s.whatsapp.net") == 0 || strcmp(server, "c.us") == 0)
		return 0;
	if (strcmp(server, "lid") == 0)
		return 1;
	if (strcmp(server, "hosted") == 0)
		return 128;
	if (strcmp(server, "hosted.lid") == 0)
		return 129;
	return -1;
}

int wa_sig_addr_set(wa_sig_addr *out, const char *user, unsigned domain, uint32_t device)
{
	wa_sig_addr a;
	size_t n;
	int w;

	if (!out || !user || domain > 255 || device > INT32_MAX)
		return WA_SIG_INVALID;
	n = strlen(user);
	if (n == 0 || strpbrk(user, "@:._") != NULL)
		return WA_SIG_INVALID;
	memset(&a, 0, sizeof a);
	if (domain == 0)
		w = snprintf(a.name, sizeof a.name, "%s", user);
	else
		w = snprintf(a.name, sizeof a.name, "%s_%u", user, domain);
	if (w < 0 || (size_t)w >= sizeof a.name)
		return WA_SIG_INVALID;
	a.device = device;
	*out = a;
	return WA_SIG_OK;
}

/* Decimal number of up to 5 digits ending exactly at end. */
static int parse_small_uint(const char *p, const char *end, uint32_t *v)
{
	uint32_t x = 0;

	if (p >= end || end - p > 5)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		x = x * 10 + (uint32_t)(*p - '0');
	}
	*v = x;
	return 0;
}

int wa_sig_addr_from_jid(const char *jid, wa_sig_addr *out)
{
	char user[WA_SIGREC_NAME_MAX];
	const char *at, *colon, *ustop;
	uint32_t device = 0, agent = 0;
	int domain;
	size_t ulen;

	if (!jid || !out || !(at = strchr(jid, '@')) || strchr(at + 1, '@'))
		return WA_SIG_INVALID;
	domain = wa_sig_domain_of_server(at + 1);
	if (domain < 0)
		return WA_SIG_INVALID;
	colon = memchr(jid, ':', (size_t)(at - jid));
	if (colon && parse_small_uint(colon + 1, at, &device) < 0)
		return WA_SIG_INVALID;
	if (!colon)
		colon = at;
	/* the user ends at the agent separator ('.' WM, '_' BL) or ':' */
	ustop = jid;
	while (ustop < colon && *ustop != '.' && *ustop != '_')
		ustop++;
	if (ustop < colon && parse_small_uint(ustop + 1, colon, &agent) < 0)
		return WA_SIG_INVALID;
	ulen = (size_t)(ustop - jid);
	if (ulen == 0 || ulen >= sizeof user)
		return WA_SIG_INVALID;
	memcpy(user, jid, ulen);
	user[ulen] = 0;
	/* An agent only matters off s.whatsapp.net, where the server already
	 * fixes the domain (§3.6); on s.whatsapp.net the domain stays 0. */
	(void)agent;
	return wa_sig_addr_set(out, user, (unsigned)domain, device);
}

static int sg_addr(const wa_sig_addr *a, signal_protocol_address *sa)
{
	size_t n;

	if (!a)
		return -1;
	n = strnlen(a->name, sizeof a->name);
	if (n == 0 || n == sizeof a->name || a->device > INT32_MAX)
		return -1;
	sa->name = a->name;
	sa->name_len = n;
	sa->device_id = (int32_t)a->device;
	return 0;
}

static int sg_skn(const char *group, const wa_sig_addr *a, signal_protocol_sender_key_name *skn)
{
	size_t n;

	if (!group || sg_addr(a, &skn->sender) < 0)
		return -1;
	n = strnlen(group, WA_SIGREC_NAME_MAX);
	if (n == 0 || n == WA_SIGREC_NAME_MAX)
		return -1;
	skn->group_id = group;
	skn->group_id_len = n;
	return 0;
}

/* ---- lifetime ---- */

int wa_sig_new(wa_sigstore *store, wa_sig **out)
{
	wa_sig *s;

	if (!store || !out)
		return WA_SIG_ERR;
	s = calloc(1, sizeof *s);
	if (!s)
		return WA_SIG_NOMEM;
	s->st = store;
	s->ctx = wa_signal_ctx();
	if (!s->ctx || signal_protocol_store_context_create(&s->store, s->ctx) < 0 ||
	    wa_sigstore_attach(store, s->store) < 0) {
		wa_sig_free(s);
		return WA_SIG_ERR;
	}
	*out = s;
	return WA_SIG_OK;
}

void wa_sig_free(wa_sig *s)
{
	if (!s)
		return;
	if (s->store)
		signal_protocol_store_context_destroy(s->store);
	free(s);
}

/* ---- own identity ---- */

static int put_local(wa_sig *s, const uint8_t pub[32], const uint8_t priv[32], uint32_t regid)
{
	wa_sigrec_key k = { .kind = WA_SIGREC_LOCAL };
	uint8_t rec[WA_SIGREC_LOCAL_LEN];
	int rc;

	memcpy(rec, pub, 32);
	memcpy(rec + 32, priv, 32);
	wa_sig_put_be32(rec + 64, regid);
	rc = wa_sigstore_put(s->st, &k, rec, sizeof rec);
	explicit_bzero(rec, sizeof rec);
	return rc < 0 ? map_store(rc) : WA_SIG_OK;
}

int wa_sig_identity_generate(wa_sig *s)
{
	ratchet_identity_key_pair *kp = NULL;
	signal_buffer *priv = NULL;
	uint8_t pub[32];
	uint32_t regid = 0;
	int rc = WA_SIG_ERR;

	if (!s)
		return WA_SIG_ERR;
	if (signal_protocol_key_helper_generate_identity_key_pair(&kp, s->ctx) < 0 ||
	    signal_protocol_key_helper_generate_registration_id(&regid, 0, s->ctx) < 0)
		goto out;
	if ((rc = encode_pub(ratchet_identity_key_pair_get_public(kp), pub)) < 0)
		goto out;
	if (ec_private_key_serialize(&priv, ratchet_identity_key_pair_get_private(kp)) < 0 ||
	    signal_buffer_len(priv) != 32) {
		rc = WA_SIG_ERR;
		goto out;
	}
	if (regid == 0)
		regid = 1; /* 0 reads as "unset" in places; libsignal never gives it anyway */
	rc = put_local(s, pub, signal_buffer_data(priv), regid);
out:
	signal_buffer_bzero_free(priv);
	if (kp)
		SIGNAL_UNREF(kp);
	return rc;
}

int wa_sig_identity_set(wa_sig *s, const uint8_t pub[32], const uint8_t priv[32], uint32_t regid)
{
	ec_private_key *pk = NULL;
	ec_public_key *derived = NULL;
	uint8_t check[32];
	int rc = WA_SIG_INVALID;

	if (!s || !pub || !priv || regid == 0)
		return WA_SIG_ERR;
	/* refuse a pair whose halves do not belong together: it would only
	 * surface later as peers failing every message */
	if (curve_decode_private_point(&pk, priv, 32, s->ctx) < 0 ||
	    curve_generate_public_key(&derived, pk) < 0 || encode_pub(derived, check) < 0 ||
	    memcmp(check, pub, 32) != 0)
		goto out;
	rc = put_local(s, pub, priv, regid);
out:
	if (pk)
		SIGNAL_UNREF(pk);
	if (derived)
		SIGNAL_UNREF(derived);
	return rc;
}

int wa_sig_identity_get(wa_sig *s, uint8_t pub[32], uint32_t *regid)
{
	wa_sigrec_key k = { .kind = WA_SIGREC_LOCAL };
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc;

	if (!s)
		return WA_SIG_ERR;
	rc = wa_sigstore_get(s->st, &k, &rec, &len);
	if (rc < 0)
		return map_store(rc);
	if (rc == 0)
		return WA_SIG_NOT_FOUND;
	if (len == WA_SIGREC_LOCAL_LEN) {
		if (pub)
			memcpy(pub, rec, 32);
		if (regid)
			*regid = wa_sig_get_be32(rec + 64);
		rc = WA_SIG_OK;
	} else {
		rc = WA_SIG_ERR;
	}
	wa_sig_buf_free(rec, len);
	return rc;
}

/* ---- pre-keys ---- */

uint32_t wa_sig_prekey_id_next(uint32_t id)
{
	if (id == 0 || id >= WA_SIG_PREKEY_ID_MAX)
		return 1;
	return id + 1;
}

/* One new pre-key: its public half to out, its serialised record to *rec. */
static int prekey_one(wa_sig *s, uint32_t id, wa_sig_prekey *out, signal_buffer **rec)
{
	ec_key_pair *kp = NULL;
	session_pre_key *pk = NULL;
	int rc = WA_SIG_ERR;

	if (curve_generate_key_pair(s->ctx, &kp) < 0 || session_pre_key_create(&pk, id, kp) < 0)
		goto out;
	if ((rc = encode_pub(ec_key_pair_get_public(kp), out->pub)) < 0)
		goto out;
	rc = map_sg(session_pre_key_serialize(rec, pk));
	out->id = id;
out:
	if (pk)
		SIGNAL_UNREF(pk);
	if (kp)
		SIGNAL_UNREF(kp);
	return rc;
}

int wa_sig_prekeys_generate(wa_sig *s, uint32_t first_id, size_t count, wa_sig_prekey *out, uint32_t *next_id)
{
	signal_buffer **bufs = NULL;
	wa_sigrec_key *keys = NULL;
	const uint8_t **recs = NULL;
	size_t *lens = NULL, i;
	uint32_t id;
	int rc = WA_SIG_NOMEM;

	if (!s || !out || count == 0)
		return WA_SIG_ERR;
	if (count > WA_SIG_PREKEY_BATCH_MAX)
		return WA_SIG_TOOBIG;
	bufs = calloc(count, sizeof *bufs);
	keys = calloc(count, sizeof *keys);
	recs = calloc(count, sizeof *recs);
	lens = calloc(count, sizeof *lens);
	if (!bufs || !keys || !recs || !lens)
		goto out;
	id = (first_id == 0 || first_id > WA_SIG_PREKEY_ID_MAX) ? 1 : first_id;
	for (i = 0; i < count; i++) {
		if ((rc = prekey_one(s, id, &out[i], &bufs[i])) < 0)
			goto out;
		keys[i].kind = WA_SIGREC_PREKEY;
		keys[i].id = id;
		recs[i] = signal_buffer_data(bufs[i]);
		lens[i] = signal_buffer_len(bufs[i]);
		id = wa_sig_prekey_id_next(id);
	}
	/* one store call: a single transaction on MariaDB */
	rc = wa_sigstore_put_many(s->st, keys, recs, lens, count);
	if (rc < 0) {
		rc = map_store(rc);
		goto out;
	}
	if (next_id)
		*next_id = id;
	rc = WA_SIG_OK;
out:
	for (i = 0; bufs && i < count; i++)
		signal_buffer_bzero_free(bufs[i]);
	free(bufs);
	free(keys);
	free(recs);
	free(lens);
	return rc;
}

int wa_sig_prekey_get(wa_sig *s, uint32_t id, wa_sig_prekey *out)
{
	session_pre_key *pk = NULL;
	int rc;

	if (!s || !out)
		return WA_SIG_ERR;
	rc = signal_protocol_pre_key_load_key(s->store, &pk, id);
	if (rc == SG_ERR_INVALID_KEY_ID)
		return WA_SIG_NOT_FOUND;
	if (rc < 0)
		return map_sg(rc);
	rc = encode_pub(ec_key_pair_get_public(session_pre_key_get_key_pair(pk)), out->pub);
	if (rc == WA_SIG_OK)
		out->id = id;
	SIGNAL_UNREF(pk);
	return rc;
}

int wa_sig_prekey_count(wa_sig *s)
{
	int rc;

	if (!s)
		return WA_SIG_ERR;
	rc = wa_sigstore_count(s->st, WA_SIGREC_PREKEY);
	return rc < 0 ? map_store(rc) : rc;
}

int wa_sig_signed_prekey_generate(wa_sig *s, uint32_t id, wa_sig_signed_prekey *out)
{
	ratchet_identity_key_pair *ikp = NULL;
	session_signed_pre_key *spk = NULL;
	wa_sig_signed_prekey r;
	int rc;

	if (!s || id == 0 || id > WA_SIG_PREKEY_ID_MAX)
		return WA_SIG_ERR;
	rc = map_sg(signal_protocol_identity_get_key_pair(s->store, &ikp));
	if (rc < 0)
		goto out;
	rc = WA_SIG_ERR;
	if (signal_protocol_key_helper_generate_signed_pre_key(&spk, ikp, id, (uint64_t)time(NULL) * 1000,
								s->ctx) < 0 ||
	    session_signed_pre_key_get_signature_len(spk) != 64)
		goto out;
	if ((rc = encode_pub(ec_key_pair_get_public(session_signed_pre_key_get_key_pair(spk)), r.pub)) < 0)
		goto out;
	memcpy(r.sig, session_signed_pre_key_get_signature(spk), 64);
	r.id = id;
	if ((rc = map_sg(signal_protocol_signed_pre_key_store_key(s->store, spk))) < 0)
		goto out;
	if (out)
		*out = r;
out:
	if (spk)
		SIGNAL_UNREF(spk);
	if (ikp)
		SIGNAL_UNREF(ikp);
	return rc;
}

int wa_sig_signed_prekey_get(wa_sig *s, uint32_t id, wa_sig_signed_prekey *out)
{
	session_signed_pre_key *spk = NULL;
	wa_sig_signed_prekey r;
	int rc;

	if (!s || !out)
		return WA_SIG_ERR;
	rc = signal_protocol_signed_pre_key_load_key(s->store, &spk, id);
	if (rc == SG_ERR_INVALID_KEY_ID)
		return WA_SIG_NOT_FOUND;
	if (rc < 0)
		return map_sg(rc);
	rc = WA_SIG_ERR;
	if (session_signed_pre_key_get_signature_len(spk) != 64)
		goto out;
	if ((rc = encode_pub(ec_key_pair_get_public(session_signed_pre_key_get_key_pair(spk)), r.pub)) < 0)
		goto out;
	memcpy(r.sig, session_signed_pre_key_get_signature(spk), 64);
	r.id = id;
	*out = r;
out:
	SIGNAL_UNREF(spk);
	return rc;
}

/* ---- bundles ---- */

static int field(const wa_sig_bytes *b, size_t want)
{
	return b->data != NULL && b->len == want;
}

int wa_sig_bundle_from_wire(const wa_sig_bundle_wire *w, wa_sig_bundle *out)
{
	wa_sig_bundle b;

	if (!w || !out)
		return WA_SIG_ERR;
	if (!field(&w->registration, 4) || !field(&w->identity, 32) || !field(&w->skey_id, 3) ||
	    !field(&w->skey_value, 32) || !field(&w->skey_signature, 64))
		return WA_SIG_INVALID;
	if (w->type.data && !(w->type.len == 1 && w->type.data[0] == KEY_TYPE_DJB))
		return WA_SIG_INVALID;
	/* a one-time key comes as a pair or not at all */
	if ((w->key_id.data != NULL) != (w->key_value.data != NULL))
		return WA_SIG_INVALID;
	if (w->key_id.data && (!field(&w->key_id, 3) || !field(&w->key_value, 32)))
		return WA_SIG_INVALID;
	memset(&b, 0, sizeof b);
	b.registration_id = wa_sig_get_be32(w->registration.data);
	memcpy(b.identity, w->identity.data, 32);
	b.signed_prekey_id = wa_sig_get_be3(w->skey_id.data);
	memcpy(b.signed_prekey, w->skey_value.data, 32);
	memcpy(b.signed_prekey_sig, w->skey_signature.data, 64);
	if (w->key_id.data) {
		b.has_prekey = 1;
		b.prekey_id = wa_sig_get_be3(w->key_id.data);
		memcpy(b.prekey, w->key_value.data, 32);
	}
	*out = b;
	return WA_SIG_OK;
}

int wa_sig_bundle_own(wa_sig *s, uint32_t spk_id, uint32_t prekey_id, wa_sig_bundle *out)
{
	wa_sig_bundle b;
	wa_sig_signed_prekey spk;
	wa_sig_prekey pk;
	int rc;

	if (!s || !out)
		return WA_SIG_ERR;
	memset(&b, 0, sizeof b);
	if ((rc = wa_sig_identity_get(s, b.identity, &b.registration_id)) < 0 ||
	    (rc = wa_sig_signed_prekey_get(s, spk_id, &spk)) < 0)
		return rc;
	b.signed_prekey_id = spk.id;
	memcpy(b.signed_prekey, spk.pub, 32);
	memcpy(b.signed_prekey_sig, spk.sig, 64);
	if (prekey_id) {
		if ((rc = wa_sig_prekey_get(s, prekey_id, &pk)) < 0)
			return rc;
		b.has_prekey = 1;
		b.prekey_id = pk.id;
		memcpy(b.prekey, pk.pub, 32);
	}
	*out = b;
	return WA_SIG_OK;
}

int wa_sig_bundle_process(wa_sig *s, const wa_sig_addr *addr, const wa_sig_bundle *b)
{
	signal_protocol_address sa;
	ec_public_key *idk = NULL, *spk = NULL, *pk = NULL;
	session_pre_key_bundle *bundle = NULL;
	session_builder *builder = NULL;
	int rc;

	if (!s || !b || sg_addr(addr, &sa) < 0)
		return WA_SIG_ERR;
	if ((rc = decode_pub(s->ctx, b->identity, &idk)) < 0 ||
	    (rc = decode_pub(s->ctx, b->signed_prekey, &spk)) < 0 ||
	    (b->has_prekey && (rc = decode_pub(s->ctx, b->prekey, &pk)) < 0))
		goto out;
	rc = map_sg(session_pre_key_bundle_create(&bundle, b->registration_id, sa.device_id,
						  b->has_prekey ? b->prekey_id : 0, pk,
						  b->signed_prekey_id, spk, b->signed_prekey_sig, 64, idk));
	if (rc < 0)
		goto out;
	rc = map_sg(session_builder_create(&builder, s->store, &sa, s->ctx));
	if (rc < 0)
		goto out;
	rc = map_sg(session_builder_process_pre_key_bundle(builder, bundle));
out:
	session_builder_free(builder);
	if (bundle)
		SIGNAL_UNREF(bundle);
	if (idk)
		SIGNAL_UNREF(idk);
	if (spk)
		SIGNAL_UNREF(spk);
	if (pk)
		SIGNAL_UNREF(pk);
	return rc;
}

/* ---- 1:1 sessions ---- */

int wa_sig_has_session(wa_sig *s, const wa_sig_addr *addr)
{
	signal_protocol_address sa;
	int rc;

	if (!s || sg_addr(addr, &sa) < 0)
		return WA_SIG_ERR;
	rc = signal_protocol_session_contains_session(s->store, &sa);
	return rc < 0 ? map_sg(rc) : rc != 0;
}

int wa_sig_encrypt(wa_sig *s, const wa_sig_addr *addr, const uint8_t *pt, size_t len,
		   enum wa_sig_msg_type *type, uint8_t **ct, size_t *ctlen)
{
	signal_protocol_address sa;
	session_cipher *cipher = NULL;
	ciphertext_message *msg = NULL;
	uint8_t *o = NULL;
	size_t olen = 0;
	int rc;

	if (!s || !pt || !type || !ct || !ctlen || sg_addr(addr, &sa) < 0)
		return WA_SIG_ERR;
	if (len == 0 || len > WA_SIG_MAX_MSG)
		return len ? WA_SIG_TOOBIG : WA_SIG_ERR;
	rc = map_sg(session_cipher_create(&cipher, s->store, &sa, s->ctx));
	if (rc < 0)
		goto out;
	rc = map_sg(session_cipher_encrypt(cipher, pt, len, &msg));
	if (rc == WA_SIG_ERR) {
		/* Without a session libsignal "encrypts" with an empty record
		 * and fails with SG_ERR_UNKNOWN before it stores anything: say
		 * what is really missing. Asked only on failure, so that a
		 * send reads each session record once, not twice. */
		int has = wa_sig_has_session(s, addr);

		rc = has < 0 ? has : has == 0 ? WA_SIG_NO_SESSION : WA_SIG_ERR;
	}
	if (rc < 0)
		goto out;
	if ((rc = dup_sgbuf(ciphertext_message_get_serialized(msg), &o, &olen)) < 0)
		goto out;
	*type = ciphertext_message_get_type(msg) == CIPHERTEXT_PREKEY_TYPE ? WA_SIG_PKMSG : WA_SIG_MSG;
	*ct = o;
	*ctlen = olen;
out:
	if (msg)
		SIGNAL_UNREF(msg);
	session_cipher_free(cipher);
	return rc;
}

int wa_sig_decrypt(wa_sig *s, const wa_sig_addr *addr, enum wa_sig_msg_type type,
		   const uint8_t *ct, size_t len, uint8_t **pt, size_t *ptlen)
{
	signal_protocol_address sa;
	session_cipher *cipher = NULL;
	pre_key_signal_message *pkm = NULL;
	signal_message *m = NULL;
	signal_buffer *plain = NULL;
	wa_sigrec_key ik;
	uint8_t *old_id = NULL;
	size_t old_idlen = 0;
	int rc, had_id;

	if (!s || !ct || !pt || !ptlen || sg_addr(addr, &sa) < 0)
		return WA_SIG_ERR;
	if (len == 0 || len > WA_SIG_MAX_MSG)
		return len ? WA_SIG_TOOBIG : WA_SIG_INVALID;
	if (type == WA_SIG_PKMSG)
		rc = pre_key_signal_message_deserialize(&pkm, ct, len, s->ctx);
	else if (type == WA_SIG_MSG)
		rc = signal_message_deserialize(&m, ct, len, s->ctx);
	else
		return WA_SIG_ERR;
	if (rc < 0) {
		/* a message that does not even parse is "invalid", whatever
		 * libsignal's reason (bad protobuf, version, key) */
		rc = rc == SG_ERR_NOMEM ? WA_SIG_NOMEM : WA_SIG_INVALID;
		goto out;
	}
	rc = map_sg(session_cipher_create(&cipher, s->store, &sa, s->ctx));
	if (rc < 0)
		goto out;
	if (pkm) {
		/* libsignal saves the sender's identity before it has checked
		 * the MAC, so a forged pkmsg would pin a bogus identity; keep
		 * the old record and put it back if decryption fails */
		memset(&ik, 0, sizeof ik);
		ik.kind = WA_SIGREC_IDENTITY;
		ik.name = addr->name;
		ik.device = addr->device;
		had_id = wa_sigstore_get(s->st, &ik, &old_id, &old_idlen);
		if (had_id < 0) {
			rc = map_store(had_id);
			goto out;
		}
		rc = map_sg(session_cipher_decrypt_pre_key_signal_message(cipher, pkm, NULL, &plain));
		if (rc < 0 && rc != WA_SIG_UNTRUSTED && rc != WA_SIG_STORE) {
			if (had_id == 1)
				(void)wa_sigstore_put(s->st, &ik, old_id, old_idlen); /* best effort */
			else
				(void)wa_sigstore_del(s->st, &ik);
		}
	} else {
		rc = map_sg(session_cipher_decrypt_signal_message(cipher, m, NULL, &plain));
	}
	if (rc < 0)
		goto out;
	rc = dup_sgbuf(plain, pt, ptlen);
out:
	free(old_id);
	signal_buffer_bzero_free(plain);
	if (pkm)
		SIGNAL_UNREF(pkm);
	if (m)
		SIGNAL_UNREF(m);
	session_cipher_free(cipher);
	return rc;
}

int wa_sig_session_delete(wa_sig *s, const wa_sig_addr *addr)
{
	signal_protocol_address sa;
	int rc;

	if (!s || sg_addr(addr, &sa) < 0)
		return WA_SIG_ERR;
	rc = signal_protocol_session_delete_session(s->store, &sa);
	return rc < 0 ? map_sg(rc) : WA_SIG_OK;
}

int wa_sig_session_delete_all(wa_sig *s, const wa_sig_addr *addr)
{
	signal_protocol_address sa;
	int rc;

	if (!s || sg_addr(addr, &sa) < 0)
		return WA_SIG_ERR;
	rc = signal_protocol_session_delete_all_sessions(s->store, sa.name, sa.name_len);
	return rc < 0 ? map_sg(rc) : rc;
}

int wa_sig_identity_forget(wa_sig *s, const wa_sig_addr *addr)
{
	wa_sigrec_key k;
	int rc;

	if (!s || !addr)
		return WA_SIG_ERR;
	memset(&k, 0, sizeof k);
	k.kind = WA_SIGREC_IDENTITY;
	k.name = addr->name;
	k.device = addr->device;
	rc = wa_sigstore_del(s->st, &k);
	if (rc < 0)
		return map_store(rc);
	return wa_sig_session_delete(s, addr);
}

int wa_sig_session_devices(wa_sig *s, const wa_sig_addr *addr, uint32_t *out, size_t max)
{
	int rc;

	if (!s || !addr)
		return WA_SIG_ERR;
	rc = wa_sigstore_devices(s->st, addr->name, out, max);
	return rc < 0 ? map_store(rc) : rc;
}

int wa_sig_user_forget(wa_sig *s, const wa_sig_addr *addr)
{
	int rc;

	if (!s || !addr)
		return WA_SIG_ERR;
	if ((rc = wa_sigstore_del_name(s->st, WA_SIGREC_IDENTITY, addr->name)) < 0 ||
	    (rc = wa_sigstore_del_name(s->st, WA_SIGREC_SESSION, addr->name)) < 0)
		return map_store(rc);
	return WA_SIG_OK;
}

/* ---- groups ---- */

int wa_sig_group_skdm(wa_sig *s, const char *group, const wa_sig_addr *self, uint8_t **skdm, size_t *len)
{
	signal_protocol_sender_key_name skn;
	group_session_builder *b = NULL;
	sender_key_distribution_message *dm = NULL;
	int rc;

	if (!s || !skdm || !len || sg_skn(group, self, &skn) < 0)
		return WA_SIG_ERR;
	rc = map_sg(group_session_builder_create(&b, s->store, s->ctx));
	if (rc < 0)
		goto out;
	rc = map_sg(group_session_builder_create_session(b, &dm, &skn));
	if (rc < 0)
		goto out;
	/* an SKDM is a ciphertext_message underneath (its first member) */
	rc = dup_sgbuf(ciphertext_message_get_serialized((ciphertext_message *)dm), skdm, len);
out:
	if (dm)
		SIGNAL_UNREF(dm);
	group_session_builder_free(b);
	return rc;
}

int wa_sig_group_process_skdm(wa_sig *s, const char *group, const wa_sig_addr *sender,
			      const uint8_t *skdm, size_t len)
{
	signal_protocol_sender_key_name skn;
	group_session_builder *b = NULL;
	sender_key_distribution_message *dm = NULL;
	int rc;

	if (!s || !skdm || sg_skn(group, sender, &skn) < 0)
		return WA_SIG_ERR;
	if (len == 0 || len > WA_SIG_MAX_MSG)
		return len ? WA_SIG_TOOBIG : WA_SIG_INVALID;
	rc = sender_key_distribution_message_deserialize(&dm, skdm, len, s->ctx);
	if (rc < 0) {
		rc = rc == SG_ERR_NOMEM ? WA_SIG_NOMEM : WA_SIG_INVALID;
		goto out;
	}
	rc = map_sg(group_session_builder_create(&b, s->store, s->ctx));
	if (rc < 0)
		goto out;
	rc = map_sg(group_session_builder_process_session(b, &skn, dm));
out:
	if (dm)
		SIGNAL_UNREF(dm);
	group_session_builder_free(b);
	return rc;
}

/* 1 if a sender key record exists for (group, addr), 0 if not. */
static int have_sender_key(wa_sig *s, const char *group, const wa_sig_addr *addr)
{
	wa_sigrec_key k;
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc;

	memset(&k, 0, sizeof k);
	k.kind = WA_SIGREC_SENDER_KEY;
	k.group = group;
	k.name = addr->name;
	k.device = addr->device;
	rc = wa_sigstore_get(s->st, &k, &rec, &len);
	if (rc < 0)
		return map_store(rc);
	wa_sig_buf_free(rec, len);
	return rc;
}

/* 1 if we hold the sender key state key_id of skn, 0 if not. libsignal
 * reports an unknown key id as "invalid message"; for WhatsApp it means the
 * SKDM of a new chain never reached us, which is "no session". */
static int have_sender_key_id(wa_sig *s, const signal_protocol_sender_key_name *skn, uint32_t key_id)
{
	sender_key_record *rec = NULL;
	sender_key_state *state = NULL;
	int rc;

	rc = signal_protocol_sender_key_load_key(s->store, &rec, skn);
	if (rc < 0)
		return map_sg(rc);
	rc = !sender_key_record_is_empty(rec) &&
	     sender_key_record_get_sender_key_state_by_id(rec, &state, key_id) >= 0;
	SIGNAL_UNREF(rec);
	return rc;
}

int wa_sig_group_encrypt(wa_sig *s, const char *group, const wa_sig_addr *self,
			 const uint8_t *pt, size_t len, uint8_t **ct, size_t *ctlen)
{
	signal_protocol_sender_key_name skn;
	group_cipher *gc = NULL;
	ciphertext_message *msg = NULL;
	int rc;

	if (!s || !pt || !ct || !ctlen || sg_skn(group, self, &skn) < 0)
		return WA_SIG_ERR;
	if (len == 0 || len > WA_SIG_MAX_MSG)
		return len ? WA_SIG_TOOBIG : WA_SIG_ERR;
	if ((rc = have_sender_key(s, group, self)) <= 0)
		return rc < 0 ? rc : WA_SIG_NO_SESSION;
	rc = map_sg(group_cipher_create(&gc, s->store, &skn, s->ctx));
	if (rc < 0)
		goto out;
	rc = map_sg(group_cipher_encrypt(gc, pt, len, &msg));
	if (rc < 0)
		goto out;
	rc = dup_sgbuf(ciphertext_message_get_serialized(msg), ct, ctlen);
out:
	if (msg)
		SIGNAL_UNREF(msg);
	group_cipher_free(gc);
	return rc;
}

int wa_sig_group_decrypt(wa_sig *s, const char *group, const wa_sig_addr *sender,
			 const uint8_t *ct, size_t len, uint8_t **pt, size_t *ptlen)
{
	signal_protocol_sender_key_name skn;
	group_cipher *gc = NULL;
	sender_key_message *m = NULL;
	signal_buffer *plain = NULL;
	int rc;

	if (!s || !ct || !pt || !ptlen || sg_skn(group, sender, &skn) < 0)
		return WA_SIG_ERR;
	if (len == 0 || len > WA_SIG_MAX_MSG)
		return len ? WA_SIG_TOOBIG : WA_SIG_INVALID;
	rc = sender_key_message_deserialize(&m, ct, len, s->ctx);
	if (rc < 0) {
		rc = rc == SG_ERR_NOMEM ? WA_SIG_NOMEM : WA_SIG_INVALID;
		goto out;
	}
	if ((rc = have_sender_key_id(s, &skn, sender_key_message_get_key_id(m))) <= 0) {
		rc = rc < 0 ? rc : WA_SIG_NO_SESSION;
		goto out;
	}
	rc = map_sg(group_cipher_create(&gc, s->store, &skn, s->ctx));
	if (rc < 0)
		goto out;
	rc = map_sg(group_cipher_decrypt(gc, m, NULL, &plain));
	if (rc < 0)
		goto out;
	rc = dup_sgbuf(plain, pt, ptlen);
out:
	signal_buffer_bzero_free(plain);
	if (m)
		SIGNAL_UNREF(m);
	group_cipher_free(gc);
	return rc;
}

int wa_sig_group_forget(wa_sig *s, const char *group, const wa_sig_addr *addr)
{
	wa_sigrec_key k;
	int rc;

	if (!s || !group || !addr)
		return WA_SIG_ERR;
	memset(&k, 0, sizeof k);
	k.kind = WA_SIGREC_SENDER_KEY;
	k.group = group;
	k.name = addr->name;
	k.device = addr->device;
	rc = wa_sigstore_del(s->st, &k);
	return rc < 0 ? map_store(rc) : WA_SIG_OK;
}

/* ---- padding ---- */

int wa_sig_pad(const uint8_t *in, size_t len, unsigned n, uint8_t **out, size_t *outlen)
{
	uint8_t *p;

	if ((!in && len) || !out || !outlen || n > WA_SIG_PAD_MAX)
		return WA_SIG_ERR;
	if (len > WA_SIG_MAX_MSG)
		return WA_SIG_TOOBIG;
	if (n == 0) {
		uint8_t r;

		if (wa_random(&r, 1) < 0)
			return WA_SIG_ERR;
		n = r & 0x0F;     /* as WM: 1..15, a zero nibble becomes 15 */
		if (n == 0)
			n = 15;
	}
	p = malloc(len + n);
	if (!p)
		return WA_SIG_NOMEM;
	if (len)
		memcpy(p, in, len);
	memset(p + len, (int)n, n);
	*out = p;
	*outlen = len + n;
	return WA_SIG_OK;
}

int wa_sig_unpad(const uint8_t *in, size_t len, size_t *outlen)
{
	size_t n, i;

	if (!in || !outlen || len == 0)
		return WA_SIG_INVALID;
	n = in[len - 1];
	/* both senders pad with at least one byte, so 0 is never valid */
	if (n == 0 || n > len)
		return WA_SIG_INVALID;
	for (i = len - n; i < len; i++)
		if (in[i] != n)
			return WA_SIG_INVALID;
	*outlen = len - n;
	return WA_SIG_OK;
}
