/* nodeprint.c: render a stanza tree as XML-like text for logs (node.h).
 *
 * Default mode is safe for logs: byte contents become "[N bytes]", phone
 * numbers in JIDs are masked (first 2 and last 2 digits kept), long
 * strings are cut. WA_NODE_PRINT_FULL shows everything (bytes as hex) and
 * is for local debugging only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/buf.h"
#include "wa/node.h"

#define STR_SHOW_MAX 64   /* default mode: longer text values are cut */

struct pr {
	struct wa_buf b;
	int flags;
	int full;             /* output reached WA_NODE_PRINT_MAX */
};

static void out(struct pr *p, const char *s, size_t n)
{
	if (p->full)
		return;
	if (p->b.len + n > WA_NODE_PRINT_MAX - 4) {
		n = WA_NODE_PRINT_MAX - 4 - p->b.len;
		(void)wa_buf_append(&p->b, s, n);
		(void)wa_buf_append(&p->b, "...", 3);
		p->full = 1;
		return;
	}
	if (wa_buf_append(&p->b, s, n) < 0)
		p->full = 1;
}

static void outs(struct pr *p, const char *s)
{
	out(p, s, strlen(s));
}

/* Escape for an attribute value / text: quotes, angle brackets, control
 * and non-ASCII bytes as \xNN so a log line stays one line and readable. */
static void out_escaped(struct pr *p, const char *s, size_t n)
{
	char tmp[8];

	for (size_t i = 0; i < n && !p->full; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '<' || c == '>' || c == '\\' || c < 0x20 || c >= 0x7f) {
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
			outs(p, tmp);
		} else {
			out(p, (const char *)&c, 1);
		}
	}
}

static void out_text(struct pr *p, const char *s, size_t n)
{
	if (!(p->flags & WA_NODE_PRINT_FULL) && n > STR_SHOW_MAX) {
		char tmp[48];

		out_escaped(p, s, STR_SHOW_MAX);
		snprintf(tmp, sizeof tmp, "...[%zu chars]", n);
		outs(p, tmp);
		return;
	}
	out_escaped(p, s, n);
}

/* Mask a phone number user part: keep 2 leading and 2 trailing digits. */
static void out_jid(struct pr *p, const struct wa_jid *j, const char *str)
{
	char buf[WA_JID_STR_MAX];
	struct wa_jid m;
	size_t ul;

	if ((p->flags & WA_NODE_PRINT_FULL) ||
	    (strcmp(j->server, WA_SERVER_USER) != 0 && strcmp(j->server, WA_SERVER_LEGACY) != 0)) {
		out_escaped(p, str, strlen(str));
		return;
	}
	m = *j;
	ul = strlen(m.user);
	for (size_t i = 2; i + 2 < ul; i++)
		m.user[i] = '*';
	if (wa_jid_format(&m, buf, sizeof buf) < 0) {
		outs(p, "?");
		return;
	}
	out_escaped(p, buf, strlen(buf));
}

/* Strings that look like JIDs were set as plain strings sometimes
 * (e.g. by Baileys-style builders); mask those too. */
static void out_value(struct pr *p, const char *val, const struct wa_jid *jid)
{
	struct wa_jid j;

	if (jid) {
		out_jid(p, jid, val);
		return;
	}
	if (!(p->flags & WA_NODE_PRINT_FULL) && strchr(val, '@') &&
	    wa_jid_parse(val, &j, NULL) == 0) {
		out_jid(p, &j, val);
		return;
	}
	out_text(p, val, strlen(val));
}

static void indent(struct pr *p, unsigned depth)
{
	if (!(p->flags & WA_NODE_PRINT_INDENT))
		return;
	if (p->b.len)
		outs(p, "\n");
	for (unsigned i = 0; i < depth; i++)
		outs(p, "  ");
}

static void print_node(struct pr *p, const struct wa_node *n, unsigned depth)
{
	static const char hexd[] = "0123456789abcdef";

	indent(p, depth);
	if (depth > 64) {
		outs(p, "<...>");
		return;
	}
	outs(p, "<");
	out_escaped(p, n->tag, strlen(n->tag));
	for (size_t i = 0; i < n->nattrs && !p->full; i++) {
		outs(p, " ");
		out_escaped(p, n->attrs[i].key, strlen(n->attrs[i].key));
		outs(p, "=\"");
		out_value(p, n->attrs[i].val, n->attrs[i].jid);
		outs(p, "\"");
	}
	switch (n->kind) {
	case WA_CONTENT_NONE:
		outs(p, "/>");
		return;
	case WA_CONTENT_LIST:
		outs(p, ">");
		for (size_t i = 0; i < n->nchildren && !p->full; i++)
			print_node(p, n->children[i], depth + 1);
		if (n->nchildren)
			indent(p, depth);
		break;
	case WA_CONTENT_BYTES:
		outs(p, ">");
		if (p->flags & WA_NODE_PRINT_FULL) {
			char h[2];

			for (size_t i = 0; i < n->len && !p->full; i++) {
				h[0] = hexd[n->data[i] >> 4];
				h[1] = hexd[n->data[i] & 15];
				out(p, h, 2);
			}
		} else {
			char tmp[40];

			snprintf(tmp, sizeof tmp, "[%zu bytes]", n->len);
			outs(p, tmp);
		}
		break;
	case WA_CONTENT_STRING:
		outs(p, ">");
		if (n->jid)
			out_jid(p, n->jid, (const char *)n->data);
		else
			out_text(p, (const char *)n->data, n->len);
		break;
	}
	outs(p, "</");
	out_escaped(p, n->tag, strlen(n->tag));
	outs(p, ">");
}

char *wa_node_to_string(const struct wa_node *n, int flags)
{
	struct pr p;
	size_t len;

	memset(&p, 0, sizeof p);
	p.flags = flags;
	p.b.cap = WA_NODE_PRINT_MAX;
	if (n == NULL)
		outs(&p, "<nil/>");
	else
		print_node(&p, n, 0);
	if (wa_buf_put_u8(&p.b, 0) < 0) {
		wa_buf_free(&p.b);
		return NULL;
	}
	return (char *)wa_buf_steal(&p.b, &len);
}
