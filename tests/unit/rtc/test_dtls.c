/* SPDX-License-Identifier: Apache-2.0 */
/* Two DTLS endpoints in one process, wired back to back through an
 * in-memory link on one GMainContext. Datagrams are delivered from an idle
 * source, in order, so everything is as asynchronous as over a network;
 * the link can drop datagrams, silence one side and inject garbage. */
#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/dtls.h"

#include <glib.h>
#include <string.h>
#include <time.h>

static struct pp_identity *id_a, *id_b, *id_evil;
static GString *logged;

static void log_sink(enum pp_log_level level, const char *line, void *user)
{
	g_string_append(logged, line);
	g_string_append_c(logged, '\n');
}

/* ---- the link ---- */

struct link;

struct end {
	struct link *link;
	int idx;
	struct pp_dtls *d;
	enum pp_dtls_state state;
	enum pp_dtls_reason reason;
	char text[160];
	unsigned int n_states;
	GByteArray *rx;     /* records received, concatenated */
	GArray *rx_lens;    /* and their sizes */
	unsigned int n_out; /* datagrams sent */
	size_t max_hs_out;  /* largest datagram sent before CONNECTED */
	bool silent;        /* everything it sends is lost */
	GByteArray *held;   /* when set, what it sends is appended here */
	bool hold_at_ccs;   /* set held from its first ChangeCipherSpec on */
	bool free_on_data;
	bool free_on_final;
	unsigned long n_bulk; /* records counted by on_bulk */
};

struct link {
	GMainContext *ctx;
	struct end e[2];
	GQueue q;
	bool scheduled;
	unsigned int sent, dropped;
	unsigned int drop_every, drop_first; /* drop every nth of the first N */
	bool garbage;                         /* a garbage datagram before each one */
	unsigned int garbage_fed;
};

struct pkt {
	int to;
	size_t len;
	uint8_t data[];
};

/* Random bytes that look like DTLS (first byte 20..63); framed: with a
 * well-formed DTLS 1.2 record header in an epoch nobody uses. */
static void garbage_feed(struct end *to, bool framed)
{
	uint8_t buf[1500];
	size_t len = 13 + 24 + (size_t)g_test_rand_int_range(0, (gint32)sizeof(buf) - 13 - 24);

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)g_test_rand_int();
	buf[0] = (uint8_t)g_test_rand_int_range(20, 64);
	if (framed) {
		guint epoch = (guint)g_test_rand_int_range(3, 65536);
		buf[1] = 0xfe;
		buf[2] = 0xfd;
		buf[3] = (uint8_t)(epoch >> 8);
		buf[4] = (uint8_t)epoch;
		buf[11] = (uint8_t)((len - 13) >> 8);
		buf[12] = (uint8_t)(len - 13);
	}
	int rc = pp_dtls_feed(to->d, buf, len);
	g_assert_true(rc == 0 || rc == PP_ERR_INVALID);
	to->link->garbage_fed++;
}

static gboolean link_deliver(gpointer p)
{
	struct link *l = p;
	guint n = l->q.length;

	while (n-- > 0) {
		struct pkt *k = g_queue_pop_head(&l->q);
		struct end *to = &l->e[k->to];
		for (int g = 0; g < 3 && to->d && l->garbage; g++)
			garbage_feed(to, g_test_rand_bit());
		if (to->d)
			(void)pp_dtls_feed(to->d, k->data, k->len);
		g_free(k);
	}
	if (l->q.length > 0)
		return G_SOURCE_CONTINUE;
	l->scheduled = false;
	return G_SOURCE_REMOVE;
}

static int link_send(void *user, const uint8_t *data, size_t len)
{
	struct end *me = user;
	struct link *l = me->link;

	me->n_out++;
	if (me->state != PP_DTLS_CONNECTED && len > me->max_hs_out)
		me->max_hs_out = len;
	if (me->silent)
		return 0;
	if (me->hold_at_ccs && !me->held && data[0] == 20)
		me->held = g_byte_array_new();
	if (me->held) {
		g_byte_array_append(me->held, data, (guint)len);
		return 0;
	}
	l->sent++;
	if (l->drop_every && l->sent <= l->drop_first && l->sent % l->drop_every == 0) {
		l->dropped++;
		return 0;
	}
	struct pkt *k = g_malloc(sizeof(*k) + len);
	k->to = 1 - me->idx;
	k->len = len;
	memcpy(k->data, data, len);
	g_queue_push_tail(&l->q, k);
	if (!l->scheduled) {
		GSource *s = g_idle_source_new();
		g_source_set_callback(s, link_deliver, l, NULL);
		g_source_attach(s, l->ctx);
		g_source_unref(s);
		l->scheduled = true;
	}
	return 0;
}

static void on_data(void *user, const uint8_t *data, size_t len)
{
	struct end *me = user;
	guint n = (guint)len;

	g_byte_array_append(me->rx, data, n);
	g_array_append_val(me->rx_lens, n);
	if (me->free_on_data) {
		pp_dtls_free(me->d);
		me->d = NULL;
	}
}

static void on_state(void *user, enum pp_dtls_state st, enum pp_dtls_reason why, const char *text)
{
	struct end *me = user;

	me->state = st;
	me->reason = why;
	me->n_states++;
	g_strlcpy(me->text, text, sizeof(me->text));
	if (me->free_on_final && (st == PP_DTLS_FAILED || st == PP_DTLS_CLOSED)) {
		pp_dtls_free(me->d);
		me->d = NULL;
	}
}

static const struct pp_dtls_callbacks test_cb = {
	.send_datagram = link_send,
	.on_data = on_data,
	.on_state = on_state,
};

static void link_init(struct link *l)
{
	memset(l, 0, sizeof(*l));
	l->ctx = g_main_context_new();
	g_queue_init(&l->q);
	for (int i = 0; i < 2; i++) {
		l->e[i].link = l;
		l->e[i].idx = i;
		l->e[i].rx = g_byte_array_new();
		l->e[i].rx_lens = g_array_new(FALSE, FALSE, sizeof(guint));
	}
}

