/* sim_groups: groups (docs/protocol.md §10): the w:g2 IQs, the w:gp2 change
 * notifications to every member device, and the routing of group messages
 * (per-device SKDM encs under <participants> plus one skmsg for everyone),
 * communities (§10.4: a parent group made with its announcement group,
 * groups linked to it and unlinked, <sub_groups/>), and the group picture (the w:profile:picture IQ itself is parsed in
 * sim_presence.c; type="picture" notifications go out from here).
 *
 * Members are accounts (PN addressing, addressing_mode="pn"); a member's
 * devices are its phone and its companions at the time of sending. The
 * table lives on the store (runtime only, cleared by reset). Error codes
 * follow §10.1 (404 no group, 403 not a member / not an admin, 409 already
 * a member, 400 bad request); per-participant codes in add/remove replies
 * are inferred. */
#include "sim_msg.h"
#include "wa/linkcode.h"
#include "sim_state.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_log.h"
#include "wa_util.h"

#define SUBJECT_MAX 100
#define DESC_MAX 2048

struct sim_member {
	struct sim_account *acc;
	int admin;                 /* 0 member, 1 admin, 2 superadmin (creator) */
};

struct sim_group {
	char id[32];               /* user part, "<digits>" */
	char jid[48];              /* "<id>@g.us" */
	char subject[SUBJECT_MAX * 4 + 1];
	uint64_t s_t, creation;
	char s_o[WA_JID_STR_MAX], creator[WA_JID_STR_MAX];
	char *desc;                /* NULL = none */
	char desc_id[WA_MSGID_MAX + 1];
	uint64_t desc_t;
	char invite[24];
	char old_invite[24];       /* the last revoked code ("" none): 410 */
	int announce, locked;
	uint32_t ephemeral;
	uint8_t *pic;              /* group picture (JPEG), NULL = none */
	size_t pic_len;
	uint64_t pic_id;           /* new on every set */
	int parent;                /* a community (§10.4): <parent> */
	int default_sub;           /* a community's announcement group: <default_sub_group> */
	char linked[48];           /* the community it is linked to ("" none): <linked_parent> */
	struct sim_member *m;
	size_t nm, cap;
	struct sim_group *next;
};

struct sim_groups {
	struct sim_group *list;
	size_t n;
};

static void group_free(struct sim_group *g)
{
	free(g->pic);
	free(g->desc);
	free(g->m);
	free(g);
}

void sim_groups_free(struct sim_groups *gs)
{
	struct sim_group *g, *ng;

	if (gs == NULL)
		return;
	for (g = gs->list; g; g = ng) {
		ng = g->next;
		group_free(g);
	}
	free(gs);
}

static struct sim_groups *table(struct sim_server *s)
{
	if (s->store->groups == NULL)
		s->store->groups = calloc(1, sizeof *s->store->groups);
	return s->store->groups;
}

static struct sim_group *group_find(struct sim_server *s, const char *jid)
{
	struct sim_groups *gs = table(s);
	struct sim_group *g;

	for (g = gs ? gs->list : NULL; g; g = g->next)
		if (strcmp(g->jid, jid) == 0 || strcmp(g->id, jid) == 0)
			return g;
	return NULL;
}

static struct sim_member *member(struct sim_group *g, const struct sim_account *a)
{
	for (size_t i = 0; i < g->nm; i++)
		if (g->m[i].acc == a)
			return &g->m[i];
	return NULL;
}

/* Accounts are freed by reset / removal only together with the whole
 * store, so member pointers stay valid while the group exists. */
static int member_add(struct sim_group *g, struct sim_account *a, int admin)
{
	if (member(g, a))
		return 1;
	if (g->nm >= SIM_GROUP_MEMBERS_MAX)
		return -1;
	if (g->nm == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 8;
		struct sim_member *nm = realloc(g->m, nc * sizeof *nm);

		if (nm == NULL)
			return -1;
		g->m = nm;
		g->cap = nc;
	}
	g->m[g->nm].acc = a;
	g->m[g->nm].admin = admin;
	g->nm++;
	return 0;
}

static void member_del(struct sim_group *g, const struct sim_account *a)
{
	for (size_t i = 0; i < g->nm; i++) {
		if (g->m[i].acc == a) {
			memmove(&g->m[i], &g->m[i + 1], (g->nm - i - 1) * sizeof g->m[0]);
			g->nm--;
			return;
		}
	}
}

int sim_group_members(struct sim_server *s, const char *gjid, struct sim_account **out, size_t max)
{
	struct sim_group *g = group_find(s, gjid);
	size_t i;

	if (g == NULL)
		return -1;
	for (i = 0; i < g->nm && i < max; i++)
		out[i] = g->m[i].acc;
	return (int)i;
}

static void user_jid(const struct sim_account *a, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s@s.whatsapp.net", a->number);
}

static int new_code(struct sim_server *s, char out[24])
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t r[22];

	if (sim_random(s, r, sizeof r) != 0)
		return -1;
	for (size_t i = 0; i < sizeof r; i++)
		out[i] = al[r[i] % (sizeof al - 1)];
	out[22] = '\0';
	return 0;
}

/* <group …> (§10.2) */
static struct wa_node *group_node(const struct sim_group *g)
{
	struct wa_node *n = wa_node_new_attrs("group", "id", g->id, "subject", g->subject, "s_o", g->s_o, "creator",
					      g->creator, "addressing_mode", "pn", NULL), *ch;

	if (n == NULL || wa_node_set_attr_uint(n, "s_t", g->s_t) || wa_node_set_attr_uint(n, "creation", g->creation) ||
	    wa_node_set_attr_uint(n, "size", g->nm))
		goto fail;
	for (size_t i = 0; i < g->nm; i++) {
		char jid[WA_JID_STR_MAX];

		user_jid(g->m[i].acc, jid, sizeof jid);
		ch = wa_node_add_new(n, "participant");
		if (ch == NULL || wa_node_set_attr(ch, "jid", jid) ||
		    wa_node_set_attr(ch, "type", g->m[i].admin == 2 ? "superadmin" : g->m[i].admin ? "admin" : NULL))
			goto fail;
	}
	if (g->desc) {
		ch = wa_node_add_new(n, "description");
		if (ch == NULL || wa_node_set_attr(ch, "id", g->desc_id) || wa_node_set_attr_uint(ch, "t", g->desc_t) ||
		    (ch = wa_node_add_new(ch, "body")) == NULL || wa_node_set_bytes(ch, g->desc, strlen(g->desc)))
			goto fail;
	}
	if ((g->announce && !wa_node_add_new(n, "announcement")) || (g->locked && !wa_node_add_new(n, "locked")))
		goto fail;
	if (g->ephemeral) {
		ch = wa_node_add_new(n, "ephemeral");
		if (ch == NULL || wa_node_set_attr_uint(ch, "expiration", g->ephemeral))
			goto fail;
	}
	if (g->parent && ((ch = wa_node_add_new(n, "parent")) == NULL ||
			  wa_node_set_attr(ch, "default_membership_approval_mode", "request_required")))
		goto fail;
	if (g->default_sub && !wa_node_add_new(n, "default_sub_group"))
		goto fail;
	if (g->linked[0] && ((ch = wa_node_add_new(n, "linked_parent")) == NULL || wa_node_set_attr(ch, "jid", g->linked)))
		goto fail;
	return n;
fail:
	wa_node_free(n);
	return NULL;
}

