/* deliver: one attempt per due webhook_deliveries row (see hooks.h), with
 * libcurl's multi interface (up to hooks.parallel attempts at once, so a
 * slow receiver holds up only its own queue), the address rule of wa_url.h
 * on every socket, and the headers docs/webhooks.md documents. */
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

/* One attempt in flight: its easy handle (kept from pass to pass), the
 * request's headers, the row it delivers and the address check's state. */
struct slot {
	CURL *c;
	struct curl_slist *h;
	json_t *row;           /* owned while in flight */
	const struct wa_fetch_policy *p;
	struct wa_url u;       /* the URL's host, for on_open */
	long long t0;
	long drained;          /* rows of this queue delivered in this pass */
	int refused;
	char why[512];
	char ebuf[CURL_ERROR_SIZE];
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *cp)
{
	(void)data;
	(void)cp;
	return size * nmemb;  /* the receiver's answer is not kept */
}

static curl_socket_t on_open(void *cp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct slot *x = cp;
	char w[160];

	if (purpose != CURLSOCKTYPE_IPCXN || (a->family != AF_INET && a->family != AF_INET6)) {
		x->refused = 1;
		snprintf(x->why, sizeof x->why, "refused: %s: not an IP connection", x->u.host);
		return CURL_SOCKET_BAD;
	}
	if (wa_addr_allowed_host(x->p, x->u.host, &a->addr, w, sizeof w) != WA_OK) {
		x->refused = 1;
		snprintf(x->why, sizeof x->why, "refused: %s: %s", x->u.host, w);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* The multi handle and its slots live from the first pass to exit: the
 * multi handle's connection cache keeps a receiver's kept-alive
 * connections from one event (and one pass) to the next. */
static CURLM *multi;
static struct slot *slots;
static long nslots;

void wa_hooks_http_cleanup(void)
{
	for (long i = 0; i < nslots; i++) {
		if (slots[i].c) {
			if (multi)
				curl_multi_remove_handle(multi, slots[i].c);
			curl_easy_cleanup(slots[i].c);
		}
		curl_slist_free_all(slots[i].h);
		json_decref(slots[i].row);
	}
	free(slots);
	slots = NULL;
	nslots = 0;
	if (multi)
		curl_multi_cleanup(multi);
	multi = NULL;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *row_str(json_t *row, const char *k)
{
	return json_string_value(json_object_get(row, k));
}

static unsigned long long row_u(json_t *row, const char *k)
{
	return (unsigned long long)json_integer_value(json_object_get(row, k));
}

/* Set x up for one POST of its row and add it to the multi handle. 0 when
 * it is in flight; -1 when it failed before any connection (x->why says
 * why: a refused URL, out of memory). */
static int prepare(const struct wa_hooks_cfg *hc, struct slot *x)
{
	const char *url = row_str(x->row, "url"), *secret = row_str(x->row, "secret");
	const char *body = row_str(x->row, "payload"), *event = row_str(x->row, "event");
	char line[160], ts[24], sig[80];
	CURL *c;

	x->p = &hc->policy;
	x->refused = 0;
	x->why[0] = x->ebuf[0] = '\0';
	x->t0 = mono_ms();
	if (!url || !body || !event) {
		snprintf(x->why, sizeof x->why, "delivery row incomplete");
		return -1;
	}
	if (wa_url_check(url, &hc->policy, x->why, sizeof x->why) != WA_OK ||
	    wa_url_parse(url, &x->u, x->why, sizeof x->why) != WA_OK)
		return -1;
	snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
	curl_slist_free_all(x->h);
	x->h = NULL;
#define ADD(...) do { \
		struct curl_slist *n_; \
		snprintf(line, sizeof line, __VA_ARGS__); \
		if (!(n_ = curl_slist_append(x->h, line))) \
			goto oom; \
		x->h = n_; \
	} while (0)
	ADD("Content-Type: application/json");
	ADD("X-WA-AKG-Event: %s", event);
	ADD("X-WA-AKG-Event-Id: %llu", row_u(x->row, "ev"));
	ADD("X-WA-AKG-Timestamp: %s", ts);
	ADD("X-WA-AKG-Attempt: %u", (unsigned)row_u(x->row, "attempt") + 1);
	if (secret && *secret) {
		if (wa_hooks_sign(secret, ts, body, strlen(body), sig, sizeof sig) != 0)
			goto oom;
		ADD("X-WA-AKG-Signature: %s", sig);
	}
	ADD("Expect:");
#undef ADD
	if (!x->c && !(x->c = curl_easy_init()))
		goto oom;
	c = x->c;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
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
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, hc->policy.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, hc->policy.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->ebuf);
	if (curl_multi_add_handle(multi, c) != CURLM_OK)
		goto oom;
	return 0;
oom:
	snprintf(x->why, sizeof x->why, "out of memory");
	return -1;
}

/* The HTTP status of x's finished transfer (0 when there was no response)
 * and, in x->why, the error text ("" on a 2xx). */
static long result(struct slot *x, CURLcode rc)
{
	long code = 0;

	curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
	if (x->refused)
		return 0;  /* x->why is set */
	if (rc != CURLE_OK)
		snprintf(x->why, sizeof x->why, "%s", *x->ebuf ? x->ebuf : curl_easy_strerror(rc));
	else if (code < 200 || code > 299)
		snprintf(x->why, sizeof x->why, "HTTP %ld", code);
	return rc == CURLE_OK ? code : 0;
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

/* Claim row for one attempt: its next_attempt_at moves past the attempt's
 * deadline, so another wa-akg-hooks (or this one's next pass) does not
 * send it meanwhile; the attempt's bookkeeping overwrites it. After a
 * crash in the middle the row is due again once the claim runs out: at
 * least once. 1 claimed, 0 taken by another instance, -1 database error. */
static int claim(struct wa_db *db, const struct wa_hooks_cfg *hc, json_t *row)
{
	long long n = wa_db_exec(db, "UPDATE webhook_deliveries SET next_attempt_at = NOW(3) + INTERVAL ? "
				 "MICROSECOND WHERE id = ? AND state = 'PENDING' AND "
				 "(next_attempt_at IS NULL OR next_attempt_at <= NOW(3))", "iu",
				 (long long)(hc->policy.timeout_ms + WA_HOOKS_CLAIM_SLACK_MS) * 1000,
				 row_u(row, "id"));

	return n < 0 ? -1 : n > 0;
}

/* The bookkeeping of x's finished attempt (code, x->why): 1 delivered, 0
 * failed, -1 on a database failure. */
static int record(struct wa_db *db, const struct wa_hooks_cfg *hc, struct slot *x, long code, long *retry_ms)
{
	json_t *row = x->row;
	unsigned long long id = row_u(row, "id"), hook = row_u(row, "hook"), ev = row_u(row, "ev");
	unsigned attempt = (unsigned)row_u(row, "attempt") + 1;
	long long age = json_integer_value(json_object_get(row, "age"));
	const char *url = row_str(row, "url"), *event = row_str(row, "event"), *why = x->why;
	long long ms = mono_ms() - x->t0, n;
	int pause = 0;

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

/* The state of one pass. */
struct pass {
	struct wa_db *db;
	const struct wa_hooks_cfg *hc;
	int *attempted;
	long *retry_ms;
	int ok, dberr;
};

static int running;  /* attempts in flight, across passes */

/* Start the claimed row (the caller's reference, taken over here) on the
 * free slot x; one that fails before connecting is recorded at once.
 * Returns 1 when x is busy with it. */
static int start(struct pass *ps, struct slot *x, json_t *row)
{
	x->row = row;
	(*ps->attempted)++;
	if (prepare(ps->hc, x) == 0) {
		running++;
		return 1;
	}
	if (record(ps->db, ps->hc, x, 0, ps->retry_ms) < 0)
		ps->dberr = 1;
	json_decref(x->row);
	x->row = NULL;
	return 0;
}

/* x's transfer ended with rc: record it, and when it was delivered go on
 * with the next event of its queue on the same slot. The record of a
 * delivered row, the read of the next one and its claim are one
 * transaction (one commit per delivery). A database failure leaves the row
 * claimed: it is attempted again once the claim runs out. */
static void finished(struct pass *ps, struct slot *x, CURLcode rc)
{
	json_t *next = NULL, *sess = json_object_get(x->row, "sess");
	long code;
	int r, go, err = 0, c = 0;

	curl_multi_remove_handle(multi, x->c);
	running--;
	code = result(x, rc);
	/* A delivered head lets its queue go on at once, up to hc->batch rows
	 * in a row, rather than waiting for the next due query. */
	go = !x->why[0] && x->drained + 1 < ps->hc->batch && json_is_integer(sess) && !wa_hooks_stop_requested();
	if (ps->dberr || (go && wa_db_begin(ps->db) != 0)) {
		r = -1;
	} else {
		r = record(ps->db, ps->hc, x, code, ps->retry_ms);
		if (r > 0 && go) {
			next = wa_db_row(ps->db, &err, next_sql, "uuu", row_u(x->row, "hook"),
					 (unsigned long long)json_integer_value(sess), row_u(x->row, "ev"));
			if (next && !err)
				c = claim(ps->db, ps->hc, next);
			if (err || c < 0 || wa_db_commit(ps->db) != 0) {
				wa_db_rollback(ps->db);
				r = -1;
			}
		} else if (go) {
			wa_db_rollback(ps->db);  /* the record failed */
		}
	}
	if (r < 0)
		ps->dberr = 1;
	if (r > 0)
		ps->ok++;
	json_decref(x->row);
	x->row = NULL;
	if (r > 0 && next && c > 0) {
		x->drained++;
		start(ps, x, next);
	} else {
		json_decref(next);
	}
}

int wa_hooks_in_flight(void)
{
	return running;
}

void wa_hooks_wait(long ms, int fd)
{
	struct curl_waitfd w = { .fd = fd, .events = CURL_WAIT_POLLIN };

	if (multi)
		curl_multi_poll(multi, fd >= 0 ? &w : NULL, fd >= 0 ? 1 : 0, (int)ms, NULL);
}

/* Record the attempts that ended. */
static void reap(struct pass *ps)
{
	CURLMsg *m;
	int left, still;

	curl_multi_perform(multi, &still);
	while ((m = curl_multi_info_read(multi, &left))) {
		char *pv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &pv);
		finished(ps, (struct slot *)(void *)pv, m->data.result);
	}
}

int wa_hooks_deliver(struct wa_db *db, const struct wa_hooks_cfg *hc, int scan, int *attempted, long *retry_ms)
{
	static int backlog;  /* the last due query found more queues than free slots */
	struct pass ps = { .db = db, .hc = hc, .attempted = attempted, .retry_ms = retry_ms };
	json_t *rows, *row, *mine;
	size_t i;
	long k = 0;

	*attempted = 0;
	*retry_ms = -1;
	if (!multi) {
		if (!(multi = curl_multi_init()) || !(slots = calloc((size_t)hc->parallel, sizeof *slots))) {
			wa_error("out of memory for %ld parallel deliveries", hc->parallel);
			wa_hooks_http_cleanup();
			return -1;
		}
		nslots = hc->parallel;
	}
	reap(&ps);
	/* free slots take the due queues; a queue in flight has its head
	 * claimed (not due), so it is not among them */
	if ((scan || backlog) && running < nslots && !ps.dberr && !wa_hooks_stop_requested()) {
		if (!(rows = wa_db_query(db, due_sql, "i", (long long)hc->batch)))
			return -1;
		backlog = 0;
		/* the claims of a scan in one transaction, then the attempts */
		if (wa_db_begin(db) != 0) {
			json_decref(rows);
			return -1;
		}
		mine = json_array();
		json_array_foreach(rows, i, row) {
			int c;

			if (json_array_size(mine) + (size_t)running >= (size_t)nslots) {
				backlog = 1;
				break;
			}
			if ((c = claim(db, hc, row)) < 0)
				ps.dberr = 1;
			if (c < 0 || !mine)
				break;
			if (c > 0)
				json_array_append(mine, row);
		}
		json_decref(rows);
		if (ps.dberr || !mine || wa_db_commit(db) != 0) {
			wa_db_rollback(db);
			json_decref(mine);
			return -1;
		}
		json_array_foreach(mine, i, row) {
			while (k < nslots && slots[k].row)
				k++;
			if (k == nslots)
				break;  /* not reached: a slot per claimed row */
			slots[k].drained = 0;
			start(&ps, &slots[k], json_incref(row));
		}
		json_decref(mine);
	}
	if (running > 0)
		reap(&ps);
	return ps.dberr ? -1 : ps.ok;
}
