/* sess_send: sending a text message (with mentions, or as a reply) to a
 * chat or a group (docs/protocol.md §6, §7), recorded before it is sent and
 * updated from the server's ack (the durability rule).
 *
 *   0. loop (groups): the group's participants: from the session's group
 *            cache, else a w:g2 query (§10.1), then cached;
 *   1. loop: the device lists of the peer (or every participant) and our
 *            own account: from the session's device cache, else one usync
 *            device query for the users missing (§6.3), then cached;
 *   2. db:   the message built (the quoted message read, outmsg.h); which
 *            devices we have no Signal session with; when there are none,
 *            step 4 follows in the same job;
 *   3. loop: a key fetch for those (§5.4), when there are any;
 *   4. db:   one transaction: build the sessions from the bundles, encrypt
 *            for every device (1:1: our own get the deviceSentMessage
 *            wrapper, §7.3; groups: the devices that do not have our
 *            sender key yet get it, the message goes once as skmsg,
 *            §7.4/§7.5), store the message PENDING; commit;
 *   5. loop: the <message> stanza (§7.4, with the participant hash for
 *            groups) goes out; its <ack> is awaited;
 *   6. db:   status SENT (or FAILED with the server's error) with the
 *            message.sent event, in one transaction; then the command is
 *            answered in the reference's shape.
 *
 * Caches (loop thread, per session, lost with the engine: a miss costs a
 * query): device lists and group participants live DEVICE_TTL_MS and are
 * forgotten on a devices / w:gp2 notification (send_devices_changed,
 * send_group_changed) and when the server's participant hash differs from
 * ours; which devices have our sender key for a group is remembered from
 * the server's ack on, so the distribution message goes only to the
 * devices that lack it (and again to one that asks, §8.4).
 *
 * A connection lost between 5 and 6 leaves the row PENDING and answers 503
 * (WhatsApp may or may not have the message: nothing is sent twice by us).
 * Loop thread except the *_run functions (dbpool threads). */
#include "engine/cache.h"
#include "engine/cmd.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/session_int.h"
#include "engine/store/lidmap.h"
#include "engine/store/msgs.h"
#include "engine/store/msgstatus.h"
#include "engine/store/outmsg.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa/linkcode.h"
#include "wa/msgid.h"
#include "wa/signal.h"
#include "wa/signal_node.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"
#include "wa_log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEND_MAX_DEVS 1024
#define SEND_MAX_USERS 257
#define SEND_IQ_MS 20000
#define SEND_ACK_MS 30000
#define DEVICE_TTL_MS (300 * 1000)   /* device lists and group participants */
#define DEVCACHE_CAP 1024            /* users per session */
#define GROUPCACHE_CAP 256           /* groups per session */
#define SKMEM_CAP 8192               /* (group, device) pairs per session */
#define DEVS_PER_USER 64             /* longer device lists are not cached */
#define PROBE_MISSED 1               /* encrypt_txn: a device has no session (j->probe) */

struct send_dev {
	struct wa_jid jid;
	int own;                   /* one of our own other devices */
	int skip;                  /* groups: has our sender key already, gets no <to> */
	int has_session;
	int has_bundle;
	wa_sig_bundle bundle;
	uint8_t *ct;               /* encrypted for this device */
	size_t ctlen;
	int pkmsg;
};

struct send_job {
	struct wa_session *s;
	struct wa_cmd *cmd;
	uint64_t row;
	char slug[WA_SESSION_ID_MAX];
	char id[WA_MSGID_LEN + 1];
	char peer[WA_JID_STR_MAX];        /* chat: the peer's user JID, or the group */
	char peer_pn[32];                 /* a LID peer's number, from its usync answer ("" unknown) */
	int peer_pn_asked;                /* looked up in lid_map (dev_addr) */
	int group;
	char *audience;                   /* status@broadcast: the audience's user JIDs, NUL-separated */
	size_t audience_len;
	uint8_t *skmsg;                   /* groups: the text under our sender key */
	size_t skmsg_len;
	char me_user[32];
	uint16_t me_device;
	struct wa_out out;                /* what is sent (outmsg.h) */
	int reply;                        /* message.reply: the answer says "success" too */
	const char *answer;               /* other ops: the answer's message ({success, message, data}) */
	send_done_fn done;                /* no command: told the outcome instead (sess_send_out) */
	void *done_ctx;
	send_link_fn link;                /* the caller's row, written with the message (sess_send_linked) */
	int encrypted;                    /* step 4 done within step 2's job */
	int probe;                        /* step 4 tried as if every session existed */
	int64_t t;
	struct send_dev *devs;            /* grown by add_devices, at most SEND_MAX_DEVS */
	size_t ndev, capdev;
	int devs_oom;                     /* add_devices could not grow devs */
	size_t peer_devs;                 /* devices that are not our own */
	char phash[12];                   /* groups: the participant hash we sent */
	uint8_t account[WA_CREDS_ACCOUNT_MAX];
	size_t account_len;
	/* step 6 */
	char status[16];
	char error[16];
	char *payload;
	uint64_t outbox_id;
	char *status_payload;             /* the message.status event */
	uint64_t status_outbox_id;
	struct wa_msg_upd_event react_ev; /* a sent reaction's message.reaction */
	/* waiting for the ack */
	lws_sorted_usec_list_t t_ack;
	struct send_job *next;
};

/* What a job holds, not the job itself. */
static void job_release(struct send_job *j)
{
	for (size_t i = 0; j->devs && i < j->ndev; i++)
		free(j->devs[i].ct);
	free(j->skmsg);
	free(j->audience);
	free(j->devs);
	wa_out_free(&j->out);
	free(j->payload);
	free(j->status_payload);
	free(j->react_ev.payload);
	explicit_bzero(j->account, sizeof j->account);
}

static void job_free(struct send_job *j)
{
	job_release(j);
	free(j);
}

/* Answer the command with an error and drop the job (its session ref too). */
static void fail(struct send_job *j, int status, const char *msg, const char *code)
{
	if (j->cmd)
		wa_cmd_reply_error(j->cmd, status, msg, code);
	if (j->done)
		j->done(j->done_ctx, status, j->id, msg);
	j->cmd = NULL;
	j->done = NULL;
	sess_unref(j->s);
	job_free(j);
}

/* ---- 6: the outcome ---- */

/* What a sent reaction, edit or revoke makes of the message it names,
 * once the server has it (in the outcome's transaction): our reaction is
 * kept like anyone's (per reacting user, msgs.h), so one arriving later
 * from a phone does not drop it. */
static int apply_to_target(struct wa_db *db, struct send_job *j)
{
	unsigned long long row = (unsigned long long)j->row;
	const struct wa_out *o = &j->out;

	switch (o->kind) {
	case WA_OUT_REACTION: {
		char me[WA_JID_STR_MAX];
		struct wa_msg_react r = { 0 };
		int rc;

		snprintf(me, sizeof me, "%s@s.whatsapp.net", j->me_user);
		r.chat = j->peer;
		r.id = j->id;
		r.target = o->target_id;
		r.sender = me;
		r.from_me = 1;
		r.emoji = o->text ? o->text : "";
		r.t_ms = (int64_t)j->t * 1000;
		free(j->react_ev.payload);
		memset(&j->react_ev, 0, sizeof j->react_ev);
		rc = wa_msgs_react(db, j->row, j->slug, &r, &j->react_ev);
		return rc == 0 || rc == WA_ECONFLICT ? 0 : -1;
	}
	case WA_OUT_EDIT:
		return wa_db_exec(db, "UPDATE messages SET content = ?, edited = 1 WHERE wa_session_id = ? AND "
				  "message_id = ?", "sus", o->text, row, o->target_id) < 0 ? -1 : 0;
	case WA_OUT_REVOKE:
		return wa_db_exec(db, "UPDATE messages SET content = NULL, caption = NULL, deleted = 1 "
				  "WHERE wa_session_id = ? AND message_id = ?", "us", row, o->target_id) < 0 ? -1 : 0;
	default:
		return 0;
	}
}

/* The server's answer took (the message was PENDING): its events, and
 * what it makes of the message it names. */
