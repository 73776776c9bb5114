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

/* After the dbpool and the sessions are gone (their completions may still
 * name sc until then). NULL is fine. */
void wa_sched_free(struct wa_sched *sc);

#endif
