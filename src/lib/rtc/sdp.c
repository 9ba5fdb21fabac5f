/* SPDX-License-Identifier: Apache-2.0 */
/* SDP parsing. Two passes over the text: the first checks the line framing
 * and learns the m-lines, mids and BUNDLE groups; then the data channel
 * section and its transport section are chosen; the second pass reads the
 * attributes of the session level and of those two sections only. */
#include "peerpipe/rtc/sdp.h"

#include "peerpipe/error.h"
#include "sdp_priv.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static const char *const pp_sdp_setups[] = {
	[PP_SDP_SETUP_NONE] = NULL,
	[PP_SDP_SETUP_ACTPASS] = "actpass",
	[PP_SDP_SETUP_ACTIVE] = "active",
	[PP_SDP_SETUP_PASSIVE] = "passive",
	[PP_SDP_SETUP_HOLDCONN] = "holdconn",
};

const char *pp_sdp_setup_name(enum pp_sdp_setup s)
{
	if ((unsigned)s >= PP_NELEM(pp_sdp_setups) || !pp_sdp_setups[s])
		return "none";
	return pp_sdp_setups[s];
}

const char *pp_sdp_fault_name(enum pp_sdp_fault f)
{
	static const char *const names[] = {
		[PP_SDP_FAULT_NONE] = "none",
		[PP_SDP_FAULT_TOO_BIG] = "too big",
		[PP_SDP_FAULT_LINE_TOO_LONG] = "line too long",
		[PP_SDP_FAULT_TOO_MANY_CANDIDATES] = "too many candidates",
		[PP_SDP_FAULT_TOO_MANY_MLINES] = "too many m-lines",
		[PP_SDP_FAULT_SYNTAX] = "syntax error",
		[PP_SDP_FAULT_BAD_VALUE] = "bad attribute value",
		[PP_SDP_FAULT_DUPLICATE] = "attribute repeated",
		[PP_SDP_FAULT_BAD_CANDIDATE] = "bad candidate",
		[PP_SDP_FAULT_NO_DATACHANNEL] = "no data channel m-line",
		[PP_SDP_FAULT_NO_UFRAG] = "no ice-ufrag",
		[PP_SDP_FAULT_NO_PWD] = "no ice-pwd",
		[PP_SDP_FAULT_NO_FINGERPRINT] = "no fingerprint",
		[PP_SDP_FAULT_NOMEM] = "out of memory",
	};
	return (unsigned)f < PP_NELEM(names) ? names[f] : "?";
}

int pp_sdp_fail(struct pp_sdp_ctx *c, int rc, enum pp_sdp_fault f,
                       unsigned line, const char *why)
{
	if (c->err) {
		c->err->fault = f;
		c->err->line = line;
		c->err->why = why;
	}
	return rc;
}

int pp_sdp_next(struct pp_sdp_ctx *c, struct pp_sdp_reader *r,
                       struct pp_sdp_line *l)
{
	while (r->off < r->len) {
		const char *s = r->p + r->off;
		size_t avail = r->len - r->off;
		const char *nl = memchr(s, '\n', avail);
		size_t n = nl ? (size_t)(nl - s) : avail;

		r->off += nl ? n + 1 : n;
		r->no++;
		if (n && s[n - 1] == '\r')
			n--;
		if (n > PP_SDP_LINE_MAX)
			return pp_sdp_fail(c, PP_ERR_TOO_BIG, PP_SDP_FAULT_LINE_TOO_LONG,
			                   r->no, "line over 4 KiB");
		if (n == 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)s[i];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX,
				                   r->no, "control character in a line");
		}
		if (n < 2 || s[1] != '=' || s[0] < 'a' || s[0] > 'z')
			return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX, r->no,
			                   "not a <type>=<value> line");
		l->no = r->no;
		l->type = s[0];
		l->val = (struct pp_rtc_span){ s + 2, n - 2 };
		return 1;
	}
	return 0;
}

void pp_sdp_attr(struct pp_rtc_span a, struct pp_rtc_span *name,
                        struct pp_rtc_span *value)
{
	const char *colon = memchr(a.p, ':', a.len);
	size_t n = colon ? (size_t)(colon - a.p) : a.len;

	*name = (struct pp_rtc_span){ a.p, n };
	*value = colon ? (struct pp_rtc_span){ colon + 1, a.len - n - 1 }
	               : (struct pp_rtc_span){ a.p + a.len, 0 };
}

