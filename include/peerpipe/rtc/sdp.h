/* SPDX-License-Identifier: Apache-2.0 */
/* SDP for one WebRTC data channel transport (tunnel.md §1; RFC 8841,
 * RFC 8839, RFC 8842, RFC 8843, JSEP RFC 8829).
 *
 * Writing: an offer or answer with exactly one BUNDLEd
 * "m=application 9 UDP/DTLS/SCTP webrtc-datachannel" section. An answer to
 * an offer with more m-lines (a browser that also offered audio, say)
 * repeats them rejected (port 0), as JSEP requires.
 *
 * Parsing: a remote SDP as Chromium and Firefox write it. The first
 * data-channel m-section that is not rejected is used (the legacy
 * "DTLS/SCTP <port>" + a=sctpmap form is understood); when it is BUNDLEd,
 * its transport (ICE credentials, fingerprints, setup, candidates) is that
 * of the group's tagged (first) m-section, falling back to the data
 * section's own and then to session-level values. Unknown attributes and
 * other m-lines are ignored. Limits: PP_SDP_MAX bytes in all,
 * PP_SDP_LINE_MAX per line, PP_SDP_CANDIDATES_MAX a=candidate lines,
 * PP_SDP_MLINES_MAX m-lines; CRLF or LF line ends. */
#ifndef PEERPIPE_RTC_SDP_H
#define PEERPIPE_RTC_SDP_H

#include "peerpipe/buf.h"
#include "peerpipe/rtc/candidate.h"
#include "peerpipe/rtc/fingerprint.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_SDP_MAX (64 * 1024)
#define PP_SDP_LINE_MAX 4096
#define PP_SDP_CANDIDATES_MAX 64
#define PP_SDP_MLINES_MAX 32
#define PP_SDP_GROUPS_MAX 8
#define PP_SDP_FINGERPRINTS_MAX 4
#define PP_SDP_UFRAG_MIN 4         /* RFC 8839 */
#define PP_SDP_UFRAG_MAX 256
#define PP_SDP_PWD_MIN 22
#define PP_SDP_PWD_MAX 256
#define PP_SDP_MID_MAX 64
#define PP_SDP_TOKEN_MAX 64        /* media, proto and fmt of an m-line */
#define PP_SDP_ORIGIN_ID_MAX 64    /* o= sess-id kept (longer: not kept) */

#define PP_SDP_SCTP_PORT 5000           /* ours, and the default */
#define PP_SDP_MAX_MESSAGE_SIZE 262144  /* ours */
#define PP_SDP_MAX_MESSAGE_SIZE_DEFAULT 65536 /* RFC 8841 §6.1, when absent */

enum pp_sdp_kind {
	PP_SDP_OFFER = 0,
	PP_SDP_ANSWER,
};

enum pp_sdp_setup {
	PP_SDP_SETUP_NONE = 0, /* absent: the peer layer applies RFC 8842 defaults */
	PP_SDP_SETUP_ACTPASS,
	PP_SDP_SETUP_ACTIVE,
	PP_SDP_SETUP_PASSIVE,
	PP_SDP_SETUP_HOLDCONN,
};

/* What went wrong, beyond the return code. */
enum pp_sdp_fault {
	PP_SDP_FAULT_NONE = 0,
	PP_SDP_FAULT_TOO_BIG,            /* PP_ERR_TOO_BIG: whole SDP, or a field */
	PP_SDP_FAULT_LINE_TOO_LONG,      /* PP_ERR_TOO_BIG */
	PP_SDP_FAULT_TOO_MANY_CANDIDATES,/* PP_ERR_TOO_BIG */
	PP_SDP_FAULT_TOO_MANY_MLINES,    /* PP_ERR_TOO_BIG */
	PP_SDP_FAULT_SYNTAX,             /* PP_ERR_INVALID: line framing */
	PP_SDP_FAULT_BAD_VALUE,          /* PP_ERR_INVALID: an attribute we use */
	PP_SDP_FAULT_DUPLICATE,          /* PP_ERR_INVALID: single attribute repeated */
	PP_SDP_FAULT_BAD_CANDIDATE,      /* PP_ERR_INVALID or PP_ERR_TOO_BIG */
	PP_SDP_FAULT_NO_DATACHANNEL,     /* PP_ERR_NOT_FOUND */
	PP_SDP_FAULT_NO_UFRAG,           /* PP_ERR_NOT_FOUND */
	PP_SDP_FAULT_NO_PWD,             /* PP_ERR_NOT_FOUND */
	PP_SDP_FAULT_NO_FINGERPRINT,     /* PP_ERR_NOT_FOUND */
	PP_SDP_FAULT_NOMEM,              /* PP_ERR_NOMEM */
};

struct pp_sdp_error {
	enum pp_sdp_fault fault;
	unsigned line;   /* 1-based line of the fault; 0 when not tied to a line */
	const char *why; /* static text */
};

/* One m-line, as needed to answer it. */
struct pp_sdp_mline {
	char media[PP_SDP_TOKEN_MAX + 1];
	char proto[PP_SDP_TOKEN_MAX + 1];
	char fmt[PP_SDP_TOKEN_MAX + 1]; /* the first format */
	char mid[PP_SDP_MID_MAX + 1];   /* "" without a=mid */
	uint16_t port;
	bool rejected;                  /* port 0 and not a=bundle-only */
};

