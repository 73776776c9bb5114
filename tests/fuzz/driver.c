/* driver.c: replays fuzz inputs without libFuzzer, for `make check`.
 *
 * Runs LLVMFuzzerTestOneInput over every file in tests/fuzz/corpus/<name>/
 * (name = program name without the "fuzz_" prefix) and over a set of
 * generated inputs (empty, each single byte, random bytes from a fixed seed),
 * and reports TAP. A crash or sanitizer report fails the test. */
#include <dirent.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

static uint8_t next_byte(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)rng;
}

int main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char path[2048], name[256];
	static uint8_t buf[1 << 20];
	unsigned files = 0, gen = 0;
	DIR *d;
	struct dirent *e;

	(void)argc;
	snprintf(name, sizeof name, "%s", basename(argv[0]));
	if (strncmp(name, "fuzz_", 5) == 0)
		memmove(name, name + 5, strlen(name + 5) + 1);
	snprintf(path, sizeof path, "%s/tests/fuzz/corpus/%s", top ? top : ".", name);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char fp[4096];
		FILE *f;
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(fp, sizeof fp, "%s/%s", path, e->d_name);
		f = fopen(fp, "rb");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		files++;
	}
	if (d)
		closedir(d);
	LLVMFuzzerTestOneInput(buf, 0);
	for (unsigned i = 0; i < 256; i++) {
		buf[0] = (uint8_t)i;
		LLVMFuzzerTestOneInput(buf, 1);
		gen++;
	}
	for (unsigned i = 0; i < 2000; i++) {
		size_t n = 1 + next_byte() % 200;

		for (size_t j = 0; j < n; j++)
			buf[j] = next_byte();
		LLVMFuzzerTestOneInput(buf, n);
		gen++;
	}
	printf("ok 1 - %s: %u corpus files and %u generated inputs replayed\n1..1\n", name, files, gen);
	return 0;
}
