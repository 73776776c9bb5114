/* video: frames and audio samples by FFmpeg's libraries (see video.h). */
#include "engine/video.h"
#include "wa_err.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

/* demuxer names (each matches FFmpeg's list name it is part of) */
#define FORMATS "mov,matroska,gif,ogg,avi,mpegts,mp3,wav,flac,aac"
#define WAVE_BIN 64          /* samples summed per bin of the waveform's first pass */

static pthread_once_t av_once = PTHREAD_ONCE_INIT;

static void av_init(void)
{
	av_log_set_level(AV_LOG_QUIET);
}

static int av_fail(int averr)
{
	if (averr == AVERROR(ENOMEM))
		return WA_ENOMEM;
	if (averr == AVERROR(ENOENT) || averr == AVERROR(EACCES) || averr == AVERROR(EIO))
		return WA_EIO;
	return WA_EINVAL;
}

/* The file, opened with only the file protocol and the formats above. */
static int open_input(const char *path, AVFormatContext **out)
{
	AVFormatContext *fc = NULL;
	AVDictionary *o = NULL;
	char *url;
	size_t n = strlen(path) + 6;
	int rc;

	*out = NULL;
	pthread_once(&av_once, av_init);
	if (!(url = malloc(n)))
		return WA_ENOMEM;
	snprintf(url, n, "file:%s", path);
	if (av_dict_set(&o, "protocol_whitelist", "file", 0) < 0 ||
	    av_dict_set(&o, "format_whitelist", FORMATS, 0) < 0) {
		av_dict_free(&o);
		free(url);
		return WA_ENOMEM;
	}
	rc = avformat_open_input(&fc, url, NULL, &o);
	av_dict_free(&o);
	free(url);
	if (rc < 0)
		return av_fail(rc);
	if ((rc = avformat_find_stream_info(fc, NULL)) < 0) {
		avformat_close_input(&fc);
		return av_fail(rc);
	}
	*out = fc;
	return 0;
}

static int size_ok(uint32_t w, uint32_t h)
{
	return w && h && w <= WA_VIDEO_MAX_SIDE && h <= WA_VIDEO_MAX_SIDE &&
	       (uint64_t)w * h <= WA_VIDEO_MAX_PIXELS;
}

int wa_video_probe(const char *path, struct wa_video_info *info)
{
	AVFormatContext *fc;
	int rc, vs, as;

	memset(info, 0, sizeof *info);
	info->duration_ms = -1;
	if ((rc = open_input(path, &fc)) != 0)
		return rc;
	vs = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	as = av_find_best_stream(fc, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	if (vs >= 0) {
		const AVCodecParameters *p = fc->streams[vs]->codecpar;

		info->has_video = 1;
		if (p->width > 0 && p->height > 0) {
			info->width = (uint32_t)p->width;
			info->height = (uint32_t)p->height;
		}
	}
	info->has_audio = as >= 0;
	if (fc->duration != AV_NOPTS_VALUE && fc->duration > 0) {
		info->duration_ms = av_rescale(fc->duration, 1000, AV_TIME_BASE);
	} else {
		for (unsigned i = 0; i < fc->nb_streams; i++) {
			const AVStream *st = fc->streams[i];

			if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
				int64_t ms = av_rescale_q(st->duration, st->time_base, (AVRational){ 1, 1000 });

				if (ms > info->duration_ms)
					info->duration_ms = ms;
			}
		}
	}
	avformat_close_input(&fc);
	return vs >= 0 || as >= 0 ? 0 : WA_EINVAL;
}

/* A decoder for stream si of fc. */
static int open_decoder(AVFormatContext *fc, int si, AVCodecContext **out)
{
	const AVCodec *codec = avcodec_find_decoder(fc->streams[si]->codecpar->codec_id);
	AVCodecContext *cc;

	*out = NULL;
	if (!codec)
		return WA_EINVAL;
	if (!(cc = avcodec_alloc_context3(codec)))
		return WA_ENOMEM;
	cc->thread_count = 1;
	if (avcodec_parameters_to_context(cc, fc->streams[si]->codecpar) < 0 || avcodec_open2(cc, codec, NULL) < 0) {
		avcodec_free_context(&cc);
		return WA_EINVAL;
	}
	*out = cc;
	return 0;
}