/* <notification from=group type="w:gp2" id t participant notify>child</notification>
 * to every device of every member (and of extra, e.g. the removed), except
 * the acting device. Takes child. type is "w:gp2" for group changes and
 * "picture" for the group picture (§8.6). */
static void notify_typed(struct sim_server *s, struct sim_group *g, const char *type, struct sim_account *actor,
			 uint16_t adev, struct wa_node *child, struct sim_account *const *extra, size_t nextra)
{
	struct wa_node *n = wa_node_new_attrs("notification", "from", g->jid, "type", type, NULL);
	char id[32], pj[WA_JID_STR_MAX];

	snprintf(id, sizeof id, "%llu", (unsigned long long)++s->seq);
	user_jid(actor, pj, sizeof pj);
	if (n == NULL || wa_node_set_attr(n, "id", id) || wa_node_set_attr_uint(n, "t", sim_now(s)) ||
	    wa_node_set_attr(n, "participant", pj) || wa_node_set_attr(n, "notify", actor->push_name) ||
	    wa_node_add_child(n, child) != 0) {
		wa_node_free(child);
		wa_node_free(n);
		return;
	}
	for (size_t i = 0; i < g->nm + nextra; i++) {
		struct sim_account *a = i < g->nm ? g->m[i].acc : extra[i - g->nm];

		for (struct sim_device *d = a->devices; d; d = d->next) {
			struct wa_node *cp;

			if (a == actor && d->id == adev)
				continue;
			cp = wa_node_dup(n);
			if (cp == NULL || sim_deliver(s, d, cp) != 0)
				wa_debug("sim: group notification not delivered to %s:%u", a->number, d->id);
			wa_node_free(cp);
		}
	}
	wa_node_free(n);
}

static void notify(struct sim_server *s, struct sim_group *g, struct sim_account *actor, uint16_t adev,
		   struct wa_node *child, struct sim_account *const *extra, size_t nextra)
{
	notify_typed(s, g, "w:gp2", actor, adev, child, extra, nextra);
}

/* <tag><participant jid/>…</tag> for a list of accounts */
static struct wa_node *plist(const char *tag, struct sim_account *const *v, size_t n)
{
	struct wa_node *t = wa_node_new(tag), *p;
	char jid[WA_JID_STR_MAX];

	if (t == NULL || wa_node_set_empty_list(t))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		user_jid(v[i], jid, sizeof jid);
		p = wa_node_add_new(t, "participant");
		if (p == NULL || wa_node_set_attr(p, "jid", jid))
			goto fail;
	}
	return t;
fail:
	wa_node_free(t);
	return NULL;
}

/* ---- operations shared by IQs and the admin API ---- */

/* A new group in the table, not yet told to anyone (notify_created). */
static struct sim_group *group_new(struct sim_server *s, struct sim_account *a, const char *subject,
				   struct sim_account *const *mem, size_t n)
{
	struct sim_groups *gs = table(s);
	struct sim_group *g;
	uint8_t r[8];

	if (gs == NULL || gs->n >= SIM_GROUP_MAX || sim_random(s, r, sizeof r) != 0)
		return NULL;
	g = calloc(1, sizeof *g);
	if (g == NULL)
		return NULL;
	/* 120363 + 12 digits, like real group ids */
	snprintf(g->id, sizeof g->id, "120363%02u%02u%02u%02u%02u%02u", r[0] % 100, r[1] % 100, r[2] % 100, r[3] % 100,
		 r[4] % 100, r[5] % 100);
	snprintf(g->jid, sizeof g->jid, "%s@g.us", g->id);
	snprintf(g->subject, sizeof g->subject, "%s", subject);
	g->s_t = g->creation = sim_now(s);
	user_jid(a, g->s_o, sizeof g->s_o);
	user_jid(a, g->creator, sizeof g->creator);
	if (new_code(s, g->invite) != 0 || member_add(g, a, 2) < 0) {
		group_free(g);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (mem[i] != a && member_add(g, mem[i], 0) < 0)
			break;
	g->next = gs->list;
	gs->list = g;
	gs->n++;
	return g;
}

/* <create type="new"><group …/></create> to the members */
static void notify_created(struct sim_server *s, struct sim_group *g, struct sim_account *a, uint16_t dev)
{
	struct wa_node *cr = wa_node_new_attrs("create", "type", "new", NULL), *gn = group_node(g);

	if (cr && gn && wa_node_add_child(cr, gn) == 0) {
		notify(s, g, a, dev, cr, NULL, 0);
	} else {
		wa_node_free(gn);
		wa_node_free(cr);
	}
}

/* ---- communities (§10.4) ---- */

/* A community: the parent group (<parent>) and, as WhatsApp makes it with
 * the community, its announcement group (<default_sub_group>, announcement
 * mode, linked to the parent), both with the same members; the creator is
 * superadmin of both. Nobody is told yet (notify_community). */
static struct sim_group *community_new(struct sim_server *s, struct sim_account *a, const char *subject,
				       struct sim_account *const *mem, size_t n)
{
	struct sim_group *g = group_new(s, a, subject, mem, n), *sub;

	if (g == NULL)
		return NULL;
	g->parent = 1;
	sub = group_new(s, a, subject, mem, n);
	if (sub == NULL)
		return g; /* no memory: a community without its announcement group */
	sub->announce = 1;
	sub->default_sub = 1;
	snprintf(sub->linked, sizeof sub->linked, "%s", g->jid);
	return g;
}

static struct sim_group *default_sub_of(struct sim_server *s, const struct sim_group *parent)
{
	struct sim_groups *gs = table(s);

	for (struct sim_group *g = gs ? gs->list : NULL; g; g = g->next)
		if (g->default_sub && strcmp(g->linked, parent->jid) == 0)
			return g;
	return NULL;
}

static void notify_community(struct sim_server *s, struct sim_group *g, struct sim_account *a, uint16_t dev)
{
	struct sim_group *sub = default_sub_of(s, g);

	notify_created(s, g, a, dev);
	if (sub)
		notify_created(s, sub, a, dev);
}

/* <group jid subject s_t/> naming a sub-group in link / unlink notifications */
static struct wa_node *link_target(const struct sim_group *g)
{
	struct wa_node *n = wa_node_new_attrs("group", "jid", g->jid, "subject", g->subject, NULL);

