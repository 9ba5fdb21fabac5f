/* SPDX-License-Identifier: Apache-2.0 */
/* ICE layer: two agents in one process connected over 127.0.0.1 (added
 * explicitly, libnice skips loopback otherwise), candidates trickled
 * through the callbacks; plus the mDNS wire code and the url parser. */
#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/ice.h"

#include "../../../src/lib/rtc/ice_priv.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>

#define LOOP "127.0.0.1"
#define CONNECT_MS 10000

static GMainContext *ctx;   /* both sides, unless a test says otherwise */
static GMainContext *ctx_b; /* a second loop, to freeze one side */

enum form { FORM_AS_IS, FORM_SDP, FORM_BARE };

struct side {
	const char *name;
	struct pp_ice *ice;
	struct side *peer;
	bool forward;      /* trickle each candidate to the peer at once */
	enum form form;
	const char *mdns_name; /* replace 127.0.0.1 with this in our lines */
	GPtrArray *held;   /* lines (and "" for end) not forwarded */
	unsigned n_cands;
	bool eoc;
	enum pp_ice_state state;
	GString *states;
	GByteArray *rx;
	unsigned n_rx;
	unsigned after_close; /* callbacks after CLOSED: must stay 0 */
	bool free_on_close;
	bool free_on_data;    /* pp_ice_free() inside on_data */
	bool free_on_cand;    /* pp_ice_free() inside on_local_candidate */
	bool freed;
	bool closed;
};

/* ---- loop helpers ---- */

static bool pump_b = true;

static void pump_once(void)
{
	bool any = g_main_context_iteration(ctx, FALSE);
	if (ctx_b && pump_b)
		any |= g_main_context_iteration(ctx_b, FALSE);
	if (!any)
		g_usleep(1000);
}

static bool run_until(bool (*cond)(void *), void *d, unsigned ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

	while (!cond(d)) {
		if (g_get_monotonic_time() >= end)
			return false;
		pump_once();
	}
	return true;
}

static void run_for(unsigned ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	while (g_get_monotonic_time() < end)
		pump_once();
}

/* ---- sides ---- */

static char *render(struct side *s, const char *line)
{
	GString *g = g_string_new(NULL);
	const char *body = line;

	if (s->mdns_name) {
		gchar **parts = g_strsplit(line, " " LOOP " ", 2);
		if (parts[1]) {
			g_string_append_printf(g, "%s %s %s", parts[0], s->mdns_name, parts[1]);
			body = NULL;
		}
		g_strfreev(parts);
	}
	if (body)
		g_string_append(g, body);
	switch (s->form) {
	case FORM_SDP:
		g_string_prepend(g, "a=");
		g_string_append(g, "\r\n");
		break;
	case FORM_BARE:
		g_assert_true(g_str_has_prefix(g->str, "candidate:"));
		g_string_erase(g, 0, strlen("candidate:"));
		break;
	default:
		break;
	}
	return g_string_free(g, FALSE);
}

static void deliver(struct side *to, const char *line)
{
	if (!line) {
		g_assert_cmpint(pp_ice_end_of_remote_candidates(to->ice), ==, 0);
		return;
	}
	int rc = pp_ice_add_remote_candidate(to->ice, line);
	if (rc != 0)
		g_test_message("%s refused %s: %s", to->name, line, pp_strerror(rc));
	g_assert_cmpint(rc, ==, 0);
}

static void on_cand(void *user, const char *line)
{
	struct side *s = user;

	if (s->closed || s->freed)
		s->after_close++;
	if (s->free_on_cand) {
		pp_ice_free(s->ice);
		s->ice = NULL;
		s->freed = true;
		return;
	}
	if (!line) {
		g_assert_false(s->eoc);
		s->eoc = true;
	} else {
		struct pp_candidate c;
		g_assert_true(g_str_has_prefix(line, "candidate:"));
		g_assert_cmpint(pp_candidate_parse(line, strlen(line), &c), ==, 0);
		s->n_cands++;
	}
	char *out = line ? render(s, line) : NULL;
	if (s->forward && s->peer && s->peer->ice)
		deliver(s->peer, out);
	else
		g_ptr_array_add(s->held, out ? out : g_strdup(""));
	if (s->forward)
		g_free(out);
}

static void on_state(void *user, enum pp_ice_state st)
{
	struct side *s = user;

	if (s->closed || s->freed)
		s->after_close++;
	s->state = st;
	g_string_append_printf(s->states, "%s%s", s->states->len ? "," : "",
	                       pp_ice_state_name(st));
	if (st == PP_ICE_CLOSED) {
		s->closed = true;
		if (s->free_on_close) {
			pp_ice_free(s->ice);
			s->ice = NULL;
		}
	}
}

static void on_data(void *user, const uint8_t *data, size_t len)
{
	struct side *s = user;

	if (s->closed || s->freed)
		s->after_close++;
	g_byte_array_append(s->rx, data, (guint)len);
	s->n_rx++;
	if (s->free_on_data) {
		pp_ice_free(s->ice);
		s->ice = NULL;
		s->freed = true;
	}
}

static const struct pp_ice_callbacks cbs = {
	.on_local_candidate = on_cand, .on_state = on_state, .on_data = on_data,
};

