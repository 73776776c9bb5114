/* fanout: configuration and the outbox -> webhook_deliveries step of
 * wa-akg-hooks (see hooks.h). */
#include "engine/hooks/hooks.h"
#include "wa_config.h"
#include "wa_log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wa_hooks_cfg_load(const struct wa_config *cfg, struct wa_hooks_cfg *hc, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		long min, max;
		size_t off;
	} ints[] = {
		{ "hooks.batch", 1, 10000, offsetof(struct wa_hooks_cfg, batch) },
		{ "hooks.parallel", 1, 256, offsetof(struct wa_hooks_cfg, parallel) },
		{ "hooks.keep_days", 0, 3650, offsetof(struct wa_hooks_cfg, keep_days) },
		{ "hooks.poll_ms", 10, 600000, offsetof(struct wa_hooks_cfg, poll_ms) },
		{ "hooks.coalesce_ms", 0, 1000, offsetof(struct wa_hooks_cfg, coalesce_ms) },
		{ "hooks.engines_refresh_ms", 100, 3600000, offsetof(struct wa_hooks_cfg, engines_refresh_ms) },
		{ "hooks.retry_first_ms", 10, 86400000L, offsetof(struct wa_hooks_cfg, retry_first_ms) },
		{ "hooks.retry_max_ms", 10, 86400000L, offsetof(struct wa_hooks_cfg, retry_max_ms) },
		{ "hooks.give_up_hours", 1, 8760, offsetof(struct wa_hooks_cfg, give_up_hours) },
		{ "hooks.pause_after_hours", 1, 8760, offsetof(struct wa_hooks_cfg, pause_after_hours) },
	};
	long v;

	memset(hc, 0, sizeof *hc);
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		if (wa_config_get_int(cfg, ints[i].key, ints[i].min, ints[i].max, &v, err, errlen) != 0)
			return -1;
		*(long *)((char *)hc + ints[i].off) = v;
	}
	if (hc->retry_max_ms < hc->retry_first_ms) {
		snprintf(err, errlen, "hooks.retry_max_ms: must be at least hooks.retry_first_ms");
		return -1;
	}
	wa_fetch_policy_default(&hc->policy);
	hc->policy.max_bytes = 64 * 1024;  /* the response body is read and dropped */
	hc->policy.max_redirects = 0;
	if (wa_config_get_int(cfg, "hooks.timeout_ms", 100, 600000, &v, err, errlen) != 0)
		return -1;
	hc->policy.timeout_ms = v;
	if (wa_config_get_int(cfg, "hooks.connect_timeout_ms", 100, 600000, &v, err, errlen) != 0)
		return -1;
	hc->policy.connect_timeout_ms = v;
	if (wa_fetch_policy_allow_from_config(cfg, "hooks.", &hc->policy, err, errlen) != WA_OK)
		return -1;
	return 0;
}

char *wa_hooks_body(const char *event, const char *session_slug, const char *created_at, const char *payload)
{
	json_t *data = json_loads(payload, JSON_DECODE_ANY, NULL), *body;
	char *out;

	if (!data)
		return NULL;
	body = json_pack("{s:s, s:s?, s:s?, s:o}", "event", event, "sessionId", session_slug, "timestamp",
			 created_at, "data", data);
	if (!body)
		return NULL;
	out = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	return out;
}

/* The webhooks of one event, in one statement: per-session ones and the
 * owner's all-sessions ones, whose event list names it or "*". */
static const char fan_sql[] =
	"INSERT IGNORE INTO webhook_deliveries (webhook_id, outbox_id, event, payload) "
	"SELECT w.id, ?, ?, ? FROM webhooks w WHERE w.is_active = 1 "
	"AND (w.wa_session_id = ? OR (w.wa_session_id IS NULL AND w.user_id = ?)) "
	"AND (JSON_CONTAINS(w.events, '\"*\"') OR JSON_CONTAINS(w.events, JSON_QUOTE(?)))";

/* Whether session sess (owned by owner) has any active webhook: asked once
 * per session and batch, so that the events of sessions without webhooks
 * (most of them, on most gateways) cost no statement each. */
static const char has_sql[] =
	"SELECT COUNT(*) FROM webhooks w WHERE w.is_active = 1 "
	"AND (w.wa_session_id = ? OR (w.wa_session_id IS NULL AND w.user_id = ?))";

