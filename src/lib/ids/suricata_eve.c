/* SPDX-License-Identifier: Apache-2.0 */
/* The EVE unix stream socket: bound by the gateway, Suricata's eve-log
 * (filetype unix_stream) connects to it. Suricata 7.0.10 connects when the
 * output is initialised (also under -T) and, if that fails ("will keep
 * trying"), again only when it next writes a record; a record written
 * while the socket is missing is lost. So the socket is bound before
 * Suricata starts and stays bound across restarts.
 * A few connections at once are allowed (the -T check connects too, and a
 * restarted Suricata may connect before the old connection's EOF). */
#include "suricata_int.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <errno.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define EVE_CONN_MAX 4
#define EVE_READ_CHUNK 65536

struct eve_conn {
	struct pp_suricata_eve *l;
	int fd;
	GSource *src;
	struct pp_eve_reader *reader;
};

struct pp_suricata_eve {
	GMainContext *ctx;
	char *path;
	int fd;
	GSource *src;
	struct pp_suricata_stats *stats;
	void (*fn)(void *user, const struct pp_eve *e);
	void (*activity)(void *user, bool record, unsigned open);
	void *user;
	struct eve_conn *conns[EVE_CONN_MAX];
	char rbuf[EVE_READ_CHUNK];
};

static unsigned conn_count(const struct pp_suricata_eve *l)
{
	unsigned n = 0;
	for (int i = 0; i < EVE_CONN_MAX; i++)
		n += l->conns[i] != NULL;
	return n;
}

static void on_line(void *user, const char *line, size_t len, int err)
{
	struct pp_suricata_eve *l = user;
	struct pp_eve e;
	const char *why = NULL;

	if (err != 0) {
		l->stats->bad_lines++;
		pp_warn("suricata: EVE line dropped: %s", pp_strerror(err));
		return;
	}
	err = pp_eve_parse(line, len, &e, &why);
	if (err != 0) {
		l->stats->bad_lines++;
		pp_warn("suricata: EVE line refused (%zu bytes): %s", len,
		        why ? why : pp_strerror(err));
		return;
	}
	if (e.type == PP_EVE_ALERT || e.type == PP_EVE_DROP) {
		if (e.type == PP_EVE_ALERT)
			l->stats->alerts++;
		else
			l->stats->drops++;
		l->fn(l->user, &e);
	} else {
		l->stats->other++;
	}
	if (l->activity)
		l->activity(l->user, true, conn_count(l));
}

static void conn_free(struct eve_conn *c)
{
	for (int i = 0; i < EVE_CONN_MAX; i++)
		if (c->l->conns[i] == c)
			c->l->conns[i] = NULL;
	pp_source_clear(&c->src);
	close(c->fd);
	pp_eve_reader_free(c->reader);
	free(c);
}

static gboolean on_conn_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct eve_conn *c = data;
	(void)cond;

	ssize_t n = read(fd, c->l->rbuf, sizeof(c->l->rbuf));
	if (n > 0) {
		pp_eve_reader_feed(c->reader, c->l->rbuf, (size_t)n, on_line, c->l);
		return G_SOURCE_CONTINUE;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n < 0)
		pp_warn("suricata: EVE read: %s", strerror(errno));
	pp_eve_reader_finish(c->reader, on_line, c->l);
	pp_debug("suricata: EVE connection closed");
	struct pp_suricata_eve *l = c->l;
	conn_free(c); /* destroys the source we are dispatching: fine in GLib */
	if (l->activity)
		l->activity(l->user, false, conn_count(l));
	return G_SOURCE_REMOVE;
}

static gboolean on_accept(gint lfd, GIOCondition cond, gpointer data)
{
	struct pp_suricata_eve *l = data;
	(void)cond;

	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return G_SOURCE_CONTINUE;
	int slot = -1;
	for (int i = 0; i < EVE_CONN_MAX && slot < 0; i++)
		if (!l->conns[i])
			slot = i;
	struct eve_conn *c = slot < 0 ? NULL : calloc(1, sizeof(*c));
	if (c)
		c->reader = pp_eve_reader_new(0);
	if (!c || !c->reader) {
		pp_warn("suricata: EVE connection refused (%s)",
		        slot < 0 ? "too many connections" : "out of memory");
		if (c)
			free(c);
		close(fd);
		return G_SOURCE_CONTINUE;
	}
	c->l = l;
	c->fd = fd;
	c->src = g_unix_fd_source_new(fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(c->src, G_SOURCE_FUNC(on_conn_readable), c, NULL);
	/* Before every default-priority source: in ips mode Suricata writes
	 * the alert before it sends rejectboth's resets, so when the loop
	 * wakes up for a reset service socket the record is already here;
	 * read first, the gateway still finds the stream and tells its peer
	 * why before the reset closes it. */
	g_source_set_priority(c->src, G_PRIORITY_HIGH);
	g_source_attach(c->src, l->ctx);
	l->conns[slot] = c;
	l->stats->eve_connections++;
	pp_debug("suricata: EVE connection accepted");
	return G_SOURCE_CONTINUE;
}

static int bind_socket(const char *path, int *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd = -1, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return PP_ERR_INVALID;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unlink(path) != 0)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (err != 0 || listen(fd, EVE_CONN_MAX) != 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

int pp_suricata_eve_open(GMainContext *ctx, const char *path, struct pp_suricata_stats *stats,
                         void (*fn)(void *user, const struct pp_eve *e), void *user,
                         struct pp_suricata_eve **out)
{
	struct pp_suricata_eve *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return PP_ERR_NOMEM;
	l->fd = -1;
	err = bind_socket(path, &l->fd);
	if (err != 0)
		goto out;
	l->ctx = ctx;
	l->path = g_strdup(path);
	l->stats = stats;
	l->fn = fn;
	l->user = user;
	l->src = g_unix_fd_source_new(l->fd, G_IO_IN);
	g_source_set_callback(l->src, G_SOURCE_FUNC(on_accept), l, NULL);
	g_source_attach(l->src, ctx);
	*out = l;
	l = NULL; /* transferred */
out:
	free(l);
	return err;
}

void pp_suricata_eve_on_activity(struct pp_suricata_eve *l,
                                 void (*fn)(void *user, bool record, unsigned open))
{
	l->activity = fn;
}

void pp_suricata_eve_close(struct pp_suricata_eve *l)
{
	if (l)
		l->activity = NULL; /* closing: no more reports */
	if (!l)
		return;
	for (int i = 0; i < EVE_CONN_MAX; i++)
		if (l->conns[i])
			conn_free(l->conns[i]);
	pp_source_clear(&l->src);
	close(l->fd);
	unlink(l->path);
	g_free(l->path);
	free(l);
}
