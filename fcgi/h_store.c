/* h_store: reads of what the engine stored for a session: the chat list,
 * a chat's message history, message search and the groups.
 *
 * Shapes: the chat list, history and groups are bare arrays (as in the
 * reference examples); search is {success, data, pagination}. Every list
 * has a hard cap. Search uses the FULLTEXT index (MATCH ... AGAINST in
 * boolean mode with every word required and operators stripped from the
 * user's text), and falls back to LIKE when a word is shorter than
 * InnoDB's minimum token size or FULLTEXT finds nothing (stop-words). */
#include "fcgi/db.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "wa/jid.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHAT_LIST_MAX 5000
#define HISTORY_MAX 100
/* The rows of our own reactions, edits and deletes are sends of their own
 * (recorded, acked, sent again on a retry), not messages of the chat: the
 * reads show their effect on the message they name instead. */
#define NOT_SIDE "m.type NOT IN ('REACTION', 'EDIT', 'REVOKE') "
#define SEARCH_MAX 100
#define SEARCH_Q_MAX 200

/* Message columns shared by history and search (API names of the search
 * response, plus a few more). */
#define MSG_COLS \
	"CAST(m.id AS CHAR) AS id, m.remote_jid AS remoteJid, m.from_me AS fromMe, m.message_id AS keyId, " \
	"m.push_name AS pushName, m.type, m.content, m.status, m.timestamp, m.quoted_id AS quoteId, " \
	"m.caption, m.sender_jid AS senderJid, m.media_mime AS mimetype, m.media_size AS mediaSize, " \
	"(m.media_path IS NOT NULL OR m.media_mime IS NOT NULL) AS _hasMedia, m.starred, m.edited, m.deleted, " \
	"m.reaction, m.meta "