static bool pp_sdp_proto_ok(struct pp_rtc_span s)
{
	size_t start = 0;
	for (size_t i = 0; i <= s.len; i++) {
		if (i < s.len && s.p[i] != '/')
			continue;
		struct pp_rtc_span part = { s.p + start, i - start };
		if (part.len == 0 || !pp_rtc_text_token_chars(part))
			return false;
		start = i + 1;
	}
	return true;
}

static int pp_sdp_port(struct pp_rtc_span s, uint64_t min, uint16_t *port)
{
	uint64_t v;
	if (pp_rtc_text_u64(s, 5, 65535, &v) < 0 || v < min)
		return PP_ERR_INVALID;
	*port = (uint16_t)v;
	return 0;
}

/* "<port>[/<count>]" */
static int pp_sdp_mport(struct pp_rtc_span s, uint16_t *port)
{
	const char *slash = memchr(s.p, '/', s.len);
	uint16_t count;

	if (!slash)
		return pp_sdp_port(s, 0, port);
	size_t n = (size_t)(slash - s.p);
	if (pp_sdp_port((struct pp_rtc_span){ s.p, n }, 0, port) < 0)
		return PP_ERR_INVALID;
	return pp_sdp_port((struct pp_rtc_span){ slash + 1, s.len - n - 1 }, 1, &count);
}

static void pp_sdp_mline_kind(struct pp_sdp_ctx *c, size_t i, struct pp_rtc_span media,
                              struct pp_rtc_span proto, struct pp_rtc_span fmt)
{
	uint16_t port;

	if (!pp_rtc_text_eq(media, "application"))
		return;
	if ((pp_rtc_text_eq(proto, "UDP/DTLS/SCTP") || pp_rtc_text_eq(proto, "TCP/DTLS/SCTP")) &&
	    pp_rtc_text_eq(fmt, "webrtc-datachannel"))
		c->data[i] = true;
	else if (pp_rtc_text_eq(proto, "DTLS/SCTP") && pp_sdp_port(fmt, 1, &port) == 0) {
		c->data[i] = true;
		c->legacy_port[i] = port;
	}
}

/* m=<media> <port>[/<count>] <proto> <fmt> ... */
static int pp_sdp_mline(struct pp_sdp_ctx *c, const struct pp_sdp_line *l)
{
	struct pp_sdp *s = c->sdp;
	struct pp_rtc_span rest = l->val, media, port, proto, fmt, more;
	int rc;

	if (s->n_mlines == PP_SDP_MLINES_MAX)
		return pp_sdp_fail(c, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_MANY_MLINES, l->no,
		                   "too many m-lines");
	struct pp_sdp_mline *m = &s->mlines[s->n_mlines];
	if (pp_rtc_text_token(&rest, &media) != 1 || pp_rtc_text_token(&rest, &port) != 1 ||
	    pp_rtc_text_token(&rest, &proto) != 1 || pp_rtc_text_token(&rest, &fmt) != 1)
		return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX, l->no,
		                   "m-line needs media, port, proto and format");
	while ((rc = pp_rtc_text_token(&rest, &more)) == 1)
		if (!pp_rtc_text_token_chars(more))
			break;
	if (rc != 0 || !pp_rtc_text_token_chars(media) || !pp_sdp_proto_ok(proto) ||
	    !pp_rtc_text_token_chars(fmt) || pp_sdp_mport(port, &m->port) < 0)
		return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX, l->no,
		                   "malformed m-line");
	if (pp_rtc_text_copy(media, m->media, sizeof(m->media)) < 0 ||
	    pp_rtc_text_copy(proto, m->proto, sizeof(m->proto)) < 0 ||
	    pp_rtc_text_copy(fmt, m->fmt, sizeof(m->fmt)) < 0)
		return pp_sdp_fail(c, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_BIG, l->no,
		                   "m-line field over 64 characters");
	pp_sdp_mline_kind(c, s->n_mlines, media, proto, fmt);
	c->mline_no[s->n_mlines] = l->no;
	s->n_mlines++;
	return 0;
}

static int pp_sdp_find_mid(const struct pp_sdp *s, struct pp_rtc_span mid)
{
	for (size_t i = 0; i < s->n_mlines; i++)
		if (s->mlines[i].mid[0] && pp_rtc_text_eq(mid, s->mlines[i].mid))
			return (int)i;
	return -1;
}

