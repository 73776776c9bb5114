/* wa-sim-client: a tiny interactive companion for trying wa-sim by hand
 * (simstate). It pairs a new companion with a wa-sim phone (asking the
 * phone to scan through the admin API), uploads pre-keys, then prints the
 * messages it receives and sends what you type:
 *
 *   wa-sim-client --phone 15551234567 [--ws 127.0.0.1:8180] [--admin 127.0.0.1:8181]
 *   > 15550000002 hello Bob        (send "hello Bob" to that user's phone)
 *
 * Nothing is stored: every run pairs a new device (the phone keeps the old
 * ones listed). Sends go to the peer's phone (device 0) only. Built on
 * waclient + wa/signal, like the tests; not installed. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libwebsockets.h>

#include "simtest.h"
#include "waclient.h"
#include "wa/msgid.h"
#include "wa/pbsafe.h"
#include "wa/signal.h"
#include "wa/signal_node.h"
#include "wa/sigstore.h"
#include "wa_e2e.pb-c.h"
#include "wa_util.h"

#define T_MS 8000

static char admin_hp[128] = "127.0.0.1:8181";

/* Admin request; the JSON answer in *out (may be NULL). HTTP status or 0. */
static long admin(const char *method, const char *path, const char *body, json_t **out)
{
	return simtest_admin(admin_hp, method, path, body, NULL, out);
}

struct cli {
	const char *phone;
	struct waclient_config cfg;
	struct waclient_creds cr;
	struct waclient *c;
	wa_sigstore *st;
	wa_sig *sig;
};

static int pair(struct cli *m)
{
	struct waclient *c;
	json_t *j = NULL;
	int rc = -1, reason = 0;
	wa_sig_prekey pks[20];
	uint32_t next = 1;
	struct wa_node *iq, *reply = NULL;

	if (waclient_creds_generate(&m->cr) != 0 || (c = waclient_new(&m->cfg, &m->cr)) == NULL)
		return -1;
	rc = simtest_pair_scan(c, admin_hp, m->phone, T_MS, &j);
	if (rc != 0)
		fprintf(stderr, "pairing failed (does phone %s exist? %s)\n", m->phone,
			j ? json_string_value(json_object_get(j, "error")) : "no admin answer");
	json_decref(j);
	waclient_free(c);
	if (rc != 0 || simtest_sig_setup(&m->cr, &m->st, &m->sig) != 0)
		return -1;
	m->c = waclient_new(&m->cfg, &m->cr);
	if (m->c == NULL || waclient_connect(m->c, T_MS) != 0 || waclient_wait_success(m->c, T_MS, &reason) != 0)
		return -1;
	if (wa_sig_prekeys_generate(m->sig, 1, 20, pks, &next) != 0)
		return -1;
	iq = wa_sig_upload_iq(m->sig, "cli-up-1", m->cr.spk_id, pks, 20);
	rc = iq && waclient_iq(m->c, iq, T_MS, &reply) == 0 && wa_node_attr_is(reply, "type", "result") ? 0 : -1;
	wa_node_free(iq);
	wa_node_free(reply);
	return rc;
}

/* Session with jid from a fetched bundle. 0 / -1. */
static int session(struct cli *m, const char *jid)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "xmlns", "encrypt", "type", "get", NULL), *reply = NULL, *u;
	wa_sig_addr a;
	int rc = -1;

	if (wa_sig_addr_from_jid(jid, &a) != 0)
		goto out;
	if (wa_sig_has_session(m->sig, &a) == 1) {
		rc = 0;
		goto out;
	}
	u = wa_node_add_new(wa_node_add_new(iq, "key"), "user");
	wa_node_set_attr(u, "jid", jid);
	if (waclient_iq(m->c, iq, T_MS, &reply) == 0) {
		wa_sig_bundle b;

		u = wa_node_child(wa_node_child(reply, "list"), "user");
		if (u && wa_sig_bundle_from_node(u, &b) == 0 && wa_sig_bundle_process(m->sig, &a, &b) == 0)
			rc = 0;
	}
out:
	wa_node_free(iq);
	wa_node_free(reply);
	return rc;
}

