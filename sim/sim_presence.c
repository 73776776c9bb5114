/* sim_presence: presence and chat state (docs/protocol.md 11.8), about text and
 * profile picture (11.9), blocklist (11.10). Contract in sim_state.h.
 *
 * Presence is not queued: a subscriber that is offline misses it, as on
 * the real network (it gets the current state when it subscribes again).
 * Chat state goes to the target's online companions only. */
#include "sim_state.h"
#include "sim_msg.h"
#include "sim_media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "wa/jid.h"
#include "wa_log.h"

/* Send n to device (a, dev) only when it is online (no offline queue). */
static void send_live(struct sim_server *s, struct sim_account *a, uint16_t dev, struct wa_node *n)
{
	struct sim_device *d = dev ? sim_account_device(a, dev) : NULL;

	(void)s;
	if (d != NULL && d->conn != NULL && d->conn->state == SIM_CONN_READY)
		(void)sim_conn_send_node(d->conn, n);
}

/* <presence from="<a>@s.whatsapp.net" [type="unavailable" last="<t>"]/> */
static struct wa_node *presence_of(struct sim_server *s, struct sim_account *a, int deny)
{
	struct sim_acstate *st = sim_acstate_get(s, a);
	char from[WA_JID_STR_MAX];
	struct wa_node *n;

	if (st == NULL)
		return NULL;
	snprintf(from, sizeof from, "%s@s.whatsapp.net", a->number);
	n = wa_node_new_attrs("presence", "from", from, NULL);
	if (n == NULL)
		return NULL;
	if (deny || !st->available) {
		if (wa_node_set_attr(n, "type", "unavailable") != 0 ||
		    (deny ? wa_node_set_attr(n, "last", "deny")
			  : st->last_seen ? wa_node_set_attr_uint(n, "last", st->last_seen) : 0) != 0) {
			wa_node_free(n);
			return NULL;
		}
	}
	return n;
}

static void broadcast_presence(struct sim_server *s, struct sim_account *a)
{
	struct sim_acstate *st = sim_acstate_get(s, a);

	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nsubs; i++) {
		struct sim_account *sub = sim_store_account_find(s->store, st->subs[i].number);
		struct wa_node *n;

		if (sub == NULL)
			continue;
		n = presence_of(s, a, sim_is_blocked(s, a, sub->number));
		if (n)
			send_live(s, sub, st->subs[i].dev, n);
		wa_node_free(n);
	}
}

int sim_presence_set(struct sim_server *s, struct sim_account *a, int available)
{
	struct sim_acstate *st = sim_acstate_get(s, a);

	if (st == NULL)
		return -1;
	if (st->available && !available)
		st->last_seen = sim_now(s);
	st->available = available;
	broadcast_presence(s, a);
	return 0;
}

static struct sim_account *target_of(struct sim_server *s, const struct wa_node *n, const char *attr)
{
	struct wa_jid j;

	if (wa_node_attr_jid(n, attr, &j) != 0)
		return NULL;
	return sim_resolve_user(s, &j, NULL);
}

int sim_node_presence(struct sim_conn *c, struct wa_node *n)
{
	struct sim_server *s = c->srv;
	const char *type = wa_node_attr(n, "type"), *name = wa_node_attr(n, "name");
	struct sim_account *t;

	if (type == NULL || strcmp(type, "available") == 0 || strcmp(type, "unavailable") == 0) {
		if (name != NULL && name[0] != '\0')
			snprintf(c->acc->push_name, sizeof c->acc->push_name, "%s", name);
		return sim_presence_set(s, c->acc, type == NULL || strcmp(type, "available") == 0) == 0 ? 0 : -1;
	}
	if (strcmp(type, "subscribe") == 0 && (t = target_of(s, n, "to")) != NULL) {
		struct sim_acstate *st = sim_acstate_get(s, t);
		struct wa_node *now;
		size_t i;

		if (st == NULL)
			return -1;
		for (i = 0; i < st->nsubs; i++)
			if (st->subs[i].dev == c->dev->id && strcmp(st->subs[i].number, c->acc->number) == 0)
				break;
		if (i == st->nsubs && st->nsubs < SIM_SUBS_MAX) {
			struct sim_sub *ns = realloc(st->subs, (st->nsubs + 1) * sizeof *ns);

			if (ns == NULL)
				return -1;
			st->subs = ns;
			snprintf(ns[st->nsubs].number, sizeof ns[st->nsubs].number, "%s", c->acc->number);
			ns[st->nsubs++].dev = c->dev->id;
		}
		/* the subscriber learns the current state at once */
		now = presence_of(s, t, sim_is_blocked(s, t, c->acc->number));
		if (now)
			(void)sim_conn_send_node(c, now);
		wa_node_free(now);
	}
	return 0; /* unsubscribe / unknown targets: nothing to do */
}