/* Config for an endpoint using identity me that expects (and pins) peer. */
static struct pp_dtls_config config_for(const struct pp_identity *me,
                                        const struct pp_identity *peer,
                                        enum pp_dtls_role role)
{
	struct pp_dtls_config c = {
		.identity = me,
		.role = role,
		.remote_fingerprint = *pp_identity_fingerprint(peer),
		.pins = pp_identity_fingerprint(peer),
		.n_pins = 1,
		.log_peer = role == PP_DTLS_CLIENT ? "client" : "server",
	};
	return c;
}

static void link_open(struct link *l, const struct pp_dtls_config *c0,
                      const struct pp_dtls_config *c1)
{
	l->e[0].d = pp_dtls_new(l->ctx, c0, &test_cb, &l->e[0]);
	l->e[1].d = pp_dtls_new(l->ctx, c1, &test_cb, &l->e[1]);
	g_assert_nonnull(l->e[0].d);
	g_assert_nonnull(l->e[1].d);
	g_assert_cmpint(pp_dtls_state(l->e[0].d), ==, PP_DTLS_NEW);
	g_assert_cmpint(pp_dtls_start(l->e[0].d), ==, 0);
	g_assert_cmpint(pp_dtls_start(l->e[1].d), ==, 0);
	g_assert_cmpint(pp_dtls_start(l->e[1].d), ==, PP_ERR_STATE);
}

static void link_clear(struct link *l)
{
	struct pkt *k;

	for (int i = 0; i < 2; i++) {
		pp_dtls_free(l->e[i].d);
		g_byte_array_unref(l->e[i].rx);
		g_array_unref(l->e[i].rx_lens);
	}
	while ((k = g_queue_pop_head(&l->q)))
		g_free(k);
	while (g_main_context_iteration(l->ctx, FALSE))
		; /* the idle source, if any, finds an empty queue */
	g_main_context_unref(l->ctx);
}

static gboolean wake(gpointer p)
{
	return G_SOURCE_CONTINUE;
}

static bool run_until(struct link *l, bool (*cond)(struct link *), unsigned int ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	GSource *w = g_timeout_source_new(10);
	bool ok;

	g_source_set_callback(w, wake, NULL, NULL);
	g_source_attach(w, l->ctx);
	while (!(ok = cond(l)) && g_get_monotonic_time() < end)
		g_main_context_iteration(l->ctx, TRUE);
	g_source_destroy(w);
	g_source_unref(w);
	return ok;
}

static bool final(enum pp_dtls_state s)
{
	return s == PP_DTLS_FAILED || s == PP_DTLS_CLOSED;
}

static bool both_settled(struct link *l)
{
	for (int i = 0; i < 2; i++)
		if (l->e[i].state != PP_DTLS_CONNECTED && !final(l->e[i].state))
			return false;
	return true;
}

static bool both_final(struct link *l)
{
	return final(l->e[0].state) && final(l->e[1].state);
}

static bool e0_final(struct link *l)
{
	return final(l->e[0].state);
}

static bool idle_link(struct link *l)
{
	return l->q.length == 0;
}

static void assert_connected(struct link *l)
{
	g_assert_true(run_until(l, both_settled, 5000));
	for (int i = 0; i < 2; i++) {
		g_assert_cmpint(l->e[i].state, ==, PP_DTLS_CONNECTED);
		g_assert_cmpstr(pp_dtls_cipher(l->e[i].d), ==, "ECDHE-ECDSA-AES128-GCM-SHA256");
		g_assert_cmpuint(l->e[i].max_hs_out, <=, PP_DTLS_MTU_DEFAULT);
		g_assert_cmpuint(pp_dtls_data_mtu(l->e[i].d), ==, PP_DTLS_MTU_DEFAULT - 37);
	}
	/* the handshake's timers are gone: an established endpoint adds no
	 * source to its context's loop turns */
	g_assert_true(run_until(l, idle_link, 5000));
	for (int i = 0; i < 2; i++)
		g_assert_null(g_main_context_find_source_by_user_data(l->ctx, l->e[i].d));
}

/* A client (a) and a server (b) with the default settings, connected. */
static void link_connect(struct link *l)
{
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);

	link_init(l);
	link_open(l, &c0, &c1);
	assert_connected(l);
}

/* ---- handshake and data ---- */

static void handshake(enum pp_dtls_role role0)
{
	struct link l;
	enum pp_dtls_role role1 = role0 == PP_DTLS_CLIENT ? PP_DTLS_SERVER : PP_DTLS_CLIENT;
	struct pp_dtls_config c0 = config_for(id_a, id_b, role0);
	struct pp_dtls_config c1 = config_for(id_b, id_a, role1);

	link_init(&l);
	link_open(&l, &c0, &c1);
	assert_connected(&l);
	g_assert_cmpint(pp_dtls_role(l.e[0].d), ==, role0);
	g_assert_cmpuint(l.e[0].n_states, ==, 2); /* connecting, connected */
	g_assert_true(strstr(l.e[0].text, "DTLSv1.2") != NULL);
	/* the handshake took a handful of datagrams, packed per flight */
	g_test_message("handshake: %u + %u datagrams", l.e[0].n_out, l.e[1].n_out);
	g_assert_cmpuint(l.e[0].n_out + l.e[1].n_out, <=, 6);
	link_clear(&l);
}

static void test_handshake_client_server(void)
{
	handshake(PP_DTLS_CLIENT);
}

static void test_handshake_server_client(void)
{
	handshake(PP_DTLS_SERVER);
}

static void fill(uint8_t *buf, size_t len, unsigned int salt)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(salt * 31 + i * 7 + (i >> 8));
}

static void check_received(struct end *e, size_t max, unsigned int salt)
{
	uint8_t buf[2048];
	size_t off = 0;

	g_assert_cmpuint(e->rx_lens->len, ==, max);
	for (size_t n = 1; n <= max; n++) {
		g_assert_cmpuint(g_array_index(e->rx_lens, guint, n - 1), ==, n);
		fill(buf, n, (unsigned int)n + salt);
		g_assert_cmpmem(e->rx->data + off, n, buf, n);
		off += n;
	}
}

