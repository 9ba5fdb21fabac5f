/* SPDX-License-Identifier: Apache-2.0 */
/* Signaling client: the WebSocket opening handshake (RFC 6455 §4.1).
 *
 * Done here rather than by SoupSession so that SoupWebsocketConnection
 * reads the server through the message size meter (wslimit_stream.h):
 * libsoup 3.2 bounds each frame but not a fragmented message, and a
 * SoupSession gives no way in under the WebSocket it creates.
 * GSocketClient makes the connection (TCP, the system's proxy settings,
 * TLS verified against ca_file or the system store), libsoup parses the
 * answer's headers and does the framing. A redirect is never followed:
 * it is reported to the client with its Location. */
#include "sigclient_priv.h"
#include "wslimit_stream.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#define PP_SIGCLIENT_HEAD_MAX (16 * 1024) /* the server's HTTP answer, headers */
#define PP_SIGCLIENT_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define PP_SIGCLIENT_TLS_FLAGS "pp-tls-flags"

/* One attempt. It holds what it needs; the client only while `cancel` is
 * not cancelled (teardown cancels it, and may free the client). */
struct pp_sigclient_upgrade {
	struct pp_sigclient *c;
	GCancellable *cancel;
	GMainContext *ctx;
	GUri *uri;                /* http(s):// */
	GTlsDatabase *db;         /* NULL: the system store */
	uint64_t max;             /* bytes per message from the server */
	GSocketClient *sc;
	GTlsConnection *tls;      /* while the handshake is checked */
	GSocketConnection *conn;
	char *request;
	char accept[32];          /* the Sec-WebSocket-Accept we expect */
	guint8 buf[PP_SIGCLIENT_HEAD_MAX];
	size_t len;
};

GTlsDatabase *pp_sigclient_tls_db_new(const char *ca_file)
{
	GError *err = NULL;
	GTlsDatabase *db = g_tls_file_database_new(ca_file, &err);

	if (!db) {
		pp_error("sigclient: cannot load ca_file %s: %s", ca_file, err->message);
		g_error_free(err);
	}
	return db;
}

int pp_sigclient_trust_default(const char *ca_file)
{
	GTlsDatabase *db = pp_sigclient_tls_db_new(ca_file);

	if (!db)
		return PP_ERR_INVALID;
	g_tls_backend_set_default_database(g_tls_backend_get_default(), db);
	g_object_unref(db);
	return 0;
}

static void pp_sigclient_upgrade_free(struct pp_sigclient_upgrade *a)
{
	g_clear_object(&a->conn);
	g_clear_object(&a->tls);
	g_clear_object(&a->sc);
	g_clear_object(&a->db);
	g_clear_object(&a->cancel);
	g_uri_unref(a->uri);
	g_main_context_unref(a->ctx);
	g_free(a->request);
	g_free(a);
}

/* Cancelled: the client gave up on this attempt, and may be gone. */
static bool pp_sigclient_upgrade_abandoned(struct pp_sigclient_upgrade *a)
{
	if (!g_cancellable_is_cancelled(a->cancel))
		return false;
	pp_sigclient_upgrade_free(a);
	return true;
}

/* Ends the attempt with ws (transferred) or with what went wrong. */
static void pp_sigclient_upgrade_end(struct pp_sigclient_upgrade *a, SoupWebsocketConnection *ws,
                                     guint status, const char *location, GError *err)
{
	struct pp_sigclient_failure f = { .status = status, .location = location, .err = err };

	if (a->tls)
		f.tls_flags = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(a->tls), PP_SIGCLIENT_TLS_FLAGS));
	if (!pp_sigclient_upgrade_abandoned(a)) {
		pp_sigclient_upgrade_done(a->c, ws, ws ? NULL : &f);
		pp_sigclient_upgrade_free(a);
	} else if (ws) {
		g_object_unref(ws); /* not reached: ws is made after the last check */
	}
	g_clear_error(&err);
}

static void pp_sigclient_upgrade_fail(struct pp_sigclient_upgrade *a, GQuark domain, int code,
                                      const char *why)
{
	pp_sigclient_upgrade_end(a, NULL, 0, NULL, g_error_new_literal(domain, code, why));
}

/* Never accepts: only records why (read back when the handshake fails).
 * Kept on the connection, not the attempt, which may be gone when a
 * later handshake on this connection asks again. */
static gboolean pp_sigclient_upgrade_on_accept_cert(GTlsConnection *tls, GTlsCertificate *cert,
                                                    GTlsCertificateFlags errors, gpointer unused)
{
	g_object_set_data(G_OBJECT(tls), PP_SIGCLIENT_TLS_FLAGS, GUINT_TO_POINTER((guint)errors));
	return FALSE;
}

