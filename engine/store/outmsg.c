/* outmsg: the API's message object as a WaE2E.Message (see outmsg.h). */
#include "engine/media.h"
#include "engine/store/outmsg.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"
#include "wa_util.h"

#include <stdlib.h>
#include <string.h>

#define QUOTED_ID_MAX 128

static const char SQL_QUOTED[] =
	"SELECT remote_jid AS chat, from_me AS fromMe, sender_jid AS sender, content "
	"FROM messages WHERE wa_session_id = ? AND message_id = ?";

void wa_out_free(struct wa_out *o)
{
	for (size_t i = 0; o->mentions && i < o->nmentions; i++)
		free(o->mentions[i]);
	free(o->mentions);
	free(o->text);
	free(o->quoted_id);
	free(o->mentions_json);
	free(o->quoted_chat);
	free(o->quoted_participant);
	free(o->caption);
	free(o->media_mime);
	free(o->file_name);
	wa_media_job_free(o->media);
	if (o->msg)
		wa_e2_e__message__free_unpacked(o->msg, NULL);
	memset(o, 0, sizeof *o);
}

/* Add one mention (normalised, once). 0, 400 (why set) or -1 (no memory). */
static int add_mention(struct wa_out *o, const json_t *v, const char **why)
{
	char buf[WA_JID_STR_MAX];
	struct wa_jid j;
	char **grown;

	if (!json_is_string(v) || wa_jid_parse(json_string_value(v), &j, NULL) != 0 || !wa_jid_is_user(&j)) {
		*why = "'mentions' must be user JIDs (…@s.whatsapp.net or …@lid)";
		return 400;
	}
	wa_jid_to_non_ad(&j);
	if (wa_jid_format(&j, buf, sizeof buf) < 0) {
		*why = "'mentions' must be user JIDs (…@s.whatsapp.net or …@lid)";
		return 400;
	}
	for (size_t i = 0; i < o->nmentions; i++)
		if (strcmp(o->mentions[i], buf) == 0)
			return 0;
	if (o->nmentions >= WA_OUT_MENTIONS_MAX) {
		*why = "At most 1024 mentions per message";
		return 400;
	}
	grown = realloc(o->mentions, (o->nmentions + 1) * sizeof *grown);
	if (!grown)
		return -1;
	o->mentions = grown;
	if (!(o->mentions[o->nmentions] = strdup(buf)))
		return -1;
	o->nmentions++;
	return 0;
}

static int add_mentions(struct wa_out *o, const json_t *arr, const char **why)
{
	size_t i;
	json_t *v;
	int rc;

	if (!arr)
		return 0;
	if (!json_is_array(arr)) {
		*why = "'mentions' must be an array of JIDs";
		return 400;
	}
	json_array_foreach(arr, i, v)
		if ((rc = add_mention(o, v, why)) != 0)
			return rc;
	return 0;
}

