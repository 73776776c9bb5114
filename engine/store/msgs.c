/* msgs: one message, its chat, its sender and its event (see msgs.h). */
#include "engine/store/msgs.h"
#include "engine/store/msgs_held.h"
#include "fcgi/db.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa/mediacrypto.h"
#include "wa_e2e.pb-c.h"
#include "wa_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char SQL_MSG[] =
	"INSERT INTO messages (wa_session_id, remote_jid, message_id, from_me, sender_jid, push_name, type, "
	"content, caption, media_mime, media_size, raw, quoted_id, mentions, meta, status, timestamp) "
	"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?)) "
	"ON DUPLICATE KEY UPDATE id = id";
static const char SQL_CHAT[] =
	"INSERT INTO chats (wa_session_id, jid, is_group, unread_count, last_message_at) "
	"VALUES (?, ?, ?, ?, FROM_UNIXTIME(?)) ON DUPLICATE KEY UPDATE "
	"unread_count = unread_count + VALUES(unread_count), "
	"last_message_at = GREATEST(COALESCE(last_message_at, VALUES(last_message_at)), VALUES(last_message_at))";
static const char SQL_CONTACT[] =
	"INSERT INTO contacts (wa_session_id, jid, notify) VALUES (?, ?, ?) "
	"ON DUPLICATE KEY UPDATE notify = VALUES(notify)";
static const char SQL_OUTBOX[] =
	"INSERT INTO events_outbox (wa_session_id, event, payload) VALUES (?, ?, ?)";

