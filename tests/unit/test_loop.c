/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: pp_loop (src/lib/core/loop.c), each on a GMainContext of its
 * own: GLib's sources still run as under g_main_loop_run(), watches and
 * claims run in fast turns without GLib's turn, and what the fast turns
 * cannot see (sources attached meanwhile, a poke, an fd number reused)
 * still gets its turn. */
#include "peerpipe/fdwatch.h"
#include "peerpipe/loop.h"

#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS 2000

struct fx {
	GMainContext *ctx;
	struct pp_loop *loop;
	guint guard;
};

static gboolean on_guard(gpointer data)
{
	(void)data;
	g_assert_not_reached(); /* the test hung: fail, do not time out */
	return G_SOURCE_REMOVE;
}

static void fx_setup(struct fx *f, gconstpointer data)
{
	GSource *g = g_timeout_source_new_seconds(20);

	(void)data;
	f->ctx = g_main_context_new();
	g_main_context_push_thread_default(f->ctx);
	f->loop = pp_loop_new(f->ctx);
	g_assert_nonnull(f->loop);
	g_assert_true(pp_loop_of(f->ctx) == f->loop);
	g_assert_null(pp_loop_new(f->ctx)); /* one per context */
	g_source_set_callback(g, on_guard, NULL, NULL);
	f->guard = g_source_attach(g, f->ctx);
	g_source_unref(g);
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	(void)data;
	g_source_destroy(g_main_context_find_source_by_id(f->ctx, f->guard));
	pp_loop_free(f->loop);
	g_assert_null(pp_loop_of(f->ctx));
	g_main_context_pop_thread_default(f->ctx);
	g_main_context_unref(f->ctx);
}

static void pair(int sv[2])
{
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), ==, 0);
}

static void drain_socket(int fd)
{
	char b;

	while (recv(fd, &b, 1, 0) == 1)
		;
}

static GSource *attach(GMainContext *ctx, GSource *src, GSourceFunc fn, gpointer data)
{
	g_source_set_callback(src, fn, data, NULL);
	g_source_attach(src, ctx);
	g_source_unref(src);
	return src;
}

/* --- GLib's own sources: timers, fds, quit ------------------------------- */

struct glib_fx {
	struct fx *f;
	int sv[2];
	unsigned ticks, reads;
};

