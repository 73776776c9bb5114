/* simtest: shared harness for the wa-sim tests. Contract in simtest.h. */
#include "simtest.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libwebsockets.h>

#include "wa/crypto.h"
#include "wa/mediacrypto.h"
#include "wa/pbsafe.h"
#include "wa_util.h"

/* upper bound on the extra wa-sim arguments a test passes */
#define SIMTEST_MAX_EXTRA 16
/* upper bound on a case table's length */
#define SIMTEST_MAX_CASES 64

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct simtest_resp *r = ud;
	char *nb = realloc(r->data, r->len + sz * n + 1);

	if (nb == NULL)
		return 0;
	r->data = nb;
	memcpy(r->data + r->len, p, sz * n);
	r->len += sz * n;
	r->data[r->len] = '\0';
	return sz * n;
}

long simtest_admin(const char *hostport, const char *method, const char *path, const char *body,
		   const char *ctype, json_t **out)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = NULL;
	struct simtest_resp r = { NULL, 0 };
	char url[512], ct[128];
	long status = 0;

	if (out)
		*out = NULL;
	if (h == NULL)
		return 0;
	snprintf(url, sizeof url, "http://%s%s", hostport, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
		hd = curl_slist_append(hd, ct);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	}
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (out && r.data)
		*out = json_loads(r.data, 0, NULL);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	free(r.data);
	return status;
}

static char media_ca[400];

const char *simtest_media_ca(void)
{
	return media_ca;
}

long simtest_http(const char *method, const char *url, const uint8_t *body, size_t blen, struct simtest_resp *out)
{
	return simtest_http_ca(method, url, body, blen, media_ca[0] ? media_ca : NULL, out);
}

long simtest_http_ca(const char *method, const char *url, const uint8_t *body, size_t blen, const char *ca_file,
		     struct simtest_resp *out)
{
	CURL *h = curl_easy_init();
	long status = 0;

	out->data = NULL;
	out->len = 0;
	if (h == NULL)
		return 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	if (ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)blen);
	}
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	return status;
}

long simtest_admin_port(int port, const char *method, const char *path, const char *body, const char *ctype,
			json_t **out)
{
	char hp[32];

	snprintf(hp, sizeof hp, "127.0.0.1:%d", port);
	return simtest_admin(hp, method, path, body, ctype, out);
}

int simtest_free_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

int simtest_ports(int *ws, int *admin, int *media)
{
	*ws = simtest_free_port();
	*admin = simtest_free_port();
	while (*admin == *ws)
		*admin = simtest_free_port();
	if (media) {
		*media = simtest_free_port();
		while (*media == *ws || *media == *admin)
			*media = simtest_free_port();
	}
	return *ws > 0 && *admin > 0 ? 0 : -1;
}

int simtest_start(const char *state_dir, int ws_port, int admin_port, int media_port, const char *const *extra,
		  pid_t *pid, char root_hex[65])
{
	const char *bin = getenv("WA_SIM_BIN");
	const char *argv[10 + SIMTEST_MAX_EXTRA + 1];
	char l[64], ad[64], md[64], logp[300];
	size_t n = 0;
	json_t *j = NULL;

	*pid = -1;
	if (bin == NULL)
		bin = "./wa-sim";
	snprintf(l, sizeof l, "127.0.0.1:%d", ws_port);
	snprintf(ad, sizeof ad, "127.0.0.1:%d", admin_port);
	snprintf(md, sizeof md, "127.0.0.1:%d", media_port);
	snprintf(logp, sizeof logp, "%s/wa-sim.log", state_dir);
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = l;
	argv[n++] = "--admin";
	argv[n++] = ad;
	argv[n++] = "--state";
	argv[n++] = state_dir;
	if (media_port > 0) {
		argv[n++] = "--media";
		argv[n++] = md;
		snprintf(media_ca, sizeof media_ca, "%s/media-cert.pem", state_dir);
	}
	for (size_t i = 0; extra && extra[i]; i++) {
		if (i >= SIMTEST_MAX_EXTRA)
			return -1;
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		FILE *f = freopen(logp, "a", stdout);

		(void)f;
		/* a test that crashes must not leave its wa-sim running */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(1, 2);
		/* execv's argv is not const-qualified; it does not modify it */
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		if (simtest_admin_port(admin_port, "GET", "/admin/root-key", NULL, NULL, &j) == 200) {
			const char *k = json_string_value(json_object_get(j, "publicKey"));

			if (k && strlen(k) == 64)
				memcpy(root_hex, k, 65);
			json_decref(j);
			return 0;
		}
		json_decref(j);
		usleep(50000);
	}
	return -1;
}

