/* sim_admin: the admin HTTP JSON API of wa-sim (README.md "Admin API").
 *
 * One route table, sim_admin_routes[]: method + path pattern ('*' matches
 * one path segment, passed to the handler in order) -> handler. A handler
 * gets the request body and returns the HTTP status and a JSON reply.
 * Bodies are capped at ADMIN_BODY_MAX (413 beyond). Runs on the lws
 * service thread like everything else in wa-sim. */
#include "sim.h"
#include "sim_call.h"
#include "sim_media.h"
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "wa/crypto.h"
#include "wa_log.h"
#include "wa_util.h"

#define ADMIN_BODY_MAX (24u * 1024 * 1024) /* a media blob (SIM_MEDIA_BLOB_MAX) in base64 */
#define ADMIN_PATH_MAX 512
#define ADMIN_MAX_PARAMS 4
#define ADMIN_PARAM_MAX 128

struct admin_req {
	const char *body;       /* NUL-terminated, may be "" */
	size_t body_len;
	int is_json;            /* Content-Type application/json or body starts with '{' */
	const char *params[ADMIN_MAX_PARAMS];
	int nparams;
};

typedef int (*admin_fn)(struct sim_server *s, const struct admin_req *r, json_t **reply);

struct admin_route {
	const char *method;
	const char *pattern;
	admin_fn fn;
};

static json_t *err_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

static json_t *device_json(const struct sim_account *a, const struct sim_device *d)
{
	char jid[64], lid[64];

	snprintf(jid, sizeof jid, "%s:%u@s.whatsapp.net", a->number, d->id);
	snprintf(lid, sizeof lid, "%s:%u@lid", a->lid, d->id);
	return json_pack("{s:i, s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}}", "id", (int)d->id, "jid", jid,
			 "lid", lid, "online", d->conn != NULL, "platform", d->platform, "pairedAt",
			 (json_int_t)d->paired_at, "queued", (json_int_t)d->qcount, "unanswered",
			 (json_int_t)d->ucount, "iqs", "usync", (json_int_t)d->iq_usync, "groups",
			 (json_int_t)d->iq_groups, "keys", (json_int_t)d->iq_keys, "media", (json_int_t)d->iq_media);
}

static json_t *phone_json(const struct sim_account *a)
{
	char lid[64], idhex[65];
	json_t *devs = json_array(), *o;
	const struct sim_device *d;

	if (devs == NULL)
		return NULL;
	for (d = a->devices; d; d = d->next)
		json_array_append_new(devs, device_json(a, d));
	snprintf(lid, sizeof lid, "%s@lid", a->lid);
	wa_hex_encode(a->identity_pub, 32, idhex);
	o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "number", a->number, "pushName", a->push_name, "lid",
		      lid, "identityKey", idhex, "devices", devs);
	return o;
}

/* POST /admin/phones {"number","pushName"} */
static int h_phone_create(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	json_error_t err;
	json_t *in = json_loadb(r->body, r->body_len, 0, &err);
	const char *number = NULL, *push = "";
	uint8_t priv[32], rnd[32];
	char lid[SIM_NUMBER_MAX + 1], label[64];
	uint32_t raw_id;
	struct sim_account *a;
	int status = 400, rc;

	if (in == NULL || json_unpack_ex(in, &err, 0, "{s:s, s?s}", "number", &number, "pushName", &push)) {
		*reply = err_json("body must be {\"number\": \"<digits>\", \"pushName\": \"...\"}");
		goto out;
	}
	if (!sim_number_valid(number)) {
		*reply = err_json("number must be 5-20 digits without a leading 0");
		goto out;
	}
	if (strlen(push) > SIM_PUSHNAME_MAX) {
		*reply = err_json("pushName too long");
		goto out;
	}
	if (sim_store_account_find(s->store, number)) {
		*reply = err_json("phone exists");
		status = 409;
		goto out;
	}
	snprintf(label, sizeof label, "phone-identity:%s", number);
	if (s->seeded) {
		sim_derive(s->seed, label, priv);
		snprintf(label, sizeof label, "phone-lid:%s", number);
		sim_derive(s->seed, label, rnd);
	} else if (wa_random(priv, 32) != 0 || wa_random(rnd, 16) != 0) {
		*reply = err_json("no randomness");
		status = 500;
		goto out;
	}
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	/* a 15-digit LID like the real ones, first digit 1-9 */
	lid[0] = (char)('1' + rnd[0] % 9);
	for (int i = 1; i < 15; i++)
		lid[i] = (char)('0' + rnd[i] % 10);
	lid[15] = '\0';
	raw_id = ((uint32_t)rnd[12] << 24 | (uint32_t)rnd[13] << 16 | (uint32_t)rnd[14] << 8 | rnd[15]);
	rc = sim_store_account_add(s->store, number, push, priv, lid, raw_id, &a);
	memset(priv, 0, sizeof priv);
	if (rc == -2) {
		*reply = err_json("phone exists");
		status = 409;
		goto out;
	}
	if (rc != 0) {
		*reply = err_json(rc == -3 ? "too many phones" : "cannot create the phone");
		status = rc == -3 ? 507 : 500;
		goto out;
	}
	sim_save(s);
	*reply = phone_json(a);
	status = 201;
out:
	json_decref(in);
	return status;
}

