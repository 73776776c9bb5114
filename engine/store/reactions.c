/* reactions: reactions and poll votes on stored messages (see msgs.h,
 * "reactions and poll votes"). */
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa/msgsecret.h"
#include "wa/pbsafe.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_OPTIONS_MAX 64
#define VOTE_ENC_MAX 4096

static void iso_ms(int64_t t_ms, char when[32])
{
	time_t tt = (time_t)(t_ms / 1000);
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(when, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), 32 - strlen(when), ".%03dZ", (int)(t_ms % 1000));
}

static int event_out(struct wa_db *db, uint64_t row, const char *name, json_t *o, int64_t t_ms,
		     struct wa_msg_upd_event *ev)
{
	ev->payload = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!ev->payload)
		return WA_ENOMEM;
	ev->event = name;
	ev->t_ms = t_ms;
	return wa_outbox_add_later(db, row, name, ev->payload, &ev->outbox_id);
}

/* ---- reactions ---- */

static const char SQL_REACT_SEEN[] =
	"SELECT COUNT(*) FROM message_reactions WHERE wa_session_id = ? AND reaction_id = ?";
static const char SQL_REACT_PUT[] =
	"INSERT INTO message_reactions (wa_session_id, target_id, sender_jid, reaction_id, remote_jid, from_me, emoji, "
	"t_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
	"reaction_id = IF(VALUES(t_ms) >= t_ms, VALUES(reaction_id), reaction_id), "
	"emoji = IF(VALUES(t_ms) >= t_ms, VALUES(emoji), emoji), "
	"t_ms = GREATEST(t_ms, VALUES(t_ms))";
static const char SQL_REACT_NEWER[] =
	"SELECT COUNT(*) FROM message_reactions WHERE wa_session_id = ? AND target_id = ? AND sender_jid = ? "
	"AND reaction_id <> ?";
/* the newest emoji left on the target, from reactions sent in its own chat */
static const char SQL_REACT_COPY[] =
	"UPDATE messages m SET m.reaction = (SELECT r.emoji FROM message_reactions r WHERE r.wa_session_id = ? AND "
	"r.target_id = ? AND r.remote_jid = m.remote_jid AND r.emoji <> '' ORDER BY r.t_ms DESC LIMIT 1) "
	"WHERE m.wa_session_id = ? AND m.message_id = ?";
/* the same for a message just stored, only when a reaction waited for it */
static const char SQL_REACT_WAITED[] =
	"UPDATE messages m SET m.reaction = (SELECT r.emoji FROM message_reactions r WHERE r.wa_session_id = ? AND "
	"r.target_id = ? AND r.remote_jid = m.remote_jid AND r.emoji <> '' ORDER BY r.t_ms DESC LIMIT 1) "
	"WHERE m.wa_session_id = ? AND m.message_id = ? "
	"AND EXISTS (SELECT 1 FROM message_reactions w WHERE w.wa_session_id = ? AND w.target_id = ?)";
static const char SQL_TARGET_CHAT[] =
	"SELECT remote_jid FROM messages WHERE wa_session_id = ? AND message_id = ?";

int wa_msgs_react(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_react *r,
		  struct wa_msg_upd_event *ev)
{
	unsigned long long sid = (unsigned long long)row;
	char *emoji = NULL, *pn = NULL, when[32];
	const char *e = r->emoji ? r->emoji : "";
	long long n;
	int rc, err = 0;

