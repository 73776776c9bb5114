/* sim_usync: <iq xmlns="usync" type="get"><usync><query/><list/></usync></iq>
 * (docs/protocol.md §6): contact (does this number exist), devices (phone
 * device 0 + companions with key indexes and a signed key-index list),
 * status (about), lid, disappearing_mode. Other protocols are answered
 * with nothing for that user. */
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/crypto.h"
#include "wa_adv.pb-c.h"
#include "wa_log.h"

/* ADVSignedKeyIndexList signed by the phone (prefix 06 02, inferred from
 * the 06 00 / 06 01 prefixes of the ADV identity signatures). */
static struct wa_node *key_index_list(struct sim_server *s, const struct sim_account *a)
{
	WaAdv__ADVKeyIndexList kl = WA_ADV__ADVKEY_INDEX_LIST__INIT;
	WaAdv__ADVSignedKeyIndexList sl = WA_ADV__ADVSIGNED_KEY_INDEX_LIST__INIT;
	uint32_t idx[SIM_MAX_DEVICES];
	const struct sim_device *d;
	uint8_t *details = NULL, *out = NULL, sig[64];
	size_t dlen, olen, n = 0;
	struct wa_node *kn = NULL;
	uint32_t cur = 0;

	for (d = a->devices; d && n < SIM_MAX_DEVICES; d = d->next) {
		idx[n++] = d->key_index;
		if (d->key_index > cur)
			cur = d->key_index;
	}
	kl.has_rawid = 1;
	kl.rawid = a->adv_raw_id;
	kl.has_timestamp = 1;
	kl.timestamp = sim_now(s);
	kl.has_currentindex = 1;
	kl.currentindex = cur;
	kl.n_validindexes = n;
	kl.validindexes = idx;
	dlen = wa_adv__advkey_index_list__get_packed_size(&kl);
	details = malloc(dlen + 2);
	if (details == NULL)
		return NULL;
	details[0] = 6;
	details[1] = 2;
	wa_adv__advkey_index_list__pack(&kl, details + 2);
	if (wa_xeddsa_sign(a->identity_priv, details, dlen + 2, sig) != 0)
		goto out;
	sl.has_details = 1;
	sl.details.data = details + 2;
	sl.details.len = dlen;
	sl.has_accountsignature = 1;
	sl.accountsignature.data = sig;
	sl.accountsignature.len = 64;
	sl.has_accountsignaturekey = 1;
	sl.accountsignaturekey.data = (uint8_t *)a->identity_pub;
	sl.accountsignaturekey.len = 32;
	olen = wa_adv__advsigned_key_index_list__get_packed_size(&sl);
	out = malloc(olen);
	if (out == NULL)
		goto out;
	wa_adv__advsigned_key_index_list__pack(&sl, out);
	kn = wa_node_new("key-index-list");
	if (kn == NULL || wa_node_set_attr_uint(kn, "ts", sim_now(s)) || wa_node_set_bytes(kn, out, olen)) {
		wa_node_free(kn);
		kn = NULL;
	}
out:
	free(details);
	free(out);
	return kn;
}

struct wa_node *sim_devices_node(struct sim_server *s, const struct sim_account *a)
{
	struct wa_node *devs = wa_node_new("devices"), *dl, *dn, *kil;
	const struct sim_device *d;

	dl = devs ? wa_node_add_new(devs, "device-list") : NULL;
	dn = dl ? wa_node_add_new(dl, "device") : NULL;
	if (dn == NULL || wa_node_set_attr(dn, "id", "0") != 0)
		goto fail;
	for (d = a->devices; d; d = d->next) {
		dn = wa_node_add_new(dl, "device");
		if (dn == NULL || wa_node_set_attr_uint(dn, "id", d->id) || wa_node_set_attr_uint(dn, "key-index", d->key_index))
			goto fail;
	}
	kil = key_index_list(s, a);
	if (kil == NULL || wa_node_add_child(devs, kil) != 0) {
		wa_node_free(kil);
		goto fail;
	}
	return devs;
fail:
	wa_node_free(devs);
	return NULL;
}

/* Digits of a <contact> value: "+15551234567", "15551234567@c.us", ... */
static int contact_digits(const struct wa_node *c, char *out, size_t cap)
{
	const char *v = wa_node_content_str(c);
	size_t n = 0;

	if (v == NULL)
		return -1;
	if (*v == '+')
		v++;
	while (*v >= '0' && *v <= '9' && n + 1 < cap)
		out[n++] = *v++;
	out[n] = '\0';
	return n > 0 && (*v == '\0' || *v == '@') ? 0 : -1;
}