/* The message inside the wrappers (msgs.h), or m itself. */
static const WaE2E__Message *unwrap(const WaE2E__Message *m, int *view_once)
{
	for (int depth = 0; m && depth < 6; depth++) {
		const WaE2E__FutureProofMessage *w = m->devicesentmessage && m->devicesentmessage->message ? NULL :
						      m->ephemeralmessage ? m->ephemeralmessage :
						      m->viewoncemessage ? m->viewoncemessage :
						      m->viewoncemessagev2 ? m->viewoncemessagev2 :
						      m->viewoncemessagev2extension ? m->viewoncemessagev2extension :
						      m->documentwithcaptionmessage ? m->documentwithcaptionmessage :
						      m->lottiestickermessage ? m->lottiestickermessage : NULL;

		if (m->devicesentmessage && m->devicesentmessage->message) {
			m = m->devicesentmessage->message;
			continue;
		}
		if (!w || !w->message)
			return m;
		if (view_once && (w == m->viewoncemessage || w == m->viewoncemessagev2 ||
				  w == m->viewoncemessagev2extension))
			*view_once = 1;
		m = w->message;
	}
	return m;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

static void take_ctx(struct wa_msg_content *c, const WaE2E__ContextInfo *ci)
{
	c->ctx = ci;
	if (ci && nonempty(ci->stanzaid)) {
		c->quoted_id = ci->stanzaid;
		c->quoted_participant = nonempty(ci->participant);
	}
}

/* Is there anything in m beyond what is no message of its own (a sender
 * key, the messageContextInfo, a protocol message)? Unknown fields count:
 * protobuf-c keeps and packs them. */
static int has_other_content(const WaE2E__Message *m)
{
	WaE2E__Message rest = *m;

	rest.senderkeydistributionmessage = NULL;
	rest.fastratchetkeysenderkeydistributionmessage = NULL;
	rest.messagecontextinfo = NULL;
	rest.protocolmessage = NULL;
	return wa_e2_e__message__get_packed_size(&rest) > 0;
}

#define MEDIA_INTO(c, x, t)                                                         \
	do {                                                                        \
		(c)->type = (t);                                                    \
		(c)->mime = nonempty((x)->mimetype);                                \
		(c)->size = (x)->has_filelength ? (x)->filelength : 0;             \
		take_ctx((c), (x)->contextinfo);                                    \
	} while (0)

int wa_msgs_content(const struct WaE2E__Message *in, struct wa_msg_content *c)
{
	const WaE2E__Message *m;
	int vo = 0;

	memset(c, 0, sizeof *c);
	if (!in)
		return -1;
	m = unwrap(in, &vo);
	c->m = m;
	c->view_once = vo;
	c->kind = WA_MSGK_ROW;
	if (m->conversation) {
		c->type = "TEXT";
		c->text = m->conversation;
	} else if (m->extendedtextmessage) {
		c->type = "TEXT";
		c->text = m->extendedtextmessage->text ? m->extendedtextmessage->text : "";
		take_ctx(c, m->extendedtextmessage->contextinfo);
	} else if (m->imagemessage) {
		MEDIA_INTO(c, m->imagemessage, "IMAGE");
		c->caption = nonempty(m->imagemessage->caption);
	} else if (m->videomessage || m->ptvmessage) {
		const WaE2E__VideoMessage *v = m->videomessage ? m->videomessage : m->ptvmessage;

		MEDIA_INTO(c, v, "VIDEO");
		c->caption = nonempty(v->caption);
	} else if (m->audiomessage) {
		MEDIA_INTO(c, m->audiomessage, "AUDIO");
	} else if (m->documentmessage) {
		MEDIA_INTO(c, m->documentmessage, "DOCUMENT");
		c->caption = nonempty(m->documentmessage->caption);
		c->text = c->caption ? c->caption : nonempty(m->documentmessage->filename) ?
			  m->documentmessage->filename : nonempty(m->documentmessage->title);
		return 0;
	} else if (m->stickermessage) {
		MEDIA_INTO(c, m->stickermessage, "STICKER");
	} else if (m->locationmessage) {
		c->type = "LOCATION";
		c->text = nonempty(m->locationmessage->name) ? m->locationmessage->name :
			  nonempty(m->locationmessage->address);
		take_ctx(c, m->locationmessage->contextinfo);
	} else if (m->livelocationmessage) {
		c->type = "LOCATION";
		c->text = nonempty(m->livelocationmessage->caption);
		take_ctx(c, m->livelocationmessage->contextinfo);
	} else if (m->contactmessage) {
		c->type = "CONTACT";
		c->text = nonempty(m->contactmessage->displayname);
		take_ctx(c, m->contactmessage->contextinfo);
	} else if (m->contactsarraymessage) {
		c->type = "CONTACT";
		c->text = nonempty(m->contactsarraymessage->displayname);
		if (!c->text && m->contactsarraymessage->n_contacts && m->contactsarraymessage->contacts[0])
			c->text = nonempty(m->contactsarraymessage->contacts[0]->displayname);
		take_ctx(c, m->contactsarraymessage->contextinfo);
	} else if (m->pollcreationmessage || m->pollcreationmessagev2 || m->pollcreationmessagev3) {
		const WaE2E__PollCreationMessage *p = m->pollcreationmessage ? m->pollcreationmessage :
						      m->pollcreationmessagev2 ? m->pollcreationmessagev2 :
						      m->pollcreationmessagev3;

		c->type = "POLL";
		c->text = nonempty(p->name);
		take_ctx(c, p->contextinfo);
	} else if (m->reactionmessage) {
		if (!m->reactionmessage->key || !nonempty(m->reactionmessage->key->id))
			goto unknown;
		c->kind = WA_MSGK_REACTION;
		c->type = "REACTION";
		c->text = m->reactionmessage->text ? m->reactionmessage->text : "";
		c->reaction = m->reactionmessage;
		return 0;
	} else if (m->pollupdatemessage) {
		if (!m->pollupdatemessage->pollcreationmessagekey || !nonempty(m->pollupdatemessage->pollcreationmessagekey->id) ||
		    !m->pollupdatemessage->vote)
			goto unknown;
		c->kind = WA_MSGK_POLL_VOTE;
		c->type = "POLL_VOTE";
		c->vote = m->pollupdatemessage;
		return 0;
	} else if (m->groupinvitemessage) {
		c->type = "UNKNOWN";
		c->text = nonempty(m->groupinvitemessage->caption) ? m->groupinvitemessage->caption :
			  nonempty(m->groupinvitemessage->groupname);
		take_ctx(c, m->groupinvitemessage->contextinfo);
	} else if (m->eventmessage) {
		c->type = "UNKNOWN";
		c->text = nonempty(m->eventmessage->name);
		take_ctx(c, m->eventmessage->contextinfo);
	} else {
		goto unknown;
	}
	if (!c->text && c->caption)
		c->text = c->caption;
	return 0;
unknown:
	/* edits and revokes are protocol messages, handled on their own */
	if (m->editedmessage || !has_other_content(m))
		return -1;
	c->type = "UNKNOWN";
	return 0;
}

/* ---- the kind's own fields (msgs.h) ---- */

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v && *v) {
		char *fixed = wa_utf8_valid(v) ? NULL : wa_utf8_repair(v);

		json_object_set_new(o, k, json_string(fixed ? fixed : v));
		free(fixed);
	}
}

static json_t *contact_json(const WaE2E__ContactMessage *cm)
{
	json_t *o = json_object();

	if (o && cm) {
		set_str(o, "displayName", cm->displayname);
		set_str(o, "vcard", cm->vcard);
	}
	return o;
}

