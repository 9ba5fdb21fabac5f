/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/identity.h"
#include "tmptree.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static GString *logged;

static void log_sink(enum pp_log_level level, const char *line, void *user)
{
	g_string_append(logged, line);
	g_string_append_c(logged, '\n');
}

static char *tmp_dir(void)
{
	GError *err = NULL;
	char *d = g_dir_make_tmp("pp-identity-XXXXXX", &err);

	g_assert_no_error(err);
	return d;
}

static mode_t file_mode(const char *dir, const char *name)
{
	char *p = g_build_filename(dir, name, NULL);
	struct stat st;

	g_assert_cmpint(stat(p, &st), ==, 0);
	g_free(p);
	return st.st_mode & 07777;
}

static void set_mode(const char *dir, const char *name, mode_t mode)
{
	char *p = g_build_filename(dir, name, NULL);

	g_assert_cmpint(chmod(p, mode), ==, 0);
	g_free(p);
}

static void check_cert(const struct pp_identity *id)
{
	X509 *x = pp_identity_cert(id);
	EVP_PKEY *key = pp_identity_key(id);
	char cn[64] = "";
	char group[32] = "";
	size_t n = 0;

	g_assert_nonnull(x);
	g_assert_true(EVP_PKEY_is_a(key, "EC"));
	g_assert_cmpint(EVP_PKEY_get_group_name(key, group, sizeof(group), &n), ==, 1);
	g_assert_cmpstr(group, ==, "prime256v1");
	g_assert_cmpint(X509_get_version(x), ==, X509_VERSION_3);
	g_assert_cmpint(X509_check_private_key(x, key), ==, 1);
	g_assert_cmpint(X509_verify(x, key), ==, 1);
	g_assert_cmpint(X509_get_signature_nid(x), ==, NID_ecdsa_with_SHA256);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	g_assert_cmpstr(cn, ==, PP_IDENTITY_CN);
	g_assert_cmpint(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), ==, 0);

	/* about ten years */
	int days = 0, secs = 0;
	g_assert_cmpint(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)), ==, 1);
	g_assert_cmpint(days, >=, PP_IDENTITY_VALID_DAYS - 1);
	g_assert_cmpint(X509_cmp_current_time(X509_get0_notBefore(x)), <, 0);

	/* random positive serial, 127 bits */
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	g_assert_nonnull(bn);
	g_assert_false(BN_is_negative(bn));
	g_assert_cmpint(BN_num_bits(bn), ==, 127);
	BN_free(bn);

	/* the fingerprint is the certificate's, in both forms */
	struct pp_fingerprint fp;
	char text[PP_FP_TEXT_MAX];
	g_assert_cmpint(pp_fingerprint_compute(x, &fp), ==, 0);
	g_assert_true(pp_fingerprint_equal(&fp, pp_identity_fingerprint(id)));
	g_assert_cmpint(pp_fingerprint_format(&fp, text, sizeof(text)), >, 0);
	g_assert_cmpstr(text, ==, pp_identity_fingerprint_str(id));
	g_assert_true(g_str_has_prefix(text, "sha-256 "));
}

static void test_ephemeral(void)
{
	struct pp_identity *a = NULL, *b = NULL;

	g_assert_cmpint(pp_identity_new_ephemeral(&a), ==, 0);
	g_assert_cmpint(pp_identity_new_ephemeral(&b), ==, 0);
	check_cert(a);
	check_cert(b);
	g_assert_false(pp_fingerprint_equal(pp_identity_fingerprint(a), pp_identity_fingerprint(b)));
	g_assert_cmpint(ASN1_INTEGER_cmp(X509_get0_serialNumber(pp_identity_cert(a)),
	                                 X509_get0_serialNumber(pp_identity_cert(b))), !=, 0);
	pp_identity_free(a);
	pp_identity_free(b);
	pp_identity_free(NULL);
}

