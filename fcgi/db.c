/* db: prepared-statement helpers returning jansson values, and the
 * lost-connection rule (see db.h). */
#include "fcgi/db.h"
#include "wa_config.h"
#include "wa_log.h"

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#define MAX_BIND 72 /* a 4-row INSERT of messages (engine/store/msgs_held.c) */

struct param_store {
	MYSQL_BIND bind[MAX_BIND];
	long long ll[MAX_BIND];
	double dd[MAX_BIND];
	unsigned long len[MAX_BIND];
	my_bool isnull[MAX_BIND];
};

/* How far a failed attempt got, which decides whether a retry is safe. */
enum stage {
	ST_UNSENT, /* failed before the server could see the statement */
	ST_SENT,   /* the statement was sent: the server may have executed it */
};

static void set_ok(struct wa_db *db)
{
	db->last_errno = 0;
	db->last_err = WA_OK;
}

static void fail(struct wa_db *db, unsigned e, int err)
{
	db->last_errno = e;
	db->last_err = err;
}

/* Errors after which the connection is gone. CR_SERVER_GONE_ERROR: found
 * dead before the command was sent; CR_SERVER_LOST: died while it ran;
 * ER_CONNECTION_KILLED / ER_SERVER_SHUTDOWN: the server says so, then
 * closes; the CR_CONN* ones only come from connecting. */
static int is_lost(unsigned e)
{
	switch (e) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
		return 1;
	default:
		return 0;
	}
}

/* A read, retried after a lost connection whatever happened to it: the
 * text begins with SELECT (after blanks and parentheses). */
static int is_read(const char *sql)
{
	while (isspace((unsigned char)*sql) || *sql == '(')
		sql++;
	return strncasecmp(sql, "SELECT", 6) == 0 && !isalnum((unsigned char)sql[6]) && sql[6] != '_';
}

/* Log and classify the error of a failed statement (st) or connection call
 * (st NULL); a connection that is gone is closed (which marks an open
 * transaction lost: see wa_db_close). */
static void note_error(struct wa_db *db, MYSQL_STMT *st, const char *sql)
{
	unsigned e = st ? mysql_stmt_errno(st) : mysql_errno(db->conn);

	int lock = e == WA_DB_DEADLOCK || e == WA_DB_LOCK_WAIT;

	fail(db, e, is_lost(e) || lock ? WA_ESTORAGE : e == WA_DB_DUPLICATE ? WA_ECONFLICT : WA_EINTERNAL);
	/* A deadlock rolls the whole transaction back: what follows must not
	 * run as autocommit statements, so it counts as lost (rule 1). */
	if (e == WA_DB_DEADLOCK && db->in_txn)
		db->txn_lost = 1;
	if (lock)
		wa_warn("sql lock conflict %u: %s [%.120s]", e, st ? mysql_stmt_error(st) : mysql_error(db->conn), sql);
	else if (e != WA_DB_DUPLICATE)
		wa_error("sql error %u: %s [%.120s]", e, st ? mysql_stmt_error(st) : mysql_error(db->conn), sql);
	if (is_lost(e))
		wa_db_close(db);
}

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
	if (db->in_txn) {
		/* The transaction died with its connection; a new connection
		 * would run the rest of it in autocommit. */
		db->txn_lost = 1;
		fail(db, CR_SERVER_GONE_ERROR, WA_ESTORAGE);
		return NULL;
	}
	m = mysql_init(NULL);
	if (!m) {
		fail(db, 0, WA_ENOMEM);
		return NULL;
	}
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
		fail(db, mysql_errno(m), WA_ESTORAGE);
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
	if (db->ext) {
		if (db->ext_free)
			db->ext_free(db->ext);
		db->ext = NULL;
		db->ext_free = NULL;
	}
	for (unsigned i = 0; i < db->ncache; i++) {
		mysql_stmt_close(db->cache[i].stmt);
		free(db->cache[i].sql);
	}
	db->ncache = db->next_evict = 0;
	if (db->conn) {
		mysql_close(db->conn);
		db->conn = NULL;
	}
	/* the server rolls back a transaction whose connection closes */
	if (db->in_txn)
		db->txn_lost = 1;
}

