/* h_engine: every WhatsApp operation. The route row names the engine
 * operation (route->op) and the body's field rules (route->fields); this
 * handler validates everything the worker can know (body, JIDs, limits,
 * uploaded files) so that bad input is refused with 400 before any engine
 * is involved, then forwards one command and returns the engine's answer.
 *
 * Uploads (WA_R_UPLOAD routes) are multipart/form-data: the file is stored
 * under media.dir first (a media_files row) and the engine gets its path.
 * The picture routes also take a JSON {"url"} (checked by the media fetch
 * rule here, fetched by the engine). */
#include "fcgi/app.h"
#include "fcgi/db.h"
#include "fcgi/engine_client.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "fcgi/multipart.h"
#include "fcgi/router.h"
#include "fcgi/validate.h"
#include "wa/jid.h"
#include "wa_fetch.h"
#include "wa_log.h"
#include "wa_url.h"
#include "wa_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const upload_types = "image|video|audio|voice|document|sticker";

static int enum_has(const char *values, const char *v)
{
	size_t vl = strlen(v);

	for (const char *p = values; *p;) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);

		if (l == vl && memcmp(p, v, l) == 0)
			return 1;
		if (!bar)
			break;
		p = bar + 1;
	}
	return 0;
}

/* Store an uploaded part as a media file (name: its file name in
 * media.dir, cap >= 96); adds {"file": {...}} to args. */
