/* test_db_txn: the lost-connection rule of fcgi/db.c (stated in db.h)
 * against a real MariaDB: a transaction whose connection dies is never
 * committed in part, a write the server may have executed is never run a
 * second time, a read is retried transparently, and a handler whose
 * transaction broke answers 503 with nothing of it saved; group commit
 * (wa_db_batch_*) and the engine's dbpool that runs jobs in batches.
 *
 * Skips unless WA_AKG_TEST_DB_SOCKET names a unix socket (user root, no
 * password); once it is given, anything that keeps the test from running is
 * a bail-out, never a skip. Creates a scratch database wa_akg_test_txn_<pid>
 * (schema: db/migrations/0001_core.sql, the messages columns of 0005 and
 * 0011, plus the tables below) and drops it.
 *
 * How connections are lost: a second, plain connection runs KILL CONNECTION
 * on the wa_db's connection, either between two statements (the next one
 * finds it dead before sending: CR_SERVER_GONE_ERROR), or while a statement
 * runs: a killer thread waits until the processlist shows the victim in
 * SLEEP() and kills it then (CR_SERVER_LOST). "The server executed it, then
 * the connection was lost" is a MyISAM table whose AFTER INSERT trigger
 * sleeps: the row is written (MyISAM cannot roll back) before the sleep is
 * killed. */
#include "engine/dbpool.h"
#include "engine/inbox.h"
#include "engine/store/msgs.h"
#include "engine/store/msgstatus.h"
#include "fcgi/db.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"
#include "tests/unit/tap.h"
#include "wa_config.h"
#include "wa_err.h"

#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *sock;
static MYSQL *adm;             /* plain connection: set-up, KILL, checks */
static char dbname[64];
static struct wa_config *cfg;

static MYSQL *plain_connect(const char *db, unsigned long flags)
{
	MYSQL *m = mysql_init(NULL);

	if (!m || !mysql_real_connect(m, "localhost", "root", NULL, db, 0, sock, flags)) {
		fprintf(stderr, "connect: %s\n", m ? mysql_error(m) : "mysql_init failed");
		if (m)
			mysql_close(m);
		return NULL;
	}
	return m;
}

/* Run one or more statements on the admin connection; bail out on failure
 * (the fixture is broken, not the code under test). */
static void adm_exec(const char *sql)
{
	int st;

	if (mysql_query(adm, sql) != 0) {
		fprintf(stderr, "%s: %s\n", sql, mysql_error(adm));
		tap_bail("set-up statement failed");
	}
	do {
		MYSQL_RES *r = mysql_store_result(adm);

		if (r)
			mysql_free_result(r);
		st = mysql_next_result(adm);
		if (st > 0)
			tap_bail("set-up statement failed");
	} while (st == 0);
}

/* First column of the first row of a query on the admin connection. */
static char *adm_text(const char *sql, char *buf, size_t len)
{
	MYSQL_RES *r;
	MYSQL_ROW row;

	if (mysql_query(adm, sql) != 0 || !(r = mysql_store_result(adm)))
		tap_bail("check query failed");
	row = mysql_fetch_row(r);
	snprintf(buf, len, "%s", row && row[0] ? row[0] : "(none)");
	mysql_free_result(r);
	return buf;
}

static long long adm_int(const char *sql)
{
	char buf[32];

	return strtoll(adm_text(sql, buf, sizeof buf), NULL, 10);
}

static void kill_conn(unsigned long id)
{
	char sql[64];

	snprintf(sql, sizeof sql, "KILL CONNECTION %lu", id);
	adm_exec(sql);
}

/* ---- killer thread: kills a connection once it sits in SLEEP() ----------- */

struct killer {
	pthread_t tid;
	unsigned long victim;
	int killed;
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;
	MYSQL *m = plain_connect(NULL, 0);
	char sql[200];
	struct timespec pause = { 0, 10 * 1000 * 1000 };

	if (!m)
		return NULL;
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %lu "
		 "AND STATE = 'User sleep'", k->victim);
	for (int i = 0; i < 1000 && !k->killed; i++) {
		MYSQL_RES *r;
		MYSQL_ROW row;

		if (mysql_query(m, sql) != 0 || !(r = mysql_store_result(m)))
			break;
		row = mysql_fetch_row(r);
		if (row && row[0] && strcmp(row[0], "1") == 0) {
			char kill[64];

			snprintf(kill, sizeof kill, "KILL CONNECTION %lu", k->victim);
			k->killed = mysql_query(m, kill) == 0;
		}
		mysql_free_result(r);
		nanosleep(&pause, NULL);
	}
	mysql_close(m);
	return NULL;
}

static void killer_start(struct killer *k, const struct wa_db *db)
{
	memset(k, 0, sizeof *k);
	k->victim = mysql_thread_id(db->conn);
	if (pthread_create(&k->tid, NULL, killer_main, k) != 0)
		tap_bail("cannot start the killer thread");
}

static void killer_join(struct killer *k)
{
	pthread_join(k->tid, NULL);
}

/* ---- the wa_db under test ----------------------------------------------- */

