/* sess_media: the loop's side of sending media (docs/engine.md "Media").
 *
 * Before a media message is built, its file goes to WhatsApp's media host:
 *   1. the media host and upload auth from a media_conn IQ (xmlns "w:m",
 *      docs/protocol.md §9.1), kept per session until its ttl runs out;
 *      an upload the media host refuses with a kept one is tried once
 *      more with a fresh one (the auth may have been withdrawn before
 *      its ttl: auth_ttl, a server restart);
 *   2. the job on the media threads (engine/media.h): fetched or decoded,
 *      converted, encrypted, uploaded; its answer comes back through the
 *      inbox to this thread.
 * Nothing is stored or sent before the upload succeeded, so a refused URL
 * leaves no trace but the answer. Loop thread only. */
#include "engine/cache.h"
#include "engine/engine.h"
#include "engine/media.h"
#include "engine/session_int.h"
#include "wa_err.h"
#include "wa_log.h"

#include <stdlib.h>
#include <string.h>

#define MEDIA_CONN_IQ_MS 20000
#define MEDIA_CONN_CAP 4096          /* sessions whose media_conn is kept */
#define MEDIA_CONN_TTL_MAX_S 3600

struct mconn {
	uint64_t until_ms;
	char host[WA_MEDIA_HOST_MAX];
	char auth[WA_MEDIA_AUTH_MAX];
};

struct upload {
	struct wa_session *s;
	struct wa_media_job *job;
	sess_media_fn fn;
	void *ctx;
	int cached;                  /* the media_conn came from the cache */
};

static void ask_conn(struct upload *u);

static struct wa_cache *conns; /* session id -> struct mconn (loop thread) */

static void finish(struct upload *u, int status, const char *why, const char *code)
{
	u->fn(u->ctx, status, why, code);
	free(u);
}

static void uploaded(struct wa_media_job *job, void *arg)
{
	struct upload *u = arg;
	int refused;

	if (u->s->e->stopping || u->s->gone) {
		finish(u, 503, "The engine is stopping", "engine_busy");
		return;
	}
	/* the media host refused (not remove.bg, whose call is not made twice) */
	refused = job->status == 502 && job->code && !strcmp(job->code, "media_upload_failed");
	if (refused && conns)
		wa_cache_forget(conns, u->s->id); /* a fresh media_conn next time */
	if (refused && u->cached && u->s->phase == PH_READY) {
		wa_info("session %s: the media host refused an upload with a kept media_conn; asking for a new one",
			u->s->id);
		u->cached = 0;
		ask_conn(u);
		return;
	}
	finish(u, job->status, job->why, job->code);
}

static void submit(struct upload *u, const struct mconn *c)
{
	snprintf(u->job->host, sizeof u->job->host, "%s", c->host);
	snprintf(u->job->auth, sizeof u->job->auth, "%s", c->auth);
	if (wa_media_submit(u->s->e->media, u->job, uploaded, u) != 0)
		finish(u, 503, "The engine is busy with other media; try again", "engine_busy");
}

static void conn_done(void *ctx, const struct wa_node *reply, int err)
{
	struct upload *u = ctx;
	const struct wa_node *mc = reply ? wa_node_child(reply, "media_conn") : NULL, *h;
	struct mconn c;
	long long ttl = 0;

	memset(&c, 0, sizeof c);
	if (err || !mc || !wa_node_attr(mc, "auth") || !(h = wa_node_child(mc, "host")) ||
	    !wa_node_attr(h, "hostname")) {
		wa_warn("session %s: no media_conn from the server (%s)", u->s->id,
			err ? wa_strerror(err) : "no host in the answer");
		finish(u, 503, "WhatsApp did not name a media host", "session_not_ready");
		return;
	}
	snprintf(c.auth, sizeof c.auth, "%s", wa_node_attr(mc, "auth"));
	snprintf(c.host, sizeof c.host, "%s", wa_node_attr(h, "hostname"));
	wa_node_attr_int(mc, "ttl", &ttl);
	if (ttl < 0 || ttl > MEDIA_CONN_TTL_MAX_S)
		ttl = MEDIA_CONN_TTL_MAX_S;
	c.until_ms = wa_engine_now_ms() + (uint64_t)ttl * 1000;
	if (ttl > 0 && (conns || (conns = wa_cache_new(MEDIA_CONN_CAP, 0))))
		(void)wa_cache_put(conns, u->s->id, &c, sizeof c, wa_engine_now_ms());
	submit(u, &c);
	explicit_bzero(&c, sizeof c);
}

void sess_media_upload(struct wa_session *s, struct wa_media_job *job, sess_media_fn fn, void *ctx)
{
	struct upload *u = calloc(1, sizeof *u);
	const struct mconn *c;
	size_t len = 0;

	if (!u) {
		fn(ctx, 500, "Out of memory", "internal_error");
		return;
	}
	u->s = s;
	u->job = job;
	u->fn = fn;
	u->ctx = ctx;
	if (!s->e->media) {
		finish(u, 503, "The engine is stopping", "engine_busy");
		return;
	}
	c = conns ? wa_cache_get(conns, s->id, 0, &len) : NULL;
	if (c && len == sizeof *c && c->until_ms > wa_engine_now_ms()) {
		u->cached = 1;
		submit(u, c);
		return;
	}
	ask_conn(u);
}

static void ask_conn(struct upload *u)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "type", "set", "xmlns", "w:m", "to", "s.whatsapp.net", NULL);
	struct wa_node *q = iq ? wa_node_add_new(iq, "media_conn") : NULL;
	int rc = q ? sess_iq_ctx(u->s, iq, MEDIA_CONN_IQ_MS, conn_done, u) : WA_ENOMEM;

	wa_node_free(iq);
	if (rc != 0)
		finish(u, 503, "Session not connected or ready", "session_not_ready");
}
