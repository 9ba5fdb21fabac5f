/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/rtc/candidate.h"

#include "peerpipe/error.h"
#include "text.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const pp_cand_types[] = {
	[PP_CAND_HOST] = "host",
	[PP_CAND_SRFLX] = "srflx",
	[PP_CAND_PRFLX] = "prflx",
	[PP_CAND_RELAY] = "relay",
};

static const char *const pp_cand_tcptypes[] = {
	[PP_CAND_TCPTYPE_NONE] = NULL,
	[PP_CAND_TCPTYPE_ACTIVE] = "active",
	[PP_CAND_TCPTYPE_PASSIVE] = "passive",
	[PP_CAND_TCPTYPE_SO] = "so",
};

const char *pp_candidate_type_name(enum pp_cand_type t)
{
	return (unsigned)t < PP_NELEM(pp_cand_types) ? pp_cand_types[t] : "?";
}

/* Parse state: a malformed field wins over an unusable one, so the whole
 * line is read before PP_ERR_UNSUPPORTED is reported. */
struct pp_cand_parse {
	struct pp_candidate *c;
	bool unsupported;
	bool known_transport;
	bool seen_rport;
	uint32_t seen; /* bit per known extension */
};

static bool pp_cand_label_ok(const char *p, size_t n)
{
	if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* 1: a DNS name ending in ".local"; 0: another DNS name; <0: neither. */
static int pp_cand_hostname(struct pp_rtc_span s)
{
	size_t labels = 0, start = 0;

	if (s.len == 0 || s.len > PP_CAND_HOST_MAX)
		return PP_ERR_INVALID;
	for (size_t i = 0; i <= s.len; i++) {
		if (i < s.len && s.p[i] != '.')
			continue;
		if (!pp_cand_label_ok(s.p + start, i - start))
			return PP_ERR_INVALID;
		labels++;
		start = i + 1;
	}
	if (labels >= 2 && s.len > 6 &&
	    pp_rtc_text_ieq((struct pp_rtc_span){ s.p + s.len - 6, 6 }, ".local"))
		return 1;
	return 0;
}

/* Address text -> family and bytes. Sets *unsupported for a non-mDNS name. */
static int pp_cand_addr_parse(struct pp_rtc_span s, struct pp_cand_addr *a,
                              bool *unsupported)
{
	char tmp[PP_CAND_HOST_MAX + 1];
	bool v4 = s.len > 0;

	if (pp_rtc_text_copy(s, tmp, sizeof(tmp)) < 0)
		return PP_ERR_INVALID;
	if (memchr(s.p, ':', s.len)) {
		if (inet_pton(AF_INET6, tmp, a->ip) != 1)
			return PP_ERR_INVALID;
		a->family = PP_CAND_IPV6;
		goto copy;
	}
	for (size_t i = 0; i < s.len; i++)
		if (!((s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '.'))
			v4 = false;
	if (v4) {
		if (inet_pton(AF_INET, tmp, a->ip) != 1)
			return PP_ERR_INVALID;
		a->family = PP_CAND_IPV4;
		goto copy;
	}
	int h = pp_cand_hostname(s);
	if (h < 0)
		return h;
	if (h == 0)
		*unsupported = true;
	a->family = PP_CAND_MDNS;
copy:
	memcpy(a->host, tmp, s.len + 1);
	return 0;
}

static int pp_cand_u32(struct pp_rtc_span s, size_t digits, uint64_t min,
                       uint64_t max, uint32_t *out)
{
	uint64_t v;
	if (pp_rtc_text_u64(s, digits, max, &v) < 0 || v < min)
		return PP_ERR_INVALID;
	*out = (uint32_t)v;
	return 0;
}

static int pp_cand_port(struct pp_rtc_span s, uint16_t *port)
{
	uint32_t v;
	int rc = pp_cand_u32(s, 5, 0, 65535, &v);
	if (rc == 0)
		*port = (uint16_t)v;
	return rc;
}

/* Values of extensions we skip: any visible bytes. */
static bool pp_cand_value_ok(struct pp_rtc_span v)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (c < 0x21 || c == 0x7f)
			return false;
	}
	return true;
}

enum {
	PP_CAND_X_RADDR,
	PP_CAND_X_RPORT,
	PP_CAND_X_TCPTYPE,
	PP_CAND_X_GENERATION,
	PP_CAND_X_UFRAG,
	PP_CAND_X_NETID,
	PP_CAND_X_NETCOST,
	PP_CAND_X_OTHER,
};

static int pp_cand_ext_id(struct pp_rtc_span n)
{
	static const char *const names[] = { "raddr", "rport", "tcptype", "generation",
		                             "ufrag", "network-id", "network-cost" };
	for (size_t i = 0; i < PP_NELEM(names); i++)
		if (pp_rtc_text_eq(n, names[i]))
			return (int)i;
	return PP_CAND_X_OTHER;
}