/* GET /admin/phones */
static int h_phone_list(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	json_t *arr = json_array();
	const struct sim_account *a;

	(void)r;
	if (arr == NULL)
		return 500;
	for (a = s->store->accounts; a; a = a->next)
		json_array_append_new(arr, phone_json(a));
	*reply = json_pack("{s:o}", "phones", arr);
	return 200;
}

static struct sim_account *phone_param(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	struct sim_account *a = sim_store_account_find(s->store, r->params[0]);

	if (a == NULL)
		*reply = err_json("no such phone");
	return a;
}

/* GET /admin/phones/{number} */
static int h_phone_get(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	struct sim_account *a = phone_param(s, r, reply);

	if (a == NULL)
		return 404;
	*reply = phone_json(a);
	return 200;
}

/* POST /admin/phones/{number}/scan, body: the QR string, or {"qr": "..."} */
static int h_phone_scan(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	struct sim_account *a = phone_param(s, r, reply);
	const char *qr = r->body, *why = NULL;
	size_t qrlen = r->body_len;
	json_t *in = NULL;
	char jid[64] = "";
	int status;

	if (a == NULL)
		return 404;
	if (r->is_json) {
		json_error_t err;

		in = json_loadb(r->body, r->body_len, 0, &err);
		if (in == NULL || json_unpack_ex(in, &err, 0, "{s:s%}", "qr", &qr, &qrlen)) {
			json_decref(in);
			*reply = err_json("body must be the qr string or {\"qr\": \"...\"}");
			return 400;
		}
	}
	status = sim_pair_scan(s, a, qr, qrlen, jid, sizeof jid, &why);
	if (status == 200)
		*reply = json_pack("{s:s, s:s}", "status", why, "jid", jid);
	else
		*reply = err_json(why);
	json_decref(in);
	return status;
}

/* POST /admin/phones/{number}/link-code, body: the code or {"code": "..."} */
static int h_phone_link_code(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	struct sim_account *a = phone_param(s, r, reply);
	const char *code = r->body, *why = NULL;
	char buf[32];
	json_t *in = NULL;
	int status;

	if (a == NULL)
		return 404;
	if (r->is_json) {
		json_error_t err;

		in = json_loadb(r->body, r->body_len, 0, &err);
		if (in == NULL || json_unpack_ex(in, &err, 0, "{s:s}", "code", &code)) {
			json_decref(in);
			*reply = err_json("body must be the code or {\"code\": \"XXXX-XXXX\"}");
			return 400;
		}
	}
	snprintf(buf, sizeof buf, "%s", code);
	buf[strcspn(buf, "\r\n")] = '\0';
	status = sim_pair_link_code(s, a, buf, &why);
	*reply = status == 200 ? json_pack("{s:s}", "status", why) : err_json(why);
	json_decref(in);
	return status;
}

