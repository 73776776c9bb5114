/* sess_appstate: app-state sync of a logged-in session (docs/protocol.md
 * §11.4-§11.6, docs/engine.md "Chat state through app state").
 *
 * Fetching. A collection is marked dirty at login (all five), by a
 * server_sync notification (the ones it names), when the phone shares a
 * key, and before each change of ours. The dirty ones go out in one
 * w:sync:app:state IQ with the stored versions (a snapshot asked for when
 * there is none, or after a mismatch); every collection of the answer is
 * applied on a dbpool thread by engine/store/appsync (verified, stored with
 * its effects and events in one transaction), and its events are
 * published; has_more_patches leaves it dirty, so it is asked again.
 * A MAC that does not verify means our state and the server's differ: the
 * collection is dropped and fetched again from a snapshot; if even that
 * does not verify it is left alone (logged) until the next change names
 * it. A key we lack leaves the collection waiting until the phone shares
 * one; the phone is asked for it (a peer message, at most once a minute).
 *
 * Changing (archive, pin, mute, star). Each command is queued; its
 * collection is brought up to date first, then the patch is built on the
 * stored state with the newest key and pushed; a 409 (someone else wrote
 * first) fetches again and builds anew (3 tries). The server echoes the
 * patch on the next fetch, which is what stores its effect, so the command
 * is answered once the effect is in the database: the API reads what
 * WhatsApp has.
 *
 * One step at a time per session (a fetch or a push), never two: the
 * state on disk is only ever changed by the step in flight. Loop thread,
 * except the *_run functions (dbpool threads). */
#include "engine/cmd.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/sess_chat.h"
#include "engine/session_int.h"
#include "engine/store/appsync.h"
#include "engine/store/creds.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa/msgid.h"
#include "wa/signal.h"
#include "wa/syncaction.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"
#include "wa_log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define AS_IQ_MS 30000
#define AS_QUEUE_MAX 64                 /* changes queued per session */
#define AS_TRIES 3                      /* pushes per change (409 conflicts) */
#define ALL_COLL ((1u << WA_APPSYNC_NCOLL) - 1)
#define KEYREQ_EVERY_MS (60 * 1000)     /* key requests to the phone, at most */

enum as_kind { AS_ARCHIVE, AS_PIN, AS_MUTE, AS_STAR, AS_READ, AS_PUSH_NAME, AS_LABEL_EDIT, AS_LABEL_CHAT };

struct as_change {
	struct as_change *next;
	uint64_t seq;
	struct wa_cmd *cmd;
	enum as_kind kind;
	int ci;
	int on;
	int64_t mute_end_ms;
	int from_me;                         /* star: the caller's fromMe, if not stored */
	int tries;
	int pushed;                          /* the server has it: answered once fetched */
	char jid[WA_JID_STR_MAX];
	char msg_id[129];
	char name[1024];                     /* push name, label name */
	char label[65];                      /* label id */
	long long color;                     /* label colour */
	int deleted;                         /* label deleted */
	uint64_t queue_id;                   /* its label_sync_queue row, forgotten once done */
};

struct sess_as {
	struct wa_session *s;
	unsigned dirty;                      /* collections to fetch */
	unsigned resync;                     /* ... from scratch (a snapshot) */
	unsigned nokey;                      /* waiting for a key share */
	unsigned broken;                     /* does not verify even after a resync */
	int busy;                            /* a step is in flight */
	uint64_t seq;
	unsigned n;
	struct as_change *head, *tail;
	/* label_sync_queue: the highest row id queued here, a read in flight,
	 * another read wanted after it */
	uint64_t label_after;
	int label_busy, label_again;
	uint64_t keyreq_ms;                  /* monotonic, the last key request */
};

static void kick(struct wa_session *s);

static struct sess_as *as_of(struct wa_session *s)
{
	if (!s->as && (s->as = calloc(1, sizeof *s->as)))
		s->as->s = s;
	return s->as;
}

static const char *ok_message(const struct as_change *c)
{
	switch (c->kind) {
	case AS_ARCHIVE: return c->on ? "Chat archived" : "Chat unarchived";
	case AS_PIN: return c->on ? "Chat pinned" : "Chat unpinned";
	case AS_MUTE: return c->on ? "Chat muted" : "Chat unmuted";
	case AS_READ: return "Chat marked read";
	case AS_PUSH_NAME: return "Push name set";
	case AS_LABEL_EDIT: return c->deleted ? "Label deleted" : "Label saved";
	case AS_LABEL_CHAT: return c->on ? "Label added to the chat" : "Label removed from the chat";
	default: return c->on ? "Message starred" : "Message unstarred";
	}
}

struct label_done {
	uint64_t row, id;
};

static int label_done_run(struct wa_db *db, void *arg)
{
	struct label_done *d = arg;

	return wa_appsync_label_done(db, d->row, d->id);
}

static void label_done_done(void *arg, int rc)
{
	if (rc != 0)
		wa_warn("app state: a label change WhatsApp has is still queued (%s); it is written again", wa_strerror(rc));
	free(arg);
}

/* WhatsApp has a queued label change: its row goes. */
static void label_forget(struct sess_as *as, uint64_t id)
{
	struct label_done *d = malloc(sizeof *d);

	if (!d)
		return;
	d->row = as->s->row_id;
	d->id = id;
	if (wa_dbpool_submit(as->s->e->db, d->row, label_done_run, label_done_done, d) != 0)
		free(d); /* written again at the next login: harmless */
}

