/* SPDX-License-Identifier: Apache-2.0 */
#include "wsclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MAX_MESSAGE (64u * 1024 * 1024) /* what we accept from the server */
#define WS_MAX_HEADERS (64 * 1024)
#define WS_SEND_TIMEOUT_MS 10000

struct WsClient {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	GByteArray *rbuf;      /* received, not yet parsed */
	GByteArray *msg;       /* fragments of the message being reassembled */
	int msg_op;            /* its opcode, -1 when none */
	gboolean auto_pong;
	gboolean close_sent;
	gboolean eof;
	int close_code;
	guint pings;
	guint pongs;
	WsEvent last;
	char *protocol;
};

gint64 ws_now_ms(void)
{
	return g_get_monotonic_time() / 1000;
}

static int remaining_ms(gint64 deadline)
{
	gint64 r = deadline - ws_now_ms();
	return r < 0 ? 0 : (int)MIN(r, G_MAXINT);
}

/* ---- raw I/O: non-blocking socket, poll with deadlines ------------------ */

static int wait_fd(int fd, short events, gint64 deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	for (;;) {
		int r = poll(&p, 1, remaining_ms(deadline));
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* > 0 bytes read, 0 end of stream (FIN, RST or TLS close), -1 error,
 * -2 timeout. */
static gssize io_read(WsClient *c, void *buf, gsize len, gint64 deadline)
{
	for (;;) {
		short want = POLLIN;
		if (c->ssl) {
			ERR_clear_error();
			int r = SSL_read(c->ssl, buf, (int)MIN(len, (gsize)G_MAXINT));
			if (r > 0)
				return r;
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_WRITE)
				want = POLLOUT;
			else if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
				return 0;
			else if (e != SSL_ERROR_WANT_READ)
				return -1;
		} else {
			gssize r = recv(c->fd, buf, len, 0);
			if (r >= 0)
				return r;
			if (errno == ECONNRESET || errno == EPIPE)
				return 0;
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -1;
		}
		int w = wait_fd(c->fd, want, deadline);
		if (w == 0)
			return -2;
		if (w < 0)
			return -1;
	}
}

static gboolean io_write_all(WsClient *c, const void *data, gsize len)
{
	const guint8 *p = data;
	gint64 deadline = ws_now_ms() + WS_SEND_TIMEOUT_MS;
	while (len > 0) {
		short want = POLLOUT;
		gsize chunk = MIN(len, (gsize)(1 << 20));
		if (c->ssl) {
			ERR_clear_error();
			int r = SSL_write(c->ssl, p, (int)chunk);
			if (r > 0) {
				p += r;
				len -= (gsize)r;
				continue;
			}
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				want = POLLIN;
			else if (e != SSL_ERROR_WANT_WRITE)
				return FALSE;
		} else {
			gssize r = send(c->fd, p, chunk, MSG_NOSIGNAL);
			if (r > 0) {
				p += r;
				len -= (gsize)r;
				continue;
			}
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return FALSE;
		}
		if (wait_fd(c->fd, want, deadline) <= 0)
			return FALSE;
	}
	return TRUE;
}

/* Reads more bytes into rbuf. 1 ok, 0 EOF, -1 error, -2 timeout. */
static int fill(WsClient *c, gint64 deadline)
{
	guint8 buf[65536];
	gssize r = io_read(c, buf, sizeof(buf), deadline);
	if (r > 0) {
		g_byte_array_append(c->rbuf, buf, (guint)r);
		return 1;
	}
	if (r == 0) {
		c->eof = TRUE;
		return 0;
	}
	return (int)r;
}

/* ---- connecting ---------------------------------------------------------- */

static int tcp_connect(const char *host, guint16 port, int rcvbuf, gint64 deadline,
                       char **error)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		*error = g_strdup_printf("bad IPv4 address %s", host);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	g_assert_cmpint(fd, >=, 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS) {
			*error = g_strdup_printf("connect: %s", g_strerror(errno));
			close(fd);
			return -1;
		}
		if (wait_fd(fd, POLLOUT, deadline) <= 0) {
			*error = g_strdup("connect: timeout");
			close(fd);
			return -1;
		}
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			*error = g_strdup_printf("connect: %s", g_strerror(err));
			close(fd);
			return -1;
		}
	}
	return fd;
}

