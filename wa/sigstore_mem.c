/* wa/sigstore_mem: the in-memory Signal store (see sigstore.h).
 *
 * A fixed-size hash table with chaining; entry count and record bytes are
 * capped at construction. One mutex (st->lock) guards the whole table, so
 * every operation is thread-safe; records are copied in and out, and freed
 * records are zeroed first because they hold private keys. */
#include "wa/sigstore.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 4096
#define DEFAULT_MAX_ENTRIES 100000
#define DEFAULT_MAX_BYTES (256u * 1024 * 1024)

struct ent {
	struct ent *next;
	enum wa_sigrec_kind kind;
	uint32_t id;
	uint32_t device;
	char *name;   /* NULL for kinds without a name */
	char *group;  /* NULL unless SENDER_KEY */
	uint8_t *rec;
	size_t len;
};

struct memstore {
	pthread_mutex_t lock;          /* guards everything below */
	struct ent *b[NBUCKETS];
	size_t nent, nbytes;
	size_t max_ent, max_bytes;
	int per_kind[WA_SIGREC_KIND_MAX + 1];
};

/* Normalise a key so unused fields never influence identity. */
static void norm(const wa_sigrec_key *in, wa_sigrec_key *k)
{
	memset(k, 0, sizeof *k);
	k->kind = in->kind;
	switch (in->kind) {
	case WA_SIGREC_PREKEY:
	case WA_SIGREC_SIGNED_PREKEY:
		k->id = in->id;
		break;
	case WA_SIGREC_SENDER_KEY:
		k->group = in->group;
		/* fall through */
	case WA_SIGREC_IDENTITY:
	case WA_SIGREC_SESSION:
		k->name = in->name;
		k->device = in->device;
		break;
	case WA_SIGREC_LOCAL:
		break;
	}
}

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const uint8_t *s = p;

	while (n--) {
		h ^= *s++;
		h *= 16777619u;
	}
	return h;
}

static unsigned bucket(const wa_sigrec_key *k)
{
	uint32_t h = 2166136261u;
	uint32_t kind = (uint32_t)k->kind;

	h = fnv(h, &kind, sizeof kind);
	h = fnv(h, &k->id, sizeof k->id);
	h = fnv(h, &k->device, sizeof k->device);
	if (k->name)
		h = fnv(h, k->name, strlen(k->name) + 1);
	if (k->group)
		h = fnv(h, k->group, strlen(k->group) + 1);
	return h % NBUCKETS;
}

static int streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int match(const struct ent *e, const wa_sigrec_key *k)
{
	return e->kind == k->kind && e->id == k->id && e->device == k->device &&
	       streq(e->name, k->name) && streq(e->group, k->group);
}

static void ent_free(struct ent *e)
{
	if (!e)
		return;
	if (e->rec) {
		explicit_bzero(e->rec, e->len);
		free(e->rec);
	}
	free(e->name);
	free(e->group);
	free(e);
}

