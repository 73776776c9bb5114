// fuzz-sources: engine/store/outmsg.c engine/store/outmedia.c engine/media_fmt.c wa/jid.c common/wa_err.c common/wa_util.c proto/wa_e2e.pb-c.c
/* fuzz_outmsg: hostile API bodies through what the engine makes of a send
 * before anything is stored (engine/store/outmsg.c): the first byte picks
 * the operation, the rest is the command's arguments as JSON text; then the
 * vCard check on the raw bytes, and the bytes as a stored message's
 * protobuf (wa_out_from_raw, the stanza attributes and the answer's JSON).
 *
 * Besides memory errors it checks the promises of outmsg.h: every parse
 * answers 0 or an HTTP status (400, 500, 501) with a reason; an accepted
 * one has a kind and, for text, a text of 1..65536 bytes; a refused one
 * holds nothing. The database is not reached (wa_out_build is not called). */
#include "fuzz.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/store/outmsg.h"
#include "fcgi/db.h"
#include "wa_util.h"

json_t *wa_db_row(struct wa_db *db, int *err, const char *sql, const char *fmt, ...)
{
	(void)db;
	(void)err;
	(void)sql;
	(void)fmt;
	abort(); /* not reached: nothing is built here */
}

static const char *const ops[] = {
	"message.send", "message.reply", "message.location", "message.contact", "message.poll", "message.list",
	"message.react", "message.edit", "message.delete", "message.forward", "message.spam", "message.broadcast",
	"message.media", "message.sticker",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL, *code = NULL;
	struct wa_out o;
	json_t *args, *j;
	char *text, *hex;
	int rc;

	if (size < 1 || size > 65536)
		return 0;
	args = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (args) {
		rc = wa_out_parse_op(&o, ops[data[0] % (sizeof ops / sizeof ops[0])], args, &why, &code);
		if (rc != 0 && (rc != 400 && rc != 500 && rc != 501))
			abort();
		if (rc != 0 && (!why || !code || o.text || o.req || o.target_id || o.media))
			abort();
		if (rc == 0 && o.kind == WA_OUT_TEXT && (!o.text || !*o.text || strlen(o.text) > WA_OUT_TEXT_MAX))
			abort();
		if (rc == 0 && (o.kind == WA_OUT_MEDIA) != (o.media != NULL))
			abort();
		wa_out_free(&o);
		json_decref(args);
	}
	if ((text = malloc(size + 1)) != NULL) {
		memcpy(text, data, size);
		text[size] = '\0';
		(void)wa_out_vcard_check(text, &why);
		free(text);
	}
	if ((hex = malloc(2 * size + 1)) != NULL) {
		wa_hex_encode(data, size, hex);
		if (wa_out_from_raw(&o, hex) == 0) {
			if (!o.msg)
				abort();
			j = wa_out_json(&o);
			if (!j)
				abort();
			json_decref(j);
		}
		wa_out_free(&o);
		free(hex);
	}
	return 0;
}
