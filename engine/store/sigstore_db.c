/* engine/store/sigstore_db: the Signal store on MariaDB (see sigstore.h and
 * db/migrations/0002_signal_store.sql).
 *
 * Prepared statements only; the SQL text lives in the table below, one row
 * per (kind, operation), with parameters always in the order session_key,
 * [group], [name, device] or [id], [value]. Statements are prepared on first
 * use and cached per connection (struct wa_sigstore_dbconn), shared by every
 * store on it: session_key is a parameter, so one set serves all sessions.
 * Any statement error closes that statement so the next call prepares it
 * again (on a reconnected MYSQL*, say). The optional caller lock (c->lock)
 * is held for every use of c->db and of the statement cache. */
#include "engine/store/sigstore_db.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "wa_log.h"

enum op { OP_GET, OP_PUT, OP_DEL, OP_COUNT, NOPS };

/* [kind][op]; LOCAL is stored as columns, the rest as one record blob. */
static const char *const SQL[WA_SIGREC_KIND_MAX + 1][NOPS] = {
	[WA_SIGREC_LOCAL] = {
		"SELECT identity_pub, identity_priv, registration_id FROM signal_identity_local"
		" WHERE session_key = ?",
		"INSERT INTO signal_identity_local (session_key, identity_pub, identity_priv, registration_id)"
		" VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE identity_pub = VALUES(identity_pub),"
		" identity_priv = VALUES(identity_priv), registration_id = VALUES(registration_id)",
		"DELETE FROM signal_identity_local WHERE session_key = ?",
		"SELECT COUNT(*) FROM signal_identity_local WHERE session_key = ?",
	},
	[WA_SIGREC_IDENTITY] = {
		"SELECT identity_key FROM signal_identity"
		" WHERE session_key = ? AND addr_name = ? AND addr_device = ?",
		"INSERT INTO signal_identity (session_key, addr_name, addr_device, identity_key)"
		" VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE identity_key = VALUES(identity_key)",
		"DELETE FROM signal_identity WHERE session_key = ? AND addr_name = ? AND addr_device = ?",
		"SELECT COUNT(*) FROM signal_identity WHERE session_key = ?",
	},
	[WA_SIGREC_PREKEY] = {
		"SELECT record FROM signal_prekey WHERE session_key = ? AND prekey_id = ?",
		"INSERT INTO signal_prekey (session_key, prekey_id, record) VALUES (?, ?, ?)"
		" ON DUPLICATE KEY UPDATE record = VALUES(record), created_at = CURRENT_TIMESTAMP(3)",
		"DELETE FROM signal_prekey WHERE session_key = ? AND prekey_id = ?",
		"SELECT COUNT(*) FROM signal_prekey WHERE session_key = ?",
	},
	[WA_SIGREC_SIGNED_PREKEY] = {
		"SELECT record FROM signal_signed_prekey WHERE session_key = ? AND signed_prekey_id = ?",
		"INSERT INTO signal_signed_prekey (session_key, signed_prekey_id, record) VALUES (?, ?, ?)"
		" ON DUPLICATE KEY UPDATE record = VALUES(record), created_at = CURRENT_TIMESTAMP(3)",
		"DELETE FROM signal_signed_prekey WHERE session_key = ? AND signed_prekey_id = ?",
		"SELECT COUNT(*) FROM signal_signed_prekey WHERE session_key = ?",
	},
	[WA_SIGREC_SESSION] = {
		"SELECT record FROM signal_session WHERE session_key = ? AND addr_name = ? AND addr_device = ?",
		"INSERT INTO signal_session (session_key, addr_name, addr_device, record) VALUES (?, ?, ?, ?)"
		" ON DUPLICATE KEY UPDATE record = VALUES(record)",
		"DELETE FROM signal_session WHERE session_key = ? AND addr_name = ? AND addr_device = ?",
		"SELECT COUNT(*) FROM signal_session WHERE session_key = ?",
	},
	[WA_SIGREC_SENDER_KEY] = {
		"SELECT record FROM signal_sender_key"
		" WHERE session_key = ? AND group_id = ? AND addr_name = ? AND addr_device = ?",
		"INSERT INTO signal_sender_key (session_key, group_id, addr_name, addr_device, record)"
		" VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE record = VALUES(record)",
		"DELETE FROM signal_sender_key"
		" WHERE session_key = ? AND group_id = ? AND addr_name = ? AND addr_device = ?",
		"SELECT COUNT(*) FROM signal_sender_key WHERE session_key = ?",
	},
};

static const char SQL_DEVICES[] =
	"SELECT addr_device FROM signal_session WHERE session_key = ? AND addr_name = ?"
	" ORDER BY addr_device";
