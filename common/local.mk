# common/: configuration, logging and byte helpers shared by every program.
noinst_LIBRARIES += common/libwacommon.a
common_libwacommon_a_SOURCES = \
	common/wa_config.c common/wa_config.h common/wa_config_keys.c \
	common/wa_cron.c common/wa_cron.h \
	common/wa_err.c common/wa_err.h \
	common/wa_log.c common/wa_log.h \
	common/wa_url.c common/wa_url.h \
	common/wa_util.c common/wa_util.h
common_libwacommon_a_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
EXTRA_DIST += docs/errors.md

bin_PROGRAMS += wa-akg-config
wa_akg_config_SOURCES = common/config_tool.c
wa_akg_config_LDADD = common/libwacommon.a $(CRYPTO_LIBS)

# common/wa_fetch: fetching a client's URL (libcurl); its own library so that
# only the programs that fetch link libcurl. Link with $(WA_FETCH_LIBS).
noinst_LIBRARIES += common/libwafetch.a
common_libwafetch_a_SOURCES = common/wa_fetch.c common/wa_fetch.h
common_libwafetch_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS)
WA_FETCH_LIBS = common/libwafetch.a common/libwacommon.a $(CURL_LIBS) $(CRYPTO_LIBS)

# common/wa_match: auto-reply keyword matching (PCRE2); its own library so
# that only the workers and the engine link PCRE2. Link with $(WA_MATCH_LIBS).
noinst_LIBRARIES += common/libwamatch.a
common_libwamatch_a_SOURCES = common/wa_match.c common/wa_match.h
common_libwamatch_a_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS)
WA_MATCH_LIBS = common/libwamatch.a $(PCRE2_LIBS)
EXTRA_DIST += docs/fetch.md docs/webhooks.md
