/* authcache: the credential cache and its lease (see authcache.h). */
#include "fcgi/authcache.h"
#include "fcgi/db.h"
#include "wa_config.h"
#include "wa_log.h"
#include "wa_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAYS 4
/* The cache stops answering this long before t0 + lease: room for the
 * two clocks' rates to differ and for the lookup that was let in just
 * before the end to finish. */
#define MARGIN_MS 50
/* How often the expired rows of dead processes are removed. */
#define PRUNE_MS (60 * 1000)
/* last_used_at is kept to the minute. */
#define TOUCH_MS (60 * 1000)

struct entry {
	uint8_t used;
	char kind;
	uint8_t hash[32];
	uint64_t tick;               /* last use, for replacement */
	double expires;              /* monotonic ms; 0 none */
	double touched;              /* monotonic ms of the last last_used_at write (keys) */
	struct wa_authc_ident id;
};

static struct {
	int enabled;
	long lease_ms, renew_ms, entries;
} conf;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t kick;
	int kicked;
	struct entry *tab;
	size_t nsets;
	uint64_t tick;
	uint64_t epoch;              /* what the cache holds was read at this epoch */
	double lease_until;          /* monotonic ms; the cache answers before this */
	struct wa_authc_stats st;
} C = { .lock = PTHREAD_MUTEX_INITIALIZER, .kick = PTHREAD_COND_INITIALIZER };

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int wa_authc_configure(const struct wa_config *cfg, char *err, size_t errlen)
{
	const char *on = wa_config_get(cfg, "auth.cache");

	if (!on || (strcmp(on, "true") && strcmp(on, "false"))) {
		snprintf(err, errlen, "auth.cache must be true or false");
		return -1;
	}
	conf.enabled = strcmp(on, "true") == 0;
	if (wa_config_get_int(cfg, "auth.cache_entries", 16, 1000000, &conf.entries, err, errlen) < 0 ||
	    wa_config_get_int(cfg, "auth.cache_lease_ms", 100, 2000, &conf.lease_ms, err, errlen) < 0 ||
	    wa_config_get_int(cfg, "auth.cache_renew_ms", 10, 1000, &conf.renew_ms, err, errlen) < 0)
		return -1;
	if (conf.renew_ms * 2 > conf.lease_ms) {
		snprintf(err, errlen, "auth.cache_renew_ms must be at most half of auth.cache_lease_ms");
		return -1;
	}
	return 0;
}

static void flush_locked(void)
{
	memset(C.tab, 0, C.nsets * WAYS * sizeof *C.tab);
	C.st.flushes++;
}

/* The set a hash falls in. */
static struct entry *set_of(const uint8_t hash[32])
{
	uint64_t h;

	memcpy(&h, hash, sizeof h);
	return C.tab + (h % C.nsets) * WAYS;
}

static struct entry *find_locked(char kind, const uint8_t hash[32])
{
	struct entry *s = set_of(hash);

	for (int i = 0; i < WAYS; i++)
		if (s[i].used && s[i].kind == kind && memcmp(s[i].hash, hash, 32) == 0)
			return &s[i];
	return NULL;
}

int wa_authc_usable(void)
{
	int ok;

	if (!conf.enabled || !C.tab)
		return 0;
	pthread_mutex_lock(&C.lock);
	ok = mono_ms() < C.lease_until;
	pthread_mutex_unlock(&C.lock);
	return ok;
}

int wa_authc_get(char kind, const char *hash, struct wa_authc_ident *out, int *touch)
{
	uint8_t h[32];
	struct entry *e;
	double now;
	int hit = 0;

	*touch = 0;
	if (!conf.enabled || !C.tab || wa_hex_decode(hash, h, sizeof h) != 0)
		return 0;
	pthread_mutex_lock(&C.lock);
	now = mono_ms();
	if (now >= C.lease_until)
		goto out;
	e = find_locked(kind, h);
	if (e && e->expires && now >= e->expires) {
		e->used = 0;
		e = NULL;
	}
	if (!e) {
		C.st.misses++;
		goto out;
	}
	e->tick = ++C.tick;
	if (kind == WA_AUTHC_KEY && now - e->touched >= TOUCH_MS) {
		e->touched = now;
		*touch = 1;
	}
	memcpy(out, &e->id, sizeof *out);
	C.st.hits++;
	hit = 1;
out:
	pthread_mutex_unlock(&C.lock);
	return hit;
}

