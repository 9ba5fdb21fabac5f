/* SPDX-License-Identifier: Apache-2.0 */
/* The process's open-file limit. Every forwarded or served TCP connection
 * holds a socket, so a busy gateway or client runs into the usual soft
 * limit of 1024 (EMFILE) long before the hard limit the system allows. */
#ifndef PEERPIPE_FDLIMIT_H
#define PEERPIPE_FDLIMIT_H

#include <sys/resource.h>

/* Raises the soft RLIMIT_NOFILE to the hard one (a no-op when they are
 * equal, as under systemd's LimitNOFILE=). 0 or -errno; *now gets the
 * soft limit in force afterwards. */
int pp_fdlimit_raise(rlim_t *now);

#endif