/* The cached statement for `sql`, or a new prepared one put in the cache
 * (evicting round-robin when full). NULL on error (recorded). */
static MYSQL_STMT *stmt_get(struct wa_db *db, const char *sql)
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
		fail(db, 0, WA_ENOMEM);
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql))) {
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

/* Done with a cached statement (after success, or after a failure that
 * left the connection, and so the cache, in place). */
static void stmt_done(MYSQL_STMT *st)
{
	mysql_stmt_free_result(st);
}

int wa_db_err(const struct wa_db *db)
{
	return db->last_err;
}

unsigned wa_db_errno(const struct wa_db *db)
{
	return db->last_errno;
}

void wa_db_external_error(struct wa_db *db, unsigned err)
{
	if (!db)
		return;
	if (err == WA_DB_DEADLOCK || is_lost(err)) {
		fail(db, err, WA_ESTORAGE);
		if (db->in_txn)
			db->txn_lost = 1;
	}
}

int wa_db_in_txn(const struct wa_db *db)
{
	return db->batch ? db->in_sp : db->in_txn;
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
		case 'x': {
			const void *v = va_arg(ap, const void *);
			size_t vl = va_arg(ap, size_t);

			if (!v) {
				b->buffer_type = MYSQL_TYPE_NULL;
				break;
			}
			b->buffer_type = MYSQL_TYPE_BLOB;
			b->buffer = (void *)v;
			ps->len[i] = (unsigned long)vl;
			b->buffer_length = ps->len[i];
			b->length = &ps->len[i];
			break;
		}
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

size_t wa_db_iso_time(const char *v, unsigned long len, char *out)
{
	/* "YYYY-MM-DD HH:MM:SS[.ffffff]" -> ISO-8601 with milliseconds */
	if (len < 19) {
		size_t n = len < 31 ? len : 31;

		memcpy(out, v, n);
		out[n] = '\0';
		return n;
	}
	memcpy(out, v, 10);
	out[10] = 'T';
	memcpy(out + 11, v + 11, 8);
	out[19] = '.';
	for (int k = 0; k < 3; k++)
		out[20 + k] = len > 20 && 20 + (unsigned long)k < len ? v[20 + k] : '0';
	out[23] = 'Z';
	out[24] = '\0';
	return 24;
}

static unsigned char kind_of(const MYSQL_FIELD *f)
{
	switch (f->type) {
	case MYSQL_TYPE_TINY:
		if (f->length == 1)
			return WA_DB_K_BOOL;
		/* fall through */
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_YEAR:
		return WA_DB_K_INT;
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL:
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
		return WA_DB_K_REAL;
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP:
		return WA_DB_K_TIME;
	default:
		return WA_DB_K_STR;
	}
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
		char iso[32];

		if (len < 19)
			return json_stringn(v, len);
		return json_stringn(iso, wa_db_iso_time(v, len, iso));
	}
	case MYSQL_TYPE_DATE:
		return json_stringn(v, len);
	default:
		return json_stringn_nocheck(v, len);
	}
}

/* Buffer the result of an executed statement and turn up to `limit` rows
 * into JSON. NULL on failure (recorded; a lost connection is closed). */
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
		goto oom;
	for (i = 0; i < nf; i++) {
		size_t cap = fields[i].max_length + 1;

		bufs[i] = malloc(cap < 64 ? 64 : cap);
		if (!bufs[i])
			goto oom;
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
		if (!row || json_array_append_new(rows, row) < 0)
			goto oom;
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
	}
	goto out;
oom:
	wa_error("out of memory reading the result [%.120s]", sql);
	fail(db, 0, WA_ENOMEM);
	goto drop;
fail:
	note_error(db, st, sql);
drop:
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

void wa_db_text_free(struct wa_db_text *t)
{
	for (unsigned i = 0; t->names && i < t->ncols; i++)
		free(t->names[i]);
	free(t->names);
	free(t->kinds);
	free(t->off);
	free(t->len);
	free(t->data);
	memset(t, 0, sizeof *t);
}