static char *ssl_errors(void)
{
	GString *s = g_string_new(NULL);
	unsigned long e;
	char buf[256];
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		if (s->len)
			g_string_append(s, "; ");
		g_string_append(s, buf);
	}
	return g_string_free(s, FALSE);
}

static gboolean tls_handshake(WsClient *c, const char *host, const char *ca_file,
                              gint64 deadline, char **error)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	g_assert_nonnull(c->ctx);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (!ca_file || SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1) {
		char *e = ssl_errors();
		*error = g_strdup_printf("cannot load CA file %s: %s", ca_file ? ca_file : "(none)", e);
		g_free(e);
		return FALSE;
	}
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
	X509_VERIFY_PARAM_set1_ip_asc(param, host);
	for (;;) {
		ERR_clear_error();
		int r = SSL_connect(c->ssl);
		if (r == 1)
			return TRUE;
		int e = SSL_get_error(c->ssl, r);
		short want;
		if (e == SSL_ERROR_WANT_READ)
			want = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			want = POLLOUT;
		else {
			char *es = ssl_errors();
			long v = SSL_get_verify_result(c->ssl);
			*error = g_strdup_printf("TLS handshake failed (verify: %s): %s",
			                         X509_verify_cert_error_string(v), es);
			g_free(es);
			return FALSE;
		}
		if (wait_fd(c->fd, want, deadline) <= 0) {
			*error = g_strdup("TLS handshake: timeout");
			return FALSE;
		}
	}
}

static char *make_accept(const char *key)
{
	char *cat = g_strconcat(key, WS_GUID, NULL);
	guint8 digest[20];
	gsize dlen = sizeof(digest);
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA1);
	g_checksum_update(ck, (const guchar *)cat, (gssize)strlen(cat));
	g_checksum_get_digest(ck, digest, &dlen);
	g_checksum_free(ck);
	g_free(cat);
	return g_base64_encode(digest, dlen);
}

/* Value of header `name` (case-insensitive) in an HTTP header block. */
static char *header_value(const char *headers, const char *name)
{
	char **lines = g_strsplit(headers, "\r\n", -1);
	char *val = NULL;
	gsize nl = strlen(name);
	for (char **l = lines + 1; *l && !val; l++) {
		if (g_ascii_strncasecmp(*l, name, nl) == 0 && (*l)[nl] == ':')
			val = g_strstrip(g_strdup(*l + nl + 1));
	}
	g_strfreev(lines);
	return val;
}

static void client_free_only(WsClient *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	g_byte_array_unref(c->rbuf);
	g_byte_array_unref(c->msg);
	g_free(c->protocol);
	g_free(c);
}

/* Reads an HTTP response head into *head; leftover stays in rbuf. */
static gboolean read_http_head(WsClient *c, gint64 deadline, char **head, char **error)
{
	for (;;) {
		guint8 *end = c->rbuf->len >= 4 ? memmem(c->rbuf->data, c->rbuf->len, "\r\n\r\n", 4) : NULL;
		if (end) {
			gsize hl = (gsize)(end - c->rbuf->data);
			*head = g_strndup((const char *)c->rbuf->data, hl);
			g_byte_array_remove_range(c->rbuf, 0, (guint)(hl + 4));
			return TRUE;
		}
		if (c->rbuf->len > WS_MAX_HEADERS) {
			*error = g_strdup("HTTP response head too long");
			return FALSE;
		}
		int r = fill(c, deadline);
		if (r <= 0) {
			*error = g_strdup_printf("HTTP response: %s (got %u bytes)",
			                         r == 0 ? "connection closed" : r == -2 ? "timeout" : "error",
			                         c->rbuf->len);
			return FALSE;
		}
	}
}

static int parse_status(const char *head)
{
	int major, minor, status;
	if (sscanf(head, "HTTP/%d.%d %d", &major, &minor, &status) != 3)
		return 0;
	return status;
}

