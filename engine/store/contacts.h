/* engine/store/contacts: what the engine learns about a contact besides
 * its messages (the contacts table of db/migrations/0001_core.sql).
 *
 * wa_contacts_push_name: a message from jid carried the push name `name`
 * (its notify). When the contact's stored push name is a different,
 * non-empty one, a contact.update event {"sessionId", "jid", "notify",
 * "previous"} is written to events_outbox (the row itself is updated by
 * wa_msgs_store, in the same transaction). A first push name writes no
 * event: message.received carries it already.
 *
 * Threading: dbpool threads, inside the caller's transaction. Errors: 0 or
 * WA_ESTORAGE / WA_ENOMEM. Ownership: *payload (NULL when no event) is the
 * caller's to free(); *outbox_id its row. */
#ifndef WA_STORE_CONTACTS_H
#define WA_STORE_CONTACTS_H

#include <stdint.h>

struct wa_db;

int wa_contacts_push_name(struct wa_db *db, uint64_t session_row, const char *slug, const char *jid, const char *name,
			  char **payload, uint64_t *outbox_id);

#endif
