/* SPDX-License-Identifier: Apache-2.0 */
/* For a test that runs everything in a private network namespace of its
 * own (root only), so that its interfaces and iptables rules touch
 * nothing else and vanish with the process (test_tunnel_restart,
 * test_cli_connect). */
#ifndef PEERPIPE_TESTS_NETNS_PRIVATE_H
#define PEERPIPE_TESTS_NETNS_PRIVATE_H

#include <stdbool.h>

/* Call first in main(), while the process has one thread: unshares the
 * network namespace, runs g_test_init(), brings lo up, runs setup (a
 * shell command, NULL for none) and checks that iptables works; sets the
 * log up as prog (debug when verbose) without libsoup's and GIO's debug
 * messages. false after printing the TAP skip line (main() returns 0). */
bool netns_private_init(int *argc, char ***argv, const char *prog, const char *setup);

#endif
