/* session: one WhatsApp session as the engine holds it, and the table of
 * the sessions this engine owns.
 *
 * A session object exists while this engine holds the session's lease
 * (registry.h): it is created when a tick lists the session as ours and
 * destroyed when the session is stopped, deleted or taken by another
 * engine. Its status is the one stored on the wa_sessions row.
 *
 * Threading: loop thread only, like everything the loop owns. */
#ifndef WA_ENGINE_SESSION_H
#define WA_ENGINE_SESSION_H

#include <jansson.h>
#include <stdint.h>

struct wa_engine;

#define WA_SESSION_ID_MAX 65  /* wa_sessions.session_id: 64 + NUL */

/* Stored status values (wa_sessions.status). */
#define WA_SST_STOPPED "STOPPED"
#define WA_SST_CONNECTING "CONNECTING"
#define WA_SST_QR "SCAN_QR"
#define WA_SST_CONNECTED "CONNECTED"
#define WA_SST_LOGGED_OUT "LOGGED_OUT"
#define WA_SST_FAILED "FAILED"

struct wa_session {
	uint64_t row_id;                 /* wa_sessions.id */
	char id[WA_SESSION_ID_MAX];      /* wa_sessions.session_id (the API's sessionId) */
	char status[24];
	uint64_t owned_since_ms;         /* monotonic */
	int seen;                        /* reconcile mark */
	struct wa_session *next;         /* hash chain */
};

struct wa_sessions;

struct wa_sessions *wa_sessions_new(struct wa_engine *e);
void wa_sessions_free(struct wa_sessions *t);

/* The session with API id `id`, or NULL when this engine does not own it. */
struct wa_session *wa_sessions_find(struct wa_sessions *t, const char *id);

/* How many sessions this engine owns. */
unsigned wa_sessions_count(const struct wa_sessions *t);

/* Make the table match `rows` (registry's list of owned sessions):
 * sessions new in it are taken up, sessions missing from it are let go. */
void wa_sessions_reconcile(struct wa_sessions *t, json_t *rows);

/* Let one session go now (its user stopped it). */
void wa_sessions_drop(struct wa_sessions *t, const char *id);

#endif
