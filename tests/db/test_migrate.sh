#!/bin/sh
# tests/db/test_migrate.sh: wa-akg-migrate and db/migrations/*.sql against a
# real MariaDB:
#   WA_AKG_TEST_DB_SOCKET=/path/to.sock  a running server where root logs in
#                                        without a password (shared with the
#                                        other MariaDB tests)
#   WA_AKG_TEST_DB_AUTO=1                (socket unset) start a private
#                                        throwaway server (mariadb-install-db +
#                                        mariadbd, unix socket only) in a temp
#                                        dir and stop it afterwards
#   neither                              the whole test is a TAP skip (the
#                                        convention of db/local.mk: no
#                                        database was asked for; deploy/test
#                                        always provides one)
# Once a database was given or asked for, anything that keeps the test from
# running (no client program, a private server that cannot be set up or
# started, no connection, no python3 for the statement check) is a TAP
# "Bail out!", which automake's TAP driver counts as an ERROR, never a skip
# (as tests/unit/tap.h's tap_bail()).
# Works in a scratch database that it drops at the end.
#
# Or start a throwaway server yourself:
#   mariadb-install-db --user=root --datadir=/tmp/db --auth-root-authentication-method=normal
#   mariadbd --user=root --datadir=/tmp/db --socket=/tmp/db.sock --skip-networking &
#   WA_AKG_TEST_DB_SOCKET=/tmp/db.sock make check
set -u

bail() { echo "Bail out! $*"; exit 1; }

if [ -z "${WA_AKG_TEST_DB_SOCKET:-}" ]; then
	if [ "${WA_AKG_TEST_DB_AUTO:-0}" != 1 ]; then
		echo "1..0 # SKIP neither WA_AKG_TEST_DB_SOCKET nor WA_AKG_TEST_DB_AUTO=1 set (no MariaDB to test against)"
		exit 0
	fi
	WA_AKG_TEST_DB_SOCKET=auto
fi
MARIADB=$(command -v mariadb || command -v mysql || true)
[ -n "$MARIADB" ] || bail "a MariaDB was asked for ($WA_AKG_TEST_DB_SOCKET) but there is no mariadb client program"

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
MIGRATE=${WA_AKG_MIGRATE:-./wa-akg-migrate}
MIGDIR="$srcdir/db/migrations"
[ -x "$MIGRATE" ] || bail "$MIGRATE not found: run from the build directory (or set WA_AKG_MIGRATE)"
DB="wa_akg_test_$$"
TMP=$(mktemp -d /tmp/wa-akg-dbtest.XXXXXX)
SERVER_PID=

cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		# mariadbd shuts down cleanly on SIGTERM; give it a moment.
		i=0
		while kill -0 "$SERVER_PID" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1; i=$((i + 1))
		done
	else
		sql -e "DROP DATABASE IF EXISTS \`$DB\`; DROP DATABASE IF EXISTS \`${DB}_b\`" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
sql() { "$MARIADB" -S "$WA_AKG_TEST_DB_SOCKET" -uroot -N -B "$@"; }

if [ "$WA_AKG_TEST_DB_SOCKET" = auto ]; then
	INSTALL_DB=$(command -v mariadb-install-db || true)
	MARIADBD=$(command -v mariadbd || ls /usr/sbin/mariadbd 2>/dev/null || true)
	if [ -z "$INSTALL_DB" ] || [ -z "$MARIADBD" ]; then
		bail "WA_AKG_TEST_DB_AUTO=1 but mariadb-install-db/mariadbd are not installed"
	fi
	WA_AKG_TEST_DB_SOCKET="$TMP/mariadb.sock"
	if ! "$INSTALL_DB" --no-defaults --user="$(id -un)" --datadir="$TMP/data" \
		--auth-root-authentication-method=normal > "$TMP/install.log" 2>&1; then
		sed 's/^/# /' "$TMP/install.log" | tail -20
		bail "could not initialise a private MariaDB (mariadb-install-db failed)"
	fi
	"$MARIADBD" --no-defaults --user="$(id -un)" --datadir="$TMP/data" \
		--socket="$WA_AKG_TEST_DB_SOCKET" --skip-networking --pid-file="$TMP/mariadb.pid" \
		--innodb-buffer-pool-size=32M --log-error="$TMP/mariadbd.err" > /dev/null 2>&1 &
	SERVER_PID=$!
	i=0
	until sql -e 'SELECT 1' > /dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
			sed 's/^/# /' "$TMP/mariadbd.err" 2>/dev/null | tail -20
			bail "the private MariaDB did not start"
		fi
		sleep 0.1
	done
