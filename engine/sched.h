/* sched: scheduled messages (the scheduled_messages rows the workers write
 * through /api/scheduler) sent by the engine that holds their session.
 *
 * Every scheduler.poll_ms a database job reads the due rows (PENDING,
 * send_at passed) of the sessions whose engine_id is this engine, and the
 * loop sends each through the send path with its row linked
 * (sess_send_linked): the transaction that records the message PENDING
 * also claims the row (PENDING -> SENDING with the message id, only if it
 * is still PENDING), and the transaction of the server's ack makes it SENT
 * (or FAILED with the error). So a row is sent once, by one engine, also
 * after a crash and with several engines (a database claim, no timer in
 * memory decides).
 *
 * A recurring row (cron_expression, common/wa_cron.h, in the time zone
 * scheduler.timezone) goes back to PENDING with the next send_at after
 * each send, SENT or FAILED (last_error kept, sent_at the last send).
 * A row whose session is not connected here waits (sent when it is). A
 * message that cannot be sent at all (bad content, a number without
 * WhatsApp) is FAILED with the reason. A row left SENDING by an engine that
 * stopped before WhatsApp's ack is settled after scheduler.settle_ms (two
 * minutes; longer than any ack takes) from what
 * became of its message: SENT if a receipt or ack arrived, else FAILED
 * ("not confirmed"): it is never sent a second time.
 *
 * Threading: loop thread; the SQL on dbpool threads. */
#ifndef WA_ENGINE_SCHED_H
#define WA_ENGINE_SCHED_H

#include <stdint.h>

struct wa_engine;
struct wa_sched;

/* Reads scheduler.poll_ms and scheduler.timezone (sets the process's TZ).
 * NULL on a bad time zone or no memory (logged). */
struct wa_sched *wa_sched_new(struct wa_engine *e);
/* First scan after one poll interval. */
void wa_sched_start(struct wa_sched *sc);
/* Scan now (a row was just queued: an auto-reply), or right after the
 * scan that is out. NULL is fine. */
void wa_sched_kick(struct wa_sched *sc);
/* message.broadcast / message.spam (session s, connected): the job stored
 * (a broadcasts row with one broadcast_recipients row per chat; a spam is
 * one recipient sent `count` times) and answered with its id; the scans
 * then send one recipient at a time per job, each linked to its row like a
 * scheduled message (claimed with the message, SENT / FAILED with the ack),
 * the next one a random limits.broadcast_delay_min_ms.._max_ms later (spam:
 * `delay`, at least limits.spam_min_delay_ms). A job is DONE when nobody is
 * left; a restart resumes it where it stopped, and nobody gets a message
 * twice. Consumes cmd. */
struct wa_session;
struct wa_cmd;
void wa_sched_broadcast(struct wa_sched *sc, struct wa_session *s, struct wa_cmd *cmd);

/* Rows the bot makes on the media threads before they are sent
 * (engine/bot_media.h; media_type BOT_STICKER / BOT_REMOVEBG): the scan
 * hands such a row to wa_bot_media_row() and keeps it in flight until
 * wa_sched_row_end(). wa_sched_row_send sends out (taken) for row id as a
 * scheduled row is sent (claimed in the PENDING transaction, settled in
 * the ack's), then fn(ctx, status, claimed, why) once; it may be called
 * again for the same row while the row was not claimed (a text instead of
 * a sticker that could not be made). wa_sched_row_end: the row's outcome
 * (200 sent; not claimed and not 409/503: FAILED with why; 503: it waits
 * for the next scan). Loop thread. */
struct wa_out;
typedef void (*wa_sched_row_fn)(void *ctx, int status, int claimed, const char *why);
void wa_sched_row_send(struct wa_sched *sc, struct wa_session *s, uint64_t id, const char *jid, struct wa_out *out,
		       wa_sched_row_fn fn, void *ctx);
void wa_sched_row_end(struct wa_sched *sc, uint64_t id, int status, int claimed, const char *why);

/* After the dbpool and the sessions are gone (their completions may still
 * name sc until then). NULL is fine. */
void wa_sched_free(struct wa_sched *sc);

#endif
