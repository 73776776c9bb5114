/* db: MariaDB access for the workers (and the engine's db threads),
 * prepared statements only.
 *
 * Each thread owns one struct wa_db (one connection, zero-initialised with
 * .cfg set); nothing here is shared between threads. Parameters are
 * described by a format string, one letter per '?':
 *   s  const char *        (NULL binds SQL NULL)
 *   i  long long
 *   u  unsigned long long
 *   d  double
 *   b  int, bound as 0/1
 *   x  const void *, size_t: bytes (a BLOB; a NULL pointer binds SQL NULL)
 * Result rows come back as jansson objects keyed by column label (use SQL
 * aliases for the API's camelCase names). Integer columns become JSON
 * integers, TINYINT(1) booleans, DECIMAL/FLOAT reals, DATETIME/TIMESTAMP
 * ISO-8601 UTC strings ("2026-01-15T08:00:00.000Z"), NULL null, the rest
 * strings. The connection runs in UTC (time_zone '+00:00') and utf8mb4.
 * Statements are prepared once per connection and cached (see struct wa_db).
 *
 * Errors are logged with the request id and return -1/NULL/`def`. After any
 * call, wa_db_err() classifies its outcome (WA_OK after a success) and
 * wa_db_errno() gives the server error number (1062 = duplicate key).
 *
 * Lost connections: the rule
 *
 *   A statement is retried at most once, on a new connection, and only when
 *   running it again cannot do anything twice or outside its transaction:
 *
 *   1. Inside a transaction (wa_db_begin .. commit/rollback) nothing is ever
 *      retried and no new connection is opened: the server rolled the
 *      transaction back when the connection died, and a retry would run in
 *      autocommit on a new connection (half a transaction committed). The
 *      statement fails, every further statement of the transaction fails
 *      without reaching the server, and wa_db_commit() fails, all with
 *      WA_ESTORAGE, until wa_db_rollback() (or the failed commit) ends the
 *      transaction. So nothing of it becomes visible. The one case no client
 *      can settle: the connection lost while COMMIT itself was in flight --
 *      commit fails, and the transaction may or may not have committed.
 *   2. Outside a transaction, a write (anything that is not a SELECT) whose
 *      connection was lost after it was sent has an unknown outcome (the
 *      server may have executed it): it is not retried and fails with
 *      WA_ESTORAGE.
 *   3. Retried: a statement known not to have reached the server (the
 *      connection was found dead when preparing it or when sending it:
 *      CR_SERVER_GONE_ERROR), or a read (text beginning with SELECT, which
 *      must then have no side effects) lost at any point. Only when the
 *      connection was already open before the call: a connection that fails
 *      right after being opened, or cannot be opened, means the server is
 *      down, and the call fails at once with WA_ESTORAGE.
 *
 *   A request whose statement failed with WA_ESTORAGE answers 503 in the
 *   API's error shape (wa_reply_db_error() in h_util.h); other database
 *   failures stay 500. */
#ifndef WA_FCGI_DB_H
#define WA_FCGI_DB_H

#include "wa_err.h"

#include <jansson.h>
#include <stdint.h>

struct wa_config;
struct st_mysql;

#define WA_DB_STMT_CACHE 64
#define WA_DB_PRE_MAX 8       /* modules holding work back to a commit (wa_db_at_commit) */

struct wa_db_cached {
	char *sql;                  /* own copy of the statement text */
	struct st_mysql_stmt *stmt;
};

struct wa_db {
	struct st_mysql *conn;
	const struct wa_config *cfg;
	unsigned last_errno;        /* server/client error number of the last failure, 0 after success */
	int last_err;               /* wa_err class of the last call: see wa_db_err() */
	uint64_t last_insert_id;
	/* Transaction state (read it through the functions below). in_txn
	 * from wa_db_begin() to commit/rollback; txn_lost once its connection
	 * was lost: statements are then refused until the transaction ends. */
	int in_txn, txn_lost;
	/* Statements run on this connection that are not SELECTs (counted
	 * before they run, whatever their outcome): a request that ran none
	 * changed nothing, so it took no right away (fcgi/authcache.h rule 4). */
	unsigned long writes;
	/* Batch mode (wa_db_batch_begin, the engine's dbpool): one outer
	 * transaction holds several jobs; a job's own begin / commit only
	 * mark where it is (no statement), and its rollback voids the batch
	 * (batch_voided; the pool runs the jobs again one by one), so one
	 * COMMIT (one log flush) makes all of them durable at once. */
	int batch, in_sp, batch_voided;
	/* Prepared statements of this connection, reused across requests so a
	 * query costs one round trip instead of three (prepare, execute,
	 * close). Dropped with the connection. */
	struct wa_db_cached cache[WA_DB_STMT_CACHE];
	unsigned ncache, next_evict;
	/* One more module's state tied to this connection (the engine's
	 * Signal store statements, engine/store/creds.c): set by that module,
	 * freed by wa_db_close() with ext_free() before the connection closes,
	 * so it never outlives the MYSQL it was made on. NULL when unused. */
	void *ext;
	void (*ext_free)(void *ext);
	/* Work held back to the end of the open transaction (wa_db_at_commit),
	 * run in the order set. */
	struct wa_db_pre {
		int (*flush)(struct wa_db *db, void *arg);
		void (*discard)(void *arg);
		void *arg;
	} pre[WA_DB_PRE_MAX];
	unsigned npre, npre_early;
	int pre_failed;
};

