/* handlers: every route handler, grouped by the file that implements it.
 *
 * Contract for all of them: called by the dispatcher (main.c) after the
 * route matched, the caller was authenticated (unless the route is public),
 * the role checks of the route flags passed and, for WA_R_SESS routes, the
 * WhatsApp session was resolved into r->sess with the caller's access
 * checked. A handler replies exactly once (wa_reply_*) and returns 0, or
 * -1 after an error reply. Bodies are read with wa_req_json(). Handlers run
 * on one accept thread and use only r->db (that thread's connection). */
#ifndef WA_FCGI_HANDLERS_H
#define WA_FCGI_HANDLERS_H

#include "fcgi/http.h"

/* h_auth.c: web login (NextAuth-compatible), registration */
int h_auth_csrf(struct wa_req *r);
int h_auth_session(struct wa_req *r);
int h_auth_register(struct wa_req *r);
int h_auth_signin(struct wa_req *r);
int h_auth_signout(struct wa_req *r);

/* h_sessions.c: WhatsApp sessions as stored data + lifecycle via the engine */
int h_sessions_list(struct wa_req *r);
int h_sessions_create(struct wa_req *r);
int h_session_get(struct wa_req *r);
/* The credentials of GET /api/sessions/{id} (WA_R_SESS_ROWS) read with the
 * session's details in one statement (wa_auth_identify_rows()): as
 * wa_auth_identify() answers, and r->rows for h_session_get(). */
int h_session_identify(struct wa_req *r, const char *ident);
int h_session_qr(struct wa_req *r);
int h_session_action(struct wa_req *r);
int h_session_pair(struct wa_req *r);
int h_session_settings(struct wa_req *r);
int h_session_delete(struct wa_req *r);

/* h_engine.c: every WhatsApp operation (route->op) forwarded to the engine */
int h_engine(struct wa_req *r);
/* h_profile.c: PUT /api/profile/{sessionId}/picture (upload or {url}, made a JPEG here) */
int h_profile_picture(struct wa_req *r);

/* h_docs.c: the OpenAPI document generated from the route table */
int h_docs(struct wa_req *r);

/* h_users.c: users (SUPERADMIN) and the caller's API key */
int h_users_list(struct wa_req *r);
int h_users_create(struct wa_req *r);
int h_users_update(struct wa_req *r);
int h_users_delete(struct wa_req *r);
int h_apikey_get(struct wa_req *r);
int h_apikey_new(struct wa_req *r);
int h_apikey_revoke(struct wa_req *r);

/* h_access.c: session access grants */
int h_access_list(struct wa_req *r);
int h_access_grant(struct wa_req *r);
int h_access_revoke(struct wa_req *r);

/* h_bot.c: bot configuration */
int h_bot_get(struct wa_req *r);
int h_bot_set(struct wa_req *r);

/* h_autoreply.c */
int h_ar_list(struct wa_req *r);
int h_ar_create(struct wa_req *r);
int h_ar_update(struct wa_req *r);
int h_ar_delete(struct wa_req *r);
int h_ar_delete_all(struct wa_req *r);

/* h_scheduler.c */
int h_sch_list(struct wa_req *r);
int h_sch_create(struct wa_req *r);
int h_sch_update(struct wa_req *r);
int h_sch_delete(struct wa_req *r);
int h_sch_delete_all(struct wa_req *r);

/* h_webhooks.c */
int h_wh_list(struct wa_req *r);
int h_wh_create(struct wa_req *r);
int h_wh_update(struct wa_req *r);
int h_wh_delete(struct wa_req *r);
int h_wh_delete_global(struct wa_req *r);
int h_wh_deliveries(struct wa_req *r);
int h_wh_test(struct wa_req *r);

/* h_labels.c: labels, chat labels, chats by label */
int h_labels_list(struct wa_req *r);
int h_labels_create(struct wa_req *r);
int h_labels_bulk(struct wa_req *r);
int h_labels_delete_many(struct wa_req *r);
int h_labels_update(struct wa_req *r);
int h_labels_delete(struct wa_req *r);
int h_chat_labels_get(struct wa_req *r);
int h_chat_labels_set(struct wa_req *r);
int h_chats_by_label(struct wa_req *r);
int h_labels_chats(struct wa_req *r);
int h_chats_by_label_global(struct wa_req *r);

/* h_notifications.c */
int h_notif_list(struct wa_req *r);
int h_notif_create(struct wa_req *r);
int h_notif_read(struct wa_req *r);
int h_notif_delete(struct wa_req *r);

/* h_system.c: system settings, check-updates */
int h_settings_get(struct wa_req *r);
int h_settings_set(struct wa_req *r);
int h_check_updates(struct wa_req *r);

/* h_media.c: stored media files and message media downloads (X-Accel-Redirect) */
int h_media_get(struct wa_req *r);
int h_media_list(struct wa_req *r);
int h_media_delete(struct wa_req *r);
int h_contacts_list(struct wa_req *r);
int h_msg_download(struct wa_req *r);

/* h_store.c: reads of what the engine stored: chats, history, search, groups */
int h_chat_list(struct wa_req *r);
int h_chat_history(struct wa_req *r);
int h_msg_search(struct wa_req *r);

/* h_broadcasts.c */
int h_bc_list(struct wa_req *r);
int h_bc_get(struct wa_req *r);
int h_bc_cancel(struct wa_req *r);
int h_groups_list(struct wa_req *r);

/* Shared renderings, used by the session list/details too. Each returns a
 * new JSON value (null/[] when there is nothing) or NULL on a database error. */
json_t *wa_bot_config_load(struct wa_req *r, uint64_t wa_session_id); /* h_bot.c */
json_t *wa_webhooks_load(struct wa_req *r, uint64_t wa_session_id);   /* h_webhooks.c */

/* Delete a session's Signal key rows (no foreign keys reach them); call in
 * the same transaction that deletes the session or its owner. h_sessions.c */
struct wa_db;
int wa_session_purge_keys(struct wa_db *db, uint64_t wa_session_id);

#endif