static int m_get(void *state, const wa_sigrec_key *key, uint8_t **rec, size_t *len)
{
	struct memstore *m = state;
	wa_sigrec_key k;
	struct ent *e;
	int rc = 0;

	norm(key, &k);
	pthread_mutex_lock(&m->lock);
	for (e = m->b[bucket(&k)]; e; e = e->next) {
		if (!match(e, &k))
			continue;
		*rec = malloc(e->len);
		if (!*rec) {
			rc = WA_SIGSTORE_NOMEM;
			break;
		}
		memcpy(*rec, e->rec, e->len);
		*len = e->len;
		rc = 1;
		break;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int m_put(void *state, const wa_sigrec_key *key, const uint8_t *rec, size_t len)
{
	struct memstore *m = state;
	wa_sigrec_key k;
	struct ent *e, *n = NULL;
	uint8_t *copy;
	unsigned h;
	int rc = WA_SIGSTORE_NOMEM;

	norm(key, &k);
	h = bucket(&k);
	copy = malloc(len);
	if (!copy)
		return WA_SIGSTORE_NOMEM;
	memcpy(copy, rec, len);
	pthread_mutex_lock(&m->lock);
	for (e = m->b[h]; e; e = e->next)
		if (match(e, &k))
			break;
	if (e) {
		if (m->nbytes - e->len + len > m->max_bytes) {
			rc = WA_SIGSTORE_FULL;
			goto out;
		}
		m->nbytes = m->nbytes - e->len + len;
		explicit_bzero(e->rec, e->len);
		free(e->rec);
		e->rec = copy;
		e->len = len;
		copy = NULL;
		rc = 0;
		goto out;
	}
	if (m->nent >= m->max_ent || m->nbytes + len > m->max_bytes) {
		rc = WA_SIGSTORE_FULL;
		goto out;
	}
	n = calloc(1, sizeof *n);
	if (!n)
		goto out;
	n->kind = k.kind;
	n->id = k.id;
	n->device = k.device;
	if ((k.name && !(n->name = strdup(k.name))) || (k.group && !(n->group = strdup(k.group))))
		goto out;
	n->rec = copy;
	n->len = len;
	copy = NULL;
	n->next = m->b[h];
	m->b[h] = n;
	n = NULL;
	m->nent++;
	m->nbytes += len;
	m->per_kind[k.kind]++;
	rc = 0;
out:
	pthread_mutex_unlock(&m->lock);
	ent_free(n);
	if (copy) {
		explicit_bzero(copy, len);
		free(copy);
	}
	return rc;
}

/* Unlink *pp (caller holds the lock) and free it. */
static void unlink_ent(struct memstore *m, struct ent **pp)
{
	struct ent *e = *pp;

	*pp = e->next;
	m->nent--;
	m->nbytes -= e->len;
	m->per_kind[e->kind]--;
	ent_free(e);
}

static int m_del(void *state, const wa_sigrec_key *key)
{
	struct memstore *m = state;
	wa_sigrec_key k;
	struct ent **pp;
	int rc = 0;

	norm(key, &k);
	pthread_mutex_lock(&m->lock);
	for (pp = &m->b[bucket(&k)]; *pp; pp = &(*pp)->next) {
		if (match(*pp, &k)) {
			unlink_ent(m, pp);
			rc = 1;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Sessions of one name are spread over the buckets (the device is part of
 * the hash), so these two walk the table; fine at in-memory sizes. */
static int m_devices(void *state, const char *name, uint32_t *out, size_t max)
{
	struct memstore *m = state;
	struct ent *e;
	size_t n = 0;
	unsigned i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < NBUCKETS; i++)
		for (e = m->b[i]; e; e = e->next)
			if (e->kind == WA_SIGREC_SESSION && strcmp(e->name, name) == 0) {
				if (n < max)
					out[n] = e->device;
				n++;
			}
	pthread_mutex_unlock(&m->lock);
	return n > 0x7fffffff ? 0x7fffffff : (int)n;
}

static int m_del_name(void *state, enum wa_sigrec_kind kind, const char *name)
{
	struct memstore *m = state;
	struct ent **pp;
	int n = 0;
	unsigned i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < NBUCKETS; i++) {
		pp = &m->b[i];
		while (*pp) {
			if ((*pp)->kind == kind && strcmp((*pp)->name, name) == 0) {
				unlink_ent(m, pp);
				n++;
			} else {
				pp = &(*pp)->next;
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
	return n;
}

static int m_count(void *state, enum wa_sigrec_kind kind)
{
	struct memstore *m = state;
	int n;

	pthread_mutex_lock(&m->lock);
	n = m->per_kind[kind];
	pthread_mutex_unlock(&m->lock);
	return n;
}

static void m_destroy(void *state)
{
	struct memstore *m = state;
	struct ent *e, *next;
	unsigned i;

	if (!m)
		return;
	for (i = 0; i < NBUCKETS; i++)
		for (e = m->b[i]; e; e = next) {
			next = e->next;
			ent_free(e);
		}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static const struct wa_sigstore_ops mem_ops = {
	.get = m_get,
	.put = m_put,
	.del = m_del,
	.devices = m_devices,
	.del_name = m_del_name,
	.count = m_count,
	.destroy = m_destroy,
};

wa_sigstore *wa_sigstore_mem_new(size_t max_entries, size_t max_bytes)
{
	wa_sigstore *st = calloc(1, sizeof *st);
	struct memstore *m = calloc(1, sizeof *m);

	if (!st || !m || pthread_mutex_init(&m->lock, NULL) != 0) {
		free(st);
		free(m);
		return NULL;
	}
	m->max_ent = max_entries ? max_entries : DEFAULT_MAX_ENTRIES;
	m->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
	st->ops = &mem_ops;
	st->state = m;
	return st;
}
