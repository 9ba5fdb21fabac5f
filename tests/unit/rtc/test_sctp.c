/* SPDX-License-Identifier: Apache-2.0 */
/* SCTP association and data channels: two associations joined by an
 * in-memory link (sctp_pair.c) on one GMainContext. */
#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/sctp.h"
#include "sctp_pair.h"

#include "../../../src/lib/rtc/sctp_priv.h" /* struct pp_sctp, for one known bug */

#include <errno.h>
#include <glib.h>
#include <openssl/evp.h>
#include <string.h>
#include <usrsctp.h>

static void fill(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

/* The channel the other side got for id. */
static struct pp_sctp_channel *peer_channel(struct sctp_side *side, uint16_t id)
{
	for (guint i = 0; i < side->opened->len; i++) {
		struct pp_sctp_channel *ch = g_ptr_array_index(side->opened, i);
		if (pp_sctp_channel_id(ch) == id)
			return ch;
	}
	return NULL;
}

static bool was_closed(struct sctp_side *side, uint16_t id)
{
	for (guint i = 0; i < side->closed->len; i++)
		if (g_array_index(side->closed, uint16_t, i) == id)
			return true;
	return false;
}

static void test_crc32c(void)
{
	static const char check[] = "123456789";
	uint8_t buf[3000];

	g_assert_cmphex(pp_sctp_crc32c(check, 9), ==, 0xE3069283u);
	g_assert_cmphex(~pp_sctp_crc32c_sw(~0u, check, 9), ==, 0xE3069283u);
	for (size_t len = 0; len + 8 <= sizeof(buf); len += 37) {
		fill(buf, sizeof(buf), len);
		for (size_t off = 0; off < 8; off++) {
			uint32_t hw = pp_sctp_crc32c(buf + off, len);
			g_assert_cmphex(hw, ==, ~pp_sctp_crc32c_sw(~0u, buf + off, len));
			g_assert_cmphex(hw, ==, usrsctp_crc32c(buf + off, len));
		}
	}
}

static void test_connect(void)
{
	struct sctp_pair p;
	struct pp_sctp_stats st;

	sctp_pair_init(&p, NULL, NULL);
	g_assert_cmpint(pp_sctp_get_state(p.side[0].s), ==, PP_SCTP_NEW);
	sctp_pair_connect(&p);
	g_assert_cmpuint(p.side[0].up_events, ==, 1);
	g_assert_cmpuint(p.side[1].up_events, ==, 1);
	g_assert_cmpuint(pp_sctp_outbound_streams(p.side[0].s), ==, 1024);
	g_assert_true(pp_sctp_library_active());
	g_assert_cmpint(pp_sctp_connect(p.side[0].s), ==, PP_ERR_STATE);
	pp_sctp_get_stats(p.side[1].s, &st);
	g_assert_cmpuint(st.packets_received, >, 0);
	g_assert_cmpuint(st.bad_packets, ==, 0);
	sctp_pair_free(&p);

	/* B's DTLS comes up later: A's INIT waits in B until B connects. */
	sctp_pair_init(&p, NULL, NULL);
	g_assert_cmpint(pp_sctp_connect(p.side[0].s), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[0].packets > 0 && p.q[1].length == 0 && !p.idle, 5000);
	sctp_pair_run_for(&p, 30);
	g_assert_cmpint(pp_sctp_connect(p.side[1].s), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[0].state == PP_SCTP_CONNECTED &&
	                   p.side[1].state == PP_SCTP_CONNECTED, 5000);
	sctp_pair_free(&p);

	/* Closing before connecting ends at once. */
	sctp_pair_init(&p, NULL, NULL);
	g_assert_cmpint(pp_sctp_close(p.side[0].s), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[0].end_events == 1, 1000);
	g_assert_cmpint(p.side[0].state, ==, PP_SCTP_CLOSED);
	g_assert_cmpint(pp_sctp_connect(p.side[0].s), ==, PP_ERR_STATE);
	sctp_pair_free(&p);
}

static void test_channels_both_sides(void)
{
	struct sctp_pair p;
	struct pp_sctp_channel *a, *b, *pa, *pb;
	struct pp_sctp_channel_options o;

	sctp_pair_init(&p, NULL, NULL);
	/* Opened before connecting: the OPEN waits for the association. */
	g_assert_cmpint(pp_sctp_channel_open(p.side[0].s, "peerpipe-control", "peerpipe.control.v1",
	                                     NULL, &a), ==, 0);
	g_assert_cmpuint(pp_sctp_channel_id(a), ==, 0);
	g_assert_cmpint(pp_sctp_channel_get_state(a), ==, PP_SCTP_CHANNEL_OPENING);
	sctp_pair_connect(&p);
	SCTP_RUN_UNTIL(&p, pp_sctp_channel_get_state(a) == PP_SCTP_CHANNEL_OPEN, 5000);
	SCTP_RUN_UNTIL(&p, p.side[1].opened->len == 1, 5000);
	pa = peer_channel(&p.side[1], 0);
	g_assert_nonnull(pa);
	g_assert_cmpstr(pp_sctp_channel_label(pa), ==, "peerpipe-control");
	g_assert_cmpstr(pp_sctp_channel_protocol(pa), ==, "peerpipe.control.v1");

	b = sctp_pair_open(&p, 1, "db", "peerpipe.tcp.v1",
	                   &(struct pp_sctp_channel_options){ .unordered = true,
	                                                      .reliability = PP_SCTP_MAX_RETRANSMITS,
	                                                      .value = 3 });
	g_assert_cmpuint(pp_sctp_channel_id(b), ==, 1);
	pb = peer_channel(&p.side[0], 1);
	g_assert_nonnull(pb);
	g_assert_cmpstr(pp_sctp_channel_label(pb), ==, "db");
	pp_sctp_channel_get_options(pb, &o);
	g_assert_true(o.unordered);
	g_assert_cmpint(o.reliability, ==, PP_SCTP_MAX_RETRANSMITS);
	g_assert_cmpuint(o.value, ==, 3);

	/* Next ids keep the parity. */
	g_assert_cmpuint(pp_sctp_channel_id(sctp_pair_open(&p, 0, "x", "", NULL)), ==, 2);
	g_assert_cmpuint(pp_sctp_channel_id(sctp_pair_open(&p, 1, "y", "", NULL)), ==, 3);
	sctp_pair_free(&p);

	/* Out of ids: 4 streams give the client 0 and 2 only. */
	struct pp_sctp_config few = { .max_streams = 4 };
	sctp_pair_init(&p, &few, &few);
	sctp_pair_connect(&p);
	g_assert_cmpuint(pp_sctp_outbound_streams(p.side[0].s), ==, 4);
	sctp_pair_open(&p, 0, "0", "", NULL);
	sctp_pair_open(&p, 0, "2", "", NULL);
	g_assert_cmpint(pp_sctp_channel_open(p.side[0].s, "none", "", NULL, &a), ==, -ENOSR);
	g_assert_null(a);
	sctp_pair_free(&p);
}

static void check_msg(struct sctp_side *side, guint i, uint16_t id, enum pp_sctp_kind kind,
                      const void *data, size_t len)
{
	struct sctp_msg *m;
	gsize n;
	const void *d;

	g_assert_cmpuint(i, <, side->msgs->len);
	m = g_ptr_array_index(side->msgs, i);
	d = g_bytes_get_data(m->data, &n);
	g_assert_cmpuint(m->id, ==, id);
	g_assert_cmpint(m->kind, ==, kind);
	g_assert_cmpmem(d, n, data, len);
}

static void test_messages(void)
{
	static const size_t sizes[] = { 1, 2, 100, 1151, 1152, 4096, 65535, 65536,
	                                66560, 100000, 262143, 262144 };
	struct sctp_pair p;
	struct pp_sctp_channel *ch;
	uint8_t *buf = g_malloc(262144);
	guint k = 0;

	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	ch = sctp_pair_open(&p, 0, "m", "", NULL);
	g_assert_cmpint(pp_sctp_channel_send(ch, true, "hello", 5), ==, 0);
	g_assert_cmpint(pp_sctp_channel_send(ch, false, "\x00\x01\x02", 3), ==, 0);
	g_assert_cmpint(pp_sctp_channel_send(ch, true, NULL, 0), ==, 0);
	g_assert_cmpint(pp_sctp_channel_send(ch, false, NULL, 0), ==, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		fill(buf, sizes[i], i);
		g_assert_cmpint(pp_sctp_channel_send(ch, i % 2 == 0, buf, sizes[i]), ==, 0);
	}
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == 4 + G_N_ELEMENTS(sizes), 10000);
	check_msg(&p.side[1], k++, 0, PP_SCTP_TEXT, "hello", 5);
	check_msg(&p.side[1], k++, 0, PP_SCTP_BINARY, "\x00\x01\x02", 3);
	check_msg(&p.side[1], k++, 0, PP_SCTP_TEXT, "", 0);
	check_msg(&p.side[1], k++, 0, PP_SCTP_BINARY, "", 0);
	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		fill(buf, sizes[i], i);
		check_msg(&p.side[1], k++, 0, i % 2 == 0 ? PP_SCTP_TEXT : PP_SCTP_BINARY, buf,
		          sizes[i]);
	}
	/* And back, from the side that accepted the channel. */
	g_assert_cmpint(pp_sctp_channel_send(peer_channel(&p.side[1], 0), false, buf, 262144), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[0].msgs->len == 1, 5000);
	check_msg(&p.side[0], 0, 0, PP_SCTP_BINARY, buf, 262144);
	/* DTLS records of at most 1200 bytes: 1151 + 12 of SCTP. */
	g_assert_cmpuint(p.side[0].max_packet, <=, 1163);
	g_assert_cmpuint(p.side[0].max_packet, >, 1100);
	g_free(buf);
	sctp_pair_free(&p);
}

/* Bulk transfers over reliable channels, each paced by its low-threshold
 * callback (buffered_amount kept under a high mark) and checked by SHA-256. */
struct bulk {
	uint64_t total;
	size_t msg;
	/* filled in by bulk_run */
	struct pp_sctp_channel *ch;
	uint16_t id;
	uint64_t sent, received;
	size_t high, max_buffered;
	uint8_t *block;
	EVP_MD_CTX *tx, *rx;
	unsigned low_calls;
	bool hold;      /* no new message while set */
};

struct bulk_set {
	struct bulk *b;
	unsigned n;
};

static void bulk_pump(struct bulk *b)
{
	while (!b->hold && b->sent < b->total && pp_sctp_channel_buffered_amount(b->ch) <= b->high) {
		size_t n = (size_t)MIN((uint64_t)b->msg, b->total - b->sent);
		memcpy(b->block, &b->sent, MIN(n, sizeof(b->sent))); /* every message differs */
		EVP_DigestUpdate(b->tx, b->block, n);
		g_assert_cmpint(pp_sctp_channel_send(b->ch, false, b->block, n), ==, 0);
		b->sent += n;
		b->max_buffered = MAX(b->max_buffered, pp_sctp_channel_buffered_amount(b->ch));
	}
}