static const char SQL_DEL_SESSIONS[] =
	"DELETE FROM signal_session WHERE session_key = ? AND addr_name = ?";
static const char SQL_DEL_IDENTITIES[] =
	"DELETE FROM signal_identity WHERE session_key = ? AND addr_name = ?";

#define SESS_ROW "(?, ?, ?, ?)"
#define SESS_PUT "INSERT INTO signal_session (session_key, addr_name, addr_device, record) VALUES "
#define SESS_UPD " ON DUPLICATE KEY UPDATE record = VALUES(record)"
static const char SQL_PUT_SESSIONS2[] = SESS_PUT SESS_ROW ", " SESS_ROW SESS_UPD;
static const char SQL_PUT_SESSIONS4[] = SESS_PUT SESS_ROW ", " SESS_ROW ", " SESS_ROW ", " SESS_ROW SESS_UPD;

#define NSTMT ((WA_SIGREC_KIND_MAX + 1) * NOPS + 5)
#define ST_DEVICES ((WA_SIGREC_KIND_MAX + 1) * NOPS)
#define ST_DEL_SESSIONS (ST_DEVICES + 1)
#define ST_DEL_IDENTITIES (ST_DEVICES + 2)
#define ST_PUT_SESSIONS2 (ST_DEVICES + 3)
#define ST_PUT_SESSIONS4 (ST_DEVICES + 4)

/* Session records of the open transaction (wa_sigstore_dbconn_txn). */
#define TXC_MAX 64
struct txc_ent {
	char skey[65];
	char name[WA_SIGREC_NAME_MAX];
	uint32_t device;
	uint8_t *rec;
	size_t len;
	int dirty;                 /* written in the transaction, not yet to the database */
};

/* One connection's statement cache, shared by all stores made on it. */
struct wa_sigstore_dbconn {
	MYSQL *db;                 /* borrowed; NULL once the owner freed us */
	pthread_mutex_t *lock;     /* borrowed, may be NULL */
	MYSQL_STMT *st[NSTMT];     /* guarded by lock (if any) */
	unsigned stores;           /* stores made on us and not yet freed (lock) */
	void (*on_error)(void *ctx, unsigned err); /* told of every failed statement */
	void *on_error_ctx;
	const struct wa_sigstore_txn *txn;         /* NULL: no records held */
	void *txn_ctx;
	int txc_on;                /* at_commit done for the open transaction */
	unsigned ntxc;
	struct txc_ent txc[TXC_MAX];
};

struct dbstore {
	struct wa_sigstore_dbconn *c;
	int own_conn;              /* c made by wa_sigstore_db_new: freed with us */
	char skey[65];
	unsigned long skey_len;
};

static void lock(struct dbstore *d)
{
	if (d->c->lock)
		pthread_mutex_lock(d->c->lock);
}

static void unlock(struct dbstore *d)
{
	if (d->c->lock)
		pthread_mutex_unlock(d->c->lock);
}

static const char *sql_of(int idx)
{
	if (idx == ST_DEVICES)
		return SQL_DEVICES;
	if (idx == ST_DEL_SESSIONS)
		return SQL_DEL_SESSIONS;
	if (idx == ST_DEL_IDENTITIES)
		return SQL_DEL_IDENTITIES;
	if (idx == ST_PUT_SESSIONS2)
		return SQL_PUT_SESSIONS2;
	if (idx == ST_PUT_SESSIONS4)
		return SQL_PUT_SESSIONS4;
	return SQL[idx / NOPS][idx % NOPS];
}

static void drop(struct dbstore *d, int idx)
{
	if (d->c->st[idx]) {
		mysql_stmt_close(d->c->st[idx]);
		d->c->st[idx] = NULL;
	}
}

/* The cached statement idx, prepared if needed; NULL (logged) on error. */
static MYSQL_STMT *stmt(struct dbstore *d, int idx)
{
	const char *sql = sql_of(idx);
	MYSQL_STMT *s = d->c->st[idx];

	if (s)
		return s;
	if (!d->c->db) {
		wa_error("sigstore_db: the connection of this store was closed");
		return NULL;
	}
	s = mysql_stmt_init(d->c->db);
	if (!s) {
		wa_error("sigstore_db: cannot create statement: out of memory");
		return NULL;
	}
	if (mysql_stmt_prepare(s, sql, strlen(sql)) != 0) {
		wa_error("sigstore_db: cannot prepare signal store statement: %s", mysql_stmt_error(s));
		mysql_stmt_close(s);
		return NULL;
	}
	d->c->st[idx] = s;
	return s;
}

