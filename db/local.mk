# db/: MariaDB migrations and their runner (owner: db).
#
# wa-akg-migrate applies every db/migrations/*.sql not yet recorded in
# schema_migrations, in name order; see db/migrate.c and docs/database.md.
bin_PROGRAMS += wa-akg-migrate
wa_akg_migrate_SOURCES = db/migrate.c
wa_akg_migrate_CFLAGS = $(AM_CFLAGS) $(MARIADB_CFLAGS)
wa_akg_migrate_LDADD = common/libwacommon.a $(MARIADB_LIBS) $(CRYPTO_LIBS)

# Installed to $(pkgdatadir)/migrations, where wa-akg-migrate looks by default.
# Every migration file must be listed here to be installed and distributed.
migrationsdir = $(pkgdatadir)/migrations
dist_migrations_DATA = \
	db/migrations/0001_core.sql

# tests/db/test_migrate.sh: runs against a real MariaDB when
# WA_AKG_TEST_DB_SOCKET is set (unix socket, user root, no password) or, with
# WA_AKG_TEST_DB_AUTO=1, against a private throwaway server; else a TAP skip.
TESTS += tests/db/test_migrate.sh
EXTRA_DIST += tests/db/test_migrate.sh tests/db/sql_literals.py docs/database.md

# Signal key stores of engine/store/sigstore_db.c (signal engineer)
dist_migrations_DATA += db/migrations/0002_signal_store.sql

# what the engine keeps of a linked device (engine/store/creds.c)
dist_migrations_DATA += db/migrations/0003_engine.sql

# app-state sync keys shared by the phone (engine/sess_recv.c)
dist_migrations_DATA += db/migrations/0004_app_state_keys.sql

# the JIDs a message mentions (engine/store/msgs.c)
dist_migrations_DATA += db/migrations/0005_message_mentions.sql

# a session's lease is its engine's (engine/registry.c)
dist_migrations_DATA += db/migrations/0006_engine_lease.sql

# edits and revokes received (engine/store/msgs.c)
dist_migrations_DATA += db/migrations/0007_message_updates.sql

# failed sign-ins and registrations per client address (fcgi/ratelimit.c)
dist_migrations_DATA += db/migrations/0008_rate_limits.sql

# scheduled_messages as the outbox of auto-replies (engine/store/autoreply.c),
# broadcasts and spam as resumable jobs (engine/sched.c)
dist_migrations_DATA += db/migrations/0009_automation.sql
dist_migrations_DATA += db/migrations/0010_broadcast_jobs.sql

# every message kind: meta, reactions, poll votes (engine/store/msgs.c)
dist_migrations_DATA += db/migrations/0011_message_kinds.sql
# the group notifications stored, so a redelivered one publishes nothing twice (engine/sess_group.c)
dist_migrations_DATA += db/migrations/0012_group_notifications.sql

# call offers received, rejected by rejectCalls (engine/sess_call.c)
dist_migrations_DATA += db/migrations/0013_calls.sql

# the per-session counts the session list shows, kept by triggers (fcgi/h_sessions.c)
dist_migrations_DATA += db/migrations/0014_session_counts.sql

# an index for pruning the events outbox (engine/hooks/prune.c)
dist_migrations_DATA += db/migrations/0015_hooks_prune.sql

# auth_epoch bumped by triggers and the workers' leases on it (fcgi/authcache.c)
dist_migrations_DATA += db/migrations/0016_auth_cache.sql

# app-state collections: versions, LT-hashes, value MACs (engine/store/appsync.c)
dist_migrations_DATA += db/migrations/0017_app_state.sql

# label changes WhatsApp has not been told of yet (fcgi/h_labels.c -> engine/sess_appstate.c)
dist_migrations_DATA += db/migrations/0018_label_sync.sql
dist_migrations_DATA += db/migrations/0019_session_cfg_ver.sql
dist_migrations_DATA += db/migrations/0020_lid_map.sql

# where an engine sends wa-akg-hooks the cue to read the outbox (engine/events.h)
dist_migrations_DATA += db/migrations/0021_engine_wake_url.sql