static void bulk_low(struct sctp_side *side, struct pp_sctp_channel *ch)
{
	struct bulk_set *set = side->test;

	for (unsigned i = 0; i < set->n; i++)
		if (set->b[i].ch == ch) {
			set->b[i].low_calls++;
			bulk_pump(&set->b[i]);
		}
}

static void bulk_message(struct sctp_side *side, struct pp_sctp_channel *ch,
                         enum pp_sctp_kind kind, const uint8_t *data, size_t len)
{
	struct bulk_set *set = side->test;

	for (unsigned i = 0; i < set->n; i++)
		if (set->b[i].id == pp_sctp_channel_id(ch)) {
			EVP_DigestUpdate(set->b[i].rx, data, len);
			set->b[i].received += len;
		}
}

static bool bulk_done(const struct bulk_set *set)
{
	for (unsigned i = 0; i < set->n; i++)
		if (set->b[i].received < set->b[i].total)
			return false;
	return true;
}

/* Opens the channels for transfers from side 0 to side 1; set must live
 * until bulk_check(). bulk_pump() starts each. */
static void bulk_setup(struct sctp_pair *p, struct bulk_set *set)
{
	struct bulk *b = set->b;
	unsigned n = set->n;

	p->side[0].test = p->side[1].test = set;
	p->side[0].hooks.on_low = bulk_low;
	p->side[1].hooks.on_message = bulk_message;
	for (unsigned i = 0; i < n; i++) {
		b[i].high = 1024 * 1024;
		b[i].block = g_malloc(b[i].msg);
		fill(b[i].block, b[i].msg, i);
		b[i].tx = EVP_MD_CTX_new();
		b[i].rx = EVP_MD_CTX_new();
		g_assert_cmpint(EVP_DigestInit_ex(b[i].tx, EVP_sha256(), NULL), ==, 1);
		g_assert_cmpint(EVP_DigestInit_ex(b[i].rx, EVP_sha256(), NULL), ==, 1);
		b[i].ch = sctp_pair_open(p, 0, "bulk", "peerpipe.tcp.v1", NULL);
		b[i].id = pp_sctp_channel_id(b[i].ch);
		pp_sctp_channel_set_low_threshold(b[i].ch, 256 * 1024);
	}
}

/* After bulk_done(): everything arrived intact. */
static void bulk_check(struct sctp_pair *p, struct bulk_set *set)
{
	struct bulk *b = set->b;

	for (unsigned i = 0; i < set->n; i++) {
		uint8_t dtx[32], drx[32];
		g_assert_cmpint(EVP_DigestFinal_ex(b[i].tx, dtx, NULL), ==, 1);
		g_assert_cmpint(EVP_DigestFinal_ex(b[i].rx, drx, NULL), ==, 1);
		g_assert_cmpmem(dtx, sizeof(dtx), drx, sizeof(drx));
		g_assert_cmpuint(b[i].received, ==, b[i].total);
		/* Backpressure held: never past the mark + one message. */
		g_assert_cmpuint(b[i].max_buffered, <=, b[i].high + b[i].msg);
		EVP_MD_CTX_free(b[i].tx);
		EVP_MD_CTX_free(b[i].rx);
		g_free(b[i].block);
	}
	p->side[0].hooks.on_low = NULL;
	p->side[1].hooks.on_message = NULL;
}

/* Runs all transfers at once from side 0 to side 1; returns the seconds. */
static double bulk_run(struct sctp_pair *p, struct bulk *b, unsigned n)
{
	struct bulk_set set = { b, n };
	gint64 t0, t1;

	bulk_setup(p, &set);
	t0 = g_get_monotonic_time();
	for (unsigned i = 0; i < n; i++)
		bulk_pump(&b[i]);
	SCTP_RUN_UNTIL(p, bulk_done(&set), 120000);
	t1 = g_get_monotonic_time();
	bulk_check(p, &set);
	return (t1 - t0) / 1e6;
}

static void test_bulk(void)
{
	struct sctp_pair p;
	struct bulk b = { .total = 100u * 1000 * 1000, .msg = 64 * 1024 };
	struct pp_sctp_stats st;
	double secs;

	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	secs = bulk_run(&p, &b, 1);
	g_assert_cmpuint(b.low_calls, >, 0);
	pp_sctp_get_stats(p.side[0].s, &st);
	g_assert_cmpuint(st.bytes_sent, ==, b.total);
	g_test_message("bulk: %.1f MB in %.3f s = %.1f MB/s in memory, one thread for both "
	               "ends (SHA-256 both ends), %u low-threshold callbacks, max buffered %zu, "
	               "%" G_GUINT64_FORMAT " packets A->B",
	               b.total / 1e6, secs, b.total / secs / 1e6, b.low_calls, b.max_buffered,
	               p.side[0].packets);
	sctp_pair_free(&p);
}

/* side received n messages of size bytes, message i filled with i & 0xff
 * (its first and last byte checked). */
/* What scripts/usrsctp-patches/ fix cannot be tested on the system's
 * usrsctp (a build without scripts/setup-build.sh): skipped, and said. */
static bool needs_patched_usrsctp(void)
{
	if (PP_USRSCTP_PATCHED)
		return true;
	g_test_skip("needs usrsctp built with PeerPipe's patches (scripts/setup-build.sh)");
	return false;
}

static void expect_filled(struct sctp_side *side, unsigned n, size_t size)
{
	g_assert_cmpuint(side->msgs->len, ==, n);
	for (unsigned i = 0; i < n; i++) {
		struct sctp_msg *m = g_ptr_array_index(side->msgs, i);
		gsize len;
		const uint8_t *d = g_bytes_get_data(m->data, &len);
		g_assert_cmpuint(len, ==, size);
		g_assert_cmpuint(d[0], ==, i & 0xff);
		g_assert_cmpuint(d[len - 1], ==, i & 0xff);
	}
}

/* Receive-side flow control: while the receiver is paused nothing is
 * delivered, the sender's queue grows (the window closed), and after the
 * resume every message arrives in order. */
static void test_pause_receive(void)
{
	struct sctp_pair p;
	struct pp_sctp_channel *ch = NULL;
	static uint8_t chunk[16 * 1024];
	unsigned sent = 0, n;

	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	g_assert_cmpint(pp_sctp_channel_open(p.side[0].s, "pause", "", NULL, &ch), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[1].opened->len == 1, 5000);
	pp_sctp_pause_receive(p.side[1].s, true);
	/* More than usrsctp's buffers on both sides hold (about 2.7 times
	 * their size in all, test_tunnel_flow): three buffers and 6 MiB, 18
	 * MiB at the default 4 MiB, under the channel's 16 MiB queue bound
	 * once usrsctp has taken its share. */
	const unsigned count = (3u * PP_SCTP_BUFFER_DEFAULT + 6u * 1024 * 1024) / sizeof(chunk);
	for (unsigned i = 0; i < count; i++) {
		memset(chunk, (int)(i & 0xff), sizeof(chunk));
		g_assert_cmpint(pp_sctp_channel_send(ch, false, chunk, sizeof(chunk)), ==, 0);
		sent++;
	}
	for (int i = 0; i < 2000; i++)
		g_main_context_iteration(p.ctx, FALSE);
	n = p.side[1].msgs->len;
	g_assert_cmpuint(n, ==, 0);
	g_assert_cmpuint(pp_sctp_channel_buffered_amount(ch), >, 4u * 1024 * 1024);
	pp_sctp_pause_receive(p.side[1].s, false);
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == sent, 20000);
	expect_filled(&p.side[1], sent, sizeof(chunk));
	sctp_pair_free(&p);
}

/* A long path without loss (80 ms round trip in memory): T3 must never
 * expire. usrsctp's express SACK path did not restart T3 when the
 * cumulative ack moved, so under a steady transfer it expired every RTO
 * (400 ms) and cut cwnd to one packet (scripts/usrsctp-patches/0001). The
 * delay is far below the RTO, so only a stall of the test process for
 * 300 ms or more could make an expiry real. */
static void test_long_path_no_t3(void)
{
	struct sctp_pair p;
	struct pp_sctp_channel *ch = NULL;
	struct pp_sctp_totals t0, t1;
	static uint8_t chunk[16 * 1024];
	const unsigned count = 512; /* 8 MiB */
	gint64 start;

	if (!needs_patched_usrsctp())
		return;
	sctp_pair_init(&p, NULL, NULL);
	p.delay_ms = 40;
	sctp_pair_connect(&p);
	g_assert_cmpint(pp_sctp_channel_open(p.side[0].s, "long", "", NULL, &ch), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[1].opened->len == 1, 5000);
	pp_sctp_get_totals(&t0);
	start = g_get_monotonic_time();
	for (unsigned i = 0; i < count; i++) {
		memset(chunk, (int)(i & 0xff), sizeof(chunk));
		g_assert_cmpint(pp_sctp_channel_send(ch, false, chunk, sizeof(chunk)), ==, 0);
	}
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == count, 60000);
	pp_sctp_get_totals(&t1);
	g_test_message("8 MiB over an 80 ms round trip in %.2f s: %" G_GUINT64_FORMAT
	               " DATA chunks, %" G_GUINT64_FORMAT " retransmitted, %" G_GUINT64_FORMAT
	               " T3 expiries", (g_get_monotonic_time() - start) / 1e6,
	               t1.data_chunks_sent - t0.data_chunks_sent,
	               t1.chunks_retransmitted - t0.chunks_retransmitted,
	               t1.t3_expiries - t0.t3_expiries);
	g_assert_cmpuint(t1.data_chunks_sent - t0.data_chunks_sent, >=, count);
	g_assert_cmpuint(t1.t3_expiries - t0.t3_expiries, ==, 0);
	g_assert_cmpuint(t1.chunks_retransmitted - t0.chunks_retransmitted, ==, 0);
	expect_filled(&p.side[1], count, sizeof(chunk));
	sctp_pair_free(&p);
}

/* A pair with a 10 ms round trip and one channel open from side 0. */
static struct pp_sctp_channel *pair_with_channel(struct sctp_pair *p, const char *label)
{
	struct pp_sctp_channel *ch = NULL;

	sctp_pair_init(p, NULL, NULL);
	p->delay_ms = 5;
	sctp_pair_connect(p);
	g_assert_cmpint(pp_sctp_channel_open(p->side[0].s, label, "", NULL, &ch), ==, 0);
	SCTP_RUN_UNTIL(p, pp_sctp_channel_get_state(ch) == PP_SCTP_CHANNEL_OPEN, 5000);
	return ch;
}

/* The outage ends, and both sides hear so, as both peers do from ICE.
 * Returns when. */
static gint64 path_back_both(struct sctp_pair *p)
{
	p->dead = false;
	for (int i = 0; i < 2; i++)
		pp_sctp_path_back(p->side[i].s);
	return g_get_monotonic_time();
}

