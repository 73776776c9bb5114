/* wa/pairing: companion-side device linking as node -> node functions
 * (see pairing.h; protocol facts in docs/protocol.md §4). */
#include "wa/pairing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/crypto.h"
#include "wa/jid.h"
#include "wa/linkcode.h"
#include "wa_adv.pb-c.h"
#include "wa_err.h"
#include "wa_util.h"

/* Signature prefixes (§4.3). */
static const uint8_t PFX_ACCOUNT[2] = { 0x06, 0x00 };
static const uint8_t PFX_DEVICE[2] = { 0x06, 0x01 };
static const uint8_t PFX_HOSTED[2] = { 0x06, 0x05 };

static int first_child_is(const struct wa_node *n, const char *tag)
{
	const struct wa_node *ch = wa_node_child_at(n, 0);

	return ch && strcmp(ch->tag, tag) == 0;
}

int wa_pair_classify(const struct wa_node *n)
{
	if (!n)
		return 0;
	if (strcmp(n->tag, "iq") == 0 && wa_node_attr_is(n, "type", "set")) {
		if (first_child_is(n, "pair-device"))
			return 1;
		if (first_child_is(n, "pair-success"))
			return 2;
	}
	if (strcmp(n->tag, "notification") == 0 && wa_node_attr_is(n, "type", "link_code_companion_reg"))
		return 3;
	return 0;
}

int wa_pair_parse_refs(const struct wa_node *iq, struct wa_pair_refs *out)
{
	const struct wa_node *pd = wa_node_child(iq, "pair-device");

	if (!out)
		return WA_EINVAL;
	out->n = 0;
	for (const struct wa_node *ref = wa_node_next(pd, "ref", NULL); ref && out->n < WA_PAIR_REFS_MAX;
	     ref = wa_node_next(pd, "ref", ref)) {
		size_t len;
		const uint8_t *s = wa_node_content(ref, &len);

		if (!s || len == 0 || len >= WA_PAIR_REF_MAX || memchr(s, '\0', len))
			continue;
		memcpy(out->ref[out->n], s, len);
		out->ref[out->n][len] = '\0';
		out->n++;
	}
	return out->n > 0 ? 0 : WA_EPROTO;
}

/* A reply IQ to the server with the request's id. */
static struct wa_node *reply_iq(const struct wa_node *iq, const char *type)
{
	const char *id = wa_node_attr(iq, "id");
	struct wa_node *r;
	struct wa_jid srv;

	if (!id)
		return NULL;
	r = wa_node_new("iq");
	wa_jid_server(&srv);
	if (!r || wa_node_set_attr_jid(r, "to", &srv) || wa_node_set_attr(r, "id", id) ||
	    wa_node_set_attr(r, "type", type)) {
		wa_node_free(r);
		return NULL;
	}
	return r;
}

struct wa_node *wa_pair_ack(const struct wa_node *iq)
{
	return reply_iq(iq, "result");
}

int wa_pair_qr_string(const struct wa_pair_keys *k, const char *ref, char *out, size_t cap)
{
	char nb[48], ib[48], ab[48];
	int n;

	if (!k || !ref || !out || !*ref)
		return WA_EINVAL;
	wa_base64_encode(k->noise_pub, 32, nb);
	wa_base64_encode(k->identity_pub, 32, ib);
	wa_base64_encode(k->adv_secret, 32, ab);
	n = snprintf(out, cap, "%s%s,%s,%s,%s,%c", WA_PAIR_QR_PREFIX, ref, nb, ib, ab,
		     k->platform_id ? k->platform_id : '9');
	return n < 0 || (size_t)n >= cap ? WA_ETOOBIG : 0;
}

/* The error IQ a companion answers a bad pair-success with. */
static struct wa_node *pair_error(const struct wa_node *iq, int code, const char *text)
{
	struct wa_node *r = reply_iq(iq, "error"), *e = r ? wa_node_add_new(r, "error") : NULL;

	if (!e || wa_node_set_attr_int(e, "code", code) || wa_node_set_attr(e, "text", text)) {
		wa_node_free(r);
		return NULL;
	}
	return r;
}

static void copy_attr(char *dst, size_t cap, const struct wa_node *n, const char *key)
{
	snprintf(dst, cap, "%s", wa_node_attr_or(n, key, ""));
}

/* The pair-device-sign reply: the signed identity without the account
 * key (§4.4). */
