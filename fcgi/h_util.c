/* h_util: helpers shared by the stored-data handlers (see h_util.h). */
#include "fcgi/h_util.h"
#include "fcgi/validate.h"
#include "fcgi/app.h"
#include "fcgi/db.h"
#include "wa_cron.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa_util.h"
#include "wa/jid.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int wa_id_parse(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t n;

	if (!s)
		return -1;
	n = strlen(s);
	/* 19 digits always fit: no overflow check needed beyond the length. */
	if (n == 0 || n > 19 || strspn(s, "0123456789") != n)
		return -1;
	for (const char *p = s; *p; p++)
		v = v * 10 + (unsigned long long)(*p - '0');
	if (v == 0)
		return -1;
	*out = v;
	return 0;
}

int wa_path_id(struct wa_req *r, const char *name, unsigned long long *out)
{
	const char *s = wa_req_path_param(r, name);

	if (wa_id_parse(s, out) < 0)
		return wa_reply_errorf(r, 400, "validation_error", "Invalid '%s' '%.40s': must be a numeric id",
				       name, s ? s : "");
	return 0;
}

int wa_body_id(struct wa_req *r, const char *name, int required, unsigned long long *out)
{
	json_t *v = json_object_get(r->json, name);
	char buf[24];

	if (!v || json_is_null(v)) {
		if (required)
			return wa_reply_errorf(r, 400, "validation_error", "Missing required field '%s'", name);
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = (unsigned long long)json_integer_value(v);
		return 1;
	}
	if (json_is_string(v) && json_string_length(v) < sizeof buf) {
		snprintf(buf, sizeof buf, "%s", json_string_value(v));
		if (wa_id_parse(buf, out) == 0)
			return 1;
	}
	return wa_reply_errorf(r, 400, "validation_error", "'%s' must be a numeric id", name);
}

int wa_body_begin(struct wa_req *r, int allow_empty, const struct wa_field *fields)
{
	if (wa_req_json(r, allow_empty) < 0)
		return -1;
	if (!fields || wa_validate_body(r, fields) < 0)
		return fields ? -1 : 0;
	for (const struct wa_field *f = fields; f->type != WA_F_END; f++) {
		json_t *v = json_object_get(r->json, f->name);

		if (f->type == WA_F_STR0 && f->values && json_is_string(v) &&
		    json_string_length(v) > (size_t)strtoul(f->values, NULL, 10))
			return wa_reply_errorf(r, 400, "validation_error", "'%s' is longer than %s characters",
					       f->name, f->values);
	}
	return 0;
}

int wa_body_int_range(struct wa_req *r, const char *name, long long min, long long max, long long *out)
{
	json_t *v = json_object_get(r->json, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return wa_reply_errorf(r, 400, "validation_error", "'%s' must be an integer", name);
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return wa_reply_errorf(r, 400, "validation_error", "'%s' must be between %lld and %lld", name,
				       min, max);
	*out = json_integer_value(v);
	return 1;
}

int wa_body_jid_list(struct wa_req *r, const char *name, size_t max, json_t **out)
{
	json_t *v = json_object_get(r->json, name), *e, *res;
	char norm[WA_JID_STR_MAX];
	const char *why = "invalid";
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return wa_reply_errorf(r, 400, "validation_error", "'%s' must be an array of JIDs", name);
	if (json_array_size(v) > max)
		return wa_reply_errorf(r, 400, "validation_error", "'%s' has more than %zu entries", name, max);
	res = json_array();
	if (!res)
		return wa_reply_error(r, 500, "Out of memory", NULL);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || wa_jid_normalise_input(json_string_value(e), norm, sizeof norm, &why) < 0) {
			json_decref(res);
			return wa_reply_errorf(r, 400, "invalid_jid", "Invalid JID in '%s[%zu]': %s", name, i,
					       json_is_string(e) ? why : "not a string");
		}
		json_array_append_new(res, json_string(norm));
	}
	*out = res;
	return 1;
}

