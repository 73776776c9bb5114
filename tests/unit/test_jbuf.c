/* test_jbuf: fcgi/jbuf.c writes the JSON text jansson would for the same
 * values (the session list and details are written with it instead of
 * json_dumps): every byte value in strings, runs around escapes, UTF-8
 * kept as it is, keys, and the database cells by kind (NULL, integers,
 * booleans, times, checked JSON text). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/db.h"
#include "fcgi/jbuf.h"
#include "tap.h"

/* what jansson writes for the string of the n bytes at s */
static char *jansson_str(const char *s, size_t n)
{
	json_t *j = json_stringn_nocheck(s, n);
	char *out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(j);
	return out;
}

static int same_as_jansson(const char *s, size_t n)
{
	struct wa_jbuf jb = { 0 };
	char *want = jansson_str(s, n);
	int same;

	wa_jb_str(&jb, s, n);
	same = want && !jb.oom && jb.len == strlen(want) && memcmp(jb.buf, want, jb.len) == 0;
	if (!same)
		printf("#   got %.*s, want %s\n", (int)jb.len, jb.buf ? jb.buf : "", want ? want : "(null)");
	free(want);
	wa_jb_free(&jb);
	return same;
}

/* a one-row text result with the given kinds and values (NULL = SQL NULL) */
static void one_row(struct wa_db_text *t, unsigned n, const unsigned char *kinds, const char *const *vals)
{
	size_t len = 0;

	memset(t, 0, sizeof *t);
	t->ncols = n;
	t->nrows = 1;
	t->names = calloc(n, sizeof *t->names);
	t->kinds = malloc(n);
	t->off = calloc(n, sizeof *t->off);
	t->len = calloc(n, sizeof *t->len);
	for (unsigned i = 0; i < n; i++)
		len += vals[i] ? strlen(vals[i]) + 1 : 0;
	t->data = malloc(len + 1);
	len = 0;
	for (unsigned i = 0; i < n; i++) {
		t->names[i] = strdup("c");
		t->kinds[i] = kinds[i];
		if (!vals[i]) {
			t->off[i] = (size_t)-1;
			continue;
		}
		t->off[i] = len;
		t->len[i] = strlen(vals[i]);
		memcpy(t->data + len, vals[i], t->len[i] + 1);
		len += t->len[i] + 1;
	}
}

int main(void)
{
	char all[128], buf[64];
	int every = 1;
	struct wa_jbuf jb = { 0 };
	struct wa_db_text t;
	static const unsigned char kinds[] = { WA_DB_K_STR, WA_DB_K_INT, WA_DB_K_BOOL, WA_DB_K_BOOL, WA_DB_K_TIME,
					       WA_DB_K_TIME, WA_DB_K_STR, WA_DB_K_STR };
	static const char *const vals[] = { NULL, "-42", "1", "0", "2026-01-15 08:00:00.123", "2026-01-15 08:00:00",
					    "a\"b", "[\"x\", 1]" };

	/* ASCII only: jansson refuses to write a string that is not UTF-8 */
	for (int c = 1; c < 128; c++) {
		/* each byte alone, and doubled between safe runs */
		snprintf(buf, sizeof buf, "ab%c%ccd", c, c);
		if (!same_as_jansson(buf + 2, 1) || !same_as_jansson(buf, strlen(buf)))
			every = 0;
	}
	ok(every, "every ASCII byte is written as jansson writes it, alone and inside a string");
	for (int c = 1; c < 128; c++)
		all[c - 1] = (char)c;
	ok(same_as_jansson(all, 127), "all of ASCII in one string");
	ok(same_as_jansson("", 0), "the empty string");
	ok(same_as_jansson("Grüße, 日本 🙂 \"quoted\" back\\slash /", strlen("Grüße, 日本 🙂 \"quoted\" back\\slash /")),
	   "UTF-8, quotes, a backslash and a slash");

	wa_jb_key(&jb, "botConfig");
	wa_jb_raw(&jb, "1", 1);
	is_str((jb.buf[jb.len] = '\0', jb.buf), "\"botConfig\":1", "a key and its colon");
	wa_jb_free(&jb);

	one_row(&t, 8, kinds, vals);
	wa_jb_raw(&jb, "[", 1);
	for (int c = 0; c < 7; c++) {
		wa_jb_cell(&jb, &t, 0, c);
		wa_jb_raw(&jb, ",", 1);
	}
	wa_jb_cell_json(&jb, &t, 0, 7, "[]");
	wa_jb_raw(&jb, ",", 1);
	wa_jb_cell_json(&jb, &t, 0, 0, "[]");
	wa_jb_raw(&jb, ",", 1);
	wa_jb_cell_bool(&jb, &t, 0, 1);
	wa_jb_raw(&jb, ",", 1);
	wa_jb_cell_bool(&jb, &t, 0, 0);
	wa_jb_raw(&jb, ",", 1);
	wa_jb_cell(&jb, &t, 0, 99);
	wa_jb_raw(&jb, "]\0", 2);
	is_str(jb.buf, "[null,-42,true,false,\"2026-01-15T08:00:00.123Z\",\"2026-01-15T08:00:00.000Z\",\"a\\\"b\","
	       "[\"x\", 1],[],true,false,null]",
	       "cells by kind: NULL, integer, booleans, times (ISO, milliseconds), string, JSON text, defaults");
	ok(!jb.oom, "no allocation failed");
	wa_jb_free(&jb);
	wa_db_text_free(&t);
	return tap_done();
}