/* Take the head change off the queue and answer it (status 200: done);
 * one without a command (mark-read after read receipts, the push name)
 * is only logged when it fails. */
static void finish_head(struct sess_as *as, int status, const char *msg, const char *code)
{
	struct as_change *c = as->head;

	if (!c)
		return;
	as->head = c->next;
	if (!as->head)
		as->tail = NULL;
	as->n--;
	if (status == 200 && c->queue_id)
		label_forget(as, c->queue_id);
	if (!c->cmd) {
		if (status != 200)
			wa_warn("app state: \"%s\" not written to WhatsApp: %s", ok_message(c), msg ? msg : "?");
	} else if (status == 200)
		wa_cmd_reply(c->cmd, 200, json_pack("{s:b,s:s}", "success", 1, "message", ok_message(c)));
	else
		wa_cmd_reply_error(c->cmd, status, msg, code);
	free(c);
}

/* ---- asking the phone for a key (§11.6) ---- */

/* A peer message to our phone (device 0), as whatsmeow sends it:
 * <message id type="text" category="peer" to=<own user> push_priority="high">
 * with protocolMessage{APP_STATE_SYNC_KEY_REQUEST, appStateSyncKeyRequest
 * {keyIDs}}, encrypted over the Signal session the phone's key share came
 * in (no session: nothing is sent; the phone shares keys on its own too). */
struct keyreq {
	struct wa_session *s;
	uint64_t row;
	char me[WA_JID_STR_MAX];         /* own user JID */
	uint8_t key_id[WA_APPSTATE_MAX_KEY_ID];
	size_t key_id_len;
	uint8_t *ct;
	size_t ctlen;
	int pkmsg;
	uint8_t account[WA_CREDS_ACCOUNT_MAX];
	size_t account_len;
};

static int keyreq_txn(struct wa_db *db, void *arg)
{
	struct keyreq *k = arg;
	WaE2E__Message msg = WA_E2_E__MESSAGE__INIT;
	WaE2E__ProtocolMessage pm = WA_E2_E__PROTOCOL_MESSAGE__INIT;
	WaE2E__AppStateSyncKeyRequest req = WA_E2_E__APP_STATE_SYNC_KEY_REQUEST__INIT;
	WaE2E__AppStateSyncKeyId kid = WA_E2_E__APP_STATE_SYNC_KEY_ID__INIT, *kids[1] = { &kid };
	struct wa_sigstore *st = NULL;
	struct wa_sig *sig = NULL;
	enum wa_sig_msg_type type;
	wa_sig_addr addr;
	uint8_t *raw = NULL, *pt = NULL;
	size_t raw_len, ptlen = 0;
	int rc;

	free(k->ct);
	k->ct = NULL;
	if (wa_sig_addr_from_jid(k->me, &addr) != 0)
		return WA_EINVAL;
	kid.has_keyid = 1;
	kid.keyid.data = k->key_id;
	kid.keyid.len = k->key_id_len;
	req.n_keyids = 1;
	req.keyids = kids;
	pm.has_type = 1;
	pm.type = WA_E2_E__PROTOCOL_MESSAGE__TYPE__APP_STATE_SYNC_KEY_REQUEST;
	pm.appstatesynckeyrequest = &req;
	msg.protocolmessage = &pm;
	raw_len = wa_e2_e__message__get_packed_size(&msg);
	if (!(raw = malloc(raw_len ? raw_len : 1)))
		return WA_ENOMEM;
	wa_e2_e__message__pack(&msg, raw);
	rc = wa_sig_pad(raw, raw_len, 0, &pt, &ptlen) == 0 ? 0 : WA_ENOMEM;
	free(raw);
	if (rc != 0)
		return rc;
	if (wa_db_begin(db) < 0) {
		wa_sig_buf_free(pt, ptlen);
		return WA_ESTORAGE;
	}
	rc = wa_creds_open_sig(db, k->row, &st, &sig);
	if (rc == 0 && wa_sig_has_session(sig, &addr) != 1)
		rc = WA_ENOTFOUND;
	if (rc == 0) {
		rc = wa_sig_encrypt(sig, &addr, pt, ptlen, &type, &k->ct, &k->ctlen);
		rc = rc == WA_SIG_OK ? 0 : rc == WA_SIG_STORE ? WA_ESTORAGE : WA_ECRYPTO;
		k->pkmsg = type == WA_SIG_PKMSG;
		if (rc != 0)
			k->ct = NULL;
	}
	wa_creds_close_sig(st, sig);
	wa_sig_buf_free(pt, ptlen);
	if (rc == 0 && wa_db_commit(db) < 0)
		rc = WA_ESTORAGE;
	if (rc != 0)
		wa_db_rollback(db);
	return rc;
}

static int keyreq_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, keyreq_txn, arg);
}

