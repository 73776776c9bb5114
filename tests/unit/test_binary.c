/* test_binary: the binary node codec, token tables and node tree.
 *
 * - token tables: sizes, well-known indices, reverse lookup of every token;
 * - tests/vectors/protocol.json "binary": every string and node vector is
 *   produced byte for byte by the encoder and decoded back (incl. flag 2);
 * - hand-made bytes for each tag kind (LIST_16, BINARY_20/32, DICTIONARY_1..3,
 *   FB_JID, INTEROP_JID, hosted AD_JID, HEX_8, NIBBLE_8, empty strings);
 * - random trees (many seeds): encode -> decode -> encode is byte-identical
 *   and the trees are equal;
 * - every prefix of a valid encoding is rejected, trailing bytes rejected,
 *   malformed bytes rejected, every cap enforced;
 * - node API and the log printer. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "wa/binary.h"
#include "wa/node.h"
#include "wa/tokens.h"
#include "wa_util.h"

static json_t *vectors;

static int unhex(const char *hex, uint8_t **out, size_t *len)
{
	size_t n = strlen(hex) / 2;

	*out = malloc(n ? n : 1);
	if (!*out || wa_hex_decode(hex, *out, n) < 0)
		return -1;
	*len = n;
	return 0;
}

static char *tohex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	wa_hex_encode(p, n, s);
	return s;
}

static const char *vec(const char *name, const char *field)
{
	json_t *o = json_object_get(json_object_get(vectors, "binary"), name);

	return json_string_value(json_object_get(o, field));
}

/* Marshal n (flag 0) and compare with hex. */
static void check_encodes(const struct wa_node *n, const char *want, const char *name)
{
	uint8_t *out = NULL;
	size_t len = 0;
	int rc = wa_binary_marshal(n, &out, &len);
	char *got = rc == 0 ? tohex(out, len) : NULL;
	char msg[128];

	snprintf(msg, sizeof msg, "encode %s", name);
	is_str(got, want, msg);
	free(got);
	free(out);
}

/* Unmarshal hex, re-marshal (flag 0) and compare with want. */
static struct wa_node *check_roundtrip(const char *hex, const char *want, const char *name)
{
	uint8_t *in, *out = NULL;
	size_t len, olen = 0;
	struct wa_node *n = NULL;
	char msg[128];
	int rc;

	unhex(hex, &in, &len);
	rc = wa_binary_unmarshal(in, len, NULL, &n);
	snprintf(msg, sizeof msg, "decode %s", name);
	is_int(rc, 0, msg);
	if (rc == 0) {
		char *got;

		wa_binary_marshal(n, &out, &olen);
		got = tohex(out, olen);
		snprintf(msg, sizeof msg, "re-encode %s", name);
		is_str(got, want, msg);
		free(got);
		free(out);
	}
	free(in);
	return n;
}

static void test_tokens(void)
{
	unsigned d = 99, i = 99;
	int bad = 0;

	is_str(wa_token_get_single(3), "s.whatsapp.net", "token 3");
	is_str(wa_token_get_single(230), "device-identity", "token 230");
	ok(wa_token_get_single(0) == NULL && wa_token_get_single(236) == NULL, "single bounds");
	is_str(wa_token_get_double(1, 238), "pair-device", "double 1/238");
	is_str(wa_token_get_double(2, 60), "failure", "double 2/60");
	ok(wa_token_get_double(4, 0) == NULL, "double bounds");
	for (unsigned k = 1; k < WA_TOKEN_SINGLE_COUNT; k++) {
		const char *s = wa_token_single[k];
		if (wa_token_lookup(s, strlen(s), &d, &i) != 1 || i != k)
			bad++;
	}
	for (unsigned dd = 0; dd < 4; dd++)
		for (unsigned k = 0; k < 256; k++) {
			const char *s = wa_token_double[dd][k];
			if (wa_token_lookup(s, strlen(s), &d, &i) != 2 || d != dd || i != k)
				bad++;
		}
	is_int(bad, 0, "reverse lookup finds every token at its index");
	is_int(wa_token_lookup("", 0, &d, &i), 0, "empty string is not a token");
	is_int(wa_token_lookup("ib", 2, &d, &i), 0, "ib is not a token");
	is_int(wa_token_lookup("pair-success", 12, &d, &i), 0, "pair-success is not a token");
	is_int(wa_token_lookup("s.whatsapp.netx", 14, &d, &i), 1, "lookup honours len");
}

static void test_string_vectors(void)
{
	json_t *strs = json_object_get(json_object_get(vectors, "binary"), "strings");
	const char *k;
	json_t *v;

	ok(json_object_size(strs) >= 8, "string vectors present");
	json_object_foreach(strs, k, v) {
		struct wa_buf b = WA_BUF_INIT;
		char msg[96], *got;

		wa_binary_encode_string(k, strlen(k), &b);
		got = tohex(b.data, b.len);
		snprintf(msg, sizeof msg, "string '%s'", k);
		is_str(got, json_string_value(v), msg);
		free(got);
		wa_buf_free(&b);
	}
}

