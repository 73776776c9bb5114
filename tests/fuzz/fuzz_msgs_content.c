// fuzz-sources: engine/store/msgs.c engine/store/msgs_held.c wa/pbsafe.c common/wa_err.c common/wa_log.c common/wa_util.c proto/wa_e2e.pb-c.c
/* fuzz_msgs_content: hostile bytes as the plaintext of a received message
 * (after the Signal decryption and unpadding), through what the engine does
 * with it beyond the library: the bounded unpack (wa_pb_unpack, as
 * engine/sess_recv.c does), the content extraction of every kind
 * (wa_msgs_content, through the wrappers, the deviceSentMessage copy our
 * own devices send included), the kind's meta object (wa_msgs_meta), the
 * mentions, the media reference a download uses (wa_msgs_media) and the
 * event payload (wa_msgs_event_payload).
 *
 * Besides memory errors it checks one promise: content the engine accepts
 * to store always makes an event payload whose `content` and `quotedId`
 * read back as the text with bytes that are not UTF-8 replaced (U+FFFD),
 * as they are stored. A payload that cannot be built left the message
 * unstored and unanswered, to be offered again by the server forever
 * (texts that were not UTF-8 did that until msgs.c repaired them).
 * The database calls of msgs.c are not reached (wa_msgs_store and the
 * update functions are not called); they are stubbed so the file links
 * without MariaDB (here and in tests/fuzz/run.sh's libFuzzer build). */
#include "fuzz.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa/pbsafe.h"
#include "wa_e2e.pb-c.h"
#include "wa_util.h"

long long wa_db_exec(struct wa_db *db, const char *sql, const char *fmt, ...)
{
	(void)db;
	(void)sql;
	(void)fmt;
	abort(); /* not reached: nothing is stored here */
}

json_t *wa_db_query(struct wa_db *db, const char *sql, const char *fmt, ...)
{
	(void)db;
	(void)sql;
	(void)fmt;
	abort();
}

json_t *wa_db_row(struct wa_db *db, int *err, const char *sql, const char *fmt, ...)
{
	(void)db;
	(void)err;
	(void)sql;
	(void)fmt;
	abort();
}

long long wa_db_int(struct wa_db *db, long long def, const char *sql, const char *fmt, ...)
{
	(void)db;
	(void)def;
	(void)sql;
	(void)fmt;
	abort();
}

int wa_db_in_txn(const struct wa_db *db)
{
	(void)db;
	abort();
}

void *wa_db_at_commit_obj(struct wa_db *db, int (*flush)(struct wa_db *db, void *arg), void (*discard)(void *arg),
			  size_t size, int early)
{
	(void)db;
	(void)flush;
	(void)discard;
	(void)size;
	(void)early;
	abort();
}

void *wa_db_at_commit_arg(const struct wa_db *db, int (*flush)(struct wa_db *db, void *arg))
{
	(void)db;
	(void)flush;
	abort();
}

int wa_db_err(const struct wa_db *db)
{
	(void)db;
	abort();
}

/* v is the JSON string of want, repaired as msgs.c stores it */
static void same(const json_t *v, const char *want)
{
	char *fixed = wa_utf8_repair(want);

	if (!fixed || !json_is_string(v) || strcmp(json_string_value(v), fixed) != 0 || !wa_utf8_valid(fixed) ||
	    (wa_utf8_valid(want) && strcmp(fixed, want) != 0))
		abort();
	free(fixed);
}

static void check(const WaE2E__Message *m)
{
	struct wa_msg_content c;
	struct wa_msg_media md;
	struct wa_msg_row row;
	json_t *o;
	char *payload, *meta, *mentions;
	int e1 = 0, e2 = 0;

	if (wa_msgs_media(m, &md) == 0 && (!md.media_key || (!md.direct_path && !md.url) || !md.mms_type))
		abort(); /* a downloadable media has a key and a place */
	if (wa_msgs_content(m, &c) != 0)
		return;
	if (!c.type || !c.m)
		abort(); /* accepted content has a type */
	if (c.kind == WA_MSGK_REACTION && (!c.reaction || !c.reaction->key || !c.reaction->key->id || !c.text))
		abort();
	if (c.kind == WA_MSGK_POLL_VOTE && (!c.vote || !c.vote->pollcreationmessagekey || !c.vote->vote))
		abort();
	if (c.kind != WA_MSGK_ROW)
		return;
	meta = wa_msgs_meta(&c, &e1);
	mentions = wa_msgs_mentions(c.ctx, &e2);
	/* (json_is_object is a macro that reads its argument twice: parse first) */
	o = meta ? json_loads(meta, 0, NULL) : NULL;
	if ((meta && !json_is_object(o)) || e1 || e2)
		abort(); /* the meta column is a JSON object */
	json_decref(o);
	memset(&row, 0, sizeof row);
	row.chat = "4915550000002@s.whatsapp.net";
	row.id = "3EB0FUZZ";
	row.sender = row.chat;
	row.push_name = "Fuzz";
	row.type = c.type;
	row.content = c.text;
	row.caption = c.caption;
	row.media_mime = c.mime;
	row.media_size = c.size;
	row.meta = meta;
	row.mentions = mentions;
	row.quoted_id = c.quoted_id;
	row.status = "DELIVERED";
	row.t = 1764745200;
	payload = wa_msgs_event_payload("fuzz", &row);
	if (!payload)
		abort(); /* accepted, yet no event: the message would never be stored */
	o = json_loads(payload, 0, NULL);
	if (!o)
		abort();
	if (c.text)
		same(json_object_get(o, "content"), c.text);
	if (c.caption)
		same(json_object_get(o, "caption"), c.caption);
	if (c.quoted_id)
		same(json_object_get(o, "quotedId"), c.quoted_id);
	if (meta && !json_is_object(json_object_get(o, "meta")))
		abort();
	json_decref(o);
	free(payload);
	free(meta);
	free(mentions);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	WaE2E__Message *m = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, data, size,
							     WA_PB_MAX_DEPTH);

	if (!m)
		return 0;
	check(m);
	if (m->devicesentmessage)
		check(m->devicesentmessage->message);
	wa_e2_e__message__free_unpacked(m, NULL);
	return 0;
}
