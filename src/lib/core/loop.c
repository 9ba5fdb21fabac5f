/* SPDX-License-Identifier: Apache-2.0 */
/* pp_loop (loop.h): GLib's prepare, query, check and dispatch, with the
 * wait in the context's fdwatch epoll set instead of poll().
 *
 * GLib's fds are mirrored there as watches ("mirrors") that record what
 * fired into the GPollFD array the next check() reads. The set of mirrors
 * follows each query. A mirror watches a duplicate of GLib's fd that the
 * loop owns: epoll keys a registration on the open file, not the number,
 * and keeps it while any process holds the file (a pipe a child shares,
 * say), so a registration made on GLib's fd could outlive GLib's close()
 * with no fd left to remove it by. The duplicate also keeps the file open
 * until the mirror goes, at the next sync (for a socket GLib closed, a
 * turn later). When a GLib source closes an fd and another one gets its
 * number in the same dispatch, the query looks the same while the mirror
 * still watches the old file. GLib writes its wakeup eventfd whenever a
 * source's fd comes or goes, so every mirror is made again after that fd
 * fired. Which fd it is, GLib does not say: the loop wakes the
 * context itself and takes the one fd that became readable
 * (pp_loop_find_wakeup). Until it knows, every turn that dispatched or
 * had a GLib fd fire makes them again.
 * Anything the set cannot take (the same fd twice in a query, an fd epoll
 * refuses) makes that turn a plain poll() turn. */
#include "peerpipe/loop.h"

#include "peerpipe/fdwatch.h"
#include "peerpipe/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

struct pp_loop_mirror {
	struct pp_loop *l;
	struct pp_fdwatch *w; /* on dupfd */
	int fd;               /* GLib's */
	int dupfd;
	gushort events;
	gint idx;  /* in l->fds for the turn under way */
	guint gen; /* the sync that saw it last */
};

struct pp_loop_claim {
	pp_loop_claim_fn fn;
	void *user;
};

#define PP_LOOP_HOOK_ROUNDS 4 /* hooks that keep asking for more: GLib's turn */

struct pp_loop_hook {
	enum pp_loop_stage stage;
	pp_loop_hook_fn fn;
	void *user;
};

struct pp_loop {
	GMainContext *ctx;
	bool quit, poked, glib_ready;
	bool again;          /* run the hooks once more (pp_loop_again) */
	bool remake;         /* make every mirror again at the next sync */
	int wakeup_fd;       /* GLib's wakeup eventfd; -1: not known yet */
	unsigned wakeup_tries;
	bool wakeup_fired;   /* since the last sync */
	bool wakeup_listed;  /* in the last query */
	GPollFD *fds;
	gint nfds, cap;
	struct pp_fdhub *hub; /* the context's fdwatch set, found once */
	int hubfd;
	guint gen;
	GHashTable *mirrors; /* fd -> struct pp_loop_mirror */
	GHashTable *claims;  /* fd -> struct pp_loop_claim */
	GArray *hooks;       /* struct pp_loop_hook; fn NULL: removed while running */
	unsigned hooks_depth;
	struct pp_loop_stats stats;
};

static GMutex pp_loops_lock;
static GHashTable *pp_loops; /* GMainContext * -> struct pp_loop * */
static __thread struct pp_loop *pp_loop_running;

static void pp_loop_mirror_free(gpointer data)
{
	struct pp_loop_mirror *m = data;

	pp_fdwatch_free(m->w); /* out of the set, then closed */
	if (m->dupfd >= 0)
		close(m->dupfd);
	g_free(m);
}

struct pp_loop *pp_loop_new(GMainContext *ctx)
{
	struct pp_loop *l;

	g_mutex_lock(&pp_loops_lock);
	if (!pp_loops)
		pp_loops = g_hash_table_new(g_direct_hash, g_direct_equal);
	if (g_hash_table_contains(pp_loops, ctx)) {
		g_mutex_unlock(&pp_loops_lock);
		return NULL;
	}
	l = g_new0(struct pp_loop, 1);
	l->ctx = g_main_context_ref(ctx);
	l->mirrors = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, pp_loop_mirror_free);
	l->claims = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	l->hooks = g_array_new(FALSE, FALSE, sizeof(struct pp_loop_hook));
	l->hubfd = -1;
	l->wakeup_fd = -1;
	g_hash_table_insert(pp_loops, ctx, l);
	g_mutex_unlock(&pp_loops_lock);
	return l;
}