fi

# Isolate from any installed config: an empty file plus environment.
: > "$TMP/empty.conf"
WA_AKG_CONFIG="$TMP/empty.conf"
WA_AKG_DB_SOCKET="$WA_AKG_TEST_DB_SOCKET"
WA_AKG_DB_USER=root
WA_AKG_DB_PASSWORD=
WA_AKG_DB_NAME="$DB"
export WA_AKG_CONFIG WA_AKG_DB_SOCKET WA_AKG_DB_USER WA_AKG_DB_PASSWORD WA_AKG_DB_NAME

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { # check DESCRIPTION COMMAND...
	d=$1; shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}
q() { sql "$DB" -e "$1"; }

if ! sql -e 'SELECT 1' > "$TMP/connect.log" 2>&1; then
	sed 's/^/# /' "$TMP/connect.log"
	bail "cannot connect to MariaDB at $WA_AKG_TEST_DB_SOCKET as root without a password"
fi

# Every table 0001_core.sql must create (docs/database.md documents them).
CORE_TABLES="users api_keys web_sessions engines wa_sessions session_access
bot_configs auto_replies scheduled_messages broadcasts broadcast_recipients
webhooks webhook_deliveries events_outbox labels chat_labels contacts chats
messages wa_groups media_files notifications system_settings schema_migrations"
nfiles=$(ls "$MIGDIR"/*.sql | wc -l)

# first run creates the database and applies everything.
"$MIGRATE" --create-db --dir "$MIGDIR" > "$TMP/run1.log" 2>&1
check "first run succeeds" [ $? -eq 0 ]
missing=""
for t in $CORE_TABLES; do
	c=$(q "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='$DB' AND table_name='$t'")
	[ "$c" = 1 ] || missing="$missing $t"
done
check "all core tables exist${missing:+ (missing:$missing)}" [ -z "$missing" ]
check "every migration file ($nfiles) is recorded" \
	[ "$nfiles" -gt 0 -a "$(q 'SELECT COUNT(*) FROM schema_migrations')" = "$nfiles" ]

# every complete SQL statement in the C sources prepares against the
# schema (catches renamed or misspelt tables and columns). Syntax errors are
# only reported: a literal may be the first half of a statement built at run
# time.
PY=$(command -v python3 || true)
[ -n "$PY" ] || bail "python3 is not installed: the SQL statements of the C sources cannot be checked"
if ! "$PY" "$srcdir/tests/db/sql_literals.py" "$srcdir"/fcgi/*.c "$srcdir"/engine/*.c \
	"$srcdir"/engine/*/*.c "$srcdir"/hooks/*.c "$srcdir"/db/*.c > "$TMP/stmts.raw" 2> "$TMP/literals.log"; then
	sed 's/^/# /' "$TMP/literals.log"
	bail "tests/db/sql_literals.py failed"
fi
sed "s|^$srcdir/||" "$TMP/stmts.raw" > "$TMP/stmts.txt"
cut -f2- "$TMP/stmts.txt" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g; s/^/PREPARE s FROM '/; s/\$/';/" > "$TMP/stmts.sql"
sql --force "$DB" < "$TMP/stmts.sql" > /dev/null 2> "$TMP/prepare.log"
nstmts=$(wc -l < "$TMP/stmts.txt")
bad=$(grep -E '^ERROR (1052|1054|1109|1146|1267|1305|1630) ' "$TMP/prepare.log" | while IFS= read -r e; do
	ln=$(echo "$e" | sed -n 's/.* at line \([0-9]*\):.*/\1/p')
	echo "# $(sed -n "${ln}p" "$TMP/stmts.txt" | cut -f1): ${e#*: }"
done)
grep -E '^ERROR 1064 ' "$TMP/prepare.log" | while IFS= read -r e; do
	ln=$(echo "$e" | sed -n 's/.* at line \([0-9]*\):.*/\1/p')
	echo "# note: $(sed -n "${ln}p" "$TMP/stmts.txt" | cut -f1) is not a complete statement (syntax error); not checked"
