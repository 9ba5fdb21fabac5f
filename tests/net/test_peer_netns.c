/* SPDX-License-Identifier: Apache-2.0 */
/* Dead-peer detection and ICE restart of whole peer connections (pp_peer:
 * ICE, DTLS, SCTP, a channel) through real NAT, when the path breaks:
 * run by ice_netns.sh, which builds the namespaces (two peers behind
 * NAT routers, STUN on coturn). Each peer runs on its own thread that
 * entered its namespace, with its own GMainContext; descriptions and
 * candidates go between the threads as signaling would carry them (the
 * signaling path is not cut: only the peers' UDP path is). Times are
 * logged, never asserted. */
#include "netns_util.h"
#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/identity.h"
#include "peerpipe/rtc/peer.h"

#include <gio/gio.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define WAIT_MS 30000
#define BULK_TOTAL (20u << 20)
#define BULK_MSG 65536
#define BULK_HIGH (2u << 20)

static const char *ns_prefix;
static const char *stun_addr;
static GMutex mu; /* the fields marked (mu) */

struct peer {
	const char *name;
	char ns[96];
	struct peer *other;
	struct pp_identity *id;
	struct pp_peer_config cfg;
	struct pp_ice_server server;
	const char *urls[1];
	char url[64];
	bool restart_on_lost;

	GThread *thread;
	GMainContext *ctx;
	GMainLoop *loop;
	struct pp_peer *pc;
	struct pp_sctp_channel *channel;
	GSource *bulk_src;
	guint8 *bulk_buf;
	EVP_MD_CTX *hash;      /* sender: what was sent; receiver: what came */

	/* (mu) */
	enum pp_peer_state state;
	GString *states;
	gint64 t_lost;         /* first DISCONNECTED or FAILED */
	guint64 sent;
	guint64 received;
	bool ready;
	bool done;             /* the thread ended */
};

/* --- signaling between the threads ----------------------------------------- */

struct msg {
	struct peer *to;
	char *type; /* NULL: a candidate */
	char *text; /* NULL: end of candidates */
};

static gboolean msg_deliver(gpointer data)
{
	struct msg *m = data;
	int rc;

	if (m->to->pc && m->type) {
		rc = pp_peer_set_remote_description(m->to->pc, m->type, m->text, strlen(m->text));
		if (rc < 0)
			g_error("%s refused the %s: %s", m->to->name, m->type, pp_strerror(rc));
	} else if (m->to->pc) {
		pp_peer_add_remote_candidate(m->to->pc, m->text);
	}
	g_free(m->type);
	g_free(m->text);
	g_free(m);
	return G_SOURCE_REMOVE;
}

static void send_msg(struct peer *p, const char *type, const char *text)
{
	struct msg *m = g_new0(struct msg, 1);

	m->to = p->other;
	m->type = g_strdup(type);
	m->text = g_strdup(text);
	g_main_context_invoke(p->other->ctx, msg_deliver, m);
}

/* --- peer callbacks (on the peer's thread) ---------------------------------- */

static void on_desc(void *user, const char *type, const char *sdp)
{
	send_msg(user, type, sdp);
}

static void on_cand(void *user, const char *line, const char *mid, unsigned index)
{
	send_msg(user, NULL, line);
}

static void on_state(void *user, enum pp_peer_state st, const char *reason)
{
	struct peer *p = user;

	g_test_message("%s: %s %s", p->name, pp_peer_state_name(st), reason ? reason : "");
	g_mutex_lock(&mu);
	p->state = st;
	g_string_append_printf(p->states, "%s%s", p->states->len ? "," : "", pp_peer_state_name(st));
	if ((st == PP_PEER_DISCONNECTED || st == PP_PEER_FAILED) && !p->t_lost)
		p->t_lost = g_get_monotonic_time();
	g_mutex_unlock(&mu);
	if (st == PP_PEER_DISCONNECTED && p->restart_on_lost) {
		int rc = pp_peer_restart_ice(p->pc);
		g_test_message("%s: restart: %s", p->name, rc ? pp_strerror(rc) : "offered");
	}
}

static void on_open(void *user, struct pp_sctp_channel *ch)
{
	g_mutex_lock(&mu);
	((struct peer *)user)->channel = ch;
	g_mutex_unlock(&mu);
}

