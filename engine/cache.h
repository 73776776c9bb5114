/* cache: a small string-keyed map of byte values with a lifetime and a
 * capacity, for what a session learns from the server and may forget at
 * any time (users' device lists, groups' participants, which devices have
 * our sender key): a miss only costs a query to the server.
 *
 * A full cache drops its oldest entry; an entry older than the lifetime
 * (ttl_ms, 0 = none) reads as missing. Keys are at most WA_CACHE_KEY_MAX
 * bytes (longer keys are not cached: put returns WA_EINVAL).
 *
 * Ownership: the cache copies keys and values; wa_cache_get returns a
 * pointer into the cache, valid until the next put, forget or free.
 * Threading: none; each cache belongs to one thread (the engine's loop). */
#ifndef WA_ENGINE_CACHE_H
#define WA_ENGINE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define WA_CACHE_KEY_MAX 255

struct wa_cache;

/* NULL when out of memory. cap >= 1. */
struct wa_cache *wa_cache_new(size_t cap, uint64_t ttl_ms);
void wa_cache_free(struct wa_cache *c);

/* The value stored under key, or NULL (missing or expired); *len (may be
 * NULL) gets its length. */
const void *wa_cache_get(struct wa_cache *c, const char *key, uint64_t now_ms, size_t *len);

/* Store a copy of val (len bytes, may be 0) under key, replacing what was
 * there. 0, WA_EINVAL (key too long) or WA_ENOMEM (nothing changed). */
int wa_cache_put(struct wa_cache *c, const char *key, const void *val, size_t len, uint64_t now_ms);

/* Forget key; NULL forgets everything. */
void wa_cache_forget(struct wa_cache *c, const char *key);

/* Forget every key that starts with prefix. */
void wa_cache_forget_prefix(struct wa_cache *c, const char *prefix);

size_t wa_cache_count(const struct wa_cache *c);

#endif