/* POST /admin/phones/{number}/forget-session {"jid": "<device jid>"} */
static int h_phone_forget_session(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	struct sim_account *a = phone_param(s, r, reply);
	struct sim_phone *p;
	const char *jid = NULL;
	json_error_t err;
	json_t *in;
	int rc;

	if (a == NULL)
		return 404;
	in = json_loadb(r->body, r->body_len, 0, &err);
	if (in == NULL || json_unpack_ex(in, &err, 0, "{s:s}", "jid", &jid)) {
		json_decref(in);
		*reply = err_json("body must be {\"jid\": \"<device jid>\"}");
		return 400;
	}
	p = sim_phone_get(s, a);
	rc = p ? sim_phone_forget_session(p, jid) : -1;
	json_decref(in);
	if (rc < 0) {
		*reply = err_json("not a device JID");
		return 400;
	}
	*reply = json_pack("{s:b}", "forgotten", rc);
	return 200;
}

/* POST /admin/phones/{number}/devices/{device}/remove */
/* POST /admin/phones/{n}/reinstall: a new identity for the phone (a
 * reinstall of WhatsApp), so its next message to anyone is a pkmsg under
 * a key its contacts have not seen. */
static int h_phone_reinstall(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	struct sim_account *a = phone_param(s, r, reply);
	char hex[65];
	int rc;

	if (a == NULL)
		return 404;
	rc = sim_phone_reinstall(s, a);
	if (rc == -2) {
		*reply = err_json("the phone has linked companions; remove them first");
		return 409;
	}
	if (rc != 0) {
		*reply = err_json("cannot make a new identity");
		return 500;
	}
	wa_hex_encode(a->identity_pub, 32, hex);
	*reply = json_pack("{s:b, s:s}", "reinstalled", 1, "identityKey", hex);
	return 200;
}

/* POST /admin/phones/{n}/call {"to", "video"}; GET /admin/phones/{n}/calls (sim_call.h) */
static int h_phone_call(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	struct sim_account *a = phone_param(s, r, reply);
	json_t *in;
	int rc;

	if (a == NULL)
		return 404;
	in = json_loadb(r->body, r->body_len, 0, NULL);
	rc = sim_call_place(s, a, in, reply);
	json_decref(in);
	return rc;
}

static int h_phone_calls(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	struct sim_account *a = phone_param(s, r, reply);

	return a == NULL ? 404 : sim_call_list(s, a, reply);
}

static int h_device_remove(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	struct sim_account *a = phone_param(s, r, reply);
	char *end;
	unsigned long dev;

	if (a == NULL)
		return 404;
	dev = strtoul(r->params[1], &end, 10);
	if (*end != '\0' || dev == 0 || dev > UINT16_MAX || sim_pair_remove_device(s, a, (uint16_t)dev)) {
		*reply = err_json("no such device");
		return 404;
	}
	*reply = json_pack("{s:b}", "removed", 1);
	return 200;
}

/* GET /admin/root-key */
static int h_root_key(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	char hex[65];

	(void)r;
	wa_hex_encode(s->keys.root_pub, 32, hex);
	*reply = json_pack("{s:s, s:I}", "publicKey", hex, "serial", (json_int_t)s->keys.root_serial);
	return 200;
}

/* POST /admin/reset: drop every connection, forget every phone. */
static int h_reset(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	struct sim_conn *c;

	(void)r;
	for (c = s->conns; c; c = c->next)
		sim_conn_drop(c);
	sim_store_clear(s->store);
	sim_save(s);
	*reply = json_pack("{s:b}", "reset", 1);
	return 200;
}

/* POST /admin/connections/drop [{"jid": "<number>:<dev>@s.whatsapp.net"}]:
 * close without a stream error (network failure). */
static int h_drop(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	const char *jid = NULL;
	struct sim_conn *c;
	json_int_t n = 0;

	if (r->body_len > 0) {
		json_error_t err;
		json_t *in = json_loadb(r->body, r->body_len, 0, &err);

		if (in == NULL || json_unpack_ex(in, &err, 0, "{s?s}", "jid", &jid)) {
			json_decref(in);
			*reply = err_json("body must be empty or {\"jid\": \"<device jid>\"}");
			return 400;
		}
		for (c = s->conns; c; c = c->next) {
			if (c->kill || (jid && strcmp(c->jid, jid) != 0))
				continue;
			sim_conn_drop(c);
			n++;
		}
		json_decref(in);
	} else {
		for (c = s->conns; c; c = c->next) {
			if (c->kill)
				continue;
			sim_conn_drop(c);
			n++;
		}
	}
	*reply = json_pack("{s:I}", "dropped", n);
	return 200;
}