	memset(ev, 0, sizeof *ev);
	n = wa_db_int(db, -1, SQL_REACT_SEEN, "us", sid, r->id);
	if (n < 0)
		return WA_ESTORAGE;
	if (n > 0)
		return WA_ECONFLICT;
	{
		/* a reaction sent in another chat than its target's changes nothing */
		json_t *t = wa_db_row(db, &err, SQL_TARGET_CHAT, "us", sid, r->target);
		const char *tc = t ? json_string_value(json_object_get(t, "remote_jid")) : NULL;
		int other = tc && strcmp(tc, r->chat) != 0;

		json_decref(t);
		if (err)
			return WA_ESTORAGE;
		if (other) {
			wa_warn("session %s: reaction %s from %s names a message of another chat: ignored", slug, r->id,
				r->sender);
			return 0;
		}
	}
	if (!wa_utf8_valid(e) && !(e = emoji = wa_utf8_repair(e)))
		return WA_ENOMEM;
	if (strlen(e) > 60)
		e = ""; /* no emoji is this long: not a reaction anyone could see */
	if (wa_db_exec(db, SQL_REACT_PUT, "ussssbsi", sid, r->target, r->sender, r->id, r->chat, r->from_me, e,
		       (long long)r->t_ms) < 0) {
		free(emoji);
		return WA_ESTORAGE;
	}
	/* older than the one kept: recorded as seen nowhere, changes nothing */
	n = wa_db_int(db, -1, SQL_REACT_NEWER, "usss", sid, r->target, r->sender, r->id);
	if (n != 0) {
		free(emoji);
		return n < 0 ? WA_ESTORAGE : 0;
	}
	if (wa_db_exec(db, SQL_REACT_COPY, "usus", sid, r->target, sid, r->target) < 0) {
		free(emoji);
		return WA_ESTORAGE;
	}
	if (r->push_name && !wa_utf8_valid(r->push_name))
		pn = wa_utf8_repair(r->push_name);
	iso_ms(r->t_ms, when);
	rc = event_out(db, row, "message.reaction",
		       json_pack("{s:s,s:{s:s,s:b,s:s},s:s,s:s,s:b,s:s,s:s*,s:s,s:s,s:b,s:s,s:I}", "sessionId", slug,
				 "key", "remoteJid", r->chat, "fromMe", r->from_me, "id", r->id, "id", r->id,
				 "remoteJid", r->chat, "fromMe", r->from_me, "sender", r->sender, "pushName",
				 pn ? pn : r->push_name, "targetId", r->target, "emoji", e, "removed", !*e,
				 "timestamp", when, "messageTimestamp", (json_int_t)(r->t_ms / 1000)),
		       r->t_ms, ev);
	free(pn);
	free(emoji);
	return rc;
}

/* ---- poll votes ---- */

static const char SQL_VOTE_SEEN[] = "SELECT COUNT(*) FROM poll_votes WHERE wa_session_id = ? AND vote_id = ?";
static const char SQL_POLL[] =
	"SELECT remote_jid, from_me, sender_jid, HEX(raw) AS raw, meta FROM messages WHERE wa_session_id = ? AND "
	"message_id = ? FOR UPDATE";
static const char SQL_VOTE_PUT[] =
	"INSERT INTO poll_votes (wa_session_id, poll_id, voter_jid, vote_id, remote_jid, from_me, selected, "
	"enc_payload, enc_iv, t_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
	"vote_id = IF(VALUES(t_ms) >= t_ms, VALUES(vote_id), vote_id), "
	"selected = IF(VALUES(t_ms) >= t_ms, VALUES(selected), selected), "
	"enc_payload = IF(VALUES(t_ms) >= t_ms, VALUES(enc_payload), enc_payload), "
	"enc_iv = IF(VALUES(t_ms) >= t_ms, VALUES(enc_iv), enc_iv), "
	"t_ms = GREATEST(t_ms, VALUES(t_ms))";
static const char SQL_VOTES[] =
	"SELECT voter_jid, selected FROM poll_votes WHERE wa_session_id = ? AND poll_id = ? AND remote_jid = ? "
	"AND selected IS NOT NULL ORDER BY voter_jid";
static const char SQL_VOTES_WAITING[] =
	"SELECT voter_jid, vote_id, HEX(enc_payload) AS enc, HEX(enc_iv) AS iv FROM poll_votes "
	"WHERE wa_session_id = ? AND poll_id = ? AND remote_jid = ? AND selected IS NULL AND enc_payload IS NOT NULL";
static const char SQL_VOTE_SET[] =
	"UPDATE poll_votes SET selected = ?, enc_payload = NULL, enc_iv = NULL WHERE wa_session_id = ? AND "
	"poll_id = ? AND voter_jid = ?";
static const char SQL_META[] = "UPDATE messages SET meta = ? WHERE wa_session_id = ? AND message_id = ?";

/* The poll a stored row holds: its key material and options. */
struct poll {
	WaE2E__Message *msg;                 /* owned */
	const WaE2E__PollCreationMessage *pc;
	const uint8_t *secret;               /* 32 bytes */
	char creator[WA_MSGSECRET_MAX_FIELD];
	char chat[WA_MSGSECRET_MAX_FIELD];   /* the poll's chat: votes from elsewhere do not count */
	json_t *meta;                        /* owned */
};

static void poll_free(struct poll *p)
{
	if (p->msg)
		wa_e2_e__message__free_unpacked(p->msg, NULL);
	json_decref(p->meta);
	memset(p, 0, sizeof *p);
}

