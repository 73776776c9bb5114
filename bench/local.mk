# bench/: benchmarks of the protocol library (bench engineer). Not built by
# `make` or `make check`: build with `make bench/bench_proto`, or run
# bench/run.sh, which also records results under bench/results/.
EXTRA_PROGRAMS = bench/bench_proto
bench_bench_proto_SOURCES = bench/bench_proto.c
bench_bench_proto_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(SIGNAL_CFLAGS) $(PROTOBUFC_CFLAGS)
bench_bench_proto_LDADD = $(WA_LIBWA_LIBS)
CLEANFILES += bench/bench_proto
EXTRA_DIST += bench/run.sh bench/README.md
