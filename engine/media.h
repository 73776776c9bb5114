/* engine/media: the outgoing media pipeline (docs/engine.md "Sending
 * media", docs/protocol.md §9).
 *
 * A job is one file to send as one message part: where its bytes come
 * from (a client's URL, base64 / a data: URL, or a file the FastCGI worker
 * stored under media.dir for a multipart route), what kind it is, and the
 * media host to upload to (host and auth from the session's media_conn,
 * which the loop asks for; sess_media.c). A media thread
 *   1. gets the plaintext into a temporary file under media.dir: the URL
 *      through common/wa_fetch (the SSRF rules and the media.fetch_* caps,
 *      docs/fetch.md), base64 decoded 48 KiB at a time, an uploaded file
 *      used where it is (only a path inside media.dir is accepted);
 *   1b. with removebg_url: the file POSTed to remove.bg (the bot's removebg
 *      command); its PNG answer (at most 64 MB) replaces the plaintext,
 *      its JSON error ({errors: [{title}]}) fails the job with 502 and
 *      "remove.bg: <title>";
 *   2. kind by kind: a sticker is converted by GraphicsMagick to a 512x512
 *      WebP (aspect kept, transparent padding) with the pack / author EXIF
 *      WhatsApp reads; a video, an animated GIF or an animated WebP
 *      (engine/webp_anim.h) made a sticker becomes an
 *      animated WebP (media_vid.c, engine/video.h: FFmpeg decodes, at most
 *      10 s at 15 fps down to 5 fps, under 500 KB; a video longer than
 *      max_seconds is refused); an image gets its width, height and a small JPEG
 *      thumbnail (only sniffed JPEG, PNG, GIF, WebP, BMP and TIFF files
 *      reach GraphicsMagick, at most 40 megapixels); a PDF document its page
 *      count (a cheap scan, see wa_media_pdf_pages); an Ogg audio its
 *      duration (last granule), an M4A one from mvhd; an MP4 video its
 *      duration and size (moov/mvhd, tkhd; FFmpeg's headers for other
 *      containers) and a JPEG thumbnail of its first frame, 32 px wide (a
 *      GIF, or with gifPlayback any video that is not ISO BMFF, is first
 *      made an H.264 MP4 by engine/video.h's wa_video_to_mp4, at most
 *      WA_MEDIA_GIF_MAX_S, and sent with gifPlayback); a
 *      voice note its seconds and 64-byte waveform from the decoded audio;
 *   3. streams the plaintext through wa_media_enc (wa/mediacrypto.h) into
 *      a second temporary file, 64 KiB at a time: fileSha256,
 *      fileEncSha256 and the lengths come out of the stream, so neither the
 *      plaintext nor the ciphertext is ever whole in memory (a 64 MB video
 *      costs the engine two 64 KiB buffers);
 *   4. POSTs the encrypted file with libcurl, read from disk, to
 *      https://<host>/mms/<type>/<token>?auth=<auth>&token=<token> (host:
 *      the job's, else whatsapp.media_host; token: base64url of
 *      fileEncSha256 without padding; TLS peer checked against
 *      whatsapp.media_ca or the system's store; media.upload_timeout_ms)
 *      and reads url / direct_path from the JSON answer;
 *   5. removes its temporary files (an uploaded file of the worker's is
 *      left: its media_files row names it) and posts done(job) to the
 *      loop's inbox.
 *
 * Errors: job->status is 0 on success, else the HTTP status to answer (400:
 * the client's input: a refused or failed fetch, base64 that is not, an
 * image GraphicsMagick cannot read, too big; 502: the media host refused
 * the upload; 503: our disk; 500: memory) with job->why one line for the
 * client (never a local path) and job->code the error code.
 *
 * Threading: wa_media_new / _submit / _free on the loop thread; the job is
 * the media thread's from submit until done runs (on the loop thread,
 * through the inbox), then the caller's again. The media threads never
 * touch the database or a session, so a slow fetch or a 64 MB upload
 * delays neither keep-alives nor database work. At most `threads` jobs run
 * at once (engine.media_threads); more wait in a FIFO of at most
 * WA_MEDIA_QUEUE_MAX (a submit past that fails: answer 503).
 *
 * Ownership: the job's strings are its own (wa_media_job_free frees them
 * and the thumbnail); a borrowed source (source_borrowed) is kept alive by
 * the job's own reference to its JSON string (source_ref), which only the
 * thread that made the job takes and drops. */
#ifndef WA_ENGINE_MEDIA_H
#define WA_ENGINE_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "wa/mediacrypto.h"

struct wa_config;
struct wa_inbox;
struct wa_media;

