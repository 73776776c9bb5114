/* wa_config: the one configuration of every WA-AKG process.
 *
 * Source order, later wins: built-in default < file < environment.
 * The file is INI: "[section]" lines, "key = value" lines, '#' or ';'
 * comments. Key "name" in section "[db]" is "db.name"; its environment
 * variable is WA_AKG_DB_NAME (upper case, '.' -> '_'). Only the keys in
 * wa_config_keys[] exist: an unknown key in the file is an error that names
 * the file and line, so a typo never silently falls back to a default.
 *
 * Ownership: wa_config_load() returns a heap object the caller frees with
 * wa_config_free(); strings returned by the getters live as long as it.
 * Threading: read-only after load, safe to share between threads. */
#ifndef WA_CONFIG_H
#define WA_CONFIG_H

#include <stddef.h>

struct wa_config_key {
	const char *key;     /* "section.name" */
	const char *def;     /* default value, "" when empty */
	const char *doc;     /* one-paragraph description for the reference */
};

/* NULL-terminated table of every key, in documentation order. */
extern const struct wa_config_key wa_config_keys[];

struct wa_config;

#define WA_CONFIG_DEFAULT_PATH "/etc/wa-akg/wa-akg.conf"

/* Load `path`; NULL means $WA_AKG_CONFIG, else WA_CONFIG_DEFAULT_PATH, and a
 * missing default file is not an error (defaults and environment apply).
 * An explicitly named file that cannot be read is an error.
 * Returns 0 and sets *out, or -1 with a message in err. */
int wa_config_load(struct wa_config **out, const char *path, char *err, size_t errlen);

/* Parse config text held in memory (used by tests and fuzzing); `origin`
 * names it in error messages. Environment overrides still apply. */
int wa_config_parse(struct wa_config **out, const char *text, size_t len,
		    const char *origin, char *err, size_t errlen);

void wa_config_free(struct wa_config *cfg);

/* Value of a known key; never NULL for a key in the table, NULL otherwise. */
const char *wa_config_get(const struct wa_config *cfg, const char *key);

/* Integer value; returns 0 and sets *out, or -1 if the value is not a
 * decimal integer within [min, max] (err says which key and why). */
int wa_config_get_int(const struct wa_config *cfg, const char *key, long min,
		      long max, long *out, char *err, size_t errlen);

/* Size value with optional k/m/g suffix (powers of 1024). */
int wa_config_get_size(const struct wa_config *cfg, const char *key,
		       unsigned long long *out, char *err, size_t errlen);

/* Name of the environment variable for `key` into buf. */
void wa_config_env_name(const char *key, char *buf, size_t len);

#endif
