/* sched: scheduled messages (see sched.h). */
#include "engine/sched.h"
#include "engine/bot_media.h"
#include "engine/store/bot.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/session.h"
#include "engine/session_int.h"
#include "engine/store/outmsg.h"
#include "fcgi/db.h"
#include "wa_config.h"
#include "wa_cron.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa_util.h"
#include "wa/jid.h"
#include "engine/cmd.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCHED_DUE_MAX 100             /* due rows read per scan */
#define SCHED_INFLIGHT 1024         /* rows being sent at once */
#define SCHED_ERR_MAX 1000

struct wa_sched {
	struct wa_engine *e;
	long poll_ms;
	long settle_ms;                 /* scheduler.settle_ms */
	int scanning;                   /* a scan job is out */
	int again;                      /* kicked during a scan: scan again at once */
	int stopped;
	lws_sorted_usec_list_t timer;
	uint64_t inflight[SCHED_INFLIGHT];
	unsigned ninflight;
};

struct scan_job {
	struct wa_sched *sc;
	char engine_id[WA_ENGINE_ID_MAX];
	long settle_ms;
	json_t *due;                    /* scheduled rows due */
	json_t *bdue;                   /* broadcasts' next recipients due */
	int settled;
};

/* One row being sent. */
struct sched_send {
	struct wa_sched *sc;
	uint64_t id;
	char cron[WA_CRON_MAX + 1];
	int claimed;                    /* link() took the row (dbpool thread, read after done) */
	char error[SCHED_ERR_MAX];
};

struct mark_job {
	uint64_t id;
	char cron[WA_CRON_MAX + 1];
	char error[SCHED_ERR_MAX];
};

static void arm(struct wa_sched *sc, long ms);

static int inflight_has(const struct wa_sched *sc, uint64_t id)
{
	for (unsigned i = 0; i < sc->ninflight; i++)
		if (sc->inflight[i] == id)
			return 1;
	return 0;
}

static void inflight_drop(struct wa_sched *sc, uint64_t id)
{
	for (unsigned i = 0; i < sc->ninflight; i++)
		if (sc->inflight[i] == id) {
			sc->inflight[i] = sc->inflight[--sc->ninflight];
			return;
		}
}

/* The next send of a recurring row after now, or 0 when it has none. */
static time_t next_of(const char *cron)
{
	struct wa_cron c;
	time_t t;

	if (!cron || !*cron || wa_cron_parse(cron, &c) != 0)
		return 0;
	t = wa_cron_next(&c, time(NULL));
	return t > 0 ? t : 0;
}

/* A row's send is over: SENT, or FAILED with error; a recurring one is
 * PENDING again at its next time. Only a row in `from` changes. */
static int settle(struct wa_db *db, uint64_t id, const char *cron, const char *from, int ok, const char *error)
{
	time_t next = next_of(cron);
	long long n;

	if (next)
		n = wa_db_exec(db, "UPDATE scheduled_messages SET status = 'PENDING', send_at = FROM_UNIXTIME(?), "
			       "sent_at = IF(?, NOW(3), sent_at), last_error = ? WHERE id = ? AND status = ?", "ibsus",
			       (long long)next, ok, error, (unsigned long long)id, from);
	else
		n = wa_db_exec(db, "UPDATE scheduled_messages SET status = ?, sent_at = IF(?, NOW(3), sent_at), "
			       "last_error = ? WHERE id = ? AND status = ?", "sbsus", ok ? "SENT" : "FAILED", ok, error,
			       (unsigned long long)id, from);
	return n < 0 ? WA_ESTORAGE : 0;
}

/* When a row left SENDING (w: its session, x: its message, claimed: when
 * its send was recorded) is settled: its session has been connected here
 * ten seconds (the receipts WhatsApp kept have come in), and its message
 * is no longer PENDING or has been for scheduler.settle_ms (the ?). */
#define STALE_WHEN(claimed)                                                                           \
	"AND w.status = 'CONNECTED' AND w.connected_at < NOW(3) - INTERVAL 10 SECOND "                    \
	"AND (x.status IS NULL OR x.status <> 'PENDING' OR " claimed " < NOW(3) - INTERVAL ? MICROSECOND) " \
	"LIMIT 100"

/* What became of the message of a row a stopped engine left SENDING (the
 * row's "msg": the message's status): 1 when WhatsApp has it (acked, or a
 * receipt came), else 0 with *error the reason kept on the row. */