static struct wa_node *sign_reply(const struct wa_node *iq, WaAdv__ADVSignedDeviceIdentity *sdi,
				  uint32_t key_index)
{
	struct wa_node *r = reply_iq(iq, "result"), *pds, *di;
	uint8_t *buf;
	size_t n;
	int had = sdi->has_accountsignaturekey;

	if (!r)
		return NULL;
	sdi->has_accountsignaturekey = 0;
	n = wa_adv__advsigned_device_identity__get_packed_size(sdi);
	buf = malloc(n ? n : 1);
	if (buf)
		wa_adv__advsigned_device_identity__pack(sdi, buf);
	sdi->has_accountsignaturekey = had;
	pds = buf ? wa_node_add_new(r, "pair-device-sign") : NULL;
	di = pds ? wa_node_add_new(pds, "device-identity") : NULL;
	if (!di || wa_node_set_attr_uint(di, "key-index", key_index) || wa_node_set_bytes(di, buf, n)) {
		wa_node_free(r);
		r = NULL;
	}
	free(buf);
	return r;
}

/* Check the account signature over our identity and make ours (§4.3 steps
 * 4-5). msg is scratch of 2 + details + 64 bytes. */
static int verify_and_sign(const WaAdv__ADVSignedDeviceIdentity *sdi, int hosted_device,
			   const struct wa_pair_keys *k, uint8_t *msg, uint8_t dsig[64])
{
	size_t dl = sdi->details.len;

	memcpy(msg, hosted_device ? PFX_HOSTED : PFX_ACCOUNT, 2);
	memcpy(msg + 2, sdi->details.data, dl);
	memcpy(msg + 2 + dl, k->identity_pub, 32);
	if (wa_xeddsa_verify(sdi->accountsignaturekey.data, msg, 2 + dl + 32, sdi->accountsignature.data) != 0)
		return WA_ECRYPTO;
	memcpy(msg, PFX_DEVICE, 2);
	memcpy(msg + 2 + dl + 32, sdi->accountsignaturekey.data, 32);
	return wa_xeddsa_sign(k->identity_priv, msg, 2 + dl + 64, dsig) == 0 ? 0 : WA_EINTERNAL;
}

int wa_pair_success(const struct wa_node *iq, const struct wa_pair_keys *k, struct wa_pair_result *res,
		    struct wa_node **reply)
{
	const struct wa_node *ps = wa_node_child(iq, "pair-success");
	const struct wa_node *dev = wa_node_child(ps, "device");
	WaAdv__ADVSignedDeviceIdentityHMAC *hm = NULL;
	WaAdv__ADVSignedDeviceIdentity *sdi = NULL;
	WaAdv__ADVDeviceIdentity *di = NULL;
	uint8_t mac[32], dsig[64], *msg = NULL;
	const uint8_t *blob;
	struct wa_jid jid;
	size_t blen, n;
	int rc;

	if (!iq || !k || !res || !reply)
		return WA_EINVAL;
	*reply = NULL;
	memset(res, 0, sizeof *res);
	blob = wa_node_content(wa_node_child(ps, "device-identity"), &blen);
	if (!blob || !dev || wa_node_attr_jid(dev, "jid", &jid) != 0 || strlen(jid.user) >= sizeof res->phone) {
		*reply = pair_error(iq, 500, "internal-error");
		return WA_EPROTO;
	}
	rc = WA_ECRYPTO;
	hm = wa_adv__advsigned_device_identity_hmac__unpack(NULL, blen, blob);
	if (!hm || !hm->has_details || !hm->has_hmac || hm->hmac.len != 32)
		goto bad_hmac;
	/* HMAC over [06 05 when hosted] || details (step 2) */
	msg = malloc(2 + hm->details.len + 64);
	if (!msg) {
		rc = WA_ENOMEM;
		goto out;
	}
	n = 0;
	if (hm->has_accounttype && hm->accounttype == WA_ADV__ADVENCRYPTION_TYPE__HOSTED) {
		memcpy(msg, PFX_HOSTED, 2);
		n = 2;
	}
	memcpy(msg + n, hm->details.data, hm->details.len);
	if (wa_hmac_sha256(k->adv_secret, 32, msg, n + hm->details.len, mac) != 0 ||
	    !wa_ct_equal(mac, hm->hmac.data, 32))
		goto bad_hmac;
	sdi = wa_adv__advsigned_device_identity__unpack(NULL, hm->details.len, hm->details.data);
	if (!sdi || !sdi->has_details || sdi->accountsignaturekey.len != 32 || sdi->accountsignature.len != 64 ||
	    sdi->has_devicesignature)
		goto bad_sig;
	di = wa_adv__advdevice_identity__unpack(NULL, sdi->details.len, sdi->details.data);
	if (!di)
		goto bad_sig;
	/* sdi->details is inside hm->details, so msg (sized for it) fits */
	rc = verify_and_sign(sdi, di->has_devicetype && di->devicetype == WA_ADV__ADVENCRYPTION_TYPE__HOSTED, k,
			     msg, dsig);
	if (rc == WA_ECRYPTO)
		goto bad_sig;
	if (rc != 0)
		goto out;
	/* The stored account record has everything, deviceSignature included
	 * (step 6); dsig stays ours, so it is detached before freeing. */
	sdi->has_devicesignature = 1;
	sdi->devicesignature.data = dsig;
	sdi->devicesignature.len = 64;
	n = wa_adv__advsigned_device_identity__get_packed_size(sdi);
	if (n > sizeof res->account) {
		rc = WA_ETOOBIG;
		goto out;
	}
	res->account_len = wa_adv__advsigned_device_identity__pack(sdi, res->account);
	memcpy(res->primary_identity, sdi->accountsignaturekey.data, 32);
	res->key_index = di->keyindex;
	memcpy(res->phone, jid.user, strlen(jid.user) + 1);
	res->device = jid.device;
	copy_attr(res->lid, sizeof res->lid, dev, "lid");
	copy_attr(res->platform, sizeof res->platform, wa_node_child(ps, "platform"), "name");
	copy_attr(res->business_name, sizeof res->business_name, wa_node_child(ps, "biz"), "name");
	*reply = sign_reply(iq, sdi, di->keyindex);
	rc = *reply ? 0 : WA_ENOMEM;
	goto out;
bad_hmac:
	*reply = pair_error(iq, 401, "hmac-mismatch");
	goto out;
bad_sig:
	*reply = pair_error(iq, 401, "signature-mismatch");
out:
	if (sdi && sdi->devicesignature.data == dsig) {
		sdi->has_devicesignature = 0;
		sdi->devicesignature.data = NULL;
		sdi->devicesignature.len = 0;
	}
	explicit_bzero(dsig, sizeof dsig);
	free(msg);
	if (di)
		wa_adv__advdevice_identity__free_unpacked(di, NULL);
	if (sdi)
		wa_adv__advsigned_device_identity__free_unpacked(sdi, NULL);
	if (hm)
		wa_adv__advsigned_device_identity_hmac__free_unpacked(hm, NULL);
	if (rc != 0)
		memset(res, 0, sizeof *res);
	return rc;
}

