// fuzz-sources: engine/store/history_decode.c wa/pbsafe.c common/wa_err.c proto/wa_history.pb-c.c proto/wa_e2e.pb-c.c
/* fuzz_history: hostile bytes as a history-sync chunk's plaintext (zlib,
 * then HistorySync), as the phone's blob reaches the engine after the
 * media decryption. Byte 0 = 0 deflates the rest first (reaching the
 * protobuf parser); otherwise the input is taken as the zlib stream. */
#include "fuzz.h"
#include <stdlib.h>
#include <zlib.h>

#include "engine/store/history.h"
#include "wa_history.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	WaHistorySync__HistorySync *hs = NULL;
	uint8_t *z = NULL;
	uLongf zlen;

	if (size && data[0] == 0) {
		zlen = compressBound((uLong)(size - 1));
		if (!(z = malloc(zlen)) || compress(z, &zlen, data + 1, (uLong)(size - 1)) != Z_OK) {
			free(z);
			return 0;
		}
		if (wa_history_decode(z, zlen, &hs) == 0)
			wa_history_sync__history_sync__free_unpacked(hs, NULL);
		free(z);
		return 0;
	}
	if (wa_history_decode(data, size, &hs) == 0)
		wa_history_sync__history_sync__free_unpacked(hs, NULL);
	return 0;
}
