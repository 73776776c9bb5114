/* test_sigstore_db: the Signal exchange of test_signal on engine/store/sigstore_db
 * against a real MariaDB. Skips unless WA_AKG_TEST_DB_SOCKET names a unix
 * socket (user root, no password). Creates a scratch database
 * wa_akg_test_sig_<pid>, applies db/migrations/0002_signal_store.sql itself
 * (twice: it must be idempotent), runs, and drops the database. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>

#include "tap.h"
#include "wa/signal.h"
#include "engine/store/sigstore_db.h"

static MYSQL *db;
static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;

static int exec_all(const char *sql, size_t len)
{
	MYSQL_RES *r;
	int st;

	if (mysql_real_query(db, sql, (unsigned long)len) != 0)
		return -1;
	do {
		r = mysql_store_result(db);
		if (r)
			mysql_free_result(r);
		else if (mysql_field_count(db) != 0)
			return -1;
		st = mysql_next_result(db);
		if (st > 0)
			return -1;
	} while (st == 0);
	return 0;
}

static int apply_migration(void)
{
	const char *top = getenv("top_srcdir");
	char path[1024], *buf;
	size_t n;
	FILE *f;
	int rc;

	snprintf(path, sizeof path, "%s/db/migrations/0002_signal_store.sql", top ? top : ".");
	f = fopen(path, "rb");
	if (!f)
		return -1;
	buf = malloc(1 << 20);
	n = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	rc = n > 0 ? exec_all(buf, n) : -1;
	free(buf);
	return rc;
}

struct party {
	wa_sig_addr addr;
	wa_sigstore *st;
	wa_sig *sig;
};

static wa_sigstore_dbconn *conn; /* when set, stores share its statements */

static int party_open(struct party *p, const char *key, const char *jid)
{
	memset(p, 0, sizeof *p);
	if (wa_sig_addr_from_jid(jid, &p->addr) != 0)
		return -1;
	p->st = conn ? wa_sigstore_db_new_on(conn, key) : wa_sigstore_db_new(db, &db_lock, key);
	return p->st && wa_sig_new(p->st, &p->sig) == 0 ? 0 : -1;
}

static void party_close(struct party *p)
{
	wa_sig_free(p->sig);
	wa_sigstore_free(p->st);
	p->sig = NULL;
	p->st = NULL;
}

static int party_keys(struct party *p)
{
	wa_sig_prekey pks[5];

	return wa_sig_identity_generate(p->sig) == 0 && wa_sig_signed_prekey_generate(p->sig, 1, NULL) == 0 &&
	       wa_sig_prekeys_generate(p->sig, 1, 5, pks, NULL) == 0 ? 0 : -1;
}

static int p_send(struct party *f, struct party *t, const char *text, uint8_t **ct, size_t *cl)
{
	enum wa_sig_msg_type ty;
	int rc = wa_sig_encrypt(f->sig, &t->addr, (const uint8_t *)text, strlen(text), &ty, ct, cl);

	return rc == 0 ? (int)ty : rc;
}

static int p_recv(struct party *t, struct party *f, int ty, const uint8_t *ct, size_t cl, const char *text)
{
	uint8_t *pt = NULL;
	size_t pl = 0;
	int rc = wa_sig_decrypt(t->sig, &f->addr, (enum wa_sig_msg_type)ty, ct, cl, &pt, &pl);

	if (rc == 0 && (pl != strlen(text) || memcmp(pt, text, pl) != 0))
		rc = -100;
	wa_sig_buf_free(pt, pl);
	return rc;
}

