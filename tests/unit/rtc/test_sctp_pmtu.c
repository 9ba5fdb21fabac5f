/* SPDX-License-Identifier: Apache-2.0 */
/* Path MTU probes on the wire (sctp_pmtu_wire.c): the HEARTBEAT + PAD
 * probe and the search for its HEARTBEAT ACK. Every packet handed to
 * pp_sctp_probe_ack_find() is a heap copy of exactly its length, so ASan
 * reports any read past it. */
#include "../../../src/lib/rtc/be.h"
#include "../../../src/lib/rtc/sctp_priv.h"

#include <glib.h>
#include <string.h>

/* ack_find over an exact-size heap copy of pkt[0..len). */
static int find(const uint8_t *pkt, size_t len, uint8_t token[PP_SCTP_PROBE_TOKEN], bool *alone)
{
	uint8_t *copy = g_malloc(len ? len : 1);
	int rc;

	if (len)
		memcpy(copy, pkt, len);
	rc = pp_sctp_probe_ack_find(copy, len, token, alone);
	g_free(copy);
	return rc;
}

static void make_token(uint8_t token[PP_SCTP_PROBE_TOKEN], uint32_t size)
{
	pp_sctp_probe_token(token, size, 0x0123456789abcdefull ^ size);
}

/* What a peer sends back for probe: a packet of one HEARTBEAT ACK
 * echoing the HEARTBEAT's 44 bytes, ports swapped, new CRC. */
static size_t make_answer(uint8_t out[56], const uint8_t *probe)
{
	memcpy(out, probe + 2, 2);
	memcpy(out + 2, probe, 2);
	memcpy(out + 4, probe + 4, 8);
	memcpy(out + 12, probe + 12, 44);
	out[12] = 5; /* HEARTBEAT ACK */
	pp_sctp_crc32c_stamp(out, 56);
	return 56;
}

/* A probe of size for the tests below (heap, exactly size bytes). */
static uint8_t *new_probe(size_t size, uint8_t token[PP_SCTP_PROBE_TOKEN])
{
	uint8_t *p = g_malloc(size);

	make_token(token, (uint32_t)size);
	g_assert_cmpuint(pp_sctp_probe_build(p, size, 5000, 5001, 0xdeadbeef, token), ==, size);
	return p;
}

static void test_token(void)
{
	static const uint8_t want[PP_SCTP_PROBE_TOKEN] = { 'P', 'P', 'M', 'T', 0, 0, 0x05, 0x98,
	                                                   1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t token[PP_SCTP_PROBE_TOKEN];

	pp_sctp_probe_token(token, 1432, 0x0102030405060708ull);
	g_assert_cmpmem(token, sizeof(token), want, sizeof(want));
}

static void test_build(void)
{
	static const size_t sizes[] = { PP_SCTP_PROBE_MIN, 68, 1164, 1200, 1332, 1412, 1432,
	                                8912, 16320, PP_SCTP_PROBE_MAX };

	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		size_t size = sizes[i], pad_len = size - 56;
		uint8_t token[PP_SCTP_PROBE_TOKEN], tok2[PP_SCTP_PROBE_TOKEN];
		uint8_t *p = g_malloc(size);
		bool alone = true;

		memset(p, 0xa5, size); /* the probe must overwrite all of it */
		make_token(token, (uint32_t)size);
		g_assert_cmpuint(pp_sctp_probe_build(p, size, 5000, 5001, 0xdeadbeef, token), ==,
		                 size);
		/* Common header. */
		g_assert_cmpuint(pp_be16(p), ==, 5000);
		g_assert_cmpuint(pp_be16(p + 2), ==, 5001);
		g_assert_cmphex(pp_be32(p + 4), ==, 0xdeadbeef);
		g_assert_true(pp_sctp_crc32c_ok(p, size));
		/* HEARTBEAT with one 40-byte Heartbeat Info parameter. */
		g_assert_cmpuint(p[12], ==, 4);
		g_assert_cmpuint(p[13], ==, 0);
		g_assert_cmpuint(pp_be16(p + 14), ==, 44);
		g_assert_cmpuint(pp_be16(p + 16), ==, 1);
		g_assert_cmpuint(pp_be16(p + 18), ==, 40);
		g_assert_cmpmem(p + 20, PP_SCTP_PROBE_TOKEN, token, PP_SCTP_PROBE_TOKEN);
		for (size_t k = 20 + PP_SCTP_PROBE_TOKEN; k < 56; k++)
			g_assert_cmpuint(p[k], ==, 0);
		/* PAD to exactly size bytes. */
		g_assert_cmpuint(p[56], ==, 0x84);
		g_assert_cmpuint(p[57], ==, 0);
		g_assert_cmpuint(pp_be16(p + 58), ==, pad_len);
		g_assert_cmpuint(56 + pad_len, ==, size);
		for (size_t k = 60; k < size; k++)
			g_assert_cmpuint(p[k], ==, 0);
		/* The chunks parse; a HEARTBEAT is not an answer. */
		g_assert_cmpint(pp_sctp_probe_ack_find(p, size, tok2, &alone), ==, 0);
		g_assert_false(alone);
		/* The CRC covers everything. */
		p[size - 1] ^= 1;
		g_assert_false(pp_sctp_crc32c_ok(p, size));
		g_free(p);
	}
}

