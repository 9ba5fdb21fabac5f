/* SPDX-License-Identifier: Apache-2.0 */
/* One epoll set per GMainContext (a "hub", a GSource whose only fd is the
 * epoll fd), shared by every pp_fdwatch of that context. The hub lives as
 * long as its context: a gateway whose streams come and go one at a time
 * would otherwise make and attach a new one for each. */
#include "peerpipe/fdwatch.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <unistd.h>

#define PP_FDWATCH_BATCH 64 /* events taken per dispatch; the rest wait a turn */

struct pp_fdhub {
	GSource base;
	GMainContext *ctx;     /* the key in hubs (base.context is cleared first) */
	int epfd;
	unsigned depth;        /* dispatches in progress (a callback may recurse) */
	GPtrArray *dead;       /* watches freed during a dispatch */
};

struct pp_fdwatch {
	struct pp_fdhub *hub;
	int fd;
	GIOCondition want;
	bool dead;
	pp_fdwatch_fn fn;
	void *user;
};

static GMutex hubs_lock;
static GHashTable *hubs; /* GMainContext * -> struct pp_fdhub * */

static GIOCondition pp_fdwatch_got(uint32_t ev, GIOCondition want)
{
	GIOCondition got = 0;

	if (ev & EPOLLIN)
		got |= G_IO_IN;
	if (ev & EPOLLOUT)
		got |= G_IO_OUT;
	if (ev & EPOLLHUP)
		got |= G_IO_HUP;
	if (ev & EPOLLERR)
		got |= G_IO_ERR;
	return got & (want | G_IO_HUP | G_IO_ERR);
}

static void pp_fdhub_bury(struct pp_fdhub *h)
{
	for (guint i = 0; i < h->dead->len; i++)
		g_free(g_ptr_array_index(h->dead, i));
	g_ptr_array_set_size(h->dead, 0);
}

/* Waits up to timeout_ms (0: not at all) for the set and runs the
 * callbacks of the watches that are ready; returns their count or -errno. */
static int pp_fdhub_run(struct pp_fdhub *h, int timeout_ms)
{
	struct epoll_event evs[PP_FDWATCH_BATCH];
	int n;

	do
		n = epoll_wait(h->epfd, evs, PP_FDWATCH_BATCH, timeout_ms);
	while (n < 0 && errno == EINTR && timeout_ms == 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	h->depth++;
	for (int i = 0; i < n; i++) {
		/* A watch freed by an earlier callback of this batch is still
		 * allocated (dead), so its stale event is skipped safely. */
		struct pp_fdwatch *w = evs[i].data.ptr;
		GIOCondition got;
		if (w->dead || w->want == 0)
			continue;
		got = pp_fdwatch_got(evs[i].events, w->want);
		if (got)
			w->fn(w->user, got);
	}
	if (--h->depth == 0)
		pp_fdhub_bury(h);
	return n;
}

static gboolean pp_fdhub_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	(void)cb;
	(void)data;
	pp_fdhub_run((struct pp_fdhub *)src, 0);
	return G_SOURCE_CONTINUE;
}

static void pp_fdhub_finalize(GSource *src)
{
	struct pp_fdhub *h = (struct pp_fdhub *)src;

	g_mutex_lock(&hubs_lock);
	if (hubs && g_hash_table_lookup(hubs, h->ctx) == h)
		g_hash_table_remove(hubs, h->ctx);
	g_mutex_unlock(&hubs_lock);
	pp_fdhub_bury(h);
	g_ptr_array_free(h->dead, TRUE);
	close(h->epfd);
}

static GSourceFuncs pp_fdhub_funcs = {
	.dispatch = pp_fdhub_dispatch,
	.finalize = pp_fdhub_finalize,
};

static struct pp_fdhub *pp_fdhub_get(GMainContext *ctx)
{
	struct pp_fdhub *h;

	g_mutex_lock(&hubs_lock);
	if (!hubs)
		hubs = g_hash_table_new(g_direct_hash, g_direct_equal);
	h = g_hash_table_lookup(hubs, ctx);
	if (!h) {
		int epfd = epoll_create1(EPOLL_CLOEXEC);
		if (epfd >= 0) {
			h = (struct pp_fdhub *)g_source_new(&pp_fdhub_funcs, sizeof(*h));
			h->ctx = ctx;
			h->epfd = epfd;
			h->dead = g_ptr_array_new();
			g_source_set_name(&h->base, "pp-fdwatch");
			g_source_add_unix_fd(&h->base, epfd, G_IO_IN);
			/* Not "blocked" around each dispatch (GLib would take the
			 * fd out of the poll set and back, writing its wakeup
			 * eventfd twice); dispatch copes with recursion. */
			g_source_set_can_recurse(&h->base, TRUE);
			g_hash_table_insert(hubs, ctx, h);
			g_source_attach(&h->base, ctx);
			g_source_unref(&h->base); /* the context holds it */
		}
	}
	g_mutex_unlock(&hubs_lock);
	return h;
}

static uint32_t pp_fdwatch_events(GIOCondition want)
{
	return (want & G_IO_IN ? EPOLLIN : 0) | (want & G_IO_OUT ? EPOLLOUT : 0);
}

struct pp_fdwatch *pp_fdwatch_new(GMainContext *ctx, int fd, GIOCondition want,
                                  pp_fdwatch_fn fn, void *user)
{
	struct pp_fdhub *h = pp_fdhub_get(ctx ? ctx : g_main_context_default());
	struct pp_fdwatch *w;

	if (!h)
		return NULL;
	w = g_new0(struct pp_fdwatch, 1);
	w->hub = h;
	w->fd = fd;
	w->fn = fn;
	w->user = user;
	if (pp_fdwatch_set(w, want) < 0) {
		int err = errno;
		g_free(w);
		errno = err;
		return NULL;
	}
	return w;
}

int pp_fdwatch_set(struct pp_fdwatch *w, GIOCondition want)
{
	struct epoll_event ev = { .events = pp_fdwatch_events(want), .data.ptr = w };
	int op;

	want &= G_IO_IN | G_IO_OUT | G_IO_HUP;
	if (want == w->want)
		return 0;
	op = want == 0 ? EPOLL_CTL_DEL : w->want == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(w->hub->epfd, op, w->fd, &ev) < 0)
		return -errno;
	w->want = want;
	return 0;
}

GIOCondition pp_fdwatch_want(const struct pp_fdwatch *w)
{
	return w->want;
}

void pp_fdwatch_free(struct pp_fdwatch *w)
{
	struct pp_fdhub *h;

	if (!w)
		return;
	h = w->hub;
	pp_fdwatch_set(w, 0);
	if (h->depth > 0) {
		w->dead = true;
		g_ptr_array_add(h->dead, w);
	} else {
		g_free(w);
	}
}

struct pp_fdhub *pp_fdwatch_hub(GMainContext *ctx)
{
	return pp_fdhub_get(ctx ? ctx : g_main_context_default());
}

int pp_fdwatch_hub_fd(const struct pp_fdhub *h)
{
	return h->epfd;
}

int pp_fdwatch_wait(struct pp_fdhub *h, int timeout_ms)
{
	return pp_fdhub_run(h, timeout_ms);
}
