# tests/unit/: C unit tests, one TAP program each (see tap.h).
# Each part appends its own block: check_PROGRAMS += ..., TESTS += ...

check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c tests/unit/tap.h
tests_unit_test_config_LDADD = common/libwacommon.a $(CRYPTO_LIBS)

# wa/crypto KATs (noise engineer)
check_PROGRAMS += tests/unit/test_crypto
TESTS += tests/unit/test_crypto
tests_unit_test_crypto_SOURCES = tests/unit/test_crypto.c tests/unit/tap.h
tests_unit_test_crypto_CFLAGS = $(AM_CFLAGS) $(SIGNAL_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_crypto_LDADD = $(WA_LIBWA_LIBS)

# binary node codec, tokens, node tree (wire engineer)
check_PROGRAMS += tests/unit/test_binary
TESTS += tests/unit/test_binary
tests_unit_test_binary_SOURCES = tests/unit/test_binary.c tests/unit/tap.h
tests_unit_test_binary_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_binary_LDADD = $(WA_LIBWA_LIBS) $(JANSSON_LIBS)
check_PROGRAMS += tests/unit/test_jid tests/unit/test_msgid
TESTS += tests/unit/test_jid tests/unit/test_msgid
tests_unit_test_jid_SOURCES = tests/unit/test_jid.c tests/unit/tap.h
tests_unit_test_jid_LDADD = $(WA_LIBWA_LIBS)
tests_unit_test_msgid_SOURCES = tests/unit/test_msgid.c tests/unit/tap.h
tests_unit_test_msgid_LDADD = $(WA_LIBWA_LIBS)
check_PROGRAMS += tests/unit/test_proto
TESTS += tests/unit/test_proto
tests_unit_test_proto_SOURCES = tests/unit/test_proto.c tests/unit/tap.h
tests_unit_test_proto_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUFC_CFLAGS)
tests_unit_test_proto_LDADD = $(WA_LIBWA_LIBS) $(JANSSON_LIBS)

# media crypto and app state / poll vote KATs (mediacrypto engineer)
check_PROGRAMS += tests/unit/test_mediacrypto tests/unit/test_appstate
TESTS += tests/unit/test_mediacrypto tests/unit/test_appstate
tests_unit_test_mediacrypto_SOURCES = tests/unit/test_mediacrypto.c tests/unit/tap.h
tests_unit_test_mediacrypto_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS) $(PROTOBUFC_CFLAGS)
tests_unit_test_mediacrypto_LDADD = $(WA_LIBWA_LIBS) $(JANSSON_LIBS)
tests_unit_test_appstate_SOURCES = tests/unit/test_appstate.c tests/unit/tap.h
tests_unit_test_appstate_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS) $(PROTOBUFC_CFLAGS)
tests_unit_test_appstate_LDADD = $(WA_LIBWA_LIBS) $(JANSSON_LIBS)

