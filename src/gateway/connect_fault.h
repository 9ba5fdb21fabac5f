/* SPDX-License-Identifier: Apache-2.0 */
/* Whose fault a failed service connect is. Sentinel counts failed
 * connects against the peer (a scanner's streams fail), so only what the
 * service or the network said may count: a refusal, a timeout, no route,
 * a name that does not resolve. The gateway's own shortages (no fd, no
 * local port, no memory) are no sign of the peer and must not count, or
 * one peer exhausting them gets innocent peers banned. */
#pragma once

#include <glib.h>
#include <stdbool.h>

enum gw_fault {
	GW_FAULT_SERVICE, /* the service or the network: counts for Sentinel */
	GW_FAULT_GATEWAY, /* this host: the gateway's problem, never the peer's */
};

/* An errno from socket(), connect() or SO_ERROR. */
enum gw_fault gw_fault_of_errno(int err);
/* A GIO error from g_socket_client_connect_to_host (NULL: the gateway's). */
enum gw_fault gw_fault_of_gerror(const GError *err);
