/* test_signal: wa/signal + wa/sigstore_mem with two and three in-process
 * parties: addresses, pre-key ids, bundles, pkmsg/msg both ways, out-of-order
 * and duplicate delivery, identity change, a three-member sender-key group,
 * and padding (with the vector of tests/vectors/protocol.json).
 *
 * With WA_SIG_DUMP_CORPUS=<dir> it also writes the messages it produced as
 * seed inputs for tests/fuzz/fuzz_signal_msg.c (selector byte + bytes). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wa/signal.h"
#include "wa/sigstore.h"

struct party {
	const char *jid;
	wa_sig_addr addr;
	wa_sigstore *st;
	wa_sig *sig;
};

static int party_init(struct party *p, const char *jid)
{
	wa_sig_prekey pks[10];
	uint32_t next = 0;

	memset(p, 0, sizeof *p);
	p->jid = jid;
	if (wa_sig_addr_from_jid(jid, &p->addr) != 0)
		return -1;
	p->st = wa_sigstore_mem_new(0, 0);
	if (!p->st || wa_sig_new(p->st, &p->sig) != 0 || wa_sig_identity_generate(p->sig) != 0 ||
	    wa_sig_signed_prekey_generate(p->sig, 1, NULL) != 0 ||
	    wa_sig_prekeys_generate(p->sig, 1, 10, pks, &next) != 0 || next != 11)
		return -1;
	return 0;
}

static void party_free(struct party *p)
{
	wa_sig_free(p->sig);
	wa_sigstore_free(p->st);
}

static void dump(const char *name, uint8_t sel, const uint8_t *b, size_t n)
{
	const char *dir = getenv("WA_SIG_DUMP_CORPUS");
	char path[1024];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(&sel, 1, 1, f);
	fwrite(b, 1, n, f);
	fclose(f);
}

/* pad + encrypt; returns the type or -1 */
static int send_1to1(struct party *from, struct party *to, const char *text, uint8_t **ct, size_t *ctlen)
{
	uint8_t *padded = NULL;
	size_t plen = 0;
	enum wa_sig_msg_type t;
	int rc;

	if (wa_sig_pad((const uint8_t *)text, strlen(text), 0, &padded, &plen) != 0)
		return -1;
	rc = wa_sig_encrypt(from->sig, &to->addr, padded, plen, &t, ct, ctlen);
	wa_sig_buf_free(padded, plen);
	return rc == 0 ? (int)t : rc;
}

/* decrypt + unpad + compare with text; returns the wa_sig code */
static int recv_1to1(struct party *to, struct party *from, int type, const uint8_t *ct, size_t ctlen,
		     const char *text)
{
	uint8_t *pt = NULL;
	size_t ptlen = 0, ulen = 0;
	int rc = wa_sig_decrypt(to->sig, &from->addr, (enum wa_sig_msg_type)type, ct, ctlen, &pt, &ptlen);

	if (rc != 0)
		return rc;
	if (wa_sig_unpad(pt, ptlen, &ulen) != 0 || ulen != strlen(text) || memcmp(pt, text, ulen) != 0)
		rc = -100;
	wa_sig_buf_free(pt, ptlen);
	return rc;
}

/* Own bundle -> the byte fields a <user> node carries -> parsed bundle. */
static int bundle_via_wire(struct party *p, uint32_t prekey_id, wa_sig_bundle *out)
{
	wa_sig_bundle own;
	uint8_t reg[4], type = 5, skid[3], kid[3];
	wa_sig_bundle_wire w;

	if (wa_sig_bundle_own(p->sig, 1, prekey_id, &own) != 0)
		return -1;
	memset(&w, 0, sizeof w);
	wa_sig_put_be32(reg, own.registration_id);
	wa_sig_put_be3(skid, own.signed_prekey_id);
	w.registration = (wa_sig_bytes){ reg, 4 };
	w.type = (wa_sig_bytes){ &type, 1 };
	w.identity = (wa_sig_bytes){ own.identity, 32 };
	w.skey_id = (wa_sig_bytes){ skid, 3 };
	w.skey_value = (wa_sig_bytes){ own.signed_prekey, 32 };
	w.skey_signature = (wa_sig_bytes){ own.signed_prekey_sig, 64 };
	if (own.has_prekey) {
		wa_sig_put_be3(kid, own.prekey_id);
		w.key_id = (wa_sig_bytes){ kid, 3 };
		w.key_value = (wa_sig_bytes){ own.prekey, 32 };
	}
	if (wa_sig_bundle_from_wire(&w, out) != 0)
		return -1;
	return memcmp(out, &own, sizeof own) == 0 ? 0 : -1;
}