static bool all_data_in(struct link *l)
{
	return l->e[0].rx_lens->len == 1200 && l->e[1].rx_lens->len == 1200;
}

static void test_data(void)
{
	struct link l;
	uint8_t buf[2048];

	link_connect(&l);
	unsigned int before = l.e[0].n_out;
	for (size_t n = 1; n <= 1200; n++) {
		fill(buf, n, (unsigned int)n);
		g_assert_cmpint(pp_dtls_send(l.e[0].d, buf, n), ==, 0);
		fill(buf, n, (unsigned int)n + 1000);
		g_assert_cmpint(pp_dtls_send(l.e[1].d, buf, n), ==, 0);
	}
	g_assert_cmpuint(l.e[0].n_out - before, ==, 1200); /* one datagram per record */
	g_assert_true(run_until(&l, all_data_in, 5000));
	check_received(&l.e[1], 1200, 0);
	check_received(&l.e[0], 1200, 1000);

	/* the largest record, and the limits */
	static uint8_t big[PP_DTLS_SEND_MAX + 1];
	g_assert_cmpint(pp_dtls_send(l.e[0].d, big, PP_DTLS_SEND_MAX), ==, 0);
	g_assert_cmpint(pp_dtls_send(l.e[0].d, big, PP_DTLS_SEND_MAX + 1), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_dtls_send(l.e[0].d, big, 0), ==, PP_ERR_INVALID);
	g_assert_true(run_until(&l, idle_link, 5000));
	g_assert_cmpuint(l.e[1].rx_lens->len, ==, 1201);
	g_assert_cmpuint(g_array_index(l.e[1].rx_lens, guint, 1200), ==, PP_DTLS_SEND_MAX);
	link_clear(&l);
}

/* A datagram may carry several records (other stacks pack them): all of
 * them are delivered by the feed that brings it, none waits for the next. */
static void test_records_per_datagram(void)
{
	struct link l;
	uint8_t buf[64];

	link_connect(&l);
	l.e[0].held = g_byte_array_new();
	for (size_t n = 1; n <= 3; n++) {
		fill(buf, n, (unsigned int)n);
		g_assert_cmpint(pp_dtls_send(l.e[0].d, buf, n), ==, 0);
	}
	g_assert_cmpuint(l.e[0].held->len, ==, 3 * 37 + 6);
	g_assert_cmpint(pp_dtls_feed(l.e[1].d, l.e[0].held->data, l.e[0].held->len), ==, 0);
	check_received(&l.e[1], 3, 0);
	/* and one record alone still comes out at once */
	g_byte_array_set_size(l.e[0].held, 0);
	fill(buf, 4, 4);
	g_assert_cmpint(pp_dtls_send(l.e[0].d, buf, 4), ==, 0);
	g_assert_cmpint(pp_dtls_feed(l.e[1].d, l.e[0].held->data, l.e[0].held->len), ==, 0);
	check_received(&l.e[1], 4, 0);
	g_byte_array_unref(l.e[0].held);
	l.e[0].held = NULL;
	link_clear(&l);
}

static bool e1_connected(struct link *l)
{
	return l->e[1].state == PP_DTLS_CONNECTED;
}

/* The server's application records overtake its last flight (CCS and
 * Finished): a client (our record layer or OpenSSL's) and a server that
 * holds what it sends from its CCS on; the server sends three records of
 * 1..3 bytes, each its own datagram, and the client is fed them before
 * the last flight. Returns the last flight's length in l->e[1].held. */
static guint records_ahead_of_finished(struct link *l, bool openssl_records)
{
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);
	uint8_t buf[8];

	c0.openssl_records = openssl_records;
	link_init(l);
	l->e[1].hold_at_ccs = true;
	link_open(l, &c0, &c1);
	g_assert_true(run_until(l, e1_connected, 5000));
	g_assert_true(run_until(l, idle_link, 5000));
	g_assert_nonnull(l->e[1].held);
	guint last_flight = l->e[1].held->len;
	g_assert_cmpuint(last_flight, >, 0);
	for (size_t n = 1; n <= 3; n++) {
		fill(buf, n, (unsigned int)n);
		g_assert_cmpint(pp_dtls_send(l->e[1].d, buf, n), ==, 0);
	}
	const uint8_t *rec = l->e[1].held->data + last_flight;
	for (size_t n = 1; n <= 3; rec += 37 + n, n++)
		g_assert_cmpint(pp_dtls_feed(l->e[0].d, rec, 37 + n), ==, 0);
	return last_flight;
}

/* The client keeps them while it still waits for Finished, and the feed
 * that completes its handshake delivers all of them. */
static void records_before_finished(bool openssl_records)
{
	struct link l;
	guint last_flight = records_ahead_of_finished(&l, openssl_records);

	g_assert_cmpint(l.e[0].state, ==, PP_DTLS_CONNECTING);
	g_assert_cmpuint(l.e[0].rx_lens->len, ==, 0);
	g_assert_cmpint(pp_dtls_feed(l.e[0].d, l.e[1].held->data, last_flight), ==, 0);
	g_assert_cmpint(l.e[0].state, ==, PP_DTLS_CONNECTED);
	check_received(&l.e[0], 3, 0);
	g_byte_array_unref(l.e[1].held);
	l.e[1].held = NULL;
	link_clear(&l);
}

static void test_records_before_finished(void)
{
	records_before_finished(false);
	records_before_finished(true);
}

/* Forged application records while the handshake runs: at most 32 are
 * kept (and 64 KiB), the rest dropped and said so; at CONNECTED the
 * genuine ones that came first are delivered and the forged ones refused. */
