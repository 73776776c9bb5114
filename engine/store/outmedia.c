/* outmedia: the media parts of the API's message object (see outmsg.h,
 * "media parts"): parsed into an upload job for engine/media, then built
 * into the WaE2E.Message's imageMessage / videoMessage / audioMessage /
 * documentMessage / stickerMessage from the upload's answer. */
#include "engine/media.h"
#include "engine/store/outmsg.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"
#include "wa_url.h"
#include "wa_util.h"

#include <stdlib.h>
#include <string.h>

#define MIME_MAX 127
#define FILENAME_MAX_LEN 255
#define CAPTION_MAX WA_OUT_TEXT_MAX

static const char *const media_keys[] = { "image", "video", "audio", "document", "sticker" };

int wa_out_is_media(const json_t *msg)
{
	if (!json_is_object(msg))
		return 0;
	for (size_t i = 0; i < sizeof media_keys / sizeof media_keys[0]; i++)
		if (json_object_get(msg, media_keys[i]))
			return 1;
	return 0;
}

/* A field beside the media object (Baileys) or inside it (n8n and the
 * reference's examples): the one inside wins. */
static const json_t *field(const json_t *msg, const json_t *inner, const char *name)
{
	const json_t *v = json_is_object(inner) ? json_object_get(inner, name) : NULL;

	return v ? v : json_object_get(msg, name);
}

/* An optional string field: 0 (value or NULL in *out), or 400. */
static int opt_str(const json_t *msg, const json_t *inner, const char *name, size_t max, const char **out,
		   const char **why, const char *msg_bad)
{
	const json_t *v = field(msg, inner, name);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) > max) {
		*why = msg_bad;
		return 400;
	}
	*out = json_string_value(v);
	return 0;
}

/* An optional boolean field: JSON true / false, or (a multipart form's
 * text) "true", "false", "1", "0"; null or absent is false. 0, or 400. */
static int opt_bool(const json_t *msg, const json_t *inner, const char *name, int *out, const char **why)
{
	const json_t *v = field(msg, inner, name);
	const char *s = json_string_value(v);

	*out = 0;
	if (!v || json_is_null(v) || json_is_false(v))
		return 0;
	if (json_is_true(v) || (s && (!strcmp(s, "true") || !strcmp(s, "1")))) {
		*out = 1;
		return 0;
	}
	if (s && (!strcmp(s, "false") || !strcmp(s, "0") || !*s))
		return 0;
	*why = "'gifPlayback' must be true or false";
	return 400;
}

static int mime_ok(const char *m)
{
	const char *slash = strchr(m, '/');

	if (!slash || slash == m || !slash[1])
		return 0;
	for (const char *p = m; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return 0;
	return 1;
}

static int name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
			return 0;
	return wa_utf8_valid(s);
}

static const char *row_type(enum wa_media_kind k)
{
	switch (k) {
	case WA_MK_IMAGE: return "IMAGE";
	case WA_MK_VIDEO: return "VIDEO";
	case WA_MK_AUDIO:
	case WA_MK_PTT: return "AUDIO";
	case WA_MK_STICKER: return "STICKER";
	default: return "DOCUMENT";
	}
}

/* The last path segment of a URL as a file name, or NULL. */
static char *url_name(const char *url)
{
	const char *end = url + strcspn(url, "?#"), *p = end;
	char *out;

	while (p > url && p[-1] != '/')
		p--;
	if (p == end || end - p > FILENAME_MAX_LEN || !(out = strndup(p, (size_t)(end - p))))
		return NULL;
	if (!name_ok(out)) {
		free(out);
		return NULL;
	}
	return out;
}

