/* SPDX-License-Identifier: Apache-2.0 */
/* Packetization-layer path MTU discovery (RFC 8899 §6.2 for SCTP) over
 * our AF_CONN associations.
 *
 * usrsctp 0.9.5 has none (its PMTUD needs ICMP, which never reaches an
 * association carried in DTLS), so the association starts at the safe
 * base (path_mtu: 1,200-byte datagrams) and the layer above tells us how
 * large a packet the path below could carry at most
 * (pp_sctp_set_path_limit: the route's MTU less UDP, IP and DTLS). We then
 * send probes of that size, and of common smaller ones, as HEARTBEAT +
 * PAD packets (sctp_pmtu_wire.c) to which every SCTP peer answers with a
 * small HEARTBEAT ACK. The largest size answered becomes the path MTU of
 * the association's one address (SCTP_PEER_ADDR_PARAMS).
 *
 * usrsctp never raises an association's fragmentation point after setup,
 * but it fills packets up to the path MTU: several DATA chunks in one
 * packet, and a pending piece of a message that fits goes whole into one
 * chunk of up to that size. That is what costs: one DTLS record, one
 * datagram and one SACK per packet. It is also why a larger size is only
 * used where the path cannot shrink under it (the peer layer asks for it
 * only on a path to this host or a directly attached link): a DATA chunk
 * is never cut again, so one built for 16 KiB stays 16 KiB. The size in
 * use is still probed again every pmtu_confirm_ms (10 s). Three probes
 * lost, one of the base size answered right after and three of the size
 * lost again: a black hole (a link's MTU lowered). New packets go back to
 * the base and the search starts again, while chunks already built larger
 * are retransmitted as they are until the association gives up (the
 * tunnel then reconnects). When the base-size probes are lost too, the
 * path is down (an outage, whose end ICE restarts handle), not narrower,
 * and the size stays; when the size is answered once the base is, the
 * outage ended between the two. Lowering the size for an outage held the
 * chunks built larger back in usrsctp after the path came back (10-13 s
 * stalls in tunnel-restart's long-outage case, until the next
 * confirmation). A search that stopped below the limit is tried again
 * after PP_SCTP_RESEARCH_MS. Every send happens from the timer on the
 * association's context, never inside usrsctp. */
#include "sctp_priv.h"

#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <errno.h>
#include <string.h>

/* Tried below the limit, largest first: jumbo frames, Ethernet over IPv4
 * and IPv6, and a tunnelled path, each less UDP, IP and DTLS headers. */
static const size_t pp_sctp_pmtu_ladder[] = { 8912, 1432, 1412, 1332 };

static size_t pp_sctp_pmtu_base(const struct pp_sctp *s)
{
	return s->cfg.path_mtu + PP_SCTP_HEADER_LEN;
}

static size_t pp_sctp_pmtu_current(struct pp_sctp *s)
{
	if (!s->pmtu.current)
		s->pmtu.current = pp_sctp_pmtu_base(s);
	return s->pmtu.current;
}

static gboolean pp_sctp_pmtu_tick(gpointer data);

static void pp_sctp_pmtu_arm(struct pp_sctp *s, guint ms)
{
	pp_source_clear(&s->pmtu.timer);
	s->pmtu.timer = g_timeout_source_new(ms);
	g_source_set_callback(s->pmtu.timer, pp_sctp_pmtu_tick, s, NULL);
	g_source_attach(s->pmtu.timer, s->ctx);
}

void pp_sctp_pmtu_stop(struct pp_sctp *s)
{
	pp_source_clear(&s->pmtu.timer);
	s->pmtu.probe = 0;
	s->pmtu.check = PP_SCTP_CHECK_SIZE;
}

/* The association's one address gets size as its path MTU. */
static void pp_sctp_pmtu_apply(struct pp_sctp *s, size_t size)
{
	struct sctp_paddrparams pp = { .spp_flags = SPP_PMTUD_DISABLE,
	                               .spp_pathmtu = (uint32_t)(size - PP_SCTP_HEADER_LEN) };

	if (pp_sctp_set_peer_params(s, &pp) < 0) {
		pp_log(PP_LOG_WARN, s->log_peer, "sctp: path MTU %zu refused by usrsctp (%s)", size,
		       g_strerror(errno));
		return;
	}
	s->pmtu.current = size;
}

static void pp_sctp_pmtu_send(struct pp_sctp *s)
{
	uint8_t *buf = g_malloc(s->pmtu.probe);

	if (pp_sctp_probe_build(buf, s->pmtu.probe, s->cfg.local_port, s->cfg.remote_port,
	                        s->pmtu.vtag, s->pmtu.token) == s->pmtu.probe) {
		s->stats.packets_sent++;
		s->stats.pmtu_probes_sent++;
		s->cb.send_packet(s->user, buf, s->pmtu.probe);
	}
	g_free(buf);
}

