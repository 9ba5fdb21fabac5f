/* SPDX-License-Identifier: Apache-2.0 */
/* Data-message decoder, fed a sequence of messages (so the zstd stream
 * keeps state across them), and the encoder fed what was decoded.
 *
 * Input: one config byte (bits 0-1: formats we advertise, bits 2-4: the
 * encoder's policy, bit 5: link congested, bit 6: the three share one
 * peer's zstd budget), then messages, each a 2-byte
 * big-endian length and that many bytes (cut short at the end).
 * Invariants: errors have a reason and no output; output is at most
 * 65536 bytes; a raw message decodes to its payload; whatever the
 * encoder makes is never larger than raw and decodes back exactly. */
#include "fuzz.h"

#include "peerpipe/error.h"
#include "peerpipe/tunnel/frame.h"

#include <stdbool.h>
#include <string.h>

static uint8_t out[PP_FRAME_DATA_MAX], back[PP_FRAME_DATA_MAX];
static uint8_t enc[PP_FRAME_MSG_MAX];

static void check_decode(int rc, const uint8_t *msg, size_t len, size_t n, const char *why)
{
	if (rc < 0) {
		CHECK(rc == PP_ERR_INVALID || rc == PP_ERR_TOO_BIG || rc == PP_ERR_NOMEM);
		CHECK(why && n == 0);
		return;
	}
	CHECK(len >= 1 && len <= PP_FRAME_MSG_MAX && n <= PP_FRAME_DATA_MAX);
	CHECK((msg[0] & ~PP_FRAME_KIND_MASK) == 0);
	if (msg[0] == PP_FRAME_RAW)
		CHECK(n == len - 1 && memcmp(out, msg + 1, n) == 0);
}

/* Encodes data and decodes it with our own decoder. */
static void roundtrip(struct pp_frame_encoder *e, struct pp_frame_decoder *d,
                      const uint8_t *data, size_t len, bool congested)
{
	size_t n = 0, got = 0;
	const char *why = NULL;

	CHECK(pp_frame_encode(e, data, len, congested, enc, sizeof(enc), &n) == 0);
	CHECK(n >= 1 && n <= len + 1);
	CHECK(pp_frame_decode(d, enc, n, back, &got, &why) == 0);
	CHECK(got == len && memcmp(back, data, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t cfg = data[0];
	struct pp_frame_decoder *d = pp_frame_decoder_new(cfg & PP_FRAME_FMT_ALL);
	struct pp_frame_encoder *e = pp_frame_encoder_new(PP_FRAME_FMT_ALL);
	struct pp_frame_decoder *ours = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	struct pp_frame_budget *budget = cfg & 0x40 ? pp_frame_budget_new() : NULL;
	CHECK(d && e && ours);
	pp_frame_encoder_set_policy(e, (enum pp_frame_policy)((cfg >> 2 & 7) % 5));
	if (budget) {
		pp_frame_decoder_set_budget(d, budget);
		pp_frame_encoder_set_budget(e, budget);
		pp_frame_decoder_set_budget(ours, budget);
	}

	size_t off = 1;
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		const uint8_t *msg = data + off;
		off += len;

		size_t n = 99;
		const char *why = NULL;
		int rc = pp_frame_decode(d, msg, len, out, &n, &why);
		check_decode(rc, msg, len, n, why);
		if (rc == 0)
			roundtrip(e, ours, out, n, cfg & 0x20);
		else if (len <= PP_FRAME_DATA_MAX)
			roundtrip(e, ours, msg, len, cfg & 0x20);
	}
	pp_frame_decoder_free(d);
	pp_frame_decoder_free(ours);
	pp_frame_encoder_free(e);
	if (budget) { /* every context given back */
		unsigned ne = 1, nd = 1;
		size_t bytes = 1;
		pp_frame_budget_counts(budget, &ne, &nd, &bytes);
		CHECK(ne == 0 && nd == 0 && bytes == 0);
		pp_frame_budget_unref(budget);
	}
	CHECK(pp_frame_zstd_decoder_memory_used() == 0);
	return 0;
}
