/* SPDX-License-Identifier: Apache-2.0 */
/* Local forwards (-L [bind:]port:service): listening sockets on
 * 127.0.0.1 by default; each accepted connection becomes one service
 * stream, or waits (bounded) until the tunnel is up. A connection the
 * client cannot carry is reset, never closed cleanly. */
#include "connect.h"

#include "peerpipe/error.h"
#include "peerpipe/fdwatch.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn_wait {
	struct conn_forward *f;
	int fd;
};

/* "port:service" or "bind:port:service" (bind an IPv4 literal). */
int conn_forward_parse(const char *spec, struct conn_forward *f)
{
	gchar **parts = g_strsplit(spec, ":", 4);
	guint n = g_strv_length(parts);
	const char *bind = n == 3 ? parts[0] : "127.0.0.1";
	const char *port = n == 3 ? parts[1] : n == 2 ? parts[0] : NULL;
	const char *svc = n == 3 ? parts[2] : n == 2 ? parts[1] : NULL;
	char *end = NULL;
	unsigned long p = port ? strtoul(port, &end, 10) : 0;
	struct in_addr a;
	int rc = PP_ERR_INVALID;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (port && *end == '\0' && p >= 1 && p <= 65535 && pp_tunnel_service_name_valid(svc) &&
	    strlen(bind) < sizeof(f->bind) && inet_pton(AF_INET, bind, &a) == 1) {
		g_strlcpy(f->bind, bind, sizeof(f->bind));
		f->port = (uint16_t)p;
		g_strlcpy(f->service, svc, sizeof(f->service));
		rc = 0;
	}
	g_strfreev(parts);
	return rc;
}

/* Closes a connection this client cannot carry with a reset (SO_LINGER 0):
 * a clean FIN would look to the application like a complete, empty
 * exchange with the service. */
static void conn_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Holds a connection until a tunnel is up; bounded: the one over the
 * bound is reset. */
static void conn_hold(struct conn_app *app, struct conn_forward *f, int fd)
{
	struct conn_wait *w;

	if (g_queue_get_length(&app->waiting) >= CONN_WAITING_MAX) {
		conn_say("%s: tunnel not up, %d connections already waiting: connection reset",
		         f->service, CONN_WAITING_MAX);
		conn_reset(fd);
		return;
	}
	w = g_new0(struct conn_wait, 1);
	w->f = f;
	w->fd = fd;
	g_queue_push_tail(&app->waiting, w);
}

/* 0: fd is a stream's now. PP_ERR_STATE: the session is still READY but
 * is closing (its association opens no channel in the close grace): the
 * caller keeps fd for the next tunnel. Any other failure resets it. */
static int conn_open_stream(struct conn_app *app, struct conn_forward *f, int fd)
{
	struct pp_tstream *st = NULL;
	int rc = pp_tsession_open_stream(pp_tlink_session(app->link), f->service, fd, &st);

	if (rc == PP_ERR_STATE) {
		pp_log(PP_LOG_INFO, NULL, "%s: the tunnel is closing: the connection waits for the next one",
		       f->service);
	} else if (rc < 0) {
		conn_say("%s: cannot open a stream: %s", f->service, pp_strerror(rc));
		conn_reset(fd);
	}
	return rc;
}

/* accept() errors that leave the connection in the backlog: the
 * level-triggered watch would fire again at once, for ever. */
static const char *conn_accept_shortage(int err)
{
	switch (err) {
	case EMFILE:
		return "this process is out of file descriptors (raise its limit: ulimit -n, "
		       "LimitNOFILE=)";
	case ENFILE:
		return "the system is out of file descriptors (fs.file-max)";
	case ENOBUFS:
	case ENOMEM:
		return "the system is out of memory for sockets";
	default:
		return NULL;
	}
}

