/* wa_cron: see wa_cron.h. */
#include "wa_cron.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* One field into bits (bit n = value n). 0 or -1. */
static int field(const char *f, size_t len, int lo, int hi, uint64_t *bits, int *star)
{
	char buf[WA_CRON_MAX + 1], *item, *save = NULL;

	*bits = 0;
	*star = 0;
	if (len == 0 || len > WA_CRON_MAX)
		return -1;
	memcpy(buf, f, len);
	buf[len] = '\0';
	if (buf[0] == ',' || buf[len - 1] == ',' || strstr(buf, ",,"))
		return -1;
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(item, '/'), *end;
		long a = lo, b = hi, step = 1;

		if (slash) {
			*slash = '\0';
			if (!isdigit((unsigned char)slash[1]))
				return -1;
			step = strtol(slash + 1, &end, 10);
			if (*end || step < 1 || step > hi)
				return -1;
		}
		if (strcmp(item, "*") == 0) {
			if (!slash)
				*star = 1;
		} else {
			char *dash = strchr(item, '-');

			if (!isdigit((unsigned char)item[0]))
				return -1;
			a = strtol(item, &end, 10);
			if (dash ? end != dash : *end)
				return -1;
			if (dash) {
				if (!isdigit((unsigned char)dash[1]))
					return -1;
				b = strtol(dash + 1, &end, 10);
				if (*end)
					return -1;
			} else {
				b = slash ? hi : a;
			}
			if (a < lo || a > hi || b < a || b > hi)
				return -1;
		}
		for (long v = a; v <= b; v += step)
			*bits |= 1ULL << v;
	}
	return 0;
}

int wa_cron_parse(const char *expr, struct wa_cron *c)
{
	static const int lo[5] = { 0, 0, 1, 1, 0 }, hi[5] = { 59, 23, 31, 12, 7 };
	uint64_t bits[5];
	int star[5], n = 0;
	const char *p = expr;

	if (!expr || strlen(expr) > WA_CRON_MAX)
		return -1;
	while (*p) {
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		len = strcspn(p, " \t");
		if (n == 5 || field(p, len, lo[n], hi[n], &bits[n], &star[n]) != 0)
			return -1;
		n++;
		p += len;
	}
	if (n != 5)
		return -1;
	memset(c, 0, sizeof *c);
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f);
	c->dom_star = star[2];
	c->dow_star = star[4];
	return 0;
}

static int day_matches(const struct wa_cron *c, const struct tm *tm)
{
	int d = (c->dom >> tm->tm_mday) & 1, w = (c->dow >> tm->tm_wday) & 1;

	if (c->dom_star || c->dow_star)
		return (c->dom_star || d) && (c->dow_star || w);
	return d || w;
}

time_t wa_cron_next(const struct wa_cron *c, time_t after)
{
	struct tm tm;
	time_t t = after - after % 60 + 60, limit = after + (time_t)5 * 366 * 86400;

	while (t <= limit) {
		if (!localtime_r(&t, &tm))
			return -1;
		if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!((c->hour >> tm.tm_hour) & 1)) {
			tm.tm_hour++;
			tm.tm_min = 0;
		} else if (!((c->minute >> tm.tm_min) & 1)) {
			tm.tm_min++;
		} else {
			return t;
		}
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		{
			time_t n = mktime(&tm);

			/* a step always moves forward (DST may fold an hour back) */
			t = n > t ? n : t + 60;
		}
	}
	return -1;
}
