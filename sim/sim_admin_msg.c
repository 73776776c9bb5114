/* sim_admin_msg: admin routes that drive the simulated phones (README.md
 * "Messaging"): send, inbox, outbox, read receipts, about, groups. Called
 * by sim_admin.c for paths its own table does not know. JSON in and out;
 * runs on the lws service thread. */
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim_media.h"
#include "sim_state.h"
#include "wa/mediacrypto.h"
#include "wa/msgsecret.h"
#include "wa_e2e.pb-c.h"
#include "wa_util.h"
#include "wa_log.h"

#define SEG_MAX 6
#define SEG_LEN 128
#define IDS_MAX 256

static json_t *err_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

/* "15551234567", "+15551234567" or a JID -> a chat JID string */
static int chat_of(const char *to, char *out, size_t cap)
{
	struct wa_jid j;
	const char *p = to[0] == '+' ? to + 1 : to;

	if (strchr(p, '@') == NULL) {
		if (!sim_number_valid(p))
			return -1;
		snprintf(out, cap, "%s@s.whatsapp.net", p);
		return 0;
	}
	if (wa_jid_parse(p, &j, NULL) != 0)
		return -1;
	wa_jid_normalize(&j);
	wa_jid_to_non_ad(&j);
	return wa_jid_format(&j, out, cap) < 0 ? -1 : 0;
}

static json_t *rec_json(const struct sim_msgrec *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:I, s:s}", "id", r->id, "from", r->sender, "chat", r->chat,
			      "fromMe", r->from_me, "type", r->type, "timestamp", (json_int_t)r->t, "status",
			      sim_msg_status_name(r->status));

	if (o == NULL)
		return NULL;
	/* how often a recipient device asked for a message of ours again (§8.4) */
	if (r->from_me)
		json_object_set_new(o, "retries", json_integer(r->retries));
	if (r->text) {
		json_object_set_new(o, "text", json_string(r->text));
		if (strcmp(r->type, "image") == 0 || strcmp(r->type, "video") == 0 || strcmp(r->type, "document") == 0)
			json_object_set_new(o, "caption", json_string(r->text));
	}
	if (r->quoted_id[0])
		/* the message a reaction, vote or protocol message is about; the
		 * message quoted by any other kind */
		json_object_set_new(o, strcmp(r->type, "reaction") == 0 || strcmp(r->type, "poll_vote") == 0 ||
					       strcmp(r->type, "protocol") == 0 ? "messageId" : "quotedId",
				    json_string(r->quoted_id));
	if (strcmp(r->type, "location") == 0) {
		json_object_set_new(o, "lat", json_real(r->lat));
		json_object_set_new(o, "lng", json_real(r->lng));
	}
	if (r->extra) {
		json_t *e = json_loads(r->extra, 0, NULL);

		if (e)
			json_object_update(o, e);
		json_decref(e);
	}
	return o;
}

/* Find a message (inbox or outbox) of phone p by id. */
static const struct sim_msgrec *find_any(struct sim_phone *p, const char *id)
{
	const struct sim_msgrec *v;
	size_t n, i;

	for (int box = 0; box < 2; box++) {
		n = box ? sim_phone_outbox(p, &v) : sim_phone_inbox(p, &v);
		for (i = n; i > 0; i--)
			if (strcmp(v[i - 1].id, id) == 0)
				return &v[i - 1];
	}
	return NULL;
}

/* ---- media a phone sends (docs/protocol.md 7.3, 9) ---- */

/* The kinds of media message a phone can send, by the "type" of the body
 * or by the key holding the media object. */
static const struct media_kind {
	const char *name;            /* "type" value and object key */
	enum wa_media_type mtype;    /* key expansion */
	const char *mms;             /* media host path type */
	const char *mime;            /* default mimetype (BL's defaults, 9.3) */
} media_kinds[] = {
	{ "image", WA_MEDIA_IMAGE, "image", "image/jpeg" },
	{ "video", WA_MEDIA_VIDEO, "video", "video/mp4" },
	{ "audio", WA_MEDIA_AUDIO, "audio", "audio/ogg; codecs=opus" },
	{ "ptt", WA_MEDIA_PTT, "audio", "audio/ogg; codecs=opus" },
	{ "document", WA_MEDIA_DOCUMENT, "document", "application/pdf" },
	{ "sticker", WA_MEDIA_STICKER, "image", "image/webp" },
};

/* The kind named by the body ({"<kind>": {...}} or {"type": "<kind>",
 * "data": ...}; "data" alone is an image); *obj is the object holding
 * "data". NULL when the body is no media message, or names an unknown
 * type (then *obj is NULL too and build_media reports it). */
static const struct media_kind *media_kind(json_t *in, json_t **obj)
{
	const char *type = json_string_value(json_object_get(in, "type"));
	static const struct media_kind unknown = { NULL, WA_MEDIA_IMAGE, NULL, NULL };

	*obj = NULL;
	for (size_t i = 0; i < sizeof media_kinds / sizeof media_kinds[0]; i++)
		if (json_is_object(json_object_get(in, media_kinds[i].name))) {
			*obj = json_object_get(in, media_kinds[i].name);
			return &media_kinds[i];
		}
	if (!json_object_get(in, "data"))
		return NULL;
	*obj = in;
	if (type == NULL)
		return &media_kinds[0];
	for (size_t i = 0; i < sizeof media_kinds / sizeof media_kinds[0]; i++)
		if (strcmp(type, media_kinds[i].name) == 0)
			return &media_kinds[i];
	return &unknown;
}

#define MEDIA_FIELDS(x, url_, dp_, mime_, key_, info_, ts_)                                   \
	do {                                                                                  \
		(x).url = (url_);                                                             \
		(x).directpath = (dp_);                                                       \
		(x).mimetype = (mime_);                                                       \
		(x).has_mediakey = (x).has_filesha256 = (x).has_fileencsha256 = 1;            \
		(x).has_filelength = (x).has_mediakeytimestamp = 1;                           \
		(x).mediakey.data = (key_);                                                   \
		(x).mediakey.len = 32;                                                        \
		(x).filesha256.data = (info_)->file_sha256;                                   \
		(x).filesha256.len = 32;                                                      \
		(x).fileencsha256.data = (info_)->file_enc_sha256;                            \
		(x).fileencsha256.len = 32;                                                   \
		(x).filelength = (info_)->file_length;                                        \
		(x).mediakeytimestamp = (ts_);                                                \
	} while (0)

/* Encrypt the base64 "data" of mj as kind k, store it on the media host and
 * pack the Message into *buf / *len (caller frees). 200, or an HTTP status
 * with *reply set. */
