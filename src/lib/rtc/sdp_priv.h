/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the SDP parser (sdp.c: framing, m-lines, section choice;
 * sdp_attr.c: the attributes of the chosen sections). */
#ifndef PEERPIPE_RTC_SDP_PRIV_H
#define PEERPIPE_RTC_SDP_PRIV_H

#include "peerpipe/rtc/sdp.h"
#include "text.h"

/* Levels whose transport attributes we keep, in order of precedence. */
enum {
	PP_SDP_LV_SESSION = 0,
	PP_SDP_LV_TRANSPORT = 1, /* the BUNDLE-tagged section (or the data one) */
	PP_SDP_LV_DATA = 2,      /* the data section, when it is not the tag */
};

struct pp_sdp_level {
	struct pp_rtc_span ufrag, pwd;
	bool have_ufrag, have_pwd, have_options, trickle, ice2, eoc;
	enum pp_sdp_setup setup;
	struct pp_fingerprint fp[PP_SDP_FINGERPRINTS_MAX];
	size_t n_fp;
};

struct pp_sdp_line {
	unsigned no;
	char type;
	struct pp_rtc_span val;
};

struct pp_sdp_reader {
	const char *p;
	size_t len;
	size_t off;
	unsigned no;
};

struct pp_sdp_ctx {
	struct pp_sdp *sdp;
	struct pp_sdp_error *err;
	/* pass 1 */
	bool data[PP_SDP_MLINES_MAX];
	bool bundle_only[PP_SDP_MLINES_MAX];
	uint16_t legacy_port[PP_SDP_MLINES_MAX]; /* 0: not the legacy form */
	unsigned mline_no[PP_SDP_MLINES_MAX];
	struct pp_rtc_span groups[PP_SDP_GROUPS_MAX];
	unsigned group_no[PP_SDP_GROUPS_MAX];
	size_t n_groups;
	size_t n_cand_lines;
	/* chosen sections */
	int d, t;
	/* pass 2 */
	struct pp_sdp_level lv[3];
	uint8_t cand_level[PP_SDP_CANDIDATES_MAX];
	bool have_sctp_port, have_sctpmap, have_mms;
	uint16_t sctp_port, sctpmap_port;
	uint64_t mms;
};

/* Records the fault in c->err and returns rc. */
int pp_sdp_fail(struct pp_sdp_ctx *c, int rc, enum pp_sdp_fault f,
                unsigned line, const char *why);
/* Next non-empty line: 1, 0 at the end, or an error. */
int pp_sdp_next(struct pp_sdp_ctx *c, struct pp_sdp_reader *r,
                struct pp_sdp_line *l);
/* "name:value" or "name" (a flag; value empty). */
void pp_sdp_attr(struct pp_rtc_span a, struct pp_rtc_span *name,
                 struct pp_rtc_span *value);
/* Pass 2 and the result (sdp_attr.c). */
int pp_sdp_collect(struct pp_sdp_ctx *c, const char *text, size_t len);

#endif
