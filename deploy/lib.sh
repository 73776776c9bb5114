# deploy/lib.sh: helpers shared by deploy/dev and deploy/test (sourced, not run).
# Everything here works inside one state directory and never touches the
# system's own MariaDB or nginx services.
# shellcheck shell=bash

WA_REPO=${WA_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# ---- messages -------------------------------------------------------------
wa_prog=${wa_prog:-$(basename "$0")}
step() { printf '%s: %s\n' "$wa_prog" "$*"; }
warn() { printf '%s: warning: %s\n' "$wa_prog" "$*" >&2; }
# die MESSAGE [LOGFILE]: say which step failed and show the end of its log.
die() {
	printf '%s: ERROR: %s\n' "$wa_prog" "$1" >&2
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		printf '%s: last lines of %s:\n' "$wa_prog" "$2" >&2
		tail -n "${WA_LOG_LINES:-30}" "$2" | sed 's/^/    /' >&2
	fi
	exit 1
}

# ---- processes started from pid files -------------------------------------
# pid_of NAME RUNDIR: the live pid recorded in RUNDIR/NAME.pid, or nothing.
# A pid is only trusted while /proc says the process still exists and is not
# a zombie, so a stale file after a reboot is ignored.
pid_of() {
	local f=$2/$1.pid pid st
	[ -s "$f" ] || return 1
	pid=$({ tr -dc '0-9' <"$f"; } 2>/dev/null) || return 1
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	st=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
	[ "$st" != Z ] || return 1
	echo "$pid"
}

# start_bg NAME RUNDIR LOGFILE CMD...: run CMD in its own session (so a
# terminal's Ctrl-C or hang-up does not reach it), output appended to LOGFILE,
# pid saved in RUNDIR/NAME.pid.
start_bg() {
	local name=$1 rundir=$2 log=$3
	shift 3
	mkdir -p "$rundir" "$(dirname "$log")"
	printf '\n==== %s: starting %s\n' "$(date -u +%FT%TZ)" "$*" >>"$log"
	setsid "$@" >>"$log" 2>&1 </dev/null &
	echo $! >"$rundir/$name.pid"
}

# stop_pid NAME RUNDIR [SECONDS]: SIGTERM, wait, then SIGKILL; removes the file.
# A process that leads its own process group (start_bg's setsid, nginx's
# master) is signalled with its whole group, so the workers it forked stop
# with it even if it dies first.
stop_pid() {
	local name=$1 rundir=$2 secs=${3:-20} pid pg i
	local target=()
	if ! pid=$(pid_of "$name" "$rundir"); then
		rm -f "$rundir/$name.pid"
		return 0
	fi
	pg=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)
	if [ "$pg" = "$pid" ]; then target=(-- "-$pid"); else target=("$pid"); fi
	step "stopping $name (pid $pid)"
	kill -TERM "${target[@]}" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		pid_of "$name" "$rundir" >/dev/null || break
		sleep 0.1
	done
	if pid_of "$name" "$rundir" >/dev/null; then
		warn "$name did not stop in ${secs}s; sending SIGKILL"
		kill -KILL "${target[@]}" 2>/dev/null || true
		sleep 0.2
	elif [ "$pg" = "$pid" ] && pgrep -g "$pid" >/dev/null 2>&1; then
		sleep 1 # the leader is gone; give the rest of its group a moment
		if pgrep -g "$pid" >/dev/null 2>&1; then kill -KILL "${target[@]}" 2>/dev/null || true; fi
	fi
	rm -f "$rundir/$name.pid"
}

