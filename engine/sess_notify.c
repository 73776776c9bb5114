/* sess_notify: the <notification> stanzas of a logged-in session
 * (docs/protocol.md §8.6) that no other module takes (pairing's
 * link_code_companion_reg: sess_pair.c; the pre-key count: sess_login.c).
 *
 * Every notification is acked (<ack class="notification" id to type
 * participant/>, as Baileys and whatsmeow do), after what it asks for is
 * done: unanswered, the server would give it again at every login. What
 * is handled:
 *   devices         a user's device list changed (ours too): that user's
 *                   cached list is forgotten (send_devices_changed);
 *   account_sync    with <devices/>: our own device list changed, the same;
 *   w:gp2           a group changed: its cached metadata is forgotten
 *                   (send_group_changed), and sess_group.c refreshes its
 *                   wa_groups row and publishes group.update /
 *                   group.participant, acking once that is stored;
 *   account_sync    with <blocklist/>: a block made on another device,
 *                   stored (contacts.blocked, contact.update) before the
 *                   ack (sess_chat.c, chat_on_blocklist_sync);
 *   server_sync     app state changed elsewhere: the collections it
 *                   names are fetched (sess_appstate.c), acked at once;
 * everything else (picture, privacy_token, encrypt with an
 * identity change, account_sync without devices, ...) is acked and logged
 * at debug: nothing is stored for it yet.
 *
 * Apart from those two, nothing here writes the database, so the other
 * acks go out at once. Loop thread only. */
#include "engine/sess_chat.h"
#include "engine/session_int.h"
#include "wa/jid.h"
#include "wa_log.h"

#include <string.h>

/* The user of n's `from` (no device), or -1. */
static int from_user(const struct wa_node *n, struct wa_jid *user)
{
	if (wa_node_attr_jid(n, "from", user) != 0 || !wa_jid_is_user(user))
		return -1;
	wa_jid_to_non_ad(user);
	return 0;
}

/* Our own user JID (PN, no device). */
static int own_user(const struct wa_session *s, struct wa_jid *user)
{
	char me[48];

	snprintf(me, sizeof me, "%s@s.whatsapp.net", s->cr ? s->cr->phone : "");
	return s->cr && s->cr->phone[0] && wa_jid_parse(me, user, NULL) == 0 ? 0 : -1;
}

int notify_on_node(struct wa_session *s, const struct wa_node *n)
{
	const char *type = wa_node_attr_or(n, "type", "");
	struct wa_jid j;
	const char *what = "not handled";

	if (strcmp(n->tag, "notification") != 0)
		return 0;
	if (strcmp(type, "devices") == 0) {
		if (from_user(n, &j) == 0) {
			send_devices_changed(s, &j);
			what = "device list changed";
		} else {
			what = "device list change without a user";
		}
	} else if (strcmp(type, "account_sync") == 0 && wa_node_child(n, "blocklist")) {
		/* stored first, acked after the commit (sess_chat.c) */
		if (chat_on_blocklist_sync(s, n) != 0)
			return 1;
		what = "blocklist change without an item";
	} else if (strcmp(type, "account_sync") == 0 && wa_node_child(n, "devices")) {
		if (own_user(s, &j) == 0) {
			send_devices_changed(s, &j);
			what = "our device list changed";
		}
	} else if (strcmp(type, "server_sync") == 0) {
		appstate_on_server_sync(s, n);
		what = "app state changed: fetching it";
	} else if (strcmp(type, "w:gp2") == 0) {
		if (wa_node_attr_jid(n, "from", &j) == 0 && wa_jid_is_group(&j)) {
			send_group_changed(s, &j);
			wa_debug("session %s: notification %s w:gp2 from %s: group changed; stored, then acked", s->id,
				 wa_node_attr_or(n, "id", "?"), wa_node_attr_or(n, "from", "?"));
			group_on_notify(s, n); /* acks once stored */
			return 1;
		} else {
			what = "group change without a group";
		}
	}
	wa_debug("session %s: notification %s type=%s from %s: %s; acked", s->id, wa_node_attr_or(n, "id", "?"), type,
		 wa_node_attr_or(n, "from", "?"), what);
	sess_ack(s, n);
	return 1;
}