/* Parameters for a statement, in SQL order (at most 4 session rows of 4). */
struct params {
	MYSQL_BIND b[16];
	unsigned long len[16];
	uint32_t u[16];
	unsigned n;
};

static void p_str(struct params *p, const char *s, unsigned long n)
{
	MYSQL_BIND *b = &p->b[p->n];

	p->len[p->n] = n;
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)s;
	b->buffer_length = n;
	b->length = &p->len[p->n];
	p->n++;
}

static void p_blob(struct params *p, const uint8_t *v, unsigned long n)
{
	MYSQL_BIND *b = &p->b[p->n];

	p->len[p->n] = n;
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = (void *)v;
	b->buffer_length = n;
	b->length = &p->len[p->n];
	p->n++;
}

static void p_u32(struct params *p, uint32_t v)
{
	MYSQL_BIND *b = &p->b[p->n];

	p->u[p->n] = v;
	b->buffer_type = MYSQL_TYPE_LONG;
	b->is_unsigned = 1;
	b->buffer = &p->u[p->n];
	p->n++;
}

/* session_key then the key columns of k's kind. */
static void p_key(struct params *p, struct dbstore *d, const wa_sigrec_key *k)
{
	memset(p, 0, sizeof *p);
	p_str(p, d->skey, d->skey_len);
	switch (k->kind) {
	case WA_SIGREC_LOCAL:
		break;
	case WA_SIGREC_PREKEY:
	case WA_SIGREC_SIGNED_PREKEY:
		p_u32(p, k->id);
		break;
	case WA_SIGREC_SENDER_KEY:
		p_str(p, k->group, strlen(k->group));
		/* fall through */
	case WA_SIGREC_IDENTITY:
	case WA_SIGREC_SESSION:
		p_str(p, k->name, strlen(k->name));
		p_u32(p, k->device);
		break;
	}
}

/* A statement failed with server/client error err: the connection's owner
 * is told (a deadlock rolled its whole transaction back). */
static void failed(struct dbstore *d, unsigned err)
{
	if (d->c->on_error)
		d->c->on_error(d->c->on_error_ctx, err);
}

/* Bind and execute; on failure log, drop the statement and return NULL. */
static MYSQL_STMT *run(struct dbstore *d, int idx, struct params *p)
{
	MYSQL_STMT *s = stmt(d, idx);

	if (!s)
		return NULL;
	if (mysql_stmt_bind_param(s, p->b) != 0 || mysql_stmt_execute(s) != 0) {
		wa_error("sigstore_db: signal store statement failed: %s", mysql_stmt_error(s));
		failed(d, mysql_stmt_errno(s));
		drop(d, idx);
		return NULL;
	}
	return s;
}

