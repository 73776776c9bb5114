/* wa-akg-admin: operator commands that need no HTTP.
 *
 *   wa-akg-admin [--config FILE] bootstrap [--json] [--email E] [--password P]
 *       Create the first SUPERADMIN with an API key if no SUPERADMIN exists,
 *       and print its login, password and API key once. Prints
 *       {"exists":true} (or a sentence) when one exists already. Exit 0.
 *   wa-akg-admin [--config FILE] reset-password EMAIL
 *       Set a new random password for EMAIL, end its web logins and print
 *       it once every worker's auth cache has let the old ones go.
 */
#include "fcgi/auth.h"
#include "fcgi/authcache.h"
#include "fcgi/db.h"
#include "wa_config.h"
#include "wa_log.h"
#include "wa_util.h"

#include <stdio.h>
#include <string.h>

static void new_password(char out[25])
{
	/* 24 characters from a 56-symbol alphabet without look-alikes */
	static const char al[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	uint8_t rnd[24];

	wa_random(rnd, sizeof rnd);
	for (int i = 0; i < 24; i++)
		out[i] = al[rnd[i] % (sizeof al - 1)];
	out[24] = '\0';
}

static int bootstrap(struct wa_db *db, int as_json, const char *email, const char *password)
{
	char pw[25], hash[256], key[80], khash[65], prefix[17];
	long long n = wa_db_int(db, -1, "SELECT COUNT(*) FROM users WHERE role = 'SUPERADMIN'", "");
	unsigned long long uid;

	if (n < 0) {
		fprintf(stderr, "wa-akg-admin: database not reachable or not migrated\n");
		return 1;
	}
	if (n > 0) {
		puts(as_json ? "{\"exists\":true}" : "A SUPERADMIN exists already; nothing to do.");
		return 0;
	}
	if (!password) {
		new_password(pw);
		password = pw;
	}
	if (wa_password_hash(password, hash, sizeof hash) < 0 || wa_api_key_new(key, sizeof key, khash, prefix) < 0) {
		fprintf(stderr, "wa-akg-admin: cannot hash the password or make a key\n");
		return 1;
	}
	if (wa_db_begin(db) < 0 ||
	    wa_db_exec(db, "INSERT INTO users (name, email, password_hash, role) VALUES ('Administrator', ?, ?, 'SUPERADMIN')",
		       "ss", email, hash) < 0) {
		wa_db_rollback(db);
		fprintf(stderr, "wa-akg-admin: cannot create the user %s\n", email);
		return 1;
	}
	uid = db->last_insert_id;
	if (wa_db_exec(db, "INSERT INTO api_keys (user_id, key_prefix, key_hash) VALUES (?, ?, ?)", "uss", uid, prefix,
		       khash) < 0 || wa_db_commit(db) < 0) {
		wa_db_rollback(db);
		fprintf(stderr, "wa-akg-admin: cannot store the API key\n");
		return 1;
	}
	if (as_json)
		printf("{\"email\":\"%s\",\"password\":\"%s\",\"apiKey\":\"%s\"}\n", email, password, key);
	else
		printf("SUPERADMIN created.\n  login:    %s\n  password: %s\n  API key:  %s\n"
		       "Store them now: the password and key are not shown again.\n", email, password, key);
	return 0;
}

static int reset_password(struct wa_db *db, const char *email)
{
	char pw[25], hash[256];

	new_password(pw);
	if (wa_password_hash(pw, hash, sizeof hash) < 0 ||
	    wa_db_exec(db, "UPDATE users SET password_hash = ? WHERE email = ?", "ss", hash, email) != 1) {
		fprintf(stderr, "wa-akg-admin: no user %s\n", email);
		return 1;
	}
	wa_db_exec(db, "DELETE w FROM web_sessions w JOIN users u ON u.id = w.user_id WHERE u.email = ?", "s", email);
	/* the old logins are refused by every worker once this returns */
	wa_authc_settle(db);
	printf("new password for %s: %s\n", email, pw);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cfgpath = NULL, *email = "admin@wa-akg.local", *password = NULL, *cmd = NULL, *arg = NULL;
	struct wa_config *cfg;
	struct wa_db db = { 0 };
	char err[512];
	int as_json = 0, rc;

	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) && i + 1 < argc)
			cfgpath = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			as_json = 1;
		else if (!strcmp(argv[i], "--email") && i + 1 < argc)
			email = argv[++i];
		else if (!strcmp(argv[i], "--password") && i + 1 < argc)
			password = argv[++i];
		else if (!cmd)
			cmd = argv[i];
		else if (!arg)
			arg = argv[i];
	}
	if (!cmd || (strcmp(cmd, "bootstrap") && strcmp(cmd, "reset-password")) ||
	    (!strcmp(cmd, "reset-password") && !arg)) {
		fprintf(stderr, "usage: wa-akg-admin [--config FILE] bootstrap [--json] [--email E] [--password P]\n"
				"       wa-akg-admin [--config FILE] reset-password EMAIL\n");
		return 2;
	}
	if (wa_config_load(&cfg, cfgpath, err, sizeof err) < 0) {
		fprintf(stderr, "wa-akg-admin: %s\n", err);
		return 1;
	}
	wa_log_init("admin", WA_LOG_WARN);
	if (wa_authc_configure(cfg, err, sizeof err) < 0) {
		fprintf(stderr, "wa-akg-admin: %s\n", err);
		wa_config_free(cfg);
		return 1;
	}
	db.cfg = cfg;
	rc = !strcmp(cmd, "bootstrap") ? bootstrap(&db, as_json, email, password) : reset_password(&db, arg);
	wa_db_close(&db);
	wa_config_free(cfg);
	return rc;
}
