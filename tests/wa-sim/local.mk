# tests/wa-sim/: wa-sim, the local WhatsApp network (simcore engineer).
# Server core, pairing and admin API; a reusable test client (waclient) and
# the integration test that drives both. Extension points: README.md.
bin_PROGRAMS += wa-sim
# protocol core (no sockets; also built into tests/fuzz/fuzz_sim_payload)
WA_SIM_CORE = tests/wa-sim/sim.h tests/wa-sim/sim_core.c tests/wa-sim/sim_store.c \
	tests/wa-sim/sim_store.h tests/wa-sim/sim_keys.c tests/wa-sim/sim_conn.c \
	tests/wa-sim/sim_handlers.c tests/wa-sim/sim_pair.c
wa_sim_SOURCES = tests/wa-sim/wa_sim.c tests/wa-sim/sim_ws.c tests/wa-sim/sim_admin.c $(WA_SIM_CORE)
wa_sim_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
wa_sim_LDADD = $(WA_LIBWA_LIBS) $(LWS_LIBS) $(JANSSON_LIBS) -lpthread
EXTRA_DIST += tests/wa-sim/README.md

# test client library + the end-to-end pairing test (starts ./wa-sim)
noinst_LIBRARIES += tests/wa-sim/libwaclient.a
tests_wa_sim_libwaclient_a_SOURCES = tests/wa-sim/waclient.c tests/wa-sim/waclient.h
tests_wa_sim_libwaclient_a_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
WA_CLIENT_LIBS = tests/wa-sim/libwaclient.a $(WA_LIBWA_LIBS) $(LWS_LIBS)
check_PROGRAMS += tests/wa-sim/test_sim_pairing
TESTS += tests/wa-sim/test_sim_pairing
tests_wa_sim_test_sim_pairing_SOURCES = tests/wa-sim/test_sim_pairing.c tests/unit/tap.h
tests_wa_sim_test_sim_pairing_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS)
tests_wa_sim_test_sim_pairing_LDADD = $(WA_CLIENT_LIBS) $(JANSSON_LIBS) $(CURL_LIBS) -lpthread

# an independent client (Python, written from PROTOCOL.md only, shares no
# code with wa-sim) pairs, logs in and pings against ./wa-sim
TESTS += tests/wa-sim/test_sim_indep.py
EXTRA_DIST += tests/wa-sim/test_sim_indep.py

# messaging layer (simmsg engineer): phones as Signal clients, pre-keys,
# usync, message/receipt relay, groups; admin routes; test_sim_messaging
WA_SIM_CORE += tests/wa-sim/sim_msg.h tests/wa-sim/sim_prekeys.c tests/wa-sim/sim_phone.c \
	tests/wa-sim/sim_usync.c tests/wa-sim/sim_msg.c tests/wa-sim/sim_groups.c \
	tests/wa-sim/sim_media.h tests/wa-sim/sim_media.c
wa_sim_SOURCES += tests/wa-sim/sim_admin_msg.c tests/wa-sim/sim_media_http.c tests/wa-sim/sim_tls.c
check_PROGRAMS += tests/wa-sim/test_sim_messaging
TESTS += tests/wa-sim/test_sim_messaging
tests_wa_sim_test_sim_messaging_SOURCES = tests/wa-sim/test_sim_messaging.c tests/unit/tap.h
tests_wa_sim_test_sim_messaging_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) \
	$(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
tests_wa_sim_test_sim_messaging_LDADD = $(WA_CLIENT_LIBS) $(JANSSON_LIBS) $(CURL_LIBS) -lpthread

# state layer (simstate engineer): app state (w:sync:app:state, key share,
# phone mutations), history sync on pairing, presence / chatstate, profile
# (status, picture), blocklist; admin routes; test_sim_state
WA_SIM_CORE += tests/wa-sim/sim_state.h tests/wa-sim/sim_appstate.c tests/wa-sim/sim_presence.c
wa_sim_SOURCES += tests/wa-sim/sim_admin_state.c
check_PROGRAMS += tests/wa-sim/test_sim_state
TESTS += tests/wa-sim/test_sim_state
tests_wa_sim_test_sim_state_SOURCES = tests/wa-sim/test_sim_state.c tests/unit/tap.h
tests_wa_sim_test_sim_state_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) \
	$(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
tests_wa_sim_test_sim_state_LDADD = $(WA_CLIENT_LIBS) $(JANSSON_LIBS) $(CURL_LIBS) -lpthread
# a tiny interactive companion for trying wa-sim by hand (README "Try it")
noinst_PROGRAMS += tests/wa-sim/wa-sim-client
tests_wa_sim_wa_sim_client_SOURCES = tests/wa-sim/wa-sim-client.c
tests_wa_sim_wa_sim_client_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) \
	$(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
tests_wa_sim_wa_sim_client_LDADD = $(WA_CLIENT_LIBS) $(JANSSON_LIBS) $(CURL_LIBS) -lpthread

# shared test harness (simtest engineer): admin over HTTP, free ports,
# starting / stopping the wa-sim child; one copy for all wa-sim tests
WA_SIMTEST_SRC = tests/wa-sim/simtest.c tests/wa-sim/simtest.h
tests_wa_sim_test_sim_pairing_SOURCES += $(WA_SIMTEST_SRC)
tests_wa_sim_test_sim_messaging_SOURCES += $(WA_SIMTEST_SRC)
tests_wa_sim_test_sim_state_SOURCES += $(WA_SIMTEST_SRC)
tests_wa_sim_wa_sim_client_SOURCES += $(WA_SIMTEST_SRC)
tests_wa_sim_test_sim_pairing_CFLAGS += $(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