int simtest_stop(pid_t *pid)
{
	int st = 0;

	if (*pid <= 0)
		return -1;
	kill(*pid, SIGTERM);
	waitpid(*pid, &st, 0);
	*pid = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- companions ---- */

void simtest_net_config(const struct simtest_net *net, struct waclient_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->host = "127.0.0.1";
	cfg->port = net->ws_port;
	wa_hex_decode(net->root_hex, cfg->trust.root_pub, 32);
	cfg->os = net->os;
	cfg->platform_id = '1';
}

int simtest_comp_login(struct simtest_comp *m)
{
	struct waclient_config cfg;
	int reason = 0;

	if (m->c == NULL) {
		simtest_net_config(&m->net, &cfg);
		m->c = waclient_new(&cfg, &m->cr);
	}
	if (m->c == NULL || waclient_connect(m->c, SIMTEST_T_MS) != 0)
		return -1;
	return waclient_wait_success(m->c, SIMTEST_T_MS, &reason);
}

int simtest_pair_scan(struct waclient *c, const char *admin_hostport, const char *phone, int timeout_ms,
		      json_t **answer)
{
	char qr[512], path[128], body[600];

	*answer = NULL;
	snprintf(path, sizeof path, "/admin/phones/%s/scan", phone);
	if (waclient_connect(c, timeout_ms) == 0 && waclient_pair_qr(c, 0, timeout_ms, qr, sizeof qr) == 0 &&
	    snprintf(body, sizeof body, "{\"qr\":\"%s\"}", qr) > 0 &&
	    simtest_admin(admin_hostport, "POST", path, body, NULL, answer) == 200 &&
	    waclient_pair_finish(c, timeout_ms) == 0)
		return 0;
	return -1;
}

int simtest_sig_setup(const struct waclient_creds *cr, wa_sigstore **st, wa_sig **sig)
{
	*st = wa_sigstore_mem_new(0, 0);
	if (*st == NULL || wa_sig_new(*st, sig) != 0 ||
	    wa_sig_identity_set(*sig, cr->identity_pub, cr->identity_priv, cr->registration_id) != 0 ||
	    wa_sig_signed_prekey_generate(*sig, cr->spk_id, NULL) != 0)
		return -1;
	return 0;
}

int simtest_comp_pair(struct simtest_comp *m, const char *phone, const struct simtest_net *net)
{
	struct waclient_config cfg;
	struct waclient *c;
	char hp[32];
	json_t *j = NULL;
	int rc = -1;

	m->phone = phone;
	m->net = *net;
	m->next_pk = 1;
	if (waclient_creds_generate(&m->cr) != 0)
		return -1;
	simtest_net_config(&m->net, &cfg);
	c = waclient_new(&cfg, &m->cr);
	if (c == NULL)
		return -1;
	snprintf(hp, sizeof hp, "127.0.0.1:%d", m->net.admin_port);
	if (simtest_pair_scan(c, hp, phone, SIMTEST_T_MS, &j) == 0) {
		snprintf(m->jid, sizeof m->jid, "%s", json_string_value(json_object_get(j, "jid")));
		rc = 0;
	}
	json_decref(j);
	waclient_free(c);
	if (rc != 0 || simtest_sig_setup(&m->cr, &m->st, &m->sig) != 0)
		return -1;
	return simtest_comp_login(m);
}

void simtest_comp_free(struct simtest_comp *m)
{
	waclient_free(m->c);
	wa_sig_free(m->sig);
	wa_sigstore_free(m->st);
}

int simtest_comp_upload(struct simtest_comp *m, size_t n)
{
	wa_sig_prekey pks[64];
	struct wa_node *iq, *reply = NULL;
	int rc = -1;

	if (n > 64 || wa_sig_prekeys_generate(m->sig, m->next_pk, n, pks, &m->next_pk) != 0)
		return -1;
	static int seq; /* iq ids unique across all companions */
	char iqid[32];

	snprintf(iqid, sizeof iqid, "up-%d", ++seq);
	iq = wa_sig_upload_iq(m->sig, iqid, m->cr.spk_id, pks, n);
	if (iq && waclient_iq(m->c, iq, SIMTEST_T_MS, &reply) == 0 && wa_node_attr_is(reply, "type", "result"))
		rc = 0;
	wa_node_free(iq);
	wa_node_free(reply);
	return rc;
}

/* Fetch bundles of jids and build sessions; returns how many worked. */
int simtest_fetch_sessions(struct simtest_comp *m, const char *const *jids, size_t n, int *had_prekey)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "xmlns", "encrypt", "type", "get", NULL), *key, *reply = NULL, *u = NULL;
	int okc = 0;

	key = wa_node_add_new(iq, "key");
	for (size_t i = 0; i < n; i++) {
		struct wa_node *un = wa_node_add_new(key, "user");

		wa_node_set_attr(un, "jid", jids[i]);
		wa_node_set_attr(un, "reason", "identity");
	}
	if (waclient_iq(m->c, iq, SIMTEST_T_MS, &reply) == 0) {
		while ((u = wa_node_next(wa_node_child(reply, "list"), "user", u)) != NULL) {
			wa_sig_bundle b;
			wa_sig_addr a;

			if (wa_sig_bundle_from_node(u, &b) != 0 || wa_sig_addr_from_jid(wa_node_attr(u, "jid"), &a) != 0)
				continue;
			if (had_prekey && b.has_prekey)
				(*had_prekey)++;
			if (wa_sig_bundle_process(m->sig, &a, &b) == 0)
				okc++;
		}
	}
	wa_node_free(iq);
	wa_node_free(reply);
	return okc;
}

