/* SPDX-License-Identifier: Apache-2.0 */
/* Whose fault a failed service connect is (connect_fault.h). A list of
 * what the far side causes, everything else the gateway's: an error
 * nobody thought of then costs a log line, never an innocent peer's ban. */
#include "connect_fault.h"

#include <errno.h>
#include <gio/gio.h>

enum gw_fault gw_fault_of_errno(int err)
{
	switch (err) {
	case ECONNREFUSED: /* nothing listens: RST from the service host */
	case ETIMEDOUT:    /* no answer to the SYN */
	case EHOSTUNREACH: /* ICMP, or no ARP/ND answer */
	case ENETUNREACH:
	case EHOSTDOWN:
	case ECONNRESET:
		return GW_FAULT_SERVICE;
	default:           /* EMFILE, ENFILE, EADDRNOTAVAIL, ENOBUFS, ENOMEM, ... */
		return GW_FAULT_GATEWAY;
	}
}

enum gw_fault gw_fault_of_gerror(const GError *err)
{
	if (!err)
		return GW_FAULT_GATEWAY;
	if (err->domain == G_RESOLVER_ERROR)
		return err->code == G_RESOLVER_ERROR_NOT_FOUND ? GW_FAULT_SERVICE : GW_FAULT_GATEWAY;
	if (err->domain != G_IO_ERROR)
		return GW_FAULT_GATEWAY;
	switch (err->code) {
	case G_IO_ERROR_CONNECTION_REFUSED:
	case G_IO_ERROR_TIMED_OUT:
	case G_IO_ERROR_HOST_UNREACHABLE:
	case G_IO_ERROR_NETWORK_UNREACHABLE:
	case G_IO_ERROR_CONNECTION_CLOSED: /* ECONNRESET */
		return GW_FAULT_SERVICE;
	default:           /* TOO_MANY_OPEN_FILES, FAILED (EADDRNOTAVAIL), ... */
		return GW_FAULT_GATEWAY;
	}
}