static gboolean on_tick(gpointer data)
{
	struct glib_fx *g = data;

	if (++g->ticks == 3)
		g_assert_cmpint(write(g->sv[1], "x", 1), ==, 1);
	return g->ticks < 3 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean on_glib_readable(gint fd, GIOCondition got, gpointer data)
{
	struct glib_fx *g = data;
	char c;

	g_assert_true(got & G_IO_IN);
	g_assert_cmpint(read(fd, &c, 1), ==, 1);
	g->reads++;
	pp_loop_quit(g->f->loop);
	return G_SOURCE_REMOVE;
}

static void test_glib_sources(struct fx *f, gconstpointer data)
{
	struct glib_fx g = { .f = f };

	(void)data;
	pair(g.sv);
	attach(f->ctx, g_timeout_source_new(2), on_tick, &g);
	attach(f->ctx, g_unix_fd_source_new(g.sv[0], G_IO_IN), G_SOURCE_FUNC(on_glib_readable), &g);
	pp_loop_run(f->loop);
	g_assert_cmpuint(g.ticks, ==, 3);
	g_assert_cmpuint(g.reads, ==, 1);
	close(g.sv[0]);
	close(g.sv[1]);
}

/* --- watches: a ping-pong that GLib's turn does not see ------------------- */

struct pong_fx {
	struct fx *f;
	int sv[2];
	struct pp_fdwatch *w;
	unsigned got, hooks;
	bool idle_ran, idle_armed;
};

static gpointer pong_peer(gpointer data)
{
	struct pong_fx *p = data;
	int fd = p->sv[1];

	for (unsigned i = 0; i < ROUNDS; i++) {
		char c = 'p';
		struct timeval tv = { .tv_sec = 10 };
		g_assert_cmpint(send(fd, &c, 1, 0), ==, 1);
		fd_set rd;
		FD_ZERO(&rd);
		FD_SET(fd, &rd);
		g_assert_cmpint(select(fd + 1, &rd, NULL, NULL, &tv), ==, 1);
		g_assert_cmpint(recv(fd, &c, 1, 0), ==, 1);
	}
	return NULL;
}

static gboolean on_idle(gpointer data)
{
	struct pong_fx *p = data;

	p->idle_ran = true;
	if (p->got == ROUNDS)
		pp_loop_quit(p->f->loop);
	return G_SOURCE_REMOVE;
}

static void on_ping(void *user, GIOCondition got)
{
	struct pong_fx *p = user;
	char c;

	g_assert_true(got & G_IO_IN);
	while (recv(p->sv[0], &c, 1, 0) == 1) {
		p->got++;
		g_assert_cmpint(send(p->sv[0], &c, 1, 0), ==, 1);
	}
	/* A source attached in a fast turn, which GLib's prepare has not
	 * seen: it must still run. */
	if (p->got >= ROUNDS / 2 && !p->idle_armed) {
		p->idle_armed = true;
		attach(p->f->ctx, g_idle_source_new(), on_idle, p);
	}
	if (p->got == ROUNDS && p->idle_ran)
		pp_loop_quit(p->f->loop);
}

static void on_hook(void *user)
{
	((struct pong_fx *)user)->hooks++;
}

static void test_fast_turns(struct fx *f, gconstpointer data)
{
	struct pong_fx p = { .f = f };
	struct pp_loop_stats st;
	GThread *peer;

	(void)data;
	pair(p.sv);
	p.w = pp_fdwatch_new(f->ctx, p.sv[0], G_IO_IN, on_ping, &p);
	g_assert_nonnull(p.w);
	pp_loop_hook_add(f->loop, PP_LOOP_FLUSH, on_hook, &p);
	peer = g_thread_new("pong", pong_peer, &p);
	pp_loop_run(f->loop);
	g_thread_join(peer);
	pp_loop_stats(f->loop, &st);
	g_test_message("%u rounds: %" G_GUINT64_FORMAT " GLib turns, %" G_GUINT64_FORMAT
	               " fast turns, %u hooks", ROUNDS, st.glib_turns, st.fast_turns, p.hooks);
	g_assert_cmpuint(p.got, ==, ROUNDS);
	g_assert_true(p.idle_ran);
	/* Wakeups only the watch caused are fast turns; the hooks ran after
	 * each of them (and after waits that also had GLib work). */
	g_assert_cmpuint(st.fast_turns, >, 0);
	g_assert_cmpuint(p.hooks, >=, st.fast_turns);
	/* The data path changes no GLib fd: the mirrors are made again
	 * only at the start and after the idle source came and went. */
	g_assert_true(st.wakeup_known);
	g_assert_cmpuint(st.remakes, <=, 4);
	pp_loop_hook_remove(f->loop, on_hook, &p);
	pp_fdwatch_free(p.w);
	close(p.sv[0]);
	close(p.sv[1]);
}

/* --- claims: the claim reads data, GLib's source gets the rest ----------- */

struct claim_fx {
	struct fx *f;
	int sv[2];
	unsigned claimed, glib_read;
	GString *order;
};

/* Takes 'd' bytes; anything else is for the GLib source. */
static bool on_claim(void *user)
{
	struct claim_fx *c = user;
	char b;

	while (recv(c->sv[0], &b, 1, MSG_PEEK) == 1) {
		if (b != 'd')
			return false;
		g_assert_cmpint(recv(c->sv[0], &b, 1, 0), ==, 1);
		c->claimed++;
		g_string_append_c(c->order, b);
	}
	return true;
}

static gboolean on_claimed_fd(gint fd, GIOCondition got, gpointer data)
{
	struct claim_fx *c = data;
	char b;

	(void)got;
	if (recv(fd, &b, 1, 0) == 1) {
		c->glib_read++;
		g_string_append_c(c->order, b);
		if (b == 'q')
			pp_loop_quit(c->f->loop);
	}
	return G_SOURCE_CONTINUE;
}

static void test_claim(struct fx *f, gconstpointer data)
{
	struct claim_fx c = { .f = f, .order = g_string_new(NULL) };

	(void)data;
	pair(c.sv);
	attach(f->ctx, g_unix_fd_source_new(c.sv[0], G_IO_IN), G_SOURCE_FUNC(on_claimed_fd), &c);
	pp_loop_claim(f->loop, c.sv[0], on_claim, &c);
	g_assert_cmpint(send(c.sv[1], "dddsddq", 7, 0), ==, 7);
	pp_loop_run(f->loop);
	/* In order: the claim stops at 's' and reads again after GLib's
	 * source took it. */
	g_assert_cmpstr(c.order->str, ==, "dddsddq");
	g_assert_cmpuint(c.claimed, ==, 5);
	g_assert_cmpuint(c.glib_read, ==, 2);
	pp_loop_unclaim(f->loop, c.sv[0], &c);
	g_string_free(c.order, TRUE);
	close(c.sv[0]);
	close(c.sv[1]);
}

/* --- hook stages: work before flush, once more when asked ---------------- */

struct stage_fx {
	struct fx *f;
	int sv[2];
	GString *seq;
	bool work_due, asked;
};

static void on_stage_data(void *user, GIOCondition got)
{
	struct stage_fx *s = user;

	(void)got;
	drain_socket(s->sv[0]);
	s->work_due = true;
}

static void on_work(void *user)
{
	struct stage_fx *s = user;

	if (!s->work_due)
		return;
	s->work_due = false;
	g_string_append_c(s->seq, 'W');
}

/* The first flush makes more work (as a send that makes SCTP defer
 * some): the hooks run again, the work before the loop sleeps. */
static void on_flush(void *user)
{
	struct stage_fx *s = user;

	g_string_append_c(s->seq, 'F');
	if (!s->asked) {
		s->asked = true;
		s->work_due = true;
		pp_loop_again(s->f->ctx);
		return;
	}
	pp_loop_quit(s->f->loop);
}

static void test_hook_stages(struct fx *f, gconstpointer data)
{
	struct stage_fx s = { .f = f, .seq = g_string_new(NULL) };
	struct pp_fdwatch *w;

	(void)data;
	pair(s.sv);
	/* Added flush first: the stage orders them, not the order of adding. */
	pp_loop_hook_add(f->loop, PP_LOOP_FLUSH, on_flush, &s);
	pp_loop_hook_add(f->loop, PP_LOOP_WORK, on_work, &s);
	w = pp_fdwatch_new(f->ctx, s.sv[0], G_IO_IN, on_stage_data, &s);
	g_assert_cmpint(send(s.sv[1], "x", 1, 0), ==, 1);
	pp_loop_run(f->loop);
	g_assert_cmpstr(s.seq->str, ==, "WFWF");
	pp_loop_hook_remove(f->loop, on_flush, &s);
	pp_loop_hook_remove(f->loop, on_work, &s);
	pp_fdwatch_free(w);
	g_string_free(s.seq, TRUE);
	close(s.sv[0]);
	close(s.sv[1]);
}

/* --- a poke makes GLib check a flag a fast turn set ----------------------- */

struct flag_source {
	GSource base;
	bool *flag;
};

static gboolean flag_prepare(GSource *src, gint *timeout)
{
	*timeout = -1;
	return *((struct flag_source *)src)->flag;
}

static gboolean flag_check(GSource *src)
{
	return *((struct flag_source *)src)->flag;
}

static gboolean flag_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	*((struct flag_source *)src)->flag = false;
	return cb(data);
}