static void load_config(void)
{
	static const char *const keys[] = { "db.host", "db.port", "db.socket", "db.user", "db.password",
					    "db.name", "db.connect_timeout", NULL };
	char text[512], err[256], env[64];

	/* the test's server, whatever the caller's environment says */
	for (size_t i = 0; keys[i]; i++) {
		wa_config_env_name(keys[i], env, sizeof env);
		unsetenv(env);
	}
	snprintf(text, sizeof text, "[db]\nsocket = %s\nuser = root\npassword =\nname = %s\n", sock, dbname);
	if (wa_config_parse(&cfg, text, strlen(text), "test_db_txn", err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		tap_bail("cannot build the configuration");
	}
}

/* A connected wa_db (so that the next loss is one of an open connection). */
static void db_open(struct wa_db *db)
{
	memset(db, 0, sizeof *db);
	db->cfg = cfg;
	if (wa_db_int(db, -1, "SELECT 1", "") != 1 || !db->conn)
		tap_bail("wa_db cannot connect");
}

static unsigned long conn_id(const struct wa_db *db)
{
	return db->conn ? mysql_thread_id(db->conn) : 0;
}

/* ---- the cases ---------------------------------------------------------- */

#define INS_T "INSERT INTO t (v) VALUES (?)"

static void test_transaction_killed(void)
{
	struct wa_db db;

	tap_diag("a transaction whose connection is killed half way");
	db_open(&db);
	ok(wa_db_begin(&db) == 0 && wa_db_in_txn(&db), "begin");
	is_int(wa_db_exec(&db, INS_T, "i", 1LL), 1, "row 1 inserted in the transaction");
	is_int(wa_db_exec(&db, INS_T, "i", 2LL), 1, "row 2 inserted in the transaction");
	is_int(adm_int("SELECT COUNT(*) FROM t"), 0, "uncommitted rows are not visible to others");
	kill_conn(conn_id(&db));
	ok(wa_db_exec(&db, INS_T, "i", 3LL) < 0,
	   "after KILL CONNECTION the transaction's next INSERT fails (no retry in autocommit)");
	is_int(wa_db_err(&db), WA_ESTORAGE, "  classified WA_ESTORAGE (the API's 503)");
	ok(wa_db_int(&db, -1, "SELECT COUNT(*) FROM t", "") == -1 && wa_db_err(&db) == WA_ESTORAGE,
	   "a read inside the lost transaction fails too (not retried)");
	ok(wa_db_exec(&db, INS_T, "i", 4LL) < 0 && wa_db_err(&db) == WA_ESTORAGE,
	   "every further statement of the transaction fails");
	ok(db.conn == NULL, "  and none of them opened a new connection");
	ok(wa_db_commit(&db) < 0 && wa_db_err(&db) == WA_ESTORAGE, "commit fails");
	is_int(adm_int("SELECT COUNT(*) FROM t"), 0, "none of the transaction's rows exist");
	wa_db_rollback(&db);
	ok(!wa_db_in_txn(&db), "rollback ends the transaction");
	is_int(wa_db_exec(&db, INS_T, "i", 5LL), 1, "the next statement runs on a new connection");
	is_int(adm_int("SELECT COUNT(*) FROM t"), 1, "  and only that row exists");
	wa_db_close(&db);
}

static void test_begin_on_dead_connection(void)
{
	struct wa_db db;

	tap_diag("a transaction begun on a connection killed since the last request");
	db_open(&db);
	kill_conn(conn_id(&db));
	ok(wa_db_begin(&db) == 0, "begin replaces the dead connection (nothing of the transaction existed)");
	ok(wa_db_exec(&db, INS_T, "i", 6LL) == 1 && wa_db_exec(&db, INS_T, "i", 6LL) == 1, "two inserts");
	ok(wa_db_commit(&db) == 0 && !wa_db_in_txn(&db), "commit");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v = 6"), 2, "both rows committed");
	wa_db_close(&db);
}

static void test_write_on_dead_connection(void)
{
	struct wa_db db;

	tap_diag("a single INSERT on a connection killed between two statements");
	db_open(&db);
	is_int(wa_db_exec(&db, INS_T, "i", 10LL), 1, "an INSERT (its statement is now cached)");
	kill_conn(conn_id(&db));
	is_int(wa_db_exec(&db, INS_T, "i", 11LL), 1,
	       "the next INSERT found the connection dead before sending: retried once, done");
	is_int(wa_db_err(&db), WA_OK, "  and reported as a success");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v = 11"), 1, "  the row exists exactly once");
	wa_db_close(&db);
}

static void test_write_executed_then_lost(void)
{
	struct wa_db db;
	struct killer k;
	long long n;

	tap_diag("a single INSERT the server executed before its connection was killed");
	db_open(&db);
	killer_start(&k, &db);
	n = wa_db_exec(&db, "INSERT INTO m (v) VALUES (?)", "i", 20LL);
	killer_join(&k);
	ok(k.killed, "the connection was killed while the INSERT's trigger slept");
	ok(n < 0, "the INSERT fails: its outcome is unknown to the client");
	is_int(wa_db_err(&db), WA_ESTORAGE, "  classified WA_ESTORAGE (the API's 503)");
	is_int(adm_int("SELECT COUNT(*) FROM m WHERE v = 20"), 1,
	       "it was not retried: the executed row exists once, not twice");
	wa_db_close(&db);
}

static void test_reads_retried(void)
{
	struct wa_db db;
	struct killer k;
	json_t *rows;

	tap_diag("reads after a lost connection");
	db_open(&db);
	kill_conn(conn_id(&db));
	is_int(wa_db_int(&db, -1, "SELECT COUNT(*) FROM t WHERE v = 5", ""), 1,
	       "a read on a connection killed since the last statement is retried transparently");
	is_int(wa_db_err(&db), WA_OK, "  and reported as a success");
	killer_start(&k, &db);
	rows = wa_db_query(&db, "SELECT SLEEP(?) AS s, (SELECT COUNT(*) FROM t WHERE v = 5) AS n", "i", 1LL);
	killer_join(&k);
	ok(k.killed, "a read's connection killed while it ran");
	ok(rows && json_integer_value(json_object_get(json_array_get(rows, 0), "n")) == 1,
	   "  the read was retried on a new connection and returned its row");
	is_int(wa_db_err(&db), WA_OK, "  and reported as a success");
	json_decref(rows);
	wa_db_close(&db);
}

/* ---- a handler: POST /api/settings/system with its transaction broken ---- */

static unsigned char out_buf[65536];

static void out_full(FCGX_Stream *s, int do_close)
{
	(void)do_close;
	s->isClosed = 1; /* a reply never needs more than out_buf */
}

static void test_handler_503(void)
{
	FCGX_Stream out = { 0 };
	FCGX_Request fr;
	struct wa_req r;
	struct wa_db db;
	struct killer k;
	const char *reply;
	char buf[64];
	int rc;

	tap_diag("a handler whose transaction loses its connection");
	/* The handler writes app_name, then timezone, in one transaction;
	 * the trigger makes the second write sleep so it can be killed. */
	adm_exec("CREATE TRIGGER settings_sleep BEFORE INSERT ON system_settings FOR EACH ROW "
		 "SET @slept = IF(NEW.`key` = 'timezone', SLEEP(3), 0)");
	memset(&fr, 0, sizeof fr);
	memset(&r, 0, sizeof r);
	memset(out_buf, 0, sizeof out_buf);
	out.wrNext = out_buf;
	out.stop = out.rdNext = out_buf + sizeof out_buf - 1;
	out.emptyBuffProc = out_full;
	fr.out = &out;
	db_open(&db);
	r.fcgx = &fr;
	r.db = &db;
	r.method = "POST";
	snprintf(r.path, sizeof r.path, "/api/settings/system");
	snprintf(r.rid, sizeof r.rid, "test-db-txn");
	r.user.id = 1;
	r.user.role = WA_ROLE_SUPERADMIN;
	r.json = json_pack("{s:s,s:s}", "appName", "Changed by the test", "timezone", "UTC");
	if (!r.json)
		tap_bail("out of memory");
	killer_start(&k, &db);
	rc = h_settings_set(&r);
	killer_join(&k);
	reply = (const char *)out_buf;
	ok(k.killed, "the connection was killed during the second write of the transaction");
	is_int(rc, -1, "the handler reports an error reply");
	ok(strncmp(reply, "Status: 503 ", 12) == 0, "it answered 503");
	if (strncmp(reply, "Status: 503 ", 12) != 0)
		printf("#   reply: %.200s\n", reply);
	ok(strstr(reply, "\"status\":false") && strstr(reply, "\"error\":\"database_unavailable\""),
	   "  in the API's error shape, error database_unavailable");
	is_str(adm_text("SELECT value FROM system_settings WHERE `key` = 'app_name'", buf, sizeof buf), "WA-AKG",
	       "the first setting written in the transaction is not saved");
	is_str(adm_text("SELECT value FROM system_settings WHERE `key` = 'timezone'", buf, sizeof buf), "Asia/Jakarta",
	       "nor the second (no retry in autocommit)");
	ok(!wa_db_in_txn(&db), "no transaction is left open");
	json_decref(r.json);
	wa_db_close(&db);
	adm_exec("DROP TRIGGER settings_sleep");
}

/* ---- set-up -------------------------------------------------------------- */

static void apply_migration(const char *name)
{
	const char *top = getenv("top_srcdir");
	char path[1024], *sql;
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "%s/db/migrations/%s", top ? top : ".", name);
	f = fopen(path, "rb");
	if (!f)
		tap_bail("cannot read a migration under db/migrations (top_srcdir?)");
	sql = malloc(1 << 20);
	n = sql ? fread(sql, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (!n)
		tap_bail("cannot read a migration under db/migrations");
	sql[n] = '\0';
	adm_exec(sql);
	free(sql);
}

/* The core schema and the messages columns wa_msgs_store writes. */
static void apply_core_schema(void)
{
	apply_migration("0001_core.sql");
	apply_migration("0005_message_mentions.sql");
	apply_migration("0011_message_kinds.sql");
}

/* Group commit (wa_db_batch_begin / end, the engine's dbpool): jobs in one
 * transaction whose own begin / commit run no statement, one COMMIT for
 * all; a job's rollback or a lost batch commits nothing. */
static unsigned long long questions(struct wa_db *db)
{
	/* statements db's connection sent, this one included */
	return (unsigned long long)wa_db_int(db, -1, "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
					     "WHERE VARIABLE_NAME = 'QUESTIONS'", "");
}

static void test_batch(void)
{
	struct wa_db db;
	long long before;

	tap_diag("a batch of jobs under one commit");
	db_open(&db);
	ok(wa_db_batch_begin(&db) == 0, "batch begun");
	before = wa_db_int(&db, -1, "SELECT COUNT(*) FROM t", "");
	ok(wa_db_begin(&db) == 0 && wa_db_in_txn(&db), "job A: its transaction is open");
	ok(wa_db_exec(&db, INS_T, "i", 100LL) == 1 && wa_db_commit(&db) == 0, "job A: insert, commit");
	ok(!wa_db_in_txn(&db), "  job A's transaction is over");
	ok(wa_db_begin(&db) == 0 && wa_db_exec(&db, INS_T, "i", 101LL) == 1 && wa_db_commit(&db) == 0,
	   "job B: insert, commit");
	ok(wa_db_exec(&db, INS_T, "i", 102LL) == 1, "job C: a statement outside a transaction of its own");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v >= 100 AND v < 200"), 0,
	       "nothing of the batch is visible before its commit");
	is_int(wa_db_batch_end(&db), 0, "the batch commits");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v IN (100, 101, 102)"), 3, "jobs A, B and C are durable");
	ok(before >= 0, "a read inside the batch works");

	tap_diag("a job's begin and commit in a batch cost no statement");
	{
		unsigned long long q0, q1;

		ok(wa_db_batch_begin(&db) == 0, "batch begun");
		q0 = questions(&db);
		ok(wa_db_begin(&db) == 0 && wa_db_exec(&db, INS_T, "i", 110LL) == 1 && wa_db_commit(&db) == 0 &&
		   wa_db_begin(&db) == 0 && wa_db_exec(&db, INS_T, "i", 111LL) == 1 && wa_db_commit(&db) == 0,
		   "two jobs: begin, insert, commit");
		q1 = questions(&db);
		/* the two INSERTs and the SELECT that reads the counter once more */
		is_int((long long)(q1 - q0), 3, "the server saw only the two inserts (and the counter's read)");
		is_int(wa_db_batch_end(&db), 0, "the batch commits");
	}

	tap_diag("a job's rollback voids the batch");
	ok(wa_db_batch_begin(&db) == 0, "batch begun");
	ok(wa_db_begin(&db) == 0 && wa_db_exec(&db, INS_T, "i", 120LL) == 1 && wa_db_commit(&db) == 0,
	   "job A: insert, commit");
	ok(wa_db_begin(&db) == 0 && wa_db_exec(&db, INS_T, "i", 121LL) == 1, "job B: insert");
	wa_db_rollback(&db);
	ok(wa_db_batch_lost(&db) && wa_db_batch_voided(&db), "job B rolled back: the batch is voided");
	ok(wa_db_begin(&db) < 0 && wa_db_err(&db) == WA_ESTORAGE, "  a further job cannot begin");
	ok(wa_db_exec(&db, INS_T, "i", 122LL) < 0, "  nor run a statement in autocommit");
	is_int(wa_db_batch_end(&db), -1, "batch end: nothing committed");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v IN (120, 121, 122)"), 0, "no row of the voided batch exists");
	ok(!wa_db_in_txn(&db), "no transaction is left open");
	ok(wa_db_begin(&db) == 0 && wa_db_exec(&db, INS_T, "i", 123LL) == 1, "alone, the job inserts");
	wa_db_rollback(&db);
	is_int(wa_db_exec(&db, INS_T, "i", 124LL), 1, "  and its rollback undoes only its own work");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v IN (123, 124)"), 1, "  (124 is there, 123 is not)");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v IN (120, 121, 122)"), 0,
	       "the voided batch was rolled back, not left for the next transaction to commit");

	tap_diag("a batch whose connection is killed");
	ok(wa_db_batch_begin(&db) == 0, "batch begun");
	ok(wa_db_begin(&db) == 0 && wa_db_exec(&db, INS_T, "i", 200LL) == 1 && wa_db_commit(&db) == 0,
	   "a job committed within the batch");
	kill_conn(conn_id(&db));
	ok(wa_db_begin(&db) < 0 || wa_db_exec(&db, INS_T, "i", 201LL) < 0, "the next job fails");
	ok(wa_db_batch_lost(&db), "the batch is lost");
	is_int(wa_db_batch_end(&db), -1, "batch end: nothing committed");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v IN (200, 201)"), 0, "no row of the lost batch exists");

	tap_diag("a deadlock seen outside fcgi/db.c (the Signal store) voids the batch");
	ok(wa_db_batch_begin(&db) == 0, "batch begun on a new connection");
	ok(wa_db_exec(&db, INS_T, "i", 300LL) == 1, "a job's insert");
	wa_db_external_error(&db, WA_DB_DEADLOCK);
	ok(wa_db_batch_lost(&db), "the batch is lost");
	ok(wa_db_exec(&db, INS_T, "i", 301LL) < 0 && wa_db_err(&db) == WA_ESTORAGE,
	   "what follows fails instead of running in autocommit");
	is_int(wa_db_batch_end(&db), -1, "batch end: nothing committed");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v IN (300, 301)"), 0, "no row of it exists");
	ok(!wa_db_in_txn(&db), "no transaction is left open");
	is_int(wa_db_exec(&db, INS_T, "i", 302LL), 1, "the connection works again");
	wa_db_close(&db);
}


