/* db: MariaDB access for the workers, prepared statements only.
 *
 * Each accept thread owns one struct wa_db (one connection); nothing here is
 * shared between threads. Parameters are described by a format string, one
 * letter per '?':
 *   s  const char *        (NULL binds SQL NULL)
 *   i  long long
 *   u  unsigned long long
 *   d  double
 *   b  int, bound as 0/1
 * Result rows come back as jansson objects keyed by column label (use SQL
 * aliases for the API's camelCase names). Integer columns become JSON
 * integers, TINYINT(1) booleans, DECIMAL/FLOAT reals, DATETIME/TIMESTAMP
 * ISO-8601 UTC strings ("2026-01-15T08:00:00.000Z"), NULL null, the rest
 * strings. The connection runs in UTC (time_zone '+00:00') and utf8mb4.
 * Errors are logged with the request id and return -1/NULL; wa_db_errno()
 * gives the server error number of the last failure (1062 = duplicate key).
 * Statements are prepared once per connection and cached (see struct wa_db). */
#ifndef WA_FCGI_DB_H
#define WA_FCGI_DB_H

#include <jansson.h>
#include <stdint.h>

struct wa_config;
struct st_mysql;

#define WA_DB_STMT_CACHE 64

struct wa_db_cached {
	char *sql;                  /* own copy of the statement text */
	struct st_mysql_stmt *stmt;
};

struct wa_db {
	struct st_mysql *conn;
	const struct wa_config *cfg;
	unsigned last_errno;
	uint64_t last_insert_id;
	/* Prepared statements of this connection, reused across requests so a
	 * query costs one round trip instead of three (prepare, execute,
	 * close). Dropped with the connection. */
	struct wa_db_cached cache[WA_DB_STMT_CACHE];
	unsigned ncache, next_evict;
};

#define WA_DB_DUPLICATE 1062
#define WA_DB_FK_FAIL 1452

/* Connect (or reconnect) if needed. Returns the connection or NULL. */
struct st_mysql *wa_db_conn(struct wa_db *db);
void wa_db_close(struct wa_db *db);

/* Execute a statement; returns affected rows (>= 0) or -1. The insert id of
 * an INSERT is in db->last_insert_id. */
long long wa_db_exec(struct wa_db *db, const char *sql, const char *fmt, ...);

/* Run a query; returns a new JSON array of row objects, or NULL on error. */
json_t *wa_db_query(struct wa_db *db, const char *sql, const char *fmt, ...);

/* First row of a query as a new object; NULL when there is no row or on error
 * (*err set to 1 on error when err is given). */
json_t *wa_db_row(struct wa_db *db, int *err, const char *sql, const char *fmt, ...);

/* Single integer of the first column of the first row; `def` when none. */
long long wa_db_int(struct wa_db *db, long long def, const char *sql, const char *fmt, ...);

int wa_db_begin(struct wa_db *db);
int wa_db_commit(struct wa_db *db);
void wa_db_rollback(struct wa_db *db);

unsigned wa_db_errno(const struct wa_db *db);

#endif
