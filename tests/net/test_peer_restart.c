/* SPDX-License-Identifier: Apache-2.0 */
/* ICE restart and dead-peer detection at the pp_peer level: two peer
 * connections in one process over 127.0.0.1, signaling through a queue
 * delivered from the loop (in order, like the signaling server). The
 * answerer may run on its own GMainContext: not iterating it freezes that
 * peer as SIGSTOP would (no answers, no ICMP). No timing assertions: the
 * times measured are logged. */
#include "peer_side.h"
#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/identity.h"
#include "peerpipe/rtc/peer.h"
#include "peerpipe/rtc/sdp.h"

#include <glib.h>
#include <openssl/evp.h>
#include <string.h>

static GMainContext *ctx;   /* the offerer's, and the answerer's by default */
static GMainContext *ctx_b; /* the answerer's own, when it may be frozen */
static bool frozen;         /* ctx_b is not iterated */
/* restart_glare of sides a and b in the next pair_up */
static enum pp_peer_glare glare_a, glare_b;

/* --- signaling: a queue, delivered in order from the loop ----------------- */

struct sig {
	Side *to;
	char *type; /* "offer", "answer", or NULL for a candidate */
	char *text; /* NULL: end of candidates */
};

static GQueue sigq = G_QUEUE_INIT;

static void sig_push(Side *to, const char *type, const char *text)
{
	struct sig *m = g_new0(struct sig, 1);

	m->to = to;
	m->type = g_strdup(type);
	m->text = g_strdup(text);
	g_queue_push_tail(&sigq, m);
}

static void deliver_desc(Side *to, const char *type, const char *text)
{
	int rc = pp_peer_set_remote_description(to->pc, type, text, strlen(text));

	if (rc < 0) {
		g_test_message("%s refused a remote %s: %s", to->name, type, pp_strerror(rc));
		g_assert_true(to->may_refuse);
		to->refused++;
	}
}

/* Delivers what is queued, except to a frozen side (it waits, like the
 * messages a stopped process has not read). */
static bool sig_flush(void)
{
	bool any = false;

	for (GList *l = sigq.head; l;) {
		struct sig *m = l->data;
		GList *next = l->next;
		if (frozen && m->to->ctx == ctx_b)
			break; /* keep the order */
		g_queue_delete_link(&sigq, l);
		if (m->type)
			deliver_desc(m->to, m->type, m->text);
		else
			pp_peer_add_remote_candidate(m->to->pc, m->text);
		g_free(m->type);
		g_free(m->text);
		g_free(m);
		any = true;
		l = next;
	}
	return any;
}

/* Side.signal: descriptions (unless held) and candidates into the queue */
static void sig_send(Side *from, const char *type, const char *text)
{
	if (!type || !from->hold_desc)
		sig_push(from->other, type, text);
}

/* --- the loop ------------------------------------------------------------------ */

static void pump(void)
{
	bool any = sig_flush();

	any |= g_main_context_iteration(ctx, FALSE);
	if (ctx_b && !frozen)
		any |= g_main_context_iteration(ctx_b, FALSE);
	if (!any)
		g_usleep(500);
}

typedef gboolean (*cond_fn)(Side *a, Side *b);

static gboolean run_until(cond_fn done, Side *a, Side *b, int ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

	while (!done(a, b) && g_get_monotonic_time() < end)
		pump();
	return done(a, b);
}

static void run_for(int ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

	while (g_get_monotonic_time() < end)
		pump();
}

static gboolean both_connected(Side *a, Side *b)
{
	return a->state == PP_PEER_CONNECTED && b->state == PP_PEER_CONNECTED && !sigq.length;
}

static gboolean b_has_channel(Side *a, Side *b)
{
	(void)a;
	return b->channel != NULL;
}

/* Sides a (offerer) and b; b on its own context when own_ctx. Both get
 * extra applied to their config (NULL: defaults). Connected, with a
 * channel a opened ("bulk") open on both sides. */