static void run(void)
{
	struct party a, b;
	wa_sig_bundle bb;
	uint8_t *m[3] = { NULL }, *x = NULL, *skdm = NULL, pub[32], pub2[32];
	size_t ml[3], xl, sl;
	uint32_t reg = 0, reg2 = 0;
	int t, i, t3[3];
	const char *txt[3] = { "m1", "m2", "m3" };
	const char *g = "120363000000000009@g.us";

	ok(party_open(&a, "sess-alice", "15550000001:1@s.whatsapp.net") == 0 &&
	   party_open(&b, "sess-bob", "100000000000002@lid") == 0, "two stores on one database");
	is_int(wa_sig_identity_get(a.sig, pub, &reg), WA_SIG_NOT_FOUND, "no identity in a fresh database");
	ok(party_keys(&a) == 0 && party_keys(&b) == 0, "identities, signed pre-keys, pre-keys stored");
	ok(wa_sig_identity_get(a.sig, pub, &reg) == 0 && reg >= 1 && reg <= 16380, "identity read back");
	is_int(wa_sig_prekey_count(a.sig), 5, "pre-key count of alice");
	is_int(wa_sigstore_count(b.st, WA_SIGREC_SIGNED_PREKEY), 1, "signed pre-key count of bob");

	ok(wa_sig_bundle_own(b.sig, 1, 1, &bb) == 0 && bb.has_prekey, "bob's bundle from the database");
	is_int(wa_sig_bundle_process(a.sig, &b.addr, &bb), 0, "alice processes it");
	is_int(wa_sig_has_session(a.sig, &b.addr), 1, "alice has a session");
	t = p_send(&a, &b, "hello over mariadb", &x, &xl);
	is_int(t, WA_SIG_PKMSG, "pkmsg");
	is_int(p_recv(&b, &a, t, x, xl, "hello over mariadb"), 0, "bob decrypts the pkmsg");
	is_int(wa_sig_prekey_count(b.sig), 4, "bob's pre-key was consumed (row deleted)");
	is_int(p_recv(&b, &a, t, x, xl, "hello over mariadb"), WA_SIG_DUPLICATE, "duplicate pkmsg");
	free(x);

	/* bob "restarts": everything comes back from the database */
	party_close(&b);
	ok(party_open(&b, "sess-bob", "100000000000002@lid") == 0, "bob reopens his store");
	t = p_send(&b, &a, "reply", &x, &xl);
	is_int(t, WA_SIG_MSG, "bob answers with a msg after the restart");
	is_int(p_recv(&a, &b, t, x, xl, "reply"), 0, "alice decrypts it");
	free(x);

	for (i = 0; i < 3; i++)
		t3[i] = p_send(&a, &b, txt[i], &m[i], &ml[i]);
	ok(t3[0] == WA_SIG_MSG && t3[1] == WA_SIG_MSG && t3[2] == WA_SIG_MSG, "three msgs");
	is_int(p_recv(&b, &a, WA_SIG_MSG, m[2], ml[2], txt[2]), 0, "out of order: 3");
	is_int(p_recv(&b, &a, WA_SIG_MSG, m[0], ml[0], txt[0]), 0, "1");
	is_int(p_recv(&b, &a, WA_SIG_MSG, m[1], ml[1], txt[1]), 0, "2");
	is_int(p_recv(&b, &a, WA_SIG_MSG, m[1], ml[1], txt[1]), WA_SIG_DUPLICATE, "2 again: duplicate");
	for (i = 0; i < 3; i++)
		free(m[i]);

	/* groups */
	ok(wa_sig_group_skdm(a.sig, g, &a.addr, &skdm, &sl) == 0, "alice's SKDM");
	is_int(wa_sig_group_process_skdm(b.sig, g, &a.addr, skdm, sl), 0, "bob processes it");
	ok(wa_sig_group_encrypt(a.sig, g, &a.addr, (const uint8_t *)"group hi", 8, &x, &xl) == 0, "skmsg");
	{
		uint8_t *pt = NULL;
		size_t pl = 0;

		ok(wa_sig_group_decrypt(b.sig, g, &a.addr, x, xl, &pt, &pl) == 0 && pl == 8 &&
		   memcmp(pt, "group hi", 8) == 0, "bob decrypts the skmsg");
		wa_sig_buf_free(pt, pl);
		is_int(wa_sig_group_decrypt(b.sig, g, &a.addr, x, xl, &pt, &pl), WA_SIG_DUPLICATE, "skmsg twice");
	}
	free(x);
	free(skdm);

	/* scoping: a third store key sees none of it */
	{
		struct party c;

		ok(party_open(&c, "sess-carol", "15550000003@s.whatsapp.net") == 0, "third session key");
		is_int(wa_sig_prekey_count(c.sig), 0, "no pre-keys leak across session keys");
		is_int(wa_sig_has_session(c.sig, &b.addr), 0, "no sessions leak across session keys");
		party_close(&c);
	}

	/* session helpers */
	{
		uint32_t devs[4];

		is_int(wa_sig_session_devices(b.sig, &a.addr, devs, 4), 1, "bob's devices of alice");
		is_int(devs[0], 1, "alice's device id");
		is_int(wa_sig_session_delete_all(b.sig, &a.addr), 1, "delete all of alice's sessions");
		is_int(wa_sig_has_session(b.sig, &a.addr), 0, "gone");
		ok(wa_sigstore_count(b.st, WA_SIGREC_IDENTITY) == 1, "bob still trusts alice's identity");
		is_int(wa_sig_user_forget(b.sig, &a.addr), 0, "forget alice's user");
		is_int(wa_sigstore_count(b.st, WA_SIGREC_IDENTITY), 0, "identity rows gone");
	}

	/* batches: one transaction, all or nothing */
	{
		static wa_sig_prekey big[300];
		wa_sigrec_key ks[3] = { { .kind = WA_SIGREC_PREKEY, .id = 900 },
					{ .kind = WA_SIGREC_PREKEY, .id = 901 },
					{ .kind = WA_SIGREC_LOCAL } };
		uint8_t r[68] = { 1 };
		const uint8_t *rs[3] = { r, r, r };
		size_t ls[3] = { 4, 4, 68 };
		int before = wa_sig_prekey_count(a.sig);

		is_int(wa_sig_prekeys_generate(a.sig, 1000, 300, big, NULL), 0, "300 pre-keys in one batch");
		is_int(wa_sig_prekey_count(a.sig), before + 300, "all 300 stored");
		ok(wa_sigstore_put_many(a.st, ks, rs, ls, 3) < 0, "a batch with a bad member fails");
		is_int(wa_sig_prekey_count(a.sig), before + 300, "and none of it was stored (rolled back)");
	}

	/* a failing database is a store error, and the store recovers after */
	{
		const char *away = "RENAME TABLE signal_session TO signal_session_away";
		const char *back = "RENAME TABLE signal_session_away TO signal_session";
		enum wa_sig_msg_type ty;

		is_int(wa_sig_has_session(a.sig, &b.addr), 1, "alice still has her session");
		ok(exec_all(away, strlen(away)) == 0, "session table taken away");
		is_int(wa_sig_has_session(a.sig, &b.addr), WA_SIG_STORE, "has_session: store error");
		is_int(wa_sig_encrypt(a.sig, &b.addr, (const uint8_t *)"x", 1, &ty, &x, &xl), WA_SIG_STORE,
		       "encrypt: store error (no retry receipt material)");
		ok(exec_all(back, strlen(back)) == 0, "session table back");
		is_int(wa_sig_has_session(a.sig, &b.addr), 1, "statements re-prepared, session found again");
	}

	/* identity replaced in place */
	ok(wa_sig_identity_generate(a.sig) == 0 && wa_sig_identity_get(a.sig, pub2, &reg2) == 0 &&
	   memcmp(pub, pub2, 32) != 0, "identity row replaced");
	party_close(&a);
	party_close(&b);

	/* purge one session key; the other is untouched */
	ok(wa_sigstore_db_purge(db, &db_lock, "sess-alice") > 0, "purge alice's rows");
	ok(party_open(&a, "sess-alice", "15550000001:1@s.whatsapp.net") == 0 &&
	   party_open(&b, "sess-bob", "100000000000002@lid") == 0, "reopen both");
	is_int(wa_sig_identity_get(a.sig, pub, &reg), WA_SIG_NOT_FOUND, "alice has no identity left");
	is_int(wa_sig_prekey_count(a.sig), 0, "nor pre-keys");
	is_int(wa_sig_has_session(a.sig, &b.addr), 0, "nor sessions");
	ok(wa_sig_identity_get(b.sig, pub, &reg) == 0 && wa_sig_prekey_count(b.sig) == 4, "bob keeps his");
	is_int(wa_sigstore_db_purge(db, &db_lock, "sess-alice"), 0, "purge again: nothing left");
	party_close(&a);
	party_close(&b);
}


