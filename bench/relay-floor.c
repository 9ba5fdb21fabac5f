/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay-floor: the least a two-process userspace TCP tunnel can do, as a
 * reference for scripts/bench-tunnel.sh. It has the tunnel's shape (TCP
 * accepted in one process, carried over UDP to a second process that
 * connects to the service) and nothing else: no encryption, no
 * retransmission, no flow control, no congestion control, one epoll loop
 * per process, one datagram per read. What PeerPipe adds on top of these
 * figures is the cost of DTLS, SCTP and its own logic; what this adds over
 * direct TCP is the floor that no design with this shape gets under on the
 * machine.
 *
 * Not a tunnel: a datagram lost on the way (never on the benchmark's veth
 * pairs) corrupts its stream.
 *
 *   relay-floor --client LISTEN_PORT GATEWAY_IP:UDP_PORT
 *       accepts TCP on 127.0.0.1:LISTEN_PORT, one stream per connection.
 *   relay-floor --gateway UDP_PORT SERVICE_IP:PORT
 *       receives streams on UDP_PORT and connects each to the service.
 *
 * Datagram: type (1 byte: OPEN, DATA, EOF), 3 zero bytes, stream id (4
 * bytes, the client's slot and a generation), payload (DATA only).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOTS 1024u
#define PAYLOAD_MAX 1400
#define EARLY_MAX 4096 /* bytes held at the gateway until its connect ends */
#define UDP_TAG UINT64_MAX        /* epoll data of the UDP socket */
#define LISTEN_TAG (UINT64_MAX - 1) /* of the client's listening socket; else a slot */

enum { MSG_OPEN = 1, MSG_DATA = 2, MSG_EOF = 3 };

struct slot {
	int fd;                  /* -1: free */
	uint32_t id;
	bool connecting;         /* gateway: connect() in progress */
	bool eof_in, eof_out;    /* EOF received from the peer / sent to it */
	size_t early_len;
	uint8_t early[EARLY_MAX];
};

static struct slot slots[SLOTS];
static int ep = -1, udp = -1, lsn = -1;
static bool is_gateway;
static bool udp_connected; /* gateway: to the client of its first datagram */
static uint32_t next_gen;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void watch(int fd, uint32_t events, uint64_t tag, int op)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	if (epoll_ctl(ep, op, fd, &ev) < 0)
		die("epoll_ctl");
}

static void send_msg(uint8_t type, uint32_t id, const uint8_t *data, size_t len)
{
	uint8_t buf[8 + PAYLOAD_MAX] = { type };

	memcpy(buf + 4, &id, 4);
	if (len)
		memcpy(buf + 8, data, len);
	if (send(udp, buf, 8 + len, 0) < 0 && errno != EAGAIN)
		perror("send udp");
}

static void slot_free(struct slot *s)
{
	close(s->fd); /* also leaves the epoll set */
	s->fd = -1;
}

static void slot_maybe_done(struct slot *s)
{
	if (s->eof_in && s->eof_out)
		slot_free(s);
}

/* TCP readable: one read, one datagram. */
static void tcp_readable(struct slot *s)
{
	uint8_t buf[PAYLOAD_MAX];
	ssize_t n = recv(s->fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		send_msg(MSG_EOF, s->id, NULL, 0);
		s->eof_out = true;
		watch(s->fd, 0, s - slots, EPOLL_CTL_MOD);
		slot_maybe_done(s);
		return;
	}
	send_msg(MSG_DATA, s->id, buf, (size_t)n);
}

static void tcp_write_all(struct slot *s, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("send tcp (the floor has no flow control)");
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void gateway_open(uint32_t id, const struct sockaddr_in *svc)
{
	struct slot *s = &slots[id % SLOTS];
	int one = 1;

	if (s->fd >= 0) {
		fprintf(stderr, "relay-floor: OPEN for a busy slot, dropped\n");
		return;
	}
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		die("socket");
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->id = id;
	s->eof_in = s->eof_out = false;
	s->early_len = 0;
	s->connecting = connect(s->fd, (const struct sockaddr *)svc, sizeof(*svc)) < 0;
	if (s->connecting && errno != EINPROGRESS)
		die("connect");
	watch(s->fd, s->connecting ? EPOLLOUT : EPOLLIN, s - slots, EPOLL_CTL_ADD);
}

static void gateway_connected(struct slot *s)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		fprintf(stderr, "relay-floor: connect to the service: %s\n", strerror(err ? err : errno));
		send_msg(MSG_EOF, s->id, NULL, 0);
		slot_free(s);
		return;
	}
	s->connecting = false;
	watch(s->fd, EPOLLIN, s - slots, EPOLL_CTL_MOD);
	tcp_write_all(s, s->early, s->early_len);
	s->early_len = 0;
	if (s->eof_in)
		shutdown(s->fd, SHUT_WR);
}

