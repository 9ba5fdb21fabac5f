/* SPDX-License-Identifier: Apache-2.0 */
/* The server's secret files (auth.jwt_secret_file, ice.turn_secret_file,
 * redis.password_file): one way to read them and to report them, so each
 * gets the same checks and the same warning when every user may read it. */
#include "server.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <stdio.h>

int sig_secret_load(const char *key, const char *path, size_t min_len, struct pp_secret *out,
                    char *err, size_t errlen)
{
	bool world = false;
	int rc = pp_secret_read_file(path, min_len, out, &world);
	if (rc < 0) {
		if (rc == PP_ERR_INVALID && min_len > 1)
			snprintf(err, errlen, "%s %s: %s (need at least %zu bytes)", key, path, pp_strerror(rc), min_len);
		else
			snprintf(err, errlen, "%s %s: %s", key, path, pp_strerror(rc));
		return PP_ERR_CONFIG;
	}
	/* Accepted (Docker secrets are 0444), but the operator should know. */
	if (world)
		pp_warn("%s %s is readable by every user of this machine", key, path);
	return 0;
}
