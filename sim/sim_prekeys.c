/* sim_prekeys: the server's pre-key table (docs/protocol.md §5): upload, count,
 * bundle fetch (one-time pre-key consumed on fetch), signed pre-key
 * rotation, and the "pre-key low" notification. Phones (device 0) keep
 * their table in struct sim_phone, companions in sim_device.keys. */
#include "sim_msg.h"
#include "sim_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/crypto.h"
#include "wa/signal_node.h"
#include "wa_log.h"
#include "wa_util.h"

void sim_devkeys_free(struct sim_devkeys *k)
{
	if (k == NULL)
		return;
	free(k->keys);
	free(k);
}

int sim_device_exists(const struct sim_account *a, uint16_t dev)
{
	return a != NULL && (dev == 0 || sim_account_device(a, dev) != NULL);
}

struct sim_account *sim_resolve_user(struct sim_server *s, const struct wa_jid *j, uint16_t *dev_out)
{
	if (j == NULL || j->user[0] == '\0')
		return NULL;
	if (dev_out)
		*dev_out = j->device;
	if (strcmp(j->server, WA_SERVER_USER) == 0 || strcmp(j->server, WA_SERVER_LEGACY) == 0)
		return sim_store_account_find(s->store, j->user);
	if (strcmp(j->server, WA_SERVER_LID) != 0)
		return NULL;
	return sim_store_account_find_lid(s->store, j->user);
}

/* Table of (a, dev), created on demand when create is set. */
static struct sim_devkeys *devkeys(struct sim_server *s, struct sim_account *a, uint16_t dev, int create)
{
	struct sim_device *d;

	if (dev == 0) {
		struct sim_phone *p = sim_phone_get(s, a);

		return p ? sim_phone_keys(p) : NULL;
	}
	d = sim_account_device(a, dev);
	if (d == NULL)
		return NULL;
	if (d->keys == NULL && create)
		d->keys = calloc(1, sizeof *d->keys);
	return d->keys;
}

/* Send <notification from="s.whatsapp.net" type="encrypt"><count value/></notification>
 * to a companion whose stock ran low (§5.3; threshold inferred). */
static void notify_low(struct sim_server *s, struct sim_account *a, uint16_t dev, size_t left)
{
	struct sim_device *d = sim_account_device(a, dev);
	struct wa_node *n, *cnt;
	char id[32];

	if (d == NULL)
		return;
	snprintf(id, sizeof id, "%llu", (unsigned long long)++s->seq);
	n = wa_node_new_attrs("notification", "from", "s.whatsapp.net", "type", "encrypt", "id", id, NULL);
	if (n == NULL || wa_node_set_attr_uint(n, "t", sim_now(s)) != 0 ||
	    (cnt = wa_node_add_new(n, "count")) == NULL || wa_node_set_attr_uint(cnt, "value", left) != 0 ||
	    sim_deliver(s, d, n) != 0)
		wa_debug("sim: pre-key low notification not delivered");
	wa_node_free(n);
}

int sim_prekeys_fetch(struct sim_server *s, struct sim_account *a, uint16_t dev, wa_sig_bundle *b)
{
	struct sim_devkeys *k;
	struct sim_device *d;

	if (!sim_device_exists(a, dev))
		return -1;
	k = devkeys(s, a, dev, 0);
	if (k != NULL && k->has_base) {
		*b = k->base;
		b->has_prekey = 0;
		if (k->nkeys > 0) {
			b->has_prekey = 1;
			b->prekey_id = k->keys[0].id;
			memcpy(b->prekey, k->keys[0].pub, 32);
			memmove(k->keys, k->keys + 1, (k->nkeys - 1) * sizeof *k->keys);
			k->nkeys--;
			if (dev != 0 && k->nkeys < SIM_PREKEY_LOW)
				notify_low(s, a, dev, k->nkeys);
		}
		return 0;
	}
	if (dev == 0)
		return -1; /* the phone always has a table */
	/* never uploaded: the keys of the registration payload, no one-time key */
	d = sim_account_device(a, dev);
	memset(b, 0, sizeof *b);
	b->registration_id = d->registration_id;
	memcpy(b->identity, d->identity_pub, 32);
	b->signed_prekey_id = d->spk_id;
	memcpy(b->signed_prekey, d->spk_pub, 32);
	memcpy(b->signed_prekey_sig, d->spk_sig, 64);
	return 0;
}

