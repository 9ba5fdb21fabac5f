/* SPDX-License-Identifier: Apache-2.0 */
/* Path MTU probes on the wire (RFC 8899 §6.2: an SCTP packet of one
 * HEARTBEAT chunk and one PAD chunk, RFC 4820) and the search for their
 * HEARTBEAT ACK among received chunks. Pure functions: sctp_pmtu.c runs
 * the search, tests and the fuzz target call these directly.
 *
 * The heartbeat information is 40 bytes, so the echoed chunk is exactly as
 * long as usrsctp's own (44 bytes): usrsctp 0.9.5 stops reading a packet
 * at a HEARTBEAT ACK of any other length, and would then lose the chunks
 * bundled after it. Its address family byte (offset 16 of the value) is 0,
 * which usrsctp ignores ("not ours"), so an ACK that reaches usrsctp does
 * no harm. Any standard peer echoes the information and skips PAD (the
 * chunk type's high bits 10: skip, do not report). */
#include "sctp_priv.h"
#include "be.h"

#include <string.h>

#define PP_SCTP_PARAM_HB_INFO 1
#define PP_SCTP_HB_VALUE_LEN 36 /* info parameter 40 = header 4 + value 36 */
#define PP_SCTP_HB_CHUNK_LEN (4 + 4 + PP_SCTP_HB_VALUE_LEN)

static const uint8_t pp_sctp_probe_magic[4] = { 'P', 'P', 'M', 'T' };

size_t pp_sctp_probe_build(uint8_t *out, size_t size, uint16_t sport, uint16_t dport,
                           uint32_t vtag, const uint8_t token[PP_SCTP_PROBE_TOKEN])
{
	uint8_t *hb, *pad;
	size_t pad_len;

	if (size % 4 || size < PP_SCTP_PROBE_MIN || size > PP_SCTP_PROBE_MAX)
		return 0;
	hb = out + PP_SCTP_HEADER_LEN;
	pad = hb + PP_SCTP_HB_CHUNK_LEN;
	memset(out, 0, size);
	pp_put_be16(out, sport);
	pp_put_be16(out + 2, dport);
	pp_put_be32(out + 4, vtag);
	hb[0] = PP_SCTP_CHUNK_HEARTBEAT;
	pp_put_be16(hb + 2, PP_SCTP_HB_CHUNK_LEN);
	pp_put_be16(hb + 4, PP_SCTP_PARAM_HB_INFO);
	pp_put_be16(hb + 6, 4 + PP_SCTP_HB_VALUE_LEN);
	memcpy(hb + 8, token, PP_SCTP_PROBE_TOKEN); /* value[16] (family) stays 0 */
	pad_len = size - PP_SCTP_HEADER_LEN - PP_SCTP_HB_CHUNK_LEN;
	pad[0] = PP_SCTP_CHUNK_PAD;
	pp_put_be16(pad + 2, (uint16_t)pad_len);
	pp_sctp_crc32c_stamp(out, size);
	return size;
}

void pp_sctp_probe_token(uint8_t token[PP_SCTP_PROBE_TOKEN], uint32_t size, uint64_t nonce)
{
	memcpy(token, pp_sctp_probe_magic, 4);
	pp_put_be32(token + 4, size);
	pp_put_be32(token + 8, (uint32_t)(nonce >> 32));
	pp_put_be32(token + 12, (uint32_t)nonce);
}

int pp_sctp_probe_ack_find(const uint8_t *pkt, size_t len, uint8_t token[PP_SCTP_PROBE_TOKEN],
                           bool *alone)
{
	size_t off = PP_SCTP_HEADER_LEN, chunks = 0;
	int found = 0;

	if (len < PP_SCTP_HEADER_LEN)
		return -1;
	while (off + 4 <= len) {
		const uint8_t *c = pkt + off;
		size_t clen = pp_be16(c + 2);

		if (clen < 4 || clen > len - off)
			return -1; /* malformed: usrsctp decides what to do with it */
		chunks++;
		if (!found && c[0] == PP_SCTP_CHUNK_HEARTBEAT_ACK && clen == PP_SCTP_HB_CHUNK_LEN &&
		    pp_be16(c + 4) == PP_SCTP_PARAM_HB_INFO &&
		    pp_be16(c + 6) == 4 + PP_SCTP_HB_VALUE_LEN &&
		    memcmp(c + 8, pp_sctp_probe_magic, 4) == 0) {
			memcpy(token, c + 8, PP_SCTP_PROBE_TOKEN);
			found = 1;
		}
		off += pp_sctp_pad4(clen);
	}
	if (alone)
		*alone = found && chunks == 1;
	return found;
}
