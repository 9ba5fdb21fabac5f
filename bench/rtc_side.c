/* SPDX-License-Identifier: Apache-2.0 */
#include "rtc_side.h"

#include "peerpipe/rtc/peer.h"

#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define HIGH_MARK (2u << 20)
#define LOW_MARK (1u << 20)
#define PATTERN_SIZE (1u << 20)

static const char *const loopback[] = { "127.0.0.1" };

/* One side of a connection. The other side is either in this process
 * (peer set) or behind a socketpair (fd >= 0). */
struct side {
	GMainContext *ctx;
	struct pp_peer *pc;
	struct side *peer;       /* in-process partner */
	int fd;                  /* signaling socket to the other process */
	struct pp_sctp_channel *ch;
	bool connected, failed, got_channel;
	/* bulk */
	bool sender;
	const uint8_t *pattern;  /* the sender's source, the receiver's reference */
	size_t total, msg, sent, received;
	bool verify;             /* receiver: compare every message with the pattern */
	bool mismatch;
	gint64 t_first, t_last;
	char *cpu_record;        /* 'H': the sender process's CPU seconds */
};

static double now_s(void)
{
	return (double)g_get_monotonic_time() / 1e6;
}

void rtc_ids_init(struct rtc_ids *ids)
{
	pp_identity_new_ephemeral(&ids->a);
	pp_identity_new_ephemeral(&ids->b);
}

void rtc_ids_free(struct rtc_ids *ids)
{
	pp_identity_free(ids->a);
	pp_identity_free(ids->b);
}

/* --- signaling: direct calls, or records over a socket ------------------- */

static void sig_write(int fd, char type, const char *payload)
{
	uint32_t len = (uint32_t)strlen(payload);
	uint8_t hdr[5] = { (uint8_t)type, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
	                   (uint8_t)len };
	if (write(fd, hdr, 5) != 5 || (len && write(fd, payload, len) != (ssize_t)len))
		perror("rtc-bench: signaling write");
}

/* Reads one record (blocking); returns the type or 0 at EOF. *payload is g_malloc'd. */
static char sig_read(int fd, char **payload)
{
	uint8_t hdr[5];
	size_t got = 0;
	while (got < 5) {
		ssize_t r = read(fd, hdr + got, 5 - got);
		if (r <= 0)
			return 0;
		got += (size_t)r;
	}
	uint32_t len = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 8 | hdr[4];
	if (len > (1u << 20))
		return 0;
	*payload = g_malloc(len + 1);
	for (got = 0; got < len;) {
		ssize_t r = read(fd, *payload + got, len - got);
		if (r <= 0) {
			g_free(*payload);
			return 0;
		}
		got += (size_t)r;
	}
	(*payload)[len] = '\0';
	return (char)hdr[0];
}

static void on_desc(void *user, const char *type, const char *sdp)
{
	struct side *s = user;
	if (s->peer) {
		pp_peer_set_remote_description(s->peer->pc, type, sdp, strlen(sdp));
		return;
	}
	char *rec = g_strdup_printf("%s\n%s", type, sdp);
	sig_write(s->fd, 'D', rec);
	g_free(rec);
}

static void on_cand(void *user, const char *line, const char *mid, unsigned index)
{
	struct side *s = user;
	(void)mid, (void)index;
	if (s->peer)
		pp_peer_add_remote_candidate(s->peer->pc, line);
	else
		sig_write(s->fd, 'C', line ? line : "");
}

static gboolean on_sig_readable(GIOChannel *io, GIOCondition cond, gpointer user)
{
	struct side *s = user;
	char *payload = NULL;
	(void)io, (void)cond;
	char type = sig_read(s->fd, &payload);
	if (type == 'D') {
		char *nl = strchr(payload, '\n');
		if (nl) {
			*nl = '\0';
			pp_peer_set_remote_description(s->pc, payload, nl + 1, strlen(nl + 1));
		}
	} else if (type == 'C') {
		pp_peer_add_remote_candidate(s->pc, payload[0] ? payload : NULL);
	} else if (type == 'H') {
		g_free(s->cpu_record);
		s->cpu_record = payload;
		payload = NULL;
	} else if (type == 0) {
		s->failed = true;
		return G_SOURCE_REMOVE;
	}
	g_free(payload);
	return G_SOURCE_CONTINUE;
}