int wa_body_str_null(struct wa_req *r, const char *name, size_t maxlen, const char **out)
{
	json_t *v = json_object_get(r->json, name);

	*out = NULL;
	if (!v)
		return 0;
	if (json_is_null(v))
		return 1;
	if (!json_is_string(v))
		return wa_reply_errorf(r, 400, "validation_error", "'%s' must be a string", name);
	if (json_string_length(v) > maxlen)
		return wa_reply_errorf(r, 400, "validation_error", "'%s' is longer than %zu characters", name,
				       maxlen);
	*out = json_string_value(v);
	return 1;
}

int wa_check_http_url(struct wa_req *r, const char *field, const char *url)
{
	const char *host;
	size_t n = url ? strlen(url) : 0;

	if (!url || n > 2048)
		goto bad;
	if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		goto bad;
	if (!*host || *host == '/' || *host == '?' || *host == '#' || *host == ':')
		goto bad;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			goto bad;
	return 0;
bad:
	return wa_reply_errorf(r, 400, "validation_error", "'%s' must be an http:// or https:// URL", field);
}

int wa_check_media_url(struct wa_req *r, const char *field, const char *url)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
	const char *name;

	if (!url || !*url)
		return 0;
	if (strncmp(url, "/api/media/", 11) == 0) {
		name = url + 11;
		if (*name && strlen(name) <= 128 && name[0] != '.' && name[0] != '_' && name[0] != '-' &&
		    !strstr(name, "..") && strspn(name, ok) == strlen(name))
			return 0;
		return wa_reply_errorf(r, 400, "validation_error", "'%s' names an invalid media file", field);
	}
	return wa_check_http_url(r, field, url);
}

int wa_cron_valid(const char *expr)
{
	struct wa_cron c;

	return wa_cron_parse(expr, &c) == 0;
}

void wa_row_json_col(json_t *row, const char *key, json_t *def)
{
	json_t *v = json_object_get(row, key), *parsed = NULL;

	if (json_is_string(v))
		parsed = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
	if (!parsed)
		parsed = def ? json_deep_copy(def) : json_array();
	json_object_set_new(row, key, parsed);
}

void wa_row_bool_col(json_t *row, const char *key)
{
	json_t *v = json_object_get(row, key);

	if (json_is_integer(v))
		json_object_set_new(row, key, json_boolean(json_integer_value(v) != 0));
}

void wa_row_nest(json_t *row, const char *dst, const char *const *keys)
{
	json_t *obj = json_object();

	if (!obj)
		return;
	for (size_t i = 0; keys[i]; i++) {
		json_t *v = json_object_get(row, keys[i]);

		json_object_set(obj, keys[i][0] == '_' ? keys[i] + 1 : keys[i], v ? v : json_null());
		json_object_del(row, keys[i]);
	}
	json_object_set_new(row, dst, obj);
}

