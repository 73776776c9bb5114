/* msgstatus: the stored status of the messages we sent, raised in the open
 * transaction and written at its end.
 *
 * A sent message is PENDING until the server answers; then SENT (or
 * FAILED), and DELIVERED, READ, PLAYED as receipts come: a status never
 * goes down (PENDING < SENT < DELIVERED < READ < PLAYED; FAILED and
 * anything unknown rank below PENDING), and the server's answer changes
 * only a PENDING message. Every change that takes effect is told to its
 * caller, which writes the change's events (message.status, ...).
 *
 * Held back: inside a transaction (a dbpool batch is one) every raise is
 * only noted; right before the COMMIT (an early wa_db_at_commit slot, so
 * the outbox rows the callbacks add are flushed after it) the notes of a
 * session are judged against the stored rows, read with one locking
 * SELECT, in the order they were made, and the rows written by one UPDATE
 * per resulting status. A batch of n messages that are acked and then
 * delivered costs a SELECT and one or two UPDATEs instead of 2n UPDATEs;
 * the ack and the receipt of one message in one batch make one change of
 * the row and both events. A transaction with a single note runs the
 * guarded single-row UPDATE it would have run without this module.
 *
 * Errors: a failed flush fails the COMMIT (nothing of the transaction is
 * committed; the dbpool runs the jobs again). Threading: the db's thread;
 * the notes belong to the transaction. */
#ifndef WA_ENGINE_STORE_MSGSTATUS_H
#define WA_ENGINE_STORE_MSGSTATUS_H

#include <stdint.h>

struct wa_db;

/* Told when a raise took effect (the row's status was lower), at the flush
 * (inside the transaction, before its COMMIT) in the order the raises
 * were made, or at once outside a transaction or with WA_MSGSTATUS_NOW.
 * It may write (its events by wa_outbox_add_later). 0, or a wa_err code,
 * which fails the transaction. */
typedef int (*wa_msgstatus_took_fn)(struct wa_db *db, void *arg, const char *id, const char *status);

enum {
	WA_MSGSTATUS_ONLY_PENDING = 1, /* the server's answer: only a PENDING message changes */
	WA_MSGSTATUS_NOW = 2,          /* write and judge now (took may read what the raise wrote) */
};

/* Raise our message id (from_me) of session_row to status (one of the
 * names above, copied). took (may be NULL) and arg must stay valid until
 * the transaction ends. 0, WA_ENOMEM, or WA_ESTORAGE (a statement of the
 * immediate path failed). */
int wa_msgstatus_raise(struct wa_db *db, uint64_t session_row, const char *id, const char *status, int flags,
		       wa_msgstatus_took_fn took, void *arg);

/* The rank of a status name (PENDING 1 .. PLAYED 5; 0 for anything else,
 * FAILED among them), as the SQL's FIELD() ranks it. */
int wa_msgstatus_rank(const char *status);

#endif
