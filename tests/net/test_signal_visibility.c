/* SPDX-License-Identifier: Apache-2.0 */
/* signaling.md §4: who sees whom. Desktops never see each other,
 * gateways see everyone in their room, rooms are sealed. */
#include "sigpeer.h"

#include <string.h>

static void send_offer(WsClient *from, const char *to)
{
	g_assert_true(ws_send_printf(from, "{\"type\":\"SEND_SDP\",\"to\":\"%s\",\"sdp\":"
	                             "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}}", to));
}

static void expect_new_peer(SigPeer *at, SigPeer *who)
{
	json_t *j = sig_expect(at->ws, "NEW_PEER", SIG_WAIT_MS);
	sig_assert_peer(json_object_get(j, "peer"), who);
	json_decref(j);
}

static void expect_left(SigPeer *at, SigPeer *who)
{
	json_t *j = sig_expect(at->ws, "PEER_LEFT", SIG_WAIT_MS);
	g_assert_cmpstr(json_string_value(json_object_get(j, "peer_id")), ==, who->id);
	json_decref(j);
}

static void test_desktops_invisible(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *d1 = sig_peer_join(s, "office", "alice", "desktop");
	SigPeer *d2 = sig_peer_join(s, "office", "bob", "desktop");
	/* no roster entry */
	g_assert_cmpuint(json_array_size(json_object_get(d2->joined, "peers")), ==, 0);

	/* no NEW_PEER: the next thing d1 hears is the gateway joining */
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	expect_new_peer(d1, g);
	expect_new_peer(d2, g);
	json_t *peers = json_object_get(g->joined, "peers");
	g_assert_cmpuint(json_array_size(peers), ==, 2);
	sig_assert_peer(sig_find_peer(peers, d1->id), d1);
	sig_assert_peer(sig_find_peer(peers, d2->id), d2);

	/* unknown_peer on SDP and ICE sent between desktops; nothing arrives */
	send_offer(d1->ws, d2->id);
	json_decref(sig_expect_error(d1->ws, "unknown_peer", "SEND_SDP", SIG_WAIT_MS));
	g_assert_true(sig_send_ice_marker(d2->ws, d1->id, "x"));
	json_decref(sig_expect_error(d2->ws, "unknown_peer", "SEND_ICE", SIG_WAIT_MS));

	/* no PEER_LEFT between desktops: d2 leaving is heard by g only */
	g_assert_true(ws_send_text(d2->ws, "{\"type\":\"LEAVE_ROOM\"}"));
	expect_left(g, d2);
	/* d1's next message is what g sends it */
	g_assert_true(sig_send_ice_marker(g->ws, d1->id, "after"));
	sig_expect_ice_marker(d1->ws, g->id, "after", SIG_WAIT_MS);
	/* closing after LEAVE_ROOM announces nothing a second time */
	ws_close(d2->ws);
	sig_peer_free(d2);
	sig_expect_silence(g->ws, 300);
	sig_expect_silence(d1->ws, 10);
	sig_peer_close(d1);
	sig_peer_close(g);
	sig_server_stop_clean(s);
}

static void test_gateways_see_all(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *g1 = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *d = sig_peer_join(s, "office", "alice", "desktop");
	expect_new_peer(g1, d);
	SigPeer *g2 = sig_peer_join(s, "office", "gw2", "gateway");
	json_t *peers = json_object_get(g2->joined, "peers");
	g_assert_cmpuint(json_array_size(peers), ==, 2);
	sig_assert_peer(sig_find_peer(peers, g1->id), g1);
	sig_assert_peer(sig_find_peer(peers, d->id), d);
	expect_new_peer(g1, g2);
	expect_new_peer(d, g2);

	/* gateway <-> gateway and gateway <-> desktop relay both ways */
	SigPeer *pairs[][2] = { { g1, g2 }, { g2, g1 }, { g2, d }, { d, g2 }, { g1, d }, { d, g1 } };
	for (gsize i = 0; i < G_N_ELEMENTS(pairs); i++) {
		char marker[8];
		g_snprintf(marker, sizeof(marker), "m%zu", i);
		g_assert_true(sig_send_ice_marker(pairs[i][0]->ws, pairs[i][1]->id, marker));
		sig_expect_ice_marker(pairs[i][1]->ws, pairs[i][0]->id, marker, SIG_WAIT_MS);
	}
	/* a gateway leaving is heard by both others */
	g_assert_true(ws_send_text(g1->ws, "{\"type\":\"LEAVE_ROOM\"}"));
	expect_left(g2, g1);
	expect_left(d, g1);
	sig_peer_close(g1);
	sig_peer_close(g2);
	sig_peer_close(d);
	sig_server_stop_clean(s);
}

static void test_rooms_sealed(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *d = sig_peer_join(s, "office", "alice", "desktop");
	expect_new_peer(g, d);
	SigPeer *lg = sig_peer_join(s, "lab", "gw1", "gateway"); /* same name, other room */
	SigPeer *ld = sig_peer_join(s, "lab", "bob", "desktop");
	g_assert_cmpuint(json_array_size(json_object_get(lg->joined, "peers")), ==, 0);
	g_assert_cmpuint(json_array_size(json_object_get(ld->joined, "peers")), ==, 1);
	sig_assert_peer(json_array_get(json_object_get(ld->joined, "peers"), 0), lg);
	expect_new_peer(lg, ld);

	send_offer(lg->ws, g->id);
	json_decref(sig_expect_error(lg->ws, "unknown_peer", "SEND_SDP", SIG_WAIT_MS));
	send_offer(g->ws, ld->id);
	json_decref(sig_expect_error(g->ws, "unknown_peer", "SEND_SDP", SIG_WAIT_MS));
	g_assert_true(sig_send_ice_marker(ld->ws, g->id, "x"));
	json_decref(sig_expect_error(ld->ws, "unknown_peer", "SEND_ICE", SIG_WAIT_MS));
	/* a well-formed id that was never assigned */
	send_offer(g->ws, "0123456789abcdef0123456789abcdef");
	json_decref(sig_expect_error(g->ws, "unknown_peer", "SEND_SDP", SIG_WAIT_MS));
	/* sending to oneself is not a visible peer either */
	send_offer(g->ws, g->id);
	json_decref(sig_expect_error(g->ws, "unknown_peer", "SEND_SDP", SIG_WAIT_MS));

	/* a leaving lab peer is not announced in the office */
	ws_close(ld->ws);
	expect_left(lg, ld);
	sig_peer_free(ld);
	sig_expect_silence(g->ws, 300);
	sig_expect_silence(d->ws, 10);
	sig_peer_close(lg);
	sig_peer_close(g);
	sig_peer_close(d);
	sig_server_stop_clean(s);
}

int main(int argc, char **argv)
{
	sig_test_init(&argc, &argv);
	g_test_add_func("/signal/visibility/desktops-invisible", test_desktops_invisible);
	g_test_add_func("/signal/visibility/gateways-see-all", test_gateways_see_all);
	g_test_add_func("/signal/visibility/rooms-sealed", test_rooms_sealed);
	return g_test_run();
}
