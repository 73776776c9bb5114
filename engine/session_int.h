/* session_int: what the session modules share (not for the rest of the
 * engine, which uses session.h).
 *
 *   session.c     the table, the connection lifecycle, timers, dispatch
 *   sess_pair.c   pairing: QR refs and rotation, link code, pair-success
 *   sess_login.c  after <success>: pre-keys, passive/active, keep-alive
 *   sess_db.c     the session's database jobs (status + event, creds)
 *   sess_recv.c   incoming messages: decrypted and stored in one transaction
 *   sess_send.c   outgoing messages: recorded, encrypted, sent, confirmed
 *   sess_receipt.c receipts for what we sent: status raised, then acked
 *   sess_notify.c  notifications: each handled where we can, and acked
 *   sess_group.c  the group operations and the group notifications
 *
 * Loop thread only. */
#ifndef WA_ENGINE_SESSION_INT_H
#define WA_ENGINE_SESSION_INT_H

#include "engine/iq.h"
#include "engine/session.h"
#include "engine/wheel.h"
#include "engine/store/creds.h"

#include <libwebsockets.h>

#include "wa/node.h"
#include "wa/pairing.h"

struct wa_cache;
struct wa_conn;
struct send_job;

enum sess_phase {
	PH_LOADING = 0,   /* credentials being read (or made) */
	PH_CONNECTING,    /* a connection is being opened or handshaking */
	PH_REGISTERING,   /* open with a registration payload: QR / code pairing */
	PH_LOGGING_IN,    /* open with a login payload: waiting for <success> */
	PH_READY,         /* logged in */
	PH_WAITING,       /* between attempts (back-off) */
	PH_ENDED,         /* logged out, QR expired, refused: nothing more */
};

/* A stanza asked for again (retry receipts, sess_recv.c). */
#define SESS_RETRIES 32
struct sess_retry {
	char id[72];
	char from[96];
	unsigned count;
};

struct wa_session {
	struct wa_engine *e;
	uint64_t row_id;                 /* wa_sessions.id */
	char id[WA_SESSION_ID_MAX];      /* wa_sessions.session_id (the API's sessionId) */
	char status[24];                 /* as last written */
	uint64_t owned_since_ms;         /* monotonic */
	int seen;                        /* reconcile mark */
	struct wa_session *next;         /* hash chain */
	unsigned refs;                   /* 1 for the table + 1 per job in flight */
	int gone;                        /* let go: completions do nothing */

	enum sess_phase phase;
	struct wa_creds *cr;             /* loaded credentials (NULL while loading) */
	struct wa_conn *conn;
	int opening;                     /* counted in the table's connections being opened */
	int open_waiting;                /* in the table's FIFO, waiting for a place to open */
	struct wa_session *wait_next, *wait_prev;
	struct wa_iqs iqs;
	unsigned failures;               /* consecutive failed attempts */
	int restart_now;                 /* the server asked for a restart (515) */
	uint64_t connected_ms;           /* monotonic, when <success> came */
	char last_error[160];
	uint64_t released_ms;            /* monotonic, when its end (auto_start 0) was stored */

	lws_sorted_usec_list_t t_retry;  /* next connection attempt */
	lws_sorted_usec_list_t t_login;  /* <success> / pair-device deadline */
	struct wa_wheel_timer t_ka;      /* next keep-alive ping (on e->wheel) */
	lws_sorted_usec_list_t t_iq;     /* earliest IQ deadline */
	lws_sorted_usec_list_t t_qr;     /* next QR ref */

	/* pairing (registration connections only) */
	struct wa_pair_refs qr_refs;
	int qr_index;                    /* ref shown now; -1 none */
	char qr[WA_PAIR_QR_MAX];
	struct wa_pair_code *pc;         /* link-code pairing in progress */
	char pair_phone[24];             /* requested, hello not sent yet */
	char pairing_code[10];           /* "XXXX-XXXX" shown to the user */
	struct wa_cmd *pair_cmd;         /* session.pair waiting for its code */
	int pairing_saved;               /* pair-success verified (being) stored */
	struct wa_node *pair_reply;      /* pair-device-sign, sent once stored */
	struct wa_cmd *logout_cmd;       /* session.logout waiting for the server */
	struct send_job *sends;          /* sent messages waiting for their ack */
	struct sess_retry retries[SESS_RETRIES];
	unsigned retry_next;
	/* what the sends learn of the network (sess_send.c; made on first use) */
	struct wa_cache *devcache;       /* user JID -> device ids */
	struct wa_cache *groupcache;     /* group JID -> participant JIDs */
	struct wa_cache *skmem;          /* "group device" -> has our sender key */
	struct sess_as *as;              /* app-state sync (sess_appstate.c; made on first use) */
};

/* The session is still ours and logged in, with its connection (after a
 * wait on the database or an IQ). */
