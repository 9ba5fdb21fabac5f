/* SPDX-License-Identifier: Apache-2.0 */
/* Path MTU probing of whole peer connections (pp_peer: ICE, DTLS, SCTP, a
 * channel) on one directly attached link: run by link_netns.sh, which
 * builds two namespaces joined by one veth pair (a 10.88.0.1/24, b
 * 10.88.0.2/24; no router, no STUN: host candidates on those addresses).
 * Each peer runs on its own thread in its namespace (peer_thread.h). Each
 * case sets the link's MTU, connects,
 * sends 20 MB on one channel (checked with SHA-256 at both ends) and
 * checks the SCTP packet size each end ended with
 * (pp_peer_path_packet(): 1163 = the base, 1,200-byte datagrams).
 *
 * Expected on IPv4: the route MTU less 28 (IP, UDP) is the largest
 * datagram; less the DTLS record overhead (37, AES-GCM), rounded down to
 * a multiple of 4, the first size probed: 1500 -> 1432, 9000 -> 8932.
 * Times are logged, never asserted. */
#include "netns_util.h"
#include "peer_thread.h"
#include "peerpipe/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BULK_WAIT_MS 120000
#define BASE_PACKET 1163

static const char *ns_prefix;
static const char *const addr_a[] = { "10.88.0.1" }, *const addr_b[] = { "10.88.0.2" };

/* --- scenarios --------------------------------------------------------------- */

static void link_mtu(unsigned mtu)
{
	sh("ip -n %s-a link set eth0 mtu %u && ip -n %s-b link set eth0 mtu %u", ns_prefix, mtu,
	   ns_prefix, mtu);
}

/* ns: "a" or "b" (link_netns.sh); addrs: its address on the veth. */
static void peer_setup(struct peer *p, const char *name, const char *ns,
                       const char *const *addrs, struct peer *other, size_t max_datagram)
{
	peer_init(p, name, ns_prefix, ns, other);
	p->cfg.local_addresses = addrs;
	p->cfg.n_local_addresses = 1;
	p->cfg.max_datagram = max_datagram;
}

/* a (10.88.0.1) offers to b (10.88.0.2), host candidates only; a opens
 * "bulk", sends 20 MB to b and both digests must match. pp_loop: both run
 * the daemons' loop (their datagrams, probes included, are read by
 * ice_hot.c). */
static void connect_and_send(struct peer *a, struct peer *b, size_t max_a, size_t max_b,
                             bool pp_loop)
{
	peer_setup(a, "A", "a", addr_a, b, max_a);
	peer_setup(b, "B", "b", addr_b, a, max_b);
	a->pp_loop = b->pp_loop = pp_loop;
	peer_connect(a, b, PEER_WAIT_MS);
	peer_hash_init(b);
	gint64 t0 = g_get_monotonic_time();
	peer_bulk_start(a);
	peer_bulk_check(a, b, BULK_WAIT_MS);
	g_test_message("20 MB in %.2f s", (g_get_monotonic_time() - t0) / 1e6);
	g_assert_cmpint(peer_state(a), ==, PP_PEER_CONNECTED);
	g_assert_cmpint(peer_state(b), ==, PP_PEER_CONNECTED);
}

struct want {
	struct peer *p;
	size_t packet;
};

static bool path_packet_is(void *d)
{
	struct want *w = d;
	return peer_path_packet(w->p) == w->packet;
}

/* Waits (the probes run on timers) until p's packet size is want, then
 * asserts it. */
static void expect_packet(struct peer *p, size_t want)
{
	struct want w = { p, want };

	(void)wait_for(path_packet_is, &w, PEER_WAIT_MS);
	size_t got = peer_path_packet(p);
	g_test_message("%s: path packet %zu", p->name, got);
	g_assert_cmpuint(got, ==, want);
}

/* Both ends may probe; the link's MTU decides the size. */
static void both_probe(unsigned mtu, size_t want, bool pp_loop)
{
	struct peer a, b;

	link_mtu(mtu);
	connect_and_send(&a, &b, 16384, 16384, pp_loop);
	expect_packet(&a, want);
	expect_packet(&b, want);
	peer_stop(&a);
	peer_stop(&b);
}

/* (1500 - 28 - 37) & ~3 */
static void test_mtu_1500(void)
{
	both_probe(1500, 1432, false);
}

/* (9000 - 28 - 37) & ~3; under the daemons' loop: 9,000-byte datagrams */
static void test_mtu_9000(void)
{
	both_probe(9000, 8932, true);
}

/* Only A may send more than the base: B (max_datagram 0) never probes and
 * stays at the base. A's probes are answered by B, so A may raise (logged,
 * not asserted); A's 20 MB must arrive intact either way. */
static void test_one_side(void)
{
	struct peer a, b;

	link_mtu(1500);
	connect_and_send(&a, &b, 16384, 0, false);
	g_assert_cmpuint(peer_path_packet(&b), ==, BASE_PACKET);
	g_test_message("A (max_datagram 16384): path packet %zu", peer_path_packet(&a));
	peer_stop(&a);
	peer_stop(&b);
}

