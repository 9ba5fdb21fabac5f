/* SPDX-License-Identifier: Apache-2.0 */
#include "sctp_pair.h"

#include <string.h>

void sctp_msg_free(gpointer p)
{
	struct sctp_msg *m = p;

	g_bytes_unref(m->data);
	g_free(m);
}

static guint sctp_pair_now_ms(void)
{
	return (guint)(g_get_monotonic_time() / 1000);
}

/* With a delay: the packet at the head of side i's queue is due. */
static bool sctp_pair_due(struct sctp_pair *p, int i, guint now)
{
	return !p->delay_ms || (gint)(now - GPOINTER_TO_UINT(g_queue_peek_head(&p->due[i]))) >= 0;
}

static gboolean sctp_pair_deliver(gpointer data)
{
	struct sctp_pair *p = data;
	guint now = sctp_pair_now_ms();
	GBytes *b;

	/* Everything queued now (and due), both ways; new packets wait for
	 * the next round, as they would on a wire. */
	guint n[2] = { p->q[0].length, p->q[1].length };
	for (int i = 0; i < 2; i++)
		for (guint k = 0; k < n[i] && sctp_pair_due(p, i, now) &&
		                  (b = g_queue_pop_head(&p->q[i]));
		     k++) {
			gsize len;
			const uint8_t *d = g_bytes_get_data(b, &len);
			if (p->delay_ms)
				(void)g_queue_pop_head(&p->due[i]);
			if (p->side[i].s)
				pp_sctp_feed(p->side[i].s, d, len);
			g_bytes_unref(b);
		}
	if (p->q[0].length || p->q[1].length)
		return G_SOURCE_CONTINUE;
	g_source_unref(p->idle);
	p->idle = NULL;
	return G_SOURCE_REMOVE;
}

/* The outgoing reset requests (RFC 6525 §4.1) in one RE-CONFIG chunk of
 * clen bytes (what the packet holds of it); true when it holds a
 * response (§4.4). */
static bool sctp_pair_count_resets(struct sctp_side *side, const uint8_t *ch, size_t clen)
{
	bool response = false;

	for (size_t po = 4; po + 4 <= clen;) {
		size_t plen = (size_t)ch[po + 2] << 8 | ch[po + 3];
		if (ch[po] == 0 && ch[po + 1] == 13 && plen >= 16) {
			side->reset_requests++;
			side->reset_streams += (plen - 16) / 2;
		}
		response |= ch[po] == 0 && ch[po + 1] == 16;
		if (plen < 4)
			break;
		po += (plen + 3) & ~(size_t)3;
	}
	return response;
}

/* One walk over the chunks of a packet side sends: false when a control
 * chunk follows DATA (RFC 9260 §6.10: control chunks come first); counts
 * the RE-CONFIG chunks that carry a response and then a request (13
 * after 16), and the reset requests. */
static bool sctp_pair_inspect(struct sctp_side *side, const uint8_t *pkt, size_t len,
                              bool *response)
{
	bool data = false, ordered = true;

	for (size_t off = 12; off + 4 <= len;) {
		size_t clen = (size_t)pkt[off + 2] << 8 | pkt[off + 3];
		bool is_data = pkt[off] == 0 || pkt[off] == 64;
		if (data && !is_data)
			ordered = false;
		data |= is_data;
		if (pkt[off] == 130) {
			if (clen >= 20 && off + 20 <= len && pkt[off + 5] == 16 &&
			    pkt[off + 7] == 12 && pkt[off + 17] == 13)
				side->pair->reconf_pairs++;
			*response |= sctp_pair_count_resets(side, pkt + off, MIN(clen, len - off));
		}
		if (clen < 4)
			break;
		off += (clen + 3) & ~(size_t)3;
	}
	return ordered;
}

/* b (taken) goes on its way to side `to`. */
static void sctp_pair_enqueue(struct sctp_pair *p, int to, GBytes *b)
{
	g_queue_push_tail(&p->q[to], b);
	if (p->delay_ms)
		g_queue_push_tail(&p->due[to], GUINT_TO_POINTER(sctp_pair_now_ms() + p->delay_ms));
	if (!p->idle) {
		p->idle = p->delay_ms ? g_timeout_source_new(1) : g_idle_source_new();
		g_source_set_priority(p->idle, G_PRIORITY_DEFAULT);
		g_source_set_callback(p->idle, sctp_pair_deliver, p, NULL);
		g_source_attach(p->idle, p->ctx);
	}
}

