/* SPDX-License-Identifier: Apache-2.0 */
/* The socket side of a stream: a GSource on the fd whose interest follows
 * the flow-control state (read while the channel has room, write while
 * decoded bytes wait), the write buffer, half-close and close. */
#include "stream_priv.h"
#include "stream_pool.h"

#include "peerpipe/error.h"
#include "peerpipe/fdwatch.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PP_TSTREAM_READ_BURST 8 /* reads per wakeup before yielding */

static bool pp_tstream_want_read(const struct pp_tstream *st)
{
	if (st->fd < 0 || st->read_eof || st->read_blocked || !st->ch || st->chan_closing)
		return false;
	return st->confirmed || st->cfg.unconfirmed_max == 0 ||
	       st->unconfirmed < st->cfg.unconfirmed_max;
}

void pp_tstream_sock_update(struct pp_tstream *st)
{
	GIOCondition cond = 0;

	if (!st->io)
		return;
	if (pp_tstream_want_read(st))
		cond |= G_IO_IN;
	if (st->wlen > st->woff)
		cond |= G_IO_OUT;
	/* poll() and epoll report HUP and ERR whatever was asked: a socket
	 * we wait on nothing from is not watched at all, or a hung-up one
	 * would spin. Except after our socket's EOF, until a hangup is seen:
	 * the other end may still reset (a client that half-closed, then
	 * went away), and nothing else would tell (pp_tstream_sock_hangup). */
	if (cond == 0 && st->read_eof && !st->hup_seen)
		cond = G_IO_HUP;
	int rc = pp_fdwatch_set(st->io, cond);
	if (rc < 0) { /* out of kernel memory, or over fs.epoll.max_user_watches */
		pp_log(PP_LOG_WARN, st->log_peer, "stream %s: cannot watch its socket: %s", st->name,
		       pp_strerror(rc));
		pp_tstream_fail(st, "socket watch failed");
	}
}

/* HUP or ERR after our socket's EOF: an error (the other end reset) aborts
 * the stream; a plain hangup (a UNIX socket closed by its other end) is
 * only noted, as a TCP FIN would be: the next write will fail. */
static void pp_tstream_sock_hangup(struct pp_tstream *st)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(st->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		pp_tstream_fail(st, err == ECONNRESET || err == EPIPE ? "socket reset" : "socket error");
	else
		st->hup_seen = true;
}

/* While a stream holds the association paused, every other stream and the
 * control channel of the peer wait too (one SCTP window). A socket that
 * takes nothing for stall_ms is not coming back: end that stream so the
 * others move again. A slow socket that makes progress is left alone. */
static gboolean pp_tstream_stall_check(gpointer data)
{
	struct pp_tstream *st = data;

	if (st->stats.bytes_out != st->stall_mark) {
		st->stall_mark = st->stats.bytes_out;
		return G_SOURCE_CONTINUE;
	}
	pp_log(PP_LOG_WARN, st->log_peer, "stream %s: its socket took nothing for %u ms while the "
	       "peer's connection waited on it", st->name, st->cfg.stall_ms);
	g_source_unref(st->stall);
	st->stall = NULL;
	pp_tstream_fail(st, "socket stalled");
	return G_SOURCE_REMOVE;
}

static void pp_tstream_set_pressure(struct pp_tstream *st, bool over)
{
	if (st->pressure == over)
		return;
	st->pressure = over;
	pp_source_clear(&st->stall);
	if (over) {
		st->stall_mark = st->stats.bytes_out;
		st->stall = g_timeout_source_new(st->cfg.stall_ms);
		g_source_set_callback(st->stall, pp_tstream_stall_check, st, NULL);
		g_source_attach(st->stall, st->ctx);
	}
	if (st->cb.on_pressure)
		st->cb.on_pressure(st->user, st, over);
}

void pp_tstream_check_pressure(struct pp_tstream *st)
{
	size_t pending = st->wlen - st->woff;

	if (st->fd < 0)
		st->over_own = false; /* before the socket: early_max; after it: nothing waits */
	else if (pending > st->cfg.write_max)
		st->over_own = true;
	else if (pending <= st->cfg.write_max / 2)
		st->over_own = false;
	pp_tstream_set_pressure(st, st->over_own || (st->fd >= 0 && pending > 0 &&
	                                             pp_tstream_pool_over(st->cfg.pool)));
}

/* After writing: shut our write side once EOF came and all is written. */
static void pp_tstream_after_write(struct pp_tstream *st)
{
	size_t pending = st->wlen - st->woff;

	if (pending == 0) {
		st->wlen = st->woff = 0;
		if (st->eof_received && !st->wr_shut && st->fd >= 0) {
			st->wr_shut = true;
			shutdown(st->fd, SHUT_WR);
		}
	}
	pp_tstream_check_pressure(st);
	pp_tstream_maybe_done(st);
}

void pp_tstream_sock_flush(struct pp_tstream *st)
{
	while (st->fd >= 0 && st->wlen > st->woff) {
		ssize_t n = send(st->fd, st->wbuf + st->woff, st->wlen - st->woff, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			pp_tstream_fail(st, errno == EPIPE || errno == ECONNRESET ? "socket reset"
			                                                          : "socket write error");
			return;
		}
		st->woff += (size_t)n;
		st->stats.bytes_out += (uint64_t)n;
		pp_tstream_pool_take(st->cfg.pool, (size_t)n);
	}
	pp_tstream_after_write(st);
	pp_tstream_sock_update(st);
}

