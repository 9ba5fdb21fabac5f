/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/error.h"
#include "peerpipe/rtc/dcep.h"

#include <glib.h>
#include <string.h>

/* The control channel's OPEN (tunnel.md §3) byte by byte. */
static const uint8_t control_open[] = {
	0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x13,
	'p', 'e', 'e', 'r', 'p', 'i', 'p', 'e', '-', 'c', 'o', 'n', 't', 'r', 'o', 'l',
	'p', 'e', 'e', 'r', 'p', 'i', 'p', 'e', '.', 'c', 'o', 'n', 't', 'r', 'o', 'l',
	'.', 'v', '1',
};

static void test_ppid(void)
{
	g_assert_cmpint(PP_PPID_DCEP, ==, 50);
	g_assert_cmpint(PP_PPID_STRING, ==, 51);
	g_assert_cmpint(PP_PPID_BINARY, ==, 53);
	g_assert_cmpint(PP_PPID_STRING_EMPTY, ==, 56);
	g_assert_cmpint(PP_PPID_BINARY_EMPTY, ==, 57);
}

static void test_encode_control(void)
{
	struct pp_dcep_open o;
	uint8_t buf[PP_DCEP_OPEN_MAX];

	g_assert_cmpint(pp_dcep_open_init(&o, "peerpipe-control", "peerpipe.control.v1",
	                                  PP_DCEP_RELIABLE, false, 99), ==, 0);
	g_assert_cmpuint(o.reliability, ==, 0);
	int n = pp_dcep_encode_open(&o, buf, sizeof(buf));
	g_assert_cmpmem(buf, (size_t)n, control_open, sizeof(control_open));
	/* exact and short buffers */
	g_assert_cmpint(pp_dcep_encode_open(&o, buf, sizeof(control_open)), ==, (int)sizeof(control_open));
	g_assert_cmpint(pp_dcep_encode_open(&o, buf, sizeof(control_open) - 1), ==, PP_ERR_TOO_BIG);
}

static void test_decode_control(void)
{
	struct pp_dcep_open o;

	g_assert_cmpint(pp_dcep_decode(control_open, sizeof(control_open), &o), ==, PP_DCEP_OPEN);
	g_assert_cmpint(o.channel, ==, PP_DCEP_RELIABLE);
	g_assert_false(o.unordered);
	g_assert_cmpuint(o.priority, ==, PP_DCEP_PRIORITY_NORMAL);
	g_assert_cmpuint(o.reliability, ==, 0);
	g_assert_cmpstr(o.label, ==, "peerpipe-control");
	g_assert_cmpuint(o.label_len, ==, 16);
	g_assert_cmpstr(o.protocol, ==, "peerpipe.control.v1");
	g_assert_cmpuint(o.protocol_len, ==, 19);
}

static void roundtrip(const char *label, const char *proto, enum pp_dcep_channel ch,
                      bool unordered, uint32_t rel, uint16_t prio)
{
	struct pp_dcep_open o, d;
	uint8_t buf[PP_DCEP_OPEN_MAX];

	g_assert_cmpint(pp_dcep_open_init(&o, label, proto, ch, unordered, rel), ==, 0);
	o.priority = prio;
	int n = pp_dcep_encode_open(&o, buf, sizeof(buf));
	g_assert_cmpint(n, ==, (int)(PP_DCEP_HEADER_LEN + strlen(label) + strlen(proto)));
	g_assert_cmpuint(buf[1], ==, (unsigned)ch | (unordered ? 0x80u : 0u));
	g_assert_cmpint(pp_dcep_decode(buf, (size_t)n, &d), ==, PP_DCEP_OPEN);
	g_assert_cmpint(memcmp(&o, &d, sizeof(o)), ==, 0);
}

static void test_roundtrip(void)
{
	roundtrip("db", "peerpipe.tcp.v1", PP_DCEP_RELIABLE, false, 0, 256);
	roundtrip("", "", PP_DCEP_RELIABLE, true, 0, 0);
	roundtrip("lossy", "", PP_DCEP_PARTIAL_REXMIT, false, 3, 128);
	roundtrip("lossy", "x", PP_DCEP_PARTIAL_REXMIT, true, 0, 512);
	roundtrip("timed", "y", PP_DCEP_PARTIAL_TIMED, false, 1500, 1024);
	roundtrip("timed", "y", PP_DCEP_PARTIAL_TIMED, true, UINT32_MAX, UINT16_MAX);
	roundtrip("данные ✓", "proto/Ω", PP_DCEP_RELIABLE, false, 0, 256);

	/* the longest label and protocol */
	char *l = g_strnfill(PP_DCEP_LABEL_MAX, 'l'), *p = g_strnfill(PP_DCEP_PROTOCOL_MAX, 'p');
	roundtrip(l, p, PP_DCEP_PARTIAL_TIMED, true, 7, 1);
	g_free(l);
	g_free(p);
}

