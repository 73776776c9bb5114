/* h_docs: GET /api/docs, the OpenAPI 3.0 document of this gateway,
 * generated from the route table (so it cannot drift from the routes) and
 * built once per process. */
#include "config.h"
#include "fcgi/app.h"
#include "fcgi/handlers.h"
#include "fcgi/router.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *doc;
static const char *base_url;

static const char *schema_type(enum wa_ftype t)
{
	switch (t) {
	case WA_F_BOOL: return "boolean";
	case WA_F_INT: return "integer";
	case WA_F_NUM: return "number";
	case WA_F_OBJ: return "object";
	case WA_F_ARR: case WA_F_ARR_STR: case WA_F_ARR_JID: return "array";
	default: return "string";
	}
}

static json_t *field_schema(const struct wa_field *f)
{
	json_t *s = json_pack("{s:s}", "type", schema_type(f->type));

	if (f->type == WA_F_ARR_STR || f->type == WA_F_ARR_JID)
		json_object_set_new(s, "items", json_pack("{s:s}", "type", "string"));
	if (f->type == WA_F_ARR)
		json_object_set_new(s, "items", json_pack("{s:s}", "type", "object"));
	if (f->type == WA_F_STR_OR_OBJ) {
		json_decref(s);
		s = json_pack("{s:[{s:s},{s:s}]}", "oneOf", "type", "string", "type", "object");
	}
	if (f->type == WA_F_INT_OR_STR) {
		json_decref(s);
		s = json_pack("{s:[{s:s},{s:s}],s:s}", "oneOf", "type", "integer", "type", "string", "description",
			      "ARGB integer (0xFF25D366) or \"#RRGGBB\"");
	}
	if (f->type == WA_F_ENUM && f->values) {
		json_t *e = json_array();
		char buf[256];
		char *save = NULL;

		snprintf(buf, sizeof buf, "%s", f->values);
		for (char *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save))
			json_array_append_new(e, json_string(t));
		json_object_set_new(s, "enum", e);
	}
	if (f->type == WA_F_JID || f->type == WA_F_ARR_JID)
		json_object_set_new(s, "description", json_string("JID (628123456789@s.whatsapp.net, …@g.us) or phone number"));
	return s;
}

static json_t *request_body(const struct wa_route *rt)
{
	json_t *props = json_object(), *req = json_array(), *body;
	char buf[256];
	char *save = NULL;
	int upload = (rt->flags & WA_R_UPLOAD) != 0;

	if (rt->fields) {
		for (const struct wa_field *f = rt->fields; f->type != WA_F_END; f++) {
			json_object_set_new(props, f->name, field_schema(f));
			if (f->required)
				json_array_append_new(req, json_string(f->name));
		}
	}
	snprintf(buf, sizeof buf, "%s", rt->required);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (t[0] == '?')
			continue; /* query parameter */
		if (!json_object_get(props, t))
			json_object_set_new(props, t, strcmp(t, "file") == 0 ?
					    json_pack("{s:s,s:s}", "type", "string", "format", "binary") :
					    json_pack("{s:s}", "type", "string"));
		if (!rt->fields) {
			size_t i;
			json_t *v;
			int have = 0;

			json_array_foreach(req, i, v)
				have |= strcmp(json_string_value(v), t) == 0;
			if (!have)
				json_array_append_new(req, json_string(t));
		}
	}
	if (json_object_size(props) == 0) {
		json_decref(props);
		json_decref(req);
		return NULL;
	}
	body = json_pack("{s:b,s:{s:{s:{s:s,s:o,s:o}}}}", "required", json_array_size(req) > 0, "content",
			 upload ? "multipart/form-data" : "application/json", "schema", "type", "object",
			 "properties", props, "required", req);
	if (body && upload && (rt->flags & WA_R_URL_ALT))
		json_object_set_new(json_object_get(body, "content"), "application/json",
				    json_pack("{s:{s:s,s:{s:{s:s,s:s,s:s}},s:[s]}}", "schema", "type", "object",
					      "properties", "url", "type", "string", "format", "uri", "description",
					      "http(s) URL of the file, fetched under the media.fetch_* rule",
					      "required", "url"));
	/* a GIF sent as a video: gifPlayback (docs/engine.md "Sending media") */
	if (body && rt->op && strcmp(rt->op, "message.send") == 0)
		json_object_set_new(json_object_get(props, "message"), "description",
				    json_string("Text ({\"text\"} or a string), or one media part: image, video, audio "
						"(ptt: true for a voice note), document or sticker, each {\"url\"} or "
						"{\"base64\"}, with caption, mimetype, fileName, pack, author beside it "
						"or inside it. A video with gifPlayback: true (boolean, beside or inside) "
						"is sent as a GIF: a GIF file (also without gifPlayback) or another "
						"non-MP4 video is converted to an H.264 MP4 of at most 60 s, an MP4 "
						"goes as it is."));
	if (body && upload && rt->op && strcmp(rt->op, "message.media") == 0)
		json_object_set_new(json_object_get(json_object_get(json_object_get(json_object_get(body,
				    "content"), "multipart/form-data"), "schema"), "properties"), "gifPlayback",
				    json_pack("{s:s,s:s}", "type", "boolean", "description",
					      "type=video only: send as a GIF (a GIF file always is: converted to MP4)"));
	/* /sticker also takes JSON {url, pack, author} (the n8n node's form) */
	if (body && upload && rt->op && strcmp(rt->op, "message.sticker") == 0)
		json_object_set_new(json_object_get(body, "content"), "application/json",
				    json_pack("{s:{s:s,s:{s:{s:s,s:s},s:{s:s},s:{s:s},s:{s:s,s:[sss]},s:{s:s,s:i,s:i}},"
					      "s:[s]}}", "schema",
					      "type", "object", "properties", "url", "type", "string",
					      "description",
					      "http(s) or data: URL of the image, or of an animated GIF, an "
					      "animated WebP or a video "
					      "of at most 10 s (an animated sticker)", "pack", "type",
					      "string", "author", "type", "string", "type", "type", "string", "enum",
					      "full", "crop", "circle", "quality", "type", "integer", "minimum", 0,
					      "maximum", 100, "required", "url"));
	return body;
}

