/* sim_pair: QR pairing from the server and primary-phone side
 * (docs/protocol.md 4.1-4.4): pair-device refs, QR parsing, the phone's ADV
 * signatures + HMAC in pair-success, verification of pair-device-sign,
 * recording the device, the 515 restart; and device removal (401). */
#include "sim.h"
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/crypto.h"
#include "wa/jid.h"
#include "wa/linkcode.h"
#include "wa_adv.pb-c.h"
#include "wa_log.h"
#include "wa_util.h"

#define QR_PREFIX "https://wa.me/settings/linked_devices#"

static const uint8_t PREFIX_ACCOUNT_SIG[2] = { 0x06, 0x00 };
static const uint8_t PREFIX_DEVICE_SIG[2] = { 0x06, 0x01 };

int sim_pair_send_refs(struct sim_conn *c)
{
	struct wa_node *iq = wa_node_new("iq"), *pd, *ref;
	struct wa_jid srv;
	char id[40];
	int rc = -1;

	if (iq == NULL)
		return -1;
	wa_jid_server(&srv);
	sim_conn_next_iq_id(c, id, sizeof id);
	if (wa_node_set_attr_jid(iq, "from", &srv) || wa_node_set_attr(iq, "type", "set") ||
	    wa_node_set_attr(iq, "id", id) || wa_node_set_attr(iq, "xmlns", "md"))
		goto out;
	pd = wa_node_add_new(iq, "pair-device");
	if (pd == NULL)
		goto out;
	for (int i = 0; i < SIM_PAIR_REFS; i++) {
		uint8_t rnd[30];
		char b64[48];

		/* "2@" + base64 like the real refs; never contains ',' */
		if (sim_random(c->srv, rnd, sizeof rnd) != 0)
			goto out;
		wa_base64_encode(rnd, sizeof rnd, b64);
		snprintf(c->refs[i], sizeof c->refs[i], "2@%s", b64);
		ref = wa_node_add_new(pd, "ref");
		if (ref == NULL || wa_node_set_bytes(ref, c->refs[i], strlen(c->refs[i])))
			goto out;
	}
	c->refs_sent_at = sim_now(c->srv);
	rc = sim_conn_send_node(c, iq);
	/* the clients give up after the last ref (4.2); so does the server */
	sim_conn_set_timeout(c, c->srv->ref_first_secs +
			     (SIM_PAIR_REFS - 1) * c->srv->ref_next_secs + SIM_PAIR_GRACE_SECS);
out:
	wa_node_free(iq);
	return rc;
}

static int b64_32(const char *s, size_t n, uint8_t out[32])
{
	uint8_t tmp[48];
	long r = wa_base64_decode(s, n, tmp, sizeof tmp);

	if (r != 32)
		return -1;
	memcpy(out, tmp, 32);
	return 0;
}

int sim_qr_parse(const char *qr, size_t len, struct sim_qr *out, const char **why)
{
	const char *f[5], *end;
	size_t fl[5];
	int nf = 0;
	struct sim_qr q;

	memset(&q, 0, sizeof q);
	while (len > 0 && (qr[len - 1] == '\n' || qr[len - 1] == '\r' || qr[len - 1] == ' '))
		len--;
	if (len >= strlen(QR_PREFIX) && memcmp(qr, QR_PREFIX, strlen(QR_PREFIX)) == 0) {
		qr += strlen(QR_PREFIX);
		len -= strlen(QR_PREFIX);
	}
	end = qr + len;
	while (nf < 5) {
		const char *comma = memchr(qr, ',', (size_t)(end - qr));

		f[nf] = qr;
		fl[nf] = (size_t)((comma ? comma : end) - qr);
		nf++;
		if (comma == NULL)
			break;
		qr = comma + 1;
	}
	if (nf != 5 || memchr(f[4], ',', fl[4]) != NULL) {
		*why = "qr must have 5 comma-separated fields";
		return -1;
	}
	if (fl[0] == 0 || fl[0] >= SIM_REF_MAX || memchr(f[0], '\0', fl[0])) {
		*why = "bad ref";
		return -1;
	}
	memcpy(q.ref, f[0], fl[0]);
	if (b64_32(f[1], fl[1], q.noise_pub) || b64_32(f[2], fl[2], q.identity_pub) ||
	    b64_32(f[3], fl[3], q.adv_secret)) {
		*why = "keys must be base64 of 32 bytes";
		return -1;
	}
	if (fl[4] != 1) {
		*why = "platform must be one character";
		return -1;
	}
	q.platform = f[4][0];
	*out = q;
	return 0;
}

