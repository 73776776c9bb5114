/* http: request accessors and reply helpers over libfcgi (see http.h). */
#include "fcgi/http.h"
#include "fcgi/router.h"
#include "fcgi/app.h"
#include "fcgi/db.h"
#include "wa_log.h"
#include "wa_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

const char *wa_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

const char *wa_req_param(struct wa_req *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgx->envp);
}

const char *wa_req_header(struct wa_req *r, const char *name)
{
	char key[128] = "HTTP_";
	size_t o = 5;

	if (strcasecmp(name, "Content-Type") == 0)
		return wa_req_param(r, "CONTENT_TYPE");
	if (strcasecmp(name, "Content-Length") == 0)
		return wa_req_param(r, "CONTENT_LENGTH");
	for (const char *p = name; *p && o + 1 < sizeof key; p++)
		key[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	key[o] = '\0';
	return wa_req_param(r, key);
}

int wa_req_cookie(struct wa_req *r, const char *name, char *buf, size_t len)
{
	const char *c = wa_req_header(r, "Cookie");
	size_t nlen = strlen(name);

	while (c && *c) {
		while (*c == ' ' || *c == ';')
			c++;
		if (strncmp(c, name, nlen) == 0 && c[nlen] == '=') {
			const char *v = c + nlen + 1, *e = strchr(v, ';');
			size_t vl = e ? (size_t)(e - v) : strlen(v);

			if (vl >= len)
				return -1;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			return 0;
		}
		c = strchr(c, ';');
	}
	return -1;
}

int wa_req_query(struct wa_req *r, const char *name, char *buf, size_t len)
{
	return wa_form_get(r->query, name, buf, len);
}

const char *wa_req_path_param(struct wa_req *r, const char *name)
{
	if (!r->route)
		return NULL;
	for (int i = 0; i < r->nparams && i < r->route->nparams; i++)
		if (strcmp(r->route->param_names[i], name) == 0)
			return r->params[i];
	return NULL;
}

/* The body's announced length into *want: 0, or -1 after a 400 / 413. */
static int body_length(struct wa_req *r, size_t max, unsigned long long *want)
{
	const char *cl = wa_req_param(r, "CONTENT_LENGTH");
	char *end;

	*want = 0;
	if (cl && *cl) {
		*want = strtoull(cl, &end, 10);
		if (*end)
			return wa_reply_error(r, 400, "Invalid Content-Length header", "bad_request");
	}
	if (*want > max)
		return wa_reply_errorf(r, 413, "payload_too_large",
				       "Request body is larger than the limit of %zu bytes", max);
	return 0;
}

int wa_req_read_body(struct wa_req *r, size_t max)
{
	unsigned long long want;
	size_t got = 0;

	if (r->body)
		return 0;
	if (body_length(r, max, &want) < 0)
		return -1;
	r->body = malloc((size_t)want + 1);
	if (!r->body)
		return wa_reply_error(r, 500, "Out of memory reading the request body", NULL);
	while (got < want) {
		int n = FCGX_GetStr(r->body + got, (int)(want - got > 65536 ? 65536 : want - got), r->fcgx->in);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != want)
		return wa_reply_error(r, 400, "Request body ended early", "bad_request");
	r->body[got] = '\0';
	r->body_len = got;
	return 0;
}

int wa_req_spool_body(struct wa_req *r, size_t max, const char *dir)
{
	unsigned long long want;
	char path[1100], *buf;
	size_t got = 0;
	void *map;
	int fd;

	if (r->body)
		return 0;
	if (body_length(r, max, &want) < 0)
		return -1;
	if (want == 0)
		return wa_req_read_body(r, max);
	snprintf(path, sizeof path, "%s/.spool-XXXXXX", dir && *dir ? dir : "/tmp");
	if ((fd = mkstemp(path)) < 0) {
		wa_error("cannot spool an upload into %s: %s", dir, strerror(errno));
		return wa_reply_error(r, 500, "Cannot store the upload", NULL);
	}
	unlink(path); /* gone with the descriptor, whatever happens */
	if (!(buf = malloc(65536))) {
		close(fd);
		return wa_reply_error(r, 500, "Out of memory reading the request body", NULL);
	}
	while (got < want) {
		int n = FCGX_GetStr(buf, (int)(want - got > 65536 ? 65536 : want - got), r->fcgx->in);
		size_t off = 0;

		if (n <= 0)
			break;
		while (off < (size_t)n) {
			ssize_t w = write(fd, buf + off, (size_t)n - off);

			if (w <= 0) {
				free(buf);
				close(fd);
				wa_error("cannot spool an upload: %s", strerror(errno));
				return wa_reply_error(r, 500, "Cannot store the upload", NULL);
			}
			off += (size_t)w;
		}
		got += (size_t)n;
	}
	free(buf);
	if (got != want) {
		close(fd);
		return wa_reply_error(r, 400, "Request body ended early", "bad_request");
	}
	map = mmap(NULL, got, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return wa_reply_error(r, 500, "Cannot read the spooled upload", NULL);
	r->body = map;
	r->body_len = got;
	r->body_mapped = 1;
	return 0;
}

void wa_req_release_body(struct wa_req *r)
{
	if (r->body_mapped && r->body)
		munmap(r->body, r->body_len);
	else
		free(r->body);
	r->body = NULL;
	r->body_len = 0;
	r->body_mapped = 0;
}

int wa_req_json(struct wa_req *r, int allow_empty)
{
	const char *ct = wa_req_header(r, "Content-Type");
	json_error_t jerr;
	json_t *j;
	size_t i;

	if (r->json)
		return 0;
	if (wa_req_read_body(r, r->app->max_body) < 0)
		return -1;
	for (i = 0; i < r->body_len && isspace((unsigned char)r->body[i]); i++)
		;
	if (i == r->body_len) {
		if (!allow_empty)
			return wa_reply_error(r, 400, "Request body must be a JSON object", "invalid_body");
		r->json = json_object();
		return r->json ? 0 : wa_reply_error(r, 500, "Out of memory", NULL);
	}
	if (ct && *ct && strncasecmp(ct, "application/json", 16) != 0 && strncasecmp(ct, "text/plain", 10) != 0)
		return wa_reply_errorf(r, 415, "unsupported_media_type",
				       "Content-Type must be application/json (got %.80s)", ct);
	j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return wa_reply_errorf(r, 400, "invalid_json", "Malformed JSON at line %d column %d: %s",
				       jerr.line, jerr.column, jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return wa_reply_error(r, 400, "Request body must be a JSON object", "invalid_body");
	}
	r->json = j;
	return 0;
}

void wa_reply_header(struct wa_req *r, const char *name, const char *value)
{
	int n;

	if (strpbrk(name, "\r\n") || strpbrk(value, "\r\n"))
		return;
	n = snprintf(r->extra_headers + r->extra_len, sizeof r->extra_headers - r->extra_len,
		     "%s: %s\r\n", name, value);
	if (n > 0 && (size_t)n < sizeof r->extra_headers - r->extra_len)
		r->extra_len += (size_t)n;
	else
		r->extra_headers[r->extra_len] = '\0';
}

/* libfcgi's FCGX_FPrintF has its own, partial printf: headers are formatted
 * with snprintf and written with FCGX_PutStr instead. */
static int begin_reply(struct wa_req *r, int status, const char *ctype, long long clen)
{
	char head[2048];
	int n;

	if (r->replied) {
		wa_warn("second reply (%d) on %s %s ignored", status, r->method, r->path);
		return -1;
	}
	r->replied = 1;
	r->status = status;
	/* a change that took a right away answers only once every worker's
	 * auth cache has let it go (rule 4 of fcgi/authcache.h); a request
	 * that wrote nothing (a message handed to the engine, which writes
	 * no rights) changed no right */
	if (status < 400 && r->method && strcmp(r->method, "GET") && strcmp(r->method, "HEAD") &&
	    strcmp(r->method, "OPTIONS") && r->db && r->db->writes != r->db_writes0)
		wa_authc_settle(r->db);
	n = snprintf(head, sizeof head, "Status: %d %s\r\n%s%s%sX-Request-Id: %s\r\nCache-Control: no-store\r\n%s",
		     status, wa_status_text(status), ctype ? "Content-Type: " : "", ctype ? ctype : "",
		     ctype ? "\r\n" : "", r->rid, r->extra_headers);
	if (n < 0 || (size_t)n >= sizeof head - 40)
		return -1;
	if (clen >= 0)
		n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %lld\r\n", clen);
	n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
	FCGX_PutStr(head, n, r->fcgx->out);
	return 0;
}

int wa_reply_raw(struct wa_req *r, int status, const char *ctype, const void *data, size_t len)
{
	if (begin_reply(r, status, ctype, (long long)len) < 0)
		return -1;
	if (len)
		FCGX_PutStr(data, (int)len, r->fcgx->out);
	return 0;
}

int wa_reply_json(struct wa_req *r, int status, json_t *body)
{
	char *s = json_dumps(body ? body : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
	int rc;

	json_decref(body);
	if (!s)
		return wa_reply_raw(r, 500, "application/json",
				    "{\"status\":false,\"message\":\"Out of memory\",\"error\":\"internal\"}", 61);
	rc = wa_reply_raw(r, status, "application/json; charset=utf-8", s, strlen(s));
	free(s);
	return rc;
}

static const char *default_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "payload_too_large";
	case 503: return "session_not_ready";
	case 504: return "engine_timeout";
	default: return status >= 500 ? "internal_error" : "error";
	}
}

int wa_reply_error(struct wa_req *r, int status, const char *message, const char *error)
{
	json_t *j = json_pack("{s:b,s:s,s:s}", "status", 0, "message", message,
			      "error", error ? error : default_code(status));

	if (status >= 500)
		wa_warn("%s %s -> %d %s", r->method, r->path, status, message);
	wa_reply_json(r, status, j);
	return -1;
}

int wa_reply_errorf(struct wa_req *r, int status, const char *error, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return wa_reply_error(r, status, msg, error);
}

int wa_reply_ok(struct wa_req *r, int status, const char *msg, json_t *data)
{
	return wa_reply_json(r, status, json_pack("{s:b,s:s,s:o}", "status", 1, "message", msg,
						  "data", data ? data : json_null()));
}

int wa_reply_success(struct wa_req *r, const char *msg, json_t *extra)
{
	json_t *j = json_pack("{s:b}", "success", 1);

	if (msg)
		json_object_set_new(j, "message", json_string(msg));
	if (extra) {
		json_object_update(j, extra);
		json_decref(extra);
	}
	return wa_reply_json(r, 200, j);
}

int wa_reply_accel(struct wa_req *r, const char *uri, const char *ctype, const char *disposition)
{
	wa_reply_header(r, "X-Accel-Redirect", uri);
	if (disposition)
		wa_reply_header(r, "Content-Disposition", disposition);
	return begin_reply(r, 200, ctype, -1);
}
