/* db: prepared-statement helpers returning jansson values (see db.h). */
#include "fcgi/db.h"
#include "wa_config.h"
#include "wa_log.h"

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BIND 48

struct param_store {
	MYSQL_BIND bind[MAX_BIND];
	long long ll[MAX_BIND];
	double dd[MAX_BIND];
	unsigned long len[MAX_BIND];
	my_bool isnull[MAX_BIND];
};

static void note_error(struct wa_db *db, MYSQL_STMT *st, const char *sql);

MYSQL *wa_db_conn(struct wa_db *db)
{
	const struct wa_config *c = db->cfg;
	const char *sock, *host;
	unsigned int timeout = 5;
	long port = 3306, t = 5;
	char err[200];
	MYSQL *m;

	if (db->conn)
		return db->conn;
	m = mysql_init(NULL);
	if (!m)
		return NULL;
	wa_config_get_int(c, "db.connect_timeout", 1, 600, &t, err, sizeof err);
	timeout = (unsigned)t;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
	sock = wa_config_get(c, "db.socket");
	host = wa_config_get(c, "db.host");
	wa_config_get_int(c, "db.port", 1, 65535, &port, err, sizeof err);
	if (!mysql_real_connect(m, *sock ? "localhost" : host, wa_config_get(c, "db.user"),
				wa_config_get(c, "db.password"), wa_config_get(c, "db.name"),
				(unsigned)port, *sock ? sock : NULL, 0)) {
		wa_error("database connection failed: %s", mysql_error(m));
		db->last_errno = mysql_errno(m);
		mysql_close(m);
		return NULL;
	}
	db->conn = m;
	return m;
}

void wa_db_close(struct wa_db *db)
{
	if (!db)
		return;
	for (unsigned i = 0; i < db->ncache; i++) {
		mysql_stmt_close(db->cache[i].stmt);
		free(db->cache[i].sql);
	}
	db->ncache = db->next_evict = 0;
	if (db->conn) {
		mysql_close(db->conn);
		db->conn = NULL;
	}
}

/* The cached statement for `sql`, or a new prepared one put in the cache
 * (evicting round-robin when full). NULL on error (logged). */
static MYSQL_STMT *stmt_get(struct wa_db *db, const char *sql, unsigned *err)
{
	MYSQL_STMT *st;
	struct wa_db_cached *slot;
	char *copy;

	for (unsigned i = 0; i < db->ncache; i++)
		if (strcmp(db->cache[i].sql, sql) == 0)
			return db->cache[i].stmt;
	/* SQL may be built at run time: the cache keeps its own copy */
	copy = strdup(sql);
	st = copy ? mysql_stmt_init(db->conn) : NULL;
	if (!st) {
		free(copy);
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql))) {
		*err = mysql_stmt_errno(st);
		note_error(db, st, sql);
		mysql_stmt_close(st);
		free(copy);
		return NULL;
	}
	if (db->ncache < WA_DB_STMT_CACHE) {
		slot = &db->cache[db->ncache++];
	} else {
		slot = &db->cache[db->next_evict];
		db->next_evict = (db->next_evict + 1) % WA_DB_STMT_CACHE;
		mysql_stmt_close(slot->stmt);
		free(slot->sql);
	}
	slot->sql = copy;
	slot->stmt = st;
	return st;
}

/* After a statement failed to execute: if the connection survived, keep the
 * statement; if it was closed, the cache went with it. */
static void stmt_done(MYSQL_STMT *st)
{
	mysql_stmt_free_result(st);
}

unsigned wa_db_errno(const struct wa_db *db)
{
	return db->last_errno;
}