static void pair_up(Side *a, Side *b, bool own_ctx, const struct pp_peer_config *extra)
{
	ctx_b = own_ctx ? g_main_context_new() : NULL;
	frozen = false;
	side_init(a, "A", b, ctx, sig_send);
	side_init(b, "B", a, own_ctx ? ctx_b : ctx, sig_send);
	a->bulk_label = b->bulk_label = "bulk";
	a->cfg.restart_glare = glare_a;
	b->cfg.restart_glare = glare_b;
	if (extra) {
		a->cfg.ice_restart_ok = b->cfg.ice_restart_ok = extra->ice_restart_ok;
		a->cfg.ice_restart_timeout_ms = b->cfg.ice_restart_timeout_ms = extra->ice_restart_timeout_ms;
	}
	side_peer(a, NULL);
	side_peer(b, NULL);
	g_assert_cmpint(pp_peer_restart_ice(a->pc), ==, PP_ERR_STATE); /* nothing to restart yet */
	g_assert_cmpint(pp_peer_create_offer(a->pc), ==, 0);
	g_assert_true(run_until(both_connected, a, b, 10000));
	struct pp_sctp_channel *ch = NULL;
	g_assert_cmpint(pp_peer_channel_open(a->pc, "bulk", "peerpipe.tcp.v1", NULL, &ch), ==, 0);
	a->channel = ch;
	g_assert_true(run_until(b_has_channel, a, b, 5000));
}

static void pair_free(Side *a, Side *b)
{
	/* what is still queued refers to the peers */
	while (sigq.length) {
		struct sig *m = g_queue_pop_head(&sigq);
		g_free(m->type);
		g_free(m->text);
		g_free(m);
	}
	side_free(a);
	side_free(b);
	if (ctx_b) {
		while (g_main_context_iteration(ctx_b, FALSE))
			;
		g_main_context_unref(ctx_b);
		ctx_b = NULL;
	}
	frozen = false;
}

/* --- descriptions ------------------------------------------------------------- */

static struct pp_sdp *parse(const char *text)
{
	struct pp_sdp *sdp = NULL;

	g_assert_cmpint(pp_sdp_parse(text, strlen(text), &sdp, NULL), ==, 0);
	return sdp;
}

static const char *desc(Side *s, int i)
{
	if (i < 0)
		i += (int)s->descs->len;
	g_assert_cmpint(i, >=, 0);
	g_assert_cmpint(i, <, (int)s->descs->len);
	return g_ptr_array_index(s->descs, i);
}

/* The last description of s renegotiates its first one: same o= session
 * (newer version), fingerprint, sctp-port and a=setup as want_setup, and
 * new ICE credentials. */
static void assert_restarted_desc(Side *s, enum pp_sdp_setup want_setup)
{
	struct pp_sdp *first = parse(desc(s, 0)), *last = parse(desc(s, -1));

	g_assert_cmpuint(s->descs->len, >=, 2);
	g_assert_cmpstr(first->origin_id, ==, last->origin_id);
	g_assert_cmpuint(last->origin_version, >, first->origin_version);
	g_assert_cmpstr(pp_sdp_setup_name(last->setup), ==, pp_sdp_setup_name(want_setup));
	g_assert_cmpint(pp_sdp_compare(first, last), ==, PP_SDP_ICE_RESTART);
	g_assert_cmpstr(first->ufrag, !=, last->ufrag);
	g_assert_true(pp_fingerprint_equal(pp_sdp_fingerprint(last), pp_identity_fingerprint(s->id)));
	g_assert_cmpuint(last->sctp_port, ==, PP_SDP_SCTP_PORT);
	pp_sdp_free(first);
	pp_sdp_free(last);
}

