/* SPDX-License-Identifier: Apache-2.0 */
/* ICE through real NAT: run by ice_netns.sh, which builds the namespaces
 * (see there) and starts coturn. Each peer runs on its own thread that
 * has entered its namespace (setns), with its own GMainContext, so every
 * socket libnice opens is in that namespace. Candidates and credentials
 * go between the threads the way signaling would carry them. */
#include "netns_util.h"
#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/ice.h"
#include "peerpipe/turn_rest.h"

#include <arpa/inet.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define WAIT_MS 30000

static const char *ns_prefix;
static const char *turn_addr;
static const char *turn_secret;

struct peer {
	const char *name;
	char ns[96];
	bool controlling;
	bool send_cands;        /* forward our candidates to the other side */
	const char *mdns_name;  /* hide our address behind this .local name */
	const char *hide_ip;
	struct pp_ice_config cfg;
	struct pp_ice_server servers[2];
	const char *stun_urls[1];
	const char *turn_urls[1];
	char turn_user[PP_TURN_USER_MAX];
	char turn_cred[PP_TURN_CRED_MAX];
	char stun_url[64];
	char turn_url[96];

	GThread *thread;
	GMainContext *ctx;
	GMainLoop *loop;
	struct pp_ice *ice;
	struct peer *other;
	GSocket *responder; /* mDNS responder for mdns_name */
	GSource *responder_src;

	gint state;
	gint n_rx;
	gint n_cands;
	gint ready;
	gint closed;
	gint64 t_down; /* monotonic time of failed/disconnected */
};

/* ---- signaling between the threads ---- */

struct msg {
	struct peer *to;
	char *line; /* NULL: end of candidates */
};

static gboolean msg_deliver(gpointer data)
{
	struct msg *m = data;

	if (m->to->ice) {
		int rc = m->line ? pp_ice_add_remote_candidate(m->to->ice, m->line)
		                 : pp_ice_end_of_remote_candidates(m->to->ice);
		if (rc < 0)
			g_printerr("# %s refused %s: %s\n", m->to->name, m->line ? m->line : "eoc",
			           pp_strerror(rc));
	}
	g_free(m->line);
	g_free(m);
	return G_SOURCE_REMOVE;
}

static char *hide(struct peer *p, const char *line)
{
	gchar *pat = g_strdup_printf(" %s ", p->hide_ip);
	gchar **parts = g_strsplit(line, pat, 2);
	char *out = parts[1] ? g_strdup_printf("%s %s %s", parts[0], p->mdns_name, parts[1])
	                     : g_strdup(line);
	g_strfreev(parts);
	g_free(pat);
	return out;
}

static void on_cand(void *user, const char *line)
{
	struct peer *p = user;
	struct msg *m;

	if (line) {
		g_atomic_int_inc(&p->n_cands);
		if (g_test_verbose())
			g_printerr("# %s local %s\n", p->name, line);
	}
	if (!p->send_cands)
		return;
	m = g_new0(struct msg, 1);
	m->to = p->other;
	m->line = line ? (p->mdns_name ? hide(p, line) : g_strdup(line)) : NULL;
	g_main_context_invoke(p->other->ctx, msg_deliver, m);
}

static void on_state(void *user, enum pp_ice_state s)
{
	struct peer *p = user;

	if ((s == PP_ICE_FAILED || s == PP_ICE_DISCONNECTED) && !p->t_down)
		p->t_down = g_get_monotonic_time();
	g_atomic_int_set(&p->state, (gint)s);
	if (s == PP_ICE_CLOSED)
		g_atomic_int_set(&p->closed, 1);
}

static void on_data(void *user, const uint8_t *data, size_t len)
{
	struct peer *p = user;

	g_atomic_int_inc(&p->n_rx);
}

static const struct pp_ice_callbacks cbs = {
	.on_local_candidate = on_cand, .on_state = on_state, .on_data = on_data,
};

