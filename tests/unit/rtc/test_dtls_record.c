/* SPDX-License-Identifier: Apache-2.0 */
/* The DTLS application record layer on its own (src/lib/rtc/
 * dtls_record.c): two mirrored key sets, records sealed by one and opened
 * by the other; the replay window; forged, damaged and malformed records.
 * Against OpenSSL's own record layer: test_dtls (/rtc/dtls/records/...). */
#include "../../../src/lib/rtc/dtls_record.h"

#include "peerpipe/error.h"

#include <glib.h>
#include <string.h>
#include <time.h>

#define OVERHEAD PP_DTLS_RECORD_OVERHEAD

/* a seals for b, b for a */
struct pair {
	struct pp_dtls_records a, b;
};

static void pair_init(struct pair *p, size_t key_len)
{
	struct pp_dtls_record_keys ka = { .key_len = key_len }, kb = { .key_len = key_len };

	for (size_t i = 0; i < key_len; i++) {
		ka.tx_key[i] = kb.rx_key[i] = (uint8_t)(i * 3 + 1);
		ka.rx_key[i] = kb.tx_key[i] = (uint8_t)(i * 5 + 2);
	}
	for (size_t i = 0; i < PP_DTLS_RECORD_SALT_LEN; i++) {
		ka.tx_salt[i] = kb.rx_salt[i] = (uint8_t)(0xa0 + i);
		ka.rx_salt[i] = kb.tx_salt[i] = (uint8_t)(0xb0 + i);
	}
	ka.tx_nonce = UINT64_MAX - 5; /* a's wrap past 2^64 */
	kb.tx_nonce = 77;
	ka.tx_on = kb.tx_on = true;
	g_assert_cmpint(pp_dtls_records_init_keys(&p->a, &ka), ==, 0);
	g_assert_cmpint(pp_dtls_records_init_keys(&p->b, &kb), ==, 0);
}

static void pair_clear(struct pair *p)
{
	pp_dtls_records_clear(&p->a);
	pp_dtls_records_clear(&p->b);
	g_assert_null(p->a.tx.ctx);
}

static size_t seal(struct pp_dtls_records *r, const uint8_t *in, size_t len, uint8_t *rec)
{
	size_t n = 0;

	g_assert_cmpint(pp_dtls_record_seal(r, PP_DTLS_CT_APPLICATION, in, len, rec, len + OVERHEAD,
	                                    &n),
	                ==, 0);
	g_assert_cmpuint(n, ==, len + OVERHEAD);
	return n;
}

static int open_rec(struct pp_dtls_records *r, const uint8_t *rec, size_t len, uint8_t *out,
                    size_t *out_len)
{
	return pp_dtls_record_open(r, rec, len, out, 2048, out_len);
}

static void roundtrip(size_t key_len)
{
	struct pair p;
	uint8_t in[1300], rec[1300 + OVERHEAD], out[2048];
	uint64_t n_sealed = 0;
	size_t n;

	pair_init(&p, key_len);
	for (size_t len = 0; len <= sizeof(in); len += len < 40 ? 1 : 97) {
		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)(len + i * 13);
		size_t rl = seal(&p.a, in, len, rec);
		g_assert_cmpuint(rec[0], ==, PP_DTLS_CT_APPLICATION);
		g_assert_cmpuint(pp_dtls_record_epoch(rec), ==, 1);
		g_assert_cmpuint(pp_dtls_record_len(rec), ==, rl);
		/* the explicit nonce counts up from the one given, mod 2^64 */
		g_assert_cmpuint(pp_dtls_record_nonce(rec), ==, UINT64_MAX - 5 + n_sealed++);
		g_assert_cmpint(open_rec(&p.b, rec, rl, out, &n), ==, 0);
		g_assert_cmpmem(out, n, in, len);
		/* and not by the sealer's own read keys */
		g_assert_cmpint(open_rec(&p.a, rec, rl, out, &n), ==, PP_ERR_AUTH);
	}
	/* the other way */
	size_t rl = seal(&p.b, (const uint8_t *)"back", 4, rec);
	g_assert_cmpint(open_rec(&p.a, rec, rl, out, &n), ==, 0);
	g_assert_cmpmem(out, n, "back", 4);
	pair_clear(&p);
}

static void test_roundtrip(void)
{
	roundtrip(16);
	roundtrip(32);
}

