/* SPDX-License-Identifier: Apache-2.0 */
/* What a later remote description (re-offer or re-answer) changes against
 * the one before it: the renegotiation rules of pp_peer in one pure
 * function, so that they are unit-tested apart from the sockets. */
#include "peerpipe/rtc/sdp.h"

#include "text.h"

#include <openssl/crypto.h>
#include <string.h>

const char *pp_sdp_change_name(enum pp_sdp_change c)
{
	static const char *const names[] = {
		[PP_SDP_SAME] = "same",
		[PP_SDP_ICE_RESTART] = "ICE restart",
		[PP_SDP_OTHER_SESSION] = "another session",
		[PP_SDP_FINGERPRINT_CHANGED] = "fingerprint changed",
		[PP_SDP_SCTP_PORT_CHANGED] = "SCTP port changed",
	};
	return (unsigned)c < PP_NELEM(names) ? names[c] : "?";
}

/* The ICE password is a secret (it keys the connectivity checks). */
static bool pp_sdp_same_pwd(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

enum pp_sdp_change pp_sdp_compare(const struct pp_sdp *prev, const struct pp_sdp *next)
{
	const struct pp_fingerprint *fp_prev = pp_sdp_fingerprint(prev);
	const struct pp_fingerprint *fp_next = pp_sdp_fingerprint(next);

	/* Without an o= id on either side nothing tells the sessions apart:
	 * the caller handed this description to this connection, so it is
	 * taken as a renegotiation (and checked as one below). */
	if (prev->origin_id[0] && next->origin_id[0] &&
	    strcmp(prev->origin_id, next->origin_id) != 0)
		return PP_SDP_OTHER_SESSION;
	if (!fp_prev || !fp_next || !pp_fingerprint_equal(fp_prev, fp_next))
		return PP_SDP_FINGERPRINT_CHANGED;
	if (prev->sctp_port != next->sctp_port)
		return PP_SDP_SCTP_PORT_CHANGED;
	if (strcmp(prev->ufrag, next->ufrag) != 0 || !pp_sdp_same_pwd(prev->pwd, next->pwd))
		return PP_SDP_ICE_RESTART;
	return PP_SDP_SAME;
}
