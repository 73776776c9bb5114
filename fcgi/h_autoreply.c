/* h_autoreply: keyword auto-reply rules of a session (auto_replies), which
 * the engine answers. Responses use the API's {status, message, data}
 * wrapper (the reference documents no other shape for these routes).
 *
 * A rule id from another session is "not found": every statement is scoped
 * by wa_session_id. Keywords are checked with the engine's matcher
 * (common/wa_match.h: PCRE2, case-insensitive; REGEX is a Perl-style
 * pattern), so the engine never meets a broken one. */
#include "fcgi/db.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "wa_log.h"

#include "wa_match.h"

#include <string.h>

#define AR_SELECT \
	"SELECT CAST(a.id AS CHAR) AS id, CAST(a.wa_session_id AS CHAR) AS sessionId, a.keyword, a.response, " \
	"a.match_type AS matchType, a.is_media AS isMedia, a.media_url AS mediaUrl, a.trigger_type AS triggerType, " \
	"a.enabled, a.created_at AS createdAt, a.updated_at AS updatedAt FROM auto_replies a "

static const struct wa_field f_rule[] = {
	{ "keyword", WA_F_STR, 1, "255" },
	{ "response", WA_F_STR, 1, "4096" },
	{ "matchType", WA_F_ENUM, 0, "EXACT|CONTAINS|STARTS_WITH|REGEX" },
	{ "isMedia", WA_F_BOOL, 0, NULL },
	{ "mediaUrl", WA_F_STR0, 0, NULL },
	{ "triggerType", WA_F_ENUM, 0, "ALL|GROUP|PRIVATE" },
	{ "enabled", WA_F_BOOL, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

/* Body checks shared by create and update; `old_*` are the stored values
 * for the cross-field rules (NULL on create). */
static int check_rule(struct wa_req *r, const char *old_match, int old_media, const char *old_url)
{
	const char *kw = wa_body_str(r, "keyword"), *match = wa_body_str(r, "matchType");
	const char *url = wa_body_str(r, "mediaUrl");
	int media = wa_body_bool(r, "isMedia", old_media);
	char why[200];

	if (!match)
		match = old_match ? old_match : "EXACT";
	if (kw && wa_match_check((enum wa_match_type)wa_match_type_parse(match), kw, why, sizeof why) != 0)
		return wa_reply_errorf(r, 400, "validation_error", "'keyword' is not usable with matchType %s: %s",
				       match, why);
	if (wa_check_media_url(r, "mediaUrl", url) < 0)
		return -1;
	if (!url)
		url = old_url;
	if (media && (!url || !*url))
		return wa_reply_error(r, 400, "'mediaUrl' is required when 'isMedia' is true", "validation_error");
	return 0;
}

static json_t *load_rule(struct wa_req *r, unsigned long long id)
{
	return wa_db_row(r->db, NULL, AR_SELECT "WHERE a.id = ? AND a.wa_session_id = ?", "uu", id,
			 (unsigned long long)r->sess.id);
}

int h_ar_list(struct wa_req *r)
{
	json_t *rows = wa_db_query(r->db, AR_SELECT "WHERE a.wa_session_id = ? ORDER BY a.created_at, a.id", "u",
				   (unsigned long long)r->sess.id);

	if (!rows)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_ok(r, 200, "Auto-reply rules retrieved", rows);
}

int h_ar_create(struct wa_req *r)
{
	json_t *row;
	const char *url;

	if (wa_body_begin(r, 0, f_rule) < 0 || check_rule(r, NULL, 0, NULL) < 0)
		return -1;
	url = wa_body_str(r, "mediaUrl");
	if (wa_db_exec(r->db,
		       "INSERT INTO auto_replies (wa_session_id, keyword, response, match_type, is_media, media_url, "
		       "trigger_type, enabled) VALUES (?, ?, ?, COALESCE(?, 'EXACT'), ?, ?, COALESCE(?, 'ALL'), ?)",
		       "usssbssb", (unsigned long long)r->sess.id, wa_body_str(r, "keyword"),
		       wa_body_str(r, "response"), wa_body_str(r, "matchType"), wa_body_bool(r, "isMedia", 0),
		       url && *url ? url : NULL, wa_body_str(r, "triggerType"), wa_body_bool(r, "enabled", 1)) < 0)
		return wa_reply_db_error(r, "Cannot create the rule");
	row = load_rule(r, r->db->last_insert_id);
	if (!row)
		return wa_reply_db_error(r, "Database error");
	wa_info("session %s: auto-reply %llu created", r->sess.slug, (unsigned long long)r->db->last_insert_id);
	return wa_reply_ok(r, 200, "Auto-reply rule created", row);
}

int h_ar_update(struct wa_req *r)
{
	unsigned long long id;
	json_t *old, *row;
	const char *url;
	int rc;

	if (wa_path_id(r, "replyId", &id) < 0 || wa_body_begin(r, 0, f_rule) < 0)
		return -1;
	if (!(old = load_rule(r, id)))
		return wa_reply_errorf(r, 404, "not_found", "Auto-reply rule %llu not found in this session", id);
	rc = check_rule(r, json_string_value(json_object_get(old, "matchType")),
			json_is_true(json_object_get(old, "isMedia")),
			json_string_value(json_object_get(old, "mediaUrl")));
	json_decref(old);
	if (rc < 0)
		return -1;
	url = wa_body_str(r, "mediaUrl");
	/* keyword and response are required (PUT); absent optional fields keep
	 * their value, mediaUrl "" clears it. */
	if (wa_db_exec(r->db,
		       "UPDATE auto_replies SET keyword = ?, response = ?, match_type = COALESCE(?, match_type), "
		       "is_media = COALESCE(?, is_media), media_url = IF(? IS NULL, media_url, NULLIF(?, '')), "
		       "trigger_type = COALESCE(?, trigger_type), enabled = COALESCE(?, enabled) "
		       "WHERE id = ? AND wa_session_id = ?",
		       "ssssssssuu", wa_body_str(r, "keyword"), wa_body_str(r, "response"), wa_body_str(r, "matchType"),
		       json_is_boolean(json_object_get(r->json, "isMedia")) ? (wa_body_bool(r, "isMedia", 0) ? "1" : "0") : NULL,
		       url, url, wa_body_str(r, "triggerType"),
		       json_is_boolean(json_object_get(r->json, "enabled")) ? (wa_body_bool(r, "enabled", 1) ? "1" : "0") : NULL,
		       id, (unsigned long long)r->sess.id) < 0)
		return wa_reply_db_error(r, "Cannot update the rule");
	row = load_rule(r, id);
	if (!row)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_ok(r, 200, "Auto-reply rule updated", row);
}

int h_ar_delete(struct wa_req *r)
{
	unsigned long long id;
	long long n;

	if (wa_path_id(r, "replyId", &id) < 0)
		return -1;
	n = wa_db_exec(r->db, "DELETE FROM auto_replies WHERE id = ? AND wa_session_id = ?", "uu", id,
		       (unsigned long long)r->sess.id);
	if (n < 0)
		return wa_reply_db_error(r, "Cannot delete the rule");
	if (n == 0)
		return wa_reply_errorf(r, 404, "not_found", "Auto-reply rule %llu not found in this session", id);
	return wa_reply_ok(r, 200, "Auto-reply rule deleted", json_pack("{s:s}", "id", wa_req_path_param(r, "replyId")));
}

int h_ar_delete_all(struct wa_req *r)
{
	long long n = wa_db_exec(r->db, "DELETE FROM auto_replies WHERE wa_session_id = ?", "u",
				 (unsigned long long)r->sess.id);

	if (n < 0)
		return wa_reply_db_error(r, "Cannot delete the rules");
	wa_info("session %s: %lld auto-replies deleted", r->sess.slug, n);
	return wa_reply_ok(r, 200, "Autoreplies deleted", json_pack("{s:I}", "count", (json_int_t)n));
}
