/* SPDX-License-Identifier: Apache-2.0 */
/* Bundling rules (sctp_bundle.c) on hand-made packets: what joins the
 * packet held for the loop turn and what goes on its own. The association
 * is a bare struct pp_sctp with bundling on and a send_packet that keeps
 * copies; usrsctp is not involved. */
#include "../../../src/lib/rtc/be.h"
#include "../../../src/lib/rtc/sctp_priv.h"

#include <glib.h>
#include <string.h>

enum { DATA = 0, SACK = 3, RECONFIG = 130 };
enum { PARAM_OUT_RESET = 13, PARAM_RESPONSE = 16 };

struct bundler {
	struct pp_sctp s;
	GPtrArray *sent; /* GBytes, in order */
};

static int keep_packet(void *user, const uint8_t *data, size_t len)
{
	struct bundler *b = user;

	g_ptr_array_add(b->sent, g_bytes_new(data, len));
	return 0;
}

static void bundler_init(struct bundler *b)
{
	memset(b, 0, sizeof(*b));
	b->s.cfg.bundle = true;
	b->s.cfg.path_mtu = 1188;
	b->s.cb.send_packet = keep_packet;
	b->s.user = b;
	b->sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
}

static void bundler_free(struct bundler *b)
{
	g_free(b->s.held);
	g_ptr_array_free(b->sent, TRUE);
}

/* A packet under construction: the common header, then chunks. */
struct pkt {
	uint8_t d[512];
	size_t len;
};

static void pkt_start(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	pp_put_be16(p->d, 5000);
	pp_put_be16(p->d + 2, 5000);
	pp_put_be32(p->d + 4, 0xc0ffee);
	p->len = 12;
}

/* A SACK acknowledging everything up to cum_tsn, no gaps. */
static void pkt_sack(struct pkt *p, uint32_t cum_tsn)
{
	uint8_t *c = p->d + p->len;

	c[0] = SACK;
	pp_put_be16(c + 2, 16);
	pp_put_be32(c + 4, cum_tsn);
	pp_put_be32(c + 8, 1 << 20); /* a_rwnd */
	p->len += 16;
}

/* A RE-CONFIG chunk with one parameter of type param for stream sid. */
static void pkt_reconfig(struct pkt *p, uint16_t param, uint16_t sid)
{
	uint8_t *c = p->d + p->len;
	uint16_t plen = param == PARAM_OUT_RESET ? 18 : 12; /* request: one stream */

	c[0] = RECONFIG;
	pp_put_be16(c + 2, (uint16_t)(4 + plen));
	pp_put_be16(c + 4, param);
	pp_put_be16(c + 6, plen);
	pp_put_be32(c + 8, 77); /* sequence numbers */
	if (param == PARAM_OUT_RESET) {
		pp_put_be32(c + 12, 78);
		pp_put_be32(c + 16, 1000);
		pp_put_be16(c + 20, sid);
	} else {
		pp_put_be32(c + 12, 1); /* performed */
	}
	p->len += (4 + plen + 3) & ~3u;
}

static void pkt_data(struct pkt *p, uint16_t sid, size_t payload)
{
	uint8_t *c = p->d + p->len;

	c[0] = DATA;
	c[1] = 3; /* B and E */
	pp_put_be16(c + 2, (uint16_t)(16 + payload));
	pp_put_be16(c + 8, sid);
	memset(c + 16, 'x', payload);
	p->len += (16 + payload + 3) & ~(size_t)3;
}

/* Hands p to the bundler as usrsctp's output callback would (a copy: the
 * bundler may keep it). */
static void out(struct bundler *b, const struct pkt *p)
{
	uint8_t copy[sizeof(p->d)];

	memcpy(copy, p->d, p->len);
	pp_sctp_bundle_out(&b->s, copy, p->len);
}

/* A packet that is only a SACK up to cum_tsn, handed to the bundler. */
static void out_sack(struct bundler *b, uint32_t cum_tsn)
{
	struct pkt p;

	pkt_start(&p);
	pkt_sack(&p, cum_tsn);
	out(b, &p);
}

/* The chunk types of sent packet i, in order ("130 3"...). */
static char *chunk_types(struct bundler *b, guint i)
{
	gsize len;
	const uint8_t *d = g_bytes_get_data(g_ptr_array_index(b->sent, i), &len);
	GString *s = g_string_new(NULL);

	for (size_t off = 12; off + 4 <= len;) {
		size_t clen = pp_be16(d + off + 2);
		g_string_append_printf(s, "%s%u", s->len ? " " : "", d[off]);
		g_assert_cmpuint(clen, >=, 4);
		off += (clen + 3) & ~(size_t)3;
	}
	return g_string_free(s, FALSE);
}

static void assert_sent(struct bundler *b, guint i, const char *types)
{
	char *got;

	g_assert_cmpuint(b->sent->len, >, i);
	got = chunk_types(b, i);
	g_assert_cmpstr(got, ==, types);
	g_free(got);
}

/* The cumulative TSN of the only SACK in sent packet i. */
static uint32_t sent_cum_tsn(struct bundler *b, guint i)
{
	gsize len;
	const uint8_t *d = g_bytes_get_data(g_ptr_array_index(b->sent, i), &len);

	for (size_t off = 12; off + 4 <= len; off += (pp_be16(d + off + 2) + 3) & ~3u)
		if (d[off] == SACK)
			return pp_be32(d + off + 4);
	g_assert_not_reached();
}

