/* SPDX-License-Identifier: Apache-2.0 */
/* SDP pass 2: the attributes of the session level, the transport section
 * and the data section, merged into struct pp_sdp. */
#include "sdp_priv.h"

#include "peerpipe/error.h"

#include <string.h>

static int pp_sdp_bad(struct pp_sdp_ctx *c, const struct pp_sdp_line *l, const char *why)
{
	return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE, l->no, why);
}

static int pp_sdp_dup(struct pp_sdp_ctx *c, const struct pp_sdp_line *l, const char *why)
{
	return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_DUPLICATE, l->no, why);
}

static int pp_sdp_cred(struct pp_sdp_ctx *c, const struct pp_sdp_line *l,
                       struct pp_rtc_span v, size_t min, size_t max,
                       struct pp_rtc_span *dst, bool *have)
{
	if (*have)
		return pp_sdp_dup(c, l, "ICE credential repeated");
	if (v.len < min || v.len > max || !pp_rtc_text_ice_chars(v))
		return pp_sdp_bad(c, l, "ICE credential: wrong length or characters");
	*dst = v;
	*have = true;
	return 0;
}

static int pp_sdp_options(struct pp_sdp_ctx *c, const struct pp_sdp_line *l,
                          struct pp_rtc_span v, struct pp_sdp_level *lv)
{
	struct pp_rtc_span rest = v, opt;
	int rc;

	if (lv->have_options)
		return pp_sdp_dup(c, l, "a=ice-options repeated");
	lv->have_options = true;
	while ((rc = pp_rtc_text_token(&rest, &opt)) == 1) {
		if (!pp_rtc_text_token_chars(opt))
			return pp_sdp_bad(c, l, "malformed a=ice-options");
		if (pp_rtc_text_eq(opt, "trickle"))
			lv->trickle = true;
		else if (pp_rtc_text_eq(opt, "ice2"))
			lv->ice2 = true;
	}
	return rc < 0 ? pp_sdp_bad(c, l, "malformed a=ice-options") : 0;
}

static int pp_sdp_fp(struct pp_sdp_ctx *c, const struct pp_sdp_line *l,
                     struct pp_rtc_span v, struct pp_sdp_level *lv)
{
	if (lv->n_fp == PP_SDP_FINGERPRINTS_MAX)
		return pp_sdp_fail(c, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_BIG, l->no,
		                   "more than 4 fingerprints");
	if (pp_fingerprint_parse(v.p, v.len, &lv->fp[lv->n_fp]) < 0)
		return pp_sdp_bad(c, l, "malformed a=fingerprint");
	lv->n_fp++;
	return 0;
}

static int pp_sdp_setup(struct pp_sdp_ctx *c, const struct pp_sdp_line *l,
                        struct pp_rtc_span v, struct pp_sdp_level *lv)
{
	if (lv->setup != PP_SDP_SETUP_NONE)
		return pp_sdp_dup(c, l, "a=setup repeated");
	for (int s = PP_SDP_SETUP_ACTPASS; s <= PP_SDP_SETUP_HOLDCONN; s++)
		if (pp_rtc_text_eq(v, pp_sdp_setup_name((enum pp_sdp_setup)s))) {
			lv->setup = (enum pp_sdp_setup)s;
			return 0;
		}
	return pp_sdp_bad(c, l, "a=setup is not actpass, active, passive or holdconn");
}

static int pp_sdp_cand(struct pp_sdp_ctx *c, const struct pp_sdp_line *l, int level)
{
	struct pp_sdp *s = c->sdp;

	/* The array holds the lines pass 1 counted (and refused over 64);
	 * this pass never sees more, but it must not write past them. */
	if (s->n_candidates == c->n_cand_lines)
		return pp_sdp_fail(c, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_MANY_CANDIDATES,
		                   l->no, "more candidate lines than the first pass counted");
	int rc = pp_candidate_parse(l->val.p, l->val.len, &s->candidates[s->n_candidates]);
	if (rc == PP_ERR_UNSUPPORTED) {
		s->n_candidates_skipped++;
		return 0;
	}
	if (rc < 0)
		return pp_sdp_fail(c, rc, PP_SDP_FAULT_BAD_CANDIDATE, l->no,
		                   "malformed a=candidate");
	c->cand_level[s->n_candidates++] = (uint8_t)level;
	return 0;
}

/* Attributes that may describe the transport, at any level. */
static int pp_sdp_transport_attr(struct pp_sdp_ctx *c, const struct pp_sdp_line *l,
                                 int level, struct pp_rtc_span name,
                                 struct pp_rtc_span v)
{
	struct pp_sdp_level *lv = &c->lv[level];

