/* SPDX-License-Identifier: Apache-2.0 */
/* One GResolver lookup per name in flight, shared by its waiters
 * (resolve.h). A lookup whose last waiter left is cancelled and taken out
 * of the table at once, so a later wait starts afresh; its object lives
 * until GIO calls back. */
#include "resolve.h"

struct gw_resolver {
	GResolver *resolver;
	GHashTable *lookups; /* name -> struct gw_lookup (in flight, waited for) */
	guint64 started;
};

struct gw_lookup {
	struct gw_resolver *r; /* NULL once abandoned (cancelled, out of the table) */
	char *name;
	GCancellable *cancel;
	GQueue waits;          /* struct gw_resolve_wait */
};

struct gw_resolve_wait {
	struct gw_lookup *lookup;
	GList link;            /* in lookup->waits */
	gw_resolved_fn fn;
	void *user;
};

static void gw_lookup_free(struct gw_lookup *l)
{
	g_object_unref(l->cancel);
	g_free(l->name);
	g_free(l);
}

static void gw_lookup_done(GObject *src, GAsyncResult *res, gpointer data)
{
	struct gw_lookup *l = data;
	GError *err = NULL;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(src), res, &err);
	GList *link;

	if (l->r) { /* still waited for: out of the table, a new wait starts afresh */
		g_hash_table_remove(l->r->lookups, l->name);
		l->r = NULL; /* a call below that cancels the last wait leaves the table be */
	}
	/* Each wait is taken off before its call: a call may cancel others. */
	while ((link = g_queue_pop_head_link(&l->waits))) {
		struct gw_resolve_wait *w = link->data;
		w->fn(w->user, addrs, err);
		g_free(w);
	}
	g_resolver_free_addresses(addrs);
	g_clear_error(&err);
	gw_lookup_free(l);
}

struct gw_resolver *gw_resolver_new(void)
{
	struct gw_resolver *r = g_new0(struct gw_resolver, 1);

	r->resolver = g_resolver_get_default();
	r->lookups = g_hash_table_new(g_str_hash, g_str_equal);
	return r;
}

/* A lookup still waited for when the resolver goes (streams freed without
 * their close, at exit): its waits are dropped uncalled and it is
 * cancelled; GIO's callback, if it ever runs, only frees it. */
static gboolean gw_lookup_abandon(gpointer key, gpointer value, gpointer unused)
{
	struct gw_lookup *l = value;
	GList *link;

	(void)key;
	(void)unused;
	while ((link = g_queue_pop_head_link(&l->waits)))
		g_free(link->data);
	l->r = NULL;
	g_cancellable_cancel(l->cancel);
	return TRUE;
}

void gw_resolver_free(struct gw_resolver *r)
{
	if (!r)
		return;
	g_hash_table_foreach_steal(r->lookups, gw_lookup_abandon, NULL);
	g_hash_table_destroy(r->lookups);
	g_object_unref(r->resolver);
	g_free(r);
}

struct gw_resolve_wait *gw_resolve(struct gw_resolver *r, const char *name, gw_resolved_fn fn,
                                   void *user)
{
	struct gw_lookup *l = g_hash_table_lookup(r->lookups, name);
	struct gw_resolve_wait *w = g_new0(struct gw_resolve_wait, 1);

	if (!l) {
		l = g_new0(struct gw_lookup, 1);
		l->r = r;
		l->name = g_strdup(name);
		l->cancel = g_cancellable_new();
		g_hash_table_insert(r->lookups, l->name, l);
		r->started++;
		g_resolver_lookup_by_name_async(r->resolver, name, l->cancel, gw_lookup_done, l);
	}
	w->lookup = l;
	w->fn = fn;
	w->user = user;
	w->link.data = w;
	g_queue_push_tail_link(&l->waits, &w->link);
	return w;
}

void gw_resolve_cancel(struct gw_resolve_wait *w)
{
	struct gw_lookup *l;

	if (!w)
		return;
	l = w->lookup;
	g_queue_unlink(&l->waits, &w->link);
	g_free(w);
	if (l->waits.length > 0 || !l->r)
		return;
	g_hash_table_remove(l->r->lookups, l->name);
	l->r = NULL;
	g_cancellable_cancel(l->cancel); /* gw_lookup_done frees it */
}

guint64 gw_resolver_lookups(const struct gw_resolver *r)
{
	return r->started;
}
