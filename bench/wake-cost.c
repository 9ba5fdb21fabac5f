/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wake-cost: what it costs this machine to wake a sleeping process, the
 * unit every request through a relay pays once per process it crosses.
 *
 * Two threads pass one byte back and forth over a pair of pipes, first
 * both pinned to CPU 0, then one on CPU 0 and one on CPU N-1. On one CPU a
 * round trip is two context switches. Across CPUs each side sleeps and is
 * woken by the other: on bare metal or a guest that polls before it halts,
 * a few microseconds; in a guest whose idle vCPUs halt at once
 * (haltpoll.guest_halt_poll_ns=0, say), each wakeup is an interrupt to a
 * halted vCPU through the hypervisor, often 10x more.
 *
 *   wake-cost [-n ROUND_TRIPS]
 *   prints "wake: same_cpu_us=P50 cross_cpu_us=P50 per_wakeup_us=X cpus=N"
 *   where per_wakeup_us = (cross - same) / 2; with one CPU, cross_cpu_us
 *   and per_wakeup_us are "-".
 */
#include "stats.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAKE_WARMUP 500

struct wake_pair {
	int ping[2], pong[2];
	int cpu; /* the echo thread's */
};

static int wake_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

static void *wake_echo(void *arg)
{
	struct wake_pair *p = arg;
	char c;

	if (wake_pin(p->cpu) < 0)
		return NULL;
	while (read(p->ping[0], &c, 1) == 1)
		if (write(p->pong[1], &c, 1) != 1)
			break;
	return NULL;
}

/* Median round trip (µs) with the echo thread on echo_cpu, this one on 0;
 * negative on failure. */
static double wake_measure(int echo_cpu, int n)
{
	struct wake_pair p = { .cpu = echo_cpu };
	struct pp_stats st;
	pthread_t th;
	double p50 = -1;
	char c = 'w';

	if (pipe(p.ping) < 0 || pipe(p.pong) < 0 || pp_stats_init(&st, (size_t)n) < 0) {
		perror("wake-cost: setup");
		return -1;
	}
	if (pthread_create(&th, NULL, wake_echo, &p) != 0) {
		fprintf(stderr, "wake-cost: no thread\n");
		return -1;
	}
	for (int i = 0; i < WAKE_WARMUP + n; i++) {
		uint64_t t0 = pp_now_ns();
		if (write(p.ping[1], &c, 1) != 1 || read(p.pong[0], &c, 1) != 1) {
			perror("wake-cost: pipe");
			goto out;
		}
		if (i >= WAKE_WARMUP)
			pp_stats_add(&st, pp_now_ns() - t0);
	}
	pp_stats_sort(&st);
	p50 = (double)pp_stats_pct(&st, 50) / 1000.0;
out:
	close(p.ping[1]); /* the echo thread reads EOF */
	pthread_join(th, NULL);
	close(p.ping[0]);
	close(p.pong[0]);
	close(p.pong[1]);
	pp_stats_free(&st);
	return p50;
}

int main(int argc, char **argv)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int n = 20000, opt;
	double same, cross = -1;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n' || (n = atoi(optarg)) < 1 || n > 10000000) {
			fprintf(stderr, "usage: wake-cost [-n ROUND_TRIPS]\n");
			return 2;
		}
	}
	if (wake_pin(0) < 0) {
		fprintf(stderr, "wake-cost: cannot pin to CPU 0: %s\n", strerror(errno));
		return 1;
	}
	same = wake_measure(0, n);
	if (same < 0)
		return 1;
	if (cpus > 1 && (cross = wake_measure((int)cpus - 1, n)) < 0)
		return 1;
	if (cross < 0)
		printf("wake: same_cpu_us=%.1f cross_cpu_us=- per_wakeup_us=- cpus=%ld\n", same, cpus);
	else
		printf("wake: same_cpu_us=%.1f cross_cpu_us=%.1f per_wakeup_us=%.1f cpus=%ld\n", same,
		       cross, (cross - same) / 2, cpus);
	return 0;
}
