/* test_authcache: the cache side of fcgi/authcache.c without a database.
 * The module is included whole, so the test can stand in for the renewal
 * thread (the epoch the cache holds and the lease; the real renewal is
 * tested end to end in tests/api/test_auth_cache.py): nothing is answered
 * without a lease or after it, nothing read at another epoch is stored, a
 * cookie entry ends at its expiry, the table stays within its bound (least
 * recently used replaced within a set), and handler threads hammering it
 * side by side never see an entry torn between two writers. */
#include "../../fcgi/authcache.c"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

static void hash_of(unsigned n, char out[65])
{
	/* distinct hashes, spread over the sets (the first byte varies) */
	snprintf(out, 65, "%02x%014x%048x", (n * 37u) & 0xff, n, n * 2654435761u);
}

/* what the renewal thread does once it has acknowledged epoch e */
static void lease(uint64_t e, double ms)
{
	pthread_mutex_lock(&C.lock);
	if (C.epoch != e) {
		flush_locked();
		C.epoch = e;
	}
	C.lease_until = mono_ms() + ms;
	pthread_mutex_unlock(&C.lock);
}

static struct wa_authc_ident ident(uint64_t uid)
{
	struct wa_authc_ident id;

	memset(&id, 0, sizeof id);
	id.user_id = uid;
	id.role = 2;
	snprintf(id.name, sizeof id.name, "user %llu", (unsigned long long)uid);
	snprintf(id.email, sizeof id.email, "u%llu@test.invalid", (unsigned long long)uid);
	id.ngrants = 2;
	id.grants[0] = uid;
	id.grants[1] = uid + 1;
	return id;
}

static volatile int torn;

static void *hammer(void *arg)
{
	unsigned base = (unsigned)(uintptr_t)arg;
	struct wa_authc_ident id, got;
	char h[65];
	int touch;

	for (unsigned i = 0; i < 20000; i++) {
		unsigned k = (base + i) % 64;

		hash_of(1000 + k, h);
		id = ident(1000 + k);
		wa_authc_put(WA_AUTHC_KEY, h, &id, 7, 0);
		if (wa_authc_get(WA_AUTHC_KEY, h, &got, &touch) &&
		    (got.user_id != 1000 + k || got.grants[1] != got.user_id + 1 ||
		     strcmp(got.email, id.email) != 0))
			torn = 1;
	}
	return NULL;
}

