/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/rtc/fingerprint.h"

#include "peerpipe/error.h"
#include "text.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

static const struct {
	const char *name;
	enum pp_fp_alg alg;
	size_t bytes;
} pp_fp_algs[] = {
	{ "sha-1", PP_FP_SHA1, 20 },     { "sha-224", PP_FP_SHA224, 28 },
	{ "sha-256", PP_FP_SHA256, 32 }, { "sha-384", PP_FP_SHA384, 48 },
	{ "sha-512", PP_FP_SHA512, 64 },
};

int pp_fingerprint_compute(X509 *cert, struct pp_fingerprint *out)
{
	unsigned int n = 0;

	memset(out, 0, sizeof(*out));
	if (!cert || X509_digest(cert, EVP_sha256(), out->digest, &n) != 1 || n != 32)
		return PP_ERR_CRYPTO;
	out->alg = PP_FP_SHA256;
	strcpy(out->alg_name, "sha-256");
	out->len = n;
	return 0;
}

static int pp_fp_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "HH:HH:...:HH" -> bytes; 1..PP_FP_DIGEST_MAX of them. */
static int pp_fp_parse_hex(struct pp_rtc_span s, uint8_t *out, size_t *n)
{
	if (s.len < 2 || s.len % 3 != 2 || s.len / 3 + 1 > PP_FP_DIGEST_MAX)
		return PP_ERR_INVALID;
	for (size_t i = 0, o = 0; i < s.len; i += 3, o++) {
		int hi = pp_fp_hex(s.p[i]);
		int lo = pp_fp_hex(s.p[i + 1]);
		if (hi < 0 || lo < 0 || (i + 2 < s.len && s.p[i + 2] != ':'))
			return PP_ERR_INVALID;
		out[o] = (uint8_t)(hi << 4 | lo);
	}
	*n = s.len / 3 + 1;
	return 0;
}

int pp_fingerprint_parse(const char *text, size_t len, struct pp_fingerprint *out)
{
	struct pp_rtc_span rest = { text, len }, name, hex;
	int rc = PP_ERR_INVALID;

	memset(out, 0, sizeof(*out));
	if (len > PP_FP_TEXT_MAX || pp_rtc_text_token(&rest, &name) != 1 ||
	    pp_rtc_text_token(&rest, &hex) != 1 || rest.len != 0)
		goto out;
	if (name.len > PP_FP_ALG_NAME_MAX || !pp_rtc_text_token_chars(name))
		goto out;
	for (size_t i = 0; i < name.len; i++) {
		char c = name.p[i];
		out->alg_name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	if (pp_fp_parse_hex(hex, out->digest, &out->len) < 0)
		goto out;
	out->alg = PP_FP_UNKNOWN;
	for (size_t a = 0; a < PP_NELEM(pp_fp_algs); a++) {
		if (!pp_rtc_text_ieq(name, pp_fp_algs[a].name))
			continue;
		if (out->len != pp_fp_algs[a].bytes)
			goto out;
		out->alg = pp_fp_algs[a].alg;
	}
	rc = 0;
out:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int pp_fingerprint_format(const struct pp_fingerprint *fp, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t nl = strnlen(fp->alg_name, sizeof(fp->alg_name));

	if (nl == 0 || nl > PP_FP_ALG_NAME_MAX || fp->len == 0 || fp->len > PP_FP_DIGEST_MAX)
		return PP_ERR_INVALID;
	if (!pp_rtc_text_token_chars((struct pp_rtc_span){ fp->alg_name, nl }))
		return PP_ERR_INVALID;
	size_t need = nl + 1 + fp->len * 3; /* colons, and the NUL in place of the last */
	if (cap < need)
		return PP_ERR_TOO_BIG;
	memcpy(out, fp->alg_name, nl);
	char *o = out + nl;
	*o++ = ' ';
	for (size_t i = 0; i < fp->len; i++) {
		if (i)
			*o++ = ':';
		*o++ = hex[fp->digest[i] >> 4];
		*o++ = hex[fp->digest[i] & 15];
	}
	*o = '\0';
	return (int)(o - out);
}

bool pp_fingerprint_pinnable(const struct pp_fingerprint *fp)
{
	return fp->alg == PP_FP_SHA256 && fp->len == 32;
}

bool pp_fingerprint_equal(const struct pp_fingerprint *a,
                          const struct pp_fingerprint *b)
{
	if (!pp_fingerprint_pinnable(a) || !pp_fingerprint_pinnable(b))
		return false;
	return CRYPTO_memcmp(a->digest, b->digest, a->len) == 0;
}