	if (n && (wa_node_set_attr_uint(n, "s_t", g->s_t) || (g->default_sub && !wa_node_add_new(n, "default_sub_group")))) {
		wa_node_free(n);
		return NULL;
	}
	return n;
}

/* The link / unlink notification (from the community), to the members of
 * the community and of the sub-group. Takes ch. */
static void notify_link(struct sim_server *s, struct sim_group *parent, struct sim_group *sub,
			struct sim_account *actor, uint16_t dev, struct wa_node *ch)
{
	struct sim_account **extra = calloc(sub->nm ? sub->nm : 1, sizeof *extra);
	size_t ne = 0;

	if (extra == NULL) {
		wa_node_free(ch);
		return;
	}
	for (size_t i = 0; i < sub->nm; i++)
		if (member(parent, sub->m[i].acc) == NULL)
			extra[ne++] = sub->m[i].acc;
	notify(s, parent, actor, dev, ch, extra, ne);
	free(extra);
}

/* Link (or unlink) the group named gjid to the community parent, as member
 * actor (device dev), who the caller checked is the community's admin.
 * Linking also needs an admin of the group (inferred: WhatsApp offers only
 * groups you admin); a group is in at most one community. The per-group
 * status: 200, 404 no such group (unlink: not in this community), 400 a
 * community or an announcement group, 403 not an admin of it, 409 already
 * in a community, 500. */
static int do_link(struct sim_server *s, struct sim_group *parent, struct sim_account *actor, uint16_t dev,
		   const char *gjid, int link)
{
	struct sim_group *sub = group_find(s, gjid);
	struct sim_member *me = sub ? member(sub, actor) : NULL;
	struct wa_node *ch, *t;

	if (sub == NULL || (!link && strcmp(sub->linked, parent->jid) != 0))
		return 404;
	if (sub == parent || sub->parent || sub->default_sub)
		return 400;
	if (link && (me == NULL || me->admin == 0))
		return 403;
	if (link && sub->linked[0])
		return 409;
	if (link)
		snprintf(sub->linked, sizeof sub->linked, "%s", parent->jid);
	else
		sub->linked[0] = '\0';
	ch = link ? wa_node_new_attrs("link", "link_type", "sub_group", NULL)
		  : wa_node_new_attrs("unlink", "unlink_type", "sub_group", "unlink_reason", "unlink_group", NULL);
	t = link_target(sub);
	if (ch == NULL || t == NULL || wa_node_add_child(ch, t) != 0) {
		wa_node_free(t);
		wa_node_free(ch);
		return 200; /* changed; the notification is lost */
	}
	notify_link(s, parent, sub, actor, dev, ch);
	return 200;
}

/* <sub_groups><group id subject s_t creation size [<default_sub_group/>]/>…</sub_groups>:
 * the announcement group first */
static struct wa_node *sub_groups_node(struct sim_server *s, const struct sim_group *parent)
{
	struct sim_groups *gs = table(s);
	struct wa_node *out = wa_node_new("sub_groups");

	if (out == NULL || wa_node_set_empty_list(out))
		goto fail;
	for (int pass = 0; pass < 2; pass++) {
		for (struct sim_group *g = gs ? gs->list : NULL; g; g = g->next) {
			struct wa_node *n;

			if (strcmp(g->linked, parent->jid) != 0 || (pass == 0) != (g->default_sub != 0))
				continue;
			n = wa_node_add_new(out, "group");
			if (n == NULL || wa_node_set_attr(n, "id", g->id) || wa_node_set_attr(n, "subject", g->subject) ||
			    wa_node_set_attr_uint(n, "s_t", g->s_t) || wa_node_set_attr_uint(n, "creation", g->creation) ||
			    wa_node_set_attr_uint(n, "size", g->nm) ||
			    (g->default_sub && !wa_node_add_new(n, "default_sub_group")))
				goto fail;
		}
	}
	return out;
fail:
	wa_node_free(out);
	return NULL;
}

/* w:g2 on a community: <links><link link_type="sub_group"><group jid/>…</link></links>
 * and <unlink unlink_type="sub_group"><group jid/>…</unlink> (set, its admins
 * only: 403; not a community: 400), <sub_groups/> (get, its members). The
 * reply repeats the groups, each with error= when it was not changed. 0 or
 * an IQ error code; *out the reply's content. */
static int community_iq(struct sim_server *s, struct sim_group *g, struct sim_account *a, uint16_t dev,
			const struct wa_node *child, int set, struct wa_node **out)
{
	const struct sim_member *me = member(g, a);
	int link = strcmp(child->tag, "links") == 0;
	const struct wa_node *lk = link ? wa_node_child(child, "link") : child, *gn = NULL;
	struct wa_node *res, *rl;

	*out = NULL;
	if (!g->parent)
		return 400;
	if (!set) {
		*out = sub_groups_node(s, g);
		return *out ? 0 : 500;
	}
	if (me == NULL || me->admin == 0)
		return 403;
	if (lk == NULL || !wa_node_attr_is(lk, link ? "link_type" : "unlink_type", "sub_group"))
		return 400;
	res = link ? wa_node_new("links") : wa_node_new_attrs("unlink", "unlink_type", "sub_group", NULL);
	rl = link && res ? wa_node_add_new(res, "link") : res;
	if (rl == NULL || (link && wa_node_set_attr(rl, "link_type", "sub_group"))) {
		wa_node_free(res);
		return 500;
	}
	while ((gn = wa_node_next(lk, "group", gn)) != NULL) {
		const char *jid = wa_node_attr_or(gn, "jid", "");
		int code = do_link(s, g, a, dev, jid, link);
		struct wa_node *r = wa_node_add_new(rl, "group");

		if (r == NULL || wa_node_set_attr(r, "jid", jid) || (code != 200 && wa_node_set_attr_int(r, "error", code))) {
			wa_node_free(res);
			return 500;
		}
	}
	*out = res;
	return 0;
}

/* add / remove / promote / demote / leave for the accounts in v; code[i]
 * gets a per-participant status (200 ok). Notifies the members. */
static int do_change(struct sim_server *s, struct sim_group *g, struct sim_account *actor, uint16_t adev,
		     const char *op, struct sim_account **v, size_t n, int *code)
{
	struct sim_account *done[SIM_GROUP_MEMBERS_MAX];
	size_t nd = 0;
	struct sim_member *me = member(g, actor);
	int is_leave = strcmp(op, "leave") == 0;

	if (me == NULL)
		return 403;
	if (!is_leave && me->admin == 0)
		return 403;
	for (size_t i = 0; i < n; i++) {
		struct sim_member *t = v[i] ? member(g, v[i]) : NULL;

		code[i] = 200;
		if (v[i] == NULL) {
			code[i] = 404;
		} else if (strcmp(op, "add") == 0) {
			if (t)
				code[i] = 409;
			else if (member_add(g, v[i], 0) < 0)
				code[i] = 500;
		} else if (t == NULL) {
			code[i] = 404;
		} else if (strcmp(op, "remove") == 0 || is_leave) {
			member_del(g, v[i]);
		} else if (strcmp(op, "promote") == 0) {
			if (t->admin == 0)
				t->admin = 1;
		} else if (strcmp(op, "demote") == 0) {
			if (t->admin == 2)
				code[i] = 403; /* the creator stays (inferred) */
			else
				t->admin = 0;
		} else {
			return 400;
		}
		if (code[i] == 200 && nd < SIM_GROUP_MEMBERS_MAX)
			done[nd++] = v[i];
	}
	if (nd > 0) {
		struct wa_node *ch = plist(op, done, nd);
		int gone = strcmp(op, "remove") == 0 || is_leave;

		if (ch)
			notify(s, g, actor, adev, ch, gone ? done : NULL, gone ? nd : 0);
	}
	return 0;
}

/* ---- IQs ---- */

static int reply_err(struct sim_conn *c, struct wa_node *iq, int code)
{
	const char *t = code == 404 ? "item-not-found" : code == 403 ? "forbidden" : code == 409 ? "conflict"
			: code == 401 ? "not-authorized" : code == 406 ? "not-acceptable" : code == 410 ? "gone"
			: code == 501 ? "feature-not-implemented" : "bad-request";

	return sim_conn_iq_error(c, iq, code, t) == 0 ? 0 : -1;
}

static int reply_with(struct sim_conn *c, struct wa_node *iq, struct wa_node *n)
{
	if (n == NULL)
		return -1;
	if (sim_conn_iq_result(c, iq, n) != 0) {
		wa_node_free(n);
		return -1;
	}
	return 0;
}

static struct sim_account *acc_of(struct sim_server *s, const char *jid)
{
	struct wa_jid j;