static void pp_sigclient_upgrade_on_event(GSocketClient *sc, GSocketClientEvent ev,
                                          GSocketConnectable *to, GIOStream *conn, gpointer data)
{
	struct pp_sigclient_upgrade *a = data;

	if (ev != G_SOCKET_CLIENT_TLS_HANDSHAKING)
		return;
	g_set_object(&a->tls, G_TLS_CONNECTION(conn));
	if (a->db)
		g_tls_connection_set_database(a->tls, a->db);
	g_signal_connect(conn, "accept-certificate", G_CALLBACK(pp_sigclient_upgrade_on_accept_cert),
	                 NULL);
}

/* The request, and the answer it calls for in a->accept. */
static char *pp_sigclient_upgrade_request(struct pp_sigclient_upgrade *a)
{
	guint32 nonce[4];
	guint8 digest[20];
	gsize dlen = sizeof(digest);
	const char *host = g_uri_get_host(a->uri), *query = g_uri_get_query(a->uri);
	int port = g_uri_get_port(a->uri);
	int dflt = g_ascii_strcasecmp(g_uri_get_scheme(a->uri), "https") == 0 ? 443 : 80;

	for (size_t i = 0; i < G_N_ELEMENTS(nonce); i++)
		nonce[i] = g_random_int();
	char *key = g_base64_encode((const guchar *)nonce, sizeof(nonce));
	GChecksum *sha1 = g_checksum_new(G_CHECKSUM_SHA1);
	g_checksum_update(sha1, (const guchar *)key, -1);
	g_checksum_update(sha1, (const guchar *)PP_SIGCLIENT_WS_GUID, -1);
	g_checksum_get_digest(sha1, digest, &dlen);
	g_checksum_free(sha1);
	char *accept = g_base64_encode(digest, dlen);
	g_strlcpy(a->accept, accept, sizeof(a->accept));
	g_free(accept);

	char *hostport = g_strdup_printf(strchr(host, ':') ? "[%s]" : "%s", host);
	if (port > 0 && port != dflt) {
		char *hp = g_strdup_printf("%s:%d", hostport, port);
		g_free(hostport);
		hostport = hp;
	}
	char *req = g_strdup_printf("GET %s%s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: peerpipe\r\n"
	                            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	                            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	                            "Sec-WebSocket-Protocol: %s\r\n\r\n",
	                            g_uri_get_path(a->uri), query ? "?" : "", query ? query : "",
	                            hostport, key, PP_SIGCLIENT_SUBPROTOCOL);
	g_free(hostport);
	g_free(key);
	return req;
}

/* A 101 answer: NULL when it completes the handshake, else why not. */
static const char *pp_sigclient_upgrade_check(struct pp_sigclient_upgrade *a, SoupMessageHeaders *h)
{
	const char *ext = soup_message_headers_get_one(h, "Sec-WebSocket-Extensions");
	const char *acc = soup_message_headers_get_one(h, "Sec-WebSocket-Accept");

	if (!soup_message_headers_header_equals(h, "Upgrade", "websocket"))
		return "the server's 101 answer has no \"Upgrade: websocket\"";
	if (!soup_message_headers_header_contains(h, "Connection", "upgrade"))
		return "the server's 101 answer has no \"Connection: upgrade\"";
	if (!acc || strcmp(acc, a->accept) != 0)
		return "the server's Sec-WebSocket-Accept does not match our key";
	if (ext && *ext)
		return "the server chose a WebSocket extension we did not offer";
	return NULL;
}

/* The answer's head is buf[0, head_len); what follows is WebSocket. */
static void pp_sigclient_upgrade_answer(struct pp_sigclient_upgrade *a, size_t head_len)
{
	SoupMessageHeaders *h = soup_message_headers_new(SOUP_MESSAGE_HEADERS_RESPONSE);
	SoupWebsocketConnection *ws = NULL;
	const char *why = NULL;
	guint status = 0;
	GError *err = NULL;

	if (!soup_headers_parse_response((const char *)a->buf, head_len, h, NULL, &status, NULL)) {
		err = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		                          "the server's answer to the upgrade is not HTTP");
		status = 0;
	} else if (status >= 300) {
		err = g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, "HTTP %u", status);
	} else if (status != SOUP_STATUS_SWITCHING_PROTOCOLS) {
		why = "the server did not switch protocols (no HTTP 101)";
	} else {
		why = pp_sigclient_upgrade_check(a, h);
	}
	if (why)
		err = g_error_new_literal(SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_ERROR_BAD_HANDSHAKE, why);
	if (!err && !g_cancellable_is_cancelled(a->cancel)) {
		GIOStream *io = pp_wslimit_stream_new(G_IO_STREAM(a->conn), a->buf + head_len,
		                                      a->len - head_len, a->max, a->ctx);
		g_main_context_push_thread_default(a->ctx); /* its sources go there */
		ws = soup_websocket_connection_new(io, a->uri, SOUP_WEBSOCKET_CONNECTION_CLIENT, NULL,
		                                   soup_message_headers_get_one(h, "Sec-WebSocket-Protocol"),
		                                   NULL);
		g_main_context_pop_thread_default(a->ctx);
		g_object_unref(io);
	}
	pp_sigclient_upgrade_end(a, ws, status, soup_message_headers_get_one(h, "Location"), err);
	soup_message_headers_unref(h);
}