uint8_t *simtest_pack_msg(const WaE2E__Message *msg, size_t *len)
{
	uint8_t *b;

	*len = wa_e2_e__message__get_packed_size(msg);
	b = malloc(*len ? *len : 1);
	if (b)
		wa_e2_e__message__pack(msg, b);
	return b;
}

struct wa_node *simtest_enc_node(struct simtest_comp *m, const char *jid, const uint8_t *pt, size_t len, int *pk)
{
	wa_sig_addr a;
	uint8_t *padded = NULL, *ct = NULL;
	size_t plen = 0, clen = 0;
	enum wa_sig_msg_type t;
	struct wa_node *enc = NULL;

	if (wa_sig_addr_from_jid(jid, &a) == 0 && wa_sig_pad(pt, len, 0, &padded, &plen) == 0 &&
	    wa_sig_encrypt(m->sig, &a, padded, plen, &t, &ct, &clen) == 0) {
		enc = wa_node_new_attrs("enc", "v", "2", "type", wa_sig_msg_type_name(t), NULL);
		wa_node_set_bytes(enc, ct, clen);
		if (t == WA_SIG_PKMSG && pk)
			*pk = 1;
	}
	wa_sig_buf_free(padded, plen);
	free(ct);
	return enc;
}

void simtest_got_free(struct simtest_got *g)
{
	if (g->top)
		wa_e2_e__message__free_unpacked(g->top, NULL);
	memset(g, 0, sizeof *g);
}

