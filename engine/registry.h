/* registry: where this engine and its sessions are written down.
 *
 * - The engines row (id, command and event addresses, host, pid, version)
 *   is upserted at start and its heartbeat_at refreshed every
 *   engine.heartbeat_ms. Workers read the addresses of a session's owner
 *   from it; hooks subscribe to every engine whose heartbeat is fresh.
 * - Session leases: the lease of every session an engine owns is the
 *   engine's own (engines.lease_until, now + engine.lease_ms, refreshed with
 *   the heartbeat: one row written per heartbeat, however many sessions).
 *   Each tick then claims, in id order and at most engine.claim_batch at a
 *   time, sessions that want to run (auto_start) and are unowned or whose
 *   owner's lease has run out: so an engine at start takes the sessions it
 *   owned before (its id) and those a dead engine left. Then it reads the
 *   list of its sessions and hands it to the owner callback, which starts
 *   what is new and stops what is no longer ours.
 * - Safety: if renewals fail (database unreachable) for longer than the
 *   lease, another engine may take the sessions over; wa_registry_lease_ok()
 *   turns false before that can happen, and the caller disconnects them.
 *
 * Threading: loop thread only (the SQL runs on dbpool threads). */
#ifndef WA_ENGINE_REGISTRY_H
#define WA_ENGINE_REGISTRY_H

#include <jansson.h>
#include <stdint.h>

struct wa_engine;
struct wa_registry;

/* rows: array of {"id", "sessionId", "status", "meJid", ...}, borrowed for
 * the call. Called after every successful tick. */
typedef void (*wa_registry_owned_fn)(void *ctx, json_t *rows);

struct wa_registry *wa_registry_new(struct wa_engine *e, wa_registry_owned_fn owned, void *ctx);

/* Register and run the first tick now; then every heartbeat. 0 or -1. */
int wa_registry_start(struct wa_registry *r);

/* Run a tick as soon as possible (a session was created or started). */
void wa_registry_kick(struct wa_registry *r);

/* Give up one session (stopped by its user): clear its owner and lease, so
 * it is not renewed or claimed again while auto_start is off. */
void wa_registry_release(struct wa_registry *r, uint64_t session_row_id);

/* 1 while the leases are known to be held (the last renewal succeeded less
 * than a lease ago, with a margin), 0 otherwise. */
int wa_registry_lease_ok(const struct wa_registry *r);

/* Monotonic ms at which the tick whose rows the owned callback is given
 * started: the rows were read after it (0 outside the callback). */
uint64_t wa_registry_rows_since(const struct wa_registry *r);

/* Successful ticks so far. */
uint64_t wa_registry_ticks(const struct wa_registry *r);

/* Stop ticking; on a clean shutdown release every lease so another engine
 * may take the sessions at once (a crash leaves them to expire). */
void wa_registry_free(struct wa_registry *r, int release_all);

#endif