static void test_records_early_flood(void)
{
	struct link l;
	uint8_t forged[37 + 10];
	guint last_flight = records_ahead_of_finished(&l, false);

	g_string_truncate(logged, 0);
	for (int i = 0; i < 40; i++) {
		for (size_t j = 0; j < sizeof(forged); j++)
			forged[j] = (uint8_t)g_test_rand_int();
		memcpy(forged, (const uint8_t[]){ 23, 0xfe, 0xfd, 0, 1 }, 5);
		forged[11] = 0;
		forged[12] = sizeof(forged) - 13;
		g_assert_cmpint(pp_dtls_feed(l.e[0].d, forged, sizeof(forged)), ==, 0);
	}
	g_assert_nonnull(strstr(logged->str, "too many before the handshake ended"));
	g_assert_cmpint(l.e[0].state, ==, PP_DTLS_CONNECTING);
	g_assert_cmpint(pp_dtls_feed(l.e[0].d, l.e[1].held->data, last_flight), ==, 0);
	g_assert_cmpint(l.e[0].state, ==, PP_DTLS_CONNECTED);
	check_received(&l.e[0], 3, 0);
	g_assert_nonnull(strstr(logged->str, "authentication failed"));
	/* 11 too many (43 for 32 places), then the 29 forged ones kept are
	 * opened and refused: 40 drops, said at INFO at 1, 2, 4, 8, 16, 32 */
	g_assert_nonnull(strstr(logged->str, "(32 so far)"));
	g_assert_null(strstr(logged->str, "(64 so far)"));
	g_byte_array_unref(l.e[1].held);
	l.e[1].held = NULL;
	link_clear(&l);
}

/* ---- our application record layer against OpenSSL's ---- */

/* a (client) and b (server) connected, each with OpenSSL's record layer
 * or ours. */
static void link_connect_records(struct link *l, bool ossl0, bool ossl1)
{
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);

	c0.openssl_records = ossl0;
	c1.openssl_records = ossl1;
	link_init(l);
	link_open(l, &c0, &c1);
	assert_connected(l);
}

/* The sequence number of the next record e sends (sent on afterwards);
 * nonce, when given, gets its explicit nonce. */
static uint64_t next_seq_nonce(struct link *l, struct end *e, uint64_t *nonce)
{
	e->held = g_byte_array_new();
	g_assert_cmpint(pp_dtls_send(e->d, (const uint8_t *)"seq", 3), ==, 0);
	g_assert_cmpuint(e->held->len, ==, 3 + 37);
	uint64_t seq = 0;
	for (int i = 5; i < 11; i++)
		seq = seq << 8 | e->held->data[i];
	for (int i = 13; nonce && i < 21; i++)
		*nonce = *nonce << 8 | e->held->data[i];
	g_assert_cmpint(pp_dtls_feed(l->e[1 - e->idx].d, e->held->data, e->held->len), ==, 0);
	g_byte_array_unref(e->held);
	e->held = NULL;
	return seq;
}

static uint64_t next_seq(struct link *l, struct end *e)
{
	return next_seq_nonce(l, e, NULL);
}

/* Data both ways, every size, then a close from one side seen by the
 * other: each pairing of the two record layers. Ours take over from the
 * first record of the peer's on, with sequence numbers from 2^32 and
 * explicit nonces 2^32 past OpenSSL's last. */
static void records_interop(bool ossl0, bool ossl1)
{
	struct link l;
	uint8_t buf[2048];
	uint64_t ssl_nonce = 0, our_nonce = 0;

	link_connect_records(&l, ossl0, ossl1);
	/* nothing from the peer yet: OpenSSL seals */
	g_assert_cmpuint(next_seq_nonce(&l, &l.e[0], &ssl_nonce), <, 16);
	for (size_t n = 1; n <= 1200; n++) {
		fill(buf, n, (unsigned int)n);
		g_assert_cmpint(pp_dtls_send(l.e[0].d, buf, n), ==, 0);
		fill(buf, n, (unsigned int)n + 1000);
		g_assert_cmpint(pp_dtls_send(l.e[1].d, buf, n), ==, 0);
	}
	g_assert_true(run_until(&l, idle_link, 5000));
	g_byte_array_remove_range(l.e[1].rx, 0, 3);
	g_array_remove_index(l.e[1].rx_lens, 0);
	check_received(&l.e[1], 1200, 0);
	check_received(&l.e[0], 1200, 1000);
	for (int i = 0; i < 2; i++) {
		uint64_t seq = next_seq_nonce(&l, &l.e[i], &our_nonce);
		if (i == 0 ? ossl0 : ossl1) {
			g_assert_cmpuint(seq, <, 2000);
		} else {
			g_assert_cmpuint(seq, >=, (uint64_t)1 << 32);
			if (i == 0) /* OpenSSL sealed our 1,200 before the peer's first */
				g_assert_cmpuint(our_nonce - ssl_nonce, ==, ((uint64_t)1 << 32) + 1200);
		}
	}
	l.e[0].free_on_final = l.e[1].free_on_final = true;
	g_assert_cmpint(pp_dtls_close(l.e[ossl0 ? 1 : 0].d), ==, 0);
	g_assert_true(run_until(&l, both_final, 5000));
	g_assert_cmpint(l.e[ossl0 ? 0 : 1].reason, ==, PP_DTLS_REASON_PEER_CLOSED);
	link_clear(&l);
}

static void test_records_interop(void)
{
	records_interop(false, true);
	records_interop(true, false);
	records_interop(false, false);
}

/* A record fed twice is delivered once; a damaged copy not at all; and
 * the session goes on. */
static void test_records_replay(void)
{
	struct link l;

	link_connect(&l);
	for (int i = 0; i < 2; i++) /* each has one of the other's: ours seal now */
		(void)next_seq(&l, &l.e[i]);
	g_assert_true(run_until(&l, idle_link, 5000));
	g_array_set_size(l.e[1].rx_lens, 0);
	l.e[0].held = g_byte_array_new();
	g_assert_cmpint(pp_dtls_send(l.e[0].d, (const uint8_t *)"once", 4), ==, 0);
	GByteArray *rec = l.e[0].held;
	l.e[0].held = NULL;
	for (int i = 0; i < 3; i++)
		g_assert_cmpint(pp_dtls_feed(l.e[1].d, rec->data, rec->len), ==, 0);
	rec->data[rec->len - 1] ^= 0x40;
	rec->data[10] += 1; /* a fresh sequence number, a damaged tag */
	g_assert_cmpint(pp_dtls_feed(l.e[1].d, rec->data, rec->len), ==, 0);
	g_assert_cmpuint(l.e[1].rx_lens->len, ==, 1);
	g_assert_cmpmem(l.e[1].rx->data + l.e[1].rx->len - 4, 4, "once", 4);
	g_assert_cmpint(pp_dtls_send(l.e[0].d, (const uint8_t *)"again", 5), ==, 0);
	g_assert_true(run_until(&l, idle_link, 5000));
	g_assert_cmpuint(l.e[1].rx_lens->len, ==, 2);
	g_assert_cmpint(l.e[1].state, ==, PP_DTLS_CONNECTED);
	g_assert_nonnull(strstr(logged->str, "dropped an application record: replayed or too old"));
	g_assert_nonnull(strstr(logged->str, "dropped an application record: authentication failed"));
	g_byte_array_unref(rec);
	link_clear(&l);
}

