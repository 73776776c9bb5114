/* test_sim_pairing: wa-sim end to end with the waclient test client.
 *
 * One ./wa-sim (or $WA_SIM_BIN) on free loopback ports with a temporary
 * state directory (simtest_main()), then named cases: admin API basics,
 * handshake, QR pairing through POST /admin/phones/{n}/scan, the 515
 * restart and login, ping (plain and zlib-compressed), the 440 conflict, a
 * wrong root key, an unknown device, connection drop, persistence across a
 * restart, pairing by code, logout and device removal (401). `--list`
 * shows the cases, a name runs one (after the cases it needs). TAP via
 * tests/unit/tap.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../unit/tap.h"
#include "simtest.h"
#include "waclient.h"
#include "wa/crypto.h"
#include "wa/linkcode.h"
#include "wa_util.h"

#define T_MS 5000
#define PHONE "15551234567"

/* What the cases hand on to the ones that need them. */
static struct {
	int have_phone;                 /* PHONE exists (have_phone()) */
	struct waclient_creds cr;       /* device 1 (pair_by_qr) */
	struct waclient_creds cr2;      /* device 2 (pair_json_body) */
	struct waclient_creds cr4;      /* device 4 (pair_by_code) */
	struct waclient *c;             /* device 1 logged in (login_and_ping, then restart_persists) */
	struct waclient *c2;            /* device 1's replacing connection (conflict_replaced) */
	struct waclient *c4;            /* device 4 logged in (pair_by_code) */
} fx;

static long admin(struct simtest_ctx *t, const char *method, const char *path, const char *body, const char *ctype,
		  json_t **out)
{
	return simtest_ctx_admin(t, method, path, body, ctype, out);
}

/* Create PHONE unless a case did already (asserted once). */
static void have_phone(struct simtest_ctx *t)
{
	json_t *j = NULL;

	if (fx.have_phone)
		return;
	fx.have_phone = 1;
	is_int(admin(t, "POST", "/admin/phones", "{\"number\":\"" PHONE "\",\"pushName\":\"Alice\"}", NULL, &j), 201,
	       "create phone -> 201");
	json_decref(j);
}

/* Run a throwaway wa-sim with --seed on a fresh directory; return its root
 * key and the identity key + LID of a phone created there. */
static int seeded_run(const char *seed, char root[65], char ident[65], char lid[40])
{
	const char *const extra[] = { "--seed", seed, NULL };
	char dir[64] = "/tmp/wa-sim-seed-XXXXXX";
	int ws, adm, rc = -1;
	pid_t pid = -1;
	json_t *j = NULL;

	if (mkdtemp(dir) == NULL)
		return -1;
	if (simtest_ports(&ws, &adm, NULL) == 0 && simtest_start(dir, ws, adm, 0, extra, &pid, root) == 0 &&
	    simtest_admin_port(adm, "POST", "/admin/phones", "{\"number\":\"4915112345678\"}", NULL, &j) == 201) {
		snprintf(ident, 65, "%s", json_string_value(json_object_get(j, "identityKey")) ?: "");
		snprintf(lid, 40, "%s", json_string_value(json_object_get(j, "lid")) ?: "");
		rc = 0;
	}
	json_decref(j);
	simtest_stop(&pid);
	if (simtest_rmtree(dir) != 0)
		rc = -1;
	return rc;
}

/* waclient settings for t's wa-sim, trusting root (64 hex digits). */
static void config(struct simtest_ctx *t, struct waclient_config *cfg, const char *root)
{
	struct simtest_net net = t->net;

	snprintf(net.root_hex, sizeof net.root_hex, "%s", root);
	simtest_net_config(&net, cfg);
}

static int device_online(struct simtest_ctx *t, const char *number, int dev)
{
	json_t *j = NULL, *phones, *p, *d;
	size_t i, k;
	int online = -1;

	if (admin(t, "GET", "/admin/phones", NULL, NULL, &j) != 200)
		return -1;
	phones = json_object_get(j, "phones");
	json_array_foreach(phones, i, p) {
		if (strcmp(json_string_value(json_object_get(p, "number")), number) != 0)
			continue;
		json_array_foreach(json_object_get(p, "devices"), k, d)
			if (json_integer_value(json_object_get(d, "id")) == dev)
				online = json_is_true(json_object_get(d, "online"));
	}
	json_decref(j);
	return online;
}