static void keyreq_done(void *arg, int rc)
{
	struct keyreq *k = arg;
	struct wa_session *s = k->s;
	struct wa_node *m = NULL, *enc, *di;
	char id[WA_MSGID_LEN + 1];
	int ok = 0;

	if (sess_unref(s) && sess_ready(s) && rc == 0 && k->ct &&
	    wa_msgid_generate(id, s->cr->phone, (time_t)(wa_engine_wall_ms() / 1000)) == 0 &&
	    (m = wa_node_new_attrs("message", "id", id, "type", "text", "category", "peer", "to", k->me,
				   "push_priority", "high", NULL)) &&
	    (enc = wa_node_add_new(m, "enc")) && wa_node_set_attr(enc, "v", "2") == 0 &&
	    wa_node_set_attr(enc, "type", k->pkmsg ? "pkmsg" : "msg") == 0 &&
	    wa_node_set_bytes(enc, k->ct, k->ctlen) == 0 &&
	    (!k->pkmsg || ((di = wa_node_add_new(m, "device-identity")) &&
			   wa_node_set_bytes(di, k->account, k->account_len) == 0)))
		ok = sess_send(s, m) == 0;
	if (ok)
		wa_info("session %s: asked the phone for app-state key %02x%02x...", s->id, k->key_id[0],
			k->key_id_len > 1 ? k->key_id[1] : 0);
	else if (!s->gone)
		wa_warn("session %s: could not ask the phone for an app-state key (%s)", s->id,
			rc ? wa_strerror(rc) : "not sent");
	wa_node_free(m);
	free(k->ct);
	explicit_bzero(k->account, sizeof k->account);
	free(k);
}

static void ask_for_key(struct wa_session *s, const uint8_t *key_id, size_t len)
{
	struct sess_as *as = s->as;
	uint64_t now = wa_engine_now_ms();
	struct keyreq *k;

	if (!as || len == 0 || len > WA_APPSTATE_MAX_KEY_ID || !s->cr || !sess_ready(s) ||
	    (as->keyreq_ms && now - as->keyreq_ms < KEYREQ_EVERY_MS) || !(k = calloc(1, sizeof *k)))
		return;
	as->keyreq_ms = now;
	k->s = s;
	k->row = s->row_id;
	snprintf(k->me, sizeof k->me, "%s@s.whatsapp.net", s->cr->phone);
	memcpy(k->key_id, key_id, len);
	k->key_id_len = len;
	memcpy(k->account, s->cr->account, s->cr->account_len);
	k->account_len = s->cr->account_len;
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, keyreq_run, keyreq_done, k) != 0) {
		sess_unref(s);
		free(k);
	}
}

/* ---- fetching ---- */

struct fetch_job {
	struct wa_session *s;
	uint64_t row;
	char slug[WA_SESSION_ID_MAX];
	unsigned mask;
	uint64_t v[WA_APPSYNC_NCOLL];
	int has_key;
	/* the answer, one entry per collection, and what each gave */
	struct wa_appsync_in in[WA_APPSYNC_NCOLL];
	int more[WA_APPSYNC_NCOLL];
	struct wa_appsync_res res[WA_APPSYNC_NCOLL];
	size_t nin;
	const struct wa_history_env *env;
};

static void fetch_free(struct fetch_job *j)
{
	for (size_t i = 0; i < j->nin; i++) {
		free(j->in[i].snapshot);
		for (size_t k = 0; k < j->in[i].npatches; k++)
			free(j->in[i].patches[k].p);
		free(j->in[i].patches);
		json_decref(j->res[i].events);
	}
	free(j);
}

/* End of a step: the session may take the next one. */
static void step_end(struct wa_session *s)
{
	if (s->as)
		s->as->busy = 0;
	if (sess_unref(s))
		kick(s);
}

struct apply_arg {
	struct fetch_job *j;
	size_t i;
};

static int apply_one(struct wa_db *db, void *arg)
{
	struct apply_arg *a = arg;

	return wa_appsync_apply(db, a->j->row, a->j->slug, a->j->env, &a->j->in[a->i], &a->j->res[a->i]);
}

static int apply_run(struct wa_db *db, void *arg)
{
	struct fetch_job *j = arg;

	for (size_t i = 0; i < j->nin; i++) {
		struct apply_arg a = { j, i };

		j->res[i].rc = wa_dbjob_retry(db, apply_one, &a);
	}
	return 0;
}

static void apply_done(void *arg, int rc)
{
	struct fetch_job *j = arg;
	struct wa_session *s = j->s;
	struct sess_as *as = s->as;

	(void)rc;
	for (size_t i = 0; i < j->nin && as; i++) {
		const struct wa_appsync_res *r = &j->res[i];
		int ci = j->in[i].ci;
		unsigned bit = 1u << ci;
		const char *name = wa_appstate_collection((size_t)ci);
		size_t k;
		json_t *ev;

		if (r->rc == 0) {
			json_array_foreach(r->events, k, ev)
				wa_events_publish(s->e->events, j->slug, json_string_value(json_array_get(ev, 1)),
						  json_array_get(ev, 2), (uint64_t)json_integer_value(json_array_get(ev, 0)),
						  wa_engine_wall_ms());
			wa_debug("session %s: app state %s at version %llu (%zu mutations applied)", j->slug, name,
				 (unsigned long long)r->version, r->applied);
			as->resync &= ~bit;
			if (j->more[i])
				as->dirty |= bit;
		} else if (r->rc == WA_ENOTFOUND) {
			wa_warn("session %s: app state %s needs a key the phone has not shared yet; asking for it", j->slug,
				name);
			as->nokey |= bit;
			ask_for_key(s, r->missing_key, r->missing_key_len);
		} else if (r->rc == WA_ECRYPTO && !(as->resync & bit)) {
			wa_warn("session %s: app state %s does not verify against the server's; fetching it again from "
				"a snapshot", j->slug, name);
			as->resync |= bit;
			as->dirty |= bit;
		} else {
			wa_error("session %s: app state %s not applied: %s%s", j->slug, name, wa_strerror(r->rc),
				 r->rc == WA_ECRYPTO ? " (even from a snapshot); left until the next change" : "");
			if (r->rc == WA_ECRYPTO)
				as->broken |= bit;
			as->resync &= ~bit;
		}
	}
	fetch_free(j);
	step_end(s);
}

