/* Unit tests for common/wa_config: INI parsing, environment overrides,
 * unknown keys and typed getters; and that docs/configuration.md is current. */
#include "tap.h"
#include "wa_config.h"
#include "wa_util.h"

#include <stdlib.h>

static void test_parse(void)
{
	const char *text =
		"# comment\n"
		"[db]\n"
		"host = db.example\n"
		"  port=3307  \n"
		"password = \"p w\"\n"
		"; other comment\n"
		"[fcgi]\n"
		"workers = 8\n";
	struct wa_config *c;
	char err[256] = "";
	long n = 0;

	ok(wa_config_parse(&c, text, strlen(text), "t.conf", err, sizeof err) == 0, "valid file parses");
	is_str(wa_config_get(c, "db.host"), "db.example", "value read from section");
	is_str(wa_config_get(c, "db.port"), "3307", "whitespace trimmed");
	is_str(wa_config_get(c, "db.password"), "p w", "quotes removed");
	is_str(wa_config_get(c, "db.name"), "wa_akg", "default kept for missing key");
	ok(wa_config_get(c, "no.such") == NULL, "unknown key gives NULL");
	ok(wa_config_get_int(c, "fcgi.workers", 1, 64, &n, err, sizeof err) == 0 && n == 8, "integer getter");
	ok(wa_config_get_int(c, "db.host", 0, 10, &n, err, sizeof err) < 0, "non-integer refused");
	ok(strstr(err, "db.host") != NULL, "error names the key");
	wa_config_free(c);
}

static void test_errors(void)
{
	struct wa_config *c;
	char err[256];
	const char *bad1 = "[db]\nhots = x\n", *bad2 = "[db\n", *bad3 = "[db]\njust words\n";

	ok(wa_config_parse(&c, bad1, strlen(bad1), "a.conf", err, sizeof err) < 0, "unknown key is an error");
	ok(strstr(err, "a.conf:2") && strstr(err, "db.hots"), "error names file, line and key");
	ok(wa_config_parse(&c, bad2, strlen(bad2), "b.conf", err, sizeof err) < 0, "bad section refused");
	ok(wa_config_parse(&c, bad3, strlen(bad3), "c.conf", err, sizeof err) < 0, "line without = refused");
	ok(wa_config_load(&c, "/nonexistent/wa.conf", err, sizeof err) < 0, "explicit missing file is an error");
}

static void test_env(void)
{
	struct wa_config *c;
	char err[256], name[64];
	unsigned long long sz = 0;
	const char *text = "[http]\nmax_body = 2k\n[db]\nname = fromfile\n";

	wa_config_env_name("db.name", name, sizeof name);
	is_str(name, "WA_AKG_DB_NAME", "environment variable name");
	setenv("WA_AKG_DB_NAME", "fromenv", 1);
	ok(wa_config_parse(&c, text, strlen(text), "e.conf", err, sizeof err) == 0, "parse with env");
	is_str(wa_config_get(c, "db.name"), "fromenv", "environment wins over file");
	ok(wa_config_get_size(c, "http.max_body", &sz, err, sizeof err) == 0 && sz == 2048, "size with k suffix");
	wa_config_free(c);
	unsetenv("WA_AKG_DB_NAME");
}

static void test_doc_current(void)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	FILE *f;
	size_t missing = 0;
	static char doc[65536];
	size_t len;

	if (!top)
		top = ".";
	snprintf(path, sizeof path, "%s/docs/configuration.md", top);
	f = fopen(path, "r");
	ok(f != NULL, "docs/configuration.md exists");
	if (!f)
		return;
	len = fread(doc, 1, sizeof doc - 1, f);
	doc[len] = '\0';
	fclose(f);
	for (size_t i = 0; wa_config_keys[i].key; i++) {
		char env[128];

		wa_config_env_name(wa_config_keys[i].key, env, sizeof env);
		if (!strstr(doc, env) || !strstr(doc, wa_config_keys[i].doc))
			missing++;
	}
	is_int(missing, 0, "every key is documented (regenerate with wa-akg-config --doc)");
}