static int build_media(struct sim_server *s, const struct media_kind *k, json_t *mj, WaE2E__ContextInfo *ci,
		       struct sim_msgrec *sum, json_t **reply, uint8_t **buf, size_t *len)
{
	WaE2E__Message m = WA_E2_E__MESSAGE__INIT;
	WaE2E__ImageMessage img = WA_E2_E__IMAGE_MESSAGE__INIT;
	WaE2E__VideoMessage vid = WA_E2_E__VIDEO_MESSAGE__INIT;
	WaE2E__AudioMessage aud = WA_E2_E__AUDIO_MESSAGE__INIT;
	WaE2E__DocumentMessage doc = WA_E2_E__DOCUMENT_MESSAGE__INIT;
	WaE2E__StickerMessage stk = WA_E2_E__STICKER_MESSAGE__INIT;
	const char *b64 = json_string_value(json_object_get(mj, "data")), *host = sim_media_host();
	char *caption = (char *)json_string_value(json_object_get(mj, "caption"));
	char *mime = (char *)json_string_value(json_object_get(mj, "mimetype"));
	char *fname = (char *)json_string_value(json_object_get(mj, "fileName"));
	json_int_t secs = json_integer_value(json_object_get(mj, "seconds"));
	uint8_t *plain = NULL, *enc = NULL, mkey[32];
	size_t elen = 0, cap;
	long plen;
	struct wa_media_info info;
	char dp[160], url[320];
	int64_t ts = (int64_t)sim_now(s);

	if (k->name == NULL) {
		*reply = err_json("\"type\" must be image, video, audio, ptt, document or sticker");
		return 400;
	}
	if (host == NULL) {
		*reply = err_json("no media host: start wa-sim with --media HOST:PORT");
		return 501;
	}
	cap = b64 ? strlen(b64) / 4 * 3 + 4 : 0;
	if (b64 == NULL || (plain = malloc(cap)) == NULL || (plen = wa_base64_decode(b64, strlen(b64), plain, cap)) <= 0) {
		free(plain);
		*reply = err_json("media needs base64 \"data\"");
		return 400;
	}
	if (wa_media_new_key(mkey) != 0 || wa_media_encrypt(k->mtype, mkey, plain, (size_t)plen, &enc, &elen, &info) != 0 ||
	    sim_media_put(enc, elen, k->mms, dp, sizeof dp) != 0) {
		free(plain);
		free(enc);
		*reply = err_json("cannot encrypt / store the media");
		return 500;
	}
	free(plain);
	free(enc);
	snprintf(url, sizeof url, "https://%s%s", host, dp);
	if (mime == NULL)
		mime = (char *)k->mime;
	switch (k->mtype) {
	case WA_MEDIA_VIDEO:
		MEDIA_FIELDS(vid, url, dp, mime, mkey, &info, ts);
		vid.contextinfo = ci;
		vid.caption = caption;
		vid.has_seconds = secs > 0;
		vid.seconds = (uint32_t)secs;
		m.videomessage = &vid;
		break;
	case WA_MEDIA_AUDIO:
	case WA_MEDIA_PTT:
		MEDIA_FIELDS(aud, url, dp, mime, mkey, &info, ts);
		aud.contextinfo = ci;
		aud.has_ptt = 1;
		aud.ptt = k->mtype == WA_MEDIA_PTT;
		aud.has_seconds = secs > 0;
		aud.seconds = (uint32_t)secs;
		m.audiomessage = &aud;
		caption = NULL;
		break;
	case WA_MEDIA_DOCUMENT:
		MEDIA_FIELDS(doc, url, dp, mime, mkey, &info, ts);
		doc.contextinfo = ci;
		doc.filename = fname ? fname : "file";
		doc.title = doc.filename;
		doc.caption = caption;
		m.documentmessage = &doc;
		break;
	case WA_MEDIA_STICKER:
		MEDIA_FIELDS(stk, url, dp, mime, mkey, &info, ts);
		stk.contextinfo = ci;
		m.stickermessage = &stk;
		caption = NULL;
		break;
	default:
		MEDIA_FIELDS(img, url, dp, mime, mkey, &info, ts);
		img.contextinfo = ci;
		img.caption = caption;
		m.imagemessage = &img;
		break;
	}
	snprintf(sum->type, sizeof sum->type, "%s", k->name);
	sum->text = caption;
	*len = wa_e2_e__message__get_packed_size(&m);
	*buf = malloc(*len ? *len : 1);
	if (*buf == NULL)
		return 500;
	wa_e2_e__message__pack(&m, *buf);
	return 200;
}

/* One plain text message (conversation) from a to chat; 0, or -1 with
 * the HTTP status in *status and *reply set. */
static int send_plain_text(struct sim_server *s, struct sim_account *a, const char *chat, const char *text,
			   char *id, size_t idcap, int *status, json_t **reply)
{
	WaE2E__Message m = WA_E2_E__MESSAGE__INIT;
	struct sim_msgrec sum;
	const char *why = NULL;
	uint8_t *buf;
	size_t len;
	int rc;

	memset(&sum, 0, sizeof sum);
	snprintf(sum.type, sizeof sum.type, "text");
	sum.text = (char *)text;
	m.conversation = sum.text;
	len = wa_e2_e__message__get_packed_size(&m);
	if ((buf = malloc(len ? len : 1)) == NULL) {
		*status = 500;
		return -1;
	}
	wa_e2_e__message__pack(&m, buf);
	rc = sim_phone_send(s, a, chat, buf, len, "text", &sum, id, idcap, &why);
	free(buf);
	if (rc != 0) {
		*reply = err_json(why);
		*status = strcmp(why, "no such account") == 0 || strcmp(why, "no such group") == 0 ? 404 : 400;
		return -1;
	}
	return 0;
}

/* {"to", "texts": ["...", ...]}: one plain text message per element, sent
 * in order as if each came in its own request (a stream for load and crash
 * tests without an HTTP round trip per message). Stops at the first
 * failure; the ids of what went out so far are not reported then.
 * {"to", "textHex": "<hex>"}: one text of exactly those bytes, UTF-8 or not
 * (a hostile or broken sender's client; no NUL). */
#define SIM_SEND_TEXTS_MAX 5000

static int h_send_texts(struct sim_server *s, struct sim_account *a, json_t *in, json_t **reply)
{
	const char *to = json_string_value(json_object_get(in, "to"));
	const char *hex = json_string_value(json_object_get(in, "textHex"));
	json_t *texts = json_object_get(in, "texts"), *ids, *v;
	char chat[WA_JID_STR_MAX], id[WA_MSGID_MAX + 1];
	int status = 200;
	size_t i;

	if (to == NULL || chat_of(to, chat, sizeof chat) != 0) {
		*reply = err_json("\"to\" must be a number or a JID");
		return 400;
	}
	if (json_object_get(in, "textHex")) {
		size_t n = hex ? strlen(hex) / 2 : 0;
		char *raw = n && strlen(hex) % 2 == 0 && n <= SIM_TEXT_MAX ? malloc(n + 1) : NULL;

		if (!raw || wa_hex_decode(hex, (uint8_t *)raw, n) != 0 || memchr(raw, '\0', n)) {
			free(raw);
			*reply = err_json("\"textHex\" must be 1 to 65536 bytes as hex, without NUL");
			return 400;
		}
		raw[n] = '\0';
		if (send_plain_text(s, a, chat, raw, id, sizeof id, &status, reply) == 0)
			*reply = json_pack("{s:s, s:s}", "id", id, "to", chat);
		free(raw);
		return status;
	}
	if (json_array_size(texts) == 0 || json_array_size(texts) > SIM_SEND_TEXTS_MAX) {
		*reply = err_json("\"texts\" must hold 1 to 5000 strings");
		return 400;
	}
	json_array_foreach(texts, i, v) {
		if (!json_is_string(v) || json_string_length(v) > SIM_TEXT_MAX) {
			*reply = err_json("every element of \"texts\" must be a string of at most 65536 bytes");
			return 400;
		}
	}
	if ((ids = json_array()) == NULL)
		return 500;
	json_array_foreach(texts, i, v) {
		if (send_plain_text(s, a, chat, json_string_value(v), id, sizeof id, &status, reply) != 0) {
			json_decref(ids);
			return status;
		}
		json_array_append_new(ids, json_string(id));
	}
	*reply = json_pack("{s:o, s:s}", "ids", ids, "to", chat);
	return 200;
}