char *wa_msgs_meta(const struct wa_msg_content *c, int *err)
{
	const WaE2E__Message *m = c->m;
	json_t *o = json_object(), *x;
	char *out = NULL;

	*err = 0;
	if (!o) {
		*err = 1;
		return NULL;
	}
	if (!m || c->kind != WA_MSGK_ROW)
		goto done;
	if (c->view_once)
		json_object_set_new(o, "viewOnce", json_true());
	if (c->ctx && c->ctx->has_isforwarded && c->ctx->isforwarded)
		json_object_set_new(o, "forwarded", json_true());
	if (c->quoted_participant)
		set_str(o, "quotedParticipant", c->quoted_participant);
	if (m->extendedtextmessage) {
		const WaE2E__ExtendedTextMessage *e = m->extendedtextmessage;

		if (nonempty(e->matchedtext) || nonempty(e->title) || nonempty(e->description)) {
			x = json_object();
			set_str(x, "url", e->matchedtext);
			set_str(x, "title", e->title);
			set_str(x, "description", e->description);
			json_object_set_new(o, "linkPreview", x);
		}
	} else if (m->imagemessage) {
		if (m->imagemessage->has_width)
			json_object_set_new(o, "width", json_integer(m->imagemessage->width));
		if (m->imagemessage->has_height)
			json_object_set_new(o, "height", json_integer(m->imagemessage->height));
	} else if (m->videomessage || m->ptvmessage) {
		const WaE2E__VideoMessage *v = m->videomessage ? m->videomessage : m->ptvmessage;

		if (v->has_seconds)
			json_object_set_new(o, "seconds", json_integer(v->seconds));
		if (v->has_gifplayback && v->gifplayback)
			json_object_set_new(o, "gif", json_true());
		if (m->ptvmessage)
			json_object_set_new(o, "ptv", json_true());
	} else if (m->audiomessage) {
		json_object_set_new(o, "ptt", json_boolean(m->audiomessage->has_ptt && m->audiomessage->ptt));
		if (m->audiomessage->has_seconds)
			json_object_set_new(o, "seconds", json_integer(m->audiomessage->seconds));
	} else if (m->documentmessage) {
		set_str(o, "fileName", m->documentmessage->filename);
		set_str(o, "title", m->documentmessage->title);
		if (m->documentmessage->has_pagecount)
			json_object_set_new(o, "pageCount", json_integer(m->documentmessage->pagecount));
	} else if (m->stickermessage) {
		json_object_set_new(o, "animated",
				    json_boolean(m->stickermessage->has_isanimated && m->stickermessage->isanimated));
	} else if (m->locationmessage || m->livelocationmessage) {
		const WaE2E__LocationMessage *l = m->locationmessage;
		const WaE2E__LiveLocationMessage *ll = m->livelocationmessage;

		x = json_object();
		if (l) {
			json_object_set_new(x, "degreesLatitude", json_real(l->degreeslatitude));
			json_object_set_new(x, "degreesLongitude", json_real(l->degreeslongitude));
			set_str(x, "name", l->name);
			set_str(x, "address", l->address);
			set_str(x, "url", l->url);
			json_object_set_new(x, "live", json_boolean(l->has_islive && l->islive));
		} else {
			json_object_set_new(x, "degreesLatitude", json_real(ll->degreeslatitude));
			json_object_set_new(x, "degreesLongitude", json_real(ll->degreeslongitude));
			set_str(x, "caption", ll->caption);
			json_object_set_new(x, "live", json_true());
			if (ll->has_sequencenumber)
				json_object_set_new(x, "sequenceNumber", json_integer(ll->sequencenumber));
		}
		json_object_set_new(o, "location", x);
	} else if (m->contactmessage) {
		x = json_array();
		json_array_append_new(x, contact_json(m->contactmessage));
		json_object_set_new(o, "contacts", x);
	} else if (m->contactsarraymessage) {
		x = json_array();
		for (size_t i = 0; i < m->contactsarraymessage->n_contacts; i++)
			json_array_append_new(x, contact_json(m->contactsarraymessage->contacts[i]));
		json_object_set_new(o, "contacts", x);
	} else if (m->pollcreationmessage || m->pollcreationmessagev2 || m->pollcreationmessagev3) {
		const WaE2E__PollCreationMessage *p = m->pollcreationmessage ? m->pollcreationmessage :
						      m->pollcreationmessagev2 ? m->pollcreationmessagev2 :
						      m->pollcreationmessagev3;
		json_t *opts = json_array();

		x = json_object();
		set_str(x, "name", p->name);
		for (size_t i = 0; i < p->n_options; i++) {
			const char *n = p->options[i] && p->options[i]->optionname ? p->options[i]->optionname : "";
			char *fixed = wa_utf8_valid(n) ? NULL : wa_utf8_repair(n);

			json_array_append_new(opts, json_string(fixed ? fixed : n));
			free(fixed);
		}
		json_object_set_new(x, "options", opts);
		json_object_set_new(x, "selectableCount",
				    json_integer(p->has_selectableoptionscount ? p->selectableoptionscount : 0));
		json_object_set_new(x, "votes", json_object());
		json_object_set_new(x, "voters", json_object());
		json_object_set_new(o, "poll", x);
	} else if (m->groupinvitemessage) {
		x = json_object();
		set_str(x, "groupJid", m->groupinvitemessage->groupjid);
		set_str(x, "groupName", m->groupinvitemessage->groupname);
		set_str(x, "inviteCode", m->groupinvitemessage->invitecode);
		json_object_set_new(o, "groupInvite", x);
	} else if (m->eventmessage) {
		x = json_object();
		set_str(x, "name", m->eventmessage->name);
		set_str(x, "description", m->eventmessage->description);
		if (m->eventmessage->has_starttime)
			json_object_set_new(x, "startTime", json_integer(m->eventmessage->starttime));
		json_object_set_new(o, "event", x);
	}
done:
	if (json_object_size(o)) {
		out = json_dumps(o, JSON_COMPACT);
		if (!out)
			*err = 1;
	}
	json_decref(o);
	return out;
}

