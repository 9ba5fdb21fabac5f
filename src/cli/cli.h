/* SPDX-License-Identifier: Apache-2.0 */
/* The peerpipe command: one file per subcommand. */
#ifndef PP_CLI_H
#define PP_CLI_H

/* Prints "peerpipe: <message>" to stderr and returns 1. */
int pp_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The configuration directory: --config-dir, else $XDG_CONFIG_HOME/peerpipe,
 * else ~/.config/peerpipe. Static storage; never NULL. */
const char *pp_cli_config_dir(void);
/* Creates it (mode 0700, with parents) when missing. 0 or 1 after
 * reporting the error. */
int pp_cli_config_dir_make(void);

int pp_cli_token(int argc, char **argv);
/* cmd_connect.c: the tunnel client. */
int pp_cli_connect(int argc, char **argv);
int pp_cli_services(int argc, char **argv);
/* cmd_keys.c: the user's identity and pinned gateways. */
int pp_cli_keygen(int argc, char **argv);
int pp_cli_id(int argc, char **argv);
int pp_cli_pin(int argc, char **argv);

#endif
