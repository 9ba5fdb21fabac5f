/* SPDX-License-Identifier: Apache-2.0 */
#include "relaymsg.h"

#include <stdio.h>
#include <string.h>

#define PP_TS_DIGITS 20
#define PP_ID_LEN 32
#define PP_SDP_TARGET 1500

struct pp_tmpl {
	char text[PP_RELAYMSG_MAX];
	size_t len;
	size_t to_off;             /* where the 32-char peer id goes */
	size_t ts_off;             /* where the 20 digits go */
};

static struct pp_tmpl pp_sdp_tmpl, pp_ice_tmpl;
static size_t pp_sdp_text_len;

/* A data-channel offer as a browser writes it, with a few non-trickled
 * candidates (documentation addresses) to reach a realistic size; the stamp
 * travels in an a=x-ts: line. Lines are JSON-escaped ("\r\n" -> "\\r\\n"). */
static const char *const pp_sdp_lines[] = {
	"v=0",
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1",
	"s=-",
	"t=0 0",
	"a=group:BUNDLE 0",
	"a=extmap-allow-mixed",
	"a=msid-semantic: WMS",
	"a=x-ts:@TS@",
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
	"c=IN IP4 0.0.0.0",
	"a=ice-ufrag:Hx2Q",
	"a=ice-pwd:k9ZsP3e0qf1mB7cYtR2uWnLd",
	"a=ice-options:trickle",
	("a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:"
	 "19:E5:7C:AB:3E:4A:FE:17:9B:4C:1F:2A:D7:90:C3:5E"),
	"a=setup:actpass",
	"a=mid:0",
	"a=sctp-port:5000",
	"a=max-message-size:262144",
};

static void pp_tmpl_put(struct pp_tmpl *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n < sizeof(t->text)) {
		memcpy(t->text + t->len, s, n);
		t->len += n;
	}
}

/* Appends s, replacing @TS@ by a 20-digit slot and @TO@ by a 32-char slot. */
static void pp_tmpl_add(struct pp_tmpl *t, const char *s)
{
	for (; *s; s++) {
		if (strncmp(s, "@TS@", 4) == 0) {
			t->ts_off = t->len;
			pp_tmpl_put(t, "00000000000000000000");
			s += 3;
		} else if (strncmp(s, "@TO@", 4) == 0) {
			t->to_off = t->len;
			pp_tmpl_put(t, "00000000000000000000000000000000");
			s += 3;
		} else {
			char c[2] = { *s, 0 };
			pp_tmpl_put(t, c);
		}
	}
}

void pp_relaymsg_init(void)
{
	struct pp_tmpl *t = &pp_sdp_tmpl;
	size_t start, n = sizeof(pp_sdp_lines) / sizeof(pp_sdp_lines[0]);
	char cand[160];

	memset(t, 0, sizeof(*t));
	pp_tmpl_add(t, "{\"type\":\"SEND_SDP\",\"to\":\"@TO@\",\"sdp\":"
	            "{\"type\":\"offer\",\"sdp\":\"");
	start = t->len;
	for (size_t i = 0; i < n; i++) {
		pp_tmpl_add(t, pp_sdp_lines[i]);
		pp_tmpl_add(t, "\\r\\n");
	}
	/* Each "\\r\\n" is 4 bytes of JSON for 2 bytes of SDP. */
	for (unsigned i = 0; t->len - start - 2 * (n + i) < PP_SDP_TARGET; i++) {
		snprintf(cand, sizeof(cand), "a=candidate:%u 1 udp %u "
		         "198.51.100.%u %u typ host generation 0 network-id %u"
		         "\\r\\n", 1467250027u + i, 2122260223u - i * 256,
		         10 + i, 50000 + i * 7, 1 + i % 3);
		pp_tmpl_add(t, cand);
		n++;
	}
	pp_sdp_text_len = t->len - start - 2 * n;
	pp_tmpl_add(t, "\"}}");

	t = &pp_ice_tmpl;
	memset(t, 0, sizeof(*t));
	pp_tmpl_add(t, "{\"type\":\"SEND_ICE\",\"to\":\"@TO@\",\"candidate\":"
	            "{\"candidate\":\"candidate:@TS@ 1 udp 2122260223 "
	            "127.0.0.1 54321 typ host generation 0\","
	            "\"sdpMid\":\"0\",\"sdpMLineIndex\":0}}");
}

size_t pp_relaymsg_build(char *out, enum pp_relaymsg_kind kind, const char *to,
                         uint64_t ts_ns)
{
	const struct pp_tmpl *t = kind == PP_RELAYMSG_SDP ? &pp_sdp_tmpl
	                                                  : &pp_ice_tmpl;
	char *d;

	memcpy(out, t->text, t->len);
	memcpy(out + t->to_off, to, PP_ID_LEN);
	d = out + t->ts_off + PP_TS_DIGITS;
	for (int i = 0; i < PP_TS_DIGITS; i++) {
		*--d = (char)('0' + ts_ns % 10);
		ts_ns /= 10;
	}
	return t->len;
}

size_t pp_relaymsg_sdp_msg_len(void)
{
	return pp_sdp_tmpl.len;
}

size_t pp_relaymsg_sdp_text_len(void)
{
	return pp_sdp_text_len;
}

static int pp_relaymsg_digits(const char *p, const char *end, uint64_t *v)
{
	uint64_t x = 0;

	if (end - p < PP_TS_DIGITS)
		return -1;
	for (int i = 0; i < PP_TS_DIGITS; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return 1;
}

int pp_relaymsg_parse(const char *msg, size_t len, uint64_t *ts_ns)
{
	const char *end = msg + len;
	const char *p;

	/* Our payloads never contain these names, so a substring test is
	 * enough and keeps JSON parsing off the hot path. */
	if (memmem(msg, len, "\"FORWARD_SDP\"", 13)) {
		p = memmem(msg, len, "a=x-ts:", 7);
		return p ? pp_relaymsg_digits(p + 7, end, ts_ns) : -1;
	}
	if (memmem(msg, len, "\"FORWARD_ICE\"", 13)) {
		p = memmem(msg, len, "\"candidate:", 11);
		return p ? pp_relaymsg_digits(p + 11, end, ts_ns) : -1;
	}
	return 0;
}