char *wa_msgs_mentions(const struct WaE2E__ContextInfo *ctx, int *err)
{
	json_t *a;
	char *out;

	*err = 0;
	if (!ctx || !ctx->n_mentionedjid)
		return NULL;
	if (!(a = json_array())) {
		*err = 1;
		return NULL;
	}
	for (size_t i = 0; i < ctx->n_mentionedjid && i < 1024; i++)
		if (nonempty(ctx->mentionedjid[i]) && wa_utf8_valid(ctx->mentionedjid[i]))
			json_array_append_new(a, json_string(ctx->mentionedjid[i]));
	if (!json_array_size(a)) {
		json_decref(a);
		return NULL;
	}
	out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!out)
		*err = 1;
	return out;
}

#define MEDIA_REF(md, x, t, mms)                                                                  \
	do {                                                                                      \
		(md)->mtype = (t);                                                                \
		(md)->mms_type = (mms);                                                           \
		(md)->direct_path = nonempty((x)->directpath);                                    \
		(md)->url = nonempty((x)->url);                                                   \
		(md)->media_key = (x)->has_mediakey && (x)->mediakey.len == 32 ? (x)->mediakey.data : NULL; \
		(md)->enc_sha256 = (x)->has_fileencsha256 && (x)->fileencsha256.len == 32 ?      \
				   (x)->fileencsha256.data : NULL;                                \
		(md)->sha256 = (x)->has_filesha256 && (x)->filesha256.len == 32 ? (x)->filesha256.data : NULL; \
		(md)->mime = nonempty((x)->mimetype);                                             \
		(md)->size = (x)->has_filelength ? (x)->filelength : 0;                          \
	} while (0)

int wa_msgs_media(const struct WaE2E__Message *in, struct wa_msg_media *md)
{
	const WaE2E__Message *m = in ? unwrap(in, NULL) : NULL;

	memset(md, 0, sizeof *md);
	if (!m)
		return -1;
	if (m->imagemessage)
		MEDIA_REF(md, m->imagemessage, WA_MEDIA_IMAGE, "image");
	else if (m->videomessage)
		MEDIA_REF(md, m->videomessage, m->videomessage->has_gifplayback && m->videomessage->gifplayback ?
					       WA_MEDIA_GIF : WA_MEDIA_VIDEO, "video");
	else if (m->ptvmessage)
		MEDIA_REF(md, m->ptvmessage, WA_MEDIA_PTV, "video");
	else if (m->audiomessage)
		MEDIA_REF(md, m->audiomessage, m->audiomessage->has_ptt && m->audiomessage->ptt ? WA_MEDIA_PTT :
					       WA_MEDIA_AUDIO, "audio");
	else if (m->documentmessage) {
		MEDIA_REF(md, m->documentmessage, WA_MEDIA_DOCUMENT, "document");
		md->file_name = nonempty(m->documentmessage->filename);
	} else if (m->stickermessage)
		MEDIA_REF(md, m->stickermessage, WA_MEDIA_STICKER, "image");
	else
		return -1;
	return md->media_key && (md->direct_path || md->url) ? 0 : -1;
}

int wa_outbox_add(struct wa_db *db, uint64_t row, const char *event, const char *payload, uint64_t *id)
{
	if (wa_db_exec(db, SQL_OUTBOX, "uss", (unsigned long long)row, event, payload) < 0)
		return WA_ESTORAGE;
	if (id)
		*id = db->last_insert_id;
	return 0;
}

/* ---- outbox rows held back to the commit (see msgs.h) ---- */

struct later_row {
	unsigned long long sess;
	char *event, *payload;
	uint64_t *id;
};

struct later {
	struct later_row *rows;
	size_t n, cap;
};

/* 1: multi-row INSERTs give consecutive ids (innodb_autoinc_lock_mode 0
 * or 1), -1: they may not, 0: not known yet. With the id step
 * (auto_increment_increment). Read once per process. */
static int later_multirow;
static unsigned long long later_step = 1;

static void later_free(void *arg)
{
	struct later *l = arg;

	for (size_t i = 0; i < l->n; i++) {
		free(l->rows[i].event);
		free(l->rows[i].payload);
	}
	free(l->rows);
	free(l);
}

static int later_mode(struct wa_db *db)
{
	int mode = __atomic_load_n(&later_multirow, __ATOMIC_ACQUIRE);
	json_t *row;
	long long lock, step;
	int err = 0;

	if (mode)
		return mode;
	row = wa_db_row(db, &err, "SELECT @@innodb_autoinc_lock_mode AS lockmode, @@auto_increment_increment AS step",
			"");
	if (!row)
		return -1; /* not known: one row per INSERT, asked again next time */
	lock = json_integer_value(json_object_get(row, "lockmode"));
	step = json_integer_value(json_object_get(row, "step"));
	json_decref(row);
	mode = lock == 2 || step < 1 ? -1 : 1;
	if (mode < 0)
		wa_info("innodb_autoinc_lock_mode %lld: outbox rows are written one per statement", lock);
	__atomic_store_n(&later_step, (unsigned long long)(step < 1 ? 1 : step), __ATOMIC_RELAXED);
	__atomic_store_n(&later_multirow, mode, __ATOMIC_RELEASE);
	return mode;
}

