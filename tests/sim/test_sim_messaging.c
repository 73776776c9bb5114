/* test_sim_messaging: wa-sim's messaging layer end to end.
 *
 * One ./wa-sim (or $WA_SIM_BIN) on free loopback ports with a media host
 * (simtest_main()); the setup creates phones A, B and C and pairs one raw
 * protocol client (waclient + wa/signal) to A and to B; then named cases:
 * pre-key upload / count / fetch (one-time key consumed), usync (contact
 * in/out, device list, about), 1:1 messages companion -> phone+companion
 * (with the device-sent copy to the own phone) and phone -> companion (with
 * the device-sent copy to the phone's own companion), delivery and read
 * receipts both ways, the phone's outbox status, reply / reaction /
 * location from a phone, offline delivery on reconnect with the offline
 * marker, a retry receipt answered by the phone, media both ways, groups
 * with sender keys and through the admin API, status, dropped deliveries;
 * and, with phones D and E of their own and a companion of E, what the
 * server keeps until the companion answers it (§8.3, §8.7): an unanswered
 * message offered again at the next login before the offline queue, a
 * delivery / read (with a list, LID form) / group receipt or a message ack
 * ending that, an answer naming another sender or no participant not
 * ending it, the cap of 1000, device removal.
 * `--list` shows the cases, a name runs one (after the cases it needs).
 * TAP via tests/unit/tap.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../unit/tap.h"
#include "simtest.h"
#include "waclient.h"
#include "wa/mediacrypto.h"
#include "wa/msgid.h"
#include "wa/msgsecret.h"
#include "wa/pbsafe.h"
#include "wa/signal.h"
#include "wa/signal_node.h"
#include "wa/sigstore.h"
#include "wa_e2e.pb-c.h"
#include "wa_util.h"

#define T_MS 5000
#define PA "15550000001"
#define PB "15550000002"
#define PC "15550000003"
#define PD "15550000004"     /* sender of the unanswered_* cases */
#define PE "15550000005"     /* its peer, with companion fx.ce */
#define KEEP_MAX 1000        /* SIM_UNANSWERED_MAX (sim/sim_store.h) */

/* What the setup and the cases hand on to the cases that need them. */
static struct {
	struct simtest_comp ca, cb;     /* companions of A and B (setup) */
	char aj[64], bj[64], cj[64];    /* the phones' JIDs (setup) */
	char hello_id[64];              /* text_companion_to_peer's message, quoted by phone_reply/phone_reaction */
	char gjid[64];                  /* group_create's group */
	char cgjid[64];                 /* admin_group_create's group (phone C's) */
	struct simtest_comp ce;         /* companion of E (unanswered_kept) */
	char dj[64];                    /* phone D's JID (unanswered_kept) */
	char keep_ids[2][64];           /* unanswered_kept's messages: online, then queued */
} fx;

static long admin(struct simtest_ctx *t, const char *method, const char *path, const char *body, json_t **out)
{
	return simtest_ctx_admin(t, method, path, body, NULL, out);
}

static long prekey_count(struct simtest_comp *m)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "xmlns", "encrypt", "type", "get", NULL), *reply = NULL;
	long long v = -1;

	wa_node_add_new(iq, "count");
	if (waclient_iq(m->c, iq, T_MS, &reply) == 0)
		wa_node_attr_int(wa_node_child(reply, "count"), "value", &v);
	wa_node_free(iq);
	wa_node_free(reply);
	return (long)v;
}

/* Send text from companion m to chat `to` with the given recipient devices
 * (peer devices get Message, own devices a DeviceSentMessage copy). */
static int send_msg(struct simtest_comp *m, const char *to, const char *const *peer_devs, size_t np,
		    const char *const *own_devs, size_t no, WaE2E__Message *msgp, const char *stype, char *id_out)
{
	WaE2E__Message outer = WA_E2_E__MESSAGE__INIT;
	WaE2E__DeviceSentMessage dsm = WA_E2_E__DEVICE_SENT_MESSAGE__INIT;
	uint8_t *pt, *dpt;
	size_t len, dlen;
	struct wa_node *n, *parts, *ack = NULL;
	int pk = 0, rc = -1;
	char id[WA_MSGID_LEN + 1];
	WaE2E__Message msg = *msgp;

	dsm.destinationjid = (char *)to;
	dsm.message = &msg;
	outer.devicesentmessage = &dsm;
	pt = simtest_pack_msg(&msg, &len);
	dpt = simtest_pack_msg(&outer, &dlen);
	wa_msgid_generate(id, m->phone, time(NULL));
	n = wa_node_new_attrs("message", "id", id, "to", to, "type", stype, NULL);
	parts = wa_node_add_new(n, "participants");
	for (size_t i = 0; i < np + no; i++) {
		const char *jid = i < np ? peer_devs[i] : own_devs[i - np];
		struct wa_node *tn = wa_node_add_new(parts, "to"); /* owned by n, even on an error */
		struct wa_node *e = i < np ? simtest_enc_node(m, jid, pt, len, &pk) : simtest_enc_node(m, jid, dpt, dlen, &pk);

		wa_node_set_attr(tn, "jid", jid);
		if (e == NULL)
			goto out;
		wa_node_add_child(tn, e);
	}
	if (pk) {
		struct wa_node *di = wa_node_add_new(n, "device-identity");

		wa_node_set_bytes(di, m->cr.account, m->cr.account_len);
	}
	if (waclient_send(m->c, n) == 0 && waclient_recv_tag(m->c, "ack", T_MS, &ack) == 0 &&
	    wa_node_attr_is(ack, "class", "message") && wa_node_attr_is(ack, "id", id) &&
	    wa_node_attr(ack, "error") == NULL)
		rc = 0;
	if (id_out)
		memcpy(id_out, id, sizeof id);
out:
	free(pt);
	free(dpt);
	wa_node_free(n);
	wa_node_free(ack);
	return rc;
}

static int send_text(struct simtest_comp *m, const char *to, const char *const *peer_devs, size_t np,
		     const char *const *own_devs, size_t no, const char *text, char *id_out)
{
	WaE2E__Message msg = WA_E2_E__MESSAGE__INIT;

	msg.conversation = (char *)text;
	return send_msg(m, to, peer_devs, np, own_devs, no, &msg, "text", id_out);
}

static const char *text_of(const struct simtest_got *g)
{
	if (g->m == NULL)
		return "";
	if (g->m->conversation)
		return g->m->conversation;
	if (g->m->extendedtextmessage && g->m->extendedtextmessage->text)
		return g->m->extendedtextmessage->text;
	return "";
}

static int send_receipt(struct simtest_comp *m, const char *id, const char *to, const char *type, const char *participant)
{
	struct wa_node *r = wa_node_new_attrs("receipt", "id", id, "to", to, "type", type, "participant", participant, NULL),
		       *ack = NULL;
	int rc = -1;

	if (waclient_send(m->c, r) == 0 && waclient_recv_tag(m->c, "ack", T_MS, &ack) == 0 &&
	    wa_node_attr_is(ack, "class", "receipt"))
		rc = 0;
	wa_node_free(r);
	wa_node_free(ack);
	return rc;
}

/* Wait for a receipt for id; returns its type ("" = delivery) in buf. */
static int recv_receipt(struct simtest_comp *m, const char *id, char *from, char *type, size_t cap)
{
	struct wa_node *r = NULL;
	int rc = -1;

	for (int i = 0; i < 8; i++) {
		if (waclient_recv_tag(m->c, "receipt", T_MS, &r) != 0)
			return -1;
		if (wa_node_attr_is(r, "id", id)) {
			snprintf(from, cap, "%s", wa_node_attr_or(r, "from", ""));
			snprintf(type, cap, "%s", wa_node_attr_or(r, "type", ""));
			rc = 0;
			break;
		}
		wa_node_free(r);
		r = NULL;
	}
	wa_node_free(r);
	return rc;
}

/* Inbox/outbox entry of phone by id -> field value (static buffer). */
static const char *box_field(struct simtest_ctx *t, const char *phone, const char *box, const char *id,
			     const char *field)
{
	static char buf[256];
	char path[128];
	json_t *j = NULL, *e;
	size_t i;

	buf[0] = '\0';
	snprintf(path, sizeof path, "/admin/phones/%s/%s", phone, box);
	if (admin(t, "GET", path, NULL, &j) == 200) {
		json_array_foreach(json_object_get(j, "messages"), i, e) {
			json_t *v;

			if (strcmp(json_string_value(json_object_get(e, "id")), id) != 0)
				continue;
			v = json_object_get(e, field);
			if (json_is_string(v))
				snprintf(buf, sizeof buf, "%s", json_string_value(v));
			else if (json_is_true(v) || json_is_false(v))
				snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true" : "false");
			else if (json_is_number(v))
				snprintf(buf, sizeof buf, "%g", json_number_value(v));
		}
	}
	json_decref(j);
	return buf;
}

static long phone_send(struct simtest_ctx *t, const char *phone, const char *body, char *id_out)
{
	char path[128];
	json_t *j = NULL;
	long st;

	snprintf(path, sizeof path, "/admin/phones/%s/send", phone);
	st = admin(t, "POST", path, body, &j);
	if (id_out)
		snprintf(id_out, 64, "%s", st == 200 ? json_string_value(json_object_get(j, "id")) : "");
	json_decref(j);
	return st;
}

static struct wa_node *usync(struct simtest_comp *m, const char *proto, const char *user_jid, const char *contact)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "xmlns", "usync", "type", "get", NULL), *u, *q, *l, *ui, *reply = NULL;

	u = wa_node_add_new(iq, "usync");
	wa_node_set_attr(u, "sid", "test-1");
	wa_node_set_attr(u, "mode", "query");
	wa_node_set_attr(u, "context", "interactive");
	wa_node_set_attr(u, "last", "true");
	wa_node_set_attr(u, "index", "0");
	q = wa_node_add_new(u, "query");
	wa_node_add_new(q, proto);
	if (strcmp(proto, "devices") == 0)
		wa_node_set_attr(wa_node_child(q, "devices"), "version", "2");
	l = wa_node_add_new(u, "list");
	ui = wa_node_add_new(l, "user");
	if (user_jid)
		wa_node_set_attr(ui, "jid", user_jid);
	if (contact)
		wa_node_set_string(wa_node_add_new(ui, "contact"), contact);
	if (waclient_iq(m->c, iq, T_MS, &reply) != 0) {
		wa_node_free(reply);
		reply = NULL;
	}
	wa_node_free(iq);
	return reply;
}

/* Group IQ to target with one child; returns the reply (caller frees). */
static struct wa_node *g2(struct simtest_comp *m, const char *type, const char *to, struct wa_node *child)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "xmlns", "w:g2", "type", type, "to", to, NULL), *reply = NULL;

	wa_node_add_child(iq, child);
	if (waclient_iq(m->c, iq, T_MS, &reply) != 0) {
		wa_node_free(reply);
		reply = NULL;
	}
	wa_node_free(iq);
	return reply;
}

