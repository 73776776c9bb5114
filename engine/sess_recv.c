/* sess_recv: incoming <message> stanzas (docs/protocol.md §8.2, §8.3)
 * under the durability rule: a message is answered (delivery receipt) only
 * after it and its event are committed.
 *
 * The loop hands the stanza to a dbpool job of the session's shard, so one
 * session's messages are handled in arrival order. The job opens a
 * transaction, decrypts on the session's Signal store inside it (the
 * ratchet steps are rows written in that transaction), parses the content
 * and stores the message with its message.received event; then commits.
 * Anything short of that rolls back: the Signal state is as before and the
 * stanza stays unanswered, so the server offers it again at the next login
 * and an engine that can handle it then will. The completion, on the loop,
 * sends the receipt and publishes the event.
 *
 * Handled today: 1:1 text (conversation, extendedTextMessage) from other
 * accounts. Left unanswered for later modules: group and broadcast
 * messages (sender keys), our own devices' messages (history sync, app
 * state keys), other content kinds, and stanzas that fail to decrypt (a
 * retry receipt, §8.4, is not sent yet). */
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/session_int.h"
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa/pbsafe.h"
#include "wa/signal.h"
#include "wa/signal_node.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"
#include "wa_log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum recv_outcome {
	RECV_STORED = 1,   /* committed: receipt + event */
	RECV_KNOWN,        /* stored before (a redelivery): receipt only */
	RECV_LATER,        /* not handled now: no answer, the server keeps it */
};

struct recv_job {
	struct wa_session *s;
	uint64_t row;
	char slug[WA_SESSION_ID_MAX];
	char me_user[32];
	char me_lid_user[64];
	struct wa_node *n;         /* the stanza (owned; read-only on the db thread) */
	/* results */
	enum recv_outcome outcome;
	const char *why;           /* RECV_LATER: for the log */
	char *payload;             /* the event's data (RECV_STORED) */
	uint64_t outbox_id;
	uint64_t ts_ms;
};

/* What a message's content comes to, for storing. */
struct content {
	const char *type;
	const char *text;
	const char *quoted_id;
};

static void job_free(struct recv_job *j)
{
	wa_node_free(j->n);
	free(j->payload);
	free(j);
}

/* The content of a Message, unwrapped from the FutureProof wrappers that
 * only carry another Message (ephemeral, view-once). 0 if it is a kind
 * stored today, else -1. */
static int content_of(const WaE2E__Message *m, struct content *c, int depth)
{
	memset(c, 0, sizeof *c);
	if (!m || depth > 4)
		return -1;
	if (m->ephemeralmessage && m->ephemeralmessage->message)
		return content_of(m->ephemeralmessage->message, c, depth + 1);
	if (m->conversation) {
		c->type = "TEXT";
		c->text = m->conversation;
		return 0;
	}
	if (m->extendedtextmessage && m->extendedtextmessage->text) {
		c->type = "TEXT";
		c->text = m->extendedtextmessage->text;
		if (m->extendedtextmessage->contextinfo)
			c->quoted_id = m->extendedtextmessage->contextinfo->stanzaid;
		return 0;
	}
	return -1;
}

/* "2026-01-15T08:00:00.000Z" of unix seconds t into out[32]. */
static void iso_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

/* The message.received data (docs/engine.md). New string or NULL. */
static char *event_payload(const struct recv_job *j, const struct wa_msg_row *m)
{
	char when[32];
	json_t *o;
	char *out;

	iso_time(m->t, when);
	o = json_pack("{s:s,s:{s:s,s:b,s:s},s:s,s:s,s:b,s:s*,s:s*,s:s,s:s*,s:s,s:I}", "sessionId", j->slug, "key",
		      "remoteJid", m->chat, "fromMe", m->from_me, "id", m->id, "id", m->id, "remoteJid", m->chat,
		      "fromMe", m->from_me, "sender", m->sender, "pushName", m->push_name, "type", m->type,
		      "content", m->content, "timestamp", when, "messageTimestamp", (json_int_t)m->t);
	if (!o)
		return NULL;
	if (m->quoted_id)
		json_object_set_new(o, "quotedId", json_string(m->quoted_id));
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

/* Decrypt every <enc> of the stanza from addr; *msg gets the first
 * Message that parses. WA_SIG_DUPLICATE when every enc was one we had
 * decrypted before. */
static int decrypt_all(wa_sig *sig, const wa_sig_addr *addr, const struct wa_node *n, WaE2E__Message **msg,
		       const char **why)
{
	const struct wa_node *enc = NULL;
	int dup = 0, tried = 0;

	*msg = NULL;
	while ((enc = wa_node_next(n, "enc", enc)) != NULL) {
		enum wa_sig_msg_type type;
		const uint8_t *ct;
		uint8_t *pt = NULL;
		size_t len = 0, ptlen = 0, plen = 0;
		int rc;

		if (!wa_node_attr_is(enc, "v", "2") || wa_sig_msg_type_parse(wa_node_attr(enc, "type"), &type) != 0)
			continue;
		if (type == WA_SIG_SKMSG) {
			*why = "sender-key (group) message";
			return WA_SIG_NO_SESSION;
		}
		ct = wa_node_content(enc, &len);
		if (!ct || !len) {
			*why = "empty enc";
			return WA_SIG_INVALID;
		}
		tried++;
		rc = wa_sig_decrypt(sig, addr, type, ct, len, &pt, &ptlen);
		if (rc == WA_SIG_DUPLICATE) {
			dup++;
			continue;
		}
		if (rc != WA_SIG_OK) {
			*why = wa_sig_strerror(rc);
			return rc;
		}
		if (wa_sig_unpad(pt, ptlen, &plen) != 0) {
			wa_sig_buf_free(pt, ptlen);
			*why = "bad padding";
			return WA_SIG_INVALID;
		}
		if (!*msg)
			*msg = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, pt, plen, WA_PB_MAX_DEPTH);
		wa_sig_buf_free(pt, ptlen);
		if (!*msg) {
			*why = "the message does not parse";
			return WA_SIG_INVALID;
		}
	}
	if (tried && dup == tried)
		return WA_SIG_DUPLICATE;
	if (!*msg) {
		*why = "no enc this client understands";
		return WA_SIG_INVALID;
	}
	return WA_SIG_OK;
}

