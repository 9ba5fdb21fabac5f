/* SPDX-License-Identifier: Apache-2.0 */
#include "tlsc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void pp_tls_print_errors(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	fprintf(stderr, "signal-load: %s: %s\n", what, buf);
	ERR_clear_error();
}

static int pp_tls_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	int ok = ex && X509_add_ext(x, ex, -1) == 1;

	X509_EXTENSION_free(ex);
	return ok ? 0 : -1;
}

static X509 *pp_tls_self_signed(EVP_PKEY *pk)
{
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	X509V3_CTX v3;
	X509_NAME *name;

	if (!x || !serial || X509_set_version(x, X509_VERSION_3) != 1 ||
	    BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -60) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600) ||
	    !(name = X509_get_subject_name(x)) ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                               (const unsigned char *)"localhost", -1,
	                               -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, pk) != 1)
		goto fail;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if (pp_tls_add_ext(x, &v3, NID_subject_alt_name,
	                   "DNS:localhost,IP:127.0.0.1") < 0 ||
	    pp_tls_add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    pp_tls_add_ext(x, &v3, NID_key_usage, "critical,digitalSignature") < 0 ||
	    pp_tls_add_ext(x, &v3, NID_ext_key_usage, "serverAuth") < 0 ||
	    pp_tls_add_ext(x, &v3, NID_subject_key_identifier, "hash") < 0 ||
	    X509_sign(x, pk, EVP_sha256()) <= 0)
		goto fail;
	BN_free(serial);
	return x;
fail:
	BN_free(serial);
	X509_free(x);
	return NULL;
}

static int pp_tls_write_pem(const char *path, mode_t mode, EVP_PKEY *pk,
                            X509 *x)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok;

	if (!f) {
		fprintf(stderr, "signal-load: cannot create %s: %s\n", path,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ok = pk ? PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL)
	        : PEM_write_X509(f, x);
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "signal-load: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

int pp_tls_cert_make(struct pp_tls_cert *tc)
{
	EVP_PKEY *pk = NULL;

	memset(tc, 0, sizeof(*tc));
	snprintf(tc->dir, sizeof(tc->dir), "/tmp/signal-load-tls.XXXXXX");
	if (!mkdtemp(tc->dir)) {
		fprintf(stderr, "signal-load: mkdtemp: %s\n", strerror(errno));
		tc->dir[0] = '\0';
		return -1;
	}
	snprintf(tc->cert_path, sizeof(tc->cert_path), "%s/server.crt", tc->dir);
	snprintf(tc->key_path, sizeof(tc->key_path), "%s/server.key", tc->dir);
	pk = EVP_EC_gen("P-256");
	if (!pk || !(tc->cert = pp_tls_self_signed(pk))) {
		pp_tls_print_errors("cannot make the throwaway certificate");
		goto fail;
	}
	if (pp_tls_write_pem(tc->key_path, 0600, pk, NULL) < 0 ||
	    pp_tls_write_pem(tc->cert_path, 0644, NULL, tc->cert) < 0)
		goto fail;
	EVP_PKEY_free(pk);
	return 0;
fail:
	EVP_PKEY_free(pk);
	pp_tls_cert_free(tc);
	return -1;
}

void pp_tls_cert_unlink(struct pp_tls_cert *tc)
{
	if (tc->dir[0]) {
		unlink(tc->key_path);
		unlink(tc->cert_path);
		rmdir(tc->dir);
		tc->dir[0] = '\0';
	}
}

void pp_tls_cert_free(struct pp_tls_cert *tc)
{
	pp_tls_cert_unlink(tc);
	X509_free(tc->cert);
	tc->cert = NULL;
}

static int pp_tls_is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

SSL_CTX *pp_tls_client_ctx(X509 *trust, const char *host)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_VERIFY_PARAM *vp;

	if (!ctx)
		goto fail;
	vp = SSL_CTX_get0_param(ctx);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), trust) != 1 ||
	    (pp_tls_is_ip(host) ? X509_VERIFY_PARAM_set1_ip_asc(vp, host)
	                        : X509_VERIFY_PARAM_set1_host(vp, host, 0)) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* Idle connections give their read and write buffers back (about
	 * 34 KiB each otherwise). Writes go out record by record and a retry
	 * may come from our own queue rather than the first buffer. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	                      SSL_MODE_ENABLE_PARTIAL_WRITE |
	                      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* One recv per burst rather than two per record; the read loop
	 * drains what OpenSSL buffered (SSL_has_pending). */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* Every peer is a separate client: full handshakes, no resumption. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
