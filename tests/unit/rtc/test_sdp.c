/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/error.h"
#include "peerpipe/rtc/sdp.h"
#include "sdp_samples.h"

#include <glib.h>
#include <string.h>

static struct pp_sdp *parse_ok(const char *text)
{
	struct pp_sdp *sdp = NULL;
	struct pp_sdp_error err;
	int rc = pp_sdp_parse(text, strlen(text), &sdp, &err);
	if (rc != 0)
		g_test_message("line %u: %s (%s)", err.line, err.why ? err.why : "-",
		               pp_strerror(rc));
	g_assert_cmpint(rc, ==, 0);
	g_assert_nonnull(sdp);
	g_assert_cmpint(err.fault, ==, PP_SDP_FAULT_NONE);
	return sdp;
}

static void parse_err(const char *text, size_t len, int want_rc,
                      enum pp_sdp_fault want_fault, unsigned want_line)
{
	struct pp_sdp *sdp = (struct pp_sdp *)1;
	struct pp_sdp_error err;
	int rc = pp_sdp_parse(text, len, &sdp, &err);
	g_assert_cmpint(rc, ==, want_rc);
	g_assert_null(sdp);
	g_assert_cmpstr(pp_sdp_fault_name(err.fault), ==, pp_sdp_fault_name(want_fault));
	g_assert_nonnull(err.why);
	if (want_line)
		g_assert_cmpuint(err.line, ==, want_line);
	/* the same without an error struct */
	g_assert_cmpint(pp_sdp_parse(text, len, &sdp, NULL), ==, want_rc);
}

static void parse_err_str(const char *text, int want_rc, enum pp_sdp_fault want_fault)
{
	parse_err(text, strlen(text), want_rc, want_fault, 0);
}

/* sample with `from` replaced by `to` (must occur) */
static char *edit(const char *sample, const char *from, const char *to)
{
	GString *s = g_string_new(sample);
	g_assert_nonnull(strstr(sample, from));
	g_string_replace(s, from, to, 1);
	return g_string_free(s, FALSE);
}

static void test_chromium_offer(void)
{
	struct pp_sdp *s = parse_ok(pp_sample_chromium_offer);

	g_assert_cmpstr(s->ufrag, ==, "EsAw");
	g_assert_cmpstr(s->pwd, ==, "bP+XJMM09aR8AiX1jdukzR6Y");
	g_assert_cmpuint(s->n_fingerprints, ==, 1);
	const struct pp_fingerprint *fp = pp_sdp_fingerprint(s);
	g_assert_nonnull(fp);
	g_assert_cmpint(fp->alg, ==, PP_FP_SHA256);
	g_assert_cmpuint(fp->digest[0], ==, 0xD2);
	g_assert_cmpuint(fp->digest[31], ==, 0x0F);
	g_assert_cmpint(s->setup, ==, PP_SDP_SETUP_ACTPASS);
	g_assert_cmpstr(s->mid, ==, "0");
	g_assert_true(s->bundled);
	g_assert_true(s->ice_trickle);
	g_assert_false(s->ice2);
	g_assert_false(s->ice_lite);
	g_assert_false(s->end_of_candidates);
	g_assert_false(s->legacy_sctpmap);
	g_assert_cmpuint(s->sctp_port, ==, 5000);
	g_assert_cmpuint(s->max_message_size, ==, 262144);
	g_assert_cmpuint(s->data_index, ==, 0);
	g_assert_cmpuint(s->n_mlines, ==, 1);
	g_assert_cmpuint(s->mlines[0].port, ==, 54400);
	g_assert_cmpuint(s->n_candidates, ==, 4);
	g_assert_cmpuint(s->n_candidates_skipped, ==, 0);
	g_assert_cmpint(s->candidates[0].addr.family, ==, PP_CAND_MDNS);
	g_assert_cmpstr(s->candidates[0].addr.host, ==,
	                "1f0a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b.local");
	g_assert_cmpuint(s->candidates[0].addr.port, ==, 54400);
	g_assert_cmpint(s->candidates[2].type, ==, PP_CAND_SRFLX);
	g_assert_cmpint(s->candidates[2].addr.family, ==, PP_CAND_IPV4);
	g_assert_true(s->candidates[2].has_raddr);
	g_assert_cmpstr(s->candidates[2].raddr.host, ==, "0.0.0.0");
	g_assert_cmpint(s->candidates[3].transport, ==, PP_CAND_TCP);
	g_assert_cmpint(s->candidates[3].tcptype, ==, PP_CAND_TCPTYPE_ACTIVE);
	pp_sdp_free(s);
}

static void test_chromium_answer(void)
{
	struct pp_sdp *s = parse_ok(pp_sample_chromium_answer);
	g_assert_cmpint(s->setup, ==, PP_SDP_SETUP_ACTIVE);
	g_assert_cmpuint(s->n_candidates, ==, 0);
	g_assert_cmpstr(s->ufrag, ==, "u9Zq");
	g_assert_nonnull(pp_sdp_fingerprint(s));
	pp_sdp_free(s);
}

static void test_firefox_offer(void)
{
	struct pp_sdp *s = parse_ok(pp_sample_firefox_offer);

	g_assert_cmpstr(s->ufrag, ==, "9b1f8f4e");
	g_assert_cmpstr(s->pwd, ==, "3c6a1fa4b2e5e0d3d2fa1c8d0c4b7e91");
	g_assert_cmpuint(s->n_fingerprints, ==, 1); /* session level */
	g_assert_cmpuint(s->fingerprints[0].digest[0], ==, 0x4C);
	g_assert_cmpint(s->setup, ==, PP_SDP_SETUP_ACTPASS);
	g_assert_true(s->ice_trickle); /* session level */
	g_assert_true(s->end_of_candidates);
	g_assert_cmpuint(s->max_message_size, ==, 1073741823);
	g_assert_cmpuint(s->n_candidates, ==, 4);
	g_assert_cmpint(s->candidates[1].transport, ==, PP_CAND_TCP);
	g_assert_cmpint(s->candidates[3].type, ==, PP_CAND_RELAY);
	g_assert_cmpint(s->candidates[3].addr.family, ==, PP_CAND_IPV6);
	g_assert_cmpuint(s->candidates[3].addr.ip[0], ==, 0x20);
	g_assert_cmpuint(s->candidates[3].raddr.port, ==, 60923);
	pp_sdp_free(s);
}

