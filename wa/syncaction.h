/* wa/syncaction: builders for the app-state mutations the gateway sends
 * (docs/protocol.md §11.1 table): each fills a struct wa_sync_action with the
 * collection, the index JSON, the per-action version and the
 * SyncActionValue, ready for wa_appstate_build_patch() via
 * wa_sync_action_out().
 *
 * Ownership: the struct owns its index JSON and copies of every string it
 * was given; the value points into the struct itself, so a built action
 * must not be copied or moved (use it in place, then wa_sync_action_free()).
 * JIDs are passed as full strings ("1555…@s.whatsapp.net", groups
 * "…@g.us"). now_ms is the SyncActionValue timestamp in milliseconds.
 * Builders return 0, or -1 on a bad argument / out of memory (the struct is
 * then empty and safe to free). Reentrant; no shared state. */
#ifndef WA_SYNCACTION_H
#define WA_SYNCACTION_H

#include <stdint.h>

#include "wa/appstate.h"

struct wa_sync_action {
	const char *collection;           /* one of WA_APPSTATE_* names */
	enum wa_appstate_op op;           /* SET for every builder here */
	int32_t version;
	char *index_json;
	WaSyncAction__SyncActionValue value;
	/* storage the value points into */
	WaSyncAction__MuteAction mute;
	WaSyncAction__PinAction pin;
	WaSyncAction__ArchiveChatAction archive;
	WaSyncAction__MarkChatAsReadAction read;
	WaSyncAction__SyncActionMessageRange range;
	WaSyncAction__SyncActionMessage range_msg;
	WaSyncAction__SyncActionMessage *range_msgs[1];
	WaSyncAction__MessageKey range_key;
	WaSyncAction__StarAction star;
	WaSyncAction__DeleteMessageForMeAction delete_for_me;
	WaSyncAction__ClearChatAction clear;
	WaSyncAction__DeleteChatAction delete_chat;
	WaSyncAction__ContactAction contact;
	WaSyncAction__PushNameSetting push_name;
	WaSyncAction__LabelEditAction label_edit;
	WaSyncAction__LabelAssociationAction label_assoc;
	char *strs[4];                    /* owned copies the value points to */
};

/* The newest message of a chat, for the message ranges archive / read /
 * clear / delete carry (all optional: pass NULL). */
struct wa_sync_last_msg {
	int64_t timestamp;                /* seconds */
	const char *chat_jid;             /* MessageKey.remoteJID */
	const char *id;
	int from_me;
	const char *participant;          /* group sender, or NULL */
};

/* Release what the action owns and zero it. NULL-safe. */
void wa_sync_action_free(struct wa_sync_action *a);
/* Describe the action for wa_appstate_build_patch() (iv = NULL, random). */
void wa_sync_action_out(const struct wa_sync_action *a, struct wa_appstate_out_mutation *m);

/* regular_high ["mute",chat] v2. end_ms = mute end (ms); 0 while muting
 * means forever (sent as -1, as WM does). */
int wa_sync_action_mute(struct wa_sync_action *a, const char *chat, int muted, int64_t end_ms, int64_t now_ms);
/* regular_low ["pin_v1",chat] v5. */
int wa_sync_action_pin(struct wa_sync_action *a, const char *chat, int pinned, int64_t now_ms);
/* regular_low ["archive",chat] v3 with a message range (WM also sends an
 * unpin when archiving: build that with wa_sync_action_pin). */
int wa_sync_action_archive(struct wa_sync_action *a, const char *chat, int archived,
			   const struct wa_sync_last_msg *last, int64_t now_ms);
/* regular_low ["markChatAsRead",chat] v3. */
int wa_sync_action_mark_read(struct wa_sync_action *a, const char *chat, int read,
			     const struct wa_sync_last_msg *last, int64_t now_ms);
/* regular_high ["star",chat,msg_id,"1"|"0",sender or "0"] v2 (WM); sender
 * NULL means "0" (1:1 chats and own messages). */
int wa_sync_action_star(struct wa_sync_action *a, const char *chat, const char *msg_id, int from_me,
			const char *sender, int starred, int64_t now_ms);
/* regular_high ["deleteMessageForMe",chat,msg_id,"1"|"0",sender or "0"] v3. */
int wa_sync_action_delete_for_me(struct wa_sync_action *a, const char *chat, const char *msg_id, int from_me,
				 const char *sender, int delete_media, int64_t msg_ts, int64_t now_ms);
/* regular_high ["clearChat",chat,"1"|"0" (delete starred),"0" (delete media)] v6. */
int wa_sync_action_clear_chat(struct wa_sync_action *a, const char *chat, int delete_starred,
			      const struct wa_sync_last_msg *last, int64_t now_ms);
/* regular_high ["deleteChat",chat,"1"|"0" (delete media)] v6. */
int wa_sync_action_delete_chat(struct wa_sync_action *a, const char *chat, int delete_media,
			       const struct wa_sync_last_msg *last, int64_t now_ms);
/* critical_unblock_low ["contact",jid] v2; names may be NULL. */
int wa_sync_action_contact(struct wa_sync_action *a, const char *jid, const char *full_name,
			   const char *first_name, int64_t now_ms);
/* critical_block ["setting_pushName"] v1. */
int wa_sync_action_push_name(struct wa_sync_action *a, const char *name, int64_t now_ms);
/* regular ["label_edit",label_id] v3; color is the palette index. */
int wa_sync_action_label_edit(struct wa_sync_action *a, const char *label_id, const char *name, int32_t color,
			      int deleted, int64_t now_ms);
/* regular ["label_jid",label_id,chat] v3. */
int wa_sync_action_label_chat(struct wa_sync_action *a, const char *label_id, const char *chat, int labeled,
			      int64_t now_ms);
/* regular ["label_message",label_id,chat,msg_id,"0","0"] v3. */
int wa_sync_action_label_message(struct wa_sync_action *a, const char *label_id, const char *chat,
				 const char *msg_id, int labeled, int64_t now_ms);

#endif
