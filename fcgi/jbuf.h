/* jbuf: a growable buffer that JSON text is written into directly, for
 * responses built straight from a query's rows (fcgi/db.h wa_db_text)
 * instead of through jansson objects.
 *
 * The writer places the commas and braces itself; jbuf escapes strings the
 * way jansson's json_dumps(JSON_COMPACT) does (", \, control characters;
 * '/' and non-ASCII bytes as they are). An allocation failure sets `oom`
 * and makes every later call a no-op: check it once at the end. Not shared
 * between threads; wa_jb_free() releases it. */
#ifndef WA_FCGI_JBUF_H
#define WA_FCGI_JBUF_H

#include "fcgi/db.h"

#include <stddef.h>

struct wa_jbuf {
	char *buf;
	size_t len, cap;
	int oom;
};

void wa_jb_free(struct wa_jbuf *jb);
/* Bytes as they are. */
void wa_jb_raw(struct wa_jbuf *jb, const char *s, size_t n);
/* A NUL-terminated literal as it is. */
void wa_jb_lit(struct wa_jbuf *jb, const char *s);
/* A JSON string of the n bytes at s, quoted and escaped. */
void wa_jb_str(struct wa_jbuf *jb, const char *s, size_t n);
/* A member name and its colon, `"k":`: k must need no escaping (the
 * column labels and names of our own statements and code). */
void wa_jb_key(struct wa_jbuf *jb, const char *k);
/* Value of row, col of t in its column's JSON form (as wa_db_query() maps
 * it): null, a number, true/false, an ISO time string or a string. A
 * column that is not there writes null. */
void wa_jb_cell(struct wa_jbuf *jb, const struct wa_db_text *t, size_t row, int col);
/* The value as a boolean (anything but a leading '0'; NULL is false). */
void wa_jb_cell_bool(struct wa_jbuf *jb, const struct wa_db_text *t, size_t row, int col);
/* The value, JSON text the database checked (a JSON_VALID column), as it
 * is; `def` when NULL or empty. */
void wa_jb_cell_json(struct wa_jbuf *jb, const struct wa_db_text *t, size_t row, int col, const char *def);

#endif
