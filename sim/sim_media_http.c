/* sim_media_http: the media host's HTTP vhost (docs/protocol.md 9.3, 9.4).
 *
 *   POST /mms/<type>/<token>?auth=<auth>&token=<token>   body = encrypted file
 *     -> 200 {"url": "https://<host><direct_path>", "direct_path": "..."}
 *        401 wrong auth, 400 token is not base64url(SHA-256(body)) (padded
 *        or not), 413 over SIM_MEDIA_BLOB_MAX
 *   GET <direct_path>[&hash=…&mms-type=…]  -> 200 the file, 404
 *
 * Runs on the lws service thread; the blob table is freed when the vhost's
 * protocol is destroyed (context teardown). */
#include "sim_media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "wa/crypto.h"
#include "wa/mediacrypto.h"
#include "wa_log.h"

#define CHUNK (32u * 1024)

struct media_pss {
	char method[8];
	char path[512];
	char auth[96], token[96];
	uint8_t *body;
	size_t body_len, body_cap;
	int too_big, handled;
	uint8_t *reply;
	size_t reply_len, sent;
	const char *ctype;
};

/* the auth query argument must fit whole, else a right token is cut and refused */
_Static_assert(sizeof((struct media_pss *)0)->auth > SIM_MEDIA_AUTH_HEX, "media_pss.auth holds the auth token");

static void pss_release(struct media_pss *p)
{
	free(p->body);
	free(p->reply);
	p->body = p->reply = NULL;
	p->body_len = p->body_cap = p->reply_len = p->sent = 0;
	p->too_big = 0;
}