struct pp_sdp {
	/* o=<user> <sess-id> <sess-version> ...: the session id as written
	 * ("" when the line is absent, malformed or its id over
	 * PP_SDP_ORIGIN_ID_MAX: it is only compared, never refused) and the
	 * version (0 when not a number). JSEP keeps the id for the life of a
	 * connection and bumps the version on every new description. */
	char origin_id[PP_SDP_ORIGIN_ID_MAX + 1];
	uint64_t origin_version;
	/* transport of the data channel */
	char ufrag[PP_SDP_UFRAG_MAX + 1];
	char pwd[PP_SDP_PWD_MAX + 1];
	struct pp_fingerprint fingerprints[PP_SDP_FINGERPRINTS_MAX];
	size_t n_fingerprints;
	enum pp_sdp_setup setup;
	bool ice_lite;
	bool ice_trickle;        /* a=ice-options lists "trickle" */
	bool ice2;               /* a=ice-options lists "ice2" */
	bool end_of_candidates;
	struct pp_candidate *candidates; /* n_candidates (a peer keeps its remote SDP) */
	size_t n_candidates;
	size_t n_candidates_skipped; /* well-formed but unusable (PP_ERR_UNSUPPORTED) */
	/* the data channel m-section */
	unsigned data_index;     /* its m-line index (sdpMLineIndex) */
	char mid[PP_SDP_MID_MAX + 1]; /* "" without a=mid */
	bool bundled;            /* its mid is in an a=group:BUNDLE */
	bool legacy_sctpmap;     /* "DTLS/SCTP <port>" form */
	uint16_t sctp_port;
	uint64_t max_message_size; /* 0: no limit (RFC 8841) */
	/* every m-line, in order */
	struct pp_sdp_mline mlines[PP_SDP_MLINES_MAX];
	size_t n_mlines;
};

/* Parses text (need not be NUL-terminated). On success *out is a new
 * struct to free with pp_sdp_free(). Returns 0, PP_ERR_INVALID,
 * PP_ERR_TOO_BIG, PP_ERR_NOT_FOUND or PP_ERR_NOMEM; err (may be NULL)
 * says which fault and where. */
int pp_sdp_parse(const char *text, size_t len, struct pp_sdp **out,
                 struct pp_sdp_error *err);
void pp_sdp_free(struct pp_sdp *sdp);

/* The first pinnable (SHA-256) fingerprint, or NULL. */
const struct pp_fingerprint *pp_sdp_fingerprint(const struct pp_sdp *sdp);

struct pp_sdp_params {
	enum pp_sdp_kind kind;
	uint64_t session_id;      /* <= INT64_MAX (JSEP) */
	uint64_t session_version; /* <= INT64_MAX; bump on every new offer */
	const char *ufrag;        /* ice-chars, PP_SDP_UFRAG_MIN..MAX */
	const char *pwd;          /* ice-chars, PP_SDP_PWD_MIN..MAX */
	const struct pp_fingerprint *fingerprint; /* a known algorithm */
	/* offer: actpass (or active/passive in a re-offer); answer: active or
	 * passive (never actpass). */
	enum pp_sdp_setup setup;
	const char *mid;          /* offer only; NULL: "0" */
	/* answer only, required: the parsed offer. Its data mid is echoed and
	 * its other m-lines are repeated rejected. */
	const struct pp_sdp *offer;
	const struct pp_candidate *candidates;
	size_t n_candidates;      /* <= PP_SDP_CANDIDATES_MAX */
	bool end_of_candidates;
};

/* Appends the SDP (CRLF line ends) to out. 0, PP_ERR_INVALID (bad
 * parameters), PP_ERR_UNSUPPORTED (answering a legacy sctpmap offer),
 * PP_ERR_TOO_BIG or PP_ERR_NOMEM. out is left as it was on failure. */
int pp_sdp_write(const struct pp_sdp_params *p, struct pp_buf *out);

/* How a later description from the same remote peer (a re-offer or a
 * re-answer) relates to the one before it, for renegotiation without a
 * new DTLS association (RFC 8829 §5.2.2, RFC 8839 §4.4.1.1.1, RFC 8842
 * §5.5). When several apply, the first of OTHER_SESSION,
 * FINGERPRINT_CHANGED, SCTP_PORT_CHANGED and ICE_RESTART is returned. */
enum pp_sdp_change {
	PP_SDP_SAME = 0,          /* same ICE credentials: nothing changes */
	PP_SDP_ICE_RESTART,       /* new ice-ufrag or ice-pwd: an ICE restart */
	PP_SDP_OTHER_SESSION,     /* both have an o= session id and they differ:
	                           * a new connection, not a renegotiation */
	PP_SDP_FINGERPRINT_CHANGED, /* the pinnable fingerprint is not the same
	                           * (or gone): refuse, never re-key silently */
	PP_SDP_SCTP_PORT_CHANGED, /* would need a new SCTP association: refuse */
};
enum pp_sdp_change pp_sdp_compare(const struct pp_sdp *prev, const struct pp_sdp *next);
const char *pp_sdp_change_name(enum pp_sdp_change c);

const char *pp_sdp_fault_name(enum pp_sdp_fault f);
const char *pp_sdp_setup_name(enum pp_sdp_setup s);

#endif
