/* SPDX-License-Identifier: Apache-2.0 */
/* See wsflood.h. Blocking sockets with timeouts: nothing waits for ever. */
#include "wsflood.h"
#include "wsframe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WSFLOOD_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WSFLOOD_IO_TIMEOUT_S 3
#define WSFLOOD_CLOSE_WAIT_MS 2000

struct WsFlood {
	int lfd;
	guint16 port;
	char *room;
	guint64 cap;
	GThread *thread;
	gint stop;
	gint done;
	WsFloodConn conns[WSFLOOD_CONNS];
};

static void frame(GByteArray *out, gboolean fin, guint8 op, const void *p, gsize len)
{
	guint8 h[WSFRAME_HEADER_MAX];

	g_byte_array_append(out, h, (guint)wsframe_header(h, fin, op, len, FALSE));
	g_byte_array_append(out, p, (guint)len);
}

static gboolean send_all(int fd, const guint8 *p, gsize len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		p += n;
		len -= (gsize)n;
	}
	return TRUE;
}

/* The client's request, up to the blank line (NULL: none in time). */
static char *read_head(int fd)
{
	GString *s = g_string_new(NULL);
	char c;

	while (s->len < 4 || memcmp(s->str + s->len - 4, "\r\n\r\n", 4) != 0) {
		if (s->len > 16384 || recv(fd, &c, 1, 0) != 1) {
			g_string_free(s, TRUE);
			return NULL;
		}
		g_string_append_c(s, c);
	}
	return g_string_free(s, FALSE);
}

static char *accept_for(const char *head)
{
	static const char name[] = "\r\nSec-WebSocket-Key:";
	const char *k = strcasestr(head, name);
	guint8 digest[20];
	gsize dlen = sizeof(digest);

	if (!k)
		return NULL;
	k += strlen(name);
	while (*k == ' ')
		k++;
	char *key = g_strndup(k, strcspn(k, " \r\n"));
	GChecksum *sha1 = g_checksum_new(G_CHECKSUM_SHA1);
	g_checksum_update(sha1, (const guchar *)key, -1);
	g_checksum_update(sha1, (const guchar *)WSFLOOD_GUID, -1);
	g_checksum_get_digest(sha1, digest, &dlen);
	g_checksum_free(sha1);
	g_free(key);
	return g_base64_encode(digest, dlen);
}

/* One whole client frame out of rx: its opcode and unmasked payload. */
static gboolean take_frame(GByteArray *rx, int *op, GByteArray *payload)
{
	const guint8 *h = rx->data;
	guint64 len;
	gsize at = 2, mask_at;

	if (rx->len < 2)
		return FALSE;
	len = h[1] & 0x7f;
	if (len == 126) {
		if (rx->len < 4)
			return FALSE;
		len = (guint64)h[2] << 8 | h[3];
		at = 4;
	} else if (len == 127) {
		if (rx->len < 10)
			return FALSE;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
		at = 10;
	}
	mask_at = at;
	if (h[1] & 0x80)
		at += 4;
	if (len > (1u << 20) || rx->len < at + len) /* our client sends small frames */
		return FALSE;
	*op = h[0] & 0x0f;
	g_byte_array_set_size(payload, 0);
	for (gsize i = 0; i < len; i++) {
		guint8 b = h[at + i] ^ ((h[1] & 0x80) ? h[mask_at + i % 4] : 0);
		g_byte_array_append(payload, &b, 1);
	}
	g_byte_array_remove_range(rx, 0, (guint)(at + len));
	return TRUE;
}

static void note_close(WsFloodConn *r, const GByteArray *p)
{
	gsize i, n = 0;

	r->close_code = p->len >= 2 ? p->data[0] << 8 | p->data[1] : 1005;
	for (i = 2; i < p->len && n + 1 < sizeof(r->close_reason); i++)
		r->close_reason[n++] = (p->data[i] >= 0x20 && p->data[i] < 0x7f) ? (char)p->data[i] : '?';
	r->close_reason[n] = '\0';
}

/* Reads what the client sent (waiting up to wait_ms for it) and looks at
 * its frames. FALSE once the connection is over: a close frame, EOF, an
 * error. */
static gboolean pump(int fd, GByteArray *rx, WsFloodConn *r, int wait_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	guint8 buf[4096];
	GByteArray *pl;
	gboolean more = TRUE;
	int op;

	if (poll(&p, 1, wait_ms) <= 0)
		return TRUE;
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EINTR);
	g_byte_array_append(rx, buf, (guint)n);
	pl = g_byte_array_new();
	while (more && take_frame(rx, &op, pl)) {
		if (op == 0x1 && memmem(pl->data, pl->len, "\"JOIN_ROOM\"", 11))
			r->got_join = TRUE;
		if (op == 0x8) {
			note_close(r, pl);
			more = FALSE;
		}
	}
	g_byte_array_unref(pl);
	return more;
}

