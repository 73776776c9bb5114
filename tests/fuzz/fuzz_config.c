// fuzz-sources: common/wa_err.c common/wa_config.c common/wa_config_keys.c
/* Fuzz target: the INI configuration parser (operators' files are user
 * bytes). Every parse must either fail cleanly or give a config whose every
 * known key has a value. */
#include "fuzz.h"
#include "wa_config.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wa_config *c = NULL;
	char err[256];

	if (wa_config_parse(&c, (const char *)data, size, "fuzz", err, sizeof err) == 0) {
		for (size_t i = 0; wa_config_keys[i].key; i++)
			if (!wa_config_get(c, wa_config_keys[i].key))
				abort();
		wa_config_free(c);
	}
	return 0;
}