/* A SACK-only packet after a reset's packet in the same turn: its SACK
 * replaces the older one there, one packet leaves. Once: a third SACK
 * (a turn reading many data packets) goes on its own. */
static void test_sack_after_reconfig(void)
{
	struct bundler b;
	struct pkt p;

	bundler_init(&b);
	pkt_start(&p);
	pkt_reconfig(&p, PARAM_RESPONSE, 4);
	pkt_sack(&p, 10);
	out(&b, &p);
	out_sack(&b, 12);
	g_assert_cmpuint(b.sent->len, ==, 0);
	pp_sctp_flush_output(&b.s);
	g_assert_cmpuint(b.sent->len, ==, 1);
	assert_sent(&b, 0, "130 3");
	g_assert_cmpuint(sent_cum_tsn(&b, 0), ==, 12);
	g_assert_cmpuint(b.s.stats.packets_bundled, ==, 1);

	pkt_start(&p);
	pkt_reconfig(&p, PARAM_RESPONSE, 6);
	pkt_sack(&p, 20);
	out(&b, &p);
	for (uint32_t tsn = 22; tsn <= 24; tsn += 2)
		out_sack(&b, tsn);
	pp_sctp_flush_output(&b.s);
	g_assert_cmpuint(b.sent->len, ==, 3);
	assert_sent(&b, 1, "130 3");
	g_assert_cmpuint(sent_cum_tsn(&b, 1), ==, 22);
	assert_sent(&b, 2, "3");
	g_assert_cmpuint(sent_cum_tsn(&b, 2), ==, 24);
	bundler_free(&b);
}

/* usrsctp's own order, the SACK before the RE-CONFIG: a later SACK would
 * move after the RE-CONFIG, so the peer would see the reset before the
 * acknowledgement. It goes on its own. */
static void test_sack_before_reconfig_kept(void)
{
	struct bundler b;
	struct pkt p;

	bundler_init(&b);
	pkt_start(&p);
	pkt_sack(&p, 10);
	pkt_reconfig(&p, PARAM_OUT_RESET, 2);
	out(&b, &p);
	out_sack(&b, 12);
	pp_sctp_flush_output(&b.s);
	g_assert_cmpuint(b.sent->len, ==, 2);
	assert_sent(&b, 0, "3 130");
	assert_sent(&b, 1, "3");
	bundler_free(&b);
}

/* Two SACK-only packets stay two: in a bulk transfer each SACK grows the
 * sender's window and counts toward fast retransmit. */
static void test_sacks_not_thinned(void)
{
	struct bundler b;

	bundler_init(&b);
	out_sack(&b, 10);
	out_sack(&b, 14);
	pp_sctp_flush_output(&b.s);
	g_assert_cmpuint(b.sent->len, ==, 2);
	g_assert_cmpuint(sent_cum_tsn(&b, 0), ==, 10);
	g_assert_cmpuint(sent_cum_tsn(&b, 1), ==, 14);
	bundler_free(&b);
}

/* The closing exchange: a response (with a SACK), then our own reset
 * request (with a newer SACK) become one RE-CONFIG chunk with both
 * parameters and the newer SACK; a SACK-only packet after that joins too. */
static void test_reset_pair_then_sack(void)
{
	struct bundler b;
	struct pkt p;
	gsize len;
	const uint8_t *d;

	bundler_init(&b);
	pkt_start(&p);
	pkt_reconfig(&p, PARAM_RESPONSE, 4);
	pkt_sack(&p, 20);
	out(&b, &p);
	pkt_start(&p);
	pkt_reconfig(&p, PARAM_OUT_RESET, 4);
	pkt_sack(&p, 21);
	out(&b, &p);
	out_sack(&b, 23);
	pp_sctp_flush_output(&b.s);
	g_assert_cmpuint(b.sent->len, ==, 1);
	assert_sent(&b, 0, "130 3");
	g_assert_cmpuint(sent_cum_tsn(&b, 0), ==, 23);
	d = g_bytes_get_data(g_ptr_array_index(b.sent, 0), &len);
	g_assert_cmpuint(pp_be16(d + 16), ==, PARAM_RESPONSE);
	g_assert_cmpuint(pp_be16(d + 16 + 12), ==, PARAM_OUT_RESET);
	bundler_free(&b);
}

/* Nothing control follows DATA: a SACK after a reset's packet that
 * already took DATA goes in a packet of its own. */
static void test_no_sack_after_data(void)
{
	struct bundler b;
	struct pkt p;

	bundler_init(&b);
	pkt_start(&p);
	pkt_reconfig(&p, PARAM_OUT_RESET, 2);
	pkt_data(&p, 6, 20);
	out(&b, &p);
	out_sack(&b, 30);
	pp_sctp_flush_output(&b.s);
	g_assert_cmpuint(b.sent->len, ==, 2);
	assert_sent(&b, 0, "130 0");
	assert_sent(&b, 1, "3");
	bundler_free(&b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sctp_bundle/sack_after_reconfig", test_sack_after_reconfig);
	g_test_add_func("/sctp_bundle/sack_before_reconfig_kept", test_sack_before_reconfig_kept);
	g_test_add_func("/sctp_bundle/sacks_not_thinned", test_sacks_not_thinned);
	g_test_add_func("/sctp_bundle/reset_pair_then_sack", test_reset_pair_then_sack);
	g_test_add_func("/sctp_bundle/no_sack_after_data", test_no_sack_after_data);
	return g_test_run();
}
