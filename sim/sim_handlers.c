/* sim_handlers: the stanza dispatch tables of wa-sim.
 *
 * Adding a feature = adding rows:
 *   sim_node_handlers[]  top-level tag  -> handler (message, receipt, presence ...)
 *   sim_iq_handlers[]    IQ type + xmlns + first child tag -> handler
 * The first matching row wins; put specific rows before catch-alls. A row's
 * `when` restricts it to logged-in or registration connections; a
 * mismatch is answered like an unknown IQ (error 401) or ignored (other
 * stanzas). IQs that match no row get <error code="501"/>.
 * Replies and results of IQs the server itself sent (pair-device,
 * pair-success) arrive as type="result"/"error" and are matched by id. */
#include "sim.h"
#include "sim_call.h"
#include "sim_msg.h"
#include "sim_media.h"
#include "sim_state.h"

#include <string.h>

#include "wa_log.h"

/* ---- IQs ---- */

/* Keepalive (docs/protocol.md 12.5): whatsmeow sends no child, Baileys <ping/>. */
static int iq_ping(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	(void)child;
	return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
}

/* <iq xmlns="passive" type="set"><active/>|<passive/></iq> (12.6 step 3). */
static int iq_passive(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	if (child == NULL || (strcmp(child->tag, "active") != 0 && strcmp(child->tag, "passive") != 0))
		return sim_conn_iq_error(c, iq, 400, "bad-request") == 0 ? 0 : -1;
	return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
}

/* <iq xmlns="urn:xmpp:whatsapp:dirty" type="set"><clean .../></iq> (8.7) */
static int iq_dirty_clean(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	(void)child;
	return sim_conn_iq_result(c, iq, NULL) == 0 ? 0 : -1;
}

const struct sim_iq_handler sim_iq_handlers[] = {
	{ "get", "w:p", NULL, SIM_ANY_CONN, iq_ping },
	{ "set", "passive", NULL, SIM_LOGGED_IN, iq_passive },
	{ "set", "urn:xmpp:whatsapp:dirty", "clean", SIM_LOGGED_IN, iq_dirty_clean },
	{ "set", "md", "link_code_companion_reg", SIM_REGISTERING, sim_pair_link_iq },
	{ "set", "md", "remove-companion-device", SIM_LOGGED_IN, sim_pair_logout_iq },
	/* messaging layer (sim_msg.h, simmsg) */
	{ "set", "encrypt", "rotate", SIM_LOGGED_IN, sim_iq_prekey_rotate },
	{ "set", "encrypt", NULL, SIM_LOGGED_IN, sim_iq_prekey_upload },
	{ "get", "encrypt", "count", SIM_LOGGED_IN, sim_iq_prekey_count },
	{ "get", "encrypt", "key", SIM_LOGGED_IN, sim_iq_prekey_fetch },
	{ "get", "encrypt", "digest", SIM_LOGGED_IN, sim_iq_prekey_digest },
	{ "get", "usync", "usync", SIM_LOGGED_IN, sim_iq_usync },
	{ "get", "w:g2", NULL, SIM_LOGGED_IN, sim_iq_groups },
	{ "set", "w:g2", NULL, SIM_LOGGED_IN, sim_iq_groups },
	{ "set", "w:m", "media_conn", SIM_LOGGED_IN, sim_iq_media_conn },
	/* state layer (sim_state.h, simstate) */
	{ "set", "w:sync:app:state", "sync", SIM_LOGGED_IN, sim_iq_appstate },
	{ "set", "status", NULL, SIM_LOGGED_IN, sim_iq_status },
	{ "get", "status", NULL, SIM_LOGGED_IN, sim_iq_status },
	{ "get", "w:profile:picture", NULL, SIM_LOGGED_IN, sim_iq_picture },
	{ "set", "w:profile:picture", NULL, SIM_LOGGED_IN, sim_iq_picture },
	{ "get", "blocklist", NULL, SIM_LOGGED_IN, sim_iq_blocklist },
	{ "set", "blocklist", NULL, SIM_LOGGED_IN, sim_iq_blocklist },
	{ "get", "privacy", NULL, SIM_LOGGED_IN, sim_iq_privacy },
	{ "set", "privacy", NULL, SIM_LOGGED_IN, sim_iq_privacy },
	{ "get", "abt", NULL, SIM_LOGGED_IN, sim_iq_abt },
	{ "set", "disappearing_mode", "disappearing_mode", SIM_LOGGED_IN, sim_iq_disappearing },
	{ NULL, NULL, NULL, 0, NULL },
};

