#!/usr/bin/env bash
# bench/rest-ir.sh: the FastCGI worker's instructions per request (callgrind
# Ir), which repeat from run to run where req/s on a shared machine do not.
#
#   bench/rest-ir.sh [-b BUILD] [-n N] [-p PORT] STATE
#
# STATE is a running dev stack (deploy/dev up) with at least one session;
# its database, credentials (STATE/bootstrap.json) and config are used.
# BUILD is the build tree whose wa-akg-fcgi to measure (default: the one the
# stack runs; the stack's own build renders the nginx config either way). For each case, one wa-akg-fcgi (1 worker process, 1 thread)
# starts under valgrind --tool=callgrind on a private socket behind a
# private nginx on PORT (default 18797; rendered by `deploy/dev nginx-conf`
# from the stack's config, limits lifted), gets W = 20 warm-up requests and
# then N (default 100) more, and is stopped; Ir/request is (total - total of
# a run with the warm-up only) / N, so start-up and the first requests'
# one-time costs (connecting, preparing statements, loading OpenSSL
# providers, growing the heap) drop out: the marginal cost of one more
# request. Kernel work (syscalls) is not counted: see bench/rest.sh for that.
# Cases: notfound, docs, settings (public), apikey (GET /api/user/api-key:
# credentials + one read), session (the first session), sessions (every
# session of the stack).
set -euo pipefail
build=""
n=100
port=18797
while getopts "b:n:p:" opt; do
	case $opt in
	b) build=$OPTARG ;;
	n) n=$OPTARG ;;
	p) port=$OPTARG ;;
	*) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: bench/rest-ir.sh [-b BUILD] [-n N] [-p PORT] STATE" >&2; exit 2; }
state=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
command -v valgrind >/dev/null || { echo "bench/rest-ir.sh: valgrind is not installed" >&2; exit 1; }
stack_build=$(dirname "$(readlink "/proc/$(cat "$state/run/fcgi.pid")/exe")")
[ -n "$build" ] || build=$stack_build
key=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['apiKey'])" "$state/bootstrap.json")
tmp=$(mktemp -d /tmp/wa-ir.XXXXXX)
trap '[ -s "$tmp/state/run/nginx.pid" ] && kill "$(cat "$tmp/state/run/nginx.pid")" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/state"
cp "$state/wa-akg.conf" "$tmp/state/wa-akg.conf"
export WA_AKG_FCGI_LISTEN=unix:$tmp/fcgi.sock WA_AKG_FCGI_WORKERS=1 WA_AKG_FCGI_THREADS=1
export WA_AKG_HTTP_LISTEN=127.0.0.1:$port WA_AKG_LIMITS_RATE_PER_MINUTE=60000000 WA_AKG_GENERAL_LOG_LEVEL=warn
export WA_AKG_BUILD=$stack_build
"$repo/deploy/dev" --state "$tmp/state" nginx-conf >/dev/null
nginx -p "$tmp/state/nginx/" -e "$tmp/state/log/nginx-error.log" -c "$tmp/state/nginx.conf"
sid=$(mysql -S "$state/mysql/mysqld.sock" -uroot -N "$("$stack_build/wa-akg-config" -c "$state/wa-akg.conf" get db.name)" \
	-e "SELECT session_id FROM wa_sessions ORDER BY id LIMIT 1")
[ -n "$sid" ] || { echo "bench/rest-ir.sh: the stack has no session; create one first" >&2; exit 1; }

# total Ir of the worker after the warm-up and COUNT more requests to PATH
run() {
	local path=$1 count=$2 vp child
	rm -f "$tmp"/cg.* "$tmp/fcgi.sock"
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.%p" "$build/wa-akg-fcgi" \
		--config "$tmp/state/wa-akg.conf" >"$tmp/fcgi.log" 2>&1 &
	vp=$!
	for _ in $(seq 200); do [ -S "$tmp/fcgi.sock" ] && break; sleep 0.1; done
	child=""
	for _ in $(seq 100); do child=$(pgrep -P "$vp" || true); [ -n "$child" ] && break; sleep 0.1; done
	for _ in $(seq $((count + 20))); do
		curl -s -o /dev/null -H "X-API-Key: $key" "http://127.0.0.1:$port$path"
	done
	kill -TERM "$child"
	for _ in $(seq 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
	kill -TERM "$vp"
	wait "$vp" 2>/dev/null || true
	callgrind_annotate "$tmp/cg.$child" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}

echo "# bench/rest-ir.sh $(date -u +%FT%TZ) $build/wa-akg-fcgi, N=$n"
for t in notfound:/api/nonexistent docs:/api/docs settings:/api/settings/system apikey:/api/user/api-key \
	"session:/api/sessions/$sid" sessions:/api/sessions; do
	name=${t%%:*}; path=${t#*:}
	base=$(run "$path" 0)
	total=$(run "$path" "$n")
	printf '  %-9s %12d Ir/request\n' "$name" $(((total - base) / n))
done
