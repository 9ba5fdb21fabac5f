/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate fingerprints in SDP form (RFC 8122 §5): "sha-256 AB:CD:...".
 *
 * A peer's identity is the SHA-256 fingerprint of its DTLS certificate
 * (tunnel.md §2). Other hash names are parsed so that an SDP carrying them
 * is not refused, but only SHA-256 fingerprints are "pinnable": they are
 * the only ones pp_fingerprint_equal() will ever call equal. */
#ifndef PEERPIPE_RTC_FINGERPRINT_H
#define PEERPIPE_RTC_FINGERPRINT_H

#include <openssl/types.h> /* X509 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_FP_DIGEST_MAX 64   /* bytes, SHA-512 */
#define PP_FP_ALG_NAME_MAX 16 /* characters of a hash name, e.g. "sha-256" */
/* Longest text form plus NUL: name, space, 64 hex pairs with colons. */
#define PP_FP_TEXT_MAX (PP_FP_ALG_NAME_MAX + 1 + PP_FP_DIGEST_MAX * 3)

enum pp_fp_alg {
	PP_FP_UNKNOWN = 0, /* a syntactically valid name we do not know */
	PP_FP_SHA1,
	PP_FP_SHA224,
	PP_FP_SHA256,
	PP_FP_SHA384,
	PP_FP_SHA512,
};

struct pp_fingerprint {
	enum pp_fp_alg alg;
	char alg_name[PP_FP_ALG_NAME_MAX + 1]; /* lowercase, NUL-terminated */
	uint8_t digest[PP_FP_DIGEST_MAX];
	size_t len;                            /* bytes used in digest */
};

/* SHA-256 over the DER encoding of cert. 0 or PP_ERR_CRYPTO. */
int pp_fingerprint_compute(X509 *cert, struct pp_fingerprint *out);

/* "name HH:HH:..." -> out. The name is matched case-insensitively and
 * stored in lowercase; hex digits may be either case. A known name needs
 * exactly its digest length; an unknown one (RFC 8122 token, at most
 * PP_FP_ALG_NAME_MAX characters) takes 1..PP_FP_DIGEST_MAX bytes and gives
 * PP_FP_UNKNOWN. 0 or PP_ERR_INVALID. */
int pp_fingerprint_parse(const char *text, size_t len, struct pp_fingerprint *out);

/* Writes the SDP form with uppercase hex and a NUL; returns its length, or
 * PP_ERR_TOO_BIG / PP_ERR_INVALID (empty or over-long digest, bad name). */
int pp_fingerprint_format(const struct pp_fingerprint *fp, char *out, size_t cap);

/* True only for SHA-256 fingerprints: the identity form we pin. */
bool pp_fingerprint_pinnable(const struct pp_fingerprint *fp);

/* True when both are pinnable and the digests match; the digest comparison
 * takes constant time. */
bool pp_fingerprint_equal(const struct pp_fingerprint *a,
                          const struct pp_fingerprint *b);

#endif
