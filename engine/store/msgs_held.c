/* msgs_held: message and chat rows held back to the commit (msgs_held.h). */
#include "engine/store/msgs_held.h"
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa_err.h"
#include "wa_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- chat rows ---- */

struct held_chat {
	unsigned long long sess;
	char *jid;
	int is_group;
	long long unread, t;
};

struct chats {
	struct held_chat *v;
	size_t n, cap;
};

#define CH_ROW "(?, ?, ?, ?, FROM_UNIXTIME(?))"
#define CH_INS "INSERT INTO chats (wa_session_id, jid, is_group, unread_count, last_message_at) VALUES "
#define CH_UPD                                                                            \
	" ON DUPLICATE KEY UPDATE unread_count = unread_count + VALUES(unread_count), " \
	"last_message_at = GREATEST(COALESCE(last_message_at, VALUES(last_message_at)), VALUES(last_message_at))"
#define CH_ARGS(c) (c).sess, (c).jid, (c).is_group, (c).unread, (c).t

/* Rows v[0..n) (elem bytes each) by ins(), in INSERTs of 4, 2 and 1 rows. */
static int in_fours(struct wa_db *db, const void *v, size_t n, size_t elem,
		    int (*ins)(struct wa_db *db, const void *rows, size_t k))
{
	for (size_t i = 0; i < n;) {
		size_t left = n - i, k = left >= 4 ? 4 : left >= 2 ? 2 : 1;

		if (ins(db, (const char *)v + i * elem, k) != 0)
			return -1;
		i += k;
	}
	return 0;
}

static int chats_insert(struct wa_db *db, const void *rows, size_t n)
{
	const struct held_chat *c = rows;
	static const char sql4[] = CH_INS CH_ROW ", " CH_ROW ", " CH_ROW ", " CH_ROW CH_UPD;
	static const char sql2[] = CH_INS CH_ROW ", " CH_ROW CH_UPD;
	static const char sql1[] = CH_INS CH_ROW CH_UPD;
	long long k;

	if (n == 4)
		k = wa_db_exec(db, sql4, "usbiiusbiiusbiiusbii", CH_ARGS(c[0]), CH_ARGS(c[1]), CH_ARGS(c[2]),
			       CH_ARGS(c[3]));
	else if (n == 2)
		k = wa_db_exec(db, sql2, "usbiiusbii", CH_ARGS(c[0]), CH_ARGS(c[1]));
	else
		k = wa_db_exec(db, sql1, "usbii", CH_ARGS(c[0]));
	return k < 0 ? -1 : 0;
}

static int by_chat(const void *a, const void *b)
{
	const struct held_chat *x = a, *y = b;

	if (x->sess != y->sess)
		return x->sess < y->sess ? -1 : 1;
	return strcmp(x->jid, y->jid);
}

static void chats_clear(struct chats *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].jid);
	h->n = 0;
}

/* Write what is held (in key order, so that two transactions lock the
 * rows they share in the same order) and forget it: the slot stays, and
 * rows held after a settle are written at the commit. */
static int chats_flush(struct wa_db *db, void *arg)
{
	struct chats *h = arg;

	qsort(h->v, h->n, sizeof *h->v, by_chat);
	if (in_fours(db, h->v, h->n, sizeof *h->v, chats_insert) != 0)
		return -1;
	chats_clear(h);
	return 0;
}

static void chats_free(void *arg)
{
	struct chats *h = arg;

	chats_clear(h);
	free(h->v);
	free(h);
}

int wa_held_chat(struct wa_db *db, uint64_t sess, const char *chat, int is_group, long long unread, int64_t t)
{
	struct chats *h;
	struct held_chat *c;

	if (!wa_db_in_txn(db) || !(h = wa_db_at_commit_obj(db, chats_flush, chats_free, sizeof *h, 0)))
		return 0; /* written now */
	for (size_t i = 0; i < h->n; i++) {
		c = &h->v[i];
		if (c->sess == sess && strcmp(c->jid, chat) == 0) {
			c->unread += unread;
			if (t > c->t)
				c->t = t;
			return 1;
		}
	}
	if (wa_grow(&h->v, &h->cap, h->n, sizeof *h->v, 8) != 0)
		return WA_ENOMEM;
	c = &h->v[h->n];
	if (!(c->jid = strdup(chat)))
		return WA_ENOMEM;
	c->sess = sess;
	c->is_group = is_group;
	c->unread = unread;
	c->t = t;
	h->n++;
	return 1;
}

int wa_msgs_chats_settle(struct wa_db *db)
{
	struct chats *h = wa_db_at_commit_arg(db, chats_flush);

	return h && h->n && chats_flush(db, h) != 0 ? WA_ESTORAGE : 0;
}

/* ---- message rows ---- */

