/* msgstatus: sent messages' status raises, held to the commit (msgstatus.h). */
#include "engine/store/msgstatus.h"
#include "fcgi/db.h"
#include "wa_err.h"
#include "wa_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_MAX 12 /* "DELIVERED" and the rest, with room */
#define CHUNK 16      /* ids per SELECT / UPDATE (padded with the last one) */

static const char SQL_ONLY_PENDING[] =
	"UPDATE messages SET status = ? WHERE wa_session_id = ? AND message_id = ? AND from_me = 1 "
	"AND status = 'PENDING'";
static const char SQL_RAISE[] =
	"UPDATE messages SET status = ? WHERE wa_session_id = ? AND message_id = ? AND from_me = 1 "
	"AND FIELD(status, 'PENDING', 'SENT', 'DELIVERED', 'READ', 'PLAYED') < "
	"FIELD(?, 'PENDING', 'SENT', 'DELIVERED', 'READ', 'PLAYED')";
#define IDS16 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
static const char SQL_READ[] =
	"SELECT message_id, status FROM messages WHERE wa_session_id = ? AND from_me = 1 AND message_id IN (" IDS16
	") FOR UPDATE";
static const char SQL_SET[] =
	"UPDATE messages SET status = ? WHERE wa_session_id = ? AND from_me = 1 AND message_id IN (" IDS16 ")";
#define ARGS16(v) v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]

struct note {
	unsigned long long sess;
	char *id;
	char status[STATUS_MAX];
	int flags;
	int took;               /* judged: it takes effect */
	int seen;               /* flushed with its session's notes */
	wa_msgstatus_took_fn fn;
	void *arg;
};

struct held {
	struct note *v;
	size_t n, cap;
};

/* One distinct message id of a flush and what its row says. */
struct row {
	const char *id;
	char status[STATUS_MAX]; /* now (after the notes judged so far) */
	int found, dirty;
};

int wa_msgstatus_rank(const char *s)
{
	static const char *const order[] = { "PENDING", "SENT", "DELIVERED", "READ", "PLAYED" };

	for (int i = 0; s && i < 5; i++)
		if (strcmp(s, order[i]) == 0)
			return i + 1;
	return 0;
}

static int allowed(const char *now, const char *to, int flags)
{
	if (flags & WA_MSGSTATUS_ONLY_PENDING)
		return strcmp(now, "PENDING") == 0;
	return wa_msgstatus_rank(now) < wa_msgstatus_rank(to);
}

/* The guarded single-row UPDATE and, when it took, the callback. */
static int raise_now(struct wa_db *db, unsigned long long sess, const char *id, const char *status, int flags,
		     wa_msgstatus_took_fn fn, void *arg)
{
	long long n = flags & WA_MSGSTATUS_ONLY_PENDING ?
		      wa_db_exec(db, SQL_ONLY_PENDING, "sus", status, sess, id) :
		      wa_db_exec(db, SQL_RAISE, "suss", status, sess, id, status);

	if (n < 0)
		return WA_ESTORAGE;
	return n == 1 && fn ? fn(db, arg, id, status) : 0;
}

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->id, ((const struct row *)b)->id);
}

static struct row *find(struct row *rows, size_t n, const char *id)
{
	struct row key = { .id = id };

	return bsearch(&key, rows, n, sizeof *rows, by_id);
}

/* Read rows[0..n) (sorted, distinct) as stored now, locking them. */
static int read_rows(struct wa_db *db, unsigned long long sess, struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i += CHUNK) {
		const char *v[CHUNK];
		struct wa_db_text t;
		int cid, cst;

		for (size_t k = 0; k < CHUNK; k++)
			v[k] = rows[i + k < n ? i + k : n - 1].id;
		if (wa_db_text_query(db, &t, SQL_READ, "ussssssssssssssss", sess, ARGS16(v)) != 0)
			return WA_ESTORAGE;
		cid = wa_db_text_col(&t, "message_id");
		cst = wa_db_text_col(&t, "status");
		for (size_t r = 0; cid >= 0 && cst >= 0 && r < t.nrows; r++) {
			const char *id = wa_db_text_val(&t, r, cid, NULL), *st = wa_db_text_val(&t, r, cst, NULL);
			struct row *w = id ? find(rows, n, id) : NULL;

			if (w) {
				w->found = 1;
				snprintf(w->status, sizeof w->status, "%s", st ? st : "");
			}
		}
		wa_db_text_free(&t);
	}
	return 0;
}

