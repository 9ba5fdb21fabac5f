/* SPDX-License-Identifier: Apache-2.0 */
/* See tunnel_pair.h. */
#include "tunnel_pair.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/identity.h"
#include "peerpipe/rtc/sctp.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/frame.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TP_BLOCK 65536

/* --- the deterministic stream ---------------------------------------------- */

static uint64_t tp_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void tp_gen_block(uint32_t seed, uint64_t index, uint8_t out[TP_BLOCK])
{
	uint64_t x = ((uint64_t)seed << 32) ^ (index * 0x632BE59BD9B4E019ull) ^ 0x1234567ull;

	if (index % 2 == 0) {
		for (size_t i = 0; i < TP_BLOCK; i += 8) {
			uint64_t r = tp_splitmix(&x);
			memcpy(out + i, &r, 8);
		}
		return;
	}
	/* Text: repetitive enough for LZ4 and zstd, not constant. */
	size_t o = 0;
	unsigned row = 0;
	while (o < TP_BLOCK) {
		char line[128];
		uint64_t r = tp_splitmix(&x);
		int n = snprintf(line, sizeof(line),
		                 "INSERT INTO t%u VALUES (%u, 'seed %u block %llu', %llu);\n",
		                 (unsigned)(r % 7), row++, seed, (unsigned long long)index,
		                 (unsigned long long)(r % 100000));
		size_t take = MIN((size_t)n, TP_BLOCK - o);
		memcpy(out + o, line, take);
		o += take;
	}
}

void tp_gen_sha(uint32_t seed, uint64_t len, uint8_t out[TP_SHA_LEN])
{
	uint8_t *b = g_malloc(TP_BLOCK);
	EVP_MD_CTX *h = EVP_MD_CTX_new();

	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	for (uint64_t i = 0; i * TP_BLOCK < len; i++) {
		tp_gen_block(seed, i, b);
		EVP_DigestUpdate(h, b, MIN((uint64_t)TP_BLOCK, len - i * TP_BLOCK));
	}
	EVP_DigestFinal_ex(h, out, NULL);
	EVP_MD_CTX_free(h);
	g_free(b);
}

/* --- sockets ------------------------------------------------------------------- */

int tp_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void tp_sockbuf(int fd, int sockbuf)
{
	if (sockbuf > 0) {
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sockbuf, sizeof(sockbuf));
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof(sockbuf));
	}
}

