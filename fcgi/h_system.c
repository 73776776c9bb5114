/* h_system: global settings (system_settings key/value rows) and the
 * release check.
 *
 * Only the keys in `settings[]` are ever read or written through the API,
 * each under its API name; anything else in the table (in particular keys
 * starting with "auth_") stays invisible. POST validates every field before
 * writing and writes all of them in one transaction.
 *
 * check-updates fetches updates.feed_url (a GitHub-style "latest release"
 * JSON document with tag_name) with libcurl under updates.timeout_ms, a 1 MiB
 * cap and http(s) only. A newer version than ours creates one SYSTEM
 * notification per SUPERADMIN (once per version). When the feed cannot be
 * read the answer is 500 in the error shape with "success": false and
 * "version": null, message "could not check for updates: <reason>". */
#include "config.h"

#include "fcgi/app.h"
#include "fcgi/db.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "wa_config.h"
#include "wa_log.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum skind { S_TEXT, S_URL, S_TZ, S_BOOL };

struct setting {
	const char *api;
	const char *key;
	enum skind kind;
	size_t max;
};

static const struct setting settings[] = {
	{ "appName", "app_name", S_TEXT, 100 },
	{ "logoUrl", "logo_url", S_URL, 2048 },
	{ "faviconUrl", "favicon_url", S_URL, 2048 },
	{ "timezone", "timezone", S_TZ, 64 },
	{ "enableRegistration", "enable_registration", S_BOOL, 0 },
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

/* ---- settings -------------------------------------------------------------- */

static json_t *load_settings(struct wa_req *r)
{
	json_t *rows, *row, *out;
	size_t i, k;

	rows = wa_db_query(r->db, "SELECT `key`, value, updated_at FROM system_settings WHERE `key` IN "
			   "('app_name', 'logo_url', 'favicon_url', 'timezone', 'enable_registration')", "");
	if (!rows)
		return NULL;
	out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:n}", "id", "default", "appName", "WA-AKG", "logoUrl", "",
			"faviconUrl", "", "timezone", "UTC", "enableRegistration", 1, "updatedAt");
	if (!out) {
		json_decref(rows);
		return NULL;
	}
	json_array_foreach(rows, i, row) {
		const char *key = json_string_value(json_object_get(row, "key"));
		const char *val = json_string_value(json_object_get(row, "value"));
		json_t *upd = json_object_get(row, "updated_at"), *cur = json_object_get(out, "updatedAt");

		for (k = 0; k < NSETTINGS; k++)
			if (key && val && strcmp(key, settings[k].key) == 0)
				json_object_set_new(out, settings[k].api, settings[k].kind == S_BOOL ?
						    json_boolean(strcmp(val, "true") == 0) : json_string(val));
		/* updatedAt = the newest change; ISO strings compare in time order. */
		if (json_is_string(upd) && (!json_is_string(cur) ||
					    strcmp(json_string_value(upd), json_string_value(cur)) > 0))
			json_object_set(out, "updatedAt", upd);
	}
	json_decref(rows);
	return out;
}

int h_settings_get(struct wa_req *r)
{
	json_t *s = load_settings(r);

	if (!s)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_json(r, 200, s);
}

/* An IANA zone name that exists in the system's zoneinfo ("UTC",
 * "Asia/Jakarta", "America/Argentina/Buenos_Aires"). */