static int iq_err(struct sim_conn *c, struct wa_node *iq, int code, const char *text)
{
	return sim_conn_iq_error(c, iq, code, text) == 0 ? 0 : -1;
}

/* <iq xmlns="encrypt" type="set"><registration/><type/><identity/><list/><skey/></iq> (§5.1) */
int sim_iq_prekey_upload(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	wa_sig_prekey *keys = NULL;
	wa_sig_bundle base;
	struct sim_devkeys *k;
	size_t n = 0, i, j;
	int rc;

	(void)child;
	keys = malloc(WA_SIG_PREKEY_BATCH_MAX * sizeof *keys);
	if (keys == NULL)
		return -1;
	rc = wa_sig_upload_parse(iq, &base, keys, WA_SIG_PREKEY_BATCH_MAX, &n);
	if (rc != WA_SIG_OK) {
		free(keys);
		return iq_err(c, iq, rc == WA_SIG_TOOBIG ? 406 : 400, "bad-request");
	}
	if (!wa_ct_equal(base.identity, c->dev->identity_pub, 32)) {
		/* the identity was fixed by pairing; a real server refuses others (inferred) */
		free(keys);
		return iq_err(c, iq, 406, "not-acceptable");
	}
	k = devkeys(c->srv, c->acc, c->dev->id, 1);
	if (k == NULL) {
		free(keys);
		return -1;
	}
	k->base = base;
	k->base.has_prekey = 0;
	k->has_base = 1;
	for (i = 0; i < n; i++) {
		/* replace an entry with the same id, else append (bounded) */
		for (j = 0; j < k->nkeys && k->keys[j].id != keys[i].id; j++)
			;
		if (j < k->nkeys) {
			k->keys[j] = keys[i];
			continue;
		}
		if (k->nkeys >= SIM_DEVKEYS_MAX)
			break;
		if (k->nkeys == k->cap) {
			size_t nc = k->cap ? k->cap * 2 : 64;
			wa_sig_prekey *nk;

			if (nc > SIM_DEVKEYS_MAX)
				nc = SIM_DEVKEYS_MAX;
			nk = realloc(k->keys, nc * sizeof *nk);
			if (nk == NULL)
				break;
			k->keys = nk;
			k->cap = nc;
		}
		k->keys[k->nkeys++] = keys[i];
	}
	free(keys);
	wa_debug("sim: %s uploaded %zu pre-keys (%zu stored)", c->jid, n, k->nkeys);
	if (sim_conn_iq_result(c, iq, NULL) != 0)
		return -1;
	/* a companion that uploaded its keys is ready for the phone's
	 * app-state key share and history sync (simstate, once per device) */
	if (c->dev->id != 0 && !c->srv->no_pairing_sync)
		sim_state_companion_ready(c->srv, c->acc, c->dev->id);
	return 0;
}

/* <iq xmlns="encrypt" type="get"><count/></iq> -> <count value="N"/> (§5.2) */
int sim_iq_prekey_count(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct sim_devkeys *k = devkeys(c->srv, c->acc, c->dev->id, 0);
	struct wa_node *cnt = wa_node_new("count");

	(void)child;
	if (cnt == NULL || wa_node_set_attr_uint(cnt, "value", k ? k->nkeys : 0) != 0) {
		wa_node_free(cnt);
		return -1;
	}
	if (sim_conn_iq_result(c, iq, cnt) != 0) {
		wa_node_free(cnt);
		return -1;
	}
	return 0;
}