#define OB_ROW "(?, ?, ?)"
#define OB_INS "INSERT INTO events_outbox (wa_session_id, event, payload) VALUES "
#define OB_ARGS(r, k) (r)[k].sess, (r)[k].event, (r)[k].payload

/* rows r[0..n) (n = 8, 4, 2 or 1) in one INSERT; their ids from the first. */
static int later_insert(struct wa_db *db, struct later_row *r, size_t n, unsigned long long step)
{
	static const char sql8[] = OB_INS OB_ROW ", " OB_ROW ", " OB_ROW ", " OB_ROW ", " OB_ROW ", " OB_ROW ", "
		OB_ROW ", " OB_ROW;
	static const char sql4[] = OB_INS OB_ROW ", " OB_ROW ", " OB_ROW ", " OB_ROW;
	static const char sql2[] = OB_INS OB_ROW ", " OB_ROW;
	long long k;

	if (n == 8)
		k = wa_db_exec(db, sql8, "ussussussussussussussuss", OB_ARGS(r, 0), OB_ARGS(r, 1), OB_ARGS(r, 2),
			       OB_ARGS(r, 3), OB_ARGS(r, 4), OB_ARGS(r, 5), OB_ARGS(r, 6), OB_ARGS(r, 7));
	else if (n == 4)
		k = wa_db_exec(db, sql4, "ussussussuss", OB_ARGS(r, 0), OB_ARGS(r, 1), OB_ARGS(r, 2), OB_ARGS(r, 3));
	else if (n == 2)
		k = wa_db_exec(db, sql2, "ussuss", OB_ARGS(r, 0), OB_ARGS(r, 1));
	else
		k = wa_db_exec(db, SQL_OUTBOX, "uss", OB_ARGS(r, 0));
	if (k != (long long)n)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (r[i].id)
			*r[i].id = db->last_insert_id + i * step;
	return 0;
}

static int later_flush(struct wa_db *db, void *arg)
{
	struct later *l = arg;
	int multi = l->n > 1 ? later_mode(db) : -1;
	unsigned long long step = __atomic_load_n(&later_step, __ATOMIC_RELAXED);
	size_t i = 0;

	while (i < l->n) {
		size_t left = l->n - i, n = multi < 0 ? 1 : left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;

		if (later_insert(db, l->rows + i, n, step) != 0)
			return -1;
		i += n;
	}
	return 0;
}

int wa_outbox_add_later(struct wa_db *db, uint64_t row, const char *event, const char *payload, uint64_t *id)
{
	struct later *l;
	struct later_row *r;

	if (id)
		*id = 0;
	if (!wa_db_in_txn(db) || !(l = wa_db_at_commit_obj(db, later_flush, later_free, sizeof *l, 0)))
		return wa_outbox_add(db, row, event, payload, id);
	if (wa_grow(&l->rows, &l->cap, l->n, sizeof *l->rows, 8) != 0)
		return WA_ENOMEM;
	r = &l->rows[l->n];
	r->sess = (unsigned long long)row;
	r->event = strdup(event);
	r->payload = strdup(payload);
	r->id = id;
	if (!r->event || !r->payload) {
		free(r->event);
		free(r->payload);
		return WA_ENOMEM;
	}
	l->n++;
	return 0;
}

/* The network's strings of m (text, push name, ids) are bytes: what is not
 * UTF-8 would make both the JSON event and the utf8mb4 row fail, and the
 * message be offered again forever. *fix is m with those strings repaired
 * (U+FFFD), pointing into m or into own[] (free each). -1: out of memory. */
#define ROW_STRINGS 10
static int row_utf8(const struct wa_msg_row *m, struct wa_msg_row *fix, char *own[ROW_STRINGS])
{
	const char **f[ROW_STRINGS] = { &fix->chat, &fix->id, &fix->sender, &fix->push_name, &fix->type,
					&fix->content, &fix->quoted_id, &fix->mentions, &fix->caption,
					&fix->media_mime };
	int i;

	*fix = *m;
	for (i = 0; i < ROW_STRINGS; i++)
		own[i] = NULL;
	for (i = 0; i < ROW_STRINGS; i++) {
		if (*f[i] && !wa_utf8_valid(*f[i])) {
			if ((own[i] = wa_utf8_repair(*f[i])) == NULL)
				return -1;
			*f[i] = own[i];
		}
	}
	return 0;
}

static void row_utf8_free(char *own[ROW_STRINGS])
{
	for (int i = 0; i < ROW_STRINGS; i++)
		free(own[i]);
}

