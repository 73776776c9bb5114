#!/usr/bin/env bash
# bench/rest.sh: throughput and latency of the REST path
# (nginx -> wa-akg-fcgi -> MariaDB) as a share of nginx's own ceiling, with wrk.
#
#   bench/rest.sh [-d SECONDS] [-w "1 2"] [-b "BUILD1 BUILD2"] [-c "CASES"] [-p PORT] [-n NOTE] [-o FILE]
#
#   -d  seconds per measurement (default 10)
#   -w  the worker-process counts to run, each with 4 threads (default "2", the
#       dev default; "1 2" measures both)
#   -b  build trees to compare in this one run (default: $WA_AKG_BUILD, else
#       deploy/dev's own): for each worker count, every case runs on each
#       build in turn, each block with its own ceiling measurement, marked
#       "# build DIR" in the results
#   -c  the cases to run, in order (default: all, see below; sessions50
#       must come last, it creates the 49 more sessions)
#   -p  the private stack's HTTP port (default 18380); the ceiling nginx
#       listens on PORT+1, the floor on PORT+2
#   -n  a note for the header; -o the result file
#       (default bench/results/rest-<UTC date>-<time>.txt)
#
# Starts a private stack (deploy/dev, temporary state directory, no wa-sim,
# every rate limit lifted) and, beside it, a second nginx whose only location
# answers `return 200` -- the ceiling: what nginx on this machine does with no
# upstream at all, with the same worker count and access log. Every case runs
# with `wrk -t2 -c32` in the same run and is reported as req/s, its share of
# the ceiling measured just before it, its share of the floor, and wrk's
# p50/p99 latency:
#   ceiling     the second nginx's `return 200`
#   floor       the second nginx proxying, with the stack's FastCGI settings
#               (kept connections, the same buffers, params and limit_req),
#               to bench/fcgi-floor: a responder that answers a fixed 404
#               and does nothing else -- the most a worker request can reach
#   notfound    GET /api/nonexistent without a key: a worker's 404, no database
#   docs        GET /api/docs: the cached OpenAPI document (~54 KB), no database
#   settings    GET /api/settings/system (a public route: the key is sent
#               but not looked up): one read
#   apikey      GET /api/user/api-key with a key: credentials + one read
#   session     GET /api/sessions/{id} with a key (SUPERADMIN)
#   sessions1   GET /api/sessions with one session
#   sessions50  GET /api/sessions with 50 sessions
#   invalid     POST /api/messages/{id}/{jid}/send with a bad body: auth,
#               access, JSON validation -> 400
# plus each worker's RSS after the load, MariaDB queries per request, and the
# CPU each process of the stack used per request (from /proc/PID/stat).
# Needs wrk (Debian package `wrk`, deploy/packages.txt).
set -euo pipefail
secs=10
workers_list=2
port=18380
note=""
out=""
builds=${WA_AKG_BUILD:-}
cases="ceiling floor notfound docs settings apikey session sessions1 invalid ceiling floor sessions50"
while getopts "d:w:b:c:p:n:o:" opt; do
	case $opt in
	d) secs=$OPTARG ;;
	b) builds=$OPTARG ;;
	c) cases=$OPTARG ;;
	w) workers_list=$OPTARG ;;
	p) port=$OPTARG ;;
	n) note=$OPTARG ;;
	o) out=$OPTARG ;;
	*) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
