# tests/fuzz/: libFuzzer targets (fuzz_*.c), one per parser that sees network
# or user bytes. Each defines LLVMFuzzerTestOneInput. Under `make check` they
# are built with the normal compiler and driver.c, and replay the corpus in
# tests/fuzz/corpus/<name>/ (regression); tests/fuzz/run.sh builds them with
# clang -fsanitize=fuzzer,address,undefined and fuzzes each for a while.
# Each part appends its own block: check_PROGRAMS += tests/fuzz/fuzz_x,
# TESTS += tests/fuzz/fuzz_x, sources = tests/fuzz/fuzz_x.c tests/fuzz/driver.c
EXTRA_DIST += tests/fuzz/run.sh

# binary node decoder (wire engineer)
check_PROGRAMS += tests/fuzz/fuzz_node
TESTS += tests/fuzz/fuzz_node
tests_fuzz_fuzz_node_SOURCES = tests/fuzz/fuzz_node.c tests/fuzz/driver.c
tests_fuzz_fuzz_node_LDADD = $(WA_LIBWA_LIBS)
EXTRA_DIST += tests/fuzz/corpus/node
