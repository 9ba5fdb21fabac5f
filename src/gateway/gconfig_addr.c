/* SPDX-License-Identifier: Apache-2.0 */
/* Service addresses: "192.0.2.7:5432", "[2001:db8::7]:5432", "db.internal:5432".
 * Only the form is checked here; names are resolved when a stream connects,
 * so a DNS change needs no reload. */
#include "gconfig_priv.h"

#include "peerpipe/error.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

static bool gw_port_parse(const char *p, uint16_t *out)
{
	size_t n = strlen(p);
	unsigned v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!g_ascii_isdigit(p[i]))
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* RFC 1123 host name; '_' is accepted too because container runtimes hand
 * out names with it. The last label must not be all digits (that would be
 * a mistyped IPv4 address, caught by the caller). */
static bool gw_dns_name_ok(const char *h, size_t n)
{
	size_t label = 0;
	bool digits_only = true;

	if (n && h[n - 1] == '.')
		n--;
	if (n == 0 || n > GW_HOST_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || h[i] == '.') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			if (i == n && digits_only)
				return false;
			label = 0;
			digits_only = true;
			continue;
		}
		char c = h[i];
		if (!g_ascii_isalnum(c) && c != '-' && c != '_')
			return false;
		if (label == 0 && c == '-')
			return false;
		if (!g_ascii_isdigit(c))
			digits_only = false;
		label++;
	}
	return true;
}

/* "2001:db8::1" or "fe80::1%eth0" (a link-local address needs its zone). */
static bool gw_ipv6_ok(const char *h)
{
	struct in6_addr a;
	char buf[INET6_ADDRSTRLEN + 1];
	const char *zone = strchr(h, '%');
	size_t n = zone ? (size_t)(zone - h) : strlen(h);

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, h, n);
	buf[n] = 0;
	if (inet_pton(AF_INET6, buf, &a) != 1)
		return false;
	if (!zone)
		return true;
	size_t zl = strlen(zone + 1);
	if (zl == 0 || zl >= IF_NAMESIZE)
		return false;
	for (const char *z = zone + 1; *z; z++)
		if (!g_ascii_isalnum(*z) && !strchr("._-", *z))
			return false;
	return true;
}

static int gw_host_store(struct gw_service *svc, const char *h, size_t n)
{
	if (n >= sizeof(svc->host))
		return PP_ERR_INVALID;
	memcpy(svc->host, h, n);
	svc->host[n] = 0;
	return 0;
}

static int gw_parse_bracketed(const char *t, struct gw_service *svc, const char **why)
{
	const char *close = strchr(t, ']');

	*why = "expected [IPv6 address]:port";
	if (!close || close[1] != ':')
		return PP_ERR_INVALID;
	if (gw_host_store(svc, t + 1, (size_t)(close - t - 1)) < 0 || !gw_ipv6_ok(svc->host)) {
		*why = "not a valid IPv6 address between [ ]";
		return PP_ERR_INVALID;
	}
	svc->kind = GW_ADDR_IPV6;
	*why = "port must be 1..65535";
	return gw_port_parse(close + 2, &svc->port) ? 0 : PP_ERR_INVALID;
}

int gw_parse_address(const char *t, struct gw_service *svc, const char **why)
{
	struct in_addr a4;
	int rc;

	svc->port = 0;
	if (strlen(t) >= sizeof(svc->address)) {
		*why = "too long";
		return PP_ERR_INVALID;
	}
	snprintf(svc->address, sizeof(svc->address), "%s", t);
	if (t[0] == '[')
		rc = gw_parse_bracketed(t, svc, why);
	else {
		const char *colon = strrchr(t, ':');
		*why = "expected host:port";
		if (!colon || colon == t)
			return PP_ERR_INVALID;
		*why = "an IPv6 address needs brackets: [2001:db8::1]:port";
		if (memchr(t, ':', (size_t)(colon - t)))
			return PP_ERR_INVALID;
		*why = "host too long";
		if (gw_host_store(svc, t, (size_t)(colon - t)) < 0)
			return PP_ERR_INVALID;
		if (inet_pton(AF_INET, svc->host, &a4) == 1)
			svc->kind = GW_ADDR_IPV4;
		else if (gw_dns_name_ok(svc->host, strlen(svc->host)))
			svc->kind = GW_ADDR_NAME;
		else {
			*why = "host is neither an IPv4 address nor a DNS name";
			return PP_ERR_INVALID;
		}
		*why = "port must be 1..65535";
		rc = gw_port_parse(colon + 1, &svc->port) ? 0 : PP_ERR_INVALID;
	}
	if (rc < 0)
		svc->port = 0;
	return rc;
}