static void test_build_bad_size(void)
{
	static const size_t bad[] = { 0, 4, 12, 56, 60, 63, 65, 66, 67, 1163, 1430,
	                              PP_SCTP_PROBE_MAX + 1, PP_SCTP_PROBE_MAX + 4, 65536, 100000,
	                              SIZE_MAX, SIZE_MAX - 3 };
	uint8_t buf[PP_SCTP_PROBE_MIN * 2], token[PP_SCTP_PROBE_TOKEN];

	make_token(token, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		memset(buf, 0x5a, sizeof(buf));
		g_assert_cmpuint(pp_sctp_probe_build(buf, bad[i], 1, 2, 3, token), ==, 0);
		for (size_t k = 0; k < sizeof(buf); k++)
			g_assert_cmpuint(buf[k], ==, 0x5a); /* nothing written */
	}
}

static void test_answer_alone(void)
{
	static const size_t sizes[] = { PP_SCTP_PROBE_MIN, 1432, 16320 };

	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		uint8_t token[PP_SCTP_PROBE_TOKEN], got[PP_SCTP_PROBE_TOKEN], ans[56];
		uint8_t *probe = new_probe(sizes[i], token);
		bool alone = false;

		g_assert_cmpuint(make_answer(ans, probe), ==, 56);
		g_assert_true(pp_sctp_crc32c_ok(ans, sizeof(ans)));
		memset(got, 0, sizeof(got));
		g_assert_cmpint(find(ans, sizeof(ans), got, &alone), ==, 1);
		g_assert_true(alone);
		g_assert_cmpmem(got, sizeof(got), token, sizeof(token));
		g_assert_cmpuint(pp_be32(got + 4), ==, sizes[i]);
		/* alone may be NULL. */
		g_assert_cmpint(find(ans, sizeof(ans), got, NULL), ==, 1);
		/* Up to 3 bytes after the last chunk are no chunk. */
		for (size_t extra = 1; extra < 4; extra++) {
			uint8_t longer[59] = { 0 };
			memcpy(longer, ans, sizeof(ans));
			alone = false;
			g_assert_cmpint(find(longer, sizeof(ans) + extra, got, &alone), ==, 1);
			g_assert_true(alone);
		}
		g_free(probe);
	}
}

/* chunk: type, length (as written), then length bytes zero-padded to 4. */
static size_t put_chunk(uint8_t *at, uint8_t type, uint16_t len)
{
	size_t padded = ((size_t)len + 3) & ~(size_t)3;

	memset(at, 0, padded);
	at[0] = type;
	pp_put_be16(at + 2, len);
	for (size_t k = 4; k < len; k++)
		at[k] = (uint8_t)(k * 7);
	return padded;
}

