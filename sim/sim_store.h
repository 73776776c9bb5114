/* sim_store: the world state of wa-sim - phone accounts and their linked
 * (companion) devices - and its persistence to DIR/state.json.
 *
 * Threads: NOT thread-safe and takes no locks. Every function must run on
 * the lws service thread of wa-sim (the only thread that exists there):
 * WebSocket callbacks, admin HTTP callbacks and timers all run on it, so the
 * state needs no lock. Anything started on another thread must hand its
 * work to that thread (lws_cancel_service) instead of touching the store.
 *
 * Ownership: the store owns every account and device; pointers returned by
 * the lookups are borrowed and stay valid until the object is removed (or
 * the store reset / freed). A device's `conn` is a back-pointer to the live
 * connection that logged in as it (owned by the connection layer, which
 * clears it on close).
 *
 * Persistence: sim_store_save() writes the accounts and devices (keys,
 * registration data, ADV identity) atomically (tmp + rename, mode 0600).
 * Offline queues, the messages a device has not answered and online state
 * are NOT persisted: they are lost on a restart, as a real server would
 * lose nothing - say so to test writers.
 *
 * Lookups by number are hashed (SIM_ACCOUNT_BUCKETS), so a wa-sim holding
 * tens of thousands of phones finds one in constant time.
 *
 * Limits: SIM_MAX_ACCOUNTS accounts, SIM_MAX_DEVICES companions per account,
 * and every device's offline queue is capped (SIM_QUEUE_MAX_NODES nodes,
 * SIM_QUEUE_MAX_BYTES bytes); a full queue refuses the node (-1). The
 * messages a device has not answered yet are capped too
 * (SIM_UNANSWERED_MAX, SIM_UNANSWERED_MAX_BYTES): the oldest make room.
 * Both are runtime only, like the queue. */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_ACCOUNTS 100000
#define SIM_ACCOUNT_BUCKETS 16384   /* hash buckets of the number index */
#define SIM_MAX_DEVICES 64          /* companions per account (real limit is 4) */
#define SIM_QUEUE_MAX_NODES 5000
#define SIM_QUEUE_MAX_BYTES (32u * 1024 * 1024)
#define SIM_UNANSWERED_MAX 1000     /* delivered messages kept per device until answered */
#define SIM_UNANSWERED_MAX_BYTES (32u * 1024 * 1024)
#define SIM_STANZA_ID_MAX 128       /* longest stanza id kept (WA_MSGID_MAX) */
#define SIM_JID_MAX 192             /* a JID string with its NUL (>= WA_JID_STR_MAX) */
#define SIM_NUMBER_MAX 20           /* digits */
#define SIM_PUSHNAME_MAX 100        /* bytes */
#define SIM_ADV_MAX 1024            /* serialized ADVSignedDeviceIdentity */

struct sim_conn;
/* messaging state hung off the store's objects (sim_msg.h); freed with them */
struct sim_devkeys;
struct sim_phone;
struct sim_groups;
void sim_devkeys_free(struct sim_devkeys *k);
void sim_phone_free(struct sim_phone *p);
void sim_groups_free(struct sim_groups *g);
/* app state, presence, profile, blocklist (sim_state.h, simstate) */
struct sim_acstate;
void sim_acstate_free(struct sim_acstate *st);

/* One encoded stanza waiting for an offline device (frame plaintext: flag
 * byte + node, as wa_binary_marshal() makes it). */
struct sim_qnode {
	uint8_t *data;
	size_t len;
	struct sim_qnode *next;
};

/* A <message> delivered to a companion that the companion has not answered
 * yet (docs/protocol.md 8.3): what an answer must name, and the encoded
 * stanza (frame plaintext, already marked offline="1") to deliver again at
 * the device's next login (8.7). */
enum { SIM_UNANS_MESSAGE = 0, SIM_UNANS_NOTIFICATION, SIM_UNANS_RECEIPT };

struct sim_unanswered {
	char id[SIM_STANZA_ID_MAX + 1];
	char from[SIM_JID_MAX];         /* the stanza's from */
	char participant[SIM_JID_MAX];  /* its participant; "" when it has none */
	int kind;                       /* SIM_UNANS_MESSAGE, _NOTIFICATION (only <ack class="notification">
					 * answers it), _RECEIPT (only <ack class="receipt">) */
	uint8_t *data;
	size_t len;
	struct sim_unanswered *next;
};

struct sim_device {
	uint16_t id;                    /* companion slot: jid <number>:<id>@s.whatsapp.net */
	uint8_t noise_pub[32];          /* Noise static key the device must log in with */
	uint8_t identity_pub[32];       /* Signal identity key (no 0x05 prefix) */
	uint32_t registration_id;
	uint32_t spk_id;                /* signed pre-key from the registration payload */
	uint8_t spk_pub[32];
	uint8_t spk_sig[64];
	uint32_t key_index;             /* ADVDeviceIdentity.keyIndex */
	uint8_t *adv;                   /* ADVSignedDeviceIdentity as the device signed it */
	size_t adv_len;
	uint64_t paired_at;             /* unix seconds */
	char platform[64];              /* DeviceProps.os, for listings */
	/* runtime only */
	struct sim_conn *conn;          /* live logged-in connection or NULL */
	struct sim_qnode *qhead, *qtail;
	size_t qcount, qbytes;
	struct sim_unanswered *uhead, *utail; /* delivered, not answered; oldest first */
	size_t ucount, ubytes;
	size_t udropped;                /* how many the cap dropped so far */
	struct sim_devkeys *keys;       /* uploaded pre-keys (sim_prekeys.c, runtime only) */
	/* IQs the device asked, by namespace (admin listings: how often a
	 * client queries what it could have cached) */
	unsigned long iq_usync, iq_groups, iq_keys, iq_media;
	struct sim_device *next;
};

