#!/usr/bin/env bash
# bench/send-wrk.sh: outbound text messages through POST .../send with wrk
# (bench/send.lua), the load generator that costs next to nothing, with the
# CPU every process of the stack spends per message and MariaDB's
# statements per message.
#
#   bench/send-wrk.sh [options] STATE SESSION PHONE
#     STATE    the stack's state directory (deploy/dev --state)
#     SESSION  a paired session's id (e.g. one kept by bench/engine.sh --keep)
#     PHONE    the number it sends to (a wa-sim phone, digits only)
#   -c LIST    wrk connections, one measurement each (default "4 16 64")
#   -d SECS    seconds per measurement (default 6)
#   --label X  a name for this run's lines (e.g. the build), default "run"
#
# Before the first measurement one message is sent and 2 s of load are run
# off the clock (Signal session, statement caches). For each connection
# count it prints the rate, p50/p99, then the CPU per message of mariadbd,
# nginx, wa-akg-engine, wa-akg-fcgi, wa-akg-hooks and wa-sim from the
# utime + stime deltas in /proc/PID/stat (10 ms ticks: use >= 3000
# messages), their total, and MariaDB's Questions and Com_commit per
# message. To compare two builds, run it against one stack restarted with
# each build in turn (deploy/dev restart with WA_AKG_BUILD) in one sitting:
# bench/README.md, "Outbound".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "bench/send-wrk.sh: $*" >&2; exit 1; }

conns="4 16 64"
secs=6
label=run
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	-c) conns=$2; shift 2 ;;
	-d) secs=$2; shift 2 ;;
	--label) label=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	-*) echo "bench/send-wrk.sh: unknown option $1" >&2; usage ;;
	*) args+=("$1"); shift ;;
	esac
done
[ ${#args[@]} -eq 3 ] || usage
state=$(cd "${args[0]}" && pwd)
session=${args[1]}
phone=${args[2]}
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
[ -f "$state/bootstrap.json" ] || die "$state/bootstrap.json: not a deploy/dev state directory"
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiKey"])' "$state/bootstrap.json")
port=$(sed -n 's/^[[:space:]]*listen[[:space:]]*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$state/nginx.conf" | head -1)
[ -n "$port" ] || die "cannot read the stack's port from $state/nginx.conf"
url="http://127.0.0.1:$port/api/messages/$session/$phone@s.whatsapp.net/send"
sock="$state/mysql/mysqld.sock"

pids() {
	local f
	for f in mariadb nginx engine fcgi hooks sim; do
		[ -f "$state/run/$f.pid" ] && cat "$state/run/$f.pid"
	done
}

# "name ticks" for every process of the stack and their children (nginx's
# workers, the FastCGI worker processes)
ticks() {
	local p c
	for p in $(pids); do
		for c in "$p" $(pgrep -P "$p" || true); do
			[ -r "/proc/$c/stat" ] || continue
			awk -v n="$(cut -d' ' -f2 "/proc/$c/stat" | tr -d '()')" '{print n, $14 + $15}' "/proc/$c/stat"
		done
	done | awk '{t[$1] += $2} END {for (k in t) print k, t[k]}' | sort
}

status() {
	mariadb --no-defaults --socket="$sock" -uroot -N -B -e \
		"SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_commit')" | sort | awk '{print $2}' | tr '\n' ' '
}

code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-API-Key: $key" -H 'Content-Type: application/json' \
	-d '{"message":{"text":"send-wrk warm-up"}}' "$url")
[ "$code" = 200 ] || die "the warm-up send answered $code (is $session paired and connected?)"
KEY=$key wrk -t1 -c4 -d2s -s "$here/send.lua" "$url" >/dev/null

for c in $conns; do
	ticks >"${TMPDIR:-/tmp}/send-wrk.$$.a"
	read -r com0 q0 <<<"$(status)"
	out=$(KEY=$key wrk -t1 -c"$c" -d"${secs}s" --latency -s "$here/send.lua" "$url")
	read -r com1 q1 <<<"$(status)"
	ticks >"${TMPDIR:-/tmp}/send-wrk.$$.b"
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
	printf '%s c=%s: %s msg/s, p50 %s, p99 %s, %s sent%s\n' "$label" "$c" \
		"$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
		"$(awk '$1 == "99%" {print $2}' <<<"$out")" "$n" "${non2xx:+, $non2xx not 2xx}"
	join "${TMPDIR:-/tmp}/send-wrk.$$.a" "${TMPDIR:-/tmp}/send-wrk.$$.b" |
		awk -v n="$n" -v l="$label" -v c="$c" '
			{ d = ($3 - $2) * 10.0 / n; tot += d; line = line sprintf(" %s %.3f", $1, d) }
			END { printf "%s c=%s: cpu ms/msg:%s, total %.3f\n", l, c, line, tot }'
	awk -v n="$n" -v l="$label" -v c="$c" -v q="$((q1 - q0))" -v k="$((com1 - com0))" \
		'BEGIN { printf "%s c=%s: mariadb per msg: Questions %.2f, Com_commit %.2f\n", l, c, q / n, k / n }'
done
rm -f "${TMPDIR:-/tmp}/send-wrk.$$.a" "${TMPDIR:-/tmp}/send-wrk.$$.b"