static void test_answer_bundled(void)
{
	uint8_t token[PP_SCTP_PROBE_TOKEN], got[PP_SCTP_PROBE_TOKEN], ans[56], pkt[256];
	uint8_t *probe = new_probe(1432, token);
	size_t len;
	bool alone;

	make_answer(ans, probe);
	/* After a SACK (type 3, 16 bytes). */
	memcpy(pkt, ans, 12);
	len = 12 + put_chunk(pkt + 12, 3, 16);
	memcpy(pkt + len, ans + 12, 44);
	len += 44;
	pp_sctp_crc32c_stamp(pkt, len);
	alone = true;
	memset(got, 0, sizeof(got));
	g_assert_cmpint(find(pkt, len, got, &alone), ==, 1);
	g_assert_false(alone);
	g_assert_cmpmem(got, sizeof(got), token, sizeof(token));

	/* Before a DATA chunk (type 0, 17 bytes: padded to 20, the padding
	 * there or not at the end of the packet). */
	memcpy(pkt, ans, 56);
	len = 56 + put_chunk(pkt + 56, 0, 17);
	for (size_t cut = 0; cut <= 3; cut++) {
		alone = true;
		memset(got, 0, sizeof(got));
		g_assert_cmpint(find(pkt, len - cut, got, &alone), ==, 1);
		g_assert_false(alone);
		g_assert_cmpmem(got, sizeof(got), token, sizeof(token));
	}

	/* Two answers: the first one's token. */
	{
		uint8_t t2[PP_SCTP_PROBE_TOKEN], ans2[56];
		uint8_t *probe2 = new_probe(8912, t2);
		make_answer(ans2, probe2);
		memcpy(pkt, ans, 56);
		memcpy(pkt + 56, ans2 + 12, 44);
		alone = true;
		g_assert_cmpint(find(pkt, 100, got, &alone), ==, 1);
		g_assert_false(alone);
		g_assert_cmpmem(got, sizeof(got), token, sizeof(token));
		g_free(probe2);
	}

	/* Answer, then a chunk that does not parse: left to usrsctp. */
	memcpy(pkt, ans, 56);
	pp_put_be16(pkt + 58, 2);
	g_assert_cmpint(find(pkt, 60, got, &alone), ==, -1);
	g_free(probe);
}

/* usrsctp's own HEARTBEAT ACK: same lengths, its heartbeat info (times,
 * random values, address family and address), no magic. */
static void test_foreign(void)
{
	uint8_t token[PP_SCTP_PROBE_TOKEN], got[PP_SCTP_PROBE_TOKEN], ans[56], pkt[56];
	uint8_t *probe = new_probe(1432, token);
	bool alone;

	memset(pkt, 0, sizeof(pkt));
	memcpy(pkt, "\x13\x88\x13\x88\x01\x02\x03\x04", 8);
	pkt[12] = 5;
	pp_put_be16(pkt + 14, 44);
	pp_put_be16(pkt + 16, 1);
	pp_put_be16(pkt + 18, 40);
	for (size_t k = 20; k < 36; k++)
		pkt[k] = (uint8_t)(k * 13 + 1);  /* times, random values */
	pkt[36] = 123;                          /* AF_CONN */
	pkt[37] = 16;                           /* address length */
	pp_sctp_crc32c_stamp(pkt, sizeof(pkt));
	alone = true;
	g_assert_cmpint(find(pkt, sizeof(pkt), got, &alone), ==, 0);
	g_assert_false(alone);

	/* Only the magic differs from ours. */
	make_answer(ans, probe);
	for (size_t k = 20; k < 24; k++) {
		memcpy(pkt, ans, sizeof(ans));
		pkt[k] ^= 0x20;
		g_assert_cmpint(find(pkt, sizeof(pkt), got, &alone), ==, 0);
	}
	/* Our HEARTBEAT (the probe cut to its first chunk) is no answer, and
	 * nor is any other chunk type carrying the same bytes. */
	for (unsigned type = 0; type < 256; type++) {
		if (type == 5)
			continue;
		memcpy(pkt, ans, sizeof(ans));
		pkt[12] = (uint8_t)type;
		g_assert_cmpint(find(pkt, sizeof(pkt), got, &alone), ==, 0);
	}
	/* Chunk flags are not looked at. */
	memcpy(pkt, ans, sizeof(ans));
	pkt[13] = 0xff;
	g_assert_cmpint(find(pkt, sizeof(pkt), got, &alone), ==, 1);
	g_free(probe);
}

