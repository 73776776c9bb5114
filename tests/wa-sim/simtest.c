/* simtest: shared harness for the wa-sim tests. Contract in simtest.h. */
#include "simtest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

/* upper bound on the extra wa-sim arguments a test passes */
#define SIMTEST_MAX_EXTRA 16

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

long simtest_http(const char *method, const char *url, const uint8_t *body, size_t blen, struct simtest_resp *out)
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
