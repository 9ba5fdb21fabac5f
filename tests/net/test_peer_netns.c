/* SPDX-License-Identifier: Apache-2.0 */
/* Dead-peer detection and ICE restart of whole peer connections (pp_peer:
 * ICE, DTLS, SCTP, a channel) through real NAT, when the path breaks:
 * run by ice_netns.sh, which builds the namespaces (two peers behind
 * NAT routers, STUN on coturn). Each peer runs on its own thread in its
 * namespace (peer_thread.h; the signaling between the threads is not cut:
 * only the peers' UDP path is). The cases that carry data allow larger
 * datagrams (max_datagram 16384) and check that the routed path is never
 * probed (the base SCTP packet, 1163, at both ends). Times are logged,
 * never asserted. */
#include "netns_util.h"
#include "peer_thread.h"
#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <stdio.h>
#include <string.h>

static const char *ns_prefix;
static char stun_url[64];
static const char *stun_urls[1] = { stun_url };
static const struct pp_ice_server stun = { stun_urls, 1, NULL, NULL };

/* On the peer's thread (run_on). */
static void do_restart(struct peer *p, void *arg)
{
	g_assert_cmpint(pp_peer_restart_ice(p->pc), ==, 0);
}

/* --- conditions (main thread) ---------------------------------------------- */

static bool both_lost(void *d)
{
	struct peer *a = d;
	bool r;

	g_mutex_lock(&peer_mu);
	r = a->t_lost && a->other->t_lost;
	g_mutex_unlock(&peer_mu);
	return r;
}

static bool a_lost(void *d)
{
	struct peer *a = d;
	bool r;

	g_mutex_lock(&peer_mu);
	r = a->t_lost != 0;
	g_mutex_unlock(&peer_mu);
	return r;
}

static bool both_failed(void *d)
{
	struct peer *a = d;
	return peer_state(a) == PP_PEER_FAILED && peer_state(a->other) == PP_PEER_FAILED;
}

static bool got_quarter(void *d)
{
	return peer_received(d) >= PEER_BULK_TOTAL / 4;
}

/* --- scenarios --------------------------------------------------------------- */

/* ns: "a" or "b" (ice_netns.sh); STUN on coturn. */
static void peer_setup(struct peer *p, const char *name, const char *ns, struct peer *other,
                       bool restart_ok, size_t max_datagram)
{
	peer_init(p, name, ns_prefix, ns, other);
	p->cfg.ice_servers = &stun;
	p->cfg.n_ice_servers = 1;
	p->cfg.ice_restart_ok = restart_ok;
	p->cfg.max_datagram = max_datagram;
}

/* a (behind nat1) offers to b (behind nat2), STUN srflx; a opens "bulk".
 * max_datagram: both ends' pp_peer_config.max_datagram; pp_loop: both run
 * the daemons' loop. */
static void connect_pair(struct peer *a, struct peer *b, bool restart_ok, size_t max_datagram,
                         bool pp_loop)
{
	peer_setup(a, "A", "a", b, restart_ok, max_datagram);
	peer_setup(b, "B", "b", a, restart_ok, max_datagram);
	a->pp_loop = b->pp_loop = pp_loop;
	peer_connect(a, b, 5000);
}

static void lost_times(struct peer *a, struct peer *b, gint64 t0, const char *what)
{
	g_mutex_lock(&peer_mu);
	if (b->t_lost)
		g_test_message("%s: A %s after %.1f s, B %s after %.1f s", what, a->states->str,
		               (a->t_lost - t0) / 1e6, b->states->str, (b->t_lost - t0) / 1e6);
	else /* the restart reached B before its own consent expired */
		g_test_message("%s: A %s after %.1f s, B %s (path never lost)", what,
		               a->states->str, (a->t_lost - t0) / 1e6, b->states->str);
	g_mutex_unlock(&peer_mu);
}

/* Both ends allowed larger datagrams (max_datagram 16384), but the path
 * is routed (through both NATs): it is never probed, both stay at the
 * base SCTP packet (1,200-byte datagrams). */