static void side_init(struct side *s, const char *name, bool controlling,
                      GMainContext *c, const struct pp_ice_config *extra)
{
	static const char *const locals[] = { LOOP };
	struct pp_ice_config cfg = { 0 };

	if (extra)
		cfg = *extra;
	cfg.controlling = controlling;
	cfg.local_addresses = locals;
	cfg.n_local_addresses = 1;
	cfg.log_peer = name;
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->forward = true;
	s->held = g_ptr_array_new_with_free_func(g_free);
	s->states = g_string_new(NULL);
	s->rx = g_byte_array_new();
	s->ice = pp_ice_new(c, &cfg, &cbs, s);
	g_assert_nonnull(s->ice);
}

static void side_clear(struct side *s)
{
	pp_ice_free(s->ice);
	g_ptr_array_free(s->held, TRUE);
	g_string_free(s->states, TRUE);
	g_byte_array_free(s->rx, TRUE);
	g_assert_cmpuint(s->after_close, ==, 0);
}

static void pair_init(struct side *a, struct side *b, const struct pp_ice_config *ea,
                      const struct pp_ice_config *eb)
{
	side_init(a, "A", true, ctx, ea);
	side_init(b, "B", false, ctx_b ? ctx_b : ctx, eb);
	a->peer = b;
	b->peer = a;
}

static void give_credentials(struct side *from, struct side *to)
{
	const char *u, *p;

	g_assert_cmpint(pp_ice_local_credentials(from->ice, &u, &p), ==, 0);
	g_assert_cmpuint(strlen(u), >=, 4);
	g_assert_cmpuint(strlen(p), >=, 22);
	g_assert_cmpint(pp_ice_set_remote_credentials(to->ice, u, p), ==, 0);
}

static void flush_held(struct side *s)
{
	for (guint i = 0; i < s->held->len; i++) {
		const char *l = s->held->pdata[i];
		deliver(s->peer, *l ? l : NULL);
	}
	g_ptr_array_set_size(s->held, 0);
}

static bool up(const struct side *s)
{
	return s->state == PP_ICE_CONNECTED || s->state == PP_ICE_COMPLETED;
}

static bool both_up(void *d)
{
	struct side *a = d;
	return up(a) && up(a->peer);
}

static bool both_completed_eoc(void *d)
{
	struct side *a = d;
	return a->state == PP_ICE_COMPLETED && a->peer->state == PP_ICE_COMPLETED && a->eoc &&
	       a->peer->eoc;
}

static bool both_rx(void *d)
{
	struct side *a = d;
	return a->n_rx > 0 && a->peer->n_rx > 0;
}

static bool a_down(void *d)
{
	struct side *a = d;
	return a->state == PP_ICE_FAILED || a->state == PP_ICE_DISCONNECTED;
}

static bool is_closed(void *d)
{
	return ((struct side *)d)->closed;
}

static void exchange_data(struct side *a, struct side *b)
{
	a->n_rx = b->n_rx = 0;
	g_byte_array_set_size(a->rx, 0);
	g_byte_array_set_size(b->rx, 0);
	g_assert_cmpint(pp_ice_send(a->ice, (const uint8_t *)"ping", 4), ==, 0);
	g_assert_cmpint(pp_ice_send(b->ice, (const uint8_t *)"pong!", 5), ==, 0);
	g_assert_true(run_until(both_rx, a, 5000));
	g_assert_cmpmem(b->rx->data, b->rx->len, "ping", 4);
	g_assert_cmpmem(a->rx->data, a->rx->len, "pong!", 5);
}

static void connect_pair(struct side *a, struct side *b)
{
	gint64 t0 = g_get_monotonic_time();

	give_credentials(a, b);
	give_credentials(b, a);
	g_assert_cmpint(pp_ice_gather(a->ice), ==, 0);
	g_assert_cmpint(pp_ice_gather(b->ice), ==, 0);
	g_assert_cmpint(pp_ice_gather(a->ice), ==, PP_ERR_STATE);
	g_assert_true(run_until(both_completed_eoc, a, CONNECT_MS));
	g_test_message("connected and nominated in %.0f ms",
	               (double)(g_get_monotonic_time() - t0) / 1000.0);
}

/* ---- tests ---- */

static void test_connect(void)
{
	struct side a, b;
	const char *lt, *rt;

	pair_init(&a, &b, NULL, NULL);
	g_assert_cmpint(pp_ice_get_state(a.ice), ==, PP_ICE_NEW);
	connect_pair(&a, &b);
	g_assert_cmpuint(a.n_cands, >=, 1);
	g_assert_cmpuint(b.n_cands, >=, 1);
	g_assert_true(strstr(a.states->str, "checking") != NULL);
	g_assert_cmpint(pp_ice_selected_types(a.ice, &lt, &rt), ==, 0);
	g_test_message("A selected %s/%s, states A %s, B %s", lt, rt, a.states->str,
	               b.states->str);
	g_assert_cmpstr(lt, ==, "host");
	exchange_data(&a, &b);
	/* a bigger datagram, and a burst */
	uint8_t big[1200];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	a.n_rx = b.n_rx = 0;
	g_byte_array_set_size(b.rx, 0);
	for (int i = 0; i < 50; i++)
		g_assert_cmpint(pp_ice_send(a.ice, big, sizeof(big)), ==, 0);
	run_for(200);
	g_assert_cmpuint(b.n_rx, ==, 50);
	g_assert_cmpmem(b.rx->data, 1200, big, 1200);
	/* nothing of ours on the default context */
	g_assert_false(g_main_context_pending(g_main_context_default()));
	side_clear(&a);
	side_clear(&b);
}