static int outcome_took(struct wa_db *db, void *arg, const char *id, const char *status)
{
	struct send_job *j = arg;
	int sent = strcmp(status, "SENT") == 0;

	if (sent && wa_outbox_add_later(db, j->row, "message.sent", j->payload, &j->outbox_id) != 0)
		return WA_ESTORAGE;
	if (sent && apply_to_target(db, j) != 0)
		return WA_ESTORAGE;
	if (j->link && j->link(db, j->done_ctx, id, status) != 0)
		return WA_ESTORAGE;
	/* every change of a sent message's status is a message.status event */
	return wa_outbox_add_later(db, j->row, "message.status", j->status_payload, &j->status_outbox_id) != 0 ?
	       WA_ESTORAGE : 0;
}

static int outcome_run(struct wa_db *db, void *arg)
{
	struct send_job *j = arg;
	json_t *st;
	int flags = WA_MSGSTATUS_ONLY_PENDING;

	free(j->status_payload);
	j->status_payload = NULL;
	j->outbox_id = j->status_outbox_id = 0;
	st = json_pack("{s:s,s:s,s:s,s:s,s:s*,s:I}", "sessionId", j->slug, "id", j->id, "remoteJid", j->peer, "status",
		       j->status, "error", j->error[0] ? j->error : NULL, "timestamp", (json_int_t)time(NULL));
	j->status_payload = st ? json_dumps(st, JSON_COMPACT) : NULL;
	json_decref(st);
	if (!j->status_payload)
		return WA_ENOMEM;
	/* a plain message's raise waits for the commit, with the batch's
	 * others; one that changes another row (a reaction, an edit, a
	 * revoke) or a broadcast's recipient does it in place, in order */
	if (j->link || j->out.kind == WA_OUT_REACTION || j->out.kind == WA_OUT_EDIT || j->out.kind == WA_OUT_REVOKE)
		flags |= WA_MSGSTATUS_NOW;
	if (wa_db_begin(db) < 0)
		return WA_ESTORAGE;
	if (wa_msgstatus_raise(db, j->row, j->id, j->status, flags, outcome_took, j) != 0) {
		wa_db_rollback(db);
		return WA_ESTORAGE;
	}
	return wa_db_commit(db) < 0 ? WA_ESTORAGE : 0;
}

static json_t *reply_data(const struct send_job *j)
{
	char ts[24];

	snprintf(ts, sizeof ts, "%lld", (long long)j->t);
	return json_pack("{s:{s:s,s:b,s:s},s:o,s:s,s:s}", "key", "remoteJid", j->peer, "fromMe", 1, "id", j->id,
			 "message", wa_out_json(&j->out), "messageTimestamp", ts, "status", j->status);
}

static void outcome_done(void *arg, int rc)
{
	struct send_job *j = arg;
	struct wa_session *s = j->s;
	int live = sess_unref(s);

	if (rc != 0)
		wa_error("session %s: message %s: cannot store its status %s (database)", j->slug, j->id, j->status);
	if (live && rc == 0 && j->outbox_id)
		wa_events_publish_text(s->e->events, s->id, "message.sent", j->payload, j->outbox_id,
				       (uint64_t)j->t * 1000);
	if (live && rc == 0 && j->react_ev.event && j->react_ev.payload) {
		json_t *data = json_loads(j->react_ev.payload, 0, NULL);

		if (data)
			wa_events_publish(s->e->events, s->id, j->react_ev.event, data, j->react_ev.outbox_id,
					  (uint64_t)j->react_ev.t_ms);
		json_decref(data);
	}
	if (live && rc == 0 && j->status_outbox_id)
		wa_events_publish_text(s->e->events, s->id, "message.status", j->status_payload,
				       j->status_outbox_id, wa_engine_wall_ms());
	if (j->done) {
		int ok = strcmp(j->status, "SENT") == 0;

		j->done(j->done_ctx, ok ? 200 : strcmp(j->error, "not_sent") == 0 ? 503 : 500, j->id,
			ok ? NULL : "WhatsApp refused the message");
		j->done = NULL;
	}
	if (j->cmd) {
		if (strcmp(j->status, "SENT") == 0 && j->answer)
			wa_cmd_reply(j->cmd, 200, json_pack("{s:b,s:b,s:s,s:o}", "success", 1, "status", 1, "message",
							    j->answer, "data", reply_data(j)));
		else if (strcmp(j->status, "SENT") == 0 && j->reply)
			wa_cmd_reply(j->cmd, 200, json_pack("{s:b,s:b,s:s,s:o}", "status", 1, "success", 1, "message",
							    "Message sent successfully", "data", reply_data(j)));
		else if (strcmp(j->status, "SENT") == 0)
			wa_cmd_reply(j->cmd, 200, json_pack("{s:b,s:s,s:o}", "status", 1, "message",
							    "Message sent successfully", "data", reply_data(j)));
		else if (strcmp(j->error, "not_sent") == 0)
			wa_cmd_reply_error(j->cmd, 503, "Session not connected or ready", "session_not_ready");
		else
			wa_cmd_reply_error(j->cmd, 500, "WhatsApp refused the message", "send_failed");
		j->cmd = NULL;
	}
	job_free(j);
}

static void finish(struct send_job *j, const char *status, const char *error)
{
	struct wa_session *s = j->s;

	snprintf(j->status, sizeof j->status, "%s", status);
	snprintf(j->error, sizeof j->error, "%s", error ? error : "");
	if (wa_dbpool_submit(s->e->db, j->row, outcome_run, outcome_done, j) != 0)
		outcome_done(j, WA_EFULL);
}

/* ---- 5: the stanza and its ack ---- */

