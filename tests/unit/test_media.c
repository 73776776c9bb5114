/* test_media: engine/media's pure parts (kinds, data: URLs, streaming
 * base64, the sticker EXIF and WebP container, PDF pages, Ogg durations),
 * GraphicsMagick's sticker and thumbnail, and the media threads' refusals
 * (bad base64, a file outside media.dir, an unreachable media host), each
 * answered through the inbox with nothing left in media.dir. */
#include "engine/inbox.h"
#include "engine/media_int.h"
#include "tap.h"
#include "wa_config.h"
#include "wa_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

#include <wand/magick_wand.h>

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t rd24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

/* the chunk `fourcc` of a WebP file, or NULL */
static const uint8_t *webp_chunk(const uint8_t *w, size_t len, const char *fourcc, uint32_t *clen)
{
	size_t off = 12;

	while (off + 8 <= len) {
		uint32_t cl = rd32(w + off + 4);

		if (memcmp(w + off, fourcc, 4) == 0) {
			*clen = cl;
			return w + off + 8;
		}
		off += 8 + cl + (cl & 1);
	}
	return NULL;
}

static void test_kinds(void)
{
	enum wa_media_kind k;

	ok(wa_media_kind_parse("image", &k) == 0 && k == WA_MK_IMAGE, "image");
	ok(wa_media_kind_parse("voice", &k) == 0 && k == WA_MK_PTT, "voice is ptt");
	ok(wa_media_kind_parse("ptt", &k) == 0 && k == WA_MK_PTT, "ptt");
	ok(wa_media_kind_parse("sticker", &k) == 0 && k == WA_MK_STICKER, "sticker");
	ok(wa_media_kind_parse("gif", &k) != 0, "unknown kind refused");
	ok(wa_media_kind_type(WA_MK_STICKER) == WA_MEDIA_STICKER, "sticker keys");
	ok(wa_media_kind_type(WA_MK_PTT) == WA_MEDIA_PTT, "ptt keys");
	is_str(wa_media_kind_mime(WA_MK_PTT), "audio/ogg; codecs=opus", "ptt default mimetype");
	is_str(wa_media_kind_mime(WA_MK_DOCUMENT), "application/pdf", "document default mimetype");
}

static void test_data_url(void)
{
	const char *p = NULL;
	char mime[64];

	ok(wa_media_data_url("data:image/PNG;base64,iVBO", &p, mime, sizeof mime) == 0 && strcmp(p, "iVBO") == 0,
	   "data: URL payload");
	is_str(mime, "image/png", "its mimetype, lower case");
	ok(wa_media_data_url("data:;base64,AAAA", &p, mime, sizeof mime) == 0 && mime[0] == '\0', "no mimetype");
	ok(wa_media_data_url("data:text/plain;charset=utf-8;base64,QQ==", &p, mime, sizeof mime) == 0 &&
	   strcmp(mime, "text/plain") == 0, "parameters before base64");
	ok(wa_media_data_url("data:text/plain,hello", &p, mime, sizeof mime) != 0, "not base64: refused");
	ok(wa_media_data_url("https://x/y", &p, mime, sizeof mime) != 0, "not a data: URL");
}

static long b64_all(const char *in, size_t step, uint8_t *out)
{
	struct wa_b64dec d = { 0 };
	long n = 0, r;

	for (size_t off = 0; off < strlen(in); off += step) {
		size_t l = strlen(in) - off < step ? strlen(in) - off : step;

		if ((r = wa_b64dec_update(&d, in + off, l, out + n)) < 0)
			return -1;
		n += r;
	}
	if ((r = wa_b64dec_final(&d, out + n)) < 0)
		return -1;
	return n + r;
}

static void test_base64(void)
{
	uint8_t out[64];

	ok(b64_all("aGVsbG8gd29ybGQ=", 100, out) == 11 && memcmp(out, "hello world", 11) == 0, "padded");
	ok(b64_all("aGVsbG8gd29ybGQ", 100, out) == 11 && memcmp(out, "hello world", 11) == 0, "unpadded");
	ok(b64_all("aGVs\nbG8g\r\nd29y bGQ=", 1, out) == 11 && memcmp(out, "hello world", 11) == 0,
	   "whitespace skipped, one char at a time");
	ok(b64_all("aGk=", 3, out) == 2 && memcmp(out, "hi", 2) == 0, "split inside a quantum");
	ok(b64_all("_-8=", 100, out) == 2 && out[0] == 0xff && out[1] == 0xef, "URL-safe alphabet");
	ok(b64_all("", 1, out) == 0, "empty");
	ok(b64_all("aGVsbG8*", 100, out) < 0, "bad character refused");
	ok(b64_all("aGk=aGk=", 100, out) < 0, "data after padding refused");
	ok(b64_all("a", 100, out) < 0, "a lone sextet refused");
	ok(b64_all("a===", 100, out) < 0, "too much padding refused");
}

