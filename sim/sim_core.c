/* sim_core: small server-wide helpers (time, seeded randomness, saving). */
#include "sim.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wa_log.h"
#include "wa_util.h"

int sim_log_debug;

uint64_t sim_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t sim_now(const struct sim_server *s)
{
	(void)s;
	return (uint64_t)time(NULL);
}

int sim_random(struct sim_server *s, uint8_t *out, size_t n)
{
	if (!s->seeded)
		return wa_random(out, n);
	while (n > 0) {
		uint8_t blk[32];
		char label[48];
		size_t k = n < 32 ? n : 32;

		snprintf(label, sizeof label, "random:%llu", (unsigned long long)++s->seq);
		sim_derive(s->seed, label, blk);
		memcpy(out, blk, k);
		out += k;
		n -= k;
	}
	return 0;
}

void sim_save_flush(struct sim_server *s)
{
	s->save_due_ms = 0;
	if (sim_store_save(s->store) != 0)
		wa_error("sim: cannot save the state to '%s'", s->store->path);
}

void sim_save(struct sim_server *s)
{
	if (!s->ctx) {
		sim_save_flush(s);
		return;
	}
	if (!s->save_due_ms)
		s->save_due_ms = sim_mono_ms() + SIM_SAVE_DELAY_MS;
}

void sim_save_due(struct sim_server *s)
{
	if (s->save_due_ms && sim_mono_ms() >= s->save_due_ms)
		sim_save_flush(s);
}


const char *sim_mask_number(const char *number, char *buf, size_t cap)
{
	size_t n = number ? strlen(number) : 0;

	/* first 3 and last 2 digits only: never log whole phone numbers */
	if (n < 6)
		snprintf(buf, cap, "***");
	else
		snprintf(buf, cap, "%.3s***%s", number, number + n - 2);
	return buf;
}
