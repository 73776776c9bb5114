# fcgi/: the REST workers (wa-akg-fcgi) and the admin tool (wa-akg-admin).
noinst_LIBRARIES += fcgi/libwafcgi.a
fcgi_libwafcgi_a_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) $(JANSSON_CFLAGS) $(MARIADB_CFLAGS) \
	$(CRYPTO_CFLAGS) $(ARGON2_CFLAGS) $(QRENCODE_CFLAGS) $(ZLIB_CFLAGS) $(PROTOBUFC_CFLAGS)
fcgi_libwafcgi_a_SOURCES = \
	fcgi/app.h fcgi/handlers.h \
	fcgi/http.c fcgi/http.h \
	fcgi/router.c fcgi/router.h fcgi/routes.c \
	fcgi/db.c fcgi/db.h fcgi/jbuf.c fcgi/jbuf.h \
	fcgi/auth.c fcgi/auth.h fcgi/authcache.c fcgi/authcache.h fcgi/sesscache.c fcgi/sesscache.h \
	fcgi/validate.c fcgi/validate.h \
	fcgi/multipart.c fcgi/multipart.h \
	fcgi/engine_client.c fcgi/engine_client.h \
	fcgi/qrpng.c fcgi/qrpng.h \
	fcgi/ratelimit.c fcgi/ratelimit.h \
	fcgi/h_auth.c fcgi/h_sessions.c fcgi/h_engine.c fcgi/h_docs.c \
	fcgi/h_users.c fcgi/h_access.c fcgi/h_bot.c fcgi/h_autoreply.c fcgi/h_scheduler.c fcgi/h_broadcasts.c \
	fcgi/h_webhooks.c fcgi/h_labels.c fcgi/h_notifications.c fcgi/h_system.c fcgi/h_media.c \
	fcgi/h_store.c fcgi/h_profile.c

WA_FCGI_LIBS = fcgi/libwafcgi.a common/libwamatch.a $(PCRE2_LIBS) wa/libwa.a proto/libwaproto.a \
	common/libwafetch.a common/libwacommon.a \
	$(FCGI_LIBS) $(JANSSON_LIBS) $(MARIADB_LIBS) $(ARGON2_LIBS) $(QRENCODE_LIBS) \
	$(PROTOBUFC_LIBS) $(NNG_LIBS) $(CURL_LIBS) $(CRYPTO_LIBS) $(ZLIB_LIBS) $(SIGNAL_LIBS) $(WA_PICTURE_LIBS)

sbin_PROGRAMS += wa-akg-fcgi wa-akg-admin
wa_akg_fcgi_SOURCES = fcgi/main.c
wa_akg_fcgi_CFLAGS = $(fcgi_libwafcgi_a_CFLAGS)
wa_akg_fcgi_LDADD = $(WA_FCGI_LIBS)
wa_akg_admin_SOURCES = fcgi/admin.c
wa_akg_admin_CFLAGS = $(fcgi_libwafcgi_a_CFLAGS)
wa_akg_admin_LDADD = $(WA_FCGI_LIBS)

# handlers engineer: helpers shared by the stored-data handlers (h_users.c ... h_store.c)
fcgi_libwafcgi_a_SOURCES += fcgi/h_util.c fcgi/h_util.h