int wa_out_parse(struct wa_out *o, const json_t *args, const char **why, const char **code)
{
	const json_t *msg = json_object_get(args, "message"), *qid = json_object_get(args, "messageId");
	const char *text = NULL, *k;
	json_t *v;
	int rc;

	memset(o, 0, sizeof *o);
	*code = "validation_error";
	if (wa_out_is_media(msg)) {
		if ((rc = wa_out_parse_media(o, msg, why, code)) != 0) {
			wa_out_free(o);
			return rc;
		}
		text = NULL;
	} else if (json_is_string(msg)) {
		text = json_string_value(msg);
	} else if (json_is_object(msg)) {
		json_object_foreach((json_t *)msg, k, v) {
			if (strcmp(k, "text") == 0) {
				if (!json_is_string(v)) {
					*why = "'message.text' must be a string";
					return 400;
				}
				text = json_string_value(v);
			} else if (strcmp(k, "mentions") != 0) {
				*why = "This engine does not send media and other message kinds yet: only text "
				       "({\"message\": {\"text\": ...}}, with mentions and replies)";
				*code = "not_implemented";
				return 501;
			}
		}
	} else {
		*why = "'message' must be a string or an object";
		return 400;
	}
	if (!text && !o->media) {
		*why = "'message.text' is required";
		return 400;
	}
	if (text && (!*text || strlen(text) > WA_OUT_TEXT_MAX)) {
		*why = "'message.text' must be 1 to 65536 bytes";
		return 400;
	}
	if (qid && (!json_is_string(qid) || !*json_string_value(qid) ||
		    strlen(json_string_value(qid)) > QUOTED_ID_MAX)) {
		*why = "'messageId' must be the id of a message (1 to 128 characters)";
		wa_out_free(o);
		return 400;
	}
	rc = add_mentions(o, json_object_get(args, "mentions"), why);
	if (rc == 0 && json_is_object(msg))
		rc = add_mentions(o, json_object_get(msg, "mentions"), why);
	if (rc == 0 && ((text && !(o->text = strdup(text))) ||
			(qid && !(o->quoted_id = strdup(json_string_value(qid))))))
		rc = -1;
	if (rc < 0) {
		*why = "Out of memory";
		*code = "internal_error";
		rc = 500;
	}
	if (rc != 0)
		wa_out_free(o);
	return rc;
}

int wa_out_from_row(struct wa_out *o, const char *content, const char *quoted_id, const char *mentions_json)
{
	const char *why;
	json_t *arr = NULL;
	int rc = 0;

	memset(o, 0, sizeof *o);
	if (mentions_json && !(arr = json_loads(mentions_json, 0, NULL)))
		arr = NULL; /* unreadable: sent without mentions */
	if (!(o->text = strdup(content ? content : "")) || (quoted_id && !(o->quoted_id = strdup(quoted_id))))
		rc = WA_ENOMEM;
	if (rc == 0 && arr && add_mentions(o, arr, &why) < 0)
		rc = WA_ENOMEM;
	json_decref(arr);
	if (rc != 0)
		wa_out_free(o);
	return rc;
}

int wa_out_from_raw(struct wa_out *o, const char *hex)
{
	size_t n = strlen(hex) / 2;
	uint8_t *buf;

	memset(o, 0, sizeof *o);
	if (strlen(hex) % 2 || n == 0)
		return WA_EPROTO;
	if (!(buf = malloc(n)))
		return WA_ENOMEM;
	if (wa_hex_decode(hex, buf, n) != 0) {
		free(buf);
		return WA_EPROTO;
	}
	o->msg = wa_e2_e__message__unpack(NULL, n, buf);
	free(buf);
	return o->msg ? 0 : WA_EPROTO;
}

/* What the quoted message's row gives: its chat, sender and text. */
static int read_quoted(struct wa_out *o, struct wa_db *db, uint64_t row, const char *me, char **qtext)
{
	json_t *r;
	const char *chat, *sender;
	int err = 0, from_me;

	r = wa_db_row(db, &err, SQL_QUOTED, "us", (unsigned long long)row, o->quoted_id);
	if (err)
		return WA_ESTORAGE;
	if (!r)
		return WA_ENOTFOUND;
	chat = json_string_value(json_object_get(r, "chat"));
	sender = json_string_value(json_object_get(r, "sender"));
	from_me = json_is_true(json_object_get(r, "fromMe"));
	o->quoted_chat = strdup(chat ? chat : "");
	o->quoted_participant = strdup(from_me ? me : sender ? sender : chat ? chat : "");
	*qtext = strdup(json_string_value(json_object_get(r, "content")) ?: "");
	json_decref(r);
	return o->quoted_chat && o->quoted_participant && *qtext ? 0 : WA_ENOMEM;
}