/* GET /admin/connections: every live WebSocket connection (with, when
 * logged in, how many messages its device has not answered yet). */
static int h_conn_list(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	json_t *arr = json_array();
	struct sim_conn *c;

	(void)r;
	if (arr == NULL)
		return 500;
	for (c = s->conns; c; c = c->next) {
		const char *st = c->state < SIM_CONN_READY ? "handshake" :
				 c->state == SIM_CONN_CLOSING ? "closing" :
				 c->dev ? "logged-in" : c->is_registration ? "pairing" : "ready";

		json_array_append_new(arr, json_pack("{s:I, s:s?, s:s, s:I, s:I, s:I}", "id", (json_int_t)c->id,
						     "jid", c->dev ? c->jid : NULL, "state", st, "delayMs",
						     (json_int_t)c->delay_ms, "queuedFrames",
						     (json_int_t)c->out_count, "unanswered",
						     (json_int_t)(c->dev ? c->dev->ucount : 0)));
	}
	*reply = json_pack("{s:o}", "connections", arr);
	return 200;
}

/* POST /admin/connections/delay {"ms": n [, "jid": "<device jid>"]}: hold
 * every frame the server sends to those connections for n ms (0 = off). */
static int h_conn_delay(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	json_error_t err;
	json_t *in = json_loadb(r->body, r->body_len, 0, &err);
	const char *jid = NULL;
	json_int_t ms = -1, n = 0;
	struct sim_conn *c;

	if (in == NULL || json_unpack_ex(in, &err, 0, "{s:I, s?s}", "ms", &ms, "jid", &jid) || ms < 0 ||
	    ms > SIM_DELAY_MAX_MS) {
		json_decref(in);
		*reply = err_json("body must be {\"ms\": 0-60000, \"jid\": \"<device jid>\" (optional)}");
		return 400;
	}
	for (c = s->conns; c; c = c->next) {
		if (c->kill || (jid && strcmp(c->jid, jid) != 0))
			continue;
		c->delay_ms = (unsigned)ms;
		n++;
	}
	json_decref(in);
	*reply = json_pack("{s:I}", "delayed", n);
	return 200;
}

/* The live connection a send-raw "jid" names: a device JID (PN or LID) is
 * that device's; a phone (its number or user JID) has to have exactly one
 * connected companion. NULL with *status (400, 404, 409) and *why. */
static struct sim_conn *raw_target_jid(struct sim_server *s, const char *jid, int *status, const char **why)
{
	char buf[WA_JID_STR_MAX];
	struct wa_jid j;
	struct sim_account *a;
	struct sim_conn *c, *found = NULL;
	uint16_t dev = 0;
	int n = 0;

	if (sim_number_valid(jid)) {
		snprintf(buf, sizeof buf, "%s@s.whatsapp.net", jid);
		jid = buf;
	}
	if (wa_jid_parse(jid, &j, NULL) != 0) {
		*status = 400;
		*why = "jid must be a device JID, a user JID or a phone number";
		return NULL;
	}
	wa_jid_normalize(&j);
	a = sim_resolve_user(s, &j, &dev);
	for (c = s->conns; a && c; c = c->next) {
		if (c->kill || c->state != SIM_CONN_READY || c->acc != a || c->dev == NULL || (dev && c->dev->id != dev))
			continue;
		found = c;
		n++;
	}
	if (n == 1)
		return found;
	*status = n == 0 ? 404 : 409;
	*why = n == 0 ? "no connected client with that jid" : "that phone has several connected companions: give a device jid";
	return NULL;
}

/* The live connection with admin id `id` (GET /admin/connections), any
 * state but closing. NULL with *status 404 and *why. */
static struct sim_conn *raw_target_id(struct sim_server *s, json_int_t id, int *status, const char **why)
{
	struct sim_conn *c;

	for (c = s->conns; c; c = c->next)
		if ((json_int_t)c->id == id && !c->kill && c->state != SIM_CONN_CLOSING)
			return c;
	*status = 404;
	*why = "no open connection with that id";
	return NULL;
}