/* An outage long enough to back the retransmission timer off (expiries at
 * about 0.4, 1.2 and 2.8 s; the next one 3 s later, at rto_max_ms): once
 * the path works again and pp_sctp_path_back() says so on both sides (as
 * both peers do when ICE has the path back), what the outage held is
 * resent on the HEARTBEAT's answer: the first message arrives before T3
 * expires again (scripts/usrsctp-patches/0002; without it, data waits for
 * that expiry), and all of it arrives. */
static void test_path_back(void)
{
	struct sctp_pair p;
	struct pp_sctp_channel *ch;
	struct pp_sctp_totals t0, t1, t2;
	static uint8_t chunk[16 * 1024];
	const unsigned count = 64; /* 1 MiB */
	double first;
	gint64 back;

	if (!needs_patched_usrsctp())
		return;
	ch = pair_with_channel(&p, "outage");
	sctp_pair_run_for(&p, 100); /* the last SACKs */
	pp_sctp_get_totals(&t0);
	p.dead = true;
	for (unsigned i = 0; i < count; i++) {
		memset(chunk, (int)(i & 0xff), sizeof(chunk));
		g_assert_cmpint(pp_sctp_channel_send(ch, false, chunk, sizeof(chunk)), ==, 0);
	}
	sctp_pair_run_for(&p, 4500);
	pp_sctp_get_totals(&t1);
	g_assert_cmpuint(t1.t3_expiries - t0.t3_expiries, >=, 3);
	g_assert_cmpuint(p.side[1].msgs->len, ==, 0);
	back = path_back_both(&p);
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len > 0, 20000);
	first = (g_get_monotonic_time() - back) / 1e6;
	pp_sctp_get_totals(&t2);
	g_assert_cmpuint(t2.t3_expiries, ==, t1.t3_expiries);
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == count, 30000);
	g_test_message("outage of 4.5 s (%" G_GUINT64_FORMAT " T3 expiries): the first message "
	               "%.3f s after the path came back, all of 1 MiB after %.3f s (slow start "
	               "after the timeouts)",
	               t1.t3_expiries - t0.t3_expiries, first, (g_get_monotonic_time() - back) / 1e6);
	expect_filled(&p.side[1], count, sizeof(chunk));
	sctp_pair_free(&p);
}

/* usrsctp's congestion window toward the peer of side i. */
static uint32_t cwnd_of(struct sctp_pair *p, int i)
{
	struct pp_sctp *s = p->side[i].s;
	struct sctp_status st;
	socklen_t len = sizeof(st);

	memset(&st, 0, sizeof(st));
	pp_sctp_lock();
	g_assert_cmpint(usrsctp_getsockopt(s->sock, IPPROTO_SCTP, SCTP_STATUS, &st, &len), ==, 0);
	pp_sctp_unlock();
	return st.sstat_primary.spinfo_cwnd;
}

/* Timeouts in a row keep the ssthresh the first one set
 * (scripts/usrsctp-patches/0003, as RFC 5681 section 3.1 for TCP), and so
 * does the resend on the path's return (0002): after an outage of three
 * timeouts, slow start takes cwnd back up to half of what it was. Halving
 * again at each timeout left ssthresh at 4 packets, and cwnd grew by one
 * packet per round trip. Measured by data, not time: cwnd once 2 MiB
 * more has arrived after the path came back. */
static void test_outage_keeps_ssthresh(void)
{
	enum { BULK = 2048, AFTER = 128 }; /* 32 MiB, then 2 MiB, of 16 KiB */
	struct sctp_pair p;
	struct pp_sctp_channel *ch;
	struct pp_sctp_totals t0, t1;
	static uint8_t chunk[16 * 1024];
	uint32_t before, after, mtu = PP_SCTP_DEF_MTU;
	unsigned sent = 0;
	gint64 back;

	if (!needs_patched_usrsctp())
		return;
	ch = pair_with_channel(&p, "bulk");
	for (; sent < BULK; sent++) {
		g_assert_cmpint(pp_sctp_channel_send(ch, false, chunk, sizeof(chunk)), ==, 0);
		if (pp_sctp_channel_buffered_amount(ch) > (8u << 20))
			SCTP_RUN_UNTIL(&p, pp_sctp_channel_buffered_amount(ch) < (4u << 20), 60000);
	}
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == sent, 60000);
	before = cwnd_of(&p, 0);
	pp_sctp_get_totals(&t0);
	p.dead = true;
	for (; sent < BULK + AFTER; sent++)
		g_assert_cmpint(pp_sctp_channel_send(ch, false, chunk, sizeof(chunk)), ==, 0);
	sctp_pair_run_for(&p, 3000);
	pp_sctp_get_totals(&t1);
	g_assert_cmpuint(t1.t3_expiries - t0.t3_expiries, >=, 3);
	back = path_back_both(&p);
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == sent, 60000);
	after = cwnd_of(&p, 0);
	g_test_message("cwnd %u before a 3 s outage (%" G_GUINT64_FORMAT " timeouts), %u once the "
	               "2 MiB sent into it had arrived, %.3f s after the path came back",
	               before, t1.t3_expiries - t0.t3_expiries, after,
	               (g_get_monotonic_time() - back) / 1e6);
	/* From 4 packets in congestion avoidance, 2 MiB (1,800 packets) leave
	 * cwnd at most sqrt(2 x 1,800 + 16) = 61 packets; twice that means
	 * slow start ran. */
	g_assert_cmpuint(before, >=, 4 * 122 * mtu);
	g_assert_cmpuint(after, >=, 2 * 61 * mtu);
	sctp_pair_free(&p);
}

/* A fast retransmit ends its recovery on a SACK without gaps
 * (scripts/usrsctp-patches/0004). One DATA packet is lost; the next three
 * arrive, and their SACKs (with a gap) make side 0 retransmit it and enter
 * fast recovery, up to the last TSN sent by then. What side 0 sent before
 * the retransmission is held until it has passed, as when the path
 * changes under a transfer, so the first SACK without gaps acks less than
 * the recovery point and every later one takes usrsctp's express path,
 * which never left fast recovery: cwnd, which no SACK updates in
 * recovery, stayed where the retransmit set it for the rest of the
 * association's life (tunnel-restart's gateway-network-change: 0.8 MB/s
 * on loopback for 15 s). */
struct fr_filter {
	int phase;        /* 0: the next DATA packet is lost; 1: three pass;
	                   * 2: held until the retransmission; 3: done */
	uint32_t lost_tsn;
	unsigned passed, held;
};

static enum sctp_verdict fr_filter(struct sctp_pair *p, int from, const uint8_t *pkt, size_t len)
{
	struct fr_filter *f = p->filter_data;
	uint32_t tsn;

	if (from != 0 || !sctp_pair_first_tsn(pkt, len, &tsn))
		return SCTP_PASS;
	switch (f->phase) {
	case 0:
		f->lost_tsn = tsn;
		f->phase = 1;
		return SCTP_DROP;
	case 1:
		f->phase += ++f->passed == 3;
		return SCTP_PASS;
	case 2:
		if (tsn != f->lost_tsn) {
			f->held++;
			return SCTP_HOLD;
		}
		f->phase = 3; /* the retransmission: what was held follows it */
		return SCTP_PASS;
	default:
		return SCTP_PASS;
	}
}

static void test_fast_recovery_ends(void)
{
	enum { WARM = 512, MORE = 512 }; /* 8 MiB, then 8 MiB, of 16 KiB */
	struct sctp_pair p;
	struct pp_sctp_channel *ch;
	struct pp_sctp_totals t0, t1;
	struct fr_filter f = { 0 };
	static uint8_t chunk[16 * 1024];
	uint32_t in_recovery, after;
	unsigned sent = 0;

	if (!needs_patched_usrsctp())
		return;
	ch = pair_with_channel(&p, "recovery");
	for (; sent < WARM; sent++)
		g_assert_cmpint(pp_sctp_channel_send(ch, false, chunk, sizeof(chunk)), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == sent, 60000);
	pp_sctp_get_totals(&t0);
	p.filter = fr_filter;
	p.filter_data = &f;
	for (; sent < WARM + MORE; sent++)
		g_assert_cmpint(pp_sctp_channel_send(ch, false, chunk, sizeof(chunk)), ==, 0);
	SCTP_RUN_UNTIL(&p, f.phase == 3, 10000);
	sctp_pair_release(&p, 0);
	in_recovery = cwnd_of(&p, 0);
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == sent, 60000);
	after = cwnd_of(&p, 0);
	pp_sctp_get_totals(&t1);
	g_test_message("%u packets held behind the retransmission; cwnd %u in fast recovery, %u "
	               "once 8 MiB had arrived (%" G_GUINT64_FORMAT " fast retransmits, %"
	               G_GUINT64_FORMAT " timeouts)", f.held, in_recovery, after,
	               t1.fast_retransmits - t0.fast_retransmits, t1.t3_expiries - t0.t3_expiries);
	/* the case above, and no timeout, which ends any recovery */
	g_assert_cmpuint(f.held, >, 0);
	g_assert_cmpuint(t1.fast_retransmits - t0.fast_retransmits, >=, 1);
	g_assert_cmpuint(t1.t3_expiries - t0.t3_expiries, ==, 0);
	g_assert_cmpuint(after, >, in_recovery);
	sctp_pair_free(&p);
}

/* Channels sharing the association: usrsctp takes big messages in parts
 * (explicit EOR), so messages of other channels must wait their turn. */
static void test_bulk_channels(void)
{
	struct sctp_pair p;
	struct bulk b[3] = { { .total = 8u << 20, .msg = 65536 },
	                     { .total = 8u << 20, .msg = 200000 },
	                     { .total = 300000, .msg = 100 } };

	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	bulk_run(&p, b, 3);
	sctp_pair_free(&p);
}

/* Short-lived channels opened, used and closed by one side while a bulk
 * transfer runs the other way (stream resets racing with a full buffer). */
struct churn {
	struct sctp_pair *p;
	unsigned opened;
	bool stop;
};

static gboolean churn_tick(gpointer data)
{
	struct churn *c = data;
	struct pp_sctp_channel *ch;

	if (c->stop)
		return G_SOURCE_REMOVE;
	if (pp_sctp_channel_open(c->p->side[1].s, "churn", "", NULL, &ch) == 0) {
		g_assert_cmpint(pp_sctp_channel_send(ch, true, "hi", 2), ==, 0);
		g_assert_cmpint(pp_sctp_channel_close(ch), ==, 0);
		c->opened++;
	}
	return G_SOURCE_CONTINUE;
}