	if (jid == NULL || wa_jid_parse(jid, &j, NULL) != 0)
		return NULL;
	wa_jid_normalize(&j);
	return sim_resolve_user(s, &j, NULL);
}

/* a joins g by its invite code (device dev acted); the members get
 * <add reason="invite">. Already a member: nothing. 0, or -1 no memory. */
static int join_group(struct sim_server *s, struct sim_group *g, struct sim_account *a, uint16_t dev)
{
	struct wa_node *ch;

	if (member(g, a) != NULL)
		return 0;
	if (member_add(g, a, 0) < 0)
		return -1;
	ch = plist("add", &a, 1);
	if (ch) {
		wa_node_set_attr(ch, "reason", "invite");
		notify(s, g, a, dev, ch, NULL, 0);
	}
	return 0;
}

/* IQs addressed to g.us */
static int iq_server(struct sim_conn *c, struct wa_node *iq, struct wa_node *child, int set)
{
	struct sim_server *s = c->srv;
	struct sim_account *mem[SIM_GROUP_MEMBERS_MAX];
	struct sim_group *g;

	if (set && strcmp(child->tag, "create") == 0) {
		const char *subject = wa_node_attr(child, "subject");
		struct wa_node *p = NULL;
		size_t n = 0;

		if (subject == NULL || subject[0] == '\0' || strlen(subject) > SUBJECT_MAX * 4)
			return reply_err(c, iq, 400);
		while ((p = wa_node_next(child, "participant", p)) != NULL && n < SIM_GROUP_MEMBERS_MAX) {
			struct sim_account *a = acc_of(s, wa_node_attr(p, "jid"));

			if (a)
				mem[n++] = a;
		}
		/* <parent default_membership_approval_mode/>: a community (§10.4) */
		g = wa_node_child(child, "parent") ? community_new(s, c->acc, subject, mem, n)
						    : group_new(s, c->acc, subject, mem, n);
		if (g == NULL)
			return reply_err(c, iq, 500);
		if (wa_node_child(child, "announcement"))
			g->announce = 1;
		if (wa_node_child(child, "locked"))
			g->locked = 1;
		{
			unsigned long long e = 0;
			const struct wa_node *d = wa_node_child(child, "description");
			size_t dl = 0;
			const uint8_t *db = wa_node_content(wa_node_child(d, "body"), &dl);

			if (wa_node_attr_uint(wa_node_child(child, "ephemeral"), "expiration", &e) == 0 && e <= UINT32_MAX)
				g->ephemeral = (uint32_t)e;
			if (db && dl > 0 && dl <= DESC_MAX && (g->desc = strndup((const char *)db, dl)) != NULL) {
				snprintf(g->desc_id, sizeof g->desc_id, "%s", wa_node_attr_or(d, "id", ""));
				g->desc_t = g->creation;
			}
		}
		if (g->parent)
			notify_community(s, g, c->acc, c->dev->id);
		else
			notify_created(s, g, c->acc, c->dev->id);
		return reply_with(c, iq, group_node(g));
	}
	if (set && strcmp(child->tag, "leave") == 0) {
		struct wa_node *gn = NULL;
		struct sim_account *self = c->acc;
		int code;

		while ((gn = wa_node_next(child, "group", gn)) != NULL) {
			g = group_find(s, wa_node_attr_or(gn, "id", ""));
			if (g && member(g, self))
				(void)do_change(s, g, self, c->dev->id, "leave", &self, 1, &code);
		}
		return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
	}
	if (strcmp(child->tag, "invite") == 0) {
		const char *code = wa_node_attr(child, "code");
		struct sim_groups *gs = table(s);

		for (g = gs ? gs->list : NULL; g && code; g = g->next)
			if (strcmp(g->invite, code) == 0)
				break;
		if (g == NULL) {
			/* WM: 410 gone = a revoked link, 406 not-acceptable = no such link */
			for (g = gs ? gs->list : NULL; g && code; g = g->next)
				if (g->old_invite[0] && strcmp(g->old_invite, code) == 0)
					return reply_err(c, iq, 410);
			return reply_err(c, iq, 406);
		}
		if (!set)
			return reply_with(c, iq, group_node(g));
		if (join_group(s, g, c->acc, c->dev->id) != 0)
			return reply_err(c, iq, 500);
		return reply_with(c, iq, wa_node_new_attrs("group", "jid", g->jid, NULL));
	}
	if (!set && strcmp(child->tag, "participating") == 0) {
		struct wa_node *gr = wa_node_new("groups");
		struct sim_groups *gs = table(s);

		if (gr == NULL || wa_node_set_empty_list(gr)) {
			wa_node_free(gr);
			return -1;
		}
		for (g = gs ? gs->list : NULL; g; g = g->next) {
			struct wa_node *gn;

			if (member(g, c->acc) == NULL)
				continue;
			gn = group_node(g);
			if (gn == NULL || wa_node_add_child(gr, gn) != 0) {
				wa_node_free(gn);
				wa_node_free(gr);
				return -1;
			}
		}
		return reply_with(c, iq, gr);
	}
	return reply_err(c, iq, 501);
}

/* A group setting changed by member a (device dev) of g: child is the
 * w:g2 set element (subject, description, invite = revoke, announcement /
 * not_announcement, locked / unlocked, ephemeral / not_ephemeral). The
 * members are notified. 0 (and *out, may stay NULL, the reply's content),
 * an error code for the IQ (400, 403, 501), or -1 out of memory. Shared by
 * the IQ handler and the admin API (a phone acting, dev 0). */
static int group_setting(struct sim_server *s, struct sim_group *g, struct sim_account *a, uint16_t dev,
			 struct wa_node *child, struct wa_node **out)
{
	struct sim_member *me = member(g, a);
	const char *t = child->tag;