void wa_authc_put(char kind, const char *hash, const struct wa_authc_ident *id, uint64_t read_epoch,
		  long long life_ms)
{
	uint8_t h[32];
	struct entry *s, *e;
	double now;

	if (!conf.enabled || !C.tab || wa_hex_decode(hash, h, sizeof h) != 0)
		return;
	pthread_mutex_lock(&C.lock);
	now = mono_ms();
	/* rule 3: only what was read at the epoch the cache holds */
	if (read_epoch != C.epoch || now >= C.lease_until) {
		C.st.dropped++;
		goto out;
	}
	e = find_locked(kind, h);
	if (!e) {
		s = set_of(h);
		e = &s[0];
		for (int i = 0; i < WAYS; i++) {
			if (!s[i].used) {
				e = &s[i];
				break;
			}
			if (s[i].tick < e->tick)
				e = &s[i];
		}
	}
	memset(e, 0, sizeof *e);
	e->used = 1;
	e->kind = kind;
	memcpy(e->hash, h, 32);
	e->tick = ++C.tick;
	e->expires = life_ms > 0 ? now + (double)life_ms : 0;
	/* the statement that read it found last_used_at within the minute, or
	 * the caller wrote it */
	e->touched = now;
	e->id = *id;
	C.st.stores++;
out:
	pthread_mutex_unlock(&C.lock);
}

void wa_authc_stats(struct wa_authc_stats *out)
{
	pthread_mutex_lock(&C.lock);
	*out = C.st;
	out->epoch = C.epoch;
	pthread_mutex_unlock(&C.lock);
}

/* ---- the lease ------------------------------------------------------------ */

static uint64_t lease_id;

static void lose_lease(void)
{
	pthread_mutex_lock(&C.lock);
	C.lease_until = 0;
	C.st.renew_failures++;
	pthread_mutex_unlock(&C.lock);
}

/* One renewal (rule 2). */
static void renew(struct wa_db *db)
{
	double t0 = mono_ms();
	long long e, n;
	char host[256];

	e = wa_db_int(db, -1, "SELECT epoch FROM auth_epoch WHERE id = 1", "");
	if (e < 0) {
		lose_lease();
		return;
	}
	pthread_mutex_lock(&C.lock);
	if ((uint64_t)e != C.epoch) {
		/* before acknowledging: nothing read at an older epoch survives */
		flush_locked();
		C.epoch = (uint64_t)e;
	}
	pthread_mutex_unlock(&C.lock);
	n = 0;
	if (lease_id)
		n = wa_db_exec(db, "UPDATE worker_leases SET epoch_seen = ?, "
			       "lease_until = CURRENT_TIMESTAMP(3) + INTERVAL ? MICROSECOND WHERE id = ?", "uiu",
			       (unsigned long long)e, (long long)conf.lease_ms * 1000, (unsigned long long)lease_id);
	if (n < 0) {
		lose_lease();
		return;
	}
	/* 0 rows changed: a renewal in the same millisecond with the same
	 * epoch (the row holds what it would have written), or the row is gone */
	if (n == 0 && lease_id) {
		n = wa_db_int(db, -1, "SELECT COUNT(*) FROM worker_leases WHERE id = ?", "u",
			      (unsigned long long)lease_id);
		if (n < 0) {
			lose_lease();
			return;
		}
	}
	if (n == 0) {
		/* first renewal, or the row was pruned (after an outage of an hour) */
		if (gethostname(host, sizeof host) < 0)
			snprintf(host, sizeof host, "?");
		host[sizeof host - 1] = '\0';
		if (wa_db_exec(db, "INSERT INTO worker_leases (host, pid, epoch_seen, lease_until) "
			       "VALUES (?, ?, ?, CURRENT_TIMESTAMP(3) + INTERVAL ? MICROSECOND)", "suui", host,
			       (unsigned long long)getpid(), (unsigned long long)e, (long long)conf.lease_ms * 1000) < 0) {
			lose_lease();
			return;
		}
		lease_id = db->last_insert_id;
	}
	pthread_mutex_lock(&C.lock);
	if (C.epoch == (uint64_t)e)
		C.lease_until = t0 + (double)conf.lease_ms - MARGIN_MS;
	C.st.renewals++;
	pthread_mutex_unlock(&C.lock);
}