static void test_create_then_load(void)
{
	char *base = tmp_dir();
	char *dir = g_build_filename(base, "state", "identity", NULL); /* parents missing */
	struct pp_identity *a = NULL, *b = NULL;
	struct stat st;

	g_assert_cmpint(pp_identity_load_or_create(dir, &a), ==, 0);
	check_cert(a);
	g_assert_cmpint(stat(dir, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0700);
	g_assert_cmpint(file_mode(dir, PP_IDENTITY_KEY_FILE), ==, 0600);
	g_assert_cmpint(file_mode(dir, PP_IDENTITY_CERT_FILE), ==, 0600);
	g_assert_true(strstr(logged->str, pp_identity_fingerprint_str(a)) != NULL);

	g_assert_cmpint(pp_identity_load_or_create(dir, &b), ==, 0);
	check_cert(b);
	g_assert_cmpstr(pp_identity_fingerprint_str(a), ==, pp_identity_fingerprint_str(b));
	g_assert_cmpint(EVP_PKEY_eq(pp_identity_key(a), pp_identity_key(b)), ==, 1);
	pp_identity_free(a);
	pp_identity_free(b);

	/* no temporary files left behind */
	GDir *g = g_dir_open(dir, 0, NULL);
	int count = 0;
	while (g_dir_read_name(g))
		count++;
	g_dir_close(g);
	g_assert_cmpint(count, ==, 2);
	tmptree_remove(base);
	g_free(dir);
	g_free(base);
}

static void test_refuse_open_key(void)
{
	char *dir = tmp_dir();
	struct pp_identity *id = NULL;

	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, 0);
	pp_identity_free(id);
	const mode_t bad[] = { 0644, 0640, 0604, 0660, 0606 };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		set_mode(dir, PP_IDENTITY_KEY_FILE, bad[i]);
		g_string_truncate(logged, 0);
		id = (struct pp_identity *)&id; /* any non-NULL value: must come back NULL */
		g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, PP_ERR_CONFIG);
		g_assert_null(id);
		g_assert_true(strstr(logged->str, "too open") != NULL);
		g_assert_true(strstr(logged->str, PP_IDENTITY_KEY_FILE) != NULL);
	}
	/* 0400 is fine, and so is a world-readable certificate */
	set_mode(dir, PP_IDENTITY_KEY_FILE, 0400);
	set_mode(dir, PP_IDENTITY_CERT_FILE, 0644);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, 0);
	pp_identity_free(id);
	tmptree_remove(dir);
	g_free(dir);
}

static void test_refuse_open_dir(void)
{
	char *dir = tmp_dir();
	struct pp_identity *id = NULL;

	g_assert_cmpint(chmod(dir, 0777), ==, 0);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, PP_ERR_CONFIG);
	g_assert_null(id);
	g_assert_cmpint(chmod(dir, 0755), ==, 0);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, 0);
	pp_identity_free(id);
	tmptree_remove(dir);
	g_free(dir);
}

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *p = g_build_filename(dir, name, NULL);
	GError *err = NULL;

	g_file_set_contents(p, text, -1, &err);
	g_assert_no_error(err);
	g_assert_cmpint(chmod(p, mode), ==, 0);
	g_free(p);
}

static char *pem_of_key(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;

	g_assert_cmpint(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL), ==, 1);
	long n = BIO_get_mem_data(b, &data);
	char *s = g_strndup(data, (gsize)n);
	BIO_free(b);
	return s;
}

static char *pem_of_cert(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;

	g_assert_cmpint(PEM_write_bio_X509(b, x), ==, 1);
	long n = BIO_get_mem_data(b, &data);
	char *s = g_strndup(data, (gsize)n);
	BIO_free(b);
	return s;
}

