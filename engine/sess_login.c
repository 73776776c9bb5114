/* sess_login: what a logged-in session does (docs/protocol.md §12.1, §12.5,
 * §12.6, §5): CONNECTED with its identity, pre-key count and upload,
 * going active, keep-alive pings, the server's "pre-keys running low". */
#include "engine/engine.h"
#include "engine/session_int.h"
#include "wa_err.h"
#include "wa_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_util.h"

/* §5.3, as whatsmeow: upload 50 when the server holds fewer than 5. */
#define PREKEY_BATCH 50
#define PREKEY_MIN 5
/* §12.5: a ping every 20-30 s; no answer within 10 s: the link is dead. */
#define KA_MIN_MS 20000
#define KA_SPREAD_MS 10000
#define KA_TIMEOUT_MS 10000

/* ---- pre-keys ---- */

static void upload_done(void *ctx, const struct wa_node *reply, int err)
{
	struct wa_session *s = ctx;

	if (err || !wa_node_attr_is(reply, "type", "result"))
		wa_warn("session %s: pre-key upload not accepted (%s)", s->id, err ? wa_strerror(err) : "error answer");
	else
		wa_info("session %s: pre-keys uploaded (%u so far)", s->id, s->cr->prekeys_uploaded);
}

static void batch_ready(struct wa_session *s, struct wa_node *iq, size_t count, uint32_t next_id, int rc)
{
	if (rc != 0) {
		wa_error("session %s: cannot make pre-keys (%s)", s->id, wa_strerror(rc));
		return;
	}
	s->cr->next_prekey_id = next_id;
	s->cr->prekeys_uploaded += (uint32_t)count;
	if (s->phase != PH_READY || sess_iq(s, iq, 0, upload_done) != 0)
		wa_warn("session %s: pre-keys made but the connection is gone; they go up on the next login", s->id);
}

static void count_done(void *ctx, const struct wa_node *reply, int err)
{
	struct wa_session *s = ctx;
	const struct wa_node *c = reply ? wa_node_child(reply, "count") : NULL;
	long long have = -1;

	if (err || !c || wa_node_attr_int(c, "value", &have) != 0) {
		wa_warn("session %s: pre-key count not answered (%s)", s->id, err ? wa_strerror(err) : "bad answer");
		return;
	}
	wa_debug("session %s: the server holds %lld pre-keys", s->id, have);
	if (have < PREKEY_MIN || s->cr->prekeys_uploaded < PREKEY_MIN)
		db_prekey_batch(s, PREKEY_BATCH, batch_ready);
}

static void count_prekeys(struct wa_session *s)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "type", "get", "xmlns", "encrypt", NULL);

	if (iq && wa_node_add_new(iq, "count"))
		(void)sess_iq(s, iq, 0, count_done);
	wa_node_free(iq);
}

/* ---- keep-alive ---- */

static void on_ka_timer(struct wa_wheel_timer *t);

void login_schedule_keepalive(struct wa_session *s)
{
	uint8_t r[2];
	unsigned ms = KA_MIN_MS;

	if (wa_random(r, sizeof r) == 0)
		ms += (unsigned)((r[0] << 8) | r[1]) % KA_SPREAD_MS;
	/* On the engine's wheel, not lws_sul: one per session (wheel.h). */
	wa_wheel_schedule(s->e->wheel, &s->t_ka, on_ka_timer, ms);
}

static void ping_done(void *ctx, const struct wa_node *reply, int err)
{
	struct wa_session *s = ctx;

	if (err == WA_ECLOSED)
		return;
	if (err || !reply) {
		sess_disconnect(s, "keep-alive ping not answered within 10 s");
		return;
	}
	login_schedule_keepalive(s);
}

static void on_ka_timer(struct wa_wheel_timer *t)
{
	struct wa_session *s = lws_container_of(t, struct wa_session, t_ka);
	struct wa_node *iq = wa_node_new_attrs("iq", "type", "get", "xmlns", "w:p", NULL);

	if (!iq || !wa_node_add_new(iq, "ping") || sess_iq(s, iq, KA_TIMEOUT_MS, ping_done) != 0) {
		wa_node_free(iq);
		sess_disconnect(s, "cannot send a keep-alive ping");
		return;
	}
	wa_node_free(iq);
}

/* ---- <success> ---- */

static void active_done(void *ctx, const struct wa_node *reply, int err)
{
	struct wa_session *s = ctx;

	if (err || !wa_node_attr_is(reply, "type", "result"))
		wa_warn("session %s: the server did not take the session active (%s)", s->id,
			err ? wa_strerror(err) : "error answer");
}

static void go_active(struct wa_session *s)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "type", "set", "xmlns", "passive", NULL);

	if (iq && wa_node_add_new(iq, "active"))
		(void)sess_iq(s, iq, 0, active_done);
	wa_node_free(iq);
}

void login_on_success(struct wa_session *s, const struct wa_node *n)
{
	struct sess_status st = { .status = WA_SST_CONNECTED };
	char me[64], lid[64];
	const char *l = wa_node_attr(n, "lid");

	if (s->phase != PH_LOGGING_IN || !s->cr || !s->cr->paired)
		return; /* §12.1: ignored when not paired */
	sess_mark_ready(s);
	snprintf(me, sizeof me, "%s:%u@s.whatsapp.net", s->cr->phone, s->cr->device);
	snprintf(lid, sizeof lid, "%s", l ? l : s->cr->lid);
	st.me_jid = me;
	st.me_lid = lid[0] ? lid : NULL;
	st.phone = s->cr->phone;
	st.platform = s->cr->platform[0] ? s->cr->platform : NULL;
	wa_info("session %s: connected as %s", s->id, me);
	db_write_status(s, &st);
	count_prekeys(s);
	go_active(s);
	login_schedule_keepalive(s);
	group_sync_all(s);
	appstate_on_login(s);
}

int login_on_node(struct wa_session *s, const struct wa_node *n)
{
	const struct wa_node *c;
	long long have;

	/* <notification type="encrypt"><count value="N"/></notification> (§5.3) */
	if (strcmp(n->tag, "notification") != 0 || !wa_node_attr_is(n, "type", "encrypt") ||
	    !(c = wa_node_child(n, "count")))
		return 0;
	sess_ack(s, n);
	if (s->phase == PH_READY && wa_node_attr_int(c, "value", &have) == 0 && have < PREKEY_MIN) {
		wa_info("session %s: the server is running out of pre-keys (%lld left)", s->id, have);
		db_prekey_batch(s, PREKEY_BATCH, batch_ready);
	}
	return 1;
}