static void export_pair(uint8_t out0[32], uint8_t out1[32])
{
	struct link l;
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_SERVER);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_CLIENT);
	uint8_t other[32];

	link_init(&l);
	link_open(&l, &c0, &c1);
	g_assert_cmpint(pp_dtls_export_keying_material(l.e[0].d, "EXPORTER-peerpipe-gost", out0, 32),
	                ==, PP_ERR_STATE);
	assert_connected(&l);
	g_assert_cmpint(pp_dtls_export_keying_material(l.e[0].d, "EXPORTER-peerpipe-gost", out0, 32), ==, 0);
	g_assert_cmpint(pp_dtls_export_keying_material(l.e[1].d, "EXPORTER-peerpipe-gost", out1, 32), ==, 0);
	g_assert_cmpmem(out0, 32, out1, 32);
	g_assert_cmpint(pp_dtls_export_keying_material(l.e[1].d, "EXPORTER-other", other, 32), ==, 0);
	g_assert_cmpint(memcmp(other, out1, 32), !=, 0);
	g_assert_cmpint(pp_dtls_export_keying_material(l.e[1].d, "", other, 32), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_dtls_export_keying_material(l.e[1].d, "x", other, 0), ==, PP_ERR_INVALID);
	link_clear(&l);
}

static void test_exporter(void)
{
	uint8_t a0[32], a1[32], b0[32], b1[32];

	export_pair(a0, a1);
	export_pair(b0, b1);
	g_assert_cmpint(memcmp(a0, b0, 32), !=, 0);
}

/* ---- refusals ---- */

/* Runs a handshake that one side must refuse; checks both reasons. */
static void refused(const struct pp_dtls_config *c0, const struct pp_dtls_config *c1,
                    int refuser, enum pp_dtls_reason why, const char *log_text)
{
	struct link l;

	g_string_truncate(logged, 0);
	link_init(&l);
	link_open(&l, c0, c1);
	g_assert_true(run_until(&l, both_final, 5000));
	g_assert_cmpint(l.e[refuser].state, ==, PP_DTLS_FAILED);
	g_assert_cmpint(l.e[refuser].reason, ==, why);
	g_assert_cmpstr(l.e[refuser].text, ==, pp_dtls_reason_str(why));
	/* the other side was told with an alert */
	g_assert_cmpint(l.e[1 - refuser].state, ==, PP_DTLS_FAILED);
	g_assert_cmpint(l.e[1 - refuser].reason, ==, PP_DTLS_REASON_ALERT);
	g_assert_cmpstr(l.e[1 - refuser].text, ==, "peer alert: bad certificate");
	g_assert_true(strstr(logged->str, log_text) != NULL);
	g_assert_cmpint(pp_dtls_send(l.e[0].d, (const uint8_t *)"x", 1), ==, PP_ERR_STATE);
	g_assert_cmpint(pp_dtls_feed(l.e[0].d, (const uint8_t *)"\x17\xfe\xfd\0\0\0\0\0\0\0\0\0\0", 13),
	                ==, PP_ERR_STATE);
	link_clear(&l);
}

static void test_mismatch_server_cert(void)
{
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);

	/* the client's SDP says evil (and evil is pinned), the server is b */
	c0.remote_fingerprint = *pp_identity_fingerprint(id_evil);
	c0.pins = pp_identity_fingerprint(id_evil);
	refused(&c0, &c1, 0, PP_DTLS_REASON_FINGERPRINT_MISMATCH, "fingerprint mismatch");
}

static void test_mismatch_client_cert(void)
{
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);

	c1.remote_fingerprint = *pp_identity_fingerprint(id_evil);
	refused(&c0, &c1, 1, PP_DTLS_REASON_FINGERPRINT_MISMATCH, "fingerprint mismatch");
}

static void test_not_pinned(void)
{
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);
	struct pp_fingerprint pins[3] = {
		*pp_identity_fingerprint(id_evil),
		*pp_identity_fingerprint(id_b), /* its own, not the peer's */
	};

	/* the SDP is honest, but the gateway pins others only */
	c1.pins = pins;
	c1.n_pins = 2;
	refused(&c0, &c1, 1, PP_DTLS_REASON_NOT_PINNED, "not pinned");
	/* and a desktop that pins nobody refuses the gateway */
	c1 = config_for(id_b, id_a, PP_DTLS_SERVER);
	c0.pins = NULL;
	c0.n_pins = 0;
	refused(&c0, &c1, 0, PP_DTLS_REASON_NOT_PINNED, "not pinned");
}

static void test_allow_unpinned(void)
{
	struct link l;
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);

	c0.pins = NULL;
	c0.n_pins = 0;
	c0.allow_unpinned = true;
	link_init(&l);
	link_open(&l, &c0, &c1);
	assert_connected(&l);
	link_clear(&l);

	/* the SDP check stays */
	c0.remote_fingerprint = *pp_identity_fingerprint(id_evil);
	refused(&c0, &c1, 0, PP_DTLS_REASON_FINGERPRINT_MISMATCH, "fingerprint mismatch");
}

