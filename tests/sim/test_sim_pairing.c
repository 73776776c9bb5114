/* test_sim_pairing: wa-sim end to end with the waclient test client.
 *
 * Starts ./wa-sim (or $WA_SIM_BIN) as a child on free loopback ports with a
 * temporary state directory, then: admin API basics, handshake, QR pairing
 * through POST /admin/phones/{n}/scan, the 515 restart and login, ping
 * (plain and zlib-compressed), the 440 conflict, a wrong root key, an
 * unknown device, connection drop, persistence across a restart, and
 * device removal (401). TAP via tests/unit/tap.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libwebsockets.h>

#include "../unit/tap.h"
#include "simtest.h"
#include "waclient.h"
#include "wa/crypto.h"
#include "wa/linkcode.h"
#include "wa_util.h"

#define T_MS 5000
#define PHONE "15551234567"

static char state_dir[256];
static int ws_port, admin_port;
static pid_t sim_pid = -1;
static char root_hex[65];

/* One admin request; returns the HTTP status (0 on transport failure) and
 * the parsed JSON answer in *out (may be NULL). */
static long admin(const char *method, const char *path, const char *body, const char *ctype, json_t **out)
{
	return simtest_admin_port(admin_port, method, path, body, ctype, out);
}

static int free_port(void)
{
	return simtest_free_port();
}

static int start_sim(const char *extra1, const char *extra2, const char *extra3, const char *extra4)
{
	const char *const extra[] = { extra1, extra2, extra3, extra4, NULL };

	return simtest_start(state_dir, ws_port, admin_port, 0, extra, &sim_pid, root_hex);
}

/* Stop the child; returns its exit status (sanitizer reports make it
 * non-zero), or -1 if it died by a signal / was not running. */
static int stop_sim(void)
{
	return simtest_stop(&sim_pid);
}

/* Run a throwaway wa-sim with --seed on a fresh directory; return its root
 * key and the identity key + LID of a phone created there. */
static int seeded_run(const char *seed, char root[65], char ident[65], char lid[40])
{
	const char *bin = getenv("WA_SIM_BIN");
	char dir[64] = "/tmp/wa-sim-seed-XXXXXX", l[64], ad[64], logp[128], cmd[128];
	int save_admin = admin_port, port_ws = free_port(), rc = -1, st;
	json_t *j = NULL;
	pid_t pid;

	if (bin == NULL)
		bin = "./wa-sim";
	if (mkdtemp(dir) == NULL)
		return -1;
	admin_port = free_port();
	snprintf(l, sizeof l, "127.0.0.1:%d", port_ws);
	snprintf(ad, sizeof ad, "127.0.0.1:%d", admin_port);
	snprintf(logp, sizeof logp, "%s/wa-sim.log", dir);
	pid = fork();
	if (pid == 0) {
		FILE *f = freopen(logp, "a", stdout);

		(void)f;
		dup2(1, 2);
		execl(bin, bin, "--listen", l, "--admin", ad, "--state", dir, "--seed", seed, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 100 && rc != 0; i++) {
		if (admin("GET", "/admin/root-key", NULL, NULL, &j) == 200) {
			snprintf(root, 65, "%s", json_string_value(json_object_get(j, "publicKey")) ?: "");
			rc = 0;
		} else {
			usleep(50000);
		}
		json_decref(j);
		j = NULL;
	}
	if (rc == 0 && admin("POST", "/admin/phones", "{\"number\":\"4915112345678\"}", NULL, &j) == 201) {
		snprintf(ident, 65, "%s", json_string_value(json_object_get(j, "identityKey")) ?: "");
		snprintf(lid, 40, "%s", json_string_value(json_object_get(j, "lid")) ?: "");
	} else {
		rc = -1;
	}
	json_decref(j);
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &st, 0);
	}
	admin_port = save_admin;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = -1;
	return rc;
}

static void config(struct waclient_config *cfg, const char *root)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->host = "127.0.0.1";
	cfg->port = ws_port;
	cfg->trust.issuer_serial = 0;
	wa_hex_decode(root, cfg->trust.root_pub, 32);
	cfg->os = "test_sim_pairing";
	cfg->platform_id = '1';
}