/* A copy of text with `from` replaced by `to` (must occur). */
static char *edit(const char *text, const char *from, const char *to)
{
	GString *s = g_string_new(text);

	g_assert_nonnull(strstr(text, from));
	g_string_replace(s, from, to, 1);
	return g_string_free(s, FALSE);
}

/* The value of "a=<attr>:" in text, up to the line end (g_free). */
static char *attr(const char *text, const char *name)
{
	gchar *key = g_strdup_printf("a=%s:", name);
	const char *p = strstr(text, key);

	g_assert_nonnull(p);
	p += strlen(key);
	g_free(key);
	return g_strndup(p, strcspn(p, "\r\n"));
}

/* --- bulk transfer over the "bulk" channel ------------------------------------ */

#define BULK_TOTAL (20u << 20)
#define BULK_MSG 65536
#define BULK_HIGH (2u << 20)

struct bulk {
	Side *from, *to;
	guint64 sent;
	guint8 *buf;
	EVP_MD_CTX *tx_hash;
};

static void bulk_start(struct bulk *k, Side *from, Side *to)
{
	memset(k, 0, sizeof(*k));
	k->from = from;
	k->to = to;
	k->buf = g_malloc(BULK_MSG + 16 * 4096);
	for (gsize i = 0; i < BULK_MSG + 16 * 4096; i++)
		k->buf[i] = (guint8)(i * 131 + (i >> 9));
	k->tx_hash = EVP_MD_CTX_new();
	EVP_DigestInit_ex(k->tx_hash, EVP_sha256(), NULL);
	to->rx_hash = EVP_MD_CTX_new();
	EVP_DigestInit_ex(to->rx_hash, EVP_sha256(), NULL);
	to->rx_bytes = 0;
}

/* Sends while the channel's queue is under the high mark. Every send must
 * succeed, whatever the state of the path. */
static void bulk_pump(struct bulk *k)
{
	struct pp_sctp_channel *ch = k->from->channel;

	while (k->sent < BULK_TOTAL && pp_sctp_channel_buffered_amount(ch) < BULK_HIGH) {
		const guint8 *p = k->buf + (k->sent / BULK_MSG % 16) * 4096;
		g_assert_cmpint(pp_sctp_channel_send(ch, false, p, BULK_MSG), ==, 0);
		EVP_DigestUpdate(k->tx_hash, p, BULK_MSG);
		k->sent += BULK_MSG;
	}
}

/* Runs the transfer until `until` bytes have arrived (BULK_TOTAL: all). */
static void bulk_run(struct bulk *k, guint64 until, int ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

	while (k->to->rx_bytes < until && g_get_monotonic_time() < end) {
		bulk_pump(k);
		pump();
	}
	g_assert_cmpuint(k->to->rx_bytes, >=, until);
}

static void bulk_finish(struct bulk *k)
{
	guint8 d1[32], d2[32];

	g_assert_cmpuint(k->to->rx_bytes, ==, BULK_TOTAL);
	EVP_DigestFinal_ex(k->tx_hash, d1, NULL);
	EVP_DigestFinal_ex(k->to->rx_hash, d2, NULL);
	g_assert_cmpmem(d1, 32, d2, 32);
	EVP_MD_CTX_free(k->tx_hash);
	EVP_MD_CTX_free(k->to->rx_hash);
	k->to->rx_hash = NULL;
	g_free(k->buf);
}

/* One small message each way on the bulk channel arrives. */
static gboolean both_got_message(Side *a, Side *b)
{
	return a->messages->len > 0 && b->messages->len > 0;
}

static void assert_data_flows(Side *a, Side *b)
{
	g_ptr_array_set_size(a->messages, 0);
	g_ptr_array_set_size(b->messages, 0);
	g_assert_cmpint(pp_sctp_channel_send(a->channel, true, "ping", 4), ==, 0);
	g_assert_cmpint(pp_sctp_channel_send(b->channel, true, "pong", 4), ==, 0);
	g_assert_true(run_until(both_got_message, a, b, 15000));
}