static void test_node_vectors(void)
{
	struct wa_jid srv, to, dev, lid;
	struct wa_node *n, *c, *p;
	const char *want;

	wa_jid_server(&srv);

	/* ping IQ (PROTOCOL 3.7) */
	n = wa_node_new("iq");
	wa_node_set_attr(n, "id", "1.2-1");
	wa_node_set_attr_jid(n, "to", &srv);
	wa_node_set_attr(n, "type", "get");
	wa_node_set_attr(n, "xmlns", "w:p");
	want = vec("ping_iq", "encoded_with_flag_byte");
	is_str(want, "00f8091908ff831b2a1f11fa000304291657", "ping vector equals PROTOCOL 3.7");
	check_encodes(n, want, "ping_iq");
	wa_node_free(n);
	n = check_roundtrip(want, want, "ping_iq");
	if (n) {
		struct wa_jid j;

		is_str(n->tag, "iq", "ping tag");
		is_int(n->nattrs, 4, "ping attrs");
		is_str(wa_node_attr(n, "to"), "s.whatsapp.net", "ping to string");
		ok(wa_node_attr_jid(n, "to", &j) == 0 && wa_jid_is_server(&j), "ping to is the server jid");
		is_int(n->kind, WA_CONTENT_NONE, "ping has no content");
	}
	wa_node_free(n);

	/* pre-key count IQ */
	n = wa_node_new("iq");
	wa_node_set_attr(n, "id", "12345.678-2");
	wa_node_set_attr(n, "xmlns", "encrypt");
	wa_node_set_attr(n, "type", "get");
	wa_node_set_attr_jid(n, "to", &srv);
	wa_node_add_new(n, "count");
	want = vec("prekey_count_iq", "encoded_with_flag_byte");
	check_encodes(n, want, "prekey_count_iq");
	wa_node_free(n);
	wa_node_free(check_roundtrip(want, want, "prekey_count_iq"));
	n = check_roundtrip(vec("prekey_count_iq_zlib_flag2", "frame"), want, "zlib flag 2 frame");
	ok(n && wa_node_child(n, "count") != NULL, "zlib frame has <count/>");
	wa_node_free(n);

	/* passive IQ with a double-byte token tag */
	n = wa_node_new("iq");
	wa_node_set_attr(n, "id", "1.2-3");
	wa_node_set_attr_jid(n, "to", &srv);
	wa_node_set_attr(n, "type", "set");
	wa_node_set_attr(n, "xmlns", "passive");
	wa_node_add_new(n, "active");
	want = vec("passive_active_iq", "encoded_with_flag_byte");
	check_encodes(n, want, "passive_active_iq");
	wa_node_free(n);
	wa_node_free(check_roundtrip(want, want, "passive_active_iq"));

	/* message with AD JIDs and binary content */
	n = wa_node_new("message");
	wa_node_set_attr(n, "id", "3EB0A1B2C3D4E5F6A7B8C9");
	wa_jid_make(&to, "15551234567", WA_SERVER_USER);
	wa_node_set_attr_jid(n, "to", &to);
	wa_node_set_attr(n, "type", "text");
	p = wa_node_add_new(n, "participants");
	c = wa_node_add_new(p, "to");
	wa_jid_make_ad(&dev, "15551234567", 2, WA_SERVER_USER);
	wa_node_set_attr_jid(c, "jid", &dev);
	c = wa_node_add_new(c, "enc");
	wa_node_set_attr(c, "v", "2");
	wa_node_set_attr(c, "type", "pkmsg");
	wa_node_set_bytes(c, "\x33\x0a\x01", 3);
	c = wa_node_add_new(n, "device-identity");
	wa_node_set_bytes(c, "\x0a\x00", 2);
	want = vec("message_with_ad_jids", "encoded_with_flag_byte");
	check_encodes(n, want, "message_with_ad_jids");
	{
		char *s = wa_node_to_string(n, WA_NODE_PRINT_DEFAULT);
		is_str(s, "<message id=\"3EB0A1B2C3D4E5F6A7B8C9\" to=\"15*******67@s.whatsapp.net\" type=\"text\">"
			  "<participants><to jid=\"15*******67:2@s.whatsapp.net\"><enc v=\"2\" type=\"pkmsg\">[3 bytes]</enc>"
			  "</to></participants><device-identity>[2 bytes]</device-identity></message>",
		       "print default elides bytes and masks numbers");
		free(s);
		s = wa_node_to_string(n, WA_NODE_PRINT_FULL);
		is_str(s, "<message id=\"3EB0A1B2C3D4E5F6A7B8C9\" to=\"15551234567@s.whatsapp.net\" type=\"text\">"
			  "<participants><to jid=\"15551234567:2@s.whatsapp.net\"><enc v=\"2\" type=\"pkmsg\">330a01</enc>"
			  "</to></participants><device-identity>0a00</device-identity></message>",
		       "print full");
		free(s);
		s = wa_node_to_string(n, WA_NODE_PRINT_INDENT);
		ok(s && strstr(s, "\n  <participants>") && strstr(s, "\n    <to "), "print indent");
		free(s);
	}
	wa_node_free(n);
	n = check_roundtrip(want, want, "message_with_ad_jids");
	if (n) {
		struct wa_node *e = wa_node_path(n, "participants", "to", "enc", NULL);
		struct wa_jid j;
		size_t len;
		const uint8_t *d = wa_node_content(e, &len);

		ok(e && len == 3 && memcmp(d, "\x33\x0a\x01", 3) == 0, "enc content decoded");
		is_int(e ? (int)e->kind : -1, WA_CONTENT_BYTES, "enc content is bytes");
		ok(wa_node_attr_jid(wa_node_path(n, "participants", "to", NULL), "jid", &j) == 0 &&
		   j.device == 2 && strcmp(j.user, "15551234567") == 0, "AD jid decoded");
		is_str(wa_node_attr(wa_node_path(n, "participants", "to", NULL), "jid"),
		       "15551234567:2@s.whatsapp.net", "AD jid string form");
	}
	wa_node_free(n);

	/* ack with a LID AD JID */
	n = wa_node_new("ack");
	wa_node_set_attr(n, "class", "receipt");
	wa_node_set_attr(n, "id", "ABCDEF");
	wa_jid_make_ad(&lid, "123456789012345", 1, WA_SERVER_LID);
	wa_node_set_attr_jid(n, "to", &lid);
	want = vec("lid_ad_jid_ack", "encoded_with_flag_byte");
	check_encodes(n, want, "lid_ad_jid_ack");
	wa_node_free(n);
	n = check_roundtrip(want, want, "lid_ad_jid_ack");
	is_str(n ? wa_node_attr(n, "to") : NULL, "123456789012345:1@lid", "lid AD jid string");
	is_str(n ? wa_node_attr(n, "id") : NULL, "ABCDEF", "HEX_8 even decoded");
	wa_node_free(n);

	/* success frame from the Noise transcript (PROTOCOL 15.1) */
	n = wa_node_new("success");
	wa_node_set_attr(n, "t", "1700000000");
	wa_jid_make(&lid, "123456789012345", WA_SERVER_LID);
	wa_node_set_attr_jid(n, "lid", &lid);
	want = json_string_value(json_object_get(json_object_get(json_object_get(vectors, "noise"),
								  "transport_first_server_frame"), "plaintext"));
	if (want == NULL)
		want = "00f8054c1aff05170000000076faff88123456789012345f76";
	check_encodes(n, "00f8054c1aff05170000000076faff88123456789012345f76", "success frame");
	wa_node_free(n);
	wa_node_free(check_roundtrip(want, "00f8054c1aff05170000000076faff88123456789012345f76",
				     "success frame"));
}