fail:
	pp_tls_print_errors("cannot set up the TLS client");
	SSL_CTX_free(ctx);
	return NULL;
}

SSL *pp_tls_client_new(SSL_CTX *ctx, int fd, const char *host)
{
	SSL *ssl = SSL_new(ctx);

	if (!ssl)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1 ||
	    (!pp_tls_is_ip(host) && SSL_set_tlsext_host_name(ssl, host) != 1)) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

static const char *pp_tls_sig_name(int type_nid)
{
	switch (type_nid) {
	case EVP_PKEY_EC: return "ECDSA";
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS: return "RSA";
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448: return "EdDSA";
	default: return "?";
	}
}

void pp_tls_describe(SSL *ssl, char *out, size_t cap)
{
	const char *ver = SSL_get_version(ssl);
	const SSL_CIPHER *ciph = SSL_get_current_cipher(ssl);
	int group = SSL_get_negotiated_group(ssl);
	const char *gname = group > 0 ? SSL_group_to_name(ssl, group) : NULL;
	int sig_type = NID_undef, sig_hash = NID_undef;
	X509 *peer = SSL_get0_peer_certificate(ssl);
	EVP_PKEY *ppk = peer ? X509_get0_pubkey(peer) : NULL;
	char key[64] = "?";
	const unsigned char *alpn = NULL;
	unsigned alpn_len = 0;

	SSL_get_peer_signature_type_nid(ssl, &sig_type);
	SSL_get_peer_signature_nid(ssl, &sig_hash);
	SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
	if (ppk) {
		char g[32];
		size_t gl;
		if (EVP_PKEY_get_group_name(ppk, g, sizeof(g), &gl) == 1)
			snprintf(key, sizeof(key), "%s %s", EVP_PKEY_get0_type_name(ppk),
			         strcmp(g, "prime256v1") == 0 ? "P-256" : g);
		else
			snprintf(key, sizeof(key), "%s %d-bit",
			         EVP_PKEY_get0_type_name(ppk), EVP_PKEY_get_bits(ppk));
	}
	/* "TLSv1.3" -> "TLS 1.3" */
	char v[16];
	snprintf(v, sizeof(v), "%s", ver ? ver : "?");
	if (strncmp(v, "TLSv", 4) == 0)
		v[3] = ' ';
	snprintf(out, cap, "%s, %s-%s: %s, key exchange %s, server signature "
	         "%s with %s (%s certificate), ALPN %.*s", v,
	         gname && strncmp(gname, "ffdhe", 5) == 0 ? "DHE" : "ECDHE",
	         pp_tls_sig_name(sig_type),
	         ciph ? SSL_CIPHER_get_name(ciph) : "?", gname ? gname : "?",
	         pp_tls_sig_name(sig_type),
	         sig_hash != NID_undef ? OBJ_nid2sn(sig_hash) : "?", key,
	         alpn_len ? (int)alpn_len : 4, alpn_len ? (const char *)alpn : "none");
}

void pp_tls_why(SSL *ssl, int ret, const char *what, char *out, size_t cap)
{
	int saved = errno;
	int err = SSL_get_error(ssl, ret);
	unsigned long e = ERR_peek_last_error();
	long vr = SSL_get_verify_result(ssl);
	char es[200];

	if (err == SSL_ERROR_ZERO_RETURN) {
		snprintf(out, cap, "server closed the connection (TLS close_notify)");
	} else if (vr != X509_V_OK) {
		snprintf(out, cap, "%s: certificate verify failed: %s", what,
		         X509_verify_cert_error_string(vr));
	} else if (e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	           ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		snprintf(out, cap, "server closed the connection (no TLS close_notify)");
	} else if (e) {
		ERR_error_string_n(e, es, sizeof(es));
		snprintf(out, cap, "%s: %s", what, es);
	} else if (err == SSL_ERROR_SYSCALL && saved) {
		snprintf(out, cap, "%s: %s", what, strerror(saved));
	} else if (err == SSL_ERROR_SYSCALL) {
		snprintf(out, cap, "server closed the connection");
	} else {
		snprintf(out, cap, "%s: SSL error %d", what, err);
	}
	ERR_clear_error();
}