static void on_message(void *user, struct pp_sctp_channel *ch, enum pp_sctp_kind kind,
                       const uint8_t *data, size_t len)
{
	struct peer *p = user;

	if (p->hash)
		EVP_DigestUpdate(p->hash, data, len);
	g_mutex_lock(&mu);
	p->received += len;
	g_mutex_unlock(&mu);
}

static const struct pp_peer_callbacks cbs = {
	.on_local_description = on_desc,
	.on_local_candidate = on_cand,
	.on_state = on_state,
	.on_channel_open = on_open,
	.on_message = on_message,
};

/* --- threads -------------------------------------------------------------- */

static gpointer peer_main(gpointer data)
{
	struct peer *p = data;

	netns_enter_thread(p->ns, p->ctx);
	p->pc = pp_peer_new(p->ctx, &p->cfg, &cbs, p);
	g_assert_nonnull(p->pc);
	g_mutex_lock(&mu);
	p->ready = true;
	g_mutex_unlock(&mu);
	g_main_loop_run(p->loop);
	if (p->bulk_src)
		g_source_destroy(p->bulk_src);
	pp_peer_free(p->pc);
	p->pc = NULL;
	while (g_main_context_iteration(p->ctx, FALSE))
		;
	g_main_context_pop_thread_default(p->ctx);
	return NULL;
}

static bool is_ready(void *d)
{
	struct peer *p = d;
	bool r;

	g_mutex_lock(&mu);
	r = p->ready;
	g_mutex_unlock(&mu);
	return r;
}

static void peer_setup(struct peer *p, const char *name, const char *ns, struct peer *other)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->other = other;
	g_snprintf(p->ns, sizeof(p->ns), "%s-%s", ns_prefix, ns);
	g_assert_cmpint(pp_identity_new_ephemeral(&p->id), ==, 0);
	p->states = g_string_new(NULL);
	g_snprintf(p->url, sizeof(p->url), "stun:%s", stun_addr);
	p->urls[0] = p->url;
	p->server = (struct pp_ice_server){ p->urls, 1, NULL, NULL };
	p->cfg = (struct pp_peer_config){
		.identity = p->id,
		.n_pins = 1,
		.ice_servers = &p->server,
		.n_ice_servers = 1,
		.log_peer = name,
	};
}

static void peer_start(struct peer *p)
{
	p->cfg.pins = pp_identity_fingerprint(p->other->id);
	p->ctx = g_main_context_new();
	p->loop = g_main_loop_new(p->ctx, FALSE);
	p->thread = g_thread_new(p->name, peer_main, p);
	g_assert_true(wait_for(is_ready, p, 5000));
}

static void peer_stop(struct peer *p)
{
	netns_thread_stop(p->thread, p->ctx, p->loop);
	pp_identity_free(p->id);
	g_string_free(p->states, TRUE);
	if (p->hash)
		EVP_MD_CTX_free(p->hash);
	g_free(p->bulk_buf);
}

/* --- steps on a peer's thread ------------------------------------------------ */

static void do_offer(struct peer *p, void *arg)
{
	g_assert_cmpint(pp_peer_create_offer(p->pc), ==, 0);
}

static void do_open(struct peer *p, void *arg)
{
	g_assert_cmpint(pp_peer_channel_open(p->pc, "bulk", "peerpipe.tcp.v1", NULL, &p->channel), ==,
	                0);
}

static void do_restart(struct peer *p, void *arg)
{
	g_assert_cmpint(pp_peer_restart_ice(p->pc), ==, 0);
}

static void do_hash_init(struct peer *p, void *arg)
{
	p->hash = EVP_MD_CTX_new();
	EVP_DigestInit_ex(p->hash, EVP_sha256(), NULL);
}

static void do_hash_final(struct peer *p, void *arg)
{
	EVP_DigestFinal_ex(p->hash, arg, NULL);
}

/* The sender's pump: every 2 ms, fill the channel up to the high mark.
 * Each send must succeed whatever the path does. */
