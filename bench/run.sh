#!/usr/bin/env bash
# bench/run.sh: speed and memory of the protocol library (bench/bench_proto.c).
#
#   bench/run.sh [-b BUILD_DIR] [-t SECONDS] [-r REPS] [-c SUBSTR] [-q]
#
#   -b  an existing, configured build directory (default: configure a fresh
#       one with CFLAGS="-O2 -g" in a temporary directory, removed at exit)
#   -t  seconds per repetition (default 0.25), -r repetitions (default 5)
#   -c  only cases whose name contains SUBSTR
#   -q  skip the callgrind pass
#
# Builds bench/bench_proto, runs it (wall clock, median of the repetitions,
# heap and RSS peaks), then runs every case once more under
# `valgrind --tool=callgrind` with a small fixed iteration count, collecting
# only inside bench_timed_loop(), to get instruction counts per operation
# (repeatable, unlike wall time on a shared machine) and the functions that
# spend them. Everything goes to bench/results/proto-<UTC date>.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build='' secs=0.25 reps=5 filter='' cg=1
while getopts b:t:r:c:qh opt; do
	case $opt in
	b) build=$(cd "$OPTARG" && pwd) ;;
	t) secs=$OPTARG ;;
	r) reps=$OPTARG ;;
	c) filter=$OPTARG ;;
	q) cg=0 ;;
	*) sed -n '2,12p' "$0"; exit 2 ;;
	esac
done

tmp=$(mktemp -d /tmp/wa-bench-proto.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$build" ]; then
	build=$tmp/build
	mkdir -p "$build"
	(cd "$build" && "$repo/configure" -q CFLAGS="-O2 -g")
fi
# Generated headers (protobuf-c) first: they are BUILT_SOURCES, which only
# `make all` would make before compiling.
make -s -C "$build" Makefile >/dev/null # regenerate it first if a local.mk changed
# shellcheck disable=SC2016
built=$(printf 'bench-print-built:\n\t@echo $(BUILT_SOURCES)\n' |
	make -s -C "$build" -f Makefile -f - bench-print-built)
if [ -n "$built" ]; then
	# shellcheck disable=SC2086  # a list of file names
	make -s -C "$build" -j2 $built
fi
make -s -C "$build" -j2 bench/bench_proto
bin=$build/bench/bench_proto

mkdir -p "$here/results"
out=$here/results/proto-$(date -u +%Y%m%d-%H%M).txt
{
	echo "# bench/run.sh $(date -u +%FT%TZ), $(nproc) cores, $(uname -srm)"
	echo "# commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet HEAD -- engine common 2>/dev/null || echo ' (+ uncommitted changes in engine/ or common/)')"
	echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: compare ratios and Ir/op)"
	echo "# build: $(grep -m1 '^CFLAGS = ' "$build/Makefile" | cut -d= -f2- | sed 's/^ //')"
	echo
	echo "## timings: cpu-ns/op = median CPU time per op; ops/s and MB/s (per core) follow from it;"
	echo "## spread = (max-min)/median of the CPU times; wall-ns/op = median wall time per op"
} | tee "$out"
args=(-t "$secs" -r "$reps")
[ -n "$filter" ] && args+=(-c "$filter")
"$bin" "${args[@]}" | tee -a "$out"

if [ "$cg" = 1 ]; then
	command -v valgrind >/dev/null || { echo "valgrind not installed: skipping callgrind" | tee -a "$out"; exit 0; }
	{
		echo
		echo "## callgrind: instructions per operation (Ir/op), only inside bench_timed_loop()"
		echo "## per case: top self-cost functions (??? = no debug symbols for that library),"
		echo "## then the heaviest WA-AKG functions by inclusive cost (incl)"
	} | tee -a "$out"
	"$bin" -l | while read -r name iters; do
		[ -n "$filter" ] && [[ $name != *"$filter"* ]] && continue
		if [ "$iters" = 0 ]; then
			printf '%-20s %12s  (skipped under callgrind: Ir scale with the 1M case)\n' "$name" - | tee -a "$out"
			continue
		fi
		f=$tmp/cg.$name
		valgrind --tool=callgrind --callgrind-out-file="$f" --collect-atstart=no \
			--toggle-collect=bench_timed_loop "$bin" -C "$name" -n "$iters" -r 1 -w 0 \
			>/dev/null 2>"$tmp/vg.log" || { echo "$name: valgrind failed"; tail "$tmp/vg.log"; exit 1; }
		ann=$(callgrind_annotate --tree=none --auto=no "$f" 2>/dev/null)
		total=$(sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' <<<"$ann" | tr -d ,)
		printf '%-20s %12d Ir/op  (%s iterations)\n' "$name" $((total / iters)) "$iters" | tee -a "$out"
		sed -n '/file:function/,$p' <<<"$ann" | sed -n '3,8p' |
			sed -E -e 's/^ *[0-9,]+ +\(/    (/; s#\[/usr/lib/x86_64-linux-gnu/#[#; s# \[[^]]*bench_proto\]##' -e "s#$repo/##" |
			tee -a "$out" || true
		# where in our code: the heaviest WA-AKG functions, inclusive
		callgrind_annotate --inclusive=yes --tree=none --auto=no "$f" 2>/dev/null | sed -n '/file:function/,$p' |
			grep -E '/(engine|common)/' | grep -v -e bench_proto -e '=>' -e '<' | head -4 |
			sed -E -e 's/^ *[0-9,]+ +\(/    incl (/; s# \[[^]]*\]##' -e "s#$repo/##" | tee -a "$out" || true
	done
fi
echo "# written to ${out#"$repo/"}"
