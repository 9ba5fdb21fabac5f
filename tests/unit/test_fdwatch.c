/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: pp_fdwatch (src/lib/core/fdwatch.c), on socket pairs and
 * GMainContexts of their own. */
#include "peerpipe/fdwatch.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct seen {
	GIOCondition got;
	unsigned calls;
	struct pp_fdwatch *free_me;   /* freed by this callback */
	int close_me;                 /* and its fd closed (-1: none) */
	struct pp_fdwatch **self;     /* freed by itself when set */
};

static void on_ready(void *user, GIOCondition got)
{
	struct seen *s = user;

	s->got |= got;
	s->calls++;
	if (s->free_me) {
		pp_fdwatch_free(s->free_me);
		s->free_me = NULL;
		if (s->close_me >= 0)
			close(s->close_me);
		s->close_me = -1;
	}
	if (s->self && *s->self) {
		pp_fdwatch_free(*s->self);
		*s->self = NULL;
	}
}

static void pair(int sv[2])
{
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), ==, 0);
}

/* Runs the context without blocking until nothing is left to dispatch. */
static void drain(GMainContext *ctx)
{
	for (int i = 0; i < 10 && g_main_context_iteration(ctx, FALSE); i++)
		;
}

/* One context, one socket pair, one watch on sv[0]. */
struct fx {
	GMainContext *ctx;
	int sv[2];
	struct seen s;
	struct pp_fdwatch *w;
};

static void fx_setup(struct fx *f, gconstpointer data)
{
	(void)data;
	f->ctx = g_main_context_new();
	pair(f->sv);
	f->s = (struct seen){ .close_me = -1 };
	f->w = NULL;
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	(void)data;
	pp_fdwatch_free(f->w);
	for (int i = 0; i < 2; i++)
		if (f->sv[i] >= 0)
			close(f->sv[i]);
	g_main_context_unref(f->ctx);
}

static void test_readable(struct fx *f, gconstpointer data)
{
	char c;

	(void)data;
	f->w = pp_fdwatch_new(f->ctx, f->sv[0], G_IO_IN, on_ready, &f->s);
	g_assert_nonnull(f->w);
	drain(f->ctx);
	g_assert_cmpuint(f->s.calls, ==, 0); /* nothing to read yet */
	g_assert_cmpint(write(f->sv[1], "x", 1), ==, 1);
	while (f->s.calls == 0)
		g_main_context_iteration(f->ctx, TRUE);
	g_assert_cmpuint(f->s.got, ==, G_IO_IN);
	/* Level-triggered: unread data is reported again. */
	f->s.calls = 0;
	drain(f->ctx);
	g_assert_cmpuint(f->s.calls, >, 0);
	/* Out of the set: nothing, though the byte is still there. */
	g_assert_cmpint(pp_fdwatch_set(f->w, 0), ==, 0);
	f->s.calls = 0;
	drain(f->ctx);
	g_assert_cmpuint(f->s.calls, ==, 0);
	g_assert_cmpint(pp_fdwatch_set(f->w, G_IO_IN), ==, 0);
	drain(f->ctx);
	g_assert_cmpuint(f->s.calls, >, 0);
	g_assert_cmpint(read(f->sv[0], &c, 1), ==, 1);
	f->s.calls = 0;
	drain(f->ctx);
	g_assert_cmpuint(f->s.calls, ==, 0);
}

static void test_writable_and_mask(struct fx *f, gconstpointer data)
{
	(void)data;
	g_assert_cmpint(write(f->sv[1], "x", 1), ==, 1); /* readable too */
	f->w = pp_fdwatch_new(f->ctx, f->sv[0], G_IO_OUT, on_ready, &f->s);
	drain(f->ctx);
	g_assert_cmpuint(f->s.got, ==, G_IO_OUT); /* only what was asked */
	g_assert_cmpuint(pp_fdwatch_want(f->w), ==, G_IO_OUT);
}

/* Only G_IO_HUP: the fd is watched for its end alone, as poll() with no
 * events would; pending data is not reported. */
static void test_hup_only(struct fx *f, gconstpointer data)
{
	(void)data;
	g_assert_cmpint(write(f->sv[1], "x", 1), ==, 1);
	f->w = pp_fdwatch_new(f->ctx, f->sv[0], G_IO_HUP, on_ready, &f->s);
	drain(f->ctx);
	g_assert_cmpuint(f->s.calls, ==, 0);
	close(f->sv[1]);
	f->sv[1] = -1;
	shutdown(f->sv[0], SHUT_WR);
	while (f->s.calls == 0)
		g_main_context_iteration(f->ctx, TRUE);
	g_assert_true(f->s.got & G_IO_HUP);
	g_assert_false(f->s.got & G_IO_IN);
}

/* Two fds ready in one batch; the first callback frees the second's watch,
 * closes its fd and watches a new socket that may get the same number: the
 * second's stale event must reach neither the freed watch nor the new one. */
