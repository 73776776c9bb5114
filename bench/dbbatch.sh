#!/usr/bin/env bash
# bench/dbbatch.sh: what the engine's group commit (engine.db_batch) buys.
# A stream of 1:1 texts from a simulated phone into ONE session (so every
# message is a transaction on the same database thread), with the engine
# restarted alternately with engine.db_batch=1 (a commit per message) and
# the default 64, in one run on one stack. Prints msg/s until every
# message is stored; writes bench/results/dbbatch-<UTC date>-<time>.txt.
#
#   bench/dbbatch.sh --state DIR --port PORT [-m MESSAGES] [-r ROUNDS]
#
# The stack is deploy/dev's (WA_AKG_BUILD says which build it runs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state="" port="" m=600 rounds=2
while [ $# -gt 0 ]; do
	case $1 in
	--state) state=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	-m) m=$2; shift 2 ;;
	-r) rounds=$2; shift 2 ;;
	*) echo "usage: $0 --state DIR --port PORT [-m MESSAGES] [-r ROUNDS]" >&2; exit 2 ;;
	esac
done
[ -n "$state" ] && [ -n "$port" ] || { echo "--state and --port are required" >&2; exit 2; }
out="$here/results/dbbatch-$(date -u +%Y%m%d-%H%M).txt"
restart() {
	local pid
	pid=$(cat "$state/run/engine.pid")
	kill "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
	WA_AKG_ENGINE_DB_BATCH=$1 WA_AKG_DEV_SKIP_DEPS=1 "$here/../deploy/dev" --state "$state" --port "$port" up >/dev/null
	sleep 2
}
{
	echo "# bench/dbbatch.sh $(date -u +%FT%TZ) on $(hostname), $(nproc) cores; $m messages into one session"
	for r in $(seq "$rounds"); do
		for b in 1 64; do
			restart "$b"
			echo "engine.db_batch=$b: $(python3 "$here/dbbatch_bench.py" --state "$state" --port "$port" -m "$m")"
		done
	done
	restart 64 # the default again
} | tee "$out"
echo "written: $out"