static int sctp_pair_send(void *user, const uint8_t *data, size_t len)
{
	struct sctp_side *side = user;
	struct sctp_pair *p = side->pair;

	bool response = false;

	side->packets++;
	if (!sctp_pair_inspect(side, data, len, &response))
		p->misordered++;
	if (len > side->max_packet)
		side->max_packet = len;
	if (side->free_on_send && side->s) {
		pp_sctp_free(side->s); /* deferred: we are inside usrsctp */
		side->s = NULL;
	}
	if (p->max_len[side->idx] && len > p->max_len[side->idx]) {
		p->too_big[side->idx]++;
		return 0;
	}
	if (response && p->drop_responses[side->idx]) {
		p->responses_dropped++;
		if (p->last_dropped[side->idx])
			g_bytes_unref(p->last_dropped[side->idx]);
		p->last_dropped[side->idx] = g_bytes_new(data, len);
		return 0;
	}
	if (p->dead || (p->loss > 0 && g_rand_double(p->rng) < p->loss)) {
		p->lost++;
		return 0;
	}
	switch (p->filter ? p->filter(p, side->idx, data, len) : SCTP_PASS) {
	case SCTP_DROP:
		p->lost++;
		return 0;
	case SCTP_HOLD:
		g_queue_push_tail(&p->held[side->idx], g_bytes_new(data, len));
		return 0;
	case SCTP_PASS:
		break;
	}
	sctp_pair_enqueue(p, 1 - side->idx, g_bytes_new(data, len));
	return 0;
}

void sctp_pair_release(struct sctp_pair *p, int from)
{
	GBytes *b;

	while ((b = g_queue_pop_head(&p->held[from])))
		sctp_pair_enqueue(p, 1 - from, b);
}

bool sctp_pair_first_tsn(const uint8_t *pkt, size_t len, uint32_t *tsn)
{
	for (size_t off = 12; off + 8 <= len;) {
		size_t clen = (size_t)pkt[off + 2] << 8 | pkt[off + 3];
		if (pkt[off] == 0 || pkt[off] == 64) {
			*tsn = (uint32_t)pkt[off + 4] << 24 | (uint32_t)pkt[off + 5] << 16 |
			       (uint32_t)pkt[off + 6] << 8 | pkt[off + 7];
			return true;
		}
		if (clen < 4)
			break;
		off += (clen + 3) & ~(size_t)3;
	}
	return false;
}

static void sctp_side_state(void *user, enum pp_sctp_state st)
{
	struct sctp_side *side = user;

	side->state = st;
	if (st == PP_SCTP_CONNECTED)
		side->up_events++;
	else
		side->end_events++;
	if (side->hooks.on_state)
		side->hooks.on_state(side, st);
}

static void sctp_side_open(void *user, struct pp_sctp_channel *ch)
{
	struct sctp_side *side = user;

	g_ptr_array_add(side->opened, ch);
	if (side->hooks.on_open)
		side->hooks.on_open(side, ch);
}

static void sctp_side_message(void *user, struct pp_sctp_channel *ch, enum pp_sctp_kind kind,
                              const uint8_t *data, size_t len)
{
	struct sctp_side *side = user;
	struct sctp_msg *m;

	if (side->hooks.on_message) {
		side->hooks.on_message(side, ch, kind, data, len);
		return;
	}
	m = g_new0(struct sctp_msg, 1);
	m->id = pp_sctp_channel_id(ch);
	m->kind = kind;
	m->data = g_bytes_new(data, len);
	g_ptr_array_add(side->msgs, m);
}

static void sctp_side_closed(void *user, struct pp_sctp_channel *ch)
{
	struct sctp_side *side = user;
	uint16_t id = pp_sctp_channel_id(ch);

	g_array_append_val(side->closed, id);
	g_ptr_array_remove(side->opened, ch);
	if (side->hooks.on_closed)
		side->hooks.on_closed(side, ch);
}

static void sctp_side_low(void *user, struct pp_sctp_channel *ch)
{
	struct sctp_side *side = user;

	if (side->hooks.on_low)
		side->hooks.on_low(side, ch);
}

static const struct pp_sctp_callbacks sctp_pair_cb = {
	.send_packet = sctp_pair_send,
	.on_state = sctp_side_state,
	.on_channel_open = sctp_side_open,
	.on_message = sctp_side_message,
	.on_channel_closed = sctp_side_closed,
	.on_buffered_amount_low = sctp_side_low,
};

static gboolean sctp_pair_flush_prepare(GSource *src, gint *timeout)
{
	struct sctp_pair *p = *(struct sctp_pair **)(src + 1);

	*timeout = -1;
	for (int i = 0; i < 2; i++)
		pp_sctp_flush_output(p->side[i].s);
	return FALSE;
}