	*out = NULL;
	if (me == NULL)
		return 403;
	/* admins only when locked (subject/description) or always (the rest) */
	if ((strcmp(t, "subject") == 0 || strcmp(t, "description") == 0) ? (g->locked && !me->admin) : !me->admin)
		return 403;
	if (strcmp(t, "subject") == 0) {
		size_t len = 0;
		const uint8_t *b = wa_node_content(child, &len);
		struct wa_node *ch;

		if (b == NULL || len == 0 || len > SUBJECT_MAX * 4)
			return 400;
		snprintf(g->subject, sizeof g->subject, "%.*s", (int)len, (const char *)b);
		g->s_t = sim_now(s);
		user_jid(a, g->s_o, sizeof g->s_o);
		ch = wa_node_new_attrs("subject", "subject", g->subject, "s_o", g->s_o, NULL);
		if (ch && wa_node_set_attr_uint(ch, "s_t", g->s_t) == 0)
			notify(s, g, a, dev, ch, NULL, 0);
		else
			wa_node_free(ch);
	} else if (strcmp(t, "description") == 0) {
		size_t len = 0;
		const uint8_t *b = wa_node_content(wa_node_child(child, "body"), &len);
		struct wa_node *ch;

		free(g->desc);
		g->desc = NULL;
		if (!wa_node_attr_is(child, "delete", "true")) {
			if (b == NULL || len > DESC_MAX)
				return 400;
			g->desc = strndup((const char *)b, len);
			if (g->desc == NULL)
				return -1;
		}
		snprintf(g->desc_id, sizeof g->desc_id, "%s", wa_node_attr_or(child, "id", ""));
		g->desc_t = sim_now(s);
		ch = wa_node_new_attrs("description", "id", g->desc_id, NULL);
		if (ch && (g->desc ? (wa_node_add_new(ch, "body") &&
				      !wa_node_set_bytes(wa_node_child(ch, "body"), g->desc, strlen(g->desc)))
				   : wa_node_add_new(ch, "delete") != NULL))
			notify(s, g, a, dev, ch, NULL, 0);
		else
			wa_node_free(ch);
	} else if (strcmp(t, "invite") == 0) {
		snprintf(g->old_invite, sizeof g->old_invite, "%s", g->invite);
		if (new_code(s, g->invite) != 0)
			return -1;
		*out = wa_node_new_attrs("invite", "code", g->invite, NULL);
		return *out ? 0 : -1;
	} else if (strcmp(t, "announcement") == 0 || strcmp(t, "not_announcement") == 0 ||
		   strcmp(t, "locked") == 0 || strcmp(t, "unlocked") == 0) {
		if (t[0] == 'a' || t[0] == 'n')
			g->announce = t[0] == 'a';
		else
			g->locked = t[0] == 'l';
		notify(s, g, a, dev, wa_node_new(t), NULL, 0);
	} else if (strcmp(t, "ephemeral") == 0 || strcmp(t, "not_ephemeral") == 0) {
		unsigned long long e = 0;
		struct wa_node *ch;

		if (t[0] == 'e' && (wa_node_attr_uint(child, "expiration", &e) != 0 || e == 0 || e > 31536000))
			return 400;
		g->ephemeral = (uint32_t)e;
		ch = wa_node_new(t);
		if (ch && t[0] == 'e')
			wa_node_set_attr_uint(ch, "expiration", e);
		notify(s, g, a, dev, ch, NULL, 0);
	} else {
		return 501;
	}
	return 0;
}


int sim_iq_groups(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct sim_server *s = c->srv;
	const char *to = wa_node_attr(iq, "to");
	int set = wa_node_attr_is(iq, "type", "set");
	struct sim_group *g;
	struct sim_member *me;
	const char *t;

	if (child == NULL || to == NULL)
		return reply_err(c, iq, 400);
	if (strcmp(to, "g.us") == 0 || strcmp(to, "@g.us") == 0)
		return iq_server(c, iq, child, set);
	g = group_find(s, to);
	if (g == NULL)
		return reply_err(c, iq, 404);
	me = member(g, c->acc);
	if (me == NULL)
		return reply_err(c, iq, 403);
	t = child->tag;
	if ((set && (strcmp(t, "links") == 0 || strcmp(t, "unlink") == 0)) || (!set && strcmp(t, "sub_groups") == 0)) {
		struct wa_node *out = NULL;
		int rc = community_iq(s, g, c->acc, c->dev->id, child, set, &out);

		if (rc != 0)
			return reply_err(c, iq, rc);
		return reply_with(c, iq, out);
	}
	if (!set) {
		if (strcmp(t, "query") == 0)
			return reply_with(c, iq, group_node(g));
		if (strcmp(t, "invite") == 0) {
			if (!me->admin) /* WM: 401 not-authorized (403 is "not in the group") */
				return reply_err(c, iq, 401);
			return reply_with(c, iq, wa_node_new_attrs("invite", "code", g->invite, NULL));
		}
		return reply_err(c, iq, 501);
	}
	if (strcmp(t, "add") == 0 || strcmp(t, "remove") == 0 || strcmp(t, "promote") == 0 || strcmp(t, "demote") == 0) {
		struct sim_account *v[SIM_GROUP_MEMBERS_MAX];
		int code[SIM_GROUP_MEMBERS_MAX];
		const char *jids[SIM_GROUP_MEMBERS_MAX];
		struct wa_node *p = NULL, *out;
		size_t n = 0;
		int rc;

		while ((p = wa_node_next(child, "participant", p)) != NULL && n < SIM_GROUP_MEMBERS_MAX) {
			jids[n] = wa_node_attr_or(p, "jid", "");
			v[n] = acc_of(s, jids[n]);
			n++;
		}
		rc = do_change(s, g, c->acc, c->dev->id, t, v, n, code);
		if (rc != 0)
			return reply_err(c, iq, rc);
		out = wa_node_new(t);
		for (size_t i = 0; out && i < n; i++) {
			struct wa_node *pn = wa_node_add_new(out, "participant");

			if (pn == NULL || wa_node_set_attr(pn, "jid", jids[i]) ||
			    (code[i] != 200 && wa_node_set_attr_int(pn, "error", code[i]))) {
				wa_node_free(out);
				out = NULL;
			}
		}
		return reply_with(c, iq, out);
	}
	{
		struct wa_node *out = NULL;
		int rc = group_setting(s, g, c->acc, c->dev->id, child, &out);

		if (rc < 0)
			return -1;
		if (rc > 0)
			return reply_err(c, iq, rc);
		if (out)
			return reply_with(c, iq, out);
		return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
	}
}

/* ---- messages ---- */

/* status@broadcast (§7.8): the sender names the audience by listing its
 * devices under <participants>; each listed device gets its SKDM and the
 * skmsg, from="status@broadcast" participant=<sender device>. */
static int status_relay(struct sim_server *s, struct sim_account *a, uint16_t dev, struct wa_node *msg)
{
	struct wa_node *parts = wa_node_child(msg, "participants"), *t = NULL, *e, *sk = NULL;
	char sender[WA_JID_STR_MAX];

	for (e = NULL; (e = wa_node_next(msg, "enc", e)) != NULL;)
		if (wa_node_attr_is(e, "type", "skmsg"))
			sk = e;
	sim_device_jid(a, dev, sender, sizeof sender);
	while ((t = wa_node_next(parts, "to", t)) != NULL) {
		struct wa_jid tj;
		struct sim_account *ta;
		uint16_t tdev = 0;
		struct wa_node *m, *cp;

		if (wa_node_attr_jid(t, "jid", &tj) != 0 || (ta = sim_resolve_user(s, &tj, &tdev)) == NULL ||
		    !sim_device_exists(ta, tdev) || (ta == a && tdev == dev))
			continue;
		m = wa_node_new_attrs("message", "from", "status@broadcast", "participant", sender, "id",
				      wa_node_attr(msg, "id"), "type", wa_node_attr(msg, "type"), "notify", a->push_name, NULL);
		if (m == NULL || wa_node_set_attr_uint(m, "t", sim_now(s))) {
			wa_node_free(m);
			return -1;
		}
		for (e = NULL; (e = wa_node_next(t, "enc", e)) != NULL;) {
			cp = wa_node_dup(e);
			if (cp == NULL || wa_node_add_child(m, cp) != 0)
				wa_node_free(cp);
		}
		cp = sk ? wa_node_dup(sk) : NULL;
		if (cp && wa_node_add_child(m, cp) != 0)
			wa_node_free(cp);
		cp = wa_node_child(msg, "device-identity") ? wa_node_dup(wa_node_child(msg, "device-identity")) : NULL;
		if (cp && wa_node_add_child(m, cp) != 0)
			wa_node_free(cp);
		(void)sim_deliver_to(s, ta, tdev, m);
		wa_node_free(m);
	}
	return 0;
}

int sim_group_relay(struct sim_server *s, struct sim_account *a, uint16_t dev, struct wa_node *msg,
		    const char **err)
{
	if (wa_node_attr_is(msg, "to", "status@broadcast"))
		return status_relay(s, a, dev, msg);
	const char *to = wa_node_attr(msg, "to");
	struct sim_group *g = to ? group_find(s, to) : NULL;
	struct sim_member *me;
	struct wa_node *parts = wa_node_child(msg, "participants"), *sk = NULL, *e;
	char sender[WA_JID_STR_MAX];

	if (g == NULL) {
		*err = "404";
		return -1;
	}
	me = member(g, a);
	/* edit="8": an admin's revoke of another member's message (7.6); the
	 * server knows the admins, the receivers trust it */
	if (me == NULL || (g->announce && !me->admin) || (wa_node_attr_is(msg, "edit", "8") && !me->admin)) {
		*err = "403"; /* inferred */
		return -1;
	}
	for (e = NULL; (e = wa_node_next(msg, "enc", e)) != NULL;)
		if (wa_node_attr_is(e, "type", "skmsg"))
			sk = e;
	sim_device_jid(a, dev, sender, sizeof sender);
	for (size_t i = 0; i < g->nm; i++) {
		struct sim_account *ma = g->m[i].acc;
		uint16_t ids[SIM_MAX_DEVICES + 1];
		size_t nid = 0;
		struct sim_device *d;

		ids[nid++] = 0;
		for (d = ma->devices; d && nid < SIM_MAX_DEVICES + 1; d = d->next)
			ids[nid++] = d->id;
		for (size_t k = 0; k < nid; k++) {
			struct wa_node *m, *t = NULL, *mine = NULL;

			if (ma == a && ids[k] == dev)
				continue;
			/* this device's SKDM, if the sender listed it */
			while ((t = wa_node_next(parts, "to", t)) != NULL) {
				struct wa_jid tj;
				uint16_t tdev = 0;

				if (wa_node_attr_jid(t, "jid", &tj) == 0 && sim_resolve_user(s, &tj, &tdev) == ma &&
				    tdev == ids[k]) {
					mine = t;
					break;
				}
			}
			if (mine == NULL && sk == NULL)
				continue;
			m = wa_node_new_attrs("message", "from", g->jid, "participant", sender, "id",
					      wa_node_attr(msg, "id"), "type", wa_node_attr(msg, "type"), "notify",
					      a->push_name, "addressing_mode", "pn", NULL);
			if (m == NULL || wa_node_set_attr_uint(m, "t", sim_now(s)) ||
			    wa_node_set_attr(m, "edit", wa_node_attr(msg, "edit"))) {
				wa_node_free(m);
				return -1;
			}
			for (e = NULL; mine && (e = wa_node_next(mine, "enc", e)) != NULL;) {
				struct wa_node *cp = wa_node_dup(e);

				if (cp == NULL || wa_node_add_child(m, cp) != 0)
					wa_node_free(cp);
			}
			{
				struct wa_node *cp = sk ? wa_node_dup(sk) : NULL;

				if (cp && wa_node_add_child(m, cp) != 0)
					wa_node_free(cp);
				cp = wa_node_child(msg, "device-identity") ? wa_node_dup(wa_node_child(msg, "device-identity")) : NULL;
				if (cp && wa_node_add_child(m, cp) != 0)
					wa_node_free(cp);
			}
			if (sim_deliver_to(s, ma, ids[k], m) != 0)
				wa_info("sim: group message not delivered to %s:%u", ma->number, ids[k]);
			wa_node_free(m);
		}
	}
	return 0;
}

int sim_group_phash(struct sim_server *s, const char *gjid, char out[11])
{
	struct sim_group *g = group_find(s, gjid);
	size_t n = 0, cap = 0;
	char (*ad)[WA_JID_STR_MAX + 8] = NULL;
	const char **v = NULL;
	int rc = -1;

	if (g == NULL)
		return -1;
	for (size_t i = 0; i < g->nm; i++) {
		cap++;
		for (struct sim_device *d = g->m[i].acc->devices; d; d = d->next)
			cap++;
	}
	ad = calloc(cap ? cap : 1, sizeof *ad);
	v = calloc(cap ? cap : 1, sizeof *v);
	if (ad == NULL || v == NULL)
		goto out;
	for (size_t i = 0; i < g->nm; i++) {
		struct sim_account *ma = g->m[i].acc;

		snprintf(ad[n], sizeof ad[n], "%s.0:0@s.whatsapp.net", ma->number);
		v[n] = ad[n];
		n++;
		for (struct sim_device *d = ma->devices; d && n < cap; d = d->next) {
			snprintf(ad[n], sizeof ad[n], "%s.0:%u@s.whatsapp.net", ma->number, d->id);
			v[n] = ad[n];
			n++;
		}
	}
	rc = wa_phash(v, n, out);
out:
	free(ad);
	free(v);
	return rc;
}

/* ---- admin: act as a phone ---- */

int sim_group_admin_create(struct sim_server *s, struct sim_account *a, const char *subject,
			   const char *const *members, size_t n, char *jid_out, size_t cap, const char **why)
{
	return sim_group_admin_community(s, a, 0, subject, members, n, jid_out, cap, NULL, 0, why);
}

int sim_group_admin_community(struct sim_server *s, struct sim_account *a, int community, const char *subject,
			      const char *const *members, size_t n, char *jid_out, size_t cap, char *sub_out,
			      size_t subcap, const char **why)
{
	struct sim_account *v[SIM_GROUP_MEMBERS_MAX];
	struct sim_group *g;
	size_t k = 0;

	if (subject[0] == '\0' || strlen(subject) > SUBJECT_MAX * 4 || n > SIM_GROUP_MEMBERS_MAX) {
		*why = "bad subject or too many participants";
		return 400;
	}
	for (size_t i = 0; i < n; i++) {
		struct sim_account *m = sim_store_account_find(s->store, members[i][0] == '+' ? members[i] + 1 : members[i]);

		if (m == NULL) {
			*why = "participant is not a phone of this simulator";
			return 404;
		}
		v[k++] = m;
	}
	g = community ? community_new(s, a, subject, v, k) : group_new(s, a, subject, v, k);
	if (g == NULL) {
		*why = "cannot create the group";
		return 500;
	}
	if (community)
		notify_community(s, g, a, 0);
	else
		notify_created(s, g, a, 0);
	snprintf(jid_out, cap, "%s", g->jid);
	if (sub_out && subcap) {
		struct sim_group *sub = community ? default_sub_of(s, g) : NULL;

		snprintf(sub_out, subcap, "%s", sub ? sub->jid : "");
	}
	return 0;
}

int sim_group_admin_link(struct sim_server *s, struct sim_account *a, const char *cjid, int link,
			 const char *const *groups, size_t n, json_t **results, const char **why)
{
	struct sim_group *g = group_find(s, cjid);
	struct sim_member *me;

	*results = NULL;
	if (g == NULL) {
		*why = "no such group";
		return 404;
	}
	me = member(g, a);
	if (!g->parent) {
		*why = "not a community";
		return 400;
	}
	if (me == NULL || me->admin == 0) {
		*why = "not an admin of the community";
		return 403;
	}
	if (n == 0) {
		*why = "groups needed";
		return 400;
	}
	*results = json_object();
	for (size_t i = 0; *results && i < n; i++)
		json_object_set_new(*results, groups[i], json_integer(do_link(s, g, a, 0, groups[i], link)));
	if (*results == NULL) {
		*why = "out of memory";
		return 500;
	}
	return 0;
}

int sim_group_admin_change(struct sim_server *s, struct sim_account *a, const char *gjid, const char *op,
			   const char *const *members, size_t n, const char **why)
{
	struct sim_group *g = group_find(s, gjid);
	struct sim_account *v[SIM_GROUP_MEMBERS_MAX];
	int code[SIM_GROUP_MEMBERS_MAX], rc;

	if (g == NULL) {
		*why = "no such group";
		return 404;
	}
	if (strcmp(op, "subject") == 0) {
		struct wa_node *ch;

		if (n != 1 || members[0][0] == '\0' || strlen(members[0]) > SUBJECT_MAX * 4) {
			*why = "subject needs \"subject\"";
			return 400;
		}
		if (member(g, a) == NULL) {
			*why = "not a member";
			return 403;
		}
		snprintf(g->subject, sizeof g->subject, "%s", members[0]);
		g->s_t = sim_now(s);
		user_jid(a, g->s_o, sizeof g->s_o);
		ch = wa_node_new_attrs("subject", "subject", g->subject, "s_o", g->s_o, NULL);
		if (ch && wa_node_set_attr_uint(ch, "s_t", g->s_t) == 0)
			notify(s, g, a, 0, ch, NULL, 0);
		else
			wa_node_free(ch);
		return 0;
	}
	if (strcmp(op, "leave") == 0) {
		v[0] = a;
		n = 1;
	} else {
		if (n == 0 || n > SIM_GROUP_MEMBERS_MAX) {
			*why = "participants needed";
			return 400;
		}
		for (size_t i = 0; i < n; i++)
			v[i] = sim_store_account_find(s->store, members[i][0] == '+' ? members[i] + 1 : members[i]);
	}
	rc = do_change(s, g, a, 0, op, v, n, code);
	if (rc != 0) {
		*why = rc == 403 ? "not allowed (member / admin)" : "unknown action";
		return rc;
	}
	return 0;
}

int sim_group_admin_setting(struct sim_server *s, struct sim_account *a, const char *gjid, const char *op,
			    const char *arg, char *code_out, size_t cap, const char **why)
{
	struct sim_group *g = group_find(s, gjid);
	struct sim_member *me;
	struct wa_node *child = NULL, *out = NULL;
	int rc;

	code_out[0] = '\0';
	if (g == NULL) {
		*why = "no such group";
		return 404;
	}
	me = member(g, a);
	if (strcmp(op, "invite-code") == 0) {
		if (me == NULL || !me->admin) {
			*why = "only an admin may see the invite code";
			return 403;
		}
		snprintf(code_out, cap, "%s", g->invite);
		return 0;
	}
	if (strcmp(op, "join") == 0) {
		if (arg == NULL || strcmp(arg, g->invite) != 0) {
			*why = "not this group's invite code";
			return 404;
		}
		if (join_group(s, g, a, 0) != 0) {
			*why = "out of memory";
			return 500;
		}
		return 0;
	}
	if (strcmp(op, "description") == 0) {
		uint8_t r[4];
		char id[9];

		if (sim_random(s, r, sizeof r) != 0)
			return 500;
		wa_hex_encode(r, sizeof r, id);
		child = wa_node_new_attrs("description", "id", id, NULL);
		if (child && arg && arg[0]) {
			struct wa_node *b = wa_node_add_new(child, "body");

			if (b == NULL || wa_node_set_bytes(b, arg, strlen(arg)) != 0) {
				wa_node_free(child);
				child = NULL;
			}
		} else if (child && wa_node_set_attr(child, "delete", "true") != 0) {
			wa_node_free(child);
			child = NULL;
		}
	} else if (strcmp(op, "ephemeral") == 0) {
		char *end = NULL;
		unsigned long e = arg ? strtoul(arg, &end, 10) : 0;

		if (arg && (*end != '\0' || end == arg)) {
			*why = "expiration must be a number of seconds";
			return 400;
		}
		child = wa_node_new(e ? "ephemeral" : "not_ephemeral");
		if (child && e && wa_node_set_attr_uint(child, "expiration", e) != 0) {
			wa_node_free(child);
			child = NULL;
		}
	} else if (strcmp(op, "announcement") == 0 || strcmp(op, "not_announcement") == 0 ||
		   strcmp(op, "locked") == 0 || strcmp(op, "unlocked") == 0 || strcmp(op, "invite") == 0) {
		child = wa_node_new(op);
	} else {
		*why = "unknown action";
		return 400;
	}
	if (child == NULL) {
		*why = "out of memory";
		return 500;
	}
	rc = group_setting(s, g, a, 0, child, &out);
	wa_node_free(child);
	if (rc == 0 && out && wa_node_attr(out, "code"))
		snprintf(code_out, cap, "%s", wa_node_attr(out, "code"));
	wa_node_free(out);
	if (rc != 0)
		*why = rc == 403 ? "not allowed (member / admin)" : rc == 400 ? "bad value" : "cannot change the group";
	return rc < 0 ? 500 : rc;
}

/* A JPEG's size from its first SOFn marker; 0 when not found. */
static void jpeg_size(const uint8_t *p, size_t n, unsigned *w, unsigned *h)
{
	size_t i = 2;

	*w = *h = 0;
	while (i + 9 < n && p[i] == 0xFF) {
		uint8_t m = p[i + 1];
		size_t seg = ((size_t)p[i + 2] << 8) | p[i + 3];

		if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
			*h = ((unsigned)p[i + 5] << 8) | p[i + 6];
			*w = ((unsigned)p[i + 7] << 8) | p[i + 8];
			return;
		}
		i += 2 + seg;
	}
}