#define WA_DB_DUPLICATE 1062
#define WA_DB_FK_FAIL 1452
#define WA_DB_DEADLOCK 1213   /* ER_LOCK_DEADLOCK: the transaction was rolled back */
#define WA_DB_LOCK_WAIT 1205  /* ER_LOCK_WAIT_TIMEOUT: the statement was rolled back */

/* The open connection, connecting first if there is none. NULL when the
 * server cannot be reached, and always NULL inside a transaction whose
 * connection was lost (a new connection would not carry the transaction). */
struct st_mysql *wa_db_conn(struct wa_db *db);

/* Close the connection and its statements. Inside a transaction this loses
 * the transaction (rule 1 above applies until wa_db_rollback()). */
void wa_db_close(struct wa_db *db);

/* Execute a statement; returns affected rows (>= 0) or -1. The insert id of
 * an INSERT is in db->last_insert_id. */
long long wa_db_exec(struct wa_db *db, const char *sql, const char *fmt, ...);

/* Run a query; returns a new JSON array of row objects, or NULL on error. */
json_t *wa_db_query(struct wa_db *db, const char *sql, const char *fmt, ...);

/* First row of a query as a new object; NULL when there is no row or on error
 * (*err set to 1 on error when err is given). */
json_t *wa_db_row(struct wa_db *db, int *err, const char *sql, const char *fmt, ...);

/* Single integer of the first column of the first row; `def` when there is
 * none or on error (tell them apart with wa_db_err()). */
long long wa_db_int(struct wa_db *db, long long def, const char *sql, const char *fmt, ...);

/* A query's result as text, for writing a response straight from it
 * (wa_db_text_query) instead of through one jansson object per row. Every
 * value is a NUL-terminated copy in one buffer; kind says how the column's
 * type maps to JSON the way wa_db_query() maps it. Owned by the caller:
 * wa_db_text_free(). */
enum wa_db_kind { WA_DB_K_STR, WA_DB_K_INT, WA_DB_K_BOOL, WA_DB_K_REAL, WA_DB_K_TIME };

struct wa_db_text {
	unsigned ncols;
	size_t nrows;
	char **names;           /* column labels (ncols) */
	unsigned char *kinds;   /* enum wa_db_kind per column */
	size_t *off;            /* nrows * ncols offsets into data; (size_t)-1 is NULL */
	unsigned long *len;     /* nrows * ncols value lengths */
	char *data;
	size_t data_len, data_cap, rows_cap;
};

/* Run a query into *out (zeroed first, empty on failure). 0, or -1 with the
 * failure recorded as for wa_db_query() (same retry rule). */
int wa_db_text_query(struct wa_db *db, struct wa_db_text *out, const char *sql, const char *fmt, ...);
void wa_db_text_free(struct wa_db_text *t);
/* Index of the column labelled name, or -1. */
int wa_db_text_col(const struct wa_db_text *t, const char *name);
/* Value of row, col (NULL for SQL NULL); *len its length when len is given. */
const char *wa_db_text_val(const struct wa_db_text *t, size_t row, int col, unsigned long *len);
/* A DATETIME/TIMESTAMP text as wa_db_query() writes it
 * ("2026-01-15T08:00:00.000Z") into out (>= 32 bytes); its length. Text
 * shorter than a date and time is copied as it is (truncated to 31). */
size_t wa_db_iso_time(const char *v, unsigned long len, char *out);

/* START TRANSACTION (connecting first if needed; a stale connection is
 * replaced, nothing of the transaction exists yet). 0 or -1. A transaction
 * still open from an earlier caller is rolled back first, never committed. */
int wa_db_begin(struct wa_db *db);

/* COMMIT. 0, or -1 (with WA_ESTORAGE when the connection was lost, before
 * or during the commit). Ends the transaction either way: after -1 nothing
 * of it is committed, except for a loss during the COMMIT itself (unknown).
 * -1 with WA_ESTATE when no transaction is open. */
