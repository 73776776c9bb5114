/* outmsg: the API's message object as a WaE2E.Message (see outmsg.h). */
#include "engine/media.h"
#include "engine/store/outmsg.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"
#include "wa_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
	free(o->target_id);
	free(o->source_chat);
	free(o->target_chat);
	free(o->file_name);
	wa_media_job_free(o->media);
	json_decref(o->req);
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

/* ---- parse (loop thread, pure) ---- */

static const char BAD_ID[] = "'messageId' must be the id of a message (1 to 128 characters)";

/* A message id argument as an owned copy. 0, 400 or -1 (no memory). */
static int id_arg(const json_t *v, char **out, const char **why)
{
	if (!json_is_string(v) || !*json_string_value(v) || strlen(json_string_value(v)) > QUOTED_ID_MAX) {
		*why = BAD_ID;
		return 400;
	}
	*out = strdup(json_string_value(v));
	return *out ? 0 : -1;
}

static int text_arg(struct wa_out *o, const char *text, const char *name, const char **why)
{
	static char msg[96];

	if (!text) {
		snprintf(msg, sizeof msg, "'%s' is required", name);
		*why = msg;
		return 400;
	}
	if (!*text || strlen(text) > WA_OUT_TEXT_MAX) {
		snprintf(msg, sizeof msg, "'%s' must be 1 to 65536 bytes", name);
		*why = msg;
		return 400;
	}
	free(o->text);
	o->text = strdup(text);
	return o->text ? 0 : -1;
}

/* First string of the given keys of obj. */
static const char *str_of(const json_t *obj, const char *a, const char *b)
{
	const json_t *v = json_object_get(obj, a);

	if (!v && b)
		v = json_object_get(obj, b);
	return json_string_value(v);
}

/* latitude / longitude (the /location body) or degreesLatitude /
 * degreesLongitude (Baileys' location content), name and address. */
static int parse_location(struct wa_out *o, const json_t *in, const char **why)
{
	const json_t *la = json_object_get(in, "latitude"), *lo = json_object_get(in, "longitude");
	const char *name = str_of(in, "name", NULL), *addr = str_of(in, "address", NULL);
	double lat, lon;

	if (!la)
		la = json_object_get(in, "degreesLatitude");
	if (!lo)
		lo = json_object_get(in, "degreesLongitude");
	if (!json_is_number(la) || !json_is_number(lo)) {
		*why = "'latitude' and 'longitude' must be numbers";
		return 400;
	}
	lat = json_number_value(la);
	lon = json_number_value(lo);
	if (lat < -90 || lat > 90 || lon < -180 || lon > 180) {
		*why = "'latitude' must be -90..90 and 'longitude' -180..180";
		return 400;
	}
	if ((name && strlen(name) > 1024) || (addr && strlen(addr) > 1024)) {
		*why = "'name' and 'address' may have at most 1024 bytes";
		return 400;
	}
	o->kind = WA_OUT_LOCATION;
	o->req = json_pack("{s:f,s:f,s:s*,s:s*}", "lat", lat, "lon", lon, "name", name && *name ? name : NULL,
			   "address", addr && *addr ? addr : NULL);
	return o->req ? 0 : -1;
}

/* The contact's name in a vCard: the first FN value, else the N value
 * with its ';' separators as spaces. *out (cap bytes) is "" when none. */
static void vcard_name(const char *v, char *out, size_t cap)
{
	const char *fn = NULL, *n = NULL, *val;
	size_t l;

	out[0] = '\0';
	for (const char *p = v; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!fn && (strncasecmp(p, "FN:", 3) == 0 || strncasecmp(p, "FN;", 3) == 0))
			fn = p;
		else if (!n && (strncasecmp(p, "N:", 2) == 0 || strncasecmp(p, "N;", 2) == 0))
			n = p;
	}
	if (!(val = fn ? fn : n) || !(val = strchr(val, ':')))
		return;
	l = strcspn(++val, "\r\n");
	if (l >= cap)
		l = cap - 1;
	memcpy(out, val, l);
	out[l] = '\0';
	if (!fn)
		for (char *q = out; *q; q++)
			if (*q == ';')
				*q = ' ';
	for (l = strlen(out); l && out[l - 1] == ' '; l--)
		out[l - 1] = '\0';
}

int wa_out_vcard_check(const char *v, const char **why)
{
	size_t len = strlen(v);
	const char *end;
	char name[256];

	if (len > WA_OUT_VCARD_MAX) {
		*why = "A vCard may have at most 16384 bytes";
		return -1;
	}
	if (strncasecmp(v, "BEGIN:VCARD", 11) != 0 || (v[11] != '\r' && v[11] != '\n')) {
		*why = "A vCard must start with a BEGIN:VCARD line";
		return -1;
	}
	end = strcasestr(v, "\nEND:VCARD");
	if (!end || strspn(end + 10, "\r\n") != strlen(end + 10)) {
		*why = "A vCard must end with an END:VCARD line (one card per contact)";
		return -1;
	}
	if (strcasestr(v + 11, "BEGIN:VCARD")) {
		*why = "One card per contact: this vCard holds several";
		return -1;
	}
	vcard_name(v, name, sizeof name);
	if (!name[0]) {
		*why = "A vCard needs an FN (or N) property with the contact's name";
		return -1;
	}
	return 0;
}

/* vCard text of a name and a phone number (digits, an optional '+'). */
static char *vcard_build(const char *name, const char *phone, const char *org, const char **why)
{
	char digits[32], *out;
	size_t nd = 0, cap;

	for (const char *p = phone; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (nd + 1 >= sizeof digits)
				break;
			digits[nd++] = *p;
		} else if (!strchr("+ -().", *p)) {
			*why = "'phoneNumber' must be a phone number (digits, with an optional '+')";
			return NULL;
		}
	}
	digits[nd] = '\0';
	if (nd < 5 || nd > 20) {
		*why = "'phoneNumber' must have 5 to 20 digits";
		return NULL;
	}
	if (strpbrk(name, "\r\n") || (org && strpbrk(org, "\r\n"))) {
		*why = "'fullName' and 'organization' are single lines";
		return NULL;
	}
	cap = strlen(name) + (org ? strlen(org) : 0) + 2 * nd + 128;
	if (!(out = malloc(cap)))
		return NULL;
	snprintf(out, cap, "BEGIN:VCARD\nVERSION:3.0\nFN:%s\n%s%s%sTEL;type=CELL;type=VOICE;waid=%s:+%s\nEND:VCARD",
		 name, org ? "ORG:" : "", org ? org : "", org ? "\n" : "", digits, digits);
	return out;
}

