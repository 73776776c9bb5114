/* test_wheel: engine/wheel.c on a real lws context over a libev (epoll)
 * loop, run as the engine runs it (engine/main.c): timers fire, never
 * before their time, in order of their seconds; a cancelled one never
 * fires; a callback can schedule again; a move replaces the old time. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <libwebsockets.h>

#include "engine/engine.h"
#include "engine/wheel.h"
#include "tap.h"

uint64_t wa_engine_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct probe {
	struct wa_wheel_timer t;
	uint64_t set_ms, want_ms, fired_ms;
	int fired, again;   /* again: schedule once more from the callback */
	int order;
};

static struct wa_wheel wheel;
static int fired_total, next_order;

static void on_fire(struct wa_wheel_timer *t)
{
	struct probe *p = lws_container_of(t, struct probe, t);

	p->fired++;
	p->fired_ms = wa_engine_now_ms();
	p->order = next_order++;
	fired_total++;
	if (p->again) {
		p->again = 0;
		p->set_ms = p->fired_ms;
		p->want_ms = 1000;
		wa_wheel_schedule(&wheel, &p->t, on_fire, 1000);
	}
}

static void set(struct probe *p, unsigned ms)
{
	p->set_ms = wa_engine_now_ms();
	p->want_ms = ms;
	wa_wheel_schedule(&wheel, &p->t, on_fire, ms);
}

static const struct lws_protocols protocols[] = {
	{ "test", lws_callback_http_dummy, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

int main(void)
{
	struct lws_context_creation_info info;
	struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
	void *foreign[1] = { loop };
	struct lws_context *ctx;
	struct probe a, b, c, d, e;
	uint64_t start;

	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_LIBEV;
	info.foreign_loops = foreign;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	ok(loop != NULL, "libev loop with epoll");
	ctx = loop ? lws_create_context(&info) : NULL;
	ok(ctx != NULL, "lws context on it (libwebsockets-evlib-ev installed)");
	if (!ctx)
		return tap_done();
	wa_wheel_init(&wheel, ctx);
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	memset(&d, 0, sizeof d);
	memset(&e, 0, sizeof e);
	ok(!wa_wheel_pending(&a.t), "a zeroed timer is not scheduled");
	set(&a, 3300); /* 1.5 s or more after e and b: never in their second */
	set(&b, 300);  /* 1.5 s before e: never in its second */
	set(&c, 1200);
	c.again = 1;
	set(&d, 800);
	set(&e, 60000);
	set(&e, 1800); /* moved */
	ok(wa_wheel_pending(&d.t), "scheduled");
	wa_wheel_cancel(&d.t);
	ok(!wa_wheel_pending(&d.t), "cancelled");
	wa_wheel_cancel(&d.t);
	ok(1, "a second cancel is a no-op");
	start = wa_engine_now_ms();
	lws_cancel_service(ctx); /* as main(): a first fd event arms lws's timer */
	while (fired_total < 5 && wa_engine_now_ms() - start < 15000)
		ev_run(loop, EVRUN_ONCE);
	is_int(fired_total, 5, "b, c twice, e and a fired");
	is_int(b.fired, 1, "b fired once");
	is_int(c.fired, 2, "c fired, and again after scheduling itself from its callback");
	is_int(e.fired, 1, "the moved timer fired once");
	is_int(a.fired, 1, "a fired once");
	is_int(d.fired, 0, "the cancelled timer did not fire");
	ok(b.fired_ms >= b.set_ms + b.want_ms && c.fired_ms >= c.set_ms + c.want_ms &&
	   e.fired_ms >= e.set_ms + e.want_ms && a.fired_ms >= a.set_ms + a.want_ms, "none fired early");
	ok(e.fired_ms < e.set_ms + 60000, "the move replaced the old time");
	ok(b.order < e.order && e.order < a.order, "timers of different seconds fire in order");
	ok(!wa_wheel_pending(&a.t) && !wa_wheel_pending(&c.t), "fired timers are not scheduled");
	set(&d, 1000);
	wa_wheel_clear(&wheel);
	ok(!wa_wheel_pending(&d.t), "clear unschedules");
	lws_context_destroy(ctx);
	ev_loop_destroy(loop);
	return tap_done();
}