/* The send-raw body: the target (*jid malloc'd, or *id), the bytes
 * (malloc'd, *len of them) and the mode. 0, or the HTTP status (400, 500)
 * with *why set and nothing to free. */
static int raw_parse(const struct admin_req *r, char **jid, json_int_t *id, uint8_t **bytes, size_t *len,
		     int *encrypted, const char **why)
{
	json_error_t err;
	json_t *in = json_loadb(r->body, r->body_len, 0, &err);
	const char *hex = NULL, *j = NULL;
	size_t hlen = 0;
	int status = 400;

	*jid = NULL;
	*bytes = NULL;
	*why = "body must be {\"jid\": \"<device jid or phone>\" or \"id\": <connection id>, \"hex\": \"<bytes>\", "
	       "\"encrypted\": true|false}";
	if (in == NULL || json_unpack_ex(in, &err, 0, "{s?s, s?I, s:s%, s?b}", "jid", &j, "id", id, "hex", &hex, &hlen,
					 "encrypted", encrypted) != 0 || (j == NULL) == (*id <= 0))
		goto out;
	*why = "hex must be pairs of hex digits (at least one byte unless encrypted)";
	if (hlen % 2 != 0 || (hlen == 0 && !*encrypted))
		goto out;
	*len = hlen / 2;
	*bytes = malloc(*len + 1);
	if (*bytes != NULL && wa_hex_decode(hex, *bytes, *len) != 0)
		goto out;
	status = 500;
	*why = "out of memory";
	if (*bytes == NULL || (j != NULL && (*jid = strdup(j)) == NULL))
		goto out;
	status = 0;
out:
	if (status != 0) {
		free(*bytes);
		*bytes = NULL;
	}
	json_decref(in);
	return status;
}

/* POST /admin/connections/send-raw {"jid" | "id", "hex", "encrypted"?}:
 * hostile input for one client (fault injection). encrypted (the
 * default): the bytes are one transport frame's plaintext, which the
 * client decrypts and cannot decode as a node; false: they go on the
 * WebSocket as they are, outside the framing and Noise. */
static int h_conn_send_raw(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	const char *why = NULL;
	char *jid = NULL;
	json_int_t id = 0;
	uint8_t *bytes = NULL;
	size_t len = 0;
	int encrypted = 1, status, rc;
	struct sim_conn *c;

	status = raw_parse(r, &jid, &id, &bytes, &len, &encrypted, &why);
	if (status != 0) {
		*reply = err_json(why);
		return status;
	}
	c = jid ? raw_target_jid(s, jid, &status, &why) : raw_target_id(s, id, &status, &why);
	if (c != NULL) {
		rc = sim_conn_send_raw(c, bytes, len, encrypted);
		status = rc == 0 ? 200 : 409;
		why = rc == -2 ? "a raw message to that client is still waiting to be written"
			       : "that client cannot be sent to now (closing, or still in the handshake for encrypted)";
	}
	if (status == 200)
		*reply = json_pack("{s:b, s:I, s:s?, s:I, s:b}", "sent", 1, "id", (json_int_t)c->id, "jid",
				   c->dev ? c->jid : NULL, "bytes", (json_int_t)len, "encrypted", encrypted);
	else
		*reply = err_json(why);
	free(jid);
	free(bytes);
	return status;
}

/* POST /admin/connections/stream-error {"jid", "code"?, "conflict"?}: end
 * the device's connection with <stream:error code=...> and, with
 * "conflict", a <conflict type=.../> child, as WhatsApp does when the same
 * device logs in elsewhere ("replaced") or is removed ("device_removed");
 * then close it. */
static int h_conn_stream_error(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	json_error_t err;
	json_t *in = json_loadb(r->body, r->body_len, 0, &err);
	const char *jid = NULL, *code = NULL, *conflict = NULL;
	struct sim_conn *c;
	json_int_t n = 0;

	if (in == NULL || json_unpack_ex(in, &err, 0, "{s:s, s?s, s?s}", "jid", &jid, "code", &code, "conflict",
					 &conflict) != 0 || (code == NULL && conflict == NULL)) {
		json_decref(in);
		*reply = err_json("body must be {\"jid\": \"<device jid>\", \"code\"?: \"515\", \"conflict\"?: "
				  "\"replaced\"} with a code or a conflict");
		return 400;
	}
	for (c = s->conns; c; c = c->next) {
		if (c->kill || c->state == SIM_CONN_CLOSING || strcmp(c->jid, jid) != 0)
			continue;
		sim_conn_stream_error(c, code, conflict);
		n++;
	}
	json_decref(in);
	*reply = json_pack("{s:I}", "ended", n);
	return n ? 200 : 404;
}

