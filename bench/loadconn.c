/* SPDX-License-Identifier: Apache-2.0 */
/* One benchmark peer's socket: non-blocking connect from its own source
 * address, the TLS handshake (wss), the WebSocket upgrade, framing in and
 * out, pings. */
#include "load_int.h"

#include "tlsc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PP_PROTOCOL "peerpipe.v1"

static uint8_t pp_rbuf[256 * 1024];
static uint8_t pp_wbuf[64 * 1024 + PP_WSC_HDR_MAX];

static int pp_lbuf_put(struct pp_lbuf *b, const void *data, size_t len,
                       size_t max)
{
	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (len > max || b->len - b->off > max - len)
		return -1;
	if (b->len + len > b->cap && b->off) {
		memmove(b->d, b->d + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		uint8_t *d = realloc(b->d, cap);
		if (!d)
			return -1;
		b->d = d;
		b->cap = (uint32_t)cap;
	}
	memcpy(b->d + b->len, data, len);
	b->len += (uint32_t)len;
	return 0;
}

static void pp_lbuf_free(struct pp_lbuf *b)
{
	free(b->d);
	memset(b, 0, sizeof(*b));
}

static void pp_conn_arm(struct pp_load *l, uint32_t i, int out)
{
	struct pp_load_conn *c = &l->c[i];
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
	                          .data.u32 = i };

	if (c->out_armed == out)
		return;
	epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->out_armed = (uint8_t)out;
}

/* EPOLLOUT is wanted by a handshake step that could not write, by queued
 * output (unless TLS needs to read before it can write more), and by a TLS
 * read that needs to write first. */
static void pp_conn_rearm(struct pp_load *l, uint32_t i)
{
	struct pp_load_conn *c = &l->c[i];

	if (c->state == PP_CS_TLS)
		pp_conn_arm(l, i, c->hs_wants_out);
	else
		pp_conn_arm(l, i, (c->out.off < c->out.len && !c->wr_wants_in) ||
		                  c->rd_wants_out);
}

void pp_conn_free(struct pp_load *l, uint32_t i)
{
	struct pp_load_conn *c = &l->c[i];

	SSL_free(c->ssl); /* no close_notify; the fd stays ours */
	c->ssl = NULL;
	c->rd_wants_out = c->wr_wants_in = c->hs_wants_out = 0;
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	pp_lbuf_free(&c->in);
	pp_lbuf_free(&c->out);
	pp_lbuf_free(&c->frag);
}

void pp_conn_fail(struct pp_load *l, uint32_t i, const char *why)
{
	struct pp_load_conn *c = &l->c[i];
	int was = c->state;

	if (was == PP_CS_CLOSED)
		return;
	pp_load_note(l, "connection %u: %s", i, why);
	pp_conn_free(l, i);
	c->state = PP_CS_CLOSED;
	pp_load_on_closed(l, i, was);
}

/* Sends what the connection takes now: the bytes sent, 0 when it would
 * block, -1 once the connection failed. With TLS a retry after 0 must
 * offer at least the same bytes again (they stay at the head of c->out;
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets them move). */
static ssize_t pp_conn_tx(struct pp_load *l, uint32_t i, const uint8_t *data,
                          size_t len)
{
	struct pp_load_conn *c = &l->c[i];
	char why[256];
	int n;

	if (!c->ssl) {
		for (;;) {
			ssize_t r = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (r >= 0)
				return r;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			pp_conn_fail(l, i, strerror(errno));
			return -1;
		}
	}
	ERR_clear_error();
	n = SSL_write(c->ssl, data, len > INT_MAX ? INT_MAX : (int)len);
	if (n > 0) {
		c->wr_wants_in = 0;
		return n;
	}
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_WRITE:
		c->wr_wants_in = 0;
		return 0;
	case SSL_ERROR_WANT_READ:
		c->wr_wants_in = 1;
		return 0;
	}
	pp_tls_why(c->ssl, n, "SSL_write", why, sizeof(why));
	pp_conn_fail(l, i, why);
	return -1;
}

/* Receives into buf: the bytes, 0 when nothing more is there now, -1 when
 * the connection ended or failed (why says how). */
