/* jid: WhatsApp addresses ("JIDs") - parse, format, normalise, validate.
 *
 * A JID is user@server. Device JIDs ("AD JIDs") name one device of an
 * account: user:device@server (whatsmeow also writes an agent,
 * user.agent:device@server; Baileys writes user_agent:device@server - both
 * parse). Servers (docs/protocol.md section 0): s.whatsapp.net (phone-number
 * users), lid (hidden users), g.us (groups), broadcast (status@broadcast and
 * broadcast lists), newsletter, c.us (legacy, normalised to s.whatsapp.net),
 * hosted, hosted.lid, msgr, interop, bot, call. The server itself is the JID
 * with an empty user, written "s.whatsapp.net" (also "@s.whatsapp.net").
 *
 * struct wa_jid is a plain value with fixed-size fields (no allocation, copy
 * with `=`). User and server lengths are capped (WA_JID_USER_MAX,
 * WA_JID_SERVER_MAX); longer input is rejected, never truncated.
 * Every function is pure and thread-safe. Functions that can fail return 0
 * or -1 and, when `why` is not NULL, point *why at a static lower-case reason
 * ("user part has a non-digit"); *out is written only on success.
 *
 * Used by: the binary-node codec (JID-typed attributes), the engine, wa-sim
 * and the REST workers (wa_jid_parse, wa_jid_format, wa_jid_from_user_input,
 * wa_jid_is_group ...). */
#ifndef WA_JID_H
#define WA_JID_H

#include <stddef.h>
#include <stdint.h>

#define WA_JID_USER_MAX   128  /* bytes, without NUL */
#define WA_JID_SERVER_MAX 31
/* Longest wa_jid_format() output including NUL:
 * user "." agent(3) ":" device(5) "@" server NUL */
#define WA_JID_STR_MAX (WA_JID_USER_MAX + 1 + 3 + 1 + 5 + 1 + WA_JID_SERVER_MAX + 1)

#define WA_SERVER_USER       "s.whatsapp.net"
#define WA_SERVER_LID        "lid"
#define WA_SERVER_GROUP      "g.us"
#define WA_SERVER_LEGACY     "c.us"
#define WA_SERVER_BROADCAST  "broadcast"
#define WA_SERVER_NEWSLETTER "newsletter"
#define WA_SERVER_HOSTED     "hosted"
#define WA_SERVER_HOSTED_LID "hosted.lid"
#define WA_SERVER_MSGR       "msgr"
#define WA_SERVER_INTEROP    "interop"
#define WA_SERVER_BOT        "bot"
#define WA_SERVER_CALL       "call"

/* AD_JID domain bytes (docs/protocol.md 3.6). */
#define WA_DOMAIN_WHATSAPP   0
#define WA_DOMAIN_LID        1
#define WA_DOMAIN_HOSTED     128
#define WA_DOMAIN_HOSTED_LID 129

/* Phone numbers accepted by wa_jid_from_user_input(): digits only after
 * stripping separators, this many digits inclusive. */
#define WA_PHONE_MIN_DIGITS 5
#define WA_PHONE_MAX_DIGITS 20

struct wa_jid {
	char user[WA_JID_USER_MAX + 1];     /* "" for server JIDs */
	char server[WA_JID_SERVER_MAX + 1]; /* never "" in a valid JID */
	uint8_t agent;       /* raw agent (whatsmeow RawAgent); 0 normally */
	uint16_t device;     /* 0 = the account / primary device */
	uint16_t integrator; /* interop JIDs only */
};

/* Build user@server (device 0). Returns -1 if a part is too long or server
 * is empty. user may be NULL or "" (server JID). */
int wa_jid_make(struct wa_jid *out, const char *user, const char *server);

/* Build user:device@server. Same errors as wa_jid_make(). */
int wa_jid_make_ad(struct wa_jid *out, const char *user, uint16_t device, const char *server);

/* Parse the string forms: "server", "@server", "user@server",
 * "user:dev@server", "user.agent:dev@server", "user.agent@server",
 * "user_agent:dev@server". Device must be 0..65535 and agent 0..255 in
 * decimal. Rejects empty input, an empty server, more than one '@', control
 * characters, spaces, a '.' or '_' left in the user part, and over-long
 * parts, so that wa_jid_format() and wa_jid_parse() are inverse. Does NOT
 * rewrite c.us (see wa_jid_normalize()). */
int wa_jid_parse(const char *s, struct wa_jid *out, const char **why);