/* Reads a body by Content-Length, chunked, or until EOF. */
static char *read_http_body(WsClient *c, const char *head, gint64 deadline)
{
	char *cl = header_value(head, "Content-Length");
	char *te = header_value(head, "Transfer-Encoding");
	GString *body = g_string_new(NULL);
	if (te && g_ascii_strcasecmp(te, "chunked") == 0) {
		gsize pos = 0;
		for (;;) {
			guint8 *eol = c->rbuf->len > pos ? memmem(c->rbuf->data + pos, c->rbuf->len - pos, "\r\n", 2) : NULL;
			if (!eol) {
				if (fill(c, deadline) <= 0)
					break;
				continue;
			}
			gsize n = (gsize)g_ascii_strtoull((const char *)c->rbuf->data + pos, NULL, 16);
			gsize start = (gsize)(eol - c->rbuf->data) + 2;
			if (n == 0)
				break;
			while (c->rbuf->len < start + n + 2 && fill(c, deadline) > 0)
				;
			if (c->rbuf->len < start + n)
				break;
			g_string_append_len(body, (const char *)c->rbuf->data + start, (gssize)n);
			pos = start + n + 2;
		}
	} else if (cl) {
		gsize n = (gsize)g_ascii_strtoull(cl, NULL, 10);
		while (c->rbuf->len < n && fill(c, deadline) > 0)
			;
		g_string_append_len(body, (const char *)c->rbuf->data, (gssize)MIN(n, c->rbuf->len));
	} else {
		while (fill(c, deadline) > 0)
			;
		g_string_append_len(body, (const char *)c->rbuf->data, c->rbuf->len);
	}
	g_free(cl);
	g_free(te);
	return g_string_free(body, FALSE);
}

static WsClient *client_open(const WsConnectOpts *o, gint64 deadline, char **error)
{
	const char *host = o->host ? o->host : "127.0.0.1";
	int fd = tcp_connect(host, o->port, o->rcvbuf, deadline, error);
	if (fd < 0)
		return NULL;
	WsClient *c = g_new0(WsClient, 1);
	c->fd = fd;
	c->rbuf = g_byte_array_new();
	c->msg = g_byte_array_new();
	c->msg_op = -1;
	c->auto_pong = TRUE;
	if (o->tls && !tls_handshake(c, host, o->ca_file, deadline, error)) {
		client_free_only(c);
		return NULL;
	}
	return c;
}

WsClient *ws_connect_opts(const WsConnectOpts *o, int *http_status, char **error,
                          char **body)
{
	gint64 deadline = ws_now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : 5000);
	const char *host = o->host ? o->host : "127.0.0.1";
	char *err = NULL, *head = NULL;
	guint8 rnd[16];
	WsClient *c;

	if (http_status)
		*http_status = 0;
	if (body)
		*body = NULL;
	c = client_open(o, deadline, &err);
	if (!c)
		goto fail;

	for (gsize i = 0; i < sizeof(rnd); i++)
		rnd[i] = (guint8)g_random_int();
	char *key = g_base64_encode(rnd, sizeof(rnd));
	GString *req = g_string_new(NULL);
	g_string_append_printf(req, "GET %s HTTP/1.1\r\nHost: %s:%u\r\n"
	                       "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	                       "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
	                       o->path ? o->path : WS_PATH, host, o->port, key);
	if (o->subprotocol)
		g_string_append_printf(req, "Sec-WebSocket-Protocol: %s\r\n", o->subprotocol);
	g_string_append(req, "\r\n");
	gboolean sent = io_write_all(c, req->str, req->len);
	g_string_free(req, TRUE);
	if (!sent) {
		err = g_strdup("cannot send the upgrade request");
		g_free(key);
		goto fail;
	}
	if (!read_http_head(c, deadline, &head, &err)) {
		g_free(key);
		goto fail;
	}
	int status = parse_status(head);
	if (http_status)
		*http_status = status;
	if (status != 101) {
		err = g_strdup_printf("upgrade refused: %s", head);
		if (body)
			*body = read_http_body(c, head, deadline);
		g_free(key);
		goto fail;
	}
	char *accept = header_value(head, "Sec-WebSocket-Accept");
	char *want = make_accept(key);
	char *upgrade = header_value(head, "Upgrade");
	gboolean ok = accept && strcmp(accept, want) == 0 && upgrade &&
	              g_ascii_strcasecmp(upgrade, "websocket") == 0;
	g_free(accept);
	g_free(want);
	g_free(upgrade);
	g_free(key);
	if (!ok) {
		err = g_strdup_printf("bad 101 response (Upgrade/Sec-WebSocket-Accept): %s", head);
		goto fail;
	}
	c->protocol = header_value(head, "Sec-WebSocket-Protocol");
	if (c->protocol && !o->subprotocol) {
		err = g_strdup_printf("server chose subprotocol %s that was not offered", c->protocol);
		goto fail;
	}
	if (c->protocol) {
		gboolean offered = FALSE;
		char **toks = g_strsplit(o->subprotocol, ",", -1);
		for (char **t = toks; *t; t++)
			offered |= strcmp(g_strstrip(*t), c->protocol) == 0;
		g_strfreev(toks);
		if (!offered) {
			err = g_strdup_printf("server chose subprotocol %s that was not offered", c->protocol);
			goto fail;
		}
	}
	g_free(head);
	return c;