/* What the fields say, into o and its job (already made, source set). */
static int common_fields(struct wa_out *o, const json_t *msg, const json_t *inner, const char **why)
{
	struct wa_media_job *j = o->media;
	const char *caption, *mime, *fname, *pack, *author;
	int rc, gif = 0;

	if ((rc = opt_str(msg, inner, "caption", CAPTION_MAX, &caption, why,
			  "'caption' must be a string of at most 65536 bytes")) ||
	    (rc = opt_str(msg, inner, "mimetype", MIME_MAX, &mime, why,
			  "'mimetype' must be a media type such as image/png (at most 127 bytes)")) ||
	    (rc = opt_str(msg, inner, "fileName", FILENAME_MAX_LEN, &fname, why,
			  "'fileName' must be a string of at most 255 bytes")) ||
	    (rc = opt_str(msg, inner, "pack", WA_MEDIA_STICKER_PACK_MAX, &pack, why,
			  "'pack' must be a string of at most 128 bytes")) ||
	    (rc = opt_str(msg, inner, "author", WA_MEDIA_STICKER_PACK_MAX, &author, why,
			  "'author' must be a string of at most 128 bytes")))
		return rc;
	if ((rc = opt_bool(msg, inner, "gifPlayback", &gif, why)) != 0)
		return rc;
	if (gif && j->kind == WA_MK_VIDEO)
		j->gif = 1;
	if (mime && !mime_ok(mime)) {
		*why = "'mimetype' must be a media type such as image/png (at most 127 bytes)";
		return 400;
	}
	if (fname && !name_ok(fname)) {
		*why = "'fileName' must be a file name (no slashes or control characters)";
		return 400;
	}
	if (caption && (!*caption || !wa_utf8_valid(caption)))
		caption = NULL;
	if ((caption && j->kind != WA_MK_IMAGE && j->kind != WA_MK_VIDEO && j->kind != WA_MK_DOCUMENT))
		caption = NULL; /* audio and stickers carry no caption */
	if ((caption && !(o->text = strdup(caption))) ||
	    (mime && j->kind != WA_MK_STICKER && (free(j->mime), !(j->mime = strdup(mime)))) ||
	    (pack && !(j->pack = strdup(pack))) || (author && !(j->author = strdup(author))))
		return -1;
	if (j->kind == WA_MK_DOCUMENT) {
		if (fname)
			o->file_name = strdup(fname);
		else if (j->src == WA_MSRC_URL)
			o->file_name = url_name(j->source);
		if (!o->file_name && !(o->file_name = strdup("file")))
			return -1;
	}
	o->kind = WA_OUT_MEDIA;
	return 0;
}

int wa_out_parse_media(struct wa_out *o, const json_t *msg, const char **why, const char **code)
{
	const json_t *v = NULL, *ptt, *srcv = NULL;
	const char *key = NULL, *src = NULL, *payload;
	enum wa_media_kind kind;
	struct wa_media_job *j;
	char dmime[MIME_MAX + 1];
	int rc;

	*code = "validation_error";
	for (size_t i = 0; i < sizeof media_keys / sizeof media_keys[0]; i++) {
		const json_t *x = json_object_get(msg, media_keys[i]);

		if (!x)
			continue;
		if (v) {
			*why = "One media part per message (image, video, audio, document or sticker)";
			return 400;
		}
		v = x;
		key = media_keys[i];
	}
	if (!v || wa_media_kind_parse(key, &kind) != 0) {
		*why = "No media part";
		return 400;
	}
	ptt = field(msg, v, "ptt");
	if (kind == WA_MK_AUDIO && json_is_true(ptt))
		kind = WA_MK_PTT;
	if (json_is_string(v))
		srcv = v;
	else if (json_is_object(v) && json_is_string(json_object_get(v, "url")))
		srcv = json_object_get(v, "url");
	else if (json_is_object(v) && json_is_string(json_object_get(v, "base64")))
		srcv = json_object_get(v, "base64");
	src = srcv ? json_string_value(srcv) : NULL;
	if (!src || !*src) {
		*why = "The media part needs a source: {\"url\": \"https://...\"}, a data: URL or base64";
		return 400;
	}
	if (!(j = o->media = wa_media_job_new()))
		goto nomem;
	j->kind = kind;
	if (wa_media_data_url(src, &payload, dmime, sizeof dmime) == 0) {
		/* base64 is not copied (it can be tens of MB): the job holds a
		 * reference to its JSON string */
		j->src = WA_MSRC_BASE64;
		j->source = (char *)payload;
		j->source_borrowed = 1;
		j->source_ref = json_incref((json_t *)srcv);
		if (dmime[0] && mime_ok(dmime) && !(j->mime = strdup(dmime)))
			goto nomem;
	} else if (strstr(src, "://") || strncmp(src, "data:", 5) == 0 ||
		   (json_is_object(v) && json_object_get(v, "url"))) {
		if (strlen(src) > WA_URL_MAX) {
			*why = "The media URL is longer than 2048 bytes";
			return 400;
		}
		j->src = WA_MSRC_URL;
		if (!(j->source = strdup(src)))
			goto nomem;
	} else {
		j->src = WA_MSRC_BASE64;
		j->source = (char *)src;
		j->source_borrowed = 1;
		j->source_ref = json_incref((json_t *)srcv);
	}
	/* a data: URL's type stands unless the client names one */
	rc = common_fields(o, msg, v, why);
	if (rc < 0)
		goto nomem;
	return rc;
nomem:
	*why = "Out of memory";
	*code = "internal_error";
	return 500;
}