/* <chatstate from=<sender> [participant]><composing [media]/>|<paused/></chatstate>
 * to every online companion of `to` (a user), or of every member of a group. */
static int relay_chatstate(struct sim_server *s, struct sim_account *from, const char *to, const struct wa_node *st)
{
	struct wa_jid j;
	struct sim_account *peer, *members[SIM_GROUP_MEMBERS_MAX];
	char fj[WA_JID_STR_MAX];
	struct wa_node *out;
	int nm = 0, group;

	if (to == NULL || wa_jid_parse(to, &j, NULL) != 0)
		return -1;
	group = wa_jid_is_group(&j);
	snprintf(fj, sizeof fj, "%s@s.whatsapp.net", from->number);
	if (group) {
		nm = sim_group_members(s, to, members, SIM_GROUP_MEMBERS_MAX);
		if (nm < 0)
			return -1;
	} else {
		peer = sim_resolve_user(s, &j, NULL);
		if (peer == NULL)
			return -1;
		if (sim_is_blocked(s, peer, from->number))
			return 0; /* dropped quietly */
		members[0] = peer;
		nm = 1;
	}
	out = wa_node_new_attrs("chatstate", "from", group ? to : fj, "participant", group ? fj : NULL, NULL);
	if (out == NULL || wa_node_add_child(out, wa_node_dup(st)) != 0) {
		wa_node_free(out);
		return -1;
	}
	for (int i = 0; i < nm; i++) {
		struct sim_acstate *ms;

		if (members[i] == from)
			continue;
		for (struct sim_device *d = members[i]->devices; d; d = d->next)
			send_live(s, members[i], d->id, out);
		/* the phone shows it too: kept for the admin view */
		if ((ms = sim_acstate_get(s, members[i])) != NULL) {
			struct sim_heard *h = &ms->heard[ms->nheard++ % SIM_HEARD_MAX];

			snprintf(h->from, sizeof h->from, "%s", from->number);
			snprintf(h->chat, sizeof h->chat, "%s", group ? to : fj);
			snprintf(h->state, sizeof h->state, "%s",
				 strcmp(st->tag, "paused") == 0 ? "paused"
				 : wa_node_attr_is(st, "media", "audio") ? "recording" : "composing");
			h->t = sim_now(s);
		}
	}
	wa_node_free(out);
	return 0;
}

int sim_node_chatstate(struct sim_conn *c, struct wa_node *n)
{
	struct wa_node *st = wa_node_child_at(n, 0);

	if (st == NULL || (strcmp(st->tag, "composing") != 0 && strcmp(st->tag, "paused") != 0))
		return 0;
	(void)relay_chatstate(c->srv, c->acc, wa_node_attr(n, "to"), st);
	return 0;
}