static void test_addresses(void)
{
	wa_sig_addr a;

	is_int(wa_sig_addr_from_jid("15551234567:2@s.whatsapp.net", &a), 0, "PN device JID parses");
	is_str(a.name, "15551234567", "PN address name = user");
	is_int(a.device, 2, "PN device id");
	is_int(wa_sig_addr_from_jid("15551234567@s.whatsapp.net", &a), 0, "PN JID without device");
	is_int(a.device, 0, "no device part = device 0");
	is_int(wa_sig_addr_from_jid("123456789012345:7@lid", &a), 0, "LID device JID parses");
	is_str(a.name, "123456789012345_1", "LID address name = user_1");
	is_int(a.device, 7, "LID device id");
	is_int(wa_sig_addr_from_jid("1555.0:3@s.whatsapp.net", &a), 0, "WM agent form parses");
	is_str(a.name, "1555", "agent 0 on PN does not change the name");
	is_int(wa_sig_addr_from_jid("42:1@hosted", &a), 0, "hosted JID parses");
	is_str(a.name, "42_128", "hosted = domain 128");
	is_int(wa_sig_addr_from_jid("42@hosted.lid", &a), 0, "hosted.lid JID parses");
	is_str(a.name, "42_129", "hosted.lid = domain 129");
	ok(wa_sig_addr_from_jid("1555:4@c.us", &a) == 0 && strcmp(a.name, "1555") == 0 && a.device == 4,
	   "legacy c.us = s.whatsapp.net");
	ok(wa_sig_addr_from_jid("1203630001@g.us", &a) < 0, "group JID is no Signal address");
	ok(wa_sig_addr_from_jid("status@broadcast", &a) < 0, "broadcast JID is no Signal address");
	ok(wa_sig_addr_from_jid("1555:70000@s.whatsapp.net", &a) == 0 && a.device == 70000,
	   "device ids above one byte are kept (FB-style)");
	ok(wa_sig_addr_from_jid("1555:123456@s.whatsapp.net", &a) < 0, "device over 5 digits rejected");
	ok(wa_sig_addr_from_jid("1555@s.whatsapp.net@x", &a) < 0, "two '@' rejected");
	ok(wa_sig_addr_from_jid("1555:x@s.whatsapp.net", &a) < 0, "bad device rejected");
	ok(wa_sig_addr_from_jid(":1@s.whatsapp.net", &a) < 0, "empty user rejected");
	ok(wa_sig_addr_from_jid("1555", &a) < 0, "no server rejected");
	is_int(wa_sig_addr_set(&a, "1555", 1, 3), 0, "addr_set");
	is_str(a.name, "1555_1", "addr_set name with domain");
}

static void test_ids(struct party *b)
{
	uint8_t be[3];
	wa_sig_prekey pks[3], got;
	uint32_t next = 0;
	int n0;

	wa_sig_put_be3(be, 0xABCDEF);
	ok(be[0] == 0xAB && be[1] == 0xCD && be[2] == 0xEF && wa_sig_get_be3(be) == 0xABCDEF, "be3 round trip");
	is_int(wa_sig_prekey_id_next(1), 2, "next id");
	is_int(wa_sig_prekey_id_next(0xFFFFFF), 1, "id after 0xFFFFFF wraps to 1");
	is_int(wa_sig_prekey_id_next(0), 1, "id 0 is never used");
	n0 = wa_sig_prekey_count(b->sig);
	is_int(wa_sig_prekeys_generate(b->sig, 0xFFFFFE, 3, pks, &next), 0, "generate across the wrap");
	ok(pks[0].id == 0xFFFFFE && pks[1].id == 0xFFFFFF && pks[2].id == 1 && next == 2,
	   "ids 0xFFFFFE, 0xFFFFFF, 1, next 2");
	/* id 1 existed before: replaced, so the stock grows by two */
	is_int(wa_sig_prekey_count(b->sig), n0 + 2, "pre-key count after wrap batch");
	ok(wa_sig_prekey_get(b->sig, 1, &got) == 0 && memcmp(got.pub, pks[2].pub, 32) == 0,
	   "re-used id 1 holds the new key");
	is_int(wa_sig_prekey_get(b->sig, 500, &got), WA_SIG_NOT_FOUND, "unknown pre-key id");
	is_int(wa_sig_prekeys_generate(b->sig, 1, WA_SIG_PREKEY_BATCH_MAX + 1, pks, NULL), WA_SIG_TOOBIG,
	       "batch cap");
}

static void test_bundle(struct party *a, struct party *b)
{
	wa_sig_bundle bb, bad;
	wa_sig_bundle_wire w;
	uint8_t four[4] = { 0 }, x[64] = { 0 };

	is_int(bundle_via_wire(b, 1, &bb), 0, "bundle -> wire fields -> bundle is identity");
	ok(bb.has_prekey && bb.prekey_id == 1 && bb.signed_prekey_id == 1, "bundle ids");
	memset(&w, 0, sizeof w);
	w.registration = (wa_sig_bytes){ four, 3 };
	w.identity = (wa_sig_bytes){ x, 32 };
	w.skey_id = (wa_sig_bytes){ x, 3 };
	w.skey_value = (wa_sig_bytes){ x, 32 };
	w.skey_signature = (wa_sig_bytes){ x, 64 };
	is_int(wa_sig_bundle_from_wire(&w, &bad), WA_SIG_INVALID, "3-byte registration rejected");
	w.registration.len = 4;
	is_int(wa_sig_bundle_from_wire(&w, &bad), 0, "bundle without one-time key parses");
	ok(!bad.has_prekey, "no one-time key");
	w.key_id = (wa_sig_bytes){ x, 3 };
	is_int(wa_sig_bundle_from_wire(&w, &bad), WA_SIG_INVALID, "<key> without <value> rejected");
	w.key_id = (wa_sig_bytes){ NULL, 0 };
	w.type = (wa_sig_bytes){ x, 1 };
	is_int(wa_sig_bundle_from_wire(&w, &bad), WA_SIG_INVALID, "key type 0x00 rejected");

	bad = bb;
	bad.signed_prekey_sig[5] ^= 1;
	is_int(wa_sig_bundle_process(a->sig, &b->addr, &bad), WA_SIG_INVALID, "bad signed pre-key signature");
	is_int(wa_sig_has_session(a->sig, &b->addr), 0, "no session after a bad bundle");
	is_int(wa_sig_bundle_process(a->sig, &b->addr, &bb), 0, "A processes B's bundle");
	is_int(wa_sig_has_session(a->sig, &b->addr), 1, "A has a session with B");
}

