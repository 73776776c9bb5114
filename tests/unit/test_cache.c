/* test_cache: engine/cache.c, the sessions' forgetful maps. */
#include "engine/cache.h"
#include "tap.h"
#include "wa_err.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
	struct wa_cache *c = wa_cache_new(3, 1000);
	const char *v;
	size_t len = 0;
	char key[300];

	ok(c != NULL, "made");
	ok(wa_cache_get(c, "a", 0, NULL) == NULL, "empty: a miss");
	is_int(wa_cache_put(c, "a", "one", 3, 0), 0, "put a");
	v = wa_cache_get(c, "a", 10, &len);
	ok(v && len == 3 && memcmp(v, "one", 3) == 0, "a reads back with its length");
	is_int(wa_cache_put(c, "a", "uno", 3, 10), 0, "put a again");
	v = wa_cache_get(c, "a", 20, &len);
	ok(v && memcmp(v, "uno", 3) == 0 && wa_cache_count(c) == 1, "replaced, not added");
	ok(wa_cache_get(c, "a", 1009, NULL) != NULL, "alive before its lifetime ends");
	ok(wa_cache_get(c, "a", 1010, NULL) == NULL, "expired at its lifetime");
	is_int(wa_cache_count(c), 0, "an expired entry is dropped");

	/* full: the oldest goes */
	wa_cache_put(c, "x", "1", 1, 0);
	wa_cache_put(c, "y", "2", 1, 0);
	wa_cache_put(c, "z", "3", 1, 0);
	wa_cache_put(c, "w", "4", 1, 0);
	is_int(wa_cache_count(c), 3, "capacity kept");
	ok(wa_cache_get(c, "x", 1, NULL) == NULL, "the oldest was dropped");
	ok(wa_cache_get(c, "y", 1, NULL) && wa_cache_get(c, "z", 1, NULL) && wa_cache_get(c, "w", 1, NULL),
	   "the others stay");
	wa_cache_put(c, "", NULL, 0, 1);
	ok(wa_cache_get(c, "", 2, &len) != NULL && len == 0, "an empty key and value are fine");
	wa_cache_forget(c, "w");
	ok(wa_cache_get(c, "w", 2, NULL) == NULL, "forgotten");
	wa_cache_forget(c, NULL);
	is_int(wa_cache_count(c), 0, "forget all");
	wa_cache_free(c);

	/* prefixes, many keys, collisions of the chains */
	c = wa_cache_new(500, 0);
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof key, "%s %d", i % 2 ? "g1@g.us" : "g2@g.us", i);
		wa_cache_put(c, key, &i, sizeof i, 0);
	}
	is_int(wa_cache_count(c), 400, "400 keys");
	ok(wa_cache_get(c, "g1@g.us 399", 1u << 30, &len) != NULL && len == sizeof(int), "no lifetime: never expires");
	wa_cache_forget_prefix(c, "g1@g.us");
	is_int(wa_cache_count(c), 200, "prefix forgotten");
	ok(wa_cache_get(c, "g2@g.us 398", 0, NULL) != NULL, "the other prefix stays");
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	is_int(wa_cache_put(c, key, "v", 1, 0), WA_EINVAL, "an over-long key is refused");
	wa_cache_free(c);
	wa_cache_free(NULL);
	ok(wa_cache_get(NULL, "a", 0, NULL) == NULL, "a cache never made is empty");
	return tap_done();
}