int wa_db_text_col(const struct wa_db_text *t, const char *name)
{
	for (unsigned i = 0; i < t->ncols; i++)
		if (strcmp(t->names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *wa_db_text_val(const struct wa_db_text *t, size_t row, int col, unsigned long *len)
{
	size_t k;

	if (col < 0 || (unsigned)col >= t->ncols || row >= t->nrows)
		return NULL;
	k = row * t->ncols + (size_t)col;
	if (len)
		*len = t->len[k];
	return t->off[k] == (size_t)-1 ? NULL : t->data + t->off[k];
}

/* Append n bytes and a NUL to t->data; the offset, or (size_t)-1. */
static size_t text_put(struct wa_db_text *t, const char *v, size_t n)
{
	size_t at = t->data_len;

	if (t->data_cap - t->data_len < n + 1) {
		size_t cap = t->data_cap ? t->data_cap : 4096;
		char *d;

		while (cap - t->data_len < n + 1)
			cap *= 2;
		d = realloc(t->data, cap);
		if (!d)
			return (size_t)-1;
		t->data = d;
		t->data_cap = cap;
	}
	memcpy(t->data + at, v, n);
	t->data[at + n] = '\0';
	t->data_len += n + 1;
	return at;
}

/* Decimal text of an integer column's value into o (>= 21 bytes). */
static size_t fmt_int(char *o, long long v, my_bool is_unsigned)
{
	unsigned long long u = (unsigned long long)v;
	char tmp[24];
	size_t n = 0, k = 0;

	if (!is_unsigned && v < 0) {
		o[k++] = '-';
		u = 0ULL - u;
	}
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while (n)
		o[k++] = tmp[--n];
	return k;
}

static char *digits(char *o, unsigned long v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		o[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return o + width;
}

/* A DATETIME/TIMESTAMP as the server writes it ("YYYY-MM-DD HH:MM:SS" and
 * `decimals` digits of the fraction) into o (>= 27 bytes). */
static size_t fmt_time(char *o, const MYSQL_TIME *tm, unsigned decimals)
{
	char *p = o;

	p = digits(p, tm->year, 4);
	*p++ = '-';
	p = digits(p, tm->month, 2);
	*p++ = '-';
	p = digits(p, tm->day, 2);
	*p++ = ' ';
	p = digits(p, tm->hour, 2);
	*p++ = ':';
	p = digits(p, tm->minute, 2);
	*p++ = ':';
	p = digits(p, tm->second, 2);
	if (decimals > 0 && decimals <= 6) {
		char frac[6];

		digits(frac, tm->second_part, 6);
		*p++ = '.';
		memcpy(p, frac, decimals);
		p += decimals;
	}
	return (size_t)(p - o);
}

/* fetch_all's sibling: the stored result into t as text. 0 or -1. */
static int fetch_text(struct wa_db *db, MYSQL_STMT *st, const char *sql, struct wa_db_text *t)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	unsigned nf, i;
	MYSQL_FIELD *fields;
	MYSQL_BIND *b = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL, upd = 1;
	char **bufs = NULL, num[40];
	int rc = -1;

	wa_db_text_free(t);
	if (!meta) {
		note_error(db, st, sql);
		return -1;
	}
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &upd);
	if (mysql_stmt_store_result(st)) {
		note_error(db, st, sql);
		mysql_free_result(meta);
		return -1;
	}
	nf = mysql_num_fields(meta);
	fields = mysql_fetch_fields(meta);
	b = calloc(nf ? nf : 1, sizeof *b);
	lens = calloc(nf ? nf : 1, sizeof *lens);
	nulls = calloc(nf ? nf : 1, sizeof *nulls);
	bufs = calloc(nf ? nf : 1, sizeof *bufs);
	t->names = calloc(nf ? nf : 1, sizeof *t->names);
	t->kinds = calloc(nf ? nf : 1, 1);
	if (!b || !lens || !nulls || !bufs || !t->names || !t->kinds)
		goto oom;
	t->ncols = nf;
	for (i = 0; i < nf; i++) {
		size_t cap = fields[i].max_length + 1;

		t->names[i] = strdup(fields[i].name);
		t->kinds[i] = kind_of(&fields[i]);
		bufs[i] = malloc(cap < 64 ? 64 : cap);
		if (!bufs[i] || !t->names[i])
			goto oom;
		/* integers and times in their binary form, formatted below:
		 * libmariadb formats them with sprintf, ~3 k instructions each */
		if (t->kinds[i] == WA_DB_K_INT || t->kinds[i] == WA_DB_K_BOOL) {
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
			b[i].buffer_length = sizeof(long long);
		} else if (t->kinds[i] == WA_DB_K_TIME) {
			b[i].buffer_type = MYSQL_TYPE_DATETIME;
			b[i].buffer_length = sizeof(MYSQL_TIME);
		} else {
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer_length = cap < 64 ? 64 : cap;
		}
		b[i].buffer = bufs[i];
		b[i].length = &lens[i];
		b[i].is_null = &nulls[i];
	}
	if (nf && mysql_stmt_bind_result(st, b))
		goto fail;
	for (;;) {
		int frc = mysql_stmt_fetch(st);
		size_t base;

		if (frc == MYSQL_NO_DATA)
			break;
		if (frc == 1)
			goto fail;
		if (t->nrows == t->rows_cap) {
			size_t cap = t->rows_cap ? t->rows_cap * 2 : 16;
			size_t *off = realloc(t->off, cap * (nf ? nf : 1) * sizeof *off);
			unsigned long *len;

			if (!off)
				goto oom;
			t->off = off;
			len = realloc(t->len, cap * (nf ? nf : 1) * sizeof *len);
			if (!len)
				goto oom;
			t->len = len;
			t->rows_cap = cap;
		}
		base = t->nrows * nf;
		for (i = 0; i < nf; i++) {
			unsigned long n = lens[i] < b[i].buffer_length ? lens[i] : b[i].buffer_length - 1;

			t->len[base + i] = n;
			if (nulls[i]) {
				t->off[base + i] = (size_t)-1;
				continue;
			}
			if (b[i].buffer_type == MYSQL_TYPE_LONGLONG) {
				n = (unsigned long)fmt_int(num, *(long long *)(void *)bufs[i], b[i].is_unsigned);
				t->len[base + i] = n;
				t->off[base + i] = text_put(t, num, n);
			} else if (b[i].buffer_type == MYSQL_TYPE_DATETIME) {
				n = (unsigned long)fmt_time(num, (MYSQL_TIME *)(void *)bufs[i], fields[i].decimals);
				t->len[base + i] = n;
				t->off[base + i] = text_put(t, num, n);
			} else {
				t->off[base + i] = text_put(t, bufs[i], n);
			}
			if (t->off[base + i] == (size_t)-1)
				goto oom;
		}
		t->nrows++;
	}
	rc = 0;
	goto out;
oom:
	wa_error("out of memory reading the result [%.120s]", sql);
	fail(db, 0, WA_ENOMEM);
	goto drop;
fail:
	note_error(db, st, sql);
drop:
	wa_db_text_free(t);
out:
	for (i = 0; bufs && i < nf; i++)
		free(bufs[i]);
	free(bufs);
	free(b);
	free(lens);
	free(nulls);
	mysql_free_result(meta);
	return rc;
}

/* One try: connect if needed, look up or prepare, bind and execute.
 * Returns the statement (owned by the cache: finish with stmt_done), or
 * NULL with the failure recorded and *stage telling whether the statement
 * may have reached the server. */
static MYSQL_STMT *attempt(struct wa_db *db, const char *sql, const char *fmt, va_list ap, enum stage *stage)
{
	struct param_store ps;
	MYSQL_STMT *st;
	int n;

	*stage = ST_UNSENT;
	if (!wa_db_conn(db) || !(st = stmt_get(db, sql)))
		return NULL;
	n = bind_params(&ps, fmt, ap);
	if (n < 0 || (unsigned long)n != mysql_stmt_param_count(st)) {
		wa_error("sql parameter mismatch (%d given) [%.120s]", n, sql);
		fail(db, 1, WA_EINTERNAL);
		return NULL;
	}
	if (n && mysql_stmt_bind_param(st, ps.bind)) {
		note_error(db, st, sql);
		if (db->conn)
			stmt_done(st);
		return NULL;
	}
	if (mysql_stmt_execute(st)) {
		/* Only CR_SERVER_GONE_ERROR says the command was never sent (the
		 * connection was found dead first); after anything else the server
		 * may have run it. */
		if (mysql_stmt_errno(st) != CR_SERVER_GONE_ERROR)
			*stage = ST_SENT;
		note_error(db, st, sql);
		if (db->conn)
			stmt_done(st);
		return NULL;
	}
	return st;
}

/* After a failed attempt: whether one more on a new connection is safe
 * (the rule in db.h). `reused`: the attempt ran on a connection that was
 * open before this call. */
static int may_retry(struct wa_db *db, const char *sql, enum stage stage, int reused, int tries)
{
	/* A deadlock or lock wait timeout rolled the statement back, so
	 * outside a transaction running it again cannot apply it twice
	 * (inside one, the caller retries the whole transaction). */
	if ((db->last_errno == WA_DB_DEADLOCK || db->last_errno == WA_DB_LOCK_WAIT) && !db->in_txn &&
	    tries < 3) {
		wa_info("lock conflict (%u): running the statement again [%.120s]", db->last_errno, sql);
		usleep((useconds_t)(5000 * (tries + 1)));
		return 1;
	}
	if (db->last_err != WA_ESTORAGE || db->in_txn || tries > 0 || !reused)
		return 0;
	if (stage == ST_SENT && !is_read(sql)) {
		wa_warn("connection lost after a write was sent: its outcome is unknown, not retried [%.120s]", sql);
		return 0;
	}
	wa_info("connection lost: retrying on a new connection [%.120s]", sql);
	return 1;
}

/* wa_db_exec (rows NULL: returns the affected rows) and the queries (rows
 * set: *rows gets at most `limit` rows, returns 0). -1 on failure. */
static long long call(struct wa_db *db, const char *sql, const char *fmt, va_list ap, size_t limit, json_t **rows,
		      struct wa_db_text *text)
{
	enum stage stage;
	MYSQL_STMT *st;
	long long n;
	va_list aq;

	set_ok(db);
	if (strncmp(sql, "SELECT ", 7) != 0)
		db->writes++;
	if (db->in_txn && db->txn_lost) {
		if (db->batch && db->batch_voided)
			wa_debug("statement refused: a job rolled back, the batch runs again [%.120s]", sql);
		else
			wa_warn("statement refused: the transaction's connection was lost [%.120s]", sql);
		fail(db, CR_SERVER_GONE_ERROR, WA_ESTORAGE);
		return -1;
	}
	for (int tries = 0;; tries++) {
		int reused = db->conn != NULL;

		va_copy(aq, ap);
		st = attempt(db, sql, fmt, aq, &stage);
		va_end(aq);
		if (st && text) {
			int frc = fetch_text(db, st, sql, text);

			if (db->conn)
				stmt_done(st);
			if (frc == 0)
				return 0;
			stage = ST_SENT;
		} else if (st && !rows) {
			n = (long long)mysql_stmt_affected_rows(st);
			db->last_insert_id = mysql_stmt_insert_id(st);
			stmt_done(st);
			return n;
		} else if (st) {
			*rows = fetch_all(db, st, sql, limit);
			if (db->conn)
				stmt_done(st);
			if (*rows)
				return 0;
			stage = ST_SENT; /* it ran; reading its result failed */
		}
		if (!may_retry(db, sql, stage, reused, tries))
			return -1;
		set_ok(db);
	}
}

long long wa_db_exec(struct wa_db *db, const char *sql, const char *fmt, ...)
{
	long long n;
	va_list ap;

	va_start(ap, fmt);
	n = call(db, sql, fmt, ap, 0, NULL, NULL);
	va_end(ap);
	return n;
}

static json_t *vquery(struct wa_db *db, size_t limit, const char *sql, const char *fmt, va_list ap)
{
	json_t *rows = NULL;

	return call(db, sql, fmt, ap, limit, &rows, NULL) < 0 ? NULL : rows;
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

int wa_db_text_query(struct wa_db *db, struct wa_db_text *out, const char *sql, const char *fmt, ...)
{
	long long rc;
	va_list ap;

	memset(out, 0, sizeof *out);
	va_start(ap, fmt);
	rc = call(db, sql, fmt, ap, 0, NULL, out);
	va_end(ap);
	return rc < 0 ? -1 : 0;
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

/* ---- transactions ---------------------------------------------------------- */

/* The transaction is over: held-back work that was not flushed into it is
 * dropped with it. */
static void end_txn(struct wa_db *db)
{
	struct wa_db_pre pre[WA_DB_PRE_MAX];
	unsigned n = db->npre;

	db->in_txn = db->txn_lost = 0;
	memcpy(pre, db->pre, n * sizeof *pre);
	db->npre = db->npre_early = 0;
	for (unsigned i = 0; i < n; i++)
		pre[i].discard(pre[i].arg);
}

/* A slot at index at (early ones before the rest, each kind in the order set). */
static int pre_add(struct wa_db *db, unsigned at, int (*flush)(struct wa_db *db, void *arg),
		   void (*discard)(void *arg), void *arg)
{
	if (!db->in_txn || !flush || !discard || db->npre == WA_DB_PRE_MAX || wa_db_at_commit_arg(db, flush))
		return -1;
	memmove(&db->pre[at + 1], &db->pre[at], (db->npre - at) * sizeof db->pre[0]);
	db->pre[at].flush = flush;
	db->pre[at].discard = discard;
	db->pre[at].arg = arg;
	db->npre++;
	return 0;
}

int wa_db_at_commit(struct wa_db *db, int (*flush)(struct wa_db *db, void *arg), void (*discard)(void *arg),
		    void *arg)
{
	return pre_add(db, db->npre, flush, discard, arg);
}

int wa_db_at_commit_early(struct wa_db *db, int (*flush)(struct wa_db *db, void *arg), void (*discard)(void *arg),
			  void *arg)
{
	if (pre_add(db, db->npre_early, flush, discard, arg) != 0)
		return -1;
	db->npre_early++;
	return 0;
}

void *wa_db_at_commit_obj(struct wa_db *db, int (*flush)(struct wa_db *db, void *arg), void (*discard)(void *arg),
			  size_t size, int early)
{
	void *o = wa_db_at_commit_arg(db, flush);

	if (o || !db->in_txn || db->npre == WA_DB_PRE_MAX || !(o = calloc(1, size)))
		return o;
	if ((early ? wa_db_at_commit_early : wa_db_at_commit)(db, flush, discard, o) != 0) {
		free(o);
		return NULL;
	}
	return o;
}

void *wa_db_at_commit_arg(const struct wa_db *db, int (*flush)(struct wa_db *db, void *arg))
{
	for (unsigned i = 0; db->in_txn && i < db->npre; i++)
		if (db->pre[i].flush == flush)
			return db->pre[i].arg;
	return NULL;
}

/* Run the held-back work into the transaction before its COMMIT: the
 * early slots, then the rest, each in the order set. 0, or -1 at the
 * first failure (recorded; the caller rolls back, and end_txn discards it
 * all). */
static int run_pre_commit(struct wa_db *db)
{
	for (unsigned i = 0; i < db->npre; i++)
		if (db->pre[i].flush(db, db->pre[i].arg) != 0)
			return -1;
	return 0;
}

int wa_db_batch_begin(struct wa_db *db)
{
	if (wa_db_begin(db) != 0)
		return -1;
	db->batch = 1;
	db->in_sp = db->batch_voided = 0;
	return 0;
}

int wa_db_batch_lost(const struct wa_db *db)
{
	return db->batch && db->txn_lost;
}

int wa_db_batch_voided(const struct wa_db *db)
{
	return db->batch_voided;
}

/* A job of the batch rolled back: nothing of the batch may commit. */
static void void_batch(struct wa_db *db)
{
	if (!db->txn_lost)
		db->batch_voided = 1;
	db->txn_lost = 1;
	db->in_sp = 0;
}

int wa_db_batch_end(struct wa_db *db)
{
	if (!db->batch)
		return -1;
	if (db->in_sp) {
		if (!db->txn_lost)
			wa_error("a transaction was left open in a batch: the batch is not committed");
		void_batch(db);
	}
	db->batch = 0;
	if (db->txn_lost) {
		/* a voided batch's connection is alive with the transaction
		 * open: it must be rolled back, or the next START TRANSACTION
		 * would commit it */
		if (db->batch_voided)
			db->txn_lost = 0;
		wa_db_rollback(db);
		return -1;
	}
	db->pre_failed = 0;
	if (wa_db_commit(db) == 0)
		return 0;
	if (db->pre_failed)
		return -1;
	return db->last_err == WA_ESTORAGE && db->last_errno != CR_SERVER_GONE_ERROR ? -2 : -1;
}

int wa_db_begin(struct wa_db *db)
{
	if (db->batch) {
		set_ok(db);
		if (db->in_sp) {
			wa_error("a transaction was left open: rolled back, not committed");
			wa_db_rollback(db);
		}
		if (db->txn_lost || !db->conn) {
			fail(db, CR_SERVER_GONE_ERROR, WA_ESTORAGE);
			return -1;
		}
		db->in_sp = 1;
		return 0;
	}
	if (db->in_txn) {
		wa_error("a transaction was left open: rolled back, not committed");
		wa_db_rollback(db);
	}
	set_ok(db);
	for (int tries = 0;; tries++) {
		int reused = db->conn != NULL;

		if (!wa_db_conn(db))
			return -1;
		if (mysql_query(db->conn, "START TRANSACTION") == 0) {
			db->in_txn = 1;
			db->txn_lost = 0;
			return 0;
		}
		note_error(db, NULL, "START TRANSACTION");
		/* Nothing of the transaction exists yet, so a stale connection
		 * may be replaced whatever became of this START TRANSACTION. */
		if (db->last_err != WA_ESTORAGE || !reused || tries > 0)
			return -1;
		wa_info("connection lost: starting the transaction on a new connection");
		set_ok(db);
	}
}

int wa_db_commit(struct wa_db *db)
{
	set_ok(db);
	if (db->batch) {
		if (!db->in_sp) {
			wa_error("commit without a transaction");
			fail(db, 0, WA_ESTATE);
			return -1;
		}
		db->in_sp = 0;
		if (db->txn_lost || !db->conn) {
			fail(db, CR_SERVER_GONE_ERROR, WA_ESTORAGE);
			return -1;
		}
		return 0;
	}
	if (!db->in_txn) {
		wa_error("commit without a transaction");
		fail(db, 0, WA_ESTATE);
		return -1;
	}
	if (db->txn_lost || !db->conn) {
		wa_warn("commit refused: the transaction's connection was lost, nothing of it was committed");
		fail(db, CR_SERVER_GONE_ERROR, WA_ESTORAGE);
		end_txn(db);
		return -1;
	}
	if (run_pre_commit(db) != 0) {
		/* nothing was committed, whatever the statement's error says */
		db->pre_failed = 1;
		wa_db_rollback(db);
		return -1;
	}
	if (mysql_commit(db->conn)) {
		note_error(db, NULL, "COMMIT");
		if (db->last_errno == CR_SERVER_GONE_ERROR)
			wa_warn("connection lost before COMMIT was sent: nothing of the transaction was committed");
		else if (db->last_err == WA_ESTORAGE)
			wa_warn("connection lost during COMMIT: the transaction may or may not have been committed");
		else
			wa_db_rollback(db); /* a refused COMMIT: leave nothing open */
		end_txn(db);
		return -1;
	}
	end_txn(db);
	return 0;
}

void wa_db_rollback(struct wa_db *db)
{
	if (db->batch) {
		if (db->in_sp)
			void_batch(db);
		return;
	}
	if (!db->in_txn)
		return;
	if (db->conn && !db->txn_lost && mysql_rollback(db->conn)) {
		wa_warn("rollback failed (%u: %s): closing the connection, which rolls back", mysql_errno(db->conn),
			mysql_error(db->conn));
		wa_db_close(db);
	}
	end_txn(db);
}