/* ---- a small mDNS responder (as a browser's host would run) ---- */

static gboolean responder_read(GSocket *sock, GIOCondition c, gpointer data)
{
	struct peer *p = data;
	uint8_t q[1500], a[600];
	GSocketAddress *from = NULL;
	gssize n = g_socket_receive_from(sock, &from, (gchar *)q, sizeof(q), NULL, NULL);
	size_t off = 12, nl;
	uint8_t want[300];
	int wl;

	if (n < 17 || (q[2] & 0x80))
		goto out; /* not a query */
	wl = pp_ice_mdns_query_build(want, sizeof(want), 0, p->mdns_name, false);
	nl = (size_t)wl - 12 - 4;
	if (wl < 0 || (size_t)n < 12 + nl + 4 || memcmp(q + 12, want + 12, nl + 2) != 0)
		goto out; /* another name, or AAAA */
	memcpy(a, q, 2);
	memcpy(a + 2, "\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00", 10);
	memcpy(a + off, want + 12, nl);
	off += nl;
	memcpy(a + off, "\x00\x01\x80\x01\x00\x00\x00\x78\x00\x04", 10);
	off += 10;
	inet_pton(AF_INET, p->hide_ip, a + off);
	off += 4;
	g_socket_send_to(sock, from, (const gchar *)a, off, NULL, NULL);
out:
	if (from)
		g_object_unref(from);
	return G_SOURCE_CONTINUE;
}

static void responder_start(struct peer *p)
{
	GInetAddress *any = g_inet_address_new_any(G_SOCKET_FAMILY_IPV4);
	GInetAddress *grp = g_inet_address_new_from_string("224.0.0.251");
	GSocketAddress *sa = g_inet_socket_address_new(any, 5353);

	p->responder = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
	                            G_SOCKET_PROTOCOL_UDP, NULL);
	g_assert_true(g_socket_bind(p->responder, sa, TRUE, NULL));
	g_assert_true(g_socket_join_multicast_group(p->responder, grp, FALSE, "eth0", NULL));
	g_socket_set_blocking(p->responder, FALSE);
	p->responder_src = g_socket_create_source(p->responder, G_IO_IN, NULL);
	g_source_set_callback(p->responder_src, (GSourceFunc)(void (*)(void))responder_read, p,
	                      NULL);
	g_source_attach(p->responder_src, p->ctx);
	g_object_unref(sa);
	g_object_unref(grp);
	g_object_unref(any);
}

/* ---- peer threads ---- */

static gpointer peer_main(gpointer data)
{
	struct peer *p = data;

	netns_enter_thread(p->ns, p->ctx);
	p->ice = pp_ice_new(p->ctx, &p->cfg, &cbs, p);
	g_assert_nonnull(p->ice);
	if (p->mdns_name)
		responder_start(p);
	g_atomic_int_set(&p->ready, 1);
	g_main_loop_run(p->loop);
	pp_ice_free(p->ice);
	p->ice = NULL;
	if (p->responder_src) {
		g_source_destroy(p->responder_src);
		g_source_unref(p->responder_src);
		g_object_unref(p->responder);
	}
	/* run what is left (libnice frees on idle) */
	while (g_main_context_iteration(p->ctx, FALSE))
		;
	g_main_context_pop_thread_default(p->ctx);
	return NULL;
}

static bool is_ready(void *d)
{
	return g_atomic_int_get(&((struct peer *)d)->ready);
}

static void peer_setup(struct peer *p, const char *name, const char *ns, bool controlling)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	g_snprintf(p->ns, sizeof(p->ns), "%s-%s", ns_prefix, ns);
	p->controlling = controlling;
	p->send_cands = true;
	p->cfg.controlling = controlling;
	p->cfg.log_peer = name;
}