/* The engine's dbpool (engine/dbpool.h) over real batches: jobs queued
 * together run under one commit; one that rolls back loses only its own
 * work (it runs again alone, the others again as batches), and every
 * completion comes in the order submitted. */
struct pjob {
	long long v;
	int rollback;          /* roll back after the insert */
	int runs, rc, order;
	uint64_t outbox;       /* its event's row (wa_outbox_add_later) */
};

static uint64_t sess_row; /* a wa_sessions row for the outbox's foreign key */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_entered, gate_open, done_seq;

static int gate_run(struct wa_db *db, void *arg)
{
	(void)db;
	(void)arg;
	pthread_mutex_lock(&gate_mu);
	gate_entered = 1;
	pthread_cond_broadcast(&gate_cv);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	return 0;
}

static int pjob_run(struct wa_db *db, void *arg)
{
	struct pjob *p = arg;
	char payload[64];

	p->runs++;
	if (wa_db_begin(db) != 0)
		return WA_ESTORAGE;
	if (wa_db_exec(db, INS_T, "i", p->v) != 1) {
		wa_db_rollback(db);
		return WA_ESTORAGE;
	}
	snprintf(payload, sizeof payload, "{\"v\":%lld}", p->v);
	if (wa_outbox_add_later(db, sess_row, "test.pool", payload, &p->outbox) != 0) {
		wa_db_rollback(db);
		return WA_ESTORAGE;
	}
	if (p->rollback) {
		wa_db_rollback(db);
		return WA_ECONFLICT;
	}
	return wa_db_commit(db) == 0 ? 0 : WA_ESTORAGE;
}