/* Group text from companion m: SKDM to every listed device, one skmsg. */
static int send_group(struct simtest_comp *m, const char *gjid, const char *const *devs, size_t n, const char *text, char *id_out)
{
	WaE2E__Message msg = WA_E2_E__MESSAGE__INIT, skm = WA_E2_E__MESSAGE__INIT;
	WaE2E__SenderKeyDistributionMessage sk = WA_E2_E__SENDER_KEY_DISTRIBUTION_MESSAGE__INIT;
	wa_sig_addr self;
	uint8_t *skdm = NULL, *pt = NULL, *spt = NULL, *padded = NULL, *ct = NULL;
	size_t skdmlen = 0, len, slen, plen = 0, ctlen = 0;
	struct wa_node *nd, *parts, *ack = NULL, *e;
	int pk = 0, rc = -1;
	char id[WA_MSGID_LEN + 1];

	if (wa_sig_addr_from_jid(m->jid, &self) != 0 || wa_sig_group_skdm(m->sig, gjid, &self, &skdm, &skdmlen) != 0)
		return -1;
	sk.groupid = (char *)gjid;
	sk.has_axolotlsenderkeydistributionmessage = 1;
	sk.axolotlsenderkeydistributionmessage.data = skdm;
	sk.axolotlsenderkeydistributionmessage.len = skdmlen;
	skm.senderkeydistributionmessage = &sk;
	msg.conversation = (char *)text;
	pt = simtest_pack_msg(&msg, &len);
	spt = simtest_pack_msg(&skm, &slen);
	wa_msgid_generate(id, m->phone, time(NULL));
	nd = wa_node_new_attrs("message", "id", id, "to", gjid, "type", "text", NULL);
	parts = wa_node_add_new(nd, "participants");
	for (size_t i = 0; i < n; i++) {
		struct wa_node *tn = wa_node_add_new(parts, "to"); /* owned by nd, even on an error */

		wa_node_set_attr(tn, "jid", devs[i]);
		e = simtest_enc_node(m, devs[i], spt, slen, &pk);
		if (e == NULL)
			goto out;
		wa_node_add_child(tn, e);
	}
	if (wa_sig_pad(pt, len, 0, &padded, &plen) != 0 ||
	    wa_sig_group_encrypt(m->sig, gjid, &self, padded, plen, &ct, &ctlen) != 0)
		goto out;
	e = wa_node_add_new(nd, "enc");
	wa_node_set_attr(e, "v", "2");
	wa_node_set_attr(e, "type", "skmsg");
	wa_node_set_bytes(e, ct, ctlen);
	if (pk)
		wa_node_set_bytes(wa_node_add_new(nd, "device-identity"), m->cr.account, m->cr.account_len);
	if (waclient_send(m->c, nd) == 0 && waclient_recv_tag(m->c, "ack", T_MS, &ack) == 0 &&
	    wa_node_attr_is(ack, "id", id) && wa_node_attr(ack, "error") == NULL)
		rc = 0;
	if (id_out)
		memcpy(id_out, id, sizeof id);
out:
	free(skdm);
	free(pt);
	free(spt);
	free(ct);
	wa_sig_buf_free(padded, plen);
	wa_node_free(nd);
	wa_node_free(ack);
	return rc;
}

/* Next w:gp2 notification's first child tag into buf (the rest skipped). */
/* m's <ack class="notification" id to type [participant]/> for n (as
 * every client answers a notification, docs/protocol.md 8.6), then a
 * ping: the server has handled the ack once it is answered. 0 / -1. */
static int ack_notification(struct simtest_comp *m, const struct wa_node *n)
{
	struct wa_node *ack = wa_node_new_attrs("ack", "class", "notification", "id", wa_node_attr(n, "id"), "to",
						wa_node_attr(n, "from"), "type", wa_node_attr(n, "type"), "participant",
						wa_node_attr(n, "participant"), NULL);
	int rc = waclient_send(m->c, ack) == 0 && waclient_ping(m->c, T_MS) == 0 ? 0 : -1;

	wa_node_free(ack);
	return rc;
}

/* The next w:gp2 notification of m: its first child's tag into tag; acked
 * when ack is set, else into *keep (when given). 0 / -1. */
static int recv_gp2_as(struct simtest_comp *m, char *tag, size_t cap, int ack, struct wa_node **keep)
{
	struct wa_node *n = NULL;
	int rc = -1;

	tag[0] = '\0';
	if (waclient_recv_tag(m->c, "notification", T_MS, &n) == 0 && wa_node_attr_is(n, "type", "w:gp2") &&
	    wa_node_child_at(n, 0)) {
		snprintf(tag, cap, "%s", wa_node_child_at(n, 0)->tag);
		rc = ack ? ack_notification(m, n) : 0;
	}
	if (rc == 0 && !ack && keep) {
		*keep = n;
		n = NULL;
	}
	wa_node_free(n);
	return rc;
}

static int recv_gp2(struct simtest_comp *m, char *tag, size_t cap)
{
	return recv_gp2_as(m, tag, cap, 1, NULL);
}

/* Integer field of device dev of phone (GET /admin/phones/{number}), or
 * -1 when the device is not listed. */
static long long device_field(struct simtest_ctx *t, const char *phone, unsigned dev, const char *field)
{
	char path[128];
	json_t *j = NULL, *d;
	long long v = -1;
	size_t i;

	snprintf(path, sizeof path, "/admin/phones/%s", phone);
	if (admin(t, "GET", path, NULL, &j) == 200)
		json_array_foreach(json_object_get(j, "devices"), i, d)
			if (json_integer_value(json_object_get(d, "id")) == (json_int_t)dev &&
			    json_is_integer(json_object_get(d, field)))
				v = json_integer_value(json_object_get(d, field));
	json_decref(j);
	return v;
}

/* "unanswered" of the connection logged in as jid (GET /admin/connections),
 * or -1 when none is. */
static long long conn_unanswered(struct simtest_ctx *t, const char *jid)
{
	json_t *j = NULL, *c;
	long long v = -1;
	size_t i;

	if (admin(t, "GET", "/admin/connections", NULL, &j) == 200)
		json_array_foreach(json_object_get(j, "connections"), i, c)
			if (json_is_string(json_object_get(c, "jid")) &&
			    strcmp(json_string_value(json_object_get(c, "jid")), jid) == 0 &&
			    json_is_integer(json_object_get(c, "unanswered")))
				v = json_integer_value(json_object_get(c, "unanswered"));
	json_decref(j);
	return v;
}

/* Wait (T_MS) until device dev of phone is listed offline: the server saw
 * the close. 0 / -1. */
static int wait_offline(struct simtest_ctx *t, const char *phone, unsigned dev)
{
	for (int i = 0; i < T_MS / 20; i++) {
		char path[128];
		json_t *j = NULL, *d;
		size_t k;
		int online = 0;

		snprintf(path, sizeof path, "/admin/phones/%s", phone);
		if (admin(t, "GET", path, NULL, &j) == 200)
			json_array_foreach(json_object_get(j, "devices"), k, d)
				if (json_integer_value(json_object_get(d, "id")) == (json_int_t)dev)
					online = json_is_true(json_object_get(d, "online"));
		json_decref(j);
		if (!online)
			return 0;
		usleep(20000);
	}
	return -1;
}

/* phones A, B, C; companions of A and B, paired and logged in */
static void setup(struct simtest_ctx *t)
{
	is_int(admin(t, "POST", "/admin/phones", "{\"number\":\"" PA "\",\"pushName\":\"Alice\"}", NULL), 201, "phone A");
	is_int(admin(t, "POST", "/admin/phones", "{\"number\":\"" PB "\",\"pushName\":\"Bob\"}", NULL), 201, "phone B");
	is_int(admin(t, "POST", "/admin/phones", "{\"number\":\"" PC "\",\"pushName\":\"Carol\"}", NULL), 201, "phone C");
	is_int(simtest_comp_pair(&fx.ca, PA, &t->net), 0, "companion A paired and logged in");
	is_int(simtest_comp_pair(&fx.cb, PB, &t->net), 0, "companion B paired and logged in");
	snprintf(fx.aj, sizeof fx.aj, "%s@s.whatsapp.net", PA);
	snprintf(fx.bj, sizeof fx.bj, "%s@s.whatsapp.net", PB);
	snprintf(fx.cj, sizeof fx.cj, "%s@s.whatsapp.net", PC);
}

/* §5 pre-keys: upload, count, fetch (a one-time key consumed), digest */
static void prekeys(struct simtest_ctx *t)
{
	int had = 0;

	is_int(prekey_count(&fx.ca), 0, "count before upload is 0");
	is_int(simtest_comp_upload(&fx.ca, 20), 0, "A uploads 20 pre-keys");
	is_int(simtest_comp_upload(&fx.cb, 20), 0, "B uploads 20 pre-keys");
	is_int(prekey_count(&fx.cb), 20, "count after upload is 20");
	{
		const char *jids[] = { fx.bj, fx.cb.jid, PA "@s.whatsapp.net", "15559999999@s.whatsapp.net" };

		is_int(simtest_fetch_sessions(&fx.ca, jids, 4, &had), 3, "A fetches bundles of B's phone, B's companion, own phone");
		is_int(had, 3, "each bundle carries a one-time pre-key");
	}
	is_int(prekey_count(&fx.cb), 19, "the fetch consumed one of B's one-time pre-keys");

	{
		struct wa_node *iq = wa_node_new_attrs("iq", "xmlns", "encrypt", "type", "get", NULL), *rep = NULL;

		wa_node_add_new(iq, "digest");
		ok(waclient_iq(fx.ca.c, iq, T_MS, &rep) == 0 && wa_node_attr_is(rep, "type", "result") &&
		   !wa_node_child(rep, "digest"), "digest query: result without <digest> (Baileys then uploads)");
		wa_node_free(iq);
		wa_node_free(rep);
	}
}

/* §6 usync: contact in/out, devices, about, LID */
static void usync_queries(struct simtest_ctx *t)
{
	struct wa_node *r, *u;

	r = usync(&fx.ca, "contact", NULL, "+" PB);
	u = wa_node_child(wa_node_child(wa_node_child(r, "usync"), "list"), "user");
	ok(wa_node_attr_is(wa_node_child(u, "contact"), "type", "in"), "usync contact: B is on WhatsApp");
	wa_node_free(r);
	r = usync(&fx.ca, "contact", NULL, "+15559999999");
	u = wa_node_child(wa_node_child(wa_node_child(r, "usync"), "list"), "user");
	ok(wa_node_attr_is(wa_node_child(u, "contact"), "type", "out"), "usync contact: unknown number is out");
	wa_node_free(r);
	r = usync(&fx.ca, "devices", fx.bj, NULL);
	u = wa_node_child(wa_node_child(wa_node_child(r, "usync"), "list"), "user");
	{
		struct wa_node *dl = wa_node_path(u, "devices", "device-list", NULL);

		is_int((int)wa_node_count(dl, "device"), 2, "usync devices: B has phone + one companion");
		ok(wa_node_attr_is(wa_node_child_at(dl, 0), "id", "0"), "device 0 first");
		ok(wa_node_attr(wa_node_child_at(dl, 1), "key-index") != NULL, "companion has a key-index");
		ok(wa_node_path(u, "devices", "key-index-list", NULL) != NULL, "signed key-index-list present");
	}
	wa_node_free(r);
	is_int(admin(t, "POST", "/admin/phones/" PB "/about", "{\"about\":\"busy\"}", NULL), 200, "set B's about");
	r = usync(&fx.ca, "status", fx.bj, NULL);
	u = wa_node_child(wa_node_child(wa_node_child(r, "usync"), "list"), "user");
	is_str(wa_node_content_str(wa_node_child(u, "status")), "busy", "usync status gives the about text");
	wa_node_free(r);
	r = usync(&fx.ca, "lid", fx.bj, NULL);
	u = wa_node_child(wa_node_child(wa_node_child(r, "usync"), "list"), "user");
	{
		char lid[80];

		snprintf(lid, sizeof lid, "%s", wa_node_attr_or(wa_node_child(u, "lid"), "val", ""));
		ok(strstr(lid, "@lid") != NULL, "usync lid gives B's LID");
		wa_node_free(r);
		r = usync(&fx.ca, "devices", lid, NULL);
		u = wa_node_child(wa_node_child(wa_node_child(r, "usync"), "list"), "user");
		is_str(wa_node_attr(u, "pn_jid"), fx.bj, "asked by LID: pn_jid is the phone number JID");
		is_int((int)wa_node_count(wa_node_path(u, "devices", "device-list", NULL), "device"), 2, "same devices by LID");
	}
	wa_node_free(r);
}

/* §7 companion A -> B (phone + companion) with a copy to A's phone; its id
 * (fx.hello_id) is what phone_reply and phone_reaction refer to */