static void run_churn(bool bundle)
{
	struct pp_sctp_config cfg = { .bundle = bundle };
	struct sctp_pair p;
	struct bulk b = { .total = 32u << 20, .msg = 65536 };
	struct churn c = { .p = &p };
	struct pp_sctp_stats st[2];
	GSource *t;

	sctp_pair_init(&p, &cfg, &cfg);
	sctp_pair_connect(&p);
	t = g_timeout_source_new(2);
	g_source_set_callback(t, churn_tick, &c, NULL);
	g_source_attach(t, p.ctx);
	bulk_run(&p, &b, 1);
	c.stop = true;
	SCTP_RUN_UNTIL(&p, p.side[0].closed->len == c.opened && p.side[1].closed->len == c.opened,
	               10000);
	g_test_message("churn: %u channels opened and closed during the transfer", c.opened);
	g_assert_cmpuint(c.opened, >, 10);
	g_assert_cmpuint(p.side[0].msgs->len, ==, c.opened);
	for (int i = 0; i < 2; i++) {
		pp_sctp_get_stats(p.side[i].s, &st[i]);
		/* Bundles are still packets usrsctp could have built. */
		g_assert_cmpuint(p.side[i].max_packet, <=, st[i].path_packet);
	}
	g_assert_cmpuint(p.misordered, ==, 0);
	g_test_message("churn: %" G_GUINT64_FORMAT " + %" G_GUINT64_FORMAT " packets sent, %"
	               G_GUINT64_FORMAT " + %" G_GUINT64_FORMAT " joined another",
	               st[0].packets_sent, st[1].packets_sent, st[0].packets_bundled,
	               st[1].packets_bundled);
	if (bundle) /* the DATA, SACKs and RE-CONFIGs of each short channel */
		g_assert_cmpuint(st[0].packets_bundled + st[1].packets_bundled, >, c.opened);
	else
		g_assert_cmpuint(st[0].packets_bundled + st[1].packets_bundled, ==, 0);
	g_source_destroy(t);
	g_source_unref(t);
	sctp_pair_free(&p);
}

static void test_churn(void)
{
	run_churn(false);
}

/* pp_sctp_config.bundle: the same churn, with small packets sharing one. */
static void test_churn_bundled(void)
{
	run_churn(true);
}

/* Associations on two contexts run by two threads: usrsctp's timers for
 * both fire from their ticks, retransmissions included (lossy link). The
 * pairs outlive their threads, freed after both ended: a thread that
 * stopped running its context while its pair lived on must not hold the
 * other thread's timers (with one clock on the first association's
 * context, the other pair's last loss waited forever for its T3, 4 runs
 * of 20; sctp_clock.c). */
static gpointer bulk_thread(gpointer data)
{
	struct sctp_pair *p = data;
	struct bulk b = { .total = 16u << 20, .msg = 65536 };

	sctp_pair_connect(p);
	p->loss = 0.002;
	bulk_run(p, &b, 1);
	p->loss = 0;
	return NULL;
}

static void test_threads(void)
{
	struct pp_sctp_config c = { .rto_min_ms = 50, .rto_initial_ms = 100, .rto_max_ms = 400 };
	struct sctp_pair p[2];
	GThread *t[2];

	for (int i = 0; i < 2; i++)
		sctp_pair_init(&p[i], &c, &c);
	for (int i = 0; i < 2; i++)
		t[i] = g_thread_new("sctp-test", bulk_thread, &p[i]);
	for (int i = 0; i < 2; i++)
		g_thread_join(t[i]);
	g_test_message("threads: %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT " packets lost",
	               p[0].lost, p[1].lost);
	for (int i = 0; i < 2; i++)
		sctp_pair_free(&p[i]);
}

/* max_retransmits 0 on a lossy link: messages get lost, the sender never
 * blocks, and the association (and a reliable channel) keep working. */
struct lossy {
	unsigned got[8]; /* 1000-byte messages by stream id */
};

static void lossy_message(struct sctp_side *side, struct pp_sctp_channel *ch,
                          enum pp_sctp_kind kind, const uint8_t *data, size_t len)
{
	struct lossy *l = side->test;

	if (len == 1000 && pp_sctp_channel_id(ch) < G_N_ELEMENTS(l->got))
		l->got[pp_sctp_channel_id(ch)]++;
	else
		g_ptr_array_add(side->msgs, NULL); /* the reliable marker */
}

/* Sends n messages through a lossy link, paced only by buffered_amount,
 * then lets what usrsctp still holds drain loss-free; returns the count
 * that arrived. */
static unsigned lossy_run(struct sctp_pair *p, struct pp_sctp_channel *ch, unsigned n)
{
	struct lossy *l = p->side[1].test;
	unsigned *got = &l->got[pp_sctp_channel_id(ch)], last;
	uint8_t buf[1000] = { 0 };

	p->loss = 0.1;
	for (unsigned i = 0; i < n; i++) {
		g_assert_cmpint(pp_sctp_channel_send(ch, false, buf, sizeof(buf)), ==, 0);
		if (i % 100 == 99) /* let the link breathe */
			SCTP_RUN_UNTIL(p, pp_sctp_channel_buffered_amount(ch) < 64 * 1024, 10000);
	}
	/* Nothing stays stuck behind lost messages. */
	SCTP_RUN_UNTIL(p, pp_sctp_channel_buffered_amount(ch) == 0, 20000);
	/* Still lossy while usrsctp sends what its buffer took (all of it
	 * with 4 MiB buffers): until nothing new arrives for longer than the
	 * longest RTO here (400 ms). */
	do {
		last = *got;
		sctp_pair_run_for(p, 1000);
	} while (*got != last);
	p->loss = 0;
	do {
		last = *got;
		sctp_pair_run_for(p, 300);
	} while (*got != last);
	return last;
}

static void test_partial_reliability(void)
{
	struct sctp_pair p;
	struct lossy l = { { 0 } };
	struct pp_sctp_channel *pr, *rel;
	struct pp_sctp_channel_options o = { .unordered = true,
	                                     .reliability = PP_SCTP_MAX_RETRANSMITS, .value = 0 };
	struct pp_sctp_config c = { .rto_min_ms = 100, .rto_initial_ms = 200, .rto_max_ms = 400 };
	unsigned got;

	sctp_pair_init(&p, &c, &c);
	p.side[1].test = &l;
	p.side[1].hooks.on_message = lossy_message;
	g_ptr_array_set_free_func(p.side[1].msgs, NULL);
	sctp_pair_connect(&p);
	pr = sctp_pair_open(&p, 0, "pr", "", &o);
	rel = sctp_pair_open(&p, 0, "rel", "", NULL);
	got = lossy_run(&p, pr, 3000);
	g_test_message("partial reliability (0 retransmissions, 10%% loss): %u of 3000 arrived, "
	               "%" G_GUINT64_FORMAT " packets lost", got, p.lost);
	g_assert_cmpuint(got, <, 3000);
	g_assert_cmpuint(got, >, 1500);
	g_assert_cmpint(pp_sctp_channel_send(rel, true, "marker", 6), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == 1, 20000);
	g_assert_cmpint(p.side[0].state, ==, PP_SCTP_CONNECTED);

	/* The same with a lifetime (50 ms, under the minimum RTO). */
	o.reliability = PP_SCTP_MAX_LIFETIME;
	o.value = 50;
	pr = sctp_pair_open(&p, 0, "timed", "", &o);
	got = lossy_run(&p, pr, 500);
	g_test_message("partial reliability (50 ms lifetime, 10%% loss): %u of 500 arrived", got);
	g_assert_cmpuint(got, <=, 500);
	g_assert_cmpuint(got, >, 250);
	g_assert_cmpint(p.side[0].state, ==, PP_SCTP_CONNECTED);
	sctp_pair_free(&p);
}

/* Close from each side: everything sent before the close arrives first,
 * both sides see the channel closed, and the id is free again after. */
static void close_from(struct sctp_pair *p, int from, bool big)
{
	struct sctp_side *tx = &p->side[from], *rx = &p->side[1 - from];
	struct pp_sctp_channel *ch = sctp_pair_open(p, from, "c", "", NULL), *peer;
	uint16_t id = pp_sctp_channel_id(ch);
	size_t len = big ? 200000 : 100;
	unsigned count = big ? 40 : 100; /* big: 8 MB, most of it queued here */
	uint8_t *buf = g_malloc(len);

	peer = peer_channel(rx, id);
	g_assert_nonnull(peer);
	g_ptr_array_set_size(rx->msgs, 0);
	for (unsigned i = 0; i < count; i++) {
		fill(buf, len, i);
		g_assert_cmpint(pp_sctp_channel_send(ch, false, buf, len), ==, 0);
	}
	if (big)
		g_assert_cmpuint(pp_sctp_channel_buffered_amount(ch), >, 0);
	g_assert_cmpint(pp_sctp_channel_close(ch), ==, 0);
	g_assert_cmpint(pp_sctp_channel_send(ch, false, buf, len), ==, PP_ERR_STATE);
	SCTP_RUN_UNTIL(p, was_closed(tx, id) && was_closed(rx, id), 20000);
	g_assert_cmpuint(rx->msgs->len, ==, count);
	for (unsigned i = 0; i < count; i++) {
		fill(buf, len, i);
		check_msg(rx, i, id, PP_SCTP_BINARY, buf, len);
	}
	/* The id comes back. */
	ch = sctp_pair_open(p, from, "again", "", NULL);
	g_assert_cmpuint(pp_sctp_channel_id(ch), ==, id);
	g_assert_cmpint(pp_sctp_channel_send(ch, true, "x", 1), ==, 0);
	SCTP_RUN_UNTIL(p, rx->msgs->len == count + 1, 5000);
	pp_sctp_channel_close(peer_channel(rx, id)); /* and closed by the other side */
	SCTP_RUN_UNTIL(p, tx->closed->len == 2 && rx->closed->len == 2, 5000);
	g_array_set_size(tx->closed, 0);
	g_array_set_size(rx->closed, 0);
	g_free(buf);
}

static void run_close(bool bundle)
{
	struct pp_sctp_config cfg = { .bundle = bundle };
	struct sctp_pair p;

	sctp_pair_init(&p, &cfg, &cfg);
	sctp_pair_connect(&p);
	close_from(&p, 0, false);
	close_from(&p, 1, false);
	close_from(&p, 0, true);
	close_from(&p, 1, true);
	g_assert_cmpint(p.side[0].state, ==, PP_SCTP_CONNECTED);
	g_assert_cmpuint(p.misordered, ==, 0);
	/* With bundling, the side a reset reaches answers and resets its own
	 * half in one RE-CONFIG chunk: once per close, two closes (one from
	 * each side) per close_from(). */
	g_assert_cmpuint(p.reconf_pairs, ==, bundle ? 8 : 0);
	sctp_pair_free(&p);
}

static void test_close(void)
{
	run_close(false);
}

static void test_close_bundled(void)
{
	run_close(true);
}

