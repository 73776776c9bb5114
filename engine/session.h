/* session: one WhatsApp session as the engine holds it, and the table of
 * the sessions this engine owns.
 *
 * A session object exists while this engine holds the session's lease
 * (registry.h): it is created when a tick lists the session as ours and
 * destroyed when the session is stopped, deleted or taken by another
 * engine. Its status is the one stored on the wa_sessions row.
 *
 * Life of a session (docs/engine.md has the diagram and the timings):
 *   taken up -> credentials loaded (made on first use) -> connect:
 *     not paired: registration payload -> SCAN_QR, the QR rotating with
 *       the server's refs (or a pairing code on request) -> pair-success
 *       (credentials stored before the phone is answered) -> the server's
 *       restart (515) -> connect again with the login payload;
 *     paired: login payload -> <success> -> CONNECTED, post-login work,
 *       keep-alive pings.
 *   Connection lost or refused for a reason worth retrying -> CONNECTING
 *   again after a jittered exponential back-off (1 s doubling to 60 s).
 *   <failure 401/403/406> or a device_removed stream error -> LOGGED_OUT:
 *   credentials and Signal stores deleted, auto_start cleared.
 *   QR refs used up without a scan -> STOPPED with the reason: the user
 *   starts the session again for a new QR.
 * Every status change is written to wa_sessions with a connection.update
 * event in events_outbox in one transaction, then published.
 *
 * Threading: loop thread only, like everything the loop owns. Session
 * objects are reference counted: a database job in flight holds one, so a
 * session let go while its jobs run is freed when the last one completes
 * (and those completions then do nothing). */
#ifndef WA_ENGINE_SESSION_H
#define WA_ENGINE_SESSION_H

#include <jansson.h>
#include <stdint.h>

struct wa_engine;
struct wa_cmd;

#define WA_SESSION_ID_MAX 65  /* wa_sessions.session_id: 64 + NUL */

/* Stored status values (wa_sessions.status). */
#define WA_SST_STOPPED "STOPPED"
#define WA_SST_CONNECTING "CONNECTING"
#define WA_SST_QR "SCAN_QR"
#define WA_SST_CONNECTED "CONNECTED"
#define WA_SST_LOGGED_OUT "LOGGED_OUT"
#define WA_SST_FAILED "FAILED"

struct wa_session;
struct wa_sessions;

struct wa_sessions *wa_sessions_new(struct wa_engine *e);
void wa_sessions_free(struct wa_sessions *t);

/* The session with API id `id`, or NULL when this engine does not own it. */
struct wa_session *wa_sessions_find(struct wa_sessions *t, const char *id);

/* How many sessions this engine owns, and how many are connected. */
unsigned wa_sessions_count(const struct wa_sessions *t);
unsigned wa_sessions_connected(const struct wa_sessions *t);

/* Make the table match `rows` (registry's list of owned sessions, read
 * after the monotonic time since_ms): sessions new in it are taken up,
 * sessions missing from it are let go, and a session that ended here and
 * whose release was stored before since_ms but is in the list again (its
 * user started it again within a heartbeat) is let go and taken up anew. */
void wa_sessions_reconcile(struct wa_sessions *t, json_t *rows, uint64_t since_ms);

/* Let one session go now (its user stopped it): close its connection. */
void wa_sessions_drop(struct wa_sessions *t, const char *id);

/* Let every session go (engine shutdown or lost leases). */
void wa_sessions_drop_all(struct wa_sessions *t);

/* --- for the command table (ops.c) --- */

uint64_t wa_session_row(const struct wa_session *s);
const char *wa_session_status(const struct wa_session *s);
int wa_session_is_connected(const struct wa_session *s);

/* session.pair {"phoneNumber"}: answer {"pairingCode": "ABCD-EFGH"} once
 * the server gave the pairing its ref; 400 when already paired, 409 while
 * another code is pending. Consumes cmd. */
void wa_session_pair_code(struct wa_session *s, struct wa_cmd *cmd);

/* message.send {"jid": "<user>@s.whatsapp.net", "message": {"text"}}: a
 * 1:1 text recorded PENDING, encrypted for every device of the peer and
 * of our account, sent; answered with the reference's
 * {"status", "message", "data": {"key", "message", "messageTimestamp"}} once
 * the server acked it (SENT), or an error (501 for what is not carried out
 * yet: groups, other kinds). Consumes cmd. Only on a connected session. */
void wa_session_send(struct wa_session *s, struct wa_cmd *cmd);

/* group.* (sess_group.c): the w:g2 operation, the group's wa_groups row
 * refreshed, then cmd answered in the API's shape (docs/engine.md Groups). */
void wa_session_group(struct wa_session *s, struct wa_cmd *cmd);

/* message.forward (sess_bulk.c): a stored message to several chats, each
 * through the send path of wa_session_send; answered once every send has
 * its outcome. (Broadcasts and spam are jobs: wa_sched_broadcast.)
 * Consumes cmd. Only on a connected session. */
void wa_session_bulk(struct wa_session *s, struct wa_cmd *cmd);

/* message.star: the stored message's star set or cleared. Consumes cmd. */
void wa_session_star(struct wa_session *s, struct wa_cmd *cmd);

/* status.update (sess_status.c): a text status to status@broadcast for
 * the session's contacts (and the mentioned users), 200 once the server
 * has it; 400 bad content / colour / font, 501 image and video. */
void wa_session_status_post(struct wa_session *s, struct wa_cmd *cmd);

/* session.logout: tell the server (remove-companion-device), forget the
 * credentials, LOGGED_OUT. Answers once the row is updated. Consumes cmd. */
void wa_session_logout(struct wa_session *s, struct wa_cmd *cmd);

/* session.stop: close the connection, write STOPPED (auto_start 0, lease
 * given back), answer once stored. Consumes cmd. */
void wa_session_stop(struct wa_session *s, struct wa_cmd *cmd);

/* session.restart: drop the connection and connect again now. */
void wa_session_restart(struct wa_session *s);

#endif
