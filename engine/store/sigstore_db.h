/* engine/store/sigstore_db: the wa/sigstore interface on MariaDB, the tables
 * of db/migrations/0002_signal_store.sql, prepared statements only, every row
 * scoped by a session_key (one WhatsApp session of the gateway), so one
 * database holds many sessions. It lives beside the engine's storage, not in
 * the protocol library (wa/), which links no database.
 *
 * Errors are the wa/sigstore return codes (WA_SIGSTORE_*). */
#ifndef WA_STORE_SIGSTORE_DB_H
#define WA_STORE_SIGSTORE_DB_H

#include <pthread.h>

#include "wa/sigstore.h"

/* MariaDB Connector/C's MYSQL is `struct st_mysql`. */
struct st_mysql;

/* MariaDB store over the tables of db/migrations/0002_signal_store.sql, rows
 * scoped by session_key (1..64 bytes). db stays owned by the caller and must
 * outlive the store; statements are prepared on first use and cached on the
 * store. If lock is non-NULL every operation holds it around its use of db,
 * so a MYSQL* may be shared with other users of the same lock; with lock NULL
 * the store and db must be used by one thread at a time. Lock order: the
 * store takes lock inside libsignal's context lock, so never call wa/signal
 * while holding lock yourself (deadlock). A failed statement
 * is dropped from the cache and re-prepared on the next call (so a caller
 * that reconnects db recovers). Each statement stands alone (autocommit on
 * db is assumed; a caller transaction open on db would swallow them).
 * NULL on bad arguments or out of memory. */
wa_sigstore *wa_sigstore_db_new(struct st_mysql *db, pthread_mutex_t *lock, const char *session_key);

/* Many stores on one connection. Prepared statements belong to a
 * connection and the server caps them (max_prepared_stmt_count, 16382 by
 * default), so stores sharing a MYSQL* should share one statement cache:
 * make it with wa_sigstore_dbconn_new (db and lock as for wa_sigstore_db_new,
 * which makes a private one), then wa_sigstore_db_new_on() per session key.
 * Free the cache when its connection closes (before mysql_close: it closes
 * the statements). Stores still open on it then fail every operation with
 * WA_SIGSTORE_ERR and no longer touch db; the cache's memory goes with the
 * last of them. NULL on bad arguments or out of memory (new_on: also when
 * the cache was freed). */
typedef struct wa_sigstore_dbconn wa_sigstore_dbconn;
wa_sigstore_dbconn *wa_sigstore_dbconn_new(struct st_mysql *db, pthread_mutex_t *lock);
void wa_sigstore_dbconn_free(wa_sigstore_dbconn *c);
wa_sigstore *wa_sigstore_db_new_on(wa_sigstore_dbconn *c, const char *session_key);

/* fn(ctx, err) is told the server/client error number of every statement
 * of the stores on c that fails (on the thread that ran it), so that the
 * connection's owner knows when a deadlock has rolled its transaction back
 * (the stores' statements do not go through fcgi/db.c). NULL: nobody. */
void wa_sigstore_dbconn_on_error(wa_sigstore_dbconn *c, void (*fn)(void *ctx, unsigned err), void *ctx);

/* Session records held for the open transaction. With txn set, the stores
 * on c keep the SESSION records they read or write while the connection's
 * owner has a transaction open: a second read of one in that transaction
 * (a second message to the same device within one dbpool batch) costs no
 * statement, and the writes are held back and written together, one
 * multi-row INSERT per few records, by flush(), which the owner runs just
 * before its COMMIT (the owner registers it: at_commit). Whatever ends the
 * transaction ends the records with it (discard): nothing is kept from one
 * transaction to the next, so a write by anyone else is never missed.
 * Deleting, listing or counting sessions first writes what is held (the
 * database then answers for them), a purge (wa_sigstore_dbconn_forget
 * first) drops it. txn NULL (the default): every operation is a statement
 * of its own, as before.
 *   in_txn(ctx): whether a transaction is open on the connection;
 *   at_commit(ctx, c): have wa_sigstore_dbconn_flush(c) run before the
 *     COMMIT and wa_sigstore_dbconn_forget(c) when the transaction ends;
 *     0, or -1 (then nothing is held back: every write is a statement). */
struct wa_sigstore_txn {
	int (*in_txn)(void *ctx);
	int (*at_commit)(void *ctx, wa_sigstore_dbconn *c);
};
void wa_sigstore_dbconn_txn(wa_sigstore_dbconn *c, const struct wa_sigstore_txn *txn, void *ctx);
/* Write the held-back records (0, or WA_SIGSTORE_ERR: the statement's
 * failure was reported through on_error), and drop every record held. */
int wa_sigstore_dbconn_flush(wa_sigstore_dbconn *c);
void wa_sigstore_dbconn_forget(wa_sigstore_dbconn *c);

/* Delete every row of session_key from the six tables (the session was
 * logged out or deleted: there are no foreign keys to cascade). Holds lock
 * if non-NULL. Returns the number of rows deleted, or WA_SIGSTORE_ERR. */
int wa_sigstore_db_purge(struct st_mysql *db, pthread_mutex_t *lock, const char *session_key);

#endif
