/* media: the media threads and the upload pipeline (see media.h). */
#include "engine/media_int.h"
#include "engine/inbox.h"
#include "engine/video.h"
#include "engine/webp_anim.h"
#include "wa_config.h"
#include "wa_err.h"
#include "wa_fetch.h"
#include "wa_log.h"
#include "wa_util.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MEDIA_THREADS_MAX 16
#define CHUNK (64u * 1024)
#define B64_CHUNK (64u * 1024)          /* base64 chars per step: 48 KiB out */
#define ANSWER_MAX (64u * 1024)         /* the media host's JSON answer */
#define DEFAULT_PACK "WA-AKG"
#define DEFAULT_AUTHOR "User"
#define STALE_TEMP_S (24 * 3600)        /* a temporary file this old is a crash's leftover */

struct item {
	struct wa_media_job *job;
	wa_media_done_fn done;
	void *ctx;
	struct item *next;
};

struct wa_media {
	struct wa_inbox *ib;
	char dir[1024];
	char ca[1024];
	char default_host[WA_MEDIA_HOST_MAX];
	long upload_timeout_ms;
	struct wa_fetch_policy pol;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item *head, *tail;
	size_t queued, running;
	int stop;
	unsigned nthreads;
	pthread_t threads[MEDIA_THREADS_MAX];
};

static int fail(struct wa_media_job *j, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct wa_media_job *j, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->why, sizeof j->why, fmt, ap);
	va_end(ap);
	j->status = status;
	j->code = code;
	return -1;
}

