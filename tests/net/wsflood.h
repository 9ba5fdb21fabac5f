/* SPDX-License-Identifier: Apache-2.0 */
/* A hostile WebSocket server for the signaling client's tests: plain TCP
 * on 127.0.0.1 port 0, one connection at a time on its own thread, the
 * RFC 6455 handshake done by hand (peerpipe.v1 selected).
 *
 * On each connection it sends a valid JOINED (for `room`, our peer_id
 * 0123456789abcdef0123456789abcdef, nobody else) in three fragments with a
 * ping between them, then one text message that never ends: a text frame
 * with FIN=0 and continuation frames with FIN=0, WSFLOOD_CHUNK bytes
 * each (under any per-frame limit), until the client stops it (close
 * frame, reset) or `cap` bytes went out. Then it waits a little for the
 * client's close frame and hangs up.
 *
 * The first connection sends all that right behind its 101 answer, in the
 * same write (the client must read frames that came with the HTTP answer);
 * later ones wait for the client's JOIN_ROOM first. */
#ifndef PP_TEST_WSFLOOD_H
#define PP_TEST_WSFLOOD_H

#include <glib.h>

#define WSFLOOD_CHUNK 60000
#define WSFLOOD_CONNS 8 /* connections recorded; later ones are refused */

typedef struct WsFlood WsFlood;

typedef struct {
	guint64 sent;          /* payload bytes of the endless message that went out */
	int close_code;        /* of the client's close frame; 0: none came */
	char close_reason[64];
	gboolean got_join;     /* a JOIN_ROOM arrived */
} WsFloodConn;

WsFlood *wsflood_start(const char *room, guint64 cap);
guint16 wsflood_port(WsFlood *f);
/* Connections finished so far (their records are complete). */
guint wsflood_done(WsFlood *f);
/* The record of finished connection i (< wsflood_done()). */
const WsFloodConn *wsflood_conn(WsFlood *f, guint i);
/* Stops the thread (a connection under way ends within a few seconds). */
void wsflood_stop(WsFlood *f);

#endif