static void pp_sctp_pmtu_probe(struct pp_sctp *s, size_t size, bool confirming)
{
	uint64_t nonce = ((uint64_t)g_random_int() << 32) | g_random_int();

	s->pmtu.probe = size;
	s->pmtu.answered = false;
	s->pmtu.confirming = confirming;
	s->pmtu.check = PP_SCTP_CHECK_SIZE;
	s->pmtu.tries = 0;
	pp_sctp_probe_token(s->pmtu.token, (uint32_t)size, nonce);
	pp_sctp_pmtu_send(s);
	pp_sctp_pmtu_arm(s, s->cfg.pmtu_probe_ms);
}

/* The next size to try, largest first, above the size in use. */
static size_t pp_sctp_pmtu_candidate(struct pp_sctp *s)
{
	size_t n = G_N_ELEMENTS(pp_sctp_pmtu_ladder);

	while (s->pmtu.next <= n) {
		size_t c = s->pmtu.next == 0 ? s->pmtu.limit : pp_sctp_pmtu_ladder[s->pmtu.next - 1];
		s->pmtu.next++;
		if (c <= s->pmtu.limit && c > pp_sctp_pmtu_current(s))
			return c;
	}
	return 0;
}

/* Nothing left to try (a search ended: searched), or a confirmation
 * answered: keep the size in use and confirm it from time to time. */
static void pp_sctp_pmtu_settle(struct pp_sctp *s, bool searched)
{
	s->pmtu.probe = 0;
	if (searched)
		s->pmtu.research_at = s->pmtu.current < s->pmtu.limit ?
		                      g_get_monotonic_time() + (gint64)PP_SCTP_RESEARCH_MS * 1000 : 0;
	if (s->pmtu.current > pp_sctp_pmtu_base(s) || s->pmtu.research_at)
		pp_sctp_pmtu_arm(s, s->cfg.pmtu_confirm_ms);
	else
		pp_sctp_pmtu_stop(s);
}

static void pp_sctp_pmtu_search(struct pp_sctp *s);

/* The next probe of a confirmation that went unanswered (see
 * enum pp_sctp_pmtu_check): of `size`, at stage `check`. */
static void pp_sctp_pmtu_check_probe(struct pp_sctp *s, size_t size,
                                     enum pp_sctp_pmtu_check check)
{
	pp_sctp_pmtu_probe(s, size, true);
	s->pmtu.check = check;
}

/* Packets of the failed size no longer get through while base-size ones
 * do: back to the base, and search below the failed size. */
static void pp_sctp_pmtu_black_hole(struct pp_sctp *s)
{
	size_t base = pp_sctp_pmtu_base(s), lost = s->pmtu.failed;

	pp_log(PP_LOG_WARN, s->log_peer,
	       "sctp: %zu-byte packets no longer get through (path MTU black hole): "
	       "back to %zu and searching again", lost, base);
	s->pmtu.limit = lost - 4 > base ? lost - 4 : 0;
	pp_sctp_pmtu_apply(s, base);
	s->pmtu.probe = 0;
	s->pmtu.check = PP_SCTP_CHECK_SIZE;
	if (s->pmtu.limit)
		pp_sctp_pmtu_search(s);
	else
		pp_sctp_pmtu_stop(s);
}

/* The probe in flight was answered. */
static void pp_sctp_pmtu_answered(struct pp_sctp *s)
{
	s->pmtu.answered = false;
	if (s->pmtu.check == PP_SCTP_CHECK_BASE) { /* the path is up: the size again */
		pp_sctp_pmtu_check_probe(s, s->pmtu.failed, PP_SCTP_CHECK_AGAIN);
		return;
	}
	/* PP_SCTP_CHECK_AGAIN answered: the path was down a while, no more */
	if (!s->pmtu.confirming) {
		pp_sctp_pmtu_apply(s, s->pmtu.probe);
		pp_log(PP_LOG_INFO, s->log_peer, "sctp: path MTU %zu bytes per packet (probed)",
		       s->pmtu.current);
	}
	/* Largest first: the first size answered ends the search. */
	pp_sctp_pmtu_settle(s, !s->pmtu.confirming);
}

static void pp_sctp_pmtu_search(struct pp_sctp *s)
{
	size_t c;

	s->pmtu.next = 0;
	c = pp_sctp_pmtu_candidate(s);
	if (c)
		pp_sctp_pmtu_probe(s, c, false);
	else
		pp_sctp_pmtu_settle(s, true);
}

/* PP_SCTP_PROBE_TRIES probes of this size went unanswered. */
static void pp_sctp_pmtu_failed(struct pp_sctp *s)
{
	size_t c;

	if (s->pmtu.check == PP_SCTP_CHECK_BASE) {
		pp_log(PP_LOG_INFO, s->log_peer,
		       "sctp: no answer to %zu- nor %zu-byte probes: the path is down, "
		       "its MTU stays", s->pmtu.failed, s->pmtu.probe);
		pp_sctp_pmtu_settle(s, false); /* confirmed again later */
		return;
	}
	if (s->pmtu.check == PP_SCTP_CHECK_AGAIN) {
		pp_sctp_pmtu_black_hole(s);
		return;
	}
	if (s->pmtu.confirming) { /* the size in use: a black hole, or no path? */
		s->pmtu.failed = s->pmtu.probe;
		/* probes are whole words: the base rounded down */
		pp_sctp_pmtu_check_probe(s, pp_sctp_pmtu_base(s) & ~(size_t)3, PP_SCTP_CHECK_BASE);
		return;
	}
	pp_debug("sctp: no answer to %zu-byte probes", s->pmtu.probe);
	c = pp_sctp_pmtu_candidate(s);
	if (c)
		pp_sctp_pmtu_probe(s, c, false);
	else
		pp_sctp_pmtu_settle(s, true);
}

