/* h_labels: WhatsApp Business labels of a session and the chats carrying
 * them (labels, chat_labels), kept in sync with WhatsApp's app state.
 *
 * The API's label `id` is labels.label_id (WhatsApp's short string id);
 * new labels get the next free number. Deleting a label marks it deleted
 * and drops its chat associations, in one transaction. Every change also
 * writes, in its transaction, what WhatsApp must be told into
 * label_sync_queue (db/migrations/0018), and the session's engine is
 * nudged (label.sync); it writes the label_edit / label_jid mutations, now
 * or at the session's next login (docs/engine.md "Labels"). Labels the
 * phone changes come back the other way, through the engine. Every multi-row change validates all
 * ids first and runs in a transaction: an unknown id is a 404 and nothing
 * changes. Response shapes follow the reference: {success, label(s)} for
 * most routes, {status, message, data} for the deletes. */
#include "fcgi/auth.h"
#include "fcgi/db.h"
#include "fcgi/engine_client.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "wa/jid.h"
#include "wa_log.h"

#include <stdio.h>
#include <string.h>

#define LABEL_COLS "l.label_id AS id, l.name, l.color, l.predefined_id AS predefinedId"
#define MAX_BULK 200

static const struct wa_field f_label_create[] = {
	{ "name", WA_F_STR, 1, "255" },
	{ "color", WA_F_INT, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_label_update[] = {
	{ "name", WA_F_STR, 0, "255" },
	{ "color", WA_F_INT, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

/* no action (the n8n node): the chat gets exactly these labels */
static const struct wa_field f_chat_labels[] = {
	{ "labelIds", WA_F_ARR, 1, NULL },
	{ "action", WA_F_ENUM, 0, "add|remove" },
	{ NULL, WA_F_END, 0, NULL }
};

static int valid_label_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= 64 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:") == n;
}

static int path_label_id(struct wa_req *r, const char **out)
{
	*out = wa_req_path_param(r, "labelId");
	if (!valid_label_id(*out))
		return wa_reply_error(r, 400, "Invalid 'labelId'", "validation_error");
	return 0;
}

/* Path JID normalised into out (WA_JID_STR_MAX); 400 when bad. */
static int path_jid(struct wa_req *r, char *out, size_t len)
{
	return wa_validate_jid(r, "jid", wa_req_path_param(r, "jid"), out, len);
}

/* A label id given as string or integer in a body array, into buf. */
static const char *id_text(json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return valid_label_id(json_string_value(v)) ? json_string_value(v) : NULL;
}

/* name/color of r->json validated (color 0-19). Returns 0 or -1 (400). */
static int check_color(struct wa_req *r, json_t *obj, const char *field)
{
	json_t *c = json_object_get(obj, "color");

	if (!c || json_is_null(c))
		return 0;
	if (!json_is_integer(c) || json_integer_value(c) < 0 || json_integer_value(c) > 19)
		return wa_reply_errorf(r, 400, "validation_error", "'%s' must be an integer from 0 to 19", field);
	return 0;
}

/* What WhatsApp must learn, queued in the caller's transaction: a label's
 * values as they are now, or a chat's label added / removed. -1 on a
 * database error. */
static int queue_label(struct wa_req *r, const char *id)
{
	return wa_db_exec(r->db, "INSERT INTO label_sync_queue (wa_session_id, label_id, name, color, deleted) "
			  "SELECT wa_session_id, label_id, name, COALESCE(color, 0), deleted FROM labels "
			  "WHERE wa_session_id = ? AND label_id = ?", "us", (unsigned long long)r->sess.id, id) < 0 ? -1 : 0;
}

static int queue_chat(struct wa_req *r, const char *id, const char *jid, int labeled)
{
	return wa_db_exec(r->db, "INSERT INTO label_sync_queue (wa_session_id, label_id, chat_jid, labeled) "
			  "VALUES (?, ?, ?, ?)", "ussb", (unsigned long long)r->sess.id, id, jid, labeled) < 0 ? -1 : 0;
}

/* After the commit: the engine running the session writes what is queued
 * now (one that is not connected does it at its next login). */
static void nudge_engine(struct wa_req *r)
{
	json_t *body = NULL;

	(void)wa_engine_call(r, "label.sync", NULL, &body);
	json_decref(body);
}

static json_t *load_label(struct wa_req *r, const char *label_id, int *err)
{
	return wa_db_row(r->db, err, "SELECT " LABEL_COLS " FROM labels l "
			 "WHERE l.wa_session_id = ? AND l.label_id = ? AND l.deleted = 0", "us",
			 (unsigned long long)r->sess.id, label_id);
}

static json_t *list_labels(struct wa_req *r)
{
	return wa_db_query(r->db, "SELECT " LABEL_COLS ", (SELECT COUNT(*) FROM chat_labels c "
			   "WHERE c.wa_session_id = l.wa_session_id AND c.label_id = l.label_id) AS count "
			   "FROM labels l WHERE l.wa_session_id = ? AND l.deleted = 0 "
			   "ORDER BY CAST(l.label_id AS UNSIGNED), l.label_id", "u", (unsigned long long)r->sess.id);
}

static json_t *chat_label_list(struct wa_req *r, const char *jid)
{
	return wa_db_query(r->db, "SELECT " LABEL_COLS " FROM chat_labels c JOIN labels l "
			   "ON l.wa_session_id = c.wa_session_id AND l.label_id = c.label_id AND l.deleted = 0 "
			   "WHERE c.wa_session_id = ? AND c.chat_jid = ? ORDER BY CAST(l.label_id AS UNSIGNED), l.label_id",
			   "us", (unsigned long long)r->sess.id, jid);
}

int h_labels_list(struct wa_req *r)
{
	json_t *rows = list_labels(r);

	if (!rows)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_json(r, 200, json_pack("{s:b,s:o}", "success", 1, "labels", rows));
}

int h_labels_create(struct wa_req *r)
{
	char id[24];
	json_t *label;
	long long next;
	int tries;

	if (wa_body_begin(r, 0, f_label_create) < 0 || check_color(r, r->json, "color") < 0)
		return -1;
	/* Next numeric id; a concurrent create taking the same id loses on
	 * the UNIQUE key and retries. Deleted labels keep their id. */
	for (tries = 0;; tries++) {
		if (wa_db_begin(r->db) < 0)
			return wa_reply_db_error(r, "Database error");
		next = wa_db_int(r->db, -1, "SELECT CAST(COALESCE(MAX(CAST(label_id AS UNSIGNED)), 0) + 1 AS SIGNED) FROM labels "
				 "WHERE wa_session_id = ?", "u", (unsigned long long)r->sess.id);
		if (next < 0) {
			wa_db_rollback(r->db);
			return wa_reply_db_error(r, "Database error");
		}
		snprintf(id, sizeof id, "%lld", next);
		if (wa_db_exec(r->db, "INSERT INTO labels (wa_session_id, label_id, name, color) VALUES (?, ?, ?, ?)",
			       "ussi", (unsigned long long)r->sess.id, id, wa_body_str(r, "name"),
			       (long long)json_integer_value(json_object_get(r->json, "color"))) >= 0) {
			if (queue_label(r, id) == 0 && wa_db_commit(r->db) == 0)
				break;
			wa_db_rollback(r->db);
			return wa_reply_db_error(r, "Failed to create label");
		}
		wa_db_rollback(r->db);
		if (wa_db_errno(r->db) != WA_DB_DUPLICATE || tries >= 3)
			return wa_reply_db_error(r, "Failed to create label");
	}
	nudge_engine(r);
	label = load_label(r, id, NULL);
	if (!label)
		return wa_reply_db_error(r, "Database error");
	wa_info("session %s: label %s created", r->sess.slug, id);
	return wa_reply_json(r, 200, json_pack("{s:b,s:o}", "success", 1, "label", label));
}

int h_labels_update(struct wa_req *r)
{
	const char *lid;
	json_t *label;
	char ctext[24];
	long long n = 0;
	int err = 0;

	if (path_label_id(r, &lid) < 0 || wa_body_begin(r, 0, f_label_update) < 0 ||
	    check_color(r, r->json, "color") < 0)
		return -1;
	if (!json_object_get(r->json, "name") && !json_object_get(r->json, "color"))
		return wa_reply_error(r, 400, "Nothing to update: give 'name' and/or 'color'", "validation_error");
	snprintf(ctext, sizeof ctext, "%lld", (long long)json_integer_value(json_object_get(r->json, "color")));
	if (wa_db_begin(r->db) < 0 ||
	    (n = wa_db_exec(r->db, "UPDATE labels SET name = COALESCE(?, name), color = COALESCE(?, color) "
			    "WHERE wa_session_id = ? AND label_id = ? AND deleted = 0", "ssus", wa_body_str(r, "name"),
			    json_is_integer(json_object_get(r->json, "color")) ? ctext : NULL,
			    (unsigned long long)r->sess.id, lid)) < 0 ||
	    (n > 0 && queue_label(r, lid) < 0) || wa_db_commit(r->db) < 0) {
		wa_db_rollback(r->db);
		return wa_reply_db_error(r, "Cannot update the label");
	}
	if (n > 0)
		nudge_engine(r);
	label = load_label(r, lid, &err);
	if (err)
		return wa_reply_db_error(r, "Database error");
	if (!label)
		return wa_reply_errorf(r, 404, "not_found", "Label '%s' not found", lid);
	return wa_reply_json(r, 200, json_pack("{s:b,s:o}", "success", 1, "label", label));
}

/* Mark the labels in `ids` (array of label id texts) deleted and drop their
 * chat associations; caller holds a transaction. -1 on database error. */
static int delete_labels(struct wa_req *r, json_t *ids)
{
	json_t *v;
	size_t i;

	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);

		if (wa_db_exec(r->db, "UPDATE labels SET deleted = 1 WHERE wa_session_id = ? AND label_id = ?", "us",
			       (unsigned long long)r->sess.id, id) < 0 ||
		    wa_db_exec(r->db, "DELETE FROM chat_labels WHERE wa_session_id = ? AND label_id = ?", "us",
			       (unsigned long long)r->sess.id, id) < 0 || queue_label(r, id) < 0)
			return -1;
	}
	return 0;
}

/* Validate the label ids of array `arr` (field name `field`): each a valid
 * id of an existing label. Returns a new array of id strings (deduplicated),
 * or NULL after a 400/404/500. */
static json_t *existing_ids(struct wa_req *r, json_t *arr, const char *field)
{
	json_t *out, *v;
	size_t i, j;
	char buf[24];

	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > MAX_BULK) {
		wa_reply_errorf(r, 400, "validation_error", "'%s' must be an array of 1 to %d label ids", field,
				MAX_BULK);
		return NULL;
	}
	out = json_array();
	if (!out) {
		wa_reply_error(r, 500, "Out of memory", NULL);
		return NULL;
	}
	json_array_foreach(arr, i, v) {
		const char *id = id_text(v, buf, sizeof buf);
		json_t *row;
		int err = 0, dup = 0;

		if (!id) {
			wa_reply_errorf(r, 400, "validation_error", "'%s[%zu]' is not a label id", field, i);
			goto fail;
		}
		for (j = 0; j < json_array_size(out); j++)
			dup |= strcmp(json_string_value(json_array_get(out, j)), id) == 0;
		if (dup)
			continue;
		row = load_label(r, id, &err);
		if (err) {
			wa_reply_db_error(r, "Database error");
			goto fail;
		}
		if (!row) {
			wa_reply_errorf(r, 404, "not_found", "Label '%s' not found", id);
			goto fail;
		}
		json_decref(row);
		json_array_append_new(out, json_string(id));
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

int h_labels_delete(struct wa_req *r)
{
	const char *lid;
	json_t *ids, *row;
	int err = 0;

	if (path_label_id(r, &lid) < 0)
		return -1;
	row = load_label(r, lid, &err);
	if (err)
		return wa_reply_db_error(r, "Database error");
	if (!row)
		return wa_reply_errorf(r, 404, "not_found", "Label '%s' not found", lid);
	json_decref(row);
	ids = json_pack("[s]", lid);
	if (!ids || wa_db_begin(r->db) < 0 || delete_labels(r, ids) < 0 || wa_db_commit(r->db) < 0) {
		wa_db_rollback(r->db);
		json_decref(ids);
		return wa_reply_db_error(r, "Cannot delete the label");
	}
	json_decref(ids);
	nudge_engine(r);
	wa_info("session %s: label %s deleted", r->sess.slug, lid);
	return wa_reply_ok(r, 200, "Label deleted", json_pack("{s:s}", "id", lid));
}

int h_labels_delete_many(struct wa_req *r)
{
	json_t *arr, *ids;
	const char *field = "labelIds";
	size_t n;

	if (wa_body_begin(r, 0, NULL) < 0)
		return -1;
	arr = json_object_get(r->json, "labelIds");
	if (!arr) {
		arr = json_object_get(r->json, "ids");
		field = "ids";
	}
	if (!arr)
		return wa_reply_error(r, 400, "Missing required field 'labelIds' (array of label ids to delete)",
				      "validation_error");
	if (!(ids = existing_ids(r, arr, field)))
		return -1;
	n = json_array_size(ids);
	if (wa_db_begin(r->db) < 0 || delete_labels(r, ids) < 0 || wa_db_commit(r->db) < 0) {
		wa_db_rollback(r->db);
		json_decref(ids);
		return wa_reply_db_error(r, "Cannot delete the labels");
	}
	nudge_engine(r);
	wa_info("session %s: %zu labels deleted", r->sess.slug, n);
	return wa_reply_ok(r, 200, "Labels deleted", json_pack("{s:I,s:o}", "count", (json_int_t)n, "ids", ids));
}

/* PUT /labels/{sessionId}: {"labels":[{"id":"1","name":..,"color":..},..]}
 * updates several labels at once, all or nothing. */
int h_labels_bulk(struct wa_req *r)
{
	json_t *arr, *item, *rows;
	size_t i;
	char buf[24], field[48];

	if (wa_body_begin(r, 0, NULL) < 0)
		return -1;
	arr = json_object_get(r->json, "labels");
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > MAX_BULK)
		return wa_reply_errorf(r, 400, "validation_error",
				       "'labels' must be an array of 1 to %d objects {id, name?, color?}", MAX_BULK);
	/* Validate everything before the first write. */
	json_array_foreach(arr, i, item) {
		json_t *name = json_is_object(item) ? json_object_get(item, "name") : NULL, *row;
		const char *id = json_is_object(item) ? id_text(json_object_get(item, "id"), buf, sizeof buf) : NULL;
		int err = 0;

		if (!id)
			return wa_reply_errorf(r, 400, "validation_error", "'labels[%zu].id' must be a label id", i);
		if (name && (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 255))
			return wa_reply_errorf(r, 400, "validation_error",
					       "'labels[%zu].name' must be a string of 1 to 255 characters", i);
		snprintf(field, sizeof field, "labels[%zu].color", i);
		if (check_color(r, item, field) < 0)
			return -1;
		row = load_label(r, id, &err);
		if (err)
			return wa_reply_db_error(r, "Database error");
		if (!row)
			return wa_reply_errorf(r, 404, "not_found", "Label '%s' not found", id);
		json_decref(row);
	}
	if (wa_db_begin(r->db) < 0)
		return wa_reply_db_error(r, "Database error");
	json_array_foreach(arr, i, item) {
		json_t *color = json_object_get(item, "color");
		char ctext[8];

		snprintf(ctext, sizeof ctext, "%lld", (long long)json_integer_value(color));
		if (wa_db_exec(r->db, "UPDATE labels SET name = COALESCE(?, name), color = COALESCE(?, color) "
			       "WHERE wa_session_id = ? AND label_id = ? AND deleted = 0", "ssus",
			       json_string_value(json_object_get(item, "name")), json_is_integer(color) ? ctext : NULL,
			       (unsigned long long)r->sess.id, id_text(json_object_get(item, "id"), buf, sizeof buf)) < 0 ||
		    queue_label(r, id_text(json_object_get(item, "id"), buf, sizeof buf)) < 0) {
			wa_db_rollback(r->db);
			return wa_reply_db_error(r, "Cannot update the labels");
		}
	}
	if (wa_db_commit(r->db) < 0)
		return wa_reply_db_error(r, "Cannot update the labels");
	nudge_engine(r);
	rows = list_labels(r);
	if (!rows)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_json(r, 200, json_pack("{s:b,s:s,s:o}", "success", 1, "message", "Labels updated", "labels", rows));
}

int h_chat_labels_get(struct wa_req *r)
{
	char jid[WA_JID_STR_MAX];
	json_t *rows;

	if (path_jid(r, jid, sizeof jid) < 0)
		return -1;
	rows = chat_label_list(r, jid);
	if (!rows)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_json(r, 200, json_pack("{s:b,s:o}", "success", 1, "labels", rows));
}

/* Add or remove one label of the chat (queued for WhatsApp when it changed
 * anything). -1 on a database error. */
static int chat_label_change(struct wa_req *r, const char *jid, const char *id, int add)
{
	long long n = wa_db_exec(r->db, add ?
				 "INSERT IGNORE INTO chat_labels (wa_session_id, chat_jid, label_id) VALUES (?, ?, ?)" :
				 "DELETE FROM chat_labels WHERE wa_session_id = ? AND chat_jid = ? AND label_id = ?",
				 "uss", (unsigned long long)r->sess.id, jid, id);

	return n < 0 || (n > 0 && queue_chat(r, id, jid, add) < 0) ? -1 : 0;
}

/* Whether id is in the array of id strings. */
static int has_id(json_t *ids, const char *id)
{
	json_t *v;
	size_t i;

	json_array_foreach(ids, i, v)
		if (strcmp(json_string_value(v), id) == 0)
			return 1;
	return 0;
}

/* {labelIds, action: add|remove}, or {labelIds} alone (the n8n node): the
 * chat gets exactly these labels ([] removes them all). */
int h_chat_labels_set(struct wa_req *r)
{
	char jid[WA_JID_STR_MAX];
	json_t *ids, *v, *rows, *cur = NULL;
	const char *action, *msg;
	size_t i;
	int set;

	if (path_jid(r, jid, sizeof jid) < 0 || wa_body_begin(r, 0, f_chat_labels) < 0)
		return -1;
	action = wa_body_str(r, "action");
	set = !action;
	if (set && json_array_size(json_object_get(r->json, "labelIds")) == 0)
		ids = json_array();
	else if (!(ids = existing_ids(r, json_object_get(r->json, "labelIds"), "labelIds")))
		return -1;
	if (!ids || wa_db_begin(r->db) < 0)
		goto fail;
	if (set) {
		cur = wa_db_query(r->db, "SELECT label_id FROM chat_labels WHERE wa_session_id = ? AND chat_jid = ? FOR UPDATE",
				  "us", (unsigned long long)r->sess.id, jid);
		if (!cur)
			goto rollback;
		json_array_foreach(cur, i, v) {
			const char *id = json_string_value(json_object_get(v, "label_id"));

			if (id && !has_id(ids, id) && chat_label_change(r, jid, id, 0) < 0)
				goto rollback;
		}
	}
	json_array_foreach(ids, i, v)
		if (chat_label_change(r, jid, json_string_value(v), set || strcmp(action, "add") == 0) < 0)
			goto rollback;
	if (wa_db_commit(r->db) < 0)
		goto fail;
	json_decref(cur);
	json_decref(ids);
	nudge_engine(r);
	rows = chat_label_list(r, jid);
	if (!rows)
		return wa_reply_db_error(r, "Database error");
	msg = set ? "Chat labels set" : strcmp(action, "add") == 0 ? "Labels added to chat" : "Labels removed from chat";
	return wa_reply_json(r, 200, json_pack("{s:b,s:s,s:o}", "success", 1, "message", msg, "labels", rows));
rollback:
	wa_db_rollback(r->db);
fail:
	json_decref(cur);
	json_decref(ids);
	return wa_reply_db_error(r, "Cannot update the chat labels");
}

static int chats_by_label(struct wa_req *r, const char *lid)
{
	json_t *label, *rows, *chats, *row;
	size_t i;
	int err = 0;

	label = load_label(r, lid, &err);
	if (err)
		return wa_reply_db_error(r, "Database error");
	if (!label)
		return wa_reply_errorf(r, 404, "not_found", "Label '%s' not found", lid);
	rows = wa_db_query(r->db, "SELECT chat_jid FROM chat_labels WHERE wa_session_id = ? AND label_id = ? "
			   "ORDER BY created_at, chat_jid", "us", (unsigned long long)r->sess.id, lid);
	chats = json_array();
	if (!rows || !chats) {
		json_decref(label);
		json_decref(rows);
		json_decref(chats);
		return wa_reply_db_error(r, "Database error");
	}
	json_array_foreach(rows, i, row)
		json_array_append(chats, json_object_get(row, "chat_jid"));
	json_decref(rows);
	return wa_reply_json(r, 200, json_pack("{s:b,s:o,s:o,s:I}", "success", 1, "label", label, "chats", chats,
					       "count", (json_int_t)json_array_size(chats)));
}

int h_chats_by_label(struct wa_req *r)
{
	const char *lid;

	if (path_label_id(r, &lid) < 0)
		return -1;
	return chats_by_label(r, lid);
}

/* GET /labels/{sessionId}/chats?labelId= (the n8n node's form). */
int h_labels_chats(struct wa_req *r)
{
	char lid[65];

	if (wa_req_query(r, "labelId", lid, sizeof lid) != 0 || !valid_label_id(lid))
		return wa_reply_error(r, 400, "Give the label as '?labelId=' (a label id)", "validation_error");
	return chats_by_label(r, lid);
}

/* GET /chats/by-label/{labelId}: the label id in every session the caller
 * may use (label ids are per session, so each chat names its session). */
int h_chats_by_label_global(struct wa_req *r)
{
	const char *lid = wa_req_path_param(r, "labelId");
	int super = r->user.role == WA_ROLE_SUPERADMIN, owner = r->user.role == WA_ROLE_OWNER;
	json_t *rows;

	if (!valid_label_id(lid))
		return wa_reply_error(r, 400, "Invalid 'labelId'", "validation_error");
	rows = wa_db_query(r->db,
		"SELECT s.session_id AS sessionId, c.chat_jid AS jid, l.label_id AS labelId, l.name AS labelName, "
		"l.color AS labelColor FROM chat_labels c "
		"JOIN labels l ON l.wa_session_id = c.wa_session_id AND l.label_id = c.label_id AND l.deleted = 0 "
		"JOIN wa_sessions s ON s.id = c.wa_session_id "
		"WHERE c.label_id = ? AND (? = 1 OR (? = 1 AND s.user_id = ?) OR EXISTS (SELECT 1 FROM session_access a "
		"WHERE a.wa_session_id = s.id AND a.user_id = ?)) ORDER BY s.session_id, c.chat_jid LIMIT 10000",
		"sbbuu", lid, super, owner, (unsigned long long)r->user.id, (unsigned long long)r->user.id);
	if (!rows)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_json(r, 200, json_pack("{s:b,s:s,s:o,s:I}", "success", 1, "labelId", lid, "chats", rows,
					       "count", (json_int_t)json_array_size(rows)));
}