static int stale_outcome(const json_t *r, const char **error)
{
	const char *st = json_string_value(json_object_get(r, "msg"));

	*error = NULL;
	if (st && strcmp(st, "PENDING") != 0 && strcmp(st, "FAILED") != 0)
		return 1;
	*error = st && !strcmp(st, "FAILED") ? "WhatsApp refused the message"
		 : "not confirmed by WhatsApp before the engine stopped; not sent again "
		   "(it may or may not have arrived)";
	return 0;
}

/* ---- the send of one row ---- */

static int link_row(struct wa_db *db, void *ctx, const char *msg_id, const char *status)
{
	struct sched_send *ss = ctx;
	long long n;

	if (!status) {
		n = wa_db_exec(db, "UPDATE scheduled_messages SET status = 'SENDING', message_id = ?, "
			       "attempts = attempts + 1, last_error = NULL WHERE id = ? AND status = 'PENDING' AND "
			       "send_at <= NOW(3)", "su", msg_id, (unsigned long long)ss->id);
		if (n < 0)
			return WA_ESTORAGE;
		ss->claimed = n == 1;
		return n == 1 ? 0 : WA_ECONFLICT;
	}
	return settle(db, ss->id, ss->cron, "SENDING", strcmp(status, "SENT") == 0,
		      strcmp(status, "SENT") == 0 ? NULL : "WhatsApp refused the message");
}

static int mark_run(struct wa_db *db, void *arg)
{
	struct mark_job *m = arg;

	return settle(db, m->id, m->cron, "PENDING", 0, m->error);
}

static void mark_done(void *arg, int rc)
{
	struct mark_job *m = arg;

	if (rc != 0)
		wa_error("scheduled message %llu: cannot store that it failed (database)", (unsigned long long)m->id);
	free(m);
}

/* FAILED (or the next time of a recurring row) with why, for a row that
 * was not claimed: nothing of it was recorded or sent. */
static void mark_failed(struct wa_sched *sc, uint64_t id, const char *cron, const char *why)
{
	struct mark_job *m = calloc(1, sizeof *m);

	if (!m)
		return;
	m->id = id;
	snprintf(m->cron, sizeof m->cron, "%s", cron ? cron : "");
	snprintf(m->error, sizeof m->error, "%s", why ? why : "not sent");
	if (wa_dbpool_submit(sc->e->db, id, mark_run, mark_done, m) != 0)
		free(m);
}

/* A row's send is over: out of flight; not claimed and refused: FAILED
 * (503: not connected or busy, the row waits for the next scan; claimed:
 * the outcome, or the settling of a SENDING row, has it). */
static void row_end(struct wa_sched *sc, uint64_t id, const char *cron, int status, int claimed, const char *why)
{
	inflight_drop(sc, id);
	if (status == 200)
		wa_info("scheduled message %llu sent", (unsigned long long)id);
	else if (!claimed && status != 409 && status != 503)
		mark_failed(sc, id, cron, why);
}

static void send_done(void *ctx, int status, const char *id, const char *why)
{
	struct sched_send *ss = ctx;

	(void)id;
	row_end(ss->sc, ss->id, ss->cron, status, ss->claimed, why);
	free(ss);
}

/* The row's content as the API's message: text, or media by URL with the
 * text as caption (the kinds the send path takes). */
static json_t *args_of(const json_t *r)
{
	const char *content = json_string_value(json_object_get(r, "content"));
	const char *url = json_string_value(json_object_get(r, "mediaUrl"));
	const char *mt = json_string_value(json_object_get(r, "mediaType"));

	if (url && *url)
		return json_pack("{s:s,s:{s:{s:s},s:s}}", "jid", json_string_value(json_object_get(r, "jid")), "message",
				 mt && *mt ? mt : "image", "url", url, "caption", content ? content : "");
	return json_pack("{s:s,s:{s:s}}", "jid", json_string_value(json_object_get(r, "jid")), "message", "text",
			 content ? content : "");
}

/* ---- rows the bot makes first (engine/bot_media.h) ---- */

struct row_send {
	struct sched_send ss;
	wa_sched_row_fn fn;
	void *ctx;
};

static void row_sent(void *ctx, int status, const char *id, const char *why)
{
	struct row_send *rs = ctx;

	(void)id;
	rs->fn(rs->ctx, status, rs->ss.claimed, why);
	free(rs);
}