static void pjob_done(void *arg, int rc)
{
	struct pjob *p = arg;

	p->rc = rc;
	p->order = ++done_seq;
}

static void test_dbpool_rollback(void)
{
	struct pjob jobs[6] = {
		{ 500, 0, 0, -1, 0 }, { 501, 1, 0, -1, 0 }, { 502, 0, 0, -1, 0 },
		{ 503, 0, 0, -1, 0 }, { 504, 1, 0, -1, 0 }, { 505, 0, 0, -1, 0 },
	};
	struct wa_inbox *ib = wa_inbox_new(0);
	struct wa_dbpool *pool = ib ? wa_dbpool_new(cfg, 1, 100, ib) : NULL;
	int in_order = 1, submitted = 1;

	tap_diag("dbpool: a batch in which jobs roll back");
	if (!pool)
		tap_bail("cannot start a dbpool");
	/* the first job holds the thread, so the next six queue up and are
	 * taken as one batch */
	ok(wa_dbpool_submit(pool, 1, gate_run, NULL, NULL) == 0, "a job holds the pool's thread");
	pthread_mutex_lock(&gate_mu);
	while (!gate_entered)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	for (size_t i = 0; i < 6; i++)
		submitted &= wa_dbpool_submit(pool, 1, pjob_run, pjob_done, &jobs[i]) == 0;
	ok(submitted, "six jobs queued behind it");
	pthread_mutex_lock(&gate_mu);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	wa_dbpool_free(pool);
	wa_inbox_drain(ib);
	wa_inbox_free(ib);
	for (size_t i = 0; i < 6; i++)
		in_order &= jobs[i].order == (int)i + 1;
	ok(in_order, "the completions came in the order submitted");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v IN (500, 502, 503, 505)"), 4,
	       "the four jobs that committed are durable");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v IN (501, 504)"), 0, "the two that rolled back left nothing");
	ok(jobs[0].rc == 0 && jobs[2].rc == 0 && jobs[3].rc == 0 && jobs[5].rc == 0, "  and were told they succeeded");
	ok(jobs[1].rc == WA_ECONFLICT && jobs[4].rc == WA_ECONFLICT, "  the others got their own result");
	ok(jobs[1].runs == 2 && jobs[4].runs == 2, "a job that rolled back in a batch ran again alone");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v BETWEEN 500 AND 505"), 4, "nothing was stored twice");
	is_int(adm_int("SELECT COUNT(*) FROM events_outbox WHERE event = 'test.pool'"), 4,
	       "one event per committed job, none of the rolled-back ones");
	{
		int ids_ok = jobs[1].outbox == 0 && jobs[4].outbox == 0;
		char q[160];

		for (size_t i = 0; i < 6; i++) {
			if (jobs[i].rollback)
				continue;
			snprintf(q, sizeof q, "SELECT JSON_VALUE(payload, '$.v') FROM events_outbox WHERE id = %llu",
				 (unsigned long long)jobs[i].outbox);
			ids_ok &= jobs[i].outbox && adm_int(q) == jobs[i].v;
		}
		ok(ids_ok, "each job's outbox id names its own event's row (0 for those that rolled back)");
	}
}