static void test_forms(void)
{
	struct side a, b;

	pair_init(&a, &b, NULL, NULL);
	a.form = FORM_SDP;
	b.form = FORM_BARE;
	connect_pair(&a, &b);
	exchange_data(&a, &b);
	side_clear(&a);
	side_clear(&b);
}

static void test_before_credentials(void)
{
	struct side a, b;

	pair_init(&a, &b, NULL, NULL);
	a.forward = b.forward = false;
	/* B's candidates reach A before A has gathered or has credentials */
	g_assert_cmpint(pp_ice_gather(b.ice), ==, 0);
	while (!b.eoc)
		pump_once();
	flush_held(&b);
	g_assert_cmpint(pp_ice_gather(a.ice), ==, 0);
	while (!a.eoc)
		pump_once();
	flush_held(&a);
	run_for(100);
	g_assert_cmpint(a.state, ==, PP_ICE_NEW); /* nothing to check without credentials */
	a.forward = b.forward = true;
	give_credentials(&a, &b);
	give_credentials(&b, &a);
	g_assert_true(run_until(both_up, &a, CONNECT_MS));
	exchange_data(&a, &b);
	side_clear(&a);
	side_clear(&b);
}

/* Credentials first, then the peer's candidates, and only then our own
 * gathering; setting the same credentials twice is harmless. */
static void test_remote_before_gather(void)
{
	struct side a, b;
	const char *u, *p;

	pair_init(&a, &b, NULL, NULL);
	give_credentials(&a, &b);
	give_credentials(&b, &a);
	g_assert_cmpint(pp_ice_local_credentials(b.ice, &u, &p), ==, 0);
	g_assert_cmpint(pp_ice_set_remote_credentials(a.ice, u, p), ==, 0);
	a.forward = false;
	g_assert_cmpint(pp_ice_gather(b.ice), ==, 0);
	while (!b.eoc)
		pump_once();
	run_for(50);
	g_assert_cmpint(pp_ice_gather(a.ice), ==, 0);
	while (!a.eoc)
		pump_once();
	flush_held(&a);
	g_assert_true(run_until(both_up, &a, CONNECT_MS));
	exchange_data(&a, &b);
	side_clear(&a);
	side_clear(&b);
}

/* A candidate trickled in after completion (a late one, or the peer's
 * new interface) must not take the working pair away. */
static void test_late_candidate(void)
{
	struct side a, b;

	pair_init(&a, &b, NULL, NULL);
	connect_pair(&a, &b);
	g_string_truncate(a.states, 0);
	g_assert_cmpint(pp_ice_add_remote_candidate(
				a.ice, "candidate:9 1 udp 2130706431 127.0.0.1 9 typ host"),
	                ==, 0);
	g_assert_cmpint(pp_ice_add_remote_candidate(
				b.ice, "candidate:9 1 udp 2130706431 127.0.0.1 9 typ host"),
	                ==, 0);
	g_assert_cmpint(pp_ice_send(a.ice, (const uint8_t *)"x", 1), ==, 0);
	run_for(3000);
	g_test_message("states after a late candidate: A '%s'", a.states->str);
	g_assert_true(up(&a) && up(&b));
	exchange_data(&a, &b);
	side_clear(&a);
	side_clear(&b);
}

/* ice_tcp on: TCP candidates (RFC 6544) go out as "tcp ... tcptype" lines
 * and are accepted back. */
static void test_ice_tcp(void)
{
	struct pp_ice_config c = { .ice_tcp = true };
	struct side a, b;

	pair_init(&a, &b, &c, &c);
	a.forward = false;
	connect_pair(&a, &b);
	bool tcp = false;
	for (guint i = 0; i < a.held->len; i++)
		tcp |= strstr(a.held->pdata[i], " tcp ") && strstr(a.held->pdata[i], " tcptype ");
	g_assert_true(tcp);
	flush_held(&a);
	exchange_data(&a, &b);
	side_clear(&a);
	side_clear(&b);
}

/* pp_ice_free() from inside a callback (a layer above tearing everything
 * down) is tolerated: no callback after it, the memory goes afterwards. */
static void test_free_in_callback(void)
{
	struct side a, b;

	pair_init(&a, &b, NULL, NULL);
	connect_pair(&a, &b);
	b.free_on_data = true;
	g_assert_cmpint(pp_ice_send(a.ice, (const uint8_t *)"one", 3), ==, 0);
	g_assert_cmpint(pp_ice_send(a.ice, (const uint8_t *)"two", 3), ==, 0);
	run_for(300);
	g_assert_true(b.freed);
	g_assert_cmpuint(b.n_rx, ==, 1);
	side_clear(&a);
	side_clear(&b);

	/* inside the very first candidate, with more events queued */
	pair_init(&a, &b, NULL, NULL);
	a.free_on_cand = true;
	g_assert_cmpint(pp_ice_gather(a.ice), ==, 0);
	run_for(300);
	g_assert_true(a.freed);
	side_clear(&a);
	side_clear(&b);
}