command -v wrk >/dev/null || { echo "bench/rest.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
command -v cc >/dev/null || { echo "bench/rest.sh: needs a C compiler for bench/fcgi-floor.c" >&2; exit 1; }
[ -n "$out" ] || out=$here/results/rest-$(date -u +%Y%m%d-%H%M).txt
tmp=$(mktemp -d /tmp/wa-bench.XXXXXX)
cport=$((port + 1))
fport=$((port + 2))
stop_all() {
	[ -s "$tmp/ceil/nginx.pid" ] && kill "$(cat "$tmp/ceil/nginx.pid")" 2>/dev/null
	[ -n "${floor_pid:-}" ] && kill "$floor_pid" 2>/dev/null
	WA_AKG_STATE=$tmp/state "$repo/deploy/dev" down >/dev/null 2>&1 || true
}
trap 'stop_all; rm -rf "$tmp"' EXIT

# The ceiling: nginx alone, configured like the stack's (one worker process,
# an access log line per request), answering from memory. The floor: the
# same nginx in front of bench/fcgi-floor, with nginx/dev.conf.in's FastCGI
# settings.
mkdir -p "$tmp/ceil/logs" "$tmp/ceil/tmp"
# nginx's worker (nobody, when started as root) must reach the socket
chmod 755 "$tmp"
cc -O2 -o "$tmp/fcgi-floor" "$here/fcgi-floor.c" -lfcgi -lpthread
"$tmp/fcgi-floor" "$tmp/floor.sock" 4 &
floor_pid=$!
cat >"$tmp/ceil/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/ceil/nginx.pid;
error_log $tmp/ceil/logs/error.log warn;
events { worker_connections 512; }
http {
	access_log $tmp/ceil/logs/access.log;
	keepalive_timeout 65;
	server {
		listen 127.0.0.1:$cport;
		location / { default_type application/json; return 200 '{"status":true}\n'; }
	}
	fastcgi_temp_path $tmp/ceil/tmp;
	limit_req_zone \$binary_remote_addr zone=floor:10m rate=60000000r/m;
	upstream floor { server unix:$tmp/floor.sock; keepalive 32; keepalive_timeout 60s; }
	server {
		listen 127.0.0.1:$fport;
		location / {
			limit_req zone=floor burst=100000 nodelay;
			include /etc/nginx/fastcgi_params;
			fastcgi_param REQUEST_ID \$request_id;
			fastcgi_param HTTP_PROXY "";
			fastcgi_buffering on;
			fastcgi_buffer_size 16k;
			fastcgi_buffers 16 16k;
			fastcgi_keep_conn on;
			fastcgi_pass floor;
		}
	}
}
EOF
nginx -p "$tmp/ceil/" -e "$tmp/ceil/logs/error.log" -c "$tmp/ceil/nginx.conf"
# the floor must be the responder's answer, not an error of nginx's own
for _ in $(seq 50); do [ -S "$tmp/floor.sock" ] && break; sleep 0.1; done
curl -s "http://127.0.0.1:$fport/api/nonexistent" | grep -q '"No API route GET /api/nonexistent"' ||
	{ echo "bench/rest.sh: the floor does not answer (see $tmp/ceil/logs/error.log)" >&2; cat "$tmp/ceil/logs/error.log" >&2; exit 1; }

{
	echo "# bench/rest.sh $(date -u +%FT%TZ) on $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)'), ${secs}s per case, wrk -t2 -c32${note:+, $note}"
	printf '# %-8s %-10s %9s %7s %7s %9s %9s %8s %8s\n' workers case req/s ceiling floor p50 p99 non-2xx q/req
} | tee "$out"

# wrk URL LUA -> "rps p50 p99 non2xx"
run_wrk() {
	local res
	res=$(wrk -t2 -c32 -d"${secs}s" --latency ${2:+-s "$2"} "$1" 2>&1)
	awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
	     /Non-2xx/ {bad=$5} END {printf "%s %s %s %s\n", rps, p50, p99, bad ? bad : 0}' <<<"$res"
}
queries() { mysql -S "$tmp/state/mysql/mysqld.sock" -uroot -N -e "SHOW GLOBAL STATUS LIKE 'Questions'" | awk '{print $2}'; }
# total CPU ticks of the stack's processes: "fcgi mariadb nginx"
ticks() {
	local f=0 m=0 n=0 p
	for p in $(pgrep -f "wa-akg-fcgi --config $tmp/state" || true); do f=$((f + $(awk '{print $14 + $15}' /proc/"$p"/stat))); done
	for p in $(pgrep -f "mariadbd.*$tmp/state" || true); do m=$((m + $(awk '{print $14 + $15}' /proc/"$p"/stat))); done
	for p in $(pgrep -f "nginx.*$tmp/state" || true) $(pgrep -P "$(cat "$tmp/state/run/nginx.pid")" || true); do
		n=$((n + $(awk '{print $14 + $15}' /proc/"$p"/stat 2>/dev/null || echo 0)))
	done
	echo "$f $m $n"
}

for workers in $workers_list; do
for build in ${builds:-default}; do
	if [ "$build" != default ]; then
		export WA_AKG_BUILD=$build
		echo "# build $build" | tee -a "$out"
	fi
	export WA_AKG_STATE=$tmp/state WA_AKG_FCGI_WORKERS=$workers WA_AKG_FCGI_THREADS=4
	export WA_AKG_LIMITS_RATE_PER_MINUTE=60000000 WA_AKG_LIMITS_ADDRESS_RATE_PER_MINUTE=60000000
	export WA_AKG_LIMITS_AUTH_RATE_PER_MINUTE=60000000 WA_AKG_GENERAL_LOG_LEVEL=warn WA_AKG_DEV_NO_SIM=1
	"$repo/deploy/dev" --port "$port" up >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log"; exit 1; }
	key=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['apiKey'])" "$tmp/state/bootstrap.json")
	base=http://127.0.0.1:$port
	new_session() {
		curl -s -o /dev/null -H "X-API-Key: $key" -H 'Content-Type: application/json' \
			-d "{\"name\":\"bench $1\",\"sessionId\":\"$1\"}" "$base/api/sessions"
	}
	new_session bench
	printf 'wrk.headers["X-API-Key"] = "%s"\n' "$key" >"$tmp/get.lua"
	cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["X-API-Key"] = "$key"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"message": 5}'