int wa_out_build(struct wa_out *o, struct wa_db *db, uint64_t row, const char *chat, const char *me)
{
	WaE2E__Message m = WA_E2_E__MESSAGE__INIT, q = WA_E2_E__MESSAGE__INIT;
	WaE2E__ExtendedTextMessage et = WA_E2_E__EXTENDED_TEXT_MESSAGE__INIT;
	WaE2E__ContextInfo ci = WA_E2_E__CONTEXT_INFO__INIT;
	char *qtext = NULL;
	uint8_t *buf;
	size_t len;
	int rc = 0;

	if (o->msg) {
		wa_e2_e__message__free_unpacked(o->msg, NULL);
		o->msg = NULL;
	}
	free(o->mentions_json);
	o->mentions_json = NULL;
	if (o->quoted_id) {
		free(o->quoted_chat);
		free(o->quoted_participant);
		o->quoted_chat = o->quoted_participant = NULL;
		if ((rc = read_quoted(o, db, row, me, &qtext)) != 0)
			goto out;
		q.conversation = qtext;
		ci.stanzaid = o->quoted_id;
		ci.participant = o->quoted_participant;
		ci.quotedmessage = &q;
		if (strcmp(o->quoted_chat, chat) != 0)
			ci.remotejid = o->quoted_chat;
	}
	if (o->nmentions) {
		json_t *arr = json_array();

		ci.n_mentionedjid = o->nmentions;
		ci.mentionedjid = o->mentions;
		for (size_t i = 0; arr && i < o->nmentions; i++)
			if (json_array_append_new(arr, json_string(o->mentions[i])) != 0)
				json_decref(arr), arr = NULL;
		o->mentions_json = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
		json_decref(arr);
		if (!o->mentions_json) {
			rc = WA_ENOMEM;
			goto out;
		}
	}
	if (o->media) {
		rc = wa_out_media_pack(o, o->quoted_id || o->nmentions ? &ci : NULL, &buf, &len);
		if (rc != 0)
			goto out;
		o->msg = wa_e2_e__message__unpack(NULL, len, buf);
		free(buf);
		rc = o->msg ? 0 : WA_ENOMEM;
		goto out;
	}
	if (o->quoted_id || o->nmentions) {
		et.text = o->text;
		et.contextinfo = &ci;
		m.extendedtextmessage = &et;
	} else {
		m.conversation = o->text;
	}
	len = wa_e2_e__message__get_packed_size(&m);
	buf = malloc(len ? len : 1);
	if (!buf) {
		rc = WA_ENOMEM;
		goto out;
	}
	wa_e2_e__message__pack(&m, buf);
	o->msg = wa_e2_e__message__unpack(NULL, len, buf);
	free(buf);
	rc = o->msg ? 0 : WA_ENOMEM;
out:
	free(qtext);
	return rc;
}

json_t *wa_out_json(const struct wa_out *o)
{
	const WaE2E__ExtendedTextMessage *et = o->msg ? o->msg->extendedtextmessage : NULL;
	const WaE2E__ContextInfo *ci = et ? et->contextinfo : NULL;
	json_t *ctx, *mj, *media = wa_out_media_json(o);

	if (media)
		return media;
	if (!et)
		return json_pack("{s:s}", "conversation", o->text ? o->text : "");
	ctx = json_object();
	if (ci && ci->stanzaid) {
		json_object_set_new(ctx, "stanzaId", json_string(ci->stanzaid));
		json_object_set_new(ctx, "participant", json_string(ci->participant ? ci->participant : ""));
		if (ci->remotejid)
			json_object_set_new(ctx, "remoteJid", json_string(ci->remotejid));
		if (ci->quotedmessage && ci->quotedmessage->conversation)
			json_object_set_new(ctx, "quotedMessage",
					    json_pack("{s:s}", "conversation", ci->quotedmessage->conversation));
	}
	if (ci && ci->n_mentionedjid) {
		mj = json_array();
		for (size_t i = 0; i < ci->n_mentionedjid; i++)
			json_array_append_new(mj, json_string(ci->mentionedjid[i]));
		json_object_set_new(ctx, "mentionedJid", mj);
	}
	return json_pack("{s:{s:s,s:o}}", "extendedTextMessage", "text", et->text ? et->text : "", "contextInfo", ctx);
}
