/* wheel: one-second timer wheel over a single lws_sul (see wheel.h). */
#include "engine/wheel.h"
#include "engine/engine.h"

#include <string.h>

static uint64_t now_s(void)
{
	return wa_engine_now_ms() / 1000;
}

static void on_tick(lws_sorted_usec_list_t *sul);

/* Arm the sul for the first non-empty second from next_s on, unless it is
 * armed for that one (or an earlier one) already. */
static void arm(struct wa_wheel *w)
{
	uint64_t s, now_ms;

	for (s = w->next_s; s < w->next_s + WA_WHEEL_SLOTS; s++)
		if (w->slot[s % WA_WHEEL_SLOTS].count)
			break;
	if (s == w->next_s + WA_WHEEL_SLOTS) {
		lws_sul_cancel(&w->sul);
		w->armed_s = 0;
		return;
	}
	if (w->armed_s && w->armed_s <= s)
		return;
	now_ms = wa_engine_now_ms();
	w->armed_s = s;
	lws_sul_schedule(w->lws, 0, &w->sul, on_tick,
			 (lws_usec_t)(s * 1000 > now_ms ? s * 1000 - now_ms : 0) * LWS_US_PER_MS);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
	struct wa_wheel *w = lws_container_of(sul, struct wa_wheel, sul);
	uint64_t now = now_s(), s, end;

	w->armed_s = 0;
	/* A loop that stalled longer than the wheel turns runs every slot once. */
	end = now + 1 - w->next_s > WA_WHEEL_SLOTS ? w->next_s + WA_WHEEL_SLOTS : now + 1;
	for (s = w->next_s; s < end; s++) {
		lws_dll2_owner_t *o = &w->slot[s % WA_WHEEL_SLOTS];
		lws_dll2_owner_t ripe;

		/* Detach the due ones first: a callback may schedule (or cancel)
		 * any timer, this slot's included. */
		memset(&ripe, 0, sizeof ripe);
		lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(o)) {
			struct wa_wheel_timer *t = lws_container_of(d, struct wa_wheel_timer, list);

			if (t->due_s <= now) {
				lws_dll2_remove(d);
				lws_dll2_add_tail(d, &ripe);
			}
		} lws_end_foreach_dll_safe(d, d1);
		while (ripe.count) {
			struct wa_wheel_timer *t =
				lws_container_of(lws_dll2_get_head(&ripe), struct wa_wheel_timer, list);

			lws_dll2_remove(&t->list);
			t->fn(t);
		}
	}
	w->next_s = now + 1;
	arm(w);
}

void wa_wheel_init(struct wa_wheel *w, struct lws_context *lws)
{
	memset(w, 0, sizeof *w);
	w->lws = lws;
	w->next_s = now_s();
}

void wa_wheel_clear(struct wa_wheel *w)
{
	for (int i = 0; i < WA_WHEEL_SLOTS; i++)
		while (w->slot[i].count)
			lws_dll2_remove(lws_dll2_get_head(&w->slot[i]));
	lws_sul_cancel(&w->sul);
	w->armed_s = 0;
}

void wa_wheel_schedule(struct wa_wheel *w, struct wa_wheel_timer *t, wa_wheel_fn fn, unsigned ms)
{
	uint64_t now_ms = wa_engine_now_ms(), due;

	if (ms > WA_WHEEL_MAX_MS)
		ms = WA_WHEEL_MAX_MS;
	/* Round up: never early; and never into the second running now, whose
	 * slot a tick in progress has already emptied. */
	due = (now_ms + ms + 999) / 1000;
	if (due <= now_ms / 1000)
		due = now_ms / 1000 + 1;
	if (due < w->next_s)
		due = w->next_s;
	lws_dll2_remove(&t->list);
	t->due_s = due;
	t->fn = fn;
	lws_dll2_add_tail(&t->list, &w->slot[due % WA_WHEEL_SLOTS]);
	arm(w);
}

void wa_wheel_cancel(struct wa_wheel_timer *t)
{
	/* The wheel's sul may stay armed for an emptied slot: the tick then
	 * finds nothing to run and re-arms for what is left. */
	lws_dll2_remove(&t->list);
}

int wa_wheel_pending(const struct wa_wheel_timer *t)
{
	return !lws_dll2_is_detached(&t->list);
}