static void pp_sigclient_upgrade_read(struct pp_sigclient_upgrade *a);

static void pp_sigclient_upgrade_on_read(GObject *src, GAsyncResult *res, gpointer data)
{
	struct pp_sigclient_upgrade *a = data;
	GError *err = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, &err);
	size_t from = a->len > 3 ? a->len - 3 : 0;
	const guint8 *end;

	if (n < 0) {
		pp_sigclient_upgrade_end(a, NULL, 0, NULL, err);
		return;
	}
	if (n == 0) {
		pp_sigclient_upgrade_fail(a, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
		                          "the server closed the connection during the upgrade");
		return;
	}
	a->len += (size_t)n;
	if ((end = memmem(a->buf + from, a->len - from, "\r\n\r\n", 4)))
		pp_sigclient_upgrade_answer(a, (size_t)(end + 4 - a->buf));
	else if (a->len == sizeof(a->buf))
		pp_sigclient_upgrade_fail(a, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
		                          "the server's answer to the upgrade has over 16 KiB of headers");
	else if (!pp_sigclient_upgrade_abandoned(a))
		pp_sigclient_upgrade_read(a);
}

static void pp_sigclient_upgrade_read(struct pp_sigclient_upgrade *a)
{
	g_main_context_push_thread_default(a->ctx);
	g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(a->conn)), a->buf + a->len,
	                          sizeof(a->buf) - a->len, G_PRIORITY_DEFAULT, a->cancel,
	                          pp_sigclient_upgrade_on_read, a);
	g_main_context_pop_thread_default(a->ctx);
}

static void pp_sigclient_upgrade_on_written(GObject *src, GAsyncResult *res, gpointer data)
{
	struct pp_sigclient_upgrade *a = data;
	GError *err = NULL;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(src), res, NULL, &err))
		pp_sigclient_upgrade_end(a, NULL, 0, NULL, err);
	else if (!pp_sigclient_upgrade_abandoned(a))
		pp_sigclient_upgrade_read(a);
}

static void pp_sigclient_upgrade_on_connect(GObject *src, GAsyncResult *res, gpointer data)
{
	struct pp_sigclient_upgrade *a = data;
	GError *err = NULL;

	a->conn = g_socket_client_connect_to_uri_finish(G_SOCKET_CLIENT(src), res, &err);
	if (!a->conn) {
		pp_sigclient_upgrade_end(a, NULL, 0, NULL, err);
		return;
	}
	if (pp_sigclient_upgrade_abandoned(a))
		return;
	/* Small messages that should not wait for an ACK; and a close frame
	 * held back by Nagle would be lost when we drop a connection with
	 * unread input (the kernel then resets it, discarding unsent data). */
	g_socket_set_option(g_socket_connection_get_socket(a->conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
	a->request = pp_sigclient_upgrade_request(a);
	g_main_context_push_thread_default(a->ctx);
	g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(a->conn)), a->request,
	                                strlen(a->request), G_PRIORITY_DEFAULT, a->cancel,
	                                pp_sigclient_upgrade_on_written, a);
	g_main_context_pop_thread_default(a->ctx);
}

GCancellable *pp_sigclient_upgrade_start(struct pp_sigclient *c)
{
	struct pp_sigclient_upgrade *a = g_new0(struct pp_sigclient_upgrade, 1);
	bool tls = g_ascii_strcasecmp(g_uri_get_scheme(c->uri), "https") == 0;
	char *to = g_uri_to_string(c->uri);

	a->c = c;
	a->cancel = g_cancellable_new();
	a->ctx = g_main_context_ref(c->ctx);
	a->uri = g_uri_ref(c->uri);
	a->db = c->tls_db ? g_object_ref(c->tls_db) : NULL;
	a->max = MAX(c->lim.max_message_size, c->lim.max_joined_size);
	a->sc = g_socket_client_new();
	g_socket_client_set_tls(a->sc, tls);
	g_signal_connect(a->sc, "event", G_CALLBACK(pp_sigclient_upgrade_on_event), a);
	g_main_context_push_thread_default(a->ctx);
	g_socket_client_connect_to_uri_async(a->sc, to, tls ? 443 : 80, a->cancel,
	                                     pp_sigclient_upgrade_on_connect, a);
	g_main_context_pop_thread_default(a->ctx);
	g_free(to);
	return g_object_ref(a->cancel);
}
