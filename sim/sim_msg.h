/* sim_msg.h: wa-sim's messaging layer (simmsg engineer) - simulated phones
 * as real Signal clients, the server's pre-key table, usync, message and
 * receipt relay, groups, and the admin routes that drive phones.
 *
 *   sim_prekeys.c  per-device key table (encrypt IQs, docs/protocol.md §5)
 *   sim_phone.c    the phone of an account: Signal state, inbox/outbox,
 *                  encrypt to / decrypt from companions (§7, §8)
 *   sim_usync.c    usync IQ (§6)
 *   sim_msg.c      <message> / <receipt> relay, acks, offline queue, the
 *                  answers that end keeping a delivered message (§7, §8)
 *   sim_groups.c   w:g2 IQs, w:gp2 notifications, skmsg fan-out (§10)
 *   sim_admin_msg.c admin routes /send /inbox /outbox /read /groups
 *
 * Threads: like the rest of wa-sim, only the lws service thread.
 * Ownership: a phone (struct sim_phone) hangs off its sim_account, a key
 * table (struct sim_devkeys) off its sim_device, the group table off the
 * sim_store; the store frees them (sim_phone_free, sim_devkeys_free,
 * sim_groups_free) with their owner. None of this is persisted: after a
 * restart phones get a fresh Signal store (same identity key), so old
 * sessions of companions with a phone fail and must be rebuilt.
 *
 * Limits: SIM_INBOX_MAX messages kept per phone (oldest dropped),
 * SIM_OUTBOX_MAX sent messages kept for receipts and retries,
 * SIM_DEVKEYS_MAX one-time pre-keys per device, SIM_FETCH_MAX users per
 * key fetch / usync, SIM_GROUP_MAX groups, SIM_GROUP_MEMBERS_MAX members. */
#ifndef SIM_MSG_H
#define SIM_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"
#include "wa/signal.h"

#define SIM_INBOX_MAX 1000
#define SIM_OUTBOX_MAX 256
#define SIM_DEVKEYS_MAX 2000
#define SIM_FETCH_MAX 1024
#define SIM_PHONE_PREKEYS 100        /* one-time pre-keys a phone keeps on the server */
#define SIM_PREKEY_LOW 5             /* "pre-key low" notification below this */
#define SIM_GROUP_MAX 1000
#define SIM_GROUP_MEMBERS_MAX 1024
#define SIM_TEXT_MAX 65536

/* ---- server pre-key table (sim_prekeys.c) ---- */

struct sim_devkeys {
	wa_sig_bundle base;                /* registration, identity, signed pre-key (has_prekey 0) */
	int has_base;                      /* an upload happened */
	wa_sig_prekey *keys;               /* one-time pre-keys, oldest first */
	size_t nkeys, cap;
};

void sim_devkeys_free(struct sim_devkeys *k);

/* The account and device a JID names ("<pn>[:dev]@s.whatsapp.net" or
 * "<lid>[:dev]@lid"); *dev_out the device id (0 = the phone). NULL if no
 * such account. Does not check that the device exists. */
struct sim_account *sim_resolve_user(struct sim_server *s, const struct wa_jid *j, uint16_t *dev_out);

/* 1 if account a has device dev (0 = the phone, always there). */
int sim_device_exists(const struct sim_account *a, uint16_t dev);

/* Fill b with the bundle of (a, dev), consuming one one-time pre-key.
 * Devices that never uploaded give their registration-payload keys and no
 * one-time key. Sends the "pre-key low" notification when the stock runs
 * low. 0, or -1 if the device does not exist. */
int sim_prekeys_fetch(struct sim_server *s, struct sim_account *a, uint16_t dev, wa_sig_bundle *b);

/* IQ handlers (rows in sim_iq_handlers[]): xmlns="encrypt" */
int sim_iq_prekey_upload(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);
int sim_iq_prekey_count(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);
int sim_iq_prekey_fetch(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);
int sim_iq_prekey_rotate(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);
int sim_iq_prekey_digest(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);

/* ---- usync (sim_usync.c) ---- */
int sim_iq_usync(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);

/* The <devices> element of account a for usync (device-list + signed
 * key-index-list). NULL on OOM. */
struct wa_node *sim_devices_node(struct sim_server *s, const struct sim_account *a);

/* ---- phones (sim_phone.c) ---- */