/* Feed the decoder the stream's packets: got(ctx, frame) for each frame
 * it gives; got's nonzero value stops (returned; 1 is "enough", not an
 * error, and becomes 0). The decoder is drained at the end of the file. */
typedef int (*frame_fn)(void *ctx, AVFrame *f);

static int decode_stream(AVFormatContext *fc, AVCodecContext *cc, int si, frame_fn got, void *ctx)
{
	AVPacket *pkt = av_packet_alloc();
	AVFrame *f = av_frame_alloc();
	int rc = 0, eof = 0;

	if (!pkt || !f) {
		rc = WA_ENOMEM;
		goto out;
	}
	while (!rc) {
		int r;

		if (!eof) {
			r = av_read_frame(fc, pkt);
			if (r < 0) {
				eof = 1;
				r = avcodec_send_packet(cc, NULL);
			} else if (pkt->stream_index != si) {
				av_packet_unref(pkt);
				continue;
			} else {
				r = avcodec_send_packet(cc, pkt);
				av_packet_unref(pkt);
				if (r == AVERROR_INVALIDDATA)
					continue; /* a broken packet: the next may decode */
			}
			if (r < 0 && r != AVERROR(EAGAIN) && r != AVERROR_EOF) {
				rc = r == AVERROR(ENOMEM) ? WA_ENOMEM : 0;
				break;
			}
		}
		for (;;) {
			r = avcodec_receive_frame(cc, f);
			if (r == AVERROR(EAGAIN))
				break;
			if (r == AVERROR_EOF)
				goto out;
			if (r == AVERROR_INVALIDDATA)
				break; /* a frame that does not decode: on with the next packet */
			if (r < 0) {
				rc = r == AVERROR(ENOMEM) ? WA_ENOMEM : 0;
				goto out;
			}
			rc = got(ctx, f);
			av_frame_unref(f);
			if (rc)
				break;
		}
		if (eof && !rc)
			break; /* drained: receive_frame said EAGAIN after a flush (should not happen) */
	}
out:
	av_packet_free(&pkt);
	av_frame_free(&f);
	return rc == 1 ? 0 : rc;
}

/* ---- frames ---- */

struct frames {
	const struct wa_video_opts *o;
	wa_video_frame_fn fn;
	void *ctx;
	AVRational tb;
	double step_ms, next_ms;
	int64_t t0;
	unsigned decoded, given;
	struct SwsContext *sws;
	int sw, sh, sfmt;             /* what sws was made for */
	uint32_t dw, dh;
	uint8_t *rgba;
	int err;
};

static void fit(uint32_t w, uint32_t h, uint32_t bw, uint32_t bh, uint32_t *ow, uint32_t *oh)
{
	if ((uint64_t)w * bh >= (uint64_t)h * bw) {
		*ow = bw;
		*oh = (uint32_t)(((uint64_t)h * bw + w / 2) / w);
	} else {
		*oh = bh;
		*ow = (uint32_t)(((uint64_t)w * bh + h / 2) / h);
	}
	if (!*ow)
		*ow = 1;
	if (!*oh)
		*oh = 1;
}