void wa_sched_row_send(struct wa_sched *sc, struct wa_session *s, uint64_t id, const char *jid, struct wa_out *out,
		       wa_sched_row_fn fn, void *ctx)
{
	struct row_send *rs = calloc(1, sizeof *rs);

	if (!rs) {
		wa_out_free(out);
		fn(ctx, 500, 0, "Out of memory");
		return;
	}
	rs->ss.sc = sc;
	rs->ss.id = id;
	rs->fn = fn;
	rs->ctx = ctx;
	sess_send_linked(s, jid, out, link_row, row_sent, rs);
}

void wa_sched_row_end(struct wa_sched *sc, uint64_t id, int status, int claimed, const char *why)
{
	row_end(sc, id, NULL, status, claimed, why);
}

/* A bot media row: what engine/bot_media.h needs of it. */
static int bot_row(const json_t *r, struct wa_bot_out *b)
{
	const char *mt = json_string_value(json_object_get(r, "mediaType"));
	const char *jid = json_string_value(json_object_get(r, "jid"));
	const char *mid = json_string_value(json_object_get(r, "mediaUrl"));
	const char *src = json_string_value(json_object_get(r, "source"));
	const char *key = json_string_value(json_object_get(r, "botKey"));
	json_t *c;

	if (!mt || (strcmp(mt, "BOT_STICKER") && strcmp(mt, "BOT_REMOVEBG")))
		return 0;
	memset(b, 0, sizeof *b);
	b->media = strcmp(mt, "BOT_STICKER") == 0 ? WA_BOT_STICKER : WA_BOT_REMOVEBG;
	c = json_loads(json_string_value(json_object_get(r, "content")) ?: "{}", 0, NULL);
	snprintf(b->chat, sizeof b->chat, "%s", jid ? jid : "");
	snprintf(b->media_id, sizeof b->media_id, "%s", mid ? mid : "");
	snprintf(b->cmd_id, sizeof b->cmd_id, "%s", src ? src : "");
	snprintf(b->pack, sizeof b->pack, "%s", json_string_value(json_object_get(c, "pack")) ?: "WA-AKG Bot");
	snprintf(b->key, sizeof b->key, "%s", key ? key : "");
	b->max_seconds = json_is_integer(json_object_get(c, "maxSeconds")) ?
			 (unsigned)json_integer_value(json_object_get(c, "maxSeconds")) : 10;
	b->still = json_is_true(json_object_get(c, "still"));
	json_decref(c);
	return 1;
}

static void send_row(struct wa_sched *sc, const json_t *r)
{
	uint64_t id = (uint64_t)json_integer_value(json_object_get(r, "id"));
	const char *slug = json_string_value(json_object_get(r, "slug"));
	const char *cron = json_string_value(json_object_get(r, "cron"));
	struct wa_session *s = slug ? wa_sessions_find(sc->e->sessions, slug) : NULL;
	const char *why = NULL, *code = NULL;
	struct sched_send *ss;
	struct wa_bot_out b;
	struct wa_out out;
	json_t *args;
	int rc;

	if (!id || inflight_has(sc, id) || sc->ninflight >= SCHED_INFLIGHT || !s || !wa_session_is_connected(s))
		return; /* in flight, or waiting for its session */
	if (bot_row(r, &b)) {
		/* made on the media threads first, then sent linked to the row */
		sc->inflight[sc->ninflight++] = id;
		wa_bot_media_row(s, &b, id);
		explicit_bzero(b.key, sizeof b.key);
		return;
	}
	if (!(args = args_of(r)))
		return;
	rc = wa_out_parse_op(&out, "message.send", args, &why, &code);
	if (rc != 0) {
		wa_warn("scheduled message %llu of session %s cannot be sent: %s", (unsigned long long)id, slug, why);
		mark_failed(sc, id, cron, why);
		json_decref(args);
		return;
	}
	if (!(ss = calloc(1, sizeof *ss))) {
		wa_out_free(&out);
		json_decref(args);
		return;
	}
	ss->sc = sc;
	ss->id = id;
	snprintf(ss->cron, sizeof ss->cron, "%s", cron ? cron : "");
	sc->inflight[sc->ninflight++] = id;
	sess_send_linked(s, json_string_value(json_object_get(args, "jid")), &out, link_row, send_done, ss);
	json_decref(args);
}

/* ---- broadcasts and spam (resumable jobs, migration 0010) ---- */

#define BCAST_DUE_MAX 50

/* One recipient's send. */
struct bcast_send {
	struct wa_sched *sc;
	uint64_t bid, rid;
	long sent_count, repeat, dmin, dmax;
	int claimed;
};

