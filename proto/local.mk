# proto/: our own .proto files (WhatsApp wire subset with WhatsApp's field
# numbers, and the gateway's IPC envelope), compiled by protoc-c at build time.
# To add a file: append its .pb-c.c/.pb-c.h to nodist_..._SOURCES and
# BUILT_SOURCES and the .proto to EXTRA_DIST, in a block of your own.
noinst_LIBRARIES += proto/libwaproto.a
proto_libwaproto_a_CFLAGS = $(AM_CFLAGS) $(PROTOBUFC_CFLAGS) -Wno-unused-parameter

proto/%.pb-c.c proto/%.pb-c.h: $(srcdir)/proto/%.proto
	@$(MKDIR_P) proto
	$(AM_V_GEN)$(PROTOC_C) --proto_path=$(srcdir)/proto --c_out=proto $<

# gateway IPC envelope
nodist_proto_libwaproto_a_SOURCES = proto/wa_ipc.pb-c.c proto/wa_ipc.pb-c.h
BUILT_SOURCES += proto/wa_ipc.pb-c.h proto/wa_ipc.pb-c.c
CLEANFILES += proto/wa_ipc.pb-c.h proto/wa_ipc.pb-c.c
EXTRA_DIST += proto/wa_ipc.proto

# app state (mediacrypto engineer): server-sync transport and sync actions
nodist_proto_libwaproto_a_SOURCES += proto/wa_server_sync.pb-c.c proto/wa_server_sync.pb-c.h \
	proto/wa_sync_action.pb-c.c proto/wa_sync_action.pb-c.h
BUILT_SOURCES += proto/wa_server_sync.pb-c.h proto/wa_server_sync.pb-c.c \
	proto/wa_sync_action.pb-c.h proto/wa_sync_action.pb-c.c
CLEANFILES += proto/wa_server_sync.pb-c.h proto/wa_server_sync.pb-c.c \
	proto/wa_sync_action.pb-c.h proto/wa_sync_action.pb-c.c
EXTRA_DIST += proto/wa_server_sync.proto proto/wa_sync_action.proto

# Noise handshake envelope + ClientPayload (waWa6) and server cert chain
# (waCert) (noise engineer)
nodist_proto_libwaproto_a_SOURCES += proto/wa_handshake.pb-c.c proto/wa_handshake.pb-c.h \
	proto/wa_cert.pb-c.c proto/wa_cert.pb-c.h
BUILT_SOURCES += proto/wa_handshake.pb-c.h proto/wa_handshake.pb-c.c \
	proto/wa_cert.pb-c.h proto/wa_cert.pb-c.c
CLEANFILES += proto/wa_handshake.pb-c.h proto/wa_handshake.pb-c.c \
	proto/wa_cert.pb-c.h proto/wa_cert.pb-c.c
EXTRA_DIST += proto/wa_handshake.proto proto/wa_cert.proto

# companion registration: DeviceProps (waCompanionReg) (noise engineer)
nodist_proto_libwaproto_a_SOURCES += proto/wa_companion_reg.pb-c.c proto/wa_companion_reg.pb-c.h
BUILT_SOURCES += proto/wa_companion_reg.pb-c.h proto/wa_companion_reg.pb-c.c
CLEANFILES += proto/wa_companion_reg.pb-c.h proto/wa_companion_reg.pb-c.c
EXTRA_DIST += proto/wa_companion_reg.proto

# WhatsApp E2E message content (waE2E), companion identity (waAdv) and
# history sync (waHistorySync, imports wa_e2e.proto) (wire engineer)
nodist_proto_libwaproto_a_SOURCES += proto/wa_e2e.pb-c.c proto/wa_e2e.pb-c.h \
	proto/wa_adv.pb-c.c proto/wa_adv.pb-c.h \
	proto/wa_history.pb-c.c proto/wa_history.pb-c.h
BUILT_SOURCES += proto/wa_e2e.pb-c.h proto/wa_e2e.pb-c.c \
	proto/wa_adv.pb-c.h proto/wa_adv.pb-c.c \
	proto/wa_history.pb-c.h proto/wa_history.pb-c.c
CLEANFILES += proto/wa_e2e.pb-c.h proto/wa_e2e.pb-c.c \
	proto/wa_adv.pb-c.h proto/wa_adv.pb-c.c \
	proto/wa_history.pb-c.h proto/wa_history.pb-c.c
EXTRA_DIST += proto/wa_e2e.proto proto/wa_adv.proto proto/wa_history.proto
proto/wa_history.pb-c.c proto/wa_history.pb-c.h: proto/wa_e2e.pb-c.h
