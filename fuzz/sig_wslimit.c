/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the WebSocket message size meter (untrusted frames from the
 * signaling server). Input: 2 bytes of limit, 1 byte choosing a split
 * point, then the stream. Fed at once and in two pieces, the answers
 * agree: the same verdict and claimed size, and the bytes passed differ at
 * most by the first bytes of the offending header. */
#include "fuzz.h"

#include "peerpipe/error.h"
#include "peerpipe/wslimit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_wslimit a, b;
	size_t ok = 0, ok1 = 0, ok2 = 0, split;
	uint64_t sa = 0, sb = 0, max;
	int ra, rb;

	if (size < 3)
		return 0;
	max = (uint64_t)data[0] << 8 | data[1];
	split = data[2];
	data += 3;
	size -= 3;
	split = size ? split % (size + 1) : 0;

	pp_wslimit_init(&a, max);
	ra = pp_wslimit_feed(&a, data, size, &ok, &sa);
	CHECK(ra == 0 || ra == PP_ERR_TOO_BIG);
	CHECK(ok <= size);
	CHECK(ra != 0 || ok == size);

	pp_wslimit_init(&b, max);
	rb = pp_wslimit_feed(&b, data, split, &ok1, &sb);
	CHECK(ok1 <= split);
	if (rb == 0) {
		rb = pp_wslimit_feed(&b, data + split, size - split, &ok2, &sb);
		CHECK(ok2 <= size - split);
	}
	CHECK(ra == rb);
	if (ra == 0) {
		CHECK(ok1 + ok2 == size);
	} else {
		CHECK(ok1 + ok2 >= ok && ok1 + ok2 < ok + PP_WSLIMIT_HEADER_MAX);
		CHECK(sa == sb && sa > max);
	}
	return 0;
}
