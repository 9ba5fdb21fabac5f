/* SPDX-License-Identifier: Apache-2.0 */
/* Data-channel benchmark (a program, not a test): the whole stack (ICE on
 * 127.0.0.1, DTLS, SCTP, one reliable ordered channel) between two peers.
 *
 *   rtc-bench [--mb N] [--runs N] [--msg BYTES] [--only setup|one|two|tcp]
 *             [--max-datagram BYTES]
 *
 * Prints, from one run: connection setup time (create offer -> channel
 * open at the answerer) median/p90 over --runs connections with identities
 * already made; bulk throughput and CPU of one channel with both peers in
 * one process (one thread) and in two processes; and, as the reference, raw
 * TCP throughput over loopback between two processes. --only runs one part
 * (for profiling it alone with perf). The bulk figures come twice: with
 * both peers allowing datagrams up to --max-datagram (16384 by default;
 * SCTP packets grow to what the path carries once a path MTU probe is
 * answered: 16 KiB on loopback), then at the 1,200-byte base every
 * browser uses (max_datagram 0). */
#include "rtc_side.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static double cpu_seconds(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void bench_setup(int runs)
{
	double *ms = calloc((size_t)runs, sizeof(double));
	struct rtc_ids ids;
	rtc_ids_init(&ids);
	int ok = 0;
	for (int i = 0; i < runs; i++) {
		double t = rtc_connect_time_ms(&ids);
		if (t >= 0)
			ms[ok++] = t;
	}
	rtc_ids_free(&ids);
	if (!ok) {
		printf("setup: no connection succeeded\n");
		free(ms);
		return;
	}
	qsort(ms, (size_t)ok, sizeof(double), cmp_double);
	printf("setup (create offer -> channel open, loopback, identity on hand): median %.2f ms, "
	       "p90 %.2f ms, min %.2f ms over %d/%d runs (target median <= 10 ms)\n",
	       ms[ok / 2], ms[ok * 9 / 10], ms[0], ok, runs);
	free(ms);
}

static void bench_bulk_one_process(size_t mb, size_t msg)
{
	double cpu0 = cpu_seconds(RUSAGE_SELF);
	struct rtc_bulk r;
	if (rtc_bulk_in_process(mb << 20, msg, &r) < 0) {
		printf("bulk, one process: FAILED (%s)\n", r.error);
		return;
	}
	double cpu = cpu_seconds(RUSAGE_SELF) - cpu0 - r.setup_cpu_s;
	printf("bulk, one process (both peers on one thread): %.1f MB/s (%zu MiB in %.2f s, %zu-byte "
	       "messages, data %s, %zu-byte SCTP packets), CPU %.0f%% of one core\n",
	       r.bytes / r.seconds / 1e6, mb, r.seconds, msg, r.data_ok ? "verified" : "DIFFERENT",
	       r.packet, 100.0 * cpu / r.seconds);
}

static void bench_bulk_two_processes(size_t mb, size_t msg)
{
	struct rtc_bulk r;
	if (rtc_bulk_two_processes(mb << 20, msg, &r) < 0) {
		printf("bulk, two processes: FAILED (%s)\n", r.error);
		return;
	}
	/* the sender's figure covers its whole life (setup included) */
	printf("bulk, two processes: %.1f MB/s (%zu MiB in %.2f s, data %s, %zu-byte SCTP "
	       "packets), CPU sender %.0f%% + receiver %.0f%% of a core (target >= 250 MB/s)\n",
	       r.bytes / r.seconds / 1e6, mb, r.seconds, r.data_ok ? "verified" : "DIFFERENT", r.packet,
	       100.0 * r.sender_cpu_s / r.seconds, 100.0 * r.receiver_cpu_s / r.seconds);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mb", required_argument, NULL, 'm' },
		{ "runs", required_argument, NULL, 'r' },
		{ "msg", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'o' },
		{ "max-datagram", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	size_t mb = 512, msg = 65536;
	const char *only = NULL;
	size_t max_datagram = 16384;
	int runs = 50, c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'm')
			mb = strtoul(optarg, NULL, 10);
		else if (c == 'r')
			runs = atoi(optarg);
		else if (c == 's')
			msg = strtoul(optarg, NULL, 10);
		else if (c == 'o')
			only = optarg;
		else if (c == 'd')
			max_datagram = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (!mb || runs < 1 || !msg || msg > 262144) {
		fprintf(stderr, "rtc-bench: --mb >= 1, --runs >= 1, --msg 1..262144\n");
		return 2;
	}
	pp_log_setup("rtc-bench", PP_LOG_WARN, PP_LOG_TEXT);
	printf("machine: %ld CPUs (both ends share them)\n", sysconf(_SC_NPROCESSORS_ONLN));
#define PART(name) (!only || !strcmp(only, name))
	if (PART("setup"))
		bench_setup(runs);
	for (int pass = 0; pass < 2; pass++) {
		rtc_max_datagram = pass == 0 ? max_datagram : 0;
		if (pass == 1 && (PART("one") || PART("two")))
			printf("the same at the 1,200-byte base (as with a browser):\n");
		if (PART("one"))
			bench_bulk_one_process(mb, msg);
		if (PART("two"))
			bench_bulk_two_processes(mb, msg);
	}
	if (PART("tcp")) {
		double tcp = rtc_tcp_reference_mbps(mb << 20 > (1u << 30) ? mb << 20 : 1u << 30);
		printf("reference: raw TCP over loopback between two processes: %.1f MB/s\n", tcp);
	}
#undef PART
	return 0;
}