/* Decrypt a received <message> node n (borrowed) into g. */
int simtest_decode_msg(struct simtest_comp *m, struct wa_node *n, struct simtest_got *g)
{
	struct wa_node *enc = NULL;
	int rc = -1;

	memset(g, 0, sizeof *g);
	snprintf(g->from, sizeof g->from, "%s", wa_node_attr_or(n, "from", ""));
	snprintf(g->id, sizeof g->id, "%s", wa_node_attr_or(n, "id", ""));
	snprintf(g->recipient, sizeof g->recipient, "%s", wa_node_attr_or(n, "recipient", ""));
	snprintf(g->participant, sizeof g->participant, "%s", wa_node_attr_or(n, "participant", ""));
	g->offline = wa_node_attr(n, "offline") != NULL;
	while ((enc = wa_node_next(n, "enc", enc)) != NULL) {
		enum wa_sig_msg_type t;
		wa_sig_addr a;
		size_t clen = 0, plen = 0, ulen;
		const uint8_t *ct = wa_node_content(enc, &clen);
		uint8_t *pt = NULL;
		WaE2E__Message *msg;

		snprintf(g->enc_type, sizeof g->enc_type, "%s", wa_node_attr_or(enc, "type", ""));
		snprintf(g->count, sizeof g->count, "%s", wa_node_attr_or(enc, "count", ""));
		if (wa_sig_msg_type_parse(wa_node_attr(enc, "type"), &t) != 0 ||
		    wa_sig_addr_from_jid(g->participant[0] ? g->participant : g->from, &a) != 0)
			goto out;
		if (t == WA_SIG_SKMSG ? wa_sig_group_decrypt(m->sig, g->from, &a, ct, clen, &pt, &plen)
				      : wa_sig_decrypt(m->sig, &a, t, ct, clen, &pt, &plen))
			goto out;
		if (wa_sig_unpad(pt, plen, &ulen) != 0) {
			wa_sig_buf_free(pt, plen);
			goto out;
		}
		msg = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, pt, ulen, WA_PB_MAX_DEPTH);
		wa_sig_buf_free(pt, plen);
		if (msg == NULL)
			goto out;
		if (msg->senderkeydistributionmessage) {
			WaE2E__SenderKeyDistributionMessage *sk = msg->senderkeydistributionmessage;

			wa_sig_group_process_skdm(m->sig, sk->groupid, &a, sk->axolotlsenderkeydistributionmessage.data,
						  sk->axolotlsenderkeydistributionmessage.len);
		}
		if (g->top)
			wa_e2_e__message__free_unpacked(g->top, NULL);
		g->top = g->m = msg;
		if (msg->devicesentmessage && msg->devicesentmessage->message) {
			g->m = msg->devicesentmessage->message;
			g->dsm = 1;
		}
	}
	rc = g->m ? 0 : -1;
out:
	return rc;
}

int simtest_recv_msg(struct simtest_comp *m, struct simtest_got *g)
{
	struct wa_node *n = NULL;
	int rc;

	memset(g, 0, sizeof *g);
	if (waclient_recv_tag(m->c, "message", SIMTEST_T_MS, &n) != 0)
		return -1;
	rc = simtest_decode_msg(m, n, g);
	wa_node_free(n);
	return rc;
}

int simtest_media_conn(struct simtest_comp *m, char *host, size_t hcap, char *auth, size_t acap)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "xmlns", "w:m", "type", "set", NULL), *rep = NULL, *mc = NULL;

	if (iq != NULL && wa_node_add_new(iq, "media_conn") != NULL && waclient_iq(m->c, iq, SIMTEST_T_MS, &rep) == 0)
		mc = wa_node_child(rep, "media_conn");
	snprintf(host, hcap, "%s", wa_node_attr_or(wa_node_child(mc, "host"), "hostname", ""));
	snprintf(auth, acap, "%s", wa_node_attr_or(mc, "auth", ""));
	wa_node_free(iq);
	wa_node_free(rep);
	return mc ? 0 : -1;
}

