/* test_outmsg: what engine/store/outmsg.c accepts of the API's message
 * object, before anything is stored or sent. */
#include "engine/store/outmsg.h"
#include "tap.h"

#include <jansson.h>
#include <string.h>

static int parse_op(const char *op, const char *body, struct wa_out *o, const char **why)
{
	json_t *args = json_loads(body, 0, NULL);
	const char *code = NULL;
	int rc;

	if (!args)
		return -1;
	rc = wa_out_parse_op(o, op, args, why, &code);
	json_decref(args);
	return rc;
}

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

	/* the kinds beyond text */
	is_int(parse_op("message.location", "{\"latitude\":-6.2,\"longitude\":106.8,\"name\":\"P\"}", &o, &why), 0,
	       "location");
	is_int(o.kind, WA_OUT_LOCATION, "its kind");
	wa_out_free(&o);
	is_int(parse_op("message.location", "{\"latitude\":-91,\"longitude\":0}", &o, &why), 400, "latitude range");
	is_int(parse("{\"message\":{\"location\":{\"degreesLatitude\":1,\"degreesLongitude\":2}}}", &o, &why), 0,
	       "Baileys' location");
	wa_out_free(&o);
	is_int(parse_op("message.contact", "{\"contacts\":[{\"displayName\":\"J\",\"vcard\":"
			"\"BEGIN:VCARD\\nVERSION:3.0\\nFN:John\\nEND:VCARD\"}]}", &o, &why), 0, "the reference's vCard");
	is_str(json_string_value(json_object_get(json_array_get(o.req, 0), "name")), "J", "its display name");
	wa_out_free(&o);
	is_int(parse_op("message.contact", "{\"contacts\":[{\"vcard\":\"BEGIN:VCARD\\nN:Doe;John;;;\\nEND:VCARD\"}]}",
			&o, &why), 0, "a vCard with N only");
	is_str(json_string_value(json_object_get(json_array_get(o.req, 0), "name")), "Doe John", "named from N");
	wa_out_free(&o);
	is_int(parse_op("message.contact", "{\"contacts\":[{\"fullName\":\"Ann\",\"phoneNumber\":\"+62 811-222\"}]}",
			&o, &why), 0, "the convenience form");
	ok(strstr(json_string_value(json_object_get(json_array_get(o.req, 0), "vcard")),
		  "FN:Ann\nTEL;type=CELL;type=VOICE;waid=62811222:+62811222\n") != NULL, "written as a vCard");
	wa_out_free(&o);
	ok(wa_out_vcard_check("BEGIN:VCARD\r\nFN:a\r\nEND:VCARD\r\n", &why) == 0, "CRLF vCard");
	ok(wa_out_vcard_check("BEGIN:VCARD\nFN:a\nEND:VCARD\nBEGIN:VCARD\nFN:b\nEND:VCARD", &why) != 0, "two cards");
	ok(wa_out_vcard_check("BEGIN:VCARD\nTEL:1\nEND:VCARD", &why) != 0, "no name");
	ok(wa_out_vcard_check("FN:a\nEND:VCARD", &why) != 0, "no BEGIN");
	is_int(parse_op("message.contact", "{\"contacts\":[{\"fullName\":\"A\",\"phoneNumber\":\"12\"}]}", &o, &why),
	       400, "too few digits");
	is_int(parse_op("message.contact", "{\"contacts\":[]}", &o, &why), 400, "no contacts");
	is_int(parse_op("message.poll", "{\"question\":\"q\",\"options\":[\"a\",\"b\"],\"selectableCount\":1}", &o,
			&why), 0, "poll");
	is_int(o.kind, WA_OUT_POLL, "its kind");
	wa_out_free(&o);
	is_int(parse_op("message.poll", "{\"question\":\"q\",\"options\":[\"a\",\"a\"]}", &o, &why), 400,
	       "same option twice");
	is_int(parse_op("message.poll", "{\"question\":\"q\",\"options\":[\"a\",\"b\"],\"selectableCount\":3}", &o,
			&why), 400, "more selectable than options");
	is_int(parse_op("message.list", "{\"title\":\"T\",\"options\":[\"a\",\"b\"],\"footer\":\"f\"}", &o, &why), 0,
	       "list");
	is_str(o.text, "*T*\n\n1. a\n2. b\n\n_f_", "as text");
	wa_out_free(&o);
	is_int(parse_op("message.react", "{\"messageId\":\"3EB0AA\",\"emoji\":\"\"}", &o, &why), 0, "removing a reaction");
	ok(o.kind == WA_OUT_REACTION && strcmp(o.target_id, "3EB0AA") == 0 && strcmp(o.text, "") == 0, "on its target");
	wa_out_free(&o);
	is_int(parse_op("message.react", "{\"messageId\":\"3EB0AA\",\"emoji\":\"a b\"}", &o, &why), 400,
	       "not one emoji");
	is_int(parse_op("message.edit", "{\"messageId\":\"3EB0AA\",\"text\":\"\"}", &o, &why), 400, "empty edit");
	is_int(parse_op("message.delete", "{}", &o, &why), 400, "delete needs the id");
	is_int(parse_op("message.forward", "{\"messageId\":\"3EB0AA\",\"fromJid\":\"491701234567:2@s.whatsapp.net\"}",
			&o, &why), 0, "forward");
	is_str(o.source_chat, "491701234567@s.whatsapp.net", "from the chat, no device");
	wa_out_free(&o);
	is_int(parse_op("message.forward", "{\"messageId\":\"3EB0AA\",\"fromJid\":\"x\"}", &o, &why), 400,
	       "forward from no chat");
	is_int(parse_op("message.unknown", "{}", &o, &why), 501, "an op outmsg does not know");
	return tap_done();
}
