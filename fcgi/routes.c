/* routes: THE route table. Every operation of the API reference
 * (../shared/spec/routes.tsv, 109 rows) is one row here, plus a few rows of
 * our own marked WA_R_EXTRA (credentials sign-in/out). /api/docs is
 * generated from this table and tests/api checks it against routes.tsv.
 * Rows with handler h_engine are WhatsApp operations: their body is checked
 * against `fields`, then forwarded to the engine as `op`. */
#include "fcgi/router.h"
#include "fcgi/handlers.h"

#include <stddef.h>

static const struct wa_field f_group_create[] = {
	{ "subject", WA_F_STR, 1, "100" },
	{ "participants", WA_F_ARR_JID, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_group_subject[] = {
	{ "subject", WA_F_STR, 1, "100" },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_group_participants[] = {
	{ "action", WA_F_ENUM, 1, "add|remove|promote|demote" },
	{ "participants", WA_F_ARR_JID, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

/* {inviteCode} as the reference has it, or {code} as the n8n node sends;
 * one of them is required (h_engine.c's op_checks). */
static const struct wa_field f_group_invite_accept[] = {
	{ "inviteCode", WA_F_STR, 0, "200" },
	{ "code", WA_F_STR, 0, "200" },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_group_settings[] = {
	{ "setting", WA_F_ENUM, 1, "announcement|not_announcement|locked|unlocked" },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_group_description[] = {
	{ "description", WA_F_STR0, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_group_ephemeral[] = {
	{ "expiration", WA_F_INT, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

/* communities (beyond the reference) */
static const struct wa_field f_community_create[] = {
	{ "subject", WA_F_STR, 1, "100" },
	{ "description", WA_F_STR0, 0, NULL },
	{ "participants", WA_F_ARR_JID, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

/* {groupJid} or {groupJids}: one of them (h_engine.c's op_checks) */
static const struct wa_field f_community_link[] = {
	{ "groupJid", WA_F_STR, 0, "100" },
	{ "groupJids", WA_F_ARR_STR, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_send[] = {
	{ "message", WA_F_STR_OR_OBJ, 1, NULL },
	{ "mentions", WA_F_ARR_JID, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_broadcast[] = {
	{ "recipients", WA_F_ARR_JID, 1, NULL },
	{ "message", WA_F_STR, 1, NULL },
	{ "delay", WA_F_NUM, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_poll[] = {
	{ "question", WA_F_STR, 1, "255" },
	{ "options", WA_F_ARR_STR, 1, NULL },
	{ "selectableCount", WA_F_INT, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_location[] = {
	{ "latitude", WA_F_NUM, 1, NULL },
	{ "longitude", WA_F_NUM, 1, NULL },
	{ "name", WA_F_STR0, 0, NULL },
	{ "address", WA_F_STR0, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_contact[] = {
	{ "contacts", WA_F_ARR, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_react[] = {
	{ "emoji", WA_F_STR0, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_reply[] = {
	{ "message", WA_F_STR_OR_OBJ, 1, NULL },
	{ "mentions", WA_F_ARR_JID, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_reply_body[] = {
	{ "messageId", WA_F_STR, 1, NULL },
	{ "message", WA_F_STR_OR_OBJ, 1, NULL },
	{ "mentions", WA_F_ARR_JID, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_star[] = {
	{ "star", WA_F_BOOL, 0, NULL },
	{ "fromMe", WA_F_BOOL, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_list[] = {
	{ "title", WA_F_STR, 1, NULL },
	{ "options", WA_F_ARR_STR, 0, NULL },      /* or sections (the n8n node) */
	{ "sections", WA_F_ARR, 0, NULL },
	{ "footer", WA_F_STR0, 0, NULL },
	{ "buttonText", WA_F_STR0, 0, NULL },
	{ "description", WA_F_STR0, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_spam[] = {
	{ "message", WA_F_STR, 0, NULL },          /* none: the documented default text */
	{ "count", WA_F_INT, 0, NULL },
	{ "delay", WA_F_INT, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_forward[] = {
	{ "fromJid", WA_F_JID, 1, NULL },
	{ "messageId", WA_F_STR, 1, NULL },
	{ "toJids", WA_F_ARR_JID, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_message_edit[] = {
	{ "text", WA_F_STR, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_chat_archive[] = {
	{ "archive", WA_F_BOOL, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

/* no body at all (the n8n node): mute for the default 8 hours */
static const struct wa_field f_chat_mute[] = {
	{ "mute", WA_F_BOOL, 0, NULL },
	{ "duration", WA_F_INT, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_chat_pin[] = {
	{ "pin", WA_F_BOOL, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

/* {presence} (the reference) or {type} (the n8n node): op_checks wants one */
static const struct wa_field f_chat_presence[] = {
	{ "presence", WA_F_ENUM, 0, "composing|recording|paused|available|unavailable" },
	{ "type", WA_F_ENUM, 0, "composing|recording|paused|available|unavailable" },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_chat_read[] = {
	{ "messageIds", WA_F_ARR_STR, 0, NULL },   /* [] (h_engine drops it) or absent: the whole chat */
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_contact_picture[] = {
	{ "type", WA_F_ENUM, 0, "image|preview" },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_contact_check[] = {
	{ "numbers", WA_F_ARR_STR, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

/* lengths in characters: op_checks (h_engine.c) */
static const struct wa_field f_profile_name[] = {
	{ "name", WA_F_STR, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_profile_status[] = {
	{ "status", WA_F_STR0, 1, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

static const struct wa_field f_status_update[] = {
	{ "content", WA_F_STR, 1, NULL },
	{ "type", WA_F_ENUM, 0, "TEXT|IMAGE|VIDEO" },
	{ "mediaUrl", WA_F_STR, 0, NULL },
	{ "backgroundColor", WA_F_INT_OR_STR, 0, NULL },
	{ "textColor", WA_F_INT_OR_STR, 0, NULL },
	{ "font", WA_F_INT, 0, NULL },
	{ "mentions", WA_F_ARR_JID, 0, NULL },
	{ NULL, WA_F_END, 0, NULL }
};

struct wa_route wa_routes[] = {
	{ "GET", "/api/media/{filename}", "Media", "Get uploaded media file",
	  "", "200", h_media_get, 0, NULL, NULL },
	{ "GET", "/api/media", "Media", "List the caller's uploaded media files",
	  "", "200,401", h_media_list, WA_R_EXTRA, NULL, NULL },
	{ "DELETE", "/api/media", "Media", "Delete uploaded media files {filenames}",
	  "filenames", "200,400,401", h_media_delete, WA_R_EXTRA, NULL, NULL },
	{ "GET", "/api/contacts/{sessionId}", "Contacts", "List the session's contacts",
	  "", "200,401,403,404", h_contacts_list, WA_R_SESS | WA_R_EXTRA, NULL, NULL },
	{ "POST", "/api/groups/{sessionId}/{jid}/leave", "Groups", "Leave a group",
	  "", "200", h_engine, WA_R_SESS, "group.leave", NULL },
	{ "GET", "/api/groups/{sessionId}", "Groups", "List all groups",
	  "", "200,401,403,404,500", h_groups_list, WA_R_SESS, NULL, NULL },
	{ "POST", "/api/groups/{sessionId}/create", "Groups", "Create new group",
	  "subject,participants", "200,401,403,500,503", h_engine, WA_R_SESS, "group.create", f_group_create },
	{ "PUT", "/api/groups/{sessionId}/{jid}/subject", "Groups", "Update group subject",
	  "subject", "200,400,401,403,500", h_engine, WA_R_SESS, "group.subject", f_group_subject },
	{ "PUT", "/api/groups/{jid}/subject", "Groups", "Update group name",
	  "sessionId,subject", "200,400,401,403,500,503", h_engine, WA_R_SESS_BODY, "group.subject", f_group_subject },
	{ "PUT", "/api/groups/{sessionId}/{jid}/members", "Groups", "Manage group members",
	  "action,participants", "200,400,401,403,500", h_engine, WA_R_SESS, "group.participants", f_group_participants },
	{ "PUT", "/api/groups/{sessionId}/{jid}/invite", "Groups", "Revoke invite code",
	  "", "200,401,403,500", h_engine, WA_R_SESS, "group.invite.revoke", NULL },
	{ "GET", "/api/groups/{sessionId}/{jid}/invite", "Groups", "Get invite code",
	  "", "200,401,403,500", h_engine, WA_R_SESS, "group.invite.get", NULL },
	{ "GET", "/api/groups/{sessionId}/{jid}", "Groups", "Get group details",
	  "", "200,401,403,404,500", h_engine, WA_R_SESS, "group.metadata", NULL },
	{ "POST", "/api/groups/{jid}/leave", "Groups", "Leave group",
	  "sessionId", "200", h_engine, WA_R_SESS_BODY, "group.leave", NULL },
	{ "POST", "/api/groups/{sessionId}/invite/accept", "Groups", "Accept group invite",
	  "inviteCode", "200,400,401,403,500,503", h_engine, WA_R_SESS, "group.invite.accept", f_group_invite_accept },
	{ "DELETE", "/api/groups/{sessionId}/{jid}/picture", "Groups", "Remove group picture",
	  "", "200", h_engine, WA_R_SESS, "group.picture.remove", NULL },
	{ "PUT", "/api/groups/{sessionId}/{jid}/picture", "Groups", "Update group picture",
	  "file", "200", h_engine, WA_R_SESS|WA_R_UPLOAD, "group.picture.set", NULL },
	{ "PUT", "/api/groups/{sessionId}/{jid}/settings", "Groups", "Update group settings",
	  "setting", "200", h_engine, WA_R_SESS, "group.settings", f_group_settings },
	{ "PUT", "/api/groups/{sessionId}/{jid}/description", "Groups", "Update group description",
	  "", "200,400,401,403,500", h_engine, WA_R_SESS, "group.description", f_group_description },
	{ "PUT", "/api/groups/{sessionId}/{jid}/ephemeral", "Groups", "Toggle disappearing messages",
	  "expiration", "200,400,401,403,500", h_engine, WA_R_SESS, "group.ephemeral", f_group_ephemeral },
	{ "POST", "/api/groups/{sessionId}/community/create", "Groups",
	  "Create a community (with its announcement group)", "subject", "200,400,401,403,500,503", h_engine,
	  WA_R_SESS|WA_R_EXTRA, "group.community.create", f_community_create },
	{ "GET", "/api/groups/{sessionId}/{jid}/community/groups", "Groups", "List a community's groups",
	  "", "200,400,401,403,404,500,503", h_engine, WA_R_SESS|WA_R_EXTRA, "group.community.groups", NULL },
	{ "POST", "/api/groups/{sessionId}/{jid}/community/link", "Groups", "Link groups to a community",
	  "groupJid", "200,400,401,403,404,500,503", h_engine, WA_R_SESS|WA_R_EXTRA, "group.community.link",
	  f_community_link },
	{ "POST", "/api/groups/{sessionId}/{jid}/community/unlink", "Groups", "Unlink groups from a community",
	  "groupJid", "200,400,401,403,404,500,503", h_engine, WA_R_SESS|WA_R_EXTRA, "group.community.unlink",
	  f_community_link },
	{ "GET", "/api/docs", "Documentation", "Get Swagger JSON specification",
	  "", "200", h_docs, WA_R_PUBLIC, NULL, NULL },
	{ "GET", "/api/chats/by-label/{labelId}", "Chats", "Get chats by label ID",
	  "", "200", h_chats_by_label_global, 0, NULL, NULL },
	{ "POST", "/api/auth/register", "Web Authentication", "Register a new user",
	  "name,email,password", "200", h_auth_register, WA_R_PUBLIC, NULL, NULL },
	{ "GET", "/api/auth/session", "Web Authentication", "Get current web session",
	  "", "200", h_auth_session, WA_R_PUBLIC|WA_R_AUTH_OPT, NULL, NULL },
	{ "GET", "/api/auth/csrf", "Web Authentication", "Get CSRF token",
	  "", "200", h_auth_csrf, WA_R_PUBLIC, NULL, NULL },
	{ "GET", "/api/sessions", "Sessions", "List all accessible sessions",
	  "", "200,401", h_sessions_list, 0, NULL, NULL },
	{ "POST", "/api/sessions", "Sessions", "Create new WhatsApp session",
	  "name", "200,400,401", h_sessions_create, 0, NULL, NULL },
	{ "GET", "/api/sessions/{id}/qr", "Sessions", "Get QR code for pairing",
	  "", "200,400,404", h_session_qr, WA_R_SESS, NULL, NULL },
	{ "GET", "/api/sessions/{id}/bot-config", "Sessions", "Get bot configuration",
	  "", "200", h_bot_get, WA_R_SESS, NULL, NULL },
	{ "POST", "/api/sessions/{id}/bot-config", "Sessions", "Update bot configuration",
	  "", "200,401,403,404,500", h_bot_set, WA_R_SESS, NULL, NULL },
	{ "GET", "/api/sessions/{id}", "Sessions", "Get session details",
	  "", "200,404", h_session_get, WA_R_SESS | WA_R_SESS_ROWS, NULL, NULL },
	{ "POST", "/api/sessions/{id}/pair", "Sessions", "Pair by phone-number code instead of the QR",
	  "phoneNumber", "200,400,401,403,404,409,503,504", h_session_pair, WA_R_SESS, NULL, NULL },
	{ "POST", "/api/sessions/{id}/{action}", "Sessions", "Perform session action",
	  "", "200,400,500", h_session_action, WA_R_SESS, NULL, NULL },
	{ "PATCH", "/api/sessions/{id}/settings", "Sessions", "Update session settings",
	  "", "200", h_session_settings, WA_R_SESS, NULL, NULL },
	{ "DELETE", "/api/sessions/{id}/settings", "Sessions", "Delete session and logout",
	  "", "200", h_session_delete, WA_R_SESS|WA_R_SESS_MANAGE, NULL, NULL },
	{ "DELETE", "/api/sessions/{id}", "Sessions", "Delete session and logout (the same as DELETE .../settings)",
	  "", "200", h_session_delete, WA_R_SESS|WA_R_SESS_MANAGE, NULL, NULL },
	{ "GET", "/api/sessions/{sessionId}/access", "Session Access", "List users with shared access",
	  "", "200,401,403,404", h_access_list, WA_R_SESS|WA_R_SESS_MANAGE, NULL, NULL },
	{ "POST", "/api/sessions/{sessionId}/access", "Session Access", "Grant access to another user",
	  "email", "201,400,401,403,404,409", h_access_grant, WA_R_SESS|WA_R_SESS_MANAGE, NULL, NULL },
	{ "DELETE", "/api/sessions/{sessionId}/access", "Session Access", "Revoke user access",
	  "userId", "200,400,401,403,404", h_access_revoke, WA_R_SESS|WA_R_SESS_MANAGE, NULL, NULL },
	{ "POST", "/api/messages/{sessionId}/{jid}/send", "Messaging", "Send message (text/media/sticker)",
	  "message", "200,400,401,403,404,500,503", h_engine, WA_R_SESS, "message.send", f_message_send },
	{ "POST", "/api/messages/{sessionId}/{jid}/media", "Messaging", "Send media (image/video/audio/document)",
	  "file,type", "200,400,401,403,500,503", h_engine, WA_R_SESS|WA_R_UPLOAD, "message.media", NULL },
	{ "POST", "/api/messages/{sessionId}/broadcast", "Messaging", "Broadcast message to multiple recipients",
	  "recipients,message", "200,401,403,500,503", h_engine, WA_R_SESS, "message.broadcast", f_message_broadcast },
	{ "GET", "/api/messages/{sessionId}/broadcasts", "Messaging", "List broadcast and spam jobs",
	  "", "200,401,403,404", h_bc_list, WA_R_SESS | WA_R_EXTRA, NULL, NULL },
	{ "GET", "/api/messages/{sessionId}/broadcasts/{broadcastId}", "Messaging",
	  "A broadcast or spam job with its recipients", "", "200,400,401,403,404", h_bc_get, WA_R_SESS | WA_R_EXTRA,
	  NULL, NULL },
	{ "POST", "/api/messages/{sessionId}/broadcasts/{broadcastId}/cancel", "Messaging",
	  "Cancel a broadcast or spam job", "", "200,400,401,403,404,409", h_bc_cancel, WA_R_SESS | WA_R_EXTRA, NULL,
	  NULL },
	{ "POST", "/api/messages/{sessionId}/{jid}/poll", "Messaging", "Send poll message",
	  "question,options", "200,401,403,500,503", h_engine, WA_R_SESS, "message.poll", f_message_poll },
	{ "POST", "/api/messages/{sessionId}/{jid}/location", "Messaging", "Send location",
	  "latitude,longitude", "200,401,403,500,503", h_engine, WA_R_SESS, "message.location", f_message_location },
	{ "POST", "/api/messages/{sessionId}/{jid}/contact", "Messaging", "Send contact card",
	  "contacts", "200,401,403,500,503", h_engine, WA_R_SESS, "message.contact", f_message_contact },
	{ "GET", "/api/messages/{sessionId}/download/{messageId}/media", "Messaging", "Download message media",
	  "", "200,401,403,404,410,502,503,504", h_msg_download, WA_R_SESS, NULL, NULL },
	{ "POST", "/api/messages/{sessionId}/{jid}/{messageId}/react", "Messaging", "React to message with emoji",
	  "emoji", "200,401,403,500,503", h_engine, WA_R_SESS, "message.react", f_message_react },
	{ "POST", "/api/messages/{sessionId}/{jid}/{messageId}/reply", "Messaging", "Reply to a message (quoted reply)",
	  "message", "200,400,401,403,500,503", h_engine, WA_R_SESS, "message.reply", f_message_reply },
	{ "POST", "/api/messages/{sessionId}/{jid}/reply", "Messaging", "Reply to a message (body-based)",
	  "messageId,message", "200,400,401,403,500,503", h_engine, WA_R_SESS, "message.reply", f_message_reply_body },
	{ "POST", "/api/messages/{sessionId}/{jid}/{messageId}/star", "Messaging", "Star or unstar a message",
	  "", "200,401,403,500,503", h_engine, WA_R_SESS, "message.star", f_message_star },
	{ "GET", "/api/messages/{sessionId}/search", "Messaging", "Search messages",
	  "", "200,400,401,403,404,500", h_msg_search, WA_R_SESS, NULL, NULL },
	{ "POST", "/api/messages/{sessionId}/{jid}/list", "Messaging", "Send list message",
	  "title,options", "200,401,403,500,503", h_engine, WA_R_SESS, "message.list", f_message_list },
	{ "POST", "/api/messages/{sessionId}/{jid}/spam", "Messaging", "Message bombing (Spam)",
	  "message", "200,401,403,500,503", h_engine, WA_R_SESS, "message.spam", f_message_spam },
	{ "POST", "/api/messages/{sessionId}/{jid}/sticker", "Messaging", "Send sticker",
	  "file", "200,401,403,500,503", h_engine, WA_R_SESS|WA_R_UPLOAD, "message.sticker", NULL },
	{ "POST", "/api/messages/{sessionId}/forward", "Messaging", "Forward message",
	  "fromJid,messageId,toJids", "200,401,403,500,503", h_engine, WA_R_SESS, "message.forward", f_message_forward },
	{ "DELETE", "/api/messages/{sessionId}/{jid}/{messageId}", "Messaging", "Delete message for everyone",
	  "", "200,401,403,500,503", h_engine, WA_R_SESS, "message.delete", NULL },
	{ "PATCH", "/api/messages/{sessionId}/{jid}/{messageId}", "Messaging", "Edit a sent message",
	  "text", "200,400,401,403,500,503", h_engine, WA_R_SESS, "message.edit", f_message_edit },
	{ "GET", "/api/chat/{sessionId}", "Chat", "Get chat list with contacts",
	  "", "200", h_chat_list, WA_R_SESS, NULL, NULL },
	{ "GET", "/api/chat/{sessionId}/{jid}", "Chat", "Get message history",
	  "", "200", h_chat_history, WA_R_SESS, NULL, NULL },
	{ "PUT", "/api/chat/{sessionId}/{jid}/read", "Chat", "Mark messages as read",
	  "", "200,401,403,500,503", h_engine, WA_R_SESS, "chat.read", f_chat_read },
	{ "PUT", "/api/chat/{sessionId}/{jid}/archive", "Chat", "Archive/unarchive chat",
	  "archive", "200,400,401,403,500,503", h_engine, WA_R_SESS, "chat.archive", f_chat_archive },
	/* beyond the reference: the n8n node POSTs it */
	{ "POST", "/api/chat/{sessionId}/{jid}/archive", "Chat", "Archive/unarchive chat (POST form)",
	  "archive", "200,400,401,403,500,503", h_engine, WA_R_SESS, "chat.archive", f_chat_archive },
	{ "PUT", "/api/chat/{sessionId}/{jid}/mute", "Chat", "Mute/unmute chat",
	  "mute", "200,400,401,403,500,503", h_engine, WA_R_SESS, "chat.mute", f_chat_mute },
	{ "PUT", "/api/chat/{sessionId}/{jid}/pin", "Chat", "Pin/unpin chat",
	  "pin", "200,400,401,403,500,503", h_engine, WA_R_SESS, "chat.pin", f_chat_pin },
	{ "POST", "/api/chat/{sessionId}/{jid}/presence", "Chat", "Send presence (typing/recording)",
	  "presence", "200,400,401,403,500,503", h_engine, WA_R_SESS, "chat.presence", f_chat_presence },
	{ "POST", "/api/chat/{sessionId}/{jid}/profile-picture", "Chat", "Get profile picture URL",
	  "", "200,401,403,500,503", h_engine, WA_R_SESS, "contact.picture", f_contact_picture },
	{ "POST", "/api/chat/{sessionId}/check", "Chat", "Check if numbers exist on WhatsApp",
	  "numbers", "200,400,401,403,500,503", h_engine, WA_R_SESS, "contact.check", f_contact_check },
	{ "GET", "/api/profile/{sessionId}", "Profile", "Get own profile",
	  "", "200,401,403,503", h_engine, WA_R_SESS, "profile.get", NULL },
	{ "PUT", "/api/profile/{sessionId}/name", "Profile", "Update profile name",
	  "name", "200,401,403,503", h_engine, WA_R_SESS, "profile.name", f_profile_name },
	{ "PUT", "/api/profile/{sessionId}/status", "Profile", "Update profile status",
	  "status", "200,401,403,503", h_engine, WA_R_SESS, "profile.status", f_profile_status },
	{ "DELETE", "/api/profile/{sessionId}/picture", "Profile", "Remove profile picture",
	  "", "200,401,403,503", h_engine, WA_R_SESS, "profile.picture.remove", NULL },
	{ "PUT", "/api/profile/{sessionId}/picture", "Profile", "Update profile picture",
	  "file", "200,401,403,503", h_profile_picture, WA_R_SESS|WA_R_UPLOAD|WA_R_URL_ALT, "profile.picture.set", NULL },
	{ "DELETE", "/api/autoreplies/{sessionId}", "Auto Replies", "Delete all autoreplies",
	  "", "200", h_ar_delete_all, WA_R_SESS, NULL, NULL },
	{ "GET", "/api/autoreplies/{sessionId}", "Auto Reply", "List auto-reply rules",
	  "", "200,401,403,404", h_ar_list, WA_R_SESS, NULL, NULL },
	{ "POST", "/api/autoreplies/{sessionId}", "Auto Reply", "Create auto-reply rule",
	  "keyword,response", "200,400,401,403", h_ar_create, WA_R_SESS, NULL, NULL },
	{ "DELETE", "/api/autoreplies/{sessionId}/{replyId}", "Auto Reply", "Delete auto-reply rule",
	  "", "200,401,403,404", h_ar_delete, WA_R_SESS, NULL, NULL },
	{ "PUT", "/api/autoreplies/{sessionId}/{replyId}", "Auto Reply", "Update auto-reply rule",
	  "keyword,response", "200,401,403,404", h_ar_update, WA_R_SESS, NULL, NULL },
	{ "DELETE", "/api/scheduler/{sessionId}", "Scheduler", "Delete all scheduled messages for a session",
	  "", "200", h_sch_delete_all, WA_R_SESS, NULL, NULL },
	{ "GET", "/api/scheduler/{sessionId}", "Scheduler", "List scheduled messages",
	  "", "200,401,403,404", h_sch_list, WA_R_SESS, NULL, NULL },
	{ "POST", "/api/scheduler/{sessionId}", "Scheduler", "Create scheduled message",
	  "jid,content,sendAt", "200,400,401,403", h_sch_create, WA_R_SESS, NULL, NULL },
	{ "DELETE", "/api/scheduler/{sessionId}/{scheduleId}", "Scheduler", "Delete scheduled message",
	  "", "200,401,403,404", h_sch_delete, WA_R_SESS, NULL, NULL },
	{ "PUT", "/api/scheduler/{sessionId}/{scheduleId}", "Scheduler", "Update scheduled message",
	  "jid,content,sendAt", "200,401,403,404", h_sch_update, WA_R_SESS, NULL, NULL },
	{ "POST", "/api/scheduler", "Scheduler", "Create a scheduled message task",
	  "", "200", h_sch_create, WA_R_SESS_BODY, NULL, NULL },
	{ "GET", "/api/webhooks/{sessionId}", "Webhooks", "List webhooks for a session",
	  "", "200,401,403", h_wh_list, WA_R_SESS, NULL, NULL },
	{ "POST", "/api/webhooks/{sessionId}", "Webhooks", "Create a webhook",
	  "name,url,events", "200,400,401,403", h_wh_create, WA_R_SESS, NULL, NULL },
	{ "DELETE", "/api/webhooks/{sessionId}/{id}", "Webhooks", "Delete webhook",
	  "", "200,401,403,404", h_wh_delete, WA_R_SESS, NULL, NULL },
	{ "PUT", "/api/webhooks/{sessionId}/{id}", "Webhooks", "Update webhook",
	  "", "200,401,403,404", h_wh_update, WA_R_SESS, NULL, NULL },
	{ "GET", "/api/webhooks/{sessionId}/{id}/deliveries", "Webhooks",
	  "Delivery log of a webhook, newest first (?limit=1..500, default 50)",
	  "", "200,400,401,403,404", h_wh_deliveries, WA_R_SESS|WA_R_EXTRA, NULL, NULL },
	{ "POST", "/api/webhooks/{sessionId}/{id}/test", "Webhooks", "Send a webhook.test event to this webhook",
	  "", "200,401,403,404", h_wh_test, WA_R_SESS|WA_R_EXTRA, NULL, NULL },
	{ "DELETE", "/api/webhooks/{id}", "Webhooks", "Delete webhook",
	  "", "200,401,404,500", h_wh_delete_global, 0, NULL, NULL },
	{ "POST", "/api/users", "Users", "Create user (SUPERADMIN only)",
	  "name,email,password", "200,400,401,403,500", h_users_create, WA_R_SUPERADMIN, NULL, NULL },
	{ "GET", "/api/users", "Users", "List users (SUPERADMIN only)",
	  "", "200,401,403,500", h_users_list, WA_R_SUPERADMIN, NULL, NULL },
	{ "DELETE", "/api/users/{id}", "Users", "Delete user (SUPERADMIN only)",
	  "", "200,401,403,404,500", h_users_delete, WA_R_SUPERADMIN, NULL, NULL },
	{ "PATCH", "/api/users/{id}", "Users", "Update user (SUPERADMIN only)",
	  "", "200,400,401,403,404,500", h_users_update, WA_R_SUPERADMIN, NULL, NULL },
	{ "POST", "/api/user/api-key", "Users", "Generate new API key",
	  "", "200,401,500", h_apikey_new, 0, NULL, NULL },
	{ "DELETE", "/api/user/api-key", "Users", "Revoke API key",
	  "", "200,401,500", h_apikey_revoke, 0, NULL, NULL },
	{ "GET", "/api/user/api-key", "Users", "Get current API key",
	  "", "200,401", h_apikey_get, 0, NULL, NULL },
	{ "POST", "/api/labels/{sessionId}", "Labels", "Create label",
	  "name", "200,401,403,500", h_labels_create, WA_R_SESS, NULL, NULL },
	{ "PUT", "/api/labels/{sessionId}", "Labels", "Update all labels or bulk update",
	  "", "200", h_labels_bulk, WA_R_SESS, NULL, NULL },
	{ "DELETE", "/api/labels/{sessionId}", "Labels", "Delete labels",
	  "", "200", h_labels_delete_many, WA_R_SESS, NULL, NULL },
	{ "GET", "/api/labels/{sessionId}", "Labels", "List labels",
	  "", "200,401,403,404", h_labels_list, WA_R_SESS, NULL, NULL },
	{ "DELETE", "/api/labels/{sessionId}/{labelId}", "Labels", "Delete label",
	  "", "200", h_labels_delete, WA_R_SESS, NULL, NULL },
	{ "PUT", "/api/labels/{sessionId}/{labelId}", "Labels", "Update label",
	  "", "200", h_labels_update, WA_R_SESS, NULL, NULL },
	{ "GET", "/api/labels/{sessionId}/chat/{jid}/labels", "Labels", "Get chat labels",
	  "", "200", h_chat_labels_get, WA_R_SESS, NULL, NULL },
	{ "PUT", "/api/labels/{sessionId}/chat/{jid}/labels", "Labels", "Update chat labels",
	  "labelIds", "200", h_chat_labels_set, WA_R_SESS, NULL, NULL },
	{ "GET", "/api/chats/{sessionId}/by-label/{labelId}", "Labels", "Get chats by label",
	  "", "200,401,403,404", h_chats_by_label, WA_R_SESS, NULL, NULL },
	/* beyond the reference: the n8n node's form, ?labelId= */
	{ "GET", "/api/labels/{sessionId}/chats", "Labels", "Get chats by label (query form)",
	  "", "200,400,401,403,404", h_labels_chats, WA_R_SESS, NULL, NULL },
	{ "POST", "/api/notifications", "Notifications", "Create notification",
	  "title,message", "200,400,401,403,500", h_notif_create, 0, NULL, NULL },
	{ "GET", "/api/notifications", "Notifications", "List notifications",
	  "", "200,401,500", h_notif_list, 0, NULL, NULL },
	{ "PATCH", "/api/notifications/read", "Notifications", "Mark notifications as read",
	  "", "200,401,500", h_notif_read, 0, NULL, NULL },
	{ "DELETE", "/api/notifications/delete", "Notifications", "Delete specific notification",
	  "?id", "200,400,401,500", h_notif_delete, 0, NULL, NULL },
	{ "POST", "/api/settings/system", "System", "Update system settings",
	  "", "200,401,403,500", h_settings_set, 0, NULL, NULL },
	{ "GET", "/api/settings/system", "System", "Get system settings",
	  "", "200", h_settings_get, WA_R_PUBLIC, NULL, NULL },
	{ "POST", "/api/status/{sessionId}/update", "System", "Update status",
	  "content", "200,400,401,403,503", h_engine, WA_R_SESS, "status.update", f_status_update },
	{ "POST", "/api/status/update", "System", "Update status",
	  "sessionId,content", "200,400,401,403,500,503", h_engine, WA_R_SESS_BODY, "status.update", f_status_update },
	{ "POST", "/api/system/check-updates", "System", "Check for updates",
	  "", "200,401,500", h_check_updates, 0, NULL, NULL },
	{ "POST", "/api/contacts/{sessionId}/{jid}/block", "Contacts", "Block contact",
	  "", "200,401,403,500", h_engine, WA_R_SESS, "contact.block", NULL },
	{ "POST", "/api/contacts/{sessionId}/{jid}/unblock", "Contacts", "Unblock contact",
	  "", "200,401,403,500", h_engine, WA_R_SESS, "contact.unblock", NULL },
	{ "GET", "/api/contacts/{sessionId}/blocklist", "Contacts", "List blocked contacts",
	  "", "200,401,403,500,503", h_engine, WA_R_SESS|WA_R_EXTRA, "contact.blocklist", NULL },
	/* Our additions (not in routes.tsv): NextAuth-compatible credentials
	 * sign-in and sign-out, so the dashboard and NextAuth clients can log in. */
	{ "POST", "/api/auth/callback/credentials", "Web Authentication", "Sign in with email and password (sets the session cookie)",
	  "email,password,csrfToken", "200,400,401,403", h_auth_signin, WA_R_PUBLIC|WA_R_EXTRA, NULL, NULL },
	{ "POST", "/api/auth/signout", "Web Authentication", "Sign out (ends the web session)",
	  "csrfToken", "200,403", h_auth_signout, WA_R_PUBLIC|WA_R_AUTH_OPT|WA_R_EXTRA, NULL, NULL },
};

const size_t wa_nroutes = sizeof wa_routes / sizeof wa_routes[0];