struct sim_account {
	char number[SIM_NUMBER_MAX + 1];     /* digits, the PN user */
	char push_name[SIM_PUSHNAME_MAX + 1];
	char lid[SIM_NUMBER_MAX + 1];        /* LID user (digits) */
	uint8_t identity_priv[32];           /* the phone's Signal identity (signs ADV) */
	uint8_t identity_pub[32];
	uint32_t adv_raw_id;                 /* ADVDeviceIdentity.rawID */
	uint16_t next_device;                /* next companion slot, from 1 */
	uint32_t next_key_index;             /* next keyIndex, from 1 */
	size_t ndevices;
	struct sim_device *devices;
	struct sim_phone *phone;             /* the simulated phone (sim_phone.c, runtime only) */
	struct sim_acstate *state;           /* app state, presence, profile (sim_state.h, runtime only) */
	struct sim_account *next;
	struct sim_account *hnext;           /* the number index's chain */
	struct sim_account *lnext;           /* the LID index's chain */
};

struct sim_store {
	char path[4096];                     /* state.json; "" = memory only */
	size_t naccounts;
	struct sim_account *accounts;        /* in creation order */
	struct sim_account *last;            /* the newest (appends are O(1)) */
	struct sim_account *index[SIM_ACCOUNT_BUCKETS]; /* by number (FNV-1a) */
	struct sim_account *lid_index[SIM_ACCOUNT_BUCKETS]; /* by LID user */
	struct sim_groups *groups;           /* groups (sim_groups.c, runtime only) */
};

/* New empty store persisted at path (NULL or "" for memory only). NULL on OOM. */
struct sim_store *sim_store_new(const char *path);

/* Free everything (queues included). NULL-safe. Does not save. */
void sim_store_free(struct sim_store *st);

/* Remove every account and device (not the file: call sim_store_save). */
void sim_store_clear(struct sim_store *st);

/* Load path into an empty store. 0 on success or when the file does not
 * exist; -1 on an unreadable / malformed file (store left empty). */
int sim_store_load(struct sim_store *st);

/* Write the store atomically to its path. 0 / -1 (memory-only stores: 0). */
int sim_store_save(const struct sim_store *st);

/* 1 if number is acceptable as an account number: 5..20 digits, no leading 0. */
int sim_number_valid(const char *number);

/* Add an account. Returns 0 and sets *out (borrowed), -1 on a bad argument
 * or OOM, -2 if the number exists, -3 when SIM_MAX_ACCOUNTS is reached. */
int sim_store_account_add(struct sim_store *st, const char *number, const char *push_name,
			  const uint8_t identity_priv[32], const char *lid, uint32_t adv_raw_id,
			  struct sim_account **out);

/* Account by number (digits), or NULL. */
struct sim_account *sim_store_account_find(const struct sim_store *st, const char *number);
/* The account whose LID user is lid, or NULL. */
struct sim_account *sim_store_account_find_lid(const struct sim_store *st, const char *lid);

/* Account whose number equals the decimal username, or NULL. */
struct sim_account *sim_store_account_find_u64(const struct sim_store *st, uint64_t username);

/* Device id of acc, or NULL. */
struct sim_device *sim_account_device(const struct sim_account *acc, uint16_t id);

/* Reserve the next companion slot and key index (acc->next_device++,
 * acc->next_key_index++): done when a phone scans, before the companion
 * has proven itself, so slots are never reused. 0 / -1 (exhausted). */
int sim_account_reserve_slot(struct sim_account *acc, uint16_t *slot, uint32_t *key_index);

/* Append a new device with slot id (all key fields zero); *out borrowed.
 * -1 on OOM, an id in use, or when SIM_MAX_DEVICES is reached. */
int sim_account_device_add(struct sim_account *acc, uint16_t id, struct sim_device **out);

/* Unlink and free device id (its queue too). The caller must have closed /
 * detached its connection first. 0, or -1 if not found. */
int sim_account_device_remove(struct sim_account *acc, uint16_t id);

/* Set the device's ADV identity (copied). 0 / -1. */
int sim_device_set_adv(struct sim_device *d, const uint8_t *adv, size_t len);

/* Append an encoded stanza (copied) to the offline queue. 0, or -1 when the
 * queue is full or on OOM (nothing queued). */
int sim_device_queue_push(struct sim_device *d, const uint8_t *data, size_t len);

/* Detach the queue: returns the list head (caller frees each entry with
 * sim_qnode_free) and empties the device's queue. */
struct sim_qnode *sim_device_queue_take(struct sim_device *d);

/* Free one queue entry. NULL-safe. */
void sim_qnode_free(struct sim_qnode *q);

/* Keep a delivered message until the device answers it: id, from and
 * participant (NULL = none) and the encoded stanza data (copied; it should
 * carry offline="1", it is sent as it is at the next login). Appended after
 * what is kept already, so the list stays in delivery order. When the list
 * is full (SIM_UNANSWERED_MAX entries or SIM_UNANSWERED_MAX_BYTES bytes)
 * the oldest entries are dropped to make room (counted in d->udropped).
 * Returns how many were dropped (the caller logs it), or -1 on a bad
 * argument (an id or JID too
 * long to keep, len over the byte cap) or OOM: then nothing changed. */
int sim_device_unanswered_add(struct sim_device *d, const char *tag, const char *id, const char *from,
			      const char *participant, const uint8_t *data, size_t len);

/* Forget the kept messages whose id is id and for which match(ctx, entry)
 * returns 1 (match NULL: every one with that id): the device answered
 * them. Returns how many were removed. */
int sim_device_unanswered_remove(struct sim_device *d, const char *id,
				 int (*match)(void *ctx, const struct sim_unanswered *u), void *ctx);

#endif
