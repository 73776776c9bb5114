/* wa/sigstore: one storage interface behind the five libsignal-protocol-c
 * stores (identity incl. own key pair + registration id + trusted remote
 * identities, pre-keys, signed pre-keys, sessions, sender keys).
 *
 * A store is a small vtable of record operations on opaque byte records plus
 * an opaque state. Records are addressed by a wa_sigrec_key whose kind picks
 * the "table"; libsignal serialises every record itself, so a backend only
 * keeps bytes. wa_sigstore_attach() fills a signal_protocol_store_context so
 * libsignal calls through the vtable; wa/signal.h builds on that.
 *
 * Backends:
 *   wa_sigstore_mem_new(): in memory, bounded (entries and bytes), a mutex
 *     inside, for tests and wa-sim phones.
 *   wa_sigstore_db_new() (engine/store/sigstore_db.h, outside this library
 *     because it links MariaDB): the tables of db/migrations/0002_signal_store.sql.
 *
 * Ownership: records returned by get() are malloc()ed and belong to the
 * caller (free() after zeroing: they hold private keys). Names and groups in
 * a key are borrowed for the call only. wa_sigstore_free() destroys the
 * backend state. Threading: see each constructor. Limits: names and group ids
 * are at most WA_SIGREC_NAME_MAX-1 bytes, records at most WA_SIGREC_MAX bytes;
 * over-long input is refused (WA_SIGSTORE_TOOBIG), never truncated. */
#ifndef WA_SIGSTORE_H
#define WA_SIGSTORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wa_err.h"

/* Same tag as libsignal's typedef, so both headers can be included. */
struct signal_protocol_store_context;

#define WA_SIGREC_NAME_MAX 128            /* incl. NUL: address names, group ids */
#define WA_SIGREC_MAX (8u * 1024 * 1024)  /* one serialised record */
#define WA_SIGREC_LOCAL_LEN 68            /* pub 32 ‖ priv 32 ‖ be32(registration id) */

/* Return codes of the vtable besides 0/1 (all negative). They are the
 * common codes of common/wa_err.h (a store has nothing more specific to
 * say); a backend may return any other common code too. ERR is also what
 * the wrappers return for an incomplete key or a wrong kind. */
#define WA_SIGSTORE_ERR WA_ESTORAGE   /* backend failure (DB error, lock) */
#define WA_SIGSTORE_FULL WA_EFULL     /* in-memory bound reached */
#define WA_SIGSTORE_TOOBIG WA_ETOOBIG /* name/group/record over the limits */
#define WA_SIGSTORE_NOMEM WA_ENOMEM

enum wa_sigrec_kind {
	WA_SIGREC_LOCAL = 1,      /* own identity: WA_SIGREC_LOCAL_LEN bytes; no key fields */
	WA_SIGREC_IDENTITY,       /* trusted remote identity (libsignal's serialised
				   * public key, 33 bytes): name + device */
	WA_SIGREC_PREKEY,         /* serialised session_pre_key: id */
	WA_SIGREC_SIGNED_PREKEY,  /* serialised session_signed_pre_key: id */
	WA_SIGREC_SESSION,        /* serialised session_record: name + device */
	WA_SIGREC_SENDER_KEY,     /* serialised sender_key_record: group + name + device */
};
#define WA_SIGREC_KIND_MAX WA_SIGREC_SENDER_KEY

/* Which record. Fields a kind does not use are ignored (may be 0/NULL). */
typedef struct wa_sigrec_key {
	enum wa_sigrec_kind kind;
	uint32_t id;          /* PREKEY, SIGNED_PREKEY */
	const char *name;     /* IDENTITY, SESSION, SENDER_KEY: Signal address name */
	uint32_t device;      /* IDENTITY, SESSION, SENDER_KEY: Signal device id */
	const char *group;    /* SENDER_KEY: group id (the group JID string) */
} wa_sigrec_key;

