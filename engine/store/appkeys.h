/* engine/store/appkeys: the app-state sync keys the phone shares with a
 * linked device (APP_STATE_SYNC_KEY_SHARE, docs/protocol.md §11), in
 * wa_app_state_keys (db/migrations/0004_app_state_keys.sql).
 *
 * Runs inside the caller's transaction. Threading: blocking database work,
 * dbpool threads only. Errors: 0, WA_EPROTO (a key without id or data),
 * WA_ESTORAGE, WA_ENOMEM. */
#ifndef WA_STORE_APPKEYS_H
#define WA_STORE_APPKEYS_H

#include <stdint.h>

struct wa_db;
struct WaE2E__AppStateSyncKeyShare;

/* Store every key of the share (a key seen before is replaced); *n gets
 * how many. */
int wa_appkeys_store(struct wa_db *db, uint64_t session_row, const struct WaE2E__AppStateSyncKeyShare *share,
		     unsigned *n);

#endif