enum { F_CHAT, F_ID, F_SENDER, F_PUSH, F_TYPE, F_CONTENT, F_CAPTION, F_MIME, F_QUOTED, F_MENTIONS, F_META,
       F_STATUS, F_SIZE, NF };

struct held_msg {
	unsigned long long sess;
	char *f[NF];
	int from_me;
	unsigned char *raw;
	size_t raw_len;
	long long t;
};

struct msgs {
	struct held_msg *v;
	size_t n, cap;
};

#define MS_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?))"
#define MS_INS                                                                                         \
	"INSERT INTO messages (wa_session_id, remote_jid, message_id, from_me, sender_jid, push_name, type, " \
	"content, caption, media_mime, media_size, raw, quoted_id, mentions, meta, status, timestamp) VALUES "
#define MS_UPD " ON DUPLICATE KEY UPDATE id = id"
#define MS_FMT "ussbsssssssxssssi"
#define MS_ARGS(m)                                                                                          \
	(m).sess, (m).f[F_CHAT], (m).f[F_ID], (m).from_me, (m).f[F_SENDER], (m).f[F_PUSH], (m).f[F_TYPE],  \
		(m).f[F_CONTENT], (m).f[F_CAPTION], (m).f[F_MIME], (m).f[F_SIZE], (const void *)(m).raw,     \
		(m).raw_len, (m).f[F_QUOTED], (m).f[F_MENTIONS], (m).f[F_META], (m).f[F_STATUS], (m).t

static int msgs_insert(struct wa_db *db, const void *rows, size_t n)
{
	const struct held_msg *m = rows;
	static const char sql4[] = MS_INS MS_ROW ", " MS_ROW ", " MS_ROW ", " MS_ROW MS_UPD;
	static const char sql2[] = MS_INS MS_ROW ", " MS_ROW MS_UPD;
	static const char sql1[] = MS_INS MS_ROW MS_UPD;
	long long k;

	if (n == 4)
		k = wa_db_exec(db, sql4, MS_FMT MS_FMT MS_FMT MS_FMT, MS_ARGS(m[0]), MS_ARGS(m[1]), MS_ARGS(m[2]),
			       MS_ARGS(m[3]));
	else if (n == 2)
		k = wa_db_exec(db, sql2, MS_FMT MS_FMT, MS_ARGS(m[0]), MS_ARGS(m[1]));
	else
		k = wa_db_exec(db, sql1, MS_FMT, MS_ARGS(m[0]));
	return k < 0 ? -1 : 0;
}

static void msg_clear(struct held_msg *m)
{
	for (int i = 0; i < NF; i++)
		free(m->f[i]);
	free(m->raw);
	memset(m, 0, sizeof *m);
}

static int msgs_flush(struct wa_db *db, void *arg)
{
	struct msgs *h = arg;

	return in_fours(db, h->v, h->n, sizeof *h->v, msgs_insert);
}

static void msgs_free(void *arg)
{
	struct msgs *h = arg;

	for (size_t i = 0; i < h->n; i++)
		msg_clear(&h->v[i]);
	free(h->v);
	free(h);
}

static int dup_field(char **dst, const char *src)
{
	*dst = NULL;
	return !src || (*dst = strdup(src)) != NULL ? 0 : -1;
}

int wa_held_msg(struct wa_db *db, uint64_t sess, const struct wa_msg_row *r)
{
	const char *src[NF] = { r->chat, r->id, r->sender, r->push_name, r->type, r->content, r->caption,
				r->media_mime, r->quoted_id, r->mentions, r->meta, r->status, NULL };
	char size[24];
	struct msgs *h;
	struct held_msg *m;
	int bad = 0;

	if (!wa_db_in_txn(db) || !(h = wa_db_at_commit_obj(db, msgs_flush, msgs_free, sizeof *h, 0)))
		return 0; /* written now */
	if (wa_grow(&h->v, &h->cap, h->n, sizeof *h->v, 8) != 0)
		return WA_ENOMEM;
	m = &h->v[h->n];
	memset(m, 0, sizeof *m);
	if (r->media_size) {
		snprintf(size, sizeof size, "%llu", (unsigned long long)r->media_size);
		src[F_SIZE] = size;
	}
	for (int i = 0; i < NF; i++)
		bad |= dup_field(&m->f[i], src[i]);
	if (r->raw && !(m->raw = malloc(r->raw_len ? r->raw_len : 1)))
		bad = 1;
	if (bad) {
		msg_clear(m);
		return WA_ENOMEM;
	}
	if (r->raw)
		memcpy(m->raw, r->raw, r->raw_len);
	m->raw_len = r->raw_len;
	m->sess = (unsigned long long)sess;
	m->from_me = r->from_me;
	m->t = (long long)r->t;
	h->n++;
	return 1;
}