static ssize_t pp_conn_rx(struct pp_load_conn *c, uint8_t *buf, size_t cap,
                          char *why, size_t wcap)
{
	int n;

	if (!c->ssl) {
		for (;;) {
			ssize_t r = recv(c->fd, buf, cap, MSG_DONTWAIT);
			if (r > 0)
				return r;
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && errno == EAGAIN)
				return 0;
			snprintf(why, wcap, "%s", r == 0 ? "server closed the connection"
			                                 : strerror(errno));
			return -1;
		}
	}
	ERR_clear_error();
	n = SSL_read(c->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
	if (n > 0) {
		c->rd_wants_out = 0;
		return n;
	}
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		c->rd_wants_out = 0;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->rd_wants_out = 1;
		return 0;
	}
	pp_tls_why(c->ssl, n, "SSL_read", why, wcap);
	return -1;
}

static void pp_conn_write(struct pp_load *l, uint32_t i, const uint8_t *data,
                          size_t len)
{
	struct pp_load_conn *c = &l->c[i];

	while (c->out.len == c->out.off && len > 0) {
		ssize_t n = pp_conn_tx(l, i, data, len);
		if (n < 0)
			return;
		if (n == 0)
			break;
		data += n;
		len -= (size_t)n;
	}
	if (len == 0)
		return;
	if (pp_lbuf_put(&c->out, data, len, PP_LOAD_OUT_MAX) < 0) {
		l->n.send_overflow++;
		pp_conn_fail(l, i, "our send queue overflowed (server not reading)");
		return;
	}
	pp_conn_rearm(l, i);
}

void pp_conn_send(struct pp_load *l, uint32_t i, int op, const void *data,
                  size_t len)
{
	if (l->c[i].state == PP_CS_CLOSED || l->c[i].fd < 0 ||
	    len > sizeof(pp_wbuf) - PP_WSC_HDR_MAX)
		return;
	pp_conn_write(l, i, pp_wbuf, pp_wsc_encode(pp_wbuf, op, data, len));
}

static void pp_conn_writable(struct pp_load *l, uint32_t i)
{
	struct pp_load_conn *c = &l->c[i];

	while (c->out.off < c->out.len) {
		ssize_t n = pp_conn_tx(l, i, c->out.d + c->out.off,
		                       c->out.len - c->out.off);
		if (n < 0)
			return;
		if (n == 0) {
			pp_conn_rearm(l, i);
			return;
		}
		c->out.off += (uint32_t)n;
	}
	c->out.off = c->out.len = 0;
	pp_conn_rearm(l, i);
}

void pp_conn_open(struct pp_load *l, uint32_t i)
{
	struct pp_load_conn *c = &l->c[i];
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = i };
	int one = 1;
	char why[128];

	c->state = PP_CS_CONNECTING;
	l->in_setup++;
	l->n.opened++;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		pp_conn_fail(l, i, why);
		return;
	}
	/* Spread the sources so ephemeral ports never run out; the port is
	 * picked at connect time, per destination. */
	src.sin_addr.s_addr = htonl(0x7F000002u + i / l->cfg.per_src);
	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	dst.sin_port = htons(l->cfg.port);
	inet_pton(AF_INET, l->cfg.host, &dst.sin_addr);
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		snprintf(why, sizeof(why), "bind: %s", strerror(errno));
		pp_conn_fail(l, i, why);
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 &&
	    errno != EINPROGRESS) {
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		pp_conn_fail(l, i, why);
		return;
	}
	c->out_armed = 1;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		snprintf(why, sizeof(why), "epoll: %s", strerror(errno));
		pp_conn_fail(l, i, why);
	}
}

static void pp_conn_readable(struct pp_load *l, uint32_t i);

static void pp_conn_upgrade(struct pp_load *l, uint32_t i)
{
	struct pp_load_conn *c = &l->c[i];
	char req[512], host[64];

	pp_wsc_key_new(c->key);
	snprintf(host, sizeof(host), "%s:%u", l->cfg.host, l->cfg.port);
	int n = pp_wsc_request(req, sizeof(req), host, l->cfg.path, c->key,
	                       PP_PROTOCOL);
	c->state = PP_CS_UPGRADING;
	pp_conn_rearm(l, i);
	pp_conn_write(l, i, (const uint8_t *)req, (size_t)n);
}