static void test_refuse_broken(void)
{
	char *dir = tmp_dir();
	struct pp_identity *a = NULL, *b = NULL, *id = NULL;
	g_assert_cmpint(pp_identity_new_ephemeral(&a), ==, 0);
	g_assert_cmpint(pp_identity_new_ephemeral(&b), ==, 0);
	char *key_a = pem_of_key(pp_identity_key(a));
	char *cert_b = pem_of_cert(pp_identity_cert(b));
	char *cert_a = pem_of_cert(pp_identity_cert(a));

	/* only one of the two files: never silently replaced */
	write_file(dir, PP_IDENTITY_KEY_FILE, key_a, 0600);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, PP_ERR_CONFIG);
	g_assert_true(strstr(logged->str, "remove both") != NULL);
	/* key and certificate of two identities */
	write_file(dir, PP_IDENTITY_CERT_FILE, cert_b, 0600);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, PP_ERR_CONFIG);
	/* garbage */
	write_file(dir, PP_IDENTITY_CERT_FILE, "not a certificate\n", 0600);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, PP_ERR_INVALID);
	/* a P-384 key */
	EVP_PKEY *k384 = EVP_EC_gen("P-384");
	char *key_384 = pem_of_key(k384);
	write_file(dir, PP_IDENTITY_CERT_FILE, cert_a, 0600);
	write_file(dir, PP_IDENTITY_KEY_FILE, key_384, 0600);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, PP_ERR_CONFIG);
	/* restored: loads as identity a */
	write_file(dir, PP_IDENTITY_KEY_FILE, key_a, 0600);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, 0);
	g_assert_cmpstr(pp_identity_fingerprint_str(id), ==, pp_identity_fingerprint_str(a));
	pp_identity_free(id);
	/* too big */
	char *big = g_strnfill(PP_IDENTITY_FILE_MAX + 1, 'x');
	write_file(dir, PP_IDENTITY_CERT_FILE, big, 0600);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_identity_load_or_create("", &id), ==, PP_ERR_INVALID);

	g_free(big);
	EVP_PKEY_free(k384);
	g_free(key_384);
	g_free(key_a);
	g_free(cert_a);
	g_free(cert_b);
	pp_identity_free(a);
	pp_identity_free(b);
	tmptree_remove(dir);
	g_free(dir);
}

static void test_links_and_fifos(void)
{
	char *real = tmp_dir(), *dir = tmp_dir();
	struct pp_identity *a = NULL, *id = NULL;

	/* files reached through symlinks (as in a mounted secret) load */
	g_assert_cmpint(pp_identity_load_or_create(real, &a), ==, 0);
	for (int i = 0; i < 2; i++) {
		const char *name = i ? PP_IDENTITY_CERT_FILE : PP_IDENTITY_KEY_FILE;
		char *target = g_build_filename(real, name, NULL);
		char *link = g_build_filename(dir, name, NULL);
		g_assert_cmpint(symlink(target, link), ==, 0);
		g_free(target);
		g_free(link);
	}
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, 0);
	g_assert_cmpstr(pp_identity_fingerprint_str(id), ==, pp_identity_fingerprint_str(a));
	pp_identity_free(id);

	/* dangling links are an error, never replaced by a new identity */
	tmptree_remove(real);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, -ENOENT);
	char *key = g_build_filename(dir, PP_IDENTITY_KEY_FILE, NULL);
	char *cert = g_build_filename(dir, PP_IDENTITY_CERT_FILE, NULL);
	g_unlink(cert);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, PP_ERR_CONFIG);
	g_assert_true(g_file_test(key, G_FILE_TEST_IS_SYMLINK));

	/* a FIFO is refused without waiting for a writer */
	g_unlink(key);
	g_assert_cmpint(mkfifo(key, 0600), ==, 0);
	g_assert_cmpint(mkfifo(cert, 0600), ==, 0);
	g_assert_cmpint(pp_identity_load_or_create(dir, &id), ==, PP_ERR_CONFIG);
	g_assert_null(id);

	g_free(key);
	g_free(cert);
	pp_identity_free(a);
	tmptree_remove(dir);
	g_free(dir);
	g_free(real);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	logged = g_string_new(NULL);
	pp_log_set_sink(log_sink, NULL);
	g_test_add_func("/rtc/identity/ephemeral", test_ephemeral);
	g_test_add_func("/rtc/identity/create-then-load", test_create_then_load);
	g_test_add_func("/rtc/identity/refuse-open-key", test_refuse_open_key);
	g_test_add_func("/rtc/identity/refuse-open-dir", test_refuse_open_dir);
	g_test_add_func("/rtc/identity/refuse-broken", test_refuse_broken);
	g_test_add_func("/rtc/identity/links-and-fifos", test_links_and_fifos);
	int rc = g_test_run();
	g_string_free(logged, TRUE);
	return rc;
}
