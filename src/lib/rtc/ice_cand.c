/* SPDX-License-Identifier: Apache-2.0 */
/* Candidate lines (candidate.h) to and from libnice candidates. */
#include "ice_priv.h"

#include "peerpipe/error.h"

#include <arpa/inet.h>
#include <string.h>

static const struct {
	NiceCandidateType nice;
	enum pp_cand_type pp;
	const char *name;
} pp_ice_types[] = {
	{ NICE_CANDIDATE_TYPE_HOST, PP_CAND_HOST, "host" },
	{ NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE, PP_CAND_SRFLX, "srflx" },
	{ NICE_CANDIDATE_TYPE_PEER_REFLEXIVE, PP_CAND_PRFLX, "prflx" },
	{ NICE_CANDIDATE_TYPE_RELAYED, PP_CAND_RELAY, "relay" },
};

const char *pp_ice_cand_type_name(NiceCandidateType t)
{
	for (size_t i = 0; i < G_N_ELEMENTS(pp_ice_types); i++)
		if (pp_ice_types[i].nice == t)
			return pp_ice_types[i].name;
	return "?";
}

static bool pp_ice_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int pp_ice_cand_parse(const char *line, struct pp_candidate *out)
{
	static const char pfx[] = "candidate:";
	char buf[sizeof(pfx) + PP_CAND_LINE_MAX + 1];
	size_t len, plen = 0;
	int rc = PP_ERR_INVALID;

	memset(out, 0, sizeof(*out));
	if (!line)
		goto out;
	len = strnlen(line, PP_CAND_LINE_MAX + 8);
	rc = PP_ERR_TOO_BIG;
	if (len > PP_CAND_LINE_MAX + 4)
		goto out;
	while (len && pp_ice_blank(*line)) {
		line++;
		len--;
	}
	while (len && pp_ice_blank(line[len - 1]))
		len--;
	if (len >= 2 && line[0] == 'a' && line[1] == '=') {
		line += 2;
		len -= 2;
	}
	if (len < sizeof(pfx) - 1 || memcmp(line, pfx, sizeof(pfx) - 1) != 0) {
		memcpy(buf, pfx, sizeof(pfx) - 1);
		plen = sizeof(pfx) - 1;
	}
	if (plen + len > PP_CAND_LINE_MAX)
		goto out;
	memcpy(buf + plen, line, len);
	rc = pp_candidate_parse(buf, plen + len, out);
out:
	return rc;
}

static int pp_ice_addr_out(const NiceAddress *a, struct pp_cand_addr *out)
{
	int v = nice_address_ip_version(a);

	if (v != 4 && v != 6)
		return PP_ERR_INVALID;
	nice_address_to_string(a, out->host);
	out->family = v == 4 ? PP_CAND_IPV4 : PP_CAND_IPV6;
	if (inet_pton(v == 4 ? AF_INET : AF_INET6, out->host, out->ip) != 1)
		return PP_ERR_INVALID;
	out->port = (uint16_t)nice_address_get_port(a);
	return 0;
}

int pp_ice_cand_format(const NiceCandidate *nc, const char *ufrag, char *out,
                       size_t cap)
{
	struct pp_candidate c;
	int rc = PP_ERR_INVALID;
	size_t i;

	memset(&c, 0, sizeof(c));
	if (g_strlcpy(c.foundation, nc->foundation, sizeof(c.foundation)) >=
	    sizeof(c.foundation))
		goto out;
	c.component = (uint16_t)nc->component_id;
	c.priority = nc->priority;
	for (i = 0; i < G_N_ELEMENTS(pp_ice_types); i++)
		if (pp_ice_types[i].nice == nc->type)
			break;
	if (i == G_N_ELEMENTS(pp_ice_types))
		goto out;
	c.type = pp_ice_types[i].pp;
	switch (nc->transport) {
	case NICE_CANDIDATE_TRANSPORT_UDP:
		c.transport = PP_CAND_UDP;
		break;
	case NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE:
		c.tcptype = PP_CAND_TCPTYPE_ACTIVE;
		c.transport = PP_CAND_TCP;
		break;
	case NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE:
		c.tcptype = PP_CAND_TCPTYPE_PASSIVE;
		c.transport = PP_CAND_TCP;
		break;
	case NICE_CANDIDATE_TRANSPORT_TCP_SO:
		c.tcptype = PP_CAND_TCPTYPE_SO;
		c.transport = PP_CAND_TCP;
		break;
	default:
		goto out;
	}
	if ((rc = pp_ice_addr_out(&nc->addr, &c.addr)) < 0)
		goto out;
	if (c.tcptype == PP_CAND_TCPTYPE_ACTIVE && c.addr.port == 0)
		c.addr.port = 9; /* RFC 6544 §4.5: the discard port, not 0 */
	if (nc->type != NICE_CANDIDATE_TYPE_HOST && nice_address_is_valid(&nc->base_addr)) {
		c.has_raddr = pp_ice_addr_out(&nc->base_addr, &c.raddr) == 0;
		if (!c.has_raddr)
			memset(&c.raddr, 0, sizeof(c.raddr));
	}
	if (ufrag && g_strlcpy(c.ufrag, ufrag, sizeof(c.ufrag)) >= sizeof(c.ufrag)) {
		rc = PP_ERR_INVALID;
		goto out;
	}
	rc = pp_candidate_format(&c, out, cap);
out:
	return rc;
}

static bool pp_ice_addr_in(const struct pp_cand_addr *a, NiceAddress *out)
{
	nice_address_init(out);
	if (a->family == PP_CAND_MDNS || !nice_address_set_from_string(out, a->host))
		return false;
	nice_address_set_port(out, a->port);
	return true;
}

NiceCandidate *pp_ice_cand_to_nice(const struct pp_candidate *c, guint stream,
                                   const NiceAddress *addr)
{
	NiceCandidate *nc = NULL, *ret = NULL;
	NiceCandidateType type = NICE_CANDIDATE_TYPE_HOST;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(pp_ice_types); i++)
		if (pp_ice_types[i].pp == c->type)
			type = pp_ice_types[i].nice;
	nc = nice_candidate_new(type);
	nc->stream_id = stream;
	nc->component_id = c->component;
	nc->priority = c->priority;
	g_strlcpy(nc->foundation, c->foundation, sizeof(nc->foundation));
	switch (c->tcptype) {
	case PP_CAND_TCPTYPE_ACTIVE:
		nc->transport = NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE;
		break;
	case PP_CAND_TCPTYPE_PASSIVE:
		nc->transport = NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE;
		break;
	case PP_CAND_TCPTYPE_SO:
		nc->transport = NICE_CANDIDATE_TRANSPORT_TCP_SO;
		break;
	default:
		nc->transport = NICE_CANDIDATE_TRANSPORT_UDP;
		break;
	}
	if (c->addr.family == PP_CAND_MDNS) {
		if (!addr || !nice_address_is_valid(addr))
			goto out;
		nc->addr = *addr;
		nice_address_set_port(&nc->addr, c->addr.port);
	} else if (!pp_ice_addr_in(&c->addr, &nc->addr)) {
		goto out;
	}
	if (c->has_raddr && !pp_ice_addr_in(&c->raddr, &nc->base_addr))
		nice_address_init(&nc->base_addr); /* hidden or .local: unused */
	ret = nc;
	nc = NULL; /* transferred */
out:
	if (nc)
		nice_candidate_free(nc);
	return ret;
}