#define WA_MEDIA_QUEUE_MAX 256
#define WA_MEDIA_HOST_MAX 256
#define WA_MEDIA_AUTH_MAX 512
#define WA_MEDIA_STICKER_SIDE 512
#define WA_MEDIA_THUMB_WIDTH 32          /* BL's jpegThumbnail: 32 px wide, quality 50 */
#define WA_MEDIA_STICKER_PACK_MAX 128    /* bytes of pack and author names */
#define WA_MEDIA_STICKER_QUALITY 50      /* the reference's default WebP quality */

/* /sticker's "type" (the reference): how an image fills the square. */
enum wa_sticker_shape { WA_STICKER_FULL = 0, WA_STICKER_CROP, WA_STICKER_CIRCLE };
#define WA_MEDIA_ANIM_MAX_MS 10000       /* of a video made an animated sticker (WhatsApp's 10 s) */
#define WA_MEDIA_ANIM_MAX_BYTES (500u * 1024) /* WhatsApp's limit for an animated sticker */
#define WA_MEDIA_GIF_MAX_S 60            /* the longest GIF (or gifPlayback video) sent as a video */
#define WA_MEDIA_ANIM_MAX_IN_S 10        /* the longest video /sticker takes (the bot: its maxStickerDuration) */

enum wa_media_kind {
	WA_MK_IMAGE = 0,
	WA_MK_VIDEO,
	WA_MK_AUDIO,
	WA_MK_PTT,
	WA_MK_DOCUMENT,
	WA_MK_STICKER,
	WA_MK_COUNT
};

enum wa_media_src { WA_MSRC_URL = 1, WA_MSRC_BASE64, WA_MSRC_FILE };

struct wa_media_job {
	/* the request */
	enum wa_media_kind kind;
	enum wa_media_src src;
	char *source;                  /* the URL, the base64 text (a data: URL's payload), or the path */
	int source_borrowed;           /* source points into a JSON string held by source_ref (base64
					* from the command: not copied, a 48 MB base64 costs no
					* second 64 MB); not freed itself */
	void *source_ref;              /* json_t * reference keeping that string alive; dropped by
					* wa_media_job_free (on the thread that made it) */
	char *mime;                    /* the client's mimetype; NULL: from the source or the kind's default */
	char *pack, *author;           /* stickers: EXIF names (NULL: "WA-AKG" / "User") */
	char *removebg_url;            /* set: the plaintext (an image) goes first to remove.bg's API
					* there (multipart image_file, size=auto, X-Api-Key:
					* removebg_key) and its PNG answer is what is sent */
	char *removebg_key;
	uint32_t max_seconds;          /* stickers: the longest video taken (0: WA_MEDIA_ANIM_MAX_IN_S) */
	int still;                     /* stickers: never animated (a GIF's first frame) */
	int shape;                     /* stickers: enum wa_sticker_shape (still images; an animated
					* sticker is always FULL) */
	unsigned quality;              /* stickers: WebP quality 1-100; 0: WA_MEDIA_STICKER_QUALITY */
	int gif;                       /* videos: gifPlayback (the client's; set too for a GIF file,
					* which is sent as an MP4) */
	char host[WA_MEDIA_HOST_MAX];  /* media host (host or host:port), from media_conn */
	char auth[WA_MEDIA_AUTH_MAX];  /* media_conn's auth */
	/* the answer (status 0) */
	int status;
	char why[256];
	const char *code;              /* static */
	char *url, *direct_path;
	char *mime_out;                /* what the message says (never NULL on success) */
	uint8_t media_key[WA_MEDIA_KEY_LEN];
	struct wa_media_info info;     /* hashes and lengths */
	int64_t key_ts;                /* mediaKeyTimestamp, seconds */
	uint32_t width, height;        /* images, stickers, MP4 videos (0: unknown) */
	uint32_t seconds;              /* Ogg audio, MP4 video: duration (0: unknown) */
	uint32_t pages;                /* PDF documents (0: unknown) */
	uint8_t *thumb;                /* images, videos: JPEG thumbnail; NULL: none */
	size_t thumb_len;
	int animated;                  /* stickers: an animated WebP (made of a video or a GIF) */
	int has_waveform;              /* voice notes: waveform set */
	uint8_t waveform[64];          /* voice notes: engine/video.h's WA_VIDEO_WAVEFORM bytes */
};

typedef void (*wa_media_done_fn)(struct wa_media_job *job, void *ctx);

/* The pool: `threads` (1..16) media threads, temporary files under
 * media.dir (those a killed process left there, older than a day, are
 * removed now), fetch policy from media.fetch_*, TLS CA
 * whatsapp.media_ca. NULL (logged) on bad configuration or when a thread
 * cannot start. */
struct wa_media *wa_media_new(const struct wa_config *cfg, unsigned threads, struct wa_inbox *ib);
/* Queue the job; done(job, ctx) follows on the loop thread. 0, or -1 when
 * the queue is full (nothing queued, the job still the caller's). A job
 * that came back may be submitted again (its answer is made anew). */