int wa_db_commit(struct wa_db *db);

/* ROLLBACK and end the transaction; a no-op outside one. Leaves
 * wa_db_err()/wa_db_errno() of the failure that led here untouched, so a
 * handler can roll back first and reply after. */
void wa_db_rollback(struct wa_db *db);

/* A statement of db's connection failed outside this module (the engine's
 * Signal store runs its own): err is its error number. A deadlock, or a
 * lost connection, inside a transaction loses the transaction as if the
 * statement had been ours (rule 1: what follows fails, nothing of it is
 * committed, a batch is voided). */
void wa_db_external_error(struct wa_db *db, unsigned err);

/* Whether a transaction is open (begun, not yet committed/rolled back). */
int wa_db_in_txn(const struct wa_db *db);

/* Work held back to the end of the open transaction (the engine's outbox
 * rows, engine/store/msgs.h): flush(db, arg) runs right before the COMMIT
 * that makes the transaction durable (a transaction's own outside batches,
 * the batch's inside one), and its failure fails that commit with nothing
 * committed; discard(arg) runs when the transaction ends any way, after
 * the flush when there was one (the memory is discard's to free). Up to
 * WA_DB_PRE_MAX modules at once, one slot each (told apart by flush),
 * flushed in the order set; only inside a transaction: 0, or -1 (nothing
 * set) when no transaction is open, flush has a slot already or all are
 * taken. wa_db_at_commit_arg is the arg set with flush, NULL when none: a
 * module finds its own pending work. */
int wa_db_at_commit(struct wa_db *db, int (*flush)(struct wa_db *db, void *arg), void (*discard)(void *arg),
		    void *arg);
void *wa_db_at_commit_arg(const struct wa_db *db, int (*flush)(struct wa_db *db, void *arg));
/* The same, for work whose flush itself holds work back for the commit
 * (the status changes of sent messages, whose events are outbox rows):
 * early slots are flushed before every slot set with wa_db_at_commit,
 * in the order they were set. */
int wa_db_at_commit_early(struct wa_db *db, int (*flush)(struct wa_db *db, void *arg), void (*discard)(void *arg),
			  void *arg);
/* A module's pending work, found or made: flush's arg in the open
 * transaction, or a new zeroed object of size bytes set with flush and
 * discard (which frees it), early or not. NULL when no transaction is
 * open, every slot is taken or memory is short: the caller does its work
 * now instead. */
void *wa_db_at_commit_obj(struct wa_db *db, int (*flush)(struct wa_db *db, void *arg), void (*discard)(void *arg),
			  size_t size, int early);

/* Group commit (the engine's dbpool; the workers never use it). Between
 * wa_db_batch_begin and wa_db_batch_end everything runs in one outer
 * transaction: a job's wa_db_begin and wa_db_commit run no statement
 * (nothing is durable before the batch's COMMIT), and statements outside
 * a job's own transaction join the outer one. A job's wa_db_rollback,
 * like a deadlock or a lost connection, voids the whole batch
 * (wa_db_batch_lost turns true; every further statement and begin fails),
 * and then nothing of it is committed: the caller runs the jobs again one
 * by one, where a rollback undoes only its own job. Jobs roll back rarely
 * (a redelivered message, a failure), so a batch costs its jobs'
 * statements plus START TRANSACTION and COMMIT, with no savepoint per job.
 *   wa_db_batch_begin: START TRANSACTION. 0 or -1.
 *   wa_db_batch_end: COMMIT (or ROLLBACK when the batch was lost). 0, -1
 *     nothing committed, -2 the connection was lost during the COMMIT
 *     itself (unknown: the jobs must be told they failed, not re-run).
 *   wa_db_batch_voided: whether the batch was lost to a job's rollback
 *     (routine) rather than to the database (worth a log line). */
int wa_db_batch_begin(struct wa_db *db);
int wa_db_batch_end(struct wa_db *db);
int wa_db_batch_lost(const struct wa_db *db);
int wa_db_batch_voided(const struct wa_db *db);

/* Outcome of the last exec/query/row/int/begin/commit, as a wa_err code:
 *   WA_OK         it succeeded
 *   WA_ESTORAGE   the database could not be reached or the connection was
 *                 lost (see the rule above): temporary, the API answers 503
 *   WA_ECONFLICT  duplicate key (wa_db_errno() == WA_DB_DUPLICATE)
 *   WA_ENOMEM     out of memory building the result
 *   WA_ESTATE     commit without a transaction
 *   WA_EINTERNAL  any other failure of the statement (SQL error, wrong
 *                 parameters): the API answers 500 */
int wa_db_err(const struct wa_db *db);

unsigned wa_db_errno(const struct wa_db *db);

#endif
