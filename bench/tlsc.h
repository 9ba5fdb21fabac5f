/* SPDX-License-Identifier: Apache-2.0 */
/* TLS for the benchmark: a throwaway self-signed server certificate for
 * the server under test, and the client context that trusts exactly it. */
#ifndef PEERPIPE_BENCH_TLSC_H
#define PEERPIPE_BENCH_TLSC_H

#include <openssl/ssl.h>
#include <stddef.h>

struct pp_tls_cert {
	char dir[64];              /* mkdtemp directory, "" when none */
	char cert_path[96];        /* DIR/server.crt */
	char key_path[96];         /* DIR/server.key (0600) */
	X509 *cert;
};

/* ECDSA P-256 key and a self-signed certificate for localhost and
 * 127.0.0.1 (the extensions of scripts/make-test-cert.sh), valid one day,
 * written as PEM into a fresh /tmp directory. 0, or -1 with a message on
 * stderr. */
int pp_tls_cert_make(struct pp_tls_cert *tc);
/* Removes the files and the directory (the server has read them once it
 * listens); the certificate stays for the client. */
void pp_tls_cert_unlink(struct pp_tls_cert *tc);
/* Removes the files if still there, frees the certificate. */
void pp_tls_cert_free(struct pp_tls_cert *tc);

/* A client context that verifies the server against trust only, for the
 * IP address or DNS name host; buffers released while idle. NULL, or the
 * context (SSL_CTX_free it). */
SSL_CTX *pp_tls_client_ctx(X509 *trust, const char *host);
/* Starts a client connection on fd (SNI for a DNS name; none for an IP
 * literal, RFC 6066 s3). NULL when out of memory. */
SSL *pp_tls_client_new(SSL_CTX *ctx, int fd, const char *host);

/* "TLS 1.3, ECDHE-ECDSA: TLS_AES_256_GCM_SHA384, ..." for an established
 * connection. */
void pp_tls_describe(SSL *ssl, char *out, size_t cap);
/* Why an SSL call failed (ret its return value), from the error queue,
 * verify result or errno. */
void pp_tls_why(SSL *ssl, int ret, const char *what, char *out, size_t cap);

#endif
