/* autoreply: rules matched, answers queued (see autoreply.h). */
#include "engine/store/autoreply.h"
#include "fcgi/db.h"
#include "wa/jid.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa_match.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

int wa_jid_in_list(const char *list_json, const char *jid)
{
	json_t *arr = list_json ? json_loads(list_json, 0, NULL) : NULL, *v;
	size_t i, ul = strcspn(jid, "@:");
	int hit = 0;

	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		struct wa_jid j;
		char norm[WA_JID_STR_MAX];

		if (!s)
			continue;
		if (strchr(s, '@') && wa_jid_parse(s, &j, NULL) == 0) {
			wa_jid_to_non_ad(&j);
			if (wa_jid_format(&j, norm, sizeof norm) >= 0 && strcmp(norm, jid) == 0)
				hit = 1;
		} else {
			/* a bare number, maybe with '+' */
			if (*s == '+')
				s++;
			if (strlen(s) == ul && strncmp(s, jid, ul) == 0 && strstr(jid, "@s.whatsapp.net"))
				hit = 1;
		}
		if (hit)
			break;
	}
	json_decref(arr);
	return hit;
}

/* May the message be answered at all (the session's auto-reply mode)? */
static int allowed(const json_t *cfg, const struct wa_ar_msg *m)
{
	const char *mode = json_string_value(json_object_get(cfg, "ar_mode"));
	const char *allow = json_string_value(json_object_get(cfg, "ar_allow"));
	const char *block = json_string_value(json_object_get(cfg, "ar_block"));

	if (!mode)
		mode = "ALL";
	if (!strcmp(mode, "OWNER"))
		return m->from_me;
	if (m->from_me)
		return 0;
	if (!strcmp(mode, "SPECIFIC"))
		return wa_jid_in_list(allow, m->sender) || wa_jid_in_list(allow, m->chat);
	if (!strcmp(mode, "BLACKLIST"))
		return !wa_jid_in_list(block, m->sender) && !wa_jid_in_list(block, m->chat);
	return 1;
}

/* The media kind of a URL, from its extension (image by default). */
static const char *media_kind(const char *url)
{
	static const struct { const char *ext, *kind; } kinds[] = {
		{ ".mp4", "video" }, { ".mov", "video" }, { ".3gp", "video" }, { ".webm", "video" },
		{ ".mp3", "audio" }, { ".ogg", "audio" }, { ".opus", "audio" }, { ".m4a", "audio" }, { ".wav", "audio" },
		{ ".pdf", "document" }, { ".doc", "document" }, { ".docx", "document" }, { ".xls", "document" },
		{ ".xlsx", "document" }, { ".zip", "document" }, { ".txt", "document" }, { ".csv", "document" },
		{ ".webp", "sticker" },
	};
	size_t ul = strcspn(url, "?#");

	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t el = strlen(kinds[i].ext);

		if (ul > el && strncasecmp(url + ul - el, kinds[i].ext, el) == 0)
			return kinds[i].kind;
	}
	return "image";
}

int wa_autoreply_queue(struct wa_db *db, uint64_t row, const struct wa_ar_msg *m, const json_t *cfg,
		       long per_chat_per_min, int *queued)
{
	unsigned long long sid = (unsigned long long)row;
	int group = strstr(m->chat, "@g.us") != NULL;
	json_t *rules, *rule = NULL, *r;
	long long recent;
	size_t i;

	*queued = 0;
	/* a session without rules costs no query here (session_counts) */
	if (!m->text || !*m->text || !m->id || !cfg || json_integer_value(json_object_get(cfg, "ar_rules")) == 0)
		return 0;
	rules = wa_db_query(db, "SELECT id, keyword, response, match_type AS type, is_media AS media, media_url AS url, "
			    "trigger_type AS trig FROM auto_replies WHERE wa_session_id = ? AND enabled = 1 ORDER BY id",
			    "u", sid);
	if (!rules)
		return WA_ESTORAGE;
	json_array_foreach(rules, i, r) {
		const char *trig = json_string_value(json_object_get(r, "trig"));
		int t = wa_match_type_parse(json_string_value(json_object_get(r, "type")));

		if (trig && ((!strcmp(trig, "GROUP") && !group) || (!strcmp(trig, "PRIVATE") && group)))
			continue;
		if (t >= 0 && wa_match((enum wa_match_type)t, json_string_value(json_object_get(r, "keyword")),
				       m->text) == 1) {
			rule = r;
			break;
		}
	}
	if (!rule) {
		json_decref(rules);
		return 0;
	}
	if (!allowed(cfg, m)) {
		json_decref(rules);
		return 0;
	}
	recent = wa_db_int(db, -1, "SELECT COUNT(*) FROM scheduled_messages WHERE wa_session_id = ? AND "
			   "origin = 'AUTO_REPLY' AND jid = ? AND created_at > NOW(3) - INTERVAL 1 MINUTE", "us", sid,
			   m->chat);
	if (recent < 0) {
		json_decref(rules);
		return WA_ESTORAGE;
	}
	if (recent >= per_chat_per_min) {
		wa_warn("auto-reply rule %lld not answering %s in %s: %lld answers to that chat in the last minute "
			"(autoreply.per_chat_per_minute)", json_integer_value(json_object_get(rule, "id")), m->id, m->chat,
			recent);
		json_decref(rules);
		return 0;
	}
	{
		int media = json_is_true(json_object_get(rule, "media")) ||
			    json_integer_value(json_object_get(rule, "media")) == 1;
		const char *url = json_string_value(json_object_get(rule, "url"));
		long long n;

		if (media && (!url || !*url))
			media = 0;
		n = wa_db_exec(db, "INSERT INTO scheduled_messages (wa_session_id, jid, content, media_url, media_type, "
			       "send_at, origin, source_message_id) VALUES (?, ?, ?, ?, ?, NOW(3), 'AUTO_REPLY', ?) "
			       "ON DUPLICATE KEY UPDATE id = id", "usssss", sid, m->chat,
			       json_string_value(json_object_get(rule, "response")), media ? url : NULL,
			       media ? media_kind(url) : NULL, m->id);
		json_decref(rules);
		if (n < 0)
			return WA_ESTORAGE;
		*queued = n == 1;
	}
	return 0;
}