/* Session records held for a transaction (wa_sigstore_dbconn_txn): the
 * owner's transaction is the flag txn_open; at_commit only notes that the
 * store asked for its flush. */
static int txn_open, txn_registered;

static int t_in_txn(void *ctx)
{
	(void)ctx;
	return txn_open;
}

static int t_at_commit(void *ctx, wa_sigstore_dbconn *c)
{
	(void)ctx;
	(void)c;
	txn_registered++;
	return 0;
}

static const struct wa_sigstore_txn test_txn = { t_in_txn, t_at_commit };

/* The record of (name, device) in the table: its text, "" when absent. */
static const char *row_of(const char *name, unsigned device, char *buf, size_t cap)
{
	char sql[256];
	MYSQL_RES *r;
	MYSQL_ROW row;

	buf[0] = '\0';
	snprintf(sql, sizeof sql, "SELECT record FROM signal_session WHERE session_key = 'sess-txc' AND "
		 "addr_name = '%s' AND addr_device = %u", name, device);
	pthread_mutex_lock(&db_lock);
	if (mysql_query(db, sql) == 0 && (r = mysql_store_result(db)) != NULL) {
		if ((row = mysql_fetch_row(r)) != NULL && row[0])
			snprintf(buf, cap, "%s", row[0]);
		mysql_free_result(r);
	}
	pthread_mutex_unlock(&db_lock);
	return buf;
}

