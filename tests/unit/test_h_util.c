/* test_h_util: the request-independent helpers of fcgi/h_util.c used by the
 * stored-data handlers: row ids, ISO-8601 date-times, cron expressions and
 * the JSON row reshaping. */
#include "fcgi/h_util.h"
#include "tap.h"

#include <jansson.h>

static void test_ids(void)
{
	unsigned long long v = 0;

	ok(wa_id_parse("1", &v) == 0 && v == 1, "id 1");
	ok(wa_id_parse("9223372036854775807", &v) == 0 && v == 9223372036854775807ULL, "19-digit id");
	ok(wa_id_parse("0", &v) < 0, "id 0 refused");
	ok(wa_id_parse("", &v) < 0, "empty id refused");
	ok(wa_id_parse(NULL, &v) < 0, "NULL id refused");
	ok(wa_id_parse("12a", &v) < 0, "non-digit refused");
	ok(wa_id_parse("-1", &v) < 0, "sign refused");
	ok(wa_id_parse(" 1", &v) < 0, "space refused");
	ok(wa_id_parse("12345678901234567890", &v) < 0, "20 digits refused");
}

static void iso(const char *in, const char *want)
{
	long long ms;
	char out[64] = "";
	char name[160];

	snprintf(name, sizeof name, "ISO-8601 '%s'", in);
	if (!want) {
		ok(wa_iso8601_parse(in, &ms) < 0, name);
		return;
	}
	ok(wa_iso8601_parse(in, &ms) == 0 && wa_sql_datetime(ms, out, sizeof out) == 0, name);
	is_str(out, want, "  as SQL DATETIME(3)");
}

static void test_iso8601(void)
{
	long long ms = 0;

	iso("2026-12-25T10:00:00.000Z", "2026-12-25 10:00:00.000");
	iso("2026-12-25T10:00:00Z", "2026-12-25 10:00:00.000");
	iso("2026-12-25T10:00Z", "2026-12-25 10:00:00.000");
	iso("2026-12-25T10:00", "2026-12-25 10:00:00.000");
	iso("2026-12-25 10:00:00", "2026-12-25 10:00:00.000");
	iso("2026-12-25", "2026-12-25 00:00:00.000");
	iso("2026-12-25T10:00:00.5Z", "2026-12-25 10:00:00.500");
	iso("2026-12-25T10:00:00.123456Z", "2026-12-25 10:00:00.123");
	iso("2026-12-25T10:00:00+07:00", "2026-12-25 03:00:00.000");
	iso("2026-12-25T01:00:00+0700", "2026-12-24 18:00:00.000");
	iso("2026-12-25T22:00:00-03:30", "2026-12-26 01:30:00.000");
	iso("2026-12-25T22:00:00-03", "2026-12-26 01:00:00.000");
	iso("2024-02-29T00:00:00Z", "2024-02-29 00:00:00.000");
	iso("2026-06-30T23:59:60Z", "2026-06-30 23:59:59.000");
	iso("2026-02-29T00:00:00Z", NULL);
	iso("2026-13-01T00:00:00Z", NULL);
	iso("2026-12-32", NULL);
	iso("2026-12-25T24:00:00Z", NULL);
	iso("2026-12-25T10:60:00Z", NULL);
	iso("1969-12-31T23:59:59Z", NULL);
	iso("2026-12-25T10:00:00+15:00", NULL);
	iso("2026-12-25T10:00:00.Z", NULL);
	iso("2026-12-25T10:00:00ZZ", NULL);
	iso("2026-1-5", NULL);
	iso("tomorrow", NULL);
	iso("", NULL);
	iso("1735120800000", NULL);
	ok(wa_iso8601_parse("1970-01-01T00:00:01.001Z", &ms) == 0 && ms == 1001, "epoch milliseconds");
}

static void test_cron(void)
{
	static const char *const good[] = { "* * * * *", "0 9 * * 1-5", "*/5 9-17 * * 1-5", "0,15,30,45 * * * *",
					    "59 23 31 12 7", "0 0 1 1 0", "  0   9 * * *  ", "1-10/2 * * * *", NULL };
	static const char *const bad[] = { "", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
					   "* * * 13 *", "* * * * 8", "*/0 * * * *", "5-1 * * * *", "a * * * *",
					   "1, * * * *", ",1 * * * *", "1,,2 * * * *", "-1 * * * *", "1- * * * *",
					   "*/ * * * *", "MON * * * *", "0 9 * * MON", NULL };
	char name[96];

	for (int i = 0; good[i]; i++) {
		snprintf(name, sizeof name, "cron '%s' valid", good[i]);
		ok(wa_cron_valid(good[i]), name);
	}
	for (int i = 0; bad[i]; i++) {
		snprintf(name, sizeof name, "cron '%s' refused", bad[i]);
		ok(!wa_cron_valid(bad[i]), name);
	}
	ok(!wa_cron_valid(NULL), "cron NULL refused");
}

static void test_rows(void)
{
	static const char *const keys[] = { "_a", "b", NULL };
	json_t *row = json_pack("{s:s,s:s,s:i,s:i,s:b,s:i,s:i}", "j", "[\"x\",1]", "bad", "{nope", "flag", 1, "zero", 0,
				"already", 1, "_a", 5, "b", 6);
	json_t *def = json_object();
	char *s;

	wa_row_json_col(row, "j", NULL);
	wa_row_json_col(row, "bad", NULL);
	wa_row_json_col(row, "missing", def); /* copied: the caller keeps def */
	json_decref(def);
	wa_row_bool_col(row, "flag");
	wa_row_bool_col(row, "zero");
	wa_row_bool_col(row, "already");
	wa_row_nest(row, "_count", keys);
	s = wa_json_text(row);
	is_str(s, "{\"j\":[\"x\",1],\"bad\":[],\"flag\":true,\"zero\":false,\"already\":true,"
		  "\"missing\":{},\"_count\":{\"a\":5,\"b\":6}}", "row reshaping");
	free(s);
	json_decref(row);
}

int main(void)
{
	test_ids();
	test_iso8601();
	test_cron();
	test_rows();
	return tap_done();
}
