/* SPDX-License-Identifier: Apache-2.0 */
/* The daemons' main loop: runs a GMainContext as g_main_loop_run() does,
 * except that the data path does not go through GLib's turn.
 *
 * A GLib turn visits every source twice (prepare, check) and poll()s
 * every fd of the context; on a 64-byte request/response that was about a
 * fifth of a tunnel process's CPU and one turn per direction in each
 * process (docs/tunnel.md). This loop mirrors GLib's fds into the
 * context's fdwatch epoll set (fdwatch.h) and waits there. When only
 * watches fired (stream sockets; a socket a claim below reads itself),
 * their callbacks have run inside the wait: the loop runs the hooks below
 * (what a GLib source's prepare would have flushed) and waits again, with
 * no check, dispatch or prepare. GLib's turn is completed (check,
 * dispatch, then the next prepare) when one of its fds fires, its timeout
 * expires, a module pokes the loop, or PP_LOOP_FAST_MAX_US after the
 * first such "fast" wakeup: a source attached during fast turns, which
 * GLib has not been asked about yet, waits at most that long.
 *
 * Everything runs on the thread that calls pp_loop_run(). A context that a
 * plain GMainLoop runs (the GTK app, the tests) never sees the hooks or
 * claims below: the modules behave as they do without this loop. */
#ifndef PEERPIPE_LOOP_H
#define PEERPIPE_LOOP_H

#include <glib.h>
#include <stdbool.h>

#define PP_LOOP_FAST_MAX_US 1000

struct pp_loop;

/* One loop per context; NULL when ctx already has one. */
struct pp_loop *pp_loop_new(GMainContext *ctx);
void pp_loop_free(struct pp_loop *l);

/* Runs until pp_loop_quit(); returns at once when another thread owns ctx
 * (with a warning). PEERPIPE_LOOP=glib in the environment makes it run
 * GLib's own turns instead (diagnostics, A/B measurements). */
void pp_loop_run(struct pp_loop *l);
void pp_loop_quit(struct pp_loop *l);

/* The loop made for ctx, or NULL. */
struct pp_loop *pp_loop_of(GMainContext *ctx);

/* From a callback on the loop's thread: something a source's prepare() or
 * check() looks at changed (a flag, not an fd or a ready time); complete
 * GLib's turn before sleeping. Nothing when no pp_loop runs ctx. */
void pp_loop_poke(GMainContext *ctx);

/* From the loop's thread: something a hook looks at changed. Hooks run
 * after every fast wait anyway; called while they run, it makes them run
 * once more before the loop sleeps (GLib's turn after a few such rounds).
 * Nothing when no pp_loop runs ctx. */
void pp_loop_again(GMainContext *ctx);

/* Hooks run after every wait in which an fd was ready, what a GLib source's
 * prepare() would have done: first every WORK hook (work deferred out of
 * a library's call stack, which may queue output), then every FLUSH hook
 * (send what was queued for the end of the turn). */
enum pp_loop_stage {
	PP_LOOP_WORK = 0,
	PP_LOOP_FLUSH,
};
typedef void (*pp_loop_hook_fn)(void *user);
void pp_loop_hook_add(struct pp_loop *l, enum pp_loop_stage stage, pp_loop_hook_fn fn,
                      void *user);
void pp_loop_hook_remove(struct pp_loop *l, pp_loop_hook_fn fn, void *user);

/* A claim reads a GLib fd before the GLib source that polls it: when fd is
 * readable, fn runs first; it returns true when it read everything there
 * was, false to let the GLib source see the fd this turn (something only
 * that source can handle is at the head of the queue). One claim per fd;
 * unclaim before the fd may be closed. */
typedef bool (*pp_loop_claim_fn)(void *user);
void pp_loop_claim(struct pp_loop *l, int fd, pp_loop_claim_fn fn, void *user);
/* Only the claim made with this user goes. */
void pp_loop_unclaim(struct pp_loop *l, int fd, void *user);

/* Counters for tests and benchmarks: GLib turns completed, fast turns
 * (waits that needed none), syncs that made every mirror again, and
 * whether the loop found GLib's wakeup fd (else it makes them again
 * after every turn that dispatched). */
struct pp_loop_stats {
	guint64 glib_turns;
	guint64 fast_turns;
	guint64 remakes;
	bool wakeup_known;
};
void pp_loop_stats(const struct pp_loop *l, struct pp_loop_stats *out);

#endif
