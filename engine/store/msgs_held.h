/* msgs_held: message and chat rows held back to the end of the open
 * transaction (store-internal; msgs.c uses it, msgs.h states the rules).
 *
 * wa_msgs_store in a transaction (a dbpool batch is one) writes the chat
 * upsert of every message, and the row of a message we send, this way:
 * noted, then written just before the COMMIT by multi-row INSERTs (4, 2, 1
 * rows), the chat rows of one chat merged into one (unread counts added,
 * the latest time kept). A batch of n messages to one chat costs one chat
 * statement instead of n, and n sent messages about n/4 INSERTs.
 *
 * Held chat rows are not in the table until then: whatever else reads or
 * writes `chats` in the transaction calls wa_msgs_chats_settle() first
 * (msgs.h). Held message rows are only those we send, whose ids are ours
 * and new: nothing else in the batch names them before their stanza has
 * gone out, which is after the COMMIT.
 *
 * Errors: a failed flush fails the COMMIT. Threading: the db's thread. */
#ifndef WA_ENGINE_STORE_MSGS_HELD_H
#define WA_ENGINE_STORE_MSGS_HELD_H

#include <stdint.h>

struct wa_db;
struct wa_msg_row;

/* Hold the chat upsert of a message in chat (session row sess): unread
 * added to the chat's count, t (unix s) its last message time at least.
 * 1 held, 0 not in a transaction (the caller writes it now), WA_ENOMEM. */
int wa_held_chat(struct wa_db *db, uint64_t sess, const char *chat, int is_group, long long unread, int64_t t);

/* Hold the messages row of m (copied). 1 held, 0 not in a transaction,
 * WA_ENOMEM. */
int wa_held_msg(struct wa_db *db, uint64_t sess, const struct wa_msg_row *m);

#endif