enum sim_msg_status {
	SIM_ST_PENDING = 0, /* sent, no device has it yet (recipients offline) */
	SIM_ST_SERVER,      /* acked by the server */
	SIM_ST_DELIVERED,
	SIM_ST_READ,
	SIM_ST_PLAYED,
	SIM_ST_ERROR,       /* received but could not be decrypted */
};
const char *sim_msg_status_name(int st);

/* One message in a phone's inbox (received) or outbox (sent). */
struct sim_msgrec {
	char id[WA_MSGID_MAX + 1];
	char chat[WA_JID_STR_MAX];          /* user or group JID, no device */
	char sender[WA_JID_STR_MAX];        /* device JID of the author */
	int from_me;                        /* own companion's message (device-sent copy) */
	char type[24];                      /* text, image, location, reaction, ... */
	char *text;                         /* text / caption / reaction emoji (malloc) */
	char quoted_id[WA_MSGID_MAX + 1];   /* reply: stanzaID; reaction: target id */
	double lat, lng;                    /* location */
	char *extra;                        /* JSON object text with kind-specific fields (malloc) */
	uint64_t t;
	int status;                         /* enum sim_msg_status */
	int retries;                        /* retry receipts answered (outbox) */
	uint8_t *plain;                     /* outbox: serialized Message (for retries) */
	size_t plain_len;
	char stanza_type[16];               /* outbox: message type attr */
	uint8_t secret[32];                 /* messageContextInfo.messageSecret (polls) */
	int has_secret;
};

struct sim_phone;

/* The phone of account a, created on first use (Signal identity = the
 * account identity key, fresh pre-keys registered with the server). NULL on
 * OOM / crypto failure. */
struct sim_phone *sim_phone_get(struct sim_server *s, struct sim_account *a);
void sim_phone_free(struct sim_phone *p);

/* Server-side key table of the phone (device 0). */
struct sim_devkeys *sim_phone_keys(struct sim_phone *p);

/* Forget the phone's Signal session with device jid (fault injection: the
 * next message from that device fails to decrypt, the phone asks for it
 * again with a retry receipt). 1 if there was one, 0 if not, -1 on a bad
 * JID. */
int sim_phone_forget_session(struct sim_phone *p, const char *jid);

/* The phone reinstalls WhatsApp: a new identity key, pre-keys and Signal
 * state (no sessions, no sender keys); its inbox and outbox stay. 0, -2
 * when companions are linked (their signatures name the old identity;
 * WhatsApp unlinks them), -1 on failure (nothing changed). */
int sim_phone_reinstall(struct sim_server *s, struct sim_account *a);

/* The phone's "about" text ("" = default). */
const char *sim_phone_about(struct sim_phone *p);
int sim_phone_set_about(struct sim_phone *p, const char *about);

/* Inbox / outbox (borrowed, oldest first). */
size_t sim_phone_inbox(struct sim_phone *p, const struct sim_msgrec **out);
size_t sim_phone_outbox(struct sim_phone *p, const struct sim_msgrec **out);

/* The phone device (a, 0) gets a relayed <message> stanza (as the server
 * would deliver it: from, id, t, type, participant/recipient, enc...).
 * It decrypts every enc, stores the message, and answers with a delivery
 * receipt (or a retry receipt when it cannot decrypt). 0 / -1. */
int sim_phone_receive(struct sim_server *s, struct sim_account *a, struct wa_node *msg);

/* A <receipt> relayed to the phone (from a device of another account, or
 * own companion): updates the outbox status; type="retry" re-encrypts the
 * message for the requesting device with a fresh session. */
int sim_phone_on_receipt(struct sim_server *s, struct sim_account *a, struct wa_node *rcpt);

/* Send a waE2E.Message (serialized, not padded) from the phone of a to
 * chat (a user JID or a group JID): encrypts to every device of the peer
 * and the phone's own companions (device-sent copy), delivers, records it
 * in the outbox under id (generated into id_out). stanza_type: "text",
 * "media", "reaction", "poll". summary (may be NULL) is what the outbox
 * shows. 0, or -1 with *why set. */
int sim_phone_send(struct sim_server *s, struct sim_account *a, const char *chat, const uint8_t *msg,
		   size_t len, const char *stanza_type, const struct sim_msgrec *summary, char *id_out,
		   size_t id_cap, const char **why);

/* The same to status@broadcast (§7.8): a status for the n accounts of
 * audience (and the phone's own companions), as a sender-key message
 * whose <participants> list their devices. */
