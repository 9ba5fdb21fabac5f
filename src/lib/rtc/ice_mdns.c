/* SPDX-License-Identifier: Apache-2.0 */
/* One-shot mDNS resolution (RFC 6762 §5.1) of the ".local" host names that
 * browsers put in their host candidates. libnice does not resolve them.
 *
 * A query for A and AAAA goes from an ephemeral port to 224.0.0.251:5353
 * with the QU bit, so responders answer by unicast to that port (§6.7
 * legacy unicast); a second socket on port 5353 (shared with any local
 * responder through SO_REUSEPORT, best effort) also sees multicast
 * answers. Retransmitted at 300 ms and 1 s, given up after the timeout.
 * Everything runs on the caller's context. Messages: ice_mdns_wire.c. */
#include "ice_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <arpa/inet.h>
#include <gio/gio.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define PP_MDNS_PORT 5353
#define PP_MDNS_GROUP "224.0.0.251"
#define PP_MDNS_READS_MAX 32  /* datagrams per wakeup */
#define PP_MDNS_CACHE_TTL_US (120 * G_USEC_PER_SEC)

/* ---- resolver ---- */

struct pp_mdns_query {
	struct pp_ice_mdns *m;
	char name[PP_ICE_HOST_MAX + 1];
	gint64 deadline;
	unsigned sends;
	bool cached;
	NiceAddress addr;
	GSource *timer;
};

struct pp_mdns_cached {
	char name[PP_ICE_HOST_MAX + 1];
	NiceAddress addr;
	gint64 expires;
};

struct pp_ice_mdns {
	GMainContext *ctx;
	GSocket *sock;      /* ephemeral port: sends, unicast answers */
	GSource *sock_src;
	GSocket *msock;     /* port 5353 in the group: multicast answers */
	GSource *msock_src;
	GSocketAddress *dest;
	unsigned timeout_ms;
	GPtrArray *queries; /* struct pp_mdns_query * */
	struct pp_mdns_cached cache[PP_ICE_MDNS_CACHE_MAX];
	unsigned cache_next;
	uint8_t *rbuf;      /* PP_ICE_MDNS_MSG_MAX */
	pp_ice_mdns_fn fn;
	void *user;
};

static void pp_mdns_query_free(gpointer data)
{
	struct pp_mdns_query *q = data;

	pp_source_clear(&q->timer);
	g_free(q);
}

/* Removes q and answers for it; q is gone afterwards. */
static void pp_mdns_answer(struct pp_ice_mdns *m, struct pp_mdns_query *q,
                           const NiceAddress *addr)
{
	char name[PP_ICE_HOST_MAX + 1];

	g_strlcpy(name, q->name, sizeof(name));
	g_ptr_array_remove_fast(m->queries, q); /* frees q */
	m->fn(m->user, name, addr);
}

static void pp_mdns_send(struct pp_ice_mdns *m, struct pp_mdns_query *q)
{
	uint8_t buf[PP_ICE_HOST_MAX + 32];

	for (int aaaa = 0; aaaa < 2; aaaa++) {
		int n = pp_ice_mdns_query_build(buf, sizeof(buf),
		                                (uint16_t)g_random_int_range(1, 65536),
		                                q->name, aaaa);
		if (n > 0)
			(void)g_socket_send_to(m->sock, m->dest, (const gchar *)buf,
			                       (gsize)n, NULL, NULL);
	}
	q->sends++;
}

static gboolean pp_mdns_tick(gpointer data);

/* Replaces q's timer (possibly the one being dispatched) by one in ms. */
static void pp_mdns_arm(struct pp_mdns_query *q, gint64 ms)
{
	pp_source_clear(&q->timer);
	q->timer = g_timeout_source_new((guint)MAX(ms, 0));
	g_source_set_callback(q->timer, pp_mdns_tick, q, NULL);
	g_source_attach(q->timer, q->m->ctx);
}

static gboolean pp_mdns_tick(gpointer data)
{
	struct pp_mdns_query *q = data;
	struct pp_ice_mdns *m = q->m;
	gint64 now = g_get_monotonic_time(), next_ms;
	static const unsigned again_ms[] = { 300, 700 };

	if (q->cached) {
		NiceAddress a = q->addr;
		pp_mdns_answer(m, q, &a);
		return G_SOURCE_REMOVE;
	}
	if (now >= q->deadline) {
		pp_log(PP_LOG_INFO, NULL, "ice: mDNS name %s not resolved", q->name);
		pp_mdns_answer(m, q, NULL);
		return G_SOURCE_REMOVE;
	}
	next_ms = (q->deadline - now + 999) / 1000;
	if (q->sends <= G_N_ELEMENTS(again_ms)) {
		pp_mdns_send(m, q);
		if (q->sends <= G_N_ELEMENTS(again_ms))
			next_ms = MIN(next_ms, (gint64)again_ms[q->sends - 1]);
	}
	pp_mdns_arm(q, next_ms);
	return G_SOURCE_REMOVE;
}

