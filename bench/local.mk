# bench/: benchmarks of the protocol library (bench engineer). Not built by
# `make` or `make check`: build with `make bench/bench_proto` (or `make bench/fcgi-floor`), or run
# bench/run.sh, which also records results under bench/results/.
EXTRA_PROGRAMS = bench/bench_proto bench/fcgi-floor
bench_bench_proto_SOURCES = bench/bench_proto.c
bench_bench_proto_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(SIGNAL_CFLAGS) $(PROTOBUFC_CFLAGS)
bench_bench_proto_LDADD = $(WA_LIBWA_LIBS)
# bench/fcgi-floor: the FastCGI floor bench/rest.sh measures (see its header)
bench_fcgi_floor_SOURCES = bench/fcgi-floor.c
bench_fcgi_floor_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
bench_fcgi_floor_LDADD = $(FCGI_LIBS) -lpthread
CLEANFILES += bench/bench_proto bench/fcgi-floor
EXTRA_DIST += bench/run.sh bench/README.md bench/rest.sh bench/send-wrk.sh bench/send.lua