static int add_user(struct sim_server *s, struct wa_node *list, const struct wa_node *query, const struct wa_node *u)
{
	const char *jid = wa_node_attr(u, "jid");
	struct wa_node *cn = wa_node_child(u, "contact"), *out, *ch;
	struct sim_account *a = NULL;
	char digits[SIM_NUMBER_MAX + 8] = "", ujid[WA_JID_STR_MAX] = "";
	struct wa_jid j;

	if (jid && wa_jid_parse(jid, &j, NULL) == 0) {
		wa_jid_normalize(&j);
		wa_jid_to_non_ad(&j);
		a = sim_resolve_user(s, &j, NULL);
		wa_jid_format(&j, ujid, sizeof ujid);
	} else if (cn && contact_digits(cn, digits, sizeof digits) == 0) {
		a = sim_store_account_find(s->store, digits);
		snprintf(ujid, sizeof ujid, "%s@s.whatsapp.net", digits);
	} else {
		return 0; /* nothing to answer for */
	}
	if (a != NULL && !(jid && wa_jid_is_lid(&j)))
		snprintf(ujid, sizeof ujid, "%s@s.whatsapp.net", a->number);
	out = wa_node_new_attrs("user", "jid", ujid, NULL);
	if (out == NULL || wa_node_add_child(list, out) != 0) {
		wa_node_free(out);
		return -1;
	}
	if (a && jid && wa_jid_is_lid(&j)) {
		char pn[WA_JID_STR_MAX];

		/* asked by LID: the PN alternate (6.2, WM records the mapping) */
		snprintf(pn, sizeof pn, "%s@s.whatsapp.net", a->number);
		if (wa_node_set_attr(out, "pn_jid", pn) != 0)
			return -1;
	}
	for (size_t i = 0; query && query->kind == WA_CONTENT_LIST && i < query->nchildren; i++) {
		const char *p = query->children[i]->tag;

		ch = NULL;
		if (strcmp(p, "contact") == 0) {
			ch = wa_node_new_attrs("contact", "type", a ? "in" : "out", NULL);
			if (ch && cn && wa_node_content_str(cn))
				wa_node_set_string(ch, wa_node_content_str(cn));
		} else if (a == NULL) {
			continue;
		} else if (strcmp(p, "devices") == 0) {
			ch = sim_devices_node(s, a);
		} else if (strcmp(p, "status") == 0) {
			struct sim_phone *ph = sim_phone_get(s, a);
			const char *about = ph ? sim_phone_about(ph) : "";

			ch = wa_node_new("status");
			if (ch && (wa_node_set_attr_uint(ch, "t", sim_now(s)) ||
				   wa_node_set_bytes(ch, about, strlen(about)))) {
				wa_node_free(ch);
				ch = NULL;
			}
		} else if (strcmp(p, "lid") == 0) {
			char lid[WA_JID_STR_MAX];

			snprintf(lid, sizeof lid, "%s@lid", a->lid);
			ch = wa_node_new_attrs("lid", "val", lid, NULL);
		} else if (strcmp(p, "disappearing_mode") == 0) {
			ch = wa_node_new_attrs("disappearing_mode", "duration", "0", "t", "0", NULL);
		} else {
			continue;
		}
		if (ch == NULL || wa_node_add_child(out, ch) != 0) {
			wa_node_free(ch);
			return -1;
		}
	}
	return 0;
}

int sim_iq_usync(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct wa_node *query = wa_node_child(child, "query"), *ulist = wa_node_child(child, "list"), *u = NULL;
	struct wa_node *res, *list;
	static const char *const copy[] = { "sid", "mode", "context", "index", "last", NULL };
	size_t n = 0;

	if (query == NULL || ulist == NULL)
		return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
	res = wa_node_new("usync");
	if (res == NULL)
		return -1;
	for (int i = 0; copy[i]; i++)
		wa_node_set_attr(res, copy[i], wa_node_attr(child, copy[i]));
	list = wa_node_add_new(res, "list");
	if (list == NULL || wa_node_set_empty_list(list) != 0)
		goto fail;
	while ((u = wa_node_next(ulist, "user", u)) != NULL) {
		if (++n > SIM_FETCH_MAX) {
			wa_node_free(res);
			return sim_conn_iq_error(c, iq, 406, "too-many-users") == 0 ? 0 : -1;
		}
		if (add_user(c->srv, list, query, u) != 0)
			goto fail;
	}
	if (sim_conn_iq_result(c, iq, res) != 0)
		goto fail;
	return 0;
fail:
	wa_node_free(res);
	return -1;
}
