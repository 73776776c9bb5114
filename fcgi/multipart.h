/* multipart: a parser for multipart/form-data request bodies (RFC 7578).
 *
 * Parses a complete body held in memory (the worker has already read it,
 * bounded by http.max_body) without copying: parts point into the body.
 * Hard caps: at most WA_MP_MAX_PARTS parts, header block of a part at most
 * 8 KiB, boundary 1..70 characters. Any malformation is an error; input is
 * hostile (fuzzed by tests/fuzz/fuzz_multipart.c).
 * Thread-safe: no global state. */
#ifndef WA_FCGI_MULTIPART_H
#define WA_FCGI_MULTIPART_H

#include <stddef.h>

#define WA_MP_MAX_PARTS 32

struct wa_mp_part {
	char name[128];          /* form field name (Content-Disposition name=) */
	char filename[256];      /* filename= if present, else "" (path parts stripped) */
	char content_type[128];  /* part Content-Type, "" if absent */
	const char *data;        /* points into the body */
	size_t len;
};

struct wa_multipart {
	struct wa_mp_part parts[WA_MP_MAX_PARTS];
	int nparts;
};

/* Extract the boundary from a Content-Type header value
 * ("multipart/form-data; boundary=..."; quoted or not) into out (71 bytes).
 * Returns 0 or -1. */
int wa_mp_boundary(const char *content_type, char *out, size_t outlen);

/* Parse body[0..len) with boundary. Returns 0, or -1 with a short reason in
 * *why (static string). */
int wa_mp_parse(const char *body, size_t len, const char *boundary, struct wa_multipart *mp,
		const char **why);

/* First part named `name`, or NULL. */
const struct wa_mp_part *wa_mp_get(const struct wa_multipart *mp, const char *name);

#endif