json_t *sim_group_admin_view(struct sim_server *s, const char *gjid)
{
	struct sim_group *g = group_find(s, gjid);
	json_t *o, *ps;

	if (g == NULL)
		return NULL;
	ps = json_array();
	for (size_t i = 0; ps && i < g->nm; i++)
		json_array_append_new(ps, json_pack("{s:s,s:s?}", "number", g->m[i].acc->number, "admin",
						    g->m[i].admin == 2 ? "superadmin" : g->m[i].admin ? "admin" : NULL));
	o = json_pack("{s:s,s:s,s:s,s:s?,s:b,s:b,s:I,s:s,s:I,s:o}", "jid", g->jid, "subject", g->subject,
		      "subjectOwner", g->s_o, "description", g->desc, "announce", g->announce, "locked", g->locked,
		      "ephemeral", (json_int_t)g->ephemeral, "inviteCode", g->invite, "pictureId",
		      (json_int_t)(g->pic ? g->pic_id : 0), "participants", ps ? ps : json_array());
	if (o) {
		struct sim_groups *gs = table(s);
		json_t *subs = g->parent ? json_array() : NULL;

		for (struct sim_group *x = subs && gs ? gs->list : NULL; x; x = x->next)
			if (strcmp(x->linked, g->jid) == 0)
				json_array_append_new(subs, json_string(x->jid));
		json_object_set_new(o, "isCommunity", json_boolean(g->parent));
		json_object_set_new(o, "isCommunityAnnounce", json_boolean(g->default_sub));
		json_object_set_new(o, "linkedParent", g->linked[0] ? json_string(g->linked) : json_null());
		if (subs)
			json_object_set_new(o, "subGroups", subs);
	}
	if (o && g->pic) {
		unsigned w, h;

		jpeg_size(g->pic, g->pic_len, &w, &h);
		json_object_set_new(o, "picture", json_pack("{s:I,s:i,s:i}", "bytes", (json_int_t)g->pic_len,
							    "width", (int)w, "height", (int)h));
	}
	return o;
}

