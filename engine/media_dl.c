/* media_dl: message.download (see media_dl.h). */
#include "engine/media_dl.h"
#include "engine/cmd.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "engine/inbox.h"
#include "engine/session_int.h"
#include "engine/store/history.h"
#include "engine/store/mediahost.h"
#include "engine/store/msgs.h"
#include "fcgi/db.h"
#include "wa/crypto.h"
#include "wa/mediacrypto.h"
#include "wa/pbsafe.h"
#include "wa_config.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa_util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DL_CHUNK 65536

struct dl_job {
	struct wa_engine *e;
	struct wa_cmd *cmd;           /* NULL: fn(ctx, ...) is answered instead */
	wa_media_dl_fn fn;
	void *ctx;
	uint64_t row;
	char slug[WA_SESSION_ID_MAX];
	char mid[129];
	struct wa_history_env env;
	const char *dir;              /* media.dir */
	/* read (first db job) */
	char *path;                   /* media_path already set */
	char *mime, *file_name, *mms_type, *dpath;
	uint8_t key[32], enc_sha[32], sha[32];
	int has_enc_sha, has_sha, mtype, has_media;
	uint64_t size;
	/* the download */
	int status;                   /* HTTP-like answer, 0 = go on */
	const char *why, *code;
	char final[160];
	uint64_t got;                 /* plaintext bytes written */
	struct wa_media_dec *dec;
	int fd;
	int write_err;
	int force;                    /* download again (the file went missing) */
	/* loop thread only */
	struct dl_waiter *waiters;    /* the same message asked for meanwhile */
	struct dl_job *next_active;
	int active;
};

struct dl_waiter {
	struct wa_cmd *cmd;
	wa_media_dl_fn fn;
	void *ctx;
	struct dl_waiter *next;
};

/* Downloads under way (loop thread only): a second request for the same
 * message waits for the first rather than downloading it again. */
static struct dl_job *dl_active;

static pthread_mutex_t dl_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dl_cv = PTHREAD_COND_INITIALIZER;
static unsigned dl_running;
static atomic_int dl_closing;

static void job_free(struct dl_job *j)
{
	free(j->path);
	free(j->mime);
	free(j->file_name);
	free(j->mms_type);
	free(j->dpath);
	wa_media_dec_free(j->dec);
	explicit_bzero(j->key, sizeof j->key);
	free(j);
}

static void reply_one(const struct dl_job *j, struct wa_cmd *cmd, wa_media_dl_fn fn, void *ctx)
{
	if (!cmd) {
		if (j->status == 200)
			fn(ctx, 200, j->path ? j->path : j->final, j->mime, NULL);
		else
			fn(ctx, j->status, NULL, NULL, j->why);
		return;
	}
	if (j->status == 200)
		wa_cmd_reply(cmd, 200, json_pack("{s:s,s:s*,s:I,s:s*}", "path", j->path ? j->path : j->final,
						 "mimetype", j->mime, "size", (json_int_t)(j->got ? j->got : j->size),
						 "fileName", j->file_name));
	else
		wa_cmd_reply_error(cmd, j->status, j->why, j->code);
}

/* loop thread: answer the request and those that waited for it */
static void answer(struct dl_job *j)
{
	struct dl_waiter *w;

	if (j->active) {
		for (struct dl_job **pp = &dl_active; *pp; pp = &(*pp)->next_active)
			if (*pp == j) {
				*pp = j->next_active;
				break;
			}
		j->active = 0;
	}
	reply_one(j, j->cmd, j->fn, j->ctx);
	while ((w = j->waiters) != NULL) {
		j->waiters = w->next;
		reply_one(j, w->cmd, w->fn, w->ctx);
		free(w);
	}
	job_free(j);
}