static int on_frame(void *arg, AVFrame *f)
{
	struct frames *fr = arg;
	int64_t ts = f->best_effort_timestamp;
	double rel;
	uint8_t *dst[4];
	int dstride[4];

	if (++fr->decoded > WA_VIDEO_MAX_DECODED)
		return 1;
	if (!size_ok((uint32_t)f->width, (uint32_t)f->height)) {
		fr->err = WA_ETOOBIG;
		return 1;
	}
	if (ts == AV_NOPTS_VALUE) {
		rel = fr->next_ms; /* no time: one frame per step */
	} else {
		if (fr->t0 == AV_NOPTS_VALUE)
			fr->t0 = ts;
		rel = (double)(ts - fr->t0) * 1000.0 * fr->tb.num / fr->tb.den;
	}
	if (rel < 0)
		rel = 0;
	if (fr->o->max_ms && rel >= fr->o->max_ms)
		return 1;
	if (fr->given && rel + 0.5 < fr->next_ms)
		return 0; /* sampled out */
	while (fr->next_ms <= rel + 0.5)
		fr->next_ms += fr->step_ms;
	if (!fr->sws || f->width != fr->sw || f->height != fr->sh || f->format != fr->sfmt) {
		uint32_t dw, dh;

		fit((uint32_t)f->width, (uint32_t)f->height, fr->o->box_w, fr->o->box_h, &dw, &dh);
		fr->sws = sws_getCachedContext(fr->sws, f->width, f->height, (enum AVPixelFormat)f->format, (int)dw,
					       (int)dh, AV_PIX_FMT_RGBA, SWS_BICUBIC, NULL, NULL, NULL);
		if (!fr->sws) {
			fr->err = WA_EINVAL;
			return 1;
		}
		if (dw != fr->dw || dh != fr->dh || !fr->rgba) {
			free(fr->rgba);
			if (!(fr->rgba = malloc((size_t)dw * dh * 4))) {
				fr->err = WA_ENOMEM;
				return 1;
			}
			fr->dw = dw;
			fr->dh = dh;
		}
		fr->sw = f->width;
		fr->sh = f->height;
		fr->sfmt = f->format;
	}
	dst[0] = fr->rgba;
	dst[1] = dst[2] = dst[3] = NULL;
	dstride[0] = (int)fr->dw * 4;
	dstride[1] = dstride[2] = dstride[3] = 0;
	if (sws_scale(fr->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dstride) <= 0) {
		fr->err = WA_EINVAL;
		return 1;
	}
	fr->given++;
	{
		int r = fr->fn(fr->ctx, fr->rgba, fr->dw, fr->dh, (int64_t)(rel + 0.5));

		if (r) {
			fr->err = r;
			return 1;
		}
	}
	if (fr->o->max_frames && fr->given >= fr->o->max_frames)
		return 1;
	return 0;
}

int wa_video_frames(const char *path, const struct wa_video_opts *o, wa_video_frame_fn fn, void *ctx,
		    unsigned *nframes)
{
	AVFormatContext *fc = NULL;
	AVCodecContext *cc = NULL;
	struct frames fr;
	int rc, si;

	if (nframes)
		*nframes = 0;
	if (!o || !fn || o->fps < 1 || o->fps > 60 || !o->box_w || !o->box_h)
		return WA_EINVAL;
	if ((rc = open_input(path, &fc)) != 0)
		return rc;
	if ((si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0)) < 0) {
		rc = WA_EINVAL;
		goto out;
	}
	if (!size_ok((uint32_t)fc->streams[si]->codecpar->width, (uint32_t)fc->streams[si]->codecpar->height)) {
		rc = fc->streams[si]->codecpar->width > 0 ? WA_ETOOBIG : WA_EINVAL;
		goto out;
	}
	if ((rc = open_decoder(fc, si, &cc)) != 0)
		goto out;
	memset(&fr, 0, sizeof fr);
	fr.o = o;
	fr.fn = fn;
	fr.ctx = ctx;
	fr.tb = fc->streams[si]->time_base;
	if (fr.tb.num <= 0 || fr.tb.den <= 0)
		fr.tb = (AVRational){ 1, 1000 };
	fr.step_ms = 1000.0 / o->fps;
	fr.t0 = AV_NOPTS_VALUE;
	fr.sfmt = -1;
	rc = decode_stream(fc, cc, si, on_frame, &fr);
	if (!rc)
		rc = fr.err;
	if (!rc && !fr.given)
		rc = WA_EINVAL;
	if (nframes)
		*nframes = fr.given;
	sws_freeContext(fr.sws);
	free(fr.rgba);
out:
	avcodec_free_context(&cc);
	avformat_close_input(&fc);
	return rc;
}

/* ---- audio ---- */

struct wave {
	float *bins;          /* sum of |sample| per WAVE_BIN samples */
	size_t nbins, cap;
	float acc;
	unsigned in_bin;
	uint64_t samples, max_samples;
	int err;
};

static int wave_add(struct wave *w, float v)
{
	w->acc += fabsf(v);
	if (++w->in_bin == WAVE_BIN) {
		if (w->nbins == w->cap) {
			size_t nc = w->cap ? w->cap * 2 : 4096;
			float *nb = realloc(w->bins, nc * sizeof *nb);

			if (!nb)
				return WA_ENOMEM;
			w->bins = nb;
			w->cap = nc;
		}
		w->bins[w->nbins++] = w->acc;
		w->acc = 0;
		w->in_bin = 0;
	}
	w->samples++;
	return 0;
}