/* /sticker's "type" (full | crop | circle) and "quality" (1-100; 0 or none:
 * the default), as the reference names them; a multipart form sends them
 * as text. 0, or 400 with *why. */
static int sticker_opts(const json_t *args, struct wa_media_job *j, const char **why)
{
	const json_t *t = json_object_get(args, "type"), *q = json_object_get(args, "quality");
	const char *ts = json_string_value(t);
	long long qv = 0;

	if (t && !json_is_null(t)) {
		if (ts && (!*ts || !strcmp(ts, "full")))
			j->shape = WA_STICKER_FULL;
		else if (ts && !strcmp(ts, "crop"))
			j->shape = WA_STICKER_CROP;
		else if (ts && !strcmp(ts, "circle"))
			j->shape = WA_STICKER_CIRCLE;
		else {
			*why = "'type' must be full, crop or circle";
			return 400;
		}
	}
	if (q && !json_is_null(q)) {
		char *end = NULL;

		if (json_is_integer(q))
			qv = json_integer_value(q);
		else if (json_is_string(q) && *json_string_value(q))
			qv = strtoll(json_string_value(q), &end, 10);
		if ((!json_is_integer(q) && (!end || *end)) || qv < 0 || qv > 100) {
			*why = "'quality' must be a number from 1 to 100 (0: the default, 50)";
			return 400;
		}
		j->quality = (unsigned)qv;
	}
	return 0;
}

