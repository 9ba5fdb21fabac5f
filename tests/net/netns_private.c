/* SPDX-License-Identifier: Apache-2.0 */
#include "netns_private.h"

#include "peerpipe/log.h"

#include <glib.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
}

bool netns_private_init(int *argc, char ***argv, const char *prog, const char *setup)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		printf("1..0 # SKIP needs root for a private network namespace\n");
		return false;
	}
	g_test_init(argc, argv, NULL);
	if (system("ip link set lo up && iptables -L INPUT -n >/dev/null 2>&1") != 0 ||
	    (setup && system(setup) != 0)) {
		printf("1..0 # SKIP needs ip and iptables%s%s\n", setup ? ", and this to work: " : "",
		       setup ? setup : "");
		return false;
	}
	pp_log_setup(prog, g_test_verbose() ? PP_LOG_DEBUG : PP_LOG_WARN, PP_LOG_TEXT);
	g_log_set_handler("libsoup", G_LOG_LEVEL_DEBUG, drop_log, NULL);
	g_log_set_handler("GLib-GIO", G_LOG_LEVEL_DEBUG, drop_log, NULL);
	return true;
}
