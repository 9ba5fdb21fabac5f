/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the fuzz targets: the libFuzzer entry point, and CHECK for an
 * invariant an input must never break (abort: libFuzzer reports it). */
#ifndef PP_FUZZ_H
#define PP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define CHECK(x)                  \
	do {                      \
		if (!(x))         \
			abort();  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
