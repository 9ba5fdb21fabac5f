/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/jwt.h"

#include "peerpipe/b64.h"
#include "peerpipe/error.h"

#include <jansson.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define PP_JWT_SIG_LEN 32

const char *pp_role_name(enum pp_role role)
{
	return role == PP_ROLE_GATEWAY ? "gateway" : "desktop";
}

int pp_role_parse(const char *s, enum pp_role *out)
{
	if (strcmp(s, "gateway") == 0)
		*out = PP_ROLE_GATEWAY;
	else if (strcmp(s, "desktop") == 0)
		*out = PP_ROLE_DESKTOP;
	else
		return PP_ERR_INVALID;
	return 0;
}

int pp_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > PP_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int pp_jwt_hmac(const uint8_t *key, size_t keylen, const char *data,
                       size_t len, uint8_t mac[PP_JWT_SIG_LEN])
{
	unsigned int maclen = 0;
	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, len,
	          mac, &maclen) || maclen != PP_JWT_SIG_LEN)
		return PP_ERR_CRYPTO;
	return 0;
}

int pp_jwt_sign(const uint8_t *key, size_t keylen, const struct pp_jwt_claims *c,
                char **out)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	uint8_t mac[PP_JWT_SIG_LEN];
	char *payload = NULL, *tok = NULL;
	int rc;

	*out = NULL;
	json_t *claims = json_pack("{s:s, s:s, s:s, s:I}", "sub", c->sub, "room", c->room,
	                           "role", pp_role_name(c->role), "exp", (json_int_t)c->exp);
	if (!claims)
		return PP_ERR_NOMEM;
	if (c->iat)
		json_object_set_new(claims, "iat", json_integer(c->iat));
	if (c->nbf)
		json_object_set_new(claims, "nbf", json_integer(c->nbf));
	payload = json_dumps(claims, JSON_COMPACT);
	json_decref(claims);
	if (!payload)
		return PP_ERR_NOMEM;

	size_t hl = strlen(header), pl = strlen(payload);
	size_t cap = PP_B64_ENC_SIZE(hl) + PP_B64_ENC_SIZE(pl) + PP_B64_ENC_SIZE(PP_JWT_SIG_LEN) + 2;
	tok = malloc(cap);
	if (!tok) {
		rc = PP_ERR_NOMEM;
		goto out;
	}
	int n1 = pp_b64url_encode((const uint8_t *)header, hl, tok, cap);
	tok[n1] = '.';
	int n2 = pp_b64url_encode((const uint8_t *)payload, pl, tok + n1 + 1, cap - (size_t)n1 - 1);
	size_t signed_len = (size_t)n1 + 1 + (size_t)n2;
	rc = pp_jwt_hmac(key, keylen, tok, signed_len, mac);
	if (rc < 0)
		goto out;
	tok[signed_len] = '.';
	pp_b64url_encode(mac, sizeof(mac), tok + signed_len + 1, cap - signed_len - 1);
	*out = tok;
	tok = NULL; /* transferred */
out:
	free(tok);
	free(payload);
	return rc;
}

