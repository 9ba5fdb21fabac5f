/* SPDX-License-Identifier: Apache-2.0 */
/* sctp-bench: one-channel bulk throughput between two usrsctp associations
 * in this process, joined by the in-memory link of the unit tests (no DTLS,
 * no sockets). Both ends share one thread, so the figure is the cost of
 * sending and receiving together. Prints MB/s, packets and CPU time.
 *
 *   sctp-bench [--bytes N] [--msg N] [--mtu N] [--buffer N] [--loss P]
 */
#include "peerpipe/log.h"
#include "peerpipe/rtc/sctp.h"
#include "sctp_pair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct bench {
	struct pp_sctp_channel *ch;
	uint64_t total, sent, received;
	size_t msg, high;
	uint8_t *block;
};

static void bench_pump(struct bench *b)
{
	while (b->sent < b->total && pp_sctp_channel_buffered_amount(b->ch) <= b->high) {
		size_t n = (size_t)MIN((uint64_t)b->msg, b->total - b->sent);
		if (pp_sctp_channel_send(b->ch, false, b->block, n) < 0) {
			fprintf(stderr, "send failed\n");
			exit(1);
		}
		b->sent += n;
	}
}

static void bench_low(struct sctp_side *side, struct pp_sctp_channel *ch)
{
	bench_pump(side->test);
}

static void bench_message(struct sctp_side *side, struct pp_sctp_channel *ch,
                          enum pp_sctp_kind kind, const uint8_t *data, size_t len)
{
	struct bench *b = side->test;

	b->received += len;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct bench b = { .total = 1000u * 1000 * 1000, .msg = 64 * 1024, .high = 1024 * 1024 };
	struct pp_sctp_config c = { 0 };
	struct sctp_pair p;
	double loss = 0, cpu0, cpu1;
	gint64 t0, t1;

	for (int i = 1; i + 1 < argc; i += 2) {
		unsigned long long v = strtoull(argv[i + 1], NULL, 10);
		if (!strcmp(argv[i], "--bytes"))
			b.total = v;
		else if (!strcmp(argv[i], "--msg"))
			b.msg = (size_t)v;
		else if (!strcmp(argv[i], "--mtu"))
			c.path_mtu = (uint32_t)v;
		else if (!strcmp(argv[i], "--buffer"))
			c.send_buffer = c.recv_buffer = (uint32_t)v;
		else if (!strcmp(argv[i], "--loss"))
			loss = strtod(argv[i + 1], NULL);
		else {
			fprintf(stderr, "usage: %s [--bytes N] [--msg N] [--mtu N] [--buffer N] [--loss P]\n",
			        argv[0]);
			return 2;
		}
	}
	if (b.msg == 0 || b.msg > 262144) {
		fprintf(stderr, "--msg must be 1..262144\n");
		return 2;
	}
	pp_log_setup("sctp-bench", PP_LOG_ERROR, PP_LOG_TEXT);
	b.block = g_malloc0(b.msg);
	sctp_pair_init(&p, &c, &c);
	p.side[0].test = p.side[1].test = &b;
	p.side[0].hooks.on_low = bench_low;
	p.side[1].hooks.on_message = bench_message;
	sctp_pair_connect(&p);
	g_assert_cmpint(pp_sctp_channel_open(p.side[0].s, "bench", "", NULL, &b.ch), ==, 0);
	SCTP_RUN_UNTIL(&p, pp_sctp_channel_get_state(b.ch) == PP_SCTP_CHANNEL_OPEN, 5000);
	pp_sctp_channel_set_low_threshold(b.ch, 256 * 1024);
	p.loss = loss;
	t0 = g_get_monotonic_time();
	cpu0 = cpu_seconds();
	bench_pump(&b);
	SCTP_RUN_UNTIL(&p, b.received == b.total, 600000);
	t1 = g_get_monotonic_time();
	cpu1 = cpu_seconds();
	printf("sctp-bench: %.1f MB in %.3f s: %.1f MB/s, %zu-byte messages, path MTU %u, "
	       "%" G_GUINT64_FORMAT " packets A->B (largest %zu), %" G_GUINT64_FORMAT
	       " B->A, CPU %.2f s (%.1f MB per CPU second)\n",
	       b.total / 1e6, (t1 - t0) / 1e6, b.total / ((t1 - t0) / 1e6) / 1e6, b.msg,
	       c.path_mtu ? c.path_mtu : 1151, p.side[0].packets, p.side[0].max_packet,
	       p.side[1].packets, cpu1 - cpu0, b.total / (cpu1 - cpu0) / 1e6);
	sctp_pair_free(&p);
	g_free(b.block);
	return 0;
}
