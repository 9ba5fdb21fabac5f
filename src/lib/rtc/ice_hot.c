/* SPDX-License-Identifier: Apache-2.0 */
/* The selected pair's datagrams, read without libnice when a pp_loop
 * (peerpipe/loop.h) runs the agent's context.
 *
 * libnice reads its socket in its GSource's dispatch, so every datagram
 * of a tunnel cost a full GLib turn (prepare and check of every source,
 * poll() over every fd), one recvmsg with a GSocketAddress allocated and
 * freed, and a last recvmsg that says EAGAIN. When the selected pair is
 * plain UDP from one of our sockets (ice->direct, as for batched sends),
 * the loop lets this file read that socket first: a datagram that is
 * DTLS (first byte 20-63, RFC 7983) from the selected remote address is
 * taken and handed to the data callback as libnice would; anything else
 * at the head of the queue (STUN: consent, keepalives, checks; another
 * source) is left where it is, and the loop lets libnice's source read
 * the socket this turn. The head of the queue is peeked whole (its
 * source, its length, its bytes), handed on, and only then taken off the
 * queue: a STUN message is never taken from libnice, and the second
 * syscall comes after the data has gone on (to the service's socket, say),
 * off the path a request waits on.
 *
 * libnice keeps nothing per data datagram that this bypasses (it sets a
 * flag no code reads; consent is refreshed by STUN responses only), and
 * its check of the source address against validated candidates is the
 * comparison with the selected remote here. */
#include "ice_priv.h"

#include "peerpipe/loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#define PP_ICE_HOT_BUDGET 64  /* datagrams per wakeup; the loop comes back for more */
#define PP_ICE_HOT_BUF (PP_ICE_DATAGRAM_MAX + 1)

/* One receive buffer per thread that runs claims (a datagram is handed on
 * before the claim returns, and claims never nest): 64 KiB for the
 * process, not per peer, freed when the thread ends. */
static GPrivate pp_ice_hot_buf_key = G_PRIVATE_INIT(g_free);

static bool pp_ice_hot_from_remote(const struct pp_ice *ice, const struct sockaddr_storage *from)
{
	if (from->ss_family != ice->direct_to.ss_family)
		return false;
	if (from->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)from, *b = (const void *)&ice->direct_to;
		return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)from, *b = (const void *)&ice->direct_to;
		return a->sin6_port == b->sin6_port &&
		       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
	}
	return false;
}

/* The loop's claim: true when it took what it could (the loop's next wait
 * says whether more is queued) or the agent went away meanwhile; false to
 * let libnice read the socket. */
static bool pp_ice_hot_read(void *user)
{
	struct pp_ice *ice = user;
	uint8_t *buf = g_private_get(&pp_ice_hot_buf_key);

	if (!buf) {
		buf = g_malloc(PP_ICE_HOT_BUF);
		g_private_set(&pp_ice_hot_buf_key, buf);
	}
	for (int i = 0; i < PP_ICE_HOT_BUDGET; i++) {
		struct sockaddr_storage from;
		struct iovec v = { .iov_base = buf, .iov_len = PP_ICE_HOT_BUF };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
		                     .msg_iov = &v, .msg_iovlen = 1 };
		int fd = ice->hot_fd;
		ssize_t n;

		if (ice->closing || !ice->hot_sock || g_socket_is_closed(ice->hot_sock))
			return false;
		/* MSG_TRUNC: the datagram's whole length, even when longer */
		n = recvmsg(fd, &mh, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK; /* an error: libnice's */
		if (n == 0 || n >= PP_ICE_HOT_BUF || buf[0] < 20 || buf[0] > 63 ||
		    !pp_ice_hot_from_remote(ice, &from))
			return false;
		if (!pp_ice_deliver_data(ice, buf, (size_t)n))
			return true; /* ice is gone; so is this claim */
		/* Taken off the queue only if the claim still reads that
		 * socket; otherwise whoever reads it next gets the datagram
		 * again, and DTLS drops it as a replay. */
		if (ice->closing || ice->hot_fd != fd || !ice->hot_sock)
			return true;
		if (recv(fd, NULL, 0, MSG_TRUNC | MSG_DONTWAIT) != n) /* nobody else reads it */
			return true;
	}
	return true; /* more may wait: the loop's next wait says so */
}

void pp_ice_hot_drop(struct pp_ice *ice)
{
	struct pp_loop *loop;

	if (!ice->hot_sock)
		return;
	loop = pp_loop_of(ice->ctx);
	if (loop)
		pp_loop_unclaim(loop, ice->hot_fd, ice);
	g_clear_object(&ice->hot_sock);
	ice->hot_fd = -1;
}

void pp_ice_hot_select(struct pp_ice *ice)
{
	struct pp_loop *loop = pp_loop_of(ice->ctx);
	GSocket *sock;

	pp_ice_hot_drop(ice);
	if (!loop || !ice->direct || ice->closing)
		return;
	sock = nice_agent_get_selected_socket(ice->agent, ice->stream, 1);
	if (!sock)
		return;
	if (g_socket_get_socket_type(sock) != G_SOCKET_TYPE_DATAGRAM || g_socket_get_fd(sock) < 0) {
		g_object_unref(sock);
		return;
	}
	ice->hot_sock = sock;
	ice->hot_fd = g_socket_get_fd(sock);
	pp_loop_claim(loop, ice->hot_fd, pp_ice_hot_read, ice);
}

int pp_ice_hot_fd(const struct pp_ice *ice)
{
	return ice->hot_sock && !g_socket_is_closed(ice->hot_sock) ? ice->hot_fd : -1;
}
