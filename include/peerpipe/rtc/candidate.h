/* SPDX-License-Identifier: Apache-2.0 */
/* ICE candidate attributes (RFC 8839 §5.1, RFC 6544 tcptype) as browsers
 * write them, e.g. Chromium's
 *
 *   candidate:842163049 1 udp 2122260223 4b2c...e1.local 54321 typ host
 *     generation 0 ufrag EsAw network-id 1
 *
 * The text may carry an "a=" prefix and one trailing CRLF or LF. Numbers
 * are plain decimal within their ranges; the connection address is an IPv4
 * or IPv6 literal, or an mDNS ".local" host name (flagged, to be resolved
 * or ignored by the ICE layer). Other host names, other transports (such
 * as Chromium's old "ssltcp") and unknown candidate types are valid syntax
 * we do not use: they give PP_ERR_UNSUPPORTED so a caller can skip them.
 * Unknown extension attributes are skipped. */
#ifndef PEERPIPE_RTC_CANDIDATE_H
#define PEERPIPE_RTC_CANDIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_CAND_LINE_MAX 1024      /* longest accepted candidate text */
#define PP_CAND_FOUNDATION_MAX 32  /* RFC 8839: 1*32 ice-char */
#define PP_CAND_HOST_MAX 253       /* DNS name; IP literals are shorter */
#define PP_CAND_UFRAG_MAX 256      /* RFC 8839 ice-ufrag */
#define PP_CAND_EXT_MAX 16         /* extension name/value pairs */

enum pp_cand_transport {
	PP_CAND_UDP = 0,
	PP_CAND_TCP,
};

enum pp_cand_type {
	PP_CAND_HOST = 0,
	PP_CAND_SRFLX,
	PP_CAND_PRFLX,
	PP_CAND_RELAY,
};

enum pp_cand_tcptype {
	PP_CAND_TCPTYPE_NONE = 0, /* UDP */
	PP_CAND_TCPTYPE_ACTIVE,
	PP_CAND_TCPTYPE_PASSIVE,
	PP_CAND_TCPTYPE_SO,
};

enum pp_cand_family {
	PP_CAND_IPV4 = 0,
	PP_CAND_IPV6,
	PP_CAND_MDNS, /* "<name>.local": resolve with mDNS or ignore */
};

struct pp_cand_addr {
	enum pp_cand_family family;
	char host[PP_CAND_HOST_MAX + 1]; /* as written */
	uint8_t ip[16];                  /* network order; IPv4 in ip[0..3] */
	uint16_t port;
};

struct pp_candidate {
	char foundation[PP_CAND_FOUNDATION_MAX + 1];
	uint16_t component;              /* 1..256 */
	enum pp_cand_transport transport;
	uint32_t priority;
	struct pp_cand_addr addr;
	enum pp_cand_type type;
	bool has_raddr;                  /* raddr and rport come together */
	struct pp_cand_addr raddr;
	enum pp_cand_tcptype tcptype;    /* required for TCP, absent for UDP */
	bool has_generation;
	uint32_t generation;
	char ufrag[PP_CAND_UFRAG_MAX + 1]; /* "" when absent */
	bool has_network_id;
	uint32_t network_id;
	bool has_network_cost;
	uint32_t network_cost;
};

/* 0, PP_ERR_INVALID (malformed), PP_ERR_TOO_BIG (over a limit) or
 * PP_ERR_UNSUPPORTED (well-formed but unusable, see above). out is zeroed
 * on failure. */
int pp_candidate_parse(const char *text, size_t len, struct pp_candidate *out);

/* Writes "candidate:..." (no "a=", no line end) and a NUL. Returns the
 * length, PP_ERR_TOO_BIG if cap is too small, or PP_ERR_INVALID if c would
 * not parse back. */
int pp_candidate_format(const struct pp_candidate *c, char *out, size_t cap);

const char *pp_candidate_type_name(enum pp_cand_type t);

#endif