/* wa_outbox_add_later (engine/store/msgs.h): events held back to the
 * commit, written by multi-row INSERTs, ids set then. */
static void test_outbox_later(void)
{
	struct wa_db db;
	uint64_t id[11], one = 0;
	char payload[64], q[160];
	int ok_ids = 1, distinct = 1;

	tap_diag("outbox rows held back to the commit");
	db_open(&db);
	ok(wa_outbox_add_later(&db, sess_row, "test.now", "{\"n\":0}", &one) == 0 && one != 0,
	   "outside a transaction the row is written at once");
	ok(wa_db_begin(&db) == 0, "a transaction");
	for (size_t i = 0; i < 11; i++) {
		snprintf(payload, sizeof payload, "{\"n\":%zu}", i + 1);
		ok_ids &= wa_outbox_add_later(&db, sess_row, "test.later", payload, &id[i]) == 0 && id[i] == 0;
	}
	ok(ok_ids, "eleven events added, no id yet");
	is_int(wa_db_int(&db, -1, "SELECT COUNT(*) FROM events_outbox WHERE event = 'test.later'", ""), 0,
	       "  nothing written before the commit");
	is_int(wa_db_commit(&db), 0, "commit");
	for (size_t i = 0; i < 11; i++) {
		snprintf(q, sizeof q, "SELECT JSON_VALUE(payload, '$.n') FROM events_outbox WHERE id = %llu",
			 (unsigned long long)id[i]);
		ok_ids &= id[i] != 0 && adm_int(q) == (long long)i + 1;
		for (size_t k = 0; k < i; k++)
			distinct &= id[k] != id[i];
	}
	ok(ok_ids && distinct, "every id names its own row (8 + 2 + 1 rows in three INSERTs)");
	is_int(adm_int("SELECT COUNT(*) FROM events_outbox WHERE event = 'test.later'"), 11, "eleven rows");

	ok(wa_db_begin(&db) == 0 && wa_outbox_add_later(&db, sess_row, "test.gone", "{}", &one) == 0,
	   "an event in a transaction that is rolled back");
	wa_db_rollback(&db);
	ok(one == 0 && adm_int("SELECT COUNT(*) FROM events_outbox WHERE event = 'test.gone'") == 0,
	   "  leaves no row and no id");
	ok(wa_db_begin(&db) == 0 && wa_db_commit(&db) == 0, "the next transaction commits nothing held back");
	is_int(adm_int("SELECT COUNT(*) FROM events_outbox WHERE event = 'test.gone'"), 0, "  (still no row)");

	ok(wa_db_begin(&db) == 0 && wa_outbox_add_later(&db, sess_row, "test.badjson", "not json", &one) == 0,
	   "an event the table refuses (its payload is not JSON)");
	ok(wa_db_exec(&db, INS_T, "i", 700LL) == 1, "  beside a row of the same transaction");
	ok(wa_db_commit(&db) < 0, "  fails the commit");
	is_int(adm_int("SELECT COUNT(*) FROM t WHERE v = 700"), 0, "  and nothing of the transaction is committed");
	ok(!wa_db_in_txn(&db), "  no transaction is left open");
	wa_db_close(&db);
}