static void test_ack(void)
{
	uint8_t b[2] = { 0xff, 0xff };
	struct pp_dcep_open o;

	g_assert_cmpint(pp_dcep_encode_ack(b, 0), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_dcep_encode_ack(b, sizeof(b)), ==, 1);
	g_assert_cmpuint(b[0], ==, 0x02);
	memset(&o, 0xa5, sizeof(o));
	g_assert_cmpint(pp_dcep_decode(b, 1, &o), ==, PP_DCEP_ACK);
	g_assert_cmpuint(o.label_len, ==, 0);
	g_assert_cmpint(pp_dcep_decode(b, 2, &o), ==, PP_ERR_INVALID); /* trailing byte */
}

static void test_reliable_ignores_param(void)
{
	uint8_t m[sizeof(control_open)];
	struct pp_dcep_open o;

	memcpy(m, control_open, sizeof(m));
	m[4] = 0x12; /* must be ignored for reliable channels */
	m[7] = 0x34;
	g_assert_cmpint(pp_dcep_decode(m, sizeof(m), &o), ==, PP_DCEP_OPEN);
	g_assert_cmpuint(o.reliability, ==, 0);

	m[1] = 0x82; /* timed, unordered: now it counts */
	g_assert_cmpint(pp_dcep_decode(m, sizeof(m), &o), ==, PP_DCEP_OPEN);
	g_assert_cmpuint(o.reliability, ==, 0x12000034);
	g_assert_true(o.unordered);
	g_assert_cmpint(o.channel, ==, PP_DCEP_PARTIAL_TIMED);
}

static void decode_err(const uint8_t *m, size_t len, int want)
{
	struct pp_dcep_open o;
	memset(&o, 0xa5, sizeof(o));
	g_assert_cmpint(pp_dcep_decode(m, len, &o), ==, want);
	for (size_t i = 0; i < sizeof(o); i++)
		g_assert_cmpuint(((uint8_t *)&o)[i], ==, 0);
}

static void test_decode_errors(void)
{
	uint8_t m[PP_DCEP_OPEN_MAX + 16];

	decode_err(control_open, 0, PP_ERR_TRUNCATED);
	for (size_t n = 1; n < sizeof(control_open); n++)
		decode_err(control_open, n, PP_ERR_TRUNCATED);

	memcpy(m, control_open, sizeof(control_open));
	m[sizeof(control_open)] = 'x';
	decode_err(m, sizeof(control_open) + 1, PP_ERR_INVALID); /* trailing */

	static const uint8_t types[] = { 0x00, 0x01, 0x04, 0xff };
	for (size_t i = 0; i < sizeof(types); i++) {
		memcpy(m, control_open, sizeof(control_open));
		m[0] = types[i];
		decode_err(m, sizeof(control_open), PP_ERR_UNSUPPORTED);
	}
	static const uint8_t channels[] = { 0x03, 0x7f, 0x83, 0x40, 0xff };
	for (size_t i = 0; i < sizeof(channels); i++) {
		memcpy(m, control_open, sizeof(control_open));
		m[1] = channels[i];
		decode_err(m, sizeof(control_open), PP_ERR_INVALID);
	}

	/* NUL and bad UTF-8 in label or protocol */
	memcpy(m, control_open, sizeof(control_open));
	m[13] = '\0';
	decode_err(m, sizeof(control_open), PP_ERR_INVALID);
	memcpy(m, control_open, sizeof(control_open));
	m[sizeof(control_open) - 1] = 0xc3;
	decode_err(m, sizeof(control_open), PP_ERR_INVALID);
	memcpy(m, control_open, sizeof(control_open));
	m[12] = 0xff;
	decode_err(m, sizeof(control_open), PP_ERR_INVALID);

	/* lengths over the limits, even when the bytes are there */
	memset(m, 'a', sizeof(m));
	memcpy(m, control_open, PP_DCEP_HEADER_LEN);
	m[8] = (PP_DCEP_LABEL_MAX + 1) >> 8;
	m[9] = (PP_DCEP_LABEL_MAX + 1) & 0xff;
	m[10] = m[11] = 0;
	decode_err(m, PP_DCEP_HEADER_LEN + PP_DCEP_LABEL_MAX + 1, PP_ERR_TOO_BIG);
	m[8] = m[9] = 0;
	m[10] = (PP_DCEP_PROTOCOL_MAX + 1) >> 8;
	m[11] = (PP_DCEP_PROTOCOL_MAX + 1) & 0xff;
	decode_err(m, PP_DCEP_HEADER_LEN + PP_DCEP_PROTOCOL_MAX + 1, PP_ERR_TOO_BIG);
	m[8] = m[9] = m[10] = m[11] = 0xff;
	decode_err(m, sizeof(m), PP_ERR_TOO_BIG);
	/* label length says more than there is */
	m[8] = 0;
	m[9] = 5;
	m[10] = m[11] = 0;
	decode_err(m, PP_DCEP_HEADER_LEN + 4, PP_ERR_TRUNCATED);
	struct pp_dcep_open o;
	g_assert_cmpint(pp_dcep_decode(m, PP_DCEP_HEADER_LEN + 5, &o), ==, PP_DCEP_OPEN);
	g_assert_cmpstr(o.label, ==, "aaaaa");
	g_assert_cmpstr(o.protocol, ==, "");
}