int sim_chatstate_phone(struct sim_server *s, struct sim_account *a, const char *to, const char *state)
{
	struct wa_node *st;
	char jid[WA_JID_STR_MAX];
	int rc;

	if (state == NULL || to == NULL)
		return -1;
	if (strchr(to, '@') == NULL)
		snprintf(jid, sizeof jid, "%s@s.whatsapp.net", to);
	else
		snprintf(jid, sizeof jid, "%s", to);
	if (strcmp(state, "recording") == 0)
		st = wa_node_new_attrs("composing", "media", "audio", NULL);
	else if (strcmp(state, "composing") == 0 || strcmp(state, "paused") == 0)
		st = wa_node_new(state);
	else
		return -1;
	if (st == NULL)
		return -1;
	rc = relay_chatstate(s, a, jid, st);
	wa_node_free(st);
	return rc;
}

/* ---- about (xmlns="status") ---- */

int sim_iq_status(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct sim_phone *p = sim_phone_get(c->srv, c->acc);

	if (p == NULL)
		return sim_conn_iq_error(c, iq, 500, "internal-server-error") == 0 ? 0 : -1;
	if (wa_node_attr_is(iq, "type", "get")) {
		/* status privacy (11.10): everyone's contacts, the default */
		struct wa_node *pr = wa_node_new("privacy"), *l;

		if (pr == NULL || (l = wa_node_add_new(pr, "list")) == NULL || wa_node_set_attr(l, "type", "contacts") ||
		    wa_node_set_attr(l, "default", "true") || sim_conn_iq_result(c, iq, pr) != 0) {
			wa_node_free(pr);
			return -1;
		}
		return 0;
	}
	if (child == NULL || strcmp(child->tag, "status") != 0)
		return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
	{
		size_t len = 0;
		const uint8_t *t = wa_node_content(child, &len);
		char buf[1024];

		size_t chars = 0;

		if (len >= sizeof buf)
			return sim_conn_iq_error(c, iq, 406, "not-acceptable") == 0 ? 0 : -1;
		if (t != NULL)
			memcpy(buf, t, len);
		buf[len] = '\0';
		for (size_t i = 0; i < len; i++)
			chars += ((unsigned char)buf[i] & 0xC0) != 0x80;
		if (chars > 139) /* WhatsApp's limit on the about (inferred: the app stops at 139) */
			return sim_conn_iq_error(c, iq, 406, "not-acceptable") == 0 ? 0 : -1;
		if (sim_phone_set_about(p, buf) != 0)
			return sim_conn_iq_error(c, iq, 500, "internal-server-error") == 0 ? 0 : -1;
	}
	return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
}

/* ---- profile picture (xmlns="w:profile:picture") ---- */

int sim_picture_set(struct sim_server *s, struct sim_account *a, const uint8_t *jpeg, size_t len)
{
	struct sim_acstate *st = sim_acstate_get(s, a);
	uint8_t *copy = NULL;

	if (st == NULL || len > SIM_PICTURE_MAX)
		return -1;
	if (jpeg != NULL && len > 0) {
		copy = malloc(len);
		if (copy == NULL)
			return -1;
		memcpy(copy, jpeg, len);
	}
	free(st->picture);
	st->picture = copy;
	st->picture_len = copy ? len : 0;
	if (copy)
		st->picture_id = sim_now(s) * 1000 + (++s->seq % 1000); /* new id on every change */
	return 0;
}

/* The error reply for an HTTP-like status from the group picture calls. */
static int picture_err(struct sim_conn *c, struct wa_node *iq, int st)
{
	const char *text = st == 404 ? "item-not-found" : st == 403 ? "forbidden" : st == 401 ? "not-authorized"
			 : st == 406 ? "not-acceptable" : "internal-server-error";

	return sim_conn_iq_error(c, iq, st, text) == 0 ? 0 : -1;
}

/* <picture id url direct_path type/> for a stored picture (a fresh media
 * path per get), or <picture status="304"/> when the asked id is current. */