/* Percent-encode a path segment (message ids are normally [0-9A-F]). */
static void seg_encode(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in && o + 4 < len; in++) {
		unsigned char c = (unsigned char)*in;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* mediaUrl from _hasMedia; booleans typed. */
static void shape_message(struct wa_req *r, json_t *row)
{
	char sess[200], mid[400], url[700];
	static const char *const bools[] = { "fromMe", "starred", "edited", "deleted", NULL };

	for (size_t i = 0; bools[i]; i++)
		wa_row_bool_col(row, bools[i]);
	if (json_is_true(json_object_get(row, "_hasMedia")) ||
	    json_integer_value(json_object_get(row, "_hasMedia")) == 1) {
		seg_encode(r->sess.slug, sess, sizeof sess);
		seg_encode(json_string_value(json_object_get(row, "keyId")) ?
			   json_string_value(json_object_get(row, "keyId")) : "", mid, sizeof mid);
		snprintf(url, sizeof url, "/api/messages/%s/download/%s/media", sess, mid);
		json_object_set_new(row, "mediaUrl", json_string(url));
	} else {
		json_object_set_new(row, "mediaUrl", json_null());
	}
	json_object_del(row, "_hasMedia");
	/* meta: the kind's own fields (docs/engine.md), an object or null */
	if (json_is_string(json_object_get(row, "meta"))) {
		json_t *meta = json_loads(json_string_value(json_object_get(row, "meta")), 0, NULL);

		json_object_set_new(row, "meta", json_is_object(meta) ? meta : json_null());
		if (!json_is_object(meta))
			json_decref(meta);
	}
}

/* ---- chat list ------------------------------------------------------------- */

int h_chat_list(struct wa_req *r)
{
	unsigned long long sid = r->sess.id;
	long long limit;
	json_t *rows, *row;
	size_t i;

	if (wa_query_int(r, "limit", 1, CHAT_LIST_MAX, CHAT_LIST_MAX, &limit) < 0)
		return -1;
	/* Every chat and every contact once, with its newest message. */
	rows = wa_db_query(r->db,
		"SELECT x.jid, COALESCE(k.name, c.name, g.subject, k.verified_name) AS name, k.notify, "
		"k.img_url AS profilePic, x.jid LIKE '%@g.us' AS isGroup, COALESCE(c.unread_count, 0) AS unreadCount, "
		"COALESCE(c.archived, 0) AS archived, COALESCE(c.pinned, 0) AS pinned, c.muted_until AS mutedUntil, "
		"COALESCE(c.last_message_at, lm.timestamp) AS lastMessageAt, "
		"lm.message_id AS _lmId, lm.content AS _lmContent, lm.type AS _lmType, lm.from_me AS _lmFromMe, "
		"lm.timestamp AS _lmTimestamp, lm.status AS _lmStatus "
		/* The newest message is found in the join condition, not in a column of
		 * the derived table: MariaDB 10.11 fails to re-execute a prepared
		 * statement whose derived UNION table carries a correlated subquery
		 * ("Unknown column" on the second run), and statements are cached. */
		"FROM (SELECT jid FROM chats WHERE wa_session_id = ? UNION SELECT jid FROM contacts "
		"      WHERE wa_session_id = ?) x "
		"LEFT JOIN chats c ON c.wa_session_id = ? AND c.jid = x.jid "
		"LEFT JOIN contacts k ON k.wa_session_id = ? AND k.jid = x.jid "
		"LEFT JOIN wa_groups g ON g.wa_session_id = ? AND g.jid = x.jid "
		"LEFT JOIN messages lm ON lm.id = (SELECT m.id FROM messages m WHERE m.wa_session_id = ? "
		"      AND m.remote_jid = x.jid AND " NOT_SIDE "ORDER BY m.timestamp DESC, m.id DESC LIMIT 1) "
		"ORDER BY COALESCE(c.pinned, 0) DESC, COALESCE(c.last_message_at, lm.timestamp) IS NULL, "
		"COALESCE(c.last_message_at, lm.timestamp) DESC, x.jid LIMIT ?",
		"uuuuuui", sid, sid, sid, sid, sid, sid, limit);
	if (!rows)
		return wa_reply_db_error(r, "Database error");
	json_array_foreach(rows, i, row) {
		json_t *lm = json_null();

		wa_row_bool_col(row, "isGroup");
		wa_row_bool_col(row, "archived");
		wa_row_bool_col(row, "pinned");
		if (json_is_string(json_object_get(row, "_lmId"))) {
			lm = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "keyId", json_object_get(row, "_lmId"),
				       "content", json_object_get(row, "_lmContent"), "type", json_object_get(row, "_lmType"),
				       "fromMe", json_object_get(row, "_lmFromMe"),
				       "timestamp", json_object_get(row, "_lmTimestamp"),
				       "status", json_object_get(row, "_lmStatus"));
			if (lm)
				wa_row_bool_col(lm, "fromMe");
		}
		json_object_set_new(row, "lastMessage", lm ? lm : json_null());
		json_object_del(row, "_lmId");
		json_object_del(row, "_lmContent");
		json_object_del(row, "_lmType");
		json_object_del(row, "_lmFromMe");
		json_object_del(row, "_lmTimestamp");
		json_object_del(row, "_lmStatus");
	}
	return wa_reply_json(r, 200, rows);
}

/* ---- history --------------------------------------------------------------- */

