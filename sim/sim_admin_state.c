/* sim_admin_state: admin routes of the state layer (simstate), reached
 * through sim_admin_ext() for /admin/phones/{number}/<sub>:
 *
 *   GET  appstate   the phone's decrypted view of the five collections
 *   POST appstate   {"action", "jid"?, "value"?, "name"?, "label"?, "messageId"?, "fromMe"?}:
 *                   the phone writes a mutation
 *   GET  state      presence, subscribers, blocklist, picture
 *   POST presence   {"available": true|false}
 *   POST typing     {"to": "<number or JID>", "state": "composing|recording|paused"}
 *   POST picture    {"data": "<base64 JPEG>"} sets, {} removes
 *   POST block      {"jid": "<number or JID>", "block": true|false}
 * Contract in sim_state.h. */
#include "sim_state.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "wa_util.h"

static json_t *err_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

static json_t *text_json(char *txt)
{
	json_t *o = txt ? json_loads(txt, 0, NULL) : NULL;

	free(txt);
	return o;
}

/* "<digits>" or "<digits>@s.whatsapp.net" -> digits. */
static int number_of(const char *in, char *out, size_t cap)
{
	size_t n;

	if (in == NULL)
		return -1;
	n = strcspn(in, "@:");
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, in, n);
	out[n] = '\0';
	return sim_number_valid(out) ? 0 : -1;
}

int sim_admin_state(struct sim_server *s, struct sim_account *a, const char *method, const char *sub, json_t *in,
		    json_t **reply)
{
	int post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;

	if (get && strcmp(sub, "appstate") == 0) {
		*reply = text_json(sim_appstate_phone_view(s, a));
		return *reply ? 200 : 500;
	}
	if (get && strcmp(sub, "state") == 0) {
		*reply = text_json(sim_state_summary(s, a));
		return *reply ? 200 : 500;
	}
	if (!post || in == NULL)
		return 0;
	if (strcmp(sub, "appstate") == 0) {
		const char *why = NULL;
		json_t *v = json_object_get(in, "value");
		int st = sim_appstate_phone_write(s, a, json_string_value(json_object_get(in, "action")),
						  json_string_value(json_object_get(in, "jid")), v == NULL || json_is_true(v),
						  json_string_value(json_object_get(in, "name")),
						  json_string_value(json_object_get(in, "label")),
						  json_string_value(json_object_get(in, "messageId")),
						  json_is_true(json_object_get(in, "fromMe")), &why);

		*reply = st == 200 ? text_json(sim_appstate_phone_view(s, a)) : err_json(why ? why : "failed");
		return st;
	}
	if (strcmp(sub, "presence") == 0) {
		json_t *v = json_object_get(in, "available");

		if (!json_is_boolean(v)) {
			*reply = err_json("body must be {\"available\": true|false}");
			return 400;
		}
		if (sim_presence_set(s, a, json_is_true(v)) != 0)
			return 500;
		*reply = text_json(sim_state_summary(s, a));
		return 200;
	}
	if (strcmp(sub, "typing") == 0) {
		const char *to = json_string_value(json_object_get(in, "to"));
		const char *state = json_string_value(json_object_get(in, "state"));

		if (sim_chatstate_phone(s, a, to, state ? state : "composing") != 0) {
			*reply = err_json("need {\"to\", \"state\": composing|recording|paused} naming a known user or group");
			return 400;
		}
		*reply = json_pack("{s:s}", "status", "sent");
		return 200;
	}
	if (strcmp(sub, "picture") == 0) {
		const char *b64 = json_string_value(json_object_get(in, "data"));
		uint8_t *img = NULL;
		long n = 0;
		int rc;

		if (b64 != NULL) {
			size_t bl = strlen(b64);

			if (bl / 4 * 3 > SIM_PICTURE_MAX + 3 || (img = malloc(bl / 4 * 3 + 3)) == NULL ||
			    (n = wa_base64_decode(b64, bl, img, bl / 4 * 3 + 3)) <= 0) {
				free(img);
				*reply = err_json("data must be base64 of at most 1 MiB");
				return 400;
			}
		}
		rc = sim_picture_set(s, a, img, (size_t)n);
		free(img);
		if (rc != 0)
			return 500;
		*reply = text_json(sim_state_summary(s, a));
		return 200;
	}
	if (strcmp(sub, "block") == 0) {
		char num[SIM_NUMBER_MAX + 1];
		json_t *b = json_object_get(in, "block");

		if (number_of(json_string_value(json_object_get(in, "jid")), num, sizeof num) != 0) {
			*reply = err_json("body must be {\"jid\": \"<number or JID>\", \"block\": true|false}");
			return 400;
		}
		if (sim_block_phone(s, a, num, b == NULL || json_is_true(b)) != 0)
			return 500;
		*reply = text_json(sim_state_summary(s, a));
		return 200;
	}
	return 0;
}
