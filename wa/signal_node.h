/* wa/signal_node: the key-distribution stanzas (docs/protocol.md §5 pre-keys, §8.4
 * retry receipts) read into and built from wa/signal types, for the engine
 * and for wa-sim. Kept apart from wa/signal so that module does not depend on
 * the node codec.
 *
 * Wire layout (§5): <registration> 4 bytes BE, <type> 0x05, <identity> 32,
 * <skey><id> 3 <value> 32 <signature> 64, <key><id> 3 <value> 32.
 * Ownership: built nodes are new trees the caller frees with wa_node_free()
 * (or hands to wa_node_add_child). Pure functions besides the wa_sig reads;
 * thread-safety as wa/signal. Errors are wa_sig_err codes. */
#ifndef WA_SIGNAL_NODE_H
#define WA_SIGNAL_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "wa/jid.h"
#include "wa/node.h"
#include "wa/signal.h"

/* Signal address of a JID (§7.2): 0 or WA_SIG_INVALID (servers without
 * Signal sessions: groups, broadcast, newsletter, ...). */
int wa_sig_addr_from_wajid(const struct wa_jid *jid, wa_sig_addr *out);

/* Read a bundle from a <user> of a <key> fetch reply (§5.4) or from a retry
 * <receipt> (§8.4). Each field is taken from a child of n, or else from n's
 * <keys> child (WM accepts both; retry receipts carry <registration> beside
 * <keys>). WA_SIG_NOT_FOUND if n carries an <error> child (the server has
 * no keys for that device), WA_SIG_INVALID if a field is missing or has the
 * wrong length. */
int wa_sig_bundle_from_node(const struct wa_node *n, wa_sig_bundle *out);

/* A <user jid="..."> fetch-reply element for b (what wa-sim answers). */
struct wa_node *wa_sig_bundle_user_node(const char *jid, const wa_sig_bundle *b);

/* The pre-key upload IQ (§5.1) with our identity, signed pre-key spk_id and
 * the n one-time pre-keys pks (as returned by wa_sig_prekeys_generate):
 * <iq id=id to="s.whatsapp.net" type="set" xmlns="encrypt">...</iq>.
 * NULL on error (no identity, unknown spk_id, n == 0, out of memory). */
struct wa_node *wa_sig_upload_iq(wa_sig *s, const char *id, uint32_t spk_id, const wa_sig_prekey *pks,
				 size_t n);

/* Read an upload IQ (wa-sim's side): base gets registration id, identity and
 * signed pre-key (has_prekey 0); up to max keys go to out, *n gets how many
 * the <list> holds. WA_SIG_INVALID on a malformed element, WA_SIG_TOOBIG if
 * the list holds more than max. */
int wa_sig_upload_parse(const struct wa_node *iq, wa_sig_bundle *base, wa_sig_prekey *out, size_t max,
			size_t *n);

/* Append <registration>uint32_be(our registration id)</registration> to
 * parent (retry receipts, §8.4). */
int wa_sig_add_registration(wa_sig *s, struct wa_node *parent);

/* The <keys> element of a retry receipt (§8.4): type, identity, the
 * one-time pre-key pk (NULL = none), signed pre-key spk_id and, when
 * dev_identity is non-NULL, <device-identity> with those bytes. */
struct wa_node *wa_sig_retry_keys_node(wa_sig *s, uint32_t spk_id, const wa_sig_prekey *pk,
				       const uint8_t *dev_identity, size_t dev_identity_len);

#endif
