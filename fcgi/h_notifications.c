/* h_notifications: dashboard notifications of the calling user.
 *
 * Who may create: a SUPERADMIN may notify any user (targetUserId) or every
 * user (broadcast: one row per user, inserted by one statement); any other
 * user may only create notifications for themselves (403 otherwise).
 * Reading, marking read and deleting only ever touch the caller's rows: an
 * id of someone else's notification is simply not found. */
#include "fcgi/db.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "wa_log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_IDS 500

static const struct wa_field f_create[] = {
	{ "title", WA_F_STR, 1, "255" },
	{ "message", WA_F_STR, 1, "4096" },
	{ "type", WA_F_ENUM, 0, "INFO|SUCCESS|WARNING|ERROR" },
	{ "href", WA_F_STR0, 0, "2048" },
	{ "broadcast", WA_F_BOOL, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

/* A dashboard link: a site-relative path or an http(s) URL (so no
 * javascript: or data: links end up in the dashboard). */
static int check_href(struct wa_req *r, const char *href)
{
	if (!href || !*href)
		return 0;
	if (href[0] == '/' && href[1] != '/' && !strpbrk(href, " \t\r\n\\") && strlen(href) <= 2048)
		return 0;
	return wa_check_http_url(r, "href", href);
}

int h_notif_list(struct wa_req *r)
{
	json_t *rows = wa_db_query(r->db,
		"SELECT CAST(id AS CHAR) AS id, CAST(user_id AS CHAR) AS userId, title, message, type, href, "
		"is_read AS `read`, created_at AS createdAt FROM notifications WHERE user_id = ? "
		"ORDER BY created_at DESC, id DESC LIMIT 50", "u", (unsigned long long)r->user.id);

	return wa_reply_rows(r, rows);
}

int h_notif_create(struct wa_req *r)
{
	const char *title, *message, *type, *href;
	unsigned long long target = 0;
	int super = r->user.role == WA_ROLE_SUPERADMIN, broadcast, has_target;
	long long n;

	if (wa_body_begin(r, 0, f_create) < 0 || (has_target = wa_body_id(r, "targetUserId", 0, &target)) < 0)
		return -1;
	title = wa_body_str(r, "title");
	message = wa_body_str(r, "message");
	type = wa_body_str(r, "type");
	href = wa_body_str(r, "href");
	broadcast = wa_body_bool(r, "broadcast", 0);
	if (check_href(r, href) < 0)
		return -1;
	if (broadcast && has_target)
		return wa_reply_error(r, 400, "Give either 'targetUserId' or 'broadcast', not both", "validation_error");
	if (!has_target)
		target = r->user.id;
	if (!super && (broadcast || target != r->user.id))
		return wa_reply_error(r, 403, "Only a SUPERADMIN can notify other users", "forbidden");
	if (broadcast) {
		n = wa_db_exec(r->db,
			       "INSERT INTO notifications (user_id, title, message, type, href, created_by) "
			       "SELECT id, ?, ?, COALESCE(?, 'INFO'), NULLIF(?, ''), ? FROM users",
			       "ssssu", title, message, type, href, (unsigned long long)r->user.id);
	} else {
		if (wa_db_int(r->db, 0, "SELECT COUNT(*) FROM users WHERE id = ?", "u", target) == 0)
			return wa_reply_errorf(r, 404, "not_found", "User %llu not found", target);
		n = wa_db_exec(r->db,
			       "INSERT INTO notifications (user_id, title, message, type, href, created_by) "
			       "VALUES (?, ?, ?, COALESCE(?, 'INFO'), NULLIF(?, ''), ?)",
			       "ussssu", target, title, message, type, href, (unsigned long long)r->user.id);
		if (n < 0 && wa_db_errno(r->db) == WA_DB_FK_FAIL)
			return wa_reply_errorf(r, 404, "not_found", "User %llu not found", target);
	}
	if (n < 0)
		return wa_reply_db_error(r, "Error creating notification");
	return wa_reply_json(r, 200, json_pack("{s:b,s:I}", "success", 1, "count", (json_int_t)n));
}

int h_notif_read(struct wa_req *r)
{
	json_t *ids, *v;
	size_t i;
	long long n = 0, k;
	char buf[24];
	unsigned long long id;

	if (wa_body_begin(r, 1, NULL) < 0)
		return -1;
	ids = json_object_get(r->json, "ids");
	if (ids && !json_is_null(ids) && !json_is_array(ids))
		return wa_reply_error(r, 400, "'ids' must be an array of notification ids", "validation_error");
	if (json_array_size(ids) > MAX_IDS)
		return wa_reply_errorf(r, 400, "validation_error", "'ids' has more than %d entries", MAX_IDS);
	/* Validate every id before changing anything. */
	json_array_foreach(ids, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;

		if (json_is_integer(v) && json_integer_value(v) > 0) {
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
			s = buf;
		}
		if (wa_id_parse(s, &id) < 0)
			return wa_reply_errorf(r, 400, "validation_error", "'ids[%zu]' is not a notification id", i);
	}
	if (json_array_size(ids) == 0) {
		n = wa_db_exec(r->db, "UPDATE notifications SET is_read = 1, read_at = CURRENT_TIMESTAMP(3) "
			       "WHERE user_id = ? AND is_read = 0", "u", (unsigned long long)r->user.id);
	} else {
		if (wa_db_begin(r->db) < 0)
			return wa_reply_db_error(r, "Error updating notifications");
		json_array_foreach(ids, i, v) {
			if (json_is_integer(v)) {
				id = (unsigned long long)json_integer_value(v);
			} else {
				wa_id_parse(json_string_value(v), &id);
			}
			k = wa_db_exec(r->db, "UPDATE notifications SET is_read = 1, read_at = CURRENT_TIMESTAMP(3) "
				       "WHERE id = ? AND user_id = ? AND is_read = 0", "uu", id,
				       (unsigned long long)r->user.id);
			if (k < 0) {
				wa_db_rollback(r->db);
				return wa_reply_db_error(r, "Error updating notifications");
			}
			n += k;
		}
		if (wa_db_commit(r->db) < 0)
			return wa_reply_db_error(r, "Error updating notifications");
	}
	if (n < 0)
		return wa_reply_db_error(r, "Error updating notifications");
	return wa_reply_ok(r, 200, "Notifications marked as read", json_pack("{s:I}", "count", (json_int_t)n));
}

int h_notif_delete(struct wa_req *r)
{
	char buf[32];
	unsigned long long id;
	long long n;

	if ((n = wa_query_get(r, "id", buf, sizeof buf)) < 0)
		return -1;
	if (n == 0 || !*buf)
		return wa_reply_error(r, 400, "Notification ID required (query parameter 'id')", "validation_error");
	if (wa_id_parse(buf, &id) < 0)
		return wa_reply_error(r, 400, "Query parameter 'id' must be a notification id", "validation_error");
	n = wa_db_exec(r->db, "DELETE FROM notifications WHERE id = ? AND user_id = ?", "uu", id,
		       (unsigned long long)r->user.id);
	if (n < 0)
		return wa_reply_db_error(r, "Error deleting notification");
	if (n == 0)
		return wa_reply_errorf(r, 404, "not_found", "Notification %llu not found", id);
	return wa_reply_ok(r, 200, "Notification deleted", json_pack("{s:s}", "id", buf));
}