static void text_companion_to_peer(struct simtest_ctx *t)
{
	char *id = fx.hello_id;
	struct simtest_got g;
	char from[64], type[64], body[512];
	json_t *j = NULL;

	{
		const char *peer[] = { fx.bj, fx.cb.jid }, *own[] = { fx.aj };

		is_int(send_text(&fx.ca, fx.bj, peer, 2, own, 1, "hello bob", id), 0, "A sends text, server acks");
	}
	is_int(simtest_recv_msg(&fx.cb, &g), 0, "B's companion decrypts it");
	is_str(text_of(&g), "hello bob", "text as sent");
	is_str(g.from, fx.ca.jid, "from is A's sending device");
	is_str(g.enc_type, "pkmsg", "first message is a pkmsg");
	simtest_got_free(&g);
	is_str(box_field(t, PB, "inbox", id, "text"), "hello bob", "B's phone decrypted it into its inbox");
	is_str(box_field(t, PB, "inbox", id, "fromMe"), "false", "inbox: not from me");
	is_str(box_field(t, PA, "inbox", id, "text"), "hello bob", "A's phone got the device-sent copy");
	is_str(box_field(t, PA, "inbox", id, "chat"), fx.bj, "device-sent copy names the chat");
	is_str(box_field(t, PA, "inbox", id, "fromMe"), "true", "device-sent copy is fromMe");
	is_int(recv_receipt(&fx.ca, id, from, type, sizeof from), 0, "A gets a delivery receipt");
	is_str(from, fx.bj, "from B's phone");
	is_str(type, "", "delivery (no type)");
	is_int(send_receipt(&fx.cb, id, fx.ca.jid, NULL, NULL), 0, "B's companion sends a delivery receipt, acked");
	is_int(recv_receipt(&fx.ca, id, from, type, sizeof from), 0, "A gets the companion's receipt");
	is_str(from, fx.cb.jid, "from B's companion");
	snprintf(body, sizeof body, "{\"ids\":[\"%s\"]}", id);
	is_int(admin(t, "POST", "/admin/phones/" PB "/read", body, &j), 200, "B's phone reads it");
	is_int((int)json_integer_value(json_object_get(j, "read")), 1, "one id marked read");
	json_decref(j);
	is_int(recv_receipt(&fx.ca, id, from, type, sizeof from), 0, "A gets the read receipt");
	is_str(type, "read", "type read");
}

/* The next stanza on m that is the ack or a receipt of message id: its tag
 * into tag ("" on timeout), its from into from. Other stanzas are dropped. */
static void next_about(struct simtest_comp *m, const char *id, char *tag, char *from, size_t cap)
{
	struct wa_node *n = NULL;

	tag[0] = from[0] = '\0';
	for (int i = 0; i < 16 && waclient_recv(m->c, T_MS, &n) == 0; i++) {
		int hit = wa_node_attr_is(n, "id", id) &&
			  ((strcmp(n->tag, "ack") == 0 && wa_node_attr_is(n, "class", "message")) ||
			   strcmp(n->tag, "receipt") == 0);

		if (hit) {
			snprintf(tag, cap, "%s", n->tag);
			snprintf(from, cap, "%s", wa_node_attr_or(n, "from", ""));
		}
		wa_node_free(n);
		n = NULL;
		if (hit)
			return;
	}
}

/* §7.4, §13.5: the server acks a companion's send before the recipient's
 * delivery receipt reaches the sender (B's phone answers at once) */
static void ack_before_receipt(struct simtest_ctx *t)
{
	WaE2E__Message msg = WA_E2_E__MESSAGE__INIT;
	WaE2E__DeviceSentMessage dsm = WA_E2_E__DEVICE_SENT_MESSAGE__INIT;
	WaE2E__Message outer = WA_E2_E__MESSAGE__INIT;
	uint8_t *pt = NULL, *dpt = NULL;
	size_t len = 0, dlen = 0;
	char id[WA_MSGID_LEN + 1], tag[64], from[64];
	struct wa_node *n, *parts, *e1, *e2;

	msg.conversation = "ack first";
	dsm.destinationjid = fx.bj;
	dsm.message = &msg;
	outer.devicesentmessage = &dsm;
	pt = simtest_pack_msg(&msg, &len);
	dpt = simtest_pack_msg(&outer, &dlen);
	wa_msgid_generate(id, fx.ca.phone, time(NULL));
	n = wa_node_new_attrs("message", "id", id, "to", fx.bj, "type", "text", NULL);
	parts = wa_node_add_new(n, "participants");
	e1 = simtest_enc_node(&fx.ca, fx.bj, pt, len, NULL);
	e2 = simtest_enc_node(&fx.ca, fx.aj, dpt, dlen, NULL);
	ok(pt && dpt && e1 && e2, "message for B's phone (and the own phone's copy) encrypted");
	if (e1) {
		struct wa_node *to = wa_node_add_new(parts, "to");

		wa_node_set_attr(to, "jid", fx.bj);
		wa_node_add_child(to, e1);
	}
	if (e2) {
		struct wa_node *to = wa_node_add_new(parts, "to");

		wa_node_set_attr(to, "jid", fx.aj);
		wa_node_add_child(to, e2);
	}
	wa_node_set_bytes(wa_node_add_new(n, "device-identity"), fx.ca.cr.account, fx.ca.cr.account_len);
	is_int(waclient_send(fx.ca.c, n), 0, "A's companion sends to B's phone");
	next_about(&fx.ca, id, tag, from, sizeof tag);
	is_str(tag, "ack", "the first stanza about the message is the server's ack");
	next_about(&fx.ca, id, tag, from, sizeof tag);
	is_str(tag, "receipt", "the delivery receipt follows the ack");
	is_str(from, fx.bj, "from B's phone");
	is_str(box_field(t, PB, "inbox", id, "text"), "ack first", "B's phone decrypted it");
	free(pt);
	free(dpt);
	wa_node_free(n);
}

/* phone B -> A: to A's companion, copy to B's companion */
static void text_phone_to_companion(struct simtest_ctx *t)
{
	struct simtest_got g;
	char id2[64];

	is_int(phone_send(t, PB, "{\"to\":\"" PA "\",\"text\":\"hi alice\"}", id2), 200, "B's phone sends via admin");
	is_int(simtest_recv_msg(&fx.ca, &g), 0, "A's companion decrypts the phone's message");
	is_str(text_of(&g), "hi alice", "text as sent by the phone");
	is_str(g.from, fx.bj, "from B's phone (device 0)");
	simtest_got_free(&g);
	is_int(simtest_recv_msg(&fx.cb, &g), 0, "B's companion gets the device-sent copy");
	ok(g.dsm && strcmp(text_of(&g), "hi alice") == 0, "it is a DeviceSentMessage with the text");
	is_str(g.recipient, fx.aj, "recipient names the chat");
	simtest_got_free(&g);
	is_str(box_field(t, PA, "inbox", id2, "text"), "hi alice", "A's phone got it too (phone to phone)");
	is_str(box_field(t, PB, "outbox", id2, "status"), "delivered", "B's outbox: delivered (A's phone receipt)");
	is_int(send_receipt(&fx.ca, id2, fx.bj, "read", NULL), 0, "A's companion sends a read receipt");
	is_str(box_field(t, PA, "inbox", id2, "status"), "read", "A's phone learns its companion read it (inbox status)");
	is_str(box_field(t, PB, "outbox", id2, "status"), "read", "B's outbox: read");
}

/* companion B -> A: both ends raw protocol clients (on the session A's
 * companion started) */
static void text_companion_to_companion(struct simtest_ctx *t)
{
	struct simtest_got g;
	char from[64], type[64];
	const char *ajids[] = { fx.aj }, *peer[] = { fx.aj, fx.ca.jid }, *own[] = { fx.bj };
	char id3[64];

	ok(simtest_fetch_sessions(&fx.cb, ajids, 1, NULL) >= 1, "B's companion fetches A's phone bundle");
	is_int(send_text(&fx.cb, fx.aj, peer, 2, own, 1, "hello alice, from bob's laptop", id3), 0,
	       "B's companion sends text, server acks");
	is_int(simtest_recv_msg(&fx.ca, &g), 0, "A's companion decrypts it");
	is_str(text_of(&g), "hello alice, from bob's laptop", "text as sent");
	is_str(g.from, fx.cb.jid, "from B's companion device");
	is_str(g.enc_type, "msg", "on the session A's companion started: a msg");
	simtest_got_free(&g);
	is_str(box_field(t, PA, "inbox", id3, "text"), "hello alice, from bob's laptop", "A's phone decrypted it");
	is_int(recv_receipt(&fx.cb, id3, from, type, sizeof from), 0, "B's companion gets a delivery receipt");
	is_int(send_receipt(&fx.ca, id3, fx.cb.jid, "played", NULL), 0, "A's companion sends a played receipt, acked");
	is_int(recv_receipt(&fx.cb, id3, from, type, sizeof from), 0, "B's companion gets it");
	is_str(type, "played", "type played");
	is_str(from, fx.ca.jid, "from A's companion");
}

/* a peer message to the own phone (category="peer", one enc, no participants) */
static void peer_message_own_phone(struct simtest_ctx *t)
{
	WaE2E__Message pm = WA_E2_E__MESSAGE__INIT;
	uint8_t *pt;
	size_t len;
	int pk = 0;
	struct wa_node *n = wa_node_new_attrs("message", "id", "3EB0PEER0000000000000001", "to", fx.aj, "type", "text",
					      "category", "peer", NULL), *e, *ack = NULL;

	pm.conversation = "peer data";
	pt = simtest_pack_msg(&pm, &len);
	e = simtest_enc_node(&fx.ca, fx.aj, pt, len, &pk);
	wa_node_add_child(n, e);
	ok(waclient_send(fx.ca.c, n) == 0 && waclient_recv_tag(fx.ca.c, "ack", T_MS, &ack) == 0 &&
	   wa_node_attr(ack, "error") == NULL, "peer message to the own phone acked");
	is_str(box_field(t, PA, "inbox", "3EB0PEER0000000000000001", "id"), "", "not listed as a chat message");
	free(pt);
	wa_node_free(n);
	wa_node_free(ack);
}

/* reply, reaction, location from the phone */
static void phone_reply(struct simtest_ctx *t)
{
	const char *id = fx.hello_id;
	struct simtest_got g;
	char body[512];

	snprintf(body, sizeof body, "{\"to\":\"" PA "\",\"text\":\"re\",\"quotedId\":\"%s\"}", id);
	is_int(phone_send(t, PB, body, NULL), 200, "B replies");
	is_int(simtest_recv_msg(&fx.ca, &g), 0, "A decrypts the reply");
	ok(g.m->extendedtextmessage && g.m->extendedtextmessage->contextinfo &&
	   strcmp(g.m->extendedtextmessage->contextinfo->stanzaid, id) == 0, "reply quotes the message id");
	simtest_got_free(&g);
	simtest_recv_msg(&fx.cb, &g);
	simtest_got_free(&g);
}

static void phone_reaction(struct simtest_ctx *t)
{
	const char *id = fx.hello_id;
	struct simtest_got g;
	char body[512];

	snprintf(body, sizeof body, "{\"to\":\"" PA "\",\"reaction\":{\"messageId\":\"%s\",\"emoji\":\"\xf0\x9f\x91\x8d\"}}", id);
	is_int(phone_send(t, PB, body, NULL), 200, "B reacts");
	is_int(simtest_recv_msg(&fx.ca, &g), 0, "A decrypts the reaction");
	ok(g.m->reactionmessage && strcmp(g.m->reactionmessage->key->id, id) == 0 &&
	   !g.m->reactionmessage->key->fromme, "reaction targets A's message (fromMe false from B's side)");
	simtest_got_free(&g);
	simtest_recv_msg(&fx.cb, &g);
	simtest_got_free(&g);
}

static void phone_location(struct simtest_ctx *t)
{
	struct simtest_got g;

	is_int(phone_send(t, PB, "{\"to\":\"" PA "\",\"location\":{\"lat\":52.5,\"lng\":13.4,\"name\":\"Berlin\"}}", NULL), 200,
	       "B sends a location");
	is_int(simtest_recv_msg(&fx.ca, &g), 0, "A decrypts the location");
	ok(g.m->locationmessage && g.m->locationmessage->degreeslatitude == 52.5, "latitude as sent");
	simtest_got_free(&g);
	simtest_recv_msg(&fx.cb, &g);
	simtest_got_free(&g);
}

static void send_unknown_number(struct simtest_ctx *t)
{
	is_int(phone_send(t, PB, "{\"to\":\"15559999999\",\"text\":\"x\"}", NULL), 404, "send to an unknown number -> 404");
}

