/* wa/signal_node: key-distribution stanzas <-> wa/signal types (see
 * signal_node.h). */
#include "wa/signal_node.h"

#include <string.h>

/* ---- reading ---- */

/* Child tag of n, or of n's <keys> when n has none. */
static const struct wa_node *find(const struct wa_node *n, const char *tag)
{
	const struct wa_node *c = wa_node_child(n, tag);

	if (!c)
		c = wa_node_child(wa_node_child(n, "keys"), tag);
	return c;
}

static wa_sig_bytes bytes_of(const struct wa_node *n)
{
	wa_sig_bytes b = { NULL, 0 };
	size_t len = 0;
	const uint8_t *p = n ? wa_node_content(n, &len) : NULL;

	if (p) {
		b.data = p;
		b.len = len;
	}
	return b;
}

int wa_sig_addr_from_wajid(const struct wa_jid *jid, wa_sig_addr *out)
{
	int domain;

	if (!jid || !out)
		return WA_SIG_INVALID;
	domain = wa_sig_domain_of_server(jid->server);
	if (domain < 0)
		return WA_SIG_INVALID;
	return wa_sig_addr_set(out, jid->user, (unsigned)domain, jid->device);
}

int wa_sig_bundle_from_node(const struct wa_node *n, wa_sig_bundle *out)
{
	const struct wa_node *skey, *key;
	wa_sig_bundle_wire w;

	if (!n || !out)
		return WA_SIG_ERR;
	if (wa_node_child(n, "error"))
		return WA_SIG_NOT_FOUND;
	memset(&w, 0, sizeof w);
	w.registration = bytes_of(find(n, "registration"));
	w.type = bytes_of(find(n, "type"));
	w.identity = bytes_of(find(n, "identity"));
	skey = find(n, "skey");
	if (!skey)
		return WA_SIG_INVALID;
	w.skey_id = bytes_of(wa_node_child(skey, "id"));
	w.skey_value = bytes_of(wa_node_child(skey, "value"));
	w.skey_signature = bytes_of(wa_node_child(skey, "signature"));
	key = find(n, "key");
	if (key) {
		w.key_id = bytes_of(wa_node_child(key, "id"));
		w.key_value = bytes_of(wa_node_child(key, "value"));
		if (!w.key_id.data || !w.key_value.data)
			return WA_SIG_INVALID;
	}
	return wa_sig_bundle_from_wire(&w, out);
}

/* <key> or <skey>: id + value (+ signature); 0 or WA_SIG_INVALID. */
static int read_key(const struct wa_node *k, uint32_t *id, uint8_t pub[32], uint8_t sig[64])
{
	wa_sig_bytes i = bytes_of(wa_node_child(k, "id"));
	wa_sig_bytes v = bytes_of(wa_node_child(k, "value"));

	if (!i.data || i.len != 3 || !v.data || v.len != 32)
		return WA_SIG_INVALID;
	if (sig) {
		wa_sig_bytes s = bytes_of(wa_node_child(k, "signature"));

		if (!s.data || s.len != 64)
			return WA_SIG_INVALID;
		memcpy(sig, s.data, 64);
	}
	*id = wa_sig_get_be3(i.data);
	memcpy(pub, v.data, 32);
	return WA_SIG_OK;
}

int wa_sig_upload_parse(const struct wa_node *iq, wa_sig_bundle *base, wa_sig_prekey *out, size_t max,
			size_t *n)
{
	wa_sig_bundle b;
	wa_sig_bytes reg, type, ident;
	const struct wa_node *list, *k = NULL;
	size_t cnt = 0;

	if (!iq || !base || (!out && max) || !n)
		return WA_SIG_ERR;
	memset(&b, 0, sizeof b);
	reg = bytes_of(wa_node_child(iq, "registration"));
	type = bytes_of(wa_node_child(iq, "type"));
	ident = bytes_of(wa_node_child(iq, "identity"));
	list = wa_node_child(iq, "list");
	if (!reg.data || reg.len != 4 || (type.data && (type.len != 1 || type.data[0] != 5)) ||
	    !ident.data || ident.len != 32 || !list ||
	    read_key(wa_node_child(iq, "skey"), &b.signed_prekey_id, b.signed_prekey, b.signed_prekey_sig) < 0)
		return WA_SIG_INVALID;
	b.registration_id = wa_sig_get_be32(reg.data);
	memcpy(b.identity, ident.data, 32);
	while ((k = wa_node_next(list, "key", k)) != NULL) {
		wa_sig_prekey pk;

		if (read_key(k, &pk.id, pk.pub, NULL) < 0)
			return WA_SIG_INVALID;
		if (cnt >= max)
			return WA_SIG_TOOBIG;
		out[cnt++] = pk;
	}
	*base = b;
	*n = cnt;
	return WA_SIG_OK;
}

/* ---- building ---- */