static void test_garbage(void)
{
	static const struct {
		const char *line;
		int rc;
	} bad[] = {
		{ "", PP_ERR_INVALID },
		{ "garbage", PP_ERR_INVALID },
		{ "candidate:", PP_ERR_INVALID },
		{ "a=candidate:1 1 udp", PP_ERR_INVALID },
		{ "candidate:1 1 udp 0 10.0.0.1 5000 typ host", PP_ERR_INVALID },
		{ "candidate:1 1 udp 1 10.0.0.1 70000 typ host", PP_ERR_INVALID },
		{ "candidate:1 1 udp 1 10.0.0.1 5000 typ host\001", PP_ERR_INVALID },
		{ "candidate:1 1 udp 1 999.0.0.1 5000 typ host", PP_ERR_INVALID },
		{ "candidate:1 1 udp 1 10.0.0.1 5000 typ host tcptype active", PP_ERR_INVALID },
		{ "candidate:1 2 udp 1 10.0.0.1 5000 typ host", PP_ERR_UNSUPPORTED },
		{ "candidate:1 1 tcp 1 10.0.0.1 9 typ host tcptype active", PP_ERR_UNSUPPORTED },
		{ "candidate:1 1 ssltcp 1 10.0.0.1 443 typ host", PP_ERR_UNSUPPORTED },
		{ "candidate:1 1 udp 1 example.com 5000 typ host", PP_ERR_UNSUPPORTED },
		{ "candidate:1 1 udp 1 10.0.0.1 5000 typ weird", PP_ERR_UNSUPPORTED },
	};
	struct side a, b;
	char *huge = g_strnfill(5000, 'x');

	pair_init(&a, &b, NULL, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_test_message("%s", bad[i].line);
		g_assert_cmpint(pp_ice_add_remote_candidate(a.ice, bad[i].line), ==, bad[i].rc);
	}
	g_assert_cmpint(pp_ice_add_remote_candidate(a.ice, huge), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_ice_add_remote_candidate(a.ice, NULL), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_ice_set_remote_credentials(a.ice, "ab", "short"), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_ice_set_remote_credentials(a.ice, "ab d", "0123456789012345678901"),
	                ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_ice_send(a.ice, (const uint8_t *)"x", 1), ==, -EAGAIN);
	g_assert_cmpint(pp_ice_send(a.ice, (const uint8_t *)"x", 0), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_ice_send(a.ice, (const uint8_t *)huge, 70000), ==, PP_ERR_TOO_BIG);
	/* after all that, the session still comes up */
	connect_pair(&a, &b);
	exchange_data(&a, &b);
	/* credentials cannot change without a restart */
	g_assert_cmpint(pp_ice_set_remote_credentials(a.ice, "wxyz", "0123456789012345678901"),
	                ==, PP_ERR_STATE);
	g_free(huge);
	side_clear(&a);
	side_clear(&b);
}

static void test_restart(void)
{
	struct side a, b;
	const char *u, *p;
	char *old_a, *old_b;

	pair_init(&a, &b, NULL, NULL);
	connect_pair(&a, &b);
	exchange_data(&a, &b);
	g_assert_cmpint(pp_ice_local_credentials(a.ice, &u, &p), ==, 0);
	old_a = g_strdup(u);
	g_assert_cmpint(pp_ice_local_credentials(b.ice, &u, &p), ==, 0);
	old_b = g_strdup(u);

	gint64 t0 = g_get_monotonic_time();
	a.eoc = b.eoc = false;
	g_assert_cmpint(pp_ice_restart(a.ice), ==, 0);
	g_assert_cmpint(pp_ice_restart(b.ice), ==, 0);
	g_assert_cmpint(pp_ice_get_state(a.ice), ==, PP_ICE_NEW);
	g_assert_cmpint(pp_ice_send(a.ice, (const uint8_t *)"x", 1), ==, -EAGAIN);
	g_assert_cmpint(pp_ice_local_credentials(a.ice, &u, &p), ==, 0);
	g_assert_cmpstr(u, !=, old_a);
	g_assert_cmpint(pp_ice_local_credentials(b.ice, &u, &p), ==, 0);
	g_assert_cmpstr(u, !=, old_b);
	give_credentials(&a, &b);
	give_credentials(&b, &a);
	g_assert_true(run_until(both_completed_eoc, &a, CONNECT_MS));
	g_test_message("restart reconnected in %.0f ms; states A %s",
	               (double)(g_get_monotonic_time() - t0) / 1000.0, a.states->str);
	g_assert_true(strstr(a.states->str, "completed,new,") != NULL);
	exchange_data(&a, &b);
	/* a candidate of the old generation is dropped quietly */
	char *stale = g_strdup_printf("candidate:1 1 udp 2122260223 127.0.0.1 9 typ host ufrag %s",
	                              old_b);
	g_assert_cmpint(pp_ice_add_remote_candidate(a.ice, stale), ==, 0);
	g_free(stale);
	g_free(old_a);
	g_free(old_b);
	side_clear(&a);
	side_clear(&b);
}