int wa_out_parse_upload(struct wa_out *o, const json_t *args, int sticker, const char **why, const char **code)
{
	const json_t *file = json_object_get(args, "file"), *qid = json_object_get(args, "messageId");
	const char *path = json_string_value(json_object_get(file, "path"));
	const char *fmime = json_string_value(json_object_get(file, "mimetype"));
	const char *orig = json_string_value(json_object_get(file, "originalName"));
	enum wa_media_kind kind = WA_MK_STICKER;
	struct wa_media_job *j;
	json_t *fields;
	int rc;

	memset(o, 0, sizeof *o);
	*code = "validation_error";
	if (!path && sticker && json_is_string(json_object_get(args, "url"))) {
		/* /sticker as JSON {url, pack, author}: the /send form of a sticker */
		json_t *msg = json_pack("{s:{s:O}}", "sticker", "url", json_object_get(args, "url"));

		for (const char *const *k = (const char *const[]){ "pack", "author", NULL }; *k; k++)
			if (msg && json_object_get(args, *k))
				json_object_set(msg, *k, json_object_get(args, *k));
		rc = msg ? wa_out_parse_media(o, msg, why, code) : 500;
		json_decref(msg);
		if (rc == 0 && o->media)
			rc = sticker_opts(args, o->media, why);
		if (rc == 0 && qid && json_is_string(qid) && !(o->quoted_id = strdup(json_string_value(qid))))
			rc = 500;
		if (rc != 0)
			wa_out_free(o);
		return rc;
	}
	if (!path) {
		*why = "Missing required file field 'file'";
		return 400;
	}
	if (!sticker && wa_media_kind_parse(json_string_value(json_object_get(args, "type")) ?: "image", &kind) != 0) {
		*why = "'type' must be one of image|video|audio|voice|document|sticker";
		return 400;
	}
	if (qid && (!json_is_string(qid) || !*json_string_value(qid) || strlen(json_string_value(qid)) > 128)) {
		*why = "'messageId' must be the id of a message (1 to 128 characters)";
		return 400;
	}
	if (!(j = o->media = wa_media_job_new()) || !(j->source = strdup(path)))
		goto nomem;
	j->kind = kind;
	j->src = WA_MSRC_FILE;
	if (sticker && (rc = sticker_opts(args, j, why)) != 0)
		goto fail;
	/* the form's fields, with the file's own type and name as defaults */
	if (!(fields = json_deep_copy(args)))
		goto nomem;
	json_object_del(fields, "file");
	json_object_del(fields, "type");
	if (!json_object_get(fields, "mimetype") && fmime && strcmp(fmime, "application/octet-stream") != 0)
		json_object_set_new(fields, "mimetype", json_string(fmime));
	if (!json_object_get(fields, "fileName") && orig && *orig)
		json_object_set_new(fields, "fileName", json_string(orig));
	rc = common_fields(o, fields, NULL, why);
	json_decref(fields);
	if (rc < 0)
		goto nomem;
	if (rc)
		goto fail;
	if (qid && !(o->quoted_id = strdup(json_string_value(qid))))
		goto nomem;
	if (json_is_string(json_object_get(args, "mentions"))) {
		/* a form field: comma-separated JIDs */
		*why = "'mentions' is not taken on uploads; send them with /send";
		rc = 400;
		goto fail;
	}
	return 0;
nomem:
	*why = "Out of memory";
	*code = "internal_error";
	rc = 500;
fail:
	wa_out_free(o);
	return rc;
}

#define BIN(f, p, n) do { f.data = (uint8_t *)(p); f.len = (n); } while (0)