# wait_for SECONDS NAME RUNDIR LOG CMD...: poll CMD until it succeeds; fail
# early when the process NAME has died (its log explains why).
wait_for() {
	local secs=$1 name=$2 rundir=$3 log=$4 i
	shift 4
	for ((i = 0; i < secs * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		pid_of "$name" "$rundir" >/dev/null || die "$name exited during start-up" "$log"
		sleep 0.2
	done
	die "$name did not become ready within ${secs}s" "$log"
}

# ---- random secrets -------------------------------------------------------
rand_hex() { od -An -tx1 -N"${1:-16}" /dev/urandom | tr -d ' \n'; }

# ---- building -------------------------------------------------------------
# build_tree DIR LOG [configure args...]: out-of-tree build of the repo in DIR.
# configure runs only the first time (or when its arguments change); after
# that `make` alone decides what is stale (automake's rules re-run automake
# and config.status themselves when Makefile.am or a local.mk changed).
build_tree() {
	local dir=$1 log=$2 args
	shift 2
	args="$*"
	mkdir -p "$dir" "$(dirname "$log")"
	: >"$log"
	if [ ! -x "$WA_REPO/configure" ]; then
		step "generating the build system (autogen.sh)"
		(cd "$WA_REPO" && ./autogen.sh) >>"$log" 2>&1 || die "autogen.sh failed" "$log"
	fi
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.wa-configure-args" 2>/dev/null)" != "$args" ]; then
		step "configuring $dir ${args:+($args)}"
		(cd "$dir" && "$WA_REPO/configure" "$@") >>"$log" 2>&1 || die "configure failed in $dir" "$log"
		printf '%s' "$args" >"$dir/.wa-configure-args"
	fi
	step "building in $dir (make -j$(nproc))"
	if ! make -C "$dir" -j"$(nproc)" >>"$log" 2>&1; then
		# the first errors say more than the last lines of a parallel make
		grep -E ': (fatal )?error|\*\*\*' "$log" | head -n 15 | sed 's/^/    /' >&2 || true
		die "build failed in $dir" "$log"
	fi
}

# ---- a private MariaDB ----------------------------------------------------
# All of these take the MariaDB base directory (data in BASE/data, socket
# BASE/mysqld.sock, log BASE/../log/mariadb.log is the caller's choice).
# Auth: root@localhost without a password, reachable only through the
# private socket (and 127.0.0.1:PORT when a port is given).

# mariadb_cmd SOCKET [args...]: the client, ignoring every system option file.
mariadb_cmd() {
	local sock=$1
	shift
	mariadb --no-defaults --socket="$sock" -uroot "$@"
}

# db_start BASE RUNDIR LOG [PORT]: initialise BASE/data the first time, start
# mariadbd unless it already runs, wait until it answers.
db_start() {
	local base=$1 rundir=$2 log=$3 port=${4:-} me net
	local sock=$base/mysqld.sock
	me=$(id -un)
	mkdir -p "$base" "$rundir" "$(dirname "$log")"
	if pid_of mariadb "$rundir" >/dev/null; then
		step "mariadb already running (pid $(pid_of mariadb "$rundir"))"
		return 0
	fi
	if [ ! -d "$base/data/mysql" ]; then
		step "initialising a private MariaDB in $base/data"
		rm -rf "$base/data"
		mariadb-install-db --no-defaults --datadir="$base/data" --user="$me" \
			--auth-root-authentication-method=normal --skip-test-db \
			--skip-name-resolve >>"$log" 2>&1 || die "mariadb-install-db failed" "$log"
	fi
	if [ -n "$port" ]; then
		net=(--port="$port" --bind-address=127.0.0.1)
	else
		net=(--skip-networking)
	fi
	step "starting mariadb (socket $sock${port:+, 127.0.0.1:$port})"
	rm -f "$sock"
	start_bg mariadb "$rundir" "$log" mariadbd --no-defaults --user="$me" \
		--datadir="$base/data" --socket="$sock" --pid-file="$base/mariadbd.pid" \
		"${net[@]}" --skip-name-resolve --innodb-buffer-pool-size=64M \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
		--max-connections=300 --max-allowed-packet=256M
	wait_for 60 mariadb "$rundir" "$log" mariadb-admin --no-defaults --socket="$sock" -uroot ping
}

db_stop() { stop_pid mariadb "$2" 60; }
