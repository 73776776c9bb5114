# tests/sim/: wa-sim's tests. Each C test starts ./wa-sim on free ports
# (simtest.c, one copy of the harness) and drives it as phones (admin API)
# and companions (sim/client/).
WA_SIMTEST_SRC = tests/sim/simtest.c tests/sim/simtest.h tests/unit/tap.h
WA_SIMTEST_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/sim/client $(LWS_CFLAGS) $(JANSSON_CFLAGS) \
	$(CURL_CFLAGS) $(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
WA_SIMTEST_LIBS = $(WA_CLIENT_LIBS) $(JANSSON_LIBS) $(CURL_LIBS) -lpthread

check_PROGRAMS += tests/sim/test_sim_pairing tests/sim/test_sim_messaging tests/sim/test_sim_state
TESTS += tests/sim/test_sim_pairing tests/sim/test_sim_messaging tests/sim/test_sim_state
tests_sim_test_sim_pairing_SOURCES = tests/sim/test_sim_pairing.c $(WA_SIMTEST_SRC)
tests_sim_test_sim_pairing_CFLAGS = $(WA_SIMTEST_CFLAGS)
tests_sim_test_sim_pairing_LDADD = $(WA_SIMTEST_LIBS)
tests_sim_test_sim_messaging_SOURCES = tests/sim/test_sim_messaging.c $(WA_SIMTEST_SRC)
tests_sim_test_sim_messaging_CFLAGS = $(WA_SIMTEST_CFLAGS)
tests_sim_test_sim_messaging_LDADD = $(WA_SIMTEST_LIBS)
tests_sim_test_sim_state_SOURCES = tests/sim/test_sim_state.c $(WA_SIMTEST_SRC)
tests_sim_test_sim_state_CFLAGS = $(WA_SIMTEST_CFLAGS)
tests_sim_test_sim_state_LDADD = $(WA_SIMTEST_LIBS)

# an independent client (Python, written from docs/protocol.md only, shares
# no code with wa-sim) pairs, logs in and pings against ./wa-sim
TESTS += tests/sim/test_sim_indep.py
EXTRA_DIST += tests/sim/test_sim_indep.py

# a tiny interactive companion for trying wa-sim by hand (sim/README.md "Try it")
noinst_PROGRAMS += sim/client/wa-sim-client
sim_client_wa_sim_client_SOURCES = sim/client/wa-sim-client.c $(WA_SIMTEST_SRC)
sim_client_wa_sim_client_CFLAGS = $(WA_SIMTEST_CFLAGS) -I$(top_srcdir)/tests/sim -I$(top_srcdir)/tests/unit
sim_client_wa_sim_client_LDADD = $(WA_SIMTEST_LIBS)
