/* sim_state.h: wa-sim's account state layer (simstate engineer) -
 * app state ("syncd", docs/protocol.md 11.1-11.6), history sync on pairing
 * (11.7), presence and chat state (11.8), profile (11.9) and blocklist
 * (11.10).
 *
 *   sim_appstate.c   per-account collections of versioned patches, the
 *                    w:sync:app:state IQ, server_sync notifications, the
 *                    phone's app-state key (key share / key request) and
 *                    the phone's own mutations; the history-sync blob
 *   sim_presence.c   <presence>, <chatstate>, status (about), profile
 *                    picture and blocklist IQs
 *   sim_admin_state.c  admin routes (/admin/phones/{n}/appstate, presence,
 *                    typing, picture, block ...)
 *
 * What the server keeps per account (struct sim_acstate, hung off
 * struct sim_account): for each of the five collections the patches in
 * version order as the clients sent them, re-serialized with their version
 * (wa_appstate_patch_set_version); the phone's view of every collection
 * (decrypted, verified with the LT-hash and MACs); the phone's app-state
 * key; presence subscribers; profile picture; blocklist. Runtime only: a
 * restarted wa-sim starts with empty collections and a new key (paired
 * companions must then re-sync from version 0, as after a logout).
 *
 * Threads: the lws service thread only, like the rest of wa-sim.
 * Limits: SIM_AS_PATCHES_MAX patches per collection, SIM_AS_PATCH_MAX bytes
 * per patch, SIM_AS_COLL_BYTES per collection, SIM_AS_REPLY_PATCHES and
 * SIM_AS_REPLY_BYTES per sync reply (has_more_patches),
 * SIM_SUBS_MAX presence subscribers, SIM_BLOCK_MAX blocked JIDs,
 * SIM_PICTURE_MAX bytes of picture. */
#ifndef SIM_STATE_H
#define SIM_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define SIM_AS_PATCHES_MAX 10000
#define SIM_AS_PATCH_MAX (1u << 20)
#define SIM_AS_REPLY_PATCHES 200
#define SIM_AS_REPLY_BYTES (8u << 20)     /* patch bytes per sync reply */
#define SIM_AS_COLL_BYTES (32u << 20)     /* stored patch bytes per collection */
#define SIM_SUBS_MAX 1024
#define SIM_BLOCK_MAX 1024
#define SIM_PICTURE_MAX (1u << 20)
#define SIM_AS_RECORDS_MAX 100000

struct wa_appstate_state;
struct json_t;

/* One collection: patches[i] is the patch of version i+1 (consecutive). */
struct sim_as_coll {
	uint64_t version;
	struct sim_as_patch {
		uint8_t *data;                   /* SyncdPatch with version set */
		size_t len;
	} *patches;
	size_t cap;
	size_t bytes;                        /* sum of the stored patch sizes */
	struct wa_appstate_state *view;      /* the phone's verified state */
	struct json_t *entries;              /* the phone's view: index JSON -> value summary */
	int view_broken;                     /* a patch the phone could not verify */
	/* live records (what a snapshot holds): kept by the server from the
	 * patches it stores, without decrypting anything */
	struct sim_as_rec {
		uint8_t index_mac[32];
		uint8_t *value;                  /* value blob: iv || ciphertext || valueMAC */
		size_t vlen;
		uint8_t key_id[64];
		size_t key_id_len;
	} *recs;
	size_t nrecs, rcap;
	int no_snapshot;                     /* a patch with external mutations: serve patches only */
};

/* A chat state the account's phone saw (admin view: what the person
 * holding the phone would see as "typing…"). */
#define SIM_HEARD_MAX 32
struct sim_heard {
	char from[SIM_NUMBER_MAX + 1];       /* who typed */
	char chat[176];                      /* the chat: the typer's JID, or the group */
	char state[16];                      /* composing, recording, paused */
	uint64_t t;
};

struct sim_sub {
	char number[SIM_NUMBER_MAX + 1];
	uint16_t dev;
};

/* Internal to sim_appstate.c / sim_presence.c / sim_admin_state.c. */
struct sim_acstate {
	struct sim_as_coll coll[5];          /* in wa_appstate_collection() order */
	int has_key;
	uint8_t key_id[6];                   /* app-state sync key of the phone */
	uint8_t key_data[32];
	int64_t key_ts;                      /* ms */
	char push_name[SIM_PUSHNAME_MAX + 1];/* setting_pushName the phone read from a patch, "" none */
	uint16_t shared[SIM_MAX_DEVICES];    /* companions that got the key share */
	size_t nshared;
	/* presence */
	int available;
	uint64_t last_seen;
	struct sim_sub *subs;                /* who subscribed to this account's presence */
	size_t nsubs;
	/* profile */
	uint8_t *picture;
	size_t picture_len;
	uint64_t picture_id;
	/* privacy settings (11.10): values of sim_privacy_names[], "" = default */
	char privacy[10][24];
	uint32_t disappearing;               /* default disappearing timer, seconds */
	/* chat states the phone saw, a ring of the last SIM_HEARD_MAX */
	struct sim_heard heard[SIM_HEARD_MAX];
	size_t nheard;                       /* total seen; heard[(nheard - 1) % MAX] is the newest */
	/* blocklist (PN users) */
	char (*blocked)[SIM_NUMBER_MAX + 1];
	size_t nblocked;
};