/* Decode hex (no flag byte), expect rc; on success re-encode must equal. */
static struct wa_node *dec_hex(const char *hex, int want_rc, const char *name)
{
	uint8_t *in;
	size_t len;
	struct wa_node *n = NULL;
	int rc;

	unhex(hex, &in, &len);
	rc = wa_binary_decode(in, len, NULL, &n);
	is_int(rc, want_rc, name);
	if (rc == 0) {
		struct wa_buf b = WA_BUF_INIT;
		char msg[160];

		wa_binary_encode(n, &b);
		snprintf(msg, sizeof msg, "%s re-encodes identically", name);
		ok(b.len == len && memcmp(b.data, in, len) == 0, msg);
		wa_buf_free(&b);
	}
	free(in);
	return n;
}

static void test_tag_kinds(void)
{
	struct wa_node *n;
	struct wa_jid j;

	/* DICTIONARY_1..3 tag, attribute and content */
	n = dec_hex("f803ed33ee3cef14", 0, "DICTIONARY_1/2/3");
	is_str(n ? n->tag : NULL, "w:g2", "dict 1 tag");
	is_str(wa_node_attr(n, "failure"), "seen", "dict 2 key, dict 3 value");
	wa_node_free(n);

	/* string content as single token */
	n = dec_hex("f80213f4", WA_BIN_EINVAL, "unused tag 0xf4 rejected");
	wa_node_free(n);
	n = dec_hex("f80213ec00", 0, "token string content");
	is_str(wa_node_content_str(n), "read-self", "token content");
	is_int(n ? (int)n->kind : -1, WA_CONTENT_STRING, "token content kind");
	wa_node_free(n);

	/* empty strings: WM FF 00 and BL FC 00 both decode to "" */
	n = dec_hex("f80213ff00", 0, "NIBBLE_8 empty string");
	ok(n && n->kind == WA_CONTENT_STRING && n->len == 0, "empty nibble content");
	wa_node_free(n);
	{
		uint8_t in[] = { 0xf8, 0x02, 0x13, 0xfc, 0x00 };
		n = NULL;
		is_int(wa_binary_decode(in, sizeof in, NULL, &n), 0, "BINARY_8 empty content");
		ok(n && n->kind == WA_CONTENT_BYTES && n->len == 0, "empty bytes content");
		wa_node_free(n);
	}

	/* NIBBLE_8 odd, HEX_8 odd */
	n = dec_hex("f8031315ff03123a45", 0, "NIBBLE_8 attribute");
	is_str(wa_node_attr(n, "class"), "123-45", "nibble odd value");
	wa_node_free(n);
	n = dec_hex("f8031315fb843eb0ab1f", 0, "HEX_8 attribute");
	is_str(wa_node_attr(n, "class"), "3EB0AB1", "hex odd value");
	wa_node_free(n);
	n = dec_hex("f8031315ff8312345f", 0, "NIBBLE_8 odd");
	is_str(wa_node_attr(n, "class"), "12345", "nibble 12345");
	wa_node_free(n);

	/* FB_JID and INTEROP_JID */
	n = dec_hex("f80313" "11" "f6" "ff8312345f" "0007" "ec3b", WA_BIN_EINVAL, "FB_JID with wrong server rejected");
	wa_node_free(n);
	n = dec_hex("f80313" "11" "f6" "ff8312345f" "0007" "cc", 0, "FB_JID");
	ok(n && wa_node_attr_jid(n, "to", &j) == 0 && j.device == 7 &&
	   strcmp(j.server, "msgr") == 0 && strcmp(j.user, "12345") == 0, "FB_JID decoded");
	wa_node_free(n);
	n = dec_hex("f80313" "11" "f5" "ff8312345f" "0003" "0102" "fc07696e7465726f70", 0, "INTEROP_JID");
	ok(n && wa_node_attr_jid(n, "to", &j) == 0 && j.device == 3 && j.integrator == 0x102 &&
	   strcmp(j.server, "interop") == 0, "INTEROP_JID decoded");
	wa_node_free(n);

	/* hosted AD JID, device 0, and an agent on s.whatsapp.net */
	n = dec_hex("f80313" "11" "f7" "80" "00" "ff8312345f", 0, "AD_JID hosted");
	ok(n && wa_node_attr_jid(n, "to", &j) == 0 && strcmp(j.server, "hosted") == 0 && j.device == 0,
	   "hosted AD JID");
	wa_node_free(n);
	{
		uint8_t in[] = { 0xf8, 0x03, 0x13, 0x11, 0xf7, 0x05, 0x03, 0xff, 0x83, 0x12, 0x34, 0x5f };
		n = NULL;
		is_int(wa_binary_decode(in, sizeof in, NULL, &n), 0, "AD_JID with agent");
		is_str(wa_node_attr(n, "to"), "12345.5:3@s.whatsapp.net", "agent form string");
		wa_node_free(n);
	}

	/* JID as content */
	n = dec_hex("f80213fa0003", 0, "JID_PAIR content");
	ok(n && n->kind == WA_CONTENT_STRING && n->jid && wa_jid_is_server(n->jid), "jid content");
	wa_node_free(n);

	/* BINARY_20 and BINARY_32 */
	{
		size_t big = 300, huge = (1u << 20) + 5;
		uint8_t *in = malloc(huge + 16);
		struct wa_node *m = wa_node_new("media");
		struct wa_buf b = WA_BUF_INIT;

		memset(in, 0xAB, huge + 16);
		wa_node_set_bytes(m, in, big);
		wa_binary_encode(m, &b);
		ok(b.len == 3 + 4 + big && b.data[3] == 0xfd && b.data[4] == 0 && b.data[5] == 1 &&
		   b.data[6] == 44, "300 bytes -> BINARY_20");
		wa_buf_reset(&b);
		wa_node_set_bytes(m, in, huge);
		wa_binary_encode(m, &b);
		ok(b.len == 3 + 5 + huge && b.data[3] == 0xfe && b.data[4] == 0 && b.data[5] == 0x10 &&
		   b.data[6] == 0 && b.data[7] == 5, "1 MiB+5 bytes -> BINARY_32");
		wa_node_free(m);
		m = NULL;
		is_int(wa_binary_decode(b.data, b.len, NULL, &m), 0, "BINARY_32 decodes");
		ok(m && m->len == huge && m->data[huge - 1] == 0xAB, "BINARY_32 content");
		wa_node_free(m);
		/* A BINARY_32 of small size is accepted too (BL may write it). */
		{
			uint8_t s[] = { 0xf8, 0x02, 0x13, 0xfe, 0, 0, 0, 2, 'h', 'i' };
			m = NULL;
			is_int(wa_binary_decode(s, sizeof s, NULL, &m), 0, "small BINARY_32 decodes");
			ok(m && m->len == 2 && memcmp(m->data, "hi", 2) == 0, "small BINARY_32 content");
			wa_node_free(m);
		}
		wa_buf_free(&b);
		free(in);
	}

	/* LIST_16: 300 children */
	{
		struct wa_node *m = wa_node_new("list");
		struct wa_buf b = WA_BUF_INIT;
		struct wa_node *back = NULL;

		for (int i = 0; i < 300; i++)
			wa_node_add_new(m, "item");
		wa_binary_encode(m, &b);
		ok(b.len > 5 && b.data[3] == 0xf9 && b.data[4] == 1 && b.data[5] == 44, "300 children -> LIST_16");
		is_int(wa_binary_decode(b.data, b.len, NULL, &back), 0, "LIST_16 decodes");
		is_int(back ? back->nchildren : 0, 300, "LIST_16 children");
		wa_node_free(back);
		wa_node_free(m);
		wa_buf_free(&b);
	}

	/* empty child list is 0x00 and comes back as an empty list */
	n = dec_hex("f8021300", 0, "LIST_EMPTY content");
	ok(n && n->kind == WA_CONTENT_LIST && n->nchildren == 0, "empty list content");
	wa_node_free(n);

	/* whatsmeow's tag "0" special case */
	{
		struct wa_node *z = wa_node_new("0");
		struct wa_buf b = WA_BUF_INIT;

		wa_node_set_attr(z, "id", "1");
		wa_binary_encode(z, &b);
		ok(b.len == 2 && b.data[0] == 0xf8 && b.data[1] == 0x00, "tag \"0\" written as F8 00");
		wa_buf_free(&b);
		wa_node_free(z);
	}
}

