/* SPDX-License-Identifier: Apache-2.0 */
/* SDP parser, then answer writer on what it accepted: an accepted offer must
 * be answerable (unless legacy, or too big), the answer must parse back with
 * the same m-line layout, and candidates and fingerprints must survive a
 * format/parse round trip. Also feeds the raw input to the fingerprint
 * parser. */
#include "fuzz.h"

#include "peerpipe/error.h"
#include "peerpipe/rtc/sdp.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_candidates(const struct pp_sdp *s)
{
	char text[PP_CAND_LINE_MAX + 1];
	struct pp_candidate back;

	for (size_t i = 0; i < s->n_candidates; i++) {
		int n = pp_candidate_format(&s->candidates[i], text, sizeof(text));
		CHECK(n > 0 && (size_t)n == strlen(text));
		CHECK(pp_candidate_parse(text, (size_t)n, &back) == 0);
		CHECK(memcmp(&back, &s->candidates[i], sizeof(back)) == 0);
	}
}

static void check_fingerprints(const struct pp_sdp *s)
{
	char text[PP_FP_TEXT_MAX];
	struct pp_fingerprint back;

	CHECK(s->n_fingerprints >= 1 && s->n_fingerprints <= PP_SDP_FINGERPRINTS_MAX);
	for (size_t i = 0; i < s->n_fingerprints; i++) {
		int n = pp_fingerprint_format(&s->fingerprints[i], text, sizeof(text));
		CHECK(n > 0);
		CHECK(pp_fingerprint_parse(text, (size_t)n, &back) == 0);
		CHECK(memcmp(&back, &s->fingerprints[i], sizeof(back)) == 0);
	}
}

static void check_answer(const struct pp_sdp *offer)
{
	static const struct pp_fingerprint fp = { .alg = PP_FP_SHA256, .alg_name = "sha-256",
		                                  .digest = { 1, 2, 3 }, .len = 32 };
	struct pp_sdp_params p = {
		.kind = PP_SDP_ANSWER,
		.ufrag = "fuzz",
		.pwd = "fuzzfuzzfuzzfuzzfuzzfu",
		.fingerprint = &fp,
		.setup = PP_SDP_SETUP_ACTIVE,
		.offer = offer,
		.candidates = offer->candidates,
		.n_candidates = offer->n_candidates,
		.end_of_candidates = offer->end_of_candidates,
	};
	struct pp_buf b;
	struct pp_sdp *ans = NULL;

	pp_buf_init(&b, PP_SDP_MAX);
	int rc = pp_sdp_write(&p, &b);
	if (offer->legacy_sctpmap) {
		CHECK(rc == PP_ERR_UNSUPPORTED && b.len == 0);
		goto out;
	}
	if (rc == PP_ERR_TOO_BIG)
		goto out;
	CHECK(rc == 0);
	CHECK(pp_sdp_parse((const char *)b.data, b.len, &ans, NULL) == 0);
	CHECK(ans->n_mlines == offer->n_mlines && ans->data_index == offer->data_index);
	CHECK(strcmp(ans->mid, offer->mid) == 0);
	CHECK(ans->n_candidates == offer->n_candidates);
	CHECK(ans->setup == PP_SDP_SETUP_ACTIVE && ans->sctp_port == PP_SDP_SCTP_PORT);
	CHECK(pp_fingerprint_equal(pp_sdp_fingerprint(ans), &fp));
	for (size_t i = 0; i < ans->n_mlines; i++)
		CHECK(ans->mlines[i].rejected == (i != ans->data_index));
out:
	pp_sdp_free(ans);
	pp_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_sdp *s = NULL;
	struct pp_sdp_error err;
	struct pp_fingerprint fp;

	(void)pp_fingerprint_parse((const char *)data, size, &fp);
	int rc = pp_sdp_parse((const char *)data, size, &s, &err);
	if (rc < 0) {
		CHECK(s == NULL && err.fault != PP_SDP_FAULT_NONE && err.why != NULL);
		return 0;
	}
	CHECK(s && err.fault == PP_SDP_FAULT_NONE);
	CHECK(s->n_candidates + s->n_candidates_skipped <= PP_SDP_CANDIDATES_MAX);
	CHECK(s->data_index < s->n_mlines && s->n_mlines <= PP_SDP_MLINES_MAX);
	CHECK(!s->mlines[s->data_index].rejected);
	CHECK(strlen(s->ufrag) >= PP_SDP_UFRAG_MIN && strlen(s->pwd) >= PP_SDP_PWD_MIN);
	CHECK(s->sctp_port != 0);
	check_candidates(s);
	check_fingerprints(s);
	check_answer(s);
	pp_sdp_free(s);
	return 0;
}