struct sim_acstate;

/* The state of account a, created on first use (NULL on OOM). Freed with
 * the account (sim_acstate_free from sim_store.c). */
struct sim_acstate *sim_acstate_get(struct sim_server *s, struct sim_account *a);
void sim_acstate_free(struct sim_acstate *st);

/* ---- app state (sim_appstate.c) ---- */

/* IQ xmlns="w:sync:app:state" type="set" <sync>: fetch and/or push. */
int sim_iq_appstate(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);

/* A companion of a became ready (first pre-key upload): the phone sends it
 * the app-state key share and, once per device, the initial history sync
 * (an INITIAL_BOOTSTRAP chunk, then a PUSH_NAME chunk, 11.7). */
void sim_state_companion_ready(struct sim_server *s, struct sim_account *a, uint16_t dev);

/* The phone of a got a peer protocolMessage from its own device dev:
 * answers APP_STATE_SYNC_KEY_REQUEST with a key share. proto is a
 * WaE2E__ProtocolMessage (void* to keep protobuf out of this header). */
void sim_state_on_peer_protocol(struct sim_server *s, struct sim_account *a, uint16_t dev, const void *proto);

/* The phone of a writes an app-state mutation: action one of "archive",
 * "pin", "mute", "markRead", "pushName", "label" (label_jid), "labelEdit",
 * "contact", "star", "rotateKey" (a new key the companions do not have
 * until they ask for it); jid the chat; value on/off; name for pushName/
 * labelEdit/contact; label the label id; msg_id and from_me the starred
 * message (star). Builds, encrypts and stores the patch, notifies the
 * companions. 200 or an HTTP-like status with *why. */
int sim_appstate_phone_write(struct sim_server *s, struct sim_account *a, const char *action, const char *jid,
			     int value, const char *name, const char *label, const char *msg_id, int from_me,
			     const char **why);

/* The phone's decrypted view of every collection as JSON text
 * ({"<collection>": {"version", "entries": [{"index": [...], "value": {...}}]}}),
 * malloc'd; NULL on OOM. */
char *sim_appstate_phone_view(struct sim_server *s, struct sim_account *a);

/* ---- presence, chat state, profile, blocklist (sim_presence.c) ---- */

int sim_node_presence(struct sim_conn *c, struct wa_node *n);
int sim_node_chatstate(struct sim_conn *c, struct wa_node *n);
int sim_iq_status(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);
int sim_iq_picture(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);
int sim_iq_blocklist(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);
int sim_iq_privacy(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);
int sim_iq_abt(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);
int sim_iq_disappearing(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);

/* Presence of a as the phone sets it (available / unavailable) with its
 * push name, relayed to subscribers. 0 / -1. */
int sim_presence_set(struct sim_server *s, struct sim_account *a, int available);
/* The phone of a types in chat `to` (a user): state "composing",
 * "recording" or "paused" to every device of to. 0 / -1 (no such user). */
int sim_chatstate_phone(struct sim_server *s, struct sim_account *a, const char *to, const char *state);
/* 1 if account a blocked number (digits). */
int sim_is_blocked(struct sim_server *s, struct sim_account *a, const char *number);
/* Block / unblock in a's list (no one told). 0 / -1. */
int sim_block_set(struct sim_server *s, struct sim_account *a, const char *number, int block);
/* The same done on the phone (admin): a's companions get the account_sync
 * blocklist notification, as after a companion's blocklist IQ. 0 / -1. */
int sim_block_phone(struct sim_server *s, struct sim_account *a, const char *number, int block);
/* Profile picture of a: set (copied JPEG bytes; NULL/0 removes). 0 / -1. */
int sim_picture_set(struct sim_server *s, struct sim_account *a, const uint8_t *jpeg, size_t len);
/* JSON of presence/subscribers/blocklist/picture for the admin API (malloc'd). */
char *sim_state_summary(struct sim_server *s, struct sim_account *a);

/* Admin routes of this layer: /admin/phones/{n}/<sub>. HTTP status with
 * *reply set, or 0 when sub is not one of its routes (sim_admin_state.c). */
struct json_t;
/* The phone of a sends its history sync to companion dev again (the two
 * chunks of 11.7); with missing_blob they name blobs the media host does
 * not have (it answers 404). 0, or -1 (no such device, no media host for
 * missing_blob, send failed). */
int sim_history_send(struct sim_server *s, struct sim_account *a, uint16_t dev, int missing_blob);

int sim_admin_state(struct sim_server *s, struct sim_account *a, const char *method, const char *sub,
		    struct json_t *in, struct json_t **reply);

#endif