static gboolean conn_accept_resume(gpointer data)
{
	struct conn_forward *f = data;

	g_source_unref(f->resume);
	f->resume = NULL;
	if (pp_fdwatch_set(f->watch, G_IO_IN) < 0) /* only ENOMEM: try again later */
		f->resume = pp_source_timeout(f->app->ctx, f->pause_ms, conn_accept_resume, f);
	return G_SOURCE_REMOVE;
}

/* The listener rests (100 ms, doubling to 2 s while the shortage lasts)
 * instead of spinning on the same error and starving the streams on the
 * loop. Said once per episode; the connections wait in the backlog. */
static void conn_accept_pause(struct conn_forward *f, int err, const char *why)
{
	if (!f->pause_ms) {
		f->pause_ms = CONN_ACCEPT_PAUSE_MIN_MS;
		f->paused_at = g_get_monotonic_time();
		pp_log(PP_LOG_WARN, NULL, "accept on %s:%u: %s: %s; new connections wait until it passes",
		       f->bind, f->port, g_strerror(err), why);
	} else {
		f->pause_ms = MIN(f->pause_ms * 2, CONN_ACCEPT_PAUSE_MAX_MS);
	}
	pp_fdwatch_set(f->watch, 0);
	pp_source_clear(&f->resume);
	f->resume = pp_source_timeout(f->app->ctx, f->pause_ms, conn_accept_resume, f);
}

/* One connection per call: the watch is level-triggered, so a backlog is
 * taken one wakeup at a time, and a lone connection costs no accept() that
 * says EAGAIN. */
static void conn_accept(void *data, GIOCondition got)
{
	struct conn_forward *f = data;
	struct conn_app *app = f->app;
	int one = 1;
	int fd = accept4(f->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int err = errno;
	const char *why;

	(void)got;
	if (fd < 0) {
		if ((why = conn_accept_shortage(err)))
			conn_accept_pause(f, err, why);
		else if (err != EAGAIN && err != EINTR && err != ECONNABORTED)
			pp_log(PP_LOG_WARN, NULL, "accept on %s:%u: %s", f->bind, f->port,
			       g_strerror(err));
		return;
	}
	if (f->pause_ms) {
		/* WARN like the shortage: whoever saw that one sees this one */
		pp_log(PP_LOG_WARN, NULL, "accept on %s:%u: taking connections again after %.1f s",
		       f->bind, f->port, (double)(g_get_monotonic_time() - f->paused_at) / 1e6);
		f->pause_ms = 0;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (app->link && conn_open_stream(app, f, fd) != PP_ERR_STATE)
		return;
	conn_hold(app, f, fd);
}

int conn_forward_listen(struct conn_app *app, struct conn_forward *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(f->port) };
	int one = 1;

	f->app = app;
	inet_pton(AF_INET, f->bind, &sa.sin_addr);
	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0)
		return -errno;
	setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(f->fd, 128) < 0) {
		int err = -errno;
		close(f->fd);
		f->fd = -1;
		return err;
	}
	/* In the context's epoll set with the stream sockets: under the
	 * daemons' loop a new connection costs no GLib turn. */
	f->watch = pp_fdwatch_new(app->ctx, f->fd, G_IO_IN, conn_accept, f);
	if (!f->watch) {
		int err = -errno;
		close(f->fd);
		f->fd = -1;
		return err;
	}
	return 0;
}

void conn_forward_close(struct conn_forward *f)
{
	pp_source_clear(&f->resume);
	f->pause_ms = 0;
	pp_fdwatch_free(f->watch);
	f->watch = NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

void conn_flush_waiting(struct conn_app *app)
{
	struct conn_wait *w;

	while (app->link && (w = g_queue_pop_head(&app->waiting))) {
		if (conn_open_stream(app, w->f, w->fd) == PP_ERR_STATE) {
			g_queue_push_head(&app->waiting, w); /* first in line for the next one */
			return;
		}
		g_free(w);
	}
}

void conn_drop_waiting(struct conn_app *app)
{
	struct conn_wait *w;

	while ((w = g_queue_pop_head(&app->waiting))) {
		conn_reset(w->fd);
		g_free(w);
	}
}
