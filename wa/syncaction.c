/* wa/syncaction: app-state mutation builders. See syncaction.h; indexes,
 * collections and versions are those of docs/protocol.md §11.1. */
#include "wa/syncaction.h"

#include <stdlib.h>
#include <string.h>

void wa_sync_action_free(struct wa_sync_action *a)
{
	if (!a)
		return;
	free(a->index_json);
	for (size_t i = 0; i < sizeof a->strs / sizeof a->strs[0]; i++)
		free(a->strs[i]);
	memset(a, 0, sizeof *a);
}

void wa_sync_action_out(const struct wa_sync_action *a, struct wa_appstate_out_mutation *m)
{
	if (!a || !m)
		return;
	m->op = a->op;
	m->index_json = a->index_json;
	m->value = &a->value;
	m->version = a->version;
	m->iv = NULL;
}

/* Zero the action, set collection/version/timestamp and the index. */
static int start(struct wa_sync_action *a, const char *collection, int32_t version, int64_t now_ms,
		 const char *const *parts, size_t n)
{
	if (!a)
		return -1;
	memset(a, 0, sizeof *a);
	for (size_t i = 0; i < n; i++)
		if (!parts[i])
			return -1;
	if (wa_appstate_index_build(parts, n, &a->index_json, NULL) != WA_APPSTATE_OK)
		return -1;
	a->collection = collection;
	a->op = WA_APPSTATE_SET;
	a->version = version;
	wa_sync_action__sync_action_value__init(&a->value);
	a->value.has_timestamp = 1;
	a->value.timestamp = now_ms;
	return 0;
}

/* Keep a copy of s in slot i; NULL stays NULL. -1 on out of memory. */
static int own(struct wa_sync_action *a, int i, const char *s, char **dst)
{
	*dst = NULL;
	if (!s)
		return 0;
	a->strs[i] = strdup(s);
	if (!a->strs[i])
		return -1;
	*dst = a->strs[i];
	return 0;
}

static int fail(struct wa_sync_action *a)
{
	wa_sync_action_free(a);
	return -1;
}

/* Fill a->range from last (may be NULL) and return it. */
static WaSyncAction__SyncActionMessageRange *range(struct wa_sync_action *a, const struct wa_sync_last_msg *last)
{
	wa_sync_action__sync_action_message_range__init(&a->range);
	if (!last)
		return &a->range;
	if (last->timestamp) {
		a->range.has_lastmessagetimestamp = 1;
		a->range.lastmessagetimestamp = last->timestamp;
	}
	if (last->id && last->chat_jid) {
		wa_sync_action__message_key__init(&a->range_key);
		/* Cast: the key's strings are only read when packing. */
		a->range_key.remotejid = (char *)last->chat_jid;
		a->range_key.id = (char *)last->id;
		a->range_key.has_fromme = 1;
		a->range_key.fromme = !!last->from_me;
		a->range_key.participant = (char *)last->participant;
		wa_sync_action__sync_action_message__init(&a->range_msg);
		a->range_msg.key = &a->range_key;
		if (last->timestamp) {
			a->range_msg.has_timestamp = 1;
			a->range_msg.timestamp = last->timestamp;
		}
		a->range_msgs[0] = &a->range_msg;
		a->range.n_messages = 1;
		a->range.messages = a->range_msgs;
	}
	return &a->range;
}

/* Copy the strings of last into the action so the range stays valid. */
static int own_last(struct wa_sync_action *a, const struct wa_sync_last_msg *last, struct wa_sync_last_msg *copy)
{
	char *s;

	if (!last)
		return 0;
	*copy = *last;
	if (own(a, 0, last->chat_jid, &s) != 0)
		return -1;
	copy->chat_jid = s;
	if (own(a, 1, last->id, &s) != 0)
		return -1;
	copy->id = s;
	if (own(a, 2, last->participant, &s) != 0)
		return -1;
	copy->participant = s;
	return 0;
}

