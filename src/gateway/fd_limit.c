/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's open-file limit (fd_limit.h). */
#include "fd_limit.h"

#include "peerpipe/fdlimit.h"
#include "peerpipe/log.h"

#include <inttypes.h>
#include <string.h>

#define GW_FDS_PER_PEER 8   /* ICE sockets, the DTLS/SCTP timers' fds, slack */
#define GW_FDS_BASE 64      /* signaling, epoll, logs, Suricata's EVE socket */

uint64_t gw_fd_limit_needed(int64_t max_peers, int64_t max_streams_per_peer)
{
	return (uint64_t)max_peers * ((uint64_t)max_streams_per_peer + GW_FDS_PER_PEER) + GW_FDS_BASE;
}

void gw_fd_limit_check(int64_t max_peers, int64_t max_streams_per_peer)
{
	uint64_t need = gw_fd_limit_needed(max_peers, max_streams_per_peer);
	rlim_t now = 0;
	int rc = pp_fdlimit_raise(&now);

	if (rc < 0)
		pp_log(PP_LOG_WARN, NULL, "open files: cannot raise the limit to the hard one: %s",
		       strerror(-rc));
	if (now == RLIM_INFINITY) {
		pp_log(PP_LOG_INFO, NULL, "open files: no limit");
		return;
	}
	if ((uint64_t)now >= need) {
		pp_log(PP_LOG_INFO, NULL, "open files: limit %" PRIu64 " (the configured limits need "
		       "about %" PRIu64 ")", (uint64_t)now, need);
		return;
	}
	pp_log(PP_LOG_WARN, NULL, "open files: limit %" PRIu64 ", but max_peers %" PRId64 " x "
	       "max_streams_per_peer %" PRId64 " need about %" PRIu64 ": streams will fail with "
	       "\"gateway error\" (EMFILE) first; raise LimitNOFILE= (systemd) or ulimit -n",
	       (uint64_t)now, max_peers, max_streams_per_peer, need);
}
