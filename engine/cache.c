/* cache: chained hash table over a fixed array of slots (see cache.h). */
#include "engine/cache.h"
#include "wa_err.h"

#include <stdlib.h>
#include <string.h>

#define NIL SIZE_MAX

struct slot {
	char *key;          /* NULL: free */
	void *val;
	size_t len;
	uint64_t hash;
	uint64_t stamp;     /* when stored (ms) */
	uint64_t seq;       /* insertion order, for dropping the oldest */
	size_t next;        /* bucket chain */
};

struct wa_cache {
	size_t cap, count, nbuckets;
	uint64_t ttl_ms, seq;
	struct slot *slots;
	size_t *buckets;
};

static uint64_t hash_key(const char *k)
{
	uint64_t h = 1469598103934665603ULL;

	while (*k)
		h = (h ^ (unsigned char)*k++) * 1099511628211ULL;
	return h;
}

struct wa_cache *wa_cache_new(size_t cap, uint64_t ttl_ms)
{
	struct wa_cache *c = calloc(1, sizeof *c);

	if (!c || cap == 0)
		return free(c), NULL;
	c->cap = cap;
	c->ttl_ms = ttl_ms;
	c->nbuckets = 1;
	while (c->nbuckets < cap * 2)
		c->nbuckets <<= 1;
	c->slots = calloc(cap, sizeof *c->slots);
	c->buckets = malloc(c->nbuckets * sizeof *c->buckets);
	if (!c->slots || !c->buckets) {
		wa_cache_free(c);
		return NULL;
	}
	for (size_t i = 0; i < c->nbuckets; i++)
		c->buckets[i] = NIL;
	return c;
}

static void slot_clear(struct wa_cache *c, size_t i)
{
	struct slot *s = &c->slots[i];
	size_t *pp = &c->buckets[s->hash & (c->nbuckets - 1)];

	while (*pp != NIL && *pp != i)
		pp = &c->slots[*pp].next;
	if (*pp == i)
		*pp = s->next;
	free(s->key);
	free(s->val);
	memset(s, 0, sizeof *s);
	c->count--;
}

void wa_cache_free(struct wa_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->slots && i < c->cap; i++) {
		free(c->slots[i].key);
		free(c->slots[i].val);
	}
	free(c->slots);
	free(c->buckets);
	free(c);
}

static size_t find(const struct wa_cache *c, const char *key, uint64_t h)
{
	for (size_t i = c->buckets[h & (c->nbuckets - 1)]; i != NIL; i = c->slots[i].next)
		if (c->slots[i].hash == h && strcmp(c->slots[i].key, key) == 0)
			return i;
	return NIL;
}

const void *wa_cache_get(struct wa_cache *c, const char *key, uint64_t now_ms, size_t *len)
{
	size_t i;

	if (!c || !key)
		return NULL;
	i = find(c, key, hash_key(key));
	if (i == NIL)
		return NULL;
	if (c->ttl_ms && now_ms - c->slots[i].stamp >= c->ttl_ms) {
		slot_clear(c, i);
		return NULL;
	}
	if (len)
		*len = c->slots[i].len;
	return c->slots[i].val;
}

int wa_cache_put(struct wa_cache *c, const char *key, const void *val, size_t len, uint64_t now_ms)
{
	uint64_t h;
	size_t i, klen = key ? strlen(key) : 0;
	char *k;
	void *v;

	if (!c || !key || klen > WA_CACHE_KEY_MAX)
		return WA_EINVAL;
	k = malloc(klen + 1);
	v = malloc(len ? len : 1);
	if (!k || !v) {
		free(k);
		free(v);
		return WA_ENOMEM;
	}
	memcpy(k, key, klen + 1);
	if (len)
		memcpy(v, val, len);
	h = hash_key(key);
	if ((i = find(c, key, h)) != NIL)
		slot_clear(c, i);
	if (c->count == c->cap) {
		size_t old = 0;

		for (size_t j = 1; j < c->cap; j++)
			if (c->slots[j].seq < c->slots[old].seq)
				old = j;
		slot_clear(c, old);
	}
	for (i = 0; c->slots[i].key; i++)
		;
	c->slots[i] = (struct slot){ .key = k, .val = v, .len = len, .hash = h, .stamp = now_ms, .seq = ++c->seq,
				     .next = c->buckets[h & (c->nbuckets - 1)] };
	c->buckets[h & (c->nbuckets - 1)] = i;
	c->count++;
	return 0;
}

void wa_cache_forget(struct wa_cache *c, const char *key)
{
	size_t i;

	if (!c)
		return;
	if (!key) {
		for (i = 0; i < c->cap; i++)
			if (c->slots[i].key)
				slot_clear(c, i);
		return;
	}
	if ((i = find(c, key, hash_key(key))) != NIL)
		slot_clear(c, i);
}

void wa_cache_forget_prefix(struct wa_cache *c, const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	for (size_t i = 0; c && i < c->cap; i++)
		if (c->slots[i].key && strncmp(c->slots[i].key, prefix, n) == 0)
			slot_clear(c, i);
}

size_t wa_cache_count(const struct wa_cache *c)
{
	return c ? c->count : 0;
}