/* --- tests -------------------------------------------------------------------- */

/* A restart asked by `who` while 20 MB cross the channel from `from`. */
static void restart_during_bulk(bool by_offerer, bool a_sends)
{
	Side a, b;
	struct bulk k;

	pair_up(&a, &b, false, NULL);
	if (!a_sends) { /* b sends on its side of the channel */
		bulk_start(&k, &b, &a);
	} else {
		bulk_start(&k, &a, &b);
	}
	bulk_run(&k, BULK_TOTAL / 4, 60000);
	Side *who = by_offerer ? &a : &b;
	gint64 t0 = g_get_monotonic_time();
	g_assert_cmpint(pp_peer_restart_ice(who->pc), ==, 0);
	g_assert_cmpint(who->state, ==, PP_PEER_RESTARTING);
	/* our offer waits for its answer: no second one */
	g_assert_cmpint(pp_peer_restart_ice(who->pc), ==, PP_ERR_STATE);
	bulk_pump(&k); /* sending goes on while restarting */
	g_assert_true(run_until(both_connected, &a, &b, 15000));
	g_test_message("ICE restart (%s side) back in %.1f ms", by_offerer ? "offering" : "answering",
	               (g_get_monotonic_time() - t0) / 1000.0);
	bulk_run(&k, BULK_TOTAL, 120000);
	bulk_finish(&k);
	g_assert_nonnull(strstr(a.states->str, "connected,restarting,connected"));
	g_assert_nonnull(strstr(b.states->str, "connected,restarting,connected"));
	g_assert_cmpstr(a.reason, ==, "ICE restarted");
	/* the restarting side's offer keeps its DTLS role; both have new
	 * ICE credentials */
	assert_restarted_desc(&a, by_offerer ? PP_SDP_SETUP_ACTPASS : PP_SDP_SETUP_PASSIVE);
	assert_restarted_desc(&b, PP_SDP_SETUP_ACTIVE);
	assert_data_flows(&a, &b);
	pair_free(&a, &b);
}

static void test_restart_offerer(void)
{
	restart_during_bulk(true, true);
}

static void test_restart_answerer(void)
{
	restart_during_bulk(false, false);
}

/* Restart twice in a row, the second from the other side. */
static void test_restart_twice(void)
{
	Side a, b;

	pair_up(&a, &b, false, NULL);
	g_assert_cmpint(pp_peer_restart_ice(a.pc), ==, 0);
	g_assert_true(run_until(both_connected, &a, &b, 15000));
	g_assert_cmpint(pp_peer_restart_ice(b.pc), ==, 0);
	g_assert_true(run_until(both_connected, &a, &b, 15000));
	g_assert_cmpuint(a.descs->len, ==, 3); /* offer, re-answer, re-offer... */
	g_assert_cmpuint(b.descs->len, ==, 3);
	assert_data_flows(&a, &b);
	pair_free(&a, &b);
}

/* A re-offer with the same ICE credentials (a browser renegotiating) is
 * answered with ours, unchanged; no restart. */
static void test_same_credentials(void)
{
	Side a, b;

	pair_up(&a, &b, false, NULL);
	char *again = edit(desc(&a, 0), " 1 IN IP4", " 7 IN IP4"); /* version 7 */
	b.hold_desc = true;
	deliver_desc(&b, "offer", again);
	g_assert_cmpuint(b.refused, ==, 0);
	g_assert_cmpuint(b.descs->len, ==, 2);
	char *u0 = attr(desc(&b, 0), "ice-ufrag"), *u1 = attr(desc(&b, 1), "ice-ufrag");
	g_assert_cmpstr(u0, ==, u1);
	run_for(200);
	g_assert_null(strstr(b.states->str, "restarting"));
	g_assert_cmpint(b.state, ==, PP_PEER_CONNECTED);
	assert_data_flows(&a, &b);
	g_free(u0);
	g_free(u1);
	g_free(again);
	pair_free(&a, &b);
}