static int valid_timezone(const char *tz)
{
	char path[256];
	struct stat st;
	size_t n = strlen(tz);

	if (n == 0 || n > 64 || tz[0] == '/' || tz[0] == '.' || strstr(tz, "..") ||
	    strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") != n)
		return 0;
	if (strcmp(tz, "UTC") == 0)
		return 1;
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int check_setting(struct wa_req *r, const struct setting *s, json_t *v, const char **text)
{
	const char *str = json_string_value(v);

	switch (s->kind) {
	case S_BOOL:
		if (!json_is_boolean(v))
			return wa_reply_errorf(r, 400, "validation_error", "'%s' must be a boolean", s->api);
		*text = json_is_true(v) ? "true" : "false";
		return 0;
	case S_TEXT:
		if (!str || !*str || strlen(str) > s->max)
			return wa_reply_errorf(r, 400, "validation_error", "'%s' must be a string of 1 to %zu characters",
					       s->api, s->max);
		break;
	case S_URL:
		if (!str)
			return wa_reply_errorf(r, 400, "validation_error", "'%s' must be a string", s->api);
		/* "" = none; a site path (/logo.png) or an http(s) URL otherwise */
		if (*str && !(str[0] == '/' && str[1] != '/' && !strpbrk(str, " \t\r\n\\") && strlen(str) <= s->max) &&
		    wa_check_http_url(r, s->api, str) < 0)
			return -1;
		break;
	case S_TZ:
		if (!str || !valid_timezone(str))
			return wa_reply_errorf(r, 400, "validation_error",
					       "'%s' must be an IANA time zone name such as Asia/Jakarta or UTC", s->api);
		break;
	}
	*text = str;
	return 0;
}

int h_settings_set(struct wa_req *r)
{
	const char *vals[NSETTINGS] = { 0 }, *k;
	json_t *v, *out;
	size_t i;
	int any = 0;

	/* The reference: "Update global system configuration (Superadmin/Owner only)". */
	if (r->user.role != WA_ROLE_SUPERADMIN && r->user.role != WA_ROLE_OWNER)
		return wa_reply_error(r, 403, "Forbidden - only a SUPERADMIN or an OWNER may change system settings",
				      "forbidden");
	if (wa_body_begin(r, 0, NULL) < 0)
		return -1;
	json_object_foreach(r->json, k, v) {
		int known = strcmp(k, "id") == 0 || strcmp(k, "updatedAt") == 0;

		for (i = 0; i < NSETTINGS; i++)
			if (strcmp(k, settings[i].api) == 0) {
				if (check_setting(r, &settings[i], v, &vals[i]) < 0)
					return -1;
				known = any = 1;
			}
		if (!known)
			return wa_reply_errorf(r, 400, "validation_error",
					       "Unknown setting '%.64s' (use appName, logoUrl, faviconUrl, timezone, "
					       "enableRegistration)", k);
	}
	if (!any)
		return wa_reply_error(r, 400, "No setting given (appName, logoUrl, faviconUrl, timezone, "
				      "enableRegistration)", "validation_error");
	if (wa_db_begin(r->db) < 0)
		return wa_reply_db_error(r, "Failed to update settings");
	for (i = 0; i < NSETTINGS; i++)
		if (vals[i] && wa_db_exec(r->db, "INSERT INTO system_settings (`key`, value) VALUES (?, ?) "
					  "ON DUPLICATE KEY UPDATE value = VALUES(value)", "ss",
					  settings[i].key, vals[i]) < 0) {
			wa_db_rollback(r->db);
			return wa_reply_db_error(r, "Failed to update settings");
		}
	if (wa_db_commit(r->db) < 0)
		return wa_reply_db_error(r, "Failed to update settings");
	wa_info("system settings updated by user %llu", (unsigned long long)r->user.id);
	out = load_settings(r);
	if (!out)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_json(r, 200, out);
}

/* ---- check-updates --------------------------------------------------------- */

#define FEED_MAX (1024 * 1024)

struct feed_buf {
	char *data;
	size_t len;
	int too_big;
};

static size_t feed_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct feed_buf *b = ud;
	size_t n = size * nmemb;
	char *p;

	if (b->len + n > FEED_MAX) {
		b->too_big = 1;
		return 0;
	}
	p = realloc(b->data, b->len + n + 1);
	if (!p)
		return 0;
	b->data = p;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Fetch the feed into *out (malloc'd, NUL-terminated). 0, or -1 with err. */
static int fetch_feed(const char *url, long timeout_ms, char **out, char *err, size_t errlen)
{
	struct feed_buf b = { 0 };
	char ebuf[CURL_ERROR_SIZE] = "";
	CURL *c;
	CURLcode rc;
	long code = 0;

	pthread_once(&curl_once, curl_init_once);
	c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_USERAGENT, "wa-akg/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, feed_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", b.too_big ? "release feed larger than 1 MiB" :
			 ebuf[0] ? ebuf : curl_easy_strerror(rc));
		free(b.data);
		return -1;
	}
	if (code < 200 || code >= 300) {
		snprintf(err, errlen, "release feed answered HTTP %ld", code);
		free(b.data);
		return -1;
	}
	if (!b.data) {
		snprintf(err, errlen, "empty release feed");
		return -1;
	}
	*out = b.data;
	return 0;
}

/* Compare dotted version numbers ("v1.2.10" vs "0.1.0"): <0, 0, >0. */
static int version_cmp(const char *a, const char *b)
{
	if (*a == 'v' || *a == 'V')
		a++;
	if (*b == 'v' || *b == 'V')
		b++;
	while (*a || *b) {
		long x = 0, y = 0;

		while (isdigit((unsigned char)*a) && x < 1000000)
			x = x * 10 + (*a++ - '0');
		while (isdigit((unsigned char)*b) && y < 1000000)
			y = y * 10 + (*b++ - '0');
		if (x != y)
			return x < y ? -1 : 1;
		/* stop at anything that is not a dot (pre-release suffixes compare equal) */
		if (*a != '.' || *b != '.')
			break;
		a++;
		b++;
	}
	return 0;
}

static int update_failed(struct wa_req *r, const char *why)
{
	char msg[512];

	snprintf(msg, sizeof msg, "could not check for updates: %s", why);
	wa_warn("%s", msg);
	return wa_reply_json(r, 500, json_pack("{s:b,s:b,s:s,s:s,s:n}", "status", 0, "success", 0, "message", msg,
					      "error", "update_check_failed", "version"));
}

int h_check_updates(struct wa_req *r)
{
	const char *url = wa_config_get(r->app->cfg, "updates.feed_url");
	long timeout = 5000;
	char err[CURL_ERROR_SIZE + 64], *body = NULL, msg[300], title[128];
	json_t *feed;
	const char *tag, *link;

	if (wa_config_get_int(r->app->cfg, "updates.timeout_ms", 100, 120000, &timeout, err, sizeof err) < 0)
		timeout = 5000;
	if (!url || !*url)
		return update_failed(r, "no release feed configured (updates.feed_url)");
	if (fetch_feed(url, timeout, &body, err, sizeof err) < 0)
		return update_failed(r, err);
	feed = json_loads(body, 0, NULL);
	free(body);
	tag = json_string_value(json_object_get(feed, "tag_name"));
	if (!tag || !*tag || strlen(tag) > 64) {
		json_decref(feed);
		return update_failed(r, "the release feed has no tag_name");
	}
	link = json_string_value(json_object_get(feed, "html_url"));
	if (version_cmp(tag, PACKAGE_VERSION) > 0) {
		snprintf(title, sizeof title, "Update available: %s", tag);
		snprintf(msg, sizeof msg, "WA-AKG %s is available (running %s).", tag, PACKAGE_VERSION);
		/* One notification per SUPERADMIN and version, however often this runs. */
		if (wa_db_exec(r->db,
			       "INSERT INTO notifications (user_id, title, message, type, href) "
			       "SELECT u.id, ?, ?, 'SYSTEM', ? FROM users u WHERE u.role = 'SUPERADMIN' AND NOT EXISTS "
			       "(SELECT 1 FROM notifications n WHERE n.user_id = u.id AND n.type = 'SYSTEM' AND n.title = ?)",
			       "ssss", title, msg, link && strncmp(link, "http", 4) == 0 && strlen(link) < 2048 ? link : NULL,
			       title) < 0)
			wa_warn("update check: cannot create the notification");
		snprintf(msg, sizeof msg, "A new version is available: %s (running %s)", tag, PACKAGE_VERSION);
	} else {
		snprintf(msg, sizeof msg, "You are running the latest version (%s)", PACKAGE_VERSION);
	}
	wa_reply_json(r, 200, json_pack("{s:b,s:s,s:s,s:s}", "success", 1, "message", msg, "version", tag,
					"current", PACKAGE_VERSION));
	json_decref(feed);
	return 0;
}
