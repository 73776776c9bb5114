/* deliver: one attempt per due webhook_deliveries row (see hooks.h), with
 * libcurl, the address rule of wa_url.h on every socket, and the headers
 * docs/webhooks.md documents. */
#include "engine/hooks/hooks.h"
#include "wa_log.h"
#include "config.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int wa_hooks_sign(const char *secret, const char *ts, const char *body, size_t body_len, char *out, size_t cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t tl = strlen(ts), n = tl + 1 + body_len;
	char *msg;

	if (cap < 7 + 64 + 1 || !(msg = malloc(n)))
		return -1;
	memcpy(msg, ts, tl);
	msg[tl] = '.';
	memcpy(msg + tl + 1, body, body_len);
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, n, md, &mdlen) ||
	    mdlen != 32) {
		free(msg);
		return -1;
	}
	free(msg);
	memcpy(out, "sha256=", 7);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

long wa_hooks_backoff_ms(const struct wa_hooks_cfg *hc, unsigned attempts)
{
	long d = hc->retry_first_ms;

	for (unsigned i = 1; i < attempts && d < hc->retry_max_ms; i++)
		d *= 2;
	if (d > hc->retry_max_ms)
		d = hc->retry_max_ms;
	return d / 2 + (long)((double)random() / ((double)RAND_MAX + 1.0) * (double)(d - d / 2 + 1));
}

struct attempt {
	const struct wa_fetch_policy *p;
	const char *host;
	int refused;
	char why[256];
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *cp)
{
	(void)data;
	(void)cp;
	return size * nmemb;  /* the receiver's answer is not kept */
}