/* Fetch one blob column of the current row into a fresh buffer. */
static int fetch_blob(MYSQL_STMT *s, unsigned col, uint8_t **out, size_t *outlen)
{
	MYSQL_BIND b;
	unsigned long len = 0;
	my_bool isnull = 0;
	uint8_t *buf;

	memset(&b, 0, sizeof b);
	b.buffer_type = MYSQL_TYPE_BLOB;
	b.length = &len;
	b.is_null = &isnull;
	if (mysql_stmt_fetch_column(s, &b, col, 0) != 0)
		return WA_SIGSTORE_ERR;
	if (isnull || len == 0 || len > WA_SIGREC_MAX)
		return WA_SIGSTORE_ERR;
	buf = malloc(len);
	if (!buf)
		return WA_SIGSTORE_NOMEM;
	b.buffer = buf;
	b.buffer_length = len;
	if (mysql_stmt_fetch_column(s, &b, col, 0) != 0) {
		free(buf);
		return WA_SIGSTORE_ERR;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* Execute a SELECT of one row; 1 with the row fetched (lengths only; read
 * columns with fetch_blob), 0 if there is none, <0 on error. The caller
 * frees the result with mysql_stmt_free_result. */
static int select_row(struct dbstore *d, int idx, struct params *p, MYSQL_STMT **out)
{
	MYSQL_STMT *s = run(d, idx, p);
	MYSQL_BIND rb[3];
	unsigned long lens[3];
	unsigned ncol, i;
	int rc;

	if (!s)
		return WA_SIGSTORE_ERR;
	ncol = mysql_stmt_field_count(s);
	if (ncol == 0 || ncol > 3 || mysql_stmt_store_result(s) != 0)
		goto fail;
	/* zero-length buffers: the fetch only records each column's length,
	 * fetch_blob then reads it exactly */
	memset(rb, 0, sizeof rb);
	for (i = 0; i < ncol; i++) {
		rb[i].buffer_type = MYSQL_TYPE_BLOB;
		rb[i].length = &lens[i];
	}
	if (mysql_stmt_bind_result(s, rb) != 0)
		goto fail;
	rc = mysql_stmt_fetch(s);
	if (rc == MYSQL_NO_DATA) {
		mysql_stmt_free_result(s);
		return 0;
	}
	if (rc != 0 && rc != MYSQL_DATA_TRUNCATED)
		goto fail;
	*out = s;
	return 1;
fail:
	wa_error("sigstore_db: signal store read failed: %s", mysql_stmt_error(s));
	failed(d, mysql_stmt_errno(s));
	mysql_stmt_free_result(s);
	drop(d, idx);
	return WA_SIGSTORE_ERR;
}

/* ---- session records of the open transaction ---- */

static struct txc_ent *txc_find(struct wa_sigstore_dbconn *c, const struct dbstore *d, const wa_sigrec_key *k)
{
	for (unsigned i = 0; i < c->ntxc; i++)
		if (c->txc[i].device == k->device && strcmp(c->txc[i].name, k->name) == 0 &&
		    strcmp(c->txc[i].skey, d->skey) == 0)
			return &c->txc[i];
	return NULL;
}

static void txc_drop(struct wa_sigstore_dbconn *c, unsigned i)
{
	explicit_bzero(c->txc[i].rec, c->txc[i].len);
	free(c->txc[i].rec);
	c->txc[i] = c->txc[--c->ntxc];
}

/* Whether records may be held now: a transaction is open and the owner
 * will flush and forget them at its end. */
static int txc_usable(struct wa_sigstore_dbconn *c)
{
	if (!c->txn || !c->txn->in_txn(c->txn_ctx))
		return 0;
	if (!c->txc_on) {
		if (c->txn->at_commit(c->txn_ctx, c) != 0)
			return 0;
		c->txc_on = 1;
	}
	return 1;
}

/* Hold rec (copied) for k; dirty when it is a write. 0, or -1 (no room, no
 * memory: the caller goes to the database instead). */
static int txc_set(struct wa_sigstore_dbconn *c, const struct dbstore *d, const wa_sigrec_key *k,
		   const uint8_t *rec, size_t len, int dirty)
{
	struct txc_ent *e = txc_find(c, d, k);
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return -1;
	memcpy(copy, rec, len);
	if (!e) {
		if (c->ntxc == TXC_MAX || strlen(k->name) >= sizeof e->name) {
			free(copy);
			return -1;
		}
		e = &c->txc[c->ntxc++];
		memcpy(e->skey, d->skey, d->skey_len + 1);
		snprintf(e->name, sizeof e->name, "%s", k->name);
		e->device = k->device;
		e->dirty = 0;
	} else {
		explicit_bzero(e->rec, e->len);
		free(e->rec);
	}
	e->rec = copy;
	e->len = len;
	e->dirty |= dirty;
	return 0;
}

static void p_sess(struct params *p, const struct txc_ent *e)
{
	p_str(p, e->skey, strlen(e->skey));
	p_str(p, e->name, strlen(e->name));
	p_u32(p, e->device);
	p_blob(p, e->rec, e->len);
}

/* Write the dirty records: 4, 2 or 1 to a statement. 0 or WA_SIGSTORE_ERR. */
static int txc_write(struct wa_sigstore_dbconn *c)
{
	struct txc_ent *dirty[TXC_MAX];
	struct dbstore tmp = { .c = c }; /* run() and its helpers use only the connection's cache */
	unsigned n = 0, i = 0;

	for (unsigned k = 0; k < c->ntxc; k++)
		if (c->txc[k].dirty)
			dirty[n++] = &c->txc[k];
	while (i < n) {
		unsigned m = n - i >= 4 ? 4 : n - i >= 2 ? 2 : 1;
		int idx = m == 4 ? ST_PUT_SESSIONS4 : m == 2 ? ST_PUT_SESSIONS2 : WA_SIGREC_SESSION * NOPS + OP_PUT;
		struct params p;

		memset(&p, 0, sizeof p);
		for (unsigned r = 0; r < m; r++)
			p_sess(&p, dirty[i + r]);
		if (!run(&tmp, idx, &p))
			return WA_SIGSTORE_ERR;
		for (unsigned r = 0; r < m; r++)
			dirty[i + r]->dirty = 0;
		i += m;
	}
	return 0;
}

static int d_get(void *state, const wa_sigrec_key *k, uint8_t **rec, size_t *len)
{
	struct dbstore *d = state;
	struct params p;
	MYSQL_STMT *s = NULL;
	uint8_t *a = NULL, *b = NULL, *c = NULL, *local = NULL;
	size_t al = 0, bl = 0, cl = 0;
	int rc;

	p_key(&p, d, k);
	lock(d);
	if (k->kind == WA_SIGREC_SESSION && d->c->txc_on) {
		const struct txc_ent *e = txc_find(d->c, d, k);

		if (e) {
			rc = WA_SIGSTORE_NOMEM;
			if ((*rec = malloc(e->len ? e->len : 1)) != NULL) {
				memcpy(*rec, e->rec, e->len);
				*len = e->len;
				rc = 1;
			}
			goto out;
		}
	}
	rc = select_row(d, k->kind * NOPS + OP_GET, &p, &s);
	if (rc <= 0)
		goto out;
	if (k->kind != WA_SIGREC_LOCAL) {
		rc = fetch_blob(s, 0, rec, len);
		rc = rc < 0 ? rc : 1;
		/* held for the rest of the transaction (a failure to hold it
		 * only costs the next read a statement) */
		if (rc == 1 && k->kind == WA_SIGREC_SESSION && txc_usable(d->c))
			(void)txc_set(d->c, d, k, *rec, *len, 0);
		goto out;
	}
	/* LOCAL: the three columns back into the record layout of sigstore.h */
	if ((rc = fetch_blob(s, 0, &a, &al)) < 0 || (rc = fetch_blob(s, 1, &b, &bl)) < 0 ||
	    (rc = fetch_blob(s, 2, &c, &cl)) < 0)
		goto out;
	rc = WA_SIGSTORE_ERR;
	if (al != 32 || bl != 32 || cl == 0 || cl > 10)
		goto out;
	local = malloc(WA_SIGREC_LOCAL_LEN);
	if (!local) {
		rc = WA_SIGSTORE_NOMEM;
		goto out;
	}
	{
		/* an unsigned INT fetched as text: digits only, <= UINT32_MAX */
		unsigned long long v = 0;
		size_t i;

		for (i = 0; i < cl; i++) {
			if (c[i] < '0' || c[i] > '9')
				goto out;
			v = v * 10 + (unsigned)(c[i] - '0');
		}
		if (v > UINT32_MAX)
			goto out;
		memcpy(local, a, 32);
		memcpy(local + 32, b, 32);
		local[64] = (uint8_t)(v >> 24);
		local[65] = (uint8_t)(v >> 16);
		local[66] = (uint8_t)(v >> 8);
		local[67] = (uint8_t)v;
	}
	*rec = local;
	*len = WA_SIGREC_LOCAL_LEN;
	local = NULL;
	rc = 1;
out:
	if (s)
		mysql_stmt_free_result(s);
	unlock(d);
	if (b)
		explicit_bzero(b, bl);
	if (local)
		explicit_bzero(local, WA_SIGREC_LOCAL_LEN);
	free(a);
	free(b);
	free(c);
	free(local);
	return rc;
}

static int d_put(void *state, const wa_sigrec_key *k, const uint8_t *rec, size_t len)
{
	struct dbstore *d = state;
	struct params p;
	int rc = 0;

	p_key(&p, d, k);
	if (k->kind == WA_SIGREC_LOCAL) {
		if (len != WA_SIGREC_LOCAL_LEN)
			return WA_SIGSTORE_ERR;
		p_blob(&p, rec, 32);
		p_blob(&p, rec + 32, 32);
		p_u32(&p, (uint32_t)rec[64] << 24 | (uint32_t)rec[65] << 16 | (uint32_t)rec[66] << 8 | rec[67]);
	} else {
		p_blob(&p, rec, len);
	}
	lock(d);
	if (k->kind == WA_SIGREC_SESSION) {
		struct txc_ent *e;

		if (txc_usable(d->c) && txc_set(d->c, d, k, rec, len, 1) == 0)
			goto out; /* written before the COMMIT (wa_sigstore_dbconn_flush) */
		/* written now: a held copy would be older than the database */
		if ((e = txc_find(d->c, d, k)) != NULL)
			txc_drop(d->c, (unsigned)(e - d->c->txc));
	}
	if (!run(d, k->kind * NOPS + OP_PUT, &p))
		rc = WA_SIGSTORE_ERR;
out:
	unlock(d);
	return rc;
}

/* Whether the connection is inside a transaction (the caller's): then n
 * puts are a savepoint of it, since a START TRANSACTION would commit the
 * caller's work so far and leave the rest in autocommit. */
static int in_caller_txn(MYSQL *m)
{
	unsigned int status = 0;

	return mariadb_get_infov(m, MARIADB_CONNECTION_SERVER_STATUS, &status) == 0 &&
	       (status & SERVER_STATUS_IN_TRANS) != 0;
}

/* One transaction (or, inside the caller's, one savepoint) around n puts;
 * the caller's lock is held throughout so no other user of db can slip
 * statements into it. */
static int d_put_many(void *state, const wa_sigrec_key *keys, const uint8_t *const *recs, const size_t *lens,
		      size_t n)
{
	struct dbstore *d = state;
	struct params p;
	size_t i;
	int rc = WA_SIGSTORE_ERR, nested;

	lock(d);
	if (!d->c->db) {
		wa_error("sigstore_db: the connection of this store was closed");
		goto out;
	}
	/* session records go to the database now: what is held of them first,
	 * then they are no longer held */
	for (i = 0; i < n; i++)
		if (keys[i].kind == WA_SIGREC_SESSION)
			break;
	if (i < n) {
		if (txc_write(d->c) != 0)
			goto out;
		for (i = 0; i < n; i++) {
			struct txc_ent *e = keys[i].kind == WA_SIGREC_SESSION ? txc_find(d->c, d, &keys[i]) : NULL;

			if (e)
				txc_drop(d->c, (unsigned)(e - d->c->txc));
		}
	}
	nested = in_caller_txn(d->c->db);
	if (mysql_query(d->c->db, nested ? "SAVEPOINT sigstore_many" : "START TRANSACTION") != 0) {
		wa_error("sigstore_db: cannot start transaction: %s", mysql_error(d->c->db));
		failed(d, mysql_errno(d->c->db));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (keys[i].kind == WA_SIGREC_LOCAL)
			goto rollback; /* columns, not a record: use put() */
		p_key(&p, d, &keys[i]);
		p_blob(&p, recs[i], lens[i]);
		if (!run(d, keys[i].kind * NOPS + OP_PUT, &p))
			goto rollback;
	}
	if (nested ? mysql_query(d->c->db, "RELEASE SAVEPOINT sigstore_many") != 0 : mysql_commit(d->c->db) != 0) {
		wa_error("sigstore_db: cannot commit: %s", mysql_error(d->c->db));
		failed(d, mysql_errno(d->c->db));
		goto rollback;
	}
	rc = 0;
	goto out;
rollback:
	/* the failure is already logged and returned */
	if (nested)
		(void)mysql_query(d->c->db, "ROLLBACK TO SAVEPOINT sigstore_many");
	else
		(void)mysql_rollback(d->c->db);
out:
	unlock(d);
	return rc;
}

static int d_del(void *state, const wa_sigrec_key *k)
{
	struct dbstore *d = state;
	struct params p;
	MYSQL_STMT *s;
	int rc, held = 0;

	p_key(&p, d, k);
	lock(d);
	if (k->kind == WA_SIGREC_SESSION) {
		/* a held write of it is dropped, not written after the DELETE
		 * (and it counts as a record removed) */
		struct txc_ent *e = txc_find(d->c, d, k);

		held = e && e->dirty;
		if (e)
			txc_drop(d->c, (unsigned)(e - d->c->txc));
	}
	s = run(d, k->kind * NOPS + OP_DEL, &p);
	rc = !s ? WA_SIGSTORE_ERR : (held || mysql_stmt_affected_rows(s) > 0);
	unlock(d);
	return rc;
}

static int d_count(void *state, enum wa_sigrec_kind kind)
{
	struct dbstore *d = state;
	struct params p;
	MYSQL_STMT *s;
	MYSQL_BIND rb;
	unsigned long long n = 0;
	int rc = WA_SIGSTORE_ERR, idx = kind * NOPS + OP_COUNT;

	memset(&p, 0, sizeof p);
	p_str(&p, d->skey, d->skey_len);
	lock(d);
	if (kind == WA_SIGREC_SESSION && txc_write(d->c) != 0) /* the database counts the held ones too */
		goto out;
	s = run(d, idx, &p);
	if (!s)
		goto out;
	memset(&rb, 0, sizeof rb);
	rb.buffer_type = MYSQL_TYPE_LONGLONG;
	rb.is_unsigned = 1;
	rb.buffer = &n;
	if (mysql_stmt_bind_result(s, &rb) != 0 || mysql_stmt_fetch(s) != 0) {
		wa_error("sigstore_db: signal store count failed: %s", mysql_stmt_error(s));
		failed(d, mysql_stmt_errno(s));
		mysql_stmt_free_result(s);
		drop(d, idx);
		goto out;
	}
	mysql_stmt_free_result(s);
	rc = n > INT_MAX ? INT_MAX : (int)n;
out:
	unlock(d);
	return rc;
}

static int d_devices(void *state, const char *name, uint32_t *out, size_t max)
{
	struct dbstore *d = state;
	struct params p;
	MYSQL_STMT *s;
	MYSQL_BIND rb;
	uint32_t dev = 0;
	size_t n = 0;
	int rc = WA_SIGSTORE_ERR, f;

	memset(&p, 0, sizeof p);
	p_str(&p, d->skey, d->skey_len);
	p_str(&p, name, strlen(name));
	lock(d);
	if (txc_write(d->c) != 0) /* the database lists the held ones too */
		goto out;
	s = run(d, ST_DEVICES, &p);
	if (!s)
		goto out;
	memset(&rb, 0, sizeof rb);
	rb.buffer_type = MYSQL_TYPE_LONG;
	rb.is_unsigned = 1;
	rb.buffer = &dev;
	if (mysql_stmt_bind_result(s, &rb) != 0)
		goto fail;
	while ((f = mysql_stmt_fetch(s)) == 0) {
		if (n < max)
			out[n] = dev;
		n++;
	}
	if (f != MYSQL_NO_DATA)
		goto fail;
	mysql_stmt_free_result(s);
	rc = n > INT_MAX ? INT_MAX : (int)n;
	goto out;
fail:
	wa_error("sigstore_db: signal store device list failed: %s", mysql_stmt_error(s));
	failed(d, mysql_stmt_errno(s));
	mysql_stmt_free_result(s);
	drop(d, ST_DEVICES);
out:
	unlock(d);
	return rc;
}

static int d_del_name(void *state, enum wa_sigrec_kind kind, const char *name)
{
	struct dbstore *d = state;
	struct params p;
	MYSQL_STMT *s;
	my_ulonglong n;
	int rc;

	memset(&p, 0, sizeof p);
	p_str(&p, d->skey, d->skey_len);
	p_str(&p, name, strlen(name));
	lock(d);
	if (kind == WA_SIGREC_SESSION) {
		/* the name's sessions go to the database first (the count
		 * includes them), then the DELETE removes them all */
		if (txc_write(d->c) != 0) {
			unlock(d);
			return WA_SIGSTORE_ERR;
		}
		for (unsigned i = d->c->ntxc; i-- > 0;)
			if (strcmp(d->c->txc[i].name, name) == 0 && strcmp(d->c->txc[i].skey, d->skey) == 0)
				txc_drop(d->c, i);
	}
	s = run(d, kind == WA_SIGREC_IDENTITY ? ST_DEL_IDENTITIES : ST_DEL_SESSIONS, &p);
	if (!s) {
		rc = WA_SIGSTORE_ERR;
	} else {
		n = mysql_stmt_affected_rows(s);
		rc = n > INT_MAX ? INT_MAX : (int)n;
	}
	unlock(d);
	return rc;
}

static void d_destroy(void *state)
{
	struct dbstore *d = state;

	if (!d)
		return;
	if (d->own_conn) {
		wa_sigstore_dbconn_free(d->c);
	} else {
		/* The last store of a cache its owner already freed frees it. */
		int last;

		if (d->c->lock)
			pthread_mutex_lock(d->c->lock);
		last = --d->c->stores == 0 && !d->c->db;
		if (d->c->lock)
			pthread_mutex_unlock(d->c->lock);
		if (last)
			free(d->c);
	}
	free(d);
}

static const struct wa_sigstore_ops db_ops = {
	.get = d_get,
	.put = d_put,
	.del = d_del,
	.devices = d_devices,
	.del_name = d_del_name,
	.count = d_count,
	.destroy = d_destroy,
	.put_many = d_put_many,
};

wa_sigstore_dbconn *wa_sigstore_dbconn_new(struct st_mysql *db, pthread_mutex_t *lk)
{
	wa_sigstore_dbconn *c;

	if (!db)
		return NULL;
	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->db = db;
	c->lock = lk;
	return c;
}

void wa_sigstore_dbconn_on_error(wa_sigstore_dbconn *c, void (*fn)(void *ctx, unsigned err), void *ctx)
{
	if (!c)
		return;
	c->on_error = fn;
	c->on_error_ctx = ctx;
}

void wa_sigstore_dbconn_txn(wa_sigstore_dbconn *c, const struct wa_sigstore_txn *txn, void *ctx)
{
	if (!c)
		return;
	wa_sigstore_dbconn_forget(c);
	c->txn = txn;
	c->txn_ctx = ctx;
}

static void txc_clear(wa_sigstore_dbconn *c)
{
	while (c->ntxc)
		txc_drop(c, c->ntxc - 1);
	c->txc_on = 0;
}

int wa_sigstore_dbconn_flush(wa_sigstore_dbconn *c)
{
	int rc;

	if (!c)
		return 0;
	if (c->lock)
		pthread_mutex_lock(c->lock);
	rc = c->db ? txc_write(c) : 0;
	if (c->lock)
		pthread_mutex_unlock(c->lock);
	return rc;
}

void wa_sigstore_dbconn_forget(wa_sigstore_dbconn *c)
{
	if (!c)
		return;
	if (c->lock)
		pthread_mutex_lock(c->lock);
	txc_clear(c);
	if (c->lock)
		pthread_mutex_unlock(c->lock);
}

void wa_sigstore_dbconn_free(wa_sigstore_dbconn *c)
{
	int i;

	unsigned left;

	if (!c)
		return;
	if (c->lock)
		pthread_mutex_lock(c->lock);
	txc_clear(c);
	for (i = 0; i < NSTMT; i++)
		if (c->st[i]) {
			mysql_stmt_close(c->st[i]);
			c->st[i] = NULL;
		}
	c->db = NULL;
	left = c->stores;
	if (c->lock)
		pthread_mutex_unlock(c->lock);
	if (left == 0)
		free(c);
}

static wa_sigstore *db_new(wa_sigstore_dbconn *c, int own, const char *session_key)
{
	wa_sigstore *st;
	struct dbstore *d;
	size_t n;

	if (!c || !session_key)
		return NULL;
	n = strnlen(session_key, sizeof d->skey);
	if (n == 0 || n >= sizeof d->skey)
		return NULL;
	st = calloc(1, sizeof *st);
	d = calloc(1, sizeof *d);
	if (!st || !d) {
		free(st);
		free(d);
		return NULL;
	}
	if (!own) {
		if (c->lock)
			pthread_mutex_lock(c->lock);
		if (!c->db) {
			if (c->lock)
				pthread_mutex_unlock(c->lock);
			free(st);
			free(d);
			return NULL;
		}
		c->stores++;
		if (c->lock)
			pthread_mutex_unlock(c->lock);
	}
	d->c = c;
	d->own_conn = own;
	memcpy(d->skey, session_key, n);
	d->skey_len = (unsigned long)n;
	st->ops = &db_ops;
	st->state = d;
	return st;
}

wa_sigstore *wa_sigstore_db_new_on(wa_sigstore_dbconn *c, const char *session_key)
{
	return db_new(c, 0, session_key);
}

wa_sigstore *wa_sigstore_db_new(struct st_mysql *db, pthread_mutex_t *lk, const char *session_key)
{
	wa_sigstore_dbconn *c = wa_sigstore_dbconn_new(db, lk);
	wa_sigstore *st = c ? db_new(c, 1, session_key) : NULL;

	if (!st)
		wa_sigstore_dbconn_free(c);
	return st;
}

static const char *const SQL_PURGE[] = {
	"DELETE FROM signal_identity_local WHERE session_key = ?",
	"DELETE FROM signal_identity WHERE session_key = ?",
	"DELETE FROM signal_prekey WHERE session_key = ?",
	"DELETE FROM signal_signed_prekey WHERE session_key = ?",
	"DELETE FROM signal_session WHERE session_key = ?",
	"DELETE FROM signal_sender_key WHERE session_key = ?",
};

int wa_sigstore_db_purge(struct st_mysql *db, pthread_mutex_t *lk, const char *session_key)
{
	MYSQL_STMT *s = NULL;
	MYSQL_BIND b;
	unsigned long klen;
	unsigned long long total = 0;
	size_t i;
	int rc = WA_SIGSTORE_ERR;

	if (!db || !session_key || !session_key[0] || strnlen(session_key, 65) > 64)
		return WA_SIGSTORE_ERR;
	klen = (unsigned long)strlen(session_key);
	memset(&b, 0, sizeof b);
	b.buffer_type = MYSQL_TYPE_STRING;
	b.buffer = (void *)session_key;
	b.buffer_length = klen;
	b.length = &klen;
	if (lk)
		pthread_mutex_lock(lk);
	for (i = 0; i < sizeof SQL_PURGE / sizeof SQL_PURGE[0]; i++) {
		s = mysql_stmt_init(db);
		if (!s || mysql_stmt_prepare(s, SQL_PURGE[i], strlen(SQL_PURGE[i])) != 0 ||
		    mysql_stmt_bind_param(s, &b) != 0 || mysql_stmt_execute(s) != 0) {
			wa_error("sigstore_db: cannot purge signal store: %s", s ? mysql_stmt_error(s) : "out of memory");
			goto out;
		}
		total += mysql_stmt_affected_rows(s);
		mysql_stmt_close(s);
		s = NULL;
	}
	rc = total > INT_MAX ? INT_MAX : (int)total;
out:
	if (s)
		mysql_stmt_close(s);
	if (lk)
		pthread_mutex_unlock(lk);
	return rc;
}