/* Whose message and which chat (§8.2), for the kinds handled here: a 1:1
 * message from another account. 0, or -1 (with *why) for anything else. */
static int route(const struct recv_job *j, struct wa_jid *sender_dev, char chat[WA_JID_STR_MAX],
		 const char **why)
{
	struct wa_jid from, user;

	if (wa_node_attr_jid(j->n, "from", &from) != 0) {
		*why = "no sender";
		return -1;
	}
	if (wa_jid_is_group(&from) || wa_jid_is_broadcast(&from) || wa_jid_is_newsletter(&from)) {
		*why = "group, broadcast or newsletter message";
		return -1;
	}
	if (!wa_jid_is_user(&from)) {
		*why = "sender is not a user";
		return -1;
	}
	if ((wa_jid_is_pn(&from) && strcmp(from.user, j->me_user) == 0) ||
	    (wa_jid_is_lid(&from) && j->me_lid_user[0] && strcmp(from.user, j->me_lid_user) == 0)) {
		*why = "a message of our own devices";
		return -1;
	}
	*sender_dev = from;
	user = from;
	wa_jid_to_non_ad(&user);
	if (wa_jid_format(&user, chat, WA_JID_STR_MAX) < 0) {
		*why = "sender JID too long";
		return -1;
	}
	return 0;
}

/* One try of the transaction. */
static int recv_txn(struct wa_db *db, void *arg)
{
	struct recv_job *j = arg;
	struct wa_jid dev;
	char chat[WA_JID_STR_MAX];
	wa_sig_addr addr;
	wa_sigstore *st = NULL;
	wa_sig *sig = NULL;
	WaE2E__Message *msg = NULL;
	struct content c;
	struct wa_msg_row m;
	long long t = 0;
	int rc;

	j->outcome = RECV_LATER;
	if (route(j, &dev, chat, &j->why) != 0)
		return 0;
	if (wa_sig_addr_from_wajid(&dev, &addr) != 0) {
		j->why = "no Signal address for the sender";
		return 0;
	}
	if (wa_db_begin(db) < 0) {
		j->why = "database unavailable";
		return WA_ESTORAGE;
	}
	rc = wa_creds_open_sig(db, j->row, &st, &sig);
	if (rc != 0) {
		j->why = "cannot open the Signal store";
		goto rollback;
	}
	rc = decrypt_all(sig, &addr, j->n, &msg, &j->why);
	wa_creds_close_sig(st, sig);
	if (rc == WA_SIG_DUPLICATE) {
		/* decrypted and committed before, not answered (a crash, a
		 * lost receipt): answer it now */
		wa_db_rollback(db);
		if (wa_db_int(db, 0, "SELECT COUNT(*) FROM messages WHERE wa_session_id = ? AND message_id = ?", "us",
			      (unsigned long long)j->row, wa_node_attr_or(j->n, "id", "")) != 1)
			wa_warn("session %s: message %s was decrypted before but is not stored; answering it anyway",
				j->slug, wa_node_attr_or(j->n, "id", ""));
		j->outcome = RECV_KNOWN;
		return 0;
	}
	if (rc != WA_SIG_OK) {
		rc = rc == WA_SIG_STORE ? WA_ESTORAGE : 0;
		goto rollback;
	}
	if (content_of(msg, &c, 0) != 0) {
		j->why = "a content kind not stored yet";
		rc = 0;
		goto rollback;
	}
	wa_node_attr_int(j->n, "t", &t);
	memset(&m, 0, sizeof m);
	m.chat = chat;
	m.id = wa_node_attr_or(j->n, "id", "");
	m.from_me = 0;
	m.sender = chat;
	m.push_name = wa_node_attr(j->n, "notify");
	m.type = c.type;
	m.content = c.text;
	m.quoted_id = c.quoted_id && *c.quoted_id ? c.quoted_id : NULL;
	m.status = "DELIVERED";
	m.t = t > 0 ? t : (long long)time(NULL);
	m.event = "message.received";
	j->payload = event_payload(j, &m);
	if (!j->payload || !*m.id) {
		j->why = !*m.id ? "no message id" : "out of memory";
		rc = j->payload ? 0 : WA_ENOMEM;
		goto rollback;
	}
	m.payload = j->payload;
	rc = wa_msgs_store(db, j->row, &m, &j->outbox_id);
	if (rc == WA_ECONFLICT) {
		wa_db_rollback(db);
		j->outcome = RECV_KNOWN;
		wa_e2_e__message__free_unpacked(msg, NULL);
		return 0;
	}
	if (rc != 0) {
		j->why = "cannot store the message";
		goto rollback;
	}
	if (wa_db_commit(db) < 0) {
		j->why = "the commit failed";
		rc = WA_ESTORAGE;
		goto out;
	}
	j->ts_ms = (uint64_t)m.t * 1000;
	j->outcome = RECV_STORED;
	rc = 0;
	goto out;
rollback:
	wa_db_rollback(db);
out:
	if (j->outcome != RECV_STORED) {
		free(j->payload);
		j->payload = NULL;
	}
	if (msg)
		wa_e2_e__message__free_unpacked(msg, NULL);
	return rc;
}

