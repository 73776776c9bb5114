/* test_multipart: the multipart/form-data parser (fcgi/multipart.c).
 *
 * A table of good bodies, each with every expected part (name, filename,
 * Content-Type, data byte for byte, data pointing into the body), a table of
 * bad bodies with the reason each must give, generated bodies at the caps
 * (parts, header block, field sizes: one under passes, one over fails), and
 * boundary extraction from Content-Type header values. */
#include "fcgi/multipart.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* String literals keep their length, NULs included. */
#define BODY(s) .body = (s), .len = sizeof(s) - 1
#define DATA(s) .data = (s), .dlen = sizeof(s) - 1

struct want_part {
	const char *name, *filename, *ctype, *data;
	size_t dlen;
};

struct good_case {
	const char *label, *boundary, *body;
	size_t len;
	int nparts;
	struct want_part p[4];
};

static const struct good_case goods[] = {
	{ "one file (curl)", "------------------------d74496d66958873e",
	  BODY("--------------------------d74496d66958873e\r\n"
	       "Content-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\n"
	       "Content-Type: image/jpeg\r\n"
	       "\r\n"
	       "JPEGDATA\r\n"
	       "--------------------------d74496d66958873e--\r\n"),
	  1, { { "file", "photo.jpg", "image/jpeg", DATA("JPEGDATA") } } },
	{ "text fields and a file", "XyZ",
	  BODY("--XyZ\r\n"
	       "Content-Disposition: form-data; name=\"chatId\"\r\n"
	       "\r\n"
	       "628123456789@s.whatsapp.net\r\n"
	       "--XyZ\r\n"
	       "Content-Disposition: form-data; name=\"caption\"\r\n"
	       "Content-Type: text/plain; charset=utf-8\r\n"
	       "\r\n"
	       "two\r\nlines \xc3\xa9\r\n"
	       "--XyZ\r\n"
	       "Content-Disposition: form-data; name=\"file\"; filename=\"doc.pdf\"\r\n"
	       "Content-Type: application/pdf\r\n"
	       "\r\n"
	       "%PDF-1.4\r\n"
	       "--XyZ--\r\n"),
	  3, { { "chatId", "", "", DATA("628123456789@s.whatsapp.net") },
	       { "caption", "", "text/plain; charset=utf-8", DATA("two\r\nlines \xc3\xa9") },
	       { "file", "doc.pdf", "application/pdf", DATA("%PDF-1.4") } } },
	{ "binary data: NUL, lone CR/LF, boundary-like bytes", "XyZ",
	  BODY("--XyZ\r\n"
	       "Content-Disposition: form-data; name=\"file\"; filename=\"b.bin\"\r\n"
	       "Content-Type: application/octet-stream\r\n"
	       "\r\n"
	       "\x00\x01\r\r\n\n\r--XyZ\r\n"    /* CR then --XyZ: not a delimiter */
	       "a\n--XyZ--\r\n"                  /* bare LF then --XyZ in CRLF mode */
	       "x--XyZ not at a line start\r\n"  /* no CRLF before it */
	       "\r\n--XyY\r\n"                   /* different last character */
	       "\r\n--Xy\x00Z\r\n"               /* NUL inside */
	       "\r\n-XyZ\r\n\xff\xfe\x00\r"
	       "\r\n--XyZ--\r\n"),
	  1, { { "file", "b.bin", "application/octet-stream",
		 DATA("\x00\x01\r\r\n\n\r--XyZ\r\n"
		      "a\n--XyZ--\r\n"
		      "x--XyZ not at a line start\r\n"
		      "\r\n--XyY\r\n"
		      "\r\n--Xy\x00Z\r\n"
		      "\r\n-XyZ\r\n\xff\xfe\x00\r") } } },
	{ "boundary with every special bchar and spaces", "'()+_,-./:=? x",
	  BODY("--'()+_,-./:=? x\r\n"
	       "Content-Disposition: form-data; name=a\r\n"
	       "\r\n"
	       "1\r\n"
	       "--'()+_,-./:=? x--"),
	  1, { { "a", "", "", DATA("1") } } },
	{ "LF-only line endings", "bnd",
	  BODY("--bnd\n"
	       "Content-Disposition: form-data; name=\"t\"\n"
	       "\n"
	       "hello\r\n"
	       "--bnd\n"
	       "Content-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\n"
	       "Content-Type: text/plain\n"
	       "\n"
	       "a\nb\n"
	       "--bnd--\n"),
	  2, { { "t", "", "", DATA("hello\r") }, /* the CR is data in LF mode */
	       { "f", "x.txt", "text/plain", DATA("a\nb") } } },
	{ "CRLF body with LF-only header lines", "bnd",
	  BODY("--bnd\r\n"
	       "Content-Disposition: form-data; name=\"t\"\n"
	       "Content-Type: text/plain\n"
	       "\n"
	       "v\r\n"
	       "--bnd--"),
	  1, { { "t", "", "text/plain", DATA("v") } } },
	{ "preamble and epilogue ignored", "sep",
	  BODY("This is the preamble. --sep is not at a line start.\r\n"
	       "x--sep\r\n"
	       "--sep\r\n"
	       "Content-Disposition: form-data; name=\"a\"\r\n"
	       "\r\n"
	       "A\r\n"
	       "--sep--\r\n"
	       "This is the epilogue.\r\n--sep\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nB\r\n--sep--\r\n"),
	  1, { { "a", "", "", DATA("A") } } },
	{ "filename*=UTF-8'' wins over filename", "b",
	  BODY("--b\r\n"
	       "Content-Disposition: form-data; name=\"file\"; filename=\"EUR rates.txt\"; "
	       "filename*=UTF-8''%e2%82%AC%20rates.txt\r\n"
	       "\r\n"
	       "x\r\n"
	       "--b--\r\n"),
	  1, { { "file", "\xe2\x82\xac rates.txt", "", DATA("x") } } },
	{ "filename* before filename, ISO-8859-1 with language", "b",
	  BODY("--b\r\n"
	       "Content-Disposition: form-data; filename*=iso-8859-1'en'%A3%20rate.txt; name=\"f\"; filename=\"x\"\r\n"
	       "\r\n"
	       "\r\n"
	       "--b--\r\n"),
	  1, { { "f", "\xc2\xa3 rate.txt", "", DATA("") } } },
	{ "path stripped from filenames", "b",
	  BODY("--b\r\n"
	       "Content-Disposition: form-data; name=\"a\"; filename=\"../../etc/passwd\"\r\n\r\n1\r\n"
	       "--b\r\n"
	       "Content-Disposition: form-data; name=\"b\"; filename=\"C:\\x\\y.png\"\r\n\r\n2\r\n"
	       "--b\r\n"
	       "Content-Disposition: form-data; name=\"c\"; filename=\"C:\\\\x\\\\z.png\"\r\n\r\n3\r\n"
	       "--b\r\n"
	       "Content-Disposition: form-data; name=\"d\"; filename*=UTF-8''..%2F..%5Cw.gif\r\n\r\n4\r\n"
	       "--b--"),
	  4, { { "a", "passwd", "", DATA("1") }, { "b", "y.png", "", DATA("2") },
	       { "c", "z.png", "", DATA("3") }, { "d", "w.gif", "", DATA("4") } } },
	{ "escaped quotes, odd spacing, case-insensitive names", "b",
	  BODY("--b \t\r\n"
	       "content-disposition:FORM-DATA ;NAME = \"say \\\"hi\\\"\" ; FileName=\"a\\\"b;c.txt\";\r\n"
	       "CONTENT-TYPE:   text/csv  \r\n"
	       "X-Other: ignored; name=\"nope\"\r\n"
	       "Content-Transfer-Encoding: binary\r\n"
	       "\r\n"
	       "q\r\n"
	       "--b--"),
	  1, { { "say \"hi\"", "a\"b;c.txt", "text/csv", DATA("q") } } },
	{ "folded header line", "b",
	  BODY("--b\r\n"
	       "Content-Disposition: form-data;\r\n"
	       "\tname=\"folded\";\r\n"
	       "  filename=\"f.txt\"\r\n"
	       "\r\n"
	       "z\r\n"
	       "--b--"),
	  1, { { "folded", "f.txt", "", DATA("z") } } },
	{ "empty data both ways, empty filename", "b",
	  BODY("--b\r\n"
	       "Content-Disposition: form-data; name=\"e1\"\r\n"
	       "\r\n"
	       "--b\r\n"
	       "Content-Disposition: form-data; name=\"e2\"; filename=\"\"\r\n"
	       "Content-Type: application/octet-stream\r\n"
	       "\r\n"
	       "\r\n"
	       "--b--"),
	  2, { { "e1", "", "", DATA("") }, { "e2", "", "application/octet-stream", DATA("") } } },
	{ "same name twice keeps both, in order", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nfirst\r\n"
	       "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nsecond\r\n--b--"),
	  2, { { "x", "", "", DATA("first") }, { "x", "", "", DATA("second") } } },
};

