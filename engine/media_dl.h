/* media_dl: the "message.download" operation: a received message's media,
 * downloaded from WhatsApp's media host and decrypted on first request
 * (docs/api.md, "Downloading media"; docs/protocol.md §9.4).
 *
 *   args {"messageId", "force"?: true (download again: the file went
 *   missing)}; answer 200 {"path", "mimetype", "size",
 *   "fileName"?} (path: a file name in media.dir), 404 "no_media" (not
 *   stored, or no media key / direct path), 410 "media_gone" (the media
 *   host answers 404/410: expired), 502 "media_download_failed" (the host
 *   cannot be reached, or the file does not verify), 503 when busy.
 *
 * Steps: a dbpool job on the session's shard reads the row (its media_path
 * when done before, else its protobuf, messages.raw); a download thread
 * (at most WA_MEDIA_DL_THREADS at once, never the loop) streams the file
 * from https://<whatsapp.media_host><directPath> through wa_media_dec
 * into a temporary file of media.dir, checks fileEncSha256, the MAC and
 * fileSha256, and renames it to its final name (one name per message,
 * so concurrent first requests each write their own temporary file and
 * the rename is atomic: the file is whole, whichever comes last); a
 * second dbpool job stores media_path (and the mimetype and size when
 * the row had none); the loop answers. A request for a message whose
 * download is under way in this engine waits for it and gets the same
 * answer (one download).
 *
 * Threading: wa_media_dl_op and wa_media_dl_shutdown on the loop thread. */
#ifndef WA_ENGINE_MEDIA_DL_H
#define WA_ENGINE_MEDIA_DL_H

struct wa_engine;
struct wa_session;
struct wa_cmd;

#define WA_MEDIA_DL_THREADS 4
#define WA_MEDIA_DL_TIMEOUT_MS (10L * 60 * 1000) /* one download, in all */

void wa_media_dl_op(struct wa_session *s, struct wa_cmd *cmd);

/* The same for the engine itself (the bot's sticker and removebg):
 * fn(ctx, 200, file, mime, NULL) with file the name in media.dir (mime
 * may be NULL), else fn(ctx, status, NULL, NULL, why); exactly once, on
 * the loop thread, perhaps before this returns. */
typedef void (*wa_media_dl_fn)(void *ctx, int status, const char *file, const char *mime, const char *why);
void wa_media_dl_get(struct wa_session *s, const char *mid, wa_media_dl_fn fn, void *ctx);

/* Shutdown (before the command server is freed): transfers under way are
 * aborted, their threads waited for, and their commands answered 503. */
void wa_media_dl_shutdown(struct wa_engine *e);

#endif