/* Sample i of channel 0 of f as a float in [-1, 1]; 0 when the format is
 * not one we read. */
static float sample0(const AVFrame *f, int i, int ch)
{
	const uint8_t *p = f->extended_data[0];

	switch (f->format) {
	case AV_SAMPLE_FMT_FLTP: return ((const float *)p)[i];
	case AV_SAMPLE_FMT_FLT: return ((const float *)p)[(size_t)i * ch];
	case AV_SAMPLE_FMT_DBLP: return (float)((const double *)p)[i];
	case AV_SAMPLE_FMT_DBL: return (float)((const double *)p)[(size_t)i * ch];
	case AV_SAMPLE_FMT_S16P: return ((const int16_t *)p)[i] / 32768.0f;
	case AV_SAMPLE_FMT_S16: return ((const int16_t *)p)[(size_t)i * ch] / 32768.0f;
	case AV_SAMPLE_FMT_S32P: return (float)(((const int32_t *)p)[i] / 2147483648.0);
	case AV_SAMPLE_FMT_S32: return (float)(((const int32_t *)p)[(size_t)i * ch] / 2147483648.0);
	case AV_SAMPLE_FMT_U8P: return (p[i] - 128) / 128.0f;
	case AV_SAMPLE_FMT_U8: return (p[(size_t)i * ch] - 128) / 128.0f;
	default: return 0;
	}
}

static int on_audio(void *arg, AVFrame *f)
{
	struct wave *w = arg;
	int ch = f->ch_layout.nb_channels > 0 ? f->ch_layout.nb_channels : 1;

	for (int i = 0; i < f->nb_samples; i++) {
		float v = sample0(f, i, ch);

		if (!isfinite(v))
			v = 0;
		if (wave_add(w, v) != 0) {
			w->err = WA_ENOMEM;
			return 1;
		}
		if (w->samples >= w->max_samples)
			return 1;
	}
	return 0;
}

int wa_video_waveform(const char *path, uint8_t wave[WA_VIDEO_WAVEFORM], int64_t *ms)
{
	AVFormatContext *fc = NULL;
	AVCodecContext *cc = NULL;
	struct wave w;
	double means[WA_VIDEO_WAVEFORM], max = 0;
	int rc, si, rate;

	memset(wave, 0, WA_VIDEO_WAVEFORM);
	memset(&w, 0, sizeof w);
	*ms = 0;
	if ((rc = open_input(path, &fc)) != 0)
		return rc;
	if ((si = av_find_best_stream(fc, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0)) < 0) {
		rc = WA_EINVAL;
		goto out;
	}
	if ((rc = open_decoder(fc, si, &cc)) != 0)
		goto out;
	rate = cc->sample_rate > 0 ? cc->sample_rate : 48000;
	w.max_samples = (uint64_t)rate * WA_VIDEO_AUDIO_MAX_S;
	rc = decode_stream(fc, cc, si, on_audio, &w);
	if (!rc)
		rc = w.err;
	if (rc)
		goto out;
	if (!w.samples) {
		rc = WA_EINVAL;
		goto out;
	}
	*ms = (int64_t)(w.samples * 1000 / (uint64_t)rate);
	{
		/* Baileys' blocks: floor(samples / 64) samples each, from the
		 * bins that start inside them */
		uint64_t block = w.samples / WA_VIDEO_WAVEFORM;

		if (block < WAVE_BIN)
			goto out; /* too short to say: all 0 */
		for (int b = 0; b < WA_VIDEO_WAVEFORM; b++) {
			size_t from = (size_t)(block * (uint64_t)b / WAVE_BIN);
			size_t to = (size_t)(block * (uint64_t)(b + 1) / WAVE_BIN);
			double sum = 0;

			if (to > w.nbins)
				to = w.nbins;
			for (size_t i = from; i < to; i++)
				sum += w.bins[i];
			means[b] = to > from ? sum / ((double)(to - from) * WAVE_BIN) : 0;
			if (means[b] > max)
				max = means[b];
		}
		if (max > 0)
			for (int b = 0; b < WA_VIDEO_WAVEFORM; b++) {
				double v = floor(100.0 * means[b] / max);

				wave[b] = (uint8_t)(v < 0 ? 0 : v > 100 ? 100 : v);
			}
	}
out:
	free(w.bins);
	avcodec_free_context(&cc);
	avformat_close_input(&fc);
	return rc;
}