static void test_1to1(struct party *a, struct party *b)
{
	uint8_t *c[3] = { NULL }, *x = NULL;
	size_t cl[3], xl;
	int t, n0, i;
	const char *txt[3] = { "one", "two", "three" };

	n0 = wa_sig_prekey_count(b->sig);
	t = send_1to1(a, b, "hello bob", &x, &xl);
	is_int(t, WA_SIG_PKMSG, "first message is a pkmsg");
	dump("pkmsg", 0, x, xl);
	is_int(recv_1to1(b, a, t, x, xl, "hello bob"), 0, "B decrypts the pkmsg");
	is_int(wa_sig_prekey_count(b->sig), n0 - 1, "the one-time pre-key was consumed");
	is_int(recv_1to1(b, a, t, x, xl, "hello bob"), WA_SIG_DUPLICATE, "same pkmsg again is a duplicate");
	free(x);

	t = send_1to1(b, a, "hi alice", &x, &xl);
	is_int(t, WA_SIG_MSG, "B's answer is a msg");
	dump("msg", 1, x, xl);
	is_int(recv_1to1(a, b, t, x, xl, "hi alice"), 0, "A decrypts the msg");
	free(x);

	for (i = 0; i < 3; i++)
		ok(send_1to1(a, b, txt[i], &c[i], &cl[i]) == WA_SIG_MSG, "A sends a msg after the answer");
	is_int(recv_1to1(b, a, WA_SIG_MSG, c[2], cl[2], txt[2]), 0, "out of order: message 3 first");
	is_int(recv_1to1(b, a, WA_SIG_MSG, c[0], cl[0], txt[0]), 0, "then message 1");
	is_int(recv_1to1(b, a, WA_SIG_MSG, c[1], cl[1], txt[1]), 0, "then message 2");
	is_int(recv_1to1(b, a, WA_SIG_MSG, c[1], cl[1], txt[1]), WA_SIG_DUPLICATE, "message 2 again: duplicate");
	c[0][cl[0] - 3] ^= 0x40;
	is_int(recv_1to1(b, a, WA_SIG_MSG, c[0], cl[0], txt[0]), WA_SIG_DUPLICATE,
	       "altered copy of a decrypted msg: still a duplicate (counter checked first)");
	is_int(recv_1to1(b, a, WA_SIG_PKMSG, c[2], cl[2], txt[2]), WA_SIG_INVALID, "msg bytes as pkmsg rejected");
	for (i = 0; i < 3; i++)
		free(c[i]);
	ok(send_1to1(a, b, "four", &c[0], &cl[0]) == WA_SIG_MSG, "A sends message 4");
	c[0][cl[0] - 3] ^= 0x40; /* inside the MAC */
	is_int(recv_1to1(b, a, WA_SIG_MSG, c[0], cl[0], "four"), WA_SIG_INVALID, "tampered msg rejected");
	c[0][cl[0] - 3] ^= 0x40;
	is_int(recv_1to1(b, a, WA_SIG_MSG, c[0], cl[0], "four"), 0, "the intact msg still decrypts after");
	free(c[0]);

	t = send_1to1(b, a, "again", &x, &xl);
	is_int(recv_1to1(a, b, t, x, xl, "again"), 0, "B -> A still works");
	free(x);
}