	if (pp_rtc_text_eq(name, "ice-ufrag"))
		return pp_sdp_cred(c, l, v, PP_SDP_UFRAG_MIN, PP_SDP_UFRAG_MAX, &lv->ufrag,
		                   &lv->have_ufrag);
	if (pp_rtc_text_eq(name, "ice-pwd"))
		return pp_sdp_cred(c, l, v, PP_SDP_PWD_MIN, PP_SDP_PWD_MAX, &lv->pwd,
		                   &lv->have_pwd);
	if (pp_rtc_text_eq(name, "ice-options"))
		return pp_sdp_options(c, l, v, lv);
	if (pp_rtc_text_eq(name, "fingerprint"))
		return pp_sdp_fp(c, l, v, lv);
	if (pp_rtc_text_eq(name, "setup"))
		return pp_sdp_setup(c, l, v, lv);
	if (pp_rtc_text_eq(name, "end-of-candidates"))
		lv->eoc = true;
	else if (pp_rtc_text_eq(name, "candidate") && level != PP_SDP_LV_SESSION)
		return pp_sdp_cand(c, l, level);
	else if (pp_rtc_text_eq(name, "ice-lite") && level == PP_SDP_LV_SESSION)
		c->sdp->ice_lite = true;
	return 0;
}

/* "<port> webrtc-datachannel [<streams>]" */
static int pp_sdp_sctpmap(struct pp_sdp_ctx *c, const struct pp_sdp_line *l,
                          struct pp_rtc_span v)
{
	struct pp_rtc_span rest = v, port, proto, streams;
	uint64_t n;

	if (c->have_sctpmap)
		return pp_sdp_dup(c, l, "a=sctpmap repeated");
	c->have_sctpmap = true;
	if (pp_rtc_text_token(&rest, &port) != 1 || pp_rtc_text_token(&rest, &proto) != 1)
		return pp_sdp_bad(c, l, "malformed a=sctpmap");
	int rc = pp_rtc_text_token(&rest, &streams);
	if (rc < 0 || rest.len != 0 || (rc == 1 && pp_rtc_text_u64(streams, 5, 65535, &n) < 0))
		return pp_sdp_bad(c, l, "malformed a=sctpmap");
	if (!pp_rtc_text_eq(proto, "webrtc-datachannel"))
		return pp_sdp_bad(c, l, "a=sctpmap is not webrtc-datachannel");
	if (pp_rtc_text_u64(port, 5, 65535, &n) < 0 || n == 0)
		return pp_sdp_bad(c, l, "bad a=sctpmap port");
	c->sctpmap_port = (uint16_t)n;
	return 0;
}

/* Attributes of the data channel section only. */
static int pp_sdp_data_attr(struct pp_sdp_ctx *c, const struct pp_sdp_line *l,
                            struct pp_rtc_span name, struct pp_rtc_span v)
{
	uint64_t n;

	if (pp_rtc_text_eq(name, "sctp-port")) {
		if (c->have_sctp_port)
			return pp_sdp_dup(c, l, "a=sctp-port repeated");
		c->have_sctp_port = true;
		if (pp_rtc_text_u64(v, 5, 65535, &n) < 0 || n == 0)
			return pp_sdp_bad(c, l, "bad a=sctp-port");
		c->sctp_port = (uint16_t)n;
	} else if (pp_rtc_text_eq(name, "sctpmap")) {
		return pp_sdp_sctpmap(c, l, v);
	} else if (pp_rtc_text_eq(name, "max-message-size")) {
		if (c->have_mms)
			return pp_sdp_dup(c, l, "a=max-message-size repeated");
		c->have_mms = true;
		if (pp_rtc_text_u64(v, 19, UINT64_MAX, &c->mms) < 0)
			return pp_sdp_bad(c, l, "bad a=max-message-size");
	}
	return 0;
}

/* Level of section sec, or -1 when we ignore it. */
static int pp_sdp_level_of(const struct pp_sdp_ctx *c, int sec)
{
	if (sec < 0)
		return PP_SDP_LV_SESSION;
	if (sec == c->t)
		return PP_SDP_LV_TRANSPORT;
	if (sec == c->d)
		return PP_SDP_LV_DATA;
	return -1;
}