static void test_free_other_in_batch(void)
{
	GMainContext *ctx = g_main_context_new();
	struct seen a = { .close_me = -1 }, b = { .close_me = -1 }, c = { .close_me = -1 };
	int p[2], q[2], r[2];

	pair(p);
	pair(q);
	g_assert_cmpint(write(p[1], "x", 1), ==, 1);
	g_assert_cmpint(write(q[1], "x", 1), ==, 1);
	struct pp_fdwatch *wa = pp_fdwatch_new(ctx, p[0], G_IO_IN, on_ready, &a);
	struct pp_fdwatch *wb = pp_fdwatch_new(ctx, q[0], G_IO_IN, on_ready, &b);
	/* Whichever runs first frees the other. */
	a.free_me = wb;
	a.close_me = q[0];
	b.free_me = wa;
	b.close_me = p[0];
	g_main_context_iteration(ctx, FALSE);
	g_assert_cmpuint(a.calls + b.calls, ==, 1);
	/* The survivor keeps working; a new socket reuses the closed fd. */
	pair(r);
	struct pp_fdwatch *wc = pp_fdwatch_new(ctx, r[0], G_IO_IN, on_ready, &c);
	g_assert_nonnull(wc);
	drain(ctx);
	g_assert_cmpuint(c.calls, ==, 0);
	pp_fdwatch_free(wc);
	pp_fdwatch_free(a.calls ? wa : wb);
	close(a.calls ? p[0] : q[0]);
	close(p[1]);
	close(q[1]);
	close(r[0]);
	close(r[1]);
	g_main_context_unref(ctx);
}

static void test_free_self(struct fx *f, gconstpointer data)
{
	(void)data;
	g_assert_cmpint(write(f->sv[1], "x", 1), ==, 1);
	f->w = pp_fdwatch_new(f->ctx, f->sv[0], G_IO_IN, on_ready, &f->s);
	f->s.self = &f->w;
	drain(f->ctx);
	g_assert_cmpuint(f->s.calls, ==, 1);
	g_assert_null(f->w);
}

/* Many idle watches, one ready: one callback, for that one. */
static void test_many(void)
{
	enum { N = 400 }; /* 800 fds: under the usual limit of 1024 */
	GMainContext *ctx = g_main_context_new();
	struct seen s[N];
	struct pp_fdwatch *w[N];
	int sv[N][2];

	memset(s, 0, sizeof(s));
	for (int i = 0; i < N; i++) {
		s[i].close_me = -1;
		pair(sv[i]);
		w[i] = pp_fdwatch_new(ctx, sv[i][0], G_IO_IN, on_ready, &s[i]);
		g_assert_nonnull(w[i]);
	}
	g_assert_cmpint(write(sv[N / 2][1], "x", 1), ==, 1);
	drain(ctx);
	for (int i = 0; i < N; i++)
		if (i != N / 2)
			g_assert_cmpuint(s[i].calls, ==, 0);
	g_assert_cmpuint(s[N / 2].calls, >, 0);
	for (int i = 0; i < N; i++) {
		pp_fdwatch_free(w[i]);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	g_main_context_unref(ctx);
}

/* A second watch on one fd is refused (one watch per fd), with errno. */
static void test_same_fd_twice(struct fx *f, gconstpointer data)
{
	(void)data;
	f->w = pp_fdwatch_new(f->ctx, f->sv[0], G_IO_IN, on_ready, &f->s);
	errno = 0;
	g_assert_null(pp_fdwatch_new(f->ctx, f->sv[0], G_IO_IN, on_ready, &f->s));
	g_assert_cmpint(errno, ==, EEXIST);
}

/* Contexts in two threads, each with its own set. */
static gpointer thread_run(gpointer data)
{
	(void)data;
	for (int i = 0; i < 50; i++) {
		struct fx f;
		fx_setup(&f, NULL);
		test_readable(&f, NULL);
		fx_teardown(&f, NULL);
	}
	return NULL;
}

static void test_threads(void)
{
	GThread *t1 = g_thread_new("fdw1", thread_run, NULL);
	GThread *t2 = g_thread_new("fdw2", thread_run, NULL);

	g_thread_join(t1);
	g_thread_join(t2);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/fdwatch/readable", struct fx, NULL, fx_setup, test_readable, fx_teardown);
	g_test_add("/fdwatch/writable-and-mask", struct fx, NULL, fx_setup, test_writable_and_mask, fx_teardown);
	g_test_add("/fdwatch/hup-only", struct fx, NULL, fx_setup, test_hup_only, fx_teardown);
	g_test_add_func("/fdwatch/free-other-in-batch", test_free_other_in_batch);
	g_test_add("/fdwatch/free-self", struct fx, NULL, fx_setup, test_free_self, fx_teardown);
	g_test_add_func("/fdwatch/many", test_many);
	g_test_add("/fdwatch/same-fd-twice", struct fx, NULL, fx_setup, test_same_fd_twice, fx_teardown);
	g_test_add_func("/fdwatch/threads", test_threads);
	return g_test_run();
}
