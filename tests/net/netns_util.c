/* SPDX-License-Identifier: Apache-2.0 */
#include "netns_util.h"

#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <unistd.h>

struct call {
	struct peer *p;
	void (*fn)(struct peer *p, void *arg);
	void *arg;
	GMutex lock;
	GCond cond;
	bool done;
};

static gboolean call_run(gpointer data)
{
	struct call *c = data;

	c->fn(c->p, c->arg);
	g_mutex_lock(&c->lock);
	c->done = true;
	g_cond_signal(&c->cond);
	g_mutex_unlock(&c->lock);
	return G_SOURCE_REMOVE;
}

void netns_run_on(GMainContext *ctx, void (*fn)(struct peer *p, void *arg), struct peer *p,
                  void *arg)
{
	struct call c = { .p = p, .fn = fn, .arg = arg };

	g_mutex_init(&c.lock);
	g_cond_init(&c.cond);
	g_main_context_invoke(ctx, call_run, &c);
	g_mutex_lock(&c.lock);
	while (!c.done)
		g_cond_wait(&c.cond, &c.lock);
	g_mutex_unlock(&c.lock);
	g_mutex_clear(&c.lock);
	g_cond_clear(&c.cond);
}

bool wait_for(bool (*cond)(void *), void *d, unsigned ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

	while (!cond(d)) {
		if (g_get_monotonic_time() > end)
			return false;
		g_usleep(5000);
	}
	return true;
}

void netns_enter_thread(const char *ns, GMainContext *ctx)
{
	char path[160];
	int fd;

	g_snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(setns(fd, CLONE_NEWNET), ==, 0);
	close(fd);
	g_main_context_push_thread_default(ctx);
}

gboolean quit_loop(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

void netns_thread_stop(GThread *thread, GMainContext *ctx, GMainLoop *loop)
{
	g_main_context_invoke(ctx, quit_loop, loop);
	g_thread_join(thread);
	g_main_loop_unref(loop);
	g_main_context_unref(ctx);
}

void sh(const char *fmt, ...)
{
	va_list ap;
	int status = -1;

	va_start(ap, fmt);
	gchar *cmd = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	gchar *argv[] = { "/bin/sh", "-c", cmd, NULL };
	g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
	                           NULL));
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("command failed: %s", cmd);
	g_free(cmd);
}
