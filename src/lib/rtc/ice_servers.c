/* SPDX-License-Identifier: Apache-2.0 */
/* STUN/TURN urls (RFC 7064, RFC 7065) as RTCIceServer.urls carries them,
 * and the asynchronous resolution of their host names on the context. */
#include "ice_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <gio/gio.h>
#include <openssl/crypto.h>
#include <string.h>

#define PP_ICE_URL_MAX 512

static bool pp_ice_host_chars(const char *p, size_t n)
{
	if (n == 0 || n > PP_ICE_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(p[i]) && p[i] != '.' && p[i] != '-')
			return false;
	return true;
}

/* "host", "host:port", "[v6]" or "[v6]:port" up to the end of s. */
static int pp_ice_hostport(const char *s, size_t n, uint16_t defport,
                           struct pp_ice_srv *out)
{
	const char *host = s, *port = NULL;
	size_t hlen = n, plen = 0;
	bool bracket = n && s[0] == '[';
	int rc = PP_ERR_INVALID;
	guint64 v;

	if (bracket) {
		const char *end = memchr(s, ']', n);
		if (!end)
			goto out;
		host = s + 1;
		hlen = (size_t)(end - host);
		if (end + 1 < s + n) {
			if (end[1] != ':')
				goto out;
			port = end + 2;
			plen = (size_t)(s + n - port);
		}
		if (hlen == 0 || hlen > 45)
			goto out;
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon) {
			hlen = (size_t)(colon - s);
			port = colon + 1;
			plen = (size_t)(s + n - port);
		}
		if (!pp_ice_host_chars(host, hlen))
			goto out;
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->port = defport;
	if (port) {
		char tmp[6];
		if (plen == 0 || plen > 5)
			goto out;
		for (size_t i = 0; i < plen; i++)
			if (!g_ascii_isdigit(port[i]))
				goto out;
		memcpy(tmp, port, plen);
		tmp[plen] = '\0';
		v = g_ascii_strtoull(tmp, NULL, 10);
		if (v == 0 || v > 65535)
			goto out;
		out->port = (uint16_t)v;
	}
	nice_address_init(&out->addr);
	if (nice_address_set_from_string(&out->addr, out->host)) {
		nice_address_set_port(&out->addr, out->port);
		out->resolved = true;
	} else if (bracket) {
		goto out; /* brackets around something not an IP literal */
	}
	rc = 0;
out:
	return rc;
}

int pp_ice_srv_parse(const char *url, const char *user, const char *cred,
                     struct pp_ice_srv *out)
{
	const char *rest, *q;
	size_t n;
	bool secure = false;
	int rc = PP_ERR_INVALID;

	memset(out, 0, sizeof(*out));
	if (!url || (n = strnlen(url, PP_ICE_URL_MAX + 1)) > PP_ICE_URL_MAX)
		goto out;
	if (g_ascii_strncasecmp(url, "stun:", 5) == 0) {
		out->kind = PP_ICE_SRV_STUN;
		rest = url + 5;
	} else if (g_ascii_strncasecmp(url, "turn:", 5) == 0) {
		out->kind = PP_ICE_SRV_TURN;
		rest = url + 5;
	} else if (g_ascii_strncasecmp(url, "turns:", 6) == 0) {
		out->kind = PP_ICE_SRV_TURN;
		secure = true;
		rest = url + 6;
	} else {
		rc = g_ascii_strncasecmp(url, "stuns:", 6) == 0 ? PP_ERR_UNSUPPORTED
		                                                 : PP_ERR_INVALID;
		goto out;
	}
	out->relay = secure ? NICE_RELAY_TYPE_TURN_TLS : NICE_RELAY_TYPE_TURN_UDP;
	q = strchr(rest, '?');
	if (q) {
		if (out->kind != PP_ICE_SRV_TURN)
			goto out;
		if (g_ascii_strcasecmp(q + 1, "transport=tcp") == 0) {
			if (!secure)
				out->relay = NICE_RELAY_TYPE_TURN_TCP;
		} else if (g_ascii_strcasecmp(q + 1, "transport=udp") == 0) {
			if (secure) {
				rc = PP_ERR_UNSUPPORTED; /* TURN over DTLS */
				goto out;
			}
		} else {
			goto out;
		}
	}
	if ((rc = pp_ice_hostport(rest, q ? (size_t)(q - rest) : strlen(rest),
	                          secure ? 5349 : 3478, out)) < 0)
		goto out;
	rc = PP_ERR_INVALID;
	if (out->kind == PP_ICE_SRV_TURN) {
		if (!user || !cred || !*user || strlen(user) > 512 || strlen(cred) > 512)
			goto out;
		out->username = g_strdup(user);
		out->password = g_strdup(cred);
	}
	rc = 0;
out:
	if (rc < 0)
		pp_ice_srv_clear(out);
	return rc;
}