/* ---- GIF to MP4 ---- */

struct mp4 {
	AVFormatContext *oc;
	AVStream *ost;
	AVCodecContext *enc;
	AVFrame *yuv;
	AVPacket *pkt;
	struct SwsContext *to_rgba, *to_yuv;
	int sw, sh, sfmt;             /* what to_rgba was made for */
	uint32_t dw, dh;
	uint8_t *rgba;
	AVRational tb;                /* the input stream's, the encoder's */
	int64_t t0, last_pts, last_dur, max_pts;
	unsigned decoded, frames;
	int err;
	const char *oc_path;          /* the MP4 to write */
};

/* The encoder's packets so far into the file. 0 or an error. */
static int mp4_drain(struct mp4 *x)
{
	for (;;) {
		int r = avcodec_receive_packet(x->enc, x->pkt);

		if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
			return 0;
		if (r < 0)
			return r == AVERROR(ENOMEM) ? WA_ENOMEM : WA_EINTERNAL;
		av_packet_rescale_ts(x->pkt, x->enc->time_base, x->ost->time_base);
		x->pkt->stream_index = x->ost->index;
		r = av_interleaved_write_frame(x->oc, x->pkt);
		av_packet_unref(x->pkt);
		if (r < 0)
			return r == AVERROR(ENOMEM) ? WA_ENOMEM : WA_EIO;
	}
}

/* x->yuv (already filled) at pts through the encoder. */
static int mp4_put(struct mp4 *x, int64_t pts)
{
	int r;

	x->yuv->pts = pts;
	r = avcodec_send_frame(x->enc, x->yuv);
	if (r < 0)
		return r == AVERROR(ENOMEM) ? WA_ENOMEM : WA_EINTERNAL;
	return mp4_drain(x);
}

/* The encoder and the file's header, for frames dw x dh. */
static int mp4_open(struct mp4 *x, const char *out)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	AVDictionary *mo = NULL;
	char *url;
	size_t n = strlen(out) + 6;
	int r;

	if (!codec)
		codec = avcodec_find_encoder(AV_CODEC_ID_H264);
	if (!codec)
		return WA_EINTERNAL;
	if (!(url = malloc(n)))
		return WA_ENOMEM;
	snprintf(url, n, "file:%s", out);
	r = avformat_alloc_output_context2(&x->oc, NULL, "mp4", url);
	if (r < 0 || !x->oc) {
		free(url);
		return WA_ENOMEM;
	}
	if (!(x->oc->protocol_whitelist = av_strdup("file"))) {
		free(url);
		return WA_ENOMEM;
	}
	r = avio_open(&x->oc->pb, url, AVIO_FLAG_WRITE);
	free(url);
	if (r < 0)
		return WA_EIO;
	if (!(x->enc = avcodec_alloc_context3(codec)) || !(x->ost = avformat_new_stream(x->oc, NULL)))
		return WA_ENOMEM;
	x->enc->width = (int)x->dw;
	x->enc->height = (int)x->dh;
	x->enc->pix_fmt = AV_PIX_FMT_YUV420P;
	x->enc->time_base = x->tb;
	x->enc->sample_aspect_ratio = (AVRational){ 1, 1 };
	x->enc->thread_count = 1;
	x->enc->max_b_frames = 0;
	x->enc->gop_size = 250;
	if (x->oc->oformat->flags & AVFMT_GLOBALHEADER)
		x->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if (x->enc->priv_data) {
		/* failures leave the encoder's defaults (another H.264 encoder
		 * has other options) */
		(void)av_opt_set(x->enc->priv_data, "preset", "veryfast", 0);
		(void)av_opt_set(x->enc->priv_data, "profile", "main", 0);
		(void)av_opt_set(x->enc->priv_data, "crf", "23", 0);
	}
	if (avcodec_open2(x->enc, codec, NULL) < 0)
		return WA_EINTERNAL;
	if (avcodec_parameters_from_context(x->ost->codecpar, x->enc) < 0)
		return WA_ENOMEM;
	x->ost->time_base = x->tb;
	if (!(x->yuv = av_frame_alloc()) || !(x->pkt = av_packet_alloc()))
		return WA_ENOMEM;
	x->yuv->format = AV_PIX_FMT_YUV420P;
	x->yuv->width = (int)x->dw;
	x->yuv->height = (int)x->dh;
	if (av_frame_get_buffer(x->yuv, 0) < 0 || !(x->rgba = malloc((size_t)x->dw * x->dh * 4)))
		return WA_ENOMEM;
	/* the moov box first: a phone plays the GIF while it downloads */
	if (av_dict_set(&mo, "movflags", "+faststart", 0) < 0)
		return WA_ENOMEM;
	r = avformat_write_header(x->oc, &mo);
	av_dict_free(&mo);
	if (r < 0)
		return WA_EIO;
	x->to_yuv = sws_getContext((int)x->dw, (int)x->dh, AV_PIX_FMT_RGBA, (int)x->dw, (int)x->dh,
				   AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
	return x->to_yuv ? 0 : WA_ENOMEM;
}

