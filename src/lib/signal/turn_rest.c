/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/turn_rest.h"

#include "peerpipe/b64.h"
#include "peerpipe/error.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

int pp_turn_rest_credential(const uint8_t *secret, size_t secret_len,
                            const char *name, int64_t expiry,
                            char user[PP_TURN_USER_MAX],
                            char cred[PP_TURN_CRED_MAX])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	int n = snprintf(user, PP_TURN_USER_MAX, "%" PRId64 ":%s", expiry, name);
	if (n < 0 || n >= PP_TURN_USER_MAX)
		return PP_ERR_TOO_BIG;
	if (!HMAC(EVP_sha1(), secret, (int)secret_len, (const unsigned char *)user,
	          (size_t)n, mac, &maclen))
		return PP_ERR_CRYPTO;
	int rc = pp_b64_encode(mac, maclen, cred, PP_TURN_CRED_MAX);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc < 0 ? rc : 0;
}