static void fail(struct dl_job *j, int status, const char *why, const char *code)
{
	j->status = status;
	j->why = why;
	j->code = code;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* ---- 1: the row (dbpool thread) ---- */

static int unhex(const char *hex, uint8_t **out, size_t *len)
{
	size_t n = hex ? strlen(hex) : 0;

	*out = NULL;
	*len = 0;
	if (!n || n % 2 || !(*out = malloc(n / 2)))
		return -1;
	if (wa_hex_decode(hex, *out, n / 2) != 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*len = n / 2;
	return 0;
}

static int read_run(struct wa_db *db, void *arg)
{
	struct dl_job *j = arg;
	struct wa_msg_media md;
	WaE2E__Message *m = NULL;
	uint8_t *raw = NULL;
	size_t len = 0;
	json_t *r;
	int err = 0;

	r = wa_db_row(db, &err, "SELECT media_path, media_mime, HEX(raw) AS raw FROM messages WHERE wa_session_id = ? "
		      "AND message_id = ?", "us", (unsigned long long)j->row, j->mid);
	if (!r) {
		if (err)
			fail(j, 503, "Database unavailable", "storage_error");
		else
			fail(j, 404, "Message not found in this session", "not_found");
		return 0;
	}
	j->path = dup_or_null(json_string_value(json_object_get(r, "media_path")));
	j->mime = dup_or_null(json_string_value(json_object_get(r, "media_mime")));
	if (unhex(json_string_value(json_object_get(r, "raw")), &raw, &len) == 0)
		m = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, raw, len, WA_PB_MAX_DEPTH);
	free(raw);
	json_decref(r);
	if (m && wa_msgs_media(m, &md) == 0 && md.direct_path) {
		j->has_media = 1;
		j->mtype = md.mtype;
		memcpy(j->key, md.media_key, 32);
		if ((j->has_enc_sha = md.enc_sha256 != NULL))
			memcpy(j->enc_sha, md.enc_sha256, 32);
		if ((j->has_sha = md.sha256 != NULL))
			memcpy(j->sha, md.sha256, 32);
		j->size = md.size;
		j->file_name = dup_or_null(md.file_name);
		j->mms_type = dup_or_null(md.mms_type);
		j->dpath = dup_or_null(md.direct_path);
		if (!j->mime)
			j->mime = dup_or_null(md.mime);
	}
	if (m)
		wa_e2_e__message__free_unpacked(m, NULL);
	if ((!j->path || j->force) && !j->has_media)
		fail(j, 404, "Message has no media", "no_media");
	if (j->force) {
		free(j->path);
		j->path = NULL;
	}
	return 0;
}

/* ---- 2: the download (its own thread) ---- */

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
	struct dl_job *j = ud;
	size_t in = size * n, off = 0;
	static const size_t step = DL_CHUNK;
	uint8_t out[DL_CHUNK + WA_MEDIA_STREAM_SLACK];

	if (atomic_load(&dl_closing))
		return 0;
	while (off < in) {
		size_t take = in - off < step ? in - off : step, olen = 0;

		if (wa_media_dec_update(j->dec, (const uint8_t *)ptr + off, take, out, &olen) != WA_MEDIA_OK) {
			j->write_err = 1;
			return 0;
		}
		if (olen && write(j->fd, out, olen) != (ssize_t)olen) {
			j->write_err = 2;
			return 0;
		}
		j->got += olen;
		off += take;
	}
	return in;
}

static int on_abort(void *ud)
{
	(void)ud;
	return atomic_load(&dl_closing);
}

/* The file's final name: one per (session, message), the type's extension. */
static void final_name(struct dl_job *j)
{
	static const struct { const char *mime, *ext; } ext[] = {
		{ "image/jpeg", ".jpg" }, { "image/png", ".png" }, { "image/webp", ".webp" }, { "image/gif", ".gif" },
		{ "video/mp4", ".mp4" }, { "video/3gpp", ".3gp" }, { "audio/ogg", ".ogg" }, { "audio/mpeg", ".mp3" },
		{ "audio/mp4", ".m4a" }, { "audio/aac", ".aac" }, { "application/pdf", ".pdf" },
		{ "text/plain", ".txt" },
	};
	uint8_t h[32];
	char hex[65];
	const char *e = ".bin";

	wa_sha256((const uint8_t *)j->mid, strlen(j->mid), h);
	wa_hex_encode(h, 16, hex);
	for (size_t i = 0; j->mime && i < sizeof ext / sizeof ext[0]; i++)
		if (strncmp(j->mime, ext[i].mime, strlen(ext[i].mime)) == 0)
			e = ext[i].ext;
	snprintf(j->final, sizeof j->final, "wa%llu-%s%s", (unsigned long long)j->row, hex, e);
}