LUA
	ceil="" flr=""
	for t in $cases; do
		lua=$tmp/get.lua
		case $t in
		ceiling) url=http://127.0.0.1:$cport/ ;;
		floor) url=http://127.0.0.1:$fport/api/nonexistent; lua="" ;;
		notfound) url=$base/api/nonexistent; lua="" ;;
		docs) url=$base/api/docs; lua="" ;;
		settings) url=$base/api/settings/system ;;
		apikey) url=$base/api/user/api-key ;;
		session) url=$base/api/sessions/bench ;;
		sessions1) url=$base/api/sessions ;;
		invalid) url=$base/api/messages/bench/628123456789/send; lua=$tmp/post.lua ;;
		sessions50)
			url=$base/api/sessions
			for i in $(seq 2 50); do new_session "bench$i"; done ;;
		esac
		q0=$(queries); read -r f0 m0 n0 <<<"$(ticks)"
		read -r rps p50 p99 bad <<<"$(run_wrk "$url" "$lua")"
		q1=$(queries); read -r f1 m1 n1 <<<"$(ticks)"
		[ "$t" = ceiling ] && ceil=$rps
		[ "$t" = floor ] && flr=$rps
		qpr=$(awk -v a="$q0" -v b="$q1" -v r="$rps" -v s="$secs" 'BEGIN {printf "%.2f", (r > 0) ? (b - a - 1) / (r * s) : 0}')
		# the share of the floor measured just before (none for the ceiling)
		fshare=$(awk -v a="$rps" -v b="$flr" -v t="$t" 'BEGIN {if (t == "ceiling" || b <= 0) print "-"; else printf "%.1f%%", 100 * a / b}')
		printf '  %-8s %-10s %9.0f %6.1f%% %7s %9s %9s %8s %8s\n' "$workers" "$t" "$rps" \
			"$(awk -v a="$rps" -v b="$ceil" 'BEGIN {print (b > 0) ? 100 * a / b : 0}')" \
			"$fshare" "$p50" "$p99" "$bad" "$qpr" |
			tee -a "$out"
		# CPU per request (ms) of the workers, MariaDB and the stack's nginx
		awk -v f=$((f1 - f0)) -v m=$((m1 - m0)) -v n=$((n1 - n0)) -v r="$rps" -v s="$secs" -v hz="$(getconf CLK_TCK)" \
			'BEGIN {k = 1000 / hz / (r * s); printf "                       cpu/req: fcgi %.3f ms, mariadb %.3f ms, nginx %.3f ms\n", f * k, m * k, n * k}' |
			tee -a "$out"
	done
	for pid in $(pgrep -f "wa-akg-fcgi --config $tmp/state" | tail -n +2); do
		printf '  workers=%d worker pid %s RSS %s kB\n' "$workers" "$pid" "$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)" |
			tee -a "$out"
	done
	"$repo/deploy/dev" down >/dev/null 2>&1
	rm -rf "$tmp/state"
done
done
echo "results: $out"