/* Our sequence numbers start far above OpenSSL's and stop at 2^48 - 1. */
static void test_sequence(void)
{
	struct pair p;
	uint8_t rec[64], out[64];
	size_t n;

	pair_init(&p, 16);
	seal(&p.a, (const uint8_t *)"x", 1, rec);
	g_assert_cmpuint(pp_dtls_record_seq(rec), ==, PP_DTLS_RECORD_SEQ_FIRST);
	seal(&p.a, (const uint8_t *)"x", 1, rec);
	g_assert_cmpuint(pp_dtls_record_seq(rec), ==, PP_DTLS_RECORD_SEQ_FIRST + 1);
	p.a.tx_seq = PP_DTLS_RECORD_SEQ_LAST;
	size_t rl = seal(&p.a, (const uint8_t *)"y", 1, rec);
	g_assert_cmpuint(pp_dtls_record_seq(rec), ==, PP_DTLS_RECORD_SEQ_LAST);
	g_assert_cmpint(open_rec(&p.b, rec, rl, out, &n), ==, 0);
	g_assert_cmpint(pp_dtls_record_seal(&p.a, PP_DTLS_CT_APPLICATION, (const uint8_t *)"z", 1,
	                                    rec, sizeof(rec), &n),
	                ==, PP_ERR_STATE);
	pair_clear(&p);
}

/* Too small a buffer either way refuses the record and spends nothing. */
static void test_room(void)
{
	struct pair p;
	uint8_t rec[30 + OVERHEAD], out[64];
	size_t n;

	pair_init(&p, 16);
	memset(out, 'r', 30);
	g_assert_cmpint(pp_dtls_record_seal(&p.a, PP_DTLS_CT_APPLICATION, out, 30, rec,
	                                    30 + OVERHEAD - 1, &n),
	                ==, PP_ERR_TOO_BIG);
	size_t rl = seal(&p.a, out, 30, rec);
	g_assert_cmpuint(pp_dtls_record_seq(rec), ==, PP_DTLS_RECORD_SEQ_FIRST);
	g_assert_cmpint(pp_dtls_record_open(&p.b, rec, rl, out, 29, &n), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_dtls_record_open(&p.b, rec, rl, out, 30, &n), ==, 0);
	pair_clear(&p);
}

/* Records sealed in the order given by seqs (offsets from a base), opened
 * in that order; expect[i]: opened (0) or refused as a replay. */
static void window_case(const uint64_t *seqs, const int *expect, size_t n)
{
	struct pair p;
	uint8_t rec[64], out[64];
	size_t len;

	pair_init(&p, 16);
	for (size_t i = 0; i < n; i++) {
		p.a.tx_seq = PP_DTLS_RECORD_SEQ_FIRST + seqs[i];
		size_t rl = seal(&p.a, (const uint8_t *)"w", 1, rec);
		g_assert_cmpint(open_rec(&p.b, rec, rl, out, &len), ==, expect[i]);
	}
	pair_clear(&p);
}

static void test_window(void)
{
	const int ok = 0, re = PP_ERR_REPLAY;
	/* in order; the same again */
	window_case((const uint64_t[]){ 0, 1, 2, 2, 1 }, (const int[]){ ok, ok, ok, re, re }, 5);
	/* out of order inside the window, each once */
	window_case((const uint64_t[]){ 10, 5, 9, 5, 0, 0 }, (const int[]){ ok, ok, ok, re, ok, re },
	            6);
	/* 63 behind is inside, 64 behind is too old */
	window_case((const uint64_t[]){ 100, 37, 36, 37 }, (const int[]){ ok, ok, re, re }, 4);
	/* a jump past the window forgets everything below it */
	window_case((const uint64_t[]){ 1, 2, 1000, 2, 999, 999, 937, 936 },
	            (const int[]){ ok, ok, ok, re, ok, re, ok, re }, 8);
	/* a jump of exactly 64 and of 63 */
	window_case((const uint64_t[]){ 0, 64, 0, 1, 127, 64, 65 },
	            (const int[]){ ok, ok, re, ok, ok, re, ok }, 7);
}

/* Any change to a record makes it refused, and a refused record changes
 * nothing: the next genuine one still opens. */