/* A new empty temporary file under the media directory. fd or -1. */
static int temp_file(struct wa_media *m, char *path, size_t cap)
{
	int fd;

	snprintf(path, cap, "%s/.wa-media-XXXXXX", m->dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		wa_error("media: cannot create a temporary file in %s: %s", m->dir, strerror(errno));
		path[0] = '\0';
	}
	return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* base64 (the whole text of the job's source) into a temporary file. */
static int from_base64(struct wa_media *m, struct wa_media_job *j, char *path, size_t cap)
{
	const char *s = j->source;
	size_t len = strlen(s), off = 0;
	struct wa_b64dec d = { 0 };
	uint8_t *out = malloc(B64_CHUNK / 4 * 3 + 8);
	unsigned long long total = 0;
	long n;
	int fd;

	if (!out)
		return fail(j, 500, "internal_error", "Out of memory");
	if ((fd = temp_file(m, path, cap)) < 0) {
		free(out);
		return fail(j, 503, "storage_error", "Cannot store the media file (disk)");
	}
	while (off < len) {
		size_t step = len - off < B64_CHUNK ? len - off : B64_CHUNK;

		if ((n = wa_b64dec_update(&d, s + off, step, out)) < 0)
			goto bad;
		total += (unsigned long long)n;
		if (total > m->pol.max_bytes)
			goto big;
		if (write_all(fd, out, (size_t)n) != 0)
			goto disk;
		off += step;
	}
	if ((n = wa_b64dec_final(&d, out)) < 0)
		goto bad;
	total += (unsigned long long)n;
	if (write_all(fd, out, (size_t)n) != 0)
		goto disk;
	free(out);
	close(fd);
	if (total == 0) {
		unlink(path);
		path[0] = '\0';
		return fail(j, 400, "validation_error", "The media is empty");
	}
	return 0;
bad:
	fail(j, 400, "validation_error", "The media's base64 is not valid base64");
	goto out;
big:
	fail(j, 400, "validation_error", "The media is larger than the limit of %llu bytes", m->pol.max_bytes);
	goto out;
disk:
	fail(j, 503, "storage_error", "Cannot store the media file (disk)");
out:
	free(out);
	close(fd);
	unlink(path);
	path[0] = '\0';
	return -1;
}

/* An upload of the worker's: a regular file directly in the media
 * directory (nothing else is taken, whatever the command says). */
static int upload_ok(struct wa_media *m, const char *p)
{
	size_t dl = strlen(m->dir);
	struct stat st;

	return strncmp(p, m->dir, dl) == 0 && p[dl] == '/' && p[dl + 1] && p[dl + 1] != '.' &&
	       !strchr(p + dl + 1, '/') && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Stage 1: the plaintext in a file; *temp set when it is ours to remove. */
static int plaintext(struct wa_media *m, struct wa_media_job *j, char *path, size_t cap, int *temp)
{
	struct wa_fetch_result r;
	char why[256];
	int rc;

	*temp = 0;
	switch (j->src) {
	case WA_MSRC_URL:
		rc = wa_fetch_to_file(j->source, &m->pol, m->dir, path, cap, &r, why, sizeof why);
		if (rc == WA_ESTORAGE)
			return fail(j, 503, "storage_error", "Cannot store the media file (disk)");
		if (rc == WA_ENOMEM)
			return fail(j, 500, "internal_error", "Out of memory");
		if (rc != WA_OK)
			return fail(j, 400, "validation_error", "media URL refused: %s", why);
		*temp = 1;
		if (!j->mime && r.mime[0] && strcmp(r.mime, "application/octet-stream") != 0 &&
		    !(j->mime = strdup(r.mime)))
			return fail(j, 500, "internal_error", "Out of memory");
		if (r.bytes == 0)
			return fail(j, 400, "validation_error", "media URL refused: the body is empty");
		return 0;
	case WA_MSRC_BASE64:
		if (from_base64(m, j, path, cap) != 0)
			return -1;
		*temp = 1;
		return 0;
	case WA_MSRC_FILE:
		if (!upload_ok(m, j->source))
			return fail(j, 400, "validation_error", "The uploaded file is gone");
		snprintf(path, cap, "%s", j->source);
		return 0;
	}
	return fail(j, 400, "validation_error", "No media source");
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un);

/* Perform c within the upload deadline (media.upload_timeout_ms, 10 s to
 * connect), aborted (CURLE_ABORTED_BY_CALLBACK) when the engine stops. */
static CURLcode perform_bounded(struct wa_media *m, CURL *c)
{
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, m->upload_timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, m);
	return curl_easy_perform(c);
}

struct rb_body {
	FILE *f;
	size_t len;
	char head[1024];              /* the start of the answer: an error's JSON */
	size_t hlen;
};

static size_t on_rb_body(char *p, size_t size, size_t n, void *arg)
{
	struct rb_body *b = arg;
	size_t len = size * n;

	if (b->len + len > (size_t)64 * 1024 * 1024 || fwrite(p, 1, len, b->f) != len)
		return 0;
	if (b->hlen < sizeof b->head - 1) {
		size_t k = len < sizeof b->head - 1 - b->hlen ? len : sizeof b->head - 1 - b->hlen;

		memcpy(b->head + b->hlen, p, k);
		b->hlen += k;
		b->head[b->hlen] = '\0';
	}
	b->len += len;
	return len;
}

/* Stage 1b: the image at path through remove.bg; path becomes its PNG
 * answer (a temporary file, *temp set). */
static int remove_bg(struct wa_media *m, struct wa_media_job *j, char *path, size_t cap, int *temp)
{
	static const uint8_t png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	char out[1100], hdr_key[320];
	struct curl_slist *hdr = NULL;
	struct rb_body b = { 0 };
	curl_mime *form = NULL;
	curl_mimepart *part;
	CURL *c = NULL;
	CURLcode cc;
	long code = 0;
	int fd, rc = -1;

	if ((fd = temp_file(m, out, sizeof out)) < 0)
		return fail(j, 503, "storage_error", "Cannot store the media file (disk)");
	if (!(b.f = fdopen(fd, "wb"))) {
		close(fd);
		unlink(out);
		return fail(j, 500, "internal_error", "Out of memory");
	}
	snprintf(hdr_key, sizeof hdr_key, "X-Api-Key: %s", j->removebg_key ? j->removebg_key : "");
	if (!(c = curl_easy_init()) || !(form = curl_mime_init(c)) || !(hdr = curl_slist_append(NULL, hdr_key)) ||
	    !curl_slist_append(hdr, "Expect:")) {
		fail(j, 500, "internal_error", "Out of memory");
		goto out;
	}
	if (!(part = curl_mime_addpart(form)) || curl_mime_name(part, "image_file") != CURLE_OK ||
	    curl_mime_filedata(part, path) != CURLE_OK || !(part = curl_mime_addpart(form)) ||
	    curl_mime_name(part, "size") != CURLE_OK || curl_mime_data(part, "auto", CURL_ZERO_TERMINATED) != CURLE_OK) {
		fail(j, 500, "internal_error", "Out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, j->removebg_url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_MIMEPOST, form);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "WA-AKG");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_rb_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	cc = perform_bounded(m, c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		fail(j, 503, "engine_busy", "The engine is stopping");
		goto out;
	}
	if (cc != CURLE_OK) {
		wa_warn("media: remove.bg (%s) failed: %s", j->removebg_url, curl_easy_strerror(cc));
		fail(j, 502, "removebg_failed", "remove.bg cannot be reached");
		goto out;
	}
	if (code != 200 || b.hlen < 8 || memcmp(b.head, png_magic, 8) != 0) {
		json_t *e = json_loads(b.head, 0, NULL);
		const char *title = json_string_value(json_object_get(json_array_get(json_object_get(e, "errors"), 0),
								      "title"));

		wa_info("media: remove.bg answered HTTP %ld%s%s", code, title ? ": " : "", title ? title : "");
		if (title)
			fail(j, 502, "removebg_failed", "remove.bg: %.200s", title);
		else
			fail(j, 502, "removebg_failed", "remove.bg answered HTTP %ld without an image", code);
		json_decref(e);
		goto out;
	}
	if (fflush(b.f) != 0) {
		fail(j, 503, "storage_error", "Cannot store the media file (disk)");
		goto out;
	}
	rc = 0;
out:
	if (form)
		curl_mime_free(form);
	curl_slist_free_all(hdr);
	if (c)
		curl_easy_cleanup(c);
	if (fclose(b.f) != 0 && rc == 0)
		rc = fail(j, 503, "storage_error", "Cannot store the media file (disk)");
	if (rc != 0) {
		unlink(out);
		return rc;
	}
	if (*temp)
		unlink(path);
	snprintf(path, cap, "%s", out);
	*temp = 1;
	free(j->mime);
	j->mime = strdup("image/png");
	return j->mime ? 0 : fail(j, 500, "internal_error", "Out of memory");
}

/* The image format of the file at path by its first bytes
 * (wa_media_sniff_image; *mime may be NULL), or NULL. */
static const char *sniff_file(const char *path, const char **mime)
{
	uint8_t head[16];
	size_t n = 0;
	FILE *f = fopen(path, "rb");

	if (f) {
		n = fread(head, 1, sizeof head, f);
		fclose(f);
	}
	return wa_media_sniff_image(head, n, mime);
}

/* A sticker of this file may move: a GIF, an animated WebP (the VP8X
 * animation flag), or no image GraphicsMagick takes (a video, if FFmpeg
 * can read it). */
static int sticker_moves(const char *path)
{
	const char *fmt = sniff_file(path, NULL);
	uint8_t head[32];
	size_t n = 0;
	FILE *f;

	if (!fmt || strcmp(fmt, "GIF") == 0)
		return 1;
	if (strcmp(fmt, "WEBP") != 0 || !(f = fopen(path, "rb")))
		return 0;
	n = fread(head, 1, sizeof head, f);
	fclose(f);
	return wa_webp_is_animated(head, n);
}

/* Stage 2 for stickers: the WebP with its EXIF in a new temporary file
 * (path replaced; *temp set). */
static int make_sticker(struct wa_media *m, struct wa_media_job *j, char *path, size_t cap, int *temp)
{
	char why[160], out[1100], id[33];
	uint8_t rnd[16], *webp = NULL, *exif = NULL, *full = NULL;
	size_t wl = 0, el = 0, fl = 0;
	int fd, rc = -1;

	if (!j->still && sticker_moves(path)) {
		unsigned frames = 0;
		uint32_t max_s = j->max_seconds ? j->max_seconds : WA_MEDIA_ANIM_MAX_IN_S;
		int vr = wa_media_vid_sticker(path, max_s * 1000u, &webp, &wl, &frames, why, sizeof why);

		if (vr == 0 && frames > 1) {
			j->animated = 1;
		} else {
			free(webp);
			webp = NULL;
			if (vr != 0 && (vr == WA_ETOOBIG || !sniff_file(path, NULL)))
				return fail(j, 400, "validation_error", "Cannot make a sticker: %s", why);
		}
	}
	if (!webp && !(webp = wa_media_img_sticker(path, j->shape, j->quality, &wl, why, sizeof why)))
		return fail(j, 400, "validation_error", "Cannot make a sticker: %s", why);
	if (wa_random(rnd, sizeof rnd) == 0)
		wa_hex_encode(rnd, sizeof rnd, id);
	else
		snprintf(id, sizeof id, "wa-akg");
	exif = wa_media_sticker_exif(id, j->pack ? j->pack : DEFAULT_PACK, j->author ? j->author : DEFAULT_AUTHOR,
				     &el);
	full = exif ? wa_media_webp_add_exif(webp, wl, WA_MEDIA_STICKER_SIDE, WA_MEDIA_STICKER_SIDE, exif, el, &fl)
		    : NULL;
	if (!full) {
		fail(j, 500, "internal_error", "Cannot make a sticker (WebP container)");
		goto out;
	}
	if ((fd = temp_file(m, out, sizeof out)) < 0) {
		fail(j, 503, "storage_error", "Cannot store the media file (disk)");
		goto out;
	}
	if (write_all(fd, full, fl) != 0) {
		close(fd);
		unlink(out);
		fail(j, 503, "storage_error", "Cannot store the media file (disk)");
		goto out;
	}
	close(fd);
	if (*temp)
		unlink(path);
	snprintf(path, cap, "%s", out);
	*temp = 1;
	j->width = j->height = WA_MEDIA_STICKER_SIDE;
	free(j->mime);
	j->mime = NULL;
	rc = 0;
out:
	free(webp);
	free(exif);
	free(full);
	return rc;
}

/* Stage 2 for videos: a GIF (by its first bytes), or any video that is
 * not ISO BMFF when gifPlayback was asked for, becomes an MP4 in a new
 * temporary file (path replaced, *temp set; engine/video.h's
 * wa_video_to_mp4) and is sent with gifPlayback, as WhatsApp's clients
 * send GIFs; an MP4 with gifPlayback goes as it is, once FFmpeg has seen a
 * video stream in it. Any other video is left alone. */
static int video_gif(struct wa_media *m, struct wa_media_job *j, char *path, size_t cap, int *temp)
{
	const char *fmt = sniff_file(path, NULL);
	uint32_t s = 0, w = 0, h = 0;
	struct wa_video_info vi;
	struct wa_video_mp4 res;
	char out[1100];
	int fd, rc;

	if (fmt && strcmp(fmt, "GIF") == 0)
		j->gif = 1;
	else if (!j->gif)
		return 0;
	if (!fmt && wa_media_mp4_info(path, &s, &w, &h) == 0) {
		rc = wa_video_probe(path, &vi);
		if (rc == 0 && !vi.has_video)
			rc = WA_EINVAL;
		if (rc == 0 && vi.duration_ms > (int64_t)WA_MEDIA_GIF_MAX_S * 1000 + 500)
			rc = WA_ETOOBIG;
		if (rc == 0)
			return 0;
	} else {
		if ((fd = temp_file(m, out, sizeof out)) < 0)
			return fail(j, 503, "storage_error", "Cannot store the media file (disk)");
		close(fd);
		rc = wa_video_to_mp4(path, out, WA_MEDIA_GIF_MAX_S * 1000u, &res);
		if (rc == 0) {
			if (*temp)
				unlink(path);
			snprintf(path, cap, "%s", out);
			*temp = 1;
			free(j->mime);
			if (!(j->mime = strdup("video/mp4")))
				return fail(j, 500, "internal_error", "Out of memory");
			wa_debug("media: GIF made an MP4 of %ux%u, %u frames, %lld ms", res.width, res.height,
				 res.frames, (long long)res.duration_ms);
			return 0;
		}
		unlink(out);
	}
	switch (rc) {
	case WA_ETOOBIG:
		if (wa_video_probe(path, &vi) == 0 && vi.duration_ms > (int64_t)WA_MEDIA_GIF_MAX_S * 1000 + 500)
			return fail(j, 400, "validation_error",
				    "Cannot send the GIF: it is %lld s long; GIFs are sent of at most %u s",
				    (long long)((vi.duration_ms + 500) / 1000), (unsigned)WA_MEDIA_GIF_MAX_S);
		return fail(j, 400, "validation_error",
			    "Cannot send the GIF: it is too long or too large (at most %u s, %u frames, %u pixels a side)",
			    (unsigned)WA_MEDIA_GIF_MAX_S, (unsigned)WA_VIDEO_MAX_DECODED, (unsigned)WA_VIDEO_MAX_SIDE);
	case WA_ENOMEM:
		return fail(j, 500, "internal_error", "Out of memory");
	case WA_EINTERNAL:
		return fail(j, 500, "internal_error", "Cannot send the GIF: this engine's FFmpeg has no H.264 encoder");
	case WA_EIO:
		return fail(j, 503, "storage_error", "Cannot store the media file (disk)");
	default:
		return fail(j, 400, "validation_error",
			    "Cannot send the GIF: the file is not a GIF or a video this gateway can read");
	}
}

static int pdf_magic(const char *path)
{
	char head[5];
	FILE *f = fopen(path, "rb");
	int yes = f && fread(head, 1, 5, f) == 5 && memcmp(head, "%PDF-", 5) == 0;

	if (f)
		fclose(f);
	return yes;
}

static int is_pdf(const struct wa_media_job *j)
{
	return j->mime && strncmp(j->mime, "application/pdf", 15) == 0;
}

/* Stage 2: what the message says about the file, kind by kind. */
static int describe(struct wa_media *m, struct wa_media_job *j, char *path, size_t cap, int *temp)
{
	char why[160];

	switch (j->kind) {
	case WA_MK_STICKER:
		return make_sticker(m, j, path, cap, temp);
	case WA_MK_IMAGE:
		if (wa_media_img_thumb(path, &j->width, &j->height, &j->thumb, &j->thumb_len, why, sizeof why) != 0)
			return fail(j, 400, "validation_error", "Cannot send the image: %s", why);
		if (!j->mime) {
			const char *mime = NULL;

			if (sniff_file(path, &mime) && !(j->mime = strdup(mime)))
				return fail(j, 500, "internal_error", "Out of memory");
		}
		return 0;
	case WA_MK_DOCUMENT:
		if (!j->mime || is_pdf(j))
			j->pages = wa_media_pdf_pages(path);
		/* no type given: a PDF (its first bytes say) or plain bytes */
		if (!j->mime && !(j->mime = strdup(pdf_magic(path) ? "application/pdf" : "application/octet-stream")))
			return fail(j, 500, "internal_error", "Out of memory");
		return 0;
	case WA_MK_AUDIO:
	case WA_MK_PTT:
		j->seconds = wa_media_ogg_seconds(path);
		if (!j->seconds) { /* M4A / AAC in MP4 */
			uint32_t w, h;

			(void)wa_media_mp4_info(path, &j->seconds, &w, &h);
		}
		if (j->kind == WA_MK_PTT) {
			uint32_t secs = 0;

			/* the waveform from the decoded samples (and their length
			 * when the container did not say) */
			if (wa_media_vid_waveform(path, &secs, j->waveform) == 0) {
				j->has_waveform = 1;
				if (!j->seconds)
					j->seconds = secs;
			}
		} else if (!j->seconds) {
			struct wa_video_info vi;

			if (wa_video_probe(path, &vi) == 0 && vi.duration_ms > 0)
				j->seconds = (uint32_t)((vi.duration_ms + 500) / 1000);
		}
		return 0;
	case WA_MK_VIDEO:
		if (video_gif(m, j, path, cap, temp) != 0)
			return -1;
		(void)wa_media_mp4_info(path, &j->seconds, &j->width, &j->height);
		(void)wa_media_vid_thumb(path, &j->width, &j->height, &j->seconds, &j->thumb, &j->thumb_len);
		return 0;
	default:
		return 0;
	}
}

/* Stage 3: path encrypted into a new temporary file (enc). */
static int encrypt_file(struct wa_media *m, struct wa_media_job *j, const char *path, char *enc, size_t cap)
{
	struct wa_media_enc *e = NULL;
	uint8_t *in = malloc(CHUNK), *out = malloc(CHUNK + WA_MEDIA_STREAM_SLACK);
	size_t olen;
	ssize_t n;
	int fd = -1, efd = -1, rc = -1;

	enc[0] = '\0';
	if (!in || !out || wa_media_new_key(j->media_key) != 0 ||
	    !(e = wa_media_enc_new(wa_media_kind_type(j->kind), j->media_key))) {
		fail(j, 500, "internal_error", "Out of memory");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (efd = temp_file(m, enc, cap)) < 0) {
		fail(j, 503, "storage_error", "Cannot read or store the media file (disk)");
		goto out;
	}
	for (;;) {
		n = read(fd, in, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(j, 503, "storage_error", "Cannot read the media file (disk)");
			goto out;
		}
		if (n == 0)
			break;
		if (wa_media_enc_update(e, in, (size_t)n, out, &olen) != 0) {
			fail(j, 500, "internal_error", "Media encryption failed");
			goto out;
		}
		if (write_all(efd, out, olen) != 0) {
			fail(j, 503, "storage_error", "Cannot store the media file (disk)");
			goto out;
		}
	}
	if (wa_media_enc_final(e, out, &olen, &j->info) != 0 || write_all(efd, out, olen) != 0) {
		fail(j, 503, "storage_error", "Cannot store the media file (disk)");
		goto out;
	}
	if (j->info.file_length == 0) {
		fail(j, 400, "validation_error", "The media is empty");
		goto out;
	}
	if (j->info.file_length > m->pol.max_bytes) {
		fail(j, 400, "validation_error", "The media is larger than the limit of %llu bytes", m->pol.max_bytes);
		goto out;
	}
	rc = 0;
out:
	wa_media_enc_free(e);
	if (fd >= 0)
		close(fd);
	if (efd >= 0)
		close(efd);
	if (rc != 0 && enc[0]) {
		unlink(enc);
		enc[0] = '\0';
	}
	free(in);
	free(out);
	return rc;
}

struct answer {
	char *buf;
	size_t len;
};

static size_t on_answer(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;

	if (a->len + len > ANSWER_MAX)
		return 0;
	memcpy(a->buf + a->len, p, len);
	a->len += len;
	a->buf[a->len] = '\0';
	return len;
}

/* libcurl's progress hook: an upload stops when the engine does. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct wa_media *m = arg;
	int stop;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	pthread_mutex_lock(&m->mu);
	stop = m->stop;
	pthread_mutex_unlock(&m->mu);
	return stop;
}

/* Stage 4: POST the encrypted file to the media host. */
static int upload(struct wa_media *m, struct wa_media_job *j, const char *enc)
{
	enum wa_media_type t = wa_media_kind_type(j->kind);
	const char *host = j->host[0] ? j->host : m->default_host, *upath = wa_media_upload_path(t);
	char token[45], url[2048], *qauth = NULL;
	struct curl_slist *hdr = NULL;
	struct answer a = { 0 };
	struct stat st;
	json_t *ans = NULL;
	CURL *c = NULL;
	CURLcode cc;
	FILE *f = NULL;
	long code = 0;
	int rc = -1;

	if (!host[0] || !upath)
		return fail(j, 503, "session_not_ready", "No media host to upload to");
	wa_media_upload_token(j->info.file_enc_sha256, 0, token);
	if (!(f = fopen(enc, "rb")) || fstat(fileno(f), &st) != 0) {
		fail(j, 503, "storage_error", "Cannot read the media file (disk)");
		goto out;
	}
	if (!(c = curl_easy_init()) || !(a.buf = malloc(ANSWER_MAX + 1)) ||
	    !(qauth = curl_easy_escape(c, j->auth, 0))) {
		fail(j, 500, "internal_error", "Out of memory");
		goto out;
	}
	a.buf[0] = '\0';
	snprintf(url, sizeof url, "https://%s%s/%s?auth=%s&token=%s", host, upath, token, qauth, token);
	hdr = curl_slist_append(hdr, "Origin: https://web.whatsapp.com");
	hdr = curl_slist_append(hdr, "Referer: https://web.whatsapp.com/");
	hdr = curl_slist_append(hdr, "Content-Type: application/octet-stream");
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_READDATA, f);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)st.st_size);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "WA-AKG");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (m->ca[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, m->ca);
	cc = perform_bounded(m, c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		fail(j, 503, "engine_busy", "The engine is stopping");
		goto out;
	}
	if (cc != CURLE_OK) {
		wa_warn("media: upload to %s failed: %s", host, curl_easy_strerror(cc));
		fail(j, 502, "media_upload_failed", "The upload to WhatsApp's media host failed");
		goto out;
	}
	if (code != 200) {
		wa_warn("media: upload to %s answered HTTP %ld: %.200s", host, code, a.buf);
		fail(j, 502, "media_upload_failed", "WhatsApp's media host refused the upload (HTTP %ld)", code);
		goto out;
	}
	ans = json_loads(a.buf, 0, NULL);
	if (!json_is_string(json_object_get(ans, "direct_path")) || !json_is_string(json_object_get(ans, "url"))) {
		fail(j, 502, "media_upload_failed", "WhatsApp's media host gave no url / direct_path");
		goto out;
	}
	if (!(j->url = strdup(json_string_value(json_object_get(ans, "url")))) ||
	    !(j->direct_path = strdup(json_string_value(json_object_get(ans, "direct_path"))))) {
		fail(j, 500, "internal_error", "Out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(ans);
	if (qauth)
		curl_free(qauth);
	curl_slist_free_all(hdr);
	if (c)
		curl_easy_cleanup(c);
	if (f)
		fclose(f);
	free(a.buf);
	return rc;
}

static void run_job(struct wa_media *m, struct wa_media_job *j)
{
	char path[1100] = "", enc[1100] = "";
	int temp = 0;

	/* a job may run again (a fresh media_conn after a refused upload) */
	j->status = 0;
	j->code = NULL;
	j->why[0] = '\0';
	free(j->url);
	free(j->direct_path);
	free(j->mime_out);
	free(j->thumb);
	j->url = j->direct_path = j->mime_out = NULL;
	j->thumb = NULL;
	j->thumb_len = 0;
	j->width = j->height = j->seconds = j->pages = 0;
	j->animated = j->has_waveform = 0;
	if (plaintext(m, j, path, sizeof path, &temp) == 0 &&
	    (!j->removebg_url || remove_bg(m, j, path, sizeof path, &temp) == 0) && describe(m, j, path, sizeof path, &temp) == 0 &&
	    encrypt_file(m, j, path, enc, sizeof enc) == 0 && upload(m, j, enc) == 0) {
		j->key_ts = (int64_t)time(NULL);
		if (!(j->mime_out = strdup(j->kind == WA_MK_STICKER ? "image/webp"
					   : j->mime ? j->mime : wa_media_kind_mime(j->kind))))
			fail(j, 500, "internal_error", "Out of memory");
	}
	if (temp && path[0])
		unlink(path);
	if (enc[0])
		unlink(enc);
	if (j->status)
		wa_info("media: %s not sent: %s", wa_media_kind_name(j->kind), j->why);
	else
		wa_debug("media: %s of %llu bytes uploaded (%s)", wa_media_kind_name(j->kind),
			 (unsigned long long)j->info.file_length, j->direct_path);
}

static void deliver(void *arg)
{
	struct item *it = arg;

	it->done(it->job, it->ctx);
	free(it);
}

static void *worker(void *arg)
{
	struct wa_media *m = arg;

	for (;;) {
		struct item *it;

		pthread_mutex_lock(&m->mu);
		while (!m->head && !m->stop)
			pthread_cond_wait(&m->cv, &m->mu);
		if (!m->head) {
			pthread_mutex_unlock(&m->mu);
			return NULL;
		}
		it = m->head;
		m->head = it->next;
		if (!m->head)
			m->tail = NULL;
		m->queued--;
		m->running++;
		pthread_mutex_unlock(&m->mu);
		if (m->stop)
			fail(it->job, 503, "engine_busy", "The engine is stopping");
		else
			run_job(m, it->job);
		pthread_mutex_lock(&m->mu);
		m->running--;
		pthread_mutex_unlock(&m->mu);
		if (wa_inbox_post_always(m->ib, deliver, it) != 0)
			wa_error("media: a completion was lost (no memory)");
	}
}

/* Temporary files of the pipeline left by a process that was killed
 * mid-job: removed at start once a day old (another engine sharing the
 * directory may be using younger ones). */
static void sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	time_t now = time(NULL);
	unsigned n = 0;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char p[1300];
		struct stat st;

		if (strncmp(e->d_name, ".wa-media-", 10) != 0 && strncmp(e->d_name, ".wa-fetch-", 10) != 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > STALE_TEMP_S && unlink(p) == 0)
			n++;
	}
	closedir(d);
	if (n)
		wa_info("media: removed %u temporary files older than a day from %s", n, dir);
}