/* wa_msgstatus_raise (engine/store/msgstatus.h): status raises held to the
 * commit, judged in order against the stored rows, written together, their
 * callbacks' outbox rows flushed after them. */
struct took_log {
	char seen[512];
	uint64_t ev[32];
	size_t n;
};

static int took_cb(struct wa_db *db, void *arg, const char *id, const char *status)
{
	struct took_log *l = arg;
	size_t len = strlen(l->seen);

	snprintf(l->seen + len, sizeof l->seen - len, "%s%s=%s", len ? " " : "", id, status);
	if (l->n >= 32)
		return WA_EINTERNAL;
	return wa_outbox_add_later(db, sess_row, "test.status", "{}", &l->ev[l->n++]);
}

static char *status_of(const char *id, char *buf, size_t len)
{
	char q[200];

	snprintf(q, sizeof q, "SELECT status FROM messages WHERE wa_session_id = %llu AND message_id = '%s'",
		 (unsigned long long)sess_row, id);
	return adm_text(q, buf, len);
}

static void test_msgstatus(void)
{
	struct wa_db db;
	struct took_log l = { 0 };
	char q[200], st[32];
	unsigned long long before;
	uint64_t first = 0;
	int all = 1;

	tap_diag("sent messages' status raises held to the commit");
	for (int i = 1; i <= 20; i++) {
		snprintf(q, sizeof q, "INSERT INTO messages (wa_session_id, remote_jid, message_id, from_me, status) "
			 "VALUES (%llu, 'p@s.whatsapp.net', 'm%d', 1, 'PENDING')", (unsigned long long)sess_row, i);
		adm_exec(q);
	}
	snprintf(q, sizeof q, "INSERT INTO messages (wa_session_id, remote_jid, message_id, from_me, status) "
		 "VALUES (%llu, 'p@s.whatsapp.net', 'in1', 0, 'SENT')", (unsigned long long)sess_row);
	adm_exec(q);
	db_open(&db);
	ok(wa_db_begin(&db) == 0, "a transaction");
	/* an outbox row first: its slot is set before the raises' own */
	ok(wa_outbox_add_later(&db, sess_row, "test.first", "{}", &first) == 0, "  an event held back first");
	before = questions(&db);
	all &= wa_msgstatus_raise(&db, sess_row, "m1", "SENT", WA_MSGSTATUS_ONLY_PENDING, took_cb, &l) == 0;
	all &= wa_msgstatus_raise(&db, sess_row, "m1", "DELIVERED", 0, took_cb, &l) == 0;
	all &= wa_msgstatus_raise(&db, sess_row, "m2", "SENT", WA_MSGSTATUS_ONLY_PENDING, took_cb, &l) == 0;
	all &= wa_msgstatus_raise(&db, sess_row, "m2", "SENT", WA_MSGSTATUS_ONLY_PENDING, took_cb, &l) == 0;
	all &= wa_msgstatus_raise(&db, sess_row, "m3", "READ", 0, took_cb, &l) == 0;
	all &= wa_msgstatus_raise(&db, sess_row, "m3", "DELIVERED", 0, took_cb, &l) == 0;
	all &= wa_msgstatus_raise(&db, sess_row, "m4", "DELIVERED", 0, took_cb, &l) == 0;
	all &= wa_msgstatus_raise(&db, sess_row, "m4", "SENT", WA_MSGSTATUS_ONLY_PENDING, took_cb, &l) == 0;
	all &= wa_msgstatus_raise(&db, sess_row, "nope", "DELIVERED", 0, took_cb, &l) == 0;
	all &= wa_msgstatus_raise(&db, sess_row, "in1", "DELIVERED", 0, took_cb, &l) == 0;
	for (int i = 5; i <= 20; i++) {
		snprintf(q, sizeof q, "m%d", i);
		all &= wa_msgstatus_raise(&db, sess_row, q, "DELIVERED", 0, took_cb, &l) == 0;
	}
	ok(all, "26 raises of 20 messages noted");
	is_int((long long)(questions(&db) - before), 1, "  no statement yet (the one counted is the count's own)");
	is_str(l.seen, "", "  and no callback");
	before = questions(&db);
	is_int(wa_db_commit(&db), 0, "commit");
	ok(strcmp(status_of("m1", st, sizeof st), "DELIVERED") == 0,
	   "the ack and the receipt of one message: DELIVERED");
	ok(strcmp(status_of("m2", st, sizeof st), "SENT") == 0, "a second ack changes nothing: SENT");
	ok(strcmp(status_of("m3", st, sizeof st), "READ") == 0, "a lower status after a higher one: READ stays");
	ok(strcmp(status_of("m4", st, sizeof st), "DELIVERED") == 0,
	   "the server's answer after a receipt: only a PENDING message takes it");
	ok(strcmp(status_of("in1", st, sizeof st), "SENT") == 0, "a message we did not send is not raised");
	ok(strcmp(status_of("m20", st, sizeof st), "DELIVERED") == 0 &&
	   strcmp(status_of("m5", st, sizeof st), "DELIVERED") == 0, "17 DELIVERED past one chunk of 16");
	is_str(l.seen,
	       "m1=SENT m1=DELIVERED m2=SENT m3=READ m4=DELIVERED m5=DELIVERED m6=DELIVERED m7=DELIVERED "
	       "m8=DELIVERED m9=DELIVERED m10=DELIVERED m11=DELIVERED m12=DELIVERED m13=DELIVERED m14=DELIVERED "
	       "m15=DELIVERED m16=DELIVERED m17=DELIVERED m18=DELIVERED m19=DELIVERED m20=DELIVERED",
	       "callbacks for the raises that took, in the order made");
	/* 2 SELECTs (22 distinct ids), UPDATEs: SENT 1, READ 1, DELIVERED 2 (18
	 * ids); 3 outbox INSERTs (8 + 8 + 4 + 2 rows of 22); COMMIT */
	{
		unsigned long long n = questions(&db) - before;
		char line[64];

		snprintf(line, sizeof line, "  the commit ran %llu statements", n);
		tap_diag(line);
		ok(n <= 12, "  in a few statements, not one per raise");
	}
	all = first != 0;
	for (size_t i = 0; i < l.n; i++)
		all &= l.ev[i] != 0;
	ok(all && l.n == 21, "every callback's outbox row written after them (an id each)");
	is_int(adm_int("SELECT COUNT(*) FROM events_outbox WHERE event = 'test.status'"), 21, "  21 rows");

	memset(&l, 0, sizeof l);
	ok(wa_db_begin(&db) == 0 && wa_msgstatus_raise(&db, sess_row, "m2", "READ", 0, took_cb, &l) == 0,
	   "a raise in a transaction that is rolled back");
	wa_db_rollback(&db);
	ok(strcmp(status_of("m2", st, sizeof st), "SENT") == 0 && l.n == 0, "  changes nothing, no callback");
	ok(wa_db_begin(&db) == 0 && wa_db_commit(&db) == 0 && l.n == 0, "  (nor at the next commit)");

	ok(wa_db_begin(&db) == 0 && wa_msgstatus_raise(&db, sess_row, "m2", "PLAYED", 0, took_cb, &l) == 0,
	   "one raise in a transaction");
	before = questions(&db);
	ok(wa_db_commit(&db) == 0 && strcmp(status_of("m2", st, sizeof st), "PLAYED") == 0 && l.n == 1,
	   "  takes at the commit");
	is_int((long long)(questions(&db) - before), 4, "  by one UPDATE (+ the outbox INSERT, COMMIT, the count)");
	ok(wa_msgstatus_raise(&db, sess_row, "m2", "DELIVERED", 0, took_cb, &l) == 0 && l.n == 1 &&
	   wa_msgstatus_raise(&db, sess_row, "m6", "READ", WA_MSGSTATUS_NOW, took_cb, &l) == 0 && l.n == 2 &&
	   strcmp(status_of("m6", st, sizeof st), "READ") == 0, "outside a transaction or NOW: at once");
	wa_db_close(&db);
}