/* an undecryptable message: B's phone answers with a retry receipt carrying keys */
static void undecryptable_gets_retry(struct simtest_ctx *t)
{
	char from[64], type[64];
	struct wa_node *n = wa_node_new_attrs("message", "id", "3EB0BAD00000000000000001", "to", fx.bj, "type", "text", NULL),
		       *tn, *e, *ack = NULL;

	tn = wa_node_add_new(wa_node_add_new(n, "participants"), "to");
	wa_node_set_attr(tn, "jid", fx.bj);
	e = wa_node_add_new(tn, "enc");
	wa_node_set_attr(e, "v", "2");
	wa_node_set_attr(e, "type", "msg");
	wa_node_set_bytes(e, "\x33garbage-not-a-signal-message", 30);
	ok(waclient_send(fx.ca.c, n) == 0 && waclient_recv_tag(fx.ca.c, "ack", T_MS, &ack) == 0, "garbage enc relayed, acked");
	wa_node_free(ack);
	wa_node_free(n);
	is_int(recv_receipt(&fx.ca, "3EB0BAD00000000000000001", from, type, sizeof from), 0, "A gets a receipt for it");
	is_str(type, "retry", "a retry receipt");
	is_str(from, fx.bj, "from B's phone");
	is_str(box_field(t, PB, "inbox", "3EB0BAD00000000000000001", "status"), "error", "B's inbox marks it undecryptable");
}

/* poll: A's companion creates one, B's phone votes (7.7) */
static void poll_vote(struct simtest_ctx *t)
{
	struct simtest_got g;
	char body[512];
	WaE2E__Message msg = WA_E2_E__MESSAGE__INIT;
	WaE2E__PollCreationMessage pc = WA_E2_E__POLL_CREATION_MESSAGE__INIT;
	WaE2E__PollCreationMessage__Option o1 = WA_E2_E__POLL_CREATION_MESSAGE__OPTION__INIT,
					   o2 = WA_E2_E__POLL_CREATION_MESSAGE__OPTION__INIT, *opts[2] = { &o1, &o2 };
	WaE2E__MessageContextInfo mci = WA_E2_E__MESSAGE_CONTEXT_INFO__INIT;
	const char *peer[] = { fx.bj, fx.cb.jid }, *own[] = { fx.aj };
	uint8_t secret[32], vkey[32], yes[32], plain[256], hashes[4][32];
	char pid[64];
	size_t nh = 0;

	wa_random(secret, 32);
	o1.optionname = "Yes";
	o2.optionname = "No";
	pc.name = "Lunch?";
	pc.n_options = 2;
	pc.options = opts;
	pc.has_selectableoptionscount = 1;
	pc.selectableoptionscount = 1;
	mci.has_messagesecret = 1;
	mci.messagesecret.data = secret;
	mci.messagesecret.len = 32;
	msg.pollcreationmessage = &pc;
	msg.messagecontextinfo = &mci;
	is_int(send_msg(&fx.ca, fx.bj, peer, 2, own, 1, &msg, "poll", pid), 0, "A sends a poll");
	simtest_recv_msg(&fx.cb, &g);
	simtest_got_free(&g);
	is_str(box_field(t, PB, "inbox", pid, "type"), "poll", "B's phone has the poll");
	snprintf(body, sizeof body, "{\"to\":\"" PA "\",\"pollVote\":{\"messageId\":\"%s\",\"options\":[\"Yes\"]}}", pid);
	is_int(phone_send(t, PB, body, NULL), 200, "B's phone votes");
	is_int(simtest_recv_msg(&fx.ca, &g), 0, "A decrypts the vote message");
	ok(g.m->pollupdatemessage && g.m->pollupdatemessage->vote && g.m->pollupdatemessage->vote->has_encpayload,
	   "pollUpdateMessage with an encrypted vote");
	if (g.m->pollupdatemessage && g.m->pollupdatemessage->vote) {
		WaE2E__PollEncValue *v = g.m->pollupdatemessage->vote;

		ok(wa_msgsecret_derive(secret, 32, pid, fx.aj, fx.bj, WA_SECRET_POLL_VOTE, vkey) == 0 &&
		   v->encpayload.len > 16 && v->encpayload.len - 16 <= sizeof plain &&
		   wa_poll_vote_decrypt(vkey, v->enciv.data, pid, fx.bj, v->encpayload.data, v->encpayload.len, plain) == 0 &&
		   wa_poll_vote_decode(plain, v->encpayload.len - 16, hashes, 4, &nh) == 0, "vote decrypts with the poll secret");
		wa_poll_option_hash("Yes", yes);
		ok(nh == 1 && memcmp(hashes[0], yes, 32) == 0, "the vote is for \"Yes\"");
		is_str(g.m->pollupdatemessage->pollcreationmessagekey->id, pid, "vote names the poll");
	}
	simtest_got_free(&g);
	simtest_recv_msg(&fx.cb, &g);
	simtest_got_free(&g);
}

/* offline delivery: B's companion away, two messages, reconnect */
static void offline_delivery(struct simtest_ctx *t)
{
	struct simtest_got g;
	char id2[64];
	long long kept = device_field(t, PB, fx.cb.cr.device, "unanswered");

	/* what B's companion was given before and never answered comes again
	 * first (the unanswered_* cases test that in detail) */
	ok(kept >= 0, "B's companion's unanswered messages are listed");
	waclient_close(fx.cb.c);
	ok(wait_offline(t, PB, fx.cb.cr.device) == 0, "B's companion is listed offline");
	is_int(phone_send(t, PA, "{\"to\":\"" PB "\",\"text\":\"while away 1\"}", id2), 200, "A's phone sends while B offline");
	simtest_recv_msg(&fx.ca, &g); /* A's own device-sent copy */
	simtest_got_free(&g);
	{
		const char *peer[] = { fx.bj, fx.cb.jid }, *own[] = { fx.aj };

		is_int(send_text(&fx.ca, fx.bj, peer, 2, own, 1, "while away 2", NULL), 0, "A's companion sends while B offline");
	}
	is_int(simtest_comp_login(&fx.cb), 0, "B's companion logs in again");
	{
		struct wa_node *n = NULL;
		int msgs = 0, marker = -1, ordered = 1, texts = 0;

		for (int i = 0; i < 20 && marker < 0; i++) {
			if (waclient_recv(fx.cb.c, T_MS, &n) != 0)
				break;
			if (strcmp(n->tag, "message") == 0 || strcmp(n->tag, "receipt") == 0) {
				/* "unanswered" counts kept receipts too: they come again as well */
				msgs++;
				if (wa_node_attr(n, "offline") == NULL || marker >= 0)
					ordered = 0;
				if (strcmp(n->tag, "message") == 0 && simtest_decode_msg(&fx.cb, n, &g) == 0 &&
				    strncmp(text_of(&g), "while away ", 11) == 0)
					texts++;
				if (strcmp(n->tag, "message") == 0)
					simtest_got_free(&g);
			} else if (strcmp(n->tag, "ib") == 0 && wa_node_child(n, "offline")) {
				long long cnt = -1;

				wa_node_attr_int(wa_node_child(n, "offline"), "count", &cnt);
				marker = (int)cnt;
			}
			wa_node_free(n);
			n = NULL;
		}
		is_int(msgs, (int)kept + 2, "both queued messages delivered on login, after the unanswered ones");
		ok(ordered, "queued messages carry the offline attribute");
		is_int(texts, 2, "both decrypt to what was sent");
		is_int(marker, (int)kept + 2, "then <ib><offline count=N/></ib> counting both");
	}
}

/* retry receipt answered by the phone with a fresh session */
static void retry_receipt_resend(struct simtest_ctx *t)
{
	struct simtest_got g;
	char id2[64];

	is_int(phone_send(t, PA, "{\"to\":\"" PB "\",\"text\":\"retry me\"}", id2), 200, "A's phone sends again");
	is_int(simtest_recv_msg(&fx.cb, &g), 0, "B's companion gets it");
	simtest_got_free(&g);
	simtest_recv_msg(&fx.ca, &g);
	simtest_got_free(&g);
	{
		struct wa_node *rr = wa_node_new_attrs("receipt", "id", id2, "to", fx.aj, "type", "retry", NULL), *rt, *ack = NULL;

		rt = wa_node_add_new(rr, "retry");
		wa_node_set_attr(rt, "count", "1");
		wa_node_set_attr(rt, "id", id2);
		wa_node_set_attr(rt, "t", "1");
		wa_node_set_attr(rt, "v", "1");
		wa_sig_add_registration(fx.cb.sig, rr);
		is_int(waclient_send(fx.cb.c, rr), 0, "B's companion sends a retry receipt");
		waclient_recv_tag(fx.cb.c, "ack", T_MS, &ack);
		wa_node_free(ack);
		wa_node_free(rr);
	}
	is_int(simtest_recv_msg(&fx.cb, &g), 0, "the phone re-sends, decryptable");
	is_str(g.id, id2, "same message id");
	is_str(g.count, "1", "enc carries the retry count");
	is_str(g.enc_type, "pkmsg", "re-encrypted with a fresh session (pkmsg)");
	is_str(text_of(&g), "retry me", "same text");
	simtest_got_free(&g);
}

/* media (§9): media_conn, upload, message, download, decrypt */
static void media_upload(struct simtest_ctx *t)
{
	char host[128] = "", auth[128] = "", url[1024], tok[45], dp[256] = "", id[64];
	uint8_t plain[3000], mkey[32], *enc = NULL;
	size_t elen = 0;
	struct wa_media_info info;
	struct simtest_resp rs;
	struct simtest_got g;
	long st;

	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = (uint8_t)(i * 7 + 3);
	ok(simtest_media_conn(&fx.ca, host, sizeof host, auth, sizeof auth) == 0, "media_conn answered");
	ok(strstr(host, "127.0.0.1:") == host && auth[0], "media host points at wa-sim, auth given");
	wa_media_new_key(mkey);
	wa_media_encrypt(WA_MEDIA_IMAGE, mkey, plain, sizeof plain, &enc, &elen, &info);
	wa_media_upload_token(info.file_enc_sha256, 1, tok);
	{
		char etok[140];
		CURL *h = curl_easy_init();
		char *e = curl_easy_escape(h, tok, 0);

		snprintf(etok, sizeof etok, "%s", e);
		curl_free(e);
		curl_easy_cleanup(h);
		snprintf(url, sizeof url, "https://%s/mms/image/%s?auth=wrong&token=%s", host, tok, etok);
		is_int(simtest_http("POST", url, enc, elen, &rs), 401, "upload with a wrong auth -> 401");
		free(rs.data);
		is_int(simtest_http_ca("POST", url, enc, elen, NULL, &rs), 0,
		       "HTTPS without trusting wa-sim's media-cert.pem fails verification");
		free(rs.data);
		snprintf(url, sizeof url, "https://%s/mms/image/%s?auth=%s&token=%s", host, tok, auth, etok);
	}
	st = simtest_http("POST", url, enc, elen, &rs);
	is_int(st, 200, "encrypted image uploaded");
	{
		json_t *jr = rs.data ? json_loads(rs.data, 0, NULL) : NULL;

		const char *uu = json_string_value(json_object_get(jr, "url"));

		snprintf(dp, sizeof dp, "%s", json_string_value(json_object_get(jr, "direct_path")) ?
					       json_string_value(json_object_get(jr, "direct_path")) : "");
		ok(uu && strncmp(uu, "https://", 8) == 0 && strstr(uu, host) == uu + 8, "upload answer url is https://<host>...");
		json_decref(jr);
	}
	free(rs.data);
	ok(dp[0] == '/', "answer has a direct_path");
	{
		struct simtest_resp r2;

		snprintf(url, sizeof url, "http://%s%s", host, dp);
		ok(simtest_http("GET", url, NULL, 0, &r2) == 200 && r2.len == elen && memcmp(r2.data, enc, elen) == 0,
		   "the same port also serves plain HTTP (the uploaded bytes)");
		free(r2.data);
	}
	{
		WaE2E__Message msg = WA_E2_E__MESSAGE__INIT;
		WaE2E__ImageMessage img = WA_E2_E__IMAGE_MESSAGE__INIT;
		const char *peer[] = { fx.bj, fx.cb.jid }, *own[] = { fx.aj };
		char imgurl[400];

		snprintf(imgurl, sizeof imgurl, "https://%s%s", host, dp);
		img.url = imgurl;
		img.directpath = dp;
		img.mimetype = "image/jpeg";
		img.caption = "a picture";
		img.has_mediakey = img.has_filesha256 = img.has_fileencsha256 = img.has_filelength = 1;
		img.mediakey.data = mkey;
		img.mediakey.len = 32;
		img.filesha256.data = info.file_sha256;
		img.filesha256.len = 32;
		img.fileencsha256.data = info.file_enc_sha256;
		img.fileencsha256.len = 32;
		img.filelength = sizeof plain;
		msg.imagemessage = &img;
		is_int(send_msg(&fx.ca, fx.bj, peer, 2, own, 1, &msg, "media", id), 0, "image message sent");
	}
	is_int(simtest_recv_msg(&fx.cb, &g), 0, "B's companion decrypts the image message");
	ok(g.m->imagemessage && strcmp(g.m->imagemessage->caption, "a picture") == 0, "caption");
	simtest_got_free(&g);
	is_str(box_field(t, PB, "inbox", id, "type"), "image", "B's phone: image");
	is_str(box_field(t, PB, "inbox", id, "mediaOk"), "true", "B's phone downloaded and decrypted it");
	is_str(box_field(t, PB, "inbox", id, "caption"), "a picture", "inbox caption");
	free(enc);
}