/* A JOINED in three fragments, a ping between the first two. */
static void joined_frames(WsFlood *f, GByteArray *out)
{
	char *j = g_strdup_printf("{\"type\":\"JOINED\",\"room\":\"%s\",\"peer_id\":"
	                          "\"0123456789abcdef0123456789abcdef\",\"peers\":[],"
	                          "\"ice_servers\":[]}", f->room);
	gsize n = strlen(j), a = n / 3, b = 2 * n / 3;

	frame(out, FALSE, 0x1, j, a);
	frame(out, TRUE, 0x9, "ping", 4);
	frame(out, FALSE, 0x0, j + a, b - a);
	frame(out, TRUE, 0x0, j + b, n - b);
	g_free(j);
}

static void serve(WsFlood *f, int fd, WsFloodConn *r, gboolean first)
{
	GByteArray *out = g_byte_array_new(), *rx = g_byte_array_new(), *cont = g_byte_array_new();
	guint8 *chunk = g_malloc(WSFLOOD_CHUNK);
	char *head = read_head(fd), *acc = head ? accept_for(head) : NULL;
	gboolean alive = acc != NULL;

	memset(chunk, 'a', WSFLOOD_CHUNK);
	frame(cont, FALSE, 0x0, chunk, WSFLOOD_CHUNK);
	if (alive) {
		char *resp = g_strdup_printf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		                             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
		                             "Sec-WebSocket-Protocol: peerpipe.v1\r\n\r\n", acc);
		g_byte_array_append(out, (const guint8 *)resp, (guint)strlen(resp));
		g_free(resp);
	}
	if (alive && !first) { /* the answer, then the client's JOIN_ROOM */
		gint64 end = g_get_monotonic_time() + WSFLOOD_IO_TIMEOUT_S * G_USEC_PER_SEC;
		alive = send_all(fd, out->data, out->len);
		g_byte_array_set_size(out, 0);
		while (alive && !r->got_join && g_get_monotonic_time() < end)
			alive = pump(fd, rx, r, 100);
	}
	if (alive) {
		joined_frames(f, out);
		frame(out, FALSE, 0x1, chunk, WSFLOOD_CHUNK); /* the message without end */
		if ((alive = send_all(fd, out->data, out->len)))
			r->sent = WSFLOOD_CHUNK;
	}
	while (alive && r->sent < f->cap && !g_atomic_int_get(&f->stop)) {
		if ((alive = pump(fd, rx, r, 0)) && (alive = send_all(fd, cont->data, cont->len)))
			r->sent += WSFLOOD_CHUNK;
	}
	/* the client's close frame may still be on its way (before a reset) */
	gint64 end = g_get_monotonic_time() + WSFLOOD_CLOSE_WAIT_MS * 1000;
	while (!r->close_code && g_get_monotonic_time() < end && pump(fd, rx, r, 100))
		;
	g_free(acc);
	g_free(head);
	g_free(chunk);
	g_byte_array_unref(cont);
	g_byte_array_unref(rx);
	g_byte_array_unref(out);
}

static gpointer wsflood_main(gpointer data)
{
	WsFlood *f = data;
	struct timeval tv = { .tv_sec = WSFLOOD_IO_TIMEOUT_S };

	while (!g_atomic_int_get(&f->stop)) {
		struct pollfd p = { .fd = f->lfd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		guint i = (guint)g_atomic_int_get(&f->done);
		if (i < WSFLOOD_CONNS) {
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			serve(f, fd, &f->conns[i], i == 0);
		}
		close(fd);
		if (i < WSFLOOD_CONNS)
			g_atomic_int_inc(&f->done); /* publishes conns[i] */
	}
	return NULL;
}

WsFlood *wsflood_start(const char *room, guint64 cap)
{
	WsFlood *f = g_new0(WsFlood, 1);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	f->room = g_strdup(room);
	f->cap = cap;
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(f->lfd, >=, 0);
	g_assert_cmpint(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(listen(f->lfd, 8), ==, 0);
	g_assert_cmpint(getsockname(f->lfd, (struct sockaddr *)&a, &alen), ==, 0);
	f->port = ntohs(a.sin_port);
	f->thread = g_thread_new("wsflood", wsflood_main, f);
	return f;
}

guint16 wsflood_port(WsFlood *f)
{
	return f->port;
}

guint wsflood_done(WsFlood *f)
{
	return (guint)g_atomic_int_get(&f->done);
}

const WsFloodConn *wsflood_conn(WsFlood *f, guint i)
{
	g_assert_cmpuint(i, <, wsflood_done(f));
	return &f->conns[i];
}

void wsflood_stop(WsFlood *f)
{
	g_atomic_int_set(&f->stop, 1);
	g_thread_join(f->thread);
	close(f->lfd);
	g_free(f->room);
	g_free(f);
}