int h_chat_history(struct wa_req *r)
{
	char jid[WA_JID_STR_MAX], before[160], *ts = NULL;
	long long limit, page;
	unsigned long long before_id = 0;
	json_t *rows, *row, *anchor = NULL;
	size_t i;
	int is_group, err = 0, rc;

	if (wa_validate_jid(r, "jid", wa_req_path_param(r, "jid"), jid, sizeof jid) < 0 ||
	    wa_query_int(r, "limit", 1, HISTORY_MAX, HISTORY_MAX, &limit) < 0 ||
	    wa_query_int(r, "page", 1, 100000, 1, &page) < 0)
		return -1;
	/* ?before=<messageId>: the page of messages older than that one. */
	if ((rc = wa_query_get(r, "before", before, sizeof before)) < 0)
		return -1;
	if (rc && *before) {
		anchor = wa_db_row(r->db, &err,
				   "SELECT DATE_FORMAT(timestamp, '%Y-%m-%d %H:%i:%s.%f') AS ts, id FROM messages "
				   "WHERE wa_session_id = ? AND remote_jid = ? AND message_id = ?", "uss",
				   (unsigned long long)r->sess.id, jid, before);
		if (err)
			return wa_reply_db_error(r, "Database error");
		if (!anchor)
			return wa_reply_errorf(r, 404, "not_found", "Message '%.128s' (before) not found in this chat",
					       before);
		ts = (char *)json_string_value(json_object_get(anchor, "ts"));
		before_id = (unsigned long long)json_integer_value(json_object_get(anchor, "id"));
	}
	is_group = strstr(jid, "@g.us") != NULL;
	/* Newest `limit` messages of the page, returned oldest first. */
	rows = wa_db_query(r->db,
		"SELECT * FROM (SELECT " MSG_COLS ", m.id AS _rid, k.name AS _pName, k.notify AS _pNotify "
		"FROM messages m LEFT JOIN contacts k ON k.wa_session_id = m.wa_session_id AND k.jid = m.sender_jid "
		"WHERE m.wa_session_id = ? AND m.remote_jid = ? AND " NOT_SIDE
		"AND (? IS NULL OR m.timestamp < ? OR (m.timestamp = ? AND m.id < ?)) "
		"ORDER BY m.timestamp DESC, m.id DESC LIMIT ? OFFSET ?) t ORDER BY t.timestamp, t._rid",
		"ussssuii", (unsigned long long)r->sess.id, jid, ts, ts, ts, before_id, limit, (page - 1) * limit);
	json_decref(anchor);
	if (!rows)
		return wa_reply_db_error(r, "Database error");
	json_array_foreach(rows, i, row) {
		shape_message(r, row);
		if (is_group && json_is_string(json_object_get(row, "senderJid")))
			json_object_set_new(row, "participant", json_pack("{s:O,s:O,s:O}",
				"jid", json_object_get(row, "senderJid"), "name", json_object_get(row, "_pName"),
				"notify", json_object_get(row, "_pNotify")));
		json_object_del(row, "_rid");
		json_object_del(row, "_pName");
		json_object_del(row, "_pNotify");
	}
	return wa_reply_json(r, 200, rows);
}

/* ---- search ---------------------------------------------------------------- */

enum smode { S_NONE, S_FULLTEXT, S_LIKE };

/* Boolean-mode query "+w1* +w2*" from the user's text: words are runs of
 * ASCII alphanumerics and non-ASCII bytes, so no operator survives. Returns
 * S_FULLTEXT, or S_LIKE when a word is too short for the index, or S_NONE
 * when there are no words. */
static enum smode fulltext_query(const char *q, char *out, size_t len)
{
	size_t o = 0;
	int words = 0;

	out[0] = '\0';
	for (const char *p = q; *p;) {
		const char *w;
		size_t chars = 0, n;

		while (*p && !(isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80))
			p++;
		if (!*p)
			break;
		w = p;
		while (*p && (isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80)) {
			if (((unsigned char)*p & 0xC0) != 0x80)
				chars++;
			p++;
		}
		n = (size_t)(p - w);
		/* InnoDB ignores tokens outside [innodb_ft_min_token_size (3),
		 * innodb_ft_max_token_size (84)]: such a word needs LIKE. */
		if (chars < 3 || chars > 84)
			return S_LIKE;
		if (words == 16 || o + n + 4 >= len)
			break;
		out[o++] = '+';
		memcpy(out + o, w, n);
		o += n;
		out[o++] = '*';
		out[o++] = ' ';
		out[o] = '\0';
		words++;
	}
	return words ? S_FULLTEXT : S_LIKE;
}