static void test_encode_errors(void)
{
	struct pp_dcep_open o;
	uint8_t buf[PP_DCEP_OPEN_MAX];
	char *big = g_strnfill(PP_DCEP_LABEL_MAX + 1, 'x');

	g_assert_cmpint(pp_dcep_open_init(&o, big, "", PP_DCEP_RELIABLE, false, 0), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_dcep_open_init(&o, "", big, PP_DCEP_RELIABLE, false, 0), ==, PP_ERR_TOO_BIG);
	g_free(big);

	g_assert_cmpint(pp_dcep_open_init(&o, "a", "b", PP_DCEP_RELIABLE, false, 0), ==, 0);
	struct pp_dcep_open bad = o;
	bad.channel = (enum pp_dcep_channel)3;
	g_assert_cmpint(pp_dcep_encode_open(&bad, buf, sizeof(buf)), ==, PP_ERR_INVALID);
	bad = o;
	bad.label_len = PP_DCEP_LABEL_MAX + 1;
	g_assert_cmpint(pp_dcep_encode_open(&bad, buf, sizeof(buf)), ==, PP_ERR_TOO_BIG);
	bad = o;
	bad.protocol_len = PP_DCEP_PROTOCOL_MAX + 1;
	g_assert_cmpint(pp_dcep_encode_open(&bad, buf, sizeof(buf)), ==, PP_ERR_TOO_BIG);
	bad = o;
	bad.label_len = 2; /* takes the NUL */
	g_assert_cmpint(pp_dcep_encode_open(&bad, buf, sizeof(buf)), ==, PP_ERR_INVALID);
	bad = o;
	bad.protocol[0] = (char)0xff;
	g_assert_cmpint(pp_dcep_encode_open(&bad, buf, sizeof(buf)), ==, PP_ERR_INVALID);
	/* reliable: the parameter is written as 0 whatever the struct says */
	bad = o;
	bad.reliability = 77;
	g_assert_cmpint(pp_dcep_encode_open(&bad, buf, sizeof(buf)), ==, 14);
	g_assert_cmpmem(buf + 4, 4, "\0\0\0\0", 4);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtc/dcep/ppid", test_ppid);
	g_test_add_func("/rtc/dcep/encode-control", test_encode_control);
	g_test_add_func("/rtc/dcep/decode-control", test_decode_control);
	g_test_add_func("/rtc/dcep/roundtrip", test_roundtrip);
	g_test_add_func("/rtc/dcep/ack", test_ack);
	g_test_add_func("/rtc/dcep/reliable-ignores-param", test_reliable_ignores_param);
	g_test_add_func("/rtc/dcep/decode-errors", test_decode_errors);
	g_test_add_func("/rtc/dcep/encode-errors", test_encode_errors);
	return g_test_run();
}