struct bmark_job {
	uint64_t bid, rid;
	char error[SCHED_ERR_MAX];
};

/* The in-flight key of a broadcast (scheduled rows use their id). */
static uint64_t bkey(uint64_t bid)
{
	return bid | (1ULL << 63);
}

/* A recipient's send is over (from SENDING): counted, SENT once it had
 * all its repeats (else PENDING for the next), or FAILED with error. */
static int bcast_settle(struct wa_db *db, uint64_t bid, uint64_t rid, long repeat, int ok, const char *error)
{
	long long n;

	if (ok)
		n = wa_db_exec(db, "UPDATE broadcast_recipients SET status = IF(sent_count + 1 >= ?, 'SENT', 'PENDING'), "
			       "sent_count = sent_count + 1, sent_at = NOW(3), error = NULL WHERE id = ? AND status = 'SENDING'",
			       "iu", (long long)repeat, (unsigned long long)rid);
	else
		n = wa_db_exec(db, "UPDATE broadcast_recipients SET status = 'FAILED', error = ? WHERE id = ? AND "
			       "status IN ('SENDING', 'PENDING')", "su", error, (unsigned long long)rid);
	if (n < 0)
		return WA_ESTORAGE;
	if (n != 1)
		return 0;
	n = ok ? wa_db_exec(db, "UPDATE broadcasts SET sent = sent + 1 WHERE id = ?", "u", (unsigned long long)bid)
	       : wa_db_exec(db, "UPDATE broadcasts SET failed = failed + 1, last_error = ? WHERE id = ?", "su", error,
			    (unsigned long long)bid);
	return n < 0 ? WA_ESTORAGE : 0;
}

static long pause_ms(long lo, long hi)
{
	uint32_t r = 0;

	if (hi > lo && wa_random((uint8_t *)&r, sizeof r) == 0)
		return lo + (long)(r % (uint32_t)(hi - lo + 1));
	return lo;
}

static int bcast_link(struct wa_db *db, void *ctx, const char *msg_id, const char *status)
{
	struct bcast_send *bs = ctx;
	long long n;

	if (!status) {
		/* claim the recipient and space the next one from this send */
		n = wa_db_exec(db, "UPDATE broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id "
			       "SET r.status = 'SENDING', r.message_id = ?, r.claimed_at = NOW(3), "
			       "b.next_at = NOW(3) + INTERVAL ? MICROSECOND "
			       "WHERE r.id = ? AND r.status = 'PENDING' AND r.sent_count = ? AND b.status = 'RUNNING'",
			       "siui", msg_id, (long long)pause_ms(bs->dmin, bs->dmax) * 1000, (unsigned long long)bs->rid,
			       (long long)bs->sent_count);
		if (n < 0)
			return WA_ESTORAGE;
		bs->claimed = n > 0;
		return n > 0 ? 0 : WA_ECONFLICT;
	}
	return bcast_settle(db, bs->bid, bs->rid, bs->repeat, strcmp(status, "SENT") == 0,
			    "WhatsApp refused the message");
}

static int bmark_run(struct wa_db *db, void *arg)
{
	struct bmark_job *m = arg;

	return bcast_settle(db, m->bid, m->rid, 1, 0, m->error);
}

static void bmark_done(void *arg, int rc)
{
	struct bmark_job *m = arg;

	if (rc != 0)
		wa_error("broadcast %llu: cannot store that a recipient failed (database)", (unsigned long long)m->bid);
	free(m);
}

static void bcast_mark_failed(struct wa_sched *sc, uint64_t bid, uint64_t rid, const char *why)
{
	struct bmark_job *m = calloc(1, sizeof *m);

	if (!m)
		return;
	m->bid = bid;
	m->rid = rid;
	snprintf(m->error, sizeof m->error, "%s", why ? why : "not sent");
	if (wa_dbpool_submit(sc->e->db, bid, bmark_run, bmark_done, m) != 0)
		free(m);
}

static void bcast_done(void *ctx, int status, const char *id, const char *why)
{
	struct bcast_send *bs = ctx;

	(void)id;
	inflight_drop(bs->sc, bkey(bs->bid));
	if (status != 200 && !bs->claimed && status != 409 && status != 503)
		bcast_mark_failed(bs->sc, bs->bid, bs->rid, why);
	free(bs);
	/* the next recipient is due after the pause the claim set */
}

