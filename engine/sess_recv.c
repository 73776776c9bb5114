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
 * Handled today: every content kind (engine/store/msgs.h, wa_msgs_content:
 * text, media, location, contacts, polls, and UNKNOWN with its protobuf
 * for the rest) in 1:1 chats and groups (sender keys taken from the SKDM
 * that comes with them), from other accounts (message.received) and from
 * our own other devices, the phone included (deviceSentMessage;
 * message.sent), stored with its protobuf (messages.raw, as decrypted:
 * the source of downloads and poll keys); reactions (message.reaction)
 * and poll votes (decrypted and tallied, poll.vote) on their targets;
 * edits and revokes of stored messages (message.edited /
 * message.deleted); each once per stanza id; our phone's history sync
 * and app-state keys. A stanza
 * that fails to decrypt gets a retry receipt (§8.4; our keys with it from
 * the second request on, a pre-key made for it in a database job), at
 * most 5. A history blob that cannot be fetched is left for the server
 * twice, then acked. Left unanswered for later modules: broadcasts,
 * statuses and newsletters, other peer messages, protocol messages of
 * other types (ephemeral settings, ...). */
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/session_int.h"
#include "engine/store/appkeys.h"
#include "engine/store/history.h"
#include "engine/sched.h"
#include "engine/store/autoreply.h"
#include "engine/store/bot.h"
#include "engine/store/contacts.h"
#include "engine/store/lidmap.h"
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
	RECV_UNDECRYPTABLE, /* ask the sender again (retry receipt, §8.4) */
	RECV_HISTORY,      /* a history-sync chunk stored: hist_sync receipt */
	RECV_REFUSED,      /* a blob that will never verify or parse: acked, dropped */
	RECV_PEER,         /* a peer message stored (app-state keys): peer_msg receipt */
};

#define RECV_RETRY_MAX 5    /* BL's maxMsgRetryCount */
#define RECV_BLOB_TRIES 3   /* deliveries of a history sync whose blob cannot be fetched, then acked */

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
	int from_me;               /* sent by one of our own devices */
	struct wa_history_env env; /* where history blobs are fetched */
	struct wa_history_stats hist;
	unsigned nkeys;            /* app-state keys stored */
	uint64_t outbox_id;
	uint64_t ts_ms;
	struct wa_msg_upd_event upd; /* message.edited / message.deleted (RECV_STORED) */
	enum wa_msg_upd_state upd_state;
	int is_update;             /* the stanza was an edit or a revoke */
	int blob_failed;           /* RECV_LATER: a history blob could not be fetched */
	long ar_limit;             /* autoreply.per_chat_per_minute */
	int ar_queued;             /* an auto-reply was queued with the message */
	uint64_t up_ms;            /* how long the session has been connected (the bot's uptime) */
	struct wa_bot_out bot;     /* what the bot config made of it */
	char *contact_payload;     /* contact.update: the sender's push name changed (RECV_STORED) */
	int status;                /* the message was a status: its event is status.update */
	uint64_t contact_outbox_id;
};

static void job_free(struct recv_job *j)
{
	wa_node_free(j->n);
	free(j->payload);
	free(j->upd.payload);
	free(j->contact_payload);
	explicit_bzero(j->bot.key, sizeof j->bot.key); /* a remove.bg key */
	free(j);
}

/* Who sent the stanza and where it belongs (§8.2). */
struct route {
	struct wa_jid sender_dev;       /* the sending device (Signal address) */
	char chat[WA_JID_STR_MAX];      /* remote_jid */
	char sender[WA_JID_STR_MAX];    /* the sender's user JID */
	char group[WA_JID_STR_MAX];     /* the group (sender keys), "" for 1:1 */
	int from_me;                    /* one of our own other devices */
	int status;                     /* a status (story) from status@broadcast */
	int peer;                       /* a peer message of ours (history, app state) */
	char alt_pn[32];                /* a LID sender's number (sender_pn / participant_pn), or "" */
};

/* pt (padded) as a Message; NULL when it does not parse. Frees pt. */
static WaE2E__Message *parse_plain(uint8_t *pt, size_t ptlen, const char **why)
{
	WaE2E__Message *m = NULL;
	size_t plen = 0;

	if (wa_sig_unpad(pt, ptlen, &plen) != 0)
		*why = "bad padding";
	else if (!(m = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, pt, plen, WA_PB_MAX_DEPTH)))
		*why = "the message does not parse";
	wa_sig_buf_free(pt, ptlen);
	return m;
}

/* A Message that carries content to store, unwrapped from our own devices'
 * deviceSentMessage (its destination is the chat). */
static const WaE2E__Message *content_msg(const WaE2E__Message *m, const char **dest)
{
	*dest = NULL;
	if (m && m->devicesentmessage && m->devicesentmessage->message) {
		*dest = m->devicesentmessage->destinationjid;
		return m->devicesentmessage->message;
	}
	return m;
}

/* Decrypt every <enc> of the stanza in order (§8.2 steps 2-5): pkmsg / msg
 * from the sender's 1:1 session, whose Message may carry the sender key of
 * a group (taken in), and skmsg with that sender key. *msg gets the first
 * Message with content to store. WA_SIG_DUPLICATE when every enc was
 * decrypted before. */
