/* sesscache: the configured parts of a session's answer (see sesscache.h). */
#include "fcgi/sesscache.h"
#include "fcgi/jbuf.h"
#include "wa_config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4

struct entry {
	uint64_t sid;                /* 0: free (session ids start at 1) */
	uint64_t ver;
	uint64_t tick;               /* last use, for replacement */
	char *text;                  /* malloc'd, len bytes */
	size_t len;
};

static struct {
	int enabled;
	long entries;
} conf;

static struct {
	pthread_mutex_t lock;
	struct entry *tab;
	size_t nsets;
	uint64_t tick;
	struct wa_sessc_stats st;
} C = { .lock = PTHREAD_MUTEX_INITIALIZER };

int wa_sessc_configure(const struct wa_config *cfg, char *err, size_t errlen)
{
	const char *on = wa_config_get(cfg, "fcgi.session_cache");

	if (!on || (strcmp(on, "true") && strcmp(on, "false"))) {
		snprintf(err, errlen, "fcgi.session_cache must be true or false");
		return -1;
	}
	if (wa_config_get_int(cfg, "fcgi.session_cache_entries", WAYS, 1000000, &conf.entries, err, errlen) < 0)
		return -1;
	conf.enabled = strcmp(on, "true") == 0;
	if (!conf.enabled)
		return 0;
	C.nsets = (size_t)conf.entries / WAYS;
	C.tab = calloc(C.nsets * WAYS, sizeof *C.tab);
	if (!C.tab) {
		snprintf(err, errlen, "fcgi.session_cache_entries: out of memory");
		return -1;
	}
	return 0;
}

int wa_sessc_enabled(void)
{
	return conf.enabled && C.tab;
}

static struct entry *set_of(uint64_t sid)
{
	/* consecutive ids spread over consecutive sets */
	return C.tab + (sid % C.nsets) * WAYS;
}

int wa_sessc_get(uint64_t sid, uint64_t ver, struct wa_jbuf *jb)
{
	struct entry *s;
	int hit = 0;

	if (!wa_sessc_enabled() || !sid)
		return 0;
	pthread_mutex_lock(&C.lock);
	s = set_of(sid);
	for (int i = 0; i < WAYS; i++)
		if (s[i].sid == sid && s[i].ver == ver) {
			size_t before = jb->len;

			wa_jb_raw(jb, s[i].text, s[i].len);
			/* out of memory: a miss, jb as it was */
			hit = !jb->oom;
			if (!hit) {
				jb->oom = 0;
				jb->len = before;
			}
			s[i].tick = ++C.tick;
			break;
		}
	if (hit)
		C.st.hits++;
	else
		C.st.misses++;
	pthread_mutex_unlock(&C.lock);
	return hit;
}

void wa_sessc_put(uint64_t sid, uint64_t ver, const char *text, size_t len)
{
	struct entry *s, *e = NULL;
	char *copy;

	if (!wa_sessc_enabled() || !sid || len > WA_SESSC_MAX_TEXT)
		return;
	copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, text, len);
	pthread_mutex_lock(&C.lock);
	s = set_of(sid);
	/* the session's own slot (any version), else a free one, else the
	 * least recently used */
	for (int i = 0; i < WAYS && !e; i++)
		if (s[i].sid == sid)
			e = &s[i];
	for (int i = 0; i < WAYS && !e; i++)
		if (!s[i].sid)
			e = &s[i];
	if (!e) {
		e = &s[0];
		for (int i = 1; i < WAYS; i++)
			if (s[i].tick < e->tick)
				e = &s[i];
	}
	if (e->sid == sid && e->ver > ver) {
		/* a slower reader of an older version: keep the newer text */
		pthread_mutex_unlock(&C.lock);
		free(copy);
		return;
	}
	free(e->text);
	e->sid = sid;
	e->ver = ver;
	e->text = copy;
	e->len = len;
	e->tick = ++C.tick;
	C.st.stores++;
	pthread_mutex_unlock(&C.lock);
}

void wa_sessc_stats(struct wa_sessc_stats *out)
{
	pthread_mutex_lock(&C.lock);
	*out = C.st;
	pthread_mutex_unlock(&C.lock);
}