/* contacts: the /contact array, or Baileys' {displayName, contacts: [...]}.
 * Each entry {vcard[, displayName]} or {fullName, phoneNumber[,
 * organization]}; kept as [{name, vcard}]. */
static int parse_contacts(struct wa_out *o, const json_t *in, const char **why)
{
	static char msg[160];
	const json_t *arr = json_is_object(in) ? json_object_get(in, "contacts") : in, *c;
	json_t *list;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > WA_OUT_CONTACTS_MAX) {
		*why = "'contacts' must be an array of 1 to 50 contacts";
		return 400;
	}
	if (!(list = json_array()))
		return -1;
	json_array_foreach(arr, i, c) {
		const char *vc = str_of(c, "vcard", NULL), *dn = str_of(c, "displayName", NULL);
		const char *fnm = str_of(c, "fullName", "name"), *ph = str_of(c, "phoneNumber", "phone");
		const char *w = NULL;
		char name[256], *built = NULL;

		if (!json_is_object(c)) {
			snprintf(msg, sizeof msg, "'contacts[%zu]' must be an object", i);
			goto bad;
		}
		if (vc) {
			if (wa_out_vcard_check(vc, &w) != 0) {
				snprintf(msg, sizeof msg, "'contacts[%zu].vcard': %s", i, w);
				goto bad;
			}
			vcard_name(vc, name, sizeof name);
		} else if (fnm && ph && *fnm) {
			if (!(built = vcard_build(fnm, ph, str_of(c, "organization", NULL), &w))) {
				if (!w) {
					json_decref(list);
					return -1;
				}
				snprintf(msg, sizeof msg, "'contacts[%zu]': %s", i, w);
				goto bad;
			}
			snprintf(name, sizeof name, "%s", fnm);
			vc = built;
		} else {
			snprintf(msg, sizeof msg, "'contacts[%zu]' needs 'vcard' (with 'displayName') or 'fullName' and "
				 "'phoneNumber'", i);
			goto bad;
		}
		if (json_array_append_new(list, json_pack("{s:s,s:s}", "name", dn && *dn ? dn : name, "vcard", vc))) {
			free(built);
			json_decref(list);
			return -1;
		}
		free(built);
	}
	o->kind = WA_OUT_CONTACT;
	o->req = list;
	return 0;
bad:
	json_decref(list);
	*why = msg;
	return 400;
}

/* question / options / selectableCount (the /poll body) or Baileys' poll
 * content {name, values, selectableCount}. */
static int parse_poll(struct wa_out *o, const json_t *in, const char **why)
{
	const char *q = str_of(in, "question", "name");
	const json_t *opts = json_object_get(in, "options"), *sel = json_object_get(in, "selectableCount"), *v;
	json_t *list;
	size_t i, n;

	if (!opts)
		opts = json_object_get(in, "values");
	if (!q || !*q || strlen(q) > 255) {
		*why = "'question' must be 1 to 255 bytes";
		return 400;
	}
	n = json_array_size(opts);
	if (!json_is_array(opts) || n < 2 || n > WA_OUT_POLL_OPTIONS_MAX) {
		*why = "'options' must have 2 to 12 entries";
		return 400;
	}
	if (sel && (!json_is_integer(sel) || json_integer_value(sel) < 0 || (size_t)json_integer_value(sel) > n)) {
		*why = "'selectableCount' must be from 0 (any number) to the number of options";
		return 400;
	}
	json_array_foreach(opts, i, v) {
		const char *s = json_string_value(v);

		if (!s || !*s || strlen(s) > WA_OUT_OPTION_MAX) {
			*why = "Each poll option must be a string of 1 to 100 bytes";
			return 400;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(s, json_string_value(json_array_get(opts, k))) == 0) {
				*why = "Poll options must differ from each other";
				return 400;
			}
	}
	if (!(list = json_deep_copy(opts)))
		return -1;
	o->kind = WA_OUT_POLL;
	o->req = json_pack("{s:s,s:o,s:I}", "name", q, "options", list, "selectable",
			   sel ? json_integer_value(sel) : (json_int_t)0);
	return o->req ? 0 : -1;
}

/* The /list body as the text the reference describes: a bold title, the
 * description, the numbered options, the footer in italics. The n8n
 * node's form {title, description, buttonText, sections: [{title, rows:
 * [{title, description, rowId}]}]} is written the same way, each section's
 * title in bold above its rows, numbered on across sections. */
#define LIST_ROWS_MAX 100

