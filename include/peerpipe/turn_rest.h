/* SPDX-License-Identifier: Apache-2.0 */
/* TURN REST credentials (coturn use-auth-secret): username
 * "<unix expiry>:<name>", credential base64(HMAC-SHA1(secret, username)). */
#ifndef PEERPIPE_TURN_REST_H
#define PEERPIPE_TURN_REST_H

#include <stddef.h>
#include <stdint.h>

#define PP_TURN_USER_MAX 96
#define PP_TURN_CRED_MAX 32 /* base64 of 20 bytes is 28 characters */

int pp_turn_rest_credential(const uint8_t *secret, size_t secret_len,
                            const char *name, int64_t expiry,
                            char user[PP_TURN_USER_MAX],
                            char cred[PP_TURN_CRED_MAX]);

#endif