static void test_sdp_lies(void)
{
	/* a pinned fingerprint in the SDP, another certificate on the wire:
	 * evil claims to be a */
	struct pp_dtls_config c0 = config_for(id_evil, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);

	refused(&c0, &c1, 1, PP_DTLS_REASON_FINGERPRINT_MISMATCH, "fingerprint mismatch");
	c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	c1 = config_for(id_evil, id_a, PP_DTLS_SERVER);
	refused(&c0, &c1, 0, PP_DTLS_REASON_FINGERPRINT_MISMATCH, "fingerprint mismatch");
}

/* ---- loss, silence, garbage ---- */

static void test_loss(void)
{
	struct link l;
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);

	c0.retransmit_ms = c1.retransmit_ms = 20;
	link_init(&l);
	l.drop_every = 3;
	l.drop_first = 30;
	link_open(&l, &c0, &c1);
	assert_connected(&l);
	g_test_message("loss: %u sent, %u dropped", l.sent, l.dropped);
	g_assert_cmpuint(l.dropped, >=, 1);
	/* data flows once both are done (and the link stops losing) */
	l.drop_every = 0;
	g_assert_cmpint(pp_dtls_send(l.e[0].d, (const uint8_t *)"ping", 4), ==, 0);
	g_assert_true(run_until(&l, idle_link, 5000));
	g_assert_cmpmem(l.e[1].rx->data, l.e[1].rx->len, "ping", 4);
	link_clear(&l);
}

static void silent_peer(enum pp_dtls_role role)
{
	struct link l;
	struct pp_dtls_config c0 = config_for(id_a, id_b, role);
	struct pp_dtls_config c1 = config_for(id_b, id_a, 1 - role);

	c0.handshake_timeout_ms = 300;
	c0.retransmit_ms = 40;
	link_init(&l);
	l.e[1].silent = true;
	/* Before the deadline is armed (in link_open): the lower bound below
	 * then holds however long the two setups take on a loaded machine
	 * (ASan under load once took 74 ms, and 226 ms were counted). */
	gint64 t0 = g_get_monotonic_time();
	link_open(&l, &c0, &c1);
	g_assert_true(run_until(&l, e0_final, 3000));
	gint64 ms = (g_get_monotonic_time() - t0) / 1000;
	g_assert_cmpint(l.e[0].state, ==, PP_DTLS_FAILED);
	g_assert_cmpint(l.e[0].reason, ==, PP_DTLS_REASON_TIMEOUT);
	g_assert_cmpint(ms, >=, 280);
	g_assert_cmpint(ms, <, 2000);
	if (role == PP_DTLS_CLIENT)
		g_assert_cmpuint(l.e[0].n_out, >=, 3); /* ClientHello and retransmissions */
	/* nothing more happens */
	unsigned int n = l.e[0].n_out;
	run_until(&l, both_final, 200);
	g_assert_cmpuint(l.e[0].n_out, ==, n);
	g_assert_cmpuint(l.e[0].n_states, ==, 2);
	link_clear(&l);
}

static void test_timeout_client(void)
{
	silent_peer(PP_DTLS_CLIENT);
}

static void test_timeout_server(void)
{
	silent_peer(PP_DTLS_SERVER);
}

static void test_garbage(void)
{
	struct link l;
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);
	static uint8_t buf[PP_DTLS_DATAGRAM_MAX + 1];

	link_init(&l);
	l.garbage = true;
	l.e[0].d = pp_dtls_new(l.ctx, &c0, &test_cb, &l.e[0]);
	l.e[1].d = pp_dtls_new(l.ctx, &c1, &test_cb, &l.e[1]);
	/* not DTLS, or too short, or too big; a client not started yet */
	buf[0] = 0x00; /* STUN */
	g_assert_cmpint(pp_dtls_feed(l.e[1].d, buf, 20), ==, PP_ERR_INVALID);
	buf[0] = 0x80; /* RTP */
	g_assert_cmpint(pp_dtls_feed(l.e[1].d, buf, 20), ==, PP_ERR_INVALID);
	buf[0] = 22;
	g_assert_cmpint(pp_dtls_feed(l.e[1].d, buf, 12), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_dtls_feed(l.e[1].d, buf, 0), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_dtls_feed(l.e[1].d, buf, sizeof(buf)), ==, PP_ERR_TOO_BIG);
	buf[12] = 100 - 13;
	g_assert_cmpint(pp_dtls_feed(l.e[0].d, buf, 100), ==, PP_ERR_STATE);
	/* a server fed garbage starts by itself and shrugs it off */
	garbage_feed(&l.e[1], true);
	g_assert_cmpint(l.e[1].state, ==, PP_DTLS_CONNECTING);
	g_assert_cmpint(pp_dtls_start(l.e[0].d), ==, 0);
	assert_connected(&l);

	/* records with a good header and a bad MAC, in every epoch */
	for (int i = 0; i < 200; i++) {
		size_t len = 13 + (size_t)g_test_rand_int_range(0, 1200);
		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)g_test_rand_int();
		buf[0] = (uint8_t)(i % 2 ? 23 : 21);
		buf[1] = 0xfe;
		buf[2] = 0xfd;
		buf[3] = 0;
		buf[4] = (uint8_t)(i % 3);
		buf[11] = (uint8_t)((len - 13) >> 8);
		buf[12] = (uint8_t)(len - 13);
		int rc = pp_dtls_feed(l.e[i % 2].d, buf, len);
		g_assert_true(rc == 0 || (rc == PP_ERR_INVALID && buf[4] != 0 && len < 13 + 24));
	}
	/* a protected record too short for a nonce and a tag (OpenSSL 3.0
	 * would fail the session with internal_error), and two records of
	 * which the second overruns the datagram */
	static const uint8_t short_rec[28] = { 23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 15 };
	static const uint8_t overrun[40] = { 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0,
	                                     23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 200 };
	for (int i = 0; i < 2; i++) {
		g_assert_cmpint(pp_dtls_feed(l.e[i].d, short_rec, sizeof(short_rec)), ==, PP_ERR_INVALID);
		g_assert_cmpint(pp_dtls_feed(l.e[i].d, overrun, sizeof(overrun)), ==, PP_ERR_INVALID);
	}
	g_assert_cmpint(l.e[0].state, ==, PP_DTLS_CONNECTED);
	g_assert_cmpint(l.e[1].state, ==, PP_DTLS_CONNECTED);
	g_assert_cmpint(pp_dtls_send(l.e[1].d, (const uint8_t *)"still here", 10), ==, 0);
	g_assert_true(run_until(&l, idle_link, 5000));
	g_assert_cmpmem(l.e[0].rx->data, l.e[0].rx->len, "still here", 10);
	g_assert_cmpuint(l.e[0].rx_lens->len, ==, 1);
	g_test_message("garbage: %u datagrams fed", l.garbage_fed);
	link_clear(&l);
}