/* --- data ----------------------------------------------------------------- */

static void send_more(struct side *s)
{
	while (s->sent < s->total && pp_sctp_channel_buffered_amount(s->ch) < HIGH_MARK) {
		size_t n = s->total - s->sent < s->msg ? s->total - s->sent : s->msg;
		const uint8_t *p = s->pattern + (s->sent % (PATTERN_SIZE - s->msg));
		if (pp_sctp_channel_send(s->ch, false, p, n) < 0)
			break;
		if (!s->t_first)
			s->t_first = g_get_monotonic_time();
		s->sent += n;
	}
}

static void on_state(void *user, enum pp_peer_state st, const char *reason)
{
	struct side *s = user;
	(void)reason;
	if (st == PP_PEER_CONNECTED) {
		s->connected = true;
	} else if (st == PP_PEER_FAILED) {
		s->failed = true;
	}
}

static void on_open(void *user, struct pp_sctp_channel *ch)
{
	struct side *s = user;
	s->ch = ch;
	s->got_channel = true;
	if (s->sender) {
		pp_sctp_channel_set_low_threshold(ch, LOW_MARK);
		send_more(s);
	}
}

static void on_message(void *user, struct pp_sctp_channel *ch, enum pp_sctp_kind kind,
                       const uint8_t *data, size_t len)
{
	struct side *s = user;
	(void)ch, (void)kind;
	if (!s->verify)
		return;
	/* Messages arrive whole and in order: message k is the slice the
	 * sender took at offset sent % (PATTERN_SIZE - msg). A byte-for-byte
	 * check at memcmp speed; a SHA-256 of both ends took a fifth of the
	 * one-process run's CPU (perf), which is the benchmark's, not the
	 * stack's. */
	if (len > s->msg || memcmp(data, s->pattern + s->received % (PATTERN_SIZE - s->msg), len) != 0)
		s->mismatch = true;
	s->received += len;
	if (s->received >= s->total)
		s->t_last = g_get_monotonic_time();
}

static void on_low(void *user, struct pp_sctp_channel *ch)
{
	struct side *s = user;
	(void)ch;
	if (s->sender)
		send_more(s);
}

static const struct pp_peer_callbacks side_cb = {
	.on_local_description = on_desc,
	.on_local_candidate = on_cand,
	.on_state = on_state,
	.on_channel_open = on_open,
	.on_message = on_message,
	.on_buffered_amount_low = on_low,
};

size_t rtc_max_datagram;

static struct pp_peer *side_peer(struct side *s, const struct pp_identity *me,
                                 const struct pp_fingerprint *pin)
{
	struct pp_peer_config cfg = {
		.identity = me, .pins = pin, .n_pins = 1,
		.local_addresses = loopback, .n_local_addresses = 1,
		.max_datagram = rtc_max_datagram,
	};
	s->pc = pp_peer_new(s->ctx, &cfg, &side_cb, s);
	return s->pc;
}

static bool run_until(GMainContext *ctx, bool *flag, bool *fail1, bool *fail2, double seconds)
{
	double end = now_s() + seconds;
	while (!*flag && !*fail1 && !*fail2 && now_s() < end)
		g_main_context_iteration(ctx, TRUE);
	return *flag;
}

/* The offerer opens the channel once connected. */
static bool open_when_connected(struct side *a, struct side *b)
{
	if (!run_until(a->ctx, &a->connected, &a->failed, &b->failed, 10))
		return false;
	struct pp_sctp_channel *ch;
	return pp_peer_channel_open(a->pc, "bench", "peerpipe.tcp.v1", NULL, &ch) == 0;
}

