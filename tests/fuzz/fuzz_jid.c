// fuzz-sources: common/wa_err.c wa/jid.c
/* fuzz_jid: JID parsing and REST user-input validation on arbitrary text.
 * Properties: no crash; a parsed JID formats and re-parses to the same
 * value; accepted user input is canonical (re-validating its formatted
 * form gives the same JID). */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wa/jid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wa_jid a, b;
	char buf[WA_JID_STR_MAX], *s;
	const char *why;

	if (wa_jid_parse_n((const char *)data, size, &a, &why) == 0) {
		if (wa_jid_format(&a, buf, sizeof buf) < 0)
			abort();
		if (a.server[0] && (wa_jid_parse(buf, &b, &why) != 0 || !wa_jid_equal(&a, &b)))
			abort();
		(void)wa_jid_signal_name(&a, buf, sizeof buf);
		(void)wa_jid_format_user(&a, buf, sizeof buf);
	}
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (wa_jid_from_user_input(s, &a, &why) == 0) {
		if (wa_jid_format(&a, buf, sizeof buf) < 0)
			abort();
		if (wa_jid_from_user_input(buf, &b, &why) != 0 || !wa_jid_equal(&a, &b))
			abort();
	}
	free(s);
	return 0;
}
