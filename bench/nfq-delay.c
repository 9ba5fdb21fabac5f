/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nfq-delay: holds every packet of one NFQUEUE queue for a fixed time, then
 * lets it go: a wide-area round trip for scripts/bench-tunnel.sh on a kernel
 * without netem. The benchmark queues what leaves and what enters the
 * client's link, so each direction waits its half of the round trip.
 *
 *   nfq-delay QUEUE DELAY_MS
 *
 * Speaks nfnetlink_queue itself (no libnetfilter_queue): binds QUEUE with
 * metadata-only copies, reads each packet's id, and after DELAY_MS accepts
 * every packet up to the newest one due with one batch verdict (ids grow in
 * arrival order and every packet waits the same time). A packet the queue
 * has no room for (QUEUE_MAXLEN) is dropped by the kernel, as on a
 * congested link. When this socket overflows, the kernel keeps the packets
 * and tells us it lost their notices (ENOBUFS): they leave early, with the
 * next batch verdict. Both counts are printed on exit (SIGTERM, SIGINT):
 * what was held, and how many times notices were lost.
 * Needs CAP_NET_ADMIN in the namespace of the queue. A benchmark tool: it
 * trusts the kernel's messages and stops on the first malformed one.
 */
#include <arpa/inet.h> /* before the kernel's headers: they defer to libc's */
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING (1u << 20) /* packets held at once: 1 s of 1 Mpps */
#define QUEUE_MAXLEN 200000u

struct held {
	uint32_t id;
	uint64_t due_us;
};

static struct held ring[RING];
static size_t head, tail; /* tail: oldest held */
static volatile sig_atomic_t stop;
static uint16_t queue_num;
static uint32_t seq;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Appends attribute type with len bytes of data to the message in buf. */
static void put_attr(struct nlmsghdr *nh, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((char *)a + NLA_HDRLEN, data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static struct nlmsghdr *start_msg(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct nfgenmsg *g;

	memset(buf, 0, NLMSG_SPACE(sizeof(*g)));
	nh->nlmsg_len = NLMSG_LENGTH(sizeof(*g));
	nh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type);
	nh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	nh->nlmsg_seq = ++seq;
	g = NLMSG_DATA(nh);
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(queue_num);
	return nh;
}

static int send_msg(int fd, struct nlmsghdr *nh)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("nfq-delay: sendto");
		return -1;
	}
	return 0;
}

/* Waits for the kernel's answer to the request just sent: 0 or -errno. */
static int wait_ack(int fd)
{
	char buf[8192];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; n > 0 && NLMSG_OK(nh, (size_t)n);
	     nh = NLMSG_NEXT(nh, n))
		if (nh->nlmsg_type == NLMSG_ERROR)
			return ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
	return n < 0 ? -errno : -EPROTO;
}

static int configure(int fd)
{
	char buf[256];
	struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET) };
	struct nfqnl_msg_config_params params = { .copy_range = htonl(0),
		                                  .copy_mode = NFQNL_COPY_META };
	uint32_t maxlen = htonl(QUEUE_MAXLEN);
	struct nlmsghdr *nh;
	int rc = -EIO;

	nh = start_msg(buf, NFQNL_MSG_CONFIG, NLM_F_ACK);
	put_attr(nh, NFQA_CFG_CMD, &cmd, sizeof(cmd));
	if (send_msg(fd, nh) < 0 || (rc = wait_ack(fd)) != 0) {
		fprintf(stderr, "nfq-delay: cannot bind queue %u: %s\n", queue_num, strerror(-rc));
		return -1;
	}
	nh = start_msg(buf, NFQNL_MSG_CONFIG, NLM_F_ACK);
	put_attr(nh, NFQA_CFG_PARAMS, &params, sizeof(params));
	put_attr(nh, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof(maxlen));
	if (send_msg(fd, nh) < 0 || (rc = wait_ack(fd)) != 0) {
		fprintf(stderr, "nfq-delay: cannot configure queue %u: %s\n", queue_num,
		        strerror(-rc));
		return -1;
	}
	return 0;
}

/* Accepts every packet up to and including id. */
static int accept_upto(int fd, uint32_t id)
{
	char buf[128];
	struct nfqnl_msg_verdict_hdr v = { .verdict = htonl(NF_ACCEPT), .id = htonl(id) };
	struct nlmsghdr *nh = start_msg(buf, NFQNL_MSG_VERDICT_BATCH, 0);

	put_attr(nh, NFQA_VERDICT_HDR, &v, sizeof(v));
	return send_msg(fd, nh);
}

/* Holds the packets of one read; -1 on a malformed message. */
static int take_packets(const char *buf, ssize_t n, uint64_t due, unsigned long *held)
{
	for (const struct nlmsghdr *nh = (const struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
	     nh = NLMSG_NEXT(nh, n)) {
		if ((nh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET)
			continue;
		const char *p = (const char *)NLMSG_DATA(nh) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
		const char *end = (const char *)nh + nh->nlmsg_len;
		bool found = false;
		while (p + NLA_HDRLEN <= end) {
			const struct nlattr *a = (const struct nlattr *)p;
			if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
				return -1;
			if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR &&
			    a->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr)) {
				struct nfqnl_msg_packet_hdr ph;
				memcpy(&ph, p + NLA_HDRLEN, sizeof(ph));
				if ((head + 1) % RING == tail) {
					fprintf(stderr, "nfq-delay: more than %u packets held\n", RING);
					return -1;
				}
				ring[head] = (struct held){ ntohl(ph.packet_id), due };
				head = (head + 1) % RING;
				(*held)++;
				found = true;
			}
			p += NLA_ALIGN(a->nla_len);
		}
		if (!found)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	unsigned long held = 0, overruns = 0;
	int fd, rcvbuf = 64 << 20;
	uint64_t delay_us;

	if (argc != 3) {
		fprintf(stderr, "usage: nfq-delay QUEUE DELAY_MS\n");
		return 2;
	}
	queue_num = (uint16_t)strtoul(argv[1], NULL, 10);
	delay_us = (uint64_t)(strtod(argv[2], NULL) * 1000.0);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0) {
		perror("nfq-delay: socket");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (configure(fd) < 0)
		return 1;
	printf("nfq-delay: queue %u, %.1f ms\n", queue_num, (double)delay_us / 1000.0);
	fflush(stdout);

	while (!stop) {
		uint64_t now = now_us();
		size_t last = RING;
		while (tail != head && ring[tail].due_us <= now) {
			last = tail;
			tail = (tail + 1) % RING;
		}
		if (last != RING && accept_upto(fd, ring[last].id) < 0)
			return 1;
		/* Until the oldest held packet is due (µs precision), or a packet. */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct timespec ts, *until = NULL;
		if (tail != head) {
			uint64_t wait = ring[tail].due_us - now;
			ts.tv_sec = (time_t)(wait / 1000000u);
			ts.tv_nsec = (long)(wait % 1000000u) * 1000;
			until = &ts;
		}
		int r = ppoll(&pfd, 1, until, NULL);
		if (r < 0 && errno != EINTR) {
			perror("nfq-delay: ppoll");
			return 1;
		}
		if (r <= 0)
			continue;
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0) {
				if (errno == ENOBUFS) {
					overruns++;
					continue;
				}
				break;
			}
			if (take_packets(buf, n, now_us() + delay_us, &held) < 0) {
				fprintf(stderr, "nfq-delay: malformed message from the kernel\n");
				return 1;
			}
		}
	}
	printf("nfq-delay: %lu packets delayed; notices lost %lu times (those packets left early)\n",
	       held, overruns);
	return 0;
}
