/* wa_fetch: streaming, policy-checked fetch of a client's URL on libcurl
 * (contract in wa_fetch.h). One easy handle per call; redirects followed
 * here, hop by hop, so each target URL is checked before it is requested. */
#include "config.h"

#include "wa_fetch.h"
#include "wa_util.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Most bytes of a 3xx answer's body read (and dropped) per hop. */
#define REDIRECT_BODY_MAX (1u << 20)

struct ctx {
	const struct wa_fetch_policy *p;
	CURL *c;
	int fd;
	EVP_MD_CTX *md;
	unsigned long long bytes;      /* body bytes written */
	unsigned long long dropped;    /* 3xx body bytes of this hop */
	long hop_status;               /* 0 until the hop's first body byte */
	long long content_length;      /* the hop's Content-Length, -1 if none */
	int err;                       /* why a callback stopped the transfer */
	int refused;                   /* the socket callback refused an address */
	char host[WA_URL_HOST_MAX + 1];
	char why[512];
	char refused_why[640];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *cp)
{
	struct ctx *x = cp;
	size_t n = size * nmemb, off = 0;

	if (x->hop_status == 0)
		curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &x->hop_status);
	if (x->hop_status >= 300 && x->hop_status < 400) {
		x->dropped += n;
		if (x->dropped > REDIRECT_BODY_MAX) {
			x->err = WA_FETCH_ETOOBIG;
			snprintf(x->why, sizeof x->why, "the redirect answer from %s has a body over %u bytes",
				 x->host, REDIRECT_BODY_MAX);
			return 0;
		}
		return n;
	}
	if (x->hop_status < 200 || x->hop_status >= 300) {
		x->err = WA_FETCH_EHTTP;
		snprintf(x->why, sizeof x->why, "%s answered HTTP %ld", x->host, x->hop_status);
		return 0;
	}
	if (n > x->p->max_bytes - x->bytes) {
		x->err = WA_FETCH_ETOOBIG;
		snprintf(x->why, sizeof x->why, "the body is larger than the limit of %llu bytes",
			 x->p->max_bytes);
		return 0;
	}
	while (off < n) {
		ssize_t w = write(x->fd, data + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			x->err = WA_ESTORAGE;
			snprintf(x->why, sizeof x->why, "storing the body failed: %s",
				 w < 0 ? strerror(errno) : "short write");
			return 0;
		}
		off += (size_t)w;
	}
	if (EVP_DigestUpdate(x->md, data, n) != 1) {
		x->err = WA_EINTERNAL;
		snprintf(x->why, sizeof x->why, "hashing the body failed");
		return 0;
	}
	x->bytes += n;
	return n;
}

/* Headers: only the Content-Length is kept, for the reason of a refusal. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *cp)
{
	struct ctx *x = cp;
	size_t n = size * nmemb, i;
	long long v = 0;

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		x->content_length = -1;               /* a new answer (redirect, 1xx) */
		return n;
	}
	if (n < 15 || strncasecmp(data, "content-length:", 15) != 0)
		return n;
	for (i = 15; i < n && (data[i] == ' ' || data[i] == '\t'); i++)
		;
	if (i == n || data[i] < '0' || data[i] > '9')
		return n;
	for (; i < n && data[i] >= '0' && data[i] <= '9'; i++) {
		if (v > (LLONG_MAX - 9) / 10)
			return n;
		v = v * 10 + (data[i] - '0');
	}
	x->content_length = v;
	return n;
}

/* Every socket libcurl opens for the transfer: the address rule, here, on
 * the address it is about to connect to. */