/* Re-offers that would change what the connection is are refused, and the
 * connection carries on: another fingerprint (even with new credentials,
 * as a hijacked restart would come), another DTLS role, another o=
 * session, and an answer nobody asked for. */
static void test_refused(void)
{
	Side a, b;
	struct pp_identity *mallory;
	char fp[PP_FP_TEXT_MAX];

	pair_up(&a, &b, false, NULL);
	g_assert_cmpint(pp_identity_new_ephemeral(&mallory), ==, 0);
	g_assert_cmpint(pp_fingerprint_format(pp_identity_fingerprint(mallory), fp, sizeof(fp)), >, 0);
	const char *offer = desc(&a, 0);
	char *ours = attr(offer, "fingerprint"), *ufrag = attr(offer, "ice-ufrag");
	char *pwd = attr(offer, "ice-pwd");
	char *fp_changed = edit(offer, ours, fp);
	char *hijack1 = edit(fp_changed, ufrag, "hijk");
	char *hijack = edit(hijack1, pwd, "0123456789abcdef012345");
	char *role = edit(offer, "a=setup:actpass", "a=setup:active");
	struct pp_sdp *o = parse(offer);
	gchar *from = g_strdup_printf("o=- %s ", o->origin_id);
	char *other = edit(offer, from, "o=- 12345 ");

	b.hold_desc = true;
	b.may_refuse = true;
	g_assert_cmpint(pp_peer_set_remote_description(b.pc, "offer", fp_changed, strlen(fp_changed)),
	                ==, PP_ERR_AUTH);
	g_assert_cmpint(pp_peer_set_remote_description(b.pc, "offer", hijack, strlen(hijack)), ==,
	                PP_ERR_AUTH);
	g_assert_cmpint(pp_peer_set_remote_description(b.pc, "offer", role, strlen(role)), ==,
	                PP_ERR_UNSUPPORTED);
	g_assert_cmpint(pp_peer_set_remote_description(b.pc, "offer", other, strlen(other)), ==,
	                PP_ERR_STATE);
	g_assert_false(pp_peer_offer_continues(b.pc, other, strlen(other)));
	g_assert_true(pp_peer_offer_continues(b.pc, hijack, strlen(hijack)));
	g_assert_false(pp_peer_offer_continues(b.pc, "garbage", 7));
	/* an answer to an offer a never made */
	g_assert_cmpint(pp_peer_set_remote_description(a.pc, "answer", desc(&b, 0), strlen(desc(&b, 0))),
	                ==, PP_ERR_STATE);
	g_assert_cmpuint(b.descs->len, ==, 1); /* nothing answered */
	run_for(300);
	g_assert_cmpstr(b.states->str, ==, "connecting,connected");
	g_assert_cmpstr(a.states->str, ==, "connecting,connected");
	assert_data_flows(&a, &b);
	/* a real restart still works after all that */
	b.hold_desc = false;
	g_assert_cmpint(pp_peer_restart_ice(a.pc), ==, 0);
	g_assert_true(run_until(both_connected, &a, &b, 15000));
	assert_data_flows(&a, &b);
	pp_sdp_free(o);
	g_free(from);
	g_free(other);
	g_free(role);
	g_free(hijack);
	g_free(hijack1);
	g_free(fp_changed);
	g_free(pwd);
	g_free(ufrag);
	g_free(ours);
	pp_identity_free(mallory);
	pair_free(&a, &b);
}

/* Both sides restart at once: the first offerer's restart stands. */
static void test_glare(void)
{
	Side a, b;

	pair_up(&a, &b, false, NULL);
	a.may_refuse = true;
	g_assert_cmpint(pp_peer_restart_ice(a.pc), ==, 0);
	g_assert_cmpint(pp_peer_restart_ice(b.pc), ==, 0);
	g_assert_true(run_until(both_connected, &a, &b, 15000));
	g_assert_cmpuint(a.refused, ==, 1);
	assert_data_flows(&a, &b);
	pair_free(&a, &b);
}