/* Several pkmsgs before any answer, delivered 3,1,2; then the pre-key is gone. */
static void test_pkmsg_order(struct party *c, struct party *b)
{
	wa_sig_bundle bb;
	uint8_t *m[3] = { NULL };
	size_t ml[3];
	const char *txt[3] = { "p1", "p2", "p3" };
	int i, t[3];

	is_int(bundle_via_wire(b, 2, &bb), 0, "B's bundle with pre-key 2");
	is_int(wa_sig_bundle_process(c->sig, &b->addr, &bb), 0, "C processes it");
	for (i = 0; i < 3; i++)
		t[i] = send_1to1(c, b, txt[i], &m[i], &ml[i]);
	ok(t[0] == WA_SIG_PKMSG && t[1] == WA_SIG_PKMSG && t[2] == WA_SIG_PKMSG, "unanswered messages stay pkmsg");
	is_int(recv_1to1(b, c, t[2], m[2], ml[2], txt[2]), 0, "pkmsg 3 first");
	is_int(recv_1to1(b, c, t[0], m[0], ml[0], txt[0]), 0, "pkmsg 1");
	is_int(recv_1to1(b, c, t[1], m[1], ml[1], txt[1]), 0, "pkmsg 2");
	is_int(recv_1to1(b, c, t[1], m[1], ml[1], txt[1]), WA_SIG_DUPLICATE, "pkmsg 2 again: duplicate");

	/* B loses the session: C's next pkmsg names pre-key 2, now used up */
	is_int(wa_sig_session_delete(b->sig, &c->addr), 0, "B deletes the session with C");
	is_int(wa_sig_has_session(b->sig, &c->addr), 0, "gone");
	free(m[0]);
	t[0] = send_1to1(c, b, "p4", &m[0], &ml[0]);
	is_int(recv_1to1(b, c, t[0], m[0], ml[0], "p4"), WA_SIG_NO_PREKEY, "pkmsg for a used pre-key: no prekey");
	for (i = 0; i < 3; i++)
		free(m[i]);

	/* and a msg without a session */
	is_int(wa_sig_encrypt(b->sig, &c->addr, (const uint8_t *)"x", 1, &(enum wa_sig_msg_type){ 0 }, &m[0],
			      &ml[0]),
	       WA_SIG_NO_SESSION, "encrypt without a session");
}

/* A new identity under a known address is refused until forgotten. */
static void test_identity_change(struct party *a, struct party *b)
{
	struct party a2;
	wa_sig_bundle bb;
	uint8_t *x = NULL;
	size_t xl;
	int t;

	ok(party_init(&a2, a->jid) == 0, "A re-installs (new identity, same address)");
	is_int(bundle_via_wire(b, 3, &bb), 0, "B's bundle with pre-key 3");
	is_int(wa_sig_bundle_process(a2.sig, &b->addr, &bb), 0, "new A builds a session");
	t = send_1to1(&a2, b, "it's me", &x, &xl);
	is_int(recv_1to1(b, &a2, t, x, xl, "it's me"), WA_SIG_UNTRUSTED, "B: identity changed -> untrusted");
	is_int(wa_sig_identity_forget(b->sig, &a->addr), 0, "B forgets A's old identity");
	is_int(recv_1to1(b, &a2, t, x, xl, "it's me"), 0, "then the pkmsg decrypts");
	free(x);
	t = send_1to1(b, &a2, "welcome back", &x, &xl);
	is_int(recv_1to1(&a2, b, t, x, xl, "welcome back"), 0, "and B answers the new A");
	free(x);
	{
		uint32_t devs[4];
		wa_sigrec_key k = { .kind = WA_SIGREC_IDENTITY, .name = a->addr.name, .device = a->addr.device };
		uint8_t *rec = NULL;
		size_t rl = 0;

		is_int(wa_sig_session_devices(b->sig, &a->addr, devs, 4), 1, "B has one session with A's user");
		is_int(wa_sig_user_forget(b->sig, &a->addr), 0, "B forgets A's user (identity change notification)");
		is_int(wa_sig_session_devices(b->sig, &a->addr, devs, 4), 0, "no sessions left");
		is_int(wa_sigstore_get(b->st, &k, &rec, &rl), 0, "no identity left");
		free(rec);
	}
	party_free(&a2);
}

/* A pkmsg that fails its MAC must leave no identity behind. */
static void test_forged_pkmsg(struct party *b)
{
	struct party d;
	wa_sig_bundle bb;
	wa_sigrec_key k;
	uint8_t *x = NULL, *rec = NULL;
	size_t xl, rl = 0;
	int t;

	ok(party_init(&d, "15550000004:1@s.whatsapp.net") == 0, "party D");
	is_int(bundle_via_wire(b, 4, &bb), 0, "B's bundle with pre-key 4");
	is_int(wa_sig_bundle_process(d.sig, &b->addr, &bb), 0, "D processes it");
	t = send_1to1(&d, b, "forged?", &x, &xl);
	x[xl - 2] ^= 0x01; /* MAC */
	is_int(recv_1to1(b, &d, t, x, xl, "forged?"), WA_SIG_INVALID, "pkmsg with a bad MAC rejected");
	memset(&k, 0, sizeof k);
	k.kind = WA_SIGREC_IDENTITY;
	k.name = d.addr.name;
	k.device = d.addr.device;
	is_int(wa_sigstore_get(b->st, &k, &rec, &rl), 0, "no identity pinned by the failed pkmsg");
	free(rec);
	is_int(wa_sig_has_session(b->sig, &d.addr), 0, "and no session");
	x[xl - 2] ^= 0x01;
	is_int(recv_1to1(b, &d, t, x, xl, "forged?"), 0, "the intact pkmsg decrypts");
	is_int(wa_sigstore_get(b->st, &k, &rec, &rl), 1, "now the identity is stored");
	free(rec);
	free(x);
	party_free(&d);
}

static int group_send(struct party *from, const char *g, const char *text, uint8_t **ct, size_t *cl)
{
	uint8_t *padded = NULL;
	size_t plen = 0;
	int rc;

	if (wa_sig_pad((const uint8_t *)text, strlen(text), 0, &padded, &plen) != 0)
		return -1;
	rc = wa_sig_group_encrypt(from->sig, g, &from->addr, padded, plen, ct, cl);
	wa_sig_buf_free(padded, plen);
	return rc;
}