int wa_sync_action_mute(struct wa_sync_action *a, const char *chat, int muted, int64_t end_ms, int64_t now_ms)
{
	const char *parts[] = { "mute", chat };

	if (start(a, WA_APPSTATE_REGULAR_HIGH, 2, now_ms, parts, 2) != 0)
		return fail(a);
	wa_sync_action__mute_action__init(&a->mute);
	a->mute.has_muted = 1;
	a->mute.muted = !!muted;
	if (muted) {
		a->mute.has_muteendtimestamp = 1;
		a->mute.muteendtimestamp = end_ms ? end_ms : -1;
	}
	a->value.muteaction = &a->mute;
	return 0;
}

int wa_sync_action_pin(struct wa_sync_action *a, const char *chat, int pinned, int64_t now_ms)
{
	const char *parts[] = { "pin_v1", chat };

	if (start(a, WA_APPSTATE_REGULAR_LOW, 5, now_ms, parts, 2) != 0)
		return fail(a);
	wa_sync_action__pin_action__init(&a->pin);
	a->pin.has_pinned = 1;
	a->pin.pinned = !!pinned;
	a->value.pinaction = &a->pin;
	return 0;
}

int wa_sync_action_archive(struct wa_sync_action *a, const char *chat, int archived,
			   const struct wa_sync_last_msg *last, int64_t now_ms)
{
	const char *parts[] = { "archive", chat };
	struct wa_sync_last_msg copy;

	if (start(a, WA_APPSTATE_REGULAR_LOW, 3, now_ms, parts, 2) != 0 || own_last(a, last, &copy) != 0)
		return fail(a);
	wa_sync_action__archive_chat_action__init(&a->archive);
	a->archive.has_archived = 1;
	a->archive.archived = !!archived;
	a->archive.messagerange = range(a, last ? &copy : NULL);
	a->value.archivechataction = &a->archive;
	return 0;
}

int wa_sync_action_mark_read(struct wa_sync_action *a, const char *chat, int read,
			     const struct wa_sync_last_msg *last, int64_t now_ms)
{
	const char *parts[] = { "markChatAsRead", chat };
	struct wa_sync_last_msg copy;

	if (start(a, WA_APPSTATE_REGULAR_LOW, 3, now_ms, parts, 2) != 0 || own_last(a, last, &copy) != 0)
		return fail(a);
	wa_sync_action__mark_chat_as_read_action__init(&a->read);
	a->read.has_read = 1;
	a->read.read = !!read;
	a->read.messagerange = range(a, last ? &copy : NULL);
	a->value.markchatasreadaction = &a->read;
	return 0;
}

int wa_sync_action_star(struct wa_sync_action *a, const char *chat, const char *msg_id, int from_me,
			const char *sender, int starred, int64_t now_ms)
{
	const char *parts[] = { "star", chat, msg_id, from_me ? "1" : "0", sender ? sender : "0" };

	if (start(a, WA_APPSTATE_REGULAR_HIGH, 2, now_ms, parts, 5) != 0)
		return fail(a);
	wa_sync_action__star_action__init(&a->star);
	a->star.has_starred = 1;
	a->star.starred = !!starred;
	a->value.staraction = &a->star;
	return 0;
}

int wa_sync_action_delete_for_me(struct wa_sync_action *a, const char *chat, const char *msg_id, int from_me,
				 const char *sender, int delete_media, int64_t msg_ts, int64_t now_ms)
{
	const char *parts[] = { "deleteMessageForMe", chat, msg_id, from_me ? "1" : "0", sender ? sender : "0" };

	if (start(a, WA_APPSTATE_REGULAR_HIGH, 3, now_ms, parts, 5) != 0)
		return fail(a);
	wa_sync_action__delete_message_for_me_action__init(&a->delete_for_me);
	a->delete_for_me.has_deletemedia = 1;
	a->delete_for_me.deletemedia = !!delete_media;
	if (msg_ts) {
		a->delete_for_me.has_messagetimestamp = 1;
		a->delete_for_me.messagetimestamp = msg_ts;
	}
	a->value.deletemessageformeaction = &a->delete_for_me;
	return 0;
}

