/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: JWT verification. The input is used twice: as a token
 * as-is (exercises the form and HMAC checks), and as "header\npayload"
 * signed with the right key, so header and claim parsing are reached. */
#include "fuzz.h"

#include "peerpipe/b64.h"
#include "peerpipe/jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <string.h>

static const uint8_t KEY[32] = "fuzz-key-0123456789abcdef-012345";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_jwt_claims c;
	char tok[PP_JWT_MAX * 2];
	if (size > 3000)
		return 0;
	pp_jwt_verify(KEY, sizeof(KEY), (const char *)data, size, 1800000000, 30, &c);

	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	size_t hl = (size_t)(nl - data), pl = size - hl - 1;
	int n1 = pp_b64url_encode(data, hl, tok, sizeof(tok));
	if (n1 < 0)
		return 0;
	tok[n1] = '.';
	int n2 = pp_b64url_encode(nl + 1, pl, tok + n1 + 1, sizeof(tok) - (size_t)n1 - 1);
	if (n2 < 0)
		return 0;
	size_t signed_len = (size_t)n1 + 1 + (size_t)n2;
	uint8_t mac[32];
	unsigned int maclen;
	HMAC(EVP_sha256(), KEY, sizeof(KEY), (const uint8_t *)tok, signed_len, mac, &maclen);
	tok[signed_len] = '.';
	int n3 = pp_b64url_encode(mac, maclen, tok + signed_len + 1, sizeof(tok) - signed_len - 1);
	if (n3 < 0)
		return 0;
	pp_jwt_verify(KEY, sizeof(KEY), tok, signed_len + 1 + (size_t)n3, 1800000000, 30, &c);
	return 0;
}