static void peer_stun(struct peer *p)
{
	g_snprintf(p->stun_url, sizeof(p->stun_url), "stun:%s", turn_addr);
	p->stun_urls[0] = p->stun_url;
	p->servers[p->cfg.n_ice_servers++] = (struct pp_ice_server){ p->stun_urls, 1, NULL, NULL };
	p->cfg.ice_servers = p->servers;
}

static void peer_turn(struct peer *p, const char *transport)
{
	g_assert_cmpint(pp_turn_rest_credential((const uint8_t *)turn_secret, strlen(turn_secret),
	                                        p->name, (int64_t)time(NULL) + 3600, p->turn_user,
	                                        p->turn_cred),
	                ==, 0);
	g_snprintf(p->turn_url, sizeof(p->turn_url), "turn:%s?transport=%s", turn_addr,
	           transport);
	p->turn_urls[0] = p->turn_url;
	p->servers[p->cfg.n_ice_servers++] =
		(struct pp_ice_server){ p->turn_urls, 1, p->turn_user, p->turn_cred };
	p->cfg.ice_servers = p->servers;
}

static void peer_start(struct peer *p)
{
	p->ctx = g_main_context_new();
	p->loop = g_main_loop_new(p->ctx, FALSE);
	p->thread = g_thread_new(p->name, peer_main, p);
	g_assert_true(wait_for(is_ready, p, 5000));
}

static void do_close(struct peer *p, void *arg)
{
	pp_ice_close(p->ice);
}

static bool is_closed(void *d)
{
	return g_atomic_int_get(&((struct peer *)d)->closed);
}

/* Closes the agent (TURN allocations released), then ends the thread. */
static void peer_stop(struct peer *p)
{
	run_on(p, do_close, NULL);
	g_assert_true(wait_for(is_closed, p, 10000));
	netns_thread_stop(p->thread, p->ctx, p->loop);
}

/* ---- steps run on a peer's thread ---- */

struct creds {
	char ufrag[300];
	char pwd[300];
};

static void do_get_creds(struct peer *p, void *arg)
{
	struct creds *c = arg;
	const char *u, *w;

	g_assert_cmpint(pp_ice_local_credentials(p->ice, &u, &w), ==, 0);
	g_strlcpy(c->ufrag, u, sizeof(c->ufrag));
	g_strlcpy(c->pwd, w, sizeof(c->pwd));
}

static void do_set_creds(struct peer *p, void *arg)
{
	struct creds *c = arg;

	g_assert_cmpint(pp_ice_set_remote_credentials(p->ice, c->ufrag, c->pwd), ==, 0);
}

static void do_gather(struct peer *p, void *arg)
{
	g_assert_cmpint(pp_ice_gather(p->ice), ==, 0);
}

static void do_send(struct peer *p, void *arg)
{
	int *rc = arg;

	*rc = pp_ice_send(p->ice, (const uint8_t *)"hello through the NAT", 21);
}

struct types {
	char local[16];
	char remote[16];
};

static void do_types(struct peer *p, void *arg)
{
	struct types *t = arg;
	const char *l = "-", *r = "-";

	pp_ice_selected_types(p->ice, &l, &r);
	g_strlcpy(t->local, l, sizeof(t->local));
	g_strlcpy(t->remote, r, sizeof(t->remote));
}

/* ---- conditions ---- */

static bool up(struct peer *p)
{
	gint s = g_atomic_int_get(&p->state);
	return s == PP_ICE_CONNECTED || s == PP_ICE_COMPLETED;
}

static bool both_up(void *d)
{
	struct peer *a = d;
	return up(a) && up(a->other);
}

static bool any_failed(void *d)
{
	struct peer *a = d;
	return g_atomic_int_get(&a->state) == PP_ICE_FAILED ||
	       g_atomic_int_get(&a->other->state) == PP_ICE_FAILED;
}

static bool both_rx(void *d)
{
	struct peer *a = d;
	return g_atomic_int_get(&a->n_rx) && g_atomic_int_get(&a->other->n_rx);
}