static int pp_sdp_mid(struct pp_sdp_ctx *c, const struct pp_sdp_line *l, size_t sec,
                      struct pp_rtc_span v)
{
	struct pp_sdp_mline *m = &c->sdp->mlines[sec];

	if (m->mid[0] || pp_sdp_find_mid(c->sdp, v) >= 0)
		return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_DUPLICATE, l->no,
		                   "a=mid repeated");
	if (v.len == 0 || !pp_rtc_text_token_chars(v))
		return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE, l->no,
		                   "a=mid is not a token");
	if (pp_rtc_text_copy(v, m->mid, sizeof(m->mid)) < 0)
		return pp_sdp_fail(c, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_BIG, l->no,
		                   "a=mid over 64 characters");
	return 0;
}

static int pp_sdp_group(struct pp_sdp_ctx *c, const struct pp_sdp_line *l,
                        struct pp_rtc_span v)
{
	struct pp_rtc_span rest = v, sem;
	int rc = pp_rtc_text_token(&rest, &sem);

	if (rc < 0)
		return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE, l->no,
		                   "malformed a=group");
	if (rc == 0 || !pp_rtc_text_eq(sem, "BUNDLE"))
		return 0; /* other semantics (LS, FID...) do not concern us */
	if (c->n_groups == PP_SDP_GROUPS_MAX)
		return pp_sdp_fail(c, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_BIG, l->no,
		                   "too many BUNDLE groups");
	c->groups[c->n_groups] = rest;
	c->group_no[c->n_groups] = l->no;
	c->n_groups++;
	return 0;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>:
 * only the id and version are kept, for pp_sdp_compare(). A malformed
 * line is no reason to refuse a description we never needed it for. */
static void pp_sdp_origin(struct pp_sdp *s, struct pp_rtc_span v)
{
	struct pp_rtc_span rest = v, tok[6];
	uint64_t version;
	size_t n = 0;

	while (n < PP_NELEM(tok) && pp_rtc_text_token(&rest, &tok[n]) == 1)
		n++;
	if (n != PP_NELEM(tok) || rest.len != 0 || !pp_rtc_text_token_chars(tok[1]) ||
	    pp_rtc_text_copy(tok[1], s->origin_id, sizeof(s->origin_id)) < 0) {
		s->origin_id[0] = '\0';
		return;
	}
	if (pp_rtc_text_u64(tok[2], 19, UINT64_MAX, &version) == 0)
		s->origin_version = version;
}

/* Pass 1: framing, v=0 first, o=, m-lines, mids, bundle-only, BUNDLE
 * groups, and the candidate count. */
static int pp_sdp_scan(struct pp_sdp_ctx *c, const char *text, size_t len)
{
	struct pp_sdp_reader r = { text, len, 0, 0 };
	struct pp_sdp_line l;
	struct pp_rtc_span name, v;
	int rc, sec = -1;
	bool first = true, seen_origin = false;

	while ((rc = pp_sdp_next(c, &r, &l)) == 1) {
		if (first) {
			if (l.type != 'v' || !pp_rtc_text_eq(l.val, "0"))
				return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX,
				                   l.no, "SDP must start with v=0");
			first = false;
			continue;
		}
		if (l.type == 'm') {
			if ((rc = pp_sdp_mline(c, &l)) < 0)
				return rc;
			sec++;
			continue;
		}
		if (l.type == 'o' && sec < 0 && !seen_origin) {
			seen_origin = true; /* RFC 8866: exactly one; later ones ignored */
			pp_sdp_origin(c->sdp, l.val);
			continue;
		}
		if (l.type != 'a')
			continue;
		pp_sdp_attr(l.val, &name, &v);
		if (pp_rtc_text_eq(name, "candidate")) {
			if (++c->n_cand_lines > PP_SDP_CANDIDATES_MAX)
				return pp_sdp_fail(c, PP_ERR_TOO_BIG,
				                   PP_SDP_FAULT_TOO_MANY_CANDIDATES, l.no,
				                   "more than 64 candidates");
		} else if (sec < 0 && pp_rtc_text_eq(name, "group")) {
			if ((rc = pp_sdp_group(c, &l, v)) < 0)
				return rc;
		} else if (sec >= 0 && pp_rtc_text_eq(name, "mid")) {
			if ((rc = pp_sdp_mid(c, &l, (size_t)sec, v)) < 0)
				return rc;
		} else if (sec >= 0 && pp_rtc_text_eq(name, "bundle-only")) {
			c->bundle_only[sec] = true;
		}
	}
	if (rc < 0)
		return rc;
	if (first)
		return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_SYNTAX, 0, "empty SDP");
	return 0;
}