int wa_out_media_pack(struct wa_out *o, WaE2E__ContextInfo *ci, uint8_t **buf, size_t *len)
{
	WaE2E__Message m = WA_E2_E__MESSAGE__INIT;
	WaE2E__ImageMessage im = WA_E2_E__IMAGE_MESSAGE__INIT;
	WaE2E__VideoMessage vm = WA_E2_E__VIDEO_MESSAGE__INIT;
	WaE2E__AudioMessage am = WA_E2_E__AUDIO_MESSAGE__INIT;
	WaE2E__DocumentMessage dm = WA_E2_E__DOCUMENT_MESSAGE__INIT;
	WaE2E__StickerMessage sm = WA_E2_E__STICKER_MESSAGE__INIT;
	struct wa_media_job *j = o->media;

	if (!j || j->status || !j->direct_path || !j->mime_out)
		return WA_EINVAL;
	free(o->media_mime);
	free(o->caption);
	o->caption = NULL;
	if (!(o->media_mime = strdup(j->mime_out)) || (o->text && !(o->caption = strdup(o->text))))
		return WA_ENOMEM;
	o->media_size = j->info.file_length;
	o->type = row_type(j->kind);
	/* the fields every kind has, set the same way in each */
#define COMMON(x) do { \
		x.url = j->url; x.mimetype = j->mime_out; x.directpath = j->direct_path; \
		x.has_filesha256 = 1; BIN(x.filesha256, j->info.file_sha256, 32); \
		x.has_fileencsha256 = 1; BIN(x.fileencsha256, j->info.file_enc_sha256, 32); \
		x.has_mediakey = 1; BIN(x.mediakey, j->media_key, 32); \
		x.has_filelength = 1; x.filelength = j->info.file_length; \
		x.has_mediakeytimestamp = 1; x.mediakeytimestamp = j->key_ts; \
		x.contextinfo = ci; \
	} while (0)
	switch (j->kind) {
	case WA_MK_IMAGE:
		COMMON(im);
		im.caption = o->caption;
		if (j->width && j->height) {
			im.has_width = im.has_height = 1;
			im.width = j->width;
			im.height = j->height;
		}
		if (j->thumb) {
			im.has_jpegthumbnail = 1;
			BIN(im.jpegthumbnail, j->thumb, j->thumb_len);
		}
		m.imagemessage = &im;
		break;
	case WA_MK_VIDEO:
		COMMON(vm);
		vm.caption = o->caption;
		if (j->seconds) {
			vm.has_seconds = 1;
			vm.seconds = j->seconds;
		}
		if (j->width && j->height) {
			vm.has_width = vm.has_height = 1;
			vm.width = j->width;
			vm.height = j->height;
		}
		if (j->thumb) {
			vm.has_jpegthumbnail = 1;
			BIN(vm.jpegthumbnail, j->thumb, j->thumb_len);
		}
		if (j->gif) {
			vm.has_gifplayback = 1;
			vm.gifplayback = 1;
		}
		m.videomessage = &vm;
		break;
	case WA_MK_AUDIO:
	case WA_MK_PTT:
		COMMON(am);
		am.has_ptt = 1;
		am.ptt = j->kind == WA_MK_PTT;
		if (j->seconds) {
			am.has_seconds = 1;
			am.seconds = j->seconds;
		}
		if (j->has_waveform) {
			am.has_waveform = 1;
			BIN(am.waveform, j->waveform, sizeof j->waveform);
		}
		m.audiomessage = &am;
		break;
	case WA_MK_STICKER:
		COMMON(sm);
		sm.has_width = sm.has_height = 1;
		sm.width = j->width;
		sm.height = j->height;
		sm.has_isanimated = 1;
		sm.isanimated = j->animated != 0;
		m.stickermessage = &sm;
		break;
	default:
		COMMON(dm);
		dm.caption = o->caption;
		dm.filename = o->file_name;
		dm.title = o->file_name;
		if (j->pages) {
			dm.has_pagecount = 1;
			dm.pagecount = j->pages;
		}
		m.documentmessage = &dm;
		break;
	}
#undef COMMON
	*len = wa_e2_e__message__get_packed_size(&m);
	if (!(*buf = malloc(*len ? *len : 1)))
		return WA_ENOMEM;
	wa_e2_e__message__pack(&m, *buf);
	return 0;
}

static json_t *b64(const ProtobufCBinaryData *d)
{
	char *s = malloc(4 * ((d->len + 2) / 3) + 1);
	json_t *v;

	if (!s)
		return NULL;
	wa_base64_encode(d->data, d->len, s);
	v = json_string(s);
	free(s);
	return v;
}

static json_t *u64s(uint64_t v)
{
	char b[24];

	snprintf(b, sizeof b, "%llu", (unsigned long long)v);
	return json_string(b);
}

static json_t *ctx_json(const WaE2E__ContextInfo *ci)
{
	json_t *ctx = json_object(), *mj;

	if (ci->stanzaid) {
		json_object_set_new(ctx, "stanzaId", json_string(ci->stanzaid));
		json_object_set_new(ctx, "participant", json_string(ci->participant ? ci->participant : ""));
		if (ci->remotejid)
			json_object_set_new(ctx, "remoteJid", json_string(ci->remotejid));
		if (ci->quotedmessage && ci->quotedmessage->conversation)
			json_object_set_new(ctx, "quotedMessage",
					    json_pack("{s:s}", "conversation", ci->quotedmessage->conversation));
	}
	if (ci->n_mentionedjid) {
		mj = json_array();
		for (size_t i = 0; i < ci->n_mentionedjid; i++)
			json_array_append_new(mj, json_string(ci->mentionedjid[i]));
		json_object_set_new(ctx, "mentionedJid", mj);
	}
	return ctx;
}