static void test_firefox_answer_lf(void)
{
	struct pp_sdp *s = parse_ok(pp_sample_firefox_answer_lf);
	g_assert_cmpint(s->setup, ==, PP_SDP_SETUP_ACTIVE);
	g_assert_cmpstr(s->ufrag, ==, "0f1e2d3c");
	g_assert_cmpuint(s->fingerprints[0].digest[0], ==, 0xA9);
	pp_sdp_free(s);
}

static void test_line_ends(void)
{
	/* LF, no final line end, blank lines: the same result */
	char *lf = g_strdup(pp_sample_chromium_offer);
	GString *g = g_string_new(pp_sample_chromium_offer);
	g_string_replace(g, "\r\n", "\n", 0);
	g_string_truncate(g, g->len - 1);
	g_string_replace(g, "t=0 0\n", "t=0 0\n\n\r\n", 1);
	struct pp_sdp *a = parse_ok(lf), *b = parse_ok(g->str);
	g_assert_cmpstr(a->ufrag, ==, b->ufrag);
	g_assert_cmpuint(a->max_message_size, ==, b->max_message_size);
	g_assert_cmpuint(a->n_candidates, ==, b->n_candidates);
	g_assert_cmpint(memcmp(a->candidates, b->candidates, a->n_candidates * sizeof(*a->candidates)), ==, 0);
	pp_sdp_free(a);
	pp_sdp_free(b);
	g_string_free(g, TRUE);
	g_free(lf);
}

static void test_bundle_tag(void)
{
	struct pp_sdp *s = parse_ok(pp_sample_chromium_audio_data);

	g_assert_cmpuint(s->n_mlines, ==, 2);
	g_assert_cmpuint(s->data_index, ==, 1);
	g_assert_cmpstr(s->mid, ==, "1");
	g_assert_true(s->bundled);
	g_assert_cmpstr(s->ufrag, ==, "YbLk");
	/* candidates come from the tagged audio section */
	g_assert_cmpuint(s->n_candidates, ==, 2);
	g_assert_cmpstr(s->candidates[0].ufrag, ==, "YbLk");
	g_assert_cmpuint(s->candidates[0].network_id, ==, 1);
	g_assert_cmpstr(s->mlines[0].media, ==, "audio");
	g_assert_cmpstr(s->mlines[0].fmt, ==, "111");
	g_assert_false(s->mlines[0].rejected);
	pp_sdp_free(s);

	/* the tag's transport wins over the data section's own */
	char *t = edit(pp_sample_chromium_audio_data, "a=mid:1\r\n",
	               "a=mid:1\r\na=candidate:9 1 udp 1 192.0.2.99 9 typ host\r\n");
	s = parse_ok(t);
	g_assert_cmpuint(s->n_candidates, ==, 2);
	g_assert_cmpstr(s->candidates[0].addr.host, ==, "192.0.2.10");
	pp_sdp_free(s);
	g_free(t);

	/* when the tag has no candidates, the data section's are used */
	t = edit(pp_sample_chromium_audio_data, "a=group:BUNDLE 0 1", "a=group:BUNDLE 1 0");
	s = parse_ok(t);
	g_assert_cmpuint(s->n_candidates, ==, 0);
	g_assert_true(s->bundled);
	pp_sdp_free(s);
	g_free(t);

	/* a rejected tag is skipped: the next mid in the group is the tag */
	t = edit(pp_sample_chromium_audio_data, "m=audio 9 ", "m=audio 0 ");
	s = parse_ok(t);
	g_assert_true(s->mlines[0].rejected);
	g_assert_cmpuint(s->n_candidates, ==, 0);
	g_assert_cmpstr(s->ufrag, ==, "YbLk");
	pp_sdp_free(s);
	g_free(t);
}

static void test_bundle_only(void)
{
	struct pp_sdp *s = parse_ok(pp_sample_firefox_bundle_only);
	g_assert_cmpuint(s->data_index, ==, 1);
	g_assert_false(s->mlines[1].rejected);
	g_assert_cmpuint(s->mlines[1].port, ==, 0);
	g_assert_cmpstr(s->mid, ==, "1");
	g_assert_cmpstr(s->ufrag, ==, "4e3d2c1b");
	g_assert_cmpint(s->setup, ==, PP_SDP_SETUP_ACTPASS);
	g_assert_cmpuint(s->max_message_size, ==, 1073741823);
	pp_sdp_free(s);
}

static void test_legacy(void)
{
	struct pp_sdp *s = parse_ok(pp_sample_legacy_sctpmap);
	g_assert_true(s->legacy_sctpmap);
	g_assert_cmpuint(s->sctp_port, ==, 5000);
	g_assert_cmpstr(s->mid, ==, "sdparta_0");
	g_assert_true(s->bundled);
	pp_sdp_free(s);

	/* the port comes from the format when a=sctpmap is absent */
	char *t = edit(pp_sample_legacy_sctpmap, "DTLS/SCTP 5000", "DTLS/SCTP 5001");
	char *u = edit(t, "a=sctpmap:5000 webrtc-datachannel 256\r\n", "");
	s = parse_ok(u);
	g_assert_cmpuint(s->sctp_port, ==, 5001);
	pp_sdp_free(s);
	g_free(u);
	g_free(t);

	/* a=sctpmap in a modern section is honoured when a=sctp-port is absent */
	t = edit(pp_sample_chromium_answer, "a=sctp-port:5000", "a=sctpmap:6000 webrtc-datachannel");
	s = parse_ok(t);
	g_assert_cmpuint(s->sctp_port, ==, 6000);
	pp_sdp_free(s);
	g_free(t);
}