static int parse_list(struct wa_out *o, const json_t *in, const char **why)
{
	const char *title = str_of(in, "title", NULL), *desc = str_of(in, "description", NULL);
	const char *foot = str_of(in, "footer", NULL);
	const json_t *opts = json_object_get(in, "options"), *secs = json_object_get(in, "sections"), *v, *sec, *row;
	size_t i, k, cap, len, n = 0;
	char *t;
	int rc;

	if (!title || !*title || (!json_is_array(opts) && !json_is_array(secs)) ||
	    (json_is_array(opts) && json_array_size(opts) == 0)) {
		*why = "'title' and 'options' (1 to 10 strings) or 'sections' are required";
		return 400;
	}
	cap = strlen(title) + (desc ? strlen(desc) : 0) + (foot ? strlen(foot) : 0) + 16;
	if (json_is_array(opts)) {
		json_array_foreach(opts, i, v) {
			if (!json_is_string(v) || !*json_string_value(v)) {
				*why = "'options' must be non-empty strings";
				return 400;
			}
			cap += strlen(json_string_value(v)) + 8;
		}
	} else {
		json_array_foreach(secs, i, sec) {
			const json_t *rows = json_object_get(sec, "rows");

			if (!json_is_object(sec) || !json_is_array(rows)) {
				*why = "'sections' must be objects with a 'rows' array";
				return 400;
			}
			cap += (str_of(sec, "title", NULL) ? strlen(str_of(sec, "title", NULL)) : 0) + 8;
			json_array_foreach(rows, k, row) {
				const char *rt = str_of(row, "title", NULL), *rd = str_of(row, "description", NULL);

				if (!rt || !*rt || ++n > LIST_ROWS_MAX) {
					*why = "Each row needs a 'title' (at most 100 rows)";
					return 400;
				}
				cap += strlen(rt) + (rd ? strlen(rd) + 3 : 0) + 10;
			}
		}
		if (n == 0) {
			*why = "'sections' must have at least one row";
			return 400;
		}
	}
	if (!(t = malloc(cap)))
		return -1;
	len = (size_t)snprintf(t, cap, "*%s*\n", title);
	if (desc && *desc)
		len += (size_t)snprintf(t + len, cap - len, "%s\n", desc);
	if (json_is_array(opts)) {
		json_array_foreach(opts, i, v)
			len += (size_t)snprintf(t + len, cap - len, "\n%zu. %s", i + 1, json_string_value(v));
	} else {
		n = 0;
		json_array_foreach(secs, i, sec) {
			const char *st = str_of(sec, "title", NULL);

			if (st && *st)
				len += (size_t)snprintf(t + len, cap - len, "\n*%s*", st);
			json_array_foreach(json_object_get(sec, "rows"), k, row) {
				const char *rd = str_of(row, "description", NULL);

				len += (size_t)snprintf(t + len, cap - len, "\n%zu. %s%s%s", ++n, str_of(row, "title", NULL),
							rd && *rd ? " - " : "", rd && *rd ? rd : "");
			}
			if (len + 1 < cap)
				len += (size_t)snprintf(t + len, cap - len, "\n");
		}
		if (len && t[len - 1] == '\n')
			t[--len] = '\0';
	}
	if (foot && *foot)
		snprintf(t + len, cap - len, "\n\n_%s_", foot);
	rc = text_arg(o, t, "title", why);
	free(t);
	return rc;
}

/* The content of /send and /reply (and of /spam and /broadcast): a string
 * is text; an object is one of text, location, contacts, poll or a media
 * part (Baileys' content keys; media: outmedia.c). */
static int parse_content(struct wa_out *o, const json_t *msg, const char **why, const char **code)
{
	const json_t *v;

	if (json_is_string(msg))
		return text_arg(o, json_string_value(msg), "message", why);
	if (!json_is_object(msg)) {
		*why = "'message' must be a string or an object";
		return 400;
	}
	if (wa_out_is_media(msg))
		return wa_out_parse_media(o, msg, why, code);
	if ((v = json_object_get(msg, "text")) != NULL) {
		if (!json_is_string(v)) {
			*why = "'message.text' must be a string";
			return 400;
		}
		return text_arg(o, json_string_value(v), "message.text", why);
	}
	if ((v = json_object_get(msg, "location")) != NULL) {
		if (!json_is_object(v)) {
			*why = "'message.location' must be an object";
			return 400;
		}
		return parse_location(o, v, why);
	}
	if ((v = json_object_get(msg, "contacts")) != NULL)
		return parse_contacts(o, v, why);
	if ((v = json_object_get(msg, "poll")) != NULL) {
		if (!json_is_object(v)) {
			*why = "'message.poll' must be an object";
			return 400;
		}
		return parse_poll(o, v, why);
	}
	*why = "'message' needs one of text, location, contacts or poll";
	return 400;
}

static int parse_kind(struct wa_out *o, const char *op, const json_t *args, const char **why, const char **code)
{
	const json_t *mid = json_object_get(args, "messageId");
	int rc;

	if (!strcmp(op, "message.send") || !strcmp(op, "message.reply") || !strcmp(op, "message.spam") ||
	    !strcmp(op, "message.broadcast")) {
		const json_t *msg = json_object_get(args, "message");

		if (!msg && !strcmp(op, "message.spam"))
			return text_arg(o, WA_OUT_SPAM_DEFAULT, "message", why); /* /spam with no body */
		if ((rc = parse_content(o, msg, why, code)) != 0)
			return rc;
		if (mid && (rc = id_arg(mid, &o->quoted_id, why)) != 0)
			return rc;
		return 0;
	}
	if (!strcmp(op, "message.media") || !strcmp(op, "message.sticker"))
		return wa_out_parse_upload(o, args, !strcmp(op, "message.sticker"), why, code);
	if (!strcmp(op, "message.location"))
		return parse_location(o, args, why);
	if (!strcmp(op, "message.contact"))
		return parse_contacts(o, json_object_get(args, "contacts"), why);
	if (!strcmp(op, "message.poll"))
		return parse_poll(o, args, why);
	if (!strcmp(op, "message.list"))
		return parse_list(o, args, why);
	if (!strcmp(op, "message.react")) {
		const char *e = str_of(args, "emoji", NULL);

		if (!e || strlen(e) > 64 || strpbrk(e, " \t\r\n")) {
			*why = "'emoji' must be one emoji (\"\" removes the reaction)";
			return 400;
		}
		o->kind = WA_OUT_REACTION;
		if ((rc = id_arg(mid, &o->target_id, why)) != 0)
			return rc;
		return (o->text = strdup(e)) ? 0 : -1;
	}
	if (!strcmp(op, "message.edit")) {
		o->kind = WA_OUT_EDIT;
		if ((rc = id_arg(mid, &o->target_id, why)) != 0)
			return rc;
		return text_arg(o, str_of(args, "text", NULL), "text", why);
	}
	if (!strcmp(op, "message.delete")) {
		o->kind = WA_OUT_REVOKE;
		return id_arg(mid, &o->target_id, why);
	}
	if (!strcmp(op, "message.forward")) {
		struct wa_jid j;
		char buf[WA_JID_STR_MAX];
		const char *from = str_of(args, "fromJid", NULL);

		o->kind = WA_OUT_FORWARD;
		if (!from || wa_jid_parse(from, &j, NULL) != 0 || (!wa_jid_is_user(&j) && !wa_jid_is_group(&j))) {
			*why = "'fromJid' must be the JID of the chat the message is in";
			return 400;
		}
		wa_jid_to_non_ad(&j);
		if (wa_jid_format(&j, buf, sizeof buf) < 0) {
			*why = "'fromJid' must be the JID of the chat the message is in";
			return 400;
		}
		if ((rc = id_arg(mid, &o->target_id, why)) != 0)
			return rc;
		return (o->source_chat = strdup(buf)) ? 0 : -1;
	}
	*why = "This engine does not send that kind of message";
	*code = "not_implemented";
	return 501;
}