fail:
	if (c)
		client_free_only(c);
	g_free(head);
	if (error)
		*error = err;
	else
		g_free(err);
	return NULL;
}

WsClient *ws_connect_path(guint16 port, const char *path, const char *subprotocol)
{
	WsConnectOpts o = { .port = port, .path = path, .subprotocol = subprotocol };
	char *err = NULL;
	WsClient *c = ws_connect_opts(&o, NULL, &err, NULL);
	if (!c)
		g_error("ws_connect 127.0.0.1:%u%s failed: %s", port, path, err);
	return c;
}

WsClient *ws_connect(guint16 port)
{
	WsClient *c = ws_connect_path(port, WS_PATH, WS_SUBPROTOCOL);
	g_assert_cmpstr(ws_protocol(c), ==, WS_SUBPROTOCOL);
	return c;
}

const char *ws_protocol(WsClient *c)
{
	return c->protocol;
}

int ws_fd(WsClient *c)
{
	return c->fd;
}

/* ---- sending ------------------------------------------------------------- */

static gsize frame_header(guint8 *h, gboolean fin, guint8 opcode, guint64 len,
                          const guint8 mask[4])
{
	gsize n = 0;
	h[n++] = (guint8)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len < 126) {
		h[n++] = (guint8)(0x80 | len);
	} else if (len <= 0xffff) {
		h[n++] = 0x80 | 126;
		h[n++] = (guint8)(len >> 8);
		h[n++] = (guint8)len;
	} else {
		h[n++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			h[n++] = (guint8)(len >> (8 * i));
	}
	memcpy(h + n, mask, 4);
	return n + 4;
}

gboolean ws_send_frame_declared(WsClient *c, gboolean fin, guint8 opcode,
                                guint64 declared_len, const void *payload,
                                gsize len)
{
	guint8 mask[4];
	guint32 m = g_random_int();
	memcpy(mask, &m, 4);
	guint8 *buf = g_malloc(14 + len);
	gsize hl = frame_header(buf, fin, opcode, declared_len, mask);
	const guint8 *p = payload;
	for (gsize i = 0; i < len; i++)
		buf[hl + i] = p[i] ^ mask[i & 3];
	gboolean ok = io_write_all(c, buf, hl + len);
	g_free(buf);
	return ok;
}

gboolean ws_send_frame(WsClient *c, gboolean fin, guint8 opcode,
                       const void *payload, gsize len)
{
	return ws_send_frame_declared(c, fin, opcode, len, payload, len);
}

gboolean ws_send_text_len(WsClient *c, const void *text, gsize len)
{
	return ws_send_frame(c, TRUE, WS_OP_TEXT, text, len);
}

gboolean ws_send_text(WsClient *c, const char *text)
{
	return ws_send_text_len(c, text, strlen(text));
}

gboolean ws_send_printf(WsClient *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	gboolean ok = ws_send_text(c, s);
	g_free(s);
	return ok;
}

gboolean ws_send_binary(WsClient *c, const void *data, gsize len)
{
	return ws_send_frame(c, TRUE, WS_OP_BINARY, data, len);
}

gboolean ws_send_fragmented(WsClient *c, const void *text, gsize len, guint nfrag)
{
	g_assert_cmpuint(nfrag, >=, 1);
	const guint8 *p = text;
	gsize off = 0;
	for (guint i = 0; i < nfrag; i++) {
		gsize n = (i == nfrag - 1) ? len - off : len / nfrag;
		if (!ws_send_frame(c, i == nfrag - 1, i == 0 ? WS_OP_TEXT : WS_OP_CONT, p + off, n))
			return FALSE;
		off += n;
	}
	return TRUE;
}

gboolean ws_send_raw(WsClient *c, const void *data, gsize len)
{
	return io_write_all(c, data, len);
}

gboolean ws_send_close(WsClient *c, int code)
{
	guint8 p[2] = { (guint8)(code >> 8), (guint8)code };
	c->close_sent = TRUE;
	return ws_send_frame(c, TRUE, WS_OP_CLOSE, p, code > 0 ? 2 : 0);
}

