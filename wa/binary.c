/* binary.c: WhatsApp binary node encoder and decoder (see binary.h). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "wa/binary.h"
#include "wa/tokens.h"

void wa_binary_limits_default(struct wa_binary_limits *lim)
{
	lim->max_depth = WA_BIN_DEFAULT_MAX_DEPTH;
	lim->max_list = WA_BIN_DEFAULT_MAX_LIST;
	lim->max_nodes = WA_BIN_DEFAULT_MAX_NODES;
	lim->max_bytes = WA_BIN_DEFAULT_MAX_BYTES;
	lim->max_inflated = WA_BIN_DEFAULT_MAX_INFLATED;
}

const char *wa_binary_strerror(int err)
{
	switch (err) {
	case WA_BIN_OK: return "success";
	case WA_BIN_ETRUNC: return "truncated node";
	case WA_BIN_EINVAL: return "malformed node";
	case WA_BIN_ETOOBIG: return "node exceeds a size limit";
	case WA_BIN_ENOMEM: return "out of memory";
	case WA_BIN_EZLIB: return "bad compressed frame";
	default: return "unknown error";
	}
}

/* ================================================================ encoder */

struct enc {
	struct wa_buf *out;
	int err;
};

static void put(struct enc *e, const void *p, size_t n)
{
	if (e->err == 0 && wa_buf_append(e->out, p, n) < 0)
		e->err = WA_BIN_ENOMEM;
}

static void put_u8(struct enc *e, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(e, &b, 1);
}

static void put_u16(struct enc *e, unsigned v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(e, b, 2);
}

static void write_list_start(struct enc *e, size_t n)
{
	if (n == 0) {
		put_u8(e, WA_TAG_LIST_EMPTY);
	} else if (n < 256) {
		put_u8(e, WA_TAG_LIST_8);
		put_u8(e, (unsigned)n);
	} else if (n <= 0xFFFF) {
		put_u8(e, WA_TAG_LIST_16);
		put_u16(e, (unsigned)n);
	} else if (e->err == 0) {
		e->err = WA_BIN_EINVAL;
	}
}

static void write_byte_length(struct enc *e, size_t len)
{
	if (len < 256) {
		put_u8(e, WA_TAG_BINARY_8);
		put_u8(e, (unsigned)len);
	} else if (len < (1u << 20)) {
		uint8_t b[4] = { WA_TAG_BINARY_20, (uint8_t)((len >> 16) & 0x0F),
				 (uint8_t)(len >> 8), (uint8_t)len };
		put(e, b, 4);
	} else if (len < 0x7FFFFFFFu) {
		uint8_t b[5] = { WA_TAG_BINARY_32, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
				 (uint8_t)(len >> 8), (uint8_t)len };
		put(e, b, 5);
	} else if (e->err == 0) {
		e->err = WA_BIN_EINVAL;
	}
}

static int nibble_code(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c == '-')
		return 10;
	if (c == '.')
		return 11;
	return -1;
}

static int hex_code(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return 10 + c - 'A';
	return -1;
}

/* whatsmeow validateNibble / validateHex: every char packable and
 * len <= PACKED_MAX. The empty string passes (written FF 00). */
