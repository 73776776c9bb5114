/* inbox: the loop thread's mailbox. Any thread posts a function and its
 * argument; the loop thread runs them, in the order posted, from
 * wa_inbox_drain(). The post that finds the inbox empty wakes the loop out
 * of lws_service() with lws_cancel_service(), which lands in
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED, where the loop drains everything
 * queued by then; posts to a non-empty inbox ride on that wake-up (a burst
 * of completions costs one).
 *
 * Bounded: at most `max` items wait at once; a post past that fails (the
 * caller decides: a command answers 503, a database completion is never
 * dropped because dbpool posts with wa_inbox_post_always()).
 *
 * Threading: post from any thread, drain and free on the loop thread.
 * Ownership: the inbox never frees an argument; the posted function owns
 * it once it runs. wa_inbox_free() runs whatever is still queued, so no
 * argument leaks at shutdown. */
#ifndef WA_ENGINE_INBOX_H
#define WA_ENGINE_INBOX_H

#include <stddef.h>

struct lws_context;
struct wa_inbox;

typedef void (*wa_inbox_fn)(void *arg);

/* New inbox holding at most max items (0 = 65536). NULL on no memory. */
struct wa_inbox *wa_inbox_new(size_t max);

/* The context to wake (set once, after lws_create_context; before it is
 * set, posts queue without waking). */
void wa_inbox_set_context(struct wa_inbox *ib, struct lws_context *ctx);

/* Queue fn(arg). 0, or -1 when full or out of memory (nothing queued). */
int wa_inbox_post(struct wa_inbox *ib, wa_inbox_fn fn, void *arg);

/* Queue fn(arg) even past the bound (a completion that must not be lost).
 * -1 only when out of memory. */
int wa_inbox_post_always(struct wa_inbox *ib, wa_inbox_fn fn, void *arg);

/* Loop thread: run everything queued so far; returns how many ran. Items
 * posted while draining run on the next drain (the loop is woken again). */
size_t wa_inbox_drain(struct wa_inbox *ib);

/* Items waiting now (any thread; a snapshot). */
size_t wa_inbox_pending(struct wa_inbox *ib);

/* Run what is queued, then free. NULL-safe. */
void wa_inbox_free(struct wa_inbox *ib);

#endif