/* wa_msgs_store in a transaction (engine/store/msgs_held.h): chat upserts
 * held to the commit and merged per chat, our own new messages' rows held
 * and written by multi-row INSERTs; wa_msgs_chats_settle writes the held
 * chat rows early. */
static long long count_of(const char *where)
{
	char q[300];

	snprintf(q, sizeof q, "SELECT COUNT(*) FROM %s", where);
	return adm_int(q);
}

static int store_text(struct wa_db *db, const char *chat, const char *id, int from_me, long long t, int later)
{
	static const uint8_t raw[] = { 0x0a, 0x02, 'h', 'i' };
	struct wa_msg_row m = { 0 };
	uint64_t ob = 0;

	m.chat = chat;
	m.id = id;
	m.from_me = from_me;
	m.sender = from_me ? NULL : chat;
	m.type = "TEXT";
	m.content = id;
	m.raw = raw;
	m.raw_len = sizeof raw;
	m.media_size = 77;
	m.status = from_me ? "PENDING" : "DELIVERED";
	m.t = t;
	m.row_later = later;
	return wa_msgs_store(db, sess_row, &m, &ob);
}

static int stand_in_flush(struct wa_db *db, void *arg)
{
	(void)db;
	(void)arg;
	return 0;
}

static void stand_in_free(void *arg)
{
	(void)arg;
}