static int pp_sdp_finish_transport(struct pp_sdp_ctx *c)
{
	static const int order[] = { PP_SDP_LV_TRANSPORT, PP_SDP_LV_DATA, PP_SDP_LV_SESSION };
	const struct pp_sdp_level *ufrag = NULL, *pwd = NULL, *fp = NULL, *setup = NULL,
	                          *opt = NULL;
	struct pp_sdp *s = c->sdp;
	unsigned mno = c->mline_no[c->d];

	for (size_t i = 0; i < PP_NELEM(order); i++) {
		const struct pp_sdp_level *lv = &c->lv[order[i]];
		if (!ufrag && lv->have_ufrag)
			ufrag = lv;
		if (!pwd && lv->have_pwd)
			pwd = lv;
		if (!fp && lv->n_fp)
			fp = lv;
		if (!setup && lv->setup != PP_SDP_SETUP_NONE)
			setup = lv;
		if (!opt && lv->have_options)
			opt = lv;
		s->end_of_candidates = s->end_of_candidates || lv->eoc;
	}
	if (!ufrag)
		return pp_sdp_fail(c, PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_UFRAG, mno,
		                   "no a=ice-ufrag for the data channel");
	if (!pwd)
		return pp_sdp_fail(c, PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_PWD, mno,
		                   "no a=ice-pwd for the data channel");
	if (!fp)
		return pp_sdp_fail(c, PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_FINGERPRINT, mno,
		                   "no a=fingerprint for the data channel");
	/* lengths were checked against these buffers in pp_sdp_cred() */
	if (pp_rtc_text_copy(ufrag->ufrag, s->ufrag, sizeof(s->ufrag)) < 0 ||
	    pp_rtc_text_copy(pwd->pwd, s->pwd, sizeof(s->pwd)) < 0)
		return pp_sdp_fail(c, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_BIG, mno,
		                   "ICE credential too long");
	memcpy(s->fingerprints, fp->fp, fp->n_fp * sizeof(fp->fp[0]));
	s->n_fingerprints = fp->n_fp;
	s->setup = setup ? setup->setup : PP_SDP_SETUP_NONE;
	s->ice_trickle = opt && opt->trickle;
	s->ice2 = opt && opt->ice2;
	return 0;
}

/* Bundled sections repeat the tag's candidates: keep the tag's alone when
 * it has any. */
static void pp_sdp_finish_candidates(struct pp_sdp_ctx *c)
{
	struct pp_sdp *s = c->sdp;
	size_t keep = 0;
	bool tagged = false;

	for (size_t i = 0; i < s->n_candidates; i++)
		tagged = tagged || c->cand_level[i] == PP_SDP_LV_TRANSPORT;
	if (!tagged)
		return;
	for (size_t i = 0; i < s->n_candidates; i++) {
		if (c->cand_level[i] != PP_SDP_LV_TRANSPORT)
			continue;
		if (keep != i)
			s->candidates[keep] = s->candidates[i];
		keep++;
	}
	memset(&s->candidates[keep], 0, (s->n_candidates - keep) * sizeof(s->candidates[0]));
	s->n_candidates = keep;
}

static void pp_sdp_finish_data(struct pp_sdp_ctx *c)
{
	struct pp_sdp *s = c->sdp;
	const struct pp_sdp_mline *m = &s->mlines[c->d];

	s->data_index = (unsigned)c->d;
	memcpy(s->mid, m->mid, sizeof(s->mid));
	s->legacy_sctpmap = c->legacy_port[c->d] != 0;
	if (c->have_sctp_port)
		s->sctp_port = c->sctp_port;
	else if (c->have_sctpmap)
		s->sctp_port = c->sctpmap_port;
	else if (s->legacy_sctpmap)
		s->sctp_port = c->legacy_port[c->d];
	else
		s->sctp_port = PP_SDP_SCTP_PORT;
	s->max_message_size = c->have_mms ? c->mms : PP_SDP_MAX_MESSAGE_SIZE_DEFAULT;
}

int pp_sdp_collect(struct pp_sdp_ctx *c, const char *text, size_t len)
{
	struct pp_sdp_reader r = { text, len, 0, 0 };
	struct pp_sdp_line l;
	struct pp_rtc_span name, v;
	int rc, sec = -1;

	while ((rc = pp_sdp_next(c, &r, &l)) == 1) {
		if (l.type == 'm') {
			sec++;
			continue;
		}
		int level = pp_sdp_level_of(c, sec);
		if (l.type != 'a' || level < 0)
			continue;
		pp_sdp_attr(l.val, &name, &v);
		if ((rc = pp_sdp_transport_attr(c, &l, level, name, v)) < 0)
			return rc;
		if (sec == c->d && (rc = pp_sdp_data_attr(c, &l, name, v)) < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if ((rc = pp_sdp_finish_transport(c)) < 0)
		return rc;
	pp_sdp_finish_candidates(c);
	pp_sdp_finish_data(c);
	return 0;
}
