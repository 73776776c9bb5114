/* multipart: multipart/form-data parser (RFC 7578 over RFC 2046), see multipart.h.
 *
 * Shape of a body, as accepted here:
 *
 *   [preamble NL] "--" boundary LWSP* NL
 *   headers NL                       (one part; repeated, separated by
 *   data                              NL "--" boundary LWSP* NL)
 *   NL "--" boundary "--" [epilogue]
 *
 * NL is CRLF, or a bare LF when the first boundary line ends in a bare LF
 * (some clients write LF-only bodies); header lines accept either. Part data
 * ends at the first NL "--" boundary, found with memmem, so data may hold any
 * bytes (NUL, lone CR/LF) except that delimiter, which RFC 2046 forbids
 * inside a part. A delimiter followed by anything but "--" or LWSP* NL is an
 * error rather than data: the sender broke the one rule that makes the body
 * unambiguous, and guessing would let two parsers disagree about it.
 *
 * Everything sized by the input is capped (parts, header block, each field);
 * exceeding a cap is an error, never a truncation. */
#include "fcgi/multipart.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#define MP_HEADER_MAX 8192  /* one part's header block, blank line included */
#define MP_BOUNDARY_MAX 70  /* RFC 2046 section 5.1.1 */
#define MP_RAW_FILENAME_MAX 1024 /* filename before its path is stripped */

/* ---- character classes --------------------------------------------- */

/* RFC 2046 bcharsnospace. */
static int is_bchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != 0 && strchr("'()+_,-./:=?", c) != NULL;
}

/* RFC 2045 token character (parameter and header names, media types). */
static int is_tchar(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* A legal boundary: 1..70 bchars or spaces, not ending in a space. */
static int boundary_ok(const char *b, size_t n)
{
	if (n < 1 || n > MP_BOUNDARY_MAX || b[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_bchar((unsigned char)b[i]) && b[i] != ' ')
			return 0;
	return 1;
}

/* Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* No control characters (C0, DEL) in a decoded name or filename. */
static int no_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- parameter lists: `; name=value` with token or quoted values ------ */

struct cursor {
	const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && is_ws((unsigned char)*c->p))
		c->p++;
}

/* A token at the cursor; 0 when there is none. */
static size_t take_token(struct cursor *c, const char **tok)
{
	*tok = c->p;
	while (c->p < c->end && is_tchar((unsigned char)*c->p))
		c->p++;
	return (size_t)(c->p - *tok);
}

/* A parameter value at the cursor: a quoted-string or a bare run of
 * characters up to ';' or white space. Copies it, unquoted and
 * NUL-terminated, into out[outcap] (out may be NULL to just skip it) and
 * stores its length in *outlen.
 *
 * In a quoted string a backslash escapes only '"' and '\\'; any other
 * backslash is literal. Strict RFC 822 quoted-pair would turn a Windows path
 * that old browsers send unescaped ("C:\x\y.png") into "C:xy.png", and no
 * client escapes other characters on purpose.
 * Returns 0, or -1 when malformed (unterminated quote, empty bare value,
 * control character) or when it does not fit. */
static int take_value(struct cursor *c, char *out, size_t outcap, size_t *outlen)
{
	size_t n = 0;

	if (c->p < c->end && *c->p == '"') {
		c->p++;
		for (;;) {
			unsigned char ch;

			if (c->p >= c->end)
				return -1;
			ch = (unsigned char)*c->p++;
			if (ch == '"')
				break;
			if (ch == '\\' && c->p < c->end && (*c->p == '"' || *c->p == '\\'))
				ch = (unsigned char)*c->p++;
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return -1;
			if (out) {
				if (n + 1 >= outcap)
					return -1;
				out[n] = (char)ch;
			}
			n++;
		}
	} else {
		while (c->p < c->end && *c->p != ';' && !is_ws((unsigned char)*c->p)) {
			unsigned char ch = (unsigned char)*c->p++;

			if (ch < 0x20 || ch == 0x7f || ch == '"')
				return -1;
			if (out) {
				if (n + 1 >= outcap)
					return -1;
				out[n] = (char)ch;
			}
			n++;
		}
		if (n == 0)
			return -1;
	}
	if (out)
		out[n] = '\0';
	if (outlen)
		*outlen = n;
	return 0;
}

/* Steps to the next parameter: white space, then ';' or the end. Returns
 * 1 when a ';' was consumed, 0 at the end, -1 on anything else. A trailing
 * ';' with nothing after it is tolerated (some clients write one). */
static int next_param(struct cursor *c)
{
	skip_ws(c);
	if (c->p >= c->end)
		return 0;
	if (*c->p != ';')
		return -1;
	c->p++;
	skip_ws(c);
	return c->p < c->end ? 1 : 0;
}

/* "name" "=" at the cursor (white space allowed around '='); the name is
 * returned through *name / *nlen. Returns 0 or -1. */
static int take_param_name(struct cursor *c, const char **name, size_t *nlen)
{
	*nlen = take_token(c, name);
	if (*nlen == 0)
		return -1;
	skip_ws(c);
	if (c->p >= c->end || *c->p != '=')
		return -1;
	c->p++;
	skip_ws(c);
	return 0;
}

static int name_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && strncasecmp(name, want, nlen) == 0;
}

