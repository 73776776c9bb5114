#!/usr/bin/env bash
# bench/rest.sh: throughput, latency and memory of the REST path
# (nginx -> wa-akg-fcgi -> MariaDB) on this machine, with wrk.
#
#   bench/rest.sh [SECONDS]     (default 10 s per measurement)
#
# Starts a private stack (deploy/dev) in a temporary state directory with the
# rate limit lifted, once with 1 worker process and once with 2 (4 threads
# each), and measures in the same run, so the numbers compare as ratios on a
# noisy machine:
#   docs      GET /api/docs            (no database; route table + cached doc)
#   sessions  GET /api/sessions        (API-key auth + a role-filtered query)
#   session   GET /api/sessions/{id}   (auth + session access check + details)
#   invalid   POST /api/messages/...   (auth + access + JSON validation -> 400)
# and the resident memory (RSS) of each worker after the load.
# Results go to bench/results/rest-<date>.txt; summarise them in bench/README.md.
set -euo pipefail
secs=${1:-10}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
command -v wrk >/dev/null || { apt-get install -y --no-install-recommends wrk >/dev/null; }
out=$here/results/rest-$(date -u +%Y%m%d-%H%M).txt
tmp=$(mktemp -d /tmp/wa-bench.XXXXXX)
port=18380
trap 'WA_AKG_STATE=$tmp/state "$repo/deploy/dev" down >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

{
	echo "# bench/rest.sh $(date -u +%FT%TZ) on $(nproc) cores, ${secs}s per run, wrk -t2 -c32"
	echo "# $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$out"

for workers in 1 2; do
	export WA_AKG_STATE=$tmp/state WA_AKG_FCGI_WORKERS=$workers WA_AKG_FCGI_THREADS=4
	export WA_AKG_LIMITS_RATE_PER_MINUTE=6000000 WA_AKG_GENERAL_LOG_LEVEL=warn
	[ -n "${WA_AKG_BUILD:-}" ] && export WA_AKG_BUILD
	"$repo/deploy/dev" --port $port up >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log"; exit 1; }
	key=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['apiKey'])" "$tmp/state/bootstrap.json")
	base=http://127.0.0.1:$port
	curl -s -o /dev/null -H "X-API-Key: $key" -H 'Content-Type: application/json' \
		-d '{"name":"bench","sessionId":"bench"}' "$base/api/sessions"
	cat >"$tmp/get.lua" <<LUA
wrk.headers["X-API-Key"] = "$key"
LUA
	cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["X-API-Key"] = "$key"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"message": 5}'
LUA
	for t in docs:/api/docs:get sessions:/api/sessions:get session:/api/sessions/bench:get \
		invalid:/api/messages/bench/628123456789/send:post; do
		name=${t%%:*}; rest=${t#*:}; path=${rest%:*}; script=${rest##*:}
		res=$(wrk -t2 -c32 -d"${secs}s" -s "$tmp/$script.lua" "$base$path" 2>&1)
		rps=$(awk '/Requests\/sec/ {print $2}' <<<"$res")
		lat=$(awk '/Latency/ {print $2; exit}' <<<"$res")
		bad=$(awk '/Non-2xx/ {print $5}' <<<"$res")
		printf 'workers=%d %-9s %10s req/s  avg latency %8s  non-2xx %s\n' "$workers" "$name" "$rps" "$lat" \
			"${bad:-0}" | tee -a "$out"
	done
	for pid in $(pgrep -f "wa-akg-fcgi --config $tmp/state" | tail -n +2); do
		printf 'workers=%d worker pid %s RSS %s kB\n' "$workers" "$pid" "$(awk '/VmRSS/ {print $2}' /proc/$pid/status)" \
			| tee -a "$out"
	done
	"$repo/deploy/dev" down >/dev/null 2>&1
done
echo "results: $out"