/* One side stops answering (its loop no longer runs: no ICMP, like a
 * vanished host), or closes its sockets; the other must notice. */
static double dead_peer_once(bool freeze)
{
	struct side a, b;
	gint64 t0;
	double secs;

	ctx_b = g_main_context_new();
	pump_b = true;
	pair_init(&a, &b, NULL, NULL);
	connect_pair(&a, &b);
	exchange_data(&a, &b);
	t0 = g_get_monotonic_time();
	if (freeze) {
		pump_b = false;
	} else {
		pp_ice_free(b.ice);
		b.ice = NULL;
	}
	g_assert_true(run_until(a_down, &a, 40000));
	secs = (double)(g_get_monotonic_time() - t0) / 1e6;
	g_test_message("dead peer (%s) reported as %s after %.1f s",
	               freeze ? "silent" : "sockets closed", pp_ice_state_name(a.state), secs);
	g_assert_cmpint(pp_ice_send(a.ice, (const uint8_t *)"x", 1), ==, -EAGAIN);
	side_clear(&a);
	side_clear(&b);
	g_main_context_unref(ctx_b);
	ctx_b = NULL;
	return secs;
}

static void test_dead_peer(void)
{
	double silent = dead_peer_once(true);
	double closed = dead_peer_once(false);

	/* the state change is asserted in dead_peer_once; the times only
	 * logged (a shared machine is noisy) */
	g_test_message("dead-peer detection: silent peer %.1f s, closed peer %.1f s", silent,
	       closed);
}

static void test_close(void)
{
	struct side a, b;

	pair_init(&a, &b, NULL, NULL);
	connect_pair(&a, &b);
	a.free_on_close = true;
	pp_ice_close(a.ice);
	pp_ice_close(a.ice); /* twice is harmless */
	g_assert_cmpint(pp_ice_send(a.ice, (const uint8_t *)"x", 1), ==, PP_ERR_STATE);
	g_assert_cmpint(pp_ice_add_remote_candidate(a.ice, "candidate:1 1 udp 1 10.0.0.1 5 typ host"),
	                ==, PP_ERR_STATE);
	g_assert_cmpint(pp_ice_restart(a.ice), ==, PP_ERR_STATE);
	g_assert_false(a.closed); /* never synchronously */
	g_assert_true(run_until(is_closed, &a, 5000));
	g_assert_null(a.ice);
	g_assert_true(g_str_has_suffix(a.states->str, ",closed"));
	run_for(100);
	side_clear(&a);
	/* free without close, with events still queued */
	pp_ice_restart(b.ice);
	side_clear(&b);
}

/* ---- mDNS ---- */

struct responder {
	GSocket *sock;
	GSource *src;
	char *port;
	const char *known; /* the only name answered */
	unsigned queries;
	GSocket *other;    /* set: answers leave from this socket's port */
};

static size_t put_name(uint8_t *p, const char *name)
{
	size_t off = 0;
	gchar **labels = g_strsplit(name, ".", -1);
	for (gchar **l = labels; *l; l++) {
		p[off++] = (uint8_t)strlen(*l);
		memcpy(p + off, *l, strlen(*l));
		off += strlen(*l);
	}
	p[off++] = 0;
	g_strfreev(labels);
	return off;
}

static gboolean responder_read(GSocket *sock, GIOCondition c, gpointer data)
{
	struct responder *r = data;
	uint8_t q[512], a[512];
	GSocketAddress *from = NULL;
	gssize n = g_socket_receive_from(sock, &from, (gchar *)q, sizeof(q), NULL, NULL);

	if (n < 12 + 5)
		goto out;
	r->queries++;
	/* the question is ours: check it parses back, answer A only */
	size_t qend = 12;
	while (qend < (size_t)n && q[qend])
		qend += 1u + q[qend];
	qend += 5;
	g_assert_cmpuint(qend, <=, (size_t)n);
	uint16_t qtype = (uint16_t)(q[qend - 4] << 8 | q[qend - 3]);
	g_assert_cmpuint(q[qend - 2] & 0x80, ==, 0x80); /* QU */
	size_t len = put_name(a + 12, r->known);
	if (qtype != 1 || qend - 12 - 4 != len || memcmp(q + 12, a + 12, len) != 0)
		goto out; /* unknown name, or AAAA: stay silent */
	memcpy(a, q, 2);
	memcpy(a + 2, "\x84\x00\x00\x01\x00\x01\x00\x00\x00\x00", 10);
	size_t off = 12 + len;
	memcpy(a + off, "\x00\x01\x00\x01", 4); /* question echoed */
	off += 4;
	a[off++] = 0xc0; /* pointer to the question's name */
	a[off++] = 12;
	memcpy(a + off, "\x00\x01\x80\x01\x00\x00\x00\x78\x00\x04\x7f\x00\x00\x01", 14);
	off += 14;
	g_socket_send_to(r->other ? r->other : sock, from, (const gchar *)a, off, NULL, NULL);
out:
	if (from)
		g_object_unref(from);
	return G_SOURCE_CONTINUE;
}