static void test_exif(void)
{
	size_t el = 0, wl = 0;
	uint8_t *exif = wa_media_sticker_exif("id1", "My Pack", "Me", &el), *w;
	/* a minimal simple-format lossless WebP: VP8L, 512x512, alpha used */
	uint8_t vp8l[12 + 8 + 6] = { 'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P',
				     'V', 'P', '8', 'L', 5, 0, 0, 0, 0x2f, 0, 0, 0, 0, 0 };
	uint32_t bits = 511u | 511u << 14 | 1u << 28, cl = 0;
	const uint8_t *c;

	ok(exif && el > 22, "EXIF made");
	if (!exif)
		return;
	ok(memcmp(exif, "II*\0\x08\0\0\0\x01\0\x41\x57\x07\0", 14) == 0, "TIFF header, one IFD entry tag 0x5741 type 7");
	is_int(rd32(exif + 14), (int)(el - 22), "count = JSON length");
	is_int(rd32(exif + 18), 22, "value at offset 22");
	ok(memmem(exif + 22, el - 22, "\"sticker-pack-name\":\"My Pack\"", 29) != NULL, "pack name in the JSON");
	ok(memmem(exif + 22, el - 22, "\"sticker-pack-publisher\":\"Me\"", 29) != NULL, "publisher in the JSON");

	vp8l[4] = sizeof vp8l - 8;
	vp8l[21] = (uint8_t)bits;
	vp8l[22] = (uint8_t)(bits >> 8);
	vp8l[23] = (uint8_t)(bits >> 16);
	vp8l[24] = (uint8_t)(bits >> 24);
	w = wa_media_webp_add_exif(vp8l, sizeof vp8l, 512, 512, exif, el, &wl);
	ok(w != NULL, "EXIF added to a simple WebP");
	if (w) {
		is_int(rd32(w + 4), (int)(wl - 8), "RIFF size");
		ok(memcmp(w + 12, "VP8X", 4) == 0, "VP8X first");
		ok((w[20] & 0x08) && (w[20] & 0x10), "EXIF and alpha flags");
		ok(rd24(w + 24) == 511 && rd24(w + 27) == 511, "canvas 512x512");
		ok(webp_chunk(w, wl, "VP8L", &cl) != NULL && cl == 5, "image chunk kept");
		c = webp_chunk(w, wl, "EXIF", &cl);
		ok(c && cl == el && memcmp(c, exif, el) == 0, "EXIF chunk last, as given");
		free(w);
	}
	ok(wa_media_webp_add_exif((const uint8_t *)"RIFF\x04\0\0\0JPEG", 12, 1, 1, exif, el, &wl) == NULL,
	   "not a WebP: refused");
	vp8l[4] = 200;
	ok(wa_media_webp_add_exif(vp8l, sizeof vp8l, 1, 1, exif, el, &wl) == NULL, "RIFF size past the end: refused");
	free(exif);
}

static void write_file(const char *path, const void *d, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f) {
		fwrite(d, 1, n, f);
		fclose(f);
	}
}

static void test_sniff(void)
{
	const char *mime = NULL;

	ok(wa_media_sniff_image((const uint8_t *)"\x89PNG\r\n\x1a\n....", 12, &mime) &&
	   strcmp(mime, "image/png") == 0, "PNG");
	ok(wa_media_sniff_image((const uint8_t *)"RIFF\0\0\0\0WEBPVP8 ", 16, &mime) &&
	   strcmp(mime, "image/webp") == 0, "WebP");
	ok(wa_media_sniff_image((const uint8_t *)"%PDF-1.4", 8, &mime) == NULL, "PDF is not an image");
	ok(wa_media_sniff_image((const uint8_t *)"<svg xmlns", 10, &mime) == NULL, "SVG is not handed over");
	ok(wa_media_sniff_image((const uint8_t *)"push graphic-context", 20, &mime) == NULL, "MVG neither");
}

