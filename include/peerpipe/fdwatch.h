/* SPDX-License-Identifier: Apache-2.0 */
/* Readiness of many sockets for one GMainContext at O(ready) per loop turn.
 *
 * GLib polls every fd of every source on every turn of the loop, and
 * writes its wakeup eventfd each time a source's fd set changes. For a
 * gateway's stream sockets both grow with the number of open streams: 250
 * idle streams made a round trip on another one 2.5 times slower. Watches
 * made here share one epoll set per context instead; GLib polls only its
 * fd, and a change of interest is one epoll_ctl.
 *
 * Level-triggered, like poll(). Sockets and pipes only (epoll refuses
 * regular files), one watch per fd. Everything runs in the thread that
 * iterates the context. A watch may be freed from any callback, its own
 * included; free it before closing its fd. */
#ifndef PEERPIPE_FDWATCH_H
#define PEERPIPE_FDWATCH_H

#include <glib.h>

struct pp_fdwatch;

/* got: G_IO_IN, G_IO_OUT, G_IO_HUP, G_IO_ERR as poll() would say. */
typedef void (*pp_fdwatch_fn)(void *user, GIOCondition got);

/* Watches fd for want (see pp_fdwatch_set); NULL when the epoll set cannot
 * be made or takes no more fds (errno says why). */
struct pp_fdwatch *pp_fdwatch_new(GMainContext *ctx, int fd, GIOCondition want,
                                  pp_fdwatch_fn fn, void *user);

/* want: G_IO_IN and/or G_IO_OUT; a watch with either, or with only G_IO_HUP,
 * also reports G_IO_HUP and G_IO_ERR (poll() reports them whatever is
 * asked); 0 takes the fd out of the set. Returns 0 or -errno. */
int pp_fdwatch_set(struct pp_fdwatch *w, GIOCondition want);

GIOCondition pp_fdwatch_want(const struct pp_fdwatch *w);

void pp_fdwatch_free(struct pp_fdwatch *w);

/* For a loop that runs the context itself (loop.h) instead of GLib's poll.
 * The context's set, made if needed; it lives as long as the context.
 * NULL (errno set) when it cannot be made. */
struct pp_fdhub;
struct pp_fdhub *pp_fdwatch_hub(GMainContext *ctx);

/* The set's epoll fd (GLib polls it through the set's GSource). */
int pp_fdwatch_hub_fd(const struct pp_fdhub *h);

/* Waits up to timeout_ms (-1: no limit, 0: not at all) for the set and
 * runs the callbacks of the ready watches, as the set's GSource does when
 * GLib dispatches it. Returns how many were ready (0 on a timeout or a
 * signal), or -errno. */
int pp_fdwatch_wait(struct pp_fdhub *h, int timeout_ms);

#endif