#define FAN_KNOWN 64   /* sessions remembered per batch */
#define MARK_CHUNK 16  /* ids per UPDATE (the statement's placeholders) */

struct fan_known {
	unsigned long long sess;
	int has;
};

static int session_has_hooks(struct wa_db *db, struct fan_known *k, size_t *nk, unsigned long long sess,
			     unsigned long long owner)
{
	long long n;

	for (size_t i = 0; i < *nk; i++)
		if (k[i].sess == sess)
			return k[i].has;
	n = wa_db_int(db, -1, has_sql, "uu", sess, owner);
	if (n < 0)
		return -1;
	if (*nk < FAN_KNOWN) {
		k[*nk].sess = sess;
		k[*nk].has = n > 0;
		(*nk)++;
	}
	return n > 0;
}

/* published_at set on ids[0..n) in statements of MARK_CHUNK ids (the last
 * padded with repeats). By id, never by range: an id below the batch's
 * last may belong to a transaction that commits after the batch was read,
 * and must stay unpublished until a batch has seen it. */
static int mark_published(struct wa_db *db, const unsigned long long *ids, size_t n)
{
	static const char sql[] = "UPDATE events_outbox SET published_at = NOW(3) WHERE id IN "
				  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	unsigned long long v[MARK_CHUNK];

	for (size_t i = 0; i < n; i += MARK_CHUNK) {
		for (size_t k = 0; k < MARK_CHUNK; k++)
			v[k] = ids[i + k < n ? i + k : n - 1];
		if (wa_db_exec(db, sql, "uuuuuuuuuuuuuuuu", v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8],
			       v[9], v[10], v[11], v[12], v[13], v[14], v[15]) < 0)
			return -1;
	}
	return 0;
}

int wa_hooks_fanout(struct wa_db *db, const struct wa_hooks_cfg *hc, long long *created)
{
	struct fan_known known[FAN_KNOWN];
	size_t nknown = 0, nids = 0;
	unsigned long long *ids = NULL;
	json_t *rows, *row;
	size_t i;
	long long made = 0;
	int n = 0;

	if (created)
		*created = 0;
	if (wa_db_begin(db) != 0)
		return -1;
	rows = wa_db_query(db,
			   "SELECT o.id, o.wa_session_id AS sess, o.event, o.payload, o.created_at AS createdAt, "
			   "s.session_id AS slug, s.user_id AS owner FROM events_outbox o "
			   "LEFT JOIN wa_sessions s ON s.id = o.wa_session_id "
			   "WHERE o.published_at IS NULL ORDER BY o.id LIMIT ?",
			   "i", (long long)hc->batch);
	if (!rows)
		goto fail;
	if (json_array_size(rows) && !(ids = malloc(json_array_size(rows) * sizeof *ids)))
		goto fail;
	json_array_foreach(rows, i, row) {
		long long id = json_integer_value(json_object_get(row, "id"));
		const char *event = json_string_value(json_object_get(row, "event"));
		const char *slug = json_string_value(json_object_get(row, "slug"));
		json_t *owner = json_object_get(row, "owner");
		unsigned long long sess = (unsigned long long)json_integer_value(json_object_get(row, "sess"));
		int has = 0;

		if (slug && json_is_integer(owner) &&
		    (has = session_has_hooks(db, known, &nknown, sess,
					     (unsigned long long)json_integer_value(owner))) < 0)
			goto fail;
		if (has) {
			char *body = wa_hooks_body(event, slug, json_string_value(json_object_get(row, "createdAt")),
						   json_string_value(json_object_get(row, "payload")));

			if (!body) {
				wa_warn("outbox %lld: payload is not JSON; published without deliveries", id);
			} else {
				long long k = wa_db_exec(db, fan_sql, "ussuus", (unsigned long long)id, event, body, sess,
							 (unsigned long long)json_integer_value(owner), event);

				free(body);
				if (k < 0)
					goto fail;
				made += k;
				if (k > 0)
					wa_debug("outbox %lld (%s %s): %lld deliveries", id, slug, event, k);
			}
		}
		ids[nids++] = (unsigned long long)id;
		n++;
	}
	if (nids && mark_published(db, ids, nids) != 0)
		goto fail;
	free(ids);
	json_decref(rows);
	if (wa_db_commit(db) != 0)
		return -1;
	if (created)
		*created = made;
	return n;
fail:
	free(ids);
	json_decref(rows);
	wa_db_rollback(db);
	return -1;
}