/* Copy a <collection> of the answer into j->in[j->nin]. 0, 1 (nothing
 * to apply: an error answer, handled), or -1 out of memory. */
static int take_collection(struct fetch_job *j, struct sess_as *as, const struct wa_node *col)
{
	int ci = wa_appsync_coll_index(wa_node_attr(col, "name"));
	struct wa_appsync_in *in;
	const struct wa_node *sn, *ps, *p = NULL;
	unsigned long long ver = 0;
	size_t len;
	const uint8_t *d;

	if (ci < 0 || !(j->mask & (1u << ci)) || j->nin >= WA_APPSYNC_NCOLL)
		return 1;
	if (wa_node_attr_is(col, "type", "error")) {
		const struct wa_node *e = wa_node_child(col, "error");

		wa_warn("session %s: the server refused to sync app state %s (%s %s)", j->slug, wa_node_attr(col, "name"),
			e ? wa_node_attr_or(e, "code", "?") : "?", e ? wa_node_attr_or(e, "text", "") : "");
		return 1;
	}
	(void)wa_node_attr_uint(col, "version", &ver);
	sn = wa_node_child(col, "snapshot");
	ps = wa_node_child(col, "patches");
	if (!sn && ver < j->v[ci] && !(as->resync & (1u << ci))) {
		/* the server is behind us (it lost the collection): start over */
		wa_warn("session %s: the server has app state %s at version %llu, we have %llu: fetching it again", j->slug,
			wa_node_attr(col, "name"), ver, (unsigned long long)j->v[ci]);
		as->resync |= 1u << ci;
		as->dirty |= 1u << ci;
		return 1;
	}
	if (!sn && (!ps || !wa_node_count(ps, "patch")) && !(as->resync & (1u << ci)))
		return 1; /* nothing new (most logins): no database work */
	in = &j->in[j->nin];
	memset(in, 0, sizeof *in);
	in->ci = ci;
	in->resync = (as->resync >> ci) & 1;
	if (sn && (d = wa_node_content(sn, &len)) && len) {
		if (!(in->snapshot = malloc(len)))
			return -1;
		memcpy(in->snapshot, d, len);
		in->snapshot_len = len;
	}
	j->more[j->nin] = wa_node_attr_is(col, "has_more_patches", "true");
	j->nin++; /* from here fetch_free releases what it holds */
	if (ps) {
		size_t n = wa_node_count(ps, "patch");

		if (n > WA_APPSYNC_PATCHES_MAX) {
			n = WA_APPSYNC_PATCHES_MAX;
			j->more[j->nin - 1] = 1;
		}
		if (n && !(in->patches = calloc(n, sizeof *in->patches)))
			return -1;
		while ((p = wa_node_next(ps, "patch", p)) && in->npatches < n) {
			if (!(d = wa_node_content(p, &len)) || !len)
				continue;
			if (!(in->patches[in->npatches].p = malloc(len)))
				return -1;
			memcpy(in->patches[in->npatches].p, d, len);
			in->patches[in->npatches++].len = len;
		}
	}
	return 0;
}

static void fetch_reply(void *ctx, const struct wa_node *reply, int err)
{
	struct fetch_job *j = ctx;
	struct wa_session *s = j->s;
	struct sess_as *as = s->as;
	const struct wa_node *sync = reply ? wa_node_child(reply, "sync") : NULL, *col = NULL;

	if (err || !reply || !wa_node_attr_is(reply, "type", "result") || !sync || !as) {
		if (!s->gone)
			wa_warn("session %s: app-state sync failed: %s", j->slug,
				err ? wa_strerror(err) : "an error answer");
		/* the next login or notification asks again */
		fetch_free(j);
		step_end(s);
		return;
	}
	while ((col = wa_node_next(sync, "collection", col)))
		if (take_collection(j, as, col) < 0) {
			wa_error("session %s: out of memory taking an app-state answer", j->slug);
			fetch_free(j);
			step_end(s);
			return;
		}
	if (j->nin == 0) {
		fetch_free(j);
		step_end(s);
		return;
	}
	j->env = sess_history_env(s);
	if (wa_dbpool_submit(s->e->db, j->row, apply_run, apply_done, j) != 0) {
		wa_warn("session %s: the engine is busy; app-state sync put off", j->slug);
		fetch_free(j);
		step_end(s);
	}
}

static int versions_run(struct wa_db *db, void *arg)
{
	struct fetch_job *j = arg;

	return wa_appsync_versions(db, j->row, j->v, &j->has_key);
}

