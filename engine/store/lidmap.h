/* engine/store/lidmap: which phone number a peer's LID stands for, and the
 * name of a peer device's Signal session (db/migrations/0020_lid_map.sql).
 *
 * WhatsApp addresses a user by phone number ("<pn>@s.whatsapp.net") or by
 * LID ("<lid>@lid"); both name the same devices, and each device keeps one
 * Signal session with us whichever way a message was addressed. So the
 * engine names a session by the phone number whenever it knows the LID's
 * number (a LID-only peer, whose number is hidden, has LID-named sessions:
 * "<lid>_1"), for sending and receiving alike; our own LID is named by our
 * own number.
 *
 * wa_lidmap_put: lid and pn are user parts (digits, no server, no device);
 * an existing mapping of lid is replaced. 0 or WA_ESTORAGE.
 * wa_lidmap_pn: the number of lid into pn (cap bytes): 1 known, 0 not
 * (pn ""), WA_ESTORAGE.
 * wa_lidmap_name: the Signal address of the device JID dev when its user's
 * number is pn ("" unknown): a LID device with a number is named by the
 * number, anything else as wa_sig_addr_from_wajid() names it. 0 or
 * WA_EINVAL (no Signal address for dev). No database.
 * wa_lidmap_addr: the same with the number looked up (wa_lidmap_pn) for a
 * LID device. 0, WA_ESTORAGE or WA_EINVAL.
 *
 * Threading: dbpool threads (the caller's connection, inside or outside
 * its transaction); wa_lidmap_name any thread. */
#ifndef WA_STORE_LIDMAP_H
#define WA_STORE_LIDMAP_H

#include "wa/jid.h"
#include "wa/signal.h"
#include "wa/signal_node.h"

#include <stddef.h>
#include <stdint.h>

struct wa_db;

int wa_lidmap_put(struct wa_db *db, uint64_t session_row, const char *lid, const char *pn);
int wa_lidmap_pn(struct wa_db *db, uint64_t session_row, const char *lid, char *pn, size_t cap);
int wa_lidmap_name(const struct wa_jid *dev, const char *pn, wa_sig_addr *out);
int wa_lidmap_addr(struct wa_db *db, uint64_t session_row, const struct wa_jid *dev, wa_sig_addr *out);

#endif
