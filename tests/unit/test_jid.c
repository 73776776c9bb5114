/* test_jid: JID parsing, formatting, normalising, classification and the
 * REST user-input validator, table-driven, including bad inputs. */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "wa/jid.h"

struct parse_case {
	const char *in;
	int ok;
	const char *user, *server;
	unsigned agent, device;
	const char *formatted; /* wa_jid_format of the result */
};

static const struct parse_case parse_cases[] = {
	{ "15551234567@s.whatsapp.net", 1, "15551234567", "s.whatsapp.net", 0, 0, "15551234567@s.whatsapp.net" },
	{ "15551234567:2@s.whatsapp.net", 1, "15551234567", "s.whatsapp.net", 0, 2, "15551234567:2@s.whatsapp.net" },
	{ "15551234567.0:2@s.whatsapp.net", 1, "15551234567", "s.whatsapp.net", 0, 2, "15551234567:2@s.whatsapp.net" },
	{ "15551234567.1:3@s.whatsapp.net", 1, "15551234567", "s.whatsapp.net", 1, 3, "15551234567.1:3@s.whatsapp.net" },
	{ "15551234567_1:3@s.whatsapp.net", 1, "15551234567", "s.whatsapp.net", 1, 3, "15551234567.1:3@s.whatsapp.net" },
	{ "15551234567.5@s.whatsapp.net", 1, "15551234567", "s.whatsapp.net", 5, 0, "15551234567.5:0@s.whatsapp.net" },
	{ "123456789012345:1@lid", 1, "123456789012345", "lid", 0, 1, "123456789012345:1@lid" },
	{ "123456789012345@lid", 1, "123456789012345", "lid", 0, 0, "123456789012345@lid" },
	{ "120363012345678901@g.us", 1, "120363012345678901", "g.us", 0, 0, "120363012345678901@g.us" },
	{ "6281234567890-1600000000@g.us", 1, "6281234567890-1600000000", "g.us", 0, 0, "6281234567890-1600000000@g.us" },
	{ "status@broadcast", 1, "status", "broadcast", 0, 0, "status@broadcast" },
	{ "1600000000@broadcast", 1, "1600000000", "broadcast", 0, 0, "1600000000@broadcast" },
	{ "120363000000000000@newsletter", 1, "120363000000000000", "newsletter", 0, 0, "120363000000000000@newsletter" },
	{ "16505361212@c.us", 1, "16505361212", "c.us", 0, 0, "16505361212@c.us" },
	{ "s.whatsapp.net", 1, "", "s.whatsapp.net", 0, 0, "s.whatsapp.net" },
	{ "@s.whatsapp.net", 1, "", "s.whatsapp.net", 0, 0, "s.whatsapp.net" },
	{ "g.us", 1, "", "g.us", 0, 0, "g.us" },
	{ "867051314767696@bot", 1, "867051314767696", "bot", 0, 0, "867051314767696@bot" },
	{ "1:65535@msgr", 1, "1", "msgr", 0, 65535, "1:65535@msgr" },
	/* bad */
	{ "", 0, NULL, NULL, 0, 0, NULL },
	{ "a@b@c", 0, NULL, NULL, 0, 0, NULL },
	{ "123@", 0, NULL, NULL, 0, 0, NULL },
	{ "123:x@s.whatsapp.net", 0, NULL, NULL, 0, 0, NULL },
	{ "123:65536@s.whatsapp.net", 0, NULL, NULL, 0, 0, NULL },
	{ "123:1:2@s.whatsapp.net", 0, NULL, NULL, 0, 0, NULL },
	{ "123.256:1@s.whatsapp.net", 0, NULL, NULL, 0, 0, NULL },
	{ "1.2.3@s.whatsapp.net", 0, NULL, NULL, 0, 0, NULL },
	{ "12 3@s.whatsapp.net", 0, NULL, NULL, 0, 0, NULL },
	{ "123@s.whatsapp.net\n", 0, NULL, NULL, 0, 0, NULL },
	{ ":1@s.whatsapp.net", 0, NULL, NULL, 0, 0, NULL },
	{ "123:@s.whatsapp.net", 0, NULL, NULL, 0, 0, NULL },
	{ "123@averyveryveryveryverylongservername", 0, NULL, NULL, 0, 0, NULL },
};

