/* SPDX-License-Identifier: Apache-2.0 */
/* Alert-to-socket keys (flow_key.h). Both sides print addresses with
 * inet_ntop, as the EVE parser does, so the texts compare equal. */
#include "flow_key.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <sys/socket.h>

static void gw_flow_key_format(char out[GW_FLOW_KEY_MAX], const char *lip, unsigned lport,
                               const char *rip, unsigned rport)
{
	g_snprintf(out, GW_FLOW_KEY_MAX, "%s %u %s %u", lip, lport, rip, rport);
}

/* "ip" and port of a socket address; -EAFNOSUPPORT for other families. */
static int gw_flow_endpoint(const struct sockaddr_storage *ss, char ip[INET6_ADDRSTRLEN],
                            unsigned *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, INET6_ADDRSTRLEN);
		*port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, INET6_ADDRSTRLEN);
		*port = ntohs(a->sin6_port);
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

int gw_flow_key_of_socket(int fd, char out[GW_FLOW_KEY_MAX])
{
	struct sockaddr_storage local, peer;
	socklen_t llen = sizeof(local), plen = sizeof(peer);
	char lip[INET6_ADDRSTRLEN], rip[INET6_ADDRSTRLEN];
	unsigned lport, rport;
	int rc;

	out[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
		return -errno;
	if ((rc = gw_flow_endpoint(&local, lip, &lport)) < 0 ||
	    (rc = gw_flow_endpoint(&peer, rip, &rport)) < 0)
		return rc;
	gw_flow_key_format(out, lip, lport, rip, rport);
	return 0;
}

bool gw_flow_key_of_eve(const struct pp_eve *e, char out[GW_FLOW_KEY_MAX])
{
	const struct pp_eve_endpoint *client = NULL, *server = NULL;

	out[0] = '\0';
	if (!pp_eve_initiator(e, &client, &server) || !client->has_ip || !client->has_port ||
	    !server->has_ip || !server->has_port)
		return false;
	gw_flow_key_format(out, client->ip, client->port, server->ip, server->port);
	return true;
}