static int when_ok(const struct sim_conn *c, int when)
{
	switch (when) {
	case SIM_LOGGED_IN:
		return c->dev != NULL;
	case SIM_REGISTERING:
		return c->is_registration;
	default:
		return 1;
	}
}

static int node_iq(struct sim_conn *c, struct wa_node *iq)
{
	const char *type = wa_node_attr(iq, "type");
	const char *xmlns = wa_node_attr(iq, "xmlns");
	const char *id = wa_node_attr(iq, "id");
	struct wa_node *child = wa_node_child_at(iq, 0);
	const struct sim_iq_handler *h;

	if (type == NULL || id == NULL)
		return 0; /* not answerable; a real server ignores it too (inferred) */
	if (strcmp(type, "result") == 0 || strcmp(type, "error") == 0) {
		if (c->pair.active && strcmp(id, c->pair.iq_id) == 0)
			return sim_pair_on_reply(c, iq);
		return 0; /* e.g. the ack of our pair-device */
	}
	if (c->dev != NULL && xmlns != NULL) {
		if (strcmp(xmlns, "usync") == 0)
			c->dev->iq_usync++;
		else if (strcmp(xmlns, "w:g2") == 0)
			c->dev->iq_groups++;
		else if (strcmp(xmlns, "w:m") == 0)
			c->dev->iq_media++;
		else if (strcmp(xmlns, "encrypt") == 0 && child != NULL && strcmp(child->tag, "key") == 0)
			c->dev->iq_keys++;
	}
	for (h = sim_iq_handlers; h->type != NULL; h++) {
		if (strcmp(h->type, type) != 0)
			continue;
		if (h->xmlns != NULL && (xmlns == NULL || strcmp(h->xmlns, xmlns) != 0))
			continue;
		if (h->child != NULL && (child == NULL || strcmp(h->child, child->tag) != 0))
			continue;
		if (!when_ok(c, h->when))
			return sim_conn_iq_error(c, iq, 401, "not-authorized") == 0 ? 0 : -1;
		return h->fn(c, iq, child);
	}
	wa_debug("sim: conn %lu: no handler for iq type=%s xmlns=%s", c->id, type,
		 xmlns ? xmlns : "-");
	return sim_conn_iq_error(c, iq, 501, "feature-not-implemented") == 0 ? 0 : -1;
}

/* <ib> from the client: unified_session, offline_batch - nothing to do. */
static int node_ib(struct sim_conn *c, struct wa_node *n)
{
	(void)c;
	(void)n;
	return 0;
}

/* Acks of stanzas we delivered (8.3): an ack of a message or a
 * notification answers it, so the device stops keeping it (sim_msg.c);
 * acks of other classes need nothing. */
static int node_ack(struct sim_conn *c, struct wa_node *n)
{
	if (c->dev != NULL && (wa_node_attr_is(n, "class", "message") || wa_node_attr_is(n, "class", "notification") ||
			       wa_node_attr_is(n, "class", "receipt")))
		(void)sim_unanswered_answer(c, n);
	return 0;
}

const struct sim_node_handler sim_node_handlers[] = {
	{ "iq", SIM_ANY_CONN, node_iq },
	{ "ib", SIM_ANY_CONN, node_ib },
	{ "ack", SIM_ANY_CONN, node_ack },
	{ "message", SIM_LOGGED_IN, sim_node_message },   /* simmsg */
	{ "receipt", SIM_LOGGED_IN, sim_node_receipt },   /* simmsg */
	{ "presence", SIM_LOGGED_IN, sim_node_presence },   /* simstate */
	{ "chatstate", SIM_LOGGED_IN, sim_node_chatstate }, /* simstate */
	{ "call", SIM_LOGGED_IN, sim_node_call },           /* sim_call.c */
	{ NULL, 0, NULL },
};

int sim_dispatch(struct sim_conn *c, struct wa_node *n)
{
	const struct sim_node_handler *h;

	if (c->state != SIM_CONN_READY)
		return 0;
	for (h = sim_node_handlers; h->tag != NULL; h++) {
		if (strcmp(h->tag, n->tag) != 0)
			continue;
		if (!when_ok(c, h->when)) {
			wa_debug("sim: conn %lu: <%s> not allowed in this state", c->id, n->tag);
			return 0;
		}
		return h->fn(c, n);
	}
	wa_debug("sim: conn %lu: unhandled <%s>", c->id, n->tag);
	return 0;
}