/* Test names must stay on one TAP line. */
static const char *shown(const char *in)
{
	static char buf[96];
	size_t i;

	for (i = 0; in[i] && i < sizeof buf - 1; i++)
		buf[i] = (unsigned char)in[i] < 0x20 ? '?' : in[i];
	buf[i] = '\0';
	return buf;
}

struct input_case {
	const char *in;
	const char *want; /* formatted result or NULL if rejected */
};

static const struct input_case input_cases[] = {
	{ "628123456789", "628123456789@s.whatsapp.net" },
	{ "+62 812-3456-789", "628123456789@s.whatsapp.net" },
	{ "+1 (555) 123-4567", "15551234567@s.whatsapp.net" },
	{ "  628123456789  ", "628123456789@s.whatsapp.net" },
	{ "62.812.345.6789", "628123456789@s.whatsapp.net" },
	{ "12345", "12345@s.whatsapp.net" },
	{ "12345678901234567890", "12345678901234567890@s.whatsapp.net" },
	{ "628123456789@s.whatsapp.net", "628123456789@s.whatsapp.net" },
	{ "628123456789@c.us", "628123456789@s.whatsapp.net" },
	{ "120363012345678901@g.us", "120363012345678901@g.us" },
	{ "6281234567890-1600000000@g.us", "6281234567890-1600000000@g.us" },
	{ "123456789012345@lid", "123456789012345@lid" },
	{ "status@broadcast", "status@broadcast" },
	{ "1600000000@broadcast", "1600000000@broadcast" },
	{ "120363000000000000@newsletter", "120363000000000000@newsletter" },
	/* bad */
	{ "", NULL },
	{ "   ", NULL },
	{ "+", NULL },
	{ "1234", NULL },
	{ "123456789012345678901", NULL },
	{ "0812345678", NULL },
	{ "62812abc", NULL },
	{ "62+812345678", NULL },
	{ "++62812345678", NULL },
	{ "628123456789:2@s.whatsapp.net", NULL },
	{ "abc@s.whatsapp.net", NULL },
	{ "1234@s.whatsapp.net", NULL },
	{ "@s.whatsapp.net", NULL },
	{ "s.whatsapp.net", NULL },
	{ "628123456789@example.com", NULL },
	{ "1234-5678-9@g.us", NULL },
	{ "abc@g.us", NULL },
	{ "evil@broadcast", NULL },
	{ "12a@lid", NULL },
	{ "628123456789@s.whatsapp.net@g.us", NULL },
	{ "6281 2345\t6789", NULL },
	{ "628123456789@msgr", NULL },
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
		const struct parse_case *c = &parse_cases[i];
		struct wa_jid j;
		const char *why = NULL;
		char msg[160], buf[WA_JID_STR_MAX];
		int rc = wa_jid_parse(c->in, &j, &why);

		snprintf(msg, sizeof msg, "parse '%s' %s", shown(c->in), c->ok ? "ok" : "rejected");
		if (!c->ok) {
			ok(rc < 0 && why != NULL && why[0] != '\0', msg);
			continue;
		}
		ok(rc == 0 && strcmp(j.user, c->user) == 0 && strcmp(j.server, c->server) == 0 &&
		   j.agent == c->agent && j.device == c->device, msg);
		wa_jid_format(&j, buf, sizeof buf);
		snprintf(msg, sizeof msg, "format '%s'", shown(c->in));
		is_str(buf, c->formatted, msg);
	}
}

static void test_user_input(void)
{
	for (size_t i = 0; i < sizeof input_cases / sizeof input_cases[0]; i++) {
		const struct input_case *c = &input_cases[i];
		struct wa_jid j;
		const char *why = NULL;
		char msg[160], buf[WA_JID_STR_MAX];
		int rc = wa_jid_from_user_input(c->in, &j, &why);

		snprintf(msg, sizeof msg, "user input '%s' %s", shown(c->in), c->want ? "accepted" : "rejected");
		if (c->want == NULL) {
			ok(rc < 0 && why && why[0], msg);
			continue;
		}
		if (!ok(rc == 0, msg)) {
			printf("#   reason: %s\n", why ? why : "?");
			continue;
		}
		wa_jid_format(&j, buf, sizeof buf);
		snprintf(msg, sizeof msg, "user input '%s' normalised", shown(c->in));
		is_str(buf, c->want, msg);
	}
}

