/* media_fmt: the pure parts of the media pipeline (see media.h): kinds,
 * data: URLs, streaming base64, the sticker EXIF and WebP container, PDF
 * page counts and Ogg durations. No threads, no globals. */
#include "engine/media.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum wa_media_type type;
	const char *mime;
} kinds[WA_MK_COUNT] = {
	[WA_MK_IMAGE] = { "image", WA_MEDIA_IMAGE, "image/jpeg" },
	[WA_MK_VIDEO] = { "video", WA_MEDIA_VIDEO, "video/mp4" },
	[WA_MK_AUDIO] = { "audio", WA_MEDIA_AUDIO, "audio/ogg; codecs=opus" },
	[WA_MK_PTT] = { "ptt", WA_MEDIA_PTT, "audio/ogg; codecs=opus" },
	[WA_MK_DOCUMENT] = { "document", WA_MEDIA_DOCUMENT, "application/pdf" },
	[WA_MK_STICKER] = { "sticker", WA_MEDIA_STICKER, "image/webp" },
};

struct wa_media_job *wa_media_job_new(void)
{
	return calloc(1, sizeof(struct wa_media_job));
}

void wa_media_job_free(struct wa_media_job *j)
{
	if (!j)
		return;
	if (!j->source_borrowed)
		free(j->source);
	json_decref((json_t *)j->source_ref);
	free(j->mime);
	free(j->pack);
	free(j->author);
	free(j->removebg_url);
	if (j->removebg_key)
		explicit_bzero(j->removebg_key, strlen(j->removebg_key));
	free(j->removebg_key);
	free(j->url);
	free(j->direct_path);
	free(j->mime_out);
	free(j->thumb);
	explicit_bzero(j->media_key, sizeof j->media_key);
	explicit_bzero(j->auth, sizeof j->auth);
	free(j);
}

int wa_media_kind_parse(const char *name, enum wa_media_kind *out)
{
	if (!name)
		return -1;
	if (strcmp(name, "voice") == 0) {
		*out = WA_MK_PTT;
		return 0;
	}
	for (int k = 0; k < WA_MK_COUNT; k++)
		if (strcmp(name, kinds[k].name) == 0) {
			*out = (enum wa_media_kind)k;
			return 0;
		}
	return -1;
}

const char *wa_media_kind_name(enum wa_media_kind k)
{
	return (unsigned)k < WA_MK_COUNT ? kinds[k].name : NULL;
}

enum wa_media_type wa_media_kind_type(enum wa_media_kind k)
{
	return (unsigned)k < WA_MK_COUNT ? kinds[k].type : WA_MEDIA_DOCUMENT;
}

const char *wa_media_kind_mime(enum wa_media_kind k)
{
	return (unsigned)k < WA_MK_COUNT ? kinds[k].mime : "application/octet-stream";
}

int wa_media_data_url(const char *s, const char **payload, char *mime, size_t cap)
{
	const char *comma, *semi, *p;
	size_t ml;
	int b64 = 0;

	if (strncasecmp(s, "data:", 5) != 0 || !(comma = strchr(s + 5, ',')))
		return -1;
	semi = memchr(s + 5, ';', (size_t)(comma - (s + 5)));
	ml = (size_t)((semi ? semi : comma) - (s + 5));
	/* parameters: only ";base64" matters (it must be the last one) */
	for (p = semi; p && p < comma; p = memchr(p + 1, ';', (size_t)(comma - p - 1))) {
		if ((size_t)(comma - p) == 7 && strncasecmp(p, ";base64", 7) == 0)
			b64 = 1;
	}
	if (!b64)
		return -1;
	if (ml >= cap || memchr(s + 5, ' ', ml))
		ml = 0;
	memcpy(mime, s + 5, ml);
	mime[ml] = '\0';
	for (char *c = mime; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	*payload = comma + 1;
	return 0;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

long wa_b64dec_update(struct wa_b64dec *d, const char *in, size_t len, uint8_t *out)
{
	long n = 0;

	if (d->err)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			/* padding: only after 2 or 3 sextets of a quantum */
			if (!d->pad && d->n < 2)
				goto bad;
			d->pad++;
			if (d->n + d->pad > 4)
				goto bad;
			continue;
		}
		if (d->pad || (v = b64val(c)) < 0)
			goto bad;
		d->acc = (d->acc << 6) | (uint32_t)v;
		if (++d->n == 4) {
			out[n++] = (uint8_t)(d->acc >> 16);
			out[n++] = (uint8_t)(d->acc >> 8);
			out[n++] = (uint8_t)d->acc;
			d->acc = 0;
			d->n = 0;
		}
	}
	/* a quantum closed by its padding gives its bytes now */
	if (d->pad && d->n + d->pad == 4) {
		if (d->n == 2) {
			out[n++] = (uint8_t)(d->acc >> 4);
		} else if (d->n == 3) {
			out[n++] = (uint8_t)(d->acc >> 10);
			out[n++] = (uint8_t)(d->acc >> 2);
		}
		d->n = -1; /* done: nothing but padding and whitespace after it */
	}
	return n;
bad:
	d->err = 1;
	return -1;
}