/* ---- close and lifetime ---- */

static void test_close(void)
{
	struct link l;
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);

	link_init(&l);
	link_open(&l, &c0, &c1);
	assert_connected(&l);
	l.e[0].free_on_final = l.e[1].free_on_final = true;
	g_assert_cmpint(pp_dtls_close(l.e[0].d), ==, 0);
	g_assert_cmpint(pp_dtls_state(l.e[0].d), ==, PP_DTLS_CLOSED);
	g_assert_cmpint(l.e[0].state, ==, PP_DTLS_CONNECTED); /* reported later */
	g_assert_cmpint(pp_dtls_close(l.e[0].d), ==, PP_ERR_STATE);
	g_assert_cmpint(pp_dtls_send(l.e[0].d, (const uint8_t *)"x", 1), ==, PP_ERR_STATE);
	g_assert_true(run_until(&l, both_final, 5000));
	g_assert_cmpint(l.e[0].reason, ==, PP_DTLS_REASON_LOCAL_CLOSE);
	g_assert_cmpint(l.e[1].state, ==, PP_DTLS_CLOSED);
	g_assert_cmpint(l.e[1].reason, ==, PP_DTLS_REASON_PEER_CLOSED);
	g_assert_null(l.e[0].d); /* both freed in their callbacks */
	g_assert_null(l.e[1].d);
	link_clear(&l);

	/* close during the handshake; and a free with a close pending */
	link_init(&l);
	link_open(&l, &c0, &c1);
	g_assert_cmpint(pp_dtls_close(l.e[1].d), ==, 0);
	pp_dtls_free(l.e[1].d);
	l.e[1].d = NULL;
	run_until(&l, idle_link, 1000);
	g_assert_cmpint(l.e[1].n_states, ==, 1); /* only CONNECTING */
	link_clear(&l);
}

static void test_free_in_callback(void)
{
	struct link l;

	link_connect(&l);
	l.e[1].free_on_data = true;
	for (int i = 0; i < 5; i++)
		g_assert_cmpint(pp_dtls_send(l.e[0].d, (const uint8_t *)"abc", 3), ==, 0);
	g_assert_true(run_until(&l, idle_link, 5000));
	g_assert_null(l.e[1].d);
	g_assert_cmpuint(l.e[1].rx_lens->len, ==, 1);
	link_clear(&l);
}

static void test_small_mtu(void)
{
	struct link l;
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);

	c0.mtu = c1.mtu = PP_DTLS_MTU_MIN;
	link_init(&l);
	link_open(&l, &c0, &c1);
	g_assert_true(run_until(&l, both_settled, 5000));
	for (int i = 0; i < 2; i++) {
		g_assert_cmpint(l.e[i].state, ==, PP_DTLS_CONNECTED);
		g_assert_cmpuint(l.e[i].max_hs_out, <=, PP_DTLS_MTU_MIN);
		g_assert_cmpuint(pp_dtls_data_mtu(l.e[i].d), ==, PP_DTLS_MTU_MIN - 37);
	}
	link_clear(&l);
}

static void test_config(void)
{
	GMainContext *ctx = g_main_context_new();
	struct pp_dtls_config c = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_callbacks cb = test_cb;
	struct pp_dtls *d;

	d = pp_dtls_new(ctx, &c, &cb, NULL);
	g_assert_nonnull(d);
	g_assert_cmpint(pp_dtls_send(d, (const uint8_t *)"x", 1), ==, PP_ERR_STATE);
	g_assert_cmpstr(pp_dtls_cipher(d), ==, "");
	g_assert_cmpuint(pp_dtls_data_mtu(d), ==, PP_DTLS_MTU_DEFAULT - 37);
	pp_dtls_free(d); /* never started */

	c.mtu = PP_DTLS_MTU_MIN - 1;
	g_assert_null(pp_dtls_new(ctx, &c, &cb, NULL));
	c.mtu = PP_DTLS_DATAGRAM_MAX + 1;
	g_assert_null(pp_dtls_new(ctx, &c, &cb, NULL));
	c = config_for(id_a, id_b, PP_DTLS_CLIENT);
	static const char sha1[] = "sha-1 00:11:22:33:44:55:66:77:88:99:00:11:22:33:44:55:66:77:88:99";
	g_assert_cmpint(pp_fingerprint_parse(sha1, strlen(sha1), &c.remote_fingerprint), ==, 0);
	g_assert_null(pp_dtls_new(ctx, &c, &cb, NULL));
	c = config_for(id_a, id_b, PP_DTLS_CLIENT);
	c.identity = NULL;
	g_assert_null(pp_dtls_new(ctx, &c, &cb, NULL));
	c = config_for(id_a, id_b, PP_DTLS_CLIENT);
	c.pins = NULL;
	g_assert_null(pp_dtls_new(ctx, &c, &cb, NULL));
	c = config_for(id_a, id_b, PP_DTLS_CLIENT);
	cb.send_datagram = NULL;
	g_assert_null(pp_dtls_new(ctx, &c, &cb, NULL));

	g_assert_cmpstr(pp_dtls_reason_str(PP_DTLS_REASON_NOT_PINNED), ==, "not pinned");
	g_assert_cmpstr(pp_dtls_reason_str(PP_DTLS_REASON_FINGERPRINT_MISMATCH), ==,
	                "fingerprint mismatch");
	g_assert_cmpstr(pp_dtls_reason_str((enum pp_dtls_reason)99), ==, "unknown");
	g_assert_cmpstr(pp_dtls_state_str(PP_DTLS_CONNECTED), ==, "connected");
	g_main_context_unref(ctx);
}