static int unhex(const char *hex, uint8_t **out, size_t *len)
{
	size_t n = hex ? strlen(hex) : 0;

	*out = NULL;
	*len = 0;
	if (!n || n % 2 || !(*out = malloc(n / 2)))
		return -1;
	if (wa_hex_decode(hex, *out, n / 2) != 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*len = n / 2;
	return 0;
}

/* The messageSecret the message carries, at any wrapper level. */
static const uint8_t *find_secret(const WaE2E__Message *m)
{
	for (int d = 0; m && d < 6; d++) {
		const WaE2E__FutureProofMessage *w;

		if (m->messagecontextinfo && m->messagecontextinfo->has_messagesecret &&
		    m->messagecontextinfo->messagesecret.len == 32)
			return m->messagecontextinfo->messagesecret.data;
		if (m->devicesentmessage && m->devicesentmessage->message) {
			m = m->devicesentmessage->message;
			continue;
		}
		w = m->ephemeralmessage ? m->ephemeralmessage : m->viewoncemessage ? m->viewoncemessage :
		    m->viewoncemessagev2 ? m->viewoncemessagev2 : NULL;
		m = w ? w->message : NULL;
	}
	return NULL;
}

/* Load the poll `id` (row locked). 0, WA_ENOTFOUND (not stored, or not a
 * poll with a secret), WA_ESTORAGE. */
static int poll_load(struct wa_db *db, uint64_t row, const char *id, const char *me, struct poll *p)
{
	struct wa_msg_content c;
	json_t *r;
	uint8_t *raw;
	size_t len;
	int err = 0;
	const char *who;

	memset(p, 0, sizeof *p);
	r = wa_db_row(db, &err, SQL_POLL, "us", (unsigned long long)row, id);
	if (!r)
		return err ? WA_ESTORAGE : WA_ENOTFOUND;
	if (unhex(json_string_value(json_object_get(r, "raw")), &raw, &len) == 0) {
		p->msg = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, raw, len, WA_PB_MAX_DEPTH);
		free(raw);
	}
	who = json_is_true(json_object_get(r, "from_me")) ? me : json_string_value(json_object_get(r, "sender_jid"));
	snprintf(p->chat, sizeof p->chat, "%s", json_string_value(json_object_get(r, "remote_jid")) ?
		 json_string_value(json_object_get(r, "remote_jid")) : "");
	if (!p->msg || wa_msgs_content(p->msg, &c) != 0 || !c.type || strcmp(c.type, "POLL") != 0 ||
	    !(p->secret = find_secret(p->msg)) || !who ||
	    wa_msgsecret_strip_device(who, p->creator, sizeof p->creator) != 0) {
		json_decref(r);
		poll_free(p);
		return WA_ENOTFOUND;
	}
	p->pc = c.m->pollcreationmessage ? c.m->pollcreationmessage :
		c.m->pollcreationmessagev2 ? c.m->pollcreationmessagev2 : c.m->pollcreationmessagev3;
	p->meta = json_loads(json_string_value(json_object_get(r, "meta")) ? json_string_value(json_object_get(r, "meta")) :
			     "{}", 0, NULL);
	if (!json_is_object(p->meta)) {
		json_decref(p->meta);
		p->meta = json_object();
	}
	json_decref(r);
	if (!p->meta) {
		poll_free(p);
		return WA_ENOMEM;
	}
	return 0;
}

/* Decrypt a vote of voter on poll p into a JSON array of option names
 * (new reference), NULL when it does not decrypt or decode. */
static json_t *vote_open(const struct poll *p, const char *poll_id, const char *voter, const uint8_t *enc,
			 size_t enc_len, const uint8_t *iv, size_t iv_len)
{
	uint8_t key[32], plain[VOTE_ENC_MAX], hashes[POLL_OPTIONS_MAX][32], h[32];
	char vj[WA_MSGSECRET_MAX_FIELD];
	size_t n = 0;
	json_t *names;

	if (iv_len != 12 || enc_len < 16 || enc_len - 16 > sizeof plain ||
	    wa_msgsecret_strip_device(voter, vj, sizeof vj) != 0 ||
	    wa_msgsecret_derive(p->secret, 32, poll_id, p->creator, vj, WA_SECRET_POLL_VOTE, key) != 0 ||
	    wa_poll_vote_decrypt(key, iv, poll_id, vj, enc, enc_len, plain) != 0 ||
	    wa_poll_vote_decode(plain, enc_len - 16, hashes, POLL_OPTIONS_MAX, &n) != 0) {
		explicit_bzero(key, sizeof key);
		return NULL;
	}
	explicit_bzero(key, sizeof key);
	if (!(names = json_array()))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; p->pc && k < p->pc->n_options; k++) {
			const char *name = p->pc->options[k] ? p->pc->options[k]->optionname : NULL;

			if (!name)
				continue;
			wa_poll_option_hash(name, h);
			if (memcmp(h, hashes[i], 32) == 0) {
				char *fixed = wa_utf8_valid(name) ? NULL : wa_utf8_repair(name);

				json_array_append_new(names, json_string(fixed ? fixed : name));
				free(fixed);
				break;
			}
		}
	}
	return names;
}