double rtc_connect_time_ms(struct rtc_ids *ids)
{
	struct side a = { .fd = -1 }, b = { .fd = -1 };
	double ms = -1;
	a.ctx = b.ctx = g_main_context_new();
	a.peer = &b;
	b.peer = &a;
	side_peer(&a, ids->a, pp_identity_fingerprint(ids->b));
	side_peer(&b, ids->b, pp_identity_fingerprint(ids->a));
	gint64 t0 = g_get_monotonic_time();
	if (pp_peer_create_offer(a.pc) == 0 && open_when_connected(&a, &b) &&
	    run_until(a.ctx, &b.got_channel, &a.failed, &b.failed, 10))
		ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
	pp_peer_free(a.pc);
	pp_peer_free(b.pc);
	while (g_main_context_iteration(a.ctx, FALSE))
		;
	g_main_context_unref(a.ctx);
	return ms;
}

/* Pseudo-random bytes (xorshift64*), the same in every process. */
static uint8_t *make_pattern(void)
{
	uint8_t *p = g_malloc(PATTERN_SIZE);
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < PATTERN_SIZE; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t v = x * 0x2545f4914f6cdd1dull;
		memcpy(p + i, &v, 8);
	}
	return p;
}

static double cpu_self(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static bool bulk_done(struct side *b)
{
	return b->received >= b->total;
}

int rtc_bulk_in_process(size_t bytes, size_t msg, struct rtc_bulk *out)
{
	struct rtc_ids ids;
	struct side a = { .fd = -1, .sender = true }, b = { .fd = -1, .verify = true };
	int rc = -1;
	double cpu0 = cpu_self();

	memset(out, 0, sizeof(*out));
	rtc_ids_init(&ids);
	a.ctx = b.ctx = g_main_context_new();
	a.peer = &b;
	b.peer = &a;
	a.pattern = b.pattern = make_pattern();
	a.total = b.total = bytes;
	a.msg = b.msg = msg;
	side_peer(&a, ids.a, pp_identity_fingerprint(ids.b));
	side_peer(&b, ids.b, pp_identity_fingerprint(ids.a));
	if (pp_peer_create_offer(a.pc) < 0 || !open_when_connected(&a, &b)) {
		snprintf(out->error, sizeof(out->error), "no connection");
		goto out;
	}
	out->setup_cpu_s = cpu_self() - cpu0;
	double end = now_s() + 120;
	while (!bulk_done(&b) && !a.failed && !b.failed && now_s() < end)
		g_main_context_iteration(a.ctx, TRUE);
	if (!bulk_done(&b)) {
		snprintf(out->error, sizeof(out->error), "received %zu of %zu bytes", b.received, bytes);
		goto out;
	}
	out->data_ok = !b.mismatch;
	out->packet = pp_peer_path_packet(a.pc);
	out->bytes = (double)bytes;
	out->seconds = (double)(b.t_last - a.t_first) / 1e6;
	rc = 0;
out:
	pp_peer_free(a.pc);
	pp_peer_free(b.pc);
	g_free((void *)a.pattern);
	g_main_context_unref(a.ctx);
	rtc_ids_free(&ids);
	return rc;
}

/* The child is the sender (offerer); the parent receives and reports. */
static void child_send(int fd, size_t bytes, size_t msg)
{
	struct side a = { .fd = fd, .sender = true };
	struct pp_identity *me;
	char *theirs = NULL;
	struct pp_fingerprint pin;

	pp_identity_new_ephemeral(&me);
	sig_write(fd, 'F', pp_identity_fingerprint_str(me));
	if (sig_read(fd, &theirs) != 'F' || pp_fingerprint_parse(theirs, strlen(theirs), &pin) < 0)
		_exit(1);
	a.ctx = g_main_context_new();
	a.pattern = make_pattern();
	a.total = bytes;
	a.msg = msg;
	side_peer(&a, me, &pin);
	GIOChannel *io = g_io_channel_unix_new(fd);
	GSource *src = g_io_create_watch(io, G_IO_IN | G_IO_HUP);
	g_source_set_callback(src, (GSourceFunc)(void (*)(void))on_sig_readable, &a, NULL);
	g_source_attach(src, a.ctx);
	bool never = false;
	if (pp_peer_create_offer(a.pc) < 0 || !open_when_connected(&a, &(struct side){ .failed = false }))
		_exit(2);
	while (a.sent < a.total && !a.failed)
		g_main_context_iteration(a.ctx, TRUE);
	char *rec = g_strdup_printf("%.6f", cpu_self());
	sig_write(fd, 'H', rec);
	/* keep serving until the receiver says it has everything */
	run_until(a.ctx, &never, &a.failed, &never, 60);
	_exit(0);
}

int rtc_bulk_two_processes(size_t bytes, size_t msg, struct rtc_bulk *out)
{
	int sv[2];
	memset(out, 0, sizeof(*out));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		snprintf(out->error, sizeof(out->error), "socketpair failed");
		return -1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child_send(sv[1], bytes, msg);
	}
	close(sv[1]);
	int fd = sv[0], rc = -1;
	struct side b = { .fd = fd, .total = bytes, .msg = msg, .verify = true };
	struct pp_identity *me;
	char *theirs = NULL, *hrec = NULL;
	struct pp_fingerprint pin;

	pp_identity_new_ephemeral(&me);
	sig_write(fd, 'F', pp_identity_fingerprint_str(me));
	if (sig_read(fd, &theirs) != 'F' || pp_fingerprint_parse(theirs, strlen(theirs), &pin) < 0) {
		snprintf(out->error, sizeof(out->error), "no fingerprint from the sender");
		goto out;
	}
	b.ctx = g_main_context_new();
	b.pattern = make_pattern();
	side_peer(&b, me, &pin);
	GIOChannel *io = g_io_channel_unix_new(fd);
	GSource *src = g_io_create_watch(io, G_IO_IN | G_IO_HUP);
	g_source_set_callback(src, (GSourceFunc)(void (*)(void))on_sig_readable, &b, NULL);
	g_source_attach(src, b.ctx);
	double end = now_s() + 180;
	double cpu0 = cpu_self();
	gint64 t_first = 0;
	while (!bulk_done(&b) && !b.failed && now_s() < end) {
		g_main_context_iteration(b.ctx, TRUE);
		if (!t_first && b.received)
			t_first = g_get_monotonic_time();
	}
	if (!bulk_done(&b)) {
		snprintf(out->error, sizeof(out->error), "received %zu of %zu bytes", b.received, bytes);
		goto out;
	}
	end = now_s() + 10;
	while (!b.cpu_record && now_s() < end)
		g_main_context_iteration(b.ctx, TRUE);
	g_source_destroy(src);
	hrec = b.cpu_record;
	if (!hrec) {
		snprintf(out->error, sizeof(out->error), "no CPU figure from the sender");
		goto out;
	}
	out->data_ok = !b.mismatch;
	out->sender_cpu_s = strtod(hrec, NULL);
	out->receiver_cpu_s = cpu_self() - cpu0;
	out->packet = pp_peer_path_packet(b.pc);
	out->bytes = (double)bytes;
	out->seconds = (double)(b.t_last - t_first) / 1e6;
	rc = 0;
out:
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(fd);
	g_free(theirs);
	g_free(hrec);
	if (b.pc)
		pp_peer_free(b.pc);
	g_free((void *)b.pattern);
	pp_identity_free(me);
	return rc;
}

double rtc_tcp_reference_mbps(size_t bytes)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		static uint8_t buf[65536];
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			_exit(1);
		for (size_t sent = 0; sent < bytes;) {
			ssize_t w = write(s, buf, sizeof(buf));
			if (w <= 0)
				_exit(1);
			sent += (size_t)w;
		}
		_exit(0);
	}
	int c = accept(ls, NULL, NULL);
	static uint8_t buf[65536];
	size_t got = 0;
	double t0 = now_s();
	for (ssize_t r; got < bytes && (r = read(c, buf, sizeof(buf))) > 0;)
		got += (size_t)r;
	double dt = now_s() - t0;
	close(c);
	close(ls);
	waitpid(pid, NULL, 0);
	return (double)got / dt / 1e6;
}