static int picture_reply(struct sim_conn *c, struct wa_node *iq, struct wa_node *child, const uint8_t *jpeg,
			 size_t len, uint64_t id)
{
	const char *known = child ? wa_node_attr(child, "id") : NULL;
	struct wa_node *r;
	char dpath[512], url[700];

	if (sim_media_host() == NULL)
		return sim_conn_iq_error(c, iq, 404, "item-not-found") == 0 ? 0 : -1;
	r = wa_node_new("picture");
	if (r == NULL)
		return -1;
	if (known != NULL && strtoull(known, NULL, 10) == id) {
		if (wa_node_set_attr(r, "status", "304") != 0 || sim_conn_iq_result(c, iq, r) != 0)
			goto fail;
		return 0;
	}
	/* served by the media host as a plain (unencrypted) file */
	if (sim_media_put(jpeg, len, "image", dpath, sizeof dpath) != 0)
		goto fail;
	snprintf(url, sizeof url, "https://%s%s", sim_media_host(), dpath);
	if (wa_node_set_attr_uint(r, "id", id) != 0 || wa_node_set_attr(r, "url", url) != 0 ||
	    wa_node_set_attr(r, "direct_path", dpath) != 0 ||
	    wa_node_set_attr(r, "type", child ? wa_node_attr_or(child, "type", "image") : "image") != 0 ||
	    sim_conn_iq_result(c, iq, r) != 0)
		goto fail;
	return 0;
fail:
	wa_node_free(r);
	return -1;
}

/* target=<group>@g.us: the group's picture (sim_groups.c keeps it). */
static int group_picture(struct sim_conn *c, struct wa_node *iq, struct wa_node *child, const char *gjid)
{
	struct sim_server *s = c->srv;
	const uint8_t *d;
	size_t len = 0;
	uint64_t id = 0;
	int st;

	if (wa_node_attr_is(iq, "type", "set")) {
		struct wa_node *r;

		d = child ? wa_node_content(child, &len) : NULL;
		/* a picture that is not a JPEG: 406 not-acceptable (WM's
		 * ErrInvalidImageFormat) */
		if (d && len > 0 && (len < 2 || d[0] != 0xFF || d[1] != 0xD8))
			return picture_err(c, iq, 406);
		st = sim_group_picture_set(s, c->acc, c->dev->id, gjid, d, len, &id);
		if (st != 0)
			return picture_err(c, iq, st);
		if (id == 0)
			return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
		r = wa_node_new("picture");
		if (r == NULL || wa_node_set_attr_uint(r, "id", id) != 0 || sim_conn_iq_result(c, iq, r) != 0) {
			wa_node_free(r);
			return -1;
		}
		return 0;
	}
	st = sim_group_picture_get(s, c->acc, gjid, &d, &len, &id);
	if (st != 0)
		return picture_err(c, iq, st);
	return picture_reply(c, iq, child, d, len, id);
}

int sim_iq_picture(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct sim_server *s = c->srv;
	struct sim_account *t = c->acc;
	struct wa_jid gj;

	if (wa_node_attr_jid(iq, "target", &gj) == 0 && wa_jid_is_group(&gj))
		return group_picture(c, iq, child, wa_node_attr(iq, "target"));
	if (wa_node_attr(iq, "target") != NULL && (t = target_of(s, iq, "target")) == NULL)
		return sim_conn_iq_error(c, iq, 404, "item-not-found") == 0 ? 0 : -1;
	if (wa_node_attr_is(iq, "type", "set")) {
		size_t len = 0;
		const uint8_t *d = child ? wa_node_content(child, &len) : NULL;
		struct wa_node *r;

		if (t != c->acc) /* only the own picture (groups: group_picture) */
			return sim_conn_iq_error(c, iq, 403, "forbidden") == 0 ? 0 : -1;
		if (len > SIM_PICTURE_MAX)
			return sim_conn_iq_error(c, iq, 406, "not-acceptable") == 0 ? 0 : -1;
		if (sim_picture_set(s, t, d, len) != 0)
			return sim_conn_iq_error(c, iq, 500, "internal-server-error") == 0 ? 0 : -1;
		if (d == NULL || len == 0)
			return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
		r = wa_node_new("picture");
		if (r == NULL || wa_node_set_attr_uint(r, "id", t->state->picture_id) != 0 || sim_conn_iq_result(c, iq, r) != 0) {
			wa_node_free(r);
			return -1;
		}
		return 0;
	}
	{
		struct sim_acstate *st = sim_acstate_get(s, t);

		if (st == NULL)
			return -1;
		if (st->picture == NULL || sim_is_blocked(s, t, c->acc->number))
			return sim_conn_iq_error(c, iq, 404, "item-not-found") == 0 ? 0 : -1;
		return picture_reply(c, iq, child, st->picture, st->picture_len, st->picture_id);
	}
}

