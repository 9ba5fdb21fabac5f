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
 *   not expect them). One exception, for RE-CONFIG: a response followed
 *   by an outgoing reset request become one chunk with both parameters,
 *   a combination RFC 6525 §3.1 lists. That pair is what each side sends
 *   when the other resets a stream (its answer, then the reset of its own
 *   half: the data channel closing procedure, RFC 8831 §6.7). The SACK
 *   usrsctp puts in each of those two packets then goes once, the newer:
 *   its cumulative TSN and gap blocks describe the receiver's state later.
 *   So does, once per packet, a packet that is only a SACK after a packet
 *   ending with a RE-CONFIG and then its SACK (the input of one turn held
 *   a reset and then more data: the SACK the data is owed goes in the
 *   reset's packet, not alone after it).
 *   SACKs are not thinned otherwise: fewer of them in a bulk transfer would
 *   slow slow-start (cwnd grows per SACK) and hide losses from fast
 *   retransmit (a miss is counted per SACK);
 * - the same common header (ports, verification tag): one association;
 * - at most the base packet size (path_mtu + 12), which every path takes.
 * Chunks keep their order: the peer sees the same sequence, fewer packets.
 * The owner sends what waits with pp_sctp_flush_output() before its
 * datagrams leave (the peer: at the end of each loop turn, with its batch
 * of datagrams), so nothing waits longer than the turn that made it. */
#include "sctp_priv.h"

#include "be.h"

#include <string.h>

#define PP_SCTP_CTRL_SACK 1u
#define PP_SCTP_CTRL_RECONFIG 2u
#define PP_SCTP_CTRL_FWD_TSN 4u

#define PP_SCTP_PARAM_OUT_RESET 13 /* RFC 6525 §4.1 */
#define PP_SCTP_PARAM_RESPONSE 16  /* RFC 6525 §4.4 */

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
			b.sack_off = off;
			b.sack_len = pp_sctp_pad4(clen);
			break;
		case PP_SCTP_CHUNK_RECONFIG:
			bit = PP_SCTP_CTRL_RECONFIG;
			b.reconf_off = off;
			b.reconf_len = clen;
			/* its only parameter fills it: remember which */
			if (clen >= 8 && pp_be16(pkt + off + 6) == clen - 4)
				b.reconf_param = pp_be16(pkt + off + 4);
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
		off += pp_sctp_pad4(clen);
	}
	return b.ok && off == len ? b : (struct pp_sctp_bundle){ 0 };
}

/* b is only a SACK, and the held packet ends with a RE-CONFIG and then a
 * SACK: b's SACK replaces the held one, once (the chunks keep their order,
 * and a turn that reads many data packets still sends their SACKs). What
 * arrived after a stream reset in the same turn (the answer on another
 * stream, a channel's OPEN) is then acknowledged in the reset's packet,
 * not in a packet of its own. */
static bool pp_sctp_bundle_newer_sack(const struct pp_sctp_bundle *h,
                                      const struct pp_sctp_bundle *b)
{
	return b->ctrl == PP_SCTP_CTRL_SACK && !b->data && !h->data && !h->sack_replaced &&
	       (h->ctrl & PP_SCTP_CTRL_RECONFIG) && (h->ctrl & PP_SCTP_CTRL_SACK) &&
	       h->sack_off > h->reconf_off;
}

/* The held packet's RE-CONFIG holds just a response, b's just an outgoing
 * reset request: they may become one chunk. */
static bool pp_sctp_bundle_reconf_pair(const struct pp_sctp_bundle *h,
                                       const struct pp_sctp_bundle *b)
{
	return h->reconf_param == PP_SCTP_PARAM_RESPONSE && h->reconf_len % 4 == 0 &&
	       b->reconf_param == PP_SCTP_PARAM_OUT_RESET;
}

static size_t pp_sctp_bundle_cap(const struct pp_sctp *s)
{
	return s->cfg.path_mtu + PP_SCTP_HEADER_LEN;
}

