/* SPDX-License-Identifier: Apache-2.0 */
/* A stream the client ends first is half-closed toward the service by the
 * gateway, so the gateway's side sends the first FIN and its socket waits
 * 60 s in TIME_WAIT, holding its local port. With Linux's default
 * net.ipv4.tcp_tw_reuse = 2 (reuse on loopback only), a gateway that opens
 * more than (ports in ip_local_port_range) / 60 s connections per second to
 * one service address runs out: measured in bench-tunnel's topology, the
 * median new connection went from 0.47 ms to 2.5 ms once ~25,000 sockets
 * waited, and connect() ends in EADDRNOTAVAIL after that. tcp_tw_reuse = 1
 * (per network namespace; TCP timestamps make the reuse safe, RFC 7323)
 * lifts the limit. The gateway cannot set it with the least privilege it
 * runs with, so it says so at start. */
#include "host_ports.h"

#include "peerpipe/log.h"

#include <stdio.h>
#include <stdlib.h>

#define TIME_WAIT_S 60 /* Linux's TCP_TIMEWAIT_LEN */

static int read_ints(const char *dir, const char *name, long *v, int n)
{
	char path[512];
	FILE *f;
	int got = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (got < n && fscanf(f, "%ld", &v[got]) == 1)
		got++;
	fclose(f);
	return got == n ? 0 : -1;
}

long gw_host_port_budget(const char *dir, char *why, size_t why_len)
{
	long reuse, range[2];

	if (read_ints(dir, "tcp_tw_reuse", &reuse, 1) < 0 ||
	    read_ints(dir, "ip_local_port_range", range, 2) < 0 || range[1] < range[0]) {
		snprintf(why, why_len, "cannot read tcp_tw_reuse and ip_local_port_range under %s", dir);
		return -1;
	}
	if (reuse == 1) {
		snprintf(why, why_len, "tcp_tw_reuse = 1: ports in TIME_WAIT are reused");
		return 0;
	}
	long ports = range[1] - range[0] + 1;
	long budget = ports / TIME_WAIT_S > 0 ? ports / TIME_WAIT_S : 1;
	snprintf(why, why_len,
	         "net.ipv4.tcp_tw_reuse = %ld: a connection the gateway half-closes first keeps "
	         "its local port for %d s (TIME_WAIT), so above about %ld new connections per "
	         "second to one service address (%ld ports, %ld-%ld) connects slow down, then "
	         "fail; set net.ipv4.tcp_tw_reuse = 1 in the gateway's network namespace "
	         "(docs/gateway.md)", reuse, TIME_WAIT_S, budget, ports, range[0], range[1]);
	return budget;
}

void gw_host_check_ports(void)
{
	char why[512];
	long budget = gw_host_port_budget("/proc/sys/net/ipv4", why, sizeof(why));

	if (budget > 0)
		pp_log(PP_LOG_WARN, NULL, "%s", why);
	else if (budget < 0)
		pp_log(PP_LOG_DEBUG, NULL, "%s", why);
}