/* ---- blocklist (xmlns="blocklist") ---- */

int sim_is_blocked(struct sim_server *s, struct sim_account *a, const char *number)
{
	struct sim_acstate *st = a ? a->state : NULL;

	(void)s;
	if (st == NULL || number == NULL)
		return 0;
	for (size_t i = 0; i < st->nblocked; i++)
		if (strcmp(st->blocked[i], number) == 0)
			return 1;
	return 0;
}

int sim_block_set(struct sim_server *s, struct sim_account *a, const char *number, int block)
{
	struct sim_acstate *st = sim_acstate_get(s, a);

	if (st == NULL || number == NULL || strlen(number) > SIM_NUMBER_MAX)
		return -1;
	for (size_t i = 0; i < st->nblocked; i++) {
		if (strcmp(st->blocked[i], number) == 0) {
			if (!block) {
				memmove(&st->blocked[i], &st->blocked[i + 1], (st->nblocked - i - 1) * sizeof st->blocked[0]);
				st->nblocked--;
			}
			return 0;
		}
	}
	if (!block)
		return 0;
	if (st->nblocked >= SIM_BLOCK_MAX)
		return -1;
	{
		char (*nb)[SIM_NUMBER_MAX + 1] = realloc(st->blocked, (st->nblocked + 1) * sizeof *nb);

		if (nb == NULL)
			return -1;
		st->blocked = nb;
		snprintf(nb[st->nblocked++], SIM_NUMBER_MAX + 1, "%s", number);
	}
	return 0;
}

static struct wa_node *block_list(struct sim_server *s, struct sim_account *a)
{
	struct sim_acstate *st = sim_acstate_get(s, a);
	struct wa_node *l = wa_node_new("list"), *it;
	char jid[WA_JID_STR_MAX];

	if (st == NULL || l == NULL) {
		wa_node_free(l);
		return NULL;
	}
	for (size_t i = 0; i < st->nblocked; i++) {
		snprintf(jid, sizeof jid, "%s@s.whatsapp.net", st->blocked[i]);
		if ((it = wa_node_add_new(l, "item")) == NULL || wa_node_set_attr(it, "jid", jid) != 0) {
			wa_node_free(l);
			return NULL;
		}
	}
	return l;
}

/* <notification type="account_sync"><blocklist><item jid action/></blocklist></notification>
 * to the other companions of a (8.6). */
static void notify_block(struct sim_server *s, struct sim_account *a, uint16_t skip, const char *number, int block)
{
	char jid[WA_JID_STR_MAX], id[32];

	snprintf(jid, sizeof jid, "%s@s.whatsapp.net", number);
	for (struct sim_device *d = a->devices; d; d = d->next) {
		struct wa_node *n, *it;

		if (d->id == skip)
			continue;
		snprintf(id, sizeof id, "%llu", (unsigned long long)++s->seq);
		n = wa_node_new_attrs("notification", "from", "s.whatsapp.net", "type", "account_sync", "id", id, NULL);
		if (n == NULL || wa_node_set_attr_uint(n, "t", sim_now(s)) != 0 ||
		    (it = wa_node_add_new(wa_node_add_new(n, "blocklist"), "item")) == NULL ||
		    wa_node_set_attr(it, "jid", jid) != 0 || wa_node_set_attr(it, "action", block ? "block" : "unblock") != 0 ||
		    sim_deliver(s, d, n) != 0)
			wa_debug("sim: account_sync notification not delivered");
		wa_node_free(n);
	}
}