/* ---- Content-Type of the request ------------------------------------ */

int wa_mp_boundary(const char *content_type, char *out, size_t outlen)
{
	struct cursor c;
	const char *tok;
	size_t n, blen = 0;
	char b[MP_BOUNDARY_MAX + 1];
	int have = 0, r;

	if (out && outlen > 0)
		out[0] = '\0';
	if (!content_type || !out)
		return -1;
	c.p = content_type;
	c.end = content_type + strlen(content_type);
	skip_ws(&c);
	n = take_token(&c, &tok);
	if (!name_is(tok, n, "multipart") || c.p >= c.end || *c.p != '/')
		return -1;
	c.p++;
	n = take_token(&c, &tok);
	if (!name_is(tok, n, "form-data"))
		return -1;
	while ((r = next_param(&c)) == 1) {
		const char *name;
		size_t nlen;

		if (take_param_name(&c, &name, &nlen) < 0)
			return -1;
		if (name_is(name, nlen, "boundary")) {
			/* Twice is ambiguous: which one did the sender use? */
			if (have)
				return -1;
			if (take_value(&c, b, sizeof b, &blen) < 0)
				return -1;
			have = 1;
		} else if (take_value(&c, NULL, 0, NULL) < 0) {
			return -1;
		}
	}
	if (r < 0 || !have || !boundary_ok(b, blen) || outlen < blen + 1)
		return -1;
	memcpy(out, b, blen + 1);
	return 0;
}

/* ---- one part's headers --------------------------------------------- */

struct part_state {
	int have_cd, have_ct;
};

/* filename*=charset'lang'pct-encoded (RFC 5987) -> UTF-8 in out[outcap].
 * UTF-8 and US-ASCII are taken as they are, ISO-8859-1 is converted. */