/* Recount the poll's votes into its meta and store it; *tally (may be
 * NULL) gets a new reference to the "votes" object. */
static int poll_retally(struct wa_db *db, uint64_t row, const char *poll_id, struct poll *p, json_t **tally)
{
	unsigned long long sid = (unsigned long long)row;
	json_t *rows, *r, *votes = json_object(), *voters = json_object(), *pj;
	char *text;
	size_t i, k;
	int rc = 0;

	if (tally)
		*tally = NULL;
	rows = wa_db_query(db, SQL_VOTES, "uss", sid, poll_id, p->chat);
	if (!rows || !votes || !voters) {
		json_decref(rows);
		json_decref(votes);
		json_decref(voters);
		return rows ? WA_ENOMEM : WA_ESTORAGE;
	}
	for (k = 0; p->pc && k < p->pc->n_options; k++)
		if (p->pc->options[k] && p->pc->options[k]->optionname && wa_utf8_valid(p->pc->options[k]->optionname))
			json_object_set_new(votes, p->pc->options[k]->optionname, json_integer(0));
	json_array_foreach(rows, i, r) {
		json_t *sel = json_loads(json_string_value(json_object_get(r, "selected")) ?
					 json_string_value(json_object_get(r, "selected")) : "[]", 0, NULL), *o;
		const char *who = json_string_value(json_object_get(r, "voter_jid"));

		if (!json_is_array(sel) || !who) {
			json_decref(sel);
			continue;
		}
		json_array_foreach(sel, k, o) {
			const char *name = json_string_value(o);

			if (name)
				json_object_set_new(votes, name,
						    json_integer(json_integer_value(json_object_get(votes, name)) + 1));
		}
		if (json_array_size(sel))
			json_object_set_new(voters, who, sel); /* an empty vote withdraws it */
		else
			json_decref(sel);
	}
	json_decref(rows);
	pj = json_object_get(p->meta, "poll");
	if (!json_is_object(pj)) {
		/* a poll stored without meta (one we sent): its question and
		 * options from its protobuf */
		json_t *opts = json_array();

		pj = json_object();
		json_object_set_new(p->meta, "poll", pj);
		if (p->pc && p->pc->name && wa_utf8_valid(p->pc->name))
			json_object_set_new(pj, "name", json_string(p->pc->name));
		for (k = 0; p->pc && k < p->pc->n_options; k++)
			if (p->pc->options[k] && p->pc->options[k]->optionname &&
			    wa_utf8_valid(p->pc->options[k]->optionname))
				json_array_append_new(opts, json_string(p->pc->options[k]->optionname));
		json_object_set_new(pj, "options", opts);
		json_object_set_new(pj, "selectableCount",
				    json_integer(p->pc && p->pc->has_selectableoptionscount ?
						 p->pc->selectableoptionscount : 0));
	}
	json_object_set(pj, "votes", votes);
	json_object_set_new(pj, "voters", voters);
	text = json_dumps(p->meta, JSON_COMPACT);
	if (!text)
		rc = WA_ENOMEM;
	else if (wa_db_exec(db, SQL_META, "sus", text, sid, poll_id) < 0)
		rc = WA_ESTORAGE;
	free(text);
	if (rc == 0 && tally)
		*tally = votes;
	else
		json_decref(votes);
	return rc;
}

int wa_msgs_poll_vote(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_vote *v,
		      struct wa_msg_upd_event *ev)
{
	unsigned long long sid = (unsigned long long)row;
	const WaE2E__PollEncValue *ve = v->vote->vote;
	const char *poll_id = v->vote->pollcreationmessagekey->id;
	int64_t t_ms = v->vote->has_sendertimestampms && v->vote->sendertimestampms > 0 ? v->vote->sendertimestampms :
		       v->t_ms;
	struct poll p;
	json_t *names = NULL, *tally = NULL;
	char *sel = NULL, when[32];
	long long n;
	int rc;

