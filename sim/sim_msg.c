/* sim_msg: message and receipt relay (docs/protocol.md §7.4, §8.2-8.5, §13.5).
 *
 * A <message> from a device lists the recipient devices under
 * <participants>; each listed device gets its own <message from="<sender
 * device>" id t type notify [recipient]> with its <enc> (plus the sender's
 * <device-identity>), now when online, else through the offline queue.
 * Phones (device 0) take their copy directly (sim_phone_receive). The
 * sender gets <ack class="message" id from="<to>" t/> before anything the
 * delivery makes for it (the phones' receipts are made during the relay,
 * so the sender's connection is corked until the ack). Receipts go to every
 * device of the account they are addressed to (retry receipts only to the
 * device named), and are acked.
 *
 * What a companion is given is kept (sim_conn.c, sim_store.h) until it
 * answers: a receipt from it, or its <ack class="message">, naming the
 * message's id and from (and participant) ends that (sim_unanswered_answer). */
#include "sim_msg.h"
#include "sim_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_log.h"

/* what a device keeps must hold every id and JID a stanza may carry */
_Static_assert(SIM_STANZA_ID_MAX >= WA_MSGID_MAX, "SIM_STANZA_ID_MAX too small");
_Static_assert(SIM_JID_MAX >= WA_JID_STR_MAX, "SIM_JID_MAX too small");

void sim_device_jid(const struct sim_account *a, uint16_t dev, char *buf, size_t cap)
{
	struct wa_jid j;

	if (wa_jid_make_ad(&j, a->number, dev, WA_SERVER_USER) != 0 || wa_jid_format(&j, buf, cap) < 0)
		snprintf(buf, cap, "%s", "");
}

int sim_deliver_to(struct sim_server *s, struct sim_account *a, uint16_t dev, struct wa_node *n)
{
	struct sim_device *d;

	if (strcmp(n->tag, "message") == 0 &&
	    sim_phone_drop_matches(sim_phone_get(s, a), wa_node_attr_or(n, "participant", wa_node_attr(n, "from"))) &&
	    sim_phone_drop_take(sim_phone_get(s, a))) {
		wa_info("sim: fault: message %s to %s:%u dropped", wa_node_attr_or(n, "id", "-"), a->number, dev);
		return 0;
	}
	if (dev == 0) {
		if (strcmp(n->tag, "message") == 0)
			return sim_phone_receive(s, a, n);
		if (strcmp(n->tag, "receipt") == 0)
			return sim_phone_on_receipt(s, a, n);
		return 0; /* notifications etc.: the phone needs none of them */
	}
	d = sim_account_device(a, dev);
	if (d == NULL)
		return -1;
	return sim_deliver(s, d, n);
}

struct wa_node *sim_ack_node(struct sim_server *s, const char *cls, const struct wa_node *n, const char *from,
			     const char *error)
{
	struct wa_node *ack = wa_node_new_attrs("ack", "class", cls, "id", wa_node_attr(n, "id"), "from", from, NULL);

	if (ack == NULL)
		return NULL;
	if ((strcmp(cls, "message") != 0 && wa_node_set_attr(ack, "type", wa_node_attr(n, "type")) != 0) ||
	    wa_node_set_attr_uint(ack, "t", sim_now(s)) != 0 || wa_node_set_attr(ack, "error", error) != 0) {
		wa_node_free(ack);
		return NULL;
	}
	return ack;
}

int sim_send_ack(struct sim_conn *c, const char *cls, const struct wa_node *n, const char *from,
		 const char *error)
{
	struct wa_node *ack = sim_ack_node(c->srv, cls, n, from, error);
	int rc = ack ? sim_conn_send_node(c, ack) : -1;

	wa_node_free(ack);
	return rc;
}

/* The stanza a recipient device gets: attributes of the original, with
 * from = the sender device. by_lid (a 1:1 message addressed to a LID): as
 * WhatsApp delivers it, from the sender's LID device, addressing_mode="lid"
 * and the sender's number in sender_pn (what whatsmeow and Baileys read
 * as the sender's alternate JID). */