static void test_rows_held(void)
{
	struct wa_db db;
	uint64_t ob[3] = { 0 };
	char q[300], buf[64];
	unsigned long long before;
	int all = 1;

	tap_diag("message and chat rows held back to the commit");
	db_open(&db);
	ok(wa_db_begin(&db) == 0, "a transaction");
	/* the engine's other holders share the transaction's commit slots:
	 * the Signal store's (a stand-in here) and the outbox's */
	ok(wa_db_at_commit(&db, stand_in_flush, stand_in_free, NULL) == 0, "  a slot taken as the Signal store does");
	before = questions(&db);
	for (int i = 0; i < 5; i++) {
		snprintf(buf, sizeof buf, "h-out-%d", i);
		all &= store_text(&db, "a@s.whatsapp.net", buf, 1, 1000 + i, 1) == 0;
	}
	all &= store_text(&db, "a@s.whatsapp.net", "h-in-1", 0, 900, 0) == 0;
	all &= store_text(&db, "b@s.whatsapp.net", "h-in-2", 0, 950, 0) == 0;
	ok(all, "five messages sent to a, one received from a and one from b");
	/* the two received rows are written now (a redelivery must be told) */
	is_int((long long)(questions(&db) - before), 3, "  two statements so far (+ the count's own)");
	snprintf(q, sizeof q, "messages WHERE message_id LIKE 'h-out-%%'");
	is_int(count_of(q), 0, "  no sent row is in the table yet");
	is_int(count_of("chats WHERE jid IN ('a@s.whatsapp.net', 'b@s.whatsapp.net')"), 0, "  nor a chat row");
	ok(wa_msgs_chats_settle(&db) == 0, "settle");
	is_int(wa_db_int(&db, -1, "SELECT unread_count FROM chats WHERE jid = 'a@s.whatsapp.net'", ""), 1,
	       "  a's row is there in the transaction, one unread (five sent, one received: one row)");
	is_int(wa_db_int(&db, -1, "SELECT CAST(UNIX_TIMESTAMP(last_message_at) AS SIGNED) FROM chats "
			 "WHERE jid = 'a@s.whatsapp.net'", ""), 1004, "  its last message the latest of them");
	all = store_text(&db, "b@s.whatsapp.net", "h-in-3", 0, 990, 0) == 0;
	ok(all, "another message from b after the settle");
	for (int i = 0; i < 3; i++)
		all &= wa_outbox_add_later(&db, sess_row, "test.held", "{}", &ob[i]) == 0;
	all &= wa_msgstatus_raise(&db, sess_row, "h-out-9", "SENT", WA_MSGSTATUS_ONLY_PENDING, NULL, NULL) == 0;
	ok(all, "three events and a status raise besides");
	before = questions(&db);
	is_int(wa_db_commit(&db), 0, "commit");
	/* the raise's UPDATE, 4 + 1 sent rows, b's chat row, 2 + 1 outbox rows,
	 * the COMMIT, the count */
	is_int((long long)(questions(&db) - before), 8,
	       "  every holder has its slot: multi-row INSERTs of the sent messages and of the events, one chat row");
	ok(ob[0] && ob[1] && ob[2], "  the events' ids set");
	is_int(count_of("messages WHERE message_id LIKE 'h-out-%' AND from_me = 1 AND status = 'PENDING' AND "
			"media_size = 77 AND raw = X'0a026869' AND content = message_id"), 5,
	       "every sent row written whole");
	is_int(adm_int("SELECT unread_count FROM chats WHERE jid = 'b@s.whatsapp.net'"), 2, "b: two unread");
	is_int(adm_int("SELECT UNIX_TIMESTAMP(last_message_at) FROM chats WHERE jid = 'b@s.whatsapp.net'"), 990,
	       "  its last message time");

	ok(wa_db_begin(&db) == 0 && store_text(&db, "c@s.whatsapp.net", "h-gone", 1, 2000, 1) == 0,
	   "a sent message in a transaction that is rolled back");
	wa_db_rollback(&db);
	ok(count_of("messages WHERE message_id = 'h-gone'") == 0 &&
	   count_of("chats WHERE jid = 'c@s.whatsapp.net'") == 0,
	   "  leaves no row");
	ok(wa_db_begin(&db) == 0 && wa_db_commit(&db) == 0 && count_of("messages WHERE message_id = 'h-gone'") == 0,
	   "  (nor at the next commit)");
	ok(store_text(&db, "c@s.whatsapp.net", "h-now", 1, 2001, 1) == 0 &&
	   count_of("messages WHERE message_id = 'h-now'") == 1 &&
	   count_of("chats WHERE jid = 'c@s.whatsapp.net'") == 1,
	   "outside a transaction both rows are written at once");
	wa_db_close(&db);
}

int main(void)
{
	char sql[200];

	sock = getenv("WA_AKG_TEST_DB_SOCKET");
	if (!sock || !*sock)
		tap_skip_all("WA_AKG_TEST_DB_SOCKET not set");
	adm = plain_connect(NULL, CLIENT_MULTI_STATEMENTS);
	if (!adm)
		tap_bail("cannot connect to the MariaDB at WA_AKG_TEST_DB_SOCKET");
	snprintf(dbname, sizeof dbname, "wa_akg_test_txn_%ld", (long)getpid());
	snprintf(sql, sizeof sql, "CREATE DATABASE `%s` CHARACTER SET utf8mb4", dbname);
	adm_exec(sql);
	if (mysql_select_db(adm, dbname) != 0)
		tap_bail("cannot use the scratch database");
	apply_core_schema();
	adm_exec("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB");
	adm_exec("CREATE TABLE m (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL) ENGINE=MyISAM");
	adm_exec("CREATE TRIGGER m_sleep AFTER INSERT ON m FOR EACH ROW SET @slept = IF(NEW.v = 20, SLEEP(3), 0)");
	load_config();

	test_transaction_killed();
	test_begin_on_dead_connection();
	test_write_on_dead_connection();
	test_write_executed_then_lost();
	test_reads_retried();
	test_handler_503();
	test_batch();
	adm_exec("INSERT INTO users (email, password_hash) VALUES ('pool@test', 'x')");
	adm_exec("INSERT INTO wa_sessions (session_id, name, user_id) SELECT 'pool', 'pool', id FROM users "
		 "WHERE email = 'pool@test'");
	sess_row = (uint64_t)adm_int("SELECT id FROM wa_sessions WHERE session_id = 'pool'");
	test_dbpool_rollback();
	test_outbox_later();
	test_msgstatus();
	test_rows_held();

	snprintf(sql, sizeof sql, "DROP DATABASE `%s`", dbname);
	adm_exec(sql);
	mysql_close(adm);
	wa_config_free(cfg);
	mysql_library_end();
	return tap_done();
}