static GSourceFuncs flag_funcs = { flag_prepare, flag_check, flag_dispatch, NULL, NULL, NULL };

struct poke_fx {
	struct fx *f;
	int sv[2];
	bool flag;
	gint64 set_at, seen_after;
};

static void on_poke_data(void *user, GIOCondition got)
{
	struct poke_fx *p = user;

	(void)got;
	drain_socket(p->sv[0]);
	p->flag = true;
	p->set_at = g_get_monotonic_time();
	pp_loop_poke(p->f->ctx);
}

static gboolean on_flag(gpointer data)
{
	struct poke_fx *p = data;

	p->seen_after = g_get_monotonic_time() - p->set_at;
	pp_loop_quit(p->f->loop);
	return G_SOURCE_CONTINUE;
}

static void test_poke(struct fx *f, gconstpointer data)
{
	struct poke_fx p = { .f = f };
	struct flag_source *src = (struct flag_source *)g_source_new(&flag_funcs, sizeof(*src));
	struct pp_fdwatch *w;
	struct pp_loop_stats st;

	(void)data;
	pair(p.sv);
	src->flag = &p.flag;
	attach(f->ctx, &src->base, on_flag, &p);
	w = pp_fdwatch_new(f->ctx, p.sv[0], G_IO_IN, on_poke_data, &p);
	g_assert_cmpint(send(p.sv[1], "x", 1, 0), ==, 1);
	pp_loop_run(f->loop);
	pp_loop_stats(f->loop, &st);
	g_assert_true(p.seen_after >= 0);
	/* Seen in the GLib turn that ended the wait, not in a later one
	 * (there is no timer here to make one). */
	g_assert_cmpuint(st.glib_turns, <=, 2);
	g_source_destroy(&src->base);
	pp_fdwatch_free(w);
	close(p.sv[0]);
	close(p.sv[1]);
}

/* --- an fd number reused in one dispatch --------------------------------- */

struct reuse_fx {
	struct fx *f;
	int a[2], b[2];
	guint a_src;
	int reused_fd;
	bool b_read;
};

static gboolean on_b(gint fd, GIOCondition got, gpointer data)
{
	struct reuse_fx *r = data;
	char c;

	(void)got;
	g_assert_cmpint(read(fd, &c, 1), ==, 1);
	r->b_read = true;
	pp_loop_quit(r->f->loop);
	return G_SOURCE_REMOVE;
}

