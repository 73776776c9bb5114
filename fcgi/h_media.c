/* h_media: files of the media directory, served by nginx through
 * X-Accel-Redirect (media.accel_prefix is an internal location mapped to
 * media.dir), so the worker never reads file contents.
 *
 * A file name must match ^[A-Za-z0-9][A-Za-z0-9._-]*$ without "..", both
 * when it comes from the URL and when it comes from the database (defence
 * in depth: a bad row never turns into a path outside media.dir).
 * Access to /api/media/{filename}: a SUPERADMIN, the uploader, or anyone
 * who may use the file's session; otherwise 404 (never 403: the answer
 * does not reveal that a file exists). Types that a browser would render as active content on our origin
 * (HTML, SVG, XML, JavaScript...) are always sent as attachments. nginx
 * keeps only a few upstream headers (Content-Type, Content-Disposition...)
 * on an X-Accel-Redirect, so "X-Content-Type-Options: nosniff" belongs in
 * the internal media location of the nginx configuration.
 * A message's media (/api/messages/{sessionId}/download/{messageId}/media)
 * is downloaded and decrypted by the session's engine on first request
 * ("message.download"); the worker then serves the file the same way. */
#include "fcgi/app.h"
#include "fcgi/auth.h"
#include "fcgi/db.h"
#include "fcgi/engine_client.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"

#include "wa_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN 128

static int valid_filename(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > NAME_MAX_LEN || strstr(s, ".."))
		return 0;
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* A MIME type safe to put in a header, else application/octet-stream. */
static const char *safe_mime(const char *m)
{
	if (!m || !*m || strlen(m) > 127 ||
	    strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-/;= ") != strlen(m) ||
	    !strchr(m, '/'))
		return "application/octet-stream";
	return m;
}

/* Types shown inline: passive media and PDF; anything else downloads. */
static int inline_ok(const char *mime)
{
	if (strncasecmp(mime, "image/svg", 9) == 0)
		return 0;
	return strncasecmp(mime, "image/", 6) == 0 || strncasecmp(mime, "audio/", 6) == 0 ||
	       strncasecmp(mime, "video/", 6) == 0 || strncasecmp(mime, "application/pdf", 15) == 0 ||
	       strncasecmp(mime, "text/plain", 10) == 0;
}

/* Content-Disposition with a filename reduced to harmless characters. */
static void disposition(char *out, size_t len, int as_inline, const char *name)
{
	char clean[101];
	size_t o = 0;

	for (const char *p = name ? name : ""; *p && o < sizeof clean - 1; p++)
		clean[o++] = ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f && *p != '"' && *p != '\\' &&
			      *p != ';') ? *p : '_';
	clean[o] = '\0';
	if (o)
		snprintf(out, len, "%s; filename=\"%s\"", as_inline ? "inline" : "attachment", clean);
	else
		snprintf(out, len, "%s", as_inline ? "inline" : "attachment");
}

/* X-Accel-Redirect to the file `name` (already validated). */
static int send_file(struct wa_req *r, const char *name, const char *mime, const char *shown_name)
{
	const char *prefix = r->app->accel_prefix && *r->app->accel_prefix ? r->app->accel_prefix : "/_wa_media/";
	size_t pl = strlen(prefix);
	char uri[512], disp[160];

	mime = safe_mime(mime);
	snprintf(uri, sizeof uri, "%s%s%s", prefix, prefix[pl - 1] == '/' ? "" : "/", name);
	disposition(disp, sizeof disp, inline_ok(mime), shown_name);
	return wa_reply_accel(r, uri, mime, disp);
}