static void send_text(struct cli *m, const char *to_user, const char *text)
{
	WaE2E__Message msg = WA_E2_E__MESSAGE__INIT;
	char to[64], id[WA_MSGID_LEN + 1];
	uint8_t *pt = NULL, *padded = NULL, *ct = NULL;
	size_t len, plen = 0, clen = 0;
	enum wa_sig_msg_type t;
	wa_sig_addr a;
	struct wa_node *n = NULL, *enc, *ack = NULL;

	if (strlen(to_user) > 20 || strspn(to_user, "0123456789") != strlen(to_user)) {
		printf("! not a phone number: %.40s\n", to_user);
		return;
	}
	snprintf(to, sizeof to, "%.20s@s.whatsapp.net", to_user);
	if (session(m, to) != 0 || wa_sig_addr_from_jid(to, &a) != 0) {
		printf("! no such user %s\n", to_user);
		return;
	}
	msg.conversation = (char *)text;
	len = wa_e2_e__message__get_packed_size(&msg);
	pt = malloc(len);
	if (pt == NULL)
		return;
	wa_e2_e__message__pack(&msg, pt);
	if (wa_sig_pad(pt, len, 0, &padded, &plen) != 0 || wa_sig_encrypt(m->sig, &a, padded, plen, &t, &ct, &clen) != 0)
		goto out;
	wa_msgid_generate(id, m->cr.phone, time(NULL));
	n = wa_node_new_attrs("message", "id", id, "to", to, "type", "text", NULL);
	enc = wa_node_add_new(wa_node_add_new(wa_node_add_new(n, "participants"), "to"), "enc");
	wa_node_set_attr(wa_node_child(wa_node_child(n, "participants"), "to"), "jid", to);
	wa_node_set_attr(enc, "v", "2");
	wa_node_set_attr(enc, "type", wa_sig_msg_type_name(t));
	wa_node_set_bytes(enc, ct, clen);
	if (t == WA_SIG_PKMSG)
		wa_node_set_bytes(wa_node_add_new(n, "device-identity"), m->cr.account, m->cr.account_len);
	if (waclient_send(m->c, n) == 0 && waclient_recv_tag(m->c, "ack", T_MS, &ack) == 0)
		printf("> sent %s to %s%s%s\n", id, to_user, wa_node_attr(ack, "error") ? " - error " : "",
		       wa_node_attr_or(ack, "error", ""));
out:
	wa_sig_buf_free(padded, plen);
	free(ct);
	free(pt);
	wa_node_free(n);
	wa_node_free(ack);
}

