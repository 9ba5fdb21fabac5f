/* SPDX-License-Identifier: Apache-2.0 */
/* The host's TCP settings that bound how fast the gateway can open
 * connections to its services: checked at start, told in the log. */
#pragma once

#include <stddef.h>

/* Sustained new connections per second to one service address beyond
 * which the gateway runs short of local ports, given the sysctl files
 * under dir ("/proc/sys/net/ipv4" on the host): 0 when the TIME_WAIT
 * state of closed connections does not hold ports (tcp_tw_reuse = 1),
 * -1 when the files cannot be read. why gets a sentence for the log. */
long gw_host_port_budget(const char *dir, char *why, size_t why_len);

/* Logs a warning when the budget is limited (gateway start). */
void gw_host_check_ports(void);