/* §9.1: once blobs are stored the media_conn auth token is still 48
 * clean hex digits (it once ran into the next field), and the next upload
 * with it is accepted */
static void media_conn_after_upload(struct simtest_ctx *t)
{
	char host[128], auth[128], auth2[128], dp[256];
	uint8_t blob[100];

	(void)t;
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)(i * 5 + 11);
	is_int(simtest_media_conn(&fx.ca, host, sizeof host, auth, sizeof auth), 0, "media_conn again, after an upload");
	ok(simtest_is_lower_hex(auth, 48), "auth is 48 lower-case hex digits");
	is_int(simtest_media_upload(host, auth, "document", blob, sizeof blob, dp, sizeof dp), 200,
	       "an upload with it is accepted");
	is_int(simtest_media_conn(&fx.ca, host, sizeof host, auth2, sizeof auth2), 0, "media_conn once more");
	is_str(auth2, auth, "the auth token does not change as blobs are stored");
}

/* A media message B's phone sent to A, as A's companion got it, and one
 * download of it (phone_media_send() .. phone_media_done()). */
struct phone_media {
	char host[128];             /* the media host (media_conn) */
	char url[1024];
	struct simtest_got g;       /* what A's companion decrypted */
	struct simtest_resp rs;     /* the download */
	uint8_t *dec;               /* its decryption */
	size_t dlen;
	struct wa_media_info info;
};

/* B's phone sends body (a media message to A; the assertion named what);
 * A's companion decrypts it into pm->g (a second assertion). */
static void phone_media_send(struct simtest_ctx *t, struct phone_media *pm, const char *body, const char *what)
{
	char auth[128];

	memset(pm, 0, sizeof *pm);
	simtest_media_conn(&fx.ca, pm->host, sizeof pm->host, auth, sizeof auth);
	is_int(phone_send(t, PB, body, NULL), 200, what);
	is_int(simtest_recv_msg(&fx.ca, &pm->g), 0, "A's companion decrypts it");
}

/* Free what pm holds; drop the device-sent copy B's own companion got. */
static void phone_media_done(struct phone_media *pm)
{
	free(pm->dec);
	free(pm->rs.data);
	simtest_got_free(&pm->g);
	simtest_recv_msg(&fx.cb, &pm->g);
	simtest_got_free(&pm->g);
}

/* phone -> companion image */
static void media_phone_image(struct simtest_ctx *t)
{
	static const uint8_t pic[] = "not really a jpeg, but bytes";
	struct phone_media pm;
	char b64[64], body[512];
	WaE2E__ImageMessage *im;

	wa_base64_encode(pic, sizeof pic, b64);
	snprintf(body, sizeof body, "{\"to\":\"" PA "\",\"image\":{\"data\":\"%s\",\"caption\":\"pic\"}}", b64);
	phone_media_send(t, &pm, body, "B's phone sends an image");
	im = pm.g.m->imagemessage;
	ok(im && im->directpath && im->has_mediakey, "image message with key and path");
	if (im && im->directpath) {
		ok(im->url && strncmp(im->url, "https://", 8) == 0, "message URL is https://");
		snprintf(pm.url, sizeof pm.url, "https://%s%s&hash=x&mms-type=image&__wa-mms=", pm.host, im->directpath);
		is_int(simtest_http("GET", pm.url, NULL, 0, &pm.rs), 200, "download from the media host over HTTPS");
		is_int(wa_media_decrypt(WA_MEDIA_IMAGE, im->mediakey.data, (uint8_t *)pm.rs.data, pm.rs.len,
					im->fileencsha256.data, im->filesha256.data, &pm.dec, &pm.dlen, &pm.info), 0,
		       "decrypts with the message's key and hashes");
		ok(pm.dlen == sizeof pic && pm.dec && memcmp(pm.dec, pic, pm.dlen) == 0, "same bytes the phone sent");
	}
	phone_media_done(&pm);
}

/* phone -> companion document and voice note: keys per media type (9.2) */
static void media_phone_document(struct simtest_ctx *t)
{
	static const uint8_t docb[] = "%PDF-1.4 not really a pdf";
	struct phone_media pm;
	char b64[80], body[512];
	WaE2E__DocumentMessage *dm;

	wa_base64_encode(docb, sizeof docb, b64);
	snprintf(body, sizeof body, "{\"to\":\"" PA "\",\"type\":\"document\",\"data\":\"%s\","
		 "\"fileName\":\"report.pdf\",\"caption\":\"the report\"}", b64);
	phone_media_send(t, &pm, body, "B's phone sends a document");
	dm = pm.g.m->documentmessage;
	ok(dm && dm->filename && strcmp(dm->filename, "report.pdf") == 0 && strcmp(dm->mimetype, "application/pdf") == 0,
	   "documentMessage with fileName and the default mimetype");
	if (dm && dm->directpath) {
		snprintf(pm.url, sizeof pm.url, "https://%s%s&hash=x&mms-type=document&__wa-mms=", pm.host, dm->directpath);
		is_int(simtest_http("GET", pm.url, NULL, 0, &pm.rs), 200, "document downloaded over HTTPS");
		is_int(wa_media_decrypt(WA_MEDIA_DOCUMENT, dm->mediakey.data, (uint8_t *)pm.rs.data, pm.rs.len,
					dm->fileencsha256.data, dm->filesha256.data, &pm.dec, &pm.dlen, &pm.info), 0,
		       "decrypts with Document keys");
		ok(pm.dlen == sizeof docb && pm.dec && memcmp(pm.dec, docb, pm.dlen) == 0, "the document's bytes");
	}
	phone_media_done(&pm);
}

static void media_phone_voice(struct simtest_ctx *t)
{
	static const uint8_t voice[] = "OggS not really opus";
	struct phone_media pm;
	char b64[80], body[512];
	WaE2E__AudioMessage *am;

	wa_base64_encode(voice, sizeof voice, b64);
	snprintf(body, sizeof body, "{\"to\":\"" PA "\",\"ptt\":{\"data\":\"%s\",\"seconds\":3}}", b64);
	phone_media_send(t, &pm, body, "B's phone sends a voice note");
	am = pm.g.m->audiomessage;
	ok(am && am->ptt && am->seconds == 3, "audioMessage with PTT and seconds");
	if (am && am->directpath) {
		snprintf(pm.url, sizeof pm.url, "https://%s%s", pm.host, am->directpath);
		is_int(simtest_http("GET", pm.url, NULL, 0, &pm.rs), 200, "voice note downloaded");
		ok(wa_media_decrypt(WA_MEDIA_PTT, am->mediakey.data, (uint8_t *)pm.rs.data, pm.rs.len, am->fileencsha256.data,
				    am->filesha256.data, &pm.dec, &pm.dlen, &pm.info) == 0 &&
			   pm.dlen == sizeof voice && memcmp(pm.dec, voice, pm.dlen) == 0,
		   "decrypts with Audio keys to the same bytes");
	}
	phone_media_done(&pm);
}

static void media_unknown_type(struct simtest_ctx *t)
{
	is_int(phone_send(t, PB, "{\"to\":\"" PA "\",\"type\":\"hologram\",\"data\":\"AAAA\"}", NULL), 400,
	       "an unknown media type -> 400");
}

/* groups (§10): A's companion creates one with B and C (fx.gjid) */
static void group_create(struct simtest_ctx *t)
{
	struct wa_node *cr = wa_node_new_attrs("create", "subject", "Team", NULL), *rep, *p;
	char tag[32];

	p = wa_node_add_new(cr, "participant");
	wa_node_set_attr(p, "jid", fx.bj);
	p = wa_node_add_new(cr, "participant");
	wa_node_set_attr(p, "jid", fx.cj);
	rep = g2(&fx.ca, "set", "g.us", cr);
	ok(rep && wa_node_attr_is(rep, "type", "result") && wa_node_child(rep, "group"), "A creates a group");
	snprintf(fx.gjid, sizeof fx.gjid, "%s@g.us", wa_node_attr_or(wa_node_child(rep, "group"), "id", "x"));
	is_int((int)wa_node_count(wa_node_child(rep, "group"), "participant"), 3, "three participants");
	ok(wa_node_attr_is(wa_node_child_at(wa_node_child(rep, "group"), 0), "type", "superadmin"), "creator is superadmin");
	wa_node_free(rep);
	is_int(recv_gp2(&fx.cb, tag, sizeof tag), 0, "B's companion gets a w:gp2 notification");
	is_str(tag, "create", "a create notification");
	rep = g2(&fx.cb, "get", fx.gjid, wa_node_new_attrs("query", "request", "interactive", NULL));
	is_str(wa_node_attr(wa_node_child(rep, "group"), "subject"), "Team", "metadata query gives the subject");
	wa_node_free(rep);
	rep = g2(&fx.cb, "get", "g.us", wa_node_new("participating"));
	is_int((int)wa_node_count(wa_node_child(rep, "groups"), "group"), 1, "participating list has the group");
	wa_node_free(rep);
}

/* sender keys: A's companion to the group */
static void group_sender_keys(struct simtest_ctx *t)
{
	struct simtest_got g;
	char id[64], from[64], type[64];

	{
		const char *cjids[] = { fx.cj };
		const char *devs[] = { fx.bj, fx.cb.jid, fx.cj, fx.aj };

		is_int(simtest_fetch_sessions(&fx.ca, cjids, 1, NULL), 1, "A fetches C's phone bundle");
		is_int(send_group(&fx.ca, fx.gjid, devs, 4, "hello team", id), 0, "A sends SKDMs + skmsg, acked");
	}
	is_int(simtest_recv_msg(&fx.cb, &g), 0, "B's companion decrypts the group message (SKDM then skmsg)");
	is_str(text_of(&g), "hello team", "group text");
	is_str(g.from, fx.gjid, "from the group");
	is_str(g.participant, fx.ca.jid, "participant is A's device");
	is_str(g.enc_type, "skmsg", "last enc is skmsg");
	simtest_got_free(&g);
	is_int(send_receipt(&fx.cb, id, fx.gjid, "read", fx.ca.jid), 0, "B's companion sends a group read receipt, acked");
	type[0] = '\0';
	for (int i = 0; i < 6 && strcmp(type, "read") != 0; i++) /* delivery receipts of the members come too */
		if (recv_receipt(&fx.ca, id, from, type, sizeof from) != 0)
			break;
	is_str(type, "read", "A's companion gets the read receipt for the group message");
	is_str(from, fx.gjid, "from the group");
	is_str(box_field(t, PB, "inbox", id, "text"), "hello team", "B's phone decrypted it");
	is_str(box_field(t, PC, "inbox", id, "text"), "hello team", "C's phone decrypted it");
	is_str(box_field(t, PC, "inbox", id, "chat"), fx.gjid, "chat is the group");
	{
		const char *devs[] = { fx.bj, fx.cb.jid, fx.cj, fx.aj };

		is_int(send_group(&fx.ca, fx.gjid, devs, 0, "second", id), 0, "second group message: skmsg only");
	}
	is_int(simtest_recv_msg(&fx.cb, &g), 0, "B's companion decrypts it with the stored sender key");
	is_str(text_of(&g), "second", "second text");
	simtest_got_free(&g);
	is_str(box_field(t, PC, "inbox", id, "text"), "second", "C's phone too");
}

/* a phone to the group */
static void group_phone_send(struct simtest_ctx *t)
{
	struct simtest_got g;
	char id2[64], body[512];

	snprintf(body, sizeof body, "{\"to\":\"%s\",\"text\":\"from bob phone\"}", fx.gjid);
	is_int(phone_send(t, PB, body, id2), 200, "B's phone sends to the group");
	is_int(simtest_recv_msg(&fx.ca, &g), 0, "A's companion decrypts the phone's group message");
	is_str(text_of(&g), "from bob phone", "text");
	is_str(g.participant, fx.bj, "participant is B's phone");
	simtest_got_free(&g);
	is_int(simtest_recv_msg(&fx.cb, &g), 0, "B's own companion gets it too");
	simtest_got_free(&g);
	is_str(box_field(t, PC, "inbox", id2, "text"), "from bob phone", "C's phone decrypted it");
}