static int group_recv(struct party *to, struct party *from, const char *g, const uint8_t *ct, size_t cl,
		      const char *text)
{
	uint8_t *pt = NULL;
	size_t ptlen = 0, ulen = 0;
	int rc = wa_sig_group_decrypt(to->sig, g, &from->addr, ct, cl, &pt, &ptlen);

	if (rc != 0)
		return rc;
	if (wa_sig_unpad(pt, ptlen, &ulen) != 0 || ulen != strlen(text) || memcmp(pt, text, ulen) != 0)
		rc = -100;
	wa_sig_buf_free(pt, ptlen);
	return rc;
}

static void test_group(struct party *p[3])
{
	const char *g = "120363000000000001@g.us";
	uint8_t *skdm[3] = { NULL }, *ct = NULL, *x = NULL, *dm2 = NULL;
	size_t sl[3], cl, xl, dl;
	int i, j, t;
	char name[64];

	is_int(group_send(p[0], g, "too early", &ct, &cl), WA_SIG_NO_SESSION, "skmsg before any SKDM");
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "SKDM of member %d", i);
		is_int(wa_sig_group_skdm(p[i]->sig, g, &p[i]->addr, &skdm[i], &sl[i]), 0, name);
	}
	dump("skdm", 3, skdm[0], sl[0]);
	ok(wa_sig_group_skdm(p[0]->sig, g, &p[0]->addr, &x, &xl) == 0 && xl == sl[0] &&
	   memcmp(x, skdm[0], xl) == 0, "asking again gives the same SKDM (same chain)");
	free(x);

	/* member 0's SKDM travels inside the 1:1 session to member 1, as on the wire */
	t = send_1to1(p[0], p[1], "placeholder", &x, &xl);
	free(x);
	x = NULL;
	xl = 0;
	{
		uint8_t *padded = NULL, *pt = NULL;
		size_t plen = 0, ptlen = 0, ulen = 0;
		enum wa_sig_msg_type tt = WA_SIG_MSG;

		ok(t > 0 && wa_sig_pad(skdm[0], sl[0], 0, &padded, &plen) == 0 &&
		   wa_sig_encrypt(p[0]->sig, &p[1]->addr, padded, plen, &tt, &x, &xl) == 0,
		   "SKDM encrypted 1:1");
		ok(wa_sig_decrypt(p[1]->sig, &p[0]->addr, tt, x, xl, &pt, &ptlen) == 0 &&
		   wa_sig_unpad(pt, ptlen, &ulen) == 0 && ulen == sl[0],
		   "SKDM decrypted 1:1 by member 1");
		is_int(wa_sig_group_process_skdm(p[1]->sig, g, &p[0]->addr, pt, ulen), 0,
		       "member 1 processes member 0's SKDM");
		wa_sig_buf_free(padded, plen);
		wa_sig_buf_free(pt, ptlen);
		free(x);
	}
	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++) {
			if (i == j || (i == 0 && j == 1))
				continue;
			snprintf(name, sizeof name, "member %d processes member %d's SKDM", j, i);
			is_int(wa_sig_group_process_skdm(p[j]->sig, g, &p[i]->addr, skdm[i], sl[i]), 0, name);
		}

	for (i = 0; i < 3; i++) {
		char text[64];

		snprintf(text, sizeof text, "hello group from %d", i);
		snprintf(name, sizeof name, "member %d encrypts an skmsg", i);
		is_int(group_send(p[i], g, text, &ct, &cl), 0, name);
		if (i == 0)
			dump("skmsg", 2, ct, cl);
		for (j = 0; j < 3; j++) {
			if (j == i)
				continue;
			snprintf(name, sizeof name, "member %d decrypts member %d's skmsg", j, i);
			is_int(group_recv(p[j], p[i], g, ct, cl, text), 0, name);
		}
		if (i == 0) {
			is_int(group_recv(p[1], p[0], g, ct, cl, text), WA_SIG_DUPLICATE, "skmsg twice: duplicate");
			is_int(group_recv(p[1], p[0], "other@g.us", ct, cl, text), WA_SIG_NO_SESSION,
			       "skmsg in a group without the SKDM: no session");
			ct[cl - 10] ^= 1; /* inside the signature */
			is_int(group_recv(p[2], p[0], g, ct, cl, text), WA_SIG_INVALID, "skmsg with a bad signature");
		}
		free(ct);
	}

	/* out of order within a chain */
	{
		uint8_t *m[3];
		size_t ml[3];
		const char *txt[3] = { "g1", "g2", "g3" };

		for (i = 0; i < 3; i++)
			group_send(p[2], g, txt[i], &m[i], &ml[i]);
		is_int(group_recv(p[0], p[2], g, m[2], ml[2], txt[2]), 0, "skmsg 3 first");
		is_int(group_recv(p[0], p[2], g, m[0], ml[0], txt[0]), 0, "skmsg 1");
		is_int(group_recv(p[0], p[2], g, m[1], ml[1], txt[1]), 0, "skmsg 2");
		for (i = 0; i < 3; i++)
			free(m[i]);
	}

	/* member 0 rotates its sender key (someone left) */
	is_int(wa_sig_group_forget(p[0]->sig, g, &p[0]->addr), 0, "member 0 drops its sender key");
	ok(wa_sig_group_skdm(p[0]->sig, g, &p[0]->addr, &dm2, &dl) == 0 &&
	   (dl != sl[0] || memcmp(dm2, skdm[0], dl) != 0), "a new SKDM after the reset");
	is_int(group_send(p[0], g, "new chain", &ct, &cl), 0, "skmsg on the new chain");
	is_int(group_recv(p[1], p[0], g, ct, cl, "new chain"), WA_SIG_NO_SESSION,
	       "receiver without the new SKDM: no session");
	is_int(wa_sig_group_process_skdm(p[1]->sig, g, &p[0]->addr, dm2, dl), 0, "new SKDM processed");
	is_int(group_recv(p[1], p[0], g, ct, cl, "new chain"), 0, "then it decrypts");
	is_int(wa_sig_group_process_skdm(p[1]->sig, g, &p[0]->addr, dm2, dl - 1), WA_SIG_INVALID,
	       "truncated SKDM rejected");
	free(ct);
	free(dm2);
	for (i = 0; i < 3; i++)
		free(skdm[i]);
}