static void responder_start(struct responder *r, const char *known)
{
	GInetAddress *lo = g_inet_address_new_from_string(LOOP);
	GSocketAddress *sa = g_inet_socket_address_new(lo, 0), *bound;

	memset(r, 0, sizeof(*r));
	r->known = known;
	r->sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
	                       G_SOCKET_PROTOCOL_UDP, NULL);
	g_assert_true(g_socket_bind(r->sock, sa, FALSE, NULL));
	g_socket_set_blocking(r->sock, FALSE);
	bound = g_socket_get_local_address(r->sock, NULL);
	r->port = g_strdup_printf(LOOP ":%u",
	                          g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound)));
	r->src = g_socket_create_source(r->sock, G_IO_IN, NULL);
	g_source_set_callback(r->src, (GSourceFunc)(void (*)(void))responder_read, r, NULL);
	g_source_attach(r->src, ctx);
	g_object_unref(bound);
	g_object_unref(sa);
	g_object_unref(lo);
}

static void responder_stop(struct responder *r)
{
	g_source_destroy(r->src);
	g_source_unref(r->src);
	if (r->other)
		g_object_unref(r->other);
	g_object_unref(r->sock);
	g_free(r->port);
}

/* B hides its address behind a .local name, as Chromium does, and never
 * hears A's candidates: A can only reach B by resolving the name. */
static void test_mdns_resolve(void)
{
	static const char name[] = "1f0a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b.local";
	struct responder r;
	struct side a, b;
	struct pp_ice_config ca = { 0 };

	responder_start(&r, name);
	ca.mdns_server = r.port;
	ca.mdns_timeout_ms = 1500;
	pair_init(&a, &b, &ca, NULL);
	b.mdns_name = name;
	a.forward = false; /* B gets A's credentials only */
	connect_pair(&a, &b);
	g_assert_cmpuint(r.queries, >=, 1);
	g_assert_cmpuint(a.held->len, >=, 2);
	exchange_data(&a, &b);
	side_clear(&a);
	side_clear(&b);
	responder_stop(&r);
}

/* Unresolvable .local candidates are dropped without harm; the session
 * comes up through what A learns from B's checks (peer-reflexive). */
static void test_mdns_unresolved(void)
{
	struct responder r;
	struct side a, b;
	struct pp_ice_config ca = { 0 };

	responder_start(&r, "someone-else.local");
	ca.mdns_server = r.port;
	ca.mdns_timeout_ms = 400;
	pair_init(&a, &b, &ca, NULL);
	b.mdns_name = "0badc0de-0000-4000-8000-000000000000.local";
	connect_pair(&a, &b);
	exchange_data(&a, &b);
	run_for(600); /* let the queries time out */
	g_assert_cmpuint(r.queries, >=, 2);
	side_clear(&a);
	side_clear(&b);
	responder_stop(&r);
}

static void mdns_done(void *user, const char *name, const NiceAddress *addr)
{
	int *got = user;

	*got = addr ? 1 : -1;
}

/* The resolver itself: an answer from the port asked resolves the name;
 * the same answer from another port (RFC 6762 §6: answers come from the
 * mDNS port) is dropped, and the query times out unanswered. */
static void test_mdns_source(void)
{
	static const char name[] = "5e1f0a2b-3c4d-4e5f-8a7b-9c0d1e2f3a4b.local";
	struct responder r;
	struct pp_ice_mdns *m;
	int got = 0;

	responder_start(&r, name);
	m = pp_ice_mdns_new(ctx, r.port, 400, mdns_done, &got);
	g_assert_nonnull(m);
	g_assert_cmpint(pp_ice_mdns_resolve(m, name), ==, 0);
	while (!got)
		g_main_context_iteration(ctx, TRUE);
	g_assert_cmpint(got, ==, 1);
	pp_ice_mdns_free(m);

	GInetAddress *lo = g_inet_address_new_from_string(LOOP);
	GSocketAddress *sa = g_inet_socket_address_new(lo, 0);
	r.other = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
	                       G_SOCKET_PROTOCOL_UDP, NULL);
	g_assert_true(g_socket_bind(r.other, sa, FALSE, NULL));
	g_object_unref(sa);
	g_object_unref(lo);
	got = 0;
	m = pp_ice_mdns_new(ctx, r.port, 400, mdns_done, &got);
	g_assert_cmpint(pp_ice_mdns_resolve(m, name), ==, 0);
	while (!got)
		g_main_context_iteration(ctx, TRUE);
	g_assert_cmpint(got, ==, -1);
	g_assert_cmpuint(r.queries, >=, 2);
	pp_ice_mdns_free(m);
	responder_stop(&r);
}

