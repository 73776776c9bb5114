#!/usr/bin/env bash
# bench/send-wrk.sh: outbound text messages through POST .../send with wrk
# (bench/send.lua), the load generator that costs next to nothing, with the
# CPU every process of the stack spends per message and MariaDB's
# statements per message.
#
#   bench/send-wrk.sh [options] STATE SESSION PHONE [SESSION PHONE ...]
#     STATE    the stack's state directory (deploy/dev --state)
#     SESSION  a paired session's id (e.g. one kept by bench/engine.sh --keep)
#     PHONE    the number it sends to (a wa-sim phone, digits only)
#   Several SESSION PHONE pairs are driven at once, one wrk each with the
#   connection count below (sessions go to different database threads).
#   -c LIST    wrk connections per pair, one measurement each (default "4 16 64")
#   -d SECS    seconds per measurement (default 6)
#   --label X  a name for this run's lines (e.g. the build), default "run"
#
# Before the first measurement one message is sent and 2 s of load are run
# off the clock for each pair (Signal session, statement caches). For each
# connection count it prints the rate (the sum over the pairs), p50/p99
# (the highest of the pairs), then the CPU per message of mariadbd,
# nginx, wa-akg-engine, wa-akg-fcgi, wa-akg-hooks and wa-sim from the
# utime + stime deltas in /proc/PID/stat (10 ms ticks: use >= 3000
# messages), their total, the context switches per message of every
# process (all threads: steadier than CPU time on a noisy machine), and
# MariaDB's Questions and Com_commit per message. To compare two builds, run it against one stack restarted with
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
if [ ${#args[@]} -lt 3 ] || [ $((${#args[@]} % 2)) -ne 1 ]; then
	usage
fi
state=$(cd "${args[0]}" && pwd)
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
[ -f "$state/bootstrap.json" ] || die "$state/bootstrap.json: not a deploy/dev state directory"
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiKey"])' "$state/bootstrap.json")
port=$(sed -n 's/^[[:space:]]*listen[[:space:]]*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$state/nginx.conf" | head -1)
[ -n "$port" ] || die "cannot read the stack's port from $state/nginx.conf"
urls=()
for ((i = 1; i < ${#args[@]}; i += 2)); do
	urls+=("http://127.0.0.1:$port/api/messages/${args[i]}/${args[i + 1]}@s.whatsapp.net/send")
done
sock="$state/mysql/mysqld.sock"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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

# "name switches": context switches (voluntary + not) of every thread of
# those processes. Steadier than CPU time on a shared machine: a thread
# handing a message to another costs a switch, whatever the neighbours do.
switches() {
	local p c t n
	for p in $(pids); do
		for c in "$p" $(pgrep -P "$p" || true); do
			[ -r "/proc/$c/stat" ] || continue
			n=$(cut -d' ' -f2 "/proc/$c/stat" | tr -d '()')
			for t in /proc/"$c"/task/*; do
				awk -v n="$n" '/ctxt_switches/ { s += $2 } END { print n, s + 0 }' "$t/status" 2>/dev/null
			done
		done
	done | awk '{t[$1] += $2} END {for (k in t) print k, t[k]}' | sort
}

status() {
	mariadb --no-defaults --socket="$sock" -uroot -N -B -e \
		"SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_commit')" | sort | awk '{print $2}' | tr '\n' ' '
}

for url in "${urls[@]}"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-API-Key: $key" -H 'Content-Type: application/json' \
		-d '{"message":{"text":"send-wrk warm-up"}}' "$url")
	[ "$code" = 200 ] || die "the warm-up send to $url answered $code (is the session paired and connected?)"
	KEY=$key wrk -t1 -c4 -d2s -s "$here/send.lua" "$url" >/dev/null
done

for c in $conns; do
	ticks >"$tmp/a"
	switches >"$tmp/sa"
	read -r com0 q0 <<<"$(status)"
	for i in "${!urls[@]}"; do
		KEY=$key wrk -t1 -c"$c" -d"${secs}s" --latency -s "$here/send.lua" "${urls[i]}" >"$tmp/wrk.$i" &
	done
	wait
	read -r com1 q1 <<<"$(status)"
	ticks >"$tmp/b"
	switches >"$tmp/sb"
	# the rate is the sum over the pairs; p50 / p99 the highest of them
	read -r n rate p50 p99 non2xx <<<"$(cat "$tmp"/wrk.* | awk '
		function ms(v) { return v ~ /us$/ ? v / 1000 : v ~ /ms$/ ? v + 0 : v * 1000 }
		/requests in/ { n += $1 }
		/Requests\/sec/ { r += $2 }
		$1 == "50%" { if (ms($2) > p50) p50 = ms($2) }
		$1 == "99%" { if (ms($2) > p99) p99 = ms($2) }
		/Non-2xx/ { bad += $NF }
		END { printf "%d %.1f %.2fms %.2fms %d\n", n, r, p50, p99, bad }')"
	printf '%s c=%s x%s: %s msg/s, p50 %s, p99 %s, %s sent%s\n' "$label" "$c" "${#urls[@]}" "$rate" "$p50" "$p99" \
		"$n" "$([ "$non2xx" -gt 0 ] && echo ", $non2xx not 2xx")"
	join "$tmp/a" "$tmp/b" |
		awk -v n="$n" -v l="$label" -v c="$c" -v k="${#urls[@]}" '
			{ d = ($3 - $2) * 10.0 / n; tot += d; line = line sprintf(" %s %.3f", $1, d) }
			END { printf "%s c=%s x%s: cpu ms/msg:%s, total %.3f\n", l, c, k, line, tot }'
	join "$tmp/sa" "$tmp/sb" |
		awk -v n="$n" -v l="$label" -v c="$c" -v k="${#urls[@]}" '
			{ d = ($3 - $2) / n; tot += d; line = line sprintf(" %s %.1f", $1, d) }
			END { printf "%s c=%s x%s: switches/msg:%s, total %.1f\n", l, c, k, line, tot }'
	awk -v n="$n" -v l="$label" -v c="$c" -v k="${#urls[@]}" -v q="$((q1 - q0))" -v m="$((com1 - com0))" \
		'BEGIN { printf "%s c=%s x%s: mariadb per msg: Questions %.2f, Com_commit %.2f\n", l, c, k, q / n, m / n }'
done
