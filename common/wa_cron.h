/* wa_cron: five-field cron expressions (minute hour day-of-month month
 * day-of-week) for recurring scheduled messages.
 *
 * Each field is '*' or a comma list of numbers and ranges "a-b", each
 * optionally stepped "/n" ("*" + "/15", "1-30/2"); minute 0-59, hour 0-23,
 * day 1-31, month 1-12, weekday 0-7 (0 and 7 are Sunday). As in Vixie cron,
 * when both the day of month and the day of week are restricted a day
 * matches if either does. No names, no '?', 'L' or '#'; at most 128 bytes.
 *
 * Times are the process's local time (TZ): the engine sets TZ from
 * scheduler.timezone at start. A local time that a DST change skips does
 * not occur that day (02:30 on the night clocks jump from 02:00 to 03:00
 * fires the next day); one it repeats fires once.
 * Pure; reentrant (uses localtime_r / mktime). */
#ifndef WA_CRON_H
#define WA_CRON_H

#include <stdint.h>
#include <time.h>

#define WA_CRON_MAX 128

struct wa_cron {
	uint64_t minute;      /* bit n: minute n matches */
	uint32_t hour, dom;   /* bits 0-23, 1-31 */
	uint16_t month;       /* bits 1-12 */
	uint8_t dow;          /* bits 0-6 (7 folded into 0) */
	int dom_star, dow_star;
};

/* 0 and *c filled, or -1 when expr is not a valid expression. */
int wa_cron_parse(const char *expr, struct wa_cron *c);

/* The first matching minute strictly after `after`, in local time; -1 when
 * none comes within five years (e.g. "0 0 31 2 *"). */
time_t wa_cron_next(const struct wa_cron *c, time_t after);

#endif