static curl_socket_t on_open(void *cp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct ctx *x = cp;
	char w[160];

	if (purpose != CURLSOCKTYPE_IPCXN || (a->family != AF_INET && a->family != AF_INET6)) {
		x->refused = 1;
		snprintf(x->refused_why, sizeof x->refused_why, "refused: %s: not an IP connection", x->host);
		return CURL_SOCKET_BAD;
	}
	if (wa_addr_allowed_host(x->p, x->host, &a->addr, w, sizeof w) != WA_OK) {
		x->refused = 1;
		snprintf(x->refused_why, sizeof x->refused_why, "refused: %s: %s", x->host, w);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* curl's parse of the URL must name the host and port ours did: if the two
 * parsers disagree, the address rule would be about a different host. */
static int same_target(CURLU *h, const struct wa_url *u)
{
	char *host = NULL, *port = NULL;
	int same = 0;

	if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	if (strtoul(port, NULL, 10) != u->port)
		goto out;
	if (u->host_af == AF_INET6) {
		char lit[INET6_ADDRSTRLEN];
		uint8_t a[16];
		size_t n = strlen(host);

		if (n < 3 || host[0] != '[' || host[n - 1] != ']' || n - 2 >= sizeof lit)
			goto out;
		memcpy(lit, host + 1, n - 2);
		lit[n - 2] = '\0';
		same = inet_pton(AF_INET6, lit, a) == 1 && memcmp(a, u->host_addr, 16) == 0;
	} else {
		same = strcasecmp(host, u->host) == 0;
	}
out:
	curl_free(host);
	curl_free(port);
	return same;
}

static void set_mime(struct wa_fetch_result *r, const char *ct)
{
	size_t i, n;

	snprintf(r->content_type, sizeof r->content_type, "%s", ct ? ct : "");
	r->mime[0] = '\0';
	if (ct == NULL)
		return;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if (n == 0 || n >= sizeof r->mime)
		return;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)ct[i];

		if (c <= 0x20 || c >= 0x7f)
			return;
		r->mime[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	r->mime[n] = '\0';
	if (strchr(r->mime, '/') == NULL || r->mime[0] == '/' || r->mime[n - 1] == '/')
		r->mime[0] = '\0';
}

/* The failure of one curl_easy_perform() as a WA code and a reason. */
static int map_curl(struct ctx *x, CURLcode rc, const char *ebuf, long remaining_ms, long long started)
{
	long long cl = x->content_length;
	curl_off_t conn = 0;

	if (x->err) {
		snprintf(x->refused_why, sizeof x->refused_why, "%s", x->why);
		return x->err;
	}
	switch (rc) {
	case CURLE_FILESIZE_EXCEEDED:
		if (cl > 0)
			snprintf(x->refused_why, sizeof x->refused_why,
				 "the body is larger than the limit of %llu bytes (Content-Length %lld)",
				 x->p->max_bytes, cl);
		else
			snprintf(x->refused_why, sizeof x->refused_why,
				 "the body is larger than the limit of %llu bytes", x->p->max_bytes);
		return WA_FETCH_ETOOBIG;
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(x->c, CURLINFO_CONNECT_TIME_T, &conn);
		if (conn == 0 && now_ms() - started < remaining_ms) {
			snprintf(x->refused_why, sizeof x->refused_why,
				 "connecting to %s took longer than %ld ms", x->host, x->p->connect_timeout_ms);
			return WA_FETCH_ECONNTIMEDOUT;
		}
		snprintf(x->refused_why, sizeof x->refused_why,
			 "fetching from %s took longer than %ld ms", x->host, x->p->timeout_ms);
		return WA_FETCH_ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(x->refused_why, sizeof x->refused_why, "cannot resolve host %s", x->host);
		return WA_FETCH_ERESOLVE;
	case CURLE_COULDNT_CONNECT:
		if (x->refused)
			return WA_FETCH_EADDR;            /* refused_why is set */
		snprintf(x->refused_why, sizeof x->refused_why, "cannot connect to %s", x->host);
		return WA_FETCH_ECONNECT;
	case CURLE_OUT_OF_MEMORY:
		snprintf(x->refused_why, sizeof x->refused_why, "out of memory");
		return WA_ENOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:
		snprintf(x->refused_why, sizeof x->refused_why, "only http and https URLs are allowed");
		return WA_FETCH_ESCHEME;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		snprintf(x->refused_why, sizeof x->refused_why, "TLS with %s failed: %s", x->host,
			 ebuf[0] ? ebuf : curl_easy_strerror(rc));
		return WA_FETCH_ETLS;
	default:
		snprintf(x->refused_why, sizeof x->refused_why, "fetching from %s failed: %s", x->host,
			 ebuf[0] ? ebuf : curl_easy_strerror(rc));
		return WA_FETCH_ENET;
	}
}

int wa_fetch_to_fd(const char *url, const struct wa_fetch_policy *p, int fd,
		   struct wa_fetch_result *res, char *why, size_t cap)
{
	struct wa_fetch_policy defp;
	struct wa_fetch_result local;
	struct ctx x;
	char cur[WA_URL_MAX + 1], ebuf[CURL_ERROR_SIZE];
	CURLU *h = NULL;
	struct curl_slist *pins = NULL;
	long long deadline;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int hop, rc = WA_EINTERNAL;

	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof *res);
	if (why && cap)
		why[0] = '\0';
	if (p == NULL) {
		wa_fetch_policy_default(&defp);
		p = &defp;
	}
	memset(&x, 0, sizeof x);
	x.p = p;
	x.fd = fd;
	rc = wa_url_check(url, p, x.refused_why, sizeof x.refused_why);
	if (rc != WA_OK)
		goto out;
	snprintf(cur, sizeof cur, "%s", url);

	rc = WA_EINTERNAL;
	snprintf(x.refused_why, sizeof x.refused_why, "cannot start the HTTP client");
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != 0 || (x.c = curl_easy_init()) == NULL || (x.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(x.md, EVP_sha256(), NULL) != 1)
		goto out;
	curl_easy_setopt(x.c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(x.c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x.c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(x.c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(x.c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(x.c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x.c, CURLOPT_PROXY, "");
	curl_easy_setopt(x.c, CURLOPT_USERAGENT, "wa-akg/" PACKAGE_VERSION);
	curl_easy_setopt(x.c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)p->max_bytes);
	curl_easy_setopt(x.c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x.c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(x.c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x.c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(x.c, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(x.c, CURLOPT_OPENSOCKETDATA, &x);
	curl_easy_setopt(x.c, CURLOPT_ERRORBUFFER, ebuf);
	for (hop = 0; (size_t)hop < p->n_pins && hop < WA_FETCH_PINS_MAX; hop++) {
		struct curl_slist *n = curl_slist_append(pins, p->pins[hop]);

		if (n == NULL) {
			rc = WA_ENOMEM;
			snprintf(x.refused_why, sizeof x.refused_why, "out of memory");
			goto out;
		}
		pins = n;
	}
	if (pins)
		curl_easy_setopt(x.c, CURLOPT_RESOLVE, pins);

	deadline = now_ms() + p->timeout_ms;
	for (hop = 0;; hop++) {
		struct wa_url u;
		char *next = NULL;
		long remaining, status = 0;
		long long started;
		CURLcode crc;

		if (hop > 0) {
			char w[256];

			rc = wa_url_check(cur, p, w, sizeof w);
			if (rc != WA_OK) {
				snprintf(x.refused_why, sizeof x.refused_why, "redirect refused: %s",
				 strncmp(w, "refused: ", 9) == 0 ? w + 9 : w);
				goto out;
			}
		}
		if (wa_url_parse(cur, &u, NULL, 0) != WA_OK) {
			rc = WA_FETCH_EURL;
			snprintf(x.refused_why, sizeof x.refused_why, "the URL is not valid");
			goto out;
		}
		snprintf(x.host, sizeof x.host, "%s", u.host);
		curl_easy_setopt(x.c, CURLOPT_CURLU, NULL);   /* before freeing its handle */
		curl_url_cleanup(h);
		if ((h = curl_url()) == NULL) {
			rc = WA_ENOMEM;
			snprintf(x.refused_why, sizeof x.refused_why, "out of memory");
			goto out;
		}
		if (curl_url_set(h, CURLUPART_URL, cur, 0) != CURLUE_OK || !same_target(h, &u)) {
			rc = WA_FETCH_EURL;
			snprintf(x.refused_why, sizeof x.refused_why,
				 "the URL is ambiguous (its host cannot be read one way only)");
			goto out;
		}
		remaining = (long)(deadline - now_ms());
		if (remaining <= 0) {
			rc = WA_FETCH_ETIMEDOUT;
			snprintf(x.refused_why, sizeof x.refused_why, "fetching took longer than %ld ms",
				 p->timeout_ms);
			goto out;
		}
		curl_easy_setopt(x.c, CURLOPT_CURLU, h);
		curl_easy_setopt(x.c, CURLOPT_TIMEOUT_MS, remaining);
		curl_easy_setopt(x.c, CURLOPT_CONNECTTIMEOUT_MS,
				 p->connect_timeout_ms < remaining ? p->connect_timeout_ms : remaining);
		x.hop_status = 0;
		x.content_length = -1;
		x.dropped = 0;
		x.refused = 0;
		ebuf[0] = '\0';
		started = now_ms();
		crc = curl_easy_perform(x.c);
		if (crc != CURLE_OK) {
			rc = map_curl(&x, crc, ebuf, remaining, started);
			goto out;
		}
		curl_easy_getinfo(x.c, CURLINFO_RESPONSE_CODE, &status);
		res->status = status;
		if (status >= 200 && status < 300)
			break;
		if (status >= 300 && status < 400 &&
		    curl_easy_getinfo(x.c, CURLINFO_REDIRECT_URL, &next) == CURLE_OK && next != NULL) {
			if (hop >= p->max_redirects) {
				rc = WA_FETCH_EREDIRECTS;
				snprintf(x.refused_why, sizeof x.refused_why, "more than %d redirects",
					 p->max_redirects);
				goto out;
			}
			if (strlen(next) > WA_URL_MAX) {
				rc = WA_FETCH_ELONG;
				snprintf(x.refused_why, sizeof x.refused_why,
					 "redirect to a URL longer than %d bytes", WA_URL_MAX);
				goto out;
			}
			snprintf(cur, sizeof cur, "%s", next);
			res->redirects = hop + 1;
			continue;
		}
		rc = WA_FETCH_EHTTP;
		snprintf(x.refused_why, sizeof x.refused_why, "%s answered HTTP %ld", x.host, status);
		goto out;
	}

	if (EVP_DigestFinal_ex(x.md, md, &mdlen) != 1 || mdlen != 32) {
		rc = WA_EINTERNAL;
		snprintf(x.refused_why, sizeof x.refused_why, "hashing the body failed");
		goto out;
	}
	memcpy(res->sha256, md, 32);
	wa_hex_encode(md, 32, res->sha256_hex);
	res->bytes = x.bytes;
	snprintf(res->final_url, sizeof res->final_url, "%s", cur);
	{
		char *ct = NULL;

		curl_easy_getinfo(x.c, CURLINFO_CONTENT_TYPE, &ct);
		set_mime(res, ct);
	}
	rc = WA_OK;
	x.refused_why[0] = '\0';
out:
	if (rc != WA_OK && why && cap)
		snprintf(why, cap, "%s", x.refused_why);
	if (x.c)
		curl_easy_cleanup(x.c);
	curl_url_cleanup(h);
	curl_slist_free_all(pins);
	EVP_MD_CTX_free(x.md);
	return rc;
}

int wa_fetch_to_file(const char *url, const struct wa_fetch_policy *p, const char *dir,
		     char *path, size_t path_cap, struct wa_fetch_result *res,
		     char *why, size_t cap)
{
	int fd, rc, n;

	if (path == NULL || path_cap == 0 || dir == NULL) {
		if (why && cap)
			snprintf(why, cap, "no directory for the fetched file");
		return WA_ESTATE;
	}
	path[0] = '\0';
	/* the URL first: a refused URL creates no file at all */
	rc = wa_url_check(url, p, why, cap);
	if (rc != WA_OK)
		return rc;
	n = snprintf(path, path_cap, "%s/.wa-fetch-XXXXXX", dir);
	if (n < 0 || (size_t)n >= path_cap) {
		path[0] = '\0';
		if (why && cap)
			snprintf(why, cap, "the media directory path is too long");
		return WA_ESTORAGE;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		path[0] = '\0';
		if (why && cap)
			snprintf(why, cap, "cannot create a file in the media directory: %s", strerror(errno));
		return WA_ESTORAGE;
	}
	rc = wa_fetch_to_fd(url, p, fd, res, why, cap);
	if (close(fd) != 0 && rc == WA_OK) {
		rc = WA_ESTORAGE;
		if (why && cap)
			snprintf(why, cap, "storing the body failed: %s", strerror(errno));
	}
	if (rc != WA_OK) {
		unlink(path);
		path[0] = '\0';
	}
	return rc;
}