/* "misc"."message_padding_example" of tests/vectors/protocol.json, read with
 * a few string searches (the file is machine-written, one key per line). */
static int json_hex(const char *doc, const char *key, uint8_t *out, size_t cap, size_t *len)
{
	char pat[64];
	const char *p, *q;
	size_t n, i;

	snprintf(pat, sizeof pat, "\"%s\"", key);
	if (!(p = strstr(doc, pat)) || !(p = strchr(p + strlen(pat), '"')))
		return -1;
	p++;
	if (!(q = strchr(p, '"')) || (q - p) % 2 || (size_t)(q - p) / 2 > cap)
		return -1;
	n = (size_t)(q - p) / 2;
	for (i = 0; i < n; i++) {
		unsigned v;
		char h[3] = { p[2 * i], p[2 * i + 1], 0 };
		char *end;

		v = (unsigned)strtoul(h, &end, 16);
		if (*end)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n;
	return 0;
}

static void test_padding(void)
{
	const char *top = getenv("top_srcdir");
	char path[1024], *doc = NULL, *ex;
	uint8_t plain[64], padded[64], *out = NULL;
	size_t pl = 0, dl = 0, ol = 0, ul = 0, n;
	FILE *f;
	int i, bad = 0, seen[16] = { 0 };

	snprintf(path, sizeof path, "%s/tests/vectors/protocol.json", top ? top : ".");
	f = fopen(path, "rb");
	ok(f != NULL, "protocol.json opens");
	if (f) {
		doc = calloc(1, 1 << 20);
		n = doc ? fread(doc, 1, (1 << 20) - 1, f) : 0;
		fclose(f);
		(void)n;
	}
	ex = doc ? strstr(doc, "\"message_padding_example\"") : NULL;
	ok(ex && json_hex(ex, "plaintext", plain, sizeof plain, &pl) == 0 &&
	   json_hex(ex, "padded", padded, sizeof padded, &dl) == 0 && dl > pl, "padding vector found");
	if (ex && dl > pl) {
		ok(wa_sig_pad(plain, pl, (unsigned)(dl - pl), &out, &ol) == 0 && ol == dl &&
		   memcmp(out, padded, dl) == 0, "pad(plaintext, 3) = vector");
		ok(wa_sig_unpad(padded, dl, &ul) == 0 && ul == pl && memcmp(padded, plain, pl) == 0,
		   "unpad(vector) = plaintext");
		free(out);
	}
	free(doc);

	for (i = 0; i < 300; i++) {
		if (wa_sig_pad((const uint8_t *)"ab", 2, 0, &out, &ol) != 0 || ol < 3 || ol > 2 + 15 ||
		    wa_sig_unpad(out, ol, &ul) != 0 || ul != 2)
			bad++;
		else
			seen[ol - 2] = 1;
		free(out);
	}
	is_int(bad, 0, "random padding is 1..15 and strips");
	ok(seen[1] && seen[15], "random padding reaches both ends");
	{
		const uint8_t zero[] = { 'a', 0 }, big[] = { 5, 5 }, mixed[] = { 'a', 2, 3, 3 }, one[] = { 1 };

		is_int(wa_sig_unpad(zero, 2, &ul), WA_SIG_INVALID, "pad byte 0 rejected");
		is_int(wa_sig_unpad(big, 2, &ul), WA_SIG_INVALID, "pad longer than message rejected");
		is_int(wa_sig_unpad(mixed, 4, &ul), WA_SIG_INVALID, "inconsistent pad bytes rejected");
		is_int(wa_sig_unpad(one, 0, &ul), WA_SIG_INVALID, "empty input rejected");
		ok(wa_sig_unpad(one, 1, &ul) == 0 && ul == 0, "padding only: empty message");
	}
}

/* §15.2 signed pre-key vector: a bundle carrying it must verify through
 * libsignal (signature over 0x05 || pub by the identity key). */
static void test_xeddsa_vector(struct party *a)
{
	const char *top = getenv("top_srcdir");
	char path[1024], *doc = NULL, *x, *spk;
	uint8_t priv[32], pub[32], got[32];
	size_t l1 = 0, l2 = 0, l3 = 0, l4 = 0;
	wa_sig_bundle b;
	wa_sig_addr peer;
	wa_sigstore *st = wa_sigstore_mem_new(0, 0);
	wa_sig *s = NULL;
	uint32_t reg = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/tests/vectors/protocol.json", top ? top : ".");
	if ((f = fopen(path, "rb"))) {
		doc = calloc(1, 1 << 20);
		if (doc && fread(doc, 1, (1 << 20) - 1, f) == 0)
			doc[0] = 0;
		fclose(f);
	}
	memset(&b, 0, sizeof b);
	x = doc ? strstr(doc, "\"xeddsa\"") : NULL;
	spk = x ? strstr(x, "\"signed_prekey\"") : NULL;
	ok(spk && json_hex(x, "curve25519_priv", priv, 32, &l1) == 0 && json_hex(x, "curve25519_pub", pub, 32, &l2) == 0 &&
	   json_hex(spk, "prekey_pub", b.signed_prekey, 32, &l3) == 0 &&
	   json_hex(spk, "signature", b.signed_prekey_sig, 64, &l4) == 0 && l1 == 32 && l2 == 32 && l3 == 32 && l4 == 64,
	   "xeddsa vector found");
	memcpy(b.identity, pub, 32);
	b.registration_id = 4242;
	b.signed_prekey_id = 1;
	ok(st && wa_sig_new(st, &s) == 0, "fresh state for the vector");
	is_int(wa_sig_identity_set(s, pub, priv, 4242), 0, "vector key pair accepted as identity");
	ok(wa_sig_identity_get(s, got, &reg) == 0 && memcmp(got, pub, 32) == 0 && reg == 4242, "identity read back");
	wa_sig_addr_set(&peer, "15559999999", 0, 1);
	b.signed_prekey_sig[63] ^= 0x01;
	is_int(wa_sig_bundle_process(a->sig, &peer, &b), WA_SIG_INVALID, "vector signature with a flipped bit fails");
	b.signed_prekey_sig[63] ^= 0x01;
	is_int(wa_sig_bundle_process(a->sig, &peer, &b), 0, "vector signed pre-key verifies in a bundle");
	wa_sig_session_delete(a->sig, &peer);
	wa_sig_identity_forget(a->sig, &peer);
	wa_sig_free(s);
	wa_sigstore_free(st);
	free(doc);
}

static void test_store_bounds(void)
{
	wa_sigstore *st = wa_sigstore_mem_new(2, 0);
	wa_sigrec_key k = { .kind = WA_SIGREC_PREKEY };
	wa_sigrec_key s1 = { .kind = WA_SIGREC_SESSION, .name = "1555", .device = 1 };
	uint8_t r[4] = { 1, 2, 3, 4 }, *got = NULL;
	uint32_t devs[4];
	size_t gl = 0;
	char longname[200];

	k.id = 1;
	is_int(wa_sigstore_put(st, &k, r, 4), 0, "mem store put 1");
	k.id = 2;
	is_int(wa_sigstore_put(st, &k, r, 4), 0, "mem store put 2");
	k.id = 3;
	is_int(wa_sigstore_put(st, &k, r, 4), WA_SIGSTORE_FULL, "mem store bound");
	k.id = 2;
	is_int(wa_sigstore_put(st, &k, r, 3), 0, "replace within the bound");
	ok(wa_sigstore_get(st, &k, &got, &gl) == 1 && gl == 3, "replaced record read back");
	free(got);
	is_int(wa_sigstore_del(st, &k), 1, "delete");
	is_int(wa_sigstore_del(st, &k), 0, "delete again: nothing");
	is_int(wa_sigstore_put(st, &s1, r, 4), 0, "session put");
	is_int(wa_sigstore_devices(st, "1555", devs, 4), 1, "devices of a name");
	is_int(devs[0], 1, "its device");
	is_int(wa_sigstore_count(st, WA_SIGREC_PREKEY), 1, "count per kind");
	is_int(wa_sigstore_del_name(st, WA_SIGREC_SESSION, "1555"), 1, "delete all sessions of a name");
	is_int(wa_sigstore_del_name(st, WA_SIGREC_PREKEY, "1555"), WA_SIGSTORE_ERR, "del_name only for sessions/identities");
	memset(longname, '7', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	s1.name = longname;
	is_int(wa_sigstore_put(st, &s1, r, 4), WA_SIGSTORE_TOOBIG, "over-long name refused");
	wa_sigstore_free(st);
}

static void test_identity_api(struct party *a)
{
	uint8_t pub[32], pub2[32], priv[32] = { 1 };
	uint32_t reg = 0;
	wa_sigstore *st = wa_sigstore_mem_new(0, 0);
	wa_sig *s = NULL;

	ok(wa_sig_identity_get(a->sig, pub, &reg) == 0 && reg >= 1 && reg <= 16380, "registration id 1..16380");
	ok(st && wa_sig_new(st, &s) == 0, "fresh state");
	is_int(wa_sig_identity_get(s, pub2, &reg), WA_SIG_NOT_FOUND, "no identity yet");
	is_int(wa_sig_signed_prekey_generate(s, 1, NULL), WA_SIG_NOT_FOUND, "signed pre-key needs an identity");
	is_int(wa_sig_identity_set(s, pub, priv, 77), WA_SIG_INVALID, "mismatched key pair refused");
	wa_sig_free(s);
	wa_sigstore_free(st);
	is_str(wa_sig_strerror(WA_SIG_DUPLICATE), "duplicate message", "strerror");
	{
		enum wa_sig_msg_type t;

		ok(wa_sig_msg_type_parse("pkmsg", &t) == 0 && t == WA_SIG_PKMSG, "parse pkmsg");
		ok(wa_sig_msg_type_parse("msmsg", &t) == WA_SIG_INVALID, "msmsg is not ours");
		is_str(wa_sig_msg_type_name(WA_SIG_SKMSG), "skmsg", "name skmsg");
	}
}

/* ---- threads: the in-memory store and independent conversations ---- */

static wa_sigstore *shared_st;

static void *store_worker(void *arg)
{
	uintptr_t base = (uintptr_t)arg * 100000;
	wa_sigrec_key k = { .kind = WA_SIGREC_PREKEY };
	uint8_t rec[16], *got;
	size_t gl;
	uintptr_t bad = 0;
	uint32_t i;

	for (i = 0; i < 2000; i++) {
		k.id = (uint32_t)(base + i);
		memset(rec, (int)(i & 0xff), sizeof rec);
		if (wa_sigstore_put(shared_st, &k, rec, sizeof rec) != 0)
			bad++;
		got = NULL;
		if (wa_sigstore_get(shared_st, &k, &got, &gl) != 1 || gl != sizeof rec || memcmp(got, rec, gl))
			bad++;
		free(got);
		if (i % 2 && wa_sigstore_del(shared_st, &k) != 1)
			bad++;
	}
	return (void *)bad;
}

static void *chat_worker(void *arg)
{
	struct party *pp = arg; /* two parties */
	wa_sig_bundle bb;
	uintptr_t bad = 0;
	uint8_t *x;
	size_t xl;
	int i, t;

	if (bundle_via_wire(&pp[1], 1, &bb) != 0 || wa_sig_bundle_process(pp[0].sig, &pp[1].addr, &bb) != 0)
		return (void *)1;
	for (i = 0; i < 100; i++) {
		struct party *from = &pp[i % 2], *to = &pp[1 - i % 2];

		x = NULL;
		t = send_1to1(from, to, "ping", &x, &xl);
		if (t < 0 || recv_1to1(to, from, t, x, xl, "ping") != 0)
			bad++;
		free(x);
	}
	return (void *)bad;
}

static void test_threads(void)
{
	pthread_t th[4];
	struct party pairs[2][2];
	void *r;
	uintptr_t bad = 0;
	int i, setup = 1;

	shared_st = wa_sigstore_mem_new(0, 0);
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, store_worker, (void *)(uintptr_t)i);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], &r);
		bad += (uintptr_t)r;
	}
	is_int(bad, 0, "4 threads put/get/del on one in-memory store");
	is_int(wa_sigstore_count(shared_st, WA_SIGREC_PREKEY), 4 * 1000, "count consistent after the threads");
	wa_sigstore_free(shared_st);

	setup = party_init(&pairs[0][0], "15550000011@s.whatsapp.net") == 0 &&
		party_init(&pairs[0][1], "15550000012@s.whatsapp.net") == 0 &&
		party_init(&pairs[1][0], "15550000021@s.whatsapp.net") == 0 &&
		party_init(&pairs[1][1], "15550000022@s.whatsapp.net") == 0;
	ok(setup, "two pairs set up");
	if (!setup)
		return;
	bad = 0;
	for (i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, chat_worker, pairs[i]);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], &r);
		bad += (uintptr_t)r;
	}
	is_int(bad, 0, "two conversations on two threads at once (100 messages each)");
	for (i = 0; i < 2; i++) {
		party_free(&pairs[i][0]);
		party_free(&pairs[i][1]);
	}
}

int main(void)
{
	struct party a, b, c;
	struct party *grp[3] = { &a, &b, &c };

	test_addresses();
	test_padding();
	test_store_bounds();
	if (party_init(&a, "15550000001:2@s.whatsapp.net") != 0 ||
	    party_init(&b, "100000000000001:0@lid") != 0 || party_init(&c, "15550000003:5@s.whatsapp.net") != 0) {
		ok(0, "parties set up");
		return tap_done();
	}
	ok(1, "parties set up");
	test_identity_api(&a);
	test_xeddsa_vector(&a);
	test_bundle(&a, &b);
	test_1to1(&a, &b);
	test_pkmsg_order(&c, &b);
	test_forged_pkmsg(&b);
	test_group(grp);
	test_identity_change(&a, &b);
	test_ids(&c);
	test_threads();
	party_free(&a);
	party_free(&b);
	party_free(&c);
	return tap_done();
}
