/* SPDX-License-Identifier: Apache-2.0 */
/* The open-file limit (fdlimit.h). */
#include "peerpipe/fdlimit.h"

#include <errno.h>

int pp_fdlimit_raise(rlim_t *now)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	*now = rl.rlim_cur;
	if (rl.rlim_cur == rl.rlim_max)
		return 0; /* also spares a syscall a seccomp filter may refuse */
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	*now = rl.rlim_cur;
	return 0;
}