static int device_online(const char *number, int dev)
{
	json_t *j = NULL, *phones, *p, *d;
	size_t i, k;
	int online = -1;

	if (admin("GET", "/admin/phones", NULL, NULL, &j) != 200)
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

/* Pair creds through a fresh connection; scan with the given body style. */
static int pair(struct waclient_creds *cr, int json_body, char *jid_out, size_t cap)
{
	struct waclient_config cfg;
	struct waclient *c;
	char qr[512], body[700];
	json_t *j = NULL;
	long st;
	int rc = -1;

	config(&cfg, root_hex);
	c = waclient_new(&cfg, cr);
	if (c == NULL)
		return -1;
	if (waclient_connect(c, T_MS) != 0 || waclient_pair_qr(c, 0, T_MS, qr, sizeof qr) != 0)
		goto out;
	if (json_body) {
		json_t *o = json_pack("{s:s}", "qr", qr);
		char *s = json_dumps(o, 0);

		snprintf(body, sizeof body, "%s", s);
		free(s);
		json_decref(o);
		st = admin("POST", "/admin/phones/" PHONE "/scan", body, "application/json", &j);
	} else {
		st = admin("POST", "/admin/phones/" PHONE "/scan", qr, "text/plain", &j);
	}
	if (st != 200)
		goto out;
	if (jid_out)
		snprintf(jid_out, cap, "%s", json_string_value(json_object_get(j, "jid")));
	if (waclient_pair_finish(c, T_MS) != 0)
		goto out;
	rc = 0;
out:
	json_decref(j);
	waclient_free(c);
	return rc;
}

static struct waclient *login(struct waclient_creds *cr, const char *root, int *rc_out, int *reason)
{
	struct waclient_config cfg;
	struct waclient *c;
	int rc;

	config(&cfg, root);
	c = waclient_new(&cfg, cr);
	rc = waclient_connect(c, T_MS);
	if (rc == 0)
		rc = waclient_wait_success(c, T_MS, reason);
	*rc_out = rc;
	return c;
}

int main(void)
{
	struct waclient_creds cr, cr2, bogus;
	struct waclient_config cfg;
	struct waclient *c, *c2;
	struct wa_node *n = NULL, *ch;
	json_t *j = NULL;
	char jid[128] = "", qr[512], root_before[65], wrong[65];
	int rc, reason;

	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(LLL_ERR, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(state_dir, sizeof state_dir, "/tmp/wa-sim-test-XXXXXX");
	if (mkdtemp(state_dir) == NULL)
		tap_bail("no temporary directory");
	if (simtest_ports(&ws_port, &admin_port, NULL) != 0 || start_sim(NULL, NULL, NULL, NULL) != 0) {
		stop_sim();
		tap_bail("cannot start wa-sim (set WA_SIM_BIN or run from the build directory); its log is in the state directory");
	}
	ok(strlen(root_hex) == 64, "GET /admin/root-key gives a 32-byte public key");

	/* link-code vectors (PROTOCOL.md 15.7), through wa/linkcode as wa-sim
	 * and waclient use it (tests/unit/test_linkcode has the full KAT) */
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

	/* --seed: repeatable keys */
	{
		char r1[65] = "", r2[65] = "", r3[65] = "", i1[65] = "", i2[65] = "", i3[65] = "";
		char l1[40] = "", l2[40] = "", l3[40] = "";

		ok(seeded_run("42", r1, i1, l1) == 0 && seeded_run("42", r2, i2, l2) == 0 &&
		   seeded_run("43", r3, i3, l3) == 0, "three seeded runs");
		ok(strlen(r1) == 64 && strcmp(r1, r2) == 0, "same seed, same root key");
		ok(strcmp(i1, i2) == 0 && strcmp(l1, l2) == 0, "same seed, same phone identity and LID");
		ok(strcmp(r1, r3) != 0 && strcmp(i1, i3) != 0, "another seed, other keys");
	}

	/* admin API basics */
	is_int(admin("POST", "/admin/phones", "{\"number\":\"" PHONE "\",\"pushName\":\"Alice\"}", NULL, &j), 201,
	       "create phone -> 201");
	json_decref(j);
	is_int(admin("POST", "/admin/phones", "{\"number\":\"" PHONE "\"}", NULL, NULL), 409, "duplicate phone -> 409");
	is_int(admin("POST", "/admin/phones", "{\"number\":\"12ab\"}", NULL, NULL), 400, "bad number -> 400");
	is_int(admin("POST", "/admin/phones", "not json", NULL, NULL), 400, "bad body -> 400");
	is_int(admin("POST", "/admin/phones/" PHONE "/scan", "garbage", "text/plain", NULL), 400, "bad qr -> 400");
	is_int(admin("POST", "/admin/phones/19999999999/scan", "x", "text/plain", NULL), 404, "scan by unknown phone -> 404");
	is_int(admin("GET", "/admin/nothing", NULL, NULL, NULL), 404, "unknown route -> 404");

	/* pairing */
	ok(waclient_creds_generate(&cr) == 0, "companion keys generated");
	config(&cfg, root_hex);
	c = waclient_new(&cfg, &cr);
	ok(c != NULL, "client created");
	is_int(waclient_connect(c, T_MS), 0, "handshake with the registration payload");
	is_int(waclient_pair_qr(c, 0, T_MS, qr, sizeof qr), 0, "pair-device received, QR built");
	ok(strncmp(qr, "https://wa.me/settings/linked_devices#2@", 40) == 0, "QR string has the linked-devices form");
	is_int(waclient_ping(c, T_MS), 0, "ping answered on the registration connection");
	{
		char other[512];

		/* a QR whose keys are not the connection's is refused */
		snprintf(other, sizeof other, "%s", qr);
		other[strlen(other) - 3] ^= 1;
		ok(admin("POST", "/admin/phones/" PHONE "/scan", other, "text/plain", NULL) >= 400,
		   "QR with altered adv secret / keys refused or rejected");
	}
	is_int(admin("POST", "/admin/phones/" PHONE "/scan", qr, "text/plain", &j), 200, "phone scans the QR");
	snprintf(jid, sizeof jid, "%s", json_string_value(json_object_get(j, "jid")) ?: "");
	json_decref(j);
	is_str(jid, PHONE ":1@s.whatsapp.net", "offered device jid is <number>:1");
	is_int(admin("POST", "/admin/phones/" PHONE "/scan", qr, "text/plain", NULL), 409, "second scan of the same QR -> 409");
	is_int(waclient_pair_finish(c, T_MS), 0, "pair-success verified, pair-device-sign sent, 515 received");
	ok(cr.paired && cr.device == 1 && strcmp(cr.phone, PHONE) == 0, "credentials record the device jid");
	ok(cr.account_len > 0, "account identity stored");
	waclient_free(c);

	/* login */
	c = login(&cr, root_hex, &rc, &reason);
	is_int(rc, 0, "paired device logs in and gets <success>");
	is_int(waclient_ping(c, T_MS), 0, "keepalive ping answered");
	{
		struct wa_node *p = wa_node_new("iq"), *r = NULL;

		wa_node_set_attr(p, "xmlns", "w:p");
		wa_node_set_attr(p, "type", "get");
		wa_node_set_attr(p, "id", "zping-1");
		wa_node_set_attr(p, "to", "s.whatsapp.net");
		is_int(waclient_send_compressed(c, p), 0, "compressed ping sent");
		ok(waclient_recv_tag(c, "iq", T_MS, &r) == 0 && wa_node_attr_is(r, "id", "zping-1") &&
		   wa_node_attr_is(r, "type", "result"), "zlib-compressed frame accepted and answered");
		wa_node_free(r);
		wa_node_free(p);
	}
	{
		struct wa_node *q = wa_node_new("iq"), *r = NULL;

		wa_node_set_attr(q, "xmlns", "nope:unknown");
		wa_node_set_attr(q, "type", "get");
		wa_node_add_new(q, "thing");
		ok(waclient_iq(c, q, T_MS, &r) == 0 && wa_node_attr_is(r, "type", "error"),
		   "unknown IQ answered with type=error");
		wa_node_free(r);
		wa_node_free(q);
	}
	ok(waclient_recv_tag(c, "ib", T_MS, &n) == 0 && wa_node_child(n, "offline") != NULL,
	   "<ib><offline count/></ib> after success");
	wa_node_free(n);
	n = NULL;
	is_int(device_online(PHONE, 1), 1, "GET /admin/phones shows the device online");

	/* conflict: same device connects again */
	c2 = login(&cr, root_hex, &rc, &reason);
	is_int(rc, 0, "second connection of the same device logs in");
	rc = waclient_recv_tag(c, "stream:error", T_MS, &n);
	ch = n ? wa_node_child(n, "conflict") : NULL;
	ok(rc == 0 && ch && wa_node_attr_is(ch, "type", "replaced"), "old connection gets <conflict type=replaced/> (440)");
	wa_node_free(n);
	n = NULL;
	ok(waclient_recv(c, T_MS, &n) == WACLIENT_ECLOSED, "old connection is closed by the server");
	waclient_free(c);
	is_int(waclient_ping(c2, T_MS), 0, "new connection still works");

	/* fault injection: delay */
	{
		long long t0;
		struct timespec ts;

		is_int(admin("POST", "/admin/connections/delay", "{\"ms\": 300, \"jid\": \"" PHONE ":1@s.whatsapp.net\"}",
			     NULL, &j), 200, "delay the device's connection by 300 ms");
		ok(json_integer_value(json_object_get(j, "delayed")) == 1, "one connection delayed");
		json_decref(j);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t0 = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		is_int(waclient_ping(c2, T_MS), 0, "ping answered through the delay");
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ok((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t0 >= 290, "answer held for the delay");
		ok(admin("GET", "/admin/connections", NULL, NULL, &j) == 200 &&
		   json_array_size(json_object_get(j, "connections")) >= 1, "GET /admin/connections lists it");
		json_decref(j);
		is_int(admin("POST", "/admin/connections/delay", "{\"ms\": 0}", NULL, NULL), 200, "delay off");
		is_int(admin("POST", "/admin/connections/delay", "{\"ms\": -1}", NULL, NULL), 400, "bad delay -> 400");
	}

	/* fault injection: drop */
	is_int(admin("POST", "/admin/connections/drop", "{\"jid\":\"" PHONE ":1@s.whatsapp.net\"}", NULL, &j), 200,
	       "drop the device's connection");
	ok(json_integer_value(json_object_get(j, "dropped")) == 1, "one connection dropped");
	json_decref(j);
	while ((rc = waclient_recv(c2, T_MS, &n)) == 0) {
		wa_node_free(n); /* <ib> of the login, still queued */
		n = NULL;
	}
	is_int(rc, WACLIENT_ECLOSED, "client sees the connection close");
	waclient_free(c2);

	/* wrong root key */
	snprintf(wrong, sizeof wrong, "%s", root_hex);
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	{
		struct waclient_config wc;

		config(&wc, wrong);
		c = waclient_new(&wc, &cr);
		rc = waclient_connect(c, T_MS);
		is_int(rc, WACLIENT_ECERT, "handshake fails against a wrong root key");
		is_int(waclient_cert_error(c), WA_CERT_EROOTSIG, "reason: intermediate not signed by the root");
		waclient_free(c);
	}

	/* unknown device */
	bogus = cr;
	bogus.device = 42;
	c = login(&bogus, root_hex, &rc, &reason);
	ok(rc == WACLIENT_EPROTO && reason == 401, "unknown device gets <failure reason=401/>");
	waclient_free(c);
	bogus = cr;
	wa_x25519_keypair(bogus.noise_priv, bogus.noise_pub);
	c = login(&bogus, root_hex, &rc, &reason);
	ok(rc == WACLIENT_EPROTO && reason == 401, "paired device with another noise key gets 401");
	waclient_free(c);

	/* a second companion, scanned with a JSON body */
	ok(waclient_creds_generate(&cr2) == 0, "second companion keys");
	is_int(pair(&cr2, 1, jid, sizeof jid), 0, "second companion paired via {\"qr\": ...}");
	is_str(jid, PHONE ":2@s.whatsapp.net", "second device gets slot 2");

	/* restart: state persists */
	snprintf(root_before, sizeof root_before, "%s", root_hex);
	is_int(stop_sim(), 0, "wa-sim exits cleanly on SIGTERM");
	ok(start_sim("--qr-timeouts", "1,1", "--compress-min", "1") == 0,
	   "wa-sim restarts on the same state directory (refs 1 s + 1 s, every stanza compressed)");
	is_str(root_hex, root_before, "root key persists");
	c = login(&cr, root_hex, &rc, &reason);
	is_int(rc, 0, "device 1 logs in after the restart");
	is_int(device_online(PHONE, 1), 1, "listed online after restart");

	/* ref rotation (4.2): ref 0 lives 1 s, ref 5 lives 1 + 5 s */
	{
		struct waclient_creds cr3;
		struct waclient *c3;
		char qr5[512];

		waclient_creds_generate(&cr3);
		config(&cfg, root_hex);
		c3 = waclient_new(&cfg, &cr3);
		ok(waclient_connect(c3, T_MS) == 0 && waclient_pair_qr(c3, 0, T_MS, qr, sizeof qr) == 0 &&
		   waclient_pair_qr(c3, 5, T_MS, qr5, sizeof qr5) == 0, "third companion shows refs 0 and 5");
		usleep(2200 * 1000);
		is_int(admin("POST", "/admin/phones/" PHONE "/scan", qr, "text/plain", NULL), 410, "expired ref 0 -> 410");
		is_int(admin("POST", "/admin/phones/" PHONE "/scan", qr5, "text/plain", &j), 200, "ref 5 still valid");
		json_decref(j);
		is_int(waclient_pair_finish(c3, T_MS), 0, "third companion paired with a later ref");
		ok(cr3.device == 3, "slot 3");
		waclient_free(c3);
	}

	/* pairing by phone-number code (4.5) */
	{
		struct waclient_creds cr4, cr5;
		struct waclient *c4, *c5;
		char code[10], wrong_code[10];

		is_int(admin("POST", "/admin/phones/" PHONE "/link-code", "ABCD-EFGH", "text/plain", NULL), 404,
		       "link code with no waiting companion -> 404");
		waclient_creds_generate(&cr4);
		config(&cfg, root_hex);
		c4 = waclient_new(&cfg, &cr4);
		ok(waclient_connect(c4, T_MS) == 0 && waclient_pair_code(c4, PHONE, T_MS, code) == 0,
		   "companion_hello answered with a pairing ref");
		ok(strlen(code) == 9 && code[4] == '-', "code shown as XXXX-XXXX");
		is_int(admin("POST", "/admin/phones/" PHONE "/link-code", "0OIL-0OIL", "text/plain", NULL), 400,
		       "code outside the alphabet -> 400");
		{
			json_t *o = json_pack("{s:s}", "code", code);
			char *body = json_dumps(o, 0);

			is_int(admin("POST", "/admin/phones/" PHONE "/link-code", body, "application/json", NULL), 200,
			       "phone user types the code");
			free(body);
			json_decref(o);
		}
		is_int(waclient_pair_code_finish(c4, T_MS), 0, "notification handled, key bundle accepted");
		is_int(waclient_pair_finish(c4, T_MS), 0, "pair-success verified with the derived adv secret, 515");
		ok(cr4.paired && cr4.device == 4, "link-code companion is device 4");
		waclient_free(c4);
		c4 = login(&cr4, root_hex, &rc, &reason);
		is_int(rc, 0, "link-code companion logs in");
		/* the companion logs itself out (11.10) */
		{
			struct wa_node *r = NULL, *lo;
			char own[64];

			lo = wa_node_new_attrs("iq", "xmlns", "md", "type", "set", NULL);
			wa_node_add_child(lo, wa_node_new_attrs("remove-companion-device", "jid", PHONE ":2@s.whatsapp.net",
								"reason", "user_initiated", NULL));
			ok(waclient_iq(c4, lo, T_MS, &r) == 0 && wa_node_attr_is(r, "type", "error") &&
				   wa_node_attr_is(wa_node_child(r, "error"), "code", "403"),
			   "logout naming another device -> 403");
			wa_node_free(lo);
			wa_node_free(r);
			r = NULL;
			snprintf(own, sizeof own, "%s:%u@s.whatsapp.net", PHONE, (unsigned)cr4.device);
			lo = wa_node_new_attrs("iq", "xmlns", "md", "type", "set", NULL);
			wa_node_add_child(lo, wa_node_new_attrs("remove-companion-device", "jid", own, "reason",
								"user_initiated", NULL));
			ok(waclient_iq(c4, lo, T_MS, &r) == 0 && wa_node_attr_is(r, "type", "result"),
			   "remove-companion-device with the own JID -> result");
			wa_node_free(lo);
			wa_node_free(r);
			r = NULL;
			rc = waclient_recv_tag(c4, "stream:error", T_MS, &r);
			ok(rc == 0 && wa_node_attr_is(r, "code", "401") &&
				   wa_node_attr_is(wa_node_child(r, "conflict"), "type", "device_removed"),
			   "then <stream:error code=401><conflict type=device_removed/>");
			wa_node_free(r);
		}
		waclient_free(c4);
		c4 = login(&cr4, root_hex, &rc, &reason);
		ok(rc == WACLIENT_EPROTO && reason == 401, "a logged-out companion can no longer log in");
		waclient_free(c4);

		waclient_creds_generate(&cr5);
		c5 = waclient_new(&cfg, &cr5);
		ok(waclient_connect(c5, T_MS) == 0 && waclient_pair_code(c5, PHONE, T_MS, code) == 0,
		   "another companion asks for a code");
		snprintf(wrong_code, sizeof wrong_code, "%s", code);
		wrong_code[0] = wrong_code[0] == '2' ? '3' : '2';
		is_int(admin("POST", "/admin/phones/" PHONE "/link-code", wrong_code, "text/plain", NULL), 200,
		       "phone accepts a mistyped code (it cannot tell yet)");
		is_int(waclient_pair_code_finish(c5, T_MS), WACLIENT_EVERIFY, "mistyped code: pairing fails");
		waclient_free(c5);
	}

	/* the phone removes device 1 */
	is_int(admin("POST", "/admin/phones/" PHONE "/devices/1/remove", "", "application/json", NULL), 200,
	       "remove device 1");
	rc = waclient_recv_tag(c, "stream:error", T_MS, &n);
	ch = n ? wa_node_child(n, "conflict") : NULL;
	ok(rc == 0 && wa_node_attr_is(n, "code", "401") && ch && wa_node_attr_is(ch, "type", "device_removed"),
	   "connection gets <stream:error code=401><conflict type=device_removed/>");
	wa_node_free(n);
	n = NULL;
	waclient_free(c);
	c = login(&cr, root_hex, &rc, &reason);
	ok(rc == WACLIENT_EPROTO && reason == 401, "removed device can no longer log in");
	waclient_free(c);
	is_int(admin("POST", "/admin/phones/" PHONE "/devices/1/remove", "", "application/json", NULL), 404,
	       "removing it again -> 404");
	c = login(&cr2, root_hex, &rc, &reason);
	is_int(rc, 0, "device 2 unaffected");
	waclient_free(c);

	/* reset */
	is_int(admin("POST", "/admin/reset", "", "application/json", NULL), 200, "reset");
	ok(admin("GET", "/admin/phones", NULL, NULL, &j) == 200 && json_array_size(json_object_get(j, "phones")) == 0,
	   "no phones after reset");
	json_decref(j);

	is_int(stop_sim(), 0, "wa-sim exits cleanly after the run");
	if (tap_failed == 0) {
		char cmd[400];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", state_dir);
		if (system(cmd) != 0)
			tap_diag("could not remove the state directory");
	} else {
		printf("# wa-sim log and state kept in %s\n", state_dir);
	}
	curl_global_cleanup();
	return tap_done();
}