static json_t *operation(const struct wa_route *rt)
{
	json_t *op = json_pack("{s:[s],s:s,s:s}", "tags", rt->group, "summary", rt->summary, "operationId", "");
	json_t *params = json_array(), *resp = json_object(), *body;
	char buf[128], opid[256];
	char *save = NULL;
	size_t o = 0;

	for (int i = 0; i < rt->nparams; i++)
		json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", rt->param_names[i], "in",
							"path", "required", 1, "schema", "type", "string"));
	snprintf(buf, sizeof buf, "%s", rt->required);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (t[0] == '?')
			json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", t + 1, "in", "query",
								"required", 1, "schema", "type", "string"));
	if (json_array_size(params))
		json_object_set_new(op, "parameters", params);
	else
		json_decref(params);
	if (strcmp(rt->method, "GET") && strcmp(rt->method, "DELETE") && (body = request_body(rt)))
		json_object_set_new(op, "requestBody", body);
	else if (!strcmp(rt->method, "DELETE") && (body = request_body(rt)))
		json_object_set_new(op, "requestBody", body);
	snprintf(buf, sizeof buf, "%s", rt->codes);
	save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_object_set_new(resp, t, json_pack("{s:s}", "description", wa_status_text(atoi(t))));
	json_object_set_new(op, "responses", resp);
	if (rt->flags & WA_R_PUBLIC)
		json_object_set_new(op, "security", json_array());
	/* operationId: method + path words, e.g. post_messages_sessionId_jid_send */
	o = (size_t)snprintf(opid, sizeof opid, "%s", rt->method);
	for (const char *p = rt->pattern + 4; *p && o + 1 < sizeof opid; p++) {
		char c = *p;

		if (c == '{' || c == '}')
			continue;
		opid[o++] = (c == '/' || c == '-' || c == '.') ? '_' : c;
	}
	opid[o] = '\0';
	for (char *p = opid; *p; p++)
		if (*p >= 'A' && *p <= 'Z' && p < opid + strlen(rt->method))
			*p = (char)(*p - 'A' + 'a');
	json_object_set_new(op, "operationId", json_string(opid));
	return op;
}

static void build(void)
{
	json_t *paths = json_object(), *root;
	char method[16];

	for (size_t i = 0; i < wa_nroutes; i++) {
		const struct wa_route *rt = &wa_routes[i];
		json_t *item = json_object_get(paths, rt->pattern);
		size_t k;

		if (!item) {
			item = json_object();
			json_object_set_new(paths, rt->pattern, item);
		}
		for (k = 0; rt->method[k] && k + 1 < sizeof method; k++)
			method[k] = (char)(rt->method[k] - 'A' + 'a');
		method[k] = '\0';
		json_object_set_new(item, method, operation(rt));
	}
	root = json_pack("{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:o,s:{s:{s:{s:s,s:s,s:s},s:{s:s,s:s,s:s}},"
			 "s:{}},s:[{s:[]},{s:[]}]}",
		"openapi", "3.0.3",
		"info", "title", "WA-AKG API", "version", PACKAGE_VERSION,
		"description", "Self-hosted WhatsApp gateway. Authenticate with the X-API-Key header or the "
			       "next-auth.session-token cookie. Errors: {\"status\":false,\"message\",\"error\"}.",
		"servers", "url", base_url,
		"paths", paths,
		"components", "securitySchemes",
		"ApiKeyAuth", "type", "apiKey", "in", "header", "name", "X-API-Key",
		"CookieAuth", "type", "apiKey", "in", "cookie", "name", "next-auth.session-token",
		"schemas",
		"security", "ApiKeyAuth", "CookieAuth");
	if (root)
		json_object_set_new(json_object_get(json_object_get(root, "components"), "schemas"), "Error",
		json_pack("{s:s,s:{s:{s:s,s:b},s:{s:s},s:{s:s}}}", "type", "object", "properties",
			  "status", "type", "boolean", "example", 0, "message", "type", "string",
			  "error", "type", "string"));
	if (root) {
		doc = json_dumps(root, JSON_COMPACT);
		json_decref(root);
	}
}

int h_docs(struct wa_req *r)
{
	base_url = r->app->public_base;
	pthread_once(&once, build);
	if (!doc)
		return wa_reply_error(r, 500, "Cannot build the OpenAPI document", NULL);
	return wa_reply_raw(r, 200, "application/json; charset=utf-8", doc, strlen(doc));
}