int wa_out_parse_op(struct wa_out *o, const char *op, const json_t *args, const char **why, const char **code)
{
	const json_t *msg = json_object_get(args, "message");
	int rc;

	memset(o, 0, sizeof *o);
	*code = "validation_error";
	rc = parse_kind(o, op, args, why, code);
	/* mentions go with every content kind */
	if (rc == 0 && (o->kind <= WA_OUT_POLL || o->kind == WA_OUT_MEDIA)) {
		rc = add_mentions(o, json_object_get(args, "mentions"), why);
		if (rc == 0 && json_is_object(msg))
			rc = add_mentions(o, json_object_get(msg, "mentions"), why);
	}
	if (rc < 0) {
		*why = "Out of memory";
		*code = "internal_error";
		rc = 500;
	}
	if (rc != 0)
		wa_out_free(o);
	return rc;
}

int wa_out_parse(struct wa_out *o, const json_t *args, const char **why, const char **code)
{
	return wa_out_parse_op(o, "message.send", args, why, code);
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
	if (!o->msg)
		return WA_EPROTO;
	wa_out_stanza_attrs(o);
	return 0;
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

/* ---- build (dbpool thread) ---- */

static const char SQL_TARGET[] =
	"SELECT remote_jid AS chat, from_me AS fromMe, sender_jid AS sender, type, content, caption, "
	"media_mime AS mime, media_size AS size, deleted, HEX(raw) AS raw "
	"FROM messages WHERE wa_session_id = ? AND message_id = ?";

static int refuse(struct wa_out *o, int status, const char *why, const char *code)
{
	o->fail_status = status;
	o->fail_why = why;
	o->fail_code = code;
	return WA_EDENIED;
}

/* o->msg = an owned copy of m (packed and unpacked). */
static int own_msg(struct wa_out *o, const WaE2E__Message *m)
{
	size_t len = wa_e2_e__message__get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return WA_ENOMEM;
	wa_e2_e__message__pack(m, buf);
	o->msg = wa_e2_e__message__unpack(NULL, len, buf);
	free(buf);
	return o->msg ? 0 : WA_ENOMEM;
}

/* The contextInfo of a reply and of mentions, on the stack of the caller
 * (ci, q; *qtext is the caller's to free). 1 when there is one, 0 when
 * not, or an error. */
static int build_context(struct wa_out *o, struct wa_db *db, uint64_t row, const char *chat, const char *me,
			 WaE2E__ContextInfo *ci, WaE2E__Message *q, char **qtext)
{
	int rc;

	if (o->quoted_id) {
		free(o->quoted_chat);
		free(o->quoted_participant);
		o->quoted_chat = o->quoted_participant = NULL;
		if ((rc = read_quoted(o, db, row, me, qtext)) != 0)
			return rc;
		q->conversation = *qtext;
		ci->stanzaid = o->quoted_id;
		ci->participant = o->quoted_participant;
		ci->quotedmessage = q;
		if (strcmp(o->quoted_chat, chat) != 0)
			ci->remotejid = o->quoted_chat;
	}
	if (o->nmentions) {
		json_t *arr = json_array();

		ci->n_mentionedjid = o->nmentions;
		ci->mentionedjid = o->mentions;
		for (size_t i = 0; arr && i < o->nmentions; i++)
			if (json_array_append_new(arr, json_string(o->mentions[i])) != 0)
				json_decref(arr), arr = NULL;
		o->mentions_json = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
		json_decref(arr);
		if (!o->mentions_json)
			return WA_ENOMEM;
	}
	return o->quoted_id || o->nmentions;
}

static int build_poll(struct wa_out *o, WaE2E__Message *m, WaE2E__ContextInfo *ci)
{
	WaE2E__PollCreationMessage pc = WA_E2_E__POLL_CREATION_MESSAGE__INIT;
	WaE2E__PollCreationMessage__Option opt[WA_OUT_POLL_OPTIONS_MAX], *optp[WA_OUT_POLL_OPTIONS_MAX];
	WaE2E__MessageContextInfo mci = WA_E2_E__MESSAGE_CONTEXT_INFO__INIT;
	const json_t *opts = json_object_get(o->req, "options");
	json_int_t sel = json_integer_value(json_object_get(o->req, "selectable"));
	uint8_t secret[32];
	size_t n = json_array_size(opts);

	if (n > WA_OUT_POLL_OPTIONS_MAX || wa_random(secret, sizeof secret) != 0)
		return WA_EINTERNAL;
	for (size_t i = 0; i < n; i++) {
		wa_e2_e__poll_creation_message__option__init(&opt[i]);
		opt[i].optionname = (char *)json_string_value(json_array_get(opts, i));
		optp[i] = &opt[i];
	}
	pc.name = (char *)json_string_value(json_object_get(o->req, "name"));
	pc.n_options = n;
	pc.options = optp;
	pc.has_selectableoptionscount = 1;
	pc.selectableoptionscount = (uint32_t)sel;
	pc.contextinfo = ci;
	/* as Baileys: V3 when one option may be chosen, else V1 */
	if (sel == 1)
		m->pollcreationmessagev3 = &pc;
	else
		m->pollcreationmessage = &pc;
	mci.has_messagesecret = 1;
	mci.messagesecret.data = secret;
	mci.messagesecret.len = sizeof secret;
	m->messagecontextinfo = &mci;
	o->type = "POLL";
	if (!(o->text = strdup(pc.name)))
		return WA_ENOMEM;
	return own_msg(o, m);
}

/* "a, b, c" of a JSON array of strings (the row's content of a contact
 * card: what search finds). */
static char *names_joined(const json_t *names)
{
	size_t i, cap = 1, len = 0;
	const json_t *v;
	char *out;

	json_array_foreach(names, i, v)
		cap += strlen(json_string_value(v) ? json_string_value(v) : "") + 2;
	if (!(out = malloc(cap)))
		return NULL;
	out[0] = '\0';
	json_array_foreach(names, i, v)
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? ", " : "",
					json_string_value(v) ? json_string_value(v) : "");
	return out;
}

