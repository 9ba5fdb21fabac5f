/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe: command line client and admin tool. */
#include "cli.h"

#include "peerpipe/log.h"

#include <errno.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int pp_cli_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("peerpipe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static char *pp_cli_dir;

const char *pp_cli_config_dir(void)
{
	/* g_get_user_config_dir(): $XDG_CONFIG_HOME, else ~/.config. */
	if (!pp_cli_dir)
		pp_cli_dir = g_build_filename(g_get_user_config_dir(), "peerpipe", NULL);
	return pp_cli_dir;
}

int pp_cli_config_dir_make(void)
{
	const char *dir = pp_cli_config_dir();
	if (g_mkdir_with_parents(dir, 0700) < 0)
		return pp_cli_fail("cannot create %s: %s", dir, g_strerror(errno));
	return 0;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} pp_cli_commands[] = {
	{ "keygen", pp_cli_keygen, "create this device's identity (if missing), print its fingerprint" },
	{ "id", pp_cli_id, "print this device's fingerprint (sha-256 AB:...)" },
	{ "pin", pp_cli_pin, "pin add NAME FINGERPRINT [--replace] | pin list | pin remove NAME" },
	{ "connect", pp_cli_connect, "forward local ports to a gateway's services (-L PORT:SERVICE)" },
	{ "services", pp_cli_services, "list the services this identity may use on a gateway" },
	{ "token", pp_cli_token, "mint a signaling token (JWT HS256)" },
};

static void pp_cli_usage(FILE *f)
{
	fprintf(f, "usage: peerpipe [--config-dir DIR] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(pp_cli_commands) / sizeof(pp_cli_commands[0]); i++)
		fprintf(f, "  %-10s %s\n", pp_cli_commands[i].name, pp_cli_commands[i].help);
	fprintf(f, "\n--config-dir defaults to $XDG_CONFIG_HOME/peerpipe or ~/.config/peerpipe\n");
}

/* Global options come before the command; returns how many argv entries
 * they took, or -1 after a usage error. */
static int pp_cli_global_opts(int argc, char **argv)
{
	int i = 1;
	while (i < argc && strncmp(argv[i], "--config-dir", 12) == 0) {
		const char *v = NULL;
		if (argv[i][12] == '=')
			v = argv[i] + 13;
		else if (argv[i][12] == 0 && i + 1 < argc)
			v = argv[++i];
		if (!v || !*v)
			return -1;
		g_free(pp_cli_dir);
		pp_cli_dir = g_strdup(v);
		i++;
	}
	return i - 1;
}

int main(int argc, char **argv)
{
	int skip = pp_cli_global_opts(argc, argv);
	if (skip < 0) {
		pp_cli_usage(stderr);
		return 2;
	}
	argc -= skip;
	argv += skip;
	if (argc < 2) {
		pp_cli_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		pp_cli_usage(stdout);
		return 0;
	}
	/* Library messages (e.g. an identity with unsafe permissions) go to
	 * stderr; warnings and errors only. */
	pp_log_setup("peerpipe", PP_LOG_WARN, PP_LOG_TEXT);
	for (size_t i = 0; i < sizeof(pp_cli_commands) / sizeof(pp_cli_commands[0]); i++)
		if (strcmp(argv[1], pp_cli_commands[i].name) == 0)
			return pp_cli_commands[i].run(argc - 1, argv + 1);
	pp_cli_fail("unknown command \"%s\"", argv[1]);
	pp_cli_usage(stderr);
	return 2;
}