static void test_rejected_other(void)
{
	struct pp_sdp *s = parse_ok(pp_sample_rejected_audio);
	g_assert_cmpuint(s->data_index, ==, 1);
	g_assert_true(s->mlines[0].rejected);
	g_assert_cmpstr(s->mlines[0].mid, ==, "audio");
	g_assert_false(s->bundled);
	g_assert_cmpstr(s->ufrag, ==, "Ab+/"); /* not the rejected section's */
	g_assert_cmpuint(s->max_message_size, ==, PP_SDP_MAX_MESSAGE_SIZE_DEFAULT);
	g_assert_cmpuint(s->sctp_port, ==, 5000);
	g_assert_cmpint(s->setup, ==, PP_SDP_SETUP_PASSIVE);
	g_assert_false(s->ice_trickle);
	pp_sdp_free(s);
}

static void test_levels(void)
{
	/* media level overrides session level */
	char *t = edit(pp_sample_chromium_answer, "t=0 0\r\n",
	               "t=0 0\r\na=ice-ufrag:sess\r\na=ice-pwd:sessionsessionsession1\r\n"
	               "a=setup:passive\r\na=ice-lite\r\n");
	struct pp_sdp *s = parse_ok(t);
	g_assert_cmpstr(s->ufrag, ==, "u9Zq");
	g_assert_cmpint(s->setup, ==, PP_SDP_SETUP_ACTIVE);
	g_assert_true(s->ice_lite);
	pp_sdp_free(s);
	g_free(t);

	/* session-level credentials alone are enough */
	t = edit(pp_sample_rejected_audio, "a=ice-ufrag:Ab+/\r\na=ice-pwd:0123456789abcdefghijkl\r\n", "");
	char *u = edit(t, "t=0 0\r\n", "t=0 0\r\na=ice-ufrag:sess\r\na=ice-pwd:sessionsessionsession1\r\n"
	                               "a=end-of-candidates\r\na=ice-options:ice2 trickle\r\n");
	s = parse_ok(u);
	g_assert_cmpstr(s->ufrag, ==, "sess");
	g_assert_cmpstr(s->pwd, ==, "sessionsessionsession1");
	g_assert_true(s->end_of_candidates);
	g_assert_true(s->ice2);
	g_assert_true(s->ice_trickle);
	pp_sdp_free(s);
	g_free(u);
	g_free(t);
}

static void test_fingerprints(void)
{
	/* unknown algorithm: parsed, never pinnable */
	char *t = edit(pp_sample_chromium_answer, "a=fingerprint:sha-256 ",
	               "a=fingerprint:sha3-256 ");
	struct pp_sdp *s = parse_ok(t);
	g_assert_cmpuint(s->n_fingerprints, ==, 1);
	g_assert_cmpint(s->fingerprints[0].alg, ==, PP_FP_UNKNOWN);
	g_assert_cmpstr(s->fingerprints[0].alg_name, ==, "sha3-256");
	g_assert_null(pp_sdp_fingerprint(s));
	pp_sdp_free(s);
	g_free(t);

	/* several: the SHA-256 one is found */
	t = edit(pp_sample_chromium_answer, "a=setup:active",
	         "a=fingerprint:SHA-1 00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13\r\n"
	         "a=setup:active");
	char *u = edit(t, "a=fingerprint:sha-256", "a=fingerprint:sha-512 " \
	                "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:" \
	                "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:" \
	                "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:" \
	                "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F\r\na=fingerprint:sha-256");
	s = parse_ok(u);
	g_assert_cmpuint(s->n_fingerprints, ==, 3);
	g_assert_cmpint(s->fingerprints[0].alg, ==, PP_FP_SHA512);
	g_assert_cmpint(s->fingerprints[2].alg, ==, PP_FP_SHA1);
	g_assert_cmpstr(s->fingerprints[2].alg_name, ==, "sha-1");
	g_assert_true(pp_sdp_fingerprint(s) == &s->fingerprints[1]);
	pp_sdp_free(s);
	g_free(u);
	g_free(t);
}

static void test_skipped_candidates(void)
{
	char *t = edit(pp_sample_chromium_answer, "a=ice-ufrag",
	               "a=candidate:1 1 ssltcp 1 192.0.2.1 443 typ host\r\n"
	               "a=candidate:2 1 udp 1 turn.example.com 3478 typ relay raddr 0.0.0.0 rport 0\r\n"
	               "a=candidate:3 1 udp 1 192.0.2.1 1 typ host\r\n"
	               "a=ice-ufrag");
	struct pp_sdp *s = parse_ok(t);
	g_assert_cmpuint(s->n_candidates, ==, 1);
	g_assert_cmpuint(s->n_candidates_skipped, ==, 2);
	pp_sdp_free(s);
	g_free(t);

	/* other m-lines' candidates are counted but not read */
	t = edit(pp_sample_rejected_audio, "a=ice-ufrag:zzzz", "a=candidate:garbage");
	s = parse_ok(t);
	g_assert_cmpuint(s->n_candidates, ==, 0);
	pp_sdp_free(s);
	g_free(t);
}

