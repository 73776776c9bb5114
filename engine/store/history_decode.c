/* history_decode: a history-sync chunk's bytes into HistorySync (history.h). */
#include "engine/store/history.h"
#include "wa/pbsafe.h"
#include "wa_err.h"
#include "wa_history.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* zlib (with header) in[0..len) into a malloc'd buffer, at most the cap. */
static int inflate_all(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
	z_stream z;
	size_t cap = len * 4 + 1024, n = 0;
	uint8_t *buf;
	int zr;

	if (cap > WA_HISTORY_BLOB_MAX)
		cap = WA_HISTORY_BLOB_MAX;
	if (!(buf = malloc(cap)))
		return WA_ENOMEM;
	memset(&z, 0, sizeof z);
	if (inflateInit(&z) != Z_OK) {
		free(buf);
		return WA_ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	do {
		if (n == cap) {
			uint8_t *nb;

			if (cap >= WA_HISTORY_BLOB_MAX) {
				zr = Z_BUF_ERROR;
				break;
			}
			cap = cap * 2 > WA_HISTORY_BLOB_MAX ? WA_HISTORY_BLOB_MAX : cap * 2;
			if (!(nb = realloc(buf, cap))) {
				zr = Z_MEM_ERROR;
				break;
			}
			buf = nb;
		}
		z.next_out = buf + n;
		z.avail_out = (uInt)(cap - n);
		zr = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
	} while (zr == Z_OK);
	inflateEnd(&z);
	if (zr != Z_STREAM_END) {
		free(buf);
		return zr == Z_MEM_ERROR ? WA_ENOMEM : zr == Z_BUF_ERROR && n >= WA_HISTORY_BLOB_MAX ? WA_ETOOBIG :
		       WA_EPROTO;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

int wa_history_decode(const uint8_t *z, size_t len, struct WaHistorySync__HistorySync **out)
{
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	int rc;

	*out = NULL;
	if ((rc = inflate_all(z, len, &raw, &raw_len)) != 0)
		return rc;
	*out = (WaHistorySync__HistorySync *)wa_pb_unpack(&wa_history_sync__history_sync__descriptor, raw, raw_len,
							  WA_PB_MAX_DEPTH);
	free(raw);
	return *out ? 0 : WA_EPROTO;
}