done
[ -n "$bad" ] && echo "$bad"
# anything else in the log (no connection, access denied, ...) means the
# statements were not checked at all
other=$(grep -E '^ERROR' "$TMP/prepare.log" | grep -vE '^ERROR (1052|1054|1064|1109|1146|1267|1305|1630) ')
[ -n "$other" ] && echo "$other" | sed 's/^/# unexpected: /'
# the check is not vacuous: the workers' and the engine's statements were found
n_fcgi=$(grep -c '^fcgi/' "$TMP/stmts.txt")
n_engine=$(grep -c '^engine/' "$TMP/stmts.txt")
check "SQL statements found in fcgi/ ($n_fcgi) and engine/ ($n_engine)" [ "$n_fcgi" -gt 0 -a "$n_engine" -gt 0 ]
check "all $nstmts SQL statements in the C sources name existing tables and columns" \
	[ -z "$bad" -a -z "$other" ]

# second run changes nothing.
schema_sig() {
	q "SELECT MD5(GROUP_CONCAT(CONCAT_WS(':', table_name, column_name, column_type, is_nullable,
	   IFNULL(column_default,'-')) ORDER BY table_name, ordinal_position SEPARATOR '|'))
	   FROM information_schema.columns WHERE table_schema='$DB'"
}
sig1=$(schema_sig)
rec1=$(q 'SELECT GROUP_CONCAT(version, checksum, applied_at ORDER BY version) FROM schema_migrations')
settings1=$(q 'SELECT COUNT(*) FROM system_settings')
# an empty signature would compare equal to another empty one
check "the schema signature and migration records can be read" \
	[ ${#sig1} -eq 32 -a -n "$rec1" -a "${settings1:-0}" -gt 0 ]
"$MIGRATE" --dir "$MIGDIR" > "$TMP/run2.log" 2>&1
rc=$?
check "second run succeeds and says the schema is up to date" \
	sh -c "[ $rc -eq 0 ] && grep -q 'schema up to date' '$TMP/run2.log'"
check "second run leaves columns and records unchanged" \
	[ "$sig1" = "$(schema_sig)" -a "$rec1" = "$(q 'SELECT GROUP_CONCAT(version, checksum, applied_at ORDER BY version) FROM schema_migrations')" ]
check "re-applying 0001_core.sql by hand is harmless (idempotent)" \
	sh -c "'$MARIADB' -S '$WA_AKG_TEST_DB_SOCKET' -uroot '$DB' < '$MIGDIR/0001_core.sql' && [ \"\$('$MARIADB' -S '$WA_AKG_TEST_DB_SOCKET' -uroot -N -B '$DB' -e 'SELECT COUNT(*) FROM system_settings')\" = '$settings1' ]"

# --status reports everything applied.
"$MIGRATE" --status --dir "$MIGDIR" > "$TMP/status.log" 2>&1
rc=$?
check "--status lists every file as applied, none pending" \
	sh -c "[ $rc -eq 0 ] && [ \$(grep -c '^applied ' '$TMP/status.log') -eq $nfiles ] && grep -q ', 0 pending' '$TMP/status.log'"

# settings are seeded.
check "system_settings seeded (app_name = WA-AKG)" \
	[ "$(q "SELECT value FROM system_settings WHERE \`key\`='app_name'")" = "WA-AKG" ]

# deleting a user removes everything under their sessions.
q "
INSERT INTO users (name, email, password_hash) VALUES ('Owner', 'owner@example.com', 'x');
SET @u = LAST_INSERT_ID();
INSERT INTO users (name, email, password_hash, role) VALUES ('Staff', 'staff@example.com', 'x', 'STAFF');
SET @staff = LAST_INSERT_ID();
INSERT INTO api_keys (user_id, key_prefix, key_hash) VALUES (@u, 'abcd1234', REPEAT('a', 64));
INSERT INTO web_sessions (user_id, token_hash, csrf_token, expires_at) VALUES (@u, REPEAT('b', 64), 'c', NOW() + INTERVAL 1 DAY);
INSERT INTO wa_sessions (session_id, name, user_id, config) VALUES ('sess-1', 'S', @u, '{\"readReceipts\":true}');
SET @s = LAST_INSERT_ID();
INSERT INTO session_access (wa_session_id, user_id, granted_by) VALUES (@s, @staff, @u);
INSERT INTO bot_configs (wa_session_id) VALUES (@s);
INSERT INTO auto_replies (wa_session_id, keyword, response) VALUES (@s, 'hi', 'hello');
INSERT INTO scheduled_messages (wa_session_id, jid, content, send_at) VALUES (@s, '1@s.whatsapp.net', 'x', NOW());
INSERT INTO webhooks (wa_session_id, user_id, name, url, events) VALUES (@s, @u, 'w', 'http://h/', '[\"*\"]');
INSERT INTO webhooks (wa_session_id, user_id, name, url, events) VALUES (NULL, @u, 'global', 'http://h/', '[\"*\"]');
INSERT INTO events_outbox (wa_session_id, event, payload) VALUES (@s, 'message.received', '{}');
INSERT INTO webhook_deliveries (webhook_id, outbox_id, event, payload) SELECT id, LAST_INSERT_ID(), 'message.received', '{}' FROM webhooks;
INSERT INTO labels (wa_session_id, label_id, name) VALUES (@s, '1', 'New');
INSERT INTO chat_labels (wa_session_id, chat_jid, label_id) VALUES (@s, '1@s.whatsapp.net', '1');
INSERT INTO contacts (wa_session_id, jid) VALUES (@s, '1@s.whatsapp.net');
INSERT INTO chats (wa_session_id, jid) VALUES (@s, '1@s.whatsapp.net');
INSERT INTO messages (wa_session_id, remote_jid, message_id, content) VALUES (@s, '1@s.whatsapp.net', '3EB0AA', 'invoice attached');
INSERT INTO wa_groups (wa_session_id, jid) VALUES (@s, '1-2@g.us');
INSERT INTO broadcasts (wa_session_id, message, total) VALUES (@s, 'm', 1);
INSERT INTO broadcast_recipients (broadcast_id, jid) VALUES (LAST_INSERT_ID(), '1@s.whatsapp.net');
INSERT INTO media_files (wa_session_id, user_id, filename) VALUES (@s, @u, 'f0e1d2.jpg');
INSERT INTO notifications (user_id, title, message) VALUES (@u, 't', 'm');
" > "$TMP/insert.log" 2>&1
check "a user with a session and a row in every child table can be stored" [ $? -eq 0 ]
check "FULLTEXT search finds a message" \
	[ "$(q "SELECT COUNT(*) FROM messages WHERE MATCH(content, caption) AGAINST('invoice')")" = 1 ]

dup_rc=0
q "INSERT INTO messages (wa_session_id, remote_jid, message_id) SELECT id, 'x@s.whatsapp.net', '3EB0AA' FROM wa_sessions" \
	> "$TMP/dup.log" 2>&1 || dup_rc=$?
check "duplicate (wa_session_id, message_id) is rejected" \
	sh -c "[ $dup_rc -ne 0 ] && grep -q 'Duplicate entry' '$TMP/dup.log'"
check "looking up a non-ASCII message id or file name finds nothing (no collation error)" \
	[ "$(q "SELECT (SELECT COUNT(*) FROM messages WHERE message_id = '3EB€') + (SELECT COUNT(*) FROM media_files WHERE filename = 'ä.jpg')" 2>&1)" = 0 ]
bad_rc=0
q "INSERT INTO media_files (filename) VALUES ('../etc/passwd')" > "$TMP/badname.log" 2>&1 || bad_rc=$?
check "a media file name with path characters is rejected by its CHECK constraint" \
	sh -c "[ $bad_rc -ne 0 ] && grep -q 'ck_media_files_filename' '$TMP/badname.log'"

q "DELETE FROM users WHERE email = 'owner@example.com'"
left=""
for t in api_keys web_sessions wa_sessions session_access bot_configs auto_replies \
	scheduled_messages webhooks webhook_deliveries events_outbox labels chat_labels \
	contacts chats messages wa_groups broadcasts broadcast_recipients media_files notifications; do
	c=$(q "SELECT COUNT(*) FROM $t")
	[ "$c" = 0 ] || left="$left $t=$c"
done
check "deleting the user cascades to every child table${left:+ (left:$left)}" [ -z "$left" ]
check "the other user survives" [ "$(q 'SELECT COUNT(*) FROM users')" = 1 ]

# a changed applied migration stops the run; a new one is applied.
mkdir "$TMP/mig"
cp "$MIGDIR"/*.sql "$TMP/mig/"
echo "CREATE TABLE IF NOT EXISTS zz_test_extra (id INT PRIMARY KEY);" > "$TMP/mig/9999_test_extra.sql"
"$MIGRATE" --dir "$TMP/mig" > "$TMP/run3.log" 2>&1
rc=$?
check "a new migration file is applied and recorded" \
	sh -c "[ $rc -eq 0 ] && [ \"\$('$MARIADB' -S '$WA_AKG_TEST_DB_SOCKET' -uroot -N -B '$DB' -e \"SELECT COUNT(*) FROM schema_migrations WHERE version='9999_test_extra'\")\" = 1 ]"
echo "-- edited" >> "$TMP/mig/0001_core.sql"
"$MIGRATE" --dir "$TMP/mig" > "$TMP/run4.log" 2>&1
rc=$?
check "an edited applied migration makes the run fail with a clear message" \
	sh -c "[ $rc -ne 0 ] && grep -q '0001_core.sql was changed after it was applied' '$TMP/run4.log'"

# a failing migration is reported and not recorded.
rm "$TMP/mig/0001_core.sql" && cp "$MIGDIR/0001_core.sql" "$TMP/mig/"
echo "CREATE TABLE IF NOT EXISTS zz_ok (id INT PRIMARY KEY); THIS IS NOT SQL;" > "$TMP/mig/9999_zz_bad.sql"
"$MIGRATE" --dir "$TMP/mig" > "$TMP/run5.log" 2>&1
rc=$?
check "a broken migration fails, names its statement, and is not recorded" \
	sh -c "[ $rc -ne 0 ] && grep -q '9999_zz_bad.sql: statement 2 failed' '$TMP/run5.log' && [ \"\$('$MARIADB' -S '$WA_AKG_TEST_DB_SOCKET' -uroot -N -B '$DB' -e \"SELECT COUNT(*) FROM schema_migrations WHERE version='9999_zz_bad'\")\" = 0 ]"

# concurrent first runs on a fresh database are serialised by the lock.
WA_AKG_DB_NAME="${DB}_b"
export WA_AKG_DB_NAME
sql -e "CREATE DATABASE \`${DB}_b\`"
"$MIGRATE" --dir "$MIGDIR" > "$TMP/c1.log" 2>&1 & p1=$!
"$MIGRATE" --dir "$MIGDIR" > "$TMP/c2.log" 2>&1 & p2=$!
"$MIGRATE" --dir "$MIGDIR" > "$TMP/c3.log" 2>&1 & p3=$!
wait $p1; r1=$?; wait $p2; r2=$?; wait $p3; r3=$?
check "three concurrent runs all succeed and apply each file once" \
	sh -c "[ $r1 -eq 0 -a $r2 -eq 0 -a $r3 -eq 0 ] && [ \$(cat '$TMP'/c?.log | grep -c 'applying 0001_core.sql') -eq 1 ] && [ \"\$('$MARIADB' -S '$WA_AKG_TEST_DB_SOCKET' -uroot -N -B '${DB}_b' -e 'SELECT COUNT(*) FROM schema_migrations')\" = $nfiles ]"

# a missing database without --create-db is a clean failure.
WA_AKG_DB_NAME="${DB}_nope"
export WA_AKG_DB_NAME
"$MIGRATE" --dir "$MIGDIR" > "$TMP/run6.log" 2>&1
rc=$?
check "a missing database without --create-db fails with a message" \
	sh -c "[ $rc -eq 1 ] && grep -q 'cannot connect' '$TMP/run6.log'"

if [ $fails -ne 0 ]; then
	for f in "$TMP"/*.log; do echo "# --- $f"; sed 's/^/# /' "$f"; done
fi
echo "1..$n"
[ $fails -eq 0 ]