static int decrypt_all(const char *slug, wa_sig *sig, const struct route *rt, const wa_sig_addr *sender,
		       const struct wa_node *n, WaE2E__Message **msg, const char **why)
{
	const struct wa_node *enc = NULL;
	WaE2E__Message *other = NULL;
	wa_sig_addr addr = *sender;
	int dup = 0, tried = 0, res = WA_SIG_OK;

	*msg = NULL;
	while ((enc = wa_node_next(n, "enc", enc)) != NULL) {
		enum wa_sig_msg_type type;
		const uint8_t *ct;
		uint8_t *pt = NULL;
		size_t len = 0, ptlen = 0;
		WaE2E__Message *m;
		struct wa_msg_content c;
		const char *dest;
		int rc;

		if (!wa_node_attr_is(enc, "v", "2") || wa_sig_msg_type_parse(wa_node_attr(enc, "type"), &type) != 0)
			continue;
		ct = wa_node_content(enc, &len);
		if (!ct || !len) {
			*why = "empty enc";
			res = WA_SIG_INVALID;
			break;
		}
		tried++;
		if (type == WA_SIG_SKMSG)
			rc = rt->group[0] ? wa_sig_group_decrypt(sig, rt->group, &addr, ct, len, &pt, &ptlen) :
			     WA_SIG_INVALID;
		else
			rc = wa_sig_decrypt(sig, &addr, type, ct, len, &pt, &ptlen);
		if (rc == WA_SIG_UNTRUSTED && type == WA_SIG_PKMSG) {
			/* the sender has a new identity (WhatsApp reinstalled):
			 * the old one and its session are forgotten and the new
			 * one taken on first use, as WhatsApp clients do (WM
			 * clears the untrusted identity and decrypts again),
			 * inside this transaction */
			char who[WA_JID_STR_MAX];

			wa_jid_format(&rt->sender_dev, who, sizeof who);
			wa_warn("session %s: the identity key of %s changed (a reinstall?): the new one is accepted", slug,
				who);
			rc = wa_sig_identity_forget(sig, &addr);
			if (rc == WA_SIG_OK)
				rc = wa_sig_decrypt(sig, &addr, type, ct, len, &pt, &ptlen);
		}
		if (rc == WA_SIG_DUPLICATE) {
			dup++;
			continue;
		}
		if (rc != WA_SIG_OK) {
			*why = type == WA_SIG_SKMSG && rc == WA_SIG_NO_SESSION ? "no sender key for the group message" :
			       wa_sig_strerror(rc);
			res = rc;
			break;
		}
		if (!(m = parse_plain(pt, ptlen, why))) {
			res = WA_SIG_INVALID;
			break;
		}
		if (rt->group[0] && m->senderkeydistributionmessage &&
		    m->senderkeydistributionmessage->has_axolotlsenderkeydistributionmessage) {
			const ProtobufCBinaryData *k = &m->senderkeydistributionmessage->axolotlsenderkeydistributionmessage;

			rc = wa_sig_group_process_skdm(sig, rt->group, &addr, k->data, k->len);
			if (rc != WA_SIG_OK) {
				wa_e2_e__message__free_unpacked(m, NULL);
				*why = "a sender key that does not load";
				res = rc == WA_SIG_STORE ? rc : WA_SIG_INVALID;
				break;
			}
		}
		if (!*msg && wa_msgs_content(content_msg(m, &dest), &c) == 0)
			*msg = m;
		else if (!*msg && (!other || wa_msgs_edit_or_revoke(m) || m->protocolmessage)) {
			/* a kind not stored (protocol message, ...): kept in case;
			 * a protocol message wins over a sender-key share before it */
			if (other)
				wa_e2_e__message__free_unpacked(other, NULL);
			other = m;
		} else
			wa_e2_e__message__free_unpacked(m, NULL);
	}
	if (!*msg)
		*msg = other;
	else if (other)
		wa_e2_e__message__free_unpacked(other, NULL);
	if (res != WA_SIG_OK)
		return res; /* *msg, if set, is the caller's to free */
	if (tried && dup == tried)
		return WA_SIG_DUPLICATE;
	if (!tried) {
		*why = "no enc this client understands";
		return WA_SIG_INVALID;
	}
	return WA_SIG_OK;
}

static int format_user(const struct wa_jid *j, char out[WA_JID_STR_MAX])
{
	struct wa_jid u = *j;

	wa_jid_to_non_ad(&u);
	return wa_jid_format(&u, out, WA_JID_STR_MAX) < 0 ? -1 : 0;
}

/* Whose message and which chat (§8.2): 1:1 from another account, a group
 * message (sender: participant), or a message of our own other devices
 * (chat: recipient, or the deviceSentMessage destination found later).
 * 0, or -1 (with *why) for what is not handled here. */
