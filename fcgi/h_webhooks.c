/* h_webhooks: webhook endpoints of a session (webhooks table), delivered by
 * wa-akg-hooks from the events outbox. Session routes answer with
 * {status, message, data}; DELETE /api/webhooks/{id} answers {"success":true}
 * as the reference shows.
 *
 * `events` is a non-empty list of known event names, or ["*"] for all of
 * them; duplicates are dropped. A webhook id of another session is 404. The
 * session-less delete is for the webhook's creator or a SUPERADMIN only
 * (everyone else gets 404, so ids of other users' webhooks do not leak). */
#include "fcgi/app.h"
#include "fcgi/db.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "wa_log.h"
#include "wa_url.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define WH_SELECT \
	"SELECT CAST(w.id AS CHAR) AS id, CAST(w.wa_session_id AS CHAR) AS sessionId, " \
	"CAST(w.user_id AS CHAR) AS userId, w.name, w.url, w.secret, w.events, w.is_active AS isActive, " \
	"w.created_at AS createdAt, w.updated_at AS updatedAt FROM webhooks w "

#define MAX_WEBHOOKS_PER_SESSION 100

static const char *const event_names[] = {
	"message.received", "message.sent", "message.status", "message.edited", "message.deleted",
	"message.reaction", "poll.vote", "connection.update", "group.update", "group.participant", "contact.update",
	"status.update", "call.received", "chat.update", "label.update", NULL
};