static void bcast_send_row(struct wa_sched *sc, const json_t *r)
{
	uint64_t bid = (uint64_t)json_integer_value(json_object_get(r, "bid"));
	const char *slug = json_string_value(json_object_get(r, "slug"));
	const char *jid = json_string_value(json_object_get(r, "jid"));
	struct wa_session *s = slug ? wa_sessions_find(sc->e->sessions, slug) : NULL;
	const char *why = NULL, *code = NULL;
	json_t *args, *content;
	struct bcast_send *bs;
	struct wa_out out;

	if (!bid || inflight_has(sc, bkey(bid)) || sc->ninflight >= SCHED_INFLIGHT || !s || !wa_session_is_connected(s))
		return;
	content = json_loads(json_string_value(json_object_get(r, "content")) ?: "null", JSON_DECODE_ANY, NULL);
	args = json_pack("{s:s,s:o}", "jid", jid ? jid : "", "message", content ? content : json_null());
	if (!args)
		return;
	if (wa_out_parse_op(&out, "message.send", args, &why, &code) != 0) {
		bcast_mark_failed(sc, bid, (uint64_t)json_integer_value(json_object_get(r, "rid")), why);
		json_decref(args);
		return;
	}
	if (!(bs = calloc(1, sizeof *bs))) {
		wa_out_free(&out);
		json_decref(args);
		return;
	}
	bs->sc = sc;
	bs->bid = bid;
	bs->rid = (uint64_t)json_integer_value(json_object_get(r, "rid"));
	bs->sent_count = (long)json_integer_value(json_object_get(r, "sc"));
	bs->repeat = (long)json_integer_value(json_object_get(r, "rep"));
	bs->dmin = (long)json_integer_value(json_object_get(r, "dmin"));
	bs->dmax = (long)json_integer_value(json_object_get(r, "dmax"));
	sc->inflight[sc->ninflight++] = bkey(bid);
	sess_send_linked(s, jid, &out, bcast_link, bcast_done, bs);
	json_decref(args);
}

/* Recipients left SENDING by a stopped engine, settled as scheduled
 * messages are (see settle_stale); then broadcasts with nobody left are
 * DONE; then the next recipient of each due broadcast. */
static int bcast_scan(struct wa_db *db, struct scan_job *j)
{
	json_t *rows = wa_db_query(db,
		"SELECT r.id AS rid, r.broadcast_id AS bid, b.repeat_count AS rep, x.status AS msg "
		"FROM broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id "
		"JOIN wa_sessions w ON w.id = b.wa_session_id "
		"LEFT JOIN messages x ON x.wa_session_id = b.wa_session_id AND x.message_id = r.message_id "
		"WHERE w.engine_id = ? AND r.status = 'SENDING' " STALE_WHEN("r.claimed_at"), "si", j->engine_id, (long long)j->settle_ms * 1000);
	size_t i;
	json_t *r;

	if (!rows)
		return WA_ESTORAGE;
	json_array_foreach(rows, i, r) {
		const char *error;
		int ok = stale_outcome(r, &error);

		if (bcast_settle(db, (uint64_t)json_integer_value(json_object_get(r, "bid")),
				 (uint64_t)json_integer_value(json_object_get(r, "rid")),
				 (long)json_integer_value(json_object_get(r, "rep")), ok, error) != 0) {
			json_decref(rows);
			return WA_ESTORAGE;
		}
		j->settled++;
	}
	json_decref(rows);
	if (wa_db_exec(db, "UPDATE broadcasts b JOIN wa_sessions w ON w.id = b.wa_session_id "
		       "SET b.status = 'DONE', b.finished_at = NOW(3) WHERE w.engine_id = ? AND b.status = 'RUNNING' "
		       "AND NOT EXISTS (SELECT 1 FROM broadcast_recipients r WHERE r.broadcast_id = b.id "
		       "AND r.status IN ('PENDING', 'SENDING'))", "s", j->engine_id) < 0)
		return WA_ESTORAGE;
	j->bdue = wa_db_query(db,
		"SELECT b.id AS bid, w.session_id AS slug, b.content, b.repeat_count AS rep, b.delay_ms AS dmin, "
		"b.delay_max_ms AS dmax, r.id AS rid, r.jid, r.sent_count AS sc FROM broadcasts b "
		"JOIN wa_sessions w ON w.id = b.wa_session_id "
		"JOIN broadcast_recipients r ON r.id = (SELECT r2.id FROM broadcast_recipients r2 "
		"WHERE r2.broadcast_id = b.id AND r2.status = 'PENDING' ORDER BY r2.id LIMIT 1) "
		"WHERE w.engine_id = ? AND b.status = 'RUNNING' AND b.next_at <= NOW(3) "
		"AND NOT EXISTS (SELECT 1 FROM broadcast_recipients r3 WHERE r3.broadcast_id = b.id "
		"AND r3.status = 'SENDING') ORDER BY b.next_at LIMIT ?", "si", j->engine_id, (long long)BCAST_DUE_MAX);
	return j->bdue ? 0 : WA_ESTORAGE;
}

