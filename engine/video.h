/* engine/video: video frames and audio samples out of a media file, by
 * FFmpeg's libraries (libavformat, libavcodec, libswscale). What the media
 * pipeline needs of a video or a voice note that GraphicsMagick cannot
 * give: the first frame of a video (its jpegThumbnail), frames at a given
 * rate for an animated sticker, an audio track's length and waveform.
 *
 * Input: a file path, never a buffer: libavformat reads the file itself,
 * a packet at a time, so a 64 MB video costs its decoder's few frames, not
 * 64 MB. Only the "file" protocol and a fixed set of container formats are
 * opened (MP4 / QuickTime / 3GP, Matroska / WebM, GIF, Ogg, AVI, MPEG-TS,
 * MP3, WAV, FLAC, ADTS AAC): no playlists (HLS, concat), no network, no
 * image2 sequences, so a hostile file cannot make FFmpeg open another file
 * or a URL. The decoders run single-threaded (the caller is already one of
 * the media threads).
 *
 * Bounds: a video larger than WA_VIDEO_MAX_SIDE on a side or
 * WA_VIDEO_MAX_PIXELS in all is refused (WA_ETOOBIG) before any frame is
 * decoded; wa_video_frames stops after opts->max_ms of the video or
 * opts->max_frames frames, whichever comes first, and never decodes more
 * than WA_VIDEO_MAX_DECODED frames in all (a file whose timestamps never
 * advance); wa_video_waveform reads at most WA_VIDEO_AUDIO_MAX_S seconds.
 *
 * Errors (common/wa_err.h): WA_EINVAL the file is no media file of those
 * formats, or has no stream of the kind asked for, or cannot be decoded;
 * WA_ETOOBIG over the size bounds; WA_ENOMEM; WA_EIO the file cannot be
 * opened. A frame callback's nonzero return stops the decoding and is
 * returned as it is.
 *
 * Threading: blocking, media threads only (never the event loop).
 * Thread-safe: each call has its own demuxer, decoder and scaler; FFmpeg's
 * logging is silenced once (pthread_once). */
#ifndef WA_ENGINE_VIDEO_H
#define WA_ENGINE_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#define WA_VIDEO_MAX_SIDE 8192
#define WA_VIDEO_MAX_PIXELS (16u * 1024 * 1024)  /* width x height */
#define WA_VIDEO_MAX_DECODED 20000               /* frames decoded by one call, at most */
#define WA_VIDEO_AUDIO_MAX_S (30 * 60)           /* audio read for a waveform, at most */
#define WA_VIDEO_WAVEFORM 64                     /* bytes of a voice note's waveform */

struct wa_video_info {
	int64_t duration_ms;   /* the file's (or the longest stream's) length; -1 unknown */
	uint32_t width, height; /* the first video stream's frame size; 0 when none */
	int has_video, has_audio;
};

/* What the file holds (its headers only; nothing decoded). 0 or an
 * error. */
int wa_video_probe(const char *path, struct wa_video_info *info);

struct wa_video_opts {
	unsigned fps;            /* frames wanted per second (1..60): the source's frames are
				  * sampled down to this rate (never up) */
	uint32_t box_w, box_h;   /* each frame scaled to fit inside, aspect kept (at least 1 px) */
	uint32_t max_ms;         /* of the video, from its first frame; 0: no bound but the others */
	unsigned max_frames;     /* frames given to fn, at most; 0: no bound but the others */
};

/* One frame: RGBA (straight alpha; opaque for formats without alpha),
 * w x h pixels, rows w * 4 bytes apart, borrowed until fn returns. ts_ms
 * is its time from the first frame (0 for the first). */
typedef int (*wa_video_frame_fn)(void *ctx, const uint8_t *rgba, uint32_t w, uint32_t h, int64_t ts_ms);

/* Decode the first video stream's frames, sampled to opts->fps, scaled,
 * and give them to fn in order. 0 when the stream ended or a bound was
 * reached (*nframes, may be NULL: how many fn got; 0 frames is WA_EINVAL),
 * fn's nonzero value, or an error. */
int wa_video_frames(const char *path, const struct wa_video_opts *opts, wa_video_frame_fn fn, void *ctx,
		    unsigned *nframes);

/* The first audio stream's length in ms and WhatsApp's voice-note
 * waveform of it (Baileys' getAudioWaveform): the first channel's samples
 * in WA_VIDEO_WAVEFORM equal blocks, each block's mean absolute amplitude,
 * scaled so the largest is 100 (floor(100 * mean / max)); all 0 for
 * silence. 0 or an error. */
int wa_video_waveform(const char *path, uint8_t wave[WA_VIDEO_WAVEFORM], int64_t *ms);

/* ---- GIF to MP4 ---- */

#define WA_VIDEO_MP4_MAX_SIDE 1280 /* a converted GIF is fitted inside this square */

struct wa_video_mp4 {
	uint32_t width, height;  /* of the MP4's frames */
	int64_t duration_ms;     /* its length */
	unsigned frames;
};

/* The first video stream of in (an animated GIF, or any video of the
 * formats above) as an MP4 written to the file out (truncated): H.264
 * (libavcodec's libx264, else any H.264 encoder it has; WA_EINTERNAL when
 * none), yuv420p, main profile, CRF 23, no audio, the moov box first
 * (faststart), each frame at its own time (a GIF's variable delays kept),
 * transparency over white, frames fitted inside WA_VIDEO_MP4_MAX_SIDE
 * square (aspect kept, never enlarged) with both sides even. This is how
 * WhatsApp's clients send a GIF: an MP4 in a videoMessage with
 * gifPlayback. Streaming: a frame is decoded, converted and encoded at a
 * time. A file longer than max_ms (0: no bound; half a second of grace),
 * by its header or by its frames' times, or of more than
 * WA_VIDEO_MAX_DECODED frames, is WA_ETOOBIG; out is then partial (the
 * caller removes it). 0 with *res, or an error. */
int wa_video_to_mp4(const char *in, const char *out, uint32_t max_ms, struct wa_video_mp4 *res);

#endif