/* Decodes one base64url part as a JSON object. */
static json_t *pp_jwt_part_json(const char *s, size_t len)
{
	uint8_t buf[PP_JWT_MAX];
	int n = pp_b64url_decode(s, len, buf, sizeof(buf));
	if (n < 0)
		return NULL;
	json_t *j = json_loadb((const char *)buf, (size_t)n,
	                       JSON_REJECT_DUPLICATES, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* NumericDate: an integer or a real; *present tells if the claim exists. */
static int pp_jwt_time(json_t *claims, const char *name, int required, int64_t *out)
{
	json_t *v = json_object_get(claims, name);
	*out = 0;
	if (!v)
		return required ? PP_ERR_AUTH : 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (!isfinite(d) || d < 0 || d > 9.2e18)
			return PP_ERR_AUTH;
		*out = (int64_t)d;
	} else {
		return PP_ERR_AUTH;
	}
	return *out < 0 ? PP_ERR_AUTH : 0;
}

static int pp_jwt_name_claim(json_t *claims, const char *name, char *out)
{
	json_t *v = json_object_get(claims, name);
	if (!json_is_string(v) || !pp_name_valid(json_string_value(v), json_string_length(v)))
		return PP_ERR_AUTH;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int pp_jwt_check_claims(json_t *claims, int64_t now, int64_t leeway,
                               struct pp_jwt_claims *out)
{
	json_t *role = json_object_get(claims, "role");
	int rc;

	if ((rc = pp_jwt_name_claim(claims, "sub", out->sub)) < 0 ||
	    (rc = pp_jwt_name_claim(claims, "room", out->room)) < 0)
		return rc;
	if (!json_is_string(role) || pp_role_parse(json_string_value(role), &out->role) < 0)
		return PP_ERR_AUTH;
	if ((rc = pp_jwt_time(claims, "exp", 1, &out->exp)) < 0 ||
	    (rc = pp_jwt_time(claims, "nbf", 0, &out->nbf)) < 0 ||
	    (rc = pp_jwt_time(claims, "iat", 0, &out->iat)) < 0)
		return rc;
	if (now >= out->exp + leeway)
		return PP_ERR_EXPIRED;
	if (out->nbf && out->nbf > now + leeway)
		return PP_ERR_NOT_YET;
	if (out->iat && out->iat > now + leeway)
		return PP_ERR_NOT_YET;
	return 0;
}

int pp_jwt_verify(const uint8_t *key, size_t keylen, const char *token,
                  size_t len, int64_t now, int64_t leeway_s,
                  struct pp_jwt_claims *out)
{
	uint8_t mac[PP_JWT_SIG_LEN], sig[PP_JWT_SIG_LEN + 3];
	json_t *header = NULL, *claims = NULL;
	int rc = PP_ERR_AUTH;

	memset(out, 0, sizeof(*out));
	if (len > PP_JWT_MAX)
		return PP_ERR_TOO_BIG;
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return PP_ERR_AUTH;
	size_t signed_len = (size_t)(dot2 - token);
	int n = pp_b64url_decode(dot2 + 1, len - signed_len - 1, sig, sizeof(sig));
	if (n != PP_JWT_SIG_LEN)
		return PP_ERR_AUTH;
	if (pp_jwt_hmac(key, keylen, token, signed_len, mac) < 0)
		return PP_ERR_CRYPTO;
	if (CRYPTO_memcmp(mac, sig, PP_JWT_SIG_LEN) != 0)
		goto out;

	header = pp_jwt_part_json(token, (size_t)(dot1 - token));
	if (!header)
		goto out;
	json_t *alg = json_object_get(header, "alg");
	json_t *typ = json_object_get(header, "typ");
	if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0 ||
	    json_object_get(header, "crit") ||
	    (typ && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0)))
		goto out;
	claims = pp_jwt_part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!claims)
		goto out;
	rc = pp_jwt_check_claims(claims, now, leeway_s, out);
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	json_decref(header);
	json_decref(claims);
	return rc;
}

/* The room claim read without checking the signature: a peer names the
 * room its token is for; the server, which holds the key, checks it. */
int pp_jwt_peek_room(const char *token, char *room, size_t cap)
{
	const char *dot1 = strchr(token, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	char buf[PP_NAME_MAX + 1];
	json_t *claims;
	int rc;

	if (!dot2 || strlen(token) > PP_JWT_MAX)
		return PP_ERR_INVALID;
	claims = pp_jwt_part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!claims)
		return PP_ERR_INVALID;
	rc = pp_jwt_name_claim(claims, "room", buf);
	json_decref(claims);
	if (rc < 0 || strlen(buf) >= cap)
		return PP_ERR_INVALID;
	memcpy(room, buf, strlen(buf) + 1);
	return 0;
}
