/* wa-akg-migrate: bring a MariaDB database up to the current WA-AKG schema.
 *
 *   wa-akg-migrate [--config FILE] [--dir DIR] [--create-db] [--status] [-v]
 *
 * Every *.sql file in DIR is one migration; its version is the file name
 * without ".sql" and files are applied in byte-wise name order (hence the
 * zero-padded numeric prefix: 0001_core.sql, 0002_signal_store.sql, ...).
 * A file is applied once, as one multi-statement query, and then recorded in
 * schema_migrations with the SHA-256 of its bytes.
 *
 * Why the rules below:
 *   - MariaDB DDL commits implicitly, so a file cannot be rolled back. Each
 *     file is therefore written idempotently (CREATE TABLE IF NOT EXISTS,
 *     INSERT IGNORE ...) and is recorded only after every statement in it
 *     succeeded: a run that dies half way re-applies the whole file next time.
 *   - An applied file must never change (the database would silently differ
 *     from what the file says), so a checksum mismatch stops the run before
 *     anything is applied. Schema changes go into a new file.
 *   - Several processes may run this at start-up at once (every engine and
 *     worker host): GET_LOCK serialises them, and whoever comes second finds
 *     nothing pending.
 *
 * Exit status: 0 success (or nothing to do), 1 failure, 2 usage error.
 * Threading: single-threaded program. */
#include "wa_config.h"
#include "wa_log.h"
#include "wa_util.h"

#include <dirent.h>
#include <errno.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifndef WA_DATADIR
#define WA_DATADIR "/usr/local/share/wa-akg"
#endif

#define LOCK_NAME        "wa_akg_migrate"
#define LOCK_TIMEOUT_S   60
#define MAX_MIGRATIONS   4096              /* files in the directory */
#define MAX_FILE_BYTES   (16u << 20)       /* one migration file */
#define MAX_VERSION_LEN  255               /* schema_migrations.version */