/* Put the packed Message *buf inside the wrapper `how` (a
 * FutureProofMessage field of an outer Message), packed again. 0 or -1. */
static int wrap_message(const char *how, uint8_t **buf, size_t *len)
{
	WaE2E__Message outer = WA_E2_E__MESSAGE__INIT, *inner;
	WaE2E__FutureProofMessage fp = WA_E2_E__FUTURE_PROOF_MESSAGE__INIT;
	uint8_t *nb;
	size_t nl;

	if (!(inner = wa_e2_e__message__unpack(NULL, *len, *buf)))
		return -1;
	fp.message = inner;
	if (strcmp(how, "ephemeral") == 0)
		outer.ephemeralmessage = &fp;
	else if (strcmp(how, "viewOnce") == 0)
		outer.viewoncemessage = &fp;
	else if (strcmp(how, "viewOnceV2") == 0)
		outer.viewoncemessagev2 = &fp;
	else if (strcmp(how, "documentWithCaption") == 0)
		outer.documentwithcaptionmessage = &fp;
	else {
		wa_e2_e__message__free_unpacked(inner, NULL);
		return -1;
	}
	/* the messageContextInfo (a poll's secret) stays on the outside */
	outer.messagecontextinfo = inner->messagecontextinfo;
	inner->messagecontextinfo = NULL;
	nl = wa_e2_e__message__get_packed_size(&outer);
	nb = malloc(nl ? nl : 1);
	if (nb)
		wa_e2_e__message__pack(&outer, nb);
	inner->messagecontextinfo = outer.messagecontextinfo;
	wa_e2_e__message__free_unpacked(inner, NULL);
	if (!nb)
		return -1;
	free(*buf);
	*buf = nb;
	*len = nl;
	return 0;
}