static void pp_mdns_cache_put(struct pp_ice_mdns *m, const char *name,
                              const NiceAddress *addr)
{
	struct pp_mdns_cached *c = &m->cache[m->cache_next++ % PP_ICE_MDNS_CACHE_MAX];

	g_strlcpy(c->name, name, sizeof(c->name));
	c->addr = *addr;
	c->expires = g_get_monotonic_time() + PP_MDNS_CACHE_TTL_US;
}

static void pp_mdns_datagram(struct pp_ice_mdns *m, const uint8_t *buf, size_t len)
{
	for (guint i = 0; i < m->queries->len;) {
		struct pp_mdns_query *q = m->queries->pdata[i];
		uint8_t ip[16];
		int family;
		NiceAddress a;

		if (q->cached ||
		    pp_ice_mdns_response_parse(buf, len, q->name, &family, ip) < 0) {
			i++;
			continue;
		}
		nice_address_init(&a);
		if (family == 4)
			nice_address_set_ipv4(&a, ((guint32)ip[0] << 24) | ((guint32)ip[1] << 16) |
			                                  ((guint32)ip[2] << 8) | ip[3]);
		else
			nice_address_set_ipv6(&a, ip);
		pp_mdns_cache_put(m, q->name, &a);
		pp_mdns_answer(m, q, &a); /* removes q: index i now holds another */
	}
}

/* True when a in the subnet of one of this host's IPv4 interfaces. */
static bool pp_mdns_on_link(const struct in_addr *a)
{
	struct ifaddrs *ifs, *i;
	bool on = false;

	if (getifaddrs(&ifs) < 0)
		return false;
	for (i = ifs; i && !on; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != AF_INET)
			continue;
		uint32_t mask = ((const struct sockaddr_in *)(void *)i->ifa_netmask)->sin_addr.s_addr;
		uint32_t net = ((const struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr;
		on = ((a->s_addr ^ net) & mask) == 0;
	}
	freeifaddrs(ifs);
	return on;
}

/* RFC 6762 §6, §11: answers come from the port we asked (5353, or the test
 * server's) and from this link; anything else is dropped, so a host
 * elsewhere cannot plant an address for a name it learnt. */
static bool pp_mdns_source_ok(const struct pp_ice_mdns *m, GSocketAddress *from)
{
	struct sockaddr_in sin;

	if (!from || !g_socket_address_to_native(from, &sin, sizeof(sin), NULL) ||
	    sin.sin_family != AF_INET ||
	    ntohs(sin.sin_port) != g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(m->dest)))
		return false;
	return pp_mdns_on_link(&sin.sin_addr);
}

static gboolean pp_mdns_readable(GSocket *sock, GIOCondition cond, gpointer data)
{
	struct pp_ice_mdns *m = data;

	for (int i = 0; i < PP_MDNS_READS_MAX; i++) {
		GSocketAddress *from = NULL;
		gssize n = g_socket_receive_from(sock, &from, (gchar *)m->rbuf, PP_ICE_MDNS_MSG_MAX,
		                                 NULL, NULL);
		if (n < 0)
			break;
		if (m->queries->len && pp_mdns_source_ok(m, from))
			pp_mdns_datagram(m, m->rbuf, (size_t)n);
		else if (m->queries->len)
			pp_log(PP_LOG_DEBUG, NULL, "ice: mDNS datagram from off the link or port dropped");
		if (from)
			g_object_unref(from);
	}
	return G_SOURCE_CONTINUE;
}

static GSource *pp_mdns_watch(struct pp_ice_mdns *m, GSocket *sock)
{
	GSource *src = g_socket_create_source(sock, G_IO_IN, NULL);

	g_source_set_callback(src, (GSourceFunc)(void (*)(void))pp_mdns_readable, m, NULL);
	g_source_attach(src, m->ctx);
	return src;
}

/* Best effort: port 5353 may be taken without SO_REUSEPORT. */
static void pp_mdns_listen(struct pp_ice_mdns *m)
{
	GSocket *s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
	                          G_SOCKET_PROTOCOL_UDP, NULL);
	GInetAddress *any = g_inet_address_new_any(G_SOCKET_FAMILY_IPV4);
	GInetAddress *group = g_inet_address_new_from_string(PP_MDNS_GROUP);
	GSocketAddress *sa = g_inet_socket_address_new(any, PP_MDNS_PORT);

	if (!s)
		goto out;
	(void)g_socket_set_option(s, SOL_SOCKET, SO_REUSEPORT, 1, NULL);
	if (!g_socket_bind(s, sa, TRUE, NULL) ||
	    !g_socket_join_multicast_group(s, group, FALSE, NULL, NULL)) {
		pp_log(PP_LOG_DEBUG, NULL, "ice: mDNS port 5353 not shared, unicast answers only");
		goto out;
	}
	g_socket_set_blocking(s, FALSE);
	m->msock = s;
	s = NULL; /* transferred */
	m->msock_src = pp_mdns_watch(m, m->msock);