static void test_limits(void)
{
	/* whole SDP */
	char *big = g_malloc(PP_SDP_MAX + 1);
	memset(big, 'x', PP_SDP_MAX + 1);
	parse_err(big, PP_SDP_MAX + 1, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_BIG, 0);
	g_free(big);

	/* a line: 4096 is fine, 4097 is not */
	GString *g = g_string_new(pp_sample_chromium_answer);
	g_string_append(g, "a=x:");
	for (size_t i = 4; i < PP_SDP_LINE_MAX; i++)
		g_string_append_c(g, 'y');
	g_string_append(g, "\r\n");
	struct pp_sdp *s = parse_ok(g->str);
	pp_sdp_free(s);
	g_string_insert_c(g, g->len - 2, 'y');
	parse_err(g->str, g->len, PP_ERR_TOO_BIG, PP_SDP_FAULT_LINE_TOO_LONG, 18);
	g_string_free(g, TRUE);

	/* 64 candidates, then 65 */
	g = g_string_new(pp_sample_chromium_answer);
	for (int i = 0; i < PP_SDP_CANDIDATES_MAX; i++)
		g_string_append_printf(g, "a=candidate:%d 1 udp %d 192.0.2.%d 9 typ host\r\n",
		                       i, 1000 + i, i + 1);
	s = parse_ok(g->str);
	g_assert_cmpuint(s->n_candidates, ==, PP_SDP_CANDIDATES_MAX);
	pp_sdp_free(s);
	g_string_append(g, "a=candidate:x 1 udp 1 192.0.2.200 9 typ host\r\n");
	parse_err(g->str, g->len, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_MANY_CANDIDATES, 82);
	g_string_free(g, TRUE);

	/* 32 m-lines, then 33 */
	g = g_string_new(pp_sample_chromium_answer);
	for (int i = 1; i < PP_SDP_MLINES_MAX; i++)
		g_string_append_printf(g, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:v%d\r\n", i);
	s = parse_ok(g->str);
	g_assert_cmpuint(s->n_mlines, ==, PP_SDP_MLINES_MAX);
	pp_sdp_free(s);
	g_string_append(g, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n");
	parse_err_str(g->str, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_MANY_MLINES);
	g_string_free(g, TRUE);

	/* 4 fingerprints, then 5 */
	const char *fp = "a=fingerprint:sha-1 00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13\r\n";
	char *four = g_strconcat(pp_sample_chromium_answer, fp, fp, fp, NULL);
	s = parse_ok(four);
	g_assert_cmpuint(s->n_fingerprints, ==, 4);
	pp_sdp_free(s);
	char *five = g_strconcat(four, fp, NULL);
	parse_err_str(five, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_BIG);
	g_free(five);
	g_free(four);

	/* 8 BUNDLE groups, then 9 */
	g = g_string_new(pp_sample_chromium_answer);
	for (int i = 1; i < PP_SDP_GROUPS_MAX; i++)
		g_string_replace(g, "t=0 0\r\n", "t=0 0\r\na=group:BUNDLE\r\n", 1);
	s = parse_ok(g->str);
	pp_sdp_free(s);
	g_string_replace(g, "t=0 0\r\n", "t=0 0\r\na=group:BUNDLE\r\n", 1);
	parse_err_str(g->str, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_BIG);
	g_string_free(g, TRUE);

	/* long m-line fields and mids */
	char *t = edit(pp_sample_chromium_answer, "t=0 0\r\n",
	               "t=0 0\r\nm=video 0 RTP/AVP 0123456789012345678901234567890123456789012345678901234567890123456789\r\n");
	parse_err_str(t, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_BIG);
	g_free(t);
	t = edit(pp_sample_chromium_answer, "a=mid:0",
	         "a=mid:01234567890123456789012345678901234567890123456789012345678901234");
	parse_err_str(t, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_BIG);
	g_free(t);
}

struct edit_case {
	const char *from, *to;
	int rc;
	enum pp_sdp_fault fault;
};

static void test_errors(void)
{
	static const struct edit_case cases[] = {
		{ "v=0\r\n", "", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "v=0", "v=1", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "s=-", "s-", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "s=-", "S=-", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "s=-", "s=\x01", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "s=-\r", "s=-\r\r", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=application 9 UDP/DTLS/SCTP",
		  PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "m=application 9 ", "m=application 70000 ", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "m=application 9 ", "m=application 9/0 ", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "m=application 9 ", "m=application -9 ", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "m=application 9 ", "m=application  9 ", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "UDP/DTLS/SCTP", "UDP//SCTP", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "webrtc-datachannel", "webrtc-datachannel ", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		{ "webrtc-datachannel", "webrtc-datachannel x\"y", PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX },
		/* no usable data channel section */
		{ "m=application 9 ", "m=application 0 ", PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_DATACHANNEL },
		{ "m=application", "m=audio", PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_DATACHANNEL },
		{ "webrtc-datachannel", "webrtc-datachannels", PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_DATACHANNEL },
		{ "UDP/DTLS/SCTP", "DTLS/SCTP", PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_DATACHANNEL },
		{ "UDP/DTLS/SCTP", "RTP/AVP", PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_DATACHANNEL },
		/* missing transport */
		{ "a=ice-ufrag:u9Zq\r\n", "", PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_UFRAG },
		{ "a=ice-pwd:Zf4x2hWqv1PzYb3N7kLmR8sT\r\n", "", PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_PWD },
		{ "a=fingerprint:", "a=fingerprint-x:", PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_FINGERPRINT },
		/* bad values */
		{ "a=ice-ufrag:u9Zq", "a=ice-ufrag:u9Z", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=ice-ufrag:u9Zq", "a=ice-ufrag:u9Z-", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=ice-pwd:Zf4x2hWqv1PzYb3N7kLmR8sT", "a=ice-pwd:short", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=ice-options:trickle", "a=ice-options:trickle  x", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=ice-options:trickle", "a=ice-options:tri\"ckle", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "sha-256 7B", "sha-256 7G", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "sha-256 7B:8B", "sha-256 7B8B", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ ":19:08\r\n", ":19\r\n", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=fingerprint:sha-256 ", "a=fingerprint:", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=setup:active", "a=setup:client", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=setup:active", "a=setup:", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=mid:0", "a=mid:", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=mid:0", "a=mid:a b", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=sctp-port:5000", "a=sctp-port:0", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=sctp-port:5000", "a=sctp-port:65536", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=sctp-port:5000", "a=sctp-port:+5000", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=sctp-port:5000", "a=sctp-port:5000 ", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=sctp-port:5000", "a=sctpmap:5000 webrtc-datachannel x", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=sctp-port:5000", "a=sctpmap:5000 bfcp", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=sctp-port:5000", "a=sctpmap:0 webrtc-datachannel", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=sctp-port:5000", "a=sctpmap:5000", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=sctp-port:5000", "a=sctpmap:5000 webrtc-datachannel 1 2", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=max-message-size:262144", "a=max-message-size:", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=max-message-size:262144", "a=max-message-size:12345678901234567890", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=max-message-size:262144", "a=max-message-size:0x10", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=group:BUNDLE 0", "a=group:BUNDLE 0 a\"b", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=group:BUNDLE 0", "a=group:BUNDLE  0", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		{ "a=group:BUNDLE 0", "a=group: BUNDLE 0", PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE },
		/* repeated single attributes */
		{ "a=ice-ufrag:u9Zq", "a=ice-ufrag:u9Zq\r\na=ice-ufrag:u9Zq", PP_ERR_INVALID, PP_SDP_FAULT_DUPLICATE },
		{ "a=ice-pwd:", "a=ice-pwd:Zf4x2hWqv1PzYb3N7kLmR8sT\r\na=ice-pwd:", PP_ERR_INVALID, PP_SDP_FAULT_DUPLICATE },
		{ "a=setup:active", "a=setup:active\r\na=setup:passive", PP_ERR_INVALID, PP_SDP_FAULT_DUPLICATE },
		{ "a=mid:0", "a=mid:0\r\na=mid:1", PP_ERR_INVALID, PP_SDP_FAULT_DUPLICATE },
		{ "a=ice-options:trickle", "a=ice-options:trickle\r\na=ice-options:trickle", PP_ERR_INVALID, PP_SDP_FAULT_DUPLICATE },
		{ "a=sctp-port:5000", "a=sctp-port:5000\r\na=sctp-port:5000", PP_ERR_INVALID, PP_SDP_FAULT_DUPLICATE },
		{ "a=sctp-port:5000", "a=sctpmap:5000 webrtc-datachannel\r\na=sctpmap:5000 webrtc-datachannel", PP_ERR_INVALID, PP_SDP_FAULT_DUPLICATE },
		{ "a=max-message-size:262144", "a=max-message-size:1\r\na=max-message-size:1", PP_ERR_INVALID, PP_SDP_FAULT_DUPLICATE },
		{ "a=max-message-size:262144", "a=max-message-size:1\r\nm=video 0 RTP/AVP 0\r\na=mid:0", PP_ERR_INVALID, PP_SDP_FAULT_DUPLICATE },
		/* candidates */
		{ "a=setup:active", "a=setup:active\r\na=candidate:1 1 udp 1 192.0.2.1 99999 typ host", PP_ERR_INVALID, PP_SDP_FAULT_BAD_CANDIDATE },
		{ "a=setup:active", "a=setup:active\r\na=candidate:1 1 udp 1 192.0.2.1 9 typ", PP_ERR_INVALID, PP_SDP_FAULT_BAD_CANDIDATE },
		{ "a=setup:active", "a=setup:active\r\na=candidate:1 1 udp 1 192.0.2.1 9 typ host raddr 0.0.0.0", PP_ERR_INVALID, PP_SDP_FAULT_BAD_CANDIDATE },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("case %zu: %s -> %s", i, cases[i].from, cases[i].to);
		char *t = edit(pp_sample_chromium_answer, cases[i].from, cases[i].to);
		parse_err_str(t, cases[i].rc, cases[i].fault);
		g_free(t);
	}
	parse_err("", 0, PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX, 0);
	parse_err("\r\n\n", 3, PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX, 0);
	parse_err("v=0\r\n", 5, PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_DATACHANNEL, 0);
	/* an embedded NUL */
	parse_err("v=0\r\ns=\0\r\n", 10, PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX, 2);
	/* the fault names the m-line of the data section */
	char *t = edit(pp_sample_chromium_answer, "a=ice-ufrag:u9Zq\r\n", "");
	parse_err_str(t, PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_UFRAG);
	parse_err(t, strlen(t), PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_UFRAG, 8);
	g_free(t);
	g_assert_cmpstr(pp_sdp_fault_name((enum pp_sdp_fault)99), ==, "?");
	g_assert_cmpstr(pp_sdp_setup_name((enum pp_sdp_setup)99), ==, "none");
	g_assert_cmpstr(pp_sdp_setup_name(PP_SDP_SETUP_NONE), ==, "none");
}

/* ---- writing ---- */

static struct pp_fingerprint test_fp(void)
{
	struct pp_fingerprint fp;
	const char *t = "sha-256 01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
	                "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF";
	g_assert_cmpint(pp_fingerprint_parse(t, strlen(t), &fp), ==, 0);
	return fp;
}

static struct pp_sdp_params offer_params(const struct pp_fingerprint *fp)
{
	return (struct pp_sdp_params){
		.kind = PP_SDP_OFFER,
		.session_id = 1234567890123456789ull,
		.session_version = 2,
		.ufrag = "pPuf",
		.pwd = "peerpipepeerpipepeerpi",
		.fingerprint = fp,
		.setup = PP_SDP_SETUP_ACTPASS,
	};
}

static char *write_ok(const struct pp_sdp_params *p)
{
	struct pp_buf b;
	pp_buf_init(&b, PP_SDP_MAX);
	int rc = pp_sdp_write(p, &b);
	g_assert_cmpint(rc, ==, 0);
	return (char *)pp_buf_steal(&b, NULL);
}

static void test_write_offer(void)
{
	struct pp_fingerprint fp = test_fp();
	struct pp_sdp_params p = offer_params(&fp);
	char *text = write_ok(&p);

	g_assert_cmpstr(text, ==,
	                "v=0\r\n"
	                "o=- 1234567890123456789 2 IN IP4 127.0.0.1\r\n"
	                "s=-\r\n"
	                "t=0 0\r\n"
	                "a=group:BUNDLE 0\r\n"
	                "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	                "c=IN IP4 0.0.0.0\r\n"
	                "a=ice-ufrag:pPuf\r\n"
	                "a=ice-pwd:peerpipepeerpipepeerpi\r\n"
	                "a=ice-options:trickle\r\n"
	                "a=fingerprint:sha-256 01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
	                "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF\r\n"
	                "a=setup:actpass\r\n"
	                "a=mid:0\r\n"
	                "a=sctp-port:5000\r\n"
	                "a=max-message-size:262144\r\n");
	g_free(text);
}

static void test_write_roundtrip(void)
{
	struct pp_fingerprint fp = test_fp();
	struct pp_sdp_params p = offer_params(&fp);
	struct pp_sdp *offer = parse_ok(pp_sample_chromium_offer);

	p.candidates = offer->candidates;
	p.n_candidates = offer->n_candidates;
	p.end_of_candidates = true;
	p.mid = "data";
	char *text = write_ok(&p);
	struct pp_sdp *s = parse_ok(text);
	g_assert_cmpstr(s->ufrag, ==, p.ufrag);
	g_assert_cmpstr(s->pwd, ==, p.pwd);
	g_assert_cmpstr(s->mid, ==, "data");
	g_assert_true(s->bundled);
	g_assert_true(s->ice_trickle);
	g_assert_true(s->end_of_candidates);
	g_assert_cmpint(s->setup, ==, PP_SDP_SETUP_ACTPASS);
	g_assert_cmpuint(s->sctp_port, ==, PP_SDP_SCTP_PORT);
	g_assert_cmpuint(s->max_message_size, ==, PP_SDP_MAX_MESSAGE_SIZE);
	g_assert_true(pp_fingerprint_equal(pp_sdp_fingerprint(s), &fp));
	g_assert_cmpuint(s->n_candidates, ==, offer->n_candidates);
	g_assert_cmpint(memcmp(s->candidates, offer->candidates, s->n_candidates * sizeof(*s->candidates)), ==, 0);
	pp_sdp_free(s);
	g_free(text);
	pp_sdp_free(offer);
}

static struct pp_sdp *answer_to(const char *offer_text, char **text_out)
{
	struct pp_fingerprint fp = test_fp();
	struct pp_sdp_params p = offer_params(&fp);
	struct pp_sdp *offer = parse_ok(offer_text);

	p.kind = PP_SDP_ANSWER;
	p.setup = PP_SDP_SETUP_ACTIVE;
	p.offer = offer;
	char *text = write_ok(&p);
	struct pp_sdp *s = parse_ok(text);
	g_assert_cmpuint(s->n_mlines, ==, offer->n_mlines);
	g_assert_cmpuint(s->data_index, ==, offer->data_index);
	g_assert_cmpstr(s->mid, ==, offer->mid);
	g_assert_cmpint(s->setup, ==, PP_SDP_SETUP_ACTIVE);
	for (size_t i = 0; i < s->n_mlines; i++) {
		g_assert_cmpstr(s->mlines[i].mid, ==, offer->mlines[i].mid);
		g_assert_cmpstr(s->mlines[i].media, ==, offer->mlines[i].media);
		g_assert_true(s->mlines[i].rejected == (i != s->data_index));
	}
	pp_sdp_free(offer);
	*text_out = text;
	return s;
}

static void test_write_answer(void)
{
	char *text;
	struct pp_sdp *s = answer_to(pp_sample_chromium_offer, &text);
	g_assert_true(s->bundled);
	g_assert_nonnull(strstr(text, "a=group:BUNDLE 0\r\n"));
	pp_sdp_free(s);
	g_free(text);

	s = answer_to(pp_sample_firefox_offer, &text);
	g_assert_true(s->bundled);
	pp_sdp_free(s);
	g_free(text);

	s = answer_to(pp_sample_chromium_audio_data, &text);
	g_assert_true(s->bundled);
	g_assert_nonnull(strstr(text, "a=group:BUNDLE 1\r\n"));
	g_assert_nonnull(strstr(text, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"));
	pp_sdp_free(s);
	g_free(text);

	s = answer_to(pp_sample_firefox_bundle_only, &text);
	g_assert_cmpstr(s->mid, ==, "1");
	pp_sdp_free(s);
	g_free(text);

	s = answer_to(pp_sample_rejected_audio, &text);
	g_assert_false(s->bundled);
	g_assert_null(strstr(text, "a=group"));
	pp_sdp_free(s);
	g_free(text);
}

static void write_err(const struct pp_sdp_params *p, int want)
{
	struct pp_buf b;
	pp_buf_init(&b, PP_SDP_MAX);
	g_assert_cmpint(pp_buf_append(&b, "keep", 4), ==, 0);
	g_assert_cmpint(pp_sdp_write(p, &b), ==, want);
	g_assert_cmpuint(b.len, ==, 4);
	g_assert_cmpstr((char *)b.data, ==, "keep");
	pp_buf_free(&b);
}

static void test_write_errors(void)
{
	struct pp_fingerprint fp = test_fp(), unk = fp;
	struct pp_sdp_params p;
	struct pp_sdp *legacy = parse_ok(pp_sample_legacy_sctpmap);
	struct pp_sdp *offer = parse_ok(pp_sample_chromium_offer);
	struct pp_candidate bad = offer->candidates[0];
	char long_ufrag[PP_SDP_UFRAG_MAX + 2];

	unk.alg = PP_FP_UNKNOWN;
	memset(long_ufrag, 'a', sizeof(long_ufrag) - 1);
	long_ufrag[sizeof(long_ufrag) - 1] = '\0';

#define TRY(field, value, want)                      \
	do {                                         \
		p = offer_params(&fp);               \
		p.field = value;                     \
		write_err(&p, want);                 \
	} while (0)
	TRY(ufrag, "abc", PP_ERR_INVALID);
	TRY(ufrag, "ab-c", PP_ERR_INVALID);
	TRY(ufrag, NULL, PP_ERR_INVALID);
	TRY(ufrag, long_ufrag, PP_ERR_INVALID);
	TRY(pwd, "tooshort", PP_ERR_INVALID);
	TRY(fingerprint, NULL, PP_ERR_INVALID);
	TRY(fingerprint, &unk, PP_ERR_INVALID);
	TRY(setup, PP_SDP_SETUP_NONE, PP_ERR_INVALID);
	TRY(setup, PP_SDP_SETUP_HOLDCONN, PP_ERR_INVALID);
	TRY(setup, (enum pp_sdp_setup)42, PP_ERR_INVALID);
	TRY(kind, (enum pp_sdp_kind)7, PP_ERR_INVALID);
	TRY(mid, "", PP_ERR_INVALID);
	TRY(mid, "a b", PP_ERR_INVALID);
	TRY(session_id, (uint64_t)INT64_MAX + 1, PP_ERR_INVALID);
	TRY(session_version, UINT64_MAX, PP_ERR_INVALID);
	TRY(n_candidates, 1, PP_ERR_INVALID); /* with a NULL array */
	TRY(n_candidates, PP_SDP_CANDIDATES_MAX + 1, PP_ERR_INVALID);
#undef TRY

	/* a candidate that would not parse back */
	p = offer_params(&fp);
	strcpy(bad.foundation, "a b");
	p.candidates = &bad;
	p.n_candidates = 1;
	write_err(&p, PP_ERR_INVALID);

	/* answers */
	p = offer_params(&fp);
	p.kind = PP_SDP_ANSWER;
	p.setup = PP_SDP_SETUP_ACTIVE;
	write_err(&p, PP_ERR_INVALID); /* no offer */
	p.offer = legacy;
	write_err(&p, PP_ERR_UNSUPPORTED);
	p.offer = offer;
	p.setup = PP_SDP_SETUP_ACTPASS;
	write_err(&p, PP_ERR_INVALID);
	p.setup = PP_SDP_SETUP_PASSIVE;
	char *text = write_ok(&p);
	g_assert_nonnull(strstr(text, "a=setup:passive\r\n"));
	g_free(text);

	/* the output buffer's limit */
	struct pp_buf b;
	pp_buf_init(&b, 100);
	p = offer_params(&fp);
	g_assert_cmpint(pp_sdp_write(&p, &b), ==, PP_ERR_TOO_BIG);
	g_assert_cmpuint(b.len, ==, 0);
	pp_buf_free(&b);

	pp_sdp_free(offer);
	pp_sdp_free(legacy);
}

/* o=: the session id and version are kept, never a reason to refuse. */
static void test_origin(void)
{
	struct pp_sdp *s = parse_ok(pp_sample_chromium_offer);
	g_assert_cmpstr(s->origin_id, ==, "4611731400430051336");
	g_assert_cmpuint(s->origin_version, ==, 2);
	pp_sdp_free(s);

	static const struct {
		const char *o;
		const char *id;
		uint64_t version;
	} cases[] = {
		{ "o=- 42 7 IN IP4 0.0.0.0", "42", 7 },
		{ "o=mozilla...THIS_IS_SDPARTA-99.0 3245657 0 IN IP4 0.0.0.0", "3245657", 0 },
		{ "o=- 42 notanumber IN IP4 0.0.0.0", "42", 0 },
		{ "o=- 42 7 IN IP4", "", 0 },               /* five fields */
		{ "o=- 42 7 IN IP4 0.0.0.0 extra", "", 0 }, /* seven */
		{ "o=-  42 7 IN IP4 0.0.0.0", "", 0 },      /* empty field */
		{ "o=- 4\"2 7 IN IP4 0.0.0.0", "", 0 },     /* not a token */
		{ "o=- 12345678901234567890123456789012345678901234567890123456789012345 7 IN IP4 "
		  "0.0.0.0", "", 0 },                     /* 65 characters: not kept */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *t = edit(pp_sample_chromium_offer, "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
		               cases[i].o);
		g_test_message("%s", cases[i].o);
		s = parse_ok(t);
		g_assert_cmpstr(s->origin_id, ==, cases[i].id);
		g_assert_cmpuint(s->origin_version, ==, cases[i].version);
		pp_sdp_free(s);
		g_free(t);
	}
	/* a second o= line is ignored; none at all is fine */
	char *two = edit(pp_sample_chromium_offer, "s=-\r\n", "o=- 99 9 IN IP4 0.0.0.0\r\ns=-\r\n");
	s = parse_ok(two);
	g_assert_cmpstr(s->origin_id, ==, "4611731400430051336");
	pp_sdp_free(s);
	char *none = edit(pp_sample_chromium_offer, "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n", "");
	s = parse_ok(none);
	g_assert_cmpstr(s->origin_id, ==, "");
	pp_sdp_free(s);
	g_free(two);
	g_free(none);
}

static enum pp_sdp_change compare(const char *a, const char *b)
{
	struct pp_sdp *x = parse_ok(a), *y = parse_ok(b);
	enum pp_sdp_change c = pp_sdp_compare(x, y);

	g_test_message("-> %s", pp_sdp_change_name(c));
	pp_sdp_free(x);
	pp_sdp_free(y);
	return c;
}

/* What a later description changes (pp_peer's renegotiation rules). */
static void test_compare(void)
{
	const char *base = pp_sample_chromium_offer;
	const char *o = "o=- 4611731400430051336 2 IN IP4";
	const char *fp = "sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD"
	                 ":34:8E:5E:EA:6F:AF:52:CE:E6:0F";
	const char *fp2 = "sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD"
	                  ":34:8E:5E:EA:6F:AF:52:CE:E6:0E";
	char *version = edit(base, o, "o=- 4611731400430051336 3 IN IP4");
	char *ufrag = edit(version, "ice-ufrag:EsAw", "ice-ufrag:NeWu");
	char *pwd = edit(version, "bP+XJMM09aR8AiX1jdukzR6Y", "bP+XJMM09aR8AiX1jdukzR6Z");
	char *other = edit(ufrag, "o=- 4611731400430051336 3 IN IP4", "o=- 1 3 IN IP4");
	char *no_o = edit(base, o, "o=- 4611731400430051336 x IN IP4 0.0.0.0 bad");
	char *fpc = edit(base, fp, fp2);
	char *fpc_restart = edit(ufrag, fp, fp2);
	char *fpc_other = edit(other, fp, fp2);
	char *sha1 = edit(base, fp, "sha-1 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0");
	char *port = edit(ufrag, "a=sctp-port:5000", "a=sctp-port:5001");

	g_assert_cmpint(compare(base, base), ==, PP_SDP_SAME);
	g_assert_cmpint(compare(base, version), ==, PP_SDP_SAME);
	g_assert_cmpint(compare(base, ufrag), ==, PP_SDP_ICE_RESTART);
	g_assert_cmpint(compare(base, pwd), ==, PP_SDP_ICE_RESTART); /* the password alone */
	g_assert_cmpint(compare(base, other), ==, PP_SDP_OTHER_SESSION);
	g_assert_cmpint(compare(base, fpc_other), ==, PP_SDP_OTHER_SESSION); /* first */
	/* an unknown session id on either side: judged as a renegotiation */
	g_assert_cmpint(compare(base, no_o), ==, PP_SDP_SAME);
	g_assert_cmpint(compare(no_o, other), ==, PP_SDP_ICE_RESTART);
	g_assert_cmpint(compare(base, fpc), ==, PP_SDP_FINGERPRINT_CHANGED);
	g_assert_cmpint(compare(base, fpc_restart), ==, PP_SDP_FINGERPRINT_CHANGED);
	/* nothing pinnable: never "the same" identity */
	g_assert_cmpint(compare(base, sha1), ==, PP_SDP_FINGERPRINT_CHANGED);
	g_assert_cmpint(compare(sha1, sha1), ==, PP_SDP_FINGERPRINT_CHANGED);
	g_assert_cmpint(compare(base, port), ==, PP_SDP_SCTP_PORT_CHANGED);
	g_assert_cmpstr(pp_sdp_change_name(PP_SDP_ICE_RESTART), ==, "ICE restart");
	g_assert_cmpstr(pp_sdp_change_name((enum pp_sdp_change)99), ==, "?");
	g_free(version);
	g_free(ufrag);
	g_free(pwd);
	g_free(other);
	g_free(no_o);
	g_free(fpc);
	g_free(fpc_restart);
	g_free(fpc_other);
	g_free(sha1);
	g_free(port);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtc/sdp/chromium-offer", test_chromium_offer);
	g_test_add_func("/rtc/sdp/chromium-answer", test_chromium_answer);
	g_test_add_func("/rtc/sdp/firefox-offer", test_firefox_offer);
	g_test_add_func("/rtc/sdp/firefox-answer-lf", test_firefox_answer_lf);
	g_test_add_func("/rtc/sdp/line-ends", test_line_ends);
	g_test_add_func("/rtc/sdp/bundle-tag", test_bundle_tag);
	g_test_add_func("/rtc/sdp/bundle-only", test_bundle_only);
	g_test_add_func("/rtc/sdp/legacy-sctpmap", test_legacy);
	g_test_add_func("/rtc/sdp/rejected-other", test_rejected_other);
	g_test_add_func("/rtc/sdp/levels", test_levels);
	g_test_add_func("/rtc/sdp/fingerprints", test_fingerprints);
	g_test_add_func("/rtc/sdp/skipped-candidates", test_skipped_candidates);
	g_test_add_func("/rtc/sdp/limits", test_limits);
	g_test_add_func("/rtc/sdp/errors", test_errors);
	g_test_add_func("/rtc/sdp/write-offer", test_write_offer);
	g_test_add_func("/rtc/sdp/write-roundtrip", test_write_roundtrip);
	g_test_add_func("/rtc/sdp/write-answer", test_write_answer);
	g_test_add_func("/rtc/sdp/write-errors", test_write_errors);
	g_test_add_func("/rtc/sdp/origin", test_origin);
	g_test_add_func("/rtc/sdp/compare", test_compare);
	return g_test_run();
}