static int h_send(struct sim_server *s, struct sim_account *a, json_t *in, json_t **reply)
{
	struct sim_phone *p = sim_phone_get(s, a);
	WaE2E__Message m = WA_E2_E__MESSAGE__INIT;
	WaE2E__ExtendedTextMessage ext = WA_E2_E__EXTENDED_TEXT_MESSAGE__INIT;
	WaE2E__ContextInfo ci = WA_E2_E__CONTEXT_INFO__INIT;
	WaE2E__Message quoted = WA_E2_E__MESSAGE__INIT;
	WaE2E__LocationMessage loc = WA_E2_E__LOCATION_MESSAGE__INIT;
	WaE2E__ReactionMessage react = WA_E2_E__REACTION_MESSAGE__INIT;
	WaE2E__MessageKey key = WA_E2_E__MESSAGE_KEY__INIT;
	WaE2E__LiveLocationMessage live = WA_E2_E__LIVE_LOCATION_MESSAGE__INIT;
	WaE2E__ContactMessage cm = WA_E2_E__CONTACT_MESSAGE__INIT, cms[8], *cmp[8];
	WaE2E__ContactsArrayMessage cam = WA_E2_E__CONTACTS_ARRAY_MESSAGE__INIT;
	WaE2E__PollCreationMessage pc = WA_E2_E__POLL_CREATION_MESSAGE__INIT;
	WaE2E__PollCreationMessage__Option popt[12], *poptp[12];
	WaE2E__MessageContextInfo mci = WA_E2_E__MESSAGE_CONTEXT_INFO__INIT;
	char *mentions[64];
	const char *to = NULL, *text = NULL, *quoted_id = NULL, *why = NULL, *stype = "text";
	json_t *jl = json_object_get(in, "location"), *jr = json_object_get(in, "reaction");
	json_t *jc = json_object_get(in, "contact"), *jca = json_object_get(in, "contacts"), *jp = json_object_get(in, "poll");
	struct sim_msgrec sum;
	char chat[WA_JID_STR_MAX], id[WA_MSGID_MAX + 1], qpart[WA_JID_STR_MAX];
	uint8_t *buf = NULL;
	size_t len;
	int status;
	const struct media_kind *mkind;
	json_t *mj;

	if (p == NULL)
		return 500;
	if (json_object_get(in, "texts") || json_object_get(in, "textHex"))
		return h_send_texts(s, a, in, reply);
	memset(&sum, 0, sizeof sum);
	to = json_string_value(json_object_get(in, "to"));
	text = json_string_value(json_object_get(in, "text"));
	quoted_id = json_string_value(json_object_get(in, "quotedId"));
	if (to == NULL || chat_of(to, chat, sizeof chat) != 0) {
		*reply = err_json("\"to\" must be a number or a JID");
		return 400;
	}
	if (text && strlen(text) > SIM_TEXT_MAX) {
		*reply = err_json("text too long");
		return 413;
	}
	/* quotedId / mentions: a contextInfo for any kind */
	if (quoted_id) {
		const struct sim_msgrec *q = find_any(p, quoted_id);
		struct wa_jid sj;

		ci.stanzaid = (char *)quoted_id;
		if (q) {
			/* participant = the quoted author, without device */
			if (wa_jid_parse(q->from_me ? "" : q->sender, &sj, NULL) == 0) {
				wa_jid_to_non_ad(&sj);
				wa_jid_format(&sj, qpart, sizeof qpart);
			} else {
				snprintf(qpart, sizeof qpart, "%s@s.whatsapp.net", a->number);
			}
			ci.participant = qpart;
			quoted.conversation = q->text ? q->text : "";
			ci.quotedmessage = &quoted;
		}
		snprintf(sum.quoted_id, sizeof sum.quoted_id, "%s", quoted_id);
	}
	if (json_is_array(json_object_get(in, "mentions"))) {
		json_t *ml = json_object_get(in, "mentions"), *mv;
		size_t mi;

		json_array_foreach(ml, mi, mv) {
			if (json_is_string(mv) && ci.n_mentionedjid < sizeof mentions / sizeof mentions[0])
				mentions[ci.n_mentionedjid++] = (char *)json_string_value(mv);
		}
		ci.mentionedjid = mentions;
	}
	if (json_is_string(json_object_get(in, "raw"))) {
		/* {"raw": "<hex>"}: the Message protobuf as given (kinds this
		 * phone has no route for, unknown fields) */
		const char *hx = json_string_value(json_object_get(in, "raw"));
		size_t hl = strlen(hx);

		buf = malloc(hl / 2 + 1);
		if (buf == NULL || hl % 2 || wa_hex_decode(hx, buf, hl / 2) != 0) {
			free(buf);
			*reply = err_json("raw must be the hex of a Message");
			return 400;
		}
		len = hl / 2;
		snprintf(sum.type, sizeof sum.type, "raw");
		stype = "text";
		goto send;
	}
	if ((mkind = media_kind(in, &mj)) != NULL) {
		status = build_media(s, mkind, mj, ci.stanzaid || ci.n_mentionedjid ? &ci : NULL, &sum, reply, &buf, &len);
		if (status != 200)
			return status;
		stype = "media";
		goto send;
	}
	if (json_object_get(in, "pollVote")) {
		/* {"pollVote": {"messageId", "options": ["<option name>", ...]}} (7.7) */
		json_t *pv = json_object_get(in, "pollVote"), *ov;
		const char *mid = json_string_value(json_object_get(pv, "messageId"));
		json_t *opts = json_object_get(pv, "options");
		const struct sim_msgrec *poll = mid ? find_any(p, mid) : NULL;
		uint8_t hashes[WA_POLL_MAX_OPTIONS][32], vkey[32], iv[12], plain[WA_POLL_MAX_OPTIONS * 34 + 2], enc[sizeof plain + 16];
		size_t nh = 0, plen = 0, i;
		char orig[WA_JID_STR_MAX], voter[WA_JID_STR_MAX];
		WaE2E__PollUpdateMessage pu = WA_E2_E__POLL_UPDATE_MESSAGE__INIT;
		WaE2E__PollEncValue ev = WA_E2_E__POLL_ENC_VALUE__INIT;
		struct wa_jid cj;

		if (mid == NULL || !json_is_array(opts) || json_array_size(opts) > WA_POLL_MAX_OPTIONS) {
			*reply = err_json("pollVote needs messageId and options (names)");
			return 400;
		}
		if (poll == NULL || !poll->has_secret) {
			*reply = err_json("no poll with a message secret under that id");
			return 404;
		}
		json_array_foreach(opts, i, ov) {
			if (!json_is_string(ov)) {
				*reply = err_json("options must be strings");
				return 400;
			}
			wa_poll_option_hash(json_string_value(ov), hashes[nh++]);
		}
		snprintf(voter, sizeof voter, "%s@s.whatsapp.net", a->number);
		if (wa_msgsecret_strip_device(poll->from_me ? voter : poll->sender, orig, sizeof orig) != 0 ||
		    wa_msgsecret_derive(poll->secret, 32, mid, orig, voter, WA_SECRET_POLL_VOTE, vkey) != 0 ||
		    wa_poll_vote_encode((const uint8_t(*)[32])hashes, nh, plain, sizeof plain, &plen) != 0 ||
		    sim_random(s, iv, sizeof iv) != 0 || wa_poll_vote_encrypt(vkey, iv, mid, voter, plain, plen, enc) != 0)
			return 500;
		key.remotejid = chat;
		key.id = (char *)mid;
		key.has_fromme = 1;
		key.fromme = poll->from_me;
		if (!poll->from_me && wa_jid_parse(chat, &cj, NULL) == 0 && wa_jid_is_group(&cj))
			key.participant = orig;
		ev.has_encpayload = ev.has_enciv = 1;
		ev.encpayload.data = enc;
		ev.encpayload.len = plen + 16;
		ev.enciv.data = iv;
		ev.enciv.len = sizeof iv;
		pu.pollcreationmessagekey = &key;
		pu.vote = &ev;
		pu.has_sendertimestampms = 1;
		pu.sendertimestampms = (int64_t)sim_now(s) * 1000;
		m.pollupdatemessage = &pu;
		stype = "poll";
		snprintf(sum.type, sizeof sum.type, "poll_vote");
		snprintf(sum.quoted_id, sizeof sum.quoted_id, "%s", mid);
		len = wa_e2_e__message__get_packed_size(&m);
		buf = malloc(len ? len : 1);
		if (buf == NULL)
			return 500;
		wa_e2_e__message__pack(&m, buf);
		goto send;
	}
	if (jl) {
		json_t *lat = json_object_get(jl, "lat"), *lng = json_object_get(jl, "lng");

		if (!json_is_number(lat) || !json_is_number(lng)) {
			*reply = err_json("location needs numeric lat and lng");
			return 400;
		}
		if (json_is_true(json_object_get(jl, "live"))) {
			live.has_degreeslatitude = live.has_degreeslongitude = 1;
			live.degreeslatitude = json_number_value(lat);
			live.degreeslongitude = json_number_value(lng);
			live.caption = (char *)json_string_value(json_object_get(jl, "name"));
			live.has_sequencenumber = 1;
			live.sequencenumber = 1;
			live.contextinfo = ci.stanzaid || ci.n_mentionedjid ? &ci : NULL;
			m.livelocationmessage = &live;
		} else {
			loc.has_degreeslatitude = loc.has_degreeslongitude = 1;
			loc.degreeslatitude = json_number_value(lat);
			loc.degreeslongitude = json_number_value(lng);
			loc.name = (char *)json_string_value(json_object_get(jl, "name"));
			loc.address = (char *)json_string_value(json_object_get(jl, "address"));
			loc.contextinfo = ci.stanzaid || ci.n_mentionedjid ? &ci : NULL;
			m.locationmessage = &loc;
		}
		snprintf(sum.type, sizeof sum.type, "location");
		sum.lat = loc.degreeslatitude;
		sum.lng = loc.degreeslongitude;
		sum.text = loc.name;
	} else if (jr) {
		const char *mid = json_string_value(json_object_get(jr, "messageId"));
		const char *emoji = json_string_value(json_object_get(jr, "emoji"));
		const struct sim_msgrec *target;
		struct wa_jid cj;

		if (mid == NULL || emoji == NULL) {
			*reply = err_json("reaction needs messageId and emoji (\"\" removes)");
			return 400;
		}
		target = find_any(p, mid);
		key.remotejid = chat;
		key.has_fromme = 1;
		key.fromme = target ? target->from_me || strncmp(target->sender, a->number, strlen(a->number)) == 0 : 0;
		key.id = (char *)mid;
		if (target && !key.fromme && wa_jid_parse(chat, &cj, NULL) == 0 && wa_jid_is_group(&cj))
			key.participant = (char *)target->sender;
		react.key = &key;
		react.text = (char *)emoji;
		react.has_sendertimestampms = 1;
		react.sendertimestampms = (int64_t)sim_now(s) * 1000;
		m.reactionmessage = &react;
		stype = "reaction";
		snprintf(sum.type, sizeof sum.type, "reaction");
		sum.text = (char *)emoji;
		snprintf(sum.quoted_id, sizeof sum.quoted_id, "%s", mid);
	} else if (jc) {
		/* {"contact": {"displayName", "vcard"}} */
		cm.displayname = (char *)json_string_value(json_object_get(jc, "displayName"));
		cm.vcard = (char *)json_string_value(json_object_get(jc, "vcard"));
		if (cm.vcard == NULL) {
			*reply = err_json("contact needs vcard");
			return 400;
		}
		cm.contextinfo = ci.stanzaid || ci.n_mentionedjid ? &ci : NULL;
		m.contactmessage = &cm;
		snprintf(sum.type, sizeof sum.type, "contact");
		sum.text = cm.displayname;
	} else if (jca) {
		/* {"contacts": {"displayName", "contacts": [{"displayName", "vcard"}, ...]}} */
		json_t *arr = json_object_get(jca, "contacts"), *cv;
		size_t ci_i;

		if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 8) {
			*reply = err_json("contacts needs 1..8 contacts");
			return 400;
		}
		json_array_foreach(arr, ci_i, cv) {
			WaE2E__ContactMessage init = WA_E2_E__CONTACT_MESSAGE__INIT;

			cms[ci_i] = init;
			cms[ci_i].displayname = (char *)json_string_value(json_object_get(cv, "displayName"));
			cms[ci_i].vcard = (char *)json_string_value(json_object_get(cv, "vcard"));
			cmp[ci_i] = &cms[ci_i];
		}
		cam.displayname = (char *)json_string_value(json_object_get(jca, "displayName"));
		cam.n_contacts = json_array_size(arr);
		cam.contacts = cmp;
		cam.contextinfo = ci.stanzaid || ci.n_mentionedjid ? &ci : NULL;
		m.contactsarraymessage = &cam;
		snprintf(sum.type, sizeof sum.type, "contacts");
		sum.text = cam.displayname;
	} else if (jp) {
		/* {"poll": {"name", "options": [...], "selectableCount"?, "version"?: 1|2|3}}
		 * with a fresh messageSecret (7.7) */
		json_t *opts = json_object_get(jp, "options"), *ov;
		size_t oi;
		json_int_t ver = json_integer_value(json_object_get(jp, "version"));

		pc.name = (char *)json_string_value(json_object_get(jp, "name"));
		if (pc.name == NULL || !json_is_array(opts) || json_array_size(opts) < 1 || json_array_size(opts) > 12) {
			*reply = err_json("poll needs name and 1..12 options");
			return 400;
		}
		json_array_foreach(opts, oi, ov) {
			WaE2E__PollCreationMessage__Option init = WA_E2_E__POLL_CREATION_MESSAGE__OPTION__INIT;

			popt[oi] = init;
			popt[oi].optionname = (char *)json_string_value(ov);
			if (popt[oi].optionname == NULL) {
				*reply = err_json("options must be strings");
				return 400;
			}
			poptp[oi] = &popt[oi];
		}
		pc.n_options = json_array_size(opts);
		pc.options = poptp;
		pc.has_selectableoptionscount = 1;
		pc.selectableoptionscount = (uint32_t)json_integer_value(json_object_get(jp, "selectableCount"));
		pc.contextinfo = ci.stanzaid || ci.n_mentionedjid ? &ci : NULL;
		if (ver == 3)
			m.pollcreationmessagev3 = &pc;
		else if (ver == 2)
			m.pollcreationmessagev2 = &pc;
		else
			m.pollcreationmessage = &pc;
		if (sim_random(s, sum.secret, sizeof sum.secret) != 0)
			return 500;
		sum.has_secret = 1;
		mci.has_messagesecret = 1;
		mci.messagesecret.data = sum.secret;
		mci.messagesecret.len = sizeof sum.secret;
		m.messagecontextinfo = &mci;
		snprintf(sum.type, sizeof sum.type, "poll");
		sum.text = pc.name;
		stype = "poll";
	} else if (text) {
		json_t *lp = json_object_get(in, "linkPreview");

		snprintf(sum.type, sizeof sum.type, "text");
		sum.text = (char *)text;
		if (ci.stanzaid || ci.n_mentionedjid || json_is_object(lp)) {
			ext.text = (char *)text;
			if (ci.stanzaid || ci.n_mentionedjid)
				ext.contextinfo = &ci;
			if (json_is_object(lp)) {
				ext.matchedtext = (char *)json_string_value(json_object_get(lp, "url"));
				ext.title = (char *)json_string_value(json_object_get(lp, "title"));
				ext.description = (char *)json_string_value(json_object_get(lp, "description"));
			}
			m.extendedtextmessage = &ext;
		} else {
			m.conversation = (char *)text;
		}
	} else {
		*reply = err_json("body needs text, media, location, contact(s), poll, pollVote, reaction or raw");
		return 400;
	}
	len = wa_e2_e__message__get_packed_size(&m);
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		return 500;
	wa_e2_e__message__pack(&m, buf);