static bool both_down(void *d)
{
	struct peer *a = d;
	return !up(a) && !up(a->other);
}

static bool cond_or(void *d)
{
	return both_up(d) || any_failed(d);
}

/* ---- scenarios ---- */

static void iptables_inet(const char *op)
{
	/* direct traffic between the two NAT routers, both ways */
	static const char *const dirs[][2] = { { "198.18.1.2", "198.18.2.2" },
		                               { "198.18.2.2", "198.18.1.2" } };
	for (size_t i = 0; i < 2; i++) {
		gchar *cmd = g_strdup_printf("ip netns exec %s-inet iptables %s FORWARD -s %s -d %s "
		                             "-j DROP",
		                             ns_prefix, op, dirs[i][0], dirs[i][1]);
		int status = 0;
		g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL));
		g_assert_cmpint(status, ==, 0);
		g_free(cmd);
	}
}

static void do_restart(struct peer *p, void *arg)
{
	g_assert_cmpint(pp_ice_restart(p->ice), ==, 0);
	g_atomic_int_set(&p->state, PP_ICE_NEW);
	g_atomic_int_set(&p->n_rx, 0);
}

/* Credentials both ways, gathering (unless a restart did), checks, data. */
static void negotiate(struct peer *a, struct peer *b, bool gather, struct types *ta,
                      struct types *tb)
{
	struct creds ca, cb;
	gint64 t0 = g_get_monotonic_time();
	int rc = -1;

	run_on(a, do_get_creds, &ca);
	run_on(b, do_get_creds, &cb);
	run_on(b, do_set_creds, &ca);
	run_on(a, do_set_creds, &cb);
	if (gather) {
		run_on(a, do_gather, NULL);
		run_on(b, do_gather, NULL);
	}
	g_assert_true(wait_for(cond_or, a, WAIT_MS));
	g_assert_false(any_failed(a));
	g_test_message("connected in %.0f ms (A %d, B %d local candidates)",
	               (double)(g_get_monotonic_time() - t0) / 1000.0,
	               g_atomic_int_get(&a->n_cands), g_atomic_int_get(&b->n_cands));
	run_on(a, do_send, &rc);
	g_assert_cmpint(rc, ==, 0);
	run_on(b, do_send, &rc);
	g_assert_cmpint(rc, ==, 0);
	g_assert_true(wait_for(both_rx, a, 5000));
	run_on(a, do_types, ta);
	run_on(b, do_types, tb);
	g_test_message("selected pair: A %s->%s, B %s->%s", ta->local, ta->remote, tb->local,
	               tb->remote);
}

static void connect_peers(struct peer *a, struct peer *b, struct types *ta, struct types *tb)
{
	a->other = b;
	b->other = a;
	peer_start(a);
	peer_start(b);
	negotiate(a, b, true, ta, tb);
}

/* (a) both behind NAT, STUN only: hole punching with srflx candidates;
 * then the path is cut and both sides must notice. */
static void test_nat_srflx(void)
{
	struct peer a, b;
	struct types ta, tb;

	peer_setup(&a, "A", "a", true);
	peer_setup(&b, "B", "b", false);
	peer_stun(&a);
	peer_stun(&b);
	connect_peers(&a, &b, &ta, &tb);
	g_assert_cmpstr(ta.local, !=, "relay");
	g_assert_cmpstr(tb.local, !=, "relay");
	g_assert_true(!strcmp(ta.remote, "srflx") || !strcmp(ta.remote, "prflx"));
	g_assert_true(!strcmp(tb.remote, "srflx") || !strcmp(tb.remote, "prflx"));

	/* dead path: drop everything between the NATs */
	gint64 t0 = g_get_monotonic_time();
	iptables_inet("-I");
	g_assert_true(wait_for(both_down, &a, 30000));
	g_test_message("path cut: A %s after %.1f s, B %s after %.1f s",
	               pp_ice_state_name((enum pp_ice_state)g_atomic_int_get(&a.state)),
	               (double)(a.t_down - t0) / 1e6,
	               pp_ice_state_name((enum pp_ice_state)g_atomic_int_get(&b.state)),
	               (double)(b.t_down - t0) / 1e6);
	iptables_inet("-D");
	peer_stop(&a);
	peer_stop(&b);
}