static void test_malformed(void)
{
	static const char *bad[] = {
		"f800",             /* list size 0 */
		"00",               /* LIST_EMPTY as node */
		"13",               /* not a list */
		"f80100",           /* tag nil */
		"f801ff00",         /* empty tag */
		"f80213f801f800",   /* child with list size 0 */
		"f8031300fc0161",   /* nil key */
		"f8021313",         /* ok? 'message' content token - valid actually */
		"f80213ff81c0",     /* nibble 12 */
		"f80213ff81fd",     /* nibble 15 in non-pad low position?  "F?" hi 15 */
		"f80213ff80",       /* odd flag with zero bytes */
		"f80213fa0000",     /* JID pair with nil server */
		"f80313f80113fc0161", /* list as attribute key */
		"f8031311f801f80113", /* list as attribute value */
		"f80213f0",         /* unused tag */
		"f80213f5ff8312345f000000000d", /* interop with wrong server */
		"f80313fc0200610b0b", /* NUL in tag */
		"f8031311fafc03614062cc", /* '@' in a JID user */
		"f8031311fafc03613a31cc", /* ':' in a JID user */
		"f8031311fafc03612e31cc", /* '.' in a JID user */
		"f8031311f70000fc0120",   /* space in an AD JID user */
		"f8031311fa00fc0373406e", /* '@' in a JID server */
	};
	int expect_ok[] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t *in;
		size_t len;
		struct wa_node *n = NULL;
		int rc;
		char msg[96];

		unhex(bad[i], &in, &len);
		rc = wa_binary_decode(in, len, NULL, &n);
		snprintf(msg, sizeof msg, "malformed %s %s", bad[i], expect_ok[i] ? "accepted" : "rejected");
		ok(expect_ok[i] ? rc == 0 : rc < 0, msg);
		ok(rc == 0 || n == NULL, "out untouched on failure");
		wa_node_free(n);
		free(in);
	}
	/* trailing byte after the root */
	{
		uint8_t in[] = { 0xf8, 0x01, 0x19, 0x00 };
		struct wa_node *n = NULL;
		is_int(wa_binary_decode(in, sizeof in, NULL, &n), WA_BIN_EINVAL, "trailing bytes rejected");
	}
	/* empty input, flag only */
	{
		uint8_t in[] = { 0x00 };
		struct wa_node *n = NULL;
		ok(wa_binary_unmarshal(in, 0, NULL, &n) < 0, "empty frame rejected");
		ok(wa_binary_unmarshal(in, 1, NULL, &n) < 0, "flag-only frame rejected");
	}
	/* corrupt zlib */
	{
		uint8_t in[] = { 0x02, 0x78, 0x9c, 0xde, 0xad, 0xbe, 0xef };
		struct wa_node *n = NULL;
		is_int(wa_binary_unmarshal(in, sizeof in, NULL, &n), WA_BIN_EZLIB, "corrupt zlib rejected");
	}
}