long wa_b64dec_final(struct wa_b64dec *d, uint8_t *out)
{
	long n = 0;

	if (d->err)
		return -1;
	if (d->n == -1 || d->n == 0)
		return 0;
	if (d->pad || d->n == 1)
		return -1; /* padding that did not close the quantum, or a lone sextet */
	/* unpadded tail */
	if (d->n == 2) {
		out[n++] = (uint8_t)(d->acc >> 4);
	} else {
		out[n++] = (uint8_t)(d->acc >> 10);
		out[n++] = (uint8_t)(d->acc >> 2);
	}
	d->n = -1;
	return n;
}

static void le16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le24(uint8_t *p, uint32_t v)
{
	le16(p, v);
	p[2] = (uint8_t)(v >> 16);
}

static void le32(uint8_t *p, uint32_t v)
{
	le24(p, v);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint8_t *wa_media_sticker_exif(const char *pack_id, const char *pack, const char *author, size_t *len)
{
	static const uint8_t head[14] = { 0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00,
					  0x01, 0x00, 0x41, 0x57, 0x07, 0x00 };
	json_t *o = json_pack("{s:s,s:s,s:s,s:[]}", "sticker-pack-id", pack_id ? pack_id : "",
			      "sticker-pack-name", pack ? pack : "", "sticker-pack-publisher", author ? author : "",
			      "emojis");
	char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t jl = js ? strlen(js) : 0;
	uint8_t *out = js ? malloc(22 + jl) : NULL;

	json_decref(o);
	if (out) {
		memcpy(out, head, sizeof head);
		le32(out + 14, (uint32_t)jl);
		le32(out + 18, 22);
		memcpy(out + 22, js, jl);
		*len = 22 + jl;
	}
	free(js);
	return out;
}

uint8_t *wa_media_webp_add_exif(const uint8_t *webp, size_t len, uint32_t width, uint32_t height,
				const uint8_t *exif, size_t exif_len, size_t *outlen)
{
	const uint8_t *p, *end;
	const uint8_t *vp8x = NULL;
	int alpha = 0;
	size_t body, total, off;
	uint8_t *out;

	if (len < 20 || memcmp(webp, "RIFF", 4) != 0 || memcmp(webp + 8, "WEBP", 4) != 0 || exif_len > 1u << 24)
		return NULL;
	body = rd32(webp + 4);
	if (body < 4 || body > len - 8)
		return NULL;
	end = webp + 8 + body;
	/* walk the chunks: they must tile the file; an EXIF chunk already
	 * there is dropped (ours replaces it) */
	total = 0;
	for (p = webp + 12; p < end;) {
		uint32_t cl;
		size_t step;

		if ((size_t)(end - p) < 8)
			return NULL;
		cl = rd32(p + 4);
		step = 8 + (size_t)cl + (cl & 1);
		if (step > (size_t)(end - p))
			return NULL;
		if (memcmp(p, "VP8X", 4) == 0 && cl >= 10)
			vp8x = p;
		else if (memcmp(p, "VP8L", 4) == 0 && cl >= 5)
			alpha = (rd32(p + 9) >> 28) & 1;
		else if (memcmp(p, "ALPH", 4) == 0)
			alpha = 1;
		if (memcmp(p, "EXIF", 4) != 0 && memcmp(p, "VP8X", 4) != 0)
			total += step;
		p += step;
	}
	total += 18 + 8 + exif_len + (exif_len & 1); /* VP8X + EXIF */
	if (!(out = malloc(12 + total)))
		return NULL;
	memcpy(out, "RIFF", 4);
	le32(out + 4, (uint32_t)(4 + total));
	memcpy(out + 8, "WEBP", 4);
	memcpy(out + 12, "VP8X", 4);
	le32(out + 16, 10);
	if (vp8x) {
		memcpy(out + 20, vp8x + 8, 10);
	} else {
		memset(out + 20, 0, 10);
		out[20] = alpha ? 0x10 : 0;
		le24(out + 24, width ? width - 1 : 0);
		le24(out + 27, height ? height - 1 : 0);
	}
	out[20] |= 0x08; /* EXIF metadata present */
	off = 30;
	for (p = webp + 12; p < end;) {
		uint32_t cl = rd32(p + 4);
		size_t step = 8 + (size_t)cl + (cl & 1);

		if (memcmp(p, "EXIF", 4) != 0 && memcmp(p, "VP8X", 4) != 0) {
			memcpy(out + off, p, step);
			off += step;
		}
		p += step;
	}
	memcpy(out + off, "EXIF", 4);
	le32(out + off + 4, (uint32_t)exif_len);
	memcpy(out + off + 8, exif, exif_len);
	off += 8 + exif_len;
	if (exif_len & 1)
		out[off++] = 0;
	*outlen = off;
	return out;
}

const char *wa_media_sniff_image(const uint8_t *h, size_t n, const char **mime)
{
	static const struct {
		const char *magic;
		size_t len, at;
		const char *fmt, *mime;
	} sigs[] = {
		{ "\xff\xd8\xff", 3, 0, "JPEG", "image/jpeg" },
		{ "\x89PNG\r\n\x1a\n", 8, 0, "PNG", "image/png" },
		{ "GIF87a", 6, 0, "GIF", "image/gif" },
		{ "GIF89a", 6, 0, "GIF", "image/gif" },
		{ "WEBP", 4, 8, "WEBP", "image/webp" },
		{ "BM", 2, 0, "BMP", "image/bmp" },
		{ "II*\0", 4, 0, "TIFF", "image/tiff" },
		{ "MM\0*", 4, 0, "TIFF", "image/tiff" },
	};

	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		if (n < sigs[i].at + sigs[i].len || memcmp(h + sigs[i].at, sigs[i].magic, sigs[i].len) != 0)
			continue;
		if (strcmp(sigs[i].fmt, "WEBP") == 0 && memcmp(h, "RIFF", 4) != 0)
			continue;
		if (mime)
			*mime = sigs[i].mime;
		return sigs[i].fmt;
	}
	return NULL;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

#define MP4_MOOV_MAX (8u << 20)   /* a moov box larger than this is not read */

/* In buf[0..len) (the moov payload): mvhd's duration, the first tkhd
 * with a size. */
static void mp4_moov(const uint8_t *buf, size_t len, int depth, uint32_t *seconds, uint32_t *w, uint32_t *h)
{
	size_t off = 0;

	while (off + 8 <= len && depth < 4) {
		uint64_t bs = be32(buf + off);
		size_t hl = 8;
		const uint8_t *t = buf + off + 4, *b;

		if (bs == 1 && off + 16 <= len) {
			bs = be64(buf + off + 8);
			hl = 16;
		} else if (bs == 0) {
			bs = len - off;
		}
		if (bs < hl || bs > len - off)
			return;
		b = buf + off + hl;
		if (memcmp(t, "mvhd", 4) == 0 && bs - hl >= 32) {
			uint64_t scale, dur;

			if (b[0] == 1 && bs - hl >= 32) {
				scale = be32(b + 20);
				dur = be64(b + 24);
			} else {
				scale = be32(b + 12);
				dur = be32(b + 16);
			}
			if (scale && dur != UINT32_MAX && dur != UINT64_MAX)
				*seconds = (uint32_t)((dur + scale / 2) / scale);
		} else if (memcmp(t, "trak", 4) == 0) {
			mp4_moov(b, bs - hl, depth + 1, seconds, w, h);
		} else if (memcmp(t, "tkhd", 4) == 0 && !*w && bs - hl >= 84) {
			/* width and height: the last 8 bytes, 16.16 fixed point */
			const uint8_t *e = b + (b[0] == 1 ? 96 : 84) - 8;

			if (b[0] != 1 || bs - hl >= 96) {
				*w = be32(e) >> 16;
				*h = be32(e + 4) >> 16;
				if (!*w || !*h)
					*w = *h = 0;
			}
		}
		off += (size_t)bs;
	}
}

int wa_media_mp4_info(const char *path, uint32_t *seconds, uint32_t *width, uint32_t *height)
{
	FILE *f = fopen(path, "rb");
	uint8_t hd[16];
	uint64_t off = 0;
	int first = 1, rc = -1;

	*seconds = *width = *height = 0;
	if (!f)
		return -1;
	for (int n = 0; n < 64; n++) {
		uint64_t bs;
		size_t hl = 8;

		if (fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(hd, 1, 8, f) != 8)
			break;
		bs = be32(hd);
		if (bs == 1) {
			if (fread(hd + 8, 1, 8, f) != 8)
				break;
			bs = be64(hd + 8);
			hl = 16;
		}
		if (first && memcmp(hd + 4, "ftyp", 4) != 0)
			break; /* not ISO BMFF */
		first = 0;
		rc = 0;
		if (bs == 0 || bs < hl)
			break;
		if (memcmp(hd + 4, "moov", 4) == 0 && bs - hl <= MP4_MOOV_MAX) {
			size_t ml = (size_t)(bs - hl);
			uint8_t *moov = malloc(ml ? ml : 1);

			if (moov && fread(moov, 1, ml, f) == ml)
				mp4_moov(moov, ml, 0, seconds, width, height);
			free(moov);
			break;
		}
		off += bs;
	}
	fclose(f);
	return rc;
}

uint32_t wa_media_pdf_pages(const char *path)
{
	FILE *f = fopen(path, "rb");
	char buf[65536 + 64];
	size_t keep = 0, n;
	uint32_t pages = 0;

	if (!f)
		return 0;
	if (fread(buf, 1, 5, f) != 5 || memcmp(buf, "%PDF-", 5) != 0) {
		fclose(f);
		return 0;
	}
	while ((n = fread(buf + keep, 1, sizeof buf - keep, f)) > 0 || keep) {
		size_t have = keep + n, i, stop;

		/* the last 32 bytes are looked at again with the next block */
		stop = n ? (have > 32 ? have - 32 : 0) : have;
		for (i = 0; i < stop; i++) {
			size_t j;

			if (buf[i] != '/' || have - i < 5 || memcmp(buf + i, "/Type", 5) != 0)
				continue;
			j = i + 5;
			while (j < have && (buf[j] == ' ' || buf[j] == '\r' || buf[j] == '\n' || buf[j] == '\t'))
				j++;
			if (have - j >= 6 && memcmp(buf + j, "/Page", 5) == 0) {
				char c = buf[j + 5];

				if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
					pages++;
			}
		}
		if (!n)
			break;
		keep = have - stop;
		memmove(buf, buf + stop, keep);
	}
	fclose(f);
	return pages;
}

uint32_t wa_media_ogg_seconds(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t head[128], *tail = NULL;
	long size, from;
	size_t n, hl;
	uint64_t granule = 0, rate = 0, skip = 0;
	int found = 0;

	if (!f)
		return 0;
	hl = fread(head, 1, sizeof head, f);
	if (hl < 27 + 1 || memcmp(head, "OggS", 4) != 0)
		goto out;
	{
		size_t segs = head[26], pk = 27 + segs;

		if (pk + 19 <= hl && memcmp(head + pk, "OpusHead", 8) == 0) {
			rate = 48000;
			skip = (uint64_t)head[pk + 10] | (uint64_t)head[pk + 11] << 8;
		} else if (pk + 16 <= hl && memcmp(head + pk, "\x01vorbis", 7) == 0) {
			rate = rd32(head + pk + 12);
		}
	}
	if (!rate || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0)
		goto out;
	from = size > 65536 ? size - 65536 : 0;
	if (fseek(f, from, SEEK_SET) != 0 || !(tail = malloc(65536)))
		goto out;
	n = fread(tail, 1, 65536, f);
	for (size_t i = n >= 14 ? n - 14 : 0; i + 14 <= n; i--) {
		if (memcmp(tail + i, "OggS", 4) == 0) {
			granule = (uint64_t)rd32(tail + i + 6) | (uint64_t)rd32(tail + i + 10) << 32;
			found = 1;
			break;
		}
		if (i == 0)
			break;
	}
out:
	free(tail);
	fclose(f);
	if (!found || granule == UINT64_MAX || granule <= skip)
		return 0;
	return (uint32_t)((granule - skip + rate / 2) / rate);
}