void tp_socket_pair(bool unix_socket, int sockbuf, int *a, int *b)
{
	if (unix_socket) {
		int sv[2];
		g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
		*a = sv[0];
		*b = sv[1];
		tp_sockbuf(*a, sockbuf);
		tp_sockbuf(*b, sockbuf);
		return;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int one = 1;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(l, >=, 0);
	tp_sockbuf(l, sockbuf); /* inherited by the accepted socket */
	g_assert_cmpint(bind(l, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(l, 1), ==, 0);
	g_assert_cmpint(getsockname(l, (struct sockaddr *)&sa, &sl), ==, 0);
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(*a, >=, 0);
	tp_sockbuf(*a, sockbuf);
	g_assert_cmpint(connect(*a, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	*b = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	g_assert_cmpint(*b, >=, 0);
	close(l);
	setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* --- pumps ----------------------------------------------------------------------- */

static void tp_store(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

uint64_t tp_pump_received(struct tp_pump *p)
{
	return __atomic_load_n(&p->received, __ATOMIC_ACQUIRE);
}

uint64_t tp_pump_sent(struct tp_pump *p)
{
	return __atomic_load_n(&p->sent, __ATOMIC_ACQUIRE);
}

bool tp_pump_done(struct tp_pump *p)
{
	return g_atomic_int_get(&p->done) != 0;
}

struct tp_out {
	uint8_t *buf; /* pending output: buf[off..len) */
	size_t off, len, cap;
};

static gpointer tp_pump_main(gpointer data)
{
	struct tp_pump *p = data;
	const struct tp_pump_cfg *c = &p->cfg;
	size_t chunk = c->read_chunk ? c->read_chunk : TP_BLOCK;
	uint8_t *rbuf = g_malloc(chunk);
	struct tp_out out = { .cap = 256 * 1024 };
	EVP_MD_CTX *hs = EVP_MD_CTX_new(), *hr = EVP_MD_CTX_new();
	gint64 deadline = g_get_monotonic_time() + (gint64)(c->timeout_s ? c->timeout_s : 100) * G_USEC_PER_SEC;
	gint64 next_read = 0;
	uint64_t gen_next = 0; /* next generated block */
	uint64_t sent = 0, received = 0;
	bool rd_done = false, wr_done = false, sha_queued = false;
	bool generating = c->send > 0;

	out.buf = g_malloc(out.cap);
	EVP_DigestInit_ex(hs, EVP_sha256(), NULL);
	EVP_DigestInit_ex(hr, EVP_sha256(), NULL);
	tp_set_nonblock(p->fd);
	if (!generating && !c->echo && !c->sha_reply) {
		wr_done = true;
		if (c->shut_wr)
			shutdown(p->fd, SHUT_WR);
	}

	while (!(rd_done && wr_done)) {
		gint64 now = g_get_monotonic_time();
		if (g_atomic_int_get(&p->stop)) {
			p->err = ECANCELED;
			p->err_op = "stopped";
			break;
		}
		if (now > deadline) {
			p->timed_out = true;
			break;
		}
		/* Refill the output from the generator. */
		if (generating && out.off == out.len && sent < c->send) {
			tp_gen_block(c->seed, gen_next++, out.buf);
			out.off = 0;
			out.len = (size_t)MIN((uint64_t)TP_BLOCK, c->send - sent);
		}
		bool paused = c->pause_at && sent >= c->pause_at && c->gate && !g_atomic_int_get(c->gate);
		bool want_w = !wr_done && out.len > out.off && !paused;
		bool want_r = !rd_done && !c->no_read && (!c->echo || out.len < out.cap / 2) &&
		              now >= next_read && (!c->read_gate || g_atomic_int_get(c->read_gate));
		int timeout = 100;
		if (!rd_done && !c->no_read && now < next_read)
			timeout = (int)MIN((gint64)100, (next_read - now + 999) / 1000);
		struct pollfd pfd = { .fd = p->fd, .events = (short)((want_r ? POLLIN : 0) | (want_w ? POLLOUT : 0)) };
		int pr = poll(&pfd, 1, timeout);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			p->err = errno;
			p->err_op = "poll";
			break;
		}
		if (want_r && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
			size_t room = chunk;
			if (c->echo)
				room = MIN(room, out.cap - out.len);
			ssize_t n = recv(p->fd, rbuf, room, 0);
			if (n > 0) {
				EVP_DigestUpdate(hr, rbuf, (size_t)n);
				if (p->head_len < sizeof(p->head)) {
					size_t k = MIN(sizeof(p->head) - p->head_len, (size_t)n);
					memcpy(p->head + p->head_len, rbuf, k);
					p->head_len += k;
				}
				received += (uint64_t)n;
				tp_store(&p->received, received);
				if (c->echo) {
					if (out.off == out.len)
						out.off = out.len = 0;
					memcpy(out.buf + out.len, rbuf, (size_t)n);
					out.len += (size_t)n;
				}
				if (c->read_delay_ms)
					next_read = g_get_monotonic_time() + (gint64)c->read_delay_ms * 1000;
				if (c->rst_after && received >= c->rst_after) {
					struct linger lg = { .l_onoff = 1, .l_linger = 0 };
					setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
					p->err_op = "rst";
					break;
				}
			} else if (n == 0) {
				p->eof = true;
				g_atomic_int_set(&p->eof_seen, 1);
				rd_done = true;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				p->err = errno;
				p->err_op = "read";
				break;
			}
		}
		if (c->sha_reply && rd_done && !sha_queued) {
			uint8_t d[TP_SHA_LEN];
			EVP_MD_CTX *copy = EVP_MD_CTX_new();
			EVP_MD_CTX_copy_ex(copy, hr);
			EVP_DigestFinal_ex(copy, d, NULL);
			EVP_MD_CTX_free(copy);
			memcpy(out.buf, d, sizeof(d));
			out.off = 0;
			out.len = sizeof(d);
			sha_queued = true;
		}
		if (!wr_done && out.len > out.off && !paused) {
			ssize_t n = send(p->fd, out.buf + out.off, out.len - out.off, MSG_NOSIGNAL);
			if (n > 0) {
				EVP_DigestUpdate(hs, out.buf + out.off, (size_t)n);
				out.off += (size_t)n;
				sent += (uint64_t)n;
				tp_store(&p->sent, sent);
			} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				p->err = errno;
				p->err_op = "write";
				break;
			}
		}
		/* Is the sending side finished? */
		if (!wr_done && out.off == out.len) {
			bool finished = generating ? sent >= c->send
			              : c->echo    ? rd_done
			                           : sha_queued;
			if (finished) {
				wr_done = true;
				if (c->shut_wr || c->echo || c->sha_reply)
					shutdown(p->fd, SHUT_WR);
			}
		}
		if (c->no_read && wr_done && !rd_done) {
			/* Holds the socket without reading: only stop/deadline end it,
			 * or the peer's reset seen by a zero-length poll. */
			if (pfd.revents & (POLLHUP | POLLERR)) {
				int e = 0;
				socklen_t el = sizeof(e);
				getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &el);
				p->err = e ? e : EPIPE; /* a hangup without error: closed */
				p->err_op = "hup";
				break;
			}
		}
	}
	while (c->hold_open && rd_done && wr_done && !p->err && !g_atomic_int_get(&p->stop) &&
	       g_get_monotonic_time() < deadline) {
		struct pollfd pfd = { .fd = p->fd, .events = 0 };
		if (poll(&pfd, 1, 100) > 0 && (pfd.revents & (POLLHUP | POLLERR))) {
			int e = 0;
			socklen_t el = sizeof(e);
			getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &el);
			p->err = e ? e : EPIPE;
			p->err_op = "hup";
		}
	}
	if (c->rst_at_end) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(p->fd);
	p->fd = -1;
	EVP_DigestFinal_ex(hs, p->sent_sha, NULL);
	EVP_DigestFinal_ex(hr, p->recv_sha, NULL);
	EVP_MD_CTX_free(hs);
	EVP_MD_CTX_free(hr);
	g_free(rbuf);
	g_free(out.buf);
	g_atomic_int_set(&p->done, 1);
	if (p->wake)
		g_main_context_wakeup(p->wake);
	return NULL;
}

struct tp_pump *tp_pump_start(int fd, const struct tp_pump_cfg *cfg, GMainContext *wake)
{
	struct tp_pump *p = g_new0(struct tp_pump, 1);

	p->cfg = *cfg;
	p->fd = fd;
	p->wake = wake;
	p->thread = g_thread_new("pump", tp_pump_main, p);
	return p;
}

void tp_pump_stop(struct tp_pump *p)
{
	if (!p || !p->thread)
		return;
	g_atomic_int_set(&p->stop, 1);
	g_thread_join(p->thread);
	p->thread = NULL;
}

void tp_pump_free(struct tp_pump *p)
{
	if (!p)
		return;
	tp_pump_stop(p);
	g_free(p);
}

/* --- the pair of sessions ------------------------------------------------------------ */

struct tp_sig {
	struct tp_side *to;
	bool sdp;
	char *type;
	char *text; /* sdp or candidate line; NULL: end of candidates */
};

static void tp_sig_free(struct tp_sig *m)
{
	g_free(m->type);
	g_free(m->text);
	g_free(m);
}

static void tp_sig_drain(struct tunnel_pair *tp)
{
	struct tp_sig *m;

	while ((m = g_queue_pop_head(&tp->sigq))) {
		if (m->to->s) {
			if (m->sdp)
				g_assert_cmpint(pp_tsession_remote_sdp(m->to->s, m->type, m->text), ==, 0);
			else
				pp_tsession_remote_candidate(m->to->s, m->text);
		}
		tp_sig_free(m);
	}
}

static gboolean tp_sig_deliver(gpointer data)
{
	struct tunnel_pair *tp = data;

	g_source_unref(tp->sig_idle);
	tp->sig_idle = NULL;
	tp_sig_drain(tp);
	return G_SOURCE_REMOVE;
}

static void tp_sig_post(struct tp_side *from, bool sdp, const char *type, const char *text)
{
	struct tunnel_pair *tp = from->pair;
	struct tp_sig *m = g_new0(struct tp_sig, 1);

	m->to = from == &tp->gw ? &tp->desk : &tp->gw;
	m->sdp = sdp;
	m->type = g_strdup(type);
	m->text = g_strdup(text);
	g_queue_push_tail(&tp->sigq, m);
	if (tp->sync_signaling) {
		/* Straight into the other session, from inside our callback. */
		tp_sig_drain(tp);
		return;
	}
	if (!tp->sig_idle) {
		tp->sig_idle = g_idle_source_new();
		g_source_set_callback(tp->sig_idle, tp_sig_deliver, tp, NULL);
		g_source_attach(tp->sig_idle, tp->ctx);
	}
}

static void tp_send_sdp(void *user, struct pp_tsession *s, const char *type, const char *sdp)
{
	tp_sig_post(user, true, type, sdp);
}

static void tp_send_ice(void *user, struct pp_tsession *s, const char *line, const char *mid,
                        unsigned index)
{
	tp_sig_post(user, false, NULL, line);
}

static void tp_on_ready(void *user, struct pp_tsession *s)
{
	struct tp_side *side = user;
	side->ready = true;
}

static void tp_on_control(void *user, struct pp_tsession *s, const struct pp_ctrl_msg *m)
{
	struct tp_side *side = user;
	g_ptr_array_add(side->controls, g_strdup_printf("%s:%s", pp_ctrl_type_name(m->type),
	                                                m->reason ? m->reason : ""));
}

static struct tp_stream *tp_stream_new(struct tp_side *side, struct pp_tstream *st, const char *label)
{
	struct tp_stream *ts = g_new0(struct tp_stream, 1);

	ts->side = side;
	ts->st = st;
	ts->sock_fd = -1;
	ts->last_text = -1;
	g_strlcpy(ts->name, pp_tstream_name(st), sizeof(ts->name));
	g_strlcpy(ts->label, label, sizeof(ts->label));
	pp_tstream_set_data(st, ts);
	g_ptr_array_add(side->streams, ts);
	return ts;
}

static void tp_stream_free(struct tp_stream *ts)
{
	tp_pump_free(ts->pump);
	g_free(ts);
}

void tp_gateway_connect(struct tunnel_pair *tp, struct tp_stream *ts, const struct tp_pump_cfg *cfg)
{
	int a, b;

	g_assert_nonnull(ts->st);
	g_assert_null(ts->pump);
	tp_socket_pair(false, tp->sockbuf, &a, &b);
	g_assert_cmpint(tp_set_nonblock(a), ==, 0);
	ts->pump = tp_pump_start(b, cfg, tp->ctx);
	ts->sock_fd = a;
	g_assert_cmpint(pp_tstream_attach(ts->st, a), ==, 0);
	char *j = pp_ctrl_build_connected();
	if (ts->connected_hold_ms)
		g_assert_cmpint(pp_tstream_send_text_soon(ts->st, j, ts->connected_hold_ms), ==, 0);
	else
		g_assert_cmpint(pp_tstream_send_text(ts->st, j), ==, 0);
	free(j);
	ts->connected = true;
}

/* The gateway: the real gateway's answer (gw_stream.c), with the test's
 * service end points. */
static void tp_on_stream_request(void *user, struct pp_tsession *s, struct pp_sctp_channel *ch)
{
	struct tp_side *side = user;
	struct tunnel_pair *tp = side->pair;
	const char *label = pp_sctp_channel_label(ch);
	const struct tp_service *svc = g_hash_table_lookup(tp->services, label);
	struct pp_tstream *st;
	struct tp_stream *ts;

	if (svc && svc->never_close) {
		char *j = pp_ctrl_build_connected();
		g_assert_cmpint(pp_sctp_channel_send(ch, true, j, strlen(j)), ==, 0);
		free(j);
		j = pp_ctrl_build_eof();
		g_assert_cmpint(pp_sctp_channel_send(ch, true, j, strlen(j)), ==, 0);
		free(j);
		return;
	}
	st = pp_tsession_accept_stream(s, ch);
	g_assert_nonnull(st);
	ts = tp_stream_new(side, st, label);
	if (!svc) {
		char *j = pp_ctrl_build_denied("not allowed");
		pp_tstream_send_text(st, j);
		free(j);
		pp_tstream_finish(st, "denied");
		return;
	}
	ts->connected_hold_ms = svc->connected_hold_ms;
	if (svc->hold)
		return;
	tp_gateway_connect(tp, ts, &svc->pump);
}

static void tp_on_stream_text(void *user, struct pp_tsession *s, struct pp_tstream *st,
                              const struct pp_ctrl_msg *m)
{
	struct tp_stream *ts = pp_tstream_get_data(st);

	if (m->type == PP_CTRL_CONNECTED) {
		pp_tstream_confirm(st);
		if (ts) {
			struct pp_tstream_stats stats;
			pp_tstream_get_stats(st, &stats);
			ts->connected = true;
			ts->wire_at_connected = stats.wire_out;
		}
	}
	if (ts)
		ts->last_text = (int)m->type;
}

static void tp_on_stream_closed(void *user, struct pp_tsession *s, struct pp_tstream *st,
                                const char *reason)
{
	struct tp_stream *ts = pp_tstream_get_data(st);

	if (!ts)
		return;
	g_assert_false(ts->closed); /* exactly once */
	ts->closed = true;
	g_strlcpy(ts->reason, reason ? reason : "(null)", sizeof(ts->reason));
	pp_tstream_get_stats(st, &ts->stats);
	ts->st = NULL;
	g_test_message("%s: stream %s closed: %s (in %" G_GUINT64_FORMAT ", out %" G_GUINT64_FORMAT ")",
	               ts->side->name, ts->name, ts->reason, ts->stats.bytes_in, ts->stats.bytes_out);
}

static void tp_on_closed(void *user, struct pp_tsession *s, const char *reason)
{
	struct tp_side *side = user;

	g_assert_false(side->closed);
	side->closed = true;
	g_strlcpy(side->closed_reason, reason ? reason : "(null)", sizeof(side->closed_reason));
	g_test_message("%s: session closed: %s", side->name, side->closed_reason);
}

static const struct pp_tsession_callbacks tp_callbacks = {
	.send_sdp = tp_send_sdp,
	.send_ice = tp_send_ice,
	.on_ready = tp_on_ready,
	.on_control = tp_on_control,
	.on_stream_request = tp_on_stream_request,
	.on_stream_text = tp_on_stream_text,
	.on_stream_closed = tp_on_stream_closed,
	.on_closed = tp_on_closed,
};

static const char *const tp_loopback[] = { "127.0.0.1" };

static void tp_log_sink(enum pp_log_level level, const char *line, void *user)
{
	struct tunnel_pair *tp = user;

	if (level <= PP_LOG_WARN)
		g_ptr_array_add(tp->log, g_strdup(line));
	if (level <= PP_LOG_INFO)
		fprintf(stderr, "%s\n", line);
}

bool tp_log_contains(struct tunnel_pair *tp, const char *needle)
{
	for (guint i = 0; i < tp->log->len; i++)
		if (strstr(g_ptr_array_index(tp->log, i), needle))
			return true;
	return false;
}

static void tp_side_init(struct tunnel_pair *tp, struct tp_side *side, const char *name, bool gateway)
{
	side->pair = tp;
	side->name = name;
	side->gateway = gateway;
	side->controls = g_ptr_array_new_with_free_func(g_free);
	side->streams = g_ptr_array_new_with_free_func((GDestroyNotify)tp_stream_free);
	g_assert_cmpint(pp_identity_new_ephemeral(&side->id), ==, 0);
}

static void tp_side_session(struct tp_side *side, const struct tp_side *other,
                            const struct tp_pair_opts *o)
{
	struct pp_tsession_config cfg = {
		.peer = {
			.identity = side->id,
			.pins = pp_identity_fingerprint(other->id),
			.n_pins = 1,
			.local_addresses = tp_loopback,
			.n_local_addresses = 1,
			.log_peer = side->name,
		},
		.offerer = !side->gateway,
		.is_gateway = side->gateway,
		.agent = "peerpipe/test",
		.our_formats = PP_FRAME_FMT_ALL,
		.compression = o->compression,
		.stream = o->stream,
		.streams_memory = o->streams_memory,
	};
	side->s = pp_tsession_new(side->pair->ctx, &cfg, &tp_callbacks, side);
	g_assert_nonnull(side->s);
}

static bool tp_pred_ready(void *data)
{
	struct tunnel_pair *tp = data;
	return (tp->gw.ready && tp->desk.ready) || tp->gw.closed || tp->desk.closed;
}

struct tunnel_pair *tp_pair_new(const struct tp_pair_opts *opts)
{
	static const struct tp_pair_opts defaults = { 0 };
	struct tunnel_pair *tp = g_new0(struct tunnel_pair, 1);

	if (!opts)
		opts = &defaults;
	tp->ctx = g_main_context_new();
	tp->sockbuf = opts->sockbuf;
	tp->sync_signaling = g_getenv("TP_SYNC_SIGNALING") != NULL;
	tp->log = g_ptr_array_new_with_free_func(g_free);
	pp_log_set_sink(tp_log_sink, tp);
	g_queue_init(&tp->sigq);
	tp->services = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	tp_side_init(tp, &tp->gw, "gateway", true);
	tp_side_init(tp, &tp->desk, "desktop", false);
	tp_side_session(&tp->gw, &tp->desk, opts);
	tp_side_session(&tp->desk, &tp->gw, opts);
	gint64 t0 = g_get_monotonic_time();
	g_assert_cmpint(pp_tsession_start_offer(tp->desk.s), ==, 0);
	g_assert_true(tp_run_until(tp, tp_pred_ready, tp, 20000));
	g_assert_false(tp->gw.closed);
	g_assert_false(tp->desk.closed);
	g_assert_cmpint(pp_tsession_get_state(tp->gw.s), ==, PP_TSESSION_READY);
	g_assert_cmpint(pp_tsession_get_state(tp->desk.s), ==, PP_TSESSION_READY);
	g_assert_true(pp_tsession_remote_is_gateway(tp->desk.s));
	g_assert_false(pp_tsession_remote_is_gateway(tp->gw.s));
	g_assert_cmpstr(pp_tsession_remote_agent(tp->gw.s), ==, "peerpipe/test");
	g_assert_true(pp_fingerprint_equal(pp_tsession_remote_fingerprint(tp->desk.s),
	                                   pp_identity_fingerprint(tp->gw.id)));
	g_assert_true(pp_fingerprint_equal(pp_tsession_remote_fingerprint(tp->gw.s),
	                                   pp_identity_fingerprint(tp->desk.id)));
	g_test_message("sessions ready in %.1f ms", (g_get_monotonic_time() - t0) / 1000.0);
	return tp;
}

static void tp_side_stop_pumps(struct tp_side *side)
{
	for (guint i = 0; i < side->streams->len; i++) {
		struct tp_stream *ts = g_ptr_array_index(side->streams, i);
		tp_pump_stop(ts->pump);
	}
}

void tp_pair_free(struct tunnel_pair *tp)
{
	if (!tp)
		return;
	if (tp->sig_idle) {
		g_source_destroy(tp->sig_idle);
		g_source_unref(tp->sig_idle);
	}
	g_queue_clear_full(&tp->sigq, (GDestroyNotify)tp_sig_free);
	/* Sessions first: they close their sockets, so the pumps see the end. */
	pp_tsession_free(tp->gw.s);
	pp_tsession_free(tp->desk.s);
	tp->gw.s = tp->desk.s = NULL;
	tp_side_stop_pumps(&tp->gw);
	tp_side_stop_pumps(&tp->desk);
	for (int i = 0; i < 2; i++) {
		struct tp_side *side = i ? &tp->desk : &tp->gw;
		g_ptr_array_free(side->streams, TRUE);
		g_ptr_array_free(side->controls, TRUE);
		pp_identity_free(side->id);
	}
	/* Let the sources the sessions left (closing sockets) run down. */
	while (g_main_context_iteration(tp->ctx, FALSE))
		;
	g_hash_table_destroy(tp->services);
	pp_log_set_sink(NULL, NULL);
	g_ptr_array_free(tp->log, TRUE);
	g_main_context_unref(tp->ctx);
	g_free(tp);
}

void tp_service_add(struct tunnel_pair *tp, const char *label, const struct tp_service *svc)
{
	g_hash_table_replace(tp->services, g_strdup(label), g_memdup2(svc, sizeof(*svc)));
}

struct tp_stream *tp_open(struct tunnel_pair *tp, const char *label, bool unix_socket,
                          const struct tp_pump_cfg *cfg, int *client_fd)
{
	struct pp_tstream *st = NULL;
	int a, b;

	tp_socket_pair(unix_socket, tp->sockbuf, &a, &b);
	g_assert_cmpint(tp_set_nonblock(a), ==, 0);
	g_assert_cmpint(pp_tsession_open_stream(tp->desk.s, label, a, &st), ==, 0);
	g_assert_nonnull(st);
	struct tp_stream *ts = tp_stream_new(&tp->desk, st, label);
	ts->sock_fd = a;
	if (cfg) {
		ts->pump = tp_pump_start(b, cfg, tp->ctx);
	} else {
		g_assert_nonnull(client_fd);
		*client_fd = b;
	}
	return ts;
}

struct tp_stream *tp_peer_stream(struct tunnel_pair *tp, const struct tp_stream *ds)
{
	struct tp_side *other = ds->side == &tp->gw ? &tp->desk : &tp->gw;

	for (guint i = other->streams->len; i-- > 0;) {
		struct tp_stream *ts = g_ptr_array_index(other->streams, i);
		if (strcmp(ts->name, ds->name) == 0)
			return ts;
	}
	return NULL;
}

struct tp_wait {
	struct tunnel_pair *tp;
	struct tp_stream *ds;
	bool held;
};

static bool tp_pred_established(void *data)
{
	struct tp_wait *w = data;
	struct tp_stream *gs = tp_peer_stream(w->tp, w->ds);

	if (w->ds->closed)
		return true;
	return gs && (w->held || w->ds->connected);
}

struct tp_stream *tp_wait_established(struct tunnel_pair *tp, struct tp_stream *ds, bool held)
{
	struct tp_wait w = { tp, ds, held };

	g_assert_true(tp_run_until(tp, tp_pred_established, &w, 20000));
	g_assert_false(ds->closed);
	return tp_peer_stream(tp, ds);
}

static gboolean tp_tick(gpointer data)
{
	return G_SOURCE_CONTINUE;
}

bool tp_run_until(struct tunnel_pair *tp, bool (*pred)(void *data), void *data, unsigned ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	GSource *tick = g_timeout_source_new(50);
	bool ok;

	g_source_set_callback(tick, tp_tick, NULL, NULL);
	g_source_attach(tick, tp->ctx);
	while (!(ok = pred(data)) && g_get_monotonic_time() < end)
		g_main_context_iteration(tp->ctx, TRUE);
	g_source_destroy(tick);
	g_source_unref(tick);
	return ok;
}

static bool tp_pred_never(void *data)
{
	return false;
}

void tp_run_for(struct tunnel_pair *tp, unsigned ms)
{
	tp_run_until(tp, tp_pred_never, NULL, ms);
}

bool tp_pred_pump_done(void *pump)
{
	return tp_pump_done(pump);
}

struct tp_count {
	struct tp_pump *p;
	uint64_t n;
	bool sent;
};

static bool tp_pred_count(void *data)
{
	struct tp_count *w = data;
	uint64_t have = w->sent ? tp_pump_sent(w->p) : tp_pump_received(w->p);
	return have >= w->n || tp_pump_done(w->p);
}

bool tp_wait_received(struct tunnel_pair *tp, struct tp_pump *p, uint64_t n, unsigned ms)
{
	struct tp_count w = { p, n, false };
	return tp_run_until(tp, tp_pred_count, &w, ms) && tp_pump_received(p) >= n;
}

bool tp_wait_sent(struct tunnel_pair *tp, struct tp_pump *p, uint64_t n, unsigned ms)
{
	struct tp_count w = { p, n, true };
	return tp_run_until(tp, tp_pred_count, &w, ms) && tp_pump_sent(p) >= n;
}

bool tp_pred_stream_closed(void *tp_stream)
{
	return ((struct tp_stream *)tp_stream)->closed;
}

uint64_t tp_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %" G_GUINT64_FORMAT, &kib) == 1)
			break;
	fclose(f);
	return kib;
}