int sim_block_phone(struct sim_server *s, struct sim_account *a, const char *number, int block)
{
	if (sim_block_set(s, a, number, block) != 0)
		return -1;
	notify_block(s, a, 0, number, block); /* device 0 is the phone: every companion is told */
	return 0;
}

int sim_iq_blocklist(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct sim_server *s = c->srv;
	struct wa_node *l;

	if (wa_node_attr_is(iq, "type", "set")) {
		const char *action = child ? wa_node_attr(child, "action") : NULL;
		struct sim_account *t;
		int block;

		if (child == NULL || strcmp(child->tag, "item") != 0 || action == NULL ||
		    (strcmp(action, "block") != 0 && strcmp(action, "unblock") != 0))
			return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
		block = strcmp(action, "block") == 0;
		t = target_of(s, child, "jid");
		if (t == NULL && wa_node_attr(child, "pn_jid"))
			t = target_of(s, child, "pn_jid");
		if (t == NULL)
			return sim_conn_iq_error(c, iq, 404, "item-not-found") == 0 ? 0 : -1;
		if (sim_block_set(s, c->acc, t->number, block) != 0)
			return sim_conn_iq_error(c, iq, 500, "internal-server-error") == 0 ? 0 : -1;
		notify_block(s, c->acc, c->dev->id, t->number, block);
	}
	l = block_list(s, c->acc);
	if (l == NULL || sim_conn_iq_result(c, iq, l) != 0) {
		wa_node_free(l);
		return -1;
	}
	return 0;
}

/* ---- privacy, abt, disappearing_mode (11.10) ---- */

static const char *const privacy_names[10] = { "last", "online", "profile", "status", "readreceipts",
					       "groupadd", "calladd", "messages", "defense", "stickers" };
/* what a fresh account has (inferred: WhatsApp's defaults for a new user) */
static const char *const privacy_defaults[10] = { "all", "all", "all", "contacts", "all",
						  "all", "all", "all", "off", "all" };
static const char *const privacy_values[] = { "all", "contacts", "contact_allowlist", "contact_blacklist",
					      "match_last_seen", "known", "none", "on_standard", "off", NULL };

static const char *privacy_value(const struct sim_acstate *st, int i)
{
	return st->privacy[i][0] ? st->privacy[i] : privacy_defaults[i];
}

/* <privacy><category name value/>…</privacy>; only category `only` when >= 0. */
static struct wa_node *privacy_node(const struct sim_acstate *st, int only)
{
	struct wa_node *p = wa_node_new("privacy"), *c;

	for (int i = 0; p != NULL && i < 10; i++) {
		if (only >= 0 && i != only)
			continue;
		if ((c = wa_node_add_new(p, "category")) == NULL || wa_node_set_attr(c, "name", privacy_names[i]) != 0 ||
		    wa_node_set_attr(c, "value", privacy_value(st, i)) != 0) {
			wa_node_free(p);
			return NULL;
		}
	}
	return p;
}

int sim_iq_privacy(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct sim_server *s = c->srv;
	struct sim_acstate *st = sim_acstate_get(s, c->acc);
	struct wa_node *out;
	int changed = -1;

	if (st == NULL)
		return -1;
	if (child == NULL || strcmp(child->tag, "privacy") != 0) /* tokens etc.: accepted, not modelled */
		return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
	if (wa_node_attr_is(iq, "type", "set")) {
		struct wa_node *cat = wa_node_child(child, "category");
		const char *name = wa_node_attr(cat, "name"), *value = wa_node_attr(cat, "value");
		int i, ok = 0;

		for (i = 0; name && i < 10 && strcmp(privacy_names[i], name) != 0; i++)
			;
		for (int v = 0; value && privacy_values[v]; v++)
			ok |= strcmp(privacy_values[v], value) == 0;
		if (name == NULL || i == 10 || !ok)
			return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
		snprintf(st->privacy[i], sizeof st->privacy[i], "%s", value);
		changed = i;
	}
	out = privacy_node(st, changed);
	if (out == NULL || sim_conn_iq_result(c, iq, out) != 0) {
		wa_node_free(out);
		return -1;
	}
	if (changed >= 0) { /* the other companions learn it (8.6 account_sync) */
		for (struct sim_device *d = c->acc->devices; d; d = d->next) {
			struct wa_node *n;
			char id[32];

			if (d->id == c->dev->id)
				continue;
			snprintf(id, sizeof id, "%llu", (unsigned long long)++s->seq);
			n = wa_node_new_attrs("notification", "from", "s.whatsapp.net", "type", "account_sync", "id", id, NULL);
			if (n == NULL || wa_node_set_attr_uint(n, "t", sim_now(s)) != 0 ||
			    wa_node_add_child(n, privacy_node(st, changed)) != 0 || sim_deliver(s, d, n) != 0)
				wa_debug("sim: account_sync privacy notification not delivered");
			wa_node_free(n);
		}
	}
	return 0;
}