static void test_pdf_ogg(const char *dir)
{
	char p[512];
	static const char pdf[] = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
				  "2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >> endobj\n"
				  "3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n"
				  "4 0 obj <</Type/Page/Parent 2 0 R>> endobj\n"
				  "5 0 obj << /Type\n/Page >> endobj\n%%EOF\n";
	uint8_t ogg[27 + 1 + 19 + 27 + 1 + 4];

	snprintf(p, sizeof p, "%s/t.pdf", dir);
	write_file(p, pdf, sizeof pdf - 1);
	is_int(wa_media_pdf_pages(p), 3, "PDF: three /Type /Page objects, /Pages not counted");
	write_file(p, "not a pdf /Type /Page", 21);
	is_int(wa_media_pdf_pages(p), 0, "not a PDF: 0");

	/* Ogg Opus: OpusHead with pre-skip 312, last page granule 48000 * 7 + 312 */
	memset(ogg, 0, sizeof ogg);
	memcpy(ogg, "OggS", 4);
	ogg[26] = 1;
	ogg[27] = 19;
	memcpy(ogg + 28, "OpusHead", 8);
	ogg[28 + 8] = 1;
	ogg[28 + 10] = 312 & 0xff;
	ogg[28 + 11] = 312 >> 8;
	{
		uint8_t *last = ogg + 28 + 19;
		uint64_t g = 48000ull * 7 + 312;

		memcpy(last, "OggS", 4);
		for (int i = 0; i < 8; i++)
			last[6 + i] = (uint8_t)(g >> (8 * i));
		last[26] = 1;
		last[27] = 4;
	}
	snprintf(p, sizeof p, "%s/t.ogg", dir);
	write_file(p, ogg, sizeof ogg);
	is_int(wa_media_ogg_seconds(p), 7, "Ogg Opus: 7 s from the last granule less the pre-skip");
	write_file(p, "ID3\3\0\0\0\0\0\0", 10);
	is_int(wa_media_ogg_seconds(p), 0, "not Ogg: 0");
}

