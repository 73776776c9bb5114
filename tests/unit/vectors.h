/* vectors.h: access to tests/vectors/protocol.json (values computed
 * independently of our code with python3-cryptography) for the C unit tests.
 * Header-only, for test programs; a missing or malformed field ends the test
 * program with a diagnostic, since a known-answer test without its answer
 * must not pass. */
#ifndef WA_TEST_VECTORS_H
#define WA_TEST_VECTORS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wa_util.h"

/* The whole vector document; skips the test program (TAP "1..0 # SKIP")
 * when the file cannot be read. Caller json_decref()s it. */
static inline json_t *vec_load(void)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	json_error_t err;
	json_t *v;

	snprintf(path, sizeof path, "%s/tests/vectors/protocol.json", top ? top : ".");
	v = json_load_file(path, JSON_ALLOW_NUL, &err);
	if (!v)
		tap_bail("tests/vectors/protocol.json not readable");
	return v;
}

/* Hex field `key` of `obj` decoded into a malloc'd buffer; *len set if given. */
static inline uint8_t *vec_hex(json_t *obj, const char *key, size_t *len)
{
	const char *h = json_string_value(json_object_get(obj, key));
	size_t n;
	uint8_t *b;

	if (!h) {
		printf("# missing vector field %s\n", key);
		exit(1);
	}
	n = strlen(h) / 2;
	b = malloc(n ? n : 1);
	if (!b || wa_hex_decode(h, b, n) != 0) {
		printf("# bad hex in %s\n", key);
		exit(1);
	}
	if (len)
		*len = n;
	return b;
}

/* String field `key` of `obj`. */
static inline const char *vec_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (!s) {
		printf("# missing vector field %s\n", key);
		exit(1);
	}
	return s;
}

#endif
