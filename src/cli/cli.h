/* SPDX-License-Identifier: Apache-2.0 */
/* The peerpipe command: one file per subcommand. */
#ifndef PP_CLI_H
#define PP_CLI_H

/* Prints "peerpipe: <message>" to stderr and returns 1. */
int pp_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int pp_cli_token(int argc, char **argv);

#endif