static int bind_params(struct param_store *ps, const char *fmt, va_list ap)
{
	size_t n = fmt ? strlen(fmt) : 0;

	if (n > MAX_BIND)
		return -1;
	memset(ps->bind, 0, sizeof(MYSQL_BIND) * (n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		MYSQL_BIND *b = &ps->bind[i];
		const char *s;

		switch (fmt[i]) {
		case 's':
			s = va_arg(ap, const char *);
			if (!s) {
				b->buffer_type = MYSQL_TYPE_NULL;
				break;
			}
			b->buffer_type = MYSQL_TYPE_STRING;
			b->buffer = (void *)s;
			ps->len[i] = strlen(s);
			b->buffer_length = ps->len[i];
			b->length = &ps->len[i];
			break;
		case 'i':
		case 'b':
			ps->ll[i] = fmt[i] == 'b' ? (va_arg(ap, int) != 0) : va_arg(ap, long long);
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = &ps->ll[i];
			break;
		case 'u':
			ps->ll[i] = (long long)va_arg(ap, unsigned long long);
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->is_unsigned = 1;
			b->buffer = &ps->ll[i];
			break;
		case 'd':
			ps->dd[i] = va_arg(ap, double);
			b->buffer_type = MYSQL_TYPE_DOUBLE;
			b->buffer = &ps->dd[i];
			break;
		default:
			return -1;
		}
	}
	return (int)n;
}

static void note_error(struct wa_db *db, MYSQL_STMT *st, const char *sql)
{
	unsigned e = st ? mysql_stmt_errno(st) : mysql_errno(db->conn);

	db->last_errno = e;
	if (e != WA_DB_DUPLICATE)
		wa_error("sql error %u: %s [%.120s]", e, st ? mysql_stmt_error(st) : mysql_error(db->conn), sql);
	if (e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR)
		wa_db_close(db);
}

/* Look up or prepare, bind and execute; returns the statement (owned by the
 * cache: finish with stmt_done) or NULL. */
static MYSQL_STMT *run(struct wa_db *db, const char *sql, const char *fmt, va_list ap)
{
	struct param_store ps;
	MYSQL_STMT *st;
	int n, tries = 0;
	unsigned e = 0;
	va_list aq;

	db->last_errno = 0;
again:
	if (!wa_db_conn(db))
		return NULL;
	st = stmt_get(db, sql, &e);
	if (!st) {
		/* Nothing ran yet: one retry on a fresh connection is safe. */
		if (!db->conn && tries++ == 0 && (e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST))
			goto again;
		return NULL;
	}
	va_copy(aq, ap);
	n = bind_params(&ps, fmt, aq);
	va_end(aq);
	if (n < 0 || (unsigned long)n != mysql_stmt_param_count(st)) {
		wa_error("sql parameter mismatch (%d given) [%.120s]", n, sql);
		db->last_errno = 1;
		return NULL;
	}
	if ((n && mysql_stmt_bind_param(st, ps.bind)) || mysql_stmt_execute(st)) {
		e = mysql_stmt_errno(st);
		note_error(db, st, sql);
		if (db->conn)
			stmt_done(st);
		/* a cached statement whose connection was lost: retry once */
		if (!db->conn && tries++ == 0 && (e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST))
			goto again;
		return NULL;
	}
	return st;
}

long long wa_db_exec(struct wa_db *db, const char *sql, const char *fmt, ...)
{
	MYSQL_STMT *st;
	long long n;
	va_list ap;

	va_start(ap, fmt);
	st = run(db, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return -1;
	n = (long long)mysql_stmt_affected_rows(st);
	db->last_insert_id = mysql_stmt_insert_id(st);
	stmt_done(st);
	return n;
}

static json_t *convert(const MYSQL_FIELD *f, const char *v, unsigned long len)
{
	switch (f->type) {
	case MYSQL_TYPE_TINY:
		if (f->length == 1)
			return json_boolean(v[0] != '0');
		/* fall through */
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_YEAR:
		return json_integer(strtoll(v, NULL, 10));
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL:
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
		return json_real(strtod(v, NULL));
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP: {
		/* "YYYY-MM-DD HH:MM:SS[.ffffff]" -> ISO-8601 with milliseconds */
		char iso[32];
		char ms[4] = "000";

		if (len < 19)
			return json_stringn(v, len);
		if (len > 20)
			for (int k = 0; k < 3 && 20 + k < (int)len; k++)
				ms[k] = v[20 + k];
		snprintf(iso, sizeof iso, "%.10sT%.8s.%sZ", v, v + 11, ms);
		return json_string(iso);
	}
	case MYSQL_TYPE_DATE:
		return json_stringn(v, len);
	default:
		return json_stringn_nocheck(v, len);
	}
}

static json_t *fetch_all(struct wa_db *db, MYSQL_STMT *st, const char *sql, size_t limit)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	unsigned nf, i;
	MYSQL_FIELD *fields;
	MYSQL_BIND *b = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL, upd = 1;
	char **bufs = NULL;
	json_t *rows = NULL;

	if (!meta) {
		note_error(db, st, sql);
		return NULL;
	}
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &upd);
	if (mysql_stmt_store_result(st)) {
		note_error(db, st, sql);
		mysql_free_result(meta);
		return NULL;
	}
	nf = mysql_num_fields(meta);
	fields = mysql_fetch_fields(meta);
	b = calloc(nf ? nf : 1, sizeof *b);
	lens = calloc(nf ? nf : 1, sizeof *lens);
	nulls = calloc(nf ? nf : 1, sizeof *nulls);
	bufs = calloc(nf ? nf : 1, sizeof *bufs);
	rows = json_array();
	if (!b || !lens || !nulls || !bufs || !rows)
		goto fail;
	for (i = 0; i < nf; i++) {
		size_t cap = fields[i].max_length + 1;

		bufs[i] = malloc(cap < 64 ? 64 : cap);
		if (!bufs[i])
			goto fail;
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].buffer = bufs[i];
		b[i].buffer_length = cap < 64 ? 64 : cap;
		b[i].length = &lens[i];
		b[i].is_null = &nulls[i];
	}
	if (nf && mysql_stmt_bind_result(st, b))
		goto fail;
	while (json_array_size(rows) < limit) {
		int rc = mysql_stmt_fetch(st);
		json_t *row;

		if (rc == MYSQL_NO_DATA)
			break;
		if (rc == 1)
			goto fail;
		row = json_object();
		if (!row)
			goto fail;
		for (i = 0; i < nf; i++) {
			json_t *v;

			if (nulls[i]) {
				v = json_null();
			} else {
				bufs[i][lens[i] < b[i].buffer_length ? lens[i] : b[i].buffer_length - 1] = '\0';
				v = convert(&fields[i], bufs[i], lens[i]);
			}
			json_object_set_new(row, fields[i].name, v ? v : json_null());
		}
		json_array_append_new(rows, row);
	}
	goto out;