static void test_misc(void)
{
	struct wa_jid a, b;
	char buf[WA_JID_STR_MAX], small[8];

	wa_jid_parse("15551234567:3@s.whatsapp.net", &a, NULL);
	ok(wa_jid_is_ad(&a) && wa_jid_is_user(&a) && wa_jid_is_pn(&a) && !wa_jid_is_lid(&a), "classify AD PN");
	wa_jid_format_user(&a, buf, sizeof buf);
	is_str(buf, "15551234567@s.whatsapp.net", "format_user drops device");
	b = a;
	wa_jid_to_non_ad(&b);
	ok(!wa_jid_is_ad(&b) && wa_jid_same_user(&a, &b) && !wa_jid_equal(&a, &b), "to_non_ad / same_user / equal");
	is_int(wa_jid_format(&a, small, sizeof small), -1, "format reports a small buffer");
	is_str(small, "", "small buffer left empty");

	wa_jid_parse("16505361212@c.us", &a, NULL);
	is_int(wa_jid_normalize(&a), 1, "c.us normalised");
	is_str(a.server, "s.whatsapp.net", "c.us -> s.whatsapp.net");
	is_int(wa_jid_normalize(&a), 0, "normalise idempotent");

	wa_jid_status_broadcast(&a);
	ok(wa_jid_is_status(&a) && wa_jid_is_broadcast(&a) && !wa_jid_is_broadcast_list(&a), "status broadcast");
	wa_jid_parse("1600000000@broadcast", &a, NULL);
	ok(wa_jid_is_broadcast_list(&a) && !wa_jid_is_status(&a), "broadcast list");
	wa_jid_parse("120363012345678901@g.us", &a, NULL);
	ok(wa_jid_is_group(&a) && !wa_jid_is_user(&a), "group");
	wa_jid_parse("1@newsletter", &a, NULL);
	ok(wa_jid_is_newsletter(&a), "newsletter");
	wa_jid_server(&a);
	ok(wa_jid_is_server(&a) && !wa_jid_is_pn(&a), "server jid");

	/* domains and signal names (PROTOCOL 3.6, 7.2) */
	wa_jid_parse("123:4@lid", &a, NULL);
	is_int(wa_jid_domain(&a), 1, "lid domain 1");
	wa_jid_signal_name(&a, buf, sizeof buf);
	is_str(buf, "123_1", "lid signal name");
	wa_jid_parse("123:4@s.whatsapp.net", &a, NULL);
	wa_jid_signal_name(&a, buf, sizeof buf);
	is_str(buf, "123", "pn signal name");
	wa_jid_make_ad(&a, "9", 1, "hosted.lid");
	is_int(wa_jid_domain(&a), 129, "hosted.lid domain 129");
	wa_jid_signal_name(&a, buf, sizeof buf);
	is_str(buf, "9_129", "hosted.lid signal name");
	wa_jid_from_domain(&a, "5", 128, 2);
	is_str(a.server, "hosted", "domain 128 -> hosted");
	wa_jid_from_domain(&a, "5", 7, 2);
	ok(strcmp(a.server, "s.whatsapp.net") == 0 && a.agent == 7, "other domain -> agent");
	wa_jid_from_domain(&a, "5", 1, 2);
	ok(strcmp(a.server, "lid") == 0 && a.agent == 0 && a.device == 2, "domain 1 -> lid");

	ok(wa_jid_make(&a, "1", "") < 0, "make rejects empty server");
	{
		char longu[WA_JID_USER_MAX + 2];
		memset(longu, '1', sizeof longu - 1);
		longu[sizeof longu - 1] = '\0';
		ok(wa_jid_make(&a, longu, "s.whatsapp.net") < 0, "make rejects over-long user");
		longu[WA_JID_USER_MAX] = '\0';
		ok(wa_jid_make(&a, longu, "s.whatsapp.net") == 0, "make accepts max-length user");
		ok(wa_jid_format(&a, buf, sizeof buf) > 0, "max-length user formats");
	}
	ok(wa_jid_parse_n("1@lidX", 5, &a, NULL) == 0 && strcmp(a.server, "lid") == 0, "parse_n honours len");
	ok(wa_jid_parse_n("1@l\0d", 5, &a, NULL) < 0, "parse_n rejects NUL");
	ok(wa_jid_parse(NULL, &a, NULL) < 0 && wa_jid_from_user_input(NULL, &a, NULL) < 0, "NULL rejected");
}

int main(void)
{
	test_parse();
	test_user_input();
	test_misc();
	return tap_done();
}
