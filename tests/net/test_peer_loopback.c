/* SPDX-License-Identifier: Apache-2.0 */
/* Two peer connections in one process over 127.0.0.1: the whole stack
 * (ICE, DTLS, SCTP, channels) with real sockets, signaling by direct calls. */
#include "peer_side.h"
#include "peerpipe/error.h"
#include "peerpipe/rtc/dtls.h"
#include "peerpipe/rtc/identity.h"
#include "peerpipe/rtc/peer.h"

#include <glib.h>
#include <openssl/evp.h>
#include <string.h>

static GMainContext *ctx;
static size_t pair_max_datagram; /* pp_peer_config.max_datagram of connect_pair() */

/* Side.signal: straight into the other side's peer */
static void signal_direct(Side *from, const char *type, const char *text)
{
	if (type)
		g_assert_cmpint(pp_peer_set_remote_description(from->other->pc, type, text, strlen(text)), ==,
		                0);
	else
		pp_peer_add_remote_candidate(from->other->pc, text);
}

static gboolean run_until(gboolean (*done)(Side *, Side *), Side *a, Side *b, int ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	while (!done(a, b) && g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, TRUE);
	return done(a, b);
}

static gboolean both_connected(Side *a, Side *b)
{
	return a->state == PP_PEER_CONNECTED && b->state == PP_PEER_CONNECTED;
}

static gboolean one_failed(Side *a, Side *b)
{
	return a->state == PP_PEER_FAILED || b->state == PP_PEER_FAILED;
}

static void connect_pair(Side *a, Side *b)
{
	side_init(a, "offerer", b, ctx, signal_direct);
	side_init(b, "answerer", a, ctx, signal_direct);
	a->cfg.max_datagram = b->cfg.max_datagram = pair_max_datagram;
	side_peer(a, pp_identity_fingerprint(b->id));
	side_peer(b, pp_identity_fingerprint(a->id));
	g_assert_cmpint(pp_peer_create_offer(a->pc), ==, 0);
	gint64 t0 = g_get_monotonic_time();
	g_assert_true(run_until(both_connected, a, b, 10000));
	g_test_message("connected in %.1f ms", (g_get_monotonic_time() - t0) / 1000.0);
	g_assert_true(pp_fingerprint_equal(pp_peer_remote_fingerprint(a->pc), pp_identity_fingerprint(b->id)));
	g_assert_true(pp_fingerprint_equal(pp_peer_remote_fingerprint(b->pc), pp_identity_fingerprint(a->id)));
}

static gboolean b_has_channel(Side *a, Side *b)
{
	(void)a;
	return b->channel != NULL;
}

static gboolean b_has_messages(Side *a, Side *b)
{
	(void)a;
	return b->messages->len >= 4;
}

static void test_connect_and_messages(void)
{
	Side a, b;
	connect_pair(&a, &b);
	/* where each side's datagrams come from: the other's socket */
	char addr[PP_ICE_ADDR_TEXT_MAX], want[PP_ICE_ADDR_TEXT_MAX];
	const char *type = NULL;
	g_assert_cmpint(pp_peer_remote_address(a.pc, addr, &type), ==, 0);
	g_assert_cmpstr(type, ==, "host");
	g_assert_true(g_str_has_prefix(addr, "127.0.0.1:"));
	g_assert_cmpint(pp_peer_remote_address(b.pc, want, &type), ==, 0);
	g_assert_true(g_str_has_prefix(want, "127.0.0.1:"));
	g_assert_cmpstr(addr, !=, want); /* two sockets, two ports */
	g_test_message("a sees b at %s, b sees a at %s", addr, want);
	struct pp_sctp_channel *ch = NULL;
	g_assert_cmpint(pp_peer_channel_open(a.pc, "peerpipe-control", "peerpipe.control.v1", NULL, &ch), ==, 0);
	g_assert_true(run_until(b_has_channel, &a, &b, 5000));
	g_assert_cmpstr(pp_sctp_channel_label(b.channel), ==, "peerpipe-control");
	g_assert_cmpstr(pp_sctp_channel_protocol(b.channel), ==, "peerpipe.control.v1");

	/* 1 byte, empty, 64 KiB, 256 KiB (max-message-size) */
	static const size_t sizes[] = { 1, 0, 65536, 262144 };
	guint8 *buf = g_malloc(262144);
	for (size_t i = 0; i < 262144; i++)
		buf[i] = (guint8)(i * 7 + 3);
	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		while (a.channel == NULL && g_main_context_iteration(ctx, FALSE))
			;
		int rc = pp_sctp_channel_send(ch, false, buf, sizes[i]);
		g_assert_cmpint(rc, ==, 0);
	}
	g_assert_true(run_until(b_has_messages, &a, &b, 10000));
	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		gsize len;
		const guint8 *got = g_bytes_get_data(g_ptr_array_index(b.messages, i), &len);
		g_assert_cmpuint(len, ==, sizes[i]);
		if (len)
			g_assert_cmpmem(got, len, buf, sizes[i]);
	}
	/* one byte over the limit is refused */
	g_assert_cmpint(pp_sctp_channel_send(ch, false, buf, 262145), ==, PP_ERR_TOO_BIG);
	g_free(buf);
	side_free(&a);
	side_free(&b);
}

