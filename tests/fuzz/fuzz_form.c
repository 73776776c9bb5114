// fuzz-sources: common/wa_err.c common/wa_util.c
/* Fuzz target: the urlencoded form / query-string reader (query strings and
 * sign-in form bodies are client bytes). The first byte picks a name, the
 * rest is the string. A found value must be NUL-terminated inside buf. */
#include "fuzz.h"
#include "wa_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "q", "id", "email", "csrfToken", "a b", "" };
	char *s, buf[64];

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (wa_form_get(s, names[data[0] % 6], buf, sizeof buf) == 0 && strnlen(buf, sizeof buf) == sizeof buf)
		abort();
	free(s);
	return 0;
}