/* "%text%" with LIKE's wildcards escaped (ESCAPE '\\'). */
static void like_pattern(const char *q, char *out, size_t len)
{
	size_t o = 0;

	out[o++] = '%';
	for (; *q && o + 3 < len; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			out[o++] = '\\';
		out[o++] = *q;
	}
	out[o++] = '%';
	out[o] = '\0';
}

#define SEARCH_WHERE \
	"FROM messages m WHERE m.wa_session_id = ? AND " NOT_SIDE "AND (? IS NULL OR m.remote_jid = ?) " \
	"AND (? IS NULL OR m.type = ?) AND (? IS NULL OR m.from_me = ?) " \
	"AND (? IS NULL OR m.timestamp >= ?) AND (? IS NULL OR m.timestamp <= ?) "
#define COND_FT "AND MATCH(m.content, m.caption) AGAINST (? IN BOOLEAN MODE) "
#define COND_LIKE "AND (m.content LIKE ? ESCAPE '\\\\' OR m.caption LIKE ? ESCAPE '\\\\') "
/* parameter formats: session, then jid, type, fromMe, from, to twice each */
#define F_BASE "u" "ssssssssss"
#define ORDER_PAGE "ORDER BY m.timestamp DESC, m.id DESC LIMIT ? OFFSET ?"

struct search {
	const char *jid, *type, *from_me, *from, *to, *text;
	long long limit, offset;
};

/* Count and page of one search mode; -1 on database error. */
static int run_search(struct wa_req *r, enum smode mode, const struct search *s, long long *total, json_t **rows)
{
	unsigned long long sid = r->sess.id;

	switch (mode) {
	case S_FULLTEXT:
		*total = wa_db_int(r->db, -1, "SELECT COUNT(*) " SEARCH_WHERE COND_FT, F_BASE "s", sid, s->jid,
				   s->jid, s->type, s->type, s->from_me, s->from_me, s->from, s->from, s->to, s->to, s->text);
		*rows = *total <= 0 ? json_array() :
			wa_db_query(r->db, "SELECT " MSG_COLS SEARCH_WHERE COND_FT ORDER_PAGE, F_BASE "s" "ii", sid,
				    s->jid, s->jid, s->type, s->type, s->from_me, s->from_me, s->from, s->from, s->to, s->to,
				    s->text, s->limit, s->offset);
		break;
	case S_LIKE:
		*total = wa_db_int(r->db, -1, "SELECT COUNT(*) " SEARCH_WHERE COND_LIKE, F_BASE "ss", sid, s->jid,
				   s->jid, s->type, s->type, s->from_me, s->from_me, s->from, s->from, s->to, s->to, s->text,
				   s->text);
		*rows = *total <= 0 ? json_array() :
			wa_db_query(r->db, "SELECT " MSG_COLS SEARCH_WHERE COND_LIKE ORDER_PAGE, F_BASE "ss" "ii", sid,
				    s->jid, s->jid, s->type, s->type, s->from_me, s->from_me, s->from, s->from, s->to, s->to,
				    s->text, s->text, s->limit, s->offset);
		break;
	default:
		*total = wa_db_int(r->db, -1, "SELECT COUNT(*) " SEARCH_WHERE, F_BASE, sid, s->jid, s->jid,
				   s->type, s->type, s->from_me, s->from_me, s->from, s->from, s->to, s->to);
		*rows = *total <= 0 ? json_array() :
			wa_db_query(r->db, "SELECT " MSG_COLS SEARCH_WHERE ORDER_PAGE, F_BASE "ii", sid, s->jid, s->jid,
				    s->type, s->type, s->from_me, s->from_me, s->from, s->from, s->to, s->to, s->limit,
				    s->offset);
		break;
	}
	if (*total < 0 || !*rows) {
		json_decref(*rows);
		*rows = NULL;
		return -1;
	}
	return 0;
}