/* One step of the client handshake, run whenever the socket is ready the
 * way the last step asked for. */
static void pp_conn_tls_step(struct pp_load *l, uint32_t i)
{
	struct pp_load_conn *c = &l->c[i];
	char why[256];
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->hs_wants_out = 0;
		l->n.tls_handshakes++;
		if (!l->n.tls_desc[0]) {
			pp_tls_describe(c->ssl, l->n.tls_desc, sizeof(l->n.tls_desc));
		} else if (!l->n.tls_mixed) {
			char d[sizeof(l->n.tls_desc)];
			pp_tls_describe(c->ssl, d, sizeof(d));
			l->n.tls_mixed = strcmp(d, l->n.tls_desc) != 0;
		}
		pp_conn_upgrade(l, i);
		/* Read-ahead may hold records already (session tickets). */
		if (c->state == PP_CS_UPGRADING && SSL_has_pending(c->ssl))
			pp_conn_readable(l, i);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->hs_wants_out = 0;
		pp_conn_rearm(l, i);
		return;
	case SSL_ERROR_WANT_WRITE:
		c->hs_wants_out = 1;
		pp_conn_rearm(l, i);
		return;
	}
	pp_tls_why(c->ssl, r, "TLS handshake", why, sizeof(why));
	pp_conn_fail(l, i, why);
}

static void pp_conn_connected(struct pp_load *l, uint32_t i)
{
	struct pp_load_conn *c = &l->c[i];
	char why[128];
	int err = 0;
	socklen_t el = sizeof(err);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err) {
		snprintf(why, sizeof(why), "connect: %s", strerror(err));
		pp_conn_fail(l, i, why);
		return;
	}
	if (!l->cfg.tls) {
		pp_conn_upgrade(l, i);
		return;
	}
	c->ssl = pp_tls_client_new(l->cfg.tls, c->fd, l->cfg.host);
	if (!c->ssl) {
		pp_conn_fail(l, i, "SSL_new failed (out of memory?)");
		return;
	}
	c->state = PP_CS_TLS;
	pp_conn_tls_step(l, i);
}

/* Answers control frames; hands text messages over (reassembled). */
static void pp_conn_frame(struct pp_load *l, uint32_t i,
                          const struct pp_wsc_frame *f)
{
	struct pp_load_conn *c = &l->c[i];
	char why[64];

	switch (f->op) {
	case PP_WSC_PING:
		l->n.pings++;
		pp_conn_send(l, i, PP_WSC_PONG, f->payload, f->len);
		return;
	case PP_WSC_PONG:
		return;
	case PP_WSC_CLOSE: {
		int code = f->len >= 2 ? (f->payload[0] << 8) | f->payload[1] : 1005;
		l->n.closed_by_server++;
		pp_conn_send(l, i, PP_WSC_CLOSE, f->payload, f->len >= 2 ? 2 : 0);
		snprintf(why, sizeof(why), "server closed with code %d", code);
		pp_conn_fail(l, i, why);
		return;
	}
	case PP_WSC_TEXT:
	case PP_WSC_BINARY:
		if (f->fin && c->frag.len == 0) {
			pp_load_on_text(l, i, (const char *)f->payload, f->len);
			return;
		}
		c->frag.len = c->frag.off = 0;
		/* fall through */
	case PP_WSC_CONT:
		if (pp_lbuf_put(&c->frag, f->payload, f->len, PP_LOAD_MSG_MAX) < 0) {
			pp_conn_fail(l, i, "fragmented message too large");
			return;
		}
		if (f->fin) {
			pp_load_on_text(l, i, (const char *)c->frag.d, c->frag.len);
			if (c->state != PP_CS_CLOSED)
				c->frag.len = c->frag.off = 0;
		}
		return;
	default:
		pp_conn_fail(l, i, "unknown frame opcode");
	}
}