static int on_mp4_frame(void *arg, AVFrame *f)
{
	struct mp4 *x = arg;
	int64_t ts = f->best_effort_timestamp, pts;
	uint8_t *dst[4] = { NULL, NULL, NULL, NULL };
	int dstride[4] = { 0, 0, 0, 0 };
	int rc;

	if (++x->decoded > WA_VIDEO_MAX_DECODED) {
		x->err = WA_ETOOBIG;
		return 1;
	}
	if (!size_ok((uint32_t)f->width, (uint32_t)f->height)) {
		x->err = WA_ETOOBIG;
		return 1;
	}
	if (ts == AV_NOPTS_VALUE) {
		pts = x->frames ? x->last_pts + (x->last_dur > 0 ? x->last_dur : 1) : 0;
	} else {
		if (x->t0 == AV_NOPTS_VALUE)
			x->t0 = ts;
		pts = ts - x->t0;
	}
	if (x->frames && pts <= x->last_pts)
		pts = x->last_pts + 1;
	if (pts < 0)
		pts = 0;
	if (x->max_pts && pts > x->max_pts) {
		x->err = WA_ETOOBIG;
		return 1;
	}
	if (!x->oc) {
		uint32_t dw, dh;

		/* the first frame fixes the size: fitted inside the box, both
		 * sides even (yuv420p) */
		fit((uint32_t)f->width, (uint32_t)f->height,
		    (uint32_t)f->width < WA_VIDEO_MP4_MAX_SIDE ? (uint32_t)f->width : WA_VIDEO_MP4_MAX_SIDE,
		    (uint32_t)f->height < WA_VIDEO_MP4_MAX_SIDE ? (uint32_t)f->height : WA_VIDEO_MP4_MAX_SIDE, &dw, &dh);
		x->dw = dw < 2 ? 2 : dw & ~1u;
		x->dh = dh < 2 ? 2 : dh & ~1u;
		if ((rc = mp4_open(x, x->oc_path)) != 0) {
			x->err = rc;
			return 1;
		}
	}
	if (!x->to_rgba || f->width != x->sw || f->height != x->sh || f->format != x->sfmt) {
		x->to_rgba = sws_getCachedContext(x->to_rgba, f->width, f->height, (enum AVPixelFormat)f->format,
						  (int)x->dw, (int)x->dh, AV_PIX_FMT_RGBA, SWS_BICUBIC, NULL, NULL, NULL);
		if (!x->to_rgba) {
			x->err = WA_EINVAL;
			return 1;
		}
		x->sw = f->width;
		x->sh = f->height;
		x->sfmt = f->format;
	}
	dst[0] = x->rgba;
	dstride[0] = (int)x->dw * 4;
	if (sws_scale(x->to_rgba, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dstride) <= 0) {
		x->err = WA_EINVAL;
		return 1;
	}
	/* over white, as a phone shows a transparent GIF */
	for (size_t i = 0; i < (size_t)x->dw * x->dh; i++) {
		uint8_t *p = x->rgba + i * 4;
		unsigned a = p[3];

		for (int c = 0; c < 3; c++)
			p[c] = (uint8_t)((p[c] * a + 255 * (255 - a) + 127) / 255);
		p[3] = 255;
	}
	if (av_frame_make_writable(x->yuv) < 0) {
		x->err = WA_ENOMEM;
		return 1;
	}
	{
		const uint8_t *src[4] = { x->rgba, NULL, NULL, NULL };
		int sstride[4] = { (int)x->dw * 4, 0, 0, 0 };

		if (sws_scale(x->to_yuv, src, sstride, 0, (int)x->dh, x->yuv->data, x->yuv->linesize) <= 0) {
			x->err = WA_EINVAL;
			return 1;
		}
	}
	if ((rc = mp4_put(x, pts)) != 0) {
		x->err = rc;
		return 1;
	}
#if LIBAVUTIL_VERSION_MAJOR < 58
	x->last_dur = f->pkt_duration;
#else
	x->last_dur = f->duration;
#endif
	x->last_pts = pts;
	x->frames++;
	return 0;
}