static int route(const struct recv_job *j, struct route *rt, const char **why)
{
	struct wa_jid from, part, rcpt;

	memset(rt, 0, sizeof *rt);
	if (wa_node_attr_jid(j->n, "from", &from) != 0) {
		*why = "no sender";
		return -1;
	}
	if ((wa_jid_is_broadcast(&from) && !wa_jid_is_status(&from)) || wa_jid_is_newsletter(&from)) {
		*why = "broadcast list or newsletter message";
		return -1;
	}
	/* a status (§7.8) is a sender-key message of the group
	 * status@broadcast: stored under that chat, sender the participant */
	rt->status = wa_jid_is_status(&from);
	if (wa_jid_is_group(&from) || rt->status) {
		if (wa_node_attr_jid(j->n, "participant", &part) != 0 || !wa_jid_is_user(&part)) {
			*why = "group message without a participant";
			return -1;
		}
		rt->sender_dev = part;
		if (wa_jid_format(&from, rt->chat, sizeof rt->chat) < 0 || format_user(&part, rt->sender) != 0)
			return *why = "JID too long", -1;
		memcpy(rt->group, rt->chat, sizeof rt->group);
	} else if (wa_jid_is_user(&from)) {
		rt->sender_dev = from;
		if (format_user(&from, rt->sender) != 0 || format_user(&from, rt->chat) != 0)
			return *why = "JID too long", -1;
	} else {
		*why = "sender is not a user";
		return -1;
	}
	if (wa_jid_is_lid(&rt->sender_dev)) {
		/* a LID-addressed stanza names the sender's number too */
		const char *alt = wa_node_attr(j->n, rt->group[0] ? "participant_pn" : "sender_pn");
		struct wa_jid aj;

		if (alt && wa_jid_parse(alt, &aj, NULL) == 0 && wa_jid_is_pn(&aj) && strlen(aj.user) < sizeof rt->alt_pn)
			memcpy(rt->alt_pn, aj.user, strlen(aj.user) + 1);
	}
	rt->from_me = (wa_jid_is_pn(&rt->sender_dev) && strcmp(rt->sender_dev.user, j->me_user) == 0) ||
		      (wa_jid_is_lid(&rt->sender_dev) && j->me_lid_user[0] &&
		       strcmp(rt->sender_dev.user, j->me_lid_user) == 0);
	if (rt->from_me && !rt->group[0]) {
		/* 1:1 from our own device: the chat is the recipient (or the
		 * destination in the content); peer messages have neither */
		rt->peer = wa_node_attr_is(j->n, "category", "peer");
		rt->chat[0] = '\0';
		if (wa_node_attr_jid(j->n, "recipient", &rcpt) == 0 && format_user(&rcpt, rt->chat) != 0)
			return *why = "JID too long", -1;
	}
	return 0;
}

/* Our phone's protocol messages stored here: a history-sync chunk
 * (RECV_HISTORY) and the app-state key share (RECV_PEER), in the open
 * transaction (left open). 1 with *rc and j->outcome set when pm is one of
 * them (RECV_REFUSED and *rc 0 for content that will never be usable),
 * else 0. */
static int peer_protocol(struct wa_db *db, struct recv_job *j, const WaE2E__ProtocolMessage *pm, int *rc)
{
	if (!pm || !pm->has_type)
		return 0;
	if (pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__HISTORY_SYNC_NOTIFICATION && pm->historysyncnotification) {
		*rc = wa_history_apply(db, j->row, pm->historysyncnotification, &j->env, &j->hist);
		j->outcome = RECV_HISTORY;
		j->why = "the history could not be fetched or stored";
	} else if (pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__APP_STATE_SYNC_KEY_SHARE && pm->appstatesynckeyshare) {
		*rc = wa_appkeys_store(db, j->row, pm->appstatesynckeyshare, &j->nkeys);
		j->outcome = RECV_PEER;
		j->why = "cannot store the app-state keys";
	} else {
		return 0;
	}
	if (*rc == WA_EIO && j->outcome == RECV_HISTORY) {
		j->blob_failed = 1;
		j->why = "the history blob could not be fetched";
	}
	if (*rc == WA_ECRYPTO || *rc == WA_EPROTO || *rc == WA_ETOOBIG) {
		j->why = wa_strerror(*rc);
		j->outcome = RECV_REFUSED;
		*rc = 0;
	}
	return 1;
}

/* An edit or a revoke (pm) of the message pm->key names, sent in chat rt
 * by rt->sender (docs/engine.md, "Edits and revokes"): recorded and
 * applied in the open transaction (left open). 0 or an error. */
static int store_update(struct wa_db *db, struct recv_job *j, const struct route *rt, const WaE2E__ProtocolMessage *pm)
{
	struct wa_msg_update u;
	struct wa_msg_content c;
	char tsender[WA_JID_STR_MAX];
	struct wa_jid pj;
	long long t = 0;
	int revoke = !pm->has_type || pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__REVOKE;

	memset(&u, 0, sizeof u);
	u.chat = rt->chat;
	u.id = wa_node_attr_or(j->n, "id", "");
	u.target = pm->key->id;
	u.from_me = rt->from_me;
	u.sender = rt->sender;
	u.revoke = revoke;
	/* edit="8": an admin's revoke of another member's message (§7.6) */
	u.by_admin = revoke && rt->group[0] && wa_node_attr_is(j->n, "edit", "8");
	if (pm->key->participant && wa_jid_parse(pm->key->participant, &pj, NULL) == 0 && format_user(&pj, tsender) == 0)
		u.target_sender = tsender;
	if (!revoke && wa_msgs_content(pm->editedmessage, &c) == 0)
		u.content = c.text;
	wa_node_attr_int(j->n, "t", &t);
	u.t_ms = pm->has_timestampms && pm->timestampms > 0 ? pm->timestampms :
		 (int64_t)(t > 0 ? t : (long long)time(NULL)) * 1000;
	if (!*u.id) {
		j->why = "no message id";
		return WA_EPROTO;
	}
	j->is_update = 1;
	return wa_msgs_update(db, j->row, j->slug, &u, &j->upd_state, &j->upd);
}