void pp_loop_free(struct pp_loop *l)
{
	if (!l)
		return;
	g_mutex_lock(&pp_loops_lock);
	g_hash_table_remove(pp_loops, l->ctx);
	g_mutex_unlock(&pp_loops_lock);
	g_hash_table_destroy(l->mirrors);
	g_hash_table_destroy(l->claims);
	g_array_free(l->hooks, TRUE);
	g_free(l->fds);
	g_main_context_unref(l->ctx);
	g_free(l);
}

struct pp_loop *pp_loop_of(GMainContext *ctx)
{
	struct pp_loop *l;

	g_mutex_lock(&pp_loops_lock);
	l = pp_loops ? g_hash_table_lookup(pp_loops, ctx) : NULL;
	g_mutex_unlock(&pp_loops_lock);
	return l;
}

void pp_loop_quit(struct pp_loop *l)
{
	l->quit = true;
	if (pp_loop_running != l)
		g_main_context_wakeup(l->ctx);
}

void pp_loop_poke(GMainContext *ctx)
{
	if (pp_loop_running && pp_loop_running->ctx == ctx)
		pp_loop_running->poked = true;
}

void pp_loop_again(GMainContext *ctx)
{
	if (pp_loop_running && pp_loop_running->ctx == ctx && pp_loop_running->hooks_depth > 0)
		pp_loop_running->again = true;
}

void pp_loop_hook_add(struct pp_loop *l, enum pp_loop_stage stage, pp_loop_hook_fn fn,
                      void *user)
{
	struct pp_loop_hook h = { stage, fn, user };

	g_array_append_val(l->hooks, h);
}

void pp_loop_hook_remove(struct pp_loop *l, pp_loop_hook_fn fn, void *user)
{
	for (guint i = 0; i < l->hooks->len; i++) {
		struct pp_loop_hook *h = &g_array_index(l->hooks, struct pp_loop_hook, i);
		if (h->fn != fn || h->user != user)
			continue;
		if (l->hooks_depth > 0)
			h->fn = NULL; /* compacted after the hooks ran */
		else
			g_array_remove_index_fast(l->hooks, i);
		return;
	}
}

/* Every hook of each stage in turn, again while they ask for it (a flush
 * that made SCTP defer work); GLib's turn when that does not settle. */
static void pp_loop_run_hooks(struct pp_loop *l)
{
	unsigned round = 0;

	l->hooks_depth++;
	do {
		l->again = false;
		for (enum pp_loop_stage st = PP_LOOP_WORK; st <= PP_LOOP_FLUSH; st++) {
			for (guint i = 0; i < l->hooks->len; i++) {
				struct pp_loop_hook h = g_array_index(l->hooks, struct pp_loop_hook, i);
				if (h.fn && h.stage == st)
					h.fn(h.user);
			}
		}
	} while (l->again && !l->quit && ++round < PP_LOOP_HOOK_ROUNDS);
	if (l->again)
		l->poked = true;
	if (--l->hooks_depth > 0)
		return;
	for (guint i = l->hooks->len; i-- > 0;)
		if (!g_array_index(l->hooks, struct pp_loop_hook, i).fn)
			g_array_remove_index_fast(l->hooks, i);
}

void pp_loop_claim(struct pp_loop *l, int fd, pp_loop_claim_fn fn, void *user)
{
	struct pp_loop_claim *c = g_new(struct pp_loop_claim, 1);

	c->fn = fn;
	c->user = user;
	g_hash_table_replace(l->claims, GINT_TO_POINTER(fd), c);
}

void pp_loop_unclaim(struct pp_loop *l, int fd, void *user)
{
	struct pp_loop_claim *c = g_hash_table_lookup(l->claims, GINT_TO_POINTER(fd));

	if (c && c->user == user)
		g_hash_table_remove(l->claims, GINT_TO_POINTER(fd));
}

void pp_loop_stats(const struct pp_loop *l, struct pp_loop_stats *out)
{
	*out = l->stats;
	out->wakeup_known = l->wakeup_fd >= 0;
}

/* A GLib fd is ready: a claim may read it first; what is left goes to the
 * GPollFD that check() reads. */
static void pp_loop_mirror_fired(void *user, GIOCondition got)
{
	struct pp_loop_mirror *m = user;
	struct pp_loop *l = m->l;

	if ((got & G_IO_IN) && !(got & (G_IO_HUP | G_IO_ERR))) {
		struct pp_loop_claim *c = g_hash_table_lookup(l->claims, GINT_TO_POINTER(m->fd));
		if (c && c->fn(c->user))
			got &= ~G_IO_IN;
	}
	if (!got || m->idx < 0 || m->idx >= l->nfds || l->fds[m->idx].fd != m->fd)
		return;
	l->fds[m->idx].revents |= got;
	l->glib_ready = true;
	if (m->fd == l->wakeup_fd)
		l->wakeup_fired = true;
}

