/* test_outmedia: the media parts of the API's message object
 * (engine/store/outmedia.c): the shapes accepted (Baileys', the n8n
 * node's), what is refused before anything is fetched, the multipart
 * forms, and the message built from an upload's answer. */
#include "engine/media.h"
#include "engine/store/outmsg.h"
#include "tap.h"
#include "wa_e2e.pb-c.h"
#include "wa_err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The arguments of the last parse stay alive until the next one: a job
 * borrows its base64 from them (outmsg.h). */
static json_t *last_args;

static int parse(const char *body, struct wa_out *o, const char **why)
{
	const char *code = NULL;

	json_decref(last_args);
	if (!(last_args = json_loads(body, 0, NULL)))
		return -1;
	return wa_out_parse(o, last_args, why, &code);
}

static int upload(const char *body, int sticker, struct wa_out *o, const char **why)
{
	json_t *args = json_loads(body, 0, NULL);
	const char *code = NULL;
	int rc;

	if (!args)
		return -1;
	rc = wa_out_parse_upload(o, args, sticker, why, &code);
	json_decref(args);
	return rc;
}

static void shapes(void)
{
	struct wa_out o;
	const char *why = NULL;

	is_int(parse("{\"message\":{\"image\":{\"url\":\"https://e.x/a.jpg\"},\"caption\":\"hi\"}}", &o, &why), 0,
	       "image by URL, caption beside");
	ok(o.media && o.media->kind == WA_MK_IMAGE && o.media->src == WA_MSRC_URL &&
	   strcmp(o.media->source, "https://e.x/a.jpg") == 0, "a URL job");
	ok(o.kind == WA_OUT_MEDIA && o.text && strcmp(o.text, "hi") == 0, "kind MEDIA, the caption as its text");
	wa_out_free(&o);

	is_int(parse("{\"message\":{\"image\":{\"url\":\"data:image/png;base64,iVBORw0K\",\"caption\":\"in\"}}}", &o,
		     &why), 0, "data: URL, caption inside");
	ok(o.media && o.media->src == WA_MSRC_BASE64 && strcmp(o.media->source, "iVBORw0K") == 0 &&
	   o.media->mime && strcmp(o.media->mime, "image/png") == 0, "its payload and type");
	ok(o.media->source_borrowed && o.media->source ==
	   json_string_value(json_object_get(json_object_get(json_object_get(last_args, "message"), "image"), "url")) + 22,
	   "borrowed from the arguments, not copied");
	ok(o.text && strcmp(o.text, "in") == 0, "caption inside");
	wa_out_free(&o);

	{
		/* the arguments may go right after the parse (the scheduler frees
		 * its own): the job keeps the base64 string alive */
		json_t *args = json_loads("{\"message\":{\"document\":\"aGVsbG8gd29ybGQ=\"}}", 0, NULL);
		const char *code = NULL;

		is_int(wa_out_parse(&o, args, &why, &code), 0, "base64 document");
		json_decref(args);
		ok(o.media && o.media->source_ref && strcmp(o.media->source, "aGVsbG8gd29ybGQ=") == 0,
		   "its base64 outlives the arguments");
		wa_out_free(&o);
	}
	is_int(parse("{\"message\":{\"audio\":\"T2dnUw==\",\"mimetype\":\"audio/ogg\",\"ptt\":true}}", &o, &why), 0,
	       "audio as a base64 string, ptt");
	ok(o.media && o.media->kind == WA_MK_PTT && o.media->src == WA_MSRC_BASE64 &&
	   strcmp(o.media->mime, "audio/ogg") == 0, "a voice note job");
	wa_out_free(&o);

	is_int(parse("{\"message\":{\"document\":{\"url\":\"https://e.x/f/report.pdf?x=1\"}}}", &o, &why), 0,
		     "document by URL");
	ok(o.file_name && strcmp(o.file_name, "report.pdf") == 0, "file name from the URL");
	wa_out_free(&o);
	is_int(parse("{\"message\":{\"document\":{\"base64\":\"AAAA\"},\"fileName\":\"a.bin\"}}", &o, &why), 0,
	       "document by {base64}, fileName beside");
	ok(o.file_name && strcmp(o.file_name, "a.bin") == 0 && o.media->src == WA_MSRC_BASE64, "as given");
	wa_out_free(&o);

	is_int(parse("{\"message\":{\"sticker\":{\"url\":\"https://e.x/s.png\"},\"pack\":\"P\",\"author\":\"A\"}}",
		     &o, &why), 0, "sticker with pack and author");
	ok(o.media && o.media->kind == WA_MK_STICKER && strcmp(o.media->pack, "P") == 0 &&
	   strcmp(o.media->author, "A") == 0 && !o.text, "its names");
	wa_out_free(&o);

	is_int(parse("{\"message\":{\"video\":{\"url\":\"https://e.x/a.gif\"},\"gifPlayback\":true}}", &o, &why),
	       0, "a video with gifPlayback beside it (Baileys)");
	ok(o.media && o.media->kind == WA_MK_VIDEO && o.media->gif, "a GIF job");
	wa_out_free(&o);
	is_int(parse("{\"message\":{\"video\":{\"url\":\"https://e.x/a.mp4\",\"gifPlayback\":false}}}", &o, &why),
	       0, "gifPlayback false inside");
	ok(o.media && !o.media->gif, "a plain video job");
	wa_out_free(&o);
	is_int(parse("{\"message\":{\"image\":{\"url\":\"https://e.x/a.png\"},\"gifPlayback\":true}}", &o, &why),
	       0, "gifPlayback on an image is ignored");
	ok(o.media && !o.media->gif, "no GIF of an image");
	wa_out_free(&o);
	is_int(parse("{\"message\":{\"video\":{\"url\":\"https://e.x/a.gif\"},\"gifPlayback\":\"yes\"}}", &o,
		     &why), 400, "gifPlayback that is no boolean");
	ok(why && strstr(why, "gifPlayback"), "named");
	is_int(parse("{\"message\":{\"video\":{\"url\":\"ftp://e.x/v\"}}}", &o, &why), 0,
	       "a URL of any scheme parses (the media thread refuses it, before any connection)");
	wa_out_free(&o);

	is_int(parse("{\"message\":{\"image\":{\"url\":\"https://a\"},\"video\":{\"url\":\"https://b\"}}}", &o,
		     &why), 400, "two media parts");
	is_int(parse("{\"message\":{\"image\":{}}}", &o, &why), 400, "no source");
	is_int(parse("{\"message\":{\"image\":{\"file\":{\"path\":\"/etc/passwd\"}}}}", &o, &why), 400,
	       "a path is never a source on /send");
	is_int(parse("{\"message\":{\"image\":5}}", &o, &why), 400, "not a string or object");
	is_int(parse("{\"message\":{\"image\":\"AAAA\",\"mimetype\":\"nope\"}}", &o, &why), 400, "bad mimetype");
	is_int(parse("{\"message\":{\"document\":\"AAAA\",\"fileName\":\"../x\"}}", &o, &why), 400,
	       "a fileName with a slash");
	is_int(parse("{\"message\":{\"image\":\"AAAA\",\"caption\":7}}", &o, &why), 400, "caption not a string");
	is_int(parse("{\"message\":{\"image\":\"AAAA\"},\"mentions\":[\"x\"]}", &o, &why), 400, "bad mention");
}