int main(void)
{
	struct wa_config *cfg;
	struct wa_authc_ident id, got;
	struct wa_authc_stats st;
	char err[256], h[65], h2[65];
	const char *text = "[auth]\ncache_entries = 16\n";
	int touch, stored;
	pthread_t t[4];

	ok(wa_config_parse(&cfg, text, strlen(text), "test", err, sizeof err) == 0, "config parses");
	ok(wa_authc_configure(cfg, err, sizeof err) == 0, "auth.cache keys read");
	is_int(conf.lease_ms, 1000, "default lease 1000 ms");
	is_int(conf.renew_ms, 100, "default renewal 100 ms");
	/* the table only; no renewal thread */
	C.nsets = (size_t)conf.entries / WAYS;
	C.tab = calloc(C.nsets * WAYS, sizeof *C.tab);
	ok(C.tab != NULL, "table allocated");

	hash_of(1, h);
	id = ident(1);
	ok(!wa_authc_usable(), "no lease yet: not usable");
	wa_authc_put(WA_AUTHC_KEY, h, &id, 0, 0);
	ok(!wa_authc_get(WA_AUTHC_KEY, h, &got, &touch), "no lease: nothing stored, nothing answered");

	lease(5, 1000);
	ok(wa_authc_usable(), "with a lease: usable");
	wa_authc_put(WA_AUTHC_KEY, h, &id, 4, 0);
	ok(!wa_authc_get(WA_AUTHC_KEY, h, &got, &touch), "read at an older epoch: not stored");
	wa_authc_put(WA_AUTHC_KEY, h, &id, 6, 0);
	ok(!wa_authc_get(WA_AUTHC_KEY, h, &got, &touch), "read at a newer epoch: not stored");
	wa_authc_put(WA_AUTHC_KEY, h, &id, 5, 0);
	ok(wa_authc_get(WA_AUTHC_KEY, h, &got, &touch), "read at the cache's epoch: stored and answered");
	ok(got.user_id == 1 && got.ngrants == 2 && got.grants[1] == 2 && !strcmp(got.email, "u1@test.invalid"),
	   "the identity comes back whole");
	ok(!touch, "just read: last_used_at not due");
	ok(!wa_authc_get(WA_AUTHC_COOKIE, h, &got, &touch), "the kind is part of the key");
	hash_of(2, h2);
	ok(!wa_authc_get(WA_AUTHC_KEY, h2, &got, &touch), "another hash misses");
	ok(!wa_authc_get(WA_AUTHC_KEY, "not hex", &got, &touch), "a malformed hash misses");

	pthread_mutex_lock(&C.lock);
	C.lease_until = mono_ms() - 1;
	pthread_mutex_unlock(&C.lock);
	ok(!wa_authc_get(WA_AUTHC_KEY, h, &got, &touch), "lease run out: not answered though stored");
	lease(5, 1000);
	ok(wa_authc_get(WA_AUTHC_KEY, h, &got, &touch), "renewed at the same epoch: answered again");
	lease(6, 1000);
	ok(!wa_authc_get(WA_AUTHC_KEY, h, &got, &touch), "a new epoch empties the cache");

	/* a cookie lives until its expiry */
	wa_authc_put(WA_AUTHC_COOKIE, h2, &id, 6, 30);
	ok(wa_authc_get(WA_AUTHC_COOKIE, h2, &got, &touch), "cookie within its life: answered");
	usleep(40 * 1000);
	ok(!wa_authc_get(WA_AUTHC_COOKIE, h2, &got, &touch), "cookie past its expiry: not answered");

	/* last_used_at is due again after a minute */
	wa_authc_put(WA_AUTHC_KEY, h, &id, 6, 0);
	{
		uint8_t raw[32];

		ok(wa_hex_decode(h, raw, sizeof raw) == 0, "hash decodes");
		pthread_mutex_lock(&C.lock);
		find_locked(WA_AUTHC_KEY, raw)->touched = mono_ms() - TOUCH_MS - 1;
		pthread_mutex_unlock(&C.lock);
	}
	ok(wa_authc_get(WA_AUTHC_KEY, h, &got, &touch) && touch, "a minute after the last write: touch");
	ok(wa_authc_get(WA_AUTHC_KEY, h, &got, &touch) && !touch, "and then not again at once");

	/* bounded: 100 credentials into 16 entries */
	lease(7, 10000);
	for (unsigned i = 0; i < 100; i++) {
		char hh[65];

		hash_of(100 + i, hh);
		id = ident(100 + i);
		wa_authc_put(WA_AUTHC_KEY, hh, &id, 7, 0);
	}
	stored = 0;
	for (size_t i = 0; i < C.nsets * WAYS; i++)
		stored += C.tab[i].used;
	is_int(stored, 16, "the table fills to auth.cache_entries and no further");
	{
		/* four of one set are kept; a fifth replaces the least recently used */
		char s0[65], s1[65], s2[65], s3[65], s4[65];

		lease(8, 10000);
		snprintf(s0, 65, "%016x%048x", 0, 1);
		snprintf(s1, 65, "%016x%048x", 4, 2);
		snprintf(s2, 65, "%016x%048x", 8, 3);
		snprintf(s3, 65, "%016x%048x", 12, 4);
		snprintf(s4, 65, "%016x%048x", 16, 5);
		/* (the first 8 bytes, read as a host integer, modulo 4 sets: the
		 * same set for all five on a little-endian host) */
		id = ident(9);
		wa_authc_put(WA_AUTHC_KEY, s0, &id, 8, 0);
		wa_authc_put(WA_AUTHC_KEY, s1, &id, 8, 0);
		wa_authc_put(WA_AUTHC_KEY, s2, &id, 8, 0);
		wa_authc_put(WA_AUTHC_KEY, s3, &id, 8, 0);
		ok(wa_authc_get(WA_AUTHC_KEY, s0, &got, &touch), "s0 used last");
		wa_authc_put(WA_AUTHC_KEY, s4, &id, 8, 0);
		ok(wa_authc_get(WA_AUTHC_KEY, s4, &got, &touch), "the new entry is in");
		ok(wa_authc_get(WA_AUTHC_KEY, s0, &got, &touch), "the recently used one stays");
		ok(!wa_authc_get(WA_AUTHC_KEY, s1, &got, &touch), "the least recently used one went");
	}

	/* threads side by side */
	lease(7, 60000);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)(i * 17));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ok(!torn, "4 threads storing and reading: every entry read whole");
	wa_authc_stats(&st);
	ok(st.hits > 0 && st.stores > 0 && st.epoch == 7, "counters kept");

	free(C.tab);
	wa_config_free(cfg);
	return tap_done();
}