json_t *wa_out_media_json(const struct wa_out *o)
{
	const WaE2E__Message *m = o->msg;
	const WaE2E__ContextInfo *ci = NULL;
	const char *name;
	json_t *x;
	/* the fields every kind has */
#define COMMON(p) do { \
		if ((p)->url) json_object_set_new(x, "url", json_string((p)->url)); \
		if ((p)->mimetype) json_object_set_new(x, "mimetype", json_string((p)->mimetype)); \
		if ((p)->has_filesha256) json_object_set_new(x, "fileSha256", b64(&(p)->filesha256)); \
		if ((p)->has_filelength) json_object_set_new(x, "fileLength", u64s((p)->filelength)); \
		if ((p)->has_mediakey) json_object_set_new(x, "mediaKey", b64(&(p)->mediakey)); \
		if ((p)->has_fileencsha256) json_object_set_new(x, "fileEncSha256", b64(&(p)->fileencsha256)); \
		if ((p)->directpath) json_object_set_new(x, "directPath", json_string((p)->directpath)); \
		if ((p)->has_mediakeytimestamp) \
			json_object_set_new(x, "mediaKeyTimestamp", u64s((uint64_t)(p)->mediakeytimestamp)); \
		ci = (p)->contextinfo; \
	} while (0)

	if (!m || !(x = json_object()))
		return NULL;
	if (m->imagemessage) {
		name = "imageMessage";
		COMMON(m->imagemessage);
		if (m->imagemessage->caption)
			json_object_set_new(x, "caption", json_string(m->imagemessage->caption));
		if (m->imagemessage->has_width) {
			json_object_set_new(x, "width", json_integer(m->imagemessage->width));
			json_object_set_new(x, "height", json_integer(m->imagemessage->height));
		}
		if (m->imagemessage->has_jpegthumbnail)
			json_object_set_new(x, "jpegThumbnail", b64(&m->imagemessage->jpegthumbnail));
	} else if (m->videomessage) {
		name = "videoMessage";
		COMMON(m->videomessage);
		if (m->videomessage->caption)
			json_object_set_new(x, "caption", json_string(m->videomessage->caption));
		if (m->videomessage->has_seconds)
			json_object_set_new(x, "seconds", json_integer(m->videomessage->seconds));
		if (m->videomessage->has_width) {
			json_object_set_new(x, "width", json_integer(m->videomessage->width));
			json_object_set_new(x, "height", json_integer(m->videomessage->height));
		}
		if (m->videomessage->has_jpegthumbnail)
			json_object_set_new(x, "jpegThumbnail", b64(&m->videomessage->jpegthumbnail));
		if (m->videomessage->has_gifplayback && m->videomessage->gifplayback)
			json_object_set_new(x, "gifPlayback", json_true());
	} else if (m->audiomessage) {
		name = "audioMessage";
		COMMON(m->audiomessage);
		json_object_set_new(x, "ptt", json_boolean(m->audiomessage->ptt));
		if (m->audiomessage->has_seconds)
			json_object_set_new(x, "seconds", json_integer(m->audiomessage->seconds));
		if (m->audiomessage->has_waveform)
			json_object_set_new(x, "waveform", b64(&m->audiomessage->waveform));
	} else if (m->documentmessage) {
		name = "documentMessage";
		COMMON(m->documentmessage);
		if (m->documentmessage->filename)
			json_object_set_new(x, "fileName", json_string(m->documentmessage->filename));
		if (m->documentmessage->caption)
			json_object_set_new(x, "caption", json_string(m->documentmessage->caption));
		if (m->documentmessage->has_pagecount)
			json_object_set_new(x, "pageCount", json_integer(m->documentmessage->pagecount));
	} else if (m->stickermessage) {
		name = "stickerMessage";
		COMMON(m->stickermessage);
		json_object_set_new(x, "width", json_integer(m->stickermessage->width));
		json_object_set_new(x, "height", json_integer(m->stickermessage->height));
		json_object_set_new(x, "isAnimated", json_boolean(m->stickermessage->isanimated));
	} else {
		json_decref(x);
		return NULL;
	}
#undef COMMON
	if (ci)
		json_object_set_new(x, "contextInfo", ctx_json(ci));
	return json_pack("{s:o}", name, x);
}