static int build_contacts(struct wa_out *o, WaE2E__Message *m, WaE2E__ContextInfo *ci)
{
	WaE2E__ContactMessage one[WA_OUT_CONTACTS_MAX], *onep[WA_OUT_CONTACTS_MAX];
	WaE2E__ContactsArrayMessage arr = WA_E2_E__CONTACTS_ARRAY_MESSAGE__INIT;
	size_t n = json_array_size(o->req);
	char label[48];
	json_t *names = json_array();

	if (!names)
		return WA_ENOMEM;
	for (size_t i = 0; i < n && i < WA_OUT_CONTACTS_MAX; i++) {
		const json_t *c = json_array_get(o->req, i);

		wa_e2_e__contact_message__init(&one[i]);
		one[i].displayname = (char *)json_string_value(json_object_get(c, "name"));
		one[i].vcard = (char *)json_string_value(json_object_get(c, "vcard"));
		onep[i] = &one[i];
		json_array_append_new(names, json_string(one[i].displayname));
	}
	if (n == 1) {
		one[0].contextinfo = ci;
		m->contactmessage = &one[0];
	} else {
		snprintf(label, sizeof label, "%zu contacts", n);
		arr.displayname = label;
		arr.n_contacts = n;
		arr.contacts = onep;
		arr.contextinfo = ci;
		m->contactsarraymessage = &arr;
	}
	o->type = "CONTACT";
	o->text = names_joined(names);
	json_decref(names);
	if (!o->text)
		return WA_ENOMEM;
	return own_msg(o, m);
}

/* REACTION, EDIT, REVOKE: the key of the stored target in this chat. */
static int build_action(struct wa_out *o, const json_t *t, const char *chat, const char *me, WaE2E__Message *m)
{
	WaE2E__MessageKey key = WA_E2_E__MESSAGE_KEY__INIT;
	WaE2E__ReactionMessage re = WA_E2_E__REACTION_MESSAGE__INIT;
	WaE2E__ProtocolMessage pm = WA_E2_E__PROTOCOL_MESSAGE__INIT;
	WaE2E__Message edited = WA_E2_E__MESSAGE__INIT;
	const char *tchat = json_string_value(json_object_get(t, "chat"));
	const char *sender = json_string_value(json_object_get(t, "sender"));
	const char *type = json_string_value(json_object_get(t, "type"));
	int from_me = json_is_true(json_object_get(t, "fromMe")), group = strstr(chat, "@g.us") != NULL;
	struct timespec ts;

	(void)me;
	if (!tchat || strcmp(tchat, chat) != 0)
		return refuse(o, 404, "That message is not in this chat", "not_found");
	if (json_is_true(json_object_get(t, "deleted")) && o->kind != WA_OUT_REVOKE)
		return refuse(o, 400, "That message was deleted", "message_deleted");
	clock_gettime(CLOCK_REALTIME, &ts);
	key.remotejid = (char *)chat;
	key.has_fromme = 1;
	key.fromme = from_me;
	key.id = o->target_id;
	if (group && !from_me)
		key.participant = (char *)sender;
	if (!(o->target_chat = strdup(chat)))
		return WA_ENOMEM;
	if (o->kind == WA_OUT_REACTION) {
		re.key = &key;
		re.text = o->text;
		re.has_sendertimestampms = 1;
		re.sendertimestampms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		m->reactionmessage = &re;
		o->type = "REACTION";
		return own_msg(o, m);
	}
	if (o->kind == WA_OUT_EDIT) {
		if (!from_me)
			return refuse(o, 403, "Only your own messages can be edited", "not_own_message");
		if (!type || strcmp(type, "TEXT") != 0)
			return refuse(o, 400, "Only text messages can be edited", "not_editable");
		edited.conversation = o->text;
		pm.type = WA_E2_E__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT;
		pm.editedmessage = &edited;
		pm.has_timestampms = 1;
		pm.timestampms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		o->type = "EDIT";
	} else {
		if (!from_me && !group)
			return refuse(o, 403, "Only your own messages can be deleted for everyone in a chat",
				      "not_own_message");
		pm.type = WA_E2_E__PROTOCOL_MESSAGE__TYPE__REVOKE;
		o->type = "REVOKE";
	}
	pm.has_type = 1;
	pm.key = &key;
	m->protocolmessage = &pm;
	return own_msg(o, m);
}

/* The content of a message and where its contextInfo lives. */
static WaE2E__ContextInfo **context_slot(WaE2E__Message *m)
{
	if (m->extendedtextmessage)
		return &m->extendedtextmessage->contextinfo;
	if (m->imagemessage)
		return &m->imagemessage->contextinfo;
	if (m->videomessage)
		return &m->videomessage->contextinfo;
	if (m->audiomessage)
		return &m->audiomessage->contextinfo;
	if (m->documentmessage)
		return &m->documentmessage->contextinfo;
	if (m->stickermessage)
		return &m->stickermessage->contextinfo;
	if (m->locationmessage)
		return &m->locationmessage->contextinfo;
	if (m->contactmessage)
		return &m->contactmessage->contextinfo;
	if (m->contactsarraymessage)
		return &m->contactsarraymessage->contextinfo;
	return NULL;
}

