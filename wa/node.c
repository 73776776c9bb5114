/* node.c: stanza tree construction, lookup and freeing (see node.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/node.h"
#include "wa/tokens.h"

/* Frees a tag, key or value string unless it is borrowed from the static
 * token tables (the decoder does not copy dictionary tokens, see node.h). */
static void str_free(char *s)
{
	if (!wa_token_is_static(s))
		free(s);
}

static char *dup_n(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

struct wa_node *wa_node_new(const char *tag)
{
	struct wa_node *n;

	if (tag == NULL || tag[0] == '\0')
		return NULL;
	n = calloc(1, sizeof *n);
	if (n == NULL)
		return NULL;
	n->tag = dup_n(tag, strlen(tag));
	if (n->tag == NULL) {
		free(n);
		return NULL;
	}
	return n;
}

struct wa_node *wa_node_new_attrs(const char *tag, ...)
{
	struct wa_node *n = wa_node_new(tag);
	const char *k, *v;
	va_list ap;

	if (n == NULL)
		return NULL;
	va_start(ap, tag);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (wa_node_set_attr(n, k, v) < 0) {
			wa_node_free(n);
			n = NULL;
			break;
		}
	}
	va_end(ap);
	return n;
}

static void free_data(struct wa_node *n)
{
	if (n->data) {
		/* Content may be key material (pre-keys, enc payloads).
		 * explicit_bzero (glibc) is a memset the compiler may not drop:
		 * same guarantee as the former byte-wise volatile loop, at
		 * memset speed (that loop was ~3 instructions per byte, 7% of
		 * decoding + freeing a group message). */
		explicit_bzero(n->data, n->len);
		free(n->data);
	}
	free(n->jid);
	n->data = NULL;
	n->len = 0;
	n->jid = NULL;
}

void wa_node_clear_content(struct wa_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nchildren; i++)
		wa_node_free(n->children[i]);
	free(n->children);
	n->children = NULL;
	n->nchildren = n->children_cap = 0;
	free_data(n);
	n->kind = WA_CONTENT_NONE;
}

static void attr_release(struct wa_attr *a)
{
	str_free(a->key);
	str_free(a->val);
	free(a->jid);
}

void wa_node_free(struct wa_node *n)
{
	if (n == NULL)
		return;
	wa_node_clear_content(n);
	for (size_t i = 0; i < n->nattrs; i++)
		attr_release(&n->attrs[i]);
	free(n->attrs);
	str_free(n->tag);
	free(n);
}

static struct wa_attr *find_attr(const struct wa_node *n, const char *key)
{
	if (n == NULL || key == NULL)
		return NULL;
	for (size_t i = 0; i < n->nattrs; i++)
		if (strcmp(n->attrs[i].key, key) == 0)
			return &n->attrs[i];
	return NULL;
}

void wa_node_del_attr(struct wa_node *n, const char *key)
{
	struct wa_attr *a = find_attr(n, key);
	size_t i;

	if (a == NULL)
		return;
	i = (size_t)(a - n->attrs);
	attr_release(a);
	memmove(&n->attrs[i], &n->attrs[i + 1], (n->nattrs - i - 1) * sizeof *a);
	n->nattrs--;
}

/* Store key = val (val already allocated, jid may be NULL); takes val and
 * jid on success. */
static int put_attr(struct wa_node *n, const char *key, char *val, struct wa_jid *jid)
{
	struct wa_attr *a = find_attr(n, key);

	if (a) {
		str_free(a->val);
		free(a->jid);
		a->val = val;
		a->jid = jid;
		return 0;
	}
	if (n->nattrs == n->attrs_cap) {
		size_t cap = n->attrs_cap ? n->attrs_cap * 2 : 4;
		struct wa_attr *p = realloc(n->attrs, cap * sizeof *p);

		if (p == NULL)
			return -1;
		n->attrs = p;
		n->attrs_cap = cap;
	}
	a = &n->attrs[n->nattrs];
	a->key = dup_n(key, strlen(key));
	if (a->key == NULL)
		return -1;
	a->val = val;
	a->jid = jid;
	n->nattrs++;
	return 0;
}

int wa_node_set_attr_n(struct wa_node *n, const char *key, const char *val, size_t len)
{
	char *v;

	if (n == NULL || key == NULL || key[0] == '\0')
		return -1;
	if (val == NULL || len == 0) {
		wa_node_del_attr(n, key);
		return 0;
	}
	if (memchr(val, '\0', len))
		return -1;
	v = dup_n(val, len);
	if (v == NULL)
		return -1;
	if (put_attr(n, key, v, NULL) < 0) {
		free(v);
		return -1;
	}
	return 0;
}