static struct wa_node *add_bytes(struct wa_node *parent, const char *tag, const void *p, size_t len)
{
	struct wa_node *n = wa_node_add_new(parent, tag);

	if (!n || wa_node_set_bytes(n, p, len) != 0)
		return NULL;
	return n;
}

static struct wa_node *add_string(struct wa_node *parent, const char *tag, const char *s)
{
	struct wa_node *n = wa_node_add_new(parent, tag);

	if (!n || wa_node_set_string(n, s) != 0)
		return NULL;
	return n;
}

/* <iq xmlns="md" type="set" to="s.whatsapp.net"><link_code_companion_reg
 * jid=<phone> stage=...>, the frame of both link-code IQs. */
static struct wa_node *linkcode_iq(const char *phone, const char *stage, struct wa_node **reg)
{
	struct wa_node *iq = wa_node_new("iq");
	struct wa_jid jid, srv;

	*reg = NULL;
	wa_jid_server(&srv);
	if (!iq || wa_jid_make(&jid, phone, WA_SERVER_USER) || wa_node_set_attr(iq, "xmlns", "md") ||
	    wa_node_set_attr(iq, "type", "set") || wa_node_set_attr_jid(iq, "to", &srv) ||
	    !(*reg = wa_node_add_new(iq, "link_code_companion_reg")) || wa_node_set_attr_jid(*reg, "jid", &jid) ||
	    wa_node_set_attr(*reg, "stage", stage)) {
		wa_node_free(iq);
		return NULL;
	}
	return iq;
}

int wa_pair_code_hello(struct wa_pair_code *pc, const char *phone, const struct wa_pair_keys *k,
		       const char *display, const uint8_t *rnd, struct wa_node **iq)
{
	uint8_t wrapped[WA_LINKCODE_WRAPPED_LEN];
	struct wa_node *n, *reg;
	size_t pl = phone ? strlen(phone) : 0;
	char plat[2] = { k ? (k->platform_id ? k->platform_id : '9') : '9', '\0' };

	if (!pc || !k || !iq || pl < 6 || pl > 15 || strspn(phone, "0123456789") != pl)
		return WA_EINVAL;
	*iq = NULL;
	memset(pc, 0, sizeof *pc);
	if (wa_linkcode_generate(rnd, pc->code) != 0 || wa_x25519_keypair(pc->eph_priv, pc->eph_pub) != 0 ||
	    wa_linkcode_wrap(pc->code, NULL, NULL, pc->eph_pub, wrapped) != 0)
		return WA_EINTERNAL;
	memcpy(pc->phone, phone, pl + 1);
	n = linkcode_iq(phone, "companion_hello", &reg);
	if (!n || wa_node_set_attr(reg, "should_show_push_notification", "true") ||
	    !add_bytes(reg, "link_code_pairing_wrapped_companion_ephemeral_pub", wrapped, sizeof wrapped) ||
	    !add_bytes(reg, "companion_server_auth_key_pub", k->noise_pub, 32) ||
	    !add_string(reg, "companion_platform_id", plat) ||
	    !add_string(reg, "companion_platform_display", display ? display : "Chrome (Linux)") ||
	    !add_bytes(reg, "link_code_pairing_nonce", "", 1)) {
		wa_node_free(n);
		return WA_ENOMEM;
	}
	*iq = n;
	return 0;
}