char *wa_msgs_event_payload(const char *slug, const struct wa_msg_row *raw)
{
	struct wa_msg_row row, *m = &row;
	char *own[ROW_STRINGS];
	time_t tt = (time_t)raw->t;
	char when[32];
	struct tm tm;
	json_t *o;
	char *out;

	if (row_utf8(raw, &row, own) != 0) {
		row_utf8_free(own);
		return NULL;
	}
	gmtime_r(&tt, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	o = json_pack("{s:s,s:{s:s,s:b,s:s},s:s,s:s,s:b,s:s*,s:s*,s:s,s:s*,s:s,s:I}", "sessionId", slug, "key",
		      "remoteJid", m->chat, "fromMe", m->from_me, "id", m->id, "id", m->id, "remoteJid", m->chat,
		      "fromMe", m->from_me, "sender", m->sender, "pushName", m->push_name, "type", m->type,
		      "content", m->content, "timestamp", when, "messageTimestamp", (json_int_t)m->t);
	if (!o) {
		row_utf8_free(own);
		return NULL;
	}
	if (m->quoted_id)
		json_object_set_new(o, "quotedId", json_string(m->quoted_id));
	if (m->sender_pn)
		json_object_set_new(o, "senderPn", json_string(m->sender_pn));
	if (m->caption)
		json_object_set_new(o, "caption", json_string(m->caption));
	if (m->media_mime) {
		json_object_set_new(o, "mimetype", json_string(m->media_mime));
		json_object_set_new(o, "fileLength", json_integer((json_int_t)m->media_size));
		json_object_set_new(o, "hasMedia", json_true());
	}
	if (m->meta) {
		json_t *meta = json_loads(m->meta, 0, NULL);

		if (json_is_object(meta))
			json_object_set_new(o, "meta", meta);
		else
			json_decref(meta);
	}
	if (m->mentions) {
		json_t *arr = json_loads(m->mentions, 0, NULL);

		if (json_is_array(arr))
			json_object_set_new(o, "mentions", arr);
		else
			json_decref(arr);
	}
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	row_utf8_free(own);
	return out;
}

static int store_row(struct wa_db *db, uint64_t row, const struct wa_msg_row *m, uint64_t *outbox_id)
{
	unsigned long long sid = (unsigned long long)row;
	long long n;
	int is_group = m->chat && strstr(m->chat, "@g.us") != NULL;
	char size_str[24];

	n = m->row_later && m->from_me && !m->history ? wa_held_msg(db, row, m) : 0;
	if (n < 0)
		return (int)n;
	if (n == 0) {
		snprintf(size_str, sizeof size_str, "%llu", (unsigned long long)m->media_size);
		n = wa_db_exec(db, SQL_MSG, "ussbsssssssxssssi", sid, m->chat, m->id, m->from_me, m->sender,
			       m->push_name, m->type, m->content, m->caption, m->media_mime,
			       m->media_size ? size_str : NULL, (const void *)m->raw, m->raw_len, m->quoted_id,
			       m->mentions, m->meta, m->status, (long long)m->t);
		if (n < 0)
			return wa_db_err(db) == WA_ENOMEM ? WA_ENOMEM : WA_ESTORAGE;
		if (n == 0)
			return WA_ECONFLICT; /* already stored: "ON DUPLICATE ... id = id" changes nothing */
	}
	if (!m->history) {
		long long unread = m->from_me ? 0 : 1;
		int held = wa_held_chat(db, row, m->chat, is_group, unread, m->t);

		if (held < 0)
			return held;
		if (held == 0 && wa_db_exec(db, SQL_CHAT, "usbii", sid, m->chat, is_group, unread, (long long)m->t) < 0)
			return WA_ESTORAGE;
	}
	if (!m->from_me && m->sender && m->push_name && *m->push_name &&
	    wa_db_exec(db, SQL_CONTACT, "uss", sid, m->sender, m->push_name) < 0)
		return WA_ESTORAGE;
	*outbox_id = 0;
	if (!m->event)
		return 0;
	if (m->event_later)
		return wa_outbox_add_later(db, row, m->event, m->payload, outbox_id);
	return wa_outbox_add(db, row, m->event, m->payload, outbox_id);
}

/* ---- edits and revokes (see msgs.h) ---- */

static const char SQL_UPD_ADD[] =
	"INSERT INTO message_updates (wa_session_id, update_id, target_id, remote_jid, sender_jid, from_me, kind, "
	"by_admin, target_sender, content, t_ms, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) "
	"ON DUPLICATE KEY UPDATE state = state";
static const char SQL_UPD_TARGET[] =
	"SELECT remote_jid, from_me, sender_jid, deleted FROM messages WHERE wa_session_id = ? AND message_id = ? "
	"FOR UPDATE";
static const char SQL_UPD_NEWER[] =
	"SELECT COUNT(*) FROM message_updates WHERE wa_session_id = ? AND target_id = ? AND kind = 'EDIT' "
	"AND state = 1 AND t_ms > ? AND update_id <> ?";
static const char SQL_UPD_STATE[] =
	"UPDATE message_updates SET state = ? WHERE wa_session_id = ? AND update_id = ?";
static const char SQL_UPD_EDIT[] =
	"UPDATE messages SET content = COALESCE(?, content), caption = IF(caption IS NULL, NULL, COALESCE(?, caption)), "
	"edited = 1 WHERE wa_session_id = ? AND message_id = ?";
static const char SQL_UPD_REVOKE[] =
	"UPDATE messages SET content = NULL, caption = NULL, deleted = 1 WHERE wa_session_id = ? AND message_id = ?";
static const char SQL_UPD_PENDING[] =
	"SELECT update_id, remote_jid, sender_jid, from_me, kind, by_admin, target_sender, content, t_ms "
	"FROM message_updates WHERE wa_session_id = ? AND target_id = ? AND state = 0 ORDER BY t_ms, update_id";

/* The stored message an update is for. */
struct upd_target {
	const char *chat;
	int from_me;
	const char *sender;
	int deleted;
};

static int same_str(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* May u change t? (msgs.h: the rules) */
static enum wa_msg_upd_state upd_judge(const struct wa_msg_update *u, const struct upd_target *t)
{
	int own;

	if (!same_str(t->chat, u->chat))
		return WA_MSGUPD_REFUSED;
	own = u->from_me ? t->from_me : !t->from_me && same_str(t->sender, u->sender);
	if (!own && !(u->revoke && u->by_admin && strstr(t->chat, "@g.us") &&
		      (!u->target_sender || t->from_me || same_str(u->target_sender, t->sender))))
		return WA_MSGUPD_REFUSED;
	return t->deleted ? WA_MSGUPD_NOCHANGE : WA_MSGUPD_APPLIED;
}

static json_t *upd_payload(const char *slug, const struct wa_msg_update *u, const struct upd_target *t)
{
	time_t tt = (time_t)(u->t_ms / 1000);
	char when[32];
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof when - strlen(when), ".%03dZ", (int)(u->t_ms % 1000));
	if (u->revoke)
		return json_pack("{s:s,s:{s:s,s:b,s:s},s:s,s:s,s:b,s:s*,s:s,s:s*,s:b,s:s,s:I}", "sessionId", slug, "key",
				 "remoteJid", t->chat, "fromMe", t->from_me, "id", u->target, "id", u->target,
				 "remoteJid", t->chat, "fromMe", t->from_me, "sender", t->from_me ? NULL : t->sender,
				 "deleteId", u->id, "deletedBy", u->from_me ? NULL : u->sender, "byAdmin",
				 !u->from_me ? !same_str(u->sender, t->sender) || t->from_me : !t->from_me, "timestamp",
				 when, "messageTimestamp", (json_int_t)(u->t_ms / 1000));
	return json_pack("{s:s,s:{s:s,s:b,s:s},s:s,s:s,s:b,s:s*,s:s,s:s,s:s*,s:s,s:I}", "sessionId", slug, "key",
			 "remoteJid", t->chat, "fromMe", t->from_me, "id", u->target, "id", u->target, "remoteJid",
			 t->chat, "fromMe", t->from_me, "sender", t->from_me ? NULL : t->sender, "editId", u->id, "type",
			 "TEXT", "content", u->content, "timestamp", when, "messageTimestamp",
			 (json_int_t)(u->t_ms / 1000));
}

static int upd_set_state(struct wa_db *db, uint64_t row, const char *id, enum wa_msg_upd_state st)
{
	return wa_db_exec(db, SQL_UPD_STATE, "ius", (long long)st, (unsigned long long)row, id) < 0 ? WA_ESTORAGE : 0;
}

/* Apply u to t (judged APPLIED) and write its event; *state may turn
 * NOCHANGE (a newer edit is there). */
static int upd_apply(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_update *u,
		     const struct upd_target *t, enum wa_msg_upd_state *state, struct wa_msg_upd_event *ev)
{
	unsigned long long sid = (unsigned long long)row;
	json_t *o;
	long long n;
	int rc;

	if (!u->revoke) {
		n = wa_db_int(db, -1, SQL_UPD_NEWER, "usis", sid, u->target, (long long)u->t_ms, u->id);
		if (n < 0)
			return WA_ESTORAGE;
		if (n > 0) {
			*state = WA_MSGUPD_NOCHANGE;
			return upd_set_state(db, row, u->id, *state);
		}
	}
	if ((u->revoke ? wa_db_exec(db, SQL_UPD_REVOKE, "us", sid, u->target) :
			 wa_db_exec(db, SQL_UPD_EDIT, "ssus", u->content, u->content, sid, u->target)) < 0)
		return WA_ESTORAGE;
	if ((rc = upd_set_state(db, row, u->id, WA_MSGUPD_APPLIED)) != 0)
		return rc;
	*state = WA_MSGUPD_APPLIED;
	o = upd_payload(slug, u, t);
	ev->payload = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!ev->payload)
		return WA_ENOMEM;
	ev->event = u->revoke ? "message.deleted" : "message.edited";
	ev->t_ms = u->t_ms;
	return wa_outbox_add_later(db, row, ev->event, ev->payload, &ev->outbox_id);
}