void pp_ice_srv_clear(struct pp_ice_srv *s)
{
	if (s->password) {
		OPENSSL_cleanse(s->password, strlen(s->password));
		g_free(s->password);
	}
	g_free(s->username);
	memset(s, 0, sizeof(*s));
}

/* ---- resolution ---- */

struct pp_ice_dns {
	int refs; /* the owner and each lookup in flight */
	bool cancelled;
	bool finished;
	struct pp_ice_srv *srvs;
	size_t n;
	GMainContext *ctx;
	GSource *timer;
	GCancellable *cancel;
	unsigned pending;
	void (*done)(void *user);
	void *user;
};

struct pp_ice_dns_req {
	struct pp_ice_dns *dns;
	size_t idx;
};

static void pp_ice_dns_unref(struct pp_ice_dns *dns)
{
	if (--dns->refs > 0)
		return;
	pp_source_clear(&dns->timer);
	g_object_unref(dns->cancel);
	g_main_context_unref(dns->ctx);
	g_free(dns);
}

static void pp_ice_dns_finish(struct pp_ice_dns *dns)
{
	if (dns->finished || dns->cancelled)
		return;
	dns->finished = true;
	pp_source_clear(&dns->timer);
	g_cancellable_cancel(dns->cancel);
	dns->refs++;
	dns->done(dns->user);
	pp_ice_dns_unref(dns);
}

static gboolean pp_ice_dns_timeout(gpointer data)
{
	struct pp_ice_dns *dns = data;

	if (dns->pending)
		pp_log(PP_LOG_WARN, NULL, "ice: STUN/TURN host names not resolved in time");
	pp_ice_dns_finish(dns);
	return G_SOURCE_REMOVE;
}

static void pp_ice_dns_result(GObject *src, GAsyncResult *res, gpointer data)
{
	struct pp_ice_dns_req *req = data;
	struct pp_ice_dns *dns = req->dns;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(src), res, NULL);

	dns->pending--;
	if (addrs && !dns->cancelled && !dns->finished) {
		struct pp_ice_srv *s = &dns->srvs[req->idx];
		GInetAddress *pick = NULL;
		for (GList *l = addrs; l; l = l->next)
			if (!pick || (g_inet_address_get_family(l->data) == G_SOCKET_FAMILY_IPV4 &&
			              g_inet_address_get_family(pick) != G_SOCKET_FAMILY_IPV4))
				pick = l->data;
		gchar *ip = g_inet_address_to_string(pick);
		if (nice_address_set_from_string(&s->addr, ip)) {
			nice_address_set_port(&s->addr, s->port);
			s->resolved = true;
		}
		g_free(ip);
	} else if (!addrs && !dns->cancelled && !dns->finished) {
		pp_log(PP_LOG_WARN, NULL, "ice: cannot resolve %s", dns->srvs[req->idx].host);
	}
	g_resolver_free_addresses(addrs);
	if (dns->pending == 0)
		pp_ice_dns_finish(dns);
	pp_ice_dns_unref(dns);
	g_free(req);
}

struct pp_ice_dns *pp_ice_dns_start(GMainContext *ctx, struct pp_ice_srv *srvs,
                                    size_t n, unsigned timeout_ms,
                                    void (*done)(void *user), void *user)
{
	struct pp_ice_dns *dns = g_new0(struct pp_ice_dns, 1);
	GResolver *resolver = g_resolver_get_default();

	dns->refs = 1;
	dns->srvs = srvs;
	dns->n = n;
	dns->ctx = g_main_context_ref(ctx);
	dns->cancel = g_cancellable_new();
	dns->done = done;
	dns->user = user;
	dns->timer = g_timeout_source_new(timeout_ms);
	g_source_set_callback(dns->timer, pp_ice_dns_timeout, dns, NULL);
	g_source_attach(dns->timer, ctx);
	/* the lookups report to the thread-default context of this call */
	g_main_context_push_thread_default(ctx);
	for (size_t i = 0; i < n; i++) {
		if (srvs[i].resolved)
			continue;
		struct pp_ice_dns_req *req = g_new0(struct pp_ice_dns_req, 1);
		req->dns = dns;
		req->idx = i;
		dns->refs++;
		dns->pending++;
		g_resolver_lookup_by_name_async(resolver, srvs[i].host, dns->cancel,
		                                pp_ice_dns_result, req);
	}
	g_main_context_pop_thread_default(ctx);
	g_object_unref(resolver);
	if (dns->pending == 0) {
		/* nothing to look up: still answer from the context */
		pp_source_clear(&dns->timer);
		dns->timer = g_timeout_source_new(0);
		g_source_set_callback(dns->timer, pp_ice_dns_timeout, dns, NULL);
		g_source_attach(dns->timer, ctx);
	}
	return dns;
}

void pp_ice_dns_cancel(struct pp_ice_dns *dns)
{
	if (!dns)
		return;
	dns->cancelled = true;
	g_cancellable_cancel(dns->cancel);
	pp_source_clear(&dns->timer);
	pp_ice_dns_unref(dns);
}
