/* SPDX-License-Identifier: Apache-2.0 */
/* JWT (RFC 7519) for the signaling control plane: HS256 only.
 *
 * Verification checks the HMAC first (constant time), so unauthenticated
 * bytes never reach the JSON parser; then the header must say exactly
 * {"alg":"HS256"} (any other alg, "none" included, is refused), then the
 * claims of signaling.md §2. */
#ifndef PEERPIPE_JWT_H
#define PEERPIPE_JWT_H

#include <stddef.h>
#include <stdint.h>

#define PP_JWT_MAX 4096      /* longest token accepted */
#define PP_NAME_MAX 64       /* sub and room: 1..64 of [A-Za-z0-9._-] */

enum pp_role {
	PP_ROLE_GATEWAY = 0,
	PP_ROLE_DESKTOP = 1,
};

struct pp_jwt_claims {
	char sub[PP_NAME_MAX + 1];
	char room[PP_NAME_MAX + 1];
	enum pp_role role;
	int64_t exp;
	int64_t nbf; /* 0 when absent */
	int64_t iat; /* 0 when absent */
};

/* "gateway"/"desktop" <-> enum; parse returns 0 or PP_ERR_INVALID. */
const char *pp_role_name(enum pp_role role);
int pp_role_parse(const char *s, enum pp_role *out);
/* 1..64 chars of [A-Za-z0-9._-] */
int pp_name_valid(const char *s, size_t len);

/* Mints a token; *out is malloc'd text. */
int pp_jwt_sign(const uint8_t *key, size_t keylen, const struct pp_jwt_claims *c,
                char **out);
/* 0, PP_ERR_AUTH (bad form, signature, alg or claims), PP_ERR_EXPIRED,
 * PP_ERR_NOT_YET or PP_ERR_TOO_BIG. leeway_s tolerates clock skew. */
int pp_jwt_verify(const uint8_t *key, size_t keylen, const char *token,
                  size_t len, int64_t now, int64_t leeway_s,
                  struct pp_jwt_claims *out);

/* The token's room claim, unverified (peers take their room from their
 * token; the server verifies it). 0 or PP_ERR_INVALID. */
int pp_jwt_peek_room(const char *token, char *room, size_t cap);

#endif