/* POST /admin/media/rotate-auth: media_conn's upload auth changes. */
static int h_media_rotate(struct sim_server *s, const struct admin_req *r, json_t **reply)
{
	(void)s;
	(void)r;
	if (sim_media_rotate_auth() != 0) {
		*reply = err_json("no media host (wa-sim runs without --media)");
		return 404;
	}
	*reply = json_pack("{s:b}", "rotated", 1);
	return 200;
}

static const struct admin_route sim_admin_routes[] = {
	{ "POST", "/admin/phones", h_phone_create },
	{ "GET", "/admin/phones", h_phone_list },
	{ "GET", "/admin/phones/*", h_phone_get },
	{ "POST", "/admin/phones/*/scan", h_phone_scan },
	{ "POST", "/admin/phones/*/link-code", h_phone_link_code },
	{ "POST", "/admin/phones/*/forget-session", h_phone_forget_session },
	{ "POST", "/admin/phones/*/reinstall", h_phone_reinstall },
	{ "POST", "/admin/phones/*/call", h_phone_call },
	{ "GET", "/admin/phones/*/calls", h_phone_calls },
	{ "POST", "/admin/phones/*/devices/*/remove", h_device_remove },
	{ "GET", "/admin/root-key", h_root_key },
	{ "POST", "/admin/reset", h_reset },
	{ "GET", "/admin/connections", h_conn_list },
	{ "POST", "/admin/connections/drop", h_drop },
	{ "POST", "/admin/connections/delay", h_conn_delay },
	{ "POST", "/admin/connections/send-raw", h_conn_send_raw },
	{ "POST", "/admin/connections/stream-error", h_conn_stream_error },
	{ "POST", "/admin/media/rotate-auth", h_media_rotate },
	/* next: /admin/phones/{n}/send, /admin/phones/{n}/inbox, groups ... */
	{ NULL, NULL, NULL },
};

/* Match path against pattern; fills params (pointers into pbuf, which
 * receives the decoded segments). 1 on a match. */