/* The same with the gateway's rule (restart_glare): a, the first
 * offerer, restarts only as a fallback and yields; b's offer stands. */
static void test_glare_yield(void)
{
	Side a, b;

	glare_a = PP_PEER_GLARE_YIELD;
	glare_b = PP_PEER_GLARE_STAND;
	pair_up(&a, &b, false, NULL);
	glare_a = glare_b = PP_PEER_GLARE_FIRST_OFFERER;
	b.may_refuse = true;
	g_assert_cmpint(pp_peer_restart_ice(a.pc), ==, 0);
	g_assert_cmpint(pp_peer_restart_ice(b.pc), ==, 0);
	g_assert_true(run_until(both_connected, &a, &b, 15000));
	g_assert_cmpuint(b.refused, ==, 1);
	g_assert_cmpuint(a.refused, ==, 0);
	assert_data_flows(&a, &b);
	pair_free(&a, &b);
}

/* a's restart offer went where b no longer is (held here: never sent)
 * and the node says so (pp_peer_restart_offer_lost); b's restart then
 * comes. a would stand by its rule, but its offer cannot be answered:
 * it yields and answers b's, and nothing is refused. */
static void test_glare_offer_lost(void)
{
	Side a, b;

	glare_a = PP_PEER_GLARE_STAND;
	glare_b = PP_PEER_GLARE_YIELD;
	pair_up(&a, &b, false, NULL);
	glare_a = glare_b = PP_PEER_GLARE_FIRST_OFFERER;
	a.hold_desc = true;
	g_assert_cmpint(pp_peer_restart_ice(a.pc), ==, 0);
	guint held = a.descs->len;
	a.hold_desc = false;
	pp_peer_restart_offer_lost(a.pc);
	/* still ours until answered: a second restart waits for it */
	g_assert_cmpint(pp_peer_restart_ice(a.pc), ==, PP_ERR_STATE);
	g_assert_cmpint(pp_peer_restart_ice(b.pc), ==, 0);
	g_assert_true(run_until(both_connected, &a, &b, 15000));
	g_assert_cmpuint(a.refused, ==, 0);
	g_assert_cmpuint(b.refused, ==, 0);
	g_assert_cmpuint(a.descs->len, ==, held + 1); /* a's answer */
	assert_data_flows(&a, &b);
	/* and a's next restart is an ordinary one again */
	g_assert_cmpint(pp_peer_restart_ice(a.pc), ==, 0);
	g_assert_true(run_until(both_connected, &a, &b, 15000));
	assert_data_flows(&a, &b);
	pair_free(&a, &b);
}

static gboolean a_lost(Side *a, Side *b)
{
	(void)b;
	return a->t_lost != 0;
}

static gboolean a_failed(Side *a, Side *b)
{
	(void)b;
	return a->state == PP_PEER_FAILED;
}

/* The answerer stops answering (frozen); by default the offerer reports
 * FAILED once consent freshness gives up. */
static void test_dead_peer_failed(void)
{
	Side a, b;

	pair_up(&a, &b, true, NULL);
	assert_data_flows(&a, &b);
	gint64 t0 = g_get_monotonic_time();
	frozen = true;
	g_assert_true(run_until(a_failed, &a, &b, 40000));
	g_test_message("dead peer (frozen): FAILED after %.1f s (%s)", (a.t_lost - t0) / 1e6, a.reason);
	g_assert_cmpstr(a.states->str, ==, "connecting,connected,failed");
	pair_free(&a, &b);
}

/* With ice_restart_ok: DISCONNECTED instead; sends are queued; the peer
 * comes back (thawed) and the offerer's restart, asked from on_state,
 * brings the path back with the transfer intact. */
