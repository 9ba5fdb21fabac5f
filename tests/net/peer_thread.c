/* SPDX-License-Identifier: Apache-2.0 */
#include "peer_thread.h"

#include "netns_util.h"
#include "peerpipe/error.h"

#include <string.h>

#define BULK_MSG 65536
#define BULK_HIGH (2u << 20)

GMutex peer_mu;

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
	g_mutex_lock(&peer_mu);
	p->state = st;
	g_string_append_printf(p->states, "%s%s", p->states->len ? "," : "", pp_peer_state_name(st));
	if ((st == PP_PEER_DISCONNECTED || st == PP_PEER_FAILED) && !p->t_lost)
		p->t_lost = g_get_monotonic_time();
	g_mutex_unlock(&peer_mu);
	if (st == PP_PEER_DISCONNECTED && p->restart_on_lost) {
		int rc = pp_peer_restart_ice(p->pc);
		g_test_message("%s: restart: %s", p->name, rc ? pp_strerror(rc) : "offered");
	}
}

static void on_open(void *user, struct pp_sctp_channel *ch)
{
	g_mutex_lock(&peer_mu);
	((struct peer *)user)->channel = ch;
	g_mutex_unlock(&peer_mu);
}

static void on_message(void *user, struct pp_sctp_channel *ch, enum pp_sctp_kind kind,
                       const uint8_t *data, size_t len)
{
	struct peer *p = user;

	if (p->hash)
		EVP_DigestUpdate(p->hash, data, len);
	g_mutex_lock(&peer_mu);
	p->received += len;
	g_mutex_unlock(&peer_mu);
}

static const struct pp_peer_callbacks cbs = {
	.on_local_description = on_desc,
	.on_local_candidate = on_cand,
	.on_state = on_state,
	.on_channel_open = on_open,
	.on_message = on_message,
};

/* --- the thread -------------------------------------------------------------- */

static gpointer peer_main(gpointer data)
{
	struct peer *p = data;

	netns_enter_thread(p->ns, p->ctx);
	if (p->pp_loop)
		p->pl = pp_loop_new(p->ctx); /* before the peer: it finds the loop */
	p->pc = pp_peer_new(p->ctx, &p->cfg, &cbs, p);
	g_assert_nonnull(p->pc);
	g_mutex_lock(&peer_mu);
	p->ready = true;
	g_mutex_unlock(&peer_mu);
	if (p->pl)
		pp_loop_run(p->pl);
	else
		g_main_loop_run(p->loop);
	if (p->bulk_src)
		g_source_destroy(p->bulk_src);
	if (p->trickle_src)
		g_source_destroy(p->trickle_src);
	pp_peer_free(p->pc);
	p->pc = NULL;
	while (g_main_context_iteration(p->ctx, FALSE))
		;
	if (p->pl) {
		pp_loop_stats(p->pl, &p->loop_stats);
		pp_loop_free(p->pl);
	}
	g_main_context_pop_thread_default(p->ctx);
	return NULL;
}

static bool is_ready(void *d)
{
	struct peer *p = d;
	bool r;

	g_mutex_lock(&peer_mu);
	r = p->ready;
	g_mutex_unlock(&peer_mu);
	return r;
}

void peer_init(struct peer *p, const char *name, const char *prefix, const char *ns,
               struct peer *other)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->other = other;
	g_snprintf(p->ns, sizeof(p->ns), "%s-%s", prefix, ns);
	g_assert_cmpint(pp_identity_new_ephemeral(&p->id), ==, 0);
	p->states = g_string_new(NULL);
	p->cfg = (struct pp_peer_config){
		.identity = p->id,
		.n_pins = 1,
		.log_peer = name,
	};
}

void peer_start(struct peer *p)
{
	p->cfg.pins = pp_identity_fingerprint(p->other->id);
	p->ctx = g_main_context_new();
	p->loop = g_main_loop_new(p->ctx, FALSE);
	p->thread = g_thread_new(p->name, peer_main, p);
	g_assert_true(wait_for(is_ready, p, 5000));
}

static gboolean quit_pp_loop(gpointer pl)
{
	pp_loop_quit(pl);
	return G_SOURCE_REMOVE;
}