static const char *decode_ext_value(const char *v, size_t vlen, char *out, size_t outcap)
{
	const char *q1 = memchr(v, '\'', vlen), *q2, *p, *end = v + vlen;
	size_t n = 0;
	int latin1, ascii;

	if (!q1 || !(q2 = memchr(q1 + 1, '\'', (size_t)(end - q1 - 1))))
		return "malformed filename*";
	latin1 = name_is(v, (size_t)(q1 - v), "iso-8859-1");
	ascii = name_is(v, (size_t)(q1 - v), "us-ascii");
	if (!latin1 && !ascii && !name_is(v, (size_t)(q1 - v), "utf-8"))
		return "unsupported filename* charset";
	for (p = q2 + 1; p < end; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '%') {
			int hi, lo;

			if (end - p < 3 || (hi = hexval((unsigned char)p[1])) < 0 ||
			    (lo = hexval((unsigned char)p[2])) < 0)
				return "malformed filename*";
			ch = (unsigned char)(hi << 4 | lo);
			p += 2;
		} else if (ch <= 0x20 || ch >= 0x7f || ch == '\'') {
			return "malformed filename*";
		}
		if (ascii && ch >= 0x80)
			return "malformed filename*";
		if (latin1 && ch >= 0x80) {
			if (n + 2 >= outcap)
				return "filename too long";
			out[n++] = (char)(0xc0 | ch >> 6);
			out[n++] = (char)(0x80 | (ch & 0x3f));
			continue;
		}
		if (n + 1 >= outcap)
			return "filename too long";
		out[n++] = (char)ch;
	}
	out[n] = '\0';
	if (strlen(out) != n || !utf8_ok((const unsigned char *)out, n))
		return "bad filename encoding";
	return NULL;
}

/* The part's file name without any directory: everything after the last
 * '/' or '\', so "../../etc/passwd" is "passwd" and "C:\x\y.png" is "y.png".
 * An empty result from a non-empty name ("dir/"), "." and ".." are refused. */
static const char *set_filename(struct wa_mp_part *part, const char *raw)
{
	const char *base = raw;
	size_t n;

	for (const char *s = raw; *s; s++)
		if (*s == '/' || *s == '\\')
			base = s + 1;
	if (!utf8_ok((const unsigned char *)raw, strlen(raw)) || !no_ctl(raw))
		return "bad filename encoding";
	if (raw[0] && (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0))
		return "bad filename";
	n = strlen(base);
	if (n >= sizeof part->filename)
		return "filename too long";
	memcpy(part->filename, base, n + 1);
	return NULL;
}

/* Content-Disposition: form-data; name="..."[; filename="..."][; filename*=...] */
static const char *parse_disposition(const char *v, size_t vlen, struct wa_mp_part *part)
{
	struct cursor c = { v, v + vlen };
	const char *tok;
	char fname[MP_RAW_FILENAME_MAX], fstar[MP_RAW_FILENAME_MAX];
	size_t n;
	int have_name = 0, have_fname = 0, have_fstar = 0, r;
	const char *err;

	n = take_token(&c, &tok);
	if (!name_is(tok, n, "form-data"))
		return "Content-Disposition is not form-data";
	while ((r = next_param(&c)) == 1) {
		const char *name;
		size_t nlen, len;

		if (take_param_name(&c, &name, &nlen) < 0)
			return "malformed Content-Disposition";
		if (name_is(name, nlen, "name")) {
			if (have_name)
				return "duplicate name parameter";
			if (take_value(&c, part->name, sizeof part->name, &len) < 0)
				return "bad or too long field name";
			if (strlen(part->name) != len || !utf8_ok((const unsigned char *)part->name, len) ||
			    !no_ctl(part->name))
				return "bad field name encoding";
			have_name = 1;
		} else if (name_is(name, nlen, "filename")) {
			if (have_fname)
				return "duplicate filename parameter";
			if (take_value(&c, fname, sizeof fname, &len) < 0)
				return "bad or too long filename";
			have_fname = 1;
		} else if (name_is(name, nlen, "filename*")) {
			if (have_fstar)
				return "duplicate filename* parameter";
			if (take_value(&c, fstar, sizeof fstar, &len) < 0)
				return "bad or too long filename*";
			have_fstar = 1;
		} else if (take_value(&c, NULL, 0, NULL) < 0) {
			return "malformed Content-Disposition";
		}
	}
	if (r < 0)
		return "malformed Content-Disposition";
	if (!have_name)
		return "part without a name";
	/* RFC 6266: filename* wins over filename when both are given. */
	if (have_fstar) {
		char dec[MP_RAW_FILENAME_MAX];

		if ((err = decode_ext_value(fstar, strlen(fstar), dec, sizeof dec)) != NULL)
			return err;
		return set_filename(part, dec);
	}
	if (have_fname)
		return set_filename(part, fname);
	return NULL;
}

