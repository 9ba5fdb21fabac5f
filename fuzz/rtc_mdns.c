/* SPDX-License-Identifier: Apache-2.0 */
/* mDNS response parser (ICE .local candidates): any input gives a known
 * code; an answer is an A or AAAA record. The first input byte picks the
 * name looked for, so records for it can be found. */
#include "fuzz.h"

#include "peerpipe/error.h"
#include "peerpipe/rtc/ice.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"abc.local",
		"1f0a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b.local",
		"ABC.LOCAL.",
		"a.b.c.local",
	};
	uint8_t ip[16];
	uint8_t q[300];
	int family = -1;

	if (size < 1)
		return 0;
	const char *name = names[data[0] % (sizeof(names) / sizeof(names[0]))];
	int rc = pp_ice_mdns_response_parse(data + 1, size - 1, name, &family, ip);
	CHECK(rc == 0 || rc == PP_ERR_NOT_FOUND || rc == PP_ERR_INVALID ||
	      rc == PP_ERR_TOO_BIG || rc == PP_ERR_TRUNCATED);
	CHECK(rc == 0 ? (family == 4 || family == 6) : family == 0);
	/* a query for the name always builds */
	CHECK(pp_ice_mdns_query_build(q, sizeof(q), 7, name, data[0] & 1) > 12);
	return 0;
}