/* DDL of the runner's own bookkeeping table. */
static const char SCHEMA_MIGRATIONS_DDL[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,"
	" checksum CHAR(64) COLLATE utf8mb4_bin NOT NULL,"
	" applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),"
	" duration_ms INT UNSIGNED NOT NULL DEFAULT 0,"
	" PRIMARY KEY (version)"
	") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

struct migration {
	char *file;                 /* file name, e.g. "0001_core.sql" */
	char version[MAX_VERSION_LEN + 1];
	char checksum[65];          /* of the file as it is now */
	char applied_checksum[65];  /* recorded one, "" when not applied */
	char applied_at[32];        /* recorded time, "" when not applied */
};

struct options {
	const char *config;
	const char *dir;
	int create_db;
	int status;
	int verbose;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: wa-akg-migrate [--config FILE] [--dir DIR] [--create-db] [--status] [-v]\n"
		"  --config FILE  configuration file (default: $WA_AKG_CONFIG, else %s)\n"
		"  --dir DIR      migrations directory (default: %s/migrations,\n"
		"                 else ./db/migrations)\n"
		"  --create-db    CREATE DATABASE IF NOT EXISTS db.name first\n"
		"  --status       list applied and pending migrations, change nothing\n"
		"  -v, --verbose  debug logging\n",
		WA_CONFIG_DEFAULT_PATH, WA_DATADIR);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	memset(o, 0, sizeof *o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) && i + 1 < argc)
			o->config = argv[++i];
		else if (strncmp(a, "--config=", 9) == 0)
			o->config = a + 9;
		else if (strcmp(a, "--dir") == 0 && i + 1 < argc)
			o->dir = argv[++i];
		else if (strncmp(a, "--dir=", 6) == 0)
			o->dir = a + 6;
		else if (strcmp(a, "--create-db") == 0)
			o->create_db = 1;
		else if (strcmp(a, "--status") == 0)
			o->status = 1;
		else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
			o->verbose = 1;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else {
			fprintf(stderr, "wa-akg-migrate: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The migrations directory: --dir, else the installed one, else the source
 * tree's (running from a checkout). */
static const char *pick_dir(const struct options *o, char *buf, size_t len)
{
	if (o->dir)
		return o->dir;
	snprintf(buf, len, "%s/migrations", WA_DATADIR);
	if (is_dir(buf))
		return buf;
	return "./db/migrations";
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

static int sql_file_name(const char *n)
{
	size_t len = strlen(n);

	if (n[0] == '.' || len <= 4 || len - 4 > MAX_VERSION_LEN)
		return 0;
	return strcmp(n + len - 4, ".sql") == 0;
}

static int cmp_migration(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return strcmp(x->file, y->file);
}

/* Read a whole file (capped) into a NUL-terminated heap buffer. */
static char *read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0;

	if (!f) {
		wa_error("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb;

			if (ncap > MAX_FILE_BYTES + 4097u)
				ncap = MAX_FILE_BYTES + 4097u;
			if (ncap <= len + 1) {
				wa_error("%s is larger than %u bytes", path, MAX_FILE_BYTES);
				goto fail;
			}
			nb = realloc(buf, ncap);
			if (!nb) {
				wa_error("out of memory reading %s", path);
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);

		len += n;
		if (len > MAX_FILE_BYTES) {
			wa_error("%s is larger than %u bytes", path, MAX_FILE_BYTES);
			goto fail;
		}
		if (n == 0) {
			if (ferror(f)) {
				wa_error("cannot read %s: %s", path, strerror(errno));
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	buf[len] = '\0';
	*len_out = len;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

static void free_migrations(struct migration *m, size_t n)
{
	if (!m)
		return;
	for (size_t i = 0; i < n; i++)
		free(m[i].file);
	free(m);
}

/* List DIR's *.sql files, sorted, with their current checksums. */
static int load_migrations(const char *dir, struct migration **out, size_t *nout)
{
	DIR *d = opendir(dir);
	struct migration *m = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	if (!d) {
		wa_error("cannot open migrations directory %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!sql_file_name(e->d_name))
			continue;
		if (n == MAX_MIGRATIONS) {
			wa_error("more than %d migration files in %s", MAX_MIGRATIONS, dir);
			goto fail;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct migration *nm = realloc(m, ncap * sizeof *m);

			if (!nm)
				goto oom;
			m = nm;
			cap = ncap;
		}
		memset(&m[n], 0, sizeof m[n]);
		m[n].file = strdup(e->d_name);
		if (!m[n].file)
			goto oom;
		snprintf(m[n].version, sizeof m[n].version, "%.*s",
			 (int)(strlen(e->d_name) - 4), e->d_name);
		n++;
	}
	closedir(d);
	d = NULL;
	if (n)
		qsort(m, n, sizeof *m, cmp_migration);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		size_t len;
		char *text;

		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, m[i].file) >= sizeof path) {
			wa_error("path too long: %s/%s", dir, m[i].file);
			goto fail;
		}
		text = read_file(path, &len);
		if (!text)
			goto fail;
		wa_sha256_hex(text, len, m[i].checksum);
		free(text);
	}
	*out = m;
	*nout = n;
	return 0;
oom:
	wa_error("out of memory listing %s", dir);
fail:
	if (d)
		closedir(d);
	free_migrations(m, n);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Database                                                                  */

/* Run one statement that returns no rows we need; drains any result. */
static int exec(MYSQL *db, const char *sql)
{
	MYSQL_RES *r;

	if (mysql_query(db, sql) != 0) {
		wa_error("%s: %s", sql, mysql_error(db));
		return -1;
	}
	r = mysql_store_result(db);
	mysql_free_result(r);
	return 0;
}

static MYSQL *connect_db(const struct wa_config *cfg, int with_db)
{
	const char *host = wa_config_get(cfg, "db.host");
	const char *sock = wa_config_get(cfg, "db.socket");
	const char *user = wa_config_get(cfg, "db.user");
	const char *pass = wa_config_get(cfg, "db.password");
	const char *name = wa_config_get(cfg, "db.name");
	long port = 3306, tmo = 5;
	unsigned int utmo;
	char err[256];
	MYSQL *db;

	if (wa_config_get_int(cfg, "db.port", 1, 65535, &port, err, sizeof err) < 0 ||
	    wa_config_get_int(cfg, "db.connect_timeout", 1, 3600, &tmo, err, sizeof err) < 0) {
		wa_error("%s", err);
		return NULL;
	}
	db = mysql_init(NULL);
	if (!db) {
		wa_error("mysql_init failed (out of memory)");
		return NULL;
	}
	utmo = (unsigned int)tmo;
	mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &utmo);
	mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!mysql_real_connect(db, (sock && *sock) ? NULL : host, user, pass,
				with_db ? name : NULL, (unsigned int)port,
				(sock && *sock) ? sock : NULL, CLIENT_MULTI_STATEMENTS)) {
		wa_error("cannot connect to MariaDB %s%s%s as %s: %s",
			 (sock && *sock) ? sock : host, with_db ? " database " : "",
			 with_db ? name : "", user, mysql_error(db));
		mysql_close(db);
		return NULL;
	}
	/* Every WA-AKG connection works in UTC (DATETIME columns hold UTC). */
	if (exec(db, "SET time_zone = '+00:00'") < 0) {
		mysql_close(db);
		return NULL;
	}
	return db;
}

/* `name` as a back-quoted identifier (back-quotes doubled). */
static int quote_ident(const char *name, char *out, size_t outlen)
{
	size_t o = 0;

	if (!*name || strlen(name) > 64)
		return -1;
	if (outlen < 3)
		return -1;
	out[o++] = '`';
	for (const char *p = name; *p; p++) {
		if (o + 3 >= outlen)
			return -1;
		if (*p == '`')
			out[o++] = '`';
		out[o++] = *p;
	}
	out[o++] = '`';
	out[o] = '\0';
	return 0;
}

static int create_database(const struct wa_config *cfg)
{
	const char *name = wa_config_get(cfg, "db.name");
	char q[160], sql[320];
	MYSQL *db;
	int rc;

	if (quote_ident(name, q, sizeof q) < 0) {
		wa_error("db.name '%s' is not a valid database name", name);
		return -1;
	}
	db = connect_db(cfg, 0);
	if (!db)
		return -1;
	snprintf(sql, sizeof sql,
		 "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", q);
	rc = exec(db, sql);
	if (rc == 0)
		wa_info("database %s ready", name);
	mysql_close(db);
	return rc;
}

/* Fill applied_checksum/applied_at of the known files from
 * schema_migrations; versions recorded without a file are reported.
 * *missing_table is set when the table does not exist yet. */
static int load_applied(MYSQL *db, struct migration *m, size_t n, int *missing_table)
{
	MYSQL_RES *r;
	MYSQL_ROW row;

	*missing_table = 0;
	if (mysql_query(db, "SELECT version, checksum, "
			    "DATE_FORMAT(applied_at, '%Y-%m-%dT%H:%i:%sZ') "
			    "FROM schema_migrations ORDER BY version") != 0) {
		if (mysql_errno(db) == 1146 /* ER_NO_SUCH_TABLE */) {
			*missing_table = 1;
			return 0;
		}
		wa_error("reading schema_migrations: %s", mysql_error(db));
		return -1;
	}
	r = mysql_store_result(db);
	if (!r) {
		wa_error("reading schema_migrations: %s", mysql_error(db));
		return -1;
	}
	while ((row = mysql_fetch_row(r)) != NULL) {
		size_t i;

		if (!row[0] || !row[1])
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(m[i].version, row[0]) == 0)
				break;
		if (i == n) {
			wa_warn("migration %s is recorded as applied but %s.sql is not in the "
				"migrations directory (is this an older release?)", row[0], row[0]);
			continue;
		}
		snprintf(m[i].applied_checksum, sizeof m[i].applied_checksum, "%s", row[1]);
		snprintf(m[i].applied_at, sizeof m[i].applied_at, "%s", row[2] ? row[2] : "");
	}
	mysql_free_result(r);
	return 0;
}

/* Execute a whole file as one multi-statement query, checking every
 * statement's result. */
static int apply_sql(MYSQL *db, const char *file, const char *text, size_t len)
{
	int stmt = 1, st;

	if (mysql_real_query(db, text, (unsigned long)len) != 0) {
		wa_error("%s: statement %d failed: %s (error %u)", file, stmt,
			 mysql_error(db), mysql_errno(db));
		return -1;
	}
	for (;;) {
		MYSQL_RES *r = mysql_store_result(db);

		if (r)
			mysql_free_result(r);
		else if (mysql_field_count(db) != 0) {
			wa_error("%s: statement %d: %s", file, stmt, mysql_error(db));
			return -1;
		}
		if (mysql_warning_count(db) > 0)
			wa_debug("%s: statement %d: %u warning(s)", file, stmt,
				 mysql_warning_count(db));
		st = mysql_next_result(db);
		if (st == -1)
			break;
		stmt++;
		if (st > 0) {
			wa_error("%s: statement %d failed: %s (error %u)", file, stmt,
				 mysql_error(db), mysql_errno(db));
			return -1;
		}
	}
	return 0;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static int record(MYSQL *db, const struct migration *m, long ms)
{
	char sql[512 + 2 * MAX_VERSION_LEN];
	char ver[2 * MAX_VERSION_LEN + 1];

	mysql_real_escape_string(db, ver, m->version, (unsigned long)strlen(m->version));
	snprintf(sql, sizeof sql,
		 "INSERT INTO schema_migrations (version, checksum, duration_ms) "
		 "VALUES ('%s', '%s', %ld)", ver, m->checksum, ms < 0 ? 0 : ms);
	return exec(db, sql);
}

static int apply_one(MYSQL *db, const char *dir, struct migration *m)
{
	char path[4096];
	struct timespec t0;
	size_t len;
	char *text;
	char now[65];
	long ms;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, m->file) >= sizeof path) {
		wa_error("path too long: %s/%s", dir, m->file);
		return -1;
	}
	text = read_file(path, &len);
	if (!text)
		return -1;
	/* The file may have been edited since it was listed: record what runs. */
	wa_sha256_hex(text, len, now);
	if (strcmp(now, m->checksum) != 0) {
		wa_error("%s changed while migrating; run again", m->file);
		free(text);
		return -1;
	}
	wa_info("applying %s", m->file);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (apply_sql(db, m->file, text, len) < 0) {
		free(text);
		wa_error("%s was not recorded; fix it and run again (its statements must "
			 "be idempotent: some may have been applied)", m->file);
		return -1;
	}
	free(text);
	ms = elapsed_ms(&t0);
	if (record(db, m, ms) < 0)
		return -1;
	wa_info("applied %s in %ld ms", m->file, ms);
	return 0;
}

static int get_lock(MYSQL *db)
{
	MYSQL_RES *r;
	MYSQL_ROW row;
	int got = 0;
	char sql[96];

	snprintf(sql, sizeof sql, "SELECT GET_LOCK('%s', %d)", LOCK_NAME, LOCK_TIMEOUT_S);
	if (mysql_query(db, sql) != 0 || !(r = mysql_store_result(db))) {
		wa_error("GET_LOCK: %s", mysql_error(db));
		return -1;
	}
	row = mysql_fetch_row(r);
	got = row && row[0] && strcmp(row[0], "1") == 0;
	mysql_free_result(r);
	if (!got) {
		wa_error("another wa-akg-migrate held the lock '%s' for %d s; giving up",
			 LOCK_NAME, LOCK_TIMEOUT_S);
		return -1;
	}
	return 0;
}

static int check_checksums(const struct migration *m, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		if (!m[i].applied_checksum[0] || strcmp(m[i].applied_checksum, m[i].checksum) == 0)
			continue;
		wa_error("migration %s was changed after it was applied on %s: recorded "
			 "sha256 %s, file now %s. Never edit an applied migration; restore the "
			 "file and put the change in a new one", m[i].file, m[i].applied_at,
			 m[i].applied_checksum, m[i].checksum);
		bad = 1;
	}
	return bad ? -1 : 0;
}

static void print_status(const struct migration *m, size_t n)
{
	size_t pending = 0;

	for (size_t i = 0; i < n; i++) {
		const char *state = !m[i].applied_checksum[0] ? "pending"
			: strcmp(m[i].applied_checksum, m[i].checksum) == 0 ? "applied" : "CHANGED";

		if (!m[i].applied_checksum[0])
			pending++;
		printf("%-8s %-24s %s\n", state, m[i].applied_at[0] ? m[i].applied_at : "-",
		       m[i].file);
	}
	printf("%zu migration(s), %zu pending\n", n, pending);
}

int main(int argc, char **argv)
{
	struct options o;
	struct wa_config *cfg = NULL;
	struct migration *m = NULL;
	size_t n = 0, applied = 0;
	const char *dir;
	char dirbuf[4096], err[512];
	MYSQL *db = NULL;
	int missing = 0, rc = 1;

	if (parse_args(argc, argv, &o) < 0)
		return 2;
	wa_log_init("migrate", o.verbose ? WA_LOG_DEBUG : WA_LOG_INFO);
	if (wa_config_load(&cfg, o.config, err, sizeof err) < 0) {
		wa_error("%s", err);
		return 1;
	}
	if (mysql_library_init(0, NULL, NULL) != 0) {
		wa_error("cannot initialise the MariaDB client library");
		goto out;
	}
	dir = pick_dir(&o, dirbuf, sizeof dirbuf);
	wa_debug("migrations directory %s", dir);
	if (load_migrations(dir, &m, &n) < 0)
		goto out;
	if (n == 0) {
		wa_error("no *.sql migrations in %s", dir);
		goto out;
	}
	if (o.create_db && !o.status && create_database(cfg) < 0)
		goto out;
	db = connect_db(cfg, 1);
	if (!db)
		goto out;

	if (o.status) {
		if (load_applied(db, m, n, &missing) < 0)
			goto out;
		print_status(m, n);
		rc = check_checksums(m, n) < 0 ? 1 : 0;
		goto out;
	}

	if (get_lock(db) < 0)
		goto out;
	if (exec(db, SCHEMA_MIGRATIONS_DDL) < 0 || load_applied(db, m, n, &missing) < 0)
		goto out;
	if (check_checksums(m, n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (m[i].applied_checksum[0])
			continue;
		if (apply_one(db, dir, &m[i]) < 0)
			goto out;
		applied++;
	}
	if (applied)
		wa_info("schema migrated: %zu migration(s) applied, %zu total", applied, n);
	else
		wa_info("schema up to date (%zu migration(s) applied)", n);
	rc = 0;
out:
	if (db) {
		/* Closing the connection releases the lock too; be explicit. */
		if (mysql_query(db, "DO RELEASE_LOCK('" LOCK_NAME "')") == 0) {
			MYSQL_RES *r = mysql_store_result(db);

			mysql_free_result(r);
		}
		mysql_close(db);
	}
	free_migrations(m, n);
	wa_config_free(cfg);
	mysql_library_end();
	return rc;
}