static void *renewer(void *arg)
{
	struct wa_db db = { .cfg = arg };
	double last_prune = 0;

	wa_log_set_rid("authcache");
	for (;;) {
		struct timespec ts;
		double now;

		renew(&db);
		now = mono_ms();
		if (now - last_prune >= PRUNE_MS) {
			struct wa_authc_stats st;

			last_prune = now;
			wa_authc_stats(&st);
			wa_debug("authcache: epoch %llu, %llu hits, %llu misses, %llu stored, %llu dropped, "
				 "%llu flushes, %llu renewals (%llu failed)", (unsigned long long)st.epoch, st.hits,
				 st.misses, st.stores, st.dropped, st.flushes, st.renewals, st.renew_failures);
			wa_db_exec(&db, "DELETE FROM worker_leases WHERE lease_until < CURRENT_TIMESTAMP(3) - INTERVAL 1 HOUR",
				   "");
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += conf.renew_ms * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&C.lock);
		while (!C.kicked) {
			int rc = pthread_cond_timedwait(&C.kick, &C.lock, &ts);

			if (rc == ETIMEDOUT)
				break;
		}
		C.kicked = 0;
		pthread_mutex_unlock(&C.lock);
	}
	return NULL;
}

int wa_authc_start(const struct wa_config *cfg)
{
	pthread_t tid;
	size_t sets;

	if (!conf.enabled)
		return 0;
	sets = ((size_t)conf.entries + WAYS - 1) / WAYS;
	C.tab = calloc(sets * WAYS, sizeof *C.tab);
	if (!C.tab)
		return -1;
	C.nsets = sets;
	if (pthread_create(&tid, NULL, renewer, (void *)cfg) != 0) {
		free(C.tab);
		C.tab = NULL;
		return -1;
	}
	pthread_detach(tid);
	return 0;
}

/* ---- rule 4 --------------------------------------------------------------- */

#define LAGGING \
	"SELECT COUNT(*) FROM worker_leases WHERE lease_until > CURRENT_TIMESTAMP(3) " \
	"AND epoch_seen < (SELECT epoch FROM auth_epoch WHERE id = 1)"

void wa_authc_settle(struct wa_db *db)
{
	double deadline = mono_ms() + (double)conf.lease_ms + (double)conf.renew_ms + 100;
	long long n;
	int kicked = 0;

	if (wa_db_in_txn(db)) {
		/* a snapshot would never see the renewals: the handler answers
		 * inside its transaction, which it must not when it revokes */
		wa_warn("authcache: a write answered inside its transaction; not waiting for the workers");
		return;
	}
	for (;;) {
		n = wa_db_int(db, -1, LAGGING, "");
		if (n == 0)
			return;
		if (n > 0 && !kicked && conf.enabled && C.tab) {
			/* this process acknowledges at once */
			pthread_mutex_lock(&C.lock);
			C.kicked = 1;
			pthread_cond_signal(&C.kick);
			pthread_mutex_unlock(&C.lock);
			kicked = 1;
		}
		/* n < 0: the database cannot say; every lease lapses by the deadline */
		if (mono_ms() >= deadline) {
			if (n > 0)
				wa_warn("authcache: %lld worker lease(s) still lag the epoch at the bound", n);
			return;
		}
		usleep(n < 0 ? 20000 : 2000);
	}
}