/* ---- creating a broadcast or a spam ---- */

struct create_job {
	struct wa_cmd *cmd;
	struct wa_sched *sc;
	uint64_t row;
	int spam;
	char *content;               /* the message as JSON */
	char *text;                  /* its text, for the list */
	char (*jids)[WA_JID_STR_MAX];
	size_t n;
	long repeat, dmin, dmax;
	uint64_t id;
	size_t total;
};

static void create_free(struct create_job *c)
{
	free(c->content);
	free(c->text);
	free(c->jids);
	free(c);
}

static int create_txn(struct wa_db *db, void *arg)
{
	struct create_job *c = arg;

	if (wa_db_begin(db) < 0)
		return WA_ESTORAGE;
	if (wa_db_exec(db, "INSERT INTO broadcasts (wa_session_id, kind, message, content, status, total, repeat_count, "
		       "delay_ms, delay_max_ms, started_at, next_at) VALUES (?, ?, ?, ?, 'RUNNING', 0, ?, ?, ?, NOW(3), "
		       "NOW(3))", "usssiii", (unsigned long long)c->row, c->spam ? "SPAM" : "BROADCAST",
		       c->text ? c->text : "", c->content, (long long)c->repeat, (long long)c->dmin,
		       (long long)c->dmax) < 0)
		goto fail;
	c->id = db->last_insert_id;
	c->total = 0;
	for (size_t i = 0; i < c->n; i++) {
		long long n = wa_db_exec(db, "INSERT IGNORE INTO broadcast_recipients (broadcast_id, jid) VALUES (?, ?)",
					 "us", (unsigned long long)c->id, c->jids[i]);

		if (n < 0)
			goto fail;
		c->total += (size_t)n;
	}
	if (wa_db_exec(db, "UPDATE broadcasts SET total = ? WHERE id = ?", "iu", (long long)c->total,
		       (unsigned long long)c->id) < 0)
		goto fail;
	return wa_db_commit(db) < 0 ? WA_ESTORAGE : 0;
fail:
	wa_db_rollback(db);
	return WA_ESTORAGE;
}

static int create_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, create_txn, arg);
}

static void create_done(void *arg, int rc)
{
	struct create_job *c = arg;

	if (rc != 0)
		wa_cmd_reply_error(c->cmd, 503, "The broadcast could not be stored (database); nothing was sent",
				   "database_unavailable");
	else if (c->spam)
		wa_cmd_reply(c->cmd, 200, json_pack("{s:b,s:s,s:{s:I,s:I,s:I}}", "success", 1, "message",
						    "Spam started in background", "data", "id", (json_int_t)c->id,
						    "count", (json_int_t)c->repeat, "delayMs", (json_int_t)c->dmin));
	else
		wa_cmd_reply(c->cmd, 200, json_pack("{s:b,s:s,s:{s:I,s:I}}", "success", 1, "message",
						    "Broadcast started in background", "data", "id", (json_int_t)c->id,
						    "recipients", (json_int_t)c->total));
	if (rc == 0) {
		wa_info("%s %llu created: %zu recipient(s)", c->spam ? "spam" : "broadcast", (unsigned long long)c->id,
			c->total);
		wa_sched_kick(c->sc);
	}
	create_free(c);
}