/* The vtable. Every function returns a negative WA_SIGSTORE_* code on failure. */
struct wa_sigstore_ops {
	/* 1 and *rec (malloc()ed, caller frees) + *len when found, 0 when not. */
	int (*get)(void *state, const wa_sigrec_key *key, uint8_t **rec, size_t *len);
	/* Insert or replace; 0 on success. */
	int (*put)(void *state, const wa_sigrec_key *key, const uint8_t *rec, size_t len);
	/* 1 if a record was removed, 0 if there was none. */
	int (*del)(void *state, const wa_sigrec_key *key);
	/* Devices that have a SESSION under name: up to max written to out,
	 * returns how many exist (may exceed max). */
	int (*devices)(void *state, const char *name, uint32_t *out, size_t max);
	/* Remove all records of kind SESSION or IDENTITY under name (every
	 * device); returns how many. */
	int (*del_name)(void *state, enum wa_sigrec_kind kind, const char *name);
	/* Number of records of a kind (e.g. one-time pre-keys left). */
	int (*count)(void *state, enum wa_sigrec_kind kind);
	/* Optional (may be NULL): put n records at once, all or none where the
	 * backend can (the MariaDB store uses one transaction, so a batch of
	 * 812 pre-keys is one commit instead of 812). 0 on success. */
	int (*put_many)(void *state, const wa_sigrec_key *keys, const uint8_t *const *recs,
			const size_t *lens, size_t n);
	/* Release the state (called by wa_sigstore_free). */
	void (*destroy)(void *state);
};

typedef struct wa_sigstore {
	const struct wa_sigstore_ops *ops;
	void *state;
} wa_sigstore;

/* In-memory store holding at most max_entries records and max_bytes record
 * bytes (0 = defaults: 100000 records, 256 MiB); put() past a bound fails
 * with WA_SIGSTORE_FULL. Thread-safe (one mutex). NULL on out of memory. */
wa_sigstore *wa_sigstore_mem_new(size_t max_entries, size_t max_bytes);

/* Destroy a store (NULL is fine). */
void wa_sigstore_free(wa_sigstore *st);

/* Thin wrappers over the vtable that check arguments and limits first. */
int wa_sigstore_get(wa_sigstore *st, const wa_sigrec_key *key, uint8_t **rec, size_t *len);
int wa_sigstore_put(wa_sigstore *st, const wa_sigrec_key *key, const uint8_t *rec, size_t len);
int wa_sigstore_del(wa_sigstore *st, const wa_sigrec_key *key);
int wa_sigstore_count(wa_sigstore *st, enum wa_sigrec_kind kind);
/* devices / del_name with the name checked (1..WA_SIGREC_NAME_MAX-1 bytes;
 * del_name only for SESSION and IDENTITY). */
int wa_sigstore_devices(wa_sigstore *st, const char *name, uint32_t *out, size_t max);
int wa_sigstore_del_name(wa_sigstore *st, enum wa_sigrec_kind kind, const char *name);
/* put_many when the backend has it, else put() one by one (then a failure
 * may leave the first records stored). */
int wa_sigstore_put_many(wa_sigstore *st, const wa_sigrec_key *keys, const uint8_t *const *recs,
			 const size_t *lens, size_t n);

/* 0 if the key is complete and within the limits for its kind, else
 * WA_SIGSTORE_TOOBIG (over-long name/group) or WA_SIGSTORE_ERR. */
int wa_sigstore_key_check(const wa_sigrec_key *key);

/* Fill ctx's five stores (libsignal's signal_protocol_store_context_set_*)
 * with adapters calling st. st is borrowed: it must outlive ctx, and
 * destroying ctx does not free st. Store failures reach libsignal as codes
 * below SG_ERR_MINIMUM (see WA_SIGSTORE_SG_ERR). Returns 0 or -1. */
int wa_sigstore_attach(wa_sigstore *st, struct signal_protocol_store_context *ctx);

/* The libsignal code the adapters return for a store failure rc (a common
 * code, -1 .. -99; a module code is folded with wa_err_class() first):
 * SG_ERR_MINIMUM - 1 + rc, i.e. -10000 - n, below every libsignal code. */
#define WA_SIGSTORE_SG_ERR(rc) (-9999 - 1 + (rc))
#define WA_SIGSTORE_SG_IS_STORE_ERR(sg) ((sg) <= -10001 && (sg) >= -10099)
/* What the identity adapters return when no own identity is stored: the
 * store-failure code of WA_ENOTFOUND (a backend never returns that one:
 * get() says "absent" with 0). wa/signal.c maps it to WA_SIG_NOT_FOUND. */
#define WA_SIGSTORE_SG_NO_IDENTITY WA_SIGSTORE_SG_ERR(WA_ENOTFOUND)

#endif