static int get_is(wa_sigstore *st, const wa_sigrec_key *k, const char *want)
{
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc = wa_sigstore_get(st, k, &rec, &len), same;

	same = want ? rc == 1 && len == strlen(want) && memcmp(rec, want, len) == 0 : rc == 0;
	free(rec);
	return same;
}

static int put_s(wa_sigstore *st, const wa_sigrec_key *k, const char *v)
{
	return wa_sigstore_put(st, k, (const uint8_t *)v, strlen(v));
}

static void test_txn_records(void)
{
	wa_sigstore_dbconn *c = wa_sigstore_dbconn_new(db, &db_lock);
	wa_sigstore *st = c ? wa_sigstore_db_new_on(c, "sess-txc") : NULL;
	wa_sigrec_key k = { .kind = WA_SIGREC_SESSION, .name = "15550000009", .device = 3 };
	char buf[64];
	uint32_t devs[16];
	int all = 1, n;

	tap_diag("session records held for a transaction");
	if (!st)
		tap_bail("cannot open a store");
	wa_sigstore_dbconn_txn(c, &test_txn, NULL);
	txn_open = 1;
	ok(put_s(st, &k, "rec-A") == 0, "a write in a transaction");
	is_str(row_of(k.name, 3, buf, sizeof buf), "", "  is held back (not in the table yet)");
	ok(get_is(st, &k, "rec-A"), "  and read back from what is held");
	is_int(txn_registered, 1, "  the store asked its owner for a flush once");
	is_int(wa_sigstore_dbconn_flush(c), 0, "the flush before the COMMIT");
	is_str(row_of(k.name, 3, buf, sizeof buf), "rec-A", "  wrote it");
	wa_sigstore_dbconn_forget(c); /* the transaction ended */
	txn_open = 0;

	pthread_mutex_lock(&db_lock);
	all &= mysql_query(db, "UPDATE signal_session SET record = 'rec-B' WHERE session_key = 'sess-txc'") == 0;
	pthread_mutex_unlock(&db_lock);
	txn_open = 1;
	ok(all && get_is(st, &k, "rec-B"), "the next transaction reads what someone else wrote in between");
	ok(put_s(st, &k, "rec-C") == 0, "a write in a transaction that then rolls back");
	wa_sigstore_dbconn_forget(c);
	txn_open = 0;
	is_str(row_of(k.name, 3, buf, sizeof buf), "rec-B", "  left the table as it was");
	ok(get_is(st, &k, "rec-B"), "  and is not read afterwards");

	txn_open = 1;
	ok(put_s(st, &k, "rec-D") == 0 && wa_sigstore_del(st, &k) == 1, "a held write, then its record deleted");
	is_int(wa_sigstore_dbconn_flush(c), 0, "  the flush");
	is_str(row_of(k.name, 3, buf, sizeof buf), "", "  does not bring it back");
	ok(get_is(st, &k, NULL), "  it is gone");
	for (unsigned d = 10; d < 15; d++) {
		wa_sigrec_key kd = { .kind = WA_SIGREC_SESSION, .name = "15550000009", .device = d };

		snprintf(buf, sizeof buf, "rec-%u", d);
		all &= put_s(st, &kd, buf) == 0;
	}
	ok(all, "five held writes");
	n = wa_sigstore_devices(st, "15550000009", devs, 16);
	ok(n == 5 && devs[0] == 10 && devs[4] == 14, "the device list counts them (written first)");
	for (unsigned d = 10; d < 15; d++) {
		char want[16];

		snprintf(want, sizeof want, "rec-%u", d);
		all &= strcmp(row_of("15550000009", d, buf, sizeof buf), want) == 0;
	}
	ok(all, "  each row holds its own record (4 + 1 rows in two INSERTs)");
	wa_sigrec_key k2 = { .kind = WA_SIGREC_SESSION, .name = "15550000009", .device = 11 };
	ok(put_s(st, &k2, "rec-11b") == 0 && wa_sigstore_dbconn_flush(c) == 0 &&
	   strcmp(row_of("15550000009", 11, buf, sizeof buf), "rec-11b") == 0, "a second write of one row replaces it");
	wa_sigstore_dbconn_forget(c);
	txn_open = 0;
	ok(put_s(st, &k, "rec-E") == 0 && strcmp(row_of(k.name, 3, buf, sizeof buf), "rec-E") == 0,
	   "outside a transaction a write is a statement at once");
	is_int(wa_sigstore_del_name(st, WA_SIGREC_SESSION, "15550000009"), 6, "the name's six sessions deleted");
	wa_sigstore_free(st);
	wa_sigstore_dbconn_free(c);
}