static void download(struct dl_job *j)
{
	char tmp[4200], dst[4200];
	uint8_t tail[WA_MEDIA_DEC_FINAL_MAX];
	size_t tlen = 0;
	long code = 0;
	int rc, frc;

	final_name(j);
	snprintf(tmp, sizeof tmp, "%s/.dl-%s-XXXXXX", j->dir, j->final);
	snprintf(dst, sizeof dst, "%s/%s", j->dir, j->final);
	if ((j->fd = mkstemp(tmp)) < 0) {
		wa_warn("session %s: media of %s: cannot create a file in %s: %s", j->slug, j->mid, j->dir,
			strerror(errno));
		fail(j, 502, "Cannot write the media directory", "media_download_failed");
		return;
	}
	j->dec = wa_media_dec_new((enum wa_media_type)j->mtype, j->key, j->has_enc_sha ? j->enc_sha : NULL,
				  j->has_sha ? j->sha : NULL);
	if (!j->dec) {
		fail(j, 502, "Cannot decrypt the media", "media_download_failed");
		goto drop;
	}
	rc = wa_mediahost_get(&j->env, j->dpath, j->has_enc_sha ? j->enc_sha : NULL, j->mms_type,
			      WA_MEDIA_DL_TIMEOUT_MS, on_body, on_abort, j, &code);
	if (atomic_load(&dl_closing)) {
		fail(j, 503, "The engine is stopping", "session_not_ready");
		goto drop;
	}
	if (rc == WA_ENOTFOUND) {
		fail(j, 410, "The media is no longer on WhatsApp's servers", "media_gone");
		goto drop;
	}
	if (rc != 0 || j->write_err) {
		fail(j, 502, j->write_err == 1 ? "The media file does not verify" :
			     j->write_err == 2 ? "Cannot write the media directory" :
			     "The media host cannot be reached", "media_download_failed");
		goto drop;
	}
	frc = wa_media_dec_final(j->dec, tail, &tlen, NULL);
	if (frc != WA_MEDIA_OK) {
		wa_warn("session %s: media of %s does not verify: %s", j->slug, j->mid, wa_media_strerror(frc));
		fail(j, 502, "The media file does not verify", "media_download_failed");
		goto drop;
	}
	if ((tlen && write(j->fd, tail, tlen) != (ssize_t)tlen) || fsync(j->fd) != 0 || close(j->fd) != 0) {
		j->fd = -1;
		fail(j, 502, "Cannot write the media directory", "media_download_failed");
		goto drop;
	}
	j->fd = -1;
	j->got += tlen;
	if (j->size && j->got != j->size) {
		/* the hashes matched, yet not the length the message gave */
		wa_warn("session %s: media of %s is %llu bytes, the message said %llu", j->slug, j->mid,
			(unsigned long long)j->got, (unsigned long long)j->size);
		fail(j, 502, "The media file does not verify", "media_download_failed");
		goto drop;
	}
	if (rename(tmp, dst) != 0) {
		fail(j, 502, "Cannot write the media directory", "media_download_failed");
		goto drop;
	}
	return;
drop:
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	unlink(tmp);
}

static void stored_done(void *arg, int rc);
static int store_run(struct wa_db *db, void *arg);

/* loop thread: the download ended */
static void dl_done(void *arg)
{
	struct dl_job *j = arg;

	if (j->status || atomic_load(&dl_closing)) {
		if (!j->status)
			fail(j, 503, "The engine is stopping", "session_not_ready");
		answer(j);
		return;
	}
	if (wa_dbpool_submit(j->e->db, j->row, store_run, stored_done, j) != 0) {
		fail(j, 503, "The database queue is full", "session_not_ready");
		answer(j);
	}
}

static void *dl_thread(void *arg)
{
	struct dl_job *j = arg;
	struct wa_engine *e = j->e;

	download(j);
	pthread_mutex_lock(&dl_mu);
	(void)wa_inbox_post_always(e->inbox, dl_done, j);
	dl_running--;
	pthread_cond_broadcast(&dl_cv);
	pthread_mutex_unlock(&dl_mu);
	return NULL;
}

/* ---- 3: media_path (dbpool thread) ---- */

static int store_run(struct wa_db *db, void *arg)
{
	struct dl_job *j = arg;
	char size[24];

	snprintf(size, sizeof size, "%llu", (unsigned long long)j->got);
	if (wa_db_exec(db, "UPDATE messages SET media_path = ?, media_mime = COALESCE(media_mime, ?), "
		       "media_size = COALESCE(media_size, ?) WHERE wa_session_id = ? AND message_id = ?", "sssus",
		       j->final, j->mime, size, (unsigned long long)j->row, j->mid) < 0)
		return WA_ESTORAGE;
	return 0;
}

static void stored_done(void *arg, int rc)
{
	struct dl_job *j = arg;

	if (rc != 0)
		fail(j, 503, "Database unavailable", "storage_error");
	else {
		j->status = 200;
		wa_info("session %s: media of %s downloaded (%llu bytes)", j->slug, j->mid, (unsigned long long)j->got);
	}
	answer(j);
}