/* (b) direct UDP between the NATs blocked: only TURN (UDP) gets through;
 * then an ICE restart over the same path. */
static void test_relay_udp(void)
{
	struct peer a, b;
	struct types ta, tb;

	iptables_inet("-I");
	peer_setup(&a, "A", "a", true);
	peer_setup(&b, "B", "b", false);
	peer_stun(&a);
	peer_stun(&b);
	peer_turn(&a, "udp");
	peer_turn(&b, "udp");
	connect_peers(&a, &b, &ta, &tb);
	g_assert_true(!strcmp(ta.local, "relay") || !strcmp(ta.remote, "relay"));
	g_assert_true(!strcmp(tb.local, "relay") || !strcmp(tb.remote, "relay"));
	/* an ICE restart allocates afresh and comes back through the relay */
	run_on(&a, do_restart, NULL);
	run_on(&b, do_restart, NULL);
	negotiate(&a, &b, false, &ta, &tb);
	g_assert_true(!strcmp(ta.local, "relay") || !strcmp(ta.remote, "relay"));
	peer_stop(&a);
	peer_stop(&b);
	iptables_inet("-D");
}

/* (c) relay only (iceTransportPolicy relay), A reaches TURN over TCP. */
static void test_relay_tcp(void)
{
	struct peer a, b;
	struct types ta, tb;

	iptables_inet("-I");
	peer_setup(&a, "A", "a", true);
	peer_setup(&b, "B", "b", false);
	peer_turn(&a, "tcp");
	peer_turn(&b, "udp");
	a.cfg.relay_only = b.cfg.relay_only = true;
	connect_peers(&a, &b, &ta, &tb);
	g_assert_cmpstr(ta.local, ==, "relay");
	g_assert_cmpstr(tb.local, ==, "relay");
	peer_stop(&a);
	peer_stop(&b);
	iptables_inet("-D");
}

/* (d) a browser-like peer on the same LAN hides its address behind a
 * .local name; A resolves it by real multicast mDNS. B never hears A's
 * candidates, so A can only reach B through the resolved name. */
static void test_mdns_lan(void)
{
	struct peer a, b;
	struct types ta, tb;

	peer_setup(&a, "A", "m1", true);
	peer_setup(&b, "B", "m2", false);
	b.mdns_name = "2c1f4a9e-6b0d-4e3a-9f57-0a8b7c6d5e4f.local";
	b.hide_ip = "10.77.0.2";
	a.send_cands = false;
	connect_peers(&a, &b, &ta, &tb);
	g_assert_cmpstr(ta.remote, ==, "host");
	peer_stop(&a);
	peer_stop(&b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ns_prefix = g_getenv("PP_ICE_NS");
	turn_addr = g_getenv("PP_ICE_TURN_ADDR");
	turn_secret = g_getenv("PP_ICE_TURN_SECRET");
	if (!ns_prefix || !turn_addr || !turn_secret) {
		printf("1..0 # SKIP run through tests/net/ice_netns.sh\n");
		return 0;
	}
	pp_log_setup("test_ice_netns", g_test_verbose() ? PP_LOG_DEBUG : PP_LOG_WARN,
	             PP_LOG_TEXT);
	g_test_add_func("/ice-netns/nat-srflx-and-dead-path", test_nat_srflx);
	g_test_add_func("/ice-netns/relay-udp", test_relay_udp);
	g_test_add_func("/ice-netns/relay-only-tcp", test_relay_tcp);
	g_test_add_func("/ice-netns/mdns-lan", test_mdns_lan);
	return g_test_run();
}
