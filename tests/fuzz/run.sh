#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: build every tests/fuzz/fuzz_*.c with clang's
# libFuzzer + ASan + UBSan and fuzz each for SECONDS (default 20), starting
# from its corpus in tests/fuzz/corpus/<name>/. Run from a configured build
# tree (it needs config.h and the generated protobuf sources under proto/).
# Exits non-zero on the first crash; the crashing input is left in
# build-fuzz/crash-<name>-*.
set -euo pipefail
secs=${1:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD:-$PWD}
out=$build/build-fuzz
mkdir -p "$out"
CC=${FUZZ_CC:-clang-14}
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE
 -I$top -I$top/common -I$build/proto -I$build"
pc="libprotobuf-c libcrypto zlib libsignal-protocol-c jansson libavformat libavcodec libavutil libswscale libwebpdemux libwebp"
shopt -s nullglob
for src in "$top"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c); name=${name#fuzz_}
	# A target lists the extra sources it needs on a line "// fuzz-sources: a.c b.c"
	extra=$(sed -n 's|^// fuzz-sources: ||p' "$src" | head -n1)
	srcs=()
	for f in $extra; do
		case "$f" in proto/*.pb-c.c) srcs+=("$build/$f");; *) srcs+=("$top/$f");; esac
	done
	echo "fuzz: building $name"
	# shellcheck disable=SC2086
	$CC $flags $(pkg-config --cflags $pc) -I/usr/include/signal "$src" "${srcs[@]}" \
		$(pkg-config --libs $pc) -lm -o "$out/fuzz_$name"
	corpus=$out/corpus-$name
	mkdir -p "$corpus"
	[ -d "$top/tests/fuzz/corpus/$name" ] && cp -n "$top/tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true
	# video, webp_anim: the media fixtures as seeds (byte 0 is the target's own)
	if [ "$name" = video ] || [ "$name" = webp_anim ]; then
		for f in "$top"/tests/fixtures/media/*; do
			[ -f "$corpus/seed-$(basename "$f")" ] || { printf '\x21'; cat "$f"; } >"$corpus/seed-$(basename "$f")"
		done
	fi
	echo "fuzz: running $name for ${secs}s"
	"$out/fuzz_$name" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$out/crash-$name-" "$corpus" 2>"$out/$name.log" || {
		tail -n 40 "$out/$name.log"; echo "fuzz: $name FAILED"; exit 1; }
	grep -E 'stat::number_of_executed_units|Done' "$out/$name.log" | tail -n 2 || true
done
echo "fuzz: all targets ran clean"