static int pp_cand_ext(struct pp_cand_parse *st, struct pp_rtc_span name,
                       struct pp_rtc_span v)
{
	struct pp_candidate *c = st->c;
	int id = pp_cand_ext_id(name);

	if (!pp_rtc_text_token_chars(name) || !pp_cand_value_ok(v))
		return PP_ERR_INVALID;
	if (id != PP_CAND_X_OTHER) {
		if (st->seen & (1u << id))
			return PP_ERR_INVALID; /* repeated */
		st->seen |= 1u << id;
	}
	switch (id) {
	case PP_CAND_X_RADDR:
		c->has_raddr = true;
		return pp_cand_addr_parse(v, &c->raddr, &st->unsupported);
	case PP_CAND_X_RPORT:
		st->seen_rport = true;
		return pp_cand_port(v, &c->raddr.port);
	case PP_CAND_X_TCPTYPE:
		for (size_t i = 1; i < PP_NELEM(pp_cand_tcptypes); i++)
			if (pp_rtc_text_eq(v, pp_cand_tcptypes[i])) {
				c->tcptype = (enum pp_cand_tcptype)i;
				return 0;
			}
		return PP_ERR_INVALID;
	case PP_CAND_X_GENERATION:
		c->has_generation = true;
		return pp_cand_u32(v, 10, 0, UINT32_MAX, &c->generation);
	case PP_CAND_X_UFRAG:
		if (!pp_rtc_text_ice_chars(v))
			return PP_ERR_INVALID;
		return pp_rtc_text_copy(v, c->ufrag, sizeof(c->ufrag));
	case PP_CAND_X_NETID:
		c->has_network_id = true;
		return pp_cand_u32(v, 10, 0, UINT32_MAX, &c->network_id);
	case PP_CAND_X_NETCOST:
		c->has_network_cost = true;
		return pp_cand_u32(v, 10, 0, UINT32_MAX, &c->network_cost);
	default:
		return 0;
	}
}

/* foundation component transport priority address port "typ" type */
static int pp_cand_fixed(struct pp_cand_parse *st, struct pp_rtc_span *rest)
{
	struct pp_candidate *c = st->c;
	struct pp_rtc_span t[8];
	uint32_t comp;

	for (size_t i = 0; i < PP_NELEM(t); i++)
		if (pp_rtc_text_token(rest, &t[i]) != 1)
			return PP_ERR_INVALID;
	if (t[0].len > PP_CAND_FOUNDATION_MAX || !pp_rtc_text_ice_chars(t[0]) ||
	    pp_rtc_text_copy(t[0], c->foundation, sizeof(c->foundation)) < 0)
		return PP_ERR_INVALID;
	if (pp_cand_u32(t[1], 3, 1, 256, &comp) < 0)
		return PP_ERR_INVALID;
	c->component = (uint16_t)comp;
	if (pp_rtc_text_ieq(t[2], "udp")) {
		c->transport = PP_CAND_UDP;
		st->known_transport = true;
	} else if (pp_rtc_text_ieq(t[2], "tcp")) {
		c->transport = PP_CAND_TCP;
		st->known_transport = true;
	} else if (pp_rtc_text_token_chars(t[2])) {
		st->unsupported = true;
	} else {
		return PP_ERR_INVALID;
	}
	if (pp_cand_u32(t[3], 10, 1, UINT32_MAX, &c->priority) < 0 ||
	    pp_cand_addr_parse(t[4], &c->addr, &st->unsupported) < 0 ||
	    pp_cand_port(t[5], &c->addr.port) < 0 || !pp_rtc_text_eq(t[6], "typ"))
		return PP_ERR_INVALID;
	for (size_t i = 0; i < PP_NELEM(pp_cand_types); i++)
		if (pp_rtc_text_eq(t[7], pp_cand_types[i])) {
			c->type = (enum pp_cand_type)i;
			return 0;
		}
	if (!pp_rtc_text_token_chars(t[7]))
		return PP_ERR_INVALID;
	st->unsupported = true;
	return 0;
}

static struct pp_rtc_span pp_cand_trim(const char *text, size_t len)
{
	struct pp_rtc_span s = { text, len }, tail;

	if (pp_rtc_text_prefix(s, "a=", &tail))
		s = tail;
	if (s.len && s.p[s.len - 1] == '\n') {
		s.len--;
		if (s.len && s.p[s.len - 1] == '\r')
			s.len--;
	}
	return s;
}

