/* group_meta: what the engine makes of WhatsApp's group elements
 * (docs/protocol.md §10.2, §10.3), as JSON in the API's shapes.
 *
 *   wa_group_meta_from_node  a <group …> element (the answer to a w:g2
 *                            query, create, or a create notification) ->
 *                            the API's Group object: id, subject,
 *                            subjectOwner, subjectTime, desc, descId,
 *                            descOwner, descTime, owner, creation, size,
 *                            isCommunity, isCommunityAnnounce,
 *                            linkedParentJid, announce, restrict,
 *                            ephemeralDuration, participants [{id, admin}]
 *                            (admin "admin" | "superadmin" | null);
 *   wa_group_notif_event     a w:gp2 <notification> -> the event it is
 *                            worth: "group.participant" {id, author,
 *                            action, participants} for add / remove /
 *                            promote / demote / leave (leave is published
 *                            as "remove", as Baileys does), or
 *                            "group.update" {id, author, and what
 *                            changed: subject, desc, announce, restrict,
 *                            ephemeralDuration, inviteCode, created;
 *                            for a community's link / unlink: id the
 *                            sub-group, communityJid, action "link" |
 *                            "unlink", linkedParentJid, reason).
 *
 * JIDs are given as the element has them, without a device; the group id
 * gets "@g.us" when the element has only its user part.
 *
 * Pure; any thread. Ownership: the JSON returned is new (json_decref). */
#ifndef WA_ENGINE_GROUP_META_H
#define WA_ENGINE_GROUP_META_H

#include <jansson.h>

struct wa_node;

/* NULL when g is not a <group> with an id, or out of memory. */
json_t *wa_group_meta_from_node(const struct wa_node *g);

/* NULL (and *event NULL) when the notification carries nothing we publish.
 * *event points at a static name. */
json_t *wa_group_notif_event(const struct wa_node *n, const char **event);

/* 1 when n (a w:gp2 notification) takes user (a user JID without a
 * device, as a string) out of the group: a <remove> or <leave> naming it. */
int wa_group_notif_removes(const struct wa_node *n, const char *user);

#endif
