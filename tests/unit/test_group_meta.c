/* test_group_meta: engine/group_meta.c, WhatsApp's group elements as the
 * API's Group object and the events of w:gp2 notifications. */
#include "engine/group_meta.h"
#include "tap.h"
#include "wa/node.h"

#include <string.h>

static const char *s(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static long long n(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static struct wa_node *group(void)
{
	struct wa_node *g = wa_node_new_attrs("group", "id", "120363000000000001", "subject", "Team", "s_o",
					      "491111@s.whatsapp.net", "s_t", "1700000001", "creation", "1700000000",
					      "creator", "491111@s.whatsapp.net", NULL);
	struct wa_node *p, *d;

	p = wa_node_add_new(g, "participant");
	wa_node_set_attr(p, "jid", "491111@s.whatsapp.net");
	wa_node_set_attr(p, "type", "superadmin");
	p = wa_node_add_new(g, "participant");
	wa_node_set_attr(p, "jid", "492222:3@s.whatsapp.net"); /* a device part is dropped */
	p = wa_node_add_new(g, "participant");
	wa_node_set_attr(p, "jid", "493333@s.whatsapp.net");
	wa_node_set_attr(p, "type", "admin");
	d = wa_node_add_new(g, "description");
	wa_node_set_attr(d, "id", "DESC1");
	wa_node_set_attr(d, "participant", "493333@s.whatsapp.net");
	wa_node_set_attr(d, "t", "1700000005");
	wa_node_set_bytes(wa_node_add_new(d, "body"), "hello ✓", strlen("hello ✓"));
	wa_node_add_new(g, "announcement");
	wa_node_set_attr(wa_node_add_new(g, "ephemeral"), "expiration", "604800");
	return g;
}

static struct wa_node *notif(struct wa_node *child)
{
	struct wa_node *n = wa_node_new_attrs("notification", "from", "120363000000000001@g.us", "type", "w:gp2",
					      "id", "77", "participant", "491111:0@s.whatsapp.net", NULL);

	wa_node_add_child(n, child);
	return n;
}

int main(void)
{
	struct wa_node *g = group(), *nt, *c;
	json_t *m = wa_group_meta_from_node(g), *ps, *e;
	const char *ev = "x";

	ok(m != NULL, "a group element converts");
	is_str(s(m, "id"), "120363000000000001@g.us", "the id gets @g.us");
	is_str(s(m, "subject"), "Team", "subject");
	is_str(s(m, "subjectOwner"), "491111@s.whatsapp.net", "subjectOwner");
	is_int(n(m, "subjectTime"), 1700000001, "subjectTime");
	is_int(n(m, "creation"), 1700000000, "creation");
	is_str(s(m, "owner"), "491111@s.whatsapp.net", "owner is the creator");
	is_str(s(m, "desc"), "hello ✓", "desc is the body, UTF-8 kept");
	is_str(s(m, "descId"), "DESC1", "descId");
	is_str(s(m, "descOwner"), "493333@s.whatsapp.net", "descOwner");
	is_int(n(m, "descTime"), 1700000005, "descTime");
	ok(json_is_true(json_object_get(m, "announce")) && json_is_false(json_object_get(m, "restrict")),
	   "announcement yes, locked no");
	is_int(n(m, "ephemeralDuration"), 604800, "the timer");
	is_int(n(m, "size"), 3, "size counts the participants when the element has none");
	ok(json_is_false(json_object_get(m, "isCommunity")) && json_is_null(json_object_get(m, "linkedParentJid")),
	   "not a community, no parent");
	ps = json_object_get(m, "participants");
	ok(json_array_size(ps) == 3, "three participants");
	is_str(s(json_array_get(ps, 0), "admin"), "superadmin", "the creator is superadmin");
	is_str(s(json_array_get(ps, 1), "id"), "492222@s.whatsapp.net", "no device in a participant");
	ok(json_is_null(json_object_get(json_array_get(ps, 1), "admin")), "a member's admin is null");
	is_str(s(json_array_get(ps, 2), "admin"), "admin", "an admin");
	json_decref(m);

	c = wa_node_new("groups");
	ok(wa_group_meta_from_node(c) == NULL, "not a <group>: NULL");
	wa_node_free(c);
	c = wa_node_new_attrs("group", "subject", "x", NULL);
	ok(wa_group_meta_from_node(c) == NULL, "a group without an id: NULL");
	wa_node_free(c);

	/* notifications */
	c = wa_node_new("add");
	wa_node_set_attr(wa_node_add_new(c, "participant"), "jid", "494444@s.whatsapp.net");
	wa_node_set_attr(c, "reason", "invite");
	nt = notif(c);
	e = wa_group_notif_event(nt, &ev);
	is_str(ev, "group.participant", "add: group.participant");
	is_str(s(e, "action"), "add", "action add");
	is_str(s(e, "author"), "491111@s.whatsapp.net", "the author without a device");
	is_str(s(e, "id"), "120363000000000001@g.us", "the group");
	is_str(json_string_value(json_array_get(json_object_get(e, "participants"), 0)), "494444@s.whatsapp.net",
	       "who was added");
	is_str(s(e, "reason"), "invite", "the reason");
	ok(!wa_group_notif_removes(nt, "494444@s.whatsapp.net"), "an add removes nobody");
	json_decref(e);
	wa_node_free(nt);

	c = wa_node_new("leave");
	wa_node_set_attr(wa_node_add_new(c, "participant"), "jid", "495555@s.whatsapp.net");
	nt = notif(c);
	e = wa_group_notif_event(nt, &ev);
	is_str(s(e, "action"), "remove", "leave is published as remove");
	ok(wa_group_notif_removes(nt, "495555@s.whatsapp.net"), "leave removes its participant");
	ok(!wa_group_notif_removes(nt, "491111@s.whatsapp.net"), "... and nobody else");
	json_decref(e);
	wa_node_free(nt);

	nt = notif(wa_node_new_attrs("subject", "subject", "New", "s_t", "5", NULL));
	e = wa_group_notif_event(nt, &ev);
	is_str(ev, "group.update", "subject: group.update");
	is_str(s(e, "subject"), "New", "the new subject");
	json_decref(e);
	wa_node_free(nt);

	c = wa_node_new_attrs("description", "id", "D2", NULL);
	wa_node_add_new(c, "delete");
	nt = notif(c);
	e = wa_group_notif_event(nt, &ev);
	ok(json_is_null(json_object_get(e, "desc")) && strcmp(s(e, "descId"), "D2") == 0, "a deleted description");
	json_decref(e);
	wa_node_free(nt);

	nt = notif(wa_node_new("locked"));
	e = wa_group_notif_event(nt, &ev);
	ok(json_is_true(json_object_get(e, "restrict")) && !json_object_get(e, "announce"), "locked: restrict only");
	json_decref(e);
	wa_node_free(nt);

	nt = notif(wa_node_new("not_ephemeral"));
	e = wa_group_notif_event(nt, &ev);
	is_int(n(e, "ephemeralDuration"), 0, "not_ephemeral: 0");
	json_decref(e);
	wa_node_free(nt);

	c = wa_node_new_attrs("create", "type", "new", NULL);
	wa_node_add_child(c, g);
	nt = notif(c);
	e = wa_group_notif_event(nt, &ev);
	ok(json_is_true(json_object_get(e, "created")) && strcmp(s(e, "subject"), "Team") == 0 &&
	   json_array_size(json_object_get(e, "participants")) == 3, "create: the whole group");
	json_decref(e);
	wa_node_free(nt);

	/* a community's link / unlink: about the sub-group inside */
	c = wa_node_new_attrs("link", "link_type", "sub_group", NULL);
	wa_node_set_attr(wa_node_add_new(c, "group"), "jid", "120363000000000002@g.us");
	nt = notif(c);
	e = wa_group_notif_event(nt, &ev);
	is_str(ev, "group.update", "link: group.update");
	is_str(s(e, "id"), "120363000000000002@g.us", "link: the sub-group");
	is_str(s(e, "communityJid"), "120363000000000001@g.us", "link: the community");
	is_str(s(e, "linkedParentJid"), "120363000000000001@g.us", "link: its new parent");
	is_str(s(e, "action"), "link", "link: the action");
	json_decref(e);
	wa_node_free(nt);

	c = wa_node_new_attrs("unlink", "unlink_type", "sub_group", "unlink_reason", "unlink_group", NULL);
	wa_node_set_attr(wa_node_add_new(c, "group"), "jid", "120363000000000002@g.us");
	nt = notif(c);
	e = wa_group_notif_event(nt, &ev);
	ok(json_is_null(json_object_get(e, "linkedParentJid")) && strcmp(s(e, "action"), "unlink") == 0 &&
	   strcmp(s(e, "reason"), "unlink_group") == 0, "unlink: no parent, the reason");
	json_decref(e);
	wa_node_free(nt);

	nt = notif(wa_node_new_attrs("link", "link_type", "sub_group", NULL));
	ev = "x";
	ok(wa_group_notif_event(nt, &ev) == NULL && ev == NULL, "a link without its group: NULL");
	wa_node_free(nt);

	/* a community and its announcement group */
	c = wa_node_new_attrs("group", "id", "120363000000000001", "creation", "1", NULL);
	wa_node_set_attr(wa_node_add_new(c, "parent"), "default_membership_approval_mode", "request_required");
	m = wa_group_meta_from_node(c);
	ok(json_is_true(json_object_get(m, "isCommunity")) && json_is_false(json_object_get(m, "isCommunityAnnounce")),
	   "<parent>: a community");
	json_decref(m);
	wa_node_free(c);
	c = wa_node_new_attrs("group", "id", "120363000000000003", "creation", "1", NULL);
	wa_node_add_new(c, "default_sub_group");
	wa_node_set_attr(wa_node_add_new(c, "linked_parent"), "jid", "120363000000000001@g.us");
	m = wa_group_meta_from_node(c);
	ok(json_is_true(json_object_get(m, "isCommunityAnnounce")) && json_is_false(json_object_get(m, "isCommunity")) &&
	   strcmp(s(m, "linkedParentJid"), "120363000000000001@g.us") == 0, "<default_sub_group>, <linked_parent>");
	json_decref(m);
	wa_node_free(c);

	nt = notif(wa_node_new("membership_approval_mode"));
	ev = "x";
	ok(wa_group_notif_event(nt, &ev) == NULL && ev == NULL, "a change we do not publish: NULL");
	wa_node_free(nt);
	return tap_done();
}
