/* SPDX-License-Identifier: Apache-2.0 */
/* DCEP decoder: an accepted OPEN re-encodes to the same bytes (but for the
 * reliability field of a reliable channel, which is ignored and written as
 * 0) and decodes again to the same struct. */
#include "fuzz.h"

#include "peerpipe/error.h"
#include "peerpipe/rtc/dcep.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pp_dcep_open o, back;
	static uint8_t buf[PP_DCEP_OPEN_MAX];

	int rc = pp_dcep_decode(data, size, &o);
	if (rc == PP_DCEP_ACK) {
		CHECK(size == 1 && pp_dcep_encode_ack(buf, sizeof(buf)) == 1 && buf[0] == data[0]);
		return 0;
	}
	if (rc != PP_DCEP_OPEN) {
		CHECK(rc == PP_ERR_TRUNCATED || rc == PP_ERR_INVALID || rc == PP_ERR_TOO_BIG ||
		      rc == PP_ERR_UNSUPPORTED);
		return 0;
	}
	int n = pp_dcep_encode_open(&o, buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n == size);
	CHECK(memcmp(buf, data, 4) == 0 && memcmp(buf + 8, data + 8, size - 8) == 0);
	if (o.channel != PP_DCEP_RELIABLE)
		CHECK(memcmp(buf + 4, data + 4, 4) == 0);
	CHECK(pp_dcep_decode(buf, (size_t)n, &back) == PP_DCEP_OPEN);
	CHECK(memcmp(&o, &back, sizeof(o)) == 0);
	return 0;
}