static curl_socket_t on_open(void *cp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct attempt *x = cp;
	char w[160];

	if (purpose != CURLSOCKTYPE_IPCXN || (a->family != AF_INET && a->family != AF_INET6)) {
		x->refused = 1;
		snprintf(x->why, sizeof x->why, "refused: %s: not an IP connection", x->host);
		return CURL_SOCKET_BAD;
	}
	if (wa_addr_allowed_host(x->p, x->host, &a->addr, w, sizeof w) != WA_OK) {
		x->refused = 1;
		snprintf(x->why, sizeof x->why, "refused: %s: %s", x->host, w);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* One handle for every attempt: curl_easy_reset() keeps its connection
 * cache, so a receiver that keeps connections alive is not reconnected for
 * each event. */
static CURL *curl_h;

void wa_hooks_http_cleanup(void)
{
	curl_easy_cleanup(curl_h);
	curl_h = NULL;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One POST. Returns the HTTP status (0 when there was no response) and the
 * error text in why ("" on a 2xx). */
static long post(const struct wa_hooks_cfg *hc, const char *url, const char *secret, unsigned long long event_id,
		 const char *event, unsigned attempt, const char *body, char *why, size_t cap)
{
	struct attempt x = { .p = &hc->policy };
	struct wa_url u;
	struct curl_slist *h = NULL;
	char line[160], ts[24], sig[80], ebuf[CURL_ERROR_SIZE] = "";
	CURL *c;
	CURLcode rc;
	long code = 0;

	why[0] = '\0';
	if (wa_url_check(url, &hc->policy, x.why, sizeof x.why) != WA_OK ||
	    wa_url_parse(url, &u, x.why, sizeof x.why) != WA_OK) {
		snprintf(why, cap, "%s", x.why);
		return 0;
	}
	x.host = u.host;
	snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
#define ADD(...) do { \
		struct curl_slist *n_; \
		snprintf(line, sizeof line, __VA_ARGS__); \
		if (!(n_ = curl_slist_append(h, line))) \
			goto oom; \
		h = n_; \
	} while (0)
	ADD("Content-Type: application/json");
	ADD("X-WA-AKG-Event: %s", event);
	ADD("X-WA-AKG-Event-Id: %llu", event_id);
	ADD("X-WA-AKG-Timestamp: %s", ts);
	ADD("X-WA-AKG-Attempt: %u", attempt);
	if (secret && *secret) {
		if (wa_hooks_sign(secret, ts, body, strlen(body), sig, sizeof sig) != 0)
			goto oom;
		ADD("X-WA-AKG-Signature: %s", sig);
	}
	ADD("Expect:");
#undef ADD
	if (!curl_h && !(curl_h = curl_easy_init()))
		goto oom;
	c = curl_h;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "wa-akg-hooks/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, hc->policy.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, hc->policy.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (x.refused)
		snprintf(why, cap, "%s", x.why);
	else if (rc != CURLE_OK)
		snprintf(why, cap, "%s", *ebuf ? ebuf : curl_easy_strerror(rc));
	else if (code < 200 || code > 299)
		snprintf(why, cap, "HTTP %ld", code);
	curl_slist_free_all(h);
	return rc == CURLE_OK ? code : 0;
oom:
	curl_slist_free_all(h);
	snprintf(why, cap, "out of memory");
	return 0;
}

/* Pause a webhook that kept failing and tell its owner, once: only the
 * statement that turns is_active off writes the notification. */
static int pause_hook(struct wa_db *db, unsigned long long hook, const char *url, const char *why)
{
	long long n;
	char msg[768];

	if (wa_db_begin(db) != 0)
		return -1;
	n = wa_db_exec(db, "UPDATE webhooks SET is_active = 0 WHERE id = ? AND is_active = 1", "u", hook);
	if (n > 0) {
		snprintf(msg, sizeof msg, "Webhook %llu (%s) failed for too long and was paused; last error: %s. "
			 "Set isActive to true to resume it.", hook, url, why);
		if (wa_db_exec(db, "INSERT INTO notifications (user_id, title, message, type, href) "
			       "SELECT user_id, 'Webhook paused', ?, 'WARNING', NULL FROM webhooks WHERE id = ?",
			       "su", msg, hook) < 0) {
			wa_db_rollback(db);
			return -1;
		}
	}
	if (n < 0 || wa_db_commit(db) != 0) {
		wa_db_rollback(db);
		return -1;
	}
	if (n > 0)
		wa_warn("webhook %llu paused: %s", hook, why);
	return 0;
}

/* The columns one attempt needs, of a webhook_deliveries row d. */
#define ROW_COLS \
	"SELECT d.id, d.webhook_id AS hook, d.outbox_id AS ev, d.event, d.payload, d.attempt, " \
	"TIMESTAMPDIFF(SECOND, d.created_at, NOW(3)) AS age, w.url, w.secret, o.wa_session_id AS sess " \
	"FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id " \
	"JOIN events_outbox o ON o.id = d.outbox_id "

/* Due heads: the oldest PENDING row of each (webhook, session), when it is
 * due and its webhook active. One pass over the pending rows (the
 * (state, next_attempt_at) index), not one per row. */
static const char due_sql[] =
	ROW_COLS
	"JOIN (SELECT d1.webhook_id, MIN(d1.outbox_id) AS head FROM webhook_deliveries d1 "
	"JOIN events_outbox o1 ON o1.id = d1.outbox_id WHERE d1.state = 'PENDING' "
	"GROUP BY d1.webhook_id, o1.wa_session_id) h ON h.webhook_id = d.webhook_id AND h.head = d.outbox_id "
	"WHERE (d.next_attempt_at IS NULL OR d.next_attempt_at <= NOW(3)) AND w.is_active = 1 "
	"ORDER BY d.outbox_id LIMIT ?";

/* The next PENDING row of one (webhook, session) after a delivered one. */
static const char next_sql[] =
	ROW_COLS
	"WHERE d.webhook_id = ? AND d.state = 'PENDING' AND o.wa_session_id <=> ? AND d.outbox_id > ? "
	"AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= NOW(3)) AND w.is_active = 1 "
	"ORDER BY d.outbox_id LIMIT 1";

/* One attempt of row and its bookkeeping: 1 delivered, 0 failed, -1 on a
 * database failure. */
static int attempt_row(struct wa_db *db, const struct wa_hooks_cfg *hc, json_t *row, long *retry_ms)
{
	unsigned long long id = (unsigned long long)json_integer_value(json_object_get(row, "id"));
	unsigned long long hook = (unsigned long long)json_integer_value(json_object_get(row, "hook"));
	unsigned long long ev = (unsigned long long)json_integer_value(json_object_get(row, "ev"));
	unsigned attempt = (unsigned)json_integer_value(json_object_get(row, "attempt")) + 1;
	long long age = json_integer_value(json_object_get(row, "age"));
	const char *url = json_string_value(json_object_get(row, "url"));
	const char *event = json_string_value(json_object_get(row, "event"));
	char why[512];
	int pause = 0;
	long long t0 = mono_ms(), ms, n;
	long code;

	code = post(hc, url, json_string_value(json_object_get(row, "secret")), ev, event, attempt,
		    json_string_value(json_object_get(row, "payload")), why, sizeof why);
	ms = mono_ms() - t0;
	if (!why[0]) {
		n = wa_db_exec(db, "UPDATE webhook_deliveries SET state = 'DELIVERED', status_code = ?, "
			       "attempt = ?, delivered_at = NOW(3), duration_ms = ?, error = NULL, "
			       "next_attempt_at = NULL WHERE id = ?",
			       "iiiu", (long long)code, (long long)attempt, ms, id);
		wa_info("webhook %llu: event %llu (%s) delivered, HTTP %ld, %lld ms, attempt %u", hook, ev, event,
			code, ms, attempt);
	} else if (age >= hc->give_up_hours * 3600) {
		n = wa_db_exec(db, "UPDATE webhook_deliveries SET state = 'FAILED', status_code = NULLIF(?, 0), "
			       "attempt = ?, duration_ms = ?, error = ?, next_attempt_at = NULL WHERE id = ?",
			       "iiisu", (long long)code, (long long)attempt, ms, why, id);
		wa_warn("webhook %llu: event %llu (%s) given up after %u attempts: %s", hook, ev, event, attempt,
			why);
	} else {
		long wait = wa_hooks_backoff_ms(hc, attempt);

		if (*retry_ms < 0 || wait < *retry_ms)
			*retry_ms = wait;
		pause = age >= hc->pause_after_hours * 3600;
		n = wa_db_exec(db, "UPDATE webhook_deliveries SET status_code = NULLIF(?, 0), attempt = ?, "
			       "duration_ms = ?, error = ?, "
			       "next_attempt_at = NOW(3) + INTERVAL ? * 1000 MICROSECOND WHERE id = ?",
			       "iiisiu", (long long)code, (long long)attempt, ms, why, (long long)wait, id);
		wa_info("webhook %llu: event %llu (%s) attempt %u failed (%s), next in %ld ms", hook, ev, event,
			attempt, why, wait);
	}
	if (n < 0 || (pause && pause_hook(db, hook, url, why) != 0))
		return -1;
	return !why[0];
}

int wa_hooks_deliver(struct wa_db *db, const struct wa_hooks_cfg *hc, int *attempted, long *retry_ms)
{
	json_t *rows = wa_db_query(db, due_sql, "i", (long long)hc->batch), *row;
	size_t i;
	int ok = 0, rc = 0;

	*attempted = 0;
	*retry_ms = -1;
	if (!rows)
		return -1;
	json_array_foreach(rows, i, row) {
		json_t *cur = json_incref(row), *next;
		long drained = 0;

		/* A delivered head lets its queue go on at once, up to hc->batch
		 * rows, rather than waiting for the next pass. */
		for (;;) {
			json_t *sess = json_object_get(cur, "sess");
			int r1, err = 0;

			(*attempted)++;
			r1 = attempt_row(db, hc, cur, retry_ms);
			if (r1 < 0)
				rc = -1;
			if (r1 <= 0)
				break;
			ok++;
			if (++drained >= hc->batch || !json_is_integer(sess) || wa_hooks_stop_requested())
				break;
			next = wa_db_row(db, &err, next_sql, "uuu",
					 (unsigned long long)json_integer_value(json_object_get(cur, "hook")),
					 (unsigned long long)json_integer_value(sess),
					 (unsigned long long)json_integer_value(json_object_get(cur, "ev")));
			if (err)
				rc = -1;
			if (!next)
				break;
			json_decref(cur);
			cur = next;
		}
		json_decref(cur);
		if (rc < 0 || wa_hooks_stop_requested())
			break;
	}
	json_decref(rows);
	return rc < 0 ? -1 : ok;
}
