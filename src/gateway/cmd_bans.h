/* SPDX-License-Identifier: Apache-2.0 */
/* `peerpipe-gateway --config FILE bans list [--json]` and
 * `peerpipe-gateway --config FILE bans lift NAME|FINGERPRINT|--all`:
 * the ban store of that configuration (bans_file), shared with a running
 * gateway through its lock (bans.h). docs/gateway.md "Sentinel". */
#ifndef PP_GATEWAY_CMD_BANS_H
#define PP_GATEWAY_CMD_BANS_H

/* argv[0] is "bans". Returns the exit code: 0 done, 1 nothing to lift or
 * an unreadable store, 2 usage. */
int gw_cmd_bans(const char *config_path, int argc, char **argv);

#endif