gboolean ws_send_ping(WsClient *c, const void *data, gsize len)
{
	return ws_send_frame(c, TRUE, WS_OP_PING, data, len);
}

/* ---- receiving ----------------------------------------------------------- */

void ws_set_auto_pong(WsClient *c, gboolean on)
{
	c->auto_pong = on;
}

guint ws_pings_received(WsClient *c)
{
	return c->pings;
}

guint ws_pongs_received(WsClient *c)
{
	return c->pongs;
}

WsEvent ws_last_event(WsClient *c)
{
	return c->last;
}

int ws_close_code(WsClient *c)
{
	return c->close_code;
}

/* Parses one complete frame from rbuf if there is one: 1 yes, 0 need more,
 * -1 protocol error. */
static int take_frame(WsClient *c, gboolean *fin, int *op, GByteArray *payload)
{
	const guint8 *d = c->rbuf->data;
	gsize have = c->rbuf->len, hl = 2;
	if (have < 2)
		return 0;
	if (d[1] & 0x80) {
		g_test_message("server sent a masked frame");
		return -1;
	}
	if (d[0] & 0x70) {
		g_test_message("server set RSV bits without an extension");
		return -1;
	}
	guint64 len = d[1] & 0x7f;
	if (len == 126) {
		hl = 4;
		if (have < hl)
			return 0;
		len = ((guint64)d[2] << 8) | d[3];
	} else if (len == 127) {
		hl = 10;
		if (have < hl)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = (len << 8) | d[2 + i];
	}
	if (len > WS_MAX_MESSAGE) {
		g_test_message("server frame too large: %" G_GUINT64_FORMAT, len);
		return -1;
	}
	if (have < hl + len)
		return 0;
	*fin = (d[0] & 0x80) != 0;
	*op = d[0] & 0x0f;
	g_byte_array_set_size(payload, 0);
	g_byte_array_append(payload, d + hl, (guint)len);
	g_byte_array_remove_range(c->rbuf, 0, (guint)(hl + len));
	return 1;
}

static void hand_out(GByteArray *data, char **payload, gsize *len)
{
	if (len)
		*len = data->len;
	if (payload) {
		char *s = g_malloc(data->len + 1);
		memcpy(s, data->data, data->len);
		s[data->len] = '\0';
		*payload = s;
	}
}

WsEvent ws_recv(WsClient *c, int timeout_ms, char **payload, gsize *len,
                int *close_code)
{
	gint64 deadline = ws_now_ms() + timeout_ms;
	GByteArray *frame = g_byte_array_new();
	WsEvent ev;

	if (payload)
		*payload = NULL;
	for (;;) {
		gboolean fin;
		int op;
		int r = take_frame(c, &fin, &op, frame);
		if (r < 0) {
			ev = WS_EV_ERROR;
			break;
		}
		if (r == 0) {
			if (c->eof) {
				ev = WS_EV_EOF;
				break;
			}
			int f = fill(c, deadline);
			if (f == 0)
				continue; /* parse what is left, then report EOF */
			if (f == -2) {
				ev = WS_EV_TIMEOUT;
				break;
			}
			if (f < 0) {
				ev = WS_EV_ERROR;
				break;
			}
			continue;
		}
		if (op == WS_OP_PING) {
			c->pings++;
			if (c->auto_pong && !c->close_sent)
				ws_send_frame(c, TRUE, WS_OP_PONG, frame->data, frame->len);
			continue;
		}
		if (op == WS_OP_PONG) {
			c->pongs++;
			continue;
		}
		if (op == WS_OP_CLOSE) {
			int code = WS_CLOSE_NO_CODE;
			if (frame->len >= 2)
				code = (frame->data[0] << 8) | frame->data[1];
			c->close_code = code;
			if (close_code)
				*close_code = code;
			if (!c->close_sent) {
				guint8 p[2] = { (guint8)(code >> 8), (guint8)code };
				c->close_sent = TRUE;
				ws_send_frame(c, TRUE, WS_OP_CLOSE, p, code == WS_CLOSE_NO_CODE ? 0 : 2);
			}
			ev = WS_EV_CLOSE;
			break;
		}
		if (op == WS_OP_TEXT || op == WS_OP_BINARY) {
			if (c->msg_op >= 0) {
				g_test_message("server started a message inside a fragmented one");
				ev = WS_EV_ERROR;
				break;
			}
			if (fin) {
				hand_out(frame, payload, len);
				ev = op == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
				break;
			}
			c->msg_op = op;
			g_byte_array_set_size(c->msg, 0);
			g_byte_array_append(c->msg, frame->data, frame->len);
			continue;
		}
		if (op == WS_OP_CONT && c->msg_op >= 0) {
			g_byte_array_append(c->msg, frame->data, frame->len);
			if (fin) {
				hand_out(c->msg, payload, len);
				ev = c->msg_op == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
				c->msg_op = -1;
				break;
			}
			continue;
		}
		g_test_message("server sent an unexpected opcode 0x%x", op);
		ev = WS_EV_ERROR;
		break;
	}
	g_byte_array_unref(frame);
	c->last = ev;
	return ev;
}

