/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's open-file limit. Every service stream holds a socket, so
 * max_peers x max_streams_per_peer (64 x 256 by default) is far above the
 * usual soft limit of 1024: without a raise, the gateway runs out of fds
 * (EMFILE) long before its configured limits. The raise itself is
 * pp_fdlimit_raise() (peerpipe/fdlimit.h). */
#pragma once

#include <stdint.h>

/* The fds the configured limits can use: a socket per stream, a few per
 * peer (ICE sockets, timers) and the gateway's own. */
uint64_t gw_fd_limit_needed(int64_t max_peers, int64_t max_streams_per_peer);

/* At start: raises the limit, logs it, warns when it is below what the
 * configuration allows. */
void gw_fd_limit_check(int64_t max_peers, int64_t max_streams_per_peer);