static GIOCondition pp_loop_want(gushort events)
{
	GIOCondition want = events & (G_IO_IN | G_IO_OUT);

	return want ? want : G_IO_HUP;
}

/* Makes m watch events on GLib's fd; false when the set cannot take it. */
static bool pp_loop_mirror_set(struct pp_loop *l, struct pp_loop_mirror *m, gushort events,
                               bool remake)
{
	if (m->w && !remake) {
		if (m->events == events)
			return true;
		if (pp_fdwatch_set(m->w, pp_loop_want(events)) == 0) {
			m->events = events;
			return true;
		}
	}
	/* New, or the number may name another file now. */
	pp_fdwatch_free(m->w);
	m->w = NULL;
	if (m->dupfd >= 0)
		close(m->dupfd);
	m->dupfd = fcntl(m->fd, F_DUPFD_CLOEXEC, 0);
	if (m->dupfd < 0)
		return false;
	m->w = pp_fdwatch_new(l->ctx, m->dupfd, pp_loop_want(events), pp_loop_mirror_fired, m);
	m->events = events;
	return m->w != NULL;
}

static bool pp_loop_sync(struct pp_loop *l)
{
	GHashTableIter it;
	gpointer v;

	l->gen++;
	l->wakeup_listed = l->wakeup_fired = false;
	for (gint i = 0; i < l->nfds; i++) {
		GPollFD *p = &l->fds[i];
		struct pp_loop_mirror *m;

		p->revents = 0;
		if (p->fd == l->hubfd)
			continue; /* the wait itself */
		if (p->fd == l->wakeup_fd)
			l->wakeup_listed = true;
		m = g_hash_table_lookup(l->mirrors, GINT_TO_POINTER(p->fd));
		if (m && m->gen == l->gen)
			return false; /* the same fd twice in one query */
		if (!m) {
			m = g_new0(struct pp_loop_mirror, 1);
			m->l = l;
			m->fd = p->fd;
			m->dupfd = -1;
			g_hash_table_insert(l->mirrors, GINT_TO_POINTER(p->fd), m);
		}
		m->idx = i;
		m->gen = l->gen;
		if (!pp_loop_mirror_set(l, m, p->events, l->remake))
			return false;
	}
	g_hash_table_iter_init(&it, l->mirrors);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (((struct pp_loop_mirror *)v)->gen != l->gen)
			g_hash_table_iter_remove(&it);
	l->stats.remakes += l->remake;
	l->remake = false;
	return true;
}

static void pp_loop_query(struct pp_loop *l, gint prio, gint *timeout)
{
	for (;;) {
		gint n = g_main_context_query(l->ctx, prio, timeout, l->fds, l->cap);
		if (n <= l->cap) {
			l->nfds = n;
			return;
		}
		l->cap = n + 8;
		l->fds = g_renew(GPollFD, l->fds, l->cap);
	}
}

/* GLib's own turn, for what the epoll set cannot take. The mirrors go:
 * while they are in the set, the fdwatch fd GLib polls would be ready
 * whenever a GLib fd is. */
static void pp_loop_poll_turn(struct pp_loop *l, gint prio, gint timeout)
{
	g_hash_table_remove_all(l->mirrors);
	l->remake = true;
	for (gint i = 0; i < l->nfds; i++)
		l->fds[i].revents = 0;
	if (poll((struct pollfd *)l->fds, (nfds_t)l->nfds, timeout) < 0 && errno != EINTR)
		pp_log(PP_LOG_WARN, NULL, "loop: poll: %s", strerror(errno));
	l->stats.glib_turns++;
	if (g_main_context_check(l->ctx, prio, l->fds, l->nfds))
		g_main_context_dispatch(l->ctx);
}

#define PP_LOOP_WAKEUP_TRIES 8

static void pp_loop_readable(const GPollFD *fds, gint n, bool *out)
{
	for (gint i = 0; i < n; i++) {
		struct pollfd p = { .fd = fds[i].fd, .events = POLLIN };
		out[i] = poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
	}
}

/* Finds GLib's wakeup fd among this query's fds: the one that becomes
 * readable when the loop wakes the context (it is then read in check(),
 * like any wakeup). Gives up after a few turns that were ambiguous. */