	memset(ev, 0, sizeof *ev);
	if (!ve || !ve->has_encpayload || !ve->has_enciv || ve->encpayload.len > VOTE_ENC_MAX || ve->enciv.len > 64)
		return WA_EPROTO;
	n = wa_db_int(db, -1, SQL_VOTE_SEEN, "us", sid, v->id);
	if (n < 0)
		return WA_ESTORAGE;
	if (n > 0)
		return WA_ECONFLICT;
	rc = poll_load(db, row, poll_id, v->me, &p);
	if (rc == WA_ESTORAGE || rc == WA_ENOMEM)
		return rc;
	if (rc == 0 && strcmp(p.chat, v->chat) != 0) {
		wa_warn("session %s: vote %s names a poll of another chat: not counted", slug, v->id);
		poll_free(&p);
		rc = WA_ENOTFOUND;
	}
	if (rc == 0 && !(names = vote_open(&p, poll_id, v->voter, ve->encpayload.data, ve->encpayload.len,
					   ve->enciv.data, ve->enciv.len)))
		wa_warn("session %s: the vote %s on poll %s does not decrypt: kept encrypted", slug, v->id, poll_id);
	if (names && !(sel = json_dumps(names, JSON_COMPACT))) {
		rc = WA_ENOMEM;
		goto out;
	}
	if (wa_db_exec(db, SQL_VOTE_PUT, "ussssbsxxi", sid, poll_id, v->voter, v->id, v->chat, v->from_me, sel,
		       sel ? NULL : (const void *)ve->encpayload.data, sel ? 0 : ve->encpayload.len,
		       sel ? NULL : (const void *)ve->enciv.data, sel ? 0 : ve->enciv.len, (long long)t_ms) < 0) {
		rc = WA_ESTORAGE;
		goto out;
	}
	rc = 0;
	if (!names)
		goto out; /* waits for its poll (or a key that opens it) */
	if ((rc = poll_retally(db, row, poll_id, &p, &tally)) != 0)
		goto out;
	iso_ms(t_ms, when);
	rc = event_out(db, row, "poll.vote",
		       json_pack("{s:s,s:{s:s,s:b,s:s},s:s,s:s,s:b,s:s,s:s,s:O,s:O,s:s,s:I}", "sessionId", slug, "key",
				 "remoteJid", v->chat, "fromMe", v->from_me, "id", v->id, "id", v->id, "remoteJid",
				 v->chat, "fromMe", v->from_me, "voter", v->voter, "pollId", poll_id,
				 "selectedOptions", names, "votes", tally, "timestamp", when, "messageTimestamp",
				 (json_int_t)(t_ms / 1000)),
		       t_ms, ev);
out:
	json_decref(names);
	json_decref(tally);
	free(sel);
	poll_free(&p);
	return rc;
}

int wa_msgs_took_waiting(struct wa_db *db, uint64_t row, const struct wa_msg_row *m)
{
	unsigned long long sid = (unsigned long long)row;
	struct poll p;
	json_t *rows, *r;
	size_t i;
	int rc, counted = 0;
	const char *me = m->from_me && m->sender ? m->sender : "";

	if (wa_db_exec(db, SQL_REACT_WAITED, "ususus", sid, m->id, sid, m->id, sid, m->id) < 0)
		return WA_ESTORAGE;
	if (!m->type || strcmp(m->type, "POLL") != 0)
		return 0;
	rows = wa_db_query(db, SQL_VOTES_WAITING, "uss", sid, m->id, m->chat);
	if (!rows)
		return WA_ESTORAGE;
	if (!json_array_size(rows)) {
		json_decref(rows);
		return 0;
	}
	rc = poll_load(db, row, m->id, me, &p);
	if (rc != 0) {
		json_decref(rows);
		return rc == WA_ENOTFOUND ? 0 : rc;
	}
	json_array_foreach(rows, i, r) {
		uint8_t *enc = NULL, *iv = NULL;
		size_t elen = 0, ivlen = 0;
		json_t *names = NULL;
		char *sel;
		const char *who = json_string_value(json_object_get(r, "voter_jid"));

		if (who && unhex(json_string_value(json_object_get(r, "enc")), &enc, &elen) == 0 &&
		    unhex(json_string_value(json_object_get(r, "iv")), &iv, &ivlen) == 0)
			names = vote_open(&p, m->id, who, enc, elen, iv, ivlen);
		free(enc);
		free(iv);
		if (!names)
			continue;
		sel = json_dumps(names, JSON_COMPACT);
		json_decref(names);
		if (!sel || wa_db_exec(db, SQL_VOTE_SET, "suss", sel, sid, m->id, who) < 0) {
			free(sel);
			rc = sel ? WA_ESTORAGE : WA_ENOMEM;
			break;
		}
		free(sel);
		counted++;
	}
	json_decref(rows);
	if (rc == 0 && counted)
		rc = poll_retally(db, row, m->id, &p, NULL);
	poll_free(&p);
	return rc;
}