static int respond(struct lws *wsi, struct media_pss *p, int status, const char *ctype, const void *data, size_t len)
{
	uint8_t hbuf[LWS_PRE + 512], *start = hbuf + LWS_PRE, *ptr = start, *end = hbuf + sizeof hbuf;

	free(p->reply);
	p->reply = malloc(len ? len : 1);
	if (p->reply == NULL)
		return -1;
	memcpy(p->reply, data, len);
	p->reply_len = len;
	p->sent = 0;
	if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, len, &ptr, end) ||
	    lws_finalize_write_http_header(wsi, start, &ptr, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int respond_json(struct lws *wsi, struct media_pss *p, int status, const char *json)
{
	return respond(wsi, p, status, "application/json", json, strlen(json));
}

static int handle(struct lws *wsi, struct media_pss *p)
{
	const char *host = sim_media_host();

	if (p->handled)
		return 0;
	p->handled = 1;
	if (strcmp(p->method, "GET") == 0) {
		const uint8_t *d;
		size_t n;

		if (sim_media_get(p->path, &d, &n) != 0)
			return respond_json(wsi, p, 404, "{\"error\":\"not found\"}");
		return respond(wsi, p, 200, "application/octet-stream", d, n);
	}
	if (strcmp(p->method, "POST") != 0 || strncmp(p->path, "/mms/", 5) != 0)
		return respond_json(wsi, p, 404, "{\"error\":\"not found\"}");
	if (p->too_big)
		return respond_json(wsi, p, 413, "{\"error\":\"too large\"}");
	if (strcmp(p->auth, sim_media_auth()) != 0)
		return respond_json(wsi, p, 401, "{\"error\":\"bad auth\"}");
	{
		uint8_t sha[32];
		char tok_p[45], tok_u[45], mms[24], dp[160], out[512];
		const char *t = p->path + 5, *slash = strchr(t, '/');
		size_t tl = slash ? (size_t)(slash - t) : 0;

		if (p->body_len == 0 || slash == NULL || tl == 0 || tl >= sizeof mms)
			return respond_json(wsi, p, 400, "{\"error\":\"bad request\"}");
		memcpy(mms, t, tl);
		mms[tl] = '\0';
		wa_sha256(p->body, p->body_len, sha);
		wa_media_upload_token(sha, 1, tok_p);
		wa_media_upload_token(sha, 0, tok_u);
		if (strcmp(p->token, tok_p) != 0 && strcmp(p->token, tok_u) != 0)
			return respond_json(wsi, p, 400, "{\"error\":\"token is not the SHA-256 of the body\"}");
		if (sim_media_put(p->body, p->body_len, mms, dp, sizeof dp) != 0)
			return respond_json(wsi, p, 507, "{\"error\":\"cannot store\"}");
		snprintf(out, sizeof out, "{\"url\":\"https://%s%s\",\"direct_path\":\"%s\"}", host ? host : "", dp, dp);
		return respond_json(wsi, p, 200, out);
	}
}

static int media_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct media_pss *p = user;
	char hdr[32];
	int m, ulen;
	char *uri;

	if (reason == LWS_CALLBACK_PROTOCOL_DESTROY) {
		sim_media_clear();
		return 0;
	}
	if (p == NULL) /* callbacks of a connection with no HTTP transaction (TLS refused, ...) */
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		pss_release(p);
		p->handled = 0;
		m = lws_http_get_uri_and_method(wsi, &uri, &ulen);
		snprintf(p->method, sizeof p->method, "%s", m == LWSHUMETH_GET ? "GET" : m == LWSHUMETH_POST ? "POST" : "OTHER");
		snprintf(p->path, sizeof p->path, "%s", (const char *)in);
		p->auth[0] = p->token[0] = '\0';
		if (lws_get_urlarg_by_name(wsi, "auth", p->auth, sizeof p->auth) == NULL)
			p->auth[0] = '\0';
		if (lws_get_urlarg_by_name(wsi, "token", p->token, sizeof p->token) == NULL)
			p->token[0] = '\0';
		/* lws_get_urlarg_by_name returns "name=value" in older versions */
		if (strncmp(p->auth, "auth=", 5) == 0)
			memmove(p->auth, p->auth + 5, strlen(p->auth + 5) + 1);
		if (strncmp(p->token, "token=", 6) == 0)
			memmove(p->token, p->token + 6, strlen(p->token + 6) + 1);
		if (m == LWSHUMETH_POST && lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
		    strtoul(hdr, NULL, 10) > 0)
			return 0; /* wait for the body */
		return handle(wsi, p) ? -1 : 0;
	case LWS_CALLBACK_HTTP_BODY:
		if (len == 0 || in == NULL || p->too_big)
			return 0;
		if (len > SIM_MEDIA_BLOB_MAX - p->body_len) {
			p->too_big = 1;
			return 0;
		}
		if (p->body_len + len > p->body_cap) {
			size_t nc = p->body_cap ? p->body_cap * 2 : 65536;
			uint8_t *nb;

			while (nc < p->body_len + len)
				nc *= 2;
			if (nc > SIM_MEDIA_BLOB_MAX)
				nc = SIM_MEDIA_BLOB_MAX;
			nb = realloc(p->body, nc);
			if (nb == NULL)
				return -1;
			p->body = nb;
			p->body_cap = nc;
		}
		memcpy(p->body + p->body_len, in, len);
		p->body_len += len;
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return handle(wsi, p) ? -1 : 0;
	case LWS_CALLBACK_HTTP_WRITEABLE: {
		size_t n;
		uint8_t *buf;
		int final, w;

		if (p->reply == NULL)
			return 0;
		n = p->reply_len - p->sent;
		if (n > CHUNK)
			n = CHUNK;
		final = p->sent + n == p->reply_len;
		buf = malloc(LWS_PRE + (n ? n : 1));
		if (buf == NULL)
			return -1;
		memcpy(buf + LWS_PRE, p->reply + p->sent, n);
		w = lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
		free(buf);
		if (w < 0)
			return -1;
		p->sent += n;
		if (!final) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		pss_release(p);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	case LWS_CALLBACK_CLOSED_HTTP:
		/* a bare TCP connect and close (a port probe) has no pss */
		if (p)
			pss_release(p);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

int sim_media_start(struct lws_context *ctx, const char *hostport, const char *state_dir)
{
	static struct lws_protocols protocols[2];
	struct lws_context_creation_info info;
	char host[128], cert[1024], key[1024];
	const char *colon = hostport ? strrchr(hostport, ':') : NULL;
	long port;

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof host || sim_media_configure(hostport) != 0)
		return -1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535 || sim_tls_ensure(state_dir, host, cert, sizeof cert, key, sizeof key) != 0)
		return -1;
	protocols[0].name = "media-http";
	protocols[0].callback = media_callback;
	protocols[0].per_session_data_size = sizeof(struct media_pss);
	memset(&info, 0, sizeof info);
	info.vhost_name = "media";
	info.iface = host;
	info.port = (int)port;
	info.protocols = protocols;
	info.ssl_cert_filepath = cert;
	info.ssl_private_key_filepath = key;
	info.alpn = "http/1.1"; /* the callback serves HTTP/1 only */
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT |
		       LWS_SERVER_OPTION_ALLOW_HTTP_ON_HTTPS_LISTENER;
	if (lws_create_vhost(ctx, &info) == NULL) {
		wa_error("sim: cannot listen for media on %s", hostport);
		return -1;
	}
	return 0;
}