static void pp_loop_find_wakeup(struct pp_loop *l)
{
	bool *before, *after;
	int found = -1;

	if (l->wakeup_fd >= 0 || l->wakeup_tries >= PP_LOOP_WAKEUP_TRIES || l->nfds == 0)
		return;
	l->wakeup_tries++;
	before = g_new0(bool, 2 * (gsize)l->nfds);
	after = before + l->nfds;
	pp_loop_readable(l->fds, l->nfds, before);
	g_main_context_wakeup(l->ctx);
	pp_loop_readable(l->fds, l->nfds, after);
	for (gint i = 0; i < l->nfds; i++) {
		if (!after[i] || before[i] || l->fds[i].fd == l->hubfd)
			continue;
		found = found == -1 ? l->fds[i].fd : -2;
	}
	g_free(before);
	if (found >= 0)
		l->wakeup_fd = found;
}

static int pp_loop_ms_until(gint64 until, gint64 now)
{
	if (until == G_MAXINT64)
		return -1;
	return until <= now ? 0 : (int)MIN((until - now + 999) / 1000, G_MAXINT);
}

/* One GLib turn, and the fast turns in its wait. */
static void pp_loop_turn(struct pp_loop *l)
{
	gint prio = 0, timeout = -1;
	gint64 now, deadline, fast_end = G_MAXINT64;

	g_main_context_prepare(l->ctx, &prio);
	pp_loop_query(l, prio, &timeout);
	now = g_get_monotonic_time();
	if (l->hubfd < 0 || !pp_loop_sync(l)) {
		pp_loop_poll_turn(l, prio, timeout);
		return;
	}
	pp_loop_find_wakeup(l);
	deadline = timeout < 0 ? G_MAXINT64 : now + (gint64)timeout * 1000;
	l->glib_ready = l->poked = false;
	while (!l->quit) {
		int n = pp_fdwatch_wait(l->hub, pp_loop_ms_until(MIN(deadline, fast_end), now));
		if (n < 0) {
			pp_log(PP_LOG_WARN, NULL, "loop: epoll_wait: %s", strerror(-n));
			break;
		}
		if (n > 0) /* what the callbacks queued, whatever comes next */
			pp_loop_run_hooks(l);
		if (l->glib_ready || l->poked)
			break;
		now = g_get_monotonic_time();
		if (now >= deadline || now >= fast_end)
			break;
		if (n == 0)
			continue; /* a signal */
		if (fast_end == G_MAXINT64)
			fast_end = now + PP_LOOP_FAST_MAX_US;
		l->stats.fast_turns++;
	}
	l->stats.glib_turns++;
	if (l->wakeup_fd >= 0) /* not listed: GLib may not have told */
		l->remake = l->wakeup_fired || !l->wakeup_listed;
	else
		l->remake = l->glib_ready;
	if (g_main_context_check(l->ctx, prio, l->fds, l->nfds)) {
		l->remake |= l->wakeup_fd < 0;
		g_main_context_dispatch(l->ctx);
	}
}

void pp_loop_run(struct pp_loop *l)
{
	struct pp_loop *outer = pp_loop_running;

	if (!g_main_context_acquire(l->ctx)) {
		pp_log(PP_LOG_WARN, NULL, "loop: the context is run by another thread");
		return;
	}
	l->hub = pp_fdwatch_hub(l->ctx);
	l->hubfd = l->hub ? pp_fdwatch_hub_fd(l->hub) : -1;
	if (!l->hub)
		pp_log(PP_LOG_WARN, NULL, "loop: no epoll set (%s): GLib's poll runs every turn",
		       strerror(errno));
	pp_loop_running = l;
	l->quit = false;
	l->remake = true;
	if (g_strcmp0(g_getenv("PEERPIPE_LOOP"), "glib") == 0) {
		/* Diagnostics: GLib's own turn, as before this loop existed. */
		while (!l->quit)
			g_main_context_iteration(l->ctx, TRUE);
	}
	while (!l->quit)
		pp_loop_turn(l);
	pp_loop_running = outer;
	pp_log(PP_LOG_DEBUG, NULL,
	       "loop: %" G_GUINT64_FORMAT " GLib turns, %" G_GUINT64_FORMAT " fast turns, %"
	       G_GUINT64_FORMAT " remakes, wakeup fd %s", l->stats.glib_turns, l->stats.fast_turns,
	       l->stats.remakes, l->wakeup_fd >= 0 ? "found" : "not found");
	g_hash_table_remove_all(l->mirrors);
	g_main_context_release(l->ctx);
}