/* ---------------------------------------------------------------- random */

static uint64_t rs;

static unsigned rnd(unsigned n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return n ? (unsigned)(rs % n) : 0;
}

static void rnd_string(char *s, size_t cap)
{
	size_t len;
	unsigned kind = rnd(6);

	if (kind == 0) {
		const char *t = wa_token_single[1 + rnd(235)];
		snprintf(s, cap, "%s", t);
		return;
	}
	if (kind == 1) {
		snprintf(s, cap, "%s", wa_token_double[rnd(4)][rnd(256)]);
		return;
	}
	len = 1 + rnd(kind == 5 ? 300 : 40);
	if (len >= cap)
		len = cap - 1;
	for (size_t i = 0; i < len; i++) {
		switch (kind) {
		case 2: s[i] = "0123456789-."[rnd(12)]; break;
		case 3: s[i] = "0123456789ABCDEF"[rnd(16)]; break;
		default: s[i] = (char)(0x20 + rnd(0x5f)); break;
		}
	}
	s[len] = '\0';
}

static void rnd_jid(struct wa_jid *j)
{
	static const char *servers[] = { "s.whatsapp.net", "lid", "g.us", "broadcast", "newsletter",
					 "hosted", "hosted.lid", "msgr", "interop", "c.us", "bot" };
	char user[24];
	unsigned len = 1 + rnd(18);
	const char *srv = servers[rnd(11)];

	for (unsigned i = 0; i < len; i++)
		user[i] = (char)('0' + rnd(10));
	user[len] = '\0';
	if (user[0] == '0')
		user[0] = '1';
	memset(j, 0, sizeof *j);
	wa_jid_make(j, rnd(10) == 0 ? "" : user, srv);
	if (strcmp(srv, "s.whatsapp.net") == 0 || strcmp(srv, "lid") == 0 ||
	    strcmp(srv, "hosted") == 0 || strcmp(srv, "hosted.lid") == 0) {
		if (j->user[0] == '\0')
			wa_jid_make(j, "5", srv);
		if (rnd(2))
			j->device = (uint16_t)(1 + rnd(255));
	} else if (strcmp(srv, "msgr") == 0 || strcmp(srv, "interop") == 0) {
		if (j->user[0] == '\0')
			wa_jid_make(j, "7", srv);
		j->device = (uint16_t)rnd(65536);
		if (srv[0] == 'i')
			j->integrator = (uint16_t)rnd(65536);
	}
}