int wa_sync_action_clear_chat(struct wa_sync_action *a, const char *chat, int delete_starred,
			      const struct wa_sync_last_msg *last, int64_t now_ms)
{
	const char *parts[] = { "clearChat", chat, delete_starred ? "1" : "0", "0" };
	struct wa_sync_last_msg copy;

	if (start(a, WA_APPSTATE_REGULAR_HIGH, 6, now_ms, parts, 4) != 0 || own_last(a, last, &copy) != 0)
		return fail(a);
	wa_sync_action__clear_chat_action__init(&a->clear);
	a->clear.messagerange = range(a, last ? &copy : NULL);
	a->value.clearchataction = &a->clear;
	return 0;
}

int wa_sync_action_delete_chat(struct wa_sync_action *a, const char *chat, int delete_media,
			       const struct wa_sync_last_msg *last, int64_t now_ms)
{
	const char *parts[] = { "deleteChat", chat, delete_media ? "1" : "0" };
	struct wa_sync_last_msg copy;

	if (start(a, WA_APPSTATE_REGULAR_HIGH, 6, now_ms, parts, 3) != 0 || own_last(a, last, &copy) != 0)
		return fail(a);
	wa_sync_action__delete_chat_action__init(&a->delete_chat);
	a->delete_chat.messagerange = range(a, last ? &copy : NULL);
	a->value.deletechataction = &a->delete_chat;
	return 0;
}

int wa_sync_action_contact(struct wa_sync_action *a, const char *jid, const char *full_name,
			   const char *first_name, int64_t now_ms)
{
	const char *parts[] = { "contact", jid };

	if (start(a, WA_APPSTATE_CRITICAL_UNBLOCK_LOW, 2, now_ms, parts, 2) != 0)
		return fail(a);
	wa_sync_action__contact_action__init(&a->contact);
	if (own(a, 0, full_name, &a->contact.fullname) != 0 || own(a, 1, first_name, &a->contact.firstname) != 0)
		return fail(a);
	a->value.contactaction = &a->contact;
	return 0;
}

int wa_sync_action_push_name(struct wa_sync_action *a, const char *name, int64_t now_ms)
{
	const char *parts[] = { "setting_pushName" };

	if (!name || start(a, WA_APPSTATE_CRITICAL_BLOCK, 1, now_ms, parts, 1) != 0)
		return fail(a);
	wa_sync_action__push_name_setting__init(&a->push_name);
	if (own(a, 0, name, &a->push_name.name) != 0)
		return fail(a);
	a->value.pushnamesetting = &a->push_name;
	return 0;
}

int wa_sync_action_label_edit(struct wa_sync_action *a, const char *label_id, const char *name, int32_t color,
			      int deleted, int64_t now_ms)
{
	const char *parts[] = { "label_edit", label_id };

	if (start(a, WA_APPSTATE_REGULAR, 3, now_ms, parts, 2) != 0)
		return fail(a);
	wa_sync_action__label_edit_action__init(&a->label_edit);
	if (own(a, 0, name, &a->label_edit.name) != 0)
		return fail(a);
	a->label_edit.has_color = 1;
	a->label_edit.color = color;
	a->label_edit.has_deleted = 1;
	a->label_edit.deleted = !!deleted;
	a->value.labeleditaction = &a->label_edit;
	return 0;
}

int wa_sync_action_label_chat(struct wa_sync_action *a, const char *label_id, const char *chat, int labeled,
			      int64_t now_ms)
{
	const char *parts[] = { "label_jid", label_id, chat };

	if (start(a, WA_APPSTATE_REGULAR, 3, now_ms, parts, 3) != 0)
		return fail(a);
	wa_sync_action__label_association_action__init(&a->label_assoc);
	a->label_assoc.has_labeled = 1;
	a->label_assoc.labeled = !!labeled;
	a->value.labelassociationaction = &a->label_assoc;
	return 0;
}

int wa_sync_action_label_message(struct wa_sync_action *a, const char *label_id, const char *chat,
				 const char *msg_id, int labeled, int64_t now_ms)
{
	const char *parts[] = { "label_message", label_id, chat, msg_id, "0", "0" };

	if (start(a, WA_APPSTATE_REGULAR, 3, now_ms, parts, 6) != 0)
		return fail(a);
	wa_sync_action__label_association_action__init(&a->label_assoc);
	a->label_assoc.has_labeled = 1;
	a->label_assoc.labeled = !!labeled;
	a->value.labelassociationaction = &a->label_assoc;
	return 0;
}