/* One logical header line (folds already joined), "Name: value". */
static const char *parse_header(const char *line, size_t len, struct wa_mp_part *part, struct part_state *st)
{
	struct cursor c = { line, line + len };
	const char *name, *v, *ve;
	size_t nlen;

	nlen = take_token(&c, &name);
	if (nlen == 0 || c.p >= c.end || *c.p != ':')
		return "malformed part header";
	c.p++;
	skip_ws(&c);
	v = c.p;
	ve = c.end;
	while (ve > v && is_ws((unsigned char)ve[-1]))
		ve--;
	for (const char *s = v; s < ve; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || (unsigned char)*s == 0x7f)
			return "control character in part header";
	if (name_is(name, nlen, "Content-Disposition")) {
		if (st->have_cd)
			return "duplicate Content-Disposition";
		st->have_cd = 1;
		return parse_disposition(v, (size_t)(ve - v), part);
	}
	if (name_is(name, nlen, "Content-Type")) {
		size_t n = (size_t)(ve - v);

		if (st->have_ct)
			return "duplicate Content-Type";
		st->have_ct = 1;
		if (n >= sizeof part->content_type)
			return "part Content-Type too long";
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)v[i] >= 0x7f)
				return "bad part Content-Type";
		memcpy(part->content_type, v, n);
		part->content_type[n] = '\0';
		return NULL;
	}
	if (name_is(name, nlen, "Content-Transfer-Encoding")) {
		/* The data is handed on as it is, so only identity encodings. */
		size_t n = (size_t)(ve - v);

		if (!name_is(v, n, "binary") && !name_is(v, n, "8bit") && !name_is(v, n, "7bit"))
			return "unsupported Content-Transfer-Encoding";
		return NULL;
	}
	return NULL; /* other headers are allowed and ignored */
}

/* Parses the header block at body[*pos..end) into part; on success *pos is
 * just past the blank line that ends it. Folded lines (starting with SP or
 * HT) are joined to the previous one with their white space kept. */
static const char *parse_headers(const char *body, size_t end, size_t *pos, struct wa_mp_part *part)
{
	char line[MP_HEADER_MAX + 1];
	size_t llen = 0, p = *pos, limit = end - *pos > MP_HEADER_MAX ? *pos + MP_HEADER_MAX : end;
	struct part_state st = { 0, 0 };
	const char *err;
	int have_line = 0;

	for (;;) {
		const char *nl = memchr(body + p, '\n', limit - p);
		size_t e, n;

		if (!nl)
			return limit < end ? "part header block too long" : "truncated part headers";
		e = (size_t)(nl - body);
		n = e - p;
		if (n > 0 && body[e - 1] == '\r')
			n--;
		if (memchr(body + p, '\r', n) || memchr(body + p, '\0', n))
			return "stray CR or NUL in part header";
		if (n == 0 || !is_ws((unsigned char)body[p])) {
			/* A new header (or the blank line) ends the previous one. */
			if (have_line && (err = parse_header(line, llen, part, &st)) != NULL)
				return err;
			llen = 0;
			have_line = 0;
			if (n == 0) {
				*pos = e + 1;
				break;
			}
		} else if (!have_line) {
			return "folded line without a header";
		}
		/* n fits: the whole block is at most MP_HEADER_MAX bytes. */
		memcpy(line + llen, body + p, n);
		llen += n;
		have_line = 1;
		p = e + 1;
	}
	if (!st.have_cd)
		return "part without Content-Disposition";
	return NULL;
}

/* ---- the body ---------------------------------------------------------- */

/* After "--boundary" at body[*pos]: "--" (close), or LWSP* then CRLF or LF
 * (another part follows; *pos moves past the line end). Returns 1 for close,
 * 0 for another part, -1 with *why otherwise. *lf is set to whether the line
 * ended in a bare LF. */