static gboolean on_a(gint fd, GIOCondition got, gpointer data)
{
	struct reuse_fx *r = data;
	char c;

	(void)got;
	g_assert_cmpint(read(fd, &c, 1), ==, 1);
	/* Close a's end and its source; a new socket takes the number. */
	close(r->a[0]);
	close(r->a[1]);
	pair(r->b);
	r->reused_fd = r->b[0];
	attach(r->f->ctx, g_unix_fd_source_new(r->b[0], G_IO_IN), G_SOURCE_FUNC(on_b), r);
	g_assert_cmpint(send(r->b[1], "y", 1, 0), ==, 1);
	return G_SOURCE_REMOVE;
}

/* Later, once the loop has run a few turns and knows GLib's wakeup fd. */
static gboolean on_reuse_start(gpointer data)
{
	struct reuse_fx *r = data;

	g_assert_cmpint(send(r->a[1], "x", 1, 0), ==, 1);
	return G_SOURCE_REMOVE;
}

static void test_fd_reused(struct fx *f, gconstpointer data)
{
	struct reuse_fx r = { .f = f };
	struct pp_loop_stats st;
	int first;

	(void)data;
	pair(r.a);
	first = r.a[0];
	attach(f->ctx, g_unix_fd_source_new(r.a[0], G_IO_IN), G_SOURCE_FUNC(on_a), &r);
	attach(f->ctx, g_timeout_source_new(20), on_reuse_start, &r);
	pp_loop_run(f->loop);
	g_assert_true(r.b_read);
	pp_loop_stats(f->loop, &st);
	g_test_message("fd %d reused: %s; %" G_GUINT64_FORMAT " GLib turns, %" G_GUINT64_FORMAT
	               " remade", first, r.reused_fd == first ? "yes" : "no",
	               st.glib_turns, st.remakes);
	/* The case under test, and the path that covers it: GLib's wakeup fd
	 * was found, and the mirrors were made again after it fired. */
	g_assert_cmpint(r.reused_fd, ==, first);
	g_assert_true(st.wakeup_known);
	close(r.b[0]);
	close(r.b[1]);
}

/* --- a GLib fd closed while another holder keeps its file open ---------- */

struct held_fx {
	struct fx *f;
	int sv[2], held;
	bool closed;
};

static gboolean on_held(gint fd, GIOCondition got, gpointer data)
{
	struct held_fx *h = data;
	char c;

	(void)got;
	g_assert_cmpint(read(fd, &c, 1), ==, 1);
	close(h->sv[0]); /* the file lives on in held */
	h->closed = true;
	/* and becomes readable again with nobody watching it */
	g_assert_cmpint(send(h->sv[1], "z", 1, 0), ==, 1);
	return G_SOURCE_REMOVE;
}

static gboolean on_held_done(gpointer data)
{
	pp_loop_quit(((struct held_fx *)data)->f->loop);
	return G_SOURCE_REMOVE;
}

/* epoll keeps a registration while the file is open anywhere; the
 * mirror's must still go with GLib's source, or its events would reach
 * freed memory and, the file staying readable, never stop. */
static void test_fd_held_elsewhere(struct fx *f, gconstpointer data)
{
	struct held_fx h = { .f = f };
	struct pp_loop_stats st;

	(void)data;
	pair(h.sv);
	h.held = dup(h.sv[0]);
	attach(f->ctx, g_unix_fd_source_new(h.sv[0], G_IO_IN), G_SOURCE_FUNC(on_held), &h);
	g_assert_cmpint(send(h.sv[1], "y", 1, 0), ==, 1);
	attach(f->ctx, g_timeout_source_new(50), on_held_done, &h);
	pp_loop_run(f->loop);
	pp_loop_stats(f->loop, &st);
	g_test_message("%" G_GUINT64_FORMAT " GLib turns, %" G_GUINT64_FORMAT " fast turns",
	               st.glib_turns, st.fast_turns);
	g_assert_true(h.closed);
	g_assert_cmpuint(st.fast_turns, ==, 0); /* nothing woke the loop for nothing */
	g_assert_cmpuint(st.glib_turns, <, 20);
	close(h.held);
	close(h.sv[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/core/loop/glib-sources", struct fx, NULL, fx_setup, test_glib_sources,
	           fx_teardown);
	g_test_add("/core/loop/fast-turns", struct fx, NULL, fx_setup, test_fast_turns, fx_teardown);
	g_test_add("/core/loop/claim", struct fx, NULL, fx_setup, test_claim, fx_teardown);
	g_test_add("/core/loop/hook-stages", struct fx, NULL, fx_setup, test_hook_stages,
	           fx_teardown);
	g_test_add("/core/loop/poke", struct fx, NULL, fx_setup, test_poke, fx_teardown);
	g_test_add("/core/loop/fd-reused", struct fx, NULL, fx_setup, test_fd_reused, fx_teardown);
	g_test_add("/core/loop/fd-held-elsewhere", struct fx, NULL, fx_setup, test_fd_held_elsewhere,
	           fx_teardown);
	return g_test_run();
}