/* ---- 1 done: start the download (loop thread) ---- */

static void read_done(void *arg, int rc)
{
	struct dl_job *j = arg;
	pthread_attr_t at;
	pthread_t t;
	int started = 0;

	if (rc != 0 && !j->status)
		fail(j, 503, "Database unavailable", "storage_error");
	if (j->status) {
		answer(j);
		return;
	}
	if (j->path && !j->force) {
		/* downloaded before */
		j->status = 200;
		answer(j);
		return;
	}
	if (!j->dir || !*j->dir) {
		fail(j, 502, "No media directory (media.dir)", "media_download_failed");
		answer(j);
		return;
	}
	for (struct dl_job *a = dl_active; a; a = a->next_active) {
		struct dl_waiter *w;

		if (a->row != j->row || strcmp(a->mid, j->mid) != 0 || !(w = calloc(1, sizeof *w)))
			continue;
		/* the same message is being downloaded: wait for it */
		w->cmd = j->cmd;
		w->fn = j->fn;
		w->ctx = j->ctx;
		w->next = a->waiters;
		a->waiters = w;
		job_free(j);
		return;
	}
	pthread_mutex_lock(&dl_mu);
	if (!atomic_load(&dl_closing) && dl_running < WA_MEDIA_DL_THREADS && pthread_attr_init(&at) == 0) {
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		j->fd = -1;
		if (pthread_create(&t, &at, dl_thread, j) == 0) {
			dl_running++;
			started = 1;
		}
		pthread_attr_destroy(&at);
	}
	if (started) {
		/* the thread does not touch these (loop-thread fields) */
		j->active = 1;
		j->next_active = dl_active;
		dl_active = j;
	}
	pthread_mutex_unlock(&dl_mu);
	if (!started) {
		fail(j, 503, "Too many media downloads under way; try again", "busy");
		answer(j);
	}
}

static struct dl_job *job_new(struct wa_session *s, const char *mid)
{
	struct dl_job *j = calloc(1, sizeof *j);

	if (!j)
		return NULL;
	j->e = s->e;
	j->row = s->row_id;
	j->fd = -1;
	snprintf(j->slug, sizeof j->slug, "%s", s->id);
	snprintf(j->mid, sizeof j->mid, "%s", mid);
	j->env = *sess_history_env(s);
	j->dir = wa_config_get(s->e->cfg, "media.dir");
	return j;
}

void wa_media_dl_get(struct wa_session *s, const char *mid, wa_media_dl_fn fn, void *ctx)
{
	struct dl_job *j;

	if (!mid || !*mid || strlen(mid) > 128) {
		fn(ctx, 400, NULL, NULL, "messageId is required");
		return;
	}
	if (!(j = job_new(s, mid))) {
		fn(ctx, 503, NULL, NULL, "Out of memory");
		return;
	}
	j->fn = fn;
	j->ctx = ctx;
	if (wa_dbpool_submit(s->e->db, s->row_id, read_run, read_done, j) != 0) {
		free(j);
		fn(ctx, 503, NULL, NULL, "The database queue is full");
	}
}

void wa_media_dl_op(struct wa_session *s, struct wa_cmd *cmd)
{
	const char *mid = json_string_value(json_object_get(cmd->args, "messageId"));
	struct dl_job *j;

	if (!mid || !*mid || strlen(mid) > 128) {
		wa_cmd_reply_error(cmd, 400, "messageId is required", "validation_error");
		return;
	}
	if (!(j = job_new(s, mid))) {
		wa_cmd_reply_error(cmd, 503, "Out of memory", "session_not_ready");
		return;
	}
	j->cmd = cmd;
	j->force = json_is_true(json_object_get(cmd->args, "force"));
	if (wa_dbpool_submit(s->e->db, s->row_id, read_run, read_done, j) != 0) {
		wa_cmd_reply_error(cmd, 503, "The database queue is full", "session_not_ready");
		free(j);
	}
}

void wa_media_dl_shutdown(struct wa_engine *e)
{
	atomic_store(&dl_closing, 1);
	pthread_mutex_lock(&dl_mu);
	while (dl_running)
		pthread_cond_wait(&dl_cv, &dl_mu);
	pthread_mutex_unlock(&dl_mu);
	if (e->inbox)
		wa_inbox_drain(e->inbox); /* their completions answer 503 now */
}