/* The connection waiting with this ref, and whether the ref is still
 * valid: ref i lives first + i * next seconds after pair-device (4.2). */
static struct sim_conn *find_ref(struct sim_server *s, const char *ref, int *expired)
{
	struct sim_conn *c;
	uint64_t now = sim_now(s);

	*expired = 0;
	for (c = s->conns; c; c = c->next) {
		if (!c->is_registration || c->state != SIM_CONN_READY)
			continue;
		for (int i = 0; i < SIM_PAIR_REFS; i++) {
			if (strcmp(c->refs[i], ref) != 0)
				continue;
			if (now > c->refs_sent_at + s->ref_first_secs + (uint64_t)i * s->ref_next_secs)
				*expired = 1;
			return c;
		}
	}
	return NULL;
}

static int pack_device_identity(const struct sim_pending_pair *pp, uint32_t raw_id, uint64_t ts,
				uint8_t *out, size_t cap, size_t *outlen)
{
	WaAdv__ADVDeviceIdentity di = WA_ADV__ADVDEVICE_IDENTITY__INIT;
	size_t n;

	di.has_rawid = 1;
	di.rawid = raw_id;
	di.has_timestamp = 1;
	di.timestamp = ts;
	di.has_keyindex = 1;
	di.keyindex = pp->key_index;
	n = wa_adv__advdevice_identity__get_packed_size(&di);
	if (n > cap)
		return -1;
	*outlen = wa_adv__advdevice_identity__pack(&di, out);
	return 0;
}

/* The phone accepts companion connection c (QR scan or link code): build
 * and send pair-success with the adv secret that authenticates it. */
