/* mediahost: one GET from the media host (see mediahost.h). */
#include "engine/store/mediahost.h"
#include "engine/store/history.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa_util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xfer {
	wa_mediahost_abort_fn abort_cb;
	void *ud;
};

static int on_progress(void *p, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	struct xfer *x = p;

	(void)dlt;
	(void)dln;
	(void)ult;
	(void)uln;
	return x->abort_cb && x->abort_cb(x->ud) ? 1 : 0;
}

int wa_mediahost_get(const struct wa_history_env *env, const char *dpath, const uint8_t *enc_sha256,
		     const char *mms_type, long timeout_ms, wa_mediahost_write_fn write, wa_mediahost_abort_fn abort_cb,
		     void *ud, long *http_code)
{
	char hash[64] = "", *url;
	size_t ulen;
	struct xfer x = { abort_cb, ud };
	struct curl_slist *hdrs = NULL, *h2;
	CURL *c;
	CURLcode cc;
	long code = 0;

	*http_code = 0;
	if (!env->media_host || !*env->media_host || !dpath || dpath[0] != '/')
		return WA_EIO;
	if (enc_sha256) {
		char b64[48];

		wa_base64_encode(enc_sha256, 32, b64);
		for (char *q = b64; *q; q++)
			*q = *q == '+' ? '-' : *q == '/' ? '_' : *q;
		snprintf(hash, sizeof hash, "%s", b64);
	}
	ulen = strlen(env->media_host) + strlen(dpath) + strlen(hash) + strlen(mms_type ? mms_type : "") + 64;
	if (!(url = malloc(ulen)))
		return WA_ENOMEM;
	snprintf(url, ulen, "https://%s%s%shash=%s&mms-type=%s&__wa-mms=", env->media_host, dpath,
		 strchr(dpath, '?') ? "&" : "?", hash, mms_type ? mms_type : "");
	/* as WhatsApp Web (and whatsmeow) ask */
	hdrs = curl_slist_append(NULL, "Origin: https://web.whatsapp.com");
	h2 = hdrs ? curl_slist_append(hdrs, "Referer: https://web.whatsapp.com/") : NULL;
	if (!h2 || !(c = curl_easy_init())) {
		curl_slist_free_all(hdrs);
		free(url);
		return WA_ENOMEM;
	}
	hdrs = h2;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ud);
	if (abort_cb) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	curl_easy_setopt(c, CURLOPT_USERAGENT, "WA-AKG");
	if (env->media_ca && *env->media_ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, env->media_ca);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	*http_code = code;
	if (cc != CURLE_OK || code != 200) {
		wa_warn("media host: GET %.*s failed: %s (HTTP %ld)", (int)strcspn(url, "?"), url,
			cc != CURLE_OK ? curl_easy_strerror(cc) : "status", code);
		free(url);
		return cc == CURLE_OK && (code == 404 || code == 410) ? WA_ENOTFOUND : WA_EIO;
	}
	free(url);
	return 0;
}

struct membuf {
	uint8_t *p;
	size_t len, cap, max;
	int too_big;
};

static size_t mem_write(char *ptr, size_t size, size_t n, void *ud)
{
	struct membuf *b = ud;
	size_t add = size * n;

	if (add > b->max - b->len) {
		b->too_big = 1;
		return 0;
	}
	if (b->len + add > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		uint8_t *np;

		while (cap < b->len + add)
			cap *= 2;
		if (!(np = realloc(b->p, cap)))
			return 0;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, ptr, add);
	b->len += add;
	return add;
}

int wa_mediahost_get_mem(const struct wa_history_env *env, const char *dpath, const uint8_t *enc_sha256,
			 const char *mms_type, long timeout_ms, size_t max, uint8_t **out, size_t *len)
{
	struct membuf b = { .max = max };
	long code = 0;
	int rc = wa_mediahost_get(env, dpath, enc_sha256, mms_type, timeout_ms, mem_write, NULL, &b, &code);

	*out = NULL;
	*len = 0;
	if (rc != 0) {
		free(b.p);
		return b.too_big ? WA_ETOOBIG : rc;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