out:
	if (s)
		g_object_unref(s);
	g_object_unref(sa);
	g_object_unref(group);
	g_object_unref(any);
}

/* NULL: the mDNS group; else "ipv4:port". */
static GSocketAddress *pp_mdns_dest(const char *server)
{
	GSocketAddress *ret = NULL;
	gchar *ip = NULL;
	const char *colon;
	guint64 port;

	if (!server)
		return g_inet_socket_address_new_from_string(PP_MDNS_GROUP, PP_MDNS_PORT);
	colon = strrchr(server, ':');
	if (!colon)
		goto out;
	ip = g_strndup(server, (gsize)(colon - server));
	if (!g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL))
		goto out;
	ret = g_inet_socket_address_new_from_string(ip, (guint)port);
out:
	g_free(ip);
	return ret;
}

struct pp_ice_mdns *pp_ice_mdns_new(GMainContext *ctx, const char *server,
                                    unsigned timeout_ms, pp_ice_mdns_fn fn,
                                    void *user)
{
	struct pp_ice_mdns *m = g_new0(struct pp_ice_mdns, 1), *ret = NULL;
	GSocketAddress *local = NULL;
	GInetAddress *any = g_inet_address_new_any(G_SOCKET_FAMILY_IPV4);

	m->ctx = g_main_context_ref(ctx);
	m->rbuf = g_malloc(PP_ICE_MDNS_MSG_MAX);
	m->timeout_ms = timeout_ms;
	m->fn = fn;
	m->user = user;
	m->queries = g_ptr_array_new_with_free_func(pp_mdns_query_free);
	m->dest = pp_mdns_dest(server);
	if (!m->dest || g_socket_address_get_family(m->dest) != G_SOCKET_FAMILY_IPV4)
		goto out;
	m->sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
	                       G_SOCKET_PROTOCOL_UDP, NULL);
	local = g_inet_socket_address_new(any, 0);
	if (!m->sock || !g_socket_bind(m->sock, local, FALSE, NULL))
		goto out;
	g_socket_set_blocking(m->sock, FALSE);
	g_socket_set_multicast_ttl(m->sock, 255); /* RFC 6762 §11 */
	g_socket_set_multicast_loopback(m->sock, TRUE);
	m->sock_src = pp_mdns_watch(m, m->sock);
	if (!server)
		pp_mdns_listen(m);
	ret = m;
	m = NULL; /* transferred */
out:
	if (m) {
		pp_log(PP_LOG_WARN, NULL, "ice: mDNS resolver unavailable");
		pp_ice_mdns_free(m);
	}
	if (local)
		g_object_unref(local);
	g_object_unref(any);
	return ret;
}

int pp_ice_mdns_resolve(struct pp_ice_mdns *m, const char *name)
{
	struct pp_mdns_query *q;
	gint64 now = g_get_monotonic_time();
	int rc = PP_ERR_TOO_BIG;

	if (m->queries->len >= PP_ICE_MDNS_PENDING_MAX)
		goto out;
	rc = PP_ERR_INVALID;
	if (strlen(name) > PP_ICE_HOST_MAX)
		goto out;
	q = g_new0(struct pp_mdns_query, 1);
	q->m = m;
	g_strlcpy(q->name, name, sizeof(q->name));
	q->deadline = now + (gint64)m->timeout_ms * 1000;
	for (size_t i = 0; i < PP_ICE_MDNS_CACHE_MAX; i++)
		if (m->cache[i].expires > now && g_ascii_strcasecmp(m->cache[i].name, name) == 0) {
			q->cached = true;
			q->addr = m->cache[i].addr;
		}
	pp_mdns_arm(q, 0);
	g_ptr_array_add(m->queries, q);
	rc = 0;
out:
	return rc;
}

void pp_ice_mdns_free(struct pp_ice_mdns *m)
{
	if (!m)
		return;
	g_ptr_array_free(m->queries, TRUE);
	for (int i = 0; i < 2; i++) {
		GSocket *s = i ? m->msock : m->sock;
		pp_source_clear(i ? &m->msock_src : &m->sock_src);
		if (s) {
			g_socket_close(s, NULL);
			g_object_unref(s);
		}
	}
	if (m->dest)
		g_object_unref(m->dest);
	g_main_context_unref(m->ctx);
	g_free(m->rbuf);
	g_free(m);
}