static void unlink_send(struct send_job *j)
{
	struct send_job **pp;

	for (pp = &j->s->sends; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	j->next = NULL;
	lws_sul_cancel(&j->t_ack);
}

static void on_ack_timeout(lws_sorted_usec_list_t *sul)
{
	struct send_job *j = lws_container_of(sul, struct send_job, t_ack);

	unlink_send(j);
	wa_warn("session %s: message %s: no ack from the server in time; it stays PENDING", j->slug, j->id);
	fail(j, 504, "WhatsApp did not confirm the message in time; it is stored as PENDING", "engine_timeout");
}

static void skmem_key(char *out, size_t cap, const char *group, const struct wa_jid *dev);
static void forget_devices(struct wa_session *s, const struct wa_jid *user);

/* A group message was taken: the devices that got our sender key have it
 * from now on; a participant hash other than ours means our view of the
 * group is old, so its participants and their device lists are asked for
 * again next time (and who has our key: a new device may lack it). */
static void group_acked(struct send_job *j, const char *phash)
{
	struct wa_session *s = j->s;
	struct wa_cache *mem = s->skmem ? s->skmem : (s->skmem = wa_cache_new(SKMEM_CAP, 0));
	uint64_t now = wa_engine_now_ms();
	char key[2 * WA_JID_STR_MAX + 2];

	if (phash && j->phash[0] && strcmp(phash, j->phash) != 0) {
		wa_info("session %s: group %s changed (participant hash %s, ours %s): its members are asked for "
			"again", s->id, j->peer, phash, j->phash);
		wa_cache_forget(s->groupcache, j->peer);
		for (size_t i = 0; i < j->ndev; i++)
			forget_devices(s, &j->devs[i].jid);
		wa_cache_forget_prefix(s->skmem, j->peer);
		return;
	}
	for (size_t i = 0; i < j->ndev; i++)
		if (j->devs[i].ct) {
			skmem_key(key, sizeof key, j->peer, &j->devs[i].jid);
			(void)wa_cache_put(mem, key, "", 0, now);
		}
}

int send_on_ack(struct wa_session *s, const struct wa_node *n)
{
	const char *id = wa_node_attr(n, "id"), *err = wa_node_attr(n, "error");
	struct send_job *j;

	if (!id || !wa_node_attr_is(n, "class", "message"))
		return 0;
	for (j = s->sends; j; j = j->next)
		if (strcmp(j->id, id) == 0)
			break;
	if (!j)
		return 0;
	unlink_send(j);
	if (err && strcmp(err, "0") != 0) {
		wa_warn("session %s: message %s refused by the server (error %s)", s->id, id, err);
		finish(j, "FAILED", err);
	} else {
		wa_debug("session %s: message %s acked", s->id, id);
		if (j->group)
			group_acked(j, wa_node_attr(n, "phash"));
		finish(j, "SENT", NULL);
	}
	return 1;
}

void send_fail_all(struct wa_session *s)
{
	while (s->sends) {
		struct send_job *j = s->sends;

		unlink_send(j);
		fail(j, 503, "The connection to WhatsApp dropped before it confirmed the message; it is stored as "
			     "PENDING", "session_not_ready");
	}
}

/* mediatype and decrypt-fail of an <enc> (§7.4: Baileys' form, on every enc). */
static int enc_attrs(struct wa_node *enc, const struct wa_out *o)
{
	if (o->mediatype && wa_node_set_attr(enc, "mediatype", o->mediatype) != 0)
		return -1;
	if (o->hide_fail && wa_node_set_attr(enc, "decrypt-fail", "hide") != 0)
		return -1;
	return 0;
}

static void send_stanza(struct send_job *j)
{
	struct wa_session *s = j->s;
	const struct wa_out *o = &j->out;
	struct wa_node *m = wa_node_new_attrs("message", "id", j->id, "to", j->peer, "type",
					      o->stanza_type ? o->stanza_type : "text", "edit", o->edit, "phash",
					      j->group && j->phash[0] ? j->phash : NULL, NULL);
	struct wa_node *parts = NULL;
	int any_pkmsg = 0, ok = m != NULL, rc = WA_ENOMEM;

	for (size_t i = 0; ok && i < j->ndev; i++) {
		struct wa_node *to, *enc;

		if (!j->devs[i].ct)
			continue; /* has our sender key already, or could not get this message */
		if (!parts && !(parts = wa_node_add_new(m, "participants"))) {
			ok = 0;
			break;
		}
		if (!(to = wa_node_add_new(parts, "to")) || wa_node_set_attr_jid(to, "jid", &j->devs[i].jid) != 0 ||
		    !(enc = wa_node_add_new(to, "enc")) || wa_node_set_attr(enc, "v", "2") != 0 ||
		    wa_node_set_attr(enc, "type", j->devs[i].pkmsg ? "pkmsg" : "msg") != 0 ||
		    enc_attrs(enc, o) != 0 || wa_node_set_bytes(enc, j->devs[i].ct, j->devs[i].ctlen) != 0) {
			ok = 0;
			break;
		}
		any_pkmsg |= j->devs[i].pkmsg;
	}
	if (ok && j->group) {
		struct wa_node *enc = wa_node_add_new(m, "enc");

		if (!enc || wa_node_set_attr(enc, "v", "2") != 0 || wa_node_set_attr(enc, "type", "skmsg") != 0 ||
		    enc_attrs(enc, o) != 0 || wa_node_set_bytes(enc, j->skmsg, j->skmsg_len) != 0)
			ok = 0;
	}
	if (ok && o->polltype) {
		struct wa_node *meta = wa_node_add_new(m, "meta");

		if (!meta || wa_node_set_attr(meta, "polltype", o->polltype) != 0)
			ok = 0;
	}
	if (ok && any_pkmsg) {
		struct wa_node *di = wa_node_add_new(m, "device-identity");

		if (!di || wa_node_set_bytes(di, j->account, j->account_len) != 0)
			ok = 0;
	}
	if (ok && s->phase == PH_READY)
		rc = sess_send(s, m);
	else if (ok)
		rc = WA_ECLOSED;
	wa_node_free(m);
	if (rc != 0) {
		/* recorded but certainly not sent: it fails */
		wa_warn("session %s: message %s not sent (%s)", s->id, j->id, wa_strerror(rc));
		finish(j, "FAILED", "not_sent");
		return;
	}
	j->next = s->sends;
	s->sends = j;
	lws_sul_schedule(s->e->lws, 0, &j->t_ack, on_ack_timeout, (lws_usec_t)SEND_ACK_MS * LWS_US_PER_MS);
}

/* ---- 4: encrypt and record ---- */

enum plain_kind { PLAIN_TEXT, PLAIN_OWN, PLAIN_SKDM, PLAIN_TEXT_SKDM };

/* The padded plaintext: the message (PLAIN_TEXT), the message wrapped for
 * our own devices (PLAIN_OWN, 1:1), our sender key for the group
 * (PLAIN_SKDM, skdm/skdm_len), or both in one (PLAIN_TEXT_SKDM: a group
 * message sent again to one device, §8.4). j->out.msg is lent to the
 * wrappers for the packing and left as it was. */
static int plaintext(struct send_job *j, enum plain_kind kind, const uint8_t *skdm, size_t skdm_len,
		     uint8_t **out, size_t *outlen)
{
	WaE2E__Message only = WA_E2_E__MESSAGE__INIT, wrap = WA_E2_E__MESSAGE__INIT, *msg = j->out.msg;
	WaE2E__DeviceSentMessage dsm = WA_E2_E__DEVICE_SENT_MESSAGE__INIT;
	WaE2E__SenderKeyDistributionMessage sk = WA_E2_E__SENDER_KEY_DISTRIBUTION_MESSAGE__INIT;
	const WaE2E__Message *top = msg;
	uint8_t *raw;
	size_t len;
	int rc;

	if (!msg)
		return WA_EINTERNAL;
	if (kind == PLAIN_SKDM || kind == PLAIN_TEXT_SKDM) {
		sk.groupid = (char *)j->peer;
		sk.has_axolotlsenderkeydistributionmessage = 1;
		sk.axolotlsenderkeydistributionmessage.data = (uint8_t *)skdm;
		sk.axolotlsenderkeydistributionmessage.len = skdm_len;
	}
	if (kind == PLAIN_SKDM) {
		only.senderkeydistributionmessage = &sk;
		top = &only;
	} else if (kind == PLAIN_TEXT_SKDM) {
		msg->senderkeydistributionmessage = &sk;
	} else if (kind == PLAIN_OWN) {
		dsm.destinationjid = (char *)j->peer;
		dsm.message = msg;
		wrap.devicesentmessage = &dsm;
		top = &wrap;
	}
	len = wa_e2_e__message__get_packed_size(top);
	raw = malloc(len ? len : 1);
	if (raw)
		wa_e2_e__message__pack(top, raw);
	if (kind == PLAIN_TEXT_SKDM)
		msg->senderkeydistributionmessage = NULL;
	if (!raw)
		return WA_ENOMEM;
	rc = wa_sig_pad(raw, len, 0, out, outlen) == 0 ? 0 : WA_ENOMEM;
	free(raw);
	return rc;
}

/* Our sender key for the group j->peer (made on first use), under our
 * own device's address *self (PN addressing, as wa-sim's groups use).
 * 0, WA_ESTORAGE or WA_EINTERNAL. */
static int our_skdm(const struct send_job *j, wa_sig *sig, wa_sig_addr *self, uint8_t **skdm, size_t *len)
{
	char jid[WA_JID_STR_MAX];
	int rc;

	snprintf(jid, sizeof jid, "%s:%u@s.whatsapp.net", j->me_user, j->me_device);
	if (wa_sig_addr_from_jid(jid, self) != 0)
		return WA_EINTERNAL;
	rc = wa_sig_group_skdm(sig, j->peer, self, skdm, len);
	return rc == 0 ? 0 : rc == WA_SIG_STORE ? WA_ESTORAGE : WA_EINTERNAL;
}

/* The Signal address of a device of the job (engine/store/lidmap.h): a
 * device of a LID peer is named by the peer's number when it is known
 * (from its usync answer, else looked up once per job). */
static int dev_addr(struct wa_db *db, struct send_job *j, const struct wa_jid *dev, wa_sig_addr *out)
{
	struct wa_jid pj;

	if (!wa_jid_is_lid(dev) || wa_jid_parse(j->peer, &pj, NULL) != 0 || strcmp(pj.user, dev->user) != 0)
		return wa_lidmap_addr(db, j->row, dev, out);
	if (!j->peer_pn[0] && !j->peer_pn_asked) {
		if (wa_lidmap_pn(db, j->row, dev->user, j->peer_pn, sizeof j->peer_pn) < 0)
			return WA_ESTORAGE;
		j->peer_pn_asked = 1;
	}
	return wa_lidmap_name(dev, j->peer_pn, out);
}

/* Build a session with addr from b. A bundle whose identity is not the one
 * we knew (the user reinstalled WhatsApp) comes from the server for that
 * device, so the old identity is forgotten and the new one taken, as
 * WhatsApp clients do (the chat shows "security code changed"). */
static int bundle_accept(const struct send_job *j, wa_sig *sig, const wa_sig_addr *addr, const struct wa_jid *dev,
			 const wa_sig_bundle *b)
{
	int rc = wa_sig_bundle_process(sig, addr, b);
	char who[WA_JID_STR_MAX];

	if (rc != WA_SIG_UNTRUSTED)
		return rc;
	wa_jid_format(dev, who, sizeof who);
	wa_warn("session %s: the identity key of %s changed (a reinstall?): the new one is accepted", j->slug, who);
	rc = wa_sig_identity_forget(sig, addr);
	return rc == WA_SIG_OK ? wa_sig_bundle_process(sig, addr, b) : rc;
}

static int encrypt_txn(struct wa_db *db, void *arg)
{
	struct send_job *j = arg;
	wa_sigstore *st = NULL;
	wa_sig *sig = NULL;
	uint8_t *pt[2] = { NULL, NULL };
	size_t ptlen[2] = { 0, 0 };
	struct wa_msg_row m;
	uint64_t outbox = 0;
	uint8_t *raw = NULL;
	size_t ok = 0, raw_len = 0;
	int rc;

	if (wa_db_begin(db) < 0)
		return WA_ESTORAGE;
	if ((rc = wa_creds_open_sig(db, j->row, &st, &sig)) != 0)
		goto rollback;
	if (j->group) {
		/* the devices without our sender key get it; the message goes once */
		uint8_t *skdm = NULL, *gpt = NULL;
		size_t skdm_len = 0, gptlen = 0;
		wa_sig_addr self;

		if ((rc = our_skdm(j, sig, &self, &skdm, &skdm_len)) != 0)
			goto close;
		rc = plaintext(j, PLAIN_SKDM, skdm, skdm_len, &pt[0], &ptlen[0]);
		free(skdm);
		if (rc == 0)
			rc = plaintext(j, PLAIN_TEXT, NULL, 0, &gpt, &gptlen);
		if (rc == 0) {
			free(j->skmsg);
			j->skmsg = NULL;
			rc = wa_sig_group_encrypt(sig, j->peer, &self, gpt, gptlen, &j->skmsg, &j->skmsg_len);
			rc = rc == 0 ? 0 : rc == WA_SIG_STORE ? WA_ESTORAGE : WA_EINTERNAL;
		}
		wa_sig_buf_free(gpt, gptlen);
		if (rc != 0)
			goto close;
		pt[1] = NULL;
	} else if ((rc = plaintext(j, PLAIN_TEXT, NULL, 0, &pt[0], &ptlen[0])) != 0 ||
		   (rc = plaintext(j, PLAIN_OWN, NULL, 0, &pt[1], &ptlen[1])) != 0) {
		goto close;
	}
	for (size_t i = 0; i < j->ndev; i++) {
		struct send_dev *d = &j->devs[i];
		enum wa_sig_msg_type type;
		wa_sig_addr addr;

		free(d->ct);
		d->ct = NULL;
		if (d->skip)
			continue;
		if ((rc = dev_addr(db, j, &d->jid, &addr)) != 0) {
			if (rc == WA_ESTORAGE)
				goto close;
			continue;
		}
		if (!d->has_session && d->has_bundle && bundle_accept(j, sig, &addr, &d->jid, &d->bundle) != 0) {
			wa_warn("session %s: the keys of a device of %s do not verify; it is left out", j->slug,
				j->peer);
			continue;
		}
		rc = wa_sig_encrypt(sig, &addr, pt[d->own && !j->group], ptlen[d->own && !j->group], &type, &d->ct,
				    &d->ctlen);
		if (rc == WA_SIG_STORE) {
			rc = WA_ESTORAGE;
			goto close;
		}
		if (rc == WA_SIG_NO_SESSION && j->probe) {
			rc = PROBE_MISSED; /* rolled back: no ratchet has moved */
			goto close;
		}
		if (rc != 0) {
			d->ct = NULL;
			continue; /* no session and no keys: that device does not get it */
		}
		d->pkmsg = type == WA_SIG_PKMSG;
		if (!d->own)
			ok++;
	}
	if (ok == 0 && !j->group) {
		rc = WA_ENOTFOUND;
		goto close;
	}
	raw_len = wa_e2_e__message__get_packed_size(j->out.msg);
	if (!(raw = malloc(raw_len ? raw_len : 1))) {
		rc = WA_ENOMEM;
		goto close;
	}
	wa_e2_e__message__pack(j->out.msg, raw);
	memset(&m, 0, sizeof m);
	m.chat = j->peer;
	m.id = j->id;
	m.from_me = 1;
	m.type = j->out.type ? j->out.type : "TEXT";
	m.content = j->out.text;
	m.caption = j->out.caption;
	m.media_mime = j->out.media_mime;
	m.media_size = j->out.media_size;
	m.raw = raw;
	m.raw_len = raw_len;
	m.quoted_id = j->out.quoted_id;
	m.mentions = j->out.mentions_json;
	m.status = "PENDING";
	m.t = j->t;
	m.event = NULL; /* the event follows the server's ack */
	/* our new id: the row goes in with the batch's others at the commit;
	 * a broadcast's recipient row names its id and needs the conflict
	 * answer (another send of it), so that one is written now */
	m.row_later = !j->link;
	free(j->payload);
	j->payload = wa_msgs_event_payload(j->slug, &m);
	if (!j->payload) {
		rc = WA_ENOMEM;
		goto close;
	}
	rc = wa_msgs_store(db, j->row, &m, &outbox);
	if (rc == 0 && j->link)
		rc = j->link(db, j->done_ctx, j->id, NULL);
close:
	free(raw);
	wa_creds_close_sig(st, sig);
	wa_sig_buf_free(pt[0], ptlen[0]);
	wa_sig_buf_free(pt[1], ptlen[1]);
	if (rc == 0)
		return wa_db_commit(db) < 0 ? WA_ESTORAGE : 0;
rollback:
	wa_db_rollback(db);
	return rc;
}

static int encrypt_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, encrypt_txn, arg);
}