send:
	if (json_is_string(json_object_get(in, "wrap")) && wrap_message(json_string_value(json_object_get(in, "wrap")),
									&buf, &len) != 0) {
		free(buf);
		*reply = err_json("wrap must be ephemeral, viewOnce, viewOnceV2 or documentWithCaption");
		return 400;
	}
	if (sim_phone_send(s, a, chat, buf, len, stype, &sum, id, sizeof id, &why) != 0) {
		*reply = err_json(why);
		status = strcmp(why, "no such account") == 0 || strcmp(why, "no such group") == 0 ? 404 : 400;
	} else {
		*reply = json_pack("{s:s, s:s}", "id", id, "to", chat);
		status = 200;
	}
	free(buf);
	return status;
}

/* ---- statuses (§7.8) ---- */

/* {"text", "backgroundArgb"?: <uint32 ARGB>, "textArgb"?, "font"?: 0-10,
 * "audience"?: ["<number or JID>"...]}: a text status
 * (extendedTextMessage) to status@broadcast for the audience (default:
 * every other phone), as a sender-key message. {"image" | "video":
 * {"data", "caption"?, ...}, "audience"?}: a media status, the media built
 * as /send builds it. */
static int h_status(struct sim_server *s, struct sim_account *a, json_t *in, json_t **reply)
{
	WaE2E__Message m = WA_E2_E__MESSAGE__INIT;
	WaE2E__ExtendedTextMessage ext = WA_E2_E__EXTENDED_TEXT_MESSAGE__INIT;
	struct sim_account *aud[SIM_GROUP_MEMBERS_MAX - 1];
	const char *text = json_string_value(json_object_get(in, "text")), *why = NULL;
	json_t *ja = json_object_get(in, "audience"), *v, *bg = json_object_get(in, "backgroundArgb"),
	       *fg = json_object_get(in, "textArgb"), *font = json_object_get(in, "font");
	struct sim_msgrec sum;
	char id[WA_MSGID_MAX + 1];
	const struct media_kind *mkind;
	const char *stype = "text";
	json_t *mj;
	uint8_t *buf = NULL;
	size_t len = 0, i;
	int n = 0, st;

	memset(&sum, 0, sizeof sum);
	mkind = media_kind(in, &mj);
	if (mkind == NULL && text == NULL) {
		*reply = err_json("body must be {\"text\", \"backgroundArgb\"?, \"textArgb\"?, \"font\"?, "
				  "\"audience\"?: [\"<number>\"...]} or {\"image\" | \"video\": {\"data\", ...}}");
		return 400;
	}
	if ((ja && !json_is_array(ja)) || (bg && !json_is_integer(bg)) || (fg && !json_is_integer(fg)) ||
	    (font && !json_is_integer(font))) {
		*reply = err_json("body must be {\"text\", \"backgroundArgb\"?, \"textArgb\"?, \"font\"?, "
				  "\"audience\"?: [\"<number>\"...]}");
		return 400;
	}
	if (ja) {
		json_array_foreach(ja, i, v) {
			char chat[WA_JID_STR_MAX];
			struct wa_jid j;
			struct sim_account *t;

			if (!json_is_string(v) || chat_of(json_string_value(v), chat, sizeof chat) != 0 ||
			    wa_jid_parse(chat, &j, NULL) != 0 || (t = sim_resolve_user(s, &j, NULL)) == NULL) {
				*reply = err_json("audience: unknown account");
				return 404;
			}
			if (n >= (int)(sizeof aud / sizeof aud[0])) {
				*reply = err_json("audience too large");
				return 400;
			}
			aud[n++] = t;
		}
	} else {
		for (struct sim_account *t = s->store->accounts; t && n < (int)(sizeof aud / sizeof aud[0]); t = t->next)
			if (t != a)
				aud[n++] = t;
	}
	if (mkind) {
		if ((st = build_media(s, mkind, mj, NULL, &sum, reply, &buf, &len)) != 200)
			return st;
		stype = "media";
		goto send;
	}
	ext.text = (char *)text;
	if (bg) {
		ext.has_backgroundargb = 1;
		ext.backgroundargb = (uint32_t)json_integer_value(bg);
	}
	if (fg) {
		ext.has_textargb = 1;
		ext.textargb = (uint32_t)json_integer_value(fg);
	}
	if (font) {
		ext.has_font = 1;
		ext.font = (WaE2E__ExtendedTextMessage__FontType)json_integer_value(font);
	}
	m.extendedtextmessage = &ext;
	len = wa_e2_e__message__get_packed_size(&m);
	if ((buf = malloc(len ? len : 1)) == NULL)
		return 500;
	wa_e2_e__message__pack(&m, buf);
	snprintf(sum.type, sizeof sum.type, "text");
	sum.text = (char *)text;
send:
	if (sim_phone_send_status(s, a, aud, n, buf, len, stype, &sum, id, sizeof id, &why) != 0) {
		free(buf);
		*reply = err_json(why);
		return 400;
	}
	free(buf);
	*reply = json_pack("{s:s, s:s, s:i}", "id", id, "to", "status@broadcast", "audience", n);
	return 200;
}

