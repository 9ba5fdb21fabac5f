/* SPDX-License-Identifier: Apache-2.0 */
/* mDNS messages (RFC 6762, RFC 1035 §4): the one-shot query for a ".local"
 * name and a bounded parser for the responses, which come from anyone on
 * the LAN: size, record count, name length and compression jumps have
 * limits, pointers may only point backwards. Fuzzed by fuzz/rtc_mdns.c. */
#include "ice_priv.h"

#include "peerpipe/error.h"

#include <glib.h>
#include <string.h>

#define PP_MDNS_TYPE_A 1
#define PP_MDNS_TYPE_AAAA 28
#define PP_MDNS_CLASS_IN 1
#define PP_MDNS_QU 0x8000
#define PP_MDNS_NAME_MAX 255  /* wire form */
#define PP_MDNS_JUMPS_MAX 16
#define PP_MDNS_QD_MAX 16

static uint16_t pp_mdns_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

int pp_ice_mdns_query_build(uint8_t *out, size_t cap, uint16_t id,
                            const char *name, bool aaaa)
{
	size_t n, off = 12, start = 0;
	int rc = PP_ERR_INVALID;

	if (!name || (n = strnlen(name, PP_ICE_HOST_MAX + 2)) == 0)
		goto out;
	if (name[n - 1] == '.')
		n--;
	rc = PP_ERR_TOO_BIG;
	if (n > PP_ICE_HOST_MAX || cap < 12 + n + 2 + 4)
		goto out;
	memset(out, 0, 12);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[5] = 1; /* qdcount */
	rc = PP_ERR_INVALID;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && name[i] != '.')
			continue;
		size_t l = i - start;
		if (l == 0 || l > 63)
			goto out;
		out[off++] = (uint8_t)l;
		memcpy(out + off, name + start, l);
		off += l;
		start = i + 1;
	}
	out[off++] = 0;
	out[off++] = 0;
	out[off++] = aaaa ? PP_MDNS_TYPE_AAAA : PP_MDNS_TYPE_A;
	out[off++] = (uint8_t)((PP_MDNS_QU | PP_MDNS_CLASS_IN) >> 8);
	out[off++] = (uint8_t)PP_MDNS_CLASS_IN;
	rc = (int)off;
out:
	return rc;
}

/* Reads a (possibly compressed) name at *off into text form; *off moves
 * past it. Bytes that would confuse the dotted form become '\x01' so the
 * name can never match ours. */
static int pp_mdns_name(const uint8_t *msg, size_t len, size_t *off,
                        char out[PP_MDNS_NAME_MAX + 1])
{
	size_t p = *off, o = 0, wire = 0;
	unsigned jumps = 0;
	bool jumped = false;
	int rc = PP_ERR_TRUNCATED;

	for (;;) {
		if (p >= len)
			goto out;
		uint8_t l = msg[p];
		if ((l & 0xc0) == 0xc0) {
			rc = PP_ERR_TRUNCATED;
			if (p + 1 >= len)
				goto out;
			size_t ptr = (size_t)(pp_mdns_u16(msg + p) & 0x3fff);
			rc = PP_ERR_INVALID;
			if (ptr >= p || ++jumps > PP_MDNS_JUMPS_MAX)
				goto out; /* only backwards, so no loops */
			if (!jumped)
				*off = p + 2;
			jumped = true;
			p = ptr;
			continue;
		}
		rc = PP_ERR_INVALID;
		if (l & 0xc0)
			goto out; /* 0x40 / 0x80: reserved label types */
		rc = PP_ERR_TOO_BIG;
		wire += 1u + l;
		if (wire > PP_MDNS_NAME_MAX)
			goto out;
		if (l == 0)
			break;
		rc = PP_ERR_TRUNCATED;
		if (p + 1 + l > len)
			goto out;
		if (o)
			out[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			char c = (char)msg[p + 1 + i];
			out[o++] = (c == '.' || c == '\0') ? '\x01' : c;
		}
		p += 1u + l;
	}
	out[o] = '\0';
	if (!jumped)
		*off = p + 1;
	rc = 0;
out:
	return rc;
}

/* name as given, without one trailing dot, compared ASCII case-blind. */
static bool pp_mdns_name_eq(const char *wire, const char *name)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '.')
		n--;
	return strlen(wire) == n && g_ascii_strncasecmp(wire, name, n) == 0;
}

int pp_ice_mdns_response_parse(const uint8_t *msg, size_t len,
                               const char *name, int *family, uint8_t ip[16])
{
	char rname[PP_MDNS_NAME_MAX + 1];
	size_t off = 12;
	unsigned qd, rr;
	int rc = PP_ERR_TRUNCATED;
	bool found = false;

	*family = 0;
	if (len < 12)
		goto out;
	rc = PP_ERR_TOO_BIG;
	if (len > PP_ICE_MDNS_MSG_MAX)
		goto out;
	rc = PP_ERR_INVALID;
	if (!(msg[2] & 0x80) || (msg[2] & 0x78) != 0)
		goto out; /* not a response, or not a standard query's */
	qd = pp_mdns_u16(msg + 4);
	rr = (unsigned)pp_mdns_u16(msg + 6) + pp_mdns_u16(msg + 8) + pp_mdns_u16(msg + 10);
	rc = PP_ERR_TOO_BIG;
	if (qd > PP_MDNS_QD_MAX || rr > PP_ICE_MDNS_RECORDS_MAX)
		goto out;
	for (unsigned i = 0; i < qd; i++) {
		if ((rc = pp_mdns_name(msg, len, &off, rname)) < 0)
			goto out;
		rc = PP_ERR_TRUNCATED;
		if (len - off < 4)
			goto out;
		off += 4;
	}
	for (unsigned i = 0; i < rr; i++) {
		if ((rc = pp_mdns_name(msg, len, &off, rname)) < 0)
			goto out;
		rc = PP_ERR_TRUNCATED;
		if (len - off < 10)
			goto out;
		uint16_t type = pp_mdns_u16(msg + off);
		uint16_t cls = pp_mdns_u16(msg + off + 2) & 0x7fff; /* cache-flush */
		bool live = pp_mdns_u16(msg + off + 4) || pp_mdns_u16(msg + off + 6);
		size_t rdlen = pp_mdns_u16(msg + off + 8);
		off += 10;
		if (len - off < rdlen)
			goto out;
		if (!found && live && cls == PP_MDNS_CLASS_IN && pp_mdns_name_eq(rname, name) &&
		    ((type == PP_MDNS_TYPE_A && rdlen == 4) ||
		     (type == PP_MDNS_TYPE_AAAA && rdlen == 16))) {
			memset(ip, 0, 16);
			memcpy(ip, msg + off, rdlen);
			*family = rdlen == 4 ? 4 : 6;
			found = true; /* the rest must still be well-formed */
		}
		off += rdlen;
	}
	rc = found ? 0 : PP_ERR_NOT_FOUND;
out:
	if (rc < 0)
		*family = 0;
	return rc;
}