void peer_stop(struct peer *p)
{
	if (p->pp_loop)
		g_main_context_invoke(p->ctx, quit_pp_loop, p->pl);
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

static void do_hash_init(struct peer *p, void *arg)
{
	p->hash = EVP_MD_CTX_new();
	EVP_DigestInit_ex(p->hash, EVP_sha256(), NULL);
}

static void do_hash_final(struct peer *p, void *arg)
{
	EVP_DigestFinal_ex(p->hash, arg, NULL);
}

static void do_path_packet(struct peer *p, void *arg)
{
	*(size_t *)arg = pp_peer_path_packet(p->pc);
}

/* The sender's pump: every 2 ms, fill the channel up to the high mark.
 * Each send must succeed whatever the path does. */
static gboolean bulk_tick(gpointer data)
{
	struct peer *p = data;
	guint64 sent;

	g_mutex_lock(&peer_mu);
	sent = p->sent;
	g_mutex_unlock(&peer_mu);
	while (sent < PEER_BULK_TOTAL && pp_sctp_channel_buffered_amount(p->channel) < BULK_HIGH) {
		const guint8 *b = p->bulk_buf + (sent / BULK_MSG % 16) * 4096;
		int rc = pp_sctp_channel_send(p->channel, false, b, BULK_MSG);
		if (rc < 0)
			g_error("%s: send failed while %s: %s", p->name, pp_peer_state_name(p->state),
			        pp_strerror(rc));
		EVP_DigestUpdate(p->hash, b, BULK_MSG);
		sent += BULK_MSG;
	}
	g_mutex_lock(&peer_mu);
	p->sent = sent;
	g_mutex_unlock(&peer_mu);
	if (sent < PEER_BULK_TOTAL)
		return G_SOURCE_CONTINUE;
	p->bulk_src = NULL;
	return G_SOURCE_REMOVE;
}

static gboolean trickle_tick(gpointer data)
{
	struct peer *p = data;
	static const guint8 msg[1000];

	if (g_get_monotonic_time() >= p->trickle_end) {
		p->trickle_src = NULL;
		return G_SOURCE_REMOVE;
	}
	int rc = pp_sctp_channel_send(p->channel, false, msg, sizeof(msg));
	if (rc < 0)
		g_error("%s: trickle send failed while %s: %s", p->name, pp_peer_state_name(p->state),
		        pp_strerror(rc));
	g_mutex_lock(&peer_mu);
	p->sent += sizeof(msg);
	g_mutex_unlock(&peer_mu);
	return G_SOURCE_CONTINUE;
}

static void do_trickle(struct peer *p, void *arg)
{
	p->trickle_end = g_get_monotonic_time() + *(unsigned *)arg * G_USEC_PER_SEC;
	p->trickle_src = g_timeout_source_new(2);
	g_source_set_callback(p->trickle_src, trickle_tick, p, NULL);
	g_source_attach(p->trickle_src, p->ctx);
	g_source_unref(p->trickle_src);
}

void peer_trickle_start(struct peer *p, unsigned seconds)
{
	run_on(p, do_trickle, &seconds);
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

/* --- the main thread ---------------------------------------------------------- */

enum pp_peer_state peer_state(struct peer *p)
{
	enum pp_peer_state s;

	g_mutex_lock(&peer_mu);
	s = p->state;
	g_mutex_unlock(&peer_mu);
	return s;
}

static guint64 peer_counter(const guint64 *v)
{
	guint64 r;

	g_mutex_lock(&peer_mu);
	r = *v;
	g_mutex_unlock(&peer_mu);
	return r;
}

guint64 peer_received(struct peer *p)
{
	return peer_counter(&p->received);
}

guint64 peer_sent(struct peer *p)
{
	return peer_counter(&p->sent);
}

bool peers_connected(void *a)
{
	struct peer *p = a;
	return peer_state(p) == PP_PEER_CONNECTED && peer_state(p->other) == PP_PEER_CONNECTED;
}

static bool has_channel(void *d)
{
	struct peer *p = d;
	bool r;

	g_mutex_lock(&peer_mu); /* set on p's thread before any message can come */
	r = p->channel != NULL;
	g_mutex_unlock(&peer_mu);
	return r;
}

static bool got_all(void *d)
{
	return peer_received(d) >= PEER_BULK_TOTAL;
}

void peer_connect(struct peer *a, struct peer *b, unsigned channel_ms)
{
	peer_start(a);
	peer_start(b);
	gint64 t0 = g_get_monotonic_time();
	run_on(a, do_offer, NULL);
	g_assert_true(wait_for(peers_connected, a, PEER_WAIT_MS));
	g_test_message("connected in %.0f ms", (g_get_monotonic_time() - t0) / 1000.0);
	run_on(a, do_open, NULL);
	g_assert_true(wait_for(has_channel, b, channel_ms));
}

void peer_hash_init(struct peer *p)
{
	run_on(p, do_hash_init, NULL);
}

void peer_bulk_start(struct peer *p)
{
	run_on(p, do_bulk, NULL);
}

void peer_bulk_check(struct peer *from, struct peer *to, unsigned ms)
{
	guint8 d1[32], d2[32];

	g_assert_true(wait_for(got_all, to, ms));
	g_assert_cmpuint(peer_received(to), ==, PEER_BULK_TOTAL);
	run_on(from, do_hash_final, d1);
	run_on(to, do_hash_final, d2);
	g_assert_cmpmem(d1, 32, d2, 32);
}

size_t peer_path_packet(struct peer *p)
{
	size_t n = 0;

	run_on(p, do_path_packet, &n);
	return n;
}
