/* SPDX-License-Identifier: Apache-2.0 */
/* DTLS application records (src/lib/rtc/dtls_record.c), opened by an
 * endpoint with fixed keys: arbitrary records are refused with one of the
 * documented reasons, never opened; records sealed by the peer at chosen
 * sequence numbers, some damaged, are opened exactly when a plain model of
 * the replay window (every sequence number once, none 64 or more below
 * the highest) says so, and give back what was sealed.
 *
 * Input: chunks, each a 2-byte big-endian length then that many bytes (a
 * length past the end takes the rest). A chunk's first byte says what it
 * is: even, the rest is a record as received; odd, the next two bytes are
 * a sequence number offset (bit 1 of the first: shifted up by 16 bits, a
 * jump), bit 2 asks for a damaged copy first, and the rest is plaintext. */
#include "fuzz.h"

#include "../src/lib/rtc/dtls_record.h"

#include "peerpipe/error.h"

#include <glib.h>
#include <string.h>

#define FUZZ_PLAIN_MAX 2048

struct model {
	GHashTable *seen; /* sequence numbers opened */
	uint64_t top;
	bool any;
};

static bool model_accepts(const struct model *m, uint64_t seq)
{
	if (g_hash_table_contains(m->seen, &seq))
		return false;
	return !m->any || seq > m->top || m->top - seq < PP_DTLS_RECORD_WINDOW;
}

static void model_mark(struct model *m, uint64_t seq)
{
	uint64_t *k = g_new(uint64_t, 1);

	*k = seq;
	g_hash_table_add(m->seen, k);
	if (!m->any || seq > m->top)
		m->top = seq;
	m->any = true;
}

static void keys_init(struct pp_dtls_records *tx, struct pp_dtls_records *rx)
{
	struct pp_dtls_record_keys k = { .key_len = 16, .tx_on = true };

	memset(k.tx_key, 0x11, sizeof(k.tx_key));
	memset(k.rx_key, 0x22, sizeof(k.rx_key));
	memset(k.tx_salt, 0x33, sizeof(k.tx_salt));
	memset(k.rx_salt, 0x44, sizeof(k.rx_salt));
	CHECK(pp_dtls_records_init_keys(rx, &k) == 0);
	memcpy(k.tx_key, k.rx_key, sizeof(k.tx_key));
	memcpy(k.tx_salt, k.rx_salt, sizeof(k.tx_salt));
	CHECK(pp_dtls_records_init_keys(tx, &k) == 0);
}

static void raw_record(struct pp_dtls_records *rx, const uint8_t *rec, size_t len)
{
	static uint8_t out[PP_DTLS_RECORD_OVERHEAD + 65536];
	size_t n = 0;
	int rc = pp_dtls_record_open(rx, rec, len, out, sizeof(out), &n);

	CHECK(rc == PP_ERR_INVALID || rc == PP_ERR_REPLAY || rc == PP_ERR_AUTH);
}

static void sealed_record(struct pp_dtls_records *tx, struct pp_dtls_records *rx,
                          struct model *m, const uint8_t *c, size_t len)
{
	static uint8_t rec[FUZZ_PLAIN_MAX + PP_DTLS_RECORD_OVERHEAD], out[FUZZ_PLAIN_MAX];
	size_t rl = 0, n = 0;

	if (len < 3 || len - 3 > FUZZ_PLAIN_MAX)
		return;
	uint64_t off = (uint64_t)c[1] << 8 | c[2];
	uint64_t seq = PP_DTLS_RECORD_SEQ_FIRST + ((c[0] & 2) ? off << 16 : off);
	const uint8_t *plain = c + 3;
	size_t plen = len - 3;

	tx->tx_seq = seq;
	CHECK(pp_dtls_record_seal(tx, PP_DTLS_CT_APPLICATION, plain, plen, rec, sizeof(rec), &rl) ==
	      0);
	CHECK(rl == plen + PP_DTLS_RECORD_OVERHEAD && pp_dtls_record_seq(rec) == seq);
	if (c[0] & 4) { /* a damaged copy changes nothing */
		rec[PP_DTLS_RECORD_HEADER_LEN + (plen + c[1]) % (rl - PP_DTLS_RECORD_HEADER_LEN)] ^= 1;
		CHECK(pp_dtls_record_open(rx, rec, rl, out, sizeof(out), &n) < 0);
		rec[PP_DTLS_RECORD_HEADER_LEN + (plen + c[1]) % (rl - PP_DTLS_RECORD_HEADER_LEN)] ^= 1;
	}
	bool expect = model_accepts(m, seq);
	int rc = pp_dtls_record_open(rx, rec, rl, out, sizeof(out), &n);
	CHECK(expect ? rc == 0 : rc == PP_ERR_REPLAY);
	if (rc == 0) {
		CHECK(n == plen && memcmp(out, plain, plen) == 0);
		model_mark(m, seq);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_dtls_records tx, rx;
	struct model m = { .seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL) };

	keys_init(&tx, &rx);
	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (len > 0 && (data[0] & 1))
			sealed_record(&tx, &rx, &m, data, len);
		else if (len > 0)
			raw_record(&rx, data, len);
		data += len;
		size -= len;
	}
	pp_dtls_records_clear(&tx);
	pp_dtls_records_clear(&rx);
	g_hash_table_unref(m.seen);
	return 0;
}
