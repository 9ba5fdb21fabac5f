/* SPDX-License-Identifier: Apache-2.0 */
/* Where the selected pair's datagrams go: the route's MTU, and whether the
 * remote address is on a directly attached link or this host (no router
 * in between) — asked from the kernel (a connected UDP socket for the MTU,
 * one rtnetlink RTM_GETROUTE for the gateway). Path MTU probing raises the
 * packet size only on such a path: a routed path can shrink later (a new
 * route, a tunnel) and usrsctp cannot re-cut DATA chunks already built for
 * the larger size; one L2 link or the loopback cannot. */
#include "ice_priv.h"

#include "peerpipe/log.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

size_t pp_ice_route_mtu(const struct sockaddr_storage *to, socklen_t len)
{
	bool v6 = to->ss_family == AF_INET6;
	int fd = socket(to->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu = 0;
	socklen_t ml = sizeof(mtu);

	if (fd < 0)
		return 0;
	if (connect(fd, (const struct sockaddr *)to, len) < 0 ||
	    getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &ml) < 0)
		mtu = 0;
	close(fd);
	return mtu > 0 ? (size_t)mtu : 0;
}

/* The route's attributes: a gateway (or a multipath / via route, which has
 * one) makes it routed. */
static int pp_ice_route_parse(const uint8_t *buf, size_t n)
{
	const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;

	for (; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
		const struct rtmsg *rt;
		const struct rtattr *a;
		unsigned alen;

		if (nh->nlmsg_type == NLMSG_ERROR)
			return -1;
		if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)))
			continue;
		rt = NLMSG_DATA(nh);
		if (rt->rtm_type == RTN_LOCAL)
			return 1;
		if (rt->rtm_type != RTN_UNICAST)
			return 0;
		alen = (unsigned)RTM_PAYLOAD(nh);
		for (a = RTM_RTA(rt); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
			if (a->rta_type == RTA_GATEWAY || a->rta_type == RTA_VIA ||
			    a->rta_type == RTA_MULTIPATH)
				return 0;
		return 1;
	}
	return -1;
}

int pp_ice_route_direct(const struct sockaddr_storage *to)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		uint8_t attrs[RTA_SPACE(16) + RTA_SPACE(sizeof(uint32_t))];
	} req;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 1 };
	bool v6 = to->ss_family == AF_INET6;
	size_t alen = v6 ? 16 : 4;
	struct rtattr *dst = (struct rtattr *)req.attrs;
	uint8_t buf[4096];
	ssize_t n;
	int fd, rc = -1;

	if (to->ss_family != AF_INET && to->ss_family != AF_INET6)
		return -1;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rt)) + RTA_SPACE(alen);
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 1;
	req.rt.rtm_family = (unsigned char)to->ss_family;
	req.rt.rtm_dst_len = (unsigned char)(alen * 8);
	dst->rta_type = RTA_DST;
	dst->rta_len = (unsigned short)RTA_LENGTH(alen);
	if (v6)
		memcpy(RTA_DATA(dst), &((const struct sockaddr_in6 *)to)->sin6_addr, alen);
	else
		memcpy(RTA_DATA(dst), &((const struct sockaddr_in *)to)->sin_addr, alen);
	if (v6 && ((const struct sockaddr_in6 *)to)->sin6_scope_id) {
		/* a link-local address: the route on its link */
		struct rtattr *oif = (struct rtattr *)(req.attrs + RTA_SPACE(alen));
		uint32_t index = ((const struct sockaddr_in6 *)to)->sin6_scope_id;
		oif->rta_type = RTA_OIF;
		oif->rta_len = (unsigned short)RTA_LENGTH(sizeof(index));
		memcpy(RTA_DATA(oif), &index, sizeof(index));
		req.nh.nlmsg_len += RTA_SPACE(sizeof(index));
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) ==
	    (ssize_t)req.nh.nlmsg_len &&
	    (n = recv(fd, buf, sizeof(buf), 0)) > 0)
		rc = pp_ice_route_parse(buf, (size_t)n);
	close(fd);
	return rc;
}

size_t pp_ice_path_datagram_max(struct pp_ice *ice)
{
	size_t mtu, headers;
	GSocket *sock;
	int probe, rc;

	if (!ice->direct || ice->closing || pp_ice_route_direct(&ice->direct_to) != 1)
		return 0;
	sock = nice_agent_get_selected_socket(ice->agent, ice->stream, 1);
	if (!sock)
		return 0;
	/* Probes must arrive whole or not at all: DF set, and no local
	 * fragmentation by a cached path MTU either. */
	if (ice->direct_to.ss_family == AF_INET6) {
		probe = IPV6_PMTUDISC_PROBE;
		rc = setsockopt(g_socket_get_fd(sock), IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof(probe));
		headers = 40 + 8;
	} else {
		probe = IP_PMTUDISC_PROBE;
		rc = setsockopt(g_socket_get_fd(sock), IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe));
		headers = 20 + 8;
	}
	g_object_unref(sock);
	if (rc < 0) {
		pp_log(PP_LOG_DEBUG, ice->peer, "ice: cannot set DF on the selected socket (%s)",
		       g_strerror(errno));
		return 0;
	}
	mtu = pp_ice_route_mtu(&ice->direct_to, ice->direct_to_len);
	return mtu > headers ? MIN(mtu - headers, (size_t)PP_ICE_DATAGRAM_MAX) : 0;
}