/* changes: subject, promote B, B (now admin) removes C */
static void group_changes(struct simtest_ctx *t)
{
	struct wa_node *cr, *rep;
	char tag[32];

	cr = wa_node_new("subject");
	wa_node_set_bytes(cr, "Team 2", 6);
	rep = g2(&fx.ca, "set", fx.gjid, cr);
	ok(rep && wa_node_attr_is(rep, "type", "result"), "subject changed");
	wa_node_free(rep);
	is_int(recv_gp2(&fx.cb, tag, sizeof tag), 0, "notification");
	is_str(tag, "subject", "subject notification");
	cr = wa_node_new("promote");
	wa_node_set_attr(wa_node_add_new(cr, "participant"), "jid", fx.bj);
	rep = g2(&fx.ca, "set", fx.gjid, cr);
	ok(rep && wa_node_child(rep, "promote") && !wa_node_attr(wa_node_path(rep, "promote", "participant", NULL), "error"),
	   "B promoted");
	wa_node_free(rep);
	recv_gp2(&fx.cb, tag, sizeof tag);
	is_str(tag, "promote", "promote notification");
	cr = wa_node_new("remove");
	wa_node_set_attr(wa_node_add_new(cr, "participant"), "jid", fx.cj);
	rep = g2(&fx.cb, "set", fx.gjid, cr);
	ok(rep && wa_node_attr_is(rep, "type", "result"), "B (now admin) removes C");
	wa_node_free(rep);
}

/* settings: announcement blocks non-admins, ephemeral shows in metadata */
static void group_settings(struct simtest_ctx *t)
{
	struct wa_node *cr, *rep;

	cr = wa_node_new("demote");
	wa_node_set_attr(wa_node_add_new(cr, "participant"), "jid", fx.bj);
	wa_node_free(g2(&fx.ca, "set", fx.gjid, cr));
	rep = g2(&fx.ca, "set", fx.gjid, wa_node_new("announcement"));
	ok(rep && wa_node_attr_is(rep, "type", "result"), "announcement mode on");
	wa_node_free(rep);
	{
		struct wa_node *n = wa_node_new_attrs("message", "id", "3EB0ANN00000000000000001", "to", fx.gjid, "type", "text", NULL),
			       *e = wa_node_add_new(n, "enc"), *ack = NULL;

		wa_node_set_attr(e, "v", "2");
		wa_node_set_attr(e, "type", "skmsg");
		wa_node_set_bytes(e, "x", 1);
		waclient_send(fx.cb.c, n);
		ok(waclient_recv_tag(fx.cb.c, "ack", T_MS, &ack) == 0 && wa_node_attr_is(ack, "error", "403"),
		   "a non-admin's group message in announcement mode is refused (ack error 403)");
		wa_node_free(ack);
		wa_node_free(n);
	}
	rep = g2(&fx.cb, "set", fx.gjid, wa_node_new("not_announcement"));
	ok(rep && wa_node_attr_is(rep, "type", "error"), "a non-admin cannot change settings");
	wa_node_free(rep);
	cr = wa_node_new_attrs("ephemeral", "expiration", "86400", NULL);
	wa_node_free(g2(&fx.ca, "set", fx.gjid, cr));
	rep = g2(&fx.cb, "get", fx.gjid, wa_node_new_attrs("query", "request", "interactive", NULL));
	is_str(wa_node_attr(wa_node_path(rep, "group", "ephemeral", NULL), "expiration"), "86400", "ephemeral in metadata");
	ok(wa_node_path(rep, "group", "announcement", NULL) != NULL, "announcement in metadata");
	wa_node_free(rep);
	wa_node_free(g2(&fx.ca, "set", fx.gjid, wa_node_new("not_announcement")));
}

/* invite code, members, B leaves */
static void group_invite_leave(struct simtest_ctx *t)
{
	struct wa_node *cr, *rep;

	char old[32] = "";

	rep = g2(&fx.ca, "get", fx.gjid, wa_node_new("invite"));
	ok(wa_node_attr(wa_node_child(rep, "invite"), "code") != NULL, "invite code");
	snprintf(old, sizeof old, "%s", wa_node_attr_or(wa_node_child(rep, "invite"), "code", ""));
	wa_node_free(rep);
	rep = g2(&fx.cb, "get", fx.gjid, wa_node_new("invite"));
	is_str(wa_node_attr(wa_node_child(rep, "error"), "code"), "401", "a member who is no admin: 401 for the code");
	wa_node_free(rep);
	rep = g2(&fx.ca, "set", fx.gjid, wa_node_new("invite"));
	ok(wa_node_attr(wa_node_child(rep, "invite"), "code") &&
	   strcmp(wa_node_attr(wa_node_child(rep, "invite"), "code"), old) != 0, "revoked: a new code");
	wa_node_free(rep);
	rep = g2(&fx.cb, "set", "g.us", wa_node_new_attrs("invite", "code", old, NULL));
	is_str(wa_node_attr(wa_node_child(rep, "error"), "code"), "410", "joining by the revoked code: 410 gone");
	wa_node_free(rep);
	rep = g2(&fx.cb, "set", "g.us", wa_node_new_attrs("invite", "code", "NoSuchInviteCode", NULL));
	is_str(wa_node_attr(wa_node_child(rep, "error"), "code"), "406", "an unknown code: 406 not-acceptable");
	wa_node_free(rep);
	rep = g2(&fx.cb, "get", fx.gjid, wa_node_new_attrs("query", "request", "interactive", NULL));
	is_int((int)wa_node_count(wa_node_child(rep, "group"), "participant"), 2, "two members left");
	wa_node_free(rep);
	cr = wa_node_new("leave");
	wa_node_set_attr(wa_node_add_new(cr, "group"), "id", fx.gjid);
	rep = g2(&fx.cb, "set", "g.us", cr);
	ok(rep && wa_node_attr_is(rep, "type", "result"), "B leaves");
	wa_node_free(rep);
	rep = g2(&fx.cb, "get", fx.gjid, wa_node_new_attrs("query", "request", "interactive", NULL));
	ok(rep && wa_node_attr_is(rep, "type", "error"), "metadata after leaving -> error");
	wa_node_free(rep);
}

/* admin: a phone creates a group (fx.cgjid) */
static void admin_group_create(struct simtest_ctx *t)
{
	char tag[32] = "";
	json_t *j = NULL;

	is_int(admin(t, "POST", "/admin/groups", "{\"phone\":\"" PC "\",\"subject\":\"Carol's\",\"participants\":[\"" PA "\"]}",
		     &j), 201, "POST /admin/groups as phone C");
	snprintf(fx.cgjid, sizeof fx.cgjid, "%s", json_string_value(json_object_get(j, "jid")) ?
					  json_string_value(json_object_get(j, "jid")) : "");
	json_decref(j);
	for (int i = 0; i < 6 && strcmp(tag, "create") != 0; i++)
		if (recv_gp2(&fx.ca, tag, sizeof tag) != 0)
			break;
	is_str(tag, "create", "A's companion is told about the new group");
}

/* admin: the phones change its settings (the same rules as over w:g2) */
static void admin_group_settings(struct simtest_ctx *t)
{
	struct wa_node *r, *u;
	char body[512], tag[32];
	json_t *j = NULL;
	char path[128], code[32] = "", code2[32] = "";
	static const struct {
		const char *body, *tag, *name;
	} steps[] = {
		{ "{\"phone\":\"" PC "\",\"action\":\"description\",\"description\":\"rules\"}", "description",
		  "C sets the description" },
		{ "{\"phone\":\"" PC "\",\"action\":\"announcement\"}", "announcement", "C: only admins post" },
		{ "{\"phone\":\"" PC "\",\"action\":\"locked\"}", "locked", "C locks the settings" },
		{ "{\"phone\":\"" PC "\",\"action\":\"ephemeral\",\"expiration\":604800}", "ephemeral",
		  "C turns on disappearing messages" },
	};

	snprintf(path, sizeof path, "/admin/groups/%s", fx.cgjid);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		is_int(admin(t, "POST", path, steps[i].body, NULL), 200, steps[i].name);
		is_int(recv_gp2(&fx.ca, tag, sizeof tag), 0, "A's companion gets the w:gp2 notification");
		is_str(tag, steps[i].tag, "of that setting");
	}
	is_int(admin(t, "POST", path, "{\"phone\":\"" PA "\",\"action\":\"unlocked\"}", NULL), 403,
	       "A (not an admin) cannot unlock -> 403");
	is_int(admin(t, "POST", path, "{\"phone\":\"" PC "\",\"action\":\"ephemeral\"}", NULL), 400,
	       "ephemeral without expiration -> 400");
	r = g2(&fx.ca, "get", fx.cgjid, wa_node_new_attrs("query", "request", "interactive", NULL));
	u = r ? wa_node_child(r, "group") : NULL;
	ok(u && wa_node_child(u, "announcement") && wa_node_child(u, "locked") &&
		   wa_node_attr_is(wa_node_child(u, "ephemeral"), "expiration", "604800") &&
		   wa_node_child(u, "description"),
	   "metadata shows description, announcement, locked, ephemeral");
	wa_node_free(r);
	ok(admin(t, "POST", path, "{\"phone\":\"" PC "\",\"action\":\"invite-code\"}", &j) == 200 &&
		   json_string_value(json_object_get(j, "code")),
	   "C reads the invite code");
	snprintf(code, sizeof code, "%s", json_string_value(json_object_get(j, "code")) ?
					  json_string_value(json_object_get(j, "code")) : "");
	json_decref(j);
	is_int(admin(t, "POST", path, "{\"phone\":\"" PA "\",\"action\":\"invite-code\"}", NULL), 403,
	       "A (not an admin) may not read it");
	is_int(admin(t, "POST", path, "{\"phone\":\"" PB "\",\"action\":\"join\",\"code\":\"nope\"}", NULL), 404,
	       "join with a wrong code -> 404");
	snprintf(body, sizeof body, "{\"phone\":\"" PB "\",\"action\":\"join\",\"code\":\"%s\"}", code);
	is_int(admin(t, "POST", path, body, NULL), 200, "B's phone joins by the code");
	is_int(recv_gp2(&fx.ca, tag, sizeof tag), 0, "A's companion is told");
	is_str(tag, "add", "as an add");
	ok(admin(t, "POST", path, "{\"phone\":\"" PC "\",\"action\":\"invite\"}", &j) == 200 &&
		   json_string_value(json_object_get(j, "code")),
	   "C revokes the invite code");
	snprintf(code2, sizeof code2, "%s", json_string_value(json_object_get(j, "code")) ?
					   json_string_value(json_object_get(j, "code")) : "");
	json_decref(j);
	ok(code2[0] && strcmp(code, code2) != 0, "a new code");
	snprintf(body, sizeof body, "{\"phone\":\"" PA "\",\"action\":\"join\",\"code\":\"%s\"}", code);
	is_int(admin(t, "POST", path, body, NULL), 404, "the old code no longer works");
}

/* status@broadcast: the audience is the listed devices */
static void status_broadcast(struct simtest_ctx *t)
{
	struct simtest_got g;
	char id[64];
	const char *devs[] = { fx.bj, fx.cb.jid };

	is_int(send_group(&fx.ca, "status@broadcast", devs, 2, "my status", id), 0, "A posts a status to B's devices");
	is_int(simtest_recv_msg(&fx.cb, &g), 0, "B's companion decrypts the status");
	is_str(g.from, "status@broadcast", "from status@broadcast");
	is_str(text_of(&g), "my status", "status text");
	simtest_got_free(&g);
	is_str(box_field(t, PB, "inbox", id, "chat"), "status@broadcast", "B's phone has it under status@broadcast");
}

