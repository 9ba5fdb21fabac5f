/* SPDX-License-Identifier: Apache-2.0 */
/* The upgraded signaling connection as the WebSocket sees it: the server's
 * bytes pass through a pp_wslimit meter (peerpipe/wslimit.h) on their way
 * to SoupWebsocketConnection, so no message, however fragmented, is
 * reassembled past the limit.
 *
 * At the first frame that would take a message past max, input stops
 * where that frame begins: reads would block for ever, so the WebSocket
 * neither reassembles nor sees an error or an end of stream, and can still
 * send (a close frame). The stream then emits "too-big" (guint64: the
 * message size that frame claims) once, from an idle source on ctx, never
 * from inside a read. Output is the base stream's own; closing closes
 * base. */
#ifndef PEERPIPE_WSLIMIT_STREAM_H
#define PEERPIPE_WSLIMIT_STREAM_H

#include <gio/gio.h>
#include <stdint.h>

/* head: bytes read from base past the HTTP answer (served first; copied).
 * base's streams must be pollable. */
GIOStream *pp_wslimit_stream_new(GIOStream *base, const void *head, size_t head_len,
                                 uint64_t max, GMainContext *ctx);

#endif