static int send_pair_success(struct sim_server *s, struct sim_account *acc, struct sim_conn *c,
			     const uint8_t companion_identity[32], const uint8_t adv_secret[32],
			     char *jid_out, size_t jid_cap, const char **why)
{
	struct sim_pending_pair pp;
	WaAdv__ADVSignedDeviceIdentity sdi = WA_ADV__ADVSIGNED_DEVICE_IDENTITY__INIT;
	WaAdv__ADVSignedDeviceIdentityHMAC hm = WA_ADV__ADVSIGNED_DEVICE_IDENTITY_HMAC__INIT;
	uint8_t msg[2 + 128 + 32], mac[32], *signed_buf = NULL, *hmac_buf = NULL;
	size_t signed_len, hmac_len;
	struct wa_node *iq = NULL, *ps, *ch;
	struct wa_jid srv, djid, dlid;
	int status = 500;

	*why = "internal error";
	if (c->pair.active) {
		*why = "this companion was already accepted";
		return 409;
	}
	memset(&pp, 0, sizeof pp);
	snprintf(pp.number, sizeof pp.number, "%s", acc->number);
	if (sim_account_reserve_slot(acc, &pp.device_id, &pp.key_index) != 0) {
		*why = "no free device slot";
		return 409;
	}
	sim_save(s); /* slots are never reused, even if this pairing fails */
	if (pack_device_identity(&pp, acc->adv_raw_id, sim_now(s), pp.details, sizeof pp.details,
				 &pp.details_len) != 0)
		goto out;
	/* account signature: 06 00 || details || companion identity (4.4) */
	memcpy(msg, PREFIX_ACCOUNT_SIG, 2);
	memcpy(msg + 2, pp.details, pp.details_len);
	memcpy(msg + 2 + pp.details_len, companion_identity, 32);
	if (wa_xeddsa_sign(acc->identity_priv, msg, 2 + pp.details_len + 32, pp.account_sig) != 0)
		goto out;
	sdi.has_details = 1;
	sdi.details.data = pp.details;
	sdi.details.len = pp.details_len;
	sdi.has_accountsignaturekey = 1;
	sdi.accountsignaturekey.data = acc->identity_pub;
	sdi.accountsignaturekey.len = 32;
	sdi.has_accountsignature = 1;
	sdi.accountsignature.data = pp.account_sig;
	sdi.accountsignature.len = 64;
	signed_len = wa_adv__advsigned_device_identity__get_packed_size(&sdi);
	signed_buf = malloc(signed_len);
	if (signed_buf == NULL)
		goto out;
	wa_adv__advsigned_device_identity__pack(&sdi, signed_buf);
	if (wa_hmac_sha256(adv_secret, 32, signed_buf, signed_len, mac) != 0)
		goto out;
	hm.has_details = 1;
	hm.details.data = signed_buf;
	hm.details.len = signed_len;
	hm.has_hmac = 1;
	hm.hmac.data = mac;
	hm.hmac.len = 32;
	hmac_len = wa_adv__advsigned_device_identity_hmac__get_packed_size(&hm);
	hmac_buf = malloc(hmac_len);
	if (hmac_buf == NULL)
		goto out;
	wa_adv__advsigned_device_identity_hmac__pack(&hm, hmac_buf);

	/* <iq from type=set id t xmlns=md><pair-success>... (4.3) */
	sim_conn_next_iq_id(c, pp.iq_id, sizeof pp.iq_id);
	wa_jid_server(&srv);
	if (wa_jid_make_ad(&djid, acc->number, pp.device_id, WA_SERVER_USER) ||
	    wa_jid_make_ad(&dlid, acc->lid, pp.device_id, WA_SERVER_LID))
		goto out;
	iq = wa_node_new("iq");
	if (iq == NULL || wa_node_set_attr_jid(iq, "from", &srv) || wa_node_set_attr(iq, "type", "set") ||
	    wa_node_set_attr(iq, "id", pp.iq_id) || wa_node_set_attr_uint(iq, "t", sim_now(s)) ||
	    wa_node_set_attr(iq, "xmlns", "md"))
		goto out;
	ps = wa_node_add_new(iq, "pair-success");
	if (ps == NULL)
		goto out;
	ch = wa_node_add_new(ps, "device-identity");
	if (ch == NULL || wa_node_set_bytes(ch, hmac_buf, hmac_len))
		goto out;
	ch = wa_node_add_new(ps, "platform");
	if (ch == NULL || wa_node_set_attr(ch, "name", "android"))
		goto out;
	ch = wa_node_add_new(ps, "device");
	if (ch == NULL || wa_node_set_attr_jid(ch, "jid", &djid) || wa_node_set_attr_jid(ch, "lid", &dlid))
		goto out;
	if (sim_conn_send_node(c, iq) != 0)
		goto out;
	pp.active = 1;
	c->pair = pp;
	sim_conn_set_timeout(c, SIM_HANDSHAKE_SECS); /* for the pair-device-sign */
	if (wa_jid_format(&djid, jid_out, jid_cap) < 0 && jid_cap > 0)
		jid_out[0] = '\0';
	*why = "pair-success sent";
	status = 200;
	wa_info("sim: phone accepted conn %lu; offered device slot %u", c->id, pp.device_id);
out:
	wa_node_free(iq);
	free(signed_buf);
	free(hmac_buf);
	return status;
}

int sim_pair_scan(struct sim_server *s, struct sim_account *acc, const char *qrs, size_t qrlen,
		  char *jid_out, size_t jid_cap, const char **why)
{
	struct sim_qr qr;
	struct sim_conn *c;
	int expired, status;

	if (sim_qr_parse(qrs, qrlen, &qr, why) != 0)
		return 400;
	c = find_ref(s, qr.ref, &expired);
	if (c == NULL) {
		*why = "no connection is showing this qr";
		return 404;
	}
	if (expired) {
		*why = "qr ref expired";
		return 410;
	}
	if (c->pair.active) {
		*why = "this qr was already scanned";
		return 409;
	}
	if (!wa_ct_equal(qr.noise_pub, c->client_static, 32) ||
	    !wa_ct_equal(qr.identity_pub, c->info.keys.identity_pub, 32)) {
		*why = "qr keys do not match the connection that shows the ref";
		return 400;
	}
	status = send_pair_success(s, acc, c, qr.identity_pub, qr.adv_secret, jid_out, jid_cap, why);
	memset(&qr, 0, sizeof qr);
	return status;
}