void wa_sched_broadcast(struct wa_sched *sc, struct wa_session *s, struct wa_cmd *cmd)
{
	const struct sess_limits *lim = sess_limits(s);
	const json_t *msg = json_object_get(cmd->args, "message");
	const char *why = NULL, *code = NULL;
	struct create_job *c;
	struct wa_out probe;
	const json_t *list = json_object_get(cmd->args, "recipients");
	int spam = strcmp(cmd->op, "message.spam") == 0, rc;

	if ((rc = wa_out_parse_op(&probe, cmd->op, cmd->args, &why, &code)) != 0) {
		wa_cmd_reply_error(cmd, rc, why, code);
		return;
	}
	if (!(c = calloc(1, sizeof *c))) {
		wa_out_free(&probe);
		wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		return;
	}
	c->text = probe.text ? strdup(probe.text) : NULL;
	wa_out_free(&probe);
	c->cmd = cmd;
	c->sc = sc;
	c->row = s->row_id;
	c->spam = spam;
	if (msg) {
		c->content = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
	} else {
		/* /spam with no message: the default text (outmsg.h) */
		json_t *d = json_string(WA_OUT_SPAM_DEFAULT);

		c->content = d ? json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		json_decref(d);
	}
	c->n = spam ? 1 : json_array_size(list);
	if (spam) {
		const json_t *cnt = json_object_get(cmd->args, "count"), *d = json_object_get(cmd->args, "delay");

		c->repeat = cnt ? (long)json_integer_value(cnt) : 10;
		c->dmin = c->dmax = d ? (long)json_integer_value(d) : 500;
		if (c->dmin < lim->spam_min_delay_ms)
			c->dmin = c->dmax = lim->spam_min_delay_ms;
	} else {
		c->repeat = 1;
		c->dmin = lim->broadcast_delay_min_ms;
		c->dmax = lim->broadcast_delay_max_ms;
	}
	if (!c->content || c->n == 0 || c->repeat < 1 || c->repeat > lim->spam_max ||
	    !(c->jids = calloc(c->n, sizeof *c->jids))) {
		create_free(c);
		wa_cmd_reply_error(cmd, 400, spam ? "'count' must be from 1 to limits.spam_max_count"
						  : "'recipients' must name at least one chat", "validation_error");
		return;
	}
	for (size_t i = 0; i < c->n; i++) {
		const char *js = spam ? json_string_value(json_object_get(cmd->args, "jid"))
				      : json_string_value(json_array_get(list, i));
		struct wa_jid j;

		if (!js || wa_jid_parse(js, &j, NULL) != 0 || (!wa_jid_is_pn(&j) && !wa_jid_is_group(&j))) {
			create_free(c);
			wa_cmd_reply_error(cmd, 400, "The recipients must be WhatsApp JIDs of users or groups", "invalid_jid");
			return;
		}
		wa_jid_to_non_ad(&j);
		wa_jid_format(&j, c->jids[i], sizeof c->jids[i]);
	}
	if (wa_dbpool_submit(sc->e->db, c->row, create_run, create_done, c) != 0) {
		create_free(c);
		wa_cmd_reply_error(cmd, 503, "The engine is busy; try again", "engine_busy");
	}
}

/* ---- the scan ---- */

/* Rows left SENDING (an engine stopped before the ack): settled from what
 * became of their message, once their session has been connected here for
 * ten seconds (the receipts WhatsApp kept have come in): SENT when it was
 * acked or got a receipt, FAILED when WhatsApp refused it or it is still
 * PENDING after scheduler.settle_ms. Never sent again. */
static int settle_stale(struct wa_db *db, struct scan_job *j)
{
	json_t *rows = wa_db_query(db,
		"SELECT m.id, m.cron_expression AS cron, x.status AS msg FROM scheduled_messages m "
		"JOIN wa_sessions w ON w.id = m.wa_session_id "
		"LEFT JOIN messages x ON x.wa_session_id = m.wa_session_id AND x.message_id = m.message_id "
		"WHERE w.engine_id = ? AND m.status = 'SENDING' " STALE_WHEN("m.updated_at"), "si", j->engine_id, (long long)j->settle_ms * 1000);
	size_t i;
	json_t *r;

	if (!rows)
		return WA_ESTORAGE;
	json_array_foreach(rows, i, r) {
		const char *error;
		int ok = stale_outcome(r, &error);

		if (settle(db, (uint64_t)json_integer_value(json_object_get(r, "id")),
			   json_string_value(json_object_get(r, "cron")), "SENDING", ok, error) != 0) {
			json_decref(rows);
			return WA_ESTORAGE;
		}
		j->settled++;
	}
	json_decref(rows);
	return 0;
}

