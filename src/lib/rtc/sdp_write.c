/* SPDX-License-Identifier: Apache-2.0 */
/* SDP writing: an offer or an answer with one data channel section. */
#include "peerpipe/rtc/sdp.h"

#include "peerpipe/error.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int pp_sdp_put(struct pp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends one formatted line and its CRLF. */
static int pp_sdp_put(struct pp_buf *b, const char *fmt, ...)
{
	char line[PP_SDP_LINE_MAX + 3];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return PP_ERR_TOO_BIG;
	memcpy(line + n, "\r\n", 2);
	return pp_buf_append(b, line, (size_t)n + 2);
}

static bool pp_sdp_cred_ok(const char *s, size_t min, size_t max)
{
	size_t n = s ? strnlen(s, max + 1) : 0;
	return n >= min && n <= max && pp_rtc_text_ice_chars((struct pp_rtc_span){ s, n });
}

static bool pp_sdp_mid_ok(const char *s)
{
	size_t n = strnlen(s, PP_SDP_MID_MAX + 1);
	return n > 0 && n <= PP_SDP_MID_MAX && pp_rtc_text_token_chars((struct pp_rtc_span){ s, n });
}

static int pp_sdp_check(const struct pp_sdp_params *p)
{
	if (p->session_id > INT64_MAX || p->session_version > INT64_MAX ||
	    !pp_sdp_cred_ok(p->ufrag, PP_SDP_UFRAG_MIN, PP_SDP_UFRAG_MAX) ||
	    !pp_sdp_cred_ok(p->pwd, PP_SDP_PWD_MIN, PP_SDP_PWD_MAX) || !p->fingerprint ||
	    p->fingerprint->alg == PP_FP_UNKNOWN || p->n_candidates > PP_SDP_CANDIDATES_MAX ||
	    (p->n_candidates && !p->candidates))
		return PP_ERR_INVALID;
	switch (p->kind) {
	case PP_SDP_OFFER:
		if (p->setup != PP_SDP_SETUP_ACTPASS && p->setup != PP_SDP_SETUP_ACTIVE &&
		    p->setup != PP_SDP_SETUP_PASSIVE)
			return PP_ERR_INVALID;
		if (p->mid && !pp_sdp_mid_ok(p->mid))
			return PP_ERR_INVALID;
		return 0;
	case PP_SDP_ANSWER:
		if (p->setup != PP_SDP_SETUP_ACTIVE && p->setup != PP_SDP_SETUP_PASSIVE)
			return PP_ERR_INVALID;
		if (!p->offer || p->offer->data_index >= p->offer->n_mlines)
			return PP_ERR_INVALID;
		if (p->offer->legacy_sctpmap)
			return PP_ERR_UNSUPPORTED;
		return 0;
	}
	return PP_ERR_INVALID;
}

static int pp_sdp_put_transport(const struct pp_sdp_params *p, struct pp_buf *b)
{
	char text[PP_FP_TEXT_MAX];
	char cand[PP_CAND_LINE_MAX + 1];
	int rc;

	for (size_t i = 0; i < p->n_candidates; i++) {
		if ((rc = pp_candidate_format(&p->candidates[i], cand, sizeof(cand))) < 0 ||
		    (rc = pp_sdp_put(b, "a=%s", cand)) < 0)
			return rc;
	}
	if (p->end_of_candidates && (rc = pp_sdp_put(b, "a=end-of-candidates")) < 0)
		return rc;
	if ((rc = pp_fingerprint_format(p->fingerprint, text, sizeof(text))) < 0)
		return PP_ERR_INVALID;
	if ((rc = pp_sdp_put(b, "a=ice-ufrag:%s", p->ufrag)) < 0 ||
	    (rc = pp_sdp_put(b, "a=ice-pwd:%s", p->pwd)) < 0 ||
	    (rc = pp_sdp_put(b, "a=ice-options:trickle")) < 0 ||
	    (rc = pp_sdp_put(b, "a=fingerprint:%s", text)) < 0 ||
	    (rc = pp_sdp_put(b, "a=setup:%s", pp_sdp_setup_name(p->setup))) < 0)
		return rc;
	return 0;
}

static int pp_sdp_put_data(const struct pp_sdp_params *p, const char *proto,
                           const char *mid, struct pp_buf *b)
{
	int rc;

	if ((rc = pp_sdp_put(b, "m=application 9 %s webrtc-datachannel", proto)) < 0 ||
	    (rc = pp_sdp_put(b, "c=IN IP4 0.0.0.0")) < 0 ||
	    (rc = pp_sdp_put_transport(p, b)) < 0)
		return rc;
	if (mid[0] && (rc = pp_sdp_put(b, "a=mid:%s", mid)) < 0)
		return rc;
	if ((rc = pp_sdp_put(b, "a=sctp-port:%u", PP_SDP_SCTP_PORT)) < 0 ||
	    (rc = pp_sdp_put(b, "a=max-message-size:%u", PP_SDP_MAX_MESSAGE_SIZE)) < 0)
		return rc;
	return 0;
}

/* JSEP §5.3.1: an m-line we do not accept is answered with port 0. */
static int pp_sdp_put_rejected(const struct pp_sdp_mline *m, struct pp_buf *b)
{
	int rc;

	if ((rc = pp_sdp_put(b, "m=%s 0 %s %s", m->media, m->proto, m->fmt)) < 0 ||
	    (rc = pp_sdp_put(b, "c=IN IP4 0.0.0.0")) < 0)
		return rc;
	if (m->mid[0] && (rc = pp_sdp_put(b, "a=mid:%s", m->mid)) < 0)
		return rc;
	return 0;
}

static int pp_sdp_put_all(const struct pp_sdp_params *p, struct pp_buf *b)
{
	const struct pp_sdp *o = p->offer;
	const char *mid = p->kind == PP_SDP_ANSWER ? o->mid : p->mid ? p->mid : "0";
	bool bundle = p->kind == PP_SDP_OFFER || (o->bundled && o->mid[0]);
	int rc;

	if ((rc = pp_sdp_put(b, "v=0")) < 0 ||
	    (rc = pp_sdp_put(b, "o=- %llu %llu IN IP4 127.0.0.1",
	                     (unsigned long long)p->session_id,
	                     (unsigned long long)p->session_version)) < 0 ||
	    (rc = pp_sdp_put(b, "s=-")) < 0 || (rc = pp_sdp_put(b, "t=0 0")) < 0)
		return rc;
	if (bundle && (rc = pp_sdp_put(b, "a=group:BUNDLE %s", mid)) < 0)
		return rc;
	if (p->kind == PP_SDP_OFFER)
		return pp_sdp_put_data(p, "UDP/DTLS/SCTP", mid, b);
	for (size_t i = 0; i < o->n_mlines; i++) {
		if (i == o->data_index)
			rc = pp_sdp_put_data(p, o->mlines[i].proto, mid, b);
		else
			rc = pp_sdp_put_rejected(&o->mlines[i], b);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int pp_sdp_write(const struct pp_sdp_params *p, struct pp_buf *out)
{
	struct pp_buf tmp;
	int rc;

	pp_buf_init(&tmp, PP_SDP_MAX);
	if ((rc = pp_sdp_check(p)) < 0 || (rc = pp_sdp_put_all(p, &tmp)) < 0)
		goto out;
	rc = pp_buf_append(out, tmp.data, tmp.len);
out:
	pp_buf_free(&tmp);
	return rc;
}
