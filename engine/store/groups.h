/* engine/store/groups: the wa_groups rows (db/migrations/0001_core.sql),
 * the engine's cache of group metadata that GET /api/groups/{sessionId}
 * reads (fcgi/h_store.c).
 *
 * A row is written from the API's Group object (engine/group_meta.h):
 * every column from it, participants as its JSON array ({id, admin}), and
 * left_at cleared (we are in the group). An invite code and our leaving
 * are written on their own. Each call is one statement inside the
 * caller's transaction (the caller commits, with the event the change
 * produced: the durability rule).
 *
 * Threading: blocking database work, dbpool threads only. Errors: 0, or
 * WA_EINVAL (meta without an id), WA_ENOMEM, WA_ESTORAGE. */
#ifndef WA_STORE_GROUPS_H
#define WA_STORE_GROUPS_H

#include <jansson.h>
#include <stdint.h>

struct wa_db;

/* Insert or update the row of meta's group (meta borrowed). */
int wa_groups_store(struct wa_db *db, uint64_t session_row, const json_t *meta);

/* The group's invite code (the row must exist; none: nothing written). */
int wa_groups_set_invite(struct wa_db *db, uint64_t session_row, const char *jid, const char *code);

/* We are no longer in the group: left_at is set (the list hides it). */
int wa_groups_left(struct wa_db *db, uint64_t session_row, const char *jid);

/* Every group of the session not in ids (a JSON array of group JIDs, the
 * answer to a "participating" query) is left (left_at set). */
int wa_groups_left_except(struct wa_db *db, uint64_t session_row, const json_t *ids);

/* Record notification id of the session (group_notifications): 1 when it
 * is new, 0 when it was stored before (its event must not go out again),
 * or WA_ESTORAGE. Also sweeps a few of the session's rows older than 30
 * days. */
int wa_groups_notif_seen(struct wa_db *db, uint64_t session_row, const char *id);

#endif