/* ---- group picture (xmlns="w:profile:picture" with target=<group>) ---- */

int sim_group_picture_set(struct sim_server *s, struct sim_account *a, uint16_t dev, const char *gjid,
			  const uint8_t *jpeg, size_t len, uint64_t *id_out)
{
	struct sim_group *g = group_find(s, gjid);
	struct sim_member *me;
	struct wa_node *ch;
	uint8_t *copy = NULL;
	char aj[WA_JID_STR_MAX];

	if (g == NULL)
		return 404;
	me = member(g, a);
	if (me == NULL || me->admin == 0) /* only admins change the picture */
		return 403;
	if (len > SIM_PICTURE_MAX)
		return 406;
	if (jpeg != NULL && len > 0) {
		copy = malloc(len);
		if (copy == NULL)
			return 500;
		memcpy(copy, jpeg, len);
	}
	free(g->pic);
	g->pic = copy;
	g->pic_len = copy ? len : 0;
	if (copy)
		g->pic_id = sim_now(s) * 1000 + (++s->seq % 1000); /* new id on every change */
	if (id_out)
		*id_out = copy ? g->pic_id : 0;
	user_jid(a, aj, sizeof aj);
	/* <set jid=group id author/> / <delete jid=group author/> (§8.6) */
	ch = wa_node_new_attrs(copy ? "set" : "delete", "jid", g->jid, "author", aj, NULL);
	if (ch && copy && wa_node_set_attr_uint(ch, "id", g->pic_id) != 0) {
		wa_node_free(ch);
		ch = NULL;
	}
	if (ch)
		notify_typed(s, g, "picture", a, dev, ch, NULL, 0);
	else
		wa_debug("sim: group picture notification not built for %s", g->jid);
	return 0;
}

int sim_group_picture_get(struct sim_server *s, const struct sim_account *a, const char *gjid,
			  const uint8_t **jpeg, size_t *len, uint64_t *id)
{
	struct sim_group *g = group_find(s, gjid);

	if (g == NULL)
		return 404;
	if (member(g, a) == NULL)
		return 401;
	if (g->pic == NULL)
		return 404;
	*jpeg = g->pic;
	*len = g->pic_len;
	*id = g->pic_id;
	return 0;
}