static void test_mdns_wire(void)
{
	uint8_t buf[600], msg[600];
	uint8_t ip[16];
	int fam, n;
	size_t off;

	n = pp_ice_mdns_query_build(buf, sizeof(buf), 0x1234, "abc.local", false);
	g_assert_cmpint(n, ==, 12 + 11 + 4);
	g_assert_cmpmem(buf + 12, 11, "\003abc\005local\000", 11);
	g_assert_cmpmem(buf + 23, 4, "\x00\x01\x80\x01", 4);
	n = pp_ice_mdns_query_build(buf, sizeof(buf), 1, "abc.local.", true);
	g_assert_cmpint(n, ==, 27);
	g_assert_cmpuint(buf[24], ==, 28);
	g_assert_cmpint(pp_ice_mdns_query_build(buf, sizeof(buf), 1, "a..local", false), ==,
	                PP_ERR_INVALID);
	g_assert_cmpint(pp_ice_mdns_query_build(buf, 20, 1, "abc.local", false), ==,
	                PP_ERR_TOO_BIG);

	/* a multicast answer: no question, A record with cache-flush */
	memcpy(msg, "\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00", 12);
	off = 12 + put_name(msg + 12, "ABC.local");
	memcpy(msg + off, "\x00\x01\x80\x01\x00\x00\x00\x78\x00\x04\x0a\x01\x02\x03", 14);
	off += 14;
	g_assert_cmpint(pp_ice_mdns_response_parse(msg, off, "abc.local", &fam, ip), ==, 0);
	g_assert_cmpint(fam, ==, 4);
	g_assert_cmpmem(ip, 4, "\x0a\x01\x02\x03", 4);
	g_assert_cmpint(pp_ice_mdns_response_parse(msg, off, "abd.local", &fam, ip), ==,
	                PP_ERR_NOT_FOUND);
	g_assert_cmpint(pp_ice_mdns_response_parse(msg, off - 1, "abc.local", &fam, ip), ==,
	                PP_ERR_TRUNCATED);
	/* goodbye (TTL 0) is not an answer */
	msg[off - 7] = 0;
	g_assert_cmpint(pp_ice_mdns_response_parse(msg, off, "abc.local", &fam, ip), ==,
	                PP_ERR_NOT_FOUND);
	msg[off - 7] = 0x78;
	/* a query is not a response */
	msg[2] = 0;
	g_assert_cmpint(pp_ice_mdns_response_parse(msg, off, "abc.local", &fam, ip), ==,
	                PP_ERR_INVALID);
	msg[2] = 0x84;
	/* too many records */
	msg[7] = 200;
	g_assert_cmpint(pp_ice_mdns_response_parse(msg, off, "abc.local", &fam, ip), ==,
	                PP_ERR_TOO_BIG);
	msg[7] = 1;

	/* AAAA in the additional section, name by pointer to a question */
	memcpy(msg, "\x00\x00\x84\x00\x00\x01\x00\x00\x00\x00\x00\x01", 12);
	off = 12 + put_name(msg + 12, "v6.local");
	memcpy(msg + off, "\x00\x1c\x00\x01\xc0\x0c\x00\x1c\x00\x01\x00\x00\x00\x0a\x00\x10", 16);
	off += 16;
	memcpy(msg + off, "\xfe\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16);
	off += 16;
	g_assert_cmpint(pp_ice_mdns_response_parse(msg, off, "v6.local", &fam, ip), ==, 0);
	g_assert_cmpint(fam, ==, 6);
	g_assert_cmpuint(ip[15], ==, 1);

	/* a pointer to itself or forwards */
	memcpy(msg, "\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00\xc0\x0c", 14);
	g_assert_cmpint(pp_ice_mdns_response_parse(msg, 14 + 10, "x.local", &fam, ip), ==,
	                PP_ERR_INVALID);
	memcpy(msg + 12, "\xc0\x20", 2);
	g_assert_cmpint(pp_ice_mdns_response_parse(msg, 40, "x.local", &fam, ip), ==,
	                PP_ERR_INVALID);
	/* a name over 255 bytes */
	memcpy(msg, "\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00", 12);
	off = 12;
	for (int i = 0; i < 5; i++) {
		msg[off++] = 63;
		memset(msg + off, 'a', 63);
		off += 63;
	}
	msg[off++] = 0;
	memset(msg + off, 0, 10);
	g_assert_cmpint(pp_ice_mdns_response_parse(msg, off + 10, "x.local", &fam, ip), ==,
	                PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_ice_mdns_response_parse(msg, 5, "x.local", &fam, ip), ==,
	                PP_ERR_TRUNCATED);
}

/* ---- ice_servers urls ---- */

static void test_urls(void)
{
	static const struct {
		const char *url;
		int rc;
		enum pp_ice_srv_kind kind;
		NiceRelayType relay;
		uint16_t port;
		bool resolved;
	} t[] = {
		{ "stun:192.0.2.1", 0, PP_ICE_SRV_STUN, 0, 3478, true },
		{ "stun:stun.example.org:19302", 0, PP_ICE_SRV_STUN, 0, 19302, false },
		{ "STUN:[2001:db8::1]:3479", 0, PP_ICE_SRV_STUN, 0, 3479, true },
		{ "turn:192.0.2.1:3478?transport=udp", 0, PP_ICE_SRV_TURN, NICE_RELAY_TYPE_TURN_UDP,
		  3478, true },
		{ "turn:192.0.2.1?transport=tcp", 0, PP_ICE_SRV_TURN, NICE_RELAY_TYPE_TURN_TCP, 3478,
		  true },
		{ "turn:turn.example.org", 0, PP_ICE_SRV_TURN, NICE_RELAY_TYPE_TURN_UDP, 3478, false },
		{ "turns:turn.example.org?transport=tcp", 0, PP_ICE_SRV_TURN,
		  NICE_RELAY_TYPE_TURN_TLS, 5349, false },
		{ "turns:192.0.2.1:443", 0, PP_ICE_SRV_TURN, NICE_RELAY_TYPE_TURN_TLS, 443, true },
		{ "turns:192.0.2.1?transport=udp", PP_ERR_UNSUPPORTED, 0, 0, 0, false },
		{ "stuns:192.0.2.1", PP_ERR_UNSUPPORTED, 0, 0, 0, false },
		{ "http://192.0.2.1", PP_ERR_INVALID, 0, 0, 0, false },
		{ "stun:192.0.2.1?transport=udp", PP_ERR_INVALID, 0, 0, 0, false },
		{ "turn:192.0.2.1?transport=sctp", PP_ERR_INVALID, 0, 0, 0, false },
		{ "stun:192.0.2.1:0", PP_ERR_INVALID, 0, 0, 0, false },
		{ "stun:192.0.2.1:65536", PP_ERR_INVALID, 0, 0, 0, false },
		{ "stun:192.0.2.1:", PP_ERR_INVALID, 0, 0, 0, false },
		{ "stun:", PP_ERR_INVALID, 0, 0, 0, false },
		{ "stun:[not-v6]", PP_ERR_INVALID, 0, 0, 0, false },
		{ "stun:2001:db8::1", PP_ERR_INVALID, 0, 0, 0, false },
		{ "stun:ho st", PP_ERR_INVALID, 0, 0, 0, false },
	};
	struct pp_ice_srv s;

	for (size_t i = 0; i < G_N_ELEMENTS(t); i++) {
		g_test_message("%s", t[i].url);
		int rc = pp_ice_srv_parse(t[i].url, "1700000000:alice", "c2VjcmV0", &s);
		g_assert_cmpint(rc, ==, t[i].rc);
		if (rc == 0) {
			g_assert_cmpint(s.kind, ==, t[i].kind);
			g_assert_cmpuint(s.port, ==, t[i].port);
			g_assert_cmpint(s.resolved, ==, t[i].resolved);
			if (s.kind == PP_ICE_SRV_TURN) {
				g_assert_cmpint(s.relay, ==, t[i].relay);
				g_assert_cmpstr(s.username, ==, "1700000000:alice");
			} else {
				g_assert_null(s.username);
			}
		}
		pp_ice_srv_clear(&s);
	}
	g_assert_cmpint(pp_ice_srv_parse("turn:192.0.2.1", NULL, NULL, &s), ==, PP_ERR_INVALID);
	pp_ice_srv_clear(&s);
}

/* A STUN server that never answers and a TURN server given by name (resolved
 * through GResolver: localhost) where nothing listens:
 * gathering still ends and the host pair still connects. */
static void test_unreachable_servers(void)
{
	static const char *const stun[] = { "stun:127.0.0.1:9", "stuns:127.0.0.1" };
	static const char *const turn[] = { "turn:localhost:9?transport=udp" };
	const struct pp_ice_server servers[] = {
		{ stun, 2, NULL, NULL },
		{ turn, 1, "1700000000:alice", "c2VjcmV0" },
	};
	struct pp_ice_config c = { .ice_servers = servers, .n_ice_servers = 2 };
	struct side a, b;

	pair_init(&a, &b, &c, NULL);
	connect_pair(&a, &b);
	exchange_data(&a, &b);
	side_clear(&a);
	side_clear(&b);
}

int main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	pp_log_setup("test_ice", g_test_verbose() ? PP_LOG_DEBUG : PP_LOG_WARN, PP_LOG_TEXT);
	ctx = g_main_context_new();
	g_test_add_func("/ice/urls", test_urls);
	g_test_add_func("/ice/mdns-wire", test_mdns_wire);
	g_test_add_func("/ice/connect", test_connect);
	g_test_add_func("/ice/line-forms", test_forms);
	g_test_add_func("/ice/before-credentials", test_before_credentials);
	g_test_add_func("/ice/remote-before-gather", test_remote_before_gather);
	g_test_add_func("/ice/late-candidate", test_late_candidate);
	g_test_add_func("/ice/ice-tcp", test_ice_tcp);
	g_test_add_func("/ice/free-in-callback", test_free_in_callback);
	g_test_add_func("/ice/garbage", test_garbage);
	g_test_add_func("/ice/restart", test_restart);
	g_test_add_func("/ice/close", test_close);
	g_test_add_func("/ice/mdns-resolve", test_mdns_resolve);
	g_test_add_func("/ice/mdns-unresolved", test_mdns_unresolved);
	g_test_add_func("/ice/mdns-source", test_mdns_source);
	g_test_add_func("/ice/unreachable-servers", test_unreachable_servers);
	g_test_add_func("/ice/dead-peer", test_dead_peer);
	rc = g_test_run();
	g_main_context_unref(ctx);
	return rc;
}