/* UPDATE v[0..k) (k <= CHUNK, padded here) to status. */
static int set_chunk(struct wa_db *db, unsigned long long sess, const char *status, const char **v, size_t k)
{
	for (; k < CHUNK; k++)
		v[k] = v[k - 1];
	return wa_db_exec(db, SQL_SET, "sussssssssssssssss", status, sess, ARGS16(v)) < 0 ? WA_ESTORAGE : 0;
}

/* Write every dirty row: one UPDATE per resulting status (per CHUNK ids). */
static int write_rows(struct wa_db *db, unsigned long long sess, struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *v[CHUNK], *status = rows[i].status;
		size_t k = 0;

		if (!rows[i].dirty)
			continue;
		for (size_t j = i; j < n; j++) {
			if (!rows[j].dirty || strcmp(rows[j].status, status) != 0)
				continue;
			rows[j].dirty = 0;
			v[k++] = rows[j].id;
			if (k == CHUNK && set_chunk(db, sess, status, v, k) != 0)
				return WA_ESTORAGE;
			k %= CHUNK;
		}
		if (k && set_chunk(db, sess, status, v, k) != 0)
			return WA_ESTORAGE;
	}
	return 0;
}

/* The notes of one session, idx[0..k) in the order made. */
static int flush_session(struct wa_db *db, struct held *h, const size_t *idx, size_t k)
{
	unsigned long long sess = h->v[idx[0]].sess;
	struct row *rows;
	size_t n = 0;
	int rc;

	if (k == 1) {
		struct note *o = &h->v[idx[0]];

		return raise_now(db, sess, o->id, o->status, o->flags, o->fn, o->arg);
	}
	if (!(rows = calloc(k, sizeof *rows)))
		return WA_ENOMEM;
	for (size_t i = 0; i < k; i++)
		rows[n++].id = h->v[idx[i]].id;
	qsort(rows, n, sizeof *rows, by_id);
	{
		size_t w = 0;

		for (size_t i = 0; i < n; i++)
			if (w == 0 || strcmp(rows[w - 1].id, rows[i].id) != 0)
				rows[w++] = rows[i];
		n = w;
	}
	rc = read_rows(db, sess, rows, n);
	for (size_t i = 0; rc == 0 && i < k; i++) {
		struct note *o = &h->v[idx[i]];
		struct row *w = find(rows, n, o->id);

		if (w && w->found && allowed(w->status, o->status, o->flags)) {
			snprintf(w->status, sizeof w->status, "%s", o->status);
			w->dirty = o->took = 1;
		}
	}
	if (rc == 0)
		rc = write_rows(db, sess, rows, n);
	for (size_t i = 0; rc == 0 && i < k; i++) {
		struct note *o = &h->v[idx[i]];

		if (o->took && o->fn)
			rc = o->fn(db, o->arg, o->id, o->status);
	}
	free(rows);
	return rc;
}

static int held_flush(struct wa_db *db, void *arg)
{
	struct held *h = arg;
	size_t *idx = h->n ? malloc(h->n * sizeof *idx) : NULL;
	int rc = 0;

	if (h->n && !idx)
		return -1;
	for (size_t i = 0; rc == 0 && i < h->n; i++) {
		size_t k = 0;

		if (h->v[i].seen)
			continue;
		for (size_t j = i; j < h->n; j++)
			if (!h->v[j].seen && h->v[j].sess == h->v[i].sess) {
				h->v[j].seen = 1;
				idx[k++] = j;
			}
		rc = flush_session(db, h, idx, k);
	}
	free(idx);
	return rc == 0 ? 0 : -1;
}

static void held_free(void *arg)
{
	struct held *h = arg;

	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].id);
	free(h->v);
	free(h);
}

int wa_msgstatus_raise(struct wa_db *db, uint64_t session_row, const char *id, const char *status, int flags,
		       wa_msgstatus_took_fn took, void *arg)
{
	struct held *h;
	struct note *o;

	if (!id || !status || strlen(status) >= STATUS_MAX)
		return WA_EINVAL;
	if ((flags & WA_MSGSTATUS_NOW) || !wa_db_in_txn(db) ||
	    !(h = wa_db_at_commit_obj(db, held_flush, held_free, sizeof *h, 1)))
		return raise_now(db, (unsigned long long)session_row, id, status, flags, took, arg);
	if (wa_grow(&h->v, &h->cap, h->n, sizeof *h->v, 16) != 0)
		return WA_ENOMEM;
	o = &h->v[h->n];
	memset(o, 0, sizeof *o);
	if (!(o->id = strdup(id)))
		return WA_ENOMEM;
	o->sess = (unsigned long long)session_row;
	snprintf(o->status, sizeof o->status, "%s", status);
	o->flags = flags;
	o->fn = took;
	o->arg = arg;
	h->n++;
	return 0;
}
