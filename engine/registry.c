/* registry: the engines row, heartbeats and session leases (registry.h). */
#include "engine/registry.h"
#include "engine/dbpool.h"
#include "engine/engine.h"
#include "fcgi/db.h"
#include "wa_config.h"
#include "wa_err.h"
#include "wa_log.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

/* All registry jobs share one database thread, so they run in order. */
#define REGISTRY_SHARD 0

struct wa_registry {
	struct wa_engine *e;
	wa_registry_owned_fn owned;
	void *ctx;
	long heartbeat_ms, lease_ms, claim_batch;
	lws_sorted_usec_list_t sul;
	int busy;                 /* a tick is in the pool */
	int again;                /* kicked while busy: tick once more */
	int registered;
	uint64_t lease_ok_until;  /* monotonic ms */
	uint64_t ticks;
	uint64_t rows_since;      /* during the owned callback: its tick's start */
	int stopping;
	int conflict;             /* another live engine has our id */
};

struct tick {
	struct wa_registry *r;
	char id[WA_ENGINE_ID_MAX];
	char command_url[256], event_url[256], wake_url[288], host[256];
	long long pid;
	long lease_ms, claim_batch;
	int do_register;
	uint64_t started_ms;
	long heartbeat_ms;
	json_t *rows;
	int registered;
	char other[320];          /* WA_ECONFLICT: the live engine with our id */
};

static const char SQL_REGISTER[] =
	"INSERT INTO engines (id, command_url, event_url, wake_url, hostname, pid, version, heartbeat_at, started_at) "
	"VALUES (?, ?, ?, NULLIF(?, ''), ?, ?, ?, NOW(3), NOW(3)) ON DUPLICATE KEY UPDATE "
	"command_url = VALUES(command_url), event_url = VALUES(event_url), wake_url = VALUES(wake_url), "
	"hostname = VALUES(hostname), pid = VALUES(pid), "
	"version = VALUES(version), heartbeat_at = NOW(3), started_at = NOW(3)";
/* The lease of every session this engine owns: one row, not one per session. */
static const char SQL_HEARTBEAT[] =
	"UPDATE engines SET heartbeat_at = NOW(3), lease_until = NOW(3) + INTERVAL ? MICROSECOND WHERE id = ?";
/* Sessions their users stopped are let go, and read as stopped even if
 * the stop command never reached us. Found by a plain read, then written
 * by primary key: a locking scan over the engine's rows every heartbeat
 * would collide with the sessions' own transactions. */
static const char SQL_STOPPED[] = "SELECT id FROM wa_sessions WHERE engine_id = ? AND auto_start = 0";
static const char SQL_DROP_STOPPED[] =
	"UPDATE wa_sessions SET engine_id = NULL, lease_until = NULL, qr = NULL, pairing_code = NULL, "
	"status = IF(status IN ('CONNECTED', 'CONNECTING', 'SCAN_QR'), 'STOPPED', status) "
	"WHERE id = ? AND engine_id = ? AND auto_start = 0";
/* Unowned, or owned by an engine whose lease ran out (or that is gone):
 * candidates by a plain read, each claimed by primary key with the
 * condition checked again (another engine may be quicker). */
#define CLAIMABLE \
	"auto_start = 1 AND (engine_id IS NULL OR engine_id NOT IN " \
	"(SELECT id FROM engines WHERE lease_until > NOW(3)))"
static const char SQL_CANDIDATES[] = "SELECT id FROM wa_sessions WHERE " CLAIMABLE " ORDER BY id LIMIT ?";
static const char SQL_CLAIM[] =
	"UPDATE wa_sessions SET engine_id = ?, lease_until = NULL WHERE id = ? AND " CLAIMABLE;
static const char SQL_OWNED[] =
	"SELECT id, session_id AS sessionId, status, me_jid AS meJid FROM wa_sessions "
	"WHERE engine_id = ? AND auto_start = 1 ORDER BY id";
static const char SQL_RELEASE[] =
	"UPDATE wa_sessions SET engine_id = NULL, lease_until = NULL WHERE id = ? AND engine_id = ?";
/* A clean shutdown: the sessions wait for the next engine, disconnected
 * meanwhile (the API must not show them connected). */
static const char SQL_RELEASE_ALL[] =
	"UPDATE wa_sessions SET engine_id = NULL, lease_until = NULL, qr = NULL, pairing_code = NULL, "
	"status = IF(status IN ('CONNECTED', 'CONNECTING', 'SCAN_QR'), 'STOPPED', status) WHERE engine_id = ?";

static void schedule(struct wa_registry *r, long ms);

static const char SQL_SAME_ID[] =
	"SELECT hostname, pid, TIMESTAMPDIFF(MICROSECOND, heartbeat_at, NOW(3)) AS age_us FROM engines WHERE id = ?";

/* Whether process pid on this host is a live wa-akg-engine (a zombie, a
 * killed engine not reaped yet, is not). */