/* The companion answered pair-success (4.4). */
/* <notification from="<number>@s.whatsapp.net" type="devices" id t>
 *   <add|remove><device jid="<number>:<id>@s.whatsapp.net"/></add|remove>
 * </notification> to the account's other companions (8.6): its device
 * list changed. The device_hash and key-index-list real servers add are
 * left out (no client here checks them). */
static void notify_devices(struct sim_server *s, struct sim_account *a, uint16_t id, const char *action)
{
	struct wa_node *n = wa_node_new_attrs("notification", "type", "devices", NULL), *ch, *dev;
	char id_s[32], user[WA_JID_STR_MAX], djid[WA_JID_STR_MAX];

	snprintf(id_s, sizeof id_s, "%llu", (unsigned long long)++s->seq);
	snprintf(user, sizeof user, "%s@s.whatsapp.net", a->number);
	sim_device_jid(a, id, djid, sizeof djid);
	ch = n ? wa_node_add_new(n, action) : NULL;
	dev = ch ? wa_node_add_new(ch, "device") : NULL;
	if (dev == NULL || wa_node_set_attr(n, "from", user) || wa_node_set_attr(n, "id", id_s) ||
	    wa_node_set_attr_uint(n, "t", sim_now(s)) || wa_node_set_attr(dev, "jid", djid)) {
		wa_node_free(n);
		return;
	}
	for (struct sim_device *d = a->devices; d; d = d->next) {
		struct wa_node *cp;

		if (d->id == id)
			continue;
		cp = wa_node_dup(n);
		if (cp == NULL || sim_deliver(s, d, cp) != 0)
			wa_debug("sim: devices notification not delivered to device %u", d->id);
		wa_node_free(cp);
	}
	wa_node_free(n);
}