/* A reaction or a poll vote (c): stored on its target in the open
 * transaction (left open), its event in j->upd. 0 or an error
 * (WA_ECONFLICT: stored before). */
static int store_reaction_or_vote(struct wa_db *db, struct recv_job *j, const struct route *rt,
				  const struct wa_msg_content *c, long long t)
{
	char me[WA_JID_STR_MAX];
	const char *id = wa_node_attr_or(j->n, "id", "");
	int rc;

	if (!*id)
		return WA_EPROTO;
	j->is_update = 1;
	j->upd_state = WA_MSGUPD_APPLIED;
	snprintf(me, sizeof me, "%s@s.whatsapp.net", j->me_user);
	if (c->kind == WA_MSGK_REACTION) {
		struct wa_msg_react r = { 0 };

		r.chat = rt->chat;
		r.id = id;
		r.target = c->reaction->key->id;
		r.sender = rt->sender;
		r.from_me = rt->from_me;
		r.push_name = wa_node_attr(j->n, "notify");
		r.emoji = c->text;
		r.t_ms = c->reaction->has_sendertimestampms && c->reaction->sendertimestampms > 0 ?
			 c->reaction->sendertimestampms : (int64_t)t * 1000;
		return wa_msgs_react(db, j->row, j->slug, &r, &j->upd);
	}
	{
		struct wa_msg_vote v = { 0 };

		v.chat = rt->chat;
		v.id = id;
		v.voter = rt->sender;
		v.from_me = rt->from_me;
		v.me = me;
		v.vote = c->vote;
		v.t_ms = (int64_t)t * 1000;
		rc = wa_msgs_poll_vote(db, j->row, j->slug, &v, &j->upd);
		if (rc == WA_EPROTO) {
			wa_warn("session %s: poll vote %s carries no encrypted vote: dropped", j->slug, id);
			rc = 0;
		}
		return rc;
	}
}