int wa_node_set_attr(struct wa_node *n, const char *key, const char *val)
{
	return wa_node_set_attr_n(n, key, val, val ? strlen(val) : 0);
}

int wa_node_set_attr_jid(struct wa_node *n, const char *key, const struct wa_jid *jid)
{
	char buf[WA_JID_STR_MAX];
	struct wa_jid *j;
	char *v;
	int len;

	if (n == NULL || key == NULL || key[0] == '\0' || jid == NULL)
		return -1;
	len = wa_jid_format(jid, buf, sizeof buf);
	if (len <= 0)
		return -1;
	v = dup_n(buf, (size_t)len);
	j = malloc(sizeof *j);
	if (v == NULL || j == NULL || (*j = *jid, put_attr(n, key, v, j) < 0)) {
		free(v);
		free(j);
		return -1;
	}
	return 0;
}

int wa_node_set_attr_int(struct wa_node *n, const char *key, long long v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%lld", v);
	return wa_node_set_attr(n, key, buf);
}

int wa_node_set_attr_uint(struct wa_node *n, const char *key, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%llu", v);
	return wa_node_set_attr(n, key, buf);
}

int wa_node_add_child(struct wa_node *n, struct wa_node *child)
{
	if (n == NULL || child == NULL || child == n)
		return -1;
	if (n->kind != WA_CONTENT_LIST) {
		if (n->nchildren == n->children_cap) {
			/* Allocate first so failure leaves n unchanged. */
			struct wa_node **p = malloc(4 * sizeof *p);

			if (p == NULL)
				return -1;
			free_data(n);
			n->children = p;
			n->children_cap = 4;
		} else {
			free_data(n);
		}
		n->kind = WA_CONTENT_LIST;
	}
	if (n->nchildren == n->children_cap) {
		size_t cap = n->children_cap ? n->children_cap * 2 : 4;
		struct wa_node **p = realloc(n->children, cap * sizeof *p);

		if (p == NULL)
			return -1;
		n->children = p;
		n->children_cap = cap;
	}
	n->children[n->nchildren++] = child;
	return 0;
}

struct wa_node *wa_node_add_new(struct wa_node *n, const char *tag)
{
	struct wa_node *c;

	if (n == NULL)
		return NULL;
	c = wa_node_new(tag);
	if (c == NULL)
		return NULL;
	if (wa_node_add_child(n, c) < 0) {
		wa_node_free(c);
		return NULL;
	}
	return c;
}

int wa_node_set_empty_list(struct wa_node *n)
{
	if (n == NULL)
		return -1;
	wa_node_clear_content(n);
	n->kind = WA_CONTENT_LIST;
	return 0;
}

static int set_data(struct wa_node *n, enum wa_content kind, const void *data, size_t len,
		    const struct wa_jid *jid)
{
	uint8_t *p;
	struct wa_jid *j = NULL;

	if (n == NULL || (data == NULL && len) || len == SIZE_MAX)
		return -1;
	p = malloc(len + 1);
	if (p == NULL)
		return -1;
	if (jid) {
		j = malloc(sizeof *j);
		if (j == NULL) {
			free(p);
			return -1;
		}
		*j = *jid;
	}
	if (len)
		memcpy(p, data, len);
	p[len] = '\0';
	wa_node_clear_content(n);
	n->kind = kind;
	n->data = p;
	n->len = len;
	n->jid = j;
	return 0;
}

int wa_node_set_bytes(struct wa_node *n, const void *data, size_t len)
{
	return set_data(n, WA_CONTENT_BYTES, data, len, NULL);
}

int wa_node_set_string_n(struct wa_node *n, const char *s, size_t len)
{
	return set_data(n, WA_CONTENT_STRING, s, len, NULL);
}

int wa_node_set_string(struct wa_node *n, const char *s)
{
	if (s == NULL)
		return -1;
	return set_data(n, WA_CONTENT_STRING, s, strlen(s), NULL);
}

int wa_node_set_content_jid(struct wa_node *n, const struct wa_jid *jid)
{
	char buf[WA_JID_STR_MAX];
	int len;

	if (jid == NULL)
		return -1;
	len = wa_jid_format(jid, buf, sizeof buf);
	if (len < 0)
		return -1;
	return set_data(n, WA_CONTENT_STRING, buf, (size_t)len, jid);
}

struct wa_node *wa_node_dup(const struct wa_node *n)
{
	struct wa_node *c;