int sim_phone_send_status(struct sim_server *s, struct sim_account *a, struct sim_account *const *audience, int n,
			  const uint8_t *msg, size_t len, const char *stanza_type, const struct sim_msgrec *summary,
			  char *id_out, size_t id_cap, const char **why);

/* Send the phone's outbox message id again, unchanged (same id, time and
 * content, over the sessions there are), to every device of its 1:1 chat
 * and the phone's companions: what a sender does after a retry receipt,
 * so the receivers see the same stanza twice. How many devices it went
 * to, or -1 (no such message, or a group's). */
int sim_phone_resend(struct sim_server *s, struct sim_account *a, const char *id);

/* A peer message (category="peer", push_priority="high_force") from the
 * phone of a to its own companion dev (serialized waE2E.Message, not
 * padded): app-state key shares, history-sync notifications. 0 / -1. */
int sim_phone_send_peer(struct sim_server *s, struct sim_account *a, uint16_t dev, const uint8_t *msg, size_t len);

/* Mark inbox messages ids read and send read receipts to their senders
 * (grouped by chat + sender). Returns how many ids were found. */
int sim_phone_read(struct sim_server *s, struct sim_account *a, const char *const *ids, size_t n,
		   const char *type);

/* Add / update a received or sent record (copied; strings duplicated). */
int sim_phone_record(struct sim_phone *p, int outbox, const struct sim_msgrec *r);

/* Fault injection: drop the next n <message> deliveries to any device of
 * the phone's account (the sender is still acked); 0 clears. Returns the
 * counter (sim_phone_drop_take decrements it and says whether to drop). */
void sim_phone_drop_set(struct sim_phone *p, unsigned n);
unsigned sim_phone_drop_get(struct sim_phone *p);
int sim_phone_drop_take(struct sim_phone *p);
/* Only messages from this phone number count ("" or NULL: any sender). */
void sim_phone_drop_from(struct sim_phone *p, const char *number);
/* Whether a message from sender (a device or user JID) is one to drop. */
int sim_phone_drop_matches(struct sim_phone *p, const char *sender);

/* The phone's Signal state (for groups). */
wa_sig *sim_phone_sig(struct sim_phone *p);

/* ---- relay (sim_msg.c) ---- */

/* Deliver a stanza to device dev of account a: the phone (dev 0) handles
 * messages and receipts itself, companions get it via sim_deliver (the
 * node may be changed: offline attribute). 0 / -1. */
int sim_deliver_to(struct sim_server *s, struct sim_account *a, uint16_t dev, struct wa_node *n);

/* Device JID string of (a, dev) in PN form ("<pn>@s.whatsapp.net" for dev 0). */
void sim_device_jid(const struct sim_account *a, uint16_t dev, char *buf, size_t cap);

/* Route a <message> as sent by device (a, dev) in client form (to,
 * participants / enc / device-identity): 1:1, own-device copies, peer
 * messages and groups. Phones use it for their own sends. 0, or -1 with
 * *err an ack error code. */
int sim_relay_message(struct sim_server *s, struct sim_account *a, uint16_t dev, struct wa_node *n,
		      const char **err);

/* Route a <receipt> in client form (to, id, type, participant, list...)
 * from device (a, dev) to the devices of its target. 0 / -1. */
int sim_receipt_relay(struct sim_server *s, struct sim_account *a, uint16_t dev, const struct wa_node *r);

/* Top-level handlers (rows in sim_node_handlers[]). */
int sim_node_message(struct sim_conn *c, struct wa_node *n);
int sim_node_receipt(struct sim_conn *c, struct wa_node *n);

/* An answer of the logged-in companion c to messages delivered to it
 * (§8.3): a <receipt> of any type (its id and the ids of its <list><item>s)
 * or an <ack class="message" id>. Its `to` must name the message's from
 * (the same JID, PN or LID form, or the account without a device) and,
 * for a message with a participant, its `participant` that participant.
 * The device stops keeping the messages it names (sim_store.h: they are
 * not delivered again at its next login). Returns how many it named. */
int sim_unanswered_answer(struct sim_conn *c, const struct wa_node *n);

/* <ack class id from [type] t [error]> for n (type copied except for class
 * message), or NULL on OOM; the caller frees it. */
struct wa_node *sim_ack_node(struct sim_server *s, const char *cls, const struct wa_node *n, const char *from,
			     const char *error);