static void test_forged(void)
{
	struct pair p;
	uint8_t in[100], rec[100 + OVERHEAD], bad[sizeof(rec)], out[2048];
	size_t n;

	pair_init(&p, 16);
	memset(in, 'f', sizeof(in));
	size_t rl = seal(&p.a, in, sizeof(in), rec);
	for (size_t i = 0; i < rl; i++) {
		for (unsigned int bit = 1; bit < 256; bit <<= 3) {
			memcpy(bad, rec, rl);
			bad[i] ^= (uint8_t)bit;
			int rc = open_rec(&p.b, bad, rl, out, &n);
			if (i == 0)
				g_assert_cmpint(rc, ==, PP_ERR_AUTH); /* the type is authenticated */
			else if (i < 5 || i == 11 || i == 12)
				g_assert_cmpint(rc, ==, PP_ERR_INVALID); /* version, epoch, length */
			else
				g_assert_cmpint(rc, ==, PP_ERR_AUTH);
		}
	}
	/* a forged record far ahead does not move the window */
	memcpy(bad, rec, rl);
	bad[5] = 0x7f;
	bad[rl - 1] ^= 1;
	g_assert_cmpint(open_rec(&p.b, bad, rl, out, &n), ==, PP_ERR_AUTH);
	g_assert_cmpint(open_rec(&p.b, rec, rl, out, &n), ==, 0);
	g_assert_cmpmem(out, n, in, sizeof(in));
	g_assert_cmpint(open_rec(&p.b, rec, rl, out, &n), ==, PP_ERR_REPLAY);
	/* truncated, or no room for a nonce and a tag */
	g_assert_cmpint(open_rec(&p.b, rec, rl - 1, out, &n), ==, PP_ERR_INVALID);
	g_assert_cmpint(open_rec(&p.b, rec, OVERHEAD - 1, out, &n), ==, PP_ERR_INVALID);
	pair_clear(&p);
}

/* Unsupported key sizes are refused; nothing is sealed before the nonces
 * are placed past OpenSSL's. */
static void test_keys(void)
{
	struct pp_dtls_records r;
	struct pp_dtls_record_keys k = { .key_len = 24 };
	uint8_t rec[64];
	size_t n;

	g_assert_cmpint(pp_dtls_records_init_keys(&r, &k), ==, PP_ERR_UNSUPPORTED);
	g_assert_null(r.tx.ctx);
	pp_dtls_records_clear(&r); /* harmless after a failure */

	k.key_len = 32;
	g_assert_cmpint(pp_dtls_records_init_keys(&r, &k), ==, 0);
	g_assert_cmpint(pp_dtls_record_seal(&r, PP_DTLS_CT_APPLICATION, rec, 1, rec, sizeof(rec), &n),
	                ==, PP_ERR_STATE);
	pp_dtls_records_start_tx(&r, UINT64_MAX - 1);
	g_assert_cmpint(pp_dtls_record_seal(&r, PP_DTLS_CT_APPLICATION, rec, 1, rec, sizeof(rec), &n),
	                ==, 0);
	g_assert_cmpuint(pp_dtls_record_nonce(rec), ==, PP_DTLS_RECORD_NONCE_GAP - 2);
	pp_dtls_records_clear(&r);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seal and open alone, no link (only with -m perf). */
static void test_perf(void)
{
	struct pair p;
	static uint8_t in[1200], rec[1200 + OVERHEAD], out[2048];
	const unsigned int n = 500000;
	size_t len;

	if (!g_test_perf()) {
		g_test_skip("figures only with -m perf");
		return;
	}
	pair_init(&p, 16);
	for (size_t size = 100; size <= 1200; size += 1100) {
		double t0 = cpu_seconds();
		for (unsigned int i = 0; i < n; i++) {
			size_t rl = seal(&p.a, in, size, rec);
			g_assert_cmpint(open_rec(&p.b, rec, rl, out, &len), ==, 0);
		}
		double us = (cpu_seconds() - t0) * 1e6 / n;
		g_printerr("# seal + open of a %zu-byte record (AES-128-GCM): %.3f us of CPU\n", size,
		           us);
	}
	pair_clear(&p);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtc/dtls-record/roundtrip", test_roundtrip);
	g_test_add_func("/rtc/dtls-record/sequence", test_sequence);
	g_test_add_func("/rtc/dtls-record/room", test_room);
	g_test_add_func("/rtc/dtls-record/window", test_window);
	g_test_add_func("/rtc/dtls-record/forged", test_forged);
	g_test_add_func("/rtc/dtls-record/keys", test_keys);
	g_test_add_func("/rtc/dtls-record/perf", test_perf);
	return g_test_run();
}
