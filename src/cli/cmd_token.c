/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe token: mint a signaling JWT (HS256) for a gateway or desktop. */
#include "cli.h"

#include "peerpipe/config.h"
#include "peerpipe/error.h"
#include "peerpipe/jwt.h"
#include "peerpipe/secret.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_SECRET_MIN 32
#define TOKEN_TTL_MAX_MS (366LL * 86400 * 1000)

static void token_usage(FILE *f)
{
	fprintf(f, "usage: peerpipe token --secret-file FILE --room ROOM --role gateway|desktop\n"
	           "                      --name NAME [--ttl DURATION (default 1h)] [--not-before DURATION]\n");
}

int pp_cli_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "secret-file", required_argument, NULL, 's' },
		{ "room", required_argument, NULL, 'r' },
		{ "role", required_argument, NULL, 'R' },
		{ "name", required_argument, NULL, 'n' },
		{ "ttl", required_argument, NULL, 't' },
		{ "not-before", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *secret_file = NULL, *room = NULL, *role = NULL, *name = NULL;
	const char *ttl = "1h", *nbf = NULL;
	struct pp_jwt_claims c = { 0 };
	struct pp_secret secret = { 0 };
	int64_t ttl_ms = 0, nbf_ms = 0;
	char *tok = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': secret_file = optarg; break;
		case 'r': room = optarg; break;
		case 'R': role = optarg; break;
		case 'n': name = optarg; break;
		case 't': ttl = optarg; break;
		case 'b': nbf = optarg; break;
		case 'h': token_usage(stdout); return 0;
		default: token_usage(stderr); return 2;
		}
	}
	if (!secret_file || !room || !role || !name || optind != argc) {
		token_usage(stderr);
		return 2;
	}
	if (!pp_name_valid(room, strlen(room)) || !pp_name_valid(name, strlen(name)))
		return pp_cli_fail("--room and --name must be 1..64 characters of [A-Za-z0-9._-]");
	if (pp_role_parse(role, &c.role) < 0)
		return pp_cli_fail("--role must be gateway or desktop");
	if (pp_cfg_parse_duration_ms(ttl, &ttl_ms) < 0 || ttl_ms < 1000 || ttl_ms > TOKEN_TTL_MAX_MS)
		return pp_cli_fail("--ttl must be a duration from 1s to 366d (e.g. 30m, 1h, 7d)");
	if (nbf && (pp_cfg_parse_duration_ms(nbf, &nbf_ms) < 0 || nbf_ms < 0 || nbf_ms > TOKEN_TTL_MAX_MS))
		return pp_cli_fail("--not-before must be a duration (e.g. 10m)");
	rc = pp_secret_read_file(secret_file, TOKEN_SECRET_MIN, &secret, NULL);
	if (rc < 0)
		return pp_cli_fail("%s: %s%s", secret_file, pp_strerror(rc),
		                   rc == PP_ERR_INVALID ? " (need at least 32 bytes)" : "");
	int64_t now = (int64_t)time(NULL);
	snprintf(c.sub, sizeof(c.sub), "%s", name);
	snprintf(c.room, sizeof(c.room), "%s", room);
	c.iat = now;
	c.nbf = nbf ? now + nbf_ms / 1000 : 0;
	c.exp = now + (nbf ? nbf_ms / 1000 : 0) + ttl_ms / 1000;
	rc = pp_jwt_sign(secret.data, secret.len, &c, &tok);
	pp_secret_free(&secret);
	if (rc < 0)
		return pp_cli_fail("cannot sign: %s", pp_strerror(rc));
	printf("%s\n", tok);
	free(tok);
	return 0;
}
