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

# frame parser and Noise handshake / cert chain / handshake protobufs (noise engineer)
check_PROGRAMS += tests/fuzz/fuzz_frame tests/fuzz/fuzz_handshake
TESTS += tests/fuzz/fuzz_frame tests/fuzz/fuzz_handshake
tests_fuzz_fuzz_frame_SOURCES = tests/fuzz/fuzz_frame.c tests/fuzz/driver.c
tests_fuzz_fuzz_frame_LDADD = $(WA_LIBWA_LIBS)
tests_fuzz_fuzz_handshake_SOURCES = tests/fuzz/fuzz_handshake.c tests/fuzz/driver.c
tests_fuzz_fuzz_handshake_CFLAGS = $(AM_CFLAGS) $(PROTOBUFC_CFLAGS)
tests_fuzz_fuzz_handshake_LDADD = $(WA_LIBWA_LIBS)
EXTRA_DIST += tests/fuzz/corpus/frame tests/fuzz/corpus/handshake

# JID parser and user-input validator (wire engineer)
check_PROGRAMS += tests/fuzz/fuzz_jid
TESTS += tests/fuzz/fuzz_jid
tests_fuzz_fuzz_jid_SOURCES = tests/fuzz/fuzz_jid.c tests/fuzz/driver.c
tests_fuzz_fuzz_jid_LDADD = $(WA_LIBWA_LIBS)
EXTRA_DIST += tests/fuzz/corpus/jid

# wa/signal: pkmsg/msg/skmsg/SKDM deserialisers and decrypt paths, bundle,
# padding and address parsers (signal engineer)
check_PROGRAMS += tests/fuzz/fuzz_signal_msg
TESTS += tests/fuzz/fuzz_signal_msg
tests_fuzz_fuzz_signal_msg_SOURCES = tests/fuzz/fuzz_signal_msg.c tests/fuzz/driver.c
tests_fuzz_fuzz_signal_msg_CFLAGS = $(AM_CFLAGS) $(SIGNAL_CFLAGS)
tests_fuzz_fuzz_signal_msg_LDADD = $(WA_LIBWA_LIBS) -lpthread
EXTRA_DIST += tests/fuzz/corpus/signal_msg

# media decryption and app-state decoders / patch apply (mediacrypto engineer)
check_PROGRAMS += tests/fuzz/fuzz_media tests/fuzz/fuzz_appstate
TESTS += tests/fuzz/fuzz_media tests/fuzz/fuzz_appstate
tests_fuzz_fuzz_media_SOURCES = tests/fuzz/fuzz_media.c tests/fuzz/driver.c
tests_fuzz_fuzz_media_LDADD = $(WA_LIBWA_LIBS)
tests_fuzz_fuzz_appstate_SOURCES = tests/fuzz/fuzz_appstate.c tests/fuzz/driver.c
tests_fuzz_fuzz_appstate_CFLAGS = $(AM_CFLAGS) $(PROTOBUFC_CFLAGS)
tests_fuzz_fuzz_appstate_LDADD = $(WA_LIBWA_LIBS)
EXTRA_DIST += tests/fuzz/corpus/media tests/fuzz/corpus/appstate

# REST workers: request-path matching and the INI config parser (lead)
check_PROGRAMS += tests/fuzz/fuzz_router tests/fuzz/fuzz_config
TESTS += tests/fuzz/fuzz_router tests/fuzz/fuzz_config
tests_fuzz_fuzz_router_SOURCES = tests/fuzz/fuzz_router.c tests/fuzz/driver.c fcgi/router.c fcgi/routes.c
tests_fuzz_fuzz_router_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_router_LDADD = common/libwacommon.a $(JANSSON_LIBS) $(CRYPTO_LIBS)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/driver.c
tests_fuzz_fuzz_config_LDADD = common/libwacommon.a $(CRYPTO_LIBS)
EXTRA_DIST += tests/fuzz/corpus/router tests/fuzz/corpus/config

# multipart/form-data parser and boundary extraction (multipart engineer)
check_PROGRAMS += tests/fuzz/fuzz_multipart
TESTS += tests/fuzz/fuzz_multipart
tests_fuzz_fuzz_multipart_SOURCES = tests/fuzz/fuzz_multipart.c tests/fuzz/driver.c \
	fcgi/multipart.c fcgi/multipart.h
EXTRA_DIST += tests/fuzz/corpus/multipart

# waE2E.Message / HistorySync / ADV unpack + re-pack (wire engineer)
check_PROGRAMS += tests/fuzz/fuzz_proto_message
TESTS += tests/fuzz/fuzz_proto_message
tests_fuzz_fuzz_proto_message_SOURCES = tests/fuzz/fuzz_proto_message.c tests/fuzz/driver.c
tests_fuzz_fuzz_proto_message_CFLAGS = $(AM_CFLAGS) $(PROTOBUFC_CFLAGS)
tests_fuzz_fuzz_proto_message_LDADD = $(WA_LIBWA_LIBS)
EXTRA_DIST += tests/fuzz/corpus/proto_message