int wa_pair_code_ref(struct wa_pair_code *pc, const struct wa_node *result)
{
	size_t len;
	const uint8_t *ref = wa_node_content(wa_node_path(result, "link_code_companion_reg", "link_code_pairing_ref",
							  NULL), &len);

	if (!pc || !result)
		return WA_EINVAL;
	if (!wa_node_attr_is(result, "type", "result") || !ref || len == 0 || len >= sizeof pc->ref ||
	    memchr(ref, '\0', len))
		return WA_EPROTO;
	memcpy(pc->ref, ref, len);
	pc->ref[len] = '\0';
	return 0;
}

int wa_pair_code_display(const struct wa_pair_code *pc, char out[10])
{
	return pc && wa_linkcode_display(pc->code, out) == 0 ? 0 : WA_EINVAL;
}

/* <ack class="notification" id type to=from/> of a notification (§8.6). */
static struct wa_node *notification_ack(const struct wa_node *n)
{
	struct wa_node *ack = wa_node_new("ack");
	const char *id = wa_node_attr(n, "id"), *from = wa_node_attr(n, "from");

	if (!ack || !id || wa_node_set_attr(ack, "class", "notification") || wa_node_set_attr(ack, "id", id) ||
	    (from && wa_node_set_attr(ack, "to", from)) ||
	    wa_node_set_attr(ack, "type", wa_node_attr_or(n, "type", "link_code_companion_reg"))) {
		wa_node_free(ack);
		return NULL;
	}
	return ack;
}

int wa_pair_code_finish(struct wa_pair_code *pc, const struct wa_node *notification, struct wa_pair_keys *k,
			struct wa_node **ack, struct wa_node **iq)
{
	const struct wa_node *lr = wa_node_child(notification, "link_code_companion_reg");
	const uint8_t *ref, *wrapped, *pid;
	size_t reflen, wlen, plen;
	uint8_t peph[32], bundle[WA_LINKCODE_BUNDLE_LEN], adv[32];
	struct wa_node *n = NULL, *reg;
	int rc;

	if (!pc || !notification || !k || !ack || !iq || !pc->ref[0])
		return WA_EINVAL;
	*ack = notification_ack(notification);
	*iq = NULL;
	if (!*ack)
		return WA_ENOMEM;
	ref = wa_node_content(wa_node_child(lr, "link_code_pairing_ref"), &reflen);
	wrapped = wa_node_content(wa_node_child(lr, "link_code_pairing_wrapped_primary_ephemeral_pub"), &wlen);
	pid = wa_node_content(wa_node_child(lr, "primary_identity_pub"), &plen);
	if (!ref || reflen != strlen(pc->ref) || memcmp(ref, pc->ref, reflen) != 0 || !wrapped ||
	    wlen < WA_LINKCODE_WRAPPED_LEN || !pid || plen != 32)
		return WA_EPROTO;
	/* a key that does not unwrap, or a DH that fails on it: the code or
	 * the primary's key is wrong */
	if (wa_linkcode_unwrap(pc->code, wrapped, wlen, peph) != 0 ||
	    wa_linkcode_bundle_seal(pc->eph_priv, peph, k->identity_priv, k->identity_pub, pid, NULL, NULL, NULL,
				    bundle, adv) != 0) {
		rc = WA_ECRYPTO;
		goto out;
	}
	rc = WA_ENOMEM;
	n = linkcode_iq(pc->phone, "companion_finish", &reg);
	if (!n || !add_bytes(reg, "link_code_pairing_wrapped_key_bundle", bundle, sizeof bundle) ||
	    !add_bytes(reg, "companion_identity_public", k->identity_pub, 32) ||
	    !add_bytes(reg, "link_code_pairing_ref", pc->ref, strlen(pc->ref)))
		goto out;
	/* pair-success is authenticated with the derived secret from now on */
	memcpy(k->adv_secret, adv, 32);
	*iq = n;
	n = NULL;
	rc = 0;
out:
	explicit_bzero(adv, sizeof adv);
	explicit_bzero(peph, sizeof peph);
	wa_node_free(n);
	return rc;
}