	if (n == NULL)
		return NULL;
	c = wa_node_new(n->tag);
	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < n->nattrs; i++) {
		const struct wa_attr *a = &n->attrs[i];
		int rc = a->jid ? wa_node_set_attr_jid(c, a->key, a->jid)
				: wa_node_set_attr(c, a->key, a->val);
		/* A decoded JID may not re-format to the same string (agent
		 * forms); keep the original string. */
		if (rc == 0 && a->jid) {
			struct wa_attr *ca = find_attr(c, a->key);
			char *v = dup_n(a->val, strlen(a->val));

			if (v == NULL)
				rc = -1;
			else {
				str_free(ca->val);
				ca->val = v;
			}
		}
		if (rc < 0)
			goto fail;
	}
	switch (n->kind) {
	case WA_CONTENT_NONE:
		break;
	case WA_CONTENT_LIST:
		if (wa_node_set_empty_list(c) < 0)
			goto fail;
		for (size_t i = 0; i < n->nchildren; i++) {
			struct wa_node *cc = wa_node_dup(n->children[i]);

			if (cc == NULL || wa_node_add_child(c, cc) < 0) {
				wa_node_free(cc);
				goto fail;
			}
		}
		break;
	case WA_CONTENT_BYTES:
	case WA_CONTENT_STRING:
		if (set_data(c, n->kind, n->data, n->len, n->jid) < 0)
			goto fail;
		break;
	}
	return c;
fail:
	wa_node_free(c);
	return NULL;
}

/* ---- getters ---- */

const char *wa_node_attr(const struct wa_node *n, const char *key)
{
	struct wa_attr *a = find_attr(n, key);

	return a ? a->val : NULL;
}

const char *wa_node_attr_or(const struct wa_node *n, const char *key, const char *def)
{
	const char *v = wa_node_attr(n, key);

	return v ? v : def;
}

int wa_node_attr_is(const struct wa_node *n, const char *key, const char *val)
{
	const char *v = wa_node_attr(n, key);

	return v && val && strcmp(v, val) == 0;
}

int wa_node_attr_int(const struct wa_node *n, const char *key, long long *out)
{
	const char *v = wa_node_attr(n, key);
	char *end;
	long long r;

	if (v == NULL || v[0] == '\0' || v[0] == ' ' || v[0] == '+')
		return -1;
	errno = 0;
	r = strtoll(v, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*out = r;
	return 0;
}

int wa_node_attr_uint(const struct wa_node *n, const char *key, unsigned long long *out)
{
	const char *v = wa_node_attr(n, key);
	char *end;
	unsigned long long r;

	if (v == NULL || v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	r = strtoull(v, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*out = r;
	return 0;
}

int wa_node_attr_jid(const struct wa_node *n, const char *key, struct wa_jid *out)
{
	struct wa_attr *a = find_attr(n, key);

	if (a == NULL)
		return -1;
	if (a->jid) {
		*out = *a->jid;
		return 0;
	}
	return wa_jid_parse(a->val, out, NULL);
}

struct wa_node *wa_node_next(const struct wa_node *n, const char *tag, const struct wa_node *prev)
{
	size_t i = 0;

	if (n == NULL || n->kind != WA_CONTENT_LIST)
		return NULL;
	if (prev) {
		while (i < n->nchildren && n->children[i] != prev)
			i++;
		if (i == n->nchildren)
			return NULL;
		i++;
	}
	for (; i < n->nchildren; i++)
		if (tag == NULL || strcmp(n->children[i]->tag, tag) == 0)
			return n->children[i];
	return NULL;
}

struct wa_node *wa_node_child(const struct wa_node *n, const char *tag)
{
	return wa_node_next(n, tag, NULL);
}

struct wa_node *wa_node_child_at(const struct wa_node *n, size_t i)
{
	if (n == NULL || n->kind != WA_CONTENT_LIST || i >= n->nchildren)
		return NULL;
	return n->children[i];
}

size_t wa_node_count(const struct wa_node *n, const char *tag)
{
	size_t c = 0;

	if (n == NULL || n->kind != WA_CONTENT_LIST)
		return 0;
	for (size_t i = 0; i < n->nchildren; i++)
		if (tag == NULL || strcmp(n->children[i]->tag, tag) == 0)
			c++;
	return c;
}

struct wa_node *wa_node_path(const struct wa_node *n, ...)
{
	va_list ap;
	const char *tag;
	struct wa_node *cur = (struct wa_node *)n;

	va_start(ap, n);
	while (cur && (tag = va_arg(ap, const char *)) != NULL)
		cur = wa_node_child(cur, tag);
	va_end(ap);
	return cur;
}

const uint8_t *wa_node_content(const struct wa_node *n, size_t *len)
{
	if (n == NULL || (n->kind != WA_CONTENT_BYTES && n->kind != WA_CONTENT_STRING)) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = n->len;
	return n->data;
}

const char *wa_node_content_str(const struct wa_node *n)
{
	size_t len;
	const uint8_t *p = wa_node_content(n, &len);

	if (p == NULL || memchr(p, '\0', len))
		return NULL;
	return (const char *)p;
}
