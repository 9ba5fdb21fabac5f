/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe: command line client and admin tool. */
#include "cli.h"

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

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} pp_cli_commands[] = {
	{ "token", pp_cli_token, "mint a signaling token (JWT HS256)" },
};

static void pp_cli_usage(FILE *f)
{
	fprintf(f, "usage: peerpipe COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(pp_cli_commands) / sizeof(pp_cli_commands[0]); i++)
		fprintf(f, "  %-10s %s\n", pp_cli_commands[i].name, pp_cli_commands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		pp_cli_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		pp_cli_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(pp_cli_commands) / sizeof(pp_cli_commands[0]); i++)
		if (strcmp(argv[1], pp_cli_commands[i].name) == 0)
			return pp_cli_commands[i].run(argc - 1, argv + 1);
	pp_cli_fail("unknown command \"%s\"", argv[1]);
	pp_cli_usage(stderr);
	return 2;
}