int main(void)
{
	const char *sock = getenv("WA_AKG_TEST_DB_SOCKET");
	char name[64], sql[160];

	if (!sock || !*sock)
		tap_skip_all("WA_AKG_TEST_DB_SOCKET not set");
	db = mysql_init(NULL);
	if (!db || !mysql_real_connect(db, "localhost", "root", NULL, NULL, 0, sock, CLIENT_MULTI_STATEMENTS)) {
		ok(0, "connect to MariaDB");
		tap_diag(db ? mysql_error(db) : "mysql_init failed");
		return tap_done();
	}
	ok(1, "connect to MariaDB");
	snprintf(name, sizeof name, "wa_akg_test_sig_%ld", (long)getpid());
	snprintf(sql, sizeof sql, "CREATE DATABASE `%s` CHARACTER SET utf8mb4", name);
	ok(exec_all(sql, strlen(sql)) == 0 && mysql_select_db(db, name) == 0, "scratch database");
	ok(apply_migration() == 0, "0002 migration applies");
	ok(apply_migration() == 0, "0002 migration applies again (idempotent)");
	if (tap_failed == 0)
		run();
	/* again with both parties' stores on one shared statement cache */
	if (tap_failed == 0) {
		const char *wipe = "DELETE FROM signal_identity_local; DELETE FROM signal_identity;"
				   " DELETE FROM signal_prekey; DELETE FROM signal_signed_prekey;"
				   " DELETE FROM signal_session; DELETE FROM signal_sender_key";

		ok(exec_all(wipe, strlen(wipe)) == 0, "tables emptied for the shared-cache run");
		conn = wa_sigstore_dbconn_new(db, &db_lock);
		ok(conn != NULL, "shared statement cache");
		if (conn)
			run();
		wa_sigstore_dbconn_free(conn);
		conn = NULL;
	}
	/* the cache freed (its connection closing) while a store is open:
	 * the store fails, touches neither db nor freed memory, and the cache
	 * goes with the store */
	if (tap_failed == 0) {
		struct party a;
		uint8_t pub[32];
		uint32_t reg;

		conn = wa_sigstore_dbconn_new(db, &db_lock);
		ok(conn && party_open(&a, "sess-bob", "100000000000002@lid") == 0 &&
		   wa_sig_identity_get(a.sig, pub, &reg) == 0, "store on a cache reads its identity");
		wa_sigstore_dbconn_free(conn);
		if (a.st) {
			is_int(wa_sig_identity_get(a.sig, pub, &reg), WA_SIG_STORE,
			       "after the cache is freed: a store error");
			is_int(wa_sig_prekey_count(a.sig), WA_SIG_STORE, "also for a statement never prepared");
			ok(wa_sigstore_db_new_on(conn, "sess-alice") == NULL, "no new store on a freed cache");
		}
		party_close(&a);
		conn = NULL;
	}
	if (tap_failed == 0)
		test_txn_records();
	snprintf(sql, sizeof sql, "DROP DATABASE `%s`", name);
	ok(exec_all(sql, strlen(sql)) == 0, "scratch database dropped");
	mysql_close(db);
	return tap_done();
}
