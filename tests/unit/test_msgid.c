/* test_msgid: message id generation (docs/protocol.md 7.1) against values
 * computed independently with Python hashlib, the validators and IQ ids. */
#include <string.h>

#include "tap.h"
#include "wa/msgid.h"

int main(void)
{
	uint8_t r[16];
	char id[WA_MSGID_LEN + 1], id2[WA_MSGID_LEN + 1], pfx[WA_IQID_PREFIX_MAX], buf[32];

	for (int i = 0; i < 16; i++)
		r[i] = (uint8_t)i;
	/* sha256(be64(1700000000) || "15551234567@c.us" || 00..0f)[:9] */
	wa_msgid_from_parts(id, "15551234567", 1700000000, r);
	is_str(id, "3EB05765B9D1119841E331", "id with own user");
	/* without own user (not paired yet): no "@c.us" part */
	wa_msgid_from_parts(id, NULL, 1700000000, r);
	is_str(id, "3EB0548FCCCE1A4485214D", "id without own user");
	wa_msgid_from_parts(id2, "", 1700000000, r);
	is_str(id2, id, "empty user same as none");

	is_int(wa_msgid_generate(id, "15551234567", 1700000000), 0, "generate");
	is_int(strlen(id), WA_MSGID_LEN, "generated length 22");
	ok(wa_msgid_is_generated(id), "generated form");
	wa_msgid_generate(id2, "15551234567", 1700000000);
	ok(strcmp(id, id2) != 0, "two ids differ (random part)");

	ok(wa_msgid_is_generated("3EB0A1B2C3D4E5F6A7B8C9"), "vector id is generated form");
	ok(!wa_msgid_is_generated("3EB0a1b2c3d4e5f6a7b8c9"), "lower case is not generated form");
	ok(!wa_msgid_is_generated("3EB0A1B2C3D4E5F6A7B8C"), "short is not generated form");
	ok(!wa_msgid_is_generated(NULL), "NULL not generated");

	ok(wa_msgid_is_valid("3EB0A1B2C3D4E5F6A7B8C9"), "valid web id");
	ok(wa_msgid_is_valid("3A1F9C0D2B7E4A6B8C9D"), "valid iOS-style id");
	ok(wa_msgid_is_valid("BAE5F4C3D2E1A0B9"), "valid Baileys-style id");
	ok(wa_msgid_is_valid("12345.678-2"), "valid iq-style id");
	ok(!wa_msgid_is_valid(""), "empty invalid");
	ok(!wa_msgid_is_valid(NULL), "NULL invalid");
	ok(!wa_msgid_is_valid("3EB0 123"), "space invalid");
	ok(!wa_msgid_is_valid("../../etc"), "slash invalid");
	ok(!wa_msgid_is_valid("a'b"), "quote invalid");
	{
		char longid[WA_MSGID_MAX + 2];
		memset(longid, 'A', sizeof longid - 1);
		longid[sizeof longid - 1] = '\0';
		ok(!wa_msgid_is_valid(longid), "129 chars invalid");
		longid[WA_MSGID_MAX] = '\0';
		ok(wa_msgid_is_valid(longid), "128 chars valid");
	}

	is_int(wa_iqid_prefix(pfx), 0, "iq prefix");
	{
		unsigned a = 999, b = 999;
		char dash = 0;
		/* "<0..255>.<0..255>-" */
		const char *p = pfx;
		a = 0;
		while (*p >= '0' && *p <= '9')
			a = a * 10 + (unsigned)(*p++ - '0');
		ok(*p == '.', "prefix has a dot");
		p++;
		b = 0;
		while (*p >= '0' && *p <= '9')
			b = b * 10 + (unsigned)(*p++ - '0');
		dash = *p;
		ok(a < 256 && b < 256 && dash == '-' && p[1] == '\0', "prefix form b0.b1-");
	}
	is_int(wa_iqid_format("1.2-", 1, buf, sizeof buf), 5, "iq id length");
	is_str(buf, "1.2-1", "iq id");
	is_int(wa_iqid_format("1.2-", 12345, buf, 6), -1, "iq id small buffer");
	return tap_done();
}