static void udp_readable(const struct sockaddr_in *svc)
{
	uint8_t buf[8 + PAYLOAD_MAX];

	for (;;) {
		ssize_t n = recv(udp, buf, sizeof(buf), 0);
		uint32_t id;
		if (n < 0)
			return;
		if (n < 8)
			continue;
		memcpy(&id, buf + 4, 4);
		if (buf[0] == MSG_OPEN && is_gateway) {
			gateway_open(id, svc);
			continue;
		}
		struct slot *s = &slots[id % SLOTS];
		if (s->fd < 0 || s->id != id)
			continue;
		if (buf[0] == MSG_DATA && s->connecting) {
			size_t len = (size_t)n - 8;
			if (s->early_len + len <= EARLY_MAX) {
				memcpy(s->early + s->early_len, buf + 8, len);
				s->early_len += len;
			}
		} else if (buf[0] == MSG_DATA) {
			tcp_write_all(s, buf + 8, (size_t)n - 8);
		} else if (buf[0] == MSG_EOF) {
			s->eof_in = true;
			if (!s->connecting)
				shutdown(s->fd, SHUT_WR);
			slot_maybe_done(s);
		}
	}
}

static void client_accept(void)
{
	int fd, one = 1;

	while ((fd = accept4(lsn, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		unsigned i;
		for (i = 0; i < SLOTS && slots[i].fd >= 0; i++)
			;
		if (i == SLOTS) {
			close(fd);
			continue;
		}
		struct slot *s = &slots[i];
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s->fd = fd;
		s->id = (++next_gen << 10) | i;
		s->eof_in = s->eof_out = false;
		send_msg(MSG_OPEN, s->id, NULL, 0);
		watch(fd, EPOLLIN, i, EPOLL_CTL_ADD);
		tcp_readable(s); /* data that came with the connection */
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in local = { .sin_family = AF_INET }, remote;
	int one = 1;

	if (argc != 4 || (strcmp(argv[1], "--client") && strcmp(argv[1], "--gateway")) ||
	    parse_addr(argv[3], &remote) < 0) {
		fprintf(stderr, "usage: relay-floor --client LISTEN_PORT GATEWAY_IP:UDP_PORT\n"
		                "       relay-floor --gateway UDP_PORT SERVICE_IP:PORT\n");
		return 2;
	}
	is_gateway = argv[1][2] == 'g';
	for (unsigned i = 0; i < SLOTS; i++)
		slots[i].fd = -1;
	local.sin_port = htons((uint16_t)atoi(argv[2]));
	ep = epoll_create1(EPOLL_CLOEXEC);
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ep < 0 || udp < 0)
		die("socket");
	if (is_gateway) {
		if (bind(udp, (struct sockaddr *)&local, sizeof(local)) < 0)
			die("bind udp");
	} else {
		local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		lsn = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		setsockopt(lsn, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (lsn < 0 || bind(lsn, (struct sockaddr *)&local, sizeof(local)) < 0 ||
		    listen(lsn, 128) < 0 || connect(udp, (struct sockaddr *)&remote, sizeof(remote)) < 0)
			die("client sockets");
		watch(lsn, EPOLLIN, LISTEN_TAG, EPOLL_CTL_ADD);
	}
	watch(udp, EPOLLIN, UDP_TAG, EPOLL_CTL_ADD);
	printf("relay-floor: %s ready\n", argv[1] + 2);
	fflush(stdout);

	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == UDP_TAG) {
				/* The gateway learns the client's address from its
				 * first datagram and talks only to it after that. */
				if (is_gateway && !udp_connected) {
					struct sockaddr_in from;
					socklen_t fl = sizeof(from);
					uint8_t b;
					if (recvfrom(udp, &b, 1, MSG_PEEK, (struct sockaddr *)&from, &fl) >= 0 &&
					    connect(udp, (struct sockaddr *)&from, fl) == 0)
						udp_connected = true;
				}
				udp_readable(&remote);
			} else if (tag == LISTEN_TAG) {
				client_accept();
			} else {
				struct slot *s = &slots[tag];
				if (s->fd < 0)
					continue;
				if (s->connecting) {
					if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
						gateway_connected(s);
				} else {
					tcp_readable(s);
				}
			}
		}
	}
}