static void versions_done(void *arg, int rc)
{
	struct fetch_job *j = arg;
	struct wa_session *s = j->s;
	struct sess_as *as = s->as;
	struct wa_node *iq = NULL, *sync;
	int sent = -1;

	if (rc != 0 || !j->has_key || !sess_ready(s) || !as) {
		if (rc != 0)
			wa_warn("session %s: app-state versions not read: %s", j->slug, wa_strerror(rc));
		else if (!j->has_key && as)
			as->nokey |= j->mask; /* the key share is not there yet */
		fetch_free(j);
		step_end(s);
		return;
	}
	iq = wa_node_new_attrs("iq", "type", "set", "xmlns", "w:sync:app:state", "to", "s.whatsapp.net", NULL);
	sync = iq ? wa_node_add_new(iq, "sync") : NULL;
	for (int ci = 0; sync && ci < WA_APPSYNC_NCOLL; ci++) {
		struct wa_node *c;
		int snap;

		if (!(j->mask & (1u << ci)))
			continue;
		snap = (as->resync & (1u << ci)) || j->v[ci] == 0;
		if (!(c = wa_node_add_new(sync, "collection")) ||
		    wa_node_set_attr(c, "name", wa_appstate_collection((size_t)ci)) != 0 ||
		    wa_node_set_attr_uint(c, "version", snap ? 0 : j->v[ci]) != 0 ||
		    wa_node_set_attr(c, "return_snapshot", snap ? "true" : "false") != 0)
			sync = NULL;
	}
	if (sync)
		sent = sess_iq_ctx(s, iq, AS_IQ_MS, fetch_reply, j);
	wa_node_free(iq);
	if (sent != 0) {
		fetch_free(j);
		step_end(s);
	}
}

static void start_fetch(struct wa_session *s, unsigned mask)
{
	struct fetch_job *j = calloc(1, sizeof *j);

	/* taken: what marks them dirty while this runs makes another fetch */
	s->as->dirty &= ~mask;
	if (!j)
		return;
	j->s = s;
	j->row = s->row_id;
	j->mask = mask;
	snprintf(j->slug, sizeof j->slug, "%s", s->id);
	s->as->busy = 1;
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, versions_run, versions_done, j) != 0) {
		s->as->busy = 0;
		sess_unref(s);
		free(j);
	}
}

/* ---- pushing a change ---- */

struct push_job {
	struct wa_session *s;
	uint64_t row, seq;
	char slug[WA_SESSION_ID_MAX];
	struct as_change c;                  /* a copy: the queue keeps the original */
	int rc;
	int not_stored;                      /* star: the message is not in this chat */
	uint8_t *patch;
	size_t len;
	uint64_t base;
};

/* The chat's newest message as a message range's (*lp NULL when none). */
static int last_of(struct wa_db *db, const struct push_job *j, struct wa_appsync_last *lm,
		   struct wa_sync_last_msg *last, struct wa_sync_last_msg **lp)
{
	int rc = wa_appsync_last_message(db, j->row, j->c.jid, lm);

	*lp = NULL;
	if (rc == 1) {
		*last = (struct wa_sync_last_msg){ lm->ts, j->c.jid, lm->id, lm->from_me,
						   lm->sender[0] && strstr(j->c.jid, "@g.us") ? lm->sender : NULL };
		*lp = last;
	}
	return rc < 0 ? rc : 0;
}

/* The change's actions built into j->patch on the stored state: 0, or
 * the answer's error (WA_ENOTFOUND: no key; with not_stored: no message). */
static int build(struct wa_db *db, struct push_job *j)
{
	struct wa_sync_action a, b;
	struct wa_sync_action *acts[2] = { &a, &b };
	struct wa_sync_last_msg last, *lp = NULL;
	struct wa_appsync_last lm;
	int64_t now = (int64_t)wa_engine_wall_ms();
	size_t n = 1;
	int rc;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	switch (j->c.kind) {
	case AS_ARCHIVE:
		if ((rc = last_of(db, j, &lm, &last, &lp)) != 0)
			return rc;
		rc = wa_sync_action_archive(&a, j->c.jid, j->c.on, lp, now);
		/* WhatsApp clients unpin what they archive */
		if (rc == 0 && j->c.on && wa_sync_action_pin(&b, j->c.jid, 0, now) == 0)
			n = 2;
		break;
	case AS_PIN:
		rc = wa_sync_action_pin(&a, j->c.jid, j->c.on, now);
		break;
	case AS_MUTE:
		rc = wa_sync_action_mute(&a, j->c.jid, j->c.on, j->c.mute_end_ms, now);
		break;
	case AS_READ:
		if ((rc = last_of(db, j, &lm, &last, &lp)) != 0)
			return rc;
		rc = wa_sync_action_mark_read(&a, j->c.jid, 1, lp, now);
		break;
	case AS_PUSH_NAME:
		rc = wa_sync_action_push_name(&a, j->c.name, now);
		break;
	case AS_LABEL_EDIT:
		rc = wa_sync_action_label_edit(&a, j->c.label, j->c.name, (int32_t)j->c.color, j->c.deleted, now);
		break;
	case AS_LABEL_CHAT:
		rc = wa_sync_action_label_chat(&a, j->c.label, j->c.jid, j->c.on, now);
		break;
	default: {
		char sender[129];
		int from_me = j->c.from_me;

		rc = wa_appsync_message(db, j->row, j->c.jid, j->c.msg_id, &from_me, sender);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			j->not_stored = 1;
			return WA_ENOTFOUND;
		}
		rc = wa_sync_action_star(&a, j->c.jid, j->c.msg_id, from_me,
					 !from_me && sender[0] && strstr(j->c.jid, "@g.us") ? sender : NULL, j->c.on, now);
		break;
	}
	}
	rc = rc != 0 ? WA_ENOMEM : wa_appsync_build(db, j->row, j->c.ci, acts, n, &j->patch, &j->len, &j->base);
	wa_sync_action_free(&a);
	wa_sync_action_free(&b);
	return rc;
}