/* FORWARD: the stored message of source_chat again, marked forwarded
 * (contextInfo.isForwarded, forwardingScore + 1 unless it was ours), its
 * quote and message secret dropped (§7.6). */
static int build_forward(struct wa_out *o, const json_t *t)
{
	const char *tchat = json_string_value(json_object_get(t, "chat"));
	const char *raw = json_string_value(json_object_get(t, "raw"));
	const char *content = json_string_value(json_object_get(t, "content"));
	const char *type = json_string_value(json_object_get(t, "type"));
	WaE2E__ContextInfo **slot, *ci;
	WaE2E__Message *m;
	struct wa_out tmp;
	uint32_t score;
	int rc;

	if (!tchat || strcmp(tchat, o->source_chat) != 0)
		return refuse(o, 404, "That message is not in the chat 'fromJid' names", "not_found");
	if (json_is_true(json_object_get(t, "deleted")))
		return refuse(o, 400, "That message was deleted", "message_deleted");
	if (raw) {
		if ((rc = wa_out_from_raw(&tmp, raw)) != 0)
			return rc == WA_EPROTO ? refuse(o, 400, "That message cannot be forwarded", "not_forwardable")
					       : rc;
		m = tmp.msg;
		tmp.msg = NULL;
		wa_out_free(&tmp);
	} else if (content && type && strcmp(type, "TEXT") == 0) {
		WaE2E__Message c = WA_E2_E__MESSAGE__INIT;

		c.conversation = (char *)content;
		if ((rc = own_msg(o, &c)) != 0)
			return rc;
		m = o->msg;
		o->msg = NULL;
	} else {
		return refuse(o, 400, "That message has no stored content to forward", "not_forwardable");
	}
	/* the content itself, not its wrappers */
	while (m->ephemeralmessage && m->ephemeralmessage->message) {
		WaE2E__Message *inner = m->ephemeralmessage->message;

		m->ephemeralmessage->message = NULL;
		wa_e2_e__message__free_unpacked(m, NULL);
		m = inner;
	}
	if (m->messagecontextinfo) {
		wa_e2_e__message_context_info__free_unpacked(m->messagecontextinfo, NULL);
		m->messagecontextinfo = NULL;
	}
	if (m->conversation) {
		WaE2E__ExtendedTextMessage *et = malloc(sizeof *et);

		if (!et) {
			wa_e2_e__message__free_unpacked(m, NULL);
			return WA_ENOMEM;
		}
		wa_e2_e__extended_text_message__init(et);
		et->text = m->conversation;
		m->conversation = NULL;
		m->extendedtextmessage = et;
	}
	if (!(slot = context_slot(m))) {
		wa_e2_e__message__free_unpacked(m, NULL);
		return refuse(o, 400, "That kind of message cannot be forwarded", "not_forwardable");
	}
	if (!*slot) {
		if (!(*slot = malloc(sizeof **slot))) {
			wa_e2_e__message__free_unpacked(m, NULL);
			return WA_ENOMEM;
		}
		wa_e2_e__context_info__init(*slot);
	}
	ci = *slot;
	score = ci->has_forwardingscore ? ci->forwardingscore : 0;
	if (!json_is_true(json_object_get(t, "fromMe")) || score > 0)
		score++;
	free(ci->stanzaid);
	free(ci->participant);
	free(ci->remotejid);
	ci->stanzaid = ci->participant = ci->remotejid = NULL;
	if (ci->quotedmessage)
		wa_e2_e__message__free_unpacked(ci->quotedmessage, NULL);
	ci->quotedmessage = NULL;
	ci->has_isforwarded = 1;
	ci->isforwarded = 1;
	ci->has_forwardingscore = score > 0;
	ci->forwardingscore = score;
	o->msg = m;
	o->type = type ? (strcmp(type, "TEXT") == 0 ? "TEXT" : NULL) : NULL;
	if (!o->type) {
		/* the stored kind, kept as it was (a static copy of the name) */
		static const char *const kinds[] = { "IMAGE", "VIDEO", "AUDIO", "PTT", "DOCUMENT", "STICKER",
						     "LOCATION", "CONTACT", "POLL", NULL };

		for (size_t i = 0; kinds[i]; i++)
			if (type && strcmp(type, kinds[i]) == 0)
				o->type = kinds[i];
	}
	if ((content && !(o->text = strdup(content))) ||
	    (json_string_value(json_object_get(t, "caption")) &&
	     !(o->caption = strdup(json_string_value(json_object_get(t, "caption"))))) ||
	    (json_string_value(json_object_get(t, "mime")) &&
	     !(o->media_mime = strdup(json_string_value(json_object_get(t, "mime"))))))
		return WA_ENOMEM;
	o->media_size = (uint64_t)json_integer_value(json_object_get(t, "size"));
	return 0;
}

static void build_reset(struct wa_out *o)
{
	if (o->msg) {
		wa_e2_e__message__free_unpacked(o->msg, NULL);
		o->msg = NULL;
	}
	free(o->mentions_json);
	free(o->target_chat);
	free(o->caption);
	free(o->media_mime);
	o->mentions_json = o->target_chat = o->caption = o->media_mime = NULL;
	o->media_size = 0;
	o->type = o->stanza_type = o->edit = o->polltype = o->mediatype = NULL;
	o->hide_fail = 0;
	o->fail_status = 0;
	o->fail_why = o->fail_code = NULL;
	if (o->kind == WA_OUT_POLL || o->kind == WA_OUT_CONTACT || o->kind == WA_OUT_LOCATION ||
	    o->kind == WA_OUT_FORWARD) {
		free(o->text); /* made by the build */
		o->text = NULL;
	}
}

