/* SPDX-License-Identifier: Apache-2.0 */
/* A WebSocket frame header (RFC 6455 §5.2), for tests that play a server
 * or feed the client's message meter. */
#ifndef PEERPIPE_TEST_WSFRAME_H
#define PEERPIPE_TEST_WSFRAME_H

#include <glib.h>

#define WSFRAME_HEADER_MAX 14

/* Writes the header of one frame with a payload of len bytes into h;
 * returns its size. masked adds a mask key (01 02 03 04). */
gsize wsframe_header(guint8 h[WSFRAME_HEADER_MAX], gboolean fin, guint8 op, guint64 len,
                     gboolean masked);

#endif