static int push_build_run(struct wa_db *db, void *arg)
{
	struct push_job *j = arg;

	j->rc = build(db, j);
	return 0; /* j->rc is the answer, not a failed job */
}

static void push_free(struct push_job *j)
{
	free(j->patch);
	free(j);
}

/* The job's change is still the head of the queue (not answered meanwhile). */
static struct as_change *head_of(struct wa_session *s, uint64_t seq)
{
	return s->as && s->as->head && s->as->head->seq == seq ? s->as->head : NULL;
}

static void push_reply(void *ctx, const struct wa_node *reply, int err)
{
	struct push_job *j = ctx;
	struct wa_session *s = j->s;
	struct as_change *c = head_of(s, j->seq);
	const struct wa_node *col = reply ? wa_node_path(reply, "sync", "collection", NULL) : NULL;

	if (!c) {
		push_free(j);
		step_end(s);
		return;
	}
	if (err || !reply) {
		finish_head(s->as, err == WA_ETIMEDOUT ? 504 : 503,
			    err == WA_ETIMEDOUT ? "WhatsApp did not answer the change in time"
						: "The session lost its connection; the change may not have been made",
			    err == WA_ETIMEDOUT ? "whatsapp_timeout" : "session_not_ready");
	} else if (col && wa_node_attr_is(col, "type", "error")) {
		const struct wa_node *e = wa_node_child(col, "error");

		if (e && wa_node_attr_is(e, "code", "409") && ++c->tries < AS_TRIES) {
			/* someone wrote first: fetch what they wrote, then build again */
			wa_info("session %s: app state %s changed meanwhile (409); trying again", j->slug,
				wa_appstate_collection((size_t)c->ci));
			s->as->dirty |= 1u << c->ci;
		} else {
			finish_head(s->as, e && wa_node_attr_is(e, "code", "409") ? 409 : 502,
				    e && wa_node_attr_is(e, "code", "409") ? "The chat kept changing meanwhile; try again"
									    : "WhatsApp refused the change",
				    e && wa_node_attr_is(e, "code", "409") ? "conflict" : "whatsapp_error");
		}
	} else if (!wa_node_attr_is(reply, "type", "result")) {
		finish_head(s->as, 502, "WhatsApp refused the change", "whatsapp_error");
	} else {
		/* the server has it; the next fetch brings it back, which stores it */
		c->pushed = 1;
		s->as->dirty |= 1u << c->ci;
	}
	push_free(j);
	step_end(s);
}

static void push_build_done(void *arg, int rc)
{
	struct push_job *j = arg;
	struct wa_session *s = j->s;
	struct as_change *c = head_of(s, j->seq);
	struct wa_node *iq = NULL, *col, *p;
	int sent = -1;

	(void)rc;
	if (!c || !sess_ready(s)) {
		if (c)
			finish_head(s->as, 503, "The session is not connected", "session_not_ready");
		push_free(j);
		step_end(s);
		return;
	}
	if (j->rc != 0) {
		if (j->not_stored)
			finish_head(s->as, 404, "That message is not stored in this chat", "not_found");
		else if (j->rc == WA_ENOTFOUND)
			finish_head(s->as, 503, "The phone has not shared its app-state keys with this session yet",
				    "app_state_not_ready");
		else
			finish_head(s->as, j->rc == WA_ESTORAGE ? 503 : 500, "The change could not be prepared",
				    j->rc == WA_ESTORAGE ? "database_unavailable" : NULL);
		push_free(j);
		step_end(s);
		return;
	}
	iq = wa_node_new_attrs("iq", "type", "set", "xmlns", "w:sync:app:state", "to", "s.whatsapp.net", NULL);
	if (iq && (col = wa_node_add_new(iq, "sync")) && (col = wa_node_add_new(col, "collection")) &&
	    wa_node_set_attr(col, "name", wa_appstate_collection((size_t)c->ci)) == 0 &&
	    wa_node_set_attr_uint(col, "version", j->base) == 0 &&
	    wa_node_set_attr(col, "return_snapshot", "false") == 0 && (p = wa_node_add_new(col, "patch")) &&
	    wa_node_set_bytes(p, j->patch, j->len) == 0)
		sent = sess_iq_ctx(s, iq, AS_IQ_MS, push_reply, j);
	wa_node_free(iq);
	if (sent != 0) {
		finish_head(s->as, 503, "The change could not be sent", "session_not_ready");
		push_free(j);
		step_end(s);
	}
}

static void start_push(struct wa_session *s, struct as_change *c)
{
	struct push_job *j = calloc(1, sizeof *j);

	if (!j) {
		finish_head(s->as, 500, "Out of memory", NULL);
		return;
	}
	j->s = s;
	j->row = s->row_id;
	j->seq = c->seq;
	j->c = *c;
	j->c.next = NULL;
	snprintf(j->slug, sizeof j->slug, "%s", s->id);
	s->as->busy = 1;
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, push_build_run, push_build_done, j) != 0) {
		s->as->busy = 0;
		sess_unref(s);
		free(j);
		finish_head(s->as, 503, "The engine is busy; try again", "engine_busy");
	}
}

/* ---- the queue ---- */

