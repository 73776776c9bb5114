/* engine/store/history: a history-sync chunk from the phone (docs/protocol.md
 * §11.7) into the chats, contacts and messages tables.
 *
 * The chunk is the notification's inline payload or the blob at its
 * directPath on the media host (HTTPS, the media CA of the config, bounded
 * in time and size); it is decrypted and verified with the notification's
 * media key and hashes (type History), inflated (zlib, bounded) and parsed
 * as HistorySync. Conversations become chats (name, unread count, last
 * message time, archived, pinned, muted), their messages rows (every kind
 * as sess_recv stores them, with their protobuf; reactions and poll votes
 * left out; a message already stored is left as it is), push names the
 * contacts' notify. No event is written per message.
 *
 * Runs inside the caller's transaction (the caller commits together with
 * the Signal state that decrypted the notification). Threading: blocking
 * (database and network), dbpool threads only. Errors: 0, WA_EIO (the blob
 * could not be fetched), WA_ECRYPTO (it does not verify), WA_EPROTO (it
 * does not inflate or parse), WA_ETOOBIG, WA_ESTORAGE, WA_ENOMEM. */
#ifndef WA_STORE_HISTORY_H
#define WA_STORE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct wa_db;
struct WaE2E__HistorySyncNotification;

/* Where blobs named by a direct path are fetched. */
struct wa_history_env {
	const char *media_host;   /* host or host:port (whatsapp.media_host) */
	const char *media_ca;     /* CA file for it, NULL/"" = the system's */
	long timeout_ms;
};

struct wa_history_stats {
	unsigned chats, messages, contacts;
};

#define WA_HISTORY_BLOB_MAX (64u * 1024 * 1024)   /* encrypted or inflated */

/* The chunk's plaintext (zlib) inflated (at most WA_HISTORY_BLOB_MAX) and
 * parsed (nesting bounded). 0 with *out (free with
 * wa_history_sync__history_sync__free_unpacked), WA_EPROTO, WA_ETOOBIG or
 * WA_ENOMEM. Pure; any thread (fuzzed: tests/fuzz/fuzz_history.c). */
struct WaHistorySync__HistorySync;
int wa_history_decode(const uint8_t *z, size_t len, struct WaHistorySync__HistorySync **out);

int wa_history_apply(struct wa_db *db, uint64_t session_row, const struct WaE2E__HistorySyncNotification *hn,
		     const struct wa_history_env *env, struct wa_history_stats *st);

#endif