char *wa_json_text(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

int wa_reply_rows(struct wa_req *r, json_t *rows)
{
	if (!rows)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_json(r, 200, rows);
}

int wa_reply_db_error(struct wa_req *r, const char *message)
{
	/* 503 only for what wa_err calls temporary (the database down or
	 * the connection lost); a failing statement stays a 500. */
	if (wa_err_http_status(wa_db_err(r->db)) == 503)
		return wa_reply_error(r, 503, "Database unavailable, retry the request", "database_unavailable");
	return wa_reply_error(r, 500, message, NULL);
}

/* Whether the query string has parameter `name` at all (whatever its value). */
static int query_has(const char *q, const char *name)
{
	size_t nlen = strlen(name);

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t seg = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', seg);
		size_t klen = eq ? (size_t)(eq - q) : seg;
		char kbuf[128];

		if (wa_url_decode(q, klen, kbuf, sizeof kbuf, 1) == (long)nlen && memcmp(kbuf, name, nlen) == 0)
			return 1;
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

int wa_query_get(struct wa_req *r, const char *name, char *buf, size_t len)
{
	if (wa_req_query(r, name, buf, len) == 0)
		return 1;
	if (!query_has(r->query, name))
		return 0;
	return wa_reply_errorf(r, 400, "validation_error",
			       "Query parameter '%s' is malformed or longer than %zu bytes", name, len - 1);
}

int wa_query_bool(struct wa_req *r, const char *name, int *out)
{
	char buf[16];
	int rc = wa_query_get(r, name, buf, sizeof buf);

	if (rc <= 0 || !*buf)
		return rc < 0 ? -1 : 0;
	if (strcasecmp(buf, "true") == 0 || strcmp(buf, "1") == 0) {
		*out = 1;
		return 1;
	}
	if (strcasecmp(buf, "false") == 0 || strcmp(buf, "0") == 0) {
		*out = 0;
		return 1;
	}
	return wa_reply_errorf(r, 400, "validation_error", "Query parameter '%s' must be true or false", name);
}

int wa_query_int(struct wa_req *r, const char *name, long long min, long long max, long long def,
		 long long *out)
{
	char buf[32], *end;
	long long v;
	int rc;

	*out = def;
	rc = wa_query_get(r, name, buf, sizeof buf);
	if (rc < 0)
		return -1;
	if (rc == 0 || !*buf)
		return 0;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || *end || end == buf || v < min || v > max)
		return wa_reply_errorf(r, 400, "validation_error",
				       "Query parameter '%s' must be an integer between %lld and %lld", name, min, max);
	*out = v;
	return 1;
}

/* ---- ISO-8601 ---- */

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

/* Parse an ISO-8601 date-time into UTC milliseconds since the epoch.
 * Accepted: YYYY-MM-DD, optionally followed by 'T' or ' ' and HH:MM[:SS[.fff]]
 * and a zone Z / +HH:MM / +HHMM / +HH. Returns 0 or -1. */
int wa_iso8601_parse(const char *s, long long *ms_out)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, sign = 0, oh = 0, om = 0;
	struct tm tm;
	long long t;

	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' || digits(&p, 2, &d) < 0)
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) < 0)
				return -1;
			if (*p == '.' || *p == ',') {
				int scale = 100, n = 0;

				p++;
				while (isdigit((unsigned char)*p) && n < 9) {
					ms += (*p - '0') * scale;
					scale /= 10;
					p++;
					n++;
				}
				if (n == 0)
					return -1;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			if (digits(&p, 2, &oh) < 0)
				return -1;
			if (*p == ':')
				p++;
			if (isdigit((unsigned char)*p) && digits(&p, 2, &om) < 0)
				return -1;
			if (oh > 14 || om > 59)
				return -1;
		}
	}
	if (*p)
		return -1;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	if (sec == 60)
		sec = 59;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (long long)timegm(&tm);
	t -= sign * (oh * 3600LL + om * 60LL);
	*ms_out = t * 1000 + ms;
	return 0;
}

/* UTC milliseconds -> "YYYY-MM-DD HH:MM:SS.fff" for a DATETIME(3) column. */
int wa_sql_datetime(long long ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return -1;
	snprintf(out, len, "%04d-%02d-%02d %02d:%02d:%02d.%03lld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
	return 0;
}

/* Unlink the media files named by rows {"f": name} that no media_files row
 * names any more; returns how many were removed. */
size_t wa_media_remove_unreferenced(struct wa_req *r, json_t *files)
{
	char path[1024];
	json_t *row;
	size_t i, n = 0;

	if (!r->app->media_dir || !*r->app->media_dir)
		return 0;
	json_array_foreach(files, i, row) {
		const char *f = json_string_value(json_object_get(row, "f"));
		size_t len = f ? strlen(f) : 0;

		if (!len || len > 128 || f[0] == '.' || strstr(f, "..") ||
		    strspn(f, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != len)
			continue;
		if (wa_db_int(r->db, 1, "SELECT COUNT(*) FROM media_files WHERE filename = ?", "s", f) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", r->app->media_dir, f);
		if (unlink(path) == 0)
			n++;
		else if (errno != ENOENT)
			wa_warn("cannot remove %s: %s", path, strerror(errno));
	}
	return n;
}
