/* SPDX-License-Identifier: Apache-2.0 */
/* Service names to addresses, one lookup in flight per name: every stream
 * that needs a name while it is being looked up waits for that one
 * lookup. A DNS server that does not answer then holds one resolver
 * thread per name, not one per stream (GIO's lookups run in its thread
 * pool, and a cancelled one still runs to the resolver's own timeout).
 * Nothing is cached once a lookup has answered. */
#pragma once

#include <gio/gio.h>

struct gw_resolver;
struct gw_resolve_wait;

/* The lookup's answer: addresses (GInetAddress *, borrowed for the call)
 * or err. The wait is over (and freed) when this runs. */
typedef void (*gw_resolved_fn)(void *user, GList *addrs, const GError *err);

/* Answers come on the thread-default context of the gw_resolve() call
 * that started the lookup. */
struct gw_resolver *gw_resolver_new(void);
/* Waits still open are dropped: their fn never runs, and a wait pointer
 * kept by its owner must not be used afterwards. */
void gw_resolver_free(struct gw_resolver *r);
/* Starts or joins the lookup of name; fn runs later, never from here. */
struct gw_resolve_wait *gw_resolve(struct gw_resolver *r, const char *name, gw_resolved_fn fn,
                                   void *user);
/* fn will not run; the lookup stops when nobody waits for it any more. */
void gw_resolve_cancel(struct gw_resolve_wait *w);
/* Lookups started so far (for tests and logs). */
guint64 gw_resolver_lookups(const struct gw_resolver *r);