static int after_delimiter(const char *body, size_t len, size_t *pos, int *lf, const char **why)
{
	size_t p = *pos;

	if (len - p >= 2 && body[p] == '-' && body[p + 1] == '-')
		return 1;
	while (p < len && is_ws((unsigned char)body[p]))
		p++;
	if (p < len && body[p] == '\n') {
		*lf = 1;
		*pos = p + 1;
		return 0;
	}
	if (len - p >= 2 && body[p] == '\r' && body[p + 1] == '\n') {
		*lf = 0;
		*pos = p + 2;
		return 0;
	}
	*why = p >= len || (body[p] == '\r' && p + 1 >= len) || (body[p] == '-' && p + 1 >= len)
		? "missing final boundary" : "junk after boundary";
	return -1;
}

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

int wa_mp_parse(const char *body, size_t len, const char *boundary, struct wa_multipart *mp,
		const char **why)
{
	/* delim = "\r\n--" boundary; the LF-only form is delim + 1 */
	char delim[4 + MP_BOUNDARY_MAX];
	size_t blen, dlen, pos, off;
	const char *dash, *err;
	int lf = 0, r;

	if (mp)
		memset(mp, 0, sizeof *mp);
	if (!mp || !boundary || (!body && len > 0))
		return fail(why, "bad arguments");
	blen = strnlen(boundary, MP_BOUNDARY_MAX + 1);
	if (!boundary_ok(boundary, blen))
		return fail(why, "bad boundary");
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, blen);
	dlen = 4 + blen;

	/* The first delimiter starts a line: at offset 0 or after a LF. What
	 * comes before it is preamble and ignored. */
	off = 0;
	for (;;) {
		dash = len > off ? memmem(body + off, len - off, delim + 2, dlen - 2) : NULL;
		if (!dash)
			return fail(why, "no boundary in body");
		pos = (size_t)(dash - body);
		if (pos == 0 || body[pos - 1] == '\n')
			break;
		off = pos + 1;
	}
	pos += dlen - 2;
	r = after_delimiter(body, len, &pos, &lf, &err);
	if (r < 0)
		return fail(why, err);
	if (r == 1)
		return fail(why, "no parts");

	for (;;) {
		struct wa_mp_part *part;
		const char *d = lf ? delim + 1 : delim;
		size_t n = lf ? dlen - 1 : dlen, start;
		const char *hit;
		int lf2;

		if (mp->nparts >= WA_MP_MAX_PARTS)
			return fail(why, "too many parts");
		part = &mp->parts[mp->nparts];
		if ((err = parse_headers(body, len, &pos, part)) != NULL)
			return fail(why, err);
		start = pos;
		if (len - start >= dlen - 2 && memcmp(body + start, delim + 2, dlen - 2) == 0) {
			/* No data: the blank line's NL was also the delimiter's
			 * (RFC 2046 body-part = headers [CRLF *OCTET]). */
			part->data = body + start;
			part->len = 0;
			pos = start + dlen - 2;
		} else {
			hit = len > start ? memmem(body + start, len - start, d, n) : NULL;
			if (!hit)
				return fail(why, "missing final boundary");
			part->data = body + start;
			part->len = (size_t)(hit - (body + start));
			pos = (size_t)(hit - body) + n;
		}
		mp->nparts++;
		r = after_delimiter(body, len, &pos, &lf2, &err);
		if (r < 0)
			return fail(why, err);
		if (r == 1)
			break; /* the rest is epilogue */
	}
	return 0;
}

const struct wa_mp_part *wa_mp_get(const struct wa_multipart *mp, const char *name)
{
	if (!mp || !name)
		return NULL;
	for (int i = 0; i < mp->nparts && i < WA_MP_MAX_PARTS; i++)
		if (strcmp(mp->parts[i].name, name) == 0)
			return &mp->parts[i];
	return NULL;
}