static gboolean bulk_tick(gpointer data)
{
	struct peer *p = data;
	guint64 sent;

	g_mutex_lock(&mu);
	sent = p->sent;
	g_mutex_unlock(&mu);
	while (sent < BULK_TOTAL && pp_sctp_channel_buffered_amount(p->channel) < BULK_HIGH) {
		const guint8 *b = p->bulk_buf + (sent / BULK_MSG % 16) * 4096;
		int rc = pp_sctp_channel_send(p->channel, false, b, BULK_MSG);
		if (rc < 0)
			g_error("%s: send failed while %s: %s", p->name, pp_peer_state_name(p->state),
			        pp_strerror(rc));
		EVP_DigestUpdate(p->hash, b, BULK_MSG);
		sent += BULK_MSG;
	}
	g_mutex_lock(&mu);
	p->sent = sent;
	g_mutex_unlock(&mu);
	if (sent < BULK_TOTAL)
		return G_SOURCE_CONTINUE;
	p->bulk_src = NULL;
	return G_SOURCE_REMOVE;
}

static void do_bulk(struct peer *p, void *arg)
{
	p->bulk_buf = g_malloc(BULK_MSG + 16 * 4096);
	for (gsize i = 0; i < BULK_MSG + 16 * 4096; i++)
		p->bulk_buf[i] = (guint8)(i * 131 + (i >> 9));
	do_hash_init(p, NULL);
	p->bulk_src = g_timeout_source_new(2);
	g_source_set_callback(p->bulk_src, bulk_tick, p, NULL);
	g_source_attach(p->bulk_src, p->ctx);
	g_source_unref(p->bulk_src);
}

/* --- conditions (main thread) ---------------------------------------------- */

static enum pp_peer_state state_of(struct peer *p)
{
	enum pp_peer_state s;

	g_mutex_lock(&mu);
	s = p->state;
	g_mutex_unlock(&mu);
	return s;
}

static bool both_connected(void *d)
{
	struct peer *a = d;
	return state_of(a) == PP_PEER_CONNECTED && state_of(a->other) == PP_PEER_CONNECTED;
}

static bool has_channel(void *d)
{
	struct peer *p = d;
	bool r;

	g_mutex_lock(&mu); /* set on p's thread before any message can come */
	r = p->channel != NULL;
	g_mutex_unlock(&mu);
	return r;
}

static bool both_lost(void *d)
{
	struct peer *a = d;
	bool r;

	g_mutex_lock(&mu);
	r = a->t_lost && a->other->t_lost;
	g_mutex_unlock(&mu);
	return r;
}

static bool a_lost(void *d)
{
	struct peer *a = d;
	bool r;

	g_mutex_lock(&mu);
	r = a->t_lost != 0;
	g_mutex_unlock(&mu);
	return r;
}

static bool both_failed(void *d)
{
	struct peer *a = d;
	return state_of(a) == PP_PEER_FAILED && state_of(a->other) == PP_PEER_FAILED;
}

static guint64 received(struct peer *p)
{
	guint64 r;

	g_mutex_lock(&mu);
	r = p->received;
	g_mutex_unlock(&mu);
	return r;
}

static bool got_quarter(void *d)
{
	return received(d) >= BULK_TOTAL / 4;
}

static bool got_all(void *d)
{
	return received(d) >= BULK_TOTAL;
}

/* --- scenarios --------------------------------------------------------------- */

/* a (behind nat1) offers to b (behind nat2), STUN srflx; a opens "bulk". */
static void connect_pair(struct peer *a, struct peer *b, bool restart_ok)
{
	peer_setup(a, "A", "a", b);
	peer_setup(b, "B", "b", a);
	a->cfg.ice_restart_ok = b->cfg.ice_restart_ok = restart_ok;
	peer_start(a);
	peer_start(b);
	gint64 t0 = g_get_monotonic_time();
	run_on(a, do_offer, NULL);
	g_assert_true(wait_for(both_connected, a, WAIT_MS));
	g_test_message("connected in %.0f ms", (g_get_monotonic_time() - t0) / 1000.0);
	run_on(a, do_open, NULL);
	g_assert_true(wait_for(has_channel, b, 5000));
}

static void lost_times(struct peer *a, struct peer *b, gint64 t0, const char *what)
{
	g_mutex_lock(&mu);
	if (b->t_lost)
		g_test_message("%s: A %s after %.1f s, B %s after %.1f s", what, a->states->str,
		               (a->t_lost - t0) / 1e6, b->states->str, (b->t_lost - t0) / 1e6);
	else /* the restart reached B before its own consent expired */
		g_test_message("%s: A %s after %.1f s, B %s (path never lost)", what,
		               a->states->str, (a->t_lost - t0) / 1e6, b->states->str);
	g_mutex_unlock(&mu);
}