int h_media_get(struct wa_req *r)
{
	const char *name = wa_req_path_param(r, "filename");
	json_t *row;
	json_t *sid;
	int err = 0, rc;

	if (!valid_filename(name))
		return wa_reply_error(r, 400, "Invalid file name", "validation_error");
	row = wa_db_row(r->db, &err, "SELECT wa_session_id, user_id, mime, original_name FROM media_files "
			"WHERE filename = ?", "s", name);
	if (err)
		return wa_reply_db_error(r, "Database error");
	if (!row)
		return wa_reply_error(r, 404, "File not found", "not_found");
	sid = json_object_get(row, "wa_session_id");
	if (r->user.role != WA_ROLE_SUPERADMIN &&
	    (uint64_t)json_integer_value(json_object_get(row, "user_id")) != r->user.id) {
		if (!json_is_integer(sid)) {
			json_decref(row);
			return wa_reply_error(r, 404, "File not found", "not_found");
		}
		/* owner of the file's session, or granted it: anything else reads
		 * as a file that does not exist, so the answer never tells a
		 * stranger which files there are */
		long long ok = wa_db_int(r->db, -1,
			"SELECT COUNT(*) FROM wa_sessions s WHERE s.id = ? AND ((s.user_id = ? AND ? = 1) OR EXISTS "
			"(SELECT 1 FROM session_access a WHERE a.wa_session_id = s.id AND a.user_id = ?))", "uuiu",
			(unsigned long long)json_integer_value(sid), (unsigned long long)r->user.id,
			(long long)(r->user.role == WA_ROLE_OWNER), (unsigned long long)r->user.id);

		if (ok <= 0) {
			json_decref(row);
			return ok < 0 ? wa_reply_db_error(r, "Database error")
				      : wa_reply_error(r, 404, "File not found", "not_found");
		}
	}
	rc = send_file(r, name, json_string_value(json_object_get(row, "mime")),
		       json_is_string(json_object_get(row, "original_name")) ?
		       json_string_value(json_object_get(row, "original_name")) : name);
	json_decref(row);
	return rc;
}