fail:
	note_error(db, st, sql);
	json_decref(rows);
	rows = NULL;
out:
	for (i = 0; bufs && i < nf; i++)
		free(bufs[i]);
	free(bufs);
	free(b);
	free(lens);
	free(nulls);
	mysql_free_result(meta);
	return rows;
}

static json_t *vquery(struct wa_db *db, size_t limit, const char *sql, const char *fmt, va_list ap)
{
	MYSQL_STMT *st = run(db, sql, fmt, ap);
	json_t *rows;

	if (!st)
		return NULL;
	rows = fetch_all(db, st, sql, limit);
	if (db->conn)
		stmt_done(st);
	return rows;
}

json_t *wa_db_query(struct wa_db *db, const char *sql, const char *fmt, ...)
{
	json_t *rows;
	va_list ap;

	va_start(ap, fmt);
	rows = vquery(db, (size_t)-1, sql, fmt, ap);
	va_end(ap);
	return rows;
}

json_t *wa_db_row(struct wa_db *db, int *err, const char *sql, const char *fmt, ...)
{
	json_t *rows, *row;
	va_list ap;

	va_start(ap, fmt);
	rows = vquery(db, 1, sql, fmt, ap);
	va_end(ap);
	if (err)
		*err = rows == NULL;
	if (!rows)
		return NULL;
	row = json_array_get(rows, 0);
	json_incref(row);
	json_decref(rows);
	return row;
}

long long wa_db_int(struct wa_db *db, long long def, const char *sql, const char *fmt, ...)
{
	json_t *rows, *row, *v;
	long long out = def;
	va_list ap;
	const char *k;

	va_start(ap, fmt);
	rows = vquery(db, 1, sql, fmt, ap);
	va_end(ap);
	row = rows ? json_array_get(rows, 0) : NULL;
	if (row) {
		json_object_foreach(row, k, v) {
			if (json_is_integer(v))
				out = json_integer_value(v);
			else if (json_is_boolean(v))
				out = json_is_true(v);
			else if (json_is_string(v))
				out = strtoll(json_string_value(v), NULL, 10);
			break;
		}
	}
	json_decref(rows);
	return out;
}

int wa_db_begin(struct wa_db *db)
{
	if (!wa_db_conn(db) || mysql_query(db->conn, "START TRANSACTION")) {
		if (db->conn)
			note_error(db, NULL, "START TRANSACTION");
		return -1;
	}
	return 0;
}

int wa_db_commit(struct wa_db *db)
{
	if (!db->conn || mysql_commit(db->conn)) {
		if (db->conn)
			note_error(db, NULL, "COMMIT");
		return -1;
	}
	return 0;
}

void wa_db_rollback(struct wa_db *db)
{
	if (db->conn)
		mysql_rollback(db->conn);
}
