/* authcache: the credential cache of a worker process, and the rule that
 * keeps it safe.
 *
 * What is cached: for a credential (an API key or a web login cookie, keyed
 * by the SHA-256 of the secret, the hash the database keeps; the secret
 * itself is never stored) the identity it resolves to -- user id, role,
 * name, email, the web session's id and expiry -- and the ids of the
 * WhatsApp sessions granted to that user (session_access, up to
 * WA_AUTHC_GRANTS; with more, grants are looked up as before). Nothing
 * negative is cached (an unknown key is asked of the database every time),
 * and nothing about a WhatsApp session itself (its row, owner and status
 * are read by the request as before): only who the caller is and what was
 * granted to them.
 *
 * The rule it keeps: a revoked key, a deleted user, a changed role or a
 * withdrawn grant is refused on the very next request, by every worker on
 * every host. How:
 *
 *   1. auth_epoch (db/migrations/0016_auth_cache.sql) is a counter that
 *      triggers bump in the transaction of every write that can take a
 *      right away (api_keys, users, web_sessions, session_access,
 *      wa_sessions deletes / owner changes), whoever writes.
 *   2. Every caching worker process holds a lease, a worker_leases row
 *      (epoch_seen, lease_until), renewed every auth.cache_renew_ms by its
 *      renewal thread: t0 = now (before anything is sent); read the epoch E;
 *      if E differs from the cache's epoch, empty the cache and take E as
 *      its epoch (under the lock); then write epoch_seen = E, lease_until =
 *      the database's now + auth.cache_lease_ms; only when that succeeded
 *      may the cache answer, until t0 + lease (less a small margin). Since
 *      t0 is before the database's now of the write, the worker stops
 *      answering from its cache no later than the database thinks its
 *      lease ends. (The margin, 50 ms, covers NOW(3) being cut to the
 *      millisecond and the two clocks' rates; it assumes the database
 *      host's clock is not stepped forward by more than that while a
 *      revocation waits, which NTP slewing never does.) A renewal that fails (database down, slow past the
 *      lease) lets the lease run out: every lookup then goes to the
 *      database, which errors as it did before the cache existed.
 *   3. A cache entry is stored only when the statement that read it also
 *      read auth_epoch (one statement, one consistent snapshot) and saw
 *      the cache's current epoch: a lookup that ran before a revocation
 *      and finishes after the renewal that emptied the cache is dropped.
 *   4. A write request that answers a success waits before answering
 *      (wa_authc_settle(), from the reply path) until every worker_leases
 *      row whose lease still holds has epoch_seen >= the current epoch:
 *      at most auth.cache_lease_ms and a little more, after which every
 *      lease that has not acknowledged has run out. Writes that change no
 *      credential pay one statement (the count is 0 at once); one that
 *      bumped waits for the other workers' next renewals (its own worker
 *      renews at once). A request that ran no statement but SELECTs on
 *      its connection (wa_db.writes did not move: a message or another
 *      operation handed to the engine, which writes no table a right
 *      lives in) bumped nothing and does not wait.
 *
 * A writer outside the API (a DBA's SQL, wa-akg-admin without waiting) is
 * covered by the lease: its change is seen by every worker at the latest
 * auth.cache_lease_ms after it committed (the next renewal, normally
 * within auth.cache_renew_ms).
 *
 * Bounds and threads: at most auth.cache_entries entries (4-way set
 * associative, least recently used replaced; an entry is about 0.9 KiB),
 * allocated once per worker process. The handler threads of a process
 * share one cache under one mutex, held only to copy an entry in or out;
 * the renewal thread has its own database connection. */
#ifndef WA_FCGI_AUTHCACHE_H
#define WA_FCGI_AUTHCACHE_H

#include <stddef.h>
#include <stdint.h>

struct wa_config;
struct wa_db;

#define WA_AUTHC_GRANTS 32

/* Credential kinds (part of the key). */
#define WA_AUTHC_KEY 'k'
#define WA_AUTHC_COOKIE 'c'

struct wa_authc_ident {
	uint64_t user_id;
	int role;                    /* enum wa_role */
	char name[256];
	char email[256];
	uint64_t web_session;        /* web_sessions.id for a cookie */
	int ngrants;                 /* -1: more than WA_AUTHC_GRANTS, look them up */
	uint64_t grants[WA_AUTHC_GRANTS];
};

/* Read auth.cache* from cfg (the supervisor, before forking). 0, or -1
 * with a message in err. */
int wa_authc_configure(const struct wa_config *cfg, char *err, size_t errlen);

/* In a worker process: allocate the cache and start the renewal thread
 * (when auth.cache is on). 0 or -1. */
int wa_authc_start(const struct wa_config *cfg);

/* Whether the cache may answer now: on, and the lease holds. */
int wa_authc_usable(void);

/* Look a credential up (hash: 64 hex digits). 1 hit (*out filled; *touch
 * set when an API key's last_used_at is due, about once a minute), 0 miss
 * or not usable. */
int wa_authc_get(char kind, const char *hash, struct wa_authc_ident *out, int *touch);

/* Store what a lookup read; read_epoch is the auth_epoch its statement
 * saw, life_ms how long the credential lives from now (a cookie's expiry;
 * <= 0 for no limit). Dropped unless read_epoch is the cache's epoch. */
void wa_authc_put(char kind, const char *hash, const struct wa_authc_ident *id, uint64_t read_epoch,
		  long long life_ms);

/* The wait of rule 4, on the caller's connection (not inside a
 * transaction). Returns when no live lease lags the current epoch, or
 * after the bound. */
void wa_authc_settle(struct wa_db *db);

/* Counters of this process (for the logs and the benchmark). */
struct wa_authc_stats {
	unsigned long long hits, misses, stores, dropped, flushes, renewals, renew_failures;
	uint64_t epoch;
};
void wa_authc_stats(struct wa_authc_stats *out);

#endif