static void kick(struct wa_session *s)
{
	struct sess_as *as = s->as;
	unsigned want;

	while (as && !as->busy) {
		if (!sess_ready(s))
			return;
		/* changes the server has and a fetch has brought back */
		if (as->head && as->head->pushed && !(as->dirty & (1u << as->head->ci))) {
			finish_head(as, 200, NULL, NULL);
			continue;
		}
		want = as->dirty & ~as->nokey;
		if (want) {
			start_fetch(s, want);
			if (as->busy)
				return;
			continue; /* could not start (the bits are dropped) */
		}
		if (!as->head)
			return;
		if (as->broken & (1u << as->head->ci)) {
			finish_head(as, 502, "This session's copy of the chat state does not verify; it is fetched "
				    "again at the next change from the phone or the next login", "app_state_out_of_sync");
			continue;
		}
		if (as->head->pushed) /* dirty but waiting for a key: answer, the server has it */
			finish_head(as, 200, NULL, NULL);
		else
			start_push(s, as->head);
		if (as->busy)
			return;
	}
}

/* Queue a change for cmd (answered exactly once; may be NULL). */
static void enqueue(struct wa_session *s, struct wa_cmd *cmd, const struct as_change *tmpl)
{
	struct sess_as *as = as_of(s);
	struct as_change *c;

	if (!as || as->n >= AS_QUEUE_MAX || !(c = malloc(sizeof *c))) {
		if (cmd)
			wa_cmd_reply_error(cmd, 503, "Too many chat changes waiting (or out of memory); try again",
					   "engine_busy");
		else
			wa_warn("session %s: app-state change \"%s\" dropped: too many waiting", s->id, ok_message(tmpl));
		return;
	}
	*c = *tmpl;
	c->next = NULL;
	c->cmd = cmd;
	c->seq = ++as->seq;
	if (as->tail)
		as->tail->next = c;
	else
		as->head = c;
	as->tail = c;
	as->n++;
	/* bring the collection up to date first (§11.5) */
	as->dirty |= 1u << c->ci;
	as->nokey &= ~(1u << c->ci);
	kick(s);
}

/* The command's "jid", as a chat JID, into c->jid; 0, or answered 400. */
static int take_jid(struct wa_cmd *cmd, struct as_change *c)
{
	if (wa_jid_chat(json_string_value(json_object_get(cmd->args, "jid")), c->jid) != 0) {
		wa_cmd_reply_error(cmd, 400, "'jid' must be a user or group JID", "validation_error");
		return -1;
	}
	return 0;
}

/* A boolean argument (def when absent); -1 answered 400. */
static int take_bool(struct wa_cmd *cmd, const char *name, int def)
{
	const json_t *v = json_object_get(cmd->args, name);

	if (!v || json_is_null(v))
		return def;
	if (!json_is_boolean(v)) {
		char msg[64];

		snprintf(msg, sizeof msg, "'%s' must be true or false", name);
		wa_cmd_reply_error(cmd, 400, msg, "validation_error");
		return -1;
	}
	return json_is_true(v);
}

#define MUTE_DEFAULT_S (8 * 3600)        /* the reference's default */
#define MUTE_MAX_S (10LL * 366 * 86400)  /* longer: forever */

void wa_chat_archive(struct wa_session *s, struct wa_cmd *cmd)
{
	struct as_change c = { .kind = AS_ARCHIVE, .ci = 4 /* regular_low */ };

	if (take_jid(cmd, &c) != 0 || (c.on = take_bool(cmd, "archive", 1)) < 0)
		return;
	enqueue(s, cmd, &c);
}

void wa_chat_pin(struct wa_session *s, struct wa_cmd *cmd)
{
	struct as_change c = { .kind = AS_PIN, .ci = 4 /* regular_low */ };

	if (take_jid(cmd, &c) != 0 || (c.on = take_bool(cmd, "pin", 1)) < 0)
		return;
	enqueue(s, cmd, &c);
}

void wa_chat_mute(struct wa_session *s, struct wa_cmd *cmd)
{
	struct as_change c = { .kind = AS_MUTE, .ci = 2 /* regular_high */ };
	const json_t *d = json_object_get(cmd->args, "duration");
	long long secs = MUTE_DEFAULT_S;

	if (take_jid(cmd, &c) != 0 || (c.on = take_bool(cmd, "mute", 1)) < 0)
		return;
	if (d && !json_is_null(d)) {
		if (!json_is_integer(d) || json_integer_value(d) < 0) {
			wa_cmd_reply_error(cmd, 400, "'duration' must be a number of seconds (0 or more; 0: until unmuted)",
					   "validation_error");
			return;
		}
		secs = json_integer_value(d);
	}
	/* 0, or longer than ten years: forever (sent as -1, as WhatsApp does) */
	c.mute_end_ms = secs == 0 || secs > MUTE_MAX_S ? 0 : (int64_t)wa_engine_wall_ms() + secs * 1000;
	enqueue(s, cmd, &c);
}

void appstate_mark_read(struct wa_session *s, const char *chat)
{
	struct as_change c = { .kind = AS_READ, .ci = 4 /* regular_low */ };

	snprintf(c.jid, sizeof c.jid, "%s", chat);
	enqueue(s, NULL, &c);
}

void appstate_push_name(struct wa_session *s, const char *name)
{
	struct as_change c = { .kind = AS_PUSH_NAME, .ci = 0 /* critical_block */ };

	snprintf(c.name, sizeof c.name, "%s", name);
	enqueue(s, NULL, &c);
}

/* ---- labels the API changed (label_sync_queue) ---- */

#define LABEL_BATCH 32

struct label_read {
	struct wa_session *s;
	uint64_t row, after;
	json_t *rows;
};

static int label_read_run(struct wa_db *db, void *arg)
{
	struct label_read *j = arg;

	return wa_appsync_label_queue(db, j->row, j->after, LABEL_BATCH, &j->rows);
}