char *ws_recv_text(WsClient *c, int timeout_ms)
{
	char *p = NULL;
	WsEvent ev = ws_recv(c, timeout_ms, &p, NULL, NULL);
	if (ev == WS_EV_TEXT)
		return p;
	g_free(p);
	return NULL;
}

int ws_recv_close(WsClient *c, int timeout_ms, guint *skipped)
{
	gint64 deadline = ws_now_ms() + timeout_ms;
	if (skipped)
		*skipped = 0;
	for (;;) {
		int code = 0;
		WsEvent ev = ws_recv(c, remaining_ms(deadline), NULL, NULL, &code);
		switch (ev) {
		case WS_EV_TEXT:
		case WS_EV_BINARY:
			if (skipped)
				(*skipped)++;
			continue;
		case WS_EV_CLOSE:
			return code;
		case WS_EV_EOF:
			return WS_CLOSE_EOF;
		case WS_EV_TIMEOUT:
			return WS_CLOSE_TIMEOUT;
		case WS_EV_ERROR:
			return WS_CLOSE_ERROR;
		}
	}
}

gboolean ws_wait_eof(WsClient *c, int timeout_ms)
{
	gint64 deadline = ws_now_ms() + timeout_ms;
	for (;;) {
		WsEvent ev = ws_recv(c, remaining_ms(deadline), NULL, NULL, NULL);
		if (ev == WS_EV_EOF)
			return TRUE;
		if (ev == WS_EV_TIMEOUT)
			return FALSE;
		if (ev == WS_EV_ERROR) {
			/* drop the rest raw: what matters is the TCP end */
			g_byte_array_set_size(c->rbuf, 0);
			while (!c->eof) {
				int f = fill(c, deadline);
				g_byte_array_set_size(c->rbuf, 0);
				if (f == -2)
					return FALSE;
				if (f < 0)
					return TRUE;
			}
			return TRUE;
		}
	}
}

/* ---- ending -------------------------------------------------------------- */

void ws_close(WsClient *c)
{
	if (!c)
		return;
	if (!c->close_sent && !c->eof)
		ws_send_close(c, 1000);
	if (!c->eof && c->close_code == 0)
		ws_recv_close(c, 2000, NULL);
	ws_free(c);
}

void ws_abort(WsClient *c)
{
	if (!c)
		return;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (c->ssl) {
		SSL_free(c->ssl); /* no close_notify: SSL_shutdown is not called */
		c->ssl = NULL;
	}
	client_free_only(c);
}

void ws_free(WsClient *c)
{
	if (!c)
		return;
	client_free_only(c);
}

/* ---- plain HTTP ---------------------------------------------------------- */

int http_get(guint16 port, const char *path, char **body, char **headers)
{
	WsConnectOpts o = { .port = port };
	gint64 deadline = ws_now_ms() + 5000;
	char *err = NULL, *head = NULL;
	int status = -1;

	if (body)
		*body = NULL;
	if (headers)
		*headers = NULL;
	WsClient *c = client_open(&o, deadline, &err);
	if (!c) {
		g_test_message("http_get %s: %s", path, err);
		g_free(err);
		return -1;
	}
	char *req = g_strdup_printf("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
	                            "Connection: close\r\n\r\n", path, port);
	gboolean sent = io_write_all(c, req, strlen(req));
	g_free(req);
	if (sent && read_http_head(c, deadline, &head, &err)) {
		status = parse_status(head);
		char *b = read_http_body(c, head, deadline);
		if (body)
			*body = b;
		else
			g_free(b);
		if (headers)
			*headers = g_strdup(head);
	} else {
		g_test_message("http_get %s: %s", path, err ? err : "send failed");
	}
	g_free(err);
	g_free(head);
	client_free_only(c);
	return status;
}