/* Several channels closed at once: the resets are serialised. */
static void test_close_many(void)
{
	struct sctp_pair p;
	struct pp_sctp_channel *ch[8];

	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	for (int i = 0; i < 8; i++)
		ch[i] = sctp_pair_open(&p, i % 2, "many", "", NULL);
	for (int i = 0; i < 8; i++) {
		g_assert_cmpint(pp_sctp_channel_send(ch[i], true, "bye", 3), ==, 0);
		pp_sctp_channel_close(ch[i]);
	}
	SCTP_RUN_UNTIL(&p, p.side[0].closed->len == 8 && p.side[1].closed->len == 8, 10000);
	g_assert_cmpuint(p.side[0].msgs->len + p.side[1].msgs->len, ==, 8);
	g_assert_cmpuint(p.side[0].opened->len, ==, 0);
	sctp_pair_free(&p);
}

/* reset_batch_ms on the accepting side (the tunnel gateway's normal ends).
 * usrsctp puts a stream in a reset request only once everything sent on
 * it is acknowledged, so the tests close streams whose data is: what side
 * `from` sent is acknowledged once its peer's answer has arrived (a DATA
 * packet carries the SACK owed). */
static void exchange(struct sctp_pair *p, struct pp_sctp_channel **chs, unsigned n, int from)
{
	guint want[2] = { p->side[0].msgs->len + n, p->side[1].msgs->len + n };

	for (unsigned i = 0; i < n; i++)
		g_assert_cmpint(pp_sctp_channel_send(chs[i], true, "EOF", 3), ==, 0);
	SCTP_RUN_UNTIL(p, p->side[1 - from].msgs->len == want[1 - from], 5000);
	for (unsigned i = 0; i < n; i++) {
		struct sctp_msg *m = g_ptr_array_index(p->side[1 - from].msgs, want[1 - from] - n + i);
		struct pp_sctp_channel *back = peer_channel(&p->side[1 - from], m->id);
		g_assert_nonnull(back);
		g_assert_cmpint(pp_sctp_channel_send(back, true, "EOF", 3), ==, 0);
	}
	SCTP_RUN_UNTIL(p, p->side[from].msgs->len == want[from], 5000);
}

/* n channels opened by side 0; peer[] gets side 1's, each with its
 * messages acknowledged both ways. */
static void open_many(struct sctp_pair *p, struct pp_sctp_channel **peer, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct pp_sctp_channel *ch = sctp_pair_open(p, 0, "batch", "", NULL);
		peer[i] = peer_channel(&p->side[1], pp_sctp_channel_id(ch));
		g_assert_nonnull(peer[i]);
	}
	exchange(p, peer, n, 1);
}

static bool all_closed(const struct sctp_pair *p, guint n)
{
	return p->side[0].closed->len == n && p->side[1].closed->len == n;
}

/* The resets each side requested since the last call, and the streams
 * they listed. */
static void check_resets(struct sctp_pair *p, uint64_t requests, uint64_t streams)
{
	for (int i = 0; i < 2; i++) {
		g_assert_cmpuint(p->side[i].reset_requests, ==, requests);
		g_assert_cmpuint(p->side[i].reset_streams, ==, streams);
		p->side[i].reset_requests = p->side[i].reset_streams = 0;
		g_array_set_size(p->side[i].closed, 0);
	}
}

/* Six normal ends, each in a loop turn of its own: the acceptor's resets
 * wait for the batch's due time and leave as one request; the opener
 * answers with one response and one request of its own for the six.
 * Without batching each close is a request of its own. */
static void test_close_batched(void)
{
	struct pp_sctp_config opener = { .bundle = true };
	struct pp_sctp_config acceptor = { .bundle = true, .reset_batch_ms = 500 };
	struct pp_sctp_channel *peer[6];
	struct sctp_pair p;

	sctp_pair_init(&p, &opener, &acceptor);
	sctp_pair_connect(&p);
	open_many(&p, peer, 6);
	for (int i = 0; i < 6; i++) {
		g_assert_cmpint(pp_sctp_channel_close_batched(peer[i]), ==, 0);
		g_assert_cmpint(pp_sctp_channel_send(peer[i], true, "x", 1), ==, PP_ERR_STATE);
		for (int k = 0; k < 4; k++) /* turns that would send a reset */
			g_main_context_iteration(p.ctx, FALSE);
	}
	SCTP_RUN_UNTIL(&p, all_closed(&p, 6), 5000);
	check_resets(&p, 1, 6);
	g_assert_cmpuint(p.reconf_pairs, ==, 1);
	g_assert_cmpuint(p.misordered, ==, 0);
	sctp_pair_free(&p);
}

/* A batch that cannot wait for its due time (a minute here, longer than
 * SCTP_RUN_UNTIL allows): a close that cannot wait takes it along, and so
 * do a full batch, the peer's reset of a batched stream, and the
 * association's close. */
static void test_close_batched_early(void)
{
	struct pp_sctp_config opener = { .bundle = true };
	struct pp_sctp_config acceptor = { .bundle = true, .reset_batch_ms = 60000 };
	struct pp_sctp_channel *peer[PP_SCTP_RESET_BATCH_MAX], *ch;
	struct sctp_pair p;

	sctp_pair_init(&p, &opener, &acceptor);
	sctp_pair_connect(&p);

	open_many(&p, peer, 3);
	pp_sctp_channel_close_batched(peer[0]);
	pp_sctp_channel_close_batched(peer[1]);
	pp_sctp_channel_close(peer[2]);
	SCTP_RUN_UNTIL(&p, all_closed(&p, 3), 5000);
	check_resets(&p, 1, 3);

	open_many(&p, peer, PP_SCTP_RESET_BATCH_MAX);
	for (int i = 0; i < PP_SCTP_RESET_BATCH_MAX; i++)
		pp_sctp_channel_close_batched(peer[i]);
	SCTP_RUN_UNTIL(&p, all_closed(&p, PP_SCTP_RESET_BATCH_MAX), 5000);
	check_resets(&p, 1, PP_SCTP_RESET_BATCH_MAX);

	open_many(&p, peer, 1);
	pp_sctp_channel_close_batched(peer[0]);
	sctp_pair_run_for(&p, 50);
	g_assert_cmpuint(p.side[1].reset_requests, ==, 0); /* still waiting */
	ch = NULL;
	for (guint i = 0; i < p.side[0].opened->len; i++)
		ch = g_ptr_array_index(p.side[0].opened, i);
	g_assert_nonnull(ch);
	pp_sctp_channel_close(ch); /* the opener closes: ours answers at once */
	SCTP_RUN_UNTIL(&p, all_closed(&p, 1), 5000);
	check_resets(&p, 1, 1);

	open_many(&p, peer, 1);
	pp_sctp_channel_close_batched(peer[0]);
	pp_sctp_close(p.side[1].s);
	SCTP_RUN_UNTIL(&p, p.side[1].state == PP_SCTP_CLOSED, 5000);
	g_assert_cmpuint(p.side[1].reset_requests, ==, 1); /* before the SHUTDOWN */
	sctp_pair_free(&p);
}

/* dcep_ack_delay_ms on the accepting side: the DCEP ACK waits for the
 * first message on the channel and leaves ahead of it (one packet with
 * bundling), or for the channel's close, or alone once the delay is over. */
static struct pp_sctp_channel *open_unacked(struct sctp_pair *p, struct pp_sctp_channel **peer)
{
	struct pp_sctp_channel *ch = NULL;
	guint before = p->side[1].opened->len;

	g_assert_cmpint(pp_sctp_channel_open(p->side[0].s, "late-ack", "", NULL, &ch), ==, 0);
	SCTP_RUN_UNTIL(p, p->side[1].opened->len > before, 5000);
	*peer = g_ptr_array_index(p->side[1].opened, before);
	sctp_pair_run_for(p, 50); /* no ACK meanwhile */
	g_assert_cmpint(pp_sctp_channel_get_state(ch), ==, PP_SCTP_CHANNEL_OPENING);
	return ch;
}

/* From the loop, as an application's callback would: the context's
 * owner sends, so the packets can share one. */
static gboolean send_connected(gpointer ch)
{
	g_assert_cmpint(pp_sctp_channel_send(ch, true, "CONNECTED", 9), ==, 0);
	return G_SOURCE_REMOVE;
}

static void test_dcep_ack_delay(void)
{
	struct pp_sctp_config opener = { .bundle = true };
	struct pp_sctp_config acceptor = { .bundle = true, .dcep_ack_delay_ms = 300 };
	struct pp_sctp_channel *ch, *peer;
	struct pp_sctp_stats st0, st1;
	struct sctp_pair p;

	sctp_pair_init(&p, &opener, &acceptor);
	sctp_pair_connect(&p);

	/* a reply: the ACK goes first, in the reply's packet */
	ch = open_unacked(&p, &peer);
	pp_sctp_get_stats(p.side[1].s, &st0);
	GSource *idle = g_idle_source_new();
	g_source_set_callback(idle, send_connected, peer, NULL);
	g_source_attach(idle, p.ctx);
	g_source_unref(idle);
	SCTP_RUN_UNTIL(&p, p.side[0].msgs->len == 1, 5000);
	g_assert_cmpint(pp_sctp_channel_get_state(ch), ==, PP_SCTP_CHANNEL_OPEN);
	pp_sctp_get_stats(p.side[1].s, &st1);
	g_assert_cmpuint(st1.packets_sent - st0.packets_sent, ==, 1);

	/* nothing to say: the ACK alone, once the delay is over (open_unacked
	 * saw the channel still waiting for it) */
	ch = open_unacked(&p, &peer);
	SCTP_RUN_UNTIL(&p, pp_sctp_channel_get_state(ch) == PP_SCTP_CHANNEL_OPEN, 5000);

	/* closed unanswered: ACK, then the reset, both sides end */
	ch = open_unacked(&p, &peer);
	uint16_t id = pp_sctp_channel_id(ch);
	g_assert_cmpint(pp_sctp_channel_close(peer), ==, 0);
	SCTP_RUN_UNTIL(&p, was_closed(&p.side[0], id) && was_closed(&p.side[1], id), 5000);
	g_assert_cmpuint(p.misordered, ==, 0);
	sctp_pair_free(&p);
}

/* A stream the peer reused before our reset's response came (the old
 * channel ends at the OPEN, pp_sctp_channel_reused) refuses every message
 * until that response: usrsctp says EAGAIN as if it were full. The new
 * channel's ACK waits there, and the messages other channels had to
 * queue must not wait behind it. */
