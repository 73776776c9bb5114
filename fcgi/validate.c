/* validate: body and JID validation (see validate.h). */
#include "fcgi/validate.h"
#include "wa/jid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wa_jid_normalise_input(const char *in, char *out, size_t outlen, const char **why)
{
	struct wa_jid j;

	if (!in || !*in) {
		*why = "empty";
		return -1;
	}
	if (wa_jid_from_user_input(in, &j, why) < 0)
		return -1;
	if (wa_jid_format(&j, out, outlen) < 0) {
		*why = "too long";
		return -1;
	}
	return 0;
}

int wa_validate_jid(struct wa_req *r, const char *field, const char *in, char *out, size_t outlen)
{
	const char *why = "invalid";

	if (wa_jid_normalise_input(in, out, outlen, &why) < 0)
		return wa_reply_errorf(r, 400, "invalid_jid", "Invalid JID in '%s': %s", field, why);
	return 0;
}

static int enum_has(const char *values, const char *v)
{
	size_t vl = strlen(v);

	for (const char *p = values; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);

		if (l == vl && memcmp(p, v, l) == 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

static const char *type_name(enum wa_ftype t)
{
	switch (t) {
	case WA_F_STR: case WA_F_STR0: case WA_F_ENUM: return "a string";
	case WA_F_BOOL: return "a boolean";
	case WA_F_INT: return "an integer";
	case WA_F_NUM: return "a number";
	case WA_F_OBJ: return "an object";
	case WA_F_ARR: case WA_F_ARR_STR: return "an array of strings";
	case WA_F_ARR_JID: return "an array of JIDs or phone numbers";
	case WA_F_JID: return "a JID or phone number";
	case WA_F_STR_OR_OBJ: return "a string or an object";
	case WA_F_INT_OR_STR: return "an integer or a string";
	default: return "valid";
	}
}

/* Characters (code points) of a valid UTF-8 string, as limits count them
 * (jansson's strings are valid UTF-8). */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static int check_field(struct wa_req *r, const struct wa_field *f, json_t *v)
{
	char norm[256];
	const char *why;
	size_t i;
	json_t *e;

	switch (f->type) {
	case WA_F_STR:
		if (!json_is_string(v) || json_string_length(v) == 0)
			goto bad_type;
		if (f->values && utf8_chars(json_string_value(v)) > (size_t)atol(f->values))
			return wa_reply_errorf(r, 400, "validation_error", "'%s' is longer than %s characters",
					       f->name, f->values);
		return 0;
	case WA_F_STR0:
		return json_is_string(v) ? 0 : -2;
	case WA_F_BOOL:
		return json_is_boolean(v) ? 0 : -2;
	case WA_F_INT:
		return json_is_integer(v) ? 0 : -2;
	case WA_F_NUM:
		return json_is_number(v) ? 0 : -2;
	case WA_F_OBJ:
		return json_is_object(v) ? 0 : -2;
	case WA_F_ARR:
		return json_is_array(v) ? 0 : -2;
	case WA_F_STR_OR_OBJ:
		if (json_is_string(v) && json_string_length(v) == 0)
			return wa_reply_errorf(r, 400, "validation_error", "'%s' must not be empty", f->name);
		return json_is_string(v) || json_is_object(v) ? 0 : -2;
	case WA_F_INT_OR_STR:
		return json_is_integer(v) || (json_is_string(v) && json_string_length(v) > 0) ? 0 : -2;
	case WA_F_ENUM:
		if (!json_is_string(v))
			return -2;
		if (!enum_has(f->values, json_string_value(v)))
			return wa_reply_errorf(r, 400, "validation_error", "'%s' must be one of %s (got '%.60s')",
					       f->name, f->values, json_string_value(v));
		return 0;
	case WA_F_ARR_STR:
		if (!json_is_array(v) || json_array_size(v) == 0)
			return -2;
		json_array_foreach(v, i, e)
			if (!json_is_string(e) || json_string_length(e) == 0)
				return wa_reply_errorf(r, 400, "validation_error",
						       "'%s[%zu]' must be a non-empty string", f->name, i);
		return 0;
	case WA_F_ARR_JID:
		if (!json_is_array(v) || json_array_size(v) == 0)
			return -2;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) ||
			    wa_jid_normalise_input(json_string_value(e), norm, sizeof norm, &why) < 0)
				return wa_reply_errorf(r, 400, "invalid_jid", "Invalid JID in '%s[%zu]': %s",
						       f->name, i, json_is_string(e) ? why : "not a string");
			json_array_set_new(v, i, json_string(norm));
		}
		return 0;
	case WA_F_JID:
		if (!json_is_string(v))
			return -2;
		if (wa_jid_normalise_input(json_string_value(v), norm, sizeof norm, &why) < 0)
			return wa_reply_errorf(r, 400, "invalid_jid", "Invalid JID in '%s': %s", f->name, why);
		json_object_set_new(r->json, f->name, json_string(norm));
		return 0;
	default:
		return 0;
	}
bad_type:
	return -2;
}

int wa_validate_body(struct wa_req *r, const struct wa_field *fields)
{
	for (const struct wa_field *f = fields; f && f->type != WA_F_END; f++) {
		json_t *v = json_object_get(r->json, f->name);
		int rc;

		if (!v || json_is_null(v)) {
			if (f->required)
				return wa_reply_errorf(r, 400, "validation_error", "Missing required field '%s'",
						       f->name);
			continue;
		}
		rc = check_field(r, f, v);
		if (rc == -2)
			return wa_reply_errorf(r, 400, "validation_error", "'%s' must be %s", f->name,
					       type_name(f->type));
		if (rc < 0)
			return -1;
	}
	return 0;
}

const char *wa_body_str(struct wa_req *r, const char *name)
{
	return json_string_value(json_object_get(r->json, name));
}

int wa_body_bool(struct wa_req *r, const char *name, int def)
{
	json_t *v = json_object_get(r->json, name);

	return json_is_boolean(v) ? json_is_true(v) : def;
}
