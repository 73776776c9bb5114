# wa/: the WhatsApp Web protocol library (libwa.a), shared by the engine,
# wa-sim and its client. Pure: it links no MariaDB, nng, libwebsockets or
# libcurl and includes none of their headers (engine/store/ holds the MariaDB
# Signal store). No engine or simulator concerns in here.
# Each part appends its own block below; keep blocks separate.
noinst_LIBRARIES += wa/libwa.a
wa_libwa_a_SOURCES = wa/buf.c wa/buf.h
wa_libwa_a_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(SIGNAL_CFLAGS) $(PROTOBUFC_CFLAGS) $(ZLIB_CFLAGS)
# Everything that links libwa.a uses this.
WA_LIBWA_LIBS = wa/libwa.a proto/libwaproto.a common/libwacommon.a \
	$(SIGNAL_LIBS) $(PROTOBUFC_LIBS) $(CRYPTO_LIBS) $(ZLIB_LIBS)

# crypto primitives and the libsignal context (noise engineer)
wa_libwa_a_SOURCES += wa/crypto.c wa/crypto.h

# binary node codec, token tables, JIDs, message ids (wire engineer)
wa_libwa_a_SOURCES += wa/tokens.c wa/tokens.h \
	wa/node.c wa/node.h wa/nodeprint.c \
	wa/binary.c wa/binary.h \
	wa/jid.c wa/jid.h \
	wa/msgid.c wa/msgid.h \
	wa/pbsafe.c wa/pbsafe.h
EXTRA_DIST += tools/gen-tokens.py

# media crypto, app-state crypto/patches, message-secret keys (mediacrypto engineer)
wa_libwa_a_SOURCES += wa/mediacrypto.c wa/mediacrypto.h \
	wa/appstate.c wa/appstate.h \
	wa/msgsecret.c wa/msgsecret.h

# framing, Noise XX handshake + transport, server certificate chain (noise engineer)
wa_libwa_a_SOURCES += wa/frame.c wa/frame.h wa/noise.c wa/noise.h \
	wa/cert.c wa/cert.h

# ClientPayload (registration / login) and DeviceProps builder + parser (noise engineer)
wa_libwa_a_SOURCES += wa/companion_reg.c wa/companion_reg.h

# app-state mutation builders (mediacrypto engineer)
wa_libwa_a_SOURCES += wa/syncaction.c wa/syncaction.h

# Signal protocol wiring: store interface, in-memory store and WhatsApp-level ops (signal engineer)
wa_libwa_a_SOURCES += wa/sigstore.c wa/sigstore.h \
	wa/sigstore_mem.c \
	wa/signal.c wa/signal.h \
	wa/signal_node.c wa/signal_node.h
EXTRA_DIST += docs/signal.md

# link-code pairing crypto and participant hash (mediacrypto engineer)
wa_libwa_a_SOURCES += wa/linkcode.c wa/linkcode.h

# raw-stream Noise connection (framing + handshake + transport) (noise engineer)
wa_libwa_a_SOURCES += wa/noise_conn.c wa/noise_conn.h

# how the engine uses the media / app-state / link-code modules (mediacrypto engineer)
EXTRA_DIST += docs/media-appstate.md

# transport layer overview (noise engineer)
EXTRA_DIST += docs/noise.md

# companion-side device linking (QR refs, pair-success, link code) as pure
# node -> node functions, shared by the engine and the test client
wa_libwa_a_SOURCES += wa/pairing.c wa/pairing.h
