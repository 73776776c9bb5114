/* group_meta: group elements as the API's JSON (see group_meta.h). */
#include "engine/group_meta.h"
#include "wa/jid.h"
#include "wa/node.h"

#include <stdio.h>
#include <string.h>

/* attr as a user / group JID without a device ("" when absent or bad) */
static void bare_jid(const struct wa_node *n, const char *key, char *out, size_t cap)
{
	struct wa_jid j;

	out[0] = '\0';
	if (!n || wa_node_attr_jid(n, key, &j) != 0)
		return;
	wa_jid_to_non_ad(&j);
	if (wa_jid_format(&j, out, cap) < 0)
		out[0] = '\0';
}

static json_t *str_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static json_int_t uint_attr(const struct wa_node *n, const char *key)
{
	unsigned long long v = 0;

	return n && wa_node_attr_uint(n, key, &v) == 0 && v <= (unsigned long long)INT64_MAX ? (json_int_t)v : 0;
}

/* body text of a <description>; NULL when none or not a string */
static json_t *desc_body(const struct wa_node *d)
{
	const struct wa_node *b = d ? wa_node_child(d, "body") : NULL;
	size_t len = 0;
	const uint8_t *c = b ? wa_node_content(b, &len) : NULL;
	json_t *v = c ? json_stringn((const char *)c, len) : NULL;

	return v ? v : json_null();
}