/* Consumes what it can of buf; returns the bytes used or -1 once closed. */
static long pp_conn_consume(struct pp_load *l, uint32_t i, uint8_t *buf,
                            size_t len)
{
	struct pp_load_conn *c = &l->c[i];
	size_t off = 0;

	if (c->state == PP_CS_UPGRADING) {
		const char *why = NULL;
		int h = pp_wsc_response((const char *)buf, len, c->key, PP_PROTOCOL,
		                        &why);
		if (h == 0)
			return 0;
		if (h < 0) {
			pp_conn_fail(l, i, why);
			return -1;
		}
		off = (size_t)h;
		c->state = PP_CS_JOINING;
		pp_load_on_upgraded(l, i);
		if (c->state == PP_CS_CLOSED)
			return -1;
	}
	while (off < len) {
		struct pp_wsc_frame f;
		int r = pp_wsc_decode(buf + off, len - off, PP_LOAD_MSG_MAX, &f);
		if (r == 0)
			break;
		if (r < 0) {
			pp_conn_fail(l, i, "malformed or oversized frame");
			return -1;
		}
		off += f.total;
		pp_conn_frame(l, i, &f);
		if (c->state == PP_CS_CLOSED)
			return -1;
	}
	return (long)off;
}

/* Plain: up to 8 reads of pp_rbuf, until one comes back short. TLS:
 * SSL_read hands out a record at a time; go on while OpenSSL holds bytes
 * it read ahead (epoll would never report them again) and leave what is
 * still in the socket to the next epoll round (level-triggered), which
 * saves a read that would only say EAGAIN. */
static void pp_conn_readable(struct pp_load *l, uint32_t i)
{
	struct pp_load_conn *c = &l->c[i];
	char why[256];

	for (int k = 0; k < 8 || c->ssl; k++) {
		ssize_t n = pp_conn_rx(c, pp_rbuf, sizeof(pp_rbuf), why, sizeof(why));
		long used;
		if (n == 0)
			break;
		if (n < 0) {
			if (c->state == PP_CS_JOINED)
				l->n.closed_by_server++;
			pp_conn_fail(l, i, why);
			return;
		}
		if (c->in.len > c->in.off) {
			if (pp_lbuf_put(&c->in, pp_rbuf, (size_t)n, PP_LOAD_MSG_MAX + 64) < 0) {
				pp_conn_fail(l, i, "input buffer overflow");
				return;
			}
			used = pp_conn_consume(l, i, c->in.d + c->in.off,
			                       c->in.len - c->in.off);
			if (used < 0)
				return;
			c->in.off += (uint32_t)used;
			if (c->in.off == c->in.len)
				c->in.off = c->in.len = 0;
		} else {
			used = pp_conn_consume(l, i, pp_rbuf, (size_t)n);
			if (used < 0)
				return;
			if (used < n && pp_lbuf_put(&c->in, pp_rbuf + used,
			                            (size_t)(n - used),
			                            PP_LOAD_MSG_MAX + 64) < 0) {
				pp_conn_fail(l, i, "input buffer overflow");
				return;
			}
		}
		if (c->ssl ? !SSL_has_pending(c->ssl) : (size_t)n < sizeof(pp_rbuf))
			break;
	}
	if (c->ssl)
		pp_conn_rearm(l, i); /* an SSL_read may wait to write */
}

void pp_conn_event(struct pp_load *l, uint32_t i, uint32_t ev)
{
	struct pp_load_conn *c = &l->c[i];

	if (c->state == PP_CS_CLOSED)
		return;
	if (c->state == PP_CS_CONNECTING) {
		if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			pp_conn_connected(l, i);
		return;
	}
	if (c->state == PP_CS_TLS) {
		pp_conn_tls_step(l, i);
		return;
	}
	/* TLS may turn a read into a write and back: SSL_read waiting for
	 * EPOLLOUT, SSL_write for EPOLLIN. */
	int wr_in = c->wr_wants_in;
	if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) ||
	    (c->rd_wants_out && (ev & EPOLLOUT)))
		pp_conn_readable(l, i);
	if (c->state != PP_CS_CLOSED &&
	    ((ev & EPOLLOUT) || (wr_in && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))))
		pp_conn_writable(l, i);
}