int pp_candidate_parse(const char *text, size_t len, struct pp_candidate *out)
{
	struct pp_cand_parse st = { .c = out };
	struct pp_rtc_span s = pp_cand_trim(text, len), rest, name, val;
	int rc = PP_ERR_INVALID, n, pairs = 0;

	memset(out, 0, sizeof(*out));
	if (s.len > PP_CAND_LINE_MAX) {
		rc = PP_ERR_TOO_BIG;
		goto out;
	}
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f)
			goto out; /* NUL, tabs, stray CR or LF */
	if (!pp_rtc_text_prefix(s, "candidate:", &rest))
		goto out;
	if ((rc = pp_cand_fixed(&st, &rest)) < 0)
		goto out;
	while ((n = pp_rtc_text_token(&rest, &name)) == 1) {
		rc = PP_ERR_TOO_BIG;
		if (++pairs > PP_CAND_EXT_MAX)
			goto out;
		rc = PP_ERR_INVALID;
		if (pp_rtc_text_token(&rest, &val) != 1)
			goto out;
		if ((rc = pp_cand_ext(&st, name, val)) < 0)
			goto out;
	}
	rc = PP_ERR_INVALID;
	if (n < 0 || out->has_raddr != st.seen_rport)
		goto out;
	if (st.known_transport &&
	    (out->transport == PP_CAND_UDP) != (out->tcptype == PP_CAND_TCPTYPE_NONE)) {
		if (out->transport == PP_CAND_UDP)
			goto out; /* tcptype on a UDP candidate */
		st.unsupported = true; /* TCP without tcptype (RFC 6544 needs it) */
	}
	rc = st.unsupported ? PP_ERR_UNSUPPORTED : 0;
out:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

struct pp_cand_out {
	char *p;
	size_t cap;
	size_t len;
	bool full;
};

static void pp_cand_put(struct pp_cand_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void pp_cand_put(struct pp_cand_out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->full)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

static int pp_cand_addr_check(const struct pp_cand_addr *a)
{
	struct pp_cand_addr tmp;
	bool unsupported = false;
	size_t n = strnlen(a->host, sizeof(a->host));

	if (n == sizeof(a->host) || pp_cand_addr_parse((struct pp_rtc_span){ a->host, n },
	                                               &tmp, &unsupported) < 0 ||
	    unsupported || tmp.family != a->family)
		return PP_ERR_INVALID;
	return 0;
}

static int pp_cand_check(const struct pp_candidate *c)
{
	size_t fl = strnlen(c->foundation, sizeof(c->foundation));
	size_t ul = strnlen(c->ufrag, sizeof(c->ufrag));

	if (fl == 0 || fl > PP_CAND_FOUNDATION_MAX ||
	    !pp_rtc_text_ice_chars((struct pp_rtc_span){ c->foundation, fl }))
		return PP_ERR_INVALID;
	if (ul > PP_CAND_UFRAG_MAX || !pp_rtc_text_ice_chars((struct pp_rtc_span){ c->ufrag, ul }))
		return PP_ERR_INVALID;
	if (c->component < 1 || c->component > 256 || c->priority == 0 ||
	    (unsigned)c->type >= PP_NELEM(pp_cand_types) ||
	    (unsigned)c->tcptype >= PP_NELEM(pp_cand_tcptypes) ||
	    (c->transport != PP_CAND_UDP && c->transport != PP_CAND_TCP) ||
	    (c->transport == PP_CAND_UDP) != (c->tcptype == PP_CAND_TCPTYPE_NONE))
		return PP_ERR_INVALID;
	if (pp_cand_addr_check(&c->addr) < 0 || (c->has_raddr && pp_cand_addr_check(&c->raddr) < 0))
		return PP_ERR_INVALID;
	return 0;
}

int pp_candidate_format(const struct pp_candidate *c, char *out, size_t cap)
{
	struct pp_cand_out o = { out, cap, 0, false };

	if (pp_cand_check(c) < 0)
		return PP_ERR_INVALID;
	if (cap == 0)
		return PP_ERR_TOO_BIG;
	pp_cand_put(&o, "candidate:%s %u %s %u %s %u typ %s", c->foundation,
	            (unsigned)c->component, c->transport == PP_CAND_TCP ? "tcp" : "udp",
	            (unsigned)c->priority, c->addr.host, (unsigned)c->addr.port,
	            pp_cand_types[c->type]);
	if (c->has_raddr)
		pp_cand_put(&o, " raddr %s rport %u", c->raddr.host, (unsigned)c->raddr.port);
	if (c->tcptype != PP_CAND_TCPTYPE_NONE)
		pp_cand_put(&o, " tcptype %s", pp_cand_tcptypes[c->tcptype]);
	if (c->has_generation)
		pp_cand_put(&o, " generation %u", (unsigned)c->generation);
	if (c->ufrag[0])
		pp_cand_put(&o, " ufrag %s", c->ufrag);
	if (c->has_network_id)
		pp_cand_put(&o, " network-id %u", (unsigned)c->network_id);
	if (c->has_network_cost)
		pp_cand_put(&o, " network-cost %u", (unsigned)c->network_cost);
	if (o.full || o.len > PP_CAND_LINE_MAX)
		return PP_ERR_TOO_BIG;
	return (int)o.len;
}
