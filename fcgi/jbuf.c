/* jbuf: JSON text written into a growable buffer (see jbuf.h). */
#include "fcgi/jbuf.h"

#include <stdlib.h>
#include <string.h>

void wa_jb_free(struct wa_jbuf *jb)
{
	free(jb->buf);
	memset(jb, 0, sizeof *jb);
}

static int reserve(struct wa_jbuf *jb, size_t n)
{
	size_t cap;
	char *b;

	if (jb->oom)
		return -1;
	if (jb->cap - jb->len >= n)
		return 0;
	cap = jb->cap ? jb->cap : 4096;
	while (cap - jb->len < n) {
		if (cap > ((size_t)-1) / 2) {
			jb->oom = 1;
			return -1;
		}
		cap *= 2;
	}
	b = realloc(jb->buf, cap);
	if (!b) {
		jb->oom = 1;
		return -1;
	}
	jb->buf = b;
	jb->cap = cap;
	return 0;
}

void wa_jb_raw(struct wa_jbuf *jb, const char *s, size_t n)
{
	if (reserve(jb, n) < 0)
		return;
	memcpy(jb->buf + jb->len, s, n);
	jb->len += n;
}

void wa_jb_lit(struct wa_jbuf *jb, const char *s)
{
	wa_jb_raw(jb, s, strlen(s));
}

/* Bytes a JSON string cannot hold as they are: ", \ and the controls. */
static int needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

void wa_jb_str(struct wa_jbuf *jb, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o;

	/* the worst case: every byte a \u00XX */
	if (n > ((size_t)-1 - 2) / 6 || reserve(jb, n * 6 + 2) < 0) {
		jb->oom = 1;
		return;
	}
	o = jb->buf + jb->len;
	*o++ = '"';
	for (size_t i = 0; i < n;) {
		size_t run = i;
		unsigned char c;

		/* copy the run of bytes that need nothing in one go */
		while (run < n && !needs_escape((unsigned char)s[run]))
			run++;
		memcpy(o, s + i, run - i);
		o += run - i;
		if (run == n)
			break;
		c = (unsigned char)s[run];
		i = run + 1;
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o++ = '"';
	jb->len = (size_t)(o - jb->buf);
}

void wa_jb_key(struct wa_jbuf *jb, const char *k)
{
	size_t n = strlen(k);

	if (reserve(jb, n + 3) < 0)
		return;
	jb->buf[jb->len++] = '"';
	memcpy(jb->buf + jb->len, k, n);
	jb->len += n;
	jb->buf[jb->len++] = '"';
	jb->buf[jb->len++] = ':';
}

void wa_jb_cell(struct wa_jbuf *jb, const struct wa_db_text *t, size_t row, int col)
{
	unsigned long n = 0;
	const char *v = wa_db_text_val(t, row, col, &n);
	char iso[32];

	if (!v) {
		wa_jb_raw(jb, "null", 4);
		return;
	}
	switch (t->kinds[col]) {
	case WA_DB_K_BOOL:
		wa_jb_lit(jb, v[0] != '0' ? "true" : "false");
		break;
	case WA_DB_K_INT:
	case WA_DB_K_REAL:
		if (n)
			wa_jb_raw(jb, v, n);
		else
			wa_jb_raw(jb, "0", 1);
		break;
	case WA_DB_K_TIME:
		if (n < 19) {
			wa_jb_str(jb, v, n);
			break;
		}
		n = (unsigned long)wa_db_iso_time(v, n, iso);
		wa_jb_str(jb, iso, n);
		break;
	default:
		wa_jb_str(jb, v, n);
	}
}

void wa_jb_cell_bool(struct wa_jbuf *jb, const struct wa_db_text *t, size_t row, int col)
{
	const char *v = wa_db_text_val(t, row, col, NULL);

	wa_jb_lit(jb, v && v[0] && v[0] != '0' ? "true" : "false");
}

void wa_jb_cell_json(struct wa_jbuf *jb, const struct wa_db_text *t, size_t row, int col, const char *def)
{
	unsigned long n = 0;
	const char *v = wa_db_text_val(t, row, col, &n);

	if (!v || !n)
		wa_jb_lit(jb, def);
	else
		wa_jb_raw(jb, v, n);
}