static int store_upload(struct wa_req *r, const struct wa_mp_part *part, json_t *args, char *name, size_t cap)
{
	char path[1024], hex[25], sha[65];
	const char *ext = strrchr(part->filename, '.');
	int fd;
	ssize_t w;
	size_t off = 0;

	if (wa_random_hex(hex, 12) < 0)
		return wa_reply_error(r, 500, "Cannot name the upload", NULL);
	if (!ext || strlen(ext) > 8 || strspn(ext + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(ext + 1))
		ext = "";
	snprintf(name, cap, "up-%s%s", hex, ext);
	snprintf(path, sizeof path, "%s/%s", r->app->media_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	if (fd < 0) {
		wa_error("cannot create %s: %s", path, strerror(errno));
		return wa_reply_error(r, 500, "Cannot store the uploaded file", NULL);
	}
	while (off < part->len) {
		w = write(fd, part->data + off, part->len - off);
		if (w <= 0) {
			close(fd);
			unlink(path);
			return wa_reply_error(r, 500, "Cannot store the uploaded file", NULL);
		}
		off += (size_t)w;
	}
	close(fd);
	wa_sha256_hex(part->data, part->len, sha);
	if (wa_db_exec(r->db, "INSERT INTO media_files (wa_session_id, user_id, filename, original_name, mime, size, sha256) "
		       "VALUES (?, ?, ?, ?, ?, ?, ?)", "uusssus", (unsigned long long)r->sess.id,
		       (unsigned long long)r->user.id, name, part->filename,
		       part->content_type[0] ? part->content_type : "application/octet-stream",
		       (unsigned long long)part->len, sha) < 0) {
		unlink(path);
		return wa_reply_db_error(r, "Cannot record the uploaded file");
	}
	json_object_set_new(args, "file", json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "path", path, "filename", name,
		"originalName", part->filename, "mimetype",
		part->content_type[0] ? part->content_type : "application/octet-stream",
		"size", (json_int_t)part->len, "sha256", sha));
	return 0;
}

/* Undo store_upload when the operation was refused: the file and its row
 * go, so a rejected request leaves nothing behind. */
static void discard_upload(struct wa_req *r, const char *name)
{
	char path[1024];

	snprintf(path, sizeof path, "%s/%s", r->app->media_dir, name);
	if (unlink(path) != 0 && errno != ENOENT)
		wa_warn("cannot remove the refused upload %s: %s", path, strerror(errno));
	if (wa_db_exec(r->db, "DELETE FROM media_files WHERE filename = ?", "s", name) < 0)
		wa_warn("cannot remove the media_files row of the refused upload %s", name);
}

/* multipart/form-data body -> args with every text field; *mpp (caller
 * frees) holds the parts and *filep the file part, which is not stored yet:
 * that waits until every check has passed. */
static int read_upload(struct wa_req *r, json_t *args, struct wa_multipart **mpp, const struct wa_mp_part **filep)
{
	const char *ct = wa_req_header(r, "Content-Type"), *why = "";
	char boundary[80];
	struct wa_multipart *mp;
	const struct wa_mp_part *file = NULL;
	int rc = 0;

	if (!ct || wa_mp_boundary(ct, boundary, sizeof boundary) < 0)
		return wa_reply_error(r, 400, "Send the file as multipart/form-data with a 'file' field",
				      "invalid_body");
	/* spooled to media.dir, not held in the heap (a 64 MB video) */
	if (wa_req_spool_body(r, r->app->max_body, r->app->media_dir) < 0)
		return -1;
	mp = calloc(1, sizeof *mp);
	if (!mp)
		return wa_reply_error(r, 500, "Out of memory", NULL);
	if (wa_mp_parse(r->body, r->body_len, boundary, mp, &why) < 0) {
		rc = wa_reply_errorf(r, 400, "invalid_body", "Malformed multipart body: %s", why);
		goto out;
	}
	for (int i = 0; i < mp->nparts; i++) {
		const struct wa_mp_part *p = &mp->parts[i];

		if (strcmp(p->name, "file") == 0 || (p->filename[0] && !file))
			file = file ? file : p;
		else if (p->name[0] && !json_object_get(args, p->name)) {
			json_t *v = json_stringn(p->data, p->len);

			if (!v) {
				rc = wa_reply_errorf(r, 400, "validation_error", "Form field '%.60s' is not valid UTF-8 text",
						     p->name);
				goto out;
			}
			json_object_set_new(args, p->name, v);
		}
	}
	if (!file || file->len == 0) {
		rc = wa_reply_error(r, 400, "Missing required file field 'file'", "validation_error");
		goto out;
	}
	*mpp = mp;
	*filep = file;
	return 0;
out:
	free(mp);
	return rc;
}

/* A picture route (group / profile picture) given a JSON body: {"url"}. */
static int picture_by_url(struct wa_req *r)
{
	const char *ct = wa_req_header(r, "Content-Type");
	size_t n = strlen(r->route->op);

	return n > 11 && strcmp(r->route->op + n - 11, "picture.set") == 0 && ct &&
	       strncasecmp(ct, "application/json", 16) == 0;
}

static const struct wa_field f_status_form[] = {
	{ "content", WA_F_STR0, 0, NULL },
	{ "type", WA_F_ENUM, 0, "IMAGE|VIDEO" },
	{ NULL, WA_F_END, 0, NULL }
};

/* A status posted as multipart/form-data: the image or video as 'file',
 * the caption as 'content' (may be left out), 'type' IMAGE or VIDEO (by
 * default from the file's type). */
static int status_upload(struct wa_req *r)
{
	const char *ct = wa_req_header(r, "Content-Type");

	return strcmp(r->route->op, "status.update") == 0 && ct && strncasecmp(ct, "multipart/", 10) == 0;
}

/* Code points of a UTF-8 string (WhatsApp counts its limits in characters). */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Checks that depend on the operation, beyond the declared field types. */
static int op_checks(struct wa_req *r, const char *op, json_t *args)
{
	json_t *v;

	if (strcmp(op, "message.media") == 0) {
		const char *t = json_string_value(json_object_get(args, "type"));

		if (!t)
			json_object_set_new(args, "type", json_string("image"));
		else if (!enum_has(upload_types, t))
			return wa_reply_errorf(r, 400, "validation_error", "'type' must be one of %s", upload_types);
	} else if (strcmp(op, "message.spam") == 0) {
		v = json_object_get(args, "count");
		if (v && (json_integer_value(v) < 1 || json_integer_value(v) > r->app->spam_max))
			return wa_reply_errorf(r, 400, "validation_error", "'count' must be from 1 to %ld", r->app->spam_max);
		v = json_object_get(args, "delay");
		if (v && (json_integer_value(v) < 0 || json_integer_value(v) > 600000))
			return wa_reply_error(r, 400, "'delay' must be from 0 to 600000 ms", "validation_error");
	} else if (strcmp(op, "message.broadcast") == 0) {
		if ((long)json_array_size(json_object_get(args, "recipients")) > r->app->broadcast_max)
			return wa_reply_errorf(r, 400, "validation_error", "At most %ld recipients per broadcast",
					       r->app->broadcast_max);
	} else if (strcmp(op, "message.poll") == 0) {
		size_t n = json_array_size(json_object_get(args, "options"));

		v = json_object_get(args, "selectableCount");
		if (n < 2 || n > 12)
			return wa_reply_error(r, 400, "'options' must have 2 to 12 entries", "validation_error");
		if (v && (json_integer_value(v) < 0 || (size_t)json_integer_value(v) > n))
			return wa_reply_error(r, 400, "'selectableCount' must be from 0 to the number of options",
					      "validation_error");
	} else if (strcmp(op, "message.location") == 0) {
		double lat = json_number_value(json_object_get(args, "latitude"));
		double lon = json_number_value(json_object_get(args, "longitude"));

		if (lat < -90 || lat > 90 || lon < -180 || lon > 180)
			return wa_reply_error(r, 400, "'latitude' must be -90..90 and 'longitude' -180..180",
					      "validation_error");
	} else if (strcmp(op, "group.ephemeral") == 0) {
		json_int_t e = json_integer_value(json_object_get(args, "expiration"));

		if (e != 0 && e != 86400 && e != 604800 && e != 7776000)
			return wa_reply_error(r, 400, "'expiration' must be 0, 86400, 604800 or 7776000",
					      "validation_error");
	} else if (strcmp(op, "group.invite.accept") == 0) {
		if (!json_object_get(args, "inviteCode") && !json_object_get(args, "code"))
			return wa_reply_error(r, 400, "Missing required field 'inviteCode' (or 'code')",
					      "validation_error");
	} else if (strcmp(op, "group.community.link") == 0 || strcmp(op, "group.community.unlink") == 0) {
		size_t n = json_array_size(json_object_get(args, "groupJids"));

		if (!json_object_get(args, "groupJid") && !json_object_get(args, "groupJids"))
			return wa_reply_error(r, 400, "Missing required field 'groupJid' (or 'groupJids')",
					      "validation_error");
		if (n > 50)
			return wa_reply_error(r, 400, "'groupJids' may have at most 50 entries", "validation_error");
	} else if (strcmp(op, "message.list") == 0) {
		if (!json_object_get(args, "options") && !json_object_get(args, "sections"))
			return wa_reply_error(r, 400, "Missing required field 'options' (or 'sections')", "validation_error");
		if (json_array_size(json_object_get(args, "options")) > 10)
			return wa_reply_error(r, 400, "'options' may have at most 10 entries", "validation_error");
	} else if (strcmp(op, "message.contact") == 0) {
		size_t i;
		json_t *c;

		/* the reference's {displayName, vcard}, or {fullName, phoneNumber}
		 * that the engine writes as a vCard; the engine checks the vCard */
		json_array_foreach(json_object_get(args, "contacts"), i, c)
			if (!json_is_object(c) || (!json_is_string(json_object_get(c, "vcard")) &&
						   (!json_is_string(json_object_get(c, "fullName")) ||
						    !json_is_string(json_object_get(c, "phoneNumber")))))
				return wa_reply_errorf(r, 400, "validation_error",
						       "'contacts[%zu]' needs a 'vcard' string (with 'displayName'), or "
						       "'fullName' and 'phoneNumber' strings", i);
		if (json_array_size(json_object_get(args, "contacts")) == 0 ||
		    json_array_size(json_object_get(args, "contacts")) > 50)
			return wa_reply_error(r, 400, "'contacts' must have 1 to 50 entries", "validation_error");
	} else if (strcmp(op, "message.forward") == 0) {
		size_t n = json_array_size(json_object_get(args, "toJids"));

		if (n == 0 || n > 100)
			return wa_reply_error(r, 400, "'toJids' must name 1 to 100 chats", "validation_error");
	} else if (strcmp(op, "status.update") == 0) {
		const char *t = json_string_value(json_object_get(args, "type"));

		if (t && strcmp(t, "TEXT") && !json_is_string(json_object_get(args, "mediaUrl")) && !status_upload(r))
			return wa_reply_error(r, 400, "'mediaUrl' (or a multipart 'file') is required for IMAGE and VIDEO "
					      "statuses", "validation_error");
	} else if (strcmp(op, "contact.check") == 0) {
		size_t n = json_array_size(json_object_get(args, "numbers"));

		if (n == 0 || n > 50)
			return wa_reply_error(r, 400, "'numbers' must have 1 to 50 entries", "validation_error");
	} else if (strcmp(op, "chat.read") == 0) {
		size_t i;

		json_array_foreach(json_object_get(args, "messageIds"), i, v)
			if (json_string_length(v) > 128)
				return wa_reply_error(r, 400, "'messageIds' must hold message ids", "validation_error");
		if (json_array_size(json_object_get(args, "messageIds")) > 1000)
			return wa_reply_error(r, 400, "At most 1000 'messageIds' per request", "validation_error");
	} else if (strcmp(op, "chat.presence") == 0) {
		if (!json_object_get(args, "presence") && !json_object_get(args, "type"))
			return wa_reply_error(r, 400, "Missing required field 'presence'", "validation_error");
	} else if (strcmp(op, "profile.name") == 0) {
		const char *n = json_string_value(json_object_get(args, "name"));

		if (utf8_chars(n) > 25 || strchr(n, '\n'))
			return wa_reply_error(r, 400, "'name' must be at most 25 characters on one line", "validation_error");
	} else if (strcmp(op, "profile.status") == 0) {
		if (utf8_chars(json_string_value(json_object_get(args, "status"))) > 139)
			return wa_reply_error(r, 400, "'status' is longer than 139 characters", "validation_error");
	}
	return 0;
}

int h_engine(struct wa_req *r)
{
	const struct wa_route *rt = r->route;
	const char *jid = wa_req_path_param(r, "jid");
	char norm[WA_JID_STR_MAX], stored[96] = "";
	struct wa_multipart *mp = NULL;
	const struct wa_mp_part *file = NULL;
	json_t *args;
	int rc;

	if (jid) {
		struct wa_jid j;
		const char *why = "invalid";

		if (wa_validate_jid(r, "jid", jid, norm, sizeof norm) < 0)
			return -1;
		if ((strncmp(rt->op, "group.", 6) == 0) &&
		    (wa_jid_parse(norm, &j, &why) < 0 || !wa_jid_is_group(&j)))
			return wa_reply_errorf(r, 400, "invalid_jid", "'%s' is not a group JID (…@g.us)", jid);
		if ((strcmp(rt->op, "contact.block") == 0 || strcmp(rt->op, "contact.unblock") == 0) &&
		    (wa_jid_parse(norm, &j, &why) < 0 || wa_jid_is_group(&j)))
			return wa_reply_errorf(r, 400, "invalid_jid", "'%s' is not a user JID: only users are blocked", jid);
	}
	if ((rt->flags & WA_R_UPLOAD) && picture_by_url(r)) {
		/* {"url"} instead of a file (the n8n node's form): fetched by the
		 * engine under the media fetch rule, checked here first */
		struct wa_fetch_policy p;
		char why[256];
		const char *url;

		if (wa_req_json(r, 1) < 0)
			return -1;
		url = json_string_value(json_object_get(r->json, "url"));
		if (!url)
			return wa_reply_error(r, 400, "Send the picture as a multipart 'file' field or as JSON {\"url\"}",
					      "validation_error");
		if (wa_fetch_policy_from_config(r->app->cfg, "media.fetch", &p, why, sizeof why) != WA_OK) {
			wa_error("%s", why);
			return wa_reply_error(r, 500, "Media fetch rule misconfigured", NULL);
		}
		if (wa_url_check(url, &p, why, sizeof why) != WA_OK)
			return wa_reply_errorf(r, 400, "validation_error", "'url' is not allowed: %s", why);
		args = json_deep_copy(r->json);
		if (!args)
			return wa_reply_error(r, 500, "Out of memory", NULL);
	} else if ((rt->flags & WA_R_UPLOAD) && strcmp(rt->op, "message.sticker") == 0 &&
		   wa_req_header(r, "Content-Type") &&
		   strncasecmp(wa_req_header(r, "Content-Type"), "application/json", 16) == 0) {
		/* the n8n node's form: {"url", "pack", "author"} instead of a file */
		if (wa_req_json(r, 0) < 0)
			return -1;
		if (!json_is_string(json_object_get(r->json, "url")) || !*json_string_value(json_object_get(r->json, "url")))
			return wa_reply_error(r, 400, "Send the image as multipart/form-data 'file', or JSON with 'url'",
					      "validation_error");
		if (!(args = json_deep_copy(r->json)))
			return wa_reply_error(r, 500, "Out of memory", NULL);
		json_object_del(args, "file");
	} else if ((rt->flags & WA_R_UPLOAD) || status_upload(r)) {
		args = json_object();
		if (!args)
			return wa_reply_error(r, 500, "Out of memory", NULL);
		if (read_upload(r, args, &mp, &file) < 0) {
			json_decref(args);
			return -1;
		}
		r->json = json_incref(args);
		if (status_upload(r)) {
			/* a media status: the caption may be left out, the type
			 * follows the file's */
			if (wa_validate_body(r, f_status_form) < 0) {
				json_decref(args);
				free(mp);
				return -1;
			}
			if (!json_object_get(args, "content"))
				json_object_set_new(args, "content", json_string(""));
			if (!json_object_get(args, "type"))
				json_object_set_new(args, "type", json_string(strncasecmp(file->content_type, "video/", 6) == 0
									     ? "VIDEO" : "IMAGE"));
		} else if (rt->fields && wa_validate_body(r, rt->fields) < 0) {
			json_decref(args);
			free(mp);
			return -1;
		}
	} else {
		if (wa_req_json(r, 1) < 0)
			return -1;
		/* chat.read: "messageIds": [] means the whole chat, as no ids */
		if (strcmp(rt->op, "chat.read") == 0 && json_is_array(json_object_get(r->json, "messageIds")) &&
		    json_array_size(json_object_get(r->json, "messageIds")) == 0)
			json_object_del(r->json, "messageIds");
		if (rt->fields && wa_validate_body(r, rt->fields) < 0)
			return -1;
		args = json_deep_copy(r->json);
		if (!args)
			return wa_reply_error(r, 500, "Out of memory", NULL);
	}
	json_object_del(args, "sessionId");
	if (jid)
		json_object_set_new(args, "jid", json_string(norm));
	for (int i = 0; i < rt->nparams && i < r->nparams; i++) {
		const char *pn = rt->param_names[i];

		if (strcmp(pn, "sessionId") && strcmp(pn, "jid") && strcmp(pn, "id"))
			json_object_set_new(args, pn, json_string(r->params[i]));
	}
	if (op_checks(r, rt->op, args) < 0 || (file && store_upload(r, file, args, stored, sizeof stored) < 0)) {
		json_decref(args);
		free(mp);
		return -1;
	}
	free(mp);
	rc = wa_engine_forward(r, rt->op, args);
	/* refused (not late: after a 504 the engine may still be using it) */
	if (stored[0] && (r->status < 200 || r->status > 299) && r->status != 504)
		discard_upload(r, stored);
	json_decref(args);
	return rc;
}