/* Looks for the data mid in BUNDLE group g; sets c->t to the group's tag. */
static int pp_sdp_bundle(struct pp_sdp_ctx *c, size_t g)
{
	struct pp_sdp *s = c->sdp;
	struct pp_rtc_span rest = c->groups[g], mid;
	int rc, tag = -1;
	bool member = false;

	while ((rc = pp_rtc_text_token(&rest, &mid)) == 1) {
		if (!pp_rtc_text_token_chars(mid))
			break;
		int i = pp_sdp_find_mid(s, mid);
		if (i >= 0 && tag < 0 && !s->mlines[i].rejected)
			tag = i;
		if (i == c->d)
			member = true;
	}
	if (rc != 0)
		return pp_sdp_fail(c, PP_ERR_INVALID, PP_SDP_FAULT_BAD_VALUE, c->group_no[g],
		                   "malformed a=group:BUNDLE");
	if (member) {
		s->bundled = true;
		c->t = tag >= 0 ? tag : c->d;
	}
	return 0;
}

static int pp_sdp_select(struct pp_sdp_ctx *c)
{
	struct pp_sdp *s = c->sdp;
	int rc;

	c->d = -1;
	for (size_t i = 0; i < s->n_mlines; i++) {
		s->mlines[i].rejected = s->mlines[i].port == 0 && !c->bundle_only[i];
		if (c->d < 0 && c->data[i] && !s->mlines[i].rejected)
			c->d = (int)i;
	}
	if (c->d < 0)
		return pp_sdp_fail(c, PP_ERR_NOT_FOUND, PP_SDP_FAULT_NO_DATACHANNEL, 0,
		                   "no m=application ... webrtc-datachannel section in use");
	c->t = c->d;
	for (size_t g = 0; g < c->n_groups; g++)
		if ((rc = pp_sdp_bundle(c, g)) < 0)
			return rc;
	return 0;
}


int pp_sdp_parse(const char *text, size_t len, struct pp_sdp **out,
                 struct pp_sdp_error *err)
{
	struct pp_sdp_ctx c = { .err = err };
	int rc;

	*out = NULL;
	if (err)
		*err = (struct pp_sdp_error){ PP_SDP_FAULT_NONE, 0, NULL };
	if (len > PP_SDP_MAX) {
		rc = pp_sdp_fail(&c, PP_ERR_TOO_BIG, PP_SDP_FAULT_TOO_BIG, 0, "SDP over 64 KiB");
		goto out;
	}
	c.sdp = calloc(1, sizeof(*c.sdp));
	if (!c.sdp) {
		rc = pp_sdp_fail(&c, PP_ERR_NOMEM, PP_SDP_FAULT_NOMEM, 0, "out of memory");
		goto out;
	}
	if ((rc = pp_sdp_scan(&c, text, len)) < 0 || (rc = pp_sdp_select(&c)) < 0)
		goto out;
	/* Room for the candidate lines the scan counted, not for the limit:
	 * 888 bytes a slot, and a peer keeps its remote description. */
	if (c.n_cand_lines && !(c.sdp->candidates = calloc(c.n_cand_lines,
	                                                   sizeof(*c.sdp->candidates)))) {
		rc = pp_sdp_fail(&c, PP_ERR_NOMEM, PP_SDP_FAULT_NOMEM, 0, "out of memory");
		goto out;
	}
	if ((rc = pp_sdp_collect(&c, text, len)) < 0)
		goto out;
	*out = c.sdp;
	c.sdp = NULL; /* transferred */
out:
	pp_sdp_free(c.sdp);
	return rc;
}

void pp_sdp_free(struct pp_sdp *sdp)
{
	if (!sdp)
		return;
	OPENSSL_cleanse(sdp->pwd, sizeof(sdp->pwd));
	free(sdp->candidates);
	free(sdp);
}

const struct pp_fingerprint *pp_sdp_fingerprint(const struct pp_sdp *sdp)
{
	for (size_t i = 0; i < sdp->n_fingerprints; i++)
		if (pp_fingerprint_pinnable(&sdp->fingerprints[i]))
			return &sdp->fingerprints[i];
	return NULL;
}