/* The held packet's size once pkt joined: plus pkt's chunks, less a chunk
 * header when its RE-CONFIG parameter moves into the held chunk, less the
 * held SACK when pkt brings a newer one. */
static size_t pp_sctp_bundle_joined_len(const struct pp_sctp *s, const struct pp_sctp_bundle *b,
                                        size_t len)
{
	unsigned both = s->held_kind.ctrl & b->ctrl;

	return s->held_len + len - PP_SCTP_HEADER_LEN - (both & PP_SCTP_CTRL_RECONFIG ? 4 : 0) -
	       (both & PP_SCTP_CTRL_SACK ? s->held_kind.sack_len : 0);
}

static bool pp_sctp_bundle_fits(const struct pp_sctp *s, const struct pp_sctp_bundle *b,
                                const uint8_t *pkt, size_t len)
{
	const struct pp_sctp_bundle *h = &s->held_kind;
	unsigned both = h->ctrl & b->ctrl;

	if (!b->ok || !s->held_len || (h->data && b->ctrl))
		return false;
	if (both && !pp_sctp_bundle_newer_sack(h, b) &&
	    !((both & PP_SCTP_CTRL_RECONFIG) && pp_sctp_bundle_reconf_pair(h, b) &&
	      !(both & ~(PP_SCTP_CTRL_RECONFIG | PP_SCTP_CTRL_SACK))))
		return false;
	return pp_sctp_bundle_joined_len(s, b, len) <= pp_sctp_bundle_cap(s) &&
	       memcmp(s->held, pkt, 8) == 0; /* ports and verification tag */
}

/* Appends pkt's chunks to the held packet; a RE-CONFIG request parameter
 * goes into the held RE-CONFIG chunk, after its response. */
static void pp_sctp_bundle_join(struct pp_sctp *s, const struct pp_sctp_bundle *b,
                                const uint8_t *pkt, size_t len)
{
	struct pp_sctp_bundle *h = &s->held_kind;
	uint8_t *out = s->held;
	size_t from = PP_SCTP_HEADER_LEN;
	bool replaced = h->sack_replaced || pp_sctp_bundle_newer_sack(h, b);

	if (h->ctrl & b->ctrl & PP_SCTP_CTRL_SACK) { /* pkt's is newer */
		size_t end = h->sack_off + h->sack_len;
		memmove(out + h->sack_off, out + end, s->held_len - end);
		s->held_len -= h->sack_len;
		if (h->reconf_off > h->sack_off)
			h->reconf_off -= h->sack_len;
	}
	if (h->ctrl & b->ctrl & PP_SCTP_CTRL_RECONFIG) {
		size_t at = h->reconf_off + h->reconf_len; /* 4-aligned */
		size_t plen = b->reconf_len - 4;
		size_t room = pp_sctp_pad4(plen);

		memmove(out + at + room, out + at, s->held_len - at);
		memcpy(out + at, pkt + b->reconf_off + 4, plen);
		memset(out + at + plen, 0, room - plen);
		h->reconf_len += plen;
		pp_put_be16(out + h->reconf_off + 2, (uint16_t)h->reconf_len);
		h->reconf_param = 0; /* two parameters now */
		s->held_len += room;
		/* pkt's chunks before and after its RE-CONFIG */
		memcpy(out + s->held_len, pkt + from, b->reconf_off - from);
		s->held_len += b->reconf_off - from;
		from = b->reconf_off + pp_sctp_pad4(b->reconf_len);
	}
	memcpy(out + s->held_len, pkt + from, len - from);
	s->held_len += len - from;
	*h = pp_sctp_bundle_scan(out, s->held_len); /* valid: built by the rules */
	h->sack_replaced = replaced;
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
	if (pp_sctp_bundle_fits(s, &b, pkt, len)) {
		pp_sctp_bundle_join(s, &b, pkt, len);
		s->stats.packets_bundled++;
		if (!s->held_kind.ok) /* never by the rules; nothing joins it then */
			pp_sctp_flush_output(s);
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
