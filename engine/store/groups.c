/* engine/store/groups: wa_groups rows (see groups.h). */
#include "engine/store/groups.h"
#include "fcgi/db.h"
#include "wa_err.h"

#include <stdlib.h>
#include <string.h>

static const char SQL_UPSERT[] =
	"INSERT INTO wa_groups (wa_session_id, jid, subject, subject_owner, subject_time, description, desc_owner, "
	"desc_id, owner_jid, creation, size, is_community, linked_parent_jid, announce, restrict_, ephemeral, "
	"participants, left_at) VALUES (?, ?, ?, ?, FROM_UNIXTIME(NULLIF(?, 0)), ?, ?, ?, ?, "
	"FROM_UNIXTIME(NULLIF(?, 0)), ?, ?, ?, ?, ?, ?, ?, NULL) "
	"ON DUPLICATE KEY UPDATE subject = VALUES(subject), subject_owner = VALUES(subject_owner), "
	"subject_time = VALUES(subject_time), description = VALUES(description), desc_owner = VALUES(desc_owner), "
	"desc_id = VALUES(desc_id), owner_jid = VALUES(owner_jid), creation = VALUES(creation), "
	"size = VALUES(size), is_community = VALUES(is_community), linked_parent_jid = VALUES(linked_parent_jid), "
	"announce = VALUES(announce), restrict_ = VALUES(restrict_), ephemeral = VALUES(ephemeral), "
	"participants = VALUES(participants), left_at = NULL";
static const char SQL_INVITE[] = "UPDATE wa_groups SET invite_code = ? WHERE wa_session_id = ? AND jid = ?";
static const char SQL_LEFT[] =
	"UPDATE wa_groups SET left_at = COALESCE(left_at, NOW(3)) WHERE wa_session_id = ? AND jid = ?";

static const char SQL_LEFT_EXCEPT[] =
	"UPDATE wa_groups SET left_at = NOW(3) WHERE wa_session_id = ? AND left_at IS NULL "
	"AND NOT JSON_CONTAINS(?, JSON_QUOTE(jid))";

static const char SQL_NOTIF[] =
	"INSERT IGNORE INTO group_notifications (wa_session_id, notif_id) VALUES (?, ?)";
static const char SQL_NOTIF_SWEEP[] =
	"DELETE FROM group_notifications WHERE wa_session_id = ? AND created_at < NOW(3) - INTERVAL 30 DAY LIMIT 20";

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static long long num(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

int wa_groups_store(struct wa_db *db, uint64_t row, const json_t *meta)
{
	const char *jid = str(meta, "id");
	char *parts;
	long long rc;

	if (!jid)
		return WA_EINVAL;
	parts = json_is_array(json_object_get(meta, "participants")) ?
		json_dumps(json_object_get(meta, "participants"), JSON_COMPACT) : strdup("[]");
	if (!parts)
		return WA_ENOMEM;
	rc = wa_db_exec(db, SQL_UPSERT, "usssissssiiisbbis", (unsigned long long)row, jid, str(meta, "subject"),
			str(meta, "subjectOwner"), num(meta, "subjectTime"), str(meta, "desc"), str(meta, "descOwner"),
			str(meta, "descId"), str(meta, "owner"), num(meta, "creation"), num(meta, "size"),
			(long long)json_is_true(json_object_get(meta, "isCommunity")), str(meta, "linkedParentJid"),
			json_is_true(json_object_get(meta, "announce")), json_is_true(json_object_get(meta, "restrict")),
			num(meta, "ephemeralDuration"), parts);
	free(parts);
	return rc < 0 ? WA_ESTORAGE : 0;
}

int wa_groups_set_invite(struct wa_db *db, uint64_t row, const char *jid, const char *code)
{
	return wa_db_exec(db, SQL_INVITE, "sus", code, (unsigned long long)row, jid) < 0 ? WA_ESTORAGE : 0;
}

int wa_groups_left(struct wa_db *db, uint64_t row, const char *jid)
{
	return wa_db_exec(db, SQL_LEFT, "us", (unsigned long long)row, jid) < 0 ? WA_ESTORAGE : 0;
}

int wa_groups_left_except(struct wa_db *db, uint64_t row, const json_t *ids)
{
	char *list = json_dumps(ids, JSON_COMPACT);
	long long rc;

	if (!list)
		return WA_ENOMEM;
	rc = wa_db_exec(db, SQL_LEFT_EXCEPT, "us", (unsigned long long)row, list);
	free(list);
	return rc < 0 ? WA_ESTORAGE : 0;
}

int wa_groups_notif_seen(struct wa_db *db, uint64_t row, const char *id)
{
	long long n = wa_db_exec(db, SQL_NOTIF, "us", (unsigned long long)row, id);

	if (n < 0 || wa_db_exec(db, SQL_NOTIF_SWEEP, "u", (unsigned long long)row) < 0)
		return WA_ESTORAGE;
	return n > 0 ? 1 : 0;
}