static void test_unpinned_refused(void)
{
	Side a, b;
	struct pp_identity *stranger;
	side_init(&a, "offerer", &b, ctx, signal_direct);
	side_init(&b, "answerer", &a, ctx, signal_direct);
	g_assert_cmpint(pp_identity_new_ephemeral(&stranger), ==, 0);
	side_peer(&a, pp_identity_fingerprint(b.id));
	side_peer(&b, pp_identity_fingerprint(stranger)); /* b pins someone else */
	g_assert_cmpint(pp_peer_create_offer(a.pc), ==, 0);
	g_assert_true(run_until(one_failed, &a, &b, 15000));
	g_assert_cmpint(b.state, ==, PP_PEER_FAILED);
	g_assert_nonnull(strstr(b.reason, "pin"));
	g_assert_cmpint(a.state, !=, PP_PEER_CONNECTED);
	pp_identity_free(stranger);
	side_free(&a);
	side_free(&b);
}

/* A configuration the DTLS layer would refuse makes no peer at all, so
 * no offer can fail on it later. */
static void test_config_refused(void)
{
	static const struct pp_peer_callbacks none = { 0 };
	Side a, b;
	struct pp_fingerprint *many = g_new0(struct pp_fingerprint, PP_DTLS_PINS_MAX + 1);

	side_init(&a, "offerer", &b, ctx, signal_direct);
	side_init(&b, "answerer", &a, ctx, signal_direct);
	for (size_t i = 0; i <= PP_DTLS_PINS_MAX; i++)
		many[i] = *pp_identity_fingerprint(b.id);
	a.cfg.pins = many;
	a.cfg.n_pins = PP_DTLS_PINS_MAX + 1;
	g_assert_null(pp_peer_new(ctx, &a.cfg, &none, &a));
	a.cfg.n_pins = PP_DTLS_PINS_MAX;
	a.pc = pp_peer_new(ctx, &a.cfg, &none, &a);
	g_assert_nonnull(a.pc);
	a.cfg.n_pins = 0; /* no pins and not allow_unpinned */
	g_assert_null(pp_peer_new(ctx, &a.cfg, &none, &a));
	g_free(many);
	side_free(&a);
	side_free(&b);
}

static gboolean b_closed(Side *a, Side *b)
{
	return b->state == PP_PEER_CLOSED && a->state == PP_PEER_CLOSED;
}

static gboolean b_saw_close(Side *a, Side *b)
{
	(void)a;
	return b->closed_channels > 0;
}

/* A channel closed by one side closes on both; then an orderly close of
 * the whole connection reaches the other side as CLOSED, not FAILED. */
static void test_close(void)
{
	Side a, b;
	connect_pair(&a, &b);
	struct pp_sctp_channel *ch = NULL;
	g_assert_cmpint(pp_peer_channel_open(a.pc, "db", "peerpipe.tcp.v1", NULL, &ch), ==, 0);
	g_assert_true(run_until(b_has_channel, &a, &b, 5000));
	g_assert_cmpint(pp_sctp_channel_send(ch, true, "last words", 10), ==, 0);
	g_assert_cmpint(pp_sctp_channel_close(ch), ==, 0);
	g_assert_true(run_until(b_saw_close, &a, &b, 5000));
	g_assert_cmpuint(b.messages->len, ==, 1); /* sent before the close: delivered */
	pp_peer_close(a.pc);
	g_assert_true(run_until(b_closed, &a, &b, 5000));
	side_free(&a);
	side_free(&b);
}

/* The answerer (the DTLS client: it answers a=setup:active) opens a channel
 * too, with an even stream id (RFC 8832 §6), then 100 MB cross on it with
 * backpressure, checked by SHA-256. */
