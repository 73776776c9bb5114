#!/usr/bin/env bash
# bench/engine.sh: memory per session, reconnect time and message throughput
# of wa-akg-engine, against a running dev stack (deploy/dev) and its wa-sim.
#
#   bench/engine.sh [options] [STATE]       STATE: the stack's state directory
#                                           (default $WA_AKG_STATE or <repo>/.state)
#   -n N          sessions for memory and reconnect (default 200)
#   -m M          messages each way (default 500)
#   --senders T   threads sending through wa-sim's admin API (default 4)
#   --clients C   concurrent API clients for outbound sends (default 4)
#   --workers W   threads creating and pairing sessions (default 4); each pairing
#                 waits until its session is Connected, so W are in flight
#   --pair-burst  scan every QR as fast as wa-sim takes it (no waiting per session)
#   --settle S    idle seconds before each memory sample (default 5)
#   --skip LIST   leave out phases: reconnect,inbound,outbound
#   --no-fresh    do not restart the engine first for a fresh 0-session baseline
#   --keep        keep the bench sessions (default: log them out and delete them)
#   --reset-sim   POST /admin/reset to wa-sim first, so that phones of earlier runs
#                 do not slow it down; it forgets EVERY phone: only on a stack of your own
#   -o FILE       results file (default bench/results/engine-<UTC date>-<time>.txt)
#   --perf        perf record the engine and wa-sim during the message phases (needs
#                 perf; adds their top symbols to the results)
#   --note TEXT   a line for the results file's header (e.g. what the build is)
#
# The stack must run wa-sim and have its rate limit lifted (the API calls are
# many): start it e.g. with
#   WA_AKG_LIMITS_RATE_PER_MINUTE=6000000 deploy/dev --state /tmp/sb --port 18780 up
# It needs STATE/bootstrap.json (API key), STATE/sim.json (wa-sim admin URL),
# STATE/run/engine.pid, STATE/wa-akg.conf and the stack's MariaDB socket (the
# script reads the database as root over it). The engine is killed (SIGKILL)
# and started again with the same command line, once for the baseline and
# once for the reconnect measurement; STATE/run/engine.pid follows it, so
# `deploy/dev down` still stops it. The measuring is in bench/engine_bench.py;
# what each number means is in bench/README.md ("Engine").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-2}"; }

state=${WA_AKG_STATE:-$repo/.state}
out=""
note=""
py_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	-n) py_args+=(--sessions "$2"); shift 2 ;;
	-m) py_args+=(--messages "$2"); shift 2 ;;
	--senders | --clients | --workers | --settle | --skip) py_args+=("$1" "$2"); shift 2 ;;
	--no-fresh | --keep | --reset-sim | --perf | --pair-burst) py_args+=("$1"); shift ;;
	-o) out=$2; shift 2 ;;
	--note) note=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	-*) echo "bench/engine.sh: unknown option $1" >&2; usage ;;
	*) state=$1; shift ;;
	esac
done
state=$(cd "$state" && pwd)

die() { echo "bench/engine.sh: $*" >&2; exit 1; }
for f in bootstrap.json sim.json wa-akg.conf run/engine.pid; do
	[ -s "$state/$f" ] || die "$state/$f is missing: is a dev stack (with wa-sim) running there?"
done
pid=$(cat "$state/run/engine.pid")
kill -0 "$pid" 2>/dev/null || die "the engine (pid $pid from $state/run/engine.pid) is not running"
py=/usr/bin/python3
[ -x $py ] || py=python3
$py -c 'import requests' 2>/dev/null || die "$py has no 'requests' (Debian: apt-get install python3-requests)"
command -v mariadb >/dev/null || die "the mariadb client is needed"
listen=$($py -c 'import configparser,sys; c=configparser.ConfigParser(interpolation=None, strict=False); c.read(sys.argv[1]); print(c.get("http","listen",fallback="127.0.0.1:8080"))' "$state/wa-akg.conf")
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$listen/api/docs" || true)
[ "$code" = 200 ] || die "GET http://$listen/api/docs answers ${code:-nothing}, not 200 (deploy/dev --state $state status)"
admin=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_url"])' "$state/sim.json")
curl -s -o /dev/null -m 5 "$admin/admin/connections" || die "wa-sim's admin API ($admin) does not answer"
if [ -f "$state/nginx.conf" ]; then
	rate=$(grep -oE 'rate=[0-9]+r/m' "$state/nginx.conf" | grep -oE '[0-9]+' | head -n1 || true)
	if [ -n "$rate" ] && [ "$rate" -lt 100000 ]; then
		echo "bench/engine.sh: warning: the stack allows $rate requests/minute; sends will be refused (429)." >&2
		echo "  restart it with WA_AKG_LIMITS_RATE_PER_MINUTE=6000000" >&2
	fi
