# sim/: wa-sim, the local WhatsApp network we ship as the sandbox (server,
# admin API, state, media host), and sim/client/, the raw protocol client
# that the wa-sim tests and wa-sim-client use. Extension points: README.md.
bin_PROGRAMS += wa-sim
# protocol core (no sockets; also built into tests/fuzz/fuzz_sim_payload)
WA_SIM_CORE = sim/sim.h sim/sim_core.c sim/sim_store.c \
	sim/sim_store.h sim/sim_keys.c sim/sim_conn.c \
	sim/sim_handlers.c sim/sim_pair.c
wa_sim_SOURCES = sim/wa_sim.c sim/sim_ws.c sim/sim_admin.c $(WA_SIM_CORE)
wa_sim_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
wa_sim_LDADD = $(WA_LIBWA_LIBS) $(LWS_LIBS) $(EV_LIBS) $(JANSSON_LIBS) -lpthread
EXTRA_DIST += sim/README.md

# messaging layer: phones as Signal clients, pre-keys, usync, message and
# receipt relay, groups, media host; admin routes
WA_SIM_CORE += sim/sim_msg.h sim/sim_prekeys.c sim/sim_phone.c \
	sim/sim_usync.c sim/sim_msg.c sim/sim_groups.c \
	sim/sim_media.h sim/sim_media.c
wa_sim_SOURCES += sim/sim_admin_msg.c sim/sim_media_http.c sim/sim_tls.c

# state layer: app state (w:sync:app:state, key share, phone mutations),
# history sync on pairing, presence / chatstate, profile, blocklist
WA_SIM_CORE += sim/sim_state.h sim/sim_appstate.c sim/sim_presence.c sim/sim_call.c sim/sim_call.h
wa_sim_SOURCES += sim/sim_admin_state.c

# the raw protocol client (a companion device on raw WebSocket + Noise)
noinst_LIBRARIES += sim/client/libwaclient.a
sim_client_libwaclient_a_SOURCES = sim/client/waclient.c sim/client/waclient.h
sim_client_libwaclient_a_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
WA_CLIENT_LIBS = sim/client/libwaclient.a $(WA_LIBWA_LIBS) $(LWS_LIBS)