static void expect_base_packet(struct peer *a, struct peer *b)
{
	g_assert_cmpuint(peer_path_packet(a), ==, 1163);
	g_assert_cmpuint(peer_path_packet(b), ==, 1163);
}

static void inet_drop(const char *op)
{
	sh("ip netns exec %s-inet iptables %s FORWARD -s 198.18.1.2 -d 198.18.2.2 -j DROP && "
	   "ip netns exec %s-inet iptables %s FORWARD -s 198.18.2.2 -d 198.18.1.2 -j DROP",
	   ns_prefix, op, ns_prefix, op);
}

/* Default policy: the path between the NATs is dropped; both sides report
 * FAILED once consent freshness gives up. */
static void test_path_cut_failed(void)
{
	struct peer a, b;

	connect_pair(&a, &b, false, 0, false);
	gint64 t0 = g_get_monotonic_time();
	inet_drop("-I");
	g_assert_true(wait_for(both_failed, &a, 40000));
	lost_times(&a, &b, t0, "path dropped");
	inet_drop("-D");
	peer_stop(&a);
	peer_stop(&b);
}

/* ice_restart_ok: B's link goes down in the middle of a transfer; both
 * report DISCONNECTED; the link comes back, A restarts ICE, the transfer
 * completes intact. */
static void test_link_down_restart(void)
{
	struct peer a, b;

	connect_pair(&a, &b, true, 16384, false);
	peer_hash_init(&b);
	peer_bulk_start(&a);
	g_assert_true(wait_for(got_quarter, &b, 60000));
	gint64 t0 = g_get_monotonic_time();
	sh("ip -n %s-b link set eth0 down", ns_prefix);
	g_assert_true(wait_for(both_lost, &a, 40000));
	lost_times(&a, &b, t0, "link down");
	g_assert_cmpint(peer_state(&a), ==, PP_PEER_DISCONNECTED);
	g_assert_cmpint(peer_state(&b), ==, PP_PEER_DISCONNECTED);
	sh("ip -n %s-b link set eth0 up && ip -n %s-b route replace default via 10.2.0.1", ns_prefix,
	   ns_prefix);
	gint64 t1 = g_get_monotonic_time();
	run_on(&a, do_restart, NULL);
	g_assert_true(wait_for(peers_connected, &a, PEER_WAIT_MS));
	g_test_message("restart: connected %.0f ms after the link came back",
	               (g_get_monotonic_time() - t1) / 1000.0);
	peer_bulk_check(&a, &b, 120000);
	g_test_message("transfer complete %.1f s after the link came back",
	               (g_get_monotonic_time() - t1) / 1e6);
	expect_base_packet(&a, &b);
	peer_stop(&a);
	peer_stop(&b);
}

/* ice_restart_ok: A's address changes under a transfer (as a laptop that
 * moves from Wi-Fi to LTE): its sockets are bound to an address that is
 * gone, consent expires, A restarts ICE from on_state(DISCONNECTED) and
 * gathers on the new address; the transfer completes intact. Both peers
 * run the daemons' pp_loop: the selected pair's socket, which ice_hot.c
 * reads under a claim, changes with the restart. */
static void test_address_change_restart(void)
{
	struct peer a, b;

	connect_pair(&a, &b, true, 16384, true);
	a.restart_on_lost = true;
	peer_hash_init(&b);
	peer_bulk_start(&a);
	g_assert_true(wait_for(got_quarter, &b, 60000));
	gint64 t0 = g_get_monotonic_time();
	sh("ip -n %s-a addr del 10.1.0.2/24 dev eth0 && ip -n %s-a addr add 10.1.0.3/24 dev eth0 && "
	   "ip -n %s-a route replace default via 10.1.0.1",
	   ns_prefix, ns_prefix, ns_prefix);
	/* A restarts as soon as it sees the loss: B may get the restart
	 * before its own consent expires */
	g_assert_true(wait_for(a_lost, &a, 40000));
	lost_times(&a, &b, t0, "address changed");
	g_assert_true(wait_for(peers_connected, &a, PEER_WAIT_MS));
	g_test_message("restarted: connected %.1f s after the change", (g_get_monotonic_time() - t0) / 1e6);
	peer_bulk_check(&a, &b, 120000);
	g_test_message("transfer complete %.1f s after the change", (g_get_monotonic_time() - t0) / 1e6);
	expect_base_packet(&a, &b);
	g_mutex_lock(&peer_mu);
	g_assert_nonnull(strstr(a.states->str, "connected,disconnected,restarting,connected"));
	g_mutex_unlock(&peer_mu);
	peer_stop(&a);
	peer_stop(&b);
	sh("ip -n %s-a addr del 10.1.0.3/24 dev eth0 && ip -n %s-a addr add 10.1.0.2/24 dev eth0 && "
	   "ip -n %s-a route replace default via 10.1.0.1",
	   ns_prefix, ns_prefix, ns_prefix);
}