static void forms(void)
{
	struct wa_out o;
	const char *why = NULL;

	is_int(upload("{\"file\":{\"path\":\"/m/up-1.ogg\",\"mimetype\":\"audio/ogg\",\"originalName\":\"v.ogg\"},"
		      "\"type\":\"voice\"}", 0, &o, &why), 0, "voice upload");
	ok(o.media && o.media->kind == WA_MK_PTT && o.media->src == WA_MSRC_FILE &&
	   strcmp(o.media->source, "/m/up-1.ogg") == 0 && strcmp(o.media->mime, "audio/ogg") == 0, "a file job");
	wa_out_free(&o);
	is_int(upload("{\"file\":{\"path\":\"/m/up-2\",\"mimetype\":\"application/octet-stream\","
		      "\"originalName\":\"n.txt\"},\"type\":\"document\",\"caption\":\"c\",\"messageId\":\"3EB0\"}", 0, &o,
		      &why), 0, "document upload, a reply");
	ok(o.file_name && strcmp(o.file_name, "n.txt") == 0 && !o.media->mime && strcmp(o.quoted_id, "3EB0") == 0 &&
	   strcmp(o.text, "c") == 0, "its name, no octet-stream type, the quote");
	wa_out_free(&o);
	is_int(upload("{\"file\":{\"path\":\"/m/up-3.png\"},\"type\":\"full\",\"pack\":\"P\"}", 1, &o, &why), 0,
	       "sticker upload: 'type' is the crop there, not the kind");
	ok(o.media && o.media->kind == WA_MK_STICKER && strcmp(o.media->pack, "P") == 0, "a sticker job");
	wa_out_free(&o);
	is_int(upload("{\"url\":\"https://e.x/s.png\",\"pack\":\"P\",\"author\":\"A\"}", 1, &o, &why), 0,
	       "sticker as JSON {url, pack, author}");
	ok(o.media && o.media->kind == WA_MK_STICKER && o.media->src == WA_MSRC_URL && strcmp(o.media->pack, "P") == 0 &&
	   strcmp(o.media->author, "A") == 0, "a sticker URL job");
	wa_out_free(&o);
	is_int(upload("{\"file\":{\"path\":\"/m/up-4.gif\"},\"type\":\"video\",\"gifPlayback\":\"true\"}", 0, &o,
		      &why), 0, "video upload, gifPlayback as form text");
	ok(o.media && o.media->kind == WA_MK_VIDEO && o.media->gif, "a GIF file job");
	wa_out_free(&o);
	is_int(upload("{\"url\":\"https://e.x/a.png\",\"type\":\"image\"}", 0, &o, &why), 400,
	       "a URL is not a file on /media");
	is_int(upload("{\"type\":\"image\"}", 0, &o, &why), 400, "no file");
	is_int(upload("{\"file\":{\"path\":\"/m/x\"},\"type\":\"gif\"}", 0, &o, &why), 400, "unknown type");
}