struct wa_media *wa_media_new(const struct wa_config *cfg, unsigned threads, struct wa_inbox *ib)
{
	struct wa_media *m;
	char err[256];
	long t = 0;

	if (threads == 0 || threads > MEDIA_THREADS_MAX || !(m = calloc(1, sizeof *m)))
		return NULL;
	m->ib = ib;
	snprintf(m->dir, sizeof m->dir, "%s", wa_config_get(cfg, "media.dir") ?: "");
	while (strlen(m->dir) > 1 && m->dir[strlen(m->dir) - 1] == '/')
		m->dir[strlen(m->dir) - 1] = '\0';
	snprintf(m->ca, sizeof m->ca, "%s", wa_config_get(cfg, "whatsapp.media_ca") ?: "");
	snprintf(m->default_host, sizeof m->default_host, "%s", wa_config_get(cfg, "whatsapp.media_host") ?: "");
	if (wa_fetch_policy_from_config(cfg, "media.fetch", &m->pol, err, sizeof err) != 0 ||
	    wa_config_get_int(cfg, "media.upload_timeout_ms", 1000, 86400000, &t, err, sizeof err) != 0) {
		wa_error("%s", err);
		free(m);
		return NULL;
	}
	m->upload_timeout_ms = t;
	sweep(m->dir);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		wa_error("media: libcurl would not start");
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	for (m->nthreads = 0; m->nthreads < threads; m->nthreads++)
		if (pthread_create(&m->threads[m->nthreads], NULL, worker, m) != 0) {
			wa_error("media: cannot start a media thread");
			wa_media_free(m);
			return NULL;
		}
	return m;
}

int wa_media_submit(struct wa_media *m, struct wa_media_job *job, wa_media_done_fn done, void *ctx)
{
	struct item *it;

	if (!m)
		return -1;
	pthread_mutex_lock(&m->mu);
	if (m->stop || m->queued >= WA_MEDIA_QUEUE_MAX || !(it = calloc(1, sizeof *it))) {
		pthread_mutex_unlock(&m->mu);
		return -1;
	}
	it->job = job;
	it->done = done;
	it->ctx = ctx;
	if (m->tail)
		m->tail->next = it;
	else
		m->head = it;
	m->tail = it;
	m->queued++;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return 0;
}

size_t wa_media_pending(struct wa_media *m)
{
	size_t n;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->mu);
	n = m->queued + m->running;
	pthread_mutex_unlock(&m->mu);
	return n;
}

void wa_media_free(struct wa_media *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = 1;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	for (unsigned i = 0; i < m->nthreads; i++)
		pthread_join(m->threads[i], NULL);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free(m);
}