static int engine_alive(long long pid)
{
	char path[64], buf[512] = "";
	const char *st;
	size_t n;
	FILE *f;

	if (pid <= 0 || pid == (long long)getpid())
		return 0;
	snprintf(path, sizeof path, "/proc/%lld/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ..." */
	if (!strstr(buf, "(wa-akg-engine)") || !(st = strrchr(buf, ')')) || strlen(st) < 3)
		return 0;
	return st[2] != 'Z' && st[2] != 'X' && st[2] != 'x';
}

/* Before the first registration: another engine alive under our id (a
 * fresh heartbeat from another host, or a live engine process on this
 * one) would share the sessions' leases with us. WA_ECONFLICT then. */
static int same_id_check(struct wa_db *db, struct tick *t)
{
	int err = 0;
	json_t *row = wa_db_row(db, &err, SQL_SAME_ID, "s", t->id);
	const char *host;
	long long pid, age_us;
	int live;

	if (err)
		return -1;
	if (!row)
		return 0;
	host = json_string_value(json_object_get(row, "hostname"));
	pid = json_integer_value(json_object_get(row, "pid"));
	age_us = json_integer_value(json_object_get(row, "age_us"));
	if (host && strcmp(host, t->host) == 0)
		live = engine_alive(pid);
	else
		live = age_us < (long long)t->heartbeat_ms * 3 * 1000;
	if (live)
		snprintf(t->other, sizeof t->other, "host %s, pid %lld, heartbeat %lld ms ago", host ? host : "?",
			 pid, age_us / 1000);
	json_decref(row);
	return live ? WA_ECONFLICT : 0;
}

/* Write `sql` (binding the id and our engine id, in the order `fmt` says)
 * for every row `rows` names, in one transaction: the rows are locked by
 * primary key, in id order, and only while written. Takes rows. 0 or -1. */
static int each_row(struct wa_db *db, json_t *rows, const char *sql, int id_first, const char *engine)
{
	size_t i;
	json_t *row;
	int rc = 0;

	if (!rows)
		return -1;
	if (json_array_size(rows) && wa_db_begin(db) < 0)
		rc = -1;
	json_array_foreach(rows, i, row) {
		unsigned long long id = (unsigned long long)json_integer_value(json_object_get(row, "id"));

		if (rc == 0 && (id_first ? wa_db_exec(db, sql, "us", id, engine) : wa_db_exec(db, sql, "su", engine, id)) < 0)
			rc = -1;
	}
	if (json_array_size(rows) && rc == 0 && wa_db_commit(db) < 0)
		rc = -1;
	else if (json_array_size(rows) && rc != 0)
		wa_db_rollback(db);
	json_decref(rows);
	return rc;
}

/* dbpool thread */
static int tick_run(struct wa_db *db, void *arg)
{
	struct tick *t = arg;
	long long us = (long long)t->lease_ms * 1000;

	if (t->do_register) {
		int rc = same_id_check(db, t);

		if (rc != 0)
			return rc;
	}
	if (t->do_register || wa_db_exec(db, SQL_HEARTBEAT, "is", us, t->id) == 0) {
		if (wa_db_exec(db, SQL_REGISTER, "sssssis", t->id, t->command_url, t->event_url, t->wake_url, t->host,
			       t->pid, PACKAGE_VERSION) < 0 || wa_db_exec(db, SQL_HEARTBEAT, "is", us, t->id) < 0)
			return -1;
		t->registered = 1;
	}
	/* the stopped sessions still named ours are let go; then up to
	 * claim_batch sessions that want an engine are claimed */
	if (each_row(db, wa_db_query(db, SQL_STOPPED, "s", t->id), SQL_DROP_STOPPED, 1, t->id) < 0 ||
	    each_row(db, wa_db_query(db, SQL_CANDIDATES, "i", (long long)t->claim_batch), SQL_CLAIM, 0, t->id) < 0)
		return -1;
	t->rows = wa_db_query(db, SQL_OWNED, "s", t->id);
	return t->rows ? 0 : -1;
}

/* loop thread */
static void tick_done(void *arg, int rc)
{
	struct tick *t = arg;
	struct wa_registry *r = t->r;

	r->busy = 0;
	if (rc == 0) {
		/* The renewal ran after started_ms, so the leases hold until
		 * at least started_ms + lease; keep a margin of a heartbeat. */
		r->lease_ok_until = t->started_ms + (uint64_t)(r->lease_ms - r->heartbeat_ms);
		r->ticks++;
		if (t->registered && !r->registered)
			wa_info("registered as engine %s (commands %s, events %s)", t->id, t->command_url,
				t->event_url);
		r->registered |= t->registered;
		if (r->owned && !r->stopping) {
			r->rows_since = t->started_ms;
			r->owned(r->ctx, t->rows);
			r->rows_since = 0;
		}
	} else if (rc == WA_ECONFLICT) {
		wa_error("another engine runs with the id '%s' (%s): two engines must not share an id (engine.id); "
			 "stopping", t->id, t->other);
		r->conflict = 1;
		r->e->exit_code = 1;
		r->e->stopping = 1;
		lws_cancel_service(r->e->lws);
	} else {
		wa_warn("engine heartbeat failed (database unreachable?); leases held for %lld ms more",
			(long long)(r->lease_ok_until > wa_engine_now_ms() ? r->lease_ok_until - wa_engine_now_ms() : 0));
	}
	json_decref(t->rows);
	free(t);
	if (r->stopping) {
		free(r); /* wa_registry_free() left it to the tick in flight */
		return;
	}
	if (r->again) {
		r->again = 0;
		schedule(r, 0);
	}
}

static void tick(lws_sorted_usec_list_t *sul)
{
	struct wa_registry *r = lws_container_of(sul, struct wa_registry, sul);
	struct wa_engine *e = r->e;
	struct tick *t;

	schedule(r, r->heartbeat_ms);
	if (r->busy) {
		/* the database is slow: never pile up ticks */
		return;
	}
	t = calloc(1, sizeof *t);
	if (!t)
		return;
	t->r = r;
	snprintf(t->id, sizeof t->id, "%s", e->id);
	snprintf(t->command_url, sizeof t->command_url, "%s", e->command_url);
	snprintf(t->event_url, sizeof t->event_url, "%s", e->event_url);
	snprintf(t->wake_url, sizeof t->wake_url, "%s", e->wake_url ? e->wake_url : "");
	if (gethostname(t->host, sizeof t->host - 1) != 0)
		strcpy(t->host, "unknown");
	t->pid = (long long)getpid();
	t->lease_ms = r->lease_ms;
	t->claim_batch = r->claim_batch;
	t->do_register = !r->registered;
	t->heartbeat_ms = r->heartbeat_ms;
	t->started_ms = wa_engine_now_ms();
	if (wa_dbpool_submit(e->db, REGISTRY_SHARD, tick_run, tick_done, t) < 0) {
		free(t);
		return;
	}
	r->busy = 1;
}

static void schedule(struct wa_registry *r, long ms)
{
	lws_sul_schedule(r->e->lws, 0, &r->sul, tick, (lws_usec_t)ms * LWS_US_PER_MS);
}

struct wa_registry *wa_registry_new(struct wa_engine *e, wa_registry_owned_fn owned, void *ctx)
{
	struct wa_registry *r = calloc(1, sizeof *r);
	char err[200];

	if (!r)
		return NULL;
	r->e = e;
	r->owned = owned;
	r->ctx = ctx;
	if (wa_config_get_int(e->cfg, "engine.heartbeat_ms", 100, 600000, &r->heartbeat_ms, err, sizeof err) < 0 ||
	    wa_config_get_int(e->cfg, "engine.lease_ms", 1000, 3600000, &r->lease_ms, err, sizeof err) < 0 ||
	    wa_config_get_int(e->cfg, "engine.claim_batch", 1, 100000, &r->claim_batch, err, sizeof err) < 0) {
		wa_error("%s", err);
		free(r);
		return NULL;
	}
	if (r->lease_ms < 2 * r->heartbeat_ms) {
		wa_error("engine.lease_ms (%ld) must be at least twice engine.heartbeat_ms (%ld)", r->lease_ms,
			 r->heartbeat_ms);
		free(r);
		return NULL;
	}
	return r;
}

int wa_registry_start(struct wa_registry *r)
{
	schedule(r, 0);
	return 0;
}

void wa_registry_kick(struct wa_registry *r)
{
	if (r->busy)
		r->again = 1;
	else
		schedule(r, 0);
}

struct release {
	char id[WA_ENGINE_ID_MAX];
	unsigned long long row; /* 0 = all */
};

static int release_run(struct wa_db *db, void *arg)
{
	struct release *rl = arg;

	if (rl->row)
		return wa_db_exec(db, SQL_RELEASE, "us", rl->row, rl->id) < 0 ? -1 : 0;
	return wa_db_exec(db, SQL_RELEASE_ALL, "s", rl->id) < 0 ? -1 : 0;
}

static void release_done(void *arg, int rc)
{
	if (rc < 0)
		wa_warn("releasing a session lease failed; it expires by itself");
	free(arg);
}

static void release(struct wa_registry *r, uint64_t row)
{
	struct release *rl = calloc(1, sizeof *rl);

	if (!rl)
		return;
	snprintf(rl->id, sizeof rl->id, "%s", r->e->id);
	rl->row = row;
	if (wa_dbpool_submit(r->e->db, REGISTRY_SHARD, release_run, release_done, rl) < 0)
		free(rl);
}

void wa_registry_release(struct wa_registry *r, uint64_t session_row_id)
{
	if (session_row_id)
		release(r, session_row_id);
}

int wa_registry_lease_ok(const struct wa_registry *r)
{
	return r->ticks > 0 && wa_engine_now_ms() < r->lease_ok_until;
}

uint64_t wa_registry_rows_since(const struct wa_registry *r)
{
	return r->rows_since;
}

uint64_t wa_registry_ticks(const struct wa_registry *r)
{
	return r ? r->ticks : 0;
}

void wa_registry_free(struct wa_registry *r, int release_all)
{
	if (!r)
		return;
	r->stopping = 1;
	lws_sul_cancel(&r->sul);
	/* an engine refused for its id never held the sessions it names */
	if (release_all && !r->conflict)
		release(r, 0);
	/* a tick still in the pool frees r when it completes */
	if (!r->busy)
		free(r);
}
