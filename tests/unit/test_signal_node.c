/* test_signal_node: the key-distribution stanzas of wa/signal_node through
 * the binary codec: upload IQ built and parsed back (wa-sim's side), a fetch
 * reply <user> (plain and with <keys>) turned into a session, a retry
 * receipt's <registration> + <keys>, error and malformed elements. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wa/binary.h"
#include "wa/buf.h"
#include "wa/signal_node.h"

struct party {
	wa_sig_addr addr;
	wa_sigstore *st;
	wa_sig *sig;
	wa_sig_prekey pks[5];
};

static int party_init(struct party *p, const char *jid)
{
	memset(p, 0, sizeof *p);
	p->st = wa_sigstore_mem_new(0, 0);
	return p->st && wa_sig_addr_from_jid(jid, &p->addr) == 0 && wa_sig_new(p->st, &p->sig) == 0 &&
	       wa_sig_identity_generate(p->sig) == 0 && wa_sig_signed_prekey_generate(p->sig, 1, NULL) == 0 &&
	       wa_sig_prekeys_generate(p->sig, 1, 5, p->pks, NULL) == 0 ? 0 : -1;
}

static void party_free(struct party *p)
{
	wa_sig_free(p->sig);
	wa_sigstore_free(p->st);
}

/* encode + decode, as if it crossed the wire */
static struct wa_node *wire(struct wa_node *n)
{
	struct wa_buf b = WA_BUF_INIT;
	struct wa_node *out = NULL;

	if (n && wa_binary_encode(n, &b) == 0)
		(void)wa_binary_decode(b.data, b.len, NULL, &out);
	wa_buf_free(&b);
	wa_node_free(n);
	return out;
}

/* a session from bundle b, then one message each way */
static int converse(struct party *a, struct party *b, const wa_sig_bundle *bb)
{
	uint8_t *ct = NULL, *pt = NULL;
	size_t cl = 0, pl = 0;
	enum wa_sig_msg_type t;
	int rc = -1;

	if (wa_sig_bundle_process(a->sig, &b->addr, bb) != 0 ||
	    wa_sig_encrypt(a->sig, &b->addr, (const uint8_t *)"hey\1", 4, &t, &ct, &cl) != 0 ||
	    t != WA_SIG_PKMSG || wa_sig_decrypt(b->sig, &a->addr, t, ct, cl, &pt, &pl) != 0 || pl != 4 ||
	    memcmp(pt, "hey\1", 4) != 0)
		goto out;
	rc = 0;
out:
	free(ct);
	wa_sig_buf_free(pt, pl);
	return rc;
}