# wa-sim: ClientPayload decision, stanza dispatch, pair-device-sign and QR
# scan on an in-memory world, without sockets (simcore engineer)
check_PROGRAMS += tests/fuzz/fuzz_sim_payload
TESTS += tests/fuzz/fuzz_sim_payload
tests_fuzz_fuzz_sim_payload_SOURCES = tests/fuzz/fuzz_sim_payload.c tests/fuzz/driver.c $(WA_SIM_CORE)
tests_fuzz_fuzz_sim_payload_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_sim_payload_LDADD = $(WA_LIBWA_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += tests/fuzz/corpus/sim_payload

# urlencoded query strings and form bodies (lead)
check_PROGRAMS += tests/fuzz/fuzz_form
TESTS += tests/fuzz/fuzz_form
tests_fuzz_fuzz_form_SOURCES = tests/fuzz/fuzz_form.c tests/fuzz/driver.c
tests_fuzz_fuzz_form_LDADD = common/libwacommon.a $(CRYPTO_LIBS)
EXTRA_DIST += tests/fuzz/corpus/form

# wa_noise_conn as an event loop drives it: server and client fed hostile
# streams in split reads, output drained in partial writes (noise engineer)
check_PROGRAMS += tests/fuzz/fuzz_noise_conn
TESTS += tests/fuzz/fuzz_noise_conn
tests_fuzz_fuzz_noise_conn_SOURCES = tests/fuzz/fuzz_noise_conn.c tests/fuzz/driver.c
tests_fuzz_fuzz_noise_conn_LDADD = $(WA_LIBWA_LIBS)
EXTRA_DIST += tests/fuzz/corpus/noise_conn

# a history-sync chunk's plaintext: zlib, then HistorySync (engine)
check_PROGRAMS += tests/fuzz/fuzz_history
TESTS += tests/fuzz/fuzz_history
tests_fuzz_fuzz_history_SOURCES = tests/fuzz/fuzz_history.c tests/fuzz/driver.c engine/store/history_decode.c
tests_fuzz_fuzz_history_CFLAGS = $(AM_CFLAGS) $(PROTOBUFC_CFLAGS) $(ZLIB_CFLAGS)
tests_fuzz_fuzz_history_LDADD = $(WA_LIBWA_LIBS) $(ZLIB_LIBS)
EXTRA_DIST += tests/fuzz/corpus/history

# a received message's plaintext: bounded unpack, content extraction and
# the event payload (engine/store/msgs.c; robustness tests)
check_PROGRAMS += tests/fuzz/fuzz_msgs_content
TESTS += tests/fuzz/fuzz_msgs_content
tests_fuzz_fuzz_msgs_content_SOURCES = tests/fuzz/fuzz_msgs_content.c tests/fuzz/driver.c engine/store/msgs.c \
	engine/store/msgs_held.c
tests_fuzz_fuzz_msgs_content_CFLAGS = $(AM_CFLAGS) $(PROTOBUFC_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_msgs_content_LDADD = $(WA_LIBWA_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += tests/fuzz/corpus/msgs_content

# an API send's arguments, a vCard, a stored message's protobuf
# (engine/store/outmsg.c: parse, vCard check, from_raw and the answer)
check_PROGRAMS += tests/fuzz/fuzz_outmsg
TESTS += tests/fuzz/fuzz_outmsg
tests_fuzz_fuzz_outmsg_SOURCES = tests/fuzz/fuzz_outmsg.c tests/fuzz/driver.c engine/store/outmsg.c \
	engine/store/outmedia.c engine/media_fmt.c
tests_fuzz_fuzz_outmsg_CFLAGS = $(AM_CFLAGS) $(PROTOBUFC_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_outmsg_LDADD = $(WA_LIBWA_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += tests/fuzz/corpus/outmsg

# URL check and address classes of common/wa_url (fetch)
check_PROGRAMS += tests/fuzz/fuzz_url
TESTS += tests/fuzz/fuzz_url
tests_fuzz_fuzz_url_SOURCES = tests/fuzz/fuzz_url.c tests/fuzz/driver.c
tests_fuzz_fuzz_url_LDADD = common/libwacommon.a $(CRYPTO_LIBS)
EXTRA_DIST += tests/fuzz/corpus/url

# engine/video: FFmpeg behind the format / protocol whitelist, frame
# sampling and scaling, the waveform (video engineer)
check_PROGRAMS += tests/fuzz/fuzz_video
TESTS += tests/fuzz/fuzz_video
tests_fuzz_fuzz_video_SOURCES = tests/fuzz/fuzz_video.c tests/fuzz/driver.c engine/video.c engine/video.h
tests_fuzz_fuzz_video_CFLAGS = $(AM_CFLAGS) $(AV_CFLAGS)
tests_fuzz_fuzz_video_LDADD = $(AV_LIBS) -lm -lpthread

# engine/webp_anim: animated WebP by libwebpdemux behind the canvas
# bounds, frame sampling and scaling (gifwebp)
check_PROGRAMS += tests/fuzz/fuzz_webp_anim
TESTS += tests/fuzz/fuzz_webp_anim
tests_fuzz_fuzz_webp_anim_SOURCES = tests/fuzz/fuzz_webp_anim.c tests/fuzz/driver.c engine/webp_anim.c engine/webp_anim.h
tests_fuzz_fuzz_webp_anim_CFLAGS = $(AM_CFLAGS) $(AV_CFLAGS) $(WEBPDEMUX_CFLAGS)
tests_fuzz_fuzz_webp_anim_LDADD = $(WEBPDEMUX_LIBS) $(AV_LIBS) -lm -lpthread