/* One try of the transaction. */
static int recv_txn(struct wa_db *db, void *arg)
{
	struct recv_job *j = arg;
	struct route rt;
	wa_sigstore *st = NULL;
	wa_sig *sig = NULL;
	wa_sig_addr sender;
	char sender_pn[sizeof rt.alt_pn], sender_pn_jid[sizeof rt.alt_pn + 16];
	WaE2E__Message *msg = NULL;
	const char *dest = NULL;
	char dest_chat[WA_JID_STR_MAX];
	struct wa_msg_content c;
	struct wa_msg_row m;
	const WaE2E__ProtocolMessage *pm;
	long long t = 0;
	char *mentions = NULL, *meta = NULL;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	int rc, err1 = 0, err2 = 0;

	j->outcome = RECV_LATER;
	j->is_update = 0;
	j->blob_failed = 0;
	if (route(j, &rt, &j->why) != 0)
		return 0;
	if (wa_db_begin(db) < 0) {
		j->why = "database unavailable";
		return WA_ESTORAGE;
	}
	rc = wa_creds_open_sig(db, j->row, &st, &sig);
	if (rc != 0) {
		j->why = "cannot open the Signal store";
		goto rollback;
	}
	/* the sender's session is named by its number when we know it
	 * (engine/store/lidmap.h): the stanza's, else the stored one; the
	 * stanza's is kept at the commit, once the sender's contact row is
	 * written */
	memcpy(sender_pn, rt.alt_pn, sizeof rt.alt_pn);
	rc = 0;
	if (!sender_pn[0] && wa_jid_is_lid(&rt.sender_dev) &&
	    wa_lidmap_pn(db, j->row, rt.sender_dev.user, sender_pn, sizeof sender_pn) < 0)
		rc = WA_ESTORAGE;
	if (rc == 0)
		rc = wa_lidmap_name(&rt.sender_dev, sender_pn, &sender);
	if (rc != 0) {
		wa_creds_close_sig(st, sig);
		if (rc == WA_EINVAL) {
			j->outcome = RECV_UNDECRYPTABLE;
			j->why = "no Signal address for the sender";
			rc = 0;
		} else {
			j->why = "database unavailable";
		}
		goto rollback;
	}
	rc = decrypt_all(j->slug, sig, &rt, &sender, j->n, &msg, &j->why);
	wa_creds_close_sig(st, sig);
	if (rc == WA_SIG_DUPLICATE) {
		/* decrypted and committed before, not answered (a crash, a
		 * lost receipt): answer it now */
		wa_db_rollback(db);
		if (wa_db_int(db, 0, "SELECT (SELECT COUNT(*) FROM messages WHERE wa_session_id = ? AND message_id = ?) + "
			      "(SELECT COUNT(*) FROM message_updates WHERE wa_session_id = ? AND update_id = ?) + "
			      "(SELECT COUNT(*) FROM message_reactions WHERE wa_session_id = ? AND reaction_id = ?) + "
			      "(SELECT COUNT(*) FROM poll_votes WHERE wa_session_id = ? AND vote_id = ?)", "usususus",
			      (unsigned long long)j->row, wa_node_attr_or(j->n, "id", ""), (unsigned long long)j->row,
			      wa_node_attr_or(j->n, "id", ""), (unsigned long long)j->row, wa_node_attr_or(j->n, "id", ""),
			      (unsigned long long)j->row, wa_node_attr_or(j->n, "id", "")) != 1)
			wa_warn("session %s: message %s was decrypted before but is not stored; answering it anyway",
				j->slug, wa_node_attr_or(j->n, "id", ""));
		j->outcome = RECV_KNOWN;
		j->from_me = rt.from_me;
		return 0;
	}
	if (rc != WA_SIG_OK) {
		/* the sender can fix these by sending again over a new session */
		if (rc == WA_SIG_INVALID || rc == WA_SIG_NO_SESSION || rc == WA_SIG_NO_PREKEY)
			j->outcome = RECV_UNDECRYPTABLE;
		rc = rc == WA_SIG_STORE ? WA_ESTORAGE : 0;
		goto rollback;
	}
	if (rt.from_me && msg && peer_protocol(db, j, msg->protocolmessage, &rc)) {
		if (rc != 0 || j->outcome == RECV_REFUSED) {
			if (rc != 0)
				j->outcome = RECV_LATER;
			goto rollback;
		}
		if (wa_db_commit(db) < 0) {
			j->why = "the commit failed";
			j->outcome = RECV_LATER;
			rc = WA_ESTORAGE;
		}
		goto out;
	}
	if (rt.peer) {
		j->why = "a peer message of our own devices not handled yet";
		rc = 0;
		goto rollback;
	}
	(void)content_msg(msg, &dest);
	if (rt.from_me && dest && !rt.group[0]) {
		struct wa_jid dj;

		if (wa_jid_parse(dest, &dj, NULL) != 0 || format_user(&dj, dest_chat) != 0) {
			j->why = "a bad destination in our own device's message";
			rc = 0;
			goto rollback;
		}
		memcpy(rt.chat, dest_chat, sizeof rt.chat);
	}
	if (!rt.chat[0]) {
		j->why = "a message of our own devices without a chat";
		rc = 0;
		goto rollback;
	}
	j->from_me = rt.from_me;
	if ((pm = wa_msgs_edit_or_revoke(content_msg(msg, &dest))) != NULL) {
		rc = store_update(db, j, &rt, pm);
		if (rc == WA_ECONFLICT) {
			wa_db_rollback(db);
			j->outcome = RECV_KNOWN;
			wa_e2_e__message__free_unpacked(msg, NULL);
			return 0;
		}
		if (rc == WA_EPROTO) {
			rc = 0;
			goto rollback;
		}
		if (rc != 0) {
			j->why = "cannot store the edit or revoke";
			goto rollback;
		}
		goto commit;
	}
	if (wa_msgs_content(content_msg(msg, &dest), &c) != 0) {
		j->why = "a message with no content of its own (a protocol message)";
		rc = 0;
		goto rollback;
	}
	wa_node_attr_int(j->n, "t", &t);
	if (c.kind != WA_MSGK_ROW) {
		rc = store_reaction_or_vote(db, j, &rt, &c, t > 0 ? t : (long long)time(NULL));
		if (rc == WA_ECONFLICT) {
			wa_db_rollback(db);
			j->outcome = RECV_KNOWN;
			wa_e2_e__message__free_unpacked(msg, NULL);
			return 0;
		}
		if (rc != 0) {
			j->why = "cannot store the reaction or poll vote";
			goto rollback;
		}
		goto commit;
	}
	memset(&m, 0, sizeof m);
	m.chat = rt.chat;
	m.id = wa_node_attr_or(j->n, "id", "");
	m.from_me = rt.from_me;
	m.sender = rt.sender;
	if (!rt.from_me && wa_jid_is_lid(&rt.sender_dev) && sender_pn[0]) {
		/* a LID sender whose number we know */
		snprintf(sender_pn_jid, sizeof sender_pn_jid, "%s@s.whatsapp.net", sender_pn);
		m.sender_pn = sender_pn_jid;
	}
	m.push_name = wa_node_attr(j->n, "notify");
	m.type = c.type;
	m.content = c.text;
	m.caption = c.caption;
	m.media_mime = c.mime;
	m.media_size = c.size;
	m.quoted_id = c.quoted_id && *c.quoted_id ? c.quoted_id : NULL;
	m.status = rt.from_me ? "SENT" : "DELIVERED";
	m.t = t > 0 ? t : (long long)time(NULL);
	m.event = rt.status ? "status.update" : rt.from_me ? "message.sent" : "message.received";
	m.event_later = 1; /* j->outbox_id is read in recv_done, after the commit */
	j->from_me = rt.from_me;
	j->status = rt.status;
	mentions = wa_msgs_mentions(c.ctx, &err1);
	meta = wa_msgs_meta(&c, &err2);
	raw_len = wa_e2_e__message__get_packed_size(msg);
	raw = malloc(raw_len ? raw_len : 1);
	if (raw)
		wa_e2_e__message__pack(msg, raw);
	m.raw = raw;
	m.raw_len = raw_len;
	m.mentions = mentions;
	m.meta = meta;
	j->payload = err1 || err2 || !raw ? NULL : wa_msgs_event_payload(j->slug, &m);
	if (j->payload && rt.status) {
		char *sp = sess_status_event_payload(j->payload, c.m);

		free(j->payload);
		j->payload = sp;
	}
	if (!j->payload || !*m.id) {
		j->why = !*m.id ? "no message id" : "out of memory";
		rc = j->payload ? 0 : WA_ENOMEM;
		goto rollback;
	}
	m.payload = j->payload;
	free(j->contact_payload);
	j->contact_payload = NULL;
	rc = rt.from_me ? 0 : wa_contacts_push_name(db, j->row, j->slug, m.sender, m.push_name, &j->contact_payload,
						    &j->contact_outbox_id);
	if (rc == 0)
		rc = wa_msgs_store(db, j->row, &m, &j->outbox_id);
	if (rc == WA_ECONFLICT) {
		wa_db_rollback(db);
		j->outcome = RECV_KNOWN;
		rc = 0;
		goto out;
	}
	if (rc == 0)
		rc = wa_msgs_took_waiting(db, j->row, &m);
	if (rc == 0)
		rc = wa_msgs_apply_pending(db, j->row, j->slug, &m, &j->upd);
	if (rc == 0 && !rt.status) {
		/* an auto-reply queued with the message it answers, then the bot
		 * (commands, welcome, auto-read): one read of the session's
		 * settings for both (store/bot.h) */
		struct wa_ar_msg am = { m.id, m.chat, m.sender, m.content ? m.content : m.caption, m.from_me };
		struct wa_bot_msg bm = { m.id, m.chat, m.sender, m.content ? m.content : m.caption, m.from_me,
					 m.type, m.quoted_id, (int64_t)m.t * 1000, wa_engine_wall_ms(), j->up_ms };
		int err = 0;
		json_t *cfg = wa_bot_config(db, j->row, &err);

		rc = err ? WA_ESTORAGE : wa_autoreply_queue(db, j->row, &am, cfg, j->ar_limit, &j->ar_queued);
		if (rc == 0)
			rc = wa_bot_handle(db, j->row, &bm, cfg, &j->bot);
		json_decref(cfg);
	}
	if (rc != 0) {
		j->why = "cannot store the message";
		goto rollback;
	}
	j->ts_ms = (uint64_t)m.t * 1000;
commit:
	if (rt.alt_pn[0] && (rc = wa_lidmap_put(db, j->row, rt.sender_dev.user, rt.alt_pn)) != 0) {
		j->why = "cannot store the sender's number";
		goto rollback;
	}
	if (wa_db_commit(db) < 0) {
		j->why = "the commit failed";
		rc = WA_ESTORAGE;
		goto out;
	}
	j->outcome = RECV_STORED;
	rc = 0;
	goto out;
rollback:
	wa_db_rollback(db);
out:
	if (j->outcome != RECV_STORED) {
		free(j->payload);
		j->payload = NULL;
		free(j->upd.payload);
		memset(&j->upd, 0, sizeof j->upd);
		free(j->contact_payload);
		j->contact_payload = NULL;
	}
	if (msg)
		wa_e2_e__message__free_unpacked(msg, NULL);
	free(mentions);
	free(meta);
	free(raw);
	return rc;
}