static struct wa_node *rnd_node(unsigned depth)
{
	char tag[400], key[400], val[400];
	struct wa_node *n;
	unsigned na = rnd(6);

	do
		rnd_string(tag, sizeof tag);
	while (strcmp(tag, "0") == 0);
	n = wa_node_new(tag);
	for (unsigned i = 0; i < na; i++) {
		rnd_string(key, sizeof key);
		if (rnd(4) == 0) {
			struct wa_jid j;
			rnd_jid(&j);
			wa_node_set_attr_jid(n, key, &j);
		} else {
			rnd_string(val, sizeof val);
			wa_node_set_attr(n, key, val);
		}
	}
	switch (rnd(depth < 5 ? 5 : 4)) {
	case 0:
		break;
	case 1: {
		size_t len = rnd(8) == 0 ? 256 + rnd(3000) : rnd(64);
		uint8_t *b = malloc(len + 1);
		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t)rnd(256);
		wa_node_set_bytes(n, b, len);
		free(b);
		break;
	}
	case 2:
		rnd_string(val, sizeof val);
		wa_node_set_string(n, val);
		break;
	case 3: {
		struct wa_jid j;
		rnd_jid(&j);
		wa_node_set_content_jid(n, &j);
		break;
	}
	default: {
		unsigned nc = rnd(5);
		wa_node_set_empty_list(n);
		for (unsigned i = 0; i < nc; i++)
			wa_node_add_child(n, rnd_node(depth + 1));
		break;
	}
	}
	return n;
}

