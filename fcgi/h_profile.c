/* h_profile: PUT /api/profile/{sessionId}/picture. The picture arrives as
 * the reference's multipart upload (field "file") or as JSON {"url"} (the
 * n8n node's form), fetched under the media.fetch_* rule (docs/fetch.md);
 * either way it is made into a square JPEG of at most 640 px here
 * (common/wa_picture.c, GraphicsMagick) and the engine gets it base64 as
 * {"jpeg"} for profile.picture.set. Nothing is stored under media.dir: a
 * refused or failed request leaves nothing behind. */
#include "fcgi/app.h"
#include "fcgi/engine_client.h"
#include "fcgi/h_util.h"
#include "fcgi/handlers.h"
#include "fcgi/multipart.h"
#include "fcgi/router.h"
#include "wa_fetch.h"
#include "wa_picture.h"
#include "wa_log.h"
#include "wa_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The uploaded file's bytes (a copy into *buf). 0, or -1 after a 400. */
static int read_file_part(struct wa_req *r, const char *ct, uint8_t **buf, size_t *len)
{
	char boundary[80];
	const char *why = "";
	struct wa_multipart *mp;
	const struct wa_mp_part *file = NULL;
	int rc = -1;

	if (wa_mp_boundary(ct, boundary, sizeof boundary) < 0)
		return wa_reply_error(r, 400, "Send the picture as multipart/form-data with a 'file' field, or JSON {\"url\"}",
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
	for (int i = 0; i < mp->nparts && !file; i++)
		if (strcmp(mp->parts[i].name, "file") == 0 || mp->parts[i].filename[0])
			file = &mp->parts[i];
	if (!file || file->len == 0) {
		rc = wa_reply_error(r, 400, "Missing required file field 'file'", "validation_error");
		goto out;
	}
	*buf = malloc(file->len);
	if (!*buf) {
		rc = wa_reply_error(r, 500, "Out of memory", NULL);
		goto out;
	}
	memcpy(*buf, file->data, file->len);
	*len = file->len;
	rc = 0;
out:
	free(mp);
	return rc;
}

/* The picture at the JSON body's "url", fetched under media.fetch_*
 * (capped to what a picture may be). 0, or -1 after a 400/500. */
static int fetch_url(struct wa_req *r, uint8_t **buf, size_t *len)
{
	struct wa_fetch_policy p;
	struct wa_fetch_result res;
	char err[256], why[256], path[1100];
	const char *url;
	struct stat st;
	ssize_t got;
	int fd, rc;

	if (wa_req_json(r, 0) < 0)
		return -1;
	url = json_string_value(json_object_get(r->json, "url"));
	if (!url)
		return wa_reply_error(r, 400, "Missing required field 'url' (or send a multipart 'file')", "validation_error");
	if (wa_check_http_url(r, "url", url) < 0)
		return -1;
	if (wa_fetch_policy_from_config(r->app->cfg, "media.fetch", &p, err, sizeof err) != WA_OK) {
		wa_error("%s", err);
		return wa_reply_error(r, 500, "Media fetch rule misconfigured", NULL);
	}
	if (p.max_bytes > WA_PICTURE_IN_MAX)
		p.max_bytes = WA_PICTURE_IN_MAX;
	rc = wa_fetch_to_file(url, &p, r->app->media_dir, path, sizeof path, &res, why, sizeof why);
	if (rc != WA_OK) {
		if (wa_err_module(rc) == WA_ERR_FETCH_MODULE)
			return wa_reply_errorf(r, 400, "fetch_failed", "Cannot fetch 'url': %s", why);
		wa_error("profile picture fetch: %s", why);
		return wa_reply_error(r, 500, "Cannot fetch the picture", NULL);
	}
	fd = open(path, O_RDONLY);
	unlink(path);
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0 || (unsigned long long)st.st_size > WA_PICTURE_IN_MAX ||
	    !(*buf = malloc((size_t)st.st_size))) {
		if (fd >= 0)
			close(fd);
		return wa_reply_error(r, 400, "The URL gave no picture", "fetch_failed");
	}
	for (size_t off = 0; off < (size_t)st.st_size; off += (size_t)got) {
		got = read(fd, *buf + off, (size_t)st.st_size - off);
		if (got <= 0) {
			got = -1; /* an error, or the file shorter than fstat said */
			break;
		}
	}
	close(fd);
	if (got < 0) {
		free(*buf);
		*buf = NULL;
		return wa_reply_error(r, 500, "Cannot read the fetched picture", NULL);
	}
	*len = (size_t)st.st_size;
	return 0;
}

int h_profile_picture(struct wa_req *r)
{
	const char *ct = wa_req_header(r, "Content-Type");
	uint8_t *in = NULL, *jpeg = NULL;
	size_t inlen = 0, jlen = 0;
	char why[160], *b64;
	json_t *args;
	int rc;

	if (ct && strncasecmp(ct, "multipart/", 10) == 0)
		rc = read_file_part(r, ct, &in, &inlen);
	else
		rc = fetch_url(r, &in, &inlen);
	if (rc < 0)
		return -1;
	rc = wa_picture_jpeg(in, inlen, WA_PICTURE_SIDE, &jpeg, &jlen, why, sizeof why);
	free(in);
	if (rc != 0)
		return wa_reply_errorf(r, 400, "invalid_image", "Not a usable picture: %s", why);
	b64 = malloc(4 * ((jlen + 2) / 3) + 1);
	if (!b64) {
		free(jpeg);
		return wa_reply_error(r, 500, "Out of memory", NULL);
	}
	wa_base64_encode(jpeg, jlen, b64);
	free(jpeg);
	args = json_pack("{s:s}", "jpeg", b64);
	free(b64);
	if (!args)
		return wa_reply_error(r, 500, "Out of memory", NULL);
	rc = wa_engine_forward(r, r->route->op, args);
	json_decref(args);
	return rc;
}
