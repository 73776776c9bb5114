# tests/unit/: C unit tests, one TAP program each (see tap.h).
# Each part appends its own block: check_PROGRAMS += ..., TESTS += ...

check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c tests/unit/tap.h
tests_unit_test_config_LDADD = common/libwacommon.a $(CRYPTO_LIBS)
