/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the path MTU probe wire code (sctp_pmtu_wire.c). Any
 * packet from the peer with a good CRC32c goes through
 * pp_sctp_probe_ack_find() before usrsctp sees it; it must never read
 * outside the packet and its answer must be consistent. The input also
 * picks a probe size: pp_sctp_probe_build() into a buffer of exactly that
 * size either fills it with a well-formed probe or refuses it whole. */
#include "fuzz.h"

#include "../src/lib/rtc/sctp_priv.h"

#include <stdint.h>
#include <string.h>

static void fz_find(const uint8_t *data, size_t size)
{
	uint8_t token[PP_SCTP_PROBE_TOKEN], *pkt = malloc(size ? size : 1);
	bool alone = false;
	int rc;

	CHECK(pkt);
	if (size)
		memcpy(pkt, data, size); /* exact size: ASan sees any overread */
	memset(token, 0xee, sizeof(token));
	rc = pp_sctp_probe_ack_find(pkt, size, token, &alone);
	CHECK(rc == -1 || rc == 0 || rc == 1);
	CHECK(!alone || rc == 1);
	if (rc == 1) {
		CHECK(size >= PP_SCTP_HEADER_LEN + 44);
		CHECK(memcmp(token, "PPMT", 4) == 0);
		CHECK(memmem(pkt, size, token, sizeof(token)) != NULL);
		/* Alone: one chunk, at most 3 bytes after it. */
		CHECK(!alone || size - PP_SCTP_HEADER_LEN - 44 < 4);
	} else if (rc == 0) {
		for (size_t k = 0; k < sizeof(token); k++)
			CHECK(token[k] == 0xee);
	}
	if (size < PP_SCTP_HEADER_LEN)
		CHECK(rc == -1);
	free(pkt);
}

static void fz_build(const uint8_t *data, size_t size)
{
	uint8_t token[PP_SCTP_PROBE_TOKEN], tok2[PP_SCTP_PROBE_TOKEN], *out;
	size_t want, got;
	bool alone = true;

	if (size < 2)
		return;
	/* Sizes around and inside the valid range, aligned or not. */
	want = ((size_t)data[0] << 8 | data[1]) + (data[0] & 0x80 ? 0 : (size_t)data[1] & 3);
	if (size > 2 && data[2] & 1)
		want += 0x10000 - 0x100; /* near and past PP_SCTP_PROBE_MAX */
	pp_sctp_probe_token(token, (uint32_t)want, size);
	out = malloc(want ? want : 1);
	CHECK(out);
	memset(out, 0xa5, want);
	got = pp_sctp_probe_build(out, want, 5000, 5000, 0x01020304, token);
	if (want % 4 || want < PP_SCTP_PROBE_MIN || want > PP_SCTP_PROBE_MAX) {
		CHECK(got == 0);
		for (size_t k = 0; k < want; k++)
			CHECK(out[k] == 0xa5);
	} else {
		CHECK(got == want);
		CHECK(pp_sctp_crc32c_ok(out, want));
		CHECK(out[12] == 4 && out[56] == 0x84);
		CHECK((size_t)(out[58] << 8 | out[59]) == want - 56);
		CHECK(memcmp(out + 20, token, sizeof(token)) == 0);
		/* The probe parses and is no answer; as an answer it is found. */
		CHECK(pp_sctp_probe_ack_find(out, want, tok2, &alone) == 0 && !alone);
		out[12] = 5;
		CHECK(pp_sctp_probe_ack_find(out, want, tok2, &alone) == 1 && !alone);
		CHECK(memcmp(tok2, token, sizeof(token)) == 0);
		CHECK(pp_sctp_probe_ack_find(out, 56, tok2, &alone) == 1 && alone);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_find(data, size);
	fz_build(data, size);
	return 0;
}