int sim_pair_on_reply(struct sim_conn *c, struct wa_node *iq)
{
	struct sim_pending_pair pp = c->pair;
	struct sim_account *acc;
	struct sim_device *d = NULL;
	struct wa_node *di;
	WaAdv__ADVSignedDeviceIdentity *sdi = NULL;
	WaAdv__ADVSignedDeviceIdentity full = WA_ADV__ADVSIGNED_DEVICE_IDENTITY__INIT;
	const uint8_t *content;
	size_t clen, flen;
	uint8_t msg[2 + 128 + 64], *fbuf = NULL;
	unsigned long long key_index;
	const char *fail = NULL;

	memset(&c->pair, 0, sizeof c->pair);
	acc = sim_store_account_find(c->srv->store, pp.number);
	if (wa_node_attr_is(iq, "type", "error")) {
		wa_info("sim: conn %lu refused pair-success", c->id);
		sim_conn_close_after_flush(c);
		return 0;
	}
	di = wa_node_path(iq, "pair-device-sign", "device-identity", NULL);
	content = wa_node_content(di, &clen);
	if (acc == NULL) {
		fail = "the phone account is gone";
		goto out;
	}
	if (content == NULL || clen == 0 || clen > SIM_ADV_MAX) {
		fail = "no device-identity";
		goto out;
	}
	if (wa_node_attr_uint(di, "key-index", &key_index) != 0 || key_index != pp.key_index) {
		fail = "wrong key-index";
		goto out;
	}
	sdi = wa_adv__advsigned_device_identity__unpack(NULL, clen, content);
	if (sdi == NULL || !sdi->has_details || !sdi->has_accountsignature || !sdi->has_devicesignature ||
	    sdi->details.len != pp.details_len || memcmp(sdi->details.data, pp.details, pp.details_len) ||
	    sdi->accountsignature.len != 64 || memcmp(sdi->accountsignature.data, pp.account_sig, 64) ||
	    sdi->devicesignature.len != 64) {
		fail = "device-identity does not carry what the phone signed";
		goto out;
	}
	/* device signature: 06 01 || details || companion identity || account key */
	memcpy(msg, PREFIX_DEVICE_SIG, 2);
	memcpy(msg + 2, pp.details, pp.details_len);
	memcpy(msg + 2 + pp.details_len, c->info.keys.identity_pub, 32);
	memcpy(msg + 2 + pp.details_len + 32, acc->identity_pub, 32);
	if (wa_xeddsa_verify(c->info.keys.identity_pub, msg, 2 + pp.details_len + 64,
			     sdi->devicesignature.data) != 0) {
		fail = "device signature does not verify";
		goto out;
	}
	/* keep the full identity (with accountSignatureKey) for later checks */
	full.has_details = 1;
	full.details = sdi->details;
	full.has_accountsignaturekey = 1;
	full.accountsignaturekey.data = acc->identity_pub;
	full.accountsignaturekey.len = 32;
	full.has_accountsignature = 1;
	full.accountsignature = sdi->accountsignature;
	full.has_devicesignature = 1;
	full.devicesignature = sdi->devicesignature;
	flen = wa_adv__advsigned_device_identity__get_packed_size(&full);
	fbuf = malloc(flen);
	if (fbuf == NULL || sim_account_device_add(acc, pp.device_id, &d) != 0) {
		fail = "cannot record the device";
		goto out;
	}
	wa_adv__advsigned_device_identity__pack(&full, fbuf);
	memcpy(d->noise_pub, c->client_static, 32);
	memcpy(d->identity_pub, c->info.keys.identity_pub, 32);
	d->registration_id = c->info.keys.registration_id;
	d->spk_id = c->info.keys.signed_prekey_id;
	memcpy(d->spk_pub, c->info.keys.signed_prekey_pub, 32);
	memcpy(d->spk_sig, c->info.keys.signed_prekey_sig, 64);
	d->key_index = pp.key_index;
	d->paired_at = sim_now(c->srv);
	snprintf(d->platform, sizeof d->platform, "%s", c->info.os);
	if (sim_device_set_adv(d, fbuf, flen) != 0) {
		sim_account_device_remove(acc, pp.device_id);
		fail = "cannot record the device";
		goto out;
	}
	sim_save(c->srv);
	notify_devices(c->srv, acc, d->id, "add");
	wa_info("sim: device %u of a phone paired (conn %lu); restarting the stream", d->id, c->id);
out:
	if (fail != NULL) {
		wa_info("sim: conn %lu: pairing failed: %s", c->id, fail);
		sim_conn_iq_error(c, iq, 400, "bad-request");
		sim_conn_close_after_flush(c);
	} else {
		/* 4.1 step 6: restart; the device logs in with the login payload */
		sim_conn_stream_error(c, "515", NULL);
	}
	if (sdi)
		wa_adv__advsigned_device_identity__free_unpacked(sdi, NULL);
	free(fbuf);
	return 0;
}

int sim_pair_remove_device(struct sim_server *s, struct sim_account *a, uint16_t id)
{
	struct sim_device *d = sim_account_device(a, id);

	if (d == NULL)
		return -1;
	if (d->conn != NULL) {
		struct sim_conn *c = d->conn;

		c->dev = NULL;
		d->conn = NULL;
		sim_conn_stream_error(c, "401", "device_removed");
	}
	sim_account_device_remove(a, id);
	sim_save(s);
	notify_devices(s, a, id, "remove");
	return 0;
}

/* <iq xmlns="md" type="set"><remove-companion-device jid="<own device>"
 * reason="user_initiated"/></iq> (11.10): the companion logs itself out.
 * Only its own device JID (PN or LID form) is accepted (else 403; no jid
 * 400). The result goes out first, then the device is removed as by the
 * phone: the connection gets the 401 device_removed stream error. */
int sim_pair_logout_iq(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct wa_jid j;
	uint16_t dev = 0;
	struct sim_account *a;

	if (wa_node_attr_jid(child, "jid", &j) != 0)
		return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
	a = sim_resolve_user(c->srv, &j, &dev);
	if (a == NULL || a != c->acc || c->dev == NULL || dev != c->dev->id)
		return sim_conn_iq_error(c, iq, 403, "forbidden") == 0 ? 0 : -1;
	wa_info("wa-sim: %s logs itself out (reason %s)", c->jid,
		    wa_node_attr(child, "reason") ? wa_node_attr(child, "reason") : "-");
	if (sim_conn_iq_result(c, iq, NULL) != 0)
		return -1;
	return sim_pair_remove_device(c->srv, a, dev) == 0 ? 0 : -1;
}