/* ---- edits and revokes a phone sends (docs/protocol.md 7.6) ---- */

/* The key of the phone's message (or another's) id in chat, as its sender
 * writes it: fromMe for the phone's own (and its companions'), participant
 * (the author, no device) for someone else's in a group. */
static void target_key(struct sim_account *a, const struct sim_msgrec *t, const char *chat, const char *id,
		       WaE2E__MessageKey *key, char *part, size_t cap)
{
	struct wa_jid cj, sj;

	key->remotejid = (char *)chat;
	key->id = (char *)id;
	key->has_fromme = 1;
	key->fromme = t == NULL || t->from_me || strncmp(t->sender, a->number, strlen(a->number)) == 0;
	if (!key->fromme && wa_jid_parse(chat, &cj, NULL) == 0 && wa_jid_is_group(&cj) &&
	    wa_jid_parse(t->sender, &sj, NULL) == 0) {
		wa_jid_to_non_ad(&sj);
		if (wa_jid_format(&sj, part, cap) >= 0)
			key->participant = part;
	}
}

/* POST /admin/phones/{n}/edit {"to", "id", "text", "bare"?} and
 * /revoke {"to", "id"}: a protocolMessage (MESSAGE_EDIT with the new text,
 * inside the editedMessage wrapper as WhatsApp and whatsmeow send it, or
 * at the top level with "bare": true as Baileys does; or REVOKE) sent as
 * the phone sends any message; the stanza's edit attribute follows from
 * the content (sim_phone_send). */
static int h_edit(struct sim_server *s, struct sim_account *a, json_t *in, int revoke, json_t **reply)
{
	struct sim_phone *p = sim_phone_get(s, a);
	WaE2E__Message m = WA_E2_E__MESSAGE__INIT, inner = WA_E2_E__MESSAGE__INIT, content = WA_E2_E__MESSAGE__INIT;
	WaE2E__FutureProofMessage fp = WA_E2_E__FUTURE_PROOF_MESSAGE__INIT;
	WaE2E__ProtocolMessage pm = WA_E2_E__PROTOCOL_MESSAGE__INIT;
	WaE2E__MessageKey key = WA_E2_E__MESSAGE_KEY__INIT;
	const char *to = json_string_value(json_object_get(in, "to")), *id = json_string_value(json_object_get(in, "id"));
	const char *text = json_string_value(json_object_get(in, "text")), *why = NULL;
	char chat[WA_JID_STR_MAX], part[WA_JID_STR_MAX], nid[WA_MSGID_MAX + 1];
	struct sim_msgrec sum;
	uint8_t *buf;
	size_t len;
	int st;

	if (p == NULL)
		return 500;
	if (to == NULL || chat_of(to, chat, sizeof chat) != 0 || id == NULL || !*id || strlen(id) > WA_MSGID_MAX ||
	    (!revoke && text == NULL)) {
		*reply = err_json(revoke ? "body must be {\"to\", \"id\"}" : "body must be {\"to\", \"id\", \"text\"}");
		return 400;
	}
	if (text && strlen(text) > SIM_TEXT_MAX) {
		*reply = err_json("text too long");
		return 413;
	}
	target_key(a, find_any(p, id), chat, id, &key, part, sizeof part);
	pm.key = &key;
	pm.has_type = 1;
	pm.type = revoke ? WA_E2_E__PROTOCOL_MESSAGE__TYPE__REVOKE : WA_E2_E__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT;
	memset(&sum, 0, sizeof sum);
	snprintf(sum.type, sizeof sum.type, "%s", revoke ? "revoke" : "edit");
	snprintf(sum.quoted_id, sizeof sum.quoted_id, "%s", id);
	if (!revoke) {
		content.conversation = (char *)text;
		pm.editedmessage = &content;
		pm.has_timestampms = 1;
		pm.timestampms = (int64_t)sim_now(s) * 1000;
		sum.text = (char *)text;
	}
	if (!revoke && !json_is_true(json_object_get(in, "bare"))) {
		inner.protocolmessage = &pm;
		fp.message = &inner;
		m.editedmessage = &fp;
	} else {
		m.protocolmessage = &pm;
	}
	len = wa_e2_e__message__get_packed_size(&m);
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		return 500;
	wa_e2_e__message__pack(&m, buf);
	if (sim_phone_send(s, a, chat, buf, len, "text", &sum, nid, sizeof nid, &why) != 0) {
		st = strcmp(why, "no such account") == 0 || strcmp(why, "no such group") == 0 ? 404 :
		     strcmp(why, "403") == 0 ? 403 : 400;
		*reply = err_json(st == 403 ? "not a member, or an admin's revoke by someone who is not an admin" : why);
	} else {
		*reply = json_pack("{s:s, s:s, s:s}", "id", nid, "to", chat, "target", id);
		st = 200;
	}
	free(buf);
	return st;
}

