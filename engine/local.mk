# engine/: wa-akg-engine, the protocol engine daemon, and its storage layer.
#
# engine/store/: MariaDB-backed stores the engine keeps its WhatsApp state in.
# The protocol library (wa/) stays pure; everything that needs the database
# lives here and links it.
noinst_LIBRARIES += engine/store/libwastore.a
engine_store_libwastore_a_SOURCES = engine/store/sigstore_db.c engine/store/sigstore_db.h \
	engine/store/creds.c engine/store/creds.h \
	engine/store/msgs.c engine/store/msgs.h engine/store/msgs_held.c engine/store/msgs_held.h \
	engine/store/reactions.c \
	engine/store/history.c engine/store/history.h engine/store/history_decode.c \
	engine/store/mediahost.c engine/store/mediahost.h \
	engine/store/appkeys.c engine/store/appkeys.h engine/store/appsync.c engine/store/appsync.h \
	engine/store/outmsg.c engine/store/outmsg.h engine/store/outmedia.c \
	engine/store/autoreply.c engine/store/autoreply.h engine/store/bot.c engine/store/bot.h \
	engine/store/groups.c engine/store/groups.h \
	engine/store/contacts.c engine/store/contacts.h \
	engine/store/lidmap.c engine/store/lidmap.h \
	engine/store/msgstatus.c engine/store/msgstatus.h
engine_store_libwastore_a_CFLAGS = $(AM_CFLAGS) $(SIGNAL_CFLAGS) $(MARIADB_CFLAGS) $(JANSSON_CFLAGS) \
	$(PROTOBUFC_CFLAGS) $(CURL_CFLAGS) $(ZLIB_CFLAGS)
# What links the MariaDB stores (after WA_LIBWA_LIBS' objects, before its libraries).
WA_STORE_LIBS = engine/store/libwastore.a engine/libwamedia.a $(WA_LIBWA_LIBS) $(MARIADB_LIBS) $(CURL_LIBS) $(ZLIB_LIBS)

# engine/media: the outgoing media pipeline (media threads, GraphicsMagick,
# libcurl upload); a library of its own so that tests link it alone.
noinst_LIBRARIES += engine/libwamedia.a
engine_libwamedia_a_SOURCES = engine/media.c engine/media.h engine/media_int.h \
	engine/media_fmt.c engine/media_img.c engine/media_vid.c engine/video.c engine/video.h \
	engine/webp_anim.c engine/webp_anim.h
engine_libwamedia_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(GM_CFLAGS) $(CRYPTO_CFLAGS) \
	$(AV_CFLAGS) $(WEBPMUX_CFLAGS) $(WEBPDEMUX_CFLAGS)
# FFmpeg (engine/video.c), libwebpmux (media_vid.c's animated stickers) and
# libwebpdemux (engine/webp_anim.c: animated WebP given as a sticker)
WA_VIDEO_LIBS = $(AV_LIBS) $(WEBPMUX_LIBS) $(WEBPDEMUX_LIBS) -lm
WA_MEDIA_LIBS = engine/libwamedia.a $(WA_FETCH_LIBS) $(WA_PICTURE_LIBS) $(WA_VIDEO_LIBS)

# wa-akg-engine: one event loop (libwebsockets on libev/epoll) owning every WhatsApp
# connection, nng command and event sockets, MariaDB on a thread pool.
# fcgi/db.c (prepared statements, the lost-connection rule) is shared with
# the workers: compiled here again, not copied.
# Installed in sbin beside wa-akg-fcgi; deploy/dev and deploy/test start
# $(builddir)/wa-akg-engine, the systemd unit the installed one.
sbin_PROGRAMS += wa-akg-engine
wa_akg_engine_SOURCES = engine/main.c engine/engine.h \
	engine/inbox.c engine/inbox.h \
	engine/wheel.c engine/wheel.h \
	engine/dbpool.c engine/dbpool.h \
	engine/cmd.c engine/cmd.h \
	engine/media_dl.c engine/media_dl.h \
	engine/bot_media.c engine/bot_media.h \
	engine/events.c engine/events.h \
	engine/registry.c engine/registry.h \
	engine/sched.c engine/sched.h \
	engine/session.c engine/session.h engine/session_int.h \
	engine/sess_pair.c engine/sess_login.c engine/sess_db.c engine/sess_recv.c \
	engine/sess_send.c engine/sess_media.c engine/sess_receipt.c engine/sess_notify.c engine/sess_bulk.c \
	engine/sess_appstate.c engine/sess_status.c engine/sess_group.c engine/sess_call.c \
	engine/group_meta.c engine/group_meta.h engine/image.c engine/image.h \
	engine/sess_chat.c engine/sess_chat.h engine/sess_profile.c \
	engine/conn.c engine/conn.h \
	engine/iq.c engine/iq.h \
	engine/cache.c engine/cache.h \
	engine/ops.c engine/ops.h \
	fcgi/db.c fcgi/db.h
wa_akg_engine_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS) $(MARIADB_CFLAGS) $(PROTOBUFC_CFLAGS) \
	$(SIGNAL_CFLAGS) $(GM_CFLAGS) $(CURL_CFLAGS)
wa_akg_engine_LDADD = $(WA_STORE_LIBS) engine/libwamedia.a $(WA_FETCH_LIBS) $(WA_MATCH_LIBS) $(LWS_LIBS) $(EV_LIBS) \
	$(JANSSON_LIBS) $(NNG_LIBS) $(WA_PICTURE_LIBS) $(WA_VIDEO_LIBS) -lpthread

# wa-akg-hooks: webhook delivery from events_outbox (engine/hooks/hooks.h).
# One thread: nng SUB to every engine as a wake-up, MariaDB through
# fcgi/db.c, libcurl for the POSTs, the address rule of common/wa_url.
sbin_PROGRAMS += wa-akg-hooks
wa_akg_hooks_SOURCES = engine/hooks/main.c engine/hooks/hooks.h \
	engine/hooks/fanout.c engine/hooks/deliver.c engine/hooks/prune.c \
	fcgi/db.c fcgi/db.h
wa_akg_hooks_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(MARIADB_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS)
wa_akg_hooks_LDADD = common/libwacommon.a $(MARIADB_LIBS) $(CURL_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS) \
	$(NNG_LIBS) -lpthread