int wa_out_build(struct wa_out *o, struct wa_db *db, uint64_t row, const char *chat, const char *me)
{
	WaE2E__Message m = WA_E2_E__MESSAGE__INIT, q = WA_E2_E__MESSAGE__INIT;
	WaE2E__ExtendedTextMessage et = WA_E2_E__EXTENDED_TEXT_MESSAGE__INIT;
	WaE2E__LocationMessage loc = WA_E2_E__LOCATION_MESSAGE__INIT;
	WaE2E__ContextInfo ci = WA_E2_E__CONTEXT_INFO__INIT;
	char *qtext = NULL;
	json_t *t;
	int rc = 0, err = 0, has_ci;

	build_reset(o);
	if (o->kind == WA_OUT_REACTION || o->kind == WA_OUT_EDIT || o->kind == WA_OUT_REVOKE ||
	    o->kind == WA_OUT_FORWARD) {
		t = wa_db_row(db, &err, SQL_TARGET, "us", (unsigned long long)row, o->target_id);
		if (err)
			return WA_ESTORAGE;
		if (!t)
			return refuse(o, 404, "That message is not stored for this session", "not_found");
		rc = o->kind == WA_OUT_FORWARD ? build_forward(o, t) : build_action(o, t, chat, me, &m);
		json_decref(t);
		if (rc == 0)
			wa_out_stanza_attrs(o);
		return rc;
	}
	if ((has_ci = build_context(o, db, row, chat, me, &ci, &q, &qtext)) < 0) {
		rc = has_ci;
		goto out;
	}
	switch (o->kind) {
	case WA_OUT_LOCATION:
		loc.has_degreeslatitude = loc.has_degreeslongitude = 1;
		loc.degreeslatitude = json_real_value(json_object_get(o->req, "lat"));
		loc.degreeslongitude = json_real_value(json_object_get(o->req, "lon"));
		loc.name = (char *)json_string_value(json_object_get(o->req, "name"));
		loc.address = (char *)json_string_value(json_object_get(o->req, "address"));
		loc.contextinfo = has_ci ? &ci : NULL;
		m.locationmessage = &loc;
		o->type = "LOCATION";
		if ((loc.name || loc.address) &&
		    !(o->text = malloc((loc.name ? strlen(loc.name) : 0) + (loc.address ? strlen(loc.address) : 0) + 3))) {
			rc = WA_ENOMEM;
			break;
		}
		if (o->text)
			sprintf(o->text, "%s%s%s", loc.name ? loc.name : "", loc.name && loc.address ? ", " : "",
				loc.address ? loc.address : "");
		rc = own_msg(o, &m);
		break;
	case WA_OUT_CONTACT:
		rc = build_contacts(o, &m, has_ci ? &ci : NULL);
		break;
	case WA_OUT_POLL:
		rc = build_poll(o, &m, has_ci ? &ci : NULL);
		break;
	case WA_OUT_MEDIA: {
		uint8_t *buf = NULL;
		size_t len = 0;

		if ((rc = wa_out_media_pack(o, has_ci ? &ci : NULL, &buf, &len)) != 0)
			break;
		o->msg = wa_e2_e__message__unpack(NULL, len, buf);
		free(buf);
		rc = o->msg ? 0 : WA_ENOMEM;
		break;
	}
	case WA_OUT_TEXT:
		if (has_ci || o->look) {
			et.text = o->text;
			et.contextinfo = has_ci ? &ci : NULL;
			et.has_backgroundargb = (o->look & WA_OUT_LOOK_BG) != 0;
			et.backgroundargb = o->bg_argb;
			et.has_textargb = (o->look & WA_OUT_LOOK_TEXT) != 0;
			et.textargb = o->text_argb;
			et.has_font = (o->look & WA_OUT_LOOK_FONT) != 0;
			et.font = (WaE2E__ExtendedTextMessage__FontType)o->font;
			m.extendedtextmessage = &et;
		} else {
			m.conversation = o->text;
		}
		o->type = "TEXT";
		rc = own_msg(o, &m);
		break;
	default:
		rc = refuse(o, 501, "This engine does not send that kind of message yet", "not_implemented");
		break;
	}
out:
	free(qtext);
	if (rc == 0)
		wa_out_stanza_attrs(o);
	return rc;
}

void wa_out_stanza_attrs(struct wa_out *o)
{
	const WaE2E__Message *m = o->msg;

	o->stanza_type = NULL;
	o->edit = o->polltype = o->mediatype = NULL;
	o->hide_fail = 0;
	if (!m)
		return;
	while (m->ephemeralmessage && m->ephemeralmessage->message)
		m = m->ephemeralmessage->message;
	if (m->reactionmessage) {
		o->stanza_type = "reaction";
		o->hide_fail = 1;
	} else if (m->pollcreationmessage || m->pollcreationmessagev2 || m->pollcreationmessagev3) {
		o->stanza_type = "poll";
		o->polltype = "creation";
	} else if (m->protocolmessage && m->protocolmessage->has_type &&
		   m->protocolmessage->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT) {
		o->edit = "1";
		o->hide_fail = 1;
	} else if (m->protocolmessage && m->protocolmessage->has_type &&
		   m->protocolmessage->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__REVOKE) {
		/* "8": a group admin deletes someone else's message */
		o->edit = m->protocolmessage->key && m->protocolmessage->key->has_fromme &&
			  !m->protocolmessage->key->fromme ? "8" : "7";
	} else if (m->imagemessage || m->videomessage || m->audiomessage || m->documentmessage ||
		   m->stickermessage) {
		o->stanza_type = "media";
		o->mediatype = m->imagemessage ? "image" : m->videomessage ? (m->videomessage->gifplayback ? "gif" : "video")
			       : m->audiomessage ? (m->audiomessage->ptt ? "ptt" : "audio")
			       : m->documentmessage ? "document" : "sticker";
	} else if (m->contactmessage) {
		o->stanza_type = "media";
		o->mediatype = "vcard";
	} else if (m->contactsarraymessage) {
		o->stanza_type = "media";
		o->mediatype = "contact_array";
	}
}
/* ---- the answer ---- */

static json_t *key_json(const WaE2E__MessageKey *k)
{
	if (!k)
		return json_null();
	return json_pack("{s:s,s:b,s:s,s:s*}", "remoteJid", k->remotejid ? k->remotejid : "", "fromMe",
			 k->has_fromme && k->fromme, "id", k->id ? k->id : "", "participant", k->participant);
}