/* dbpool thread; a deadlock is run again, a few times. */
static int recv_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, recv_txn, arg);
}

/* The delivery receipt for the stanza (§8.3); type "sender" for what our
 * own devices sent. */
static void send_receipt(struct wa_session *s, const struct wa_node *n, int from_me)
{
	struct wa_node *r = wa_node_new_attrs("receipt", "id", wa_node_attr(n, "id"), "to", wa_node_attr(n, "from"),
					      "participant", wa_node_attr(n, "participant"), "recipient",
					      wa_node_attr(n, "recipient"), "type", from_me ? "sender" : NULL, NULL);

	if (r)
		(void)sess_send(s, r);
	wa_node_free(r);
}

/* A read receipt for n (auto-read: the bot config's autoRead, or the
 * session setting readReceipts: true), after its delivery receipt. */
static void send_read(struct wa_session *s, const struct wa_node *n)
{
	char t[24];
	struct wa_node *r;

	snprintf(t, sizeof t, "%lld", (long long)time(NULL));
	r = wa_node_new_attrs("receipt", "id", wa_node_attr(n, "id"), "to", wa_node_attr(n, "from"), "participant",
			      wa_node_attr(n, "participant"), "type", "read", "t", t, NULL);
	if (r)
		(void)sess_send(s, r);
	wa_node_free(r);
}

/* The count (1..) of this try of the stanza (id, from) for kind ("" retry
 * receipts, "blob:" history fetches), from a small per-session ring. */
static unsigned try_count(struct wa_session *s, const struct wa_node *n, const char *kind)
{
	const char *id = wa_node_attr_or(n, "id", "");
	char from[sizeof s->retries[0].from];
	struct sess_retry *r;

	snprintf(from, sizeof from, "%s%s", kind, wa_node_attr_or(n, "from", ""));

	for (size_t i = 0; i < SESS_RETRIES; i++) {
		r = &s->retries[i];
		if (r->count && strcmp(r->id, id) == 0 && strcmp(r->from, from) == 0)
			return ++r->count;
	}
	r = &s->retries[s->retry_next++ % SESS_RETRIES];
	snprintf(r->id, sizeof r->id, "%s", id);
	snprintf(r->from, sizeof r->from, "%s", from);
	r->count = 1;
	return 1;
}

/* The retry receipt for n, count-th request (§8.4), without <keys>. */
static struct wa_node *retry_receipt(struct wa_session *s, const struct wa_node *n, unsigned count)
{
	struct wa_node *r, *rt, *reg;
	uint8_t be[4];