/* Optional ISO-8601 query parameter into a DATETIME text; 400 when bad. */
static int query_date(struct wa_req *r, const char *name, char *out, size_t len, const char **val)
{
	char buf[80];
	long long ms;
	int rc;

	*val = NULL;
	if ((rc = wa_query_get(r, name, buf, sizeof buf)) <= 0 || !*buf)
		return rc;
	if (wa_iso8601_parse(buf, &ms) < 0 || wa_sql_datetime(ms, out, len) < 0)
		return wa_reply_errorf(r, 400, "validation_error",
				       "Query parameter '%s' must be an ISO-8601 date-time", name);
	*val = out;
	return 0;
}

int h_msg_search(struct wa_req *r)
{
	static const char *const types[] = { "TEXT", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT", "STICKER", "LOCATION",
					     "CONTACT", "POLL", "UNKNOWN", NULL };
	char q[SEARCH_Q_MAX * 4 + 8], jidin[256], jid[WA_JID_STR_MAX], type[32], ft[SEARCH_Q_MAX * 2 + 80],
	     like[SEARCH_Q_MAX * 2 + 8], from[40], to[40];
	struct search s = { 0 };
	enum smode mode = S_NONE;
	long long page, total = 0;
	json_t *rows = NULL, *row;
	size_t i;
	int fm = 0, have_q, rc;

	if ((have_q = wa_query_get(r, "q", q, sizeof q)) < 0)
		return -1;
	have_q = have_q && *q;
	if (have_q && strlen(q) > SEARCH_Q_MAX)
		return wa_reply_errorf(r, 400, "validation_error", "Query parameter 'q' is longer than %d characters",
				       SEARCH_Q_MAX);
	if ((rc = wa_query_get(r, "jid", jidin, sizeof jidin)) < 0)
		return -1;
	if (rc && *jidin) {
		if (wa_validate_jid(r, "jid", jidin, jid, sizeof jid) < 0)
			return -1;
		s.jid = jid;
	}
	if (!have_q && !s.jid)
		return wa_reply_error(r, 400, "q or jid is required", "validation_error");
	if ((rc = wa_query_get(r, "type", type, sizeof type)) < 0)
		return -1;
	if (rc && *type) {
		for (char *p = type; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		for (i = 0; types[i] && strcmp(types[i], type); i++)
			;
		if (!types[i])
			return wa_reply_error(r, 400, "Query parameter 'type' must be one of TEXT, IMAGE, VIDEO, AUDIO, "
					      "DOCUMENT, STICKER, LOCATION, CONTACT", "validation_error");
		s.type = type;
	}
	if ((rc = wa_query_bool(r, "fromMe", &fm)) < 0)
		return -1;
	s.from_me = rc == 0 ? NULL : fm ? "1" : "0";
	if (query_date(r, "from", from, sizeof from, &s.from) < 0 || query_date(r, "to", to, sizeof to, &s.to) < 0 ||
	    wa_query_int(r, "page", 1, 100000, 1, &page) < 0 ||
	    wa_query_int(r, "limit", 1, SEARCH_MAX, 20, &s.limit) < 0)
		return -1;
	s.offset = (page - 1) * s.limit;
	if (have_q) {
		mode = fulltext_query(q, ft, sizeof ft);
		if (mode == S_FULLTEXT) {
			s.text = ft;
		} else {
			like_pattern(q, like, sizeof like);
			s.text = like;
		}
	}
	if (run_search(r, mode, &s, &total, &rows) < 0)
		return wa_reply_db_error(r, "Failed to search messages");
	if (mode == S_FULLTEXT && total == 0) {
		/* Stop-words never match FULLTEXT; LIKE still finds them. */
		json_decref(rows);
		like_pattern(q, like, sizeof like);
		s.text = like;
		if (run_search(r, S_LIKE, &s, &total, &rows) < 0)
			return wa_reply_db_error(r, "Failed to search messages");
	}
	json_array_foreach(rows, i, row)
		shape_message(r, row);
	return wa_reply_json(r, 200, json_pack("{s:b,s:o,s:{s:I,s:I,s:I,s:I}}", "success", 1, "data", rows,
		"pagination", "total", (json_int_t)total, "page", (json_int_t)page, "limit", (json_int_t)s.limit,
		"pages", (json_int_t)((total + s.limit - 1) / s.limit)));
}

/* ---- groups ---------------------------------------------------------------- */

int h_groups_list(struct wa_req *r)
{
	json_t *rows, *row;
	size_t i;

	rows = wa_db_query(r->db,
		"SELECT g.jid AS id, g.subject, g.description AS `desc`, g.owner_jid AS owner, g.size, "
		"g.is_community AS isCommunity, g.linked_parent_jid AS linkedParentJid, g.participants, "
		"g.subject_owner AS subjectOwner, CAST(UNIX_TIMESTAMP(g.subject_time) AS SIGNED) AS subjectTime, "
		"CAST(UNIX_TIMESTAMP(g.creation) AS SIGNED) AS creation, g.desc_owner AS descOwner, g.desc_id AS descId, "
		"g.announce, g.restrict_ AS `restrict`, g.ephemeral AS ephemeralDuration "
		"FROM wa_groups g WHERE g.wa_session_id = ? AND g.left_at IS NULL ORDER BY g.subject, g.jid LIMIT 10000",
		"u", (unsigned long long)r->sess.id);
	if (!rows)
		return wa_reply_db_error(r, "Failed to fetch groups");
	json_array_foreach(rows, i, row) {
		wa_row_json_col(row, "participants", NULL);
		if (json_integer_value(json_object_get(row, "size")) == 0)
			json_object_set_new(row, "size", json_integer((json_int_t)json_array_size(
				json_object_get(row, "participants"))));
	}
	return wa_reply_json(r, 200, rows);
}

/* ---- contacts ---------------------------------------------------------- */

#define CONTACT_LIST_MAX 5000

/* GET /api/contacts/{sessionId} (beyond the reference; the n8n node's
 * contact list): the session's contacts as stored from messages, history
 * syncs and pushes, a bare array like the chat list. What the engine
 * learnt of LIDs (lid_map, engine/store/lidmap.h) fills the other form:
 * `lid` of a phone-number contact, `phoneNumber` (its phone JID, as
 * Baileys' Contact has it) of a LID contact. */
int h_contacts_list(struct wa_req *r)
{
	json_t *rows = wa_db_query(r->db,
		"SELECT c.jid, COALESCE(c.lid, (SELECT CONCAT(l.lid, '@lid') FROM lid_map l "
		"WHERE l.wa_session_id = c.wa_session_id AND l.pn = SUBSTRING_INDEX(c.jid, '@', 1) "
		"AND c.jid LIKE '%@s.whatsapp.net' ORDER BY l.updated_at DESC LIMIT 1)) AS lid, "
		"(SELECT CONCAT(l.pn, '@s.whatsapp.net') FROM lid_map l WHERE l.wa_session_id = c.wa_session_id "
		"AND l.lid = SUBSTRING_INDEX(c.jid, '@', 1) AND c.jid LIKE '%@lid') AS phoneNumber, "
		"c.name, c.notify, c.verified_name AS verifiedName, c.img_url AS imgUrl, c.status, c.blocked, "
		"c.updated_at AS updatedAt FROM contacts c WHERE c.wa_session_id = ? "
		"ORDER BY COALESCE(c.name, c.notify, c.jid), c.jid LIMIT ?", "ui", (unsigned long long)r->sess.id,
		(long long)CONTACT_LIST_MAX);
	size_t i;
	json_t *row;

	if (!rows)
		return wa_reply_db_error(r, "Database error");
	json_array_foreach(rows, i, row)
		wa_row_bool_col(row, "blocked");
	return wa_reply_rows(r, rows);
}
