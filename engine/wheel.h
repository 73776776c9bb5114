/* wheel: a timer wheel of one-second slots for the engine's many long,
 * coarse timers (every session's next keep-alive ping).
 *
 * lws's own timers (lws_sul) sit on one sorted list, so every
 * lws_sul_schedule walks past every timer due earlier: with a keep-alive
 * per session on it, each per-message timer (a command's deadline, an IQ's
 * timeout, a send's ack) cost a walk over about one node per session. A
 * wheel timer costs O(1) to set and cancel, whatever their number; the
 * wheel keeps one lws_sul of its own, armed for its next non-empty second.
 *
 * Resolution: a timer fires in the loop round after its second has begun,
 * so up to a second late and never early. Delays must be under
 * WA_WHEEL_MAX_MS. Loop thread only, like lws_sul. */
#ifndef WA_ENGINE_WHEEL_H
#define WA_ENGINE_WHEEL_H

#include <stdint.h>

#include <libwebsockets.h>

#define WA_WHEEL_SLOTS 64
#define WA_WHEEL_MAX_MS ((WA_WHEEL_SLOTS - 2) * 1000u)

struct wa_wheel_timer;
typedef void (*wa_wheel_fn)(struct wa_wheel_timer *t);

/* Embed in the owner (zero-initialised: not scheduled); find the owner in
 * the callback with lws_container_of. */
struct wa_wheel_timer {
	lws_dll2_t list;     /* in a slot while scheduled */
	uint64_t due_s;      /* the second it fires in */
	wa_wheel_fn fn;
};

struct wa_wheel {
	struct lws_context *lws;
	lws_sorted_usec_list_t sul; /* armed while any timer is scheduled */
	lws_dll2_owner_t slot[WA_WHEEL_SLOTS];
	uint64_t next_s;            /* the first second not yet run */
	uint64_t armed_s;           /* the second sul is armed for (0: not armed) */
};

/* A wheel on lws (zero-filled first, or static). */
void wa_wheel_init(struct wa_wheel *w, struct lws_context *lws);
/* Cancel every timer (they do not fire) and disarm the wheel. */
void wa_wheel_clear(struct wa_wheel *w);

/* Schedule t to call fn after ms milliseconds (capped at WA_WHEEL_MAX_MS);
 * a timer already scheduled is moved. fn runs on the loop, with t no
 * longer scheduled, so it may schedule t again. */
void wa_wheel_schedule(struct wa_wheel *w, struct wa_wheel_timer *t, wa_wheel_fn fn, unsigned ms);
/* Unschedule t (a no-op when it is not scheduled). */
void wa_wheel_cancel(struct wa_wheel_timer *t);
/* Whether t is scheduled. */
int wa_wheel_pending(const struct wa_wheel_timer *t);

#endif