int simtest_is_lower_hex(const char *s, size_t n)
{
	if (s == NULL || strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* The direct_path of an upload answer into dp ("" when absent). */
static void upload_direct_path(const struct simtest_resp *rs, char *dp, size_t dcap)
{
	json_t *j = rs->data ? json_loads(rs->data, 0, NULL) : NULL;
	const char *v = json_string_value(json_object_get(j, "direct_path"));

	snprintf(dp, dcap, "%s", v ? v : "");
	json_decref(j);
}

long simtest_media_upload(const char *host, const char *auth, const char *mms, const uint8_t *enc, size_t len,
			  char *dp, size_t dcap)
{
	uint8_t sha[32];
	char tok[48], url[1024];
	CURL *h = curl_easy_init();
	char *etok = NULL, *eauth = NULL;
	struct simtest_resp rs = { NULL, 0 };
	long st = 0;

	if (dp && dcap)
		dp[0] = '\0';
	if (h == NULL)
		return 0;
	wa_sha256(enc, len, sha);
	wa_media_upload_token(sha, 1, tok);
	etok = curl_easy_escape(h, tok, 0);
	eauth = curl_easy_escape(h, auth, 0);
	if (etok != NULL && eauth != NULL &&
	    snprintf(url, sizeof url, "https://%s/mms/%s/%s?auth=%s&token=%s", host, mms, tok, eauth, etok) <
		    (int)sizeof url) {
		st = simtest_http("POST", url, enc, len, &rs);
		if (dp && dcap)
			upload_direct_path(&rs, dp, dcap);
	}
	free(rs.data);
	curl_free(etok);
	curl_free(eauth);
	curl_easy_cleanup(h);
	return st;
}

/* nftw() callback: remove one entry (children come first, FTW_DEPTH). */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

int simtest_rmtree(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* ---- case tables ---- */

long simtest_ctx_admin(const struct simtest_ctx *t, const char *method, const char *path, const char *body,
		       const char *ctype, json_t **out)
{
	return simtest_admin_port(t->net.admin_port, method, path, body, ctype, out);
}

int simtest_ctx_start(struct simtest_ctx *t, const char *const *extra)
{
	return simtest_start(t->dir, t->net.ws_port, t->net.admin_port, t->media_port, extra ? extra : t->suite->args,
			     &t->pid, t->net.root_hex);
}

int simtest_ctx_stop(struct simtest_ctx *t)
{
	return simtest_stop(&t->pid);
}

/* Index of the case called name (len bytes), or -1. */
static long case_index(const struct simtest_suite *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n_cases; i++)
		if (strlen(s->cases[i].name) == len && strncmp(s->cases[i].name, name, len) == 0)
			return (long)i;
	return -1;
}

/* Call f(s, i, need index, ud) for every need of case i; the first
 * non-zero answer stops and is returned. An unknown need is index -1. */
static int each_need(const struct simtest_suite *s, size_t i, int (*f)(const struct simtest_suite *, size_t, long, void *),
		     void *ud)
{
	const char *p = s->cases[i].needs;

	while (p && *p) {
		size_t len;
		int rc;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len == 0)
			break;
		rc = f(s, i, case_index(s, p, len), ud);
		if (rc != 0)
			return rc;
		p += len;
	}
	return 0;
}

static int need_is_earlier(const struct simtest_suite *s, size_t i, long j, void *ud)
{
	return j < 0 || (size_t)j >= i;
}

static int mark_need(const struct simtest_suite *s, size_t i, long j, void *ud)
{
	unsigned char *mark = ud;

	if (mark[j] == 0)
		mark[j] = 2; /* run because a later selected case needs it */
	return 0;
}

/* A table the runner can trust: unique names, needs that are earlier cases. */
static void check_table(const struct simtest_suite *s)
{
	char why[256];

	for (size_t i = 0; i < s->n_cases; i++) {
		const char *name = s->cases[i].name;

		if (case_index(s, name, strlen(name)) != (long)i) {
			snprintf(why, sizeof why, "case table: the name %s is used twice", name);
			tap_bail(why);
		}
		if (each_need(s, i, need_is_earlier, NULL) != 0) {
			snprintf(why, sizeof why, "case table: %s needs \"%s\", which is not an earlier case", name,
				 s->cases[i].needs);
			tap_bail(why);
		}
	}
}

static void usage(const struct simtest_suite *s, FILE *f)
{
	fprintf(f,
		"usage: %s [--list | CASE...]\n"
		"  no CASE: every case, in table order; CASE...: those cases, after the\n"
		"  earlier cases they need; --list: the cases and what each needs\n",
		s->name);
}

/* mark[i]: 1 selected on the command line (or all), 2 needed by one, 0
 * not run. Returns -1 to run them, else the exit status for --list,
 * --help or a bad name (their output written). */
static int select_cases(const struct simtest_suite *s, int argc, char **argv, unsigned char *mark)
{
	if (argc <= 1) {
		memset(mark, 1, s->n_cases);
		return -1;
	}
	memset(mark, 0, s->n_cases);
	for (int a = 1; a < argc; a++) {
		long i = case_index(s, argv[a], strlen(argv[a]));

		if (strcmp(argv[a], "--list") == 0) {
			for (size_t k = 0; k < s->n_cases; k++)
				printf("%s%s%s%s\n", s->cases[k].name, s->cases[k].needs ? " (needs: " : "",
				       s->cases[k].needs ? s->cases[k].needs : "", s->cases[k].needs ? ")" : "");
			return 0;
		}
		if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
			usage(s, stdout);
			return 0;
		}
		if (i < 0) {
			fprintf(stderr, "%s: no case \"%s\" (--list shows them)\n", s->name, argv[a]);
			usage(s, stderr);
			return 2;
		}
		mark[i] = 1;
	}
	/* needs point backwards: one pass from the end closes them transitively */
	for (size_t i = s->n_cases; i-- > 0;)
		if (mark[i])
			each_need(s, i, mark_need, mark);
	return -1;
}