/* Appends decoded bytes; the caller flushes. Bounded by write_max plus one
 * message (the pressure signal stops more from coming), or early_max
 * before the socket exists. */
int pp_tstream_queue_write(struct pp_tstream *st, const uint8_t *data, size_t len)
{
	size_t pending = st->wlen - st->woff;
	size_t limit = st->fd < 0 && !st->sock_closed ? st->cfg.early_max
	                                              : st->cfg.write_max + PP_FRAME_DATA_MAX;

	if (pending + len > limit)
		return PP_ERR_TOO_BIG;
	if (st->woff > 0 && st->wlen + len > st->wcap) {
		memmove(st->wbuf, st->wbuf + st->woff, pending);
		st->wlen = pending;
		st->woff = 0;
	}
	if (st->wlen + len > st->wcap) {
		size_t cap = st->wcap ? st->wcap : 64 * 1024;
		while (cap < st->wlen + len)
			cap *= 2;
		uint8_t *nb = realloc(st->wbuf, cap);
		if (!nb)
			return PP_ERR_NOMEM;
		st->wbuf = nb;
		st->wcap = cap;
	}
	memcpy(st->wbuf + st->wlen, data, len);
	st->wlen += len;
	pp_tstream_pool_add(st->cfg.pool, len);
	pp_tstream_check_pressure(st);
	return 0;
}

static void pp_tstream_sock_read(struct pp_tstream *st)
{
	uint8_t buf[PP_FRAME_DATA_MAX];

	for (int i = 0; i < PP_TSTREAM_READ_BURST && pp_tstream_want_read(st); i++) {
		size_t want = sizeof(buf);
		size_t high = pp_tstream_high_mark(st);
		if (high < st->cfg.high_mark) { /* held to its share: no more than it has room for */
			size_t queued = pp_sctp_channel_buffered_amount(st->ch);
			want = MIN(want, MAX(high > queued ? high - queued : 0, PP_TSTREAM_SHARE_READ));
		}
		if (!st->confirmed && st->cfg.unconfirmed_max)
			want = MIN(want, st->cfg.unconfirmed_max - st->unconfirmed);
		ssize_t n = recv(st->fd, buf, want, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				pp_tstream_fail(st, errno == ECONNRESET ? "socket reset" : "socket read error");
			return;
		}
		if (n == 0) {
			st->read_eof = true;
			pp_tstream_send_eof(st);
			pp_tstream_maybe_done(st);
			return;
		}
		st->stats.bytes_in += (uint64_t)n;
		if (!st->confirmed)
			st->unconfirmed += (uint64_t)n;
		if (pp_tstream_send_data(st, buf, (size_t)n) < 0)
			return;
		/* Less than asked: the socket is empty now. poll() is level
		 * triggered, so whatever comes next wakes us again; a read
		 * that would only say EAGAIN is saved. */
		if ((size_t)n < want)
			return;
	}
}

void pp_tstream_read_now(struct pp_tstream *st)
{
	if (st->fd < 0 || !pp_tstream_want_read(st))
		return;
	pp_tstream_sock_read(st);
	pp_tstream_sock_update(st);
}

static void pp_tstream_io(void *user, GIOCondition got)
{
	struct pp_tstream *st = user;

	if (got & (G_IO_OUT | G_IO_ERR | G_IO_HUP))
		pp_tstream_sock_flush(st);
	if (st->fd >= 0 && (got & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
		pp_tstream_sock_read(st);
	if (st->fd >= 0 && st->read_eof && (got & (G_IO_HUP | G_IO_ERR)))
		pp_tstream_sock_hangup(st);
	pp_tstream_sock_update(st);
}

int pp_tstream_attach(struct pp_tstream *st, int fd)
{
	if (st->fd >= 0 || st->sock_closed)
		return PP_ERR_STATE;
	st->io = pp_fdwatch_new(st->ctx, fd, 0, pp_tstream_io, st);
	if (!st->io)
		return -errno;
	st->fd = fd;
	/* Data that came before the socket goes out first. */
	pp_tstream_check_pressure(st);
	pp_tstream_sock_flush(st);
	return 0;
}

/* rst: abortive close (SO_LINGER 0), so the application sees a reset and
 * never mistakes an aborted stream for a complete one. */
void pp_tstream_sock_close(struct pp_tstream *st, bool rst)
{
	pp_fdwatch_free(st->io);
	st->io = NULL;
	if (st->fd >= 0) {
		if (rst) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(st->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(st->fd);
		st->fd = -1;
	}
	/* Also when no socket was ever attached (a refused stream, a connect
	 * that failed): none will be now, and what the peer still sends
	 * until its reset is dropped, not kept. */
	st->sock_closed = true;
	free(st->wbuf);
	st->wbuf = NULL;
	pp_tstream_pool_take(st->cfg.pool, st->wlen - st->woff);
	st->wcap = st->wlen = st->woff = 0;
	st->over_own = false;
	pp_tstream_set_pressure(st, false);
}
