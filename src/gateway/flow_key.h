/* SPDX-License-Identifier: Apache-2.0 */
/* The key that maps an IDS alert to the service socket it is about: the
 * connection's full 4-tuple, "<local ip> <local port> <service ip>
 * <service port>". The local address alone is not unique: Linux gives one
 * local port to connections towards different destinations, so two live
 * service sockets can share it, and an alert keyed so would reset the
 * wrong peer's stream. */
#pragma once

#include "peerpipe/ids/eve.h"

#include <stdbool.h>
#include <stddef.h>

#define GW_FLOW_KEY_MAX (2 * (PP_EVE_IP_MAX + 1 + 5 + 1) + 1)

/* A connected socket's key (getsockname, getpeername): 0 or -errno
 * (-EAFNOSUPPORT for a family other than IPv4 and IPv6). */
int gw_flow_key_of_socket(int fd, char out[GW_FLOW_KEY_MAX]);
/* The key of the connection an EVE record is about: its initiator (the
 * gateway's socket) and responder (the service). false when the record
 * does not name both (pp_eve_initiator). */
bool gw_flow_key_of_eve(const struct pp_eve *e, char out[GW_FLOW_KEY_MAX]);