static void test_reused_stream_holds_nobody(void)
{
	struct pp_sctp_config cfg = { .rto_min_ms = 50, .rto_initial_ms = 100, .rto_max_ms = 400 };
	struct sctp_pair p;
	struct pp_sctp_channel *y, *x, *x2 = NULL, *x2_at_a;
	struct pp_sctp_stats st_a, st_b;
	static uint8_t block[16384];
	/* more than usrsctp's send buffer takes, so that y's channel queues */
	const int blocks = (int)(PP_SCTP_BUFFER_DEFAULT / sizeof(block)) + 64;
	uint64_t want = 0, before;

	sctp_pair_init(&p, &cfg, &cfg);
	sctp_pair_connect(&p);
	y = sctp_pair_open(&p, 0, "y", "", NULL); /* A's, id 0 */
	x = sctp_pair_open(&p, 1, "x", "", NULL); /* B's, id 1 */
	g_assert_cmpuint(pp_sctp_channel_id(x), ==, 1);
	p.drop_responses[1] = true; /* A's reset of 1 is never answered */
	g_assert_cmpint(pp_sctp_channel_close(x), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[1].closed->len == 1, 5000);
	g_assert_cmpint(pp_sctp_channel_open(p.side[1].s, "x2", "", NULL, &x2), ==, 0);
	g_assert_cmpuint(pp_sctp_channel_id(x2), ==, 1); /* the lowest free id: reused */
	/* A: the OPEN ends the old channel and opens the new one */
	SCTP_RUN_UNTIL(&p, p.side[0].closed->len == 1 && p.side[0].opened->len == 2, 5000);
	x2_at_a = g_ptr_array_index(p.side[0].opened, 1); /* after y */
	g_assert_cmpuint(pp_sctp_channel_id(x2_at_a), ==, 1);
	g_assert_cmpuint(p.responses_dropped, >, 0);
	/* the ACK and a message on 1 wait first; y's bulk then fills usrsctp
	 * and queues behind them */
	g_assert_cmpint(pp_sctp_channel_send(x2_at_a, true, "on 1", 4), ==, 0);
	pp_sctp_get_stats(p.side[1].s, &st_b);
	before = st_b.bytes_received;
	for (int i = 0; i < blocks; i++) {
		memset(block, i, sizeof(block));
		g_assert_cmpint(pp_sctp_channel_send(y, false, block, sizeof(block)), ==, 0);
		want += sizeof(block);
	}
	g_assert_cmpuint(pp_sctp_channel_buffered_amount(y), >, 0);
	SCTP_RUN_UNTIL(&p, (pp_sctp_get_stats(p.side[1].s, &st_b), st_b.bytes_received - before == want),
	               20000);
	pp_sctp_get_stats(p.side[0].s, &st_a);
	g_test_message("reused: %" G_GUINT64_FORMAT " flushes went past the held stream, %"
	               G_GUINT64_FORMAT " responses dropped", st_a.sends_held, p.responses_dropped);
	g_assert_cmpuint(st_a.sends_held, >, 0);
	g_assert_cmpint(pp_sctp_channel_get_state(x2), ==, PP_SCTP_CHANNEL_OPENING); /* still held */
	/* more bulk on y, and the response comes in while usrsctp has part of
	 * one of y's messages: the held channel must not go ahead of that
	 * message's rest (usrsctp would refuse its ACK as an error, not
	 * EAGAIN, and the ACK would be dropped) */
	for (int i = 0; i < blocks; i++) {
		memset(block, i, sizeof(block));
		g_assert_cmpint(pp_sctp_channel_send(y, false, block, sizeof(block)), ==, 0);
		want += sizeof(block);
	}
	SCTP_RUN_UNTIL(&p, p.side[0].s->locked == y && x2_at_a->in_sendq, 20000);
	g_assert_nonnull(p.last_dropped[1]);
	p.drop_responses[1] = false;
	pp_sctp_feed(p.side[0].s, g_bytes_get_data(p.last_dropped[1], NULL),
	             g_bytes_get_size(p.last_dropped[1]));
	SCTP_RUN_UNTIL(&p, pp_sctp_channel_get_state(x2) == PP_SCTP_CHANNEL_OPEN, 10000);
	SCTP_RUN_UNTIL(&p, (pp_sctp_get_stats(p.side[1].s, &st_b), st_b.bytes_received - before == want + 4),
	               20000);
	g_assert_cmpuint(p.side[1].msgs->len, >, 0);
	struct sctp_msg *last_on_1 = NULL;
	for (guint i = 0; i < p.side[1].msgs->len; i++) {
		struct sctp_msg *m = g_ptr_array_index(p.side[1].msgs, i);
		if (m->id == 1)
			last_on_1 = m;
	}
	g_assert_nonnull(last_on_1);
	g_assert_cmpmem(g_bytes_get_data(last_on_1->data, NULL), g_bytes_get_size(last_on_1->data),
	                "on 1", 4);
	sctp_pair_free(&p);
}

static void test_oversized(void)
{
	struct sctp_pair p;
	struct pp_sctp_config small = { .max_message_size = 64 * 1024 };
	struct pp_sctp_channel *ch, *other;
	uint8_t *buf = g_malloc0(262145);

	sctp_pair_init(&p, NULL, &small);
	sctp_pair_connect(&p);
	ch = sctp_pair_open(&p, 0, "big", "", NULL);
	other = sctp_pair_open(&p, 0, "other", "", NULL);
	g_assert_cmpint(pp_sctp_channel_send(ch, false, buf, 262145), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_sctp_channel_send(peer_channel(&p.side[1], 0), false, buf, 65537), ==,
	                PP_ERR_TOO_BIG);
	/* B takes at most 64 KiB: a larger message closes that channel. */
	g_assert_cmpint(pp_sctp_channel_send(ch, false, buf, 65536), ==, 0);
	g_assert_cmpint(pp_sctp_channel_send(ch, false, buf, 100000), ==, 0);
	SCTP_RUN_UNTIL(&p, was_closed(&p.side[0], 0) && was_closed(&p.side[1], 0), 10000);
	g_assert_cmpuint(p.side[1].msgs->len, ==, 1);
	/* The association and the other channel are fine. */
	g_assert_cmpint(pp_sctp_channel_send(other, true, "still here", 10), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == 2, 5000);
	g_free(buf);
	sctp_pair_free(&p);
}

static void test_garbage(void)
{
	struct sctp_pair p;
	struct pp_sctp_channel *ch;
	struct pp_sctp_stats st;
	uint8_t pkt[1500];
	GRand *r = g_rand_new_with_seed(1);

	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	ch = sctp_pair_open(&p, 0, "g", "", NULL);
	g_assert_cmpint(pp_sctp_feed(p.side[1].s, pkt, 0), ==, PP_ERR_TRUNCATED);
	g_assert_cmpint(pp_sctp_feed(p.side[1].s, pkt, 11), ==, PP_ERR_TRUNCATED);
	for (int i = 0; i < 2000; i++) {
		size_t len = 12 + (size_t)g_rand_int_range(r, 0, (gint32)sizeof(pkt) - 12);
		for (size_t k = 0; k < len; k++)
			pkt[k] = (uint8_t)g_rand_int(r);
		if (i % 2 == 0) {
			g_assert_cmpint(pp_sctp_feed(p.side[1].s, pkt, len), ==, PP_ERR_INVALID);
		} else {
			/* A valid CRC over junk reaches usrsctp: it must cope. */
			uint32_t c;
			memset(pkt + 8, 0, 4);
			if (i % 4 == 1) /* our ports and a chunk type that exists */
				memcpy(pkt, "\x13\x88\x13\x88", 4), pkt[12] = (uint8_t)(i % 16);
			c = pp_sctp_crc32c(pkt, len);
			pkt[8] = (uint8_t)c, pkt[9] = (uint8_t)(c >> 8);
			pkt[10] = (uint8_t)(c >> 16), pkt[11] = (uint8_t)(c >> 24);
			g_assert_cmpint(pp_sctp_feed(p.side[1].s, pkt, len), ==, 0);
		}
		if (i % 100 == 0)
			g_main_context_iteration(p.ctx, FALSE);
	}
	pp_sctp_get_stats(p.side[1].s, &st);
	g_assert_cmpuint(st.bad_packets, ==, 1002);
	g_assert_cmpint(pp_sctp_channel_send(ch, true, "ok", 2), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == 1, 5000);
	g_assert_cmpint(p.side[1].state, ==, PP_SCTP_CONNECTED);
	g_rand_free(r);
	sctp_pair_free(&p);
}

static void test_peer_gone(void)
{
	struct pp_sctp_config c = { .rto_initial_ms = 100, .rto_min_ms = 50, .rto_max_ms = 200,
	                            .max_retransmits = 3, .max_init_retransmits = 3,
	                            .heartbeat_ms = 200 };
	struct sctp_pair p;
	struct pp_sctp_channel *ch;
	gint64 t0;

	sctp_pair_init(&p, &c, &c);
	sctp_pair_connect(&p);
	ch = sctp_pair_open(&p, 0, "g", "", NULL);
	sctp_pair_drop_side(&p, 1);
	p.dead = true;
	t0 = g_get_monotonic_time();
	g_assert_cmpint(pp_sctp_channel_send(ch, true, "anyone?", 7), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[0].end_events == 1, 20000);
	g_assert_cmpint(p.side[0].state, ==, PP_SCTP_FAILED);
	g_assert_true(was_closed(&p.side[0], 0)); /* channels end with it */
	g_assert_cmpint(pp_sctp_get_state(p.side[0].s), ==, PP_SCTP_FAILED);
	g_test_message("peer gone: failure reported after %.2f s",
	               (g_get_monotonic_time() - t0) / 1e6);
	/* ch is gone with its on_channel_closed; no new channel either. */
	g_assert_cmpint(pp_sctp_channel_open(p.side[0].s, "late", "", NULL, &ch), ==, PP_ERR_STATE);
	sctp_pair_free(&p);

	/* Nobody answers the INIT at all. */
	sctp_pair_init(&p, &c, &c);
	p.dead = true;
	g_assert_cmpint(pp_sctp_connect(p.side[0].s), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[0].end_events == 1, 20000);
	g_assert_cmpint(p.side[0].state, ==, PP_SCTP_FAILED);
	g_assert_cmpuint(p.side[0].up_events, ==, 0);
	sctp_pair_free(&p);
}

static void test_shutdown(void)
{
	struct sctp_pair p;
	struct pp_sctp_channel *ch;
	uint8_t *buf = g_malloc0(200000);

	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	ch = sctp_pair_open(&p, 0, "s", "", NULL);
	for (int i = 0; i < 20; i++)
		g_assert_cmpint(pp_sctp_channel_send(ch, false, buf, 200000), ==, 0);
	g_assert_cmpint(pp_sctp_close(p.side[0].s), ==, 0);
	g_assert_cmpint(pp_sctp_channel_send(ch, false, buf, 1), ==, PP_ERR_STATE);
	SCTP_RUN_UNTIL(&p, p.side[0].end_events == 1 && p.side[1].end_events == 1, 10000);
	g_assert_cmpint(p.side[0].state, ==, PP_SCTP_CLOSED);
	g_assert_cmpint(p.side[1].state, ==, PP_SCTP_CLOSED);
	g_assert_cmpuint(p.side[1].msgs->len, ==, 20); /* all delivered first */
	g_assert_true(was_closed(&p.side[0], 0) && was_closed(&p.side[1], 0));
	g_free(buf);
	sctp_pair_free(&p);
}

/* Freeing the association from inside its own callbacks. */
static void free_on_message(struct sctp_side *side, struct pp_sctp_channel *ch,
                            enum pp_sctp_kind kind, const uint8_t *data, size_t len)
{
	pp_sctp_free(side->s);
	side->s = NULL;
}