static inline int sess_ready(const struct wa_session *s)
{
	return !s->gone && s->phase == PH_READY && s->conn;
}

/* session.c */
void sess_ref(struct wa_session *s);
/* Drop a reference; returns 1 when the session is still live (not gone). */
int sess_unref(struct wa_session *s);
int sess_send(struct wa_session *s, const struct wa_node *n);
int sess_iq(struct wa_session *s, struct wa_node *iq, int timeout_ms, wa_iq_fn fn);
/* The same with the callback's ctx given (sess_iq passes s). */
int sess_iq_ctx(struct wa_session *s, struct wa_node *iq, int timeout_ms, wa_iq_fn fn, void *ctx);
/* Drop the connection; `why` is logged and kept as the last error; the
 * back-off applies unless restart_now is set or the session ended. */
void sess_disconnect(struct wa_session *s, const char *why);
/* Status change: written with its connection.update event, then published.
 * reason may be NULL. */
void sess_set_status(struct wa_session *s, const char *status, const char *reason);
/* The session is over for this engine (logged out, QR expired...). */
void sess_end(struct wa_session *s, const char *status, const char *reason, int logged_out);
/* The same, answering cmd (200 or 503) once the row is written. */
void sess_end_reply(struct wa_session *s, const char *status, const char *reason, int logged_out,
		    struct wa_cmd *cmd);
void sess_ack(struct wa_session *s, const struct wa_node *n);
/* <success> came: the session counts as connected. */
void sess_mark_ready(struct wa_session *s);

/* sess_pair.c */
int pair_on_node(struct wa_session *s, const struct wa_node *n);  /* 1 handled, 0 not mine, <0 error */
void pair_reset(struct wa_session *s);

/* sess_login.c */
void login_on_success(struct wa_session *s, const struct wa_node *n);
int login_on_node(struct wa_session *s, const struct wa_node *n); /* 1 handled */
void login_schedule_keepalive(struct wa_session *s);

/* Where history-sync blobs are fetched (from the config, read once; the
 * strings live as long as the engine). */
struct wa_history_env;
const struct wa_history_env *sess_history_env(const struct wa_session *s);

/* What bulk sends may do (limits.*, read once; sess_bulk.c). */
struct sess_limits {
	long spam_max;                 /* limits.spam_max_count */
	long spam_min_delay_ms;        /* limits.spam_min_delay_ms */
	long broadcast_delay_min_ms;   /* limits.broadcast_delay_min_ms */
	long broadcast_delay_max_ms;   /* limits.broadcast_delay_max_ms */
	long autoreply_per_chat_min;   /* autoreply.per_chat_per_minute */
};
const struct sess_limits *sess_limits(const struct wa_session *s);

/* How long a QR ref is shown: the first (first != 0) or each later one
 * (whatsapp.qr_first_timeout_ms / qr_next_timeout_ms, read once). */
long sess_qr_timeout_ms(const struct wa_session *s, int first);

/* sess_recv.c: take n (ownership moves) and store what it carries; it is
 * answered once stored, or left for the server to offer again. */
void recv_message(struct wa_session *s, struct wa_node *n);
/* sess_receipt.c: the same for a <receipt>. */
void recv_receipt(struct wa_session *s, struct wa_node *n);

/* sess_send.c: an <ack class="message"> for one of our sends (1 taken);
 * every send still waiting is failed when the connection goes. */
int send_on_ack(struct wa_session *s, const struct wa_node *n);
void send_fail_all(struct wa_session *s);
/* A retry receipt for one of our messages (takes rcpt): sent again to the
 * device that asks, over the keys the receipt carries; then acked. */
void send_on_retry(struct wa_session *s, struct wa_node *rcpt);
/* sess_send.c: send out (taken; parsed by wa_out_parse_op) to jid without
 * a command: done(ctx, status, id, why) is called exactly once, with 200
 * once the server has it (SENT), else the HTTP status the command would
 * have been answered with (id NULL when nothing was recorded). Loop
 * thread; the session must be connected. */
struct wa_out;
typedef void (*send_done_fn)(void *ctx, int status, const char *id, const char *why);
void sess_send_out(struct wa_session *s, const char *jid, struct wa_out *out, send_done_fn done, void *ctx);
/* The same for a message that stands for a row of the caller's (a
 * scheduled message, an auto-reply): link(db, ctx, id, NULL) runs in the
 * transaction that records the message PENDING, and must claim the row
 * (0) or say it is taken (WA_ECONFLICT: nothing is recorded or sent, done
 * gets 409); link(db, ctx, id, "SENT" | "FAILED") runs in the transaction
 * of the server's answer (0, or an error that leaves the status for the
 * next ack). Both on a dbpool thread, possibly twice (a voided batch is run
 * again). So the row and the message change together: sent once, never
 * twice. */