static void bulk_check(struct peer *from, struct peer *to)
{
	guint8 d1[32], d2[32];

	g_assert_true(wait_for(got_all, to, 120000));
	g_assert_cmpuint(received(to), ==, BULK_TOTAL);
	run_on(from, do_hash_final, d1);
	run_on(to, do_hash_final, d2);
	g_assert_cmpmem(d1, 32, d2, 32);
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

	connect_pair(&a, &b, false);
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

	connect_pair(&a, &b, true);
	run_on(&b, do_hash_init, NULL);
	run_on(&a, do_bulk, NULL);
	g_assert_true(wait_for(got_quarter, &b, 60000));
	gint64 t0 = g_get_monotonic_time();
	sh("ip -n %s-b link set eth0 down", ns_prefix);
	g_assert_true(wait_for(both_lost, &a, 40000));
	lost_times(&a, &b, t0, "link down");
	g_assert_cmpint(state_of(&a), ==, PP_PEER_DISCONNECTED);
	g_assert_cmpint(state_of(&b), ==, PP_PEER_DISCONNECTED);
	sh("ip -n %s-b link set eth0 up && ip -n %s-b route replace default via 10.2.0.1", ns_prefix,
	   ns_prefix);
	gint64 t1 = g_get_monotonic_time();
	run_on(&a, do_restart, NULL);
	g_assert_true(wait_for(both_connected, &a, WAIT_MS));
	g_test_message("restart: connected %.0f ms after the link came back",
	               (g_get_monotonic_time() - t1) / 1000.0);
	bulk_check(&a, &b);
	g_test_message("transfer complete %.1f s after the link came back",
	               (g_get_monotonic_time() - t1) / 1e6);
	peer_stop(&a);
	peer_stop(&b);
}

/* ice_restart_ok: A's address changes under a transfer (as a laptop that
 * moves from Wi-Fi to LTE): its sockets are bound to an address that is
 * gone, consent expires, A restarts ICE from on_state(DISCONNECTED) and
 * gathers on the new address; the transfer completes intact. */
static void test_address_change_restart(void)
{
	struct peer a, b;

	connect_pair(&a, &b, true);
	a.restart_on_lost = true;
	run_on(&b, do_hash_init, NULL);
	run_on(&a, do_bulk, NULL);
	g_assert_true(wait_for(got_quarter, &b, 60000));
	gint64 t0 = g_get_monotonic_time();
	sh("ip -n %s-a addr del 10.1.0.2/24 dev eth0 && ip -n %s-a addr add 10.1.0.3/24 dev eth0 && "
	   "ip -n %s-a route replace default via 10.1.0.1",
	   ns_prefix, ns_prefix, ns_prefix);
	/* A restarts as soon as it sees the loss: B may get the restart
	 * before its own consent expires */
	g_assert_true(wait_for(a_lost, &a, 40000));
	lost_times(&a, &b, t0, "address changed");
	g_assert_true(wait_for(both_connected, &a, WAIT_MS));
	g_test_message("restarted: connected %.1f s after the change", (g_get_monotonic_time() - t0) / 1e6);
	bulk_check(&a, &b);
	g_test_message("transfer complete %.1f s after the change", (g_get_monotonic_time() - t0) / 1e6);
	g_mutex_lock(&mu);
	g_assert_nonnull(strstr(a.states->str, "connected,disconnected,restarting,connected"));
	g_mutex_unlock(&mu);
	peer_stop(&a);
	peer_stop(&b);
	sh("ip -n %s-a addr del 10.1.0.3/24 dev eth0 && ip -n %s-a addr add 10.1.0.2/24 dev eth0 && "
	   "ip -n %s-a route replace default via 10.1.0.1",
	   ns_prefix, ns_prefix, ns_prefix);
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
	stun_addr = turn;
	pp_log_setup("test_peer_netns", g_test_verbose() ? PP_LOG_DEBUG : PP_LOG_WARN, PP_LOG_TEXT);
	g_test_add_func("/peer-netns/path-cut-failed", test_path_cut_failed);
	g_test_add_func("/peer-netns/link-down-restart", test_link_down_restart);
	g_test_add_func("/peer-netns/address-change-restart", test_address_change_restart);
	return g_test_run();
}