static int match(const char *pattern, const char *path, struct admin_req *r,
		 char pbuf[ADMIN_MAX_PARAMS][ADMIN_PARAM_MAX])
{
	r->nparams = 0;
	while (*pattern && *path) {
		if (*pattern == '*') {
			const char *seg_end = strchr(path, '/');
			size_t n = seg_end ? (size_t)(seg_end - path) : strlen(path);

			if (n == 0 || r->nparams >= ADMIN_MAX_PARAMS ||
			    wa_url_decode(path, n, pbuf[r->nparams], ADMIN_PARAM_MAX, 0) < 0)
				return 0;
			r->params[r->nparams] = pbuf[r->nparams];
			r->nparams++;
			pattern++;
			path += n;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	if (*path == '/' && path[1] == '\0')
		path++; /* tolerate one trailing slash */
	return *pattern == '\0' && *path == '\0';
}

/* ---- lws glue ---- */

struct admin_pss {
	char method[8];
	char path[ADMIN_PATH_MAX];
	int is_json;
	char *body;
	size_t body_len;
	int too_big;
	int handled;            /* this transaction was answered */
	char *reply;
	size_t reply_len;
};

size_t sim_admin_pss_size(void)
{
	return sizeof(struct admin_pss);
}

static void pss_release(struct admin_pss *p)
{
	free(p->body);
	free(p->reply);
	p->body = p->reply = NULL;
	p->body_len = p->reply_len = 0;
	p->too_big = 0;
}

static int respond(struct lws *wsi, struct admin_pss *p, int status, json_t *reply)
{
	uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *ptr = start, *end = buf + sizeof buf;

	if (reply == NULL)
		reply = err_json(status >= 500 ? "internal error" : "error");
	p->reply = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	json_decref(reply);
	if (p->reply == NULL)
		return -1;
	p->reply_len = strlen(p->reply);
	if (lws_add_http_common_headers(wsi, (unsigned)status, "application/json", p->reply_len, &ptr,
					end) ||
	    lws_finalize_write_http_header(wsi, start, &ptr, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int handle(struct lws *wsi, struct admin_pss *p)
{
	struct sim_server *s = lws_context_user(lws_get_context(wsi));
	char pbuf[ADMIN_MAX_PARAMS][ADMIN_PARAM_MAX];
	const struct admin_route *rt;
	struct admin_req r;
	json_t *reply = NULL;
	int path_known = 0, status;

	if (p->handled)
		return 0; /* lws may report an empty body's completion after we answered */
	p->handled = 1;
	if (p->too_big)
		return respond(wsi, p, 413, err_json("body too large"));
	memset(&r, 0, sizeof r);
	r.body = p->body ? p->body : "";
	r.body_len = p->body_len;
	r.is_json = p->is_json;
	if (!r.is_json) {
		size_t i = 0;

		while (i < r.body_len && (r.body[i] == ' ' || r.body[i] == '\n' || r.body[i] == '\r'))
			i++;
		r.is_json = i < r.body_len && r.body[i] == '{';
	}
	for (rt = sim_admin_routes; rt->method; rt++) {
		if (!match(rt->pattern, p->path, &r, pbuf))
			continue;
		path_known = 1;
		if (strcmp(rt->method, p->method) != 0)
			continue;
		status = rt->fn(s, &r, &reply);
		wa_info("sim: admin %s %s -> %d", p->method, rt->pattern, status);
		return respond(wsi, p, status, reply);
	}
	if (!path_known && (status = sim_admin_ext(s, p->method, p->path, r.body, r.body_len, &reply)) != 0)
		return respond(wsi, p, status, reply); /* messaging routes (sim_admin_msg.c) */
	return respond(wsi, p, path_known ? 405 : 404,
		       err_json(path_known ? "method not allowed" : "not found"));
}

int sim_admin_callback(struct lws *wsi, int reason, void *user, void *in, size_t len)
{
	struct admin_pss *p = user;
	const char *uri;
	int ulen, m;
	char hdr[64];

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		pss_release(p);
		p->handled = 0;
		m = lws_http_get_uri_and_method(wsi, (char **)&uri, &ulen);
		snprintf(p->method, sizeof p->method, "%s",
			 m == LWSHUMETH_GET ? "GET" : m == LWSHUMETH_POST ? "POST" :
			 m == LWSHUMETH_PUT ? "PUT" : m == LWSHUMETH_DELETE ? "DELETE" : "OTHER");
		if (snprintf(p->path, sizeof p->path, "%s", (const char *)in) >= (int)sizeof p->path)
			p->path[0] = '\0';
		p->is_json = 0;
		if (lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_HTTP_CONTENT_TYPE) > 0 &&
		    strncasecmp(hdr, "application/json", 16) == 0)
			p->is_json = 1;
		if (lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
		    strtoul(hdr, NULL, 10) > 0)
			return 0; /* wait for the body */
		return handle(wsi, p) ? -1 : 0;
	case LWS_CALLBACK_HTTP_BODY:
		if (len == 0 || in == NULL)
			return 0;
		if (p->too_big || len > ADMIN_BODY_MAX - p->body_len) {
			p->too_big = 1;
			return 0;
		}
		{
			char *nb = realloc(p->body, p->body_len + len + 1);

			if (nb == NULL)
				return -1;
			p->body = nb;
			memcpy(p->body + p->body_len, in, len);
			p->body_len += len;
			p->body[p->body_len] = '\0';
		}
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return handle(wsi, p) ? -1 : 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (p->reply == NULL)
			return 0;
		{
			uint8_t *out = malloc(LWS_PRE + p->reply_len);
			int w;

			if (out == NULL)
				return -1;
			memcpy(out + LWS_PRE, p->reply, p->reply_len);
			w = lws_write(wsi, out + LWS_PRE, p->reply_len, LWS_WRITE_HTTP_FINAL);
			free(out);
			pss_release(p);
			if (w < 0)
				return -1;
		}
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		/* a bare TCP connect and close (a port probe) has no pss */
		if (p)
			pss_release(p);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}
