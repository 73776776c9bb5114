/* wa_config: INI file + environment configuration (see wa_config.h). */
#include "wa_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 4096

struct wa_config {
	size_t n;
	char **values; /* parallel to wa_config_keys[], each heap-owned */
};

static size_t key_count(void)
{
	size_t n = 0;

	while (wa_config_keys[n].key)
		n++;
	return n;
}

static long key_index(const char *key)
{
	for (size_t i = 0; wa_config_keys[i].key; i++)
		if (strcmp(wa_config_keys[i].key, key) == 0)
			return (long)i;
	return -1;
}

void wa_config_env_name(const char *key, char *buf, size_t len)
{
	size_t o = 0;

	o = (size_t)snprintf(buf, len, "WA_AKG_");
	for (const char *p = key; *p && o + 1 < len; p++)
		buf[o++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
	if (o < len)
		buf[o] = '\0';
}

void wa_config_free(struct wa_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++)
		free(cfg->values[i]);
	free(cfg->values);
	free(cfg);
}

static int set_value(struct wa_config *cfg, size_t idx, const char *v, size_t vlen)
{
	char *copy = strndup(v, vlen);

	if (!copy)
		return -1;
	free(cfg->values[idx]);
	cfg->values[idx] = copy;
	return 0;
}

static struct wa_config *config_new(void)
{
	struct wa_config *cfg = calloc(1, sizeof *cfg);

	if (!cfg)
		return NULL;
	cfg->n = key_count();
	cfg->values = calloc(cfg->n, sizeof *cfg->values);
	if (!cfg->values) {
		free(cfg);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		const char *d = wa_config_keys[i].def;

		if (set_value(cfg, i, d, strlen(d)) < 0) {
			wa_config_free(cfg);
			return NULL;
		}
	}
	return cfg;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

static int parse_text(struct wa_config *cfg, const char *text, size_t len,
		      const char *origin, char *err, size_t errlen)
{
	char section[64] = "";
	const char *p = text, *end = text + len;
	unsigned lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *ls = p, *le = nl ? nl : end;

		p = nl ? nl + 1 : end;
		lineno++;
		if ((size_t)(le - ls) > LINE_MAX_LEN) {
			snprintf(err, errlen, "%s:%u: line too long", origin, lineno);
			return -1;
		}
		trim(&ls, &le);
		if (ls == le || *ls == '#' || *ls == ';')
			continue;
		if (*ls == '[') {
			if (le[-1] != ']' || le - ls < 3 || (size_t)(le - ls - 2) >= sizeof section) {
				snprintf(err, errlen, "%s:%u: bad section header", origin, lineno);
				return -1;
			}
			memcpy(section, ls + 1, (size_t)(le - ls - 2));
			section[le - ls - 2] = '\0';
			continue;
		}
		const char *eq = memchr(ls, '=', (size_t)(le - ls));
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'", origin, lineno);
			return -1;
		}
		const char *ks = ls, *ke = eq, *vs = eq + 1, *ve = le;
		char key[160];
		long idx;

		trim(&ks, &ke);
		trim(&vs, &ve);
		if (ve - vs >= 2 && (*vs == '"' || *vs == '\'') && ve[-1] == *vs) {
			vs++;
			ve--;
		}
		if (ks == ke) {
			snprintf(err, errlen, "%s:%u: empty key", origin, lineno);
			return -1;
		}
		if (snprintf(key, sizeof key, "%s%s%.*s", section, section[0] ? "." : "",
			     (int)(ke - ks), ks) >= (int)sizeof key) {
			snprintf(err, errlen, "%s:%u: key too long", origin, lineno);
			return -1;
		}
		idx = key_index(key);
		if (idx < 0) {
			snprintf(err, errlen, "%s:%u: unknown key '%s' (see docs/configuration.md)",
				 origin, lineno, key);
			return -1;
		}
		if (set_value(cfg, (size_t)idx, vs, (size_t)(ve - vs)) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

static int apply_env(struct wa_config *cfg, char *err, size_t errlen)
{
	char name[200];

	for (size_t i = 0; i < cfg->n; i++) {
		const char *v;

		wa_config_env_name(wa_config_keys[i].key, name, sizeof name);
		v = getenv(name);
		if (v && set_value(cfg, i, v, strlen(v)) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

int wa_config_parse(struct wa_config **out, const char *text, size_t len,
		    const char *origin, char *err, size_t errlen)
{
	struct wa_config *cfg = config_new();

	*out = NULL;
	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (parse_text(cfg, text, len, origin, err, errlen) < 0 ||
	    apply_env(cfg, err, errlen) < 0) {
		wa_config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int wa_config_load(struct wa_config **out, const char *path, char *err, size_t errlen)
{
	int explicit = 1;
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (!path)
		path = getenv("WA_AKG_CONFIG");
	if (!path || !*path) {
		path = WA_CONFIG_DEFAULT_PATH;
		explicit = 0;
	}
	f = fopen(path, "r");
	if (!f) {
		if (!explicit && errno == ENOENT)
			return wa_config_parse(out, "", 0, path, err, errlen);
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
		*out = NULL;
		return -1;
	}
	for (;;) {
		if (len + 4096 > cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb;

			if (ncap > (1u << 20)) {
				snprintf(err, errlen, "config file %s is larger than 1 MiB", path);
				goto fail;
			}
			nb = realloc(buf, ncap);
			if (!nb) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		size_t r = fread(buf + len, 1, cap - len, f);
		len += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "error reading %s", path);
		goto fail;
	}
	fclose(f);
	rc = wa_config_parse(out, buf ? buf : "", len, path, err, errlen);
	free(buf);
	return rc;
fail:
	fclose(f);
	free(buf);
	*out = NULL;
	return -1;
}

const char *wa_config_get(const struct wa_config *cfg, const char *key)
{
	long idx = key_index(key);

	return idx < 0 ? NULL : cfg->values[idx];
}

int wa_config_get_int(const struct wa_config *cfg, const char *key, long min,
		      long max, long *out, char *err, size_t errlen)
{
	const char *v = wa_config_get(cfg, key);
	char *end;
	long n;

	if (!v) {
		snprintf(err, errlen, "unknown config key '%s'", key);
		return -1;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max) {
		snprintf(err, errlen, "config key '%s' must be an integer from %ld to %ld (got '%s')",
			 key, min, max, v);
		return -1;
	}
	*out = n;
	return 0;
}

int wa_config_get_size(const struct wa_config *cfg, const char *key,
		       unsigned long long *out, char *err, size_t errlen)
{
	const char *v = wa_config_get(cfg, key);
	char *end;
	unsigned long long n, mul = 1;

	if (!v || !isdigit((unsigned char)*v)) {
		snprintf(err, errlen, "config key '%s' must be a size like 64m (got '%s')", key, v ? v : "");
		return -1;
	}
	errno = 0;
	n = strtoull(v, &end, 10);
	switch (*end) {
	case 'k': case 'K': mul = 1024ULL; end++; break;
	case 'm': case 'M': mul = 1024ULL * 1024; end++; break;
	case 'g': case 'G': mul = 1024ULL * 1024 * 1024; end++; break;
	default: break;
	}
	if (errno || *end || n > (~0ULL) / mul) {
		snprintf(err, errlen, "config key '%s' must be a size like 64m (got '%s')", key, v);
		return -1;
	}
	*out = n * mul;
	return 0;
}
