/* events: the engine's event socket (nng PUB on engine.event_url).
 *
 * Each event is one message: the topic "<sessionId>.<event>", a NUL, then
 * a packed waipc.Event (session_id, event, data = the JSON payload,
 * outbox_id when the event also sits in events_outbox, timestamp_ms).
 * Subscribers filter by prefix: "<sessionId>." takes every event of one
 * session, "<sessionId>.message.received" plus the NUL exactly one kind,
 * "" everything.
 *
 * PUB is a notification path, not the durable one: nng drops messages for
 * a subscriber that does not keep up, and nothing is kept for a subscriber
 * that is not connected. Events that must not be lost (those webhooks
 * deliver) are committed to events_outbox in the same transaction as the
 * state change that caused them, and outbox_id says so.
 *
 * Threading: publish from the loop thread (nng's send does not block on
 * PUB: a full queue drops). */
#ifndef WA_ENGINE_EVENTS_H
#define WA_ENGINE_EVENTS_H

#include <jansson.h>
#include <stdint.h>

struct wa_events;

/* Listen on url, and for wake-ups on wake_url (below). NULL with a logged
 * reason when url cannot be bound; a wake-up socket that cannot is only a
 * warning (there is none then). */
struct wa_events *wa_events_new(const char *url, const char *wake_url);

/* The wake-up socket: a second PUB socket that carries one short message
 * ("outbox", a NUL, the count of outbox events so far) per loop round in
 * which events with an outbox row were published, for wa-akg-hooks, which
 * only needs a cue to read events_outbox. On the event socket it would
 * receive, and the engine would send, every event (nng's PUB sends all to
 * every subscriber; SUB filters on arrival): about 30 thread switches a
 * sent message between the two processes for a cue. wake_url NULL or ""
 * takes url's host on a free port (tcp://HOST:0, the port as bound is in
 * wa_events_wake_url and the engines row) or url + ".wake" (ipc://); no
 * wake-up socket for other transports. */
const char *wa_events_wake_url(const struct wa_events *ev); /* as bound; "" = none */

/* Loop thread, once per round of the loop: the wake-up, when it is owed. */
void wa_events_flush(struct wa_events *ev);

/* Publish (data borrowed). outbox_id 0 = not in the outbox. 0, or -1 when
 * the message could not be built (logged). */
int wa_events_publish(struct wa_events *ev, const char *session_id, const char *event, const json_t *data,
		      uint64_t outbox_id, uint64_t timestamp_ms);

/* The same for data that is JSON text already (compact, as the outbox holds
 * it): published as it is, not parsed and written again. */
int wa_events_publish_text(struct wa_events *ev, const char *session_id, const char *event, const char *json,
			   uint64_t outbox_id, uint64_t timestamp_ms);

/* Events published so far. */
uint64_t wa_events_count(const struct wa_events *ev);

void wa_events_free(struct wa_events *ev);

#endif
