# engine/wa/: the WhatsApp Web protocol library (libwa.a), shared by the
# engine and wa-sim. No engine or simulator concerns in here.
# Each part appends its own block below; keep blocks separate.
noinst_LIBRARIES += engine/wa/libwa.a
engine_wa_libwa_a_SOURCES = engine/wa/buf.c engine/wa/buf.h
engine_wa_libwa_a_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(SIGNAL_CFLAGS) $(PROTOBUFC_CFLAGS) \
	$(MARIADB_CFLAGS) $(ZLIB_CFLAGS)
# Everything that links libwa.a uses this.
WA_LIBWA_LIBS = engine/wa/libwa.a proto/libwaproto.a common/libwacommon.a \
	$(SIGNAL_LIBS) $(PROTOBUFC_LIBS) $(MARIADB_LIBS) $(CRYPTO_LIBS) $(ZLIB_LIBS)

# crypto primitives and the libsignal context (noise engineer)
engine_wa_libwa_a_SOURCES += engine/wa/crypto.c engine/wa/crypto.h

# binary node codec, token tables, JIDs, message ids (wire engineer)
engine_wa_libwa_a_SOURCES += engine/wa/tokens.c engine/wa/tokens.h \
	engine/wa/node.c engine/wa/node.h engine/wa/nodeprint.c \
	engine/wa/binary.c engine/wa/binary.h \
	engine/wa/jid.c engine/wa/jid.h \
	engine/wa/msgid.c engine/wa/msgid.h \
	engine/wa/pbsafe.c engine/wa/pbsafe.h
EXTRA_DIST += tools/gen-tokens.py

# media crypto, app-state crypto/patches, message-secret keys (mediacrypto engineer)
engine_wa_libwa_a_SOURCES += engine/wa/mediacrypto.c engine/wa/mediacrypto.h \
	engine/wa/appstate.c engine/wa/appstate.h \
	engine/wa/msgsecret.c engine/wa/msgsecret.h

# framing, Noise XX handshake + transport, server certificate chain (noise engineer)
engine_wa_libwa_a_SOURCES += engine/wa/frame.c engine/wa/frame.h engine/wa/noise.c engine/wa/noise.h \
	engine/wa/cert.c engine/wa/cert.h

# ClientPayload (registration / login) and DeviceProps builder + parser (noise engineer)
engine_wa_libwa_a_SOURCES += engine/wa/companion_reg.c engine/wa/companion_reg.h

# app-state mutation builders (mediacrypto engineer)
engine_wa_libwa_a_SOURCES += engine/wa/syncaction.c engine/wa/syncaction.h

# Signal protocol wiring: stores (memory, MariaDB) and WhatsApp-level ops (signal engineer)
engine_wa_libwa_a_SOURCES += engine/wa/sigstore.c engine/wa/sigstore.h \
	engine/wa/sigstore_mem.c engine/wa/sigstore_db.c \
	engine/wa/signal.c engine/wa/signal.h \
	engine/wa/signal_node.c engine/wa/signal_node.h
EXTRA_DIST += docs/signal.md

# link-code pairing crypto and participant hash (mediacrypto engineer)
engine_wa_libwa_a_SOURCES += engine/wa/linkcode.c engine/wa/linkcode.h

# raw-stream Noise connection (framing + handshake + transport) (noise engineer)
engine_wa_libwa_a_SOURCES += engine/wa/noise_conn.c engine/wa/noise_conn.h

# how the engine uses the media / app-state / link-code modules (mediacrypto engineer)
EXTRA_DIST += docs/media-appstate.md

# transport layer overview (noise engineer)
EXTRA_DIST += docs/noise.md