/* Send <ack class id from [type] [error]> for n to the connection. */
int sim_send_ack(struct sim_conn *c, const char *cls, const struct wa_node *n, const char *from,
		 const char *error);

/* ---- groups (sim_groups.c) ---- */
struct sim_groups;
void sim_groups_free(struct sim_groups *g);
int sim_iq_groups(struct sim_conn *c, struct wa_node *iq, struct wa_node *child);

/* A group message from device (a, dev) (the stanza as the client sent it,
 * or built by a phone): ack is done by the caller; fans out the
 * participants' SKDMs and the skmsg to every member device. 0, or -1 with
 * *err an ack error code ("404" no group, "403" not a member). */
int sim_group_relay(struct sim_server *s, struct sim_account *a, uint16_t dev, struct wa_node *msg,
		    const char **err);

/* The participant hash of group gjid as the server computes it for the
 * ack of a group message (§7.4, wa_phash): over every device of every
 * member, the sender's included. 0, or -1 (no such group / OOM). */
int sim_group_phash(struct sim_server *s, const char *gjid, char out[11]);

/* Members of group gjid (account pointers, borrowed) into out (up to max);
 * returns the count or -1 when there is no such group. */
int sim_group_members(struct sim_server *s, const char *gjid, struct sim_account **out, size_t max);

/* Act as phone a: create a group (subject, member numbers) -> jid_out;
 * add/remove/promote/demote members; leave. 0 or an HTTP-like status with
 * *why. */
int sim_group_admin_create(struct sim_server *s, struct sim_account *a, const char *subject,
			   const char *const *members, size_t n, char *jid_out, size_t cap, const char **why);
/* The same as a community when community is set (§10.4): the parent group
 * and its announcement group (its jid in sub_out when given). */
int sim_group_admin_community(struct sim_server *s, struct sim_account *a, int community, const char *subject,
			      const char *const *members, size_t n, char *jid_out, size_t cap, char *sub_out,
			      size_t subcap, const char **why);
/* Link (link set) or unlink groups to the community cjid as phone a (its
 * admin: 403; 404 no such group; 400 not a community, no groups):
 * *results {"<group jid>": status}, each as community_iq gives it. */
struct json_t;
int sim_group_admin_link(struct sim_server *s, struct sim_account *a, const char *cjid, int link,
			 const char *const *groups, size_t n, struct json_t **results, const char **why);
int sim_group_admin_change(struct sim_server *s, struct sim_account *a, const char *gjid, const char *op,
			   const char *const *members, size_t n, const char **why);
/* A setting changed by phone a, as group_setting does for an IQ: op is
 * "description" (arg the text, NULL/"" deletes), "ephemeral" (arg seconds,
 * "0" or NULL turns it off), "announcement", "not_announcement", "locked",
 * "unlocked", "invite" (revoke: a new code in code_out), "invite-code"
 * (admins: the current code) or "join" (arg the invite code). 0 or an
 * HTTP-like status with *why. */
int sim_group_admin_setting(struct sim_server *s, struct sim_account *a, const char *gjid, const char *op,
			    const char *arg, char *code_out, size_t cap, const char **why);

/* The group as the server holds it, for the admin API (GET
 * /admin/groups/{jid}): jid, subject, subjectOwner, description, announce,
 * locked, ephemeral, inviteCode, pictureId, picture {bytes, width,
 * height} when set, participants [{number, admin}]. NULL: no such group. */
struct json_t;
struct json_t *sim_group_admin_view(struct sim_server *s, const char *gjid);

/* Group picture (§10.1, §11.9). Set as device (a, dev): jpeg/len copied
 * (NULL/0 removes); only an admin may (403; 404 no group; 406 over
 * SIM_PICTURE_MAX; 500 no memory); a new id on every set (*id_out, 0 on
 * remove); every other member device gets <notification type="picture">
 * with <set jid=group id author/> or <delete jid=group author/>. Get as
 * member a: *jpeg (borrowed, valid until the next change), *len, *id; 0,
 * 404 no group / no picture, 401 not a member. */
int sim_group_picture_set(struct sim_server *s, struct sim_account *a, uint16_t dev, const char *gjid,
			  const uint8_t *jpeg, size_t len, uint64_t *id_out);
int sim_group_picture_get(struct sim_server *s, const struct sim_account *a, const char *gjid,
			  const uint8_t **jpeg, size_t *len, uint64_t *id);

#endif