/* Neither end may: both stay at the base. */
static void test_neither(void)
{
	struct peer a, b;

	link_mtu(1500);
	connect_and_send(&a, &b, 0, 0, false);
	g_assert_cmpuint(peer_path_packet(&a), ==, BASE_PACKET);
	g_assert_cmpuint(peer_path_packet(&b), ==, BASE_PACKET);
	peer_stop(&a);
	peer_stop(&b);
}

/* Runs tc -n PREFIX-a ARGS (A's namespace); true if it exited with 0. */
static bool tc_a(const char *args)
{
	char *cmd = g_strdup_printf("tc -n %s-a %s", ns_prefix, args);
	int status = -1;
	bool ok = g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL) &&
	          g_spawn_check_wait_status(status, NULL);

	g_free(cmd);
	return ok;
}

/* Packets the shaper on A's eth0 has dropped so far; -1 if tc cannot tell. */
static long shaper_drops(void)
{
	char *cmd = g_strdup_printf("tc -s -n %s-a qdisc show dev eth0", ns_prefix), *out = NULL;
	const char *at;
	long n = -1;

	if (g_spawn_command_line_sync(cmd, &out, NULL, NULL, NULL) && out &&
	    (at = strstr(out, "(dropped ")))
		n = strtol(at + strlen("(dropped "), NULL, 10);
	g_free(out);
	g_free(cmd);
	return n;
}

struct received {
	struct peer *p;
	guint64 bytes;
};

static bool received_at_least(void *d)
{
	struct received *r = d;
	return peer_received(r->p) >= r->bytes;
}

#define WARMUP_BYTES (5u << 20)

/* A 100 Mbit/s bottleneck with a 20 ms queue on A's side of the link (a
 * token bucket: this kernel may lack netem). The 20 MB must arrive intact,
 * and once past slow start SCTP's congestion control must hold the queue
 * instead of running it over again and again. With usrsctp's cwnd-based
 * Max.Burst (its default), cwnd collapsed whenever the flight shrank at
 * once and slow start took it back past the queue: the shaper dropped
 * about 4 bursts for every 100 packets, all through the transfer. Now it
 * drops a few in 1000 after the first 5 MB (sctp_glue.c); the test allows
 * 1 in 100. Slow start's own overshoot at the beginning (25-300 drops with
 * 4 MiB windows) is logged, not judged. */
static void test_bottleneck(void)
{
	struct peer a, b;
	struct received warm = { &b, WARMUP_BYTES };
	const guint64 packets = (PEER_BULK_TOTAL - WARMUP_BYTES) / 1432; /* 1500-byte datagrams */
	long drops0, drops;

	link_mtu(1500);
	if (!tc_a("qdisc replace dev eth0 root tbf rate 100mbit burst 32kb latency 20ms")) {
		g_test_skip("no token bucket shaper (tc tbf) on this host");
		return;
	}
	peer_setup(&a, "A", "a", addr_a, &b, 16384);
	peer_setup(&b, "B", "b", addr_b, &a, 16384);
	peer_connect(&a, &b, PEER_WAIT_MS);
	peer_hash_init(&b);
	peer_bulk_start(&a);
	g_assert_true(wait_for(received_at_least, &warm, BULK_WAIT_MS));
	drops0 = shaper_drops();
	peer_bulk_check(&a, &b, BULK_WAIT_MS);
	drops = shaper_drops();
	g_test_message("shaper: %ld drops in the first %u MiB, %ld in the other %" G_GUINT64_FORMAT
	               " packets", drops0, WARMUP_BYTES >> 20, drops - drops0, packets);
	g_assert_cmpint(drops0, >=, 0);
	g_assert_cmpint(drops, >=, drops0);
	g_assert_cmpuint((guint64)(drops - drops0) * 100, <, packets);
	g_assert_cmpint(peer_state(&a), ==, PP_PEER_CONNECTED);
	g_assert_cmpint(peer_state(&b), ==, PP_PEER_CONNECTED);
	peer_stop(&a);
	peer_stop(&b);
	g_assert_true(tc_a("qdisc del dev eth0 root"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ns_prefix = g_getenv("PP_LINK_NS");
	if (!ns_prefix) {
		printf("1..0 # SKIP run through tests/net/link_netns.sh\n");
		return 0;
	}
	pp_log_setup("test_peer_link", g_test_verbose() ? PP_LOG_DEBUG : PP_LOG_WARN, PP_LOG_TEXT);
	g_test_add_func("/peer-link/mtu-1500", test_mtu_1500);
	g_test_add_func("/peer-link/mtu-9000", test_mtu_9000);
	g_test_add_func("/peer-link/one-side", test_one_side);
	g_test_add_func("/peer-link/neither", test_neither);
	g_test_add_func("/peer-link/bottleneck", test_bottleneck);
	return g_test_run();
}