static struct wa_node *relayed(struct sim_server *s, const struct wa_node *in, const struct sim_account *a,
			       uint16_t dev, int by_lid)
{
	char from[WA_JID_STR_MAX], pn[WA_JID_STR_MAX];
	struct wa_node *m;
	struct wa_jid lj;
	static const char *const copy[] = { "id", "type", "edit", "category", "addressing_mode", NULL };

	if (!by_lid)
		sim_device_jid(a, dev, from, sizeof from);
	else if (wa_jid_make_ad(&lj, a->lid, dev, WA_SERVER_LID) != 0 || wa_jid_format(&lj, from, sizeof from) < 0)
		return NULL;
	m = wa_node_new_attrs("message", "from", from, NULL);
	if (m == NULL)
		return NULL;
	for (int i = 0; copy[i]; i++)
		if (wa_node_set_attr(m, copy[i], wa_node_attr(in, copy[i])) != 0)
			goto fail;
	if (wa_node_set_attr_uint(m, "t", sim_now(s)) != 0 || wa_node_set_attr(m, "notify", a->push_name) != 0)
		goto fail;
	if (by_lid) {
		snprintf(pn, sizeof pn, "%s@s.whatsapp.net", a->number);
		if (wa_node_set_attr(m, "addressing_mode", "lid") || wa_node_set_attr(m, "sender_pn", pn))
			goto fail;
	}
	return m;
fail:
	wa_node_free(m);
	return NULL;
}

/* Append copies of in's children tagged tag. */
static int copy_children(struct wa_node *dst, const struct wa_node *src, const char *tag)
{
	struct wa_node *ch = NULL, *d;

	while ((ch = wa_node_next(src, tag, ch)) != NULL) {
		d = wa_node_dup(ch);
		if (d == NULL || wa_node_add_child(dst, d) != 0) {
			wa_node_free(d);
			return -1;
		}
	}
	return 0;
}

static int relay_user(struct sim_server *s, struct sim_account *a, uint16_t dev, struct wa_node *n,
		      const struct wa_jid *to, const char **err)
{
	struct sim_account *peer;
	struct wa_node *parts = wa_node_child(n, "participants"), *t = NULL;
	char chat[WA_JID_STR_MAX];
	uint16_t todev = 0;
	int delivered = 0;

	peer = sim_resolve_user(s, to, &todev);
	if (peer == NULL) {
		*err = "404"; /* no such account (inferred code) */
		return -1;
	}
	if (peer != a && sim_is_blocked(s, peer, a->number)) {
		*err = "403"; /* the recipient blocked the sender (simstate; code inferred) */
		return -1;
	}
	{
		struct wa_jid cj = *to;

		wa_jid_to_non_ad(&cj);
		wa_jid_format(&cj, chat, sizeof chat);
	}
	if (parts == NULL) {
		/* a single <enc>: peer message to the own phone (category="peer"),
		 * or a retry re-send to one device (to = device JID) */
		struct wa_node *m;
		int rc;

		if (wa_node_child(n, "enc") == NULL) {
			*err = "479";
			return -1;
		}
		if (peer == a && todev == dev) {
			*err = "479";
			return -1;
		}
		if (!sim_device_exists(peer, todev)) {
			*err = "404";
			return -1;
		}
		m = relayed(s, n, a, dev, wa_jid_is_lid(to));
		if (m == NULL || (peer == a && wa_node_set_attr(m, "recipient", wa_node_attr(n, "recipient")) != 0) ||
		    copy_children(m, n, "enc") || copy_children(m, n, "device-identity") || copy_children(m, n, "meta")) {
			wa_node_free(m);
			return -1;
		}
		rc = sim_deliver_to(s, peer, todev, m);
		wa_node_free(m);
		return rc == 0 ? 0 : -1;
	}
	while ((t = wa_node_next(parts, "to", t)) != NULL) {
		struct wa_jid dj;
		struct sim_account *ta;
		uint16_t tdev = 0;
		struct wa_node *m;

		if (wa_node_attr_jid(t, "jid", &dj) != 0 || (ta = sim_resolve_user(s, &dj, &tdev)) == NULL)
			continue;
		if ((ta != peer && ta != a) || (ta == a && tdev == dev) || !sim_device_exists(ta, tdev))
			continue; /* not a device of this chat, or the sender itself */
		m = relayed(s, n, a, dev, wa_jid_is_lid(to));
		if (m == NULL || (ta == a && ta != peer && wa_node_set_attr(m, "recipient", chat) != 0) ||
		    copy_children(m, t, "enc") || copy_children(m, n, "device-identity") || copy_children(m, n, "meta")) {
			wa_node_free(m);
			return -1;
		}
		if (sim_deliver_to(s, ta, tdev, m) != 0)
			wa_info("sim: message %s not delivered to %s:%u (queue full?)", wa_node_attr(n, "id"),
				ta->number, tdev);
		else
			delivered++;
		wa_node_free(m);
	}
	(void)delivered;
	return 0;
}