static void labels_read(struct wa_session *s);

/* A change for queue row id is waiting here already. */
static int queued(const struct sess_as *as, uint64_t id)
{
	for (const struct as_change *c = as->head; c; c = c->next)
		if (c->queue_id == id)
			return 1;
	return 0;
}

static void label_read_done(void *arg, int rc)
{
	struct label_read *j = arg;
	struct wa_session *s = j->s;
	struct sess_as *as = s->as;
	json_t *r;
	size_t i;

	if (sess_unref(s) && as) {
		as->label_busy = 0;
		if (rc != 0)
			wa_warn("session %s: queued label changes not read: %s", s->id, wa_strerror(rc));
		json_array_foreach(rc == 0 ? j->rows : NULL, i, r) {
			struct as_change c = { .ci = 3 /* regular */ };
			const char *chat = json_string_value(json_object_get(r, "chat_jid"));

			c.queue_id = (uint64_t)json_integer_value(json_object_get(r, "id"));
			snprintf(c.label, sizeof c.label, "%s", json_string_value(json_object_get(r, "label_id")));
			if (chat) {
				c.kind = AS_LABEL_CHAT;
				c.on = json_is_true(json_object_get(r, "labeled")) ||
				       json_integer_value(json_object_get(r, "labeled")) == 1;
				snprintf(c.jid, sizeof c.jid, "%s", chat);
			} else {
				c.kind = AS_LABEL_EDIT;
				c.color = json_integer_value(json_object_get(r, "color"));
				c.deleted = json_is_true(json_object_get(r, "deleted")) ||
					    json_integer_value(json_object_get(r, "deleted")) == 1;
				snprintf(c.name, sizeof c.name, "%s", json_string_value(json_object_get(r, "name")) ?: "");
			}
			if (c.queue_id > as->label_after)
				as->label_after = c.queue_id;
			if (!queued(as, c.queue_id))
				enqueue(s, NULL, &c);
		}
		if (rc == 0 && (json_array_size(j->rows) == LABEL_BATCH || as->label_again)) {
			as->label_again = 0;
			labels_read(s);
		}
	}
	json_decref(j->rows);
	free(j);
}

/* Queue what the API changed since the last read. */
static void labels_read(struct wa_session *s)
{
	struct sess_as *as = as_of(s);
	struct label_read *j;

	if (!as)
		return;
	if (as->label_busy) {
		as->label_again = 1;
		return;
	}
	if (!(j = calloc(1, sizeof *j)))
		return;
	j->s = s;
	j->row = s->row_id;
	j->after = as->label_after;
	as->label_busy = 1;
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, label_read_run, label_read_done, j) != 0) {
		as->label_busy = 0;
		sess_unref(s);
		free(j);
	}
}

void wa_labels_sync(struct wa_session *s, struct wa_cmd *cmd)
{
	labels_read(s);
	wa_cmd_reply(cmd, 200, json_pack("{s:b}", "success", 1));
}

void wa_session_star(struct wa_session *s, struct wa_cmd *cmd)
{
	struct as_change c = { .kind = AS_STAR, .ci = 2 /* regular_high, as WhatsApp Web */ };
	const char *mid = json_string_value(json_object_get(cmd->args, "messageId"));

	if (!mid || !*mid || strlen(mid) > 128) {
		wa_cmd_reply_error(cmd, 400, "'messageId' must be the id of a message (1 to 128 characters)",
				   "validation_error");
		return;
	}
	if (take_jid(cmd, &c) != 0 || (c.on = take_bool(cmd, "star", 1)) < 0 ||
	    (c.from_me = take_bool(cmd, "fromMe", 0)) < 0)
		return;
	snprintf(c.msg_id, sizeof c.msg_id, "%s", mid);
	enqueue(s, cmd, &c);
}

/* ---- triggers ---- */

void appstate_on_login(struct wa_session *s)
{
	struct sess_as *as = as_of(s);

	if (!as)
		return;
	as->dirty = ALL_COLL;
	as->nokey = 0;
	as->broken = 0;
	kick(s);
	/* every label change still queued, those that failed before too */
	as->label_after = 0;
	labels_read(s);
}

void appstate_on_keys(struct wa_session *s)
{
	struct sess_as *as = as_of(s);

	if (!as)
		return;
	as->dirty |= ALL_COLL;
	as->nokey = 0;
	kick(s);
	/* label changes that could not be written without a key */
	as->label_after = 0;
	labels_read(s);
}

void appstate_on_server_sync(struct wa_session *s, const struct wa_node *n)
{
	struct sess_as *as = as_of(s);
	const struct wa_node *c = NULL;

	if (!as)
		return;
	while ((c = wa_node_next(n, "collection", c))) {
		int ci = wa_appsync_coll_index(wa_node_attr(c, "name"));

		if (ci >= 0) {
			as->dirty |= 1u << ci;
			as->broken &= ~(1u << ci);
		}
	}
	kick(s);
}

void appstate_on_close(struct wa_session *s)
{
	struct sess_as *as = s->as;

	/* a change the server took is made (the next login's fetch stores it) */
	while (as && as->head)
		finish_head(as, as->head->pushed ? 200 : 503,
			    "The session lost its connection before the change was made", "session_not_ready");
}

void appstate_free(struct wa_session *s)
{
	appstate_on_close(s);
	free(s->as);
	s->as = NULL;
}