static void build(void)
{
	struct wa_out o;
	const char *why = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	WaE2E__Message *m;
	json_t *j;
	char *s;

	is_int(parse("{\"message\":{\"document\":{\"url\":\"https://e.x/r.pdf\"},\"caption\":\"c\"}}", &o, &why), 0,
	       "document");
	ok(wa_out_media_pack(&o, NULL, &buf, &len) == WA_EINVAL, "not uploaded yet: refused");
	o.media->url = strdup("https://mmg/x");
	o.media->direct_path = strdup("/v/t62/x?ccb=1");
	o.media->mime_out = strdup("application/pdf");
	memset(o.media->media_key, 7, 32);
	o.media->info.file_length = 1234;
	o.media->pages = 3;
	o.media->key_ts = 1700000000;
	is_int(wa_out_media_pack(&o, NULL, &buf, &len), 0, "packed");
	m = wa_e2_e__message__unpack(NULL, len, buf);
	ok(m && m->documentmessage && strcmp(m->documentmessage->directpath, "/v/t62/x?ccb=1") == 0 &&
	   m->documentmessage->filelength == 1234 && m->documentmessage->pagecount == 3 &&
	   strcmp(m->documentmessage->filename, "r.pdf") == 0 && strcmp(m->documentmessage->caption, "c") == 0 &&
	   m->documentmessage->mediakey.len == 32 && m->documentmessage->mediakeytimestamp == 1700000000,
	   "a documentMessage with what the upload gave");
	ok(o.media_size == 1234 && strcmp(o.media_mime, "application/pdf") == 0 && strcmp(o.caption, "c") == 0 &&
	   strcmp(o.type, "DOCUMENT") == 0, "the row's media fields");
	o.msg = m;
	wa_out_stanza_attrs(&o);
	is_str(o.stanza_type, "media", "stanza type media");
	is_str(o.mediatype, "document", "enc mediatype");
	j = wa_out_json(&o);
	s = json_dumps(j, JSON_COMPACT);
	ok(s && strstr(s, "\"documentMessage\":{") && strstr(s, "\"fileLength\":\"1234\"") &&
	   strstr(s, "\"pageCount\":3"), "the answer's Baileys shape");
	free(s);
	json_decref(j);
	free(buf);
	wa_out_free(&o);

	/* a GIF: videoMessage with gifPlayback, enc mediatype gif */
	buf = NULL;
	is_int(parse("{\"message\":{\"video\":{\"url\":\"https://e.x/a.gif\"},\"gifPlayback\":true}}", &o, &why),
	       0, "GIF video");
	o.media->url = strdup("https://mmg/g");
	o.media->direct_path = strdup("/v/t62/g");
	o.media->mime_out = strdup("video/mp4");
	o.media->info.file_length = 99;
	o.media->seconds = 2;
	is_int(wa_out_media_pack(&o, NULL, &buf, &len), 0, "GIF packed");
	m = wa_e2_e__message__unpack(NULL, len, buf);
	ok(m && m->videomessage && m->videomessage->has_gifplayback && m->videomessage->gifplayback &&
	   strcmp(m->videomessage->mimetype, "video/mp4") == 0 && m->videomessage->seconds == 2,
	   "a videoMessage with gifPlayback");
	o.msg = m;
	wa_out_stanza_attrs(&o);
	is_str(o.mediatype, "gif", "enc mediatype gif");
	j = wa_out_json(&o);
	s = json_dumps(j, JSON_COMPACT);
	ok(s && strstr(s, "\"videoMessage\":{") && strstr(s, "\"gifPlayback\":true"), "the answer says gifPlayback");
	free(s);
	json_decref(j);
	free(buf);
	wa_out_free(&o);
}

int main(void)
{
	shapes();
	forms();
	build();
	json_decref(last_args);
	return tap_done();
}
