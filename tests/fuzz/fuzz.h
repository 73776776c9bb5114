/* tests/fuzz/fuzz.h: the one entry point every fuzz target defines. libFuzzer
 * calls it with each input (data valid only for the call); driver.c calls it
 * with every corpus file when the target is built as a plain test. Return 0. */
#ifndef WA_FUZZ_H
#define WA_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
