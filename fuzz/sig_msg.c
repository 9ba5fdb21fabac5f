/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the signaling message parser (untrusted WebSocket text). */
#include "fuzz.h"

#include "peerpipe/sigmsg.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_sig_msg m;
	const char *why = NULL, *ref = NULL;
	if (size > 70000)
		return 0;
	if (pp_sig_parse((const char *)data, size, &m, &why, &ref) == 0) {
		/* A located payload lies inside the input and is itself JSON. */
		if (m.payload_len) {
			if (m.payload_off + m.payload_len > size)
				__builtin_trap();
			json_t *v = json_loadb((const char *)data + m.payload_off, m.payload_len,
			                       JSON_DECODE_ANY, NULL);
			if (!v)
				__builtin_trap();
			json_decref(v);
		}
		pp_sig_msg_clear(&m);
	} else if (!why) {
		__builtin_trap();
	}
	size_t off, len;
	if (pp_json_member_span((const char *)data, size, "type", &off, &len) == 0 &&
	    off + len > size)
		__builtin_trap();
	return 0;
}