/* fault injection: drop the next two deliveries to B's devices */
static void fault_drop_messages(struct simtest_ctx *t)
{
	struct simtest_got g;
	char id2[64];
	struct wa_node *n = NULL;

	is_int(admin(t, "POST", "/admin/faults", "{\"number\":\"" PB "\",\"dropMessages\":2}", NULL), 200,
	       "POST /admin/faults dropMessages");
	is_int(phone_send(t, PA, "{\"to\":\"" PB "\",\"text\":\"lost\"}", id2), 200, "A's phone sends (acked)");
	is_str(box_field(t, PB, "inbox", id2, "id"), "", "B's phone never got it");
	is_int(waclient_recv_tag(fx.cb.c, "message", 300, &n), WACLIENT_ETIMEOUT, "B's companion never got it");
	wa_node_free(n);
	simtest_recv_msg(&fx.ca, &g); /* A's own copy is not affected */
	is_str(text_of(&g), "lost", "A's companion still got the device-sent copy");
	simtest_got_free(&g);
	is_int(phone_send(t, PA, "{\"to\":\"" PB "\",\"text\":\"found\"}", id2), 200, "next message");
	is_int(simtest_recv_msg(&fx.cb, &g), 0, "delivered again after the fault ran out");
	is_str(text_of(&g), "found", "text");
	simtest_got_free(&g);
	simtest_recv_msg(&fx.ca, &g);
	simtest_got_free(&g);
}

/* ---- what the server keeps until the companion answers it (§8.3, §8.7) ---- */

/* What a login delivered, up to <ib><offline count/></ib>. */
struct login_batch {
	int nmsg;                       /* <message>s */
	int all_offline;                /* every one carried offline="1" */
	char ids[4][WA_MSGID_MAX + 1];  /* the first ids, in order */
	char texts[4][64];              /* what they decrypted to ("" when they did not) */
	long long preview_msgs;         /* the preview's message count; -1: no preview */
	long long count;                /* the <offline> count; -1: it never came */
};

/* Read what m's login delivers into b (each message decrypted as far as
 * m's Signal state allows: what m decrypted before does not again). */
static void login_batch(struct simtest_comp *m, struct login_batch *b)
{
	struct wa_node *n = NULL;

	memset(b, 0, sizeof *b);
	b->all_offline = 1;
	b->preview_msgs = b->count = -1;
	for (int i = 0; i < 2 * KEEP_MAX + 100 && b->count < 0 && waclient_recv(m->c, T_MS, &n) == 0; i++) {
		struct wa_node *ch = wa_node_child_at(n, 0);

		if (strcmp(n->tag, "message") == 0) {
			if (!wa_node_attr_is(n, "offline", "1"))
				b->all_offline = 0;
			if (b->nmsg < 4) {
				struct simtest_got g;

				snprintf(b->ids[b->nmsg], sizeof b->ids[0], "%s", wa_node_attr_or(n, "id", ""));
				if (simtest_decode_msg(m, n, &g) == 0)
					snprintf(b->texts[b->nmsg], sizeof b->texts[0], "%s", text_of(&g));
				simtest_got_free(&g);
			}
			b->nmsg++;
		} else if (strcmp(n->tag, "ib") == 0 && ch && strcmp(ch->tag, "offline_preview") == 0) {
			wa_node_attr_int(ch, "message", &b->preview_msgs);
		} else if (strcmp(n->tag, "ib") == 0 && ch && strcmp(ch->tag, "offline") == 0) {
			wa_node_attr_int(ch, "count", &b->count);
		}
		wa_node_free(n);
		n = NULL;
	}
}

/* Close m (a companion of phone) and wait until the server saw it. 0 / -1. */
static int go_offline(struct simtest_ctx *t, struct simtest_comp *m, const char *phone)
{
	waclient_close(m->c);
	return wait_offline(t, phone, m->cr.device);
}

/* Close m, log it in again and read what the login delivers. 0 / -1. */
static int relogin(struct simtest_ctx *t, struct simtest_comp *m, const char *phone, struct login_batch *b)
{
	memset(b, 0, sizeof *b);
	if (go_offline(t, m, phone) != 0 || simtest_comp_login(m) != 0)
		return -1;
	login_batch(m, b);
	return 0;
}

/* "unanswered" of fx.ce's device. */
static long long ce_kept(struct simtest_ctx *t)
{
	return device_field(t, PE, fx.ce.cr.device, "unanswered");
}

/* Phone D sends text to E; its id into id (64 bytes). 200 when sent. */
static long d_sends(struct simtest_ctx *t, const char *text, char *id)
{
	char body[256];

	snprintf(body, sizeof body, "{\"to\":\"" PE "\",\"text\":\"%s\"}", text);
	return phone_send(t, PD, body, id);
}

/* Phone D sends text to E and fx.ce (online) decrypts it: 0 when it got
 * that text, not marked offline. The id into id (64 bytes). */
static int d_sends_ce_gets(struct simtest_ctx *t, const char *text, char *id)
{
	struct simtest_got g;
	int rc = -1;

	if (d_sends(t, text, id) == 200 && simtest_recv_msg(&fx.ce, &g) == 0 && strcmp(g.id, id) == 0 &&
	    strcmp(text_of(&g), text) == 0 && !g.offline)
		rc = 0;
	simtest_got_free(&g);
	return rc;
}

/* m's <ack class="message" id to/>, then a ping: the server has handled
 * the ack once the ping is answered. 0 / -1. */
static int ack_message(struct simtest_comp *m, const char *id, const char *to)
{
	struct wa_node *ack = wa_node_new_attrs("ack", "class", "message", "id", id, "to", to, NULL);
	int rc = waclient_send(m->c, ack) == 0 && waclient_ping(m->c, T_MS) == 0 ? 0 : -1;

	wa_node_free(ack);
	return rc;
}

/* phones D and E, E's companion (fx.ce): a message it got online and one
 * queued while it was away, neither answered, come again at its next
 * login in that order, marked offline and counted */
static void unanswered_kept(struct simtest_ctx *t)
{
	struct login_batch b;
	struct wa_node *n = NULL;

	is_int(admin(t, "POST", "/admin/phones", "{\"number\":\"" PD "\",\"pushName\":\"Dave\"}", NULL), 201,
	       "phone D");
	is_int(admin(t, "POST", "/admin/phones", "{\"number\":\"" PE "\",\"pushName\":\"Erin\"}", NULL), 201,
	       "phone E");
	snprintf(fx.dj, sizeof fx.dj, "%s@s.whatsapp.net", PD);
	is_int(simtest_comp_pair(&fx.ce, PE, &t->net), 0, "companion E paired and logged in");
	is_int(simtest_comp_upload(&fx.ce, 20), 0, "E's companion uploads pre-keys");
	is_int(ce_kept(t), 0, "a new device keeps nothing");
	is_int(d_sends_ce_gets(t, "keep me", fx.keep_ids[0]), 0, "D's phone sends; E's companion decrypts it online");
	is_int(ce_kept(t), 1, "not answered: the device listing shows it kept");
	is_int(conn_unanswered(t, fx.ce.jid), 1, "and so does the connection listing");
	is_int(waclient_recv_tag(fx.ce.c, "message", 300, &n), WACLIENT_ETIMEOUT,
	       "not delivered again on the same connection");
	wa_node_free(n);
	is_int(go_offline(t, &fx.ce, PE), 0, "E's companion closes without answering");
	is_int(ce_kept(t), 1, "still kept while it is away");
	is_int(d_sends(t, "while away", fx.keep_ids[1]), 200, "D's phone sends while it is away");
	is_int(device_field(t, PE, fx.ce.cr.device, "queued"), 1, "that one is queued");
	is_int(simtest_comp_login(&fx.ce), 0, "E's companion logs in again");
	login_batch(&fx.ce, &b);
	is_int(b.nmsg, 2, "the login delivers both");
	is_str(b.ids[0], fx.keep_ids[0], "first the unanswered one");
	is_str(b.ids[1], fx.keep_ids[1], "then the queued one");
	is_str(b.texts[1], "while away", "which decrypts");
	ok(b.all_offline, "both marked offline=\"1\"");
	is_int(b.preview_msgs, 2, "the preview counts both");
	is_int(b.count, 2, "<ib><offline count=\"2\"/></ib>");
	is_int(ce_kept(t), 2, "both kept until answered");
}

/* receipts end the keeping: a delivery receipt; one naming another device
 * of the sender does not; a read receipt does */
static void unanswered_receipt(struct simtest_ctx *t)
{
	struct login_batch b;
	char other[64];

	snprintf(other, sizeof other, "%s:5@s.whatsapp.net", PD);
	is_int(send_receipt(&fx.ce, fx.keep_ids[0], fx.dj, NULL, NULL), 0, "E's companion sends a delivery receipt");
	is_int(ce_kept(t), 1, "that message is no longer kept");
	is_int(send_receipt(&fx.ce, fx.keep_ids[1], other, NULL, NULL), 0,
	       "a receipt for the other id, to another device of D");
	is_int(ce_kept(t), 1, "does not answer it");
	is_int(relogin(t, &fx.ce, PE, &b), 0, "E's companion logs in again");
	is_int(b.nmsg, 1, "only the unanswered message comes again");
	is_str(b.ids[0], fx.keep_ids[1], "the one queued while it was away");
	is_int(b.count, 1, "counted in <offline count>");
	is_int(send_receipt(&fx.ce, fx.keep_ids[1], fx.dj, "read", NULL), 0, "E's companion sends a read receipt");
	is_int(ce_kept(t), 0, "nothing kept");
	is_int(relogin(t, &fx.ce, PE, &b), 0, "E's companion logs in again");
	is_int(b.nmsg, 0, "nothing comes again");
	is_int(b.preview_msgs, -1, "no preview");
	is_int(b.count, 0, "<offline count=\"0\"/>");
}

/* an <ack class="message"> ends it too */
static void unanswered_ack(struct simtest_ctx *t)
{
	struct login_batch b;
	char id[64];

	is_int(d_sends_ce_gets(t, "ack me", id), 0, "D's phone sends; E's companion gets it");
	is_int(ce_kept(t), 1, "kept");
	is_int(ack_message(&fx.ce, id, "15550000009@s.whatsapp.net"), 0, "an ack naming another sender");
	is_int(ce_kept(t), 1, "does not answer it");
	is_int(ack_message(&fx.ce, id, fx.dj), 0, "E's companion acks it (class message)");
	is_int(ce_kept(t), 0, "no longer kept");
	is_int(relogin(t, &fx.ce, PE, &b), 0, "E's companion logs in again");
	is_int(b.nmsg, 0, "it does not come again");
	is_int(b.count, 0, "<offline count=\"0\"/>");
}