int wa_media_submit(struct wa_media *m, struct wa_media_job *job, wa_media_done_fn done, void *ctx);
/* Jobs queued or running (a snapshot). */
size_t wa_media_pending(struct wa_media *m);
/* Stop: an upload under way is cut off, a fetch under way ends within
 * media.fetch_timeout_ms; those and the queued jobs are answered 503; the
 * threads are joined (the answers are in the inbox then). NULL-safe. */
void wa_media_free(struct wa_media *m);

/* A new job (zeroed, status 0) or NULL. */
struct wa_media_job *wa_media_job_new(void);
void wa_media_job_free(struct wa_media_job *job);

/* ---- the pure parts (media_fmt.c), tested on their own ---- */

/* "image", "video", "audio", "ptt" / "voice", "document", "sticker" -> kind.
 * 0, or -1 if unknown. */
int wa_media_kind_parse(const char *name, enum wa_media_kind *out);
const char *wa_media_kind_name(enum wa_media_kind k);
/* mediacrypto's type (keys and upload path) of a kind. */
enum wa_media_type wa_media_kind_type(enum wa_media_kind k);
/* The kind's default mimetype (BL's, docs/protocol.md §9.3). */
const char *wa_media_kind_mime(enum wa_media_kind k);

/* A data: URL ("data:[<mime>][;...];base64,<payload>"): 0 with *payload
 * pointing into s and mime (cap bytes) set ("" when none), or -1 when s is
 * not a base64 data: URL. */
int wa_media_data_url(const char *s, const char **payload, char *mime, size_t cap);

/* Incremental base64 decoding that skips ASCII whitespace (line-wrapped
 * input) and takes standard or URL-safe alphabets. */
struct wa_b64dec {
	uint32_t acc;
	int n;       /* sextets in acc */
	int pad;     /* '=' seen: only more '=' and whitespace may follow */
	int err;
};
/* Decode len chars into out (room for 3 * len / 4 + 3 bytes); returns the
 * bytes written, -1 on a bad character. */
long wa_b64dec_update(struct wa_b64dec *d, const char *in, size_t len, uint8_t *out);
/* The end of the input: the bytes of an unpadded last quantum (0 to 2,
 * into out), or -1 when the input stopped inside a quantum it cannot end. */
long wa_b64dec_final(struct wa_b64dec *d, uint8_t *out);

/* The WebP EXIF chunk payload WhatsApp's sticker metadata uses
 * (docs/protocol.md §9.5): a little-endian TIFF header with one IFD entry
 * (tag 0x5741, type 7) naming a JSON object with sticker-pack-id,
 * sticker-pack-name, sticker-pack-publisher and emojis. Malloc'd (*len
 * set) or NULL. */
uint8_t *wa_media_sticker_exif(const char *pack_id, const char *pack, const char *author, size_t *len);
/* Add an EXIF chunk to a WebP file (simple VP8 / VP8L, or extended VP8X):
 * a VP8X header is made when there is none (canvas width x height, the
 * alpha flag from the image), the EXIF flag set, the chunk appended.
 * Malloc'd result (*outlen) or NULL when webp is not a WebP file. */
uint8_t *wa_media_webp_add_exif(const uint8_t *webp, size_t len, uint32_t width, uint32_t height,
				const uint8_t *exif, size_t exif_len, size_t *outlen);

/* The image format of a file from its first bytes: JPEG, PNG, GIF, WEBP,
 * BMP or TIFF (GraphicsMagick's format name; *mime its mimetype), or NULL:
 * nothing else is handed to GraphicsMagick (no delegates, no Ghostscript,
 * no vector formats). */
const char *wa_media_sniff_image(const uint8_t *head, size_t n, const char **mime);

/* An MP4 / QuickTime file's duration (moov/mvhd, rounded to seconds) and
 * the size of its first track with one (trak/tkhd); fields it cannot tell
 * stay 0. The top-level boxes are walked with seeks, so a moov at the end
 * of a large file costs a few reads, not the file. 0, or -1 when it is not
 * an ISO BMFF file. */
int wa_media_mp4_info(const char *path, uint32_t *seconds, uint32_t *width, uint32_t *height);

/* Pages of a PDF by a cheap scan of the file for "/Type /Page" objects
 * (not "/Pages"); 0 when none are seen (object streams hide them) or the
 * file cannot be read. */
uint32_t wa_media_pdf_pages(const char *path);
/* Seconds of an Ogg Opus / Vorbis file from the granule position of its
 * last page (Opus: 48 kHz less the pre-skip; Vorbis: the rate of its
 * identification header). 0 when it is not Ogg or cannot be told. */
uint32_t wa_media_ogg_seconds(const char *path);

#endif