static int update_valid(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_update *u,
			enum wa_msg_upd_state *state, struct wa_msg_upd_event *ev);

/* The edit's text, like a message's, is stored and published valid UTF-8
 * (a bad byte as U+FFFD), or it could never be stored. */
int wa_msgs_update(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_update *raw,
		   enum wa_msg_upd_state *state, struct wa_msg_upd_event *ev)
{
	struct wa_msg_update u = *raw;
	char *fixed = NULL;
	int rc;

	if (u.content && !wa_utf8_valid(u.content)) {
		if (!(fixed = wa_utf8_repair(u.content))) {
			memset(ev, 0, sizeof *ev);
			return WA_ENOMEM;
		}
		u.content = fixed;
	}
	rc = update_valid(db, row, slug, &u, state, ev);
	free(fixed);
	return rc;
}

static int update_valid(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_update *u,
			enum wa_msg_upd_state *state, struct wa_msg_upd_event *ev)
{
	unsigned long long sid = (unsigned long long)row;
	struct upd_target t;
	json_t *r;
	long long n;
	int err = 0, rc;

	memset(ev, 0, sizeof *ev);
	*state = WA_MSGUPD_PENDING;
	n = wa_db_exec(db, SQL_UPD_ADD, "ussssbsbssi", sid, u->id, u->target, u->chat, u->sender, u->from_me,
		       u->revoke ? "REVOKE" : "EDIT", u->by_admin, u->target_sender, u->content, (long long)u->t_ms);
	if (n < 0)
		return wa_db_err(db) == WA_ENOMEM ? WA_ENOMEM : WA_ESTORAGE;
	if (n == 0)
		return WA_ECONFLICT;
	r = wa_db_row(db, &err, SQL_UPD_TARGET, "us", sid, u->target);
	if (!r)
		return err ? WA_ESTORAGE : 0; /* not stored (yet): the record waits */
	t.chat = json_string_value(json_object_get(r, "remote_jid"));
	t.from_me = json_is_true(json_object_get(r, "from_me"));
	t.sender = json_string_value(json_object_get(r, "sender_jid"));
	t.deleted = json_is_true(json_object_get(r, "deleted"));
	*state = upd_judge(u, &t);
	rc = *state == WA_MSGUPD_APPLIED ? upd_apply(db, row, slug, u, &t, state, ev) :
					   upd_set_state(db, row, u->id, *state);
	json_decref(r);
	return rc;
}