static int scan_run(struct wa_db *db, void *arg)
{
	struct scan_job *j = arg;
	int rc;

	json_decref(j->due);
	json_decref(j->bdue);
	j->due = j->bdue = NULL;
	j->settled = 0;
	if ((rc = settle_stale(db, j)) != 0 || (rc = bcast_scan(db, j)) != 0)
		return rc;
	j->due = wa_db_query(db,
		"SELECT m.id, w.session_id AS slug, m.jid, m.content, m.media_url AS mediaUrl, "
		"m.media_type AS mediaType, m.cron_expression AS cron, m.source_message_id AS source, "
		"IF(m.media_type = 'BOT_REMOVEBG', (SELECT b.remove_bg_api_key FROM bot_configs b WHERE "
		"b.wa_session_id = m.wa_session_id), NULL) AS botKey FROM scheduled_messages m "
		"JOIN wa_sessions w ON w.id = m.wa_session_id "
		"WHERE w.engine_id = ? AND m.status = 'PENDING' AND m.send_at <= NOW(3) "
		"ORDER BY m.send_at, m.id LIMIT ?", "si", j->engine_id, (long long)SCHED_DUE_MAX);
	return j->due ? 0 : WA_ESTORAGE;
}

static void scan_done(void *arg, int rc)
{
	struct scan_job *j = arg;
	struct wa_sched *sc = j->sc;
	size_t i;
	json_t *r;

	sc->scanning = 0;
	if (rc != 0)
		wa_warn("scheduler: cannot read the due messages (database); trying again");
	if (j->settled)
		wa_warn("scheduler: %d message(s) left unconfirmed by a stopped engine settled", j->settled);
	if (rc == 0 && !sc->stopped) {
		json_array_foreach(j->due, i, r)
			send_row(sc, r);
		json_array_foreach(j->bdue, i, r)
			bcast_send_row(sc, r);
	}
	json_decref(j->due);
	json_decref(j->bdue);
	free(j);
	if (!sc->stopped)
		arm(sc, sc->again ? 0 : sc->poll_ms);
	sc->again = 0;
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
	struct wa_sched *sc = lws_container_of(sul, struct wa_sched, timer);
	struct scan_job *j;

	if (sc->scanning || sc->stopped)
		return;
	if (!(j = calloc(1, sizeof *j))) {
		arm(sc, sc->poll_ms);
		return;
	}
	j->sc = sc;
	snprintf(j->engine_id, sizeof j->engine_id, "%s", sc->e->id);
	j->settle_ms = sc->settle_ms;
	sc->scanning = 1;
	if (wa_dbpool_submit(sc->e->db, 0, scan_run, scan_done, j) != 0) {
		sc->scanning = 0;
		free(j);
		arm(sc, sc->poll_ms);
	}
}

static void arm(struct wa_sched *sc, long ms)
{
	lws_sul_schedule(sc->e->lws, 0, &sc->timer, on_timer, (lws_usec_t)ms * LWS_US_PER_MS);
}

struct wa_sched *wa_sched_new(struct wa_engine *e)
{
	struct wa_sched *sc = calloc(1, sizeof *sc);
	const char *tz = wa_config_get(e->cfg, "scheduler.timezone");
	char err[256], path[512];

	if (!sc)
		return NULL;
	sc->e = e;
	if (wa_config_get_int(e->cfg, "scheduler.poll_ms", 100, 600000, &sc->poll_ms, err, sizeof err) < 0) {
		wa_warn("%s; using 1000", err);
		sc->poll_ms = 1000;
	}
	if (wa_config_get_int(e->cfg, "scheduler.settle_ms", 1000, 86400000, &sc->settle_ms, err, sizeof err) < 0) {
		wa_warn("%s; using 120000", err);
		sc->settle_ms = 120000;
	}
	if (!tz || !*tz)
		tz = "UTC";
	/* glibc takes a name it does not know as UTC without a word: check it */
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
	if (strcmp(tz, "UTC") != 0 && (strstr(tz, "..") || tz[0] == '/' || access(path, R_OK) != 0)) {
		wa_error("scheduler.timezone '%s' is not a time zone of the tz database (like 'Asia/Jakarta'); "
			 "recurring messages use UTC", tz);
		tz = "UTC";
	}
	setenv("TZ", tz, 1);
	tzset();
	return sc;
}

void wa_sched_kick(struct wa_sched *sc)
{
	if (!sc || sc->stopped)
		return;
	if (sc->scanning)
		sc->again = 1;
	else
		arm(sc, 0);
}

void wa_sched_start(struct wa_sched *sc)
{
	if (sc)
		arm(sc, sc->poll_ms);
}

void wa_sched_free(struct wa_sched *sc)
{
	if (!sc)
		return;
	sc->stopped = 1;
	lws_sul_cancel(&sc->timer);
	free(sc);
}
