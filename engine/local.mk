# engine/: wa-akg-engine, the protocol engine daemon, and its storage layer.
#
# engine/store/: MariaDB-backed stores the engine keeps its WhatsApp state in.
# The protocol library (wa/) stays pure; everything that needs the database
# lives here and links it.
noinst_LIBRARIES += engine/store/libwastore.a
engine_store_libwastore_a_SOURCES = engine/store/sigstore_db.c engine/store/sigstore_db.h
engine_store_libwastore_a_CFLAGS = $(AM_CFLAGS) $(SIGNAL_CFLAGS) $(MARIADB_CFLAGS)
# What links the MariaDB stores (after WA_LIBWA_LIBS' objects, before its libraries).
WA_STORE_LIBS = engine/store/libwastore.a $(WA_LIBWA_LIBS) $(MARIADB_LIBS)