static int h_box(struct sim_server *s, struct sim_account *a, int outbox, json_t **reply)
{
	struct sim_phone *p = sim_phone_get(s, a);
	const struct sim_msgrec *v;
	json_t *arr = json_array();
	size_t n, i;

	if (p == NULL || arr == NULL) {
		json_decref(arr);
		return 500;
	}
	n = outbox ? sim_phone_outbox(p, &v) : sim_phone_inbox(p, &v);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, rec_json(&v[i]));
	*reply = json_pack("{s:o}", "messages", arr);
	return 200;
}

static int h_read(struct sim_server *s, struct sim_account *a, json_t *in, json_t **reply)
{
	json_t *ids = json_object_get(in, "ids"), *v;
	const char *list[IDS_MAX], *type = json_string_value(json_object_get(in, "type"));
	size_t n = 0, i;
	int found;

	if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > IDS_MAX) {
		*reply = err_json("body must be {\"ids\": [\"<message id>\", ...]} (1-256 ids)");
		return 400;
	}
	if (type && strcmp(type, "read") != 0 && strcmp(type, "played") != 0) {
		*reply = err_json("type must be read or played");
		return 400;
	}
	json_array_foreach(ids, i, v) {
		if (!json_is_string(v)) {
			*reply = err_json("ids must be strings");
			return 400;
		}
		list[n++] = json_string_value(v);
	}
	found = sim_phone_read(s, a, list, n, type ? type : "read");
	*reply = json_pack("{s:i}", "read", found);
	return 200;
}

static int h_about(struct sim_server *s, struct sim_account *a, json_t *in, json_t **reply)
{
	struct sim_phone *p = sim_phone_get(s, a);
	const char *about = json_string_value(json_object_get(in, "about"));

	if (p == NULL)
		return 500;
	if (about == NULL || sim_phone_set_about(p, about) != 0) {
		*reply = err_json("body must be {\"about\": \"<text up to 139 bytes>\"}");
		return 400;
	}
	*reply = json_pack("{s:s}", "about", sim_phone_about(p));
	return 200;
}

/* numbers from a JSON array of strings */
static int numbers(json_t *arr, const char **out, size_t max, size_t *n)
{
	json_t *v;
	size_t i;

	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) > max)
		return -1;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return -1;
		out[(*n)++] = json_string_value(v);
	}
	return 0;
}

static int h_group_create(struct sim_server *s, json_t *in, json_t **reply)
{
	const char *phone = json_string_value(json_object_get(in, "phone"));
	const char *subject = json_string_value(json_object_get(in, "subject")), *why = NULL;
	const char *members[IDS_MAX];
	struct sim_account *a = phone ? sim_store_account_find(s->store, phone) : NULL;
	char jid[WA_JID_STR_MAX], sub[WA_JID_STR_MAX];
	size_t n;
	int st;

	if (subject == NULL || numbers(json_object_get(in, "participants"), members, IDS_MAX, &n) != 0) {
		*reply = err_json("body must be {\"phone\", \"subject\", \"participants\": [numbers]}");
		return 400;
	}
	if (a == NULL) {
		*reply = err_json("no such phone");
		return 404;
	}
	st = sim_group_admin_community(s, a, json_is_true(json_object_get(in, "community")), subject, members, n, jid,
				       sizeof jid, sub, sizeof sub, &why);
	if (st != 0) {
		*reply = err_json(why);
		return st;
	}
	*reply = sub[0] ? json_pack("{s:s,s:s}", "jid", jid, "announcementGroup", sub) : json_pack("{s:s}", "jid", jid);
	return 201;
}

/* Group picture as phone a (acting device 0, so its companions are told). */
static int group_picture(struct sim_server *s, struct sim_account *a, const char *gjid, const char *b64,
			 json_t **reply)
{
	uint8_t *img = NULL;
	long n = 0;
	uint64_t id = 0;
	int st;

	if (b64 != NULL) {
		size_t bl = strlen(b64);

		if (bl / 4 * 3 > SIM_PICTURE_MAX + 3 || (img = malloc(bl / 4 * 3 + 3)) == NULL ||
		    (n = wa_base64_decode(b64, bl, img, bl / 4 * 3 + 3)) <= 0) {
			free(img);
			*reply = err_json("data must be base64 of at most 1 MiB");
			return 400;
		}
	}
	st = sim_group_picture_set(s, a, 0, gjid, img, (size_t)n, &id);
	free(img);
	if (st != 0) {
		*reply = err_json(st == 404 ? "no such group" : st == 403 ? "not an admin of the group"
				  : st == 406 ? "picture over 1 MiB" : "cannot store the picture");
		return st == 406 ? 400 : st;
	}
	*reply = json_pack("{s:b,s:I}", "ok", 1, "pictureId", (json_int_t)id);
	return 200;
}

static int h_group_change(struct sim_server *s, const char *gjid, json_t *in, json_t **reply)
{
	const char *phone = json_string_value(json_object_get(in, "phone"));
	const char *action = json_string_value(json_object_get(in, "action")), *why = NULL;
	const char *members[IDS_MAX];
	struct sim_account *a = phone ? sim_store_account_find(s->store, phone) : NULL;
	size_t n = 0;
	int st;

	if (action == NULL ||
	    (json_object_get(in, "participants") && numbers(json_object_get(in, "participants"), members, IDS_MAX, &n) != 0)) {
		*reply = err_json("body must be {\"phone\", \"action\": \"add|remove|promote|demote|leave|subject|picture|"
				  "description|ephemeral|announcement|not_announcement|locked|unlocked|invite|invite-code|join\", "
				  "\"participants\": [numbers]}");
		return 400;
	}
	if (a == NULL) {
		*reply = err_json("no such phone");
		return 404;
	}
	if (strcmp(action, "link") == 0 || strcmp(action, "unlink") == 0) { /* {"groups": [jid…]} on a community */
		const char *groups[IDS_MAX];
		json_t *res = NULL;

		if (numbers(json_object_get(in, "groups"), groups, IDS_MAX, &n) != 0) {
			*reply = err_json("link / unlink need \"groups\": [group jids]");
			return 400;
		}
		st = sim_group_admin_link(s, a, gjid, action[0] == 'l', groups, n, &res, &why);
		if (st != 0) {
			*reply = err_json(why);
			return st;
		}
		*reply = json_pack("{s:b,s:o}", "ok", 1, "results", res);
		return 200;
	}
	if (strcmp(action, "picture") == 0) /* {"data": "<base64 JPEG>"} sets, no data removes */
		return group_picture(s, a, gjid, json_string_value(json_object_get(in, "data")), reply);
	if (strcmp(action, "subject") == 0) {
		members[0] = json_string_value(json_object_get(in, "subject"));
		n = members[0] ? 1 : 0;
	}
	if (strcmp(action, "description") == 0 || strcmp(action, "ephemeral") == 0 || strcmp(action, "join") == 0 ||
	    strcmp(action, "invite") == 0 || strcmp(action, "invite-code") == 0 || strcmp(action, "announcement") == 0 ||
	    strcmp(action, "not_announcement") == 0 || strcmp(action, "locked") == 0 || strcmp(action, "unlocked") == 0) {
		/* {"description": "..."} ("" deletes), {"expiration": seconds} (0 off), {"code": "..."} for join */
		json_t *ex = json_object_get(in, "expiration");
		char num[24], code[32];
		const char *arg = json_string_value(json_object_get(in, strcmp(action, "join") == 0 ? "code" : "description"));

		if (strcmp(action, "ephemeral") == 0) {
			if (!json_is_integer(ex) || json_integer_value(ex) < 0) {
				*reply = err_json("ephemeral needs \"expiration\": seconds (0 turns it off)");
				return 400;
			}
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(ex));
			arg = num;
		}
		st = sim_group_admin_setting(s, a, gjid, action, arg, code, sizeof code, &why);
		if (st != 0) {
			*reply = err_json(why);
			return st;
		}
		*reply = code[0] ? json_pack("{s:b,s:s}", "ok", 1, "code", code) : json_pack("{s:b}", "ok", 1);
		return 200;
	}
	st = sim_group_admin_change(s, a, gjid, action, members, n, &why);
	if (st != 0) {
		*reply = err_json(why);
		return st;
	}
	*reply = json_pack("{s:b}", "ok", 1);
	return 200;
}