static int node_equal(const struct wa_node *a, const struct wa_node *b)
{
	if (strcmp(a->tag, b->tag) != 0 || a->nattrs != b->nattrs)
		return 0;
	for (size_t i = 0; i < a->nattrs; i++) {
		const struct wa_attr *x = &a->attrs[i], *y = &b->attrs[i];
		if (strcmp(x->key, y->key) != 0 || strcmp(x->val, y->val) != 0)
			return 0;
		if (!!x->jid != !!y->jid || (x->jid && !wa_jid_equal(x->jid, y->jid)))
			return 0;
	}
	if (a->kind == WA_CONTENT_LIST || b->kind == WA_CONTENT_LIST) {
		if (a->kind != b->kind || a->nchildren != b->nchildren)
			return 0;
		for (size_t i = 0; i < a->nchildren; i++)
			if (!node_equal(a->children[i], b->children[i]))
				return 0;
		return 1;
	}
	if (a->kind == WA_CONTENT_NONE || b->kind == WA_CONTENT_NONE)
		return a->kind == b->kind;
	/* A raw string comes back as bytes (as in whatsmeow). */
	if (!!a->jid != !!b->jid || (a->jid && !wa_jid_equal(a->jid, b->jid)))
		return 0;
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static void test_random(void)
{
	int fails = 0, trunc_fails = 0, eq_fails = 0, dup_fails = 0;
	const int seeds = 400;

	for (int s = 1; s <= seeds; s++) {
		struct wa_node *n, *back = NULL, *dup;
		struct wa_buf a = WA_BUF_INIT, b = WA_BUF_INIT;

		rs = 0x9E3779B97F4A7C15ULL * (uint64_t)s;
		n = rnd_node(1);
		if (wa_binary_encode(n, &a) != 0 || wa_binary_decode(a.data, a.len, NULL, &back) != 0 ||
		    wa_binary_encode(back, &b) != 0 || a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
			fails++;
		} else if (!node_equal(n, back)) {
			eq_fails++;
		}
		dup = wa_node_dup(n);
		if (dup == NULL || !node_equal(n, dup))
			dup_fails++;
		/* Every strict prefix must be rejected, without crashing. */
		for (size_t cut = 0; cut < a.len; cut += 1 + a.len / 64) {
			struct wa_node *t = NULL;
			if (wa_binary_decode(a.data, cut, NULL, &t) == 0) {
				trunc_fails++;
				wa_node_free(t);
			}
		}
		wa_node_free(dup);
		wa_node_free(back);
		wa_node_free(n);
		wa_buf_free(&a);
		wa_buf_free(&b);
	}
	is_int(fails, 0, "random trees: encode/decode/encode byte-identical (400 seeds)");
	is_int(eq_fails, 0, "random trees: decoded tree equals the original");
	is_int(dup_fails, 0, "random trees: wa_node_dup equals the original");
	is_int(trunc_fails, 0, "random trees: truncated encodings rejected");
}

static void test_caps(void)
{
	struct wa_binary_limits lim;
	struct wa_node *root, *cur, *out = NULL;
	struct wa_buf b = WA_BUF_INIT;

	/* depth */
	root = wa_node_new("a");
	cur = root;
	for (int i = 0; i < 20; i++)
		cur = wa_node_add_new(cur, "b");
	wa_binary_encode(root, &b);
	wa_binary_limits_default(&lim);
	lim.max_depth = 21;
	is_int(wa_binary_decode(b.data, b.len, &lim, &out), 0, "depth 21 within cap 21");
	wa_node_free(out);
	out = NULL;
	lim.max_depth = 20;
	is_int(wa_binary_decode(b.data, b.len, &lim, &out), WA_BIN_ETOOBIG, "depth 21 over cap 20");
	ok(out == NULL, "out untouched");
	wa_node_free(root);

	/* encoder depth cap */
	root = wa_node_new("a");
	cur = root;
	for (int i = 0; i < WA_BIN_DEFAULT_MAX_DEPTH + 1; i++)
		cur = wa_node_add_new(cur, "b");
	wa_buf_reset(&b);
	is_int(wa_binary_encode(root, &b), WA_BIN_EINVAL, "encoder refuses over-deep trees");
	wa_node_free(root);

	/* list size and node count */
	root = wa_node_new("a");
	for (int i = 0; i < 100; i++)
		wa_node_add_new(root, "b");
	wa_buf_reset(&b);
	wa_binary_encode(root, &b);
	wa_binary_limits_default(&lim);
	lim.max_list = 99;
	is_int(wa_binary_decode(b.data, b.len, &lim, &out), WA_BIN_ETOOBIG, "list of 100 over cap 99");
	wa_binary_limits_default(&lim);
	lim.max_nodes = 100;
	is_int(wa_binary_decode(b.data, b.len, &lim, &out), WA_BIN_ETOOBIG, "101 nodes over cap 100");
	lim.max_nodes = 101;
	is_int(wa_binary_decode(b.data, b.len, &lim, &out), 0, "101 nodes within cap 101");
	wa_node_free(out);
	out = NULL;
	wa_node_free(root);

	/* attribute count */
	root = wa_node_new("a");
	for (int i = 0; i < 10; i++) {
		char k[8];
		snprintf(k, sizeof k, "k%d", i);
		wa_node_set_attr(root, k, "v");
	}
	wa_buf_reset(&b);
	wa_binary_encode(root, &b);
	wa_binary_limits_default(&lim);
	lim.max_list = 9;
	is_int(wa_binary_decode(b.data, b.len, &lim, &out), WA_BIN_ETOOBIG, "10 attributes over cap 9");
	wa_node_free(root);

	/* decoded bytes */
	root = wa_node_new("a");
	{
		uint8_t blob[1000] = { 0 };
		wa_node_set_bytes(root, blob, sizeof blob);
	}
	wa_buf_reset(&b);
	wa_binary_encode(root, &b);
	wa_binary_limits_default(&lim);
	lim.max_bytes = 500;
	is_int(wa_binary_decode(b.data, b.len, &lim, &out), WA_BIN_ETOOBIG, "1000 bytes over max_bytes 500");
	lim.max_bytes = 2000;
	is_int(wa_binary_decode(b.data, b.len, &lim, &out), 0, "1000 bytes within max_bytes 2000");
	wa_node_free(out);
	out = NULL;

	/* inflated size */
	{
		uint8_t *fr, *z;
		size_t flen, zlen;

		wa_binary_marshal(root, &fr, &flen);
		is_int(wa_binary_compress_frame(fr, flen, &z, &zlen), 0, "compress frame");
		ok(z[0] == 2 && zlen < flen, "compressed frame is flag 2 and smaller");
		wa_binary_limits_default(&lim);
		is_int(wa_binary_unmarshal(z, zlen, &lim, &out), 0, "compressed frame decodes");
		ok(out && out->len == 1000, "compressed frame content");
		wa_node_free(out);
		out = NULL;
		lim.max_inflated = flen - 2;
		is_int(wa_binary_unmarshal(z, zlen, &lim, &out), WA_BIN_ETOOBIG, "inflate over max_inflated");
		lim.max_inflated = flen - 1;
		is_int(wa_binary_unmarshal(z, zlen, &lim, &out), 0, "inflate exactly max_inflated");
		wa_node_free(out);
		out = NULL;
		/* truncated zlib stream */
		is_int(wa_binary_unmarshal(z, zlen - 5, NULL, &out), WA_BIN_EZLIB, "truncated zlib rejected");
		free(fr);
		free(z);
	}
	wa_node_free(root);

	/* a list claiming 65535 children in 4 bytes must not allocate for them */
	{
		uint8_t in[] = { 0xf8, 0x02, 0x13, 0xf9, 0xff, 0xff };
		is_int(wa_binary_decode(in, sizeof in, NULL, &out), WA_BIN_ETRUNC, "huge claimed list truncated");
	}
	/* AD JID device > 255 cannot be encoded */
	{
		struct wa_node *n = wa_node_new("a");
		struct wa_jid j;

		wa_jid_make_ad(&j, "1", 300, "s.whatsapp.net");
		wa_node_set_attr_jid(n, "to", &j);
		wa_buf_reset(&b);
		is_int(wa_binary_encode(n, &b), WA_BIN_EINVAL, "AD jid device 300 refused");
		wa_node_free(n);
	}
	wa_buf_free(&b);
}

static void test_node_api(void)
{
	struct wa_node *n = wa_node_new("iq"), *c;
	long long v;
	unsigned long long u;
	int count = 0;

	ok(wa_node_new("") == NULL && wa_node_new(NULL) == NULL, "empty tag refused");
	c = wa_node_new_attrs("iq", "id", "1.2-1", "skip", NULL, "type", "get", "xmlns", "w:p", NULL);
	ok(c && c->nattrs == 3 && strcmp(c->attrs[2].key, "xmlns") == 0 && wa_node_attr(c, "skip") == NULL,
	   "new_attrs builds in order, NULL value skipped");
	wa_node_free(c);
	ok(wa_node_new_attrs("iq", "", "x", NULL) == NULL, "new_attrs refuses an empty key");
	wa_node_set_attr(n, "a", "1");
	wa_node_set_attr(n, "b", "2");
	wa_node_set_attr(n, "a", "3");
	ok(n->nattrs == 2 && strcmp(n->attrs[0].key, "a") == 0 && strcmp(n->attrs[0].val, "3") == 0,
	   "replace keeps order");
	wa_node_set_attr(n, "b", "");
	is_int(n->nattrs, 1, "empty value removes");
	wa_node_set_attr_int(n, "t", -42);
	ok(wa_node_attr_int(n, "t", &v) == 0 && v == -42, "int attr");
	ok(wa_node_attr_uint(n, "t", &u) < 0, "negative is not uint");
	wa_node_set_attr_uint(n, "u", 18446744073709551615ULL);
	ok(wa_node_attr_uint(n, "u", &u) == 0 && u == 18446744073709551615ULL, "uint64 attr");
	wa_node_set_attr(n, "x", "12x");
	ok(wa_node_attr_int(n, "x", &v) < 0, "non-number rejected");
	ok(wa_node_attr_is(n, "a", "3") && !wa_node_attr_is(n, "zz", "3"), "attr_is");
	is_str(wa_node_attr_or(n, "zz", "def"), "def", "attr_or default");
	wa_node_del_attr(n, "a");
	ok(wa_node_attr(n, "a") == NULL, "del attr");
	ok(wa_node_set_attr_n(n, "k", "a\0b", 3) < 0, "embedded NUL refused");

	wa_node_set_bytes(n, "xyz", 3);
	c = wa_node_add_new(n, "to");
	ok(n->kind == WA_CONTENT_LIST && n->nchildren == 1 && n->data == NULL, "child replaces bytes");
	wa_node_add_new(n, "x");
	wa_node_add_new(n, "to");
	for (c = wa_node_next(n, "to", NULL); c; c = wa_node_next(n, "to", c))
		count++;
	is_int(count, 2, "iterate by tag");
	is_int(wa_node_count(n, NULL), 3, "count all");
	ok(wa_node_child_at(n, 1) && strcmp(wa_node_child_at(n, 1)->tag, "x") == 0, "child_at");
	ok(wa_node_child_at(n, 3) == NULL, "child_at bounds");
	ok(wa_node_path(n, "x", NULL) == wa_node_child(n, "x"), "path");
	ok(wa_node_path(n, "x", "y", NULL) == NULL, "path miss");
	ok(wa_node_content(n, NULL) == NULL, "list has no byte content");
	wa_node_set_string(n, "hello");
	is_str(wa_node_content_str(n), "hello", "string content");
	ok(wa_node_attr(NULL, "a") == NULL && wa_node_child(NULL, "a") == NULL, "NULL-safe getters");
	wa_node_free(NULL);
	wa_node_free(n);
}

/* The dictionaries against the token tables kept in tests/vectors/tokens/
 * (tokens-single.txt and tokens-double-N.txt, one token a line, line N =
 * index N; copied from the independently compiled tables, not generated from
 * wa/tokens.c): every entry, in order. A missing table is a bail-out, never
 * a silent skip. */
static int compare_table(const char *path, unsigned dict, int single)
{
	FILE *f = fopen(path, "r");
	char line[256];
	unsigned idx = 0, bad = 0, n = single ? WA_TOKEN_SINGLE_COUNT : WA_TOKEN_DOUBLE_COUNT;

	if (f == NULL)
		tap_bail("token table not readable");
	while (fgets(line, sizeof line, f) != NULL) {
		const char *want;

		line[strcspn(line, "\r\n")] = '\0';
		want = idx >= n ? NULL : single ? (idx == 0 ? "" : wa_token_get_single(idx)) : wa_token_get_double(dict, idx);
		if (want == NULL || strcmp(want, line) != 0) {
			if (bad++ < 3)
				printf("# %s line %u: file '%s', table '%s'\n", path, idx + 1, line, want ? want : "(none)");
		}
		idx++;
	}
	fclose(f);
	return bad == 0 && idx == n ? 0 : 1;
}

static void test_token_tables(const char *top)
{
	char path[1024];

	snprintf(path, sizeof path, "%s/tests/vectors/tokens/tokens-single.txt", top);
	is_int(compare_table(path, 0, 1), 0, "single-byte dictionary equals tokens-single.txt");
	for (unsigned d = 0; d < WA_TOKEN_DOUBLE_DICTS; d++) {
		char name[96];

		snprintf(path, sizeof path, "%s/tests/vectors/tokens/tokens-double-%u.txt", top, d);
		snprintf(name, sizeof name, "double-byte dictionary %u equals tokens-double-%u.txt", d, d);
		is_int(compare_table(path, d, 0), 0, name);
	}
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	json_error_t err;

	snprintf(path, sizeof path, "%s/tests/vectors/protocol.json", top ? top : ".");
	vectors = json_load_file(path, JSON_ALLOW_NUL, &err);
	if (vectors == NULL)
		tap_bail("tests/vectors/protocol.json not readable");
	test_tokens();
	test_token_tables(top ? top : ".");
	test_string_vectors();
	test_node_vectors();
	test_tag_kinds();
	test_malformed();
	test_random();
	test_caps();
	test_node_api();
	json_decref(vectors);
	return tap_done();
}