static void encrypt_done(void *arg, int rc)
{
	struct send_job *j = arg;

	if (j->s->gone) {
		fail(j, 503, "Session not connected or ready", "session_not_ready");
		return;
	}
	if (rc == WA_ENOTFOUND) {
		fail(j, 404, "The recipient has no device to deliver to (no keys)", "not_found");
		return;
	}
	if (rc == WA_ECONFLICT && j->link) {
		fail(j, 409, "Already sent by another send of the same row", "conflict");
		return;
	}
	if (rc != 0) {
		wa_warn("session %s: message to %s not recorded: %s", j->slug, j->peer, wa_strerror(rc));
		fail(j, 503, "The message could not be recorded (database); nothing was sent", "database_unavailable");
		return;
	}
	send_stanza(j);
}

static void encrypt_and_record(struct send_job *j)
{
	if (wa_dbpool_submit(j->s->e->db, j->row, encrypt_run, encrypt_done, j) != 0)
		fail(j, 503, "The engine is busy; try again", "engine_busy");
}

/* ---- 3: bundles ---- */

static void keys_done(void *ctx, const struct wa_node *reply, int err)
{
	struct send_job *j = ctx;
	const struct wa_node *list = reply ? wa_node_child(reply, "list") : NULL, *u = NULL;

	if (err || !list || !wa_node_attr_is(reply, "type", "result")) {
		fail(j, 503, "WhatsApp did not give the recipient's keys", "session_not_ready");
		return;
	}
	while ((u = wa_node_next(list, "user", u)) != NULL) {
		struct wa_jid uj;

		if (wa_node_attr_jid(u, "jid", &uj) != 0)
			continue;
		for (size_t i = 0; i < j->ndev; i++)
			if (!j->devs[i].has_session && wa_jid_equal(&j->devs[i].jid, &uj) &&
			    wa_sig_bundle_from_node(u, &j->devs[i].bundle) == 0)
				j->devs[i].has_bundle = 1;
	}
	encrypt_and_record(j);
}

/* ---- 2: the message built, which sessions exist ---- */