static void test_free_in_callback(void)
{
	struct sctp_pair p;
	struct pp_sctp_channel *ch;

	sctp_pair_init(&p, NULL, NULL);
	p.side[1].hooks.on_message = free_on_message;
	sctp_pair_connect(&p);
	ch = sctp_pair_open(&p, 0, "f", "", NULL);
	for (int i = 0; i < 10; i++)
		g_assert_cmpint(pp_sctp_channel_send(ch, true, "die", 3), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[1].s == NULL, 5000);
	sctp_pair_run_for(&p, 50);
	sctp_pair_free(&p);

	/* And from inside send_packet, that is from inside usrsctp. */
	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	ch = sctp_pair_open(&p, 0, "f", "", NULL);
	p.side[0].free_on_send = true;
	g_assert_cmpint(pp_sctp_channel_send(ch, true, "die", 3), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[0].s == NULL, 5000);
	sctp_pair_run_for(&p, 50);
	g_assert_cmpuint(p.side[0].end_events, ==, 0); /* no callback after free */
	sctp_pair_free(&p);
}

/* Path MTU discovery (sctp_pmtu.c) over the in-memory link. The link's
 * max_len stands for the path's MTU; the limit given to
 * pp_sctp_set_path_limit() for what the route claims. */
#define PMTU_BASE 1163u /* path_mtu 1151 + the 12-byte common header */
#define PMTU_LIMIT 16320u

static struct pp_sctp_stats stats_of(const struct sctp_pair *p, int i)
{
	struct pp_sctp_stats st;

	pp_sctp_get_stats(p->side[i].s, &st);
	return st;
}

static size_t path_of(const struct sctp_pair *p, int i)
{
	return pp_sctp_path_packet(p->side[i].s);
}

static bool both_at(const struct sctp_pair *p, size_t size)
{
	return path_of(p, 0) == size && path_of(p, 1) == size;
}

static void pmtu_limit_both(struct sctp_pair *p, size_t limit)
{
	for (int i = 0; i < 2; i++)
		pp_sctp_set_path_limit(p->side[i].s, limit);
}

/* A 4 MB transfer A->B; the packets A sent for it (the channel's open
 * included), and the largest. */
/* 4 MiB from side 0 in messages of msg bytes. */
static uint64_t pmtu_transfer_msgs(struct sctp_pair *p, size_t msg, size_t *max_packet)
{
	struct bulk b = { .total = 4u << 20, .msg = msg };
	uint64_t before = p->side[0].packets;

	p->side[0].max_packet = 0;
	bulk_run(p, &b, 1);
	*max_packet = p->side[0].max_packet;
	return p->side[0].packets - before;
}

static uint64_t pmtu_transfer(struct sctp_pair *p, size_t *max_packet)
{
	return pmtu_transfer_msgs(p, 64 * 1024, max_packet);
}

/* A clean path: both sides end at the limit, and the same transfer takes
 * far fewer packets than at the base size. */
static void test_pmtu_raise(void)
{
	struct sctp_pair p;
	struct pp_sctp_stats st;
	uint64_t base_packets, big_packets;
	size_t base_max, big_max;

	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	g_assert_cmpuint(path_of(&p, 0), ==, PMTU_BASE);
	base_packets = pmtu_transfer(&p, &base_max);
	g_assert_cmpuint(base_max, <=, PMTU_BASE);
	for (int i = 0; i < 2; i++) {
		st = stats_of(&p, i);
		g_assert_cmpuint(st.pmtu_probes_sent, ==, 0);
		g_assert_cmpuint(st.path_packet, ==, PMTU_BASE);
	}
	sctp_pair_free(&p);

	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	pmtu_limit_both(&p, PMTU_LIMIT);
	SCTP_RUN_UNTIL(&p, both_at(&p, PMTU_LIMIT), 20000);
	for (int i = 0; i < 2; i++) {
		st = stats_of(&p, i);
		g_assert_cmpuint(st.path_packet, ==, PMTU_LIMIT);
		g_assert_cmpuint(st.pmtu_probes_sent, >=, 1);
		g_assert_cmpuint(st.pmtu_probes_acked, >=, 1);
		g_assert_cmpuint(st.pmtu_probes_acked, <=, st.pmtu_probes_sent);
		g_assert_cmpuint(p.side[i].max_packet, ==, PMTU_LIMIT); /* the probe */
		g_assert_cmpuint(st.bad_packets, ==, 0);
	}
	big_packets = pmtu_transfer(&p, &big_max);
	g_assert_cmpuint(big_max, >, PMTU_BASE);
	g_assert_cmpuint(big_max, <=, PMTU_LIMIT);
	g_test_message("path MTU: 4 MB in %" G_GUINT64_FORMAT " packets of up to %zu bytes, "
	               "%" G_GUINT64_FORMAT " of up to %zu at the base",
	               big_packets, big_max, base_packets, base_max);
	g_assert_cmpuint(big_packets * 4, <, base_packets);
	g_assert_cmpint(p.side[0].state, ==, PP_SCTP_CONNECTED);
	sctp_pair_free(&p);
}

/* The path takes 1432 bytes at most: the limit and 8912 fail after
 * PP_SCTP_PROBE_TRIES probes each, 1432 is answered. */
static void test_pmtu_ladder(void)
{
	struct pp_sctp_config c = { .pmtu_probe_ms = 20 };
	struct sctp_pair p;
	struct pp_sctp_stats st;
	size_t max;

	sctp_pair_init(&p, &c, &c);
	p.max_len[0] = p.max_len[1] = 1432;
	sctp_pair_connect(&p);
	pmtu_limit_both(&p, PMTU_LIMIT);
	SCTP_RUN_UNTIL(&p, both_at(&p, 1432), 20000);
	for (int i = 0; i < 2; i++) {
		st = stats_of(&p, i);
		g_assert_cmpuint(p.too_big[i], ==, 2 * 3); /* 16320 and 8912, 3 tries */
		g_assert_cmpuint(st.pmtu_probes_sent, >=, 2 * 3 + 1);
		g_assert_cmpuint(st.pmtu_probes_acked, >=, 1);
	}
	/* Messages of 1,300 bytes: each fits one chunk above the base size
	 * (usrsctp cuts longer ones at the base fragmentation point, and two
	 * such chunks do not fit 1432 together). */
	pmtu_transfer_msgs(&p, 1300, &max);
	g_assert_cmpuint(max, >, PMTU_BASE);
	g_assert_cmpuint(max, <=, 1432);
	for (int i = 0; i < 2; i++) {
		g_assert_cmpuint(p.too_big[i], ==, 2 * 3); /* no data packet too big */
		g_assert_cmpuint(path_of(&p, i), ==, 1432);
	}
	sctp_pair_free(&p);
}

/* Both sides settled at the limit, the bulk transfer of `set` under way
 * (512 KiB through). */
static void transfer_at_limit(struct sctp_pair *p, const struct pp_sctp_config *c,
                              struct bulk_set *set)
{
	sctp_pair_init(p, c, c);
	sctp_pair_connect(p);
	pmtu_limit_both(p, PMTU_LIMIT);
	SCTP_RUN_UNTIL(p, both_at(p, PMTU_LIMIT), 20000);
	bulk_setup(p, set);
	bulk_pump(set->b);
	SCTP_RUN_UNTIL(p, set->b->received >= 512 * 1024, 20000);
}

/* Each side seen back at the base after the path shrank. */
struct black_hole {
	const struct sctp_pair *p;
	bool fell[2];
};

static bool black_hole_seen(struct black_hole *w)
{
	for (int i = 0; i < 2; i++)
		if (path_of(w->p, i) == PMTU_BASE)
			w->fell[i] = true;
	return w->fell[0] && w->fell[1];
}

/* Settled at the limit with a transfer under way, the path shrinks to
 * 1432 between two messages (nothing in flight): the confirmation fails,
 * both sides go back to the base, search again (limit - 4 and 8912 fail)
 * and settle at 1432, and the transfer goes on intact. */
static void test_pmtu_black_hole(void)
{
	struct pp_sctp_config c = { .pmtu_probe_ms = 20, .pmtu_confirm_ms = 200 };
	struct sctp_pair p;
	struct bulk b = { .total = 8u << 20, .msg = 64 * 1024 };
	struct bulk_set set = { &b, 1 };
	struct black_hole w = { .p = &p };
	uint64_t probes[2];

	transfer_at_limit(&p, &c, &set);
	b.hold = true;
	SCTP_RUN_UNTIL(&p, b.received == b.sent && pp_sctp_channel_buffered_amount(b.ch) == 0,
	               20000);
	g_assert_cmpuint(b.sent, <, b.total);
	for (int i = 0; i < 2; i++) {
		p.max_len[i] = 1432;
		probes[i] = stats_of(&p, i).pmtu_probes_sent;
	}
	SCTP_RUN_UNTIL(&p, black_hole_seen(&w), 20000);
	b.hold = false;
	bulk_pump(&b);
	SCTP_RUN_UNTIL(&p, both_at(&p, 1432) && bulk_done(&set), 60000);
	bulk_check(&p, &set);
	for (int i = 0; i < 2; i++) {
		struct pp_sctp_stats st = stats_of(&p, i);
		/* 3 confirmations of 16320, 3 of 16316 and of 8912, 1432 */
		g_assert_cmpuint(st.pmtu_probes_sent - probes[i], >=, 3 + 3 + 3 + 1);
		g_assert_cmpuint(p.too_big[i], >=, 3 + 3 + 3);
		g_assert_cmpint(p.side[i].state, ==, PP_SCTP_CONNECTED);
	}
	sctp_pair_free(&p);
}

/* Settled at the limit with a transfer under way, the path goes down
 * altogether (an outage: nothing gets through either way) for several
 * confirmation periods, then comes back. Neither side takes the lost
 * confirmations for a black hole (its base-size probes go unanswered
 * too), so the size stays at the limit and the transfer, whose DATA
 * chunks were built for it, goes on intact once the path is back. With
 * the size lowered the chunks built larger were held back in usrsctp
 * until the next confirmation. */
static void test_pmtu_outage(void)
{
	struct pp_sctp_config c = { .pmtu_probe_ms = 20, .pmtu_confirm_ms = 200 };
	struct sctp_pair p;
	struct bulk b = { .total = 8u << 20, .msg = 64 * 1024 };
	struct bulk_set set = { &b, 1 };
	uint64_t probes[2];

	transfer_at_limit(&p, &c, &set);
	for (int i = 0; i < 2; i++)
		probes[i] = stats_of(&p, i).pmtu_probes_sent;
	p.dead = true;
	/* Several confirmation periods: each side's confirmations and base
	 * checks fail, more than once. */
	for (int t = 0; t < 15; t++) {
		sctp_pair_run_for(&p, 100);
		g_assert_true(both_at(&p, PMTU_LIMIT));
	}
	for (int i = 0; i < 2; i++) {
		uint64_t n = stats_of(&p, i).pmtu_probes_sent - probes[i];
		g_test_message("outage: side %d sent %" G_GUINT64_FORMAT " probes", i, n);
		g_assert_cmpuint(n, >=, 2 * (3 + 3));
	}
	p.dead = false;
	SCTP_RUN_UNTIL(&p, bulk_done(&set), 60000);
	bulk_check(&p, &set);
	for (int i = 0; i < 2; i++) {
		g_assert_cmpuint(path_of(&p, i), ==, PMTU_LIMIT);
		g_assert_cmpint(p.side[i].state, ==, PP_SCTP_CONNECTED);
	}
	sctp_pair_free(&p);
}

