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
 * the socket this turn. The head of the
 * queue is peeked (its first byte, its source and its length), then read:
 * two syscalls per datagram, so that a STUN message is never taken from
 * libnice.
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
		uint8_t first;
		struct iovec v = { .iov_base = &first, .iov_len = 1 };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
		                     .msg_iov = &v, .msg_iovlen = 1 };
		ssize_t n;

		if (ice->closing || !ice->hot_sock || g_socket_is_closed(ice->hot_sock))
			return false;
		/* MSG_TRUNC: the datagram's whole length, though one byte is copied */
		n = recvmsg(ice->hot_fd, &mh, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK; /* an error: libnice's */
		if (n == 0 || n >= PP_ICE_HOT_BUF || first < 20 || first > 63 ||
		    !pp_ice_hot_from_remote(ice, &from))
			return false;
		n = recv(ice->hot_fd, buf, PP_ICE_HOT_BUF, MSG_DONTWAIT);
		if (n <= 0) /* nobody else reads it: cannot happen */
			return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
		if (!pp_ice_deliver_data(ice, buf, (size_t)n))
			return true; /* ice is gone; so is this claim */
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