/* dbpool thread; a deadlock is run again, a few times. */
static int recv_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, recv_txn, arg);
}

/* The delivery receipt for the stanza (§8.3). */
static void send_receipt(struct wa_session *s, const struct wa_node *n)
{
	struct wa_node *r = wa_node_new_attrs("receipt", "id", wa_node_attr(n, "id"), "to", wa_node_attr(n, "from"),
					      "participant", wa_node_attr(n, "participant"), "recipient",
					      wa_node_attr(n, "recipient"), NULL);

	if (r)
		(void)sess_send(s, r);
	wa_node_free(r);
}

/* loop thread */
static void recv_done(void *arg, int rc)
{
	struct recv_job *j = arg;
	struct wa_session *s = j->s;
	const char *id = wa_node_attr_or(j->n, "id", "?");

	if (!sess_unref(s)) {
		job_free(j);
		return;
	}
	switch (j->outcome) {
	case RECV_STORED: {
		json_t *data = json_loads(j->payload, 0, NULL);

		wa_debug("session %s: message %s stored", s->id, id);
		if (data)
			wa_events_publish(s->e->events, s->id, "message.received", data, j->outbox_id, j->ts_ms);
		json_decref(data);
		if (s->phase == PH_READY)
			send_receipt(s, j->n);
		break;
	}
	case RECV_KNOWN:
		wa_debug("session %s: message %s was stored before: receipt only", s->id, id);
		if (s->phase == PH_READY)
			send_receipt(s, j->n);
		break;
	case RECV_LATER:
		if (rc != 0)
			wa_warn("session %s: message %s not stored (%s): left for the server to offer again", s->id,
				id, j->why ? j->why : wa_strerror(rc));
		else
			wa_debug("session %s: message %s left unanswered: %s", s->id, id, j->why ? j->why : "-");
		break;
	}
	job_free(j);
}

void recv_message(struct wa_session *s, struct wa_node *n)
{
	struct recv_job *j = calloc(1, sizeof *j);
	const char *lid = s->cr ? s->cr->lid : "";
	const char *at;

	if (!j || !s->cr) {
		free(j);
		wa_node_free(n);
		return;
	}
	j->s = s;
	j->row = s->row_id;
	j->n = n;
	snprintf(j->slug, sizeof j->slug, "%s", s->id);
	snprintf(j->me_user, sizeof j->me_user, "%s", s->cr->phone);
	at = strchr(lid, '@');
	snprintf(j->me_lid_user, sizeof j->me_lid_user, "%.*s", (int)(at ? (size_t)(at - lid) : strlen(lid)), lid);
	if (strchr(j->me_lid_user, ':'))
		*strchr(j->me_lid_user, ':') = '\0';
	sess_ref(s);
	if (wa_dbpool_submit(s->e->db, s->row_id, recv_run, recv_done, j) == 0)
		return;
	sess_unref(s);
	wa_warn("session %s: the database queue is full: message %s left for the server to offer again", s->id,
		wa_node_attr_or(n, "id", "?"));
	job_free(j);
}