	r = wa_node_new_attrs("receipt", "id", wa_node_attr(n, "id"), "to", wa_node_attr(n, "from"), "type", "retry",
			      "participant", wa_node_attr(n, "participant"), "recipient", wa_node_attr(n, "recipient"),
			      NULL);
	rt = r ? wa_node_add_new(r, "retry") : NULL;
	reg = r ? wa_node_add_new(r, "registration") : NULL;
	wa_sig_put_be32(be, s->cr ? s->cr->registration_id : 0);
	if (rt && reg && wa_node_set_attr_uint(rt, "count", count) == 0 &&
	    wa_node_set_attr(rt, "id", wa_node_attr(n, "id")) == 0 && wa_node_set_attr(rt, "t", wa_node_attr(n, "t")) == 0 &&
	    wa_node_set_attr(rt, "v", "1") == 0 && wa_node_set_bytes(reg, be, 4) == 0)
		return r;
	wa_node_free(r);
	return NULL;
}

static void send_retry(struct wa_session *s, const struct wa_node *n, struct wa_node *r, unsigned count, int keys)
{
	if (!r)
		return;
	wa_info("session %s: message %s from %s does not decrypt: asking again (%u%s)", s->id,
		wa_node_attr_or(n, "id", "?"), wa_node_attr_or(n, "from", "?"), count, keys ? ", with our keys" : "");
	(void)sess_send(s, r);
}

/* From the second request on, the receipt carries our keys (§8.4, as
 * Baileys and whatsmeow send them): identity, a fresh one-time pre-key
 * (made and stored for this, not uploaded), the signed pre-key and our
 * device identity, so the sender can build a new session without asking
 * the server. The pre-key is made in a database job. */
struct retry_keys_job {
	struct wa_session *s;
	uint64_t row;
	uint32_t spk_id;
	uint8_t account[WA_CREDS_ACCOUNT_MAX];
	size_t account_len;
	struct wa_node *n;          /* the stanza (a copy) */
	struct wa_node *keys;       /* result */
	unsigned count;
	uint32_t next_id;
};

/* dbpool thread: one fresh pre-key, with the next id the session has, in
 * one transaction with the counter. */
static int retry_keys_txn(struct wa_db *db, void *arg)
{
	struct retry_keys_job *j = arg;
	wa_sigstore *st = NULL;
	wa_sig *sig = NULL;
	wa_sig_prekey pk;
	long long first;
	int rc;

	wa_node_free(j->keys);
	j->keys = NULL;
	if (wa_db_begin(db) < 0)
		return WA_ESTORAGE;
	first = wa_db_int(db, -1, "SELECT next_prekey_id FROM wa_device_creds WHERE wa_session_id = ? FOR UPDATE", "u",
			  (unsigned long long)j->row);
	rc = first < 0 ? WA_ESTORAGE : wa_creds_open_sig(db, j->row, &st, &sig);
	if (rc == 0) {
		if (wa_sig_prekeys_generate(sig, first > 0 ? (uint32_t)first : 1, 1, &pk, &j->next_id) != 0)
			rc = WA_ESTORAGE;
		else if (!(j->keys = wa_sig_retry_keys_node(sig, j->spk_id, &pk, j->account, j->account_len)))
			rc = WA_ENOMEM;
		wa_creds_close_sig(st, sig);
	}
	if (rc == 0 && wa_db_exec(db, "UPDATE wa_device_creds SET next_prekey_id = ? WHERE wa_session_id = ?", "uu",
				  (unsigned long long)j->next_id, (unsigned long long)j->row) < 0)
		rc = WA_ESTORAGE;
	if (rc == 0 && wa_db_commit(db) < 0)
		rc = WA_ESTORAGE;
	if (rc != 0) {
		wa_db_rollback(db);
		wa_node_free(j->keys);
		j->keys = NULL;
	}
	return rc;
}

static int retry_keys_run(struct wa_db *db, void *arg)
{
	return wa_dbjob_retry(db, retry_keys_txn, arg);
}

static void retry_keys_done(void *arg, int rc)
{
	struct retry_keys_job *j = arg;
	struct wa_session *s = j->s;
	struct wa_node *r;

	if (sess_unref(s) && s->phase == PH_READY) {
		r = retry_receipt(s, j->n, j->count);
		if (rc == 0 && j->keys && r && wa_node_add_child(r, j->keys) == 0) {
			j->keys = NULL;
			if (s->cr && j->next_id > s->cr->next_prekey_id)
				s->cr->next_prekey_id = j->next_id;
			send_retry(s, j->n, r, j->count, 1);
		} else {
			wa_warn("session %s: no fresh pre-key for the retry receipt (%s): asking without keys", s->id,
				wa_strerror(rc ? rc : WA_ENOMEM));
			send_retry(s, j->n, r, j->count, 0);
		}
		wa_node_free(r);
	}
	wa_node_free(j->keys);
	wa_node_free(j->n);
	explicit_bzero(j, sizeof *j);
	free(j);
}

/* A retry receipt (§8.4): <keys> from the second request on. After
 * RECV_RETRY_MAX requests the stanza is acked and given up. */
