/* SPDX-License-Identifier: Apache-2.0 */
/* Sending many datagrams at once on the selected pair.
 *
 * libnice sends one datagram per sendmsg(); a bulk data channel spends a
 * fifth of its CPU there (perf, bench/rtc-bench). When the selected pair is
 * plain UDP from one of our own sockets (host, or srflx/prflx through its
 * host socket; not a TURN relay, not ICE-TCP), a batch goes out with one
 * sendmmsg() on that socket, runs of equal-sized datagrams as one UDP GSO
 * send each (UDP_SEGMENT: the kernel cuts them into the same datagrams).
 * Anything else goes through nice_agent_send() one by one.
 *
 * The socket is asked from libnice at every batch (it holds the agent
 * lock and a reference for the call), never kept: libnice may close and
 * replace it. STUN (consent, keepalives) stays with libnice. A datagram the
 * kernel refuses (socket buffer full) is lost, as on the wire: SCTP
 * retransmits.
 *
 * No UDP GRO on the receive side, on purpose: it gave +15-30% on
 * loopback, but with a real NIC's GRO a STUN datagram of the same flow
 * (a consent request or answer, smaller than the data records) can be
 * merged as the last segment of a run, or start one: libnice would then
 * see DTLS with a STUN tail, or STUN with DTLS behind it, and the
 * consent check would be lost; enough of those and ICE fails the path
 * under a long transfer. pp_dtls_feed_coalesced() stays able to take
 * coalesced records should a safe way to split STUN out appear. */
#include "ice_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif

#define PP_ICE_GSO_SEGS 64       /* the kernel's UDP_MAX_SEGMENTS */
#define PP_ICE_GSO_BYTES 65000   /* one UDP datagram before segmentation */

union pp_ice_gso_ctl {
	char buf[CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr align;
};

/* Called on new-selected-pair: may batches use the pair's socket? */
void pp_ice_batch_select(struct pp_ice *ice, NiceCandidate *l, NiceCandidate *r)
{
	ice->direct = false;
	if (l->transport != NICE_CANDIDATE_TRANSPORT_UDP || l->type == NICE_CANDIDATE_TYPE_RELAYED ||
	    r->transport != NICE_CANDIDATE_TRANSPORT_UDP)
		return;
	memset(&ice->direct_to, 0, sizeof(ice->direct_to));
	nice_address_copy_to_sockaddr(&r->addr, (struct sockaddr *)&ice->direct_to);
	ice->direct_to_len = ice->direct_to.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	                     sizeof(struct sockaddr_in);
	if (ice->direct_to.ss_family == AF_INET6) {
		/* A link-local peer is only reachable through our socket's link:
		 * its scope is the local candidate's (for the route lookups of
		 * ice_route.c; our bound socket needs none to send). */
		struct sockaddr_in6 *to = (struct sockaddr_in6 *)&ice->direct_to, mine = { 0 };
		nice_address_copy_to_sockaddr(&l->addr, (struct sockaddr *)&mine);
		if (IN6_IS_ADDR_LINKLOCAL(&to->sin6_addr) && !to->sin6_scope_id)
			to->sin6_scope_id = mine.sin6_scope_id;
	}
	ice->direct = ice->direct_to.ss_family == AF_INET || ice->direct_to.ss_family == AF_INET6;
}

/* Datagrams from dg[0] that make one GSO send: equal sizes, the last one
 * may be shorter. */
static size_t pp_ice_gso_run(const struct iovec *dg, size_t n, bool gso)
{
	size_t k = 1, bytes = dg[0].iov_len;

	while (gso && k < n && k < PP_ICE_GSO_SEGS && dg[k].iov_len <= dg[0].iov_len &&
	       bytes + dg[k].iov_len <= PP_ICE_GSO_BYTES) {
		bytes += dg[k].iov_len;
		if (dg[k++].iov_len < dg[0].iov_len)
			break;
	}
	return k;
}

static void pp_ice_sendmmsg(struct pp_ice *ice, int fd, const struct iovec *dg, size_t n)
{
	struct mmsghdr msgs[PP_ICE_BATCH_MAX];
	union pp_ice_gso_ctl ctl[PP_ICE_BATCH_MAX];
	size_t first[PP_ICE_BATCH_MAX]; /* index in dg of each message's first datagram */
	size_t m = 0, i = 0;

	memset(msgs, 0, sizeof(msgs));
	for (size_t d = 0; d < n && m < PP_ICE_BATCH_MAX;) {
		size_t k = pp_ice_gso_run(dg + d, n - d, !ice->no_gso);
		struct msghdr *h = &msgs[m].msg_hdr;
		h->msg_name = &ice->direct_to;
		h->msg_namelen = ice->direct_to_len;
		h->msg_iov = (struct iovec *)&dg[d];
		h->msg_iovlen = k;
		if (k > 1) {
			uint16_t seg = (uint16_t)dg[d].iov_len;
			memset(&ctl[m], 0, sizeof(ctl[m]));
			h->msg_control = ctl[m].buf;
			h->msg_controllen = sizeof(ctl[m].buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(h);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		first[m++] = d;
		d += k;
	}
	while (i < m) {
		int r = sendmmsg(fd, msgs + i, (unsigned)(m - i), MSG_DONTWAIT);
		if (r > 0) {
			i += (size_t)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (msgs[i].msg_hdr.msg_iovlen > 1 &&
		    (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT)) {
			/* No GSO on this path (no checksum offload, an old
			 * kernel): the rest one datagram per message. */
			pp_log(PP_LOG_DEBUG, ice->peer, "ice: no UDP GSO on this path (%s)",
			       g_strerror(errno));
			ice->no_gso = true;
			pp_ice_sendmmsg(ice, fd, dg + first[i], n - first[i]);
			return;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return; /* socket full: the rest is lost */
		i++; /* this one is refused (unreachable...): the next */
	}
	if (first[m - 1] + msgs[m - 1].msg_hdr.msg_iovlen < n) /* more than PP_ICE_BATCH_MAX messages */
		pp_ice_sendmmsg(ice, fd, dg + first[m - 1] + msgs[m - 1].msg_hdr.msg_iovlen,
		                n - first[m - 1] - msgs[m - 1].msg_hdr.msg_iovlen);
}

int pp_ice_send_batch(struct pp_ice *ice, const struct iovec *dg, size_t n)
{
	GSocket *sock = NULL;
	int fd = -1;

	if (ice->closing)
		return PP_ERR_STATE;
	if (n == 0)
		return 0;
	if (ice->state != PP_ICE_CONNECTED && ice->state != PP_ICE_COMPLETED)
		return -EAGAIN;
	for (size_t i = 0; i < n; i++)
		if (dg[i].iov_len == 0 || dg[i].iov_len > PP_ICE_DATAGRAM_MAX)
			return dg[i].iov_len ? PP_ERR_TOO_BIG : PP_ERR_INVALID;
	if (ice->direct)
		fd = pp_ice_hot_fd(ice);
	if (ice->direct && fd < 0)
		sock = nice_agent_get_selected_socket(ice->agent, ice->stream, 1);
	if (sock && g_socket_get_socket_type(sock) == G_SOCKET_TYPE_DATAGRAM)
		fd = g_socket_get_fd(sock);
	if (fd >= 0) {
		pp_ice_sendmmsg(ice, fd, dg, n);
	} else {
		for (size_t i = 0; i < n; i++)
			(void)nice_agent_send(ice->agent, ice->stream, 1, (guint)dg[i].iov_len,
			                      (const gchar *)dg[i].iov_base);
	}
	if (sock)
		g_object_unref(sock);
	return 0;
}