# Noise handshake (vectors + live), framing, certificate chain (noise engineer)
check_PROGRAMS += tests/unit/test_noise tests/unit/test_cert
TESTS += tests/unit/test_noise tests/unit/test_cert
tests_unit_test_noise_SOURCES = tests/unit/test_noise.c tests/unit/noise_vectors.h tests/unit/tap.h
tests_unit_test_noise_CFLAGS = $(AM_CFLAGS) $(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_noise_LDADD = $(WA_LIBWA_LIBS)
tests_unit_test_cert_SOURCES = tests/unit/test_cert.c tests/unit/noise_vectors.h tests/unit/tap.h
tests_unit_test_cert_CFLAGS = $(AM_CFLAGS) $(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_cert_LDADD = $(WA_LIBWA_LIBS)

# wa/signal + wa/sigstore (signal engineer): in-memory parties, and the same
# exchange on MariaDB (skips unless WA_AKG_TEST_DB_SOCKET is set)
check_PROGRAMS += tests/unit/test_signal tests/unit/test_sigstore_db
TESTS += tests/unit/test_signal tests/unit/test_sigstore_db
tests_unit_test_signal_SOURCES = tests/unit/test_signal.c tests/unit/tap.h
tests_unit_test_signal_CFLAGS = $(AM_CFLAGS) $(SIGNAL_CFLAGS)
tests_unit_test_signal_LDADD = $(WA_LIBWA_LIBS) -lpthread
tests_unit_test_sigstore_db_SOURCES = tests/unit/test_sigstore_db.c tests/unit/tap.h
tests_unit_test_sigstore_db_CFLAGS = $(AM_CFLAGS) $(SIGNAL_CFLAGS) $(MARIADB_CFLAGS)
tests_unit_test_sigstore_db_LDADD = $(WA_STORE_LIBS) -lpthread
check_PROGRAMS += tests/unit/test_signal_node
TESTS += tests/unit/test_signal_node
tests_unit_test_signal_node_SOURCES = tests/unit/test_signal_node.c tests/unit/tap.h
tests_unit_test_signal_node_CFLAGS = $(AM_CFLAGS) $(SIGNAL_CFLAGS)
tests_unit_test_signal_node_LDADD = $(WA_LIBWA_LIBS) -lpthread

# fcgi: router against routes.tsv, password and key hashing
check_PROGRAMS += tests/unit/test_router tests/unit/test_auth
TESTS += tests/unit/test_router tests/unit/test_auth
tests_unit_test_router_SOURCES = tests/unit/test_router.c
tests_unit_test_router_CFLAGS = $(AM_CFLAGS) $(fcgi_libwafcgi_a_CFLAGS)
tests_unit_test_router_LDADD = $(WA_FCGI_LIBS)
tests_unit_test_auth_SOURCES = tests/unit/test_auth.c
tests_unit_test_auth_CFLAGS = $(AM_CFLAGS) $(fcgi_libwafcgi_a_CFLAGS)
tests_unit_test_auth_LDADD = $(WA_FCGI_LIBS)

# ClientPayload / DeviceProps (noise engineer)
check_PROGRAMS += tests/unit/test_companion_reg
TESTS += tests/unit/test_companion_reg
tests_unit_test_companion_reg_SOURCES = tests/unit/test_companion_reg.c tests/unit/tap.h
tests_unit_test_companion_reg_CFLAGS = $(AM_CFLAGS) $(PROTOBUFC_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_companion_reg_LDADD = $(WA_LIBWA_LIBS)

# multipart/form-data parser (multipart engineer); builds fcgi/multipart.c
# directly so the test needs none of the worker's libraries
check_PROGRAMS += tests/unit/test_multipart
TESTS += tests/unit/test_multipart
tests_unit_test_multipart_SOURCES = tests/unit/test_multipart.c tests/unit/tap.h \
	fcgi/multipart.c fcgi/multipart.h

# link-code pairing crypto and phash KATs (mediacrypto engineer)
check_PROGRAMS += tests/unit/test_linkcode
TESTS += tests/unit/test_linkcode
tests_unit_test_linkcode_SOURCES = tests/unit/test_linkcode.c tests/unit/tap.h
tests_unit_test_linkcode_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_linkcode_LDADD = $(WA_LIBWA_LIBS) $(JANSSON_LIBS)

# raw-stream Noise connection (noise engineer)
check_PROGRAMS += tests/unit/test_noise_conn
TESTS += tests/unit/test_noise_conn
tests_unit_test_noise_conn_SOURCES = tests/unit/test_noise_conn.c tests/unit/tap.h
tests_unit_test_noise_conn_LDADD = $(WA_LIBWA_LIBS)

# fcgi stored-data handler helpers: ids, ISO-8601, cron, row reshaping (handlers engineer)
check_PROGRAMS += tests/unit/test_h_util
TESTS += tests/unit/test_h_util
tests_unit_test_h_util_SOURCES = tests/unit/test_h_util.c tests/unit/tap.h
tests_unit_test_h_util_CFLAGS = $(AM_CFLAGS) $(fcgi_libwafcgi_a_CFLAGS)
tests_unit_test_h_util_LDADD = $(WA_FCGI_LIBS)

# common error vocabulary and how the wa/ module codes fold into it (errors engineer)
check_PROGRAMS += tests/unit/test_err
TESTS += tests/unit/test_err
tests_unit_test_err_SOURCES = tests/unit/test_err.c tests/unit/tap.h
tests_unit_test_err_CFLAGS = $(AM_CFLAGS) $(PROTOBUFC_CFLAGS)
tests_unit_test_err_LDADD = $(WA_LIBWA_LIBS)

# fcgi/db.c's lost-connection rule against a real MariaDB: no half-committed
# transaction, no write run twice, reads retried, a broken handler
# transaction answers 503 (db layer), group commit and the engine's dbpool over
# it; skips unless WA_AKG_TEST_DB_SOCKET is set
check_PROGRAMS += tests/db/test_db_txn
TESTS += tests/db/test_db_txn
tests_db_test_db_txn_SOURCES = tests/db/test_db_txn.c tests/unit/tap.h engine/dbpool.c engine/inbox.c
tests_db_test_db_txn_CFLAGS = $(AM_CFLAGS) $(fcgi_libwafcgi_a_CFLAGS) $(LWS_CFLAGS)
tests_db_test_db_txn_LDADD = engine/store/libwastore.a $(WA_FCGI_LIBS) $(LWS_LIBS) -lpthread

# the engine's session caches and its outgoing message object
check_PROGRAMS += tests/unit/test_cache tests/unit/test_outmsg
TESTS += tests/unit/test_cache tests/unit/test_outmsg
tests_unit_test_cache_SOURCES = tests/unit/test_cache.c tests/unit/tap.h engine/cache.c engine/cache.h
tests_unit_test_outmsg_SOURCES = tests/unit/test_outmsg.c tests/unit/tap.h fcgi/db.c fcgi/db.h
tests_unit_test_outmsg_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUFC_CFLAGS) $(MARIADB_CFLAGS)
tests_unit_test_outmsg_LDADD = $(WA_STORE_LIBS) $(JANSSON_LIBS)

# common/wa_picture.c: profile and group pictures made with GraphicsMagick
check_PROGRAMS += tests/unit/test_picture
TESTS += tests/unit/test_picture
tests_unit_test_picture_SOURCES = tests/unit/test_picture.c tests/unit/tap.h
tests_unit_test_picture_LDADD = $(WA_PICTURE_LIBS)

# common/wa_url: address classes, fetch policy, URL syntax (fetch)
check_PROGRAMS += tests/unit/test_url
TESTS += tests/unit/test_url
tests_unit_test_url_SOURCES = tests/unit/test_url.c tests/unit/tap.h
tests_unit_test_url_LDADD = common/libwacommon.a $(CRYPTO_LIBS)

# common/wa_fetch against local HTTP servers on 127.0.0.1 and 127.0.0.2 (fetch)
check_PROGRAMS += tests/unit/test_fetch
TESTS += tests/unit/test_fetch
tests_unit_test_fetch_SOURCES = tests/unit/test_fetch.c tests/unit/tap.h
tests_unit_test_fetch_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_fetch_LDADD = $(WA_FETCH_LIBS)
EXTRA_DIST += tests/unit/fetch_server.py

# engine/wheel.c on a real lws context over libev, as the engine runs it
check_PROGRAMS += tests/unit/test_wheel
TESTS += tests/unit/test_wheel
tests_unit_test_wheel_SOURCES = tests/unit/test_wheel.c tests/unit/tap.h engine/wheel.c engine/wheel.h
tests_unit_test_wheel_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS)
tests_unit_test_wheel_LDADD = $(LWS_LIBS) $(EV_LIBS)

# common/wa_cron: parsing and the next matching minute (recurring schedules)
check_PROGRAMS += tests/unit/test_cron
TESTS += tests/unit/test_cron
tests_unit_test_cron_SOURCES = tests/unit/test_cron.c tests/unit/tap.h
tests_unit_test_cron_LDADD = common/libwacommon.a $(CRYPTO_LIBS)

# common/wa_match: auto-reply keyword matching, and its limit on hostile patterns
check_PROGRAMS += tests/unit/test_match
TESTS += tests/unit/test_match
tests_unit_test_match_SOURCES = tests/unit/test_match.c tests/unit/tap.h
tests_unit_test_match_LDADD = $(WA_MATCH_LIBS)
# engine/group_meta: group elements and w:gp2 notifications as the API's JSON
check_PROGRAMS += tests/unit/test_group_meta
TESTS += tests/unit/test_group_meta
tests_unit_test_group_meta_SOURCES = tests/unit/test_group_meta.c tests/unit/tap.h engine/group_meta.c \
	engine/group_meta.h
tests_unit_test_group_meta_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_group_meta_LDADD = $(WA_LIBWA_LIBS) $(JANSSON_LIBS)

# engine/image: pictures converted by GraphicsMagick
check_PROGRAMS += tests/unit/test_image
TESTS += tests/unit/test_image
tests_unit_test_image_SOURCES = tests/unit/test_image.c tests/unit/tap.h engine/image.c engine/image.h
tests_unit_test_image_CFLAGS = $(AM_CFLAGS) $(GM_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_image_LDADD = $(WA_FETCH_LIBS) $(WA_PICTURE_LIBS)

# fcgi/jbuf.c: JSON written straight from query rows, as jansson would
check_PROGRAMS += tests/unit/test_jbuf
TESTS += tests/unit/test_jbuf
tests_unit_test_jbuf_SOURCES = tests/unit/test_jbuf.c tests/unit/tap.h
tests_unit_test_jbuf_CFLAGS = $(AM_CFLAGS) $(fcgi_libwafcgi_a_CFLAGS)
tests_unit_test_jbuf_LDADD = $(WA_FCGI_LIBS)

# fcgi/authcache.c: the credential cache without a database (leases, epochs, bounds, threads)
check_PROGRAMS += tests/unit/test_authcache
TESTS += tests/unit/test_authcache
tests_unit_test_authcache_SOURCES = tests/unit/test_authcache.c tests/unit/tap.h
tests_unit_test_authcache_CFLAGS = $(AM_CFLAGS) $(fcgi_libwafcgi_a_CFLAGS)
tests_unit_test_authcache_LDADD = $(WA_FCGI_LIBS)

# engine/media: kinds, data: URLs, base64, sticker EXIF / WebP, PDF pages,
# Ogg durations, GraphicsMagick's sticker and thumbnail, the media threads
check_PROGRAMS += tests/unit/test_media
TESTS += tests/unit/test_media
tests_unit_test_media_SOURCES = tests/unit/test_media.c tests/unit/tap.h engine/inbox.c engine/inbox.h
tests_unit_test_media_CFLAGS = $(AM_CFLAGS) $(GM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_media_LDADD = $(WA_MEDIA_LIBS) $(WA_LIBWA_LIBS) $(LWS_LIBS) $(JANSSON_LIBS) -lpthread

# engine/store/outmedia: the message object's media parts, the upload forms,
# the media message built from an upload's answer
check_PROGRAMS += tests/unit/test_outmedia
TESTS += tests/unit/test_outmedia
tests_unit_test_outmedia_SOURCES = tests/unit/test_outmedia.c tests/unit/tap.h fcgi/db.c fcgi/db.h
tests_unit_test_outmedia_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUFC_CFLAGS) $(MARIADB_CFLAGS)
tests_unit_test_outmedia_LDADD = $(WA_STORE_LIBS) $(JANSSON_LIBS)

# engine/video (FFmpeg) and media_vid (thumbnail, animated sticker,
# waveform) on the fixtures of tests/fixtures/media
check_PROGRAMS += tests/unit/test_video
TESTS += tests/unit/test_video
tests_unit_test_video_SOURCES = tests/unit/test_video.c tests/unit/tap.h
tests_unit_test_video_CFLAGS = $(AM_CFLAGS) $(GM_CFLAGS) $(AV_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_video_LDADD = $(WA_MEDIA_LIBS) $(WA_LIBWA_LIBS) $(JANSSON_LIBS) -lpthread
EXTRA_DIST += tests/fixtures/media