#define BULK_TOTAL (100u << 20)
#define BULK_MSG 65536
#define BULK_HIGH (2u << 20)

static gsize bulk_sent;
static guint8 *bulk_buf;
static EVP_MD_CTX *bulk_send_hash;

static void bulk_pump(struct pp_sctp_channel *ch)
{
	while (bulk_sent < BULK_TOTAL && pp_sctp_channel_buffered_amount(ch) < BULK_HIGH) {
		const guint8 *p = bulk_buf + (bulk_sent / BULK_MSG % 16) * 4096;
		g_assert_cmpint(pp_sctp_channel_send(ch, false, p, BULK_MSG), ==, 0);
		EVP_DigestUpdate(bulk_send_hash, p, BULK_MSG);
		bulk_sent += BULK_MSG;
	}
}

static gboolean a_has_channel(Side *a, Side *b)
{
	(void)b;
	return a->channel != NULL;
}

static gboolean a_has_all(Side *a, Side *b)
{
	(void)b;
	return a->rx_bytes >= BULK_TOTAL;
}

/* 100 MB from the answerer; expect_packet: the SCTP packet size both ends
 * use at the end (1163: the base; 16320: raised by path MTU probes on
 * 127.0.0.1, max_datagram 16384). */
static void answerer_channel_bulk(size_t max_datagram, size_t expect_packet)
{
	Side a, b;
	pair_max_datagram = max_datagram;
	connect_pair(&a, &b);
	pair_max_datagram = 0;
	struct pp_sctp_channel *ch = NULL;
	g_assert_cmpint(pp_peer_channel_open(b.pc, "bulk", "peerpipe.tcp.v1", NULL, &ch), ==, 0);
	g_assert_cmpuint(pp_sctp_channel_id(ch) % 2, ==, 0);
	g_assert_true(run_until(a_has_channel, &a, &b, 5000));
	g_assert_cmpstr(pp_sctp_channel_label(a.channel), ==, "bulk");

	bulk_buf = g_malloc(BULK_MSG + 16 * 4096);
	for (gsize i = 0; i < BULK_MSG + 16 * 4096; i++)
		bulk_buf[i] = (guint8)(i * 131 + (i >> 9));
	bulk_sent = 0;
	bulk_send_hash = EVP_MD_CTX_new();
	EVP_DigestInit_ex(bulk_send_hash, EVP_sha256(), NULL);
	a.rx_hash = EVP_MD_CTX_new();
	EVP_DigestInit_ex(a.rx_hash, EVP_sha256(), NULL);
	gint64 t0 = g_get_monotonic_time();
	while (a.rx_bytes < BULK_TOTAL && g_get_monotonic_time() - t0 < 120 * G_USEC_PER_SEC) {
		bulk_pump(ch);
		g_assert_cmpuint(pp_sctp_channel_buffered_amount(ch), <=, BULK_HIGH + BULK_MSG);
		g_main_context_iteration(ctx, TRUE);
	}
	g_assert_true(a_has_all(&a, &b));
	g_test_message("100 MB in %.2f s", (g_get_monotonic_time() - t0) / 1e6);
	guint8 d1[32], d2[32];
	EVP_DigestFinal_ex(bulk_send_hash, d1, NULL);
	EVP_DigestFinal_ex(a.rx_hash, d2, NULL);
	g_assert_cmpmem(d1, 32, d2, 32);
	g_assert_cmpuint(pp_peer_path_packet(a.pc), ==, expect_packet);
	g_assert_cmpuint(pp_peer_path_packet(b.pc), ==, expect_packet);
	EVP_MD_CTX_free(bulk_send_hash);
	g_free(bulk_buf);
	side_free(&a);
	side_free(&b);
}

static void test_answerer_channel_bulk(void)
{
	answerer_channel_bulk(0, 1163);
}

static void test_answerer_channel_bulk_large_packets(void)
{
	answerer_channel_bulk(16384, 16320);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/peer/connect-and-messages", test_connect_and_messages);
	g_test_add_func("/peer/unpinned-refused", test_unpinned_refused);
	g_test_add_func("/peer/config-refused", test_config_refused);
	g_test_add_func("/peer/close", test_close);
	g_test_add_func("/peer/answerer-channel-bulk", test_answerer_channel_bulk);
	g_test_add_func("/peer/answerer-channel-bulk-large-packets",
	                test_answerer_channel_bulk_large_packets);
	return side_run_tests(&ctx);
}
