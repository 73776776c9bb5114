/* session: the table of owned sessions (see session.h). */
#include "engine/session.h"
#include "engine/engine.h"
#include "wa_log.h"

#include <stdlib.h>
#include <string.h>

#define NBUCKETS 4096

struct wa_sessions {
	struct wa_engine *e;
	struct wa_session *b[NBUCKETS];
	unsigned n;
};

static unsigned hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h % NBUCKETS;
}

struct wa_sessions *wa_sessions_new(struct wa_engine *e)
{
	struct wa_sessions *t = calloc(1, sizeof *t);

	if (t)
		t->e = e;
	return t;
}

static void session_free(struct wa_session *s)
{
	free(s);
}

void wa_sessions_free(struct wa_sessions *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		for (struct wa_session *s = t->b[i], *next; s; s = next) {
			next = s->next;
			session_free(s);
		}
	}
	free(t);
}

struct wa_session *wa_sessions_find(struct wa_sessions *t, const char *id)
{
	for (struct wa_session *s = t->b[hash(id)]; s; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

unsigned wa_sessions_count(const struct wa_sessions *t)
{
	return t ? t->n : 0;
}

static struct wa_session *take(struct wa_sessions *t, json_t *row)
{
	const char *id = json_string_value(json_object_get(row, "sessionId"));
	const char *st = json_string_value(json_object_get(row, "status"));
	struct wa_session *s;
	unsigned h;

	if (!id || strlen(id) >= WA_SESSION_ID_MAX)
		return NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->row_id = (uint64_t)json_integer_value(json_object_get(row, "id"));
	memcpy(s->id, id, strlen(id) + 1);
	snprintf(s->status, sizeof s->status, "%s", st ? st : WA_SST_STOPPED);
	s->owned_since_ms = wa_engine_now_ms();
	h = hash(id);
	s->next = t->b[h];
	t->b[h] = s;
	t->n++;
	wa_info("session %s: taken up by this engine (status %s)", s->id, s->status);
	return s;
}

static void unlink_session(struct wa_sessions *t, struct wa_session *s)
{
	struct wa_session **pp = &t->b[hash(s->id)];

	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = s->next;
		t->n--;
	}
}

void wa_sessions_reconcile(struct wa_sessions *t, json_t *rows)
{
	size_t i;
	json_t *row;

	for (unsigned b = 0; b < NBUCKETS; b++)
		for (struct wa_session *s = t->b[b]; s; s = s->next)
			s->seen = 0;
	json_array_foreach(rows, i, row) {
		const char *id = json_string_value(json_object_get(row, "sessionId"));
		struct wa_session *s = id ? wa_sessions_find(t, id) : NULL;

		if (!s)
			s = take(t, row);
		if (s)
			s->seen = 1;
	}
	for (unsigned b = 0; b < NBUCKETS; b++) {
		for (struct wa_session *s = t->b[b], *next; s; s = next) {
			next = s->next;
			if (s->seen)
				continue;
			wa_info("session %s: no longer owned by this engine; let go", s->id);
			unlink_session(t, s);
			session_free(s);
		}
	}
}

void wa_sessions_drop(struct wa_sessions *t, const char *id)
{
	struct wa_session *s = wa_sessions_find(t, id);

	if (!s)
		return;
	wa_info("session %s: stopped", s->id);
	unlink_session(t, s);
	session_free(s);
}
