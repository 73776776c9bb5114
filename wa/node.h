/* node: the WhatsApp stanza tree ("binary node", docs/protocol.md 3.1).
 *
 * A node is a tag, an ordered list of attributes and optional content, which
 * is one of: nothing, a list of child nodes, raw bytes, or a string (a
 * string is what the wire encodes as a token / packed / JID value; bytes are
 * what it encodes as BINARY_8/20/32). Attribute values are strings; a value
 * set as a JID (or decoded from a JID encoding) also keeps the structured
 * JID and is encoded as one.
 *
 * Ownership: a tree owns everything in it. wa_node_new() returns a node that
 * the caller frees with wa_node_free(), which frees the whole subtree
 * (content bytes are zeroed first: they may hold key material).
 * wa_node_add_child() takes ownership of the child on success only. Every
 * pointer returned by a getter is borrowed and lives as long as the node
 * is not modified or freed. The struct fields are public for reading and
 * iteration; change a tree only through the functions below.
 * The tag, attribute key and attribute value strings of a decoded tree
 * (wa_binary_unmarshal) may point into the static token tables instead of
 * the heap (wa_token_is_static() tells which): they are read-only like
 * every string in a tree, and wa_node_free() and the setters know not to
 * free them. Content (data) is always a heap copy.
 *
 * Threads: no shared state; one thread may use a tree at a time.
 * Errors: 0 / -1 (-1 = out of memory or a bad argument; the node is then
 * unchanged). Builders given a NULL node return -1 (or NULL); getters given
 * a NULL node return "absent".
 *
 * Attribute values that are NULL or "" are not stored (whatsmeow omits
 * empty attributes on the wire, docs/protocol.md 3.4). */
#ifndef WA_NODE_H
#define WA_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "wa/jid.h"

enum wa_content {
	WA_CONTENT_NONE = 0,
	WA_CONTENT_LIST,   /* children[0..nchildren) (possibly zero children) */
	WA_CONTENT_BYTES,  /* data[0..len), binary */
	WA_CONTENT_STRING, /* data[0..len), text; jid set if it was a JID */
};

struct wa_attr {
	char *key;
	char *val;           /* string form, never NULL */
	struct wa_jid *jid;  /* non-NULL: the value is a JID (encoded as one) */
};

struct wa_node {
	char *tag;
	struct wa_attr *attrs;
	size_t nattrs, attrs_cap;
	enum wa_content kind;
	struct wa_node **children;
	size_t nchildren, children_cap;
	uint8_t *data;       /* BYTES / STRING; always followed by a NUL byte */
	size_t len;
	struct wa_jid *jid;  /* STRING content that is a JID */
};

/* New empty node with a copy of tag (no attributes, no content).
 * NULL on out of memory or an empty/NULL tag. */
struct wa_node *wa_node_new(const char *tag);

/* New node with string attributes given as key, value pairs ending with a
 * NULL key; a NULL or "" value skips that key:
 *   wa_node_new_attrs("iq", "id", id, "type", "get", "xmlns", "w:p", NULL)
 * NULL on out of memory or an empty tag/key. */
struct wa_node *wa_node_new_attrs(const char *tag, ...);

/* Free a node and its whole subtree. NULL is a no-op. */
void wa_node_free(struct wa_node *n);

/* Deep copy, NULL on out of memory. */
struct wa_node *wa_node_dup(const struct wa_node *n);

/* Set attribute key to a copy of val, replacing an existing value in place
 * (order is kept) or appending. val NULL or "" removes the key. */
int wa_node_set_attr(struct wa_node *n, const char *key, const char *val);

/* Same for len bytes at val (no NUL needed; an embedded NUL is an error). */
int wa_node_set_attr_n(struct wa_node *n, const char *key, const char *val, size_t len);

/* Set a JID-typed attribute (encoded as JID_PAIR / AD_JID / ... on the wire;
 * the string form is wa_jid_format()). */
int wa_node_set_attr_jid(struct wa_node *n, const char *key, const struct wa_jid *jid);

/* Set an integer attribute (decimal). */
int wa_node_set_attr_int(struct wa_node *n, const char *key, long long v);
int wa_node_set_attr_uint(struct wa_node *n, const char *key, unsigned long long v);

