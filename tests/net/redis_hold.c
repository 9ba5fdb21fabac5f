/* SPDX-License-Identifier: Apache-2.0 */
#include "redis_hold.h"

#include <glib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct RedisHold {
	int listen_fd;
	char *upstream;
	GThread *acceptor;
	GPtrArray *relays;      /* GThread * */
	GMutex lock;
	char *trigger;          /* armed when non-NULL */
	int hold_ms;
	gint stop;
};

typedef struct {
	RedisHold *h;
	int client, server;
} Relay;

static int unix_socket(const char *path, gboolean listen_on)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fd, >=, 0);
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	if (listen_on) {
		g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
		g_assert_cmpint(listen(fd, 16), ==, 0);
	} else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static gboolean write_all(int fd, const char *buf, gssize n)
{
	while (n > 0) {
		gssize w = write(fd, buf, (size_t)n);
		if (w <= 0)
			return FALSE;
		buf += w;
		n -= w;
	}
	return TRUE;
}

/* Does this chunk from the client fire the armed trigger? Disarms it. */
static gboolean fires(RedisHold *h, const char *buf, gssize n, int *hold_ms)
{
	gboolean hit = FALSE;
	g_mutex_lock(&h->lock);
	if (h->trigger && g_strstr_len(buf, n, h->trigger)) {
		g_clear_pointer(&h->trigger, g_free);
		*hold_ms = h->hold_ms;
		hit = TRUE;
	}
	g_mutex_unlock(&h->lock);
	return hit;
}

/* Requests always go on at once; answers wait in `held` while a hold
 * runs, so commands sent meanwhile (another join) reach Redis and run. */
static gpointer relay_main(gpointer data)
{
	Relay *r = data;
	gint64 hold_until = 0;
	GByteArray *held = g_byte_array_new();
	char buf[65536];
	while (!g_atomic_int_get(&r->h->stop)) {
		struct pollfd p[2] = { { r->client, POLLIN, 0 }, { r->server, POLLIN, 0 } };
		gint64 now = g_get_monotonic_time();
		int timeout = held->len ? (int)MAX((hold_until - now + 999) / 1000, 0) : 100;
		if (held->len && now >= hold_until) {
			if (!write_all(r->client, (const char *)held->data, (gssize)held->len))
				break;
			g_byte_array_set_size(held, 0);
		}
		if (poll(p, 2, MIN(timeout, 100)) <= 0)
			continue;
		if (p[0].revents) {
			gssize n = read(r->client, buf, sizeof(buf));
			int ms;
			if (n <= 0 || !write_all(r->server, buf, n))
				break;
			if (fires(r->h, buf, n, &ms))
				hold_until = g_get_monotonic_time() + (gint64)ms * 1000;
		}
		if (p[1].revents) {
			gssize n = read(r->server, buf, sizeof(buf));
			if (n <= 0)
				break;
			if (held->len || g_get_monotonic_time() < hold_until)
				g_byte_array_append(held, (const guint8 *)buf, (guint)n);
			else if (!write_all(r->client, buf, n))
				break;
		}
	}
	g_byte_array_unref(held);
	close(r->client);
	close(r->server);
	g_free(r);
	return NULL;
}

static gpointer accept_main(gpointer data)
{
	RedisHold *h = data;
	while (!g_atomic_int_get(&h->stop)) {
		struct pollfd p = { h->listen_fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		int s = unix_socket(h->upstream, FALSE);
		if (s < 0) {
			close(c);
			continue;
		}
		Relay *r = g_new0(Relay, 1);
		r->h = h;
		r->client = c;
		r->server = s;
		g_mutex_lock(&h->lock);
		g_ptr_array_add(h->relays, g_thread_new("redis-hold", relay_main, r));
		g_mutex_unlock(&h->lock);
	}
	return NULL;
}

RedisHold *redis_hold_start(const char *listen_path, const char *upstream_path)
{
	RedisHold *h = g_new0(RedisHold, 1);
	g_mutex_init(&h->lock);
	h->upstream = g_strdup(upstream_path);
	h->relays = g_ptr_array_new();
	h->listen_fd = unix_socket(listen_path, TRUE);
	h->acceptor = g_thread_new("redis-hold-accept", accept_main, h);
	return h;
}

void redis_hold_arm(RedisHold *h, const char *trigger, int hold_ms)
{
	g_mutex_lock(&h->lock);
	g_free(h->trigger);
	h->trigger = g_strdup(trigger);
	h->hold_ms = hold_ms;
	g_mutex_unlock(&h->lock);
}

void redis_hold_stop(RedisHold *h)
{
	g_atomic_int_set(&h->stop, 1);
	g_thread_join(h->acceptor);
	for (guint i = 0; i < h->relays->len; i++)
		g_thread_join(h->relays->pdata[i]);
	close(h->listen_fd);
	g_ptr_array_free(h->relays, TRUE);
	g_free(h->trigger);
	g_free(h->upstream);
	g_mutex_clear(&h->lock);
	g_free(h);
}