static int sessions_run(struct wa_db *db, void *arg)
{
	struct send_job *j = arg;
	char me[WA_JID_STR_MAX];
	wa_sigstore *st;
	wa_sig *sig;
	size_t missing = 0;
	int rc;

	j->encrypted = 0; /* this may be a second run (a voided batch, dbpool.h) */
	if (j->peer_pn[0] && !j->group) {
		/* a LID peer's number, as its usync answer gave it */
		struct wa_jid pj;

		if (wa_jid_parse(j->peer, &pj, NULL) == 0 && wa_jid_is_lid(&pj) &&
		    (rc = wa_lidmap_put(db, j->row, pj.user, j->peer_pn)) != 0)
			return rc;
	}
	snprintf(me, sizeof me, "%s@s.whatsapp.net", j->me_user);
	if ((rc = wa_out_build(&j->out, db, j->row, j->peer, me)) != 0)
		return rc;
	/* Most sends go to devices we have sessions with: try step 4 at once
	 * as if all were there, so that each session record is read once
	 * (by the encryption) instead of once to ask and again to encrypt.
	 * The first device without one rolls that transaction back, and
	 * then each is asked. */
	for (size_t i = 0; i < j->ndev; i++)
		j->devs[i].has_session = !j->devs[i].skip;
	j->probe = 1;
	rc = wa_dbjob_retry(db, encrypt_txn, j);
	j->probe = 0;
	if (rc != PROBE_MISSED) {
		j->encrypted = rc == 0;
		return rc;
	}
	if ((rc = wa_creds_open_sig(db, j->row, &st, &sig)) != 0)
		return rc;
	for (size_t i = 0; i < j->ndev; i++) {
		wa_sig_addr addr;

		if (j->devs[i].skip)
			continue;
		j->devs[i].has_session = dev_addr(db, j, &j->devs[i].jid, &addr) == 0 &&
					 wa_sig_has_session(sig, &addr) == 1;
		missing += !j->devs[i].has_session;
	}
	wa_creds_close_sig(st, sig);
	if (missing)
		return 0;
	/* every session is there: step 4 in this job, one hop fewer */
	rc = wa_dbjob_retry(db, encrypt_txn, j);
	j->encrypted = rc == 0;
	return rc;
}

static void sessions_done(void *arg, int rc)
{
	struct send_job *j = arg;
	struct wa_node *iq, *key;
	int need = 0;

	if (rc == WA_ENOTFOUND && j->out.quoted_id && !j->out.msg) {
		fail(j, 404, "The message to reply to is not stored for this session", "not_found");
		return;
	}
	if (rc == WA_EDENIED && j->out.fail_status) {
		fail(j, j->out.fail_status, j->out.fail_why, j->out.fail_code);
		return;
	}
	if (j->encrypted || rc != 0) {
		encrypt_done(j, rc);
		return;
	}
	if (j->s->gone || j->s->phase != PH_READY) {
		fail(j, 503, "Session not connected or ready", "session_not_ready");
		return;
	}
	iq = wa_node_new_attrs("iq", "type", "get", "xmlns", "encrypt", "to", "s.whatsapp.net", NULL);
	key = iq ? wa_node_add_new(iq, "key") : NULL;
	for (size_t i = 0; key && i < j->ndev; i++) {
		struct wa_node *u;

		if (j->devs[i].has_session || j->devs[i].skip)
			continue;
		need++;
		if (!(u = wa_node_add_new(key, "user")) || wa_node_set_attr_jid(u, "jid", &j->devs[i].jid) != 0 ||
		    wa_node_set_attr(u, "reason", "identity") != 0)
			key = NULL;
	}
	if (!key) {
		wa_node_free(iq);
		fail(j, 500, "Out of memory", NULL);
		return;
	}
	if (need == 0) {
		wa_node_free(iq);
		encrypt_and_record(j);
		return;
	}
	rc = sess_iq_ctx(j->s, iq, SEND_IQ_MS, keys_done, j);
	wa_node_free(iq);
	if (rc != 0)
		fail(j, 503, "Session not connected or ready", "session_not_ready");
}

/* ---- the session's caches ---- */

static struct wa_cache *cache_of(struct wa_cache **c, size_t cap, uint64_t ttl_ms)
{
	if (!*c)
		*c = wa_cache_new(cap, ttl_ms);
	return *c;
}

/* The key of (group, device) in the sender-key memory. */
static void skmem_key(char *out, size_t cap, const char *group, const struct wa_jid *dev)
{
	char dj[WA_JID_STR_MAX];

	wa_jid_format(dev, dj, sizeof dj);
	snprintf(out, cap, "%s %s", group, dj);
}

/* Forget user's cached device list (user may name a device). */
static void forget_devices(struct wa_session *s, const struct wa_jid *user)
{
	struct wa_jid u = *user;
	char key[WA_JID_STR_MAX];

	wa_jid_to_non_ad(&u);
	if (wa_jid_format(&u, key, sizeof key) >= 0)
		wa_cache_forget(s->devcache, key);
}

void send_devices_changed(struct wa_session *s, const struct wa_jid *user)
{
	forget_devices(s, user);
	/* a device that was reset lost our sender keys: every group may need them again */
	wa_cache_forget(s->skmem, NULL);
}

void send_group_changed(struct wa_session *s, const struct wa_jid *group)
{
	char key[WA_JID_STR_MAX];

	if (wa_jid_format(group, key, sizeof key) < 0)
		return;
	wa_cache_forget(s->groupcache, key);
	/* someone may have left: the next message re-checks who has our key */
	wa_cache_forget_prefix(s->skmem, key);
}

void send_caches_free(struct wa_session *s)
{
	wa_cache_free(s->devcache);
	wa_cache_free(s->groupcache);
	wa_cache_free(s->skmem);
	s->devcache = s->groupcache = s->skmem = NULL;
}

/* ---- 1: devices ---- */

/* Room for one more device (devs grows by doubling: a 1:1 send has a
 * few, a big group up to SEND_MAX_DEVS). 0, or -1 when full or out of
 * memory (devs_oom: the send fails rather than skip a device). */
static int dev_room(struct send_job *j)
{
	size_t cap;
	struct send_dev *nd;

	if (j->ndev < j->capdev)
		return 0;
	if (j->capdev >= SEND_MAX_DEVS)
		return -1;
	cap = j->capdev ? 2 * j->capdev : 8;
	if (cap > SEND_MAX_DEVS)
		cap = SEND_MAX_DEVS;
	nd = realloc(j->devs, cap * sizeof *nd);
	if (!nd) {
		j->devs_oom = 1;
		return -1;
	}
	j->devs = nd;
	j->capdev = cap;
	return 0;
}

/* Add user's devices (ids, n) to the job, leaving out our own device. */
static void add_devices(struct send_job *j, const struct wa_jid *uj, const uint16_t *ids, size_t n)
{
	int own = wa_jid_is_pn(uj) && strcmp(uj->user, j->me_user) == 0;

	for (size_t k = 0; k < n && dev_room(j) == 0; k++) {
		struct send_dev *sd = &j->devs[j->ndev];

		if (own && ids[k] == j->me_device)
			continue; /* not to ourselves */
		memset(sd, 0, sizeof *sd);
		if (wa_jid_make_ad(&sd->jid, uj->user, ids[k], uj->server) != 0)
			continue;
		sd->own = own;
		j->peer_devs += !own;
		j->ndev++;
	}
}

/* The device ids of a usync <user> (§6.3: unsigned companions and hosted
 * devices are skipped). Returns how many (at most cap). */
static size_t usync_ids(const struct wa_node *user, uint16_t *ids, size_t cap)
{
	const struct wa_node *dl = wa_node_path(user, "devices", "device-list", NULL), *d = NULL;
	size_t n = 0;

	while (dl && (d = wa_node_next(dl, "device", d)) != NULL && n < cap) {
		unsigned long long id;

		if (wa_node_attr_uint(d, "id", &id) != 0 || id > 0xFFFF)
			continue;
		if (id != 0 && !wa_node_attr(d, "key-index"))
			continue;
		if (wa_node_attr_is(d, "is_hosted", "true"))
			continue;
		ids[n++] = (uint16_t)id;
	}
	return n;
}

/* Every device is known: the participant hash (groups: over every device,
 * ours included, §7.4), who needs our sender key, then step 2. */