static int packable(const char *s, size_t len, int (*code)(unsigned char))
{
	if (len > WA_PACKED_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (code((unsigned char)s[i]) < 0)
			return 0;
	return 1;
}

static void write_packed(struct enc *e, const char *s, size_t len, unsigned tag,
			 int (*code)(unsigned char))
{
	uint8_t b[2 + (WA_PACKED_MAX + 1) / 2];
	size_t n = 0;

	b[n++] = (uint8_t)tag;
	b[n++] = (uint8_t)(((len + 1) / 2) | (len % 2 ? 0x80 : 0));
	for (size_t i = 0; i + 1 < len; i += 2)
		b[n++] = (uint8_t)((code((unsigned char)s[i]) << 4) | code((unsigned char)s[i + 1]));
	if (len % 2)
		b[n++] = (uint8_t)((code((unsigned char)s[len - 1]) << 4) | 0x0F);
	put(e, b, n);
}

static void write_string(struct enc *e, const char *s, size_t len)
{
	unsigned dict = 0, idx = 0;

	switch (wa_token_lookup(s, len, &dict, &idx)) {
	case 1:
		put_u8(e, idx);
		return;
	case 2:
		put_u8(e, WA_TAG_DICTIONARY_0 + dict);
		put_u8(e, idx);
		return;
	default:
		break;
	}
	if (packable(s, len, nibble_code)) {
		write_packed(e, s, len, WA_TAG_NIBBLE_8, nibble_code);
	} else if (packable(s, len, hex_code)) {
		write_packed(e, s, len, WA_TAG_HEX_8, hex_code);
	} else {
		write_byte_length(e, len);
		put(e, s, len);
	}
}

static void write_str0(struct enc *e, const char *s)
{
	write_string(e, s, strlen(s));
}

static void write_jid(struct enc *e, const struct wa_jid *j)
{
	const char *srv = j->server;
	int is_user = strcmp(srv, WA_SERVER_USER) == 0 || strcmp(srv, WA_SERVER_LID) == 0;
	int is_hosted = strcmp(srv, WA_SERVER_HOSTED) == 0 || strcmp(srv, WA_SERVER_HOSTED_LID) == 0;

	/* A server JID (empty user) always goes as a JID_PAIR: the AD, FB and
	 * interop forms name a user, and the decoder rightly refuses them
	 * without one (found by fuzz_node: "interop" as a server JID). */
	if (j->user[0] == '\0') {
		put_u8(e, WA_TAG_JID_PAIR);
		put_u8(e, WA_TAG_LIST_EMPTY);
		write_str0(e, srv);
	} else if ((is_user && j->device > 0) || is_hosted) {
		if (j->device > 255) {
			if (e->err == 0)
				e->err = WA_BIN_EINVAL;
			return;
		}
		put_u8(e, WA_TAG_AD_JID);
		put_u8(e, wa_jid_domain(j));
		put_u8(e, j->device);
		write_str0(e, j->user);
	} else if (strcmp(srv, WA_SERVER_MSGR) == 0) {
		put_u8(e, WA_TAG_FB_JID);
		write_str0(e, j->user);
		put_u16(e, j->device);
		write_str0(e, srv);
	} else if (strcmp(srv, WA_SERVER_INTEROP) == 0) {
		put_u8(e, WA_TAG_INTEROP_JID);
		write_str0(e, j->user);
		put_u16(e, j->device);
		put_u16(e, j->integrator);
		write_str0(e, srv);
	} else {
		put_u8(e, WA_TAG_JID_PAIR);
		write_str0(e, j->user);
		write_str0(e, srv);
	}
}

static void write_node(struct enc *e, const struct wa_node *n, unsigned depth)
{
	size_t nattrs = 0;

	if (e->err)
		return;
	if (depth > WA_BIN_DEFAULT_MAX_DEPTH || n->tag == NULL) {
		e->err = WA_BIN_EINVAL;
		return;
	}
	if (strcmp(n->tag, "0") == 0) {
		/* whatsmeow writes tag "0" as an empty LIST_8. */
		put_u8(e, WA_TAG_LIST_8);
		put_u8(e, WA_TAG_LIST_EMPTY);
		return;
	}
	for (size_t i = 0; i < n->nattrs; i++)
		if (n->attrs[i].jid || n->attrs[i].val[0])
			nattrs++;
	write_list_start(e, 1 + 2 * nattrs + (n->kind != WA_CONTENT_NONE));
	write_str0(e, n->tag);
	for (size_t i = 0; i < n->nattrs; i++) {
		const struct wa_attr *a = &n->attrs[i];

		if (a->jid == NULL && a->val[0] == '\0')
			continue;
		write_str0(e, a->key);
		if (a->jid)
			write_jid(e, a->jid);
		else
			write_str0(e, a->val);
	}
	switch (n->kind) {
	case WA_CONTENT_NONE:
		break;
	case WA_CONTENT_LIST:
		write_list_start(e, n->nchildren);
		for (size_t i = 0; i < n->nchildren && e->err == 0; i++)
			write_node(e, n->children[i], depth + 1);
		break;
	case WA_CONTENT_BYTES:
		write_byte_length(e, n->len);
		put(e, n->data, n->len);
		break;
	case WA_CONTENT_STRING:
		if (n->jid)
			write_jid(e, n->jid);
		else
			write_string(e, (const char *)n->data, n->len);
		break;
	}
}

int wa_binary_encode(const struct wa_node *n, struct wa_buf *out)
{
	struct enc e = { out, 0 };

	if (n == NULL || out == NULL)
		return WA_BIN_EINVAL;
	write_node(&e, n, 1);
	return e.err;
}

int wa_binary_encode_string(const char *s, size_t len, struct wa_buf *out)
{
	struct enc e = { out, 0 };

	if (s == NULL && len)
		return WA_BIN_EINVAL;
	write_string(&e, s ? s : "", len);
	return e.err;
}

int wa_binary_marshal(const struct wa_node *n, uint8_t **out, size_t *outlen)
{
	struct wa_buf b = WA_BUF_INIT;
	int rc;

	if (wa_buf_put_u8(&b, 0) < 0)
		return WA_BIN_ENOMEM;
	rc = wa_binary_encode(n, &b);
	if (rc < 0) {
		wa_buf_free(&b);
		return rc;
	}
	*out = wa_buf_steal(&b, outlen);
	return WA_BIN_OK;
}

/* ================================================================ decoder */

struct dec {
	const uint8_t *p;
	size_t len, pos;
	const struct wa_binary_limits *lim;
	size_t nodes, bytes;
};

/* A decoded string-ish value. s points into static token tables or into
 * owned memory (freed by val_release). */
struct val {
	const char *s;
	size_t len;
	char *owned;
	int nil;            /* LIST_EMPTY: no value */
	int is_jid;
	struct wa_jid jid;
};

static void val_release(struct val *v)
{
	free(v->owned);
	v->owned = NULL;
}

static int need(struct dec *d, size_t n)
{
	return d->len - d->pos >= n ? 0 : WA_BIN_ETRUNC;
}

static int rd_u8(struct dec *d, unsigned *v)
{
	if (need(d, 1))
		return WA_BIN_ETRUNC;
	*v = d->p[d->pos++];
	return 0;
}

static int rd_u16(struct dec *d, unsigned *v)
{
	if (need(d, 2))
		return WA_BIN_ETRUNC;
	*v = ((unsigned)d->p[d->pos] << 8) | d->p[d->pos + 1];
	d->pos += 2;
	return 0;
}

/* Account for n decoded bytes against max_bytes. */
static int charge(struct dec *d, size_t n)
{
	if (n > d->lim->max_bytes - d->bytes)
		return WA_BIN_ETOOBIG;
	d->bytes += n;
	return 0;
}

static int byte_length(struct dec *d, unsigned tag, size_t *len)
{
	unsigned a, b;

	switch (tag) {
	case WA_TAG_BINARY_8:
		if (rd_u8(d, &a))
			return WA_BIN_ETRUNC;
		*len = a;
		return 0;
	case WA_TAG_BINARY_20:
		if (need(d, 3))
			return WA_BIN_ETRUNC;
		*len = ((size_t)(d->p[d->pos] & 0x0F) << 16) | ((size_t)d->p[d->pos + 1] << 8) |
		       d->p[d->pos + 2];
		d->pos += 3;
		return 0;
	case WA_TAG_BINARY_32:
		if (rd_u16(d, &a) || rd_u16(d, &b))
			return WA_BIN_ETRUNC;
		*len = ((size_t)a << 16) | b;
		return 0;
	default:
		return WA_BIN_EINVAL;
	}
}

static int read_packed(struct dec *d, unsigned tag, struct val *v)
{
	unsigned b0, nbytes;
	size_t n = 0;
	char *s;
	int rc;

	if (rd_u8(d, &b0))
		return WA_BIN_ETRUNC;
	nbytes = b0 & 0x7F;
	if (need(d, nbytes))
		return WA_BIN_ETRUNC;
	if ((b0 & 0x80) && nbytes == 0)
		return WA_BIN_EINVAL;
	if ((rc = charge(d, 2 * (size_t)nbytes + 1)))
		return rc;
	s = malloc(2 * (size_t)nbytes + 1);
	if (s == NULL)
		return WA_BIN_ENOMEM;
	for (unsigned i = 0; i < nbytes; i++) {
		uint8_t byte = d->p[d->pos + i];
		unsigned hi = byte >> 4, lo = byte & 0x0F;
		int last = i + 1 == nbytes && (b0 & 0x80);

		if (tag == WA_TAG_NIBBLE_8) {
			static const char map[16] = "0123456789-.\0\0\0\0";
			/* 12..14 are invalid; 15 is only the padding nibble. */
			if (hi >= 12 || (lo >= 12 && !(last && lo == 15))) {
				free(s);
				return WA_BIN_EINVAL;
			}
			s[n++] = map[hi];
			s[n++] = map[lo];
		} else {
			static const char map[16] = "0123456789ABCDEF";
			s[n++] = map[hi];
			s[n++] = map[lo];
		}
	}
	d->pos += nbytes;
	if (b0 & 0x80)
		n--;
	s[n] = '\0';
	v->owned = s;
	v->s = s;
	v->len = n;
	return 0;
}

/* A plain string (no JID, no list); nil allowed when allow_nil. */
static int read_plain(struct dec *d, struct val *v, int allow_nil);

/* Characters WhatsApp never puts in a JID part; rejecting them keeps the
 * string form of a decoded JID unambiguous (wa_jid_parse() of it gives the
 * same JID back), so consumers may use either form. */
static int jid_part_ok(const char *s, size_t len, int is_user)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || c == '@' || c == ':')
			return 0;
		if (is_user && (c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

static int jid_part(struct dec *d, char *dst, size_t cap, int allow_nil, int is_user)
{
	struct val v = { 0 };
	int rc = read_plain(d, &v, allow_nil);

	if (rc)
		return rc;
	/* Only a JID_PAIR user (allow_nil) may be empty: a device, FB or
	 * interop JID names a user, and every JID names a server. */
	if (v.len >= cap || (v.len == 0 && !allow_nil) || !jid_part_ok(v.s, v.len, is_user)) {
		val_release(&v);
		return WA_BIN_EINVAL;
	}
	if (v.len)
		memcpy(dst, v.s, v.len);
	dst[v.len] = '\0';
	val_release(&v);
	return 0;
}

static int read_jid(struct dec *d, unsigned tag, struct val *v)
{
	struct wa_jid j;
	unsigned a, b;
	char buf[WA_JID_STR_MAX];
	int rc, len;

	memset(&j, 0, sizeof j);
	switch (tag) {
	case WA_TAG_JID_PAIR:
		if ((rc = jid_part(d, j.user, sizeof j.user, 1, 1)) ||
		    (rc = jid_part(d, j.server, sizeof j.server, 0, 0)))
			return rc;
		if (j.server[0] == '\0')
			return WA_BIN_EINVAL;
		break;
	case WA_TAG_AD_JID: {
		char user[WA_JID_USER_MAX + 1];

		if (rd_u8(d, &a) || rd_u8(d, &b))
			return WA_BIN_ETRUNC;
		if ((rc = jid_part(d, user, sizeof user, 0, 1)))
			return rc;
		if (wa_jid_from_domain(&j, user, (uint8_t)a, (uint16_t)b) < 0)
			return WA_BIN_EINVAL;
		break;
	}
	case WA_TAG_FB_JID:
		if ((rc = jid_part(d, j.user, sizeof j.user, 0, 1)))
			return rc;
		if (rd_u16(d, &a))
			return WA_BIN_ETRUNC;
		j.device = (uint16_t)a;
		if ((rc = jid_part(d, j.server, sizeof j.server, 0, 0)))
			return rc;
		if (strcmp(j.server, WA_SERVER_MSGR) != 0)
			return WA_BIN_EINVAL;
		break;
	case WA_TAG_INTEROP_JID:
		if ((rc = jid_part(d, j.user, sizeof j.user, 0, 1)))
			return rc;
		if (rd_u16(d, &a) || rd_u16(d, &b))
			return WA_BIN_ETRUNC;
		j.device = (uint16_t)a;
		j.integrator = (uint16_t)b;
		if ((rc = jid_part(d, j.server, sizeof j.server, 0, 0)))
			return rc;
		if (strcmp(j.server, WA_SERVER_INTEROP) != 0)
			return WA_BIN_EINVAL;
		break;
	default:
		return WA_BIN_EINVAL;
	}
	len = wa_jid_format(&j, buf, sizeof buf);
	if (len < 0)
		return WA_BIN_EINVAL;
	if ((rc = charge(d, (size_t)len + 1)))
		return rc;
	v->owned = malloc((size_t)len + 1);
	if (v->owned == NULL)
		return WA_BIN_ENOMEM;
	memcpy(v->owned, buf, (size_t)len + 1);
	v->s = v->owned;
	v->len = (size_t)len;
	v->is_jid = 1;
	v->jid = j;
	return 0;
}

/* Read a string-ish value after its tag byte: token, packed, raw bytes
 * (as a string), or a JID when allow_jid. Lists are rejected. */
static int read_value(struct dec *d, unsigned tag, struct val *v, int allow_jid, int allow_nil)
{
	unsigned idx;
	size_t len;
	int rc;

	memset(v, 0, sizeof *v);
	if (tag == WA_TAG_LIST_EMPTY) {
		if (!allow_nil)
			return WA_BIN_EINVAL;
		v->nil = 1;
		v->s = wa_token_single[0]; /* "", static: borrowed, see val_take_str */
		return 0;
	}
	if (tag >= 1 && tag < WA_TOKEN_SINGLE_COUNT) {
		v->s = wa_token_single[tag];
		v->len = strlen(v->s);
		return 0;
	}
	switch (tag) {
	case WA_TAG_DICTIONARY_0:
	case WA_TAG_DICTIONARY_1:
	case WA_TAG_DICTIONARY_2:
	case WA_TAG_DICTIONARY_3:
		if (rd_u8(d, &idx))
			return WA_BIN_ETRUNC;
		v->s = wa_token_double[tag - WA_TAG_DICTIONARY_0][idx];
		v->len = strlen(v->s);
		return 0;
	case WA_TAG_BINARY_8:
	case WA_TAG_BINARY_20:
	case WA_TAG_BINARY_32:
		if ((rc = byte_length(d, tag, &len)))
			return rc;
		if (need(d, len))
			return WA_BIN_ETRUNC;
		if ((rc = charge(d, len + 1)))
			return rc;
		v->owned = malloc(len + 1);
		if (v->owned == NULL)
			return WA_BIN_ENOMEM;
		memcpy(v->owned, d->p + d->pos, len);
		v->owned[len] = '\0';
		d->pos += len;
		v->s = v->owned;
		v->len = len;
		return 0;
	case WA_TAG_NIBBLE_8:
	case WA_TAG_HEX_8:
		return read_packed(d, tag, v);
	case WA_TAG_JID_PAIR:
	case WA_TAG_AD_JID:
	case WA_TAG_FB_JID:
	case WA_TAG_INTEROP_JID:
		if (!allow_jid)
			return WA_BIN_EINVAL;
		return read_jid(d, tag, v);
	default:
		return WA_BIN_EINVAL;
	}
}

static int read_plain(struct dec *d, struct val *v, int allow_nil)
{
	unsigned tag;

	if (rd_u8(d, &tag))
		return WA_BIN_ETRUNC;
	return read_value(d, tag, v, 0, allow_nil);
}

static int list_size(struct dec *d, unsigned tag, size_t *n)
{
	unsigned v;

	switch (tag) {
	case WA_TAG_LIST_EMPTY:
		*n = 0;
		return 0;
	case WA_TAG_LIST_8:
		if (rd_u8(d, &v))
			return WA_BIN_ETRUNC;
		*n = v;
		return 0;
	case WA_TAG_LIST_16:
		if (rd_u16(d, &v))
			return WA_BIN_ETRUNC;
		*n = v;
		return 0;
	default:
		return WA_BIN_EINVAL;
	}
}

/* The value as a NUL-terminated string the node owns. With borrow, a
 * dictionary token (or the empty LIST_EMPTY value) is returned as the
 * static table pointer itself, without an allocation: node.c never frees
 * those (wa_token_is_static). Only for tags, keys and attribute values:
 * content is zeroed when freed, so it must be on the heap. */
static char *val_take_str(struct val *v, int borrow)
{
	char *s;

	if (v->owned) {
		s = v->owned;
		v->owned = NULL;
		return s;
	}
	if (borrow && wa_token_is_static(v->s) && v->s[v->len] == '\0')
		return (char *)v->s;
	s = malloc(v->len + 1);
	if (s) {
		memcpy(s, v->s, v->len);
		s[v->len] = '\0';
	}
	return s;
}

static int read_node(struct dec *d, unsigned depth, struct wa_node **out);

/* Frees a string from val_take_str(.., 1) (a no-op for a borrowed token). */
static void node_str_free(char *s)
{
	if (!wa_token_is_static(s))
		free(s);
}

static int read_children(struct dec *d, struct wa_node *n, size_t count, unsigned depth)
{
	size_t prealloc;
	int rc;

	n->kind = WA_CONTENT_LIST;
	if (count == 0)
		return 0;
	if (count > d->lim->max_list)
		return WA_BIN_ETOOBIG;
	/* Each child takes at least 2 bytes: do not trust count for memory. */
	prealloc = (d->len - d->pos) / 2;
	if (prealloc > count)
		prealloc = count;
	if (prealloc == 0)
		return WA_BIN_ETRUNC;
	n->children = malloc(prealloc * sizeof *n->children);
	if (n->children == NULL)
		return WA_BIN_ENOMEM;
	n->children_cap = prealloc;
	for (size_t i = 0; i < count; i++) {
		struct wa_node *c;

		if ((rc = read_node(d, depth + 1, &c)))
			return rc;
		if (n->nchildren == n->children_cap) {
			size_t cap = n->children_cap * 2 < count ? n->children_cap * 2 : count;
			struct wa_node **p = realloc(n->children, cap * sizeof *p);

			if (p == NULL) {
				wa_node_free(c);
				return WA_BIN_ENOMEM;
			}
			n->children = p;
			n->children_cap = cap;
		}
		n->children[n->nchildren++] = c;
	}
	return 0;
}

static int read_content(struct dec *d, struct wa_node *n, unsigned depth)
{
	unsigned tag;
	size_t len;
	int rc;
	struct val v;

	if (rd_u8(d, &tag))
		return WA_BIN_ETRUNC;
	switch (tag) {
	case WA_TAG_LIST_EMPTY:
	case WA_TAG_LIST_8:
	case WA_TAG_LIST_16:
		if ((rc = list_size(d, tag, &len)))
			return rc;
		return read_children(d, n, len, depth);
	case WA_TAG_BINARY_8:
	case WA_TAG_BINARY_20:
	case WA_TAG_BINARY_32:
		if ((rc = byte_length(d, tag, &len)))
			return rc;
		if (need(d, len))
			return WA_BIN_ETRUNC;
		if ((rc = charge(d, len + 1)))
			return rc;
		n->data = malloc(len + 1);
		if (n->data == NULL)
			return WA_BIN_ENOMEM;
		memcpy(n->data, d->p + d->pos, len);
		n->data[len] = '\0';
		n->len = len;
		n->kind = WA_CONTENT_BYTES;
		d->pos += len;
		return 0;
	default:
		if ((rc = read_value(d, tag, &v, 1, 0)))
			return rc;
		if (v.is_jid) {
			n->jid = malloc(sizeof *n->jid);
			if (n->jid == NULL) {
				val_release(&v);
				return WA_BIN_ENOMEM;
			}
			*n->jid = v.jid;
		}
		n->len = v.len;
		n->data = (uint8_t *)val_take_str(&v, 0);
		val_release(&v);
		if (n->data == NULL)
			return WA_BIN_ENOMEM;
		n->kind = WA_CONTENT_STRING;
		return 0;
	}
}

static int read_attrs(struct dec *d, struct wa_node *n, size_t count)
{
	size_t prealloc;
	int rc;

	if (count == 0)
		return 0;
	if (count > d->lim->max_list)
		return WA_BIN_ETOOBIG;
	prealloc = (d->len - d->pos) / 2;
	if (prealloc > count)
		prealloc = count;
	if (prealloc == 0)
		return WA_BIN_ETRUNC;
	n->attrs = calloc(prealloc, sizeof *n->attrs);
	if (n->attrs == NULL)
		return WA_BIN_ENOMEM;
	n->attrs_cap = prealloc;
	for (size_t i = 0; i < count; i++) {
		struct val k, v;
		struct wa_attr *a = NULL;
		char *key, *val;

		if ((rc = read_plain(d, &k, 0)))
			return rc;
		if (k.len == 0 || memchr(k.s, '\0', k.len)) {
			val_release(&k);
			return WA_BIN_EINVAL;
		}
		{
			unsigned tag;

			if ((rc = rd_u8(d, &tag)) || (rc = read_value(d, tag, &v, 1, 1))) {
				val_release(&k);
				return rc;
			}
		}
		if (memchr(v.s, '\0', v.len)) {
			val_release(&k);
			val_release(&v);
			return WA_BIN_EINVAL;
		}
		/* A repeated key replaces the earlier value (whatsmeow map). */
		for (size_t j = 0; j < n->nattrs; j++)
			if (strlen(n->attrs[j].key) == k.len && memcmp(n->attrs[j].key, k.s, k.len) == 0)
				a = &n->attrs[j];
		key = a ? NULL : val_take_str(&k, 1);
		val = val_take_str(&v, 1);
		val_release(&k);
		if ((a == NULL && key == NULL) || val == NULL) {
			node_str_free(key);
			node_str_free(val);
			val_release(&v);
			return WA_BIN_ENOMEM;
		}
		if (a) {
			node_str_free(a->val);
			free(a->jid);
			a->jid = NULL;
		} else {
			if (n->nattrs == n->attrs_cap) {
				size_t cap = n->attrs_cap * 2 < count ? n->attrs_cap * 2 : count;
				struct wa_attr *p = realloc(n->attrs, cap * sizeof *p);

				if (p == NULL) {
					node_str_free(key);
					node_str_free(val);
					val_release(&v);
					return WA_BIN_ENOMEM;
				}
				n->attrs = p;
				n->attrs_cap = cap;
			}
			a = &n->attrs[n->nattrs++];
			a->key = key;
			a->jid = NULL;
		}
		a->val = val;
		if (v.is_jid) {
			a->jid = malloc(sizeof *a->jid);
			if (a->jid == NULL) {
				val_release(&v);
				return WA_BIN_ENOMEM;
			}
			*a->jid = v.jid;
		}
		val_release(&v);
	}
	return 0;
}

static int read_node(struct dec *d, unsigned depth, struct wa_node **out)
{
	struct wa_node *n;
	struct val t;
	unsigned tag;
	size_t size;
	int rc;

	if (depth > d->lim->max_depth)
		return WA_BIN_ETOOBIG;
	if (++d->nodes > d->lim->max_nodes)
		return WA_BIN_ETOOBIG;
	if (rd_u8(d, &tag))
		return WA_BIN_ETRUNC;
	if ((rc = list_size(d, tag, &size)))
		return rc;
	if (size == 0)
		return WA_BIN_EINVAL;
	if ((rc = read_plain(d, &t, 0)))
		return rc;
	if (t.len == 0 || memchr(t.s, '\0', t.len)) {
		val_release(&t);
		return WA_BIN_EINVAL;
	}
	n = calloc(1, sizeof *n);
	if (n == NULL) {
		val_release(&t);
		return WA_BIN_ENOMEM;
	}
	n->tag = val_take_str(&t, 1);
	val_release(&t);
	if (n->tag == NULL) {
		free(n);
		return WA_BIN_ENOMEM;
	}
	rc = read_attrs(d, n, (size - 1) >> 1);
	if (rc == 0 && size % 2 == 0)
		rc = read_content(d, n, depth);
	if (rc) {
		wa_node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

int wa_binary_decode(const uint8_t *p, size_t len, const struct wa_binary_limits *lim,
		     struct wa_node **out)
{
	struct wa_binary_limits def;
	struct dec d;
	struct wa_node *n;
	int rc;

	if (lim == NULL) {
		wa_binary_limits_default(&def);
		lim = &def;
	}
	if (p == NULL || len == 0)
		return WA_BIN_ETRUNC;
	memset(&d, 0, sizeof d);
	d.p = p;
	d.len = len;
	d.lim = lim;
	rc = read_node(&d, 1, &n);
	if (rc)
		return rc;
	if (d.pos != d.len) {
		wa_node_free(n);
		return WA_BIN_EINVAL;
	}
	*out = n;
	return WA_BIN_OK;
}

static int inflate_capped(const uint8_t *in, size_t len, size_t cap, uint8_t **out, size_t *outlen)
{
	z_stream zs;
	uint8_t *buf = NULL;
	size_t alloc = 0, used = 0;
	int zr, rc = WA_BIN_EZLIB;

	memset(&zs, 0, sizeof zs);
	if (inflateInit(&zs) != Z_OK)
		return WA_BIN_ENOMEM;
	zs.next_in = (Bytef *)(uintptr_t)in;
	/* Frames are below 16 MiB; larger input cannot be a frame anyway. */
	if (len > 0xFFFFFFFFu)
		goto out;
	zs.avail_in = (uInt)len;
	for (;;) {
		if (used == alloc) {
			size_t na = alloc ? alloc * 2 : 4096;
			uint8_t *p;

			if (alloc >= cap + 1) {
				rc = WA_BIN_ETOOBIG;
				goto out;
			}
			if (na > cap + 1)
				na = cap + 1;
			p = realloc(buf, na);
			if (p == NULL) {
				rc = WA_BIN_ENOMEM;
				goto out;
			}
			buf = p;
			alloc = na;
		}
		zs.next_out = buf + used;
		zs.avail_out = (uInt)(alloc - used);
		zr = inflate(&zs, Z_NO_FLUSH);
		used = alloc - zs.avail_out;
		if (used > cap) {
			rc = WA_BIN_ETOOBIG;
			goto out;
		}
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_BUF_ERROR && zs.avail_in == 0)
			goto out; /* truncated stream */
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			goto out;
	}
	*out = buf;
	*outlen = used;
	buf = NULL;
	rc = 0;
out:
	inflateEnd(&zs);
	free(buf);
	return rc;
}

int wa_binary_unmarshal(const uint8_t *frame, size_t len, const struct wa_binary_limits *lim,
			struct wa_node **out)
{
	struct wa_binary_limits def;
	uint8_t *plain;
	size_t plen;
	int rc;

	if (lim == NULL) {
		wa_binary_limits_default(&def);
		lim = &def;
	}
	if (frame == NULL || len < 1)
		return WA_BIN_ETRUNC;
	if (!(frame[0] & 2))
		return wa_binary_decode(frame + 1, len - 1, lim, out);
	rc = inflate_capped(frame + 1, len - 1, lim->max_inflated, &plain, &plen);
	if (rc)
		return rc;
	rc = wa_binary_decode(plain, plen, lim, out);
	free(plain);
	return rc;
}

int wa_binary_compress_frame(const uint8_t *frame, size_t len, uint8_t **out, size_t *outlen)
{
	uLongf bound;
	uint8_t *buf;

	if (frame == NULL || len < 1 || len - 1 > 0x7FFFFFFFu)
		return WA_BIN_EINVAL;
	bound = compressBound((uLong)(len - 1));
	buf = malloc(bound + 1);
	if (buf == NULL)
		return WA_BIN_ENOMEM;
	buf[0] = (uint8_t)(frame[0] | 2);
	if (compress2(buf + 1, &bound, frame + 1, (uLong)(len - 1), Z_DEFAULT_COMPRESSION) != Z_OK) {
		free(buf);
		return WA_BIN_EZLIB;
	}
	*out = buf;
	*outlen = bound + 1;
	return WA_BIN_OK;
}
