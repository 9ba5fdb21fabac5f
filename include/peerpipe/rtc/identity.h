/* SPDX-License-Identifier: Apache-2.0 */
/* A peer's long-lived identity (tunnel.md §2): an ECDSA P-256 key and a
 * self-signed X.509 certificate used as its DTLS certificate. The identity
 * string is the certificate's SHA-256 fingerprint in SDP form.
 *
 * On disk: two PEM files in one directory, PP_IDENTITY_KEY_FILE (PKCS#8,
 * unencrypted) and PP_IDENTITY_CERT_FILE, both mode 0600. Like ssh, a key
 * file that group or others may read or write is refused, as is a
 * directory that group or others may write (someone could swap the key).
 * An identity is immutable once made; it may be shared by any number of
 * DTLS endpoints (they take their own references to the key and cert), and
 * freed as soon as the last pp_dtls_new() that uses it has returned. */
#ifndef PEERPIPE_RTC_IDENTITY_H
#define PEERPIPE_RTC_IDENTITY_H

#include "peerpipe/rtc/fingerprint.h"

#include <openssl/types.h> /* EVP_PKEY, X509 */

#define PP_IDENTITY_KEY_FILE "identity-key.pem"
#define PP_IDENTITY_CERT_FILE "identity-cert.pem"
#define PP_IDENTITY_CN "peerpipe"
#define PP_IDENTITY_VALID_DAYS 3650
/* PEM files larger than this are refused before reading. */
#define PP_IDENTITY_FILE_MAX (64 * 1024)

struct pp_identity;

/* Loads the identity kept in dir, or creates it there when neither file
 * exists (dir itself is created with mode 0700 when missing). Concurrent
 * callers on one dir serialise on a lock of the directory, so they all get
 * the same identity. A loaded key must be EC P-256, match the certificate
 * and have signed it.
 * 0, or: PP_ERR_CONFIG (unsafe permissions, only one of the two files,
 * not a P-256 key, key and certificate do not match; each logged with the
 * path and what to do), PP_ERR_TOO_BIG (file over PP_IDENTITY_FILE_MAX),
 * PP_ERR_INVALID (unreadable PEM), PP_ERR_CRYPTO, PP_ERR_NOMEM, -errno. */
int pp_identity_load_or_create(const char *dir, struct pp_identity **out);

/* A fresh identity that lives in memory only (tests, throwaway peers).
 * 0, PP_ERR_CRYPTO or PP_ERR_NOMEM. */
int pp_identity_new_ephemeral(struct pp_identity **out);

/* Frees and wipes; NULL is a no-op. */
void pp_identity_free(struct pp_identity *id);

/* Borrowed pointers, valid until pp_identity_free(). Take a reference
 * (EVP_PKEY_up_ref, X509_up_ref) to keep one longer. */
EVP_PKEY *pp_identity_key(const struct pp_identity *id);
X509 *pp_identity_cert(const struct pp_identity *id);
const struct pp_fingerprint *pp_identity_fingerprint(const struct pp_identity *id);
/* "sha-256 AB:CD:..." (the a=fingerprint value and the pin string). */
const char *pp_identity_fingerprint_str(const struct pp_identity *id);

#endif