static void devices_ready(struct send_job *j)
{
	struct wa_session *s = j->s;

	if (j->devs_oom) {
		fail(j, 500, "Out of memory", NULL);
		return;
	}
	if (!j->group && j->peer_devs == 0) {
		fail(j, 404, "The recipient is not on WhatsApp", "not_found");
		return;
	}
	if (j->group) {
		char (*ad)[WA_JID_STR_MAX + 8] = calloc(j->ndev + 1, sizeof *ad);
		const char **v = calloc(j->ndev + 1, sizeof *v);
		uint64_t now = wa_engine_now_ms();

		for (size_t i = 0; ad && v && i < j->ndev; i++) {
			char key[2 * WA_JID_STR_MAX + 2];
			const struct wa_jid *d = &j->devs[i].jid;

			snprintf(ad[i], sizeof ad[i], "%s.%u:%u@%s", d->user, d->agent, d->device, d->server);
			v[i] = ad[i];
			skmem_key(key, sizeof key, j->peer, d);
			/* a status lists its whole audience every time (the server
			 * fans out to the listed devices, §7.8): each gets the SKDM,
			 * as whatsmeow sends it to every device */
			j->devs[i].skip = !j->audience && wa_cache_get(s->skmem, key, now, NULL) != NULL;
		}
		if (ad && v) {
			snprintf(ad[j->ndev], sizeof ad[j->ndev], "%s.0:%u@s.whatsapp.net", j->me_user, j->me_device);
			v[j->ndev] = ad[j->ndev];
			if (j->audience || wa_phash(v, j->ndev + 1, j->phash) != 0)
				j->phash[0] = '\0';
		}
		free(ad);
		free(v);
	}
	if (wa_dbpool_submit(s->e->db, j->row, sessions_run, sessions_done, j) != 0)
		fail(j, 503, "The engine is busy; try again", "engine_busy");
}

static void devices_done(void *ctx, const struct wa_node *reply, int err)
{
	struct send_job *j = ctx;
	const struct wa_node *list = reply ? wa_node_path(reply, "usync", "list", NULL) : NULL, *u = NULL;
	struct wa_cache *dc = cache_of(&j->s->devcache, DEVCACHE_CAP, DEVICE_TTL_MS);
	uint64_t now = wa_engine_now_ms();

	if (err || !list) {
		fail(j, 503, "WhatsApp did not list the recipient's devices", "session_not_ready");
		return;
	}
	while ((u = wa_node_next(list, "user", u)) != NULL) {
		uint16_t ids[DEVS_PER_USER];
		char key[WA_JID_STR_MAX];
		struct wa_jid uj;
		size_t n;

		if (wa_node_attr_jid(u, "jid", &uj) != 0)
			continue;
		wa_jid_to_non_ad(&uj);
		if (wa_jid_is_lid(&uj) && !j->group && wa_node_attr(u, "pn_jid")) {
			/* asked by LID: the number it stands for (§6.2) */
			struct wa_jid pn;

			if (wa_node_attr_jid(u, "pn_jid", &pn) == 0 && wa_jid_is_pn(&pn) &&
			    strlen(pn.user) < sizeof j->peer_pn)
				memcpy(j->peer_pn, pn.user, strlen(pn.user) + 1);
		}
		n = usync_ids(u, ids, DEVS_PER_USER);
		if (n && wa_jid_format(&uj, key, sizeof key) >= 0)
			(void)wa_cache_put(dc, key, ids, n * sizeof ids[0], now);
		add_devices(j, &uj, ids, n);
	}
	devices_ready(j);
}

/* usync devices for n user JIDs (§6.1, §6.3). */
static struct wa_node *usync_devices_iq(const char *sid, char users[][WA_JID_STR_MAX], size_t n)
{
	struct wa_node *iq = wa_node_new_attrs("iq", "type", "get", "xmlns", "usync", "to", "s.whatsapp.net", NULL);
	struct wa_node *us = iq ? wa_node_new_attrs("usync", "sid", sid, "mode", "query", "context", "message",
						    "last", "true", "index", "0", NULL) : NULL;
	struct wa_node *q, *list, *dv;

	if (!us || wa_node_add_child(iq, us) != 0) {
		wa_node_free(us);
		wa_node_free(iq);
		return NULL;
	}
	q = wa_node_add_new(us, "query");
	dv = q ? wa_node_add_new(q, "devices") : NULL;
	list = wa_node_add_new(us, "list");
	if (!dv || !list || wa_node_set_attr(dv, "version", "2") != 0) {
		wa_node_free(iq);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct wa_node *u = wa_node_add_new(list, "user");

		if (!u || wa_node_set_attr(u, "jid", users[i]) != 0) {
			wa_node_free(iq);
			return NULL;
		}
	}
	return iq;
}

/* Step 1 for these users: the cached device lists are taken, the others
 * asked for in one usync query. users is reordered. 0, or a negative code
 * (the caller fails j). */
static int resolve_devices(struct send_job *j, char users[][WA_JID_STR_MAX], size_t n)
{
	uint64_t now = wa_engine_now_ms();
	size_t missing = 0;
	char sid[32];
	struct wa_node *iq;
	int rc;

	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		const uint16_t *ids = wa_cache_get(j->s->devcache, users[i], now, &len);
		struct wa_jid uj;

		if (ids && wa_jid_parse(users[i], &uj, NULL) == 0) {
			add_devices(j, &uj, ids, len / sizeof ids[0]);
			continue;
		}
		if (missing != i)
			memcpy(users[missing], users[i], sizeof users[0]);
		missing++;
	}
	if (missing == 0) {
		devices_ready(j);
		return 0;
	}
	wa_iqs_next_id(&j->s->iqs, sid, sizeof sid);
	iq = usync_devices_iq(sid, users, missing);
	rc = iq ? sess_iq_ctx(j->s, iq, SEND_IQ_MS, devices_done, j) : WA_ENOMEM;
	wa_node_free(iq);
	return rc;
}

/* Step 0 done: the group's participants (NUL-separated user JIDs), then
 * their devices. */
static void group_users(struct send_job *j, const char *list, size_t len)
{
	char (*users)[WA_JID_STR_MAX] = calloc(SEND_MAX_USERS, sizeof *users);
	size_t n = 0;
	int own = 0;
	char me[WA_JID_STR_MAX];

	if (!users) {
		fail(j, 500, "Out of memory", NULL);
		return;
	}
	snprintf(me, sizeof me, "%s@s.whatsapp.net", j->me_user);
	for (const char *p = list; p < list + len && n < SEND_MAX_USERS - 1; p += strlen(p) + 1) {
		snprintf(users[n], WA_JID_STR_MAX, "%s", p);
		own |= strcmp(users[n], me) == 0;
		n++;
	}
	if (!own)
		snprintf(users[n++], WA_JID_STR_MAX, "%s", me);
	if (resolve_devices(j, users, n) != 0)
		fail(j, 503, "Session not connected or ready", "session_not_ready");
	free(users);
}

static void group_done(void *ctx, const struct wa_node *reply, int err)
{
	struct send_job *j = ctx;
	const struct wa_node *g = reply ? wa_node_child(reply, "group") : NULL, *p = NULL;
	const struct wa_node *e = reply ? wa_node_child(reply, "error") : NULL;
	char *list;
	size_t len = 0, n = 0;

	if (err) {
		fail(j, 503, "WhatsApp did not answer the group query", "session_not_ready");
		return;
	}
	if (!g) {
		if (e && wa_node_attr_is(e, "code", "403"))
			fail(j, 403, "This account is not a member of the group", "forbidden");
		else
			fail(j, 404, "Group not found", "not_found");
		return;
	}
	list = malloc((size_t)SEND_MAX_USERS * WA_JID_STR_MAX);
	if (!list) {
		fail(j, 500, "Out of memory", NULL);
		return;
	}
	while ((p = wa_node_next(g, "participant", p)) != NULL && n < SEND_MAX_USERS - 1) {
		struct wa_jid pj;
		int w;

		if (wa_node_attr_jid(p, "jid", &pj) != 0 || !wa_jid_is_user(&pj))
			continue;
		wa_jid_to_non_ad(&pj);
		w = wa_jid_format(&pj, list + len, WA_JID_STR_MAX);
		if (w < 0)
			continue;
		len += (size_t)w + 1;
		n++;
	}
	(void)wa_cache_put(cache_of(&j->s->groupcache, GROUPCACHE_CAP, DEVICE_TTL_MS), j->peer, list, len,
			   wa_engine_now_ms());
	group_users(j, list, len);
	free(list);
}