static struct waclient *login(struct simtest_ctx *t, struct waclient_creds *cr, const char *root, int *rc_out,
			      int *reason)
{
	struct waclient_config cfg;
	struct waclient *c;
	int rc;

	config(t, &cfg, root);
	c = waclient_new(&cfg, cr);
	rc = waclient_connect(c, T_MS);
	if (rc == 0)
		rc = waclient_wait_success(c, T_MS, reason);
	*rc_out = rc;
	return c;
}

static void root_key(struct simtest_ctx *t)
{
	ok(strlen(t->net.root_hex) == 64, "GET /admin/root-key gives a 32-byte public key");
}

/* link-code vectors (docs/protocol.md 15.7), through wa/linkcode as wa-sim
 * and waclient use it (tests/unit/test_linkcode has the full KAT) */
static void linkcode_vectors(struct simtest_ctx *t)
{
	static const uint8_t five[5] = { 0x01, 0x23, 0x45, 0x67, 0x89 };
	uint8_t salt[32], iv[16], key[32], pub[32], wrapped[WA_LINKCODE_WRAPPED_LEN], back[32], want[80];
	char code[WA_LINKCODE_LEN + 1];

	for (int i = 0; i < 32; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 16; i++)
		iv[i] = (uint8_t)i;
	ok(wa_linkcode_generate(five, code) == 0, "link code from 5 bytes");
	is_str(code, "15JMBSWA", "link code of 0123456789");
	ok(wa_linkcode_key(code, salt, key) == 0 &&
	   wa_hex_decode("df330a65fa326b3181eaef35f250fc4681f30db3e8de02e04992c48b7dda488c", want, 32) == 0 &&
	   memcmp(key, want, 32) == 0, "PBKDF2 of the code");
	wa_hex_decode("a73a872bf1c390435717255da6799f9288fa6f869b1a0ec169c1e4d9ab03af44", pub, 32);
	wa_hex_decode("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f000102030405060708090a0b0c0d0e0f"
		      "b8a08e0e748bfbce007a7206ceaa0931c6387ca4ac8c7d9d397d94a237e2e4c3", want, 80);
	ok(wa_linkcode_wrap(code, salt, iv, pub, wrapped) == 0 && memcmp(wrapped, want, 80) == 0,
	   "wrapped companion ephemeral");
	ok(wa_linkcode_unwrap(code, wrapped, sizeof wrapped, back) == 0 && memcmp(back, pub, 32) == 0, "unwrap gives it back");
	ok(wa_linkcode_normalize("15jm-bswa", code) == 0 && strcmp(code, "15JMBSWA") == 0, "typed code normalised");
}

/* --seed: repeatable keys (three throwaway wa-sims of their own) */
static void seed_repeatable(struct simtest_ctx *t)
{
	char r1[65] = "", r2[65] = "", r3[65] = "", i1[65] = "", i2[65] = "", i3[65] = "";
	char l1[40] = "", l2[40] = "", l3[40] = "";

	ok(seeded_run("42", r1, i1, l1) == 0 && seeded_run("42", r2, i2, l2) == 0 &&
	   seeded_run("43", r3, i3, l3) == 0, "three seeded runs");
	ok(strlen(r1) == 64 && strcmp(r1, r2) == 0, "same seed, same root key");
	ok(strcmp(i1, i2) == 0 && strcmp(l1, l2) == 0, "same seed, same phone identity and LID");
	ok(strcmp(r1, r3) != 0 && strcmp(i1, i3) != 0, "another seed, other keys");
}

static void admin_api(struct simtest_ctx *t)
{
	have_phone(t);
	is_int(admin(t, "POST", "/admin/phones", "{\"number\":\"" PHONE "\"}", NULL, NULL), 409, "duplicate phone -> 409");
	is_int(admin(t, "POST", "/admin/phones", "{\"number\":\"12ab\"}", NULL, NULL), 400, "bad number -> 400");
	is_int(admin(t, "POST", "/admin/phones", "not json", NULL, NULL), 400, "bad body -> 400");
	is_int(admin(t, "POST", "/admin/phones/" PHONE "/scan", "garbage", "text/plain", NULL), 400, "bad qr -> 400");
	is_int(admin(t, "POST", "/admin/phones/19999999999/scan", "x", "text/plain", NULL), 404,
	       "scan by unknown phone -> 404");
	is_int(admin(t, "GET", "/admin/nothing", NULL, NULL, NULL), 404, "unknown route -> 404");
}