int main(void)
{
	struct party a, b;
	struct wa_node *iq, *u, *r, *keys;
	wa_sig_bundle base, bb, own;
	wa_sig_prekey got[8], fresh;
	struct wa_jid j;
	wa_sig_addr ad;
	size_t n = 0;
	uint8_t devid[3] = { 0x0a, 0x01, 0x00 };

	if (party_init(&a, "15550000001:1@s.whatsapp.net") != 0 || party_init(&b, "100000000000002:3@lid") != 0) {
		ok(0, "parties");
		return tap_done();
	}

	ok(wa_jid_parse("100000000000002:3@lid", &j, NULL) == 0 && wa_sig_addr_from_wajid(&j, &ad) == 0 &&
	   strcmp(ad.name, "100000000000002_1") == 0 && ad.device == 3, "address of a parsed LID JID");
	ok(wa_jid_parse("120363000000000001@g.us", &j, NULL) == 0 && wa_sig_addr_from_wajid(&j, &ad) < 0,
	   "no address for a group JID");

	/* upload (§5.1), read back on the server side */
	iq = wire(wa_sig_upload_iq(b.sig, "1.2-3", 1, b.pks, 5));
	ok(iq != NULL, "upload IQ built and through the codec");
	is_str(wa_node_attr(iq, "xmlns"), "encrypt", "xmlns encrypt");
	is_str(wa_node_attr(iq, "type"), "set", "type set");
	is_int(wa_sig_upload_parse(iq, &base, got, 8, &n), 0, "upload parsed");
	is_int(n, 5, "five keys");
	ok(memcmp(&got[0], &b.pks[0], sizeof got[0]) == 0 && memcmp(&got[4], &b.pks[4], sizeof got[4]) == 0,
	   "keys match what was generated");
	ok(wa_sig_bundle_own(b.sig, 1, 0, &own) == 0 && memcmp(&own, &base, sizeof own) == 0,
	   "registration, identity, signed pre-key match");
	is_int(wa_sig_upload_parse(iq, &base, got, 4, &n), WA_SIG_TOOBIG, "more keys than room");
	wa_node_free(iq);

	/* fetch reply <user> as wa-sim would build it, read by the engine */
	base.has_prekey = 1;
	base.prekey_id = got[0].id;
	memcpy(base.prekey, got[0].pub, 32);
	u = wire(wa_sig_bundle_user_node("100000000000002:3@lid", &base));
	ok(u != NULL, "<user> built");
	is_int(wa_sig_bundle_from_node(u, &bb), 0, "<user> read");
	ok(memcmp(&bb, &base, sizeof bb) == 0, "same bundle");
	ok(wa_node_attr_jid(u, "jid", &j) == 0 && wa_sig_addr_from_wajid(&j, &ad) == 0 &&
	   strcmp(ad.name, b.addr.name) == 0 && ad.device == b.addr.device, "address from the jid attribute");
	is_int(converse(&a, &b, &bb), 0, "session from the fetched bundle works");
	wa_node_free(u);

	/* same content wrapped in <keys> (WM accepts it) */
	{
		struct wa_node *k;

		u = wa_node_new("user");
		k = wa_node_add_new(u, "keys");
		base.prekey_id = got[1].id;
		memcpy(base.prekey, got[1].pub, 32);
		r = wa_sig_bundle_user_node("x@s.whatsapp.net", &base);
		/* registration beside <keys>, the rest under it */
		for (n = 0; r && n < r->nchildren; n++) {
			struct wa_node *c = wa_node_dup(r->children[n]);

			if (c && wa_node_add_child(strcmp(c->tag, "registration") == 0 ? u : k, c) != 0)
				wa_node_free(c);
		}
		wa_node_free(r);
		u = wire(u);
		ok(wa_sig_bundle_from_node(u, &bb) == 0 && memcmp(&bb, &base, sizeof bb) == 0,
		   "<keys>-wrapped bundle read");
		wa_node_free(u);
	}

	/* error and malformed */
	u = wa_node_new("user");
	r = wa_node_add_new(u, "error");
	wa_node_set_attr(r, "code", "404");
	is_int(wa_sig_bundle_from_node(u, &bb), WA_SIG_NOT_FOUND, "<error> child: not found");
	wa_node_free(u);
	r = wa_sig_bundle_user_node("x@s.whatsapp.net", &base);
	u = wa_node_new("user");
	for (n = 0; r && n < r->nchildren; n++) {
		struct wa_node *c = wa_node_dup(r->children[n]);

		if (c && (strcmp(c->tag, "skey") == 0 || wa_node_add_child(u, c) != 0))
			wa_node_free(c);
	}
	wa_node_free(r);
	is_int(wa_sig_bundle_from_node(u, &bb), WA_SIG_INVALID, "missing <skey>: invalid");
	wa_node_free(u);

	/* retry receipt (§8.4): B could not decrypt, sends fresh keys */
	ok(wa_sig_prekeys_generate(b.sig, 100, 1, &fresh, NULL) == 0, "fresh pre-key for the retry");
	r = wa_node_new("receipt");
	wa_node_set_attr(r, "type", "retry");
	is_int(wa_sig_add_registration(b.sig, r), 0, "<registration> added");
	keys = wa_sig_retry_keys_node(b.sig, 1, &fresh, devid, sizeof devid);
	ok(keys && wa_node_add_child(r, keys) == 0, "<keys> added");
	r = wire(r);
	ok(r && wa_node_path(r, "keys", "device-identity", NULL) != NULL, "device-identity inside <keys>");
	is_int(wa_sig_bundle_from_node(r, &bb), 0, "retry receipt read as a bundle");
	ok(bb.has_prekey && bb.prekey_id == 100 && memcmp(bb.prekey, fresh.pub, 32) == 0, "with the fresh key");
	ok(wa_sig_session_delete(a.sig, &b.addr) == 0, "A drops the old session");
	is_int(converse(&a, &b, &bb), 0, "A rebuilds the session from the retry keys");
	wa_node_free(r);

	party_free(&a);
	party_free(&b);
	return tap_done();
}