/* Is the file `name` (validated) there in media.dir? */
static int file_present(struct wa_req *r, const char *name)
{
	char p[4200];
	struct stat st;

	if (!r->app->media_dir || !*r->app->media_dir)
		return 1; /* cannot tell: let nginx answer */
	snprintf(p, sizeof p, "%s/%s", r->app->media_dir, name);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The media of a stored message: served from media.dir when downloaded
 * before, else downloaded and decrypted by the engine first (the
 * "message.download" operation, engine/media_dl.h): 404 when the message
 * has no media, 410 when WhatsApp's servers no longer have it, 502 when
 * it cannot be fetched or does not verify (docs/api.md). */
int h_msg_download(struct wa_req *r)
{
	const char *mid = wa_req_path_param(r, "messageId"), *path, *mime;
	json_t *row, *args, *body = NULL;
	int err = 0, rc, status;
	char shown[160] = "";

	if (!mid || !*mid || strlen(mid) > 128)
		return wa_reply_error(r, 400, "Invalid 'messageId'", "validation_error");
	row = wa_db_row(r->db, &err, "SELECT media_path, media_mime, JSON_VALUE(meta, '$.fileName') AS fileName "
			"FROM messages WHERE wa_session_id = ? AND message_id = ?", "us", (unsigned long long)r->sess.id, mid);
	if (err)
		return wa_reply_db_error(r, "Database error");
	if (!row)
		return wa_reply_errorf(r, 404, "not_found", "Message '%.128s' not found in this session", mid);
	path = json_string_value(json_object_get(row, "media_path"));
	if (json_is_string(json_object_get(row, "fileName")))
		snprintf(shown, sizeof shown, "%s", json_string_value(json_object_get(row, "fileName")));
	if (path && valid_filename(path) && file_present(r, path)) {
		rc = send_file(r, path, json_string_value(json_object_get(row, "media_mime")), *shown ? shown : path);
		json_decref(row);
		return rc;
	}
	if (!json_is_string(json_object_get(row, "media_mime")) && !path) {
		json_decref(row);
		return wa_reply_error(r, 404, "Message has no media", "no_media");
	}
	args = json_pack("{s:s,s:b}", "messageId", mid, "force", path != NULL);
	json_decref(row);
	if (!args)
		return wa_reply_error(r, 500, "Out of memory", "internal_error");
	status = wa_engine_call(r, "message.download", args, &body);
	json_decref(args);
	if (status != 200)
		return wa_reply_engine_error(r, status, body);
	path = json_string_value(json_object_get(body, "path"));
	mime = json_string_value(json_object_get(body, "mimetype"));
	if (!path || !valid_filename(path)) {
		json_decref(body);
		return wa_reply_error(r, 502, "The engine named no media file", "media_download_failed");
	}
	if (json_is_string(json_object_get(body, "fileName")))
		snprintf(shown, sizeof shown, "%s", json_string_value(json_object_get(body, "fileName")));
	rc = send_file(r, path, mime, *shown ? shown : path);
	json_decref(body);
	return rc;
}

/* ---- the caller's uploads: GET /api/media, DELETE /api/media ---------- */

#define MEDIA_LIST_MAX 1000
#define MEDIA_DELETE_MAX 500

/* GET /api/media (beyond the reference; the n8n node's media list): the
 * files the caller uploaded (a SUPERADMIN: every file), newest first. */
int h_media_list(struct wa_req *r)
{
	int super = r->user.role == WA_ROLE_SUPERADMIN;
	json_t *rows = wa_db_query(r->db,
		"SELECT filename, original_name AS originalName, mime AS mimetype, size, sha256, "
		"CAST(wa_session_id AS CHAR) AS sessionId, created_at AS createdAt, "
		"CONCAT('/api/media/', filename) AS url FROM media_files WHERE (? = 1 OR user_id = ?) "
		"ORDER BY id DESC LIMIT ?", "iui", (long long)super, (unsigned long long)r->user.id,
		(long long)MEDIA_LIST_MAX);

	if (!rows)
		return wa_reply_db_error(r, "Database error");
	return wa_reply_ok(r, 200, "Media files retrieved", rows);
}

/* DELETE /api/media {"filenames": [...]} (beyond the reference): the
 * caller's files (a SUPERADMIN's: any) removed, row and file; a name that
 * is not one of them is listed as not found, nothing else changes. */
int h_media_delete(struct wa_req *r)
{
	int super = r->user.role == WA_ROLE_SUPERADMIN;
	json_t *names, *v, *gone = json_array(), *missing = json_array();
	size_t i;

	if (wa_req_json(r, 0) < 0)
		return -1;
	names = json_object_get(r->json, "filenames");
	if (!json_is_array(names) || json_array_size(names) == 0 || json_array_size(names) > MEDIA_DELETE_MAX) {
		json_decref(gone);
		json_decref(missing);
		return wa_reply_error(r, 400, "'filenames' must be an array of 1 to 500 file names", "validation_error");
	}
	json_array_foreach(names, i, v)
		if (!valid_filename(json_string_value(v))) {
			json_decref(gone);
			json_decref(missing);
			return wa_reply_errorf(r, 400, "validation_error", "'filenames[%zu]' is not a file name", i);
		}
	json_array_foreach(names, i, v) {
		const char *name = json_string_value(v);
		long long n = wa_db_exec(r->db, "DELETE FROM media_files WHERE filename = ? AND (? = 1 OR user_id = ?)",
					 "siu", name, (long long)super, (unsigned long long)r->user.id);
		char p[4200];

		if (n < 0) {
			json_decref(gone);
			json_decref(missing);
			return wa_reply_db_error(r, "Database error");
		}
		if (n == 0) {
			json_array_append(missing, v);
			continue;
		}
		snprintf(p, sizeof p, "%s/%s", r->app->media_dir ? r->app->media_dir : ".", name);
		if (unlink(p) != 0 && errno != ENOENT)
			wa_warn("cannot remove %s: %s", p, strerror(errno));
		json_array_append(gone, v);
	}
	return wa_reply_json(r, 200, json_pack("{s:b,s:b,s:s,s:o,s:o}", "status", 1, "success", 1, "message",
					       "Media files deleted", "deleted", gone, "notFound", missing));
}
