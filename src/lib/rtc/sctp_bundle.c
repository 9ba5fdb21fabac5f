/* SPDX-License-Identifier: Apache-2.0 */
/* Small outgoing packets of one association share one packet (RFC 9260
 * §6.10 bundling), with pp_sctp_config.bundle.
 *
 * usrsctp emits a packet per call that produces output: the SACK that
 * input processing owes, then the DCEP ACK or CONNECTED our callback sends
 * from inside that same input, then a RE-CONFIG... Each became its own
 * DTLS record and datagram, which the peer decrypted and gave usrsctp one
 * by one: on a short-lived stream (open, one request, close) about a third
 * of the datagrams were such stragglers (bench/tunnel-rr --connect-cost).
 *
 * A packet that could take more chunks now waits here, and the next one
 * joins it while the result is a packet usrsctp itself could have built:
 * - only DATA, I-DATA, SACK, RE-CONFIG, FORWARD-TSN and I-FORWARD-TSN
 *   chunks. INIT, COOKIE, SHUTDOWN, ABORT, ERROR, HEARTBEAT (the path MTU
 *   probes' and their answers') and anything unknown go as usrsctp built
 *   them, after what waits;
 * - control chunks before DATA (§6.10): a packet holding DATA takes only
 *   more DATA, and one control chunk of each type at most (two RE-CONFIGs
 *   or two SACKs in one packet are legal but rare enough that a peer may
 *   not expect them);
 * - the same common header (ports, verification tag): one association;
 * - at most the base packet size (path_mtu + 12), which every path takes.
 * Chunks keep their order: the peer sees the same sequence, fewer packets.
 * The owner sends what waits with pp_sctp_flush_output() before its
 * datagrams leave (the peer: at the end of each loop turn, with its batch
 * of datagrams), so nothing waits longer than the turn that made it. */
#include "sctp_priv.h"

#include "be.h"

#include <string.h>

enum {
	PP_SCTP_CHUNK_DATA = 0,
	PP_SCTP_CHUNK_SACK = 3,
	PP_SCTP_CHUNK_IDATA = 64,
	PP_SCTP_CHUNK_RECONFIG = 130,
	PP_SCTP_CHUNK_FWD_TSN = 192,
	PP_SCTP_CHUNK_IFWD_TSN = 194,
};

#define PP_SCTP_CTRL_SACK 1u
#define PP_SCTP_CTRL_RECONFIG 2u
#define PP_SCTP_CTRL_FWD_TSN 4u

/* What pkt holds, for the rules above; ok false: it goes alone. */
static struct pp_sctp_bundle pp_sctp_bundle_scan(const uint8_t *pkt, size_t len)
{
	struct pp_sctp_bundle b = { .ok = len % 4 == 0 && len > PP_SCTP_HEADER_LEN };
	size_t off = PP_SCTP_HEADER_LEN;

	while (b.ok && off < len) {
		unsigned bit = 0;
		size_t clen;

		if (len - off < 4 || (clen = pp_be16(pkt + off + 2)) < 4 || clen > len - off)
			return (struct pp_sctp_bundle){ 0 };
		switch (pkt[off]) {
		case PP_SCTP_CHUNK_DATA:
		case PP_SCTP_CHUNK_IDATA:
			b.data = true;
			break;
		case PP_SCTP_CHUNK_SACK:
			bit = PP_SCTP_CTRL_SACK;
			break;
		case PP_SCTP_CHUNK_RECONFIG:
			bit = PP_SCTP_CTRL_RECONFIG;
			break;
		case PP_SCTP_CHUNK_FWD_TSN:
		case PP_SCTP_CHUNK_IFWD_TSN:
			bit = PP_SCTP_CTRL_FWD_TSN;
			break;
		default:
			return (struct pp_sctp_bundle){ 0 };
		}
		/* A control chunk after DATA, or twice the same: as built. */
		if (bit && (b.data || (b.ctrl & bit)))
			return (struct pp_sctp_bundle){ 0 };
		b.ctrl |= bit;
		off += (clen + 3) & ~(size_t)3;
	}
	return b.ok && off == len ? b : (struct pp_sctp_bundle){ 0 };
}

static size_t pp_sctp_bundle_cap(const struct pp_sctp *s)
{
	return s->cfg.path_mtu + PP_SCTP_HEADER_LEN;
}

static void pp_sctp_send_now(struct pp_sctp *s, uint8_t *pkt, size_t len)
{
	pp_sctp_crc32c_stamp(pkt, len);
	s->stats.packets_sent++;
	s->cb.send_packet(s->user, pkt, len);
}

void pp_sctp_flush_output(struct pp_sctp *s)
{
	size_t len;

	if (!s || !s->held_len || s->doomed)
		return;
	len = s->held_len;
	s->held_len = 0; /* first: send_packet may lead back here */
	pp_sctp_send_now(s, s->held, len);
}

bool pp_sctp_output_waiting(const struct pp_sctp *s)
{
	return s && s->held_len > 0 && !s->doomed;
}

/* Owner thread, inside usrsctp's output callback: pkt is usrsctp's. */
void pp_sctp_bundle_out(struct pp_sctp *s, uint8_t *pkt, size_t len)
{
	struct pp_sctp_bundle b;
	size_t cap = pp_sctp_bundle_cap(s);

	if (!s->cfg.bundle) {
		pp_sctp_send_now(s, pkt, len);
		return;
	}
	b = pp_sctp_bundle_scan(pkt, len);
	if (b.ok && s->held_len && !(s->held_kind.data && b.ctrl) && !(s->held_kind.ctrl & b.ctrl) &&
	    s->held_len + len - PP_SCTP_HEADER_LEN <= cap &&
	    memcmp(s->held, pkt, 8) == 0) { /* ports and verification tag */
		memcpy(s->held + s->held_len, pkt + PP_SCTP_HEADER_LEN, len - PP_SCTP_HEADER_LEN);
		s->held_len += len - PP_SCTP_HEADER_LEN;
		s->held_kind.data |= b.data;
		s->held_kind.ctrl |= b.ctrl;
		s->stats.packets_bundled++;
		return;
	}
	pp_sctp_flush_output(s);
	/* Room left for at least a SACK: worth waiting for company. */
	if (b.ok && len + 16 <= cap) {
		if (!s->held)
			s->held = g_malloc(cap);
		memcpy(s->held, pkt, len);
		s->held_len = len;
		s->held_kind = b;
		return;
	}
	pp_sctp_send_now(s, pkt, len);
}