/* Same, for a string of len bytes that need not be NUL-terminated (an
 * embedded NUL is an error). */
int wa_jid_parse_n(const char *s, size_t len, struct wa_jid *out, const char **why);

/* Canonical string form into buf (cap bytes, NUL-terminated), whatsmeow
 * style: "user.agent:dev@server" when agent != 0, "user:dev@server" when
 * device != 0, "user@server", or "server" for an empty user. Returns the
 * length, or -1 if cap is too small (buf is then ""). WA_JID_STR_MAX always
 * suffices. */
int wa_jid_format(const struct wa_jid *j, char *buf, size_t cap);

/* Same without agent and device ("user@server"); e.g. a chat JID or the
 * JIDs in message-secret HKDF info (docs/protocol.md 7.7). */
int wa_jid_format_user(const struct wa_jid *j, char *buf, size_t cap);

/* Rewrite legacy c.us to s.whatsapp.net in place. Returns 1 if changed. */
int wa_jid_normalize(struct wa_jid *j);

/* Drop agent and device (account JID of a device JID). */
void wa_jid_to_non_ad(struct wa_jid *j);

/* The chat a JID string names: a user (agent and device dropped) or a
 * group, formatted into out. 0, or -1 for anything else (a broadcast, a
 * server, text that does not parse). */
int wa_jid_chat(const char *in, char out[WA_JID_STR_MAX]);

/* Validate and normalise a recipient typed by a person or sent to the REST
 * API. Accepts:
 *   - a phone number with optional '+', spaces, '-', '.', '(' and ')':
 *     "628123456789", "+62 812-345-6789" -> 628123456789@s.whatsapp.net
 *     (WA_PHONE_MIN_DIGITS..WA_PHONE_MAX_DIGITS digits, no leading 0);
 *   - a full JID on s.whatsapp.net / c.us (digits user, normalised to
 *     s.whatsapp.net), lid (digits), g.us (digits with at most one '-'),
 *     broadcast ("status" or digits), newsletter (digits);
 * Rejects device JIDs, other servers and everything else with a reason. */
int wa_jid_from_user_input(const char *in, struct wa_jid *out, const char **why);

/* Equality of all fields. */
int wa_jid_equal(const struct wa_jid *a, const struct wa_jid *b);

/* Same account: user and server equal, agent/device ignored. */
int wa_jid_same_user(const struct wa_jid *a, const struct wa_jid *b);

/* Classification (1 or 0). */
int wa_jid_is_user(const struct wa_jid *j);       /* s.whatsapp.net or lid, non-empty user */
int wa_jid_is_pn(const struct wa_jid *j);         /* s.whatsapp.net, non-empty user */
int wa_jid_is_lid(const struct wa_jid *j);        /* lid */
int wa_jid_is_group(const struct wa_jid *j);      /* g.us */
int wa_jid_is_broadcast(const struct wa_jid *j);  /* any @broadcast incl. status */
int wa_jid_is_status(const struct wa_jid *j);     /* status@broadcast */
int wa_jid_is_broadcast_list(const struct wa_jid *j); /* @broadcast but not status */
int wa_jid_is_newsletter(const struct wa_jid *j); /* newsletter */
int wa_jid_is_server(const struct wa_jid *j);     /* empty user (e.g. s.whatsapp.net) */
int wa_jid_is_ad(const struct wa_jid *j);         /* device != 0 or agent != 0 */

/* The AD_JID domain byte for j's server (0 s.whatsapp.net, 1 lid, 128
 * hosted, 129 hosted.lid); for any other server the raw agent. */
uint8_t wa_jid_domain(const struct wa_jid *j);

/* Build a device JID from an AD_JID's domain byte (whatsmeow NewADJID):
 * 1 -> lid, 128 -> hosted, 129 -> hosted.lid, anything else ->
 * s.whatsapp.net with agent = domain (0 for 0). Returns -1 if user is too long. */
int wa_jid_from_domain(struct wa_jid *out, const char *user, uint8_t domain, uint16_t device);

/* Signal protocol address name (docs/protocol.md 7.2): user, or "user_<domain>"
 * when the domain byte is not 0. Returns the length or -1 if cap is too small. */
int wa_jid_signal_name(const struct wa_jid *j, char *buf, size_t cap);

/* The well-known JIDs. */
void wa_jid_server(struct wa_jid *out);           /* s.whatsapp.net */
void wa_jid_status_broadcast(struct wa_jid *out); /* status@broadcast */

#endif