static size_t box(uint8_t *out, const char *type, const uint8_t *body, size_t len)
{
	uint32_t n = (uint32_t)(8 + len);

	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	memcpy(out + 4, type, 4);
	memcpy(out + 8, body, len);
	return 8 + len;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void test_mp4(const char *dir)
{
	uint8_t file[2048], moov[512], trak[2][128], mvhd[100] = { 0 }, tkhd[2][84], tmp[200];
	size_t n = 0, ml = 0, tl[2];
	uint32_t sec = 0, w = 0, h = 0;
	char p[512];

	memset(tkhd, 0, sizeof tkhd);
	put32(mvhd + 12, 1000);
	put32(mvhd + 16, 12500);          /* 12.5 s */
	put32(tkhd[1] + 76, 640u << 16);  /* the second track is the video */
	put32(tkhd[1] + 80, 360u << 16);
	for (int i = 0; i < 2; i++)
		tl[i] = box(trak[i], "tkhd", tkhd[i], sizeof tkhd[i]);
	ml += box(moov + ml, "mvhd", mvhd, sizeof mvhd);
	for (int i = 0; i < 2; i++)
		ml += box(moov + ml, "trak", trak[i], tl[i]);
	n += box(file + n, "ftyp", (const uint8_t *)"isom\0\0\0\0", 8);
	memset(tmp, 0xab, sizeof tmp);
	n += box(file + n, "mdat", tmp, sizeof tmp);   /* moov after the data, as cameras write it */
	n += box(file + n, "moov", moov, ml);
	snprintf(p, sizeof p, "%s/t.mp4", dir);
	write_file(p, file, n);
	ok(wa_media_mp4_info(p, &sec, &w, &h) == 0, "MP4 read");
	ok(sec == 13 && w == 640 && h == 360, "MP4: 13 s (12.5 rounded), 640x360 from the track that has a size");
	write_file(p, "RIFF....AVI ", 12);
	ok(wa_media_mp4_info(p, &sec, &w, &h) == -1 && sec == 0 && w == 0, "not MP4");
}

static void test_images(const char *dir)
{
	char png[512], why[160];
	MagickWand *w;
	uint8_t *webp, *thumb = NULL;
	size_t wl = 0, tl = 0;
	uint32_t iw = 0, ih = 0;

	/* a 300x100 PNG made by GraphicsMagick */
	InitializeMagick(NULL);
	snprintf(png, sizeof png, "%s/t.png", dir);
	w = NewMagickWand();
	ok(w && MagickSetSize(w, 300, 100) == MagickTrue && MagickReadImage(w, "xc:red") == MagickTrue &&
	   MagickWriteImage(w, png) == MagickTrue, "a PNG to convert");
	DestroyMagickWand(w);

	ok(wa_media_img_thumb(png, &iw, &ih, &thumb, &tl, why, sizeof why) == 0, "image read");
	ok(iw == 300 && ih == 100, "its size");
	ok(thumb && tl > 2 && thumb[0] == 0xff && thumb[1] == 0xd8, "a JPEG thumbnail");
	free(thumb);

	/* a JPEG is decoded scaled down, yet its full size is reported */
	{
		char jpg[512];

		snprintf(jpg, sizeof jpg, "%s/t.jpg", dir);
		w = NewMagickWand();
		ok(w && MagickSetSize(w, 2000, 1000) == MagickTrue && MagickReadImage(w, "xc:blue") == MagickTrue &&
		   MagickSetImageFormat(w, "JPEG") == MagickTrue && MagickWriteImage(w, jpg) == MagickTrue, "a JPEG");
		DestroyMagickWand(w);
		iw = ih = 0;
		ok(wa_media_img_thumb(jpg, &iw, &ih, &thumb, &tl, why, sizeof why) == 0 && iw == 2000 && ih == 1000,
		   "JPEG: its full size");
		ok(thumb && thumb[0] == 0xff, "and a thumbnail");
		free(thumb);
		thumb = NULL;
	}
	webp = wa_media_img_sticker(png, WA_STICKER_FULL, 0, &wl, why, sizeof why);
	ok(webp && wl > 12 && memcmp(webp, "RIFF", 4) == 0 && memcmp(webp + 8, "WEBP", 4) == 0, "sticker is WebP");
	if (webp) {
		size_t el = 0, fl = 0;
		uint8_t *exif = wa_media_sticker_exif("x", "P", "A", &el);
		uint8_t *full = exif ? wa_media_webp_add_exif(webp, wl, 512, 512, exif, el, &fl) : NULL;
		uint32_t cl = 0;
		const uint8_t *x = full ? webp_chunk(full, fl, "VP8X", &cl) : NULL;

		ok(x && rd24(x + 4) + 1 == 512 && rd24(x + 7) + 1 == 512, "512x512 canvas");
		ok(full && webp_chunk(full, fl, "EXIF", &cl) != NULL, "with its EXIF");
		snprintf(png, sizeof png, "%s/s.webp", dir);
		if (full)
			write_file(png, full, fl);
		iw = ih = 0;
		thumb = NULL;
		ok(wa_media_img_thumb(png, &iw, &ih, &thumb, &tl, why, sizeof why) == 0 && iw == 512 && ih == 512,
		   "GraphicsMagick reads the sticker back as 512x512");
		free(thumb);
		free(full);
		free(exif);
		free(webp);
	}
	snprintf(png, sizeof png, "%s/t.pdf", dir);
	write_file(png, "%PDF-1.4 not an image", 21);
	ok(wa_media_img_sticker(png, WA_STICKER_FULL, 0, &wl, why, sizeof why) == NULL && strstr(why, "not an image") &&
	   !strstr(why, dir), "not an image: refused, the reason names no path");
}

static int done_count;

/* The alpha (0 transparent .. 255 opaque) of pixel x, y of a WebP. */
static int alpha_at(const uint8_t *webp, size_t len, long x, long y)
{
	MagickWand *w = NewMagickWand();
	unsigned char px[4] = { 0 };
	int a = -1;

	if (w && MagickReadImageBlob(w, webp, len) == MagickTrue &&
	    MagickGetImagePixels(w, x, y, 1, 1, "RGBA", CharPixel, px) == MagickTrue)
		a = px[3];
	if (w)
		DestroyMagickWand(w);
	return a;
}

/* /sticker's type: full pads a wide image, crop fills the square, circle
 * is transparent outside its circle; quality changes the size. */
static void test_sticker_shapes(const char *dir)
{
	char path[600], why[256];
	MagickWand *w = NewMagickWand();
	uint8_t *full, *crop, *circle, *low;
	size_t fl = 0, cl = 0, rl = 0, ll = 0;

	snprintf(path, sizeof path, "%s/wide.png", dir);
	ok(w && MagickSetSize(w, 400, 200) == MagickTrue && MagickReadImage(w, "plasma:fractal") == MagickTrue &&
	   MagickSetImageFormat(w, "PNG") == MagickTrue && MagickWriteImage(w, path) == MagickTrue, "a 2:1 image");
	if (w)
		DestroyMagickWand(w);
	full = wa_media_img_sticker(path, WA_STICKER_FULL, 90, &fl, why, sizeof why);
	crop = wa_media_img_sticker(path, WA_STICKER_CROP, 90, &cl, why, sizeof why);
	circle = wa_media_img_sticker(path, WA_STICKER_CIRCLE, 90, &rl, why, sizeof why);
	low = wa_media_img_sticker(path, WA_STICKER_CROP, 5, &ll, why, sizeof why);
	ok(full && crop && circle && low, "all four made");
	if (full && crop && circle && low) {
		ok(alpha_at(full, fl, 256, 10) == 0 && alpha_at(full, fl, 256, 256) == 255,
		   "full: transparent padding above a wide image, opaque in the middle");
		ok(alpha_at(crop, cl, 256, 10) == 255 && alpha_at(crop, cl, 2, 2) == 255,
		   "crop: the square is filled to its corners");
		ok(alpha_at(circle, rl, 2, 2) == 0 && alpha_at(circle, rl, 509, 509) == 0 &&
		   alpha_at(circle, rl, 256, 256) == 255 && alpha_at(circle, rl, 256, 4) == 255,
		   "circle: transparent corners, opaque inside the circle");
		ok(ll < cl, "a lower quality makes a smaller file");
	}
	free(full);
	free(crop);
	free(circle);
	free(low);
}

static void on_done(struct wa_media_job *j, void *ctx)
{
	(void)j;
	(void)ctx;
	done_count++;
}

static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, ".wa-", 4) == 0)
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_pool(const char *dir)
{
	char conf[1200], err[256], outside[600];
	struct wa_config *cfg = NULL;
	struct wa_inbox *ib = wa_inbox_new(0);
	struct wa_media *m;
	struct wa_media_job *bad = wa_media_job_new(), *far = wa_media_job_new(), *host = wa_media_job_new();

	char stale[700], fresh[700];
	struct utimbuf old = { 1000000000, 1000000000 };

	/* a killed engine's leftovers: the old one goes at start, a young one stays */
	snprintf(stale, sizeof stale, "%s/.wa-media-OLD123", dir);
	snprintf(fresh, sizeof fresh, "%s/.wa-fetch-NEW123", dir);
	write_file(stale, "x", 1);
	write_file(fresh, "y", 1);
	utime(stale, &old);
	snprintf(conf, sizeof conf, "[media]\ndir = %s\n[whatsapp]\nmedia_host = 127.0.0.1:9\n", dir);
	ok(wa_config_parse(&cfg, conf, strlen(conf), "test", err, sizeof err) == 0, "config");
	m = cfg ? wa_media_new(cfg, 2, ib) : NULL;
	ok(m != NULL, "pool started");
	ok(access(stale, F_OK) != 0, "a day-old temporary file is removed at start");
	ok(access(fresh, F_OK) == 0, "a young one stays (another engine may use it)");
	unlink(fresh);
	if (!m || !bad || !far || !host)
		return;
	bad->kind = WA_MK_DOCUMENT;
	bad->src = WA_MSRC_BASE64;
	bad->source = strdup("not*base64");
	far->kind = WA_MK_DOCUMENT;
	far->src = WA_MSRC_FILE;
	snprintf(outside, sizeof outside, "%s/../outside.bin", dir);
	far->source = strdup(outside);
	host->kind = WA_MK_DOCUMENT;
	host->src = WA_MSRC_BASE64;
	host->source = strdup("aGVsbG8=");
	ok(wa_media_submit(m, bad, on_done, NULL) == 0 && wa_media_submit(m, far, on_done, NULL) == 0 &&
	   wa_media_submit(m, host, on_done, NULL) == 0, "three jobs queued");
	for (int i = 0; i < 3000 && done_count < 3; i++) {
		wa_inbox_drain(ib);
		if (done_count < 3)
			usleep(10000);
	}
	is_int(done_count, 3, "every job answered through the inbox");
	is_int(bad->status, 400, "bad base64: 400");
	ok(strstr(bad->why, "base64") != NULL, "... saying why");
	is_int(far->status, 400, "a file outside media.dir: 400");
	is_int(host->status, 502, "no media host listening: 502");
	ok(host->info.file_length == 5, "it was encrypted first (5 bytes)");
	is_int(dir_entries(dir), 0, "no temporary file left behind");
	wa_media_free(m);
	wa_inbox_free(ib);
	wa_media_job_free(bad);
	wa_media_job_free(far);
	wa_media_job_free(host);
	wa_config_free(cfg);
}

int main(void)
{
	char dir[] = "/tmp/test_media.XXXXXX";

	if (!mkdtemp(dir))
		tap_bail("mkdtemp");
	test_kinds();
	test_data_url();
	test_base64();
	test_exif();
	test_sniff();
	test_pdf_ogg(dir);
	test_mp4(dir);
	test_images(dir);
	test_sticker_shapes(dir);
	test_pool(dir);
	{
		char cmd[600];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("cannot remove the test directory");
	}
	return tap_done();
}