static void test_wrong_lengths(void)
{
	uint8_t token[PP_SCTP_PROBE_TOKEN], got[PP_SCTP_PROBE_TOKEN], ans[56], pkt[64];
	uint8_t *probe = new_probe(1432, token);
	bool alone;

	make_answer(ans, probe);
	memset(pkt, 0, sizeof(pkt));

	/* Chunk length 43: parses (padded to 44), not ours. */
	memcpy(pkt, ans, 56);
	pp_put_be16(pkt + 14, 43);
	alone = true;
	g_assert_cmpint(find(pkt, 56, got, &alone), ==, 0);
	g_assert_false(alone);
	/* 48 in a 56-byte packet: runs past the end. */
	pp_put_be16(pkt + 14, 48);
	g_assert_cmpint(find(pkt, 56, got, &alone), ==, -1);
	/* 48 in a 60-byte packet: parses, not ours (usrsctp would stop
	 * there: an answer of another length must not be taken). */
	alone = true;
	g_assert_cmpint(find(pkt, 60, got, &alone), ==, 0);
	g_assert_false(alone);
	/* Parameter type or length other than the probe's. */
	memcpy(pkt, ans, 56);
	pp_put_be16(pkt + 16, 2);
	g_assert_cmpint(find(pkt, 56, got, &alone), ==, 0);
	memcpy(pkt, ans, 56);
	pp_put_be16(pkt + 18, 36);
	g_assert_cmpint(find(pkt, 56, got, &alone), ==, 0);
	pp_put_be16(pkt + 18, 44);
	g_assert_cmpint(find(pkt, 56, got, &alone), ==, 0);

	/* Chunk lengths 0..3: malformed, also after a good first chunk. */
	for (uint16_t l = 0; l < 4; l++) {
		memcpy(pkt, ans, 56);
		pp_put_be16(pkt + 14, l);
		g_assert_cmpint(find(pkt, 56, got, &alone), ==, -1);
		memset(pkt + 56, 0, 8);
		put_chunk(pkt + 12, 3, 16);
		pp_put_be16(pkt + 30, l);
		g_assert_cmpint(find(pkt, 56, got, &alone), ==, -1);
	}
	/* A chunk running past the end, by any amount, wherever it is cut. */
	for (size_t len = 12; len < 56; len++) {
		int rc = find(ans, len, got, &alone);
		g_assert_cmpint(rc, ==, len < 16 ? 0 : -1);
	}
	/* Bare header: no chunk, no answer. */
	alone = true;
	g_assert_cmpint(find(ans, 12, got, &alone), ==, 0);
	g_assert_false(alone);
	/* Truncated header. */
	for (size_t len = 0; len < 12; len++)
		g_assert_cmpint(find(ans, len, got, &alone), ==, -1);
	g_free(probe);
}

/* Every prefix and every single-byte change of a bundled answer: a result
 * in {-1, 0, 1}, alone only when found, the token only when found. */
static void test_mutations(void)
{
	uint8_t token[PP_SCTP_PROBE_TOKEN], got[PP_SCTP_PROBE_TOKEN], ans[56], pkt[96];
	uint8_t *probe = new_probe(16320, token);
	size_t len;

	make_answer(ans, probe);
	memcpy(pkt, ans, 12);
	len = 12 + put_chunk(pkt + 12, 3, 16);
	memcpy(pkt + len, ans + 12, 44);
	len += 44;
	len += put_chunk(pkt + len, 0, 21);
	g_assert_cmpuint(len, <=, sizeof(pkt));
	for (size_t n = 0; n <= len; n++) {
		for (size_t at = 0; at <= n; at++) {
			uint8_t m[96];
			bool alone = false;
			int rc;
			memcpy(m, pkt, len);
			if (at < n)
				m[at] ^= (uint8_t)(0x41 + at);
			memset(got, 0xee, sizeof(got));
			rc = find(m, n, got, &alone);
			g_assert_true(rc == -1 || rc == 0 || rc == 1);
			if (rc == 1)
				g_assert_cmpmem(got, 4, "PPMT", 4);
			else
				g_assert_false(alone);
			if (rc == 0) {
				for (size_t k = 0; k < sizeof(got); k++)
					g_assert_cmpuint(got[k], ==, 0xee);
			}
		}
	}
	g_free(probe);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sctp_pmtu/token", test_token);
	g_test_add_func("/sctp_pmtu/build", test_build);
	g_test_add_func("/sctp_pmtu/build_bad_size", test_build_bad_size);
	g_test_add_func("/sctp_pmtu/answer_alone", test_answer_alone);
	g_test_add_func("/sctp_pmtu/answer_bundled", test_answer_bundled);
	g_test_add_func("/sctp_pmtu/foreign", test_foreign);
	g_test_add_func("/sctp_pmtu/wrong_lengths", test_wrong_lengths);
	g_test_add_func("/sctp_pmtu/mutations", test_mutations);
	return g_test_run();
}
