/* tap.h: a tiny TAP producer for the C unit tests, read by automake's
 * tap-driver.sh. Header-only; one test program per file.
 *
 *   int main(void) {
 *       ok(1 + 1 == 2, "addition");
 *       is_int(f(), 3, "f returns 3");
 *       is_str(s, "x", "s is x");
 *       return tap_done();          // prints the plan, exit status
 *   }
 */
#ifndef WA_TAP_H
#define WA_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *file, int line, const char *name)
{
	tap_n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, name) tap_ok(!!(cond), __FILE__, __LINE__, (name))

#define is_int(got, want, name) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (!tap_ok(g_ == w_, __FILE__, __LINE__, (name))) \
		printf("#   got %lld, want %lld\n", g_, w_); \
} while (0)

#define is_str(got, want, name) do { \
	const char *g_ = (got), *w_ = (want); \
	int c_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_; \
	if (!tap_ok(c_, __FILE__, __LINE__, (name))) \
		printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)

#define is_mem(got, want, len, name) \
	ok(memcmp((got), (want), (len)) == 0, (name))

static inline void tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

/* The test cannot run although it should (a program it drives did not
 * start, ...): the TAP driver counts a bail-out as an ERROR, not a skip. */
static inline void tap_bail(const char *why)
{
	printf("Bail out! %s\n", why);
	exit(1);
}

static inline void tap_diag(const char *msg)
{
	printf("# %s\n", msg);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
