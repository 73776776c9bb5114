/* test_outmsg: what engine/store/outmsg.c accepts of the API's message
 * object, before anything is stored or sent. */
#include "engine/store/outmsg.h"
#include "tap.h"

#include <jansson.h>
#include <string.h>

static int parse(const char *body, struct wa_out *o, const char **why)
{
	json_t *args = json_loads(body, 0, NULL);
	const char *code = NULL;
	int rc;

	if (!args)
		return -1;
	rc = wa_out_parse(o, args, why, &code);
	json_decref(args);
	return rc;
}

int main(void)
{
	struct wa_out o;
	const char *why = NULL;
	json_t *j;
	char *s;

	is_int(parse("{\"message\":{\"text\":\"hi\"}}", &o, &why), 0, "text");
	ok(o.text && strcmp(o.text, "hi") == 0 && o.nmentions == 0 && !o.quoted_id, "text only");
	wa_out_free(&o);
	is_int(parse("{\"message\":\"bare\"}", &o, &why), 0, "a bare string is text");
	wa_out_free(&o);
	is_int(parse("{\"message\":{\"text\":\"a\",\"mentions\":[\"491701234567@s.whatsapp.net\"]},"
		     "\"mentions\":[\"491701234567:3@s.whatsapp.net\",\"123456789@lid\"],\"messageId\":\"3EB0AA\"}",
		     &o, &why), 0, "mentions in both places, a reply");
	is_int(o.nmentions, 2, "device and duplicate folded");
	ok(strcmp(o.mentions[0], "491701234567@s.whatsapp.net") == 0 && strcmp(o.mentions[1], "123456789@lid") == 0,
	   "normalised, in order");
	ok(o.quoted_id && strcmp(o.quoted_id, "3EB0AA") == 0, "the id replied to");
	wa_out_free(&o);

	is_int(parse("{\"message\":{\"text\":\"\"}}", &o, &why), 400, "empty text");
	is_int(parse("{\"message\":{}}", &o, &why), 400, "no text");
	is_int(parse("{\"message\":5}", &o, &why), 400, "not an object");
	is_int(parse("{\"message\":{\"text\":7}}", &o, &why), 400, "text not a string");
	is_int(parse("{\"message\":{\"text\":\"a\"},\"mentions\":[\"x\"]}", &o, &why), 400, "a mention not a JID");
	is_int(parse("{\"message\":{\"text\":\"a\"},\"mentions\":[\"1203@g.us\"]}", &o, &why), 400,
	       "a group is not mentioned");
	is_int(parse("{\"message\":{\"text\":\"a\",\"mentions\":\"x\"}}", &o, &why), 400, "mentions not an array");
	is_int(parse("{\"message\":{\"text\":\"a\"},\"messageId\":\"\"}", &o, &why), 400, "empty id replied to");
	is_int(parse("{\"message\":{\"image\":{\"url\":\"http://x\"}}}", &o, &why), 0, "media: parsed");
	ok(o.media != NULL && !o.text, "into an upload job (test_outmedia)");
	wa_out_free(&o);

	/* a stored row comes back the same way; without a build it is plain text */
	is_int(wa_out_from_row(&o, "again", "3EB0BB", "[\"491701234567@s.whatsapp.net\"]"), 0, "from a row");
	ok(o.nmentions == 1 && strcmp(o.quoted_id, "3EB0BB") == 0, "its mentions and quote");
	j = wa_out_json(&o);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	is_str(s, "{\"conversation\":\"again\"}", "unbuilt: the text");
	free(s);
	json_decref(j);
	wa_out_free(&o);
	is_int(wa_out_from_row(&o, "x", NULL, "not json"), 0, "unreadable mentions are dropped");
	is_int(o.nmentions, 0, "none");
	wa_out_free(&o);
	return tap_done();
}