int simtest_run(struct simtest_ctx *t, const struct simtest_suite *s, int argc, char **argv)
{
	unsigned char mark[SIMTEST_MAX_CASES];
	char why[400];
	int rc;

	memset(t, 0, sizeof *t);
	t->suite = s;
	t->pid = -1;
	t->net.os = s->name;
	if (s->n_cases > SIMTEST_MAX_CASES) {
		snprintf(why, sizeof why, "case table: %zu cases, more than SIMTEST_MAX_CASES (%d)", s->n_cases,
			 SIMTEST_MAX_CASES);
		tap_bail(why);
	}
	check_table(s);
	rc = select_cases(s, argc, argv, mark);
	if (rc >= 0) {
		fflush(stdout);
		exit(rc);
	}
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(LLL_ERR, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(t->dir, sizeof t->dir, "/tmp/%s-XXXXXX", s->name);
	if (mkdtemp(t->dir) == NULL)
		tap_bail("no temporary directory");
	if (simtest_ports(&t->net.ws_port, &t->net.admin_port, s->media ? &t->media_port : NULL) != 0 ||
	    simtest_ctx_start(t, NULL) != 0) {
		simtest_ctx_stop(t);
		snprintf(why, sizeof why, "cannot start wa-sim (set WA_SIM_BIN or run from the build directory); its log is in %s",
			 t->dir);
		tap_bail(why);
	}
	if (s->setup)
		s->setup(t);
	for (size_t i = 0; i < s->n_cases; i++) {
		if (mark[i] == 0)
			continue;
		printf("# case: %s%s\n", s->cases[i].name, mark[i] == 2 ? " (needed by a later case)" : "");
		fflush(stdout);
		s->cases[i].run(t);
	}
	if (s->teardown)
		s->teardown(t);
	return simtest_ctx_stop(t);
}

void simtest_cleanup(struct simtest_ctx *t, int failed)
{
	if (failed)
		printf("# wa-sim log and state kept in %s\n", t->dir);
	else if (simtest_rmtree(t->dir) != 0)
		printf("# could not remove the state directory %s\n", t->dir);
	fflush(stdout);
	curl_global_cleanup();
}
