# common/: configuration, logging and byte helpers shared by every program.
noinst_LIBRARIES += common/libwacommon.a
common_libwacommon_a_SOURCES = \
	common/wa_config.c common/wa_config.h common/wa_config_keys.c \
	common/wa_err.c common/wa_err.h \
	common/wa_log.c common/wa_log.h \
	common/wa_url.c common/wa_url.h \
	common/wa_util.c common/wa_util.h
common_libwacommon_a_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
EXTRA_DIST += docs/errors.md

bin_PROGRAMS += wa-akg-config
wa_akg_config_SOURCES = common/config_tool.c
wa_akg_config_LDADD = common/libwacommon.a $(CRYPTO_LIBS)