static void test_util(void)
{
	uint8_t raw[3] = { 0xde, 0xad, 0x01 }, back[3];
	char hex[7], b64[8], dec[32];
	uint8_t bb[8];

	wa_hex_encode(raw, 3, hex);
	is_str(hex, "dead01", "hex encode");
	ok(wa_hex_decode("DEAD01", back, 3) == 0 && memcmp(back, raw, 3) == 0, "hex decode upper case");
	ok(wa_hex_decode("dead0", back, 3) < 0, "hex decode wrong length");
	ok(wa_hex_decode("zzad01", back, 3) < 0, "hex decode bad digit");
	wa_base64_encode((const uint8_t *)"ab", 2, b64);
	is_str(b64, "YWI=", "base64 encode");
	is_int(wa_base64_decode("YWI=", 4, bb, sizeof bb), 2, "base64 decode length");
	ok(wa_base64_decode("Y*I=", 4, bb, sizeof bb) < 0, "base64 bad char refused");
	is_int(wa_url_decode("a%40b+c", 7, dec, sizeof dec, 0), 7 - 2, "url decode length");
	{
		char ph[WA_PHONE_MAX];

		ok(wa_phone_digits("+49 151-234 (56) 78", ph) == 0 && strcmp(ph, "491512345678") == 0,
		   "phone digits: separators dropped");
		ok(wa_phone_digits("123456789012345", ph) == 0, "phone digits: 15 digits taken");
		ok(wa_phone_digits("1234567890123456", ph) < 0, "phone digits: 16 refused");
		ok(wa_phone_digits("12345", ph) < 0, "phone digits: 5 refused");
		ok(wa_phone_digits("+49 abc 1234567", ph) < 0, "phone digits: letters refused");
		ok(wa_phone_digits("", ph) < 0, "phone digits: empty refused");
	}
	is_str(dec, "a@b+c", "url decode keeps plus in paths");
	ok(wa_url_decode("a%4", 3, dec, sizeof dec, 0) < 0, "truncated escape refused");
	ok(wa_url_decode("a%00", 4, dec, sizeof dec, 0) < 0, "NUL escape refused");
	ok(wa_ct_equal("abc", "abc", 3) && !wa_ct_equal("abc", "abd", 3), "constant-time compare");
	ok(wa_form_get("a=1&email=x%40y.z&b", "email", dec, sizeof dec) == 0, "form field found");
	is_str(dec, "x@y.z", "form value decoded");
	ok(wa_form_get("q=hello+world", "q", dec, sizeof dec) == 0 && !strcmp(dec, "hello world"), "plus is a space");
	ok(wa_form_get("a=1&b", "b", dec, sizeof dec) == 0 && dec[0] == '\0', "name without value is empty");
	ok(wa_form_get("a=1&a=2", "a", dec, sizeof dec) == 0 && !strcmp(dec, "1"), "first occurrence wins");
	ok(wa_form_get("a=1", "b", dec, sizeof dec) < 0, "absent name");
	ok(wa_form_get("a=%zz", "a", dec, sizeof dec) < 0, "bad escape refused");
	ok(wa_form_get("a=0123456789", "a", dec, 4) < 0, "value longer than the buffer refused");
}

static void test_utf8(void)
{
	static const struct { const char *in, *fixed; } v[] = {
		{ "", "" },
		{ "plain ascii", "plain ascii" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "\xff", "\xef\xbf\xbd" },                         /* never a UTF-8 byte */
		{ "a\xc3", "a\xef\xbf\xbd" },                       /* cut at the end */
		{ "\xc0\x80", "\xef\xbf\xbd\xef\xbf\xbd" },           /* overlong NUL */
		{ "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* overlong '/' */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* a surrogate */
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* past U+10FFFF */
		{ "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },          /* U+10FFFF itself */
		{ "x\x80y", "x\xef\xbf\xbdy" },                     /* a lone continuation byte */
	};
	char name[64];

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *fixed = wa_utf8_repair(v[i].in);

		snprintf(name, sizeof name, "utf8 case %zu: valid iff unchanged", i);
		ok(wa_utf8_valid(v[i].in) == (strcmp(v[i].in, v[i].fixed) == 0), name);
		snprintf(name, sizeof name, "utf8 case %zu: repaired", i);
		ok(fixed && strcmp(fixed, v[i].fixed) == 0 && wa_utf8_valid(fixed), name);
		free(fixed);
	}
}

int main(void)
{
	test_parse();
	test_errors();
	test_env();
	test_util();
	test_utf8();
	test_doc_current();
	return tap_done();
}
