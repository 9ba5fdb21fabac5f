/* SPDX-License-Identifier: Apache-2.0 */
/* What the tests run by ice_netns.sh share (test_ice_netns,
 * test_peer_netns): each peer runs on its own thread that entered its
 * network namespace, with its own GMainContext, and the main thread
 * drives it through these helpers. */
#ifndef PEERPIPE_TESTS_NETNS_UTIL_H
#define PEERPIPE_TESTS_NETNS_UTIL_H

#include <glib.h>
#include <stdbool.h>

/* Each test's own peer; these helpers only pass it on (never complete
 * here, so every test's definition is compatible with this one). */
struct peer;

/* Runs fn(p, arg) on ctx's thread; returns once it has run. */
void netns_run_on(GMainContext *ctx, void (*fn)(struct peer *p, void *arg), struct peer *p,
                  void *arg);
/* The same for a peer p with a member ctx. */
#define run_on(p, fn, arg) netns_run_on((p)->ctx, (fn), (p), (arg))

/* Polls cond(d) every 5 ms until it is true (true) or ms have passed. */
bool wait_for(bool (*cond)(void *), void *d, unsigned ms);

/* Moves the calling thread into the namespace /run/netns/NS and makes ctx
 * its thread-default context, so every socket made from now on is in NS. */
void netns_enter_thread(const char *ns, GMainContext *ctx);

/* A GSourceFunc: quits the GMainLoop it is given. */
gboolean quit_loop(gpointer loop);

/* Ends a peer's thread: quits its loop from within, joins it and frees
 * the loop and the context. */
void netns_thread_stop(GThread *thread, GMainContext *ctx, GMainLoop *loop);

/* Runs a shell command; a failed one fails the test. */
void sh(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

#endif
