// fuzz-sources: common/wa_err.c fcgi/multipart.c
/* fuzz_multipart: the multipart/form-data parser on hostile bodies.
 *
 * Input = one length byte n (taken mod 80, so lengths past the 70 cap are
 * tried too), n bytes of boundary, then the body. The body is also given
 * to wa_mp_boundary as a Content-Type header value. Besides not
 * crashing, a successful parse must keep its promises: 1..WA_MP_MAX_PARTS
 * parts in body order, data inside the body, NUL-terminated fields, no path
 * separators or control characters in file names; a failure gives a reason.
 * A boundary that wa_mp_boundary returns must be one wa_mp_parse accepts. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_field(const char *s, size_t cap, int filename)
{
	size_t n = strnlen(s, cap);

	check(n < cap);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (filename)
			check(c >= 0x20 && c != 0x7f && c != '/' && c != '\\');
	}
	if (filename)
		check(strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
}

static void fuzz_parse(const char *body, size_t len, const char *boundary)
{
	static struct wa_multipart mp;
	const char *why = NULL;
	const char *prev_end = body;

	if (wa_mp_parse(body, len, boundary, &mp, &why) < 0) {
		check(why != NULL && why[0] != '\0');
		return;
	}
	check(mp.nparts >= 1 && mp.nparts <= WA_MP_MAX_PARTS);
	for (int i = 0; i < mp.nparts; i++) {
		const struct wa_mp_part *p = &mp.parts[i];

		check(p->data >= prev_end && p->len <= len && p->data + p->len <= body + len);
		prev_end = p->data + p->len;
		check_field(p->name, sizeof p->name, 0);
		check_field(p->filename, sizeof p->filename, 1);
		check_field(p->content_type, sizeof p->content_type, 0);
		check(wa_mp_get(&mp, p->name) != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char boundary[81], ct_boundary[71];
	size_t n;
	char *body, *ct;

	if (size == 0)
		return 0;
	n = data[0] % 80;
	if (n > size - 1)
		n = size - 1;
	memcpy(boundary, data + 1, n);
	boundary[n] = '\0';
	/* An exact-size copy, so any read past the body is caught. */
	body = malloc(size - 1 - n + 1);
	if (!body)
		return 0;
	memcpy(body, data + 1 + n, size - 1 - n);
	fuzz_parse(body, size - 1 - n, boundary);
	free(body);

	ct = malloc(size - 1 - n + 1);
	if (!ct)
		return 0;
	memcpy(ct, data + 1 + n, size - 1 - n);
	ct[size - 1 - n] = '\0';
	if (wa_mp_boundary(ct, ct_boundary, sizeof ct_boundary) == 0) {
		static const char tail[] = "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--";
		char b2[200];
		size_t bl = strlen(ct_boundary);
		static struct wa_multipart mp;
		const char *why;

		check(bl >= 1 && bl <= 70);
		/* "--" b tail b "--": the smallest good body for that boundary */
		memcpy(b2, "--", 2);
		memcpy(b2 + 2, ct_boundary, bl);
		memcpy(b2 + 2 + bl, tail, sizeof tail - 1);
		memcpy(b2 + 2 + bl + sizeof tail - 1, ct_boundary, bl);
		memcpy(b2 + 2 + 2 * bl + sizeof tail - 1, "--", 2);
		check(wa_mp_parse(b2, 4 + 2 * bl + sizeof tail - 1, ct_boundary, &mp, &why) == 0);
		check(mp.nparts == 1 && mp.parts[0].len == 1 && mp.parts[0].data[0] == 'v');
	}
	free(ct);
	return 0;
}
