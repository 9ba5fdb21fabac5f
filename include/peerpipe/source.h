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

#endif