static bool got_trickle(void *d)
{
	struct peer *p = d;
	return peer_sent(p->other) > 0 && peer_received(p) == peer_sent(p->other);
}

/* Both peers run the daemons' pp_loop, which reads the selected pair's
 * DTLS datagrams itself and leaves STUN to libnice (ice_hot.c): a bulk
 * transfer arrives intact, and 12 s of steady traffic (past libnice's
 * 10 s consent timeout, with consent checks every 4-6 s among the data)
 * never lose consent. Both loops ran fast turns (the data path did not
 * need GLib's turn). */
static void test_pp_loop_consent(void)
{
	struct peer a, b;

	connect_pair(&a, &b, false, 0, true);
	peer_hash_init(&b);
	peer_bulk_start(&a);
	peer_bulk_check(&a, &b, 60000);
	g_mutex_lock(&peer_mu);
	a.sent = b.received = 0;
	g_mutex_unlock(&peer_mu);
	peer_trickle_start(&a, 12);
	g_assert_true(wait_for(a_lost, &a, 13000) == false);
	g_assert_true(wait_for(got_trickle, &b, 5000));
	g_assert_cmpint(peer_state(&a), ==, PP_PEER_CONNECTED);
	g_assert_cmpint(peer_state(&b), ==, PP_PEER_CONNECTED);
	g_mutex_lock(&peer_mu);
	g_assert_null(strstr(a.states->str, "disconnected"));
	g_assert_null(strstr(b.states->str, "disconnected"));
	g_test_message("trickle: %" G_GUINT64_FORMAT " bytes in 12 s", a.sent);
	g_assert_cmpuint(a.sent, >, 1000 * 1000);
	g_mutex_unlock(&peer_mu);
	peer_stop(&a);
	peer_stop(&b);
	g_test_message("A: %" G_GUINT64_FORMAT " GLib turns, %" G_GUINT64_FORMAT " fast; B: %"
	               G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT, a.loop_stats.glib_turns,
	               a.loop_stats.fast_turns, b.loop_stats.glib_turns, b.loop_stats.fast_turns);
	g_assert_cmpuint(a.loop_stats.fast_turns, >, 0);
	g_assert_cmpuint(b.loop_stats.fast_turns, >, 0);
}

int main(int argc, char **argv)
{
	const char *turn;

	g_test_init(&argc, &argv, NULL);
	ns_prefix = g_getenv("PP_ICE_NS");
	turn = g_getenv("PP_ICE_TURN_ADDR"); /* coturn also answers STUN */
	if (!ns_prefix || !turn) {
		printf("1..0 # SKIP run through tests/net/ice_netns.sh\n");
		return 0;
	}
	g_snprintf(stun_url, sizeof(stun_url), "stun:%s", turn);
	pp_log_setup("test_peer_netns", g_test_verbose() ? PP_LOG_DEBUG : PP_LOG_WARN, PP_LOG_TEXT);
	g_test_add_func("/peer-netns/path-cut-failed", test_path_cut_failed);
	g_test_add_func("/peer-netns/pp-loop-consent", test_pp_loop_consent);
	g_test_add_func("/peer-netns/link-down-restart", test_link_down_restart);
	g_test_add_func("/peer-netns/address-change-restart", test_address_change_restart);
	return g_test_run();
}