static gboolean pp_sctp_pmtu_tick(gpointer data)
{
	struct pp_sctp *s = data;

	g_source_unref(s->pmtu.timer);
	s->pmtu.timer = NULL;
	if (!s->pmtu.limit || s->doomed) /* doomed: nothing more reaches the user */
		return G_SOURCE_REMOVE;
	if (s->state != PP_SCTP_CONNECTED || !s->pmtu.vtag_known) {
		if (s->state == PP_SCTP_NEW || s->state == PP_SCTP_CONNECTING ||
		    s->state == PP_SCTP_CONNECTED)
			pp_sctp_pmtu_arm(s, s->cfg.pmtu_probe_ms);
		return G_SOURCE_REMOVE;
	}
	if (s->pmtu.probe && s->pmtu.answered) {
		pp_sctp_pmtu_answered(s);
	} else if (s->pmtu.probe) {
		if (++s->pmtu.tries < PP_SCTP_PROBE_TRIES) {
			pp_sctp_pmtu_send(s);
			pp_sctp_pmtu_arm(s, s->cfg.pmtu_probe_ms);
		} else {
			pp_sctp_pmtu_failed(s);
		}
	} else if (s->pmtu.research_at && g_get_monotonic_time() >= s->pmtu.research_at) {
		pp_sctp_pmtu_search(s);
	} else if (s->pmtu.next == 0 && s->pmtu.current <= pp_sctp_pmtu_base(s)) {
		pp_sctp_pmtu_search(s); /* first tick after pp_sctp_set_path_limit() */
	} else if (s->pmtu.current > pp_sctp_pmtu_base(s)) {
		pp_sctp_pmtu_probe(s, s->pmtu.current, true);
	} else {
		pp_sctp_pmtu_settle(s, false);
	}
	return G_SOURCE_REMOVE;
}

void pp_sctp_set_path_limit(struct pp_sctp *s, size_t max_packet)
{
	size_t base;

	if (!s)
		return;
	base = pp_sctp_pmtu_base(s);
	max_packet = MIN(max_packet, (size_t)PP_SCTP_PROBE_MAX) & ~(size_t)3;
	pp_sctp_pmtu_stop(s);
	/* A new path (another candidate pair) starts at the base again: the
	 * old path's size says nothing about it. */
	if (pp_sctp_pmtu_current(s) != base)
		pp_sctp_pmtu_apply(s, base);
	s->pmtu.limit = max_packet > base ? max_packet : 0;
	s->pmtu.next = 0;
	s->pmtu.research_at = 0;
	if (s->pmtu.limit)
		pp_sctp_pmtu_arm(s, 0);
}

size_t pp_sctp_path_packet(const struct pp_sctp *s)
{
	return s->pmtu.current ? s->pmtu.current : pp_sctp_pmtu_base(s);
}

/* From the output hook, on the owner thread: every packet after INIT
 * carries the peer's verification tag, except an ABORT or SHUTDOWN
 * COMPLETE with the T bit (tag reflected). */
void pp_sctp_pmtu_note_output(struct pp_sctp *s, const uint8_t *pkt, size_t len)
{
	if (s->pmtu.vtag_known || len < PP_SCTP_HEADER_LEN + 4)
		return;
	if (pkt[12] == 1 || pkt[12] == 6 || pkt[12] == 14) /* INIT, ABORT, SHUTDOWN COMPLETE */
		return;
	s->pmtu.vtag = ((uint32_t)pkt[4] << 24) | ((uint32_t)pkt[5] << 16) |
	               ((uint32_t)pkt[6] << 8) | pkt[7];
	s->pmtu.vtag_known = true;
}

/* From pp_sctp_feed() with a packet whose CRC32c is good: true when it was
 * only the answer to a probe (not for usrsctp). Chunks are only looked at
 * while a probe waits for its answer (a few packets every 10 s); a late
 * answer goes to usrsctp, which ignores it (sctp_pmtu_wire.c). */
bool pp_sctp_pmtu_input(struct pp_sctp *s, const uint8_t *pkt, size_t len)
{
	uint8_t token[PP_SCTP_PROBE_TOKEN];
	bool alone = false;

	if (!s->pmtu.probe || s->pmtu.answered ||
	    pp_sctp_probe_ack_find(pkt, len, token, &alone) != 1)
		return false;
	/* Acted on from the timer: this may run inside usrsctp (an in-memory
	 * link feeds one association from the other's output). */
	if (memcmp(token, s->pmtu.token, sizeof(token)) == 0) {
		s->stats.pmtu_probes_acked++;
		s->pmtu.answered = true;
		pp_sctp_pmtu_arm(s, 0);
	}
	return alone;
}