static void pair_by_qr(struct simtest_ctx *t)
{
	struct waclient_config cfg;
	struct waclient *c;
	json_t *j = NULL;
	char jid[128] = "", qr[512], other[512];

	have_phone(t);
	ok(waclient_creds_generate(&fx.cr) == 0, "companion keys generated");
	config(t, &cfg, t->net.root_hex);
	c = waclient_new(&cfg, &fx.cr);
	ok(c != NULL, "client created");
	is_int(waclient_connect(c, T_MS), 0, "handshake with the registration payload");
	is_int(waclient_pair_qr(c, 0, T_MS, qr, sizeof qr), 0, "pair-device received, QR built");
	ok(strncmp(qr, "https://wa.me/settings/linked_devices#2@", 40) == 0, "QR string has the linked-devices form");
	is_int(waclient_ping(c, T_MS), 0, "ping answered on the registration connection");
	/* a QR whose keys are not the connection's is refused */
	snprintf(other, sizeof other, "%s", qr);
	other[strlen(other) - 3] ^= 1;
	ok(admin(t, "POST", "/admin/phones/" PHONE "/scan", other, "text/plain", NULL) >= 400,
	   "QR with altered adv secret / keys refused or rejected");
	is_int(admin(t, "POST", "/admin/phones/" PHONE "/scan", qr, "text/plain", &j), 200, "phone scans the QR");
	snprintf(jid, sizeof jid, "%s", json_string_value(json_object_get(j, "jid")) ?: "");
	json_decref(j);
	is_str(jid, PHONE ":1@s.whatsapp.net", "offered device jid is <number>:1");
	is_int(admin(t, "POST", "/admin/phones/" PHONE "/scan", qr, "text/plain", NULL), 409,
	       "second scan of the same QR -> 409");
	is_int(waclient_pair_finish(c, T_MS), 0, "pair-success verified, pair-device-sign sent, 515 received");
	ok(fx.cr.paired && fx.cr.device == 1 && strcmp(fx.cr.phone, PHONE) == 0, "credentials record the device jid");
	ok(fx.cr.account_len > 0, "account identity stored");
	waclient_free(c);
}

/* device 1 logs in; its connection stays open (fx.c) */
static void login_and_ping(struct simtest_ctx *t)
{
	struct wa_node *n = NULL, *p, *q, *r = NULL;
	int rc, reason;

	fx.c = login(t, &fx.cr, t->net.root_hex, &rc, &reason);
	is_int(rc, 0, "paired device logs in and gets <success>");
	is_int(waclient_ping(fx.c, T_MS), 0, "keepalive ping answered");
	p = wa_node_new("iq");
	wa_node_set_attr(p, "xmlns", "w:p");
	wa_node_set_attr(p, "type", "get");
	wa_node_set_attr(p, "id", "zping-1");
	wa_node_set_attr(p, "to", "s.whatsapp.net");
	is_int(waclient_send_compressed(fx.c, p), 0, "compressed ping sent");
	ok(waclient_recv_tag(fx.c, "iq", T_MS, &r) == 0 && wa_node_attr_is(r, "id", "zping-1") &&
	   wa_node_attr_is(r, "type", "result"), "zlib-compressed frame accepted and answered");
	wa_node_free(r);
	wa_node_free(p);
	r = NULL;
	q = wa_node_new("iq");
	wa_node_set_attr(q, "xmlns", "nope:unknown");
	wa_node_set_attr(q, "type", "get");
	wa_node_add_new(q, "thing");
	ok(waclient_iq(fx.c, q, T_MS, &r) == 0 && wa_node_attr_is(r, "type", "error"), "unknown IQ answered with type=error");
	wa_node_free(r);
	wa_node_free(q);
	ok(waclient_recv_tag(fx.c, "ib", T_MS, &n) == 0 && wa_node_child(n, "offline") != NULL,
	   "<ib><offline count/></ib> after success");
	wa_node_free(n);
	is_int(device_online(t, PHONE, 1), 1, "GET /admin/phones shows the device online");
}