static void ask_again(struct wa_session *s, const struct wa_node *n)
{
	unsigned count = try_count(s, n, "");
	struct retry_keys_job *j;
	struct wa_node *r;

	if (count > RECV_RETRY_MAX) {
		wa_warn("session %s: message %s from %s still does not decrypt after %u requests: given up", s->id,
			wa_node_attr_or(n, "id", "?"), wa_node_attr_or(n, "from", "?"), RECV_RETRY_MAX);
		sess_ack(s, n);
		return;
	}
	if (count > 1 && s->cr && s->cr->account_len <= sizeof j->account && (j = calloc(1, sizeof *j)) != NULL) {
		j->s = s;
		j->row = s->row_id;
		j->spk_id = s->cr->signed_prekey_id;
		memcpy(j->account, s->cr->account, s->cr->account_len);
		j->account_len = s->cr->account_len;
		j->count = count;
		j->n = wa_node_dup(n);
		sess_ref(s);
		if (j->n && wa_dbpool_submit(s->e->db, s->row_id, retry_keys_run, retry_keys_done, j) == 0)
			return;
		sess_unref(s);
		wa_node_free(j->n);
		free(j);
	}
	r = retry_receipt(s, n, count);
	send_retry(s, n, r, count, 0);
	wa_node_free(r);
}

/* The receipt for a peer message of our phone, to our own user (§8.3). */
static void own_receipt(struct wa_session *s, const struct wa_node *n, const char *type)
{
	char me[48];
	struct wa_node *r;

	snprintf(me, sizeof me, "%s@s.whatsapp.net", s->cr ? s->cr->phone : "");
	r = wa_node_new_attrs("receipt", "id", wa_node_attr(n, "id"), "to", me, "type", type, NULL);
	if (r)
		(void)sess_send(s, r);
	wa_node_free(r);
}

/* What an edit or a revoke came to, for the log. */
static void log_update(struct wa_session *s, const struct recv_job *j)
{
	static const char *const what[] = { "kept until its target arrives", "applied",
					    "refused (not the sender's message, or another chat)",
					    "changed nothing (target deleted, or a newer edit)" };
	const char *id = wa_node_attr_or(j->n, "id", "?");

	if (j->upd_state == WA_MSGUPD_REFUSED)
		wa_warn("session %s: edit/revoke %s from %s %s", s->id, id, wa_node_attr_or(j->n, "from", "?"),
			what[j->upd_state]);
	else
		wa_debug("session %s: edit/revoke %s %s", s->id, id, what[j->upd_state]);
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
		/* the payloads are the outbox's JSON texts: published as they are */
		if (j->is_update)
			log_update(s, j);
		else
			wa_debug("session %s: message %s stored", s->id, id);
		if (j->payload)
			wa_events_publish_text(s->e->events, s->id,
					       j->status ? "status.update" : j->from_me ? "message.sent" : "message.received",
					       j->payload, j->outbox_id, j->ts_ms);
		if (j->upd.payload)
			wa_events_publish_text(s->e->events, s->id, j->upd.event, j->upd.payload, j->upd.outbox_id,
					       (uint64_t)j->upd.t_ms);
		if (j->contact_payload)
			wa_events_publish_text(s->e->events, s->id, "contact.update", j->contact_payload,
					       j->contact_outbox_id, j->ts_ms);
		if (s->phase == PH_READY)
			send_receipt(s, j->n, j->from_me);
		if (j->ar_queued || j->bot.queued)
			wa_sched_kick(s->e->sched);
		if (j->bot.mark_read && s->phase == PH_READY)
			send_read(s, j->n);
		break;
	}
	case RECV_KNOWN:
		wa_debug("session %s: message %s was stored before: receipt only", s->id, id);
		if (s->phase == PH_READY)
			send_receipt(s, j->n, j->from_me);
		break;
	case RECV_HISTORY:
		wa_info("session %s: history sync stored: %u chats, %u messages, %u contacts", s->id, j->hist.chats,
			j->hist.messages, j->hist.contacts);
		if (s->phase == PH_READY)
			own_receipt(s, j->n, "hist_sync");
		break;
	case RECV_PEER:
		wa_info("session %s: %u app-state keys from the phone stored", s->id, j->nkeys);
		if (s->phase == PH_READY)
			own_receipt(s, j->n, "peer_msg");
		if (j->nkeys)
			appstate_on_keys(s);
		break;
	case RECV_REFUSED:
		wa_warn("session %s: message %s dropped: %s", s->id, id, j->why ? j->why : "-");
		if (s->phase == PH_READY)
			sess_ack(s, j->n);
		break;
	case RECV_UNDECRYPTABLE:
		if (s->phase == PH_READY)
			ask_again(s, j->n);
		break;
	case RECV_LATER:
		if (j->blob_failed) {
			unsigned k = try_count(s, j->n, "blob:");

			if (k < RECV_BLOB_TRIES) {
				wa_warn("session %s: history sync %s: the blob could not be fetched (try %u of %u): left "
					"for the server to offer again", s->id, id, k, RECV_BLOB_TRIES);
			} else {
				wa_warn("session %s: history sync %s: the blob could not be fetched after %u tries: acked "
					"and dropped", s->id, id, k);
				if (s->phase == PH_READY)
					sess_ack(s, j->n);
			}
		} else if (rc != 0)
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
	j->env = *sess_history_env(s);
	j->ar_limit = sess_limits(s)->autoreply_per_chat_min;
	j->up_ms = s->connected_ms ? wa_engine_now_ms() - s->connected_ms : 0;
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