/* <iq xmlns="abt" type="get"><props protocol="1"/></iq>: no A/B props are
 * set on this network; the answer is an empty <props> with a hash. */
int sim_iq_abt(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct wa_node *p = wa_node_new_attrs("props", "protocol", "1", "hash", "sim-0", NULL);

	(void)child;
	if (p == NULL || sim_conn_iq_result(c, iq, p) != 0) {
		wa_node_free(p);
		return -1;
	}
	return 0;
}

/* <iq xmlns="disappearing_mode" type="set"><disappearing_mode duration/></iq> */
int sim_iq_disappearing(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct sim_acstate *st = sim_acstate_get(c->srv, c->acc);
	unsigned long long d = 0;

	if (st == NULL)
		return -1;
	if (child == NULL || wa_node_attr_uint(child, "duration", &d) != 0 || d > 365ull * 86400)
		return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
	st->disappearing = (uint32_t)d;
	return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
}

char *sim_state_summary(struct sim_server *s, struct sim_account *a)
{
	struct sim_acstate *st = sim_acstate_get(s, a);
	json_t *o, *subs, *bl;
	char *txt;

	if (st == NULL)
		return NULL;
	subs = json_array();
	bl = json_array();
	for (size_t i = 0; i < st->nsubs; i++)
		json_array_append_new(subs, json_pack("{s:s, s:i}", "number", st->subs[i].number, "device", st->subs[i].dev));
	for (size_t i = 0; i < st->nblocked; i++)
		json_array_append_new(bl, json_string(st->blocked[i]));
	{
		json_t *heard = json_array();
		size_t n = st->nheard < SIM_HEARD_MAX ? st->nheard : SIM_HEARD_MAX;
		struct sim_phone *ph = sim_phone_get(s, a);

		for (size_t i = st->nheard - n; i < st->nheard; i++) {
			const struct sim_heard *h = &st->heard[i % SIM_HEARD_MAX];

			json_array_append_new(heard, json_pack("{s:s, s:s, s:s, s:I}", "from", h->from, "chat", h->chat,
							       "state", h->state, "t", (json_int_t)h->t));
		}
		o = json_pack("{s:s, s:b, s:I, s:o, s:o, s:b, s:I, s:b, s:I, s:o, s:s}", "pushName", a->push_name,
			      "available", st->available, "lastSeen", (json_int_t)st->last_seen, "subscribers", subs,
			      "blocked", bl, "picture", st->picture != NULL, "pictureId", (json_int_t)st->picture_id,
			      "appStateKey", st->has_key, "disappearingSeconds", (json_int_t)st->disappearing,
			      "chatstates", heard, "about", ph ? sim_phone_about(ph) : "");
	}
	if (o != NULL) {
		json_t *pv = json_object();

		for (int i = 0; i < 10; i++)
			json_object_set_new(pv, privacy_names[i], json_string(privacy_value(st, i)));
		json_object_set_new(o, "privacy", pv);
	}
	txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return txt;
}