/* conflict: the same device connects again; fx.c2 replaces fx.c */
static void conflict_replaced(struct simtest_ctx *t)
{
	struct wa_node *n = NULL, *ch;
	int rc, reason;

	fx.c2 = login(t, &fx.cr, t->net.root_hex, &rc, &reason);
	is_int(rc, 0, "second connection of the same device logs in");
	rc = waclient_recv_tag(fx.c, "stream:error", T_MS, &n);
	ch = n ? wa_node_child(n, "conflict") : NULL;
	ok(rc == 0 && ch && wa_node_attr_is(ch, "type", "replaced"), "old connection gets <conflict type=replaced/> (440)");
	wa_node_free(n);
	n = NULL;
	ok(waclient_recv(fx.c, T_MS, &n) == WACLIENT_ECLOSED, "old connection is closed by the server");
	waclient_free(fx.c);
	fx.c = NULL;
	is_int(waclient_ping(fx.c2, T_MS), 0, "new connection still works");
}

/* fault injection: delay (on fx.c2) */
static void fault_delay(struct simtest_ctx *t)
{
	long long t0;
	struct timespec ts;
	json_t *j = NULL;

	is_int(admin(t, "POST", "/admin/connections/delay", "{\"ms\": 300, \"jid\": \"" PHONE ":1@s.whatsapp.net\"}", NULL,
		     &j), 200, "delay the device's connection by 300 ms");
	ok(json_integer_value(json_object_get(j, "delayed")) == 1, "one connection delayed");
	json_decref(j);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	is_int(waclient_ping(fx.c2, T_MS), 0, "ping answered through the delay");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ok((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t0 >= 290, "answer held for the delay");
	ok(admin(t, "GET", "/admin/connections", NULL, NULL, &j) == 200 &&
	   json_array_size(json_object_get(j, "connections")) >= 1, "GET /admin/connections lists it");
	json_decref(j);
	is_int(admin(t, "POST", "/admin/connections/delay", "{\"ms\": 0}", NULL, NULL), 200, "delay off");
	is_int(admin(t, "POST", "/admin/connections/delay", "{\"ms\": -1}", NULL, NULL), 400, "bad delay -> 400");
}

/* fault injection: drop (fx.c2 is closed by the server) */
static void fault_drop(struct simtest_ctx *t)
{
	struct wa_node *n = NULL;
	json_t *j = NULL;
	int rc;

	is_int(admin(t, "POST", "/admin/connections/drop", "{\"jid\":\"" PHONE ":1@s.whatsapp.net\"}", NULL, &j), 200,
	       "drop the device's connection");
	ok(json_integer_value(json_object_get(j, "dropped")) == 1, "one connection dropped");
	json_decref(j);
	while ((rc = waclient_recv(fx.c2, T_MS, &n)) == 0) {
		wa_node_free(n); /* <ib> of the login, still queued */
		n = NULL;
	}
	is_int(rc, WACLIENT_ECLOSED, "client sees the connection close");
	waclient_free(fx.c2);
	fx.c2 = NULL;
}

/* Take what c still has queued until the connection is gone; the last
 * waclient_recv() result (WACLIENT_ECLOSED once closed). */
static int drain_until_closed(struct waclient *c)
{
	struct wa_node *n = NULL;
	int rc = 0;

	for (int i = 0; i < 64 && (rc = waclient_recv(c, T_MS, &n)) == 0; i++) {
		wa_node_free(n);
		n = NULL;
	}
	return rc;
}

/* POST /admin/connections/send-raw as the body says; 1 when it answered
 * 200 with "sent" and the byte count. */
static int send_raw_ok(struct simtest_ctx *t, const char *body, long long bytes, int encrypted)
{
	json_t *j = NULL;
	int good = admin(t, "POST", "/admin/connections/send-raw", body, NULL, &j) == 200 &&
		   json_is_true(json_object_get(j, "sent")) &&
		   json_integer_value(json_object_get(j, "bytes")) == bytes &&
		   json_is_true(json_object_get(j, "encrypted")) == encrypted;

	json_decref(j);
	return good;
}

/* fault injection: hostile bytes to one client (an undecodable frame over
 * Noise, then bytes outside the framing); that client fails and closes,
 * wa-sim goes on serving the others */
static void send_raw(struct simtest_ctx *t)
{
	struct waclient_config cfg;
	struct waclient_creds other;
	struct waclient *bystander, *v;
	char qr[512];
	int rc, reason;

	config(t, &cfg, t->net.root_hex);
	ok(waclient_creds_generate(&other) == 0, "bystander keys generated");
	bystander = waclient_new(&cfg, &other);
	is_int(waclient_connect(bystander, T_MS), 0, "a bystander connection is open (registration)");
	is_int(waclient_pair_qr(bystander, 0, T_MS, qr, sizeof qr), 0, "the bystander got its pair-device");
	is_int(admin(t, "POST", "/admin/connections/send-raw", "{\"hex\":\"00\"}", NULL, NULL), 400,
	       "send-raw without jid or id -> 400");
	is_int(admin(t, "POST", "/admin/connections/send-raw", "{\"jid\":\"" PHONE ":1@s.whatsapp.net\",\"hex\":\"0g\"}",
		     NULL, NULL), 400, "send-raw with bad hex -> 400");
	is_int(admin(t, "POST", "/admin/connections/send-raw", "{\"jid\":\"" PHONE ":9@s.whatsapp.net\",\"hex\":\"00\"}",
		     NULL, NULL), 404, "send-raw to a device that is not connected -> 404");
	is_int(admin(t, "POST", "/admin/connections/send-raw", "{\"id\":999999,\"hex\":\"00\"}", NULL, NULL), 404,
	       "send-raw to an unknown connection id -> 404");

	v = login(t, &fx.cr, t->net.root_hex, &rc, &reason);
	is_int(rc, 0, "device 1 logs in");
	/* flag 0, then a list8 header that promises two items and ends */
	ok(send_raw_ok(t, "{\"jid\":\"" PHONE ":1@s.whatsapp.net\",\"hex\":\"00f802\"}", 3, 1),
	   "send-raw encrypted: an undecodable node as one Noise frame -> 200");
	is_int(drain_until_closed(v), WACLIENT_ECLOSED, "the client refuses the frame and its connection closes");
	waclient_free(v);
	is_int(waclient_ping(bystander, T_MS), 0, "wa-sim still serves the bystander");

	v = login(t, &fx.cr, t->net.root_hex, &rc, &reason);
	is_int(rc, 0, "device 1 logs in again");
	is_int(waclient_ping(v, T_MS), 0, "and is served");
	/* behind the injected delay the raw bytes wait their turn like frames */
	is_int(admin(t, "POST", "/admin/connections/delay", "{\"ms\": 1000, \"jid\": \"" PHONE ":1@s.whatsapp.net\"}", NULL,
		     NULL), 200, "delay device 1's connection by 1 s");
	/* a whole frame (length 10) of bytes that are no Noise ciphertext */
	ok(send_raw_ok(t, "{\"jid\":\"" PHONE "\",\"hex\":\"00000a00112233445566778899\",\"encrypted\":false}", 13, 0),
	   "send-raw unencrypted to the phone's only companion: bytes outside Noise -> 200");
	is_int(admin(t, "POST", "/admin/connections/send-raw", "{\"jid\":\"" PHONE "\",\"hex\":\"00\",\"encrypted\":false}",
		     NULL, NULL), 409, "a second raw message while the first waits -> 409");
	is_int(drain_until_closed(v), WACLIENT_ECLOSED, "the client fails to decrypt them and its connection closes");
	waclient_free(v);
	is_int(waclient_ping(bystander, T_MS), 0, "wa-sim still serves the bystander");
	v = login(t, &fx.cr, t->net.root_hex, &rc, &reason);
	is_int(rc == 0 ? waclient_ping(v, T_MS) : rc, 0, "device 1 logs in and is served once more");
	waclient_free(v);
	waclient_free(bystander);
}

static void wrong_root_key(struct simtest_ctx *t)
{
	struct waclient_config wc;
	struct waclient *c;
	char wrong[65];

	snprintf(wrong, sizeof wrong, "%s", t->net.root_hex);
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	config(t, &wc, wrong);
	c = waclient_new(&wc, &fx.cr);
	is_int(waclient_connect(c, T_MS), WACLIENT_ECERT, "handshake fails against a wrong root key");
	is_int(waclient_cert_error(c), WA_CERT_EROOTSIG, "reason: intermediate not signed by the root");
	waclient_free(c);
}

static void unknown_device(struct simtest_ctx *t)
{
	struct waclient_creds bogus = fx.cr;
	struct waclient *c;
	int rc, reason;

	bogus.device = 42;
	c = login(t, &bogus, t->net.root_hex, &rc, &reason);
	ok(rc == WACLIENT_EPROTO && reason == 401, "unknown device gets <failure reason=401/>");
	waclient_free(c);
	bogus = fx.cr;
	wa_x25519_keypair(bogus.noise_priv, bogus.noise_pub);
	c = login(t, &bogus, t->net.root_hex, &rc, &reason);
	ok(rc == WACLIENT_EPROTO && reason == 401, "paired device with another noise key gets 401");
	waclient_free(c);
}

/* a second companion, scanned with a JSON body {"qr": ...} */
static void pair_json_body(struct simtest_ctx *t)
{
	struct waclient_config cfg;
	struct waclient *c;
	char hp[32];
	json_t *j = NULL;

	ok(waclient_creds_generate(&fx.cr2) == 0, "second companion keys");
	config(t, &cfg, t->net.root_hex);
	c = waclient_new(&cfg, &fx.cr2);
	snprintf(hp, sizeof hp, "127.0.0.1:%d", t->net.admin_port);
	is_int(c ? simtest_pair_scan(c, hp, PHONE, T_MS, &j) : -1, 0, "second companion paired via {\"qr\": ...}");
	is_str(json_string_value(json_object_get(j, "jid")), PHONE ":2@s.whatsapp.net", "second device gets slot 2");
	json_decref(j);
	waclient_free(c);
}

/* restart: state persists; wa-sim comes back with 1 s QR refs and every
 * stanza compressed, device 1 logged in again (fx.c) */
static void restart_persists(struct simtest_ctx *t)
{
	static const char *const args[] = { "--qr-timeouts", "1,1", "--compress-min", "1", NULL };
	char root_before[65];
	int rc, reason;

	snprintf(root_before, sizeof root_before, "%s", t->net.root_hex);
	is_int(simtest_ctx_stop(t), 0, "wa-sim exits cleanly on SIGTERM");
	ok(simtest_ctx_start(t, args) == 0,
	   "wa-sim restarts on the same state directory (refs 1 s + 1 s, every stanza compressed)");
	is_str(t->net.root_hex, root_before, "root key persists");
	fx.c = login(t, &fx.cr, t->net.root_hex, &rc, &reason);
	is_int(rc, 0, "device 1 logs in after the restart");
	is_int(device_online(t, PHONE, 1), 1, "listed online after restart");
}

/* ref rotation (4.2): ref 0 lives 1 s, ref 5 lives 1 + 5 s */
static void qr_ref_rotation(struct simtest_ctx *t)
{
	struct waclient_config cfg;
	struct waclient_creds cr3;
	struct waclient *c3;
	char qr[512], qr5[512];
	json_t *j = NULL;

	waclient_creds_generate(&cr3);
	config(t, &cfg, t->net.root_hex);
	c3 = waclient_new(&cfg, &cr3);
	ok(waclient_connect(c3, T_MS) == 0 && waclient_pair_qr(c3, 0, T_MS, qr, sizeof qr) == 0 &&
	   waclient_pair_qr(c3, 5, T_MS, qr5, sizeof qr5) == 0, "third companion shows refs 0 and 5");
	usleep(2200 * 1000);
	is_int(admin(t, "POST", "/admin/phones/" PHONE "/scan", qr, "text/plain", NULL), 410, "expired ref 0 -> 410");
	is_int(admin(t, "POST", "/admin/phones/" PHONE "/scan", qr5, "text/plain", &j), 200, "ref 5 still valid");
	json_decref(j);
	is_int(waclient_pair_finish(c3, T_MS), 0, "third companion paired with a later ref");
	ok(cr3.device == 3, "slot 3");
	waclient_free(c3);
}

/* pairing by phone-number code (4.5); device 4 stays logged in (fx.c4) */
static void pair_by_code(struct simtest_ctx *t)
{
	struct waclient_config cfg;
	struct waclient *c4;
	char code[10];
	json_t *o;
	char *body;
	int rc, reason;

	is_int(admin(t, "POST", "/admin/phones/" PHONE "/link-code", "ABCD-EFGH", "text/plain", NULL), 404,
	       "link code with no waiting companion -> 404");
	waclient_creds_generate(&fx.cr4);
	config(t, &cfg, t->net.root_hex);
	c4 = waclient_new(&cfg, &fx.cr4);
	ok(waclient_connect(c4, T_MS) == 0 && waclient_pair_code(c4, PHONE, T_MS, code) == 0,
	   "companion_hello answered with a pairing ref");
	ok(strlen(code) == 9 && code[4] == '-', "code shown as XXXX-XXXX");
	is_int(admin(t, "POST", "/admin/phones/" PHONE "/link-code", "0OIL-0OIL", "text/plain", NULL), 400,
	       "code outside the alphabet -> 400");
	o = json_pack("{s:s}", "code", code);
	body = json_dumps(o, 0);
	is_int(admin(t, "POST", "/admin/phones/" PHONE "/link-code", body, "application/json", NULL), 200,
	       "phone user types the code");
	free(body);
	json_decref(o);
	is_int(waclient_pair_code_finish(c4, T_MS), 0, "notification handled, key bundle accepted");
	is_int(waclient_pair_finish(c4, T_MS), 0, "pair-success verified with the derived adv secret, 515");
	ok(fx.cr4.paired && fx.cr4.device == 4, "link-code companion is device 4");
	waclient_free(c4);
	fx.c4 = login(t, &fx.cr4, t->net.root_hex, &rc, &reason);
	is_int(rc, 0, "link-code companion logs in");
}

/* the companion logs itself out (11.10) */
static void logout_self(struct simtest_ctx *t)
{
	struct wa_node *r = NULL, *lo;
	char own[64];
	int rc, reason;

	lo = wa_node_new_attrs("iq", "xmlns", "md", "type", "set", NULL);
	wa_node_add_child(lo, wa_node_new_attrs("remove-companion-device", "jid", PHONE ":2@s.whatsapp.net", "reason",
						"user_initiated", NULL));
	ok(waclient_iq(fx.c4, lo, T_MS, &r) == 0 && wa_node_attr_is(r, "type", "error") &&
		   wa_node_attr_is(wa_node_child(r, "error"), "code", "403"),
	   "logout naming another device -> 403");
	wa_node_free(lo);
	wa_node_free(r);
	r = NULL;
	snprintf(own, sizeof own, "%s:%u@s.whatsapp.net", PHONE, (unsigned)fx.cr4.device);
	lo = wa_node_new_attrs("iq", "xmlns", "md", "type", "set", NULL);
	wa_node_add_child(lo, wa_node_new_attrs("remove-companion-device", "jid", own, "reason", "user_initiated", NULL));
	ok(waclient_iq(fx.c4, lo, T_MS, &r) == 0 && wa_node_attr_is(r, "type", "result"),
	   "remove-companion-device with the own JID -> result");
	wa_node_free(lo);
	wa_node_free(r);
	r = NULL;
	rc = waclient_recv_tag(fx.c4, "stream:error", T_MS, &r);
	ok(rc == 0 && wa_node_attr_is(r, "code", "401") &&
		   wa_node_attr_is(wa_node_child(r, "conflict"), "type", "device_removed"),
	   "then <stream:error code=401><conflict type=device_removed/>");
	wa_node_free(r);
	waclient_free(fx.c4);
	fx.c4 = login(t, &fx.cr4, t->net.root_hex, &rc, &reason);
	ok(rc == WACLIENT_EPROTO && reason == 401, "a logged-out companion can no longer log in");
	waclient_free(fx.c4);
	fx.c4 = NULL;
}

static void pair_by_code_mistyped(struct simtest_ctx *t)
{
	struct waclient_config cfg;
	struct waclient_creds cr5;
	struct waclient *c5;
	char code[10], wrong_code[10];

	have_phone(t);
	waclient_creds_generate(&cr5);
	config(t, &cfg, t->net.root_hex);
	c5 = waclient_new(&cfg, &cr5);
	ok(waclient_connect(c5, T_MS) == 0 && waclient_pair_code(c5, PHONE, T_MS, code) == 0,
	   "another companion asks for a code");
	snprintf(wrong_code, sizeof wrong_code, "%s", code);
	wrong_code[0] = wrong_code[0] == '2' ? '3' : '2';
	is_int(admin(t, "POST", "/admin/phones/" PHONE "/link-code", wrong_code, "text/plain", NULL), 200,
	       "phone accepts a mistyped code (it cannot tell yet)");
	is_int(waclient_pair_code_finish(c5, T_MS), WACLIENT_EVERIFY, "mistyped code: pairing fails");
	waclient_free(c5);
}

/* the phone removes device 1 (logged in on fx.c since the restart) */
static void remove_device(struct simtest_ctx *t)
{
	struct wa_node *n = NULL, *ch;
	struct waclient *c;
	int rc, reason;

	is_int(admin(t, "POST", "/admin/phones/" PHONE "/devices/1/remove", "", "application/json", NULL), 200,
	       "remove device 1");
	rc = waclient_recv_tag(fx.c, "stream:error", T_MS, &n);
	ch = n ? wa_node_child(n, "conflict") : NULL;
	ok(rc == 0 && wa_node_attr_is(n, "code", "401") && ch && wa_node_attr_is(ch, "type", "device_removed"),
	   "connection gets <stream:error code=401><conflict type=device_removed/>");
	wa_node_free(n);
	waclient_free(fx.c);
	fx.c = NULL;
	c = login(t, &fx.cr, t->net.root_hex, &rc, &reason);
	ok(rc == WACLIENT_EPROTO && reason == 401, "removed device can no longer log in");
	waclient_free(c);
	is_int(admin(t, "POST", "/admin/phones/" PHONE "/devices/1/remove", "", "application/json", NULL), 404,
	       "removing it again -> 404");
	c = login(t, &fx.cr2, t->net.root_hex, &rc, &reason);
	is_int(rc, 0, "device 2 unaffected");
	waclient_free(c);
}

static void reset(struct simtest_ctx *t)
{
	json_t *j = NULL;

	is_int(admin(t, "POST", "/admin/reset", "", "application/json", NULL), 200, "reset");
	ok(admin(t, "GET", "/admin/phones", NULL, NULL, &j) == 200 && json_array_size(json_object_get(j, "phones")) == 0,
	   "no phones after reset");
	json_decref(j);
	fx.have_phone = 0;
}

static void teardown(struct simtest_ctx *t)
{
	waclient_free(fx.c);
	waclient_free(fx.c2);
	waclient_free(fx.c4);
}

static const struct simtest_case cases[] = {
	{ "root_key", root_key, NULL },
	{ "linkcode_vectors", linkcode_vectors, NULL },
	{ "seed_repeatable", seed_repeatable, NULL },
	{ "admin_api", admin_api, NULL },
	{ "pair_by_qr", pair_by_qr, NULL },
	{ "login_and_ping", login_and_ping, "pair_by_qr" },
	{ "conflict_replaced", conflict_replaced, "login_and_ping" },
	{ "fault_delay", fault_delay, "conflict_replaced" },
	{ "fault_drop", fault_drop, "conflict_replaced" },
	{ "send_raw", send_raw, "pair_by_qr" },
	{ "wrong_root_key", wrong_root_key, "pair_by_qr" },
	{ "unknown_device", unknown_device, "pair_by_qr" },
	{ "pair_json_body", pair_json_body, "pair_by_qr" },
	{ "restart_persists", restart_persists, "pair_by_qr" },
	{ "qr_ref_rotation", qr_ref_rotation, "pair_json_body restart_persists" },
	{ "pair_by_code", pair_by_code, "qr_ref_rotation" },
	{ "logout_self", logout_self, "pair_by_code" },
	{ "pair_by_code_mistyped", pair_by_code_mistyped, NULL },
	{ "remove_device", remove_device, "pair_json_body restart_persists" },
	{ "reset", reset, NULL },
};

static const struct simtest_suite suite = {
	.name = "test_sim_pairing",
	.teardown = teardown,
	.cases = cases,
	.n_cases = sizeof cases / sizeof cases[0],
};

int main(int argc, char **argv)
{
	return simtest_main(&suite, argc, argv);
}