/* POST /admin/faults {"number", "dropMessages": n, "from"?: "<number>"} */
static int h_faults(struct sim_server *s, json_t *in, json_t **reply)
{
	const char *number = json_string_value(json_object_get(in, "number"));
	const char *from = json_string_value(json_object_get(in, "from"));
	json_t *dm = json_object_get(in, "dropMessages");
	struct sim_account *a = number ? sim_store_account_find(s->store, number) : NULL;
	struct sim_phone *p;

	if (number == NULL || !json_is_integer(dm) || json_integer_value(dm) < 0 || json_integer_value(dm) > 100000) {
		*reply = err_json("body must be {\"number\": \"<phone>\", \"dropMessages\": <0-100000>}");
		return 400;
	}
	if (a == NULL) {
		*reply = err_json("no such phone");
		return 404;
	}
	p = sim_phone_get(s, a);
	if (p == NULL)
		return 500;
	if (json_object_get(in, "from") && (!from || strlen(from) > SIM_NUMBER_MAX || !sim_number_valid(from))) {
		*reply = err_json("\"from\" must be a phone number (digits)");
		return 400;
	}
	sim_phone_drop_set(p, (unsigned)json_integer_value(dm));
	sim_phone_drop_from(p, from);
	*reply = json_pack("{s:s, s:I}", "number", a->number, "dropMessages", (json_int_t)sim_phone_drop_get(p));
	return 200;
}

int sim_admin_ext(struct sim_server *s, const char *method, const char *path, const char *body, size_t body_len,
		  json_t **reply)
{
	char seg[SEG_MAX][SEG_LEN];
	int nseg = 0, post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
	const char *p = path;
	json_t *in = NULL;
	struct sim_account *a = NULL;
	int st = 0;

	while (*p == '/' && nseg < SEG_MAX) {
		const char *e = strchr(p + 1, '/');
		size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);

		if (n == 0 && e == NULL)
			break; /* trailing slash */
		if (n == 0 || n >= SEG_LEN)
			return 0;
		memcpy(seg[nseg], p + 1, n);
		seg[nseg++][n] = '\0';
		p += n + 1;
	}
	if (*p != '\0' && strcmp(p, "/") != 0)
		return 0;
	if (nseg < 2 || strcmp(seg[0], "admin") != 0)
		return 0;
	if (post) {
		json_error_t err;

		in = json_loadb(body ? body : "", body_len, 0, &err);
		if (in == NULL || !json_is_object(in)) {
			json_decref(in);
			*reply = err_json("body must be a JSON object");
			return 400;
		}
	}
	if (nseg == 4 && strcmp(seg[1], "phones") == 0) {
		a = sim_store_account_find(s->store, seg[2]);
		if (a == NULL) {
			*reply = err_json("no such phone");
			st = 404;
		} else if (post && strcmp(seg[3], "send") == 0) {
			st = h_send(s, a, in, reply);
		} else if (post && (strcmp(seg[3], "edit") == 0 || strcmp(seg[3], "revoke") == 0)) {
			st = h_edit(s, a, in, strcmp(seg[3], "revoke") == 0, reply);
		} else if (post && strcmp(seg[3], "history-sync") == 0) {
			json_t *dv = json_object_get(in, "device");

			if (!json_is_integer(dv) || json_integer_value(dv) <= 0 || json_integer_value(dv) > 65535) {
				*reply = err_json("body must be {\"device\": <companion id>, \"missingBlob\"?: true}");
				st = 400;
			} else if (sim_history_send(s, a, (uint16_t)json_integer_value(dv),
						    json_is_true(json_object_get(in, "missingBlob"))) != 0) {
				*reply = err_json("no such companion, or no media host");
				st = 404;
			} else {
				*reply = json_pack("{s:b}", "sent", 1);
				st = 200;
			}
		} else if (post && strcmp(seg[3], "resend") == 0) {
			const char *rid = json_string_value(json_object_get(in, "id"));
			int n = rid ? sim_phone_resend(s, a, rid) : -1;

			if (n < 0) {
				*reply = err_json(rid ? "no 1:1 message with that id in the outbox" : "body must be {\"id\"}");
				st = rid ? 404 : 400;
			} else {
				*reply = json_pack("{s:i}", "resent", n);
				st = 200;
			}
		} else if (get && strcmp(seg[3], "inbox") == 0) {
			st = h_box(s, a, 0, reply);
		} else if (get && strcmp(seg[3], "outbox") == 0) {
			st = h_box(s, a, 1, reply);
		} else if (post && strcmp(seg[3], "read") == 0) {
			st = h_read(s, a, in, reply);
		} else if (post && strcmp(seg[3], "status") == 0) {
			st = h_status(s, a, in, reply);
		} else if (post && strcmp(seg[3], "about") == 0) {
			st = h_about(s, a, in, reply);
		} else if ((st = sim_admin_state(s, a, method, seg[3], in, reply)) == 0) {
			/* state layer routes (simstate, sim_admin_state.c) */
			*reply = err_json("not found");
			st = 404;
		}
	} else if (nseg == 2 && strcmp(method, "DELETE") == 0 && strcmp(seg[1], "media") == 0) {
		/* DELETE /admin/media: the media host forgets every file (media
		 * that expired on WhatsApp's servers) */
		sim_media_clear();
		*reply = json_pack("{s:b}", "cleared", 1);
		st = 200;
	} else if (nseg == 2 && post && strcmp(seg[1], "faults") == 0) {
		st = h_faults(s, in, reply);
	} else if (nseg == 2 && post && strcmp(seg[1], "groups") == 0) {
		st = h_group_create(s, in, reply);
	} else if (nseg == 3 && post && strcmp(seg[1], "groups") == 0) {
		st = h_group_change(s, seg[2], in, reply);
	} else if (nseg == 3 && get && strcmp(seg[1], "groups") == 0) {
		*reply = sim_group_admin_view(s, seg[2]);
		st = *reply ? 200 : 404;
		if (!*reply)
			*reply = err_json("no such group");
	}
	if (st != 0)
		wa_info("sim: admin %s %s -> %d", method, path, st);
	json_decref(in);
	return st;
}