/* POST path with body; the answer's "id" into id (64 bytes). 200 when so. */
static long post_id(struct simtest_ctx *t, const char *path, const char *body, char *id)
{
	json_t *j = NULL;
	long st = admin(t, "POST", path, body, &j);

	id[0] = '\0';
	if (json_is_string(json_object_get(j, "id")))
		snprintf(id, 64, "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	return st;
}

/* The next <message> of fx.ce: its edit attribute ("" none) into edit, its
 * id into id (64 bytes), the protocolMessage it carries (at the top or in
 * the editedMessage wrapper) into *pm, owned by g. 0 / -1. */
static int ce_gets_protocol(struct simtest_got *g, char *edit, char *id, const WaE2E__ProtocolMessage **pm)
{
	struct wa_node *n = NULL;
	int rc = -1;

	*pm = NULL;
	memset(g, 0, sizeof *g);
	if (waclient_recv_tag(fx.ce.c, "message", T_MS, &n) == 0) {
		snprintf(edit, 8, "%s", wa_node_attr_or(n, "edit", ""));
		snprintf(id, 64, "%s", wa_node_attr_or(n, "id", ""));
		if (simtest_decode_msg(&fx.ce, n, g) == 0 && g->m) {
			*pm = g->m->protocolmessage;
			if (!*pm && g->m->editedmessage && g->m->editedmessage->message)
				*pm = g->m->editedmessage->message->protocolmessage;
			rc = *pm ? 0 : -1;
		}
	}
	wa_node_free(n);
	return rc;
}

/* phone D edits and revokes a message it sent E (7.6), as WhatsApp sends
 * them; resend gives E's companion the same stanza again */
static void phone_edit_revoke(struct simtest_ctx *t)
{
	struct simtest_got g;
	const WaE2E__ProtocolMessage *pm;
	char id[64], eid[64], rid[64], got[64], edit[8], body[256];

	is_int(d_sends_ce_gets(t, "typo", id), 0, "D's phone sends; E's companion gets it");
	is_int(send_receipt(&fx.ce, id, fx.dj, NULL, NULL), 0, "and answers it");
	snprintf(body, sizeof body, "{\"to\":\"" PE "\",\"id\":\"%s\",\"text\":\"fixed\"}", id);
	is_int(post_id(t, "/admin/phones/" PD "/edit", body, eid), 200, "D's phone edits it");
	is_int(ce_gets_protocol(&g, edit, got, &pm), 0, "E's companion gets an edit");
	ok(strcmp(got, eid) == 0 && strcmp(edit, "1") == 0, "its own id, edit=\"1\"");
	ok(g.m && g.m->editedmessage && pm && pm->has_type && pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT &&
		   pm->key && pm->key->fromme && pm->key->id && strcmp(pm->key->id, id) == 0 && pm->editedmessage &&
		   pm->editedmessage->conversation && strcmp(pm->editedmessage->conversation, "fixed") == 0 &&
		   pm->has_timestampms,
	   "editedMessage{protocolMessage{key (fromMe, the target), MESSAGE_EDIT, editedMessage, timestampMS}}");
	simtest_got_free(&g);
	is_int(send_receipt(&fx.ce, eid, fx.dj, NULL, NULL), 0, "answered");
	snprintf(body, sizeof body, "{\"to\":\"" PE "\",\"id\":\"%s\"}", id);
	is_int(post_id(t, "/admin/phones/" PD "/revoke", body, rid), 200, "D's phone revokes it");
	is_int(ce_gets_protocol(&g, edit, got, &pm), 0, "E's companion gets a revoke");
	ok(strcmp(got, rid) == 0 && strcmp(edit, "7") == 0 && g.m && g.m->protocolmessage && pm->has_type &&
		   pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__REVOKE && pm->key && pm->key->fromme &&
		   strcmp(pm->key->id, id) == 0,
	   "edit=\"7\", protocolMessage{key, REVOKE} at the top");
	simtest_got_free(&g);
	is_int(send_receipt(&fx.ce, rid, fx.dj, NULL, NULL), 0, "answered");
	snprintf(body, sizeof body, "{\"id\":\"%s\"}", rid);
	is_int(admin(t, "POST", "/admin/phones/" PD "/resend", body, NULL), 200, "D's phone sends the revoke again");
	is_int(ce_gets_protocol(&g, edit, got, &pm), 0, "E's companion gets it again");
	ok(strcmp(got, rid) == 0 && strcmp(edit, "7") == 0 && pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__REVOKE,
	   "the same stanza: id, edit, content");
	simtest_got_free(&g);
	is_int(send_receipt(&fx.ce, rid, fx.dj, NULL, NULL), 0, "answered");
	is_int(admin(t, "POST", "/admin/phones/" PD "/resend", "{\"id\":\"nope\"}", NULL), 404, "no such message: 404");
	is_int(ce_kept(t), 0, "nothing left unanswered");
}

/* one read receipt with a <list> answers every id in it, the sender named
 * in LID form */
static void unanswered_read_list(struct simtest_ctx *t)
{
	char id1[64], id2[64], lid[64] = "";
	json_t *j = NULL;
	struct wa_node *r, *l, *ack = NULL;

	if (admin(t, "GET", "/admin/phones/" PD, NULL, &j) == 200 && json_is_string(json_object_get(j, "lid")))
		snprintf(lid, sizeof lid, "%s", json_string_value(json_object_get(j, "lid")));
	json_decref(j);
	ok(strstr(lid, "@lid") != NULL, "phone D's LID");
	is_int(d_sends_ce_gets(t, "one", id1), 0, "D's phone sends one");
	is_int(d_sends_ce_gets(t, "two", id2), 0, "and two");
	is_int(ce_kept(t), 2, "both kept");
	r = wa_node_new_attrs("receipt", "id", id1, "to", lid, "type", "read", "t", "1", NULL);
	l = wa_node_add_new(r, "list");
	wa_node_set_attr(wa_node_add_new(l, "item"), "id", id2);
	ok(waclient_send(fx.ce.c, r) == 0 && waclient_recv_tag(fx.ce.c, "ack", T_MS, &ack) == 0 &&
		   wa_node_attr_is(ack, "class", "receipt"),
	   "E's companion reads both in one receipt to D's LID, acked");
	wa_node_free(ack);
	wa_node_free(r);
	is_int(ce_kept(t), 0, "both answered");
}

/* a group notification is kept until acked; a group message is answered
 * only by a receipt naming its participant */
static void unanswered_group(struct simtest_ctx *t)
{
	struct simtest_got g;
	char gjid[64] = "", id[64], body[256], tag[32] = "";
	json_t *j = NULL;
	struct wa_node *note = NULL;

	is_int(admin(t, "POST", "/admin/groups", "{\"phone\":\"" PD "\",\"subject\":\"Kept\",\"participants\":[\"" PE "\"]}",
		     &j), 201, "phone D makes a group with E");
	if (json_is_string(json_object_get(j, "jid")))
		snprintf(gjid, sizeof gjid, "%s", json_string_value(json_object_get(j, "jid")));
	json_decref(j);
	is_int(recv_gp2_as(&fx.ce, tag, sizeof tag, 0, &note), 0, "E's companion is told");
	is_int(ce_kept(t), 1, "the notification is kept until answered");
	is_int(note ? ack_notification(&fx.ce, note) : -1, 0, "E's companion acks it (class notification)");
	is_int(ce_kept(t), 0, "no longer kept");
	wa_node_free(note);
	snprintf(body, sizeof body, "{\"to\":\"%s\",\"text\":\"to the group\"}", gjid);
	is_int(phone_send(t, PD, body, id), 200, "D's phone writes to the group");
	is_int(simtest_recv_msg(&fx.ce, &g), 0, "E's companion decrypts it");
	is_str(g.participant, fx.dj, "from D's phone in the group");
	simtest_got_free(&g);
	is_int(ce_kept(t), 1, "kept");
	is_int(send_receipt(&fx.ce, id, gjid, NULL, NULL), 0, "a receipt to the group without participant");
	is_int(ce_kept(t), 1, "does not answer it");
	is_int(send_receipt(&fx.ce, id, gjid, NULL, fx.dj), 0, "one with participant D's phone");
	is_int(ce_kept(t), 0, "does");
}

/* at most KEEP_MAX kept per device: the oldest make room (and are logged) */
static void unanswered_cap(struct simtest_ctx *t)
{
	static char ids[KEEP_MAX + 5][64];
	struct login_batch b;
	char text[32], path[512], *log = NULL;
	int sent = 0;
	size_t loglen = 0;

	is_int(go_offline(t, &fx.ce, PE), 0, "E's companion goes away");
	for (int i = 0; i < KEEP_MAX + 5; i++) {
		snprintf(text, sizeof text, "n%d", i);
		sent += d_sends(t, text, ids[i]) == 200;
	}
	is_int(sent, KEEP_MAX + 5, "D's phone sends 1005 messages meanwhile");
	is_int(simtest_comp_login(&fx.ce), 0, "E's companion logs in");
	login_batch(&fx.ce, &b);
	is_int(b.nmsg, KEEP_MAX + 5, "all 1005 queued ones delivered");
	is_int(b.count, KEEP_MAX + 5, "and counted");
	is_int(ce_kept(t), KEEP_MAX, "1000 are kept");
	snprintf(path, sizeof path, "%s/wa-sim.log", t->dir);
	{
		FILE *f = fopen(path, "r");

		if (f != NULL) {
			log = calloc(1, 1 << 22);
			loglen = log ? fread(log, 1, (1 << 22) - 1, f) : 0;
			fclose(f);
		}
	}
	ok(loglen > 0 && strstr(log, "unanswered messages: the oldest dropped (1 so far)") != NULL &&
		   strstr(log, "(2 so far)") == NULL,
	   "the first drop is logged (not each one)");
	free(log);
	is_int(relogin(t, &fx.ce, PE, &b), 0, "E's companion logs in again");
	is_int(b.nmsg, KEEP_MAX, "the 1000 kept ones come again");
	is_str(b.ids[0], ids[5], "the oldest five are gone");
	is_int(b.count, KEEP_MAX, "counted");
}

/* removing the device forgets what it kept */
static void unanswered_removed(struct simtest_ctx *t)
{
	char path[128];
	struct wa_node *n = NULL;
	int rc;

	ok(ce_kept(t) > 0, "E's companion has messages kept");
	snprintf(path, sizeof path, "/admin/phones/" PE "/devices/%u/remove", (unsigned)fx.ce.cr.device);
	is_int(admin(t, "POST", path, NULL, NULL), 200, "phone E removes the device");
	while ((rc = waclient_recv(fx.ce.c, T_MS, &n)) == 0) {
		wa_node_free(n);
		n = NULL;
	}
	is_int(rc, WACLIENT_ECLOSED, "its connection is closed");
	is_int(ce_kept(t), -1, "the device is gone with what it kept");
	is_int(phone_send(t, PD, "{\"to\":\"" PE "\",\"text\":\"after removal\"}", NULL), 200,
	       "D's phone still writes to E");
}

static void teardown(struct simtest_ctx *t)
{
	simtest_comp_free(&fx.ca);
	simtest_comp_free(&fx.cb);
	simtest_comp_free(&fx.ce);
}

static const struct simtest_case cases[] = {
	{ "prekeys", prekeys, NULL },
	{ "usync_queries", usync_queries, NULL },
	{ "text_companion_to_peer", text_companion_to_peer, "prekeys" },
	{ "ack_before_receipt", ack_before_receipt, "prekeys" },
	{ "text_phone_to_companion", text_phone_to_companion, "prekeys" },
	{ "text_companion_to_companion", text_companion_to_companion, "text_companion_to_peer text_phone_to_companion" },
	{ "peer_message_own_phone", peer_message_own_phone, "prekeys" },
	{ "phone_reply", phone_reply, "text_companion_to_peer" },
	{ "phone_reaction", phone_reaction, "text_companion_to_peer" },
	{ "phone_location", phone_location, "prekeys" },
	{ "send_unknown_number", send_unknown_number, NULL },
	{ "undecryptable_gets_retry", undecryptable_gets_retry, NULL },
	{ "poll_vote", poll_vote, "prekeys" },
	{ "offline_delivery", offline_delivery, "prekeys" },
	{ "retry_receipt_resend", retry_receipt_resend, "prekeys" },
	{ "media_upload", media_upload, "prekeys" },
	{ "media_conn_after_upload", media_conn_after_upload, "media_upload" },
	{ "media_phone_image", media_phone_image, "prekeys" },
	{ "media_phone_document", media_phone_document, "prekeys" },
	{ "media_phone_voice", media_phone_voice, "prekeys" },
	{ "media_unknown_type", media_unknown_type, NULL },
	{ "group_create", group_create, NULL },
	{ "group_sender_keys", group_sender_keys, "prekeys group_create" },
	{ "group_phone_send", group_phone_send, "prekeys group_create" },
	{ "group_changes", group_changes, "group_create" },
	{ "group_settings", group_settings, "group_changes" },
	{ "group_invite_leave", group_invite_leave, "group_changes" },
	{ "admin_group_create", admin_group_create, NULL },
	{ "admin_group_settings", admin_group_settings, "admin_group_create" },
	{ "status_broadcast", status_broadcast, "prekeys" },
	{ "fault_drop_messages", fault_drop_messages, "prekeys" },
	{ "unanswered_kept", unanswered_kept, NULL },
	{ "unanswered_receipt", unanswered_receipt, "unanswered_kept" },
	{ "unanswered_ack", unanswered_ack, "unanswered_receipt" },
	{ "phone_edit_revoke", phone_edit_revoke, "unanswered_ack" },
	{ "unanswered_read_list", unanswered_read_list, "unanswered_ack" },
	{ "unanswered_group", unanswered_group, "unanswered_read_list" },
	{ "unanswered_cap", unanswered_cap, "unanswered_group" },
	{ "unanswered_removed", unanswered_removed, "unanswered_cap" },
};

static const char *const sim_args[] = { "--no-pairing-sync", NULL };

static const struct simtest_suite suite = {
	.name = "test_sim_messaging",
	.args = sim_args,
	.media = 1,
	.setup = setup,
	.teardown = teardown,
	.cases = cases,
	.n_cases = sizeof cases / sizeof cases[0],
};

int main(int argc, char **argv)
{
	return simtest_main(&suite, argc, argv);
}