/* ---- pairing by phone-number code (4.5) ---- */

static const uint8_t *child_bytes(const struct wa_node *n, const char *tag, size_t want)
{
	size_t len;
	const uint8_t *p = wa_node_content(wa_node_child(n, tag), &len);

	return p != NULL && (want == 0 || len == want) ? p : NULL;
}

static int link_hello(struct sim_conn *c, struct wa_node *iq, struct wa_node *reg)
{
	const uint8_t *wrapped = child_bytes(reg, "link_code_pairing_wrapped_companion_ephemeral_pub", 80);
	const uint8_t *auth = child_bytes(reg, "companion_server_auth_key_pub", 32);
	struct wa_node *r, *ref;
	struct sim_account *acc;
	struct wa_jid jid;
	uint8_t rnd[24];
	char b64[40];

	if (wrapped == NULL || auth == NULL || wa_node_attr_jid(reg, "jid", &jid) != 0 ||
	    !wa_jid_is_pn(&jid) || wa_node_child(reg, "companion_platform_id") == NULL ||
	    wa_node_child(reg, "companion_platform_display") == NULL)
		return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
	if (!wa_ct_equal(auth, c->client_static, 32))
		return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
	acc = sim_store_account_find(c->srv->store, jid.user);
	if (acc == NULL)
		return sim_conn_iq_error(c, iq, 404, "item-not-found") == 0 ? 0 : -1;
	if (sim_random(c->srv, rnd, sizeof rnd) != 0)
		return -1;
	memset(&c->link, 0, sizeof c->link);
	wa_base64_encode(rnd, sizeof rnd, b64);
	snprintf(c->link.ref, sizeof c->link.ref, "%s", b64);
	memcpy(c->link.number, acc->number, sizeof c->link.number);
	memcpy(c->link.wrapped_companion, wrapped, 80);
	c->link.active = 1;
	r = wa_node_new("link_code_companion_reg");
	ref = r ? wa_node_add_new(r, "link_code_pairing_ref") : NULL;
	if (ref == NULL || wa_node_set_bytes(ref, c->link.ref, strlen(c->link.ref)) ||
	    sim_conn_iq_result(c, iq, r) != 0) {
		wa_node_free(r);
		return -1;
	}
	return 0;
}

static int link_finish(struct sim_conn *c, struct wa_node *iq, struct wa_node *reg)
{
	const uint8_t *bundle = child_bytes(reg, "link_code_pairing_wrapped_key_bundle", WA_LINKCODE_BUNDLE_LEN);
	const uint8_t *cid = child_bytes(reg, "companion_identity_public", 32);
	const uint8_t *ref = child_bytes(reg, "link_code_pairing_ref", strlen(c->link.ref));
	struct sim_account *acc = sim_store_account_find(c->srv->store, c->link.number);
	uint8_t cid_in_bundle[32], adv[32];
	char jid[64];
	const char *why;
	int status, rc = 0;

	if (!c->link.active || !c->link.entered || acc == NULL || bundle == NULL || cid == NULL ||
	    ref == NULL || memcmp(ref, c->link.ref, strlen(c->link.ref)) != 0 ||
	    !wa_ct_equal(cid, c->info.keys.identity_pub, 32))
		return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
	/* the phone opens the bundle (it must name this phone's identity) and
	 * derives the advSecret; the companion identity inside must be the one
	 * the companion logged in with */
	if (wa_linkcode_bundle_open(c->link.primary_eph_priv, c->link.companion_eph, acc->identity_priv,
				    acc->identity_pub, bundle, WA_LINKCODE_BUNDLE_LEN, cid_in_bundle, adv) != 0 ||
	    !wa_ct_equal(cid_in_bundle, c->info.keys.identity_pub, 32)) {
		/* a mistyped code ends here: the bundle does not open */
		wa_info("sim: conn %lu: link-code key bundle rejected", c->id);
		rc = sim_conn_iq_error(c, iq, 401, "not-authorized") == 0 ? 0 : -1;
		memset(&c->link, 0, sizeof c->link);
		goto out;
	}
	if (sim_conn_iq_result(c, iq, NULL) != 0) {
		rc = -1;
		goto out;
	}
	memset(&c->link, 0, sizeof c->link);
	status = send_pair_success(c->srv, acc, c, cid_in_bundle, adv, jid, sizeof jid, &why);
	if (status != 200) {
		wa_info("sim: conn %lu: link-code pairing failed: %s", c->id, why);
		sim_conn_close_after_flush(c);
	}
out:
	memset(adv, 0, sizeof adv);
	return rc;
}