static const struct wa_field f_create[] = {
	{ "name", WA_F_STR, 0, "255" },
	{ "url", WA_F_STR, 1, "2048" },
	{ "events", WA_F_ARR, 1, NULL },
	{ "isActive", WA_F_BOOL, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_update[] = {
	{ "name", WA_F_STR, 0, "255" },
	{ "url", WA_F_STR, 0, "2048" },
	{ "events", WA_F_ARR, 0, NULL },
	{ "isActive", WA_F_BOOL, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static void shape(json_t *row)
{
	wa_row_json_col(row, "events", NULL);
}

static json_t *shape_rows(json_t *rows)
{
	json_t *row;
	size_t i;

	if (rows)
		json_array_foreach(rows, i, row)
			shape(row);
	return rows;
}

json_t *wa_webhooks_load(struct wa_req *r, uint64_t wa_session_id)
{
	return shape_rows(wa_db_query(r->db, WH_SELECT "WHERE w.wa_session_id = ? ORDER BY w.created_at, w.id", "u",
				      (unsigned long long)wa_session_id));
}

static int known_event(const char *e)
{
	for (size_t i = 0; event_names[i]; i++)
		if (strcmp(e, event_names[i]) == 0)
			return 1;
	return 0;
}

/* Validate r->json "events" into compact JSON text (malloc'd) in *out.
 * Returns 0, or -1 after a 400/500. */
static int read_events(struct wa_req *r, char **out)
{
	json_t *v = json_object_get(r->json, "events"), *e, *list;
	size_t i, j;
	int dup;

	*out = NULL;
	if (!json_array_size(v))
		return wa_reply_error(r, 400,
				      "'events' must list at least one event (message.received, message.sent, "
				      "message.status, message.edited, message.deleted, message.reaction, poll.vote, "
				      "connection.update, group.update, group.participant, contact.update, status.update, "
				      "call.received, chat.update, label.update) or \"*\"", "validation_error");
	if (json_array_size(v) > 32)
		return wa_reply_error(r, 400, "'events' has too many entries", "validation_error");
	list = json_array();
	if (!list)
		return wa_reply_error(r, 500, "Out of memory", NULL);
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);

		if (!s || (strcmp(s, "*") != 0 && !known_event(s))) {
			json_decref(list);
			return wa_reply_errorf(r, 400, "validation_error",
					       "'events[%zu]' is not a webhook event: use message.received, message.sent, "
					       "message.status, message.edited, message.deleted, message.reaction, poll.vote, "
					       "connection.update, group.update, group.participant, contact.update, "
					       "status.update, call.received, chat.update, label.update or \"*\"", i);
		}
		dup = 0;
		for (j = 0; j < json_array_size(list); j++)
			dup |= strcmp(json_string_value(json_array_get(list, j)), s) == 0;
		if (!dup)
			json_array_append_new(list, json_string(s));
	}
	/* "*" subsumes everything else. */
	for (j = 0; j < json_array_size(list); j++)
		if (strcmp(json_string_value(json_array_get(list, j)), "*") == 0) {
			json_array_clear(list);
			json_array_append_new(list, json_string("*"));
			break;
		}
	*out = wa_json_text(list);
	json_decref(list);
	return *out ? 0 : wa_reply_error(r, 500, "Out of memory", NULL);
}

/* secret: absent = keep (NULL), null or "" = none (""), else the value. */
static int read_secret(struct wa_req *r, const char **out)
{
	int rc = wa_body_str_null(r, "secret", 255, out);

	if (rc < 0)
		return -1;
	if (rc == 1 && !*out)
		*out = "";
	return 0;
}

/* The address rule of wa-akg-hooks (hooks.allow_* keys), applied when a
 * webhook is saved: http(s) only, and a host written as an IP literal (or
 * "localhost") must be an address deliveries may reach. Names are checked
 * again by wa-akg-hooks on every connection. 0, or -1 after a 400/500. */
static int check_hook_url(struct wa_req *r, const char *url)
{
	struct wa_fetch_policy p;
	char why[256], err[256];

	if (wa_check_http_url(r, "url", url) < 0)
		return -1;
	wa_fetch_policy_default(&p);
	if (wa_fetch_policy_allow_from_config(r->app->cfg, "hooks.", &p, err, sizeof err) != WA_OK) {
		wa_error("%s", err);
		return wa_reply_error(r, 500, "Webhook address rule misconfigured", NULL);
	}
	if (wa_url_check(url, &p, why, sizeof why) != WA_OK)
		return wa_reply_errorf(r, 400, "validation_error", "'url' is not allowed: %s", why);
	return 0;
}

static json_t *load_hook(struct wa_req *r, unsigned long long id)
{
	json_t *row = wa_db_row(r->db, NULL, WH_SELECT "WHERE w.id = ? AND w.wa_session_id = ?", "uu", id,
				(unsigned long long)r->sess.id);

	if (row)
		shape(row);
	return row;
}

/* 0 when webhook id is this session's, else -1 with the answer given
 * (404, or 503 for a database error). */
static int hook_exists(struct wa_req *r, unsigned long long id)
{
	json_t *hook = load_hook(r, id);

	if (hook) {
		json_decref(hook);
		return 0;
	}
	if (wa_db_err(r->db) == WA_OK)
		wa_reply_errorf(r, 404, "not_found", "Webhook %llu not found in this session", id);
	else
		wa_reply_db_error(r, "Database error");
	return -1;
}

int h_wh_list(struct wa_req *r)
{
	json_t *rows = wa_webhooks_load(r, r->sess.id);

	if (!rows)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_ok(r, 200, "Webhooks retrieved", rows);
}

int h_wh_create(struct wa_req *r)
{
	const char *url, *secret, *name;
	char *events, why[128];
	struct wa_url u;
	json_t *row;
	long long n;

	if (wa_body_begin(r, 0, f_create) < 0)
		return -1;
	url = wa_body_str(r, "url");
	if (check_hook_url(r, url) < 0 || read_secret(r, &secret) < 0 || read_events(r, &events) < 0)
		return -1;
	/* Without a name (the n8n node sends none): the URL's host. */
	name = wa_body_str(r, "name");
	if (!name || !*name)
		name = wa_url_parse(url, &u, why, sizeof why) == WA_OK ? u.host : "webhook";
	n = wa_db_int(r->db, -1, "SELECT COUNT(*) FROM webhooks WHERE wa_session_id = ?", "u",
		      (unsigned long long)r->sess.id);
	if (n >= MAX_WEBHOOKS_PER_SESSION) {
		free(events);
		return wa_reply_errorf(r, 400, "validation_error", "A session can have at most %d webhooks",
				       MAX_WEBHOOKS_PER_SESSION);
	}
	if (wa_db_exec(r->db,
		       "INSERT INTO webhooks (wa_session_id, user_id, name, url, secret, events, is_active) "
		       "VALUES (?, ?, ?, ?, NULLIF(?, ''), ?, ?)",
		       "uussssb", (unsigned long long)r->sess.id, (unsigned long long)r->user.id,
		       name, url, secret, events, wa_body_bool(r, "isActive", 1)) < 0) {
		free(events);
		return wa_reply_db_error(r, "Cannot create the webhook");
	}
	free(events);
	row = load_hook(r, r->db->last_insert_id);
	if (!row)
		return wa_reply_db_error(r, "Database error");
	wa_info("session %s: webhook %llu created", r->sess.slug, (unsigned long long)r->db->last_insert_id);
	return wa_reply_ok(r, 200, "Webhook created", row);
}

int h_wh_update(struct wa_req *r)
{
	unsigned long long id;
	const char *url, *secret;
	char *events = NULL;
	json_t *row, *active;
	long long n;

	if (wa_path_id(r, "id", &id) < 0 || wa_body_begin(r, 0, f_update) < 0)
		return -1;
	url = wa_body_str(r, "url");
	if ((url && check_hook_url(r, url) < 0) || read_secret(r, &secret) < 0)
		return -1;
	if (json_object_get(r->json, "events") && !json_is_null(json_object_get(r->json, "events")) &&
	    read_events(r, &events) < 0)
		return -1;
	active = json_object_get(r->json, "isActive");
	n = wa_db_exec(r->db,
		       "UPDATE webhooks SET name = COALESCE(?, name), url = COALESCE(?, url), "
		       "secret = IF(? IS NULL, secret, NULLIF(?, '')), events = COALESCE(?, events), "
		       "is_active = COALESCE(?, is_active) WHERE id = ? AND wa_session_id = ?",
		       "ssssssuu", wa_body_str(r, "name"), url, secret, secret, events,
		       json_is_boolean(active) ? (json_is_true(active) ? "1" : "0") : NULL, id,
		       (unsigned long long)r->sess.id);
	free(events);
	if (n < 0)
		return wa_reply_db_error(r, "Cannot update the webhook");
	row = load_hook(r, id);
	if (!row)
		return wa_reply_errorf(r, 404, "not_found", "Webhook %llu not found in this session", id);
	return wa_reply_ok(r, 200, "Webhook updated", row);
}

int h_wh_delete(struct wa_req *r)
{
	unsigned long long id;
	long long n;

	if (wa_path_id(r, "id", &id) < 0)
		return -1;
	n = wa_db_exec(r->db, "DELETE FROM webhooks WHERE id = ? AND wa_session_id = ?", "uu", id,
		       (unsigned long long)r->sess.id);
	if (n < 0)
		return wa_reply_db_error(r, "Cannot delete the webhook");
	if (n == 0)
		return wa_reply_errorf(r, 404, "not_found", "Webhook %llu not found in this session", id);
	wa_info("session %s: webhook %llu deleted", r->sess.slug, id);
	return wa_reply_ok(r, 200, "Webhook deleted", json_pack("{s:s}", "id", wa_req_path_param(r, "id")));
}

int h_wh_delete_global(struct wa_req *r)
{
	unsigned long long id;
	long long n;
	int super = r->user.role == WA_ROLE_SUPERADMIN;

	if (wa_path_id(r, "id", &id) < 0)
		return -1;
	n = wa_db_exec(r->db, "DELETE FROM webhooks WHERE id = ? AND (? = 1 OR user_id = ?)", "ubu", id, super,
		       (unsigned long long)r->user.id);
	if (n < 0)
		return wa_reply_db_error(r, "Cannot delete the webhook");
	if (n == 0)
		return wa_reply_errorf(r, 404, "not_found", "Webhook %llu not found", id);
	wa_info("webhook %llu deleted by user %llu", id, (unsigned long long)r->user.id);
	return wa_reply_json(r, 200, json_pack("{s:b}", "success", 1));
}

/* GET /api/webhooks/{sessionId}/{id}/deliveries?limit=N: the delivery log
 * of one webhook, newest first (one row per event: its last attempt). */
int h_wh_deliveries(struct wa_req *r)
{
	unsigned long long id;
	long long limit;
	json_t *rows;

	if (wa_path_id(r, "id", &id) < 0 || wa_query_int(r, "limit", 1, 500, 50, &limit) < 0)
		return -1;
	if (hook_exists(r, id) < 0)
		return -1;
	rows = wa_db_query(r->db,
			   "SELECT CAST(d.id AS CHAR) AS id, CAST(d.outbox_id AS CHAR) AS eventId, d.event, d.state, "
			   "d.status_code AS statusCode, d.attempt AS attempts, d.duration_ms AS durationMs, d.error, "
			   "d.next_attempt_at AS nextAttemptAt, d.delivered_at AS deliveredAt, "
			   "d.created_at AS createdAt, d.updated_at AS updatedAt "
			   "FROM webhook_deliveries d WHERE d.webhook_id = ? ORDER BY d.id DESC LIMIT ?",
			   "ui", id, limit);
	if (!rows)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_ok(r, 200, "Deliveries retrieved", rows);
}

/* POST /api/webhooks/{sessionId}/{id}/test: a `webhook.test` event for
 * this webhook only, delivered (signed, retried, logged) like any other.
 * Its outbox row is written already published, so no other webhook gets
 * it, in the same transaction as its delivery row. */
int h_wh_test(struct wa_req *r)
{
	unsigned long long id, ev;
	char ts[32], evs[24], *payload = NULL, *body = NULL;
	struct tm tm;
	time_t now = time(NULL);
	json_t *data, *b;

	if (wa_path_id(r, "id", &id) < 0)
		return -1;
	if (hook_exists(r, id) < 0)
		return -1;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	data = json_pack("{s:s, s:s, s:s}", "sessionId", r->sess.slug, "webhookId", wa_req_path_param(r, "id"),
			 "message", "Test event from WA-AKG");
	b = data ? json_pack("{s:s, s:s, s:s, s:O}", "event", "webhook.test", "sessionId", r->sess.slug,
			     "timestamp", ts, "data", data) : NULL;
	payload = data ? wa_json_text(data) : NULL;
	body = b ? wa_json_text(b) : NULL;
	json_decref(data);
	json_decref(b);
	if (!payload || !body) {
		free(payload);
		free(body);
		return wa_reply_error(r, 500, "Out of memory", NULL);
	}
	if (wa_db_begin(r->db) != 0 ||
	    wa_db_exec(r->db, "INSERT INTO events_outbox (wa_session_id, event, payload, published_at) "
		       "VALUES (?, 'webhook.test', ?, NOW(3))", "us", (unsigned long long)r->sess.id, payload) < 0)
		goto fail;
	ev = r->db->last_insert_id;
	if (wa_db_exec(r->db, "INSERT INTO webhook_deliveries (webhook_id, outbox_id, event, payload) "
		       "VALUES (?, ?, 'webhook.test', ?)", "uus", id, ev, body) < 0 || wa_db_commit(r->db) != 0)
		goto fail;
	free(payload);
	free(body);
	wa_info("session %s: test event %llu queued for webhook %llu", r->sess.slug, ev, id);
	snprintf(evs, sizeof evs, "%llu", ev);
	return wa_reply_ok(r, 200, "Test event queued",
			   json_pack("{s:s, s:s, s:s}", "webhookId", wa_req_path_param(r, "id"), "event", "webhook.test",
				     "eventId", evs));
fail:
	wa_db_rollback(r->db);
	free(payload);
	free(body);
	return wa_reply_db_error(r, "Cannot queue the test event");
}