static gboolean sctp_pair_flush_check(GSource *src)
{
	struct sctp_pair *p = *(struct sctp_pair **)(src + 1);

	return pp_sctp_output_waiting(p->side[0].s) || pp_sctp_output_waiting(p->side[1].s);
}

static gboolean sctp_pair_flush_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	gint timeout;

	sctp_pair_flush_prepare(src, &timeout);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs sctp_pair_flush_funcs = {
	.prepare = sctp_pair_flush_prepare,
	.check = sctp_pair_flush_check,
	.dispatch = sctp_pair_flush_dispatch,
};

void sctp_pair_init(struct sctp_pair *p, const struct pp_sctp_config *c0,
                    const struct pp_sctp_config *c1)
{
	const struct pp_sctp_config *cfg[2] = { c0, c1 };

	memset(p, 0, sizeof(*p));
	p->ctx = g_main_context_new();
	p->rng = g_rand_new_with_seed(42);
	for (int i = 0; i < 2; i++) {
		struct sctp_side *side = &p->side[i];
		struct pp_sctp_config c = { 0 };
		if (cfg[i])
			c = *cfg[i];
		c.role = i == 0 ? PP_SCTP_ROLE_CLIENT : PP_SCTP_ROLE_SERVER;
		c.log_peer = i == 0 ? "A" : "B";
		side->pair = p;
		side->idx = i;
		side->opened = g_ptr_array_new();
		side->closed = g_array_new(FALSE, FALSE, sizeof(uint16_t));
		side->msgs = g_ptr_array_new_with_free_func(sctp_msg_free);
		g_queue_init(&p->q[i]);
		g_queue_init(&p->due[i]);
		g_queue_init(&p->held[i]);
		side->s = pp_sctp_new(p->ctx, &c, &sctp_pair_cb, side);
		g_assert_nonnull(side->s);
	}
	p->flush = g_source_new(&sctp_pair_flush_funcs, sizeof(GSource) + sizeof(p));
	*(struct sctp_pair **)(p->flush + 1) = p;
	g_source_attach(p->flush, p->ctx);
}

void sctp_pair_connect(struct sctp_pair *p)
{
	g_assert_cmpint(pp_sctp_connect(p->side[0].s), ==, 0);
	g_assert_cmpint(pp_sctp_connect(p->side[1].s), ==, 0);
	SCTP_RUN_UNTIL(p, p->side[0].state == PP_SCTP_CONNECTED &&
	                  p->side[1].state == PP_SCTP_CONNECTED, 10000);
}

void sctp_pair_drop_side(struct sctp_pair *p, int idx)
{
	pp_sctp_free(p->side[idx].s);
	p->side[idx].s = NULL;
}

static gboolean sctp_pair_stop(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

void sctp_pair_run_for(struct sctp_pair *p, int ms)
{
	bool done = false;
	GSource *t = g_timeout_source_new((guint)ms);

	g_source_set_callback(t, sctp_pair_stop, &done, NULL);
	g_source_attach(t, p->ctx);
	while (!done)
		g_main_context_iteration(p->ctx, TRUE);
	g_source_unref(t);
}

void sctp_pair_free(struct sctp_pair *p)
{
	GBytes *b;

	g_source_destroy(p->flush);
	g_source_unref(p->flush);
	for (int i = 0; i < 2; i++) {
		struct sctp_side *side = &p->side[i];
		pp_sctp_free(side->s);
		side->s = NULL;
		while ((b = g_queue_pop_head(&p->q[i])))
			g_bytes_unref(b);
		while ((b = g_queue_pop_head(&p->held[i])))
			g_bytes_unref(b);
		g_queue_clear(&p->due[i]);
		g_ptr_array_free(side->opened, TRUE);
		g_array_free(side->closed, TRUE);
		g_ptr_array_free(side->msgs, TRUE);
		if (p->last_dropped[i])
			g_bytes_unref(p->last_dropped[i]);
	}
	if (p->idle) {
		g_source_destroy(p->idle);
		g_source_unref(p->idle);
	}
	g_rand_free(p->rng);
	g_main_context_unref(p->ctx);
}

struct pp_sctp_channel *sctp_pair_open(struct sctp_pair *p, int from, const char *label,
                                       const char *proto,
                                       const struct pp_sctp_channel_options *opt)
{
	struct pp_sctp_channel *ch = NULL;
	guint before = p->side[1 - from].opened->len;

	g_assert_cmpint(pp_sctp_channel_open(p->side[from].s, label, proto, opt, &ch), ==, 0);
	g_assert_nonnull(ch);
	SCTP_RUN_UNTIL(p, pp_sctp_channel_get_state(ch) == PP_SCTP_CHANNEL_OPEN &&
	                  p->side[1 - from].opened->len > before, 5000);
	return ch;
}