fi

mkdir -p "$here/results"
if [ -z "$out" ]; then
	out=$here/results/engine-$(date -u +%Y%m%d-%H%M).txt
	[ ! -e "$out" ] || out=$here/results/engine-$(date -u +%Y%m%d-%H%M%S).txt
fi
exe=$(readlink "/proc/$pid/exe" 2>/dev/null || echo unknown)
build=$(dirname "$exe")
cfg() { "$build/wa-akg-config" -c "$state/wa-akg.conf" get "$1" 2>/dev/null || echo '?'; }
englog=$state/log/engine.log
runlog=$(mktemp /tmp/wa-bench-engine.XXXXXX)
trap 'rm -f "$runlog"' EXIT
log_off=$(stat -c %s "$englog" 2>/dev/null || echo 0)

{
	echo "# bench/engine.sh $(date -u +%FT%TZ), $(nproc) cores, $(uname -srm)"
	echo "# repository at run time: commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet HEAD -- engine common wa fcgi sim 2>/dev/null || echo ' (+ uncommitted changes in engine/ common/ wa/ fcgi/ or sim/)'); what ran is the binary below"
	echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), memory $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: compare ratios within this run)"
	echo "# engine: $exe, built $(date -u -r "$exe" +%FT%TZ 2>/dev/null || echo '?'), sha256 $(sha256sum "/proc/$pid/exe" 2>/dev/null | cut -c1-12)$([ -f "$build/Makefile" ] && echo ", CFLAGS $(grep -m1 '^CFLAGS = ' "$build/Makefile" | cut -d= -f2- | sed 's/^ //')")"
	[ -z "$note" ] || echo "# note: $note"
	echo "# engine.db_threads $(cfg engine.db_threads), heartbeat_ms $(cfg engine.heartbeat_ms), fcgi.workers $(cfg fcgi.workers), log_level $(cfg general.log_level)"
	echo "# options: ${py_args[*]:-(defaults: -n 200 -m 500 --senders 4 --clients 4)}"
	echo
} | tee "$out"

rc=0
$py "$here/engine_bench.py" --state "$state" "${py_args[@]}" | tee -a "$out" || rc=$?

# What the engine logged above INFO while it was measured (ids and numbers
# folded so that one kind of message is one line).
{
	echo "## engine.log during the run (WARN and ERROR lines, folded; 'reconnecting' includes the 515 restart after each pairing)"
	if [ -f "$englog" ]; then
		tail -c +"$((log_off + 1))" "$englog" >"$runlog"
		n=$(grep -cE ' (WARN|ERROR|FATAL) ' "$runlog" || true)
		echo "${n:-0} WARN/ERROR lines; $(grep -c 'reconnecting' "$runlog" || true) 'reconnecting', $(grep -c 'bench/engine.sh restart' "$runlog" || true) restarts by this script"
		grep -E ' (WARN|ERROR|FATAL) ' "$runlog" |
			sed -E 's/^[0-9TZ:-]+ //; s/\[[0-9]+\]//; s/rid=[0-9a-f]+/rid=…/; s/bench-[0-9a-f]{4}-[0-9]{4}/bench-…/g; s/[0-9]{6,}/N/g' |
			sort | uniq -c | sort -rn | head -n 15 | cut -c1-300 || true
	else
		echo "(no $englog)"
	fi
} | tee -a "$out"
echo "results: $out"
exit $rc