int sim_relay_message(struct sim_server *s, struct sim_account *a, uint16_t dev, struct wa_node *n,
		      const char **err)
{
	struct wa_jid to;

	*err = NULL;
	if (wa_node_attr(n, "id") == NULL || !wa_msgid_is_valid(wa_node_attr(n, "id")) ||
	    wa_node_attr_jid(n, "to", &to) != 0) {
		*err = "479"; /* stanza invalid */
		return -1;
	}
	wa_jid_normalize(&to);
	if (wa_jid_is_group(&to) || wa_jid_is_broadcast(&to))
		return sim_group_relay(s, a, dev, n, err);
	if (!wa_jid_is_user(&to)) {
		*err = "479";
		return -1;
	}
	return relay_user(s, a, dev, n, &to, err);
}

int sim_node_message(struct sim_conn *c, struct wa_node *n)
{
	const char *err = NULL, *to = wa_node_attr(n, "to");
	struct wa_node *ack;
	int corked, rc;

	/* the real server acks first and the receipts follow (13.5); here the
	 * phones answer inside the relay, so what it makes for the sender waits */
	corked = sim_conn_cork(c);
	if (sim_relay_message(c->srv, c->acc, c->dev->id, n, &err) != 0 && err == NULL)
		err = "500";
	ack = sim_ack_node(c->srv, "message", n, to ? to : "s.whatsapp.net", err);
	if (ack && err == NULL && to && strstr(to, "@g.us")) {
		char ph[11];

		/* the server's view of the group's devices, for the sender to compare (§7.4) */
		if (sim_group_phash(c->srv, to, ph) == 0 && wa_node_set_attr(ack, "phash", ph) != 0) {
			wa_node_free(ack);
			ack = NULL;
		}
	}
	rc = sim_conn_uncork(c, corked, ack);
	wa_node_free(ack);
	return ack != NULL && rc == 0 ? 0 : -1;
}

int sim_receipt_relay(struct sim_server *s, struct sim_account *a, uint16_t dev, const struct wa_node *r)
{
	const char *type = wa_node_attr(r, "type"), *participant = wa_node_attr(r, "participant");
	struct wa_jid to, pj;
	struct sim_account *ta;
	uint16_t tdev = 0, pdev = 0;
	char from[WA_JID_STR_MAX];
	struct wa_node *out;
	struct sim_device *d;
	int group, rc = 0, retry = type && strcmp(type, "retry") == 0;
	int self = type && (strcmp(type, "read-self") == 0 || strcmp(type, "played-self") == 0);

	if (wa_node_attr(r, "id") == NULL || wa_node_attr_jid(r, "to", &to) != 0)
		return -1;
	wa_jid_normalize(&to);
	group = wa_jid_is_group(&to) || wa_jid_is_broadcast(&to);
	sim_device_jid(a, dev, from, sizeof from);
	if (group) {
		/* to the author of the group message, named by participant */
		if (participant == NULL || wa_jid_parse(participant, &pj, NULL) != 0 ||
		    (ta = sim_resolve_user(s, &pj, &pdev)) == NULL)
			return -1;
		tdev = pdev;
		out = wa_node_new_attrs("receipt", "from", wa_node_attr(r, "to"), "participant", from, NULL);
	} else {
		if ((ta = sim_resolve_user(s, &to, &tdev)) == NULL)
			return -1;
		out = wa_node_new_attrs("receipt", "from", from, "recipient", wa_node_attr(r, "recipient"), NULL);
	}
	if (out == NULL || wa_node_set_attr(out, "id", wa_node_attr(r, "id")) || wa_node_set_attr(out, "type", type) ||
	    wa_node_set_attr_uint(out, "t", sim_now(s))) {
		wa_node_free(out);
		return -1;
	}
	for (size_t i = 0; i < r->nchildren && r->kind == WA_CONTENT_LIST; i++) {
		struct wa_node *ch = wa_node_dup(r->children[i]);

		if (ch == NULL || wa_node_add_child(out, ch) != 0) {
			wa_node_free(ch);
			wa_node_free(out);
			return -1;
		}
	}
	if (retry) {
		/* only the device that sent the message (§8.4) */
		if (sim_device_exists(ta, tdev))
			rc = sim_deliver_to(s, ta, tdev, out);
	} else if (self && ta != a) {
		/* read-self / played-self: the reader hides its read receipts
		 * (§8.3); the sender is not told, only the reader's own devices */
	} else {
		/* every device of the account, but not the receipt's own sender */
		if (!(ta == a && dev == 0)) {
			struct wa_node *cp = wa_node_dup(out);

			rc |= cp ? sim_deliver_to(s, ta, 0, cp) : -1;
			wa_node_free(cp);
		}
		for (d = ta->devices; d; d = d->next) {
			struct wa_node *cp;

			if (ta == a && d->id == dev)
				continue;
			cp = wa_node_dup(out);
			if (cp == NULL || sim_deliver(s, d, cp) != 0)
				rc = -1;
			wa_node_free(cp);
		}
	}
	if (!retry) {
		/* read / played: the sender's own other devices learn it too
		 * (recipient = the chat), so the phone marks its inbox (inferred) */
		if (ta != a && type && (strncmp(type, "read", 4) == 0 || strncmp(type, "played", 6) == 0)) {
			char chat[WA_JID_STR_MAX];

			if (group)
				snprintf(chat, sizeof chat, "%s", wa_node_attr(r, "to"));
			else
				snprintf(chat, sizeof chat, "%s@s.whatsapp.net", ta->number);
			if (wa_node_set_attr(out, "recipient", chat) != 0)
				rc = -1;
			if (dev != 0) {
				struct wa_node *cp = wa_node_dup(out);

				rc |= cp ? sim_deliver_to(s, a, 0, cp) : -1;
				wa_node_free(cp);
			}
			for (d = a->devices; d; d = d->next) {
				struct wa_node *cp;

				if (d->id == dev)
					continue;
				cp = wa_node_dup(out);
				if (cp == NULL || sim_deliver(s, d, cp) != 0)
					rc = -1;
				wa_node_free(cp);
			}
		}
	}
	wa_node_free(out);
	return rc;
}

