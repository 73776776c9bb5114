/* engine/store/appsync: a session's app-state collections ("syncd",
 * docs/protocol.md §11) in MariaDB, and what their mutations mean for the
 * gateway's tables (db/migrations/0017_app_state.sql).
 *
 * State per (session, collection): version and LT-hash in
 * wa_app_state_versions, indexMAC -> valueMAC in wa_app_state_macs. It is
 * loaded whole for every apply or build (no copy lives in the engine
 * between syncs) and written back in the transaction of the apply, with
 * the mutations' effects and their events:
 *
 *   ["archive",chat]           chats.archived            chat.update {archived}
 *   ["pin_v1",chat]            chats.pinned, pinned_at   chat.update {pinned}
 *   ["mute",chat]              chats.muted_until         chat.update {muted, mutedUntil}
 *   ["markChatAsRead",chat]    chats.unread_count 0 / >= 1  chat.update {read}
 *   ["star",chat,id,fromMe,…]  messages.starred          chat.update {messageId, starred}
 *   ["contact",jid]            contacts.name             contact.update {name}
 *   ["setting_pushName"]       wa_sessions.push_name     -
 *   ["label_edit",id]          labels                    label.update {labelId, name, color, deleted}
 *   ["label_jid",id,chat]      chat_labels               chat.update {labelId, labeled}
 * Other actions are verified and kept in the state but change nothing.
 *
 * Errors (common/wa_err.h): WA_ENOTFOUND a key the mutations need is not
 * stored (the id in missing_key: ask the phone for it), WA_ECRYPTO a MAC
 * does not verify (the local state and the server's differ: resync from a
 * snapshot), WA_EPROTO undecodable data, WA_EIO a blob could not be
 * fetched, WA_ETOOBIG a bound, WA_ESTORAGE, WA_ENOMEM.
 *
 * Threading: blocking (database, and the media host for snapshots and
 * external mutations); dbpool threads only. Reentrant. */
#ifndef WA_STORE_APPSYNC_H
#define WA_STORE_APPSYNC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/appstate.h"

struct wa_db;
struct wa_history_env;
struct wa_sync_action;

#define WA_APPSYNC_NCOLL 5
#define WA_APPSYNC_PATCHES_MAX 500   /* patches applied per collection and sync answer */

/* Index of a collection name in wa_appstate_collection() order, or -1. */
int wa_appsync_coll_index(const char *name);

/* The stored version of every collection (0 when none), and whether any
 * app-state key is stored. 0 or WA_ESTORAGE. */
int wa_appsync_versions(struct wa_db *db, uint64_t row, uint64_t v[WA_APPSYNC_NCOLL], int *has_key);

/* One collection of a sync answer (docs/protocol.md §11.4). */
struct wa_appsync_patch {
	uint8_t *p;
	size_t len;
};
struct wa_appsync_in {
	int ci;                         /* collection index */
	int resync;                     /* drop the local state first (a snapshot request) */
	uint8_t *snapshot;              /* ExternalBlobReference bytes, or NULL */
	size_t snapshot_len;
	struct wa_appsync_patch *patches;
	size_t npatches;
};

struct wa_appsync_res {
	int rc;                         /* 0 or one of the errors above */
	uint64_t version;               /* the stored version afterwards */
	size_t applied;                 /* mutations applied */
	uint8_t missing_key[WA_APPSTATE_MAX_KEY_ID];
	size_t missing_key_len;
	json_t *events;                 /* [[outbox_id, event, data], ...] to publish after the commit */
};

/* Apply in to the stored state in one transaction of its own (begun and
 * ended here; WA_ESTORAGE after a deadlock: run it again, as
 * wa_dbjob_retry does), with every effect and event; on an error nothing
 * of it is stored. A patch at or below the stored version is skipped (already
 * applied). res->events is replaced (json_decref it). Returns res->rc. */
int wa_appsync_apply(struct wa_db *db, uint64_t row, const char *slug, const struct wa_history_env *env,
		     const struct wa_appsync_in *in, struct wa_appsync_res *res);

/* The newest message of a chat (for the message ranges of archive and
 * mark-read), into the caller's strings. 1 found, 0 none, WA_ESTORAGE. */
struct wa_appsync_last {
	char id[129];
	char sender[129];
	int from_me;
	int64_t ts;
};
int wa_appsync_last_message(struct wa_db *db, uint64_t row, const char *chat, struct wa_appsync_last *out);

/* A stored message's from_me and sender (for a star's index). 1 found,
 * 0 not stored, WA_ESTORAGE. */
int wa_appsync_message(struct wa_db *db, uint64_t row, const char *chat, const char *id, int *from_me,
		       char sender[129]);

/* Build the patch for n actions of collection ci (all of that collection)
 * on top of the stored state, with the newest stored key. *patch is
 * malloc'd; *base the version it builds on (the IQ's version attribute).
 * WA_ENOTFOUND when no key is stored. */
int wa_appsync_build(struct wa_db *db, uint64_t row, int ci, struct wa_sync_action *const *acts, size_t n,
		     uint8_t **patch, size_t *len, uint64_t *base);

/* Label changes the API queued for WhatsApp (label_sync_queue, migration
 * 0018), oldest first, with an id above `after`, at most max: *rows a new
 * array of {"id", "label_id", "chat_jid" (null: the label itself), "name",
 * "color", "deleted", "labeled"}. 0 or WA_ESTORAGE. */
int wa_appsync_label_queue(struct wa_db *db, uint64_t row, uint64_t after, size_t max, json_t **rows);
/* WhatsApp has queue row id: forget it. 0 or WA_ESTORAGE. */
int wa_appsync_label_done(struct wa_db *db, uint64_t row, uint64_t id);

/* Forget every collection of the session (logout). 0 or WA_ESTORAGE. */
int wa_appsync_forget(struct wa_db *db, uint64_t row);

#endif
