// fuzz-sources: common/wa_err.c wa/frame.c wa/buf.c
/* fuzz_frame: the incremental frame parser (wa/frame).
 *
 * Input: byte 0 = options (bit 0: expect the client intro; bit 1: small
 * cap of 64 bytes), byte 1 = chunk size for the second pass, rest = the
 * stream. The stream is parsed once in one piece and once in chunks; both
 * passes must yield the same frames and the same verdict, no frame may
 * exceed the cap and `used` never exceeds the input. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wa/buf.h"
#include "wa/frame.h"

/* Parse in chunks of `chunk`, appending be3(len)|payload of every frame to
 * out. Returns 0 when all input was consumed, -1 on a parse error. */
static int run(const uint8_t *data, size_t len, size_t chunk, int intro, size_t cap, struct wa_buf *out)
{
	struct wa_frame_parser p;
	size_t off = 0;
	int rc = 0;

	wa_frame_parser_init(&p, cap, intro);
	while (off < len && rc == 0) {
		size_t n = len - off < chunk ? len - off : chunk;
		const uint8_t *d = data + off;

		off += n;
		while (n > 0) {
			const uint8_t *pl;
			size_t pn, used;
			int r = wa_frame_parse(&p, d, n, &used, &pl, &pn);

			if (used > n)
				abort();
			d += used;
			n -= used;
			if (r < 0) {
				rc = -1;
				break;
			}
			if (r == 0) {
				if (n != 0)
					abort(); /* 0 means everything was consumed */
				break;
			}
			if (pn > (cap ? cap : WA_FRAME_MAX_PAYLOAD))
				abort();
			if (wa_frame_write(out, pl, pn) != 0)
				abort();
		}
	}
	wa_frame_parser_free(&p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wa_buf a = WA_BUF_INIT, b = WA_BUF_INIT;
	int intro, ra, rb;
	size_t cap, chunk;

	if (size < 2)
		return 0;
	intro = data[0] & 1;
	cap = (data[0] & 2) ? 64 : 0;
	chunk = data[1] ? data[1] : 1;
	data += 2;
	size -= 2;

	ra = run(data, size, size ? size : 1, intro, cap, &a);
	rb = run(data, size, chunk, intro, cap, &b);
	/* Same frames up to the point of failure: a chunked pass may stop at
	 * the same error; frames before it are identical. */
	if (ra != rb || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
		abort();
	wa_buf_free(&a);
	wa_buf_free(&b);
	return 0;
}