/* 1 when given (a JID an answer names) names stored (one a delivered
 * stanza named): the same string or JID; for users, the same account (PN
 * or LID form) and the same device, or no device (a receipt to the chat). */
static int same_jid(struct sim_server *s, const char *stored, const char *given)
{
	struct wa_jid sj, gj;
	struct sim_account *sa, *ga;
	uint16_t sd = 0, gd = 0;

	if (given == NULL)
		return 0;
	if (strcmp(stored, given) == 0)
		return 1;
	if (wa_jid_parse(stored, &sj, NULL) != 0 || wa_jid_parse(given, &gj, NULL) != 0)
		return 0;
	(void)wa_jid_normalize(&sj);
	(void)wa_jid_normalize(&gj);
	if (!wa_jid_is_user(&sj) || !wa_jid_is_user(&gj))
		return wa_jid_equal(&sj, &gj);
	sa = sim_resolve_user(s, &sj, &sd);
	ga = sim_resolve_user(s, &gj, &gd);
	return sa != NULL && sa == ga && (gd == sd || gd == 0);
}

/* What an answer names besides the id. */
struct answer {
	struct sim_server *s;
	const char *to, *participant;
	int kind;                  /* what the answer answers: an <ack class="notification"> notifications
				    * only, an <ack class="receipt"> receipts only */
};

/* sim_device_unanswered_remove() match: does the answer ctx name u? */
static int answer_names(void *ctx, const struct sim_unanswered *u)
{
	const struct answer *a = ctx;

	if (u->kind != a->kind || !same_jid(a->s, u->from, a->to))
		return 0;
	return u->participant[0] == '\0' || same_jid(a->s, u->participant, a->participant);
}

int sim_unanswered_answer(struct sim_conn *c, const struct wa_node *n)
{
	struct answer a = { c->srv, wa_node_attr(n, "to"), wa_node_attr(n, "participant"),
			    strcmp(n->tag, "ack") != 0				 ? SIM_UNANS_MESSAGE
			    : wa_node_attr_is(n, "class", "notification") ? SIM_UNANS_NOTIFICATION
			    : wa_node_attr_is(n, "class", "receipt")	 ? SIM_UNANS_RECEIPT
									 : SIM_UNANS_MESSAGE };
	const char *id = wa_node_attr(n, "id");
	struct wa_node *list = strcmp(n->tag, "receipt") == 0 ? wa_node_child(n, "list") : NULL, *it = NULL;
	int gone;

	if (c->dev == NULL || c->dev->ucount == 0 || id == NULL)
		return 0;
	gone = sim_device_unanswered_remove(c->dev, id, answer_names, &a);
	while ((it = wa_node_next(list, "item", it)) != NULL)
		if (wa_node_attr(it, "id") != NULL)
			gone += sim_device_unanswered_remove(c->dev, wa_node_attr(it, "id"), answer_names, &a);
	if (gone > 0)
		wa_debug("sim: conn %lu: <%s> %s answers %d kept message(s); %zu left", c->id, n->tag, id, gone,
			 c->dev->ucount);
	return gone;
}

int sim_node_receipt(struct sim_conn *c, struct wa_node *n)
{
	const char *to = wa_node_attr(n, "to");

	(void)sim_unanswered_answer(c, n);
	if (sim_receipt_relay(c->srv, c->acc, c->dev->id, n) != 0)
		wa_debug("sim: receipt %s from %s not routed", wa_node_attr_or(n, "id", "-"), c->jid);
	return sim_send_ack(c, "receipt", n, to ? to : "s.whatsapp.net", NULL) == 0 ? 0 : -1;
}