static json_t *ctx_json(const WaE2E__ContextInfo *ci)
{
	json_t *ctx = json_object(), *mj;

	if (!ci || !ctx)
		return ctx;
	if (ci->stanzaid) {
		json_object_set_new(ctx, "stanzaId", json_string(ci->stanzaid));
		json_object_set_new(ctx, "participant", json_string(ci->participant ? ci->participant : ""));
		if (ci->remotejid)
			json_object_set_new(ctx, "remoteJid", json_string(ci->remotejid));
		if (ci->quotedmessage && ci->quotedmessage->conversation)
			json_object_set_new(ctx, "quotedMessage",
					    json_pack("{s:s}", "conversation", ci->quotedmessage->conversation));
	}
	if (ci->n_mentionedjid) {
		mj = json_array();
		for (size_t i = 0; i < ci->n_mentionedjid; i++)
			json_array_append_new(mj, json_string(ci->mentionedjid[i]));
		json_object_set_new(ctx, "mentionedJid", mj);
	}
	if (ci->has_isforwarded && ci->isforwarded) {
		json_object_set_new(ctx, "isForwarded", json_true());
		json_object_set_new(ctx, "forwardingScore", json_integer(ci->forwardingscore));
	}
	return ctx;
}

/* Adds "contextInfo" to obj when ci says anything. */
static json_t *with_ctx(json_t *obj, const WaE2E__ContextInfo *ci)
{
	if (obj && ci)
		json_object_set_new(obj, "contextInfo", ctx_json(ci));
	return obj;
}

static json_t *poll_json(const WaE2E__PollCreationMessage *pc)
{
	json_t *opts = json_array();

	for (size_t i = 0; opts && i < pc->n_options; i++)
		json_array_append_new(opts, json_pack("{s:s}", "optionName",
						      pc->options[i]->optionname ? pc->options[i]->optionname : ""));
	return with_ctx(json_pack("{s:s,s:o,s:i}", "name", pc->name ? pc->name : "", "options", opts,
				  "selectableOptionsCount", (int)pc->selectableoptionscount),
			pc->contextinfo);
}

static json_t *contact_json(const WaE2E__ContactMessage *c)
{
	return with_ctx(json_pack("{s:s,s:s}", "displayName", c->displayname ? c->displayname : "", "vcard",
				  c->vcard ? c->vcard : ""),
			c->contextinfo);
}

static json_t *content_json(const struct wa_out *o)
{
	const WaE2E__Message *m = o->msg;
	const char *name;
	json_t *body;

	if (!m)
		return json_pack("{s:s}", "conversation", o->text ? o->text : "");
	if (m->conversation)
		return json_pack("{s:s}", "conversation", m->conversation);
	if (m->extendedtextmessage)
		return json_pack("{s:o}", "extendedTextMessage",
				 with_ctx(json_pack("{s:s}", "text", m->extendedtextmessage->text ?
								     m->extendedtextmessage->text : ""),
					  m->extendedtextmessage->contextinfo));
	if (m->locationmessage) {
		const WaE2E__LocationMessage *l = m->locationmessage;

		return json_pack("{s:o}", "locationMessage",
				 with_ctx(json_pack("{s:f,s:f,s:s*,s:s*}", "degreesLatitude", l->degreeslatitude,
						    "degreesLongitude", l->degreeslongitude, "name", l->name, "address",
						    l->address),
					  l->contextinfo));
	}
	if (m->contactmessage)
		return json_pack("{s:o}", "contactMessage", contact_json(m->contactmessage));
	if (m->contactsarraymessage) {
		json_t *arr = json_array();

		for (size_t i = 0; arr && i < m->contactsarraymessage->n_contacts; i++)
			json_array_append_new(arr, contact_json(m->contactsarraymessage->contacts[i]));
		return json_pack("{s:o}", "contactsArrayMessage",
				 with_ctx(json_pack("{s:s,s:o}", "displayName",
						    m->contactsarraymessage->displayname ?
						    m->contactsarraymessage->displayname : "",
						    "contacts", arr),
					  m->contactsarraymessage->contextinfo));
	}
	if (m->pollcreationmessage || m->pollcreationmessagev3) {
		name = m->pollcreationmessage ? "pollCreationMessage" : "pollCreationMessageV3";
		return json_pack("{s:o}", name, poll_json(m->pollcreationmessage ? m->pollcreationmessage
										 : m->pollcreationmessagev3));
	}
	if (m->reactionmessage)
		return json_pack("{s:{s:o,s:s}}", "reactionMessage", "key", key_json(m->reactionmessage->key), "text",
				 m->reactionmessage->text ? m->reactionmessage->text : "");
	if (m->protocolmessage) {
		const WaE2E__ProtocolMessage *pm = m->protocolmessage;
		int edit = pm->has_type && pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT;

		body = json_pack("{s:o,s:s}", "key", key_json(pm->key), "type", edit ? "MESSAGE_EDIT" : "REVOKE");
		if (body && edit && pm->editedmessage && pm->editedmessage->conversation)
			json_object_set_new(body, "editedMessage",
					    json_pack("{s:s}", "conversation", pm->editedmessage->conversation));
		return json_pack("{s:o}", "protocolMessage", body);
	}
	if ((body = wa_out_media_json(o)) != NULL)
		return body;
	/* other kinds (forwarded as they were stored): their name and
	 * caption; the protobuf itself stays in the store */
	body = json_object();
	if (o->caption)
		json_object_set_new(body, "caption", json_string(o->caption));
	if (o->media_mime)
		json_object_set_new(body, "mimetype", json_string(o->media_mime));
	name = m->imagemessage ? "imageMessage" : m->videomessage ? "videoMessage" : m->audiomessage ? "audioMessage"
	       : m->documentmessage ? "documentMessage" : m->stickermessage ? "stickerMessage" : "message";
	return json_pack("{s:o}", name, body);
}

json_t *wa_out_json(const struct wa_out *o)
{
	json_t *j = content_json(o);

	/* strings of a stored protobuf that are not UTF-8 make no JSON: the
	 * answer then names no content rather than failing */
	return j ? j : json_object();
}