/* ---- figures (only with -m perf) ---- */

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void perf_handshakes(void)
{
	const int n = 200;
	double cpu0 = cpu_seconds();
	gint64 t0 = g_get_monotonic_time();

	for (int i = 0; i < n; i++) {
		struct link l;
		struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
		struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);
		link_init(&l);
		link_open(&l, &c0, &c1);
		g_assert_true(run_until(&l, both_settled, 5000));
		link_clear(&l);
	}
	double cpu = cpu_seconds() - cpu0;
	double wall = (double)(g_get_monotonic_time() - t0) / 1e6;
	g_printerr("# handshake (both sides, incl. SSL_CTX setup): %.3f ms CPU, %.3f ms wall\n",
	           cpu / n * 1e3, wall / n * 1e3);
}

static void on_bulk(void *user, const uint8_t *data, size_t len)
{
	struct end *me = user;

	me->n_bulk++;
}

/* Records of size bytes one way, sealed, through the in-memory link and
 * opened, with both sides on OpenSSL's record layer or on ours. */
static void perf_records(size_t size, unsigned int records, bool openssl_records)
{
	struct link l;
	struct pp_dtls_config c0 = config_for(id_a, id_b, PP_DTLS_CLIENT);
	struct pp_dtls_config c1 = config_for(id_b, id_a, PP_DTLS_SERVER);
	struct pp_dtls_callbacks cb = test_cb;
	uint8_t buf[1200];
	const unsigned int batch = 500;

	g_assert_cmpuint(size, <=, sizeof(buf));
	c0.openssl_records = c1.openssl_records = openssl_records;
	cb.on_data = on_bulk;
	link_init(&l);
	l.e[0].d = pp_dtls_new(l.ctx, &c0, &cb, &l.e[0]);
	l.e[1].d = pp_dtls_new(l.ctx, &c1, &cb, &l.e[1]);
	pp_dtls_start(l.e[0].d);
	pp_dtls_start(l.e[1].d);
	g_assert_true(run_until(&l, both_settled, 5000));
	for (int i = 0; i < 2; i++) /* each has one of the other's: ours seal too */
		(void)next_seq(&l, &l.e[i]);
	g_assert_true(run_until(&l, idle_link, 5000));
	l.e[1].n_bulk = 0;
	fill(buf, size, 1);
	double cpu0 = cpu_seconds();
	for (unsigned int i = 0; i < records; i += batch) {
		for (unsigned int j = 0; j < batch; j++)
			g_assert_cmpint(pp_dtls_send(l.e[0].d, buf, size), ==, 0);
		g_assert_true(run_until(&l, idle_link, 5000));
	}
	double cpu = cpu_seconds() - cpu0;
	g_assert_cmpuint(l.e[1].n_bulk, ==, records);
	double mb = (double)records * size / 1e6;
	g_printerr("# %u records of %zu bytes, %s records, seal + in-memory link + open, one "
	           "thread: %.2f us CPU per record, %.0f MB/s per CPU second (%s)\n",
	           records, size, openssl_records ? "OpenSSL's" : "our", cpu / records * 1e6,
	           mb / cpu, pp_dtls_cipher(l.e[0].d));
	link_clear(&l);
}

static void perf_throughput(void)
{
	for (int i = 0; i < 2; i++) {
		perf_records(100, 200000, true); /* a small SCTP packet */
		perf_records(100, 200000, false);
		perf_records(1200, 200000, true);
		perf_records(1200, 200000, false);
	}
}

static void test_perf(void)
{
	if (!g_test_perf()) {
		g_test_skip("figures only with -m perf");
		return;
	}
	perf_handshakes();
	perf_throughput();
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	logged = g_string_new(NULL);
	pp_log_set_sink(log_sink, NULL);
	g_assert_cmpint(pp_identity_new_ephemeral(&id_a), ==, 0);
	g_assert_cmpint(pp_identity_new_ephemeral(&id_b), ==, 0);
	g_assert_cmpint(pp_identity_new_ephemeral(&id_evil), ==, 0);

	g_test_add_func("/rtc/dtls/handshake/client-server", test_handshake_client_server);
	g_test_add_func("/rtc/dtls/handshake/server-client", test_handshake_server_client);
	g_test_add_func("/rtc/dtls/data", test_data);
	g_test_add_func("/rtc/dtls/records-per-datagram", test_records_per_datagram);
	g_test_add_func("/rtc/dtls/records-before-finished", test_records_before_finished);
	g_test_add_func("/rtc/dtls/records/interop", test_records_interop);
	g_test_add_func("/rtc/dtls/records/early-flood", test_records_early_flood);
	g_test_add_func("/rtc/dtls/records/replay", test_records_replay);
	g_test_add_func("/rtc/dtls/exporter", test_exporter);
	g_test_add_func("/rtc/dtls/refuse/mismatch-server-cert", test_mismatch_server_cert);
	g_test_add_func("/rtc/dtls/refuse/mismatch-client-cert", test_mismatch_client_cert);
	g_test_add_func("/rtc/dtls/refuse/not-pinned", test_not_pinned);
	g_test_add_func("/rtc/dtls/refuse/sdp-lies", test_sdp_lies);
	g_test_add_func("/rtc/dtls/allow-unpinned", test_allow_unpinned);
	g_test_add_func("/rtc/dtls/loss", test_loss);
	g_test_add_func("/rtc/dtls/timeout/client", test_timeout_client);
	g_test_add_func("/rtc/dtls/timeout/server", test_timeout_server);
	g_test_add_func("/rtc/dtls/garbage", test_garbage);
	g_test_add_func("/rtc/dtls/close", test_close);
	g_test_add_func("/rtc/dtls/free-in-callback", test_free_in_callback);
	g_test_add_func("/rtc/dtls/small-mtu", test_small_mtu);
	g_test_add_func("/rtc/dtls/config", test_config);
	g_test_add_func("/rtc/dtls/perf", test_perf);
	int rc = g_test_run();
	pp_identity_free(id_a);
	pp_identity_free(id_b);
	pp_identity_free(id_evil);
	g_string_free(logged, TRUE);
	return rc;
}