static void test_dead_peer_restart(void)
{
	Side a, b;
	struct bulk k;
	struct pp_peer_config extra = { .ice_restart_ok = true };

	pair_up(&a, &b, true, &extra);
	a.restart_on_lost = true;
	bulk_start(&k, &a, &b);
	bulk_run(&k, BULK_TOTAL / 8, 60000);
	gint64 t0 = g_get_monotonic_time();
	frozen = true;
	g_assert_true(run_until(a_lost, &a, &b, 40000));
	g_test_message("dead peer (frozen): %s after %.1f s (%s)", pp_peer_state_name(a.state),
	               (a.t_lost - t0) / 1e6, a.reason);
	g_assert_cmpint(a.state, ==, PP_PEER_RESTARTING); /* on_state restarted it */
	g_assert_nonnull(strstr(a.states->str, "connected,disconnected,restarting"));
	/* channels stay: the application keeps writing (queued), and may
	 * even open a channel */
	bulk_pump(&k);
	struct pp_sctp_channel *late = NULL;
	g_assert_cmpint(pp_peer_channel_open(a.pc, "late", "peerpipe.tcp.v1", NULL, &late), ==, 0);
	g_assert_cmpint(pp_sctp_channel_send(late, true, "queued", 6), ==, 0);
	run_for(500);
	gint64 t1 = g_get_monotonic_time();
	frozen = false;
	g_assert_true(run_until(both_connected, &a, &b, 20000));
	g_test_message("thawed: path back %.1f ms later", (g_get_monotonic_time() - t1) / 1000.0);
	bulk_run(&k, BULK_TOTAL, 120000);
	g_test_message("transfer done %.1f s after the thaw", (g_get_monotonic_time() - t1) / 1e6);
	bulk_finish(&k);
	g_assert_true(run_until(both_got_message, &b, &b, 5000)); /* "queued" arrived */
	g_assert_nonnull(b.extra);
	g_assert_cmpstr(pp_sctp_channel_label(b.extra), ==, "late");
	pair_free(&a, &b);
}

/* With ice_restart_ok and nobody restarting: FAILED once the restart
 * window is over. */
static void test_restart_window(void)
{
	Side a, b;
	struct pp_peer_config extra = { .ice_restart_ok = true, .ice_restart_timeout_ms = 3000 };

	pair_up(&a, &b, true, &extra);
	gint64 t0 = g_get_monotonic_time();
	frozen = true;
	g_assert_true(run_until(a_failed, &a, &b, 40000));
	g_test_message("lost after %.1f s, FAILED after %.1f s: %s", (a.t_lost - t0) / 1e6,
	               (g_get_monotonic_time() - t0) / 1e6, a.reason);
	g_assert_cmpstr(a.states->str, ==, "connecting,connected,disconnected,failed");
	pair_free(&a, &b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	pp_log_setup("test_peer_restart", g_test_verbose() ? PP_LOG_DEBUG : PP_LOG_WARN, PP_LOG_TEXT);
	g_test_add_func("/peer-restart/offerer-during-bulk", test_restart_offerer);
	g_test_add_func("/peer-restart/answerer-during-bulk", test_restart_answerer);
	g_test_add_func("/peer-restart/twice", test_restart_twice);
	g_test_add_func("/peer-restart/same-credentials", test_same_credentials);
	g_test_add_func("/peer-restart/refused", test_refused);
	g_test_add_func("/peer-restart/glare", test_glare);
	g_test_add_func("/peer-restart/glare-yield", test_glare_yield);
	g_test_add_func("/peer-restart/glare-offer-lost", test_glare_offer_lost);
	g_test_add_func("/peer-restart/dead-peer-failed", test_dead_peer_failed);
	g_test_add_func("/peer-restart/dead-peer-restart", test_dead_peer_restart);
	g_test_add_func("/peer-restart/restart-window", test_restart_window);
	return side_run_tests(&ctx);
}
