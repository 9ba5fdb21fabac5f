/* SPDX-License-Identifier: Apache-2.0 */
/* A small blocking WebSocket client (RFC 6455) for network tests.
 *
 * It speaks raw TCP (optionally TLS through OpenSSL), masks every client
 * frame, and can also misbehave on purpose: wrong paths, no subprotocol,
 * frames whose header lies about their length, fragmented messages,
 * unanswered pings, connections dropped without a close frame. Every
 * receive has a timeout in milliseconds; nothing here blocks forever. */
#ifndef PP_TEST_WSCLIENT_H
#define PP_TEST_WSCLIENT_H

#include <glib.h>
#include <stdint.h>

#define WS_SUBPROTOCOL "peerpipe.v1"
#define WS_PATH "/v1/ws"

enum {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

/* What ws_recv_close() returns when there was no close frame. */
#define WS_CLOSE_EOF (-1)     /* the TCP connection ended first */
#define WS_CLOSE_TIMEOUT (-2) /* nothing happened in time */
#define WS_CLOSE_ERROR (-3)   /* protocol error in what the server sent */
#define WS_CLOSE_NO_CODE 1005 /* a close frame without a status code */

typedef struct WsClient WsClient;

typedef struct {
	const char *host;        /* default "127.0.0.1" */
	guint16 port;
	const char *path;        /* default WS_PATH */
	/* Sec-WebSocket-Protocol header value; NULL sends no such header. */
	const char *subprotocol;
	gboolean tls;            /* wss: verify against ca_file and the host IP */
	const char *ca_file;
	int rcvbuf;              /* > 0: SO_RCVBUF set before connect */
	int timeout_ms;          /* connect + handshake; default 5000 */
} WsConnectOpts;

typedef enum {
	WS_EV_TEXT,
	WS_EV_BINARY,
	WS_EV_CLOSE,   /* a close frame arrived (answered unless we sent one) */
	WS_EV_EOF,     /* TCP ended (FIN or RST) */
	WS_EV_TIMEOUT,
	WS_EV_ERROR,   /* the server broke the framing rules, or TLS failed */
} WsEvent;

/* Connects and upgrades. On success returns the client. On failure returns
 * NULL; *http_status (optional) gets the HTTP status of a refused upgrade
 * (or 0 when there was no HTTP answer), *error (optional) a description,
 * *body (optional) the response body read so far. */
WsClient *ws_connect_opts(const WsConnectOpts *o, int *http_status,
                          char **error, char **body);
/* ws://127.0.0.1:port/v1/ws with peerpipe.v1; asserts success. */
WsClient *ws_connect(guint16 port);
/* Same, with an explicit path and subprotocol (NULL: none); asserts success. */
WsClient *ws_connect_path(guint16 port, const char *path, const char *subprotocol);

/* The subprotocol the server selected (NULL if none). */
const char *ws_protocol(WsClient *c);
int ws_fd(WsClient *c);

/* Sending. All return FALSE when the connection is gone (or after 10 s of
 * the peer not reading); they never raise SIGPIPE. */
gboolean ws_send_text(WsClient *c, const char *text);
gboolean ws_send_text_len(WsClient *c, const void *text, gsize len);
gboolean ws_send_printf(WsClient *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
gboolean ws_send_binary(WsClient *c, const void *data, gsize len);
/* One frame, masked, with the given FIN bit and opcode. */
gboolean ws_send_frame(WsClient *c, gboolean fin, guint8 opcode,
                       const void *payload, gsize len);
/* A frame whose header declares declared_len but of which only the len
 * bytes of payload are sent (len may be less: slowloris, or more: lies). */
gboolean ws_send_frame_declared(WsClient *c, gboolean fin, guint8 opcode,
                                guint64 declared_len, const void *payload,
                                gsize len);
/* One text message cut into nfrag frames (TEXT, CONT..., CONT with FIN). */
gboolean ws_send_fragmented(WsClient *c, const void *text, gsize len, guint nfrag);
/* Bytes straight onto the stream, no framing. */
gboolean ws_send_raw(WsClient *c, const void *data, gsize len);
gboolean ws_send_close(WsClient *c, int code);
gboolean ws_send_ping(WsClient *c, const void *data, gsize len);

/* Receiving. Pings are answered with pongs while receiving, unless
 * auto-pong is off. Continuation frames are reassembled. */
void ws_set_auto_pong(WsClient *c, gboolean on);
guint ws_pings_received(WsClient *c);
guint ws_pongs_received(WsClient *c);
/* The next event; *payload (optional, g_free) gets a text/binary message,
 * NUL-terminated, *len its length; *close_code the close code. */
WsEvent ws_recv(WsClient *c, int timeout_ms, char **payload, gsize *len,
                int *close_code);
/* The next text message, or NULL (then ws_last_event() says why). A binary
 * message is an error: returns NULL with WS_EV_BINARY. */
char *ws_recv_text(WsClient *c, int timeout_ms);
WsEvent ws_last_event(WsClient *c);
/* Reads until a close frame and returns its code, skipping data messages
 * (counted in *skipped if given); or WS_CLOSE_EOF/TIMEOUT/ERROR. */
int ws_recv_close(WsClient *c, int timeout_ms, guint *skipped);
/* The close code received so far, or 0. */
int ws_close_code(WsClient *c);
/* Reads (and drops) everything until the TCP connection ends. TRUE if it
 * ended within the timeout. */
gboolean ws_wait_eof(WsClient *c, int timeout_ms);

/* Close handshake: sends close 1000 and waits (up to 2 s) for the reply,
 * then frees. */
void ws_close(WsClient *c);
/* Ends the TCP connection with a RST, no close frame, then frees. */
void ws_abort(WsClient *c);
/* Closes the socket (FIN), no close frame, then frees. */
void ws_free(WsClient *c);

/* Plain HTTP/1.1 GET (Connection: close). Returns the status or -1;
 * *body gets the decoded body (chunked handled), *headers the header block
 * (lower-cased names kept as sent). Both optional, g_free. */
int http_get(guint16 port, const char *path, char **body, char **headers);

/* Milliseconds since an arbitrary point (monotonic). */
gint64 ws_now_ms(void);

#endif