int wa_msgs_apply_pending(struct wa_db *db, uint64_t row, const char *slug, const struct wa_msg_row *m,
			  struct wa_msg_upd_event *ev)
{
	struct upd_target t = { m->chat, m->from_me, m->sender, 0 };
	struct wa_msg_update u, pick;
	enum wa_msg_upd_state st;
	json_t *rows, *r;
	size_t i, npick = 0;
	int rc = 0;

	memset(ev, 0, sizeof *ev);
	rows = wa_db_query(db, SQL_UPD_PENDING, "us", (unsigned long long)row, m->id);
	if (!rows)
		return WA_ESTORAGE;
	/* oldest first: the last allowed edit is the newest; a revoke wins */
	json_array_foreach(rows, i, r) {
		memset(&u, 0, sizeof u);
		u.id = json_string_value(json_object_get(r, "update_id"));
		u.target = m->id;
		u.chat = json_string_value(json_object_get(r, "remote_jid"));
		u.sender = json_string_value(json_object_get(r, "sender_jid"));
		u.from_me = json_is_true(json_object_get(r, "from_me"));
		u.revoke = same_str(json_string_value(json_object_get(r, "kind")), "REVOKE");
		u.by_admin = json_is_true(json_object_get(r, "by_admin"));
		u.target_sender = json_string_value(json_object_get(r, "target_sender"));
		u.content = json_string_value(json_object_get(r, "content"));
		u.t_ms = json_integer_value(json_object_get(r, "t_ms"));
		if (!u.id)
			continue;
		st = upd_judge(&u, &t);
		if (st == WA_MSGUPD_APPLIED && (!npick || !pick.revoke)) {
			if (npick && (rc = upd_set_state(db, row, pick.id, WA_MSGUPD_NOCHANGE)) != 0)
				break;
			pick = u;
			npick = 1;
			continue;
		}
		if ((rc = upd_set_state(db, row, u.id, st == WA_MSGUPD_APPLIED ? WA_MSGUPD_NOCHANGE : st)) != 0)
			break;
	}
	if (rc == 0 && npick)
		rc = upd_apply(db, row, slug, &pick, &t, &st, ev);
	json_decref(rows);
	return rc;
}

static const WaE2E__ProtocolMessage *edit_or_revoke_at(const WaE2E__Message *m, int depth)
{
	const WaE2E__ProtocolMessage *pm;

	if (!m || depth > 4)
		return NULL;
	pm = m->protocolmessage;
	if (pm && pm->key && pm->key->id && *pm->key->id &&
	    (!pm->has_type || pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__REVOKE ||
	     pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT))
		return pm;
	if (m->editedmessage && m->editedmessage->message)
		return edit_or_revoke_at(m->editedmessage->message, depth + 1);
	if (m->ephemeralmessage && m->ephemeralmessage->message)
		return edit_or_revoke_at(m->ephemeralmessage->message, depth + 1);
	return NULL;
}

const WaE2E__ProtocolMessage *wa_msgs_edit_or_revoke(const WaE2E__Message *m)
{
	return edit_or_revoke_at(m, 0);
}

int wa_msgs_store(struct wa_db *db, uint64_t row, const struct wa_msg_row *raw, uint64_t *outbox_id)
{
	struct wa_msg_row fixed;
	char *own[ROW_STRINGS];
	int rc = row_utf8(raw, &fixed, own) != 0 ? WA_ENOMEM : store_row(db, row, &fixed, outbox_id);

	row_utf8_free(own);
	return rc;
}
