/* sess_chat / sess_profile: the chat, contact and profile operations of a
 * connected session, for the command table (ops.c). docs/engine.md
 * "Chats, contacts and the profile" has what each answers.
 *
 * Each takes the command (its arguments as the worker validated and
 * normalised them: "jid" a user or group JID) and answers it exactly once,
 * now or after the database and WhatsApp have answered. Loop thread only. */
#ifndef WA_ENGINE_SESS_CHAT_H
#define WA_ENGINE_SESS_CHAT_H

struct wa_session;
struct wa_cmd;
struct wa_node;

/* sess_chat.c */
void wa_chat_read(struct wa_session *s, struct wa_cmd *cmd);       /* chat.read {jid, messageIds?} */
void wa_chat_presence(struct wa_session *s, struct wa_cmd *cmd);   /* chat.presence {jid, presence | type} */
void wa_contact_check(struct wa_session *s, struct wa_cmd *cmd);   /* contact.check {numbers} */
void wa_contact_picture(struct wa_session *s, struct wa_cmd *cmd); /* contact.picture {jid, type?} */
void wa_contact_block(struct wa_session *s, struct wa_cmd *cmd);   /* contact.block {jid} */
void wa_contact_unblock(struct wa_session *s, struct wa_cmd *cmd); /* contact.unblock {jid} */
void wa_contact_blocklist(struct wa_session *s, struct wa_cmd *cmd); /* contact.blocklist */

/* An <notification type="account_sync"> with <blocklist> (a block made on
 * another device): contacts.blocked and a contact.update event per item,
 * stored in one transaction, then acked (sess_notify.c hands it over).
 * 1 taken (acked once stored), 0 not such a notification, -1 it could
 * not be queued (left unacked: the server offers it again). */
int chat_on_blocklist_sync(struct wa_session *s, const struct wa_node *n);

/* sess_appstate.c: chat state as app-state mutations, answered once the
 * server has them and the fetch that brings them back has stored them */
void wa_chat_archive(struct wa_session *s, struct wa_cmd *cmd);     /* chat.archive {jid, archive?} */
void wa_chat_pin(struct wa_session *s, struct wa_cmd *cmd);         /* chat.pin {jid, pin?} */
void wa_chat_mute(struct wa_session *s, struct wa_cmd *cmd);        /* chat.mute {jid, mute?, duration?} */
/* label.sync: write the label changes the API queued (label_sync_queue);
 * answered at once, the writing goes on */
void wa_labels_sync(struct wa_session *s, struct wa_cmd *cmd);

/* sess_profile.c */
void wa_profile_get(struct wa_session *s, struct wa_cmd *cmd);            /* profile.get */
void wa_profile_name(struct wa_session *s, struct wa_cmd *cmd);           /* profile.name {name} */
void wa_profile_status(struct wa_session *s, struct wa_cmd *cmd);         /* profile.status {status} */
void wa_profile_picture_set(struct wa_session *s, struct wa_cmd *cmd);    /* profile.picture.set {file | url} */
void wa_profile_picture_remove(struct wa_session *s, struct wa_cmd *cmd); /* profile.picture.remove */

/* Shared by both: the picture IQ for target (docs/protocol.md §11.9,
 * type "image" or "preview"; NULL on OOM), and what its reply means: 200
 * with *url the picture's URL or NULL (none, or hidden from us), 503 the
 * connection went, 504 no answer, 500 another error. *url points into reply. */
struct wa_node *sess_picture_iq(const char *target, const char *type);
int sess_picture_url(const struct wa_node *reply, int err, const char **url);

/* Our own <presence type name/> (§11.8): name is the push name, sent
 * without '@' as Baileys does, left out when empty (NULL-safe); the push
 * name is cut at 127 bytes. NULL on OOM. */
struct wa_node *sess_presence_node(const char *type, const char *name);

/* The session has logged in: with the bot config's alwaysOnline (and the
 * bot enabled) our presence goes out as available, with the push name. */
void chat_login_presence(struct wa_session *s);

#endif