static json_t *participants_of(const struct wa_node *g)
{
	json_t *arr = json_array();
	const struct wa_node *p = NULL;
	char jid[WA_JID_STR_MAX];

	while (arr && (p = wa_node_next(g, "participant", p)) != NULL) {
		const char *type = wa_node_attr(p, "type");

		bare_jid(p, "jid", jid, sizeof jid);
		if (!jid[0])
			continue;
		if (json_array_append_new(arr, json_pack("{s:s,s:o}", "id", jid, "admin",
							 type && (strcmp(type, "admin") == 0 ||
								  strcmp(type, "superadmin") == 0) ?
							 json_string(type) : json_null())) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *wa_group_meta_from_node(const struct wa_node *g)
{
	const char *id = g && strcmp(g->tag, "group") == 0 ? wa_node_attr(g, "id") : NULL;
	const struct wa_node *d, *lp, *eph;
	char gid[WA_JID_STR_MAX], who[WA_JID_STR_MAX], owner[WA_JID_STR_MAX], lpj[WA_JID_STR_MAX];
	json_t *o, *parts;
	json_int_t size;

	if (!id || !id[0] || strlen(id) + 6 > sizeof gid)
		return NULL;
	snprintf(gid, sizeof gid, strchr(id, '@') ? "%s" : "%s@g.us", id);
	parts = participants_of(g);
	if (!parts)
		return NULL;
	d = wa_node_child(g, "description");
	lp = wa_node_child(g, "linked_parent");
	eph = wa_node_child(g, "ephemeral");
	bare_jid(g, "s_o", who, sizeof who);
	bare_jid(g, "creator", owner, sizeof owner);
	bare_jid(lp, "jid", lpj, sizeof lpj);
	size = uint_attr(g, "size");
	if (size == 0)
		size = (json_int_t)json_array_size(parts);
	o = json_pack("{s:s,s:s,s:o,s:I,s:I,s:o,s:I}", "id", gid, "subject", wa_node_attr_or(g, "subject", ""),
		      "subjectOwner", str_or_null(who), "subjectTime", uint_attr(g, "s_t"), "creation",
		      uint_attr(g, "creation"), "owner", str_or_null(owner), "size", size);
	if (!o) {
		json_decref(parts);
		return NULL;
	}
	json_object_set_new(o, "desc", desc_body(d));
	json_object_set_new(o, "descId", str_or_null(d ? wa_node_attr(d, "id") : NULL));
	bare_jid(d, "participant", who, sizeof who);
	json_object_set_new(o, "descOwner", str_or_null(who));
	json_object_set_new(o, "descTime", d && uint_attr(d, "t") ? json_integer(uint_attr(d, "t")) : json_null());
	json_object_set_new(o, "isCommunity", json_boolean(wa_node_child(g, "parent") != NULL));
	json_object_set_new(o, "isCommunityAnnounce", json_boolean(wa_node_child(g, "default_sub_group") != NULL));
	json_object_set_new(o, "linkedParentJid", str_or_null(lpj));
	json_object_set_new(o, "announce", json_boolean(wa_node_child(g, "announcement") != NULL));
	json_object_set_new(o, "restrict", json_boolean(wa_node_child(g, "locked") != NULL));
	json_object_set_new(o, "ephemeralDuration", json_integer(uint_attr(eph, "expiration")));
	json_object_set_new(o, "participants", parts);
	return o;
}

/* The one change element of a notification (its first child). */
static const struct wa_node *change_of(const struct wa_node *n)
{
	return wa_node_child_at(n, 0);
}

static json_t *plist(const struct wa_node *c)
{
	json_t *arr = json_array();
	const struct wa_node *p = NULL;
	char jid[WA_JID_STR_MAX];

	while (arr && (p = wa_node_next(c, "participant", p)) != NULL) {
		bare_jid(p, "jid", jid, sizeof jid);
		if (jid[0] && json_array_append_new(arr, json_string(jid)) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *wa_group_notif_event(const struct wa_node *n, const char **event)
{
	const struct wa_node *c = n ? change_of(n) : NULL;
	char gid[WA_JID_STR_MAX], author[WA_JID_STR_MAX];
	const char *t;
	json_t *o;

	*event = NULL;
	if (!c)
		return NULL;
	bare_jid(n, "from", gid, sizeof gid);
	bare_jid(n, "participant", author, sizeof author);
	if (!gid[0])
		return NULL;
	o = json_pack("{s:s,s:o}", "id", gid, "author", str_or_null(author));
	if (!o)
		return NULL;
	t = c->tag;
	if (strcmp(t, "add") == 0 || strcmp(t, "remove") == 0 || strcmp(t, "promote") == 0 ||
	    strcmp(t, "demote") == 0 || strcmp(t, "leave") == 0) {
		json_t *ps = plist(c);

		if (!ps)
			goto fail;
		json_object_set_new(o, "action", json_string(strcmp(t, "leave") == 0 ? "remove" : t));
		json_object_set_new(o, "participants", ps);
		if (wa_node_attr(c, "reason"))
			json_object_set_new(o, "reason", json_string(wa_node_attr(c, "reason")));
		*event = "group.participant";
		return o;
	}
	if (strcmp(t, "subject") == 0) {
		json_object_set_new(o, "subject", json_string(wa_node_attr_or(c, "subject", "")));
	} else if (strcmp(t, "description") == 0) {
		json_object_set_new(o, "desc", wa_node_child(c, "delete") ? json_null() : desc_body(c));
		json_object_set_new(o, "descId", str_or_null(wa_node_attr(c, "id")));
	} else if (strcmp(t, "announcement") == 0 || strcmp(t, "not_announcement") == 0) {
		json_object_set_new(o, "announce", json_boolean(t[0] == 'a'));
	} else if (strcmp(t, "locked") == 0 || strcmp(t, "unlocked") == 0) {
		json_object_set_new(o, "restrict", json_boolean(t[0] == 'l'));
	} else if (strcmp(t, "ephemeral") == 0 || strcmp(t, "not_ephemeral") == 0) {
		json_object_set_new(o, "ephemeralDuration", json_integer(t[0] == 'e' ? uint_attr(c, "expiration") : 0));
	} else if (strcmp(t, "invite") == 0) {
		json_object_set_new(o, "inviteCode", str_or_null(wa_node_attr(c, "code")));
	} else if (strcmp(t, "link") == 0 || strcmp(t, "unlink") == 0) {
		/* about the sub-group named inside; from= is the community */
		char sub[WA_JID_STR_MAX];

		bare_jid(wa_node_child(c, "group"), "jid", sub, sizeof sub);
		if (!sub[0])
			goto fail;
		json_object_set_new(o, "id", json_string(sub));
		json_object_set_new(o, "communityJid", json_string(gid));
		json_object_set_new(o, "action", json_string(t));
		json_object_set_new(o, "linkedParentJid", t[0] == 'l' ? json_string(gid) : json_null());
		if (wa_node_attr(c, "unlink_reason"))
			json_object_set_new(o, "reason", json_string(wa_node_attr(c, "unlink_reason")));
	} else if (strcmp(t, "create") == 0) {
		json_t *meta = wa_group_meta_from_node(wa_node_child(c, "group"));

		if (!meta)
			goto fail;
		json_object_set_new(o, "created", json_true());
		json_object_update(o, meta);
		json_decref(meta);
	} else {
		goto fail; /* nothing we publish (yet) */
	}
	*event = "group.update";
	return o;
fail:
	json_decref(o);
	return NULL;
}

int wa_group_notif_removes(const struct wa_node *n, const char *user)
{
	const struct wa_node *c = n ? change_of(n) : NULL, *p = NULL;
	char jid[WA_JID_STR_MAX];

	if (!c || (strcmp(c->tag, "remove") != 0 && strcmp(c->tag, "leave") != 0))
		return 0;
	while ((p = wa_node_next(c, "participant", p)) != NULL) {
		bare_jid(p, "jid", jid, sizeof jid);
		if (strcmp(jid, user) == 0)
			return 1;
	}
	return 0;
}
