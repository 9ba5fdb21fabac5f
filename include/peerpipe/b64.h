/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 (RFC 4648 §4) and base64url without padding (§5, as JWT uses). */
#ifndef PEERPIPE_B64_H
#define PEERPIPE_B64_H

#include <stddef.h>
#include <stdint.h>

/* Output sizes including the NUL terminator. */
#define PP_B64_ENC_SIZE(n) ((((n) + 2) / 3) * 4 + 1)
#define PP_B64URL_DEC_MAX(n) (((n) * 3) / 4 + 3)

/* Writes NUL-terminated text; returns its length or PP_ERR_TOO_BIG. */
int pp_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int pp_b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap);
/* Strict: only the url alphabet, no padding, no whitespace, canonical final
 * bits. Returns the decoded length, or PP_ERR_INVALID / PP_ERR_TOO_BIG. */
int pp_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