/* The answers' messages of the operations that answer {success, message,
 * data} (the reference's shapes; /send and /reply have their own). */
static const char *answer_of(const char *op, const struct wa_out *o)
{
	static const struct { const char *op, *msg; } answers[] = {
		{ "message.location", "Location sent" },
		{ "message.contact", "Contact sent" },
		{ "message.poll", "Poll sent" },
		{ "message.list", "Message sent" },
		{ "message.edit", "Message edited successfully" },
		{ "message.media", "Media sent successfully" },
		{ "message.sticker", "Sticker sent" },
		{ "message.delete", "Message deleted for everyone" },
		{ "status.update", "Status posted" },
	};

	if (strcmp(op, "message.react") == 0)
		return o->text && *o->text ? "Reaction sent" : "Reaction removed";
	for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++)
		if (strcmp(op, answers[i].op) == 0)
			return answers[i].msg;
	return NULL;
}

static void send_devices(struct send_job *j);

/* The media part is uploaded (status 0) or refused: nothing is stored yet. */
static void media_ready(void *ctx, int status, const char *why, const char *code)
{
	struct send_job *j = ctx;

	if (status != 0) {
		fail(j, status, why, code);
		return;
	}
	if (j->s->gone || j->s->phase != PH_READY) {
		fail(j, 503, "Session not connected or ready", "session_not_ready");
		return;
	}
	send_devices(j);
}

/* Start sending out (taken) to jid: answering cmd, or telling done.
 * audience (taken; NULL but for a status): the user JIDs a status to
 * status@broadcast goes to, sent like a group message to them. */
static void send_start(struct wa_session *s, const char *jid, struct wa_out *out, struct wa_cmd *cmd,
		       send_done_fn done, send_link_fn link, void *ctx, char *audience, size_t audience_len)
{
	struct send_job *j;
	struct wa_jid pj;
	int bad = !jid || wa_jid_parse(jid, &pj, NULL) != 0;

	if (bad || (!wa_jid_is_pn(&pj) && !wa_jid_is_lid(&pj) && !wa_jid_is_group(&pj) &&
		    !(audience && wa_jid_is_status(&pj)))) {
		const char *msg = bad ? "'jid' must be a WhatsApp JID"
				      : "Sending to broadcasts and newsletters is not supported by this engine yet";

		free(audience);
		wa_out_free(out);
		if (cmd)
			wa_cmd_reply_error(cmd, bad ? 400 : 501, msg, bad ? "invalid_jid" : "not_implemented");
		if (done)
			done(ctx, bad ? 400 : 501, NULL, msg);
		return;
	}
	j = calloc(1, sizeof *j);
	if (j && dev_room(j) != 0)
		j = (free(j), NULL);
	if (!j) {
		wa_out_free(out);
		free(audience);
		if (cmd)
			wa_cmd_reply_error(cmd, 500, "Out of memory", NULL);
		if (done)
			done(ctx, 500, NULL, "Out of memory");
		return;
	}
	j->out = *out;
	memset(out, 0, sizeof *out);
	j->s = s;
	j->cmd = cmd;
	j->done = done;
	j->link = link;
	j->done_ctx = ctx;
	j->reply = cmd && strcmp(cmd->op, "message.reply") == 0;
	j->answer = cmd ? answer_of(cmd->op, &j->out) : NULL;
	j->row = s->row_id;
	j->t = (int64_t)time(NULL);
	j->group = wa_jid_is_group(&pj) || audience != NULL;
	j->audience = audience;
	j->audience_len = audience_len;
	snprintf(j->slug, sizeof j->slug, "%s", s->id);
	snprintf(j->me_user, sizeof j->me_user, "%s", s->cr->phone);
	j->me_device = s->cr->device;
	memcpy(j->account, s->cr->account, s->cr->account_len);
	j->account_len = s->cr->account_len;
	wa_jid_to_non_ad(&pj);
	wa_jid_format(&pj, j->peer, sizeof j->peer);
	wa_msgid_generate(j->id, j->me_user, (time_t)j->t);
	sess_ref(s);
	if (j->out.media) {
		/* a media part: uploaded first (sess_media.c), then as below */
		sess_media_upload(s, j->out.media, media_ready, j);
		return;
	}
	send_devices(j);
}

/* Steps 0 and 1: the group's participants, the recipients' devices. */
static void send_devices(struct send_job *j)
{
	struct wa_session *s = j->s;
	int rc;

	if (j->audience) {
		/* a status (§7.8): the audience stands for the participants */
		group_users(j, j->audience, j->audience_len);
		return;
	}
	if (j->group) {
		size_t len = 0;
		const char *cached = wa_cache_get(s->groupcache, j->peer, wa_engine_now_ms(), &len);
		struct wa_node *iq, *q;

		if (cached) {
			group_users(j, cached, len);
			return;
		}
		iq = wa_node_new_attrs("iq", "type", "get", "xmlns", "w:g2", "to", j->peer, NULL);
		q = iq ? wa_node_add_new(iq, "query") : NULL;
		rc = q && wa_node_set_attr(q, "request", "interactive") == 0 ?
		     sess_iq_ctx(s, iq, SEND_IQ_MS, group_done, j) : WA_ENOMEM;
		wa_node_free(iq);
	} else {
		char users[2][WA_JID_STR_MAX];

		snprintf(users[0], sizeof users[0], "%s", j->peer);
		snprintf(users[1], sizeof users[1], "%s@s.whatsapp.net", j->me_user);
		rc = resolve_devices(j, users, 2);
	}
	if (rc != 0)
		fail(j, 503, "Session not connected or ready", "session_not_ready");
}

void wa_session_send(struct wa_session *s, struct wa_cmd *cmd)
{
	const char *why = NULL, *code = NULL;
	struct wa_out out;
	int rc;

	if ((rc = wa_out_parse_op(&out, cmd->op, cmd->args, &why, &code)) != 0) {
		wa_cmd_reply_error(cmd, rc, why, code);
		return;
	}
	send_start(s, json_string_value(json_object_get(cmd->args, "jid")), &out, cmd, NULL, NULL, NULL, NULL, 0);
}

void sess_send_out(struct wa_session *s, const char *jid, struct wa_out *out, send_done_fn done, void *ctx)
{
	send_start(s, jid, out, NULL, done, NULL, ctx, NULL, 0);
}

void sess_send_linked(struct wa_session *s, const char *jid, struct wa_out *out, send_link_fn link,
		      send_done_fn done, void *ctx)
{
	send_start(s, jid, out, NULL, done, link, ctx, NULL, 0);
}

void sess_send_status(struct wa_session *s, struct wa_out *out, struct wa_cmd *cmd, char *audience, size_t len)
{
	send_start(s, "status@broadcast", out, cmd, NULL, NULL, NULL, audience, len);
}

/* ---- a retry receipt for one of our messages (§8.4) ---- */

#define RESEND_MAX 5

struct resend {
	struct send_job j;          /* peer = chat, out, group, account, ... */
	struct wa_node *rcpt;       /* the retry receipt (owned) */
	struct wa_jid dev;          /* the device asking */
	long long count;
	int known;                  /* the message is ours and of a kind we send */
};

static void resend_free(struct resend *r)
{
	wa_node_free(r->rcpt);
	job_release(&r->j);
	free(r);
}

