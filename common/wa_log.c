/* wa_log: leveled, request-id tagged logging (see wa_log.h). */
#include "wa_log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static char log_tag[32] = "wa-akg";
static enum wa_log_level log_min = WA_LOG_INFO;
static __thread char log_rid[40];

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void wa_log_init(const char *tag, enum wa_log_level min)
{
	if (tag)
		snprintf(log_tag, sizeof log_tag, "%s", tag);
	log_min = min;
}

int wa_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s && strcasecmp(s, level_names[i]) == 0)
			return i;
	if (s && strcasecmp(s, "warning") == 0)
		return WA_LOG_WARN;
	return -1;
}

void wa_log_set_rid(const char *rid)
{
	if (rid)
		snprintf(log_rid, sizeof log_rid, "%s", rid);
	else
		log_rid[0] = '\0';
}

const char *wa_log_rid(void)
{
	return log_rid;
}

void wa_vlog(enum wa_log_level lvl, const char *fmt, va_list ap)
{
	char line[WA_LOG_LINE_MAX];
	struct tm tm;
	time_t now;
	size_t n;
	int r;

	if (lvl < log_min)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
	r = snprintf(line + n, sizeof line - n, "%s %s[%d]%s%s ",
		     level_names[lvl], log_tag, (int)getpid(),
		     log_rid[0] ? " rid=" : "", log_rid);
	if (r > 0)
		n += (size_t)r < sizeof line - n ? (size_t)r : sizeof line - n - 1;
	r = vsnprintf(line + n, sizeof line - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof line - n ? (size_t)r : sizeof line - n - 1;
	if (n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	/* One write per line keeps lines whole across threads and processes. */
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
}

void wa_log(enum wa_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wa_vlog(lvl, fmt, ap);
	va_end(ap);
}