/* <iq xmlns="encrypt" type="get"><key><user jid reason/>...</key></iq> (§5.4) */
int sim_iq_prekey_fetch(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct wa_node *list = wa_node_new("list"), *u = NULL;
	size_t count = 0;

	if (list == NULL || wa_node_set_empty_list(list) != 0)
		goto fail;
	while ((u = wa_node_next(child, "user", u)) != NULL) {
		const char *jid = wa_node_attr(u, "jid");
		struct wa_jid j;
		struct sim_account *a;
		uint16_t dev = 0;
		wa_sig_bundle b;
		struct wa_node *out;

		if (++count > SIM_FETCH_MAX) {
			wa_node_free(list);
			return iq_err(c, iq, 406, "too-many-users");
		}
		if (jid == NULL || wa_jid_parse(jid, &j, NULL) != 0) {
			wa_node_free(list);
			return iq_err(c, iq, 400, "bad-request");
		}
		a = sim_resolve_user(c->srv, &j, &dev);
		if (a != NULL && sim_prekeys_fetch(c->srv, a, dev, &b) == 0) {
			out = wa_sig_bundle_user_node(jid, &b);
		} else {
			struct wa_node *e;

			out = wa_node_new_attrs("user", "jid", jid, NULL);
			e = out ? wa_node_add_new(out, "error") : NULL;
			if (e == NULL || wa_node_set_attr(e, "code", "404") ||
			    wa_node_set_attr(e, "text", "item-not-found")) {
				wa_node_free(out);
				out = NULL;
			}
		}
		if (out == NULL || wa_node_add_child(list, out) != 0) {
			wa_node_free(out);
			goto fail;
		}
	}
	if (sim_conn_iq_result(c, iq, list) != 0)
		goto fail;
	return 0;
fail:
	wa_node_free(list);
	return -1;
}

/* <iq xmlns="encrypt" type="get"><digest/></iq> (BL, §5.3): answered with an
 * empty result - no <digest> - which makes Baileys upload a fresh bundle
 * instead of validating a digest format we do not know exactly. */
int sim_iq_prekey_digest(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	(void)child;
	return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
}

/* <iq xmlns="encrypt" type="set"><rotate><skey><id/><value/><signature/></skey></rotate></iq>
 * (BL, §5.3): replaces the signed pre-key after checking its signature. */
int sim_iq_prekey_rotate(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct wa_node *sk = wa_node_child(child, "skey");
	struct wa_node *idn = wa_node_child(sk, "id"), *val = wa_node_child(sk, "value"),
		       *sig = wa_node_child(sk, "signature");
	const uint8_t *pid, *pval, *psig;
	size_t lid = 0, lval = 0, lsig = 0;
	uint8_t msg[33];
	struct sim_devkeys *k;

	pid = wa_node_content(idn, &lid);
	pval = wa_node_content(val, &lval);
	psig = wa_node_content(sig, &lsig);
	if (pid == NULL || pval == NULL || psig == NULL || lid != 3 || lval != 32 || lsig != 64)
		return iq_err(c, iq, 400, "bad-request");
	msg[0] = 0x05;
	memcpy(msg + 1, pval, 32);
	if (wa_xeddsa_verify(c->dev->identity_pub, msg, sizeof msg, psig) != 0)
		return iq_err(c, iq, 406, "not-acceptable");
	k = devkeys(c->srv, c->acc, c->dev->id, 1);
	if (k == NULL)
		return -1;
	if (!k->has_base) {
		k->base.registration_id = c->dev->registration_id;
		memcpy(k->base.identity, c->dev->identity_pub, 32);
		k->has_base = 1;
	}
	k->base.signed_prekey_id = wa_sig_get_be3(pid);
	memcpy(k->base.signed_prekey, pval, 32);
	memcpy(k->base.signed_prekey_sig, psig, 64);
	return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
}
