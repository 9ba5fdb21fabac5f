/* SPDX-License-Identifier: Apache-2.0 */
/* ICE candidate parser: whatever it accepts must format and parse back to
 * the same struct, and the formatted text is never longer than the input. */
#include "fuzz.h"

#include "peerpipe/error.h"
#include "peerpipe/rtc/candidate.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_candidate c, back;
	char text[PP_CAND_LINE_MAX + 1];

	int rc = pp_candidate_parse((const char *)data, size, &c);
	CHECK(rc == 0 || rc == PP_ERR_INVALID || rc == PP_ERR_TOO_BIG ||
	      rc == PP_ERR_UNSUPPORTED);
	if (rc != 0)
		return 0;
	int n = pp_candidate_format(&c, text, sizeof(text));
	CHECK(n > 0 && (size_t)n <= size && (size_t)n == strlen(text));
	CHECK(pp_candidate_parse(text, (size_t)n, &back) == 0);
	CHECK(memcmp(&c, &back, sizeof(c)) == 0);
	return 0;
}