struct bad_case {
	const char *label, *boundary, *body;
	size_t len;
	const char *why;
};

static const struct bad_case bads[] = {
	{ "missing final boundary (ends in data)", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ndata"), "missing final boundary" },
	{ "missing final boundary (delimiter without --)", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ndata\r\n--b"), "missing final boundary" },
	{ "missing final boundary (a new part never closed)", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nd\r\n--b\r\n"), "truncated part headers" },
	{ "missing final boundary (half of --)", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nd\r\n--b-"), "missing final boundary" },
	{ "truncated headers", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Ty"), "truncated part headers" },
	{ "headers without blank line", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n"), "truncated part headers" },
	{ "no Content-Disposition", "b",
	  BODY("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--"), "part without Content-Disposition" },
	{ "no headers at all", "b", BODY("--b\r\n\r\nx\r\n--b--"), "part without Content-Disposition" },
	{ "Content-Disposition twice", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nx\r\n--b--"),
	  "duplicate Content-Disposition" },
	{ "Content-Type twice", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\nx\r\n--b--"),
	  "duplicate Content-Type" },
	{ "disposition not form-data", "b",
	  BODY("--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--"),
	  "Content-Disposition is not form-data" },
	{ "no name", "b",
	  BODY("--b\r\nContent-Disposition: form-data; filename=\"a.txt\"\r\n\r\nx\r\n--b--"), "part without a name" },
	{ "name twice", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nx\r\n--b--"), "duplicate name parameter" },
	{ "filename twice", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a; filename=x; filename=y\r\n\r\nx\r\n--b--"),
	  "duplicate filename parameter" },
	{ "unterminated quoted name", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"abc\r\n\r\nx\r\n--b--"), "bad or too long field name" },
	{ "garbage between parameters", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"a\" junk\r\n\r\nx\r\n--b--"), "malformed Content-Disposition" },
	{ "parameter without value", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\r\n\r\nx\r\n--b--"), "bad or too long field name" },
	{ "header without colon", "b",
	  BODY("--b\r\nContent-Disposition form-data; name=a\r\n\r\nx\r\n--b--"), "malformed part header" },
	{ "space before colon", "b",
	  BODY("--b\r\nContent-Disposition : form-data; name=a\r\n\r\nx\r\n--b--"), "malformed part header" },
	{ "fold without a header", "b",
	  BODY("--b\r\n name=a\r\n\r\nx\r\n--b--"), "folded line without a header" },
	{ "stray CR in a header", "b",
	  BODY("--b\r\nContent-Disposition: form-data;\r name=a\r\n\r\nx\r\n--b--"), "stray CR or NUL in part header" },
	{ "NUL in a header", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a\x00\r\n\r\nx\r\n--b--"), "stray CR or NUL in part header" },
	{ "control character in a header", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a\x01\r\n\r\nx\r\n--b--"), "control character in part header" },
	{ "base64 transfer encoding", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a\r\nContent-Transfer-Encoding: base64\r\n\r\neA==\r\n--b--"),
	  "unsupported Content-Transfer-Encoding" },
	{ "filename ..", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a; filename=\"x/..\"\r\n\r\nx\r\n--b--"), "bad filename" },
	{ "filename that is only a directory", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a; filename=\"dir/\"\r\n\r\nx\r\n--b--"), "bad filename" },
	{ "filename not UTF-8", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a; filename=\"\xe9t\xe9.txt\"\r\n\r\nx\r\n--b--"),
	  "bad filename encoding" },
	{ "overlong UTF-8 in a name", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=\"\xc0\xaf\"\r\n\r\nx\r\n--b--"), "bad field name encoding" },
	{ "filename* unknown charset", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a; filename*=KOI8-R''%C1\r\n\r\nx\r\n--b--"),
	  "unsupported filename* charset" },
	{ "filename* bad percent escape", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a; filename*=UTF-8''a%2\r\n\r\nx\r\n--b--"), "malformed filename*" },
	{ "filename* without quotes", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a; filename*=a.txt\r\n\r\nx\r\n--b--"), "malformed filename*" },
	{ "filename* with %00", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a; filename*=UTF-8''a%00.txt\r\n\r\nx\r\n--b--"),
	  "bad filename encoding" },
	{ "filename* decoding to a newline", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a; filename*=UTF-8''a%0A.txt\r\n\r\nx\r\n--b--"),
	  "bad filename encoding" },
	{ "filename* invalid UTF-8", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a; filename*=UTF-8''%ED%A0%80\r\n\r\nx\r\n--b--"),
	  "bad filename encoding" },
	{ "junk after boundary", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--bc\r\n--b--"), "junk after boundary" },
	{ "junk after first boundary", "b",
	  BODY("--b x\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--"), "junk after boundary" },
	{ "no boundary in body", "b", BODY("Content-Disposition: form-data; name=a\r\n\r\nx"), "no boundary in body" },
	{ "boundary only inside a line", "b", BODY("x--b\r\n"), "no boundary in body" },
	{ "empty body", "b", BODY(""), "no boundary in body" },
	{ "no parts", "b", BODY("--b--\r\n"), "no parts" },
	{ "first boundary at the very end", "b", BODY("--b"), "missing final boundary" },
	{ "first boundary then half a CRLF", "b", BODY("--b\r"), "missing final boundary" },
	{ "CRLF mode needs CRLF delimiters", "b",
	  BODY("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\n--b--"), "missing final boundary" },
	{ "empty boundary", "", BODY("--\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n----"), "bad boundary" },
	{ "boundary too long (71)", "12345678901234567890123456789012345678901234567890123456789012345678901",
	  BODY("--12345678901234567890123456789012345678901234567890123456789012345678901\r\n"
	       "Content-Disposition: form-data; name=a\r\n\r\nx\r\n"
	       "--12345678901234567890123456789012345678901234567890123456789012345678901--"), "bad boundary" },
	{ "boundary with an illegal character", "a@b",
	  BODY("--a@b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--a@b--"), "bad boundary" },
	{ "boundary ending in a space", "ab ",
	  BODY("--ab \r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--ab --"), "bad boundary" },
};

/* Checks every field of a parse result against the expectations. */
static void check_good(const struct good_case *g)
{
	struct wa_multipart *mp = calloc(1, sizeof *mp);
	const char *why = "unset";
	char label[256];
	int rc;

	if (!mp)
		abort();
	rc = wa_mp_parse(g->body, g->len, g->boundary, mp, &why);
	snprintf(label, sizeof label, "%s: parses", g->label);
	if (!tap_ok(rc == 0, __FILE__, __LINE__, label))
		printf("#   why: %s\n", why);
	snprintf(label, sizeof label, "%s: %d parts", g->label, g->nparts);
	is_int(mp->nparts, g->nparts, label);
	for (int i = 0; i < g->nparts && i < mp->nparts; i++) {
		const struct wa_mp_part *p = &mp->parts[i];
		const struct want_part *w = &g->p[i];

		snprintf(label, sizeof label, "%s: part %d name", g->label, i);
		is_str(p->name, w->name, label);
		snprintf(label, sizeof label, "%s: part %d filename", g->label, i);
		is_str(p->filename, w->filename, label);
		snprintf(label, sizeof label, "%s: part %d content type", g->label, i);
		is_str(p->content_type, w->ctype, label);
		snprintf(label, sizeof label, "%s: part %d data length", g->label, i);
		is_int(p->len, w->dlen, label);
		snprintf(label, sizeof label, "%s: part %d data bytes, inside the body", g->label, i);
		ok(p->len == w->dlen && p->data >= g->body && p->data + p->len <= g->body + g->len &&
		   memcmp(p->data, w->data, w->dlen) == 0, label);
	}
	free(mp);
}

static void check_bad(const struct bad_case *b)
{
	struct wa_multipart *mp = calloc(1, sizeof *mp);
	const char *why = NULL;
	char label[256];
	int rc;

	if (!mp)
		abort();
	rc = wa_mp_parse(b->body, b->len, b->boundary, mp, &why);
	snprintf(label, sizeof label, "bad: %s: rejected as '%s'", b->label, b->why);
	if (!tap_ok(rc == -1 && why && strcmp(why, b->why) == 0, __FILE__, __LINE__, label))
		printf("#   rc %d, why '%s'\n", rc, why ? why : "(null)");
	free(mp);
}

/* ---- generated bodies at the caps ---------------------------------- */

struct sbuf {
	char *p;
	size_t n, cap;
};

static void put(struct sbuf *s, const char *data, size_t n)
{
	if (s->n + n > s->cap) {
		s->cap = (s->n + n) * 2 + 64;
		s->p = realloc(s->p, s->cap);
		if (!s->p)
			abort();
	}
	memcpy(s->p + s->n, data, n);
	s->n += n;
}

static void puts_(struct sbuf *s, const char *str)
{
	put(s, str, strlen(str));
}

static void putrep(struct sbuf *s, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(s, &c, 1);
}

/* rc and reason of parsing s with boundary "b". */
static int parse_sbuf(const struct sbuf *s, struct wa_multipart *mp, const char **why)
{
	*why = "";
	return wa_mp_parse(s->p, s->n, "b", mp, why);
}

static void test_part_cap(struct wa_multipart *mp)
{
	for (int total = WA_MP_MAX_PARTS; total <= WA_MP_MAX_PARTS + 1; total++) {
		struct sbuf s = { 0 };
		const char *why;
		int rc, all = 1;
		char line[96];

		for (int i = 0; i < total; i++) {
			snprintf(line, sizeof line, "--b\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv%d\r\n", i, i);
			puts_(&s, line);
		}
		puts_(&s, "--b--\r\n");
		rc = parse_sbuf(&s, mp, &why);
		if (total == WA_MP_MAX_PARTS) {
			is_int(rc, 0, "exactly WA_MP_MAX_PARTS parts parse");
			is_int(mp->nparts, WA_MP_MAX_PARTS, "... all of them");
			for (int i = 0; i < mp->nparts; i++) {
				char name[16], val[16];

				snprintf(name, sizeof name, "f%d", i);
				snprintf(val, sizeof val, "v%d", i);
				all &= strcmp(mp->parts[i].name, name) == 0 && mp->parts[i].len == strlen(val) &&
				       memcmp(mp->parts[i].data, val, strlen(val)) == 0;
			}
			ok(all, "... each with its name and value");
			ok(wa_mp_get(mp, "f31") == &mp->parts[31], "wa_mp_get finds the last part");
			ok(wa_mp_get(mp, "f0") == &mp->parts[0], "wa_mp_get finds the first part");
			ok(wa_mp_get(mp, "f32") == NULL, "wa_mp_get: absent name is NULL");
			ok(wa_mp_get(NULL, "f0") == NULL && wa_mp_get(mp, NULL) == NULL, "wa_mp_get accepts NULL");
		} else {
			ok(rc == -1 && strcmp(why, "too many parts") == 0, "WA_MP_MAX_PARTS + 1 parts: too many parts");
		}
		free(s.p);
	}
}

/* A header block of exactly `size` bytes (from after the boundary line to
 * the end of the blank line), padded with an ignored header. */
static void header_block(struct sbuf *s, size_t size, int lf)
{
	const char *cd = lf ? "Content-Disposition: form-data; name=\"big\"\n" : "Content-Disposition: form-data; name=\"big\"\r\n";
	const char *pad = "X-Pad: ";
	const char *eol = lf ? "\n" : "\r\n";
	size_t fixed = strlen(cd) + strlen(pad) + 2 * strlen(eol);

	puts_(s, lf ? "--b\n" : "--b\r\n");
	puts_(s, cd);
	puts_(s, pad);
	putrep(s, 'p', size - fixed);
	puts_(s, eol);
	puts_(s, eol);
	puts_(s, "data");
	puts_(s, lf ? "\n--b--" : "\r\n--b--");
}

static void test_header_cap(struct wa_multipart *mp)
{
	for (int lf = 0; lf <= 1; lf++) {
		struct sbuf s = { 0 };
		const char *why;
		int rc;

		header_block(&s, 8192, lf);
		rc = parse_sbuf(&s, mp, &why);
		ok(rc == 0 && mp->nparts == 1 && mp->parts[0].len == 4 && memcmp(mp->parts[0].data, "data", 4) == 0,
		   lf ? "8192-byte header block parses (LF)" : "8192-byte header block parses (CRLF)");
		s.n = 0;
		header_block(&s, 8193, lf);
		rc = parse_sbuf(&s, mp, &why);
		ok(rc == -1 && strcmp(why, "part header block too long") == 0,
		   lf ? "8193-byte header block: too long (LF)" : "8193-byte header block: too long (CRLF)");
		free(s.p);
	}
	{
		/* A never-ending header: the cap must trigger, not the end of the body. */
		struct sbuf s = { 0 };
		const char *why;

		puts_(&s, "--b\r\nContent-Disposition: form-data; name=a\r\nX: ");
		putrep(&s, 'y', 100000);
		ok(parse_sbuf(&s, mp, &why) == -1 && strcmp(why, "part header block too long") == 0,
		   "100 KB header line: too long");
		free(s.p);
	}
}

/* One part whose Content-Disposition carries `param`="<n x c>" (or the
 * Content-Type header when param is NULL). */
static int field_of_size(struct wa_multipart *mp, const char *param, char c, size_t n, const char **why)
{
	struct sbuf s = { 0 };
	int rc;

	puts_(&s, "--b\r\nContent-Disposition: form-data; name=");
	if (param && strcmp(param, "name") == 0) {
		puts_(&s, "\"");
		putrep(&s, c, n);
		puts_(&s, "\"");
	} else {
		puts_(&s, "a");
	}
	if (param && strcmp(param, "name") != 0) {
		puts_(&s, "; ");
		puts_(&s, param);
		puts_(&s, "=\"");
		putrep(&s, c, n);
		puts_(&s, "\"");
	}
	puts_(&s, "\r\n");
	if (!param) {
		puts_(&s, "Content-Type: ");
		putrep(&s, c, n);
		puts_(&s, "\r\n");
	}
	puts_(&s, "\r\nx\r\n--b--");
	rc = parse_sbuf(&s, mp, why);
	free(s.p);
	return rc;
}

static void test_field_caps(struct wa_multipart *mp)
{
	const char *why;
	struct sbuf s = { 0 };

	ok(field_of_size(mp, "name", 'n', 127, &why) == 0 && strlen(mp->parts[0].name) == 127,
	   "127-byte name fits");
	ok(field_of_size(mp, "name", 'n', 128, &why) == -1 && strcmp(why, "bad or too long field name") == 0,
	   "128-byte name: error, not truncated");
	ok(field_of_size(mp, "filename", 'f', 255, &why) == 0 && strlen(mp->parts[0].filename) == 255,
	   "255-byte filename fits");
	ok(field_of_size(mp, "filename", 'f', 256, &why) == -1 && strcmp(why, "filename too long") == 0,
	   "256-byte filename: error, not truncated");
	ok(field_of_size(mp, "filename", 'f', 5000, &why) == -1 && strcmp(why, "bad or too long filename") == 0,
	   "5000-byte raw filename: error");
	ok(field_of_size(mp, NULL, 't', 127, &why) == 0 && strlen(mp->parts[0].content_type) == 127,
	   "127-byte Content-Type fits");
	ok(field_of_size(mp, NULL, 't', 128, &why) == -1 && strcmp(why, "part Content-Type too long") == 0,
	   "128-byte Content-Type: error, not truncated");

	/* A long path whose last component fits is fine. */
	puts_(&s, "--b\r\nContent-Disposition: form-data; name=a; filename=\"");
	for (int i = 0; i < 40; i++)
		puts_(&s, "verylongdirectoryname/");
	puts_(&s, "end.txt\"\r\n\r\nx\r\n--b--");
	ok(parse_sbuf(&s, mp, &why) == 0 && strcmp(mp->parts[0].filename, "end.txt") == 0,
	   "887-byte path with a short last component: kept last component");
	free(s.p);
}

static void test_args(struct wa_multipart *mp)
{
	const char *why = NULL;

	ok(wa_mp_parse(NULL, 0, "b", mp, &why) == -1 && why, "NULL body: error");
	ok(wa_mp_parse("--b", 3, NULL, mp, &why) == -1, "NULL boundary: error");
	ok(wa_mp_parse("--b", 3, "b", NULL, &why) == -1, "NULL result: error");
	ok(wa_mp_parse("--b", 3, "b", mp, NULL) == -1, "NULL why is allowed");
}

/* ---- boundary from Content-Type ------------------------------------- */

struct ct_case {
	const char *ct, *want; /* want NULL: must fail */
};

static const struct ct_case cts[] = {
	{ "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW", "----WebKitFormBoundary7MA4YWxkTrZu0gW" },
	{ "multipart/form-data; boundary=------------------------d74496d66958873e", "------------------------d74496d66958873e" },
	{ "Multipart/Form-Data;BOUNDARY=abc", "abc" },
	{ "multipart/form-data; boundary=\"a b:c=d?\"", "a b:c=d?" },
	{ "multipart/form-data; charset=utf-8; boundary=\"q\"; x=\"y;z\"", "q" },
	{ "multipart/form-data ; boundary = abc ; charset=\"utf-8\"", "abc" },
	{ "  multipart/form-data;boundary=abc;", "abc" },
	{ "multipart/form-data; boundary=\"===============1234567890==\"", "===============1234567890==" },
	{ "multipart/form-data; boundary=1234567890123456789012345678901234567890123456789012345678901234567890",
	  "1234567890123456789012345678901234567890123456789012345678901234567890" },
	{ "multipart/form-data; boundary=12345678901234567890123456789012345678901234567890123456789012345678901", NULL },
	{ "multipart/form-data; boundary=", NULL },
	{ "multipart/form-data; boundary=\"\"", NULL },
	{ "multipart/form-data", NULL },
	{ "multipart/form-data; charset=utf-8", NULL },
	{ "multipart/mixed; boundary=abc", NULL },
	{ "application/json", NULL },
	{ "multipart/form-datax; boundary=abc", NULL },
	{ "multipart/form-data; boundary=abc; boundary=abc", NULL },
	{ "multipart/form-data; boundary=\"abc ", NULL },
	{ "multipart/form-data; boundary=\"abc \"", NULL },
	{ "multipart/form-data; boundary=ab@c", NULL },
	{ "multipart/form-data; boundary=\"a\\\"b\"", NULL },
	{ "multipart/form-data; boundary=abc def", NULL },
	{ "multipart/form-data; boundary", NULL },
	{ "multipart/form-data; =abc", NULL },
	{ "multipart/form-data boundary=abc", NULL },
	{ "", NULL },
};

static void test_boundary(void)
{
	char out[71], label[256];

	for (size_t i = 0; i < sizeof cts / sizeof cts[0]; i++) {
		int rc = wa_mp_boundary(cts[i].ct, out, sizeof out);

		if (cts[i].want) {
			snprintf(label, sizeof label, "boundary of '%s'", cts[i].ct);
			if (!tap_ok(rc == 0 && strcmp(out, cts[i].want) == 0, __FILE__, __LINE__, label))
				printf("#   rc %d, got '%s'\n", rc, out);
		} else {
			snprintf(label, sizeof label, "no boundary in '%s'", cts[i].ct);
			ok(rc == -1 && out[0] == '\0', label);
		}
	}
	ok(wa_mp_boundary("multipart/form-data; boundary=abcd", out, 4) == -1, "output buffer too small: error");
	ok(wa_mp_boundary("multipart/form-data; boundary=abcd", out, 5) == 0 && strcmp(out, "abcd") == 0,
	   "output buffer just big enough");
	ok(wa_mp_boundary(NULL, out, sizeof out) == -1, "NULL header: error");
	ok(wa_mp_boundary("multipart/form-data; boundary=a", NULL, 0) == -1, "NULL output: error");
}

/* The boundary a header gives must be one the parser accepts. */
static void test_roundtrip(struct wa_multipart *mp)
{
	char b[71];
	static const char body[] = "--a b\r\nContent-Disposition: form-data; name=q\r\n\r\nv\r\n--a b--";
	const char *why;

	ok(wa_mp_boundary("multipart/form-data; boundary=\"a b\"", b, sizeof b) == 0 &&
	   wa_mp_parse(body, sizeof body - 1, b, mp, &why) == 0 && mp->nparts == 1 &&
	   mp->parts[0].len == 1 && mp->parts[0].data[0] == 'v', "header boundary parses its body");
}

int main(void)
{
	struct wa_multipart *mp = calloc(1, sizeof *mp);

	if (!mp)
		abort();
	for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++)
		check_good(&goods[i]);
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
		check_bad(&bads[i]);
	test_part_cap(mp);
	test_header_cap(mp);
	test_field_caps(mp);
	test_args(mp);
	test_boundary();
	test_roundtrip(mp);
	free(mp);
	return tap_done();
}