int wa_video_to_mp4(const char *in, const char *out, uint32_t max_ms, struct wa_video_mp4 *res)
{
	AVFormatContext *fc = NULL;
	AVCodecContext *cc = NULL;
	struct mp4 x;
	int rc, si;

	memset(res, 0, sizeof *res);
	memset(&x, 0, sizeof x);
	x.t0 = AV_NOPTS_VALUE;
	x.sfmt = -1;
	x.oc_path = out;
	if ((rc = open_input(in, &fc)) != 0)
		return rc;
	if ((si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0)) < 0) {
		rc = WA_EINVAL;
		goto out;
	}
	if (!size_ok((uint32_t)fc->streams[si]->codecpar->width, (uint32_t)fc->streams[si]->codecpar->height)) {
		rc = fc->streams[si]->codecpar->width > 0 ? WA_ETOOBIG : WA_EINVAL;
		goto out;
	}
	/* the header's length first: a long file is refused undecoded (half a
	 * second of grace) */
	if (max_ms && fc->duration != AV_NOPTS_VALUE && fc->duration > 0 &&
	    av_rescale(fc->duration, 1000, AV_TIME_BASE) > (int64_t)max_ms + 500) {
		rc = WA_ETOOBIG;
		goto out;
	}
	if ((rc = open_decoder(fc, si, &cc)) != 0)
		goto out;
	x.tb = fc->streams[si]->time_base;
	if (x.tb.num <= 0 || x.tb.den <= 0)
		x.tb = (AVRational){ 1, 1000 };
	if (max_ms)
		x.max_pts = av_rescale_q((int64_t)max_ms + 500, (AVRational){ 1, 1000 }, x.tb);
	rc = decode_stream(fc, cc, si, on_mp4_frame, &x);
	if (!rc)
		rc = x.err;
	if (!rc && !x.frames)
		rc = WA_EINVAL;
	if (rc)
		goto out;
	/* the last frame again where it ends: the MP4 lasts as long as the
	 * GIF (a frame of no duration: a tenth of a second) */
	{
		int64_t end = x.last_pts + (x.last_dur > 0 ? x.last_dur : av_rescale_q(100, (AVRational){ 1, 1000 }, x.tb));

		if (end <= x.last_pts)
			end = x.last_pts + 1;
		if ((rc = mp4_put(&x, end)) != 0)
			goto out;
		res->duration_ms = av_rescale_q(end, x.tb, (AVRational){ 1, 1000 });
	}
	if (avcodec_send_frame(x.enc, NULL) < 0 || (rc = mp4_drain(&x)) != 0) {
		rc = rc ? rc : WA_EINTERNAL;
		goto out;
	}
	if (av_write_trailer(x.oc) < 0) {
		rc = WA_EIO;
		goto out;
	}
	res->width = x.dw;
	res->height = x.dh;
	res->frames = x.frames + 1;
out:
	if (x.oc) {
		if (x.oc->pb)
			avio_closep(&x.oc->pb);
		avformat_free_context(x.oc);
	}
	avcodec_free_context(&x.enc);
	av_frame_free(&x.yuv);
	av_packet_free(&x.pkt);
	sws_freeContext(x.to_rgba);
	sws_freeContext(x.to_yuv);
	free(x.rgba);
	avcodec_free_context(&cc);
	avformat_close_input(&fc);
	return rc;
}