/* Print a received stanza (messages decrypted), ack what needs it. */
static void show(struct cli *m, struct wa_node *n)
{
	const char *from = wa_node_attr_or(n, "from", "?");

	if (strcmp(n->tag, "message") == 0) {
		struct wa_node *enc = NULL;
		wa_sig_addr a;

		while ((enc = wa_node_next(n, "enc", enc)) != NULL) {
			enum wa_sig_msg_type t;
			size_t clen = 0, plen = 0, ulen;
			const uint8_t *ct = wa_node_content(enc, &clen);
			uint8_t *pt = NULL;
			WaE2E__Message *msg;

			if (wa_sig_msg_type_parse(wa_node_attr(enc, "type"), &t) != 0 || t == WA_SIG_SKMSG ||
			    wa_sig_addr_from_jid(from, &a) != 0 || wa_sig_decrypt(m->sig, &a, t, ct, clen, &pt, &plen) != 0) {
				printf("< %s: (cannot decrypt)\n", from);
				continue;
			}
			if (wa_sig_unpad(pt, plen, &ulen) == 0 &&
			    (msg = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, pt, ulen, WA_PB_MAX_DEPTH))) {
				const WaE2E__Message *in = msg->devicesentmessage && msg->devicesentmessage->message
								   ? msg->devicesentmessage->message
								   : msg;

				if (in->conversation)
					printf("< %s (%s): %s\n", from, wa_node_attr_or(n, "notify", ""), in->conversation);
				else if (in->extendedtextmessage && in->extendedtextmessage->text)
					printf("< %s (%s): %s\n", from, wa_node_attr_or(n, "notify", ""),
					       in->extendedtextmessage->text);
				else if (in->protocolmessage)
					printf("< %s: protocol message type %d\n", from, (int)in->protocolmessage->type);
				else
					printf("< %s: (a non-text message)\n", from);
				wa_e2_e__message__free_unpacked(msg, NULL);
			}
			wa_sig_buf_free(pt, plen);
		}
	} else if (strcmp(n->tag, "receipt") == 0) {
		printf("< receipt %s from %s for %s\n", wa_node_attr_or(n, "type", "delivery"), from,
		       wa_node_attr_or(n, "id", "?"));
	} else if (strcmp(n->tag, "presence") == 0 || strcmp(n->tag, "chatstate") == 0 ||
		   strcmp(n->tag, "notification") == 0) {
		char *s = wa_node_to_string(n, 0);

		printf("< %s\n", s ? s : n->tag);
		free(s);
	}
	if (strcmp(n->tag, "message") == 0 || strcmp(n->tag, "receipt") == 0 || strcmp(n->tag, "notification") == 0) {
		struct wa_node *ack = wa_node_new_attrs("ack", "class", n->tag, "id", wa_node_attr(n, "id"), "to", from,
							"type", wa_node_attr(n, "type"), NULL);

		waclient_send(m->c, ack);
		wa_node_free(ack);
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct cli m;
	char ws[128] = "127.0.0.1:8180", *colon, line[4096];
	json_t *j = NULL;
	time_t last_ping = time(NULL);

	memset(&m, 0, sizeof m);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--phone") == 0 && i + 1 < argc)
			m.phone = argv[++i];
		else if (strcmp(argv[i], "--ws") == 0 && i + 1 < argc)
			snprintf(ws, sizeof ws, "%s", argv[++i]);
		else if (strcmp(argv[i], "--admin") == 0 && i + 1 < argc)
			snprintf(admin_hp, sizeof admin_hp, "%s", argv[++i]);
		else {
			fprintf(stderr, "usage: %s --phone NUMBER [--ws HOST:PORT] [--admin HOST:PORT]\n", argv[0]);
			return 2;
		}
	}
	if (m.phone == NULL) {
		fprintf(stderr, "usage: %s --phone NUMBER [--ws HOST:PORT] [--admin HOST:PORT]\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(LLL_ERR, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	colon = strrchr(ws, ':');
	if (colon == NULL || admin("GET", "/admin/root-key", NULL, &j) != 200 ||
	    wa_hex_decode(json_string_value(json_object_get(j, "publicKey")), m.cfg.trust.root_pub, 32) != 0) {
		fprintf(stderr, "cannot read the root key from http://%s/admin/root-key\n", admin_hp);
		json_decref(j);
		return 1;
	}
	json_decref(j);
	*colon = '\0';
	m.cfg.host = ws;
	m.cfg.port = atoi(colon + 1);
	m.cfg.os = "wa-sim-client";
	m.cfg.platform_id = '1';
	if (pair(&m) != 0) {
		fprintf(stderr, "could not pair and log in\n");
		return 1;
	}
	printf("paired with %s as device %u; type \"<number> <text>\" to send, Ctrl-D to quit\n", m.phone, m.cr.device);
	fflush(stdout);
	for (;;) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		struct wa_node *n = NULL;

		while (waclient_recv(m.c, 100, &n) == 0) {
			show(&m, n);
			wa_node_free(n);
			n = NULL;
		}
		if (!waclient_is_open(m.c)) {
			fprintf(stderr, "connection closed\n");
			break;
		}
		if (time(NULL) - last_ping > 20) {
			waclient_ping(m.c, T_MS);
			last_ping = time(NULL);
		}
		if (poll(&p, 1, 100) > 0) {
			char *sp;

			if (fgets(line, sizeof line, stdin) == NULL)
				break;
			line[strcspn(line, "\r\n")] = '\0';
			sp = strchr(line, ' ');
			if (sp == NULL) {
				printf("! type \"<number> <text>\"\n");
				continue;
			}
			*sp = '\0';
			send_text(&m, line, sp + 1);
			fflush(stdout);
		}
	}
	waclient_free(m.c);
	wa_sig_free(m.sig);
	wa_sigstore_free(m.st);
	curl_global_cleanup();
	return 0;
}
