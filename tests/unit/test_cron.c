/* test_cron: the cron expressions of recurring scheduled messages
 * (common/wa_cron): what parses, and the next minute each one fires, in
 * UTC and across a DST change. */
#include "tap.h"
#include "wa_cron.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static time_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return timegm(&tm);
}

static time_t next(const char *expr, time_t after)
{
	struct wa_cron c;

	if (wa_cron_parse(expr, &c) != 0)
		return -2;
	return wa_cron_next(&c, after);
}

int main(void)
{
	struct wa_cron c;
	time_t t0;

	setenv("TZ", "UTC", 1);
	tzset();
	ok(wa_cron_parse("* * * * *", &c) == 0, "every minute");
	ok(wa_cron_parse("*/15 9-17 * * 1-5", &c) == 0, "office hours");
	ok(wa_cron_parse("0 0 1,15 * 0,7", &c) == 0 && c.dow == 1, "Sunday as 0 and 7");
	ok(wa_cron_parse("* * * *", &c) != 0, "four fields");
	ok(wa_cron_parse("* * * * * *", &c) != 0, "six fields");
	ok(wa_cron_parse("60 * * * *", &c) != 0, "minute 60");
	ok(wa_cron_parse("* 24 * * *", &c) != 0, "hour 24");
	ok(wa_cron_parse("* * 0 * *", &c) != 0, "day 0");
	ok(wa_cron_parse("* * * 13 *", &c) != 0, "month 13");
	ok(wa_cron_parse("5-1 * * * *", &c) != 0, "a backwards range");
	ok(wa_cron_parse("*/0 * * * *", &c) != 0, "step 0");
	ok(wa_cron_parse("1,,2 * * * *", &c) != 0, "an empty list item");
	ok(wa_cron_parse("MON * * * *", &c) != 0, "names are not taken");
	ok(wa_cron_parse(NULL, &c) != 0, "NULL");

	t0 = utc(2026, 12, 3, 14, 7);
	is_int((long)next("* * * * *", t0), (long)utc(2026, 12, 3, 14, 8), "the next minute, not this one");
	is_int((long)next("* * * * *", t0 + 30), (long)utc(2026, 12, 3, 14, 8), "from inside a minute");
	is_int((long)next("*/15 * * * *", t0), (long)utc(2026, 12, 3, 14, 15), "every quarter hour");
	is_int((long)next("0 9 * * *", t0), (long)utc(2026, 12, 4, 9, 0), "daily at nine, tomorrow");
	is_int((long)next("30 8 * * 1", t0), (long)utc(2026, 12, 7, 8, 30), "Monday 08:30 (Dec 3 2026 is a Thursday)");
	is_int((long)next("0 0 1 1 *", t0), (long)utc(2027, 1, 1, 0, 0), "new year");
	is_int((long)next("0 12 29 2 *", t0), (long)utc(2028, 2, 29, 12, 0), "a leap day, 14 months away");
	is_int((long)next("0 0 13 * 5", t0), (long)utc(2026, 12, 4, 0, 0), "day 13 or a Friday: the Friday first");
	is_int((long)next("0 0 31 2 *", t0), -1L, "February 31 never comes");
	is_int((long)next("10-20/5 3 * * *", t0), (long)utc(2026, 12, 4, 3, 10), "a stepped range");

	/* local time: Europe/Berlin leaves summer time on 2026-10-25 03:00 -> 02:00 */
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	is_int((long)next("0 9 * * *", utc(2026, 10, 24, 8, 0)), (long)utc(2026, 10, 25, 8, 0),
	       "09:00 Berlin after the change is 08:00 UTC");
	is_int((long)next("0 9 * * *", utc(2026, 10, 23, 6, 0)), (long)utc(2026, 10, 23, 7, 0),
	       "09:00 Berlin in summer is 07:00 UTC");
	is_int((long)next("30 2 * * *", utc(2026, 3, 28, 12, 0)), (long)utc(2026, 3, 30, 0, 30),
	       "02:30 does not exist on 29 March: the next day's");
	is_int((long)next("30 2 * * *", utc(2026, 10, 24, 12, 0)), (long)utc(2026, 10, 25, 0, 30),
	       "02:30 twice on 25 October: once, the first");
	is_int((long)next("30 2 * * *", utc(2026, 10, 25, 0, 30)), (long)utc(2026, 10, 26, 1, 30),
	       "and not again in the repeated hour");
	return tap_done();
}
