/* SPDX-License-Identifier: Apache-2.0 */
/* rtc-bench's machinery: two peer connections wired together, in one
 * process or across a fork with signaling over a socketpair. */
#ifndef PP_BENCH_RTC_SIDE_H
#define PP_BENCH_RTC_SIDE_H

#include "peerpipe/log.h"
#include "peerpipe/rtc/identity.h"

#include <stdbool.h>
#include <stddef.h>

struct rtc_ids {
	struct pp_identity *a, *b;
};

struct rtc_bulk {
	double bytes;
	double seconds;       /* first message sent -> last byte received */
	double setup_cpu_s;   /* CPU spent connecting (one-process mode) */
	double sender_cpu_s;  /* two-process mode: the sender process's CPU */
	double receiver_cpu_s; /* two-process mode: this (receiving) process's CPU */
	bool data_ok;         /* every byte received equals what was sent */
	size_t packet;        /* SCTP packet size in use at the end (receiver's side) */
	char error[128];
};

/* pp_peer_config.max_datagram of every peer made here (0: probed). */
extern size_t rtc_max_datagram;

void rtc_ids_init(struct rtc_ids *ids);
void rtc_ids_free(struct rtc_ids *ids);
/* One connection: create offer -> channel open at the answerer; -1 on failure. */
double rtc_connect_time_ms(struct rtc_ids *ids);
int rtc_bulk_in_process(size_t bytes, size_t msg, struct rtc_bulk *out);
int rtc_bulk_two_processes(size_t bytes, size_t msg, struct rtc_bulk *out);
double rtc_tcp_reference_mbps(size_t bytes);

#endif