static bool both_checking_again(const struct sctp_pair *p)
{
	return p->side[0].s->pmtu.check == PP_SCTP_CHECK_AGAIN &&
	       p->side[1].s->pmtu.check == PP_SCTP_CHECK_AGAIN;
}

/* The path is whole again between a confirmation's stages: its size lost,
 * the base answered, and the size answered once more. Not a black hole:
 * the size stays (the outage ended between the probes). */
static void test_pmtu_outage_ends_in_check(void)
{
	struct pp_sctp_config c = { .pmtu_probe_ms = 20, .pmtu_confirm_ms = 100 };
	struct sctp_pair p;

	sctp_pair_init(&p, &c, &c);
	sctp_pair_connect(&p);
	pmtu_limit_both(&p, PMTU_LIMIT);
	SCTP_RUN_UNTIL(&p, both_at(&p, PMTU_LIMIT), 20000);
	for (int i = 0; i < 2; i++)
		p.max_len[i] = 1432; /* the confirmations are lost, the base is not */
	SCTP_RUN_UNTIL(&p, both_checking_again(&p), 20000);
	for (int i = 0; i < 2; i++)
		p.max_len[i] = 0;
	SCTP_RUN_UNTIL(&p, p.side[0].s->pmtu.check == PP_SCTP_CHECK_SIZE &&
	                   p.side[1].s->pmtu.check == PP_SCTP_CHECK_SIZE, 20000);
	sctp_pair_run_for(&p, 300); /* a confirmation period or more */
	for (int i = 0; i < 2; i++) {
		g_assert_cmpuint(path_of(&p, i), ==, PMTU_LIMIT);
		g_assert_cmpuint(p.side[i].s->pmtu.limit, ==, PMTU_LIMIT);
	}
	sctp_pair_free(&p);
}

/* A limit of 0 after a raise: back to the base at once, no more probes,
 * no packet above the base. A new limit searches again. */
static void test_pmtu_reset(void)
{
	struct pp_sctp_config c = { .pmtu_probe_ms = 20, .pmtu_confirm_ms = 50 };
	struct sctp_pair p;
	struct pp_sctp_stats st;
	uint64_t probes;
	size_t max;

	sctp_pair_init(&p, &c, &c);
	sctp_pair_connect(&p);
	pmtu_limit_both(&p, PMTU_LIMIT);
	SCTP_RUN_UNTIL(&p, both_at(&p, PMTU_LIMIT), 20000);
	pp_sctp_set_path_limit(p.side[0].s, 0);
	g_assert_cmpuint(path_of(&p, 0), ==, PMTU_BASE);
	st = stats_of(&p, 0);
	g_assert_cmpuint(st.path_packet, ==, PMTU_BASE);
	probes = st.pmtu_probes_sent;
	pmtu_transfer(&p, &max);
	g_assert_cmpuint(max, <=, PMTU_BASE);
	sctp_pair_run_for(&p, 200); /* several confirmation periods */
	g_assert_cmpuint(stats_of(&p, 0).pmtu_probes_sent, ==, probes);
	g_assert_cmpuint(path_of(&p, 1), ==, PMTU_LIMIT); /* B's own path stays */

	pp_sctp_set_path_limit(p.side[0].s, PMTU_LIMIT);
	SCTP_RUN_UNTIL(&p, path_of(&p, 0) == PMTU_LIMIT, 20000);
	g_assert_cmpuint(stats_of(&p, 0).pmtu_probes_sent, >, probes);
	/* Another path: back to the base at once, then up to its limit. */
	pp_sctp_set_path_limit(p.side[0].s, 8000);
	g_assert_cmpuint(path_of(&p, 0), ==, PMTU_BASE);
	SCTP_RUN_UNTIL(&p, path_of(&p, 0) == 8000, 20000);
	sctp_pair_free(&p);
}

/* A limit at or below the base: no probe at all, nothing above the base. */
static void test_pmtu_no_probe(void)
{
	static const size_t limits[] = { 0, 1, 64, 1160, PMTU_BASE - 1, PMTU_BASE };
	struct pp_sctp_config c = { .pmtu_probe_ms = 20, .pmtu_confirm_ms = 50 };
	struct pp_sctp_config big = { .pmtu_probe_ms = 20, .pmtu_confirm_ms = 50,
	                              .path_mtu = 1400 };
	struct sctp_pair p;
	size_t max;

	pp_sctp_set_path_limit(NULL, PMTU_LIMIT);
	sctp_pair_init(&p, &c, &c);
	sctp_pair_connect(&p);
	for (size_t k = 0; k < G_N_ELEMENTS(limits); k++) {
		pmtu_limit_both(&p, limits[k]);
		sctp_pair_run_for(&p, 100);
		for (int i = 0; i < 2; i++) {
			g_assert_cmpuint(stats_of(&p, i).pmtu_probes_sent, ==, 0);
			g_assert_cmpuint(path_of(&p, i), ==, PMTU_BASE);
		}
	}
	pmtu_transfer(&p, &max);
	g_assert_cmpuint(max, <=, PMTU_BASE);
	g_assert_cmpuint(p.side[1].max_packet, <=, PMTU_BASE);
	g_assert_cmpuint(stats_of(&p, 0).pmtu_probes_sent, ==, 0);
	sctp_pair_free(&p);

	/* A larger base (1412): 1412 is no limit, 1432 gives one probe. */
	sctp_pair_init(&p, &big, &big);
	sctp_pair_connect(&p);
	g_assert_cmpuint(path_of(&p, 0), ==, 1412);
	pmtu_limit_both(&p, 1412);
	sctp_pair_run_for(&p, 100);
	g_assert_cmpuint(stats_of(&p, 0).pmtu_probes_sent, ==, 0);
	g_assert_cmpuint(p.side[0].max_packet, <=, 1412);
	pmtu_limit_both(&p, 1432);
	SCTP_RUN_UNTIL(&p, both_at(&p, 1432), 20000);
	g_assert_cmpuint(stats_of(&p, 0).pmtu_probes_sent, >=, 1);
	g_assert_cmpuint(p.side[0].max_packet, ==, 1432);
	sctp_pair_free(&p);
}

/* The limit given before pp_sctp_connect(), with the context run in
 * between: the search starts once the association is up (the timer
 * waits while it is NEW). */
static void test_pmtu_before_connect(void)
{
	struct pp_sctp_config c = { .pmtu_probe_ms = 20 };
	struct sctp_pair p;

	sctp_pair_init(&p, &c, &c);
	pmtu_limit_both(&p, PMTU_LIMIT);
	sctp_pair_run_for(&p, 50);
	sctp_pair_connect(&p);
	SCTP_RUN_UNTIL(&p, both_at(&p, PMTU_LIMIT), 20000);
	sctp_pair_free(&p);
}

/* usrsctp is finished once no association is left, and comes back. */
static void test_library_lifecycle(void)
{
	struct sctp_pair p;
	GMainContext *ctx;

	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	ctx = g_main_context_ref(p.ctx);
	sctp_pair_free(&p); /* the timer lives on ctx, still referenced here */
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (pp_sctp_library_active() && g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, TRUE);
	g_assert_false(pp_sctp_library_active());
	g_main_context_unref(ctx);
	sctp_pair_init(&p, NULL, NULL);
	sctp_pair_connect(&p);
	sctp_pair_open(&p, 1, "back", "", NULL);
	sctp_pair_free(&p);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	pp_log_setup("test_sctp", g_getenv("PP_SCTP_DEBUG") ? PP_LOG_DEBUG : PP_LOG_ERROR,
	             PP_LOG_TEXT);
	g_test_add_func("/sctp/crc32c", test_crc32c);
	g_test_add_func("/sctp/connect", test_connect);
	g_test_add_func("/sctp/channels_both_sides", test_channels_both_sides);
	g_test_add_func("/sctp/messages", test_messages);
	g_test_add_func("/sctp/bulk", test_bulk);
	g_test_add_func("/sctp/bulk_channels", test_bulk_channels);
	g_test_add_func("/sctp/pause_receive", test_pause_receive);
	g_test_add_func("/sctp/long_path_no_t3", test_long_path_no_t3);
	g_test_add_func("/sctp/path_back", test_path_back);
	g_test_add_func("/sctp/outage_keeps_ssthresh", test_outage_keeps_ssthresh);
	g_test_add_func("/sctp/fast_recovery_ends", test_fast_recovery_ends);
	g_test_add_func("/sctp/churn", test_churn);
	g_test_add_func("/sctp/churn_bundled", test_churn_bundled);
	g_test_add_func("/sctp/threads", test_threads);
	g_test_add_func("/sctp/partial_reliability", test_partial_reliability);
	g_test_add_func("/sctp/close", test_close);
	g_test_add_func("/sctp/close_bundled", test_close_bundled);
	g_test_add_func("/sctp/dcep_ack_delay", test_dcep_ack_delay);
	g_test_add_func("/sctp/close_many", test_close_many);
	g_test_add_func("/sctp/close_batched", test_close_batched);
	g_test_add_func("/sctp/close_batched_early", test_close_batched_early);
	g_test_add_func("/sctp/reused_stream_holds_nobody", test_reused_stream_holds_nobody);
	g_test_add_func("/sctp/oversized", test_oversized);
	g_test_add_func("/sctp/garbage", test_garbage);
	g_test_add_func("/sctp/peer_gone", test_peer_gone);
	g_test_add_func("/sctp/shutdown", test_shutdown);
	g_test_add_func("/sctp/free_in_callback", test_free_in_callback);
	g_test_add_func("/sctp/pmtu_raise", test_pmtu_raise);
	g_test_add_func("/sctp/pmtu_ladder", test_pmtu_ladder);
	g_test_add_func("/sctp/pmtu_black_hole", test_pmtu_black_hole);
	g_test_add_func("/sctp/pmtu_outage", test_pmtu_outage);
	g_test_add_func("/sctp/pmtu_outage_ends_in_check", test_pmtu_outage_ends_in_check);
	g_test_add_func("/sctp/pmtu_reset", test_pmtu_reset);
	g_test_add_func("/sctp/pmtu_no_probe", test_pmtu_no_probe);
	g_test_add_func("/sctp/pmtu_before_connect", test_pmtu_before_connect);
	g_test_add_func("/sctp/library_lifecycle", test_library_lifecycle);
	return g_test_run();
}