static int add_bytes(struct wa_node *parent, const char *tag, const void *p, size_t len)
{
	struct wa_node *c = wa_node_add_new(parent, tag);

	return c && wa_node_set_bytes(c, p, len) == 0 ? 0 : -1;
}

static int add_key(struct wa_node *parent, const char *tag, uint32_t id, const uint8_t pub[32],
		   const uint8_t *sig)
{
	struct wa_node *k = wa_node_add_new(parent, tag);
	uint8_t be[3];

	wa_sig_put_be3(be, id);
	if (!k || add_bytes(k, "id", be, 3) < 0 || add_bytes(k, "value", pub, 32) < 0)
		return -1;
	return sig ? add_bytes(k, "signature", sig, 64) : 0;
}

static const uint8_t KEY_TYPE = 5;

struct wa_node *wa_sig_bundle_user_node(const char *jid, const wa_sig_bundle *b)
{
	struct wa_node *u;
	uint8_t reg[4];

	if (!jid || !b)
		return NULL;
	u = wa_node_new("user");
	wa_sig_put_be32(reg, b->registration_id);
	if (!u || wa_node_set_attr(u, "jid", jid) < 0 || add_bytes(u, "registration", reg, 4) < 0 ||
	    add_bytes(u, "type", &KEY_TYPE, 1) < 0 || add_bytes(u, "identity", b->identity, 32) < 0 ||
	    add_key(u, "skey", b->signed_prekey_id, b->signed_prekey, b->signed_prekey_sig) < 0 ||
	    (b->has_prekey && add_key(u, "key", b->prekey_id, b->prekey, NULL) < 0)) {
		wa_node_free(u);
		return NULL;
	}
	return u;
}

struct wa_node *wa_sig_upload_iq(wa_sig *s, const char *id, uint32_t spk_id, const wa_sig_prekey *pks,
				 size_t n)
{
	struct wa_node *iq = NULL, *list;
	wa_sig_signed_prekey spk;
	uint8_t pub[32], reg[4];
	uint32_t regid;
	size_t i;

	if (!s || !id || !pks || n == 0 || n > WA_SIG_PREKEY_BATCH_MAX ||
	    wa_sig_identity_get(s, pub, &regid) < 0 || wa_sig_signed_prekey_get(s, spk_id, &spk) < 0)
		return NULL;
	wa_sig_put_be32(reg, regid);
	iq = wa_node_new("iq");
	if (!iq || wa_node_set_attr(iq, "id", id) < 0 || wa_node_set_attr(iq, "to", "s.whatsapp.net") < 0 ||
	    wa_node_set_attr(iq, "type", "set") < 0 || wa_node_set_attr(iq, "xmlns", "encrypt") < 0 ||
	    add_bytes(iq, "registration", reg, 4) < 0 || add_bytes(iq, "type", &KEY_TYPE, 1) < 0 ||
	    add_bytes(iq, "identity", pub, 32) < 0 || !(list = wa_node_add_new(iq, "list")))
		goto fail;
	for (i = 0; i < n; i++)
		if (add_key(list, "key", pks[i].id, pks[i].pub, NULL) < 0)
			goto fail;
	if (add_key(iq, "skey", spk.id, spk.pub, spk.sig) < 0)
		goto fail;
	return iq;
fail:
	wa_node_free(iq);
	return NULL;
}

int wa_sig_add_registration(wa_sig *s, struct wa_node *parent)
{
	uint8_t reg[4];
	uint32_t regid;
	int rc;

	if (!s || !parent)
		return WA_SIG_ERR;
	if ((rc = wa_sig_identity_get(s, NULL, &regid)) < 0)
		return rc;
	wa_sig_put_be32(reg, regid);
	return add_bytes(parent, "registration", reg, 4) < 0 ? WA_SIG_NOMEM : WA_SIG_OK;
}

struct wa_node *wa_sig_retry_keys_node(wa_sig *s, uint32_t spk_id, const wa_sig_prekey *pk,
				       const uint8_t *dev_identity, size_t dev_identity_len)
{
	struct wa_node *keys = NULL;
	wa_sig_signed_prekey spk;
	uint8_t pub[32];

	if (!s || wa_sig_identity_get(s, pub, NULL) < 0 || wa_sig_signed_prekey_get(s, spk_id, &spk) < 0)
		return NULL;
	keys = wa_node_new("keys");
	if (!keys || add_bytes(keys, "type", &KEY_TYPE, 1) < 0 || add_bytes(keys, "identity", pub, 32) < 0 ||
	    (pk && add_key(keys, "key", pk->id, pk->pub, NULL) < 0) ||
	    add_key(keys, "skey", spk.id, spk.pub, spk.sig) < 0 ||
	    (dev_identity && add_bytes(keys, "device-identity", dev_identity, dev_identity_len) < 0)) {
		wa_node_free(keys);
		return NULL;
	}
	return keys;
}
