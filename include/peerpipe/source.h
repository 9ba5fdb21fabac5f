/* SPDX-License-Identifier: Apache-2.0 */
/* GSource helpers every module uses. */
#ifndef PEERPIPE_SOURCE_H
#define PEERPIPE_SOURCE_H

#include <glib.h>

/* Destroys *src (removes it from its context), drops our reference and
 * clears the pointer; nothing when it is already NULL. */
static inline void pp_source_clear(GSource **src)
{
	if (*src) {
		g_source_destroy(*src);
		g_source_unref(*src);
		*src = NULL;
	}
}

/* A one-shot timeout calling fn(data) after ms on ctx; the caller keeps
 * the returned reference (pp_source_clear() to cancel). */
static inline GSource *pp_source_timeout(GMainContext *ctx, guint ms, GSourceFunc fn,
                                         gpointer data)
{
	GSource *src = g_timeout_source_new(ms);

	g_source_set_callback(src, fn, data, NULL);
	g_source_attach(src, ctx);
	return src;
}

/* From the callback of the source in *src, which then returns
 * G_SOURCE_REMOVE: drops our reference and clears the pointer. */
static inline void pp_source_fired(GSource **src)
{
	g_source_unref(*src);
	*src = NULL;
}

#endif
