/* engine/store/creds: a linked device's credentials, as the engine keeps
 * them in MariaDB (wa_device_creds, db/migrations/0003_engine.sql, plus the
 * session's Signal identity and signed pre-key in the 0002 tables).
 *
 * A session without a row gets fresh keys (wa_creds_create): the Noise
 * key pair, an ADV secret, a Signal identity, registration id and signed
 * pre-key. Pairing completes the row (wa_creds_save_paired); from then on
 * the session logs in with it, across engine restarts and on any engine.
 * Logging out deletes it (wa_creds_delete) with the Signal stores and the
 * app-state keys.
 *
 * Threading: every function does blocking database work: call them on a
 * dbpool thread only, never on the loop. Errors: 0 or a common/wa_err.h
 * code: WA_ENOTFOUND (no row), WA_ESTORAGE (database), WA_ENOMEM,
 * WA_EINTERNAL (crypto library). Ownership: struct wa_creds is plain data
 * holding private keys: wipe it (wa_creds_wipe) when done. */
#ifndef WA_STORE_CREDS_H
#define WA_STORE_CREDS_H

#include <stddef.h>
#include <stdint.h>

struct wa_db;

#define WA_CREDS_ACCOUNT_MAX 1024

struct wa_creds {
	uint64_t session_row;            /* wa_sessions.id */
	uint8_t noise_priv[32], noise_pub[32];
	uint8_t adv_secret[32];
	/* Signal identity (signal_identity_local) and signed pre-key */
	uint8_t identity_priv[32], identity_pub[32];
	uint32_t registration_id;
	uint32_t signed_prekey_id;
	uint8_t signed_prekey_pub[32], signed_prekey_sig[64];
	uint32_t next_prekey_id;         /* first id of the next pre-key upload */
	uint32_t prekeys_uploaded;       /* pre-keys uploaded so far (all batches) */
	/* set by pairing */
	int paired;
	char phone[24];
	uint16_t device;
	char lid[64];
	char platform[32];
	char business_name[128];
	uint32_t key_index;
	uint8_t account[WA_CREDS_ACCOUNT_MAX];
	size_t account_len;
	uint8_t primary_identity[32];
};

/* The session's Signal store key: its wa_sessions.id in decimal (the
 * convention of docs/database.md). */
void wa_creds_session_key(uint64_t session_row, char out[24]);

/* Load the session's credentials. WA_ENOTFOUND when it has none yet. */
int wa_creds_load(struct wa_db *db, uint64_t session_row, struct wa_creds *out);

/* Make and store fresh, unpaired credentials (replacing any). */
int wa_creds_create(struct wa_db *db, uint64_t session_row, struct wa_creds *out);

/* Store what pairing gave (paired, phone, device, lid, account, ...), and
 * the ADV secret, which link-code pairing replaces. */
int wa_creds_save_paired(struct wa_db *db, const struct wa_creds *c);

/* Record a pre-key upload: next id and the running count. */
int wa_creds_save_prekeys(struct wa_db *db, uint64_t session_row, uint32_t next_id, uint32_t uploaded);

/* Make, store and record the next count one-time pre-keys (ids from
 * c->next_prekey_id; next id and running count saved), and build their
 * upload IQ (docs/protocol.md §5.1, no id yet) into *iq. *next_id gets the
 * id the batch after this one starts with. */
struct wa_node;
int wa_creds_prekey_batch(struct wa_db *db, const struct wa_creds *c, size_t count, struct wa_node **iq,
			  uint32_t *next_id);

/* The session's Signal state on db's connection (statements join a
 * transaction open on db). 0 with *st and *sig, or WA_ESTORAGE / WA_ENOMEM
 * / WA_EINTERNAL; close with wa_creds_close_sig (NULL-safe). */
struct wa_sigstore;
struct wa_sig;
int wa_creds_open_sig(struct wa_db *db, uint64_t session_row, struct wa_sigstore **st, struct wa_sig **sig);
void wa_creds_close_sig(struct wa_sigstore *st, struct wa_sig *sig);
/* Forget the device: its row, every Signal record and the app-state keys
 * of the session. */
int wa_creds_delete(struct wa_db *db, uint64_t session_row);

void wa_creds_wipe(struct wa_creds *c);

#endif
