/* engine/bot_media: the bot's media commands (store/bot.h), done on the
 * loop thread once the command's message is stored:
 *
 *   sticker    the image or video (wa_bot_out.media_id) downloaded and
 *              decrypted (engine/media_dl.h, its own threads), then sent to
 *              the chat as a sticker replying to the command: the media
 *              threads convert it to a 512x512 WebP with the pack (the
 *              bot's name) and author ("WA-AKG") EXIF, as /sticker does
 *              (engine/media.h); a video or GIF becomes an animated one,
 *              refused when longer than wa_bot_out.max_seconds (the answer
 *              names the limit).
 *   removebg   the same download, then a media job with removebg_url (the
 *              config key bot.removebg_url) and the session's key: the media
 *              thread POSTs the image to remove.bg and the PNG it answers is
 *              sent back as an image.
 * Whatever fails (no such image any more, the media host, remove.bg's
 * error title) is answered to the chat with a short text. Nothing here
 * blocks the loop. Each answer stands for its scheduled_messages row (the
 * command's answer, queued with the command in its transaction,
 * engine/store/bot.h): the scheduler hands the row over when it is due,
 * the answer (or the text instead) is sent linked to it
 * (wa_sched_row_send: claimed with the message, settled by the ack), and
 * its outcome goes back with wa_sched_row_end. A crash before the send
 * leaves the row PENDING: the next engine makes it again; never sent twice.
 *
 * Threading: loop thread. */
#ifndef WA_ENGINE_BOT_MEDIA_H
#define WA_ENGINE_BOT_MEDIA_H

#include <stdint.h>

struct wa_session;
struct wa_bot_out;

/* Make and send what b->media names for scheduled_messages row `row` (b
 * borrowed; copied). */
void wa_bot_media_row(struct wa_session *s, const struct wa_bot_out *b, uint64_t row);

#endif