int sim_pair_link_iq(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	const char *stage = wa_node_attr(child, "stage");

	if (stage != NULL && strcmp(stage, "companion_hello") == 0)
		return link_hello(c, iq, child);
	if (stage != NULL && strcmp(stage, "companion_finish") == 0)
		return link_finish(c, iq, child);
	return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
}

int sim_pair_link_code(struct sim_server *s, struct sim_account *acc, const char *typed, const char **why)
{
	struct sim_conn *c;
	char code[WA_LINKCODE_LEN + 1], id[40];
	uint8_t salt[32], iv[16], eph_pub[32], wrapped[WA_LINKCODE_WRAPPED_LEN];
	struct wa_node *n = NULL, *reg, *ch;
	struct wa_jid srv;
	int status = 500;

	if (wa_linkcode_normalize(typed, code) != 0) {
		*why = "code must be 8 characters of the link-code alphabet";
		return 400;
	}
	for (c = s->conns; c; c = c->next)
		if (c->is_registration && c->state == SIM_CONN_READY && c->link.active && !c->link.entered &&
		    strcmp(c->link.number, acc->number) == 0)
			break;
	if (c == NULL) {
		*why = "no companion is waiting for a code for this phone";
		return 404;
	}
	*why = "internal error";
	/* A wrong code gives a wrong key here; it only shows when the
	 * companion's key bundle does not open (as on a real phone). */
	if (wa_linkcode_unwrap(code, c->link.wrapped_companion, sizeof c->link.wrapped_companion,
			       c->link.companion_eph) != 0 ||
	    sim_random(s, c->link.primary_eph_priv, 32) != 0 || sim_random(s, salt, 32) != 0 ||
	    sim_random(s, iv, 16) != 0)
		goto out;
	c->link.primary_eph_priv[0] &= 248;
	c->link.primary_eph_priv[31] = (uint8_t)((c->link.primary_eph_priv[31] & 127) | 64);
	if (wa_x25519_public(c->link.primary_eph_priv, eph_pub) != 0 ||
	    wa_linkcode_wrap(code, salt, iv, eph_pub, wrapped) != 0)
		goto out;
	/* <notification type="link_code_companion_reg"> (4.5 step 5) */
	wa_jid_server(&srv);
	sim_conn_next_iq_id(c, id, sizeof id);
	n = wa_node_new("notification");
	if (n == NULL || wa_node_set_attr_jid(n, "from", &srv) || wa_node_set_attr(n, "id", id) ||
	    wa_node_set_attr(n, "type", "link_code_companion_reg") || wa_node_set_attr_uint(n, "t", sim_now(s)))
		goto out;
	reg = wa_node_add_new(n, "link_code_companion_reg");
	if (reg == NULL)
		goto out;
	ch = wa_node_add_new(reg, "link_code_pairing_ref");
	if (ch == NULL || wa_node_set_bytes(ch, c->link.ref, strlen(c->link.ref)))
		goto out;
	ch = wa_node_add_new(reg, "link_code_pairing_wrapped_primary_ephemeral_pub");
	if (ch == NULL || wa_node_set_bytes(ch, wrapped, sizeof wrapped))
		goto out;
	ch = wa_node_add_new(reg, "primary_identity_pub");
	if (ch == NULL || wa_node_set_bytes(ch, acc->identity_pub, 32))
		goto out;
	if (sim_conn_send_node(c, n) != 0)
		goto out;
	c->link.entered = 1;
	*why = "code accepted; notification sent";
	status = 200;
out:
	wa_node_free(n);
	return status;
}