static int resend_txn(struct wa_db *db, void *arg)
{
	struct resend *r = arg;
	struct send_job *j = &r->j;
	struct send_dev *d = &j->devs[0];
	wa_sigstore *st = NULL;
	wa_sig *sig = NULL;
	wa_sig_bundle b;
	wa_sig_addr addr;
	enum wa_sig_msg_type type;
	uint8_t *pt = NULL, *skdm = NULL;
	size_t ptlen = 0, skdm_len = 0;
	json_t *row;
	int err = 0, rc;

	r->known = 0;
	free(d->ct);
	d->ct = NULL;
	row = wa_db_row(db, &err, "SELECT remote_jid AS chat, content, type, quoted_id AS quoted, mentions, "
			"HEX(raw) AS raw FROM messages WHERE wa_session_id = ? AND message_id = ? AND from_me = 1", "us",
			(unsigned long long)j->row, j->id);
	if (err)
		return WA_ESTORAGE;
	if (!row || (!json_is_string(json_object_get(row, "raw")) &&
		     (!json_is_string(json_object_get(row, "content")) ||
		      strcmp(json_string_value(json_object_get(row, "type")), "TEXT") != 0))) {
		json_decref(row);
		return 0; /* not ours, or not a kind we can send again: acked as it is */
	}
	snprintf(j->peer, sizeof j->peer, "%s", json_string_value(json_object_get(row, "chat")));
	/* a status is sent again as a group message is: our sender key with it */
	j->group = strstr(j->peer, "@g.us") != NULL || strcmp(j->peer, "status@broadcast") == 0;
	wa_out_free(&j->out);
	if (json_is_string(json_object_get(row, "raw"))) {
		/* the message exactly as it was sent (any kind) */
		rc = wa_out_from_raw(&j->out, json_string_value(json_object_get(row, "raw")));
		json_decref(row);
		if (rc == WA_EPROTO)
			return 0; /* a stored message that does not parse: acked as it is */
		if (rc != 0)
			return rc;
		goto encrypt;
	}
	rc = wa_out_from_row(&j->out, json_string_value(json_object_get(row, "content")),
			     json_string_value(json_object_get(row, "quoted")),
			     json_string_value(json_object_get(row, "mentions")));
	json_decref(row);
	if (rc == 0) {
		char me[WA_JID_STR_MAX];

		/* the same message again: its quote as stored, or none if that is gone */
		snprintf(me, sizeof me, "%s@s.whatsapp.net", j->me_user);
		rc = wa_out_build(&j->out, db, j->row, j->peer, me);
		if (rc == WA_ENOTFOUND) {
			free(j->out.quoted_id);
			j->out.quoted_id = NULL;
			rc = wa_out_build(&j->out, db, j->row, j->peer, me);
		}
	}
	if (rc != 0)
		return rc;
encrypt:
	if ((rc = dev_addr(db, j, &r->dev, &addr)) != 0)
		return rc == WA_ESTORAGE ? rc : 0;
	if (wa_db_begin(db) < 0)
		return WA_ESTORAGE;
	if ((rc = wa_creds_open_sig(db, j->row, &st, &sig)) != 0)
		goto rollback;
	/* the keys in the receipt start a new session (the old one is what
	 * failed); without them the session we have is used */
	if (wa_sig_bundle_from_node(r->rcpt, &b) == 0) {
		(void)wa_sig_session_delete(sig, &addr);
		if (bundle_accept(j, sig, &addr, &r->dev, &b) != 0) {
			/* keys that do not verify: nothing to send, and the
			 * session we have stays (the delete is rolled back) */
			wa_warn("session %s: retry receipt for %s with keys that do not verify: ignored", j->slug,
				j->id);
			wa_creds_close_sig(st, sig);
			wa_db_rollback(db);
			return 0;
		}
	}
	if (j->group) {
		wa_sig_addr self;

		if ((rc = our_skdm(j, sig, &self, &skdm, &skdm_len)) != 0)
			goto close;
		rc = plaintext(j, PLAIN_TEXT_SKDM, skdm, skdm_len, &pt, &ptlen);
		free(skdm);
	} else {
		rc = plaintext(j, wa_jid_is_pn(&r->dev) && strcmp(r->dev.user, j->me_user) == 0 ? PLAIN_OWN : PLAIN_TEXT,
			       NULL, 0, &pt, &ptlen);
	}
	if (rc != 0)
		goto close;
	rc = wa_sig_encrypt(sig, &addr, pt, ptlen, &type, &d->ct, &d->ctlen);
	wa_sig_buf_free(pt, ptlen);
	if (rc == WA_SIG_STORE) {
		rc = WA_ESTORAGE;
		goto close;
	}
	if (rc != 0) {
		d->ct = NULL;
		rc = 0; /* no session and no keys: nothing to send */
		goto close;
	}
	d->pkmsg = type == WA_SIG_PKMSG;
	d->jid = r->dev;
	r->known = 1;
close:
	wa_creds_close_sig(st, sig);
	if (rc == 0)
		return wa_db_commit(db) < 0 ? WA_ESTORAGE : 0;
rollback:
	wa_db_rollback(db);
	return rc;
}

static int resend_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, resend_txn, arg);
}

static void resend_done(void *arg, int rc)
{
	struct resend *r = arg;
	struct wa_session *s = r->j.s;
	struct send_dev *d = &r->j.devs[0];
	struct wa_node *m = NULL, *enc;
	char count[16];

	if (!sess_unref(s)) {
		resend_free(r);
		return;
	}
	if (rc != 0) {
		/* unanswered: the receipt comes again at the next login */
		wa_warn("session %s: retry receipt for %s not handled (%s)", s->id, r->j.id, wa_strerror(rc));
		resend_free(r);
		return;
	}
	if (r->known && d->ct && s->phase == PH_READY) {
		snprintf(count, sizeof count, "%lld", r->count);
		m = wa_node_new_attrs("message", "id", r->j.id, "type", "text", "to", wa_node_attr(r->rcpt, "from"),
				      "participant", wa_node_attr(r->rcpt, "participant"), "device_fanout",
				      r->j.group ? NULL : "false", NULL);
		if (m && (enc = wa_node_add_new(m, "enc")) && wa_node_set_attr(enc, "v", "2") == 0 &&
		    wa_node_set_attr(enc, "type", d->pkmsg ? "pkmsg" : "msg") == 0 &&
		    wa_node_set_attr(enc, "count", count) == 0 && wa_node_set_bytes(enc, d->ct, d->ctlen) == 0) {
			struct wa_node *di = d->pkmsg ? wa_node_add_new(m, "device-identity") : NULL;

			if (!d->pkmsg || (di && wa_node_set_bytes(di, r->j.account, r->j.account_len) == 0)) {
				wa_info("session %s: message %s sent again to %s (retry %lld)", s->id, r->j.id,
					wa_node_attr_or(r->rcpt, "participant", wa_node_attr_or(r->rcpt, "from", "?")),
					r->count);
				(void)sess_send(s, m);
			}
		}
		wa_node_free(m);
	}
	if (s->phase == PH_READY)
		sess_ack(s, r->rcpt);
	resend_free(r);
}

void send_on_retry(struct wa_session *s, struct wa_node *rcpt)
{
	struct resend *r = calloc(1, sizeof *r);
	const struct wa_node *rt = wa_node_child(rcpt, "retry");
	const char *devattr = wa_node_attr(rcpt, "participant") ? "participant" : "from";

	if (!r || !(r->j.devs = calloc(1, sizeof *r->j.devs)) || !s->cr) {
		if (r)
			free(r->j.devs);
		free(r);
		sess_ack(s, rcpt);
		wa_node_free(rcpt);
		return;
	}
	r->rcpt = rcpt;
	r->count = 1;
	if (rt)
		wa_node_attr_int(rt, "count", &r->count);
	if (r->count > RESEND_MAX || wa_node_attr_jid(rcpt, devattr, &r->dev) != 0 || !wa_jid_is_user(&r->dev)) {
		if (r->count > RESEND_MAX)
			wa_warn("session %s: message %s asked for again %lld times: not sent any more", s->id,
				wa_node_attr_or(rcpt, "id", "?"), r->count);
		sess_ack(s, rcpt);
		resend_free(r);
		return;
	}
	r->j.s = s;
	r->j.row = s->row_id;
	r->j.ndev = r->j.capdev = 1;
	snprintf(r->j.slug, sizeof r->j.slug, "%s", s->id);
	snprintf(r->j.id, sizeof r->j.id, "%s", wa_node_attr_or(rcpt, "id", ""));
	snprintf(r->j.me_user, sizeof r->j.me_user, "%s", s->cr->phone);
	r->j.me_device = s->cr->device;
	memcpy(r->j.account, s->cr->account, s->cr->account_len);
	r->j.account_len = s->cr->account_len;
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, resend_run, resend_done, r) == 0)
		return;
	sess_unref(s);
	resend_free(r); /* unanswered: it comes again */
}