/* Remove key if present. */
void wa_node_del_attr(struct wa_node *n, const char *key);

/* Append child (ownership moves to n on success; n's content becomes a
 * list, replacing bytes/string content). */
int wa_node_add_child(struct wa_node *n, struct wa_node *child);

/* Create a child with tag, append it and return it (borrowed), or NULL. */
struct wa_node *wa_node_add_new(struct wa_node *n, const char *tag);

/* Make the content an empty list (encoded as LIST_EMPTY 0x00). */
int wa_node_set_empty_list(struct wa_node *n);

/* Replace the content with a copy of len bytes (encoded BINARY_8/20/32). */
int wa_node_set_bytes(struct wa_node *n, const void *data, size_t len);

/* Replace the content with a copy of the string s (encoded as a token,
 * packed or raw string, exactly as whatsmeow writes a string). */
int wa_node_set_string(struct wa_node *n, const char *s);
int wa_node_set_string_n(struct wa_node *n, const char *s, size_t len);

/* Replace the content with a JID value. */
int wa_node_set_content_jid(struct wa_node *n, const struct wa_jid *jid);

/* Drop the content (children are freed). */
void wa_node_clear_content(struct wa_node *n);

/* ---- getters ---- */

/* Attribute value (string form) or NULL if absent. */
const char *wa_node_attr(const struct wa_node *n, const char *key);

/* Attribute value or def if absent. */
const char *wa_node_attr_or(const struct wa_node *n, const char *key, const char *def);

/* 1 if attribute key equals val, else 0. */
int wa_node_attr_is(const struct wa_node *n, const char *key, const char *val);

/* Decimal integer attributes: 0 on success, -1 if absent, not a number or
 * out of range (*out untouched). */
int wa_node_attr_int(const struct wa_node *n, const char *key, long long *out);
int wa_node_attr_uint(const struct wa_node *n, const char *key, unsigned long long *out);

/* JID attribute: the decoded JID, or the string parsed with wa_jid_parse().
 * 0 on success, -1 if absent or unparsable. */
int wa_node_attr_jid(const struct wa_node *n, const char *key, struct wa_jid *out);

/* First child with tag, or NULL (also when n has no list content). */
struct wa_node *wa_node_child(const struct wa_node *n, const char *tag);

/* Next child with tag after `prev` (NULL = first). Iterate with
 *   for (c = wa_node_next(n, "to", NULL); c; c = wa_node_next(n, "to", c)) */
struct wa_node *wa_node_next(const struct wa_node *n, const char *tag, const struct wa_node *prev);

/* Child i or NULL. */
struct wa_node *wa_node_child_at(const struct wa_node *n, size_t i);

/* Number of children with tag (all children when tag is NULL). */
size_t wa_node_count(const struct wa_node *n, const char *tag);

/* Follow a path of tags: wa_node_path(n, "pair-success", "device", NULL). */
struct wa_node *wa_node_path(const struct wa_node *n, ...);

/* Bytes or string content (NUL-terminated after len), or NULL with *len 0
 * for none/list content. len may be NULL. */
const uint8_t *wa_node_content(const struct wa_node *n, size_t *len);

/* Content as a C string if it is bytes or string content without an
 * embedded NUL, else NULL. */
const char *wa_node_content_str(const struct wa_node *n);

/* ---- printing (nodeprint.c) ---- */

enum {
	WA_NODE_PRINT_DEFAULT = 0,  /* for logs: bytes elided as [N bytes],
	                               phone numbers masked, long strings cut */
	WA_NODE_PRINT_FULL = 1,     /* debugging: bytes as hex, nothing masked */
	WA_NODE_PRINT_INDENT = 2,   /* one element per line, indented */
};

/* Render as XML-like text (for logs): <iq id="1" type="get"><ping/></iq>.
 * Output is capped at WA_NODE_PRINT_MAX bytes (ends with "..." when cut).
 * Returns a malloc'd NUL-terminated string the caller frees, NULL on OOM. */
#define WA_NODE_PRINT_MAX (256u * 1024)
char *wa_node_to_string(const struct wa_node *n, int flags);

#endif