typedef int (*send_link_fn)(struct wa_db *db, void *ctx, const char *id, const char *status);
struct wa_db;
void sess_send_linked(struct wa_session *s, const char *jid, struct wa_out *out, send_link_fn link,
		      send_done_fn done, void *ctx);

/* sess_send.c: send out (taken) to status@broadcast for audience (taken:
 * the user JIDs, NUL-separated, len bytes; our own devices are added), as
 * a sender-key message (§7.8), answering cmd. */
void sess_send_status(struct wa_session *s, struct wa_out *out, struct wa_cmd *cmd, char *audience, size_t len);
/* sess_status.c: a received status's status.update event data, from its
 * message event data (msg_payload) and unwrapped content m: "from",
 * "text", "backgroundColor" ("#RRGGBB"), "backgroundArgb", "textArgb",
 * "font". New string, NULL when out of memory. */
struct WaE2E__Message;
char *sess_status_event_payload(const char *msg_payload, const struct WaE2E__Message *m);

/* sess_send.c: a user's device list changed (devices notification): forget its cached list. */
void send_devices_changed(struct wa_session *s, const struct wa_jid *user);
/* sess_send.c: a group changed (w:gp2 notification): forget its cached metadata. */
void send_group_changed(struct wa_session *s, const struct wa_jid *group);
/* sess_send.c: drop every cache (the session is freed, or its account changes). */
void send_caches_free(struct wa_session *s);

/* sess_media.c: upload a message's media part (the media host from a
 * media_conn IQ, cached per session until its ttl; the work on the media
 * threads, engine/media.h); fn(ctx, 0, ...) once job has its url and
 * hashes, else fn(ctx, status, why, code) with the HTTP status to answer.
 * fn runs exactly once, perhaps before this returns. The caller holds a
 * reference on s and owns job (it is the media thread's meanwhile). */
struct wa_media_job;
typedef void (*sess_media_fn)(void *ctx, int status, const char *why, const char *code);
void sess_media_upload(struct wa_session *s, struct wa_media_job *job, sess_media_fn fn, void *ctx);

/* sess_appstate.c: app-state sync (docs/engine.md "Chat state"). The
 * session logged in (every collection fetched), the phone shared keys
 * (fetched again), a server_sync notification (borrowed; the collections
 * it names fetched; the caller acks it); the connection went (changes
 * waiting are answered); the session is freed. */
struct sess_as;
void appstate_on_login(struct wa_session *s);
void appstate_on_keys(struct wa_session *s);
void appstate_on_server_sync(struct wa_session *s, const struct wa_node *n);
void appstate_on_close(struct wa_session *s);
void appstate_free(struct wa_session *s);
/* Changes made without a command of their own, written after the fact
 * (failures logged): the whole chat read (markChatAsRead), the push name
 * (setting_pushName, so the phone shows it too). */
void appstate_mark_read(struct wa_session *s, const char *chat);
void appstate_push_name(struct wa_session *s, const char *name);

/* sess_call.c: a <call> of a logged-in session (1 taken: an offer stored
 * with call.received, rejected when the settings say so, then acked; 0 not
 * a call). */
int call_on_node(struct wa_session *s, const struct wa_node *n);

/* sess_notify.c: a <notification> of a logged-in session (1 taken: handled
 * where we can, and acked; 0 not a notification). */
int notify_on_node(struct wa_session *s, const struct wa_node *n);

/* sess_group.c: a w:gp2 notification (borrowed): the group's row and
 * its event are stored, then it is acked (see sess_group.c). */
void group_on_notify(struct wa_session *s, const struct wa_node *n);
/* sess_group.c: after login, every group we are in ("participating") is
 * written to wa_groups, and the groups not in the answer are left. */
void group_sync_all(struct wa_session *s);

/* sess_db.c */
struct sess_status {
	const char *status;
	const char *reason;      /* last_error / event reason, NULL = none */
	const char *qr;          /* NULL = clear */
	const char *pairing_code;/* NULL = clear */
	const char *me_jid, *me_lid, *phone, *platform, *push_name; /* NULL = unchanged */
	int logged_out;          /* also forget the credentials and stop (auto_start 0) */
	int stop;                /* auto_start 0, lease released */
	struct wa_cmd *cmd;      /* answered once written (NULL: none) */
};
void db_write_status(struct wa_session *s, const struct sess_status *st);
/* Load (or make) the credentials, then call sess_creds_loaded. */
void db_load_creds(struct wa_session *s);
void sess_creds_loaded(struct wa_session *s, struct wa_creds *cr, int rc);
/* Store the pairing result; done(s, rc) on the loop afterwards. */
void db_save_paired(struct wa_session *s, void (*done)(struct wa_session *s, int rc));
/* Make and store count pre-keys; done gets their upload IQ (borrowed for
 * the call) or rc != 0. */
void db_prekey_batch(struct wa_session *s, size_t count,
		     void (*done)(struct wa_session *s, struct wa_node *iq, size_t count, uint32_t next_id, int rc));

#endif
